/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test-encode.c — the task-shaped API of siglip.h (encode.c) against the steps it is made of:
 * labels through their template (and a prompt ensemble) against the raw texts encoded by hand,
 * the pooling head's attention map against the head's softmax recomputed from the traced
 * hidden states, batch scores against one image at a time, and siglip_classify against its
 * three calls. The goldens themselves are test-forward's.
 */
#include <math.h>
#include <string.h>

#include "encode.h"
#include "gemm.h"
#include "siglens-decode.h"
#include "test-util.h"
#include "vision.h"

static siglip_model *
load_tiny (const char *name)
{
  g_autofree char *dir = test_data_path (name);
  siglip_error *err = NULL;
  siglip_model *model = siglip_model_load (dir, NULL, &err);
  if (!model)
    g_error ("%s: %s", dir, err->message);
  return model;
}

static void
assert_ok (bool ok, siglip_error *err)
{
  if (!ok)
    g_error ("%s: %s", siglip_status_name (err->status), err->message);
}

static SiglensRgbImage *
read_image (const char *name)
{
  g_autofree char *rel = g_strdup_printf ("images/%s", name);
  g_autofree char *path = test_data_path (rel);
  g_autoptr (GError) gerr = NULL;
  SiglensRgbImage *rgb = siglens_decode_file (path, 0, &gerr);
  g_assert_no_error (gerr);
  return rgb;
}

static const char *const labels[] = { "cat", "a red car", "一只猫" };
enum { N_LABELS = G_N_ELEMENTS (labels) };

/* Labels go through options->template (NULL: the default, SIGLIP_NO_TEMPLATE: as typed),
 * exactly as if the templated texts were encoded by hand. */
static void
test_labels_template (void)
{
  siglip_model *model = load_tiny ("tiny-siglip2-naflex");
  siglip_error *err = NULL;
  siglip_state *st = siglip_state_new (model, &err);
  const int dim = siglip_model_embed_dim_text (model);
  const char *templates[] = { NULL, "a photo of {}.", SIGLIP_NO_TEMPLATE };
  for (gsize t = 0; t < G_N_ELEMENTS (templates); t++)
    {
      float got[N_LABELS * 64], want[N_LABELS * 64];
      g_assert_cmpint (dim, <=, 64);
      const siglip_encode_options options = { .template = templates[t] };
      assert_ok (siglip_encode_labels (st, labels, N_LABELS, &options, got, &err), err);
      char *texts[N_LABELS];
      for (int i = 0; i < N_LABELS; i++)
        texts[i] = siglip_apply_template (templates[t], labels[i]);
      assert_ok (siglip_encode_texts (st, (const char *const *) texts, N_LABELS, NULL, want, &err),
                 err);
      g_assert_cmpmem (got, N_LABELS * dim * sizeof (float), want, N_LABELS * dim * sizeof (float));
      for (int i = 0; i < N_LABELS; i++)
        free (texts[i]);
    }
  /* and the template matters: the default and the bare label differ */
  float with[64], without[64];
  const siglip_encode_options bare = { .template = SIGLIP_NO_TEMPLATE };
  assert_ok (siglip_encode_labels (st, labels, 1, NULL, with, &err), err);
  assert_ok (siglip_encode_labels (st, labels, 1, &bare, without, &err), err);
  g_assert_cmpfloat (fabsf (with[0] - without[0]) + fabsf (with[1] - without[1]), >, 1e-6f);
  siglip_state_free (st);
  siglip_model_free (model);
}

/* A prompt ensemble: each label's embedding is the mean of its L2-normalised embeddings under
 * every template (double-precision reference from the texts encoded one by one). */
static void
test_labels_ensemble (void)
{
  siglip_model *model = load_tiny ("tiny-siglip2-naflex");
  siglip_error *err = NULL;
  siglip_state *st = siglip_state_new (model, &err);
  const int dim = siglip_model_embed_dim_text (model);
  const char *const templates[] = { "a photo of {}.", "a drawing of {}.", "{}" };
  const int n_t = G_N_ELEMENTS (templates);
  const siglip_encode_options options = { .templates = templates, .n_templates = n_t };
  g_autofree float *got = g_new (float, N_LABELS * dim);
  assert_ok (siglip_encode_labels (st, labels, N_LABELS, &options, got, &err), err);

  g_autofree float *one = g_new (float, dim);
  for (int i = 0; i < N_LABELS; i++)
    {
      g_autofree double *mean = g_new0 (double, dim);
      for (int t = 0; t < n_t; t++)
        {
          char *text = siglip_apply_template (templates[t], labels[i]);
          assert_ok (siglip_encode_texts (st, (const char *const *) &text, 1, NULL, one, &err),
                     err);
          free (text);
          double norm = 0;
          for (int j = 0; j < dim; j++)
            norm += (double) one[j] * one[j];
          for (int j = 0; j < dim; j++)
            mean[j] += one[j] / sqrt (norm) / n_t;
        }
      for (int j = 0; j < dim; j++)
        g_assert_cmpfloat_with_epsilon (got[(gsize) i * dim + j], mean[j], 1e-6);
    }

  /* an ensemble of one template scores as that template alone (the scores normalise) */
  float single[N_LABELS * 64], ens[N_LABELS * 64], image[64] = { 0 };
  for (int j = 0; j < dim; j++)
    image[j] = (float) sin (j * 0.7);
  const siglip_encode_options one_template = { .templates = templates, .n_templates = 1 };
  const siglip_encode_options plain = { .template = templates[0] };
  assert_ok (siglip_encode_labels (st, labels, N_LABELS, &one_template, ens, &err), err);
  assert_ok (siglip_encode_labels (st, labels, N_LABELS, &plain, single, &err), err);
  siglip_score a[N_LABELS], b[N_LABELS];
  siglip_score_embeddings (model, image, single, N_LABELS, a);
  siglip_score_embeddings (model, image, ens, N_LABELS, b);
  for (int i = 0; i < N_LABELS; i++)
    g_assert_cmpfloat_with_epsilon (a[i].logit, b[i].logit, 1e-4);

  /* a missing template is refused, naming which */
  const char *const holes[] = { "a photo of {}.", NULL };
  const siglip_encode_options broken = { .templates = holes, .n_templates = 2 };
  g_assert_false (siglip_encode_labels (st, labels, N_LABELS, &broken, got, &err));
  test_assert_error (err, SIGLIP_ERR_INVALID_INPUT, "an ensemble with a NULL template",
                     TEST_ARGS ("prompt ensemble", "template 2 of 2"));
  siglip_state_free (st);
  siglip_model_free (model);
}

/* The post-LayerNorm hidden states a trace sees, for recomputing the head by hand. */
typedef struct {
  float *post_ln;
  int rows, cols;
} trace_capture;

static void
capture_post_ln (void *user_data, const char *name, const float *x, int rows, int cols)
{
  trace_capture *c = user_data;
  if (strcmp (name, "post_layernorm"))
    return;
  c->post_ln = g_memdup2 (x, (gsize) rows * cols * sizeof (float));
  c->rows = rows;
  c->cols = cols;
}

/* The attention map is the pooling head's softmax over the patches, averaged over heads:
 * recomputed in double from the traced hidden states and the head's in_proj, for NAFlex and
 * fixed resolution; the embedding is siglip_encode_image's, bit for bit. */
static void
check_attention_map (const char *fixture, const char *image_name)
{
  siglip_model *model = load_tiny (fixture);
  siglip_error *err = NULL;
  siglip_state *st = siglip_state_new (model, &err);
  g_autoptr (SiglensRgbImage) rgb = read_image (image_name);
  siglip_image image = { rgb->rgb, rgb->width, rgb->height, rgb->stride };
  const int d = siglip_model_embed_dim_vision (model);
  g_autofree float *emb = g_new (float, d), *plain = g_new (float, d);
  siglip_attention_map *map = NULL;
  int shape[2];
  assert_ok (siglip_encode_image_attention (st, &image, NULL, emb, &map, &err), err);
  assert_ok (siglip_encode_image (st, &image, NULL, plain, shape, &err), err);
  g_assert_cmpmem (emb, d * sizeof (float), plain, d * sizeof (float));
  g_assert_nonnull (map);
  g_assert_cmpint (map->rows, ==, shape[0]);
  g_assert_cmpint (map->cols, ==, shape[1]);
  const int n = map->rows * map->cols;

  /* the reference: k_j = W_k h_j + b_k, q = W_q probe + b_q, softmax per head, mean */
  siglip_patches *patches = siglip_preprocess (model, &image, 0, &err);
  assert_ok (patches != NULL, err);
  siglip_workspace ws = { 0 };
  trace_capture cap = { 0 };
  const siglip_trace trace = { capture_post_ln, &cap };
  g_autofree float *unused = g_new (float, d);
  assert_ok (siglip_vision_forward (model, &ws, patches, NULL, &trace, unused, NULL, &err), err);
  g_assert_cmpint (cap.rows, ==, n);
  const siglip_vision_weights *vw = &model->vision;
  g_autofree float *w = g_new (float, (gsize) 3 * d * d);
  siglip_gemm_unpack_f32 (&vw->head_in, w);
  const int heads = model->config.vision.num_heads, hd = d / heads;
  g_autofree double *q = g_new (double, d), *k = g_new (double, (gsize) n * d);
  g_autofree double *mean = g_new0 (double, n), *p = g_new (double, n);
  for (int o = 0; o < d; o++)
    {
      q[o] = vw->head_in_b[o];
      for (int c = 0; c < d; c++)
        q[o] += (double) w[(gsize) o * d + c] * vw->probe[c];
      for (int j = 0; j < n; j++)
        {
          double acc = vw->head_in_b[d + o];
          for (int c = 0; c < d; c++)
            acc += (double) w[(gsize) (d + o) * d + c] * cap.post_ln[(gsize) j * d + c];
          k[(gsize) j * d + o] = acc;
        }
    }
  for (int h = 0; h < heads; h++)
    {
      double max = -INFINITY, sum = 0;
      for (int j = 0; j < n; j++)
        {
          double dot = 0;
          for (int c = 0; c < hd; c++)
            dot += q[h * hd + c] * k[(gsize) j * d + h * hd + c];
          p[j] = dot / sqrt (hd);
          max = fmax (max, p[j]);
        }
      for (int j = 0; j < n; j++)
        sum += p[j] = exp (p[j] - max);
      for (int j = 0; j < n; j++)
        mean[j] += p[j] / sum / heads;
    }
  double total = 0, spread = 0;
  for (int j = 0; j < n; j++)
    {
      g_assert_cmpfloat (map->weights[j], >=, 0.0f);
      g_assert_cmpfloat_with_epsilon (map->weights[j], mean[j], 1e-5);
      total += map->weights[j];
      spread = fmax (spread, fabs (map->weights[j] - 1.0 / n));
    }
  g_assert_cmpfloat_with_epsilon (total, 1.0, 1e-5);
  g_assert_cmpfloat (spread, >, 1e-6); /* not a uniform map: the check can tell */
  g_test_message ("%s, %s: %dx%d map, largest weight %.4g (uniform %.4g)", fixture, image_name,
                  map->rows, map->cols, spread + 1.0 / n, 1.0 / n);

  g_free (cap.post_ln);
  siglip_workspace_clear (&ws);
  siglip_patches_free (patches);
  siglip_attention_map_free (map);
  siglip_state_free (st);
  siglip_model_free (model);
}

static void
test_attention_map (void)
{
  check_attention_map ("tiny-siglip2-naflex", "rocket.jpg");
  check_attention_map ("tiny-siglip-fixres", "chelsea.png");
}

/* Batch scores are one image at a time's, and siglip_classify is its three calls. */
static void
test_scores (void)
{
  siglip_model *model = load_tiny ("tiny-siglip2-naflex");
  siglip_error *err = NULL;
  siglip_state *st = siglip_state_new (model, &err);
  const int dim = siglip_model_embed_dim_text (model);
  const char *names[] = { "chelsea.png", "rocket.jpg" };
  g_autofree float *images = g_new (float, 2 * dim), *texts = g_new (float, N_LABELS * dim);
  siglip_score batch[2 * N_LABELS], one[N_LABELS], classified[N_LABELS];
  assert_ok (siglip_encode_labels (st, labels, N_LABELS, NULL, texts, &err), err);
  for (int i = 0; i < 2; i++)
    {
      g_autoptr (SiglensRgbImage) rgb = read_image (names[i]);
      siglip_image image = { rgb->rgb, rgb->width, rgb->height, rgb->stride };
      assert_ok (siglip_encode_image (st, &image, NULL, images + (gsize) i * dim, NULL, &err), err);
      assert_ok (siglip_classify (st, &image, labels, N_LABELS, NULL, classified, &err), err);
      siglip_score_embeddings (model, images + (gsize) i * dim, texts, N_LABELS, one);
      g_assert_cmpmem (classified, sizeof classified, one, sizeof one);
    }
  siglip_score_batch (model, images, 2, texts, N_LABELS, batch);
  for (int i = 0; i < 2; i++)
    {
      siglip_score_embeddings (model, images + (gsize) i * dim, texts, N_LABELS, one);
      g_assert_cmpmem (batch + i * N_LABELS, sizeof one, one, sizeof one);
    }
  /* the two images score differently, so a mixed-up row would show */
  g_assert_cmpfloat (batch[0].logit, !=, batch[N_LABELS].logit);
  siglip_state_free (st);
  siglip_model_free (model);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/encode/labels-template", test_labels_template);
  g_test_add_func ("/encode/labels-ensemble", test_labels_ensemble);
  g_test_add_func ("/encode/attention-map", test_attention_map);
  g_test_add_func ("/encode/scores", test_scores);
  return g_test_run ();
}
