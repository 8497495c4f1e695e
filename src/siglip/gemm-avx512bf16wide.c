/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * gemm-avx512bf16wide.c — bf16 weights on AVX-512 CPUs where vdpbf16ps does not pay: each
 * block of the bf16 panels is widened to fp32 just before gemm-avx512f32.c's kernel multiplies
 * it, so the panels keep bf16's half-size memory and the products run at the fp32 FMA rate.
 *
 * Where: AVX-512 CPUs without AVX512-BF16 (Skylake-X, Ice Lake and Tiger Lake laptops, which
 * otherwise fell to the AVX2 kernel at half the vector width), and Intel's AMX Xeons. On one of
 * those (2 vCPUs, 2026-12-02) the vdpbf16ps loop of siglens-bench peaked at 214 GFLOP/s against
 * 429 for the fp32 FMA loop, so the AVX512-BF16 kernel, at 0.9 of its own peak, ran a 256-patch
 * image in 1.23 s where fp32 took 0.97 s. gemm.c's bf16_kernel_get says which CPUs get which.
 *
 * Widening is exact (the 16 bits become the high half of an fp32), so the arithmetic is the
 * fp32 kernel's on the bf16-rounded weights and the activations stay fp32, as on the AVX2 path
 * (gemm-avx2bf16.c). A worker takes a contiguous run of panels; for each panel and block of KC
 * inputs, the slice (KC x 32 floats = 32 KiB, the fp32 kernel's L1 block) is widened once and
 * then multiplied by every row of x, M >= 64 FMAs per widened weight. The K blocks are those of
 * the row-major fp32 product and the bias comes last, as there, so that a first session on the
 * F32 rows (bf16_rows) gives these numbers bit for bit (test-weight-cache).
 */
#include "gemm-private.h"

#ifdef SIGLIP_GEMM_HAVE_AVX512F32_KERNEL

#include <immintrin.h>

#define NR SIGLIP_GEMM_NR
#define KC SIGLIP_GEMM_AVX512_KC   /* even, so blocks start on a pair */
#ifndef MC
#define MC 240
#endif

#define TARGET __attribute__ ((target ("avx512f")))

size_t
siglip_gemm_avx512wide_scratch_floats (void)
{
  return (size_t) KC * NR;
}

/* GCC 12 warns of the self-initialised "undefined" vector inside its own AVX-512 intrinsics
 * once they are inlined here (GCC bug 105593), not of anything in this code */
#if !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

/* out[(2q + e) * 32 + c] = W[32j + c][2 (p0 + q) + e] for q < n_pairs: the fp32 panel layout */
TARGET static void
widen_slice (float *restrict out, const uint16_t *restrict panel, int p0, int n_pairs)
{
  const __m512i high = _mm512_set1_epi32 ((int) 0xffff0000u);
  for (int q = 0; q < n_pairs; q++) {
    const uint16_t *src = panel + (size_t) (p0 + q) * NR * 2;
    float *even = out + (size_t) 2 * q * NR;
#pragma GCC unroll 2
    for (int c = 0; c < NR; c += 16) {
      /* word c = (W[c][2p] low, W[c][2p + 1] high) */
      const __m512i v = _mm512_load_si512 (src + 2 * c);
      _mm512_store_ps (even + c, _mm512_castsi512_ps (_mm512_slli_epi32 (v, 16)));
      _mm512_store_ps (even + NR + c, _mm512_castsi512_ps (_mm512_and_si512 (v, high)));
    }
  }
}

/* y[r][0 .. cols) += b for r < n. Last, as the row-major product adds it (gemm.c's
 * linear_rowmajor): a first session's products on the rows then equal these bit for bit. */
TARGET static void
add_bias (float *y, size_t ldy, int n, const float *b, int cols)
{
  const __mmask16 m_lo = siglip_lanes16 (cols);
  const __mmask16 m_hi = siglip_lanes16 (cols - 16);
  const __m512 b0 = _mm512_maskz_loadu_ps (m_lo, b), b1 = _mm512_maskz_loadu_ps (m_hi, b + 16);
  for (int r = 0; r < n; r++) {
    float *yr = y + (size_t) r * ldy;
    _mm512_mask_storeu_ps (yr, m_lo, _mm512_add_ps (_mm512_maskz_loadu_ps (m_lo, yr), b0));
    _mm512_mask_storeu_ps (yr + 16, m_hi, _mm512_add_ps (_mm512_maskz_loadu_ps (m_hi, yr + 16), b1));
  }
}

TARGET void
siglip_gemm_avx512wide_compute (float *y, const float *x, const siglip_bf16_panels *w,
                                const float *bias, int n, int j_begin, int j_end, float *scratch)
{
  const int k = w->cols, ncols = w->rows;
  for (int j = j_begin; j < j_end; j++) {
    const int c0 = j * NR;
    const int cols = ncols - c0 < NR ? ncols - c0 : NR;
    for (int k0 = 0; k0 < k; k0 += KC) {
      const int kb = k - k0 < KC ? k - k0 : KC;
      widen_slice (scratch, w->data + (size_t) j * w->k_pairs * NR * 2, k0 / 2, (kb + 1) / 2);
      for (int m0 = 0; m0 < n; m0 += MC) {
        const int rows = n - m0 < MC ? n - m0 : MC;
        siglip_gemm_avx512_panel_block (y + (size_t) m0 * ncols + c0, (size_t) ncols,
                                        x + (size_t) m0 * k + k0, (size_t) k, rows, scratch, kb,
                                        cols, k0 == 0);
      }
    }
    if (bias)
      add_bias (y + c0, (size_t) ncols, n, bias + c0, cols);
  }
}

#if !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#endif /* SIGLIP_GEMM_HAVE_AVX512F32_KERNEL */
