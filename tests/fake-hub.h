/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A Hugging Face Hub on 127.0.0.1, in the test process (a real SoupServer on random ports),
 * answering as huggingface.co does: the file list at /api/models/REPO/revision/REV; resolve
 * with 200 and an ETag for small files, and for LFS files a 302 to a second port (another
 * origin: the storage host) with X-Repo-Commit, X-Linked-Etag and X-Linked-Size on the 302;
 * the storage honours Range. Faults are switched on by setting the fields below.
 */
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

#define FAKE_HUB_COMMIT "0123456789abcdef0123456789abcdef01234567"

typedef struct _FakeHub FakeHub;

struct _FakeHub {
  /* Faults: each applies to the next storage GET, then resets itself to 0 / FALSE. */
  gint64      close_after;   /* send this many body bytes, then close the connection */
  gint64      stall_after;   /* send this many body bytes, then nothing more (never closes) */
  gboolean    corrupt;       /* flip one byte in the middle of the body */
  char       *fault_blob;    /* when set, the faults above wait for the GET of this blob
                              * (its sha256) and leave other files alone */
  /* Lasting settings */
  char       *token;         /* when set, API and resolve answer 401 without "Bearer TOKEN" */
  gint64      claimed_size;  /* when > 0, LFS files claim this X-Linked-Size */

  /* What happened */
  gint64      storage_bytes;      /* body bytes the storage sent, in all */
  guint       storage_requests;
  gint64      last_range_from;    /* N of the last storage GET's "Range: bytes=N-"; -1: none */
  gboolean    storage_saw_auth;   /* an Authorization header reached the storage: a leak */
  guint       endpoint_auth_seen; /* requests to the endpoint that carried the token */

  /* private */
  SoupServer *server;
  char       *endpoint;
  char       *storage;
  int         endpoint_port;
  int         storage_port;
  GHashTable *repos;     /* repo id → GPtrArray of FakeFile */
  GPtrArray  *stalled;   /* GIOStream kept open */
};

FakeHub *fake_hub_new (void);
void     fake_hub_free (FakeHub *hub);
/* "http://127.0.0.1:PORT" (transfer none) */
const char *fake_hub_endpoint (FakeHub *hub);

/* Serves `name` in `repo_id` with `contents`; LFS (302 to the storage) when `lfs`. */
void fake_hub_add_file (FakeHub *hub, const char *repo_id, const char *name, GBytes *contents,
                        gboolean lfs);
/* Serves every file of `dir` (following symlinks): *.safetensors and files over 1 MB as LFS. */
void fake_hub_add_dir (FakeHub *hub, const char *repo_id, const char *dir);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (FakeHub, fake_hub_free)

G_END_DECLS
