/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <errno.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "siglens-download-error.h"
#include "siglens-hub-cache.h"
#include "siglens-hub-parse.h"

/* HF_HOME as huggingface_hub defaults it. (transfer full) */
static char *
hf_home (void)
{
  const char *v = g_getenv ("HF_HOME");

  if (v != NULL && *v != '\0')
    return g_strdup (v);
  return g_build_filename (g_get_user_cache_dir (), "huggingface", NULL);
}

char *
siglens_hub_cache_dir (void)
{
  const char *v = g_getenv ("HF_HUB_CACHE");
  g_autofree char *home = NULL;

  if (v != NULL && *v != '\0')
    return g_strdup (v);
  home = hf_home ();
  return g_build_filename (home, "hub", NULL);
}

char *
siglens_hub_cache_app_dir (void)
{
  return g_build_filename (g_get_user_data_dir (), "siglens", "models", NULL);
}

static gboolean
writable_dir (const char *dir)
{
  return g_mkdir_with_parents (dir, 0755) == 0 && g_access (dir, W_OK | X_OK) == 0;
}

char *
siglens_hub_cache_choose_dir (void)
{
  g_autofree char *shared = siglens_hub_cache_dir ();

  if (writable_dir (shared))
    return g_steal_pointer (&shared);
  return siglens_hub_cache_app_dir ();
}

char *
siglens_hub_cache_repo_dir (const char *cache_dir, const char *repo_id)
{
  g_auto (GStrv) parts = g_strsplit (repo_id, "/", -1);
  g_autofree char *joined = g_strjoinv ("--", parts);
  g_autofree char *name = g_strconcat ("models--", joined, NULL);

  return g_build_filename (cache_dir, name, NULL);
}

char *
siglens_hub_cache_find_snapshot (const char *repo_dir, const char *revision)
{
  g_autofree char *ref = g_build_filename (repo_dir, "refs", revision, NULL);
  g_autofree char *contents = NULL;
  g_autofree char *commit = NULL;
  g_autofree char *snapshot = NULL;
  g_autofree char *config = NULL;

  if (!g_file_get_contents (ref, &contents, NULL, NULL))
    return NULL;
  commit = siglens_hub_normalize_etag (g_strstrip (contents));
  if (commit == NULL)
    return NULL;
  snapshot = g_build_filename (repo_dir, "snapshots", commit, NULL);
  config = g_build_filename (snapshot, "config.json", NULL);
  if (!g_file_test (config, G_FILE_TEST_IS_REGULAR))
    return NULL;
  return g_steal_pointer (&snapshot);
}

static gboolean
set_write_error (GError **error, const char *path, int saved_errno)
{
  g_set_error (error, SIGLENS_DOWNLOAD_ERROR,
               saved_errno == ENOSPC ? SIGLENS_DOWNLOAD_ERROR_DISK_FULL
                                     : SIGLENS_DOWNLOAD_ERROR_WRITE,
               /* Translators: %s is a path, the second %s the system's reason */
               _("Could not write %s: %s"), path, g_strerror (saved_errno));
  return FALSE;
}

gboolean
siglens_hub_cache_link (const char *repo_dir,
                        const char *commit,
                        const char *file,
                        const char *etag,
                        GError    **error)
{
  g_autofree char *link_path = g_build_filename (repo_dir, "snapshots", commit, file, NULL);
  g_autofree char *link_dir = g_path_get_dirname (link_path);
  g_autofree char *tmp_path = g_strconcat (link_path, ".siglens-link", NULL);
  g_autoptr (GString) target = g_string_new (NULL);

  g_return_val_if_fail (siglens_hub_check_file_name (file), FALSE);

  /* From snapshots/COMMIT/a/b/FILE up to the repository folder: two levels plus one per
   * folder inside the repository. */
  g_string_append (target, "../../");
  for (const char *c = file; *c; c++)
    if (*c == '/')
      g_string_append (target, "../");
  g_string_append_printf (target, "blobs/%s", etag);

  if (g_mkdir_with_parents (link_dir, 0755) != 0)
    return set_write_error (error, link_dir, errno);
  /* A link from an earlier run is replaced in one step, never left missing. */
  g_unlink (tmp_path);
  if (symlink (target->str, tmp_path) != 0)
    return set_write_error (error, link_path, errno);
  if (g_rename (tmp_path, link_path) != 0)
    {
      int saved = errno;
      g_unlink (tmp_path);
      return set_write_error (error, link_path, saved);
    }
  return TRUE;
}

gboolean
siglens_hub_cache_write_ref (const char *repo_dir,
                             const char *revision,
                             const char *commit,
                             GError    **error)
{
  g_autofree char *ref = g_build_filename (repo_dir, "refs", revision, NULL);
  g_autofree char *ref_dir = g_path_get_dirname (ref);
  g_autoptr (GError) local_error = NULL;

  if (g_mkdir_with_parents (ref_dir, 0755) != 0)
    return set_write_error (error, ref_dir, errno);
  /* huggingface_hub writes the bare hash, no newline. */
  if (!g_file_set_contents (ref, commit, -1, &local_error))
    {
      g_set_error (error, SIGLENS_DOWNLOAD_ERROR,
                   g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOSPC)
                     ? SIGLENS_DOWNLOAD_ERROR_DISK_FULL : SIGLENS_DOWNLOAD_ERROR_WRITE,
                   "%s", local_error->message);
      return FALSE;
    }
  return TRUE;
}

void
siglens_hub_cache_remove_incomplete (const char *repo_dir)
{
  g_autofree char *blobs = g_build_filename (repo_dir, "blobs", NULL);
  g_autoptr (GDir) dir = g_dir_open (blobs, 0, NULL);
  const char *name;

  if (dir == NULL)
    return;
  while ((name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_suffix (name, ".incomplete"))
      {
        g_autofree char *path = g_build_filename (blobs, name, NULL);
        g_unlink (path);
      }
}

/* Depth-first, never following a symlink (snapshots are full of them). */
static gboolean
remove_tree (const char *path, GError **error)
{
  GStatBuf st;

  if (g_lstat (path, &st) != 0)
    return errno == ENOENT ? TRUE : set_write_error (error, path, errno);
  if (S_ISDIR (st.st_mode))
    {
      g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
      const char *name;

      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          if (!remove_tree (child, error))
            return FALSE;
        }
      if (g_rmdir (path) != 0)
        return set_write_error (error, path, errno);
      return TRUE;
    }
  if (g_unlink (path) != 0)
    return set_write_error (error, path, errno);
  return TRUE;
}

gboolean
siglens_hub_cache_remove_repo (const char *repo_dir, GError **error)
{
  g_autofree char *base = g_path_get_basename (repo_dir);

  if (!g_str_has_prefix (base, "models--"))
    {
      g_set_error (error, SIGLENS_DOWNLOAD_ERROR, SIGLENS_DOWNLOAD_ERROR_BAD_INPUT,
                   /* Translators: %s is a folder */
                   _("%s is not a downloaded model's folder, so it was not removed."), repo_dir);
      return FALSE;
    }
  return remove_tree (repo_dir, error);
}

char *
siglens_hub_read_token (void)
{
  const char *v = g_getenv ("HF_TOKEN");
  g_autofree char *path = NULL;
  g_autofree char *contents = NULL;

  if (v != NULL && *v != '\0')
    return g_strstrip (g_strdup (v));
  v = g_getenv ("HF_TOKEN_PATH");
  if (v != NULL && *v != '\0')
    path = g_strdup (v);
  else
    {
      g_autofree char *home = hf_home ();
      path = g_build_filename (home, "token", NULL);
    }
  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return NULL;
  g_strstrip (contents);
  if (*contents == '\0' || strpbrk (contents, "\r\n") != NULL)
    return NULL;
  return g_steal_pointer (&contents);
}
