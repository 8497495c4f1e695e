/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <cblas.h>

#include "gemm.h"

void
siglip_linear (float *y, const float *x, const siglip_matrix *w, const float *b, int n)
{
  const int d = w->rows, k = w->cols;
  if (b)
    for (int i = 0; i < n; i++)
      for (int j = 0; j < d; j++)
        y[(size_t) i * d + j] = b[j];
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, n, d, k, 1.0f, x, k, w->w, k,
               b ? 1.0f : 0.0f, y, d);
}
