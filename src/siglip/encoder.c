/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * encoder.c — the encoder layer of both towers and the workspace it runs in; see encoder.h.
 */
#include <stdlib.h>
#include <string.h>

#include "encoder.h"
#include "gemm.h"
#include "ops.h"

/* ---------------------------------------------------------------------------------------------
 * Workspace
 */

/* The row buffers, for allocating and freeing them in one loop. */
#define WS_ROW_BUFFERS(ws) { &(ws)->x, &(ws)->h, &(ws)->q, &(ws)->k, &(ws)->v, &(ws)->attn, \
                             &(ws)->pos, &(ws)->mlp, &(ws)->pos_tmp }

static void
free_rows (siglip_workspace *ws)
{
  float **bufs[] = WS_ROW_BUFFERS (ws);
  for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
    {
      free (*bufs[i]);
      *bufs[i] = NULL;
    }
  ws->dim = ws->inter = ws->cap_tokens = ws->pos_tmp_rows = 0;
}

bool
siglip_workspace_reserve (siglip_workspace *ws, int dim, int inter, int tokens, int pos_tmp_rows)
{
  if (ws->x && dim <= ws->dim && inter <= ws->inter && tokens <= ws->cap_tokens
      && pos_tmp_rows <= ws->pos_tmp_rows)
    return true;

  /* Grow to the max of old and new so that alternating callers do not thrash. */
  if (ws->x)
    {
      dim = dim > ws->dim ? dim : ws->dim;
      inter = inter > ws->inter ? inter : ws->inter;
      tokens = tokens > ws->cap_tokens ? tokens : ws->cap_tokens;
      pos_tmp_rows = pos_tmp_rows > ws->pos_tmp_rows ? pos_tmp_rows : ws->pos_tmp_rows;
    }
  free_rows (ws);

  const size_t rows = (size_t) tokens * dim;
  float **bufs[] = { &ws->x, &ws->h, &ws->q, &ws->k, &ws->v, &ws->attn, &ws->pos };
  for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
    *bufs[i] = malloc (rows * sizeof (float));
  ws->mlp = malloc ((size_t) tokens * inter * sizeof (float));
  ws->pos_tmp = malloc ((size_t) (pos_tmp_rows > 0 ? pos_tmp_rows : 1) * dim * sizeof (float));

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
  ws->pos_tmp_rows = pos_tmp_rows;
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

/* q, k, v (n, d) with row stride *ld of LN1 (x) in ws->h: one product with the stacked
 * [q; k; v] into ws->mlp (free until fc1). */
static void
qkv_products (siglip_workspace *ws, const siglip_layer_weights *layer, int n, int d,
              const float **q, const float **k, const float **v, int *ld)
{
  siglip_linear (ws->mlp, ws->h, &layer->qkv, layer->qkv_b, n);
  *q = ws->mlp, *k = ws->mlp + d, *v = ws->mlp + 2 * d, *ld = 3 * d;
}

/* The rest of a layer on n rows once ws->attn holds their attention output:
 * x += out_proj (attn); x += fc2 (gelu (fc1 (LN2 (x)))); h = next LN (x) */
static void
layer_tail (siglip_workspace *ws, const siglip_layer_weights *layer, const float *next_ln_w,
            const float *next_ln_b, int n, int d, float eps)
{
  const int inter = layer->fc1.rows;
  siglip_linear (ws->h, ws->attn, &layer->o, layer->o_b, n);
  /* x += h; h = LN2 (x), one pass */
  siglip_add_layernorm (ws->x, ws->h, ws->h, layer->ln2_w, layer->ln2_b, n, d, eps);
  siglip_linear (ws->mlp, ws->h, &layer->fc1, NULL, n);
  siglip_bias_gelu (ws->mlp, layer->fc1_b, n, inter);
  siglip_linear (ws->h, ws->mlp, &layer->fc2, layer->fc2_b, n);
  /* x += h; h = LN1 of the next layer (x), one pass */
  siglip_add_layernorm (ws->x, ws->h, ws->h, next_ln_w, next_ln_b, n, d, eps);
}

void
siglip_encoder_layer (siglip_workspace *ws, const siglip_layer_weights *layer,
                      const float *next_ln_w, const float *next_ln_b, int n_seq, int seq_len,
                      int d, int heads, float eps)
{
  const int n = n_seq * seq_len;
  const float *q, *k, *v;
  int ld;
  /* x = x + out_proj (attention (LN1 (x))); ws->h holds LN1 (x) on entry. */
  qkv_products (ws, layer, n, d, &q, &k, &v, &ld);
  siglip_attention_seqs (&ws->attention, ws->attn, d, q, ld, k, ld, v, ld, n_seq, seq_len,
                         seq_len, d, heads);
  layer_tail (ws, layer, next_ln_w, next_ln_b, n, d, eps);
}

void
siglip_encoder_layer_last_token (siglip_workspace *ws, const siglip_layer_weights *layer,
                                 int n_seq, int seq_len, int d, int heads, float eps)
{
  const float *q, *k, *v;
  int ld;
  /* every token is still a key and a value */
  qkv_products (ws, layer, n_seq * seq_len, d, &q, &k, &v, &ld);
  /* ...but only the last one of each sequence a query: its q row into ws->pos, which the text
   * tower does not use */
  for (int s = 0; s < n_seq; s++)
    memcpy (ws->pos + (size_t) s * d, q + ((size_t) s * seq_len + seq_len - 1) * ld,
            (size_t) d * sizeof (float));
  siglip_attention_seqs (&ws->attention, ws->attn, d, ws->pos, d, k, ld, v, ld, n_seq, 1, seq_len,
                         d, heads);
  /* the residual rows of those tokens to the top of ws->x; row s comes from row
   * s * seq_len + seq_len - 1 >= s, which no earlier copy has overwritten */
  for (int s = 0; s < n_seq; s++)
    memmove (ws->x + (size_t) s * d, ws->x + ((size_t) s * seq_len + seq_len - 1) * d,
             (size_t) d * sizeof (float));
  layer_tail (ws, layer, NULL, NULL, n_seq, d, eps);
}

