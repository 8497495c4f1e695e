/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * "Where it looked" in the real window with the tiny model: the toggle over the picture asks the
 * worker for the map; the map shown is the golden one (its hottest patch yellow where the
 * reference's argmax is), at the image's aspect ratio; the opacity slider and the help text; a
 * new image gets a new map.
 */
#include <math.h>
#include <string.h>

#include "siglens-overlay.h"
#include "test-util.h"
#include "test-window-util.h"

static SiglensApplication *application;

static gboolean
map_shown (gpointer data)
{
  SiglensWindow *window = data;
  SiglensHeatmapOverlay *overlay = siglens_window_get_heatmap_overlay (window);

  return siglens_heatmap_overlay_get_map (overlay) != NULL
         && !siglens_classifier_get_busy (siglens_window_get_classifier (window));
}

static GtkWidget *
find_map_picture (GtkWidget *widget, GdkPaintable *map)
{
  if (GTK_IS_PICTURE (widget) && gtk_picture_get_paintable (GTK_PICTURE (widget)) == map)
    return widget;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_map_picture (child, map);
      if (found != NULL)
        return found;
    }
  return NULL;
}

/* The texture's colour at the centre of patch (r, c) of a rows x cols grid. */
static void
colour_at_patch (GdkTexture *texture, int rows, int cols, int r, int c, guint8 rgb[3])
{
  int w = gdk_texture_get_width (texture), h = gdk_texture_get_height (texture);
  g_autofree guint8 *data = g_malloc ((gsize) w * h * 4);
  int x = (int) ((c + 0.5) * w / cols), y = (int) ((r + 0.5) * h / rows);
  const guint8 *p;

  gdk_texture_download (texture, data, (gsize) w * 4);
  p = data + ((gsize) y * w + x) * 4; /* B, G, R, A */
  rgb[0] = p[2];
  rgb[1] = p[1];
  rgb[2] = p[0];
}

static gboolean
image_is (SiglensWindow *window, const char *name)
{
  SiglensImage *image = siglens_window_get_image (window);

  return image != NULL && g_str_equal (siglens_image_get_name (image), name);
}

static gboolean
image_is_chelsea (gpointer data)
{
  return image_is (data, "chelsea.png");
}

static gboolean
image_is_tall_and_idle (gpointer data)
{
  return image_is (data, "tall_150x900.png")
         && !siglens_classifier_get_busy (siglens_window_get_classifier (data));
}

static gboolean
allocated (gpointer data)
{
  return gtk_widget_get_mapped (data) && gtk_widget_get_width (data) > 0;
}

static void
save_screenshot (GtkWidget *widget, const char *name)
{
  g_autoptr (GdkPaintable) paintable = gtk_widget_paintable_new (widget);
  g_autoptr (GskRenderNode) node = NULL;
  g_autoptr (GdkTexture) texture = NULL;
  g_autofree char *png = test_out_path (name);
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  int w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);

  gdk_paintable_snapshot (paintable, snapshot, w, h);
  node = gtk_snapshot_free_to_node (snapshot);
  texture = gsk_renderer_render_texture (gtk_native_get_renderer (gtk_widget_get_native (widget)),
                                         node, &GRAPHENE_RECT_INIT (0, 0, w, h));
  g_assert_true (gdk_texture_save_to_png (texture, png));
  g_test_message ("screenshot: %s", png);
}

static void
test_where_it_looked (void)
{
  SiglensWindow *window = test_window_new (application, "tiny-siglip2-naflex");
  SiglensHeatmapOverlay *overlay = siglens_window_get_heatmap_overlay (window);
  g_autoptr (GdkPaintable) first = NULL; /* a reference: a freed texture's address may return */
  GtkWidget *picture;
  guint8 rgb[3];

  test_window_open_image (window, "chelsea.png");
  test_window_type_labels (window, "cat, dog");
  test_window_wait_for_bars (window, 2);
  g_assert_null (siglens_heatmap_overlay_get_map (overlay));

  /* Honest about what it is and is not. */
  g_assert_nonnull (strstr (siglens_heatmap_overlay_get_help_text (overlay),
                            "same map whatever the labels are"));

  siglens_heatmap_overlay_set_active (overlay, TRUE);
  test_wait_until (map_shown, window, "the map");
  first = g_object_ref (siglens_heatmap_overlay_get_map (overlay));
  g_assert_true (GDK_IS_TEXTURE (first));
  /* chelsea is 451 x 300: the map is drawn at that size, so it lies exactly over the image. */
  g_assert_cmpint (gdk_texture_get_width (GDK_TEXTURE (first)), ==, 451);
  g_assert_cmpint (gdk_texture_get_height (GDK_TEXTURE (first)), ==, 300);
  /* The golden argmax of chelsea's mean map is patch (4, 16) of 13 x 19: yellow there, the
   * colour map's top; the coldest patches are dark. */
  colour_at_patch (GDK_TEXTURE (first), 13, 19, 4, 16, rgb);
  g_test_message ("hottest patch: %u %u %u", rgb[0], rgb[1], rgb[2]);
  g_assert_cmpint (rgb[0], >=, 0xf0);
  g_assert_cmpint (rgb[1], >=, 0xd8);
  g_assert_cmpint (rgb[2], <=, 0x40);

  /* Over the picture, in exactly its place, at the chosen opacity. */
  picture = find_map_picture (GTK_WIDGET (overlay), first);
  g_assert_nonnull (picture);
  g_assert_true (gtk_widget_get_visible (picture));
  {
    GtkWidget *photo = siglens_heatmap_overlay_get_child (overlay);
    graphene_rect_t a, b;

    test_wait_until (allocated, picture, "the map to be laid out");
    g_assert_true (gtk_widget_compute_bounds (picture, GTK_WIDGET (window), &a));
    g_assert_true (gtk_widget_compute_bounds (photo, GTK_WIDGET (window), &b));
    g_test_message ("map %g,%g %gx%g photo %g,%g %gx%g", a.origin.x, a.origin.y, a.size.width, a.size.height, b.origin.x, b.origin.y, b.size.width, b.size.height);
    g_assert_true (graphene_rect_equal (&a, &b));
    save_screenshot (GTK_WIDGET (window), "heatmap-overlay.png");
  }
  siglens_heatmap_overlay_set_opacity (overlay, 0.3);
  /* GTK keeps opacity in 8 bits. */
  g_assert_cmpfloat_with_epsilon (gtk_widget_get_opacity (picture), 0.3, 1. / 255);

  /* Off hides it; on again shows the same map without asking the worker again. */
  siglens_heatmap_overlay_set_active (overlay, FALSE);
  g_assert_false (gtk_widget_get_visible (picture));
  siglens_heatmap_overlay_set_active (overlay, TRUE);
  g_assert_true (gtk_widget_get_visible (picture));
  g_assert_true (siglens_heatmap_overlay_get_map (overlay) == first);

  /* Presentation mode shows it too, and stops when it is switched off. */
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.presentation", NULL));
  g_assert_true (siglens_presentation_window_get_map (siglens_window_get_presentation (window))
                 == first);
  siglens_heatmap_overlay_set_active (overlay, FALSE);
  g_assert_null (siglens_presentation_window_get_map (siglens_window_get_presentation (window)));
  siglens_heatmap_overlay_set_active (overlay, TRUE);
  gtk_window_destroy (GTK_WINDOW (siglens_window_get_presentation (window)));
  g_assert_null (siglens_window_get_presentation (window));

  /* A new image, a new map, at its own aspect ratio (tall_150x900). */
  test_window_open_image (window, "tall_150x900.png");
  test_window_wait_for_bars (window, 2);
  test_wait_until (map_shown, window, "the new map");
  g_assert_true (siglens_heatmap_overlay_get_map (overlay) != first);
  g_assert_cmpint (gdk_texture_get_width (GDK_TEXTURE (siglens_heatmap_overlay_get_map (overlay))),
                   ==, 150);
  g_assert_cmpint (gdk_texture_get_height (GDK_TEXTURE (siglens_heatmap_overlay_get_map (overlay))),
                   ==, 900);

  /* Asked for, switched off before it came, then another image: the first image's map must
   * not turn up over the second. */
  test_window_open_image (window, "chelsea.png");
  test_wait_until (image_is_chelsea, window, "chelsea on screen");
  siglens_heatmap_overlay_set_active (overlay, FALSE);
  test_window_open_image (window, "tall_150x900.png");
  test_wait_until (image_is_tall_and_idle, window, "tall on screen");
  g_assert_null (siglens_heatmap_overlay_get_map (overlay));
  siglens_heatmap_overlay_set_active (overlay, TRUE);
  test_wait_until (map_shown, window, "tall's map");
  g_assert_cmpint (gdk_texture_get_height (GDK_TEXTURE (siglens_heatmap_overlay_get_map (overlay))),
                   ==, 900);

  test_window_close (window);
}

int
main (int argc, char **argv)
{
  int status;

  application = test_window_init ("heatmap-overlay", &argc, &argv);

  g_test_add_func ("/heatmap-overlay/where-it-looked", test_where_it_looked);

  status = g_test_run ();
  g_object_unref (application);
  return status;
}
