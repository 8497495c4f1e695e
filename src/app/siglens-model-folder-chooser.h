/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* Shows a native "Open Model Folder" chooser on `parent`; the folder chosen goes into the
 * `model-folder` setting of `settings`, and the window reloads the model when that changes.
 * (transfer full): the caller keeps the chooser so that it can destroy it with its window. */
GtkFileChooserNative *siglens_model_folder_chooser_new (GtkWindow *parent,
                                                        GSettings *settings);

/* What the chooser does with the folder chosen: saves `path` as the model folder if it holds
 * a SigLIP model, else leaves the setting alone and tells the person why in a dialog on
 * `parent`. Returns whether it was saved. */
gboolean              siglens_model_folder_choose      (GtkWindow  *parent,
                                                        GSettings  *settings,
                                                        const char *path);

G_END_DECLS
