/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * siglens-cli classify on folders: a tree of fixture images with a note and a broken image in
 * it, walked with and without -r, to JSON lines and CSV, parsed back and compared with the
 * goldens (tolerances as test-cli-classify.c: logits abs 1e-4, probabilities abs 3e-5);
 * labels from a file and from standard input (Chinese labels, a label with a comma); the
 * progress line on a terminal and never into a pipe.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

#include "test-util.h"

static const cJSON *
item (const cJSON *obj, const char *key)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive (obj, key);
  if (!v)
    g_error ("no \"%s\" in the object", key);
  return v;
}

static int
golden_image_index (const char *id)
{
  int i = 0;
  const cJSON *c;
  cJSON_ArrayForEach (c, item (test_manifest_model ("tiny-siglip2-naflex"), "images"))
    {
      if (g_str_equal (item (c, "image")->valuestring, id))
        return i;
      i++;
    }
  g_error ("no image %s in the goldens", id);
  return -1;
}

/* The golden label set (manifest texts 0..5) in order. */
static const char *const golden_labels[] = { "cat", "dog", "a red car", "coffee", "一只猫",
                                             "rocket ship" };
#define N_GOLDEN 6

typedef struct {
  char *root;
  char *top;      /* root/chelsea.png */
  char *sub;      /* root/sub/tall_150x900.png */
  char *deeper;   /* root/sub/deeper/rgba_256x320.png */
  char *broken;   /* root/sub/broken.png: a PNG cut short */
  char *note;     /* root/notes.txt */
} Tree;

static void
copy_file (const char *from_rel, const char *to)
{
  g_autofree char *from = test_data_path (from_rel);
  g_autofree char *data = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (from, &data, &len, NULL));
  g_assert_true (g_file_set_contents (to, data, (gssize) len, NULL));
}

static Tree
make_tree (void)
{
  Tree t;
  g_autofree char *marker = test_out_path ("cli-batch/tree/x");
  t.root = g_path_get_dirname (marker);
  t.top = g_build_filename (t.root, "chelsea.png", NULL);
  t.sub = g_build_filename (t.root, "sub", "tall_150x900.png", NULL);
  t.deeper = g_build_filename (t.root, "sub", "deeper", "rgba_256x320.png", NULL);
  t.broken = g_build_filename (t.root, "sub", "broken.png", NULL);
  t.note = g_build_filename (t.root, "notes.txt", NULL);
  g_autofree char *deeper_dir = g_path_get_dirname (t.deeper);
  g_assert_cmpint (g_mkdir_with_parents (deeper_dir, 0755), ==, 0);
  copy_file ("images/chelsea.png", t.top);
  copy_file ("images/tall_150x900.png", t.sub);
  copy_file ("images/rgba_256x320.png", t.deeper);
  g_autofree char *coffee = test_data_path ("images/coffee.png");
  g_autofree char *data = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (coffee, &data, &len, NULL));
  g_assert_true (g_file_set_contents (t.broken, data, 600, NULL));
  g_assert_true (g_file_set_contents (t.note, "the photos of the class trip\n", -1, NULL));
  return t;
}

static void
tree_clear (Tree *t)
{
  g_free (t->root);
  g_free (t->top);
  g_free (t->sub);
  g_free (t->deeper);
  g_free (t->broken);
  g_free (t->note);
}

/* Checks `scores` (labels in `order`, indices into golden_labels) against the goldens. */
static void
assert_golden_scores (const char *image_id, const int *order, int n, const float *logits,
                      const float *probs)
{
  const cJSON *m = test_manifest_model ("tiny-siglip2-naflex");
  g_autofree float *golden_logits = test_golden_f32 (item (m, "logits_per_image"), NULL);
  g_autofree float *golden_probs = test_golden_f32 (item (m, "probs"), NULL);
  const int idx = golden_image_index (image_id);
  for (int i = 0; i < n; i++)
    {
      /* the default template: golden columns 6..11 */
      const int col = idx * 12 + 6 + order[i];
      g_autofree char *what = g_strdup_printf ("%s / %s", image_id, golden_labels[order[i]]);
      test_assert_close (what, &logits[i], &golden_logits[col], 1, 1e-4, 0);
      test_assert_close (what, &probs[i], &golden_probs[col], 1, 3e-5, 0);
    }
}

static const char *
image_id_of (const Tree *t, const char *path)
{
  if (!strcmp (path, t->top))
    return "chelsea";
  if (!strcmp (path, t->sub))
    return "tall_150x900";
  if (!strcmp (path, t->deeper))
    return "rgba_256x320";
  g_error ("unexpected image %s", path);
  return NULL;
}

/* RFC 4180 fields of one record starting at *p; advances *p past the record. */
static GPtrArray *
csv_record (const char **p)
{
  GPtrArray *fields = g_ptr_array_new_with_free_func (g_free);
  GString *f = g_string_new (NULL);
  const char *s = *p;
  gboolean quoted = FALSE;
  for (;; s++)
    {
      if (quoted)
        {
          if (*s == '"' && s[1] == '"')
            g_string_append_c (f, *s++);
          else if (*s == '"')
            quoted = FALSE;
          else
            {
              g_assert_true (*s);
              g_string_append_c (f, *s);
            }
        }
      else if (*s == '"')
        quoted = TRUE;
      else if (*s == ',' || *s == '\n' || *s == '\0')
        {
          g_ptr_array_add (fields, g_string_free (f, FALSE));
          f = g_string_new (NULL);
          if (*s != ',')
            break;
        }
      else
        g_string_append_c (f, *s);
    }
  g_string_free (f, TRUE);
  *p = *s ? s + 1 : s;
  return fields;
}

static const char *
field (GPtrArray *r, guint i)
{
  g_assert_cmpuint (i, <, r->len);
  return g_ptr_array_index (r, i);
}

static void
test_folder_recursive (void)
{
  Tree t = make_tree ();
  g_autofree char *model = test_data_path ("tiny-siglip2-naflex");
  g_autofree char *csv_path = test_out_path ("cli-batch/tree.csv");
  g_unlink (csv_path);
  const char *args[] = { "classify", "--model", model, "--labels",
                         "cat, dog, a red car, coffee, 一只猫, rocket ship", "-r", "--json",
                         "--csv", csv_path, t.root, NULL };
  TestRun r = test_run_cli (args, NULL);
  /* the broken image is a real failure: exit 1, with the summary naming it */
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "notes.txt: not an image, skipped"));
  g_assert_nonnull (strstr (r.err, "1 file skipped"));
  g_assert_nonnull (strstr (r.err, "1 of 4 images failed"));
  g_assert_nonnull (strstr (r.err, "broken.png"));
  /* never a progress line into a pipe */
  g_assert_null (strstr (r.err, "images/s"));
  g_assert_null (strstr (r.err, "\r"));

  /* JSON lines: one per image in name order, the broken one with its reason */
  g_auto (GStrv) lines = g_strsplit (g_strchomp (r.out), "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 4);
  const char *expected_order[] = { t.top, t.broken, t.deeper, t.sub };
  const int identity[N_GOLDEN] = { 0, 1, 2, 3, 4, 5 };
  for (int i = 0; i < 4; i++)
    {
      cJSON *o = cJSON_Parse (lines[i]);
      g_assert_nonnull (o);
      const char *image = item (o, "image")->valuestring;
      g_assert_cmpstr (image, ==, expected_order[i]);
      if (!strcmp (image, t.broken))
        {
          g_assert_nonnull (strstr (item (o, "error")->valuestring, "broken.png"));
          g_assert_null (cJSON_GetObjectItem (o, "scores"));
          cJSON_Delete (o);
          continue;
        }
      const cJSON *scores = item (o, "scores");
      g_assert_cmpint (cJSON_GetArraySize (scores), ==, N_GOLDEN);
      float logits[N_GOLDEN], probs[N_GOLDEN];
      for (int k = 0; k < N_GOLDEN; k++)
        {
          const cJSON *s = cJSON_GetArrayItem (scores, k);
          g_assert_cmpstr (item (s, "label")->valuestring, ==, golden_labels[k]);
          logits[k] = (float) item (s, "logit")->valuedouble;
          probs[k] = (float) item (s, "probability")->valuedouble;
        }
      assert_golden_scores (image_id_of (&t, image), identity, N_GOLDEN, logits, probs);
      cJSON_Delete (o);
    }
  test_run_clear (&r);

  /* CSV: a header, 3 images x 6 labels, one row for the broken image, metadata on every row */
  g_autofree char *csv = NULL;
  g_assert_true (g_file_get_contents (csv_path, &csv, NULL, NULL));
  const char *p = csv;
  g_autoptr (GPtrArray) header = csv_record (&p);
  const char *columns[] = { "image", "label", "logit", "probability", "error", "model",
                            "precision", "max_patches", "template" };
  g_assert_cmpuint (header->len, ==, G_N_ELEMENTS (columns));
  for (guint i = 0; i < G_N_ELEMENTS (columns); i++)
    g_assert_cmpstr (field (header, i), ==, columns[i]);
  int rows = 0, error_rows = 0;
  GHashTable *seen = g_hash_table_new (g_str_hash, g_str_equal);
  while (*p)
    {
      g_autoptr (GPtrArray) rec = csv_record (&p);
      g_assert_cmpuint (rec->len, ==, G_N_ELEMENTS (columns));
      g_assert_cmpstr (field (rec, 5), ==, model);
      g_assert_cmpstr (field (rec, 6), ==, "fp32");
      g_assert_cmpstr (field (rec, 7), ==, "256");
      g_assert_cmpstr (field (rec, 8), ==, "This is a photo of {}.");
      if (!strcmp (field (rec, 0), t.broken))
        {
          g_assert_cmpstr (field (rec, 1), ==, "");
          g_assert_nonnull (strstr (field (rec, 4), "truncated"));
          error_rows++;
          continue;
        }
      g_assert_cmpstr (field (rec, 4), ==, "");
      int k = 0;
      while (k < N_GOLDEN && strcmp (golden_labels[k], field (rec, 1)))
        k++;
      g_assert_cmpint (k, <, N_GOLDEN);
      const float logit = (float) g_ascii_strtod (field (rec, 2), NULL);
      const float prob = (float) g_ascii_strtod (field (rec, 3), NULL);
      assert_golden_scores (image_id_of (&t, field (rec, 0)), &k, 1, &logit, &prob);
      g_hash_table_add (seen, g_strdup_printf ("%s|%d", field (rec, 0), k));
      rows++;
    }
  g_assert_cmpint (rows, ==, 3 * N_GOLDEN);
  g_assert_cmpint (error_rows, ==, 1);
  g_assert_cmpuint (g_hash_table_size (seen), ==, 3 * N_GOLDEN); /* each pair once */
  GList *keys = g_hash_table_get_keys (seen);
  g_list_free_full (keys, g_free);
  g_hash_table_destroy (seen);
  tree_clear (&t);
}

static void
test_folder_flat (void)
{
  Tree t = make_tree ();
  g_autofree char *model = test_data_path ("tiny-siglip2-naflex");
  /* without -r only the folder's own files; nothing failed, so exit 0 despite the note */
  const char *args[] = { "classify", "--model", model, "--labels", "cat", "--csv", "-", t.root,
                         NULL };
  TestRun r = test_run_cli (args, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.err, "notes.txt: not an image, skipped"));
  g_auto (GStrv) lines = g_strsplit (g_strchomp (r.out), "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 2);
  g_autofree char *prefix = g_strdup_printf ("%s,cat,", t.top);
  g_assert_true (g_str_has_prefix (lines[1], prefix));
  test_run_clear (&r);

  /* a folder holding no image at all is an error said as such */
  g_autofree char *empty = test_out_path ("cli-batch/empty/x");
  g_autofree char *empty_dir = g_path_get_dirname (empty);
  g_autofree char *txt = g_build_filename (empty_dir, "readme.txt", NULL);
  g_assert_true (g_file_set_contents (txt, "nothing here", -1, NULL));
  const char *none[] = { "classify", "--model", model, "--labels", "cat", empty_dir, NULL };
  r = test_run_cli (none, NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "no images found"));
  test_run_clear (&r);
  tree_clear (&t);
}

/* Runs the CLI with `input` on its standard input. */
static TestRun
run_with_stdin (const char *const *args, const char *input)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) g_getenv ("SIGLENS_CLI"));
  for (; *args; args++)
    g_ptr_array_add (argv, (gpointer) *args);
  g_ptr_array_add (argv, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) proc = g_subprocess_newv (
    (const char *const *) argv->pdata,
    G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE
      | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_assert_no_error (error);
  TestRun run = { 0 };
  g_subprocess_communicate_utf8 (proc, input, NULL, &run.out, &run.err, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (proc));
  run.status = g_subprocess_get_exit_status (proc);
  g_test_message ("exit %d\nstdout: %s\nstderr: %s", run.status, run.out, run.err);
  return run;
}

static void
check_labels_file_output (const char *out, const char *image)
{
  cJSON *o = cJSON_Parse (out);
  g_assert_nonnull (o);
  g_assert_cmpstr (item (o, "image")->valuestring, ==, image);
  const cJSON *scores = item (o, "scores");
  /* file order: 一只猫, rocket ship, cat, then the comma label kept whole */
  g_assert_cmpint (cJSON_GetArraySize (scores), ==, 4);
  const char *want[] = { "一只猫", "rocket ship", "cat", "猫, 在沙发上" };
  for (int k = 0; k < 4; k++)
    g_assert_cmpstr (item (cJSON_GetArrayItem (scores, k), "label")->valuestring, ==, want[k]);
  const int order[] = { 4, 5, 0 };
  float logits[3], probs[3];
  for (int k = 0; k < 3; k++)
    {
      const cJSON *s = cJSON_GetArrayItem (scores, k);
      logits[k] = (float) item (s, "logit")->valuedouble;
      probs[k] = (float) item (s, "probability")->valuedouble;
    }
  assert_golden_scores ("chelsea", order, 3, logits, probs);
  cJSON_Delete (o);
}

static void
test_labels_file (void)
{
  g_autofree char *model = test_data_path ("tiny-siglip2-naflex");
  g_autofree char *image = test_data_path ("images/chelsea.png");
  g_autofree char *file = test_out_path ("cli-batch/labels.txt");
  /* a BOM, CRLF, blank lines, surrounding spaces, a duplicate and a comma inside a label */
  const char *text = "\xEF\xBB\xBF一只猫\r\n  rocket ship  \n\ncat\n一只猫\n猫, 在沙发上\n";
  g_assert_true (g_file_set_contents (file, text, -1, NULL));
  const char *args[] = { "classify", "--model", model, "--labels-file", file, "--json", image,
                         NULL };
  TestRun r = test_run_cli (args, NULL);
  g_assert_cmpint (r.status, ==, 0);
  check_labels_file_output (r.out, image);
  test_run_clear (&r);

  const char *from_stdin[] = { "classify", "--model", model, "--labels-file", "-", "--json",
                               image, NULL };
  r = run_with_stdin (from_stdin, text);
  g_assert_cmpint (r.status, ==, 0);
  check_labels_file_output (r.out, image);
  test_run_clear (&r);

  /* bad files are named */
  g_autofree char *bad = test_out_path ("cli-batch/bad-labels.txt");
  g_assert_true (g_file_set_contents (bad, "cat\n\xff\xfe dog\n", -1, NULL));
  const char *bad_args[] = { "classify", "--model", model, "--labels-file", bad, image, NULL };
  r = test_run_cli (bad_args, NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "line 2 is not valid UTF-8"));
  test_run_clear (&r);
  g_autofree char *blank = test_out_path ("cli-batch/blank-labels.txt");
  g_assert_true (g_file_set_contents (blank, "\n  \n", -1, NULL));
  const char *blank_args[] = { "classify", "--model", model, "--labels-file", blank, image,
                               NULL };
  r = test_run_cli (blank_args, NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "no labels in it"));
  test_run_clear (&r);
  const char *missing_args[] = { "classify", "--model", model, "--labels-file",
                                 "/nonexistent/labels.txt", image, NULL };
  r = test_run_cli (missing_args, NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "/nonexistent/labels.txt"));
  test_run_clear (&r);
}

/* On a terminal the progress line appears, with a rate and an ETA. */
static void
test_progress_on_terminal (void)
{
  Tree t = make_tree ();
  g_autofree char *model = test_data_path ("tiny-siglip2-naflex");
  TestRun r = test_run_cli_on_terminal (TEST_ARGS ("classify", "--model", model, "--labels",
                                                   "cat, dog", "-r", "--json", t.root),
                                        NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "images/s"));
  g_assert_nonnull (strstr (r.err, "ETA"));
  g_assert_nonnull (strstr (r.err, "/4"));
  g_assert_nonnull (strstr (r.err, "1 of 4 images failed"));
  test_run_clear (&r);
  tree_clear (&t);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cli-batch/folder-recursive", test_folder_recursive);
  g_test_add_func ("/cli-batch/folder-flat", test_folder_flat);
  g_test_add_func ("/cli-batch/labels-file", test_labels_file);
  g_test_add_func ("/cli-batch/progress-on-terminal", test_progress_on_terminal);
  return g_test_run ();
}
