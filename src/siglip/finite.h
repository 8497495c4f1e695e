/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * finite.h — the check that every weight is a finite number, run at load over gigabytes.
 */
#ifndef SIGLIP_FINITE_H
#define SIGLIP_FINITE_H

#include "internal.h"

/* Index of the first NaN or infinity among the n values of `dtype` (F32, BF16 or F16, as
 * stored in the file, any alignment) at data, or -1 when all are finite. Large tensors are
 * scanned in parallel on the pool (pool.h), with AVX2 where the ISA allows (gemm.h). */
int64_t siglip_first_non_finite (const void *data, siglip_dtype dtype, int64_t n);

/* n values of `dtype` mapped at `data`, which are the bytes at `offset` of the open file `fd`
 * (-1: read them through the mapping). */
typedef struct {
  const void *data;
  int fd;
  int64_t offset;
  siglip_dtype dtype;
  int64_t n;
} siglip_finite_span;

/* Run on the caller's thread, before the scan and between its tasks: `stop` true abandons it;
 * `progress` goes up to 1, reported at the end. Either may be NULL. */
typedef struct {
  bool (*stop) (void *data);
  void (*progress) (void *data, double fraction);
  void *data;
} siglip_finite_hooks;

/* The first of `spans` (in their order) holding a NaN or an infinity, with the index of the
 * first such value in *element; -1 when all are finite, -2 out of memory, -3 when hooks->stop
 * said so. All spans are one parallel job, their values read with pread from the files (the
 * mapping is looked at only where a read fails, and to find the element in a bad task), so
 * that the mapping is left unfaulted: finite.c says why. */
int siglip_first_non_finite_read (const siglip_finite_span *spans, int n_spans, int64_t *element,
                                  const siglip_finite_hooks *hooks);

#endif /* SIGLIP_FINITE_H */
