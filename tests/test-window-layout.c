/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The real window at a phone's width (360 px), a small laptop's (800 px) and a big screen's
 * (2560 px), light and dark, scoring chelsea.png with the tiny model. Each is rendered to
 * $SIGLENS_TEST_OUT/layout/window-<width>-<style>-<language>.png, and the rendering itself is
 * checked: the winner's bar is as long in pixels as its score says, the results take a fair
 * share of the width, their type grows on the big screen, and the picture is never blown up
 * past twice its size.
 *
 * Run twice by meson: in English and, with the zh_CN catalogue, in Chinese.
 */
#include <adwaita.h>
#include <glib/gi18n.h>
#include <locale.h>
#include <math.h>

#include "siglens-adaptive-box.h"
#include "siglens-application.h"
#include "siglens-picture-frame.h"
#include "siglens-window.h"
#include "test-util.h"

static SiglensApplication *application;

static gboolean
chinese (void)
{
  return !g_str_equal (g_dgettext (GETTEXT_PACKAGE, "_Open"), "_Open");
}

static GtkWidget *
child (SiglensWindow *window, const char *name)
{
  GObject *object = gtk_widget_get_template_child (GTK_WIDGET (window), SIGLENS_TYPE_WINDOW, name);

  g_assert_nonnull (object);
  return GTK_WIDGET (object);
}

typedef struct {
  SiglensWindow *window;
  int            width;
  int            height;
} Sized;

static gboolean
is_sized (gpointer data)
{
  Sized *s = data;

  return gtk_widget_get_width (GTK_WIDGET (s->window)) == s->width
         && gtk_widget_get_height (GTK_WIDGET (s->window)) == s->height;
}

static gboolean
is_laid_out (gpointer data)
{
  return gtk_widget_get_width (GTK_WIDGET (data)) > 0;
}

static gboolean
scored (gpointer data)
{
  SiglensWindow *window = data;
  SiglensClassifier *classifier = siglens_window_get_classifier (window);

  return siglens_classifier_get_model_state (classifier) == SIGLENS_MODEL_STATE_READY
         && !siglens_classifier_get_busy (classifier)
         && siglens_score_chart_get_n_bars (siglens_window_get_chart (window)) == 4
         && gtk_widget_get_mapped (GTK_WIDGET (siglens_window_get_chart (window)));
}

static SiglensWindow *
new_scored_window (int width, int height)
{
  g_autoptr (GSettings) settings = g_settings_new ("io.github.siglens.Siglens");
  g_autofree char *model = test_data_path ("tiny-siglip2-naflex");
  g_autofree char *image_path = test_data_path ("images/chelsea.png");
  g_autoptr (GFile) image = g_file_new_for_path (image_path);
  SiglensWindow *window;

  g_settings_set_string (settings, "model-folder", model);
  window = siglens_window_new (application);
  gtk_window_set_default_size (GTK_WINDOW (window), width, height);
  gtk_window_present (GTK_WINDOW (window));

  gtk_editable_set_text (siglens_window_get_labels_entry (window),
                         chinese () ? "猫, 狗, 一辆红色的汽车, 咖啡" : "cat, dog, a red car, coffee");
  siglens_window_open_file (window, image);
  test_wait_until (scored, window, "the scores");
  test_drain_main_context ();
  {
    g_autofree char *what = g_strdup_printf ("the window to be %d×%d", width, height);
    Sized sized = { window, width, height };
    int frame_w, frame_h;

    /* The default size counts the client-side decoration's frame too: ask for that much more
     * so the window itself is width × height. */
    test_wait_until (is_laid_out, window, "the first layout");
    test_drain_main_context ();
    frame_w = width - gtk_widget_get_width (GTK_WIDGET (window));
    frame_h = height - gtk_widget_get_height (GTK_WIDGET (window));
    gtk_window_set_default_size (GTK_WINDOW (window), width + frame_w, height + frame_h);
    test_wait_until (is_sized, &sized, what);
    test_drain_main_context ();
  }
  return window;
}

static void
close_window (SiglensWindow *window)
{
  gtk_window_destroy (GTK_WINDOW (window));
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

/* The window as drawn. (transfer full) */
static GdkTexture *
render (GtkWidget *widget)
{
  g_autoptr (GdkPaintable) paintable = gtk_widget_paintable_new (widget);
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  g_autoptr (GskRenderNode) node = NULL;
  int w = gtk_widget_get_width (widget);
  int h = gtk_widget_get_height (widget);

  gdk_paintable_snapshot (paintable, snapshot, w, h);
  node = gtk_snapshot_free_to_node (snapshot);
  g_assert_nonnull (node);
  return gsk_renderer_render_texture (gtk_native_get_renderer (gtk_widget_get_native (widget)),
                                      node, &GRAPHENE_RECT_INIT (0, 0, w, h));
}

static void
save_png (GdkTexture *texture, const char *name)
{
  g_autofree char *rel = g_build_filename ("layout", name, NULL);
  g_autofree char *path = test_out_path (rel);

  g_assert_true (gdk_texture_save_to_png (texture, path));
  g_test_message ("rendered %s (%d×%d)", path, gdk_texture_get_width (texture),
                  gdk_texture_get_height (texture));
}

typedef struct {
  guchar *data; /* cairo ARGB32, premultiplied: B G R A in memory */
  int     width;
  int     height;
  gsize   stride;
} Pixels;

static Pixels
download (GdkTexture *texture)
{
  Pixels p = { NULL, gdk_texture_get_width (texture), gdk_texture_get_height (texture), 0 };

  p.stride = (gsize) p.width * 4;
  p.data = g_malloc (p.stride * (gsize) p.height);
  gdk_texture_download (texture, p.data, p.stride);
  return p;
}

static void
pixel (const Pixels *p, int x, int y, double rgb[3])
{
  const guchar *px = p->data + (gsize) y * p->stride + (gsize) x * 4;

  rgb[0] = px[2] / 255.;
  rgb[1] = px[1] / 255.;
  rgb[2] = px[0] / 255.;
}

static gboolean
close_to (const double a[3], const GdkRGBA *b)
{
  return fabs (a[0] - b->red) < 0.06 && fabs (a[1] - b->green) < 0.06
         && fabs (a[2] - b->blue) < 0.06;
}

/* How many pixels of row `y`, from x0 rightwards, have colour `color`, stopping at the first
 * that has not. */
static int
run_length (const Pixels *p, int x0, int y, const GdkRGBA *color)
{
  int n = 0;

  for (int x = x0; x < p->width; x++, n++)
    {
      double rgb[3];

      pixel (p, x, y, rgb);
      if (!close_to (rgb, color))
        break;
    }
  return n;
}

static double
font_size_pt (GtkWidget *label)
{
  const PangoFontDescription *font =
    pango_context_get_font_description (gtk_widget_get_pango_context (label));

  return pango_font_description_get_size (font) / (double) PANGO_SCALE;
}

/* The first label child of the chart: the winner's name. */
static GtkWidget *
winner_label (SiglensScoreChart *chart)
{
  const char *winner = siglens_score_chart_get_label (chart, 0);

  for (GtkWidget *c = gtk_widget_get_first_child (GTK_WIDGET (chart)); c != NULL;
       c = gtk_widget_get_next_sibling (c))
    if (GTK_IS_LABEL (c) && g_str_equal (gtk_label_get_label (GTK_LABEL (c)), winner))
      return c;
  g_assert_not_reached ();
}

typedef struct {
  double results_share; /* results pane width / window width */
  double font_pt;       /* the winner's label */
  int    picture_width;
  int    picture_height;
} Measured;

/* Renders the window at width × height in both styles, saves the pictures and checks them.
 * Fills in what the caller compares between sizes. */
static void
check_size (int width, int height, Measured *m)
{
  static const struct { AdwColorScheme scheme; const char *name; } styles[] = {
    { ADW_COLOR_SCHEME_FORCE_LIGHT, "light" },
    { ADW_COLOR_SCHEME_FORCE_DARK, "dark" },
  };
  AdwStyleManager *style = adw_style_manager_get_default ();

  for (guint s = 0; s < G_N_ELEMENTS (styles); s++)
    {
      SiglensWindow *window;
      SiglensScoreChart *chart;
      GtkWidget *results, *picture, *caption, *size;
      graphene_rect_t chart_box, picture_box, results_box;
      g_autoptr (GdkTexture) texture = NULL;
      g_autofree char *name = NULL;
      GdkRGBA accent;
      Pixels pixels;
      float p;
      int bar_y, run, expected;
      double background[3];

      adw_style_manager_set_color_scheme (style, styles[s].scheme);
      window = new_scored_window (width, height);
      chart = siglens_window_get_chart (window);
      results = child (window, "results_panel");
      picture = child (window, "picture");
      caption = child (window, "image_caption");
      size = child (window, "image_size");

      g_assert_true (gtk_widget_compute_bounds (GTK_WIDGET (chart), GTK_WIDGET (window), &chart_box));
      g_assert_true (gtk_widget_compute_bounds (picture, GTK_WIDGET (window), &picture_box));
      g_assert_true (gtk_widget_compute_bounds (results, GTK_WIDGET (window), &results_box));
      g_test_message ("%d×%d %s: picture %.0f,%.0f %.0f×%.0f; results %.0f,%.0f %.0f×%.0f; "
                      "chart %.0f,%.0f %.0f×%.0f", width, height, styles[s].name,
                      picture_box.origin.x, picture_box.origin.y, picture_box.size.width,
                      picture_box.size.height, results_box.origin.x, results_box.origin.y,
                      results_box.size.width, results_box.size.height, chart_box.origin.x,
                      chart_box.origin.y, chart_box.size.width, chart_box.size.height);

      /* Everything inside the window, the caption whole. */
      g_assert_cmpfloat (chart_box.origin.x + chart_box.size.width, <=, width);
      g_assert_cmpfloat (picture_box.origin.x + picture_box.size.width, <=, width);
      g_assert_false (pango_layout_is_ellipsized (gtk_label_get_layout (GTK_LABEL (caption))));
      g_assert_false (pango_layout_is_ellipsized (gtk_label_get_layout (GTK_LABEL (size))));
      {
        int natural;

        gtk_widget_measure (size, GTK_ORIENTATION_HORIZONTAL, -1, NULL, &natural, NULL, NULL);
        g_assert_cmpint (gtk_widget_get_width (size), >=, natural);
      }

      if (width < SIGLENS_ADAPTIVE_BOX_FOLD_WIDTH)
        {
          /* Folded: the chart under the picture, across the window's width. */
          g_assert_true (siglens_adaptive_box_get_folded (SIGLENS_ADAPTIVE_BOX (child (window, "panes"))));
          g_assert_cmpfloat (results_box.origin.y, >=, picture_box.origin.y + picture_box.size.height);
          g_assert_cmpfloat (results_box.size.width, ==, width);
        }
      else
        {
          g_assert_false (siglens_adaptive_box_get_folded (SIGLENS_ADAPTIVE_BOX (child (window, "panes"))));
          g_assert_cmpfloat (results_box.origin.x, >=, picture_box.origin.x + picture_box.size.width);
        }
      /* Never more than twice the picture's 451×300 pixels. */
      g_assert_cmpfloat (picture_box.size.width, <=, 451 * SIGLENS_PICTURE_FRAME_MAX_SCALE);
      g_assert_cmpfloat (picture_box.size.height, <=, 300 * SIGLENS_PICTURE_FRAME_MAX_SCALE);

      texture = render (GTK_WIDGET (window));
      name = g_strdup_printf ("window-%d-%s-%s.png", width, styles[s].name,
                              chinese () ? "zh_CN" : "en");
      save_png (texture, name);
      pixels = download (texture);

      /* The style is the one asked for: the results pane's background is light or dark. */
      pixel (&pixels, (int) (results_box.origin.x + results_box.size.width - 3),
             (int) (results_box.origin.y + results_box.size.height - 3), background);
      g_test_message ("background %.2f %.2f %.2f", background[0], background[1], background[2]);
      if (styles[s].scheme == ADW_COLOR_SCHEME_FORCE_DARK)
        g_assert_cmpfloat (background[0] + background[1] + background[2], <, 1.);
      else
        g_assert_cmpfloat (background[0] + background[1] + background[2], >, 2.);

      /* The winner's bar, found in the picture by its accent colour along the row under its
       * label, is as long as its score says, to 5 px (the rounded end's anti-aliased pixels
       * blend into the track and fall outside the colour match). */
      g_assert_true (gtk_style_context_lookup_color (gtk_widget_get_style_context (GTK_WIDGET (chart)),
                                                     "accent_bg_color", &accent));
      p = siglens_score_chart_get_probability (chart, 0);
      expected = (int) lround (p * chart_box.size.width);
      bar_y = -1;
      for (int y = (int) chart_box.origin.y; y < chart_box.origin.y + chart_box.size.height / 4 + 60
                                             && y < pixels.height; y++)
        {
          double rgb[3];

          pixel (&pixels, (int) chart_box.origin.x + expected / 2, y, rgb);
          if (close_to (rgb, &accent))
            {
              bar_y = y;
              break;
            }
        }
      g_assert_cmpint (bar_y, >=, 0);
      /* Along the bar's middle line the rounded end does not shorten the run. */
      {
        int bottom = bar_y;

        for (;; bottom++)
          {
            double rgb[3];

            pixel (&pixels, (int) chart_box.origin.x + expected / 2, bottom + 1, rgb);
            if (!close_to (rgb, &accent))
              break;
          }
        bar_y = (bar_y + bottom) / 2;
      }
      run = run_length (&pixels, (int) chart_box.origin.x + 10, bar_y, &accent) + 10;
      g_test_message ("winner %s %.3f: bar %d px in the picture, %d expected of %.0f",
                      siglens_score_chart_get_label (chart, 0), p, run, expected,
                      chart_box.size.width);
      g_assert_cmpint (abs (run - expected), <=, 5);
      g_free (pixels.data);

      m->results_share = results_box.size.width / width;
      m->font_pt = font_size_pt (winner_label (chart));
      m->picture_width = (int) picture_box.size.width;
      m->picture_height = (int) picture_box.size.height;
      close_window (window);
    }
  adw_style_manager_set_color_scheme (style, ADW_COLOR_SCHEME_DEFAULT);
}

static void
test_sizes (void)
{
  Measured narrow, laptop, big;

  check_size (360, 720, &narrow);
  check_size (800, 600, &laptop);
  check_size (2560, 1440, &big);

  g_test_message ("results share: %.2f %.2f %.2f; type %.1f %.1f %.1f pt; picture %d×%d at 2560",
                  narrow.results_share, laptop.results_share, big.results_share,
                  narrow.font_pt, laptop.font_pt, big.font_pt, big.picture_width, big.picture_height);
  /* A fair share of a big screen: not the fixed 440 px of old, and still room for the picture. */
  g_assert_cmpfloat (big.results_share, >=, 0.35);
  g_assert_cmpfloat (big.results_share, <=, 0.6);
  g_assert_cmpfloat (laptop.results_share, >=, 0.35);
  g_assert_cmpfloat (laptop.results_share, <=, 0.6);
  /* The type grows with it, by half at least. */
  g_assert_cmpfloat (big.font_pt, >=, 1.5 * laptop.font_pt);
  g_assert_cmpfloat (narrow.font_pt, ==, laptop.font_pt);
  /* The big screen shows the picture at twice its size (it has the room), not more. */
  g_assert_true (big.picture_width == 902 || big.picture_height == 600);
}

/* The window really shrinks to a phone's width: its minimum is at most 360 px. */
static void
test_minimum_width (void)
{
  SiglensWindow *window = new_scored_window (800, 600);
  int minimum;

  gtk_widget_measure (GTK_WIDGET (window), GTK_ORIENTATION_HORIZONTAL, -1, &minimum, NULL, NULL, NULL);
  g_test_message ("minimum width %d px", minimum);
  g_assert_cmpint (minimum, <=, 360);
  close_window (window);
}

int
main (int argc, char *argv[])
{
  g_autoptr (GError) error = NULL;
  const char *localedir = g_getenv ("SIGLENS_LOCALEDIR");
  g_autofree char *out = test_out_path ("layout/x");
  int status;

  setlocale (LC_ALL, "");
  if (localedir != NULL)
    {
      bindtextdomain (GETTEXT_PACKAGE, localedir);
      bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
    }
  /* As main.c does: the app's _() is gettext() in the default domain. */
  textdomain (GETTEXT_PACKAGE);
  g_setenv ("HF_HUB_CACHE", out, TRUE);
  g_unsetenv ("SIGLENS_MODEL");

  gtk_test_init (&argc, &argv, NULL);
  /* Bars and pages at their final place at once: the pictures show the end state. */
  g_object_set (gtk_settings_get_default (), "gtk-enable-animations", FALSE, NULL);

  application = siglens_application_new ();
  g_application_set_flags (G_APPLICATION (application),
                           G_APPLICATION_HANDLES_OPEN | G_APPLICATION_NON_UNIQUE);
  g_application_register (G_APPLICATION (application), NULL, &error);
  g_assert_no_error (error);

  g_test_add_func ("/layout/sizes", test_sizes);
  g_test_add_func ("/layout/minimum-width", test_minimum_width);

  status = g_test_run ();
  g_object_unref (application);
  return status;
}
