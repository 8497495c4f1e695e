/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The window the way the classroom tests drive it: a real SiglensWindow with a fixture model,
 * waited on by state, never by the clock (the 120 s bound only turns a hang into a failure). */
#pragma once

#include <adwaita.h>

#include "siglens-application.h"
#include "siglens-window.h"

/* Before gtk_test_init: points HF_HUB_CACHE and XDG_DATA_HOME at empty folders under
 * out/<name>/ so nothing comes from the machine, then creates and registers the application. */
SiglensApplication *test_window_init (const char *name, int *argc, char ***argv);

/* A presented window with tests/data/<model> loaded and ready. */
SiglensWindow *test_window_new (SiglensApplication *application, const char *model);
/* A presented window whose model-folder setting is `folder` verbatim ("" = look in the usual
 * places), as the preferences' folder chooser sets it; returned once the load has settled,
 * whether it succeeded or not. */
SiglensWindow *test_window_new_with_folder (SiglensApplication *application, const char *folder);
/* Destroys the window and checks it and its classifier are finalized. */
void           test_window_close (SiglensWindow *window);
/* The first widget at or under `root` (depth first) of `type` and, unless `label` is NULL, a
 * GtkButton labelled `label`; NULL when there is none. */
GtkWidget     *test_window_find (GtkWidget *root, GType type, const char *label);

/* test_wait_until (test-util.h) on the window's state; a timeout also names the window's
 * last error, which is usually why. */
void           test_window_wait_for (gboolean (*done) (SiglensWindow *window),
                                     SiglensWindow *window, const char *what);
/* Until the classifier is idle and the chart shows `n_bars` bars. */
void           test_window_wait_for_bars (SiglensWindow *window, guint n_bars);

void           test_window_type_labels (SiglensWindow *window, const char *labels);
void           test_window_open_image (SiglensWindow *window, const char *name);

/* The chart shows exactly `labels` (NULL-terminated, any order), each with the golden
 * probability of manifest model `model_name` for image `image_id` and the templated label,
 * within the manifest's probs_abs (3e-5). */
void           test_window_assert_chart_golden (SiglensWindow     *window,
                                                const char        *model_name,
                                                const char        *image_id,
                                                const char *const *labels);

/* Holds one classifier job at an armed test-hook point (siglens-classifier-private.h's
 * siglens_classifier_set_test_hook, with test_gate_hook and the gate as its data) until the
 * test releases it, so "while the job runs" is a fact of the test, not a race it hopes to win.
 * Every "load-progress" call is recorded. */
typedef struct {
  guint  serial;
  double fraction;
} TestProgressCall;

typedef struct {
  GMutex      lock;
  GCond       cond;
  const char *armed_point;  /* the next call at this point (with fraction >= min) is held */
  double      min_fraction;
  gboolean    holding;
  guint       held_serial;
  double      held_fraction;
  GArray     *progress;     /* of TestProgressCall */
} TestGate;

void     test_gate_init (TestGate *gate);
void     test_gate_clear (TestGate *gate);
void     test_gate_hook (const char *point, guint serial, double fraction, gpointer gate);
/* Arms `point` (a static string); a job is held once, then the gate is disarmed. */
void     test_gate_arm (TestGate *gate, const char *point, double min_fraction);
gboolean test_gate_is_holding (gpointer gate);
/* Runs the main loop (a job may start from the window's callbacks) until a job is held;
 * returns its serial. */
guint    test_gate_wait_held (TestGate *gate);
void     test_gate_release (TestGate *gate);
