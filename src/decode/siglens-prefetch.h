/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * siglens-prefetch.h — a folder as a pipeline: one thread decodes and preprocesses the next
 * images while the caller runs the vision tower on the current one, so the decode of a large
 * photo hides behind the forward pass. Items come out in the order the paths went in.
 * Shared by siglens-cli, siglens-bench and the app's batch worker.
 */
#pragma once

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <gio/gio.h>

#include "siglip.h"

G_BEGIN_DECLS

typedef struct {
  char *path;
  int index;                /* position in the list given to siglens_prefetch_new */
  siglip_patches *patches;  /* NULL when error is set */
  GError *error;            /* why the file could not be read, decoded or preprocessed */
  int width, height;        /* upright decoded size */
  GdkPixbuf *thumbnail;     /* when asked for (thumbnail_size > 0); NULL on error */
  double decode_seconds;    /* decode + preprocess time on the prefetch thread */
} SiglensPrefetchItem;

void siglens_prefetch_item_free (SiglensPrefetchItem *item);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SiglensPrefetchItem, siglens_prefetch_item_free)

typedef struct _SiglensPrefetch SiglensPrefetch;

/* Starts the thread. `paths` is copied; `model` must outlive the prefetcher. max_patches 0 =
 * the model's default. At most `depth` items wait decoded (0: 2), which bounds the memory held
 * to a few patch buffers however long the list. thumbnail_size > 0 also makes a thumbnail
 * fitting that square. */
SiglensPrefetch     *siglens_prefetch_new (const siglip_model *model, const char *const *paths,
                                           int n_paths, int max_patches, int depth,
                                           int thumbnail_size);
/* Blocks until the next item is ready; NULL after the last one or once cancelled.
 * (transfer full) */
SiglensPrefetchItem *siglens_prefetch_next (SiglensPrefetch *prefetch);
/* Stops the thread, cancelling the decode it is in; siglens_prefetch_next then returns NULL. */
void                 siglens_prefetch_cancel (SiglensPrefetch *prefetch);
/* Cancels, joins the thread and frees what was still queued. */
void                 siglens_prefetch_free (SiglensPrefetch *prefetch);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SiglensPrefetch, siglens_prefetch_free)

G_END_DECLS
