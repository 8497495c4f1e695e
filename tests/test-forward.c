/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The forward pass against the reference goldens (tests/data/FIXTURES.md) on all three tiny
 * models: position-grid resizes, per-layer traces, image and text embeddings, logits and
 * probabilities; plus the cache, cancellation and concurrent use of one model.
 *
 * Tolerances are FIXTURES.md's recommended ones for a float32 implementation (measured float32
 * noise of the reference is 5-20x below them): pos tables abs 1e-5; embeddings and traces
 * abs 1e-4 + rel 1e-4; logits abs 1e-4; probabilities abs 3e-5. JPEGs decoded differently from
 * Pillow's libjpeg-turbo get the documented JPEG tolerances (0.05 / 0.05 / 0.01).
 */
#include <math.h>
#include <string.h>

#include "encode.h"
#include "gemm.h"
#include "siglens-decode.h"
#include "test-util.h"
#include "text.h"
#include "vision.h"

#define POS_ABS 1e-5
#define EMBED_ABS 1e-4
#define EMBED_REL 1e-4
#define LOGIT_ABS 1e-4
#define PROB_ABS 3e-5
#define JPEG_EMBED_ABS 0.05
#define JPEG_LOGIT_ABS 0.05
#define JPEG_PROB_ABS 0.01

static const char *const model_names[] = {
  "tiny-siglip2-naflex",
  "tiny-siglip2-naflex-bf16-sharded",
  "tiny-siglip-fixres",
};

/* ---------------------------------------------------------------------------------------------
 * Helpers
 */

/* The comparison rule of test_assert_close without failing: how many values are out of
 * tolerance. The wrong-input checks use it to show that a broken result WOULD fail. */
static gsize
count_mismatches (const float *actual, const float *golden, gsize n, double abs_tol,
                  double rel_tol)
{
  gsize bad = 0;
  for (gsize i = 0; i < n; i++)
    if (!(fabs ((double) actual[i] - golden[i]) <= abs_tol + rel_tol * fabs ((double) golden[i])))
      bad++;
  return bad;
}

static const cJSON *
item (const cJSON *obj, const char *key)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive (obj, key);
  g_assert_nonnull (v);
  return v;
}

static siglip_model *
load_model (const char *name)
{
  const cJSON *m = test_manifest_model (name);
  g_autofree char *dir = test_data_path (item (m, "dir")->valuestring);
  siglip_error *err = NULL;
  siglip_model *model = siglip_model_load (dir, NULL, &err);
  if (!model)
    g_error ("%s: %s", dir, err->message);
  return model;
}

static siglip_state *
new_state (const siglip_model *model)
{
  siglip_error *err = NULL;
  siglip_state *st = siglip_state_new (model, &err);
  if (!st)
    g_error ("state: %s", err->message);
  return st;
}

static void
assert_ok (bool ok, siglip_error *err)
{
  if (!ok)
    g_error ("%s: %s", siglip_status_name (err->status), err->message);
}

/* The preprocess case of `image_id` for the model's processor. */
static const cJSON *
preprocess_case (const cJSON *m, const char *image_id)
{
  const cJSON *pre = item (item (test_manifest (), "preprocess"), item (m, "preprocess")->valuestring);
  const cJSON *c;
  cJSON_ArrayForEach (c, item (pre, "cases"))
    if (g_str_equal (item (c, "image")->valuestring, image_id))
      return c;
  g_error ("no preprocess case for %s", image_id);
  return NULL;
}

/* Patches built here from the golden resized_u8, independently of image.c, so that the tower is
 * checked on exactly the reference's pixels: u8/127.5f - 1 (FACTS.md §2), NAFlex patches
 * (row, col, channel) padded to 256 rows, fixed-res patches (channel, row, col). */
static siglip_patches *
patches_from_golden (const siglip_model *model, const cJSON *m, const char *image_id)
{
  const cJSON *c = preprocess_case (m, image_id);
  const cJSON *hw = item (c, "target_hw");
  const int h = cJSON_GetArrayItem (hw, 0)->valueint, w = cJSON_GetArrayItem (hw, 1)->valueint;
  g_autofree guint8 *rgb = test_golden_u8 (item (c, "resized_u8"), NULL);
  const int p = model->config.vision.patch_size;
  const bool naflex = model->config.kind == SIGLIP_KIND_SIGLIP2;

  siglip_patches *patches = calloc (1, sizeof *patches);
  patches->rows = h / p;
  patches->cols = w / p;
  patches->num_valid = patches->rows * patches->cols;
  patches->num_patches = naflex ? MAX (256, patches->num_valid) : patches->num_valid;
  patches->patch_dim = 3 * p * p;
  patches->pixel_values = calloc ((size_t) patches->num_patches * patches->patch_dim, sizeof (float));
  for (int pr = 0; pr < patches->rows; pr++)
    for (int pc = 0; pc < patches->cols; pc++)
      for (int y = 0; y < p; y++)
        for (int x = 0; x < p; x++)
          for (int ch = 0; ch < 3; ch++)
            {
              const guint8 u = rgb[((size_t) (pr * p + y) * w + pc * p + x) * 3 + ch];
              const int inner = naflex ? (y * p + x) * 3 + ch : ch * p * p + y * p + x;
              patches->pixel_values[(size_t) (pr * patches->cols + pc) * patches->patch_dim + inner] =
                u / 127.5f - 1.0f;
            }
  if (naflex)
    {
      const cJSON *shape = item (c, "spatial_shape");
      g_assert_cmpint (patches->rows, ==, cJSON_GetArrayItem (shape, 0)->valueint);
      g_assert_cmpint (patches->cols, ==, cJSON_GetArrayItem (shape, 1)->valueint);
    }
  return patches;
}

static int32_t *
ids_from_json (const cJSON *arr, int len)
{
  g_assert_cmpint (cJSON_GetArraySize (arr), ==, len);
  int32_t *ids = g_new (int32_t, len);
  for (int i = 0; i < len; i++)
    ids[i] = cJSON_GetArrayItem (arr, i)->valueint;
  return ids;
}

/* Activations a tower reports through siglip_trace, by name. */
typedef struct {
  GHashTable *arrays; /* name -> GArray of float */
} TraceLog;

static void
trace_collect (void *user_data, const char *name, const float *x, int rows, int cols)
{
  TraceLog *log = user_data;
  GArray *a = g_array_sized_new (FALSE, FALSE, sizeof (float), (guint) (rows * cols));
  g_array_append_vals (a, x, (guint) (rows * cols));
  g_hash_table_replace (log->arrays, g_strdup (name), a);
}

static void
trace_log_init (TraceLog *log)
{
  log->arrays = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                       (GDestroyNotify) g_array_unref);
}

/* Compares every golden trace array with the one the tower reported; returns how many. */
static int
compare_trace (const char *what, TraceLog *log, const cJSON *golden_arrays)
{
  int n = 0;
  const cJSON *desc;
  cJSON_ArrayForEach (desc, golden_arrays)
    {
      GArray *a = g_hash_table_lookup (log->arrays, desc->string);
      if (!a)
        g_error ("%s: the tower reported no '%s'", what, desc->string);
      gsize len;
      g_autofree float *golden = test_golden_f32 (desc, &len);
      g_assert_cmpuint (a->len, ==, len);
      g_autofree char *label = g_strdup_printf ("%s %s", what, desc->string);
      test_assert_close (label, (float *) a->data, golden, len, EMBED_ABS, EMBED_REL);
      n++;
    }
  return n;
}

static gboolean
is_naflex (const cJSON *m)
{
  return g_str_equal (item (m, "kind")->valuestring, "siglip2");
}

/* ---------------------------------------------------------------------------------------------
 * Position grid
 */

/* torch bilinear, align_corners=False, antialias=False: what the reference does NOT do. */
static void
resize_bilinear_no_aa (float *out, const float *table, int g, int d, int h, int w)
{
  for (int r = 0; r < h; r++)
    for (int c = 0; c < w; c++)
      {
        double sy = MAX (0.0, ((double) g / h) * (r + 0.5) - 0.5);
        double sx = MAX (0.0, ((double) g / w) * (c + 0.5) - 0.5);
        int y0 = (int) sy, x0 = (int) sx;
        int y1 = MIN (y0 + 1, g - 1), x1 = MIN (x0 + 1, g - 1);
        double ly = sy - y0, lx = sx - x0;
        for (int e = 0; e < d; e++)
          {
            double v00 = table[((gsize) y0 * g + x0) * d + e], v01 = table[((gsize) y0 * g + x1) * d + e];
            double v10 = table[((gsize) y1 * g + x0) * d + e], v11 = table[((gsize) y1 * g + x1) * d + e];
            out[((gsize) r * w + c) * d + e] =
              (float) ((1 - ly) * ((1 - lx) * v00 + lx * v01) + ly * ((1 - lx) * v10 + lx * v11));
          }
      }
}

static void
test_pos_resize (gconstpointer data)
{
  const char *name = data;
  const cJSON *m = test_manifest_model (name);
  if (!is_naflex (m))
    {
      g_test_skip ("fixed-resolution SigLIP has no position-grid resize");
      return;
    }
  siglip_model *model = load_model (name);
  const int d = model->config.vision.hidden_size, g = 16;
  g_assert_cmpint (model->config.vision.num_patches, ==, g * g);

  /* pos_resize: the 16x16 table at 12 sizes, up, down and mixed (antialias matters when
   * shrinking) */
  int checked = 0;
  const cJSON *c;
  cJSON_ArrayForEach (c, item (m, "pos_resize"))
    {
      const int h = cJSON_GetArrayItem (item (c, "hw"), 0)->valueint;
      const int w = cJSON_GetArrayItem (item (c, "hw"), 1)->valueint;
      gsize n;
      g_autofree float *golden = test_golden_f32 (c, &n);
      g_assert_cmpuint (n, ==, (gsize) h * w * d);
      g_autofree float *out = g_new (float, n);
      g_autofree float *tmp = g_new (float, (gsize) g * w * d);
      siglip_resize_position_grid (out, tmp, model->vision.position_embedding, g, d, h, w);
      g_autofree char *what = g_strdup_printf ("%s pos_resize %dx%d", name, h, w);
      test_assert_close (what, out, golden, n, POS_ABS, 0);

      /* Wrong input detected: plain bilinear (antialias off) differs when the grid shrinks. */
      if (h < g || w < g)
        {
          g_autofree float *plain = g_new (float, n);
          resize_bilinear_no_aa (plain, model->vision.position_embedding, g, d, h, w);
          g_assert_cmpuint (count_mismatches (plain, golden, n, POS_ABS, 0), >, 0);
        }
      checked++;
    }
  g_assert_cmpint (checked, ==, 12);

  /* pos_embed: the table as resized for each image's grid */
  checked = 0;
  cJSON_ArrayForEach (c, item (m, "images"))
    {
      const char *id = item (c, "image")->valuestring;
      const cJSON *pc = preprocess_case (m, id);
      const int h = cJSON_GetArrayItem (item (pc, "spatial_shape"), 0)->valueint;
      const int w = cJSON_GetArrayItem (item (pc, "spatial_shape"), 1)->valueint;
      gsize n;
      g_autofree float *golden = test_golden_f32 (item (c, "pos_embed"), &n);
      g_assert_cmpuint (n, ==, (gsize) h * w * d);
      g_autofree float *out = g_new (float, n);
      g_autofree float *tmp = g_new (float, (gsize) g * w * d);
      siglip_resize_position_grid (out, tmp, model->vision.position_embedding, g, d, h, w);
      g_autofree char *what = g_strdup_printf ("%s pos_embed %s", name, id);
      test_assert_close (what, out, golden, n, POS_ABS, 0);
      checked++;
    }
  g_assert_cmpint (checked, ==, 13);
  siglip_model_free (model);
}

/* ---------------------------------------------------------------------------------------------
 * Traces
 */

static void
test_trace (gconstpointer data)
{
  const char *name = data;
  const cJSON *m = test_manifest_model (name);
  const cJSON *trace = cJSON_GetObjectItemCaseSensitive (m, "trace");
  if (!trace)
    {
      g_test_skip ("this fixture has no traces");
      return;
    }
  siglip_model *model = load_model (name);
  siglip_workspace ws = { 0 };
  siglip_error *err = NULL;

  /* image */
  TraceLog log;
  trace_log_init (&log);
  siglip_trace tr = { trace_collect, &log };
  siglip_patches *patches = patches_from_golden (model, m, item (trace, "image")->valuestring);
  g_autofree float *emb = g_new (float, model->config.vision.hidden_size);
  assert_ok (siglip_vision_forward (model, &ws, patches, NULL, &tr, emb, NULL, &err), err);
  const int n_img = compare_trace ("image trace", &log, item (trace, "image_arrays"));
  g_assert_cmpint (n_img, ==, 3 + model->config.vision.num_layers);
  g_hash_table_remove_all (log.arrays);

  /* text, from the golden ids so that only the tower is under test */
  const int len = model->config.text.max_position_embeddings;
  g_autofree int32_t *ids = ids_from_json (item (trace, "text_input_ids"), len);
  g_autofree float *temb = g_new (float, model->text.head.rows);
  assert_ok (siglip_text_forward (model, &ws, ids, 1, NULL, &tr, temb, &err), err);
  const int n_txt = compare_trace ("text trace", &log, item (trace, "text_arrays"));
  g_assert_cmpint (n_txt, ==, 3 + model->config.text.num_layers);

  /* Wrong input detected: pooling position 0 instead of 63 (the last, usually a <pad>). */
  {
    GArray *fln = g_hash_table_lookup (log.arrays, "final_layer_norm");
    gsize n;
    g_autofree float *golden = test_golden_f32 (item (item (trace, "text_arrays"), "pooled"), &n);
    g_autofree float *wrong = g_new (float, n);
    siglip_linear (wrong, (float *) fln->data, &model->text.head, model->text.head_b, 1);
    g_assert_cmpuint (count_mismatches (wrong, golden, n, EMBED_ABS, EMBED_REL), >, 0);
    /* and position 63 through the same helper is right, so the check above is meaningful */
    siglip_linear (wrong, (float *) fln->data + (size_t) (len - 1) * model->config.text.hidden_size,
                   &model->text.head, model->text.head_b, 1);
    g_assert_cmpuint (count_mismatches (wrong, golden, n, EMBED_ABS, EMBED_REL), ==, 0);
  }

  g_hash_table_unref (log.arrays);
  siglip_patches_free (patches);
  siglip_workspace_clear (&ws);
  siglip_model_free (model);
}

/* ---------------------------------------------------------------------------------------------
 * Image embeddings
 */

/* All 13 images through the tower from the golden resized pixels: strict tolerance. */
static void
test_image_embeds (gconstpointer data)
{
  const char *name = data;
  const cJSON *m = test_manifest_model (name);
  siglip_model *model = load_model (name);
  siglip_state *st = new_state (model);
  const int d = model->config.vision.hidden_size;
  gsize n;
  g_autofree float *golden = test_golden_f32 (item (m, "image_embeds"), &n);
  g_assert_cmpuint (n, ==, 13 * (gsize) d);
  g_autofree float *out = g_new (float, n);

  int i = 0;
  const cJSON *c;
  cJSON_ArrayForEach (c, item (m, "images"))
    {
      siglip_error *err = NULL;
      siglip_patches *p = patches_from_golden (model, m, item (c, "image")->valuestring);
      assert_ok (siglip_encode_patches (st, p, NULL, out + (size_t) i * d, &err), err);
      siglip_patches_free (p);
      i++;
    }
  g_assert_cmpint (i, ==, 13);
  g_autofree char *what = g_strdup_printf ("%s image_embeds", name);
  test_assert_close (what, out, golden, n, EMBED_ABS, EMBED_REL);

  /* Wrong input detected: a perturbed weight (post LayerNorm scale of one channel, +1%). */
  {
    struct siglip_model broken = *model;
    g_autofree float *w = g_memdup2 (model->vision.post_ln_w, (gsize) d * sizeof (float));
    w[0] *= 1.01f;
    broken.vision.post_ln_w = w;
    siglip_workspace ws = { 0 };
    siglip_error *err = NULL;
    siglip_patches *p = patches_from_golden (model, m, "chelsea");
    g_autofree float *wrong = g_new (float, d);
    assert_ok (siglip_vision_forward (&broken, &ws, p, NULL, NULL, wrong, NULL, &err), err);
    const cJSON *ci;
    int idx = 0;
    cJSON_ArrayForEach (ci, item (m, "images"))
      {
        if (g_str_equal (item (ci, "image")->valuestring, "chelsea"))
          break;
        idx++;
      }
    g_assert_cmpuint (count_mismatches (wrong, golden + (gsize) idx * d, d, EMBED_ABS, EMBED_REL),
                      >, 0);
    siglip_patches_free (p);
    siglip_workspace_clear (&ws);
  }

  siglip_state_free (st);
  siglip_model_free (model);
}

static char *
sha256_hex (const guint8 *rgb, int w, int h, gsize stride)
{
  GChecksum *sum = g_checksum_new (G_CHECKSUM_SHA256);
  for (int y = 0; y < h; y++)
    g_checksum_update (sum, rgb + (gsize) y * stride, (gssize) w * 3);
  char *hex = g_strdup (g_checksum_get_string (sum));
  g_checksum_free (sum);
  return hex;
}

/* The whole path a user takes: decode the file, preprocess, encode, score. */
static void
test_images_decoded (gconstpointer data)
{
  const char *name = data;
  const cJSON *m = test_manifest_model (name);
  siglip_model *model = load_model (name);
  siglip_state *st = new_state (model);
  const int d = model->config.vision.hidden_size, n_texts = 12;
  g_autofree float *golden = test_golden_f32 (item (m, "image_embeds"), NULL);
  g_autofree float *golden_logits = test_golden_f32 (item (m, "logits_per_image"), NULL);
  g_autofree float *golden_probs = test_golden_f32 (item (m, "probs"), NULL);
  g_autofree float *text_emb = test_golden_f32 (item (m, "text_embeds"), NULL);
  g_autofree float *emb = g_new (float, d);

  int i = 0, jpeg_differs = 0;
  const cJSON *c;
  cJSON_ArrayForEach (c, item (m, "images"))
    {
      const char *id = item (c, "image")->valuestring;
      const cJSON *img = test_manifest_image (id);
      g_autofree char *path = test_data_path (item (img, "file")->valuestring);
      g_autoptr (GError) gerr = NULL;
      g_autoptr (SiglensRgbImage) rgb = siglens_decode_file (path, 0, &gerr);
      g_assert_no_error (gerr);
      g_autofree char *sha = sha256_hex (rgb->rgb, rgb->width, rgb->height, rgb->stride);
      const gboolean exact = g_str_equal (sha, item (img, "decoded_rgb_sha256")->valuestring);
      if (!exact)
        {
          /* only JPEG decoding is decoder dependent; PNGs must match Pillow */
          g_assert_cmpstr (item (img, "format")->valuestring, ==, "JPEG");
          g_test_message ("%s: decoded RGB differs from Pillow's; JPEG tolerances apply", id);
          jpeg_differs++;
        }

      siglip_image image = { rgb->rgb, rgb->width, rgb->height, rgb->stride };
      siglip_error *err = NULL;
      int shape[2] = { 0, 0 };
      assert_ok (siglip_encode_image (st, &image, NULL, emb, shape, &err), err);
      if (is_naflex (m))
        {
          const cJSON *ss = item (preprocess_case (m, id), "spatial_shape");
          g_assert_cmpint (shape[0], ==, cJSON_GetArrayItem (ss, 0)->valueint);
          g_assert_cmpint (shape[1], ==, cJSON_GetArrayItem (ss, 1)->valueint);
        }
      g_autofree char *what = g_strdup_printf ("%s decoded %s embedding", name, id);
      test_assert_close (what, emb, golden + (gsize) i * d, d,
                         exact ? EMBED_ABS : JPEG_EMBED_ABS, exact ? EMBED_REL : 0);

      siglip_score scores[12];
      siglip_score_embeddings (model, emb, text_emb, n_texts, scores);
      float logits[12], probs[12];
      for (int j = 0; j < n_texts; j++)
        logits[j] = scores[j].logit, probs[j] = scores[j].probability;
      g_autofree char *wl = g_strdup_printf ("%s decoded %s logits", name, id);
      test_assert_close (wl, logits, golden_logits + (gsize) i * n_texts, n_texts,
                         exact ? LOGIT_ABS : JPEG_LOGIT_ABS, 0);
      g_autofree char *wp = g_strdup_printf ("%s decoded %s probs", name, id);
      test_assert_close (wp, probs, golden_probs + (gsize) i * n_texts, n_texts,
                         exact ? PROB_ABS : JPEG_PROB_ABS, 0);
      i++;
    }
  g_assert_cmpint (i, ==, 13);
  if (jpeg_differs)
    g_test_message ("%d JPEG(s) decoded differently from Pillow", jpeg_differs);
  siglip_state_free (st);
  siglip_model_free (model);
}

/* ---------------------------------------------------------------------------------------------
 * Text embeddings
 */

static void
test_text_embeds (gconstpointer data)
{
  const char *name = data;
  const cJSON *m = test_manifest_model (name);
  siglip_model *model = load_model (name);
  siglip_state *st = new_state (model);
  const int p = model->text.head.rows, len = model->config.text.max_position_embeddings;
  siglip_error *err = NULL;

  struct {
    const char *texts_key, *embeds_key;
    int count;
  } sets[] = { { "texts", "text_embeds", 12 }, { "extra_texts", "extra_text_embeds", 4 } };

  for (gsize s = 0; s < G_N_ELEMENTS (sets); s++)
    {
      const cJSON *texts = item (m, sets[s].texts_key);
      const int n = cJSON_GetArraySize (texts);
      g_assert_cmpint (n, ==, sets[s].count);
      gsize total;
      g_autofree float *golden = test_golden_f32 (item (m, sets[s].embeds_key), &total);
      g_assert_cmpuint (total, ==, (gsize) n * p);

      /* From the golden ids: the tower alone, all texts in one batch. */
      g_autofree int32_t *ids = g_new (int32_t, (gsize) n * len);
      const char **strings = g_new0 (const char *, n);
      for (int i = 0; i < n; i++)
        {
          const cJSON *t = cJSON_GetArrayItem (texts, i);
          g_autofree int32_t *one = ids_from_json (item (t, "input_ids"), len);
          memcpy (ids + (gsize) i * len, one, (gsize) len * sizeof (int32_t));
          strings[i] = item (t, "text")->valuestring;
        }
      g_autofree float *out = g_new (float, total);
      assert_ok (siglip_encode_token_ids (st, ids, n, NULL, out, &err), err);
      g_autofree char *w1 = g_strdup_printf ("%s %s from input_ids", name, sets[s].embeds_key);
      test_assert_close (w1, out, golden, total, EMBED_ABS, EMBED_REL);

      /* From the strings: tokenizer + tower (texts are already templated where they should be). */
      memset (out, 0, total * sizeof (float));
      assert_ok (siglip_encode_texts (st, strings, n, NULL, out, &err), err);
      g_autofree char *w2 = g_strdup_printf ("%s %s from text", name, sets[s].embeds_key);
      test_assert_close (w2, out, golden, total, EMBED_ABS, EMBED_REL);
      g_free (strings);
    }

  siglip_state_free (st);
  siglip_model_free (model);
}

/* ---------------------------------------------------------------------------------------------
 * Scores
 */

static void
test_scores (gconstpointer data)
{
  const char *name = data;
  const cJSON *m = test_manifest_model (name);
  siglip_model *model = load_model (name);
  siglip_state *st = new_state (model);
  const int d = model->config.vision.hidden_size, n_texts = 12, n_images = 13;
  siglip_error *err = NULL;

  g_assert_cmpfloat_with_epsilon (model->logit_scale, item (m, "logit_scale")->valuedouble, 1e-7);
  g_assert_cmpfloat_with_epsilon (model->logit_bias, item (m, "logit_bias")->valuedouble, 1e-7);

  /* every image x every text, from our own embeddings */
  g_autofree float *image_emb = g_new (float, (gsize) n_images * d);
  int i = 0;
  const cJSON *c;
  cJSON_ArrayForEach (c, item (m, "images"))
    {
      siglip_patches *p = patches_from_golden (model, m, item (c, "image")->valuestring);
      assert_ok (siglip_encode_patches (st, p, NULL, image_emb + (gsize) i++ * d, &err), err);
      siglip_patches_free (p);
    }
  const int len = model->config.text.max_position_embeddings;
  g_autofree int32_t *ids = g_new (int32_t, (gsize) n_texts * len);
  for (int t = 0; t < n_texts; t++)
    {
      g_autofree int32_t *one =
        ids_from_json (item (cJSON_GetArrayItem (item (m, "texts"), t), "input_ids"), len);
      memcpy (ids + (gsize) t * len, one, (gsize) len * sizeof (int32_t));
    }
  g_autofree float *text_emb = g_new (float, (gsize) n_texts * d);
  assert_ok (siglip_encode_token_ids (st, ids, n_texts, NULL, text_emb, &err), err);

  g_autofree float *logits = g_new (float, (gsize) n_images * n_texts);
  g_autofree float *probs = g_new (float, (gsize) n_images * n_texts);
  for (int im = 0; im < n_images; im++)
    {
      siglip_score scores[12];
      siglip_score_embeddings (model, image_emb + (gsize) im * d, text_emb, n_texts, scores);
      for (int t = 0; t < n_texts; t++)
        {
          logits[im * n_texts + t] = scores[t].logit;
          probs[im * n_texts + t] = scores[t].probability;
        }
    }
  g_autofree float *golden_logits = test_golden_f32 (item (m, "logits_per_image"), NULL);
  g_autofree float *golden_probs = test_golden_f32 (item (m, "probs"), NULL);
  const gsize n = (gsize) n_images * n_texts;
  g_autofree char *wl = g_strdup_printf ("%s logits_per_image", name);
  test_assert_close (wl, logits, golden_logits, n, LOGIT_ABS, 0);
  g_autofree char *wp = g_strdup_printf ("%s probs", name);
  test_assert_close (wp, probs, golden_probs, n, PROB_ABS, 0);

  /* Wrong input detected: a softmax over the labels instead of a sigmoid per label. */
  {
    g_autofree float *wrong = g_new (float, n);
    for (int im = 0; im < n_images; im++)
      {
        double sum = 0;
        for (int t = 0; t < n_texts; t++)
          sum += exp (logits[im * n_texts + t]);
        for (int t = 0; t < n_texts; t++)
          wrong[im * n_texts + t] = (float) (exp (logits[im * n_texts + t]) / sum);
      }
    g_assert_cmpuint (count_mismatches (wrong, golden_probs, n, PROB_ABS, 0), >, n / 2);
  }

  /* The one-call pipeline: labels, default template (columns 6..11 of the goldens) and "{}"
   * alone = no template (columns 0..5), on the image whose golden pixels are exact (PNG). */
  {
    const char *labels[6];
    for (int t = 0; t < 6; t++)
      labels[t] = item (cJSON_GetArrayItem (item (m, "texts"), t), "label")->valuestring;
    int idx = 0;
    cJSON_ArrayForEach (c, item (m, "images"))
      {
        if (g_str_equal (item (c, "image")->valuestring, "chelsea"))
          break;
        idx++;
      }
    g_autofree char *path = test_data_path ("images/chelsea.png");
    g_autoptr (GError) gerr = NULL;
    g_autoptr (SiglensRgbImage) rgb = siglens_decode_file (path, 0, &gerr);
    g_assert_no_error (gerr);
    siglip_image image = { rgb->rgb, rgb->width, rgb->height, rgb->stride };

    siglip_score scores[6];
    float got_l[6], got_p[6];
    for (int pass = 0; pass < 2; pass++)
      {
        siglip_encode_options opts = { .template = pass ? "{}" : NULL };
        assert_ok (siglip_classify (st, &image, labels, 6, &opts, scores, &err), err);
        for (int t = 0; t < 6; t++)
          got_l[t] = scores[t].logit, got_p[t] = scores[t].probability;
        const gsize off = (gsize) idx * n_texts + (pass ? 0 : 6);
        g_autofree char *what = g_strdup_printf ("%s classify chelsea %s", name,
                                                 pass ? "no template" : "default template");
        test_assert_close (what, got_l, golden_logits + off, 6, LOGIT_ABS, 0);
        test_assert_close (what, got_p, golden_probs + off, 6, PROB_ABS, 0);
      }
  }

  siglip_state_free (st);
  siglip_model_free (model);
}

/* ---------------------------------------------------------------------------------------------
 * Ops and grids beyond the goldens
 */

/* More patches than the state was sized for: the workspace grows before the layer loop. */
static void
test_large_grid (void)
{
  siglip_model *model = load_model ("tiny-siglip2-naflex");
  siglip_state *st = new_state (model);
  g_autofree char *path = test_data_path ("images/coffee.png");
  g_autoptr (GError) gerr = NULL;
  g_autoptr (SiglensRgbImage) rgb = siglens_decode_file (path, 0, &gerr);
  g_assert_no_error (gerr);
  siglip_image image = { rgb->rgb, rgb->width, rgb->height, rgb->stride };
  siglip_error *err = NULL;
  float small[16], large[16], again[16];
  int shape[2];

  siglip_encode_options opts = { .max_patches = 64 };
  assert_ok (siglip_encode_image (st, &image, &opts, small, shape, &err), err);
  g_assert_cmpint (shape[0] * shape[1], <=, 64);
  g_assert_cmpint (shape[0] * shape[1], >, 32);

  opts.max_patches = 1600;
  assert_ok (siglip_encode_image (st, &image, &opts, large, shape, &err), err);
  g_assert_cmpint (shape[0] * shape[1], <=, 1600);
  g_assert_cmpint (shape[0] * shape[1], >, 1024);
  g_assert_true (memcmp (small, large, sizeof small) != 0);

  /* the grown state still gives the default result bit for bit */
  const int idx = 11; /* coffee in manifest order */
  g_assert_cmpstr (item (cJSON_GetArrayItem (item (test_manifest_model ("tiny-siglip2-naflex"),
                                                   "images"), idx), "image")->valuestring,
                   ==, "coffee");
  g_autofree float *golden =
    test_golden_f32 (item (test_manifest_model ("tiny-siglip2-naflex"), "image_embeds"), NULL);
  assert_ok (siglip_encode_image (st, &image, NULL, again, shape, &err), err);
  test_assert_close ("coffee after growing", again, golden + idx * 16, 16, EMBED_ABS, EMBED_REL);

  siglip_state_free (st);
  siglip_model_free (model);
}

/* ---------------------------------------------------------------------------------------------
 * Cache, cancellation, threads (on the F32 NAFlex model)
 */

static void
test_cache (void)
{
  siglip_model *model = load_model ("tiny-siglip2-naflex");
  siglip_state *st = new_state (model);
  siglip_error *err = NULL;
  const int p = model->text.head.rows;

  g_autofree char *path = test_data_path ("images/coffee.png");
  g_autoptr (GError) gerr = NULL;
  g_autoptr (SiglensRgbImage) rgb = siglens_decode_file (path, 0, &gerr);
  g_assert_no_error (gerr);
  siglip_image image = { rgb->rgb, rgb->width, rgb->height, rgb->stride };
  const char *labels[] = { "cat", "dog", "coffee" };
  siglip_score first[3], second[3];
  siglip_text_cache_stats s0, s1, s2;

  siglip_text_cache_get_stats (model, &s0);
  assert_ok (siglip_classify (st, &image, labels, 3, NULL, first, &err), err);
  siglip_text_cache_get_stats (model, &s1);
  g_assert_cmpuint (s1.misses - s0.misses, ==, 3);
  g_assert_cmpuint (s1.hits - s0.hits, ==, 0);
  g_assert_cmpint (s1.entries, ==, s0.entries + 3);

  assert_ok (siglip_classify (st, &image, labels, 3, NULL, second, &err), err);
  siglip_text_cache_get_stats (model, &s2);
  g_assert_cmpuint (s2.hits - s1.hits, ==, 3);
  g_assert_cmpuint (s2.misses - s1.misses, ==, 0);
  g_assert_cmpmem (first, sizeof first, second, sizeof second);

  /* The lowercase flag is part of the key: "Cat" lowercased is "cat", not "Cat". */
  const char *cat[] = { "Cat" };
  float lower[64], kept[64];
  g_assert_cmpint (p, <=, 64);
  siglip_encode_options keep_case = { .no_lowercase = true };
  assert_ok (siglip_encode_texts (st, cat, 1, NULL, lower, &err), err);
  assert_ok (siglip_encode_texts (st, cat, 1, &keep_case, kept, &err), err);
  g_assert_true (memcmp (lower, kept, (gsize) p * sizeof (float)) != 0);
  const char *cat_lower[] = { "cat" };
  float plain[64];
  assert_ok (siglip_encode_texts (st, cat_lower, 1, NULL, plain, &err), err);
  g_assert_cmpmem (lower, (gsize) p * sizeof (float), plain, (gsize) p * sizeof (float));

  /* Bounded: at capacity the least recently used text goes. */
  siglip_text_cache_set_capacity (model, 2);
  const char *many[] = { "one", "two", "three", "four", "five" };
  g_autofree float *out = g_new (float, 5 * (gsize) p);
  assert_ok (siglip_encode_texts (st, many, 5, NULL, out, &err), err);
  siglip_text_cache_get_stats (model, &s1);
  g_assert_cmpint (s1.entries, ==, 2);
  g_assert_cmpuint (s1.evictions, >=, 3);
  /* the two most recent stay */
  assert_ok (siglip_encode_texts (st, many + 3, 2, NULL, out, &err), err);
  siglip_text_cache_get_stats (model, &s2);
  g_assert_cmpuint (s2.hits - s1.hits, ==, 2);

  siglip_state_free (st);
  siglip_model_free (model);
}

/* Texts that differ only in their last byte, encoded in separate calls on one model, each get
 * the embedding a cold model gives them: the cache key holds the whole text. */
static void
test_cache_key_whole_text (void)
{
  siglip_model *model = load_model ("tiny-siglip2-naflex");
  siglip_state *st = new_state (model);
  siglip_error *err = NULL;
  const int p = model->text.head.rows;
  static const char *const labels[] = { "cat", "car", "ca", "cat." };
  float cached[G_N_ELEMENTS (labels)][64];
  g_assert_cmpint (p, <=, 64);

  for (gsize i = 0; i < G_N_ELEMENTS (labels); i++)
    {
      char *text = siglip_apply_template ("{}", labels[i]);
      const char *texts[] = { text };
      assert_ok (siglip_encode_texts (st, texts, 1, NULL, cached[i], &err), err);
      free (text);
    }

  for (gsize i = 0; i < G_N_ELEMENTS (labels); i++)
    {
      siglip_model *cold = load_model ("tiny-siglip2-naflex");
      siglip_state *cold_st = new_state (cold);
      float uncached[64];
      const char *texts[] = { labels[i] };
      assert_ok (siglip_encode_texts (cold_st, texts, 1, NULL, uncached, &err), err);
      siglip_text_cache_stats s;
      siglip_text_cache_get_stats (cold, &s);
      g_assert_cmpuint (s.hits, ==, 0);
      g_test_message ("\"%s\": cached encoding against a cold model's", labels[i]);
      g_assert_cmpmem (cached[i], (gsize) p * sizeof (float), uncached, (gsize) p * sizeof (float));
      siglip_state_free (cold_st);
      siglip_model_free (cold);
    }
  /* the fixture's vocabulary does tell them apart, so the check above can fail */
  g_assert_true (memcmp (cached[0], cached[1], (gsize) p * sizeof (float)) != 0);

  siglip_state_free (st);
  siglip_model_free (model);
}

static bool
abort_after (void *user_data)
{
  int *calls = user_data;
  return ++*calls > 1; /* let the first layer run, stop before the second */
}

static void
test_abort (void)
{
  siglip_model *model = load_model ("tiny-siglip2-naflex");
  siglip_state *st = new_state (model);
  int calls = 0;
  siglip_encode_options opts = { .abort_cb = abort_after, .abort_data = &calls };
  siglip_error *err = NULL;

  siglip_patches *p = patches_from_golden (model, test_manifest_model ("tiny-siglip2-naflex"),
                                           "chelsea");
  float emb[16];
  g_assert_false (siglip_encode_patches (st, p, &opts, emb, &err));
  g_assert_nonnull (err);
  g_assert_cmpint (err->status, ==, SIGLIP_ERR_CANCELLED);
  g_assert_cmpint (calls, ==, 2);
  siglip_error_free (err);
  err = NULL;

  calls = 0;
  const char *texts[] = { "never cached before the abort" };
  g_assert_false (siglip_encode_texts (st, texts, 1, &opts, emb, &err));
  g_assert_cmpint (err->status, ==, SIGLIP_ERR_CANCELLED);
  siglip_error_free (err);
  err = NULL;
  /* a cancelled text is not cached */
  siglip_text_cache_stats s;
  siglip_text_cache_get_stats (model, &s);
  g_assert_cmpint (s.entries, ==, 0);

  /* and the state still works afterwards */
  assert_ok (siglip_encode_patches (st, p, NULL, emb, &err), err);
  siglip_patches_free (p);
  siglip_state_free (st);
  siglip_model_free (model);
}

typedef struct {
  const siglip_model *model;
  const siglip_image *images;
  int n_images;
  siglip_score *scores; /* [n_images][4] */
} Worker;

static const char *const thread_labels[] = { "cat", "dog", "a red car", "rocket ship" };

static gpointer
worker_run (gpointer data)
{
  Worker *w = data;
  siglip_state *st = new_state (w->model);
  for (int round = 0; round < 3; round++)
    for (int i = 0; i < w->n_images; i++)
      {
        siglip_error *err = NULL;
        assert_ok (siglip_classify (st, &w->images[i], thread_labels, 4, NULL,
                                    w->scores + (gsize) i * 4, &err), err);
      }
  siglip_state_free (st);
  return NULL;
}

static void
test_threads (void)
{
  siglip_model *model = load_model ("tiny-siglip2-naflex");
  const char *files[] = { "images/chelsea.png", "images/coffee.png", "images/tall_150x900.png" };
  SiglensRgbImage *rgb[3];
  siglip_image images[3];
  for (int i = 0; i < 3; i++)
    {
      g_autofree char *path = test_data_path (files[i]);
      g_autoptr (GError) gerr = NULL;
      rgb[i] = siglens_decode_file (path, 0, &gerr);
      g_assert_no_error (gerr);
      images[i] = (siglip_image) { rgb[i]->rgb, rgb[i]->width, rgb[i]->height, rgb[i]->stride };
    }

  /* reference: one thread, cold cache */
  siglip_score ref[12], a[12], b[12];
  Worker w0 = { model, images, 3, ref };
  worker_run (&w0);

  siglip_model *fresh = load_model ("tiny-siglip2-naflex"); /* cold cache: both threads race */
  Worker w1 = { fresh, images, 3, a }, w2 = { fresh, images, 3, b };
  GThread *t1 = g_thread_new ("worker1", worker_run, &w1);
  GThread *t2 = g_thread_new ("worker2", worker_run, &w2);
  g_thread_join (t1);
  g_thread_join (t2);
  g_assert_cmpmem (a, sizeof a, ref, sizeof ref);
  g_assert_cmpmem (b, sizeof b, ref, sizeof ref);

  siglip_text_cache_stats s;
  siglip_text_cache_get_stats (fresh, &s);
  g_assert_cmpint (s.entries, ==, 4);

  for (int i = 0; i < 3; i++)
    siglens_rgb_image_free (rgb[i]);
  siglip_model_free (fresh);
  siglip_model_free (model);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (model_names); i++)
    {
      const char *name = model_names[i];
      static const struct {
        const char *what;
        GTestDataFunc fn;
      } cases[] = {
        { "pos-resize", test_pos_resize },
        { "trace", test_trace },
        { "image-embeds", test_image_embeds },
        { "text-embeds", test_text_embeds },
        { "scores", test_scores },
        { "decoded-images", test_images_decoded },
      };
      for (gsize c = 0; c < G_N_ELEMENTS (cases); c++)
        {
          g_autofree char *path = g_strdup_printf ("/forward/%s/%s", name, cases[c].what);
          g_test_add_data_func (path, name, cases[c].fn);
        }
    }
  g_test_add_func ("/forward/large-grid", test_large_grid);
  g_test_add_func ("/forward/cache", test_cache);
  g_test_add_func ("/forward/cache-key-whole-text", test_cache_key_whole_text);
  g_test_add_func ("/forward/abort", test_abort);
  g_test_add_func ("/forward/threads", test_threads);
  return g_test_run ();
}
