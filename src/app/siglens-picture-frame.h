/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* A small picture is shown at most this many times its own size. */
#define SIGLENS_PICTURE_FRAME_MAX_SCALE 2

#define SIGLENS_TYPE_PICTURE_FRAME (siglens_picture_frame_get_type ())
G_DECLARE_FINAL_TYPE (SiglensPictureFrame, siglens_picture_frame, SIGLENS, PICTURE_FRAME, GtkWidget)

GtkWidget *siglens_picture_frame_new       (void);
void       siglens_picture_frame_set_child (SiglensPictureFrame *self,
                                            GtkWidget           *child);
GtkWidget *siglens_picture_frame_get_child (SiglensPictureFrame *self);

G_END_DECLS
