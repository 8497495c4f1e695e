/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Image files to RGB as the reference's load_image: EXIF orientation, alpha dropped, palette
 * and grayscale expanded; and every way a file can be refused. */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>
#include <zlib.h>

#include <siglens-decode.h>

#include "test-util.h"

static void
check_error (const GError *error, GQuark domain, int code, const char *fragment)
{
  g_assert_nonnull (error);
  g_test_message ("error: %s", error->message);
  g_assert_error (error, domain, code);
  if (!strstr (error->message, fragment))
    g_error ("message '%s' lacks '%s'", error->message, fragment);
}

/* ------------------------------------------------------------------------------------------ */
/* The fixture images against the reference decode (Pillow 9.4 + libjpeg-turbo) */

static void
test_manifest_images (void)
{
  const cJSON *images = cJSON_GetObjectItemCaseSensitive (test_manifest (), "images");
  const cJSON *entry;
  int n = 0;
  cJSON_ArrayForEach (entry, images)
    {
      const char *id = cJSON_GetObjectItemCaseSensitive (entry, "id")->valuestring;
      const char *file = cJSON_GetObjectItemCaseSensitive (entry, "file")->valuestring;
      const cJSON *hw = cJSON_GetObjectItemCaseSensitive (entry, "rgb_hw");
      const cJSON *stored = cJSON_GetObjectItemCaseSensitive (entry, "stored_wh");
      const char *sha = cJSON_GetObjectItemCaseSensitive (entry, "decoded_rgb_sha256")->valuestring;

      g_autofree char *path = test_data_path (file);
      g_autoptr (GError) error = NULL;
      g_autoptr (SiglensRgbImage) image = siglens_decode_file (path, 0, &error);
      g_assert_no_error (error);
      g_assert_cmpint (image->height, ==, cJSON_GetArrayItem (hw, 0)->valueint);
      g_assert_cmpint (image->width, ==, cJSON_GetArrayItem (hw, 1)->valueint);
      g_assert_cmpint (image->original_width, ==, cJSON_GetArrayItem (stored, 0)->valueint);
      g_assert_cmpint (image->original_height, ==, cJSON_GetArrayItem (stored, 1)->valueint);
      g_assert_cmpuint (image->stride, ==, (gsize) image->width * 3);

      /* Bit-exact for every image, the JPEGs included: GdkPixbuf's libjpeg-turbo decode with
       * its defaults (ISLOW, fancy upsampling) is the one Pillow uses. */
      g_autofree char *ours = g_compute_checksum_for_data (G_CHECKSUM_SHA256, image->rgb,
                                                           image->stride * image->height);
      g_test_message ("%s: %dx%d sha256 %s", id, image->width, image->height, ours);
      g_assert_cmpstr (ours, ==, sha);
      n++;
    }
  g_assert_cmpint (n, ==, 13);
}

/* ------------------------------------------------------------------------------------------ */
/* EXIF orientation, all eight */

/* A JPEG (5x3, asymmetric) with an APP1 Exif segment holding only Orientation. */
static GBytes *
jpeg_with_orientation (GdkPixbuf *base, int orientation)
{
  g_autofree gchar *jpeg = NULL;
  gsize len = 0;
  g_autoptr (GError) error = NULL;
  g_assert_true (gdk_pixbuf_save_to_buffer (base, &jpeg, &len, "jpeg", &error, "quality", "95",
                                            NULL));
  g_assert_no_error (error);
  g_assert_cmpint ((guint8) jpeg[0], ==, 0xFF);
  g_assert_cmpint ((guint8) jpeg[1], ==, 0xD8);

  /* "Exif\0\0", little-endian TIFF header, IFD0 with one entry: 0x0112 SHORT 1 = value. */
  const guint8 exif[] = {
    'E', 'x', 'i', 'f', 0, 0,
    'I', 'I', 42, 0, 8, 0, 0, 0,
    1, 0,
    0x12, 0x01, 3, 0, 1, 0, 0, 0, (guint8) orientation, 0, 0, 0,
    0, 0, 0, 0,
  };
  GByteArray *out = g_byte_array_new ();
  g_byte_array_append (out, (const guint8 *) jpeg, 2);
  const guint8 marker[] = { 0xFF, 0xE1, 0, (guint8) (sizeof exif + 2) };
  g_byte_array_append (out, marker, sizeof marker);
  g_byte_array_append (out, exif, sizeof exif);
  g_byte_array_append (out, (const guint8 *) jpeg + 2, len - 2);
  return g_byte_array_free_to_bytes (out);
}

/* PIL.ImageOps.exif_transpose's transforms, written with GdkPixbuf's own flips and rotations
 * (an implementation independent of the decoder's). (transfer full) */
static GdkPixbuf *
pil_transpose (GdkPixbuf *src, int orientation)
{
  g_autoptr (GdkPixbuf) tmp = NULL;
  switch (orientation)
    {
    case 1: return g_object_ref (src);
    case 2: return gdk_pixbuf_flip (src, TRUE);                                      /* FLIP_LEFT_RIGHT */
    case 3: return gdk_pixbuf_rotate_simple (src, GDK_PIXBUF_ROTATE_UPSIDEDOWN);      /* ROTATE_180 */
    case 4: return gdk_pixbuf_flip (src, FALSE);                                     /* FLIP_TOP_BOTTOM */
    case 5:                                                                          /* TRANSPOSE */
      tmp = gdk_pixbuf_rotate_simple (src, GDK_PIXBUF_ROTATE_CLOCKWISE);
      return gdk_pixbuf_flip (tmp, TRUE);
    case 6: return gdk_pixbuf_rotate_simple (src, GDK_PIXBUF_ROTATE_CLOCKWISE);       /* ROTATE_270 */
    case 7:                                                                          /* TRANSVERSE */
      tmp = gdk_pixbuf_rotate_simple (src, GDK_PIXBUF_ROTATE_COUNTERCLOCKWISE);
      return gdk_pixbuf_flip (tmp, TRUE);
    case 8: return gdk_pixbuf_rotate_simple (src, GDK_PIXBUF_ROTATE_COUNTERCLOCKWISE); /* ROTATE_90 */
    }
  g_assert_not_reached ();
}

static void
assert_same_pixels (const SiglensRgbImage *image, GdkPixbuf *expected)
{
  g_assert_cmpint (image->width, ==, gdk_pixbuf_get_width (expected));
  g_assert_cmpint (image->height, ==, gdk_pixbuf_get_height (expected));
  const guint8 *px = gdk_pixbuf_read_pixels (expected);
  int rs = gdk_pixbuf_get_rowstride (expected), nc = gdk_pixbuf_get_n_channels (expected);
  for (int y = 0; y < image->height; y++)
    for (int x = 0; x < image->width; x++)
      g_assert_cmpmem (image->rgb + y * image->stride + 3 * x, 3, px + y * rs + x * nc, 3);
}

static void
test_exif_orientations (void)
{
  /* Big blocks of distinct colours so JPEG keeps them apart; 40x24 (not square). */
  g_autoptr (GdkPixbuf) base = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 40, 24);
  guint8 *px = gdk_pixbuf_get_pixels (base);
  int rs = gdk_pixbuf_get_rowstride (base);
  for (int y = 0; y < 24; y++)
    for (int x = 0; x < 40; x++)
      {
        px[y * rs + 3 * x + 0] = (guint8) (x * 6);
        px[y * rs + 3 * x + 1] = (guint8) (y * 10);
        px[y * rs + 3 * x + 2] = (guint8) ((x < 20) ^ (y < 12) ? 255 : 0);
      }

  /* The stored pixels, as decoded without any orientation. */
  g_autoptr (GBytes) plain = jpeg_with_orientation (base, 1);
  g_autoptr (GdkPixbufLoader) loader = gdk_pixbuf_loader_new ();
  g_assert_true (gdk_pixbuf_loader_write_bytes (loader, plain, NULL));
  g_assert_true (gdk_pixbuf_loader_close (loader, NULL));
  GdkPixbuf *stored = gdk_pixbuf_loader_get_pixbuf (loader);

  for (int o = 1; o <= 8; o++)
    {
      g_autoptr (GBytes) bytes = jpeg_with_orientation (base, o);
      g_autoptr (GError) error = NULL;
      g_autoptr (SiglensRgbImage) image = siglens_decode_bytes (bytes, "oriented.jpg", 0, &error);
      g_assert_no_error (error);
      g_assert_cmpint (image->original_width, ==, 40);
      g_assert_cmpint (image->original_height, ==, 24);
      g_autoptr (GdkPixbuf) expected = pil_transpose (stored, o);
      g_test_message ("orientation %d: %dx%d", o, image->width, image->height);
      assert_same_pixels (image, expected);

      /* The pixbuf entry point honours the same option. */
      g_autoptr (GdkPixbufLoader) l2 = gdk_pixbuf_loader_new ();
      g_assert_true (gdk_pixbuf_loader_write_bytes (l2, bytes, NULL));
      g_assert_true (gdk_pixbuf_loader_close (l2, NULL));
      g_autoptr (SiglensRgbImage) from_pixbuf =
        siglens_rgb_image_from_pixbuf (gdk_pixbuf_loader_get_pixbuf (l2), &error);
      g_assert_no_error (error);
      assert_same_pixels (from_pixbuf, expected);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Alpha, GIF, WebP, 16-bit PNG */

static void
test_alpha_dropped (void)
{
  /* convert ("RGB") keeps the stored colour of fully transparent pixels. */
  g_autoptr (GdkPixbuf) rgba = gdk_pixbuf_new (GDK_COLORSPACE_RGB, TRUE, 8, 3, 2);
  guint8 *px = gdk_pixbuf_get_pixels (rgba);
  int rs = gdk_pixbuf_get_rowstride (rgba);
  for (int y = 0; y < 2; y++)
    for (int x = 0; x < 3; x++)
      {
        guint8 *p = px + y * rs + 4 * x;
        p[0] = (guint8) (10 + x);
        p[1] = (guint8) (20 + y);
        p[2] = 200;
        p[3] = (guint8) (x * 100); /* 0 = fully transparent */
      }
  g_autoptr (GError) error = NULL;
  g_autoptr (SiglensRgbImage) image = siglens_rgb_image_from_pixbuf (rgba, &error);
  g_assert_no_error (error);
  for (int y = 0; y < 2; y++)
    for (int x = 0; x < 3; x++)
      {
        const guint8 expected[3] = { (guint8) (10 + x), (guint8) (20 + y), 200 };
        g_assert_cmpmem (image->rgb + y * image->stride + 3 * x, 3, expected, 3);
      }

  /* Through a PNG file too (the fixture rgba_256x320 checks this against Pillow). */
  g_autofree gchar *png = NULL;
  gsize len;
  g_assert_true (gdk_pixbuf_save_to_buffer (rgba, &png, &len, "png", &error, NULL));
  g_autoptr (GBytes) bytes = g_bytes_new (png, len);
  g_autoptr (SiglensRgbImage) decoded = siglens_decode_bytes (bytes, "alpha.png", 0, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (decoded->rgb, 18, image->rgb, 18);
}

static void
test_gif_first_frame (void)
{
  /* An animated 1x1 GIF: frame 1 red (palette index 0), frame 2 blue (index 1). */
  static const guint8 gif[] = {
    'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0, 0x80, 0, 0,
    0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF,                       /* global palette */
    0x21, 0xFF, 0x0B, 'N', 'E', 'T', 'S', 'C', 'A', 'P', 'E', '2', '.', '0',
    0x03, 0x01, 0x00, 0x00, 0x00,                             /* loop forever */
    0x21, 0xF9, 0x04, 0x00, 0x0A, 0x00, 0x00, 0x00,           /* 100 ms */
    0x2C, 0, 0, 0, 0, 1, 0, 1, 0, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, /* LZW: clear, 0, end */
    0x21, 0xF9, 0x04, 0x00, 0x0A, 0x00, 0x00, 0x00,
    0x2C, 0, 0, 0, 0, 1, 0, 1, 0, 0x00, 0x02, 0x02, 0x4C, 0x01, 0x00, /* LZW: clear, 1, end */
    0x3B,
  };
  g_autoptr (GBytes) bytes = g_bytes_new_static (gif, sizeof gif);
  g_autoptr (GError) error = NULL;
  g_autoptr (SiglensRgbImage) image = siglens_decode_bytes (bytes, "anim.gif", 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (image->width, ==, 1);
  g_assert_cmpint (image->height, ==, 1);
  const guint8 red[3] = { 255, 0, 0 };
  g_assert_cmpmem (image->rgb, 3, red, 3);
}

static void
test_webp (void)
{
  /* Needs Debian's webp-pixbuf-loader (build-aux/install-deps). Lossy, so compare loosely. */
  g_autoptr (GdkPixbuf) src = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 64, 48);
  gdk_pixbuf_fill (src, 0x3080c0ff);
  g_autofree gchar *webp = NULL;
  gsize len;
  g_autoptr (GError) error = NULL;
  g_assert_true (gdk_pixbuf_save_to_buffer (src, &webp, &len, "webp", &error, "quality", "100",
                                            NULL));
  g_assert_no_error (error);
  g_autoptr (GBytes) bytes = g_bytes_new (webp, len);
  g_autoptr (SiglensRgbImage) image = siglens_decode_bytes (bytes, "flat.webp", 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (image->width, ==, 64);
  g_assert_cmpint (image->height, ==, 48);
  const int expected[3] = { 0x30, 0x80, 0xc0 };
  for (int i = 0; i < 64 * 48; i++)
    for (int c = 0; c < 3; c++)
      g_assert_cmpint (ABS ((int) image->rgb[3 * i + c] - expected[c]), <=, 3);
}

static guint32
crc32_of (const guint8 *data, gsize len)
{
  guint32 crc = 0xFFFFFFFFu;
  for (gsize i = 0; i < len; i++)
    {
      crc ^= data[i];
      for (int k = 0; k < 8; k++)
        crc = (crc >> 1) ^ (0xEDB88320u & -(crc & 1));
    }
  return ~crc;
}

static void
put_be32 (GByteArray *out, guint32 v)
{
  const guint8 b[4] = { v >> 24, v >> 16, v >> 8, v };
  g_byte_array_append (out, b, 4);
}

static void
png_chunk (GByteArray *out, const char *type, const guint8 *data, gsize len)
{
  put_be32 (out, (guint32) len);
  gsize start = out->len;
  g_byte_array_append (out, (const guint8 *) type, 4);
  if (len)
    g_byte_array_append (out, data, (guint) len);
  put_be32 (out, crc32_of (out->data + start, len + 4));
}

/* A PNG (colour type 2 = RGB) with `raw` scanlines (filter bytes included) in one stored
 * deflate block, or no IDAT at all when raw is NULL. */
static GBytes *
make_png (guint32 width, guint32 height, int bit_depth, const guint8 *raw, gsize raw_len)
{
  GByteArray *out = g_byte_array_new ();
  const guint8 sig[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n' };
  g_byte_array_append (out, sig, sizeof sig);
  guint8 ihdr[13] = { width >> 24, width >> 16, width >> 8, width,
                      height >> 24, height >> 16, height >> 8, height,
                      (guint8) bit_depth, 2, 0, 0, 0 };
  png_chunk (out, "IHDR", ihdr, sizeof ihdr);
  if (raw)
    {
      GByteArray *z = g_byte_array_new ();
      const guint8 head[] = { 0x78, 0x01, 0x01, raw_len & 0xFF, raw_len >> 8,
                              ~raw_len & 0xFF, (~raw_len >> 8) & 0xFF };
      g_byte_array_append (z, head, sizeof head);
      g_byte_array_append (z, raw, (guint) raw_len);
      guint32 a = 1, b = 0;
      for (gsize i = 0; i < raw_len; i++)
        {
          a = (a + raw[i]) % 65521;
          b = (b + a) % 65521;
        }
      put_be32 (z, (b << 16) | a);
      png_chunk (out, "IDAT", z->data, z->len);
      g_byte_array_unref (z);
    }
  png_chunk (out, "IEND", NULL, 0);
  return g_byte_array_free_to_bytes (out);
}

/* An RGB PNG of one colour, deflated by zlib row by row: a tiny file for a huge image. */
static GBytes *
make_flat_png (guint32 width, guint32 height, guint8 value)
{
  z_stream z = { 0 };
  g_assert_cmpint (deflateInit (&z, 1), ==, Z_OK);
  gsize row_len = 1 + (gsize) width * 3;
  g_autofree guint8 *row = g_malloc (row_len);
  memset (row, value, row_len);
  row[0] = 0; /* filter: none */
  GByteArray *zdata = g_byte_array_new ();
  guint8 buf[65536];
  for (guint32 y = 0; y <= height; y++)
    {
      z.next_in = row;
      z.avail_in = y < height ? (uInt) row_len : 0;
      int flush = y < height ? Z_NO_FLUSH : Z_FINISH;
      do
        {
          z.next_out = buf;
          z.avail_out = sizeof buf;
          deflate (&z, flush);
          g_byte_array_append (zdata, buf, (guint) (sizeof buf - z.avail_out));
        }
      while (z.avail_out == 0);
    }
  deflateEnd (&z);
  GByteArray *out = g_byte_array_new ();
  const guint8 sig[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n' };
  g_byte_array_append (out, sig, sizeof sig);
  guint8 ihdr[13] = { width >> 24, width >> 16, width >> 8, width,
                      height >> 24, height >> 16, height >> 8, height, 8, 2, 0, 0, 0 };
  png_chunk (out, "IHDR", ihdr, sizeof ihdr);
  png_chunk (out, "IDAT", zdata->data, zdata->len);
  png_chunk (out, "IEND", NULL, 0);
  g_byte_array_unref (zdata);
  return g_byte_array_free_to_bytes (out);
}

static void
expect_decode_error (GBytes *bytes, const char *name, GQuark domain, int code,
                     const char *fragment)
{
  g_autoptr (GError) error = NULL;
  SiglensRgbImage *image = siglens_decode_bytes (bytes, name, 0, &error);
  g_assert_null (image);
  check_error (error, domain, code, fragment);
}

/* The sizes of the catalogue: 0x0 refused; 1x100000 decoded (and preprocessed); 30000x30000
 * refused from the header; 20000x20000 of one colour (a 1.2 GB decode from a small file)
 * refused from the header too, before any pixel is inflated. */
static void
test_catalogue_sizes (void)
{
  g_autoptr (GBytes) empty = make_png (0, 0, 8, NULL, 0);
  expect_decode_error (empty, "zero.png", SIGLENS_DECODE_ERROR, SIGLENS_DECODE_ERROR_EMPTY,
                       "zero.png: the PNG declares no pixels (0x0)");

  g_autoptr (GBytes) thin = make_flat_png (1, 100000, 0x80);
  g_autoptr (GError) error = NULL;
  g_autoptr (SiglensRgbImage) image = siglens_decode_bytes (thin, "thin.png", 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (image->width, ==, 1);
  g_assert_cmpint (image->height, ==, 100000);
  g_assert_cmpint (image->rgb[3 * 99999], ==, 0x80);
  g_autofree char *dir = test_data_path ("tiny-siglip2-naflex");
  siglip_model *model = siglip_model_load (dir, NULL, NULL);
  g_assert_nonnull (model);
  siglip_image img = { image->rgb, image->width, image->height, image->stride };
  siglip_error *err = NULL;
  siglip_patches *patches = siglip_preprocess (model, &img, 0, &err);
  g_assert_null (err);
  /* NAFlex keeps the aspect within the budget: one column of patches at most 256 rows */
  g_assert_cmpint (patches->cols, ==, 1);
  g_assert_cmpint (patches->num_valid, <=, 256);
  siglip_patches_free (patches);
  siglip_model_free (model);

  const guint8 scrap[16] = { 0 };
  g_autoptr (GBytes) huge = make_png (30000, 30000, 8, scrap, sizeof scrap);
  expect_decode_error (huge, "huge.png", SIGLENS_DECODE_ERROR, SIGLENS_DECODE_ERROR_TOO_LARGE,
                       "huge.png: 30000x30000 is 900000000 pixels, more than the limit of "
                       "100000000");

  g_autoptr (GBytes) bomb = make_flat_png (20000, 20000, 0xff);
  g_test_message ("20000x20000 one-colour PNG: %" G_GSIZE_FORMAT " bytes",
                  g_bytes_get_size (bomb));
  g_assert_cmpuint (g_bytes_get_size (bomb), <, 8 << 20); /* 5 MB for 1.2 GB of pixels */
  expect_decode_error (bomb, "bomb.png", SIGLENS_DECODE_ERROR, SIGLENS_DECODE_ERROR_TOO_LARGE,
                       "bomb.png: 20000x20000 is 400000000 pixels");
}

static GBytes *
bmp_bytes (gint32 width, gint32 height, gsize pixel_bytes)
{
  GByteArray *b = g_byte_array_new ();
  guint32 offset = 54;
  guint8 file[14] = { 'B', 'M' };
  guint32 size = offset + (guint32) pixel_bytes;
  memcpy (file + 2, &size, 4);
  memcpy (file + 10, &offset, 4);
  g_byte_array_append (b, file, sizeof file);
  guint8 dib[40] = { 40 };
  memcpy (dib + 4, &width, 4);
  memcpy (dib + 8, &height, 4);
  dib[12] = 1;  /* planes */
  dib[14] = 24; /* bits per pixel, BI_RGB */
  g_byte_array_append (b, dib, sizeof dib);
  for (gsize i = 0; i < pixel_bytes; i++)
    {
      guint8 v = (guint8) (i * 7);
      g_byte_array_append (b, &v, 1);
    }
  return g_byte_array_free_to_bytes (b);
}

/* A BMP whose DIB header has a size no BMP version has: refused by name as Pillow refuses it,
 * before GdkPixbuf's loader allocates what the field says (4 GB here, for a 54-byte file: found
 * by fuzz-decode, kept in tests/fuzz/regressions/fuzz-decode/). Every size Pillow reads still
 * gets to the loader. */
static void
test_bmp_header_type (void)
{
  g_autoptr (GBytes) bmp = bmp_bytes (8, 6, 0);
  g_autofree guint8 *data = g_memdup2 (g_bytes_get_data (bmp, NULL), g_bytes_get_size (bmp));
  const guint32 bogus[] = { 0xffffff65, 0, 16, 41, 128 };

  for (gsize i = 0; i < G_N_ELEMENTS (bogus); i++)
    {
      g_autofree char *want = g_strdup_printf ("bogus.bmp: not a readable image: unsupported BMP "
                                               "header type (%u bytes)", bogus[i]);
      g_autoptr (GBytes) bad = NULL;
      memcpy (data + 14, &bogus[i], 4);
      bad = g_bytes_new (data, g_bytes_get_size (bmp));
      expect_decode_error (bad, "bogus.bmp", SIGLENS_DECODE_ERROR, SIGLENS_DECODE_ERROR_CORRUPT,
                           want);
    }
  /* 108 and 124 (V4, V5) are real: the header type is no reason to refuse them */
  for (guint32 dib = 108; dib <= 124; dib += 16)
    {
      g_autoptr (GBytes) real = NULL;
      g_autoptr (GError) error = NULL;
      memcpy (data + 14, &dib, 4);
      real = g_bytes_new (data, g_bytes_get_size (bmp));
      g_autoptr (SiglensRgbImage) image = siglens_decode_bytes (real, "v45.bmp", 0, &error);
      g_assert_true (error == NULL || strstr (error->message, "header type") == NULL);
    }
}

/* BMP, WebP and GIF files that end early, or declare more than they hold: refused as Pillow
 * refuses them ("image file is truncated"), not scored as black or half images. */
static void
test_truncated_other_formats (void)
{
  /* 8x6 at 24 bits: rows of 24 bytes padded to 24 */
  g_autoptr (GBytes) whole = bmp_bytes (8, 6, 24 * 6);
  g_autoptr (GError) error = NULL;
  g_autoptr (SiglensRgbImage) image = siglens_decode_bytes (whole, "whole.bmp", 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (image->width, ==, 8);

  g_autoptr (GBytes) short_bmp = bmp_bytes (8, 6, 24 * 6 - 20);
  expect_decode_error (short_bmp, "short.bmp", SIGLENS_DECODE_ERROR,
                       SIGLENS_DECODE_ERROR_CORRUPT,
                       "short.bmp: the image is truncated (the BMP needs 198 bytes, the file has "
                       "178)");
  /* 54 bytes declaring 9000x9000 (81 MP, under the limit) used to be scored as black */
  g_autoptr (GBytes) empty_bmp = bmp_bytes (9000, 9000, 0);
  expect_decode_error (empty_bmp, "empty.bmp", SIGLENS_DECODE_ERROR,
                       SIGLENS_DECODE_ERROR_CORRUPT,
                       "empty.bmp: the image is truncated (the BMP needs 243000054 bytes");
  /* 12 bytes of one */
  g_autoptr (GBytes) whole_big = bmp_bytes (9000, 9000, 0);
  g_autoptr (GBytes) twelve = g_bytes_new_from_bytes (whole_big, 0, 12);
  expect_decode_error (twelve, "twelve.bmp", SIGLENS_DECODE_ERROR, SIGLENS_DECODE_ERROR_CORRUPT,
                       "twelve.bmp");
  /* top-down rows (negative height) and too many pixels */
  g_autoptr (GBytes) wide_bmp = bmp_bytes (20000, -20000, 0);
  expect_decode_error (wide_bmp, "wide.bmp", SIGLENS_DECODE_ERROR, SIGLENS_DECODE_ERROR_TOO_LARGE,
                       "wide.bmp: 20000x20000 is 400000000 pixels");

  /* WebP: a whole one decodes, its first half is truncated */
  g_autoptr (GdkPixbuf) src = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 64, 48);
  gdk_pixbuf_fill (src, 0x3080c0ff);
  g_autofree gchar *webp = NULL;
  gsize len;
  g_assert_true (gdk_pixbuf_save_to_buffer (src, &webp, &len, "webp", &error, NULL));
  g_autoptr (GBytes) half = g_bytes_new (webp, len / 2);
  g_autofree char *need = g_strdup_printf ("half.webp: the image is truncated (the WebP needs "
                                           "%" G_GSIZE_FORMAT " bytes, the file has %"
                                           G_GSIZE_FORMAT ")", len, len / 2);
  expect_decode_error (half, "half.webp", SIGLENS_DECODE_ERROR, SIGLENS_DECODE_ERROR_CORRUPT,
                       need);

  /* a WebP whose header declares 16383x16383: refused before the loader decodes it (it
   * decodes a whole WebP before it reports the size) */
  GByteArray *big = g_byte_array_new ();
  g_byte_array_append (big, (const guint8 *) webp, (guint) len);
  if (!memcmp (big->data + 12, "VP8L", 4))
    {
      guint32 bits = 16382u | 16382u << 14;
      memcpy (big->data + 21, &bits, 4);
    }
  else
    {
      g_assert_cmpmem (big->data + 12, 4, "VP8 ", 4);
      guint16 side = 16383;
      memcpy (big->data + 26, &side, 2);
      memcpy (big->data + 28, &side, 2);
    }
  g_autoptr (GBytes) big_bytes = g_byte_array_free_to_bytes (big);
  expect_decode_error (big_bytes, "big.webp", SIGLENS_DECODE_ERROR,
                       SIGLENS_DECODE_ERROR_TOO_LARGE,
                       "big.webp: 16383x16383 is 268402689 pixels, more than the limit");

  /* GIF: cut inside the first frame's pixel data (GdkPixbuf's loader refuses this one itself;
   * the end scanner covers loaders that would not) */
  static const guint8 gif[] = {
    'G', 'I', 'F', '8', '9', 'a', 2, 0, 2, 0, 0x80, 0, 0,
    0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF,
    0x2C, 0, 0, 0, 0, 2, 0, 2, 0, 0x00, 0x02, 0x03, 0x84, 0x1D, 0x05, 0x00, 0x3B,
  };
  g_autoptr (GBytes) gif_whole = g_bytes_new_static (gif, sizeof gif);
  g_autoptr (SiglensRgbImage) gif_image = siglens_decode_bytes (gif_whole, "whole.gif", 0, &error);
  g_assert_no_error (error);
  g_autoptr (GBytes) gif_cut = g_bytes_new_static (gif, sizeof gif - 4);
  expect_decode_error (gif_cut, "cut.gif", SIGLENS_DECODE_ERROR, SIGLENS_DECODE_ERROR_CORRUPT,
                       "cut.gif: ");
}

static void
test_png_16bit (void)
{
  /* Pillow opens 16-bit RGB as "RGB;16B": the high byte of each sample, no rounding. 0x12F0
   * tells truncation (0x12) from scaling (0x13). */
  const guint8 raw[] = { 0, 0x12, 0xF0, 0x00, 0xFF, 0xFF, 0xFF, 0x80, 0x7F, 0xAB, 0xCD, 0x01, 0x02 };
  g_autoptr (GBytes) png = make_png (2, 1, 16, raw, sizeof raw);
  g_autoptr (GError) error = NULL;
  g_autoptr (SiglensRgbImage) image = siglens_decode_bytes (png, "deep.png", 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (image->width, ==, 2);
  const guint8 expected[6] = { 0x12, 0x00, 0xFF, 0x80, 0xAB, 0x01 };
  g_assert_cmpmem (image->rgb, 6, expected, 6);
}

/* ------------------------------------------------------------------------------------------ */
/* Refusals */

static char *
write_out (const char *name, const void *data, gsize len)
{
  char *path = test_out_path (name);
  g_autoptr (GError) error = NULL;
  g_file_set_contents (path, data, (gssize) len, &error);
  g_assert_no_error (error);
  return path;
}

static void
test_too_large (void)
{
  /* A PNG claiming 20000 x 20000 (400 MP, 1.2 GB of RGB) with only a scrap of pixel data:
   * refused when the header is parsed (libpng reports the header at the first IDAT), so the
   * size — not the missing data — is the error. */
  const guint8 scrap[16] = { 0 };
  g_autoptr (GBytes) png = make_png (20000, 20000, 8, scrap, sizeof scrap);
  g_autofree char *path = write_out ("huge.png", g_bytes_get_data (png, NULL),
                                     g_bytes_get_size (png));
  g_autoptr (GError) error = NULL;
  SiglensRgbImage *image = siglens_decode_file (path, 0, &error);
  g_assert_null (image);
  check_error (error, SIGLENS_DECODE_ERROR, SIGLENS_DECODE_ERROR_TOO_LARGE, "huge.png");
  g_assert_nonnull (strstr (error->message, "20000x20000"));
  g_assert_nonnull (strstr (error->message, "100000000"));
  g_clear_error (&error);

  /* A real image over a caller's limit. */
  g_autofree char *chelsea = test_data_path ("images/chelsea.png");
  g_assert_null (siglens_decode_file (chelsea, 451 * 300 - 1, &error));
  check_error (error, SIGLENS_DECODE_ERROR, SIGLENS_DECODE_ERROR_TOO_LARGE, "chelsea.png");
  g_clear_error (&error);
  g_autoptr (SiglensRgbImage) ok = siglens_decode_file (chelsea, 451 * 300, &error);
  g_assert_no_error (error);

  /* JPEG headers are checked the same way. */
  g_autofree char *rocket = test_data_path ("images/rocket.jpg");
  g_assert_null (siglens_decode_file (rocket, 1000, &error));
  check_error (error, SIGLENS_DECODE_ERROR, SIGLENS_DECODE_ERROR_TOO_LARGE, "640x427");
}

static void
test_empty_and_missing (void)
{
  g_autofree char *empty = write_out ("empty.png", "", 0);
  g_autoptr (GError) error = NULL;
  g_assert_null (siglens_decode_file (empty, 0, &error));
  check_error (error, SIGLENS_DECODE_ERROR, SIGLENS_DECODE_ERROR_EMPTY, "empty.png");
  g_clear_error (&error);

  g_autoptr (GBytes) none = g_bytes_new_static ("", 0);
  g_assert_null (siglens_decode_bytes (none, "pasted image", 0, &error));
  check_error (error, SIGLENS_DECODE_ERROR, SIGLENS_DECODE_ERROR_EMPTY, "pasted image");
  g_clear_error (&error);

  g_autofree char *missing = test_out_path ("does-not-exist.jpg");
  g_assert_null (siglens_decode_file (missing, 0, &error));
  check_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "does-not-exist.jpg");
}

/* Not image files at all: a FIFO (used to block forever), a directory, a loop of links, a file
 * whose read fails, a text file named .jpg. Each refused by name, without blocking. */
static void
test_not_files (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *fifo = test_out_path ("decode/fifo.png");
  g_remove (fifo);
  g_assert_cmpint (mkfifo (fifo, 0644), ==, 0);
  g_assert_null (siglens_decode_file (fifo, 0, &error));
  check_error (error, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE,
               "fifo.png: is a FIFO (named pipe), not an image file");
  g_clear_error (&error);

  g_autofree char *dir = test_out_path ("decode/folder.jpg");
  g_mkdir_with_parents (dir, 0755);
  g_assert_null (siglens_decode_file (dir, 0, &error));
  check_error (error, G_IO_ERROR, G_IO_ERROR_IS_DIRECTORY,
               "folder.jpg: is a directory, not an image file");
  g_clear_error (&error);

  g_autofree char *loop = test_out_path ("decode/loop.png");
  g_remove (loop);
  g_assert_cmpint (symlink (loop, loop), ==, 0);
  g_assert_null (siglens_decode_file (loop, 0, &error));
  check_error (error, G_IO_ERROR, G_IO_ERROR_TOO_MANY_LINKS,
               "loop.png: cannot open: a loop of symbolic links");
  g_clear_error (&error);

  /* a regular file whose read fails (EIO at offset 0): unreadable, whoever runs the test */
  g_assert_null (siglens_decode_file ("/proc/self/mem", 0, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "/proc/self/mem"));
  g_clear_error (&error);
  if (geteuid () != 0) /* root reads a mode-000 file anyway */
    {
      g_autofree char *locked = write_out ("locked.png", "x", 1);
      g_assert_cmpint (g_chmod (locked, 0), ==, 0);
      g_assert_null (siglens_decode_file (locked, 0, &error));
      check_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED, "locked.png: cannot open");
      g_clear_error (&error);
    }

  const char text[] = "Dear diary, today I renamed a text file.\n";
  g_autofree char *path = write_out ("notes.jpg", text, sizeof text - 1);
  g_assert_null (siglens_decode_file (path, 0, &error));
  check_error (error, SIGLENS_DECODE_ERROR, SIGLENS_DECODE_ERROR_CORRUPT, "notes.jpg: cannot "
               "decode the image: Unrecognized image file format");
}

static void
test_corrupt (void)
{
  g_autoptr (GError) error = NULL;
  const char text[] = "this is a text file, not an image at all\n";
  g_autofree char *path = write_out ("notes.png", text, sizeof text - 1);
  g_assert_null (siglens_decode_file (path, 0, &error));
  check_error (error, SIGLENS_DECODE_ERROR, SIGLENS_DECODE_ERROR_CORRUPT, "notes.png");
  g_clear_error (&error);

  /* The first half of real files. */
  const char *sources[] = { "images/chelsea.png", "images/rocket.jpg", "images/coffee.png" };
  for (gsize i = 0; i < G_N_ELEMENTS (sources); i++)
    {
      g_autofree char *src = test_data_path (sources[i]);
      g_autofree gchar *data = NULL;
      gsize len;
      g_assert_true (g_file_get_contents (src, &data, &len, NULL));
      g_autofree char *base = g_path_get_basename (sources[i]);
      g_autofree char *name = g_strconcat ("truncated-", base, NULL);
      g_autofree char *cut = write_out (name, data, len / 2);
      g_assert_null (siglens_decode_file (cut, 0, &error));
      check_error (error, SIGLENS_DECODE_ERROR, SIGLENS_DECODE_ERROR_CORRUPT, name);
      g_clear_error (&error);
    }

  /* A valid PNG signature and header with garbage where the pixels should be. */
  const guint8 junk[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
  g_autoptr (GBytes) bad = make_png (2, 1, 16, junk, sizeof junk);
  GByteArray *mangled = g_byte_array_new ();
  g_byte_array_append (mangled, g_bytes_get_data (bad, NULL), (guint) g_bytes_get_size (bad));
  mangled->data[33 + 8 + 2] = 0xFF; /* the deflate block header inside IDAT */
  g_autoptr (GBytes) mb = g_byte_array_free_to_bytes (mangled);
  g_assert_null (siglens_decode_bytes (mb, "mangled.png", 0, &error));
  check_error (error, SIGLENS_DECODE_ERROR, SIGLENS_DECODE_ERROR_CORRUPT, "mangled.png");
}

static void
test_trailing_data (void)
{
  /* Bytes after IEND / EOI are ignored (Pillow stops reading there too): same pixels. */
  const char *ids[] = { "chelsea", "rocket" };
  for (gsize i = 0; i < G_N_ELEMENTS (ids); i++)
    {
      const cJSON *entry = test_manifest_image (ids[i]);
      g_autofree char *src =
        test_data_path (cJSON_GetObjectItemCaseSensitive (entry, "file")->valuestring);
      g_autofree gchar *data = NULL;
      gsize len;
      g_assert_true (g_file_get_contents (src, &data, &len, NULL));
      GByteArray *padded = g_byte_array_new ();
      g_byte_array_append (padded, (const guint8 *) data, (guint) len);
      static const char junk[] = "\0\0trailing junk\xff";
      g_byte_array_append (padded, (const guint8 *) junk, sizeof junk - 1);
      g_autoptr (GBytes) bytes = g_byte_array_free_to_bytes (padded);
      g_autoptr (GError) error = NULL;
      g_autoptr (SiglensRgbImage) image = siglens_decode_bytes (bytes, ids[i], 0, &error);
      g_assert_no_error (error);
      g_autofree char *sha = g_compute_checksum_for_data (G_CHECKSUM_SHA256, image->rgb,
                                                          image->stride * image->height);
      g_assert_cmpstr (sha, ==,
                       cJSON_GetObjectItemCaseSensitive (entry, "decoded_rgb_sha256")->valuestring);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/decode/manifest-images", test_manifest_images);
  g_test_add_func ("/decode/exif-orientations", test_exif_orientations);
  g_test_add_func ("/decode/alpha-dropped", test_alpha_dropped);
  g_test_add_func ("/decode/gif-first-frame", test_gif_first_frame);
  g_test_add_func ("/decode/webp", test_webp);
  g_test_add_func ("/decode/png-16bit", test_png_16bit);
  g_test_add_func ("/decode/too-large", test_too_large);
  g_test_add_func ("/decode/empty-and-missing", test_empty_and_missing);
  g_test_add_func ("/decode/corrupt", test_corrupt);
  g_test_add_func ("/decode/not-files", test_not_files);
  g_test_add_func ("/decode/catalogue-sizes", test_catalogue_sizes);
  g_test_add_func ("/decode/truncated-other-formats", test_truncated_other_formats);
  g_test_add_func ("/decode/bmp-header-type", test_bmp_header_type);
  g_test_add_func ("/decode/trailing-data", test_trailing_data);
  return g_test_run ();
}
