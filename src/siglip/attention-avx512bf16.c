/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * attention-avx512bf16.c — the attention products of one head in bf16, for CPUs with
 * AVX512-BF16 (attention.c's attention_block_bf16 drives them; layouts in attention-private.h).
 * Same arithmetic as the bf16 GEMM (gemm-avx512bf16.c): inputs rounded to nearest even bf16,
 * products exact and sums in fp32, so only the rounding of q, k, the softmax weights and v
 * differs from the fp32 loops. head_dim is at most 128 (attention.c checks), so a row's pairs
 * fit in one 64-word stack row.
 */
#define SIGLIP_BF16_KERNELS 1 /* bf16.h: the pair conversion */
#include "attention-private.h"
#include "lanes.h"

#ifdef SIGLIP_HAVE_AVX512BF16

#include <string.h>

#define TARGET SIGLIP_AVX512BF16_TARGET

#define ATTN_QK_MR 8 /* query rows x 32 keys: 16 accumulators, as the GEMM's tile */
#define ATTN_PV_MR 4 /* query rows x hdp dims: up to 4 x 8 accumulators */


TARGET void
siglip_attn_bf16_pack_rows (uint32_t *out, size_t ldout, const float *x, size_t ldx, int rows,
                            int n)
{
  for (int r = 0; r < rows; r++)
    siglip_bf16_pairs_row (out + (size_t) r * ldout, x + (size_t) r * ldx, n);
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
      siglip_bf16_pairs_row (row, k + (size_t) j * ldk, hd);
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
      const __mmask16 m = siglip_lanes16 (left);
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
      const __mmask16 m = siglip_lanes16 (left);
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

#endif /* SIGLIP_HAVE_AVX512BF16 */
