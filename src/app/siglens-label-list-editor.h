/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define SIGLENS_TYPE_LABEL_LIST_EDITOR (siglens_label_list_editor_get_type ())
G_DECLARE_FINAL_TYPE (SiglensLabelListEditor, siglens_label_list_editor, SIGLENS,
                      LABEL_LIST_EDITOR, GtkWidget)

GtkWidget   *siglens_label_list_editor_new       (void);
/* The one-line entry the list edits: the list shows its labels one per line, and every change
 * in the list is written back to it as "a, b, c". Newlines pasted into the entry become
 * separators too. */
void         siglens_label_list_editor_set_entry (SiglensLabelListEditor *self,
                                                  GtkEditable            *entry);
GtkEditable *siglens_label_list_editor_get_entry (SiglensLabelListEditor *self);
/* Opens the list (as the button does); the text view, for tests. */
void         siglens_label_list_editor_popup     (SiglensLabelListEditor *self);
GtkTextView *siglens_label_list_editor_get_view  (SiglensLabelListEditor *self);

G_END_DECLS
