/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The arithmetic of the towers; see ops.h for the shapes. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gemm.h"
#include "ops.h"

void
siglip_layernorm (float *y, const float *x, const float *w, const float *b, int n, int d,
                  float eps)
{
  for (int i = 0; i < n; i++)
    {
      const float *xi = x + (size_t) i * d;
      float *yi = y + (size_t) i * d;
      /* Two passes in double: d is at most a few thousand and this keeps the variance exact
       * enough that eps = 1e-6 is the only approximation, as in torch's Welford. */
      double mean = 0, var = 0;
      for (int j = 0; j < d; j++)
        mean += xi[j];
      mean /= d;
      for (int j = 0; j < d; j++)
        {
          double c = xi[j] - mean;
          var += c * c;
        }
      var /= d; /* biased, as torch.nn.LayerNorm */
      const float inv = (float) (1.0 / sqrt (var + eps));
      const float m = (float) mean;
      for (int j = 0; j < d; j++)
        yi[j] = (xi[j] - m) * inv * w[j] + b[j];
    }
}

void
siglip_gelu_tanh (float *x, size_t n)
{
  /* activations.py: gelu_pytorch_tanh = nn.functional.gelu (x, approximate="tanh") */
  const float k = 0.7978845608028654f; /* sqrt (2 / pi) */
  for (size_t i = 0; i < n; i++)
    {
      const float v = x[i];
      x[i] = 0.5f * v * (1.0f + tanhf (k * (v + 0.044715f * v * v * v)));
    }
}

void
siglip_softmax (float *x, int n)
{
  float max = -INFINITY;
  for (int i = 0; i < n; i++)
    if (x[i] > max)
      max = x[i];
  float sum = 0;
  for (int i = 0; i < n; i++)
    {
      x[i] = expf (x[i] - max);
      sum += x[i];
    }
  const float inv = 1.0f / sum;
  for (int i = 0; i < n; i++)
    x[i] *= inv;
}

void
siglip_add (float *y, const float *x, size_t n)
{
  for (size_t i = 0; i < n; i++)
    y[i] += x[i];
}

void
siglip_add_bias (float *y, const float *b, int n, int d)
{
  for (int i = 0; i < n; i++)
    siglip_add (y + (size_t) i * d, b, (size_t) d);
}

void
siglip_attention (float *out, int ldo, const float *q, int ldq, const float *k, int ldk,
                  const float *v, int ldv, int nq, int nk, int dim, int heads,
                  const uint8_t *key_valid, float *scores)
{
  const int hd = dim / heads;
  const float scale = 1.0f / sqrtf ((float) hd); /* Siglip2Attention: head_dim**-0.5 */

  for (int h = 0; h < heads; h++)
    {
      const int off = h * hd;
      /* scores (nq, nk) = q_h (nq, hd) @ k_h^T (hd, nk) * scale */
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, nq, nk, hd, scale, q + off, ldq,
                   k + off, ldk, 0.0f, scores, nk);
      for (int i = 0; i < nq; i++)
        {
          float *row = scores + (size_t) i * nk;
          if (key_valid)
            for (int j = 0; j < nk; j++)
              if (!key_valid[j])
                row[j] = -INFINITY;
          siglip_softmax (row, nk);
        }
      /* out_h (nq, hd) = scores (nq, nk) @ v_h (nk, hd) */
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, nq, hd, nk, 1.0f, scores, nk,
                   v + off, ldv, 0.0f, out + off, ldo);
    }
}

bool
siglip_workspace_reserve (siglip_workspace *ws, int dim, int inter, int tokens, int seq,
                          int pos_tmp_rows)
{
  if (ws->x && dim <= ws->dim && inter <= ws->inter && tokens <= ws->cap_tokens
      && seq <= ws->cap_seq && pos_tmp_rows <= ws->pos_tmp_rows)
    return true;

  /* Grow to the max of old and new so that alternating callers do not thrash. */
  if (ws->x)
    {
      dim = dim > ws->dim ? dim : ws->dim;
      inter = inter > ws->inter ? inter : ws->inter;
      tokens = tokens > ws->cap_tokens ? tokens : ws->cap_tokens;
      seq = seq > ws->cap_seq ? seq : ws->cap_seq;
      pos_tmp_rows = pos_tmp_rows > ws->pos_tmp_rows ? pos_tmp_rows : ws->pos_tmp_rows;
    }
  siglip_workspace_clear (ws);

  const size_t rows = (size_t) tokens * dim;
  float **bufs[] = { &ws->x, &ws->h, &ws->q, &ws->k, &ws->v, &ws->attn, &ws->pos };
  for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
    *bufs[i] = malloc (rows * sizeof (float));
  ws->mlp = malloc ((size_t) tokens * inter * sizeof (float));
  ws->pos_tmp = malloc ((size_t) (pos_tmp_rows > 0 ? pos_tmp_rows : 1) * dim * sizeof (float));
  ws->scores = malloc ((size_t) seq * seq * sizeof (float));

  bool ok = ws->mlp && ws->pos_tmp && ws->scores;
  for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
    ok = ok && *bufs[i];
  if (!ok)
    {
      siglip_workspace_clear (ws);
      return false;
    }
  ws->dim = dim;
  ws->inter = inter;
  ws->cap_tokens = tokens;
  ws->cap_seq = seq;
  ws->pos_tmp_rows = pos_tmp_rows;
  return true;
}

void
siglip_workspace_clear (siglip_workspace *ws)
{
  free (ws->x);
  free (ws->h);
  free (ws->q);
  free (ws->k);
  free (ws->v);
  free (ws->attn);
  free (ws->mlp);
  free (ws->pos);
  free (ws->pos_tmp);
  free (ws->scores);
  memset (ws, 0, sizeof *ws);
}

void
siglip_encoder_layer (siglip_workspace *ws, const siglip_layer_weights *layer, int n_seq,
                      int seq_len, int d, int heads, float eps)
{
  const int n = n_seq * seq_len;
  const int inter = layer->fc1.rows;

  /* x = x + out_proj (attention (LN1 (x))) */
  siglip_layernorm (ws->h, ws->x, layer->ln1_w, layer->ln1_b, n, d, eps);
  siglip_linear (ws->q, ws->h, &layer->q, layer->q_b, n);
  siglip_linear (ws->k, ws->h, &layer->k, layer->k_b, n);
  siglip_linear (ws->v, ws->h, &layer->v, layer->v_b, n);
  for (int s = 0; s < n_seq; s++)
    {
      const size_t off = (size_t) s * seq_len * d;
      siglip_attention (ws->attn + off, d, ws->q + off, d, ws->k + off, d, ws->v + off, d,
                        seq_len, seq_len, d, heads, NULL, ws->scores);
    }
  siglip_linear (ws->h, ws->attn, &layer->o, layer->o_b, n);
  siglip_add (ws->x, ws->h, (size_t) n * d);

  /* x = x + fc2 (gelu_tanh (fc1 (LN2 (x)))) */
  siglip_layernorm (ws->h, ws->x, layer->ln2_w, layer->ln2_b, n, d, eps);
  siglip_linear (ws->mlp, ws->h, &layer->fc1, layer->fc1_b, n);
  siglip_gelu_tanh (ws->mlp, (size_t) n * inter);
  siglip_linear (ws->h, ws->mlp, &layer->fc2, layer->fc2_b, n);
  siglip_add (ws->x, ws->h, (size_t) n * d);
}
