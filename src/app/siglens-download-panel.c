/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * SiglensDownloadPanel — the buttons and progress of a model download. The work is all in
 * SiglensDownloader (src/download); this only turns clicks into runs and runs into words.
 * Pause cancels the run and keeps what arrived; Resume runs again, which continues with Range;
 * Cancel also deletes the partial files, giving the space back.
 */
#include <glib/gi18n.h>

#include "siglens-application.h"
#include "siglens-download-panel.h"
#include "siglens-downloader.h"
#include "siglens-hub-cache.h"

struct _SiglensDownloadPanel
{
  GtkBox             parent_instance;

  GtkWidget         *choice_box;
  GtkButton         *download_button;
  GtkButton         *small_button;
  GtkEntry          *command_entry;
  GtkWidget         *progress_box;
  GtkLabel          *progress_title;
  GtkProgressBar    *progress_bar;
  GtkLabel          *progress_label;
  GtkButton         *pause_button;
  GtkButton         *cancel_button;
  GtkLabel          *error_label;

  GSettings         *settings;
  SiglensDownloader *downloader;
  GCancellable      *cancellable;
  gboolean           running;   /* a run is under way (or finishing its cancellation) */
  gboolean           paused;
  gboolean           resume_wanted; /* Resume clicked before the paused run had ended */
  gboolean           cancelled;
};

G_DEFINE_FINAL_TYPE (SiglensDownloadPanel, siglens_download_panel, GTK_TYPE_BOX)

enum {
  MODEL_DOWNLOADED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void run (SiglensDownloadPanel *self);

/* ---------------------------------------------------------------------------------------------
 * What the panel shows
 */

static char *
endpoint (SiglensDownloadPanel *self)
{
  g_autofree char *preference = g_settings_get_string (self->settings, "hub-endpoint");

  return siglens_hub_endpoint (preference);
}

/* The command that does what the button does, as the person would type it here: inside the
 * Flatpak the CLI is reached through `flatpak run`. */
static void
update_command (SiglensDownloadPanel *self)
{
  g_autofree char *server = endpoint (self);
  g_autoptr (GString) command = g_string_new (NULL);

  if (g_file_test ("/.flatpak-info", G_FILE_TEST_EXISTS))
    g_string_append (command, "flatpak run --command=siglens-cli " APP_ID " download");
  else
    g_string_append (command, "siglens-cli download");
  if (g_strcmp0 (server, SIGLENS_HUB_DEFAULT_ENDPOINT) != 0)
    {
      g_autofree char *quoted = g_shell_quote (server);
      g_string_append_printf (command, " --endpoint %s", quoted);
    }
  gtk_editable_set_text (GTK_EDITABLE (self->command_entry), command->str);
}

static void
show_error (SiglensDownloadPanel *self, const char *message)
{
  gtk_label_set_label (self->error_label, message != NULL ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->error_label), message != NULL);
}

static void
show_choice (SiglensDownloadPanel *self)
{
  gtk_widget_set_visible (self->progress_box, FALSE);
  gtk_widget_set_visible (self->choice_box, TRUE);
}

static void
update_progress (SiglensDownloadPanel *self)
{
  SiglensDownloader *d = self->downloader;
  gint64 done = siglens_downloader_get_bytes_done (d);
  gint64 total = siglens_downloader_get_bytes_total (d);
  double speed = siglens_downloader_get_speed (d);
  double left = siglens_downloader_get_seconds_left (d);
  g_autofree char *done_s = g_format_size ((guint64) done);
  g_autofree char *total_s = g_format_size ((guint64) total);
  g_autofree char *text = NULL;

  switch (siglens_downloader_get_phase (d))
    {
    case SIGLENS_DOWNLOAD_PHASE_IDLE:
    case SIGLENS_DOWNLOAD_PHASE_LISTING:
    case SIGLENS_DOWNLOAD_PHASE_CHECKING:
      text = g_strdup (_("Asking the server for the model’s files…"));
      gtk_progress_bar_pulse (self->progress_bar);
      break;
    case SIGLENS_DOWNLOAD_PHASE_VERIFYING:
      /* Translators: %s is a file name */
      text = g_strdup_printf (_("Checking the part of %s downloaded before…"),
                              siglens_downloader_get_current_file (d));
      break;
    case SIGLENS_DOWNLOAD_PHASE_DOWNLOADING:
    case SIGLENS_DOWNLOAD_PHASE_DONE:
    default:
      if (self->paused)
        /* Translators: bytes downloaded, of the total */
        text = g_strdup_printf (_("Paused at %s of %s"), done_s, total_s);
      else if (speed > 0 && left >= 0)
        {
          g_autofree char *speed_s = g_format_size ((guint64) speed);
          g_autofree char *left_s = siglens_download_format_duration (left);

          /* Translators: bytes done, of total, bytes per second, time left ("4 min") */
          text = g_strdup_printf (_("%s of %s · %s/s · about %s left"), done_s, total_s, speed_s,
                                  left_s);
        }
      else
        /* Translators: bytes downloaded, of the total */
        text = g_strdup_printf (_("%s of %s"), done_s, total_s);
      if (total > 0)
        gtk_progress_bar_set_fraction (self->progress_bar, (double) done / (double) total);
      break;
    }
  gtk_label_set_label (self->progress_label, text);
}

/* ---------------------------------------------------------------------------------------------
 * Runs
 */

static void
on_run_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr (SiglensDownloadPanel) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *snapshot = NULL;

  snapshot = siglens_downloader_run_finish (SIGLENS_DOWNLOADER (source), result, &error);
  self->running = FALSE;
  if (SIGLENS_DOWNLOADER (source) != self->downloader)
    return; /* the panel went away, or a new download replaced this one */

  if (snapshot != NULL)
    {
      show_choice (self);
      g_clear_object (&self->downloader);
      g_signal_emit (self, signals[MODEL_DOWNLOADED], 0, snapshot);
      return;
    }
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      if (self->cancelled)
        {
          const char *repo_dir = siglens_downloader_get_repo_dir (self->downloader);

          if (repo_dir != NULL)
            siglens_hub_cache_remove_incomplete (repo_dir);
          g_clear_object (&self->downloader);
          show_choice (self);
        }
      else if (self->resume_wanted)
        {
          self->resume_wanted = FALSE;
          self->paused = FALSE;
          run (self);
        }
      return;
    }

  /* A failure keeps what arrived: the same button starts again where it stopped. */
  show_error (self, error->message);
  g_clear_object (&self->downloader);
  show_choice (self);
}

static void
run (SiglensDownloadPanel *self)
{
  g_assert (!self->running);

  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  self->running = TRUE;
  self->cancelled = FALSE;
  gtk_button_set_label (self->pause_button, _("_Pause"));
  update_progress (self);
  siglens_downloader_run_async (self->downloader, self->cancellable, on_run_done,
                                g_object_ref (self));
}

void
siglens_download_panel_start (SiglensDownloadPanel *self, const char *repo_id)
{
  g_autofree char *server = NULL;
  g_autofree char *title = NULL;

  g_return_if_fail (SIGLENS_IS_DOWNLOAD_PANEL (self));
  g_return_if_fail (repo_id != NULL);
  if (self->downloader != NULL)
    return;

  server = endpoint (self);
  self->downloader = siglens_downloader_new (repo_id, NULL, server);
  g_signal_connect_object (self->downloader, "notify::bytes-done",
                           G_CALLBACK (update_progress), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->downloader, "notify::phase",
                           G_CALLBACK (update_progress), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->downloader, "notify::speed",
                           G_CALLBACK (update_progress), self, G_CONNECT_SWAPPED);
  self->paused = FALSE;
  show_error (self, NULL);
  /* Translators: %s is a model's name on Hugging Face */
  title = g_strdup_printf (_("Downloading %s…"), repo_id);
  gtk_label_set_label (self->progress_title, title);
  gtk_progress_bar_set_fraction (self->progress_bar, 0.);
  gtk_widget_set_visible (self->choice_box, FALSE);
  gtk_widget_set_visible (self->progress_box, TRUE);
  run (self);
}

void
siglens_download_panel_pause (SiglensDownloadPanel *self)
{
  g_return_if_fail (SIGLENS_IS_DOWNLOAD_PANEL (self));
  if (self->downloader == NULL || self->paused)
    return;
  self->paused = TRUE;
  g_cancellable_cancel (self->cancellable);
  gtk_button_set_label (self->pause_button, _("_Resume"));
  update_progress (self);
}

void
siglens_download_panel_resume (SiglensDownloadPanel *self)
{
  g_return_if_fail (SIGLENS_IS_DOWNLOAD_PANEL (self));
  if (self->downloader == NULL || !self->paused)
    return;
  if (self->running)
    {
      /* The paused run has not ended yet: go on as soon as it has. */
      self->resume_wanted = TRUE;
      return;
    }
  self->paused = FALSE;
  run (self);
}

void
siglens_download_panel_cancel (SiglensDownloadPanel *self)
{
  g_return_if_fail (SIGLENS_IS_DOWNLOAD_PANEL (self));
  if (self->downloader == NULL)
    return;
  self->cancelled = TRUE;
  self->resume_wanted = FALSE;
  if (self->running)
    {
      g_cancellable_cancel (self->cancellable);
      return;
    }
  /* Paused: nothing runs, so clean up now. */
  if (siglens_downloader_get_repo_dir (self->downloader) != NULL)
    siglens_hub_cache_remove_incomplete (siglens_downloader_get_repo_dir (self->downloader));
  g_clear_object (&self->downloader);
  self->paused = FALSE;
  show_choice (self);
}

static void
on_copy_pressed (SiglensDownloadPanel *self)
{
  gdk_clipboard_set_text (gtk_widget_get_clipboard (GTK_WIDGET (self)),
                          gtk_editable_get_text (GTK_EDITABLE (self->command_entry)));
}

static void
on_download_clicked (SiglensDownloadPanel *self)
{
  siglens_download_panel_start (self, SIGLENS_DOWNLOAD_REPO);
}

static void
on_small_clicked (SiglensDownloadPanel *self)
{
  siglens_download_panel_start (self, SIGLENS_DOWNLOAD_SMALL_REPO);
}

static void
on_pause_clicked (SiglensDownloadPanel *self)
{
  if (self->paused)
    siglens_download_panel_resume (self);
  else
    siglens_download_panel_pause (self);
}

/* ---------------------------------------------------------------------------------------------
 * Getters
 */

gboolean
siglens_download_panel_get_running (SiglensDownloadPanel *self)
{
  g_return_val_if_fail (SIGLENS_IS_DOWNLOAD_PANEL (self), FALSE);
  return self->running;
}

gboolean
siglens_download_panel_get_paused (SiglensDownloadPanel *self)
{
  g_return_val_if_fail (SIGLENS_IS_DOWNLOAD_PANEL (self), FALSE);
  return self->paused;
}

const char *
siglens_download_panel_get_command (SiglensDownloadPanel *self)
{
  g_return_val_if_fail (SIGLENS_IS_DOWNLOAD_PANEL (self), NULL);
  return gtk_editable_get_text (GTK_EDITABLE (self->command_entry));
}

const char *
siglens_download_panel_get_progress_text (SiglensDownloadPanel *self)
{
  g_return_val_if_fail (SIGLENS_IS_DOWNLOAD_PANEL (self), NULL);
  return gtk_label_get_label (self->progress_label);
}

const char *
siglens_download_panel_get_error (SiglensDownloadPanel *self)
{
  g_return_val_if_fail (SIGLENS_IS_DOWNLOAD_PANEL (self), NULL);
  if (!gtk_widget_get_visible (GTK_WIDGET (self->error_label)))
    return NULL;
  return gtk_label_get_label (self->error_label);
}

GObject *
siglens_download_panel_get_downloader (SiglensDownloadPanel *self)
{
  g_return_val_if_fail (SIGLENS_IS_DOWNLOAD_PANEL (self), NULL);
  return G_OBJECT (self->downloader);
}

/* ---------------------------------------------------------------------------------------------
 * GObject
 */

static void
siglens_download_panel_dispose (GObject *object)
{
  SiglensDownloadPanel *self = SIGLENS_DOWNLOAD_PANEL (object);

  /* What arrived stays on disk: the next start continues it. */
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->downloader);
  if (self->settings != NULL)
    g_signal_handlers_disconnect_by_data (self->settings, self);
  g_clear_object (&self->settings);

  gtk_widget_dispose_template (GTK_WIDGET (self), SIGLENS_TYPE_DOWNLOAD_PANEL);

  G_OBJECT_CLASS (siglens_download_panel_parent_class)->dispose (object);
}

static void
siglens_download_panel_class_init (SiglensDownloadPanelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = siglens_download_panel_dispose;

  /* ::model-downloaded (const char *snapshot): every file arrived and was verified. */
  signals[MODEL_DOWNLOADED] =
    g_signal_new ("model-downloaded", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL,
                  NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);

  siglens_ensure_resources ();
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/siglens/Siglens/siglens-download-panel.ui");
  gtk_widget_class_bind_template_child (widget_class, SiglensDownloadPanel, choice_box);
  gtk_widget_class_bind_template_child (widget_class, SiglensDownloadPanel, download_button);
  gtk_widget_class_bind_template_child (widget_class, SiglensDownloadPanel, small_button);
  gtk_widget_class_bind_template_child (widget_class, SiglensDownloadPanel, command_entry);
  gtk_widget_class_bind_template_child (widget_class, SiglensDownloadPanel, progress_box);
  gtk_widget_class_bind_template_child (widget_class, SiglensDownloadPanel, progress_title);
  gtk_widget_class_bind_template_child (widget_class, SiglensDownloadPanel, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, SiglensDownloadPanel, progress_label);
  gtk_widget_class_bind_template_child (widget_class, SiglensDownloadPanel, pause_button);
  gtk_widget_class_bind_template_child (widget_class, SiglensDownloadPanel, cancel_button);
  gtk_widget_class_bind_template_child (widget_class, SiglensDownloadPanel, error_label);
}

static void
siglens_download_panel_init (SiglensDownloadPanel *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->settings = g_settings_new (APP_ID);
  g_signal_connect_swapped (self->settings, "changed::hub-endpoint",
                            G_CALLBACK (update_command), self);
  g_signal_connect_swapped (self->download_button, "clicked",
                            G_CALLBACK (on_download_clicked), self);
  g_signal_connect_swapped (self->small_button, "clicked", G_CALLBACK (on_small_clicked), self);
  g_signal_connect_swapped (self->command_entry, "icon-press", G_CALLBACK (on_copy_pressed), self);
  g_signal_connect_swapped (self->pause_button, "clicked", G_CALLBACK (on_pause_clicked), self);
  g_signal_connect_swapped (self->cancel_button, "clicked",
                            G_CALLBACK (siglens_download_panel_cancel), self);
  update_command (self);
}

GtkWidget *
siglens_download_panel_new (void)
{
  return g_object_new (SIGLENS_TYPE_DOWNLOAD_PANEL, NULL);
}
