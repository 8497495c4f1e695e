/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * ops.h — the arithmetic both towers are made of: small named functions over row-major float32
 * arrays, each with its shapes in one comment, plus the pre-LN transformer block built from them
 * and the scratch buffers a forward pass works in.
 *
 * Weight products go through siglip_linear (gemm.h); the per-head attention products call
 * cblas_sgemm directly on strided views. Row work and attention run on the pool of gemm.h.
 */
#ifndef SIGLIP_OPS_H
#define SIGLIP_OPS_H

#include "internal.h"

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

/* y (n) += x (n) — the residual connections. */
void siglip_add (float *y, const float *x, size_t n);

/* y (n, d) += b (d) for every row. */
void siglip_add_bias (float *y, const float *b, int n, int d);

/* Multi-head scaled dot-product attention, heads split contiguously (head h = dims
 * [h*hd, (h+1)*hd), hd = dim / heads):
 *   out (nq, dim) = softmax (q (nq, dim) k^T (dim, nk) * hd^-0.5 + mask) v (nk, dim)
 * q/k/v/out rows are `ldq`/`ldk`/`ldv`/`ldo` floats apart, so slices of a fused [q;k;v] product
 * can be passed. `key_valid` (nk, may be NULL = all valid): keys with 0 are left out, as the
 * reference's additive finfo.min mask does (at least one key must be valid). `scores` is
 * scratch of nq * nk floats. */
void siglip_attention (float *out, int ldo, const float *q, int ldq, const float *k, int ldk,
                       const float *v, int ldv, int nq, int nk, int dim, int heads,
                       const uint8_t *key_valid, float *scores);

/* typedef'd below */
typedef struct siglip_workspace siglip_workspace;

/* siglip_attention for n_seq sequences stored one after the other: sequence s has queries
 * rows [s*nq, (s+1)*nq) of q/out and keys rows [s*seq_len, (s+1)*seq_len) of k/v, no mask.
 * The (sequence, head, block of 64 queries) tasks run on the pool, each worker with its own
 * score block in ws->scores. */
void siglip_attention_seqs (siglip_workspace *ws, float *out, int ldo, const float *q, int ldq,
                            const float *k, int ldk, const float *v, int ldv, int n_seq, int nq,
                            int seq_len, int dim, int heads);

/* Scratch of one forward pass, sized for `cap_tokens` rows of width `dim` / `inter` and for
 * attention over sequences of up to `cap_seq` tokens. Owned by a siglip_state. */
struct siglip_workspace {
  int dim;          /* widest hidden_size of the towers */
  int inter;        /* widest of the MLP intermediate sizes and 3 * vision hidden_size (the
                       pooling head's fused [q; k; v] projection) */
  int cap_tokens;   /* rows the buffers hold */
  int cap_seq;      /* longest sequence the score buffer holds */
  float *x;         /* [tokens, dim]  residual stream */
  float *h;         /* [tokens, dim]  normalised input of a sub-block */
  float *q, *k, *v; /* [tokens, dim] */
  float *attn;      /* [tokens, dim]  attention output before out_proj */
  float *mlp;       /* [tokens, inter] MLP hidden layer; also the head's fused [q;k;v] */
  float *pos;       /* [tokens, dim]  resized position table (NAFlex) */
  float *pos_tmp;   /* [pos_tmp_rows, dim] width-resized position table (grid * cols rows) */
  float *scores;    /* max ([n_workers, 64, cap_seq], [cap_seq, cap_seq]): a block of attention
                       weights per pool worker, or one head's for siglip_attention */
  int pos_tmp_rows;
  int n_workers;    /* pool size the score blocks were sized for */
  /* siglip_attention_seqs' own products (ops.c): per worker a score block and contiguous
   * copies of one head's K and V; NULL until siglip_workspace_reserve_attention */
  float *attn_scratch;
  size_t attn_stride; /* floats per worker */
  int attn_seq, attn_hd, attn_workers;
  /* attention products in bf16 (the model's precision is bf16; used only with the attention
   * scratch and when siglip_gemm_bf16_is_native). siglip_workspace_reserve clears it: towers
   * set it after reserving. */
  bool attn_bf16;
};

/* Allocates (or grows) the buffers, also when the pool has grown since; existing contents are
 * not kept. False on out-of-memory. */
bool siglip_workspace_reserve (siglip_workspace *ws, int dim, int inter, int tokens, int seq,
                               int pos_tmp_rows);
/* Sizes the attention scratch for sequences of up to `seq` keys and heads of `head_dim`, for
 * the pool size of the last siglip_workspace_reserve (call that first). Without it
 * siglip_attention_seqs uses cblas on ws->scores. False on out-of-memory. */
bool siglip_workspace_reserve_attention (siglip_workspace *ws, int seq, int head_dim);
void siglip_workspace_clear (siglip_workspace *ws);

/* One pre-LN encoder layer (Siglip2EncoderLayer / SiglipEncoderLayer) on ws->x, which holds
 * n_seq sequences of seq_len tokens each (rows n_seq * seq_len, width d):
 *   x = x + out_proj (attention (LN1 (x)));  x = x + fc2 (gelu_tanh (fc1 (LN2 (x))))
 * Attention runs within each sequence, with no mask: callers pass only the valid tokens.
 * The LayerNorms are fused with the residual adds before them, so on entry ws->h must hold
 * LN1 (ws->x) (the caller's siglip_layernorm for the first layer), and on return ws->h holds
 * LayerNorm (ws->x) with next_ln_w/b — the next layer's LN1 — unless next_ln_w is NULL. */
void siglip_encoder_layer (siglip_workspace *ws, const siglip_layer_weights *layer,
                           const float *next_ln_w, const float *next_ln_b, int n_seq,
                           int seq_len, int d, int heads, float eps);

/* siglip_encoder_layer for a tower that reads only the last token of each sequence (the text
 * tower's pooling): every token still gives keys and values, but only the last ones are
 * queries, and out_proj and the MLP run on those n_seq rows alone. On return ws->x rows
 * [0, n_seq) hold their outputs; the other rows are scratch. Uses ws->pos. */
void siglip_encoder_layer_last_token (siglip_workspace *ws, const siglip_layer_weights *layer,
                                      int n_seq, int seq_len, int d, int heads, float eps);

/* Optional observer of intermediate activations (tests compare them with the goldens):
 * called with names like "embeddings", "layer0_out", "post_layernorm", "pooled". */
typedef struct {
  void (*fn) (void *user_data, const char *name, const float *x, int rows, int cols);
  void *user_data;
} siglip_trace;

static inline void
siglip_trace_emit (const siglip_trace *trace, const char *name, const float *x, int rows,
                   int cols)
{
  if (trace && trace->fn)
    trace->fn (trace->user_data, name, x, rows, cols);
}

#endif /* SIGLIP_OPS_H */
