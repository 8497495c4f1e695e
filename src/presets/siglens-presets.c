/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The built-in presets are plain text files in data/presets/, compiled into this library as a
 * GResource (siglens-presets-resources) rather than installed under $prefix/share: the app, the
 * CLI and the tests then read the very same bytes whether installed, run from the build tree or
 * inside a Flatpak, and no data-dir lookup can go stale. User sets are files a teacher can also
 * write or share by hand: $XDG_DATA_HOME/siglens/label-sets/NAME.txt, one label per line.
 */
#include <glib/gi18n-lib.h>
#include <errno.h>
#include <glib/gstdio.h>
#include <gio/gio.h>
#include <string.h>

#include "siglens-presets.h"
#include "siglens-presets-resources.h"

#define RESOURCE_DIR  "/io/github/siglens/Siglens/presets/"
#define USER_SUFFIX   ".txt"
#define MAX_NAME_CHARS 100

G_DEFINE_QUARK (siglens-presets-error-quark, siglens_presets_error)

/* In menu order. The names are msgids: the Chinese UI shows 动物 for "Animals in Chinese" and
 * "动物（英文）" for "Animals". */
static const struct {
  const char *id;
  const char *name;
  const char *language;
} builtins[] = {
  { "animals", N_("Animals"), "en" },
  { "vehicles", N_("Vehicles"), "en" },
  { "weather", N_("Weather"), "en" },
  { "emotions", N_("Emotions"), "en" },
  { "fruits", N_("Fruits"), "en" },
  { "cifar10", N_("CIFAR-10 (10 classes)"), "en" },
  { "imagenet", N_("ImageNet (1,000 classes)"), "en" },
  { "animals-zh", N_("Animals in Chinese"), "zh" },
  { "vehicles-zh", N_("Vehicles in Chinese"), "zh" },
  { "weather-zh", N_("Weather in Chinese"), "zh" },
  { "emotions-zh", N_("Emotions in Chinese"), "zh" },
  { "fruits-zh", N_("Fruits in Chinese"), "zh" },
};

/* From the 80 of CLIP's notebook Prompt_Engineering_for_ImageNet (Radford et al. 2021): the
 * everyday ones a classroom photo fits, and SigLIP 2's own sentence. */
static const char *const ensemble_templates[] = {
  "This is a photo of {}.",
  "a photo of a {}.",
  "a drawing of a {}.",
  "a close-up photo of a {}.",
  "a bright photo of a {}.",
  "a blurry photo of a {}.",
  "a painting of a {}.",
  "a photo of the large {}.",
  "a photo of the small {}.",
  NULL,
};

const char *const *
siglens_presets_ensemble_templates (guint *n_out)
{
  if (n_out != NULL)
    *n_out = G_N_ELEMENTS (ensemble_templates) - 1;
  return ensemble_templates;
}

void
siglens_preset_free (SiglensPreset *preset)
{
  if (preset == NULL)
    return;
  g_free (preset->id);
  g_free (preset->name);
  g_free (preset->language);
  g_strfreev (preset->labels);
  g_free (preset);
}

const char *
siglens_preset_get_display_name (const SiglensPreset *preset)
{
  g_return_val_if_fail (preset != NULL, NULL);

  return preset->builtin ? g_dgettext (GETTEXT_PACKAGE, preset->name) : preset->name;
}

char *
siglens_preset_dup_text (const SiglensPreset *preset)
{
  g_return_val_if_fail (preset != NULL, NULL);

  /* No preset label holds a separator (the tests check), so this splits back into the set. */
  return g_strjoinv (", ", preset->labels);
}

char **
siglens_presets_parse (const char *text,
                       gsize       length,
                       guint      *n_out)
{
  g_autoptr (GPtrArray) labels = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_auto (GStrv) lines = NULL;
  g_autofree char *copy = g_strndup (text, length);

  lines = g_strsplit (copy, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *label = g_strstrip (lines[i]);

      if (*label == '\0' || *label == '#' || g_hash_table_contains (seen, label))
        continue;
      g_hash_table_add (seen, label);
      g_ptr_array_add (labels, g_strdup (label));
    }
  if (n_out != NULL)
    *n_out = labels->len;
  g_ptr_array_add (labels, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&labels), FALSE);
}

/* "zh" when any label is written in Han characters, "en" when all are plain ASCII. */
static char *
guess_language (char **labels)
{
  gboolean ascii = TRUE;

  for (guint i = 0; labels[i] != NULL; i++)
    for (const char *p = labels[i]; *p != '\0'; p = g_utf8_next_char (p))
      {
        gunichar c = g_utf8_get_char (p);

        if (g_unichar_get_script (c) == G_UNICODE_SCRIPT_HAN)
          return g_strdup ("zh");
        if (c >= 0x80)
          ascii = FALSE;
      }
  return g_strdup (ascii ? "en" : "");
}

static SiglensPreset *
preset_from_text (const char *id, const char *name, const char *language, gboolean builtin,
                  const char *text, gsize length, const char *where, GError **error)
{
  g_autoptr (SiglensPreset) preset = g_new0 (SiglensPreset, 1);

  if (!g_utf8_validate_len (text, length, NULL))
    {
      g_set_error (error, SIGLENS_PRESETS_ERROR, SIGLENS_PRESETS_ERROR_FORMAT,
                   _("The label set “%s” is not UTF-8 text."), where);
      return NULL;
    }
  preset->id = g_strdup (id);
  preset->name = g_strdup (name);
  preset->builtin = builtin;
  preset->labels = siglens_presets_parse (text, length, &preset->n_labels);
  preset->language = language != NULL ? g_strdup (language) : guess_language (preset->labels);
  return g_steal_pointer (&preset);
}

static GResource *
presets_resource (void)
{
  static GResource *resource = NULL;

  /* Registered on first use, not by a constructor: the linker drops a static library's object
   * nothing references, constructor and all. */
  if (g_once_init_enter (&resource))
    {
      GResource *found;

      siglens_presets_register_resource ();
      /* GLib (2.74 at least) builds registered static resources lazily, on the first lookup of
       * any thread, under its resources lock; a thread that asks for its own resource while
       * another one is building them gets NULL instead of waiting (the window's first look at
       * GTK's resources on the main thread, against a worker's first preset: a SIGSEGV in
       * g_resource_lookup_data seen once in CI). A global lookup takes that lock as a reader,
       * so it waits for the build to end (or builds ours itself); then the resource is there. */
      found = siglens_presets_get_resource ();
      if (found == NULL)
        {
          g_strfreev (g_resources_enumerate_children ("/", G_RESOURCE_LOOKUP_FLAGS_NONE, NULL));
          found = siglens_presets_get_resource ();
        }
      /* compiled in by meson: still none is a build bug */
      g_assert (found != NULL);
      g_once_init_leave (&resource, found);
    }
  return resource;
}

static SiglensPreset *
load_builtin (guint index)
{
  g_autofree char *path = g_strconcat (RESOURCE_DIR, builtins[index].id, ".txt", NULL);
  g_autoptr (GBytes) bytes = NULL;
  gsize length;
  const char *text;

  bytes = g_resource_lookup_data (presets_resource (), path,
                                  G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
  /* Compiled in from data/presets/ by meson: a missing one is a build bug. */
  g_assert (bytes != NULL);
  text = g_bytes_get_data (bytes, &length);
  return preset_from_text (builtins[index].id, builtins[index].name, builtins[index].language,
                           TRUE, text, length, path, NULL);
}

char *
siglens_presets_dup_user_dir (void)
{
  return g_build_filename (g_get_user_data_dir (), "siglens", "label-sets", NULL);
}

static SiglensPreset *
load_user_file (const char *dir, const char *file_name, GError **error)
{
  g_autofree char *path = g_build_filename (dir, file_name, NULL);
  g_autofree char *name = g_strndup (file_name, strlen (file_name) - strlen (USER_SUFFIX));
  g_autofree char *text = NULL;
  gsize length;

  if (!g_file_get_contents (path, &text, &length, error))
    return NULL;
  return preset_from_text (name, name, NULL, FALSE, text, length, path, error);
}

static int
compare_by_name (gconstpointer a, gconstpointer b)
{
  const SiglensPreset *x = *(SiglensPreset *const *) a, *y = *(SiglensPreset *const *) b;
  g_autofree char *kx = g_utf8_collate_key (x->name, -1);
  g_autofree char *ky = g_utf8_collate_key (y->name, -1);

  return strcmp (kx, ky);
}

GPtrArray *
siglens_presets_list (const char *user_dir)
{
  GPtrArray *presets = g_ptr_array_new_with_free_func ((GDestroyNotify) siglens_preset_free);
  g_autofree char *default_dir = NULL;
  g_autoptr (GPtrArray) user = g_ptr_array_new_with_free_func ((GDestroyNotify) siglens_preset_free);
  g_autoptr (GDir) dir = NULL;
  const char *file_name;

  for (guint i = 0; i < G_N_ELEMENTS (builtins); i++)
    g_ptr_array_add (presets, load_builtin (i));

  if (user_dir == NULL)
    user_dir = default_dir = siglens_presets_dup_user_dir ();
  dir = g_dir_open (user_dir, 0, NULL);
  while (dir != NULL && (file_name = g_dir_read_name (dir)) != NULL)
    {
      SiglensPreset *preset;

      /* Not a set: dot files, and the temporaries of a save in progress ("NAME.txt.XXXXXX",
       * g_file_set_contents_full's). */
      if (file_name[0] == '.' || !g_str_has_suffix (file_name, USER_SUFFIX))
        continue;
      preset = load_user_file (user_dir, file_name, NULL);
      if (preset != NULL && preset->n_labels > 0)
        g_ptr_array_add (user, preset);
      else
        siglens_preset_free (preset);
    }
  g_ptr_array_sort (user, compare_by_name);
  g_ptr_array_extend_and_steal (presets, g_steal_pointer (&user));
  return presets;
}

static gboolean
is_builtin_id (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (builtins); i++)
    if (g_strcmp0 (builtins[i].id, name) == 0)
      return TRUE;
  return FALSE;
}

static gboolean
check_user_name (const char *name, GError **error)
{
  if (name == NULL || *name == '\0')
    {
      g_set_error_literal (error, SIGLENS_PRESETS_ERROR, SIGLENS_PRESETS_ERROR_BAD_NAME,
                           _("A label set needs a name."));
      return FALSE;
    }
  if (!g_utf8_validate (name, -1, NULL) || g_utf8_strlen (name, -1) > MAX_NAME_CHARS
      || strpbrk (name, "/\\\n\r\t") != NULL || name[0] == '.' || g_str_has_prefix (name, " ")
      || g_str_has_suffix (name, " "))
    {
      g_set_error (error, SIGLENS_PRESETS_ERROR, SIGLENS_PRESETS_ERROR_BAD_NAME,
                   _("“%s” cannot be the name of a label set: use up to %d characters, without "
                     "“/”, “\\” or a leading dot."), name, MAX_NAME_CHARS);
      return FALSE;
    }
  if (is_builtin_id (name))
    {
      g_set_error (error, SIGLENS_PRESETS_ERROR, SIGLENS_PRESETS_ERROR_BAD_NAME,
                   _("“%s” is the name of a built-in label set; choose another name."), name);
      return FALSE;
    }
  return TRUE;
}

SiglensPreset *
siglens_presets_find (const char  *user_dir,
                      const char  *name,
                      GError     **error)
{
  g_autofree char *default_dir = NULL;
  g_autofree char *file_name = NULL;
  g_autofree char *path = NULL;

  g_return_val_if_fail (name != NULL, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (builtins); i++)
    if (g_strcmp0 (builtins[i].id, name) == 0)
      return load_builtin (i);

  if (user_dir == NULL)
    user_dir = default_dir = siglens_presets_dup_user_dir ();
  file_name = g_strconcat (name, USER_SUFFIX, NULL);
  path = g_build_filename (user_dir, file_name, NULL);
  if (check_user_name (name, NULL) && g_file_test (path, G_FILE_TEST_IS_REGULAR))
    return load_user_file (user_dir, file_name, error);

  g_set_error (error, SIGLENS_PRESETS_ERROR, SIGLENS_PRESETS_ERROR_NOT_FOUND,
               _("There is no label set “%s”; `siglens-cli presets` lists them."), name);
  return NULL;
}

SiglensPreset *
siglens_presets_save (const char         *user_dir,
                      const char         *name,
                      const char *const  *labels,
                      GError            **error)
{
  g_autofree char *default_dir = NULL;
  g_autofree char *file_name = NULL;
  g_autofree char *path = NULL;
  g_autoptr (GString) text = g_string_new (NULL);
  guint n = 0;

  if (!check_user_name (name, error))
    return NULL;

  for (guint i = 0; labels != NULL && labels[i] != NULL; i++)
    {
      /* One label per line: a line break inside a label would split it in two. */
      g_auto (GStrv) parts = g_strsplit_set (labels[i], "\r\n", -1);
      g_autofree char *one = g_strstrip (g_strjoinv (" ", parts));

      if (*one == '\0')
        continue;
      g_string_append_printf (text, "%s\n", one);
      n++;
    }
  if (n == 0)
    {
      g_set_error (error, SIGLENS_PRESETS_ERROR, SIGLENS_PRESETS_ERROR_EMPTY,
                   _("The label set “%s” has no labels to save."), name);
      return NULL;
    }

  if (user_dir == NULL)
    user_dir = default_dir = siglens_presets_dup_user_dir ();
  if (g_mkdir_with_parents (user_dir, 0755) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved_errno),
                   _("Could not create the folder “%s”: %s"), user_dir, g_strerror (saved_errno));
      return NULL;
    }
  file_name = g_strconcat (name, USER_SUFFIX, NULL);
  path = g_build_filename (user_dir, file_name, NULL);
  /* CONSISTENT: written to a temporary file in the same folder, fsync'd, then renamed over
   * `path`, so a crash leaves the old set or the new one, never a mixture. DURABLE: the folder
   * is fsync'd after the rename too, so a set just saved survives a power cut. */
  if (!g_file_set_contents_full (path, text->str, (gssize) text->len,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                 0644, error))
    return NULL;
  return load_user_file (user_dir, file_name, error);
}

gboolean
siglens_presets_delete (const char  *user_dir,
                        const char  *name,
                        GError     **error)
{
  g_autofree char *default_dir = NULL;
  g_autofree char *file_name = NULL;
  g_autofree char *path = NULL;
  g_autoptr (GFile) file = NULL;

  if (!check_user_name (name, error))
    return FALSE;
  if (user_dir == NULL)
    user_dir = default_dir = siglens_presets_dup_user_dir ();
  file_name = g_strconcat (name, USER_SUFFIX, NULL);
  path = g_build_filename (user_dir, file_name, NULL);
  file = g_file_new_for_path (path);
  return g_file_delete (file, NULL, error);
}
