/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What the downloader makes of a Hub's answers (src/download/siglens-hub-parse.h). One input,
 * three parts split at "\n====\n":
 *   1. the body of api/models/REPO/revision/REV: the file list, then the files chosen from it;
 *   2. response header lines, parsed by libsoup as the downloader receives them, then read as
 *      the downloader reads them (a file's metadata, Content-Range);
 *   3. lines, each given to every string check: etag, size, Content-Range, repository id,
 *      revision, file name.
 * Besides not crashing, each accepted value must keep the promise its function makes: names
 * that stay inside the snapshot folder, etags that are safe file names, sizes that print back
 * the same, ranges in order. Every refusal that takes a GError sets one with a message.
 */
#include <libsoup/soup.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "siglens-hub-parse.h"

#define CHECK(cond) \
  do { if (!(cond)) { g_printerr ("fuzz-hub-parse: %s failed\n", #cond); abort (); } } while (0)

static void
check_refusal (GError *error)
{
  CHECK (error != NULL && error->message != NULL && error->message[0] != '\0');
  g_error_free (error);
}

/* The promise of siglens_hub_check_file_name: relative, no empty, "." or ".." part, no
 * backslash or control character — g_build_filename (snapshot, name) stays under snapshot. */
static void
check_safe_name (const char *name)
{
  g_auto (GStrv) parts = g_strsplit (name, "/", -1);

  CHECK (name[0] != '\0' && name[0] != '/' && strchr (name, '\\') == NULL);
  CHECK (g_utf8_validate (name, -1, NULL));
  for (const char *c = name; *c; c++)
    CHECK ((guchar) *c >= 0x20 && *c != 0x7f);
  for (guint i = 0; parts[i] != NULL; i++)
    CHECK (parts[i][0] != '\0' && strcmp (parts[i], ".") != 0 && strcmp (parts[i], "..") != 0);
}

/* An etag becomes blobs/ETAG: letters, digits, '-' and '_' only, and normalising it again
 * changes nothing. */
static void
check_safe_etag (const char *etag)
{
  g_autofree char *again = NULL;
  gsize len = strlen (etag);

  CHECK (len > 0 && len <= 128);
  for (gsize i = 0; i < len; i++)
    CHECK (g_ascii_isalnum (etag[i]) || etag[i] == '-' || etag[i] == '_');
  again = siglens_hub_normalize_etag (etag);
  CHECK (again != NULL && strcmp (again, etag) == 0);
}

static gboolean
in_list (GPtrArray *files, const char *name)
{
  for (guint i = 0; i < files->len; i++)
    if (strcmp (g_ptr_array_index (files, i), name) == 0)
      return TRUE;
  return FALSE;
}

static void
fuzz_file_list (const uint8_t *data, size_t size)
{
  g_autofree char *commit = NULL;
  g_autoptr (GPtrArray) files = NULL;
  g_autoptr (GPtrArray) chosen = NULL;
  GError *error = NULL;

  /* Exactly the bytes received, unterminated, as g_bytes_get_data gives them. */
  if (!siglens_hub_parse_file_list ((const char *) data, size, &commit, &files, &error))
    {
      CHECK (commit == NULL && files == NULL);
      check_refusal (error);
      return;
    }
  CHECK (error == NULL && commit != NULL && files != NULL);
  check_safe_etag (commit); /* it names the snapshots/COMMIT folder */
  for (guint i = 0; i < files->len; i++)
    check_safe_name (g_ptr_array_index (files, i));

  chosen = siglens_hub_select_files (files, &error);
  if (chosen == NULL)
    {
      check_refusal (error);
      return;
    }
  CHECK (error == NULL && chosen->len > 0 && in_list (chosen, "config.json"));
  for (guint i = 0; i < chosen->len; i++)
    {
      const char *name = g_ptr_array_index (chosen, i);
      CHECK (in_list (files, name));
      check_safe_name (name);
    }
}

static void
check_size (const char *value)
{
  gint64 size = -1;

  if (siglens_hub_parse_size (value, &size))
    {
      g_autofree char *printed = g_strdup_printf ("%" G_GINT64_FORMAT, size);
      g_autofree char *stripped = g_strstrip (g_strdup (value));
      gint64 again = -1;
      const char *digits = stripped;

      CHECK (size >= 0);
      while (digits[0] == '0' && digits[1] != '\0')
        digits++;
      CHECK (strcmp (printed, digits) == 0);
      CHECK (siglens_hub_parse_size (printed, &again) && again == size);
    }
}

static void
check_content_range (const char *value)
{
  gint64 start = -2, end = -2, total = -2;

  if (siglens_hub_parse_content_range (value, &start, &end, &total))
    CHECK (start >= 0 && end >= start && (total == -1 || end < total));
}

static void
check_meta (const char *commit, const char *linked_etag, const char *etag,
            const char *linked_size, const char *content_length)
{
  SiglensHubFileMeta meta;
  GError *error = NULL;

  if (!siglens_hub_parse_file_meta (commit, linked_etag, etag, linked_size, content_length,
                                    &meta, &error))
    {
      CHECK (meta.commit == NULL && meta.etag == NULL);
      check_refusal (error);
      return;
    }
  CHECK (error == NULL && meta.etag != NULL && meta.size >= 0);
  CHECK ((commit == NULL) == (meta.commit == NULL));
  if (meta.commit != NULL)
    check_safe_etag (meta.commit);
  check_safe_etag (meta.etag);
  if (siglens_hub_etag_is_sha256 (meta.etag))
    CHECK (strlen (meta.etag) == 64);
  siglens_hub_file_meta_clear (&meta);
  CHECK (meta.commit == NULL && meta.etag == NULL && meta.size == -1);
}

static void
fuzz_headers (const uint8_t *data, size_t size)
{
  static const char status_line[] = "HTTP/1.1 302 Found\r\n";
  g_autoptr (GByteArray) head = g_byte_array_new ();
  g_autoptr (SoupMessageHeaders) headers = soup_message_headers_new (SOUP_MESSAGE_HEADERS_RESPONSE);
  SoupHTTPVersion version;
  guint status;

  g_byte_array_append (head, (const guint8 *) status_line, strlen (status_line));
  g_byte_array_append (head, data, (guint) size);
  g_byte_array_append (head, (const guint8 *) "\r\n\r\n", 4);
  /* A NUL after the counted bytes, as libsoup's own buffers have: it reads the status line with
   * strtoul, which ASan (strict_string_checks) checks up to the terminator. */
  g_byte_array_append (head, (const guint8 *) "", 1);
  if (!soup_headers_parse_response ((const char *) head->data, (int) head->len - 1, headers,
                                    &version, &status, NULL))
    return;
  /* As on_checked and on_get_sent read them; a repeated header arrives joined with ", ". */
  check_meta (soup_message_headers_get_one (headers, "X-Repo-Commit"),
              soup_message_headers_get_one (headers, "X-Linked-Etag"),
              soup_message_headers_get_one (headers, "ETag"),
              soup_message_headers_get_one (headers, "X-Linked-Size"),
              soup_message_headers_get_one (headers, "Content-Length"));
  check_content_range (soup_message_headers_get_one (headers, "Content-Range"));
}

static void
fuzz_value (const char *value)
{
  g_autofree char *etag = siglens_hub_normalize_etag (value);
  GError *error = NULL;

  if (etag != NULL)
    check_safe_etag (etag);
  check_size (value);
  check_content_range (value);
  if (siglens_hub_etag_is_sha256 (value))
    CHECK (etag != NULL && strcmp (etag, value) == 0);
  if (siglens_hub_check_repo_id (value, &error))
    {
      /* It becomes one folder, models--ORG--NAME. */
      const char *slash = strchr (value, '/');
      CHECK (error == NULL && slash != NULL && strchr (slash + 1, '/') == NULL);
      CHECK (value[0] != '.' && slash[1] != '.' && strchr (value, '\\') == NULL);
    }
  else
    check_refusal (error);
  error = NULL;
  if (siglens_hub_check_revision (value, &error))
    {
      /* It becomes refs/REVISION and a URL path segment. */
      CHECK (error == NULL && value[0] != '\0' && value[0] != '/' && strstr (value, "..") == NULL);
      for (const char *c = value; *c; c++)
        CHECK ((guchar) *c > 0x20 && *c != 0x7f && strchr ("\\?#%", *c) == NULL);
    }
  else
    check_refusal (error);
  if (siglens_hub_check_file_name (value))
    check_safe_name (value);
  /* Each value as every header at once, and as the fallback headers. */
  check_meta (value, value, value, value, value);
  check_meta (NULL, NULL, value, NULL, value);
}

static void
fuzz_values (const uint8_t *data, size_t size)
{
  /* NUL-terminated copies, as headers and command-line arguments arrive. */
  g_autofree char *text = g_strndup ((const char *) data, size);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);

  for (guint i = 0; lines[i] != NULL; i++)
    fuzz_value (lines[i]);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const uint8_t *list, *rest, *headers, *values;
  size_t list_len, rest_len, headers_len, values_len;

  fuzz_split (data, size, &list, &list_len, &rest, &rest_len);
  fuzz_file_list (list, list_len);
  if (rest == NULL)
    return 0;
  fuzz_split (rest, rest_len, &headers, &headers_len, &values, &values_len);
  fuzz_headers (headers, headers_len);
  if (values != NULL)
    fuzz_values (values, values_len);
  return 0;
}
