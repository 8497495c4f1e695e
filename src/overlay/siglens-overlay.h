/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * "Where it looked" as a picture: the pooling head's attention map (rows x cols over the patch
 * grid) upsampled bilinearly to an image's display size, in the viridis colour map, and laid
 * over the image. Shared by the app (on its worker thread) and `siglens-cli heatmap`. GLib and
 * GdkPixbuf only.
 */
#pragma once

#include <gdk-pixbuf/gdk-pixbuf.h>

G_BEGIN_DECLS

/* Viridis at t in [0, 1] (clamped): dark blue-violet to yellow, lightness rising steadily, the
 * same for people with the common colour-vision deficiencies. */
void       siglens_overlay_viridis (double t, guint8 rgb[3]);

/* The map (rows x cols, row-major) stretched over width x height pixels, bilinear between
 * patch centres, each value divided by the map's largest so the hottest patch is yellow.
 * An opaque RGB pixbuf. (transfer full) */
GdkPixbuf *siglens_overlay_render_map (const float *map, int rows, int cols, int width,
                                       int height);

/* image with the rendered map laid over it at `opacity` (0..1): same size as `image`.
 * (transfer full) */
GdkPixbuf *siglens_overlay_blend (GdkPixbuf *image, const float *map, int rows, int cols,
                                  double opacity);

G_END_DECLS
