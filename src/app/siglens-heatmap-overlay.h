/* SPDX-License-Identifier: GPL-3.0-or-later */
/* SiglensHeatmapOverlay — the picture with "Where it looked" over it: a toggle, the map as a
 * see-through layer of adjustable opacity, and a note on what the map is and is not. The map
 * itself comes from the classifier's worker (siglens_classifier_where_looked_async). */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define SIGLENS_TYPE_HEATMAP_OVERLAY (siglens_heatmap_overlay_get_type ())
G_DECLARE_FINAL_TYPE (SiglensHeatmapOverlay, siglens_heatmap_overlay, SIGLENS, HEATMAP_OVERLAY,
                      GtkWidget)

GtkWidget  *siglens_heatmap_overlay_new         (void);

/* The picture under the map. */
void        siglens_heatmap_overlay_set_child   (SiglensHeatmapOverlay *self,
                                                 GtkWidget             *child);
GtkWidget  *siglens_heatmap_overlay_get_child   (SiglensHeatmapOverlay *self);

/* Whether the person asked to see the map (the toggle). */
gboolean    siglens_heatmap_overlay_get_active  (SiglensHeatmapOverlay *self);
void        siglens_heatmap_overlay_set_active  (SiglensHeatmapOverlay *self,
                                                 gboolean               active);

/* The rendered map, at the picture's aspect ratio, or NULL while there is none. */
void        siglens_heatmap_overlay_set_map     (SiglensHeatmapOverlay *self,
                                                 GdkPaintable          *map);
GdkPaintable *siglens_heatmap_overlay_get_map   (SiglensHeatmapOverlay *self);

/* 0..1: how strongly the map covers the picture. */
double      siglens_heatmap_overlay_get_opacity (SiglensHeatmapOverlay *self);
void        siglens_heatmap_overlay_set_opacity (SiglensHeatmapOverlay *self,
                                                 double                 opacity);

/* The note shown by the help button. (transfer none) */
const char *siglens_heatmap_overlay_get_help_text (SiglensHeatmapOverlay *self);

G_END_DECLS
