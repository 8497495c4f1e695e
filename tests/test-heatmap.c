/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * "Where it looked": the pooling head's probe attention over the valid patches, mean over heads,
 * against the goldens of golden/heatmap/tiny-siglip2-naflex (13 images: square, odd and long
 * grids, JPEG, EXIF, alpha; float64 reference rounded to float32, compared within 1e-5 absolute
 * as FIXTURES.md says), on the 1x256 and 256x1 grids (shape and sums: no golden exists), the
 * overlay's colours and size, and `siglens-cli heatmap` writing STEM.f32 and STEM.png.
 */
#include <glib/gstdio.h>
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <math.h>
#include <string.h>

#include "siglens-decode.h"
#include "siglens-overlay.h"
#include "test-util.h"

#define MODEL   "tiny-siglip2-naflex"
#define MAP_ABS 1e-5

static siglip_model *model;
static siglip_state *state;

static cJSON *
heatmap_index (void)
{
  g_autofree char *path = test_data_path ("golden/heatmap/" MODEL "/index.json");
  g_autofree char *text = NULL;
  cJSON *index;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  index = cJSON_Parse (text);
  g_assert_nonnull (index);
  return index;
}

static siglip_attention_map *
map_of_file (const char *path, float *embedding)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SiglensRgbImage) rgb = siglens_decode_file (path, 0, &error);
  siglip_error *err = NULL;
  siglip_attention_map *map = NULL;

  g_assert_no_error (error);
  siglip_image image = { rgb->rgb, rgb->width, rgb->height, rgb->stride };
  g_autofree float *own = embedding ? NULL : g_new (float, siglip_model_embed_dim_vision (model));

  if (!siglip_encode_image_attention (state, &image, NULL, embedding ? embedding : own, &map,
                                      &err))
    g_error ("%s: %s", path, err->message);
  return map;
}

/* A mean of softmaxes: every patch weighs something, and the weights add up to one. */
static void
assert_sums_to_one (const siglip_attention_map *map)
{
  const int n = map->rows * map->cols;
  double total = 0.;

  for (int j = 0; j < n; j++)
    {
      g_assert_cmpfloat (map->weights[j], >, 0.f);
      g_assert_cmpfloat (map->weights[j], <, 1.f);
      total += map->weights[j];
    }
  g_assert_cmpfloat_with_epsilon (total, 1., 1e-5);
}

static void
test_goldens (void)
{
  cJSON *index = heatmap_index ();
  const cJSON *entry;
  guint n_images = 0;

  cJSON_ArrayForEach (entry, cJSON_GetObjectItem (index, "images"))
    {
      const cJSON *shape = cJSON_GetObjectItem (entry, "spatial_shape");
      g_autofree char *path = test_data_path (cJSON_GetObjectItem (entry, "file")->valuestring);
      g_autofree float *heads = NULL;
      g_autofree float *mean = NULL;
      g_autofree char *what = NULL;
      siglip_attention_map *map = map_of_file (path, NULL);
      gsize n_heads, n_mean;
      int n_heads_rows;

      heads = test_golden_f32 (cJSON_GetObjectItem (entry, "heads"), &n_heads);
      mean = test_golden_f32 (cJSON_GetObjectItem (entry, "mean"), &n_mean);

      /* The map's dimensions are the spatial shape. */
      g_assert_cmpint (map->rows, ==, cJSON_GetArrayItem (shape, 0)->valueint);
      g_assert_cmpint (map->cols, ==, cJSON_GetArrayItem (shape, 1)->valueint);
      n_heads_rows = test_json_int (cJSON_GetObjectItem (entry, "heads"), "shape", 0);
      g_assert_cmpuint (n_heads, ==, (gsize) n_heads_rows * map->rows * map->cols);
      g_assert_cmpuint (n_mean, ==, (gsize) map->rows * map->cols);

      /* The golden mean is the mean of the golden heads: what the map is averaged from. */
      for (gsize j = 0; j < n_mean; j++)
        {
          double m = 0.;

          for (int h = 0; h < n_heads_rows; h++)
            m += heads[h * n_mean + j];
          g_assert_cmpfloat_with_epsilon (m / n_heads_rows, mean[j], 1e-6);
        }
      what = g_strdup_printf ("%s mean", cJSON_GetObjectItem (entry, "image")->valuestring);
      test_assert_close (what, map->weights, mean, n_mean, MAP_ABS, 0.);
      assert_sums_to_one (map);

      /* The hottest patch is the reference's. */
      {
        int best = 0;

        for (int j = 1; j < map->rows * map->cols; j++)
          if (map->weights[j] > map->weights[best])
            best = j;
        g_assert_cmpint (best / map->cols, ==,
                         test_json_int (entry, "argmax_rc", 0));
        g_assert_cmpint (best % map->cols, ==,
                         test_json_int (entry, "argmax_rc", 1));
      }
      siglip_attention_map_free (map);
      n_images++;
    }
  g_assert_cmpuint (n_images, ==, 13);
  cJSON_Delete (index);
}

/* The embedding of the map's pass is the one siglip_encode_image gives. */
static void
test_same_embedding (void)
{
  g_autofree char *path = test_data_path ("images/chelsea.png");
  g_autoptr (SiglensRgbImage) rgb = siglens_decode_file (path, 0, NULL);
  const int dim = siglip_model_embed_dim_vision (model);
  g_autofree float *plain = g_new (float, dim);
  g_autofree float *with_map = g_new (float, dim);
  siglip_image image = { rgb->rgb, rgb->width, rgb->height, rgb->stride };
  siglip_attention_map *map;
  siglip_error *err = NULL;

  g_assert_true (siglip_encode_image (state, &image, NULL, plain, NULL, &err));
  map = map_of_file (path, with_map);
  g_assert_cmpmem (plain, dim * sizeof (float), with_map, dim * sizeof (float));
  siglip_attention_map_free (map);
}

/* 4096x16 and 16x4096 pixels are exactly 256 patches in one row or one column. */
static void
test_long_grids (void)
{
  const struct { int width, height, rows, cols; } cases[] = {
    { 4096, 16, 1, 256 },
    { 16, 4096, 256, 1 },
    { 250, 250, 16, 16 },
    { 333, 180, 12, 21 },
  };

  for (gsize c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      const int w = cases[c].width, h = cases[c].height;
      g_autofree guint8 *rgb = g_malloc ((gsize) w * h * 3);
      siglip_image image = { rgb, w, h, (size_t) w * 3 };
      siglip_attention_map *map = NULL;
      siglip_error *err = NULL;
      int shape[2];
      g_autofree float *emb = g_new (float, siglip_model_embed_dim_vision (model));

      /* A gradient with a bright square, so the patches differ. */
      for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
          {
            guint8 *p = rgb + ((gsize) y * w + x) * 3;
            gboolean spot = abs (x - w / 3) < 24 && abs (y - h / 3) < 24;

            p[0] = spot ? 255 : (guint8) (x * 255 / w);
            p[1] = spot ? 255 : (guint8) (y * 255 / h);
            p[2] = (guint8) ((x + y) & 0xff);
          }
      g_assert_true (siglip_encode_image (state, &image, NULL, emb, shape, &err));
      g_assert_true (siglip_encode_image_attention (state, &image, NULL, emb, &map, &err));
      g_assert_null (err);
      g_test_message ("%dx%d pixels: %dx%d patches", w, h, map->rows, map->cols);
      g_assert_cmpint (map->rows, ==, cases[c].rows);
      g_assert_cmpint (map->cols, ==, cases[c].cols);
      g_assert_cmpint (map->rows, ==, shape[0]);
      g_assert_cmpint (map->cols, ==, shape[1]);
      assert_sums_to_one (map);
      siglip_attention_map_free (map);
    }
}

/* The colour map gets lighter from one end to the other (what makes it readable in grey and
 * to colour-blind eyes), and the overlay is the image's size. */
static void
test_overlay (void)
{
  const float map[6] = { 0.f, 0.1f, 0.2f, 0.3f, 0.4f, 0.5f };
  g_autoptr (GdkPixbuf) image = gdk_pixbuf_new (GDK_COLORSPACE_RGB, TRUE, 8, 300, 97);
  g_autoptr (GdkPixbuf) out = NULL;
  g_autoptr (GdkPixbuf) heat = NULL;
  double previous = -1.;
  guint8 rgb[3];

  for (int i = 0; i <= 100; i++)
    {
      double l;

      siglens_overlay_viridis (i / 100., rgb);
      l = 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2];
      g_assert_cmpfloat (l, >, previous);
      previous = l;
    }
  siglens_overlay_viridis (1., rgb);
  g_assert_cmpmem (rgb, 3, "\xfd\xe7\x25", 3);

  gdk_pixbuf_fill (image, 0x808080ff);
  out = siglens_overlay_blend (image, map, 2, 3, 0.5);
  g_assert_cmpint (gdk_pixbuf_get_width (out), ==, 300);
  g_assert_cmpint (gdk_pixbuf_get_height (out), ==, 97);
  /* Bilinear between patch centres: the bottom-right corner is the hottest (yellow), the
   * top-left the coldest. */
  heat = siglens_overlay_render_map (map, 2, 3, 300, 97);
  {
    const guint8 *p = gdk_pixbuf_read_pixels (heat);
    int stride = gdk_pixbuf_get_rowstride (heat);
    const guint8 *last = p + 96 * stride + 299 * 3;

    g_assert_cmpmem (last, 3, "\xfd\xe7\x25", 3);
    g_assert_cmpmem (p, 3, "\x44\x01\x54", 3);
    /* 50% over grey 128: (128 + 0xfd) / 2 */
    g_assert_cmpint (gdk_pixbuf_read_pixels (out)[96 * gdk_pixbuf_get_rowstride (out) + 299 * 3],
                     ==, (128 + 0xfd + 1) / 2);
  }
}

static void
test_cli (void)
{
  g_autofree char *model_dir = test_data_path (MODEL);
  g_autofree char *out = test_out_path ("heatmap-cli");
  g_autofree char *chelsea = test_data_path ("images/chelsea.png");
  g_autofree char *exif = test_data_path ("images/exif_rot6_320x240.jpg");
  g_autofree char *golden_path = test_data_path ("golden/heatmap/" MODEL "/chelsea.mean.f32");
  g_autofree char *f32 = g_build_filename (out, "chelsea.f32", NULL);
  g_autofree char *png = g_build_filename (out, "chelsea.png", NULL);
  g_autofree char *exif_png = g_build_filename (out, "exif_rot6_320x240.png", NULL);
  g_autofree char *exif_f32 = g_build_filename (out, "exif_rot6_320x240.f32", NULL);
  g_autofree char *data = NULL;
  g_autofree char *golden = NULL;
  gsize length, golden_length;
  int w, h;
  TestRun run;

  g_remove (f32);
  g_remove (png);
  run = test_run_cli (TEST_ARGS ("heatmap", "--model", model_dir, "--out", out, chelsea, exif),
                      NULL);
  g_assert_cmpint (run.status, ==, 0);
  test_run_clear (&run);

  /* [rows, cols] float32, row-major: the golden mean. */
  g_assert_true (g_file_get_contents (f32, &data, &length, NULL));
  g_assert_true (g_file_get_contents (golden_path, &golden, &golden_length, NULL));
  g_assert_cmpuint (length, ==, golden_length);
  g_assert_cmpuint (length, ==, 13 * 19 * sizeof (float));
  test_assert_close ("chelsea.f32", (const float *) data, (const float *) golden,
                     length / sizeof (float), MAP_ABS, 0.);

  /* The overlay is the image's display size: chelsea's, and the EXIF-rotated photo's upright
   * 240x320, not the 320x240 stored. */
  g_assert_nonnull (gdk_pixbuf_get_file_info (png, &w, &h));
  g_assert_cmpint (w, ==, 451);
  g_assert_cmpint (h, ==, 300);
  g_assert_nonnull (gdk_pixbuf_get_file_info (exif_png, &w, &h));
  g_assert_cmpint (w, ==, 240);
  g_assert_cmpint (h, ==, 320);
  g_assert_true (g_file_test (exif_f32, G_FILE_TEST_IS_REGULAR));

  /* Errors say what was wrong. */
  run = test_run_cli (TEST_ARGS ("heatmap", "--model", model_dir, chelsea), NULL);
  g_assert_cmpint (run.status, ==, 2);
  g_assert_nonnull (strstr (run.err, "--out DIR is required"));
  test_run_clear (&run);
  run = test_run_cli (TEST_ARGS ("heatmap", "--model", model_dir, "--out", out, "/nonexistent.png"),
                      NULL);
  g_assert_cmpint (run.status, ==, 1);
  g_assert_nonnull (strstr (run.err, "/nonexistent.png"));
  test_run_clear (&run);
}

int
main (int argc, char **argv)
{
  g_autofree char *dir = NULL;
  siglip_error *err = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  dir = test_data_path (MODEL);
  model = siglip_model_load (dir, NULL, &err);
  g_assert_nonnull (model);
  state = siglip_state_new (model, &err);
  g_assert_nonnull (state);

  g_test_add_func ("/heatmap/goldens", test_goldens);
  g_test_add_func ("/heatmap/same-embedding", test_same_embedding);
  g_test_add_func ("/heatmap/long-grids", test_long_grids);
  g_test_add_func ("/heatmap/overlay", test_overlay);
  g_test_add_func ("/heatmap/cli", test_cli);

  status = g_test_run ();
  siglip_state_free (state);
  siglip_model_free (model);
  return status;
}
