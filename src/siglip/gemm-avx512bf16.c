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

/* Panels [j_begin, j_end) of y; panel j's data at panels + (j - j_first) * kp * 64. The
 * arithmetic of an element of y depends only on kp (its K blocks), never on which panels a call
 * is given, so panels packed a group at a time give the numbers of panels packed once. */
TARGET static void
compute (float *y, const uint32_t *ap, const uint16_t *panels, int j_first, int kp, int ncols,
         const float *b, int n, int j_begin, int j_end)
{
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
          const uint16_t *bp = panels + ((size_t) (j - j_first) * kp + k0) * 64;
          const int valid = ncols - j * NR < NR ? ncols - j * NR : NR;
          const __mmask16 m0 = siglip_lanes16 (valid);
          const __mmask16 m1 = siglip_lanes16 (valid - 16);
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

TARGET void
siglip_gemm_avx512bf16_compute (float *y, const uint32_t *ap, const siglip_bf16_panels *w,
                                const float *b, int n, int j_begin, int j_end)
{
  compute (y, ap, w->data, 0, w->k_pairs, w->rows, b, n, j_begin, j_end);
}

TARGET void
siglip_gemm_avx512bf16_compute_group (float *y, const uint32_t *ap, const uint16_t *panels,
                                      int k, int ncols, const float *b, int n, int j_begin,
                                      int j_end)
{
  compute (y, ap, panels, j_begin, (k + 1) / 2, ncols, b, n, j_begin, j_end);
}

/* GCC 12 warns of the self-initialised "undefined" vector inside its own AVX-512 intrinsics
 * once they are inlined here (GCC bug 105593), not of anything in this code */
#if !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

/* The 16 x 16 words of r transposed in place: r[i] word c becomes r[c] word i. */
TARGET static inline void
transpose16 (__m512i r[16])
{
  __m512i t[16];
#pragma GCC unroll 8
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_epi32 (r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_epi32 (r[i], r[i + 1]);
  }
  /* then in each 128-bit lane L of r[4g + q]: column 4L + q of rows 4g .. 4g + 3 */
#pragma GCC unroll 4
  for (int i = 0; i < 16; i += 4) {
    r[i] = _mm512_unpacklo_epi64 (t[i], t[i + 2]);
    r[i + 1] = _mm512_unpackhi_epi64 (t[i], t[i + 2]);
    r[i + 2] = _mm512_unpacklo_epi64 (t[i + 1], t[i + 3]);
    r[i + 3] = _mm512_unpackhi_epi64 (t[i + 1], t[i + 3]);
  }
  /* column 4L + q gathers lane L of r[q], r[4 + q], r[8 + q], r[12 + q] */
#pragma GCC unroll 4
  for (int q = 0; q < 4; q++) {
    const __m512i s0 = _mm512_shuffle_i32x4 (r[q], r[4 + q], 0x44);     /* lanes 0, 1 of each */
    const __m512i s1 = _mm512_shuffle_i32x4 (r[q], r[4 + q], 0xee);     /* lanes 2, 3 */
    const __m512i u0 = _mm512_shuffle_i32x4 (r[8 + q], r[12 + q], 0x44);
    const __m512i u1 = _mm512_shuffle_i32x4 (r[8 + q], r[12 + q], 0xee);
    t[q] = _mm512_shuffle_i32x4 (s0, u0, 0x88);                         /* lane 0 of all four */
    t[4 + q] = _mm512_shuffle_i32x4 (s0, u0, 0xdd);                     /* lane 1 */
    t[8 + q] = _mm512_shuffle_i32x4 (s1, u1, 0x88);                     /* lane 2 */
    t[12 + q] = _mm512_shuffle_i32x4 (s1, u1, 0xdd);                    /* lane 3 */
  }
#pragma GCC unroll 16
  for (int i = 0; i < 16; i++)
    r[i] = t[i];
}

/* Floats [k0, k0 + 32) of a row as 16 bf16 pairs, rounded as siglip_f32_to_bf16_rne rounds a
 * finite float (not vcvtne2ps2bf16, which flushes subnormals: the panels of the weight cache
 * are packed by the scalar rounding); past k, and for a row that is NULL, zero. */
TARGET static inline __m512i
row_pairs (const float *row, int k0, int k)
{
  if (!row)
    return _mm512_setzero_si512 ();
  const int left = k - k0;
  const __mmask16 m_lo = siglip_lanes16 (left);
  const __mmask16 m_hi = siglip_lanes16 (left - 16);
  const __m512i lo = _mm512_maskz_loadu_epi32 (m_lo, row + k0);
  const __m512i hi = _mm512_maskz_loadu_epi32 (m_hi, row + k0 + 16);
  const __m512i bias = _mm512_set1_epi32 (0x7fff), one = _mm512_set1_epi32 (1);
  const __m512i rlo = _mm512_add_epi32 (lo, _mm512_add_epi32 (bias, _mm512_and_si512 (_mm512_srli_epi32 (lo, 16), one)));
  const __m512i rhi = _mm512_add_epi32 (hi, _mm512_add_epi32 (bias, _mm512_and_si512 (_mm512_srli_epi32 (hi, 16), one)));
  /* the upper halves of the 32 words, in order: word i of the result is the pair (2i, 2i + 1) */
  const __m512i upper = _mm512_set_epi16 (63, 61, 59, 57, 55, 53, 51, 49, 47, 45, 43, 41, 39, 37,
                                          35, 33, 31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9,
                                          7, 5, 3, 1);
  return _mm512_permutex2var_epi16 (rlo, upper, rhi);
}

TARGET void
siglip_gemm_avx512bf16_pack_panel (uint16_t *panel, const float *const rows[SIGLIP_GEMM_NR], int k)
{
  const int kp = (k + 1) / 2;
  uint32_t *out = (uint32_t *) panel;
  for (int p0 = 0; p0 < kp; p0 += 16) {
    const int pairs = kp - p0 < 16 ? kp - p0 : 16;
    for (int half = 0; half < 2; half++) {
      __m512i r[16];
#pragma GCC unroll 16
      for (int c = 0; c < 16; c++)
        r[c] = row_pairs (rows[16 * half + c], 2 * p0, k);
      transpose16 (r);
      for (int i = 0; i < pairs; i++)
        _mm512_store_si512 (out + (size_t) (p0 + i) * NR + 16 * half, r[i]);
    }
  }
}

#if !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#endif /* SIGLIP_GEMM_HAVE_AVX512BF16_KERNEL */
