/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * gemm-avx512bf16.c — the bf16 GEMM kernel for CPUs with AVX512-BF16 (Zen 4/5, Sapphire Rapids).
 *
 * Compiled with per-function target attributes (bf16.h), so libsiglip still runs on any x86-64:
 * gemm.c calls in here only after __builtin_cpu_supports said yes.
 *
 * Micro-kernel: an 8 x 32 tile of C in 16 zmm accumulators. Per pair of K it loads two zmm of
 * the weight panel (32 columns x 2 bf16) and, for each of the 8 rows, broadcasts that row's bf16
 * pair from the converted activations: 16 `vdpbf16ps` (1024 flops) for 2 loads + 8 broadcasts,
 * which keeps both of Zen 5's 512-bit pipes fed. Products of bf16 are exact in fp32 and sums are
 * fp32, so only the rounding of the inputs to bf16 differs from an fp32 GEMM.
 * Tile heights measured (2 threads, shared box, best of 5 over the 12 shapes of
 * siglens-bench --gemm): 8, 12 and 14 rows within 1% of each other; 8 wastes least on small M
 * (one label = 64 rows, the pooling probe = 1 row).
 *
 * Activations: converted once per call to bf16 pairs with their rows kept in order (one
 * vcvtne2ps2bf16 and one contiguous store per 32 inputs), and the kernel broadcasts from 8 row
 * streams, as the fp32 kernel does. An earlier layout interleaved the 8 rows of a strip, which
 * took a scatter per 16 words; that conversion cost up to a fifth of the fc2 GEMM (K = 4304):
 * ratios to the bf16 peak went from 0.70/0.70/0.58 to 0.82/0.79/0.76 on M = 256/512/1024 x
 * (1152, 4304), the other shapes unchanged within noise.
 *
 * Blocking (as gemm-avx512f32.c): a worker owns a contiguous run of panels, walked in groups of
 * GROUP panels whose column of C (M x 128 floats) stays in L2 over the K blocks; K in equal
 * blocks of at most KC_PAIRS pairs so a panel slice (<= 24 KiB) stays in L1 while a block of
 * at most MC_ROWS rows of A (256 rows x 192 pairs x 4 B = 192 KiB) streams past it from L2.
 * Measured and not kept: software prefetch of the next panel slice into L2 (no change: the
 * hardware prefetchers follow the contiguous slices), KC_PAIRS = 256, and handing out panels
 * to workers first come first served (8% slower than the static split).
 */
#define SIGLIP_BF16_KERNELS 1 /* bf16.h: the pair conversion */
#include "gemm-private.h"

#ifdef SIGLIP_GEMM_HAVE_AVX512BF16_KERNEL

#include <string.h>

#define MR SIGLIP_GEMM_AVX512_MR
#define NR SIGLIP_GEMM_NR
#ifndef KC_PAIRS
#define KC_PAIRS 192
#endif
#ifndef MC_ROWS
#define MC_ROWS 256    /* the A block of a K slice is 256 x 192 pairs x 4 B = 192 KiB */
#endif
#define MC_STRIPS ((MC_ROWS + MR - 1) / MR)
#ifndef GROUP
#define GROUP 4        /* panels whose column of C (M x 128 floats) stays in L2 over K */
#endif

#define TARGET SIGLIP_AVX512BF16_TARGET

size_t
siglip_gemm_avx512bf16_a_words (int n, int k)
{
  return (size_t) n * (size_t) ((k + 1) / 2);
}

TARGET void
siglip_gemm_avx512bf16_pack_a (uint32_t *ap, const float *x, int n, int k, int r_begin, int r_end)
{
  const int kp = (k + 1) / 2;
  for (int row = r_begin; row < r_end; row++) {
    const float *xr = x + (size_t) row * k;
    uint32_t *out = ap + (size_t) row * kp;
    siglip_bf16_pairs_row (out, xr, k);
  }
}

/* C[rows, 32] (ldc) = (first ? bias : C) + A_strip[kb pairs] . B_slice[kb pairs] */
TARGET static inline void
kernel (int kb, const uint32_t *restrict a, size_t lda, const uint16_t *restrict b,
        float *restrict c, size_t ldc, int rows, __mmask16 m0, __mmask16 m1, bool first,
        const float *bias)
{
  /* rows past M in the last strip alias the last real row and are never stored */
  const uint32_t *ar[MR];
#pragma GCC unroll 16
  for (int r = 0; r < MR; r++)
    ar[r] = a + (size_t) (r < rows ? r : rows - 1) * lda;

  __m512 c0[MR], c1[MR];
#pragma GCC unroll 16
  for (int r = 0; r < MR; r++) {
    c0[r] = _mm512_setzero_ps ();
    c1[r] = _mm512_setzero_ps ();
  }

  for (int p = 0; p < kb; p++) {
    const __m512bh b0 = (__m512bh) _mm512_load_si512 (b + (size_t) p * 64);
    const __m512bh b1 = (__m512bh) _mm512_load_si512 (b + (size_t) p * 64 + 32);
#pragma GCC unroll 16
    for (int r = 0; r < MR; r++) {
      const __m512bh av = (__m512bh) _mm512_set1_epi32 ((int) ar[r][p]);
      c0[r] = _mm512_dpbf16_ps (c0[r], av, b0);
      c1[r] = _mm512_dpbf16_ps (c1[r], av, b1);
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

/* The size of ceil (total / max) equal blocks covering total. */
static int
block_size (int total, int max)
{
  const int blocks = (total + max - 1) / max;
  return (total + blocks - 1) / blocks;
}

TARGET void
siglip_gemm_avx512bf16_compute (float *y, const uint32_t *ap, const siglip_bf16_panels *w,
                                const float *b, int n, int j_begin, int j_end)
{
  const int kp = w->k_pairs, ncols = w->rows;
  const int strips = (n + MR - 1) / MR;

  /* blocks of equal size no larger than KC_PAIRS and MC_STRIPS: K = 4304 (2152 pairs) runs
   * as 9 x 240 rather than 11 x 192 + 40 */
  const int kc = block_size (kp, KC_PAIRS), mcs = block_size (strips, MC_STRIPS);
  for (int jg = j_begin; jg < j_end; jg += GROUP) {
    const int jg_end = j_end - jg < GROUP ? j_end : jg + GROUP;
    for (int k0 = 0; k0 < kp; k0 += kc) {
      const int kb = kp - k0 < kc ? kp - k0 : kc;
      const bool first = k0 == 0;
      for (int s0 = 0; s0 < strips; s0 += mcs) {
        const int s_end = strips - s0 < mcs ? strips : s0 + mcs;
        for (int j = jg; j < jg_end; j++) {
          const uint16_t *bp = w->data + ((size_t) j * kp + k0) * 64;
          const int valid = ncols - j * NR < NR ? ncols - j * NR : NR;
          const __mmask16 m0 = valid >= 16 ? 0xffff : (__mmask16) ((1u << valid) - 1);
          const __mmask16 m1 = valid >= 32 ? 0xffff : valid <= 16 ? 0 : (__mmask16) ((1u << (valid - 16)) - 1);
          const float *bj = b ? b + (size_t) j * NR : NULL;
          for (int s = s0; s < s_end; s++) {
            const int rows = n - s * MR < MR ? n - s * MR : MR;
            kernel (kb, ap + (size_t) s * MR * kp + k0, (size_t) kp, bp,
                    y + (size_t) s * MR * ncols + (size_t) j * NR, (size_t) ncols, rows, m0, m1,
                    first, bj);
          }
        }
      }
    }
  }
}

#endif /* SIGLIP_GEMM_HAVE_AVX512BF16_KERNEL */
