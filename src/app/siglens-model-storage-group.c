/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "siglens-application.h"
#include "siglens-download-panel.h"
#include "siglens-hub-cache.h"
#include "siglens-model-storage-group.h"

struct _SiglensModelStorageGroup
{
  AdwPreferencesGroup  parent_instance;

  AdwEntryRow         *endpoint_row;
  GtkListBox          *downloads_list;

  GSettings           *settings;
  GPtrArray           *downloads;  /* models--ORG--NAME folders shown */
};

G_DEFINE_FINAL_TYPE (SiglensModelStorageGroup, siglens_model_storage_group,
                     ADW_TYPE_PREFERENCES_GROUP)

static gint64
folder_bytes (const char *repo_dir)
{
  g_autofree char *blobs = g_build_filename (repo_dir, "blobs", NULL);
  g_autoptr (GDir) dir = g_dir_open (blobs, 0, NULL);
  const char *name;
  gint64 total = 0;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (blobs, name, NULL);
      GStatBuf st;

      if (g_lstat (path, &st) == 0)
        total += (gint64) st.st_size;
    }
  return total;
}

static void
on_remove_response (AdwMessageDialog *dialog, const char *response, gpointer user_data)
{
  SiglensModelStorageGroup *self = user_data;
  const char *repo_dir = g_object_get_data (G_OBJECT (dialog), "siglens-repo-dir");
  g_autoptr (GError) error = NULL;

  if (g_strcmp0 (response, "remove") != 0)
    return;
  if (!siglens_hub_cache_remove_repo (repo_dir, &error))
    {
      GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
      /* Translators: %s is the system's reason */
      g_autofree char *message = g_strdup_printf (_("Could not remove the model: %s"),
                                                  error->message);

      if (ADW_IS_PREFERENCES_WINDOW (root))
        adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (root),
                                          adw_toast_new (message));
    }
  siglens_model_storage_group_refresh (self);
}

static void
on_remove_clicked (GtkButton *button, SiglensModelStorageGroup *self)
{
  const char *repo_dir = g_object_get_data (G_OBJECT (button), "siglens-repo-dir");
  const char *repo_id = g_object_get_data (G_OBJECT (button), "siglens-repo-id");
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  g_autofree char *size = g_format_size ((guint64) folder_bytes (repo_dir));
  g_autofree char *body = NULL;
  GtkWidget *dialog;

  /* Translators: a model's name, its size on disk, the folder it is deleted from */
  body = g_strdup_printf (_("%s (%s) will be deleted from %s. Siglens keeps using a model it "
                            "has loaded until it is closed."), repo_id, size, repo_dir);
  dialog = adw_message_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                   _("Remove the Downloaded Model?"), body);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Cancel"),
                                    "remove", _("_Remove"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "remove",
                                              ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_object_set_data_full (G_OBJECT (dialog), "siglens-repo-dir", g_strdup (repo_dir), g_free);
  g_signal_connect_object (dialog, "response", G_CALLBACK (on_remove_response), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
add_download_row (SiglensModelStorageGroup *self, const char *repo_id, const char *repo_dir)
{
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *button = gtk_button_new_with_label (_("Remove"));
  g_autofree char *size = g_format_size ((guint64) folder_bytes (repo_dir));
  g_autofree char *subtitle = g_strdup_printf ("%s — %s", size, repo_dir);

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), repo_id);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (row), 3);
  gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (button, "destructive-action");
  g_object_set_data_full (G_OBJECT (button), "siglens-repo-dir", g_strdup (repo_dir), g_free);
  g_object_set_data_full (G_OBJECT (button), "siglens-repo-id", g_strdup (repo_id), g_free);
  g_signal_connect (button, "clicked", G_CALLBACK (on_remove_clicked), self);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), button);
  gtk_list_box_append (self->downloads_list, row);
  g_ptr_array_add (self->downloads, g_strdup (repo_dir));
}

void
siglens_model_storage_group_refresh (SiglensModelStorageGroup *self)
{
  const char *const repos[] = { SIGLENS_DOWNLOAD_REPO, SIGLENS_DOWNLOAD_SMALL_REPO };
  g_autofree char *shared = siglens_hub_cache_dir ();
  g_autofree char *own = siglens_hub_cache_app_dir ();
  const char *const caches[] = { shared, own };
  GtkWidget *child;

  g_return_if_fail (SIGLENS_IS_MODEL_STORAGE_GROUP (self));

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->downloads_list))) != NULL)
    gtk_list_box_remove (self->downloads_list, child);
  g_ptr_array_set_size (self->downloads, 0);
  for (gsize c = 0; c < G_N_ELEMENTS (caches); c++)
    for (gsize r = 0; r < G_N_ELEMENTS (repos); r++)
      {
        g_autofree char *repo_dir = siglens_hub_cache_repo_dir (caches[c], repos[r]);

        if (g_file_test (repo_dir, G_FILE_TEST_IS_DIR))
          add_download_row (self, repos[r], repo_dir);
      }
  if (self->downloads->len == 0)
    {
      GtkWidget *row = adw_action_row_new ();

      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), _("Nothing downloaded yet."));
      gtk_list_box_append (self->downloads_list, row);
    }
}

GPtrArray *
siglens_model_storage_group_get_downloads (SiglensModelStorageGroup *self)
{
  g_return_val_if_fail (SIGLENS_IS_MODEL_STORAGE_GROUP (self), NULL);
  return self->downloads;
}

static void
siglens_model_storage_group_dispose (GObject *object)
{
  SiglensModelStorageGroup *self = SIGLENS_MODEL_STORAGE_GROUP (object);

  if (self->settings != NULL)
    g_signal_handlers_disconnect_by_data (self->settings, self);
  g_clear_object (&self->settings);
  g_clear_pointer (&self->downloads, g_ptr_array_unref);

  gtk_widget_dispose_template (GTK_WIDGET (self), SIGLENS_TYPE_MODEL_STORAGE_GROUP);

  G_OBJECT_CLASS (siglens_model_storage_group_parent_class)->dispose (object);
}

static void
siglens_model_storage_group_class_init (SiglensModelStorageGroupClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = siglens_model_storage_group_dispose;

  siglens_ensure_resources ();
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/siglens/Siglens/siglens-model-storage-group.ui");
  gtk_widget_class_bind_template_child (widget_class, SiglensModelStorageGroup, endpoint_row);
  gtk_widget_class_bind_template_child (widget_class, SiglensModelStorageGroup, downloads_list);
}

static void
siglens_model_storage_group_init (SiglensModelStorageGroup *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->downloads = g_ptr_array_new_with_free_func (g_free);
  self->settings = g_settings_new (APP_ID);
  g_settings_bind (self->settings, "hub-endpoint", self->endpoint_row, "text",
                   G_SETTINGS_BIND_DEFAULT);
  g_signal_connect_swapped (self->settings, "changed::model-folder",
                            G_CALLBACK (siglens_model_storage_group_refresh), self);
  siglens_model_storage_group_refresh (self);
}
