/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The downloader against a Hub imitation on 127.0.0.1 (tests/fake-hub.c): full download into
 * the HF cache layout, resume after the server closed early (within this process and across
 * two runs of siglens-cli), checksum mismatch, 404, 401 with and without a token, cancel,
 * disk space, an unreachable server, siglens-cli killed (SIGKILL) in the middle of the weights;
 * and the parsers on hostile input.
 */
#include <glib/gstdio.h>
#include <signal.h>
#include <sys/wait.h>
#include <string.h>
#include <unistd.h>

#include "fake-hub.h"
#include "siglens-downloader.h"
#include "siglens-hub-cache.h"
#include "siglens-hub-parse.h"
#include "siglip.h"
#include "test-util.h"

#define BIG_ID    "google/siglip2-so400m-patch16-naflex"
#define SMALL_ID  "test/small"
#define BIG_SIZE  (3 * 1000 * 1000)
/* Resuming may repeat at most one read chunk, never the file. */
#define RESUME_SLACK (300 * 1000)

static gboolean
flag_set (gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

static void
spin_until (gboolean *done, const char *what)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add_seconds (120, flag_set, &timed_out);

  while (!*done && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (timed_out)
    g_error ("timed out waiting for %s", what);
  g_source_remove (id);
}

/* A fresh cache folder for one test. (transfer full) */
static char *
fresh_cache (const char *name)
{
  g_autofree char *rel = g_build_filename ("download", name, "x", NULL);
  g_autofree char *x = test_out_path (rel);
  g_autofree char *cache = g_path_get_dirname (x);
  g_autoptr (GDir) dir = NULL;
  const char *entry;

  g_mkdir_with_parents (cache, 0755);
  dir = g_dir_open (cache, 0, NULL);
  while (dir != NULL && (entry = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (cache, entry, NULL);

      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        g_assert_true (siglens_hub_cache_remove_repo (path, NULL));
      else
        g_assert_cmpint (g_unlink (path), ==, 0);
    }
  return g_steal_pointer (&cache);
}

/* Random bytes the same in every run. */
static GBytes *
pseudo_random_bytes (gsize n, guint32 seed)
{
  guint8 *data = g_malloc (n);
  GRand *rand = g_rand_new_with_seed (seed);

  for (gsize i = 0; i < n; i++)
    data[i] = (guint8) g_rand_int (rand);
  g_rand_free (rand);
  return g_bytes_new_take (data, n);
}

static FakeHub *
new_hub (void)
{
  FakeHub *hub = fake_hub_new ();
  g_autofree char *tiny = test_data_path ("tiny-siglip2-naflex");
  g_autoptr (GBytes) config = g_bytes_new_static ("{\"model_type\": \"siglip\"}", 24);
  g_autoptr (GBytes) weights = pseudo_random_bytes (BIG_SIZE, 12);

  fake_hub_add_dir (hub, BIG_ID, tiny);
  fake_hub_add_file (hub, SMALL_ID, "config.json", config, FALSE);
  fake_hub_add_file (hub, SMALL_ID, "model.safetensors", weights, TRUE);
  return hub;
}

typedef struct {
  gboolean done;
  char *snapshot;
  GError *error;
} RunResult;

static void
on_run_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  RunResult *r = user_data;

  r->snapshot = siglens_downloader_run_finish (SIGLENS_DOWNLOADER (source), result, &r->error);
  r->done = TRUE;
}

/* One whole run; returns the snapshot or NULL with *error set. */
static char *
download (SiglensDownloader *d, const char *cache, GError **error)
{
  RunResult r = { 0 };

  siglens_downloader_set_cache_dir (d, cache);
  siglens_downloader_run_async (d, NULL, on_run_done, &r);
  spin_until (&r.done, "the download");
  if (r.error != NULL)
    {
      g_test_message ("download error: %s", r.error->message);
      g_propagate_error (error, r.error);
    }
  return r.snapshot;
}

static char *
repo_file (const char *cache, const char *repo, const char *rel)
{
  g_autofree char *repo_dir = siglens_hub_cache_repo_dir (cache, repo);
  return g_build_filename (repo_dir, rel, NULL);
}

static void
assert_no_incomplete (const char *cache, const char *repo)
{
  g_autofree char *blobs = repo_file (cache, repo, "blobs");
  g_autoptr (GDir) dir = g_dir_open (blobs, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    g_assert_false (g_str_has_suffix (name, ".incomplete"));
}

static gint64
file_size (const char *path)
{
  GStatBuf st;
  return g_stat (path, &st) == 0 ? (gint64) st.st_size : -1;
}

/* No ref, no snapshot at all (the core would take a lone snapshot without refs/main), and the
 * core's Hub id lookup finds nothing. */
static void
assert_nothing_loadable (const char *cache, const char *repo)
{
  g_autofree char *ref = repo_file (cache, repo, "refs/main");
  g_autofree char *snapshots = repo_file (cache, repo, "snapshots");
  siglip_error *err = NULL;
  char *resolved;

  g_assert_false (g_file_test (ref, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (snapshots, G_FILE_TEST_EXISTS));
  g_setenv ("HF_HUB_CACHE", cache, TRUE);
  resolved = siglip_resolve_model_path (repo, &err);
  g_unsetenv ("HF_HUB_CACHE");
  g_assert_null (resolved);
  g_assert_nonnull (err);
  siglip_error_free (err);
}

/* ------------------------------------------------------------------------------------------- */

static void
test_full (void)
{
  g_autoptr (FakeHub) hub = new_hub ();
  g_autofree char *cache = fresh_cache ("full");
  g_autoptr (SiglensDownloader) d = siglens_downloader_new (BIG_ID, NULL, fake_hub_endpoint (hub));
  g_autoptr (GError) error = NULL;
  g_autofree char *snapshot = download (d, cache, &error);
  g_autofree char *expected = repo_file (cache, BIG_ID, "snapshots/" FAKE_HUB_COMMIT);
  g_autofree char *ref_path = repo_file (cache, BIG_ID, "refs/main");
  g_autofree char *ref = NULL;
  g_autofree char *tiny = test_data_path ("tiny-siglip2-naflex");
  const char *names[] = { "config.json", "preprocessor_config.json", "tokenizer.json",
                          "tokenizer_config.json", "special_tokens_map.json",
                          "model.safetensors" };
  gint64 total = 0;
  siglip_error *err = NULL;
  siglip_model *model;

  g_assert_no_error (error);
  g_assert_cmpstr (snapshot, ==, expected);
  g_assert_true (g_file_get_contents (ref_path, &ref, NULL, NULL));
  g_assert_cmpstr (ref, ==, FAKE_HUB_COMMIT);

  for (gsize i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *link = g_build_filename (snapshot, names[i], NULL);
      g_autofree char *target = g_file_read_link (link, NULL);
      g_autofree char *source = g_build_filename (tiny, names[i], NULL);
      g_autofree char *got = NULL, *want = NULL;
      gsize got_n, want_n;

      /* Relative, into blobs/, as huggingface_hub links them. */
      g_assert_nonnull (target);
      g_assert_true (g_str_has_prefix (target, "../../blobs/"));
      g_assert_true (g_file_get_contents (link, &got, &got_n, NULL));
      g_assert_true (g_file_get_contents (source, &want, &want_n, NULL));
      g_assert_cmpmem (got, got_n, want, want_n);
      total += (gint64) want_n;
    }
  /* LFS blobs are named by their sha256, small ones by their git id. */
  {
    g_autofree char *link = g_build_filename (snapshot, "model.safetensors", NULL);
    g_autofree char *target = g_file_read_link (link, NULL);
    g_assert_true (siglens_hub_etag_is_sha256 (target + strlen ("../../blobs/")));
  }
  /* Not model files: never fetched. */
  {
    g_autofree char *readme = g_build_filename (snapshot, "README.md", NULL);
    g_assert_false (g_file_test (readme, G_FILE_TEST_EXISTS));
  }
  assert_no_incomplete (cache, BIG_ID);
  g_assert_cmpint (siglens_downloader_get_bytes_total (d), ==, total);
  g_assert_cmpint (siglens_downloader_get_bytes_done (d), ==, total);
  g_assert_cmpint (siglens_downloader_get_bytes_fetched (d), ==, total);
  g_assert_cmpint (siglens_downloader_get_phase (d), ==, SIGLENS_DOWNLOAD_PHASE_DONE);
  g_assert_false (hub->storage_saw_auth);

  /* The core loads it by its Hub id from that cache. */
  g_setenv ("HF_HUB_CACHE", cache, TRUE);
  model = siglip_model_load (BIG_ID, NULL, &err);
  g_unsetenv ("HF_HUB_CACHE");
  if (err != NULL)
    g_error ("%s", err->message);
  g_assert_nonnull (model);
  siglip_model_free (model);

  /* A second run finds everything in place and fetches nothing. */
  {
    g_autoptr (SiglensDownloader) again = siglens_downloader_new (BIG_ID, NULL,
                                                                 fake_hub_endpoint (hub));
    g_autofree char *snapshot2 = download (again, cache, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (snapshot2, ==, snapshot);
    g_assert_cmpint (siglens_downloader_get_bytes_fetched (again), ==, 0);
  }
}

static void
test_resume (void)
{
  g_autoptr (FakeHub) hub = new_hub ();
  g_autofree char *cache = fresh_cache ("resume");
  g_autoptr (SiglensDownloader) d = siglens_downloader_new (SMALL_ID, NULL, fake_hub_endpoint (hub));
  g_autoptr (GError) error = NULL;
  g_autofree char *snapshot = NULL;
  g_autofree char *weights = NULL;
  g_autofree char *blobs = repo_file (cache, SMALL_ID, "blobs");

  hub->close_after = 1000 * 1000;
  snapshot = download (d, cache, &error);
  g_assert_null (snapshot);
  g_assert_error (error, SIGLENS_DOWNLOAD_ERROR, SIGLENS_DOWNLOAD_ERROR_INTERRUPTED);
  g_assert_nonnull (strstr (error->message, "closed the connection early"));
  g_assert_nonnull (strstr (error->message, "model.safetensors"));
  g_assert_nonnull (strstr (error->message, "again"));
  g_clear_error (&error);
  assert_nothing_loadable (cache, SMALL_ID);

  /* What arrived is kept as BLOB.incomplete... */
  {
    g_autoptr (GDir) dir = g_dir_open (blobs, 0, NULL);
    const char *name;
    gint64 partial = -1;

    while ((name = g_dir_read_name (dir)) != NULL)
      if (g_str_has_suffix (name, ".incomplete"))
        {
          g_autofree char *path = g_build_filename (blobs, name, NULL);
          partial = file_size (path);
        }
    g_assert_cmpint (partial, ==, 1000 * 1000);
  }

  /* ...and the next run asks only for the rest. */
  snapshot = download (d, cache, &error);
  g_assert_no_error (error);
  weights = g_build_filename (snapshot, "model.safetensors", NULL);
  g_assert_cmpint (file_size (weights), ==, BIG_SIZE);
  g_assert_cmpint (hub->storage_bytes, >=, BIG_SIZE);
  g_assert_cmpint (hub->storage_bytes, <=, BIG_SIZE + RESUME_SLACK);
  g_assert_cmpint (hub->storage_requests, ==, 2);
  assert_no_incomplete (cache, SMALL_ID);
}

static void
test_checksum_mismatch (void)
{
  g_autoptr (FakeHub) hub = new_hub ();
  g_autofree char *cache = fresh_cache ("checksum");
  g_autoptr (SiglensDownloader) d = siglens_downloader_new (SMALL_ID, NULL, fake_hub_endpoint (hub));
  g_autoptr (GError) error = NULL;
  g_autofree char *snapshot = NULL;
  g_autofree char *blobs = repo_file (cache, SMALL_ID, "blobs");
  g_autoptr (GDir) dir = NULL;
  const char *name;

  hub->corrupt = TRUE;
  snapshot = download (d, cache, &error);
  g_assert_null (snapshot);
  g_assert_error (error, SIGLENS_DOWNLOAD_ERROR, SIGLENS_DOWNLOAD_ERROR_CHECKSUM);
  g_assert_nonnull (strstr (error->message, "model.safetensors"));
  g_assert_nonnull (strstr (error->message, "deleted"));
  g_clear_error (&error);

  /* Nothing of the damaged file is left, nothing points at it, no ref names the snapshot. */
  assert_nothing_loadable (cache, SMALL_ID);
  dir = g_dir_open (blobs, 0, NULL);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (blobs, name, NULL);
      /* Only the small config may be there: no blob of the weights' size. */
      g_assert_cmpint (file_size (path), <, 1000);
    }

  /* The next run fetches it anew and succeeds. */
  snapshot = download (d, cache, &error);
  g_assert_no_error (error);
  g_assert_nonnull (snapshot);
}

static void
test_not_found (void)
{
  g_autoptr (FakeHub) hub = new_hub ();
  g_autofree char *cache = fresh_cache ("not-found");
  g_autoptr (SiglensDownloader) d = siglens_downloader_new ("google/no-such-model", NULL,
                                                           fake_hub_endpoint (hub));
  g_autoptr (SiglensDownloader) bad_rev = siglens_downloader_new (SMALL_ID, "v9",
                                                                 fake_hub_endpoint (hub));
  g_autoptr (GError) error = NULL;

  g_assert_null (download (d, cache, &error));
  g_assert_error (error, SIGLENS_DOWNLOAD_ERROR, SIGLENS_DOWNLOAD_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "google/no-such-model"));
  g_clear_error (&error);

  g_assert_null (download (bad_rev, cache, &error));
  g_assert_error (error, SIGLENS_DOWNLOAD_ERROR, SIGLENS_DOWNLOAD_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "v9"));
}

static void
test_unauthorized (void)
{
  g_autoptr (FakeHub) hub = new_hub ();
  g_autofree char *cache = fresh_cache ("unauthorized");
  g_autoptr (GError) error = NULL;
  g_autofree char *snapshot = NULL;

  hub->token = g_strdup ("hf_sEcReT");
  {
    g_autoptr (SiglensDownloader) d = siglens_downloader_new (SMALL_ID, NULL,
                                                             fake_hub_endpoint (hub));
    g_assert_null (download (d, cache, &error));
    g_assert_error (error, SIGLENS_DOWNLOAD_ERROR, SIGLENS_DOWNLOAD_ERROR_UNAUTHORIZED);
    /* Says how to pass a token. */
    g_assert_nonnull (strstr (error->message, "HF_TOKEN"));
    g_assert_nonnull (strstr (error->message, "401"));
    g_clear_error (&error);
  }
  /* A wrong token: refused, and the message says the token was the problem. */
  g_setenv ("HF_TOKEN", "hf_wrong", TRUE);
  {
    g_autoptr (SiglensDownloader) d = siglens_downloader_new (SMALL_ID, NULL,
                                                             fake_hub_endpoint (hub));
    g_assert_null (download (d, cache, &error));
    g_assert_error (error, SIGLENS_DOWNLOAD_ERROR, SIGLENS_DOWNLOAD_ERROR_UNAUTHORIZED);
    g_assert_nonnull (strstr (error->message, "token"));
    g_clear_error (&error);
  }
  /* The right token from the file huggingface_hub's login writes ($HF_HOME/token). */
  g_unsetenv ("HF_TOKEN");
  {
    g_autofree char *home = g_strdup (g_getenv ("HF_HOME"));
    g_autofree char *token_file = g_build_filename (home, "token", NULL);
    g_autoptr (SiglensDownloader) d = siglens_downloader_new (SMALL_ID, NULL,
                                                             fake_hub_endpoint (hub));

    g_assert_true (g_file_set_contents (token_file, "hf_sEcReT\n", -1, NULL));
    snapshot = download (d, cache, &error);
    g_unlink (token_file);
  }
  g_assert_no_error (error);
  g_assert_nonnull (snapshot);
  g_assert_cmpuint (hub->endpoint_auth_seen, >, 0);
  /* The storage host (another origin) never saw the token. */
  g_assert_cmpuint (hub->storage_requests, >, 0);
  g_assert_false (hub->storage_saw_auth);
}

typedef struct {
  SiglensDownloader *downloader;
  GCancellable *cancellable;
} CancelWatch;

/* Cancels once bytes arrived, as a person clicking Pause does. */
static gboolean
cancel_once_bytes_arrive (gpointer user_data)
{
  CancelWatch *watch = user_data;

  if (siglens_downloader_get_bytes_fetched (watch->downloader) < 100 * 1000)
    return G_SOURCE_CONTINUE;
  g_cancellable_cancel (watch->cancellable);
  return G_SOURCE_REMOVE;
}

static void
test_cancel (void)
{
  g_autoptr (FakeHub) hub = new_hub ();
  g_autofree char *cache = fresh_cache ("cancel");
  g_autoptr (SiglensDownloader) d = siglens_downloader_new (SMALL_ID, NULL, fake_hub_endpoint (hub));
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  g_autoptr (GError) error = NULL;
  g_autofree char *snapshot = NULL;
  RunResult r = { 0 };
  CancelWatch watch = { d, cancellable };

  /* The storage sends 200 kB and then nothing: only cancelling ends the run (well before the
   * session's 60 s timeout). */
  hub->stall_after = 200 * 1000;
  g_timeout_add (20, cancel_once_bytes_arrive, &watch);
  siglens_downloader_set_cache_dir (d, cache);
  siglens_downloader_run_async (d, cancellable, on_run_done, &r);
  spin_until (&r.done, "the cancelled download");
  g_assert_null (r.snapshot);
  g_assert_error (r.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&r.error);
  assert_nothing_loadable (cache, SMALL_ID);

  /* Cancelling is pausing: running again resumes. */
  snapshot = download (d, cache, &error);
  g_assert_no_error (error);
  g_assert_nonnull (snapshot);
  g_assert_cmpint (hub->storage_bytes, <=, BIG_SIZE + RESUME_SLACK);
}

static void
test_disk_space (void)
{
  g_autoptr (FakeHub) hub = new_hub ();
  g_autofree char *cache = fresh_cache ("disk-space");
  g_autoptr (SiglensDownloader) d = siglens_downloader_new (SMALL_ID, NULL, fake_hub_endpoint (hub));
  g_autoptr (GError) error = NULL;

  /* 1 PB claimed: no disk here has that free; nothing may be fetched before saying so. */
  hub->claimed_size = G_GINT64_CONSTANT (1000000000000000);
  g_assert_null (download (d, cache, &error));
  g_assert_error (error, SIGLENS_DOWNLOAD_ERROR, SIGLENS_DOWNLOAD_ERROR_DISK_FULL);
  g_assert_nonnull (strstr (error->message, "PB more"));
  g_assert_cmpint (hub->storage_bytes, ==, 0);
}

static void
test_no_network (void)
{
  g_autofree char *cache = fresh_cache ("no-network");
  g_autoptr (GError) error = NULL;
  g_autoptr (GSocket) socket = NULL;
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) addr = g_inet_socket_address_new (lo, 0);
  g_autoptr (GSocketAddress) bound = NULL;
  g_autofree char *endpoint = NULL;
  g_autoptr (SiglensDownloader) d = NULL;

  /* A port bound but never listened on refuses connections. */
  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
  g_assert_true (g_socket_bind (socket, addr, TRUE, NULL));
  bound = g_socket_get_local_address (socket, NULL);
  endpoint = g_strdup_printf ("http://127.0.0.1:%u",
                              g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));
  d = siglens_downloader_new (SMALL_ID, NULL, endpoint);
  g_assert_null (download (d, cache, &error));
  g_assert_error (error, SIGLENS_DOWNLOAD_ERROR, SIGLENS_DOWNLOAD_ERROR_NETWORK);
  g_assert_nonnull (strstr (error->message, "127.0.0.1"));
}

/* The shared cache unwritable (the Flatpak's read-only share): the app's data folder is used,
 * and the core finds the model there by its Hub id. */
static void
test_app_folder_fallback (void)
{
  g_autoptr (FakeHub) hub = new_hub ();
  g_autofree char *data_home = fresh_cache ("fallback-blocker");
  g_autofree char *blocker = g_build_filename (data_home, "not-a-folder", NULL);
  g_autofree char *unwritable = g_build_filename (blocker, "hub", NULL);
  g_autofree char *chosen = NULL;
  g_autofree char *app_dir = NULL;
  g_autofree char *resolved = NULL;

  /* A path under a plain file can be created by nobody, root included. */
  g_assert_true (g_file_set_contents (blocker, "", 0, NULL));
  g_setenv ("HF_HUB_CACHE", unwritable, TRUE);
  chosen = siglens_hub_cache_choose_dir ();
  app_dir = siglens_hub_cache_app_dir ();
  g_assert_cmpstr (chosen, ==, app_dir);
  {
    g_autoptr (SiglensDownloader) d = siglens_downloader_new (SMALL_ID, NULL,
                                                             fake_hub_endpoint (hub));
    g_autoptr (GError) error = NULL;
    RunResult r = { 0 };

    /* No cache dir set: the downloader chooses, as the window and the CLI let it. */
    siglens_downloader_run_async (d, NULL, on_run_done, &r);
    spin_until (&r.done, "the download");
    g_assert_no_error (r.error);
    g_assert_true (g_str_has_prefix (r.snapshot, app_dir));
    resolved = siglip_resolve_model_path (SMALL_ID, NULL);
    g_assert_cmpstr (resolved, ==, r.snapshot);
    g_free (r.snapshot);
    g_assert_true (siglens_hub_cache_remove_repo (siglens_downloader_get_repo_dir (d), NULL));
  }
  g_unsetenv ("HF_HUB_CACHE");
}

/* ------------------------------------------------------------------------------------------- */
/* The command line, against the server this process runs. */

typedef struct {
  gboolean done;
  int status;
  char *out;
  char *err;
} CliRun;

static void
on_cli_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  CliRun *run = user_data;
  g_autoptr (GError) error = NULL;

  g_subprocess_communicate_utf8_finish (G_SUBPROCESS (source), result, &run->out, &run->err,
                                        &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (G_SUBPROCESS (source)));
  run->status = g_subprocess_get_exit_status (G_SUBPROCESS (source));
  run->done = TRUE;
}

static CliRun
run_cli (const char *cache, const char *const *args)
{
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                                                        | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_autoptr (GSubprocess) process = NULL;
  g_autoptr (GError) error = NULL;
  CliRun run = { 0 };

  g_subprocess_launcher_setenv (launcher, "HF_HUB_CACHE", cache, TRUE);
  g_ptr_array_add (argv, (gpointer) g_getenv ("SIGLENS_CLI"));
  g_ptr_array_add (argv, "download");
  for (; *args != NULL; args++)
    g_ptr_array_add (argv, (gpointer) *args);
  g_ptr_array_add (argv, NULL);
  process = g_subprocess_launcher_spawnv (launcher, (const char *const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8_async (process, NULL, NULL, on_cli_done, &run);
  spin_until (&run.done, "siglens-cli download");
  g_test_message ("exit %d\nstdout:\n%s\nstderr:\n%s", run.status, run.out, run.err);
  return run;
}

static void
cli_run_clear (CliRun *run)
{
  g_free (run->out);
  g_free (run->err);
}

static void
test_cli (void)
{
  g_autoptr (FakeHub) hub = new_hub ();
  g_autofree char *cache = fresh_cache ("cli");
  g_autofree char *expected = repo_file (cache, SMALL_ID, "snapshots/" FAKE_HUB_COMMIT "\n");
  CliRun run;

  /* The first run is cut off by the server: exit 1, the reason, how to go on. */
  hub->close_after = 1200 * 1000;
  run = run_cli (cache, TEST_ARGS ("--repo", SMALL_ID, "--endpoint", fake_hub_endpoint (hub)));
  g_assert_cmpint (run.status, ==, 1);
  g_assert_cmpstr (run.out, ==, "");
  g_assert_nonnull (strstr (run.err, "closed the connection early"));
  /* No terminal: plain lines, no carriage returns. */
  g_assert_nonnull (strstr (run.err, "Fetching model.safetensors\n"));
  g_assert_null (strchr (run.err, '\r'));
  cli_run_clear (&run);
  assert_nothing_loadable (cache, SMALL_ID);

  /* Run again (a new process: a restart): it resumes, verifies, prints the folder, exits 0. */
  run = run_cli (cache, TEST_ARGS ("--repo", SMALL_ID, "--endpoint", fake_hub_endpoint (hub)));
  g_assert_cmpint (run.status, ==, 0);
  g_assert_cmpstr (run.out, ==, expected);
  g_assert_nonnull (strstr (run.err, "verified"));
  cli_run_clear (&run);
  g_assert_cmpint (hub->storage_bytes, <=, BIG_SIZE + RESUME_SLACK);
  g_assert_cmpint (hub->storage_requests, ==, 2);

  /* $HF_ENDPOINT is the endpoint when --endpoint is not given; 404 says what is missing. */
  {
    g_autoptr (GSubprocessLauncher) unused = NULL;
    g_setenv ("HF_ENDPOINT", fake_hub_endpoint (hub), TRUE);
    run = run_cli (cache, TEST_ARGS ("--repo", "google/nothing-here"));
    g_unsetenv ("HF_ENDPOINT");
    g_assert_cmpint (run.status, ==, 1);
    g_assert_nonnull (strstr (run.err, "no repository google/nothing-here"));
    cli_run_clear (&run);
  }

  /* Bad usage: exit 2. */
  run = run_cli (cache, TEST_ARGS ("--repo", "../../etc"));
  g_assert_cmpint (run.status, ==, 1);
  g_assert_nonnull (strstr (run.err, "not a Hugging Face repository id"));
  cli_run_clear (&run);
  run = run_cli (cache, TEST_ARGS ("google/siglip2"));
  g_assert_cmpint (run.status, ==, 2);
  cli_run_clear (&run);
}

/* On a terminal (util-linux `script` gives the CLI one): one bar redrawn in place with the
 * bytes, the speed and the time left. */
static void
test_cli_tty (void)
{
  g_autoptr (FakeHub) hub = new_hub ();
  g_autofree char *cache = fresh_cache ("cli-tty");
  g_autofree char *command = g_strdup_printf ("HF_HUB_CACHE=%s %s download --repo %s "
                                              "--endpoint %s", cache, g_getenv ("SIGLENS_CLI"),
                                              SMALL_ID, fake_hub_endpoint (hub));
  g_autoptr (GSubprocess) process = NULL;
  g_autoptr (GError) error = NULL;
  CliRun run = { 0 };

  process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                              &error, "script", "-qefc", command, "/dev/null", NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8_async (process, NULL, NULL, on_cli_done, &run);
  spin_until (&run.done, "siglens-cli download on a terminal");
  g_test_message ("exit %d\n%s", run.status, run.out);
  g_assert_cmpint (run.status, ==, 0);
  /* Redrawn with carriage returns, never a line per update; ends at 100% with the sizes. */
  g_assert_nonnull (strchr (run.out, '\r'));
  g_assert_nonnull (strstr (run.out, "100% [########################]"));
  g_assert_nonnull (strstr (run.out, " / 3.0"));
  g_assert_nonnull (strstr (run.out, "left"));
  g_assert_null (strstr (run.out, "Fetching "));
  g_assert_nonnull (strstr (run.out, "verified"));
  cli_run_clear (&run);
}

static gboolean
interrupt (gpointer process)
{
  g_subprocess_send_signal (process, SIGINT);
  return G_SOURCE_REMOVE;
}

/* Ctrl+C while bytes arrive: exit 130, says how to go on, keeps what arrived for the next run. */
static void
test_cli_interrupted (void)
{
  g_autoptr (FakeHub) hub = new_hub ();
  g_autofree char *cache = fresh_cache ("cli-interrupted");
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                                                        | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr (GSubprocess) process = NULL;
  g_autoptr (GError) error = NULL;
  g_autofree char *blobs = repo_file (cache, SMALL_ID, "blobs");
  g_autoptr (GDir) dir = NULL;
  const char *name;
  gboolean kept = FALSE;
  CliRun run = { 0 };

  hub->stall_after = 500 * 1000;
  g_subprocess_launcher_setenv (launcher, "HF_HUB_CACHE", cache, TRUE);
  process = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("SIGLENS_CLI"), "download",
                                         "--repo", SMALL_ID, "--endpoint",
                                         fake_hub_endpoint (hub), NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8_async (process, NULL, NULL, on_cli_done, &run);
  /* Interrupt once the storage has sent its bytes and stalls. */
  while (hub->storage_bytes == 0)
    g_main_context_iteration (NULL, TRUE);
  g_timeout_add (300, interrupt, process);
  spin_until (&run.done, "the interrupted siglens-cli download");
  g_test_message ("exit %d\n%s", run.status, run.err);
  g_assert_cmpint (run.status, ==, 130);
  g_assert_nonnull (strstr (run.err, "interrupted"));
  g_assert_nonnull (strstr (run.err, "again"));
  cli_run_clear (&run);
  dir = g_dir_open (blobs, 0, NULL);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (blobs, name, NULL);
      if (g_str_has_suffix (name, ".incomplete") && file_size (path) == 500 * 1000)
        kept = TRUE;
    }
  g_assert_true (kept);
  assert_nothing_loadable (cache, SMALL_ID);
}

/* ------------------------------------------------------------------------------------------- */
/* A kill: `siglens-cli download` dies by SIGKILL in the middle of the weights. */

#define OLD_COMMIT "fedcba9876543210fedcba9876543210fedcba98"

typedef struct {
  gboolean done;
  gboolean signaled;
  int      signal;
} KilledRun;

static void
on_killed_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  KilledRun *run = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *out = NULL, *err = NULL;

  g_subprocess_communicate_utf8_finish (G_SUBPROCESS (source), result, &out, &err, &error);
  g_assert_no_error (error);
  g_test_message ("killed run's stderr:\n%s", err);
  run->signaled = g_subprocess_get_if_signaled (G_SUBPROCESS (source));
  run->signal = run->signaled ? g_subprocess_get_term_sig (G_SUBPROCESS (source)) : 0;
  run->done = TRUE;
}

static gboolean
tick (gpointer unused)
{
  return G_SOURCE_CONTINUE;
}

/* A model an earlier download left complete: snapshots/OLD_COMMIT with the fixture's files,
 * refs/main naming it. */
static char *
plant_old_snapshot (const char *cache)
{
  g_autofree char *tiny = test_data_path ("tiny-siglip2-naflex");
  g_autofree char *ref = repo_file (cache, BIG_ID, "refs/main");
  char *snapshot = repo_file (cache, BIG_ID, "snapshots/" OLD_COMMIT);
  g_autoptr (GDir) dir = g_dir_open (tiny, 0, NULL);
  g_autofree char *refs = g_path_get_dirname (ref);
  const char *name;

  g_assert_cmpint (g_mkdir_with_parents (snapshot, 0755), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (refs, 0755), ==, 0);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *from = g_build_filename (tiny, name, NULL);
      g_autofree char *link = g_build_filename (snapshot, name, NULL);
      g_assert_cmpint (symlink (from, link), ==, 0);
    }
  g_assert_true (g_file_set_contents (ref, OLD_COMMIT, -1, NULL));
  return snapshot;
}

/* No snapshot names the weights' blob, finished or not. */
static void
assert_no_snapshot_links (const char *cache, const char *blob_name)
{
  g_autofree char *snapshots = repo_file (cache, BIG_ID, "snapshots");
  g_autoptr (GDir) dir = g_dir_open (snapshots, 0, NULL);
  const char *commit;

  while (dir != NULL && (commit = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *folder = g_build_filename (snapshots, commit, NULL);
      g_autoptr (GDir) files = g_dir_open (folder, 0, NULL);
      const char *name;

      g_assert_nonnull (files);
      while ((name = g_dir_read_name (files)) != NULL)
        {
          g_autofree char *link = g_build_filename (folder, name, NULL);
          g_autofree char *target = g_file_read_link (link, NULL);
          g_assert_true (target == NULL || strstr (target, blob_name) == NULL);
        }
    }
}

/* siglens-cli classify --model BIG_ID from `cache`: the golden numbers (test-cli-classify.c's
 * tolerances: logits abs 1e-4, probabilities abs 3e-5). */
static void
assert_classifies_as_golden (const char *cache)
{
  const cJSON *m = test_manifest_model ("tiny-siglip2-naflex");
  g_autofree float *golden_logits = test_golden_f32 (cJSON_GetObjectItem (m, "logits_per_image"),
                                                     NULL);
  g_autofree float *golden_probs = test_golden_f32 (cJSON_GetObjectItem (m, "probs"), NULL);
  g_autofree char *image = test_data_path ("images/chelsea.png");
  g_autofree char *own_cache = test_out_path ("download-xdg-cache");
  g_auto (GStrv) hub_env = g_environ_setenv (g_get_environ (), "HF_HUB_CACHE", cache, TRUE);
  /* Its label cache in a folder of its own: XDG_CACHE_HOME is shared by the tests running
   * beside this one, and test-batch-window counts the entries there. */
  g_auto (GStrv) envp = g_environ_setenv (g_steal_pointer (&hub_env), "XDG_CACHE_HOME", own_cache,
                                          TRUE);
  TestRun run = test_run_cli (TEST_ARGS ("classify", "--model", BIG_ID, "--labels",
                                         "cat, dog, a red car, coffee, 一只猫, rocket ship",
                                         "--json", image), envp);
  const cJSON *images = cJSON_GetObjectItem (m, "images"), *entry;
  cJSON *result = NULL, *scores;
  float logits[6], probs[6];
  int idx = -1, i = 0;

  g_assert_cmpint (run.status, ==, 0);
  cJSON_ArrayForEach (entry, images)
    {
      if (g_strcmp0 (cJSON_GetObjectItem (entry, "image")->valuestring, "chelsea") == 0)
        idx = i;
      i++;
    }
  g_assert_cmpint (idx, >=, 0);
  result = cJSON_Parse (run.out);
  g_assert_nonnull (result);
  scores = cJSON_GetObjectItem (result, "scores");
  g_assert_cmpint (cJSON_GetArraySize (scores), ==, 6);
  for (int t = 0; t < 6; t++)
    {
      const cJSON *score = cJSON_GetArrayItem (scores, t);
      logits[t] = (float) cJSON_GetObjectItem (score, "logit")->valuedouble;
      probs[t] = (float) cJSON_GetObjectItem (score, "probability")->valuedouble;
    }
  /* the default template: golden columns 6..11 */
  test_assert_close ("resumed download, logits", logits, golden_logits + idx * 12 + 6, 6, 1e-4, 0);
  test_assert_close ("resumed download, probs", probs, golden_probs + idx * 12 + 6, 6, 3e-5, 0);
  cJSON_Delete (result);
  test_run_clear (&run);
}

/* The storage sends a third of model.safetensors, then stalls; once those bytes are on disk,
 * siglens-cli gets SIGKILL: no handler, no cleanup. Nothing of it may be taken for a model:
 * no blob under the weights' name, no snapshot linking to it, refs/main absent (or still the
 * old commit, whose snapshot stays what loads). The .incomplete is kept, and the next process
 * resumes it with Range from its end to a verified model that classifies as the goldens say. */
static void
test_cli_killed (gconstpointer with_old_state)
{
  g_autoptr (FakeHub) hub = new_hub ();
  g_autofree char *cache = fresh_cache (with_old_state ? "cli-killed-old" : "cli-killed");
  g_autofree char *weights_path = test_data_path ("tiny-siglip2-naflex/model.safetensors");
  g_autofree char *sha256 = NULL;
  g_autofree char *blob = NULL, *incomplete = NULL, *old_snapshot = NULL;
  g_autofree char *ref_path = repo_file (cache, BIG_ID, "refs/main");
  g_autofree char *new_snapshot = repo_file (cache, BIG_ID, "snapshots/" FAKE_HUB_COMMIT);
  g_autofree char *expected_out = g_strconcat (new_snapshot, "\n", NULL);
  g_autofree char *weights = NULL, *ref = NULL, *got = NULL;
  g_autoptr (GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                                                        | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr (GSubprocess) process = NULL;
  g_autoptr (GError) error = NULL;
  gsize size;
  gint64 sent, before_resume;
  KilledRun killed = { 0 };
  gboolean timed_out = FALSE;
  guint timeout_id, tick_id;
  CliRun run;

  g_assert_true (g_file_get_contents (weights_path, &weights, &size, NULL));
  sha256 = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) weights, size);
  {
    g_autofree char *rel = g_strconcat ("blobs/", sha256, NULL);
    blob = repo_file (cache, BIG_ID, rel);
  }
  incomplete = g_strconcat (blob, ".incomplete", NULL);
  sent = (gint64) size / 3;
  if (with_old_state)
    old_snapshot = plant_old_snapshot (cache);

  hub->stall_after = sent;
  hub->fault_blob = g_strdup (sha256); /* tokenizer.json is LFS too, and comes first */
  g_subprocess_launcher_setenv (launcher, "HF_HUB_CACHE", cache, TRUE);
  process = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("SIGLENS_CLI"), "download",
                                         "--repo", BIG_ID, "--endpoint",
                                         fake_hub_endpoint (hub), NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8_async (process, NULL, NULL, on_killed_done, &killed);
  /* Kill once the first third is in the file, while the rest is awaited. */
  timeout_id = g_timeout_add_seconds (120, flag_set, &timed_out);
  tick_id = g_timeout_add (20, tick, NULL);
  /* (under either name: a downloader writing straight to the blob must fail below, not here) */
  while (MAX (file_size (incomplete), file_size (blob)) < sent && !killed.done && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (tick_id);
  g_assert_false (timed_out);
  g_source_remove (timeout_id);
  g_assert_false (killed.done); /* still running, mid-file */
  g_subprocess_send_signal (process, SIGKILL);
  spin_until (&killed.done, "the killed siglens-cli download");
  g_assert_true (killed.signaled);
  g_assert_cmpint (killed.signal, ==, SIGKILL);

  /* Nothing that would be loaded as the new model. */
  g_assert_cmpint (file_size (incomplete), ==, sent);
  g_assert_false (g_file_test (blob, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (new_snapshot, G_FILE_TEST_EXISTS));
  assert_no_snapshot_links (cache, sha256);
  if (with_old_state)
    {
      siglip_error *err = NULL;
      char *resolved;

      g_assert_true (g_file_get_contents (ref_path, &ref, NULL, NULL));
      g_assert_cmpstr (ref, ==, OLD_COMMIT);
      g_clear_pointer (&ref, g_free);
      g_setenv ("HF_HUB_CACHE", cache, TRUE);
      resolved = siglip_resolve_model_path (BIG_ID, &err);
      g_unsetenv ("HF_HUB_CACHE");
      g_assert_null (err);
      g_assert_cmpstr (resolved, ==, old_snapshot);
      free (resolved);
    }
  else
    assert_nothing_loadable (cache, BIG_ID);

  /* A new process resumes from the end of the .incomplete... */
  before_resume = hub->storage_bytes;
  run = run_cli (cache, TEST_ARGS ("--repo", BIG_ID, "--endpoint", fake_hub_endpoint (hub)));
  g_assert_cmpint (run.status, ==, 0);
  g_assert_cmpstr (run.out, ==, expected_out);
  cli_run_clear (&run);
  g_assert_cmpint (hub->last_range_from, ==, sent);
  g_assert_cmpint (hub->storage_bytes - before_resume, ==, (gint64) size - sent);
  assert_no_incomplete (cache, BIG_ID);

  /* ...to the verified weights, named by refs/main... */
  g_assert_true (g_file_get_contents (ref_path, &ref, NULL, NULL));
  g_assert_cmpstr (ref, ==, FAKE_HUB_COMMIT);
  {
    g_autofree char *link = g_build_filename (new_snapshot, "model.safetensors", NULL);
    gsize got_n;
    g_assert_true (g_file_get_contents (link, &got, &got_n, NULL));
    g_assert_cmpmem (got, got_n, weights, size);
  }
  /* ...which load and classify with the golden numbers. */
  assert_classifies_as_golden (cache);
}

/* ------------------------------------------------------------------------------------------- */
/* The parsers, which see what any server sends. */

static void
test_parse_etag (void)
{
  struct { const char *in, *out; } cases[] = {
    { "\"abc123\"", "abc123" },
    { "W/\"abc-1_2\"", "abc-1_2" },
    { "abc", "abc" },
    { "\"\"", NULL },
    { "\"../../etc\"", NULL },
    { "\"a/b\"", NULL },
    { "", NULL },
    { "W/", NULL },
    { "\"", NULL },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *got = siglens_hub_normalize_etag (cases[i].in);
      g_assert_cmpstr (got, ==, cases[i].out);
    }
  g_assert_null (siglens_hub_normalize_etag (NULL));
}

static void
test_parse_meta (void)
{
  SiglensHubFileMeta meta;
  g_autoptr (GError) error = NULL;
  const char *sha = "\"0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0\"";

  /* X-Linked-* wins over the 302's own ETag and Content-Length. */
  g_assert_true (siglens_hub_parse_file_meta ("abc", sha, "\"pointer\"", "4500000000", "1100",
                                              &meta, &error));
  g_assert_cmpstr (meta.etag, ==, "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0");
  g_assert_cmpint (meta.size, ==, G_GINT64_CONSTANT (4500000000));
  g_assert_cmpstr (meta.commit, ==, "abc");
  g_assert_true (siglens_hub_etag_is_sha256 (meta.etag));
  siglens_hub_file_meta_clear (&meta);

  g_assert_true (siglens_hub_parse_file_meta (NULL, NULL, "W/\"oid\"", NULL, "871", &meta, &error));
  g_assert_cmpstr (meta.etag, ==, "oid");
  g_assert_cmpint (meta.size, ==, 871);
  g_assert_false (siglens_hub_etag_is_sha256 (meta.etag));
  siglens_hub_file_meta_clear (&meta);

  g_assert_false (siglens_hub_parse_file_meta (NULL, NULL, NULL, "1", NULL, &meta, &error));
  g_assert_error (error, SIGLENS_DOWNLOAD_ERROR, SIGLENS_DOWNLOAD_ERROR_SERVER);
  g_clear_error (&error);
  g_assert_false (siglens_hub_parse_file_meta (NULL, NULL, "\"e\"", "-5", NULL, &meta, &error));
  g_clear_error (&error);
  g_assert_false (siglens_hub_parse_file_meta (NULL, NULL, "\"e\"", "99999999999999999999", NULL,
                                               &meta, &error));
  g_clear_error (&error);
  g_assert_false (siglens_hub_parse_file_meta ("../x", NULL, "\"e\"", "1", NULL, &meta, &error));
  g_clear_error (&error);
}

static void
test_parse_content_range (void)
{
  gint64 s, e, t;

  g_assert_true (siglens_hub_parse_content_range ("bytes 100-199/200", &s, &e, &t));
  g_assert_cmpint (s, ==, 100);
  g_assert_cmpint (e, ==, 199);
  g_assert_cmpint (t, ==, 200);
  g_assert_true (siglens_hub_parse_content_range ("bytes 0-0/*", &s, &e, &t));
  g_assert_cmpint (t, ==, -1);
  g_assert_false (siglens_hub_parse_content_range ("bytes 100-99/200", &s, &e, &t));
  g_assert_false (siglens_hub_parse_content_range ("bytes 0-200/200", &s, &e, &t));
  g_assert_false (siglens_hub_parse_content_range ("bytes -1-5/9", &s, &e, &t));
  g_assert_false (siglens_hub_parse_content_range ("items 0-1/2", &s, &e, &t));
  g_assert_false (siglens_hub_parse_content_range ("bytes 0-1/2/3", &s, &e, &t));
  g_assert_false (siglens_hub_parse_content_range (NULL, &s, &e, &t));
}

static GPtrArray *
parse_list (const char *json, GError **error)
{
  GPtrArray *files = NULL;
  g_autofree char *commit = NULL;

  if (!siglens_hub_parse_file_list (json, strlen (json), &commit, &files, error))
    return NULL;
  g_assert_cmpstr (commit, ==, "abc");
  return files;
}

static void
test_parse_file_list (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) files = NULL;
  g_autoptr (GPtrArray) chosen = NULL;
  const char *hostile[] = {
    "", "[]", "{", "{\"sha\":\"abc\"}", "{\"siblings\":[]}", "{\"sha\":5,\"siblings\":[]}",
    "{\"sha\":\"abc\",\"siblings\":[{\"rfilename\":\"../../../.bashrc\"}]}",
    "{\"sha\":\"abc\",\"siblings\":[{\"rfilename\":\"/etc/passwd\"}]}",
    "{\"sha\":\"abc\",\"siblings\":[{\"rfilename\":\"a//b\"}]}",
    "{\"sha\":\"abc\",\"siblings\":[{\"rfilename\":\"a\\\\b\"}]}",
    "{\"sha\":\"abc\",\"siblings\":[{\"rfilename\":7}]}",
    "{\"sha\":\"../abc\",\"siblings\":[]}",
  };

  for (gsize i = 0; i < G_N_ELEMENTS (hostile); i++)
    {
      g_assert_null (parse_list (hostile[i], &error));
      g_assert_error (error, SIGLENS_DOWNLOAD_ERROR, SIGLENS_DOWNLOAD_ERROR_SERVER);
      g_clear_error (&error);
    }

  /* Sharded: the index and its shards, not the other files. */
  files = parse_list ("{\"sha\":\"abc\",\"siblings\":[{\"rfilename\":\"README.md\"},"
                      "{\"rfilename\":\"config.json\"},{\"rfilename\":\"tokenizer.json\"},"
                      "{\"rfilename\":\"model.safetensors.index.json\"},"
                      "{\"rfilename\":\"model-00001-of-00002.safetensors\"},"
                      "{\"rfilename\":\"model-00002-of-00002.safetensors\"},"
                      "{\"rfilename\":\"onnx/model.onnx\"},{\"rfilename\":\"model-x.safetensors\"}]}",
                      &error);
  g_assert_no_error (error);
  chosen = siglens_hub_select_files (files, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (chosen->len, ==, 5);
  g_assert_cmpstr (g_ptr_array_index (chosen, 0), ==, "config.json");
  g_assert_cmpstr (g_ptr_array_index (chosen, 1), ==, "tokenizer.json");
  g_assert_cmpstr (g_ptr_array_index (chosen, 2), ==, "model.safetensors.index.json");
  g_assert_cmpstr (g_ptr_array_index (chosen, 3), ==, "model-00001-of-00002.safetensors");
  g_assert_cmpstr (g_ptr_array_index (chosen, 4), ==, "model-00002-of-00002.safetensors");
  g_clear_pointer (&files, g_ptr_array_unref);

  /* No weights, no config: said so. */
  files = parse_list ("{\"sha\":\"abc\",\"siblings\":[{\"rfilename\":\"config.json\"}]}", &error);
  g_assert_null (siglens_hub_select_files (files, &error));
  g_assert_error (error, SIGLENS_DOWNLOAD_ERROR, SIGLENS_DOWNLOAD_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_clear_pointer (&files, g_ptr_array_unref);
  files = parse_list ("{\"sha\":\"abc\",\"siblings\":[{\"rfilename\":\"model.safetensors\"}]}",
                      &error);
  g_assert_null (siglens_hub_select_files (files, &error));
  g_assert_nonnull (strstr (error->message, "config.json"));
}

static void
test_format_duration (void)
{
  struct { double s; const char *text; } cases[] = {
    { 0.2, "1 s" }, { 42, "42 s" }, { 89, "1 min" }, { 91, "2 min" }, { 3599, "60 min" },
    { 4000, "1 h 6 min" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *text = siglens_download_format_duration (cases[i].s);
      g_assert_cmpstr (text, ==, cases[i].text);
    }
}

static void
test_check_ids (void)
{
  const char *good[] = { "google/siglip2-so400m-patch16-naflex", "a/b.c", "A_1/x-y" };
  const char *bad[] = { "", "google", "../x", "a/..", "a/.b", "a/b/c", "a b/c", "/a" };

  for (gsize i = 0; i < G_N_ELEMENTS (good); i++)
    g_assert_true (siglens_hub_check_repo_id (good[i], NULL));
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    g_assert_false (siglens_hub_check_repo_id (bad[i], NULL));
  g_assert_true (siglens_hub_check_revision ("main", NULL));
  g_assert_true (siglens_hub_check_revision ("refs/pr/1", NULL));
  g_assert_false (siglens_hub_check_revision ("../main", NULL));
  g_assert_false (siglens_hub_check_revision ("a b", NULL));
  g_assert_false (siglens_hub_check_revision ("", NULL));
}

int
main (int argc, char *argv[])
{
  g_autofree char *hf_home = test_out_path ("download/hf-home/x");
  g_autofree char *home_dir = g_path_get_dirname (hf_home);
  g_autofree char *data_home = test_out_path ("download/fallback/x");

  /* Nothing from the machine's own Hugging Face setup may leak in: no token, no endpoint. */
  g_mkdir_with_parents (home_dir, 0755);
  g_setenv ("HF_HOME", home_dir, TRUE);
  g_unsetenv ("HF_TOKEN");
  g_unsetenv ("HF_TOKEN_PATH");
  g_unsetenv ("HF_ENDPOINT");
  g_unsetenv ("HF_HUB_CACHE");
  {
    g_autofree char *dir = g_path_get_dirname (data_home);
    g_setenv ("XDG_DATA_HOME", dir, TRUE);
  }

  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/download/parse/etag", test_parse_etag);
  g_test_add_func ("/download/parse/meta", test_parse_meta);
  g_test_add_func ("/download/parse/content-range", test_parse_content_range);
  g_test_add_func ("/download/parse/file-list", test_parse_file_list);
  g_test_add_func ("/download/parse/ids", test_check_ids);
  g_test_add_func ("/download/format-duration", test_format_duration);
  g_test_add_func ("/download/full", test_full);
  g_test_add_func ("/download/resume", test_resume);
  g_test_add_func ("/download/checksum-mismatch", test_checksum_mismatch);
  g_test_add_func ("/download/not-found", test_not_found);
  g_test_add_func ("/download/unauthorized", test_unauthorized);
  g_test_add_func ("/download/cancel", test_cancel);
  g_test_add_func ("/download/disk-space", test_disk_space);
  g_test_add_func ("/download/no-network", test_no_network);
  g_test_add_func ("/download/app-folder-fallback", test_app_folder_fallback);
  g_test_add_func ("/download/cli", test_cli);
  g_test_add_func ("/download/cli-tty", test_cli_tty);
  g_test_add_func ("/download/cli-interrupted", test_cli_interrupted);
  g_test_add_data_func ("/download/cli-killed/fresh", GINT_TO_POINTER (FALSE), test_cli_killed);
  g_test_add_data_func ("/download/cli-killed/over-old-snapshot", GINT_TO_POINTER (TRUE),
                        test_cli_killed);
  return g_test_run ();
}
