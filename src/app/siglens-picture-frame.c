/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * SiglensPictureFrame — holds the GtkPicture. It takes all the room it is given, but gives the
 * picture at most SIGLENS_PICTURE_FRAME_MAX_SCALE times the picture's natural (pixel) size,
 * centred: a 451×300 photo on a 2560 px screen is shown at 902×600, not blown up into a blur.
 * Within that box GtkPicture keeps the aspect ratio (content-fit "contain").
 */
#include "siglens-picture-frame.h"

struct _SiglensPictureFrame
{
  GtkWidget  parent_instance;

  GtkWidget *child; /* (nullable) */
};

static void siglens_picture_frame_buildable_init (GtkBuildableIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (SiglensPictureFrame, siglens_picture_frame, GTK_TYPE_WIDGET,
                               G_IMPLEMENT_INTERFACE (GTK_TYPE_BUILDABLE,
                                                      siglens_picture_frame_buildable_init))

enum {
  PROP_0,
  PROP_CHILD,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static GtkBuildableIface *parent_buildable_iface;

static void
siglens_picture_frame_measure (GtkWidget      *widget,
                               GtkOrientation  orientation,
                               int             for_size,
                               int            *minimum,
                               int            *natural,
                               int            *minimum_baseline,
                               int            *natural_baseline)
{
  SiglensPictureFrame *self = SIGLENS_PICTURE_FRAME (widget);

  *minimum = *natural = 0;
  if (self->child != NULL && gtk_widget_should_layout (self->child))
    gtk_widget_measure (self->child, orientation, -1, minimum, natural, NULL, NULL);
}

static void
siglens_picture_frame_size_allocate (GtkWidget *widget,
                                     int        width,
                                     int        height,
                                     int        baseline)
{
  SiglensPictureFrame *self = SIGLENS_PICTURE_FRAME (widget);
  int min_w, nat_w, min_h, nat_h;
  int w = width, h = height;

  if (self->child == NULL || !gtk_widget_should_layout (self->child))
    return;

  gtk_widget_measure (self->child, GTK_ORIENTATION_HORIZONTAL, -1, &min_w, &nat_w, NULL, NULL);
  gtk_widget_measure (self->child, GTK_ORIENTATION_VERTICAL, -1, &min_h, &nat_h, NULL, NULL);
  /* A child with no natural size (no picture yet) just fills the frame. */
  if (nat_w > 0 && nat_h > 0)
    {
      w = MAX (min_w, MIN (width, nat_w * SIGLENS_PICTURE_FRAME_MAX_SCALE));
      h = MAX (min_h, MIN (height, nat_h * SIGLENS_PICTURE_FRAME_MAX_SCALE));
    }
  gtk_widget_size_allocate (self->child,
                            &(GtkAllocation) { (width - w) / 2, (height - h) / 2, w, h }, -1);
}

void
siglens_picture_frame_set_child (SiglensPictureFrame *self,
                                 GtkWidget           *child)
{
  g_return_if_fail (SIGLENS_IS_PICTURE_FRAME (self));
  g_return_if_fail (child == NULL || GTK_IS_WIDGET (child));

  if (self->child == child)
    return;
  g_clear_pointer (&self->child, gtk_widget_unparent);
  if (child != NULL)
    {
      self->child = child;
      gtk_widget_set_parent (child, GTK_WIDGET (self));
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CHILD]);
}

GtkWidget *
siglens_picture_frame_get_child (SiglensPictureFrame *self)
{
  g_return_val_if_fail (SIGLENS_IS_PICTURE_FRAME (self), NULL);
  return self->child;
}

static void
siglens_picture_frame_add_child (GtkBuildable *buildable,
                                 GtkBuilder   *builder,
                                 GObject      *child,
                                 const char   *type)
{
  if (GTK_IS_WIDGET (child))
    siglens_picture_frame_set_child (SIGLENS_PICTURE_FRAME (buildable), GTK_WIDGET (child));
  else
    parent_buildable_iface->add_child (buildable, builder, child, type);
}

static void
siglens_picture_frame_buildable_init (GtkBuildableIface *iface)
{
  parent_buildable_iface = g_type_interface_peek_parent (iface);
  iface->add_child = siglens_picture_frame_add_child;
}

static void
siglens_picture_frame_dispose (GObject *object)
{
  SiglensPictureFrame *self = SIGLENS_PICTURE_FRAME (object);

  g_clear_pointer (&self->child, gtk_widget_unparent);

  G_OBJECT_CLASS (siglens_picture_frame_parent_class)->dispose (object);
}

static void
siglens_picture_frame_get_property (GObject    *object,
                                    guint       prop_id,
                                    GValue     *value,
                                    GParamSpec *pspec)
{
  SiglensPictureFrame *self = SIGLENS_PICTURE_FRAME (object);

  switch (prop_id)
    {
    case PROP_CHILD:
      g_value_set_object (value, self->child);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
siglens_picture_frame_set_property (GObject      *object,
                                    guint         prop_id,
                                    const GValue *value,
                                    GParamSpec   *pspec)
{
  SiglensPictureFrame *self = SIGLENS_PICTURE_FRAME (object);

  switch (prop_id)
    {
    case PROP_CHILD:
      siglens_picture_frame_set_child (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
siglens_picture_frame_class_init (SiglensPictureFrameClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = siglens_picture_frame_dispose;
  object_class->get_property = siglens_picture_frame_get_property;
  object_class->set_property = siglens_picture_frame_set_property;

  widget_class->measure = siglens_picture_frame_measure;
  widget_class->size_allocate = siglens_picture_frame_size_allocate;

  properties[PROP_CHILD] =
    g_param_spec_object ("child", NULL, NULL, GTK_TYPE_WIDGET,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_css_name (widget_class, "pictureframe");
}

static void
siglens_picture_frame_init (SiglensPictureFrame *self)
{
}

GtkWidget *
siglens_picture_frame_new (void)
{
  return g_object_new (SIGLENS_TYPE_PICTURE_FRAME, NULL);
}
