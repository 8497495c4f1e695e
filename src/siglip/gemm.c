/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * gemm.c — siglip_linear and the packed weight panels (fp32 and bf16), run on the pool of pool.c.
 *
 * Why our own bf16 kernel and not oneDNN 2.6 (Debian libdnnl-dev): measured on the target box
 * (Zen 5, 2 threads, best runs; the box was shared with other builds, medians swing 2x):
 * oneDNN's matmul (brg:avx512_core_bf16, activations ALREADY bf16, weights in its preferred
 * blocked layout) reached 800-860 GFLOP/s on M=256, N/K = 1152/4304; this kernel 750-810 on the
 * same shapes, including the f32 -> bf16 conversion of the activations that oneDNN was spared.
 * That ~5-10% does not pay for a 30 MB dependency to build into the Flatpak, a second thread
 * runtime (OpenMP) competing with our pool for two cores, and a packed layout we do not control.
 * The kernel is ~150 lines (gemm-avx512bf16.c), packs once at load, and runs on the pool.
 *
 * fp32: our kernels (gemm-avx512f32.c where the CPU has AVX-512F, gemm-avx2f32.c on AVX2 +
 * FMA CPUs, most laptops) read the weights row-major from the file's mapping
 * (linear_rowmajor); OpenBLAS's speed depends on OPENBLAS_CORETYPE (0.45 of the FMA peak with
 * the Haswell kernels). bf16: panels packed once (or mapped from the weight cache), multiplied
 * by gemm-avx512bf16.c's vdpbf16ps, or widened for the fp32 kernels by gemm-avx512bf16wide.c
 * and gemm-avx2bf16.c (bf16_kernel_get says which CPU gets which). Elsewhere (aarch64, old
 * x86) OpenBLAS does it, on our pool (one OpenBLAS thread per worker, columns split; pool.c
 * says why). SIGLIP_ISA=avx2 (gemm.h) runs the AVX2 choice on an AVX-512 machine. Splitting N
 * between workers costs nothing at these shapes (N >= 1152).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cblas.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "gemm.h"
#include "gemm-private.h"
#include "pool.h"

#define NR SIGLIP_GEMM_NR

/* ------------------------------------------------------------------------------------------ */
/* per-thread scratch: grown once to the largest request, reused by every later call, so the
 * forward pass does not allocate after its first layer */

enum { SCRATCH_A, SCRATCH_TILE, SCRATCH_XP, SCRATCH_BF16_ROWS, N_SCRATCH };

typedef struct {
  void *p[N_SCRATCH];
  size_t n[N_SCRATCH];
} scratch_set;

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void
scratch_free (void *data)
{
  scratch_set *set = data;
  for (int i = 0; i < N_SCRATCH; i++)
    free (set->p[i]);
  free (set);
}

static void
scratch_init (void)
{
  pthread_key_create (&scratch_key, scratch_free);
}

/* 64-byte aligned buffer of at least `bytes` for this thread, or NULL when out of memory. */
static void *
scratch_get (int slot, size_t bytes)
{
  pthread_once (&scratch_once, scratch_init);
  scratch_set *set = pthread_getspecific (scratch_key);
  if (!set) {
    set = calloc (1, sizeof *set);
    if (!set || pthread_setspecific (scratch_key, set) != 0) {
      free (set);
      return NULL;
    }
  }
  if (set->n[slot] < bytes) {
    size_t size = (bytes + 63) & ~(size_t) 63;
    void *p = aligned_alloc (64, size);
    if (!p)
      return NULL;
    free (set->p[slot]);
    set->p[slot] = p;
    set->n[slot] = size;
  }
  return set->p[slot];
}

/* Tasks for n items (panels) split in one contiguous share per worker: the pool's threads, or
 * fewer when there are fewer items. */
static int
worker_tasks (int n)
{
  const int threads = siglip_pool_n_threads ();
  return threads < n ? threads : n;
}

/* Task `task` of n_tasks, each a contiguous share of n items (panels) as even as can be:
 * [begin, end). */
static void
task_share (int n, int task, int n_tasks, int *begin, int *end)
{
  *begin = (int) ((long) n * task / n_tasks);
  *end = (int) ((long) n * (task + 1) / n_tasks);
}

/* ------------------------------------------------------------------------------------------ */
/* backend selection */

/* What the CPU has, capped by SIGLIP_ISA (read once). */
siglip_isa
siglip_isa_get (void)
{
  static int cached = -1;
  if (cached >= 0)
    return (siglip_isa) cached;
  siglip_isa isa = SIGLIP_ISA_GENERIC;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init ();
  if (__builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma")) {
    isa = SIGLIP_ISA_AVX2;
    if (__builtin_cpu_supports ("avx512f"))
      isa = SIGLIP_ISA_AVX512;
  }
#endif
  const char *cap = getenv ("SIGLIP_ISA");
  if (cap && strcmp (cap, "avx2") == 0 && isa > SIGLIP_ISA_AVX2)
    isa = SIGLIP_ISA_AVX2;
  else if (cap && strcmp (cap, "generic") == 0)
    isa = SIGLIP_ISA_GENERIC;
  cached = (int) isa;
  return isa;
}

const char *
siglip_isa_name (siglip_isa isa)
{
  switch (isa) {
  case SIGLIP_ISA_AVX512: return "avx512";
  case SIGLIP_ISA_AVX2: return "avx2";
  case SIGLIP_ISA_GENERIC:
  default: return "generic";
  }
}

bool
siglip_gemm_cpu_has_avx512bf16 (void)
{
#ifdef SIGLIP_GEMM_HAVE_AVX512BF16_KERNEL
  static int has = -1;
  if (has < 0) {
    __builtin_cpu_init ();
    has = siglip_isa_get () == SIGLIP_ISA_AVX512 && __builtin_cpu_supports ("avx512bf16")
          && __builtin_cpu_supports ("avx512bw") && __builtin_cpu_supports ("avx512vl")
          && __builtin_cpu_supports ("avx512dq");
  }
  return has;
#else
  return false;
#endif
}

bool
siglip_gemm_cpu_has_avx512f (void)
{
#ifdef SIGLIP_GEMM_HAVE_AVX512F32_KERNEL
  return siglip_isa_get () == SIGLIP_ISA_AVX512;
#else
  return false;
#endif
}

bool
siglip_gemm_cpu_has_avx2 (void)
{
#ifdef SIGLIP_GEMM_HAVE_AVX2_KERNELS
  return siglip_isa_get () >= SIGLIP_ISA_AVX2;
#else
  return false;
#endif
}

static bool
env_is (const char *name, const char *value, int *cached)
{
  if (*cached < 0) {
    const char *v = getenv (name);
    *cached = v && strcmp (v, value) == 0;
  }
  return *cached;
}

typedef enum { BF16_GENERIC, BF16_AVX2, BF16_AVX512, BF16_AVX512BF16 } bf16_kernel;
typedef enum { FP32_OPENBLAS, FP32_AVX2, FP32_AVX512 } fp32_kernel;

static siglip_gemm_bf16_backend forced_backend = SIGLIP_GEMM_BF16_AUTO;
static siglip_gemm_fp32_backend forced_fp32_backend = SIGLIP_GEMM_FP32_AUTO;

/* True on CPUs whose vdpbf16ps is no faster than their fp32 FMAs: Intel's, which have AMX for
 * bf16 (gemm-avx512bf16wide.c gives the figures). The CPUID bit itself (leaf 7, EDX bit 22,
 * AMX-BF16), not __builtin_cpu_supports: clang 14 does not know "amx-bf16". Only a choice of
 * kernel rests on it; no AMX instruction runs. */
static bool
cpu_prefers_widened_bf16 (void)
{
#if defined(__x86_64__) || defined(__i386__)
  unsigned int a, b, c, d;
  return __get_cpuid_count (7, 0, &a, &b, &c, &d) && (d >> 22) & 1u;
#else
  return false;
#endif
}

static bf16_kernel
bf16_kernel_get (void)
{
  static int env_generic = -1, env_native = -1, prefers_widened = -1;
  if (forced_backend == SIGLIP_GEMM_BF16_GENERIC
      || env_is ("SIGLIP_GEMM_BF16", "generic", &env_generic))
    return BF16_GENERIC;
  if (forced_backend == SIGLIP_GEMM_BF16_AVX2)
    return siglip_gemm_cpu_has_avx2 () ? BF16_AVX2 : BF16_GENERIC;
  if (prefers_widened < 0)
    prefers_widened = cpu_prefers_widened_bf16 ();
  const bool native = forced_backend == SIGLIP_GEMM_BF16_AVX512BF16
                      || env_is ("SIGLIP_GEMM_BF16", "avx512bf16", &env_native)
                      || (forced_backend != SIGLIP_GEMM_BF16_AVX512 && !prefers_widened);
  if (native && siglip_gemm_cpu_has_avx512bf16 ())
    return BF16_AVX512BF16;
  if (siglip_gemm_cpu_has_avx512f ())
    return BF16_AVX512;
  return siglip_gemm_cpu_has_avx2 () ? BF16_AVX2 : BF16_GENERIC;
}

static fp32_kernel
fp32_kernel_get (void)
{
  static int env_openblas = -1;
  if (forced_fp32_backend == SIGLIP_GEMM_FP32_OPENBLAS
      || env_is ("SIGLIP_GEMM_F32", "openblas", &env_openblas))
    return FP32_OPENBLAS;
  if (forced_fp32_backend != SIGLIP_GEMM_FP32_AVX2 && siglip_gemm_cpu_has_avx512f ())
    return FP32_AVX512;
  return siglip_gemm_cpu_has_avx2 () ? FP32_AVX2 : FP32_OPENBLAS;
}

bool
siglip_gemm_can_round_rows (void)
{
  const bf16_kernel kernel = bf16_kernel_get ();
  return kernel == BF16_AVX512BF16
         || ((kernel == BF16_AVX2 || kernel == BF16_AVX512) && fp32_kernel_get () != FP32_OPENBLAS);
}

bool
siglip_gemm_fp32_packing_pays (void)
{
  /* our fp32 kernels read the row-major weights as they are (linear_rowmajor) */
  return false;
}

void
siglip_gemm_set_fp32_backend (siglip_gemm_fp32_backend backend)
{
  forced_fp32_backend = backend;
}

const char *
siglip_gemm_fp32_kernel_name (void)
{
  switch (fp32_kernel_get ()) {
  case FP32_AVX512: return "avx512";
  case FP32_AVX2: return "avx2";
  case FP32_OPENBLAS:
  default: return "openblas";
  }
}

void
siglip_gemm_set_bf16_backend (siglip_gemm_bf16_backend backend)
{
  forced_backend = backend;
}

bool
siglip_gemm_bf16_is_native (void)
{
  return bf16_kernel_get () == BF16_AVX512BF16;
}

const char *
siglip_gemm_bf16_kernel_name (void)
{
  switch (bf16_kernel_get ()) {
  case BF16_AVX512BF16: return "avx512bf16";
  case BF16_AVX512: return "avx512";
  case BF16_AVX2: return "avx2";
  case BF16_GENERIC:
  default: return "generic";
  }
}

/* ------------------------------------------------------------------------------------------ */
/* packing */

#define PACK_KB 128 /* inputs per block of the transposition: 512-byte runs of each source row, a 16 KiB block in L1 */

typedef struct {
  const siglip_gemm_rows *parts; /* stacked one after the other */
  int n_parts;
  int n, k;
  void *panels;   /* siglip_f32_panels or siglip_bf16_panels */
} pack_job;

/* block[c][kk] = W[row0 + c][k0 + kk] as f32 for c < NR, kk < kb; rows past n are zero. */
static void
load_block (float block[NR][PACK_KB], const pack_job *job, int row0, int k0, int kb)
{
  for (int c = 0; c < NR; c++) {
    const int row = row0 + c;
    float *out = block[c];
    if (row >= job->n) {
      memset (out, 0, sizeof block[c]);
      continue;
    }
    const siglip_gemm_rows *part = job->parts;
    int r = row;
    while (r >= part->rows)
      r -= (part++)->rows;
    const uint8_t *src = part->data;
    const size_t at = (size_t) r * job->k + k0;
    switch (part->dtype) {
    case SIGLIP_DTYPE_F32:
      memcpy (out, src + at * 4, (size_t) kb * 4); /* any alignment */
      break;
    case SIGLIP_DTYPE_BF16:
      for (int kk = 0; kk < kb; kk++) {
        uint16_t h;
        memcpy (&h, src + (at + kk) * 2, 2);
        out[kk] = siglip_bf16_to_f32 (h);
      }
      break;
    case SIGLIP_DTYPE_F16:
    default:
      for (int kk = 0; kk < kb; kk++) {
        uint16_t h;
        memcpy (&h, src + (at + kk) * 2, 2);
        out[kk] = siglip_f16_to_f32 (h);
      }
      break;
    }
    for (int kk = kb; kk < PACK_KB; kk++)
      out[kk] = 0.0f;
  }
}

/* One fp32 panel: the source rows are read in blocks of PACK_KB inputs and transposed. */
static void
pack_f32_task (void *data, int j, int worker)
{
  const pack_job *job = data;
  const siglip_f32_panels *p = job->panels;
  float *panel = p->data + (size_t) j * p->cols * NR;
  float block[NR][PACK_KB];
  for (int k0 = 0; k0 < p->cols; k0 += PACK_KB) {
    const int kb = p->cols - k0 < PACK_KB ? p->cols - k0 : PACK_KB;
    load_block (block, job, j * NR, k0, kb);
    for (int kk = 0; kk < kb; kk++)
      for (int c = 0; c < NR; c++)
        panel[(size_t) (k0 + kk) * NR + c] = block[c][kk];
  }
}

/* One bf16 panel (layout in gemm-private.h). A BF16 source round-trips exactly through f32. */
static void
pack_bf16_task (void *data, int j, int worker)
{
  const pack_job *job = data;
  const siglip_bf16_panels *p = job->panels;
  uint16_t *panel = p->data + (size_t) j * p->k_pairs * NR * 2;
  float block[NR][PACK_KB];
  for (int k0 = 0; k0 < p->cols; k0 += PACK_KB) {
    const int kb = p->cols - k0 < PACK_KB ? p->cols - k0 : PACK_KB;
    load_block (block, job, j * NR, k0, kb); /* zero past kb: the odd K's partner is 0 */
    for (int q = 0; q < (kb + 1) / 2; q++)
      for (int c = 0; c < NR; c++)
        for (int h = 0; h < 2; h++)
          panel[(size_t) (k0 / 2 + q) * NR * 2 + 2 * c + h] = siglip_f32_to_bf16_rne (block[c][2 * q + h]);
  }
}

/* Packed weights are the bulk of the process's memory and are read by every GEMM: ask for
 * transparent huge pages (fewer page faults when packing, fewer TLB misses in the kernels). */
static void *
alloc_panels (size_t bytes)
{
  const size_t align = bytes >= ((size_t) 2 << 20) ? (size_t) 2 << 20 : 64;
  const size_t size = (bytes + align - 1) & ~(align - 1);
  void *p = aligned_alloc (align, size);
#ifdef MADV_HUGEPAGE
  if (p && align > 64)
    madvise (p, size, MADV_HUGEPAGE);
#endif
  return p;
}

bool
siglip_gemm_pack (siglip_matrix *m, siglip_precision precision, const void *src,
                  siglip_dtype dtype, siglip_error **error)
{
  const siglip_gemm_rows all = { src, dtype, m->rows };
  return siglip_gemm_pack_stacked (m, precision, &all, 1, error);
}

/* The panels' header for a [n, k] matrix of `precision`, without data. */
static void *
panels_new (siglip_precision precision, int n, int k, size_t *bytes)
{
  const int n_panels = (n + NR - 1) / NR;
  if (precision == SIGLIP_PRECISION_BF16) {
    siglip_bf16_panels *p = calloc (1, sizeof *p);
    if (p) {
      *p = (siglip_bf16_panels){ .magic = SIGLIP_GEMM_PANELS_MAGIC, .rows = n, .cols = k,
                                 .k_pairs = (k + 1) / 2, .n_panels = n_panels };
      p->bytes = *bytes = (size_t) n_panels * p->k_pairs * NR * 2 * sizeof (uint16_t);
    }
    return p;
  }
  siglip_f32_panels *p = calloc (1, sizeof *p);
  if (p) {
    *p = (siglip_f32_panels){ .magic = SIGLIP_GEMM_F32_PANELS_MAGIC, .rows = n, .cols = k,
                              .n_panels = n_panels };
    p->bytes = *bytes = (size_t) n_panels * k * NR * sizeof (float);
  }
  return p;
}

static void
panels_set_data (void *panels, void *data, bool borrowed)
{
  if (*(const uint32_t *) panels == SIGLIP_GEMM_PANELS_MAGIC) {
    ((siglip_bf16_panels *) panels)->data = data;
    ((siglip_bf16_panels *) panels)->borrowed = borrowed;
  } else {
    ((siglip_f32_panels *) panels)->data = data;
    ((siglip_f32_panels *) panels)->borrowed = borrowed;
  }
}

size_t
siglip_gemm_packed_data_bytes (siglip_precision precision, int rows, int cols)
{
  const size_t n_panels = ((size_t) rows + NR - 1) / NR;
  return precision == SIGLIP_PRECISION_BF16 ? n_panels * (((size_t) cols + 1) / 2) * NR * 2 * sizeof (uint16_t)
                                            : n_panels * (size_t) cols * NR * sizeof (float);
}

const char *
siglip_gemm_packed_layout (siglip_precision precision)
{
  /* what gemm-private.h draws; a change to it must change this string */
  return precision == SIGLIP_PRECISION_BF16 ? "bf16 panels nr=32 k-pairs v1" : "f32 panels nr=32 v1";
}

static bool
check_parts (int n, int k, const siglip_gemm_rows *parts, int n_parts, siglip_error **error)
{
  int stacked = 0;
  for (int i = 0; i < n_parts; i++) {
    const siglip_dtype dtype = parts[i].dtype;
    if (!parts[i].data || parts[i].rows <= 0)
      return siglip_set_error (error, SIGLIP_ERR_INVALID_INPUT,
                               "packing: matrix [%d, %d] has no data", n, k);
    if (dtype != SIGLIP_DTYPE_F32 && dtype != SIGLIP_DTYPE_BF16 && dtype != SIGLIP_DTYPE_F16)
      return siglip_set_error (error, SIGLIP_ERR_UNSUPPORTED,
                               "packing: matrix [%d, %d]: dtype is not F32, BF16 or F16", n, k);
    stacked += parts[i].rows;
  }
  if (n_parts <= 0 || stacked != n || k <= 0)
    return siglip_set_error (error, SIGLIP_ERR_INVALID_INPUT,
                             "packing: matrix [%d, %d] has no data", n, k);
  return true;
}

/* Fills the panels (header and data already set) from the parts, on the pool. */
static void
pack_panels (void *panels, int n, int k, const siglip_gemm_rows *parts, int n_parts)
{
  pack_job job = { parts, n_parts, n, k, panels };
  const bool bf16 = *(const uint32_t *) panels == SIGLIP_GEMM_PANELS_MAGIC;
  siglip_parallel_for ((n + NR - 1) / NR, bf16 ? pack_bf16_task : pack_f32_task, &job);
}

bool
siglip_gemm_pack_stacked (siglip_matrix *m, siglip_precision precision,
                          const siglip_gemm_rows *parts, int n_parts, siglip_error **error)
{
  const int n = m->rows, k = m->cols;
  if (!check_parts (n, k, parts, n_parts, error))
    return false;
  size_t bytes = 0;
  void *panels = panels_new (precision, n, k, &bytes);
  if (!panels)
    return siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "packing: out of memory");
  void *data = alloc_panels (bytes);
  if (!data) {
    free (panels);
    return siglip_set_error (error, SIGLIP_ERR_NO_MEMORY,
                             "packing: out of memory for a [%d, %d] matrix (%zu bytes)", n, k, bytes);
  }
  panels_set_data (panels, data, false);
  pack_panels (panels, n, k, parts, n_parts);
  m->packed = panels;
  return true;
}

bool
siglip_gemm_pack_to (void *out, siglip_precision precision, int rows, int cols,
                     const siglip_gemm_rows *parts, int n_parts, siglip_error **error)
{
  if (!check_parts (rows, cols, parts, n_parts, error))
    return false;
  size_t bytes = 0;
  void *panels = panels_new (precision, rows, cols, &bytes);
  if (!panels)
    return siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "packing: out of memory");
  panels_set_data (panels, out, true);
  pack_panels (panels, rows, cols, parts, n_parts);
  free (panels);
  return true;
}

bool
siglip_gemm_packed_borrow (siglip_matrix *m, siglip_precision precision, const void *data,
                           siglip_error **error)
{
  size_t bytes = 0;
  void *panels = panels_new (precision, m->rows, m->cols, &bytes);
  if (!panels)
    return siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "packing: out of memory");
  panels_set_data (panels, (void *) data, true);
  m->packed = panels;
  return true;
}

bool
siglip_gemm_pack_bf16 (siglip_matrix *m, siglip_error **error)
{
  if (!m->w)
    return siglip_set_error (error, SIGLIP_ERR_INVALID_INPUT,
                             "bf16 packing: matrix [%d, %d] has no F32 data", m->rows, m->cols);
  return siglip_gemm_pack (m, SIGLIP_PRECISION_BF16, m->w, SIGLIP_DTYPE_F32, error);
}

bool
siglip_gemm_pack_f32 (siglip_matrix *m, siglip_error **error)
{
  if (!m->w)
    return siglip_set_error (error, SIGLIP_ERR_INVALID_INPUT,
                             "fp32 packing: matrix [%d, %d] has no F32 data", m->rows, m->cols);
  return siglip_gemm_pack (m, SIGLIP_PRECISION_FP32, m->w, SIGLIP_DTYPE_F32, error);
}

static uint32_t
packed_magic (const siglip_matrix *m)
{
  return m->packed ? *(const uint32_t *) m->packed : 0;
}

void
siglip_gemm_unpack_f32 (const siglip_matrix *m, float *out)
{
  const int n = m->rows, k = m->cols;
  for (int r = 0; r < n; r++)
    for (int col = 0; col < k; col++) {
      float v;
      if (packed_magic (m) == SIGLIP_GEMM_F32_PANELS_MAGIC) {
        const siglip_f32_panels *p = m->packed;
        v = p->data[((size_t) (r / NR) * k + col) * NR + r % NR];
      } else if (packed_magic (m) == SIGLIP_GEMM_PANELS_MAGIC) {
        const siglip_bf16_panels *p = m->packed;
        v = siglip_bf16_to_f32 (p->data[((size_t) (r / NR) * p->k_pairs + col / 2) * NR * 2
                                             + 2 * (r % NR) + (col & 1)]);
      } else if (m->n_stacked > 0) {
        const int per = m->rows / m->n_stacked;
        v = m->stacked[r / per][(size_t) (r % per) * k + col];
      } else {
        v = m->w[(size_t) r * k + col];
      }
      if (m->bf16_rows && !m->packed)
        v = siglip_bf16_to_f32 (siglip_f32_to_bf16_rne (v));
      out[(size_t) r * k + col] = v;
    }
}

bool
siglip_gemm_packed_is_bf16 (const siglip_matrix *m)
{
  return packed_magic (m) == SIGLIP_GEMM_PANELS_MAGIC;
}

void
siglip_gemm_packed_free (siglip_matrix *m)
{
  if (!m->packed)
    return;
  if (siglip_gemm_packed_is_bf16 (m)) {
    siglip_bf16_panels *p = (siglip_bf16_panels *) m->packed;
    if (!p->borrowed)
      free (p->data);
    free (p);
  } else {
    siglip_f32_panels *p = (siglip_f32_panels *) m->packed;
    if (!p->borrowed)
      free (p->data);
    free (p);
  }
  m->packed = NULL;
}

size_t
siglip_gemm_packed_bytes (const siglip_matrix *m)
{
  if (!m->packed)
    return 0;
  if (siglip_gemm_packed_is_bf16 (m))
    return ((const siglip_bf16_panels *) m->packed)->bytes + sizeof (siglip_bf16_panels);
  return ((const siglip_f32_panels *) m->packed)->bytes + sizeof (siglip_f32_panels);
}

/* ------------------------------------------------------------------------------------------ */
/* fp32: OpenBLAS sgemm, columns split between workers */

/* Row r of an unpacked matrix, and how many rows follow it contiguously. */
static const float *
matrix_rows (const siglip_matrix *m, int r, int *contiguous)
{
  if (m->n_stacked <= 0) {
    *contiguous = m->rows - r;
    return m->w + (size_t) r * m->cols;
  }
  const int per = m->rows / m->n_stacked, p = r / per;
  *contiguous = per - r % per;
  return m->stacked[p] + (size_t) (r % per) * m->cols;
}

typedef struct {
  float *y;
  const float *x, *b;
  const siglip_matrix *w;
  int n, k, d;
  int chunk; /* columns per task */
} fp32_job;

static void
fp32_task (void *data, int task, int worker)
{
  const fp32_job *job = data;
  const int end = job->d < (task + 1) * job->chunk ? job->d : (task + 1) * job->chunk;
  for (int j0 = task * job->chunk; j0 < end;) {
    int cols;
    const float *w = matrix_rows (job->w, j0, &cols);
    cols = end - j0 < cols ? end - j0 : cols;
    if (job->b)
      for (int i = 0; i < job->n; i++)
        memcpy (job->y + (size_t) i * job->d + j0, job->b + j0, (size_t) cols * sizeof (float));
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, job->n, cols, job->k, 1.0f, job->x,
                 job->k, w, job->k, job->b ? 1.0f : 0.0f, job->y + j0, job->d);
    j0 += cols;
  }
}

static void
linear_fp32 (float *y, const float *x, const siglip_matrix *w, const float *b, int n)
{
  const int threads = siglip_pool_n_threads ();
  fp32_job job = { y, x, b, w, n, w->cols, w->rows, 0 };
  /* whole multiples of 64 columns per worker: OpenBLAS's own N blocking stays aligned */
  int per = (w->rows + threads - 1) / threads;
  job.chunk = ((per + 63) / 64) * 64;
  const int tasks = (w->rows + job.chunk - 1) / job.chunk;
  siglip_parallel_for (tasks, fp32_task, &job);
}

/* ------------------------------------------------------------------------------------------ */
/* fp32 on the row-major weights themselves: our panel kernels with the roles swapped.
 *
 * The panel kernels compute C = A B^T with A row-major (rows broadcast one value at a time,
 * no packing needed) and B in 32-row panels. Per call the activations x (n, K) are small, so
 * they are what gets packed into panels (n * K copies against n * N * K multiply-adds), and
 * the weights W, straight from the file's mapping, play A: y^T (N, n) = W x^T, each tile
 * transposed in registers into y with its bias. So fp32 weights are never copied at load, the
 * model's memory is the page cache's, and loading costs what mapping the files costs. Each
 * worker takes a contiguous run of W's rows (they stay in L2 while x's panels stream past
 * them) and writes its own columns of y. */

#define ROWMAJOR_MIN_N 16   /* fewer rows of x: one panel would be mostly padding; OpenBLAS */
/* Rows of W per kernel call and per task (a multiple of 12: whole strips of both kernels, 6 and
 * 12 rows). The kernels walk x's panels over all the rows they are given, so these rows
 * (x K inputs: 220 KiB at K = 1152) should stay in L2 from one panel to the next instead of
 * coming from memory once per panel. Measured (one thread,
 * thread CPU time, M = 256 x (4304, 1152)): 48 rows 0.82 of the FMA peak, 96 rows 0.84, 240
 * rows 0.67, all rows at once 0.69; at M = 1024 48 rows did best. */
#ifndef ROWMAJOR_CHUNK
#define ROWMAJOR_CHUNK 48
#endif

typedef struct {
  float *y;
  const float *x, *b;
  const siglip_matrix *w;
  int n;
  int xw;                 /* rows of x per panel: 32, or 16 for the AVX2 kernel (half panels) */
  siglip_f32_panels xp;   /* x (n, K) as panels of xw rows */
  int n_tasks;
  fp32_kernel kernel;
  float *rounded;         /* w->bf16_rows: ROWMAJOR_CHUNK rows of rounded weights per worker */
} rowmajor_job;

/* Panel p of x: xp[(p * K + k) * xw + c] = x[xw p + c][k], rows past n zero. */
static void
rowmajor_pack_task (void *data, int p, int worker)
{
  const rowmajor_job *job = data;
  const int k = job->xp.cols, xw = job->xw, r0 = p * xw;
  const int rows = job->n - r0 < xw ? job->n - r0 : xw;
  float *panel = job->xp.data + (size_t) p * k * xw;
#ifdef SIGLIP_GEMM_HAVE_AVX2_KERNELS
  /* every CPU our fp32 kernels run on has AVX2 */
  siglip_avx2_pack_columns (panel, xw, job->x + (size_t) r0 * k, (size_t) k, rows, k, 1.0f);
#else
  for (int kk = 0; kk < k; kk++)
    for (int c = 0; c < xw; c++)
      panel[(size_t) kk * xw + c] = c < rows ? job->x[(size_t) (r0 + c) * k + kk] : 0.0f;
#endif
}

static void
rowmajor_task (void *data, int task, int worker)
{
  const rowmajor_job *job = data;
  const siglip_matrix *w = job->w;
  const int n = job->n, d = w->rows;
  const int r_begin = task * ROWMAJOR_CHUNK;
  const int r_end = d - r_begin < ROWMAJOR_CHUNK ? d : r_begin + ROWMAJOR_CHUNK;

  for (int r0 = r_begin; r0 < r_end;) {
    int rows;
    const float *wr = matrix_rows (w, r0, &rows);
    rows = r_end - r0 < rows ? r_end - r0 : rows;
    rows = rows < ROWMAJOR_CHUNK ? rows : ROWMAJOR_CHUNK;
    if (w->bf16_rows) {
      /* the chunk rounded once into this worker's scratch (checked by linear_rowmajor): a
       * pass over rows x K weights against n times as many multiply-adds */
      float *rounded = job->rounded + (size_t) worker * ROWMAJOR_CHUNK * w->cols;
#ifdef SIGLIP_GEMM_HAVE_AVX2_KERNELS
      siglip_avx2_round_bf16 (rounded, wr, (size_t) rows * w->cols); /* our kernels' CPUs have AVX2 */
#else
      for (size_t i = 0; i < (size_t) rows * w->cols; i++)
        rounded[i] = siglip_bf16_to_f32 (siglip_f32_to_bf16_rne (wr[i]));
#endif
      wr = rounded;
    }
    const float *b = job->b ? job->b + r0 : NULL;
#ifdef SIGLIP_GEMM_HAVE_AVX512F32_KERNEL
    if (job->kernel == FP32_AVX512)
      siglip_gemm_avx512f32_rowmajor (job->y + r0, (size_t) d, wr, rows, &job->xp, b);
#endif
#ifdef SIGLIP_GEMM_HAVE_AVX2_KERNELS
    if (job->kernel == FP32_AVX2)
      siglip_gemm_avx2f32_rowmajor (job->y + r0, (size_t) d, wr, rows, job->xp.data, w->cols, n, b);
#endif
    r0 += rows;
  }
}

/* False when scratch memory could not be had (the caller falls back to OpenBLAS). */
static bool
linear_rowmajor (float *y, const float *x, const siglip_matrix *w, const float *b, int n,
                 fp32_kernel kernel)
{
  /* the AVX2 kernel reads 16 columns at a time: panels of 16 keep each slice contiguous */
  const int xw = kernel == FP32_AVX2 ? NR / 2 : NR;
  const int k = w->cols, n_panels = (n + xw - 1) / xw;
  rowmajor_job job = { y, x, b, w, n, xw };
  job.xp = (siglip_f32_panels) { .magic = SIGLIP_GEMM_F32_PANELS_MAGIC, .rows = n, .cols = k,
                                 .n_panels = n_panels,
                                 .bytes = (size_t) n_panels * k * xw * sizeof (float) };
  job.xp.data = scratch_get (SCRATCH_XP, job.xp.bytes);
  if (!job.xp.data)
    return false;
  if (w->bf16_rows) {
    job.rounded = scratch_get (SCRATCH_BF16_ROWS, (size_t) siglip_pool_n_threads () * ROWMAJOR_CHUNK
                                                    * k * sizeof (float));
    if (!job.rounded)
      return false;
  }
  job.kernel = kernel;
  siglip_parallel_for (n_panels, rowmajor_pack_task, &job);
  /* a task per chunk, not per worker: the pool balances them (pool.c) */
  job.n_tasks = (w->rows + ROWMAJOR_CHUNK - 1) / ROWMAJOR_CHUNK;
  siglip_parallel_for (job.n_tasks, rowmajor_task, &job);
  return true;
}

/* Rows standing for bf16 when the row-major kernel cannot run (no scratch memory, or OpenBLAS
 * forced after the load chose them): one weight at a time, correct and slow. */
static void
linear_bf16_rows_plain (float *y, const float *x, const siglip_matrix *w, const float *b, int n)
{
  const int k = w->cols;
  for (int r0 = 0; r0 < w->rows;) {
    int rows;
    const float *wr = matrix_rows (w, r0, &rows);
    for (int j = 0; j < rows; j++)
      for (int i = 0; i < n; i++) {
        float sum = 0.0f;
        for (int kk = 0; kk < k; kk++)
          sum += x[(size_t) i * k + kk]
                 * siglip_bf16_to_f32 (siglip_f32_to_bf16_rne (wr[(size_t) j * k + kk]));
        y[(size_t) i * w->rows + r0 + j] = sum + (b ? b[r0 + j] : 0.0f);
      }
    r0 += rows;
  }
}

/* ------------------------------------------------------------------------------------------ */
/* bf16, generic: widen a block of panels to an f32 tile and let sgemm do the arithmetic.
 * Correct on any CPU OpenBLAS runs on (AVX2 laptops, aarch64); the tile costs an extra pass over
 * the weights that is small against M >= 64 rows of work per weight. */

#define GENERIC_PANELS 8    /* 256 output columns per tile */
#define GENERIC_KC 256      /* inputs per tile: 256 KiB of f32 */

typedef struct {
  float *y;
  const float *x, *b;
  const siglip_bf16_panels *w;
  int n;
  const uint32_t *ap;       /* avx512bf16 only */
  bool failed;              /* a worker could not get scratch memory */
  int n_tasks;              /* avx512bf16: one contiguous run of panels per task */
} bf16_job;

/* tile[c][kk] = W[j0*NR + c][k0 + kk] for c < cols, kk < kb */
static void
widen_tile (float *tile, const siglip_bf16_panels *w, int j0, int cols, int k0, int kb)
{
  for (int c = 0; c < cols; c++) {
    const int j = j0 + c / NR, cc = c % NR;
    const uint16_t *panel = w->data + (size_t) j * w->k_pairs * NR * 2;
    float *t = tile + (size_t) c * kb;
    for (int kk = 0; kk < kb; kk++) {
      const int col = k0 + kk;
      t[kk] = siglip_bf16_to_f32 (panel[(size_t) (col / 2) * NR * 2 + 2 * cc + (col & 1)]);
    }
  }
}

static void
generic_task (void *data, int task, int worker)
{
  bf16_job *job = data;
  const siglip_bf16_panels *w = job->w;
  const int n = job->n, k = w->cols, d = w->rows;
  const int j0 = task * GENERIC_PANELS;
  const int c0 = j0 * NR;
  const int cols = d - c0 < GENERIC_PANELS * NR ? d - c0 : GENERIC_PANELS * NR;
  float *tile = scratch_get (SCRATCH_TILE, (size_t) GENERIC_PANELS * NR * GENERIC_KC * sizeof (float));
  if (!tile) {
    job->failed = true;
    return;
  }
  for (int i = 0; i < n; i++) {
    float *yi = job->y + (size_t) i * d + c0;
    if (job->b)
      memcpy (yi, job->b + c0, (size_t) cols * sizeof (float));
    else
      memset (yi, 0, (size_t) cols * sizeof (float));
  }
  for (int k0 = 0; k0 < k; k0 += GENERIC_KC) {
    const int kb = k - k0 < GENERIC_KC ? k - k0 : GENERIC_KC;
    widen_tile (tile, w, j0, cols, k0, kb);
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, n, cols, kb, 1.0f, job->x + k0, k,
                 tile, kb, 1.0f, job->y + c0, d);
  }
}

/* Last resort when even a tile cannot be allocated: one weight at a time, no scratch. */
static void
linear_bf16_scalar (float *y, const float *x, const siglip_bf16_panels *w, const float *b, int n)
{
  for (int i = 0; i < n; i++)
    for (int r = 0; r < w->rows; r++) {
      const uint16_t *panel = w->data + (size_t) (r / NR) * w->k_pairs * NR * 2;
      double acc = b ? b[r] : 0.0;
      for (int col = 0; col < w->cols; col++)
        acc += (double) x[(size_t) i * w->cols + col]
               * siglip_bf16_to_f32 (panel[(size_t) (col / 2) * NR * 2 + 2 * (r % NR) + (col & 1)]);
      y[(size_t) i * w->rows + r] = (float) acc;
    }
}

#ifdef SIGLIP_GEMM_HAVE_AVX512BF16_KERNEL
typedef struct {
  uint32_t *ap;
  const float *x;
  int n, k;
} pack_a_job;

#define PACK_A_ROWS 16 /* rows converted per task */

static void
pack_a_task (void *data, int task, int worker)
{
  const pack_a_job *job = data;
  const int r0 = task * PACK_A_ROWS;
  const int r1 = job->n - r0 < PACK_A_ROWS ? job->n : r0 + PACK_A_ROWS;
  siglip_gemm_avx512bf16_pack_a (job->ap, job->x, job->n, job->k, r0, r1);
}

static void
avx512bf16_task (void *data, int task, int worker)
{
  const bf16_job *job = data;
  /* one task per worker, each a contiguous run of panels the kernel blocks over itself (handing
   * out groups of 4 panels first come first served measured 8% slower) */
  int begin, end;
  task_share (job->w->n_panels, task, job->n_tasks, &begin, &end);
  siglip_gemm_avx512bf16_compute (job->y, job->ap, job->w, job->b, job->n, begin, end);
}

/* x's bf16 pairs for the AVX512-BF16 kernel, converted on the pool; NULL when out of memory. */
static uint32_t *
avx512bf16_pack_x (const float *x, int n, int k)
{
  uint32_t *ap = scratch_get (SCRATCH_A, siglip_gemm_avx512bf16_a_words (n, k) * sizeof (uint32_t));
  if (ap) {
    pack_a_job pj = { ap, x, n, k };
    siglip_parallel_for ((n + PACK_A_ROWS - 1) / PACK_A_ROWS, pack_a_task, &pj);
  }
  return ap;
}

/* F32 rows standing for bf16 (bf16_rows) under the AVX512-BF16 kernel: each task packs its
 * panels from the rows a group at a time into this thread's scratch, as the loader would have
 * packed them once, and multiplies them there. A pass over the weights (4 bytes read, 2
 * written, per weight) against n multiply-adds per weight, and the numbers of the panels bit
 * for bit (siglip_gemm_avx512bf16_compute_group). */
#define ROWS_GROUP 4 /* panels per group: 288 KiB of scratch at K = 1152, 1.1 MiB at 4304 */

typedef struct {
  float *y;
  const float *b;
  const siglip_matrix *w;
  int n, n_panels, n_tasks;
  const uint32_t *ap;
  bool failed;
} bf16_rows_job;

static void
avx512bf16_rows_task (void *data, int task, int worker)
{
  bf16_rows_job *job = data;
  const siglip_matrix *w = job->w;
  const int k = w->cols;
  const size_t panel_values = (size_t) ((k + 1) / 2) * NR * 2;
  uint16_t *group = scratch_get (SCRATCH_BF16_ROWS, ROWS_GROUP * panel_values * sizeof (uint16_t));
  if (!group) {
    job->failed = true;
    return;
  }
  int begin, end;
  task_share (job->n_panels, task, job->n_tasks, &begin, &end);
  for (int j0 = begin; j0 < end; j0 += ROWS_GROUP) {
    const int j1 = end - j0 < ROWS_GROUP ? end : j0 + ROWS_GROUP;
    for (int j = j0; j < j1; j++) {
      const float *rows[NR];
      for (int c = 0; c < NR; c++) {
        int contiguous;
        rows[c] = j * NR + c < w->rows ? matrix_rows (w, j * NR + c, &contiguous) : NULL;
      }
      siglip_gemm_avx512bf16_pack_panel (group + (size_t) (j - j0) * panel_values, rows, k);
    }
    siglip_gemm_avx512bf16_compute_group (job->y, job->ap, group, k, w->rows, job->b, job->n,
                                          j0, j1);
  }
}

/* False when scratch memory could not be had. */
static bool
linear_avx512bf16_rows (float *y, const float *x, const siglip_matrix *w, const float *b, int n)
{
  bf16_rows_job job = { y, b, w, n, (w->rows + NR - 1) / NR };
  job.ap = avx512bf16_pack_x (x, n, w->cols);
  if (!job.ap)
    return false;
  job.n_tasks = worker_tasks (job.n_panels);
  siglip_parallel_for (job.n_tasks, avx512bf16_rows_task, &job);
  return !job.failed;
}
#endif

#ifdef SIGLIP_GEMM_HAVE_AVX512F32_KERNEL
static void
avx512wide_task (void *data, int task, int worker)
{
  bf16_job *job = data;
  float *scratch = scratch_get (SCRATCH_TILE, siglip_gemm_avx512wide_scratch_floats () * sizeof (float));
  if (!scratch) {
    job->failed = true;
    return;
  }
  /* one task per worker, each a contiguous run of panels, as the AVX512-BF16 kernel's */
  int begin, end;
  task_share (job->w->n_panels, task, job->n_tasks, &begin, &end);
  siglip_gemm_avx512wide_compute (job->y, job->x, job->w, job->b, job->n, begin, end, scratch);
}
#endif

#ifdef SIGLIP_GEMM_HAVE_AVX2_KERNELS
/* Panels per task: 32 columns, so N = 1152 is 36 tasks that the pool balances (pool.c) */
#define AVX2BF16_TASK_PANELS 1

static void
avx2bf16_task (void *data, int task, int worker)
{
  bf16_job *job = data;
  float *scratch = scratch_get (SCRATCH_TILE, siglip_gemm_avx2bf16_scratch_floats () * sizeof (float));
  if (!scratch) {
    job->failed = true;
    return;
  }
  const int begin = task * AVX2BF16_TASK_PANELS;
  const int end = job->w->n_panels - begin < AVX2BF16_TASK_PANELS ? job->w->n_panels
                                                                  : begin + AVX2BF16_TASK_PANELS;
  siglip_gemm_avx2bf16_compute (job->y, job->x, job->w, job->b, job->n, begin, end, scratch);
}
#endif

static void
linear_bf16 (float *y, const float *x, const siglip_matrix *m, const float *b, int n)
{
  const siglip_bf16_panels *w = m->packed;
  bf16_job job = { y, x, b, w, n, NULL, false, 1 };

#ifdef SIGLIP_GEMM_HAVE_AVX512BF16_KERNEL
  if (bf16_kernel_get () == BF16_AVX512BF16) {
    uint32_t *ap = avx512bf16_pack_x (x, n, w->cols);
    if (ap) {
      job.ap = ap;
      job.n_tasks = worker_tasks (w->n_panels);
      siglip_parallel_for (job.n_tasks, avx512bf16_task, &job);
      return;
    }
  }
#endif
#ifdef SIGLIP_GEMM_HAVE_AVX512F32_KERNEL
  if (bf16_kernel_get () == BF16_AVX512) {
    job.n_tasks = worker_tasks (w->n_panels);
    siglip_parallel_for (job.n_tasks, avx512wide_task, &job);
    if (!job.failed)
      return;
    job.failed = false;
  }
#endif
#ifdef SIGLIP_GEMM_HAVE_AVX2_KERNELS
  if (bf16_kernel_get () == BF16_AVX2) {
    job.n_tasks = (w->n_panels + AVX2BF16_TASK_PANELS - 1) / AVX2BF16_TASK_PANELS;
    siglip_parallel_for (job.n_tasks, avx2bf16_task, &job);
    if (!job.failed)
      return;
    job.failed = false;
  }
#endif
  siglip_parallel_for ((w->n_panels + GENERIC_PANELS - 1) / GENERIC_PANELS, generic_task, &job);
  if (job.failed)
    linear_bf16_scalar (y, x, w, b, n);
}

/* ------------------------------------------------------------------------------------------ */
/* fp32 panels */

typedef struct {
  float *y;
  const float *x, *b;
  const siglip_f32_panels *w;
  int n;
  int n_tasks;   /* avx512: one contiguous run of panels per task */
} f32_panels_job;

#ifdef SIGLIP_GEMM_HAVE_AVX512F32_KERNEL
static void
avx512f32_task (void *data, int task, int worker)
{
  const f32_panels_job *job = data;
  /* one task per worker, each a contiguous run of panels the kernel blocks over itself */
  int begin, end;
  task_share (job->w->n_panels, task, job->n_tasks, &begin, &end);
  siglip_gemm_avx512f32_compute (job->y, job->x, job->w, job->b, job->n, begin, end);
}
#endif

#ifdef SIGLIP_GEMM_HAVE_AVX2_KERNELS
static void
avx2f32_task (void *data, int task, int worker)
{
  const f32_panels_job *job = data;
  int begin, end;
  task_share (job->w->n_panels, task, job->n_tasks, &begin, &end);
  siglip_gemm_avx2f32_compute (job->y, job->x, job->w, job->b, job->n, begin, end);
}
#endif

/* Any CPU: OpenBLAS on each panel, a [K, 32] row-major matrix, into a 32-column tile of y. */
static void
openblas_panel_task (void *data, int j, int worker)
{
  const f32_panels_job *job = data;
  const siglip_f32_panels *w = job->w;
  const int d = w->rows, k = w->cols, c0 = j * NR;
  const int cols = d - c0 < NR ? d - c0 : NR;
  float tile[8 * NR];
  for (int i0 = 0; i0 < job->n; i0 += 8) {
    const int rows = job->n - i0 < 8 ? job->n - i0 : 8;
    cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, NR, k, 1.0f,
                 job->x + (size_t) i0 * k, k, w->data + (size_t) j * k * NR, NR, 0.0f, tile, NR);
    for (int r = 0; r < rows; r++)
      for (int c = 0; c < cols; c++)
        job->y[(size_t) (i0 + r) * d + c0 + c] = tile[r * NR + c] + (job->b ? job->b[c0 + c] : 0.0f);
  }
}

static void
linear_f32_panels (float *y, const float *x, const siglip_matrix *m, const float *b, int n)
{
  f32_panels_job job = { y, x, b, m->packed, n, 1 };
  const fp32_kernel kernel = fp32_kernel_get ();
  if (kernel != FP32_OPENBLAS) {
    job.n_tasks = worker_tasks (job.w->n_panels);
#ifdef SIGLIP_GEMM_HAVE_AVX512F32_KERNEL
    if (kernel == FP32_AVX512) {
      siglip_parallel_for (job.n_tasks, avx512f32_task, &job);
      return;
    }
#endif
#ifdef SIGLIP_GEMM_HAVE_AVX2_KERNELS
    siglip_parallel_for (job.n_tasks, avx2f32_task, &job);
    return;
#endif
  }
  siglip_parallel_for (job.w->n_panels, openblas_panel_task, &job);
}

void
siglip_linear (float *y, const float *x, const siglip_matrix *w, const float *b, int n)
{
  if (n <= 0)
    return;
  switch (packed_magic (w)) {
  case SIGLIP_GEMM_PANELS_MAGIC:
    linear_bf16 (y, x, w, b, n);
    break;
  case SIGLIP_GEMM_F32_PANELS_MAGIC:
    linear_f32_panels (y, x, w, b, n);
    break;
  default: {
#ifdef SIGLIP_GEMM_HAVE_AVX512BF16_KERNEL
    if (w->bf16_rows && bf16_kernel_get () == BF16_AVX512BF16
        && linear_avx512bf16_rows (y, x, w, b, n))
      break;
#endif
    const fp32_kernel kernel = fp32_kernel_get ();
    /* rows standing for bf16 (siglip_gemm_can_round_rows) go through the row-major kernel at
     * any n: the pooling probe's single row included, as OpenBLAS would read them unrounded */
    if (kernel != FP32_OPENBLAS && (n >= ROWMAJOR_MIN_N || w->bf16_rows)
        && linear_rowmajor (y, x, w, b, n, kernel))
      break;
    if (w->bf16_rows)
      linear_bf16_rows_plain (y, x, w, b, n);
    else
      linear_fp32 (y, x, w, b, n);
    break;
  }
  }
}
