/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

char *
test_data_path (const char *rel)
{
  const char *root = g_getenv ("SIGLENS_TEST_DATA");
  g_assert_nonnull (root);
  return g_build_filename (root, rel, NULL);
}

char *
test_out_path (const char *rel)
{
  const char *root = g_getenv ("SIGLENS_TEST_OUT");
  g_assert_nonnull (root);
  g_autofree char *path = g_build_filename (root, rel, NULL);
  g_autofree char *dir = g_path_get_dirname (path);
  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  return g_steal_pointer (&path);
}

void
test_empty_folder (const char *folder)
{
  g_autoptr (GDir) dir = g_dir_open (folder, 0, NULL);
  for (const char *entry; dir != NULL && (entry = g_dir_read_name (dir)) != NULL;)
    {
      g_autofree char *path = g_build_filename (folder, entry, NULL);
      g_assert_cmpint (g_remove (path), ==, 0);
    }
}

const cJSON *
test_manifest (void)
{
  static cJSON *manifest;
  if (!manifest)
    {
      g_autofree char *path = test_data_path ("golden/manifest.json");
      g_autofree char *text = NULL;
      g_autoptr (GError) error = NULL;
      g_file_get_contents (path, &text, NULL, &error);
      g_assert_no_error (error);
      manifest = cJSON_Parse (text);
      g_assert_nonnull (manifest);
    }
  return manifest;
}

const cJSON *
test_set_manifest (const char *set)
{
  static GHashTable *manifests; /* set -> cJSON, kept for the process */
  if (!manifests)
    manifests = g_hash_table_new (g_str_hash, g_str_equal);
  cJSON *manifest = g_hash_table_lookup (manifests, set);
  if (!manifest)
    {
      g_autofree char *rel = g_build_filename (set, "golden", "manifest.json", NULL);
      g_autofree char *path = test_data_path (rel);
      g_autofree char *text = NULL;
      g_autoptr (GError) error = NULL;
      g_file_get_contents (path, &text, NULL, &error);
      g_assert_no_error (error);
      manifest = cJSON_Parse (text);
      g_assert_nonnull (manifest);
      g_hash_table_insert (manifests, g_strdup (set), manifest);
    }
  return manifest;
}

static gpointer
read_golden_in (const char *set, const cJSON *desc, const char *dtype, gsize elem_size,
                gsize *n_out);

static gpointer
read_golden (const cJSON *desc, const char *dtype, gsize elem_size, gsize *n_out)
{
  return read_golden_in (NULL, desc, dtype, elem_size, n_out);
}

float *
test_set_golden_f32 (const char *set, const cJSON *desc, gsize *n_out)
{
  return read_golden_in (set, desc, "f32", sizeof (float), n_out);
}

guint8 *
test_set_golden_u8 (const char *set, const cJSON *desc, gsize *n_out)
{
  return read_golden_in (set, desc, "u8", 1, n_out);
}

static gpointer
read_golden_in (const char *set, const cJSON *desc, const char *dtype, gsize elem_size,
                gsize *n_out)
{
  const cJSON *file = cJSON_GetObjectItemCaseSensitive (desc, "file");
  const cJSON *type = cJSON_GetObjectItemCaseSensitive (desc, "dtype");
  const cJSON *shape = cJSON_GetObjectItemCaseSensitive (desc, "shape");
  g_assert_true (cJSON_IsString (file) && cJSON_IsString (type) && cJSON_IsArray (shape));
  g_assert_cmpstr (type->valuestring, ==, dtype);

  gsize n = 1;
  const cJSON *dim;
  cJSON_ArrayForEach (dim, shape)
    n *= (gsize) dim->valuedouble;

  g_autofree char *rel = set ? g_build_filename (set, "golden", file->valuestring, NULL)
                             : g_build_filename ("golden", file->valuestring, NULL);
  g_autofree char *path = test_data_path (rel);
  gchar *data = NULL;
  gsize len = 0;
  g_autoptr (GError) error = NULL;
  g_file_get_contents (path, &data, &len, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (len, ==, n * elem_size);
  if (n_out)
    *n_out = n;
  return data;
}

float *
test_golden_f32 (const cJSON *desc, gsize *n_out)
{
  return read_golden (desc, "f32", sizeof (float), n_out);
}

guint8 *
test_golden_u8 (const cJSON *desc, gsize *n_out)
{
  return read_golden (desc, "u8", 1, n_out);
}

gint32 *
test_golden_i32 (const cJSON *desc, gsize *n_out)
{
  return read_golden (desc, "i32", sizeof (gint32), n_out);
}

static const cJSON *
find_by_key (const cJSON *array, const char *key, const char *value)
{
  const cJSON *item;
  cJSON_ArrayForEach (item, array)
    {
      const cJSON *v = cJSON_GetObjectItemCaseSensitive (item, key);
      if (cJSON_IsString (v) && g_str_equal (v->valuestring, value))
        return item;
    }
  g_error ("no manifest entry with %s = %s", key, value);
  return NULL;
}

const cJSON *
test_manifest_model (const char *name)
{
  return find_by_key (cJSON_GetObjectItemCaseSensitive (test_manifest (), "models"), "name", name);
}

const cJSON *
test_manifest_image (const char *id)
{
  return find_by_key (cJSON_GetObjectItemCaseSensitive (test_manifest (), "images"), "id", id);
}

double
test_assert_close (const char *what, const float *actual, const float *golden, gsize n,
                   double abs_tol, double rel_tol)
{
  double worst = 0, worst_excess = 0;
  gsize worst_i = 0, bad = 0, first_bad = 0;
  for (gsize i = 0; i < n; i++)
    {
      double d = fabs ((double) actual[i] - (double) golden[i]);
      double limit = abs_tol + rel_tol * fabs ((double) golden[i]);
      if (!(d <= limit)) /* also catches NaN */
        {
          if (bad++ == 0)
            first_bad = i;
          if (!(d - limit <= worst_excess))
            worst_excess = d - limit, worst_i = i;
        }
      if (d > worst || isnan (d))
        worst = isnan (d) ? INFINITY : d;
    }
  if (bad)
    {
      g_test_message ("%s: %" G_GSIZE_FORMAT " of %" G_GSIZE_FORMAT " values out of tolerance "
                      "(abs %g + rel %g); first [%" G_GSIZE_FORMAT "] %.9g vs golden %.9g; worst "
                      "[%" G_GSIZE_FORMAT "] %.9g vs %.9g",
                      what, bad, n, abs_tol, rel_tol, first_bad, actual[first_bad],
                      golden[first_bad], worst_i, actual[worst_i], golden[worst_i]);
      g_test_fail_printf ("%s: %" G_GSIZE_FORMAT " values out of tolerance, max diff %g", what,
                          bad, worst);
    }
  return worst;
}

/* $SIGLENS_CLI and `args`, NULL-terminated (the strings borrowed). */
static GPtrArray *
cli_argv (const char *const *args)
{
  const char *cli = g_getenv ("SIGLENS_CLI");
  g_assert_nonnull (cli);
  GPtrArray *argv = g_ptr_array_new ();
  g_ptr_array_add (argv, (gpointer) cli);
  for (; *args; args++)
    g_ptr_array_add (argv, (gpointer) *args);
  g_ptr_array_add (argv, NULL);
  return argv;
}

TestRun
test_run_cli (const char *const *args, char **envp)
{
  g_autoptr (GPtrArray) argv = cli_argv (args);

  TestRun run = { 0 };
  int wait_status = 0;
  g_autoptr (GError) error = NULL;
  g_spawn_sync (NULL, (char **) argv->pdata, envp, G_SPAWN_DEFAULT, NULL, NULL, &run.out,
                &run.err, &wait_status, &error);
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (wait_status));
  run.status = WEXITSTATUS (wait_status);
  g_test_message ("exit %d\nstdout: %s\nstderr: %s", run.status, run.out, run.err);
  return run;
}

TestRun
test_run_cli_on_terminal (const char *const *args, char **envp)
{
  g_autoptr (GPtrArray) argv = cli_argv (args);

  int master = posix_openpt (O_RDWR | O_NOCTTY);
  g_assert_cmpint (master, >=, 0);
  g_assert_cmpint (grantpt (master), ==, 0);
  g_assert_cmpint (unlockpt (master), ==, 0);
  int slave = open (ptsname (master), O_RDWR | O_NOCTTY);
  g_assert_cmpint (slave, >=, 0);
  g_autoptr (GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE);
  g_subprocess_launcher_take_stderr_fd (launcher, slave);
  if (envp)
    g_subprocess_launcher_set_environ (launcher, envp);
  g_autoptr (GError) error = NULL;
  g_autoptr (GSubprocess) proc =
    g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_clear_object (&launcher); /* closes our copy of the slave: EOF/EIO once the child exits */

  GString *seen = g_string_new (NULL);
  char buf[4096];
  ssize_t n;
  while ((n = read (master, buf, sizeof buf)) > 0)
    g_string_append_len (seen, buf, n);
  g_subprocess_wait (proc, NULL, &error);
  g_assert_no_error (error);
  close (master);
  g_assert_true (g_subprocess_get_if_exited (proc));
  TestRun run = { g_subprocess_get_exit_status (proc), NULL, g_string_free (seen, FALSE) };
  g_test_message ("exit %d\nterminal: %s", run.status, run.err);
  return run;
}

void
test_run_clear (TestRun *run)
{
  g_clear_pointer (&run->out, g_free);
  g_clear_pointer (&run->err, g_free);
}

void
test_assert_error (siglip_error *error, siglip_status status, const char *what,
                   const char *const *needles)
{
  g_assert_nonnull (error);
  g_test_message ("%s -> %s: %s", what, siglip_status_name (error->status), error->message);
  g_assert_cmpstr (siglip_status_name (error->status), ==, siglip_status_name (status));
  for (int i = 0; needles[i]; i++)
    if (!strstr (error->message, needles[i]))
      g_error ("message \"%s\" does not mention \"%s\"", error->message, needles[i]);
  siglip_error_free (error);
}

static const cJSON *
json_number (const cJSON *obj, const char *key, int index)
{
  const cJSON *item = cJSON_GetObjectItemCaseSensitive (obj, key);
  if (index >= 0)
    item = cJSON_GetArrayItem (item, index);
  if (!cJSON_IsNumber (item))
    g_error ("JSON: %s%s is not a number", key, index >= 0 ? "[i]" : "");
  return item;
}

int
test_json_int (const cJSON *obj, const char *key, int index)
{
  return json_number (obj, key, index)->valueint;
}

double
test_json_double (const cJSON *obj, const char *key)
{
  return json_number (obj, key, -1)->valuedouble;
}

/* ---------------------------------------------------------------------------------------------
 * Model directories laid out as the Hub serves them
 */

/* Replaces `link` (if any) by a symlink to `target`. */
static void
symlink_fresh (const char *target, const char *link)
{
  g_unlink (link);
  if (symlink (target, link) != 0)
    g_error ("symlink %s -> %s: %s", link, target, g_strerror (errno));
}

static void
write_json (const char *path, const cJSON *json)
{
  g_autofree char *text = cJSON_Print (json);
  g_autoptr (GError) error = NULL;
  g_unlink (path);
  g_file_set_contents (path, text, -1, &error);
  g_assert_no_error (error);
}

static cJSON *
read_json (const char *path)
{
  g_autofree char *text = NULL;
  g_autoptr (GError) error = NULL;
  g_file_get_contents (path, &text, NULL, &error);
  g_assert_no_error (error);
  cJSON *json = cJSON_Parse (text);
  g_assert_nonnull (json);
  return json;
}

/* Drops the keys of a sub-config that equal transformers' class defaults, as save_pretrained's
 * to_diff_dict does (FACTS.md §9). */
static void
drop_defaults (cJSON *section)
{
  static const struct {
    const char *key;
    double number;
    const char *string;
  } defaults[] = {
    { "attention_dropout", 0.0, NULL }, { "layer_norm_eps", 1e-6, NULL },
    { "max_position_embeddings", 64, NULL }, { "num_channels", 3, NULL },
    { "num_patches", 256, NULL }, { "patch_size", 16, NULL }, { "image_size", 224, NULL },
    { "hidden_act", 0, "gelu_pytorch_tanh" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (defaults); i++)
    {
      const cJSON *v = cJSON_GetObjectItemCaseSensitive (section, defaults[i].key);
      if ((defaults[i].string && cJSON_IsString (v) && g_str_equal (v->valuestring, defaults[i].string))
          || (!defaults[i].string && cJSON_IsNumber (v)
              && fabs (v->valuedouble - defaults[i].number) <= 1e-12))
        cJSON_DeleteItemFromObjectCaseSensitive (section, defaults[i].key);
    }
}

char *
test_hub_layout_model (const char *src_rel, TestHubLayout layout)
{
  g_autofree char *src = test_data_path (src_rel);
  g_autofree char *base = g_path_get_basename (src_rel);
  /* per test program: meson runs them side by side, and a directory is rebuilt on each call */
  g_autofree char *program = g_path_get_basename (g_get_prgname ());
  g_autofree char *rel = g_strdup_printf ("hub-layout/%s/%s%s/x", program, base,
                                          layout == TEST_HUB_TOKENIZER ? "-tokenizer" : "");
  g_autofree char *inside = test_out_path (rel);
  char *dir = g_path_get_dirname (inside);

  /* the weights as they are: model.safetensors, or the shards and their index */
  g_autoptr (GDir) listing = g_dir_open (src, 0, NULL);
  g_assert_nonnull (listing);
  const char *name;
  while ((name = g_dir_read_name (listing)))
    if (g_str_has_suffix (name, ".safetensors") || g_str_equal (name, "model.safetensors.index.json"))
      {
        g_autofree char *target = g_build_filename (src, name, NULL);
        g_autofree char *link = g_build_filename (dir, name, NULL);
        symlink_fresh (target, link);
      }
  static const char *const tokenizer_files[] = { "tokenizer.json", "tokenizer_config.json",
                                                 "special_tokens_map.json" };
  for (gsize i = 0; i < G_N_ELEMENTS (tokenizer_files); i++)
    {
      g_autofree char *hub = g_build_filename ("gemma-tokenizer-hub", tokenizer_files[i], NULL);
      g_autofree char *hub_path = test_data_path (hub);
      g_autofree char *link = g_build_filename (dir, tokenizer_files[i], NULL);
      symlink_fresh (hub_path, link);
    }

  g_autofree char *config_src = g_build_filename (src, "config.json", NULL);
  g_autofree char *pre_src = g_build_filename (src, "preprocessor_config.json", NULL);
  g_autofree char *config_dst = g_build_filename (dir, "config.json", NULL);
  g_autofree char *pre_dst = g_build_filename (dir, "preprocessor_config.json", NULL);
  if (layout == TEST_HUB_TOKENIZER)
    {
      symlink_fresh (config_src, config_dst);
      symlink_fresh (pre_src, pre_dst);
      return dir;
    }

  /* config.json as save_pretrained writes it: diff-style, no initializer_factor at its default */
  cJSON *config = read_json (config_src);
  cJSON_DeleteItemFromObjectCaseSensitive (config, "initializer_factor");
  drop_defaults (cJSON_GetObjectItemCaseSensitive (config, "text_config"));
  drop_defaults (cJSON_GetObjectItemCaseSensitive (config, "vision_config"));
  write_json (config_dst, config);
  cJSON_Delete (config);

  /* the processor the Hub's files name: the torchvision "Fast" one */
  cJSON *pre = read_json (pre_src);
  const cJSON *type = cJSON_GetObjectItemCaseSensitive (pre, "image_processor_type");
  g_assert_true (cJSON_IsString (type));
  g_autofree char *fast = g_strconcat (type->valuestring, "Fast", NULL);
  cJSON_ReplaceItemInObjectCaseSensitive (pre, "image_processor_type", cJSON_CreateString (fast));
  write_json (pre_dst, pre);
  cJSON_Delete (pre);
  return dir;
}

static gboolean
flag_set (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

gboolean
test_spin_until (gboolean (*done) (gpointer data), gpointer data, guint seconds)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add_seconds (seconds, flag_set, &timed_out);

  while (!done (data) && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (id);
  return !timed_out;
}

void
test_wait_until (gboolean (*done) (gpointer data), gpointer data, const char *what)
{
  if (!test_spin_until (done, data, TEST_WAIT_SECONDS))
    g_error ("timed out waiting for %s", what);
}

void
test_drain_main_context (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}
