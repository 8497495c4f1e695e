/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The text tower, as transformers' Siglip2TextTransformer / SiglipTextTransformer:
 *   token + position embeddings → pre-LN encoder layers (no mask) → final LayerNorm
 *   → last position → head Linear
 */
#include <stdio.h>
#include <string.h>

#include "gemm.h"
#include "ops.h"
#include "text.h"

/* ws->x (n_seq * L, D) = token_embedding[ids] + position_embedding[arange (L)]
 * (Siglip2TextEmbeddings). */
static bool
embed_tokens (const siglip_model *model, siglip_workspace *ws, const int32_t *ids, int n_seq,
              siglip_error **error)
{
  const siglip_tower_config *tc = &model->config.text;
  const int d = tc->hidden_size, len = tc->max_position_embeddings;
  for (int s = 0; s < n_seq; s++)
    for (int t = 0; t < len; t++)
      {
        const int32_t id = ids[(size_t) s * len + t];
        if (id < 0 || id >= tc->vocab_size)
          return siglip_set_error (error, SIGLIP_ERR_INVALID_INPUT,
                                   "text %d: token id %d at position %d is outside the "
                                   "vocabulary of %d", s, (int) id, t, tc->vocab_size);
        float *dst = ws->x + ((size_t) s * len + t) * d;
        const float *tok = model->text.token_embedding + (size_t) id * d;
        const float *pos = model->text.position_embedding + (size_t) t * d;
        for (int e = 0; e < d; e++)
          dst[e] = tok[e] + pos[e];
      }
  return true;
}

bool
siglip_text_forward (const siglip_model *model, siglip_workspace *ws, const int32_t *ids, int n,
                     const siglip_encode_options *options, const siglip_trace *trace,
                     float *embeddings, siglip_error **error)
{
  const siglip_tower_config *tc = &model->config.text;
  const int d = tc->hidden_size, len = tc->max_position_embeddings;
  const int proj = model->text.head.rows;
  const int inter = tc->intermediate_size;

  if (n <= 0)
    return true;
  /* The state is sized for a batch of texts at creation; a smaller workspace (a test's own)
   * still holds at least one sequence. */
  if (!siglip_workspace_reserve (ws, d, inter, len, 0)
      || !siglip_workspace_reserve_attention (ws, len, d / tc->num_heads))
    return siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "text tower: out of memory");
  /* bf16 weights: attention products in bf16 too (attention.c) */
  ws->attention.bf16 = model->precision == SIGLIP_PRECISION_BF16;
  const int batch = ws->cap_tokens / len;
  /* Only position len - 1 is pooled, so the last layer needs no other query rows and its
   * out_proj and MLP run on one row per text (3% of the tower's work). A trace sees every
   * position of every layer, so it gets the full last layer. */
  const bool last_only = !trace && tc->num_layers > 0;

  for (int first = 0; first < n; first += batch)
    {
      const int n_seq = n - first < batch ? n - first : batch;
      const int rows = n_seq * len;
      if (!embed_tokens (model, ws, ids + (size_t) first * len, n_seq, error))
        return false;
      siglip_trace_emit (trace, "embeddings", ws->x, len, d);

      /* No attention mask: the SigLIP 2 tokenizer returns none, so <pad> tokens take part
       * (FACTS.md §6). */
      const siglip_layer_weights *layers = model->text.layers;
      if (tc->num_layers > 0)
        siglip_layernorm (ws->h, ws->x, layers[0].ln1_w, layers[0].ln1_b, rows, d,
                          tc->layer_norm_eps);
      for (int l = 0; l < tc->num_layers; l++)
        {
          if (options && options->abort_cb && options->abort_cb (options->abort_data))
            return siglip_set_error (error, SIGLIP_ERR_CANCELLED, "text encoding cancelled");
          /* each layer leaves the next one's LN1 (x) in ws->h */
          const siglip_layer_weights *next = l + 1 < tc->num_layers ? &layers[l + 1] : NULL;
          if (last_only && !next)
            siglip_encoder_layer_last_token (ws, &layers[l], n_seq, len, d, tc->num_heads,
                                             tc->layer_norm_eps);
          else
            siglip_encoder_layer (ws, &layers[l], next ? next->ln1_w : NULL,
                                  next ? next->ln1_b : NULL, n_seq, len, d, tc->num_heads,
                                  tc->layer_norm_eps);
          if (trace)
            {
              char name[32];
              snprintf (name, sizeof name, "layer%d_out", l);
              siglip_trace_emit (trace, name, ws->x, len, d);
            }
        }

      /* pooled_output = last_hidden_state[:, -1, :] — the last position, usually a <pad> */
      if (last_only)
        siglip_layernorm (ws->h, ws->x, model->text.final_ln_w, model->text.final_ln_b, n_seq, d,
                          tc->layer_norm_eps);
      else
        {
          siglip_layernorm (ws->x, ws->x, model->text.final_ln_w, model->text.final_ln_b, rows,
                            d, tc->layer_norm_eps);
          siglip_trace_emit (trace, "final_layer_norm", ws->x, len, d);
          for (int s = 0; s < n_seq; s++)
            memcpy (ws->h + (size_t) s * d, ws->x + ((size_t) s * len + len - 1) * d,
                    (size_t) d * sizeof (float));
        }
      float *out = embeddings + (size_t) first * proj;
      siglip_linear (out, ws->h, &model->text.head, model->text.head_b, n_seq);
      siglip_trace_emit (trace, "pooled", out, 1, proj);
    }
  return true;
}
