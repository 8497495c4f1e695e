/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Checkpoints as the Hub serves them, against the reference goldens:
 *   - the fixed-resolution patch-14 set (tests/data/fixres-p14/, its own manifest): like
 *     google/siglip2-so400m-patch14-384, image_size 64 is no multiple of patch 14, so the Conv2d
 *     sees a 4x4 grid and the last 8 rows and columns are unused; the patch size comes from
 *     vision_config (its SiglipImageProcessor file names none); Hub-layout tokenizer;
 *   - the three tiny models with their tokenizer swapped for the Hub-layout one;
 *   - a directory laid out like google/siglip2-so400m-patch16-naflex (diff-style config.json,
 *     the "Fast" processor named, Hub tokenizer) and the patch-14 one, through siglens-cli.
 *
 * Tolerances as test-forward.c (FIXTURES.md): embeddings and traces abs 1e-4 + rel 1e-4, logits
 * abs 1e-4, probabilities abs 3e-5; ids, resized pixels and pixel values exact (all images of
 * these sets are PNGs, which decode exactly as Pillow does).
 */
#include <math.h>
#include <string.h>

#include "image.h"
#include "siglens-decode.h"
#include "encode.h"
#include "test-util.h"
#include "text.h"
#include "vision.h"

#define EMBED_ABS 1e-4
#define EMBED_REL 1e-4
#define LOGIT_ABS 1e-4
#define PROB_ABS 3e-5

#define P14_SET "fixres-p14"
#define P14_MODEL "tiny-siglip2-fixres-p14"
#define N_TEXTS 12
#define FIRST_TEMPLATED 6 /* texts 6..11: the labels in "This is a photo of {}." */

static const cJSON *
item (const cJSON *obj, const char *key)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive (obj, key);
  g_assert_nonnull (v);
  return v;
}

static const cJSON *
p14_model_entry (void)
{
  const cJSON *m = cJSON_GetArrayItem (item (test_set_manifest (P14_SET), "models"), 0);
  g_assert_cmpstr (item (m, "name")->valuestring, ==, P14_MODEL);
  return m;
}

static siglip_model *
load_ok (const char *dir)
{
  siglip_error *err = NULL;
  siglip_model *model = siglip_model_load (dir, NULL, &err);
  if (!model)
    g_error ("%s: %s", dir, err->message);
  return model;
}

static siglip_model *
load_p14 (void)
{
  g_autofree char *dir = test_data_path (P14_SET "/" P14_MODEL);
  return load_ok (dir);
}

static void
assert_ok (bool ok, siglip_error *err)
{
  if (!ok)
    g_error ("%s: %s", siglip_status_name (err->status), err->message);
}

/* An image of the set, decoded by the app's decoder; PNG, so exactly Pillow's pixels. */
static SiglensRgbImage *
decode_set_image (const cJSON *manifest, const char *id)
{
  const cJSON *img;
  cJSON_ArrayForEach (img, item (manifest, "images"))
    if (g_str_equal (item (img, "id")->valuestring, id))
      {
        g_autofree char *rel = g_build_filename (P14_SET, item (img, "file")->valuestring, NULL);
        g_autofree char *path = test_data_path (rel);
        g_autoptr (GError) error = NULL;
        SiglensRgbImage *rgb = siglens_decode_file (path, 0, &error);
        g_assert_no_error (error);
        g_assert_cmpstr (item (img, "format")->valuestring, ==, "PNG");
        return rgb;
      }
  g_error ("no image %s in the %s manifest", id, P14_SET);
}

/* ---------------------------------------------------------------------------------------------
 * fixres-p14
 */

/* The model's own preprocessing: 64x64 resized exactly, a 4x4 grid of 14x14 patches flattened
 * (channel, row, col) for the Conv2d, and the last 8 rows and columns of the image in none. */
static void
test_p14_preprocess (void)
{
  const cJSON *manifest = test_set_manifest (P14_SET);
  siglip_model *model = load_p14 ();
  const siglip_model_info *info = siglip_model_get_info (model);
  g_assert_cmpint (info->vision.patch_size, ==, 14);
  g_assert_cmpint (info->vision.image_size, ==, 64);
  g_assert_cmpint (info->vision.num_patches, ==, 16);

  int n_cases = 0, n_pixels = 0;
  const cJSON *c;
  cJSON_ArrayForEach (c, item (item (item (manifest, "preprocess"), "fixres_64x64"), "cases"))
    {
      const char *id = item (c, "image")->valuestring;
      g_autoptr (SiglensRgbImage) rgb = decode_set_image (manifest, id);
      siglip_image image = { rgb->rgb, rgb->width, rgb->height, rgb->stride };
      siglip_error *err = NULL;
      siglip_patches *p = siglip_preprocess (model, &image, 0, &err);
      assert_ok (p != NULL, err);
      g_assert_cmpint (p->resized_height, ==, 64);
      g_assert_cmpint (p->resized_width, ==, 64);
      g_assert_cmpint (p->rows, ==, 4);
      g_assert_cmpint (p->cols, ==, 4);
      g_assert_cmpint (p->num_valid, ==, 16);
      g_assert_cmpint (p->patch_dim, ==, 3 * 14 * 14);

      gsize n;
      g_autofree guint8 *resized = test_set_golden_u8 (P14_SET, item (c, "resized_u8"), &n);
      g_assert_cmpuint (n, ==, 64 * 64 * 3);
      g_assert_cmpmem (p->resized_rgb, n, resized, n);

      /* the golden sums cover the whole resized image, unused rows and columns included */
      double sum = 0;
      for (gsize i = 0; i < n; i++)
        sum += (double) (resized[i] / 127.5f - 1.0f);
      g_assert_cmpfloat_with_epsilon (sum, item (c, "pixel_values_sum")->valuedouble, 1e-6);

      const cJSON *pv = cJSON_GetObjectItemCaseSensitive (c, "pixel_values");
      if (pv)
        {
          /* golden [3, 64, 64]; ours patch (r, c), then (channel, row, col) inside it */
          g_autofree float *golden = test_set_golden_f32 (P14_SET, pv, &n);
          g_assert_cmpuint (n, ==, 3 * 64 * 64);
          for (int r = 0; r < 4; r++)
            for (int col = 0; col < 4; col++)
              for (int ch = 0; ch < 3; ch++)
                for (int y = 0; y < 14; y++)
                  for (int x = 0; x < 14; x++)
                    {
                      float ours = p->pixel_values[(r * 4 + col) * 588 + ch * 196 + y * 14 + x];
                      float want = golden[ch * 4096 + (r * 14 + y) * 64 + col * 14 + x];
                      if (ours != want)
                        g_error ("%s patch (%d,%d) channel %d (%d,%d): %.9g, golden %.9g", id, r,
                                 col, ch, y, x, ours, want);
                    }
          n_pixels++;
        }
      siglip_patches_free (p);
      n_cases++;
    }
  g_assert_cmpint (n_cases, ==, 5);
  g_assert_cmpint (n_pixels, ==, 2);
  siglip_model_free (model);
}

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
      g_autofree float *golden = test_set_golden_f32 (P14_SET, desc, &len);
      g_assert_cmpuint (a->len, ==, len);
      g_autofree char *label = g_strdup_printf ("%s %s", what, desc->string);
      test_assert_close (label, (float *) a->data, golden, len, EMBED_ABS, EMBED_REL);
      n++;
    }
  return n;
}

/* Every activation of the reference's trace, image tower from the model's own preprocessing. */
static void
test_p14_trace (void)
{
  const cJSON *manifest = test_set_manifest (P14_SET);
  const cJSON *trace = item (p14_model_entry (), "trace");
  siglip_model *model = load_p14 ();
  TraceLog log = { g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                          (GDestroyNotify) g_array_unref) };
  siglip_trace tr = { trace_collect, &log };
  siglip_workspace ws = { 0 };
  siglip_error *err = NULL;

  g_autoptr (SiglensRgbImage) rgb = decode_set_image (manifest, item (trace, "image")->valuestring);
  siglip_image image = { rgb->rgb, rgb->width, rgb->height, rgb->stride };
  siglip_patches *p = siglip_preprocess (model, &image, 0, &err);
  assert_ok (p != NULL, err);
  float emb[8];
  assert_ok (siglip_vision_forward (model, &ws, p, NULL, &tr, emb, NULL, &err), err);
  g_assert_cmpint (compare_trace ("image trace", &log, item (trace, "image_arrays")), ==, 5);
  siglip_patches_free (p);

  /* the trace text through the Hub-layout tokenizer, then the tower */
  g_hash_table_remove_all (log.arrays);
  const siglip_tokenizer *tok = siglip_model_get_tokenizer (model);
  int32_t *ids = NULL;
  int n = 0;
  assert_ok (siglip_tokenize (tok, item (trace, "text")->valuestring, -1, SIGLIP_TOKENIZE_DEFAULT,
                              &ids, &n, 64, &err), err);
  const cJSON *want = item (trace, "text_input_ids");
  g_assert_cmpint (n, ==, cJSON_GetArraySize (want));
  for (int i = 0; i < n; i++)
    g_assert_cmpint (ids[i], ==, cJSON_GetArrayItem (want, i)->valueint);
  assert_ok (siglip_text_forward (model, &ws, ids, 1, NULL, &tr, emb, &err), err);
  g_assert_cmpint (compare_trace ("text trace", &log, item (trace, "text_arrays")), ==, 5);
  free (ids);

  g_hash_table_unref (log.arrays);
  siglip_workspace_clear (&ws);
  siglip_model_free (model);
}

/* What a user gets: the image files and the label strings in, embeddings, logits and
 * probabilities out, every value of the set's goldens. */
static void
test_p14_scores (void)
{
  const cJSON *manifest = test_set_manifest (P14_SET);
  const cJSON *m = p14_model_entry ();
  siglip_model *model = load_p14 ();
  siglip_error *err = NULL;
  siglip_state *st = siglip_state_new (model, &err);
  assert_ok (st != NULL, err);
  const int d = 8, n_images = 5;
  g_assert_cmpint (siglip_model_embed_dim_vision (model), ==, d);

  g_autofree float *image_emb = g_new (float, n_images * d);
  int i = 0;
  const cJSON *c;
  cJSON_ArrayForEach (c, item (m, "images"))
    {
      g_autoptr (SiglensRgbImage) rgb = decode_set_image (manifest, item (c, "image")->valuestring);
      siglip_image image = { rgb->rgb, rgb->width, rgb->height, rgb->stride };
      int shape[2];
      assert_ok (siglip_encode_image (st, &image, NULL, image_emb + i * d, shape, &err), err);
      g_assert_cmpint (shape[0], ==, 4);
      g_assert_cmpint (shape[1], ==, 4);
      i++;
    }
  g_assert_cmpint (i, ==, n_images);
  g_autofree float *golden_img = test_set_golden_f32 (P14_SET, item (m, "image_embeds"), NULL);
  test_assert_close ("p14 image_embeds", image_emb, golden_img, n_images * d, EMBED_ABS, EMBED_REL);

  /* texts from their strings: the Hub-layout tokenizer's ids exactly, then the tower */
  const char *texts[N_TEXTS];
  const siglip_tokenizer *tok = siglip_model_get_tokenizer (model);
  for (int t = 0; t < N_TEXTS; t++)
    {
      const cJSON *text = cJSON_GetArrayItem (item (m, "texts"), t);
      texts[t] = item (text, "text")->valuestring;
      int32_t *ids = NULL;
      int n = 0;
      assert_ok (siglip_tokenize (tok, texts[t], -1, 0, &ids, &n, 64, &err), err);
      for (int k = 0; k < 64; k++)
        g_assert_cmpint (ids[k], ==, cJSON_GetArrayItem (item (text, "input_ids"), k)->valueint);
      free (ids);
    }
  g_autofree float *text_emb = g_new (float, N_TEXTS * d);
  assert_ok (siglip_encode_texts (st, texts, N_TEXTS, NULL, text_emb, &err), err);
  g_autofree float *golden_txt = test_set_golden_f32 (P14_SET, item (m, "text_embeds"), NULL);
  test_assert_close ("p14 text_embeds", text_emb, golden_txt, N_TEXTS * d, EMBED_ABS, EMBED_REL);

  g_autofree float *logits = g_new (float, n_images * N_TEXTS);
  g_autofree float *probs = g_new (float, n_images * N_TEXTS);
  for (int im = 0; im < n_images; im++)
    {
      siglip_score scores[N_TEXTS];
      siglip_score_embeddings (model, image_emb + im * d, text_emb, N_TEXTS, scores);
      for (int t = 0; t < N_TEXTS; t++)
        {
          logits[im * N_TEXTS + t] = scores[t].logit;
          probs[im * N_TEXTS + t] = scores[t].probability;
        }
    }
  g_autofree float *golden_logits = test_set_golden_f32 (P14_SET, item (m, "logits_per_image"), NULL);
  g_autofree float *golden_probs = test_set_golden_f32 (P14_SET, item (m, "probs"), NULL);
  test_assert_close ("p14 logits_per_image", logits, golden_logits, n_images * N_TEXTS, LOGIT_ABS, 0);
  test_assert_close ("p14 probs", probs, golden_probs, n_images * N_TEXTS, PROB_ABS, 0);

  siglip_state_free (st);
  siglip_model_free (model);
}

/* ---------------------------------------------------------------------------------------------
 * The three tiny models with the Hub-layout tokenizer
 */

static const char *const tiny_models[] = {
  "tiny-siglip2-naflex",
  "tiny-siglip2-naflex-bf16-sharded",
  "tiny-siglip-fixres",
};

/* The labels and templated labels, the 63-token text, the truncated one, "" and "<eos>" from
 * their strings, and the one-call classification of chelsea: the goldens made with the npm
 * tokenizer, reproduced through the Hub's file (none of these texts touches ids 4..216). */
static void
test_hub_tokenizer_swapped (gconstpointer data)
{
  const char *name = data;
  const cJSON *m = test_manifest_model (name);
  g_autofree char *dir = test_hub_layout_model (name, TEST_HUB_TOKENIZER);
  siglip_model *model = load_ok (dir);
  siglip_error *err = NULL;
  siglip_state *st = siglip_state_new (model, &err);
  assert_ok (st != NULL, err);
  const int d = siglip_model_embed_dim_text (model);

  /* it is the Hub's file that was read: "<b>" is one added token there, three pieces in npm's */
  int32_t *ids = NULL;
  int n = 0;
  assert_ok (siglip_tokenize (siglip_model_get_tokenizer (model), "<b>", -1, SIGLIP_TOKENIZE_RAW,
                              &ids, &n, 0, &err), err);
  g_assert_cmpint (n, ==, 1);
  g_assert_cmpint (ids[0], ==, 201);
  free (ids);

  const char *const keys[][2] = { { "texts", "text_embeds" }, { "extra_texts", "extra_text_embeds" } };
  for (gsize s = 0; s < G_N_ELEMENTS (keys); s++)
    {
      const cJSON *texts = item (m, keys[s][0]);
      const int count = cJSON_GetArraySize (texts);
      g_autofree const char **strings = g_new0 (const char *, count);
      for (int t = 0; t < count; t++)
        strings[t] = item (cJSON_GetArrayItem (texts, t), "text")->valuestring;
      gsize total;
      g_autofree float *golden = test_golden_f32 (item (m, keys[s][1]), &total);
      g_assert_cmpuint (total, ==, (gsize) count * d);
      g_autofree float *out = g_new (float, total);
      assert_ok (siglip_encode_texts (st, strings, count, NULL, out, &err), err);
      g_autofree char *what = g_strdup_printf ("%s (Hub tokenizer) %s", name, keys[s][1]);
      test_assert_close (what, out, golden, total, EMBED_ABS, EMBED_REL);
    }

  /* chelsea, the six labels, the default template: columns 6..11 of the golden row */
  const char *labels[6];
  for (int t = 0; t < 6; t++)
    labels[t] = item (cJSON_GetArrayItem (item (m, "texts"), t), "label")->valuestring;
  int row = 0;
  const cJSON *c;
  cJSON_ArrayForEach (c, item (m, "images"))
    {
      if (g_str_equal (item (c, "image")->valuestring, "chelsea"))
        break;
      row++;
    }
  g_autofree char *path = test_data_path ("images/chelsea.png");
  g_autoptr (GError) gerr = NULL;
  g_autoptr (SiglensRgbImage) rgb = siglens_decode_file (path, 0, &gerr);
  g_assert_no_error (gerr);
  siglip_image image = { rgb->rgb, rgb->width, rgb->height, rgb->stride };
  siglip_score scores[6];
  assert_ok (siglip_classify (st, &image, labels, 6, NULL, scores, &err), err);
  g_autofree float *golden_probs = test_golden_f32 (item (m, "probs"), NULL);
  float probs[6];
  for (int t = 0; t < 6; t++)
    probs[t] = scores[t].probability;
  g_autofree char *what = g_strdup_printf ("%s (Hub tokenizer) classify chelsea", name);
  test_assert_close (what, probs, golden_probs + row * N_TEXTS + FIRST_TEMPLATED, 6, PROB_ABS, 0);

  siglip_state_free (st);
  siglip_model_free (model);
}

/* ---------------------------------------------------------------------------------------------
 * Through the command line, directories laid out like the Hub's
 */

/* `siglens-cli classify --json` on `images` with the six labels; every probability against the
 * templated columns of `probs` (rows in the manifest's image order, `image_rows`). */
static void
check_cli_classify (const char *dir, const char *const *image_paths, const int *rows, int n_images,
                    const float *probs)
{
  const char *args[16] = { "classify", "--model", dir, "--json", "--labels",
                           "cat, dog, a red car, coffee, 一只猫, rocket ship" };
  int n_args = 6;
  for (int i = 0; i < n_images; i++)
    args[n_args++] = image_paths[i];
  args[n_args] = NULL;
  TestRun run = test_run_cli (args, NULL);
  g_assert_cmpint (run.status, ==, 0);
  g_auto (GStrv) lines = g_strsplit (run.out, "\n", -1);
  int seen = 0;
  for (int i = 0; lines[i] && *lines[i]; i++)
    {
      cJSON *line = cJSON_Parse (lines[i]);
      g_assert_nonnull (line);
      g_assert_cmpint (i, <, n_images);
      float got[6];
      const cJSON *scores = item (line, "scores");
      g_assert_cmpint (cJSON_GetArraySize (scores), ==, 6);
      for (int t = 0; t < 6; t++)
        {
          /* the output is sorted by score: find each label's column */
          const cJSON *s;
          cJSON_ArrayForEach (s, scores)
            {
              static const char *const labels[] = { "cat", "dog", "a red car", "coffee", "一只猫",
                                                    "rocket ship" };
              if (g_str_equal (item (s, "label")->valuestring, labels[t]))
                got[t] = (float) item (s, "probability")->valuedouble;
            }
        }
      g_autofree char *what = g_strdup_printf ("%s: %s", dir, image_paths[i]);
      test_assert_close (what, got, probs + rows[i] * N_TEXTS + FIRST_TEMPLATED, 6, PROB_ABS, 0);
      cJSON_Delete (line);
      seen++;
    }
  g_assert_cmpint (seen, ==, n_images);
  test_run_clear (&run);
}

/* Like google/siglip2-so400m-patch16-naflex: diff-style config.json, Siglip2ImageProcessorFast,
 * the Hub's tokenizer.json, tokenizer_config.json and special_tokens_map.json. */
static void
test_cli_hub_naflex (void)
{
  g_autofree char *dir = test_hub_layout_model ("tiny-siglip2-naflex", TEST_HUB_FILES);
  g_autofree char *pre = g_build_filename (dir, "preprocessor_config.json", NULL);
  g_autofree char *pre_text = NULL;
  g_assert_true (g_file_get_contents (pre, &pre_text, NULL, NULL));
  g_assert_nonnull (strstr (pre_text, "\"Siglip2ImageProcessorFast\""));
  g_autofree char *config = g_build_filename (dir, "config.json", NULL);
  g_autofree char *config_text = NULL;
  g_assert_true (g_file_get_contents (config, &config_text, NULL, NULL));
  g_assert_null (strstr (config_text, "patch_size"));
  g_assert_null (strstr (config_text, "num_patches"));

  const cJSON *m = test_manifest_model ("tiny-siglip2-naflex");
  g_autofree float *probs = test_golden_f32 (item (m, "probs"), NULL);
  const char *ids[] = { "chelsea", "gradient_640x480", "tall_150x900" };
  const char *paths[3];
  g_autofree char *p0 = test_data_path ("images/chelsea.png");
  g_autofree char *p1 = test_data_path ("images/gradient_640x480.png");
  g_autofree char *p2 = test_data_path ("images/tall_150x900.png");
  paths[0] = p0, paths[1] = p1, paths[2] = p2;
  int rows[3];
  for (int i = 0; i < 3; i++)
    {
      int r = 0;
      const cJSON *c;
      cJSON_ArrayForEach (c, item (m, "images"))
        {
          if (g_str_equal (item (c, "image")->valuestring, ids[i]))
            break;
          r++;
        }
      rows[i] = r;
    }
  check_cli_classify (dir, paths, rows, 3, probs);
}

/* Like google/siglip2-so400m-patch14-384: the set's own directory, and once more with the
 * processor named SiglipImageProcessorFast. */
static void
test_cli_hub_p14 (void)
{
  const cJSON *m = p14_model_entry ();
  g_autofree float *probs = test_set_golden_f32 (P14_SET, item (m, "probs"), NULL);
  const char *paths[5];
  int rows[5];
  g_autoptr (GPtrArray) keep = g_ptr_array_new_with_free_func (g_free);
  int i = 0;
  const cJSON *c;
  cJSON_ArrayForEach (c, item (m, "images"))
    {
      g_autofree char *rel = g_strdup_printf ("images/%s.png", item (c, "image")->valuestring);
      char *path = test_data_path (rel);
      g_ptr_array_add (keep, path);
      paths[i] = path;
      rows[i] = i;
      i++;
    }
  g_autofree char *dir = test_data_path (P14_SET "/" P14_MODEL);
  check_cli_classify (dir, paths, rows, 5, probs);

  g_autofree char *fast = test_hub_layout_model (P14_SET "/" P14_MODEL, TEST_HUB_FILES);
  check_cli_classify (fast, paths, rows, 5, probs);

  /* info tells what was read: patch 14 from vision_config, 64 px, 4x4 grid */
  TestRun run = test_run_cli (TEST_ARGS ("info", "--json", dir), NULL);
  g_assert_cmpint (run.status, ==, 0);
  cJSON *info = cJSON_Parse (run.out);
  g_assert_nonnull (info);
  g_autofree char *printed = cJSON_PrintUnformatted (info);
  g_test_message ("info: %s", printed);
  g_assert_nonnull (strstr (printed, "\"patch_size\":14"));
  g_assert_nonnull (strstr (printed, "\"image_size\":64"));
  cJSON_Delete (info);
  test_run_clear (&run);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/checkpoints/fixres-p14/preprocess", test_p14_preprocess);
  g_test_add_func ("/checkpoints/fixres-p14/trace", test_p14_trace);
  g_test_add_func ("/checkpoints/fixres-p14/scores", test_p14_scores);
  for (gsize i = 0; i < G_N_ELEMENTS (tiny_models); i++)
    {
      g_autofree char *path = g_strdup_printf ("/checkpoints/hub-tokenizer/%s", tiny_models[i]);
      g_test_add_data_func (path, tiny_models[i], test_hub_tokenizer_swapped);
    }
  g_test_add_func ("/checkpoints/cli/hub-naflex", test_cli_hub_naflex);
  g_test_add_func ("/checkpoints/cli/hub-patch14", test_cli_hub_p14);
  return g_test_run ();
}
