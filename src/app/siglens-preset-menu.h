/* SPDX-License-Identifier: GPL-3.0-or-later */
/* SiglensPresetMenu — the button next to the label entry: ready-made label sets and the sets
 * people saved, put into the entry in one click; "Save Labels as a Set…" keeps the entry's. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define SIGLENS_TYPE_PRESET_MENU (siglens_preset_menu_get_type ())
G_DECLARE_FINAL_TYPE (SiglensPresetMenu, siglens_preset_menu, SIGLENS, PRESET_MENU, GtkWidget)

GtkWidget   *siglens_preset_menu_new          (void);

/* The label entry the menu fills and saves from. */
void         siglens_preset_menu_set_entry    (SiglensPresetMenu *self,
                                               GtkEditable       *entry);
GtkEditable *siglens_preset_menu_get_entry    (SiglensPresetMenu *self);

/* Puts preset `name` (a built-in id or a saved set's name) into the entry. FALSE and a
 * ::message when there is no such set. */
gboolean     siglens_preset_menu_apply        (SiglensPresetMenu *self,
                                               const char        *name);
/* Saves the entry's labels as the user set `name`; FALSE and a ::message when it cannot. */
gboolean     siglens_preset_menu_save         (SiglensPresetMenu *self,
                                               const char        *name);

/* How many labels `text` may have: a preset put in by this menu (ImageNet: 998) may have all
 * of its own while the entry still holds exactly it; 0 for anything else. */
guint        siglens_preset_menu_get_label_allowance (SiglensPresetMenu *self,
                                                      const char        *text);

/* The menu as it is built when opened: its sections with item labels and actions. For tests.
 * (transfer full) */
GMenuModel  *siglens_preset_menu_build_model  (SiglensPresetMenu *self);

G_END_DECLS
