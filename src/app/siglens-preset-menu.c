/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The menu is built each time it opens, so a set saved a moment ago (or dropped into the
 * label-sets folder by hand) is there. Built-in sets in the interface's language come first:
 * a Chinese classroom sees 动物, 水果, … before the English sets.
 */
#include <glib/gi18n.h>
#include <adwaita.h>

#include "siglip.h"
#include "siglens-presets.h"
#include "siglens-preset-menu.h"

struct _SiglensPresetMenu
{
  GtkWidget    parent_instance;

  GtkWidget   *button;       /* (owned) GtkMenuButton child */
  GMenu       *menu;
  GtkEditable *entry;        /* (nullable) (weak) */
  char        *applied_text; /* the entry's text as the last applied preset left it */
  guint        applied_n;
};

G_DEFINE_FINAL_TYPE (SiglensPresetMenu, siglens_preset_menu, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_ENTRY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  MESSAGE,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
say (SiglensPresetMenu *self, const char *message)
{
  g_signal_emit (self, signals[MESSAGE], 0, message);
}

static gboolean
ui_language_is (const char *language)
{
  const char *const *names = g_get_language_names ();

  return names[0] != NULL && g_str_has_prefix (names[0], language);
}

static GMenuItem *
preset_item (const SiglensPreset *preset)
{
  /* Translators: a label set in the presets menu: its name and how many labels it has */
  g_autofree char *text = g_strdup_printf (ngettext ("%s (%u label)", "%s (%u labels)",
                                                     preset->n_labels),
                                           siglens_preset_get_display_name (preset),
                                           preset->n_labels);
  GMenuItem *item = g_menu_item_new (text, NULL);

  g_menu_item_set_action_and_target_value (item, "presets.apply",
                                           g_variant_new_string (preset->id));
  return item;
}

static void
populate (GMenu *menu)
{
  g_autoptr (GPtrArray) presets = siglens_presets_list (NULL);
  g_autoptr (GMenu) first = g_menu_new ();
  g_autoptr (GMenu) other = g_menu_new ();
  g_autoptr (GMenu) saved = g_menu_new ();
  g_autoptr (GMenu) actions = g_menu_new ();
  const char *ui_language = ui_language_is ("zh") ? "zh" : "en";

  for (guint i = 0; i < presets->len; i++)
    {
      SiglensPreset *preset = g_ptr_array_index (presets, i);
      g_autoptr (GMenuItem) item = preset_item (preset);

      if (!preset->builtin)
        g_menu_append_item (saved, item);
      else if (g_str_equal (preset->language, ui_language))
        g_menu_append_item (first, item);
      else
        g_menu_append_item (other, item);
    }

  g_menu_append_section (menu, NULL, G_MENU_MODEL (first));
  g_menu_append_section (menu, NULL, G_MENU_MODEL (other));
  if (g_menu_model_get_n_items (G_MENU_MODEL (saved)) > 0)
    g_menu_append_section (menu, _("Your Sets"), G_MENU_MODEL (saved));
  g_menu_append (actions, _("_Save Labels as a Set…"), "presets.save-as");
  g_menu_append_section (menu, NULL, G_MENU_MODEL (actions));
}

GMenuModel *
siglens_preset_menu_build_model (SiglensPresetMenu *self)
{
  GMenu *menu = g_menu_new ();

  g_return_val_if_fail (SIGLENS_IS_PRESET_MENU (self), NULL);

  populate (menu);
  return G_MENU_MODEL (menu);
}

gboolean
siglens_preset_menu_apply (SiglensPresetMenu *self,
                           const char        *name)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SiglensPreset) preset = NULL;

  g_return_val_if_fail (SIGLENS_IS_PRESET_MENU (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  preset = siglens_presets_find (NULL, name, &error);
  if (preset == NULL)
    {
      say (self, error->message);
      return FALSE;
    }
  g_free (self->applied_text);
  self->applied_text = siglens_preset_dup_text (preset);
  self->applied_n = preset->n_labels;
  if (self->entry != NULL)
    gtk_editable_set_text (self->entry, self->applied_text);
  return TRUE;
}

gboolean
siglens_preset_menu_save (SiglensPresetMenu *self,
                          const char        *name)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SiglensPreset) preset = NULL;
  g_autofree char *stripped = NULL;
  g_autofree char *message = NULL;
  char **labels;
  int n = 0;

  g_return_val_if_fail (SIGLENS_IS_PRESET_MENU (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  stripped = g_strstrip (g_strdup (name));
  labels = siglip_split_labels (self->entry != NULL ? gtk_editable_get_text (self->entry) : "",
                                &n);
  preset = siglens_presets_save (NULL, stripped, (const char *const *) labels, &error);
  siglip_labels_free (labels);
  if (preset == NULL)
    {
      say (self, error->message);
      return FALSE;
    }
  /* Translators: after saving; %s is the set's name */
  message = g_strdup_printf (ngettext ("Saved “%s” with %u label.", "Saved “%s” with %u labels.",
                                       preset->n_labels),
                             preset->name, preset->n_labels);
  say (self, message);
  return TRUE;
}

guint
siglens_preset_menu_get_label_allowance (SiglensPresetMenu *self,
                                         const char        *text)
{
  g_return_val_if_fail (SIGLENS_IS_PRESET_MENU (self), 0);

  return g_strcmp0 (self->applied_text, text) == 0 ? self->applied_n : 0;
}

static void
apply_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  siglens_preset_menu_apply (SIGLENS_PRESET_MENU (widget), g_variant_get_string (parameter, NULL));
}

static void
on_save_response (AdwMessageDialog  *dialog,
                  const char        *response,
                  SiglensPresetMenu *self)
{
  GtkEditable *name = GTK_EDITABLE (adw_message_dialog_get_extra_child (dialog));

  if (g_str_equal (response, "save"))
    siglens_preset_menu_save (self, gtk_editable_get_text (name));
  g_object_unref (self);
}

static void
on_name_changed (GtkEditable      *name,
                 AdwMessageDialog *dialog)
{
  g_autofree char *stripped = g_strstrip (g_strdup (gtk_editable_get_text (name)));

  adw_message_dialog_set_response_enabled (dialog, "save", *stripped != '\0');
}

static void
save_as_action (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  SiglensPresetMenu *self = SIGLENS_PRESET_MENU (widget);
  GtkRoot *root = gtk_widget_get_root (widget);
  GtkWidget *dialog, *name;

  dialog = adw_message_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                   _("Save Labels as a Set"),
                                   _("The labels now in the entry are kept under this name and "
                                     "can be picked again from this menu."));
  name = gtk_entry_new ();
  gtk_entry_set_activates_default (GTK_ENTRY (name), TRUE);
  gtk_entry_set_placeholder_text (GTK_ENTRY (name), _("Name of the set"));
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (dialog), name);
  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Cancel"),
                                    "save", _("_Save"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "save",
                                              ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "save");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  adw_message_dialog_set_response_enabled (ADW_MESSAGE_DIALOG (dialog), "save", FALSE);
  g_signal_connect (name, "changed", G_CALLBACK (on_name_changed), dialog);
  g_signal_connect (dialog, "response", G_CALLBACK (on_save_response), g_object_ref (self));
  gtk_window_present (GTK_WINDOW (dialog));
}

/* Rebuilt as the menu opens; the open popover follows the model's changes. */
static void
on_popover_show (SiglensPresetMenu *self)
{
  g_menu_remove_all (self->menu);
  populate (self->menu);
}

void
siglens_preset_menu_set_entry (SiglensPresetMenu *self,
                               GtkEditable       *entry)
{
  g_return_if_fail (SIGLENS_IS_PRESET_MENU (self));
  g_return_if_fail (entry == NULL || GTK_IS_EDITABLE (entry));

  if (self->entry == entry)
    return;
  g_set_weak_pointer (&self->entry, entry);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ENTRY]);
}

GtkEditable *
siglens_preset_menu_get_entry (SiglensPresetMenu *self)
{
  g_return_val_if_fail (SIGLENS_IS_PRESET_MENU (self), NULL);
  return self->entry;
}

GtkWidget *
siglens_preset_menu_new (void)
{
  return g_object_new (SIGLENS_TYPE_PRESET_MENU, NULL);
}

static void
siglens_preset_menu_dispose (GObject *object)
{
  SiglensPresetMenu *self = SIGLENS_PRESET_MENU (object);

  g_clear_pointer (&self->button, gtk_widget_unparent);
  g_clear_weak_pointer (&self->entry);

  G_OBJECT_CLASS (siglens_preset_menu_parent_class)->dispose (object);
}

static void
siglens_preset_menu_finalize (GObject *object)
{
  SiglensPresetMenu *self = SIGLENS_PRESET_MENU (object);

  g_free (self->applied_text);
  g_clear_object (&self->menu);

  G_OBJECT_CLASS (siglens_preset_menu_parent_class)->finalize (object);
}

static void
siglens_preset_menu_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  SiglensPresetMenu *self = SIGLENS_PRESET_MENU (object);

  switch (prop_id)
    {
    case PROP_ENTRY:
      g_value_set_object (value, self->entry);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
siglens_preset_menu_set_property (GObject      *object,
                                  guint         prop_id,
                                  const GValue *value,
                                  GParamSpec   *pspec)
{
  SiglensPresetMenu *self = SIGLENS_PRESET_MENU (object);

  switch (prop_id)
    {
    case PROP_ENTRY:
      siglens_preset_menu_set_entry (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
siglens_preset_menu_class_init (SiglensPresetMenuClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = siglens_preset_menu_dispose;
  object_class->finalize = siglens_preset_menu_finalize;
  object_class->get_property = siglens_preset_menu_get_property;
  object_class->set_property = siglens_preset_menu_set_property;

  properties[PROP_ENTRY] =
    g_param_spec_object ("entry", NULL, NULL, GTK_TYPE_EDITABLE,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* A sentence for the person: a set saved, or why it could not be used or saved. */
  signals[MESSAGE] = g_signal_new ("message", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                   0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);

  gtk_widget_class_install_action (widget_class, "presets.apply", "s", apply_action);
  gtk_widget_class_install_action (widget_class, "presets.save-as", NULL, save_as_action);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "presetmenu");
}

static void
siglens_preset_menu_init (SiglensPresetMenu *self)
{
  /* GTK 4.8 exposes a menu button and the toggle button inside it as two buttons: the outer
   * one stays out of the accessible tree and the inner one is named, once (the tooltip would
   * repeat the name as a description). */
  self->button = g_object_new (GTK_TYPE_MENU_BUTTON,
                               "accessible-role", GTK_ACCESSIBLE_ROLE_PRESENTATION,
                               NULL);
  gtk_menu_button_set_icon_name (GTK_MENU_BUTTON (self->button), "view-list-bullet-symbolic");
  gtk_widget_set_tooltip_text (self->button, _("Label Presets"));
  gtk_accessible_update_property (GTK_ACCESSIBLE (gtk_widget_get_first_child (self->button)),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Label Presets"),
                                  -1);
  self->menu = g_menu_new ();
  populate (self->menu);
  gtk_menu_button_set_menu_model (GTK_MENU_BUTTON (self->button), G_MENU_MODEL (self->menu));
  g_signal_connect_object (gtk_menu_button_get_popover (GTK_MENU_BUTTON (self->button)), "show",
                           G_CALLBACK (on_popover_show), self, G_CONNECT_SWAPPED);
  gtk_widget_set_parent (self->button, GTK_WIDGET (self));
}
