/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * ops.h — the row arithmetic both towers are made of: small named functions over row-major
 * float32 arrays, each with its shapes in one comment. Weight products are siglip_linear
 * (gemm.h), attention is attention.h, the layer built from them encoder.h. Rows run on the pool
 * (pool.h).
 */
#ifndef SIGLIP_OPS_H
#define SIGLIP_OPS_H

#include <stddef.h>

#include "internal.h"

/* The copy of the row kernels (vec.h's ROW_KERNEL_DISPATCH) that runs: 2 x86-64-v4 (AVX-512
 * F/BW/CD/DQ/VL), 1 x86-64-v3 (AVX2, FMA), 0 the baseline — the values of siglip_isa (gemm.h),
 * never above siglip_isa_get (), so SIGLIP_ISA caps it. */
int siglip_row_kernel_isa (void);

/* y (n, d) = LayerNorm (x (n, d)) * w (d) + b (d); biased variance, eps inside the sqrt, as
 * torch.nn.LayerNorm. y may equal x. */
void siglip_layernorm (float *y, const float *x, const float *w, const float *b, int n, int d,
                       float eps);

/* x (n, d) += h (n, d); then, when w != NULL, y (n, d) = LayerNorm (x) * w + b — a residual
 * connection and the LayerNorm after it in one pass over the rows. y may equal h. */
void siglip_add_layernorm (float *x, const float *h, float *y, const float *w, const float *b,
                           int n, int d, float eps);

/* x (n) = 0.5 x (1 + tanh (sqrt (2/pi) (x + 0.044715 x^3))) in place — gelu_pytorch_tanh,
 * evaluated as x / (1 + exp (-2 sqrt (2/pi) (x + 0.044715 x^3))), within a few float ulp of
 * the exact value (vectorised; see ops.c). */
void siglip_gelu_tanh (float *x, size_t n);

/* y (n, d) = gelu_tanh (y + b (d)) — fc1's bias and the activation in one pass. */
void siglip_bias_gelu (float *y, const float *b, int n, int d);

/* x (n) = softmax (x) in place, float32 with max-subtraction as torch does it. */
void siglip_softmax (float *x, int n);

/* siglip_softmax of each of `rows` rows of n floats, `ld` floats apart (attention's scores). */
void siglip_softmax_rows (float *x, int rows, size_t ld, int n);

/* y (n) += x (n) — the residual connections. */
void siglip_add (float *y, const float *x, size_t n);

/* y (n, d) += b (d) for every row. */
void siglip_add_bias (float *y, const float *b, int n, int d);

#endif /* SIGLIP_OPS_H */
