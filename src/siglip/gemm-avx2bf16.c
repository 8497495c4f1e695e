/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * gemm-avx2bf16.c — bf16 weights on CPUs without AVX-512 (AVX2 + FMA): the bf16 panels
 * stay in memory at half the size of fp32, and each block of them is widened to fp32 just
 * before gemm-avx2f32.c's micro-kernel multiplies it.
 *
 * Widening a bf16 value is exact (the 16 bits become the high half of an fp32), so the
 * arithmetic is the fp32 kernel's on the bf16-rounded weights; the activations stay fp32 (a
 * CPU without vdpbf16ps gains nothing from rounding them).
 *
 * Cost: a panel slice of KC pairs is widened once per block of KC inputs and then multiplied by
 * every row of x (M >= 64 for a label, 256+ for an image), so the widening is 2 cheap integer
 * ops per weight against M FMAs per weight — a few percent. A task is one panel; its widened
 * slice (KC x 32 floats = 144 KiB) lives in per-worker scratch and stays in L2 while the rows
 * of x stream past it.
 *
 * KC is a SO400M layer's whole input row (1152; the MLP's second product, K = 4304, in 4
 * blocks), so each 6 x 16 tile of y is stored once per 1152 inputs rather than reloaded every
 * 256, and each strip of x runs on for 1152 inputs. In one process, 31 interleaved pairs of
 * siglip_linear calls per shape (SIGLIP_ISA=avx2, 2 threads), blocks of 256 took 1.05-1.12x the
 * time of blocks of 1152 at M = 8 to 112 on N x K = 3456, 4304 x 1152 and 1152 x 4304 (even at
 * M = 1); blocks of 512 were in between, one block of 4352 for K = 4304 worse than 1152. With
 * it, this path took 0.82-0.97 the time of the fp32 row-major product run on the same weights
 * widened back to rows, at M = 128 to 512. Tasks of one panel rather than two: 0.96-1.00. */
#include "gemm-private.h"

#ifdef SIGLIP_GEMM_HAVE_AVX2_KERNELS

#include <immintrin.h>

#define NR SIGLIP_GEMM_NR
#define KC 1152          /* inputs per block, even so blocks start on a pair */
#define GROUP 1          /* panels widened at once: a task's one */
#define HALF 16
#ifndef MC
#define MC 240
#endif

#define TARGET __attribute__ ((target ("avx2,fma")))

size_t
siglip_gemm_avx2bf16_scratch_floats (void)
{
  return (size_t) GROUP * KC * NR;
}

/* As two half slices of 16 columns (gemm-private.h says why), each KC x 16 floats:
 * out[h * KC * 16 + (2q + e) * 16 + c] = W[32j + 16h + c][2 (p0 + q) + e] for q < n_pairs */
TARGET static void
widen_slice (float *restrict out, const uint16_t *restrict panel, int p0, int n_pairs)
{
  const __m256i high = _mm256_set1_epi32 ((int) 0xffff0000u);
  for (int q = 0; q < n_pairs; q++) {
    const uint16_t *src = panel + (size_t) (p0 + q) * NR * 2;
#pragma GCC unroll 4
    for (int c = 0; c < NR; c += 8) {
      float *even = out + (size_t) (c / HALF) * KC * HALF + (size_t) 2 * q * HALF + c % HALF;
      /* word c = (W[c][2p] low, W[c][2p + 1] high) */
      const __m256i v = _mm256_load_si256 ((const __m256i *) (src + 2 * c));
      _mm256_store_ps (even, _mm256_castsi256_ps (_mm256_slli_epi32 (v, 16)));
      _mm256_store_ps (even + HALF, _mm256_castsi256_ps (_mm256_and_si256 (v, high)));
    }
  }
}

TARGET void
siglip_gemm_avx2bf16_compute (float *y, const float *x, const siglip_bf16_panels *w,
                              const float *bias, int n, int j_begin, int j_end, float *scratch)
{
  const int k = w->cols, ncols = w->rows;

  for (int jg = j_begin; jg < j_end; jg += GROUP) {
    const int jg_end = j_end - jg < GROUP ? j_end : jg + GROUP;
    for (int k0 = 0; k0 < k; k0 += KC) {
      const int kb = k - k0 < KC ? k - k0 : KC;
      for (int j = jg; j < jg_end; j++)
        widen_slice (scratch + (size_t) (j - jg) * KC * NR,
                     w->data + (size_t) j * w->k_pairs * NR * 2, k0 / 2, (kb + 1) / 2);
      for (int m0 = 0; m0 < n; m0 += MC) {
        const int rows = n - m0 < MC ? n - m0 : MC;
        for (int j = jg; j < jg_end; j++)
          for (int h = 0; h < NR / HALF && j * NR + h * HALF < ncols; h++) {
            const int c0 = j * NR + h * HALF;
            const int cols = ncols - c0 < HALF ? ncols - c0 : HALF;
            siglip_gemm_avx2_half_block (y + (size_t) m0 * ncols + c0, (size_t) ncols,
                                         x + (size_t) m0 * k + k0, (size_t) k, rows,
                                         scratch + ((size_t) (j - jg) * NR + h * HALF) * KC, kb,
                                         cols, k0 == 0, bias ? bias + c0 : NULL);
          }
      }
    }
  }
}

#endif /* SIGLIP_GEMM_HAVE_AVX2_KERNELS */
