/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * siglens-image-header.h — what an image file declares, read from its first bytes (or, for a
 * TIFF, its first directory) before any pixel is decoded: its size, how long the file must be
 * to hold it, and whether it is a kind the reference reads differently from GdkPixbuf.
 * GdkPixbuf's WebP and TIFF loaders decode the whole image before they report the size, and
 * its BMP, PNM and ICO loaders fill what a short file lacks with black; these headers let the decoder
 * refuse such files up front, as Pillow does.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Bytes siglens_image_header_parse looks at, at most (an SVG's prologue fits in them). */
#define SIGLENS_IMAGE_HEADER_BYTES 512

/* Kinds of image Siglens refuses by name: Pillow (the reference) cannot read them, or reads them
 * in a way GdkPixbuf cannot reproduce (see siglens-decode.c for each). */
typedef enum {
  SIGLENS_IMAGE_SUPPORTED,
  SIGLENS_IMAGE_SVG,
  SIGLENS_IMAGE_PNG_GRAY16,
  SIGLENS_IMAGE_TIFF_ALPHA,
  SIGLENS_IMAGE_TIFF_CMYK,
  SIGLENS_IMAGE_TIFF_DEEP,
  SIGLENS_IMAGE_TIFF_OTHER,
  /* A DIB header size no BMP version has: Pillow refuses it ("Unsupported BMP header type"),
   * and GdkPixbuf's loader allocates what the field says (4 GB for a 50-byte file) before it
   * reports a size. */
  SIGLENS_IMAGE_BMP_HEADER,
  /* A PNM whose largest sample value is not 255: Pillow reads 16-bit gray as mode "I" (every
   * value above 255 white) and rounds other scales otherwise than GdkPixbuf. */
  SIGLENS_IMAGE_PNM_MAXVAL,
  /* A format whose reading has not been checked against Pillow's (format names it). */
  SIGLENS_IMAGE_UNCHECKED,
} SiglensImageKind;

typedef struct {
  const char *format; /* "BMP", "WebP", "GIF", "PNG", "TIFF", "PNM", "ICO", "SVG"...; NULL: none */
  gint64 width, height; /* as declared (a BMP's height may be negative: top-down rows); -1: unknown */
  guint64 min_bytes;    /* the whole file is at least this long, or it is truncated; 0: unknown */
  SiglensImageKind kind;
  int tiff_photometric; /* for SIGLENS_IMAGE_TIFF_OTHER */
  guint32 bmp_header_size; /* for SIGLENS_IMAGE_BMP_HEADER */
  guint32 pnm_maxval;      /* for SIGLENS_IMAGE_PNM_MAXVAL */
  /* A plain (text) PNM, P1-P3: how many samples it must hold, and where they start. Its
   * length says little (a sample is 1 to 5 digits), so the decoder counts them. */
  guint64 pnm_plain_samples;
  guint64 pnm_plain_offset;
  gboolean pnm_plain_bits; /* P1: each '0' or '1' is a sample, no separator needed */
} SiglensImageHeader;

/* Parses the first `len` bytes of a file (all of it if shorter than
 * SIGLENS_IMAGE_HEADER_BYTES). Returns FALSE, with h->format NULL, for other formats and for
 * headers cut short (the loader then says what is wrong). A TIFF gives format "TIFF" only:
 * its directory may be anywhere in the file, see siglens_image_header_parse_tiff. */
gboolean siglens_image_header_parse (const guint8 *data, gsize len, SiglensImageHeader *h);

/* The first directory of a whole TIFF file (the page Pillow and GdkPixbuf read): size and
 * kind. FALSE when it cannot be found in `len` bytes (the loader then says what is wrong). */
gboolean siglens_image_header_parse_tiff (const guint8 *data, gsize len, SiglensImageHeader *h);

G_END_DECLS
