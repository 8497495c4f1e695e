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

#endif /* SIGLIP_GEMM_HAVE_AVX512F32_KERNEL */
