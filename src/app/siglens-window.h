/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "siglens-application.h"
#include "siglens-classifier.h"
#include "siglens-heatmap-overlay.h"
#include "siglens-presentation-window.h"
#include "siglens-batch-view.h"
#include "siglens-results-export.h"
#include "siglens-score-chart.h"

G_BEGIN_DECLS

#define SIGLENS_TYPE_WINDOW (siglens_window_get_type ())

/* More labels than this are not compared: see limit_labels. */
#define SIGLENS_MAX_LABELS 100
G_DECLARE_FINAL_TYPE (SiglensWindow, siglens_window, SIGLENS, WINDOW, AdwApplicationWindow)

SiglensWindow     *siglens_window_new            (SiglensApplication *application);

/* What a drop, a paste, the file chooser or the command line hand to the window. */
void               siglens_window_open_file      (SiglensWindow *self,
                                                  GFile         *file);
void               siglens_window_open_texture   (SiglensWindow *self,
                                                  GdkTexture    *texture,
                                                  const char    *name);
/* Several files or a folder (walked with its subfolders): the grid of many images. One file
 * that is not a folder opens as a single image. */
void               siglens_window_open_files     (SiglensWindow  *self,
                                                  GFile         **files,
                                                  guint           n_files);
SiglensBatchView  *siglens_window_get_batch_view (SiglensWindow *self);
/* What Export Results writes: the grid's images, or the one image's scores; NULL before there
 * are any. (transfer full) */
SiglensResultsTable *siglens_window_collect_results (SiglensWindow *self);
/* Text dropped or pasted: a URI list or a path. FALSE (and a toast) when it names no file. */
gboolean           siglens_window_open_text      (SiglensWindow *self,
                                                  const char    *text);

/* Classifies now instead of after the typing pause. */
void               siglens_window_update_scores  (SiglensWindow *self);

/* Shows `message` as a toast (and as :last-error, for tests). */
void               siglens_window_tell           (SiglensWindow *self,
                                                  const char    *message);
SiglensClassifier *siglens_window_get_classifier (SiglensWindow *self);
SiglensScoreChart *siglens_window_get_chart      (SiglensWindow *self);
GtkEditable       *siglens_window_get_labels_entry (SiglensWindow *self);
GtkWidget         *siglens_window_get_preset_menu (SiglensWindow *self);
SiglensHeatmapOverlay *siglens_window_get_heatmap_overlay (SiglensWindow *self);
/* The presentation window while it is open (win.presentation, F11), or NULL. */
SiglensPresentationWindow *siglens_window_get_presentation (SiglensWindow *self);
SiglensImage      *siglens_window_get_image      (SiglensWindow *self);
/* "no-model" (status page: none found or it failed to load) or "main". */
const char        *siglens_window_get_visible_page (SiglensWindow *self);
/* What the results area shows: "loading" (the model), "hint" (a sentence: what to do, or that
 * the first scores are being computed) or "chart". */
const char        *siglens_window_get_results_page (SiglensWindow *self);
/* The last error sentence shown to the person (toast or status page), or NULL. */
const char        *siglens_window_get_last_error (SiglensWindow *self);
/* The note under the labels entry while it is shown (too many labels), or NULL. */
const char        *siglens_window_get_labels_note (SiglensWindow *self);

G_END_DECLS
