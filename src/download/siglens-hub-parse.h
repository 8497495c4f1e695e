/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What the Hugging Face Hub says, turned into values: the repository's file list, a file's
 * metadata headers, Content-Range. Pure functions on strings — no network, no files — so a
 * fuzz target can call them on anything.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The `sha` (commit) and the `siblings[].rfilename` of ENDPOINT/api/models/REPO/revision/REV.
 * Names that could leave the snapshot folder ("..", absolute, backslashes) are an error.
 * *files_out: (transfer full) (element-type utf8). */
gboolean siglens_hub_parse_file_list (const char  *json,
                                      gsize        length,
                                      char       **commit_out,
                                      GPtrArray  **files_out,
                                      GError     **error);

/* The model files worth fetching from `files`: the configs and tokenizer, then
 * model.safetensors or else the index and the shards it names in the list.
 * (transfer full) (element-type utf8) */
GPtrArray *siglens_hub_select_files (GPtrArray *files,
                                     GError   **error);

/* A file's metadata as huggingface_hub reads it from the answer to `resolve` (the 302 itself
 * for LFS files): the commit, the etag (X-Linked-Etag over ETag: the sha256 for LFS files, the
 * git blob id for small ones) and the size (X-Linked-Size over Content-Length). */
typedef struct {
  char   *commit; /* NULL when the header was absent */
  char   *etag;   /* normalised, safe as a file name */
  gint64  size;
} SiglensHubFileMeta;

void     siglens_hub_file_meta_clear (SiglensHubFileMeta *meta);
gboolean siglens_hub_parse_file_meta (const char         *x_repo_commit,
                                      const char         *x_linked_etag,
                                      const char         *etag,
                                      const char         *x_linked_size,
                                      const char         *content_length,
                                      SiglensHubFileMeta *meta,
                                      GError            **error);

/* `W/"abc"` or `"abc"` → `abc`; NULL when what remains is empty or holds anything but
 * letters, digits, '-', '_' (it becomes a file name under blobs/). (transfer full) */
char *siglens_hub_normalize_etag (const char *value);

/* A decimal byte count with nothing around it; FALSE for signs, overflow, junk. */
gboolean siglens_hub_parse_size (const char *value,
                                 gint64     *size_out);

/* `bytes START-END/TOTAL` (TOTAL may be `*`, then *total_out = -1). */
gboolean siglens_hub_parse_content_range (const char *value,
                                          gint64     *start_out,
                                          gint64     *end_out,
                                          gint64     *total_out);

/* TRUE for 64 lowercase hex digits: an LFS etag, which is the file's sha256. */
gboolean siglens_hub_etag_is_sha256 (const char *etag);

/* ORG/NAME as the Hub allows it (letters, digits, '-', '_', '.'; no part starting with '.'). */
gboolean siglens_hub_check_repo_id (const char *repo_id,
                                    GError    **error);
/* A branch, tag or commit: no '..', no leading '/', no spaces or control characters. */
gboolean siglens_hub_check_revision (const char *revision,
                                     GError    **error);
/* A relative path inside a repository that cannot walk out of the folder it is put in. */
gboolean siglens_hub_check_file_name (const char *name);

G_END_DECLS
