/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The map is a second GtkPicture over the first, both content-fit "contain": rendered at the
 * image's own aspect ratio, it covers exactly the pixels of the image, whatever the window's
 * shape. Its opacity is the widget's, so the slider costs no re-rendering.
 */
#include <glib/gi18n.h>

#include "siglens-heatmap-overlay.h"

struct _SiglensHeatmapOverlay
{
  GtkWidget        parent_instance;

  GtkWidget       *overlay;  /* (owned) GtkOverlay child */
  GtkWidget       *child;    /* (nullable) the picture, inside overlay */
  GtkWidget       *map;      /* GtkPicture of the map */
  GtkWidget       *controls;
  GtkToggleButton *toggle;
  GtkRange        *opacity;
  GtkWidget       *help;
};

G_DEFINE_FINAL_TYPE (SiglensHeatmapOverlay, siglens_heatmap_overlay, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_CHILD,
  PROP_ACTIVE,
  PROP_OPACITY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

const char *
siglens_heatmap_overlay_get_help_text (SiglensHeatmapOverlay *self)
{
  return _("Where it looked: the model sums the picture up in one description, made from "
           "its small square patches, some weighed more than others. This map shows those "
           "weights (the attention of the model's pooling step): bright yellow patches counted "
           "most, dark ones least.\n\n"
           "It is the same map whatever the labels are: it does not show where a cat or a car "
           "is, only which parts of the picture the description is made from.");
}

static void
update_map_visibility (SiglensHeatmapOverlay *self)
{
  gboolean active = gtk_toggle_button_get_active (self->toggle);

  gtk_widget_set_visible (self->map, active
                          && gtk_picture_get_paintable (GTK_PICTURE (self->map)) != NULL);
  gtk_widget_set_visible (GTK_WIDGET (self->opacity), active);
}

static void
on_toggled (SiglensHeatmapOverlay *self)
{
  update_map_visibility (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ACTIVE]);
}

static void
on_opacity_changed (SiglensHeatmapOverlay *self)
{
  gtk_widget_set_opacity (self->map, gtk_range_get_value (self->opacity));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_OPACITY]);
}

GtkWidget *
siglens_heatmap_overlay_new (void)
{
  return g_object_new (SIGLENS_TYPE_HEATMAP_OVERLAY, NULL);
}

void
siglens_heatmap_overlay_set_child (SiglensHeatmapOverlay *self,
                                   GtkWidget             *child)
{
  g_return_if_fail (SIGLENS_IS_HEATMAP_OVERLAY (self));
  g_return_if_fail (child == NULL || GTK_IS_WIDGET (child));

  if (self->child == child)
    return;
  self->child = child;
  gtk_overlay_set_child (GTK_OVERLAY (self->overlay), child);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CHILD]);
}

GtkWidget *
siglens_heatmap_overlay_get_child (SiglensHeatmapOverlay *self)
{
  g_return_val_if_fail (SIGLENS_IS_HEATMAP_OVERLAY (self), NULL);
  return self->child;
}

gboolean
siglens_heatmap_overlay_get_active (SiglensHeatmapOverlay *self)
{
  g_return_val_if_fail (SIGLENS_IS_HEATMAP_OVERLAY (self), FALSE);
  return gtk_toggle_button_get_active (self->toggle);
}

void
siglens_heatmap_overlay_set_active (SiglensHeatmapOverlay *self,
                                    gboolean               active)
{
  g_return_if_fail (SIGLENS_IS_HEATMAP_OVERLAY (self));
  gtk_toggle_button_set_active (self->toggle, active);
}

void
siglens_heatmap_overlay_set_map (SiglensHeatmapOverlay *self,
                                 GdkPaintable          *map)
{
  g_return_if_fail (SIGLENS_IS_HEATMAP_OVERLAY (self));
  g_return_if_fail (map == NULL || GDK_IS_PAINTABLE (map));

  gtk_picture_set_paintable (GTK_PICTURE (self->map), map);
  update_map_visibility (self);
}

GdkPaintable *
siglens_heatmap_overlay_get_map (SiglensHeatmapOverlay *self)
{
  g_return_val_if_fail (SIGLENS_IS_HEATMAP_OVERLAY (self), NULL);
  return gtk_picture_get_paintable (GTK_PICTURE (self->map));
}

double
siglens_heatmap_overlay_get_opacity (SiglensHeatmapOverlay *self)
{
  g_return_val_if_fail (SIGLENS_IS_HEATMAP_OVERLAY (self), 0.);
  return gtk_range_get_value (self->opacity);
}

void
siglens_heatmap_overlay_set_opacity (SiglensHeatmapOverlay *self,
                                     double                 opacity)
{
  g_return_if_fail (SIGLENS_IS_HEATMAP_OVERLAY (self));
  gtk_range_set_value (self->opacity, opacity);
}

static void
siglens_heatmap_overlay_dispose (GObject *object)
{
  SiglensHeatmapOverlay *self = SIGLENS_HEATMAP_OVERLAY (object);

  self->child = NULL;
  g_clear_pointer (&self->overlay, gtk_widget_unparent);

  G_OBJECT_CLASS (siglens_heatmap_overlay_parent_class)->dispose (object);
}

static void
siglens_heatmap_overlay_get_property (GObject    *object,
                                      guint       prop_id,
                                      GValue     *value,
                                      GParamSpec *pspec)
{
  SiglensHeatmapOverlay *self = SIGLENS_HEATMAP_OVERLAY (object);

  switch (prop_id)
    {
    case PROP_CHILD:
      g_value_set_object (value, self->child);
      break;
    case PROP_ACTIVE:
      g_value_set_boolean (value, siglens_heatmap_overlay_get_active (self));
      break;
    case PROP_OPACITY:
      g_value_set_double (value, siglens_heatmap_overlay_get_opacity (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
siglens_heatmap_overlay_set_property (GObject      *object,
                                      guint         prop_id,
                                      const GValue *value,
                                      GParamSpec   *pspec)
{
  SiglensHeatmapOverlay *self = SIGLENS_HEATMAP_OVERLAY (object);

  switch (prop_id)
    {
    case PROP_CHILD:
      siglens_heatmap_overlay_set_child (self, g_value_get_object (value));
      break;
    case PROP_ACTIVE:
      siglens_heatmap_overlay_set_active (self, g_value_get_boolean (value));
      break;
    case PROP_OPACITY:
      siglens_heatmap_overlay_set_opacity (self, g_value_get_double (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
siglens_heatmap_overlay_class_init (SiglensHeatmapOverlayClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  const GParamFlags flags = G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->dispose = siglens_heatmap_overlay_dispose;
  object_class->get_property = siglens_heatmap_overlay_get_property;
  object_class->set_property = siglens_heatmap_overlay_set_property;

  properties[PROP_CHILD] = g_param_spec_object ("child", NULL, NULL, GTK_TYPE_WIDGET, flags);
  properties[PROP_ACTIVE] = g_param_spec_boolean ("active", NULL, NULL, FALSE, flags);
  properties[PROP_OPACITY] = g_param_spec_double ("opacity", NULL, NULL, 0., 1., 0.6, flags);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "heatmapoverlay");
}

static void
siglens_heatmap_overlay_init (SiglensHeatmapOverlay *self)
{
  GtkWidget *popover, *note, *scale;

  self->overlay = gtk_overlay_new ();
  gtk_widget_set_parent (self->overlay, GTK_WIDGET (self));

  self->map = gtk_picture_new ();
  gtk_picture_set_content_fit (GTK_PICTURE (self->map), GTK_CONTENT_FIT_CONTAIN);
  gtk_picture_set_can_shrink (GTK_PICTURE (self->map), TRUE);
  gtk_widget_set_can_target (self->map, FALSE);
  gtk_widget_set_visible (self->map, FALSE);
  gtk_picture_set_alternative_text (GTK_PICTURE (self->map),
                                    _("Where the model looked, as a colour map over the image"));
  gtk_overlay_add_overlay (GTK_OVERLAY (self->overlay), self->map);

  self->controls = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  gtk_widget_set_halign (self->controls, GTK_ALIGN_END);
  gtk_widget_set_valign (self->controls, GTK_ALIGN_START);
  gtk_widget_set_margin_top (self->controls, 6);
  gtk_widget_set_margin_end (self->controls, 6);
  gtk_widget_add_css_class (self->controls, "osd");
  gtk_widget_add_css_class (self->controls, "heatmap-controls");
  gtk_overlay_add_overlay (GTK_OVERLAY (self->overlay), self->controls);

  scale = gtk_scale_new_with_range (GTK_ORIENTATION_HORIZONTAL, 0.1, 1., 0.05);
  self->opacity = GTK_RANGE (scale);
  gtk_range_set_value (self->opacity, 0.6);
  gtk_scale_set_draw_value (GTK_SCALE (scale), FALSE);
  gtk_widget_set_size_request (scale, 120, -1);
  gtk_widget_set_visible (scale, FALSE);
  gtk_widget_set_tooltip_text (scale, _("How strongly the map covers the picture"));
  gtk_accessible_update_property (GTK_ACCESSIBLE (scale), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Map opacity"), -1);
  gtk_widget_set_opacity (self->map, 0.6);
  g_signal_connect_swapped (scale, "value-changed", G_CALLBACK (on_opacity_changed), self);
  gtk_box_append (GTK_BOX (self->controls), scale);

  self->toggle = GTK_TOGGLE_BUTTON (gtk_toggle_button_new_with_mnemonic (_("_Where It Looked")));
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->toggle),
                               _("Show which parts of the picture the model's description is "
                                 "made of"));
  g_signal_connect_swapped (self->toggle, "toggled", G_CALLBACK (on_toggled), self);
  gtk_box_append (GTK_BOX (self->controls), GTK_WIDGET (self->toggle));

  note = gtk_label_new (siglens_heatmap_overlay_get_help_text (self));
  gtk_label_set_wrap (GTK_LABEL (note), TRUE);
  gtk_label_set_max_width_chars (GTK_LABEL (note), 40);
  gtk_label_set_xalign (GTK_LABEL (note), 0.f);
  popover = gtk_popover_new ();
  gtk_popover_set_child (GTK_POPOVER (popover), note);
  /* As the window's menu buttons: the outer button out of the accessible tree, the inner
   * toggle named. */
  self->help = g_object_new (GTK_TYPE_MENU_BUTTON,
                             "accessible-role", GTK_ACCESSIBLE_ROLE_PRESENTATION,
                             "icon-name", "help-about-symbolic",
                             "popover", popover,
                             "tooltip-text", _("What the map shows"),
                             NULL);
  gtk_accessible_update_property (GTK_ACCESSIBLE (gtk_widget_get_first_child (self->help)),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("What the map shows"),
                                  -1);
  gtk_box_append (GTK_BOX (self->controls), self->help);
}
