/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The prompt template ("This is a photo of {}.") is edited in two places, the window's Template
 * expander and Preferences. Both go through siglens_template_bind(), so a template without the
 * "{}" the label goes into is refused the same way in both: marked, explained, never saved.
 */
#include <glib/gi18n.h>
#include <string.h>

#include "siglens-template.h"

typedef struct {
  GSettings   *settings; /* (owned) */
  GtkEditable *editable; /* (unowned) the binding lives as long as it does */
  GtkLabel    *note;     /* (owned) (nullable) */
  gboolean     valid;
  gboolean     updating; /* the setting is being copied into the field */
} TemplateBinding;

static const char binding_key[] = "siglens-template-binding";

char *
siglens_template_dup_problem (const char *template)
{
  if (template != NULL && strstr (template, "{}") != NULL)
    return NULL;
  /* Translators: {} is literal, the place in the template where each label goes */
  return g_strdup (_("The template needs {} where the label goes; until it has one, the last "
                     "template that had it is used."));
}

static void
binding_free (gpointer data)
{
  TemplateBinding *b = data;

  g_signal_handlers_disconnect_by_data (b->settings, b);
  g_clear_object (&b->settings);
  g_clear_object (&b->note);
  g_free (b);
}

static void
on_text_changed (TemplateBinding *b)
{
  const char *text = gtk_editable_get_text (b->editable);
  g_autofree char *problem = siglens_template_dup_problem (text);
  GtkWidget *widget = GTK_WIDGET (b->editable);

  b->valid = problem == NULL;
  if (b->valid)
    gtk_widget_remove_css_class (widget, "error");
  else
    gtk_widget_add_css_class (widget, "error");
  gtk_accessible_update_state (GTK_ACCESSIBLE (widget),
                               GTK_ACCESSIBLE_STATE_INVALID,
                               b->valid ? GTK_ACCESSIBLE_INVALID_FALSE : GTK_ACCESSIBLE_INVALID_TRUE,
                               -1);
  if (b->note != NULL)
    {
      gtk_label_set_label (b->note, problem != NULL ? problem : "");
      gtk_widget_set_visible (GTK_WIDGET (b->note), problem != NULL);
    }

  if (b->valid && !b->updating)
    {
      g_autofree char *saved = g_settings_get_string (b->settings, "template");

      if (!g_str_equal (saved, text))
        g_settings_set_string (b->settings, "template", text);
    }
}

static void
on_setting_changed (TemplateBinding *b)
{
  g_autofree char *saved = g_settings_get_string (b->settings, "template");

  /* A field holding a refused text keeps it while the person fixes it, unless the setting
   * changed to something else meanwhile (the other editor, a reset). */
  if (g_str_equal (saved, gtk_editable_get_text (b->editable)))
    return;
  b->updating = TRUE;
  gtk_editable_set_text (b->editable, saved);
  b->updating = FALSE;
}

void
siglens_template_bind (GSettings   *settings,
                       GtkEditable *editable,
                       GtkLabel    *note)
{
  TemplateBinding *b;

  g_return_if_fail (G_IS_SETTINGS (settings));
  g_return_if_fail (GTK_IS_EDITABLE (editable));
  g_return_if_fail (note == NULL || GTK_IS_LABEL (note));

  b = g_new0 (TemplateBinding, 1);
  b->settings = g_object_ref (settings);
  b->editable = editable;
  b->note = note != NULL ? g_object_ref (note) : NULL;
  g_object_set_data_full (G_OBJECT (editable), binding_key, b, binding_free);

  g_signal_connect_swapped (editable, "changed", G_CALLBACK (on_text_changed), b);
  g_signal_connect_swapped (settings, "changed::template", G_CALLBACK (on_setting_changed), b);
  on_setting_changed (b);
  on_text_changed (b);
}

gboolean
siglens_template_editable_is_valid (GtkEditable *editable)
{
  TemplateBinding *b;

  g_return_val_if_fail (GTK_IS_EDITABLE (editable), FALSE);
  b = g_object_get_data (G_OBJECT (editable), binding_key);
  g_return_val_if_fail (b != NULL, FALSE);
  return b->valid;
}
