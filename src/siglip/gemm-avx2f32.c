/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * gemm-avx2f32.c — the fp32 GEMM kernel for CPUs with AVX2 and FMA but no AVX-512 (Intel's
 * client CPUs, Zen 1-3), on the same packed panels as gemm-avx512f32.c.
 *
 * Why our own: OpenBLAS's Haswell sgemm reached 0.71 of the AVX2 FMA peak on the towers'
 * shapes, and it packs the weight matrix again on every call (a third of the work for one
 * label, M = 64). Here the weights are packed once at load.
 *
 * Micro-kernel: 6 x 16 — a half panel (16 of its 32 columns, one 64-byte cache line per k) times
 * 6 rows of x, in 12 ymm accumulators. Per k: 2 loads of the weights, 6 broadcasts of x[row][k]
 * straight from the row-major activations (6 sequential streams), 12 FMAs; with the 2 weight
 * registers and the broadcast that is 15 of the 16 ymm registers, and 12 independent chains
 * cover the FMA latency (4-5 cycles) on two FMA pipes. A full panel (32 columns) would need 4
 * weight registers and leave room for only 2 rows — twice the broadcasts per FMA.
 * Short strips (the last rows of M, the 1-row pooling probe) run a kernel compiled for 1, 2 or 4
 * rows instead of multiplying rows that are thrown away.
 *
 * Blocking (as gemm-avx512f32.c): a worker owns a contiguous run of panels, walked in groups of
 * GROUP panels whose column of C stays in L2 over the K blocks; K in blocks of KC so that a half
 * panel's slice (KC x 64 bytes = 16 KiB) stays in L1 while the strips of a block of MC rows of x
 * (MC x KC x 4 = 240 KiB) stream past it from L2.
 *
 * siglip_gemm_avx2_half_block is what gemm-avx2bf16.c runs on the half slices it widens from
 * bf16 panels, and siglip_avx2_sgemm_nn, the same kernel on any row-major B, is
 * what attention's two products run on AVX2 CPUs (ops.c).
 *
 * Compiled with function target attributes, as the AVX-512 kernels, so libsiglip still runs on
 * any x86-64: gemm.c calls in here only after siglip_isa_get said AVX2.
 */
#include "gemm-private.h"

#ifdef SIGLIP_GEMM_HAVE_AVX2_KERNELS

#include <immintrin.h>
#include <string.h>

#define NR SIGLIP_GEMM_NR
#define MR 6
#define HALF 16
#ifndef KC
#define KC SIGLIP_GEMM_AVX2_KC
#endif
#ifndef MC
#define MC 240         /* 40 strips of 6 rows */
#endif
#ifndef GROUP
#define GROUP SIGLIP_GEMM_AVX2_GROUP
#endif

#define TARGET __attribute__ ((target ("avx2,fma")))
#define INLINE static inline __attribute__ ((always_inline))

/* The 8 x 8 block r[0 .. 8) transposed in place: r[p][q] becomes r[q][p]. */
TARGET INLINE void
transpose8 (__m256 r[8])
{
  const __m256 t0 = _mm256_unpacklo_ps (r[0], r[1]), t1 = _mm256_unpackhi_ps (r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps (r[2], r[3]), t3 = _mm256_unpackhi_ps (r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps (r[4], r[5]), t5 = _mm256_unpackhi_ps (r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps (r[6], r[7]), t7 = _mm256_unpackhi_ps (r[6], r[7]);
  /* s0: columns 0 and 4 of rows 0-3, s1: 1 and 5, s2: 2 and 6, s3: 3 and 7; s4-s7 rows 4-7 */
  const __m256 s0 = _mm256_shuffle_ps (t0, t2, 0x44), s1 = _mm256_shuffle_ps (t0, t2, 0xee);
  const __m256 s2 = _mm256_shuffle_ps (t1, t3, 0x44), s3 = _mm256_shuffle_ps (t1, t3, 0xee);
  const __m256 s4 = _mm256_shuffle_ps (t4, t6, 0x44), s5 = _mm256_shuffle_ps (t4, t6, 0xee);
  const __m256 s6 = _mm256_shuffle_ps (t5, t7, 0x44), s7 = _mm256_shuffle_ps (t5, t7, 0xee);
  r[0] = _mm256_permute2f128_ps (s0, s4, 0x20);
  r[1] = _mm256_permute2f128_ps (s1, s5, 0x20);
  r[2] = _mm256_permute2f128_ps (s2, s6, 0x20);
  r[3] = _mm256_permute2f128_ps (s3, s7, 0x20);
  r[4] = _mm256_permute2f128_ps (s0, s4, 0x31);
  r[5] = _mm256_permute2f128_ps (s1, s5, 0x31);
  r[6] = _mm256_permute2f128_ps (s2, s6, 0x31);
  r[7] = _mm256_permute2f128_ps (s3, s7, 0x31);
}

/* The tile's transpose, for the row-major product: c[i][r] (row stride ldc) = the sums of
 * row r of x and column i of b, plus bias[r], for r < R and i < cols. Two 8 x 8 transposes in
 * registers (the rows past R as zeros) and a masked store of R floats per row of c. */
TARGET INLINE void
store_transposed (const int R, const __m256 c0[MR], const __m256 c1[MR], float *c, size_t ldc,
                  int cols, const float *bias)
{
  const __m256i mask = _mm256_cmpgt_epi32 (_mm256_set1_epi32 (R),
                                           _mm256_setr_epi32 (0, 1, 2, 3, 4, 5, 6, 7));
  const __m256 b = bias ? _mm256_maskload_ps (bias, mask) : _mm256_setzero_ps ();
#pragma GCC unroll 2
  for (int h = 0; h < 2; h++) {
    __m256 t[8];
#pragma GCC unroll 8
    for (int q = 0; q < 8; q++)
      t[q] = q < R ? (h ? c1[q] : c0[q]) : _mm256_setzero_ps ();
    transpose8 (t);
#pragma GCC unroll 8
    for (int p = 0; p < 8; p++)
      if (h * 8 + p < cols)
        _mm256_maskstore_ps (c + (size_t) (h * 8 + p) * ldc, mask, _mm256_add_ps (t[p], b));
  }
}

/* C[R, 16] (ldc) = (first ? bias or 0 : C) + x[R][0 .. kb) . b[0 .. kb)[16] (b's row stride
 * ldb). Only the first `cols` columns are stored, but 16 are read from each row of b.
 * Transposed: C[16, R] = that product's transpose + bias[R] (first, one block of all K). */
TARGET INLINE void
kernel (const int R, int kb, const float *restrict x, size_t ldx, const float *restrict b,
        size_t ldb, float *restrict c, size_t ldc, int cols, bool first, const float *bias,
        bool transposed)
{
  __m256 c0[MR], c1[MR];
#pragma GCC unroll 6
  for (int r = 0; r < R; r++) {
    c0[r] = _mm256_setzero_ps ();
    c1[r] = _mm256_setzero_ps ();
  }

#pragma GCC unroll 2
  for (int k = 0; k < kb; k++) {
    const __m256 b0 = _mm256_loadu_ps (b + (size_t) k * ldb);
    const __m256 b1 = _mm256_loadu_ps (b + (size_t) k * ldb + 8);
#pragma GCC unroll 6
    for (int r = 0; r < R; r++) {
      const __m256 a = _mm256_broadcast_ss (x + (size_t) r * ldx + k);
      c0[r] = _mm256_fmadd_ps (a, b0, c0[r]);
      c1[r] = _mm256_fmadd_ps (a, b1, c1[r]);
    }
  }

  if (transposed) {
    store_transposed (R, c0, c1, c, ldc, cols, bias);
    return;
  }
  if (cols == HALF) {
    __m256 base0 = _mm256_setzero_ps (), base1 = _mm256_setzero_ps ();
    if (first && bias) {
      base0 = _mm256_loadu_ps (bias);
      base1 = _mm256_loadu_ps (bias + 8);
    }
#pragma GCC unroll 6
    for (int r = 0; r < R; r++) {
      float *cr = c + (size_t) r * ldc;
      if (!first) {
        base0 = _mm256_loadu_ps (cr);
        base1 = _mm256_loadu_ps (cr + 8);
      }
      _mm256_storeu_ps (cr, _mm256_add_ps (base0, c0[r]));
      _mm256_storeu_ps (cr + 8, _mm256_add_ps (base1, c1[r]));
    }
    return;
  }
  /* the last panel of a matrix whose rows are not a multiple of 32: through a tile (unrolled,
   * like every loop over the accumulators, so that they stay in registers) */
#pragma GCC unroll 6
  for (int r = 0; r < R; r++) {
    float tile[HALF];
    _mm256_storeu_ps (tile, c0[r]);
    _mm256_storeu_ps (tile + 8, c1[r]);
    float *cr = c + (size_t) r * ldc;
    for (int i = 0; i < cols; i++)
      cr[i] = tile[i] + (first ? (bias ? bias[i] : 0.0f) : cr[i]);
  }
}

/* y[0 .. rows)[0 .. cols <= 16) = (first ? bias or 0 : y) + x . b, in strips of 6 rows;
 * transposed, y[0 .. cols)[0 .. rows) and the bias per row of x (see kernel) */
TARGET static void
strips (float *y, size_t ldy, const float *x, size_t ldx, int rows, const float *b, size_t ldb,
        int kb, int cols, bool first, const float *bias, bool transposed)
{
  /* a strip's results start at its first row of y, or (transposed) at its first column */
  const size_t y_step = transposed ? 1 : ldy;
#define STRIP(R, r)                                                                             \
  kernel (R, kb, x + (size_t) (r) * ldx, ldx, b, ldb, y + (size_t) (r) * y_step, ldy, cols, first, \
          transposed && bias ? bias + (r) : bias, transposed)
  int r0 = 0;
  for (; r0 + MR <= rows; r0 += MR)
    STRIP (MR, r0);
  switch (rows - r0) {
  case 0: break;
  case 1: STRIP (1, r0); break;
  case 2: STRIP (2, r0); break;
  case 3: STRIP (2, r0); STRIP (1, r0 + 2); break;
  case 4: STRIP (4, r0); break;
  default: STRIP (4, r0); STRIP (1, r0 + 4); break;
  }
#undef STRIP
}

TARGET void
siglip_gemm_avx2_panel_block (float *y, size_t ldy, const float *x, size_t ldx, int rows,
                              const float *slice, int kb, int cols, bool first, const float *bias)
{
  for (int h = 0; h < NR / HALF && h * HALF < cols; h++)
    strips (y + h * HALF, ldy, x, ldx, rows, slice + h * HALF, NR, kb,
            cols - h * HALF < HALF ? cols - h * HALF : HALF, first, bias ? bias + h * HALF : NULL,
            false);
}

TARGET void
siglip_gemm_avx2_half_block (float *y, size_t ldy, const float *x, size_t ldx, int rows,
                             const float *slice, int kb, int cols, bool first, const float *bias)
{
  strips (y, ldy, x, ldx, rows, slice, HALF, kb, cols, first, bias, false);
}

TARGET void
siglip_avx2_sgemm_nn (float *c, size_t ldc, const float *a, size_t lda, const float *b,
                      size_t ldb, int m, int n, int k)
{
  for (int j0 = 0; j0 < n; j0 += HALF)
    strips (c + j0, ldc, a, lda, m, b + j0, ldb, k, n - j0 < HALF ? n - j0 : HALF, true, NULL,
            false);
}

/* The row-major product (gemm.c's linear_rowmajor), written straight into y: each 6 x 16 tile
 * is stored transposed with its bias, so there is no y^T and no transpose pass after it (that
 * pass cost 3-4% of siglip_linear on the towers' shapes).
 *
 * One block of all K: a strip of 6 weight rows runs over its whole input row at once and its
 * tile is stored once instead of reloaded for every block. The half panel's slice (72 KiB at
 * K = 1152) is then read from L2 rather than L1, and that costs less than the reloads: in one
 * process, 31-41 interleaved runs of each on the towers' shapes (48 weight rows a task,
 * streamed from memory, each run against the peak sampled around it), 1152 against 256 gave
 * medians 0.81 against 0.78 (image, N x K = 4304 x 1152), 0.76 against 0.75 (labels), 0.76
 * against 0.73 and 0.80 against 0.78 (1152 x 4304). On the MLP's second product (K = 4304), 41
 * interleaved pairs of siglip_linear calls, one block of 4352 took 0.972-0.985 the time of
 * blocks of 1152 at M = 64, 256 and 512, and 0.975-0.988 that of blocks of 2176. */
TARGET void
siglip_gemm_avx2f32_rowmajor (float *y, size_t ldy, const float *w, int rows, const float *halves,
                              int k, int n, const float *bias)
{
  for (int h = 0; h * HALF < n; h++)
    strips (y + (size_t) h * HALF * ldy, ldy, w, (size_t) k, rows, halves + (size_t) h * k * HALF,
            HALF, k, n - h * HALF < HALF ? n - h * HALF : HALF, true, bias, true);
}

TARGET void
siglip_avx2_round_bf16 (float *out, const float *w, size_t n)
{
  const __m256i half = _mm256_set1_epi32 (0x7fff), one = _mm256_set1_epi32 (1);
  const __m256i high = _mm256_set1_epi32 ((int) 0xffff0000u);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i u = _mm256_castps_si256 (_mm256_loadu_ps (w + i));
    const __m256i odd = _mm256_and_si256 (_mm256_srli_epi32 (u, 16), one);
    const __m256i r = _mm256_add_epi32 (u, _mm256_add_epi32 (half, odd));
    _mm256_storeu_ps (out + i, _mm256_castsi256_ps (_mm256_and_si256 (r, high)));
  }
  for (; i < n; i++)
    out[i] = siglip_bf16_to_f32 (siglip_f32_to_bf16_rne (w[i]));
}

TARGET void
siglip_avx2_pack_columns (float *panel, int w, const float *x, size_t ldx, int rows, int k,
                          float scale)
{
  const __m256 s = _mm256_set1_ps (scale);
  for (int c0 = 0; c0 < w; c0 += 8) {
    int k0 = 0;
    for (; k0 + 8 <= k; k0 += 8) {
      __m256 r[8];
#pragma GCC unroll 8
      for (int q = 0; q < 8; q++)
        r[q] = c0 + q < rows ? _mm256_loadu_ps (x + (size_t) (c0 + q) * ldx + k0)
                             : _mm256_setzero_ps ();
      transpose8 (r);
#pragma GCC unroll 8
      for (int p = 0; p < 8; p++)
        _mm256_store_ps (panel + (size_t) (k0 + p) * w + c0, _mm256_mul_ps (r[p], s));
    }
    for (int kk = k0; kk < k; kk++)
      for (int c = c0; c < c0 + 8; c++)
        panel[(size_t) kk * w + c] = c < rows ? scale * x[(size_t) c * ldx + kk] : 0.0f;
  }
}

TARGET void
siglip_gemm_avx2f32_compute (float *y, const float *x, const siglip_f32_panels *w,
                             const float *bias, int n, int j_begin, int j_end)
{
  const int k = w->cols, ncols = w->rows;

  for (int jg = j_begin; jg < j_end; jg += GROUP) {
    const int jg_end = j_end - jg < GROUP ? j_end : jg + GROUP;
    for (int k0 = 0; k0 < k; k0 += KC) {
      const int kb = k - k0 < KC ? k - k0 : KC;
      for (int m0 = 0; m0 < n; m0 += MC) {
        const int rows = n - m0 < MC ? n - m0 : MC;
        for (int j = jg; j < jg_end; j++) {
          const int cols = ncols - j * NR < NR ? ncols - j * NR : NR;
          siglip_gemm_avx2_panel_block (y + (size_t) m0 * ncols + (size_t) j * NR, (size_t) ncols,
                                        x + (size_t) m0 * k + k0, (size_t) k, rows,
                                        w->data + ((size_t) j * k + k0) * NR, kb, cols, k0 == 0,
                                        bias ? bias + (size_t) j * NR : NULL);
        }
      }
    }
  }
}

#endif /* SIGLIP_GEMM_HAVE_AVX2_KERNELS */
