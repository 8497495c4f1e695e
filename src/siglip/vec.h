/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * vec.h — 16-float vectors in GCC/Clang vector extensions, for the row kernels of ops.c and the
 * fp32 attention products of attention.c: every target gets vector code, and the row kernels
 * (ROW_KERNEL_DISPATCH) are compiled once more for AVX-512 and AVX2 on x86-64. Include it first, in .c files only: it sets the file's floating-point contraction.
 */
#ifndef SIGLIP_VEC_H
#define SIGLIP_VEC_H

/* ISO C mode (-std=c11) leaves GCC's a * b + c unfused (-ffp-contract=off); the products and
 * polynomials below are written to become FMAs on the targets that have them (one rounding
 * instead of two, and half the instructions). For the whole including file, so that the
 * inlined helpers and their callers agree (the goldens were checked with FMAs). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize ("fp-contract=fast")
#elif defined(__clang__)
#pragma clang fp contract(fast)
#endif

#include <stdint.h>
#include <string.h>

#define LANES 16
typedef float vf __attribute__ ((vector_size (LANES * sizeof (float))));
typedef int32_t vi __attribute__ ((vector_size (LANES * sizeof (int32_t))));
typedef float vf8 __attribute__ ((vector_size (8 * sizeof (float))));
typedef int32_t vi8 __attribute__ ((vector_size (8 * sizeof (int32_t))));
typedef double vd8 __attribute__ ((vector_size (8 * sizeof (double))));
typedef float vf4 __attribute__ ((vector_size (4 * sizeof (float))));
typedef double vd4 __attribute__ ((vector_size (4 * sizeof (double))));

#define INLINE static inline __attribute__ ((always_inline))

/* Row kernels: the body is written once as an INLINE `name##_body` and ROW_KERNEL_DISPATCH
 * makes `name` from it, compiled for x86-64-v4, x86-64-v3 and the baseline, the copy picked at
 * each call by siglip_row_kernel_isa () (ops.h, which the user includes): the CPU's features capped by SIGLIP_ISA, as the
 * GEMM's kernels are, so that SIGLIP_ISA=avx2 or generic runs the row work of such a CPU too
 * (target_clones, which this replaced, chose by the CPU alone). A call costs one predictable
 * branch on a cached value. Only void kernels. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
/* `wide` for x86-64-v4, `narrow` for x86-64-v3 and the baseline. */
#define ROW_KERNEL_DISPATCH_BODIES(name, wide, narrow, params, args) \
  __attribute__ ((target ("arch=x86-64-v4"))) static void name##_v4 params { wide args; } \
  __attribute__ ((target ("arch=x86-64-v3"))) static void name##_v3 params { narrow args; } \
  static void name##_base params { narrow args; } \
  static void name params \
  { \
    switch (siglip_row_kernel_isa ()) { \
    case 2: name##_v4 args; break; \
    case 1: name##_v3 args; break; \
    default: name##_base args; break; \
    } \
  }
#else
#define ROW_KERNEL_DISPATCH_BODIES(name, wide, narrow, params, args) \
  static void name params { narrow args; }
#endif
#define ROW_KERNEL_DISPATCH(name, params, args) \
  ROW_KERNEL_DISPATCH_BODIES (name, name##_body, name##_body, params, args)
/* The same for a kernel with a body of 8 lanes, `name##_body8`, for the targets whose vectors
 * are narrower than 16 lanes (ops.c's vexp says why). */
#define ROW_KERNEL_DISPATCH_8(name, params, args) \
  ROW_KERNEL_DISPATCH_BODIES (name, name##_body, name##_body8, params, args)

/* The helpers pass 64-byte vectors by value; they are always inlined, so the warning that
 * such a call's ABI differs without AVX-512 never applies. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

INLINE vf
vload (const float *p)
{
  vf v;
  memcpy (&v, p, sizeof v);
  return v;
}

INLINE void
vstore (float *p, vf v)
{
  memcpy (p, &v, sizeof v);
}

INLINE vf
vsplat (float x)
{
  return (vf) { 0 } + x;
}

/* mask ? a : b, lane by lane; mask lanes are 0 or -1 as vector comparisons give them */
INLINE vf
vselect (vi mask, vf a, vf b)
{
  return (vf) (((vi) a & mask) | ((vi) b & ~mask));
}

INLINE float
vsum (vf v)
{
  float s = 0;
  for (int i = 0; i < LANES; i++)
    s += v[i];
  return s;
}

INLINE float
vmax_lanes (vf v)
{
  float m = v[0];
  for (int i = 1; i < LANES; i++)
    m = v[i] > m ? v[i] : m;
  return m;
}

INLINE int
round_up (int x, int m)
{
  return (x + m - 1) / m * m;
}

#endif /* SIGLIP_VEC_H */
