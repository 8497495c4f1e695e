/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * siglens-jpeg-cmyk.c — CMYK JPEGs the way Pillow 9.4 reads them (see siglens-jpeg-cmyk.h).
 *
 * Pillow's JpegImagePlugin asks libjpeg for CMYK (libjpeg turns YCCK into CMYK), reads the
 * inks inverted ("CMYK;I": Adobe's convention, assumed whether or not the file has Adobe's
 * marker), and convert ("RGB") applies cmyk2rgb from its Convert.c:
 *   R = (255 - K) - (C * (255 - K)) / 255, the product rounded as its MULDIV255 does.
 * GdkPixbuf's loader uses the same libjpeg with the same defaults (ISLOW, fancy upsampling),
 * so only the conversion is ours.
 */
#include "siglens-jpeg-cmyk.h"

#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#include "siglens-decode.h"

/* Rows decoded between two looks at the cancellable. */
#define BAND_ROWS 64

typedef struct {
  struct jpeg_error_mgr mgr;
  jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
} ErrorManager;

static void
on_error (j_common_ptr cinfo)
{
  ErrorManager *e = (ErrorManager *) cinfo->err;
  e->mgr.format_message (cinfo, e->message);
  longjmp (e->jump, 1);
}

static void
on_message (j_common_ptr cinfo, int level)
{
  /* Pillow ignores libjpeg's warnings but refuses a file that ends early (where libjpeg warns
   * and makes the rest up); traces are ignored. */
  if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF)
    on_error (cinfo);
}

/* Pillow's MULDIV255: a * b / 255, rounded, in integers. */
static inline int
muldiv255 (int a, int b)
{
  int t = a * b + 128;
  return ((t >> 8) + t) >> 8;
}

/* libjpeg's CMYK as stored (inverted, Adobe's way) to RGB as Pillow's "CMYK;I" then
 * cmyk2rgb. */
static void
row_to_rgb (guint8 *rgb, const guint8 *cmyk, int width)
{
  for (int x = 0; x < width; x++, cmyk += 4, rgb += 3)
    {
      int nk = cmyk[3]; /* 255 - K, K being the inverted stored value */
      for (int c = 0; c < 3; c++)
        rgb[c] = (guint8) CLAMP (nk - muldiv255 (255 - cmyk[c], nk), 0, 255);
    }
}

static guint32
get16 (const guint8 *p, gboolean big_endian)
{
  return big_endian ? (guint32) p[0] << 8 | p[1] : (guint32) p[1] << 8 | p[0];
}

static guint32
get32 (const guint8 *p, gboolean big_endian)
{
  return big_endian ? get16 (p, TRUE) << 16 | get16 (p + 2, TRUE)
                    : get16 (p + 2, FALSE) << 16 | get16 (p, FALSE);
}

/* The Orientation (0x0112) of an APP1 "Exif\0\0" segment's first directory, 1 without one. */
static int
exif_orientation (const guint8 *p, gsize len)
{
  if (len < 14 || memcmp (p, "Exif\0\0", 6) != 0)
    return 1;
  p += 6, len -= 6;
  gboolean be = p[0] == 'M';
  if ((p[0] != 'I' && p[0] != 'M') || p[1] != p[0] || get16 (p + 2, be) != 42)
    return 1;
  guint32 ifd = get32 (p + 4, be);
  if (ifd > len || len - ifd < 2)
    return 1;
  guint32 n = get16 (p + ifd, be);
  for (guint32 i = 0; i < n && (guint64) ifd + 2 + 12 * (i + 1) <= len; i++)
    {
      const guint8 *e = p + ifd + 2 + 12 * i;
      if (get16 (e, be) == 0x0112 && get16 (e + 2, be) == 3)
        return (int) get16 (e + 8, be);
    }
  return 1;
}

static void
free_pixels (guchar *pixels, gpointer data)
{
  g_free (pixels);
}

typedef struct {
  struct jpeg_decompress_struct cinfo;
  ErrorManager err;
  guint8 *rgb;
  guint8 *row;
  GdkPixbuf *pixbuf;
} Job;

/* Everything libjpeg might jump out of, kept apart from the function holding the jmp_buf
 * so that no local of it is modified between setjmp and longjmp. */
static GdkPixbuf *
decode (Job *job, const guint8 *data, gsize len, const char *name, guint64 max_pixels,
        GCancellable *cancellable, GError **error)
{
  struct jpeg_decompress_struct *cinfo = &job->cinfo;
  jpeg_mem_src (cinfo, data, (unsigned long) len);
  jpeg_save_markers (cinfo, JPEG_APP0 + 1, 0xFFFF);
  jpeg_read_header (cinfo, TRUE);
  if (cinfo->num_components != 4)
    {
      g_set_error (error, SIGLENS_DECODE_ERROR, SIGLENS_DECODE_ERROR_CORRUPT,
                   "%s: not a CMYK JPEG (%d components)", name, cinfo->num_components);
      return NULL;
    }
  guint64 w = cinfo->image_width, h = cinfo->image_height;
  if (w == 0 || h == 0)
    {
      g_set_error (error, SIGLENS_DECODE_ERROR, SIGLENS_DECODE_ERROR_EMPTY,
                   "%s: the image has no pixels (%" G_GUINT64_FORMAT "x%" G_GUINT64_FORMAT ")",
                   name, w, h);
      return NULL;
    }
  if (w * h > max_pixels || w > G_MAXINT / 4 || h > G_MAXINT)
    {
      g_set_error (error, SIGLENS_DECODE_ERROR, SIGLENS_DECODE_ERROR_TOO_LARGE,
                   "%s: %" G_GUINT64_FORMAT "x%" G_GUINT64_FORMAT " is %" G_GUINT64_FORMAT
                   " pixels, more than the limit of %" G_GUINT64_FORMAT, name, w, h, w * h,
                   max_pixels);
      return NULL;
    }
  int orientation = 1;
  for (jpeg_saved_marker_ptr m = cinfo->marker_list; m; m = m->next)
    if (m->marker == JPEG_APP0 + 1 && (orientation = exif_orientation (m->data, m->data_length)) != 1)
      break;

  cinfo->out_color_space = JCS_CMYK;
  jpeg_start_decompress (cinfo);
  if (cinfo->output_components != 4)
    {
      g_set_error (error, SIGLENS_DECODE_ERROR, SIGLENS_DECODE_ERROR_CORRUPT,
                   "%s: cannot decode the image: no CMYK from its %d components", name,
                   cinfo->num_components);
      return NULL;
    }
  gsize stride = (gsize) w * 3;
  job->rgb = g_try_malloc (stride * h);
  job->row = g_malloc ((gsize) w * 4);
  if (!job->rgb)
    {
      g_set_error (error, SIGLENS_DECODE_ERROR, SIGLENS_DECODE_ERROR_TOO_LARGE,
                   "%s: not enough memory for %" G_GUINT64_FORMAT "x%" G_GUINT64_FORMAT
                   " pixels", name, w, h);
      return NULL;
    }
  while (cinfo->output_scanline < cinfo->output_height)
    {
      if (cinfo->output_scanline % BAND_ROWS == 0
          && g_cancellable_set_error_if_cancelled (cancellable, error))
        return NULL;
      JSAMPROW rows[1] = { job->row };
      guint y = cinfo->output_scanline;
      jpeg_read_scanlines (cinfo, rows, 1);
      row_to_rgb (job->rgb + y * stride, job->row, (int) w);
    }
  jpeg_finish_decompress (cinfo);

  GdkPixbuf *pixbuf = gdk_pixbuf_new_from_data (g_steal_pointer (&job->rgb), GDK_COLORSPACE_RGB,
                                                FALSE, 8, (int) w, (int) h, (int) stride,
                                                free_pixels, NULL);
  g_autofree char *option = g_strdup_printf ("%d", orientation);
  gdk_pixbuf_set_option (pixbuf, "orientation", option);
  return pixbuf;
}

GdkPixbuf *
siglens_jpeg_cmyk_decode (const guint8 *data, gsize len, const char *name, guint64 max_pixels,
                          GCancellable *cancellable, GError **error)
{
  Job *job = g_new0 (Job, 1);
  job->cinfo.err = jpeg_std_error (&job->err.mgr);
  job->err.mgr.error_exit = on_error;
  job->err.mgr.emit_message = on_message;
  if (setjmp (job->err.jump) == 0)
    {
      jpeg_create_decompress (&job->cinfo);
      job->pixbuf = decode (job, data, len, name, max_pixels, cancellable, error);
    }
  else
    {
      g_set_error (error, SIGLENS_DECODE_ERROR, SIGLENS_DECODE_ERROR_CORRUPT,
                   "%s: cannot decode the image: %s", name, job->err.message);
    }
  jpeg_destroy_decompress (&job->cinfo);
  g_free (job->rgb);
  g_free (job->row);
  GdkPixbuf *pixbuf = job->pixbuf;
  g_free (job);
  return pixbuf;
}
