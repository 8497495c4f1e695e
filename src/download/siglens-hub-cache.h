/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The Hugging Face cache layout on disk, as huggingface_hub writes it, so transformers and
 * huggingface-cli reuse what Siglens fetched and the other way round:
 *
 *   CACHE/models--ORG--NAME/blobs/ETAG             the file's bytes (ETAG.incomplete while
 *                                                  it is being fetched)
 *   CACHE/models--ORG--NAME/snapshots/COMMIT/FILE  a relative symlink to ../../blobs/ETAG
 *   CACHE/models--ORG--NAME/refs/main              the commit, written last
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* $HF_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else
 * ~/.cache/huggingface/hub — where huggingface_hub reads and writes. (transfer full) */
char *siglens_hub_cache_dir (void);

/* The app's own cache in the same layout, for when the shared one cannot be written (the
 * Flatpak shares ~/.cache/huggingface read-only): $XDG_DATA_HOME/siglens/models.
 * (transfer full) */
char *siglens_hub_cache_app_dir (void);

/* The shared cache when it can be created and written, else the app's own. (transfer full) */
char *siglens_hub_cache_choose_dir (void);

/* CACHE/models--ORG--NAME. (transfer full) */
char *siglens_hub_cache_repo_dir (const char *cache_dir,
                                  const char *repo_id);

/* The snapshot refs/REVISION names, when that folder holds config.json. (transfer full) */
char *siglens_hub_cache_find_snapshot (const char *repo_dir,
                                       const char *revision);

/* snapshots/COMMIT/FILE → the blob, relative so the cache can be moved as a whole. */
gboolean siglens_hub_cache_link (const char *repo_dir,
                                 const char *commit,
                                 const char *file,
                                 const char *etag,
                                 GError    **error);

/* refs/REVISION = COMMIT, replaced atomically. */
gboolean siglens_hub_cache_write_ref (const char *repo_dir,
                                      const char *revision,
                                      const char *commit,
                                      GError    **error);

/* Deletes every blobs/\*.incomplete (a cancelled download gives its space back). */
void siglens_hub_cache_remove_incomplete (const char *repo_dir);

/* Deletes a whole models--ORG--NAME folder. Refuses anything that is not one. */
gboolean siglens_hub_cache_remove_repo (const char *repo_dir,
                                        GError    **error);

/* The access token: $HF_TOKEN, else the file huggingface_hub's login writes ($HF_TOKEN_PATH,
 * else $HF_HOME/token, else ~/.cache/huggingface/token). NULL when there is none.
 * (transfer full) */
char *siglens_hub_read_token (void);

G_END_DECLS
