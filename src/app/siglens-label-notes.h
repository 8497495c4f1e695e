/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "siglip.h"

G_BEGIN_DECLS

/* What the note under the labels entry says about `list`: entries merged because the model reads
 * them the same, and labels past `max_labels` left out. NULL when there is nothing to say.
 * (transfer full) */
char *siglens_label_notes_describe (const siglip_label_list *list,
                                    int                      max_labels);

G_END_DECLS
