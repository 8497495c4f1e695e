/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <glib/gi18n.h>

#include "siglens-resources.h"
#include "siglens-application.h"
#include "siglens-preferences-window.h"
#include "siglens-window.h"

struct _SiglensApplication
{
  AdwApplication parent_instance;
};

G_DEFINE_FINAL_TYPE (SiglensApplication, siglens_application, ADW_TYPE_APPLICATION)

void
siglens_ensure_resources (void)
{
  static gsize registered = 0;

  if (g_once_init_enter (&registered))
    {
      siglens_register_resource ();
      g_once_init_leave (&registered, 1);
    }
}

static SiglensWindow *
ensure_window (SiglensApplication *self)
{
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

  if (window == NULL)
    window = GTK_WINDOW (siglens_window_new (self));
  return SIGLENS_WINDOW (window);
}

static void
siglens_application_activate (GApplication *application)
{
  gtk_window_present (GTK_WINDOW (ensure_window (SIGLENS_APPLICATION (application))));
}

static void
siglens_application_open (GApplication  *application,
                          GFile        **files,
                          int            n_files,
                          const char    *hint)
{
  SiglensWindow *window = ensure_window (SIGLENS_APPLICATION (application));

  /* One picture at a time: the last one wins, like dropping several files in a row, and the
   * window says so rather than leave the others unexplained. */
  if (n_files > 0)
    siglens_window_open_file (window, files[n_files - 1]);
  if (n_files > 1)
    {
      g_autofree char *name = g_file_get_basename (files[n_files - 1]);
      /* Translators: %d is how many files were given (2 or more), %s the name of the last */
      g_autofree char *message = g_strdup_printf (ngettext ("%d file was given; only the last, “%s”, is shown.",
                                                            "%d files were given; only the last, “%s”, is shown.",
                                                            n_files),
                                                  n_files, name);

      siglens_window_tell (window, message);
    }
  gtk_window_present (GTK_WINDOW (window));
}

static void
quit_activated (GSimpleAction *action,
                GVariant      *parameter,
                gpointer       user_data)
{
  GtkApplication *application = user_data;
  GList *windows = g_list_copy (gtk_application_get_windows (application));

  /* Through close-request, so the main window saves its size and labels. */
  for (GList *l = windows; l != NULL; l = l->next)
    gtk_window_close (l->data);
  g_list_free (windows);
  g_application_quit (G_APPLICATION (application));
}

static void
preferences_activated (GSimpleAction *action,
                       GVariant      *parameter,
                       gpointer       user_data)
{
  GtkApplication *application = user_data;
  GtkWidget *preferences = siglens_preferences_window_new ();

  gtk_window_set_transient_for (GTK_WINDOW (preferences),
                                gtk_application_get_active_window (application));
  gtk_window_present (GTK_WINDOW (preferences));
}

static void
about_activated (GSimpleAction *action,
                 GVariant      *parameter,
                 gpointer       user_data)
{
  GtkApplication *application = user_data;
  const char *developers[] = { "The Siglens contributors", NULL };
  AdwAboutWindow *about;

  about = ADW_ABOUT_WINDOW (adw_about_window_new ());
  g_object_set (about,
                "transient-for", gtk_application_get_active_window (application),
                "application-name", _("Siglens"),
                "application-icon", APP_ID,
                "developer-name", _("The Siglens contributors"),
                "version", PACKAGE_VERSION,
                "comments", _("See how well words describe a picture: drop an image, type "
                              "some labels and Google’s SigLIP 2 model scores each one, "
                              "entirely on your computer."),
                "website", "https://github.com/siglens/siglens",
                "issue-url", "https://github.com/siglens/siglens/issues",
                "license-type", GTK_LICENSE_GPL_3_0,
                "developers", developers,
                /* Translators: put your names here, one per line */
                "translator-credits", _("translator-credits"),
                NULL);
  adw_about_window_add_acknowledgement_section (about, _("Model"),
                                                (const char *[]) {
                                                  "SigLIP 2 by Google DeepMind https://arxiv.org/abs/2502.14786",
                                                  NULL });
  gtk_window_present (GTK_WINDOW (about));
}

static const GActionEntry app_actions[] = {
  { .name = "quit", .activate = quit_activated },
  { .name = "preferences", .activate = preferences_activated },
  { .name = "about", .activate = about_activated },
};

static void
siglens_application_startup (GApplication *application)
{
  GtkApplication *gtk_application = GTK_APPLICATION (application);

  siglens_ensure_resources ();
  G_APPLICATION_CLASS (siglens_application_parent_class)->startup (application);

  g_action_map_add_action_entries (G_ACTION_MAP (application), app_actions,
                                   G_N_ELEMENTS (app_actions), application);
  gtk_application_set_accels_for_action (gtk_application, "app.quit",
                                         (const char *[]) { "<Control>q", NULL });
  gtk_application_set_accels_for_action (gtk_application, "app.preferences",
                                         (const char *[]) { "<Control>comma", NULL });
  gtk_application_set_accels_for_action (gtk_application, "win.open",
                                         (const char *[]) { "<Control>o", NULL });
  gtk_application_set_accels_for_action (gtk_application, "win.paste",
                                         (const char *[]) { "<Control>v", NULL });
  /* F11 is the classroom's key: the picture and scores alone, large, full screen. */
  gtk_application_set_accels_for_action (gtk_application, "win.presentation",
                                         (const char *[]) { "F11", NULL });
}

static void
siglens_application_class_init (SiglensApplicationClass *klass)
{
  GApplicationClass *application_class = G_APPLICATION_CLASS (klass);

  application_class->activate = siglens_application_activate;
  application_class->open = siglens_application_open;
  application_class->startup = siglens_application_startup;
}

static void
siglens_application_init (SiglensApplication *self)
{
}

SiglensApplication *
siglens_application_new (void)
{
  siglens_ensure_resources ();
  return g_object_new (SIGLENS_TYPE_APPLICATION,
                       "application-id", APP_ID,
                       "flags", G_APPLICATION_HANDLES_OPEN,
                       "resource-base-path", "/io/github/siglens/Siglens",
                       NULL);
}
