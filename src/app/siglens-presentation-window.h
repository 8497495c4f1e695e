/* SPDX-License-Identifier: GPL-3.0-or-later */
/* SiglensPresentationWindow — the picture and the scores side by side, full screen, in type
 * large enough to read from the back of a classroom. Esc (or F11) leaves. The main window
 * feeds it what it shows. */
#pragma once

#include <adwaita.h>

#include "siglens-score-chart.h"

G_BEGIN_DECLS

#define SIGLENS_TYPE_PRESENTATION_WINDOW (siglens_presentation_window_get_type ())
G_DECLARE_FINAL_TYPE (SiglensPresentationWindow, siglens_presentation_window, SIGLENS,
                      PRESENTATION_WINDOW, AdwWindow)

/* Full screen on `parent`'s monitor. */
SiglensPresentationWindow *siglens_presentation_window_new (GtkWindow *parent);

void               siglens_presentation_window_set_picture (SiglensPresentationWindow *self,
                                                            GdkPaintable              *picture);
/* "Where it looked" over the picture, as the main window shows it (NULL: none). */
void               siglens_presentation_window_set_map     (SiglensPresentationWindow *self,
                                                            GdkPaintable              *map,
                                                            double                     opacity);
GdkPaintable      *siglens_presentation_window_get_map     (SiglensPresentationWindow *self);
SiglensScoreChart *siglens_presentation_window_get_chart   (SiglensPresentationWindow *self);
/* The widget showing the picture (the heatmap overlay goes over it). */
GtkWidget         *siglens_presentation_window_get_picture_area (SiglensPresentationWindow *self);

G_END_DECLS
