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

#endif /* SIGLIP_FINITE_H */
