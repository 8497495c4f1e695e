/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The fast ops of ops.c against straightforward double-precision references: the vectorised
 * GELU against the exact tanh formula, bias+GELU, softmax, LayerNorm and its fusion with the
 * residual add, the threaded attention against the serial one, the fused Q/K/V matrix against
 * the separate tensors in the file, and the bf16 path's probabilities on the tiny goldens.
 */
#include <math.h>
#include <string.h>

#include "gemm.h"
#include "siglens-decode.h"
#include "test-util.h"
#include "text.h"
#include "vision.h"

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

/* The pool's (sequence, head, query block) attention equals the serial one per sequence. */
static void
test_attention_seqs (void)
{
  enum { SEQ = 3, LEN = 150, DIM = 48, HEADS = 4, LD = 3 * DIM };
  const gsize rows = SEQ * LEN;
  g_autofree float *qkv = g_new (float, rows * LD);
  g_autofree float *out = g_new (float, rows * DIM), *ref = g_new (float, rows * DIM);
  GRand *rand = g_rand_new_with_seed (3);
  for (gsize i = 0; i < rows * LD; i++)
    qkv[i] = (float) g_rand_double_range (rand, -2, 2);
  g_rand_free (rand);

  siglip_workspace ws = { 0 };
  g_assert_true (siglip_workspace_reserve (&ws, DIM, LD, (int) rows, LEN, 0));
  /* cblas on the pool first, then our own products (the scratch decides) */
  g_autofree float *blas = g_new (float, rows * DIM);
  siglip_attention_seqs (&ws, blas, DIM, qkv, LD, qkv + DIM, LD, qkv + 2 * DIM, LD, SEQ, LEN,
                         LEN, DIM, HEADS);
  g_assert_true (siglip_workspace_reserve_attention (&ws, LEN, DIM / HEADS));
  siglip_attention_seqs (&ws, out, DIM, qkv, LD, qkv + DIM, LD, qkv + 2 * DIM, LD, SEQ, LEN, LEN,
                         DIM, HEADS);
  for (int s = 0; s < SEQ; s++)
    {
      const float *base = qkv + (gsize) s * LEN * LD;
      siglip_attention (ref + (gsize) s * LEN * DIM, DIM, base, LD, base + DIM, LD, base + 2 * DIM,
                        LD, LEN, LEN, DIM, HEADS, NULL, ws.scores);
    }
  test_assert_close ("attention (cblas) over the pool vs serial", blas, ref, rows * DIM, 1e-6,
                     1e-5);
  test_assert_close ("attention (own products) over the pool vs serial", out, ref, rows * DIM,
                     1e-6, 1e-5);
  /* head sizes off the specialised tiles (hd 24 = 2 vectors), odd lengths, one query */
  g_assert_true (siglip_workspace_reserve_attention (&ws, LEN, 24));
  siglip_attention_seqs (&ws, out, DIM, qkv, LD, qkv + DIM, LD, qkv + 2 * DIM, LD, 1, 1, 37, DIM,
                         2);
  siglip_attention (ref, DIM, qkv, LD, qkv + DIM, LD, qkv + 2 * DIM, LD, 1, 37, DIM, 2, NULL,
                    ws.scores);
  test_assert_close ("attention, 1 query of 37 keys, 2 heads", out, ref, DIM, 1e-6, 1e-5);
  siglip_workspace_clear (&ws);
}

/* Attention with bf16 products (ws.attn_bf16, the model's precision bf16) against the fp32
 * loops on the same input. The bound is derived from the roundings, per output (i, c):
 * u = 2^-9 is bf16's unit roundoff, so a product of two rounded values is off by at most
 * eps = 2u + u^2 relative, and each score q_i.k_j * scale by at most
 *   D_i = scale * eps * max_j sum_c |q_ic| |k_jc|   (+ the fp32 sums' hd 2^-24, both paths).
 * Shifting every score by at most D moves each softmax weight by a factor in [e^-2D, e^2D],
 * so sum_j |p'_j - p_j| <= e^2D - 1; rounding p' and v adds eps relative per term. Hence
 *   |o' - o| <= (e^2D - 1 + eps + (2 nk + 2 hd + 8) 2^-24) max_j |v_jc|
 * (the last term: both paths' fp32 sums and exp's few ulp). Without AVX512-BF16, or with the
 * generic bf16 backend forced, attention must fall back to the fp32 loops bit for bit. */
static double
attention_bf16_worst (const float *qkv, int ld, int n_seq, int nq, int len, int dim, int heads,
                      const float *out, const float *ref)
{
  const int hd = dim / heads;
  const double u = ldexp (1.0, -9), eps = 2 * u + u * u, scale = 1.0 / sqrt (hd);
  double worst = 0; /* largest |o' - o| / bound */
  for (int s = 0; s < n_seq; s++)
    for (int h = 0; h < heads; h++)
      for (int i = 0; i < nq; i++)
        {
          /* the queries are the last nq rows of each sequence, as siglip_attention_seqs reads
           * them from the same [q; k; v] rows */
          const float *qi = qkv + ((gsize) s * len + (len - nq) + i) * ld + h * hd;
          double dot_max = 0;
          for (int j = 0; j < len; j++)
            {
              const float *kj = qkv + ((gsize) s * len + j) * ld + dim + h * hd;
              double dot = 0;
              for (int c = 0; c < hd; c++)
                dot += fabs (qi[c]) * fabs (kj[c]);
              dot_max = fmax (dot_max, dot);
            }
          const double d_i = scale * (eps + hd * ldexp (1.0, -24)) * dot_max;
          for (int c = 0; c < hd; c++)
            {
              double v_max = 0;
              for (int j = 0; j < len; j++)
                v_max = fmax (v_max, fabs (qkv[((gsize) s * len + j) * ld + 2 * dim + h * hd + c]));
              const double bound
                = (expm1 (2 * d_i) + eps + (2.0 * len + 2 * hd + 8) * ldexp (1.0, -24)) * v_max;
              const gsize o = ((gsize) s * nq + i) * dim + h * hd + c;
              const double err = fabs ((double) out[o] - ref[o]);
              if (!(err <= bound))
                g_error ("bf16 attention (%d heads of %d, %d of %d keys): out[%d][%d] = %g vs "
                         "fp32 %g, off by %g > bound %g", heads, hd, nq, len, s * nq + i,
                         h * hd + c, out[o], ref[o], err, bound);
              worst = fmax (worst, err / bound);
            }
        }
  return worst;
}

/* float rounded to the nearest bf16, ties to even, as vcvtne2ps2bf16 does (no NaNs here) */
static double
round_bf16 (float x)
{
  guint32 bits;
  memcpy (&bits, &x, sizeof bits);
  bits += 0x7fffu + ((bits >> 16) & 1u);
  bits &= 0xffff0000u;
  float r;
  memcpy (&r, &bits, sizeof r);
  return r;
}

/* The bf16 attention against an emulation of the arithmetic it is meant to do: q, k and v
 * rounded to bf16, scores q'.k' * scale and the softmax in double, the weights rounded to bf16,
 * out = p'.v'. What is left is fp32 summation noise, plus a weight that rounds the other way
 * because its fp32 value differs from the double one in the last bits: at most one bf16 ulp,
 * 2^-8 relative, of that term. So per output (i, c):
 *   |o' - o| <= (2^-8 + (nk + hd + 8) 2^-23) sum_j p_j |v'_jc|
 * — a few tenths of a percent of the output, where a score scaled 5% wrong moves it by several
 * percent (the fp32-loop bound above allows that much, this one does not). */
static double
attention_bf16_emulated_worst (const float *q, const float *qkv, int ld, int n_seq, int nq,
                               int len, int dim, int heads, const float *out)
{
  const int hd = dim / heads;
  const double scale = 1.0f / sqrtf ((float) hd);
  double worst = 0;
  g_autofree double *p = g_new (double, len);
  for (int s = 0; s < n_seq; s++)
    for (int h = 0; h < heads; h++)
      for (int i = 0; i < nq; i++)
        {
          const float *qi = q + ((gsize) s * nq + i) * dim + h * hd;
          double max = -INFINITY, sum = 0;
          for (int j = 0; j < len; j++)
            {
              const float *kj = qkv + ((gsize) s * len + j) * ld + dim + h * hd;
              double dot = 0;
              for (int c = 0; c < hd; c++)
                dot += round_bf16 (qi[c]) * round_bf16 (kj[c]);
              p[j] = dot * scale;
              max = fmax (max, p[j]);
            }
          for (int j = 0; j < len; j++)
            sum += p[j] = exp (p[j] - max);
          for (int c = 0; c < hd; c++)
            {
              double o = 0, mag = 0;
              for (int j = 0; j < len; j++)
                {
                  const double vj = round_bf16 (qkv[((gsize) s * len + j) * ld + 2 * dim + h * hd + c]);
                  const double pj = p[j] / sum;
                  o += round_bf16 ((float) pj) * vj;
                  mag += pj * fabs (vj);
                }
              const double bound = (ldexp (1.0, -8) + (len + hd + 8) * ldexp (1.0, -23)) * mag;
              const double err = fabs ((double) out[((gsize) s * nq + i) * dim + h * hd + c] - o);
              if (!(err <= bound))
                g_error ("bf16 attention (%d heads of %d, %d of %d keys): out[%d][%d] = %g vs "
                         "emulated bf16 %g, off by %g > bound %g", heads, hd, nq, len,
                         s * nq + i, h * hd + c, out[((gsize) s * nq + i) * dim + h * hd + c], o,
                         err, bound);
              worst = fmax (worst, err / bound);
            }
        }
  return worst;
}

static void
test_attention_bf16 (void)
{
  /* sequences, queries, keys, width, heads: hd 12 (one vector), 72 (SO400M's, 5 vectors),
   * 9 (an odd pair partner); keys off multiples of 32 and 2; one query (the text tower's) */
  static const struct { int n_seq, nq, len, dim, heads; } cases[] = {
    { 3, 150, 150, 48, 4 }, { 2, 37, 37, 144, 2 }, { 2, 33, 33, 27, 3 }, { 2, 1, 64, 144, 2 },
  };
  GRand *rand = g_rand_new_with_seed (8);
  for (gsize t = 0; t < G_N_ELEMENTS (cases); t++)
    {
      const int n_seq = cases[t].n_seq, nq = cases[t].nq, len = cases[t].len;
      const int dim = cases[t].dim, heads = cases[t].heads, ld = 3 * dim;
      const gsize rows = (gsize) n_seq * len;
      g_autofree float *qkv = g_new (float, rows * ld);
      for (gsize i = 0; i < rows * ld; i++)
        qkv[i] = (float) g_rand_double_range (rand, -2, 2);
      /* the queries: the last nq rows of each sequence, packed as siglip_attention_seqs wants */
      g_autofree float *q = g_new (float, (gsize) n_seq * nq * dim);
      for (int s = 0; s < n_seq; s++)
        for (int i = 0; i < nq; i++)
          memcpy (q + ((gsize) s * nq + i) * dim, qkv + ((gsize) s * len + len - nq + i) * ld,
                  dim * sizeof (float));
      const gsize n_out = (gsize) n_seq * nq * dim;
      g_autofree float *ref = g_new (float, n_out), *out = g_new (float, n_out);

      siglip_workspace ws = { 0 };
      g_assert_true (siglip_workspace_reserve (&ws, dim, ld, (int) rows, len, 0));
      g_assert_true (siglip_workspace_reserve_attention (&ws, len, dim / heads));
      ws.attn_bf16 = false;
      siglip_attention_seqs (&ws, ref, dim, q, dim, qkv + dim, ld, qkv + 2 * dim, ld, n_seq, nq,
                             len, dim, heads);
      ws.attn_bf16 = true;
      siglip_attention_seqs (&ws, out, dim, q, dim, qkv + dim, ld, qkv + 2 * dim, ld, n_seq, nq,
                             len, dim, heads);
      const double worst = attention_bf16_worst (qkv, ld, n_seq, nq, len, dim, heads, out, ref);
      g_test_message ("bf16 attention, %d heads of %d, %d queries of %d keys: worst error %.3g "
                      "of the bound (%s)", heads, dim / heads, nq, len, worst,
                      siglip_gemm_bf16_is_native () ? "vdpbf16ps" : "fp32 fallback");
      if (siglip_gemm_bf16_is_native ())
        {
          /* the bf16 products did run: the result is not the fp32 one, and it is the bf16
           * arithmetic it should be */
          g_assert_cmpfloat (worst, >, 0);
          const double emulated
            = attention_bf16_emulated_worst (q, qkv, ld, n_seq, nq, len, dim, heads, out);
          g_test_message ("  against the emulated bf16 arithmetic: worst %.3g of its bound",
                          emulated);
        }
      else
        g_assert_cmpmem (out, n_out * sizeof (float), ref, n_out * sizeof (float));

      /* the fallback, forced: the fp32 loops bit for bit */
      siglip_gemm_set_bf16_backend (SIGLIP_GEMM_BF16_GENERIC);
      siglip_attention_seqs (&ws, out, dim, q, dim, qkv + dim, ld, qkv + 2 * dim, ld, n_seq, nq,
                             len, dim, heads);
      siglip_gemm_set_bf16_backend (SIGLIP_GEMM_BF16_AUTO);
      g_assert_cmpmem (out, n_out * sizeof (float), ref, n_out * sizeof (float));
      siglip_workspace_clear (&ws);
    }
  g_rand_free (rand);
}

/* ---------------------------------------------------------------------------------------------
 * Fused Q/K/V
 */

static siglip_model *
load_tiny (const char *name, siglip_precision precision)
{
  g_autofree char *dir = test_data_path (name);
  siglip_load_options options = { .precision = precision };
  siglip_error *err = NULL;
  siglip_model *model = siglip_model_load (dir, &options, &err);
  if (!model)
    g_error ("%s: %s", dir, err->message);
  return model;
}

/* One product with the fused matrix gives, column block by column block, x W^T + b of the
 * separate q, k and v tensors as the file holds them (double-precision reference). */
static void
check_fused (const char *fixture, siglip_precision precision, double tol)
{
  siglip_model *model = load_tiny (fixture, precision);
  const struct { const char *tower; siglip_layer_weights *layers; int n; } towers[] = {
    { "text_model", model->text.layers, model->config.text.num_layers },
    { "vision_model", model->vision.layers, model->config.vision.num_layers },
  };
  for (gsize t = 0; t < G_N_ELEMENTS (towers); t++)
    for (int li = 0; li < towers[t].n; li++)
      {
        const siglip_layer_weights *l = &towers[t].layers[li];
        const int d = l->q.cols, n = 5;
        g_assert_cmpint (l->qkv.rows, ==, 3 * d);
        g_assert_cmpint (l->qkv.cols, ==, d);
        /* the separate matrices hold no panels any more: their memory went */
        g_assert_null (l->q.packed);
        g_assert_null (l->v.packed);

        g_autofree float *x = g_new (float, n * d);
        g_autofree float *y = g_new (float, n * 3 * d);
        for (int i = 0; i < n * d; i++)
          x[i] = (float) sin (i * 0.37 + li);
        siglip_linear (y, x, &l->qkv, l->qkv_b, n);

        const char *parts[3] = { "q_proj", "k_proj", "v_proj" };
        for (int p = 0; p < 3; p++)
          {
            g_autofree char *wn = g_strdup_printf ("%s.encoder.layers.%d.self_attn.%s.weight",
                                                   towers[t].tower, li, parts[p]);
            g_autofree char *bn = g_strdup_printf ("%s.encoder.layers.%d.self_attn.%s.bias",
                                                   towers[t].tower, li, parts[p]);
            float *wo = NULL, *bo = NULL;
            const float *w = siglip_tensor_as_f32 (model->weights,
                                                   siglip_weights_find (model->weights, wn), &wo,
                                                   NULL);
            const float *b = siglip_tensor_as_f32 (model->weights,
                                                   siglip_weights_find (model->weights, bn), &bo,
                                                   NULL);
            g_assert_nonnull (w);
            g_assert_nonnull (b);
            for (int i = 0; i < n; i++)
              for (int o = 0; o < d; o++)
                {
                  double ref = b[o];
                  for (int k = 0; k < d; k++)
                    ref += (double) x[i * d + k] * w[(gsize) o * d + k];
                  const double got = y[(gsize) i * 3 * d + p * d + o];
                  if (fabs (got - ref) > tol * (1 + fabs (ref)))
                    g_error ("%s %s layer %d %s row %d col %d: %.9g vs %.9g", fixture,
                             towers[t].tower, li, parts[p], i, o, got, ref);
                }
            free (wo);
            free (bo);
          }
      }
  siglip_model_free (model);
}

static void
test_fused_qkv (void)
{
  check_fused ("tiny-siglip2-naflex", SIGLIP_PRECISION_FP32, 1e-5);
  check_fused ("tiny-siglip2-naflex-bf16-sharded", SIGLIP_PRECISION_FP32, 1e-5);
  /* bf16 weights: 2^-9 relative per weight, the activations rounded too */
  check_fused ("tiny-siglip2-naflex", SIGLIP_PRECISION_BF16, 2e-2);
}

/* The text tower's last layer on the pooled rows only (no trace) equals the full last layer
 * (with a trace), for a batch of several texts. */
static void
trace_ignore (void *user_data, const char *name, const float *x, int rows, int cols)
{
  (*(int *) user_data)++;
}

static void
test_text_last_token (void)
{
  siglip_model *model = load_tiny ("tiny-siglip2-naflex", SIGLIP_PRECISION_FP32);
  const int len = model->config.text.max_position_embeddings, proj = model->text.head.rows;
  enum { N = 5 };
  g_autofree int32_t *ids = g_new (int32_t, N * len);
  for (int i = 0; i < N * len; i++)
    ids[i] = (i * 7 + i / len * 13) % 50 + 1;
  g_autofree float *fast = g_new (float, N * proj), *full = g_new (float, N * proj);
  siglip_workspace ws = { 0 };
  siglip_error *err = NULL;
  int calls = 0;
  siglip_trace trace = { trace_ignore, &calls };
  g_assert_true (siglip_text_forward (model, &ws, ids, N, NULL, NULL, fast, &err));
  siglip_workspace_clear (&ws);
  /* a workspace big enough for the whole batch, so both runs see the same sequences together */
  g_assert_true (siglip_workspace_reserve (&ws, model->config.text.hidden_size,
                                           model->config.text.intermediate_size, N * len, len, 0));
  g_assert_true (siglip_text_forward (model, &ws, ids, N, NULL, &trace, full, &err));
  g_assert_cmpint (calls, >, 0);
  test_assert_close ("text, last layer on pooled rows vs full", fast, full, N * proj, 1e-6, 1e-5);
  /* and the texts differ, so a mixed-up row would show */
  g_assert_cmpfloat (fabsf (fast[0] - fast[proj]), >, 1e-6);
  siglip_workspace_clear (&ws);
  siglip_model_free (model);
}

/* ---------------------------------------------------------------------------------------------
 * bf16 against the goldens: the one-call pipeline on chelsea.png (exact pixels), six labels
 * with the default template (golden columns 6..11 of probs/logits_per_image).
 */

/* The bf16 path's tolerance on the tiny goldens. Measured with the avx512bf16 kernel (weights
 * and activations rounded to bf16, fp32 accumulation): max |p - golden| 0.0056 (naflex),
 * 0.0018 (naflex, bf16 file), 0.0176 (fixres); with the attention products in bf16 too,
 * 0.0082, 0.0021 and 0.0107; fp32 stays below 6e-7 on the same cases. The
 * tiny models' random weights make probabilities far more sensitive than a trained model's:
 * on the full-size synthetic SO400M, siglens-bench --precision bf16 reports the cosine of the
 * embeddings to fp32. */
#define BF16_PROB_ABS 0.025

static double
classify_chelsea_max_diff (const char *name, siglip_precision precision)
{
  const cJSON *m = test_manifest_model (name);
  siglip_model *model = load_tiny (cJSON_GetObjectItem (m, "dir")->valuestring, precision);
  siglip_error *err = NULL;
  siglip_state *st = siglip_state_new (model, &err);
  g_assert_nonnull (st);

  const cJSON *texts = cJSON_GetObjectItem (m, "texts"), *c;
  const char *labels[6];
  for (int t = 0; t < 6; t++)
    labels[t] = cJSON_GetObjectItem (cJSON_GetArrayItem (texts, t), "label")->valuestring;
  int idx = 0;
  cJSON_ArrayForEach (c, cJSON_GetObjectItem (m, "images"))
    {
      if (g_str_equal (cJSON_GetObjectItem (c, "image")->valuestring, "chelsea"))
        break;
      idx++;
    }
  g_autofree char *path = test_data_path ("images/chelsea.png");
  g_autoptr (GError) gerr = NULL;
  g_autoptr (SiglensRgbImage) rgb = siglens_decode_file (path, 0, &gerr);
  g_assert_no_error (gerr);
  siglip_image image = { rgb->rgb, rgb->width, rgb->height, rgb->stride };
  siglip_score scores[6];
  if (!siglip_classify (st, &image, labels, 6, NULL, scores, &err))
    g_error ("%s: %s", name, err->message);

  g_autofree float *golden = test_golden_f32 (cJSON_GetObjectItem (m, "probs"), NULL);
  double worst = 0;
  for (int t = 0; t < 6; t++)
    worst = fmax (worst, fabs (scores[t].probability - golden[idx * 12 + 6 + t]));
  siglip_state_free (st);
  siglip_model_free (model);
  return worst;
}

static void
test_bf16_goldens (void)
{
  const char *names[] = { "tiny-siglip2-naflex", "tiny-siglip2-naflex-bf16-sharded",
                          "tiny-siglip-fixres" };
  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    {
      const double fp32 = classify_chelsea_max_diff (names[i], SIGLIP_PRECISION_FP32);
      const double bf16 = classify_chelsea_max_diff (names[i], SIGLIP_PRECISION_BF16);
      g_test_message ("%s: max |p - golden| fp32 %.3g, bf16 %.3g (%s kernel)", names[i], fp32,
                      bf16, siglip_gemm_bf16_kernel_name ());
      g_assert_cmpfloat (fp32, <=, 3e-5);
      g_assert_cmpfloat (bf16, <=, BF16_PROB_ABS);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ops/gelu-exact", test_gelu_exact);
  g_test_add_func ("/ops/bias-gelu", test_bias_gelu);
  g_test_add_func ("/ops/softmax", test_softmax);
  g_test_add_func ("/ops/layernorm", test_layernorm);
  g_test_add_func ("/ops/attention-seqs", test_attention_seqs);
  g_test_add_func ("/ops/attention-bf16", test_attention_bf16);
  g_test_add_func ("/ops/fused-qkv", test_fused_qkv);
  g_test_add_func ("/ops/text-last-token", test_text_last_token);
  g_test_add_func ("/ops/bf16-goldens", test_bf16_goldens);
  return g_test_run ();
}
