/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Shared helpers for the tests: where the fixtures are, reading goldens, comparing floats. */
#pragma once

#include <cjson/cJSON.h>
#include <glib.h>

#include "siglip.h"

/* tests/data/<rel> (SIGLENS_TEST_DATA from meson). (transfer full) */
char *test_data_path (const char *rel);
/* A directory in the build tree for files a test writes, created on demand. (transfer full) */
char *test_out_path (const char *rel);
/* Removes the files in `folder`, if it is there (a cache folder a test starts from empty). */
void test_empty_folder (const char *folder);

/* golden/manifest.json, parsed once and kept for the process. (transfer none) */
const cJSON *test_manifest (void);
/* A golden array {"file", "dtype", "shape"} read whole; checks the size against the shape.
 * *n_out receives the element count. (transfer full, g_free) */
float   *test_golden_f32 (const cJSON *array_desc, gsize *n_out);
guint8  *test_golden_u8 (const cJSON *array_desc, gsize *n_out);
gint32  *test_golden_i32 (const cJSON *array_desc, gsize *n_out);

/* The same for a fixture set of its own, tests/data/<set>/golden/ (e.g. "fixres-p14"): its
 * manifest.json, parsed once (transfer none), and its arrays (transfer full, g_free). */
const cJSON *test_set_manifest (const char *set);
float       *test_set_golden_f32 (const char *set, const cJSON *array_desc, gsize *n_out);
guint8      *test_set_golden_u8 (const char *set, const cJSON *array_desc, gsize *n_out);

/* The model entry of the manifest named `name`. (transfer none) */
const cJSON *test_manifest_model (const char *name);
/* The image entry with id `id` from manifest.images. (transfer none) */
const cJSON *test_manifest_image (const char *id);

/* Elementwise |a - golden| <= abs_tol + rel_tol * |golden|; on failure prints the first and the
 * worst offending index with both values and fails the test. Returns the max abs difference. */
double test_assert_close (const char *what, const float *actual, const float *golden, gsize n,
                          double abs_tol, double rel_tol);

/* A finished run of siglens-cli: exit code (the test fails if it did not exit normally) and
 * its output. */
typedef struct {
  int status;
  char *out;
  char *err;
} TestRun;

/* Runs $SIGLENS_CLI with `args` (NULL-terminated, without the program name) in the
 * environment `envp` (NULL: inherit); logs the output with g_test_message. */
TestRun test_run_cli (const char *const *args, char **envp);
/* The same with stderr on a terminal (a pty, as a person at a shell has it) and stdout thrown
 * away: `err` is what the terminal showed, `out` NULL. */
TestRun test_run_cli_on_terminal (const char *const *args, char **envp);
void    test_run_clear (TestRun *run);

#define TEST_ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* Fails unless `error` is set with `status` and its message contains every one of `needles`
 * (NULL-terminated); `what` (the input that failed) goes into the log. Frees the error. */
void test_assert_error (siglip_error *error, siglip_status status, const char *what,
                        const char *const *needles);

/* The number at obj[key] (index < 0), or obj[key][index]; fails the test if it is not one. */
int    test_json_int (const cJSON *obj, const char *key, int index);
double test_json_double (const cJSON *obj, const char *key);

/* A model directory in the test output laid out as the Hub serves it, built from the fixture
 * model tests/data/<src_rel>: the weights symlinked, the Hub-layout Gemma tokenizer
 * (gemma-tokenizer-hub/), and with TEST_HUB_FILES also config.json written diff-style (the keys
 * at transformers' defaults left out) and the "Fast" processor named in
 * preprocessor_config.json; TEST_HUB_TOKENIZER keeps the fixture's own configs. Returns the
 * directory. (transfer full) */
typedef enum {
  TEST_HUB_TOKENIZER,
  TEST_HUB_FILES,
} TestHubLayout;

char *test_hub_layout_model (const char *src_rel, TestHubLayout layout);

/* Main-loop waits for the tests that drive GLib/GTK code: they wait on state, never on the
 * clock; TEST_WAIT_SECONDS only turns a hang into a failure (the tiny models answer in
 * milliseconds, a loaded CI machine or a sanitizer build in seconds). */
#define TEST_WAIT_SECONDS 120

/* Spins the default main context until `done (data)` holds; FALSE if `seconds` passed first. */
gboolean test_spin_until (gboolean (*done) (gpointer data), gpointer data, guint seconds);
/* The same within TEST_WAIT_SECONDS, failing the test with "timed out waiting for `what`". */
void     test_wait_until (gboolean (*done) (gpointer data), gpointer data, const char *what);
/* Runs what is pending on the default main context (idles the last event queued, a frame). */
void     test_drain_main_context (void);
