/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * SiglensDownloader — fetches a model repository from the Hugging Face Hub (or a mirror) into
 * the Hugging Face cache, resumably and verified. Async on the thread-default main context
 * it was created on; knows no widgets, so the window and `siglens-cli download` share it.
 *
 *   g_autoptr (SiglensDownloader) d = siglens_downloader_new (repo, "main", endpoint);
 *   g_signal_connect (d, "notify::bytes-done", G_CALLBACK (show_progress), NULL);
 *   siglens_downloader_run_async (d, cancellable, on_done, NULL);
 *   ... char *snapshot = siglens_downloader_run_finish (d, result, &error);
 *
 * Cancelling keeps what arrived (BLOB.incomplete): the next run resumes it with Range, in this
 * process or a later one. Pause is cancel, then run again.
 */
#pragma once

#include <gio/gio.h>

#include "siglens-download-error.h"

G_BEGIN_DECLS

#define SIGLENS_HUB_DEFAULT_ENDPOINT "https://huggingface.co"
#define SIGLENS_HUB_DEFAULT_REVISION "main"

typedef enum {
  SIGLENS_DOWNLOAD_PHASE_IDLE,
  SIGLENS_DOWNLOAD_PHASE_LISTING,     /* asking for the file list */
  SIGLENS_DOWNLOAD_PHASE_CHECKING,    /* each file's size and checksum, free space */
  SIGLENS_DOWNLOAD_PHASE_DOWNLOADING,
  SIGLENS_DOWNLOAD_PHASE_VERIFYING,   /* checksumming what an earlier run left */
  SIGLENS_DOWNLOAD_PHASE_DONE,
} SiglensDownloadPhase;

GType siglens_download_phase_get_type (void);
#define SIGLENS_TYPE_DOWNLOAD_PHASE (siglens_download_phase_get_type ())

#define SIGLENS_TYPE_DOWNLOADER (siglens_downloader_get_type ())
G_DECLARE_FINAL_TYPE (SiglensDownloader, siglens_downloader, SIGLENS, DOWNLOADER, GObject)

/* NULL revision: "main"; NULL endpoint: siglens_hub_endpoint (NULL). */
SiglensDownloader *siglens_downloader_new (const char *repo_id,
                                           const char *revision,
                                           const char *endpoint);

/* Where to write; by default siglens_hub_cache_choose_dir () at the start of the run. */
void        siglens_downloader_set_cache_dir (SiglensDownloader *self,
                                              const char        *cache_dir);

void        siglens_downloader_run_async   (SiglensDownloader   *self,
                                            GCancellable        *cancellable,
                                            GAsyncReadyCallback  callback,
                                            gpointer             user_data);
/* The snapshot folder holding the verified files. (transfer full) */
char       *siglens_downloader_run_finish  (SiglensDownloader   *self,
                                            GAsyncResult        *result,
                                            GError             **error);

const char *siglens_downloader_get_repo_id (SiglensDownloader *self);
const char *siglens_downloader_get_endpoint (SiglensDownloader *self);
/* The models--ORG--NAME folder of the run (NULL before one started). */
const char *siglens_downloader_get_repo_dir (SiglensDownloader *self);
SiglensDownloadPhase siglens_downloader_get_phase (SiglensDownloader *self);
const char *siglens_downloader_get_current_file (SiglensDownloader *self);
/* On disk and verified or arriving, of bytes-total (known once CHECKING is done). */
gint64      siglens_downloader_get_bytes_done (SiglensDownloader *self);
gint64      siglens_downloader_get_bytes_total (SiglensDownloader *self);
/* Bodies received from the network in this object's life: what resuming saves shows here. */
gint64      siglens_downloader_get_bytes_fetched (SiglensDownloader *self);
/* Bytes per second, smoothed; 0 until known. */
double      siglens_downloader_get_speed (SiglensDownloader *self);
/* Seconds to go at the current speed; -1 while unknown. */
double      siglens_downloader_get_seconds_left (SiglensDownloader *self);

/* The endpoint to use: $HF_ENDPOINT, else `preference` when not empty, else the Hub. The
 * trailing '/' is dropped. (transfer full) */
char *siglens_hub_endpoint (const char *preference);

/* "5 s", "3 min", "1 h 20 min". (transfer full) */
char *siglens_download_format_duration (double seconds);

G_END_DECLS
