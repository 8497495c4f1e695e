/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test-gemm.c — siglip_linear in fp32 and bf16 (AVX-512, AVX2 and the generic fallbacks, each
 * forced on so it is exercised on machines that have a faster kernel) against a double-precision
 * reference, on shapes that are not multiples of the kernels' blocking.
 *
 * Error bounds (Higham, "Accuracy and Stability of Numerical Algorithms", §3.1): a dot product
 * of K terms summed in floating point with unit roundoff u satisfies
 *   |fl(sum) - sum| <= gamma_K * sum |terms|,   gamma_K = K u / (1 - K u),
 * whatever the order of summation or use of FMA. fp32: u = 2^-24.
 * bf16 has 8 significant bits, so round-to-nearest-even gives |bf16(a) - a| <= 2^-8 |a|, and a
 * product of two rounded inputs is off by at most (2 * 2^-8 + 2^-16) |x w| before summation.
 * Each path is checked twice: loosely against the exact product of the unrounded inputs with
 * the bound above, and tightly (gamma_K only) against the exact product of exactly the inputs
 * the path is meant to see (bf16 weights; bf16 activations too for the AVX512-BF16 kernel, f32
 * activations for the generic one) — the tight check catches truncation instead of rounding,
 * a wrong panel index or a lost K tail that the loose bound could hide.
 */
#include <math.h>
#include <string.h>

#include <glib.h>

#include "gemm.h"
#include "gemm-private.h"
#include "pool.h"

typedef struct {
  int m, n, k;
} shape;

/* Odd sizes around the kernels' blocking (8-row and 6-row strips with every remainder 1-5,
 * 32-column panels and their 16-column halves, K in pairs, 192-pair and 256-input K blocks,
 * 240-row M blocks, 4-panel groups) plus the model's own widths. */
static const shape shapes[] = {
  { 1, 1, 1 },
  { 3, 17, 5 },
  { 8, 32, 768 },
  { 17, 63, 768 },
  { 63, 1, 1152 },
  { 9, 33, 1153 },
  { 64, 100, 1152 },
  { 257, 65, 4304 },
  { 1, 1152, 4304 },
  { 257, 1152, 31 },
  { 130, 47, 385 },
  { 241, 161, 257 },
  { 500, 290, 513 },
  { 130, 40, 4500 },  /* K past 4352, past every K of SO400M: AVX-512 K blocks, AVX2 one block */
};

static guint32 rng_state;

static float
rng_uniform (void) /* [-1, 1) */
{
  rng_state = rng_state * 1664525u + 1013904223u;
  return (float) ((rng_state >> 8) * (1.0 / 8388608.0)) - 1.0f;
}

static float
bf16_round (float f)
{
  return siglip_bf16_to_f32 (siglip_f32_to_bf16_rne (f));
}

static double
gamma_k (int k, double u)
{
  return k * u / (1.0 - k * u);
}

typedef enum {
  ROUND_NONE,      /* inputs as given */
  ROUND_W,         /* bf16 weights, f32 activations: what the generic fallback computes */
  ROUND_W_AND_X,   /* both bf16: what the AVX512-BF16 kernel computes */
} rounding;

/* ref[i, j] = b[j] + sum_k x[i, k] w[j, k] in double, and abs_sum[i, j] = |b| + sum |x w| */
static void
reference (const float *x, const float *w, const float *b, const shape *s, rounding r,
           double *ref, double *abs_sum)
{
  for (int i = 0; i < s->m; i++)
    for (int j = 0; j < s->n; j++) {
      double acc = b ? b[j] : 0.0, mag = b ? fabs (b[j]) : 0.0;
      for (int q = 0; q < s->k; q++) {
        float xv = x[(gsize) i * s->k + q], wv = w[(gsize) j * s->k + q];
        if (r != ROUND_NONE)
          wv = bf16_round (wv);
        if (r == ROUND_W_AND_X)
          xv = bf16_round (xv);
        acc += (double) xv * wv;
        mag += fabs ((double) xv * wv);
      }
      ref[(gsize) i * s->n + j] = acc;
      abs_sum[(gsize) i * s->n + j] = mag;
    }
}

/* |y - ref| <= rel * abs_sum + tiny for every element; reports the worst one. */
static void
assert_within (const char *what, const shape *s, const float *y, const double *ref,
               const double *abs_sum, double rel)
{
  double worst_ratio = 0.0;
  gsize worst = 0;
  for (gsize i = 0; i < (gsize) s->m * s->n; i++) {
    const double bound = rel * abs_sum[i] + 1e-30;
    const double ratio = fabs (y[i] - ref[i]) / bound;
    if (!(ratio <= worst_ratio)) { /* also catches NaN */
      worst_ratio = ratio;
      worst = i;
    }
  }
  if (!(worst_ratio <= 1.0))
    g_error ("%s, M=%d N=%d K=%d: y[%" G_GSIZE_FORMAT "] = %.9g, reference %.9g, error %.3g exceeds "
             "bound %.3g (%.2fx)", what, s->m, s->n, s->k, worst, y[worst], ref[worst],
             fabs (y[worst] - ref[worst]), rel * abs_sum[worst], worst_ratio);
}

typedef struct {
  const shape *s;
  float *x, *w, *b, *y;
  double *ref, *mag;
} problem;

static void
problem_init (problem *p, const shape *s, guint32 seed)
{
  rng_state = seed;
  p->s = s;
  p->x = g_new (float, (gsize) s->m * s->k);
  p->w = g_new (float, (gsize) s->n * s->k);
  p->b = g_new (float, s->n);
  p->y = g_new (float, (gsize) s->m * s->n);
  p->ref = g_new (double, (gsize) s->m * s->n);
  p->mag = g_new (double, (gsize) s->m * s->n);
  /* activations of order 1 with an outlier now and then (as after a layer norm), weights
   * scaled 1/sqrt(K) as initialised */
  for (gsize i = 0; i < (gsize) s->m * s->k; i++)
    p->x[i] = rng_uniform () * (i % 97 == 0 ? 30.0f : 1.0f);
  const float scale = 1.0f / sqrtf ((float) s->k);
  for (gsize i = 0; i < (gsize) s->n * s->k; i++)
    p->w[i] = rng_uniform () * scale;
  for (int j = 0; j < s->n; j++)
    p->b[j] = rng_uniform ();
}

static void
problem_clear (problem *p)
{
  g_free (p->x);
  g_free (p->w);
  g_free (p->b);
  g_free (p->y);
  g_free (p->ref);
  g_free (p->mag);
}

static void
test_fp32 (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (shapes); i++)
    for (int with_bias = 0; with_bias <= 1; with_bias++) {
      problem p;
      problem_init (&p, &shapes[i], 1234u + (guint32) i);
      const float *b = with_bias ? p.b : NULL;
      siglip_matrix m = { p.w, NULL, p.s->n, p.s->k };
      memset (p.y, 0xff, sizeof (float) * p.s->m * p.s->n); /* NaN: every element must be written */
      siglip_linear (p.y, p.x, &m, b, p.s->m);
      reference (p.x, p.w, b, p.s, ROUND_NONE, p.ref, p.mag);
      assert_within (with_bias ? "fp32 with bias" : "fp32", p.s, p.y, p.ref, p.mag,
                     gamma_k (p.s->k + 1, 0x1p-24));
      problem_clear (&p);
    }
}

/* fp32 panels: the AVX-512 kernel, or OpenBLAS on the panels when forced, must match the
 * double reference within gamma_K like plain sgemm, and never read the F32 view once packed. */
static void
check_fp32_panels (const char *what)
{
  for (gsize i = 0; i < G_N_ELEMENTS (shapes); i++)
    for (int with_bias = 0; with_bias <= 1; with_bias++) {
      problem p;
      problem_init (&p, &shapes[i], 4321u + (guint32) i);
      const float *b = with_bias ? p.b : NULL;
      siglip_matrix m = { p.w, NULL, p.s->n, p.s->k };
      g_assert_true (siglip_gemm_pack_f32 (&m, NULL));
      g_assert_nonnull (m.packed);
      g_assert_false (siglip_gemm_packed_is_bf16 (&m));
      const gsize padded = (gsize) ((p.s->n + 31) / 32 * 32) * p.s->k;
      g_assert_cmpuint (siglip_gemm_packed_bytes (&m), <=, padded * 4 + 256);
      m.w = NULL;

      memset (p.y, 0xff, sizeof (float) * p.s->m * p.s->n);
      siglip_linear (p.y, p.x, &m, b, p.s->m);
      reference (p.x, p.w, b, p.s, ROUND_NONE, p.ref, p.mag);
      g_autofree char *name = g_strdup_printf ("%s%s", what, with_bias ? " with bias" : "");
      assert_within (name, p.s, p.y, p.ref, p.mag, gamma_k (p.s->k + 1, 0x1p-24));

      siglip_gemm_packed_free (&m);
      g_assert_null (m.packed);
      problem_clear (&p);
    }
}

/* Unpacked row-major weights, as the loader leaves fp32 ones (gemm.c's linear_rowmajor for
 * M >= 16 with our kernels, OpenBLAS below and when forced), whole and stacked from three
 * separate row blocks as a layer's [q; k; v]: within gamma_K of the double reference. */
static void
check_fp32_rowmajor (const char *what)
{
  for (gsize i = 0; i < G_N_ELEMENTS (shapes) + 2; i++)
    for (int stacked = 0; stacked <= 1; stacked++) {
      /* two more shapes whose N splits in three: a small one and SO400M's [q; k; v] */
      static const shape thirds[] = { { 21, 3 * 23, 385 }, { 257, 3 * 1152, 1152 } };
      const shape *sh = i < G_N_ELEMENTS (shapes) ? &shapes[i] : &thirds[i - G_N_ELEMENTS (shapes)];
      if (stacked && sh->n % 3 != 0)
        continue;
      problem p;
      problem_init (&p, sh, 5678u + (guint32) i);
      siglip_matrix m = { p.w, NULL, sh->n, sh->k };
      float *parts[3] = { NULL };
      if (stacked) {
        /* each third in a buffer of its own, so that reading across them would be caught */
        const gsize third = (gsize) sh->n / 3 * sh->k;
        for (int q = 0; q < 3; q++) {
          parts[q] = g_memdup2 (p.w + q * third, third * sizeof (float));
          m.stacked[q] = parts[q];
        }
        m.n_stacked = 3;
        m.w = NULL;
      }
      memset (p.y, 0xff, sizeof (float) * p.s->m * p.s->n);
      siglip_linear (p.y, p.x, &m, p.b, p.s->m);
      reference (p.x, p.w, p.b, p.s, ROUND_NONE, p.ref, p.mag);
      g_autofree char *name = g_strdup_printf ("%s%s", what, stacked ? " stacked" : "");
      assert_within (name, p.s, p.y, p.ref, p.mag, gamma_k (p.s->k + 1, 0x1p-24));
      for (int q = 0; q < 3; q++)
        g_free (parts[q]);
      problem_clear (&p);
    }
}

static void
test_fp32_avx512 (void)
{
  siglip_gemm_set_fp32_backend (SIGLIP_GEMM_FP32_AUTO);
  if (!siglip_gemm_cpu_has_avx512f ()) {
    g_test_skip ("this CPU has no AVX-512F; fp32 panels are tested through /gemm/fp32/panels-openblas");
    return;
  }
  g_assert_cmpstr (siglip_gemm_fp32_kernel_name (), ==, "avx512");
  g_assert_false (siglip_gemm_fp32_packing_pays ());
  check_fp32_panels ("fp32 avx512 panels");
  check_fp32_rowmajor ("fp32 avx512 row-major");
}

static void
test_fp32_avx2 (void)
{
  if (!siglip_gemm_cpu_has_avx2 ()) {
    g_test_skip ("this CPU has no AVX2 + FMA; fp32 panels are tested through /gemm/fp32/panels-openblas");
    return;
  }
  /* forced, so that an AVX-512 machine tests the kernel AVX2 laptops run */
  siglip_gemm_set_fp32_backend (SIGLIP_GEMM_FP32_AVX2);
  g_assert_cmpstr (siglip_gemm_fp32_kernel_name (), ==, "avx2");
  /* the loader keeps fp32 weights row-major: the kernel reads them as they are */
  g_assert_false (siglip_gemm_fp32_packing_pays ());
  check_fp32_panels ("fp32 avx2 panels");
  check_fp32_rowmajor ("fp32 avx2 row-major");
  siglip_gemm_set_fp32_backend (SIGLIP_GEMM_FP32_AUTO);
}

/* SIGLIP_ISA=avx2 (a second run of this program, tests/meson.build) must leave the core exactly
 * where a CPU without AVX-512 would: the AVX2 kernels chosen by default, no AVX-512 reported. */
static void
test_isa_switch (void)
{
  const char *cap = g_getenv ("SIGLIP_ISA");
  if (!cap || strcmp (cap, "avx2") != 0) {
    g_test_skip ("SIGLIP_ISA=avx2 is not set in this run");
    return;
  }
  if (!siglip_gemm_cpu_has_avx2 ()) {
    g_test_skip ("this CPU has no AVX2 + FMA");
    return;
  }
  g_assert_cmpint (siglip_isa_get (), ==, SIGLIP_ISA_AVX2);
  g_assert_cmpstr (siglip_isa_name (siglip_isa_get ()), ==, "avx2");
  g_assert_false (siglip_gemm_cpu_has_avx512f ());
  g_assert_false (siglip_gemm_cpu_has_avx512bf16 ());
  g_assert_false (siglip_gemm_bf16_is_native ());
  g_assert_cmpstr (siglip_gemm_fp32_kernel_name (), ==, "avx2");
  g_assert_cmpstr (siglip_gemm_bf16_kernel_name (), ==, "avx2");
}

static void
test_fp32_panels_openblas (void)
{
  siglip_gemm_set_fp32_backend (SIGLIP_GEMM_FP32_OPENBLAS);
  g_assert_cmpstr (siglip_gemm_fp32_kernel_name (), ==, "openblas");
  g_assert_false (siglip_gemm_fp32_packing_pays ());
  check_fp32_panels ("fp32 openblas panels");
  check_fp32_rowmajor ("fp32 openblas row-major");
  siglip_gemm_set_fp32_backend (SIGLIP_GEMM_FP32_AUTO);
}

/* Packing straight from the file's dtype: BF16 and F16 sources widen exactly into fp32 panels,
 * and a BF16 source lands bit for bit in bf16 panels (no second rounding). The products are
 * compared with those of the same values packed from F32. */
static void
test_pack_dtypes (void)
{
  static const shape s = { 19, 70, 131 };
  problem p;
  problem_init (&p, &s, 31u);
  const gsize nk = (gsize) s.n * s.k;
  guint16 *bf = g_new (guint16, nk), *half = g_new (guint16, nk);
  float *wide = g_new (float, nk);
  for (gsize i = 0; i < nk; i++) {
    bf[i] = siglip_f32_to_bf16_rne (p.w[i]);
    wide[i] = siglip_bf16_to_f32 (bf[i]);
    /* f16 1.0 + the bf16 mantissa's top 7 bits: a value both formats hold exactly */
    half[i] = (guint16) (0x3c00u | ((bf[i] & 0x7fu) << 3));
  }
  float *y_ref = g_new (float, (gsize) s.m * s.n);
  for (int prec = 0; prec < 2; prec++) {
    const siglip_precision precision = prec ? SIGLIP_PRECISION_BF16 : SIGLIP_PRECISION_FP32;
    siglip_matrix ref = { wide, NULL, s.n, s.k }, from_bf16 = ref;
    g_assert_true (siglip_gemm_pack (&ref, precision, wide, SIGLIP_DTYPE_F32, NULL));
    g_assert_true (siglip_gemm_pack (&from_bf16, precision, bf, SIGLIP_DTYPE_BF16, NULL));
    ref.w = from_bf16.w = NULL;
    siglip_linear (y_ref, p.x, &ref, p.b, s.m);
    siglip_linear (p.y, p.x, &from_bf16, p.b, s.m);
    g_assert_cmpmem (p.y, sizeof (float) * s.m * s.n, y_ref, sizeof (float) * s.m * s.n);
    siglip_gemm_packed_free (&ref);
    siglip_gemm_packed_free (&from_bf16);
  }
  /* F16: the same values through an f32 copy */
  for (gsize i = 0; i < nk; i++)
    wide[i] = 1.0f + (float) ((bf[i] & 0x7fu) << 3) * 0x1p-10f;
  siglip_matrix ref = { wide, NULL, s.n, s.k }, from_f16 = ref;
  g_assert_true (siglip_gemm_pack (&ref, SIGLIP_PRECISION_FP32, wide, SIGLIP_DTYPE_F32, NULL));
  g_assert_true (siglip_gemm_pack (&from_f16, SIGLIP_PRECISION_FP32, half, SIGLIP_DTYPE_F16, NULL));
  siglip_linear (y_ref, p.x, &ref, NULL, s.m);
  siglip_linear (p.y, p.x, &from_f16, NULL, s.m);
  g_assert_cmpmem (p.y, sizeof (float) * s.m * s.n, y_ref, sizeof (float) * s.m * s.n);
  siglip_gemm_packed_free (&ref);
  siglip_gemm_packed_free (&from_f16);

  siglip_error *error = NULL;
  g_assert_false (siglip_gemm_pack (&ref, SIGLIP_PRECISION_FP32, wide, SIGLIP_DTYPE_OTHER, &error));
  g_assert_nonnull (strstr (error->message, "[70, 131]"));
  g_assert_null (ref.packed);
  siglip_error_free (error);

  g_free (y_ref);
  g_free (bf);
  g_free (half);
  g_free (wide);
  problem_clear (&p);
}

static void
check_bf16 (const char *what, rounding exact_inputs)
{
  const double u8 = 0x1p-8;
  for (gsize i = 0; i < G_N_ELEMENTS (shapes); i++)
    for (int with_bias = 0; with_bias <= 1; with_bias++) {
      problem p;
      problem_init (&p, &shapes[i], 777u + (guint32) i);
      const float *b = with_bias ? p.b : NULL;
      siglip_matrix m = { p.w, NULL, p.s->n, p.s->k };
      g_assert_true (siglip_gemm_pack_bf16 (&m, NULL));
      g_assert_nonnull (m.packed);
      /* the packed weights are half the F32 bytes, up to the padding of the last panel */
      const gsize padded = (gsize) ((p.s->n + 31) / 32 * 32) * ((p.s->k + 1) / 2 * 2);
      g_assert_cmpuint (siglip_gemm_packed_bytes (&m), <=, padded * 2 + 256);
      /* siglip_linear must not read the F32 copy once packed: the loader may free it */
      m.w = NULL;

      memset (p.y, 0xff, sizeof (float) * p.s->m * p.s->n);
      siglip_linear (p.y, p.x, &m, b, p.s->m);

      g_autofree char *loose = g_strdup_printf ("%s%s vs exact inputs", what, with_bias ? " with bias" : "");
      reference (p.x, p.w, b, p.s, ROUND_NONE, p.ref, p.mag);
      assert_within (loose, p.s, p.y, p.ref, p.mag,
                     (2 * u8 + u8 * u8) * (1 + gamma_k (p.s->k + 1, 0x1p-24)) + gamma_k (p.s->k + 1, 0x1p-24));

      g_autofree char *tight = g_strdup_printf ("%s%s vs its bf16-rounded inputs", what, with_bias ? " with bias" : "");
      reference (p.x, p.w, b, p.s, exact_inputs, p.ref, p.mag);
      assert_within (tight, p.s, p.y, p.ref, p.mag, gamma_k (p.s->k + 1, 0x1p-24));

      siglip_gemm_packed_free (&m);
      g_assert_null (m.packed);
      problem_clear (&p);
    }
}

static void
test_bf16_fast (void)
{
  if (!siglip_gemm_cpu_has_avx512bf16 ()) {
    g_test_skip ("this CPU has no AVX512-BF16; the generic path is tested by /gemm/bf16/generic");
    return;
  }
  siglip_gemm_set_bf16_backend (SIGLIP_GEMM_BF16_AVX512BF16);
  g_assert_cmpstr (siglip_gemm_bf16_kernel_name (), ==, "avx512bf16");
  g_assert_true (siglip_gemm_bf16_is_native ());
  check_bf16 ("bf16 avx512bf16", ROUND_W_AND_X);
  siglip_gemm_set_bf16_backend (SIGLIP_GEMM_BF16_AUTO);
}

/* bf16 panels widened for the AVX-512 fp32 kernel */
static void
test_bf16_avx512 (void)
{
  if (!siglip_gemm_cpu_has_avx512f ()) {
    g_test_skip ("this CPU has no AVX-512F; the AVX2 kernel is tested by /gemm/bf16/avx2");
    return;
  }
  siglip_gemm_set_bf16_backend (SIGLIP_GEMM_BF16_AVX512);
  g_assert_cmpstr (siglip_gemm_bf16_kernel_name (), ==, "avx512");
  g_assert_false (siglip_gemm_bf16_is_native ());
  check_bf16 ("bf16 avx512 widened", ROUND_W);
  siglip_gemm_set_bf16_backend (SIGLIP_GEMM_BF16_AUTO);
}

static void
test_bf16_avx2 (void)
{
  if (!siglip_gemm_cpu_has_avx2 ()) {
    g_test_skip ("this CPU has no AVX2 + FMA; the generic path is tested by /gemm/bf16/generic");
    return;
  }
  siglip_gemm_set_bf16_backend (SIGLIP_GEMM_BF16_AVX2);
  g_assert_cmpstr (siglip_gemm_bf16_kernel_name (), ==, "avx2");
  g_assert_false (siglip_gemm_bf16_is_native ());
  /* weights widened exactly from bf16, activations kept fp32 */
  check_bf16 ("bf16 avx2", ROUND_W);
  siglip_gemm_set_bf16_backend (SIGLIP_GEMM_BF16_AUTO);
}

static void
test_bf16_generic (void)
{
  siglip_gemm_set_bf16_backend (SIGLIP_GEMM_BF16_GENERIC);
  g_assert_cmpstr (siglip_gemm_bf16_kernel_name (), ==, "generic");
  check_bf16 ("bf16 generic", ROUND_W);
  siglip_gemm_set_bf16_backend (SIGLIP_GEMM_BF16_AUTO);
}

/* F32 rows standing for bf16 (a bf16 model's first load, computing while its panels are
 * written): the numbers of the bf16 kernel in use on every shape — bf16 weights and fp32
 * activations under the AVX2 and widened AVX-512 ones (`round_mode` ROUND_W), both rounded
 * under AVX512-BF16 (ROUND_W_AND_X); under the AVX-512 ones, products on the rows equal to
 * those on packed panels bit for bit;
 * stacked rows as one matrix; the rounding's ties as the packing's; and, where the row-major
 * kernel cannot run (OpenBLAS forced), the plain path's. */
static void
check_bf16_rows (const char *what, rounding round_mode)
{
  const char *kernel = siglip_gemm_bf16_kernel_name ();
  const gboolean native = g_str_equal (kernel, "avx512bf16");
  const gboolean exact = native || (g_str_equal (kernel, "avx512")
                                    && g_str_equal (siglip_gemm_fp32_kernel_name (), "avx512"));
  for (gsize i = 0; i < G_N_ELEMENTS (shapes); i++)
    for (int with_bias = 0; with_bias <= 1; with_bias++) {
      problem p;
      problem_init (&p, &shapes[i], 991u + (guint32) i);
      const float *b = with_bias ? p.b : NULL;
      siglip_matrix m = { p.w, NULL, p.s->n, p.s->k, .bf16_rows = true };
      memset (p.y, 0xff, sizeof (float) * p.s->m * p.s->n);
      siglip_linear (p.y, p.x, &m, b, p.s->m);
      g_autofree char *tight = g_strdup_printf ("%s%s vs its bf16-rounded weights", what,
                                                with_bias ? " with bias" : "");
      reference (p.x, p.w, b, p.s, round_mode, p.ref, p.mag);
      assert_within (tight, p.s, p.y, p.ref, p.mag, gamma_k (p.s->k + 1, 0x1p-24));
      if (exact) {
        siglip_matrix panels = { p.w, NULL, p.s->n, p.s->k };
        g_assert_true (siglip_gemm_pack_bf16 (&panels, NULL));
        panels.w = NULL;
        g_autofree float *y_panels = g_new (float, (gsize) p.s->m * p.s->n);
        siglip_linear (y_panels, p.x, &panels, b, p.s->m);
        g_assert_cmpmem (p.y, sizeof (float) * p.s->m * p.s->n, y_panels,
                         sizeof (float) * p.s->m * p.s->n);
        siglip_gemm_packed_free (&panels);
      }
      /* and not the unrounded weights' numbers: against the same product on the rows as they
       * are, some output moves by far more than fp32 summation (about 1e-7 of the sum of
       * magnitudes) could explain */
      if (p.s->k > 16) {
        siglip_matrix plain = m;
        plain.bf16_rows = false;
        g_autofree float *y_f32 = g_new (float, (gsize) p.s->m * p.s->n);
        siglip_linear (y_f32, p.x, &plain, b, p.s->m);
        double worst = 0.0;
        for (gsize e = 0; e < (gsize) p.s->m * p.s->n; e++)
          worst = fmax (worst, fabs ((double) p.y[e] - y_f32[e]) / (p.mag[e] + 1e-30));
        g_assert_cmpfloat (worst, >, 1e-5);
      }

      /* the same rows as three stacked parts (a layer's q, k, v) */
      if (p.s->n % 3 == 0) {
        const gsize third = (gsize) p.s->n / 3 * p.s->k;
        siglip_matrix st = { NULL, NULL, p.s->n, p.s->k, { p.w, p.w + third, p.w + 2 * third }, 3,
                             .bf16_rows = true };
        g_autofree float *y2 = g_new (float, (gsize) p.s->m * p.s->n);
        siglip_linear (y2, p.x, &st, b, p.s->m);
        g_assert_cmpmem (y2, sizeof (float) * p.s->m * p.s->n, p.y, sizeof (float) * p.s->m * p.s->n);
      }
      problem_clear (&p);
    }

  /* ties and near-ties, rounded in the kernels' vector code and in its scalar tail alike: the
   * products equal those of the packed bf16 panels exactly (one input: no summation order) */
  const float ties[] = { 1.0f + 0x1p-8f, 1.0f + 3 * 0x1p-8f, 1.0f + 0x1p-8f + 0x1p-20f, -2.0f,
                         -(1.0f + 0x1p-8f), 0x1p-130f, 3.0e38f, 1.0f + 5 * 0x1p-8f, 0.0f,
                         -0.0f, 0x1.fffffep-1f };
  const int n = G_N_ELEMENTS (ties);
  float one = 1.0f, y_rows[G_N_ELEMENTS (ties)], y_panels[G_N_ELEMENTS (ties)];
  siglip_matrix rows = { ties, NULL, n, 1, .bf16_rows = true }, panels = { ties, NULL, n, 1 };
  g_assert_true (siglip_gemm_pack_bf16 (&panels, NULL));
  panels.w = NULL;
  siglip_linear (y_rows, &one, &rows, NULL, 1);
  siglip_linear (y_panels, &one, &panels, NULL, 1);
  g_assert_cmpmem (y_rows, sizeof y_rows, y_panels, sizeof y_panels);
  for (int j = 0; j < n; j++) {
    /* vdpbf16ps takes subnormal inputs as zero: the panels' product and the rows' alike */
    const float expected = native && fpclassify (bf16_round (ties[j])) == FP_SUBNORMAL
                             ? 0.0f : bf16_round (ties[j]);
    g_assert_cmpfloat (y_rows[j], ==, expected);
  }
  siglip_gemm_packed_free (&panels);
}

static void
test_bf16_rows (void)
{
  if (!siglip_gemm_cpu_has_avx2 ()) {
    g_test_skip ("this CPU has no AVX2 + FMA: no kernel reads rows standing for bf16; the plain "
                 "path is tested by /gemm/bf16/rows-plain");
    return;
  }
  /* the AVX2 bf16 kernel's numbers, read by the row-major fp32 kernels */
  siglip_gemm_set_bf16_backend (SIGLIP_GEMM_BF16_AVX2);
  siglip_gemm_set_fp32_backend (SIGLIP_GEMM_FP32_AUTO);
  g_assert_true (siglip_gemm_can_round_rows ());
  check_bf16_rows ("bf16 rows", ROUND_W);
  siglip_gemm_set_fp32_backend (SIGLIP_GEMM_FP32_AVX2);
  check_bf16_rows ("bf16 rows, avx2", ROUND_W);
  siglip_gemm_set_fp32_backend (SIGLIP_GEMM_FP32_AUTO);
  siglip_gemm_set_bf16_backend (SIGLIP_GEMM_BF16_AUTO);
}

static void
test_bf16_rows_avx512bf16 (void)
{
  if (!siglip_gemm_cpu_has_avx512bf16 ()) {
    g_test_skip ("this CPU has no AVX512-BF16; the AVX2 kernel's rows are tested by /gemm/bf16/rows");
    return;
  }
  siglip_gemm_set_bf16_backend (SIGLIP_GEMM_BF16_AVX512BF16);
  g_assert_true (siglip_gemm_can_round_rows ());
  check_bf16_rows ("bf16 rows, avx512bf16", ROUND_W_AND_X);
  /* whichever kernel fp32 panels would use: these rows never reach it */
  siglip_gemm_set_fp32_backend (SIGLIP_GEMM_FP32_OPENBLAS);
  g_assert_true (siglip_gemm_can_round_rows ());
  check_bf16_rows ("bf16 rows, avx512bf16, fp32 on OpenBLAS", ROUND_W_AND_X);
  siglip_gemm_set_fp32_backend (SIGLIP_GEMM_FP32_AUTO);
  siglip_gemm_set_bf16_backend (SIGLIP_GEMM_BF16_AUTO);
}

/* under the widened AVX-512 kernel the rows are read rounded by the row-major fp32 kernel */
static void
test_bf16_rows_avx512 (void)
{
  if (!siglip_gemm_cpu_has_avx512f ()) {
    g_test_skip ("this CPU has no AVX-512F; the AVX2 kernel's rows are tested by /gemm/bf16/rows");
    return;
  }
  siglip_gemm_set_bf16_backend (SIGLIP_GEMM_BF16_AVX512);
  g_assert_true (siglip_gemm_can_round_rows ());
  check_bf16_rows ("bf16 rows, avx512 widened", ROUND_W);
  siglip_gemm_set_bf16_backend (SIGLIP_GEMM_BF16_AUTO);
}

static void
test_bf16_rows_plain (void)
{
  siglip_gemm_set_bf16_backend (SIGLIP_GEMM_BF16_AVX2);
  siglip_gemm_set_fp32_backend (SIGLIP_GEMM_FP32_OPENBLAS);
  g_assert_false (siglip_gemm_can_round_rows ());
  check_bf16_rows ("bf16 rows, plain", ROUND_W);
  siglip_gemm_set_fp32_backend (SIGLIP_GEMM_FP32_AUTO);
  siglip_gemm_set_bf16_backend (SIGLIP_GEMM_BF16_AUTO);
}

/* Round to nearest even, as torch and the BF16 safetensors writer (FACTS.md §11). */
static void
test_bf16_rounding (void)
{
  /* 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties go to the even mantissa (1) */
  g_assert_cmpuint (siglip_f32_to_bf16_rne (1.0f + 0x1p-8f), ==, 0x3f80);
  /* 1 + 3 * 2^-8 is halfway between 1 + 2^-7 (odd) and 1 + 2^-6: goes up to the even one */
  g_assert_cmpuint (siglip_f32_to_bf16_rne (1.0f + 3 * 0x1p-8f), ==, 0x3f82);
  /* just above a tie rounds up */
  g_assert_cmpuint (siglip_f32_to_bf16_rne (1.0f + 0x1p-8f + 0x1p-20f), ==, 0x3f81);
  g_assert_cmpuint (siglip_f32_to_bf16_rne (-2.0f), ==, 0xc000);
  g_assert_cmpuint (siglip_f32_to_bf16_rne (INFINITY), ==, 0x7f80);
  g_assert_true (isnan (siglip_bf16_to_f32 (siglip_f32_to_bf16_rne (NAN))));
  /* the largest finite f32 rounds to infinity, as in torch */
  g_assert_cmpuint (siglip_f32_to_bf16_rne (3.4028235e38f), ==, 0x7f80);
}

/* Two threads multiplying at once: one gets the pool, the other runs serially; both correct. */
typedef struct {
  problem p;
  siglip_matrix m;
  bool bf16;
} concurrent_job;

static gpointer
concurrent_run (gpointer data)
{
  concurrent_job *job = data;
  for (int r = 0; r < 20; r++)
    siglip_linear (job->p.y, job->p.x, &job->m, job->p.b, job->p.s->m);
  return NULL;
}

static void
test_concurrent (void)
{
  static const shape s = { 67, 300, 1152 };
  concurrent_job jobs[2];
  GThread *threads[2];
  for (int t = 0; t < 2; t++) {
    problem_init (&jobs[t].p, &s, 99u + (guint32) t);
    jobs[t].m = (siglip_matrix) { jobs[t].p.w, NULL, s.n, s.k };
    jobs[t].bf16 = t == 1;
    if (jobs[t].bf16)
      g_assert_true (siglip_gemm_pack_bf16 (&jobs[t].m, NULL));
  }
  for (int t = 0; t < 2; t++)
    threads[t] = g_thread_new ("gemm", concurrent_run, &jobs[t]);
  for (int t = 0; t < 2; t++)
    g_thread_join (threads[t]);

  reference (jobs[0].p.x, jobs[0].p.w, jobs[0].p.b, &s, ROUND_NONE, jobs[0].p.ref, jobs[0].p.mag);
  assert_within ("fp32 concurrent", &s, jobs[0].p.y, jobs[0].p.ref, jobs[0].p.mag,
                 gamma_k (s.k + 1, 0x1p-24));
  reference (jobs[1].p.x, jobs[1].p.w, jobs[1].p.b, &s,
             siglip_gemm_bf16_is_native () ? ROUND_W_AND_X : ROUND_W, jobs[1].p.ref, jobs[1].p.mag);
  assert_within ("bf16 concurrent", &s, jobs[1].p.y, jobs[1].p.ref, jobs[1].p.mag,
                 gamma_k (s.k + 1, 0x1p-24));
  siglip_gemm_packed_free (&jobs[1].m);
  for (int t = 0; t < 2; t++)
    problem_clear (&jobs[t].p);
}

static void
test_pack_errors (void)
{
  siglip_matrix m = { NULL, NULL, 4, 4 };
  siglip_error *error = NULL;
  g_assert_false (siglip_gemm_pack_bf16 (&m, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "[4, 4]"));
  g_assert_null (m.packed);
  siglip_error_free (error);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  /* two workers even on a one-core runner, so the split between workers is exercised */
  siglip_pool_set_threads (2);
  g_test_add_func ("/gemm/bf16/rounding", test_bf16_rounding);
  g_test_add_func ("/gemm/fp32", test_fp32);
  g_test_add_func ("/gemm/fp32/panels-avx512", test_fp32_avx512);
  g_test_add_func ("/gemm/fp32/panels-avx2", test_fp32_avx2);
  g_test_add_func ("/gemm/fp32/panels-openblas", test_fp32_panels_openblas);
  g_test_add_func ("/gemm/isa-switch", test_isa_switch);
  g_test_add_func ("/gemm/pack-dtypes", test_pack_dtypes);
  g_test_add_func ("/gemm/bf16/avx512bf16", test_bf16_fast);
  g_test_add_func ("/gemm/bf16/avx512", test_bf16_avx512);
  g_test_add_func ("/gemm/bf16/avx2", test_bf16_avx2);
  g_test_add_func ("/gemm/bf16/generic", test_bf16_generic);
  g_test_add_func ("/gemm/bf16/rows", test_bf16_rows);
  g_test_add_func ("/gemm/bf16/rows-avx512bf16", test_bf16_rows_avx512bf16);
  g_test_add_func ("/gemm/bf16/rows-avx512", test_bf16_rows_avx512);
  g_test_add_func ("/gemm/bf16/rows-plain", test_bf16_rows_plain);
  g_test_add_func ("/gemm/concurrent", test_concurrent);
  g_test_add_func ("/gemm/pack-errors", test_pack_errors);
  return g_test_run ();
}
