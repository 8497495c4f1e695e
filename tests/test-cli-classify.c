/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * siglens-cli classify / embed as a user runs them: JSON lines and embeddings against the
 * goldens (PNG images only, whose decode matches the reference exactly), the readable table,
 * CSV, and the error cases (no labels, missing image, corrupt image, bad model).
 * Tolerances as in test-forward.c (FIXTURES.md): logits abs 1e-4, probabilities abs 3e-5,
 * embeddings abs 1e-4 + rel 1e-4.
 */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>


#include "gemm.h"
#include "test-util.h"

static const cJSON *
item (const cJSON *obj, const char *key)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive (obj, key);
  g_assert_nonnull (v);
  return v;
}

static int
image_index (const cJSON *m, const char *id)
{
  int i = 0;
  const cJSON *c;
  cJSON_ArrayForEach (c, item (m, "images"))
    {
      if (g_str_equal (item (c, "image")->valuestring, id))
        return i;
      i++;
    }
  g_error ("no image %s", id);
  return -1;
}

static const char *const models[] = { "tiny-siglip2-naflex", "tiny-siglip2-naflex-bf16-sharded",
                                      "tiny-siglip-fixres" };
/* PNGs: their decode equals Pillow's, so the strict tolerances hold */
static const char *const png_ids[] = { "chelsea", "tall_150x900", "rgba_256x320" };

static void
test_classify_json (void)
{
  for (gsize mi = 0; mi < G_N_ELEMENTS (models); mi++)
    {
      const cJSON *m = test_manifest_model (models[mi]);
      g_autofree char *model_dir = test_data_path (item (m, "dir")->valuestring);
      g_autofree float *golden_logits = test_golden_f32 (item (m, "logits_per_image"), NULL);
      g_autofree float *golden_probs = test_golden_f32 (item (m, "probs"), NULL);
      g_auto (GStrv) paths = g_new0 (char *, G_N_ELEMENTS (png_ids) + 1);
      for (gsize i = 0; i < G_N_ELEMENTS (png_ids); i++)
        {
          g_autofree char *rel = g_strdup_printf ("images/%s.png", png_ids[i]);
          paths[i] = test_data_path (rel);
        }
      /* the golden label set, as a user types it */
      const char *args[] = { "classify", "--model", model_dir, "--labels",
                             "cat, dog, a red car, coffee, 一只猫, rocket ship", "--json",
                             paths[0], paths[1], paths[2], NULL };
      TestRun r = test_run_cli (args, NULL);
      g_test_message ("stderr: %s", r.err);
      g_assert_cmpint (r.status, ==, 0);

      g_auto (GStrv) lines = g_strsplit (g_strchomp (r.out), "\n", -1);
      g_assert_cmpuint (g_strv_length (lines), ==, G_N_ELEMENTS (png_ids));
      for (gsize i = 0; i < G_N_ELEMENTS (png_ids); i++)
        {
          cJSON *o = cJSON_Parse (lines[i]);
          g_assert_nonnull (o);
          g_assert_cmpstr (item (o, "image")->valuestring, ==, paths[i]);
          const cJSON *shape = item (o, "spatial_shape");
          g_assert_cmpint (cJSON_GetArraySize (shape), ==, 2);
          const cJSON *scores = item (o, "scores");
          g_assert_cmpint (cJSON_GetArraySize (scores), ==, 6);
          const int idx = image_index (m, png_ids[i]);
          float logits[6], probs[6];
          for (int t = 0; t < 6; t++)
            {
              const cJSON *s = cJSON_GetArrayItem (scores, t);
              const cJSON *text = cJSON_GetArrayItem (item (m, "texts"), t);
              /* in the order given */
              g_assert_cmpstr (item (s, "label")->valuestring, ==, item (text, "label")->valuestring);
              logits[t] = (float) item (s, "logit")->valuedouble;
              probs[t] = (float) item (s, "probability")->valuedouble;
            }
          /* the default template: golden columns 6..11 */
          g_autofree char *what = g_strdup_printf ("%s classify %s", models[mi], png_ids[i]);
          test_assert_close (what, logits, golden_logits + idx * 12 + 6, 6, 1e-4, 0);
          test_assert_close (what, probs, golden_probs + idx * 12 + 6, 6, 3e-5, 0);
          cJSON_Delete (o);
        }
      test_run_clear (&r);
    }
}

static void
test_classify_no_template (void)
{
  const cJSON *m = test_manifest_model ("tiny-siglip2-naflex");
  g_autofree char *model_dir = test_data_path ("tiny-siglip2-naflex");
  g_autofree char *path = test_data_path ("images/coffee.png");
  g_autofree float *golden_logits = test_golden_f32 (item (m, "logits_per_image"), NULL);
  const char *args[] = { "classify", "--model", model_dir, "--labels", "cat\ndog、coffee",
                         "--template", "{}", "--json", path, NULL };
  TestRun r = test_run_cli (args, NULL);
  g_assert_cmpint (r.status, ==, 0);
  cJSON *o = cJSON_Parse (r.out);
  g_assert_nonnull (o);
  const int idx = image_index (m, "coffee");
  const int golden_col[] = { 0, 1, 3 }; /* cat, dog, coffee raw */
  for (int t = 0; t < 3; t++)
    {
      float logit = (float) item (cJSON_GetArrayItem (item (o, "scores"), t), "logit")->valuedouble;
      test_assert_close ("no-template logit", &logit, golden_logits + idx * 12 + golden_col[t], 1,
                         1e-4, 0);
    }
  /* NAFlex grid of a 600x400 image at 256 patches */
  const cJSON *shape = item (o, "spatial_shape");
  g_assert_cmpint (cJSON_GetArrayItem (shape, 0)->valueint, ==, 13);
  g_assert_cmpint (cJSON_GetArrayItem (shape, 1)->valueint, ==, 19);
  cJSON_Delete (o);
  test_run_clear (&r);

  /* --max-patches: a smaller NAFlex budget gives a smaller grid, and other scores */
  const char *small[] = { "classify", "--model", model_dir, "--labels", "cat", "--max-patches",
                          "64", "--json", path, NULL };
  r = test_run_cli (small, NULL);
  g_assert_cmpint (r.status, ==, 0);
  o = cJSON_Parse (r.out);
  g_assert_nonnull (o);
  shape = item (o, "spatial_shape");
  const int rows = cJSON_GetArrayItem (shape, 0)->valueint, cols = cJSON_GetArrayItem (shape, 1)->valueint;
  g_assert_cmpint (rows * cols, <=, 64);
  g_assert_cmpint (rows * cols, >, 32);
  cJSON_Delete (o);
  test_run_clear (&r);
}

static void
test_classify_table_and_csv (void)
{
  g_autofree char *model_dir = test_data_path ("tiny-siglip2-naflex");
  g_autofree char *a = test_data_path ("images/chelsea.png");
  g_autofree char *b = test_data_path ("images/rocket.jpg");

  const char *args[] = { "classify", "--model", model_dir, "--labels", "cat, dog, rocket ship",
                         a, b, NULL };
  TestRun r = test_run_cli (args, NULL);
  g_assert_cmpint (r.status, ==, 0);
  /* one block per image, header, three rows sorted by probability */
  g_assert_nonnull (strstr (r.out, a));
  g_assert_nonnull (strstr (r.out, b));
  g_assert_nonnull (strstr (r.out, "probability"));
  g_auto (GStrv) lines = g_strsplit (r.out, "\n", -1);
  int rows = 0;
  double prev = 200;
  for (char **l = lines; *l; l++)
    {
      double p;
      char label[64];
      if (sscanf (*l, " %lf%% %*f %63[^\n]", &p, label) == 2)
        {
          if (rows % 3 == 0)
            prev = 200;
          g_assert_cmpfloat (p, <=, prev);
          g_assert_cmpfloat (p, >=, 0);
          prev = p;
          rows++;
        }
    }
  g_assert_cmpint (rows, ==, 6);
  test_run_clear (&r);

  const char *csv_args[] = { "classify", "--model", model_dir, "--labels", "cat, \"big\" dog",
                             "--csv", "-", a, NULL };
  r = test_run_cli (csv_args, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_auto (GStrv) csv = g_strsplit (g_strchomp (r.out), "\n", -1);
  g_assert_cmpuint (g_strv_length (csv), ==, 3);
  g_assert_cmpstr (csv[0], ==,
                   "image,label,logit,probability,error,model,precision,max_patches,template");
  g_autofree char *prefix = g_strdup_printf ("%s,cat,", a);
  g_assert_true (g_str_has_prefix (csv[1], prefix));
  g_autofree char *quoted = g_strdup_printf ("%s,\"\"\"big\"\" dog\",", a);
  g_assert_true (g_str_has_prefix (csv[2], quoted));
  test_run_clear (&r);
}

static void
test_embed_json (void)
{
  for (gsize mi = 0; mi < G_N_ELEMENTS (models); mi++)
    {
      const cJSON *m = test_manifest_model (models[mi]);
      g_autofree char *model_dir = test_data_path (item (m, "dir")->valuestring);
      const int d = item (m, "hidden_size")->valueint;
      g_autofree float *image_golden = test_golden_f32 (item (m, "image_embeds"), NULL);
      g_autofree float *text_golden = test_golden_f32 (item (m, "text_embeds"), NULL);
      g_autofree char *chelsea = test_data_path ("images/chelsea.png");
      g_autofree char *gray = test_data_path ("images/gray_300x200.png");

      /* raw texts as given, then the template applied to a label */
      const char *args[] = { "embed", "--model", model_dir, "--image", chelsea, "--image", gray,
                             "--text", "cat", "--text", "一只猫", "--json", NULL };
      TestRun r = test_run_cli (args, NULL);
      g_test_message ("stderr: %s", r.err);
      g_assert_cmpint (r.status, ==, 0);
      cJSON *o = cJSON_Parse (r.out);
      g_assert_nonnull (o);
      const char *ids[] = { "chelsea", "gray_300x200" };
      for (int i = 0; i < 2; i++)
        {
          const cJSON *e = cJSON_GetArrayItem (item (o, "images"), i);
          g_assert_cmpstr (item (e, "path")->valuestring, ==, i ? gray : chelsea);
          const cJSON *arr = item (e, "embedding");
          g_assert_cmpint (cJSON_GetArraySize (arr), ==, d);
          g_autofree float *v = g_new (float, d);
          for (int k = 0; k < d; k++)
            v[k] = (float) cJSON_GetArrayItem (arr, k)->valuedouble;
          test_assert_close ("embed image", v, image_golden + image_index (m, ids[i]) * d, d,
                             1e-4, 1e-4);
        }
      const int text_cols[] = { 0, 4 };
      for (int i = 0; i < 2; i++)
        {
          const cJSON *e = cJSON_GetArrayItem (item (o, "texts"), i);
          const cJSON *arr = item (e, "embedding");
          g_assert_cmpint (cJSON_GetArraySize (arr), ==, d);
          g_autofree float *v = g_new (float, d);
          for (int k = 0; k < d; k++)
            v[k] = (float) cJSON_GetArrayItem (arr, k)->valuedouble;
          test_assert_close ("embed text", v, text_golden + text_cols[i] * d, d, 1e-4, 1e-4);
        }
      cJSON_Delete (o);
      test_run_clear (&r);

      const char *templ[] = { "embed", "--model", model_dir, "--template",
                              "This is a photo of {}.", "--text", "rocket ship", "--json", NULL };
      r = test_run_cli (templ, NULL);
      g_assert_cmpint (r.status, ==, 0);
      o = cJSON_Parse (r.out);
      g_assert_nonnull (o);
      g_assert_cmpint (cJSON_GetArraySize (item (o, "images")), ==, 0);
      const cJSON *e = cJSON_GetArrayItem (item (o, "texts"), 0);
      g_assert_cmpstr (item (e, "text")->valuestring, ==, "rocket ship");
      g_autofree float *v = g_new (float, d);
      for (int k = 0; k < d; k++)
        v[k] = (float) cJSON_GetArrayItem (item (e, "embedding"), k)->valuedouble;
      test_assert_close ("embed templated text", v, text_golden + 11 * d, d, 1e-4, 1e-4);
      cJSON_Delete (o);
      test_run_clear (&r);
    }
}

static void
test_errors (void)
{
  g_autofree char *model_dir = test_data_path ("tiny-siglip2-naflex");
  g_autofree char *good = test_data_path ("images/chelsea.png");
  g_autofree char *missing = test_data_path ("images/no-such-image.png");
  g_autofree char *corrupt = test_out_path ("cli-classify/corrupt.png");
  /* a PNG signature followed by garbage */
  g_assert_true (g_file_set_contents (corrupt, "\x89PNG\r\n\x1a\n garbage, not an image", -1,
                                      NULL));

  /* no labels (only separators and spaces) */
  {
    const char *args[] = { "classify", "--model", model_dir, "--labels", " , ，\n", good, NULL };
    TestRun r = test_run_cli (args, NULL);
    g_assert_cmpint (r.status, ==, 1);
    g_assert_nonnull (strstr (r.err, "no labels"));
    g_assert_cmpstr (r.out, ==, "");
    test_run_clear (&r);
  }
  /* missing and corrupt images: reported by name, the good one still scored, exit 1 */
  {
    const char *args[] = { "classify", "--model", model_dir, "--labels", "cat", "--json",
                           missing, good, corrupt, NULL };
    TestRun r = test_run_cli (args, NULL);
    g_assert_cmpint (r.status, ==, 1);
    g_assert_nonnull (strstr (r.err, "no-such-image.png"));
    g_assert_nonnull (strstr (r.err, "corrupt.png"));
    g_assert_nonnull (strstr (r.err, "2 of 3 images failed"));
    /* one line per image, in order; the failed ones say why */
    g_auto (GStrv) lines = g_strsplit (g_strchomp (r.out), "\n", -1);
    g_assert_cmpuint (g_strv_length (lines), ==, 3);
    const char *paths[] = { missing, good, corrupt };
    for (int i = 0; i < 3; i++)
      {
        cJSON *o = cJSON_Parse (lines[i]);
        g_assert_nonnull (o);
        g_assert_cmpstr (item (o, "image")->valuestring, ==, paths[i]);
        g_assert_true ((i == 1) == (cJSON_GetObjectItem (o, "error") == NULL));
        g_assert_true ((i == 1) == (cJSON_GetObjectItem (o, "scores") != NULL));
        cJSON_Delete (o);
      }
    test_run_clear (&r);
  }
  /* bad model */
  {
    g_autofree char *not_a_model = test_data_path ("images");
    const char *args[] = { "classify", "--model", not_a_model, "--labels", "cat", good, NULL };
    TestRun r = test_run_cli (args, NULL);
    g_assert_cmpint (r.status, ==, 1);
    g_assert_nonnull (strstr (r.err, "cannot load model"));
    test_run_clear (&r);
  }
  /* no images; no model option; embed with nothing to embed */
  {
    const char *a1[] = { "classify", "--model", model_dir, "--labels", "cat", NULL };
    const char *a2[] = { "classify", "--labels", "cat", good, NULL };
    const char *a3[] = { "embed", "--model", model_dir, "--json", NULL };
    const char *const *all[] = { a1, a2, a3 };
    for (gsize i = 0; i < G_N_ELEMENTS (all); i++)
      {
        TestRun r = test_run_cli (all[i], NULL);
        g_assert_cmpint (r.status, ==, 1);
        g_assert_cmpstr (r.err, !=, "");
        test_run_clear (&r);
      }
  }
  /* embed: a missing image is reported, texts still come out */
  {
    const char *args[] = { "embed", "--model", model_dir, "--image", missing, "--text", "cat",
                           "--json", NULL };
    TestRun r = test_run_cli (args, NULL);
    g_assert_cmpint (r.status, ==, 1);
    g_assert_nonnull (strstr (r.err, "no-such-image.png"));
    cJSON *o = cJSON_Parse (r.out);
    g_assert_nonnull (o);
    g_assert_cmpint (cJSON_GetArraySize (item (o, "texts")), ==, 1);
    cJSON_Delete (o);
    test_run_clear (&r);
  }
}

/* Labels as people type them: merged ones and cut ones are scored and the user is told, on
 * stderr so that --json stays parseable; invalid UTF-8 is named; 500 labels all come out. */
static void
test_label_notes (void)
{
  g_autofree char *model_dir = test_data_path ("tiny-siglip2-naflex");
  g_autofree char *good = test_data_path ("images/chelsea.png");
  g_autoptr (GString) long_label = g_string_new (NULL);
  while (long_label->len < 10000)
    g_string_append (long_label, "a cat ");
  g_string_truncate (long_label, 10000);
  g_autofree char *labels = g_strdup_printf ("cat, dog, Cat, %s", long_label->str);
  {
    const char *args[] = { "classify", "--model", model_dir, "--labels", labels, "--json", good,
                           NULL };
    TestRun r = test_run_cli (args, NULL);
    g_assert_cmpint (r.status, ==, 0);
    g_assert_nonnull (strstr (r.err, "\"Cat\" reads the same as \"cat\" to the model"));
    g_assert_nonnull (strstr (r.err, "scored once, as \"cat\""));
    g_assert_nonnull (strstr (r.err, "label 4 (\"a cat a cat a cat a cat a cat a cat a ca…\") is "
                                     "longer than the 64 tokens the model reads"));
    cJSON *o = cJSON_Parse (r.out);
    g_assert_nonnull (o);
    const cJSON *scores = item (o, "scores");
    g_assert_cmpint (cJSON_GetArraySize (scores), ==, 3);
    g_assert_cmpstr (item (cJSON_GetArrayItem (scores, 0), "label")->valuestring, ==, "cat");
    g_assert_cmpstr (item (cJSON_GetArrayItem (scores, 1), "label")->valuestring, ==, "dog");
    cJSON_Delete (o);
    test_run_clear (&r);
  }
  /* invalid UTF-8 in a label, the template and a text: refused, naming which */
  {
    const char *args[] = { "classify", "--model", model_dir, "--labels", "cat, caf\xc3 noir",
                           good, NULL };
    TestRun r = test_run_cli (args, NULL);
    g_assert_cmpint (r.status, ==, 1);
    g_assert_nonnull (strstr (r.err, "label 2 (\"caf\") is not valid UTF-8: a truncated "
                                     "multi-byte sequence at byte 3"));
    g_assert_cmpstr (r.out, ==, "");
    test_run_clear (&r);
  }
  {
    const char *args[] = { "classify", "--model", model_dir, "--labels", "cat", "--template",
                           "a \xff {}", good, NULL };
    TestRun r = test_run_cli (args, NULL);
    g_assert_cmpint (r.status, ==, 1);
    g_assert_nonnull (strstr (r.err, "--template is not valid UTF-8 (byte 0xFF at offset 2)"));
    test_run_clear (&r);
  }
  {
    const char *args[] = { "embed", "--model", model_dir, "--text", "ok", "--text", "b\xe4" "d",
                           "--json", NULL };
    TestRun r = test_run_cli (args, NULL);
    g_assert_cmpint (r.status, ==, 1);
    g_assert_nonnull (strstr (r.err, "not valid UTF-8"));
    g_assert_nonnull (strstr (r.err, "byte offset 1 (byte 0xE4)"));
    test_run_clear (&r);
  }
  /* 500 labels: every one scored */
  {
    g_autoptr (GString) many = g_string_new (NULL);
    for (int i = 0; i < 500; i++)
      g_string_append_printf (many, "thing %d, ", i);
    const char *args[] = { "classify", "--model", model_dir, "--labels", many->str, "--json",
                           good, NULL };
    TestRun r = test_run_cli (args, NULL);
    g_assert_cmpint (r.status, ==, 0);
    cJSON *o = cJSON_Parse (r.out);
    g_assert_nonnull (o);
    g_assert_cmpint (cJSON_GetArraySize (item (o, "scores")), ==, 500);
    cJSON_Delete (o);
    test_run_clear (&r);
  }
}

/* classify with its stderr on a terminal and XDG_CACHE_HOME at `xdg`; what it showed there
 * in *shown. */
static int
classify_on_terminal (const char *model, const char *precision, const char *xdg, char **shown)
{
  g_autofree char *image = test_data_path ("images/chelsea.png");
  g_auto (GStrv) env = g_environ_setenv (g_get_environ (), "XDG_CACHE_HOME", xdg, TRUE);
  TestRun r = test_run_cli_on_terminal (TEST_ARGS ("classify", "--model", model, "--precision",
                                                   precision, "--labels", "cat, dog", image),
                                        env);
  *shown = g_steal_pointer (&r.err);
  test_run_clear (&r);
  return r.status;
}

/* The files in `folder` (none if it is not there), the ones ending in .tmp counted apart. */
static guint
count_files (const char *folder, guint *n_tmp)
{
  g_autoptr (GDir) dir = g_dir_open (folder, 0, NULL);
  guint n = 0;

  *n_tmp = 0;
  for (const char *entry; dir != NULL && (entry = g_dir_read_name (dir)) != NULL;)
    {
      if (g_str_has_suffix (entry, ".tmp"))
        (*n_tmp)++;
      n++;
    }
  return n;
}

/* A first bf16 run that writes the packed weights after its answer says so on a terminal, and
 * leaves the file whole; a run that writes nothing after its answer (fp32, or bf16 from the
 * file) says nothing of it. */
static void
test_saving_note_on_terminal (void)
{
  static const char note[] = "saving the packed weights for a faster next run";
  g_autofree char *model = test_data_path ("tiny-siglip2-naflex");
  g_autofree char *xdg = test_out_path ("cli-classify/xdg-saving");
  g_autofree char *weights = g_build_filename (xdg, "siglens", "weights", NULL);
  char *shown = NULL;
  guint n_tmp;

  test_empty_folder (weights);
  g_assert_cmpint (classify_on_terminal (model, "fp32", xdg, &shown), ==, 0);
  g_assert_null (strstr (shown, note));
  g_clear_pointer (&shown, g_free);

  /* The write waits for the forward passes to pause 50 ms, so the answer comes first; a run
   * held off the CPU that long between its last product and its exit (a loaded machine) would
   * find it done. Once in ten first runs is asked for (here: the first, every time). */
  int noted = 0;
  for (int i = 0; i < 10 && noted == 0; i++)
    {
      test_empty_folder (weights);
      g_assert_cmpint (classify_on_terminal (model, "bf16", xdg, &shown), ==, 0);
      if (strstr (shown, note) != NULL)
        noted++;
      g_clear_pointer (&shown, g_free);
      /* the command returns only once the file is whole */
      const guint n = count_files (weights, &n_tmp);
      g_assert_cmpuint (n_tmp, ==, 0);
      g_assert_cmpuint (n, ==, 1);
    }
  /* where the panels are packed inside the load (not the AVX2 bf16 kernel) there is never one */
  g_assert_cmpint (noted, ==, siglip_gemm_can_round_rows () ? 1 : 0);

  /* from the file: nothing written behind it */
  g_assert_cmpint (classify_on_terminal (model, "bf16", xdg, &shown), ==, 0);
  g_assert_null (strstr (shown, note));
  g_clear_pointer (&shown, g_free);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cli-classify/json", test_classify_json);
  g_test_add_func ("/cli-classify/no-template", test_classify_no_template);
  g_test_add_func ("/cli-classify/table-and-csv", test_classify_table_and_csv);
  g_test_add_func ("/cli-classify/embed", test_embed_json);
  g_test_add_func ("/cli-classify/errors", test_errors);
  g_test_add_func ("/cli-classify/label-notes", test_label_notes);
  g_test_add_func ("/cli-classify/saving-note-on-terminal", test_saving_note_on_terminal);
  return g_test_run ();
}
