/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * SiglensScoreChart draws the results: per label a line of text (label left, percentage right)
 * over a thick rounded bar whose length is the probability. The text is real GtkLabel children,
 * so it is ellipsized, themed by CSS and reaches screen readers as "cat, 93 percent"; the bars
 * are drawn here with GtkSnapshot. When scores change, bars glide to their new length and rank
 * with one AdwTimedAnimation (which jumps to the end when the system turns animations off).
 */
#include <glib/gi18n.h>
#include <adwaita.h>
#include <math.h>

#include "siglens-score-chart.h"

/* Sizes in logical pixels, chosen to read well on a projector from the back of a classroom.
 * Bars and gaps are the least; bigger type (a big screen's stylesheet) makes them grow with it. */
#define BAR_HEIGHT   18
#define TEXT_BAR_GAP 6
#define ROW_SPACING  20
#define VALUE_GAP    12
#define ANIMATION_MS 450

G_DEFINE_ENUM_TYPE (SiglensScoreView, siglens_score_view,
  G_DEFINE_ENUM_VALUE (SIGLENS_SCORE_VIEW_PROBABILITY, "probability"),
  G_DEFINE_ENUM_VALUE (SIGLENS_SCORE_VIEW_SHARE, "share"))

typedef struct {
  char      *label;
  float      probability;      /* SigLIP's independent probability */
  float      shown;            /* the bar's length once the animation ends, in the view shown */
  int        percent;          /* the number next to it */
  double     from_value;       /* where the bar's length starts animating from */
  double     from_slot;        /* where the row starts moving from (a rank, fractional) */
  guint      slot;             /* rank after sorting: 0 is the best */
  guint      order;            /* position in the caller's list, to keep ties stable */
  GtkWidget *name;             /* (owned) GtkLabel child */
  GtkWidget *value;            /* (owned) GtkLabel child */
  gboolean   ellipsized;       /* the name is cut short, and its tooltip shows it whole */
} Bar;

struct _SiglensScoreChart
{
  GtkWidget     parent_instance;

  GPtrArray        *bars;      /* (element-type Bar) in display order */
  AdwAnimation     *animation;
  double            progress;  /* 0..1, eased */
  SiglensScoreView  view;
  gboolean          presentation;
  gboolean          stale;     /* the bars are for labels or a template no longer in the fields */
};

G_DEFINE_FINAL_TYPE (SiglensScoreChart, siglens_score_chart, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_VIEW,
  PROP_FOOTNOTE,
  PROP_PRESENTATION,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
bar_free (Bar *bar)
{
  g_clear_pointer (&bar->name, gtk_widget_unparent);
  g_clear_pointer (&bar->value, gtk_widget_unparent);
  g_free (bar->label);
  g_free (bar);
}

static int
percent_of (float probability)
{
  return (int) lround (CLAMP (probability, 0.f, 1.f) * 100.);
}

static char *
describe (const Bar *bar)
{
  /* Translators: what a screen reader says for one bar of the chart: a label and its score */
  return g_strdup_printf (_("%s, %d percent"), bar->label, bar->percent);
}

static double
lerp (double from, double to, double t)
{
  return from + (to - from) * t;
}

static double
bar_shown_value (SiglensScoreChart *self, const Bar *bar)
{
  return lerp (bar->from_value, bar->shown, self->progress);
}

static double
bar_shown_slot (SiglensScoreChart *self, const Bar *bar)
{
  return lerp (bar->from_slot, bar->slot, self->progress);
}

static void
text_heights (SiglensScoreChart *self, int *text_height, int *value_width)
{
  *text_height = 0;
  *value_width = 0;
  for (guint i = 0; i < self->bars->len; i++)
    {
      Bar *bar = g_ptr_array_index (self->bars, i);
      int nat_h, value_h, value_w;

      gtk_widget_measure (bar->name, GTK_ORIENTATION_VERTICAL, -1, NULL, &nat_h, NULL, NULL);
      gtk_widget_measure (bar->value, GTK_ORIENTATION_VERTICAL, -1, NULL, &value_h, NULL, NULL);
      gtk_widget_measure (bar->value, GTK_ORIENTATION_HORIZONTAL, -1, NULL, &value_w, NULL, NULL);
      *text_height = MAX (*text_height, MAX (nat_h, value_h));
      *value_width = MAX (*value_width, value_w);
    }
}

static int
bar_height (int text_height)
{
  return MAX (BAR_HEIGHT, text_height * 3 / 5);
}

static int
row_spacing (int text_height)
{
  return MAX (ROW_SPACING, text_height * 2 / 3);
}

static int
row_pitch_for (int text_height)
{
  return text_height + TEXT_BAR_GAP + bar_height (text_height) + row_spacing (text_height);
}

static void
siglens_score_chart_measure (GtkWidget      *widget,
                             GtkOrientation  orientation,
                             int             for_size,
                             int            *minimum,
                             int            *natural,
                             int            *minimum_baseline,
                             int            *natural_baseline)
{
  SiglensScoreChart *self = SIGLENS_SCORE_CHART (widget);
  guint n = self->bars->len;
  int text_height, value_width;

  text_heights (self, &text_height, &value_width);

  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    {
      int name_min = 0;

      for (guint i = 0; i < n; i++)
        {
          Bar *bar = g_ptr_array_index (self->bars, i);
          int m;

          gtk_widget_measure (bar->name, GTK_ORIENTATION_HORIZONTAL, -1, &m, NULL, NULL, NULL);
          name_min = MAX (name_min, m);
        }
      *minimum = name_min + VALUE_GAP + value_width;
      *natural = MAX (*minimum, 360);
    }
  else
    {
      int rows = n == 0 ? 0 : (int) n * row_pitch_for (text_height) - row_spacing (text_height);
      *minimum = *natural = rows;
    }
}

/* A label too long for its row is ellipsized; hovering it shows the whole label. The tooltip
 * would also become the row's accessible description, repeating what the row's label already
 * says in full, so that is taken back. */
static void
update_tooltip (Bar *bar)
{
  gboolean ellipsized = pango_layout_is_ellipsized (gtk_label_get_layout (GTK_LABEL (bar->name)));

  if (ellipsized == bar->ellipsized)
    return;
  bar->ellipsized = ellipsized;
  gtk_widget_set_tooltip_text (bar->name, ellipsized ? bar->label : NULL);
  gtk_accessible_reset_property (GTK_ACCESSIBLE (bar->name), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION);
}

static void
siglens_score_chart_size_allocate (GtkWidget *widget,
                                   int        width,
                                   int        height,
                                   int        baseline)
{
  SiglensScoreChart *self = SIGLENS_SCORE_CHART (widget);
  int text_height, value_width;
  int row_pitch;

  text_heights (self, &text_height, &value_width);
  row_pitch = row_pitch_for (text_height);

  for (guint i = 0; i < self->bars->len; i++)
    {
      Bar *bar = g_ptr_array_index (self->bars, i);
      int y = (int) round (bar_shown_slot (self, bar) * row_pitch);
      int name_width = MAX (0, width - value_width - VALUE_GAP);

      gtk_widget_size_allocate (bar->name,
                                &(GtkAllocation) { 0, y, name_width, text_height }, -1);
      gtk_widget_size_allocate (bar->value,
                                &(GtkAllocation) { width - value_width, y, value_width, text_height },
                                -1);
      update_tooltip (bar);
    }
}

static GdkRGBA
named_color (GtkWidget *widget, const char *name, const char *fallback)
{
  GtkStyleContext *context = gtk_widget_get_style_context (widget);
  GdkRGBA color;

  /* libadwaita 1.2 exposes its palette as named colours (@accent_bg_color, ...), which follow
   * the light/dark and high-contrast styles. */
  if (!gtk_style_context_lookup_color (context, name, &color))
    gdk_rgba_parse (&color, fallback);
  return color;
}

static void
siglens_score_chart_snapshot (GtkWidget   *widget,
                              GtkSnapshot *snapshot)
{
  SiglensScoreChart *self = SIGLENS_SCORE_CHART (widget);
  int width = gtk_widget_get_width (widget);
  GdkRGBA accent = named_color (widget, "accent_bg_color", "#3584e4");
  GdkRGBA other = accent;
  GdkRGBA track = named_color (widget, "window_fg_color", "rgba(0,0,0,0.8)");
  int text_height, value_width;
  int row_pitch, bar_h;

  /* Runners-up in a lighter tint of the same hue keep the winner the one thing that stands out;
   * on a projector, washed out by room light, tint and track need more weight to show at all. */
  other.alpha *= self->presentation ? 0.6f : 0.45f;
  track.alpha *= self->presentation ? 0.16f : 0.08f;

  text_heights (self, &text_height, &value_width);
  row_pitch = row_pitch_for (text_height);
  bar_h = bar_height (text_height);

  for (guint i = 0; i < self->bars->len; i++)
    {
      Bar *bar = g_ptr_array_index (self->bars, i);
      float y = (float) round (bar_shown_slot (self, bar) * row_pitch) + text_height + TEXT_BAR_GAP;
      float fill = (float) (CLAMP (bar_shown_value (self, bar), 0., 1.) * width);
      GskRoundedRect rect;

      gsk_rounded_rect_init_from_rect (&rect, &GRAPHENE_RECT_INIT (0, y, width, bar_h),
                                       bar_h / 2.f);
      gtk_snapshot_push_rounded_clip (snapshot, &rect);
      gtk_snapshot_append_color (snapshot, &track, &rect.bounds);
      gtk_snapshot_pop (snapshot);

      if (fill >= 1.f)
        {
          gsk_rounded_rect_init_from_rect (&rect, &GRAPHENE_RECT_INIT (0, y, fill, bar_h),
                                           MIN (bar_h / 2.f, fill / 2.f));
          gtk_snapshot_push_rounded_clip (snapshot, &rect);
          gtk_snapshot_append_color (snapshot, i == 0 ? &accent : &other, &rect.bounds);
          gtk_snapshot_pop (snapshot);
        }
    }

  for (GtkWidget *child = gtk_widget_get_first_child (widget);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    gtk_widget_snapshot_child (widget, child, snapshot);
}

static void
animation_step (double   value,
                gpointer user_data)
{
  SiglensScoreChart *self = user_data;

  self->progress = value;
  gtk_widget_queue_allocate (GTK_WIDGET (self));
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
on_style_changed (SiglensScoreChart *self)
{
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
siglens_score_chart_dispose (GObject *object)
{
  SiglensScoreChart *self = SIGLENS_SCORE_CHART (object);

  g_signal_handlers_disconnect_by_data (adw_style_manager_get_default (), self);
  g_clear_object (&self->animation);
  g_clear_pointer (&self->bars, g_ptr_array_unref);

  G_OBJECT_CLASS (siglens_score_chart_parent_class)->dispose (object);
}

static void
siglens_score_chart_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  SiglensScoreChart *self = SIGLENS_SCORE_CHART (object);

  switch (prop_id)
    {
    case PROP_VIEW:
      g_value_set_enum (value, self->view);
      break;
    case PROP_FOOTNOTE:
      g_value_set_string (value, siglens_score_chart_get_footnote (self));
      break;
    case PROP_PRESENTATION:
      g_value_set_boolean (value, self->presentation);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
siglens_score_chart_set_property (GObject      *object,
                                  guint         prop_id,
                                  const GValue *value,
                                  GParamSpec   *pspec)
{
  SiglensScoreChart *self = SIGLENS_SCORE_CHART (object);

  switch (prop_id)
    {
    case PROP_VIEW:
      siglens_score_chart_set_view (self, g_value_get_enum (value));
      break;
    case PROP_PRESENTATION:
      siglens_score_chart_set_presentation (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
siglens_score_chart_class_init (SiglensScoreChartClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = siglens_score_chart_dispose;
  object_class->get_property = siglens_score_chart_get_property;
  object_class->set_property = siglens_score_chart_set_property;

  properties[PROP_VIEW] =
    g_param_spec_enum ("view", NULL, NULL, SIGLENS_TYPE_SCORE_VIEW,
                       SIGLENS_SCORE_VIEW_PROBABILITY,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_FOOTNOTE] =
    g_param_spec_string ("footnote", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_PRESENTATION] =
    g_param_spec_boolean ("presentation", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);


  widget_class->measure = siglens_score_chart_measure;
  widget_class->size_allocate = siglens_score_chart_size_allocate;
  widget_class->snapshot = siglens_score_chart_snapshot;

  gtk_widget_class_set_css_name (widget_class, "scorechart");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_LIST);
}

static void
siglens_score_chart_init (SiglensScoreChart *self)
{
  AdwStyleManager *style = adw_style_manager_get_default ();

  self->bars = g_ptr_array_new_with_free_func ((GDestroyNotify) bar_free);
  self->progress = 1.;
  self->animation = adw_timed_animation_new (GTK_WIDGET (self), 0., 1., ANIMATION_MS,
                                             adw_callback_animation_target_new (animation_step,
                                                                                self, NULL));
  adw_timed_animation_set_easing (ADW_TIMED_ANIMATION (self->animation), ADW_EASE_OUT_CUBIC);

  g_signal_connect_swapped (style, "notify::dark", G_CALLBACK (on_style_changed), self);
  g_signal_connect_swapped (style, "notify::high-contrast", G_CALLBACK (on_style_changed), self);

  gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Scores"),
                                  -1);
}

GtkWidget *
siglens_score_chart_new (void)
{
  return g_object_new (SIGLENS_TYPE_SCORE_CHART, NULL);
}

static Bar *
bar_new (SiglensScoreChart *self, const char *label)
{
  Bar *bar = g_new0 (Bar, 1);

  bar->label = g_strdup (label);
  /* Each row is an item of the chart's list, named "cat, 93 percent" (bar_show_value). */
  bar->name = g_object_new (GTK_TYPE_LABEL,
                            "accessible-role", GTK_ACCESSIBLE_ROLE_LIST_ITEM,
                            "label", label,
                            "xalign", 0.f,
                            "ellipsize", PANGO_ELLIPSIZE_END,
                            "css-classes", (const char *[]) { "bar-label", NULL },
                            NULL);
  bar->value = g_object_new (GTK_TYPE_LABEL,
                             "xalign", 1.f,
                             "css-classes", (const char *[]) { "bar-value", "numeric", NULL },
                             NULL);
  /* The name label speaks for the whole row ("cat, 93 percent"); the number alone would be
   * announced twice. */
  gtk_accessible_update_state (GTK_ACCESSIBLE (bar->value),
                               GTK_ACCESSIBLE_STATE_HIDDEN, TRUE,
                               -1);
  gtk_widget_set_parent (bar->name, GTK_WIDGET (self));
  gtk_widget_set_parent (bar->value, GTK_WIDGET (self));
  return bar;
}

typedef struct {
  Bar    *bar;
  double  remainder;
} Share;

static int
by_remainder_desc (gconstpointer a, gconstpointer b, gpointer unused)
{
  const Share *x = a, *y = b;

  return (x->remainder < y->remainder) - (x->remainder > y->remainder);
}

/* Each bar's value and number in the current view. The share view rounds by largest remainder
 * (Hamilton's method): whole percents that add up to exactly 100, as the view promises. */
static void
compute_values (SiglensScoreChart *self)
{
  guint n = self->bars->len;
  double sum = 0.;

  for (guint i = 0; i < n; i++)
    sum += CLAMP (((Bar *) g_ptr_array_index (self->bars, i))->probability, 0.f, 1.f);

  if (self->view == SIGLENS_SCORE_VIEW_PROBABILITY || sum <= 0.)
    {
      for (guint i = 0; i < n; i++)
        {
          Bar *bar = g_ptr_array_index (self->bars, i);

          bar->shown = self->view == SIGLENS_SCORE_VIEW_PROBABILITY ? bar->probability : 0.f;
          bar->percent = percent_of (bar->shown);
        }
      return;
    }

  {
    g_autofree Share *shares = g_new (Share, n);
    int given = 0;

    for (guint i = 0; i < n; i++)
      {
        Bar *bar = g_ptr_array_index (self->bars, i);
        double exact = CLAMP (bar->probability, 0.f, 1.f) / sum * 100.;

        bar->shown = (float) (exact / 100.);
        bar->percent = (int) floor (exact);
        given += bar->percent;
        shares[i] = (Share) { bar, exact - floor (exact) };
      }
    /* A stable sort keeps ties in display order: the better label gets the point. */
    g_qsort_with_data (shares, (int) n, sizeof *shares, by_remainder_desc, NULL);
    for (guint i = 0; given < 100 && i < n; i++, given++)
      shares[i].bar->percent++;
  }
}

static int
compare_bars (gconstpointer a, gconstpointer b)
{
  const Bar *x = *(Bar *const *) a, *y = *(Bar *const *) b;

  if (x->probability != y->probability)
    return x->probability > y->probability ? -1 : 1;
  return x->order < y->order ? -1 : x->order > y->order;
}

static void
bar_show_value (Bar *bar, gboolean best)
{
  g_autofree char *text = NULL;
  g_autofree char *description = describe (bar);

  /* Translators: a score next to a bar, e.g. "93%"; use your language's percent style */
  text = g_strdup_printf (_("%d%%"), bar->percent);
  gtk_label_set_label (GTK_LABEL (bar->value), text);
  gtk_accessible_update_property (GTK_ACCESSIBLE (bar->name),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, description,
                                  -1);
  if (best)
    {
      gtk_widget_add_css_class (bar->name, "best");
      gtk_widget_add_css_class (bar->value, "best");
    }
  else
    {
      gtk_widget_remove_css_class (bar->name, "best");
      gtk_widget_remove_css_class (bar->value, "best");
    }
}

void
siglens_score_chart_set_scores (SiglensScoreChart  *self,
                                const char *const  *labels,
                                const float        *probabilities,
                                guint               n)
{
  g_autoptr (GPtrArray) bars = NULL;

  g_return_if_fail (SIGLENS_IS_SCORE_CHART (self));
  g_return_if_fail (n == 0 || (labels != NULL && probabilities != NULL));

  bars = g_ptr_array_new_with_free_func ((GDestroyNotify) bar_free);

  for (guint i = 0; i < n; i++)
    {
      Bar *bar = NULL;

      /* A label already on screen keeps its row and moves from where it is now, even mid-way
       * through a previous animation. */
      for (guint j = 0; j < self->bars->len; j++)
        {
          Bar *old = g_ptr_array_index (self->bars, j);

          if (old != NULL && g_strcmp0 (old->label, labels[i]) == 0)
            {
              old->from_value = bar_shown_value (self, old);
              old->from_slot = bar_shown_slot (self, old);
              bar = g_ptr_array_steal_index (self->bars, j);
              g_ptr_array_insert (self->bars, j, NULL);
              break;
            }
        }

      if (bar == NULL)
        {
          bar = bar_new (self, labels[i]);
          bar->from_value = 0.;
          bar->from_slot = -1.; /* a new row appears in place, see below */
        }

      bar->probability = probabilities[i];
      bar->order = i;
      g_ptr_array_add (bars, bar);
    }

  g_ptr_array_set_free_func (self->bars, NULL);
  for (guint j = 0; j < self->bars->len; j++)
    if (g_ptr_array_index (self->bars, j) != NULL)
      bar_free (g_ptr_array_index (self->bars, j));
  g_ptr_array_unref (self->bars);
  self->bars = g_steal_pointer (&bars);

  g_ptr_array_sort (self->bars, compare_bars);
  compute_values (self);
  for (guint i = 0; i < self->bars->len; i++)
    {
      Bar *bar = g_ptr_array_index (self->bars, i);

      /* Children in rank order: screen readers and keyboard review walk the rows in the order
       * the screen shows them (best first), not in the order they were typed. */
      gtk_widget_insert_before (bar->name, GTK_WIDGET (self), NULL);
      gtk_widget_insert_before (bar->value, GTK_WIDGET (self), NULL);
      bar->slot = i;
      if (bar->from_slot < 0.)
        bar->from_slot = i;
      bar_show_value (bar, i == 0);
    }

  if (self->bars->len > 0)
    {
      Bar *best = g_ptr_array_index (self->bars, 0);
      g_autofree char *summary = describe (best);
      /* Translators: the chart's summary for screen readers, %s is e.g. "cat, 93 percent" */
      g_autofree char *description = g_strdup_printf (_("Best match: %s"), summary);

      gtk_accessible_update_property (GTK_ACCESSIBLE (self),
                                      GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, description,
                                      -1);
    }
  else
    gtk_accessible_reset_property (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_PROPERTY_DESCRIPTION);

  self->progress = 0.;
  adw_animation_reset (self->animation);
  adw_animation_play (self->animation);
  gtk_widget_queue_resize (GTK_WIDGET (self));
}

void
siglens_score_chart_clear (SiglensScoreChart *self)
{
  g_return_if_fail (SIGLENS_IS_SCORE_CHART (self));

  siglens_score_chart_set_scores (self, NULL, NULL, 0);
}

guint
siglens_score_chart_get_n_bars (SiglensScoreChart *self)
{
  g_return_val_if_fail (SIGLENS_IS_SCORE_CHART (self), 0);

  return self->bars->len;
}

const char *
siglens_score_chart_get_label (SiglensScoreChart *self,
                               guint              index)
{
  g_return_val_if_fail (SIGLENS_IS_SCORE_CHART (self), NULL);
  g_return_val_if_fail (index < self->bars->len, NULL);

  return ((Bar *) g_ptr_array_index (self->bars, index))->label;
}

float
siglens_score_chart_get_probability (SiglensScoreChart *self,
                                     guint              index)
{
  g_return_val_if_fail (SIGLENS_IS_SCORE_CHART (self), 0.f);
  g_return_val_if_fail (index < self->bars->len, 0.f);

  return ((Bar *) g_ptr_array_index (self->bars, index))->probability;
}

float
siglens_score_chart_get_shown_value (SiglensScoreChart *self,
                                     guint              index)
{
  g_return_val_if_fail (SIGLENS_IS_SCORE_CHART (self), 0.f);
  g_return_val_if_fail (index < self->bars->len, 0.f);

  return ((Bar *) g_ptr_array_index (self->bars, index))->shown;
}

int
siglens_score_chart_get_shown_percent (SiglensScoreChart *self,
                                       guint              index)
{
  g_return_val_if_fail (SIGLENS_IS_SCORE_CHART (self), 0);
  g_return_val_if_fail (index < self->bars->len, 0);

  return ((Bar *) g_ptr_array_index (self->bars, index))->percent;
}

void
siglens_score_chart_set_view (SiglensScoreChart *self,
                              SiglensScoreView   view)
{
  g_return_if_fail (SIGLENS_IS_SCORE_CHART (self));
  g_return_if_fail (view == SIGLENS_SCORE_VIEW_PROBABILITY || view == SIGLENS_SCORE_VIEW_SHARE);

  if (self->view == view)
    return;
  self->view = view;

  /* The bars glide from where they are to their length in the new view; ranks stay. */
  for (guint i = 0; i < self->bars->len; i++)
    {
      Bar *bar = g_ptr_array_index (self->bars, i);

      bar->from_value = bar_shown_value (self, bar);
      bar->from_slot = bar->slot;
    }
  compute_values (self);
  for (guint i = 0; i < self->bars->len; i++)
    bar_show_value (g_ptr_array_index (self->bars, i), i == 0);
  if (self->bars->len > 0)
    {
      self->progress = 0.;
      adw_animation_reset (self->animation);
      adw_animation_play (self->animation);
    }
  gtk_widget_queue_resize (GTK_WIDGET (self));

  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_VIEW]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FOOTNOTE]);
}

SiglensScoreView
siglens_score_chart_get_view (SiglensScoreChart *self)
{
  g_return_val_if_fail (SIGLENS_IS_SCORE_CHART (self), SIGLENS_SCORE_VIEW_PROBABILITY);
  return self->view;
}

const char *
siglens_score_chart_get_footnote (SiglensScoreChart *self)
{
  g_return_val_if_fail (SIGLENS_IS_SCORE_CHART (self), NULL);

  if (self->view == SIGLENS_SCORE_VIEW_SHARE)
    return _("Share of total: each score divided by the sum of all the scores, so they add up "
             "to 100%. It compares the labels with each other, not how well any one fits.");
  return _("Each label is scored on its own, so the scores need not add up to 100%.");
}

void
siglens_score_chart_set_presentation (SiglensScoreChart *self,
                                      gboolean           presentation)
{
  g_return_if_fail (SIGLENS_IS_SCORE_CHART (self));

  presentation = !!presentation;
  if (self->presentation == presentation)
    return;
  self->presentation = presentation;
  if (presentation)
    gtk_widget_add_css_class (GTK_WIDGET (self), "presentation");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self), "presentation");
  gtk_widget_queue_resize (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PRESENTATION]);
}

gboolean
siglens_score_chart_get_presentation (SiglensScoreChart *self)
{
  g_return_val_if_fail (SIGLENS_IS_SCORE_CHART (self), FALSE);
  return self->presentation;
}

char *
siglens_score_chart_dup_bar_description (SiglensScoreChart *self,
                                         guint              index)
{
  g_return_val_if_fail (SIGLENS_IS_SCORE_CHART (self), NULL);
  g_return_val_if_fail (index < self->bars->len, NULL);

  return describe (g_ptr_array_index (self->bars, index));
}

void
siglens_score_chart_set_stale (SiglensScoreChart *self,
                               gboolean           stale)
{
  g_return_if_fail (SIGLENS_IS_SCORE_CHART (self));

  stale = !!stale;
  if (self->stale == stale)
    return;
  self->stale = stale;
  /* Dimmed on screen (style.css), "busy" for screen readers, until the new scores come. */
  if (stale)
    gtk_widget_add_css_class (GTK_WIDGET (self), "stale");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self), "stale");
  gtk_accessible_update_state (GTK_ACCESSIBLE (self), GTK_ACCESSIBLE_STATE_BUSY, stale, -1);
}

gboolean
siglens_score_chart_get_stale (SiglensScoreChart *self)
{
  g_return_val_if_fail (SIGLENS_IS_SCORE_CHART (self), FALSE);

  return self->stale;
}
