/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * A window of its own rather than a mode of the main window: nothing of the editing UI (header
 * bar, entries, expanders) has to be hidden and shown again, and its layout, type sizes and
 * colours (style.css, `window.presentation`) cannot leak into the everyday window.
 */
#include <glib/gi18n.h>

#include "siglens-presentation-window.h"

struct _SiglensPresentationWindow
{
  AdwWindow          parent_instance;

  GtkOverlay        *picture_area;
  GtkPicture        *picture;
  GtkPicture        *map;
  SiglensScoreChart *chart;
};

G_DEFINE_FINAL_TYPE (SiglensPresentationWindow, siglens_presentation_window, ADW_TYPE_WINDOW)

static void
siglens_presentation_window_class_init (SiglensPresentationWindowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  g_type_ensure (SIGLENS_TYPE_SCORE_CHART);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/siglens/Siglens/"
                                               "siglens-presentation-window.ui");
  gtk_widget_class_bind_template_child (widget_class, SiglensPresentationWindow, picture_area);
  gtk_widget_class_bind_template_child (widget_class, SiglensPresentationWindow, picture);
  gtk_widget_class_bind_template_child (widget_class, SiglensPresentationWindow, map);
  gtk_widget_class_bind_template_child (widget_class, SiglensPresentationWindow, chart);

  /* Esc leaves, and so does the key that came in. */
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_F11, 0, "window.close", NULL);
}

static void
siglens_presentation_window_init (SiglensPresentationWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

SiglensPresentationWindow *
siglens_presentation_window_new (GtkWindow *parent)
{
  SiglensPresentationWindow *self;
  g_autoptr (GdkMonitor) first = NULL;
  GdkDisplay *display;
  GdkMonitor *monitor = NULL;

  g_return_val_if_fail (parent == NULL || GTK_IS_WINDOW (parent), NULL);

  self = g_object_new (SIGLENS_TYPE_PRESENTATION_WINDOW,
                       "transient-for", parent,
                       "application", parent != NULL ? gtk_window_get_application (parent) : NULL,
                       NULL);

  display = gtk_widget_get_display (GTK_WIDGET (self));
  if (parent != NULL && gtk_native_get_surface (GTK_NATIVE (parent)) != NULL)
    monitor = gdk_display_get_monitor_at_surface (display,
                                                  gtk_native_get_surface (GTK_NATIVE (parent)));
  if (monitor == NULL)
    monitor = first = g_list_model_get_item (gdk_display_get_monitors (display), 0);

  if (monitor != NULL)
    {
      GdkRectangle geometry;

      /* The monitor's size up front: a bare X server (no window manager) ignores the full-screen
       * request, and a window manager that honours it has nothing to resize. */
      gdk_monitor_get_geometry (monitor, &geometry);
      gtk_window_set_default_size (GTK_WINDOW (self), geometry.width, geometry.height);
      gtk_window_fullscreen_on_monitor (GTK_WINDOW (self), monitor);
    }
  else
    gtk_window_fullscreen (GTK_WINDOW (self));
  return self;
}

void
siglens_presentation_window_set_picture (SiglensPresentationWindow *self,
                                         GdkPaintable              *picture)
{
  g_return_if_fail (SIGLENS_IS_PRESENTATION_WINDOW (self));

  gtk_picture_set_paintable (self->picture, picture);
}

void
siglens_presentation_window_set_map (SiglensPresentationWindow *self,
                                     GdkPaintable              *map,
                                     double                     opacity)
{
  g_return_if_fail (SIGLENS_IS_PRESENTATION_WINDOW (self));

  gtk_picture_set_paintable (self->map, map);
  gtk_widget_set_opacity (GTK_WIDGET (self->map), opacity);
  gtk_widget_set_visible (GTK_WIDGET (self->map), map != NULL);
}

GdkPaintable *
siglens_presentation_window_get_map (SiglensPresentationWindow *self)
{
  g_return_val_if_fail (SIGLENS_IS_PRESENTATION_WINDOW (self), NULL);
  return gtk_picture_get_paintable (self->map);
}

SiglensScoreChart *
siglens_presentation_window_get_chart (SiglensPresentationWindow *self)
{
  g_return_val_if_fail (SIGLENS_IS_PRESENTATION_WINDOW (self), NULL);
  return self->chart;
}

GtkWidget *
siglens_presentation_window_get_picture_area (SiglensPresentationWindow *self)
{
  g_return_val_if_fail (SIGLENS_IS_PRESENTATION_WINDOW (self), NULL);
  return GTK_WIDGET (self->picture_area);
}
