/* SPDX-License-Identifier: GPL-3.0-or-later */
/* siglens-cli preprocess, run as a user would: files in, float32 file and a JSON line out. */
#include <string.h>
#include <sys/wait.h>

#include <glib/gstdio.h>

#include "test-util.h"

/* Runs `siglens-cli preprocess ARGS...`. */
static TestRun
run_preprocess (const char *const *args)
{
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) "preprocess");
  for (; *args; args++)
    g_ptr_array_add (argv, (gpointer) *args);
  g_ptr_array_add (argv, NULL);
  return test_run_cli ((const char *const *) argv->pdata, NULL);
}

static const cJSON *
preprocess_case (const char *set, const char *id)
{
  const cJSON *pre = cJSON_GetObjectItemCaseSensitive (test_manifest (), "preprocess");
  const cJSON *cases = cJSON_GetObjectItemCaseSensitive (
    cJSON_GetObjectItemCaseSensitive (pre, set), "cases");
  const cJSON *c;
  cJSON_ArrayForEach (c, cases)
    if (g_str_equal (cJSON_GetObjectItemCaseSensitive (c, "image")->valuestring, id))
      return c;
  g_error ("no %s case for %s", set, id);
  return NULL;
}

/* Runs the CLI on a fixture image; returns the written floats and the parsed JSON line. */
static float *
preprocess (const char *model, const char *image_id, const char *max_patches, gsize *n_out,
            cJSON **json_out)
{
  g_autofree char *model_dir = test_data_path (model);
  const cJSON *image = test_manifest_image (image_id);
  g_autofree char *image_path =
    test_data_path (cJSON_GetObjectItemCaseSensitive (image, "file")->valuestring);
  g_autofree char *name = g_strdup_printf ("cli-preprocess/%s-%s.f32", model, image_id);
  g_autofree char *out_path = test_out_path (name);
  g_remove (out_path);

  const char *args[] = { "--model", model_dir, "--out", out_path, image_path,
                         max_patches ? "--max-patches" : NULL, max_patches, NULL };
  TestRun r = run_preprocess (args);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpstr (r.err, ==, "");

  /* One JSON line. */
  g_assert_true (g_str_has_suffix (r.out, "}\n"));
  g_assert_true (strchr (r.out, '\n') == r.out + strlen (r.out) - 1);
  cJSON *json = cJSON_Parse (r.out);
  g_assert_nonnull (json);
  g_assert_cmpstr (cJSON_GetObjectItemCaseSensitive (json, "image")->valuestring, ==, image_path);
  test_run_clear (&r);

  gchar *data;
  gsize len;
  g_autoptr (GError) error = NULL;
  g_file_get_contents (out_path, &data, &len, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (len % sizeof (float), ==, 0);
  *n_out = len / sizeof (float);
  *json_out = json;
  return (float *) data;
}

static void
test_naflex_golden (void)
{
  gsize n;
  cJSON *json;
  g_autofree float *values = preprocess ("tiny-siglip2-naflex", "chelsea", NULL, &n, &json);
  const cJSON *c = preprocess_case ("naflex_p16_n256", "chelsea");
  g_assert_cmpint (test_json_int (json, "resized", 0), ==, test_json_int (c, "target_hw", 1));
  g_assert_cmpint (test_json_int (json, "resized", 1), ==, test_json_int (c, "target_hw", 0));
  g_assert_cmpint (test_json_int (json, "spatial_shape", 0), ==, test_json_int (c, "spatial_shape", 0));
  g_assert_cmpint (test_json_int (json, "spatial_shape", 1), ==, test_json_int (c, "spatial_shape", 1));
  g_assert_cmpint (test_json_int (json, "num_valid_patches", -1), ==, test_json_int (c, "num_valid_patches", -1));
  g_assert_cmpint (test_json_int (json, "max_patches", -1), ==, 256);
  g_assert_cmpint (test_json_int (json, "original", 0), ==, 451);

  /* Only the valid rows are written, bit-exact to the reference's pixel_values. */
  gsize n_golden;
  g_autofree float *golden =
    test_golden_f32 (cJSON_GetObjectItemCaseSensitive (c, "pixel_values"), &n_golden);
  g_assert_cmpuint (n, ==, n_golden);
  g_assert_cmpmem (values, n * sizeof (float), golden, n_golden * sizeof (float));
  cJSON_Delete (json);
}

static void
test_naflex_from_resized (void)
{
  /* The EXIF-rotated JPEG: patches rebuilt from the golden resized_u8 with u8/127.5f - 1.0f in
   * (row, col, channel) order — bit-exact since the decode matches the reference. */
  gsize n;
  cJSON *json;
  g_autofree float *values =
    preprocess ("tiny-siglip2-naflex-bf16-sharded", "exif_rot6_320x240", NULL, &n, &json);
  const cJSON *c = preprocess_case ("naflex_p16_n256", "exif_rot6_320x240");
  int rows = test_json_int (c, "spatial_shape", 0), cols = test_json_int (c, "spatial_shape", 1);
  int width = cols * 16;
  g_assert_cmpint (test_json_int (json, "original", 0), ==, 240);
  g_assert_cmpint (test_json_int (json, "original", 1), ==, 320);
  g_assert_cmpuint (n, ==, (gsize) rows * cols * 768);
  g_autofree guint8 *u8 =
    test_golden_u8 (cJSON_GetObjectItemCaseSensitive (c, "resized_u8"), NULL);
  g_autofree float *expected = g_new (float, n);
  for (int r = 0; r < rows; r++)
    for (int col = 0; col < cols; col++)
      for (int py = 0; py < 16; py++)
        for (int px = 0; px < 16; px++)
          for (int ch = 0; ch < 3; ch++)
            expected[(r * cols + col) * 768 + (py * 16 + px) * 3 + ch] =
              u8[((r * 16 + py) * width + col * 16 + px) * 3 + ch] / 127.5f - 1.0f;
  test_assert_close ("exif_rot6 patches", values, expected, n, 0.0, 0.0);
  cJSON_Delete (json);
}

static void
test_fixres_golden (void)
{
  gsize n;
  cJSON *json;
  g_autofree float *values = preprocess ("tiny-siglip-fixres", "large_3000x2000", NULL, &n, &json);
  g_assert_cmpint (test_json_int (json, "resized", 0), ==, 64);
  g_assert_cmpint (test_json_int (json, "spatial_shape", 0), ==, 4);
  g_assert_cmpint (test_json_int (json, "num_valid_patches", -1), ==, 16);
  g_assert_cmpuint (n, ==, 16 * 768);

  /* golden [3, 64, 64]; the CLI writes Conv2d patches: (r, c) then (channel, row, col). */
  const cJSON *c = preprocess_case ("fixres_64x64", "large_3000x2000");
  g_autofree float *golden =
    test_golden_f32 (cJSON_GetObjectItemCaseSensitive (c, "pixel_values"), NULL);
  g_autofree float *expected = g_new (float, n);
  for (int r = 0; r < 4; r++)
    for (int col = 0; col < 4; col++)
      for (int ch = 0; ch < 3; ch++)
        for (int py = 0; py < 16; py++)
          for (int px = 0; px < 16; px++)
            expected[(r * 4 + col) * 768 + ch * 256 + py * 16 + px] =
              golden[ch * 4096 + (r * 16 + py) * 64 + col * 16 + px];
  test_assert_close ("fixres large_3000x2000", values, expected, n, 0.0, 0.0);
  cJSON_Delete (json);
}

static void
test_max_patches (void)
{
  gsize n;
  cJSON *json;
  g_autofree float *values = preprocess ("tiny-siglip2-naflex", "chelsea", "576", &n, &json);
  /* 451x300 at 576 patches -> 464x304 (reference's get_image_size_for_max_num_patches) */
  g_assert_cmpint (test_json_int (json, "resized", 0), ==, 464);
  g_assert_cmpint (test_json_int (json, "resized", 1), ==, 304);
  g_assert_cmpint (test_json_int (json, "num_valid_patches", -1), ==, 19 * 29);
  g_assert_cmpint (test_json_int (json, "max_patches", -1), ==, 576);
  g_assert_cmpuint (n, ==, 19 * 29 * 768);
  cJSON_Delete (json);
}

static void
expect_failure (const char *const *args, int status, const char *fragment)
{
  TestRun r = run_preprocess (args);
  g_assert_cmpint (r.status, ==, status);
  g_assert_cmpstr (r.out, ==, "");
  if (!strstr (r.err, fragment))
    g_error ("stderr '%s' lacks '%s'", r.err, fragment);
  test_run_clear (&r);
}

static void
test_errors (void)
{
  g_autofree char *model = test_data_path ("tiny-siglip2-naflex");
  g_autofree char *image = test_data_path ("images/chelsea.png");
  g_autofree char *out = test_out_path ("cli-preprocess/error.f32");
  g_autofree char *missing = test_out_path ("cli-preprocess/missing.png");
  g_autofree char *empty = test_out_path ("cli-preprocess/empty.jpg");
  g_assert_true (g_file_set_contents (empty, "", 0, NULL));
  /* under a regular file, so no directory can be created there */
  g_autofree char *no_dir = g_build_filename (empty, "x.f32", NULL);

  expect_failure ((const char *[]){ "--model", model, "--out", out, missing, NULL }, 1,
                  "missing.png");
  expect_failure ((const char *[]){ "--model", model, "--out", out, empty, NULL }, 1,
                  "empty.jpg: there is no data");
  expect_failure ((const char *[]){ "--model", "/nonexistent-model-dir", "--out", out, image,
                                    NULL }, 1, "/nonexistent-model-dir");
  expect_failure ((const char *[]){ "--model", model, "--out", no_dir, image, NULL }, 1,
                  "x.f32: cannot create");
  expect_failure ((const char *[]){ "--model", model, "--out", out, "--max-patches", "0", image,
                                    NULL }, 2, "--max-patches");
  expect_failure ((const char *[]){ "--model", model, "--out", out, "--max-patches", "12x",
                                    image, NULL }, 2, "'12x'");
  expect_failure ((const char *[]){ "--model", model, image, NULL }, 2, "required");
  expect_failure ((const char *[]){ "--model", model, "--out", out, "--bogus", image, NULL }, 2,
                  "--bogus");
}

/* A write that fails half way (here: a 4 KB file size limit, as a full disk would) leaves the
 * earlier output untouched and no partial or temporary file behind. */
static void
test_failed_write_leaves_old_file (void)
{
  g_autofree char *model = test_data_path ("tiny-siglip2-naflex");
  g_autofree char *image = test_data_path ("images/chelsea.png");
  g_autofree char *dir = test_out_path ("cli-preprocess/atomic");
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_autofree char *out = g_build_filename (dir, "patches.f32", NULL);
  g_assert_true (g_file_set_contents (out, "old contents", -1, NULL));

  /* SIGXFSZ ignored (inherited through exec), so the write fails with EFBIG instead */
  const char *script = "trap '' XFSZ; ulimit -f 4; exec \"$0\" preprocess --model \"$1\" "
                       "--out \"$2\" \"$3\"";
  const char *argv[] = { "sh", "-c", script, g_getenv ("SIGLENS_CLI"), model, out, image, NULL };
  g_autofree char *out_text = NULL, *err_text = NULL;
  int wait_status = 0;
  g_autoptr (GError) error = NULL;
  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out_text, &err_text,
                &wait_status, &error);
  g_assert_no_error (error);
  g_test_message ("stderr: %s", err_text);
  g_assert_true (WIFEXITED (wait_status));
  g_assert_cmpint (WEXITSTATUS (wait_status), ==, 1);
  g_assert_nonnull (strstr (err_text, "patches.f32: cannot create"));

  g_autofree char *contents = NULL;
  g_assert_true (g_file_get_contents (out, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "old contents");
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *entry;
  int n = 0;
  while ((entry = g_dir_read_name (d)))
    {
      g_test_message ("left in the directory: %s", entry);
      n++;
    }
  g_assert_cmpint (n, ==, 1);

  /* and without the limit the file is replaced whole */
  const char *ok[] = { "--model", model, "--out", out, image, NULL };
  TestRun r = run_preprocess (ok);
  g_assert_cmpint (r.status, ==, 0);
  test_run_clear (&r);
  gsize len = 0;
  g_clear_pointer (&contents, g_free);
  g_assert_true (g_file_get_contents (out, &contents, &len, NULL));
  g_assert_cmpuint (len % (16 * 16 * 3 * 4), ==, 0); /* whole patches of 16x16x3 floats */
  g_assert_cmpuint (len, >, 4096);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cli-preprocess/naflex-golden", test_naflex_golden);
  g_test_add_func ("/cli-preprocess/naflex-from-resized", test_naflex_from_resized);
  g_test_add_func ("/cli-preprocess/fixres-golden", test_fixres_golden);
  g_test_add_func ("/cli-preprocess/max-patches", test_max_patches);
  g_test_add_func ("/cli-preprocess/errors", test_errors);
  g_test_add_func ("/cli-preprocess/failed-write-leaves-old-file", test_failed_write_leaves_old_file);
  return g_test_run ();
}
