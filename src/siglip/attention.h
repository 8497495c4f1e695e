/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * attention.h — multi-head scaled dot-product attention, heads split contiguously (head h =
 * dims [h*hd, (h+1)*hd), hd = dim / heads):
 *   out (nq, dim) = softmax (q (nq, dim) k^T (dim, nk) * hd^-0.5) v (nk, dim)
 * q/k/v/out rows are `ldq`/`ldk`/`ldv`/`ldo` floats apart, so slices of a stacked [q;k;v]
 * product can be passed. No mask: callers pass only the keys that take part.
 */
#ifndef SIGLIP_ATTENTION_H
#define SIGLIP_ATTENTION_H

#include <stdbool.h>
#include <stddef.h>

/* Per-worker scratch of siglip_attention_seqs: for each pool worker a score block and
 * contiguous copies of one head's K and V. Owned by a workspace (encoder.h). */
typedef struct {
  float *data;      /* n_workers blocks of `stride` floats, 64-byte aligned */
  size_t stride;
  int seq;          /* longest sequence (keys) the blocks hold */
  int head_dim;     /* widest head */
  int n_workers;    /* pool size the blocks were sized for */
  /* products in bf16 (the model's precision is bf16; used only where
   * siglip_gemm_bf16_is_native): set by the towers before each pass */
  bool bf16;
} siglip_attention_scratch;

/* Sizes (or grows) the scratch for sequences of up to `seq` keys and heads of `head_dim`, for
 * the pool's current size. False on out-of-memory. */
bool siglip_attention_reserve (siglip_attention_scratch *sc, int seq, int head_dim);
void siglip_attention_scratch_clear (siglip_attention_scratch *sc);

/* Attention for n_seq sequences stored one after the other: sequence s has queries rows
 * [s*nq, (s+1)*nq) of q/out and keys rows [s*seq_len, (s+1)*seq_len) of k/v. The (sequence,
 * head, block of queries) tasks run on the pool. `sc` must have been reserved for seq_len keys
 * and heads of dim / heads. */
void siglip_attention_seqs (siglip_attention_scratch *sc, float *out, int ldo, const float *q,
                            int ldq, const float *k, int ldk, const float *v, int ldv, int n_seq,
                            int nq, int seq_len, int dim, int heads);

/* p (heads, nk) = softmax (q_h k_h^T * hd^-0.5) for one query q (dim): the weights that query
 * gives each key, head by head — what siglip_attention_seqs averages v with (computed apart, in
 * fp32 with double sums, for heatmaps; not the products' own scratch). */
void siglip_attention_weights (float *p, const float *q, const float *k, int ldk, int nk,
                               int dim, int heads);

/* siglip_attention_seqs for one sequence, serially and with cblas: the reference the tests hold
 * siglip_attention_seqs to. `scores` is scratch of nq * nk floats. */
void siglip_attention (float *out, int ldo, const float *q, int ldq, const float *k, int ldk,
                       const float *v, int ldv, int nq, int nk, int dim, int heads,
                       float *scores);

#endif /* SIGLIP_ATTENTION_H */
