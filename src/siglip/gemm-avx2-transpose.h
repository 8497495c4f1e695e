/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * gemm-avx2-transpose.h — an 8 x 8 block of fp32 transposed in ymm registers, for the AVX2
 * kernels' data movement: gemm-avx2f32.c's packing of x and transposing of y, and
 * gemm-avx2bf16.c's widening of bf16 panels back to rows. Include it only from files whose
 * functions are compiled for AVX2 (it carries that target itself).
 */
#ifndef SIGLIP_GEMM_AVX2_TRANSPOSE_H
#define SIGLIP_GEMM_AVX2_TRANSPOSE_H

#include <immintrin.h>

/* The 8 x 8 block r[0 .. 8) transposed in place: r[p][q] becomes r[q][p]. */
static inline __attribute__ ((always_inline, target ("avx2,fma"))) void
siglip_avx2_transpose8 (__m256 r[8])
{
  const __m256 t0 = _mm256_unpacklo_ps (r[0], r[1]), t1 = _mm256_unpackhi_ps (r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps (r[2], r[3]), t3 = _mm256_unpackhi_ps (r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps (r[4], r[5]), t5 = _mm256_unpackhi_ps (r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps (r[6], r[7]), t7 = _mm256_unpackhi_ps (r[6], r[7]);
  /* s0: columns 0 and 4 of rows 0-3, s1: 1 and 5, s2: 2 and 6, s3: 3 and 7; s4-s7 rows 4-7 */
  const __m256 s0 = _mm256_shuffle_ps (t0, t2, 0x44), s1 = _mm256_shuffle_ps (t0, t2, 0xee);
  const __m256 s2 = _mm256_shuffle_ps (t1, t3, 0x44), s3 = _mm256_shuffle_ps (t1, t3, 0xee);
  const __m256 s4 = _mm256_shuffle_ps (t4, t6, 0x44), s5 = _mm256_shuffle_ps (t4, t6, 0xee);
  const __m256 s6 = _mm256_shuffle_ps (t5, t7, 0x44), s7 = _mm256_shuffle_ps (t5, t7, 0xee);
  r[0] = _mm256_permute2f128_ps (s0, s4, 0x20);
  r[1] = _mm256_permute2f128_ps (s1, s5, 0x20);
  r[2] = _mm256_permute2f128_ps (s2, s6, 0x20);
  r[3] = _mm256_permute2f128_ps (s3, s7, 0x20);
  r[4] = _mm256_permute2f128_ps (s0, s4, 0x31);
  r[5] = _mm256_permute2f128_ps (s1, s5, 0x31);
  r[6] = _mm256_permute2f128_ps (s2, s6, 0x31);
  r[7] = _mm256_permute2f128_ps (s3, s7, 0x31);
}

#endif /* SIGLIP_GEMM_AVX2_TRANSPOSE_H */
