/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The label-embedding cache on disk: a second load of the model finds what the first encoded,
 * with the very same numbers; damaged, truncated and foreign entries are dropped and rebuilt;
 * another template, model, precision or lowercase setting never hits; the cap holds; clearing
 * empties it; a temporary left by a killed writer (killed for real, mid-write) is never read.
 */
#include <signal.h>
#include <string.h>

#include <sys/resource.h>
#include <utime.h>

#include <glib/gstdio.h>

#include "siglip.h"
#include "encode.h"
#include "test-util.h"

static char *
fresh_cache_dir (const char *name)
{
  g_autofree char *rel = g_build_filename ("label-cache", name, NULL);
  char *dir = test_out_path (rel);
  /* leftovers of an earlier run: only our own entry files live there */
  siglip_error *err = NULL;
  g_assert_true (siglip_label_cache_clear (dir, &err));
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  return dir;
}

static siglip_model *
load (const char *model_dir, siglip_label_cache *cache, siglip_precision precision)
{
  siglip_load_options options = { .precision = precision, .label_cache = cache };
  siglip_error *err = NULL;
  siglip_model *model = siglip_model_load (model_dir, &options, &err);
  if (!model)
    g_error ("%s: %s", model_dir, err->message);
  return model;
}

static siglip_model *
load_fixture (const char *name, siglip_label_cache *cache)
{
  g_autofree char *dir = test_data_path (name);
  return load (dir, cache, SIGLIP_PRECISION_FP32);
}

/* The embeddings of `texts` through a fresh state. (transfer full) */
static float *
encode (siglip_model *model, const char *const *texts, int n,
        const siglip_encode_options *options)
{
  siglip_error *err = NULL;
  siglip_state *st = siglip_state_new (model, &err);
  g_assert_nonnull (st);
  float *out = g_new (float, (gsize) n * siglip_model_embed_dim_text (model));
  /* the texts are already templated: read as given */
  siglip_encode_options as_given = options ? *options : (siglip_encode_options) { 0 };
  as_given.template = SIGLIP_NO_TEMPLATE;
  if (!siglip_encode_labels (st, texts, n, &as_given, out, &err))
    g_error ("%s", err->message);
  siglip_state_free (st);
  return out;
}

static siglip_label_cache *
open_cache (const char *dir, int64_t max_bytes)
{
  siglip_error *err = NULL;
  siglip_label_cache *cache = siglip_label_cache_open (dir, max_bytes, &err);
  if (!cache)
    g_error ("%s", err->message);
  return cache;
}

/* The names of the entry files in `dir`, sorted. */
static GPtrArray *
list_entries (const char *dir)
{
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  g_assert_nonnull (d);
  const char *name;
  while ((name = g_dir_read_name (d)))
    if (g_str_has_suffix (name, ".emb"))
      g_ptr_array_add (names, g_build_filename (dir, name, NULL));
  g_ptr_array_sort (names, (GCompareFunc) g_strcmp0);
  return names;
}

static const char *const texts[] = { "This is a photo of cat.", "This is a photo of dog.",
                                     "This is a photo of 一只猫." };
#define N_TEXTS 3

static void
test_hit_and_miss (void)
{
  g_autofree char *dir = fresh_cache_dir ("hit");
  siglip_label_cache *cache = open_cache (dir, 0);
  siglip_label_cache_stats s;

  /* the reference: no disk cache at all */
  siglip_model *plain = load_fixture ("tiny-siglip2-naflex", NULL);
  const gsize bytes = N_TEXTS * (gsize) siglip_model_embed_dim_text (plain) * sizeof (float);
  g_autofree float *reference = encode (plain, texts, N_TEXTS, NULL);
  siglip_model_free (plain);

  siglip_model *first = load_fixture ("tiny-siglip2-naflex", cache);
  g_autofree float *a = encode (first, texts, N_TEXTS, NULL);
  siglip_model_free (first);
  siglip_label_cache_get_stats (cache, &s);
  g_assert_cmpuint (s.misses, ==, N_TEXTS);
  g_assert_cmpuint (s.hits, ==, 0);
  g_assert_cmpuint (s.stores, ==, N_TEXTS);
  g_assert_cmpint (s.entries, ==, N_TEXTS);
  g_autoptr (GPtrArray) files = list_entries (dir);
  g_assert_cmpuint (files->len, ==, N_TEXTS);
  g_assert_cmpmem (a, bytes, reference, bytes);

  /* A new load has an empty memory cache: every text comes from disk, bit for bit. */
  siglip_model *second = load_fixture ("tiny-siglip2-naflex", cache);
  g_autofree float *b = encode (second, texts, N_TEXTS, NULL);
  siglip_label_cache_get_stats (cache, &s);
  g_assert_cmpuint (s.hits, ==, N_TEXTS);
  g_assert_cmpuint (s.misses, ==, N_TEXTS);
  g_assert_cmpmem (b, bytes, reference, bytes);

  /* Another template is another text: a miss. */
  const char *other[] = { "a photo of a cat" };
  g_autofree float *c = encode (second, other, 1, NULL);
  siglip_label_cache_get_stats (cache, &s);
  g_assert_cmpuint (s.misses, ==, N_TEXTS + 1);
  /* So is the same text without lowercasing. */
  siglip_encode_options keep_case = { .no_lowercase = true };
  g_autofree float *d = encode (second, texts, 1, &keep_case);
  siglip_label_cache_get_stats (cache, &s);
  g_assert_cmpuint (s.misses, ==, N_TEXTS + 2);
  g_assert_cmpuint (s.hits, ==, N_TEXTS);
  siglip_model_free (second);

  /* A new process opening the directory sees what is there. */
  siglip_label_cache *again = open_cache (dir, 0);
  siglip_label_cache_get_stats (again, &s);
  g_assert_cmpint (s.entries, ==, N_TEXTS + 2);
  g_assert_cmpint (s.bytes, >, 0);
  siglip_label_cache_free (again);
  siglip_label_cache_free (cache);
}

static void
test_other_model_misses (void)
{
  g_autofree char *dir = fresh_cache_dir ("models");
  siglip_label_cache *cache = open_cache (dir, 0);
  siglip_label_cache_stats s;

  siglip_model *m = load_fixture ("tiny-siglip2-naflex", cache);
  g_free (encode (m, texts, N_TEXTS, NULL));
  siglip_model_free (m);

  /* Another checkpoint of another layout. */
  m = load_fixture ("tiny-siglip2-naflex-bf16-sharded", cache);
  g_free (encode (m, texts, N_TEXTS, NULL));
  siglip_model_free (m);
  siglip_label_cache_get_stats (cache, &s);
  g_assert_cmpuint (s.hits, ==, 0);
  g_assert_cmpuint (s.misses, ==, 2 * N_TEXTS);

  /* The same checkpoint at another precision. */
  g_autofree char *tiny = test_data_path ("tiny-siglip2-naflex");
  m = load (tiny, cache, SIGLIP_PRECISION_BF16);
  g_free (encode (m, texts, N_TEXTS, NULL));
  siglip_model_free (m);
  siglip_label_cache_get_stats (cache, &s);
  g_assert_cmpuint (s.hits, ==, 0);
  g_assert_cmpuint (s.misses, ==, 3 * N_TEXTS);

  /* A copy of the model with one weight changed: same names, sizes and header, other numbers. */
  g_autofree char *copy = test_out_path ("label-cache/tweaked-model/config.json");
  g_autofree char *copy_dir = g_path_get_dirname (copy);
  const char *files[] = { "config.json", "preprocessor_config.json", "tokenizer.json",
                          "tokenizer_config.json", "special_tokens_map.json",
                          "model.safetensors" };
  for (gsize i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *src = g_build_filename (tiny, files[i], NULL);
      g_autofree char *dst = g_build_filename (copy_dir, files[i], NULL);
      g_autofree char *contents = NULL;
      gsize len;
      g_assert_true (g_file_get_contents (src, &contents, &len, NULL));
      if (!strcmp (files[i], "model.safetensors"))
        contents[len - 3] ^= 0x01; /* the last value's low mantissa bits */
      g_assert_true (g_file_set_contents (dst, contents, (gssize) len, NULL));
    }
  m = load (copy_dir, cache, SIGLIP_PRECISION_FP32);
  g_free (encode (m, texts, N_TEXTS, NULL));
  siglip_model_free (m);
  siglip_label_cache_get_stats (cache, &s);
  g_assert_cmpuint (s.hits, ==, 0);
  g_assert_cmpuint (s.misses, ==, 4 * N_TEXTS);

  /* and the original still hits */
  m = load_fixture ("tiny-siglip2-naflex", cache);
  g_free (encode (m, texts, N_TEXTS, NULL));
  siglip_model_free (m);
  siglip_label_cache_get_stats (cache, &s);
  g_assert_cmpuint (s.hits, ==, N_TEXTS);
  siglip_label_cache_free (cache);
}

typedef enum { FLIP_VALUE, FLIP_KEY, TRUNCATE, EMPTY, GARBAGE } Damage;

static void
damage (const char *path, Damage how)
{
  g_autofree char *contents = NULL;
  gsize len;
  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  switch (how)
    {
    case FLIP_VALUE:
      contents[len - 20] ^= 0x40; /* inside the last float */
      break;
    case FLIP_KEY:
      contents[20] ^= 0x01;
      break;
    case TRUNCATE:
      len -= 7;
      break;
    case EMPTY:
      len = 0;
      break;
    case GARBAGE:
      memset (contents, 'x', len);
      break;
    }
  g_assert_true (g_file_set_contents (path, contents, (gssize) len, NULL));
}

static void
test_damaged_entry_rebuilt (gconstpointer data)
{
  const Damage how = GPOINTER_TO_INT (data);
  g_autofree char *name = g_strdup_printf ("damaged-%d", how);
  g_autofree char *dir = fresh_cache_dir (name);
  siglip_label_cache *cache = open_cache (dir, 0);
  siglip_label_cache_stats s;

  siglip_model *m = load_fixture ("tiny-siglip2-naflex", cache);
  const gsize bytes = (gsize) siglip_model_embed_dim_text (m) * sizeof (float);
  g_autofree float *original = encode (m, texts, 1, NULL);
  siglip_model_free (m);
  g_autoptr (GPtrArray) files = list_entries (dir);
  g_assert_cmpuint (files->len, ==, 1);
  const char *entry = g_ptr_array_index (files, 0);
  g_autofree char *good = NULL;
  gsize good_len;
  g_assert_true (g_file_get_contents (entry, &good, &good_len, NULL));

  damage (entry, how);
  m = load_fixture ("tiny-siglip2-naflex", cache);
  g_autofree float *rebuilt = encode (m, texts, 1, NULL);
  siglip_model_free (m);
  siglip_label_cache_get_stats (cache, &s);
  g_assert_cmpuint (s.hits, ==, 0);
  g_assert_cmpuint (s.dropped, ==, 1);
  g_assert_cmpuint (s.stores, ==, 2);
  g_assert_cmpmem (rebuilt, bytes, original, bytes);

  /* the entry on disk is whole again, byte for byte, and hits */
  g_autofree char *now = NULL;
  gsize now_len;
  g_assert_true (g_file_get_contents (entry, &now, &now_len, NULL));
  g_assert_cmpmem (now, now_len, good, good_len);
  m = load_fixture ("tiny-siglip2-naflex", cache);
  g_autofree float *again = encode (m, texts, 1, NULL);
  siglip_model_free (m);
  siglip_label_cache_get_stats (cache, &s);
  g_assert_cmpuint (s.hits, ==, 1);
  g_assert_cmpmem (again, bytes, original, bytes);
  siglip_label_cache_free (cache);
}

static void
test_stray_temporary_ignored (void)
{
  g_autofree char *dir = fresh_cache_dir ("temp");
  /* What a writer killed before its rename leaves: a temporary, never a real name. An old one
   * is removed at the next open. */
  g_autofree char *temp = g_build_filename (dir, ".tmp-999999-0", NULL);
  g_assert_true (g_file_set_contents (temp, "SGLNEMB1 half", -1, NULL));
  struct utimbuf old = { 1000, 1000 };
  g_assert_cmpint (g_utime (temp, &old), ==, 0);
  siglip_label_cache *cache = open_cache (dir, 0);
  g_assert_false (g_file_test (temp, G_FILE_TEST_EXISTS));
  siglip_label_cache_stats s;
  siglip_label_cache_get_stats (cache, &s);
  g_assert_cmpint (s.entries, ==, 0);
  /* Files that are not ours stay. */
  g_autofree char *readme = g_build_filename (dir, "README", NULL);
  g_assert_true (g_file_set_contents (readme, "mine", -1, NULL));
  siglip_error *err = NULL;
  g_assert_true (siglip_label_cache_clear (dir, &err));
  g_assert_true (g_file_test (readme, G_FILE_TEST_EXISTS));
  g_unlink (readme);
  siglip_label_cache_free (cache);
}

/* A writer really killed in the middle of writing an entry: the child process runs with a file
 * size limit (RLIMIT_FSIZE) below an entry's size, so the kernel kills it with SIGXFSZ inside
 * the write. What it leaves is a partial temporary, never a file under an entry's name, and the
 * next run recomputes the embedding, bit for bit the uncached one, and stores it whole. */
#define KILLED_WRITE_LIMIT 64 /* bytes: less than any entry (the embedding alone is more) */

static void
test_killed_mid_write (void)
{
  g_autofree char *dir = test_out_path ("label-cache/killed");

  if (g_test_subprocess ())
    {
      struct rlimit fsize = { KILLED_WRITE_LIMIT, KILLED_WRITE_LIMIT }, no_core = { 0, 0 };
      siglip_label_cache *cache = open_cache (dir, 0);
      siglip_model *m = load_fixture ("tiny-siglip2-naflex", cache);

      signal (SIGXFSZ, SIG_DFL);
      g_assert_cmpint (setrlimit (RLIMIT_CORE, &no_core), ==, 0);
      g_assert_cmpint (setrlimit (RLIMIT_FSIZE, &fsize), ==, 0);
      g_free (encode (m, texts, 1, NULL)); /* dies in the cache's write */
      g_assert_not_reached ();
    }

  g_free (dir);
  dir = fresh_cache_dir ("killed");
  siglip_model *plain = load_fixture ("tiny-siglip2-naflex", NULL);
  const gsize bytes = (gsize) siglip_model_embed_dim_text (plain) * sizeof (float);
  g_autofree float *reference = encode (plain, texts, 1, NULL);
  siglip_model_free (plain);

  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_failed ();

  /* It did die mid-write: one partial temporary, nothing under an entry's name. */
  g_autoptr (GPtrArray) files = list_entries (dir);
  g_assert_cmpuint (files->len, ==, 0);
  guint n_temps = 0;
  {
    g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
    const char *name;
    while ((name = g_dir_read_name (d)))
      {
        g_autofree char *path = g_build_filename (dir, name, NULL);
        GStatBuf st;
        g_assert_true (g_str_has_prefix (name, ".tmp-"));
        g_assert_cmpint (g_stat (path, &st), ==, 0);
        g_assert_cmpint (st.st_size, ==, KILLED_WRITE_LIMIT);
        n_temps++;
      }
  }
  g_assert_cmpuint (n_temps, ==, 1);

  /* The next run trusts nothing of it: a miss, recomputed, the uncached numbers, stored whole. */
  siglip_label_cache *cache = open_cache (dir, 0);
  siglip_label_cache_stats s;
  siglip_model *m = load_fixture ("tiny-siglip2-naflex", cache);
  g_autofree float *after = encode (m, texts, 1, NULL);
  siglip_model_free (m);
  siglip_label_cache_get_stats (cache, &s);
  g_assert_cmpuint (s.hits, ==, 0);
  g_assert_cmpuint (s.misses, ==, 1);
  g_assert_cmpuint (s.stores, ==, 1);
  g_assert_cmpmem (after, bytes, reference, bytes);

  m = load_fixture ("tiny-siglip2-naflex", cache);
  g_autofree float *again = encode (m, texts, 1, NULL);
  siglip_model_free (m);
  siglip_label_cache_get_stats (cache, &s);
  g_assert_cmpuint (s.hits, ==, 1);
  g_assert_cmpmem (again, bytes, reference, bytes);
  siglip_label_cache_free (cache);
}

static void
test_cap_and_clear (void)
{
  g_autofree char *dir = fresh_cache_dir ("cap");
  siglip_model *probe = load_fixture ("tiny-siglip2-naflex", NULL);
  const int dim = siglip_model_embed_dim_text (probe);
  siglip_model_free (probe);
  /* room for about six entries of this model (key ~60 bytes + dim floats + 24) */
  const int64_t entry = 24 + 60 + (int64_t) dim * 4;
  siglip_label_cache *cache = open_cache (dir, 6 * entry);
  siglip_model *m = load_fixture ("tiny-siglip2-naflex", cache);
  const char *many[20];
  g_autofree char *storage[20];
  for (int i = 0; i < 20; i++)
    many[i] = storage[i] = g_strdup_printf ("label number %d", i);
  g_free (encode (m, many, 20, NULL));
  siglip_label_cache_stats s;
  siglip_label_cache_get_stats (cache, &s);
  g_assert_cmpuint (s.stores, ==, 20);
  g_assert_cmpuint (s.evictions, >, 0);
  g_assert_cmpint (s.bytes, <=, 6 * entry);
  g_autoptr (GPtrArray) files = list_entries (dir);
  g_assert_cmpuint (files->len, ==, (guint) s.entries);
  g_assert_cmpuint (files->len, >=, 2);
  g_assert_cmpuint (files->len, <=, 6);
  siglip_model_free (m);

  /* the most recent survive: a new load hits the last text */
  m = load_fixture ("tiny-siglip2-naflex", cache);
  g_free (encode (m, many + 19, 1, NULL));
  siglip_label_cache_get_stats (cache, &s);
  g_assert_cmpuint (s.hits, ==, 1);
  siglip_model_free (m);

  siglip_error *err = NULL;
  g_assert_true (siglip_label_cache_clear (dir, &err));
  g_autoptr (GPtrArray) after = list_entries (dir);
  g_assert_cmpuint (after->len, ==, 0);
  siglip_label_cache_free (cache);
  for (int i = 0; i < 20; i++)
    g_clear_pointer (&storage[i], g_free);

  /* a directory that was never created is already clear */
  g_autofree char *never = test_out_path ("label-cache/never/x");
  g_autofree char *never_dir = g_build_filename (never, "missing", NULL);
  g_assert_true (siglip_label_cache_clear (never_dir, &err));
}

static void
test_default_directory (void)
{
  g_autofree char *saved = g_strdup (g_getenv ("XDG_CACHE_HOME"));
  g_setenv ("XDG_CACHE_HOME", "/somewhere/cache", TRUE);
  char *dir = siglip_label_cache_default_directory ();
  g_assert_cmpstr (dir, ==, "/somewhere/cache/siglens/labels");
  free (dir);
  g_setenv ("HOME", "/home/someone", TRUE);
  g_unsetenv ("XDG_CACHE_HOME");
  dir = siglip_label_cache_default_directory ();
  g_assert_cmpstr (dir, ==, "/home/someone/.cache/siglens/labels");
  free (dir);
  if (saved)
    g_setenv ("XDG_CACHE_HOME", saved, TRUE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/label-cache/hit-and-miss", test_hit_and_miss);
  g_test_add_func ("/label-cache/other-model-misses", test_other_model_misses);
  static const struct {
    const char *name;
    Damage how;
  } damages[] = {
    { "flipped-value", FLIP_VALUE }, { "flipped-key", FLIP_KEY }, { "truncated", TRUNCATE },
    { "empty", EMPTY }, { "garbage", GARBAGE },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (damages); i++)
    {
      g_autofree char *path = g_strdup_printf ("/label-cache/damaged/%s", damages[i].name);
      g_test_add_data_func (path, GINT_TO_POINTER (damages[i].how), test_damaged_entry_rebuilt);
    }
  g_test_add_func ("/label-cache/stray-temporary", test_stray_temporary_ignored);
  g_test_add_func ("/label-cache/killed-mid-write", test_killed_mid_write);
  g_test_add_func ("/label-cache/cap-and-clear", test_cap_and_clear);
  g_test_add_func ("/label-cache/default-directory", test_default_directory);
  return g_test_run ();
}
