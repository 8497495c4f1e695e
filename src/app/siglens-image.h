/* SPDX-License-Identifier: GPL-3.0-or-later */
/* SiglensImage — a decoded picture as the model sees it (upright 8-bit RGB), with its name and a
 * cache of its embedding so new labels do not re-run the vision tower. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define SIGLENS_TYPE_IMAGE (siglens_image_get_type ())
G_DECLARE_FINAL_TYPE (SiglensImage, siglens_image, SIGLENS, IMAGE, GObject)

/* Takes ownership of `pixbuf` (8-bit RGB, no alpha). Safe to call from a worker thread. */
SiglensImage *siglens_image_new (GdkPixbuf  *pixbuf,
                                 const char *name);

const char   *siglens_image_get_name    (SiglensImage *self);
int           siglens_image_get_width   (SiglensImage *self);
int           siglens_image_get_height  (SiglensImage *self);
GdkPixbuf    *siglens_image_get_pixbuf  (SiglensImage *self);
/* For GtkPicture; created on first use, main thread only. (transfer none) */
GdkTexture   *siglens_image_get_texture (SiglensImage *self);

/* The embedding cache, keyed by the model's load serial and the detail level; thread-safe.
 * `lookup` copies `dim` floats into `out` and returns TRUE on a hit. */
gboolean      siglens_image_lookup_embedding (SiglensImage  *self,
                                              guint          model_id,
                                              int            max_patches,
                                              float         *out,
                                              int            dim);
void          siglens_image_store_embedding  (SiglensImage  *self,
                                              guint          model_id,
                                              int            max_patches,
                                              const float   *embedding,
                                              int            dim);

G_END_DECLS
