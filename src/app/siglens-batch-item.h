/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * SiglensBatchItem — one image of a folder in the grid: its file, its thumbnail, the embedding
 * the vision tower gave it (kept, so new labels only run the text tower), its scores or why it
 * could not be read. Main thread only; the classifier's batch job fills it through
 * siglens_batch_item_set_result.
 */
#pragma once

#include <gtk/gtk.h>

#include "siglens-classifier.h"

G_BEGIN_DECLS

typedef enum {
  SIGLENS_BATCH_ITEM_PENDING,   /* waiting for its turn */
  SIGLENS_BATCH_ITEM_DONE,      /* scored */
  SIGLENS_BATCH_ITEM_FAILED,    /* see :error */
  SIGLENS_BATCH_ITEM_STOPPED,   /* the run was cancelled before this image */
} SiglensBatchItemState;

#define SIGLENS_TYPE_BATCH_ITEM (siglens_batch_item_get_type ())
G_DECLARE_FINAL_TYPE (SiglensBatchItem, siglens_batch_item, SIGLENS, BATCH_ITEM, GObject)

SiglensBatchItem      *siglens_batch_item_new           (GFile *file);

GFile                 *siglens_batch_item_get_file      (SiglensBatchItem *self);
/* The path as the user would write it (the URI for non-local files). */
const char            *siglens_batch_item_get_path      (SiglensBatchItem *self);
const char            *siglens_batch_item_get_name      (SiglensBatchItem *self);
SiglensBatchItemState  siglens_batch_item_get_state     (SiglensBatchItem *self);
GdkTexture            *siglens_batch_item_get_thumbnail (SiglensBatchItem *self);
const char            *siglens_batch_item_get_error     (SiglensBatchItem *self);
SiglensScores         *siglens_batch_item_get_scores    (SiglensBatchItem *self);
/* What the cell says under the thumbnail: "cat · 93%", the error, "Waiting…". (transfer full) */
char                  *siglens_batch_item_dup_summary   (SiglensBatchItem *self);

/* The embedding the vision tower gave, or NULL, with the model load and patch budget it is
 * valid for (the classifier only reuses it for the same). (transfer none) */
const float           *siglens_batch_item_get_embedding (SiglensBatchItem *self,
                                                         int              *dim,
                                                         guint            *model_id,
                                                         int              *max_patches);

void siglens_batch_item_set_result  (SiglensBatchItem        *self,
                                     const SiglensBatchResult *result);
/* A run that ends before this image marks it stopped; a new run marks it pending again. */
void siglens_batch_item_set_stopped (SiglensBatchItem *self);
void siglens_batch_item_set_pending (SiglensBatchItem *self);

G_END_DECLS
