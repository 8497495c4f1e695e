/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The row ops of ops.c against straightforward double-precision references: the vectorised
 * GELU against the exact tanh formula, bias+GELU, softmax (one row and strided rows),
 * LayerNorm and its fusion with the residual add. Attention is test-attention.c, the layer
 * test-encoder.c.
 */
#include <math.h>
#include <string.h>

#include "gemm.h"
#include "ops.h"
#include "test-util.h"

/* GELU: |fast - exact| <= (GELU_REL + 3 |u| 2^-23) |exact| + GELU_ABS, u the tanh argument.
 * GELU_REL is ~4 ulp (a float's relative spacing is 2^-24 = 6e-8). The |u| term is the
 * function's own conditioning in float: for x << 0, gelu ~ x e^(2u), so the rounding of u
 * itself (|u| 2^-24) already moves the result by 2 |u| 2^-24 relative, and the few roundings
 * in u and in exp's range reduction (x - n ln2, |x| up to 88) add up to ~3x that; any float32
 * evaluation has this (torch's 0.5 x (1 + tanh u) is far worse there: it cancels to 0). GELU_ABS only
 * matters below x = -13, where gelu (x) < 1e-36 and the exp saturates. */
#define GELU_REL 2.5e-7
#define GELU_ABS 1e-35

static double
gelu_tolerance (double x, double exact)
{
  const double u = sqrt (2.0 / M_PI) * (x + 0.044715 * x * x * x);
  return (GELU_REL + 3.0 * fabs (u) * ldexp (1.0, -23)) * fabs (exact) + GELU_ABS;
}

/* 0.5 x (1 + tanh u) written as x / (1 + e^(-2u)) — the same function — because in double the
 * first form cancels to 0 below x = -6 and could not judge the tail. */
static double
gelu_exact (double x)
{
  const double u = sqrt (2.0 / M_PI) * (x + 0.044715 * x * x * x);
  return x / (1.0 + exp (-2.0 * u));
}

static void
test_gelu_exact (void)
{
  /* every 1/1024 over [-20, 20] plus values around 0 down to the subnormals */
  const int n = 40 * 1024 + 1;
  g_autofree float *x = g_new (float, n + 64);
  int m = 0;
  for (int i = 0; i < n; i++)
    x[m++] = -20.0f + (float) i / 1024.0f;
  for (int e = 1; e <= 32; e++)
    {
      x[m++] = ldexpf (1.0f, -4 * e);
      x[m++] = -ldexpf (1.0f, -4 * e);
    }
  g_autofree float *y = g_memdup2 (x, (gsize) m * sizeof (float));
  siglip_gelu_tanh (y, (size_t) m);

  double worst = 0, worst_pos = 0;
  float worst_x = 0;
  for (int i = 0; i < m; i++)
    {
      const double exact = gelu_exact (x[i]);
      const double err = fabs (y[i] - exact);
      if (!(err <= gelu_tolerance (x[i], exact)))
        g_error ("gelu (%.9g) = %.9g, exact %.9g (rel %.3g)", x[i], y[i], exact,
                 err / fabs (exact));
      if (fabs (exact) > 1e-30 && err / fabs (exact) > worst)
        worst = err / fabs (exact), worst_x = x[i];
      if (x[i] >= -1.0f && exact != 0)
        worst_pos = fmax (worst_pos, err / fabs (exact));
    }
  g_test_message ("gelu: worst relative error %.3g at x = %.6g; %.3g (%.2f ulp) for x >= -1",
                  worst, worst_x, worst_pos, worst_pos / ldexp (1.0, -24));
  g_assert_cmpfloat (worst_pos, <=, GELU_REL);
  /* zero is zero, large positive x is x */
  float edge[3] = { 0.0f, 30.0f, 1e10f };
  siglip_gelu_tanh (edge, 3);
  g_assert_cmpfloat (edge[0], ==, 0.0f);
  g_assert_cmpfloat (edge[1], ==, 30.0f);
  g_assert_cmpfloat (edge[2], ==, 1e10f);

  /* and the check can fail: glibc's tanhf formula loses relative precision for negative x */
  int tanhf_bad = 0;
  for (int i = 0; i < n; i++)
    {
      const float v = x[i];
      const float t = 0.5f * v * (1.0f + tanhf (0.7978845608f * (v + 0.044715f * v * v * v)));
      const double exact = gelu_exact (v);
      tanhf_bad += !(fabs (t - exact) <= gelu_tolerance (v, exact));
    }
  g_test_message ("tanhf formula: %d of %d values outside the tolerance", tanhf_bad, n);
  g_assert_cmpint (tanhf_bad, >, 0);
}

/* Rows of d values with d not a multiple of the 16-lane vectors, enough of them to run on the
 * pool: bias+GELU equals GELU of (y + b), value for value. */
static void
test_bias_gelu (void)
{
  enum { N = 300, D = 307 };
  g_autofree float *y = g_new (float, N * D);
  g_autofree float *ref = g_new (float, N * D);
  float b[D];
  GRand *rand = g_rand_new_with_seed (11);
  for (int j = 0; j < D; j++)
    b[j] = (float) g_rand_double_range (rand, -1, 1);
  for (int i = 0; i < N * D; i++)
    {
      y[i] = (float) g_rand_double_range (rand, -6, 6);
      ref[i] = y[i] + b[i % D];
    }
  g_rand_free (rand);
  siglip_bias_gelu (y, b, N, D);
  siglip_gelu_tanh (ref, (size_t) N * D);
  g_assert_cmpmem (y, N * D * sizeof (float), ref, N * D * sizeof (float));
}

static void
test_softmax (void)
{
  enum { N = 37 };
  float x[N];
  double ref[N], max = -INFINITY, sum = 0;
  for (int i = 0; i < N; i++)
    x[i] = (i % 5 == 3) ? -INFINITY : (float) sin (i * 1.7) * 30.0f;
  for (int i = 0; i < N; i++)
    max = fmax (max, x[i]);
  for (int i = 0; i < N; i++)
    sum += ref[i] = exp (x[i] - max);
  float in[N];
  memcpy (in, x, sizeof in);
  siglip_softmax (x, N);
  for (int i = 0; i < N; i++)
    {
      if (i % 5 == 3)
        {
          g_assert_cmpfloat (x[i], ==, 0.0f); /* masked keys weigh exactly nothing */
          continue;
        }
      /* ~4 ulp, plus the conditioning of e^(x - max) in float (as for GELU above) */
      const double rel = 2.5e-7 + 2.0 * fabs (in[i] - max) * ldexp (1.0, -23);
      g_assert_cmpfloat_with_epsilon (x[i], ref[i] / sum, rel * (ref[i] / sum) + 1e-30);
    }
}

/* siglip_softmax_rows, as attention uses it: each row of a strided block on its own, the
 * padding between rows untouched; huge logits do not overflow (max-subtracted). */
static void
test_softmax_rows (void)
{
  enum { ROWS = 5, N = 21, LD = 32 };
  float x[ROWS * LD], ref[ROWS * LD];
  for (int i = 0; i < ROWS * LD; i++)
    x[i] = (float) cos (i * 0.9) * 50.0f + (i % LD == 2 ? 1000.0f : 0.0f);
  memcpy (ref, x, sizeof x);
  siglip_softmax_rows (x, ROWS, LD, N);
  for (int r = 0; r < ROWS; r++)
    {
      siglip_softmax (ref + r * LD, N);
      double sum = 0;
      for (int j = 0; j < N; j++)
        sum += x[r * LD + j];
      g_assert_cmpfloat_with_epsilon (sum, 1.0, 1e-5);
    }
  g_assert_cmpmem (x, sizeof x, ref, sizeof ref);
  /* the huge logit takes almost everything */
  g_assert_cmpfloat (x[2], >, 0.999f);
}

static void
layernorm_ref (double *y, const float *x, const float *w, const float *b, int d, double eps)
{
  double mean = 0, var = 0;
  for (int j = 0; j < d; j++)
    mean += x[j];
  mean /= d;
  for (int j = 0; j < d; j++)
    var += (x[j] - mean) * (x[j] - mean);
  var /= d;
  for (int j = 0; j < d; j++)
    y[j] = (x[j] - mean) / sqrt (var + eps) * w[j] + b[j];
}

/* LayerNorm over the pool against double; x += h then LN in one pass equals the two steps. */
static void
test_layernorm (void)
{
  enum { N = 70, D = 1155 };
  g_autofree float *x = g_new (float, N * D), *h = g_new (float, N * D);
  g_autofree float *y = g_new (float, N * D), *x2 = g_new (float, N * D);
  g_autofree float *y2 = g_new (float, N * D);
  g_autofree double *ref = g_new (double, D);
  float w[D], b[D];
  GRand *rand = g_rand_new_with_seed (5);
  for (int j = 0; j < D; j++)
    {
      w[j] = (float) g_rand_double_range (rand, 0.5, 1.5);
      b[j] = (float) g_rand_double_range (rand, -0.2, 0.2);
    }
  for (int i = 0; i < N * D; i++)
    {
      x[i] = (float) g_rand_double_range (rand, -3, 3) + 40.0f; /* a large mean */
      h[i] = (float) g_rand_double_range (rand, -1, 1);
    }
  g_rand_free (rand);

  siglip_layernorm (y, x, w, b, N, D, 1e-6f);
  for (int i = 0; i < N; i++)
    {
      layernorm_ref (ref, x + (gsize) i * D, w, b, D, 1e-6);
      for (int j = 0; j < D; j++)
        if (fabs (y[(gsize) i * D + j] - ref[j]) > 2e-6 * (1 + fabs (ref[j])))
          g_error ("layernorm row %d col %d: %.9g vs %.9g", i, j, y[(gsize) i * D + j], ref[j]);
    }

  memcpy (x2, x, N * D * sizeof (float));
  siglip_add (x2, h, (size_t) N * D);
  siglip_layernorm (y2, x2, w, b, N, D, 1e-6f);
  siglip_add_layernorm (x, h, h, w, b, N, D, 1e-6f); /* y aliasing h, as the encoder does */
  g_assert_cmpmem (x, N * D * sizeof (float), x2, N * D * sizeof (float));
  g_assert_cmpmem (h, N * D * sizeof (float), y2, N * D * sizeof (float));
}

/* The row kernels follow SIGLIP_ISA as the GEMM does (this program runs again with
 * SIGLIP_ISA=avx2 and =generic, tests/meson.build): never a copy above the capped ISA, and the
 * one of that ISA wherever the CPU has it. */
static void
test_row_kernel_isa (void)
{
  const int level = siglip_row_kernel_isa ();
  g_assert_cmpint (level, <=, (int) siglip_isa_get ());
  const char *cap = g_getenv ("SIGLIP_ISA");
  if (cap && strcmp (cap, "generic") == 0)
    g_assert_cmpint (level, ==, SIGLIP_ISA_GENERIC);
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
  __builtin_cpu_init ();
  if (cap && strcmp (cap, "avx2") == 0 && __builtin_cpu_supports ("x86-64-v3"))
    g_assert_cmpint (level, ==, SIGLIP_ISA_AVX2);
#endif
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ops/gelu-exact", test_gelu_exact);
  g_test_add_func ("/ops/bias-gelu", test_bias_gelu);
  g_test_add_func ("/ops/softmax", test_softmax);
  g_test_add_func ("/ops/softmax-rows", test_softmax_rows);
  g_test_add_func ("/ops/layernorm", test_layernorm);
  g_test_add_func ("/ops/row-kernel-isa", test_row_kernel_isa);
  return g_test_run ();
}
