/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * bf16.h — bfloat16 as the GEMM and attention kernels and the loader share it: the scalar
 * conversions, and on x86-64 the AVX512-BF16 conversion of a float row into bf16 pairs, the
 * operand `vdpbf16ps` multiplies pairwise and sums into an fp32 lane.
 */
#ifndef SIGLIP_BF16_H
#define SIGLIP_BF16_H

#include <stdint.h>

#include "lanes.h"

/* IEEE round to nearest even, NaN kept quiet; as torch's .to(bfloat16) (FACTS.md §11). */
static inline uint16_t
siglip_f32_to_bf16_rne (float f)
{
  union { float f; uint32_t u; } v = { f };
  if ((v.u & 0x7fffffffu) > 0x7f800000u)
    return (uint16_t) ((v.u >> 16) | 0x40u);
  return (uint16_t) ((v.u + 0x7fffu + ((v.u >> 16) & 1u)) >> 16);
}

/* bfloat16 is the upper half of an IEEE binary32: exact by construction. */
static inline float
siglip_bf16_to_f32 (uint16_t h)
{
  union { uint32_t u; float f; } v = { (uint32_t) h << 16 };
  return v.f;
}

#if defined(__x86_64__) || defined(__i386__)
/* The kernels of gemm-avx512bf16.c and attention-avx512bf16.c. Compiled with per-function
 * target attributes, not -mavx512bf16 for the file, so libsiglip still runs on any x86-64:
 * they are called only after __builtin_cpu_supports said yes (siglip_gemm_bf16_is_native). */
#define SIGLIP_HAVE_AVX512BF16 1
#define SIGLIP_AVX512BF16_TARGET \
  __attribute__ ((target ("avx512f,avx512bf16,avx512bw,avx512vl,avx512dq")))

#ifdef SIGLIP_BF16_KERNELS
#include <immintrin.h>

/* out[p] = bf16 pair (x[2p], x[2p + 1]) for p < (n + 1) / 2, low half first, a missing odd
 * partner zero. Only for files that define SIGLIP_BF16_KERNELS (the two kernel files). */
SIGLIP_AVX512BF16_TARGET static inline void
siglip_bf16_pairs_row (uint32_t *out, const float *x, int n)
{
  for (int k0 = 0; k0 < n; k0 += 32) {
    const int left = n - k0;
    const __mmask16 m_lo = siglip_lanes16 (left);
    const __mmask16 m_hi = siglip_lanes16 (left - 16);
    const __m512 lo = _mm512_maskz_loadu_ps (m_lo, x + k0);
    const __m512 hi = _mm512_maskz_loadu_ps (m_hi, x + k0 + 16);
    /* cvtne2ps rounds to nearest even; the second operand fills the low half, so word i is
     * the pair (x[k0 + 2i], x[k0 + 2i + 1]); a missing odd partner was loaded as 0 */
    const __m512i pairs = (__m512i) _mm512_cvtne2ps_pbh (hi, lo);
    const int words = left >= 32 ? 16 : (left + 1) / 2;
    const __mmask16 m_words = siglip_lanes16 (words);
    _mm512_mask_storeu_epi32 (out + k0 / 2, m_words, pairs);
  }
}
#endif /* SIGLIP_BF16_KERNELS */
#endif /* x86 */

#endif /* SIGLIP_BF16_H */
