/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * gemm.h — every matrix product of the towers goes through here, so that the precision
 * (fp32 through OpenBLAS, bf16 panels packed at load) and the threading are chosen in one place.
 *
 * Threads: libsiglip runs all its parallel work on one process-wide pool (the caller is
 * worker 0). OpenBLAS is kept at one thread and is called from inside the pool, so OpenBLAS's
 * own threads never compete with ours for the cores (they busy-wait after each call).
 */
#ifndef SIGLIP_GEMM_H
#define SIGLIP_GEMM_H

#include "internal.h"

/* y (n, w.rows) = x (n, w.cols) @ W^T (w.cols, w.rows) + b   — b may be NULL.
 * Uses w.packed when set (bf16 panels), else the F32 w.w through OpenBLAS sgemm. */
void siglip_linear (float *y, const float *x, const siglip_matrix *w, const float *b, int n);

/* ------------------------------------------------------------------------------------------ */
/* bf16 weights */

/* Packs m->w once into bf16 panels (round to nearest even), the layout the bf16 kernels read,
 * and sets m->packed (half the bytes of the F32 matrix). From then on siglip_linear reads only
 * m->packed, so the loader may free an F32 copy it owns and set m->w = NULL. Returns false with
 * an error naming the matrix shape when out of memory. */
bool siglip_gemm_pack_bf16 (siglip_matrix *m, siglip_error **error);
/* Frees what siglip_gemm_pack_bf16 stored in m->packed and sets it to NULL. */
void siglip_gemm_packed_free (siglip_matrix *m);
/* Bytes held by a packed matrix (for memory reports). */
size_t siglip_gemm_packed_bytes (const siglip_matrix *m);

/* ------------------------------------------------------------------------------------------ */
/* backends and threads */

typedef enum {
  SIGLIP_GEMM_BF16_AUTO = 0,   /* AVX512-BF16 kernel when the CPU has it, else generic */
  SIGLIP_GEMM_BF16_GENERIC,    /* widen bf16 panels to f32 tiles and call sgemm: any CPU */
} siglip_gemm_bf16_backend;

/* Name of the bf16 kernel siglip_linear will use: "avx512bf16" or "generic". The environment
 * variable SIGLIP_GEMM_BF16=generic forces the generic one (read once). */
const char *siglip_gemm_bf16_kernel_name (void);
/* Tests and the benchmark force a backend; AUTO restores runtime detection. Not thread-safe
 * against concurrent siglip_linear calls. */
void siglip_gemm_set_bf16_backend (siglip_gemm_bf16_backend backend);
/* True when this CPU can run the AVX512-BF16 kernel. */
bool siglip_gemm_cpu_has_avx512bf16 (void);

/* Sets the size of the pool (0: the machine's online cores). Called by the loader with the
 * model's n_threads; the largest request made so far wins. */
void siglip_gemm_set_threads (int n_threads);
int  siglip_gemm_get_threads (void);

/* Runs fn (ctx, task, worker) for task = 0 .. n_tasks-1 on the pool, static contiguous split,
 * and returns when all are done. When the pool is busy (another thread of the process is using
 * it) the tasks run serially in the calling thread — correct, just not parallel. */
typedef void (*siglip_task_func) (void *ctx, int task, int worker);
void siglip_parallel_for (int n_tasks, siglip_task_func fn, void *ctx);

#endif /* SIGLIP_GEMM_H */
