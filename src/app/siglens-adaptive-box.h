/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* Narrower than this the two panes stack; wider they sit side by side. */
#define SIGLENS_ADAPTIVE_BOX_FOLD_WIDTH 700

#define SIGLENS_TYPE_ADAPTIVE_BOX (siglens_adaptive_box_get_type ())
G_DECLARE_FINAL_TYPE (SiglensAdaptiveBox, siglens_adaptive_box, SIGLENS, ADAPTIVE_BOX, GtkWidget)

GtkWidget *siglens_adaptive_box_new             (void);
void       siglens_adaptive_box_set_start_child (SiglensAdaptiveBox *self,
                                                 GtkWidget          *child);
GtkWidget *siglens_adaptive_box_get_start_child (SiglensAdaptiveBox *self);
void       siglens_adaptive_box_set_end_child   (SiglensAdaptiveBox *self,
                                                 GtkWidget          *child);
GtkWidget *siglens_adaptive_box_get_end_child   (SiglensAdaptiveBox *self);
/* TRUE while the end child is under the start child. */
gboolean   siglens_adaptive_box_get_folded      (SiglensAdaptiveBox *self);

G_END_DECLS
