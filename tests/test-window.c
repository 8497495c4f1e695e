/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The real window with the tiny fixture model, driven the way a person drives it: labels typed
 * into the entry and Enter, images handed over through the same call the drop target and the
 * command line use. Waits on the window's and classifier's state, never on the clock (the
 * upper bound only turns a hang into a failure).
 *
 * Goldens: tests/data/golden/manifest.json, model tiny-siglip2-naflex (and the patch-14 set's
 * own, tests/data/fixres-p14/), probs[image][text] where texts 6..11 are the six labels with
 * the default template "This is a photo of {}.".
 */
#include <adwaita.h>
#include <glib/gstdio.h>
#include <math.h>

#include "siglens-application.h"
#include "siglens-classifier-private.h"
#include "siglens-label-list-editor.h"
#include "siglens-model-folder-check.h"
#include "siglens-model-folder-chooser.h"
#include "siglens-model-locator.h"
#include "siglens-preferences-window.h"
#include "siglens-window.h"
#include "test-util.h"
#include "test-window-util.h"

#define GOLDEN_MODEL "tiny-siglip2-naflex"
#define LABELS       "cat, dog, a red car, coffee, 一只猫, rocket ship"
#define N_LABELS     6
#define FIRST_TEXT   6    /* the templated half of manifest texts */
#define PROBS_ABS    3e-5 /* manifest recommended_tolerances.probs_abs (float32 noise) */

static SiglensApplication *application;

static gboolean
model_settled (SiglensWindow *window)
{
  SiglensModelState state = siglens_classifier_get_model_state (siglens_window_get_classifier (window));

  return state != SIGLENS_MODEL_STATE_LOADING;
}

static gboolean
idle (SiglensWindow *window)
{
  return !siglens_classifier_get_busy (siglens_window_get_classifier (window));
}

static gboolean
has_error (SiglensWindow *window)
{
  return siglens_window_get_last_error (window) != NULL && idle (window);
}

static SiglensWindow *
new_ready_window (void)
{
  SiglensWindow *window = test_window_new (application, GOLDEN_MODEL);

  g_assert_cmpstr (siglens_window_get_visible_page (window), ==, "main");
  return window;
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

/* Checks the chart against row `index` of the goldens of manifest entry `model`: every label's
 * value within PROBS_ABS, and the rows in descending golden order. */
static void
assert_chart_matches (SiglensWindow *window, const cJSON *model, int index, const char *image_id)
{
  const cJSON *texts = cJSON_GetObjectItem (model, "texts");
  const cJSON *row = cJSON_GetArrayItem (cJSON_GetObjectItem (cJSON_GetObjectItem (model, "probs"),
                                                              "values"),
                                         index);
  SiglensScoreChart *chart = siglens_window_get_chart (window);
  double previous = INFINITY;

  g_assert_nonnull (row);
  g_assert_cmpuint (siglens_score_chart_get_n_bars (chart), ==, N_LABELS);

  for (guint i = 0; i < N_LABELS; i++)
    {
      const char *label = siglens_score_chart_get_label (chart, i);
      float shown = siglens_score_chart_get_probability (chart, i);
      double golden = NAN;

      for (int t = FIRST_TEXT; t < FIRST_TEXT + N_LABELS; t++)
        {
          const cJSON *text = cJSON_GetArrayItem (texts, t);

          g_assert_true (cJSON_IsTrue (cJSON_GetObjectItem (text, "templated")));
          if (g_strcmp0 (cJSON_GetStringValue (cJSON_GetObjectItem (text, "label")), label) == 0)
            golden = cJSON_GetArrayItem (row, t)->valuedouble;
        }
      g_test_message ("%s: %s %.6f (golden %.6f)", image_id, label, shown, golden);
      g_assert_false (isnan (golden));
      g_assert_cmpfloat_with_epsilon (shown, golden, PROBS_ABS);
      /* Sorted best first by the true values (no two goldens here are within tolerance). */
      g_assert_cmpfloat (golden, <, previous);
      previous = golden;
    }
}

static void
assert_chart_shows (SiglensWindow *window, const char *image_id)
{
  assert_chart_matches (window, test_manifest_model (GOLDEN_MODEL),
                        manifest_image_index (image_id), image_id);
}

static void
test_golden_scores (void)
{
  SiglensWindow *window = new_ready_window ();
  SiglensImage *image;

  test_window_type_labels (window, LABELS);
  test_window_open_image (window, "chelsea.png");
  test_window_wait_for (idle, window, "the scores");

  image = siglens_window_get_image (window);
  g_assert_nonnull (image);
  g_assert_cmpstr (siglens_image_get_name (image), ==, "chelsea.png");
  g_assert_cmpint (siglens_image_get_width (image), ==, 451);
  g_assert_cmpint (siglens_image_get_height (image), ==, 300);
  assert_chart_shows (window, "chelsea");
  g_assert_null (siglens_window_get_last_error (window));

  /* New labels on the same image: the chart follows them (the image embedding is reused). */
  test_window_type_labels (window, "dog, cat");
  test_window_wait_for (idle, window, "the second scores");
  g_assert_cmpuint (siglens_score_chart_get_n_bars (siglens_window_get_chart (window)), ==, 2);
  g_assert_cmpstr (siglens_score_chart_get_label (siglens_window_get_chart (window), 0), ==, "cat");

  /* And back: the same numbers as the first time, so caches change nothing. */
  test_window_type_labels (window, LABELS);
  test_window_wait_for (idle, window, "the third scores");
  assert_chart_shows (window, "chelsea");

  test_window_close (window);
}

static gboolean
image_shown (SiglensWindow *window)
{
  return siglens_window_get_image (window) != NULL;
}

/* The window is usable at once, and a load overlaps the user choosing an image: while the
 * model is still loading, the labels can be typed and an image opened (and is shown); once it
 * is loaded the results area says the first scores are being computed, not that the model is
 * loading; the first chart comes as soon as they are, with that image's golden scores. */
static void
test_image_while_loading (void)
{
  g_autoptr (GSettings) settings = g_settings_new ("io.github.siglens.Siglens");
  g_autofree char *model = test_data_path (GOLDEN_MODEL);
  TestGate gate;
  SiglensWindow *window = test_window_new_with_folder (application, "");
  SiglensClassifier *classifier = siglens_window_get_classifier (window);

  /* the load held halfway: it "takes long" */
  test_gate_init (&gate);
  siglens_classifier_set_test_hook (classifier, test_gate_hook, &gate);
  test_gate_arm (&gate, "load-progress", 0.5);
  g_settings_set_string (settings, "model-folder", model);
  test_gate_wait_held (&gate);
  g_assert_cmpint (siglens_classifier_get_model_state (classifier), ==,
                   SIGLENS_MODEL_STATE_LOADING);
  g_assert_cmpstr (siglens_window_get_visible_page (window), ==, "main");

  test_window_type_labels (window, LABELS);
  test_window_open_image (window, "chelsea.png");
  test_window_wait_for (image_shown, window, "the image, during the load");
  g_assert_cmpstr (siglens_image_get_name (siglens_window_get_image (window)), ==, "chelsea.png");
  g_assert_cmpint (siglens_classifier_get_model_state (classifier), ==,
                   SIGLENS_MODEL_STATE_LOADING);
  g_assert_cmpuint (siglens_score_chart_get_n_bars (siglens_window_get_chart (window)), ==, 0);
  g_assert_cmpstr (siglens_window_get_results_page (window), ==, "loading");

  /* armed before the main loop runs again: the classification starts from it, once the load
   * is reported done */
  test_gate_arm (&gate, "classify", 0.);
  test_gate_release (&gate);
  test_gate_wait_held (&gate);
  g_assert_cmpint (siglens_classifier_get_model_state (classifier), ==,
                   SIGLENS_MODEL_STATE_READY);
  g_assert_cmpstr (siglens_window_get_results_page (window), ==, "hint");
  g_assert_cmpuint (siglens_score_chart_get_n_bars (siglens_window_get_chart (window)), ==, 0);

  test_gate_release (&gate);
  test_window_wait_for (model_settled, window, "the load");
  test_window_wait_for (idle, window, "the first chart");
  g_assert_cmpstr (siglens_window_get_results_page (window), ==, "chart");
  assert_chart_shows (window, "chelsea");
  g_assert_null (siglens_window_get_last_error (window));

  siglens_classifier_set_test_hook (classifier, NULL, NULL);
  test_window_close (window);
  test_gate_clear (&gate);
}

static gulong activity_handler;

static void
on_activity (SiglensClassifier *classifier, GParamSpec *pspec, gpointer data)
{
  SiglensWindow *window = data;
  const char *activity = siglens_classifier_get_activity (classifier);

  /* A job is running on the worker: hand over the next image now, mid-job. */
  if (activity != NULL && siglens_window_get_image (window) != NULL
      && g_str_equal (siglens_image_get_name (siglens_window_get_image (window)), "coffee.png"))
    {
      g_clear_signal_handler (&activity_handler, classifier);
      test_window_open_image (window, "chelsea.png");
    }
}

static void
test_newest_image_wins (void)
{
  SiglensWindow *window = new_ready_window ();
  SiglensClassifier *classifier = siglens_window_get_classifier (window);

  test_window_type_labels (window, LABELS);

  /* Two images in a row before anything finished: only the second one counts. */
  test_window_open_image (window, "rocket.jpg");
  test_window_open_image (window, "coffee.png");
  activity_handler = g_signal_connect (classifier, "notify::activity",
                                       G_CALLBACK (on_activity), window);
  test_window_wait_for (idle, window, "the scores");
  /* The handler must have fired: otherwise chelsea was never opened and the test is void. */
  g_assert_cmpuint (activity_handler, ==, 0);

  g_assert_cmpstr (siglens_image_get_name (siglens_window_get_image (window)), ==, "chelsea.png");
  assert_chart_shows (window, "chelsea");
  g_assert_null (siglens_window_get_last_error (window));

  test_window_close (window);
}

static void
test_unreadable_image (void)
{
  SiglensWindow *window = new_ready_window ();
  g_autofree char *path = test_out_path ("window/corrupt.png");
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GError) error = NULL;
  const char *message;

  /* A PNG signature followed by garbage: looks like an image, is not one. */
  g_file_set_contents (path, "\x89PNG\r\n\x1a\nthis is not a picture", 29, &error);
  g_assert_no_error (error);

  test_window_type_labels (window, LABELS);
  test_window_open_image (window, "chelsea.png");
  test_window_wait_for (idle, window, "the first scores");
  assert_chart_shows (window, "chelsea");

  siglens_window_open_file (window, file);
  test_window_wait_for (has_error, window, "the error");
  message = siglens_window_get_last_error (window);
  g_test_message ("error: %s", message);
  g_assert_true (g_str_has_prefix (message, "Could not open the image: "));
  g_assert_nonnull (strstr (message, "corrupt.png"));

  /* The picture and scores from before stay: a failed open changes nothing else. */
  g_assert_cmpstr (siglens_image_get_name (siglens_window_get_image (window)), ==, "chelsea.png");
  assert_chart_shows (window, "chelsea");

  test_window_close (window);
}

static const char *refused_file;

static gboolean
has_error_for_refused_file (SiglensWindow *window)
{
  return has_error (window) && strstr (siglens_window_get_last_error (window), refused_file);
}

/* Formats the reference cannot read (SVG), or reads otherwise than GdkPixbuf (16-bit gray PNG,
 * TIFF with alpha), are refused with a sentence naming the format (tests/test-decode-formats.c has
 * every one). */
static void
test_refused_formats (void)
{
  SiglensWindow *window = new_ready_window ();
  const char *files[][2] = {
    { "drawing.svg", "drawing.svg: SVG images are not supported" },
    { "png-gray16.png", "png-gray16.png: 16-bit grayscale PNG images are not supported" },
    { "tiff-rgba.tif", "tiff-rgba.tif: TIFF images with an alpha channel are not supported" },
  };

  test_window_type_labels (window, LABELS);
  for (gsize i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *rel = g_build_filename ("images", "formats", files[i][0], NULL);
      g_autofree char *path = test_data_path (rel);
      g_autoptr (GFile) file = g_file_new_for_path (path);
      const char *message;

      siglens_window_open_file (window, file);
      /* the last error stays until the next one: wait for this file's */
      refused_file = files[i][0];
      test_window_wait_for (has_error_for_refused_file, window, "the file's error");
      message = siglens_window_get_last_error (window);
      g_test_message ("error: %s", message);
      g_assert_true (g_str_has_prefix (message, "Could not open the image: "));
      g_assert_nonnull (strstr (message, files[i][1]));
    }
  test_window_close (window);
}

static void
test_no_labels (void)
{
  SiglensWindow *window = new_ready_window ();

  test_window_type_labels (window, "cat, dog");
  test_window_open_image (window, "chelsea.png");
  test_window_wait_for (idle, window, "the scores");
  g_assert_cmpuint (siglens_score_chart_get_n_bars (siglens_window_get_chart (window)), ==, 2);

  /* Only separators (ASCII and Chinese): no labels, so no bars and no request. */
  test_window_type_labels (window, " , ，、 ");
  g_assert_false (siglens_classifier_get_busy (siglens_window_get_classifier (window)));
  g_assert_cmpuint (siglens_score_chart_get_n_bars (siglens_window_get_chart (window)), ==, 0);

  test_window_close (window);
}

static gboolean
two_bars (SiglensWindow *window)
{
  return idle (window)
         && siglens_score_chart_get_n_bars (siglens_window_get_chart (window)) == 2;
}

static void
test_typing_updates_by_itself (void)
{
  SiglensWindow *window = new_ready_window ();

  test_window_type_labels (window, LABELS);
  test_window_open_image (window, "chelsea.png");
  test_window_wait_for (idle, window, "the scores");

  /* Typed, no Enter: the scores follow after the typing pause. */
  gtk_editable_set_text (siglens_window_get_labels_entry (window), "dog, cat");
  test_window_wait_for (two_bars, window, "the debounced update");
  g_assert_cmpstr (siglens_score_chart_get_label (siglens_window_get_chart (window), 0), ==, "cat");

  test_window_close (window);
}

/* A pasted list of hundreds of labels: the first SIGLENS_MAX_LABELS are compared, the note
 * says so, and it goes away with a list of ordinary length. */
static void
test_too_many_labels (void)
{
  SiglensWindow *window = new_ready_window ();
  SiglensScoreChart *chart = siglens_window_get_chart (window);
  g_autoptr (GString) many = g_string_new (NULL);

  for (int i = 0; i < SIGLENS_MAX_LABELS + 50; i++)
    g_string_append_printf (many, "thing %d, ", i);
  test_window_open_image (window, "chelsea.png");
  test_window_type_labels (window, many->str);
  test_window_wait_for (idle, window, "classifying many labels");
  g_assert_cmpuint (siglens_score_chart_get_n_bars (chart), ==, SIGLENS_MAX_LABELS);
  g_assert_nonnull (siglens_window_get_labels_note (window));
  g_assert_nonnull (strstr (siglens_window_get_labels_note (window), "100"));

  test_window_type_labels (window, LABELS);
  test_window_wait_for (idle, window, "classifying");
  assert_chart_shows (window, "chelsea");
  g_assert_null (siglens_window_get_labels_note (window));

  test_window_close (window);
}

static void
test_dropped_texture (void)
{
  SiglensWindow *window = new_ready_window ();
  g_autofree char *path = test_data_path ("images/chelsea.png");
  g_autoptr (GError) error = NULL;
  g_autoptr (GdkTexture) texture = gdk_texture_new_from_filename (path, &error);

  g_assert_no_error (error);
  test_window_type_labels (window, LABELS);
  /* What a drop of image data (say, from a browser) hands over: pixels, no file. */
  siglens_window_open_texture (window, texture, "Dropped image");
  test_window_wait_for (idle, window, "the scores");
  g_assert_cmpstr (siglens_image_get_name (siglens_window_get_image (window)), ==, "Dropped image");
  assert_chart_shows (window, "chelsea");

  test_window_close (window);
}

static void
test_dropped_uri_list (void)
{
  SiglensWindow *window = new_ready_window ();
  g_autofree char *path = test_data_path ("images/chelsea.png");
  g_autofree char *uri = g_filename_to_uri (path, NULL, NULL);
  g_autofree char *uri_list = g_strdup_printf ("# from a browser\r\n%s\r\n", uri);

  test_window_type_labels (window, LABELS);
  g_assert_true (siglens_window_open_text (window, uri_list));
  test_window_wait_for (idle, window, "the scores");
  assert_chart_shows (window, "chelsea");

  /* Text that names no file is refused with a sentence, not ignored. */
  g_assert_false (siglens_window_open_text (window, "a red car"));
  g_assert_nonnull (strstr (siglens_window_get_last_error (window), "a red car"));

  test_window_close (window);
}

/* Model folders laid out as the Hub serves google/siglip2-so400m-patch16-naflex (diff-style
 * config.json, Siglip2ImageProcessorFast, the Hub's tokenizer.json) and
 * google/siglip2-so400m-patch14-384 (patch 14 at an image size no multiple of it, no patch size
 * in its SiglipImageProcessor file): the chart shows the reference's numbers. */
static void
test_hub_layout_models (void)
{
  g_autofree char *naflex = test_hub_layout_model (GOLDEN_MODEL, TEST_HUB_FILES);
  g_autofree char *p14 = test_data_path ("fixres-p14/tiny-siglip2-fixres-p14");
  const cJSON *p14_golden = cJSON_GetArrayItem (cJSON_GetObjectItem (test_set_manifest ("fixres-p14"),
                                                                     "models"), 0);
  SiglensWindow *window = test_window_new_with_folder (application, naflex);

  g_assert_cmpint (siglens_classifier_get_model_state (siglens_window_get_classifier (window)),
                   ==, SIGLENS_MODEL_STATE_READY);
  test_window_type_labels (window, LABELS);
  test_window_open_image (window, "chelsea.png");
  test_window_wait_for (idle, window, "the scores of the NAFlex model");
  assert_chart_shows (window, "chelsea");
  g_assert_null (siglens_window_get_last_error (window));
  test_window_close (window);

  window = test_window_new_with_folder (application, p14);
  g_assert_cmpint (siglens_classifier_get_model_state (siglens_window_get_classifier (window)),
                   ==, SIGLENS_MODEL_STATE_READY);
  test_window_type_labels (window, LABELS);
  /* image 0 of the set's manifest */
  g_assert_cmpstr (cJSON_GetStringValue (cJSON_GetObjectItem (
                     cJSON_GetArrayItem (cJSON_GetObjectItem (p14_golden, "images"), 0), "image")),
                   ==, "gradient_640x480");
  test_window_open_image (window, "gradient_640x480.png");
  test_window_wait_for (idle, window, "the scores of the patch-14 model");
  assert_chart_matches (window, p14_golden, 0, "gradient_640x480");
  g_assert_null (siglens_window_get_last_error (window));
  test_window_close (window);
}

static void
test_no_model (void)
{
  SiglensWindow *window = test_window_new_with_folder (application, "");

  g_assert_cmpint (siglens_classifier_get_model_state (siglens_window_get_classifier (window)),
                   ==, SIGLENS_MODEL_STATE_NONE);
  g_assert_cmpstr (siglens_window_get_visible_page (window), ==, "no-model");
  test_window_close (window);
}

static void
test_broken_model (void)
{
  g_autofree char *dir = test_out_path ("window/broken-model");
  g_autofree char *config = g_build_filename (dir, "config.json", NULL);
  g_autoptr (GError) error = NULL;
  SiglensWindow *window;
  const char *message;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_file_set_contents (config, "{ \"model_type\": ", -1, &error);
  g_assert_no_error (error);

  window = test_window_new_with_folder (application, dir);
  g_assert_cmpint (siglens_classifier_get_model_state (siglens_window_get_classifier (window)),
                   ==, SIGLENS_MODEL_STATE_FAILED);
  g_assert_cmpstr (siglens_window_get_visible_page (window), ==, "no-model");
  message = siglens_window_get_last_error (window);
  g_test_message ("error: %s", message);
  g_assert_true (g_str_has_prefix (message, "The model could not be loaded: "));
  /* The core's sentence names the file at fault. */
  g_assert_nonnull (strstr (message, "config.json"));
  test_window_close (window);
}

static GtkWidget *
window_child (SiglensWindow *window, const char *name)
{
  GObject *object = gtk_widget_get_template_child (GTK_WIDGET (window), SIGLENS_TYPE_WINDOW, name);

  g_assert_nonnull (object);
  return GTK_WIDGET (object);
}

static gboolean
idle_and_fresh (SiglensWindow *window)
{
  return idle (window) && !siglens_score_chart_get_stale (siglens_window_get_chart (window));
}

/* With lowercasing on (SigLIP 2's way) "cat" and "Cat" are one text to the model: one row, and
 * the note under the entry says which entry went where. Off, they are two. */
static void
test_merged_duplicates (void)
{
  SiglensWindow *window = new_ready_window ();
  SiglensScoreChart *chart = siglens_window_get_chart (window);
  g_autoptr (GSettings) settings = g_settings_new ("io.github.siglens.Siglens");
  const char *note;
  float cat, dog;

  test_window_open_image (window, "chelsea.png");
  test_window_type_labels (window, "cat, dog");
  test_window_wait_for (idle_and_fresh, window, "the scores");
  g_assert_null (siglens_window_get_labels_note (window));
  cat = siglens_score_chart_get_probability (chart, 0);
  dog = siglens_score_chart_get_probability (chart, 1);

  test_window_type_labels (window, "cat, Cat, dog, DOG");
  test_window_wait_for (idle_and_fresh, window, "the merged scores");
  g_assert_cmpuint (siglens_score_chart_get_n_bars (chart), ==, 2);
  g_assert_cmpstr (siglens_score_chart_get_label (chart, 0), ==, "cat");
  g_assert_cmpstr (siglens_score_chart_get_label (chart, 1), ==, "dog");
  g_assert_cmpfloat (siglens_score_chart_get_probability (chart, 0), ==, cat);
  g_assert_cmpfloat (siglens_score_chart_get_probability (chart, 1), ==, dog);
  note = siglens_window_get_labels_note (window);
  g_test_message ("note: %s", note);
  g_assert_cmpstr (note, ==, "“Cat”, “DOG” read the same as earlier labels to the model, so each "
                             "is scored once.");

  test_window_type_labels (window, "cat, Cat");
  test_window_wait_for (idle_and_fresh, window, "one merge");
  g_assert_cmpstr (siglens_window_get_labels_note (window), ==,
                   "“Cat” reads the same as “cat” to the model, so it is scored once.");

  /* Not lowercased, the model tells them apart: two rows, nothing to say. */
  g_settings_set_boolean (settings, "lowercase", FALSE);
  test_window_wait_for (idle_and_fresh, window, "the scores as typed");
  g_assert_cmpuint (siglens_score_chart_get_n_bars (chart), ==, 2);
  g_assert_null (siglens_window_get_labels_note (window));
  g_settings_reset (settings, "lowercase");

  test_window_close (window);
}

/* A label longer than the text tower's 64 tokens is scored on what fits, and the note under the
 * entry says so, with the count the core itself gives for the same templated text. */
static void
test_long_label_told (void)
{
  SiglensWindow *window = new_ready_window ();
  g_autofree char *model_dir = test_data_path (GOLDEN_MODEL);
  g_autoptr (GString) long_label = g_string_new ("a very long label");
  g_autofree char *labels = NULL;
  g_autofree char *expected = NULL;
  siglip_error *err = NULL;
  siglip_model *model;
  siglip_label_list *list;
  const char *note;

  while (long_label->len < 10000)
    g_string_append (long_label, " with another word");
  labels = g_strdup_printf ("cat, %s", long_label->str);

  model = siglip_model_load (model_dir, NULL, &err);
  g_assert_null (err);
  list = siglip_label_list_new (labels, model, NULL, &err);
  g_assert_null (err);
  g_assert_cmpint (list->n_entries, ==, 2);
  g_assert_false (list->entries[0].truncated);
  g_assert_true (list->entries[1].truncated);
  expected = g_strdup_printf ("“a very long label with another…” is longer than the %d tokens the "
                              "model reads: its last %d tokens are not seen.",
                              list->max_tokens, list->entries[1].n_dropped);
  siglip_label_list_free (list);
  siglip_model_free (model);

  test_window_open_image (window, "chelsea.png");
  test_window_type_labels (window, labels);
  test_window_wait_for (idle_and_fresh, window, "the scores");
  g_assert_cmpuint (siglens_score_chart_get_n_bars (siglens_window_get_chart (window)), ==, 2);
  note = siglens_window_get_labels_note (window);
  g_test_message ("note: %s", note);
  g_assert_cmpstr (note, ==, expected);

  /* Said for as long as it is true: gone with the long label. */
  test_window_type_labels (window, "cat, dog");
  test_window_wait_for (idle_and_fresh, window, "the short labels' scores");
  g_assert_null (siglens_window_get_labels_note (window));

  test_window_close (window);
}

/* From typing to the new scores the chart is marked stale (dimmed, "busy" for screen readers);
 * a template without {} is refused: not saved, the field in the error style with a note, and
 * the chart stays marked because it no longer matches the field. */
static void
test_stale_and_refused_template (void)
{
  SiglensWindow *window = new_ready_window ();
  SiglensScoreChart *chart = siglens_window_get_chart (window);
  GtkWidget *template_entry = window_child (window, "template_entry");
  GtkWidget *template_note = window_child (window, "template_note");
  g_autoptr (GSettings) settings = g_settings_new ("io.github.siglens.Siglens");
  g_autofree char *saved = NULL;

  test_window_open_image (window, "chelsea.png");
  test_window_type_labels (window, "cat, dog");
  test_window_wait_for (idle_and_fresh, window, "the scores");
  gtk_test_accessible_assert_state (GTK_ACCESSIBLE (chart), GTK_ACCESSIBLE_STATE_BUSY, FALSE);
  g_assert_false (gtk_widget_has_css_class (GTK_WIDGET (chart), "stale"));

  /* Typed, not yet scored. */
  gtk_editable_set_text (siglens_window_get_labels_entry (window), "dog, cat, coffee");
  g_assert_true (siglens_score_chart_get_stale (chart));
  g_assert_true (gtk_widget_has_css_class (GTK_WIDGET (chart), "stale"));
  gtk_test_accessible_assert_state (GTK_ACCESSIBLE (chart), GTK_ACCESSIBLE_STATE_BUSY, TRUE);
  test_window_wait_for (idle_and_fresh, window, "the new scores");
  g_assert_cmpuint (siglens_score_chart_get_n_bars (chart), ==, 3);
  g_assert_false (gtk_widget_has_css_class (GTK_WIDGET (chart), "stale"));

  /* No {}: refused. */
  gtk_editable_set_text (GTK_EDITABLE (template_entry), "a photo");
  saved = g_settings_get_string (settings, "template");
  g_assert_cmpstr (saved, ==, "This is a photo of {}.");
  g_assert_true (gtk_widget_has_css_class (template_entry, "error"));
  gtk_test_accessible_assert_state (GTK_ACCESSIBLE (template_entry), GTK_ACCESSIBLE_STATE_INVALID,
                                    GTK_ACCESSIBLE_INVALID_TRUE);
  g_assert_true (gtk_widget_get_visible (template_note));
  g_assert_nonnull (strstr (gtk_label_get_label (GTK_LABEL (template_note)), "{}"));
  g_assert_true (siglens_score_chart_get_stale (chart));
  /* Still so once everything has settled: nothing new is scored with a refused template. */
  test_window_wait_for (idle, window, "quiet");
  g_assert_true (siglens_score_chart_get_stale (chart));

  /* Fixed: saved, unmarked, scored. */
  gtk_editable_set_text (GTK_EDITABLE (template_entry), "a photo of {}");
  g_clear_pointer (&saved, g_free);
  saved = g_settings_get_string (settings, "template");
  g_assert_cmpstr (saved, ==, "a photo of {}");
  g_assert_false (gtk_widget_has_css_class (template_entry, "error"));
  g_assert_false (gtk_widget_get_visible (template_note));
  test_window_wait_for (idle_and_fresh, window, "the scores with the new template");
  g_settings_reset (settings, "template");
  test_window_wait_for (idle_and_fresh, window, "the scores with the default template");

  test_window_close (window);
}

/* Preferences' template row refuses the same way. */
static void
test_preferences_refuse_template (void)
{
  GtkWidget *preferences = siglens_preferences_window_new ();
  GtkWidget *row = GTK_WIDGET (gtk_widget_get_template_child (preferences,
                                                              SIGLENS_TYPE_PREFERENCES_WINDOW,
                                                              "template_row"));
  g_autoptr (GSettings) settings = g_settings_new ("io.github.siglens.Siglens");
  g_autofree char *saved = NULL;

  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (row)), ==, "This is a photo of {}.");
  gtk_editable_set_text (GTK_EDITABLE (row), "This is a photo of.");
  saved = g_settings_get_string (settings, "template");
  g_assert_cmpstr (saved, ==, "This is a photo of {}.");
  g_assert_true (gtk_widget_has_css_class (row, "error"));

  gtk_editable_set_text (GTK_EDITABLE (row), "{}");
  g_clear_pointer (&saved, g_free);
  saved = g_settings_get_string (settings, "template");
  g_assert_cmpstr (saved, ==, "{}");
  g_assert_false (gtk_widget_has_css_class (row, "error"));
  g_settings_reset (settings, "template");
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (row)), ==, "This is a photo of {}.");

  gtk_window_destroy (GTK_WINDOW (preferences));
}

/* Preferences names the folder in use even when nobody chose it. */
static void
test_preferences_folder_in_use (void)
{
  g_autoptr (GSettings) settings = g_settings_new ("io.github.siglens.Siglens");
  g_autofree char *data_dir = siglens_model_locator_dup_data_dir ();
  g_autofree char *config = g_build_filename (data_dir, "config.json", NULL);
  g_autofree char *expected = g_strdup_printf ("Found automatically: %s", data_dir);
  g_autoptr (GError) error = NULL;
  GtkWidget *preferences;
  AdwActionRow *row;

  g_settings_set_string (settings, "model-folder", "");
  preferences = siglens_preferences_window_new ();
  row = ADW_ACTION_ROW (gtk_widget_get_template_child (preferences, SIGLENS_TYPE_PREFERENCES_WINDOW,
                                                       "folder_row"));
  g_assert_cmpstr (adw_action_row_get_subtitle (row), ==, "No model found in the usual places");
  gtk_window_destroy (GTK_WINDOW (preferences));

  /* A model in the data folder, found by looking in the usual places. */
  g_assert_cmpint (g_mkdir_with_parents (data_dir, 0755), ==, 0);
  g_file_set_contents (config, "{}", -1, &error);
  g_assert_no_error (error);
  preferences = siglens_preferences_window_new ();
  row = ADW_ACTION_ROW (gtk_widget_get_template_child (preferences, SIGLENS_TYPE_PREFERENCES_WINDOW,
                                                       "folder_row"));
  g_assert_cmpstr (adw_action_row_get_subtitle (row), ==, expected);

  /* Chosen: the choice itself. */
  g_settings_set_string (settings, "model-folder", "/srv/models/siglip2");
  g_assert_cmpstr (adw_action_row_get_subtitle (row), ==, "/srv/models/siglip2");
  gtk_window_destroy (GTK_WINDOW (preferences));
  g_settings_reset (settings, "model-folder");
  g_assert_cmpint (g_remove (config), ==, 0);
}

static gboolean
shows_rocket (SiglensWindow *window)
{
  return idle (window) && siglens_window_get_image (window) != NULL
         && g_str_equal (siglens_image_get_name (siglens_window_get_image (window)), "rocket.jpg");
}

/* Several files on the command line: the last is shown and the window says the rest are not. */
static void
test_several_files (void)
{
  g_autoptr (GSettings) settings = g_settings_new ("io.github.siglens.Siglens");
  g_autofree char *model = test_data_path (GOLDEN_MODEL);
  const char *names[] = { "chelsea.png", "coffee.png", "rocket.jpg" };
  GFile *files[3];
  SiglensWindow *window;

  g_settings_set_string (settings, "model-folder", model);
  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *rel = g_build_filename ("images", names[i], NULL);
      g_autofree char *path = test_data_path (rel);

      files[i] = g_file_new_for_path (path);
    }
  g_application_open (G_APPLICATION (application), files, 3, "");
  window = SIGLENS_WINDOW (gtk_application_get_active_window (GTK_APPLICATION (application)));
  g_assert_nonnull (window);
  test_window_wait_for (model_settled, window, "the model");
  test_window_wait_for (shows_rocket, window, "the last file");
  g_test_message ("told: %s", siglens_window_get_last_error (window));
  g_assert_cmpstr (siglens_window_get_last_error (window), ==,
                   "3 files were given; only the last, “rocket.jpg”, is shown.");
  for (guint i = 0; i < 3; i++)
    g_object_unref (files[i]);
  test_window_close (window);
}

/* The About window's icon comes from the app's own resources, so it shows from the build tree
 * (nothing here is installed: the theme has no other way to know the icon). */
static void
test_about_icon (void)
{
  GtkIconTheme *theme = gtk_icon_theme_get_for_display (gdk_display_get_default ());
  g_autoptr (GtkIconPaintable) icon = NULL;
  g_autoptr (GFile) file = NULL;
  g_autofree char *uri = NULL;

  g_assert_true (gtk_icon_theme_has_icon (theme, "io.github.siglens.Siglens"));
  icon = gtk_icon_theme_lookup_icon (theme, "io.github.siglens.Siglens", NULL, 128, 1,
                                     GTK_TEXT_DIR_NONE, 0);
  file = gtk_icon_paintable_get_file (icon);
  uri = g_file_get_uri (file);
  g_test_message ("icon: %s", uri);
  g_assert_true (g_str_has_prefix (uri, "resource:///io/github/siglens/Siglens/icons/"));
}

static char *
make_folder (const char *name, const char *const *files, const char *config)
{
  g_autofree char *rel = g_build_filename ("window", "folders", name, NULL);
  char *dir = test_out_path (rel);
  g_autoptr (GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  for (guint i = 0; files[i] != NULL; i++)
    {
      g_autofree char *path = g_build_filename (dir, files[i], NULL);

      g_file_set_contents (path, g_str_equal (files[i], "config.json") ? config : "x", -1, &error);
      g_assert_no_error (error);
    }
  return dir;
}

/* What is wrong with a folder that is not a model, in a sentence per case. */
static void
test_model_folder_check (void)
{
  static const struct {
    const char *name;
    const char *files[4];
    const char *config;
    int         code;
    const char *says;
  } cases[] = {
    { "photos", { "cat.jpg", NULL }, NULL, SIGLENS_MODEL_FOLDER_ERROR_NO_CONFIG, "has no config.json" },
    { "not-json", { "config.json", NULL }, "{ model_type: ", SIGLENS_MODEL_FOLDER_ERROR_BAD_CONFIG,
      "cannot be read as a model’s configuration" },
    { "no-type", { "config.json", NULL }, "{}", SIGLENS_MODEL_FOLDER_ERROR_BAD_CONFIG,
      "does not say which model it is" },
    { "bert", { "config.json", "model.safetensors", "tokenizer.json", NULL },
      "{\"model_type\": \"bert\"}", SIGLENS_MODEL_FOLDER_ERROR_NOT_SIGLIP,
      "holds a “bert” model, not a SigLIP model" },
    { "no-weights", { "config.json", "tokenizer.json", NULL }, "{\"model_type\": \"siglip\"}",
      SIGLENS_MODEL_FOLDER_ERROR_NO_WEIGHTS, "not its weights (model.safetensors)" },
    { "no-tokenizer", { "config.json", "model.safetensors", NULL }, "{\"model_type\": \"siglip2\"}",
      SIGLENS_MODEL_FOLDER_ERROR_NO_TOKENIZER, "not its tokenizer" },
  };
  g_autofree char *model = test_data_path (GOLDEN_MODEL);
  g_autoptr (GError) error = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *dir = make_folder (cases[i].name, cases[i].files, cases[i].config);

      g_assert_false (siglens_model_folder_check (dir, &error));
      g_test_message ("%s: %s", cases[i].name, error->message);
      g_assert_error (error, SIGLENS_MODEL_FOLDER_ERROR, cases[i].code);
      g_assert_nonnull (strstr (error->message, cases[i].says));
      g_assert_nonnull (strstr (error->message, dir));
      g_clear_error (&error);
    }
  g_assert_false (siglens_model_folder_check ("/nonexistent/siglip", &error));
  g_assert_error (error, SIGLENS_MODEL_FOLDER_ERROR, SIGLENS_MODEL_FOLDER_ERROR_NOT_A_FOLDER);
  g_clear_error (&error);

  g_assert_true (siglens_model_folder_check (model, &error));
  g_assert_no_error (error);
}

static GtkWindow *
find_message_dialog (void)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr (GtkWindow) w = g_list_model_get_item (toplevels, i);

      if (ADW_IS_MESSAGE_DIALOG (w))
        return w;
    }
  return NULL;
}

/* A wrong folder chosen (from Preferences or the no-model page) is not saved: the working model
 * stays, and a dialog says in a sentence what is wrong with the folder. */
static void
test_wrong_folder_not_saved (void)
{
  SiglensWindow *window = new_ready_window ();
  g_autoptr (GSettings) settings = g_settings_new ("io.github.siglens.Siglens");
  g_autofree char *model = test_data_path (GOLDEN_MODEL);
  g_autofree char *saved = NULL;
  g_autofree char *photos = make_folder ("photos", (const char *[]) { "cat.jpg", NULL }, NULL);
  g_autofree char *expected = g_strdup_printf ("The folder “%s” has no config.json, so it does not "
                                               "hold a model. Choose the folder that has "
                                               "config.json and the model’s weights in it.",
                                               photos);
  GtkWindow *dialog;

  g_assert_false (siglens_model_folder_choose (GTK_WINDOW (window), settings, photos));
  saved = g_settings_get_string (settings, "model-folder");
  g_assert_cmpstr (saved, ==, model);
  dialog = find_message_dialog ();
  g_assert_nonnull (dialog);
  g_assert_cmpstr (adw_message_dialog_get_body (ADW_MESSAGE_DIALOG (dialog)), ==, expected);
  g_assert_true (gtk_window_get_transient_for (dialog) == GTK_WINDOW (window));
  gtk_window_destroy (dialog);
  g_assert_cmpint (siglens_classifier_get_model_state (siglens_window_get_classifier (window)),
                   ==, SIGLENS_MODEL_STATE_READY);

  /* A real model is saved, and no dialog comes. */
  g_assert_true (siglens_model_folder_choose (GTK_WINDOW (window), settings, model));
  g_assert_null (find_message_dialog ());
  test_window_wait_for (model_settled, window, "the model");
  test_window_close (window);
}

static gboolean
has_image (SiglensWindow *window)
{
  return siglens_window_get_image (window) != NULL && siglens_window_get_last_error (window) != NULL;
}

/* Without a model an opened image cannot be seen behind the no-model page: the window says
 * what happened to it. The page's text can be selected and copied. */
static void
test_no_model_page (void)
{
  SiglensWindow *window = test_window_new_with_folder (application, "");
  GtkWidget *page = window_child (window, "no_model_page");
  guint n_labels = 0;

  test_window_open_image (window, "chelsea.png");
  test_window_wait_for (has_image, window, "the image");
  g_assert_cmpstr (siglens_window_get_visible_page (window), ==, "no-model");
  g_assert_cmpstr (siglens_window_get_last_error (window), ==,
                   "“chelsea.png” is open and will be scored once a model is loaded.");

  for (GtkWidget *w = gtk_widget_get_first_child (page); w != NULL;)
    {
      if (GTK_IS_LABEL (w) && gtk_widget_get_ancestor (w, GTK_TYPE_BUTTON) == NULL
          && *gtk_label_get_label (GTK_LABEL (w)) != '\0')
        {
          g_test_message ("label “%.40s…” selectable: %d", gtk_label_get_label (GTK_LABEL (w)),
                          gtk_label_get_selectable (GTK_LABEL (w)));
          g_assert_true (gtk_label_get_selectable (GTK_LABEL (w)));
          n_labels++;
        }
      /* depth first */
      if (gtk_widget_get_first_child (w) != NULL)
        w = gtk_widget_get_first_child (w);
      else
        {
          while (w != page && gtk_widget_get_next_sibling (w) == NULL)
            w = gtk_widget_get_parent (w);
          w = w == page ? NULL : gtk_widget_get_next_sibling (w);
        }
    }
  g_assert_cmpuint (n_labels, >=, 2); /* the title and the description */
  test_window_close (window);
}

static gboolean
popover_shown (SiglensWindow *window)
{
  SiglensLabelListEditor *editor = SIGLENS_LABEL_LIST_EDITOR (window_child (window, "list_editor"));

  return gtk_widget_get_mapped (GTK_WIDGET (siglens_label_list_editor_get_view (editor)));
}

static gboolean
four_bars (SiglensWindow *window)
{
  return idle_and_fresh (window)
         && siglens_score_chart_get_n_bars (siglens_window_get_chart (window)) == 4;
}

/* The labels as a list, one per line, edited in the popover, land in the entry and are scored;
 * a list pasted into the one-line entry keeps its line breaks as separators. */
static void
test_label_list_editor (void)
{
  SiglensWindow *window = new_ready_window ();
  SiglensLabelListEditor *editor = SIGLENS_LABEL_LIST_EDITOR (window_child (window, "list_editor"));
  GtkEditable *entry = siglens_window_get_labels_entry (window);
  GtkTextBuffer *buffer;
  GtkTextIter start, end;
  g_autofree char *lines = NULL;
  g_autoptr (GString) sixty = g_string_new (NULL);
  int position = 0;

  test_window_open_image (window, "chelsea.png");
  test_window_type_labels (window, "cat, dog，一只猫");
  siglens_label_list_editor_popup (editor);
  test_window_wait_for (popover_shown, window, "the list");
  buffer = gtk_text_view_get_buffer (siglens_label_list_editor_get_view (editor));
  gtk_text_buffer_get_bounds (buffer, &start, &end);
  lines = gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
  g_assert_cmpstr (lines, ==, "cat\ndog\n一只猫\n");

  gtk_text_buffer_set_text (buffer, "cat\ndog\n a red car \n\ncoffee\n", -1);
  g_assert_cmpstr (gtk_editable_get_text (entry), ==, "cat, dog, a red car, coffee");
  test_window_wait_for (four_bars, window, "the list's scores");

  /* Sixty labels, one per line: all of them reach the entry. */
  for (int i = 0; i < 60; i++)
    g_string_append_printf (sixty, "thing %d\n", i);
  gtk_text_buffer_set_text (buffer, sixty->str, -1);
  {
    int n = 0;
    char **split = siglip_split_labels (gtk_editable_get_text (entry), &n);

    g_assert_cmpint (n, ==, 60);
    g_assert_cmpstr (split[59], ==, "thing 59");
    siglip_labels_free (split);
  }
  gtk_popover_popdown (gtk_menu_button_get_popover (GTK_MENU_BUTTON (gtk_widget_get_first_child (GTK_WIDGET (editor)))));

  /* Pasted with line breaks into the one-line entry. */
  gtk_editable_set_text (entry, "");
  gtk_editable_insert_text (entry, "rocket\r\nship\n\ncar\n", -1, &position);
  g_assert_cmpstr (gtk_editable_get_text (entry), ==, "rocket, ship, car");
  test_window_wait_for (idle_and_fresh, window, "the pasted labels' scores");

  test_window_close (window);
}

int
main (int argc, char *argv[])
{
  g_autoptr (GError) error = NULL;
  g_autofree char *empty_cache = NULL;
  g_autofree char *empty_data = NULL;
  int status;

  /* Before any thread starts and before GLib caches them: no model may come from the
   * environment, the real HF cache or the data folder; each test sets the model folder. */
  empty_cache = test_out_path ("window/empty-hf-cache/x");
  empty_data = test_out_path ("window/empty-data/x");
  g_setenv ("HF_HUB_CACHE", empty_cache, TRUE);
  g_setenv ("XDG_DATA_HOME", empty_data, TRUE);
  g_unsetenv ("HF_HOME");
  g_unsetenv ("SIGLENS_MODEL");

  gtk_test_init (&argc, &argv, NULL);

  application = siglens_application_new ();
  g_application_set_flags (G_APPLICATION (application),
                           G_APPLICATION_HANDLES_OPEN | G_APPLICATION_NON_UNIQUE);
  g_application_register (G_APPLICATION (application), NULL, &error);
  g_assert_no_error (error);

  g_test_add_func ("/window/golden-scores", test_golden_scores);
  g_test_add_func ("/window/newest-image-wins", test_newest_image_wins);
  g_test_add_func ("/window/image-while-loading", test_image_while_loading);
  g_test_add_func ("/window/unreadable-image", test_unreadable_image);
  g_test_add_func ("/window/refused-formats", test_refused_formats);
  g_test_add_func ("/window/no-labels", test_no_labels);
  g_test_add_func ("/window/too-many-labels", test_too_many_labels);
  g_test_add_func ("/window/typing-updates-by-itself", test_typing_updates_by_itself);
  g_test_add_func ("/window/dropped-texture", test_dropped_texture);
  g_test_add_func ("/window/dropped-uri-list", test_dropped_uri_list);
  g_test_add_func ("/window/hub-layout-models", test_hub_layout_models);
  g_test_add_func ("/window/no-model", test_no_model);
  g_test_add_func ("/window/broken-model", test_broken_model);
  g_test_add_func ("/window/merged-duplicates", test_merged_duplicates);
  g_test_add_func ("/window/long-label-told", test_long_label_told);
  g_test_add_func ("/window/stale-and-refused-template", test_stale_and_refused_template);
  g_test_add_func ("/window/preferences-refuse-template", test_preferences_refuse_template);
  g_test_add_func ("/window/preferences-folder-in-use", test_preferences_folder_in_use);
  g_test_add_func ("/window/several-files", test_several_files);
  g_test_add_func ("/window/about-icon", test_about_icon);
  g_test_add_func ("/window/model-folder-check", test_model_folder_check);
  g_test_add_func ("/window/wrong-folder-not-saved", test_wrong_folder_not_saved);
  g_test_add_func ("/window/no-model-page", test_no_model_page);
  g_test_add_func ("/window/label-list-editor", test_label_list_editor);

  status = g_test_run ();
  g_object_unref (application);
  return status;
}
