/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The arithmetic of the towers; see ops.h for the shapes.
 *
 * Everything here is memory-bound row work (LayerNorm, bias + GELU, softmax), so the rules are:
 * one pass over each row where two would do, rows spread over the pool with
 * siglip_parallel_for, and the inner loops written with the 16-float vectors of vec.h. The
 * results do not depend on the number of threads: each row is computed by one worker in a fixed
 * order.
 */
#include "vec.h" /* first: it sets the file's FP contraction */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gemm.h"
#include "ops.h"
#include "pool.h"

/* e^x per lane, within 2 ulp over the float range. Range reduction x = n ln2 + r, |r| <= ln2/2,
 * with ln2 split in two (Cody-Waite) so n ln2 is exact; e^r by the degree-6 minimax polynomial
 * of Cephes' expf; 2^n built in the exponent bits. n is rounded by adding 1.5 * 2^23, whose
 * low mantissa bits then hold n + 2^22, so no float -> int conversion is needed.
 * Below -87.33 (where e^x leaves the normal range) the result is 0, so exp (-inf) = 0 as a
 * masked softmax needs; above 88.37 it saturates at e^88.37 (~2.5e38) instead of inf. */
#define VSELECT(VF, VI, mask, a, b) ((VF) (((VI) (a) & (mask)) | ((VI) (b) & ~(mask))))
#define DEFINE_VEXP(NAME, VF, VI) \
  INLINE VF \
  NAME (VF x) \
  { \
    const VF zero = { 0 }; \
    const VF lo = zero - 87.33654f, hi = zero + 88.37626f; \
    const VI under = x < lo; \
    x = VSELECT (VF, VI, x > hi, hi, x); \
    x = VSELECT (VF, VI, under, lo, x); \
    \
    const VF shifter = zero + 12582912.0f; /* 1.5 * 2^23 */ \
    const VF t = x * 1.44269504088896341f + shifter; \
    const VF n = t - shifter; \
    VF r = x - n * 0.693359375f;       /* ln2, high part: exact in 9 bits */ \
    r = r - n * -2.12194440e-4f;       /* ln2 - 0.693359375 */ \
    \
    VF p = zero + 1.9875691500e-4f; \
    p = p * r + 1.3981999507e-3f; \
    p = p * r + 8.3334519073e-3f; \
    p = p * r + 4.1665795894e-2f; \
    p = p * r + 1.6666665459e-1f; \
    p = p * r + 5.0000001201e-1f; \
    p = p * (r * r) + r + 1.0f; \
    \
    /* bits of t = 0x4B400000 + n; 2^n = (n + 127) << 23 */ \
    const VI scale = ((VI) t - (0x4B400000 - 127)) << 23; \
    return VSELECT (VF, VI, under, zero, p * (VF) scale); \
  }

/* Two widths: 16 lanes for AVX-512, 8 where the vectors are narrower. GCC 12 turns a
 * comparison of vectors wider than the target's (16 lanes on AVX2) into scalar code, a compare
 * and a conditional move per lane: that made softmax 4 ns a float on the AVX2 path. */
DEFINE_VEXP (vexp, vf, vi)
DEFINE_VEXP (vexp8, vf8, vi8)

/* gelu_pytorch_tanh (x) = 0.5 x (1 + tanh (u)), u = sqrt (2/pi) (x + 0.044715 x^3), computed as
 * x / (1 + e^(-2u)) — the same function (0.5 (1 + tanh u) = 1 / (1 + e^(-2u))), but without
 * the cancellation of 1 + tanh (u) for negative x, so it is closer to the exact value than
 * tanhf is; test-ops bounds the error against a double-precision evaluation. */
#define DEFINE_VGELU(NAME, VF, VEXP) \
  INLINE VF \
  NAME (VF x) \
  { \
    const float k = 0.7978845608028654f; /* sqrt (2 / pi) */ \
    const VF u = k * (x + 0.044715f * x * x * x); \
    return x / (1.0f + VEXP (-2.0f * u)); \
  }

DEFINE_VGELU (vgelu, vf, vexp)
DEFINE_VGELU (vgelu8, vf8, vexp8)

/* ---------------------------------------------------------------------------------------------
 * Row kernels: one row of d floats each
 */

int
siglip_row_kernel_isa (void)
{
  static int cached = -1;
  if (cached < 0)
    {
      int level = SIGLIP_ISA_GENERIC;
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
      /* the copies are compiled for the whole levels, which ask more than siglip_isa does */
      __builtin_cpu_init ();
      const siglip_isa isa = siglip_isa_get ();
      if (isa >= SIGLIP_ISA_AVX2 && __builtin_cpu_supports ("x86-64-v3"))
        level = SIGLIP_ISA_AVX2;
      if (isa >= SIGLIP_ISA_AVX512 && __builtin_cpu_supports ("x86-64-v4"))
        level = SIGLIP_ISA_AVX512;
#endif
      cached = level;
    }
  return cached;
}

#define DEFINE_GELU_ROW_BODY(NAME, VF, W, VGELU) \
  INLINE void \
  NAME (float *y, const float *b, size_t d) \
  { \
    size_t j = 0; \
    VF v; \
    if (b) \
      for (; j + W <= d; j += W) \
        { \
          VF bv; \
          memcpy (&v, y + j, sizeof v); \
          memcpy (&bv, b + j, sizeof bv); \
          v = VGELU (v + bv); \
          memcpy (y + j, &v, sizeof v); \
        } \
    else \
      for (; j + W <= d; j += W) \
        { \
          memcpy (&v, y + j, sizeof v); \
          v = VGELU (v); \
          memcpy (y + j, &v, sizeof v); \
        } \
    if (j < d) \
      { \
        /* the tail goes through the same vector code, zero-padded */ \
        float tmp[W] = { 0 }; \
        for (size_t i = j; i < d; i++) \
          tmp[i - j] = y[i] + (b ? b[i] : 0.0f); \
        memcpy (&v, tmp, sizeof v); \
        v = VGELU (v); \
        memcpy (tmp, &v, sizeof v); \
        memcpy (y + j, tmp, (d - j) * sizeof (float)); \
      } \
  }

DEFINE_GELU_ROW_BODY (gelu_row_body, vf, LANES, vgelu)
DEFINE_GELU_ROW_BODY (gelu_row_body8, vf8, 8, vgelu8)

ROW_KERNEL_DISPATCH_8 (gelu_row, (float *y, const float *b, size_t d),
                       (y, b, d))

/* mean and biased variance of x (d), accumulated in double in 8 lanes: with eps = 1e-6 the
 * rounding of the statistics stays far below the golden tolerances, as torch's Welford does. */
INLINE void
row_moments_body (const float *x, int d, double *mean_out, double *var_out)
{
  vd8 acc = { 0 };
  int j = 0;
  for (; j + 8 <= d; j += 8)
    {
      vf8 v;
      memcpy (&v, x + j, sizeof v);
      acc += __builtin_convertvector (v, vd8);
    }
  double sum = 0;
  for (int i = 0; i < 8; i++)
    sum += acc[i];
  for (; j < d; j++)
    sum += x[j];
  const double mean = sum / d;

  vd8 sq = { 0 };
  j = 0;
  for (; j + 8 <= d; j += 8)
    {
      vf8 v;
      memcpy (&v, x + j, sizeof v);
      const vd8 c = __builtin_convertvector (v, vd8) - mean;
      sq += c * c;
    }
  double var = 0;
  for (int i = 0; i < 8; i++)
    var += sq[i];
  for (; j < d; j++)
    var += (x[j] - mean) * (x[j] - mean);
  *mean_out = mean;
  *var_out = var / d; /* biased, as torch.nn.LayerNorm */
}

/* The same in two vectors of 4 doubles, lane for lane the same sums: GCC 12 keeps a vector of 8
 * doubles in memory on AVX2 and moves it through the stack at every step (13 000 cycles a
 * row of 1152). */
INLINE void
row_moments_body8 (const float *x, int d, double *mean_out, double *var_out)
{
  vd4 acc0 = { 0 }, acc1 = { 0 };
  int j = 0;
  for (; j + 8 <= d; j += 8)
    {
      vf4 v0, v1;
      memcpy (&v0, x + j, sizeof v0);
      memcpy (&v1, x + j + 4, sizeof v1);
      acc0 += __builtin_convertvector (v0, vd4);
      acc1 += __builtin_convertvector (v1, vd4);
    }
  double sum = 0;
  for (int i = 0; i < 4; i++)
    sum += acc0[i];
  for (int i = 0; i < 4; i++)
    sum += acc1[i];
  for (; j < d; j++)
    sum += x[j];
  const double mean = sum / d;

  vd4 sq0 = { 0 }, sq1 = { 0 };
  j = 0;
  for (; j + 8 <= d; j += 8)
    {
      vf4 v0, v1;
      memcpy (&v0, x + j, sizeof v0);
      memcpy (&v1, x + j + 4, sizeof v1);
      const vd4 c0 = __builtin_convertvector (v0, vd4) - mean;
      const vd4 c1 = __builtin_convertvector (v1, vd4) - mean;
      sq0 += c0 * c0;
      sq1 += c1 * c1;
    }
  double var = 0;
  for (int i = 0; i < 4; i++)
    var += sq0[i];
  for (int i = 0; i < 4; i++)
    var += sq1[i];
  for (; j < d; j++)
    var += (x[j] - mean) * (x[j] - mean);
  *mean_out = mean;
  *var_out = var / d;
}

ROW_KERNEL_DISPATCH_8 (row_moments, (const float *x, int d, double *mean_out, double *var_out),
                       (x, d, mean_out, var_out))

INLINE void
normalize_row_body (float *y, const float *x, const float *w, const float *b, int d, float mean,
               float inv)
{
  int j = 0;
  for (; j + LANES <= d; j += LANES)
    vstore (y + j, (vload (x + j) - mean) * inv * vload (w + j) + vload (b + j));
  for (; j < d; j++)
    y[j] = (x[j] - mean) * inv * w[j] + b[j];
}

ROW_KERNEL_DISPATCH (normalize_row,
                     (float *y, const float *x, const float *w, const float *b, int d, float mean,
                      float inv),
                     (y, x, w, b, d, mean, inv))

static void
layernorm_row (float *y, const float *x, const float *w, const float *b, int d, float eps)
{
  double mean, var;
  row_moments (x, d, &mean, &var);
  normalize_row (y, x, w, b, d, (float) mean, (float) (1.0 / sqrt (var + eps)));
}

INLINE void
add_row_body (float *y, const float *x, size_t n)
{
  size_t j = 0;
  for (; j + LANES <= n; j += LANES)
    vstore (y + j, vload (y + j) + vload (x + j));
  for (; j < n; j++)
    y[j] += x[j];
}

ROW_KERNEL_DISPATCH (add_row, (float *y, const float *x, size_t n),
                     (y, x, n))

#define DEFINE_SOFTMAX_ROW_BODY(NAME, VF, VI, W, VEXP) \
  INLINE void \
  NAME (float *x, int n) \
  { \
    const VF zero = { 0 }; \
    VF v, vm = zero - INFINITY; \
    int j = 0; \
    for (; j + W <= n; j += W) \
      { \
        memcpy (&v, x + j, sizeof v); \
        vm = VSELECT (VF, VI, v > vm, v, vm); \
      } \
    float max = vm[0]; \
    for (int i = 1; i < W; i++) \
      max = vm[i] > max ? vm[i] : max; \
    for (; j < n; j++) \
      max = x[j] > max ? x[j] : max; \
    \
    VF vs = zero; \
    for (j = 0; j + W <= n; j += W) \
      { \
        memcpy (&v, x + j, sizeof v); \
        v = VEXP (v - max); \
        memcpy (x + j, &v, sizeof v); \
        vs += v; \
      } \
    float sum = 0; \
    for (int i = 0; i < W; i++) \
      sum += vs[i]; \
    if (j < n) \
      { \
        float tmp[W]; \
        for (int i = 0; i < W; i++) \
          tmp[i] = j + i < n ? x[j + i] - max : -INFINITY; /* exp -> 0 */ \
        memcpy (&v, tmp, sizeof v); \
        v = VEXP (v); \
        memcpy (tmp, &v, sizeof v); \
        for (int i = 0; i < W; i++) \
          sum += tmp[i]; \
        memcpy (x + j, tmp, (size_t) (n - j) * sizeof (float)); \
      } \
    \
    const float inv = 1.0f / sum; \
    for (j = 0; j + W <= n; j += W) \
      { \
        memcpy (&v, x + j, sizeof v); \
        v *= inv; \
        memcpy (x + j, &v, sizeof v); \
      } \
    for (; j < n; j++) \
      x[j] *= inv; \
  }

DEFINE_SOFTMAX_ROW_BODY (softmax_row_body, vf, vi, LANES, vexp)
DEFINE_SOFTMAX_ROW_BODY (softmax_row_body8, vf8, vi8, 8, vexp8)

ROW_KERNEL_DISPATCH_8 (softmax_row, (float *x, int n),
                       (x, n))

/* ---------------------------------------------------------------------------------------------
 * Row ops over the pool. Below ~64 K floats a wake-up of the pool costs more than it saves.
 */

#define PARALLEL_MIN_FLOATS 65536

typedef struct {
  float *x, *y, *h;
  const float *w, *b;
  int d;
  float eps;
} rows_job;

static void
run_rows (int n, int d, siglip_task_func fn, rows_job *job)
{
  if ((size_t) n * d < PARALLEL_MIN_FLOATS)
    for (int i = 0; i < n; i++)
      fn (job, i, 0);
  else
    siglip_parallel_for (n, fn, job);
}

static void
layernorm_task (void *data, int i, int worker)
{
  const rows_job *job = data;
  const size_t off = (size_t) i * job->d;
  layernorm_row (job->y + off, job->x + off, job->w, job->b, job->d, job->eps);
}

void
siglip_layernorm (float *y, const float *x, const float *w, const float *b, int n, int d,
                  float eps)
{
  rows_job job = { .x = (float *) x, .y = y, .w = w, .b = b, .d = d, .eps = eps };
  run_rows (n, d, layernorm_task, &job);
}

static void
add_layernorm_task (void *data, int i, int worker)
{
  const rows_job *job = data;
  const size_t off = (size_t) i * job->d;
  add_row (job->x + off, job->h + off, (size_t) job->d);
  if (job->w)
    layernorm_row (job->y + off, job->x + off, job->w, job->b, job->d, job->eps);
}

void
siglip_add_layernorm (float *x, const float *h, float *y, const float *w, const float *b, int n,
                      int d, float eps)
{
  rows_job job = { .x = x, .h = (float *) h, .y = y, .w = w, .b = b, .d = d, .eps = eps };
  run_rows (n, d, add_layernorm_task, &job);
}


static void
bias_gelu_task (void *data, int i, int worker)
{
  const rows_job *job = data;
  gelu_row (job->y + (size_t) i * job->d, job->b, (size_t) job->d);
}

void
siglip_bias_gelu (float *y, const float *b, int n, int d)
{
  rows_job job = { .y = y, .b = b, .d = d };
  run_rows (n, d, bias_gelu_task, &job);
}


void
siglip_gelu_tanh (float *x, size_t n)
{
  gelu_row (x, NULL, n);
}

void
siglip_softmax (float *x, int n)
{
  softmax_row (x, n);
}

void
siglip_softmax_rows (float *x, int rows, size_t ld, int n)
{
  for (int i = 0; i < rows; i++)
    softmax_row (x + (size_t) i * ld, n);
}

void
siglip_add (float *y, const float *x, size_t n)
{
  add_row (y, x, n);
}

void
siglip_add_bias (float *y, const float *b, int n, int d)
{
  for (int i = 0; i < n; i++)
    add_row (y + (size_t) i * d, b, (size_t) d);
}
