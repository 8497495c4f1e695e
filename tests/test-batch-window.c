/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Many images in the real window, with the tiny fixture model: a folder dropped on the image
 * area fills the grid with the goldens' best labels (a broken image says why in its cell, a
 * note is skipped), a click opens an image's full chart and Back returns, new labels re-score
 * without the vision tower, Export writes a CSV that parses back to the goldens, Copy puts the
 * chart on the clipboard as text and as a PNG, and Cancel midway leaves every cell either
 * scored or saying it was not classified.
 *
 * Goldens: tests/data/golden/manifest.json, model tiny-siglip2-naflex, probs[image][text] where
 * texts 6..11 are the six labels with the default template (tolerance: probs_abs 3e-5).
 */
#include <adwaita.h>
#include <glib/gstdio.h>
#include <math.h>

#include "siglens-application.h"
#include "siglens-preferences-window.h"
#include "siglens-window.h"
#include "test-util.h"
#include "test-window-util.h"

#define GOLDEN_MODEL "tiny-siglip2-naflex"
#define LABELS       "cat, dog, a red car, coffee, 一只猫, rocket ship"
#define N_LABELS     6
#define FIRST_TEXT   6
#define PROBS_ABS    3e-5

static SiglensApplication *application;

static gboolean
batch_finished (SiglensWindow *window)
{
  SiglensBatchView *view = siglens_window_get_batch_view (window);

  return !siglens_batch_view_get_running (view)
         && !siglens_classifier_get_busy (siglens_window_get_classifier (window));
}

static gboolean
chart_allocated (SiglensWindow *window)
{
  return gtk_widget_get_width (GTK_WIDGET (siglens_batch_view_get_chart (
           siglens_window_get_batch_view (window)))) > 0;
}

/* Drops `files` on the image area through its own drop target, as a file manager does. */
static void
drop_files (SiglensWindow *window, GFile **files, gsize n)
{
  GtkWidget *area = gtk_widget_get_parent (GTK_WIDGET (siglens_window_get_batch_view (window)));
  g_autoptr (GListModel) controllers = gtk_widget_observe_controllers (area);
  GdkFileList *list = gdk_file_list_new_from_array (files, n);
  GValue value = G_VALUE_INIT;
  gboolean accepted = FALSE, found = FALSE;

  g_value_init (&value, GDK_TYPE_FILE_LIST);
  g_value_take_boxed (&value, list);
  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr (GObject) controller = g_list_model_get_item (controllers, i);

      if (GTK_IS_DROP_TARGET (controller))
        {
          g_signal_emit_by_name (controller, "drop", &value, 10.0, 10.0, &accepted);
          found = TRUE;
        }
    }
  g_value_unset (&value);
  g_assert_true (found);
  g_assert_true (accepted);
}

static int
manifest_image_index (const char *id)
{
  const cJSON *images = cJSON_GetObjectItem (test_manifest (), "images");
  int i = 0;
  const cJSON *image;

  cJSON_ArrayForEach (image, images)
    {
      if (g_strcmp0 (cJSON_GetStringValue (cJSON_GetObjectItem (image, "id")), id) == 0)
        return i;
      i++;
    }
  g_error ("image %s not in the manifest", id);
}

/* The golden probability of `label` (one of the six) for `image_id`. */
static double
golden_prob (const char *image_id, const char *label)
{
  const cJSON *model = test_manifest_model (GOLDEN_MODEL);
  const cJSON *texts = cJSON_GetObjectItem (model, "texts");
  const cJSON *row = cJSON_GetArrayItem (cJSON_GetObjectItem (cJSON_GetObjectItem (model, "probs"),
                                                              "values"),
                                         manifest_image_index (image_id));

  for (int t = FIRST_TEXT; t < FIRST_TEXT + N_LABELS; t++)
    {
      const cJSON *text = cJSON_GetArrayItem (texts, t);

      if (g_strcmp0 (cJSON_GetStringValue (cJSON_GetObjectItem (text, "label")), label) == 0)
        return cJSON_GetArrayItem (row, t)->valuedouble;
    }
  g_error ("no golden for %s", label);
}

/* The label with the highest golden probability among `labels`. */
static const char *
golden_best (const char *image_id, const char *const *labels)
{
  const char *best = NULL;
  double best_p = -1;

  for (int i = 0; labels[i]; i++)
    if (golden_prob (image_id, labels[i]) > best_p)
      {
        best_p = golden_prob (image_id, labels[i]);
        best = labels[i];
      }
  return best;
}

static const char *const six[] = { "cat", "dog", "a red car", "coffee", "一只猫", "rocket ship",
                                   NULL };

typedef struct {
  char *root;
  char *paths[4];            /* in the grid's order */
  const char *ids[4];        /* golden image id, NULL for the broken one */
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
  g_autofree char *marker = test_out_path ("batch-window/tree/sub/x");
  g_autofree char *coffee = test_data_path ("images/coffee.png");
  g_autofree char *data = NULL;
  g_autofree char *note = NULL;
  gsize len;
  Tree t;

  t.root = g_build_filename (g_getenv ("SIGLENS_TEST_OUT"), "batch-window", "tree", NULL);
  t.paths[0] = g_build_filename (t.root, "chelsea.png", NULL);
  t.paths[1] = g_build_filename (t.root, "sub", "broken.png", NULL);
  t.paths[2] = g_build_filename (t.root, "sub", "rgba_256x320.png", NULL);
  t.paths[3] = g_build_filename (t.root, "sub", "tall_150x900.png", NULL);
  t.ids[0] = "chelsea";
  t.ids[1] = NULL;
  t.ids[2] = "rgba_256x320";
  t.ids[3] = "tall_150x900";
  copy_file ("images/chelsea.png", t.paths[0]);
  copy_file ("images/rgba_256x320.png", t.paths[2]);
  copy_file ("images/tall_150x900.png", t.paths[3]);
  g_assert_true (g_file_get_contents (coffee, &data, &len, NULL));
  g_assert_true (g_file_set_contents (t.paths[1], data, 600, NULL)); /* a PNG cut short */
  note = g_build_filename (t.root, "notes.txt", NULL);
  g_assert_true (g_file_set_contents (note, "the class trip\n", -1, NULL));
  return t;
}

static void
tree_clear (Tree *t)
{
  g_free (t->root);
  for (int i = 0; i < 4; i++)
    g_free (t->paths[i]);
}

/* Every GtkLabel text under `widget`, for what the cells really show. */
static void
collect_labels (GtkWidget *widget, GString *out)
{
  if (GTK_IS_LABEL (widget))
    {
      g_string_append (out, gtk_label_get_label (GTK_LABEL (widget)));
      g_string_append_c (out, '\n');
    }
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c; c = gtk_widget_get_next_sibling (c))
    collect_labels (c, out);
}

static void
assert_item_scores (SiglensBatchItem *item, const char *image_id, const char *const *labels)
{
  SiglensScores *scores = siglens_batch_item_get_scores (item);

  g_assert_cmpint (siglens_batch_item_get_state (item), ==, SIGLENS_BATCH_ITEM_DONE);
  g_assert_nonnull (scores);
  g_assert_cmpuint (scores->n, ==, g_strv_length ((char **) labels));
  for (guint i = 0; i < scores->n; i++)
    {
      g_assert_cmpstr (scores->labels[i], ==, labels[i]);
      g_assert_cmpfloat_with_epsilon (scores->probabilities[i],
                                      golden_prob (image_id, labels[i]), PROBS_ABS);
    }
}

/* RFC 4180 records of `text`; fields unquoted. */
static GPtrArray *
parse_csv (const char *text)
{
  GPtrArray *rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
  const char *s = text;

  while (*s)
    {
      GPtrArray *fields = g_ptr_array_new_with_free_func (g_free);
      GString *f = g_string_new (NULL);
      gboolean quoted = FALSE;

      for (;; s++)
        {
          if (quoted && *s == '"' && s[1] == '"')
            g_string_append_c (f, *s++);
          else if (*s == '"')
            quoted = !quoted;
          else if (!quoted && (*s == ',' || *s == '\n' || *s == '\0'))
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
      g_ptr_array_add (rows, fields);
      if (*s)
        s++;
    }
  return rows;
}

static void
on_text_read (GObject *source, GAsyncResult *result, gpointer data)
{
  char **out = data;
  g_autoptr (GError) error = NULL;

  *out = gdk_clipboard_read_text_finish (GDK_CLIPBOARD (source), result, &error);
  g_assert_no_error (error);
}

static void
test_folder (void)
{
  SiglensWindow *window = test_window_new (application, GOLDEN_MODEL);
  SiglensBatchView *view = siglens_window_get_batch_view (window);
  SiglensClassifier *classifier = siglens_window_get_classifier (window);
  Tree t = make_tree ();
  g_autoptr (GFile) folder = g_file_new_for_path (t.root);
  GListModel *items;
  g_autoptr (GString) shown = g_string_new (NULL);
  guint encoded;

  test_window_type_labels (window, LABELS);
  drop_files (window, &folder, 1);
  test_window_wait_for (batch_finished, window, "the folder");

  /* The grid: four images in name order (the note left out), each with the golden best label
   * or, for the broken one, why. */
  items = siglens_batch_view_get_items (view);
  g_assert_cmpuint (g_list_model_get_n_items (items), ==, 4);
  g_assert_cmpuint (siglens_batch_view_get_n_done (view), ==, 4);
  g_assert_cmpuint (siglens_batch_view_get_n_skipped (view), ==, 1);
  g_test_message ("progress: %s", siglens_batch_view_get_progress_text (view));
  g_assert_nonnull (strstr (siglens_batch_view_get_progress_text (view), "4 images"));
  g_assert_nonnull (strstr (siglens_batch_view_get_progress_text (view), "1 could not be read"));
  /* the cells as drawn, after a frame */
  test_window_wait_for (batch_finished, window, "a frame");
  while (g_main_context_pending (NULL))
    g_main_context_iteration (NULL, FALSE);
  collect_labels (GTK_WIDGET (siglens_batch_view_get_grid (view)), shown);
  g_test_message ("cells:\n%s", shown->str);
  for (guint i = 0; i < 4; i++)
    {
      g_autoptr (SiglensBatchItem) item = g_list_model_get_item (items, i);
      g_autofree char *summary = siglens_batch_item_dup_summary (item);

      g_assert_cmpstr (siglens_batch_item_get_path (item), ==, t.paths[i]);
      g_assert_nonnull (strstr (shown->str, summary));
      if (t.ids[i] == NULL)
        {
          g_assert_cmpint (siglens_batch_item_get_state (item), ==, SIGLENS_BATCH_ITEM_FAILED);
          g_assert_nonnull (strstr (siglens_batch_item_get_error (item), "broken.png"));
          continue;
        }
      assert_item_scores (item, t.ids[i], six);
      g_assert_true (g_str_has_prefix (summary, golden_best (t.ids[i], six)));
      g_assert_nonnull (siglens_batch_item_get_thumbnail (item));
    }
  encoded = siglens_classifier_get_n_images_encoded (classifier);
  g_assert_cmpuint (encoded, ==, 3);

  /* A click into one: its full chart, best first, then back to the grid. */
  g_signal_emit_by_name (siglens_batch_view_get_grid (view), "activate", 0);
  g_assert_cmpstr (siglens_batch_view_get_page (view), ==, "detail");
  {
    SiglensScoreChart *chart = siglens_batch_view_get_chart (view);
    double previous = INFINITY;

    g_assert_cmpuint (siglens_score_chart_get_n_bars (chart), ==, N_LABELS);
    for (guint i = 0; i < N_LABELS; i++)
      {
        double golden = golden_prob ("chelsea", siglens_score_chart_get_label (chart, i));

        g_assert_cmpfloat_with_epsilon (siglens_score_chart_get_probability (chart, i), golden,
                                        PROBS_ABS);
        g_assert_cmpfloat (golden, <, previous);
        previous = golden;
      }
  }

  /* Copy: the chart as text, a label and its percentage per line, and as a picture. */
  {
    GdkClipboard *clipboard = gtk_widget_get_clipboard (GTK_WIDGET (window));
    SiglensScoreChart *chart = siglens_batch_view_get_chart (view);
    g_autofree char *text = NULL;
    g_auto (GStrv) lines = NULL;

    test_window_wait_for (chart_allocated, window, "the chart laid out");
    g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.copy-results", NULL));
    {
      g_autofree char *formats = gdk_content_formats_to_string (gdk_clipboard_get_formats (clipboard));

      g_test_message ("clipboard offers %s", formats);
    }
    /* a picture (GDK serializes a texture as image/png) and text */
    g_assert_true (gdk_content_formats_contain_gtype (gdk_clipboard_get_formats (clipboard),
                                                      GDK_TYPE_TEXTURE));
    g_assert_true (gdk_content_formats_contain_mime_type (gdk_clipboard_get_formats (clipboard),
                                                          "image/png"));
    gdk_clipboard_read_text_async (clipboard, NULL, on_text_read, &text);
    while (text == NULL)
      g_main_context_iteration (NULL, TRUE);
    g_test_message ("copied:\n%s", text);
    lines = g_strsplit (g_strchomp (text), "\n", -1);
    g_assert_cmpuint (g_strv_length (lines), ==, N_LABELS);
    for (guint i = 0; i < N_LABELS; i++)
      {
        g_autofree char *want =
          g_strdup_printf ("%s: %d%%", siglens_score_chart_get_label (chart, i),
                           (int) floor (golden_prob ("chelsea",
                                                     siglens_score_chart_get_label (chart, i))
                                        * 100 + 0.5));
        g_assert_cmpstr (lines[i], ==, want);
      }
  }
  siglens_batch_view_show_grid (view);
  g_assert_cmpstr (siglens_batch_view_get_page (view), ==, "grid");

  /* New labels: every image re-scored from its embedding, the vision tower idle. */
  test_window_type_labels (window, "rocket ship, cat, coffee");
  test_window_wait_for (batch_finished, window, "the new scores");
  g_assert_cmpuint (siglens_classifier_get_n_images_encoded (classifier), ==, encoded);
  {
    const char *const three[] = { "rocket ship", "cat", "coffee", NULL };

    for (guint i = 0; i < 4; i++)
      {
        g_autoptr (SiglensBatchItem) item = g_list_model_get_item (items, i);

        if (t.ids[i] != NULL)
          assert_item_scores (item, t.ids[i], three);
        else
          g_assert_cmpint (siglens_batch_item_get_state (item), ==, SIGLENS_BATCH_ITEM_FAILED);
      }
  }

  /* Export: CSV, parsed back to the goldens, with the model, budget and template on each row. */
  {
    g_autoptr (SiglensResultsTable) table = siglens_window_collect_results (window);
    g_autofree char *csv_path = test_out_path ("batch-window/results.csv");
    g_autoptr (GFile) csv_file = g_file_new_for_path (csv_path);
    g_autoptr (GError) error = NULL;
    g_autofree char *csv = NULL;
    g_autoptr (GPtrArray) rows = NULL;
    g_autofree char *model = test_data_path (GOLDEN_MODEL);
    guint scored = 0, failed = 0;

    g_assert_nonnull (table);
    g_assert_true (siglens_results_table_save (table, csv_file, &error));
    g_assert_no_error (error);
    g_assert_true (g_file_get_contents (csv_path, &csv, NULL, NULL));
    rows = parse_csv (csv);
    g_assert_cmpuint (rows->len, ==, 1 + 3 * 3 + 1);
    {
      GPtrArray *header = g_ptr_array_index (rows, 0);

      g_assert_cmpstr (g_ptr_array_index (header, 0), ==, "image");
      g_assert_cmpstr (g_ptr_array_index (header, 3), ==, "probability");
      g_assert_cmpstr (g_ptr_array_index (header, 8), ==, "template");
    }
    for (guint r = 1; r < rows->len; r++)
      {
        GPtrArray *f = g_ptr_array_index (rows, r);
        const char *image = g_ptr_array_index (f, 0);
        const char *id = NULL;

        g_assert_cmpuint (f->len, ==, 9);
        g_assert_cmpstr (g_ptr_array_index (f, 5), ==, model);
        g_assert_cmpstr (g_ptr_array_index (f, 6), ==, "fp32");
        g_assert_cmpstr (g_ptr_array_index (f, 7), ==, "256");
        g_assert_cmpstr (g_ptr_array_index (f, 8), ==, "This is a photo of {}.");
        for (int i = 0; i < 4; i++)
          if (g_strcmp0 (image, t.paths[i]) == 0)
            id = t.ids[i] ? t.ids[i] : "broken";
        g_assert_nonnull (id);
        if (g_str_equal (id, "broken"))
          {
            g_assert_nonnull (strstr (g_ptr_array_index (f, 4), "broken.png"));
            failed++;
            continue;
          }
        g_assert_cmpfloat_with_epsilon (g_ascii_strtod (g_ptr_array_index (f, 3), NULL),
                                        golden_prob (id, g_ptr_array_index (f, 1)), PROBS_ABS);
        scored++;
      }
    g_assert_cmpuint (scored, ==, 9);
    g_assert_cmpuint (failed, ==, 1);
  }

  tree_clear (&t);
  test_window_close (window);
}

static void
on_first_result (SiglensBatchView *view, GParamSpec *pspec, gpointer data)
{
  if (siglens_batch_view_get_n_done (view) >= 1 && siglens_batch_view_get_running (view))
    siglens_batch_view_cancel (view);
}

static void
test_cancel_midway (void)
{
  SiglensWindow *window = test_window_new (application, GOLDEN_MODEL);
  SiglensBatchView *view = siglens_window_get_batch_view (window);
  SiglensClassifier *classifier = siglens_window_get_classifier (window);
  g_autofree char *marker = test_out_path ("batch-window/many/x");
  g_autofree char *dir = g_path_get_dirname (marker);
  g_autofree char *large = test_data_path ("images/large_3000x2000.jpg");
  GFile *files[40];
  GListModel *items;
  guint n_done = 0, n_stopped = 0, encoded_at_stop;
  gulong handler;

  for (int i = 0; i < 40; i++)
    {
      g_autofree char *name = g_strdup_printf ("photo-%02d.jpg", i);
      g_autofree char *path = g_build_filename (dir, name, NULL);

      copy_file ("images/large_3000x2000.jpg", path);
      files[i] = g_file_new_for_path (path);
    }
  test_window_type_labels (window, "cat, dog");
  handler = g_signal_connect (view, "notify::n-done", G_CALLBACK (on_first_result), NULL);
  drop_files (window, files, 40);
  test_window_wait_for (batch_finished, window, "the cancelled run");
  g_signal_handler_disconnect (view, handler);

  /* Every cell is one or the other, and the counts agree with what is shown. */
  items = siglens_batch_view_get_items (view);
  g_assert_cmpuint (g_list_model_get_n_items (items), ==, 40);
  for (guint i = 0; i < 40; i++)
    {
      g_autoptr (SiglensBatchItem) item = g_list_model_get_item (items, i);
      SiglensBatchItemState state = siglens_batch_item_get_state (item);
      g_autofree char *summary = siglens_batch_item_dup_summary (item);

      g_assert_true (state == SIGLENS_BATCH_ITEM_DONE || state == SIGLENS_BATCH_ITEM_STOPPED);
      if (state == SIGLENS_BATCH_ITEM_DONE)
        {
          g_assert_nonnull (siglens_batch_item_get_scores (item));
          n_done++;
        }
      else
        {
          g_assert_null (siglens_batch_item_get_scores (item));
          g_assert_cmpstr (summary, ==, "Not classified");
          n_stopped++;
        }
    }
  g_test_message ("done %u, stopped %u: %s", n_done, n_stopped,
                  siglens_batch_view_get_progress_text (view));
  g_assert_cmpuint (n_done, ==, siglens_batch_view_get_n_done (view));
  g_assert_cmpuint (n_done, >=, 1);
  g_assert_cmpuint (n_stopped, >, 0);
  {
    g_autofree char *want = g_strdup_printf ("Stopped: %u of 40 done", n_done);

    g_assert_cmpstr (siglens_batch_view_get_progress_text (view), ==, want);
  }

  /* Going on (new labels) finishes the rest; no image goes through the vision tower twice: the
   * done ones are scored from their embeddings, and only the stopped ones are encoded. (How
   * many encodes the cancel itself cut short or threw away depends on how far the worker ran
   * ahead of the window, so it is counted from here, not from the start.) */
  encoded_at_stop = siglens_classifier_get_n_images_encoded (classifier);
  g_test_message ("vision tower runs until the cancel: %u, for %u images done",
                  encoded_at_stop, n_done);
  test_window_type_labels (window, "cat, dog, a red car");
  test_window_wait_for (batch_finished, window, "the rest");
  g_assert_cmpuint (siglens_batch_view_get_n_done (view), ==, 40);
  for (guint i = 0; i < 40; i++)
    {
      g_autoptr (SiglensBatchItem) item = g_list_model_get_item (items, i);

      g_assert_cmpint (siglens_batch_item_get_state (item), ==, SIGLENS_BATCH_ITEM_DONE);
      g_assert_cmpuint (siglens_batch_item_get_scores (item)->n, ==, 3);
    }
  g_assert_cmpuint (siglens_classifier_get_n_images_encoded (classifier) - encoded_at_stop, ==,
                    n_stopped);

  for (int i = 0; i < 40; i++)
    g_object_unref (files[i]);
  test_window_close (window);
}

static guint
count_cache_entries (void)
{
  g_autofree char *dir = g_build_filename (g_getenv ("XDG_CACHE_HOME"), "siglens", "labels",
                                           NULL);
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  guint n = 0;

  while (d != NULL && (name = g_dir_read_name (d)))
    n += g_str_has_suffix (name, ".emb");
  return n;
}

/* The labels the window encoded are on disk; Preferences says so and clears them. */
static void
test_preferences_clear_cache (void)
{
  SiglensWindow *window = test_window_new (application, GOLDEN_MODEL);
  GtkWidget *prefs;
  GtkWidget *clear;
  g_autoptr (GString) shown = g_string_new (NULL);

  g_assert_nonnull (g_getenv ("XDG_CACHE_HOME"));
  test_window_type_labels (window, "a label for the cache test");
  {
    g_autofree char *path = test_data_path ("images/chelsea.png");
    g_autoptr (GFile) file = g_file_new_for_path (path);

    siglens_window_open_file (window, file);
  }
  test_window_wait_for (batch_finished, window, "the scores");
  g_assert_cmpuint (count_cache_entries (), >=, 1);

  prefs = siglens_preferences_window_new ();
  gtk_window_present (GTK_WINDOW (prefs));
  collect_labels (prefs, shown);
  g_assert_nonnull (strstr (shown->str, "kept on disk"));
  clear = test_window_find (prefs, GTK_TYPE_BUTTON, "C_lear");
  g_assert_nonnull (clear);
  g_assert_true (gtk_widget_get_sensitive (clear));
  g_signal_emit_by_name (clear, "clicked");
  g_assert_cmpuint (count_cache_entries (), ==, 0);
  g_assert_false (gtk_widget_get_sensitive (clear));
  g_string_truncate (shown, 0);
  collect_labels (prefs, shown);
  g_assert_nonnull (strstr (shown->str, "0 labels kept on disk"));
  gtk_window_destroy (GTK_WINDOW (prefs));
  test_window_close (window);
}

int
main (int argc, char *argv[])
{
  g_autoptr (GError) error = NULL;
  g_autofree char *empty_cache = NULL;
  g_autofree char *empty_data = NULL;
  g_autofree char *xdg_cache = NULL;
  int status;

  empty_cache = test_out_path ("batch-window/empty-hf-cache/x");
  empty_data = test_out_path ("batch-window/empty-data/x");
  /* A cache of its own: the label cache is counted and cleared here while the other tests,
   * in parallel, write theirs. */
  xdg_cache = test_out_path ("batch-window/xdg-cache/x");
  g_setenv ("HF_HUB_CACHE", empty_cache, TRUE);
  g_setenv ("XDG_DATA_HOME", empty_data, TRUE);
  g_setenv ("XDG_CACHE_HOME", xdg_cache, TRUE);
  g_unsetenv ("HF_HOME");
  g_unsetenv ("SIGLENS_MODEL");

  gtk_test_init (&argc, &argv, NULL);

  application = siglens_application_new ();
  g_application_set_flags (G_APPLICATION (application),
                           G_APPLICATION_HANDLES_OPEN | G_APPLICATION_NON_UNIQUE);
  g_application_register (G_APPLICATION (application), NULL, &error);
  g_assert_no_error (error);

  g_test_add_func ("/batch-window/folder", test_folder);
  g_test_add_func ("/batch-window/cancel-midway", test_cancel_midway);
  g_test_add_func ("/batch-window/preferences-clear-cache", test_preferences_clear_cache);

  status = g_test_run ();
  g_object_unref (application);
  return status;
}
