/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * siglens-image-header.h — the size an image file declares, read from its first bytes before
 * any pixel is decoded, and how long the file must be to hold it. GdkPixbuf's WebP loader
 * decodes the whole image before it reports the size, and its BMP loader fills what a short
 * file lacks with black; these headers let the decoder refuse both up front, as Pillow does.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Bytes siglens_image_header_parse needs at most. */
#define SIGLENS_IMAGE_HEADER_BYTES 64

typedef struct {
  const char *format; /* "BMP", "WebP", "GIF"; NULL when the bytes are none of these */
  gint64 width, height; /* as declared (a BMP's height may be negative: top-down rows) */
  guint64 min_bytes;    /* the whole file is at least this long, or it is truncated; 0: unknown */
} SiglensImageHeader;

/* Parses the first `len` bytes of a file (all of it if shorter than
 * SIGLENS_IMAGE_HEADER_BYTES). Returns FALSE, with h->format NULL, for other formats and for
 * headers cut short (the loader then says what is wrong). */
gboolean siglens_image_header_parse (const guint8 *data, gsize len, SiglensImageHeader *h);

G_END_DECLS
