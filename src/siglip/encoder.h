/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * encoder.h — the encoder both towers are made of (Siglip2Encoder: pre-LN transformer layers),
 * and the scratch buffers a forward pass works in. Each tower reads
 *   embed -> siglip_encoder_forward -> post LayerNorm -> head
 * (vision.c, text.c).
 */
#ifndef SIGLIP_ENCODER_H
#define SIGLIP_ENCODER_H

#include "attention.h"
#include "internal.h"

/* Scratch of one forward pass, sized for `cap_tokens` rows of width `dim` / `inter`. Owned by
 * a siglip_state. Named for what they hold; "tokens" is every row of every sequence. */
typedef struct {
  int dim;            /* widest hidden_size of the towers */
  int inter;          /* widest of the MLP intermediate sizes and 3 * hidden_size (the stacked
                         [q; k; v] projections) */
  int cap_tokens;     /* rows the buffers hold */
  float *hidden;      /* [tokens, dim]   the hidden states: the residual stream */
  float *branch;      /* [tokens, dim]   the residual branch: LayerNorm (hidden) going into a
                         sub-layer, the sub-layer's output coming back before it is added */
  float *inner;       /* [tokens, inter] the stacked [q; k; v] projections, then the MLP's
                         hidden layer */
  float *attn_out;    /* [tokens, dim]   attention output before out_proj */
  float *queries;     /* [tokens, dim]   query rows when only some tokens ask: the text
                         tower's last tokens, the pooling head's probe [q; k; v] (3 rows) */
  float *positions;   /* [tokens, dim]   the position table resized to the patch grid (NAFlex) */
  float *positions_tmp; /* [positions_tmp_rows, dim] the table resized in width only */
  int positions_tmp_rows;
  siglip_attention_scratch attention;
} siglip_workspace;

/* Allocates (or grows) the buffers; existing contents are not kept. False on out-of-memory. */
bool siglip_workspace_reserve (siglip_workspace *ws, int dim, int inter, int tokens,
                               int positions_tmp_rows);
/* siglip_attention_reserve of the workspace's attention scratch. */
bool siglip_workspace_reserve_attention (siglip_workspace *ws, int seq, int head_dim);
void siglip_workspace_clear (siglip_workspace *ws);

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

/* The layers of a tower as the encoder reads them. */
typedef struct {
  const siglip_layer_weights *layers;
  int num_layers;
  int hidden_size;
  int num_heads;
  float eps;
  const char *task; /* "image encoding", "text encoding": for the cancellation message */
} siglip_encoder;

/* Every layer of `enc` on ws->hidden, which holds n_seq sequences of seq_len tokens each
 * (Siglip2Encoder; attention within each sequence, no mask: callers pass only the tokens that
 * take part). The abort callback of `options` (may be NULL) is asked before each layer; a
 * trace sees "layer%d_out" of the first sequence. With last_token_only, the last layer runs its
 * queries, out_proj and MLP on the last token of each sequence alone (the text tower pools that
 * one): on return ws->hidden rows [0, n_seq) hold those tokens, the other rows are scratch. */
bool siglip_encoder_forward (siglip_workspace *ws, const siglip_encoder *enc, int n_seq,
                             int seq_len, bool last_token_only,
                             const siglip_encode_options *options, const siglip_trace *trace,
                             siglip_error **error);

/* One pre-LN encoder layer (Siglip2EncoderLayer) on ws->hidden, n_seq sequences of seq_len
 * tokens (rows n_seq * seq_len, width d):
 *   x = x + out_proj (attention (LN1 (x)));  x = x + fc2 (gelu_tanh (fc1 (LN2 (x))))
 * The LayerNorms are fused with the residual adds before them, so on entry ws->branch must hold
 * LN1 (ws->hidden), and on return ws->branch holds LayerNorm (ws->hidden) with next_ln_w/b — the
 * next layer's LN1 — unless next_ln_w is NULL. siglip_encoder_forward's step; tests call it
 * alone. */
void siglip_encoder_layer (siglip_workspace *ws, const siglip_layer_weights *layer,
                           const float *next_ln_w, const float *next_ln_b, int n_seq,
                           int seq_len, int d, int heads, float eps);

#endif /* SIGLIP_ENCODER_H */
