/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * SiglensBatchView — many images at once: a grid of thumbnails, each with its best label and
 * probability (or why it could not be read), filled in as the results arrive, "12 of 340" with
 * a Cancel button above; activating one shows its full chart, Back (or Escape) the grid again.
 * The labels apply to every image; new labels re-score the images from their kept embeddings
 * without running the vision tower again.
 */
#pragma once

#include <gtk/gtk.h>

#include "siglens-batch-item.h"
#include "siglens-classifier.h"
#include "siglens-score-chart.h"

G_BEGIN_DECLS

/* The side of the square a thumbnail fits in, in pixels. */
#define SIGLENS_BATCH_THUMBNAIL_SIZE 160

#define SIGLENS_TYPE_BATCH_VIEW (siglens_batch_view_get_type ())
G_DECLARE_FINAL_TYPE (SiglensBatchView, siglens_batch_view, SIGLENS, BATCH_VIEW, GtkWidget)

GtkWidget         *siglens_batch_view_new            (SiglensClassifier *classifier);

/* Replaces the images with those of `files` (image files as given; folders walked with their
 * subfolders on a worker thread, non-images skipped), then classifies them with the labels
 * last set. */
void               siglens_batch_view_open           (SiglensBatchView *self,
                                                      GFile           **files,
                                                      guint             n_files);
/* Classifies every image with these labels: the images read before only by the text tower. */
void               siglens_batch_view_set_labels     (SiglensBatchView             *self,
                                                      const char *const            *labels,
                                                      const SiglensClassifyOptions *options);
/* Stops the run; the images done keep their results, the others say so. */
void               siglens_batch_view_cancel         (SiglensBatchView *self);

/* SiglensBatchItem, in name order. (transfer none) */
GListModel        *siglens_batch_view_get_items      (SiglensBatchView *self);
/* Images that have a result (scored or failed). */
guint              siglens_batch_view_get_n_done     (SiglensBatchView *self);
/* Files left out because they are not images. */
guint              siglens_batch_view_get_n_skipped  (SiglensBatchView *self);
gboolean           siglens_batch_view_get_running    (SiglensBatchView *self);
/* "12 of 340", as shown above the grid. */
const char        *siglens_batch_view_get_progress_text (SiglensBatchView *self);

/* The detail page: one image's full chart. */
void               siglens_batch_view_show_item      (SiglensBatchView *self,
                                                      guint             position);
void               siglens_batch_view_show_grid      (SiglensBatchView *self);
/* "grid" or "detail". */
const char        *siglens_batch_view_get_page       (SiglensBatchView *self);
/* The item on the detail page, or NULL on the grid. (transfer none) */
SiglensBatchItem  *siglens_batch_view_get_shown_item (SiglensBatchView *self);
SiglensScoreChart *siglens_batch_view_get_chart      (SiglensBatchView *self);
GtkGridView       *siglens_batch_view_get_grid       (SiglensBatchView *self);

/* What the results were computed with, for exports. */
const char *const *siglens_batch_view_get_labels     (SiglensBatchView *self);
const SiglensClassifyOptions *siglens_batch_view_get_options (SiglensBatchView *self);

G_END_DECLS
