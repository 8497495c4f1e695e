/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define SIGLENS_TYPE_PREFERENCES_WINDOW (siglens_preferences_window_get_type ())
G_DECLARE_FINAL_TYPE (SiglensPreferencesWindow, siglens_preferences_window,
                      SIGLENS, PREFERENCES_WINDOW, AdwPreferencesWindow)

GtkWidget *siglens_preferences_window_new (void);

G_END_DECLS
