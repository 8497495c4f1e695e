/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Label presets: every built-in set loads, round-trips through the label entry's splitting and
 * encodes with the tiny model; the ImageNet file is CLIP's zero-shot class list, 1,000 lines;
 * user sets are saved (atomically, even when the saving process is killed mid-write), listed, found and deleted; `siglens-cli presets` and
 * `classify --preset` as a user runs them.
 */
#include <glib/gstdio.h>
#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>

#include "siglens-presets.h"
#include "test-util.h"

#define TINY_MODEL "tiny-siglip2-naflex"

static void
test_builtins_load (void)
{
  g_autoptr (GPtrArray) presets = siglens_presets_list ("/nonexistent");
  const char *expected[] = { "animals", "vehicles", "weather", "emotions", "fruits", "cifar10",
                             "imagenet", "animals-zh", "vehicles-zh", "weather-zh",
                             "emotions-zh", "fruits-zh" };

  g_assert_cmpuint (presets->len, ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < presets->len; i++)
    {
      SiglensPreset *p = g_ptr_array_index (presets, i);
      g_autofree char *text = siglens_preset_dup_text (p);
      char **split;
      int n = 0;

      g_assert_cmpstr (p->id, ==, expected[i]);
      g_assert_true (p->builtin);
      g_assert_cmpuint (p->n_labels, >=, 7);
      g_assert_cmpuint (g_strv_length (p->labels), ==, p->n_labels);
      g_assert_cmpstr (p->language, ==, g_str_has_suffix (p->id, "-zh") ? "zh" : "en");
      /* The menu puts a preset into the label entry as one line: it must split back exactly. */
      split = siglip_split_labels (text, &n);
      g_assert_cmpint (n, ==, (int) p->n_labels);
      for (int j = 0; j < n; j++)
        g_assert_cmpstr (split[j], ==, p->labels[j]);
      siglip_labels_free (split);
      for (guint j = 0; j < p->n_labels; j++)
        {
          gboolean han = FALSE;

          for (const char *c = p->labels[j]; *c; c = g_utf8_next_char (c))
            han |= g_unichar_get_script (g_utf8_get_char (c)) == G_UNICODE_SCRIPT_HAN;
          g_assert_true (han == g_str_equal (p->language, "zh"));
        }
    }

  {
    g_autoptr (SiglensPreset) cifar = siglens_presets_find (NULL, "cifar10", NULL);
    const char *classes[] = { "airplane", "automobile", "bird", "cat", "deer", "dog", "frog",
                              "horse", "ship", "truck", NULL };

    g_assert_nonnull (cifar);
    g_assert_cmpstrv (cifar->labels, classes);
  }
}

/* data/presets/imagenet.txt is the list of CLIP's "Prompt_Engineering_for_ImageNet" notebook:
 * 1,000 lines in class-index order; its two repeated names ("missile" for classes 657 and 744,
 * "sunglasses" for 836 and 837) become one label each, 998 in all. */
static void
test_imagenet (void)
{
  g_autofree char *path = g_build_filename (SIGLENS_SRC_DIR, "data", "presets", "imagenet.txt",
                                            NULL);
  g_autofree char *text = NULL;
  g_auto (GStrv) lines = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (SiglensPreset) preset = NULL;
  gsize length;
  const struct { guint index; const char *name; } anchors[] = {
    { 0, "tench" }, { 1, "goldfish" }, { 7, "rooster" }, { 145, "king penguin" },
    { 207, "Golden Retriever" }, { 281, "tabby cat" }, { 291, "lion" }, { 340, "zebra" },
    { 388, "giant panda" }, { 409, "analog clock" }, { 657, "missile" }, { 744, "missile" },
    { 817, "sports car" }, { 836, "sunglasses" }, { 837, "sunglasses" }, { 954, "banana" },
    { 999, "toilet paper" },
  };

  g_assert_true (g_file_get_contents (path, &text, &length, &error));
  g_assert_no_error (error);
  g_assert_true (g_str_has_suffix (text, "\n"));
  text[length - 1] = '\0';
  lines = g_strsplit (text, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 1000);
  for (gsize i = 0; i < G_N_ELEMENTS (anchors); i++)
    g_assert_cmpstr (lines[anchors[i].index], ==, anchors[i].name);

  preset = siglens_presets_find (NULL, "imagenet", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (preset->n_labels, ==, 998);
  g_assert_cmpstr (preset->labels[0], ==, "tench");
  g_assert_cmpstr (preset->labels[997], ==, "toilet paper");
}

/* Each preset, templated, through the text tower of the tiny model: no label is refused and
 * every embedding is finite and not all zero. */
static void
test_every_preset_encodes (void)
{
  g_autofree char *model_dir = test_data_path (TINY_MODEL);
  g_autoptr (GPtrArray) presets = siglens_presets_list ("/nonexistent");
  siglip_error *err = NULL;
  siglip_model *model = siglip_model_load (model_dir, NULL, &err);
  siglip_state *state;
  int dim;

  g_assert_null (err);
  state = siglip_state_new (model, &err);
  g_assert_null (err);
  dim = siglip_model_embed_dim_text (model);

  for (guint i = 0; i < presets->len; i++)
    {
      SiglensPreset *p = g_ptr_array_index (presets, i);
      g_autofree float *emb = g_new (float, (gsize) p->n_labels * dim);
      siglip_encode_options options = { .template = SIGLIP_DEFAULT_TEMPLATE };
      bool ok;

      ok = siglip_encode_labels (state, (const char *const *) p->labels, (int) p->n_labels,
                                 &options, emb, &err);
      if (!ok)
        g_error ("%s: %s", p->id, err->message);
      for (guint j = 0; j < p->n_labels; j++)
        {
          double norm = 0;

          for (int d = 0; d < dim; d++)
            {
              g_assert_true (isfinite (emb[(gsize) j * dim + d]));
              norm += emb[(gsize) j * dim + d] * emb[(gsize) j * dim + d];
            }
          g_assert_cmpfloat (norm, >, 1e-6);
        }
      g_test_message ("%s: %u labels encoded", p->id, p->n_labels);
    }
  siglip_state_free (state);
  siglip_model_free (model);
}

static guint
count_files (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  guint n = 0;

  while (d != NULL && g_dir_read_name (d) != NULL)
    n++;
  return n;
}

/* Runs leave their files in the build tree; each starts from an empty folder. */
static void
empty_folder (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_assert_cmpint (g_remove (path), ==, 0);
    }
}

static void
test_user_sets (void)
{
  g_autofree char *dir = test_out_path ("presets-user");
  g_autofree char *file = NULL;
  g_autoptr (GError) error = NULL;
  g_autoptr (SiglensPreset) saved = NULL;
  g_autoptr (SiglensPreset) found = NULL;
  g_autoptr (GPtrArray) list = NULL;
  const char *labels[] = { "red", "  green ", "", "red", "blue\nsky", "天空", NULL };
  const char *expected[] = { "red", "green", "blue sky", "天空", NULL };
  const char *bad_names[] = { "", "animals", "a/b", ".hidden", "tab\there", " padded" };

  empty_folder (dir);

  saved = siglens_presets_save (dir, "My colours", labels, &error);
  g_assert_no_error (error);
  g_assert_cmpstrv (saved->labels, expected);
  g_assert_cmpstr (saved->language, ==, "zh");
  g_assert_false (saved->builtin);
  /* Saved over a temporary file and a rename: only the set itself is left in the folder. */
  g_assert_cmpuint (count_files (dir), ==, 1);
  file = g_build_filename (dir, "My colours.txt", NULL);
  g_assert_true (g_file_test (file, G_FILE_TEST_IS_REGULAR));

  found = siglens_presets_find (dir, "My colours", &error);
  g_assert_no_error (error);
  g_assert_cmpstrv (found->labels, expected);
  g_clear_pointer (&found, siglens_preset_free);

  /* Saving under the same name replaces the set. */
  g_clear_pointer (&saved, siglens_preset_free);
  saved = siglens_presets_save (dir, "My colours", (const char *[]) { "cyan", NULL }, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (count_files (dir), ==, 1);
  found = siglens_presets_find (dir, "My colours", &error);
  g_assert_cmpstrv (found->labels, ((const char *[]) { "cyan", NULL }));
  g_assert_cmpstr (found->language, ==, "en");
  g_clear_pointer (&found, siglens_preset_free);

  g_clear_pointer (&saved, siglens_preset_free);
  saved = siglens_presets_save (dir, "Zoo", (const char *[]) { "okapi", "tapir", NULL }, &error);
  g_assert_no_error (error);

  /* Listed after the built-ins, by name; a file that is not UTF-8 is skipped. */
  {
    g_autofree char *junk = g_build_filename (dir, "Broken.txt", NULL);
    g_assert_true (g_file_set_contents (junk, "\xff\xfe\x00zz", 5, NULL));
  }
  list = siglens_presets_list (dir);
  g_assert_cmpuint (list->len, ==, 12 + 2);
  g_assert_cmpstr (((SiglensPreset *) g_ptr_array_index (list, 12))->name, ==, "My colours");
  g_assert_cmpstr (((SiglensPreset *) g_ptr_array_index (list, 13))->name, ==, "Zoo");
  g_assert_cmpuint (((SiglensPreset *) g_ptr_array_index (list, 13))->n_labels, ==, 2);
  found = siglens_presets_find (dir, "Broken", &error);
  g_assert_error (error, SIGLENS_PRESETS_ERROR, SIGLENS_PRESETS_ERROR_FORMAT);
  g_assert_null (found);
  g_clear_error (&error);

  for (gsize i = 0; i < G_N_ELEMENTS (bad_names); i++)
    {
      g_autoptr (SiglensPreset) none = siglens_presets_save (dir, bad_names[i], labels, &error);

      g_assert_null (none);
      g_assert_error (error, SIGLENS_PRESETS_ERROR, SIGLENS_PRESETS_ERROR_BAD_NAME);
      g_test_message ("%s", error->message);
      g_clear_error (&error);
    }
  g_assert_null (siglens_presets_save (dir, "Empty", (const char *[]) { " ", "", NULL }, &error));
  g_assert_error (error, SIGLENS_PRESETS_ERROR, SIGLENS_PRESETS_ERROR_EMPTY);
  g_clear_error (&error);

  g_assert_null (siglens_presets_find (dir, "Nobody", &error));
  g_assert_error (error, SIGLENS_PRESETS_ERROR, SIGLENS_PRESETS_ERROR_NOT_FOUND);
  g_clear_error (&error);

  g_assert_true (siglens_presets_delete (dir, "Zoo", &error));
  g_assert_no_error (error);
  g_assert_null (siglens_presets_find (dir, "Zoo", NULL));
}

static char **
cli_env (const char *data_home)
{
  return g_environ_setenv (g_get_environ (), "XDG_DATA_HOME", data_home, TRUE);
}

static void
test_cli (void)
{
  g_autofree char *data_home = test_out_path ("presets-cli-data");
  g_autofree char *sets = g_build_filename (data_home, "siglens", "label-sets", NULL);
  g_autofree char *model_dir = test_data_path (TINY_MODEL);
  g_autofree char *image = test_data_path ("images/chelsea.png");
  g_auto (GStrv) env = cli_env (data_home);
  g_autoptr (SiglensPreset) mine = NULL;
  TestRun run;
  cJSON *json;
  const cJSON *entry;
  guint n = 0;

  empty_folder (sets);
  mine = siglens_presets_save (sets, "Kitchen", (const char *[]) { "kettle", "toaster", NULL },
                               NULL);
  g_assert_nonnull (mine);

  run = test_run_cli (TEST_ARGS ("presets", "--json"), env);
  g_assert_cmpint (run.status, ==, 0);
  json = cJSON_Parse (run.out);
  g_assert_true (cJSON_IsArray (json));
  cJSON_ArrayForEach (entry, json)
    {
      const char *name = cJSON_GetObjectItem (entry, "name")->valuestring;
      int count = test_json_int (entry, "count", -1);
      const char *language = cJSON_GetObjectItem (entry, "language")->valuestring;

      if (g_str_equal (name, "imagenet"))
        g_assert_cmpint (count, ==, 998);
      if (g_str_equal (name, "fruits-zh"))
        g_assert_cmpstr (language, ==, "zh");
      if (g_str_equal (name, "Kitchen"))
        {
          g_assert_cmpint (count, ==, 2);
          g_assert_false (cJSON_IsTrue (cJSON_GetObjectItem (entry, "builtin")));
        }
      n++;
    }
  g_assert_cmpuint (n, ==, 13);
  cJSON_Delete (json);
  test_run_clear (&run);

  /* The readable table: name, count, language. */
  run = test_run_cli (TEST_ARGS ("presets"), env);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_nonnull (strstr (run.out, "cifar10              10  en"));
  g_assert_nonnull (strstr (run.out, "animals-zh           20  zh"));
  g_assert_nonnull (strstr (run.out, "Kitchen               2  en"));
  test_run_clear (&run);

  /* --preset gives the same scores as typing the preset's labels. */
  {
    g_autoptr (SiglensPreset) cifar = siglens_presets_find (NULL, "cifar10", NULL);
    g_autofree char *typed = siglens_preset_dup_text (cifar);
    TestRun by_labels = test_run_cli (TEST_ARGS ("classify", "--model", model_dir, "--labels",
                                                 typed, "--json", image), env);

    run = test_run_cli (TEST_ARGS ("classify", "--model", model_dir, "--preset", "cifar10",
                                   "--json", image), env);
    g_assert_cmpint (run.status, ==, 0);
    g_assert_cmpint (by_labels.status, ==, 0);
    g_assert_cmpstr (run.out, ==, by_labels.out);
    json = cJSON_Parse (run.out);
    g_assert_cmpint (cJSON_GetArraySize (cJSON_GetObjectItem (json, "scores")), ==, 10);
    g_assert_cmpstr (cJSON_GetObjectItem (cJSON_GetArrayItem (cJSON_GetObjectItem (json, "scores"),
                                                              9), "label")->valuestring,
                     ==, "truck");
    cJSON_Delete (json);
    test_run_clear (&run);
    test_run_clear (&by_labels);
  }

  run = test_run_cli (TEST_ARGS ("classify", "--model", model_dir, "--preset", "Kitchen", "--csv", "-",
                                 image), env);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_nonnull (strstr (run.out, ",kettle,"));
  g_assert_nonnull (strstr (run.out, ",toaster,"));
  test_run_clear (&run);

  run = test_run_cli (TEST_ARGS ("classify", "--model", model_dir, "--preset", "no such set",
                                 image), env);
  g_assert_cmpint (run.status, ==, 1);
  g_assert_nonnull (strstr (run.err, "There is no label set “no such set”"));
  test_run_clear (&run);

  run = test_run_cli (TEST_ARGS ("classify", "--model", model_dir, "--preset", "cifar10",
                                 "--labels", "cat", image), env);
  g_assert_cmpint (run.status, ==, 1);
  g_assert_nonnull (strstr (run.err, "choose one of --labels and --preset"));
  test_run_clear (&run);
}

/* A save really killed in the middle of writing: the child runs with a file size limit
 * (RLIMIT_FSIZE) below the new set's size, so the kernel kills it with SIGXFSZ inside the
 * write. The set keeps its old labels whole, the leftover temporary is never listed as a set,
 * and the next save goes through. */
#define KILLED_SAVE_LIMIT 512 /* bytes: the new set below is about 2 KB */

static char **
many_labels (void)
{
  GStrvBuilder *builder = g_strv_builder_new ();
  char **labels;

  for (int i = 0; i < 200; i++)
    {
      g_autofree char *label = g_strdup_printf ("colour number %03d", i);
      g_strv_builder_add (builder, label);
    }
  labels = g_strv_builder_end (builder);
  g_strv_builder_unref (builder);
  return labels;
}

static void
test_killed_mid_save (void)
{
  g_autofree char *dir = test_out_path ("presets-killed");
  g_auto (GStrv) labels = many_labels ();
  g_autoptr (GError) error = NULL;
  g_autoptr (SiglensPreset) saved = NULL;
  g_autoptr (SiglensPreset) found = NULL;
  g_autoptr (GPtrArray) list = NULL;
  const char *old_labels[] = { "red", "green", NULL };
  guint n_user = 0;

  if (g_test_subprocess ())
    {
      struct rlimit fsize = { KILLED_SAVE_LIMIT, KILLED_SAVE_LIMIT }, no_core = { 0, 0 };

      signal (SIGXFSZ, SIG_DFL);
      g_assert_cmpint (setrlimit (RLIMIT_CORE, &no_core), ==, 0);
      g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &fsize), ==, 0);
      siglens_presets_save (dir, "Colours", (const char *const *) labels, NULL);
      g_assert_not_reached ();
    }

  empty_folder (dir);
  saved = siglens_presets_save (dir, "Colours", old_labels, &error);
  g_assert_no_error (error);
  g_clear_pointer (&saved, siglens_preset_free);

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  /* it did die mid-write: the set and a partial temporary beside it */
  g_assert_cmpuint (count_files (dir), ==, 2);

  found = siglens_presets_find (dir, "Colours", &error);
  g_assert_no_error (error);
  g_assert_cmpstrv (found->labels, old_labels);
  list = siglens_presets_list (dir);
  for (guint i = 0; i < list->len; i++)
    {
      SiglensPreset *preset = g_ptr_array_index (list, i);

      if (!preset->builtin)
        {
          g_assert_cmpstr (preset->name, ==, "Colours");
          g_assert_cmpstrv (preset->labels, old_labels);
          n_user++;
        }
    }
  g_assert_cmpuint (n_user, ==, 1);

  saved = siglens_presets_save (dir, "Colours", (const char *const *) labels, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (saved->n_labels, ==, 200);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/presets/builtins-load", test_builtins_load);
  g_test_add_func ("/presets/imagenet", test_imagenet);
  g_test_add_func ("/presets/every-preset-encodes", test_every_preset_encodes);
  g_test_add_func ("/presets/user-sets", test_user_sets);
  g_test_add_func ("/presets/killed-mid-save", test_killed_mid_save);
  g_test_add_func ("/presets/cli", test_cli);

  return g_test_run ();
}
