/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * SiglensClassifier's supersede paths: a request replaced while its job is running. The test
 * hook of siglens-classifier-private.h holds the running job at a known point until the test
 * has made the newer request, so "superseded while running" is a fact of the test, not a race
 * it hopes to win; nothing waits on the clock (the 120 s bound only turns a hang into a
 * failure).
 *
 * Goldens: test_window_assert_chart_golden (test-window-util.h).
 */
#include "siglens-classifier-private.h"
#include "test-util.h"
#include "test-window-util.h"

#define GOLDEN_MODEL "tiny-siglip2-naflex"

static SiglensApplication *application;

static void
drain_main_context (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static gboolean
no_live_jobs_beyond (gpointer data)
{
  return siglens_classifier_test_count_live_jobs () <= GPOINTER_TO_UINT (data);
}

/* ---------------------------------------------------------------------------------------------
 * Load A replaced by load B while A runs
 */

typedef struct {
  GArray *states;    /* SiglensModelState, every notify::model-state */
  GArray *fractions; /* double, every notify::load-fraction */
  guint   n_activity_notifies;
  char   *b_folder;  /* the folder name B's summary must carry on READY */
} Seen;

static void
on_state (SiglensClassifier *classifier, GParamSpec *pspec, Seen *seen)
{
  SiglensModelState state = siglens_classifier_get_model_state (classifier);

  g_array_append_val (seen->states, state);
  if (state == SIGLENS_MODEL_STATE_READY)
    {
      g_autofree char *summary = siglens_classifier_dup_model_summary (classifier);

      /* READY says B is loaded, never A */
      g_test_message ("READY: %s", summary);
      g_assert_true (g_str_has_prefix (summary, seen->b_folder));
    }
}

static void
on_fraction (SiglensClassifier *classifier, GParamSpec *pspec, Seen *seen)
{
  double fraction = siglens_classifier_get_load_fraction (classifier);

  g_array_append_val (seen->fractions, fraction);
}

static void
on_activity (SiglensClassifier *classifier, GParamSpec *pspec, Seen *seen)
{
  seen->n_activity_notifies++;
}

static gboolean
load_settled (gpointer data)
{
  SiglensClassifier *classifier = data;

  return siglens_classifier_get_model_state (classifier) != SIGLENS_MODEL_STATE_LOADING
         && !siglens_classifier_get_busy (classifier);
}

static void
test_load_superseded (void)
{
  g_autofree char *path_a = test_data_path ("tiny-siglip2-naflex-bf16-sharded");
  g_autofree char *path_b = test_data_path (GOLDEN_MODEL);
  g_autoptr (SiglensClassifier) classifier = siglens_classifier_new ();
  Seen seen = {
    .states = g_array_new (FALSE, FALSE, sizeof (SiglensModelState)),
    .fractions = g_array_new (FALSE, FALSE, sizeof (double)),
    .b_folder = g_path_get_basename (path_b),
  };
  guint live_before = siglens_classifier_test_count_live_jobs ();
  guint serial_a;
  double fraction_a;
  TestGate gate;

  /* A's weights checked once before, so that its load reports a step per tensor: a first load
   * reports the finite check of all of them in the check's chunks, and a tiny model's check is
   * one chunk, from well below 0.5 straight to 1 */
  {
    siglip_error *err = NULL;
    siglip_model *m = siglip_model_load (path_a, NULL, &err);

    g_assert_null (err);
    siglip_model_free (m);
  }
  test_gate_init (&gate);
  siglens_classifier_set_test_hook (classifier, test_gate_hook, &gate);
  g_signal_connect (classifier, "notify::model-state", G_CALLBACK (on_state), &seen);

  /* A is held halfway through its load, before it posts that progress report. */
  test_gate_arm (&gate, "load-progress", 0.5);
  siglens_classifier_load_model (classifier, path_a, SIGLENS_PRECISION_FP32);
  serial_a = test_gate_wait_held (&gate);
  fraction_a = gate.held_fraction;
  g_assert_cmpfloat (fraction_a, <, 1.);
  drain_main_context (); /* A's earlier reports, while A was still the newest */

  /* From here on, every number is B's. */
  g_signal_connect (classifier, "notify::load-fraction", G_CALLBACK (on_fraction), &seen);
  g_signal_connect (classifier, "notify::activity", G_CALLBACK (on_activity), &seen);
  siglens_classifier_load_model (classifier, path_b, SIGLENS_PRECISION_FP32);
  test_gate_release (&gate);
  test_wait_until (load_settled, classifier, "load B");
  test_wait_until (no_live_jobs_beyond, GUINT_TO_POINTER (live_before), "the jobs to go");

  /* LOADING (A) -> READY (B): B's request finds the state LOADING already and changes nothing. */
  g_assert_cmpuint (seen.states->len, ==, 2);
  g_assert_cmpint (g_array_index (seen.states, SiglensModelState, 0), ==,
                   SIGLENS_MODEL_STATE_LOADING);
  g_assert_cmpint (g_array_index (seen.states, SiglensModelState, 1), ==,
                   SIGLENS_MODEL_STATE_READY);
  g_assert_cmpstr (siglens_classifier_get_model_path (classifier), ==, path_b);
  g_assert_null (siglens_classifier_get_error_message (classifier));

  /* Progress after B's request: B's own reports (and the 0 and 1 the main thread sets), in
   * order. A's held report (at fraction_a >= 0.5) would show as a step back to B's start. */
  g_assert_cmpuint (seen.fractions->len, >, 1);
  for (guint i = 0; i < seen.fractions->len; i++)
    {
      double f = g_array_index (seen.fractions, double, i);
      gboolean from_b = f == 0. || f == 1.;

      for (guint k = 0; k < gate.progress->len; k++)
        {
          TestProgressCall *call = &g_array_index (gate.progress, TestProgressCall, k);

          if (call->serial != serial_a && call->fraction == f)
            from_b = TRUE;
        }
      g_test_message ("load-fraction %.4f%s", f, from_b ? "" : " (not B's)");
      g_assert_true (from_b);
      if (i > 0)
        g_assert_cmpfloat (f, >=, g_array_index (seen.fractions, double, i - 1));
    }
  g_assert_cmpfloat (g_array_index (seen.fractions, double, seen.fractions->len - 1), ==, 1.);
  /* a load reports no activity, so nothing of A's can have leaked there either */
  g_assert_cmpuint (seen.n_activity_notifies, ==, 0);

  g_signal_handlers_disconnect_by_data (classifier, &seen);
  siglens_classifier_set_test_hook (classifier, NULL, NULL);
  g_array_unref (seen.states);
  g_array_unref (seen.fractions);
  g_free (seen.b_folder);
  test_gate_clear (&gate);
}

/* ---------------------------------------------------------------------------------------------
 * A classify superseded while it runs, in the real window
 */

static void
test_classify_superseded (void)
{
  static const char *const first_labels[] = { "cat", "dog", NULL };
  static const char *const new_labels[] = { "a red car", "coffee", "rocket ship", NULL };
  SiglensWindow *window = test_window_new (application, GOLDEN_MODEL);
  SiglensClassifier *classifier = siglens_window_get_classifier (window);
  guint serial_1, serial_2, live_before;
  TestGate gate;

  test_window_type_labels (window, "cat, dog");
  test_window_open_image (window, "chelsea.png");
  test_window_wait_for_bars (window, 2);
  test_window_assert_chart_golden (window, GOLDEN_MODEL, "chelsea", first_labels);
  test_wait_until (no_live_jobs_beyond, GUINT_TO_POINTER (0), "the first jobs to go");
  live_before = siglens_classifier_test_count_live_jobs ();

  test_gate_init (&gate);
  siglens_classifier_set_test_hook (classifier, test_gate_hook, &gate);

  /* Job 1 (coffee, the old labels) is held once it has started its work... */
  test_gate_arm (&gate, "classify", 0.);
  test_window_open_image (window, "coffee.png");
  serial_1 = test_gate_wait_held (&gate);

  /* ...new labels supersede it, and job 2 is held in turn, so job 1's end is seen alone. */
  test_window_type_labels (window, "a red car, coffee, rocket ship");
  test_gate_arm (&gate, "classify", 0.);
  test_gate_release (&gate);
  serial_2 = test_gate_wait_held (&gate);
  g_assert_cmpuint (serial_2, >, serial_1);
  test_wait_until (no_live_jobs_beyond, GUINT_TO_POINTER (live_before + 1),
                   "job 1 to come home");

  /* Job 1 came home and left no trace: the chart is still chelsea's, no error was shown. */
  test_window_assert_chart_golden (window, GOLDEN_MODEL, "chelsea", first_labels);
  g_assert_null (siglens_window_get_last_error (window));
  g_assert_true (siglens_classifier_get_busy (classifier));

  test_gate_release (&gate);
  test_window_wait_for_bars (window, 3);
  test_window_assert_chart_golden (window, GOLDEN_MODEL, "coffee", new_labels);
  g_assert_cmpstr (siglens_image_get_name (siglens_window_get_image (window)), ==, "coffee.png");
  g_assert_null (siglens_window_get_last_error (window));
  test_wait_until (no_live_jobs_beyond, GUINT_TO_POINTER (live_before), "job 2 to go");

  siglens_classifier_set_test_hook (classifier, NULL, NULL);
  test_gate_clear (&gate);
  test_window_close (window);
}

/* ---------------------------------------------------------------------------------------------
 * The panels' file a first bf16 load writes behind itself, said in the window while it lasts
 */

static char *xdg_cache;   /* this test's own: no other test's file can be found there */

/* Whether a first bf16 load on this CPU goes on writing its weight cache behind it (the AVX2
 * bf16 kernel) rather than inside the load: asked of the core itself, in a folder of its own. */
static gboolean
writes_behind (const char *model)
{
  g_autofree char *cache = test_out_path ("classifier/writes-behind");

  test_empty_folder (cache);
  siglip_load_options options = { .precision = SIGLIP_PRECISION_BF16, .weight_cache_dir = cache };
  siglip_error *err = NULL;
  siglip_model *m = siglip_model_load (model, &options, &err);
  g_assert_null (err);
  gboolean behind = siglip_model_get_info (m)->weight_cache == SIGLIP_WEIGHT_CACHE_WRITING;
  siglip_model_free (m);
  return behind;
}

typedef struct {
  SiglensClassifier *classifier;
  TestGate              *gate;
} WriteWait;

static gboolean
bf16_ready_and_write_held (gpointer data)
{
  WriteWait *w = data;

  return siglens_classifier_get_model_state (w->classifier) == SIGLENS_MODEL_STATE_READY
         && !siglens_classifier_get_busy (w->classifier) && test_gate_is_holding (w->gate);
}

static gboolean
write_not_shown (gpointer data)
{
  return !siglens_classifier_get_writing_weight_cache (data);
}

static void
test_writing_weight_cache (void)
{
  g_autofree char *model = test_data_path (GOLDEN_MODEL);
  SiglensWindow *window = test_window_new (application, GOLDEN_MODEL); /* fp32: writes nothing */
  SiglensClassifier *classifier = siglens_window_get_classifier (window);
  AdwWindowTitle *title = ADW_WINDOW_TITLE (test_window_find (GTK_WIDGET (window),
                                                              ADW_TYPE_WINDOW_TITLE, NULL));
  g_autoptr (GSettings) settings = g_settings_new ("io.github.siglens.Siglens");
  g_autofree char *weights = g_build_filename (xdg_cache, "siglens", "weights", NULL);
  g_autofree char *summary = NULL;
  gboolean behind = writes_behind (model);
  WriteWait wait = { classifier, NULL };
  TestGate gate;

  g_test_message ("a first bf16 load here writes its weight cache %s",
                  behind ? "behind it" : "inside the load");
  g_assert_false (siglens_classifier_get_writing_weight_cache (classifier));
  summary = siglens_classifier_dup_model_summary (classifier);
  g_assert_cmpstr (adw_window_title_get_subtitle (title), ==, summary);
  g_clear_pointer (&summary, g_free);

  /* no file from an earlier run: this bf16 load is a first one */
  test_empty_folder (weights);
  test_gate_init (&gate);
  wait.gate = &gate;
  siglens_classifier_set_test_hook (classifier, test_gate_hook, &gate);
  test_gate_arm (&gate, "weight-cache-ended", 0.);
  g_settings_set_enum (settings, "precision", SIGLENS_PRECISION_BF16);
  if (behind)
    {
      /* the file is written, and the writing thread held as it ends: the window says so */
      test_wait_until (bf16_ready_and_write_held, &wait, "the bf16 load and its write");
      drain_main_context ();
      g_assert_true (siglens_classifier_get_writing_weight_cache (classifier));
      summary = siglens_classifier_dup_model_summary (classifier);
      g_assert_true (g_str_has_suffix (summary, " · bf16 · preparing a faster next start"));
      g_assert_cmpstr (adw_window_title_get_subtitle (title), ==, summary);
      g_clear_pointer (&summary, g_free);
      test_gate_release (&gate);
    }
  else
    test_wait_until (load_settled, classifier, "the bf16 load");
  /* ended (or, packed inside the load, never begun): the plain summary again */
  test_wait_until (write_not_shown, classifier, "the write to be over");
  summary = siglens_classifier_dup_model_summary (classifier);
  g_assert_true (g_str_has_suffix (summary, " · bf16"));
  g_assert_cmpstr (adw_window_title_get_subtitle (title), ==, summary);
  g_assert_cmpint (siglens_classifier_get_model_state (classifier), ==, SIGLENS_MODEL_STATE_READY);
  /* and the file is whole under its name for the next start */
  {
    g_autoptr (GDir) dir = g_dir_open (weights, 0, NULL);
    guint n = 0;

    g_assert_nonnull (dir);
    for (const char *entry; (entry = g_dir_read_name (dir)) != NULL;)
      {
        g_assert_false (g_str_has_suffix (entry, ".tmp"));
        n++;
      }
    g_assert_cmpuint (n, ==, 1);
  }

  siglens_classifier_set_test_hook (classifier, NULL, NULL);
  g_settings_reset (settings, "precision");
  test_gate_clear (&gate);
  test_window_close (window);
}

int
main (int argc, char **argv)
{
  xdg_cache = test_out_path ("classifier/xdg-cache");
  g_setenv ("XDG_CACHE_HOME", xdg_cache, TRUE);
  application = test_window_init ("classifier", &argc, &argv);

  g_test_add_func ("/classifier/load-superseded", test_load_superseded);
  g_test_add_func ("/classifier/classify-superseded", test_classify_superseded);
  g_test_add_func ("/classifier/writing-weight-cache", test_writing_weight_cache);
  return g_test_run ();
}
