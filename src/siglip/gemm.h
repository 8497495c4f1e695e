/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * gemm.h — every matrix product of the towers goes through here, so that the precision
 * (fp32 through OpenBLAS, bf16 panels packed at load) and the threading are chosen in one place.
 *
 * The products run on the pool of pool.h, OpenBLAS included (one OpenBLAS thread per worker).
 */
#ifndef SIGLIP_GEMM_H
#define SIGLIP_GEMM_H

#include "internal.h"

/* y (n, w.rows) = x (n, w.cols) @ W^T (w.cols, w.rows) + b   — b may be NULL.
 * Uses w.packed when set (fp32 or bf16 panels), else the row-major F32 rows (w.w or w.stacked):
 * with our AVX-512 / AVX2 kernel for n >= 16, else through OpenBLAS sgemm. */
void siglip_linear (float *y, const float *x, const siglip_matrix *w, const float *b, int n);

/* ------------------------------------------------------------------------------------------ */
/* packing: once at load, into the layout the kernels read (gemm-private.h) */

/* Packs a row-major [m->rows, m->cols] source of `dtype` (F32, BF16 or F16, little-endian, any
 * alignment) into panels of `precision` and sets m->packed; m->w is left as it was. From then
 * on siglip_linear reads only m->packed, so the caller may release the source and set
 * m->w = NULL. bf16 panels round F32/F16 to nearest even and copy BF16 exactly. Returns false
 * with an error naming the matrix shape when out of memory or the source is unusable. */
bool siglip_gemm_pack (siglip_matrix *m, siglip_precision precision, const void *src,
                       siglip_dtype dtype, siglip_error **error);
/* True when a bf16 model can compute on F32 rows marked bf16_rows (internal.h) with the
 * numbers of its panels: the bf16 kernel is AVX512-BF16 (each task packs its panels from the
 * rows as it goes), or one whose products are fp32 activations times bf16 weights in fp32 (the
 * AVX2 and widened AVX-512 ones) and the fp32 row-major kernel runs to read the rows rounded. */
bool siglip_gemm_can_round_rows (void);
/* True when the loader should pack fp32 weights into panels. False on every CPU now: where
 * our fp32 kernels run (AVX-512F, AVX2 + FMA) they read the row-major weights from the file's
 * mapping as they are (gemm.c's linear_rowmajor), elsewhere OpenBLAS does. Asked in one place
 * so that a kernel that wants panels again needs no change in the loader. */
bool siglip_gemm_fp32_packing_pays (void);
/* The matrix back as row-major F32 [rows, cols] into out (for tests and diagnostics): a copy
 * of w, fp32 panels exactly, bf16 panels widened exactly from their bf16 values. */
void siglip_gemm_unpack_f32 (const siglip_matrix *m, float *out);
/* Rows of a matrix to pack, in a source of its own: `rows` rows of m->cols values of `dtype`
 * (F32, BF16 or F16, little-endian, any alignment). */
typedef struct {
  const void *data;
  siglip_dtype dtype;
  int rows;
} siglip_gemm_rows;
/* siglip_gemm_pack of the matrix made of `parts` stacked in order (their rows sum to
 * m->rows): one [3D, D] [q; k; v] matrix from the three tensors, with no copy of them. */
bool siglip_gemm_pack_stacked (siglip_matrix *m, siglip_precision precision,
                               const siglip_gemm_rows *parts, int n_parts, siglip_error **error);
/* Packed matrices kept outside the process (weight-cache.c): the bytes of a [rows, cols]
 * matrix's panels, the name of the layout (part of a cache's key: a change to the panels must
 * change it), packing into a buffer of that size (64-byte aligned) without a matrix, and a
 * matrix whose panels are such bytes owned by someone else, who keeps them alive as long as m
 * (siglip_gemm_packed_free frees only what it made). */
size_t siglip_gemm_packed_data_bytes (siglip_precision precision, int rows, int cols);
const char *siglip_gemm_packed_layout (siglip_precision precision);
bool siglip_gemm_pack_to (void *out, siglip_precision precision, int rows, int cols,
                          const siglip_gemm_rows *parts, int n_parts, siglip_error **error);
bool siglip_gemm_packed_borrow (siglip_matrix *m, siglip_precision precision, const void *data,
                                siglip_error **error);
/* siglip_gemm_pack of m->w (F32) into fp32 panels. */
bool siglip_gemm_pack_f32 (siglip_matrix *m, siglip_error **error);

/* ------------------------------------------------------------------------------------------ */
/* bf16 weights */

/* Packs m->w once into bf16 panels (round to nearest even), the layout the bf16 kernels read,
 * and sets m->packed (half the bytes of the F32 matrix). From then on siglip_linear reads only
 * m->packed, so the loader may free an F32 copy it owns and set m->w = NULL. Returns false with
 * an error naming the matrix shape when out of memory. */
bool siglip_gemm_pack_bf16 (siglip_matrix *m, siglip_error **error);
/* Frees what siglip_gemm_pack* stored in m->packed and sets it to NULL. */
void siglip_gemm_packed_free (siglip_matrix *m);
/* Bytes held by a packed matrix (for memory reports). */
size_t siglip_gemm_packed_bytes (const siglip_matrix *m);

/* ------------------------------------------------------------------------------------------ */
/* backends */

/* The widest x86 vector instructions the kernels use: what the CPU has, capped by the
 * environment variable SIGLIP_ISA (read once): SIGLIP_ISA=avx2 makes the core choose its
 * kernels exactly as on a CPU without AVX-512 (AVX2 + FMA), SIGLIP_ISA=generic as on one
 * without AVX2 (OpenBLAS and portable C only); anything else, or unset, changes nothing.
 * Every cpu_has function below answers for this capped ISA. */
typedef enum {
  SIGLIP_ISA_GENERIC = 0,
  SIGLIP_ISA_AVX2,             /* AVX2 and FMA */
  SIGLIP_ISA_AVX512,           /* AVX-512F too */
} siglip_isa;
siglip_isa siglip_isa_get (void);
/* "generic", "avx2" or "avx512" */
const char *siglip_isa_name (siglip_isa isa);

typedef enum {
  SIGLIP_GEMM_BF16_AUTO = 0,   /* AVX512-BF16 where the CPU has it and it pays (not on CPUs with
                                  AMX), else panels widened for the AVX-512 fp32 kernel, else
                                  the AVX2 kernel, else generic */
  SIGLIP_GEMM_BF16_GENERIC,    /* widen bf16 panels to f32 tiles and call sgemm: any CPU */
  SIGLIP_GEMM_BF16_AVX2,       /* the AVX2 kernel even where AVX-512 is there (tests) */
  SIGLIP_GEMM_BF16_AVX512,     /* widened for the AVX-512 fp32 kernel even where AVX512-BF16
                                  would be chosen (tests; AVX2 without AVX-512F) */
  SIGLIP_GEMM_BF16_AVX512BF16, /* the AVX512-BF16 kernel wherever the CPU has it (tests) */
} siglip_gemm_bf16_backend;

/* Name of the bf16 kernel siglip_linear will use: "avx512bf16", "avx512" (widened), "avx2" or
 * "generic". The environment variable SIGLIP_GEMM_BF16=generic forces the generic one, and
 * =avx512bf16 the AVX512-BF16 one where the CPU has it (read once). */
const char *siglip_gemm_bf16_kernel_name (void);
/* Tests and the benchmark force a backend; AUTO restores runtime detection. Not thread-safe
 * against concurrent siglip_linear calls. */
void siglip_gemm_set_bf16_backend (siglip_gemm_bf16_backend backend);
/* True when bf16 work runs on the AVX512-BF16 kernels now: the CPU has them and no backend
 * was forced to generic. attention.c follows the same choice. */
bool siglip_gemm_bf16_is_native (void);
/* True when this CPU can run the AVX512-BF16 kernel. */
bool siglip_gemm_cpu_has_avx512bf16 (void);
/* True when the packed precision of m is bf16 (false for fp32 panels and unpacked matrices). */
bool siglip_gemm_packed_is_bf16 (const siglip_matrix *m);

typedef enum {
  SIGLIP_GEMM_FP32_AUTO = 0,   /* our kernel on fp32 panels: AVX-512 when the CPU has AVX-512F,
                                  else AVX2 + FMA when it has those, else OpenBLAS */
  SIGLIP_GEMM_FP32_OPENBLAS,   /* OpenBLAS sgemm, on the panels (one call per panel) or on w */
  SIGLIP_GEMM_FP32_AVX2,       /* the AVX2 kernel even where AVX-512 is there (tests) */
} siglip_gemm_fp32_backend;

/* Name of the kernel fp32 panels use: "avx512", "avx2" or "openblas". SIGLIP_GEMM_F32=openblas
 * in the environment forces OpenBLAS (read once). */
const char *siglip_gemm_fp32_kernel_name (void);
/* As siglip_gemm_set_bf16_backend, for fp32 panels. */
void siglip_gemm_set_fp32_backend (siglip_gemm_fp32_backend backend);
/* True when this CPU can run the AVX-512 fp32 kernel. */
bool siglip_gemm_cpu_has_avx512f (void);
/* True when this CPU can run the AVX2 + FMA kernels (fp32 and bf16). */
bool siglip_gemm_cpu_has_avx2 (void);

#endif /* SIGLIP_GEMM_H */
