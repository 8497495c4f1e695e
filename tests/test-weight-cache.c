/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The packed-weight cache on disk (weight-cache.c), with real files: the first bf16 load builds
 * it and the second maps it, both giving bit for bit what packing in memory gives; a weight file
 * rewritten, a flipped byte in the panels or the header, a truncated or foreign file are each
 * found, removed and rebuilt, never used; a build killed for real mid-write leaves only a
 * temporary without a header, removed by the next build; NaN in the weights is still found at
 * load, with or without a cache file from before; fp32's file, which only records that its
 * weights passed the finite check, lets a later load skip the scan and goes stale like the rest;
 * a cache that cannot be written costs nothing but speed.
 *
 * Where the bf16 kernel is the AVX2 one, a miss computes on the F32 rows while the file is
 * written on a thread (SIGLIP_WEIGHT_CACHE_WRITING): the same checks, waited for, and the same
 * outputs; a model freed mid-write leaves nothing. meson runs this file a second time with
 * SIGLIP_GEMM_BF16=generic, where a miss builds the file inside the load (BUILT).
 */
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "gemm.h"
#include "siglip.h"
#include "test-util.h"

/* What a load that finds no usable file does here: writes it behind the load, or inside it. */
static siglip_weight_cache_status miss;
/* under out/: one per run of this file (main says why) */
static const char *out_root;

static const char *const model_files[] = {
  "config.json", "preprocessor_config.json", "tokenizer.json", "tokenizer_config.json",
  "special_tokens_map.json", "model.safetensors",
};

/* A copy of the tiny fixture that the test may rewrite, in out/weight-cache/NAME/model. */
static char *
model_copy (const char *name)
{
  g_autofree char *rel = g_build_filename (out_root, name, "model", NULL);
  char *dir = test_out_path (rel);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_autofree char *src = test_data_path ("tiny-siglip2-naflex");
  for (gsize i = 0; i < G_N_ELEMENTS (model_files); i++)
    {
      g_autofree char *from = g_build_filename (src, model_files[i], NULL);
      g_autofree char *to = g_build_filename (dir, model_files[i], NULL);
      g_autofree char *bytes = NULL;
      gsize len = 0;
      g_assert_true (g_file_get_contents (from, &bytes, &len, NULL));
      g_remove (to);
      g_assert_true (g_file_set_contents (to, bytes, (gssize) len, NULL));
    }
  return dir;
}

/* An empty cache directory out/weight-cache/NAME/cache. */
static char *
fresh_cache (const char *name)
{
  g_autofree char *rel = g_build_filename (out_root, name, "cache", NULL);
  char *dir = test_out_path (rel);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *entry;
  while ((entry = g_dir_read_name (d)))
    {
      g_autofree char *path = g_build_filename (dir, entry, NULL);
      g_assert_cmpint (g_remove (path), ==, 0);
    }
  return dir;
}

/* The names in dir, sorted; temporaries counted apart. */
static GPtrArray *
list_dir (const char *dir, guint *n_temps)
{
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *entry;
  *n_temps = 0;
  while (d && (entry = g_dir_read_name (d)))
    if (g_str_has_prefix (entry, ".tmp-"))
      (*n_temps)++;
    else
      g_ptr_array_add (names, g_strdup (entry));
  return names;
}

static siglip_model *
load_bf16 (const char *model_dir, const char *cache_dir, bool no_cache)
{
  siglip_load_options options = { .precision = SIGLIP_PRECISION_BF16,
                                  .weight_cache_dir = cache_dir, .no_weight_cache = no_cache };
  siglip_error *err = NULL;
  siglip_model *model = siglip_model_load (model_dir, &options, &err);
  if (!model)
    g_error ("%s: %s", model_dir, err->message);
  return model;
}

/* What the model computes: an image embedding and two label embeddings, end to end through
 * every packed matrix of both towers. (transfer full) */
static GByteArray *
outputs (siglip_model *model)
{
  siglip_error *err = NULL;
  siglip_state *st = siglip_state_new (model, &err);
  g_assert_nonnull (st);
  enum { W = 40, H = 28 };
  guint8 rgb[W * H * 3];
  for (int i = 0; i < W * H * 3; i++)
    rgb[i] = (guint8) (i * 37 + (i / 7) * 11);
  const siglip_image image = { rgb, W, H, W * 3 };
  const int dv = siglip_model_embed_dim_vision (model), dt = siglip_model_embed_dim_text (model);
  g_autofree float *img = g_new (float, dv);
  g_autofree float *txt = g_new (float, 2 * dt);
  const char *labels[] = { "a cat", "a red car" };
  g_assert_true (siglip_encode_image (st, &image, NULL, img, NULL, &err));
  g_assert_true (siglip_encode_labels (st, labels, 2, NULL, txt, &err));
  siglip_state_free (st);
  GByteArray *out = g_byte_array_new ();
  g_byte_array_append (out, (const guint8 *) img, (guint) (dv * sizeof (float)));
  g_byte_array_append (out, (const guint8 *) txt, (guint) (2 * dt * sizeof (float)));
  return out;
}

/* The model's outputs with its matrices packed in memory: what every cached load must give. */
static GByteArray *
reference_outputs (const char *model_dir)
{
  siglip_model *model = load_bf16 (model_dir, NULL, true);
  g_assert_cmpint (siglip_model_get_info (model)->weight_cache, ==, SIGLIP_WEIGHT_CACHE_OFF);
  GByteArray *out = outputs (model);
  siglip_model_free (model);
  return out;
}

static void
assert_same_outputs (GByteArray *got, GByteArray *want)
{
  g_assert_cmpmem (got->data, got->len, want->data, want->len);
}

/* Loads with the cache in cache_dir, checks the status (and the note's beginning), the file and
 * the outputs; returns the file's path. (transfer full) */
static char *
load_expecting (const char *model_dir, const char *cache_dir, siglip_weight_cache_status status,
                const char *note_prefix, GByteArray *want)
{
  siglip_model *model = load_bf16 (model_dir, cache_dir, false);
  const siglip_model_info *info = siglip_model_get_info (model);
  g_assert_cmpint (info->weight_cache, ==, status);
  if (note_prefix)
    {
      g_assert_nonnull (info->weight_cache_note);
      if (!g_str_has_prefix (info->weight_cache_note, note_prefix))
        g_error ("weight cache note \"%s\", expected \"%s...\"", info->weight_cache_note,
                 note_prefix);
    }
  else
    g_assert_null (info->weight_cache_note);
  g_assert_nonnull (info->weight_cache_path);
  g_assert_true (g_str_has_prefix (info->weight_cache_path, cache_dir));
  if (status == SIGLIP_WEIGHT_CACHE_WRITING)
    {
      /* the rows give the panels' numbers while the file is being written, and after */
      g_assert_cmpint (info->weight_cache_bytes, ==, 0);
      g_autoptr (GByteArray) during = outputs (model);
      assert_same_outputs (during, want);
      siglip_error *err = NULL;
      if (!siglip_model_wait_weight_cache (model, &err))
        g_error ("%s", err->message);
    }
  GStatBuf st;
  g_assert_cmpint (g_stat (info->weight_cache_path, &st), ==, 0);
  g_assert_cmpint (info->weight_cache_bytes, ==, st.st_size);
  char *path = g_strdup (info->weight_cache_path);
  g_autoptr (GByteArray) got = outputs (model);
  assert_same_outputs (got, want);
  siglip_model_free (model);

  /* one file, no temporaries */
  guint n_temps;
  g_autoptr (GPtrArray) names = list_dir (cache_dir, &n_temps);
  g_assert_cmpuint (names->len, ==, 1);
  g_assert_cmpuint (n_temps, ==, 0);
  return path;
}

static void
test_miss_then_hit (void)
{
  g_autofree char *model = model_copy ("hit");
  g_autofree char *cache = fresh_cache ("hit");
  g_autoptr (GByteArray) want = reference_outputs (model);
  g_autofree char *built = load_expecting (model, cache, miss,
                                           "not built yet", want);
  g_autofree char *hit = load_expecting (model, cache, SIGLIP_WEIGHT_CACHE_HIT, NULL, want);
  g_assert_cmpstr (built, ==, hit);
  /* the file is named after the model's place and precision */
  g_assert_true (g_str_has_suffix (hit, "-bf16.wcache"));
  g_autofree char *base = g_path_get_basename (hit);
  g_assert_true (g_str_has_prefix (base, "model-"));
}

/* The file's bytes; and writing them back. */
static GByteArray *
read_bytes (const char *path)
{
  g_autofree char *bytes = NULL;
  gsize len = 0;
  g_assert_true (g_file_get_contents (path, &bytes, &len, NULL));
  GByteArray *a = g_byte_array_new ();
  g_byte_array_append (a, (const guint8 *) bytes, (guint) len);
  return a;
}

static void
write_bytes (const char *path, const guint8 *data, gsize len)
{
  g_assert_true (g_file_set_contents (path, (const char *) data, (gssize) len, NULL));
}

/* The header's payload_offset (weight-cache.c's file_header: after magic[8], order, n_entries,
 * file_bytes, meta_bytes): where the first matrix's panels begin. */
static guint64
payload_offset (GByteArray *file)
{
  guint64 v;
  g_assert_cmpuint (file->len, >=, 40);
  memcpy (&v, file->data + 32, 8);
  g_assert_cmpuint (v % 4096, ==, 0);
  g_assert_cmpuint (v, <, file->len);
  return v;
}

static void
test_damaged (void)
{
  g_autofree char *model = model_copy ("damaged");
  g_autofree char *cache = fresh_cache ("damaged");
  g_autoptr (GByteArray) want = reference_outputs (model);
  g_autofree char *path = load_expecting (model, cache, miss,
                                          "not built yet", want);
  g_autoptr (GByteArray) good = read_bytes (path);

  /* one bit of the panels: their checksum fails, the file is rebuilt from the weights */
  g_autoptr (GByteArray) bad = read_bytes (path);
  bad->data[payload_offset (bad) + 5] ^= 0x04;
  write_bytes (path, bad->data, bad->len);
  g_free (load_expecting (model, cache, miss,
                          "damaged: the panels at byte", want));
  g_autoptr (GByteArray) rebuilt = read_bytes (path);
  g_assert_cmpmem (rebuilt->data, rebuilt->len, good->data, good->len);

  /* a byte of the key, inside the header's checksum */
  memcpy (bad->data, good->data, good->len);
  bad->data[100] ^= 0x01;
  write_bytes (path, bad->data, bad->len);
  g_free (load_expecting (model, cache, miss,
                          "damaged: its header fails its checksum", want));

  /* cut short, as by a full disk or a power loss after the rename */
  write_bytes (path, good->data, good->len - 4096);
  g_free (load_expecting (model, cache, miss, "damaged: ", want));

  /* something else under its name */
  g_autofree char *foreign = g_strnfill (4096, 'x');
  write_bytes (path, (const guint8 *) foreign, 4096);
  g_free (load_expecting (model, cache, miss,
                          "damaged or of another version: wrong magic", want));
  write_bytes (path, (const guint8 *) "", 0);
  g_free (load_expecting (model, cache, miss,
                          "damaged: shorter than its header", want));
  g_free (load_expecting (model, cache, SIGLIP_WEIGHT_CACHE_HIT, NULL, want));
}

/* The fixture's model.safetensors in dir with element `index` of F32 tensor `name` set. */
static void
poke_weight (const char *dir, const char *name, int index, float value)
{
  g_autofree char *path = g_build_filename (dir, "model.safetensors", NULL);
  g_autoptr (GByteArray) file = read_bytes (path);
  guint64 header_len;
  memcpy (&header_len, file->data, 8);
  g_autofree char *header = g_strndup ((const char *) file->data + 8, header_len);
  cJSON *json = cJSON_Parse (header);
  const cJSON *entry = cJSON_GetObjectItem (json, name);
  g_assert_nonnull (entry);
  g_assert_cmpstr (cJSON_GetObjectItem (entry, "dtype")->valuestring, ==, "F32");
  const gsize begin = (gsize) cJSON_GetArrayItem (cJSON_GetObjectItem (entry, "data_offsets"), 0)
                        ->valuedouble;
  cJSON_Delete (json);
  memcpy (file->data + 8 + header_len + begin + 4 * (gsize) index, &value, 4);
  g_remove (path);
  write_bytes (path, file->data, file->len);
}

#define FC1 "vision_model.encoder.layers.0.mlp.fc1.weight"

static void
test_stale (void)
{
  g_autofree char *model = model_copy ("stale");
  g_autofree char *cache = fresh_cache ("stale");
  g_autoptr (GByteArray) want = reference_outputs (model);
  g_free (load_expecting (model, cache, miss, "not built yet", want));

  /* new weights in the same place (a fine-tune saved over it): another key, rebuilt, and the
   * outputs are the new weights' */
  poke_weight (model, FC1, 3, 0.75f);
  g_autoptr (GByteArray) changed = reference_outputs (model);
  g_assert_true (changed->len == want->len && memcmp (changed->data, want->data, want->len));
  g_free (load_expecting (model, cache, miss,
                          "stale: made for other weight files", changed));
  g_free (load_expecting (model, cache, SIGLIP_WEIGHT_CACHE_HIT, NULL, changed));

  /* the same bytes written again: a file rewritten in place is not trusted to be the same */
  poke_weight (model, FC1, 3, 0.75f);
  g_free (load_expecting (model, cache, miss, "stale: ", changed));

  /* a config file that changes (not the weights) changes the model's identity too */
  g_autofree char *config = g_build_filename (model, "preprocessor_config.json", NULL);
  g_autofree char *text = NULL;
  g_assert_true (g_file_get_contents (config, &text, NULL, NULL));
  g_autofree char *more = g_strconcat (text, "\n", NULL);
  write_bytes (config, (const guint8 *) more, strlen (more));
  g_free (load_expecting (model, cache, miss, "stale: ", changed));
}

/* NaN is found at load whether or not a cache file was there: the first build checks every
 * source, and a cache built from good weights is stale once the weights change. */
static void
test_non_finite (void)
{
  g_autofree char *model = model_copy ("nan");
  g_autofree char *cache = fresh_cache ("nan");
  g_autoptr (GByteArray) want = reference_outputs (model);
  g_free (load_expecting (model, cache, miss, "not built yet", want));

  poke_weight (model, FC1, 7, NAN);
  siglip_load_options options = { .precision = SIGLIP_PRECISION_BF16, .weight_cache_dir = cache };
  siglip_error *err = NULL;
  g_assert_null (siglip_model_load (model, &options, &err));
  test_assert_error (err, SIGLIP_ERR_FORMAT, model,
                     (const char *const[]) { "model.safetensors: tensor " FC1 ": element 7 is NaN",
                                             NULL });
  /* nothing of it is kept: no file, no temporary */
  guint n_temps;
  g_autoptr (GPtrArray) names = list_dir (cache, &n_temps);
  g_assert_cmpuint (names->len, ==, 0);
  g_assert_cmpuint (n_temps, ==, 0);
  /* and again from an empty cache */
  err = NULL;
  g_assert_null (siglip_model_load (model, &options, &err));
  test_assert_error (err, SIGLIP_ERR_FORMAT, model,
                     (const char *const[]) { FC1 ": element 7 is NaN", NULL });
}

static siglip_model *
load_fp32 (const char *model_dir, const char *cache_dir, siglip_weight_cache_status status,
           const char *note_prefix)
{
  siglip_load_options options = { .weight_cache_dir = cache_dir };
  siglip_error *err = NULL;
  siglip_model *model = siglip_model_load (model_dir, &options, &err);
  if (!model)
    g_error ("%s: %s", model_dir, err->message);
  const siglip_model_info *info = siglip_model_get_info (model);
  g_assert_cmpint (info->weight_cache, ==, status);
  if (note_prefix)
    g_assert_true (info->weight_cache_note
                   && g_str_has_prefix (info->weight_cache_note, note_prefix));
  else
    g_assert_null (info->weight_cache_note);
  g_assert_true (g_str_has_suffix (info->weight_cache_path, "-fp32.wcache"));
  return model;
}

/* fp32 packs nothing, so its file holds no panels: it records that these very files passed
 * the finite check, and a later load of them skips the scan. The numbers are the same either
 * way (the weights are the mapping itself), and any rewrite of the weights makes the record
 * stale: a NaN written into them after a record was made is still found at load. */
static void
test_fp32_check_record (void)
{
  g_autofree char *model = model_copy ("fp32");
  g_autofree char *cache = fresh_cache ("fp32");
  siglip_load_options plain = { .no_weight_cache = true };
  siglip_error *err = NULL;
  siglip_model *m = siglip_model_load (model, &plain, &err);
  g_assert_nonnull (m);
  g_assert_cmpint (siglip_model_get_info (m)->weight_cache, ==, SIGLIP_WEIGHT_CACHE_OFF);
  g_autoptr (GByteArray) want = outputs (m);
  siglip_model_free (m);

  m = load_fp32 (model, cache, SIGLIP_WEIGHT_CACHE_BUILT, "not built yet");
  g_autoptr (GByteArray) first = outputs (m);
  assert_same_outputs (first, want);
  siglip_model_free (m);
  m = load_fp32 (model, cache, SIGLIP_WEIGHT_CACHE_HIT, NULL);
  g_autoptr (GByteArray) again = outputs (m);
  assert_same_outputs (again, want);
  siglip_model_free (m);

  /* a damaged record is no record: the next load scans again and writes a new one */
  g_autofree char *path = g_strdup (siglip_model_get_info (m = load_fp32 (model, cache,
                                    SIGLIP_WEIGHT_CACHE_HIT, NULL))->weight_cache_path);
  siglip_model_free (m);
  g_autoptr (GByteArray) record = read_bytes (path);
  record->data[70] ^= 0x10;
  write_bytes (path, record->data, record->len);
  siglip_model_free (load_fp32 (model, cache, SIGLIP_WEIGHT_CACHE_BUILT,
                                "damaged: its header fails its checksum"));

  /* NaN in the weights after the record was made */
  poke_weight (model, FC1, 11, -INFINITY);
  siglip_load_options options = { .weight_cache_dir = cache };
  g_assert_null (siglip_model_load (model, &options, &err));
  test_assert_error (err, SIGLIP_ERR_FORMAT, model,
                     (const char *const[]) { "model.safetensors: tensor " FC1 ": element 11 is "
                                             "-Inf", NULL });
  guint n_temps;
  g_autoptr (GPtrArray) names = list_dir (cache, &n_temps);
  g_assert_cmpuint (names->len + n_temps, ==, 0); /* the stale record went, none was written */
}

/* A build really killed mid-write: the child loads with a progress callback that sends itself
 * SIGKILL once most matrices are packed and written, so the kernel ends it inside the build. */
static void
die_late (double fraction, void *data)
{
  (void) data;
  if (fraction >= 0.9)
    kill (getpid (), SIGKILL);
}

static void
test_killed_mid_write (void)
{
  g_autofree char *rel = g_build_filename (out_root, "killed", "model", NULL);
  if (g_test_subprocess ())
    {
      g_autofree char *model = test_out_path (rel);
      g_autofree char *cache = g_build_filename (model, "..", "cache", NULL);
      siglip_load_options options = { .precision = SIGLIP_PRECISION_BF16,
                                      .weight_cache_dir = cache, .progress = die_late };
      siglip_model_load (model, &options, NULL);
      g_assert_not_reached ();
    }
  g_autofree char *model = model_copy ("killed");
  g_autofree char *cache = fresh_cache ("killed");
  g_autoptr (GByteArray) want = reference_outputs (model);

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();

  /* It did die mid-write: one temporary, still without its header (written last), and nothing
   * under a real name. */
  guint n_temps;
  g_autoptr (GPtrArray) names = list_dir (cache, &n_temps);
  g_assert_cmpuint (names->len, ==, 0);
  g_assert_cmpuint (n_temps, ==, 1);
  g_autoptr (GDir) d = g_dir_open (cache, 0, NULL);
  g_autofree char *temp = g_build_filename (cache, g_dir_read_name (d), NULL);
  g_autoptr (GByteArray) partial = read_bytes (temp);
  g_assert_cmpuint (partial->len, >=, 8);
  g_assert_true (memcmp (partial->data, "SGLNWC01", 8) != 0);

  /* the next load builds it whole and removes the dead writer's temporary */
  g_free (load_expecting (model, cache, miss, "not built yet", want));
  g_assert_false (g_file_test (temp, G_FILE_TEST_EXISTS));
  g_free (load_expecting (model, cache, SIGLIP_WEIGHT_CACHE_HIT, NULL, want));
}

/* A write behind the load stopped by freeing the model (an app closed, a command that did not
 * wait): its temporary is removed, nothing is under the real name, and the next load starts
 * the write again and finishes it. */
static void
test_stopped_mid_write (void)
{
  g_autofree char *model = model_copy ("stopped");
  g_autofree char *cache = fresh_cache ("stopped");
  g_autoptr (GByteArray) want = reference_outputs (model);
  int stopped = 0;
  for (int i = 0; i < 20; i++)
    {
      siglip_model *m = load_bf16 (model, cache, false);
      g_assert_cmpint (siglip_model_get_info (m)->weight_cache, ==, SIGLIP_WEIGHT_CACHE_WRITING);
      const gboolean was_pending = siglip_model_weight_cache_pending (m);
      siglip_model_free (m);
      guint n_temps;
      g_autoptr (GPtrArray) names = list_dir (cache, &n_temps);
      g_assert_cmpuint (n_temps, ==, 0);
      if (names->len == 0)
        {
          /* stopped: so it was still going when asked, just before the free */
          g_assert_true (was_pending);
          stopped++;
          continue;
        }
      /* this write was quicker than the free: then it is whole, and the next load maps it */
      g_assert_cmpuint (names->len, ==, 1);
      g_free (load_expecting (model, cache, SIGLIP_WEIGHT_CACHE_HIT, NULL, want));
      g_free (fresh_cache ("stopped"));
    }
  /* the free comes right after the load, the writer runs at the lowest priority: most of them
   * were stopped (seen here: all 20) */
  g_assert_cmpint (stopped, >, 0);
  g_free (load_expecting (model, cache, SIGLIP_WEIGHT_CACHE_WRITING, "not built yet", want));
  g_free (load_expecting (model, cache, SIGLIP_WEIGHT_CACHE_HIT, NULL, want));
}

/* A cache that cannot be made (its directory would be inside a file) or is turned off: the load
 * packs in memory and says why. */
static void
test_unwritable_and_off (void)
{
  g_autofree char *model = model_copy ("unwritable");
  g_autoptr (GByteArray) want = reference_outputs (model);
  g_autofree char *cache = g_build_filename (model, "config.json", "cache", NULL);
  siglip_model *m = load_bf16 (model, cache, false);
  const siglip_model_info *info = siglip_model_get_info (m);
  if (miss == SIGLIP_WEIGHT_CACHE_WRITING)
    {
      /* found on the thread: the load computes on, and the wait says why */
      g_assert_cmpint (info->weight_cache, ==, SIGLIP_WEIGHT_CACHE_WRITING);
      g_autoptr (GByteArray) during = outputs (m);
      assert_same_outputs (during, want);
      siglip_error *err = NULL;
      g_assert_false (siglip_model_wait_weight_cache (m, &err));
      g_assert_nonnull (strstr (err->message, "config.json"));
      siglip_error_free (err);
    }
  g_assert_cmpint (info->weight_cache, ==, SIGLIP_WEIGHT_CACHE_OFF);
  g_assert_true (g_str_has_prefix (info->weight_cache_note, "not kept: "));
  g_assert_nonnull (strstr (info->weight_cache_note, "config.json"));
  g_assert_null (info->weight_cache_path);
  g_autoptr (GByteArray) got = outputs (m);
  assert_same_outputs (got, want);
  siglip_model_free (m);

  g_autofree char *unused = fresh_cache ("off");
  m = load_bf16 (model, unused, true);
  g_assert_cmpint (siglip_model_get_info (m)->weight_cache, ==, SIGLIP_WEIGHT_CACHE_OFF);
  g_assert_cmpstr (siglip_model_get_info (m)->weight_cache_note, ==, "turned off");
  siglip_model_free (m);
  guint n_temps;
  g_autoptr (GPtrArray) names = list_dir (unused, &n_temps);
  g_assert_cmpuint (names->len + n_temps, ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  miss = siglip_gemm_can_round_rows () ? SIGLIP_WEIGHT_CACHE_WRITING : SIGLIP_WEIGHT_CACHE_BUILT;
  /* a folder per run of this file (tests/meson.build runs it again with SIGLIP_GEMM_BF16 set,
   * at the same time): the kernels chosen may be the same in two runs, the folders may not */
  const char *variant = g_getenv ("SIGLIP_GEMM_BF16");
  g_autofree char *root = g_strdup_printf ("weight-cache-%s", variant ? variant : "default");
  out_root = root;
  g_test_add_func ("/weight-cache/miss-then-hit", test_miss_then_hit);
  g_test_add_func ("/weight-cache/damaged", test_damaged);
  g_test_add_func ("/weight-cache/stale", test_stale);
  g_test_add_func ("/weight-cache/non-finite", test_non_finite);
  g_test_add_func ("/weight-cache/fp32-check-record", test_fp32_check_record);
  if (miss == SIGLIP_WEIGHT_CACHE_BUILT)
    g_test_add_func ("/weight-cache/killed-mid-write", test_killed_mid_write);
  else
    g_test_add_func ("/weight-cache/stopped-mid-write", test_stopped_mid_write);
  g_test_add_func ("/weight-cache/unwritable-and-off", test_unwritable_and_off);
  return g_test_run ();
}
