/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define SIGLENS_MODEL_FOLDER_ERROR (siglens_model_folder_error_quark ())

typedef enum {
  SIGLENS_MODEL_FOLDER_ERROR_NOT_A_FOLDER,
  SIGLENS_MODEL_FOLDER_ERROR_NO_CONFIG,    /* no config.json */
  SIGLENS_MODEL_FOLDER_ERROR_BAD_CONFIG,   /* config.json is not a model configuration */
  SIGLENS_MODEL_FOLDER_ERROR_NOT_SIGLIP,   /* a model, but not SigLIP */
  SIGLENS_MODEL_FOLDER_ERROR_NO_WEIGHTS,   /* no model.safetensors (or its index) */
  SIGLENS_MODEL_FOLDER_ERROR_NO_TOKENIZER, /* no tokenizer.json */
} SiglensModelFolderError;

GQuark   siglens_model_folder_error_quark (void);

/* Looks at `path` without loading the weights: TRUE when it has what a SigLIP model needs,
 * else FALSE with an error whose message is a sentence saying what is missing. */
gboolean siglens_model_folder_check (const char  *path,
                                     GError     **error);

G_END_DECLS
