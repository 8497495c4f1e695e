/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <cjson/cJSON.h>
#include <glib/gi18n-lib.h>
#include <string.h>

#include "siglens-download-error.h"
#include "siglens-hub-parse.h"

/* Config, preprocessing and tokenizer files Siglens reads; those a repository lacks are
 * simply not fetched. */
static const char *const wanted_files[] = {
  "config.json",
  "preprocessor_config.json",
  "tokenizer.json",
  "tokenizer_config.json",
  "special_tokens_map.json",
};

#define WEIGHTS_FILE "model.safetensors"
#define INDEX_FILE   "model.safetensors.index.json"

gboolean
siglens_hub_check_file_name (const char *name)
{
  const char *part;

  if (name == NULL || *name == '\0' || *name == '/' || strlen (name) > 512
      || !g_utf8_validate (name, -1, NULL) || strchr (name, '\\') != NULL)
    return FALSE;
  for (const char *c = name; *c; c++)
    if ((guchar) *c < 0x20 || *c == 0x7f)
      return FALSE;
  /* Every component non-empty and neither "." nor "..". */
  part = name;
  while (TRUE)
    {
      const char *end = strchr (part, '/');
      gsize len = end ? (gsize) (end - part) : strlen (part);

      if (len == 0 || (len == 1 && part[0] == '.') || (len == 2 && part[0] == '.' && part[1] == '.'))
        return FALSE;
      if (end == NULL)
        return TRUE;
      part = end + 1;
    }
}

static gboolean
valid_id_part (const char *s, gsize len)
{
  if (len == 0 || len > 96 || s[0] == '.')
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isalnum (s[i]) && strchr ("-_.", s[i]) == NULL)
      return FALSE;
  return TRUE;
}

gboolean
siglens_hub_check_repo_id (const char *repo_id, GError **error)
{
  const char *slash = repo_id ? strchr (repo_id, '/') : NULL;

  if (slash == NULL || strchr (slash + 1, '/') != NULL
      || !valid_id_part (repo_id, (gsize) (slash - repo_id))
      || !valid_id_part (slash + 1, strlen (slash + 1)))
    {
      g_set_error (error, SIGLENS_DOWNLOAD_ERROR, SIGLENS_DOWNLOAD_ERROR_BAD_INPUT,
                   /* Translators: %s is what was given as a repository id */
                   _("“%s” is not a Hugging Face repository id of the form ORGANISATION/NAME."),
                   repo_id ? repo_id : "");
      return FALSE;
    }
  return TRUE;
}

gboolean
siglens_hub_check_revision (const char *revision, GError **error)
{
  gboolean ok = revision != NULL && *revision != '\0' && strlen (revision) <= 200
                && *revision != '/' && strstr (revision, "..") == NULL;

  for (const char *c = revision; ok && *c; c++)
    ok = (guchar) *c > 0x20 && *c != 0x7f && strchr ("\\?#%", *c) == NULL;
  if (!ok)
    g_set_error (error, SIGLENS_DOWNLOAD_ERROR, SIGLENS_DOWNLOAD_ERROR_BAD_INPUT,
                 /* Translators: %s is what was given as a revision (a branch, tag or commit) */
                 _("“%s” is not a revision: give a branch, a tag or a commit hash."),
                 revision ? revision : "");
  return ok;
}

static void
set_bad_answer (GError **error, const char *what)
{
  g_set_error (error, SIGLENS_DOWNLOAD_ERROR, SIGLENS_DOWNLOAD_ERROR_SERVER,
               /* Translators: %s says what is wrong with the server's answer */
               _("The server's list of the repository's files is not usable: %s."), what);
}

gboolean
siglens_hub_parse_file_list (const char  *json,
                             gsize        length,
                             char       **commit_out,
                             GPtrArray  **files_out,
                             GError     **error)
{
  cJSON *root;
  const cJSON *sha, *siblings, *sibling;
  g_autoptr (GPtrArray) files = NULL;
  g_autofree char *commit = NULL;

  g_return_val_if_fail (json != NULL || length == 0, FALSE);

  root = cJSON_ParseWithLength (json, length);
  if (root == NULL || !cJSON_IsObject (root))
    {
      cJSON_Delete (root);
      set_bad_answer (error, _("it is not a JSON object"));
      return FALSE;
    }

  sha = cJSON_GetObjectItemCaseSensitive (root, "sha");
  siblings = cJSON_GetObjectItemCaseSensitive (root, "siblings");
  if (cJSON_IsString (sha))
    commit = siglens_hub_normalize_etag (sha->valuestring);
  if (commit == NULL)
    {
      cJSON_Delete (root);
      set_bad_answer (error, _("it names no commit (\"sha\")"));
      return FALSE;
    }
  if (!cJSON_IsArray (siblings))
    {
      cJSON_Delete (root);
      set_bad_answer (error, _("it has no \"siblings\" list"));
      return FALSE;
    }

  files = g_ptr_array_new_with_free_func (g_free);
  cJSON_ArrayForEach (sibling, siblings)
    {
      const cJSON *name = cJSON_GetObjectItemCaseSensitive (sibling, "rfilename");

      if (!cJSON_IsString (name) || !siglens_hub_check_file_name (name->valuestring))
        {
          cJSON_Delete (root);
          set_bad_answer (error, _("a file name in it is missing or unsafe"));
          return FALSE;
        }
      g_ptr_array_add (files, g_strdup (name->valuestring));
    }

  if (commit_out != NULL)
    *commit_out = g_steal_pointer (&commit);
  cJSON_Delete (root);
  if (files_out != NULL)
    *files_out = g_steal_pointer (&files);
  return TRUE;
}

static gboolean
has_file (GPtrArray *files, const char *name)
{
  for (guint i = 0; i < files->len; i++)
    if (strcmp (g_ptr_array_index (files, i), name) == 0)
      return TRUE;
  return FALSE;
}

/* model-00001-of-00002.safetensors, as transformers names shards. */
static gboolean
is_shard (const char *name)
{
  const char *p = name;
  gsize digits;

  if (!g_str_has_prefix (p, "model-"))
    return FALSE;
  p += strlen ("model-");
  for (digits = 0; g_ascii_isdigit (p[digits]); digits++)
    ;
  if (digits == 0 || !g_str_has_prefix (p + digits, "-of-"))
    return FALSE;
  p += digits + strlen ("-of-");
  for (digits = 0; g_ascii_isdigit (p[digits]); digits++)
    ;
  return digits > 0 && strcmp (p + digits, ".safetensors") == 0;
}

GPtrArray *
siglens_hub_select_files (GPtrArray *files, GError **error)
{
  g_autoptr (GPtrArray) chosen = g_ptr_array_new_with_free_func (g_free);

  g_return_val_if_fail (files != NULL, NULL);

  if (!has_file (files, "config.json"))
    {
      g_set_error_literal (error, SIGLENS_DOWNLOAD_ERROR, SIGLENS_DOWNLOAD_ERROR_NOT_FOUND,
                           _("The repository has no config.json, so it is not a model Siglens "
                             "can use."));
      return NULL;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (wanted_files); i++)
    if (has_file (files, wanted_files[i]))
      g_ptr_array_add (chosen, g_strdup (wanted_files[i]));

  if (has_file (files, WEIGHTS_FILE))
    g_ptr_array_add (chosen, g_strdup (WEIGHTS_FILE));
  else if (has_file (files, INDEX_FILE))
    {
      g_ptr_array_add (chosen, g_strdup (INDEX_FILE));
      for (guint i = 0; i < files->len; i++)
        if (is_shard (g_ptr_array_index (files, i)))
          g_ptr_array_add (chosen, g_strdup (g_ptr_array_index (files, i)));
    }
  else
    {
      g_set_error_literal (error, SIGLENS_DOWNLOAD_ERROR, SIGLENS_DOWNLOAD_ERROR_NOT_FOUND,
                           _("The repository has no safetensors weights (model.safetensors), "
                             "so it is not a model Siglens can use."));
      return NULL;
    }
  return g_steal_pointer (&chosen);
}

char *
siglens_hub_normalize_etag (const char *value)
{
  const char *start;
  gsize len;

  if (value == NULL)
    return NULL;
  start = value;
  while (*start == ' ' || *start == '\t')
    start++;
  if (g_str_has_prefix (start, "W/"))
    start += 2;
  len = strlen (start);
  while (len > 0 && (start[len - 1] == ' ' || start[len - 1] == '\t'))
    len--;
  if (len >= 2 && start[0] == '"' && start[len - 1] == '"')
    {
      start++;
      len -= 2;
    }
  if (len == 0 || len > 128)
    return NULL;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isalnum (start[i]) && start[i] != '-' && start[i] != '_')
      return NULL;
  return g_strndup (start, len);
}

gboolean
siglens_hub_parse_size (const char *value, gint64 *size_out)
{
  guint64 v = 0;

  if (value == NULL)
    return FALSE;
  while (*value == ' ')
    value++;
  if (!g_ascii_isdigit (*value))
    return FALSE;
  for (; g_ascii_isdigit (*value); value++)
    {
      if (v > (guint64) (G_MAXINT64 - 9) / 10)
        return FALSE;
      v = v * 10 + (guint64) (*value - '0');
    }
  while (*value == ' ')
    value++;
  if (*value != '\0')
    return FALSE;
  *size_out = (gint64) v;
  return TRUE;
}

void
siglens_hub_file_meta_clear (SiglensHubFileMeta *meta)
{
  g_clear_pointer (&meta->commit, g_free);
  g_clear_pointer (&meta->etag, g_free);
  meta->size = -1;
}

gboolean
siglens_hub_parse_file_meta (const char         *x_repo_commit,
                             const char         *x_linked_etag,
                             const char         *etag,
                             const char         *x_linked_size,
                             const char         *content_length,
                             SiglensHubFileMeta *meta,
                             GError            **error)
{
  const char *raw_etag = x_linked_etag != NULL ? x_linked_etag : etag;
  const char *raw_size = x_linked_size != NULL ? x_linked_size : content_length;
  g_autofree char *commit = NULL;
  g_autofree char *normalized = NULL;
  gint64 size = -1;

  memset (meta, 0, sizeof *meta);
  meta->size = -1;

  if (x_repo_commit != NULL && (commit = siglens_hub_normalize_etag (x_repo_commit)) == NULL)
    {
      g_set_error_literal (error, SIGLENS_DOWNLOAD_ERROR, SIGLENS_DOWNLOAD_ERROR_SERVER,
                           _("The server named the file's commit in a form that cannot be used "
                             "(X-Repo-Commit)."));
      return FALSE;
    }
  normalized = siglens_hub_normalize_etag (raw_etag);
  if (normalized == NULL)
    {
      g_set_error_literal (error, SIGLENS_DOWNLOAD_ERROR, SIGLENS_DOWNLOAD_ERROR_SERVER,
                           _("The server did not say which version of the file it sends (no "
                             "usable ETag), so it could not be checked."));
      return FALSE;
    }
  if (!siglens_hub_parse_size (raw_size, &size))
    {
      g_set_error_literal (error, SIGLENS_DOWNLOAD_ERROR, SIGLENS_DOWNLOAD_ERROR_SERVER,
                           _("The server did not say how large the file is, so it could not be "
                             "checked."));
      return FALSE;
    }
  meta->commit = g_steal_pointer (&commit);
  meta->etag = g_steal_pointer (&normalized);
  meta->size = size;
  return TRUE;
}

gboolean
siglens_hub_parse_content_range (const char *value,
                                 gint64     *start_out,
                                 gint64     *end_out,
                                 gint64     *total_out)
{
  g_auto (GStrv) halves = NULL;
  g_auto (GStrv) bounds = NULL;
  gint64 start, end, total = -1;

  if (value == NULL || !g_str_has_prefix (value, "bytes "))
    return FALSE;
  halves = g_strsplit (value + strlen ("bytes "), "/", 3);
  if (g_strv_length (halves) != 2)
    return FALSE;
  bounds = g_strsplit (halves[0], "-", 3);
  if (g_strv_length (bounds) != 2
      || !siglens_hub_parse_size (bounds[0], &start)
      || !siglens_hub_parse_size (bounds[1], &end) || end < start)
    return FALSE;
  if (strcmp (halves[1], "*") != 0 && (!siglens_hub_parse_size (halves[1], &total) || end >= total))
    return FALSE;
  *start_out = start;
  *end_out = end;
  *total_out = total;
  return TRUE;
}

gboolean
siglens_hub_etag_is_sha256 (const char *etag)
{
  if (etag == NULL || strlen (etag) != 64)
    return FALSE;
  for (int i = 0; i < 64; i++)
    if (!g_ascii_isdigit (etag[i]) && !(etag[i] >= 'a' && etag[i] <= 'f'))
      return FALSE;
  return TRUE;
}
