/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The results chart on its own: what it shows (sorted, exact values), what screen readers hear,
 * and what it draws — rendered to a PNG in the build dir whose pixels are measured: one bar per
 * label, lengths in score order and proportional to the scores, the best one in the strong
 * accent colour.
 */
#include <adwaita.h>
#include <math.h>
#include <string.h>

#include "siglens-score-chart.h"
#include "test-util.h"

#define CHART_WIDTH 400

static gboolean
chart_laid_out (gpointer data)
{
  GtkWidget *chart = data;

  return gtk_widget_get_mapped (chart) && gtk_widget_get_width (chart) > 0
         && gtk_widget_get_height (chart) > 0;
}

static GtkWidget *
chart_in_window (GtkWindow **window_out)
{
  GtkWindow *window = GTK_WINDOW (gtk_window_new ());
  GtkWidget *chart = siglens_score_chart_new ();

  gtk_widget_set_size_request (chart, CHART_WIDTH, -1);
  gtk_widget_set_valign (chart, GTK_ALIGN_START);
  gtk_window_set_child (window, chart);
  *window_out = window;
  return chart;
}

static void
destroy_window (GtkWindow *window, GtkWidget *chart)
{
  g_object_ref (chart);
  gtk_window_destroy (window);
  g_assert_finalize_object (chart);
}

static void
test_sorted (void)
{
  const char *labels[] = { "cat", "dog", "a red car", "一只猫" };
  const float probs[] = { 0.2f, 0.9f, 0.5f, 0.05f };
  const char *expected[] = { "dog", "a red car", "cat", "一只猫" };
  GtkWindow *window;
  SiglensScoreChart *chart = SIGLENS_SCORE_CHART (chart_in_window (&window));

  siglens_score_chart_set_scores (chart, labels, probs, 4);
  g_assert_cmpuint (siglens_score_chart_get_n_bars (chart), ==, 4);
  for (guint i = 0; i < 4; i++)
    g_assert_cmpstr (siglens_score_chart_get_label (chart, i), ==, expected[i]);
  /* Shown exactly as given: the chart must not round what it stores. */
  g_assert_cmpfloat (siglens_score_chart_get_probability (chart, 0), ==, 0.9f);
  g_assert_cmpfloat (siglens_score_chart_get_probability (chart, 3), ==, 0.05f);

  /* New scores for the same labels reorder the rows; a dropped label's row goes away. */
  {
    const char *again[] = { "cat", "dog", "a red car" };
    const float probs2[] = { 0.8f, 0.1f, 0.4f };

    siglens_score_chart_set_scores (chart, again, probs2, 3);
    g_assert_cmpuint (siglens_score_chart_get_n_bars (chart), ==, 3);
    g_assert_cmpstr (siglens_score_chart_get_label (chart, 0), ==, "cat");
    g_assert_cmpstr (siglens_score_chart_get_label (chart, 1), ==, "a red car");
    g_assert_cmpstr (siglens_score_chart_get_label (chart, 2), ==, "dog");
  }

  siglens_score_chart_clear (chart);
  g_assert_cmpuint (siglens_score_chart_get_n_bars (chart), ==, 0);
  destroy_window (window, GTK_WIDGET (chart));
}

static void
test_accessible (void)
{
  const char *labels[] = { "cat", "dog" };
  const float probs[] = { 0.934f, 0.051f };
  GtkWindow *window;
  SiglensScoreChart *chart = SIGLENS_SCORE_CHART (chart_in_window (&window));
  guint named = 0;

  siglens_score_chart_set_scores (chart, labels, probs, 2);

  {
    g_autofree char *first = siglens_score_chart_dup_bar_description (chart, 0);
    g_autofree char *second = siglens_score_chart_dup_bar_description (chart, 1);

    g_assert_cmpstr (first, ==, "cat, 93 percent");
    g_assert_cmpstr (second, ==, "dog, 5 percent");
  }

  /* Each row's text is what the accessibility tree carries; the bare number is hidden from it
   * so the score is not read twice. */
  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (chart));
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      const char *text = gtk_label_get_label (GTK_LABEL (child));

      if (g_str_equal (text, "cat"))
        {
          gtk_test_accessible_assert_property (GTK_ACCESSIBLE (child),
                                               GTK_ACCESSIBLE_PROPERTY_LABEL, "cat, 93 percent");
          named++;
        }
      else if (g_str_equal (text, "dog"))
        {
          gtk_test_accessible_assert_property (GTK_ACCESSIBLE (child),
                                               GTK_ACCESSIBLE_PROPERTY_LABEL, "dog, 5 percent");
          named++;
        }
      else
        gtk_test_accessible_assert_state (GTK_ACCESSIBLE (child),
                                          GTK_ACCESSIBLE_STATE_HIDDEN, TRUE);
    }
  g_assert_cmpuint (named, ==, 2);
  g_assert_true (gtk_test_accessible_has_role (GTK_ACCESSIBLE (chart), GTK_ACCESSIBLE_ROLE_LIST));
  gtk_test_accessible_assert_property (GTK_ACCESSIBLE (chart),
                                       GTK_ACCESSIBLE_PROPERTY_DESCRIPTION,
                                       "Best match: cat, 93 percent");
  destroy_window (window, GTK_WIDGET (chart));
}

typedef struct {
  int top, bottom; /* rows of one bar, inclusive */
  int length;      /* pixels from the left edge */
  guint8 r, g, b;  /* colour in the bar's middle */
} Band;

static const guint8 *
pixel (const guint8 *data, gsize stride, int x, int y)
{
  return data + (gsize) y * stride + (gsize) x * 4;
}

/* Bars are blue (the accent, or a tint of it) over a white background and grey track; text is
 * dark grey, and the best score's number, though blue too, never starts at the left edge. */
static gboolean
is_bar (const guint8 *p)
{
  /* GDK_MEMORY_DEFAULT is B, G, R, A in memory on little-endian: read it as such. */
  guint8 b = p[0], g = p[1], r = p[2];

  return b > 150 && b > r + 40 && b > g + 15;
}

static void
test_render (void)
{
  const char *labels[] = { "cat", "dog", "a red car", "coffee" };
  const float probs[] = { 0.35f, 0.9f, 0.6f, 0.15f };
  const float sorted[] = { 0.9f, 0.6f, 0.35f, 0.15f };
  g_autoptr (GArray) bands = g_array_new (FALSE, TRUE, sizeof (Band));
  g_autoptr (GdkPaintable) paintable = NULL;
  g_autoptr (GdkTexture) texture = NULL;
  g_autoptr (GskRenderNode) node = NULL;
  g_autofree guint8 *data = NULL;
  g_autofree char *png = NULL;
  GtkSnapshot *snapshot;
  GskRenderer *renderer;
  GtkWindow *window;
  GtkWidget *chart = chart_in_window (&window);
  int width, height;
  gsize stride;
  int x_probe = 4;

  siglens_score_chart_set_scores (SIGLENS_SCORE_CHART (chart), labels, probs, 4);
  gtk_window_present (window);
  test_wait_until (chart_laid_out, chart, "the chart\'s first layout");

  width = gtk_widget_get_width (chart);
  height = gtk_widget_get_height (chart);
  g_assert_cmpint (width, ==, CHART_WIDTH);

  paintable = gtk_widget_paintable_new (chart);
  snapshot = gtk_snapshot_new ();
  gtk_snapshot_append_color (snapshot, &(GdkRGBA) { 1, 1, 1, 1 },
                             &GRAPHENE_RECT_INIT (0, 0, width, height));
  gdk_paintable_snapshot (paintable, snapshot, width, height);
  node = gtk_snapshot_free_to_node (snapshot);
  g_assert_nonnull (node);
  renderer = gtk_native_get_renderer (gtk_widget_get_native (chart));
  texture = gsk_renderer_render_texture (renderer, node, &GRAPHENE_RECT_INIT (0, 0, width, height));

  png = test_out_path ("score-chart.png");
  g_assert_true (gdk_texture_save_to_png (texture, png));
  g_test_message ("chart rendered to %s", png);

  width = gdk_texture_get_width (texture);
  height = gdk_texture_get_height (texture);
  stride = (gsize) width * 4;
  data = g_malloc (stride * (gsize) height);
  gdk_texture_download (texture, data, stride);

  /* Bands of rows whose left edge is bar-coloured; a bar's length is its longest such row. */
  for (int y = 0; y < height; y++)
    {
      int x = x_probe;

      if (!is_bar (pixel (data, stride, x_probe, y)))
        continue;
      while (x < width && is_bar (pixel (data, stride, x, y)))
        x++;

      if (bands->len == 0 || g_array_index (bands, Band, bands->len - 1).bottom != y - 1)
        {
          Band band = { .top = y };
          g_array_append_val (bands, band);
        }
      {
        Band *band = &g_array_index (bands, Band, bands->len - 1);
        band->bottom = y;
        band->length = MAX (band->length, x);
      }
    }

  g_assert_cmpuint (bands->len, ==, 4);
  for (guint i = 0; i < bands->len; i++)
    {
      Band *band = &g_array_index (bands, Band, i);
      const guint8 *mid = pixel (data, stride, band->length / 2, (band->top + band->bottom) / 2);
      double expected = sorted[i] * width;

      band->b = mid[0];
      band->g = mid[1];
      band->r = mid[2];
      g_test_message ("bar %u: rows %d-%d, length %d px (expected %.1f), rgb %u,%u,%u", i,
                      band->top, band->bottom, band->length, expected, band->r, band->g, band->b);

      /* A bar is a thick stroke, not a hairline. */
      g_assert_cmpint (band->bottom - band->top + 1, >=, 12);
      /* Proportional to its score; 3 px allows for the rounded end's antialiasing. */
      g_assert_cmpfloat (fabs (band->length - expected), <=, 3.);
      if (i > 0)
        {
          Band *above = &g_array_index (bands, Band, i - 1);

          g_assert_cmpint (band->top, >, above->bottom);
          g_assert_cmpint (band->length, <, above->length);
          /* Runners-up are a lighter tint than the winner. */
          g_assert_cmpint (band->r, >, g_array_index (bands, Band, 0).r + 40);
        }
    }

  destroy_window (window, chart);
}

static void
on_notify (GObject *object, GParamSpec *pspec, guint *count)
{
  (*count)++;
}

/* The share-of-total view: each probability divided by their sum, in the same order, adding up
 * to 100% both as values and as the whole numbers shown; the footnote says which view it is. */
static void
test_share_of_total (void)
{
  const char *labels[] = { "cat", "dog", "a red car", "coffee" };
  /* 1/3 each of the first three would round to 33 + 33 + 33 = 99 one by one. */
  const float probs[] = { 0.3f, 0.3f, 0.3f, 0.f };
  const char *more[] = { "a", "b", "c", "d", "e", "f", "g" };
  const float more_probs[] = { 0.91f, 0.52f, 0.49f, 0.33f, 0.21f, 0.07f, 0.0049f };
  g_autofree char *probability_note = NULL;
  GtkWindow *window;
  SiglensScoreChart *chart = SIGLENS_SCORE_CHART (chart_in_window (&window));
  guint footnote_changes = 0;
  double sum = 0.;
  int percents = 0;

  g_signal_connect (chart, "notify::footnote", G_CALLBACK (on_notify), &footnote_changes);
  siglens_score_chart_set_scores (chart, labels, probs, 4);
  g_assert_cmpint (siglens_score_chart_get_view (chart), ==, SIGLENS_SCORE_VIEW_PROBABILITY);
  probability_note = g_strdup (siglens_score_chart_get_footnote (chart));
  g_assert_nonnull (strstr (probability_note, "need not add up to 100%"));
  g_assert_cmpint (siglens_score_chart_get_shown_percent (chart, 0), ==, 30);

  g_object_set (chart, "view", SIGLENS_SCORE_VIEW_SHARE, NULL);
  g_assert_cmpuint (footnote_changes, ==, 1);
  g_assert_nonnull (strstr (siglens_score_chart_get_footnote (chart), "Share of total"));
  g_assert_nonnull (strstr (siglens_score_chart_get_footnote (chart), "add up to 100%"));
  for (guint i = 0; i < 4; i++)
    {
      sum += siglens_score_chart_get_shown_value (chart, i);
      percents += siglens_score_chart_get_shown_percent (chart, i);
    }
  g_assert_cmpfloat_with_epsilon (sum, 1., 1e-6);
  g_assert_cmpint (percents, ==, 100);
  g_assert_cmpint (siglens_score_chart_get_shown_percent (chart, 0), ==, 34);
  g_assert_cmpint (siglens_score_chart_get_shown_percent (chart, 1), ==, 33);
  g_assert_cmpint (siglens_score_chart_get_shown_percent (chart, 3), ==, 0);
  /* The probabilities themselves are untouched, and what a screen reader hears follows. */
  g_assert_cmpfloat (siglens_score_chart_get_probability (chart, 0), ==, 0.3f);
  {
    g_autofree char *spoken = siglens_score_chart_dup_bar_description (chart, 0);
    g_assert_cmpstr (spoken, ==, "cat, 34 percent");
  }

  /* New scores in the share view: still 100%, still best first. */
  siglens_score_chart_set_scores (chart, more, more_probs, 7);
  sum = 0.;
  percents = 0;
  for (guint i = 0; i < 7; i++)
    {
      double exact = more_probs[i] / (0.91 + 0.52 + 0.49 + 0.33 + 0.21 + 0.07 + 0.0049);

      g_assert_cmpstr (siglens_score_chart_get_label (chart, i), ==, more[i]);
      g_assert_cmpfloat_with_epsilon (siglens_score_chart_get_shown_value (chart, i), exact, 1e-6);
      /* Largest remainder moves a number by less than one point from its exact share. */
      g_assert_cmpfloat (fabs (siglens_score_chart_get_shown_percent (chart, i) - 100. * exact), <,
                         1.);
      sum += siglens_score_chart_get_shown_value (chart, i);
      percents += siglens_score_chart_get_shown_percent (chart, i);
    }
  g_assert_cmpfloat_with_epsilon (sum, 1., 1e-6);
  g_assert_cmpint (percents, ==, 100);

  /* And back. */
  siglens_score_chart_set_view (chart, SIGLENS_SCORE_VIEW_PROBABILITY);
  g_assert_cmpuint (footnote_changes, ==, 2);
  g_assert_cmpstr (siglens_score_chart_get_footnote (chart), ==, probability_note);
  g_assert_cmpfloat (siglens_score_chart_get_shown_value (chart, 0), ==, 0.91f);
  g_assert_cmpint (siglens_score_chart_get_shown_percent (chart, 0), ==, 91);

  g_signal_handlers_disconnect_by_data (chart, &footnote_changes);
  destroy_window (window, GTK_WIDGET (chart));
}

/* Screen readers walk the accessible tree, which follows the widget tree: the rows must come
 * in the order the screen shows them, best first, each a list item named "label, N percent",
 * and the bare percentages stay out of the tree. */
/* gtk_test_accessible_check_state() returns the mismatch as a new string, NULL when it matches. */
static gboolean
hidden_from_at (GtkWidget *widget)
{
  g_autofree char *mismatch = gtk_test_accessible_check_state (GTK_ACCESSIBLE (widget),
                                                               GTK_ACCESSIBLE_STATE_HIDDEN, TRUE);

  return mismatch == NULL;
}

static void
test_accessible_order (void)
{
  const char *labels[] = { "cat", "dog", "a red car" };
  const float probs[] = { 0.2f, 0.9f, 0.5f };
  const char *spoken[] = { "dog, 90 percent", "a red car, 50 percent", "cat, 20 percent" };
  GtkWindow *window;
  SiglensScoreChart *chart = SIGLENS_SCORE_CHART (chart_in_window (&window));
  guint row = 0;

  for (int round = 0; round < 2; round++)
    {
      /* The second time the same labels come in another order with new scores: the rows keep
       * their widgets and must be moved, not only re-labelled. */
      const float again[] = { 0.95f, 0.1f, 0.4f };
      const char *spoken_again[] = { "cat, 95 percent", "a red car, 40 percent", "dog, 10 percent" };

      siglens_score_chart_set_scores (chart, labels, round == 0 ? probs : again, 3);
      row = 0;
      for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (chart)); child != NULL;
           child = gtk_widget_get_next_sibling (child))
        {
          if (hidden_from_at (child))
            continue;
          g_assert_cmpuint (row, <, 3);
          g_assert_true (gtk_test_accessible_has_role (GTK_ACCESSIBLE (child),
                                                       GTK_ACCESSIBLE_ROLE_LIST_ITEM));
          gtk_test_accessible_assert_property (GTK_ACCESSIBLE (child), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                               round == 0 ? spoken[row] : spoken_again[row]);
          row++;
        }
      g_assert_cmpuint (row, ==, 3);
    }
  destroy_window (window, GTK_WIDGET (chart));
}

/* A label too long for the row is cut with "…"; its tooltip has it whole. Short labels have no
 * tooltip, and the tooltip does not become a second accessible text for the row. */
static void
test_long_label_tooltip (void)
{
  const char *labels[] = { "a cat sitting on a very long wooden bench in the afternoon sun", "dog" };
  const float probs[] = { 0.7f, 0.3f };
  GtkWindow *window;
  GtkWidget *chart = chart_in_window (&window);
  guint checked = 0;

  siglens_score_chart_set_scores (SIGLENS_SCORE_CHART (chart), labels, probs, 2);
  gtk_window_present (window);
  test_wait_until (chart_laid_out, chart, "the chart\'s first layout");
  while (g_main_context_iteration (NULL, FALSE))
    ;

  for (GtkWidget *child = gtk_widget_get_first_child (chart); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      const char *text = gtk_label_get_label (GTK_LABEL (child));

      if (g_str_equal (text, labels[0]))
        {
          g_assert_true (pango_layout_is_ellipsized (gtk_label_get_layout (GTK_LABEL (child))));
          g_assert_cmpstr (gtk_widget_get_tooltip_text (child), ==, labels[0]);
          g_assert_false (gtk_test_accessible_has_property (GTK_ACCESSIBLE (child),
                                                            GTK_ACCESSIBLE_PROPERTY_DESCRIPTION));
          checked++;
        }
      else if (g_str_equal (text, "dog"))
        {
          g_assert_null (gtk_widget_get_tooltip_text (child));
          checked++;
        }
    }
  g_assert_cmpuint (checked, ==, 2);
  destroy_window (window, chart);
}

int
main (int argc, char *argv[])
{
  gtk_test_init (&argc, &argv, NULL);
  adw_init ();
  /* The test checks where bars end, not how they get there. */
  g_object_set (gtk_settings_get_default (), "gtk-enable-animations", FALSE, NULL);

  g_test_add_func ("/score-chart/sorted", test_sorted);
  g_test_add_func ("/score-chart/accessible", test_accessible);
  g_test_add_func ("/score-chart/render", test_render);
  g_test_add_func ("/score-chart/share-of-total", test_share_of_total);
  g_test_add_func ("/score-chart/accessible-order", test_accessible_order);
  g_test_add_func ("/score-chart/long-label-tooltip", test_long_label_tooltip);
  return g_test_run ();
}
