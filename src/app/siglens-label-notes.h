/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "siglip.h"

G_BEGIN_DECLS

/* The core's label list, owned the GLib way on this side. */
G_DEFINE_AUTOPTR_CLEANUP_FUNC (siglip_label_list, siglip_label_list_free)

/* What the note under the labels entry says about `list`: entries merged because the model reads
 * them the same, and labels past `max_labels` left out. NULL when there is nothing to say.
 * (transfer full) */
char *siglens_label_notes_describe (const siglip_label_list *list,
                                    int                      max_labels);

/* The sentence for labels longer than the text tower reads (`n_unread[i]` tokens of label i
 * past its `max_tokens`), or NULL when every label is read whole. (transfer full) */
char *siglens_label_notes_describe_unread (const char *const *labels,
                                           const int         *n_unread,
                                           guint              n,
                                           int                max_tokens);

G_END_DECLS
