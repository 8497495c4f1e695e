/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The formats of the bad-input catalogue against the reference's reading of them (Pillow 9.4's
 * ImageOps.exif_transpose (Image.open (p)).convert ("RGB"), goldens made by
 * build-aux/make-format-images.py): each decoded to the same bytes or refused by name. Then the
 * declared size of each format checked before its pixels are decoded, and a cancelled decode
 * stopping inside a large image. */
#include <string.h>

#include <glib/gstdio.h>
#include <zlib.h>

#include <siglens-decode.h>
#include <siglens-prefetch.h>

#include "test-util.h"

/* Every file of tests/data/images/formats that Siglens refuses, with what it says. */
typedef struct {
  const char *file;
  const char *message; /* after "<file>: " */
  int code;            /* SIGLENS_DECODE_ERROR_UNSUPPORTED unless said */
} Refusal;

static const Refusal refusals[] = {
  /* Pillow cannot read these at all */
  { "drawing.svg", "SVG images are not supported: the reference (Pillow) cannot read drawings" },
  { "drawing.svgz", "SVG images are not supported" },
  { "xpm.xpm", "XPM images are not supported: the reference (Pillow) reads them differently or "
               "not at all" },
  /* Pillow reads these, GdkPixbuf differently */
  { "png-gray16.png", "16-bit grayscale PNG images are not supported: the reference (Pillow) "
                      "turns every value above 255 into white" },
  { "tiff-gray16.tif", "TIFF images with more than 8 bits per sample are not supported" },
  { "tiff-rgba.tif", "TIFF images with an alpha channel are not supported" },
  { "tiff-cmyk.tif", "CMYK TIFF images are not supported" },
  { "pnm-p6-max100.ppm", "PNM images with a largest value of 100 are not supported (only 255)" },
  { "pnm-p5-16bit.pgm", "PNM images with a largest value of 65535 are not supported" },
  /* Pillow reads these, GdkPixbuf not at all */
  { "icns.icns", "ICNS images are not supported" },
  { "xbm.xbm", "XBM images are not supported" },
  { "ico-png.ico", "cannot decode the image: Compressed icons are not supported",
    SIGLENS_DECODE_ERROR_CORRUPT },
};

static const cJSON *
formats_manifest (void)
{
  static cJSON *manifest;
  if (!manifest)
    {
      g_autofree char *path = test_data_path ("images/formats/formats.json");
      g_autofree char *text = NULL;
      g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
      manifest = cJSON_Parse (text);
      g_assert_nonnull (manifest);
    }
  return manifest;
}

static const char *
json_string (const cJSON *entry, const char *key)
{
  const cJSON *item = cJSON_GetObjectItemCaseSensitive (entry, key);
  return cJSON_IsString (item) ? item->valuestring : NULL;
}

static const Refusal *
find_refusal (const char *file)
{
  for (gsize i = 0; i < G_N_ELEMENTS (refusals); i++)
    if (g_str_equal (refusals[i].file, file))
      return &refusals[i];
  return NULL;
}

static void
assert_pillow_pixels (const char *file, const cJSON *entry)
{
  g_autofree char *rel = g_strconcat ("images/formats/", file, NULL);
  g_autofree char *path = test_data_path (rel);
  g_autoptr (GError) error = NULL;
  g_autoptr (SiglensRgbImage) image = siglens_decode_file (path, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (image->width, ==, cJSON_GetObjectItemCaseSensitive (entry, "width")->valueint);
  g_assert_cmpint (image->height, ==, cJSON_GetObjectItemCaseSensitive (entry, "height")->valueint);
  g_assert_cmpuint (image->stride, ==, (gsize) image->width * 3);

  g_autofree char *rgb_rel = g_strconcat ("images/formats/", json_string (entry, "rgb"), NULL);
  g_autofree char *rgb_path = test_data_path (rgb_rel);
  g_autofree gchar *golden = NULL;
  gsize golden_len = 0;
  g_assert_true (g_file_get_contents (rgb_path, &golden, &golden_len, NULL));
  g_autofree char *golden_sha = g_compute_checksum_for_data (G_CHECKSUM_SHA256,
                                                             (const guint8 *) golden, golden_len);
  g_assert_cmpstr (golden_sha, ==, json_string (entry, "sha256"));

  /* Bit-exact: these are the kinds where GdkPixbuf's decode is Pillow's (lossless formats, and
   * JPEG-in-TIFF through the same libjpeg-turbo with the same defaults), and CMYK JPEG, through
   * that libjpeg too and Pillow's conversion (siglens-jpeg-cmyk.c), EXIF orientation applied. */
  gsize n = image->stride * (gsize) image->height;
  g_assert_cmpuint (n, ==, golden_len);
  int worst = 0;
  gsize first = n;
  for (gsize i = 0; i < n; i++)
    {
      int d = ABS ((int) image->rgb[i] - (int) (guint8) golden[i]);
      if (d && first == n)
        first = i;
      worst = MAX (worst, d);
    }
  if (worst)
    g_error ("%s: differs from Pillow by up to %d; first at byte %" G_GSIZE_FORMAT " (pixel %"
             G_GSIZE_FORMAT ", %" G_GSIZE_FORMAT "): ours %d, Pillow %d", file, worst, first,
             first / 3 % (gsize) image->width, first / 3 / (gsize) image->width,
             image->rgb[first], (guint8) golden[first]);
}

static void
assert_refused (const char *file, const Refusal *refusal)
{
  g_autofree char *rel = g_strconcat ("images/formats/", file, NULL);
  g_autofree char *path = test_data_path (rel);
  g_autoptr (GError) error = NULL;
  SiglensRgbImage *image = siglens_decode_file (path, 0, &error);
  g_assert_null (image);
  g_test_message ("%s: %s", file, error->message);
  int code = refusal->code ? refusal->code : SIGLENS_DECODE_ERROR_UNSUPPORTED;
  g_assert_error (error, SIGLENS_DECODE_ERROR, code);
  g_autofree char *expected = g_strdup_printf ("%s: %s", file, refusal->message);
  if (!strstr (error->message, expected))
    g_error ("message '%s' lacks '%s'", error->message, expected);

  /* From memory too (a pasted image), under the name given. */
  g_autofree gchar *data = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  g_autoptr (GBytes) bytes = g_bytes_new_take (g_steal_pointer (&data), len);
  g_autoptr (GError) error2 = NULL;
  g_assert_null (siglens_decode_bytes (bytes, "pasted image", 0, &error2));
  g_assert_error (error2, SIGLENS_DECODE_ERROR, code);
  g_assert_true (g_str_has_prefix (error2->message, "pasted image: "));
}

/* Every file in formats.json: where Pillow reads it and we do not refuse it, the same bytes;
 * where we refuse it, the sentence naming the kind; where Pillow cannot read it, refused. */
static void
test_against_pillow (void)
{
  const cJSON *manifest = formats_manifest ();
  g_test_message ("goldens from Pillow %s", json_string (manifest, "pillow"));
  const cJSON *entry;
  int n_same = 0, n_refused = 0;
  cJSON_ArrayForEach (entry, cJSON_GetObjectItemCaseSensitive (manifest, "images"))
    {
      const char *file = json_string (entry, "file");
      const Refusal *refusal = find_refusal (file);
      if (json_string (entry, "pillow_error"))
        g_assert_nonnull (refusal); /* what Pillow cannot read is never scored */
      if (refusal)
        {
          assert_refused (file, refusal);
          n_refused++;
        }
      else
        {
          assert_pillow_pixels (file, entry);
          n_same++;
        }
    }
  g_test_message ("%d files read as Pillow does, %d refused by name", n_same, n_refused);
  g_assert_cmpint (n_refused, ==, G_N_ELEMENTS (refusals));
  g_assert_cmpint (n_same, ==, 39);
}

/* SVG is refused before any loader sees it, so what librsvg's loader would do (installed here,
 * maybe not elsewhere) does not matter: also for a prologue the loader would not sniff. */
static void
test_svg_whatever_loaders (void)
{
  const char *svgs[] = {
    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"4\" height=\"4\"/>",
    "\xEF\xBB\xBF  \n<?xml version=\"1.0\"?>\n<!-- a comment -->\n"
    "<!DOCTYPE svg PUBLIC \"-//W3C//DTD SVG 1.1//EN\" "
    "\"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd\">\n<svg width=\"9\" height=\"9\"></svg>",
    /* declares a 100000x100000 drawing: refused by name, not rendered first */
    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"100000\" height=\"100000\">"
    "<rect width=\"100000\" height=\"100000\" fill=\"red\"/></svg>",
  };
  for (gsize i = 0; i < G_N_ELEMENTS (svgs); i++)
    {
      g_autoptr (GBytes) bytes = g_bytes_new_static (svgs[i], strlen (svgs[i]));
      g_autoptr (GError) error = NULL;
      g_assert_null (siglens_decode_bytes (bytes, "drawing", 0, &error));
      g_assert_error (error, SIGLENS_DECODE_ERROR, SIGLENS_DECODE_ERROR_UNSUPPORTED);
      g_assert_true (g_str_has_prefix (error->message, "drawing: SVG images are not supported"));
    }
  /* XML that is not SVG is not called one */
  const char html[] = "<?xml version=\"1.0\"?>\n<html><body>hello</body></html>\n";
  g_autoptr (GBytes) bytes = g_bytes_new_static (html, sizeof html - 1);
  g_autoptr (GError) error = NULL;
  g_assert_null (siglens_decode_bytes (bytes, "page", 0, &error));
  g_assert_error (error, SIGLENS_DECODE_ERROR, SIGLENS_DECODE_ERROR_CORRUPT);
}

/* ------------------------------------------------------------------------------------------ */
/* Declared sizes, each format */

static void
put_le16 (GByteArray *b, guint16 v)
{
  const guint8 x[2] = { v, v >> 8 };
  g_byte_array_append (b, x, 2);
}

static void
put_le32 (GByteArray *b, guint32 v)
{
  const guint8 x[4] = { v, v >> 8, v >> 16, v >> 24 };
  g_byte_array_append (b, x, 4);
}

static void
tiff_entry (GByteArray *b, guint16 tag, guint16 type, guint32 value)
{
  put_le16 (b, tag);
  put_le16 (b, type);
  put_le32 (b, 1);
  if (type == 3)
    {
      put_le16 (b, (guint16) value);
      put_le16 (b, 0);
    }
  else
    put_le32 (b, value);
}

/* An 8-bit grayscale TIFF declaring width x height, holding `data_len` bytes of strip, with
 * its directory after the data (where Pillow puts it first, writers often put it last). */
static GBytes *
gray_tiff (guint32 width, guint32 height, gsize data_len, guint32 declared_strip_bytes)
{
  GByteArray *b = g_byte_array_new ();
  g_byte_array_append (b, (const guint8 *) "II*\0", 4);
  guint32 ifd = 8 + (guint32) data_len;
  ifd += ifd & 1;
  put_le32 (b, ifd);
  for (gsize i = 0; i < data_len; i++)
    {
      guint8 v = (guint8) (i * 37);
      g_byte_array_append (b, &v, 1);
    }
  if (b->len & 1)
    g_byte_array_append (b, (const guint8 *) "", 1);
  put_le16 (b, 9);
  tiff_entry (b, 256, 4, width);
  tiff_entry (b, 257, 4, height);
  tiff_entry (b, 258, 3, 8);
  tiff_entry (b, 259, 3, 1);     /* no compression */
  tiff_entry (b, 262, 3, 1);     /* black is zero */
  tiff_entry (b, 273, 4, 8);     /* the strip's offset */
  tiff_entry (b, 277, 3, 1);
  tiff_entry (b, 278, 4, height); /* one strip */
  tiff_entry (b, 279, 4, declared_strip_bytes);
  put_le32 (b, 0);
  return g_byte_array_free_to_bytes (b);
}

static void
expect_error (GBytes *bytes, const char *name, int code, const char *fragment)
{
  g_autoptr (GError) error = NULL;
  g_assert_null (siglens_decode_bytes (bytes, name, 0, &error));
  g_test_message ("%s: %s", name, error->message);
  g_assert_error (error, SIGLENS_DECODE_ERROR, code);
  if (!strstr (error->message, fragment))
    g_error ("message '%s' lacks '%s'", error->message, fragment);
}

/* PNG, BMP and WebP have theirs in test-decode; here TIFF (directory at the end), GIF and
 * JPEG, each a few bytes declaring more than 100 megapixels. */
static void
test_declared_sizes (void)
{
  /* a whole small one decodes, to the bytes it holds */
  g_autoptr (GBytes) small = gray_tiff (4, 3, 12, 12);
  g_autoptr (GError) error = NULL;
  g_autoptr (SiglensRgbImage) image = siglens_decode_bytes (small, "small.tif", 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (image->width, ==, 4);
  for (int i = 0; i < 12; i++)
    for (int c = 0; c < 3; c++)
      g_assert_cmpint (image->rgb[3 * i + c], ==, (guint8) (i * 37));

  g_autoptr (GBytes) big_tiff = gray_tiff (30000, 30000, 16, 900000000u);
  expect_error (big_tiff, "big.tif", SIGLENS_DECODE_ERROR_TOO_LARGE,
                "big.tif: 30000x30000 is 900000000 pixels, more than the limit of 100000000");

  /* GIF: the logical screen */
  static const guint8 gif[] = {
    'G', 'I', 'F', '8', '9', 'a', 0x30, 0x75, 0x30, 0x75, 0x80, 0, 0,
    0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF,
    0x2C, 0, 0, 0, 0, 0x30, 0x75, 0x30, 0x75, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3B,
  };
  g_autoptr (GBytes) big_gif = g_bytes_new_static (gif, sizeof gif);
  expect_error (big_gif, "big.gif", SIGLENS_DECODE_ERROR_TOO_LARGE,
                "big.gif: 30000x30000 is 900000000 pixels");

  /* JPEG: rocket.jpg with its frame header saying 60000x60000 */
  g_autofree char *rocket = test_data_path ("images/rocket.jpg");
  g_autofree gchar *jpeg = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (rocket, &jpeg, &len, NULL));
  gsize sof = 2;
  while ((guint8) jpeg[sof + 1] != 0xC0 && (guint8) jpeg[sof + 1] != 0xC2)
    sof += 2 + ((guint8) jpeg[sof + 2] << 8 | (guint8) jpeg[sof + 3]);
  const guint8 side[2] = { 60000 >> 8, 60000 & 0xFF };
  memcpy (jpeg + sof + 5, side, 2);
  memcpy (jpeg + sof + 7, side, 2);
  g_autoptr (GBytes) big_jpeg = g_bytes_new (jpeg, len);
  expect_error (big_jpeg, "big.jpg", SIGLENS_DECODE_ERROR_TOO_LARGE,
                "big.jpg: 60000x60000 is 3600000000 pixels");
}

/* A CMYK JPEG: its declared size checked before decoding, a truncated one refused (Pillow:
 * "image file is truncated"), the same through a file and from memory. */
static void
test_cmyk_jpeg (void)
{
  g_autofree char *path = test_data_path ("images/formats/jpeg-cmyk-adobe.jpg");
  g_autofree gchar *jpeg = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (path, &jpeg, &len, NULL));

  g_autoptr (GBytes) whole = g_bytes_new (jpeg, len);
  g_autoptr (GError) error = NULL;
  g_autoptr (SiglensRgbImage) from_memory = siglens_decode_bytes (whole, "cmyk.jpg", 0, &error);
  g_assert_no_error (error);
  g_autoptr (SiglensRgbImage) from_file = siglens_decode_file (path, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (from_memory->rgb, 32 * 24 * 3, from_file->rgb, 32 * 24 * 3);

  g_autoptr (GBytes) cut = g_bytes_new (jpeg, len - 200);
  expect_error (cut, "cut-cmyk.jpg", SIGLENS_DECODE_ERROR_CORRUPT,
                "cut-cmyk.jpg: the image is truncated (the JPEG ends before its EOI marker)");

  gsize sof = 2;
  while ((guint8) jpeg[sof + 1] != 0xC0)
    sof += 2 + ((guint8) jpeg[sof + 2] << 8 | (guint8) jpeg[sof + 3]);
  g_assert_cmpint ((guint8) jpeg[sof + 9], ==, 4); /* four components */
  const guint8 side[2] = { 60000 >> 8, 60000 & 0xFF };
  memcpy (jpeg + sof + 5, side, 2);
  memcpy (jpeg + sof + 7, side, 2);
  g_autoptr (GBytes) big = g_bytes_new (jpeg, len);
  expect_error (big, "big-cmyk.jpg", SIGLENS_DECODE_ERROR_TOO_LARGE,
                "big-cmyk.jpg: 60000x60000 is 3600000000 pixels");
}

/* A TIFF cut short (its strips past the end of the file) is refused, as Pillow refuses it,
 * not scored with the missing rows filled in. */
static void
test_truncated_tiff (void)
{
  g_autofree char *path = test_data_path ("images/formats/tiff-rgb-raw.tif");
  g_autofree gchar *data = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (path, &data, &len, NULL));
  /* Pillow writes the directory first, then the pixels: keep the directory, cut the pixels */
  g_autoptr (GBytes) cut = g_bytes_new (data, len - 600);
  g_autoptr (GError) error = NULL;
  g_assert_null (siglens_decode_bytes (cut, "cut.tif", 0, &error));
  g_test_message ("%s", error->message);
  g_assert_error (error, SIGLENS_DECODE_ERROR, SIGLENS_DECODE_ERROR_CORRUPT);
  g_assert_true (g_str_has_prefix (error->message, "cut.tif: "));
}

/* The bytes of tests/data/images/formats/<file>. (transfer full) */
static gchar *
read_format_file (const char *file, gsize *len)
{
  g_autofree char *rel = g_strconcat ("images/formats/", file, NULL);
  g_autofree char *path = test_data_path (rel);
  gchar *data = NULL;

  g_assert_true (g_file_get_contents (path, &data, len, NULL));
  return data;
}

/* GdkPixbuf's PNM loader fills the rows a short file lacks (and for a few bytes declaring
 * 9000x9000, all of them): each kind is refused as truncated from its declared size, as Pillow
 * refuses it ("image file is truncated"), whole files of each kind having been read in
 * /decode-formats/against-pillow. */
static void
test_truncated_pnm (void)
{
  const char *files[] = { "pnm-p6.ppm", "pnm-p5.pgm", "pnm-p4.pbm",
                          "pnm-p3.ppm", "pnm-p2.pgm", "pnm-p1.pbm" };
  for (gsize i = 0; i < G_N_ELEMENTS (files); i++)
    {
      gsize len;
      g_autofree gchar *data = read_format_file (files[i], &len);
      /* the plain kinds: a third of the samples gone; the binary ones: the last row's last byte */
      gsize keep = data[1] <= '3' ? len * 2 / 3 : len - 1;
      g_autoptr (GBytes) cut = g_bytes_new (data, keep);
      g_autofree char *fragment = g_strdup_printf ("%s: the image is truncated (the PNM needs",
                                                   files[i]);
      expect_error (cut, files[i], SIGLENS_DECODE_ERROR_CORRUPT, fragment);
    }
  static const char huge[] = "P6\n# no pixels\n9000 9000\n255\n";
  g_autoptr (GBytes) bytes = g_bytes_new_static (huge, sizeof huge - 1);
  expect_error (bytes, "huge.ppm", SIGLENS_DECODE_ERROR_CORRUPT,
                "huge.ppm: the image is truncated (the PNM needs 243000029 bytes, the file has 29)");
  static const char over[] = "P5 30000 30000 255\n";
  g_autoptr (GBytes) too_large = g_bytes_new_static (over, sizeof over - 1);
  expect_error (too_large, "over.pgm", SIGLENS_DECODE_ERROR_TOO_LARGE,
                "over.pgm: 30000x30000 is 900000000 pixels");
}

/* GdkPixbuf's ICO loader scores an icon whose data is cut short; Pillow says "not enough image
 * data". The icon Pillow reads is the largest: in ico-two-sizes.ico the 32x32 one, whose data
 * is last. A cursor, which Pillow reads by other rules, is refused by name. */
static void
test_truncated_ico (void)
{
  const char *files[] = { "ico-bmp.ico", "ico-bmp-rgba.ico", "ico-two-sizes.ico" };
  for (gsize i = 0; i < G_N_ELEMENTS (files); i++)
    {
      gsize len;
      g_autofree gchar *data = read_format_file (files[i], &len);
      g_autoptr (GBytes) cut = g_bytes_new (data, len - 1);
      g_autofree char *fragment = g_strdup_printf ("%s: the image is truncated (the ICO needs "
                                                   "%" G_GSIZE_FORMAT " bytes", files[i], len);
      expect_error (cut, files[i], SIGLENS_DECODE_ERROR_CORRUPT, fragment);
      if (i == 0)
        {
          data[2] = 2; /* ICONDIR type 2: a cursor */
          g_autoptr (GBytes) cursor = g_bytes_new (data, len);
          expect_error (cursor, "pointer.cur", SIGLENS_DECODE_ERROR_UNSUPPORTED,
                        "pointer.cur: CUR images are not supported");
        }
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Cancellation inside a decode */

/* A one-colour RGB PNG at zlib's best compression: the first 64 KB read holds about 20
 * megapixels, so a decode that looks at its cancellable only between reads runs through
 * nearly all of it. */
static char *
write_flat_png (const char *name, guint32 width, guint32 height)
{
  gsize row_len = 1 + (gsize) width * 3;
  g_autofree guint8 *row = g_malloc0 (row_len);
  memset (row + 1, 0x5a, row_len - 1);
  z_stream z = { 0 };
  g_assert_cmpint (deflateInit (&z, 9), ==, Z_OK);
  GByteArray *zdata = g_byte_array_new ();
  guint8 buf[65536];
  for (guint32 y = 0; y <= height; y++)
    {
      z.next_in = row;
      z.avail_in = y < height ? (uInt) row_len : 0;
      do
        {
          z.next_out = buf;
          z.avail_out = sizeof buf;
          deflate (&z, y < height ? Z_NO_FLUSH : Z_FINISH);
          g_byte_array_append (zdata, buf, (guint) (sizeof buf - z.avail_out));
        }
      while (z.avail_out == 0);
    }
  deflateEnd (&z);

  GByteArray *png = g_byte_array_new ();
  g_byte_array_append (png, (const guint8 *) "\x89PNG\r\n\x1a\n", 8);
  const guint8 ihdr[] = { 0, 0, 0, 13, 'I', 'H', 'D', 'R',
                          width >> 24, width >> 16, width >> 8, width,
                          height >> 24, height >> 16, height >> 8, height, 8, 2, 0, 0, 0 };
  g_byte_array_append (png, ihdr, sizeof ihdr);
  guint32 crc = (guint32) crc32 (0, ihdr + 4, sizeof ihdr - 4);
  const guint8 crc_be[4] = { crc >> 24, crc >> 16, crc >> 8, crc };
  g_byte_array_append (png, crc_be, 4);
  const guint8 idat_len[4] = { zdata->len >> 24, zdata->len >> 16, zdata->len >> 8, zdata->len };
  g_byte_array_append (png, idat_len, 4);
  g_byte_array_append (png, (const guint8 *) "IDAT", 4);
  g_byte_array_append (png, zdata->data, zdata->len);
  crc = (guint32) crc32 (crc32 (0, (const guint8 *) "IDAT", 4), zdata->data, zdata->len);
  const guint8 crc2[4] = { crc >> 24, crc >> 16, crc >> 8, crc };
  g_byte_array_append (png, crc2, 4);
  const guint8 iend[] = { 0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82 };
  g_byte_array_append (png, iend, sizeof iend);
  g_byte_array_unref (zdata);

  char *path = test_out_path (name);
  g_assert_true (g_file_set_contents (path, (const char *) png->data, png->len, NULL));
  g_test_message ("%s: %ux%u in %u bytes", name, width, height, png->len);
  g_byte_array_unref (png);
  return path;
}

/* What the decoder's piece hook saw of one decode. */
typedef struct {
  GMutex lock;
  GCond cond;
  guint64 cancel_at;         /* the hook cancels once this many pixels are decoded; 0: never */
  gboolean wait_for_cancel;  /* once rows come, the hook waits for someone else to cancel */
  gboolean decoding;         /* rows have come */
  guint64 pixels;            /* decoded, at the last piece */
  guint64 pixels_at_cancel;  /* decoded at the piece that saw the cancel; G_MAXUINT64 before */
  guint pieces_after_cancel; /* pieces the loader took after that: a decode that stops has none */
} PieceWatch;

static void
watch_piece (GCancellable *cancellable, guint64 decoded, gpointer user_data)
{
  PieceWatch *w = user_data;

  g_mutex_lock (&w->lock);
  w->pixels = decoded;
  if (w->pixels_at_cancel != G_MAXUINT64)
    w->pieces_after_cancel++;
  else
    {
      if (w->cancel_at != 0 && decoded >= w->cancel_at)
        g_cancellable_cancel (cancellable);
      else if (w->wait_for_cancel && decoded > 0)
        {
          w->decoding = TRUE;
          g_cond_broadcast (&w->cond);
          /* the cancel comes from the prefetcher, which does not know our cond: looked at
           * every millisecond; a cancel that never reaches the decode fails the test after a
           * minute instead of hanging it */
          gint64 give_up = g_get_monotonic_time () + G_TIME_SPAN_MINUTE;
          while (!g_cancellable_is_cancelled (cancellable) && g_get_monotonic_time () < give_up)
            g_cond_wait_until (&w->cond, &w->lock, g_get_monotonic_time () + G_TIME_SPAN_MILLISECOND);
        }
      if (g_cancellable_is_cancelled (cancellable))
        w->pixels_at_cancel = decoded;
    }
  g_mutex_unlock (&w->lock);
}

static void
piece_watch_init (PieceWatch *w)
{
  memset (w, 0, sizeof *w);
  g_mutex_init (&w->lock);
  g_cond_init (&w->cond);
  w->pixels_at_cancel = G_MAXUINT64;
  siglens_decode_set_piece_hook (watch_piece, w);
}

static void
piece_watch_clear (PieceWatch *w)
{
  siglens_decode_set_piece_hook (NULL, NULL);
  g_mutex_clear (&w->lock);
  g_cond_clear (&w->cond);
}

/* The app's worker cancels the decode of an image superseded by the next one: it must stop at
 * the next piece it would feed the loader, and the piece in progress is small, not the 64 KB
 * that was read. Counted in pixels the loader reported, not timed. */
static void
test_cancel_inside_decode (void)
{
  const guint64 total = 6000 * 4000;
  g_autofree char *path = write_flat_png ("decode-formats/flat-24mp.png", 6000, 4000);
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GError) error = NULL;
  PieceWatch w;

  /* uncancelled, the hook sees every pixel */
  piece_watch_init (&w);
  g_autoptr (SiglensRgbImage) whole = siglens_decode_gfile (file, NULL, 0, &error);
  g_assert_no_error (error);
  g_assert_cmpint (whole->width, ==, 6000);
  g_assert_cmpint (whole->rgb[3 * (total - 1)], ==, 0x5a);
  g_assert_cmpuint (w.pixels, ==, total);
  g_assert_cmpuint (w.pixels_at_cancel, ==, G_MAXUINT64);
  piece_watch_clear (&w);

  /* cancelled when 40% is decoded: no piece after it, and the one it came in was small
   * (pieces shrink to about 1 megapixel; the first 64 KB read holds ~80% of the rows, so a
   * decoder that looked only between reads would be far past it) */
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  piece_watch_init (&w);
  w.cancel_at = total * 2 / 5;
  g_autoptr (SiglensRgbImage) cut = siglens_decode_gfile (file, cancellable, 0, &error);
  g_assert_null (cut);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_test_message ("cancel asked at %" G_GUINT64_FORMAT " pixels, seen at %" G_GUINT64_FORMAT,
                  w.cancel_at, w.pixels_at_cancel);
  g_assert_cmpuint (w.pixels_at_cancel, >=, w.cancel_at);
  g_assert_cmpuint (w.pixels_at_cancel, <, w.cancel_at + 2 * 1024 * 1024);
  g_assert_cmpuint (w.pieces_after_cancel, ==, 0);
  piece_watch_clear (&w);

  /* cancelled before it starts: nothing is read */
  piece_watch_init (&w);
  g_autoptr (SiglensRgbImage) early = siglens_decode_gfile (file, cancellable, 0, &error);
  g_assert_null (early);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_cmpuint (w.pixels, ==, 0);
  piece_watch_clear (&w);

  /* The batch's prefetcher (CLI, bench, the app's folder view) stops the decode it is in as
   * well, instead of finishing the image first: freed while its thread is inside the rows. */
  g_autofree char *model_dir = test_data_path ("tiny-siglip2-naflex");
  siglip_model *model = siglip_model_load (model_dir, NULL, NULL);
  g_assert_nonnull (model);
  const char *paths[] = { path };
  piece_watch_init (&w);
  w.wait_for_cancel = TRUE;
  SiglensPrefetch *prefetch = siglens_prefetch_new (model, paths, 1, 0, 1, 0);
  g_mutex_lock (&w.lock);
  while (!w.decoding)
    g_cond_wait (&w.cond, &w.lock);
  g_mutex_unlock (&w.lock);
  siglens_prefetch_free (prefetch); /* cancels, then joins its thread */
  g_assert_cmpuint (w.pixels_at_cancel, <, total);
  g_assert_cmpuint (w.pieces_after_cancel, ==, 0);
  piece_watch_clear (&w);
  siglip_model_free (model);
  g_remove (path);
}

/* ------------------------------------------------------------------------------------------ */
/* What the CLI says */

static void
test_cli_names_the_format (void)
{
  g_autofree char *model = test_data_path ("tiny-siglip2-naflex");
  g_autofree char *svg = test_data_path ("images/formats/drawing.svg");
  g_autofree char *gray16 = test_data_path ("images/formats/png-gray16.png");
  g_autofree char *alpha = test_data_path ("images/formats/tiff-rgba.tif");
  g_autofree char *cmyk = test_data_path ("images/formats/jpeg-cmyk-adobe.jpg");
  g_autofree char *tiff = test_data_path ("images/formats/tiff-rgb-lzw.tif");
  const char *args[] = { "classify", "--model", model, "--labels", "cat, dog", "--json",
                         svg, gray16, alpha, cmyk, tiff, NULL };
  TestRun r = test_run_cli (args, NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "drawing.svg: SVG images are not supported"));
  g_assert_nonnull (strstr (r.err, "png-gray16.png: 16-bit grayscale PNG images are not "
                                   "supported"));
  g_assert_nonnull (strstr (r.err, "tiff-rgba.tif: TIFF images with an alpha channel are not "
                                   "supported"));
  g_assert_nonnull (strstr (r.err, "3 of 5 images failed"));
  /* the CMYK JPEG and the TIFF are scored */
  g_auto (GStrv) lines = g_strsplit (g_strchomp (r.out), "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 5);
  g_assert_nonnull (strstr (lines[3], "jpeg-cmyk-adobe.jpg"));
  g_assert_nonnull (strstr (lines[3], "\"cat\""));
  g_assert_nonnull (strstr (lines[4], "tiff-rgb-lzw.tif"));
  g_assert_nonnull (strstr (lines[4], "\"cat\""));
  test_run_clear (&r);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/decode-formats/against-pillow", test_against_pillow);
  g_test_add_func ("/decode-formats/svg-whatever-loaders", test_svg_whatever_loaders);
  g_test_add_func ("/decode-formats/declared-sizes", test_declared_sizes);
  g_test_add_func ("/decode-formats/cmyk-jpeg", test_cmyk_jpeg);
  g_test_add_func ("/decode-formats/truncated-tiff", test_truncated_tiff);
  g_test_add_func ("/decode-formats/truncated-pnm", test_truncated_pnm);
  g_test_add_func ("/decode-formats/truncated-ico", test_truncated_ico);
  g_test_add_func ("/decode-formats/cancel-inside-decode", test_cancel_inside_decode);
  g_test_add_func ("/decode-formats/cli-names-the-format", test_cli_names_the_format);
  return g_test_run ();
}
