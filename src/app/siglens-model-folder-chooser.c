/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The model folder is chosen from the no-model page and from Preferences; both go through here
 * so the choice is stored (and validated by the reload) in one way. */
#include <glib/gi18n.h>

#include <adwaita.h>

#include "siglens-model-folder-check.h"
#include "siglens-model-folder-chooser.h"

gboolean
siglens_model_folder_choose (GtkWindow  *parent,
                             GSettings  *settings,
                             const char *path)
{
  g_autoptr (GError) error = NULL;
  GtkWidget *dialog;

  g_return_val_if_fail (G_IS_SETTINGS (settings), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  if (siglens_model_folder_check (path, &error))
    {
      g_settings_set_string (settings, "model-folder", path);
      return TRUE;
    }

  /* Saved, a wrong folder would replace a working model with an error page. */
  dialog = adw_message_dialog_new (parent, _("This Folder Holds No Model"), error->message);
  adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (dialog), "close", _("_Close"));
  gtk_window_present (GTK_WINDOW (dialog));
  return FALSE;
}

static void
on_response (GtkNativeDialog *dialog,
             int              response,
             GSettings       *settings)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) folder = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = folder ? g_file_get_path (folder) : NULL;

      /* A folder without a local path (e.g. a remote location) cannot be mmap'd. */
      if (path != NULL)
        siglens_model_folder_choose (gtk_native_dialog_get_transient_for (dialog), settings, path);
    }
}

GtkFileChooserNative *
siglens_model_folder_chooser_new (GtkWindow *parent,
                                  GSettings *settings)
{
  GtkFileChooserNative *chooser;

  g_return_val_if_fail (G_IS_SETTINGS (settings), NULL);

  chooser = gtk_file_chooser_native_new (_("Open Model Folder"), parent,
                                         GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                                         _("_Open"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  g_signal_connect_data (chooser, "response", G_CALLBACK (on_response),
                         g_object_ref (settings), (GClosureNotify) (void (*) (void)) g_object_unref,
                         G_CONNECT_DEFAULT);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
  return chooser;
}
