/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <glib/gstdio.h>
#include <math.h>

#include "test-util.h"
#include "test-window-util.h"

typedef struct {
  gboolean (*done) (SiglensWindow *window);
  SiglensWindow *window;
} WindowWait;

static gboolean
window_done (gpointer data)
{
  WindowWait *w = data;

  return w->done (w->window);
}

void
test_window_wait_for (gboolean (*done) (SiglensWindow *window), SiglensWindow *window,
                      const char *what)
{
  WindowWait w = { done, window };

  if (!test_spin_until (window_done, &w, TEST_WAIT_SECONDS))
    g_error ("timed out waiting for %s (the window's last error: %s)", what,
             siglens_window_get_last_error (window));
}

SiglensApplication *
test_window_init (const char *name, int *argc, char ***argv)
{
  g_autofree char *cache_rel = g_strdup_printf ("%s/empty-hf-cache/x", name);
  g_autofree char *data_rel = g_strdup_printf ("%s/data/x", name);
  g_autofree char *cache = test_out_path (cache_rel);
  g_autofree char *data = test_out_path (data_rel);
  g_autofree char *sets = NULL;
  g_autoptr (GError) error = NULL;
  SiglensApplication *application;

  /* Before any thread starts and before GLib caches them. */
  g_setenv ("HF_HUB_CACHE", cache, TRUE);
  g_setenv ("XDG_DATA_HOME", data, TRUE);
  g_unsetenv ("HF_HOME");
  g_unsetenv ("SIGLENS_MODEL");

  /* Label sets saved by an earlier run of the same test. */
  sets = g_build_filename (g_get_user_data_dir (), "siglens", "label-sets", NULL);
  {
    g_autoptr (GDir) dir = g_dir_open (sets, 0, NULL);
    const char *file;

    while (dir != NULL && (file = g_dir_read_name (dir)) != NULL)
      {
        g_autofree char *path = g_build_filename (sets, file, NULL);
        g_assert_cmpint (g_remove (path), ==, 0);
      }
  }

  gtk_test_init (argc, argv, NULL);

  application = siglens_application_new ();
  g_application_set_flags (G_APPLICATION (application),
                           G_APPLICATION_HANDLES_OPEN | G_APPLICATION_NON_UNIQUE);
  g_application_register (G_APPLICATION (application), NULL, &error);
  g_assert_no_error (error);
  return application;
}

static gboolean
model_settled (SiglensWindow *window)
{
  SiglensClassifier *classifier = siglens_window_get_classifier (window);

  return siglens_classifier_get_model_state (classifier) != SIGLENS_MODEL_STATE_LOADING;
}

SiglensWindow *
test_window_new_with_folder (SiglensApplication *application, const char *folder)
{
  g_autoptr (GSettings) settings = g_settings_new ("io.github.siglens.Siglens");
  SiglensWindow *window;

  g_settings_set_string (settings, "model-folder", folder);
  window = siglens_window_new (application);
  gtk_window_present (GTK_WINDOW (window));
  test_window_wait_for (model_settled, window, "the model");
  return window;
}

SiglensWindow *
test_window_new (SiglensApplication *application, const char *model)
{
  g_autofree char *path = test_data_path (model);
  SiglensWindow *window = test_window_new_with_folder (application, path);

  g_assert_cmpint (siglens_classifier_get_model_state (siglens_window_get_classifier (window)),
                   ==, SIGLENS_MODEL_STATE_READY);
  return window;
}

static gboolean
weak_ref_gone (gpointer data)
{
  GObject *alive = g_weak_ref_get (data);

  g_clear_object (&alive);
  return alive == NULL;
}

GtkWidget *
test_window_find (GtkWidget *root, GType type, const char *label)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (root, type)
      && (label == NULL
          || (GTK_IS_BUTTON (root) && g_strcmp0 (gtk_button_get_label (GTK_BUTTON (root)), label) == 0)))
    return root;
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = test_window_find (child, type, label);

      if (found != NULL)
        return found;
    }
  return NULL;
}

void
test_window_close (SiglensWindow *window)
{
  GWeakRef classifier;

  g_weak_ref_init (&classifier, siglens_window_get_classifier (window));
  g_object_ref (window);
  gtk_window_destroy (GTK_WINDOW (window));
  g_assert_finalize_object (window);
  /* The classifier goes once its last request has come home. */
  test_wait_until (weak_ref_gone, &classifier, "the classifier to go");
  g_weak_ref_clear (&classifier);
}

typedef struct {
  SiglensWindow *window;
  guint n_bars;
} BarsWait;

static gboolean
bars_shown (gpointer data)
{
  BarsWait *w = data;

  return !siglens_classifier_get_busy (siglens_window_get_classifier (w->window))
         && siglens_score_chart_get_n_bars (siglens_window_get_chart (w->window)) == w->n_bars;
}

void
test_window_wait_for_bars (SiglensWindow *window, guint n_bars)
{
  BarsWait w = { window, n_bars };

  test_wait_until (bars_shown, &w, "the scores");
}

void
test_window_type_labels (SiglensWindow *window, const char *labels)
{
  GtkEditable *entry = siglens_window_get_labels_entry (window);

  gtk_editable_set_text (entry, labels);
  g_signal_emit_by_name (entry, "activate");
}

void
test_window_open_image (SiglensWindow *window, const char *name)
{
  g_autofree char *rel = g_build_filename ("images", name, NULL);
  g_autofree char *path = test_data_path (rel);
  g_autoptr (GFile) file = g_file_new_for_path (path);

  siglens_window_open_file (window, file);
}

/* ---------------------------------------------------------------------------------------------
 * Goldens (added for the hardening tests)
 */

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

void
test_window_assert_chart_golden (SiglensWindow *window, const char *model_name,
                                 const char *image_id, const char *const *labels)
{
  const cJSON *model = test_manifest_model (model_name);
  const cJSON *texts = cJSON_GetObjectItem (model, "texts");
  const cJSON *row = cJSON_GetArrayItem (cJSON_GetObjectItem (cJSON_GetObjectItem (model, "probs"),
                                                              "values"),
                                         manifest_image_index (image_id));
  SiglensScoreChart *chart = siglens_window_get_chart (window);

  g_assert_nonnull (row);
  g_assert_cmpuint (siglens_score_chart_get_n_bars (chart), ==, g_strv_length ((char **) labels));
  for (guint i = 0; i < siglens_score_chart_get_n_bars (chart); i++)
    {
      const char *label = siglens_score_chart_get_label (chart, i);
      float shown = siglens_score_chart_get_probability (chart, i);
      double golden = NAN;
      const cJSON *text;
      int t = 0;

      g_assert_true (g_strv_contains (labels, label));
      cJSON_ArrayForEach (text, texts)
        {
          if (cJSON_IsTrue (cJSON_GetObjectItem (text, "templated"))
              && g_strcmp0 (cJSON_GetStringValue (cJSON_GetObjectItem (text, "label")), label) == 0)
            golden = cJSON_GetArrayItem (row, t)->valuedouble;
          t++;
        }
      g_test_message ("%s: %s %.6f (golden %.6f)", image_id, label, shown, golden);
      g_assert_false (isnan (golden));
      g_assert_cmpfloat_with_epsilon (shown, golden, 3e-5 /* manifest probs_abs: float32 noise */);
    }
}

/* ---------------------------------------------------------------------------------------------
 * The gate
 */

void
test_gate_hook (const char *point, guint serial, double fraction, gpointer data)
{
  TestGate *gate = data;
  TestProgressCall call = { serial, fraction };

  g_mutex_lock (&gate->lock);
  if (g_str_equal (point, "load-progress"))
    g_array_append_val (gate->progress, call);
  if (gate->armed_point != NULL && g_str_equal (point, gate->armed_point)
      && fraction >= gate->min_fraction)
    {
      gate->armed_point = NULL;
      gate->holding = TRUE;
      gate->held_serial = serial;
      gate->held_fraction = fraction;
      g_main_context_wakeup (NULL);
      while (gate->holding)
        g_cond_wait (&gate->cond, &gate->lock);
    }
  g_mutex_unlock (&gate->lock);
}

void
test_gate_init (TestGate *gate)
{
  *gate = (TestGate) { 0 };
  g_mutex_init (&gate->lock);
  g_cond_init (&gate->cond);
  gate->progress = g_array_new (FALSE, FALSE, sizeof (TestProgressCall));
}

void
test_gate_clear (TestGate *gate)
{
  g_array_unref (gate->progress);
  g_cond_clear (&gate->cond);
  g_mutex_clear (&gate->lock);
}

void
test_gate_arm (TestGate *gate, const char *point, double min_fraction)
{
  g_mutex_lock (&gate->lock);
  gate->armed_point = point;
  gate->min_fraction = min_fraction;
  g_mutex_unlock (&gate->lock);
}

gboolean
test_gate_is_holding (gpointer data)
{
  TestGate *gate = data;
  gboolean holding;

  g_mutex_lock (&gate->lock);
  holding = gate->holding;
  g_mutex_unlock (&gate->lock);
  return holding;
}

guint
test_gate_wait_held (TestGate *gate)
{
  test_wait_until (test_gate_is_holding, gate, "the worker to reach the hook");
  return gate->held_serial;
}

void
test_gate_release (TestGate *gate)
{
  g_mutex_lock (&gate->lock);
  gate->holding = FALSE;
  g_cond_broadcast (&gate->cond);
  g_mutex_unlock (&gate->lock);
}
