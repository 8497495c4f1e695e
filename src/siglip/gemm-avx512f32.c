/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * gemm-avx512f32.c — the fp32 GEMM kernel for CPUs with AVX-512F (Zen 4/5, Skylake-X and later).
 *
 * Why our own: OpenBLAS picks its kernels by OPENBLAS_CORETYPE, and with the Haswell kernels
 * (forced in some environments, the default of some distribution builds) sgemm tops out at
 * ~245 GFLOP/s on 2 Zen 5 cores against a 548 GFLOP/s AVX-512 FMA peak. It also packs the
 * weight matrix again on every call, which for one label (M = 64) is a third of the work.
 * Here the weights are packed ONCE at load into the panels of gemm-private.h, and the kernel is
 * chosen at run time (target attributes, so libsiglip still runs on any x86-64).
 *
 * Micro-kernel: MR x 32 tile of C in 2 * MR zmm accumulators. Per k it loads two zmm of the
 * weight panel (32 output columns) and broadcasts x[row][k] of each of the MR rows straight
 * from the activations (row-major, no packing: MR sequential streams the prefetchers follow;
 * rows past M in the last strip alias the last real row and are never stored). Per k:
 * 2 loads + MR broadcast-FMAs pairs, 2*MR FMAs; both of Zen 5's 512-bit FMA pipes stay busy and
 * there are MR * 2 >= 16 chains to hide the 4-cycle FMA latency.
 *
 * Blocking (Goto's loops in our orientation): a worker owns a contiguous run of panels; those
 * are walked in groups of GROUP panels (the group's column of C, M x 128 floats, stays in L2
 * across the K blocks); K in blocks of KC so a panel slice (KC x 128 bytes = 32 KiB) stays in
 * L1 while all strips of a block of MC rows of x (MC x KC x 4 = 256 KiB, L2) stream past it.
 *
 * Measured with siglens-bench --gemm (Zen 5, 2 threads, release, medians, box shared with
 * other builds so the FMA peak of the same run read 409 instead of 548): 0.83-0.90 of that peak
 * on M = 256/512/1024 x (N, K) in {1152, 3456, 4304}, where OpenBLAS with the Haswell kernels
 * reached 0.44-0.47.
 * MR = 12 rows (24 accumulators, 12 broadcasts and 2 loads per 24 FMAs), not 8: on an Intel
 * Xeon with AVX-512 and AMX (2 vCPUs, 2026-12-02) the tile alone, one thread in L1, reached
 * 0.87-0.90 of the FMA loop against 0.83-0.86 for 8 rows, and siglip_linear on the towers'
 * shapes (2 threads, the weights row-major as the loader binds them) 0.67-0.71 against
 * 0.64-0.70 over 8 alternated processes per shape; on Zen 5 the two were within noise.
 * Measured and not kept (2 threads, shared box, interleaved runs, means over the 12 shapes of
 * siglens-bench --gemm within the +-5% noise of each other): tiles of 14 rows, KC = 192,
 * GROUP = 2 and 8, MC = 128 and 512, K and M cut into equal blocks, software prefetch of the
 * next panel slice, panels handed out first come first served (slower), and splitting M
 * instead of N between the workers. Two single-threaded processes side by side reached
 * 0.89-0.93 of the one-thread peak each, the in-process 2-thread GEMM 0.84-0.90 of the
 * 2-thread peak: what is left is the shared box, not the kernel's inner loop.
 */
#include "gemm-private.h"

#ifdef SIGLIP_GEMM_HAVE_AVX512F32_KERNEL

#include <immintrin.h>

#define MR SIGLIP_GEMM_F32_MR
#define NR SIGLIP_GEMM_NR
#define KC SIGLIP_GEMM_AVX512_KC
#ifndef MC
#define MC 240
#endif
#ifndef GROUP
#define GROUP 4
#endif

#define TARGET __attribute__ ((target ("avx512f")))

/* GCC 12's shuffle intrinsics start from _mm512_undefined_ps (a self-initialised variable),
 * which -Wmaybe-uninitialized reports once they are inlined here */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

/* r[0 .. 16) transposed in place, r[p] lane q becoming r[q] lane p: pairs of rows
 * interleaved, then quadruples, then the 128-bit lanes of four rows at a time. */
TARGET static inline void
transpose16 (__m512 r[16])
{
  __m512 t[16];
#pragma GCC unroll 8
  for (int i = 0; i < 8; i++) {
    t[2 * i] = _mm512_unpacklo_ps (r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps (r[2 * i], r[2 * i + 1]);
  }
  /* r[4i + j], in its 128-bit lane L: rows 4i .. 4i + 3 of column 4L + j */
#pragma GCC unroll 4
  for (int i = 0; i < 4; i++) {
    r[4 * i] = _mm512_shuffle_ps (t[4 * i], t[4 * i + 2], 0x44);
    r[4 * i + 1] = _mm512_shuffle_ps (t[4 * i], t[4 * i + 2], 0xee);
    r[4 * i + 2] = _mm512_shuffle_ps (t[4 * i + 1], t[4 * i + 3], 0x44);
    r[4 * i + 3] = _mm512_shuffle_ps (t[4 * i + 1], t[4 * i + 3], 0xee);
  }
  /* column 4L + j: lane L of r[j], r[4 + j], r[8 + j], r[12 + j] */
#pragma GCC unroll 4
  for (int j = 0; j < 4; j++) {
    const __m512 u0 = _mm512_shuffle_f32x4 (r[j], r[4 + j], 0x88);
    const __m512 u1 = _mm512_shuffle_f32x4 (r[j], r[4 + j], 0xdd);
    const __m512 u2 = _mm512_shuffle_f32x4 (r[8 + j], r[12 + j], 0x88);
    const __m512 u3 = _mm512_shuffle_f32x4 (r[8 + j], r[12 + j], 0xdd);
    t[j] = _mm512_shuffle_f32x4 (u0, u2, 0x88);
    t[4 + j] = _mm512_shuffle_f32x4 (u1, u3, 0x88);
    t[8 + j] = _mm512_shuffle_f32x4 (u0, u2, 0xdd);
    t[12 + j] = _mm512_shuffle_f32x4 (u1, u3, 0xdd);
  }
#pragma GCC unroll 16
  for (int i = 0; i < 16; i++)
    r[i] = t[i];
}

/* The tile's transpose, for the row-major product: c[i][r] (row stride ldc) = the sums of row
 * r of x and column i of the panel, plus bias[r], for r < rows and i < cols. */
TARGET static inline void
store_transposed (const __m512 c0[MR], const __m512 c1[MR], int rows, float *c, size_t ldc,
                  int cols, const float *bias)
{
  const __mmask16 m = siglip_lanes16 (rows);
  const __m512 b = bias ? _mm512_maskz_loadu_ps (m, bias) : _mm512_setzero_ps ();
#pragma GCC unroll 2
  for (int h = 0; h < 2; h++) {
    __m512 t[16];
#pragma GCC unroll 16
    for (int q = 0; q < 16; q++)
      t[q] = q < MR ? (h ? c1[q] : c0[q]) : _mm512_setzero_ps ();
    transpose16 (t);
#pragma GCC unroll 16
    for (int p = 0; p < 16; p++)
      if (h * 16 + p < cols)
        _mm512_mask_storeu_ps (c + (size_t) (h * 16 + p) * ldc, m, _mm512_add_ps (t[p], b));
  }
}

#pragma GCC diagnostic pop

/* C[rows, 32] (ldc) = (first ? bias or 0 : C) + sum over kb of x[rows][k] * panel[k][32] */
TARGET static inline void
kernel (int kb, const float *restrict x, size_t ldx, int rows, const float *restrict b,
        float *restrict c, size_t ldc, __mmask16 m0, __mmask16 m1, bool first,
        const float *bias)
{
  const float *xr[MR];
#pragma GCC unroll 16
  for (int r = 0; r < MR; r++)
    xr[r] = x + (size_t) (r < rows ? r : rows - 1) * ldx;

  __m512 c0[MR], c1[MR];
#pragma GCC unroll 16
  for (int r = 0; r < MR; r++) {
    c0[r] = _mm512_setzero_ps ();
    c1[r] = _mm512_setzero_ps ();
  }

#pragma GCC unroll 2
  for (int k = 0; k < kb; k++) {
    const __m512 b0 = _mm512_load_ps (b + (size_t) k * NR);
    const __m512 b1 = _mm512_load_ps (b + (size_t) k * NR + 16);
#pragma GCC unroll 16
    for (int r = 0; r < MR; r++) {
      const __m512 a = _mm512_set1_ps (xr[r][k]);
      c0[r] = _mm512_fmadd_ps (a, b0, c0[r]);
      c1[r] = _mm512_fmadd_ps (a, b1, c1[r]);
    }
  }

  __m512 base0 = _mm512_setzero_ps (), base1 = _mm512_setzero_ps ();
  if (first && bias) {
    base0 = _mm512_maskz_loadu_ps (m0, bias);
    base1 = _mm512_maskz_loadu_ps (m1, bias + 16);
  }
#pragma GCC unroll 16
  for (int r = 0; r < MR; r++) {
    if (r >= rows)
      break;
    float *cr = c + (size_t) r * ldc;
    if (!first) {
      base0 = _mm512_maskz_loadu_ps (m0, cr);
      base1 = _mm512_maskz_loadu_ps (m1, cr + 16);
    }
    _mm512_mask_storeu_ps (cr, m0, _mm512_add_ps (base0, c0[r]));
    _mm512_mask_storeu_ps (cr + 16, m1, _mm512_add_ps (base1, c1[r]));
  }
}

TARGET void
siglip_gemm_avx512f32_compute (float *y, const float *x, const siglip_f32_panels *w,
                               const float *bias, int n, int j_begin, int j_end)
{
  const int k = w->cols, ncols = w->rows;

  for (int jg = j_begin; jg < j_end; jg += GROUP) {
    const int jg_end = j_end - jg < GROUP ? j_end : jg + GROUP;
    for (int k0 = 0; k0 < k; k0 += KC) {
      const int kb = k - k0 < KC ? k - k0 : KC;
      const bool first = k0 == 0;
      for (int m0 = 0; m0 < n; m0 += MC) {
        const int m_end = n - m0 < MC ? n : m0 + MC;
        for (int j = jg; j < jg_end; j++) {
          const float *bp = w->data + ((size_t) j * k + k0) * NR;
          const int valid = ncols - j * NR < NR ? ncols - j * NR : NR;
          const __mmask16 m_lo = siglip_lanes16 (valid);
          const __mmask16 m_hi = siglip_lanes16 (valid - 16);
          const float *bj = bias ? bias + (size_t) j * NR : NULL;
          for (int r0 = m0; r0 < m_end; r0 += MR) {
            const int rows = m_end - r0 < MR ? m_end - r0 : MR;
            kernel (kb, x + (size_t) r0 * k + k0, (size_t) k, rows, bp,
                    y + (size_t) r0 * ncols + (size_t) j * NR, (size_t) ncols, m_lo, m_hi, first, bj);
          }
        }
      }
    }
  }
}

TARGET void
siglip_gemm_avx512_panel_block (float *y, size_t ldy, const float *x, size_t ldx, int rows,
                                const float *slice, int kb, int cols, bool first)
{
  const __mmask16 m_lo = siglip_lanes16 (cols);
  const __mmask16 m_hi = siglip_lanes16 (cols - 16);
  for (int r0 = 0; r0 < rows; r0 += MR)
    kernel (kb, x + (size_t) r0 * ldx, ldx, rows - r0 < MR ? rows - r0 : MR, slice,
            y + (size_t) r0 * ldy, ldy, m_lo, m_hi, first, NULL);
}

/* One tile of the row-major product: y[i][r] (ldy) = w[r] . panel column i + bias[r] for
 * r < rows, i < cols. All of K for this tile before the next, in blocks of KC summed in a
 * tile on the stack in the order the panel kernels sum theirs into y: bf16 rows read here give
 * the bits the widened bf16 panels give (gemm-avx512bf16wide.c), cache or no cache. */
TARGET static void
rowmajor_tile (int k, const float *w, int rows, const float *panel, float *y, size_t ldy,
               int cols, const float *bias)
{
  float tile[MR * NR] __attribute__ ((aligned (64)));
  for (int k0 = 0; k0 < k; k0 += KC)
    kernel (k - k0 < KC ? k - k0 : KC, w + k0, (size_t) k, rows, panel + (size_t) k0 * NR, tile,
            NR, 0xffff, 0xffff, k0 == 0, NULL);
  __m512 c0[MR], c1[MR];
#pragma GCC unroll 16
  for (int r = 0; r < MR; r++) {
    c0[r] = r < rows ? _mm512_load_ps (tile + r * NR) : _mm512_setzero_ps ();
    c1[r] = r < rows ? _mm512_load_ps (tile + r * NR + 16) : _mm512_setzero_ps ();
  }
  store_transposed (c0, c1, rows, y, ldy, cols, bias);
}

/* The row-major product (gemm.c's linear_rowmajor), written straight into y: each tile is
 * stored transposed with its bias, so there is no y^T and no transpose pass after it. A tile
 * runs over all of K before the next (the panel's slice comes from L2, not L1, and the tile is
 * stored once). Measured (one thread, 48 weight rows a call from 10 MB of them, x of 256 rows,
 * blocks of 256 for K = 1152 and all of it in one block, which the blocks here match in
 * memory traffic): 0.77-0.82 of the FMA peak against 0.74-0.78 walking K block by block over
 * all tiles, K = 4304 0.73-0.76 against 0.72-0.75, 64 rows of x 0.80-0.81 both. */
TARGET void
siglip_gemm_avx512f32_rowmajor (float *y, size_t ldy, const float *w, int rows,
                                const siglip_f32_panels *xp, const float *bias)
{
  const int k = xp->cols, n = xp->rows;
  for (int j = 0; j < xp->n_panels; j++) {
    const int cols = n - j * NR < NR ? n - j * NR : NR;
    for (int r0 = 0; r0 < rows; r0 += MR)
      rowmajor_tile (k, w + (size_t) r0 * k, rows - r0 < MR ? rows - r0 : MR,
                     xp->data + (size_t) j * k * NR, y + (size_t) j * NR * ldy + r0, ldy, cols,
                     bias ? bias + r0 : NULL);
  }
}

#endif /* SIGLIP_GEMM_HAVE_AVX512F32_KERNEL */
