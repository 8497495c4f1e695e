/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * gemm.h — every matrix product of the towers goes through here, so that the precision
 * (fp32 through OpenBLAS, bf16 panels packed at load) is chosen in one place.
 */
#ifndef SIGLIP_GEMM_H
#define SIGLIP_GEMM_H

#include "internal.h"

/* y (n, w.rows) = x (n, w.cols) @ W^T (w.cols, w.rows) + b   — b may be NULL */
void siglip_linear (float *y, const float *x, const siglip_matrix *w, const float *b, int n);

#endif /* SIGLIP_GEMM_H */
