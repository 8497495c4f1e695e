/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The real window as a screen reader and a keyboard user meet it, with the tiny model scoring
 * chelsea.png:
 *
 *   - the accessible tree (GTK 4.8: the widget tree minus what is hidden from it) holds the
 *     chart's rows in the order shown, each a list item "label, N percent";
 *   - no button sits inside another button and none says its name twice (a tooltip repeating
 *     the name becomes a description that is read after it);
 *   - Tab visits every focusable control, and each one, focused from the keyboard, changes
 *     what is drawn around it: a focus ring that can be seen.
 */
#include <adwaita.h>
#include <math.h>

#include "siglens-application.h"
#include "siglens-window.h"
#include "test-util.h"

static SiglensApplication *application;

static gboolean
scored (gpointer data)
{
  SiglensWindow *window = data;
  SiglensClassifier *classifier = siglens_window_get_classifier (window);

  return siglens_classifier_get_model_state (classifier) == SIGLENS_MODEL_STATE_READY
         && !siglens_classifier_get_busy (classifier)
         && siglens_score_chart_get_n_bars (siglens_window_get_chart (window)) == 3
         && !siglens_score_chart_get_stale (siglens_window_get_chart (window))
         && gtk_widget_get_mapped (GTK_WIDGET (siglens_window_get_chart (window)));
}

static SiglensWindow *
new_scored_window (void)
{
  g_autoptr (GSettings) settings = g_settings_new ("io.github.siglens.Siglens");
  g_autofree char *model = test_data_path ("tiny-siglip2-naflex");
  g_autofree char *image_path = test_data_path ("images/chelsea.png");
  g_autoptr (GFile) image = g_file_new_for_path (image_path);
  SiglensWindow *window;

  g_settings_set_string (settings, "model-folder", model);
  window = siglens_window_new (application);
  gtk_window_set_default_size (GTK_WINDOW (window), 1000, 700);
  gtk_window_present (GTK_WINDOW (window));
  /* Typed in an order that the scores do not follow. */
  gtk_editable_set_text (siglens_window_get_labels_entry (window), "coffee, a red car, cat");
  siglens_window_open_file (window, image);
  test_wait_until (scored, window, "the scores");
  test_drain_main_context ();
  return window;
}

/* gtk_test_accessible_check_*() return the mismatch as a new string, NULL when it matches. */
static gboolean
hidden_from_at (GtkWidget *widget)
{
  g_autofree char *mismatch = gtk_test_accessible_check_state (GTK_ACCESSIBLE (widget),
                                                               GTK_ACCESSIBLE_STATE_HIDDEN, TRUE);

  return mismatch == NULL;
}

static gboolean
named (GtkWidget *widget, const char *name)
{
  g_autofree char *mismatch = gtk_test_accessible_check_property (GTK_ACCESSIBLE (widget),
                                                                  GTK_ACCESSIBLE_PROPERTY_LABEL,
                                                                  name);

  return mismatch == NULL;
}

/* Depth first over what assistive technologies see: visible widgets not hidden from them. */
static void
collect_accessible (GtkWidget *widget, GPtrArray *out)
{
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      if (!gtk_widget_get_visible (child) || !gtk_widget_get_child_visible (child)
          || hidden_from_at (child))
        continue;
      g_ptr_array_add (out, child);
      collect_accessible (child, out);
    }
}

static gboolean
is_button_role (GtkAccessibleRole role)
{
  return role == GTK_ACCESSIBLE_ROLE_BUTTON; /* toggle buttons too, with a pressed state */
}

static void
test_chart_rows (void)
{
  SiglensWindow *window = new_scored_window ();
  SiglensScoreChart *chart = siglens_window_get_chart (window);
  g_autoptr (GPtrArray) nodes = g_ptr_array_new ();
  guint row = 0;

  collect_accessible (GTK_WIDGET (window), nodes);
  g_assert_true (g_ptr_array_find (nodes, chart, NULL));
  g_assert_true (gtk_test_accessible_has_role (GTK_ACCESSIBLE (chart), GTK_ACCESSIBLE_ROLE_LIST));
  for (guint i = 0; i < nodes->len; i++)
    {
      GtkWidget *node = g_ptr_array_index (nodes, i);
      g_autofree char *spoken = NULL;

      if (gtk_widget_get_parent (node) != GTK_WIDGET (chart))
        continue;
      /* Every node under the chart is a row: the bare numbers are hidden. */
      g_assert_true (gtk_test_accessible_has_role (GTK_ACCESSIBLE (node),
                                                   GTK_ACCESSIBLE_ROLE_LIST_ITEM));
      spoken = g_strdup_printf ("%s, %d percent", siglens_score_chart_get_label (chart, row),
                                (int) lround (siglens_score_chart_get_probability (chart, row) * 100.));
      g_test_message ("row %u: %s", row, spoken);
      gtk_test_accessible_assert_property (GTK_ACCESSIBLE (node), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                           spoken);
      if (row > 0)
        g_assert_cmpfloat (siglens_score_chart_get_probability (chart, row), <=,
                           siglens_score_chart_get_probability (chart, row - 1));
      row++;
    }
  g_assert_cmpuint (row, ==, 3);
  /* Not the typed order: the test would be void if the scores happened to follow it. */
  g_assert_cmpstr (siglens_score_chart_get_label (chart, 0), !=, "coffee");
  gtk_window_destroy (GTK_WINDOW (window));
}

static void
test_buttons_said_once (void)
{
  SiglensWindow *window = new_scored_window ();
  g_autoptr (GPtrArray) nodes = g_ptr_array_new ();
  g_autoptr (GString) problems = g_string_new (NULL);
  guint n_buttons = 0;

  collect_accessible (GTK_WIDGET (window), nodes);
  for (guint i = 0; i < nodes->len; i++)
    {
      GtkWidget *node = g_ptr_array_index (nodes, i);
      GtkAccessibleRole role = gtk_accessible_get_accessible_role (GTK_ACCESSIBLE (node));
      const char *tooltip = gtk_widget_get_tooltip_text (node);

      if (!is_button_role (role))
        continue;
      n_buttons++;
      /* Every button has a name to be read (its own, or its label's). */
      if (!gtk_test_accessible_has_property (GTK_ACCESSIBLE (node), GTK_ACCESSIBLE_PROPERTY_LABEL)
          && !gtk_test_accessible_has_relation (GTK_ACCESSIBLE (node), GTK_ACCESSIBLE_RELATION_LABELLED_BY)
          && !gtk_widget_get_first_child (node))
        g_string_append_printf (problems, "\n%s (tooltip “%s”) has no name",
                                G_OBJECT_TYPE_NAME (node), tooltip);
      for (GtkWidget *up = gtk_widget_get_parent (node); up != NULL; up = gtk_widget_get_parent (up))
        if (is_button_role (gtk_accessible_get_accessible_role (GTK_ACCESSIBLE (up)))
            && !hidden_from_at (up))
          g_string_append_printf (problems, "\n%s (tooltip “%s”) is inside the button %s",
                                  G_OBJECT_TYPE_NAME (node), tooltip, G_OBJECT_TYPE_NAME (up));
      if (tooltip != NULL && named (node, tooltip)
          && gtk_test_accessible_has_property (GTK_ACCESSIBLE (node),
                                               GTK_ACCESSIBLE_PROPERTY_DESCRIPTION))
        g_string_append_printf (problems, "\n%s is named “%s” and described the same",
                                G_OBJECT_TYPE_NAME (node), tooltip);
    }
  g_test_message ("%u buttons", n_buttons);
  g_assert_cmpuint (n_buttons, >=, 3);
  if (problems->len > 0)
    g_test_fail_printf ("buttons said twice:%s", problems->str);
  gtk_window_destroy (GTK_WINDOW (window));
}

/* The window as drawn. (transfer full) */
static GdkTexture *
render (GtkWidget *widget)
{
  g_autoptr (GdkPaintable) paintable = gtk_widget_paintable_new (widget);
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  g_autoptr (GskRenderNode) node = NULL;
  int w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);

  gdk_paintable_snapshot (paintable, snapshot, w, h);
  node = gtk_snapshot_free_to_node (snapshot);
  return gsk_renderer_render_texture (gtk_native_get_renderer (gtk_widget_get_native (widget)),
                                      node, &GRAPHENE_RECT_INIT (0, 0, w, h));
}

static guchar *
download (GdkTexture *texture)
{
  guchar *data = g_malloc ((gsize) gdk_texture_get_width (texture) * 4
                           * (gsize) gdk_texture_get_height (texture));

  gdk_texture_download (texture, data, (gsize) gdk_texture_get_width (texture) * 4);
  return data;
}

/* Pixels that differ between two renderings, within `box` grown by 6 px (rings are drawn
 * around a widget's border, outside its box). */
static guint
changed_pixels (GdkTexture *a, GdkTexture *b, const graphene_rect_t *box)
{
  g_autofree guchar *pa = download (a);
  g_autofree guchar *pb = download (b);
  int width = gdk_texture_get_width (a), height = gdk_texture_get_height (a);
  int x0 = MAX (0, (int) box->origin.x - 6), y0 = MAX (0, (int) box->origin.y - 6);
  int x1 = MIN (width, (int) (box->origin.x + box->size.width) + 6);
  int y1 = MIN (height, (int) (box->origin.y + box->size.height) + 6);
  guint n = 0;

  for (int y = y0; y < y1; y++)
    for (int x = x0; x < x1; x++)
      if (memcmp (pa + ((gsize) y * width + x) * 4, pb + ((gsize) y * width + x) * 4, 4) != 0)
        n++;
  return n;
}

static gboolean
on_tick (GtkWidget *widget, GdkFrameClock *clock, gpointer data)
{
  *(gboolean *) data = TRUE;
  return G_SOURCE_REMOVE;
}

static gboolean
is_set (gpointer data)
{
  return *(gboolean *) data;
}

static gboolean
is_active (gpointer data)
{
  return gtk_window_is_active (data);
}

/* Style changes (focus-visible) take effect on the next frame: wait for two. Only the window
 * with the keyboard focus draws rings (meson gives this test an X server of its own, so no other
 * window takes it); a window that lost it would fail here with the reason, not at a ring. */
static void
next_frame (GtkWidget *window)
{
  for (int i = 0; i < 2; i++)
    {
      gboolean ticked = FALSE;

      test_wait_until (is_active, window, "the window to have the keyboard focus");
      gtk_widget_add_tick_callback (window, on_tick, &ticked, NULL);
      gtk_widget_queue_draw (window);
      test_wait_until (is_set, &ticked, "a frame");
      test_drain_main_context ();
    }
}

static void
test_focus_rings (void)
{
  SiglensWindow *window = new_scored_window ();
  GtkWidget *first = NULL;
  g_autoptr (GString) problems = g_string_new (NULL);
  guint n_stops = 0;

  /* From the top, Tab by Tab, until focus comes back round. */
  gtk_window_set_focus (GTK_WINDOW (window), NULL);
  for (int i = 0; i < 60; i++)
    {
      GtkWidget *focus;
      g_autoptr (GdkTexture) ringed = NULL;
      g_autoptr (GdkTexture) plain = NULL;
      graphene_rect_t box;
      guint changed;

      if (!gtk_widget_child_focus (GTK_WIDGET (window), GTK_DIR_TAB_FORWARD))
        gtk_widget_child_focus (GTK_WIDGET (window), GTK_DIR_TAB_FORWARD);
      focus = gtk_root_get_focus (GTK_ROOT (window));
      g_assert_nonnull (focus);
      if (focus == first)
        break;
      if (first == NULL)
        first = focus;
      n_stops++;

      /* Focused from the keyboard, against nothing focused at all (an entry draws its ring
       * whenever it has focus, other widgets only when focus is visible). GTK clears
       * focus-visible 3 s after it was set (VISIBLE_FOCUS_DURATION in gtkwindow.c): a frame
       * that took longer (a loaded machine, the sanitizer build) is drawn again. */
      for (int attempt = 0; attempt < 5; attempt++)
        {
          g_clear_object (&ringed);
          gtk_window_set_focus_visible (GTK_WINDOW (window), TRUE);
          next_frame (GTK_WIDGET (window));
          ringed = render (GTK_WIDGET (window));
          if (gtk_window_get_focus_visible (GTK_WINDOW (window)))
            break;
          g_test_message ("Tab stop %u: focus-visible ran out before the frame was drawn",
                          n_stops);
        }
      g_assert_true (gtk_window_get_focus_visible (GTK_WINDOW (window)));
      gtk_window_set_focus (GTK_WINDOW (window), NULL);
      gtk_window_set_focus_visible (GTK_WINDOW (window), FALSE);
      next_frame (GTK_WIDGET (window));
      plain = render (GTK_WIDGET (window));
      gtk_widget_grab_focus (focus);

      g_assert_true (gtk_widget_compute_bounds (focus, GTK_WIDGET (window), &box));
      changed = changed_pixels (ringed, plain, &box);
      g_test_message ("Tab stop %u: %s (in %s) at %.0f,%.0f %.0f×%.0f: %u pixels change",
                      n_stops, G_OBJECT_TYPE_NAME (focus),
                      G_OBJECT_TYPE_NAME (gtk_widget_get_parent (focus)),
                      box.origin.x, box.origin.y, box.size.width, box.size.height, changed);
      if (changed < 20)
        g_string_append_printf (problems, "\n%s in %s shows no focus ring", G_OBJECT_TYPE_NAME (focus),
                                G_OBJECT_TYPE_NAME (gtk_widget_get_parent (focus)));
    }
  g_assert_cmpuint (n_stops, >=, 4);
  if (problems->len > 0)
    g_test_fail_printf ("Tab stops without a visible focus:%s", problems->str);
  gtk_window_destroy (GTK_WINDOW (window));
}

int
main (int argc, char *argv[])
{
  g_autoptr (GError) error = NULL;
  g_autofree char *out = test_out_path ("a11y/x");
  int status;

  g_setenv ("HF_HUB_CACHE", out, TRUE);
  g_unsetenv ("SIGLENS_MODEL");
  gtk_test_init (&argc, &argv, NULL);
  g_object_set (gtk_settings_get_default (), "gtk-enable-animations", FALSE, NULL);

  application = siglens_application_new ();
  g_application_set_flags (G_APPLICATION (application),
                           G_APPLICATION_HANDLES_OPEN | G_APPLICATION_NON_UNIQUE);
  g_application_register (G_APPLICATION (application), NULL, &error);
  g_assert_no_error (error);

  g_test_add_func ("/a11y/chart-rows", test_chart_rows);
  g_test_add_func ("/a11y/buttons-said-once", test_buttons_said_once);
  g_test_add_func ("/a11y/focus-rings", test_focus_rings);

  status = g_test_run ();
  g_object_unref (application);
  return status;
}
