/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * encoder.h — the pre-LN transformer layer both towers are made of (Siglip2EncoderLayer) and
 * the scratch buffers a forward pass works in.
 */
#ifndef SIGLIP_ENCODER_H
#define SIGLIP_ENCODER_H

#include "attention.h"
#include "internal.h"

/* Scratch of one forward pass, sized for `cap_tokens` rows of width `dim` / `inter`. Owned by
 * a siglip_state. */
typedef struct {
  int dim;          /* widest hidden_size of the towers */
  int inter;        /* widest of the MLP intermediate sizes and 3 * vision hidden_size (the
                       pooling head's [q; k; v] projection) */
  int cap_tokens;   /* rows the buffers hold */
  float *x;         /* [tokens, dim]  residual stream */
  float *h;         /* [tokens, dim]  normalised input of a sub-block */
  float *q, *k, *v; /* [tokens, dim] */
  float *attn;      /* [tokens, dim]  attention output before out_proj */
  float *mlp;       /* [tokens, inter] MLP hidden layer; also the stacked [q;k;v] */
  float *pos;       /* [tokens, dim]  resized position table (NAFlex) */
  float *pos_tmp;   /* [pos_tmp_rows, dim] width-resized position table (grid * cols rows) */
  int pos_tmp_rows;
  siglip_attention_scratch attention;
} siglip_workspace;

/* Allocates (or grows) the buffers; existing contents are not kept. False on out-of-memory. */
bool siglip_workspace_reserve (siglip_workspace *ws, int dim, int inter, int tokens,
                               int pos_tmp_rows);
/* siglip_attention_reserve of the workspace's attention scratch. */
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

#endif /* SIGLIP_ENCODER_H */
