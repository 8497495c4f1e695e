/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The run, step by step, each step an async call on the caller's main context:
 *
 *   list     GET ENDPOINT/api/models/REPO/revision/REV → commit and file names
 *   check    HEAD ENDPOINT/REPO/resolve/COMMIT/FILE per file, redirects not followed: the
 *            metadata (X-Repo-Commit, X-Linked-Etag, X-Linked-Size) is on the 302 itself, and
 *            its Location is where the bytes are. Then free space against what is missing.
 *   fetch    per file: GET the bytes (Range from the end of BLOB.incomplete), hashing as they
 *            arrive, into BLOB.incomplete; size and sha256 checked; renamed to BLOB
 *   link     every snapshots/COMMIT/FILE → ../../blobs/BLOB once all blobs are there, then
 *            refs/REV = COMMIT, last, so a half-done snapshot is never the one found.
 *
 * The Authorization header goes only to the endpoint's own origin: a message to any other
 * host (the storage a 302 points at) is built without it.
 */
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <string.h>

#include "siglens-downloader.h"
#include "siglens-hub-cache.h"
#include "siglens-hub-parse.h"

#define READ_CHUNK        (256 * 1024)
#define MAX_REDIRECTS     5
#define NOTIFY_INTERVAL_US (100 * 1000)
#define SPEED_INTERVAL_US  (1000 * 1000)
/* Left free beyond the files themselves: a full disk breaks everything else on the machine. */
#define SPARE_BYTES       (64 * 1000 * 1000)

G_DEFINE_ENUM_TYPE (SiglensDownloadPhase, siglens_download_phase,
  G_DEFINE_ENUM_VALUE (SIGLENS_DOWNLOAD_PHASE_IDLE, "idle"),
  G_DEFINE_ENUM_VALUE (SIGLENS_DOWNLOAD_PHASE_LISTING, "listing"),
  G_DEFINE_ENUM_VALUE (SIGLENS_DOWNLOAD_PHASE_CHECKING, "checking"),
  G_DEFINE_ENUM_VALUE (SIGLENS_DOWNLOAD_PHASE_DOWNLOADING, "downloading"),
  G_DEFINE_ENUM_VALUE (SIGLENS_DOWNLOAD_PHASE_VERIFYING, "verifying"),
  G_DEFINE_ENUM_VALUE (SIGLENS_DOWNLOAD_PHASE_DONE, "done"))

struct _SiglensDownloader
{
  GObject               parent_instance;

  char                 *repo_id;
  char                 *revision;
  char                 *endpoint;
  char                 *cache_dir;
  char                 *repo_dir;
  SoupSession          *session;

  SiglensDownloadPhase  phase;
  char                 *current_file;
  gint64                bytes_done;
  gint64                bytes_total;
  gint64                bytes_fetched;
  double                speed;
  gint64                last_notify_us;
  gint64                speed_since_us;
  gint64                speed_since_bytes;
  gboolean              running;
};

G_DEFINE_FINAL_TYPE (SiglensDownloader, siglens_downloader, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_REPO_ID,
  PROP_REVISION,
  PROP_ENDPOINT,
  PROP_PHASE,
  PROP_CURRENT_FILE,
  PROP_BYTES_DONE,
  PROP_BYTES_TOTAL,
  PROP_BYTES_FETCHED,
  PROP_SPEED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* One file of the run. */
typedef struct {
  char               *name;
  SiglensHubFileMeta  meta;
  char               *url;         /* where the bytes are: the resolve URL or the Location */
  gboolean            present;     /* BLOB exists with the right size: nothing to fetch */
} HubFile;

static void
hub_file_free (HubFile *file)
{
  g_free (file->name);
  siglens_hub_file_meta_clear (&file->meta);
  g_free (file->url);
  g_free (file);
}

/* The task data of one run. */
typedef struct {
  char              *token;
  GUri              *endpoint_uri;
  char              *commit;
  GPtrArray         *files;      /* HubFile */
  guint              index;
  guint              redirects;
  char              *check_url;  /* the URL the HEAD of files[index] went to */

  /* The file being fetched */
  char              *incomplete;
  gint64             offset;     /* bytes of it on disk */
  gint64             done_before; /* bytes_done of all earlier files */
  GChecksum         *sha256;     /* NULL when the etag is not a sha256 */
  GInputStream      *body;
  GOutputStream     *out;
  gboolean           restarted;  /* the range was refused once and the file started over */
} RunData;

static void
run_data_free (RunData *data)
{
  g_free (data->token);
  g_clear_pointer (&data->endpoint_uri, g_uri_unref);
  g_free (data->commit);
  g_clear_pointer (&data->files, g_ptr_array_unref);
  g_free (data->check_url);
  g_free (data->incomplete);
  g_clear_pointer (&data->sha256, g_checksum_free);
  g_clear_object (&data->body);
  g_clear_object (&data->out);
  g_free (data);
}

static HubFile *
current (RunData *data)
{
  return g_ptr_array_index (data->files, data->index);
}

static void fetch_next (GTask *task);
static void check_next (GTask *task);
static void read_next (GTask *task);

/* ---------------------------------------------------------------------------------------------
 * Progress
 */

static void
set_phase (SiglensDownloader *self, SiglensDownloadPhase phase)
{
  if (self->phase == phase)
    return;
  self->phase = phase;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PHASE]);
}

static void
set_current_file (SiglensDownloader *self, const char *name)
{
  if (g_strcmp0 (self->current_file, name) == 0)
    return;
  g_free (self->current_file);
  self->current_file = g_strdup (name);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CURRENT_FILE]);
}

static void
update_speed (SiglensDownloader *self, gint64 now)
{
  gint64 dt = now - self->speed_since_us;
  double rate;

  if (self->speed_since_us == 0)
    {
      self->speed_since_us = now;
      self->speed_since_bytes = self->bytes_fetched;
      return;
    }
  if (dt < SPEED_INTERVAL_US)
    return;
  rate = (double) (self->bytes_fetched - self->speed_since_bytes) * G_USEC_PER_SEC / (double) dt;
  /* Smoothed over a few seconds, so the time left does not jump with every burst. */
  self->speed = self->speed > 0 ? 0.7 * self->speed + 0.3 * rate : rate;
  self->speed_since_us = now;
  self->speed_since_bytes = self->bytes_fetched;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SPEED]);
}

/* `force` at the end of each file, so the last numbers are always shown. */
static void
set_bytes_done (SiglensDownloader *self, gint64 done, gboolean force)
{
  gint64 now = g_get_monotonic_time ();

  self->bytes_done = done;
  update_speed (self, now);
  if (!force && now - self->last_notify_us < NOTIFY_INTERVAL_US)
    return;
  self->last_notify_us = now;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BYTES_FETCHED]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BYTES_DONE]);
}

/* ---------------------------------------------------------------------------------------------
 * Errors in plain words
 */

static gboolean
is_unreachable (const GError *error)
{
  return error->domain == G_RESOLVER_ERROR || error->domain == G_TLS_ERROR
         || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED)
         || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_HOST_UNREACHABLE)
         || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NETWORK_UNREACHABLE)
         || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_HOST_NOT_FOUND)
         || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PROXY_FAILED)
         || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT);
}

/* A failed request before any body arrived. Cancellation passes through unchanged. */
static void
return_transport_error (GTask *task, GError *error, const char *url)
{
  g_autoptr (GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  const char *host = uri != NULL && g_uri_get_host (uri) != NULL ? g_uri_get_host (uri) : url;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_task_return_error (task, error);
  else if (is_unreachable (error))
    {
      g_task_return_new_error (task, SIGLENS_DOWNLOAD_ERROR, SIGLENS_DOWNLOAD_ERROR_NETWORK,
                               /* Translators: %s is a host name, the second %s the reason */
                               _("Could not reach %s (%s). Check the internet connection; where "
                                 "the Hub is blocked, a mirror can be set as the download "
                                 "server."), host, error->message);
      g_error_free (error);
    }
  else
    {
      g_task_return_new_error (task, SIGLENS_DOWNLOAD_ERROR, SIGLENS_DOWNLOAD_ERROR_INTERRUPTED,
                               /* Translators: %s is a host name, the second %s the reason */
                               _("The connection to %s broke (%s). Start the download again to "
                                 "continue where it stopped."), host, error->message);
      g_error_free (error);
    }
}

/* An HTTP status other than the one wanted; `file` NULL for the file list. */
static void
return_status_error (GTask *task, SoupMessage *msg, const char *file)
{
  SiglensDownloader *self = g_task_get_source_object (task);
  RunData *data = g_task_get_task_data (task);
  guint status = soup_message_get_status (msg);

  if (status == SOUP_STATUS_UNAUTHORIZED || status == SOUP_STATUS_FORBIDDEN)
    {
      if (data->token != NULL)
        g_task_return_new_error (task, SIGLENS_DOWNLOAD_ERROR, SIGLENS_DOWNLOAD_ERROR_UNAUTHORIZED,
                                 /* Translators: %s is a repository id, %u an HTTP status */
                                 _("The server refused access to %s (HTTP %u) with the token "
                                   "given. The model may be gated: accept its terms on its web "
                                   "page with the account the token belongs to, or check that "
                                   "the token in HF_TOKEN (or saved by “huggingface-cli login”) "
                                   "is valid."), self->repo_id, status);
      else
        g_task_return_new_error (task, SIGLENS_DOWNLOAD_ERROR, SIGLENS_DOWNLOAD_ERROR_UNAUTHORIZED,
                                 /* Translators: %s is a repository id, %u an HTTP status */
                                 _("The server refused access to %s (HTTP %u): the repository is "
                                   "gated or private, or does not exist. If you have access, "
                                   "create an access token in your Hugging Face account settings "
                                   "and put it in the HF_TOKEN environment variable, or save it "
                                   "with “huggingface-cli login”."), self->repo_id, status);
    }
  else if (status == SOUP_STATUS_NOT_FOUND && file == NULL)
    g_task_return_new_error (task, SIGLENS_DOWNLOAD_ERROR, SIGLENS_DOWNLOAD_ERROR_NOT_FOUND,
                             /* Translators: a repository id, a revision, a server address */
                             _("There is no repository %s with revision %s on %s. Check the "
                               "name."), self->repo_id, self->revision, self->endpoint);
  else if (status == SOUP_STATUS_NOT_FOUND)
    g_task_return_new_error (task, SIGLENS_DOWNLOAD_ERROR, SIGLENS_DOWNLOAD_ERROR_NOT_FOUND,
                             /* Translators: a file name, then a repository id */
                             _("The server has no file %s in %s (HTTP 404)."), file,
                             self->repo_id);
  else
    g_task_return_new_error (task, SIGLENS_DOWNLOAD_ERROR, SIGLENS_DOWNLOAD_ERROR_SERVER,
                             /* Translators: %u an HTTP status, %s its reason, then a file or
                              * repository; try again later */
                             _("The server answered HTTP %u (%s) for %s. Try again later."),
                             status, soup_message_get_reason_phrase (msg) != NULL ? soup_message_get_reason_phrase (msg) : "",
                             file != NULL ? file : self->repo_id);
}

/* ---------------------------------------------------------------------------------------------
 * Messages
 */

static int
effective_port (GUri *uri)
{
  int port = g_uri_get_port (uri);

  if (port > 0)
    return port;
  return g_ascii_strcasecmp (g_uri_get_scheme (uri), "https") == 0 ? 443 : 80;
}

static gboolean
same_origin (GUri *a, GUri *b)
{
  return g_ascii_strcasecmp (g_uri_get_scheme (a), g_uri_get_scheme (b)) == 0
         && g_ascii_strcasecmp (g_uri_get_host (a), g_uri_get_host (b)) == 0
         && effective_port (a) == effective_port (b);
}

/* A message to `url` that carries the token only when `url` is on the endpoint's origin.
 * Redirects are never followed by libsoup: a followed redirect would carry the headers of the
 * first request to another host. NULL for a URL libsoup cannot use. */
static SoupMessage *
new_message (RunData *data, const char *method, const char *url)
{
  g_autoptr (GUri) uri = g_uri_parse (url, SOUP_HTTP_URI_FLAGS, NULL);
  SoupMessage *msg;
  SoupMessageHeaders *headers;

  if (uri == NULL || g_uri_get_host (uri) == NULL)
    return NULL;
  msg = soup_message_new_from_uri (method, uri);
  soup_message_add_flags (msg, SOUP_MESSAGE_NO_REDIRECT);
  headers = soup_message_get_request_headers (msg);
  /* Sizes and ranges are of the bytes as stored, never of a compressed transfer. */
  soup_message_headers_replace (headers, "Accept-Encoding", "identity");
  if (data->token != NULL && same_origin (uri, data->endpoint_uri))
    {
      g_autofree char *auth = g_strconcat ("Bearer ", data->token, NULL);
      soup_message_headers_replace (headers, "Authorization", auth);
    }
  return msg;
}

static char *
resolve_url (SiglensDownloader *self, RunData *data, const char *file)
{
  g_autofree char *rev = g_uri_escape_string (data->commit, NULL, FALSE);
  g_autofree char *path = g_uri_escape_string (file, "/", FALSE);

  /* The commit, not the branch: every file then comes from the same snapshot even if the
   * branch moves while we download. */
  return g_strdup_printf ("%s/%s/resolve/%s/%s", self->endpoint, self->repo_id, rev, path);
}

/* ---------------------------------------------------------------------------------------------
 * The end
 */

static void
finish_run (GTask *task)
{
  SiglensDownloader *self = g_task_get_source_object (task);
  RunData *data = g_task_get_task_data (task);
  g_autoptr (GError) error = NULL;

  /* The snapshot appears only now, whole: a loader that takes "the only snapshot" when
   * refs/main is missing never sees half of one. */
  for (guint i = 0; i < data->files->len; i++)
    {
      HubFile *file = g_ptr_array_index (data->files, i);

      if (!siglens_hub_cache_link (self->repo_dir, data->commit, file->name, file->meta.etag,
                                   &error))
        {
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
    }
  if (g_strcmp0 (self->revision, data->commit) != 0
      && !siglens_hub_cache_write_ref (self->repo_dir, self->revision, data->commit, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  set_current_file (self, NULL);
  set_bytes_done (self, self->bytes_total, TRUE);
  set_phase (self, SIGLENS_DOWNLOAD_PHASE_DONE);
  g_task_return_pointer (task, g_build_filename (self->repo_dir, "snapshots", data->commit, NULL),
                         g_free);
}

/* ---------------------------------------------------------------------------------------------
 * Fetching one file
 */

static char *
blob_path (SiglensDownloader *self, HubFile *file)
{
  return g_build_filename (self->repo_dir, "blobs", file->meta.etag, NULL);
}

/* The body ended before the size the server announced (the libsoup error, or a body that
 * simply stopped): a flaky connection or a proxy cutting long transfers. */
static void
return_closed_early (GTask *task, gint64 have)
{
  RunData *data = g_task_get_task_data (task);
  HubFile *file = current (data);
  g_autofree char *have_s = g_format_size ((guint64) have);
  g_autofree char *size_s = g_format_size ((guint64) file->meta.size);

  g_task_return_new_error (task, SIGLENS_DOWNLOAD_ERROR, SIGLENS_DOWNLOAD_ERROR_INTERRUPTED,
                           /* Translators: a file, bytes so far, its size; the download can be
                            * started again and continues */
                           _("The server closed the connection early: %s of %s of %s arrived. "
                             "Start the download again to continue where it stopped."),
                           have_s, size_s, file->name);
}

static void
file_complete (GTask *task)
{
  SiglensDownloader *self = g_task_get_source_object (task);
  RunData *data = g_task_get_task_data (task);
  HubFile *file = current (data);
  g_autofree char *blob = blob_path (self, file);
  GStatBuf st;
  gint64 on_disk = g_stat (data->incomplete, &st) == 0 ? (gint64) st.st_size : -1;

  if (on_disk != file->meta.size)
    {
      return_closed_early (task, MAX (on_disk, 0));
      return;
    }
  if (data->sha256 != NULL && strcmp (g_checksum_get_string (data->sha256), file->meta.etag) != 0)
    {
      /* What is on disk is not the file: resuming it could never give the right one. */
      g_unlink (data->incomplete);
      g_task_return_new_error (task, SIGLENS_DOWNLOAD_ERROR, SIGLENS_DOWNLOAD_ERROR_CHECKSUM,
                               /* Translators: %s is a file name */
                               _("%s arrived damaged (its checksum is wrong) and was deleted. "
                                 "Start the download again to fetch it anew."), file->name);
      return;
    }
  if (g_rename (data->incomplete, blob) != 0)
    {
      int saved = errno;
      g_task_return_new_error (task, SIGLENS_DOWNLOAD_ERROR, SIGLENS_DOWNLOAD_ERROR_WRITE,
                               _("Could not write %s: %s"), blob, g_strerror (saved));
      return;
    }
  data->done_before += file->meta.size;
  set_bytes_done (self, data->done_before, TRUE);
  data->index++;
  fetch_next (task);
}

static void
return_write_error (GTask *task, GError *error)
{
  RunData *data = g_task_get_task_data (task);
  HubFile *file = current (data);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_task_return_error (task, error);
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE))
    {
      g_task_return_new_error (task, SIGLENS_DOWNLOAD_ERROR, SIGLENS_DOWNLOAD_ERROR_DISK_FULL,
                               /* Translators: a file name; the download can continue later */
                               _("The disk is full: %s could not be written. Free some space, "
                                 "then start the download again to continue where it stopped."),
                               file->name);
      g_error_free (error);
    }
  else
    {
      g_task_return_new_error (task, SIGLENS_DOWNLOAD_ERROR, SIGLENS_DOWNLOAD_ERROR_WRITE,
                               _("Could not write %s: %s"), data->incomplete, error->message);
      g_error_free (error);
    }
}

static void
on_written (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  GError *error = NULL;

  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error))
    {
      return_write_error (task, error);
      return;
    }
  read_next (task);
}

static void
on_closed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  GError *error = NULL;

  if (!g_output_stream_close_finish (G_OUTPUT_STREAM (source), result, &error))
    {
      return_write_error (task, error);
      return;
    }
  file_complete (task);
}

static void
on_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  SiglensDownloader *self = g_task_get_source_object (task);
  RunData *data = g_task_get_task_data (task);
  HubFile *file = current (data);
  g_autoptr (GError) error = NULL;
  g_autoptr (GBytes) bytes = NULL;
  gsize n;

  bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, &error);
  if (bytes == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_task_return_error (task, g_steal_pointer (&error));
      else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_PARTIAL_INPUT))
        return_closed_early (task, data->offset);
      else
        {
          g_autofree char *have_s = g_format_size ((guint64) data->offset);
          g_autofree char *size_s = g_format_size ((guint64) file->meta.size);

          g_task_return_new_error (task, SIGLENS_DOWNLOAD_ERROR,
                                   SIGLENS_DOWNLOAD_ERROR_INTERRUPTED,
                                   /* Translators: a file, bytes so far, its size, the reason */
                                   _("The connection broke while fetching %s (%s of %s arrived: "
                                     "%s). Start the download again to continue where it "
                                     "stopped."), file->name, have_s, size_s, error->message);
        }
      return;
    }
  n = g_bytes_get_size (bytes);
  if (n == 0)
    {
      g_output_stream_close_async (data->out, G_PRIORITY_DEFAULT, g_task_get_cancellable (task),
                                   on_closed, g_object_ref (task));
      return;
    }
  if (data->offset + (gint64) n > file->meta.size)
    {
      g_task_return_new_error (task, SIGLENS_DOWNLOAD_ERROR, SIGLENS_DOWNLOAD_ERROR_SERVER,
                               /* Translators: %s is a file name */
                               _("The server sent more of %s than the file's size it announced."),
                               file->name);
      return;
    }
  if (data->sha256 != NULL)
    g_checksum_update (data->sha256, g_bytes_get_data (bytes, NULL), n);
  data->offset += (gint64) n;
  self->bytes_fetched += (gint64) n;
  set_bytes_done (self, data->done_before + data->offset, FALSE);
  g_output_stream_write_all_async (data->out, g_bytes_get_data (bytes, NULL), n,
                                   G_PRIORITY_DEFAULT, g_task_get_cancellable (task),
                                   on_written, g_object_ref (task));
  /* write_all does not keep the buffer alive: the task data does, until the next read. */
  g_object_set_data_full (G_OBJECT (task), "siglens-chunk", g_steal_pointer (&bytes),
                          (GDestroyNotify) g_bytes_unref);
}

static void
read_next (GTask *task)
{
  RunData *data = g_task_get_task_data (task);

  g_input_stream_read_bytes_async (data->body, READ_CHUNK, G_PRIORITY_DEFAULT,
                                   g_task_get_cancellable (task), on_read, g_object_ref (task));
}

static void start_get (GTask *task);

/* Start the file over from its first byte (the server ignored or refused our range). */
static gboolean
restart_from_zero (GTask *task)
{
  RunData *data = g_task_get_task_data (task);

  data->offset = 0;
  if (data->sha256 != NULL)
    g_checksum_reset (data->sha256);
  return g_unlink (data->incomplete) == 0 || errno == ENOENT;
}

static void
on_get_sent (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  RunData *data = g_task_get_task_data (task);
  HubFile *file = current (data);
  SoupMessage *msg = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  g_autoptr (GInputStream) body = NULL;
  g_autoptr (GFile) out_file = NULL;
  GError *error = NULL;
  guint status;

  body = soup_session_send_finish (SOUP_SESSION (source), result, &error);
  if (body == NULL)
    {
      return_transport_error (task, error, file->url);
      return;
    }
  status = soup_message_get_status (msg);
  if (status == SOUP_STATUS_PARTIAL_CONTENT && data->offset > 0)
    {
      gint64 start, end, total;
      const char *range = soup_message_headers_get_one (soup_message_get_response_headers (msg),
                                                        "Content-Range");

      if (!siglens_hub_parse_content_range (range, &start, &end, &total) || start != data->offset
          || (total >= 0 && total != file->meta.size))
        {
          g_task_return_new_error (task, SIGLENS_DOWNLOAD_ERROR, SIGLENS_DOWNLOAD_ERROR_SERVER,
                                   /* Translators: %s is a file name */
                                   _("The server sent another part of %s than was asked for."),
                                   file->name);
          return;
        }
    }
  else if (status == SOUP_STATUS_OK)
    {
      /* A server without ranges sends the whole file: start it over. */
      if (data->offset > 0 && !restart_from_zero (task))
        {
          return_write_error (task, g_error_new (G_IO_ERROR, g_io_error_from_errno (errno),
                                                 "%s", g_strerror (errno)));
          return;
        }
    }
  else if (status == SOUP_STATUS_REQUESTED_RANGE_NOT_SATISFIABLE && !data->restarted)
    {
      /* The partial file is no prefix of this one (the server's copy changed): once more, from
       * the start. */
      data->restarted = TRUE;
      restart_from_zero (task);
      start_get (task);
      return;
    }
  else
    {
      return_status_error (task, msg, file->name);
      return;
    }

  out_file = g_file_new_for_path (data->incomplete);
  g_clear_object (&data->out);
  data->out = G_OUTPUT_STREAM (g_file_append_to (out_file, G_FILE_CREATE_NONE,
                                                 g_task_get_cancellable (task), &error));
  if (data->out == NULL)
    {
      return_write_error (task, error);
      return;
    }
  g_set_object (&data->body, body);
  read_next (task);
}

static void
start_get (GTask *task)
{
  SiglensDownloader *self = g_task_get_source_object (task);
  RunData *data = g_task_get_task_data (task);
  HubFile *file = current (data);
  g_autoptr (SoupMessage) msg = new_message (data, SOUP_METHOD_GET, file->url);

  if (msg == NULL)
    {
      g_task_return_new_error (task, SIGLENS_DOWNLOAD_ERROR, SIGLENS_DOWNLOAD_ERROR_SERVER,
                               /* Translators: %s is a file name */
                               _("The server sent %s to an address that cannot be used."),
                               file->name);
      return;
    }
  if (data->offset > 0)
    soup_message_headers_set_range (soup_message_get_request_headers (msg), data->offset, -1);
  set_phase (self, SIGLENS_DOWNLOAD_PHASE_DOWNLOADING);
  soup_session_send_async (self->session, msg, G_PRIORITY_DEFAULT, g_task_get_cancellable (task),
                           on_get_sent, g_object_ref (task));
}

/* Hashing what an earlier run left, on a worker: a few GB would freeze the window. */
static void
hash_prefix_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  const char *path = task_data;
  g_autoptr (GChecksum) sha = g_checksum_new (G_CHECKSUM_SHA256);
  g_autofree guchar *buf = g_malloc (1024 * 1024);
  FILE *f = g_fopen (path, "rb");
  size_t n;

  if (f == NULL)
    {
      int saved = errno;
      g_task_return_new_error (task, G_IO_ERROR, g_io_error_from_errno (saved), "%s: %s", path,
                               g_strerror (saved));
      return;
    }
  while ((n = fread (buf, 1, 1024 * 1024, f)) > 0)
    {
      if (g_task_return_error_if_cancelled (task))
        {
          fclose (f);
          return;
        }
      g_checksum_update (sha, buf, n);
    }
  fclose (f);
  g_task_return_pointer (task, g_steal_pointer (&sha), (GDestroyNotify) g_checksum_free);
}

static void
on_prefix_hashed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  RunData *data = g_task_get_task_data (task);
  GError *error = NULL;
  GChecksum *sha = g_task_propagate_pointer (G_TASK (result), &error);

  if (sha == NULL)
    {
      return_write_error (task, error);
      return;
    }
  g_clear_pointer (&data->sha256, g_checksum_free);
  data->sha256 = sha;
  if (data->offset == current (data)->meta.size)
    file_complete (task);
  else
    start_get (task);
}

static void
fetch_next (GTask *task)
{
  SiglensDownloader *self = g_task_get_source_object (task);
  RunData *data = g_task_get_task_data (task);
  HubFile *file;
  GStatBuf st;

  while (data->index < data->files->len && current (data)->present)
    data->index++;
  if (data->index == data->files->len)
    {
      finish_run (task);
      return;
    }

  file = current (data);
  set_current_file (self, file->name);
  g_free (data->incomplete);
  data->incomplete = g_strconcat (self->repo_dir, "/blobs/", file->meta.etag, ".incomplete", NULL);
  data->offset = g_stat (data->incomplete, &st) == 0 ? (gint64) st.st_size : 0;
  data->restarted = FALSE;
  g_clear_pointer (&data->sha256, g_checksum_free);
  if (data->offset > file->meta.size)
    restart_from_zero (task);
  set_bytes_done (self, data->done_before + data->offset, TRUE);

  /* Size for every file; the sha256 where the Hub gives one (LFS files: the weights and
   * the large tokenizer). */
  if (!siglens_hub_etag_is_sha256 (file->meta.etag))
    {
      start_get (task);
      return;
    }
  data->sha256 = g_checksum_new (G_CHECKSUM_SHA256);
  if (data->offset == 0)
    {
      start_get (task);
      return;
    }
  {
    g_autoptr (GTask) hash = g_task_new (NULL, g_task_get_cancellable (task), on_prefix_hashed,
                                         g_object_ref (task));
    set_phase (self, SIGLENS_DOWNLOAD_PHASE_VERIFYING);
    g_task_set_task_data (hash, g_strdup (data->incomplete), g_free);
    g_task_run_in_thread (hash, hash_prefix_thread);
  }
}

/* ---------------------------------------------------------------------------------------------
 * Checking: metadata of every file, then free space
 */

static gboolean
check_free_space (GTask *task)
{
  SiglensDownloader *self = g_task_get_source_object (task);
  RunData *data = g_task_get_task_data (task);
  g_autofree char *blobs = g_build_filename (self->repo_dir, "blobs", NULL);
  g_autoptr (GFile) dir = g_file_new_for_path (blobs);
  g_autoptr (GFileInfo) info = NULL;
  gint64 needed = 0, have = 0;

  if (g_mkdir_with_parents (blobs, 0755) != 0)
    {
      int saved = errno;
      g_task_return_new_error (task, SIGLENS_DOWNLOAD_ERROR, SIGLENS_DOWNLOAD_ERROR_WRITE,
                               _("Could not write %s: %s"), blobs, g_strerror (saved));
      return FALSE;
    }

  self->bytes_total = 0;
  for (guint i = 0; i < data->files->len; i++)
    {
      HubFile *file = g_ptr_array_index (data->files, i);
      g_autofree char *blob = blob_path (self, file);
      g_autofree char *incomplete = g_strconcat (blob, ".incomplete", NULL);
      GStatBuf st;

      self->bytes_total += file->meta.size;
      file->present = g_stat (blob, &st) == 0 && (gint64) st.st_size == file->meta.size;
      if (file->present)
        have += file->meta.size;
      else if (g_stat (incomplete, &st) == 0 && (gint64) st.st_size <= file->meta.size)
        needed += file->meta.size - (gint64) st.st_size;
      else
        needed += file->meta.size;
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BYTES_TOTAL]);
  data->done_before = 0;
  set_bytes_done (self, have, TRUE);

  info = g_file_query_filesystem_info (dir, G_FILE_ATTRIBUTE_FILESYSTEM_FREE, NULL, NULL);
  if (info != NULL && g_file_info_has_attribute (info, G_FILE_ATTRIBUTE_FILESYSTEM_FREE))
    {
      guint64 free_bytes = g_file_info_get_attribute_uint64 (info,
                                                             G_FILE_ATTRIBUTE_FILESYSTEM_FREE);

      if (needed > 0 && (guint64) needed + SPARE_BYTES > free_bytes)
        {
          g_autofree char *need_s = g_format_size ((guint64) needed);
          g_autofree char *free_s = g_format_size (free_bytes);

          g_task_return_new_error (task, SIGLENS_DOWNLOAD_ERROR, SIGLENS_DOWNLOAD_ERROR_DISK_FULL,
                                   /* Translators: a size, a size, a folder */
                                   _("Not enough disk space: the model needs %s more but only "
                                     "%s is free in %s. Free some space and try again."),
                                   need_s, free_s, self->repo_dir);
          return FALSE;
        }
    }
  return TRUE;
}

static void check_file (GTask *task, const char *url);

static void
on_checked (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  RunData *data = g_task_get_task_data (task);
  HubFile *file = current (data);
  SoupMessage *msg = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  SoupMessageHeaders *headers;
  g_autoptr (GBytes) body = NULL;
  GError *error = NULL;
  guint status;

  body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  if (body == NULL)
    {
      return_transport_error (task, error, data->check_url);
      return;
    }
  status = soup_message_get_status (msg);
  headers = soup_message_get_response_headers (msg);

  if (SOUP_STATUS_IS_REDIRECTION (status))
    {
      const char *location = soup_message_headers_get_one (headers, "Location");
      g_autoptr (GUri) base = g_uri_parse (data->check_url, SOUP_HTTP_URI_FLAGS, NULL);
      g_autoptr (GUri) target = location && base
                                ? g_uri_parse_relative (base, location, SOUP_HTTP_URI_FLAGS, NULL)
                                : NULL;
      g_autofree char *target_s = target ? g_uri_to_string (target) : NULL;

      if (target == NULL)
        {
          g_task_return_new_error (task, SIGLENS_DOWNLOAD_ERROR, SIGLENS_DOWNLOAD_ERROR_SERVER,
                                   _("The server sent %s to an address that cannot be used."),
                                   file->name);
          return;
        }
      /* No metadata on it: a renamed repository pointing at its new name on the same
       * server. Ask there, as huggingface_hub follows relative redirects. */
      if (soup_message_headers_get_one (headers, "X-Linked-Etag") == NULL
          && same_origin (target, data->endpoint_uri) && data->redirects < MAX_REDIRECTS)
        {
          data->redirects++;
          check_file (task, target_s);
          return;
        }
      g_free (file->url);
      file->url = g_steal_pointer (&target_s);
    }
  else if (status == SOUP_STATUS_OK)
    {
      g_free (file->url);
      file->url = g_strdup (data->check_url);
    }
  else
    {
      return_status_error (task, msg, file->name);
      return;
    }

  siglens_hub_file_meta_clear (&file->meta);
  if (!siglens_hub_parse_file_meta (soup_message_headers_get_one (headers, "X-Repo-Commit"),
                                    soup_message_headers_get_one (headers, "X-Linked-Etag"),
                                    soup_message_headers_get_one (headers, "ETag"),
                                    soup_message_headers_get_one (headers, "X-Linked-Size"),
                                    soup_message_headers_get_one (headers, "Content-Length"),
                                    &file->meta, &error))
    {
      g_prefix_error (&error, "%s: ", file->name);
      g_task_return_error (task, error);
      return;
    }
  data->index++;
  check_next (task);
}

static void
check_file (GTask *task, const char *url)
{
  SiglensDownloader *self = g_task_get_source_object (task);
  RunData *data = g_task_get_task_data (task);
  g_autoptr (SoupMessage) msg = new_message (data, SOUP_METHOD_HEAD, url);

  g_free (data->check_url);
  data->check_url = g_strdup (url);
  if (msg == NULL)
    {
      g_task_return_new_error (task, SIGLENS_DOWNLOAD_ERROR, SIGLENS_DOWNLOAD_ERROR_SERVER,
                               _("The server sent %s to an address that cannot be used."),
                               current (data)->name);
      return;
    }
  soup_session_send_and_read_async (self->session, msg, G_PRIORITY_DEFAULT,
                                    g_task_get_cancellable (task), on_checked,
                                    g_object_ref (task));
}

static void
check_next (GTask *task)
{
  SiglensDownloader *self = g_task_get_source_object (task);
  RunData *data = g_task_get_task_data (task);
  g_autofree char *url = NULL;

  if (data->index == data->files->len)
    {
      data->index = 0;
      if (check_free_space (task))
        fetch_next (task);
      return;
    }
  set_current_file (self, current (data)->name);
  data->redirects = 0;
  url = resolve_url (self, data, current (data)->name);
  check_file (task, url);
}

/* ---------------------------------------------------------------------------------------------
 * Listing
 */

static void
on_listed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (GTask) task = user_data;
  SiglensDownloader *self = g_task_get_source_object (task);
  RunData *data = g_task_get_task_data (task);
  SoupMessage *msg = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  g_autoptr (GBytes) body = NULL;
  g_autoptr (GPtrArray) names = NULL;
  g_autoptr (GPtrArray) chosen = NULL;
  g_autofree char *url = g_uri_to_string (soup_message_get_uri (msg));
  GError *error = NULL;
  gconstpointer json;
  gsize length;

  body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  if (body == NULL)
    {
      return_transport_error (task, error, url);
      return;
    }
  if (soup_message_get_status (msg) != SOUP_STATUS_OK)
    {
      return_status_error (task, msg, NULL);
      return;
    }
  json = g_bytes_get_data (body, &length);
  if (!siglens_hub_parse_file_list (json, length, &data->commit, &names, &error)
      || (chosen = siglens_hub_select_files (names, &error)) == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  data->files = g_ptr_array_new_with_free_func ((GDestroyNotify) hub_file_free);
  for (guint i = 0; i < chosen->len; i++)
    {
      HubFile *file = g_new0 (HubFile, 1);

      file->name = g_strdup (g_ptr_array_index (chosen, i));
      file->meta.size = -1;
      g_ptr_array_add (data->files, file);
    }
  set_phase (self, SIGLENS_DOWNLOAD_PHASE_CHECKING);
  data->index = 0;
  check_next (task);
}

/* ---------------------------------------------------------------------------------------------
 * Public
 */

char *
siglens_hub_endpoint (const char *preference)
{
  const char *env = g_getenv ("HF_ENDPOINT");
  const char *chosen = env != NULL && *env != '\0' ? env
                       : preference != NULL && *preference != '\0' ? preference
                       : SIGLENS_HUB_DEFAULT_ENDPOINT;
  char *endpoint = g_strstrip (g_strdup (chosen));
  gsize len = strlen (endpoint);

  while (len > 0 && endpoint[len - 1] == '/')
    endpoint[--len] = '\0';
  return endpoint;
}

char *
siglens_download_format_duration (double seconds)
{
  long s = (long) (seconds + 0.5);

  if (s < 60)
    /* Translators: a duration in seconds */
    return g_strdup_printf (_("%ld s"), MAX (s, 1));
  if (s < 3600)
    /* Translators: a duration in minutes */
    return g_strdup_printf (_("%ld min"), (s + 30) / 60);
  /* Translators: a duration in hours and minutes */
  return g_strdup_printf (_("%ld h %ld min"), s / 3600, (s % 3600) / 60);
}

SiglensDownloader *
siglens_downloader_new (const char *repo_id, const char *revision, const char *endpoint)
{
  g_autofree char *chosen = endpoint == NULL ? siglens_hub_endpoint (NULL) : NULL;

  g_return_val_if_fail (repo_id != NULL, NULL);
  return g_object_new (SIGLENS_TYPE_DOWNLOADER,
                       "repo-id", repo_id,
                       "revision", revision != NULL ? revision : SIGLENS_HUB_DEFAULT_REVISION,
                       "endpoint", endpoint != NULL ? endpoint : chosen,
                       NULL);
}

void
siglens_downloader_set_cache_dir (SiglensDownloader *self, const char *cache_dir)
{
  g_return_if_fail (SIGLENS_IS_DOWNLOADER (self));
  g_free (self->cache_dir);
  self->cache_dir = g_strdup (cache_dir);
}

/* Marks the run's tasks (a function pointer cannot be a gpointer in ISO C). */
static const char run_source_tag = 0;

typedef struct {
  GAsyncReadyCallback callback;
  gpointer            user_data;
} RunClosure;

/* Every run ends here first: the downloader is free for the next one before the caller
 * hears the result. */
static void
on_run_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  SiglensDownloader *self = SIGLENS_DOWNLOADER (source);
  RunClosure *closure = user_data;

  self->running = FALSE;
  if (closure->callback != NULL)
    closure->callback (source, result, closure->user_data);
  g_free (closure);
}

void
siglens_downloader_run_async (SiglensDownloader   *self,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr (GTask) task = NULL;
  g_autoptr (GError) error = NULL;
  RunClosure *closure;
  RunData *data;

  g_return_if_fail (SIGLENS_IS_DOWNLOADER (self));
  g_return_if_fail (!self->running);

  closure = g_new0 (RunClosure, 1);
  closure->callback = callback;
  closure->user_data = user_data;
  task = g_task_new (self, cancellable, on_run_done, closure);
  g_task_set_source_tag (task, (gpointer) &run_source_tag);
  self->running = TRUE;

  data = g_new0 (RunData, 1);
  g_task_set_task_data (task, data, (GDestroyNotify) run_data_free);
  data->token = siglens_hub_read_token ();
  data->endpoint_uri = g_uri_parse (self->endpoint, SOUP_HTTP_URI_FLAGS, NULL);
  if (data->endpoint_uri == NULL || g_uri_get_host (data->endpoint_uri) == NULL
      || *g_uri_get_host (data->endpoint_uri) == '\0'
      || (g_ascii_strcasecmp (g_uri_get_scheme (data->endpoint_uri), "https") != 0
          && g_ascii_strcasecmp (g_uri_get_scheme (data->endpoint_uri), "http") != 0))
    {
      g_task_return_new_error (task, SIGLENS_DOWNLOAD_ERROR, SIGLENS_DOWNLOAD_ERROR_BAD_INPUT,
                               /* Translators: %s is what was given as the server's address */
                               _("“%s” is not a server address: give one such as "
                                 "https://huggingface.co or a mirror's."), self->endpoint);
      return;
    }
  if (!siglens_hub_check_repo_id (self->repo_id, &error)
      || !siglens_hub_check_revision (self->revision, &error))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  if (self->cache_dir == NULL)
    self->cache_dir = siglens_hub_cache_choose_dir ();
  g_free (self->repo_dir);
  self->repo_dir = siglens_hub_cache_repo_dir (self->cache_dir, self->repo_id);

  self->bytes_done = self->bytes_total = 0;
  self->speed = 0;
  self->speed_since_us = 0;
  set_phase (self, SIGLENS_DOWNLOAD_PHASE_LISTING);

  {
    g_autofree char *rev = g_uri_escape_string (self->revision, NULL, FALSE);
    g_autofree char *url = g_strdup_printf ("%s/api/models/%s/revision/%s", self->endpoint,
                                            self->repo_id, rev);
    g_autoptr (SoupMessage) msg = new_message (data, SOUP_METHOD_GET, url);

    if (msg == NULL)
      {
        g_task_return_new_error (task, SIGLENS_DOWNLOAD_ERROR, SIGLENS_DOWNLOAD_ERROR_BAD_INPUT,
                                 _("“%s” is not a server address: give one such as "
                                   "https://huggingface.co or a mirror's."), self->endpoint);
        return;
      }
    soup_message_headers_replace (soup_message_get_request_headers (msg), "Accept",
                                  "application/json");
    soup_session_send_and_read_async (self->session, msg, G_PRIORITY_DEFAULT, cancellable,
                                      on_listed, g_object_ref (task));
  }
}

char *
siglens_downloader_run_finish (SiglensDownloader *self, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (SIGLENS_IS_DOWNLOADER (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

const char *
siglens_downloader_get_repo_id (SiglensDownloader *self)
{
  g_return_val_if_fail (SIGLENS_IS_DOWNLOADER (self), NULL);
  return self->repo_id;
}

const char *
siglens_downloader_get_endpoint (SiglensDownloader *self)
{
  g_return_val_if_fail (SIGLENS_IS_DOWNLOADER (self), NULL);
  return self->endpoint;
}

const char *
siglens_downloader_get_repo_dir (SiglensDownloader *self)
{
  g_return_val_if_fail (SIGLENS_IS_DOWNLOADER (self), NULL);
  return self->repo_dir;
}

SiglensDownloadPhase
siglens_downloader_get_phase (SiglensDownloader *self)
{
  g_return_val_if_fail (SIGLENS_IS_DOWNLOADER (self), SIGLENS_DOWNLOAD_PHASE_IDLE);
  return self->phase;
}

const char *
siglens_downloader_get_current_file (SiglensDownloader *self)
{
  g_return_val_if_fail (SIGLENS_IS_DOWNLOADER (self), NULL);
  return self->current_file;
}

gint64
siglens_downloader_get_bytes_done (SiglensDownloader *self)
{
  g_return_val_if_fail (SIGLENS_IS_DOWNLOADER (self), 0);
  return self->bytes_done;
}

gint64
siglens_downloader_get_bytes_total (SiglensDownloader *self)
{
  g_return_val_if_fail (SIGLENS_IS_DOWNLOADER (self), 0);
  return self->bytes_total;
}

gint64
siglens_downloader_get_bytes_fetched (SiglensDownloader *self)
{
  g_return_val_if_fail (SIGLENS_IS_DOWNLOADER (self), 0);
  return self->bytes_fetched;
}

double
siglens_downloader_get_speed (SiglensDownloader *self)
{
  g_return_val_if_fail (SIGLENS_IS_DOWNLOADER (self), 0.);
  return self->speed;
}

double
siglens_downloader_get_seconds_left (SiglensDownloader *self)
{
  g_return_val_if_fail (SIGLENS_IS_DOWNLOADER (self), -1.);
  if (self->speed <= 0 || self->bytes_total <= 0)
    return -1.;
  return (double) MAX (self->bytes_total - self->bytes_done, 0) / self->speed;
}

/* ---------------------------------------------------------------------------------------------
 * GObject
 */

static void
siglens_downloader_finalize (GObject *object)
{
  SiglensDownloader *self = SIGLENS_DOWNLOADER (object);

  g_clear_pointer (&self->repo_id, g_free);
  g_clear_pointer (&self->revision, g_free);
  g_clear_pointer (&self->endpoint, g_free);
  g_clear_pointer (&self->cache_dir, g_free);
  g_clear_pointer (&self->repo_dir, g_free);
  g_clear_pointer (&self->current_file, g_free);
  g_clear_object (&self->session);

  G_OBJECT_CLASS (siglens_downloader_parent_class)->finalize (object);
}

static void
siglens_downloader_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  SiglensDownloader *self = SIGLENS_DOWNLOADER (object);

  switch (prop_id)
    {
    case PROP_REPO_ID:
      g_value_set_string (value, self->repo_id);
      break;
    case PROP_REVISION:
      g_value_set_string (value, self->revision);
      break;
    case PROP_ENDPOINT:
      g_value_set_string (value, self->endpoint);
      break;
    case PROP_PHASE:
      g_value_set_enum (value, self->phase);
      break;
    case PROP_CURRENT_FILE:
      g_value_set_string (value, self->current_file);
      break;
    case PROP_BYTES_DONE:
      g_value_set_int64 (value, self->bytes_done);
      break;
    case PROP_BYTES_TOTAL:
      g_value_set_int64 (value, self->bytes_total);
      break;
    case PROP_BYTES_FETCHED:
      g_value_set_int64 (value, self->bytes_fetched);
      break;
    case PROP_SPEED:
      g_value_set_double (value, self->speed);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
siglens_downloader_set_property (GObject *object, guint prop_id, const GValue *value,
                                 GParamSpec *pspec)
{
  SiglensDownloader *self = SIGLENS_DOWNLOADER (object);

  switch (prop_id)
    {
    case PROP_REPO_ID:
      self->repo_id = g_value_dup_string (value);
      break;
    case PROP_REVISION:
      self->revision = g_value_dup_string (value);
      break;
    case PROP_ENDPOINT:
      self->endpoint = siglens_hub_endpoint (g_value_get_string (value));
      /* An explicit endpoint wins over $HF_ENDPOINT: siglens_hub_endpoint only fills in. */
      if (g_value_get_string (value) != NULL && *g_value_get_string (value) != '\0')
        {
          g_free (self->endpoint);
          self->endpoint = g_strstrip (g_value_dup_string (value));
          while (g_str_has_suffix (self->endpoint, "/"))
            self->endpoint[strlen (self->endpoint) - 1] = '\0';
        }
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
siglens_downloader_class_init (SiglensDownloaderClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags ro = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;
  const GParamFlags co = G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS;

  object_class->finalize = siglens_downloader_finalize;
  object_class->get_property = siglens_downloader_get_property;
  object_class->set_property = siglens_downloader_set_property;

  properties[PROP_REPO_ID] = g_param_spec_string ("repo-id", NULL, NULL, NULL, co);
  properties[PROP_REVISION] = g_param_spec_string ("revision", NULL, NULL, NULL, co);
  properties[PROP_ENDPOINT] = g_param_spec_string ("endpoint", NULL, NULL, NULL, co);
  properties[PROP_PHASE] =
    g_param_spec_enum ("phase", NULL, NULL, SIGLENS_TYPE_DOWNLOAD_PHASE,
                       SIGLENS_DOWNLOAD_PHASE_IDLE, ro);
  properties[PROP_CURRENT_FILE] = g_param_spec_string ("current-file", NULL, NULL, NULL, ro);
  properties[PROP_BYTES_DONE] =
    g_param_spec_int64 ("bytes-done", NULL, NULL, 0, G_MAXINT64, 0, ro);
  properties[PROP_BYTES_TOTAL] =
    g_param_spec_int64 ("bytes-total", NULL, NULL, 0, G_MAXINT64, 0, ro);
  properties[PROP_BYTES_FETCHED] =
    g_param_spec_int64 ("bytes-fetched", NULL, NULL, 0, G_MAXINT64, 0, ro);
  properties[PROP_SPEED] = g_param_spec_double ("speed", NULL, NULL, 0, G_MAXDOUBLE, 0, ro);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
siglens_downloader_init (SiglensDownloader *self)
{
  /* timeout: a stalled connection ends in an error the user can act on, not a frozen bar. */
  self->session = soup_session_new_with_options ("user-agent", "siglens/" PACKAGE_VERSION,
                                                 "timeout", 60,
                                                 NULL);
}
