/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Presentation mode on a 1920x1080 screen (meson runs this test under its own xvfb-run of that
 * size): win.presentation opens a full-screen window with the picture and the chart side by
 * side and no header bar; a screenshot of it, in the light and the dark style, is measured in
 * pixels: every label's text is at least 48 px tall, its contrast with the background at least
 * 7:1 (WCAG AAA), the bars at least 40 px thick. Esc closes it.
 */
#include <math.h>
#include <string.h>

#include "siglens-presentation-window.h"
#include "test-util.h"
#include "test-window-util.h"

#define SCREEN_WIDTH     1920
#define SCREEN_HEIGHT    1080
#define MIN_TEXT_PX      48
#define MIN_CONTRAST     7.0
#define MIN_BAR_PX       40
#define FRAME_PX         8  /* most a client-side frame may take per side */

static SiglensApplication *application;

typedef struct {
  guint8 *data;
  gsize   stride;
  int     width, height;
} Shot;

static void
shot_clear (Shot *shot)
{
  g_free (shot->data);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Shot, shot_clear)

static gboolean
drawn_at_size (gpointer data)
{
  GtkWidget *window = data;

  GdkSurface *surface = gtk_native_get_surface (GTK_NATIVE (window));

  /* The X window covers the screen. Without a window manager nothing puts GTK into the
   * full-screen state, so its client-side frame keeps a few pixels of the surface; the content
   * may be that much smaller. */
  return gtk_widget_get_mapped (window) && surface != NULL
         && gdk_surface_get_width (surface) == SCREEN_WIDTH
         && gdk_surface_get_height (surface) == SCREEN_HEIGHT
         && gtk_widget_get_width (window) >= SCREEN_WIDTH - 2 * FRAME_PX
         && gtk_widget_get_height (window) >= SCREEN_HEIGHT - 2 * FRAME_PX;
}

static gboolean
frames_passed (gpointer data)
{
  return --*(int *) data <= 0;
}

/* Lets the style change and the bars' animation settle. */
static void
settle (void)
{
  int ticks = 0;
  guint id;

  for (int i = 0; i < 3; i++)
    {
      ticks = 1;
      id = g_timeout_add (250, (GSourceFunc) frames_passed, &ticks);
      while (ticks > 0)
        g_main_context_iteration (NULL, TRUE);
      g_source_remove (id);
    }
}

static Shot
screenshot (GtkWidget *window, const char *name)
{
  g_autoptr (GdkPaintable) paintable = gtk_widget_paintable_new (window);
  g_autoptr (GskRenderNode) node = NULL;
  g_autoptr (GdkTexture) texture = NULL;
  g_autofree char *png = NULL;
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  int width = gtk_widget_get_width (window), height = gtk_widget_get_height (window);
  Shot shot;

  gdk_paintable_snapshot (paintable, snapshot, width, height);
  node = gtk_snapshot_free_to_node (snapshot);
  g_assert_nonnull (node);
  texture = gsk_renderer_render_texture (gtk_native_get_renderer (GTK_NATIVE (window)), node,
                                         &GRAPHENE_RECT_INIT (0, 0, width, height));
  png = test_out_path (name);
  g_assert_true (gdk_texture_save_to_png (texture, png));
  g_test_message ("screenshot: %s", png);

  shot.width = gdk_texture_get_width (texture);
  shot.height = gdk_texture_get_height (texture);
  shot.stride = (gsize) shot.width * 4;
  shot.data = g_malloc (shot.stride * (gsize) shot.height);
  gdk_texture_download (texture, shot.data, shot.stride);
  return shot;
}

/* WCAG 2 relative luminance of a pixel (Cairo's ARGB32: B, G, R, A in memory). */
static double
luminance (const guint8 *p)
{
  double c[3];

  for (int i = 0; i < 3; i++)
    {
      double v = p[2 - i] / 255.;

      c[i] = v <= 0.04045 ? v / 12.92 : pow ((v + 0.055) / 1.055, 2.4);
    }
  return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
}

static double
contrast (double l1, double l2)
{
  return (MAX (l1, l2) + 0.05) / (MIN (l1, l2) + 0.05);
}

static const guint8 *
at (const Shot *shot, int x, int y)
{
  return shot->data + (gsize) y * shot->stride + (gsize) x * 4;
}

typedef struct {
  int ink_top, ink_bottom;  /* rows with text pixels, in window coordinates */
  double text_contrast;     /* of the text's strongest pixel against the background */
} Ink;

/* The text inside `bounds`: the first and last rows with a pixel that stands out from the
 * background (the colour at the box's top-left corner, where no glyph reaches). */
static Ink
measure_text (const Shot *shot, const graphene_rect_t *bounds)
{
  int x0 = (int) ceil (bounds->origin.x), y0 = (int) ceil (bounds->origin.y);
  int x1 = (int) floor (bounds->origin.x + bounds->size.width);
  int y1 = (int) floor (bounds->origin.y + bounds->size.height);
  double background = luminance (at (shot, x0, y0));
  Ink ink = { -1, -1, 1. };

  g_assert_cmpint (x1, <=, shot->width);
  g_assert_cmpint (y1, <=, shot->height);
  for (int y = y0; y < y1; y++)
    for (int x = x0; x < x1; x++)
      {
        double c = contrast (luminance (at (shot, x, y)), background);

        ink.text_contrast = MAX (ink.text_contrast, c);
        if (c >= 3.)
          {
            if (ink.ink_top < 0)
              ink.ink_top = y;
            ink.ink_bottom = y;
          }
      }
  return ink;
}

/* Rows below `from` in column `x` that differ from the background: the bar's track. */
static int
bar_thickness (const Shot *shot, int x, int from, double background)
{
  int y = from;
  int top;

  while (y < shot->height && contrast (luminance (at (shot, x, y)), background) < 1.1)
    y++;
  top = y;
  while (y < shot->height && contrast (luminance (at (shot, x, y)), background) >= 1.1)
    y++;
  return y - top;
}

static void
collect_labels (GtkWidget *widget, const char *css_class, GPtrArray *out)
{
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      if (GTK_IS_LABEL (child) && gtk_widget_has_css_class (child, css_class))
        g_ptr_array_add (out, child);
      collect_labels (child, css_class, out);
    }
}

static gboolean
has_header_bar (GtkWidget *widget)
{
  if (ADW_IS_HEADER_BAR (widget) || GTK_IS_HEADER_BAR (widget))
    return TRUE;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    if (has_header_bar (child))
      return TRUE;
  return FALSE;
}

static void
check_style (GtkWidget *presentation, const char *name, gboolean dark)
{
  SiglensScoreChart *chart =
    siglens_presentation_window_get_chart (SIGLENS_PRESENTATION_WINDOW (presentation));
  g_autoptr (GPtrArray) labels = g_ptr_array_new ();
  g_autoptr (GPtrArray) values = g_ptr_array_new ();
  g_auto (Shot) shot = { 0 };
  graphene_rect_t chart_bounds;
  double background;

  settle ();
  shot = screenshot (presentation, name);
  g_assert_cmpint (shot.width, >=, SCREEN_WIDTH - 2 * FRAME_PX);
  g_assert_cmpint (shot.height, >=, SCREEN_HEIGHT - 2 * FRAME_PX);

  g_assert_true (gtk_widget_compute_bounds (GTK_WIDGET (chart), presentation, &chart_bounds));
  /* Side by side: the chart in the right half, the picture in the left. */
  g_assert_cmpfloat (chart_bounds.origin.x, >=, shot.width / 2.);
  background = luminance (at (&shot, (int) chart_bounds.origin.x + 2,
                              (int) chart_bounds.origin.y + 2));
  g_assert_true (dark ? background < 0.05 : background > 0.8);

  collect_labels (GTK_WIDGET (chart), "bar-label", labels);
  collect_labels (GTK_WIDGET (chart), "bar-value", values);
  g_assert_cmpuint (labels->len, ==, 3);
  g_assert_cmpuint (values->len, ==, 3);
  g_ptr_array_extend (labels, values, NULL, NULL);

  for (guint i = 0; i < labels->len; i++)
    {
      GtkWidget *label = g_ptr_array_index (labels, i);
      graphene_rect_t bounds;
      Ink ink;
      int thickness;

      g_assert_true (gtk_widget_compute_bounds (label, presentation, &bounds));
      ink = measure_text (&shot, &bounds);
      g_test_message ("%s: “%s” box %.0fx%.0f at (%.0f, %.0f): text %d px tall, contrast %.1f:1",
                      name, gtk_label_get_label (GTK_LABEL (label)), bounds.size.width,
                      bounds.size.height, bounds.origin.x, bounds.origin.y,
                      ink.ink_bottom - ink.ink_top + 1, ink.text_contrast);
      g_assert_cmpint (ink.ink_top, >=, 0);
      g_assert_cmpint (ink.ink_bottom - ink.ink_top + 1, >=, MIN_TEXT_PX);
      g_assert_cmpfloat (ink.text_contrast, >=, MIN_CONTRAST);

      if (i < 3)
        {
          /* The bar under the label, measured in the chart's middle column (its track spans the
           * whole width). */
          thickness = bar_thickness (&shot, (int) (chart_bounds.origin.x + chart_bounds.size.width
                                                   / 2),
                                     (int) (bounds.origin.y + bounds.size.height), background);
          g_test_message ("%s: bar %u is %d px thick", name, i, thickness);
          g_assert_cmpint (thickness, >=, MIN_BAR_PX);
        }
    }
}

static GtkShortcutAction *
action_for_key (GtkWidget *widget, guint keyval)
{
  g_autoptr (GListModel) controllers = gtk_widget_observe_controllers (widget);

  for (guint i = 0; i < g_list_model_get_n_items (controllers); i++)
    {
      g_autoptr (GtkEventController) controller = g_list_model_get_item (controllers, i);

      if (!GTK_IS_SHORTCUT_CONTROLLER (controller))
        continue;
      for (guint j = 0; j < g_list_model_get_n_items (G_LIST_MODEL (controller)); j++)
        {
          g_autoptr (GtkShortcut) shortcut = g_list_model_get_item (G_LIST_MODEL (controller), j);
          GtkShortcutTrigger *trigger = gtk_shortcut_get_trigger (shortcut);

          if (GTK_IS_KEYVAL_TRIGGER (trigger)
              && gtk_keyval_trigger_get_keyval (GTK_KEYVAL_TRIGGER (trigger)) == keyval
              && gtk_keyval_trigger_get_modifiers (GTK_KEYVAL_TRIGGER (trigger)) == 0)
            return gtk_shortcut_get_action (shortcut);
        }
    }
  return NULL;
}

static gboolean
presentation_gone (gpointer data)
{
  return siglens_window_get_presentation (data) == NULL;
}

static void
test_presentation (void)
{
  SiglensWindow *window = test_window_new (application, "tiny-siglip2-naflex");
  AdwStyleManager *style = adw_style_manager_get_default ();
  SiglensPresentationWindow *presentation;
  SiglensScoreChart *chart;
  GtkShortcutAction *escape;
  GWeakRef gone;

  test_window_open_image (window, "chelsea.png");
  test_window_type_labels (window, "Cat, Bird, Horse");
  test_window_wait_for_bars (window, 3);

  g_assert_null (siglens_window_get_presentation (window));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.presentation", NULL));
  presentation = siglens_window_get_presentation (window);
  g_assert_nonnull (presentation);
  test_wait_until (drawn_at_size, presentation, "the presentation window at screen size");
  g_assert_false (has_header_bar (GTK_WIDGET (presentation)));

  /* It shows what the window shows. */
  chart = siglens_presentation_window_get_chart (presentation);
  g_assert_cmpuint (siglens_score_chart_get_n_bars (chart), ==, 3);
  for (guint i = 0; i < 3; i++)
    {
      g_assert_cmpstr (siglens_score_chart_get_label (chart, i), ==,
                       siglens_score_chart_get_label (siglens_window_get_chart (window), i));
      g_assert_cmpfloat (siglens_score_chart_get_probability (chart, i), ==,
                         siglens_score_chart_get_probability (siglens_window_get_chart (window),
                                                              i));
    }

  adw_style_manager_set_color_scheme (style, ADW_COLOR_SCHEME_FORCE_LIGHT);
  check_style (GTK_WIDGET (presentation), "presentation-light.png", FALSE);
  adw_style_manager_set_color_scheme (style, ADW_COLOR_SCHEME_FORCE_DARK);
  check_style (GTK_WIDGET (presentation), "presentation-dark.png", TRUE);
  adw_style_manager_set_color_scheme (style, ADW_COLOR_SCHEME_DEFAULT);

  /* New scores reach it while it is open. */
  test_window_type_labels (window, "Cat, Bird");
  test_window_wait_for_bars (window, 2);
  g_assert_cmpuint (siglens_score_chart_get_n_bars (chart), ==, 2);

  /* Esc leaves: the key's binding, activated as a key press would. */
  escape = action_for_key (GTK_WIDGET (presentation), GDK_KEY_Escape);
  g_assert_nonnull (escape);
  g_weak_ref_init (&gone, presentation);
  g_assert_true (gtk_shortcut_action_activate (escape, 0, GTK_WIDGET (presentation), NULL));
  test_wait_until (presentation_gone, window, "the presentation window to close");
  g_assert_null (g_weak_ref_get (&gone));
  g_weak_ref_clear (&gone);

  test_window_close (window);
}

static gboolean
find_label_text (GtkWidget *widget, const char *text)
{
  if (GTK_IS_LABEL (widget) && gtk_widget_get_mapped (widget)
      && g_strcmp0 (gtk_label_get_label (GTK_LABEL (widget)), text) == 0)
    return TRUE;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    if (find_label_text (child, text))
      return TRUE;
  return FALSE;
}

/* The Scores section of the main menu switches both windows' charts to share of total and
 * back; the footnotes under them say so; the choice is kept in the settings. */
static void
test_score_view (void)
{
  SiglensWindow *window = test_window_new (application, "tiny-siglip2-naflex");
  g_autoptr (GSettings) settings = g_settings_new ("io.github.siglens.Siglens");
  SiglensScoreChart *chart = siglens_window_get_chart (window);
  SiglensPresentationWindow *presentation;
  SiglensScoreChart *shown;
  g_autofree char *kept = NULL;
  int percents = 0;

  test_window_open_image (window, "chelsea.png");
  test_window_type_labels (window, "cat, dog, a red car, coffee");
  test_window_wait_for_bars (window, 4);
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.presentation", NULL));
  presentation = siglens_window_get_presentation (window);
  shown = siglens_presentation_window_get_chart (presentation);
  test_wait_until (drawn_at_size, presentation, "the presentation window at screen size");
  g_assert_true (find_label_text (GTK_WIDGET (window), siglens_score_chart_get_footnote (chart)));
  g_assert_nonnull (strstr (siglens_score_chart_get_footnote (chart), "need not add up"));

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.score-view", "s", "share"));
  kept = g_settings_get_string (settings, "score-view");
  g_assert_cmpstr (kept, ==, "share");
  g_assert_cmpint (siglens_score_chart_get_view (chart), ==, SIGLENS_SCORE_VIEW_SHARE);
  g_assert_cmpint (siglens_score_chart_get_view (shown), ==, SIGLENS_SCORE_VIEW_SHARE);
  settle ();
  g_assert_nonnull (strstr (siglens_score_chart_get_footnote (chart), "Share of total"));
  g_assert_true (find_label_text (GTK_WIDGET (window), siglens_score_chart_get_footnote (chart)));
  g_assert_true (find_label_text (GTK_WIDGET (presentation),
                                  siglens_score_chart_get_footnote (shown)));
  for (guint i = 0; i < 4; i++)
    percents += siglens_score_chart_get_shown_percent (shown, i);
  g_assert_cmpint (percents, ==, 100);

  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.score-view", "s",
                                             "probability"));
  g_assert_cmpint (siglens_score_chart_get_view (shown), ==, SIGLENS_SCORE_VIEW_PROBABILITY);

  gtk_window_close (GTK_WINDOW (presentation));
  test_wait_until (presentation_gone, window, "the presentation window to close");
  test_window_close (window);
}

int
main (int argc, char **argv)
{
  int status;

  application = test_window_init ("presentation", &argc, &argv);

  g_test_add_func ("/presentation/large-type-side-by-side", test_presentation);
  g_test_add_func ("/presentation/score-view", test_score_view);

  status = g_test_run ();
  g_object_unref (application);
  return status;
}
