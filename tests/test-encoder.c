/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test-encoder.c — the encoder room: one layer against the same layer composed from the
 * reference ops (double-precision products, the serial attention), the stacked Q/K/V matrix
 * against the separate tensors in the file, the text tower's pooled-rows-only last layer, and
 * the bf16 path's probabilities on the tiny goldens.
 */
#include <math.h>
#include <string.h>

#include "attention.h"
#include "gemm.h"
#include "ops.h"
#include "pool.h"
#include "siglens-decode.h"
#include "test-util.h"
#include "text.h"
#include "vision.h"

/* ---------------------------------------------------------------------------------------------
 * Stacked Q/K/V
 */

static siglip_model *
load_tiny (const char *name, siglip_precision precision)
{
  g_autofree char *dir = test_data_path (name);
  siglip_load_options options = { .precision = precision };
  siglip_error *err = NULL;
  siglip_model *model = siglip_model_load (dir, &options, &err);
  if (!model)
    g_error ("%s: %s", dir, err->message);
  return model;
}

/* ---------------------------------------------------------------------------------------------
 * One layer
 */

/* y (n, m.rows) = x (n, m.cols) W^T + b in double from the matrix as the GEMM holds it */
static void
linear_ref (float *y, const float *x, const siglip_matrix *m, const float *b, int n)
{
  g_autofree float *w = g_new (float, (gsize) m->rows * m->cols);
  siglip_gemm_unpack_f32 (m, w);
  for (int i = 0; i < n; i++)
    for (int o = 0; o < m->rows; o++)
      {
        double acc = b ? b[o] : 0.0;
        for (int k = 0; k < m->cols; k++)
          acc += (double) x[(gsize) i * m->cols + k] * w[(gsize) o * m->cols + k];
        y[(gsize) i * m->rows + o] = (float) acc;
      }
}

/* One layer written out step by step on one sequence of len tokens, in place on x. */
static void
reference_layer (float *x, const siglip_layer_weights *l, int len, int d, int heads, float eps)
{
  const int inter = l->fc1.rows;
  g_autofree float *h = g_new (float, len * d), *qkv = g_new (float, len * 3 * d);
  g_autofree float *att = g_new (float, len * d), *o = g_new (float, len * d);
  g_autofree float *mid = g_new (float, len * inter), *scores = g_new (float, len * len);
  siglip_layernorm (h, x, l->ln1_w, l->ln1_b, len, d, eps);
  linear_ref (qkv, h, &l->qkv, l->qkv_b, len);
  siglip_attention (att, d, qkv, 3 * d, qkv + d, 3 * d, qkv + 2 * d, 3 * d, len, len, d, heads,
                    scores);
  linear_ref (o, att, &l->o, l->o_b, len);
  siglip_add (x, o, (size_t) len * d);
  siglip_layernorm (h, x, l->ln2_w, l->ln2_b, len, d, eps);
  linear_ref (mid, h, &l->fc1, l->fc1_b, len);
  siglip_gelu_tanh (mid, (size_t) len * inter);
  linear_ref (o, mid, &l->fc2, l->fc2_b, len);
  siglip_add (x, o, (size_t) len * d);
}

static void
count_trace (void *user_data, const char *name, const float *x, int rows, int cols)
{
  (*(int *) user_data)++;
}

static bool
abort_at_call (void *data)
{
  return --*(int *) data < 0;
}

/* siglip_encoder_layer and siglip_encoder_forward on two sequences equal the layers written
 * out step by step, per sequence: x += out_proj (attention (LN1 x)); x += fc2 (gelu (fc1 (LN2
 * x))). One layer leaves the next layer's LN1 (x) in ws->branch; the whole encoder traces each
 * layer and stops when asked to. */
static void
test_encoder_forward (void)
{
  siglip_model *model = load_tiny ("tiny-siglip2-naflex", SIGLIP_PRECISION_FP32);
  const siglip_tower_config *vc = &model->config.vision;
  const siglip_layer_weights *layers = model->vision.layers;
  g_assert_cmpint (vc->num_layers, >=, 2);
  const int d = vc->hidden_size, inter = vc->intermediate_size, heads = vc->num_heads;
  const float eps = vc->layer_norm_eps;
  enum { N_SEQ = 2, LEN = 7 };
  const int n = N_SEQ * LEN;

  g_autofree float *x = g_new (float, n * d), *ref = g_new (float, n * d);
  g_autofree float *next = g_new (float, LEN * d);
  GRand *rand = g_rand_new_with_seed (21);
  for (int i = 0; i < n * d; i++)
    x[i] = (float) g_rand_double_range (rand, -2, 2);
  g_rand_free (rand);

  siglip_workspace ws = { 0 };
  g_assert_true (siglip_workspace_reserve (&ws, d, MAX (inter, 3 * d), n, 0));
  g_assert_true (siglip_workspace_reserve_attention (&ws, LEN, d / heads));

  /* one layer */
  memcpy (ws.hidden, x, (gsize) n * d * sizeof (float));
  siglip_layernorm (ws.branch, ws.hidden, layers[0].ln1_w, layers[0].ln1_b, n, d, eps);
  siglip_encoder_layer (&ws, &layers[0], layers[1].ln1_w, layers[1].ln1_b, N_SEQ, LEN, d, heads,
                        eps);
  memcpy (ref, x, (gsize) n * d * sizeof (float));
  for (int s = 0; s < N_SEQ; s++)
    {
      float *xs = ref + (gsize) s * LEN * d;
      reference_layer (xs, &layers[0], LEN, d, heads, eps);
      siglip_layernorm (next, xs, layers[1].ln1_w, layers[1].ln1_b, LEN, d, eps);
      test_assert_close ("the next layer's LN1 in ws->branch", ws.branch + (gsize) s * LEN * d,
                         next, (gsize) LEN * d, 1e-5, 1e-5);
    }
  test_assert_close ("one encoder layer vs the reference steps", ws.hidden, ref, (gsize) n * d,
                     1e-5, 1e-5);

  /* every layer */
  const siglip_encoder encoder = { layers, vc->num_layers, d, heads, eps, "image encoding" };
  int traced = 0;
  const siglip_trace trace = { count_trace, &traced };
  siglip_error *err = NULL;
  memcpy (ws.hidden, x, (gsize) n * d * sizeof (float));
  g_assert_true (siglip_encoder_forward (&ws, &encoder, N_SEQ, LEN, false, NULL, &trace, &err));
  g_assert_cmpint (traced, ==, vc->num_layers);
  memcpy (ref, x, (gsize) n * d * sizeof (float));
  for (int s = 0; s < N_SEQ; s++)
    for (int l = 0; l < vc->num_layers; l++)
      reference_layer (ref + (gsize) s * LEN * d, &layers[l], LEN, d, heads, eps);
  test_assert_close ("the encoder vs the reference layers", ws.hidden, ref, (gsize) n * d, 1e-5,
                     1e-5);

  /* the last token only: the same rows, gathered at the top */
  memcpy (ws.hidden, x, (gsize) n * d * sizeof (float));
  g_assert_true (siglip_encoder_forward (&ws, &encoder, N_SEQ, LEN, true, NULL, NULL, &err));
  for (int s = 0; s < N_SEQ; s++)
    test_assert_close ("the encoder, last token only", ws.hidden + (gsize) s * d,
                       ref + ((gsize) s * LEN + LEN - 1) * d, d, 1e-5, 1e-5);

  /* asked to stop before the second layer */
  int calls = 1;
  const siglip_encode_options stop = { .abort_cb = abort_at_call, .abort_data = &calls };
  g_assert_false (siglip_encoder_forward (&ws, &encoder, N_SEQ, LEN, false, &stop, NULL, &err));
  g_assert_nonnull (err);
  g_assert_cmpint (err->status, ==, SIGLIP_ERR_CANCELLED);
  g_assert_cmpstr (err->message, ==, "image encoding cancelled");
  siglip_error_free (err);

  siglip_workspace_clear (&ws);
  siglip_model_free (model);
}

/* One product with the stacked matrix gives, column block by column block, x W^T + b of the
 * separate q, k and v tensors as the file holds them (double-precision reference). */
static void
check_stacked (const char *fixture, siglip_precision precision, double tol)
{
  siglip_model *model = load_tiny (fixture, precision);
  const struct { const char *tower; siglip_layer_weights *layers; int n; } towers[] = {
    { "text_model", model->text.layers, model->config.text.num_layers },
    { "vision_model", model->vision.layers, model->config.vision.num_layers },
  };
  for (gsize t = 0; t < G_N_ELEMENTS (towers); t++)
    for (int li = 0; li < towers[t].n; li++)
      {
        const siglip_layer_weights *l = &towers[t].layers[li];
        const int d = l->qkv.cols, n = 5;
        g_assert_cmpint (l->qkv.rows, ==, 3 * d);
        g_assert_cmpint (l->qkv.cols, ==, d);
        /* one layout: panels (then no F32 view) or the F32 rows alone, whole or stacked */
        g_assert_true ((l->qkv.packed == NULL) != (l->qkv.w == NULL && l->qkv.n_stacked == 0));

        g_autofree float *x = g_new (float, n * d);
        g_autofree float *y = g_new (float, n * 3 * d);
        for (int i = 0; i < n * d; i++)
          x[i] = (float) sin (i * 0.37 + li);
        siglip_linear (y, x, &l->qkv, l->qkv_b, n);

        const char *parts[3] = { "q_proj", "k_proj", "v_proj" };
        for (int p = 0; p < 3; p++)
          {
            g_autofree char *wn = g_strdup_printf ("%s.encoder.layers.%d.self_attn.%s.weight",
                                                   towers[t].tower, li, parts[p]);
            g_autofree char *bn = g_strdup_printf ("%s.encoder.layers.%d.self_attn.%s.bias",
                                                   towers[t].tower, li, parts[p]);
            float *wo = NULL, *bo = NULL;
            const float *w = siglip_tensor_as_f32 (model->weights,
                                                   siglip_weights_find (model->weights, wn), &wo,
                                                   NULL);
            const float *b = siglip_tensor_as_f32 (model->weights,
                                                   siglip_weights_find (model->weights, bn), &bo,
                                                   NULL);
            g_assert_nonnull (w);
            g_assert_nonnull (b);
            for (int i = 0; i < n; i++)
              for (int o = 0; o < d; o++)
                {
                  double ref = b[o];
                  for (int k = 0; k < d; k++)
                    ref += (double) x[i * d + k] * w[(gsize) o * d + k];
                  const double got = y[(gsize) i * 3 * d + p * d + o];
                  if (fabs (got - ref) > tol * (1 + fabs (ref)))
                    g_error ("%s %s layer %d %s row %d col %d: %.9g vs %.9g", fixture,
                             towers[t].tower, li, parts[p], i, o, got, ref);
                }
            free (wo);
            free (bo);
          }
      }
  siglip_model_free (model);
}

static void
test_stacked_qkv (void)
{
  check_stacked ("tiny-siglip2-naflex", SIGLIP_PRECISION_FP32, 1e-5);
  check_stacked ("tiny-siglip2-naflex-bf16-sharded", SIGLIP_PRECISION_FP32, 1e-5);
  /* bf16 weights: 2^-9 relative per weight, the activations rounded too */
  check_stacked ("tiny-siglip2-naflex", SIGLIP_PRECISION_BF16, 2e-2);
}

/* The text tower's last layer on the pooled rows only (no trace) equals the full last layer
 * (with a trace), for a batch of several texts. */
static void
trace_ignore (void *user_data, const char *name, const float *x, int rows, int cols)
{
  (*(int *) user_data)++;
}

static void
test_text_last_token (void)
{
  siglip_model *model = load_tiny ("tiny-siglip2-naflex", SIGLIP_PRECISION_FP32);
  const int len = model->config.text.max_position_embeddings, proj = model->text.head.rows;
  enum { N = 5 };
  g_autofree int32_t *ids = g_new (int32_t, N * len);
  for (int i = 0; i < N * len; i++)
    ids[i] = (i * 7 + i / len * 13) % 50 + 1;
  g_autofree float *fast = g_new (float, N * proj), *full = g_new (float, N * proj);
  siglip_workspace ws = { 0 };
  siglip_error *err = NULL;
  int calls = 0;
  siglip_trace trace = { trace_ignore, &calls };
  g_assert_true (siglip_text_forward (model, &ws, ids, N, NULL, NULL, fast, &err));
  siglip_workspace_clear (&ws);
  /* a workspace big enough for the whole batch, so both runs see the same sequences together */
  g_assert_true (siglip_workspace_reserve (&ws, model->config.text.hidden_size,
                                           model->config.text.intermediate_size, N * len, 0));
  g_assert_true (siglip_text_forward (model, &ws, ids, N, NULL, &trace, full, &err));
  g_assert_cmpint (calls, >, 0);
  test_assert_close ("text, last layer on pooled rows vs full", fast, full, N * proj, 1e-6, 1e-5);
  /* and the texts differ, so a mixed-up row would show */
  g_assert_cmpfloat (fabsf (fast[0] - fast[proj]), >, 1e-6);
  siglip_workspace_clear (&ws);
  siglip_model_free (model);
}

/* ---------------------------------------------------------------------------------------------
 * bf16 against the goldens: the one-call pipeline on chelsea.png (exact pixels), six labels
 * with the default template (golden columns 6..11 of probs/logits_per_image).
 */

/* The bf16 path's tolerance on the tiny goldens. Measured with the avx512bf16 kernel (weights
 * and activations rounded to bf16, fp32 accumulation): max |p - golden| 0.0056 (naflex),
 * 0.0018 (naflex, bf16 file), 0.0176 (fixres); with the attention products in bf16 too,
 * 0.0082, 0.0021 and 0.0107; fp32 stays below 6e-7 on the same cases. The
 * tiny models' random weights make probabilities far more sensitive than a trained model's:
 * on the full-size synthetic SO400M, siglens-bench --precision bf16 reports the cosine of the
 * embeddings to fp32. */
#define BF16_PROB_ABS 0.025

static double
classify_chelsea_max_diff (const char *name, siglip_precision precision)
{
  const cJSON *m = test_manifest_model (name);
  siglip_model *model = load_tiny (cJSON_GetObjectItem (m, "dir")->valuestring, precision);
  siglip_error *err = NULL;
  siglip_state *st = siglip_state_new (model, &err);
  g_assert_nonnull (st);

  const cJSON *texts = cJSON_GetObjectItem (m, "texts"), *c;
  const char *labels[6];
  for (int t = 0; t < 6; t++)
    labels[t] = cJSON_GetObjectItem (cJSON_GetArrayItem (texts, t), "label")->valuestring;
  int idx = 0;
  cJSON_ArrayForEach (c, cJSON_GetObjectItem (m, "images"))
    {
      if (g_str_equal (cJSON_GetObjectItem (c, "image")->valuestring, "chelsea"))
        break;
      idx++;
    }
  g_autofree char *path = test_data_path ("images/chelsea.png");
  g_autoptr (GError) gerr = NULL;
  g_autoptr (SiglensRgbImage) rgb = siglens_decode_file (path, 0, &gerr);
  g_assert_no_error (gerr);
  siglip_image image = { rgb->rgb, rgb->width, rgb->height, rgb->stride };
  siglip_score scores[6];
  if (!siglip_classify (st, &image, labels, 6, NULL, scores, &err))
    g_error ("%s: %s", name, err->message);

  g_autofree float *golden = test_golden_f32 (cJSON_GetObjectItem (m, "probs"), NULL);
  double worst = 0;
  for (int t = 0; t < 6; t++)
    worst = fmax (worst, fabs (scores[t].probability - golden[idx * 12 + 6 + t]));
  siglip_state_free (st);
  siglip_model_free (model);
  return worst;
}

static void
test_bf16_goldens (void)
{
  const char *names[] = { "tiny-siglip2-naflex", "tiny-siglip2-naflex-bf16-sharded",
                          "tiny-siglip-fixres" };
  /* the -bf16-native run (tests/meson.build) is the vdpbf16ps kernels' wherever the CPU has them */
  if (g_strcmp0 (g_getenv ("SIGLIP_GEMM_BF16"), "avx512bf16") == 0 && siglip_gemm_cpu_has_avx512bf16 ())
    g_assert_cmpstr (siglip_gemm_bf16_kernel_name (), ==, "avx512bf16");
  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    {
      const double fp32 = classify_chelsea_max_diff (names[i], SIGLIP_PRECISION_FP32);
      const double bf16 = classify_chelsea_max_diff (names[i], SIGLIP_PRECISION_BF16);
      g_test_message ("%s: max |p - golden| fp32 %.3g, bf16 %.3g (%s kernel)", names[i], fp32,
                      bf16, siglip_gemm_bf16_kernel_name ());
      g_assert_cmpfloat (fp32, <=, 3e-5);
      g_assert_cmpfloat (bf16, <=, BF16_PROB_ABS);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  /* two workers even on a one-core runner, so the split between workers is exercised */
  siglip_pool_set_threads (2);
  g_test_add_func ("/encoder/forward", test_encoder_forward);
  g_test_add_func ("/encoder/stacked-qkv", test_stacked_qkv);
  g_test_add_func ("/encoder/text-last-token", test_text_last_token);
  g_test_add_func ("/encoder/bf16-goldens", test_bf16_goldens);
  return g_test_run ();
}
