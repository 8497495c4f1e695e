/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * SiglensModelStorageGroup — the Preferences group about downloads: the download server (a
 * mirror where the Hub cannot be reached), and the models downloaded into the Hugging Face
 * cache or the app's folder, each with its size and Remove. (The folder in use is named by the
 * Model Folder row above it.)
 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define SIGLENS_TYPE_MODEL_STORAGE_GROUP (siglens_model_storage_group_get_type ())
G_DECLARE_FINAL_TYPE (SiglensModelStorageGroup, siglens_model_storage_group, SIGLENS,
                      MODEL_STORAGE_GROUP, AdwPreferencesGroup)

/* Reads the folders again (after a download finished elsewhere). */
void        siglens_model_storage_group_refresh (SiglensModelStorageGroup *self);
/* The models--ORG--NAME folders listed, in order. (transfer none) */
GPtrArray  *siglens_model_storage_group_get_downloads (SiglensModelStorageGroup *self);

G_END_DECLS
