/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdlib.h>

#include "siglip.h"
#include "siglens-model-locator.h"

static gboolean
is_model_folder (const char *path)
{
  g_autofree char *config = NULL;

  if (path == NULL || *path == '\0')
    return FALSE;
  config = g_build_filename (path, "config.json", NULL);
  return g_file_test (config, G_FILE_TEST_IS_REGULAR);
}

char *
siglens_model_locator_dup_data_dir (void)
{
  return g_build_filename (g_get_user_data_dir (), "siglens", "models",
                           "siglip2-so400m-patch16-naflex", NULL);
}

/* The Hub id in the Hugging Face cache, or in the app's own cache where downloads go when
 * that one is read-only (the core's resolution looks in both). (transfer full) */
static char *
hf_cache_path (const char *repo_id)
{
  char *resolved = siglip_resolve_model_path (repo_id, NULL);
  char *path = g_strdup (resolved);

  free (resolved);
  return path;
}

char *
siglens_model_locator_find (GSettings *settings)
{
  const char *env = g_getenv ("SIGLENS_MODEL");
  g_autofree char *setting = NULL;
  g_autofree char *cache = NULL;
  g_autofree char *data = NULL;

  /* The environment comes first: it is a deliberate choice for this one run (tests, a
   * classroom laptop with the model on a USB stick); the setting is the everyday choice.
   * Both are explicit, so they are returned even when broken: loading then says what is wrong
   * with them instead of quietly picking another model. */
  if (env != NULL && *env != '\0')
    return g_strdup (env);

  if (settings != NULL)
    {
      setting = g_settings_get_string (settings, "model-folder");
      if (*setting != '\0')
        return g_steal_pointer (&setting);
    }

  /* The default model first; the smaller one the no-model page also offers after it. */
  cache = hf_cache_path (SIGLENS_DEFAULT_MODEL_ID);
  if (is_model_folder (cache))
    return g_steal_pointer (&cache);
  g_free (cache);
  cache = hf_cache_path (SIGLENS_SMALL_MODEL_ID);
  if (is_model_folder (cache))
    return g_steal_pointer (&cache);

  data = siglens_model_locator_dup_data_dir ();
  if (is_model_folder (data))
    return g_steal_pointer (&data);

  return NULL;
}
