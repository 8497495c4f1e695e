/* SPDX-License-Identifier: GPL-3.0-or-later */
/* SiglensPreferencesWindow — every row is bound to GSettings; the main window reacts to the
 * settings, so nothing here talks to it directly. */
#include <glib/gi18n.h>

#include "siglip.h"
#include "siglens-application.h"
#include "siglens-model-locator.h"
#include "siglens-preferences-window.h"
#include "siglens-model-folder-chooser.h"
#include "siglens-model-storage-group.h"
#include "siglens-template.h"

struct _SiglensPreferencesWindow
{
  AdwPreferencesWindow  parent_instance;

  AdwActionRow         *folder_row;
  GtkWidget            *folder_button;
  GtkWidget            *folder_reset_button;
  AdwComboRow          *precision_row;
  AdwComboRow          *detail_row;
  AdwEntryRow          *template_row;
  GtkSwitch            *lowercase_switch;
  GtkSwitch            *ensemble_switch;
  AdwActionRow         *label_cache_row;
  GtkWidget            *clear_cache_button;

  GSettings            *settings;
  GtkFileChooserNative *chooser;
};

G_DEFINE_FINAL_TYPE (SiglensPreferencesWindow, siglens_preferences_window,
                     ADW_TYPE_PREFERENCES_WINDOW)

/* The detail level row lists these, in this order. */
static const int detail_patches[] = { 256, 576, 1024 };

static gboolean
patches_to_row (GValue   *value,
                GVariant *variant,
                gpointer  user_data)
{
  int patches = g_variant_get_int32 (variant);
  guint best = 0;

  /* A value set elsewhere (gsettings) shows as the nearest level at or below it. */
  for (guint i = 0; i < G_N_ELEMENTS (detail_patches); i++)
    if (detail_patches[i] <= patches)
      best = i;
  g_value_set_uint (value, best);
  return TRUE;
}

static GVariant *
row_to_patches (const GValue       *value,
                const GVariantType *type,
                gpointer            user_data)
{
  guint i = g_value_get_uint (value);

  return g_variant_new_int32 (detail_patches[MIN (i, G_N_ELEMENTS (detail_patches) - 1)]);
}

static gboolean
precision_to_row (GValue   *value,
                  GVariant *variant,
                  gpointer  user_data)
{
  g_value_set_uint (value, g_strcmp0 (g_variant_get_string (variant, NULL), "bf16") == 0);
  return TRUE;
}

static GVariant *
row_to_precision (const GValue       *value,
                  const GVariantType *type,
                  gpointer            user_data)
{
  return g_variant_new_string (g_value_get_uint (value) == 1 ? "bf16" : "fp32");
}

static void
update_folder_row (SiglensPreferencesWindow *self)
{
  g_autofree char *folder = g_settings_get_string (self->settings, "model-folder");
  gboolean chosen = *folder != '\0';
  g_autofree char *found = NULL;
  g_autofree char *subtitle = NULL;

  /* Say which folder is in use, however it was found: the person may need to find it too. */
  if (chosen)
    subtitle = g_strdup (folder);
  else if ((found = siglens_model_locator_find (self->settings)) == NULL)
    subtitle = g_strdup (_("No model found in the usual places"));
  else if (g_strcmp0 (g_getenv ("SIGLENS_MODEL"), found) == 0)
    /* Translators: %s is a folder, named by the SIGLENS_MODEL environment variable */
    subtitle = g_strdup_printf (_("Set by SIGLENS_MODEL: %s"), found);
  else
    /* Translators: %s is the folder the model was found in */
    subtitle = g_strdup_printf (_("Found automatically: %s"), found);
  adw_action_row_set_subtitle (self->folder_row, subtitle);
  gtk_widget_set_visible (self->folder_reset_button, chosen);
}

static void
on_folder_clicked (SiglensPreferencesWindow *self)
{
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  self->chooser = siglens_model_folder_chooser_new (GTK_WINDOW (self), self->settings);
}

static void
on_folder_reset_clicked (SiglensPreferencesWindow *self)
{
  g_settings_reset (self->settings, "model-folder");
}

/* The label-embedding cache on disk (label-cache.c): its size, and a way to empty it. */
static void
update_label_cache_row (SiglensPreferencesWindow *self)
{
  siglip_label_cache *cache = siglip_label_cache_open (NULL, 0, NULL);
  siglip_label_cache_stats stats = { 0 };
  g_autofree char *size = NULL;
  g_autofree char *subtitle = NULL;

  if (cache != NULL)
    siglip_label_cache_get_stats (cache, &stats);
  siglip_label_cache_free (cache);
  size = g_format_size ((guint64) stats.bytes);
  /* Translators: under "Remembered Labels": how many encoded labels are kept, and their size */
  subtitle = g_strdup_printf (ngettext ("%d label kept on disk (%s), so it is not encoded again",
                                        "%d labels kept on disk (%s), so they are not encoded again",
                                        stats.entries), stats.entries, size);
  adw_action_row_set_subtitle (self->label_cache_row, subtitle);
  gtk_widget_set_sensitive (self->clear_cache_button, stats.entries > 0);
}

static void
on_clear_cache_clicked (SiglensPreferencesWindow *self)
{
  siglip_error *err = NULL;
  g_autofree char *message = NULL;

  if (siglip_label_cache_clear (NULL, &err))
    message = g_strdup (_("Remembered labels cleared"));
  else
    {
      /* Translators: %s is the reason, naming the folder */
      message = g_strdup_printf (_("Could not clear the remembered labels: %s"), err->message);
      siglip_error_free (err);
    }
  adw_preferences_window_add_toast (ADW_PREFERENCES_WINDOW (self), adw_toast_new (message));
  update_label_cache_row (self);
}

static void
siglens_preferences_window_dispose (GObject *object)
{
  SiglensPreferencesWindow *self = SIGLENS_PREFERENCES_WINDOW (object);

  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  if (self->settings != NULL)
    g_signal_handlers_disconnect_by_data (self->settings, self);
  g_clear_object (&self->settings);

  gtk_widget_dispose_template (GTK_WIDGET (self), SIGLENS_TYPE_PREFERENCES_WINDOW);

  G_OBJECT_CLASS (siglens_preferences_window_parent_class)->dispose (object);
}

static void
siglens_preferences_window_class_init (SiglensPreferencesWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = siglens_preferences_window_dispose;

  g_type_ensure (SIGLENS_TYPE_MODEL_STORAGE_GROUP);
  siglens_ensure_resources ();
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/siglens/Siglens/siglens-preferences-window.ui");
  gtk_widget_class_bind_template_child (widget_class, SiglensPreferencesWindow, folder_row);
  gtk_widget_class_bind_template_child (widget_class, SiglensPreferencesWindow, folder_button);
  gtk_widget_class_bind_template_child (widget_class, SiglensPreferencesWindow,
                                        folder_reset_button);
  gtk_widget_class_bind_template_child (widget_class, SiglensPreferencesWindow, precision_row);
  gtk_widget_class_bind_template_child (widget_class, SiglensPreferencesWindow, detail_row);
  gtk_widget_class_bind_template_child (widget_class, SiglensPreferencesWindow, template_row);
  gtk_widget_class_bind_template_child (widget_class, SiglensPreferencesWindow,
                                        lowercase_switch);
  gtk_widget_class_bind_template_child (widget_class, SiglensPreferencesWindow,
                                        ensemble_switch);
  gtk_widget_class_bind_template_child (widget_class, SiglensPreferencesWindow,
                                        label_cache_row);
  gtk_widget_class_bind_template_child (widget_class, SiglensPreferencesWindow,
                                        clear_cache_button);
}

static void
siglens_preferences_window_init (SiglensPreferencesWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->settings = g_settings_new (APP_ID);

  g_settings_bind_with_mapping (self->settings, "max-patches", self->detail_row, "selected",
                                G_SETTINGS_BIND_DEFAULT, patches_to_row, row_to_patches,
                                NULL, NULL);
  g_settings_bind_with_mapping (self->settings, "precision", self->precision_row, "selected",
                                G_SETTINGS_BIND_DEFAULT, precision_to_row, row_to_precision,
                                NULL, NULL);
  siglens_template_bind (self->settings, GTK_EDITABLE (self->template_row), NULL);
  g_settings_bind (self->settings, "lowercase", self->lowercase_switch, "active",
                   G_SETTINGS_BIND_DEFAULT);
  g_settings_bind (self->settings, "ensemble", self->ensemble_switch, "active",
                   G_SETTINGS_BIND_DEFAULT);

  g_signal_connect_swapped (self->settings, "changed::model-folder",
                            G_CALLBACK (update_folder_row), self);
  g_signal_connect_swapped (self->folder_button, "clicked",
                            G_CALLBACK (on_folder_clicked), self);
  g_signal_connect_swapped (self->folder_reset_button, "clicked",
                            G_CALLBACK (on_folder_reset_clicked), self);
  g_signal_connect_swapped (self->clear_cache_button, "clicked",
                            G_CALLBACK (on_clear_cache_clicked), self);
  update_folder_row (self);
  update_label_cache_row (self);
}

GtkWidget *
siglens_preferences_window_new (void)
{
  return g_object_new (SIGLENS_TYPE_PREFERENCES_WINDOW, NULL);
}
