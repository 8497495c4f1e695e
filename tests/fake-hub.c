/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <string.h>

#include "fake-hub.h"

typedef struct {
  char    *name;
  GBytes  *contents;
  gboolean lfs;
  char    *sha256;
  char    *git_oid;   /* what the Hub puts in ETag for a small file: the git blob id */
} FakeFile;

static void
fake_file_free (FakeFile *file)
{
  g_free (file->name);
  g_bytes_unref (file->contents);
  g_free (file->sha256);
  g_free (file->git_oid);
  g_free (file);
}

static char *
git_blob_oid (GBytes *contents)
{
  g_autoptr (GChecksum) sha1 = g_checksum_new (G_CHECKSUM_SHA1);
  g_autofree char *header = g_strdup_printf ("blob %" G_GSIZE_FORMAT, g_bytes_get_size (contents));
  gsize size;
  const guchar *data = g_bytes_get_data (contents, &size);

  g_checksum_update (sha1, (const guchar *) header, (gssize) strlen (header) + 1);
  g_checksum_update (sha1, data, (gssize) size);
  return g_strdup (g_checksum_get_string (sha1));
}

void
fake_hub_add_file (FakeHub *hub, const char *repo_id, const char *name, GBytes *contents,
                   gboolean lfs)
{
  GPtrArray *files = g_hash_table_lookup (hub->repos, repo_id);
  FakeFile *file = g_new0 (FakeFile, 1);

  if (files == NULL)
    {
      files = g_ptr_array_new_with_free_func ((GDestroyNotify) fake_file_free);
      g_hash_table_insert (hub->repos, g_strdup (repo_id), files);
    }
  file->name = g_strdup (name);
  file->contents = g_bytes_ref (contents);
  file->lfs = lfs;
  file->sha256 = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, contents);
  file->git_oid = git_blob_oid (contents);
  g_ptr_array_add (files, file);
}

void
fake_hub_add_dir (FakeHub *hub, const char *repo_id, const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  g_assert_nonnull (d);
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autoptr (GMappedFile) mapped = g_mapped_file_new (path, FALSE, NULL);
      g_autoptr (GBytes) bytes = NULL;

      g_assert_nonnull (mapped);
      bytes = g_mapped_file_get_bytes (mapped);
      fake_hub_add_file (hub, repo_id, name, bytes,
                         g_str_has_suffix (name, ".safetensors")
                         || g_bytes_get_size (bytes) > 1000 * 1000);
    }
}

static FakeFile *
find_file (FakeHub *hub, const char *repo_id, const char *name)
{
  GPtrArray *files = g_hash_table_lookup (hub->repos, repo_id);

  for (guint i = 0; files != NULL && i < files->len; i++)
    {
      FakeFile *file = g_ptr_array_index (files, i);
      if (strcmp (file->name, name) == 0 || (name[0] != '\0' && strcmp (file->sha256, name) == 0))
        return file;
    }
  return NULL;
}

static FakeFile *
find_blob (FakeHub *hub, const char *sha256)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, hub->repos);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      GPtrArray *files = value;
      for (guint i = 0; i < files->len; i++)
        {
          FakeFile *file = g_ptr_array_index (files, i);
          if (strcmp (file->sha256, sha256) == 0)
            return file;
        }
    }
  return NULL;
}

static void
set_text (SoupServerMessage *msg, guint status, const char *text)
{
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "text/plain", SOUP_MEMORY_COPY, text, strlen (text));
}

static gboolean
authorized (FakeHub *hub, SoupServerMessage *msg)
{
  const char *auth = soup_message_headers_get_one (soup_server_message_get_request_headers (msg),
                                                   "Authorization");
  g_autofree char *want = hub->token ? g_strconcat ("Bearer ", hub->token, NULL) : NULL;

  if (want != NULL && g_strcmp0 (auth, want) == 0)
    hub->endpoint_auth_seen++;
  return want == NULL || g_strcmp0 (auth, want) == 0;
}

static void
serve_file_list (FakeHub *hub, SoupServerMessage *msg, const char *repo_id, const char *rev)
{
  GPtrArray *files = g_hash_table_lookup (hub->repos, repo_id);
  g_autoptr (GString) json = g_string_new (NULL);

  if (files == NULL || (strcmp (rev, "main") != 0 && strcmp (rev, FAKE_HUB_COMMIT) != 0))
    {
      set_text (msg, SOUP_STATUS_NOT_FOUND, "{\"error\":\"Repository not found\"}");
      return;
    }
  g_string_append_printf (json, "{\"id\":\"%s\",\"sha\":\"%s\",\"siblings\":[", repo_id,
                          FAKE_HUB_COMMIT);
  /* What real repositories also hold, which Siglens must not fetch. */
  g_string_append (json, "{\"rfilename\":\".gitattributes\"},{\"rfilename\":\"README.md\"}");
  for (guint i = 0; i < files->len; i++)
    g_string_append_printf (json, ",{\"rfilename\":\"%s\"}",
                            ((FakeFile *) g_ptr_array_index (files, i))->name);
  g_string_append (json, "]}");
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY, json->str,
                                    json->len);
}

static void
serve_resolve (FakeHub *hub, SoupServerMessage *msg, const char *repo_id, const char *rev,
               const char *name)
{
  FakeFile *file = find_file (hub, repo_id, name);
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);
  g_autofree char *quoted = NULL;

  if (file == NULL || (strcmp (rev, "main") != 0 && strcmp (rev, FAKE_HUB_COMMIT) != 0))
    {
      set_text (msg, SOUP_STATUS_NOT_FOUND, "Entry not found");
      return;
    }
  soup_message_headers_replace (headers, "X-Repo-Commit", FAKE_HUB_COMMIT);
  if (file->lfs)
    {
      g_autofree char *location = g_strdup_printf ("%s/storage/%s?X-Amz-Signature=abc",
                                                   hub->storage, file->sha256);
      g_autofree char *size = g_strdup_printf ("%" G_GINT64_FORMAT,
                                               hub->claimed_size > 0 ? hub->claimed_size
                                               : (gint64) g_bytes_get_size (file->contents));

      quoted = g_strdup_printf ("\"%s\"", file->sha256);
      soup_message_headers_replace (headers, "X-Linked-Etag", quoted);
      soup_message_headers_replace (headers, "X-Linked-Size", size);
      /* The Hub's own ETag on the 302 is the git oid of the LFS pointer: must be ignored. */
      soup_message_headers_replace (headers, "ETag", "\"ffffffffffffffffffffffffffffffffffffffff\"");
      soup_server_message_set_redirect (msg, SOUP_STATUS_FOUND, location);
      return;
    }
  quoted = g_strdup_printf ("W/\"%s\"", file->git_oid);
  soup_message_headers_replace (headers, "ETag", quoted);
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "application/octet-stream", SOUP_MEMORY_COPY,
                                    g_bytes_get_data (file->contents, NULL),
                                    g_bytes_get_size (file->contents));
}

typedef struct {
  FakeHub   *hub;
  GIOStream *stream;
  char      *data;
  gboolean   close;
} RawReply;

static void
on_raw_written (GObject *source, GAsyncResult *result, gpointer user_data)
{
  RawReply *reply = user_data;

  g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, NULL);
  if (reply->close)
    g_io_stream_close (reply->stream, NULL, NULL);
  else
    g_ptr_array_add (reply->hub->stalled, g_object_ref (reply->stream));
  g_object_unref (reply->stream);
  g_free (reply->data);
  g_free (reply);
}

/* Headers promising `promised` bytes, then only `sent` of them, written by hand on the
 * stolen connection: libsoup would never send less than it promised. */
static void
send_truncated (FakeHub *hub, SoupServerMessage *msg, guint status, const char *content_range,
                const guchar *body, gsize promised, gsize sent, gboolean close)
{
  g_autoptr (GString) raw = g_string_new (NULL);
  RawReply *reply = g_new0 (RawReply, 1);

  g_string_append_printf (raw, "HTTP/1.1 %u %s\r\nContent-Length: %" G_GSIZE_FORMAT "\r\n"
                          "Content-Type: application/octet-stream\r\n",
                          status, soup_status_get_phrase (status), promised);
  if (content_range != NULL)
    g_string_append_printf (raw, "Content-Range: %s\r\n", content_range);
  g_string_append (raw, "\r\n");
  g_string_append_len (raw, (const char *) body, (gssize) sent);
  hub->storage_bytes += (gint64) sent;

  reply->hub = hub;
  reply->stream = soup_server_message_steal_connection (msg);
  reply->close = close;
  reply->data = g_memdup2 (raw->str, raw->len);
  g_output_stream_write_all_async (g_io_stream_get_output_stream (reply->stream), reply->data,
                                   raw->len, G_PRIORITY_DEFAULT, NULL, on_raw_written, reply);
}

static void
serve_storage (FakeHub *hub, SoupServerMessage *msg, const char *sha256)
{
  SoupMessageHeaders *req = soup_server_message_get_request_headers (msg);
  FakeFile *file = find_blob (hub, sha256);
  const char *range = soup_message_headers_get_one (req, "Range");
  gsize size, start = 0;
  const guchar *data;
  g_autofree char *content_range = NULL;
  g_autofree guchar *corrupted = NULL;
  guint status = SOUP_STATUS_OK;

  hub->storage_requests++;
  hub->last_range_from = -1;
  if (soup_message_headers_get_one (req, "Authorization") != NULL)
    hub->storage_saw_auth = TRUE;
  if (file == NULL)
    {
      set_text (msg, SOUP_STATUS_NOT_FOUND, "NoSuchKey");
      return;
    }
  data = g_bytes_get_data (file->contents, &size);
  if (range != NULL)
    {
      guint64 from;

      g_assert_true (g_str_has_prefix (range, "bytes="));
      g_assert_true (g_str_has_suffix (range, "-"));
      from = g_ascii_strtoull (range + strlen ("bytes="), NULL, 10);
      hub->last_range_from = (gint64) from;
      if (from >= size)
        {
          set_text (msg, SOUP_STATUS_REQUESTED_RANGE_NOT_SATISFIABLE, "");
          return;
        }
      start = from;
      status = SOUP_STATUS_PARTIAL_CONTENT;
      content_range = g_strdup_printf ("bytes %" G_GSIZE_FORMAT "-%" G_GSIZE_FORMAT "/%"
                                       G_GSIZE_FORMAT, start, size - 1, size);
    }
  if (hub->corrupt && (hub->fault_blob == NULL || strcmp (hub->fault_blob, sha256) == 0))
    {
      hub->corrupt = FALSE;
      corrupted = g_memdup2 (data, size);
      corrupted[size / 2] ^= 0x5a;
      data = corrupted;
    }
  if ((hub->close_after > 0 || hub->stall_after > 0)
      && (hub->fault_blob == NULL || strcmp (hub->fault_blob, sha256) == 0))
    {
      gboolean close = hub->close_after > 0;
      gsize sent = (gsize) MIN ((gint64) (size - start), close ? hub->close_after : hub->stall_after);

      hub->close_after = hub->stall_after = 0;
      send_truncated (hub, msg, status, content_range, data + start, size - start, sent, close);
      return;
    }

  soup_server_message_set_status (msg, status, NULL);
  if (content_range != NULL)
    soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Content-Range",
                                  content_range);
  soup_server_message_set_response (msg, "application/octet-stream", SOUP_MEMORY_COPY,
                                    (const char *) data + start, size - start);
  hub->storage_bytes += (gint64) (size - start);
}

/* /api/models/ORG/NAME/revision/REV, /ORG/NAME/resolve/REV/FILE, /storage/SHA256 */
static void
handle (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query,
        gpointer user_data)
{
  FakeHub *hub = user_data;
  GUri *uri = soup_server_message_get_uri (msg);
  g_auto (GStrv) parts = g_strsplit (path + 1, "/", 6);
  guint n = g_strv_length (parts);
  gboolean on_storage = g_uri_get_port (uri) == hub->storage_port;

  if (on_storage)
    {
      if (n == 2 && strcmp (parts[0], "storage") == 0)
        serve_storage (hub, msg, parts[1]);
      else
        set_text (msg, SOUP_STATUS_NOT_FOUND, "NoSuchKey");
      return;
    }
  if (!authorized (hub, msg))
    {
      set_text (msg, SOUP_STATUS_UNAUTHORIZED, "{\"error\":\"Invalid credentials\"}");
      return;
    }
  if (n == 6 && strcmp (parts[0], "api") == 0 && strcmp (parts[1], "models") == 0
      && strcmp (parts[4], "revision") == 0)
    {
      /* The revision is the rest of the path, %-decoded by libsoup. */
      const char *rev = strstr (path, "/revision/") + strlen ("/revision/");
      g_autofree char *repo = g_strdup_printf ("%s/%s", parts[2], parts[3]);
      serve_file_list (hub, msg, repo, rev);
    }
  else if (n >= 5 && strcmp (parts[2], "resolve") == 0)
    {
      g_autofree char *repo = g_strdup_printf ("%s/%s", parts[0], parts[1]);
      g_auto (GStrv) rest = g_strsplit (path + 1, "/", 5);
      serve_resolve (hub, msg, repo, rest[3], rest[4]);
    }
  else
    set_text (msg, SOUP_STATUS_NOT_FOUND, "Not found");
}

static char *
listen_on_port (SoupServer *server, int *port_out)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                             G_SOCKET_PROTOCOL_TCP, &error);
  g_autoptr (GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any_port = g_inet_socket_address_new (loopback, 0);
  g_autoptr (GSocketAddress) bound = NULL;

  g_assert_no_error (error);
  g_socket_bind (socket, any_port, TRUE, &error);
  g_assert_no_error (error);
  g_socket_listen (socket, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  soup_server_listen_socket (server, socket, 0, &error);
  g_assert_no_error (error);
  *port_out = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  return g_strdup_printf ("http://127.0.0.1:%d", *port_out);
}

FakeHub *
fake_hub_new (void)
{
  FakeHub *hub = g_new0 (FakeHub, 1);

  hub->repos = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                      (GDestroyNotify) g_ptr_array_unref);
  hub->stalled = g_ptr_array_new_with_free_func (g_object_unref);
  hub->last_range_from = -1;
  hub->server = soup_server_new ("server-header", "fake-hub", NULL);
  soup_server_add_handler (hub->server, NULL, handle, hub, NULL);
  /* Two ports, two origins: the endpoint, and the storage its 302s point to. */
  hub->endpoint = listen_on_port (hub->server, &hub->endpoint_port);
  hub->storage = listen_on_port (hub->server, &hub->storage_port);
  return hub;
}

const char *
fake_hub_endpoint (FakeHub *hub)
{
  return hub->endpoint;
}

void
fake_hub_free (FakeHub *hub)
{
  for (guint i = 0; i < hub->stalled->len; i++)
    g_io_stream_close (g_ptr_array_index (hub->stalled, i), NULL, NULL);
  g_ptr_array_unref (hub->stalled);
  soup_server_disconnect (hub->server);
  g_object_unref (hub->server);
  g_hash_table_unref (hub->repos);
  g_free (hub->token);
  g_free (hub->fault_blob);
  g_free (hub->endpoint);
  g_free (hub->storage);
  g_free (hub);
}
