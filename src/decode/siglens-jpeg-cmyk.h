/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * siglens-jpeg-cmyk.h — four-component (CMYK or YCCK) JPEGs decoded with libjpeg and converted
 * to RGB exactly as Pillow does, where GdkPixbuf's JPEG loader rounds otherwise.
 */
#pragma once

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <gio/gio.h>

G_BEGIN_DECLS

/* Decodes a whole JPEG file of four components to a pixbuf of 8-bit RGB, with the EXIF
 * orientation as the "orientation" option (as GdkPixbuf's loader sets it). A size over
 * max_pixels is refused before any pixel is decoded; the cancellable is looked at between
 * bands of rows. Errors are SIGLENS_DECODE_ERROR or G_IO_ERROR_CANCELLED, naming `name`.
 * (transfer full) */
GdkPixbuf *siglens_jpeg_cmyk_decode (const guint8 *data, gsize len, const char *name,
                                     guint64 max_pixels, GCancellable *cancellable,
                                     GError **error);

G_END_DECLS
