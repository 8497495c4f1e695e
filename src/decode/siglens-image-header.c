/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What BMP, WebP, GIF, PNG, TIFF, PNM, ICO, XBM and SVG files declare (see siglens-image-header.h). */
#include "siglens-image-header.h"

#include <string.h>

#include <gio/gio.h>

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

static guint32
be32 (const guint8 *p)
{
  return (guint32) p[0] << 24 | (guint32) p[1] << 16 | (guint32) p[2] << 8 | p[3];
}

/* BITMAPFILEHEADER (14 bytes) then a DIB header: BITMAPCOREHEADER (12 bytes, 16-bit sizes) or
 * BITMAPINFOHEADER and its successors (40+ bytes, 32-bit signed sizes). Its size is one of
 * those Pillow's BmpImagePlugin reads (12, 40, 52, 56, 64, 108, 124); any other is refused as
 * Pillow refuses it ("Unsupported BMP header type"). Uncompressed pixels
 * (BI_RGB, BI_BITFIELDS, BI_ALPHABITFIELDS) occupy rows padded to 4 bytes from the pixel
 * offset on, which gives the file's least length; RLE and embedded JPEG/PNG have none. */
static gboolean
parse_bmp (const guint8 *p, gsize len, SiglensImageHeader *h)
{
  if (len < 26)
    return FALSE;
  guint32 offset = le32 (p + 10), dib = le32 (p + 14);
  guint32 bpp, compression = 0;
  h->format = "BMP";
  if (dib != 12 && dib != 40 && dib != 52 && dib != 56 && dib != 64 && dib != 108 && dib != 124)
    {
      h->kind = SIGLENS_IMAGE_BMP_HEADER;
      h->bmp_header_size = dib;
      return TRUE;
    }
  if (dib == 12)
    {
      h->width = le16 (p + 18);
      h->height = le16 (p + 20);
      bpp = le16 (p + 24);
    }
  else
    {
      if (len < 34)
        return FALSE;
      h->width = (gint32) le32 (p + 18);
      h->height = (gint32) le32 (p + 22);
      bpp = le16 (p + 28);
      compression = le32 (p + 30);
    }
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

/* The signature and IHDR. Pillow opens 16-bit grayscale as mode "I" and its convert ("RGB")
 * clips every value above 255 to white, where GdkPixbuf keeps the high byte: no shared
 * reading, so that one kind is refused. (16-bit RGB, RGBA and gray+alpha are the high byte in
 * both.) */
static gboolean
parse_png (const guint8 *p, gsize len, SiglensImageHeader *h)
{
  if (len < 8 + 8 + 13 || memcmp (p + 12, "IHDR", 4) != 0)
    return FALSE;
  h->format = "PNG";
  h->width = be32 (p + 16);
  h->height = be32 (p + 20);
  guint8 bit_depth = p[24], colour_type = p[25];
  if (bit_depth == 16 && colour_type == 0)
    h->kind = SIGLENS_IMAGE_PNG_GRAY16;
  return TRUE;
}

static const guint8 *
skip_space (const guint8 *p, const guint8 *end)
{
  if (end - p >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF) /* UTF-8 BOM */
    p += 3;
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
    p++;
  return p;
}

static gboolean
starts_with (const guint8 *p, const guint8 *end, const char *prefix)
{
  gsize n = strlen (prefix);
  return (gsize) (end - p) >= n && g_ascii_strncasecmp ((const char *) p, prefix, n) == 0;
}

/* XML whose root (within the bytes seen) is <svg>. Pillow has no SVG reader, and GdkPixbuf
 * reads SVG only where librsvg's loader happens to be installed, so SVG is recognised here,
 * before any loader sees it, and refused whatever is installed. */
static gboolean
looks_like_svg (const guint8 *p, gsize len)
{
  const guint8 *end = p + len;
  p = skip_space (p, end);
  if (starts_with (p, end, "<svg"))
    return TRUE;
  if (!starts_with (p, end, "<?xml") && !starts_with (p, end, "<!--")
      && !starts_with (p, end, "<!DOCTYPE svg"))
    return FALSE;
  for (const guint8 *q = p; end - q >= 4; q++)
    if (!memcmp (q, "<svg", 4))
      return TRUE;
  return FALSE;
}

/* A gzip stream (an .svgz) whose first bytes are SVG. */
static gboolean
looks_like_svgz (const guint8 *p, gsize len)
{
  if (len < 10 || p[0] != 0x1F || p[1] != 0x8B)
    return FALSE;
  g_autoptr(GConverter) gunzip =
    G_CONVERTER (g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP));
  guint8 out[SIGLENS_IMAGE_HEADER_BYTES];
  gsize read = 0, written = 0;
  GConverterResult r = g_converter_convert (gunzip, p, len, out, sizeof out,
                                            G_CONVERTER_NO_FLAGS, &read, &written, NULL);
  return r != G_CONVERTER_ERROR && looks_like_svg (out, written);
}

/* One decimal field of a PNM header: whitespace and "#" comments (to the end of the line)
 * before it. FALSE when the header is cut short or the field is not a number. */
static gboolean
pnm_field (const guint8 **p, const guint8 *end, guint64 *value)
{
  const guint8 *q = *p;
  for (;;)
    {
      while (q < end && g_ascii_isspace (*q))
        q++;
      if (q < end && *q == '#')
        {
          while (q < end && *q != '\n' && *q != '\r')
            q++;
          continue;
        }
      break;
    }
  if (q >= end || !g_ascii_isdigit (*q))
    return FALSE;
  guint64 v = 0;
  while (q < end && g_ascii_isdigit (*q))
    {
      if (v > G_MAXUINT32)
        return FALSE;
      v = v * 10 + (guint64) (*q - '0');
      q++;
    }
  if (q >= end) /* the field may go on past what was seen */
    return FALSE;
  *p = q, *value = v;
  return TRUE;
}

/* P1-P6: width, height and (but for bitmaps) the largest sample value, in text after the magic.
 * The binary kinds (P4-P6) then hold whole rows after one whitespace byte, which gives the
 * file's least length; the plain ones (P1-P3) are counted sample by sample as they are read.
 * GdkPixbuf's loader fills rows a short file lacks; Pillow says "image file is truncated". */
static gboolean
parse_pnm (const guint8 *data, gsize len, SiglensImageHeader *h)
{
  const guint8 *p = data + 2, *end = data + len;
  int kind = data[1] - '0';
  guint64 width, height, maxval = 1;
  if (!pnm_field (&p, end, &width) || !pnm_field (&p, end, &height)
      || (kind != 1 && kind != 4 && !pnm_field (&p, end, &maxval)))
    return FALSE;
  h->format = "PNM";
  h->width = (gint64) width;
  h->height = (gint64) height;
  if (kind != 1 && kind != 4 && maxval != 255 && maxval >= 1 && maxval <= 65535)
    {
      h->kind = SIGLENS_IMAGE_PNM_MAXVAL;
      h->pnm_maxval = (guint32) maxval;
    }
  if (width > G_MAXINT || height > G_MAXINT) /* refused from its size; no length to say */
    return TRUE;
  guint64 channels = kind == 3 || kind == 6 ? 3 : 1;
  guint64 samples = width * height * channels;
  guint64 header = (guint64) (p - data) + 1;
  if (kind == 4)
    h->min_bytes = header + (width + 7) / 8 * height;
  else if (kind >= 5)
    h->min_bytes = header + samples * (maxval > 255 ? 2 : 1);
  else
    {
      h->pnm_plain_samples = samples;
      h->pnm_plain_offset = header - 1;
      h->pnm_plain_bits = kind == 1;
    }
  return TRUE;
}

/* An X bitmap: C source, "#define NAME_width N". Pillow reads it; GdkPixbuf's loader does not
 * read what Pillow writes ("Unrecognized image file format"): refused by name. */
static gboolean
looks_like_xbm (const guint8 *p, gsize len)
{
  const guint8 *end = p + len;
  p = skip_space (p, end);
  if (!starts_with (p, end, "#define"))
    return FALSE;
  const guint8 *eol = memchr (p, '\n', (gsize) (end - p));
  for (const guint8 *q = p; q + 6 <= (eol ? eol : end); q++)
    if (!memcmp (q, "_width", 6))
      return TRUE;
  return FALSE;
}

/* ICONDIR: the icons' sizes, depths and where their data is. Pillow reads one icon, the
 * largest, the deepest of those (the last in the file of equals), and refuses the file when
 * that icon's data (to offset + size: its AND mask is read from there back) is cut short;
 * GdkPixbuf's loader scores such a file. A cursor (type 2) Pillow reads by other rules, not
 * checked against GdkPixbuf's: refused by name. */
static gboolean
parse_ico (const guint8 *p, gsize len, SiglensImageHeader *h)
{
  guint32 type = le16 (p + 2), n = le16 (p + 4);
  /* A TGA's header can begin as an ICONDIR does (00 00 02 00 is an uncompressed true-colour
   * TGA): an icon directory has at least one entry, each with a zero reserved byte and its data
   * after the directory. */
  gsize directory = 6 + 16 * (gsize) n;
  if (n == 0 || directory > len)
    return FALSE;
  for (guint32 i = 0; i < n; i++)
    {
      const guint8 *e = p + 6 + 16 * (gsize) i;
      if (e[3] != 0 || le32 (e + 12) < directory)
        return FALSE;
    }
  if (type == 2)
    {
      h->format = "CUR";
      h->kind = SIGLENS_IMAGE_UNCHECKED;
      return TRUE;
    }
  h->format = "ICO";
  guint64 best_square = 0, best_depth = 0;
  for (guint32 i = 0; i < n; i++)
    {
      const guint8 *e = p + 6 + 16 * (gsize) i;
      guint64 width = e[0] ? e[0] : 256, height = e[1] ? e[1] : 256;
      guint64 colours = e[2], bpp = le16 (e + 6), depth = bpp;
      if (depth == 0 && colours != 0)
        while (((guint64) 1 << depth) < colours) /* ceil (log2 (colours)) */
          depth++;
      if (depth == 0)
        depth = 256;
      guint64 square = width * height;
      if (square > best_square || (square == best_square && depth >= best_depth))
        {
          best_square = square, best_depth = depth;
          h->width = (gint64) width, h->height = (gint64) height;
          h->min_bytes = (guint64) le32 (e + 12) + le32 (e + 8);
        }
    }
  return TRUE;
}

gboolean
siglens_image_header_parse (const guint8 *data, gsize len, SiglensImageHeader *h)
{
  *h = (SiglensImageHeader) { NULL, -1, -1, 0, SIGLENS_IMAGE_SUPPORTED, 0, 0 };
  gboolean ok = FALSE;
  if (len >= 2 && !memcmp (data, "BM", 2))
    ok = parse_bmp (data, len, h);
  else if (len >= 12 && !memcmp (data, "RIFF", 4) && !memcmp (data + 8, "WEBP", 4))
    ok = parse_webp (data, len, h);
  else if (len >= 6 && (!memcmp (data, "GIF87a", 6) || !memcmp (data, "GIF89a", 6)))
    ok = parse_gif (data, len, h);
  else if (len >= 8 && !memcmp (data, "\x89PNG\r\n\x1a\n", 8))
    ok = parse_png (data, len, h);
  else if (len >= 4 && (!memcmp (data, "II*\0", 4) || !memcmp (data, "MM\0*", 4)))
    ok = TRUE, h->format = "TIFF";
  else if (len >= 6 && data[0] == 0 && data[1] == 0 && (data[2] == 1 || data[2] == 2)
           && data[3] == 0)
    ok = parse_ico (data, len, h);
  else if (len >= 3 && data[0] == 'P' && data[1] >= '1' && data[1] <= '6'
           && g_ascii_isspace (data[2]))
    ok = parse_pnm (data, len, h);
  else if (looks_like_xbm (data, len))
    ok = TRUE, h->format = "XBM", h->kind = SIGLENS_IMAGE_UNCHECKED;
  else if (looks_like_svg (data, len) || looks_like_svgz (data, len))
    ok = TRUE, h->format = "SVG", h->kind = SIGLENS_IMAGE_SVG;
  if (!ok)
    h->format = NULL;
  return ok;
}

/* ------------------------------------------------------------------------------------------ */
/* TIFF */

typedef struct {
  const guint8 *data;
  gsize len;
  gboolean big_endian;
} Tiff;

static guint32
tiff16 (const Tiff *t, const guint8 *p)
{
  return t->big_endian ? (guint32) p[0] << 8 | p[1] : le16 (p);
}

static guint32
tiff32 (const Tiff *t, const guint8 *p)
{
  return t->big_endian ? be32 (p) : le32 (p);
}

/* Value `index` of a BYTE, SHORT or LONG directory entry, inline or at its offset. */
static gboolean
tiff_value (const Tiff *t, const guint8 *entry, guint32 index, guint32 *value)
{
  guint32 type = tiff16 (t, entry + 2), count = tiff32 (t, entry + 4);
  guint64 size = type == 1 ? 1 : type == 3 ? 2 : type == 4 ? 4 : 0;
  if (!size || index >= count)
    return FALSE;
  const guint8 *v = entry + 8;
  if (size * count > 4)
    {
      guint32 offset = tiff32 (t, entry + 8);
      if (offset > t->len || size * count > t->len - offset)
        return FALSE;
      v = t->data + offset;
    }
  v += size * index;
  *value = size == 1 ? v[0] : size == 2 ? tiff16 (t, v) : tiff32 (t, v);
  return TRUE;
}

/* What Pillow 9.4 and GdkPixbuf's loader (libtiff's RGBA reader) both read to the same pixels:
 * 1- to 8-bit gray, 8-bit RGB, palette, and JPEG-compressed YCbCr (checked against Pillow's
 * output, build-aux/make-format-images.py). Elsewhere they part: libtiff premultiplies an
 * unassociated alpha channel (Pillow keeps the stored colour), converts CMYK with its own
 * rounding, and takes the high byte of 16-bit samples (Pillow clips gray to 255). */
static SiglensImageKind
tiff_kind (guint32 photometric, guint32 spp, guint32 max_bits, guint32 extra,
           guint32 sample_format, guint32 compression)
{
  if (max_bits > 8 || sample_format != 1)
    return SIGLENS_IMAGE_TIFF_DEEP;
  if (photometric == 5)
    return SIGLENS_IMAGE_TIFF_CMYK;
  if (extra > 0 || (photometric <= 1 && spp > 1) || (photometric == 2 && spp > 3))
    return SIGLENS_IMAGE_TIFF_ALPHA;
  if (photometric <= 3 || (photometric == 6 && compression == 7))
    return SIGLENS_IMAGE_SUPPORTED;
  return SIGLENS_IMAGE_TIFF_OTHER;
}

gboolean
siglens_image_header_parse_tiff (const guint8 *data, gsize len, SiglensImageHeader *h)
{
  *h = (SiglensImageHeader) { NULL, -1, -1, 0, SIGLENS_IMAGE_SUPPORTED, 0 };
  if (len < 8 || (memcmp (data, "II*\0", 4) != 0 && memcmp (data, "MM\0*", 4) != 0))
    return FALSE;
  Tiff t = { data, len, data[0] == 'M' };
  guint32 ifd = tiff32 (&t, data + 4);
  if (ifd > len || len - ifd < 2)
    return FALSE;
  guint32 n = tiff16 (&t, data + ifd);
  if ((guint64) n * 12 > len - ifd - 2)
    return FALSE;

  guint32 width = 0, height = 0, spp = 1, photometric = G_MAXUINT32, extra = 0;
  guint32 sample_format = 1, compression = 1, max_bits = 1;
  gboolean have_width = FALSE, have_height = FALSE;
  for (guint32 i = 0; i < n; i++)
    {
      const guint8 *e = data + ifd + 2 + 12 * i;
      guint32 tag = tiff16 (&t, e), v;
      switch (tag)
        {
        case 256: have_width = tiff_value (&t, e, 0, &width); break;
        case 257: have_height = tiff_value (&t, e, 0, &height); break;
        case 258: /* BitsPerSample, one per sample */
          max_bits = 0;
          for (guint32 k = 0; k < 64 && tiff_value (&t, e, k, &v); k++)
            max_bits = MAX (max_bits, v);
          break;
        case 259: tiff_value (&t, e, 0, &compression); break;
        case 262: tiff_value (&t, e, 0, &photometric); break;
        case 277: tiff_value (&t, e, 0, &spp); break;
        case 338: extra = tiff32 (&t, e + 4); break; /* ExtraSamples: their count */
        case 339: tiff_value (&t, e, 0, &sample_format); break;
        default: break;
        }
    }
  if (!have_width || !have_height)
    return FALSE;
  h->format = "TIFF";
  h->width = width;
  h->height = height;
  h->tiff_photometric = (int) MIN (photometric, (guint32) G_MAXINT);
  h->kind = tiff_kind (photometric, spp, max_bits, extra, sample_format, compression);
  return TRUE;
}
