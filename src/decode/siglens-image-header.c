/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The declared size of BMP, WebP and GIF files (see siglens-image-header.h). */
#include "siglens-image-header.h"

#include <string.h>

static guint32
le16 (const guint8 *p)
{
  return (guint32) p[0] | (guint32) p[1] << 8;
}

static guint32
le24 (const guint8 *p)
{
  return le16 (p) | (guint32) p[2] << 16;
}

static guint32
le32 (const guint8 *p)
{
  return le24 (p) | (guint32) p[3] << 24;
}

/* BITMAPFILEHEADER (14 bytes) then a DIB header: BITMAPCOREHEADER (12 bytes, 16-bit sizes) or
 * BITMAPINFOHEADER and its successors (40+ bytes, 32-bit signed sizes). Uncompressed pixels
 * (BI_RGB, BI_BITFIELDS, BI_ALPHABITFIELDS) occupy rows padded to 4 bytes from the pixel
 * offset on, which gives the file's least length; RLE and embedded JPEG/PNG have none. */
static gboolean
parse_bmp (const guint8 *p, gsize len, SiglensImageHeader *h)
{
  if (len < 26)
    return FALSE;
  guint32 offset = le32 (p + 10), dib = le32 (p + 14);
  guint32 bpp, compression = 0;
  if (dib == 12)
    {
      h->width = le16 (p + 18);
      h->height = le16 (p + 20);
      bpp = le16 (p + 24);
    }
  else
    {
      if (len < 34 || dib < 16)
        return FALSE;
      h->width = (gint32) le32 (p + 18);
      h->height = (gint32) le32 (p + 22);
      bpp = le16 (p + 28);
      compression = dib >= 20 ? le32 (p + 30) : 0;
    }
  h->format = "BMP";
  if ((compression == 0 || compression == 3 || compression == 6) && h->width > 0
      && bpp > 0 && bpp <= 64)
    {
      guint64 row = ((guint64) h->width * bpp + 31) / 32 * 4;
      guint64 rows = (guint64) ABS (h->height);
      h->min_bytes = (guint64) offset + row * rows;
    }
  return TRUE;
}

/* RIFF "WEBP" and its first chunk: VP8X (canvas size, 24-bit minus one), VP8L (14-bit minus
 * one after the 0x2f signature) or VP8 (key frame: 14-bit sizes after the start code). The
 * RIFF size says how long the file is. */
static gboolean
parse_webp (const guint8 *p, gsize len, SiglensImageHeader *h)
{
  if (len < 30)
    return FALSE;
  h->format = "WebP";
  h->min_bytes = 8 + (guint64) le32 (p + 4);
  const guint8 *c = p + 12;
  if (!memcmp (c, "VP8X", 4))
    {
      h->width = (gint64) le24 (p + 24) + 1;
      h->height = (gint64) le24 (p + 27) + 1;
    }
  else if (!memcmp (c, "VP8L", 4) && p[20] == 0x2f)
    {
      guint32 bits = le32 (p + 21);
      h->width = (gint64) (bits & 0x3fff) + 1;
      h->height = (gint64) ((bits >> 14) & 0x3fff) + 1;
    }
  else if (!memcmp (c, "VP8 ", 4) && p[23] == 0x9d && p[24] == 0x01 && p[25] == 0x2a)
    {
      h->width = le16 (p + 26) & 0x3fff;
      h->height = le16 (p + 28) & 0x3fff;
    }
  else
    h->width = h->height = -1; /* unknown chunk: the loader decides */
  return TRUE;
}

/* GIF87a/89a: the logical screen size. (Where the first frame ends is found by the stream
 * scanner in siglens-decode.c.) */
static gboolean
parse_gif (const guint8 *p, gsize len, SiglensImageHeader *h)
{
  if (len < 10)
    return FALSE;
  h->format = "GIF";
  h->width = le16 (p + 6);
  h->height = le16 (p + 8);
  return TRUE;
}

gboolean
siglens_image_header_parse (const guint8 *data, gsize len, SiglensImageHeader *h)
{
  *h = (SiglensImageHeader) { NULL, -1, -1, 0 };
  gboolean ok = FALSE;
  if (len >= 2 && !memcmp (data, "BM", 2))
    ok = parse_bmp (data, len, h);
  else if (len >= 12 && !memcmp (data, "RIFF", 4) && !memcmp (data + 8, "WEBP", 4))
    ok = parse_webp (data, len, h);
  else if (len >= 6 && (!memcmp (data, "GIF87a", 6) || !memcmp (data, "GIF89a", 6)))
    ok = parse_gif (data, len, h);
  if (!ok)
    h->format = NULL;
  return ok;
}
