/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * gemm-avx512bf16.c — the bf16 GEMM kernel for CPUs with AVX512-BF16 (Zen 4/5, Sapphire Rapids).
 *
 * Compiled with per-function target attributes, not -mavx512bf16 for the file, so libsiglip
 * still runs on any x86-64: gemm.c calls in here only after __builtin_cpu_supports said yes.
 *
 * Micro-kernel: an 8 x 32 tile of C in 16 zmm accumulators. Per pair of K it loads two zmm of
 * the weight panel (32 columns x 2 bf16) and, for each of the 8 rows, broadcasts that row's bf16
 * pair from the packed activations: 16 `vdpbf16ps` (1024 flops) for 2 loads + 8 broadcasts,
 * which keeps both of Zen 5's 512-bit pipes fed. Products of bf16 are exact in fp32 and sums are
 * fp32, so only the rounding of the inputs to bf16 differs from an fp32 GEMM.
 * Measured (2 threads, noisy box): 8 x 32 reached ~750-810 GFLOP/s on 256 x {1152,4304}; 12 x 32
 * and 14 x 32 were not faster and waste more work on small M (one label = 64 rows, the pooling
 * probe = 1 row).
 *
 * Blocking (as gemm-avx512f32.c): a worker owns a contiguous run of panels, walked in groups of
 * GROUP panels whose column of C (M x 128 floats) stays in L2 over the K blocks; K in blocks of
 * KC_PAIRS pairs so a panel slice (24 KiB) stays in L1 while the strips of a block of MC_STRIPS
 * strips of A (256 rows x 192 pairs x 4 B = 192 KiB) stream past it from L2. The earlier
 * one-panel-at-a-time walk streamed all of A per panel, which for fc2 (K = 4304: 2.2 MiB of
 * packed A at M = 256) comes from L3. Measured on a shared box, ratios to the bf16 peak of the
 * same run: 0.80-0.89 on M = 256 x (N, K) in {1152, 3456, 4304}, 0.63-0.89 on M = 1024.
 */
#include "gemm-private.h"

#ifdef SIGLIP_GEMM_HAVE_AVX512BF16_KERNEL

#include <immintrin.h>
#include <string.h>

#define MR SIGLIP_GEMM_AVX512_MR
#define NR SIGLIP_GEMM_NR
#ifndef KC_PAIRS
#define KC_PAIRS 192
#endif
#ifndef MC_STRIPS
#define MC_STRIPS 32   /* 256 rows: the A block of a K slice is 256 x 192 pairs x 4 B = 192 KiB */
#endif
#ifndef GROUP
#define GROUP 4        /* panels whose column of C (M x 128 floats) stays in L2 over K */
#endif

#define TARGET __attribute__ ((target ("avx512f,avx512bf16,avx512bw,avx512vl,avx512dq")))

size_t
siglip_gemm_avx512bf16_a_words (int n, int k)
{
  size_t strips = ((size_t) n + MR - 1) / MR;
  return strips * (size_t) ((k + 1) / 2) * MR;
}

TARGET void
siglip_gemm_avx512bf16_pack_a (uint32_t *ap, const float *x, int n, int k, int s_begin, int s_end)
{
  const int kp = (k + 1) / 2;
  /* word i of a converted block goes to row-interleaved position i * MR */
  const __m512i scatter_index = _mm512_mullo_epi32 (
    _mm512_set_epi32 (15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0), _mm512_set1_epi32 (MR));

  for (int s = s_begin; s < s_end; s++) {
    uint32_t *strip = ap + (size_t) s * kp * MR;
    for (int r = 0; r < MR; r++) {
      const int row = s * MR + r;
      if (row >= n) {
        for (int p = 0; p < kp; p++)
          strip[(size_t) p * MR + r] = 0;
        continue;
      }
      const float *xr = x + (size_t) row * k;
      for (int k0 = 0; k0 < k; k0 += 32) {
        const int left = k - k0;
        const __mmask16 m_lo = left >= 16 ? 0xffff : (__mmask16) ((1u << left) - 1);
        const __mmask16 m_hi = left >= 32 ? 0xffff : left <= 16 ? 0 : (__mmask16) ((1u << (left - 16)) - 1);
        const __m512 lo = _mm512_maskz_loadu_ps (m_lo, xr + k0);
        const __m512 hi = _mm512_maskz_loadu_ps (m_hi, xr + k0 + 16);
        /* cvtne2ps rounds to nearest even; the second operand fills the low half */
        const __m512i pairs = (__m512i) _mm512_cvtne2ps_pbh (hi, lo);
        const int words = left >= 32 ? 16 : (left + 1) / 2;
        const __mmask16 m_words = words >= 16 ? 0xffff : (__mmask16) ((1u << words) - 1);
        _mm512_mask_i32scatter_epi32 (strip + (size_t) (k0 / 2) * MR + r, m_words, scatter_index,
                                      pairs, 4);
      }
    }
  }
}

/* C[rows, 32] (ldc) = (first ? bias : C) + A_strip[kb pairs] . B_slice[kb pairs] */
TARGET static inline void
kernel_8x32 (int kb, const uint32_t *restrict a, const uint16_t *restrict b, float *restrict c,
              size_t ldc, int rows, __mmask16 m0, __mmask16 m1, bool first, const float *bias)
{
  __m512 c0[MR], c1[MR];
#pragma GCC unroll 8
  for (int r = 0; r < MR; r++) {
    c0[r] = _mm512_setzero_ps ();
    c1[r] = _mm512_setzero_ps ();
  }

  for (int p = 0; p < kb; p++) {
    const __m512bh b0 = (__m512bh) _mm512_load_si512 (b + (size_t) p * 64);
    const __m512bh b1 = (__m512bh) _mm512_load_si512 (b + (size_t) p * 64 + 32);
    const uint32_t *ar = a + (size_t) p * MR;
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++) {
      const __m512bh av = (__m512bh) _mm512_set1_epi32 ((int) ar[r]);
      c0[r] = _mm512_dpbf16_ps (c0[r], av, b0);
      c1[r] = _mm512_dpbf16_ps (c1[r], av, b1);
    }
  }

  __m512 base0 = _mm512_setzero_ps (), base1 = _mm512_setzero_ps ();
  if (first && bias) {
    base0 = _mm512_maskz_loadu_ps (m0, bias);
    base1 = _mm512_maskz_loadu_ps (m1, bias + 16);
  }
#pragma GCC unroll 8
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
siglip_gemm_avx512bf16_compute (float *y, const uint32_t *ap, const siglip_bf16_panels *w,
                                const float *b, int n, int j_begin, int j_end)
{
  const int kp = w->k_pairs, ncols = w->rows;
  const int strips = (n + MR - 1) / MR;

  for (int jg = j_begin; jg < j_end; jg += GROUP) {
    const int jg_end = j_end - jg < GROUP ? j_end : jg + GROUP;
    for (int k0 = 0; k0 < kp; k0 += KC_PAIRS) {
      const int kb = kp - k0 < KC_PAIRS ? kp - k0 : KC_PAIRS;
      const bool first = k0 == 0;
      for (int s0 = 0; s0 < strips; s0 += MC_STRIPS) {
        const int s_end = strips - s0 < MC_STRIPS ? strips : s0 + MC_STRIPS;
        for (int j = jg; j < jg_end; j++) {
          const uint16_t *bp = w->data + ((size_t) j * kp + k0) * 64;
          const int valid = ncols - j * NR < NR ? ncols - j * NR : NR;
          const __mmask16 m0 = valid >= 16 ? 0xffff : (__mmask16) ((1u << valid) - 1);
          const __mmask16 m1 = valid >= 32 ? 0xffff : valid <= 16 ? 0 : (__mmask16) ((1u << (valid - 16)) - 1);
          const float *bj = b ? b + (size_t) j * NR : NULL;
          for (int s = s0; s < s_end; s++) {
            const int rows = n - s * MR < MR ? n - s * MR : MR;
            kernel_8x32 (kb, ap + ((size_t) s * kp + k0) * MR, bp,
                         y + (size_t) s * MR * ncols + (size_t) j * NR, (size_t) ncols, rows, m0,
                         m1, first, bj);
          }
        }
      }
    }
  }
}

#endif /* SIGLIP_GEMM_HAVE_AVX512BF16_KERNEL */
