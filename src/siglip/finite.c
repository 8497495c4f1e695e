/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * finite.c — is every weight finite? A NaN or infinity anywhere makes every embedding NaN.
 *
 * The test is on the bits, not on floats: a value is NaN or +-Inf exactly when its exponent
 * bits are all set (IEEE 754 binary32/binary16, and bfloat16, the upper half of a binary32).
 * An fp32 load maps the weights and computes on them in place, so this scan is the only pass
 * the load itself makes over the 4.3 GB of an SO400M; measured single-threaded with a scalar
 * loop it took 2.2x the time of read()ing the file. Here each block is OR-reduced with AVX2
 * (8 or 16 values per compare) and the blocks are split between the pool's workers, which also
 * spreads the page faults of the mapping over the cores. Only a block found bad is searched
 * value by value, for the index the error message names.
 *
 * Through the mapping, though, the scan is what makes 4.3 GB of pages resident, 64 KiB per
 * fault, and the page tables are torn down again at exit: that made the first fp32 load
 * 2.0-2.4x the time of read()ing the files. siglip_first_non_finite_read reads the values
 * with pread into a buffer on each worker's stack instead (it stays in L2: the scan costs the
 * CPU time the read costs) and leaves the mapping to the first forward pass, as after a load
 * that skips the scan. It takes all the tensors of a load as one job, in tasks of a few MiB:
 * one job per tensor waited at each tensor's end for a worker that had lost its core (on a
 * busy machine two workers were slower than one), and two workers reading neighbouring
 * 256 KiB blocks share the page cache's large folios and slowed each other by a quarter.
 */
#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "finite.h"
#include "gemm.h"
#include "pool.h"

/* Bytes per task: big enough that a task's overhead is nothing, small enough that a tensor of
 * a few MiB still splits between the workers. */
#define BLOCK_BYTES ((int64_t) 256 << 10)
/* A task of the read scan, and what one pread brings into a worker's stack buffer. */
#define READ_TASK_BYTES ((int64_t) 4 << 20)
#define READ_BYTES ((int64_t) 64 << 10)

typedef struct {
  const uint8_t *data;
  int64_t bytes;       /* of the whole tensor */
  int size;            /* bytes per value: 4 or 2 */
  uint32_t mask;       /* the exponent bits */
  bool avx2;
  atomic_int first_bad; /* lowest bad block so far, or INT_MAX */
} scan_job;

static bool
block_bad_generic (const uint8_t *p, int64_t bytes, int size, uint32_t mask)
{
  uint32_t bad = 0;
  if (size == 4)
    for (int64_t i = 0; i + 4 <= bytes; i += 4)
      {
        uint32_t u;
        memcpy (&u, p + i, 4);
        bad |= (u & mask) == mask;
      }
  else
    for (int64_t i = 0; i + 2 <= bytes; i += 2)
      {
        uint16_t h;
        memcpy (&h, p + i, 2);
        bad |= (h & mask) == mask;
      }
  return bad != 0;
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__ ((target ("avx2"))) static bool
block_bad_avx2 (const uint8_t *p, int64_t bytes, int size, uint32_t mask)
{
  const __m256i m = size == 4 ? _mm256_set1_epi32 ((int) mask) : _mm256_set1_epi16 ((short) mask);
  __m256i acc = _mm256_setzero_si256 ();
  int64_t i = 0;
  /* four independent loads per step keep two loads a cycle in flight */
  if (size == 4)
    for (; i + 128 <= bytes; i += 128)
      for (int u = 0; u < 4; u++)
        {
          const __m256i v = _mm256_loadu_si256 ((const __m256i *) (p + i + 32 * u));
          acc = _mm256_or_si256 (acc, _mm256_cmpeq_epi32 (_mm256_and_si256 (v, m), m));
        }
  else
    for (; i + 128 <= bytes; i += 128)
      for (int u = 0; u < 4; u++)
        {
          const __m256i v = _mm256_loadu_si256 ((const __m256i *) (p + i + 32 * u));
          acc = _mm256_or_si256 (acc, _mm256_cmpeq_epi16 (_mm256_and_si256 (v, m), m));
        }
  return !_mm256_testz_si256 (acc, acc) || block_bad_generic (p + i, bytes - i, size, mask);
}
#endif

static bool
values_bad (const uint8_t *p, int64_t bytes, int size, uint32_t mask, bool avx2)
{
#if defined(__x86_64__) || defined(__i386__)
  if (avx2)
    return block_bad_avx2 (p, bytes, size, mask);
#endif
  (void) avx2;
  return block_bad_generic (p, bytes, size, mask);
}

static bool
block_bad (const scan_job *job, int64_t offset, int64_t bytes)
{
  return values_bad (job->data + offset, bytes, job->size, job->mask, job->avx2);
}

static void
scan_task (void *data, int block, int worker)
{
  scan_job *job = data;
  (void) worker;
  /* a bad block before this one already decides the answer */
  if (block > atomic_load_explicit (&job->first_bad, memory_order_relaxed))
    return;
  const int64_t offset = (int64_t) block * BLOCK_BYTES;
  const int64_t bytes = job->bytes - offset < BLOCK_BYTES ? job->bytes - offset : BLOCK_BYTES;
  if (!block_bad (job, offset, bytes))
    return;
  int seen = atomic_load_explicit (&job->first_bad, memory_order_relaxed);
  while (block < seen
         && !atomic_compare_exchange_weak_explicit (&job->first_bad, &seen, block,
                                                    memory_order_relaxed, memory_order_relaxed))
    ;
}

static bool
scanned_dtype (siglip_dtype dtype)
{
  return dtype == SIGLIP_DTYPE_F32 || dtype == SIGLIP_DTYPE_BF16 || dtype == SIGLIP_DTYPE_F16;
}

static int
dtype_size (siglip_dtype dtype)
{
  return dtype == SIGLIP_DTYPE_F32 ? 4 : 2;
}

static uint32_t
exponent_mask (siglip_dtype dtype)
{
  return dtype == SIGLIP_DTYPE_F32 ? 0x7f800000u : dtype == SIGLIP_DTYPE_BF16 ? 0x7f80u : 0x7c00u;
}

int64_t
siglip_first_non_finite (const void *data, siglip_dtype dtype, int64_t n)
{
  if (n <= 0 || !scanned_dtype (dtype))
    return -1;
  scan_job job = {
    .data = data,
    .size = dtype_size (dtype),
    .mask = exponent_mask (dtype),
    .avx2 = siglip_isa_get () >= SIGLIP_ISA_AVX2,
  };
  job.bytes = n * job.size;
  const int64_t n_blocks = (job.bytes + BLOCK_BYTES - 1) / BLOCK_BYTES;
  atomic_init (&job.first_bad, (int) n_blocks);
  if (n_blocks == 1)
    scan_task (&job, 0, 0); /* a bias or a norm: not worth waking the pool */
  else
    siglip_parallel_for ((int) n_blocks, scan_task, &job);

  const int bad = atomic_load (&job.first_bad);
  if (bad >= n_blocks)
    return -1;
  const int64_t begin = (int64_t) bad * BLOCK_BYTES;
  const int64_t end = job.bytes - begin < BLOCK_BYTES ? job.bytes : begin + BLOCK_BYTES;
  for (int64_t i = begin; i < end; i += job.size)
    {
      uint32_t u = 0;
      memcpy (&u, job.data + i, (size_t) job.size); /* little-endian, as safetensors stores */
      if ((u & job.mask) == job.mask)
        return i / job.size;
    }
  return -1; /* not reached: the block was found bad */
}

/* ------------------------------------------------------------------------------------------ */
/* many spans, read from their files */

typedef struct {
  const siglip_finite_span *spans;
  int n_spans;
  int64_t *first_task; /* of each span, and the total at [n_spans] */
  bool avx2;
  atomic_int first_bad; /* lowest bad task so far, or INT_MAX */
  atomic_bool stopped;
  atomic_int done;
  const siglip_finite_hooks *hooks;
} spans_job;

/* Reads [offset, offset + bytes) of the file whole into buf; false on an error or a short
 * read (the caller then looks through the mapping, which says the same, or faults). */
static bool
read_whole (int fd, uint8_t *buf, int64_t bytes, int64_t offset)
{
  for (int64_t got = 0; got < bytes;)
    {
      const ssize_t n = pread (fd, buf + got, (size_t) (bytes - got), (off_t) (offset + got));
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return false;
      got += n;
    }
  return true;
}

/* The span a task belongs to: the last whose first task is <= it (empty spans have none). */
static int
span_of (const spans_job *job, int64_t task)
{
  int lo = 0, hi = job->n_spans - 1;
  while (lo < hi)
    {
      const int mid = (lo + hi + 1) / 2;
      if (job->first_task[mid] <= task)
        lo = mid;
      else
        hi = mid - 1;
    }
  return lo;
}

/* The bytes of a task within its span's values. */
static void
task_range (const spans_job *job, int64_t task, int *span, int64_t *begin, int64_t *end)
{
  *span = span_of (job, task);
  const siglip_finite_span *s = &job->spans[*span];
  const int64_t bytes = s->n * dtype_size (s->dtype);
  *begin = (task - job->first_task[*span]) * READ_TASK_BYTES;
  *end = bytes - *begin < READ_TASK_BYTES ? bytes : *begin + READ_TASK_BYTES;
}

static bool
task_bad (const spans_job *job, int64_t task)
{
  int span;
  int64_t begin, end;
  task_range (job, task, &span, &begin, &end);
  const siglip_finite_span *s = &job->spans[span];
  const int size = dtype_size (s->dtype);
  const uint32_t mask = exponent_mask (s->dtype);
  uint8_t buf[READ_BYTES] __attribute__ ((aligned (64)));
  for (int64_t at = begin; at < end; at += READ_BYTES)
    {
      const int64_t len = end - at < READ_BYTES ? end - at : READ_BYTES;
      const bool read = s->fd >= 0 && read_whole (s->fd, buf, len, s->offset + at);
      if (values_bad (read ? buf : (const uint8_t *) s->data + at, len, size, mask, job->avx2))
        return true;
    }
  return false;
}

static void
spans_task (void *data, int task, int worker)
{
  spans_job *job = data;
  if (atomic_load_explicit (&job->stopped, memory_order_relaxed)
      || task > atomic_load_explicit (&job->first_bad, memory_order_relaxed))
    return;
  /* the hooks are the caller's, run on its own thread: worker 0 is the caller */
  const siglip_finite_hooks *h = job->hooks;
  if (worker == 0 && h && h->stop && h->stop (h->data))
    {
      atomic_store (&job->stopped, true);
      return;
    }
  if (task_bad (job, task))
    {
      int seen = atomic_load_explicit (&job->first_bad, memory_order_relaxed);
      while (task < seen
             && !atomic_compare_exchange_weak_explicit (&job->first_bad, &seen, task,
                                                        memory_order_relaxed,
                                                        memory_order_relaxed))
        ;
    }
  const int done = atomic_fetch_add_explicit (&job->done, 1, memory_order_relaxed) + 1;
  if (worker == 0 && h && h->progress)
    h->progress (h->data, (double) done / (double) job->first_task[job->n_spans]);
}

int
siglip_first_non_finite_read (const siglip_finite_span *spans, int n_spans, int64_t *element,
                              const siglip_finite_hooks *hooks)
{
  *element = -1;
  if (hooks && hooks->stop && hooks->stop (hooks->data))
    return -3;
  if (n_spans <= 0)
    return -1;
  spans_job job = { .spans = spans, .n_spans = n_spans, .hooks = hooks,
                    .avx2 = siglip_isa_get () >= SIGLIP_ISA_AVX2 };
  if (!(job.first_task = malloc (((size_t) n_spans + 1) * sizeof *job.first_task)))
    return -2;
  int64_t total = 0;
  for (int i = 0; i < n_spans; i++)
    {
      job.first_task[i] = total;
      if (scanned_dtype (spans[i].dtype) && spans[i].n > 0)
        total += (spans[i].n * dtype_size (spans[i].dtype) + READ_TASK_BYTES - 1)
                 / READ_TASK_BYTES;
    }
  job.first_task[n_spans] = total;
  if (total > INT_MAX - 1)
    {
      free (job.first_task);
      return -2;
    }
  atomic_init (&job.first_bad, (int) total);
  atomic_init (&job.stopped, false);
  atomic_init (&job.done, 0);
  siglip_parallel_for ((int) total, spans_task, &job);

  int result = -1;
  const int bad = atomic_load (&job.first_bad);
  if (!atomic_load (&job.stopped) && hooks && hooks->progress)
    hooks->progress (hooks->data, 1.0);
  if (atomic_load (&job.stopped))
    result = -3;
  else if (bad < total)
    {
      /* the element, through the mapping: one task's values, searched once */
      int span;
      int64_t begin, end;
      task_range (&job, bad, &span, &begin, &end);
      const siglip_finite_span *s = &spans[span];
      const int64_t found = siglip_first_non_finite ((const uint8_t *) s->data + begin, s->dtype,
                                                     (end - begin) / dtype_size (s->dtype));
      if (found >= 0)
        {
          *element = begin / dtype_size (s->dtype) + found;
          result = span;
        }
    }
  free (job.first_task);
  return result;
}
