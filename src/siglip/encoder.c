/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * encoder.c — the encoder both towers run (Siglip2Encoder) and the workspace it runs in; see
 * encoder.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encoder.h"
#include "gemm.h"
#include "ops.h"

/* ---------------------------------------------------------------------------------------------
 * Workspace
 */

/* The row buffers, for allocating and freeing them in one loop. */
#define WS_ROW_BUFFERS(ws) { &(ws)->hidden, &(ws)->branch, &(ws)->attn_out, &(ws)->queries, \
                             &(ws)->positions, &(ws)->inner, &(ws)->positions_tmp }

static void
free_rows (siglip_workspace *ws)
{
  float **bufs[] = WS_ROW_BUFFERS (ws);
  for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
    {
      free (*bufs[i]);
      *bufs[i] = NULL;
    }
  ws->dim = ws->inter = ws->cap_tokens = ws->positions_tmp_rows = 0;
}

/* A buffer of activations, 64-byte aligned: the products split their columns between the
 * workers in runs of whole cache lines of each row (gemm.c), which malloc's 16-byte offset into
 * a fresh mapping cut in two, so that both cores wrote the same lines; and every 64-byte vector
 * access to a row straddled two lines. */
static float *
alloc_rows (size_t floats)
{
  const size_t bytes = (floats * sizeof (float) + 63) & ~(size_t) 63;
  return aligned_alloc (64, bytes > 0 ? bytes : 64);
}

bool
siglip_workspace_reserve (siglip_workspace *ws, int dim, int inter, int tokens,
                          int positions_tmp_rows)
{
  if (ws->hidden && dim <= ws->dim && inter <= ws->inter && tokens <= ws->cap_tokens
      && positions_tmp_rows <= ws->positions_tmp_rows)
    return true;

  /* Grow to the max of old and new so that alternating callers do not thrash. */
  if (ws->hidden)
    {
      dim = dim > ws->dim ? dim : ws->dim;
      inter = inter > ws->inter ? inter : ws->inter;
      tokens = tokens > ws->cap_tokens ? tokens : ws->cap_tokens;
      positions_tmp_rows = positions_tmp_rows > ws->positions_tmp_rows ? positions_tmp_rows
                                                                       : ws->positions_tmp_rows;
    }
  free_rows (ws);

  const size_t rows = (size_t) tokens * dim;
  float **bufs[] = { &ws->hidden, &ws->branch, &ws->attn_out, &ws->queries, &ws->positions };
  for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
    *bufs[i] = alloc_rows (rows);
  ws->inner = alloc_rows ((size_t) tokens * inter);
  ws->positions_tmp = alloc_rows ((size_t) (positions_tmp_rows > 0 ? positions_tmp_rows : 1) * dim);

  float **all[] = WS_ROW_BUFFERS (ws);
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
    if (!*all[i])
      {
        free_rows (ws);
        return false;
      }
  ws->dim = dim;
  ws->inter = inter;
  ws->cap_tokens = tokens;
  ws->positions_tmp_rows = positions_tmp_rows;
  return true;
}

bool
siglip_workspace_reserve_attention (siglip_workspace *ws, int seq, int head_dim)
{
  return siglip_attention_reserve (&ws->attention, seq, head_dim);
}

void
siglip_workspace_clear (siglip_workspace *ws)
{
  free_rows (ws);
  siglip_attention_scratch_clear (&ws->attention);
}

/* ---------------------------------------------------------------------------------------------
 * The layer
 */

/* q, k, v (n, d) with row stride *ld of LN1 (x) in ws->branch: one product with the stacked
 * [q; k; v] into ws->inner (free until fc1). */
static void
qkv_products (siglip_workspace *ws, const siglip_layer_weights *layer, int n, int d,
              const float **q, const float **k, const float **v, int *ld)
{
  siglip_linear (ws->inner, ws->branch, &layer->qkv, layer->qkv_b, n);
  *q = ws->inner, *k = ws->inner + d, *v = ws->inner + 2 * d, *ld = 3 * d;
}

/* The rest of a layer on n rows once ws->attn_out holds their attention output:
 * x += out_proj (attn); x += fc2 (gelu (fc1 (LN2 (x)))); branch = next LN (x) */
static void
layer_tail (siglip_workspace *ws, const siglip_layer_weights *layer, const float *next_ln_w,
            const float *next_ln_b, int n, int d, float eps)
{
  const int inter = layer->fc1.rows;
  siglip_linear (ws->branch, ws->attn_out, &layer->o, layer->o_b, n);
  /* x += branch; branch = LN2 (x), one pass */
  siglip_add_layernorm (ws->hidden, ws->branch, ws->branch, layer->ln2_w, layer->ln2_b, n, d,
                        eps);
  siglip_linear (ws->inner, ws->branch, &layer->fc1, NULL, n);
  siglip_bias_gelu (ws->inner, layer->fc1_b, n, inter);
  siglip_linear (ws->branch, ws->inner, &layer->fc2, layer->fc2_b, n);
  /* x += branch; branch = LN1 of the next layer (x), one pass */
  siglip_add_layernorm (ws->hidden, ws->branch, ws->branch, next_ln_w, next_ln_b, n, d, eps);
}

void
siglip_encoder_layer (siglip_workspace *ws, const siglip_layer_weights *layer,
                      const float *next_ln_w, const float *next_ln_b, int n_seq, int seq_len,
                      int d, int heads, float eps)
{
  const int n = n_seq * seq_len;
  const float *q, *k, *v;
  int ld;
  /* x = x + out_proj (attention (LN1 (x))); ws->branch holds LN1 (x) on entry. */
  qkv_products (ws, layer, n, d, &q, &k, &v, &ld);
  siglip_attention_seqs (&ws->attention, ws->attn_out, d, q, ld, k, ld, v, ld, n_seq, seq_len,
                         seq_len, d, heads);
  layer_tail (ws, layer, next_ln_w, next_ln_b, n, d, eps);
}

/* siglip_encoder_layer for the last layer of a tower that pools the last token of each
 * sequence: every token still gives keys and values, but only the last ones are queries, and
 * out_proj and the MLP run on those n_seq rows alone; they end in ws->hidden rows [0, n_seq). */
static void
encoder_layer_last_token (siglip_workspace *ws, const siglip_layer_weights *layer, int n_seq,
                          int seq_len, int d, int heads, float eps)
{
  const float *q, *k, *v;
  int ld;
  /* every token is still a key and a value */
  qkv_products (ws, layer, n_seq * seq_len, d, &q, &k, &v, &ld);
  /* ...but only the last one of each sequence a query */
  for (int s = 0; s < n_seq; s++)
    memcpy (ws->queries + (size_t) s * d, q + ((size_t) s * seq_len + seq_len - 1) * ld,
            (size_t) d * sizeof (float));
  siglip_attention_seqs (&ws->attention, ws->attn_out, d, ws->queries, d, k, ld, v, ld, n_seq, 1,
                         seq_len, d, heads);
  /* the residual rows of those tokens to the top of ws->hidden; row s comes from row
   * s * seq_len + seq_len - 1 >= s, which no earlier copy has overwritten */
  for (int s = 0; s < n_seq; s++)
    memmove (ws->hidden + (size_t) s * d, ws->hidden + ((size_t) s * seq_len + seq_len - 1) * d,
             (size_t) d * sizeof (float));
  layer_tail (ws, layer, NULL, NULL, n_seq, d, eps);
}

/* ---------------------------------------------------------------------------------------------
 * The encoder
 */

bool
siglip_encoder_forward (siglip_workspace *ws, const siglip_encoder *enc, int n_seq, int seq_len,
                        bool last_token_only, const siglip_encode_options *options,
                        const siglip_trace *trace, siglip_error **error)
{
  const siglip_layer_weights *layers = enc->layers;
  const int d = enc->hidden_size, n = n_seq * seq_len;
  if (enc->num_layers <= 0)
    return true;
  /* each layer leaves the next one's LN1 (x) in ws->branch; the first one's is done here */
  siglip_layernorm (ws->branch, ws->hidden, layers[0].ln1_w, layers[0].ln1_b, n, d, enc->eps);
  for (int l = 0; l < enc->num_layers; l++)
    {
      if (options && options->abort_cb && options->abort_cb (options->abort_data))
        return siglip_set_error (error, SIGLIP_ERR_CANCELLED, "%s cancelled", enc->task);
      const siglip_layer_weights *next = l + 1 < enc->num_layers ? &layers[l + 1] : NULL;
      if (last_token_only && !next)
        encoder_layer_last_token (ws, &layers[l], n_seq, seq_len, d, enc->num_heads, enc->eps);
      else
        siglip_encoder_layer (ws, &layers[l], next ? next->ln1_w : NULL,
                              next ? next->ln1_b : NULL, n_seq, seq_len, d, enc->num_heads,
                              enc->eps);
      if (trace)
        {
          char name[32];
          snprintf (name, sizeof name, "layer%d_out", l);
          siglip_trace_emit (trace, name, ws->hidden, last_token_only && !next ? n_seq : seq_len,
                             d);
        }
    }
  return true;
}
