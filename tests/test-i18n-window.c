/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The real window in Simplified Chinese.
 *
 * Runs with LANGUAGE=zh_CN and LC_ALL=C.UTF-8 (no system locale needed: glibc honours LANGUAGE
 * for any locale but plain "C") and binds the siglens domain to the .mo files meson builds in
 * <build>/po. It then reads every text a person can see or hear in the window — labels,
 * titles, descriptions, tooltips, placeholders, accessible labels, the main menu — and checks:
 *
 *   - no text is an English message the catalogue translates (a widget bypassing gettext or
 *     binding the wrong domain would show it);
 *   - no text is English prose at all unless it is a name that stays Latin (Siglens, Ctrl+O…),
 *     which also catches strings set from C without _();
 *   - the key texts are the expected Chinese ones;
 *   - Chinese does not make the window need more room than English does.
 *
 * The window is also rendered to $SIGLENS_TEST_OUT/window-zh_CN.png for people to look at.
 */
#include <glib/gi18n.h>
#include <locale.h>
#include <string.h>

#include "siglip.h"
#include "siglens-application.h"
#include "siglens-preferences-window.h"
#include "siglens-template.h"
#include "siglens-window.h"

/* Properties whose value is shown or announced; others (icon-name, name…) are identifiers. */
static const char *const text_properties[] = {
  "label", "title", "subtitle", "description", "tooltip-text", "tooltip-markup",
  "placeholder-text", "alternative-text", "heading", "body", "text",
  /* AdwAboutWindow */
  "application-name", "developer-name", "comments", "translator-credits", NULL
};

/* Latin words that stay Latin in a Chinese UI. */
static const char *const latin_names[] = {
  "Siglens", "SigLIP", "Ctrl", "Shift", "Alt", "F11", "Hugging", "Face", "CPU", "JSON",
  "safetensors", "config", "json", "tokenizer", "BF16", "FP32", "bf16", "fp32", NULL
};

typedef struct {
  char *where; /* "GtkLabel.label" */
  char *text;
} ShownText;

static void
shown_text_free (gpointer data)
{
  ShownText *t = data;

  g_free (t->where);
  g_free (t->text);
  g_free (t);
}

static void
add_text (GPtrArray  *texts,
          const char *type_name,
          const char *what,
          const char *text)
{
  ShownText *t;

  if (text == NULL || *text == '\0')
    return;
  t = g_new0 (ShownText, 1);
  t->where = g_strdup_printf ("%s.%s", type_name, what);
  t->text = g_strdup (text);
  g_ptr_array_add (texts, t);
}

static void
collect_menu (GPtrArray  *texts,
              GMenuModel *menu)
{
  for (int i = 0; i < g_menu_model_get_n_items (menu); i++)
    {
      g_autofree char *label = NULL;
      g_autoptr(GMenuLinkIter) links = NULL;

      if (g_menu_model_get_item_attribute (menu, i, G_MENU_ATTRIBUTE_LABEL, "s", &label))
        add_text (texts, "GMenu", "label", label);

      links = g_menu_model_iterate_item_links (menu, i);
      while (g_menu_link_iter_next (links))
        {
          g_autoptr(GMenuModel) child = g_menu_link_iter_get_value (links);
          collect_menu (texts, child);
        }
    }
}

static void
collect_object (GPtrArray *texts,
                GObject   *object)
{
  GObjectClass *klass = G_OBJECT_GET_CLASS (object);
  const char *type_name = G_OBJECT_TYPE_NAME (object);

  /* The text of an editable is what the person typed (or the saved labels), not UI text. */
  gboolean editable = GTK_IS_EDITABLE (object);

  for (guint i = 0; text_properties[i] != NULL; i++)
    {
      GParamSpec *pspec = g_object_class_find_property (klass, text_properties[i]);
      g_autofree char *value = NULL;

      if (pspec == NULL || pspec->value_type != G_TYPE_STRING || !(pspec->flags & G_PARAM_READABLE))
        continue;
      if (editable && g_str_equal (text_properties[i], "text"))
        continue;
      g_object_get (object, text_properties[i], &value, NULL);
      add_text (texts, type_name, text_properties[i], value);
    }

  if (GTK_IS_MENU_BUTTON (object))
    {
      GMenuModel *menu = gtk_menu_button_get_menu_model (GTK_MENU_BUTTON (object));
      if (menu != NULL)
        collect_menu (texts, menu);
    }
}

/* Every widget below `widget`, shown or not: pages of a stack that are not visible now (the
 * no-model status page, the loading page) are part of the UI too. */
static void
collect_widget (GPtrArray *texts,
                GtkWidget *widget)
{
  collect_object (texts, G_OBJECT (widget));

  if (GTK_IS_STACK (widget))
    {
      g_autoptr(GListModel) pages = G_LIST_MODEL (gtk_stack_get_pages (GTK_STACK (widget)));
      for (guint i = 0; i < g_list_model_get_n_items (pages); i++)
        {
          g_autoptr(GObject) page = g_list_model_get_item (pages, i);
          collect_object (texts, page);
        }
    }

  for (GtkWidget *child = gtk_widget_get_first_child (widget);
       child != NULL;
       child = gtk_widget_get_next_sibling (child))
    collect_widget (texts, child);
}

static gboolean
has_han (const char *text)
{
  for (const char *p = text; *p; p = g_utf8_next_char (p))
    if (g_unichar_get_script (g_utf8_get_char (p)) == G_UNICODE_SCRIPT_HAN)
      return TRUE;
  return FALSE;
}

/* A Latin word of three letters or more that is not a name: English left in the UI.
 * URLs, paths and file names (anything with a / or an inner dot) are not prose. */
static char *
find_english_word (const char *text)
{
  g_autoptr(GRegex) not_prose = g_regex_new ("\\S*[/@]\\S*|\\S+\\.\\w\\S*", 0, 0, NULL);
  g_autoptr(GRegex) word = g_regex_new ("[A-Za-z]{3,}", 0, 0, NULL);
  g_autoptr(GMatchInfo) match = NULL;
  g_autofree char *prose = g_regex_replace_literal (not_prose, text, -1, 0, " ", 0, NULL);

  g_regex_match (word, prose, 0, &match);
  while (g_match_info_matches (match))
    {
      g_autofree char *w = g_match_info_fetch (match, 0);
      if (!g_strv_contains (latin_names, w))
        return g_steal_pointer (&w);
      g_match_info_next (match, NULL);
    }
  return NULL;
}

/* Appends to `problems` every text that is English: a translated msgid shown untranslated, or
 * prose with no Chinese in it. Returns how many texts are Chinese. */
static guint
check_texts (GPtrArray *texts,
             GString   *problems)
{
  guint n_han = 0;

  for (guint i = 0; i < texts->len; i++)
    {
      ShownText *t = g_ptr_array_index (texts, i);
      const char *translation = g_dgettext (GETTEXT_PACKAGE, t->text);
      g_autofree char *english = find_english_word (t->text);

      g_test_message ("%s = \"%s\"", t->where, t->text);
      if (has_han (t->text))
        n_han++;
      if (translation != t->text && !g_str_equal (translation, t->text))
        g_string_append_printf (problems, "\n  %s shows \"%s\", untranslated although zh_CN has \"%s\"",
                                t->where, t->text, translation);
      else if (english != NULL && !has_han (t->text))
        g_string_append_printf (problems, "\n  %s shows English \"%s\" (\"%s\" is not a name)",
                                t->where, t->text, english);
    }
  return n_han;
}

/* TAP takes one line per failure: the details go out as messages first. */
static void
fail_on_problems (const char *what,
                  GString    *problems)
{
  g_auto(GStrv) lines = NULL;
  guint n = 0;

  if (problems->len == 0)
    return;
  lines = g_strsplit (problems->str, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    if (*g_strstrip (lines[i]) != '\0')
      {
        g_test_message ("problem: %s", lines[i]);
        n++;
      }
  g_test_fail_printf ("%s: %u problems (listed above)", what, n);
}

/* One registered application for the whole program, as in the real app. It is not finalised
 * here: a registered GApplication is only released by g_application_run()'s shutdown. */
static SiglensApplication *app;

static void
register_app (void)
{
  g_autoptr(GError) error = NULL;

  app = siglens_application_new ();
  /* Tests run in parallel on one session bus: never become the remote of another instance. */
  g_application_set_flags (G_APPLICATION (app),
                           g_application_get_flags (G_APPLICATION (app)) | G_APPLICATION_NON_UNIQUE);
  g_application_register (G_APPLICATION (app), NULL, &error);
  g_assert_no_error (error);
}

static GtkWidget *
new_window (void)
{
  GtkWidget *window = GTK_WIDGET (siglens_window_new (app));

  gtk_window_set_default_size (GTK_WINDOW (window), 1100, 720);
  gtk_window_present (GTK_WINDOW (window));
  /* Let the first frame be laid out. */
  for (int i = 0; i < 20 && !gtk_widget_get_mapped (window); i++)
    g_main_context_iteration (NULL, TRUE);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  g_assert_true (gtk_widget_get_mapped (window));
  return window;
}

static void
close_window (GtkWidget *window)
{
  gtk_window_destroy (GTK_WINDOW (window));
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static int
min_size (GtkWidget      *window,
          GtkOrientation  orientation)
{
  int minimum = 0;

  gtk_widget_measure (window, orientation, -1, &minimum, NULL, NULL, NULL);
  return minimum;
}

/* The widget as drawn, or NULL while it has not been laid out yet. (transfer full) */
static GskRenderNode *
snapshot_widget (GtkWidget *widget)
{
  g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (widget);
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  int w = gtk_widget_get_width (widget);
  int h = gtk_widget_get_height (widget);

  if (w > 0 && h > 0)
    gdk_paintable_snapshot (paintable, snapshot, w, h);
  return gtk_snapshot_free_to_node (snapshot);
}

static void
save_png (GtkWidget  *widget,
          const char *name)
{
  const char *out = g_getenv ("SIGLENS_TEST_OUT");
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  g_autofree char *path = NULL;
  GskRenderer *renderer = gtk_native_get_renderer (gtk_widget_get_native (widget));

  g_assert_nonnull (out);
  g_mkdir_with_parents (out, 0755);
  /* A window just mapped may not have had its first layout: wait for it, within 10 s. */
  for (int i = 0; i < 1000 && (node = snapshot_widget (widget)) == NULL; i++)
    {
      while (g_main_context_iteration (NULL, FALSE))
        ;
      g_usleep (10 * 1000);
    }
  g_assert_nonnull (node);
  texture = gsk_renderer_render_texture (renderer, node,
                                         &GRAPHENE_RECT_INIT (0, 0, gtk_widget_get_width (widget),
                                                              gtk_widget_get_height (widget)));
  path = g_build_filename (out, name, NULL);
  g_assert_true (gdk_texture_save_to_png (texture, path));
  g_test_message ("rendered %s (%dx%d)", path, gtk_widget_get_width (widget),
                  gtk_widget_get_height (widget));
}

/* The translations are really loaded: otherwise every later check would pass on English. */
static void
test_catalog (void)
{
  const char *open = g_dgettext (GETTEXT_PACKAGE, "_Open");

  g_test_message ("LANGUAGE=%s, LC_MESSAGES=%s, \"_Open\" -> \"%s\"",
                  g_getenv ("LANGUAGE"), setlocale (LC_MESSAGES, NULL), open);
  if (g_str_equal (open, "_Open"))
    g_test_fail_printf ("the zh_CN catalogue is not loaded from %s: is po/zh_CN/LC_MESSAGES/"
                        GETTEXT_PACKAGE ".mo built?", g_getenv ("SIGLENS_LOCALEDIR"));
}

static void
test_window_is_chinese (void)
{
  GtkWidget *window = new_window ();
  g_autoptr(GPtrArray) texts = g_ptr_array_new_with_free_func (shown_text_free);
  g_autoptr(GString) problems = g_string_new (NULL);
  /* msgids the window must show, translated. */
  static const char *const expected[] = {
    "Drop an Image Here", "_Open", "_Labels", "No Model Found", "_Preferences",
    "_Keyboard Shortcuts", "_About Siglens", "Main Menu", NULL
  };
  guint n_han;

  collect_widget (texts, window);
  g_assert_cmpuint (texts->len, >, 10);
  n_han = check_texts (texts, problems);

  for (guint i = 0; expected[i] != NULL; i++)
    {
      const char *want = g_dgettext (GETTEXT_PACKAGE, expected[i]);
      gboolean found = FALSE;

      if (g_str_equal (want, expected[i]))
        g_string_append_printf (problems, "\n  \"%s\" has no zh_CN translation", expected[i]);
      for (guint j = 0; j < texts->len && !found; j++)
        found = g_str_equal (((ShownText *) g_ptr_array_index (texts, j))->text, want);
      if (!found)
        g_string_append_printf (problems, "\n  no widget shows \"%s\" (zh_CN for \"%s\")",
                                want, expected[i]);
    }

  g_test_message ("%u of %u texts are Chinese", n_han, texts->len);
  fail_on_problems ("the window is not fully Chinese", problems);

  save_png (window, "window-zh_CN.png");
  close_window (window);
}

static GtkWindow *
find_toplevel (GType type)
{
  GListModel *toplevels = gtk_window_get_toplevels (); /* (transfer none) */

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      GtkWindow *w = g_list_model_get_item (toplevels, i);

      /* GTK owns toplevels until they are destroyed; the reference taken here is not needed. */
      g_object_unref (w);
      if (G_TYPE_CHECK_INSTANCE_TYPE (w, type))
        return w;
    }
  return NULL;
}

/* Opens a window the way the menu does and waits for it to be mapped. */
static GtkWindow *
open_by_action (GtkWidget  *window,
                const char *action,
                GType       type)
{
  GtkWindow *opened = NULL;

  g_assert_true (gtk_widget_activate_action (window, action, NULL));
  for (int i = 0; i < 200 && (opened == NULL || !gtk_widget_get_mapped (GTK_WIDGET (opened))); i++)
    {
      g_main_context_iteration (NULL, TRUE);
      opened = find_toplevel (type);
    }
  g_assert_nonnull (opened);
  while (g_main_context_iteration (NULL, FALSE))
    ;
  return opened;
}

/* Preferences, Keyboard Shortcuts and About, opened from the window as a person would. The
 * About window's inner pages are libadwaita's (translated by its own catalogue), so only the
 * texts Siglens gives it are read there. */
static void
test_dialogs_are_chinese (void)
{
  GtkWidget *window = new_window ();
  g_autoptr(GString) problems = g_string_new (NULL);
  static const struct {
    const char *action;
    const char *expected; /* a msgid the dialog must show translated */
    gboolean    whole_tree;
  } dialogs[] = {
    { "app.preferences", "Detail Level", TRUE },
    { "win.show-help-overlay", "Open an image", TRUE },
    { "app.about", "translator-credits", FALSE },
  };
  GType types[G_N_ELEMENTS (dialogs)];

  types[0] = SIGLENS_TYPE_PREFERENCES_WINDOW;
  types[1] = GTK_TYPE_SHORTCUTS_WINDOW;
  types[2] = ADW_TYPE_ABOUT_WINDOW;

  for (guint d = 0; d < G_N_ELEMENTS (dialogs); d++)
    {
      GtkWindow *dialog = open_by_action (window, dialogs[d].action, types[d]);
      g_autoptr(GPtrArray) texts = g_ptr_array_new_with_free_func (shown_text_free);
      const char *want;
      gboolean found = FALSE;
      guint n_han;

      if (dialogs[d].whole_tree)
        collect_widget (texts, GTK_WIDGET (dialog));
      else
        collect_object (texts, G_OBJECT (dialog));
      n_han = check_texts (texts, problems);
      g_test_message ("%s: %u of %u texts are Chinese", dialogs[d].action, n_han, texts->len);

      /* shortcut titles carry a context */
      want = g_str_equal (dialogs[d].action, "win.show-help-overlay")
             ? g_dpgettext2 (GETTEXT_PACKAGE, "shortcut window", dialogs[d].expected)
             : g_dgettext (GETTEXT_PACKAGE, dialogs[d].expected);
      for (guint j = 0; j < texts->len && !found; j++)
        found = g_str_equal (((ShownText *) g_ptr_array_index (texts, j))->text, want);
      if (!found || !has_han (want))
        g_string_append_printf (problems, "\n  %s: no widget shows \"%s\" (zh_CN for \"%s\")",
                                dialogs[d].action, want, dialogs[d].expected);

      if (d == 0)
        save_png (GTK_WIDGET (dialog), "preferences-zh_CN.png");
      gtk_window_destroy (dialog);
      while (g_main_context_iteration (NULL, FALSE))
        ;
    }

  fail_on_problems ("a dialog is not fully Chinese", problems);
  close_window (window);
}

/* Labels typed the Chinese way — full-width comma 「，」 and enumeration comma 「、」 — are
 * split into labels and scored (SigLIP 2 reads Chinese), and each bar is announced in
 * Chinese. Uses the tiny test model: the scores are random, the pipeline is real. */
static void
test_chinese_labels (void)
{
  GtkWidget *window = new_window ();
  SiglensWindow *self = SIGLENS_WINDOW (window);
  SiglensScoreChart *chart = siglens_window_get_chart (self);
  const char *data = g_getenv ("SIGLENS_TEST_DATA");
  g_autofree char *model = g_build_filename (data, "tiny-siglip2-naflex", NULL);
  g_autofree char *image_path = g_build_filename (data, "images", "chelsea.png", NULL);
  g_autoptr(GFile) image = g_file_new_for_path (image_path);
  static const char *const want[] = { "猫", "狗", "一辆红色的汽车", NULL };
  gint64 deadline;

  g_assert_nonnull (data);
  siglens_classifier_load_model (siglens_window_get_classifier (self), model, SIGLENS_PRECISION_FP32);
  siglens_window_open_file (self, image);
  gtk_editable_set_text (siglens_window_get_labels_entry (self), "猫，狗、一辆红色的汽车");
  siglens_window_update_scores (self);

  /* Waits on state, not time; the bound only keeps a broken build from hanging. */
  deadline = g_get_monotonic_time () + 120 * G_USEC_PER_SEC;
  while (siglens_score_chart_get_n_bars (chart) != g_strv_length ((char **) want)
         && siglens_window_get_last_error (self) == NULL
         && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);

  g_assert_null (siglens_window_get_last_error (self));
  g_assert_cmpuint (siglens_score_chart_get_n_bars (chart), ==, 3);
  for (guint i = 0; i < 3; i++)
    {
      const char *label = siglens_score_chart_get_label (chart, i);
      float p = siglens_score_chart_get_probability (chart, i);
      g_autofree char *spoken = siglens_score_chart_dup_bar_description (chart, i);
      g_autofree char *expected_spoken = g_strdup_printf ("%s，百分之 %d", label, (int) (100.0f * p + 0.5f));

      g_test_message ("bar %u: \"%s\" %.4f, announced \"%s\"", i, label, p, spoken);
      g_assert_true (g_strv_contains (want, label));
      g_assert_cmpfloat (p, >, 0.0f);
      g_assert_cmpfloat (p, <, 1.0f);
      if (i > 0)
        g_assert_cmpfloat (p, <=, siglens_score_chart_get_probability (chart, i - 1));
      g_assert_cmpstr (spoken, ==, expected_spoken);
    }
  /* For the picture, let the results page finish crossfading in over the loading page. */
  {
    GtkWidget *stack = gtk_widget_get_ancestor (GTK_WIDGET (chart), GTK_TYPE_STACK);

    deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
    while ((!gtk_widget_get_mapped (GTK_WIDGET (chart))
            || (stack != NULL && gtk_stack_get_transition_running (GTK_STACK (stack))))
           && g_get_monotonic_time () < deadline)
      g_main_context_iteration (NULL, TRUE);
  }
  save_png (window, "window-zh_CN-labels.png");
  close_window (window);
}

/* An image format Siglens refuses is named in Chinese too (the decoder's sentence is in the
 * catalogue), inside the window's own "could not open" sentence. */
static void
test_refused_format_is_chinese (void)
{
  GtkWidget *window = new_window ();
  SiglensWindow *self = SIGLENS_WINDOW (window);
  const char *data = g_getenv ("SIGLENS_TEST_DATA");
  g_autofree char *svg_path = g_build_filename (data, "images", "formats", "drawing.svg", NULL);
  g_autoptr(GFile) svg = g_file_new_for_path (svg_path);
  const char *message;
  gint64 deadline;

  siglens_window_open_file (self, svg);
  deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  while (siglens_window_get_last_error (self) == NULL && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  message = siglens_window_get_last_error (self);
  g_assert_nonnull (message);
  g_test_message ("error: %s", message);
  g_assert_true (g_str_has_prefix (message, "无法打开图片："));
  g_assert_nonnull (strstr (message, "drawing.svg：不支持 SVG 图片"));
  close_window (window);
}

/* A new Chinese user is proposed a Chinese template and Chinese labels (the schema's defaults are
 * translated through the catalogue), and the window's fields show them. */
static void
test_chinese_defaults (void)
{
  g_autoptr(GSettings) settings = g_settings_new ("io.github.siglens.Siglens");
  g_autoptr(GVariant) template = g_settings_get_default_value (settings, "template");
  g_autoptr(GVariant) labels = g_settings_get_default_value (settings, "labels");
  GtkWidget *window;
  GtkEditable *template_entry;
  char **split;
  int n = 0;

  g_assert_cmpstr (g_variant_get_string (template, NULL), ==, "这是一张{}的照片。");
  g_assert_cmpstr (g_variant_get_string (labels, NULL), ==, "猫，狗，一辆红色的汽车，咖啡");
  split = siglip_split_labels (g_variant_get_string (labels, NULL), &n);
  g_assert_cmpint (n, ==, 4);
  g_assert_cmpstr (split[3], ==, "咖啡");
  siglip_labels_free (split);

  g_settings_reset (settings, "template");
  g_settings_reset (settings, "labels");
  window = new_window ();
  template_entry = GTK_EDITABLE (gtk_widget_get_template_child (window, SIGLENS_TYPE_WINDOW,
                                                                "template_entry"));
  g_assert_cmpstr (gtk_editable_get_text (template_entry), ==, "这是一张{}的照片。");
  g_assert_cmpstr (gtk_editable_get_text (siglens_window_get_labels_entry (SIGLENS_WINDOW (window))),
                   ==, "猫，狗，一辆红色的汽车，咖啡");
  g_assert_true (siglens_template_editable_is_valid (template_entry));
  close_window (window);
}

/* Chinese must fit wherever English fits: a translation that forces a bigger window (an
 * unwrapped label, a long button) breaks the layout on small classroom screens. And both must
 * fit the smallest screen the metainfo promises: a phone's. */
static void
test_chinese_fits (void)
{
  GtkWidget *window;
  int zh, en, zh_height, en_height;

  window = new_window ();
  zh = min_size (window, GTK_ORIENTATION_HORIZONTAL);
  zh_height = min_size (window, GTK_ORIENTATION_VERTICAL);
  close_window (window);

  /* Back to English in-process: LANGUAGE names a language with no catalogue, and setlocale()
   * again makes gettext forget what it had looked up. (Chinese first: GLib decides once,
   * on its first lookup, whether this program is translated at all.) */
  g_setenv ("LANGUAGE", "en", TRUE);
  setlocale (LC_ALL, "");
  g_assert_cmpstr (g_dgettext (GETTEXT_PACKAGE, "_Open"), ==, "_Open");
  window = new_window ();
  en = min_size (window, GTK_ORIENTATION_HORIZONTAL);
  en_height = min_size (window, GTK_ORIENTATION_VERTICAL);
  close_window (window);
  g_setenv ("LANGUAGE", "zh_CN", TRUE);
  setlocale (LC_ALL, "");

  g_test_message ("minimum window size: zh_CN %d×%d px, English %d×%d px", zh, zh_height, en, en_height);
  g_assert_cmpint (zh, >, 0);
  g_assert_cmpint (zh, <=, en);
  g_assert_cmpint (zh_height, <=, en_height);
  /* The metainfo promises a 360×480 screen is enough (display_length: shortest side ≥ 360,
   * longest ≥ 480). */
  g_assert_cmpint (MAX (zh, en), <=, 360);
  g_assert_cmpint (MAX (zh_height, en_height), <=, 480);
}

int
main (int   argc,
      char *argv[])
{
  const char *localedir = g_getenv ("SIGLENS_LOCALEDIR");

  /* The environment meson gives this test; set here too so running the binary by hand works
   * the same way. */
  if (g_getenv ("LANGUAGE") == NULL)
    g_setenv ("LANGUAGE", "zh_CN", TRUE);
  setlocale (LC_ALL, "");
  g_assert_nonnull (localedir);
  bindtextdomain (GETTEXT_PACKAGE, localedir);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  gtk_test_init (&argc, &argv, NULL);
  siglens_ensure_resources ();

  register_app ();

  g_test_add_func ("/i18n/catalog", test_catalog);
  g_test_add_func ("/i18n/chinese-defaults", test_chinese_defaults);
  g_test_add_func ("/i18n/window-is-chinese", test_window_is_chinese);
  g_test_add_func ("/i18n/dialogs-are-chinese", test_dialogs_are_chinese);
  g_test_add_func ("/i18n/chinese-labels", test_chinese_labels);
  g_test_add_func ("/i18n/refused-format-is-chinese", test_refused_format_is_chinese);
  g_test_add_func ("/i18n/chinese-fits", test_chinese_fits);

  return g_test_run ();
}
