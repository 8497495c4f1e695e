/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * siglens-decode.c — image files to upright 8-bit RGB with GdkPixbuf, as the reference's
 * transformers.image_utils.load_image does with Pillow: ImageOps.exif_transpose, then
 * convert ("RGB") — alpha dropped (the stored colour of transparent pixels is kept, nothing is
 * composited), palette and grayscale expanded.
 *
 * Sizes are checked while the header is parsed ("size-prepared", or our own reading of the
 * header where a loader decodes before it reports the size), so an image over the pixel
 * limit is refused before its pixel buffer exists. Kinds of image the reference cannot read,
 * or reads otherwise than GdkPixbuf can, are refused by name (siglens-image-header.c).
 */
#include "siglens-decode.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gio/gunixinputstream.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "siglens-image-header.h"
#include "siglens-jpeg-cmyk.h"
#include "siglip.h"

G_DEFINE_QUARK (siglens-decode-error-quark, siglens_decode_error)

/* Small enough that a header-only bomb is caught in the first write. */
#define CHUNK_SIZE (64 * 1024)

/* What one write to the loader should decode, at most, between two looks at the cancellable:
 * a 64 KB piece of a maximally deflated PNG is 22 megapixels. Loaders report what they
 * decoded once per write ("area-updated"), so pieces start small (FIRST_PIECE), grow while
 * they decode little and shrink (down to MIN_PIECE bytes) when they decode more than this. */
#define PIECE_PIXELS (1 << 20)
#define FIRST_PIECE 1024
#define MIN_PIECE 256

void
siglens_rgb_image_free (SiglensRgbImage *image)
{
  if (!image)
    return;
  g_free (image->rgb);
  g_free (image);
}

/* ------------------------------------------------------------------------------------------ */
/* Orientation and alpha */

/* EXIF Orientation 1..8 as PIL.ImageOps.exif_transpose applies it (2 FLIP_LEFT_RIGHT,
 * 3 ROTATE_180, 4 FLIP_TOP_BOTTOM, 5 TRANSPOSE, 6 ROTATE_270, 7 TRANSVERSE, 8 ROTATE_90):
 * for output pixel (x, y), where the source pixel is, as an origin plus byte steps per output
 * column and per output row. */
typedef struct {
  gboolean swap;     /* output is height x width of the source */
  gboolean flip_x0;  /* origin at the last source column */
  gboolean flip_y0;  /* origin at the last source row */
  int step_x_axis;   /* output x walks the source: 0 along columns, 1 along rows */
  int step_x_sign;
  int step_y_sign;
} Orientation;

static const Orientation orientations[9] = {
  [1] = { FALSE, FALSE, FALSE, 0, +1, +1 }, /* as stored */
  [2] = { FALSE, TRUE, FALSE, 0, -1, +1 },  /* src (W-1-x, y) */
  [3] = { FALSE, TRUE, TRUE, 0, -1, -1 },   /* src (W-1-x, H-1-y) */
  [4] = { FALSE, FALSE, TRUE, 0, +1, -1 },  /* src (x, H-1-y) */
  [5] = { TRUE, FALSE, FALSE, 1, +1, +1 },  /* src (y, x) */
  [6] = { TRUE, FALSE, TRUE, 1, -1, +1 },   /* src (y, H-1-x): 90° clockwise */
  [7] = { TRUE, TRUE, TRUE, 1, -1, -1 },    /* src (W-1-y, H-1-x) */
  [8] = { TRUE, TRUE, FALSE, 1, +1, -1 },   /* src (W-1-y, x): 90° counter-clockwise */
};

static int
pixbuf_orientation (GdkPixbuf *pixbuf)
{
  const char *option = gdk_pixbuf_get_option (pixbuf, "orientation");
  if (!option)
    return 1;
  gint64 value = g_ascii_strtoll (option, NULL, 10);
  /* exif_transpose ignores values outside 2..8. */
  return value >= 1 && value <= 8 ? (int) value : 1;
}

/* fill: the colour of fully transparent pixels (a GIF's, see gif_transparent_fill), or NULL
 * to keep the stored colour. */
static SiglensRgbImage *
rgb_from_pixbuf (GdkPixbuf *pixbuf, const guint8 *fill, const char *name, GError **error)
{
  int width = gdk_pixbuf_get_width (pixbuf);
  int height = gdk_pixbuf_get_height (pixbuf);
  int n_channels = gdk_pixbuf_get_n_channels (pixbuf);
  if (gdk_pixbuf_get_colorspace (pixbuf) != GDK_COLORSPACE_RGB ||
      gdk_pixbuf_get_bits_per_sample (pixbuf) != 8 || (n_channels != 3 && n_channels != 4))
    {
      g_set_error (error, SIGLENS_DECODE_ERROR, SIGLENS_DECODE_ERROR_CORRUPT,
                   "%s: unsupported pixel layout (%d channels, %d bits)", name, n_channels,
                   gdk_pixbuf_get_bits_per_sample (pixbuf));
      return NULL;
    }
  if (width <= 0 || height <= 0)
    {
      g_set_error (error, SIGLENS_DECODE_ERROR, SIGLENS_DECODE_ERROR_EMPTY,
                   "%s: the image has no pixels (%dx%d)", name, width, height);
      return NULL;
    }

  const Orientation *o = &orientations[pixbuf_orientation (pixbuf)];
  const guint8 *pixels = gdk_pixbuf_read_pixels (pixbuf);
  gssize rowstride = gdk_pixbuf_get_rowstride (pixbuf);
  gssize col_step = n_channels, row_step = rowstride;

  g_autoptr(SiglensRgbImage) image = g_new0 (SiglensRgbImage, 1);
  image->original_width = width;
  image->original_height = height;
  image->width = o->swap ? height : width;
  image->height = o->swap ? width : height;
  image->stride = (gsize) image->width * 3;
  image->rgb = g_try_malloc (image->stride * (gsize) image->height);
  if (!image->rgb)
    {
      g_set_error (error, SIGLENS_DECODE_ERROR, SIGLENS_DECODE_ERROR_TOO_LARGE,
                   "%s: not enough memory for %dx%d pixels", name, width, height);
      return NULL;
    }

  const guint8 *origin = pixels + (o->flip_x0 ? (gssize) (width - 1) * col_step : 0)
                                + (o->flip_y0 ? (gssize) (height - 1) * row_step : 0);
  gssize step_x = o->step_x_sign * (o->step_x_axis == 0 ? col_step : row_step);
  gssize step_y = o->step_y_sign * (o->step_x_axis == 0 ? row_step : col_step);
  for (int y = 0; y < image->height; y++)
    {
      const guint8 *s = origin + y * step_y;
      guint8 *d = image->rgb + (gsize) y * image->stride;
      /* convert ("RGB") keeps R, G, B and drops A. */
      for (int x = 0; x < image->width; x++, s += step_x, d += 3)
        {
          const guint8 *c = fill && n_channels == 4 && s[3] == 0 ? fill : s;
          d[0] = c[0];
          d[1] = c[1];
          d[2] = c[2];
        }
    }
  return g_steal_pointer (&image);
}

SiglensRgbImage *
siglens_rgb_image_from_pixbuf (GdkPixbuf *pixbuf, GError **error)
{
  g_return_val_if_fail (GDK_IS_PIXBUF (pixbuf), NULL);
  return rgb_from_pixbuf (pixbuf, NULL, "image", error);
}

/* ------------------------------------------------------------------------------------------ */
/* Truncation */

/* GdkPixbuf's PNG and JPEG loaders hand back whatever rows a truncated file had (libjpeg even
 * pads the rest with grey) without an error, where Pillow raises "image file is truncated".
 * So the bytes are walked alongside the loader: a PNG must reach its IEND chunk, a JPEG its
 * EOI marker (data after them is ignored, as Pillow does). */
typedef enum { END_UNKNOWN, END_PNG, END_JPEG, END_GIF, END_OTHER } EndKind;

typedef enum {
  G_SCREEN, G_SKIP, G_BLOCK, G_EXT_LABEL, G_SUB_LEN, G_IMAGE, G_LZW_SIZE, G_PALETTE, G_GCE,
} GifState;

typedef enum {
  J_MARKER_FF, J_MARKER_CODE, J_LENGTH_HI, J_LENGTH_LO, J_SKIP, J_ENTROPY, J_ENTROPY_FF, J_SOF,
} JpegState;

typedef struct {
  EndKind kind;
  gboolean done;      /* IEND / EOI reached */
  guint64 skip;       /* bytes of the current chunk / segment still to skip */
  guint8 head[8];     /* PNG: signature, then each chunk's length and type */
  guint head_len;
  gboolean signature_seen;
  JpegState jstate;
  guint8 marker;
  guint length;
  guint8 sof[6];          /* JPEG: the frame header's precision, height, width, components */
  guint sof_len;
  GifState gstate, gnext; /* gnext: after G_SKIP, G_PALETTE, G_GCE */
  gboolean in_image;      /* GIF: the sub-blocks being walked are the first frame's pixels */
  guint8 gbuf[13];
  guint gbuf_len;
  guint8 ext_label;       /* GIF: the extension being walked, and its sub-blocks so far */
  guint ext_blocks;
  guint8 palette[768];    /* GIF: the first frame's palette (its own, or the global one) */
  guint palette_len, palette_fill;
  int transparent;        /* GIF: the first frame's transparent index, or -1 */
} EndScanner;

static gboolean
is_sof (guint8 marker)
{
  return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
}

static void
png_scan (EndScanner *e, const guint8 *p, gsize len)
{
  static const guint8 signature[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n' };
  while (len && !e->done)
    {
      if (e->skip)
        {
          gsize n = (gsize) MIN ((guint64) len, e->skip);
          e->skip -= n, p += n, len -= n;
          continue;
        }
      e->head[e->head_len++] = *p++, len--;
      if (e->head_len < 8)
        continue;
      e->head_len = 0;
      if (!e->signature_seen)
        {
          e->signature_seen = TRUE;
          if (memcmp (e->head, signature, 8) != 0)
            e->kind = END_OTHER;
          if (e->kind == END_OTHER)
            return;
          continue;
        }
      guint32 length = (guint32) e->head[0] << 24 | e->head[1] << 16 | e->head[2] << 8 | e->head[3];
      if (memcmp (e->head + 4, "IEND", 4) == 0)
        e->done = TRUE;
      e->skip = (guint64) length + 4; /* data and CRC */
    }
}

static void
jpeg_scan (EndScanner *e, const guint8 *p, gsize len)
{
  for (; len && !e->done; p++, len--)
    {
      guint8 b = *p;
      switch (e->jstate)
        {
        case J_MARKER_FF:
          if (b == 0xFF)
            e->jstate = J_MARKER_CODE;
          break;
        case J_MARKER_CODE:
          if (b == 0xFF)
            break; /* fill byte */
          if (b == 0xD9)
            e->done = TRUE;
          else if (b == 0xD8 || b == 0x01 || (b >= 0xD0 && b <= 0xD7))
            e->jstate = J_MARKER_FF; /* markers without a length */
          else
            e->marker = b, e->jstate = J_LENGTH_HI;
          break;
        case J_LENGTH_HI:
          e->length = (guint) b << 8;
          e->jstate = J_LENGTH_LO;
          break;
        case J_LENGTH_LO:
          e->length |= b;
          e->skip = e->length >= 2 ? e->length - 2 : 0;
          e->jstate = J_SKIP;
          if (is_sof (e->marker) && e->sof_len == 0)
            e->jstate = J_SOF;
          if (e->skip == 0)
            e->jstate = e->marker == 0xDA ? J_ENTROPY : J_MARKER_FF;
          break;
        case J_SOF: /* the first frame header's first bytes are kept, the rest skipped */
          e->sof[e->sof_len++] = b;
          e->skip--;
          if (e->skip == 0)
            e->jstate = J_MARKER_FF;
          else if (e->sof_len == sizeof e->sof)
            e->jstate = J_SKIP;
          break;
        case J_SKIP:
          {
            gsize n = (gsize) MIN ((guint64) len, e->skip);
            e->skip -= n;
            p += n - 1, len -= n - 1;
            if (e->skip == 0)
              e->jstate = e->marker == 0xDA ? J_ENTROPY : J_MARKER_FF; /* SOS: scan data */
          }
          break;
        case J_ENTROPY:
          if (b == 0xFF)
            e->jstate = J_ENTROPY_FF;
          break;
        case J_ENTROPY_FF:
          if (b == 0x00 || (b >= 0xD0 && b <= 0xD7))
            e->jstate = J_ENTROPY; /* stuffed byte or restart marker */
          else if (b == 0xD9)
            e->done = TRUE;
          else if (b != 0xFF)
            e->marker = b, e->jstate = J_LENGTH_HI; /* e.g. DHT or the next SOS */
          break;
        }
    }
}

/* A GIF's blocks up to the end of its first frame's pixel data (what Pillow decodes first):
 * header and logical screen (13 bytes, then the global palette), extensions (a label and
 * sub-blocks), then the image descriptor (9 bytes, then its local palette), the LZW code size
 * and sub-blocks up to the empty one. */
static void
gif_scan (EndScanner *e, const guint8 *p, gsize len)
{
  for (; len && !e->done; p++, len--)
    {
      guint8 b = *p;
      switch (e->gstate)
        {
        case G_SCREEN:
          e->gbuf[e->gbuf_len++] = b;
          if (e->gbuf_len == 13)
            {
              guint8 flags = e->gbuf[10];
              e->palette_len = flags & 0x80 ? 3u << ((flags & 7) + 1) : 0;
              e->palette_fill = 0;
              e->transparent = -1;
              e->gstate = e->palette_len ? G_PALETTE : G_BLOCK;
              e->gnext = G_BLOCK;
            }
          break;
        case G_PALETTE:
          e->palette[e->palette_fill++] = b;
          if (e->palette_fill == e->palette_len)
            e->gstate = e->gnext;
          break;
        case G_GCE: /* flags, delay (2), transparent index */
          e->gbuf[e->gbuf_len++] = b;
          e->skip--;
          if (e->gbuf_len == 4)
            {
              e->transparent = e->gbuf[0] & 1 ? e->gbuf[3] : -1;
              e->gstate = e->skip ? G_SKIP : G_SUB_LEN;
              e->gnext = G_SUB_LEN;
            }
          break;
        case G_SKIP:
          {
            gsize n = (gsize) MIN ((guint64) len, e->skip);
            e->skip -= n;
            p += n - 1, len -= n - 1;
            if (e->skip == 0)
              e->gstate = e->gnext;
          }
          break;
        case G_BLOCK:
          if (b == 0x21)
            e->gstate = G_EXT_LABEL;
          else if (b == 0x2C)
            e->gstate = G_IMAGE, e->gbuf_len = 0;
          else
            e->done = TRUE; /* a trailer or junk: no frame to cut short; the loader decides */
          break;
        case G_EXT_LABEL:
          e->in_image = FALSE;
          e->ext_label = b;
          e->ext_blocks = 0;
          e->gstate = G_SUB_LEN;
          break;
        case G_SUB_LEN:
          if (b == 0)
            {
              if (e->in_image)
                e->done = TRUE; /* the first frame is whole */
              e->gstate = G_BLOCK;
            }
          else if (!e->in_image && e->ext_label == 0xF9 && e->ext_blocks++ == 0 && b >= 4)
            e->skip = b, e->gstate = G_GCE, e->gbuf_len = 0; /* graphic control */
          else
            e->skip = b, e->gstate = G_SKIP, e->gnext = G_SUB_LEN;
          break;
        case G_IMAGE:
          e->gbuf[e->gbuf_len++] = b;
          if (e->gbuf_len == 9)
            {
              guint8 flags = e->gbuf[8];
              if (flags & 0x80) /* the frame's own palette replaces the global one */
                e->palette_len = 3u << ((flags & 7) + 1), e->palette_fill = 0;
              e->gstate = flags & 0x80 ? G_PALETTE : G_LZW_SIZE;
              e->gnext = G_LZW_SIZE;
            }
          break;
        case G_LZW_SIZE:
          e->in_image = TRUE;
          e->gstate = G_SUB_LEN;
          break;
        }
    }
}

static void
end_scan (EndScanner *e, const guint8 *p, gsize len)
{
  if (e->kind == END_UNKNOWN && len)
    e->kind = p[0] == 0x89 ? END_PNG : p[0] == 0xFF ? END_JPEG : p[0] == 'G' ? END_GIF
                                                                            : END_OTHER;
  if (e->kind == END_PNG)
    png_scan (e, p, len);
  else if (e->kind == END_JPEG)
    jpeg_scan (e, p, len);
  else if (e->kind == END_GIF)
    gif_scan (e, p, len);
}

/* A JPEG with four components (CMYK, or YCCK): Pillow reads the inks inverted (Adobe's
 * convention, assumed whether or not the file says so) and converts them with its own
 * rounding, which GdkPixbuf's JPEG loader does not reproduce (it is off by one on most
 * pixels); so these are decoded by siglens-jpeg-cmyk.c instead. */
static gboolean
jpeg_is_cmyk (const EndScanner *e)
{
  return e->kind == END_JPEG && e->sof_len >= 6 && e->sof[5] == 4;
}

/* What Pillow's convert ("RGB") of a GIF's first frame shows where GdkPixbuf's frame is
 * transparent: the palette colour of the transparent index (kept, as for any palette image),
 * and around a frame smaller than the screen, the index Pillow fills the screen with: the
 * transparent one, or 0. (Pillow 9.4; GdkPixbuf's opaque pixels are the palette colours.) */
static const guint8 *
gif_transparent_fill (const EndScanner *e)
{
  static const guint8 black[3] = { 0, 0, 0 };
  if (e->kind != END_GIF)
    return NULL;
  guint index = e->transparent >= 0 ? (guint) e->transparent : 0;
  return 3 * index + 3 <= e->palette_fill ? e->palette + 3 * index : black;
}

static gboolean
end_missing (const EndScanner *e)
{
  return (e->kind == END_PNG || e->kind == END_JPEG || e->kind == END_GIF) && !e->done;
}

static const char *
end_description (EndKind kind)
{
  switch (kind)
    {
    case END_PNG: return "the PNG ends before its IEND chunk";
    case END_JPEG: return "the JPEG ends before its EOI marker";
    case END_GIF: return "the GIF ends inside its first frame";
    default: return "it ends early";
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Incremental decoding with the size check */

typedef struct {
  GdkPixbufLoader *loader;
  const char *name;
  guint64 max_pixels;
  GCancellable *cancellable;
  gboolean too_large;
  int width, height;
  gsize n_bytes;
  EndScanner end;
  /* the first bytes, held back from the loader until the declared size is checked */
  guint8 head[SIGLENS_IMAGE_HEADER_BYTES];
  gsize head_len;
  gboolean head_checked;
  SiglensImageHeader header;
  /* a TIFF, held back whole: its directory may be at its end, and GdkPixbuf's loader keeps
   * every byte and decodes only at close anyway */
  GByteArray *tiff;
  gsize piece;             /* bytes per loader write, see PIECE_PIXELS */
  /* a CMYK JPEG: the loader is left, the caller decodes the whole file with
   * decode_cmyk_jpeg */
  gboolean cmyk_jpeg;
  guint64 updated_pixels;  /* decoded so far, as the loader reports it */
  /* a plain PNM: samples seen so far (see SiglensImageHeader.pnm_plain_samples) */
  guint64 pnm_samples;
  gboolean pnm_in_sample;
} Decoder;

/* Counts a plain PNM's samples in bytes at file offset `offset` on: runs of digits (P2, P3),
 * or each '0' and '1' (P1). */
static void
count_plain_samples (Decoder *decoder, const guint8 *data, gsize len, guint64 offset)
{
  const SiglensImageHeader *h = &decoder->header;
  if (h->pnm_plain_samples == 0 || offset + len <= h->pnm_plain_offset)
    return;
  if (offset < h->pnm_plain_offset)
    {
      data += h->pnm_plain_offset - offset;
      len -= h->pnm_plain_offset - offset;
    }
  for (gsize i = 0; i < len; i++)
    {
      gboolean digit = g_ascii_isdigit (data[i]);
      if (h->pnm_plain_bits)
        decoder->pnm_samples += data[i] == '0' || data[i] == '1';
      else if (digit && !decoder->pnm_in_sample)
        decoder->pnm_samples++;
      decoder->pnm_in_sample = digit;
    }
}

static void
on_size_prepared (GdkPixbufLoader *loader, int width, int height, gpointer user_data)
{
  Decoder *decoder = user_data;
  decoder->width = width;
  decoder->height = height;
  if ((guint64) MAX (width, 0) * (guint64) MAX (height, 0) > decoder->max_pixels)
    {
      decoder->too_large = TRUE;
      /* As gdk_pixbuf_get_file_info does: a 0x0 size makes the loader stop here, before it
       * allocates the pixel buffer. */
      gdk_pixbuf_loader_set_size (loader, 0, 0);
    }
}

static void
on_area_updated (GdkPixbufLoader *loader, int x, int y, int width, int height,
                 gpointer user_data)
{
  Decoder *decoder = user_data;
  decoder->updated_pixels += (guint64) MAX (width, 0) * (guint64) MAX (height, 0);
}

static void
decoder_init (Decoder *decoder, const char *name, gsize max_pixels, GCancellable *cancellable)
{
  memset (decoder, 0, sizeof *decoder);
  decoder->loader = gdk_pixbuf_loader_new ();
  decoder->name = name;
  decoder->max_pixels = max_pixels ? max_pixels : SIGLIP_DEFAULT_MAX_PIXELS;
  decoder->cancellable = cancellable;
  decoder->piece = FIRST_PIECE;
  g_signal_connect (decoder->loader, "size-prepared", G_CALLBACK (on_size_prepared), decoder);
  g_signal_connect (decoder->loader, "area-updated", G_CALLBACK (on_area_updated), decoder);
}

static void
decoder_clear (Decoder *decoder)
{
  if (decoder->tiff)
    g_byte_array_unref (g_steal_pointer (&decoder->tiff));
  if (!decoder->loader)
    return;
  /* A loader must be closed before its last unref; after a failed write this is a no-op. */
  gdk_pixbuf_loader_close (decoder->loader, NULL);
  g_clear_object (&decoder->loader);
}

static gboolean
set_too_large (Decoder *decoder, GError **error)
{
  g_set_error (error, SIGLENS_DECODE_ERROR, SIGLENS_DECODE_ERROR_TOO_LARGE,
               "%s: %dx%d is %" G_GUINT64_FORMAT " pixels, more than the limit of %"
               G_GUINT64_FORMAT, decoder->name, decoder->width, decoder->height,
               (guint64) decoder->width * (guint64) decoder->height, decoder->max_pixels);
  return FALSE;
}

/* The sentence for each kind refused by name; why each one is refused is said where it is
 * recognised (siglens-image-header.c, jpeg_is_cmyk). */
static gboolean
set_unsupported (Decoder *decoder, const SiglensImageHeader *h, GError **error)
{
  const char *name = decoder->name;
  switch (h->kind)
    {
    case SIGLENS_IMAGE_SVG:
      g_set_error (error, SIGLENS_DECODE_ERROR, SIGLENS_DECODE_ERROR_UNSUPPORTED,
                   _("%s: SVG images are not supported: the reference (Pillow) cannot read "
                     "drawings. Export it as PNG first."), name);
      break;
    case SIGLENS_IMAGE_PNG_GRAY16:
      g_set_error (error, SIGLENS_DECODE_ERROR, SIGLENS_DECODE_ERROR_UNSUPPORTED,
                   _("%s: 16-bit grayscale PNG images are not supported: the reference "
                     "(Pillow) turns every value above 255 into white. Save it with 8 bits "
                     "per sample first."), name);
      break;
    case SIGLENS_IMAGE_TIFF_ALPHA:
      g_set_error (error, SIGLENS_DECODE_ERROR, SIGLENS_DECODE_ERROR_UNSUPPORTED,
                   _("%s: TIFF images with an alpha channel are not supported. Save it as "
                     "PNG first."), name);
      break;
    case SIGLENS_IMAGE_TIFF_CMYK:
      g_set_error (error, SIGLENS_DECODE_ERROR, SIGLENS_DECODE_ERROR_UNSUPPORTED,
                   _("%s: CMYK TIFF images are not supported. Convert it to RGB first."), name);
      break;
    case SIGLENS_IMAGE_TIFF_DEEP:
      g_set_error (error, SIGLENS_DECODE_ERROR, SIGLENS_DECODE_ERROR_UNSUPPORTED,
                   _("%s: TIFF images with more than 8 bits per sample are not supported. "
                     "Save it with 8 bits per sample first."), name);
      break;
    case SIGLENS_IMAGE_TIFF_OTHER:
      g_set_error (error, SIGLENS_DECODE_ERROR, SIGLENS_DECODE_ERROR_UNSUPPORTED,
                   /* Translators: %d is the TIFF "PhotometricInterpretation" tag's value */
                   _("%s: this kind of TIFF image (photometric interpretation %d) is not "
                     "supported. Save it as PNG first."), name, h->tiff_photometric);
      break;
    case SIGLENS_IMAGE_PNM_MAXVAL:
      g_set_error (error, SIGLENS_DECODE_ERROR, SIGLENS_DECODE_ERROR_UNSUPPORTED,
                   /* Translators: %u is the largest sample value the file declares */
                   _("%s: PNM images with a largest value of %u are not supported (only 255). "
                     "Save it with 8 bits per sample first."), name, h->pnm_maxval);
      break;
    case SIGLENS_IMAGE_UNCHECKED:
      g_set_error (error, SIGLENS_DECODE_ERROR, SIGLENS_DECODE_ERROR_UNSUPPORTED,
                   /* Translators: %s after the file name is a format's name, e.g. "XPM" */
                   _("%s: %s images are not supported: the reference (Pillow) reads them "
                     "differently or not at all. Save it as PNG first."), name, h->format);
      break;
    case SIGLENS_IMAGE_BMP_HEADER:
      /* worded as the loader's own refusals (a broken file, not a kind of image) */
      g_set_error (error, SIGLENS_DECODE_ERROR, SIGLENS_DECODE_ERROR_CORRUPT,
                   "%s: not a readable image: unsupported BMP header type (%" G_GUINT32_FORMAT
                   " bytes)", name, h->bmp_header_size);
      break;
    case SIGLENS_IMAGE_SUPPORTED:
    default:
      g_assert_not_reached ();
    }
  return FALSE;
}

/* The GdkPixbuf loaders whose reading has been checked against the reference's
 * (tests/data/images/formats, made with Pillow): any other loader (XPM, XBM, ICNS, animated
 * cursors, QuickTime, or whatever a system adds, HEIF or AVIF) reads a kind of image Pillow
 * cannot read or reads otherwise, so it is refused by name rather than scored unchecked. */
static const char *const checked_loaders[] = {
  "png", "jpeg", "gif", "bmp", "webp", "tiff", "tga", "pnm", "ico",
};

/* Once the loader has chosen its module: refused if it is not one of checked_loaders (SVG
 * too, whatever the sniffing missed). */
static gboolean
loader_format_refused (Decoder *decoder, GError **error)
{
  GdkPixbufFormat *format = gdk_pixbuf_loader_get_format (decoder->loader);
  if (format == NULL)
    return FALSE;
  g_autofree char *name = gdk_pixbuf_format_get_name (format);
  if (g_strcmp0 (name, "svg") == 0)
    {
      SiglensImageHeader svg = { .format = "SVG", .kind = SIGLENS_IMAGE_SVG };
      set_unsupported (decoder, &svg, error);
      return TRUE;
    }
  for (gsize i = 0; i < G_N_ELEMENTS (checked_loaders); i++)
    if (g_strcmp0 (name, checked_loaders[i]) == 0)
      return FALSE;
  g_autofree char *shown = g_ascii_strup (name ? name : "?", -1);
  SiglensImageHeader other = { .format = shown, .kind = SIGLENS_IMAGE_UNCHECKED };
  set_unsupported (decoder, &other, error);
  return TRUE;
}

static gboolean
loader_write_piece (Decoder *decoder, const guint8 *data, gsize len, GError **error)
{
  g_autoptr(GError) local = NULL;
  gboolean ok = gdk_pixbuf_loader_write (decoder->loader, data, len, &local);
  if (decoder->too_large)
    return set_too_large (decoder, error);
  /* a format refused by name is said so, whatever its loader made of it */
  if (loader_format_refused (decoder, error))
    return FALSE;
  if (!ok)
    {
      g_set_error (error, SIGLENS_DECODE_ERROR, SIGLENS_DECODE_ERROR_CORRUPT,
                   "%s: not a readable image: %s", decoder->name, local->message);
      return FALSE;
    }
  return TRUE;
}

static SiglensDecodePieceHook piece_hook;
static gpointer piece_hook_data;

void
siglens_decode_set_piece_hook (SiglensDecodePieceHook hook, gpointer user_data)
{
  piece_hook_data = user_data;
  g_atomic_pointer_set (&piece_hook, hook);
}

/* Feeds the loader in pieces, looking at the cancellable before each: a piece that decoded
 * more than PIECE_PIXELS makes the next ones smaller, one that decoded little lets them
 * grow back, so a cancelled decode stops within about PIECE_PIXELS of work. */
static gboolean
loader_write (Decoder *decoder, const guint8 *data, gsize len, GError **error)
{
  SiglensDecodePieceHook hook = g_atomic_pointer_get (&piece_hook);

  while (len)
    {
      if (g_cancellable_set_error_if_cancelled (decoder->cancellable, error))
        return FALSE;
      gsize n = MIN (len, decoder->piece);
      guint64 before = decoder->updated_pixels;
      if (!loader_write_piece (decoder, data, n, error))
        return FALSE;
      data += n, len -= n;
      if (hook)
        hook (decoder->cancellable, decoder->updated_pixels, piece_hook_data);
      guint64 decoded = decoder->updated_pixels - before;
      if (decoded > PIECE_PIXELS)
        decoder->piece = MAX (MIN_PIECE, (gsize) (n * PIECE_PIXELS / decoded));
      else if (decoded < PIECE_PIXELS / 4)
        decoder->piece = MIN (CHUNK_SIZE, decoder->piece * 2);
    }
  return TRUE;
}

/* A declared size against the limit, before any pixel is decoded. */
static gboolean
check_declared (Decoder *decoder, const SiglensImageHeader *h, GError **error)
{
  if (h->width == 0 || h->height == 0)
    {
      g_set_error (error, SIGLENS_DECODE_ERROR, SIGLENS_DECODE_ERROR_EMPTY,
                   "%s: the %s declares no pixels (%" G_GINT64_FORMAT "x%" G_GINT64_FORMAT ")",
                   decoder->name, h->format, h->width, h->height);
      return FALSE;
    }
  guint64 w = (guint64) ABS (h->width), ht = (guint64) ABS (h->height);
  if (h->width != -1 && h->height != -1
      && (w > G_MAXINT || ht > G_MAXINT || w * ht > decoder->max_pixels))
    {
      decoder->width = (int) MIN (w, (guint64) G_MAXINT);
      decoder->height = (int) MIN (ht, (guint64) G_MAXINT);
      return set_too_large (decoder, error);
    }
  if (h->kind != SIGLENS_IMAGE_SUPPORTED)
    return set_unsupported (decoder, h, error);
  return TRUE;
}

/* The size and kind the file declares, checked before the loader sees a byte: some loaders
 * (WebP) decode everything before they report the size. */
static gboolean
check_header (Decoder *decoder, GError **error)
{
  decoder->head_checked = TRUE;
  SiglensImageHeader *h = &decoder->header;
  if (!siglens_image_header_parse (decoder->head, decoder->head_len, h))
    return TRUE;
  count_plain_samples (decoder, decoder->head, decoder->head_len, 0);
  if (g_strcmp0 (h->format, "TIFF") == 0)
    {
      decoder->tiff = g_byte_array_new ();
      g_byte_array_append (decoder->tiff, decoder->head, (guint) decoder->head_len);
      return TRUE;
    }
  return check_declared (decoder, h, error);
}

static gboolean
decoder_write (Decoder *decoder, const guint8 *data, gsize len, GError **error)
{
  decoder->n_bytes += len;
  end_scan (&decoder->end, data, len);
  if (jpeg_is_cmyk (&decoder->end))
    {
      /* the frame header's size, before the file is read again whole */
      decoder->height = decoder->end.sof[1] << 8 | decoder->end.sof[2];
      decoder->width = decoder->end.sof[3] << 8 | decoder->end.sof[4];
      if ((guint64) decoder->width * (guint64) decoder->height > decoder->max_pixels)
        return set_too_large (decoder, error);
      decoder->cmyk_jpeg = TRUE;
      return FALSE; /* no error: the caller starts again with decode_cmyk_jpeg */
    }
  if (!decoder->head_checked)
    {
      gsize n = MIN (len, sizeof decoder->head - decoder->head_len);
      memcpy (decoder->head + decoder->head_len, data, n);
      decoder->head_len += n;
      data += n, len -= n;
      if (decoder->head_len < sizeof decoder->head)
        return TRUE;
      if (!check_header (decoder, error))
        return FALSE;
      if (!decoder->tiff && !loader_write (decoder, decoder->head, decoder->head_len, error))
        return FALSE;
    }
  if (decoder->tiff)
    {
      if (g_cancellable_set_error_if_cancelled (decoder->cancellable, error))
        return FALSE;
      g_byte_array_append (decoder->tiff, data, (guint) len);
      return TRUE;
    }
  count_plain_samples (decoder, data, len, decoder->n_bytes - len);
  return loader_write (decoder, data, len, error);
}

/* A whole TIFF: its first directory checked, then handed to the loader. */
static gboolean
write_tiff (Decoder *decoder, GError **error)
{
  SiglensImageHeader *h = &decoder->header;
  if (siglens_image_header_parse_tiff (decoder->tiff->data, decoder->tiff->len, h)
      && !check_declared (decoder, h, error))
    return FALSE;
  g_autoptr(GByteArray) tiff = g_steal_pointer (&decoder->tiff);
  return loader_write (decoder, tiff->data, tiff->len, error);
}

/* Ends the stream and converts the (first) frame. (transfer full) */
static SiglensRgbImage *
decoder_finish (Decoder *decoder, GError **error)
{
  g_autoptr(GError) local = NULL;
  if (decoder->n_bytes == 0)
    {
      g_set_error (error, SIGLENS_DECODE_ERROR, SIGLENS_DECODE_ERROR_EMPTY,
                   "%s: there is no data (the file is empty)", decoder->name);
      return NULL;
    }
  if (!decoder->head_checked)
    {
      if (!check_header (decoder, error))
        return NULL;
      if (!decoder->tiff && !loader_write (decoder, decoder->head, decoder->head_len, error))
        return NULL;
    }
  if (decoder->tiff && !write_tiff (decoder, error))
    return NULL;
  /* as Pillow: a file shorter than its header says is truncated, not an image with black or
   * missing rows (GdkPixbuf's BMP and WebP loaders decode what is there) */
  if (decoder->pnm_samples < decoder->header.pnm_plain_samples)
    {
      g_set_error (error, SIGLENS_DECODE_ERROR, SIGLENS_DECODE_ERROR_CORRUPT,
                   "%s: the image is truncated (the PNM needs %" G_GUINT64_FORMAT " samples, "
                   "the file has %" G_GUINT64_FORMAT ")", decoder->name,
                   decoder->header.pnm_plain_samples, decoder->pnm_samples);
      return NULL;
    }
  if (decoder->header.min_bytes > decoder->n_bytes)
    {
      g_set_error (error, SIGLENS_DECODE_ERROR, SIGLENS_DECODE_ERROR_CORRUPT,
                   "%s: the image is truncated (the %s needs %" G_GUINT64_FORMAT " bytes, the "
                   "file has %" G_GSIZE_FORMAT ")", decoder->name, decoder->header.format,
                   decoder->header.min_bytes, decoder->n_bytes);
      return NULL;
    }
  /* Loaders that decode only now (TIFF, WebP) cannot be stopped inside; this is the last
   * look before they start. */
  if (g_cancellable_set_error_if_cancelled (decoder->cancellable, error))
    return NULL;
  gboolean ok = gdk_pixbuf_loader_close (decoder->loader, &local);
  if (decoder->too_large)
    {
      set_too_large (decoder, error);
      return NULL;
    }
  if (loader_format_refused (decoder, error))
    return NULL;
  GdkPixbuf *pixbuf = gdk_pixbuf_loader_get_pixbuf (decoder->loader);
  if (!ok || !pixbuf)
    {
      g_set_error (error, SIGLENS_DECODE_ERROR, SIGLENS_DECODE_ERROR_CORRUPT,
                   "%s: cannot decode the image: %s", decoder->name,
                   local ? local->message : "no pixels were decoded");
      return NULL;
    }
  if (end_missing (&decoder->end))
    {
      g_set_error (error, SIGLENS_DECODE_ERROR, SIGLENS_DECODE_ERROR_CORRUPT,
                   "%s: the image is truncated (%s)", decoder->name,
                   end_description (decoder->end.kind));
      return NULL;
    }
  /* Loaders that skip "size-prepared" still get the limit. */
  decoder->width = gdk_pixbuf_get_width (pixbuf);
  decoder->height = gdk_pixbuf_get_height (pixbuf);
  if ((guint64) decoder->width * (guint64) decoder->height > decoder->max_pixels)
    {
      set_too_large (decoder, error);
      return NULL;
    }
  return rgb_from_pixbuf (pixbuf, gif_transparent_fill (&decoder->end), decoder->name, error);
}

/* A whole CMYK JPEG, as Pillow reads it (siglens-jpeg-cmyk.c). (transfer full) */
static SiglensRgbImage *
decode_cmyk_jpeg (const guint8 *data, gsize len, const char *name, guint64 max_pixels,
                  GCancellable *cancellable, GError **error)
{
  EndScanner end = { 0 };
  end_scan (&end, data, len);
  if (end_missing (&end))
    {
      g_set_error (error, SIGLENS_DECODE_ERROR, SIGLENS_DECODE_ERROR_CORRUPT,
                   "%s: the image is truncated (%s)", name, end_description (end.kind));
      return NULL;
    }
  g_autoptr(GdkPixbuf) pixbuf = siglens_jpeg_cmyk_decode (data, len, name, max_pixels,
                                                          cancellable, error);
  return pixbuf ? rgb_from_pixbuf (pixbuf, NULL, name, error) : NULL;
}

SiglensRgbImage *
siglens_decode_bytes (GBytes *bytes, const char *name, gsize max_pixels, GError **error)
{
  g_return_val_if_fail (bytes != NULL, NULL);
  if (!name)
    name = "image";

  Decoder decoder;
  decoder_init (&decoder, name, max_pixels, NULL);
  gsize size;
  const guint8 *data = g_bytes_get_data (bytes, &size);
  SiglensRgbImage *image = NULL;
  gboolean ok = TRUE;
  for (gsize off = 0; ok && off < size; off += CHUNK_SIZE)
    ok = decoder_write (&decoder, data + off, MIN (CHUNK_SIZE, size - off), error);
  if (ok)
    image = decoder_finish (&decoder, error);
  else if (decoder.cmyk_jpeg)
    image = decode_cmyk_jpeg (data, size, name, decoder.max_pixels, NULL, error);
  decoder_clear (&decoder);
  return image;
}

static const char *
file_type_name (mode_t mode)
{
  switch (mode & S_IFMT)
    {
    case S_IFDIR: return "a directory";
    case S_IFIFO: return "a FIFO (named pipe)";
    case S_IFCHR: return "a character device";
    case S_IFBLK: return "a block device";
    case S_IFSOCK: return "a socket";
    default: return "not a regular file";
    }
}

static gpointer
set_open_error (GError **error, const char *name, int err)
{
  if (err == ENOENT)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "%s: does not exist", name);
  else if (err == ELOOP)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_TOO_MANY_LINKS,
                 "%s: cannot open: a loop of symbolic links", name);
  else
    g_set_error (error, G_IO_ERROR, g_io_error_from_errno (err), "%s: cannot open: %s", name,
                 g_strerror (err));
  return NULL;
}

static gpointer
set_type_error (GError **error, const char *name, mode_t mode)
{
  g_set_error (error, G_IO_ERROR,
               S_ISDIR (mode) ? G_IO_ERROR_IS_DIRECTORY : G_IO_ERROR_NOT_REGULAR_FILE,
               "%s: is %s, not an image file", name, file_type_name (mode));
  return NULL;
}

/* A FIFO, a device or a directory given as an image would block the read forever or fail
 * obscurely: a local file is stat'ed before it is opened, and opened non-blocking so that a
 * FIFO swapped in between cannot hang us either. (transfer full) */
static GInputStream *
open_regular (GFile *file, const char *name, GCancellable *cancellable, GError **error)
{
  g_autofree char *path = g_file_get_path (file);
  if (!path) /* not a local file: its GVfs backend streams it */
    return G_INPUT_STREAM (g_file_read (file, cancellable, error));

  struct stat st;
  if (stat (path, &st) != 0)
    return set_open_error (error, name, errno);
  if (!S_ISREG (st.st_mode))
    return set_type_error (error, name, st.st_mode);
  int fd = g_open (path, O_RDONLY | O_CLOEXEC | O_NONBLOCK, 0);
  if (fd < 0)
    return set_open_error (error, name, errno);
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode))
    {
      close (fd);
      return set_type_error (error, name, st.st_mode);
    }
  return g_unix_input_stream_new (fd, TRUE);
}

/* A CMYK JPEG found part way through the stream: the whole file, read again from its
 * start, for decode_cmyk_jpeg. (transfer full) */
static SiglensRgbImage *
read_cmyk_jpeg (GFile *file, const char *name, guint64 max_pixels, GCancellable *cancellable,
                GError **error)
{
  g_autoptr(GInputStream) stream = open_regular (file, name, cancellable, error);
  if (!stream)
    return NULL;
  g_autoptr(GByteArray) data = g_byte_array_new ();
  g_autofree guint8 *buffer = g_malloc (CHUNK_SIZE);
  gssize n;
  g_autoptr(GError) local = NULL;
  while ((n = g_input_stream_read (stream, buffer, CHUNK_SIZE, cancellable, &local)) > 0)
    g_byte_array_append (data, buffer, (guint) n);
  if (n < 0)
    {
      g_propagate_prefixed_error (error, g_steal_pointer (&local), "%s: ", name);
      return NULL;
    }
  return decode_cmyk_jpeg (data->data, data->len, name, max_pixels, cancellable, error);
}

SiglensRgbImage *
siglens_decode_gfile (GFile *file, GCancellable *cancellable, gsize max_pixels,
                      GError **error)
{
  g_return_val_if_fail (G_IS_FILE (file), NULL);

  g_autofree char *name = g_file_get_parse_name (file);
  g_autoptr(GInputStream) stream = open_regular (file, name, cancellable, error);
  if (!stream)
    return NULL;

  Decoder decoder;
  decoder_init (&decoder, name, max_pixels, cancellable);
  g_autofree guint8 *buffer = g_malloc (CHUNK_SIZE);
  SiglensRgbImage *image = NULL;
  for (;;)
    {
      g_autoptr(GError) local = NULL;
      gssize n = g_input_stream_read (stream, buffer, CHUNK_SIZE, cancellable,
                                      &local);
      if (n < 0)
        {
          g_propagate_prefixed_error (error, g_steal_pointer (&local), "%s: ", name);
          goto out;
        }
      if (n == 0)
        break;
      if (!decoder_write (&decoder, buffer, (gsize) n, error))
        {
          if (decoder.cmyk_jpeg)
            image = read_cmyk_jpeg (file, name, decoder.max_pixels, cancellable, error);
          goto out;
        }
    }
  image = decoder_finish (&decoder, error);

out:
  decoder_clear (&decoder);
  return image;
}

SiglensRgbImage *
siglens_decode_file (const char *path, gsize max_pixels, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_autoptr(GFile) file = g_file_new_for_path (path);
  return siglens_decode_gfile (file, NULL, max_pixels, error);
}
