/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The no-model page's download, clicked as a person clicks it, against the Hub imitation of
 * tests/fake-hub.c serving the tiny fixture under the real model's name: the window goes from
 * "No Model Found" to the golden scores of an image without a restart, through a Pause and a
 * Resume; Cancel leaves nothing behind; a refused download says how to pass a token.
 */
#include <adwaita.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "fake-hub.h"
#include "siglens-application.h"
#include "siglens-download-panel.h"
#include "siglens-downloader.h"
#include "siglens-hub-cache.h"
#include "siglens-model-storage-group.h"
#include "siglens-preferences-window.h"
#include "siglens-window.h"
#include "test-util.h"
#include "test-window-util.h"

#define GOLDEN_MODEL "tiny-siglip2-naflex"
#define LABELS       "cat, dog, a red car, coffee, 一只猫, rocket ship"
#define N_LABELS     6
#define FIRST_TEXT   6    /* the templated half of the manifest's texts */
#define PROBS_ABS    3e-5 /* manifest recommended_tolerances.probs_abs (float32 noise) */

static SiglensApplication *application;
static char *hf_cache;

/* Clicks the visible button labelled `label` inside `root`. */
static void
click (GtkWidget *root, const char *label)
{
  GtkWidget *button = test_window_find (root, GTK_TYPE_BUTTON, label);

  g_assert_nonnull (button);
  g_assert_true (gtk_widget_is_visible (button));
  g_assert_true (gtk_widget_is_sensitive (button));
  g_signal_emit_by_name (button, "clicked");
}

static gboolean
model_settled (gpointer data)
{
  SiglensModelState state = siglens_classifier_get_model_state (siglens_window_get_classifier (data));
  return state != SIGLENS_MODEL_STATE_LOADING;
}

static gboolean
model_ready (gpointer data)
{
  return siglens_classifier_get_model_state (siglens_window_get_classifier (data))
         == SIGLENS_MODEL_STATE_READY;
}

static gboolean
idle (gpointer data)
{
  return !siglens_classifier_get_busy (siglens_window_get_classifier (data));
}

static gboolean
not_running (gpointer data)
{
  return !siglens_download_panel_get_running (data);
}

static gboolean
bytes_arrived (gpointer data)
{
  GObject *d = siglens_download_panel_get_downloader (data);
  return d != NULL && siglens_downloader_get_bytes_fetched (SIGLENS_DOWNLOADER (d)) >= 100 * 1000;
}

static void
empty_cache (void)
{
  g_autoptr (GDir) dir = g_dir_open (hf_cache, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (hf_cache, name, NULL);
      g_assert_true (siglens_hub_cache_remove_repo (path, NULL));
    }
}

static FakeHub *
new_hub (void)
{
  FakeHub *hub = fake_hub_new ();
  g_autofree char *tiny = test_data_path (GOLDEN_MODEL);
  g_autoptr (GSettings) settings = g_settings_new ("io.github.siglens.Siglens");

  fake_hub_add_dir (hub, SIGLENS_DOWNLOAD_REPO, tiny);
  /* The preference, as someone behind a mirror sets it. */
  g_settings_set_string (settings, "hub-endpoint", fake_hub_endpoint (hub));
  g_settings_set_string (settings, "model-folder", "");
  empty_cache ();
  return hub;
}

static SiglensWindow *
new_window_without_model (SiglensDownloadPanel **panel_out)
{
  SiglensWindow *window = siglens_window_new (application);

  gtk_window_present (GTK_WINDOW (window));
  test_wait_until (model_settled, window, "the model search");
  g_assert_cmpint (siglens_classifier_get_model_state (siglens_window_get_classifier (window)),
                   ==, SIGLENS_MODEL_STATE_NONE);
  g_assert_cmpstr (siglens_window_get_visible_page (window), ==, "no-model");
  *panel_out = SIGLENS_DOWNLOAD_PANEL (test_window_find (GTK_WIDGET (window),
                                                    SIGLENS_TYPE_DOWNLOAD_PANEL, NULL));
  g_assert_nonnull (*panel_out);
  g_assert_true (gtk_widget_is_visible (GTK_WIDGET (*panel_out)));
  return window;
}

static int
manifest_image_index (const char *id)
{
  const cJSON *image;
  int i = 0;

  cJSON_ArrayForEach (image, cJSON_GetObjectItem (test_manifest (), "images"))
    {
      if (g_strcmp0 (cJSON_GetStringValue (cJSON_GetObjectItem (image, "id")), id) == 0)
        return i;
      i++;
    }
  g_error ("image %s not in the manifest", id);
}

/* Every bar of the chart against the golden probability of its label. */
static void
assert_golden_chart (SiglensWindow *window, const char *image_id)
{
  const cJSON *model = test_manifest_model (GOLDEN_MODEL);
  const cJSON *texts = cJSON_GetObjectItem (model, "texts");
  const cJSON *row = cJSON_GetArrayItem (cJSON_GetObjectItem (cJSON_GetObjectItem (model, "probs"),
                                                              "values"),
                                         manifest_image_index (image_id));
  SiglensScoreChart *chart = siglens_window_get_chart (window);

  g_assert_cmpuint (siglens_score_chart_get_n_bars (chart), ==, N_LABELS);
  for (guint i = 0; i < N_LABELS; i++)
    {
      const char *label = siglens_score_chart_get_label (chart, i);
      double golden = NAN;

      for (int t = FIRST_TEXT; t < FIRST_TEXT + N_LABELS; t++)
        if (g_strcmp0 (cJSON_GetStringValue (cJSON_GetObjectItem (cJSON_GetArrayItem (texts, t),
                                                                  "label")), label) == 0)
          golden = cJSON_GetArrayItem (row, t)->valuedouble;
      g_assert_false (isnan (golden));
      g_assert_cmpfloat_with_epsilon (siglens_score_chart_get_probability (chart, i), golden,
                                      PROBS_ABS);
    }
}

static void
test_download_then_classify (void)
{
  g_autoptr (FakeHub) hub = new_hub ();
  g_autofree char *expected_command = g_strdup_printf ("siglens-cli download --endpoint '%s'",
                                                       fake_hub_endpoint (hub));
  g_autofree char *image = test_data_path ("images/chelsea.png");
  g_autoptr (GFile) file = g_file_new_for_path (image);
  SiglensDownloadPanel *panel;
  SiglensWindow *window = new_window_without_model (&panel);
  const char *model_path;
  g_autofree char *model_path_copy = NULL;

  /* The terminal way is spelled out, exactly, for the server in use. */
  g_assert_cmpstr (siglens_download_panel_get_command (panel), ==, expected_command);
  /* The page fits a phone's width (360 px) in both of its states. */
  {
    int minimum;

    gtk_widget_measure (GTK_WIDGET (window), GTK_ORIENTATION_HORIZONTAL, -1, &minimum, NULL, NULL,
                        NULL);
    g_assert_cmpint (minimum, <=, 360);
  }

  /* The storage stalls after 100 kB; Pause stops the run and keeps what arrived. */
  hub->stall_after = 150 * 1000;
  click (GTK_WIDGET (panel), "_Download SigLIP 2 (4.5 GB)");
  g_assert_true (siglens_download_panel_get_running (panel));
  test_wait_until (bytes_arrived, panel, "the first bytes");
  click (GTK_WIDGET (panel), "_Pause");
  test_wait_until (not_running, panel, "the pause");
  g_assert_true (siglens_download_panel_get_paused (panel));
  g_assert_true (g_str_has_prefix (siglens_download_panel_get_progress_text (panel), "Paused at "));
  g_assert_null (siglens_download_panel_get_error (panel));
  g_assert_cmpstr (siglens_window_get_visible_page (window), ==, "no-model");
  {
    int minimum;

    gtk_widget_measure (GTK_WIDGET (window), GTK_ORIENTATION_HORIZONTAL, -1, &minimum, NULL, NULL,
                        NULL);
    g_assert_cmpint (minimum, <=, 360);
  }

  /* Resume: the rest arrives, is verified, and the model loads in this same window. */
  click (GTK_WIDGET (panel), "_Resume");
  test_wait_until (model_ready, window, "the downloaded model");
  g_assert_cmpstr (siglens_window_get_visible_page (window), ==, "main");
  model_path = siglens_classifier_get_model_path (siglens_window_get_classifier (window));
  g_test_message ("loaded %s", model_path);
  g_assert_true (g_str_has_prefix (model_path, hf_cache));
  model_path_copy = g_strdup (model_path);

  siglens_window_open_file (window, file);
  gtk_editable_set_text (siglens_window_get_labels_entry (window), LABELS);
  g_signal_emit_by_name (siglens_window_get_labels_entry (window), "activate");
  test_wait_until (idle, window, "the scores");
  while (siglens_score_chart_get_n_bars (siglens_window_get_chart (window)) == 0)
    test_wait_until (idle, window, "the scores");
  assert_golden_chart (window, "chelsea");
  test_window_close (window);

  /* The next start finds the download by itself. */
  {
    SiglensWindow *again = siglens_window_new (application);

    gtk_window_present (GTK_WINDOW (again));
    test_wait_until (model_settled, again, "the model");
    g_assert_cmpint (siglens_classifier_get_model_state (siglens_window_get_classifier (again)),
                     ==, SIGLENS_MODEL_STATE_READY);
    test_window_close (again);
  }

  /* Preferences say which folder is in use and remove the download on request. */
  {
    g_autofree char *snapshot = g_strdup (model_path_copy);
    g_autofree char *repo_dir = siglens_hub_cache_repo_dir (hf_cache, SIGLENS_DOWNLOAD_REPO);
    GtkWidget *preferences = siglens_preferences_window_new ();
    SiglensModelStorageGroup *group;
    GPtrArray *downloads;
    AdwMessageDialog *dialog = NULL;
    GList *toplevels;

    gtk_window_present (GTK_WINDOW (preferences));
    group = SIGLENS_MODEL_STORAGE_GROUP (test_window_find (preferences,
                                                      SIGLENS_TYPE_MODEL_STORAGE_GROUP, NULL));
    g_assert_nonnull (group);
    /* The Model Folder row names the download as the folder found. */
    {
      g_autofree char *said = g_strdup_printf ("Found automatically: %s", snapshot);
      GtkWidget *row = preferences;
      gboolean seen = FALSE;

      /* every AdwActionRow, depth first */
      GPtrArray *stack = g_ptr_array_new ();
      g_ptr_array_add (stack, row);
      while (stack->len > 0)
        {
          GtkWidget *w = g_ptr_array_steal_index (stack, stack->len - 1);
          if (ADW_IS_ACTION_ROW (w)
              && g_strcmp0 (adw_action_row_get_subtitle (ADW_ACTION_ROW (w)), said) == 0)
            seen = TRUE;
          for (GtkWidget *c = gtk_widget_get_first_child (w); c != NULL;
               c = gtk_widget_get_next_sibling (c))
            g_ptr_array_add (stack, c);
        }
      g_ptr_array_unref (stack);
      g_assert_true (seen);
    }
    downloads = siglens_model_storage_group_get_downloads (group);
    g_assert_cmpuint (downloads->len, ==, 1);
    g_assert_cmpstr (g_ptr_array_index (downloads, 0), ==, repo_dir);

    click (GTK_WIDGET (group), "Remove");
    toplevels = gtk_window_list_toplevels ();
    for (GList *l = toplevels; l != NULL; l = l->next)
      if (ADW_IS_MESSAGE_DIALOG (l->data))
        dialog = l->data;
    g_list_free (toplevels);
    g_assert_nonnull (dialog);
    /* The confirmation names what goes and where from. */
    g_assert_nonnull (strstr (adw_message_dialog_get_body (dialog), repo_dir));
    adw_message_dialog_response (dialog, "remove");
    g_assert_false (g_file_test (repo_dir, G_FILE_TEST_EXISTS));
    g_assert_cmpuint (siglens_model_storage_group_get_downloads (group)->len, ==, 0);
    gtk_window_destroy (GTK_WINDOW (preferences));
  }
}

static void
test_cancel (void)
{
  g_autoptr (FakeHub) hub = new_hub ();
  SiglensDownloadPanel *panel;
  SiglensWindow *window = new_window_without_model (&panel);
  g_autofree char *repo_dir = siglens_hub_cache_repo_dir (hf_cache, SIGLENS_DOWNLOAD_REPO);
  g_autofree char *blobs = g_build_filename (repo_dir, "blobs", NULL);
  g_autoptr (GDir) dir = NULL;
  const char *name;

  hub->stall_after = 150 * 1000;
  /* This Hub has no smaller model: the 404 is said in words, naming it. */
  click (GTK_WIDGET (panel), "_Smaller Model (1.5 GB)");
  test_wait_until (not_running, panel, "the refused download");
  g_assert_nonnull (strstr (siglens_download_panel_get_error (panel),
                            SIGLENS_DOWNLOAD_SMALL_REPO));

  click (GTK_WIDGET (panel), "_Download SigLIP 2 (4.5 GB)");
  test_wait_until (bytes_arrived, panel, "the first bytes");
  click (GTK_WIDGET (panel), "_Cancel");
  test_wait_until (not_running, panel, "the cancel");
  g_assert_null (siglens_download_panel_get_error (panel));
  /* Back to the choice, with nothing left on disk to fill it. */
  g_assert_true (gtk_widget_is_visible (test_window_find (GTK_WIDGET (panel), GTK_TYPE_BUTTON,
                                                     "_Download SigLIP 2 (4.5 GB)")));
  dir = g_dir_open (blobs, 0, NULL);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    g_assert_false (g_str_has_suffix (name, ".incomplete"));
  g_assert_cmpstr (siglens_window_get_visible_page (window), ==, "no-model");
  test_window_close (window);
}

static void
test_refused (void)
{
  g_autoptr (FakeHub) hub = new_hub ();
  SiglensDownloadPanel *panel;
  SiglensWindow *window = new_window_without_model (&panel);
  const char *error;

  hub->token = g_strdup ("hf_needed");
  click (GTK_WIDGET (panel), "_Download SigLIP 2 (4.5 GB)");
  test_wait_until (not_running, panel, "the refused download");
  error = siglens_download_panel_get_error (panel);
  g_assert_nonnull (error);
  g_test_message ("error: %s", error);
  g_assert_nonnull (strstr (error, "HF_TOKEN"));
  g_assert_cmpstr (siglens_window_get_visible_page (window), ==, "no-model");
  test_window_close (window);
}

int
main (int argc, char *argv[])
{
  g_autoptr (GError) error = NULL;
  g_autofree char *cache_x = test_out_path ("download-window/hf-cache/x");
  g_autofree char *data_x = test_out_path ("download-window/data/x");
  g_autofree char *home_x = test_out_path ("download-window/hf-home/x");
  g_autofree char *home = g_path_get_dirname (home_x);
  g_autofree char *data = g_path_get_dirname (data_x);
  int status;

  /* Before any thread starts: no model, token or endpoint may come from the machine. */
  hf_cache = g_path_get_dirname (cache_x);
  g_mkdir_with_parents (hf_cache, 0755);
  g_mkdir_with_parents (home, 0755);
  g_setenv ("HF_HUB_CACHE", hf_cache, TRUE);
  g_setenv ("HF_HOME", home, TRUE);
  g_setenv ("XDG_DATA_HOME", data, TRUE);
  g_unsetenv ("SIGLENS_MODEL");
  g_unsetenv ("HF_TOKEN");
  g_unsetenv ("HF_TOKEN_PATH");
  g_unsetenv ("HF_ENDPOINT");

  gtk_test_init (&argc, &argv, NULL);

  application = siglens_application_new ();
  g_application_set_flags (G_APPLICATION (application),
                           G_APPLICATION_HANDLES_OPEN | G_APPLICATION_NON_UNIQUE);
  g_application_register (G_APPLICATION (application), NULL, &error);
  g_assert_no_error (error);

  g_test_add_func ("/download-window/download-then-classify", test_download_then_classify);
  g_test_add_func ("/download-window/cancel", test_cancel);
  g_test_add_func ("/download-window/refused", test_refused);

  status = g_test_run ();
  g_object_unref (application);
  g_free (hf_cache);
  return status;
}
