/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The arithmetic of the towers; see ops.h for the shapes.
 *
 * Everything here that is not a weight product is memory-bound row work (LayerNorm, bias +
 * GELU, softmax) or small per-head products, so the rules are: one pass over each row where two
 * would do, rows (or sequence x head pairs) spread over the pool with siglip_parallel_for, and
 * the inner loops written with GCC/Clang vector extensions (16 floats) so that every target gets
 * vector code, compiled once more for AVX-512 and AVX2 on x86-64 (target_clones picks one at
 * load time). The results do not depend on the number of threads: each row is computed by one
 * worker in a fixed order.
 */
/* ISO C mode (-std=c11) leaves GCC's a * b + c unfused (-ffp-contract=off); the products and
 * polynomials below are written to become FMAs on the targets that have them (one rounding
 * instead of two, and half the instructions). For the whole file, so that the inlined helpers
 * and their callers agree. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize ("fp-contract=fast")
#elif defined(__clang__)
#pragma clang fp contract(fast)
#endif

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "gemm-private.h"
#include "gemm.h"
#include "ops.h"

/* ---------------------------------------------------------------------------------------------
 * 16-float vectors
 */

#define LANES 16
typedef float vf __attribute__ ((vector_size (LANES * sizeof (float))));
typedef int32_t vi __attribute__ ((vector_size (LANES * sizeof (int32_t))));
typedef float vf8 __attribute__ ((vector_size (8 * sizeof (float))));
typedef double vd8 __attribute__ ((vector_size (8 * sizeof (double))));

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
/* Row kernels only: the callers stay generic, the resolver runs once per kernel. */
#define ROW_KERNEL __attribute__ ((target_clones ("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define ROW_KERNEL
#endif

#define INLINE static inline __attribute__ ((always_inline))

/* The helpers below pass 64-byte vectors by value; they are always inlined, so the warning that
 * such a call's ABI differs without AVX-512 never applies. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

INLINE vf
vload (const float *p)
{
  vf v;
  memcpy (&v, p, sizeof v);
  return v;
}

INLINE void
vstore (float *p, vf v)
{
  memcpy (p, &v, sizeof v);
}

INLINE vf
vsplat (float x)
{
  return (vf) { 0 } + x;
}

/* mask ? a : b, lane by lane; mask lanes are 0 or -1 as vector comparisons give them */
INLINE vf
vselect (vi mask, vf a, vf b)
{
  return (vf) (((vi) a & mask) | ((vi) b & ~mask));
}

INLINE float
vsum (vf v)
{
  float s = 0;
  for (int i = 0; i < LANES; i++)
    s += v[i];
  return s;
}

INLINE float
vmax_lanes (vf v)
{
  float m = v[0];
  for (int i = 1; i < LANES; i++)
    m = v[i] > m ? v[i] : m;
  return m;
}

/* e^x per lane, within 2 ulp over the float range. Range reduction x = n ln2 + r, |r| <= ln2/2,
 * with ln2 split in two (Cody-Waite) so n ln2 is exact; e^r by the degree-6 minimax polynomial
 * of Cephes' expf; 2^n built in the exponent bits. n is rounded by adding 1.5 * 2^23, whose
 * low mantissa bits then hold n + 2^22, so no float -> int conversion is needed.
 * Below -87.33 (where e^x leaves the normal range) the result is 0, so exp (-inf) = 0 as a
 * masked softmax needs; above 88.37 it saturates at e^88.37 (~2.5e38) instead of inf. */
INLINE vf
vexp (vf x)
{
  const vf lo = vsplat (-87.33654f), hi = vsplat (88.37626f);
  const vi under = x < lo;
  x = vselect (x > hi, hi, x);
  x = vselect (under, lo, x);

  const vf shifter = vsplat (12582912.0f); /* 1.5 * 2^23 */
  const vf t = x * 1.44269504088896341f + shifter;
  const vf n = t - shifter;
  vf r = x - n * 0.693359375f;       /* ln2, high part: exact in 9 bits */
  r = r - n * -2.12194440e-4f;       /* ln2 - 0.693359375 */

  vf p = vsplat (1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;

  /* bits of t = 0x4B400000 + n; 2^n = (n + 127) << 23 */
  const vi scale = ((vi) t - (0x4B400000 - 127)) << 23;
  return vselect (under, vsplat (0.0f), p * (vf) scale);
}

/* gelu_pytorch_tanh (x) = 0.5 x (1 + tanh (u)), u = sqrt (2/pi) (x + 0.044715 x^3), computed as
 * x / (1 + e^(-2u)) — the same function (0.5 (1 + tanh u) = 1 / (1 + e^(-2u))), but without
 * the cancellation of 1 + tanh (u) for negative x, so it is closer to the exact value than
 * tanhf is; test-ops bounds the error against a double-precision evaluation. */
INLINE vf
vgelu (vf x)
{
  const float k = 0.7978845608028654f; /* sqrt (2 / pi) */
  const vf u = k * (x + 0.044715f * x * x * x);
  return x / (1.0f + vexp (-2.0f * u));
}

/* ---------------------------------------------------------------------------------------------
 * Row kernels: one row of d floats each
 */

ROW_KERNEL static void
gelu_row (float *y, const float *b, size_t d)
{
  size_t j = 0;
  if (b)
    for (; j + LANES <= d; j += LANES)
      vstore (y + j, vgelu (vload (y + j) + vload (b + j)));
  else
    for (; j + LANES <= d; j += LANES)
      vstore (y + j, vgelu (vload (y + j)));
  if (j < d)
    {
      /* the tail goes through the same vector code, zero-padded */
      float tmp[LANES] = { 0 };
      for (size_t i = j; i < d; i++)
        tmp[i - j] = y[i] + (b ? b[i] : 0.0f);
      vstore (tmp, vgelu (vload (tmp)));
      memcpy (y + j, tmp, (d - j) * sizeof (float));
    }
}

/* mean and biased variance of x (d), accumulated in double in 8 lanes: with eps = 1e-6 the
 * rounding of the statistics stays far below the golden tolerances, as torch's Welford does. */
ROW_KERNEL static void
row_moments (const float *x, int d, double *mean_out, double *var_out)
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

ROW_KERNEL static void
normalize_row (float *y, const float *x, const float *w, const float *b, int d, float mean,
               float inv)
{
  int j = 0;
  for (; j + LANES <= d; j += LANES)
    vstore (y + j, (vload (x + j) - mean) * inv * vload (w + j) + vload (b + j));
  for (; j < d; j++)
    y[j] = (x[j] - mean) * inv * w[j] + b[j];
}

static void
layernorm_row (float *y, const float *x, const float *w, const float *b, int d, float eps)
{
  double mean, var;
  row_moments (x, d, &mean, &var);
  normalize_row (y, x, w, b, d, (float) mean, (float) (1.0 / sqrt (var + eps)));
}

ROW_KERNEL static void
add_row (float *y, const float *x, size_t n)
{
  size_t j = 0;
  for (; j + LANES <= n; j += LANES)
    vstore (y + j, vload (y + j) + vload (x + j));
  for (; j < n; j++)
    y[j] += x[j];
}

ROW_KERNEL static void
softmax_row (float *x, int n)
{
  int j = 0;
  vf vm = vsplat (-INFINITY);
  for (; j + LANES <= n; j += LANES)
    {
      const vf v = vload (x + j);
      vm = vselect (v > vm, v, vm);
    }
  float max = vmax_lanes (vm);
  for (; j < n; j++)
    max = x[j] > max ? x[j] : max;

  vf vs = vsplat (0.0f);
  for (j = 0; j + LANES <= n; j += LANES)
    {
      const vf e = vexp (vload (x + j) - max);
      vstore (x + j, e);
      vs += e;
    }
  float sum = vsum (vs);
  if (j < n)
    {
      float tmp[LANES];
      for (int i = 0; i < LANES; i++)
        tmp[i] = j + i < n ? x[j + i] - max : -INFINITY; /* exp -> 0 */
      const vf e = vexp (vload (tmp));
      vstore (tmp, e);
      sum += vsum (e);
      memcpy (x + j, tmp, (size_t) (n - j) * sizeof (float));
    }

  const float inv = 1.0f / sum;
  for (j = 0; j + LANES <= n; j += LANES)
    vstore (x + j, vload (x + j) * inv);
  for (; j < n; j++)
    x[j] *= inv;
}

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

/* ---------------------------------------------------------------------------------------------
 * Attention
 */

/* Query rows per task. At 256 patches a whole head is one task (16 per image, 8 per worker):
 * K_h and V_h are packed by sgemm once per head instead of once per block, and the 256 x 256
 * scores (256 KiB) stay in L2 between the two products. Measured against 64-row blocks on
 * SO400M bf16, 256 patches: attention 14.6-14.8% of the image time vs 15.3-15.4%. Longer
 * sequences get several blocks (1024 patches: 64 tasks), the scratch stays 256 x seq. */
#define ATTN_QUERY_BLOCK 256

/* out_h rows [q0, q0 + nq) of one head of one sequence: scores (nq, nk) =
 * q_h k_h^T * hd^-0.5 (+ mask), softmax per row, out_h = scores v_h. */
static void
attention_block (float *out, int ldo, const float *q, int ldq, const float *k, int ldk,
                 const float *v, int ldv, int nq, int nk, int hd, const uint8_t *key_valid,
                 float *scores)
{
  const float scale = 1.0f / sqrtf ((float) hd); /* Siglip2Attention: head_dim**-0.5 */
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, nq, nk, hd, scale, q, ldq, k, ldk, 0.0f,
               scores, nk);
  for (int i = 0; i < nq; i++)
    {
      float *row = scores + (size_t) i * nk;
      if (key_valid)
        for (int j = 0; j < nk; j++)
          if (!key_valid[j])
            row[j] = -INFINITY;
      softmax_row (row, nk);
    }
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, nq, hd, nk, 1.0f, scores, nk, v, ldv,
               0.0f, out, ldo);
}

void
siglip_attention (float *out, int ldo, const float *q, int ldq, const float *k, int ldk,
                  const float *v, int ldv, int nq, int nk, int dim, int heads,
                  const uint8_t *key_valid, float *scores)
{
  const int hd = dim / heads;
  for (int h = 0; h < heads; h++)
    attention_block (out + h * hd, ldo, q + h * hd, ldq, k + h * hd, ldk, v + h * hd, ldv, nq, nk,
                     hd, key_valid, scores);
}

/* ---- our own attention products, on per-worker copies of K_h and V_h ----------------------
 * OpenBLAS runs here with the kernels OPENBLAS_CORETYPE picks (Haswell AVX2 in this
 * environment) and packs K_h and V_h on every call; with head_dim 72 the products are small
 * and strided. Below, K_h is transposed once per task into Kt (hd, nkp) and V_h copied into
 * Vp (nk, hdp), both contiguous and zero-padded (nkp: multiple of 32 keys, hdp: of 16 dims), so
 * the two products are plain register-tiled loops the vector code handles well. */

#define QK_MR 8  /* query rows x 32 keys per tile: 16 accumulators */
#define PV_MR 4  /* query rows x hdp dims per tile: up to 4 x 8 accumulators */
#define ATTN_MAX_HDP 128

INLINE int
round_up (int x, int m)
{
  return (x + m - 1) / m * m;
}

static void
pack_kv (float *kt, float *vp, const float *k, int ldk, const float *v, int ldv, int nk, int hd,
         int nkp, int hdp)
{
  for (int c = 0; c < hd; c++)
    {
      float *dst = kt + (size_t) c * nkp;
      for (int j = 0; j < nk; j++)
        dst[j] = k[(size_t) j * ldk + c];
      memset (dst + nk, 0, (size_t) (nkp - nk) * sizeof (float));
    }
  for (int j = 0; j < nk; j++)
    {
      memcpy (vp + (size_t) j * hdp, v + (size_t) j * ldv, (size_t) hd * sizeof (float));
      memset (vp + (size_t) j * hdp + hd, 0, (size_t) (hdp - hd) * sizeof (float));
    }
}

/* s (nq, nkp) = q (nq, hd) Kt (hd, nkp) * scale */
ROW_KERNEL static void
qk_product (float *s, const float *q, int ldq, const float *kt, int nq, int hd, int nkp,
            float scale)
{
  int i0 = 0;
  for (; i0 + QK_MR <= nq; i0 += QK_MR)
    for (int j0 = 0; j0 < nkp; j0 += 32)
      {
        vf acc[QK_MR][2];
#pragma GCC unroll 8
        for (int r = 0; r < QK_MR; r++)
          acc[r][0] = acc[r][1] = vsplat (0.0f);
        for (int c = 0; c < hd; c++)
          {
            const vf b0 = vload (kt + (size_t) c * nkp + j0);
            const vf b1 = vload (kt + (size_t) c * nkp + j0 + 16);
#pragma GCC unroll 8
            for (int r = 0; r < QK_MR; r++)
              {
                const float a = q[(size_t) (i0 + r) * ldq + c];
                acc[r][0] += a * b0;
                acc[r][1] += a * b1;
              }
          }
#pragma GCC unroll 8
        for (int r = 0; r < QK_MR; r++)
          {
            vstore (s + (size_t) (i0 + r) * nkp + j0, acc[r][0] * scale);
            vstore (s + (size_t) (i0 + r) * nkp + j0 + 16, acc[r][1] * scale);
          }
      }
  for (; i0 < nq; i0++) /* the last rows, one at a time */
    for (int j0 = 0; j0 < nkp; j0 += 16)
      {
        vf acc = vsplat (0.0f);
        for (int c = 0; c < hd; c++)
          acc += q[(size_t) i0 * ldq + c] * vload (kt + (size_t) c * nkp + j0);
        vstore (s + (size_t) i0 * nkp + j0, acc * scale);
      }
}

/* out rows [i0, i0 + MR) (hd of hdp = NV * 16 columns) = p (., nkp) Vp (nk, hdp) */
INLINE void
pv_tile (float *out, int ldo, const float *p, int nkp, const float *vp, int nk, int hd, int i0,
         const int MR, const int NV)
{
  vf acc[PV_MR][ATTN_MAX_HDP / LANES];
  for (int r = 0; r < MR; r++)
    for (int v = 0; v < NV; v++)
      acc[r][v] = vsplat (0.0f);
  for (int j = 0; j < nk; j++)
    {
      vf b[ATTN_MAX_HDP / LANES];
      for (int v = 0; v < NV; v++)
        b[v] = vload (vp + (size_t) j * NV * LANES + v * LANES);
      for (int r = 0; r < MR; r++)
        {
          const float a = p[(size_t) (i0 + r) * nkp + j];
          for (int v = 0; v < NV; v++)
            acc[r][v] += a * b[v];
        }
    }
  for (int r = 0; r < MR; r++)
    {
      float row[ATTN_MAX_HDP];
      for (int v = 0; v < NV; v++)
        vstore (row + v * LANES, acc[r][v]);
      memcpy (out + (size_t) (i0 + r) * ldo, row, (size_t) hd * sizeof (float));
    }
}

/* out (nq, hd) = p (nq, nkp; the first nk columns) Vp (nk, hdp) */
ROW_KERNEL static void
pv_product (float *out, int ldo, const float *p, int nkp, const float *vp, int nq, int nk, int hd,
            int hdp)
{
  const int nv = hdp / LANES;
  int i0 = 0;
  /* constant tile shapes for the usual head sizes (64, 72/80, 128), so the accumulators live
   * in registers; anything else takes the same code with a variable width */
  for (; i0 + PV_MR <= nq; i0 += PV_MR)
    switch (nv)
      {
      case 4: pv_tile (out, ldo, p, nkp, vp, nk, hd, i0, PV_MR, 4); break;
      case 5: pv_tile (out, ldo, p, nkp, vp, nk, hd, i0, PV_MR, 5); break;
      case 8: pv_tile (out, ldo, p, nkp, vp, nk, hd, i0, PV_MR, 8); break;
      default: pv_tile (out, ldo, p, nkp, vp, nk, hd, i0, PV_MR, nv); break;
      }
  for (; i0 < nq; i0++)
    pv_tile (out, ldo, p, nkp, vp, nk, hd, i0, 1, nv);
}

/* attention_block with our products; scratch holds scores (nq, nkp), Kt and Vp. */
static void
attention_block_packed (float *out, int ldo, const float *q, int ldq, const float *k, int ldk,
                        const float *v, int ldv, int nq, int nk, int hd,
                        const uint8_t *key_valid, float *scratch)
{
  const int nkp = round_up (nk, 32), hdp = round_up (hd, LANES);
  float *scores = scratch, *kt = scores + (size_t) nq * nkp, *vp = kt + (size_t) hd * nkp;
  pack_kv (kt, vp, k, ldk, v, ldv, nk, hd, nkp, hdp);
  qk_product (scores, q, ldq, kt, nq, hd, nkp, 1.0f / sqrtf ((float) hd));
  for (int i = 0; i < nq; i++)
    {
      float *row = scores + (size_t) i * nkp;
      if (key_valid)
        for (int j = 0; j < nk; j++)
          if (!key_valid[j])
            row[j] = -INFINITY;
      softmax_row (row, nk);
    }
  pv_product (out, ldo, scores, nkp, vp, nq, nk, hd, hdp);
}

#ifdef SIGLIP_GEMM_HAVE_AVX512BF16_KERNEL
/* The bf16 scratch, carved in 64-byte pieces: scores (nq, nkp) fp32, then bf16 pairs of
 * Kt (nkp * hp), Vp (nkp / 2 * hdp), the queries (nq * hp) and the softmax rows (nq * nkp / 2)
 * — see gemm-private.h for the layouts. */
typedef struct {
  float *scores;
  uint32_t *kt, *vp, *qa, *pa;
} attn_bf16_scratch;

static size_t
attn_bf16_carve (float *base, int qb, int seq, int hd, attn_bf16_scratch *out)
{
  const size_t nkp = (size_t) round_up (seq, 32), hdp = (size_t) round_up (hd, LANES);
  const size_t hp = (size_t) (hd + 1) / 2;
  const size_t sizes[5] = { (size_t) qb * nkp, nkp * hp, nkp / 2 * hdp, (size_t) qb * hp,
                            (size_t) qb * nkp / 2 };
  void *parts[5];
  size_t at = 0;
  for (int i = 0; i < 5; i++)
    {
      parts[i] = base ? base + at : NULL;
      at += (size_t) round_up ((int) sizes[i], 16);
    }
  if (out)
    *out = (attn_bf16_scratch) { parts[0], parts[1], parts[2], parts[3], parts[4] };
  return at;
}

/* attention_block_packed with the two products in bf16 (vdpbf16ps, fp32 sums); the scores,
 * the mask and the softmax stay fp32 (max-subtracted, as softmax_row), and only its result
 * is rounded to bf16 for the second product. Halves the bytes the products stream and runs at
 * twice the fp32 FMA rate; test-ops bounds the difference from the fp32 loops. Measured on
 * SO400M (256 patches, 16 heads of 72, 2 threads, back to back in one process): 27 layers'
 * attention 34.5 ms (236 GFLOP/s) with the fp32 loops, 19.5 ms (420 GFLOP/s) here. */
static void
attention_block_bf16 (float *out, int ldo, const float *q, int ldq, const float *k, int ldk,
                      const float *v, int ldv, int nq, int nk, int hd, const uint8_t *key_valid,
                      float *scratch)
{
  attn_bf16_scratch b;
  attn_bf16_carve (scratch, nq, nk, hd, &b);
  const int nkp = round_up (nk, 32), hp = (hd + 1) / 2;
  siglip_attn_bf16_pack_kv (b.kt, b.vp, k, ldk, v, ldv, nk, hd);
  siglip_attn_bf16_pack_rows (b.qa, (size_t) hp, q, (size_t) ldq, nq, hd);
  siglip_attn_bf16_qk (b.scores, b.qa, b.kt, nq, hd, nk, 1.0f / sqrtf ((float) hd));
  for (int i = 0; i < nq; i++)
    {
      float *row = b.scores + (size_t) i * nkp;
      if (key_valid)
        for (int j = 0; j < nk; j++)
          if (!key_valid[j])
            row[j] = -INFINITY;
      softmax_row (row, nk);
    }
  siglip_attn_bf16_pack_rows (b.pa, (size_t) nkp / 2, b.scores, (size_t) nkp, nq, nk);
  siglip_attn_bf16_pv (out, ldo, b.pa, b.vp, nq, nk, hd);
}
#endif

/* floats of attention_block_packed's (or _bf16's) scratch for up to `qb` queries, `seq` keys,
 * `hd` dims */
static size_t
packed_scratch_floats (int qb, int seq, int hd)
{
  const size_t nkp = (size_t) round_up (seq, 32), hdp = (size_t) round_up (hd, LANES);
  size_t floats = (size_t) qb * nkp + (size_t) hd * nkp + (size_t) seq * hdp;
#ifdef SIGLIP_GEMM_HAVE_AVX512BF16_KERNEL
  const size_t bf16 = attn_bf16_carve (NULL, qb, seq, hd, NULL);
  floats = bf16 > floats ? bf16 : floats;
#endif
  return floats;
}

typedef struct {
  float *out;
  const float *q, *k, *v;
  int ldo, ldq, ldk, ldv;
  int seq_len, nq, dim, heads, blocks;
  const uint8_t *key_valid;
  float *scratch;
  size_t scratch_stride;
  /* attention_block_packed or attention_block_bf16 on ws->attn_scratch, else
   * attention_block (cblas) on ws->scores */
  void (*block) (float *out, int ldo, const float *q, int ldq, const float *k, int ldk,
                 const float *v, int ldv, int nq, int nk, int hd, const uint8_t *key_valid,
                 float *scratch);
} attention_job;

/* task = (sequence, head, query block), sequence-major so a worker's run of tasks shares K/V */
static void
attention_task (void *data, int task, int worker)
{
  const attention_job *j = data;
  const int per_seq = j->heads * j->blocks;
  const int s = task / per_seq, h = task % per_seq / j->blocks, blk = task % j->blocks;
  const int hd = j->dim / j->heads;
  const int q0 = blk * ATTN_QUERY_BLOCK;
  const int nq = j->nq - q0 < ATTN_QUERY_BLOCK ? j->nq - q0 : ATTN_QUERY_BLOCK;
  const size_t qrow = (size_t) s * j->nq + q0, krow = (size_t) s * j->seq_len;
  j->block (
    j->out + qrow * j->ldo + h * hd, j->ldo, j->q + qrow * j->ldq + h * hd, j->ldq,
    j->k + krow * j->ldk + h * hd, j->ldk, j->v + krow * j->ldv + h * hd, j->ldv, nq, j->seq_len,
    hd, j->key_valid, j->scratch + worker * j->scratch_stride);
}

void
siglip_attention_seqs (siglip_workspace *ws, float *out, int ldo, const float *q, int ldq,
                       const float *k, int ldk, const float *v, int ldv, int n_seq, int nq,
                       int seq_len, int dim, int heads)
{
  const int blocks = (nq + ATTN_QUERY_BLOCK - 1) / ATTN_QUERY_BLOCK;
  attention_job job = {
    .out = out, .q = q, .k = k, .v = v, .ldo = ldo, .ldq = ldq, .ldk = ldk, .ldv = ldv,
    .seq_len = seq_len, .nq = nq, .dim = dim, .heads = heads, .blocks = blocks,
    .scratch = ws->scores, .scratch_stride = (size_t) ATTN_QUERY_BLOCK * ws->cap_seq,
    .block = attention_block,
  };
  const int hd = dim / heads;
  if (ws->attn_scratch && seq_len <= ws->attn_seq && hd <= ws->attn_hd
      && round_up (hd, LANES) <= ATTN_MAX_HDP)
    {
      job.block = attention_block_packed;
#ifdef SIGLIP_GEMM_HAVE_AVX512BF16_KERNEL
      /* bf16 products only where the model itself is bf16 and the CPU runs vdpbf16ps: the fp32
       * path stays bit for bit what the goldens were checked with */
      if (ws->attn_bf16 && siglip_gemm_bf16_is_native ())
        job.block = attention_block_bf16;
#endif
      job.scratch = ws->attn_scratch;
      job.scratch_stride = ws->attn_stride;
    }
  const int n_tasks = n_seq * heads * blocks;
  if (siglip_gemm_get_threads () > ws->n_workers)
    {
      /* the pool grew (another model asked for more threads) after ws was sized: run here,
       * with worker 0's block, rather than let a new worker index run past the scratch */
      for (int t = 0; t < n_tasks; t++)
        attention_task (&job, t, 0);
      return;
    }
  siglip_parallel_for (n_tasks, attention_task, &job);
}

/* ---------------------------------------------------------------------------------------------
 * Workspace
 */

bool
siglip_workspace_reserve (siglip_workspace *ws, int dim, int inter, int tokens, int seq,
                          int pos_tmp_rows)
{
  /* one score block per pool worker, for siglip_attention_seqs */
  int workers = siglip_gemm_get_threads ();
  if (ws->x && dim <= ws->dim && inter <= ws->inter && tokens <= ws->cap_tokens
      && seq <= ws->cap_seq && pos_tmp_rows <= ws->pos_tmp_rows && workers <= ws->n_workers)
    return true;

  /* Grow to the max of old and new so that alternating callers do not thrash. */
  if (ws->x)
    {
      dim = dim > ws->dim ? dim : ws->dim;
      inter = inter > ws->inter ? inter : ws->inter;
      tokens = tokens > ws->cap_tokens ? tokens : ws->cap_tokens;
      seq = seq > ws->cap_seq ? seq : ws->cap_seq;
      pos_tmp_rows = pos_tmp_rows > ws->pos_tmp_rows ? pos_tmp_rows : ws->pos_tmp_rows;
      workers = workers > ws->n_workers ? workers : ws->n_workers;
    }
  siglip_workspace_clear (ws);

  const size_t rows = (size_t) tokens * dim;
  float **bufs[] = { &ws->x, &ws->h, &ws->q, &ws->k, &ws->v, &ws->attn, &ws->pos };
  for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
    *bufs[i] = malloc (rows * sizeof (float));
  ws->mlp = malloc ((size_t) tokens * inter * sizeof (float));
  ws->pos_tmp = malloc ((size_t) (pos_tmp_rows > 0 ? pos_tmp_rows : 1) * dim * sizeof (float));
  /* at least seq * seq too: siglip_attention callers pass ws->scores for a whole head */
  size_t score_floats = (size_t) workers * ATTN_QUERY_BLOCK * seq;
  if (score_floats < (size_t) seq * seq)
    score_floats = (size_t) seq * seq;
  ws->scores = malloc (score_floats * sizeof (float));

  bool ok = ws->mlp && ws->pos_tmp && ws->scores;
  for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
    ok = ok && *bufs[i];
  if (!ok)
    {
      siglip_workspace_clear (ws);
      return false;
    }
  ws->dim = dim;
  ws->inter = inter;
  ws->cap_tokens = tokens;
  ws->cap_seq = seq;
  ws->pos_tmp_rows = pos_tmp_rows;
  ws->n_workers = workers;
  return true;
}

bool
siglip_workspace_reserve_attention (siglip_workspace *ws, int seq, int head_dim)
{
  if (!ws->x || ws->n_workers <= 0)
    return false;
  if (ws->attn_scratch && seq <= ws->attn_seq && head_dim <= ws->attn_hd
      && ws->attn_workers >= ws->n_workers)
    return true;
  seq = seq > ws->attn_seq ? seq : ws->attn_seq;
  head_dim = head_dim > ws->attn_hd ? head_dim : ws->attn_hd;
  /* per worker, rounded to 64 bytes so that the blocks do not share cache lines */
  const size_t stride = round_up ((int) packed_scratch_floats (ATTN_QUERY_BLOCK, seq, head_dim),
                                  16);
  free (ws->attn_scratch);
  ws->attn_scratch = aligned_alloc (64, (size_t) ws->n_workers * stride * sizeof (float));
  if (!ws->attn_scratch)
    {
      ws->attn_seq = ws->attn_hd = ws->attn_workers = 0;
      return false;
    }
  ws->attn_stride = stride;
  ws->attn_seq = seq;
  ws->attn_hd = head_dim;
  ws->attn_workers = ws->n_workers;
  return true;
}

void
siglip_workspace_clear (siglip_workspace *ws)
{
  free (ws->attn_scratch);
  free (ws->x);
  free (ws->h);
  free (ws->q);
  free (ws->k);
  free (ws->v);
  free (ws->attn);
  free (ws->mlp);
  free (ws->pos);
  free (ws->pos_tmp);
  free (ws->scores);
  memset (ws, 0, sizeof *ws);
}

/* ---------------------------------------------------------------------------------------------
 * The encoder layer
 */

/* q, k, v (n, d) with row stride *ld of LN1 (x) in ws->h: one fused product into ws->mlp
 * (free until fc1) when the layer has it, else three into ws->q/k/v. */
static void
qkv_products (siglip_workspace *ws, const siglip_layer_weights *layer, int n, int d,
              const float **q, const float **k, const float **v, int *ld)
{
  if (layer->qkv.rows == 3 * d)
    {
      siglip_linear (ws->mlp, ws->h, &layer->qkv, layer->qkv_b, n);
      *q = ws->mlp, *k = ws->mlp + d, *v = ws->mlp + 2 * d, *ld = 3 * d;
      return;
    }
  siglip_linear (ws->q, ws->h, &layer->q, layer->q_b, n);
  siglip_linear (ws->k, ws->h, &layer->k, layer->k_b, n);
  siglip_linear (ws->v, ws->h, &layer->v, layer->v_b, n);
  *q = ws->q, *k = ws->k, *v = ws->v, *ld = d;
}

/* The rest of a layer on n rows once ws->attn holds their attention output:
 * x += out_proj (attn); x += fc2 (gelu (fc1 (LN2 (x)))); h = next LN (x) */
static void
layer_tail (siglip_workspace *ws, const siglip_layer_weights *layer, const float *next_ln_w,
            const float *next_ln_b, int n, int d, float eps)
{
  const int inter = layer->fc1.rows;
  siglip_linear (ws->h, ws->attn, &layer->o, layer->o_b, n);
  /* x += h; h = LN2 (x), one pass */
  siglip_add_layernorm (ws->x, ws->h, ws->h, layer->ln2_w, layer->ln2_b, n, d, eps);
  siglip_linear (ws->mlp, ws->h, &layer->fc1, NULL, n);
  siglip_bias_gelu (ws->mlp, layer->fc1_b, n, inter);
  siglip_linear (ws->h, ws->mlp, &layer->fc2, layer->fc2_b, n);
  /* x += h; h = LN1 of the next layer (x), one pass */
  siglip_add_layernorm (ws->x, ws->h, ws->h, next_ln_w, next_ln_b, n, d, eps);
}

void
siglip_encoder_layer (siglip_workspace *ws, const siglip_layer_weights *layer,
                      const float *next_ln_w, const float *next_ln_b, int n_seq, int seq_len,
                      int d, int heads, float eps)
{
  const int n = n_seq * seq_len;
  const float *q, *k, *v;
  int ld;
  /* x = x + out_proj (attention (LN1 (x))); ws->h holds LN1 (x) on entry. */
  qkv_products (ws, layer, n, d, &q, &k, &v, &ld);
  siglip_attention_seqs (ws, ws->attn, d, q, ld, k, ld, v, ld, n_seq, seq_len, seq_len, d, heads);
  layer_tail (ws, layer, next_ln_w, next_ln_b, n, d, eps);
}

void
siglip_encoder_layer_last_token (siglip_workspace *ws, const siglip_layer_weights *layer,
                                 int n_seq, int seq_len, int d, int heads, float eps)
{
  const float *q, *k, *v;
  int ld;
  /* every token is still a key and a value */
  qkv_products (ws, layer, n_seq * seq_len, d, &q, &k, &v, &ld);
  /* ...but only the last one of each sequence a query: its q row into ws->pos, which the text
   * tower does not use */
  for (int s = 0; s < n_seq; s++)
    memcpy (ws->pos + (size_t) s * d, q + ((size_t) s * seq_len + seq_len - 1) * ld,
            (size_t) d * sizeof (float));
  siglip_attention_seqs (ws, ws->attn, d, ws->pos, d, k, ld, v, ld, n_seq, 1, seq_len, d, heads);
  /* the residual rows of those tokens to the top of ws->x; row s comes from row
   * s * seq_len + seq_len - 1 >= s, which no earlier copy has overwritten */
  for (int s = 0; s < n_seq; s++)
    memmove (ws->x + (size_t) s * d, ws->x + ((size_t) s * seq_len + seq_len - 1) * d,
             (size_t) d * sizeof (float));
  layer_tail (ws, layer, NULL, NULL, n_seq, d, eps);
}

/* ---------------------------------------------------------------------------------------------
 * Fused Q/K/V weights
 */

typedef struct siglip_fused siglip_fused;

struct siglip_fused {
  float **buffers; /* F32 weights (fp32 precision) and biases, freed with the model */
  int n_buffers;
  siglip_matrix **packed; /* fused matrices whose bf16 panels we own */
  int n_packed;
};

/* A tower's layer tensor by its HF name (model.c's TN_LAYER) as F32: the mapping itself for an
 * F32 file, else a converted copy in *owned. Read from the file rather than through the
 * siglip_matrix because a loader that packs at bind time keeps no F32 view (.w == NULL). */
static const float *
layer_tensor (const siglip_model *m, const char *tower, int i, const char *what, float **owned,
              siglip_error **error)
{
  char name[128];
  snprintf (name, sizeof name, "%s.encoder.layers.%d.%s", tower, i, what);
  *owned = NULL;
  const siglip_tensor *t = siglip_weights_find (m->weights, name);
  if (!t)
    {
      siglip_set_error (error, SIGLIP_ERR_FORMAT, "fusing q/k/v: tensor %s is missing", name);
      return NULL;
    }
  return siglip_tensor_as_f32 (m->weights, t, owned, error);
}

/* Lets the kernel drop the mapped pages of a weight we no longer read: they are clean file
 * pages of a read-only private mapping, so a later read would only fault them back in. Only the
 * pages entirely inside [p, p + bytes) are dropped; partial ones may hold other tensors. */
static void
drop_pages (const void *p, size_t bytes)
{
  const uintptr_t page = (uintptr_t) sysconf (_SC_PAGESIZE);
  const uintptr_t begin = ((uintptr_t) p + page - 1) & ~(page - 1);
  const uintptr_t end = ((uintptr_t) p + bytes) & ~(page - 1);
  if (end > begin)
    madvise ((void *) begin, end - begin, MADV_DONTNEED);
}

static bool
fused_keep (siglip_fused *f, float *buffer)
{
  float **grown = realloc (f->buffers, ((size_t) f->n_buffers + 1) * sizeof *grown);
  if (!grown)
    return false;
  f->buffers = grown;
  f->buffers[f->n_buffers++] = buffer;
  return true;
}

/* w (3D, D) = [q; k; v] of layer i, from the file; the F32 source pages are dropped after the
 * copy (the separate matrices are no longer read: siglip_encoder_layer uses qkv). */
static bool
concat_qkv (const siglip_model *m, const char *tower, int i, float *w, size_t block,
            siglip_error **error)
{
  static const char *const names[3] = { "self_attn.q_proj.weight", "self_attn.k_proj.weight",
                                        "self_attn.v_proj.weight" };
  for (int p = 0; p < 3; p++)
    {
      float *owned = NULL;
      const float *src = layer_tensor (m, tower, i, names[p], &owned, error);
      if (!src)
        return false;
      memcpy (w + p * block, src, block * sizeof (float));
      if (owned)
        free (owned);
      else
        drop_pages (src, block * sizeof (float));
    }
  return true;
}

static bool
fuse_layer (siglip_model *m, siglip_fused *f, const char *tower, int i, siglip_layer_weights *l,
            siglip_error **error)
{
  const int d = l->q.cols;
  const size_t block = (size_t) d * d;
  siglip_matrix *parts[3] = { &l->q, &l->k, &l->v };
  const float *biases[3] = { l->q_b, l->k_b, l->v_b };

  float *w = malloc (3 * block * sizeof (float));
  float *b = malloc (3 * (size_t) d * sizeof (float));
  siglip_matrix **grown = realloc (f->packed, ((size_t) f->n_packed + 1) * sizeof *grown);
  if (grown)
    f->packed = grown;
  if (!w || !b || !grown || !fused_keep (f, b))
    {
      free (w);
      free (b);
      return siglip_set_error (error, SIGLIP_ERR_NO_MEMORY,
                               "%s layer %d: out of memory fusing q/k/v into [%d, %d]", tower, i,
                               3 * d, d);
    }
  for (int p = 0; p < 3; p++)
    memcpy (b + (size_t) p * d, biases[p], (size_t) d * sizeof (float));
  if (!concat_qkv (m, tower, i, w, block, error))
    {
      free (w);
      return false;
    }
  l->qkv = (siglip_matrix) { .w = w, .rows = 3 * d, .cols = d };
  l->qkv_b = b;

  /* When the loader packed q/k/v (bf16, or fp32 panels for our AVX-512 kernel), the fused
   * matrix gets the same layout and the separate panels go: they are never read again. */
  if (l->q.packed)
    {
      const bool ok = siglip_gemm_pack (&l->qkv, m->precision, w, SIGLIP_DTYPE_F32, error);
      free (w);
      l->qkv.w = NULL;
      if (!ok)
        {
          siglip_prefix_error (error, "%s layer %d: fused q/k/v", tower, i);
          return false;
        }
      f->packed[f->n_packed++] = &l->qkv;
      for (int p = 0; p < 3; p++)
        siglip_gemm_packed_free (parts[p]);
      return true;
    }
  if (!fused_keep (f, w))
    {
      free (w);
      l->qkv.w = NULL;
      return siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "%s layer %d: out of memory", tower,
                               i);
    }
  return true;
}

bool
siglip_fuse_qkv (siglip_model *m, siglip_error **error)
{
  if (m->fused)
    return true;
  siglip_fused *f = calloc (1, sizeof *f);
  if (!f)
    return siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "fusing q/k/v: out of memory");
  m->fused = f;
  for (int t = 0; t < 2; t++)
    {
      siglip_layer_weights *layers = t == 0 ? m->text.layers : m->vision.layers;
      const int n = t == 0 ? m->config.text.num_layers : m->config.vision.num_layers;
      const char *tower = t == 0 ? "text_model" : "vision_model";
      for (int i = 0; layers && i < n; i++)
        if (!fuse_layer (m, f, tower, i, &layers[i], error))
          return false;
    }
  return true;
}

void
siglip_fused_free (siglip_model *m)
{
  siglip_fused *f = m->fused;
  if (!f)
    return;
  for (int i = 0; i < f->n_packed; i++)
    siglip_gemm_packed_free (f->packed[i]);
  for (int i = 0; i < f->n_buffers; i++)
    free (f->buffers[i]);
  free (f->packed);
  free (f->buffers);
  free (f);
  m->fused = NULL;
}
