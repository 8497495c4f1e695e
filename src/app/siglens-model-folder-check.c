/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Before a chosen model folder is saved, a quick look at what is in it: the files a SigLIP model
 * needs and the model type its config.json names. The core's loader would also refuse a wrong
 * folder, but with the name of the first file it could not open; a person who picked the wrong
 * folder needs to hear what kind of folder it is instead.
 */
#include <glib/gi18n.h>
#include <cjson/cJSON.h>

#include "siglens-model-folder-check.h"

G_DEFINE_QUARK (siglens-model-folder-error-quark, siglens_model_folder_error)

/* The config.json model types the core loads (transformers' SiglipConfig, Siglip2Config). */
static const char *const siglip_model_types[] = { "siglip", "siglip2", NULL };

static gboolean
has_file (const char *folder, const char *name)
{
  g_autofree char *path = g_build_filename (folder, name, NULL);

  return g_file_test (path, G_FILE_TEST_IS_REGULAR);
}

static gboolean
check_config (const char *path, GError **error)
{
  g_autofree char *config_path = g_build_filename (path, "config.json", NULL);
  g_autofree char *contents = NULL;
  gsize length = 0;
  cJSON *config;
  const char *model_type;
  gboolean ok = TRUE;

  if (!g_file_get_contents (config_path, &contents, &length, NULL)
      || (config = cJSON_ParseWithLength (contents, length)) == NULL)
    {
      g_set_error (error, SIGLENS_MODEL_FOLDER_ERROR, SIGLENS_MODEL_FOLDER_ERROR_BAD_CONFIG,
                   /* Translators: %s is a folder */
                   _("The config.json in “%s” cannot be read as a model’s configuration."), path);
      return FALSE;
    }

  model_type = cJSON_GetStringValue (cJSON_GetObjectItemCaseSensitive (config, "model_type"));
  if (model_type == NULL)
    {
      g_set_error (error, SIGLENS_MODEL_FOLDER_ERROR, SIGLENS_MODEL_FOLDER_ERROR_BAD_CONFIG,
                   /* Translators: %s is a folder; model_type is a field name, keep it */
                   _("The config.json in “%s” does not say which model it is (it has no "
                     "model_type)."), path);
      ok = FALSE;
    }
  else if (!g_strv_contains (siglip_model_types, model_type))
    {
      g_set_error (error, SIGLENS_MODEL_FOLDER_ERROR, SIGLENS_MODEL_FOLDER_ERROR_NOT_SIGLIP,
                   /* Translators: the first %s is a folder, the second a model type such as
                    * “bert” or “clip” */
                   _("The folder “%s” holds a “%s” model, not a SigLIP model."), path,
                   model_type);
      ok = FALSE;
    }
  cJSON_Delete (config);
  return ok;
}

gboolean
siglens_model_folder_check (const char  *path,
                            GError     **error)
{
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, SIGLENS_MODEL_FOLDER_ERROR, SIGLENS_MODEL_FOLDER_ERROR_NOT_A_FOLDER,
                   /* Translators: %s is a path */
                   _("“%s” is not a folder."), path);
      return FALSE;
    }
  if (!has_file (path, "config.json"))
    {
      g_set_error (error, SIGLENS_MODEL_FOLDER_ERROR, SIGLENS_MODEL_FOLDER_ERROR_NO_CONFIG,
                   /* Translators: %s is a folder; config.json is a file name, keep it */
                   _("The folder “%s” has no config.json, so it does not hold a model. Choose "
                     "the folder that has config.json and the model’s weights in it."), path);
      return FALSE;
    }
  if (!check_config (path, error))
    return FALSE;
  if (!has_file (path, "model.safetensors") && !has_file (path, "model.safetensors.index.json"))
    {
      g_set_error (error, SIGLENS_MODEL_FOLDER_ERROR, SIGLENS_MODEL_FOLDER_ERROR_NO_WEIGHTS,
                   /* Translators: %s is a folder; model.safetensors is a file name, keep it */
                   _("The folder “%s” has the model’s configuration but not its weights "
                     "(model.safetensors): the download may not have finished."), path);
      return FALSE;
    }
  if (!has_file (path, "tokenizer.json") && !has_file (path, "tokenizer.model"))
    {
      g_set_error (error, SIGLENS_MODEL_FOLDER_ERROR, SIGLENS_MODEL_FOLDER_ERROR_NO_TOKENIZER,
                   /* Translators: %s is a folder; tokenizer.json is a file name, keep it */
                   _("The folder “%s” has the model’s weights but not its tokenizer "
                     "(tokenizer.json)."), path);
      return FALSE;
    }
  return TRUE;
}
