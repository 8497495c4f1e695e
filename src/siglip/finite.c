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
 */
#include <stdatomic.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "finite.h"
#include "gemm.h"
#include "pool.h"

/* Bytes per task: big enough that a task's overhead is nothing, small enough that a tensor of
 * a few MiB still splits between the workers. */
#define BLOCK_BYTES ((int64_t) 256 << 10)

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
block_bad (const scan_job *job, int64_t offset, int64_t bytes)
{
#if defined(__x86_64__) || defined(__i386__)
  if (job->avx2)
    return block_bad_avx2 (job->data + offset, bytes, job->size, job->mask);
#endif
  return block_bad_generic (job->data + offset, bytes, job->size, job->mask);
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

int64_t
siglip_first_non_finite (const void *data, siglip_dtype dtype, int64_t n)
{
  if (n <= 0 || (dtype != SIGLIP_DTYPE_F32 && dtype != SIGLIP_DTYPE_BF16
                 && dtype != SIGLIP_DTYPE_F16))
    return -1;
  scan_job job = {
    .data = data,
    .size = dtype == SIGLIP_DTYPE_F32 ? 4 : 2,
    .mask = dtype == SIGLIP_DTYPE_F32 ? 0x7f800000u : dtype == SIGLIP_DTYPE_BF16 ? 0x7f80u : 0x7c00u,
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
