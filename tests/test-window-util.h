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
