/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Label presets: ready-made label sets (animals, fruits, CIFAR-10, the 1,000 ImageNet classes,
 * Chinese sets, ...) compiled in as a GResource, and the sets people save themselves, one plain
 * text file each in the user's data folder. Both kinds are the same format: UTF-8, one label per
 * line, lines starting with '#' ignored. Shared by the app's preset menu and `siglens-cli`.
 * GLib only (no GTK).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define SIGLENS_PRESETS_ERROR (siglens_presets_error_quark ())

typedef enum {
  SIGLENS_PRESETS_ERROR_NOT_FOUND,
  SIGLENS_PRESETS_ERROR_BAD_NAME,
  SIGLENS_PRESETS_ERROR_EMPTY,
  SIGLENS_PRESETS_ERROR_FORMAT, /* a file is not UTF-8 text */
} SiglensPresetsError;

GQuark siglens_presets_error_quark (void);

typedef struct {
  char     *id;        /* built-in: "animals", "imagenet", "fruits-zh"; user set: its name */
  char     *name;      /* built-in: the English name (a gettext msgid); user set: as saved */
  char     *language;  /* of the labels: "en", "zh", or "" when they are of no one language */
  char    **labels;    /* NULL-terminated, in file order, duplicates and blanks dropped */
  guint     n_labels;
  gboolean  builtin;
} SiglensPreset;

void siglens_preset_free (SiglensPreset *preset);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SiglensPreset, siglens_preset_free)

/* The name to show: built-in names translated into the UI's language. (transfer none) */
const char *siglens_preset_get_display_name (const SiglensPreset *preset);
/* The labels as one line for the label entry, "cat, dog, …". (transfer full) */
char       *siglens_preset_dup_text (const SiglensPreset *preset);

/* Where user sets live: $XDG_DATA_HOME/siglens/label-sets. (transfer full) */
char      *siglens_presets_dup_user_dir (void);

/* Built-in presets first (in a fixed order), then the user's sets sorted by name. A user file
 * that cannot be read is skipped, not fatal: one bad file must not hide the others.
 * `user_dir` NULL = siglens_presets_dup_user_dir(). (element-type SiglensPreset) */
GPtrArray *siglens_presets_list (const char *user_dir);

/* Finds a preset by built-in id, then by a user set's name. */
SiglensPreset *siglens_presets_find (const char  *user_dir,
                                     const char  *name,
                                     GError     **error);

/* Saves (or replaces) the user set `name`: written to a temporary file and renamed over the
 * old one, so a crash never leaves half a set. Names are one line, at most 100 characters,
 * without '/' or a leading '.', and not the id of a built-in preset. */
SiglensPreset *siglens_presets_save (const char         *user_dir,
                                     const char         *name,
                                     const char *const  *labels,
                                     GError            **error);

gboolean       siglens_presets_delete (const char  *user_dir,
                                       const char  *name,
                                       GError     **error);

/* The prompt ensemble the app's Preferences and `classify --ensemble` use: a few of CLIP's
 * zero-shot ImageNet templates, SigLIP's own first. NULL-terminated. (transfer none) */
const char *const *siglens_presets_ensemble_templates (guint *n_out);

/* Reads preset text (one label per line): trims, drops blanks, '#' comments and repeats. */
char         **siglens_presets_parse (const char *text,
                                      gsize       length,
                                      guint      *n_out);

G_END_DECLS
