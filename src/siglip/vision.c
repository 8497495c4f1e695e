/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The image tower, as transformers' Siglip2VisionTransformer (NAFlex) and
 * SiglipVisionTransformer (fixed resolution):
 *   patch embedding + positions → pre-LN encoder layers → post LayerNorm → attention-pooling head
 */
#include <math.h>
#include <string.h>

#include "gemm.h"
#include "ops.h"
#include "vision.h"

/* ---------------------------------------------------------------------------------------------
 * Position grid resize — torch's antialiased bilinear (upsample_bilinear2d_aa,
 * _compute_weights_aa): per axis scale = in/out, support = max(scale, 1) (bilinear's
 * interp_size/2 = 1, widened by the downscale factor), output i takes inputs
 * [xmin, xmax) around center = scale (i + 0.5), weights tri ((j - center + 0.5) / max (scale, 1))
 * normalised to sum 1. When upsampling this is plain bilinear with align_corners=False.
 */

typedef struct {
  int xmin, n;   /* first input index and number of taps */
  double center; /* in input coordinates */
  double invscale;
  double total;  /* sum of the unnormalised weights */
} aa_taps;

static double
aa_tri (double t)
{
  t = fabs (t);
  return t < 1.0 ? 1.0 - t : 0.0;
}

static aa_taps
aa_taps_for (int i, int in, int out)
{
  const double scale = (double) in / out;
  const double support = scale >= 1.0 ? scale : 1.0;
  aa_taps t;
  t.center = scale * (i + 0.5);
  t.invscale = scale >= 1.0 ? 1.0 / scale : 1.0;
  /* torch truncates toward zero (int64_t cast), then clamps */
  int xmin = (int) (t.center - support + 0.5);
  int xmax = (int) (t.center + support + 0.5);
  t.xmin = xmin > 0 ? xmin : 0;
  t.n = (xmax < in ? xmax : in) - t.xmin;
  t.total = 0;
  for (int j = 0; j < t.n; j++)
    t.total += aa_tri ((j + t.xmin - t.center + 0.5) * t.invscale);
  return t;
}

static float
aa_weight (const aa_taps *t, int j)
{
  return (float) (aa_tri ((j + t->xmin - t->center + 0.5) * t->invscale) / t->total);
}

void
siglip_resize_position_grid (float *out, float *tmp, const float *table, int grid, int dim,
                             int rows, int cols)
{
  /* width pass: tmp (grid, cols, dim) */
  for (int c = 0; c < cols; c++)
    {
      const aa_taps t = aa_taps_for (c, grid, cols);
      for (int r = 0; r < grid; r++)
        {
          float *dst = tmp + ((size_t) r * cols + c) * dim;
          memset (dst, 0, (size_t) dim * sizeof (float));
          for (int j = 0; j < t.n; j++)
            {
              const float w = aa_weight (&t, j);
              const float *src = table + ((size_t) r * grid + t.xmin + j) * dim;
              for (int e = 0; e < dim; e++)
                dst[e] += w * src[e];
            }
        }
    }
  /* height pass: out (rows, cols, dim), row-major (r, c) as the reference's reshape gives */
  for (int r = 0; r < rows; r++)
    {
      const aa_taps t = aa_taps_for (r, grid, rows);
      for (int c = 0; c < cols; c++)
        {
          float *dst = out + ((size_t) r * cols + c) * dim;
          memset (dst, 0, (size_t) dim * sizeof (float));
          for (int j = 0; j < t.n; j++)
            {
              const float w = aa_weight (&t, j);
              const float *src = tmp + ((size_t) (t.xmin + j) * cols + c) * dim;
              for (int e = 0; e < dim; e++)
                dst[e] += w * src[e];
            }
        }
    }
}

/* ---------------------------------------------------------------------------------------------
 * Embeddings
 */

static int
position_grid_side (const siglip_tower_config *vc)
{
  /* Siglip2VisionEmbeddings: position_embedding_size = int (num_patches ** 0.5) */
  return (int) sqrt ((double) vc->num_patches);
}

/* ws->hidden (n, D) = patch_embedding (valid patches) + resized positions
 * (Siglip2VisionEmbeddings). */
static bool
embed_naflex (const siglip_model *model, siglip_workspace *ws, const siglip_patches *p,
              siglip_error **error)
{
  const siglip_tower_config *vc = &model->config.vision;
  const int d = vc->hidden_size, g = position_grid_side (vc);
  const int n = p->rows * p->cols;
  if (p->rows <= 0 || p->cols <= 0 || n != p->num_valid || n > p->num_patches)
    return siglip_set_error (error, SIGLIP_ERR_INVALID_INPUT,
                             "patches: spatial shape %dx%d does not match %d valid of %d patches",
                             p->rows, p->cols, p->num_valid, p->num_patches);

  siglip_linear (ws->hidden, p->pixel_values, &model->vision.patch, model->vision.patch_b, n);
  siglip_resize_position_grid (ws->positions, ws->positions_tmp, model->vision.position_embedding,
                               g, d, p->rows, p->cols);
  siglip_add (ws->hidden, ws->positions, (size_t) n * d);
  return true;
}

/* ws->hidden (N, D) = Conv2d patch embedding as a product over (channel, row, col) patches +
 * the fixed position table in order (SiglipVisionEmbeddings, no interpolate_pos_encoding). */
static bool
embed_fixed (const siglip_model *model, siglip_workspace *ws, const siglip_patches *p,
             siglip_error **error)
{
  const siglip_tower_config *vc = &model->config.vision;
  const int side = vc->image_size / vc->patch_size, n = side * side;
  if (p->num_valid != n)
    return siglip_set_error (error, SIGLIP_ERR_INVALID_INPUT,
                             "patches: %d patches given, the %dx%d model expects %d",
                             p->num_valid, vc->image_size, vc->image_size, n);

  siglip_linear (ws->hidden, p->pixel_values, &model->vision.patch, model->vision.patch_b, n);
  siglip_add (ws->hidden, model->vision.position_embedding, (size_t) n * vc->hidden_size);
  return true;
}

/* ---------------------------------------------------------------------------------------------
 * Attention-pooling head (Siglip2MultiheadAttentionPoolingHead): the learned probe is the one
 * query of a torch.nn.MultiheadAttention over the n valid tokens in ws->hidden; then
 * h = h + mlp (layernorm (h)). embedding (D) = h.
 */

/* map (n) = the probe's softmax weights over the tokens, averaged over the heads, from its
 * query (ws->queries) and the tokens' keys (ws->inner rows, after the queries' D columns);
 * ws->branch holds the per-head weights meanwhile. */
static void
pooling_map (const siglip_tower_config *vc, siglip_workspace *ws, int n, float *map)
{
  const int d = vc->hidden_size, heads = vc->num_heads;
  float *per_head = ws->branch; /* heads * n <= n * d floats */
  siglip_attention_weights (per_head, ws->queries, ws->inner + d, 3 * d, n, d, heads);
  for (int j = 0; j < n; j++)
    {
      double sum = 0;
      for (int h = 0; h < heads; h++)
        sum += per_head[(size_t) h * n + j];
      map[j] = (float) (sum / heads);
    }
}

static void
pool_head (const siglip_model *model, siglip_workspace *ws, int n, float *embedding,
           float *attention_map)
{
  const siglip_vision_weights *vw = &model->vision;
  const siglip_tower_config *vc = &model->config.vision;
  const int d = vc->hidden_size;
  const int inter = vw->head_fc1.rows;

  /* in_proj_weight rows are [q; k; v]: one product gives all three; the probe's k/v and the
   * tokens' q are not used. */
  siglip_linear (ws->inner, ws->hidden, &vw->head_in, vw->head_in_b, n);
  siglip_linear (ws->queries, vw->probe, &vw->head_in, vw->head_in_b, 1);
  siglip_attention_seqs (&ws->attention, ws->attn_out, d, ws->queries, 3 * d, ws->inner + d,
                         3 * d, ws->inner + 2 * d, 3 * d, 1, 1, n, d, vc->num_heads);
  if (attention_map)
    pooling_map (vc, ws, n, attention_map);

  /* the tokens are done with: the pooled state takes the first row of ws->hidden */
  float *pooled = ws->hidden;
  siglip_linear (pooled, ws->attn_out, &vw->head_out, vw->head_out_b, 1);
  siglip_layernorm (ws->branch, pooled, vw->head_ln_w, vw->head_ln_b, 1, d, vc->layer_norm_eps);
  siglip_linear (ws->inner, ws->branch, &vw->head_fc1, vw->head_fc1_b, 1);
  siglip_gelu_tanh (ws->inner, (size_t) inter);
  siglip_linear (ws->attn_out, ws->inner, &vw->head_fc2, vw->head_fc2_b, 1);
  siglip_add (pooled, ws->attn_out, (size_t) d);
  memcpy (embedding, pooled, (size_t) d * sizeof (float));
}

/* ---------------------------------------------------------------------------------------------
 * The tower
 */

bool
siglip_vision_forward (const siglip_model *model, siglip_workspace *ws,
                       const siglip_patches *patches, const siglip_encode_options *options,
                       const siglip_trace *trace, float *embedding, float *attention_map,
                       siglip_error **error)
{
  const siglip_tower_config *vc = &model->config.vision;
  const bool naflex = model->config.kind == SIGLIP_KIND_SIGLIP2;
  const int d = vc->hidden_size;

  if (!model->vision.probe)
    return siglip_set_error (error, SIGLIP_ERR_UNSUPPORTED,
                             "config.json: vision_use_head is false; the image embedding needs "
                             "the attention-pooling head");
  if (patches->patch_dim != model->vision.patch.cols)
    return siglip_set_error (error, SIGLIP_ERR_INVALID_INPUT,
                             "patches: %d values per patch, the patch embedding takes %d",
                             patches->patch_dim, model->vision.patch.cols);

  const int n = naflex ? patches->rows * patches->cols : patches->num_valid;
  const int g = naflex ? position_grid_side (vc) : 0;
  const int head_inter = model->vision.head_fc1.rows;
  int inter = vc->intermediate_size > 3 * d ? vc->intermediate_size : 3 * d;
  inter = inter > head_inter ? inter : head_inter;
  /* at least 3 rows: the head's probe projection [q; k; v] lands in ws->queries */
  const int rows = n > 3 ? n : 3;
  if (n <= 0
      || !siglip_workspace_reserve (ws, d, inter, rows, naflex ? g * patches->cols : 0)
      || !siglip_workspace_reserve_attention (ws, n, d / vc->num_heads))
    return siglip_set_error (error, n <= 0 ? SIGLIP_ERR_INVALID_INPUT : SIGLIP_ERR_NO_MEMORY,
                             "vision tower: cannot hold %d patches", n);
  /* bf16 weights: attention products in bf16 too (attention.c) */
  ws->attention.bf16 = model->precision == SIGLIP_PRECISION_BF16;

  /* embed */
  if (!(naflex ? embed_naflex (model, ws, patches, error) : embed_fixed (model, ws, patches, error)))
    return false;
  siglip_trace_emit (trace, "embeddings", ws->hidden, n, d);

  /* encoder: padded patches are masked as keys in every layer and in the head, so running on
   * the valid ones alone gives the same result (FACTS.md §4) */
  const siglip_encoder encoder = { model->vision.layers, vc->num_layers, d, vc->num_heads,
                                   vc->layer_norm_eps, "image encoding" };
  if (!siglip_encoder_forward (ws, &encoder, 1, n, false, options, trace, error))
    return false;

  /* post LayerNorm */
  siglip_layernorm (ws->hidden, ws->hidden, model->vision.post_ln_w, model->vision.post_ln_b, n,
                    d, vc->layer_norm_eps);
  siglip_trace_emit (trace, "post_layernorm", ws->hidden, n, d);

  /* head */
  pool_head (model, ws, n, embedding, attention_map);
  siglip_trace_emit (trace, "pooled", embedding, 1, d);
  return true;
}
