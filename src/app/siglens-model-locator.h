/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Where Siglens looks for its model at start, in order. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define SIGLENS_DEFAULT_MODEL_ID "google/siglip2-so400m-patch16-naflex"
/* Offered for slow machines next to the default (1.5 GB instead of 4.5 GB). */
#define SIGLENS_SMALL_MODEL_ID   "google/siglip2-base-patch16-naflex"

/* The model to load: $SIGLENS_MODEL or the `model-folder` setting when set (as given), else
 * the default model, then the smaller one, in the Hugging Face cache or the app's own cache
 * (where downloads go when the shared one is read-only), else the app's data folder when it
 * holds config.json; NULL when there is none. (transfer full) */
char *siglens_model_locator_find (GSettings *settings);

/* The app's own plain model folder, where people may put a model by hand (downloads go next to
 * it, in the Hugging Face layout: siglens_hub_cache_app_dir): $XDG_DATA_HOME/siglens/models/siglip2-so400m-patch16-naflex. (transfer full) */
char *siglens_model_locator_dup_data_dir (void);

G_END_DECLS
