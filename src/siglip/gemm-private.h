/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * gemm-private.h — what gemm.c shares with its kernels (gemm-*.c): the panel layouts.
 *
 * A packed weight W [N = rows, K = cols] is cut into panels of NR = 32 output columns. Panel j
 * holds, for each pair of inputs p = 0 .. ceil(K/2)-1 and each of its 32 columns c, the two bf16
 * values W[32j + c][2p] and W[32j + c][2p + 1] side by side in one 32-bit word — exactly the
 * operand `vdpbf16ps` multiplies pairwise and sums into an fp32 lane. Columns past N and the
 * odd K's missing partner are zero, so kernels never branch on edges inside the K loop.
 *
 *   data[(j * k_pairs + p) * 64 + 2 * c + h] = bf16 (W[32j + c][2p + h])
 *
 * The slice of a panel for a block of pairs [p0, p1) is contiguous, which is what cache blocking
 * over K needs.
 */
#ifndef SIGLIP_GEMM_PRIVATE_H
#define SIGLIP_GEMM_PRIVATE_H

#include <stdint.h>

#include "bf16.h"
#include "internal.h"
#include "lanes.h"

#define SIGLIP_GEMM_NR 32
#define SIGLIP_GEMM_PANELS_MAGIC 0x50464231u /* "1BFP" */
#define SIGLIP_GEMM_F32_PANELS_MAGIC 0x50463233u /* "32FP" */

typedef struct {
  uint32_t magic;
  int rows, cols;     /* N, K of the original matrix */
  int k_pairs;        /* ceil (K / 2) */
  int n_panels;       /* ceil (N / NR) */
  size_t bytes;
  uint16_t *data;     /* 64-byte aligned, n_panels * k_pairs * NR * 2 values */
  bool borrowed;      /* data is someone else's (a weight cache's mapping): not freed with it */
} siglip_bf16_panels;

/* fp32 panels: the same 32-column panels, one fp32 per (k, column), k not paired:
 *
 *   data[(j * K + k) * 32 + c] = W[32j + c][k]
 *
 * Columns past N are zero. A panel's slice for a block of K is contiguous. */
typedef struct {
  uint32_t magic;     /* first, as in siglip_bf16_panels: siglip_linear tells them apart by it */
  int rows, cols;     /* N, K */
  int n_panels;       /* ceil (N / NR) */
  size_t bytes;
  float *data;        /* 64-byte aligned, n_panels * K * NR values */
  bool borrowed;      /* as in siglip_bf16_panels */
} siglip_f32_panels;

#if defined(__x86_64__) || defined(__i386__)
#define SIGLIP_GEMM_HAVE_AVX512BF16_KERNEL 1

/* gemm-avx512bf16.c. Activations are converted to bf16 pairs, rows kept in order:
 * ap[row * k_pairs + p] = bf16 pair (x[row][2p], x[row][2p + 1]), the odd K's partner zero. */
#ifndef SIGLIP_GEMM_AVX512_MR
#define SIGLIP_GEMM_AVX512_MR 8
#endif
size_t siglip_gemm_avx512bf16_a_words (int n, int k);
/* Converts rows [r_begin, r_end) of x (n, k). */
void siglip_gemm_avx512bf16_pack_a (uint32_t *ap, const float *x, int n, int k,
                                    int r_begin, int r_end);
/* y[:, 32 * j_begin .. 32 * j_end) = x @ W^T + b for panels [j_begin, j_end). */
void siglip_gemm_avx512bf16_compute (float *y, const uint32_t *ap, const siglip_bf16_panels *w,
                                     const float *b, int n, int j_begin, int j_end);

/* As siglip_gemm_avx512bf16_compute, for panels [j_begin, j_end) of a [ncols, k] matrix held
 * one after the other from `panels` (panel j_begin first), with the same numbers. */
void siglip_gemm_avx512bf16_compute_group (float *y, const uint32_t *ap, const uint16_t *panels,
                                           int k, int ncols, const float *b, int n, int j_begin,
                                           int j_end);
/* One panel (64-byte aligned, ceil (k / 2) * 64 values) of the 32 F32 rows of k values given
 * (any 4-byte alignment; NULL for rows past the matrix), exactly as the packing of gemm.c lays
 * out and rounds a finite matrix. */
void siglip_gemm_avx512bf16_pack_panel (uint16_t *panel, const float *const rows[SIGLIP_GEMM_NR],
                                        int k);

/* gemm-avx512f32.c: y[:, 32 * j_begin .. 32 * j_end) = x (n, K, row-major) @ W^T + b for
 * panels [j_begin, j_end). */
#define SIGLIP_GEMM_HAVE_AVX512F32_KERNEL 1
/* inputs per K block of the AVX-512 fp32 kernel, on the row-major weights and on widened bf16
 * panels alike (gemm-avx512bf16wide.c says why they must agree) */
#define SIGLIP_GEMM_AVX512_KC 256
#ifndef SIGLIP_GEMM_F32_MR
#define SIGLIP_GEMM_F32_MR 12
#endif
void siglip_gemm_avx512f32_compute (float *y, const float *x, const siglip_f32_panels *w,
                                    const float *b, int n, int j_begin, int j_end);

/* y[i][r] (row stride ldy) = w[r] . x[i] + (b ? b[r] : 0) for r < rows, i < xp->rows: the
 * row-major weights w (rows, K) against x packed as panels of 32 of its rows (gemm.c's
 * linear_rowmajor). */
void siglip_gemm_avx512f32_rowmajor (float *y, size_t ldy, const float *w, int rows,
                                     const siglip_f32_panels *xp, const float *b);
/* One panel's block, as siglip_gemm_avx2_panel_block below without a bias (y starts from 0
 * when first), with the AVX-512 kernel: slice as one K block of a fp32 panel (row stride 32
 * floats, 64-byte aligned). */
void siglip_gemm_avx512_panel_block (float *y, size_t ldy, const float *x, size_t ldx, int rows,
                                     const float *slice, int kb, int cols, bool first);

/* gemm-avx512bf16wide.c: as siglip_gemm_avx512bf16_compute with fp32 activations, each block
 * of the bf16 panels widened into `scratch` (siglip_gemm_avx512wide_scratch_floats () floats,
 * 64-byte aligned, the caller's per worker) for the AVX-512 fp32 kernel. */
size_t siglip_gemm_avx512wide_scratch_floats (void);
void siglip_gemm_avx512wide_compute (float *y, const float *x, const siglip_bf16_panels *w,
                                     const float *b, int n, int j_begin, int j_end,
                                     float *scratch);

/* gemm-avx2f32.c and gemm-avx2bf16.c: AVX2 + FMA, for CPUs without AVX-512 */
#define SIGLIP_GEMM_HAVE_AVX2_KERNELS 1
#define SIGLIP_GEMM_AVX2_KC 256     /* inputs per K block of the fp32 panel kernel */
#define SIGLIP_GEMM_AVX2_GROUP 4    /* panels per group */
/* y[:, 32 * j_begin .. 32 * j_end) = x (n, K, row-major) @ W^T + b for panels [j_begin, j_end) */
void siglip_gemm_avx2f32_compute (float *y, const float *x, const siglip_f32_panels *w,
                                  const float *b, int n, int j_begin, int j_end);
/* One panel's block: y[r][0 .. cols) (row stride ldy) = (first ? b or 0 : y) +
 * x[r][0 .. kb) (row stride ldx) . slice[0 .. kb)[32] for r < rows; slice as one K block of a
 * fp32 panel (row stride 32 floats, 32-byte aligned). */
void siglip_gemm_avx2_panel_block (float *y, size_t ldy, const float *x, size_t ldx, int rows,
                                   const float *slice, int kb, int cols, bool first,
                                   const float *b);
/* The same on a 16-column slice (row stride 16 floats, 32-byte aligned): one 64-byte line per k,
 * so a slice of KC inputs fills 16 KiB of L1 evenly. A panel's half read in place (128 bytes
 * apart) falls in only half of L1's sets and fills them, and the rows of x evict it. */
void siglip_gemm_avx2_half_block (float *y, size_t ldy, const float *x, size_t ldx, int rows,
                                  const float *slice, int kb, int cols, bool first,
                                  const float *b);
/* y[i][r] (row stride ldy) = w[r] . x[i] + (b ? b[r] : 0) for r < rows, i < n: row-major
 * weights w (rows, K) against x packed as half panels of 16 of its rows,
 * halves[(h * K + k) * 16 + c] = x[16h + c][k], rows past n zero (gemm.c's linear_rowmajor). */
void siglip_gemm_avx2f32_rowmajor (float *y, size_t ldy, const float *w, int rows,
                                   const float *halves, int k, int n, const float *b);
/* c (m, n; row stride ldc) = a (m, k; lda) b (k, n; ldb), all row-major fp32; each row of b
 * is read in whole blocks of 16 columns, so it must be padded to a multiple of 16 when n is
 * not (attention's Kt and Vp are). */
void siglip_avx2_sgemm_nn (float *c, size_t ldc, const float *a, size_t lda, const float *b,
                           size_t ldb, int m, int n, int k);
/* out[i] = w[i] rounded to bf16 (nearest even, as siglip_f32_to_bf16_rne; the weights are
 * finite) and widened back, for i < n; w at any 4-byte alignment. Rows standing for bf16
 * (internal.h's bf16_rows) on their way into the row-major product. */
void siglip_avx2_round_bf16 (float *out, const float *w, size_t n);
/* panel[k * w + c] = scale * x[c][k] (row stride ldx) for c < rows, 0 for rows <= c < w (w a
 * multiple of 8, panel 32-byte aligned), k < K: rows of x as one panel of w columns (x's panels
 * for the row-major product with scale 1, exactly; attention's keys with the score scale). */
void siglip_avx2_pack_columns (float *panel, int w, const float *x, size_t ldx, int rows, int k,
                               float scale);
/* As siglip_gemm_avx2f32_compute on bf16 panels, widening each block into `scratch`
 * (siglip_gemm_avx2bf16_scratch_floats () floats, 32-byte aligned, the caller's per worker). */
size_t siglip_gemm_avx2bf16_scratch_floats (void);
void siglip_gemm_avx2bf16_compute (float *y, const float *x, const siglip_bf16_panels *w,
                                   const float *b, int n, int j_begin, int j_end, float *scratch);
#endif

#endif /* SIGLIP_GEMM_PRIVATE_H */
