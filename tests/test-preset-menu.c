/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The preset menu in the real window with the tiny model: the menu's sections (the interface
 * language's sets first), ImageNet put into the entry and compared whole (998 bars), a set saved
 * through the save dialog, found on disk, listed and picked again.
 */
#include <glib/gstdio.h>

#include "siglens-preset-menu.h"
#include "siglens-presets.h"
#include "test-util.h"
#include "test-window-util.h"

static SiglensApplication *application;

/* The action targets of section `index` of the menu, in order. (transfer full) */
static GStrv
section_targets (GMenuModel *menu, int index, char **label_out)
{
  g_autoptr (GMenuModel) section = g_menu_model_get_item_link (menu, index, G_MENU_LINK_SECTION);
  g_autoptr (GStrvBuilder) targets = g_strv_builder_new ();

  g_assert_nonnull (section);
  if (label_out != NULL)
    g_menu_model_get_item_attribute (menu, index, G_MENU_ATTRIBUTE_LABEL, "s", label_out);
  for (int i = 0; i < g_menu_model_get_n_items (section); i++)
    {
      g_autofree char *action = NULL;
      g_autofree char *target = NULL;

      g_assert_true (g_menu_model_get_item_attribute (section, i, G_MENU_ATTRIBUTE_ACTION, "s",
                                                      &action));
      if (g_menu_model_get_item_attribute (section, i, G_MENU_ATTRIBUTE_TARGET, "s", &target))
        g_strv_builder_add (targets, target);
      else
        g_strv_builder_add (targets, action);
    }
  return g_strv_builder_end (targets);
}

static void
test_sections (void)
{
  SiglensWindow *window = test_window_new (application, "tiny-siglip2-naflex");
  SiglensPresetMenu *menu = SIGLENS_PRESET_MENU (siglens_window_get_preset_menu (window));
  const char *en[] = { "animals", "vehicles", "weather", "emotions", "fruits", "cifar10",
                       "imagenet", NULL };
  const char *zh[] = { "animals-zh", "vehicles-zh", "weather-zh", "emotions-zh", "fruits-zh",
                       NULL };
  g_autofree char *language = g_strdup (g_getenv ("LANGUAGE"));

  g_assert_true (siglens_preset_menu_get_entry (menu) == siglens_window_get_labels_entry (window));

  for (int chinese = 0; chinese <= 1; chinese++)
    {
      g_autoptr (GMenuModel) model = NULL;
      g_auto (GStrv) first = NULL;
      g_auto (GStrv) second = NULL;
      g_auto (GStrv) last = NULL;

      /* GLib recomputes the language list when the variable changes. */
      g_setenv ("LANGUAGE", chinese ? "zh_CN" : "en", TRUE);
      model = siglens_preset_menu_build_model (menu);
      g_assert_cmpint (g_menu_model_get_n_items (model), ==, 3); /* no saved sets yet */
      first = section_targets (model, 0, NULL);
      second = section_targets (model, 1, NULL);
      last = section_targets (model, 2, NULL);
      g_assert_cmpstrv (first, chinese ? zh : en);
      g_assert_cmpstrv (second, chinese ? en : zh);
      g_assert_cmpstrv (last, ((const char *[]) { "presets.save-as", NULL }));
    }
  if (language != NULL)
    g_setenv ("LANGUAGE", language, TRUE);
  else
    g_unsetenv ("LANGUAGE");

  test_window_close (window);
}

static gboolean
chart_has_label (SiglensScoreChart *chart, const char *label)
{
  for (guint i = 0; i < siglens_score_chart_get_n_bars (chart); i++)
    if (g_str_equal (siglens_score_chart_get_label (chart, i), label))
      return TRUE;
  return FALSE;
}

static void
on_activity (SiglensClassifier *classifier, GParamSpec *pspec, GPtrArray *seen)
{
  const char *activity = siglens_classifier_get_activity (classifier);

  if (activity != NULL)
    g_ptr_array_add (seen, g_strdup (activity));
}

/* ImageNet has 998 labels, more than the 100 a typed list may have: picked from the menu it is
 * compared whole; the same text typed by hand after an edit is limited again. */
static void
test_imagenet_whole (void)
{
  SiglensWindow *window = test_window_new (application, "tiny-siglip2-naflex");
  GtkWidget *menu = siglens_window_get_preset_menu (window);
  GtkEditable *entry = siglens_window_get_labels_entry (window);
  g_autoptr (SiglensPreset) imagenet = siglens_presets_find (NULL, "imagenet", NULL);
  g_autofree char *text = siglens_preset_dup_text (imagenet);
  g_autofree char *edited = NULL;

  g_autoptr (GPtrArray) activities = g_ptr_array_new_with_free_func (g_free);
  gboolean progress_seen = FALSE;

  test_window_open_image (window, "chelsea.png");
  g_assert_true (gtk_widget_activate_action (menu, "presets.apply", "s", "imagenet"));
  g_assert_cmpstr (gtk_editable_get_text (entry), ==, text);
  g_signal_connect (siglens_window_get_classifier (window), "notify::activity",
                    G_CALLBACK (on_activity), activities);
  g_signal_emit_by_name (entry, "activate");
  test_window_wait_for_bars (window, 998);
  g_signal_handlers_disconnect_by_data (siglens_window_get_classifier (window), activities);
  /* A long set says how far its encoding is. */
  for (guint i = 0; i < activities->len; i++)
    progress_seen |= g_str_has_prefix (g_ptr_array_index (activities, i), "Encoding labels… ")
                     && g_str_has_suffix (g_ptr_array_index (activities, i), " of 998");
  g_assert_true (progress_seen);
  g_assert_null (siglens_window_get_labels_note (window));
  g_assert_true (chart_has_label (siglens_window_get_chart (window), "tench"));
  g_assert_true (chart_has_label (siglens_window_get_chart (window), "toilet paper"));

  edited = g_strconcat (text, ", one more", NULL);
  test_window_type_labels (window, edited);
  test_window_wait_for_bars (window, 100);
  g_assert_nonnull (siglens_window_get_labels_note (window));

  test_window_close (window);
}

static void
on_message (SiglensPresetMenu *menu, const char *message, char **out)
{
  g_free (*out);
  *out = g_strdup (message);
}

static AdwMessageDialog *
find_dialog (void)
{
  g_autoptr (GList) toplevels = gtk_window_list_toplevels ();

  for (GList *l = toplevels; l != NULL; l = l->next)
    if (ADW_IS_MESSAGE_DIALOG (l->data) && gtk_widget_get_visible (l->data))
      return l->data;
  return NULL;
}

static void
save_through_dialog (GtkWidget *menu, const char *name)
{
  AdwMessageDialog *dialog;

  g_assert_true (gtk_widget_activate_action (menu, "presets.save-as", NULL));
  dialog = find_dialog ();
  g_assert_nonnull (dialog);
  g_assert_false (adw_message_dialog_get_response_enabled (dialog, "save"));
  gtk_editable_set_text (GTK_EDITABLE (adw_message_dialog_get_extra_child (dialog)), name);
  g_assert_true (adw_message_dialog_get_response_enabled (dialog, "save"));
  adw_message_dialog_response (dialog, "save");
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static void
test_save_and_pick_again (void)
{
  SiglensWindow *window = test_window_new (application, "tiny-siglip2-naflex");
  GtkWidget *menu = siglens_window_get_preset_menu (window);
  GtkEditable *entry = siglens_window_get_labels_entry (window);
  g_autofree char *message = NULL;
  g_autofree char *dir = siglens_presets_dup_user_dir ();
  g_autofree char *path = g_build_filename (dir, "Colours of 春天.txt", NULL);
  g_autofree char *contents = NULL;
  g_autoptr (GMenuModel) model = NULL;
  g_autofree char *section_label = NULL;
  g_auto (GStrv) saved = NULL;

  g_signal_connect (menu, "message", G_CALLBACK (on_message), &message);
  g_remove (path);

  test_window_open_image (window, "chelsea.png");
  test_window_type_labels (window, "red, green，blue、 red");
  save_through_dialog (menu, "  Colours of 春天 ");
  g_assert_cmpstr (message, ==, "Saved “Colours of 春天” with 3 labels.");

  /* On disk as a plain text file, one label per line. */
  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_cmpstr (contents, ==, "red\ngreen\nblue\n");

  /* Listed under "Your Sets" in a menu built now, as after a restart. */
  model = siglens_preset_menu_build_model (SIGLENS_PRESET_MENU (menu));
  g_assert_cmpint (g_menu_model_get_n_items (model), ==, 4);
  saved = section_targets (model, 2, &section_label);
  g_assert_cmpstr (section_label, ==, "Your Sets");
  g_assert_cmpstrv (saved, ((const char *[]) { "Colours of 春天", NULL }));

  /* Picked again. */
  test_window_type_labels (window, "something else");
  test_window_wait_for_bars (window, 1);
  g_assert_true (gtk_widget_activate_action (menu, "presets.apply", "s", "Colours of 春天"));
  g_assert_cmpstr (gtk_editable_get_text (entry), ==, "red, green, blue");
  g_signal_emit_by_name (entry, "activate");
  test_window_wait_for_bars (window, 3);

  /* A name that cannot be a set's is refused with a sentence that says why. */
  save_through_dialog (menu, "animals");
  g_assert_cmpstr (message, ==, "“animals” is the name of a built-in label set; choose another "
                                "name.");

  g_signal_handlers_disconnect_by_data (menu, &message);
  test_window_close (window);
}

int
main (int argc, char **argv)
{
  int status;

  application = test_window_init ("preset-menu", &argc, &argv);

  g_test_add_func ("/preset-menu/sections", test_sections);
  g_test_add_func ("/preset-menu/imagenet-whole", test_imagenet_whole);
  g_test_add_func ("/preset-menu/save-and-pick-again", test_save_and_pick_again);

  status = g_test_run ();
  g_object_unref (application);
  return status;
}
