/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * gemm-avx512bf16.c — the bf16 GEMM kernel for CPUs with AVX512-BF16 (Zen 4/5, Sapphire Rapids).
 *
 * Compiled with per-function target attributes, not -mavx512bf16 for the file, so libsiglip
 * still runs on any x86-64: gemm.c calls in here only after __builtin_cpu_supports said yes.
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
#include "gemm-private.h"

#ifdef SIGLIP_GEMM_HAVE_AVX512BF16_KERNEL

#include <immintrin.h>
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

#define TARGET __attribute__ ((target ("avx512f,avx512bf16,avx512bw,avx512vl,avx512dq")))

size_t
siglip_gemm_avx512bf16_a_words (int n, int k)
{
  return (size_t) n * (size_t) ((k + 1) / 2);
}

/* out[p] = bf16 pair (x[2p], x[2p + 1]) for p < (n + 1) / 2, a missing odd partner zero */
TARGET static inline void
pairs_row (uint32_t *out, const float *x, int n)
{
  for (int k0 = 0; k0 < n; k0 += 32) {
    const int left = n - k0;
    const __mmask16 m_lo = left >= 16 ? 0xffff : (__mmask16) ((1u << left) - 1);
    const __mmask16 m_hi = left >= 32 ? 0xffff : left <= 16 ? 0 : (__mmask16) ((1u << (left - 16)) - 1);
    const __m512 lo = _mm512_maskz_loadu_ps (m_lo, x + k0);
    const __m512 hi = _mm512_maskz_loadu_ps (m_hi, x + k0 + 16);
    /* cvtne2ps rounds to nearest even; the second operand fills the low half, so word i is
     * the pair (x[k0 + 2i], x[k0 + 2i + 1]); a missing odd partner was loaded as 0 */
    const __m512i pairs = (__m512i) _mm512_cvtne2ps_pbh (hi, lo);
    const int words = left >= 32 ? 16 : (left + 1) / 2;
    const __mmask16 m_words = words >= 16 ? 0xffff : (__mmask16) ((1u << words) - 1);
    _mm512_mask_storeu_epi32 (out + k0 / 2, m_words, pairs);
  }
}

TARGET void
siglip_gemm_avx512bf16_pack_a (uint32_t *ap, const float *x, int n, int k, int r_begin, int r_end)
{
  const int kp = (k + 1) / 2;
  for (int row = r_begin; row < r_end; row++) {
    const float *xr = x + (size_t) row * k;
    uint32_t *out = ap + (size_t) row * kp;
    pairs_row (out, xr, k);
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

/* ---------------------------------------------------------------------------------------------
 * Attention products in bf16 (ops.c's attention_block_bf16 drives them; layouts in
 * gemm-private.h). Same arithmetic as the GEMM above: inputs rounded to nearest even bf16,
 * products exact and sums in fp32, so only the rounding of q, k, the softmax weights and v
 * differs from the fp32 loops. head_dim is at most 128 (ops.c checks), so a row's pairs fit in
 * one 64-word stack row.
 */
#ifdef SIGLIP_GEMM_HAVE_AVX512BF16_KERNEL

#define ATTN_QK_MR 8 /* query rows x 32 keys: 16 accumulators, as the GEMM's tile */
#define ATTN_PV_MR 4 /* query rows x hdp dims: up to 4 x 8 accumulators */


TARGET void
siglip_attn_bf16_pack_rows (uint32_t *out, size_t ldout, const float *x, size_t ldx, int rows,
                            int n)
{
  for (int r = 0; r < rows; r++)
    pairs_row (out + (size_t) r * ldout, x + (size_t) r * ldx, n);
}

TARGET void
siglip_attn_bf16_pack_kv (uint32_t *kt, uint32_t *vp, const float *k, int ldk, const float *v,
                          int ldv, int nk, int hd)
{
  const int hp = (hd + 1) / 2, nkp = (nk + 31) / 32 * 32, hdp = (hd + 15) / 16 * 16;
  /* Kt: each key's pairs converted in order, then scattered into its column of the block */
  for (int j = 0; j < nkp; j++) {
    uint32_t row[64];
    if (j < nk)
      pairs_row (row, k + (size_t) j * ldk, hd);
    else
      memset (row, 0, (size_t) hp * sizeof row[0]);
    uint32_t *dst = kt + (size_t) (j / 32) * hp * 32 + j % 32;
    for (int p = 0; p < hp; p++)
      dst[(size_t) p * 32] = row[p];
  }
  /* Vp: keys 2p and 2p + 1 interleaved column by column; vcvtne2ps2bf16 puts key 2p's 16
   * values in the low half and key 2p + 1's in the high half, vpermw pairs them up */
  const __m512i interleave = _mm512_set_epi16 (31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10,
                                               25, 9, 24, 8, 23, 7, 22, 6, 21, 5, 20, 4, 19, 3,
                                               18, 2, 17, 1, 16, 0);
  for (int p = 0; p < (nk + 1) / 2; p++) {
    const float *a = v + (size_t) (2 * p) * ldv;
    const float *b = 2 * p + 1 < nk ? a + ldv : NULL;
    for (int c0 = 0; c0 < hdp; c0 += 16) {
      const int left = hd - c0;
      const __mmask16 m = left >= 16 ? 0xffff : (__mmask16) ((1u << left) - 1);
      const __m512 va = _mm512_maskz_loadu_ps (m, a + c0);
      const __m512 vb = b ? _mm512_maskz_loadu_ps (m, b + c0) : _mm512_setzero_ps ();
      const __m512i both = (__m512i) _mm512_cvtne2ps_pbh (vb, va);
      _mm512_storeu_si512 (vp + (size_t) p * hdp + c0, _mm512_permutexvar_epi16 (interleave, both));
    }
  }
}

TARGET void
siglip_attn_bf16_qk (float *s, const uint32_t *qa, const uint32_t *kt, int nq, int hd, int nk,
                     float scale)
{
  const int hp = (hd + 1) / 2, nkp = (nk + 31) / 32 * 32;
  const __m512 vscale = _mm512_set1_ps (scale);
  for (int i0 = 0; i0 < nq; i0 += ATTN_QK_MR) {
    const int rows = nq - i0 < ATTN_QK_MR ? nq - i0 : ATTN_QK_MR;
    /* rows past nq alias the last real row and are never stored */
    const uint32_t *ar[ATTN_QK_MR];
#pragma GCC unroll 8
    for (int r = 0; r < ATTN_QK_MR; r++)
      ar[r] = qa + (size_t) (i0 + (r < rows ? r : rows - 1)) * hp;
    for (int j0 = 0; j0 < nkp; j0 += 32) {
      const uint32_t *b = kt + (size_t) j0 * hp;
      __m512 c0[ATTN_QK_MR], c1[ATTN_QK_MR];
#pragma GCC unroll 8
      for (int r = 0; r < ATTN_QK_MR; r++)
        c0[r] = c1[r] = _mm512_setzero_ps ();
      for (int p = 0; p < hp; p++) {
        const __m512bh b0 = (__m512bh) _mm512_loadu_si512 (b + (size_t) p * 32);
        const __m512bh b1 = (__m512bh) _mm512_loadu_si512 (b + (size_t) p * 32 + 16);
#pragma GCC unroll 8
        for (int r = 0; r < ATTN_QK_MR; r++) {
          const __m512bh av = (__m512bh) _mm512_set1_epi32 ((int) ar[r][p]);
          c0[r] = _mm512_dpbf16_ps (c0[r], av, b0);
          c1[r] = _mm512_dpbf16_ps (c1[r], av, b1);
        }
      }
#pragma GCC unroll 8
      for (int r = 0; r < ATTN_QK_MR; r++) {
        if (r >= rows)
          break;
        float *sr = s + (size_t) (i0 + r) * nkp + j0;
        _mm512_storeu_ps (sr, _mm512_mul_ps (c0[r], vscale));
        _mm512_storeu_ps (sr + 16, _mm512_mul_ps (c1[r], vscale));
      }
    }
  }
}

/* out rows [i0, i0 + rows) = pa (pairs of keys) Vp, NV vectors of 16 dims */
TARGET static inline __attribute__ ((always_inline)) void
pv_tile (float *out, int ldo, const uint32_t *pa, int np, const uint32_t *vp, int npairs, int hd,
         int i0, int rows, const int NV)
{
  const uint32_t *ar[ATTN_PV_MR];
#pragma GCC unroll 4
  for (int r = 0; r < ATTN_PV_MR; r++)
    ar[r] = pa + (size_t) (i0 + (r < rows ? r : rows - 1)) * np;
  __m512 acc[ATTN_PV_MR][8];
#pragma GCC unroll 4
  for (int r = 0; r < ATTN_PV_MR; r++)
#pragma GCC unroll 8
    for (int c = 0; c < NV; c++)
      acc[r][c] = _mm512_setzero_ps ();
  for (int p = 0; p < npairs; p++) {
    __m512bh b[8];
#pragma GCC unroll 8
    for (int c = 0; c < NV; c++)
      b[c] = (__m512bh) _mm512_loadu_si512 (vp + (size_t) p * NV * 16 + c * 16);
#pragma GCC unroll 4
    for (int r = 0; r < ATTN_PV_MR; r++) {
      const __m512bh av = (__m512bh) _mm512_set1_epi32 ((int) ar[r][p]);
#pragma GCC unroll 8
      for (int c = 0; c < NV; c++)
        acc[r][c] = _mm512_dpbf16_ps (acc[r][c], av, b[c]);
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < ATTN_PV_MR; r++) {
    if (r >= rows)
      break;
    float *o = out + (size_t) (i0 + r) * ldo;
#pragma GCC unroll 8
    for (int c = 0; c < NV; c++) {
      const int left = hd - c * 16;
      const __mmask16 m = left >= 16 ? 0xffff : (__mmask16) ((1u << left) - 1);
      _mm512_mask_storeu_ps (o + c * 16, m, acc[r][c]);
    }
  }
}

TARGET void
siglip_attn_bf16_pv (float *out, int ldo, const uint32_t *pa, const uint32_t *vp, int nq, int nk,
                     int hd)
{
  const int np = (nk + 31) / 32 * 16, npairs = (nk + 1) / 2, nv = (hd + 15) / 16;
  /* a constant width for every head size up to 128, so the accumulators stay in registers */
  for (int i0 = 0; i0 < nq; i0 += ATTN_PV_MR) {
    const int rows = nq - i0 < ATTN_PV_MR ? nq - i0 : ATTN_PV_MR;
    switch (nv) {
    case 1: pv_tile (out, ldo, pa, np, vp, npairs, hd, i0, rows, 1); break;
    case 2: pv_tile (out, ldo, pa, np, vp, npairs, hd, i0, rows, 2); break;
    case 3: pv_tile (out, ldo, pa, np, vp, npairs, hd, i0, rows, 3); break;
    case 4: pv_tile (out, ldo, pa, np, vp, npairs, hd, i0, rows, 4); break;
    case 5: pv_tile (out, ldo, pa, np, vp, npairs, hd, i0, rows, 5); break;
    case 6: pv_tile (out, ldo, pa, np, vp, npairs, hd, i0, rows, 6); break;
    case 7: pv_tile (out, ldo, pa, np, vp, npairs, hd, i0, rows, 7); break;
    default: pv_tile (out, ldo, pa, np, vp, npairs, hd, i0, rows, 8); break;
    }
  }
}

#endif /* SIGLIP_GEMM_HAVE_AVX512BF16_KERNEL */
