/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test-cli-info: `siglens-cli info MODEL [--json]` as a user runs it, on the three fixtures,
 * on a model found by Hub id in an HF-cache-shaped directory, and on broken input.
 */
#include <stdbool.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "gemm.h"
#include "test-util.h"


static void
assert_contains (const char *haystack, const char *needle)
{
  if (!strstr (haystack, needle))
    g_error ("output does not contain \"%s\":\n%s", needle, haystack);
}

static gint64
json_int (const cJSON *obj, const char *key)
{
  const cJSON *v = cJSON_GetObjectItem (obj, key);
  if (!cJSON_IsNumber (v))
    g_error ("JSON has no number \"%s\"", key);
  return (gint64) v->valuedouble;
}

static gint64
file_size (const char *dir, const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  GStatBuf st;
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  return (gint64) st.st_size;
}

/* The JSON of `info --json` against the manifest and the files on disk. */
static void
check_json (const char *json_text, const char *fixture, const char *directory)
{
  const cJSON *manifest = test_manifest_model (fixture);
  g_autofree char *dir = test_data_path (fixture);
  cJSON *o = cJSON_Parse (json_text);
  g_assert_nonnull (o);
  g_assert_cmpstr (cJSON_GetObjectItem (o, "directory")->valuestring, ==, directory);
  g_assert_cmpstr (cJSON_GetObjectItem (o, "model_type")->valuestring, ==,
                   cJSON_GetObjectItem (manifest, "kind")->valuestring);
  g_assert_cmpstr (cJSON_GetObjectItem (o, "file_dtype")->valuestring, ==,
                   cJSON_GetObjectItem (manifest, "weights_dtype")->valuestring);
  gint64 D = json_int (manifest, "hidden_size");
  const cJSON *text = cJSON_GetObjectItem (o, "text");
  const cJSON *vision = cJSON_GetObjectItem (o, "vision");
  g_assert_cmpint (json_int (vision, "hidden_size"), ==, D);
  g_assert_cmpint (json_int (text, "hidden_size"), ==, D);
  g_assert_cmpint (json_int (text, "num_layers"), ==, 2);
  g_assert_cmpint (json_int (vision, "num_layers"), ==, 2);
  g_assert_cmpint (json_int (text, "num_heads"), ==, 2);
  g_assert_cmpint (json_int (text, "vocab_size"), ==, 256000);
  g_assert_cmpint (json_int (text, "max_position_embeddings"), ==, 64);
  g_assert_cmpint (json_int (vision, "patch_size"), ==, 16);

  bool sharded = cJSON_IsTrue (cJSON_GetObjectItem (manifest, "sharded"));
  g_assert_cmpint (json_int (o, "n_files"), ==, sharded ? 2 : 1);
  gint64 bytes = sharded ? file_size (dir, "model-00001-of-00002.safetensors")
                             + file_size (dir, "model-00002-of-00002.safetensors")
                         : file_size (dir, "model.safetensors");
  g_assert_cmpint (json_int (o, "weights_bytes"), ==, bytes);

  /* parameters from the architecture: token table dominates the text tower */
  gint64 M = json_int (text, "intermediate_size");
  gint64 layer = 4 * (D * D + D) + 4 * D + 2 * M * D + M + D;
  gint64 text_params = 256000 * D + 64 * D + 2 * layer + 2 * D + D * D + D;
  g_assert_cmpint (json_int (text, "num_params"), ==, text_params);
  gint64 positions = !strcmp (cJSON_GetObjectItem (manifest, "kind")->valuestring, "siglip2")
                       ? 256 : 16;
  g_assert_cmpint (json_int (vision, "num_patches"), ==, positions);
  gint64 head = D + 4 * D * D + 4 * D + 2 * D + 2 * M * D + M + D;
  gint64 vision_params = D * 768 + D + positions * D + 2 * layer + 2 * D + head;
  g_assert_cmpint (json_int (vision, "num_params"), ==, vision_params);
  g_assert_cmpint (json_int (o, "num_params"), ==, text_params + vision_params + 2);

  g_assert_cmpfloat ((float) cJSON_GetObjectItem (o, "logit_scale")->valuedouble, ==,
                     (float) cJSON_GetObjectItem (manifest, "logit_scale")->valuedouble);
  g_assert_cmpfloat ((float) cJSON_GetObjectItem (o, "logit_bias")->valuedouble, ==,
                     (float) cJSON_GetObjectItem (manifest, "logit_bias")->valuedouble);
  g_assert_cmpint (json_int (o, "n_threads"), >=, 1);
  cJSON_Delete (o);
}

static void
test_fixture (gconstpointer data)
{
  const char *fixture = data;
  g_autofree char *dir = test_data_path (fixture);
  const cJSON *manifest = test_manifest_model (fixture);
  bool siglip2 = !strcmp (cJSON_GetObjectItem (manifest, "kind")->valuestring, "siglip2");

  TestRun r = test_run_cli (TEST_ARGS ("info", dir), NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpstr (r.err, ==, "");
  assert_contains (r.out, dir);
  assert_contains (r.out, siglip2 ? "siglip2" : "siglip (");
  assert_contains (r.out, cJSON_GetObjectItem (manifest, "weights_dtype")->valuestring);
  assert_contains (r.out, "2 layers");
  assert_contains (r.out, "vocab 256000");
  assert_contains (r.out, "patch 16");
  assert_contains (r.out, siglip2 ? "max patches 256" : "image 64x64");
  assert_contains (r.out, cJSON_IsTrue (cJSON_GetObjectItem (manifest, "sharded")) ? "2 files"
                                                                                    : "1 file,");
  test_run_clear (&r);

  r = test_run_cli (TEST_ARGS ("info", dir, "--json"), NULL);
  g_assert_cmpint (r.status, ==, 0);
  check_json (r.out, fixture, dir);
  test_run_clear (&r);
}

static void
test_hub_id (void)
{
  /* HF cache layout: models--org--name/{refs/main, snapshots/REV -> ../../blobs/...} */
  const char *rev = "fedcba9876543210fedcba9876543210fedcba98";
  g_autofree char *cache = test_out_path ("cli-info-hub/hub");
  g_autofree char *repo = g_build_filename (cache, "models--acme--tiny-fixres", NULL);
  g_autofree char *snapshot = g_build_filename (repo, "snapshots", rev, NULL);
  g_autofree char *blobs = g_build_filename (repo, "blobs", NULL);
  g_autofree char *refs = g_build_filename (repo, "refs", NULL);
  g_assert_cmpint (g_mkdir_with_parents (snapshot, 0755), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (blobs, 0755), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (refs, 0755), ==, 0);
  g_autofree char *main_ref = g_build_filename (refs, "main", NULL);
  g_assert_true (g_file_set_contents (main_ref, rev, -1, NULL));
  g_autofree char *src = test_data_path ("tiny-siglip-fixres");
  g_autoptr (GDir) d = g_dir_open (src, 0, NULL);
  const char *entry;
  while ((entry = g_dir_read_name (d)))
    {
      g_autofree char *from = g_build_filename (src, entry, NULL);
      g_autofree char *abs = g_canonicalize_filename (from, NULL);
      g_autofree char *real = realpath (abs, NULL);
      g_autofree char *blob = g_build_filename (blobs, entry, NULL);
      g_autofree char *link = g_build_filename (snapshot, entry, NULL);
      g_autofree char *target = g_build_filename ("..", "..", "blobs", entry, NULL);
      g_remove (blob);
      g_remove (link);
      g_assert_cmpint (symlink (real, blob), ==, 0);
      g_assert_cmpint (symlink (target, link), ==, 0);
    }

  g_auto (GStrv) env = g_get_environ ();
  env = g_environ_setenv (env, "HF_HUB_CACHE", cache, TRUE);
  TestRun r = test_run_cli (TEST_ARGS ("info", "acme/tiny-fixres", "--json"), env);
  g_assert_cmpint (r.status, ==, 0);
  check_json (r.out, "tiny-siglip-fixres", snapshot);
  test_run_clear (&r);

  r = test_run_cli (TEST_ARGS ("info", "acme/missing"), env);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_cmpstr (r.out, ==, "");
  assert_contains (r.err, "acme/missing");
  assert_contains (r.err, "models--acme--missing");
  test_run_clear (&r);
}

/* bf16 packs its weights: the first info builds the weight cache file (in the test's
 * XDG_CACHE_HOME; on the AVX2 path behind the load, waited for before the command ends), the
 * second maps it, and both say where it is and its size on disk; fp32
 * says whether it scanned the weights or found the record that they passed. */
static void
test_weight_cache (void)
{
  g_autofree char *dir = test_data_path ("tiny-siglip2-naflex");
  g_autofree char *xdg = test_out_path ("cli-info-weight-cache");
  g_autofree char *weights = g_build_filename (xdg, "siglens", "weights", NULL);
  g_auto (GStrv) env = g_get_environ ();
  env = g_environ_setenv (env, "XDG_CACHE_HOME", xdg, TRUE);
  g_autoptr (GDir) d = g_dir_open (weights, 0, NULL);
  const char *entry;
  while (d && (entry = g_dir_read_name (d)))
    {
      g_autofree char *path = g_build_filename (weights, entry, NULL);
      g_remove (path);
    }

  TestRun r = test_run_cli (TEST_ARGS ("info", dir, "--precision", "bf16"), env);
  g_assert_cmpint (r.status, ==, 0);
  if (siglip_gemm_can_round_rows ())
    {
      /* computed on the F32 rows while the file is written; the command waits for it */
      assert_contains (r.out, "Weight cache:  being written to ");
      assert_contains (r.out, weights);
      assert_contains (r.out, "rounded to bf16 as they are read (not built yet)");
    }
  else
    {
      assert_contains (r.out, "Weight cache:  built now in ");
      assert_contains (r.out, weights);
      assert_contains (r.out, "MiB on disk (not built yet)");
    }
  test_run_clear (&r);

  r = test_run_cli (TEST_ARGS ("info", dir, "--precision", "bf16", "--json"), env);
  g_assert_cmpint (r.status, ==, 0);
  cJSON *json = cJSON_Parse (r.out);
  const cJSON *cache = cJSON_GetObjectItem (json, "weight_cache");
  g_assert_cmpstr (cJSON_GetObjectItem (cache, "status")->valuestring, ==, "hit");
  const char *path = cJSON_GetObjectItem (cache, "path")->valuestring;
  g_assert_true (g_str_has_prefix (path, weights));
  GStatBuf st;
  g_assert_cmpint (g_stat (path, &st), ==, 0);
  g_assert_cmpfloat (cJSON_GetObjectItem (cache, "bytes")->valuedouble, ==, (double) st.st_size);
  cJSON_Delete (json);
  test_run_clear (&r);

  /* fp32 packs nothing: its file only records the NaN/Inf check of these weight files */
  r = test_run_cli (TEST_ARGS ("info", dir), env);
  g_assert_cmpint (r.status, ==, 0);
  assert_contains (r.out, "Weight cache:  every weight checked for NaN/Inf, recorded");
  test_run_clear (&r);
  r = test_run_cli (TEST_ARGS ("info", dir), env);
  g_assert_cmpint (r.status, ==, 0);
  assert_contains (r.out, "Weight cache:  NaN/Inf check skipped: these files passed it");
  assert_contains (r.out, "-fp32.wcache");
  test_run_clear (&r);
}

static void
test_bad_model (void)
{
  /* a directory whose weights are a truncated file */
  g_autofree char *dir = test_out_path ("cli-info-bad");
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_autofree char *src = test_data_path ("tiny-siglip2-naflex");
  const char *const links[] = { "config.json", "preprocessor_config.json", "tokenizer.json",
                                "tokenizer_config.json" };
  for (gsize i = 0; i < G_N_ELEMENTS (links); i++)
    {
      g_autofree char *from = g_build_filename (src, links[i], NULL);
      g_autofree char *abs = g_canonicalize_filename (from, NULL);
      g_autofree char *to = g_build_filename (dir, links[i], NULL);
      g_remove (to);
      g_assert_cmpint (symlink (abs, to), ==, 0);
    }
  g_autofree char *weights = g_build_filename (dir, "model.safetensors", NULL);
  g_assert_true (g_file_set_contents (weights, "\x40\x00\x00", 3, NULL));

  TestRun r = test_run_cli (TEST_ARGS ("info", dir), NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_cmpstr (r.out, ==, "");
  assert_contains (r.err, "model.safetensors: truncated");
  test_run_clear (&r);

  r = test_run_cli (TEST_ARGS ("info", "/nonexistent/model", "--json"), NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_cmpstr (r.out, ==, "");
  assert_contains (r.err, "/nonexistent/model");
  test_run_clear (&r);

  /* usage errors are exit 2, not 1 */
  r = test_run_cli (TEST_ARGS ("info"), NULL);
  g_assert_cmpint (r.status, ==, 2);
  assert_contains (r.err, "Usage");
  test_run_clear (&r);
  r = test_run_cli (TEST_ARGS ("info", src, "--frobnicate"), NULL);
  g_assert_cmpint (r.status, ==, 2);
  assert_contains (r.err, "--frobnicate");
  test_run_clear (&r);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  static const char *const fixtures[] = {
    "tiny-siglip2-naflex", "tiny-siglip2-naflex-bf16-sharded", "tiny-siglip-fixres",
  };
  for (gsize i = 0; i < G_N_ELEMENTS (fixtures); i++)
    {
      g_autofree char *path = g_strdup_printf ("/cli-info/fixture/%s", fixtures[i]);
      g_test_add_data_func (path, fixtures[i], test_fixture);
    }
  g_test_add_func ("/cli-info/hub-id", test_hub_id);
  g_test_add_func ("/cli-info/bad-model", test_bad_model);
  g_test_add_func ("/cli-info/weight-cache", test_weight_cache);
  return g_test_run ();
}
