/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The prompt ensemble in the window: Preferences' "Prompt Ensemble" switch is the setting, and
 * with it on the chart shows the ensemble's scores (computed here with the core from the same
 * tiny model and image), with it off the one template's again.
 */
#include <math.h>

#include "siglens-decode.h"
#include "siglens-preferences-window.h"
#include "siglens-presets.h"
#include "test-util.h"
#include "test-window-util.h"

static SiglensApplication *application;

/* The probabilities of labels for chelsea.png, with or without the ensemble. */
static void
expected (const char *const *labels, int n, gboolean with_ensemble, float *out)
{
  g_autofree char *dir = test_data_path ("tiny-siglip2-naflex");
  g_autofree char *path = test_data_path ("images/chelsea.png");
  g_autoptr (SiglensRgbImage) rgb = siglens_decode_file (path, 0, NULL);
  siglip_error *err = NULL;
  siglip_model *model = siglip_model_load (dir, NULL, &err);
  siglip_state *state = siglip_state_new (model, &err);
  g_autofree float *image = g_new (float, siglip_model_embed_dim_vision (model));
  g_autofree float *texts = g_new (float, n * siglip_model_embed_dim_text (model));
  g_autofree siglip_score *scores = g_new (siglip_score, n);
  guint n_templates;
  siglip_encode_options options = { 0 };

  if (with_ensemble)
    {
      options.templates = siglens_presets_ensemble_templates (&n_templates);
      options.n_templates = (int) n_templates;
    }
  siglip_image input = { rgb->rgb, rgb->width, rgb->height, rgb->stride };
  g_assert_true (siglip_encode_image (state, &input, NULL, image, NULL, &err));
  g_assert_true (siglip_encode_labels (state, labels, n, &options, texts, &err));
  siglip_score_embeddings (model, image, texts, n, scores);
  for (int i = 0; i < n; i++)
    out[i] = scores[i].probability;
  siglip_state_free (state);
  siglip_model_free (model);
}

static void
assert_chart (SiglensWindow *window, const char *const *labels, const float *probs, int n)
{
  SiglensScoreChart *chart = siglens_window_get_chart (window);

  g_assert_cmpuint (siglens_score_chart_get_n_bars (chart), ==, n);
  for (guint i = 0; i < (guint) n; i++)
    for (int j = 0; j < n; j++)
      if (g_str_equal (siglens_score_chart_get_label (chart, i), labels[j]))
        {
          g_test_message ("%s: %.7f (expected %.7f)", labels[j],
                          siglens_score_chart_get_probability (chart, i), probs[j]);
          g_assert_cmpfloat_with_epsilon (siglens_score_chart_get_probability (chart, i),
                                          probs[j], 1e-6);
        }
}

static GtkSwitch *
find_switch (GtkWidget *widget, const char *row_title)
{
  if (ADW_IS_PREFERENCES_ROW (widget)
      && g_strcmp0 (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (widget)), row_title) == 0)
    {
      GtkWidget *activatable = adw_action_row_get_activatable_widget (ADW_ACTION_ROW (widget));
      return GTK_IS_SWITCH (activatable) ? GTK_SWITCH (activatable) : NULL;
    }
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkSwitch *found = find_switch (child, row_title);
      if (found != NULL)
        return found;
    }
  return NULL;
}

static gboolean
probability_is (gpointer data)
{
  SiglensWindow *window = data;
  float *want = g_object_get_data (G_OBJECT (window), "want");
  SiglensScoreChart *chart = siglens_window_get_chart (window);

  if (siglens_classifier_get_busy (siglens_window_get_classifier (window)))
    return FALSE;
  for (guint i = 0; i < siglens_score_chart_get_n_bars (chart); i++)
    if (g_str_equal (siglens_score_chart_get_label (chart, i), "cat"))
      return fabs (siglens_score_chart_get_probability (chart, i) - want[0]) < 1e-6;
  return FALSE;
}

static void
test_switch_and_scores (void)
{
  const char *labels[] = { "cat", "dog", NULL };
  float with[2], without[2];
  g_autoptr (GSettings) settings = g_settings_new ("io.github.siglens.Siglens");
  GtkWidget *preferences;
  GtkSwitch *sw;
  SiglensWindow *window;

  expected (labels, 2, TRUE, with);
  expected (labels, 2, FALSE, without);
  g_assert_cmpfloat (fabs (with[0] - without[0]), >, 1e-4);

  g_settings_set_boolean (settings, "ensemble", FALSE);
  window = test_window_new (application, "tiny-siglip2-naflex");
  test_window_open_image (window, "chelsea.png");
  test_window_type_labels (window, "cat, dog");
  test_window_wait_for_bars (window, 2);
  assert_chart (window, labels, without, 2);

  /* Switched on in Preferences, as a person does. */
  preferences = siglens_preferences_window_new ();
  gtk_window_present (GTK_WINDOW (preferences));
  sw = find_switch (preferences, "Prompt Ensemble");
  g_assert_nonnull (sw);
  g_assert_false (gtk_switch_get_active (sw));
  gtk_switch_set_active (sw, TRUE);
  g_assert_true (g_settings_get_boolean (settings, "ensemble"));

  g_object_set_data (G_OBJECT (window), "want", with);
  test_wait_until (probability_is, window, "the ensemble's scores");
  assert_chart (window, labels, with, 2);

  gtk_switch_set_active (sw, FALSE);
  g_object_set_data (G_OBJECT (window), "want", without);
  test_wait_until (probability_is, window, "the one template's scores");
  assert_chart (window, labels, without, 2);

  gtk_window_destroy (GTK_WINDOW (preferences));
  test_window_close (window);
}

int
main (int argc, char **argv)
{
  int status;

  application = test_window_init ("ensemble-window", &argc, &argv);

  g_test_add_func ("/ensemble-window/switch-and-scores", test_switch_and_scores);

  status = g_test_run ();
  g_object_unref (application);
  return status;
}
