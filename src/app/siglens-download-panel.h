/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * SiglensDownloadPanel — what the no-model page offers: download the model (or the smaller
 * one) with one click, the same as a terminal command to copy, and while it runs a progress
 * bar with bytes, speed and time left, Pause/Resume and Cancel. Emits ::model-downloaded with
 * the verified snapshot folder; the window loads it.
 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define SIGLENS_DOWNLOAD_REPO       "google/siglip2-so400m-patch16-naflex"
#define SIGLENS_DOWNLOAD_SMALL_REPO "google/siglip2-base-patch16-naflex"

#define SIGLENS_TYPE_DOWNLOAD_PANEL (siglens_download_panel_get_type ())
G_DECLARE_FINAL_TYPE (SiglensDownloadPanel, siglens_download_panel, SIGLENS, DOWNLOAD_PANEL,
                      GtkBox)

GtkWidget  *siglens_download_panel_new (void);

/* What the buttons do. */
void        siglens_download_panel_start (SiglensDownloadPanel *self,
                                          const char           *repo_id);
void        siglens_download_panel_pause (SiglensDownloadPanel *self);
void        siglens_download_panel_resume (SiglensDownloadPanel *self);
void        siglens_download_panel_cancel (SiglensDownloadPanel *self);

/* For tests and accessibility checks: what the panel shows. */
gboolean    siglens_download_panel_get_running (SiglensDownloadPanel *self);
gboolean    siglens_download_panel_get_paused (SiglensDownloadPanel *self);
const char *siglens_download_panel_get_command (SiglensDownloadPanel *self);
const char *siglens_download_panel_get_progress_text (SiglensDownloadPanel *self);
/* The last failure, in words; NULL after a success or a new start. */
const char *siglens_download_panel_get_error (SiglensDownloadPanel *self);
/* The run's downloader while one exists. (transfer none) */
GObject    *siglens_download_panel_get_downloader (SiglensDownloadPanel *self);

G_END_DECLS
