/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The text tower, as transformers' Siglip2TextTransformer / SiglipTextTransformer:
 *   token + position embeddings → pre-LN encoder layers (no mask) → final LayerNorm
 *   → last position → head Linear
 */
#include <string.h>

#include "gemm.h"
#include "ops.h"
#include "text.h"

/* ws->hidden (n_seq * L, D) = token_embedding[ids] + position_embedding[arange (L)]
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
        float *dst = ws->hidden + ((size_t) s * len + t) * d;
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
  /* No attention mask: the SigLIP 2 tokenizer returns none, so <pad> tokens take part
   * (FACTS.md §6). */
  const siglip_encoder encoder = { model->text.layers, tc->num_layers, d, tc->num_heads,
                                   tc->layer_norm_eps, "text encoding" };

  for (int first = 0; first < n; first += batch)
    {
      const int n_seq = n - first < batch ? n - first : batch;
      const int rows = n_seq * len;
      /* embed */
      if (!embed_tokens (model, ws, ids + (size_t) first * len, n_seq, error))
        return false;
      siglip_trace_emit (trace, "embeddings", ws->hidden, len, d);

      /* encoder */
      if (!siglip_encoder_forward (ws, &encoder, n_seq, len, last_only, options, trace, error))
        return false;

      /* final LayerNorm; pooled_output = last_hidden_state[:, -1, :] — the last position,
       * usually a <pad> — into ws->branch */
      if (last_only)
        siglip_layernorm (ws->branch, ws->hidden, model->text.final_ln_w, model->text.final_ln_b,
                          n_seq, d, tc->layer_norm_eps);
      else
        {
          siglip_layernorm (ws->hidden, ws->hidden, model->text.final_ln_w,
                            model->text.final_ln_b, rows, d, tc->layer_norm_eps);
          siglip_trace_emit (trace, "final_layer_norm", ws->hidden, len, d);
          for (int s = 0; s < n_seq; s++)
            memcpy (ws->branch + (size_t) s * d, ws->hidden + ((size_t) s * len + len - 1) * d,
                    (size_t) d * sizeof (float));
        }

      /* head */
      float *out = embeddings + (size_t) first * proj;
      siglip_linear (out, ws->branch, &model->text.head, model->text.head_b, n_seq);
      siglip_trace_emit (trace, "pooled", out, 1, proj);
    }
  return true;
}
