/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <math.h>

#include "siglens-overlay.h"

/* matplotlib's viridis sampled at nine evenly spaced points (viridis(9)); linear steps between
 * them stay within a few levels of the full 256-entry table. */
static const guint8 viridis9[9][3] = {
  { 0x44, 0x01, 0x54 }, { 0x47, 0x2d, 0x7b }, { 0x3b, 0x52, 0x8b }, { 0x2c, 0x72, 0x8e },
  { 0x21, 0x91, 0x8c }, { 0x28, 0xae, 0x80 }, { 0x5e, 0xc9, 0x62 }, { 0xad, 0xdc, 0x30 },
  { 0xfd, 0xe7, 0x25 },
};

void
siglens_overlay_viridis (double t, guint8 rgb[3])
{
  double x = CLAMP (isnan (t) ? 0. : t, 0., 1.) * 8.;
  int i = MIN ((int) x, 7);
  double f = x - i;

  for (int c = 0; c < 3; c++)
    rgb[c] = (guint8) lround (viridis9[i][c] + f * (viridis9[i + 1][c] - viridis9[i][c]));
}

/* Grid coordinate of pixel centre `x` of `size` pixels over `cells` cells whose centres sit at
 * (j + 0.5) * size / cells: the lower cell and the weight of the upper one, clamped at the edges
 * (half a cell of constant colour, as align_corners=False resizing does). */
static void
grid_coordinate (int x, int size, int cells, int *lower, double *weight)
{
  double g = (x + 0.5) * cells / size - 0.5;

  if (g <= 0.)
    {
      *lower = 0;
      *weight = 0.;
    }
  else if (g >= cells - 1)
    {
      *lower = cells - 1;
      *weight = 0.;
    }
  else
    {
      *lower = (int) g;
      *weight = g - *lower;
    }
}

GdkPixbuf *
siglens_overlay_render_map (const float *map, int rows, int cols, int width, int height)
{
  g_autoptr (GdkPixbuf) out = NULL;
  guint8 *pixels;
  int stride;
  float max = 0.f;

  g_return_val_if_fail (map != NULL && rows > 0 && cols > 0, NULL);
  g_return_val_if_fail (width > 0 && height > 0, NULL);

  for (int i = 0; i < rows * cols; i++)
    max = MAX (max, map[i]);
  if (max <= 0.f)
    max = 1.f;

  out = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, width, height);
  if (out == NULL)
    return NULL;
  pixels = gdk_pixbuf_get_pixels (out);
  stride = gdk_pixbuf_get_rowstride (out);

  for (int y = 0; y < height; y++)
    {
      int r0;
      double wy;

      grid_coordinate (y, height, rows, &r0, &wy);
      for (int x = 0; x < width; x++)
        {
          int c0;
          double wx, v;
          int r1, c1;

          grid_coordinate (x, width, cols, &c0, &wx);
          r1 = MIN (r0 + 1, rows - 1);
          c1 = MIN (c0 + 1, cols - 1);
          v = (1 - wy) * ((1 - wx) * map[r0 * cols + c0] + wx * map[r0 * cols + c1])
              + wy * ((1 - wx) * map[r1 * cols + c0] + wx * map[r1 * cols + c1]);
          siglens_overlay_viridis (v / max, pixels + (gsize) y * stride + (gsize) x * 3);
        }
    }
  return g_steal_pointer (&out);
}

GdkPixbuf *
siglens_overlay_blend (GdkPixbuf *image, const float *map, int rows, int cols, double opacity)
{
  g_autoptr (GdkPixbuf) out = NULL;
  int width, height, channels, in_stride, out_stride;
  const guint8 *in, *heat_pixels;
  guint8 *dst;
  double a = CLAMP (opacity, 0., 1.);

  g_return_val_if_fail (GDK_IS_PIXBUF (image), NULL);
  g_return_val_if_fail (gdk_pixbuf_get_bits_per_sample (image) == 8, NULL);

  width = gdk_pixbuf_get_width (image);
  height = gdk_pixbuf_get_height (image);
  out = siglens_overlay_render_map (map, rows, cols, width, height);
  if (out == NULL)
    return NULL;
  channels = gdk_pixbuf_get_n_channels (image);
  in = gdk_pixbuf_read_pixels (image);
  in_stride = gdk_pixbuf_get_rowstride (image);
  dst = gdk_pixbuf_get_pixels (out);
  heat_pixels = dst;
  out_stride = gdk_pixbuf_get_rowstride (out);

  /* The image's RGB (alpha dropped, as the model sees it), the map over it. */
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      for (int c = 0; c < 3; c++)
        {
          gsize o = (gsize) y * out_stride + (gsize) x * 3 + c;
          double v = (1. - a) * in[(gsize) y * in_stride + (gsize) x * channels + c]
                     + a * heat_pixels[o];

          dst[o] = (guint8) lround (v);
        }
  return g_steal_pointer (&out);
}
