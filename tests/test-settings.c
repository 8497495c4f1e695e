/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Settings are never left half-written. The app keeps its settings in GSettings: dconf on a
 * desktop, the keyfile backend in a Flatpak sandbox (tests otherwise run on the memory backend).
 * Here the app's schema is written through the keyfile backend by a child process that the
 * kernel kills inside the write (a file size limit, RLIMIT_FSIZE, below the new file's size:
 * SIGXFSZ). GLib writes the keyfile to a temporary and renames it over (g_file_replace_contents),
 * so the file keeps the settings as they were, whole, and the next run reads them.
 */
#define G_SETTINGS_ENABLE_BACKEND
#include <gio/gio.h>
#include <gio/gsettingsbackend.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <sys/resource.h>

#include "test-util.h"

#define SCHEMA_ID   "io.github.siglens.Siglens"
#define OLD_LABELS  "cat, dog"

static GSettings *
keyfile_settings (const char *path)
{
  g_autoptr (GSettingsBackend) backend = g_keyfile_settings_backend_new (path, "/", NULL);

  return g_settings_new_with_backend (SCHEMA_ID, backend);
}

static guint
count_files (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  guint n = 0;

  while (d != NULL && g_dir_read_name (d) != NULL)
    n++;
  return n;
}

static void
test_killed_mid_write (void)
{
  g_autofree char *dir = test_out_path ("settings-killed");
  g_autofree char *path = g_build_filename (dir, "keyfile", NULL);

  if (g_test_subprocess ())
    {
      g_autoptr (GSettings) settings = keyfile_settings (path);
      g_autoptr (GString) labels = g_string_new (NULL);
      GStatBuf st;
      struct rlimit fsize, no_core = { 0, 0 };

      for (int i = 0; i < 300; i++)
        g_string_append_printf (labels, "%slabel %03d", i ? ", " : "", i);
      g_assert_cmpint (g_stat (path, &st), ==, 0);
      fsize.rlim_cur = fsize.rlim_max = (rlim_t) st.st_size + 64;
      signal (SIGXFSZ, SIG_DFL);
      g_assert_cmpint (setrlimit (RLIMIT_CORE, &no_core), ==, 0);
      g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &fsize), ==, 0);
      g_settings_set_string (settings, "labels", labels->str);
      g_settings_sync ();
      g_assert_not_reached ();
    }

  /* The settings before: written whole by a run that ended normally. */
  {
    g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
    const char *name;

    while (d != NULL && (name = g_dir_read_name (d)) != NULL)
      {
        g_autofree char *old = g_build_filename (dir, name, NULL);
        g_assert_cmpint (g_unlink (old), ==, 0);
      }
  }
  {
    g_autoptr (GSettings) settings = keyfile_settings (path);

    g_assert_true (g_settings_set_string (settings, "labels", OLD_LABELS));
    g_settings_sync ();
  }
  g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));
  g_assert_cmpuint (count_files (dir), ==, 1);

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();
  /* it did die mid-write: a partial temporary beside the keyfile */
  g_assert_cmpuint (count_files (dir), ==, 2);

  /* The keyfile parses and says what it said before the killed write. */
  {
    g_autoptr (GKeyFile) keyfile = g_key_file_new ();
    g_autoptr (GError) error = NULL;
    g_autoptr (GSettings) settings = keyfile_settings (path);
    g_autofree char *labels = g_settings_get_string (settings, "labels");

    g_assert_true (g_key_file_load_from_file (keyfile, path, G_KEY_FILE_NONE, &error));
    g_assert_no_error (error);
    g_assert_cmpstr (labels, ==, OLD_LABELS);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/settings/killed-mid-write", test_killed_mid_write);
  return g_test_run ();
}
