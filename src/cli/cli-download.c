/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * siglens-cli download [--repo ID] [--revision REV] [--endpoint URL]: fetches a model from the
 * Hugging Face Hub into the Hugging Face cache (resumable: run it again after an interruption)
 * and prints the folder it is in. Exit 0 only when every file arrived and was verified.
 */
#include <glib-unix.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "siglens-downloader.h"

#define DEFAULT_REPO "google/siglip2-so400m-patch16-naflex"
#define BAR_WIDTH    24

typedef struct {
  GMainLoop         *loop;
  GCancellable      *cancellable;
  SiglensDownloader *downloader;
  char              *snapshot;
  GError            *error;
  gboolean           tty;
  gboolean           interrupted;
  gsize              last_width;
} DownloadRun;

static void
print_bar (DownloadRun *run)
{
  SiglensDownloader *d = run->downloader;
  gint64 done = siglens_downloader_get_bytes_done (d);
  gint64 total = siglens_downloader_get_bytes_total (d);
  double speed = siglens_downloader_get_speed (d);
  double left = siglens_downloader_get_seconds_left (d);
  double fraction = total > 0 ? (double) done / (double) total : 0.;
  g_autofree char *done_s = g_format_size ((guint64) done);
  g_autofree char *total_s = g_format_size ((guint64) total);
  g_autofree char *rate = speed > 0 ? g_format_size ((guint64) speed) : NULL;
  /* Until a second of transfer has been measured there is no speed to show. */
  g_autofree char *speed_s = rate != NULL ? g_strconcat (rate, "/s", NULL) : g_strdup ("-");
  g_autofree char *left_s = left >= 0 ? siglens_download_format_duration (left) : g_strdup ("-");
  g_autoptr (GString) line = g_string_new ("\r");
  int filled = (int) (fraction * BAR_WIDTH + 0.5);

  g_string_append_printf (line, "%3d%% [", (int) (fraction * 100));
  for (int i = 0; i < BAR_WIDTH; i++)
    g_string_append_c (line, i < filled ? '#' : ' ');
  g_string_append_printf (line, "] %s / %s  %s  %s left  %s", done_s, total_s, speed_s, left_s,
                          siglens_downloader_get_current_file (d) != NULL ? siglens_downloader_get_current_file (d) : "");
  /* Blank out what a longer previous line left behind. */
  for (gsize n = line->len; n < run->last_width; n++)
    g_string_append_c (line, ' ');
  run->last_width = line->len;
  fputs (line->str, stderr);
  fflush (stderr);
}

static void
on_progress (SiglensDownloader *d, GParamSpec *pspec, DownloadRun *run)
{
  if (run->tty && siglens_downloader_get_bytes_total (d) > 0)
    print_bar (run);
}

static void
on_current_file (SiglensDownloader *d, GParamSpec *pspec, DownloadRun *run)
{
  const char *file = siglens_downloader_get_current_file (d);

  /* Without a terminal: one plain line per file fetched, for logs. */
  if (!run->tty && file != NULL && siglens_downloader_get_phase (d) != SIGLENS_DOWNLOAD_PHASE_CHECKING)
    fprintf (stderr, "Fetching %s\n", file);
}

static void
on_phase (SiglensDownloader *d, GParamSpec *pspec, DownloadRun *run)
{
  SiglensDownloadPhase phase = siglens_downloader_get_phase (d);

  if (phase == SIGLENS_DOWNLOAD_PHASE_CHECKING && !run->tty)
    fprintf (stderr, "Checking the files of %s on %s\n", siglens_downloader_get_repo_id (d),
             siglens_downloader_get_endpoint (d));
  else if (phase == SIGLENS_DOWNLOAD_PHASE_DOWNLOADING || phase == SIGLENS_DOWNLOAD_PHASE_VERIFYING)
    on_current_file (d, NULL, run);
}

static void
on_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  DownloadRun *run = user_data;

  run->snapshot = siglens_downloader_run_finish (SIGLENS_DOWNLOADER (source), result, &run->error);
  g_main_loop_quit (run->loop);
}

static gboolean
on_sigint (gpointer user_data)
{
  DownloadRun *run = user_data;

  run->interrupted = TRUE;
  g_cancellable_cancel (run->cancellable);
  return G_SOURCE_CONTINUE;
}

int
siglens_cli_download (int argc, char **argv)
{
  g_autofree char *repo = NULL;
  g_autofree char *revision = NULL;
  g_autofree char *endpoint = NULL;
  g_autoptr (GOptionContext) ctx = NULL;
  g_autoptr (GError) error = NULL;
  DownloadRun run = { 0 };
  guint sigint_id, sigterm_id;
  int status;
  const GOptionEntry entries[] = {
    { "repo", 0, 0, G_OPTION_ARG_STRING, &repo,
      "Hugging Face repository (default: " DEFAULT_REPO "; smaller: "
      "google/siglip2-base-patch16-naflex)", "ID" },
    { "revision", 0, 0, G_OPTION_ARG_STRING, &revision,
      "Branch, tag or commit (default: main)", "REV" },
    { "endpoint", 0, 0, G_OPTION_ARG_STRING, &endpoint,
      "Hub server or mirror (default: $HF_ENDPOINT, else https://huggingface.co)", "URL" },
    { NULL }
  };

  g_set_prgname ("siglens-cli download");
  ctx = g_option_context_new (NULL);
  g_option_context_set_summary (ctx,
    "Downloads a SigLIP 2 model from the Hugging Face Hub into the Hugging Face cache and\n"
    "prints its folder. Interrupted downloads continue where they stopped when run again.\n"
    "A token for gated or private models is read from $HF_TOKEN or $HF_HOME/token.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      fprintf (stderr, "siglens-cli download: %s\n", error->message);
      return 2;
    }
  if (argc > 1)
    {
      fprintf (stderr, "siglens-cli download: unexpected argument '%s' (the repository is given "
                       "with --repo)\n", argv[1]);
      return 2;
    }

  run.loop = g_main_loop_new (NULL, FALSE);
  run.cancellable = g_cancellable_new ();
  run.tty = isatty (STDERR_FILENO);
  run.downloader = siglens_downloader_new (repo ? repo : DEFAULT_REPO, revision, endpoint);
  g_signal_connect (run.downloader, "notify::bytes-done", G_CALLBACK (on_progress), &run);
  g_signal_connect (run.downloader, "notify::current-file", G_CALLBACK (on_current_file), &run);
  g_signal_connect (run.downloader, "notify::phase", G_CALLBACK (on_phase), &run);
  sigint_id = g_unix_signal_add (SIGINT, on_sigint, &run);
  sigterm_id = g_unix_signal_add (SIGTERM, on_sigint, &run);

  siglens_downloader_run_async (run.downloader, run.cancellable, on_done, &run);
  g_main_loop_run (run.loop);
  g_source_remove (sigint_id);
  g_source_remove (sigterm_id);
  if (run.tty && run.last_width > 0)
    fputc ('\n', stderr);

  if (run.snapshot != NULL)
    {
      g_autofree char *total = g_format_size ((guint64) siglens_downloader_get_bytes_total (run.downloader));

      fprintf (stderr, "All files of %s verified (%s). The model is in:\n",
               siglens_downloader_get_repo_id (run.downloader), total);
      printf ("%s\n", run.snapshot);
      status = 0;
    }
  else if (run.interrupted)
    {
      fprintf (stderr, "siglens-cli download: interrupted. Run the same command again to "
                       "continue where it stopped.\n");
      status = 130;
    }
  else
    {
      fprintf (stderr, "siglens-cli download: %s\n", run.error->message);
      status = 1;
    }

  g_clear_error (&run.error);
  g_free (run.snapshot);
  g_object_unref (run.downloader);
  g_object_unref (run.cancellable);
  g_main_loop_unref (run.loop);
  return status;
}
