/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* NULL when `template` can be used, else a sentence saying what is wrong. (transfer full) */
char     *siglens_template_dup_problem       (const char  *template);

/* Keeps `editable` and the "template" setting in step, the way g_settings_bind() would, except
 * that text the classifier cannot use is not saved: the field gets the "error" style (and is
 * marked invalid for screen readers) and `note`, if given, says why, until the text is fixed.
 * The editable emits "changed" as usual; siglens_template_editable_is_valid() tells which. */
void      siglens_template_bind              (GSettings   *settings,
                                              GtkEditable *editable,
                                              GtkLabel    *note);
gboolean  siglens_template_editable_is_valid (GtkEditable *editable);

G_END_DECLS
