/* SPDX-License-Identifier: GPL-3.0-or-later */
/* siglens-cli classify's inputs: folders walked for images, label files, the progress line. */
#include "cli-inputs.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <gio/gio.h>

/* ---------------------------------------------------------------------------------------------
 * Folders
 */

/* An image is what one of GdkPixbuf's loaders claims: by its extension (so a broken photo is
 * still tried, and its failure reported) or by sniffing the first bytes. */
static gboolean
looks_like_image (const char *path)
{
  static GHashTable *extensions;
  if (!extensions)
    {
      extensions = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
      GSList *formats = gdk_pixbuf_get_formats ();
      for (GSList *l = formats; l; l = l->next)
        {
          g_auto (GStrv) exts = gdk_pixbuf_format_get_extensions (l->data);
          for (int i = 0; exts && exts[i]; i++)
            g_hash_table_add (extensions, g_ascii_strdown (exts[i], -1));
        }
      g_slist_free (formats);
    }
  const char *dot = strrchr (path, '.');
  if (dot && !strchr (dot, '/'))
    {
      g_autofree char *ext = g_ascii_strdown (dot + 1, -1);
      if (g_hash_table_contains (extensions, ext))
        return TRUE;
    }
  return gdk_pixbuf_get_file_info (path, NULL, NULL) != NULL;
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static void
walk (const char *prefix, const char *dir, gboolean recursive, GPtrArray *out, int *n_skipped)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GDir) d = g_dir_open (dir, 0, &error);
  if (!d)
    {
      fprintf (stderr, "%s: warning: %s, skipped\n", prefix, error->message);
      (*n_skipped)++;
      return;
    }
  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;
  while ((name = g_dir_read_name (d)))
    if (name[0] != '.')
      g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);

  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *path = g_build_filename (dir, g_ptr_array_index (names, i), NULL);
      struct stat st, lst;
      if (stat (path, &st) != 0)
        {
          fprintf (stderr, "%s: warning: %s: cannot be read, skipped\n", prefix, path);
          (*n_skipped)++;
        }
      else if (S_ISDIR (st.st_mode))
        {
          /* Symlinked folders are not followed: they are how a tree loops. */
          if (recursive && lstat (path, &lst) == 0 && !S_ISLNK (lst.st_mode))
            walk (prefix, path, recursive, out, n_skipped);
        }
      else if (!S_ISREG (st.st_mode) || !looks_like_image (path))
        {
          fprintf (stderr, "%s: warning: %s: not an image, skipped\n", prefix, path);
          (*n_skipped)++;
        }
      else
        g_ptr_array_add (out, g_steal_pointer (&path));
    }
}

char **
cli_collect_images (const char *prefix, char **args, int n_args, gboolean recursive,
                    int *n_skipped, GError **error)
{
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func (g_free);
  *n_skipped = 0;
  for (int i = 0; i < n_args; i++)
    {
      if (g_file_test (args[i], G_FILE_TEST_IS_DIR))
        walk (prefix, args[i], recursive, out, n_skipped);
      else /* named by the user: always tried, so a missing one is reported with the rest */
        g_ptr_array_add (out, g_strdup (args[i]));
    }
  g_ptr_array_add (out, NULL);
  return (char **) g_ptr_array_steal (out, NULL);
}

/* ---------------------------------------------------------------------------------------------
 * Label files
 */

static gboolean
read_all (const char *path, char **text, gsize *len, GError **error)
{
  if (strcmp (path, "-") != 0)
    return g_file_get_contents (path, text, len, error);
  GString *s = g_string_new (NULL);
  char buf[4096];
  size_t n;
  while ((n = fread (buf, 1, sizeof buf, stdin)) > 0)
    g_string_append_len (s, buf, (gssize) n);
  if (ferror (stdin))
    {
      g_string_free (s, TRUE);
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_IO, "standard input: read error");
      return FALSE;
    }
  *len = s->len;
  *text = g_string_free (s, FALSE);
  return TRUE;
}

char **
cli_read_labels_file (const char *path, int *n_out, GError **error)
{
  g_autofree char *text = NULL;
  gsize len = 0;
  if (!read_all (path, &text, &len, error))
    return NULL;
  const char *name = strcmp (path, "-") ? path : "standard input";
  if (memchr (text, '\0', len))
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                   "%s: holds NUL bytes; expected a text file with one label per line", name);
      return NULL;
    }
  char *body = text;
  if (g_str_has_prefix (body, "\xEF\xBB\xBF"))
    body += 3;
  g_auto (GStrv) lines = g_strsplit (body, "\n", -1);
  g_autoptr (GPtrArray) labels = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  for (int i = 0; lines[i]; i++)
    {
      if (!g_utf8_validate (lines[i], -1, NULL))
        {
          g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                       "%s: line %d is not valid UTF-8", name, i + 1);
          return NULL;
        }
      char *label = g_strstrip (lines[i]); /* also drops the \r of CRLF files */
      if (*label && !g_hash_table_contains (seen, label))
        {
          g_hash_table_add (seen, label);
          g_ptr_array_add (labels, g_strdup (label));
        }
    }
  *n_out = (int) labels->len;
  g_ptr_array_add (labels, NULL);
  return (char **) g_ptr_array_steal (labels, NULL);
}

/* ---------------------------------------------------------------------------------------------
 * Progress
 */

#define BAR_WIDTH 24

void
cli_progress_start (CliProgress *p, int total)
{
  p->enabled = isatty (STDERR_FILENO) && total > 1;
  p->total = total;
  p->start_us = g_get_monotonic_time ();
  cli_progress_update (p, 0);
}

void
cli_progress_update (CliProgress *p, int done)
{
  if (!p->enabled)
    return;
  const double elapsed = (double) (g_get_monotonic_time () - p->start_us) / G_USEC_PER_SEC;
  const double rate = done > 0 && elapsed > 0 ? done / elapsed : 0;
  char bar[BAR_WIDTH + 1];
  const int filled = p->total > 0 ? BAR_WIDTH * done / p->total : 0;
  for (int i = 0; i < BAR_WIDTH; i++)
    bar[i] = i < filled ? '#' : '.';
  bar[BAR_WIDTH] = '\0';
  if (rate > 0)
    {
      const int eta = (int) ((p->total - done) / rate + 0.5);
      fprintf (stderr, "\r[%s] %d/%d  %.2f images/s  ETA %d:%02d\033[K", bar, done, p->total,
               rate, eta / 60, eta % 60);
    }
  else
    fprintf (stderr, "\r[%s] %d/%d\033[K", bar, done, p->total);
  fflush (stderr);
}

void
cli_progress_finish (CliProgress *p)
{
  if (!p->enabled)
    return;
  fputs ("\r\033[K", stderr);
  fflush (stderr);
}
