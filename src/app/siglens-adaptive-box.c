/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * SiglensAdaptiveBox — the main page's two panes, the picture (start) and the results (end).
 *
 * Wide windows put them side by side, the results taking a fair share of the width so a big
 * screen gets a big chart; windows narrower than SIGLENS_ADAPTIVE_BOX_FOLD_WIDTH put the
 * results under the picture, so the window shrinks to a phone's 360 px. The decision is made
 * from the width actually allocated (libadwaita 1.2 has no AdwBreakpoint), so a maximised or
 * tiled window folds as well as a resized one.
 *
 * The end child also gets the CSS class "medium" or "large" when it is that wide, the way
 * AdwClamp marks its child, so the stylesheet can scale the chart's type with its width.
 */
#include "siglens-adaptive-box.h"

/* The results' share of a wide window, and the least they get there: below that the labels
 * entry and the chart's percentages crowd each other. */
#define END_SHARE     0.4
#define END_MIN_WIDE  420
/* The picture's share of a narrow window's height. */
#define START_SHARE   0.42
/* Results at least this wide get bigger type (see style.css). */
#define MEDIUM_WIDTH  600
#define LARGE_WIDTH   860

struct _SiglensAdaptiveBox
{
  GtkWidget  parent_instance;

  GtkWidget *start;     /* (nullable) */
  GtkWidget *end;       /* (nullable) */
  GtkWidget *separator; /* (owned) between the two, a line either way */
  gboolean   folded;
};

static void siglens_adaptive_box_buildable_init (GtkBuildableIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (SiglensAdaptiveBox, siglens_adaptive_box, GTK_TYPE_WIDGET,
                               G_IMPLEMENT_INTERFACE (GTK_TYPE_BUILDABLE,
                                                      siglens_adaptive_box_buildable_init))

enum {
  PROP_0,
  PROP_START_CHILD,
  PROP_END_CHILD,
  PROP_FOLDED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static GtkBuildableIface *parent_buildable_iface;

static void
measure_child (GtkWidget      *child,
               GtkOrientation  orientation,
               int             for_size,
               int            *minimum,
               int            *natural)
{
  *minimum = *natural = 0;
  if (child != NULL && gtk_widget_should_layout (child))
    gtk_widget_measure (child, orientation, for_size, minimum, natural, NULL, NULL);
}

static int
separator_size (SiglensAdaptiveBox *self)
{
  return gtk_widget_should_layout (self->separator) ? 1 : 0;
}

/* How a wide `width` is split: the end gets its share, the start the rest. */
static void
split_width (SiglensAdaptiveBox *self,
             int                 width,
             int                *start_width,
             int                *end_width)
{
  int start_min, start_nat, end_min, end_nat;
  int end;

  measure_child (self->start, GTK_ORIENTATION_HORIZONTAL, -1, &start_min, &start_nat);
  measure_child (self->end, GTK_ORIENTATION_HORIZONTAL, -1, &end_min, &end_nat);
  end = MAX (MAX (end_min, END_MIN_WIDE), (int) (width * END_SHARE));
  end = MIN (end, width - separator_size (self) - start_min);
  *end_width = MAX (end, end_min);
  *start_width = MAX (0, width - separator_size (self) - *end_width);
}

/* How a folded `height` is split: the picture its share, the results at least their minimum. */
static void
split_height (SiglensAdaptiveBox *self,
              int                 width,
              int                 height,
              int                *start_height,
              int                *end_height)
{
  int start_min, start_nat, end_min, end_nat;
  int start;

  measure_child (self->start, GTK_ORIENTATION_VERTICAL, width, &start_min, &start_nat);
  measure_child (self->end, GTK_ORIENTATION_VERTICAL, width, &end_min, &end_nat);
  start = MIN ((int) (height * START_SHARE), height - separator_size (self) - end_min);
  *start_height = MAX (start, start_min);
  *end_height = MAX (0, height - separator_size (self) - *start_height);
}

static GtkSizeRequestMode
siglens_adaptive_box_get_request_mode (GtkWidget *widget)
{
  return GTK_SIZE_REQUEST_HEIGHT_FOR_WIDTH;
}

static void
siglens_adaptive_box_measure (GtkWidget      *widget,
                              GtkOrientation  orientation,
                              int             for_size,
                              int            *minimum,
                              int            *natural,
                              int            *minimum_baseline,
                              int            *natural_baseline)
{
  SiglensAdaptiveBox *self = SIGLENS_ADAPTIVE_BOX (widget);
  int start_min, start_nat, end_min, end_nat;
  int sep = separator_size (self);

  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    {
      /* Folded, the box is as narrow as its wider pane; its natural width is side by side. */
      measure_child (self->start, orientation, -1, &start_min, &start_nat);
      measure_child (self->end, orientation, -1, &end_min, &end_nat);
      *minimum = MAX (start_min, end_min);
      *natural = MAX (start_nat + sep + MAX (end_nat, END_MIN_WIDE),
                      SIGLENS_ADAPTIVE_BOX_FOLD_WIDTH);
    }
  else if (for_size >= 0 && for_size < SIGLENS_ADAPTIVE_BOX_FOLD_WIDTH)
    {
      measure_child (self->start, orientation, for_size, &start_min, &start_nat);
      measure_child (self->end, orientation, for_size, &end_min, &end_nat);
      *minimum = start_min + sep + end_min;
      *natural = start_nat + sep + end_nat;
    }
  else
    {
      int start_width = -1, end_width = -1;

      if (for_size >= 0)
        split_width (self, for_size, &start_width, &end_width);
      measure_child (self->start, orientation, start_width, &start_min, &start_nat);
      measure_child (self->end, orientation, end_width, &end_min, &end_nat);
      *minimum = MAX (start_min, end_min);
      *natural = MAX (start_nat, end_nat);
    }
}

static void
set_class (GtkWidget *widget, const char *name, gboolean on)
{
  if (on)
    gtk_widget_add_css_class (widget, name);
  else
    gtk_widget_remove_css_class (widget, name);
}

static void
siglens_adaptive_box_size_allocate (GtkWidget *widget,
                                    int        width,
                                    int        height,
                                    int        baseline)
{
  SiglensAdaptiveBox *self = SIGLENS_ADAPTIVE_BOX (widget);
  gboolean folded = width < SIGLENS_ADAPTIVE_BOX_FOLD_WIDTH;
  int sep = separator_size (self);
  int end_width;

  if (folded)
    {
      int start_height, end_height;

      split_height (self, width, height, &start_height, &end_height);
      if (self->start != NULL && gtk_widget_should_layout (self->start))
        gtk_widget_size_allocate (self->start, &(GtkAllocation) { 0, 0, width, start_height }, -1);
      if (sep > 0)
        gtk_widget_size_allocate (self->separator,
                                  &(GtkAllocation) { 0, start_height, width, sep }, -1);
      if (self->end != NULL && gtk_widget_should_layout (self->end))
        gtk_widget_size_allocate (self->end,
                                  &(GtkAllocation) { 0, start_height + sep, width, end_height },
                                  -1);
      end_width = width;
    }
  else
    {
      int start_width;

      split_width (self, width, &start_width, &end_width);
      if (self->start != NULL && gtk_widget_should_layout (self->start))
        gtk_widget_size_allocate (self->start, &(GtkAllocation) { 0, 0, start_width, height }, -1);
      if (sep > 0)
        gtk_widget_size_allocate (self->separator,
                                  &(GtkAllocation) { start_width, 0, sep, height }, -1);
      if (self->end != NULL && gtk_widget_should_layout (self->end))
        gtk_widget_size_allocate (self->end,
                                  &(GtkAllocation) { start_width + sep, 0, end_width, height },
                                  -1);
    }

  /* Changing classes here restyles on the next frame, which then allocates the same way: the
   * classes depend on the width only, never on what they change. */
  set_class (widget, "folded", folded);
  if (self->end != NULL)
    {
      set_class (self->end, "medium", end_width >= MEDIUM_WIDTH && end_width < LARGE_WIDTH);
      set_class (self->end, "large", end_width >= LARGE_WIDTH);
    }

  if (folded != self->folded)
    {
      self->folded = folded;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FOLDED]);
    }
}

static void
set_child (SiglensAdaptiveBox  *self,
           GtkWidget          **slot,
           GtkWidget           *child,
           GParamSpec          *pspec)
{
  if (*slot == child)
    return;
  g_clear_pointer (slot, gtk_widget_unparent);
  if (child != NULL)
    {
      *slot = child;
      /* Start, separator, end: the focus and accessible order follow the children. */
      if (slot == &self->start)
        gtk_widget_insert_before (child, GTK_WIDGET (self), self->separator);
      else
        gtk_widget_insert_after (child, GTK_WIDGET (self), self->separator);
    }
  g_object_notify_by_pspec (G_OBJECT (self), pspec);
}

void
siglens_adaptive_box_set_start_child (SiglensAdaptiveBox *self,
                                      GtkWidget          *child)
{
  g_return_if_fail (SIGLENS_IS_ADAPTIVE_BOX (self));
  g_return_if_fail (child == NULL || GTK_IS_WIDGET (child));

  set_child (self, &self->start, child, properties[PROP_START_CHILD]);
}

GtkWidget *
siglens_adaptive_box_get_start_child (SiglensAdaptiveBox *self)
{
  g_return_val_if_fail (SIGLENS_IS_ADAPTIVE_BOX (self), NULL);
  return self->start;
}

void
siglens_adaptive_box_set_end_child (SiglensAdaptiveBox *self,
                                    GtkWidget          *child)
{
  g_return_if_fail (SIGLENS_IS_ADAPTIVE_BOX (self));
  g_return_if_fail (child == NULL || GTK_IS_WIDGET (child));

  set_child (self, &self->end, child, properties[PROP_END_CHILD]);
}

GtkWidget *
siglens_adaptive_box_get_end_child (SiglensAdaptiveBox *self)
{
  g_return_val_if_fail (SIGLENS_IS_ADAPTIVE_BOX (self), NULL);
  return self->end;
}

gboolean
siglens_adaptive_box_get_folded (SiglensAdaptiveBox *self)
{
  g_return_val_if_fail (SIGLENS_IS_ADAPTIVE_BOX (self), FALSE);
  return self->folded;
}

/* <child> elements in a .ui file fill the start, then the end. */
static void
siglens_adaptive_box_add_child (GtkBuildable *buildable,
                                GtkBuilder   *builder,
                                GObject      *child,
                                const char   *type)
{
  SiglensAdaptiveBox *self = SIGLENS_ADAPTIVE_BOX (buildable);

  if (!GTK_IS_WIDGET (child))
    parent_buildable_iface->add_child (buildable, builder, child, type);
  else if (self->start == NULL)
    siglens_adaptive_box_set_start_child (self, GTK_WIDGET (child));
  else if (self->end == NULL)
    siglens_adaptive_box_set_end_child (self, GTK_WIDGET (child));
  else
    g_warning ("SiglensAdaptiveBox holds two children; %s is one too many",
               G_OBJECT_TYPE_NAME (child));
}

static void
siglens_adaptive_box_buildable_init (GtkBuildableIface *iface)
{
  parent_buildable_iface = g_type_interface_peek_parent (iface);
  iface->add_child = siglens_adaptive_box_add_child;
}

static void
siglens_adaptive_box_dispose (GObject *object)
{
  SiglensAdaptiveBox *self = SIGLENS_ADAPTIVE_BOX (object);

  g_clear_pointer (&self->start, gtk_widget_unparent);
  g_clear_pointer (&self->end, gtk_widget_unparent);
  g_clear_pointer (&self->separator, gtk_widget_unparent);

  G_OBJECT_CLASS (siglens_adaptive_box_parent_class)->dispose (object);
}

static void
siglens_adaptive_box_get_property (GObject    *object,
                                   guint       prop_id,
                                   GValue     *value,
                                   GParamSpec *pspec)
{
  SiglensAdaptiveBox *self = SIGLENS_ADAPTIVE_BOX (object);

  switch (prop_id)
    {
    case PROP_START_CHILD:
      g_value_set_object (value, self->start);
      break;
    case PROP_END_CHILD:
      g_value_set_object (value, self->end);
      break;
    case PROP_FOLDED:
      g_value_set_boolean (value, self->folded);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
siglens_adaptive_box_set_property (GObject      *object,
                                   guint         prop_id,
                                   const GValue *value,
                                   GParamSpec   *pspec)
{
  SiglensAdaptiveBox *self = SIGLENS_ADAPTIVE_BOX (object);

  switch (prop_id)
    {
    case PROP_START_CHILD:
      siglens_adaptive_box_set_start_child (self, g_value_get_object (value));
      break;
    case PROP_END_CHILD:
      siglens_adaptive_box_set_end_child (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
siglens_adaptive_box_class_init (SiglensAdaptiveBoxClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = siglens_adaptive_box_dispose;
  object_class->get_property = siglens_adaptive_box_get_property;
  object_class->set_property = siglens_adaptive_box_set_property;

  widget_class->get_request_mode = siglens_adaptive_box_get_request_mode;
  widget_class->measure = siglens_adaptive_box_measure;
  widget_class->size_allocate = siglens_adaptive_box_size_allocate;

  properties[PROP_START_CHILD] =
    g_param_spec_object ("start-child", NULL, NULL, GTK_TYPE_WIDGET,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_END_CHILD] =
    g_param_spec_object ("end-child", NULL, NULL, GTK_TYPE_WIDGET,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_FOLDED] =
    g_param_spec_boolean ("folded", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_css_name (widget_class, "adaptivebox");
}

static void
siglens_adaptive_box_init (SiglensAdaptiveBox *self)
{
  /* A separator's background fills whatever it is given: 1 px wide beside, 1 px high under. */
  self->separator = gtk_separator_new (GTK_ORIENTATION_VERTICAL);
  gtk_widget_set_parent (self->separator, GTK_WIDGET (self));
}

GtkWidget *
siglens_adaptive_box_new (void)
{
  return g_object_new (SIGLENS_TYPE_ADAPTIVE_BOX, NULL);
}
