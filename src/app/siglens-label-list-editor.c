/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * SiglensLabelListEditor — a button beside the labels entry that opens the same labels as a list,
 * one per line, in a text view: sixty labels can be read and edited there, while the entry stays
 * for a quick "cat, dog". The entry remains the one source of truth (the window scores what it
 * holds); the list is filled from it when it opens and writes every change back to it.
 */
#include <glib/gi18n.h>
#include <string.h>

#include "siglip.h"
#include "siglens-label-list-editor.h"

struct _SiglensLabelListEditor
{
  GtkWidget      parent_instance;

  GtkWidget     *button;  /* (owned) GtkMenuButton child */
  GtkTextView   *view;    /* in the button's popover */
  GtkEditable   *entry;   /* (nullable) (owned) */
  gboolean       syncing;   /* the entry is being copied into the list */
  gboolean       inserting; /* a pasted list is being inserted, flattened */
};

G_DEFINE_FINAL_TYPE (SiglensLabelListEditor, siglens_label_list_editor, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_ENTRY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* "cat, dog，一只猫" -> "cat\ndog\n一只猫": every entry, duplicates too, as typed. */
static char *
entry_to_lines (const char *text)
{
  siglip_label_list *list = siglip_label_list_new (text, NULL,
                                                   &(siglip_encode_options) { .no_lowercase = true },
                                                   NULL);
  GString *lines = g_string_new (NULL);

  for (int i = 0; list != NULL && i < list->n_entries; i++)
    {
      g_string_append (lines, list->entries[i].text);
      g_string_append_c (lines, '\n');
    }
  siglip_label_list_free (list);
  return g_string_free (lines, FALSE);
}

/* The other way: one label per non-empty line, joined with ", ". */
static char *
lines_to_entry (const char *text)
{
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  GString *joined = g_string_new (NULL);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *line = g_strstrip (lines[i]);

      if (*line == '\0')
        continue;
      if (joined->len > 0)
        g_string_append (joined, ", ");
      g_string_append (joined, line);
    }
  return g_string_free (joined, FALSE);
}

static void
on_buffer_changed (SiglensLabelListEditor *self)
{
  GtkTextBuffer *buffer = gtk_text_view_get_buffer (self->view);
  GtkTextIter start, end;
  g_autofree char *text = NULL;
  g_autofree char *joined = NULL;

  if (self->entry == NULL || self->syncing)
    return;
  gtk_text_buffer_get_bounds (buffer, &start, &end);
  text = gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
  joined = lines_to_entry (text);
  if (!g_str_equal (joined, gtk_editable_get_text (self->entry)))
    gtk_editable_set_text (self->entry, joined);
}

static void
on_popover_show (SiglensLabelListEditor *self)
{
  g_autofree char *lines = NULL;

  if (self->entry == NULL)
    return;
  lines = entry_to_lines (gtk_editable_get_text (self->entry));
  self->syncing = TRUE;
  gtk_text_buffer_set_text (gtk_text_view_get_buffer (self->view), lines, -1);
  self->syncing = FALSE;
  gtk_widget_grab_focus (GTK_WIDGET (self->view));
}

/* A list pasted into the one-line entry keeps its line breaks as separators: shown as ", "
 * rather than as the symbols a one-line entry draws for them. */
static void
on_entry_insert_text (GtkEditable            *text,
                      const char             *new_text,
                      int                     length,
                      int                    *position,
                      SiglensLabelListEditor *self)
{
  g_autofree char *flat = NULL;
  g_auto (GStrv) lines = NULL;

  if (self->inserting)
    return;
  if (length < 0)
    length = (int) strlen (new_text);
  if (memchr (new_text, '\n', (size_t) length) == NULL && memchr (new_text, '\r', (size_t) length) == NULL)
    return;

  flat = g_strndup (new_text, (gsize) length);
  g_strdelimit (flat, "\r", '\n');
  lines = g_strsplit (g_strstrip (flat), "\n", -1);
  g_clear_pointer (&flat, g_free);
  {
    g_autoptr (GStrvBuilder) kept = g_strv_builder_new ();
    g_auto (GStrv) nonempty = NULL;

    for (guint i = 0; lines[i] != NULL; i++)
      if (*g_strstrip (lines[i]) != '\0')
        g_strv_builder_add (kept, lines[i]);
    nonempty = g_strv_builder_end (kept);
    flat = g_strjoinv (", ", nonempty);
  }

  self->inserting = TRUE;
  gtk_editable_insert_text (text, flat, -1, position);
  self->inserting = FALSE;
  g_signal_stop_emission_by_name (text, "insert-text");
}

static GtkEditable *
entry_text (GtkEditable *entry)
{
  GtkEditable *delegate = gtk_editable_get_delegate (entry);

  return delegate != NULL ? delegate : entry;
}

void
siglens_label_list_editor_set_entry (SiglensLabelListEditor *self,
                                     GtkEditable            *entry)
{
  g_return_if_fail (SIGLENS_IS_LABEL_LIST_EDITOR (self));
  g_return_if_fail (entry == NULL || GTK_IS_EDITABLE (entry));

  if (self->entry == entry)
    return;
  if (self->entry != NULL)
    g_signal_handlers_disconnect_by_data (entry_text (self->entry), self);
  g_set_object (&self->entry, entry);
  if (entry != NULL)
    g_signal_connect (entry_text (entry), "insert-text", G_CALLBACK (on_entry_insert_text), self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ENTRY]);
}

GtkEditable *
siglens_label_list_editor_get_entry (SiglensLabelListEditor *self)
{
  g_return_val_if_fail (SIGLENS_IS_LABEL_LIST_EDITOR (self), NULL);
  return self->entry;
}

void
siglens_label_list_editor_popup (SiglensLabelListEditor *self)
{
  g_return_if_fail (SIGLENS_IS_LABEL_LIST_EDITOR (self));
  gtk_menu_button_popup (GTK_MENU_BUTTON (self->button));
}

GtkTextView *
siglens_label_list_editor_get_view (SiglensLabelListEditor *self)
{
  g_return_val_if_fail (SIGLENS_IS_LABEL_LIST_EDITOR (self), NULL);
  return self->view;
}

static void
siglens_label_list_editor_dispose (GObject *object)
{
  SiglensLabelListEditor *self = SIGLENS_LABEL_LIST_EDITOR (object);

  siglens_label_list_editor_set_entry (self, NULL);
  g_clear_pointer (&self->button, gtk_widget_unparent);

  G_OBJECT_CLASS (siglens_label_list_editor_parent_class)->dispose (object);
}

static void
siglens_label_list_editor_get_property (GObject    *object,
                                        guint       prop_id,
                                        GValue     *value,
                                        GParamSpec *pspec)
{
  SiglensLabelListEditor *self = SIGLENS_LABEL_LIST_EDITOR (object);

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
siglens_label_list_editor_set_property (GObject      *object,
                                        guint         prop_id,
                                        const GValue *value,
                                        GParamSpec   *pspec)
{
  SiglensLabelListEditor *self = SIGLENS_LABEL_LIST_EDITOR (object);

  switch (prop_id)
    {
    case PROP_ENTRY:
      siglens_label_list_editor_set_entry (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
siglens_label_list_editor_class_init (SiglensLabelListEditorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = siglens_label_list_editor_dispose;
  object_class->get_property = siglens_label_list_editor_get_property;
  object_class->set_property = siglens_label_list_editor_set_property;

  properties[PROP_ENTRY] =
    g_param_spec_object ("entry", NULL, NULL, GTK_TYPE_EDITABLE,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "labellisteditor");
}

static void
siglens_label_list_editor_init (SiglensLabelListEditor *self)
{
  GtkWidget *popover = gtk_popover_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  GtkWidget *heading = gtk_label_new (_("One label per line"));
  GtkWidget *scroller = gtk_scrolled_window_new ();

  gtk_label_set_xalign (GTK_LABEL (heading), 0.f);
  gtk_widget_add_css_class (heading, "heading");
  self->view = GTK_TEXT_VIEW (gtk_text_view_new ());
  gtk_text_view_set_wrap_mode (self->view, GTK_WRAP_WORD_CHAR);
  gtk_text_view_set_top_margin (self->view, 6);
  gtk_text_view_set_bottom_margin (self->view, 6);
  gtk_text_view_set_left_margin (self->view, 6);
  gtk_text_view_set_right_margin (self->view, 6);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->view),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Labels, one per line"),
                                  -1);
  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroller), GTK_WIDGET (self->view));
  gtk_scrolled_window_set_min_content_width (GTK_SCROLLED_WINDOW (scroller), 320);
  gtk_scrolled_window_set_min_content_height (GTK_SCROLLED_WINDOW (scroller), 300);
  gtk_scrolled_window_set_has_frame (GTK_SCROLLED_WINDOW (scroller), TRUE);
  gtk_box_append (GTK_BOX (box), heading);
  gtk_box_append (GTK_BOX (box), scroller);
  gtk_popover_set_child (GTK_POPOVER (popover), box);

  /* As the preset menu: GTK 4.8 would expose the menu button and its inner toggle as two
   * buttons, so the outer one stays out of the accessible tree and the inner one is named. */
  self->button = g_object_new (GTK_TYPE_MENU_BUTTON,
                               "accessible-role", GTK_ACCESSIBLE_ROLE_PRESENTATION,
                               "icon-name", "document-edit-symbolic",
                               "popover", popover,
                               "tooltip-text", _("Edit the Labels as a List"),
                               NULL);
  gtk_accessible_update_property (GTK_ACCESSIBLE (gtk_widget_get_first_child (self->button)),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Edit the Labels as a List"),
                                  -1);
  gtk_widget_set_parent (self->button, GTK_WIDGET (self));

  g_signal_connect_swapped (popover, "show", G_CALLBACK (on_popover_show), self);
  g_signal_connect_swapped (gtk_text_view_get_buffer (self->view), "changed",
                            G_CALLBACK (on_buffer_changed), self);
}

GtkWidget *
siglens_label_list_editor_new (void)
{
  return g_object_new (SIGLENS_TYPE_LABEL_LIST_EDITOR, NULL);
}
