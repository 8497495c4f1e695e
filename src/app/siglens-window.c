/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * SiglensWindow — picture on the left, labels and their scores on the right.
 *
 * The window only turns what people do into requests and requests' answers into widgets; the
 * classifier does all the work on its worker thread. Typing restarts a short pause before the
 * scores update (Enter skips it), a new image or label set supersedes the running request, and
 * a request that was superseded ends quietly.
 */
#include <glib/gi18n.h>

#include "siglip.h"
#include "siglens-adaptive-box.h"
#include "siglens-download-panel.h"
#include "siglens-label-list-editor.h"
#include "siglens-label-notes.h"
#include "siglens-model-folder-check.h"
#include "siglens-heatmap-overlay.h"
#include "siglens-model-folder-chooser.h"
#include "siglens-model-locator.h"
#include "siglens-picture-frame.h"
#include "siglens-preset-menu.h"
#include "siglens-presets.h"
#include "siglens-presentation-window.h"
#include "siglens-template.h"
#include "siglens-window.h"
#include "siglens-batch-view.h"
#include "siglens-results-export.h"

/* Long enough that a word typed at normal speed is one request, short enough to feel live. */
#define DEBOUNCE_MS 300

struct _SiglensWindow
{
  AdwApplicationWindow  parent_instance;

  /* Template widgets */
  AdwToastOverlay      *toast_overlay;
  GtkLabel             *labels_note;
  char                 *typed_note;   /* what the note says of the labels as typed */
  AdwWindowTitle       *window_title;
  GtkStack             *main_stack;
  AdwStatusPage        *no_model_page;
  GtkWidget            *download_slot;
  GtkMenuButton        *menu_button;
  GtkWidget            *panes;
  SiglensLabelListEditor *list_editor;
  GtkStack             *image_stack;
  GtkPicture           *picture;
  SiglensHeatmapOverlay *heatmap_overlay;
  GCancellable         *heatmap_cancellable; /* the map asked for the image shown, if any */
  GtkLabel             *image_caption;
  GtkLabel             *image_size;
  GtkWidget            *results_panel;
  GtkEntry             *labels_entry;
  SiglensPresetMenu    *preset_menu;
  GtkEntry             *template_entry;
  GtkLabel             *template_note;
  GtkStack             *results_stack;
  GtkProgressBar       *load_progress;
  GtkLabel             *load_path_label;
  GtkLabel             *results_hint;
  SiglensScoreChart    *chart;
  GtkWidget            *activity_box;
  GtkSpinner           *spinner;
  GtkLabel             *activity_label;

  GSettings            *settings;
  SiglensClassifier    *classifier;
  GCancellable         *cancellable;  /* cancelled when the window goes away */
  SiglensImage         *image;
  SiglensScores        *scores;       /* the image's, as shown; for Export and Copy */
  SiglensBatchView     *batch_view;   /* the "batch" page of image_stack: many images */
  GtkFileChooserNative *chooser;
  SiglensPresentationWindow *presentation; /* (nullable) (weak) while it is open */
  guint                 debounce_id;
  char                 *last_error;
};

G_DEFINE_FINAL_TYPE (SiglensWindow, siglens_window, ADW_TYPE_APPLICATION_WINDOW)

enum {
  PROP_0,
  PROP_CLASSIFIER,
  PROP_LAST_ERROR,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* ---------------------------------------------------------------------------------------------
 * Telling people things
 */

static void
show_error (SiglensWindow *self, const char *message)
{
  g_autofree char *markup = g_markup_escape_text (message, -1);
  AdwToast *toast = adw_toast_new (markup);

  adw_toast_set_timeout (toast, 8);
  adw_toast_overlay_add_toast (self->toast_overlay, toast);

  g_free (self->last_error);
  self->last_error = g_strdup (message);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LAST_ERROR]);
}

/* A pasted word list of thousands of labels would keep the CPU busy for minutes and give a chart
 * nobody can read: only the first SIGLENS_MAX_LABELS are compared. */
static int
label_limit (SiglensWindow *self, const char *text)
{
  /* A preset from the menu (ImageNet's 998) is compared whole: it was asked for. */
  return MAX (SIGLENS_MAX_LABELS,
              (int) siglens_preset_menu_get_label_allowance (self->preset_menu, text));
}

/* The note under the entry says, for as long as it is true, which entries the model reads as
 * one and that labels past the limit are left out; once the model has read them, also which
 * labels were too long for it (`scores`, NULL before). */
static void
update_labels_note (SiglensWindow *self, const SiglensScores *scores)
{
  g_autofree char *unread = NULL;
  g_autofree char *note = NULL;

  if (scores != NULL)
    unread = siglens_label_notes_describe_unread ((const char *const *) scores->labels,
                                                  scores->n_unread, scores->n, scores->max_tokens);
  if (self->typed_note != NULL && unread != NULL)
    note = g_strjoin (" ", self->typed_note, unread, NULL);
  else
    note = g_strdup (unread != NULL ? unread : self->typed_note);

  gtk_label_set_label (self->labels_note, note != NULL ? note : "");
  gtk_widget_set_visible (GTK_WIDGET (self->labels_note), note != NULL);
}

static void
show_labels_note (SiglensWindow *self, const siglip_label_list *list, int limit)
{
  g_free (self->typed_note);
  self->typed_note = list != NULL ? siglens_label_notes_describe (list, limit) : NULL;
  update_labels_note (self, NULL);
}

void
siglens_window_tell (SiglensWindow *self,
                     const char    *message)
{
  g_return_if_fail (SIGLENS_IS_WINDOW (self));
  g_return_if_fail (message != NULL);

  show_error (self, message);
}

static void
show_hint (SiglensWindow *self, const char *hint)
{
  gtk_label_set_label (self->results_hint, hint);
  gtk_stack_set_visible_child_name (self->results_stack, "hint");
}

/* ---------------------------------------------------------------------------------------------
 * Presentation mode: its own window, fed what this one shows
 */

static void
mirror_to_presentation (SiglensWindow *self)
{
  SiglensScoreChart *chart;
  guint n = siglens_score_chart_get_n_bars (self->chart);
  g_autofree const char **labels = g_new0 (const char *, n + 1);
  g_autofree float *probabilities = g_new (float, n);

  if (self->presentation == NULL)
    return;
  chart = siglens_presentation_window_get_chart (self->presentation);
  for (guint i = 0; i < n; i++)
    {
      labels[i] = siglens_score_chart_get_label (self->chart, i);
      probabilities[i] = siglens_score_chart_get_probability (self->chart, i);
    }
  siglens_score_chart_set_scores (chart, labels, probabilities, n);
  siglens_presentation_window_set_picture (self->presentation,
                                           self->image != NULL
                                           ? GDK_PAINTABLE (siglens_image_get_texture (self->image))
                                           : NULL);
  siglens_presentation_window_set_map (self->presentation,
                                       siglens_heatmap_overlay_get_active (self->heatmap_overlay)
                                       ? siglens_heatmap_overlay_get_map (self->heatmap_overlay)
                                       : NULL,
                                       siglens_heatmap_overlay_get_opacity (self->heatmap_overlay));
}

static void
on_presentation_destroy (SiglensWindow *self)
{
  self->presentation = NULL;
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.presentation", TRUE);
}

static void
presentation_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  SiglensWindow *self = SIGLENS_WINDOW (widget);

  if (self->presentation != NULL)
    {
      gtk_window_close (GTK_WINDOW (self->presentation));
      return;
    }
  self->presentation = siglens_presentation_window_new (GTK_WINDOW (self));
  g_signal_connect_object (self->presentation, "destroy", G_CALLBACK (on_presentation_destroy),
                           self, G_CONNECT_SWAPPED);
  g_object_bind_property (self->chart, "view",
                          siglens_presentation_window_get_chart (self->presentation), "view",
                          G_BINDING_SYNC_CREATE);
  mirror_to_presentation (self);
  gtk_window_present (GTK_WINDOW (self->presentation));
}

SiglensPresentationWindow *
siglens_window_get_presentation (SiglensWindow *self)
{
  g_return_val_if_fail (SIGLENS_IS_WINDOW (self), NULL);
  return self->presentation;
}

/* ---------------------------------------------------------------------------------------------
 * Scores
 */

static void
on_classified (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SiglensScores) scores = NULL;
  SiglensWindow *self;

  scores = siglens_classifier_classify_finish (SIGLENS_CLASSIFIER (source), result, &error);
  /* Superseded by a newer request, or the window is gone: nothing to show. */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  self = SIGLENS_WINDOW (user_data);
  if (error != NULL)
    {
      g_autofree char *message = NULL;

      if (g_error_matches (error, SIGLENS_CLASSIFIER_ERROR, SIGLENS_CLASSIFIER_ERROR_BAD_TEMPLATE))
        message = g_strdup (error->message);
      else
        /* Translators: %s is the model core's own explanation */
        message = g_strdup_printf (_("Could not compare the image with the labels: %s"),
                                   error->message);
      show_error (self, message);
      return;
    }

  siglens_score_chart_set_scores (self->chart, (const char *const *) scores->labels,
                                  scores->probabilities, scores->n);
  update_labels_note (self, scores);
  mirror_to_presentation (self);
  /* Still stale while the template field holds a text that is not used. */
  siglens_score_chart_set_stale (self->chart,
                                 !siglens_template_editable_is_valid (GTK_EDITABLE (self->template_entry)));
  gtk_stack_set_visible_child_name (self->results_stack, "chart");
  g_clear_pointer (&self->scores, siglens_scores_free);
  self->scores = g_steal_pointer (&scores);
}

static gboolean
in_batch_mode (SiglensWindow *self)
{
  return g_strcmp0 (gtk_stack_get_visible_child_name (self->image_stack), "batch") == 0;
}

static void leave_batch_mode (SiglensWindow *self);
static void siglens_window_open_files_list (SiglensWindow *self, GSList *files);

static void
cancel_debounce (SiglensWindow *self)
{
  g_clear_handle_id (&self->debounce_id, g_source_remove);
}

void
siglens_window_update_scores (SiglensWindow *self)
{
  g_autofree char *template = NULL;
  g_autofree const char **labels = NULL;
  siglip_label_list *list;
  siglip_error *err = NULL;
  gboolean lowercase;
  const char *text;
  int n_labels, limit;

  g_return_if_fail (SIGLENS_IS_WINDOW (self));

  cancel_debounce (self);

  text = gtk_editable_get_text (GTK_EDITABLE (self->labels_entry));
  g_settings_set_string (self->settings, "labels", text);

  /* Called again when the model is ready. */
  if (siglens_classifier_get_model_state (self->classifier) != SIGLENS_MODEL_STATE_READY)
    return;

  /* Merged without the model (it lives on the worker): by the lowercased text, as the model
   * lowercases; the classifier then encodes each distinct label once. */
  lowercase = g_settings_get_boolean (self->settings, "lowercase");
  list = siglip_label_list_new (text, NULL,
                                &(siglip_encode_options) { .no_lowercase = !lowercase }, &err);
  if (list == NULL)
    {
      /* Translators: %s is the model core's explanation, naming the entry at fault */
      g_autofree char *message = g_strdup_printf (_("These labels cannot be read: %s"),
                                                  err->message);

      siglip_error_free (err);
      show_labels_note (self, NULL, 0);
      show_error (self, message);
      return;
    }
  limit = label_limit (self, text);
  show_labels_note (self, list, limit);
  n_labels = MIN (list->n_labels, limit);
  labels = g_new0 (const char *, n_labels + 1);
  for (int i = 0; i < n_labels; i++)
    labels[i] = list->labels[i];

  if (n_labels == 0)
    {
      siglip_label_list_free (list);
      siglens_score_chart_clear (self->chart);
      show_hint (self, _("Type the labels to compare the image with, separated by commas."));
      return;
    }

  if (in_batch_mode (self))
    {
      g_autofree char *batch_template = g_settings_get_string (self->settings, "template");

      siglens_batch_view_set_labels (self->batch_view, (const char *const *) labels,
                                     &(SiglensClassifyOptions) {
                                       .template = batch_template,
                                       .max_patches = g_settings_get_int (self->settings,
                                                                          "max-patches"),
                                       .lowercase = g_settings_get_boolean (self->settings,
                                                                            "lowercase"),
                                     });
      siglip_label_list_free (list);
      show_hint (self, _("Click an image to see all its scores."));
      return;
    }

  if (self->image == NULL)
    {
      siglip_label_list_free (list);
      show_hint (self, _("Open an image to see how well each label fits it."));
      return;
    }

  template = g_settings_get_string (self->settings, "template");
  siglens_score_chart_set_stale (self->chart, TRUE);
  /* The first scores after a load take the image's and the labels' passes (seconds on a
   * laptop): "Loading Model…" would no longer be true meanwhile. */
  if (g_strcmp0 (gtk_stack_get_visible_child_name (self->results_stack), "loading") == 0)
    show_hint (self, _("Comparing the image with the labels…"));
  siglens_classifier_classify_async (self->classifier, self->image,
                                     (const char *const *) labels,
                                     &(SiglensClassifyOptions) {
                                       .template = template,
                                       .max_patches = g_settings_get_int (self->settings,
                                                                          "max-patches"),
                                       .lowercase = lowercase,
                                       .templates = g_settings_get_boolean (self->settings,
                                                                            "ensemble")
                                                    ? siglens_presets_ensemble_templates (NULL)
                                                    : NULL,
                                     },
                                     self->cancellable, on_classified, self);
  siglip_label_list_free (list);
}

static gboolean
debounce_done (gpointer user_data)
{
  SiglensWindow *self = user_data;

  self->debounce_id = 0;
  siglens_window_update_scores (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_update (SiglensWindow *self)
{
  /* What the chart shows no longer matches the fields until the new scores come. */
  siglens_score_chart_set_stale (self->chart, TRUE);
  cancel_debounce (self);
  self->debounce_id = g_timeout_add (DEBOUNCE_MS, debounce_done, self);
}

/* ---------------------------------------------------------------------------------------------
 * Where it looked
 */

static void
on_where_looked (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SiglensHeatmap) heatmap = NULL;
  SiglensWindow *self;

  heatmap = siglens_classifier_where_looked_finish (SIGLENS_CLASSIFIER (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  self = SIGLENS_WINDOW (user_data);
  if (error != NULL)
    {
      /* Translators: %s is the model core's own explanation */
      g_autofree char *message = g_strdup_printf (_("Could not find where the model looked: %s"),
                                                  error->message);
      show_error (self, message);
      return;
    }
  siglens_heatmap_overlay_set_map (self->heatmap_overlay, GDK_PAINTABLE (heatmap->texture));
  mirror_to_presentation (self);
}

/* The map of the image shown, when it is asked for and the model is there. */
static void
update_heatmap (SiglensWindow *self)
{
  if (!siglens_heatmap_overlay_get_active (self->heatmap_overlay) || self->image == NULL
      || siglens_heatmap_overlay_get_map (self->heatmap_overlay) != NULL
      || siglens_classifier_get_model_state (self->classifier) != SIGLENS_MODEL_STATE_READY)
    return;
  g_clear_object (&self->heatmap_cancellable);
  self->heatmap_cancellable = g_cancellable_new ();
  siglens_classifier_where_looked_async (self->classifier, self->image,
                                         g_settings_get_int (self->settings, "max-patches"),
                                         self->heatmap_cancellable, on_where_looked, self);
}

/* A map still being made is of an image (or a model, or a detail level) no longer shown. */
static void
forget_heatmap (SiglensWindow *self)
{
  g_cancellable_cancel (self->heatmap_cancellable);
  siglens_heatmap_overlay_set_map (self->heatmap_overlay, NULL);
  update_heatmap (self);
}

/* ---------------------------------------------------------------------------------------------
 * Images
 */

static void
show_image (SiglensWindow *self, SiglensImage *image)
{
  g_autofree char *size = NULL;

  g_set_object (&self->image, image);
  gtk_picture_set_paintable (self->picture, GDK_PAINTABLE (siglens_image_get_texture (image)));
  gtk_label_set_label (self->image_caption, siglens_image_get_name (image));
  /* A name too long for the pane is shortened in the middle; the tooltip has it whole. */
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->image_caption), siglens_image_get_name (image));
  /* Translators: under the picture, after the file name: width × height in pixels */
  size = g_strdup_printf (_("— %d × %d pixels"),
                          siglens_image_get_width (image), siglens_image_get_height (image));
  gtk_label_set_label (self->image_size, size);
  gtk_stack_set_visible_child_name (self->image_stack, "picture");
  mirror_to_presentation (self);
  forget_heatmap (self);
}

static void
on_image_read (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SiglensImage) image = NULL;
  SiglensWindow *self;

  image = siglens_classifier_read_finish (SIGLENS_CLASSIFIER (source), result, &error);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;

  self = SIGLENS_WINDOW (user_data);
  if (error != NULL)
    {
      /* Translators: %s explains what is wrong with the file and names it */
      g_autofree char *message = g_strdup_printf (_("Could not open the image: %s"),
                                                  error->message);
      show_error (self, message);
      return;
    }

  show_image (self, image);
  /* Behind the no-model page the picture is out of sight: say where it went. */
  if (g_strcmp0 (gtk_stack_get_visible_child_name (self->main_stack), "no-model") == 0)
    {
      /* Translators: %s is an image's name */
      g_autofree char *message = g_strdup_printf (_("“%s” is open and will be scored once a "
                                                    "model is loaded."),
                                                  siglens_image_get_name (image));
      show_error (self, message);
    }
  siglens_window_update_scores (self);
}

void
siglens_window_open_file (SiglensWindow *self,
                          GFile         *file)
{
  g_return_if_fail (SIGLENS_IS_WINDOW (self));
  g_return_if_fail (G_IS_FILE (file));

  leave_batch_mode (self);
  siglens_classifier_read_file_async (self->classifier, file, self->cancellable,
                                      on_image_read, self);
}

void
siglens_window_open_texture (SiglensWindow *self,
                             GdkTexture    *texture,
                             const char    *name)
{
  g_autoptr (GdkPixbuf) pixbuf = NULL;

  g_return_if_fail (SIGLENS_IS_WINDOW (self));
  g_return_if_fail (GDK_IS_TEXTURE (texture));

  /* A download of pixels already in memory; decoding proper happened in the source app. */
  pixbuf = gdk_pixbuf_get_from_texture (texture);
  leave_batch_mode (self);
  siglens_classifier_read_pixbuf_async (self->classifier, pixbuf, name, self->cancellable,
                                        on_image_read, self);
}

gboolean
siglens_window_open_text (SiglensWindow *self,
                          const char    *text)
{
  g_auto (GStrv) uris = NULL;
  g_autoptr (GFile) file = NULL;
  g_autofree char *stripped = NULL;

  g_return_val_if_fail (SIGLENS_IS_WINDOW (self), FALSE);
  g_return_val_if_fail (text != NULL, FALSE);

  /* Browsers and file managers hand over text/uri-list; people paste a plain path. */
  uris = g_uri_list_extract_uris (text);
  stripped = g_strstrip (g_strdup (text));
  if (uris != NULL && uris[0] != NULL && g_uri_is_valid (uris[0], G_URI_FLAGS_NONE, NULL))
    file = g_file_new_for_uri (uris[0]);
  else if (g_path_is_absolute (stripped))
    file = g_file_new_for_path (stripped);

  if (file == NULL)
    {
      /* Translators: %s is the text someone dropped or pasted */
      g_autofree char *message = g_strdup_printf (_("“%s” is not an image or a file."),
                                                  stripped);
      show_error (self, message);
      return FALSE;
    }

  siglens_window_open_file (self, file);
  return TRUE;
}

static gboolean
on_drop (GtkDropTarget *target,
         const GValue  *value,
         double         x,
         double         y,
         SiglensWindow *self)
{
  if (G_VALUE_HOLDS (value, GDK_TYPE_FILE_LIST))
    {
      GSList *files = gdk_file_list_get_files (g_value_get_boxed (value));
      gboolean any = files != NULL;

      if (any)
        siglens_window_open_files_list (self, files);
      g_slist_free (files);
      return any;
    }
  if (G_VALUE_HOLDS (value, GDK_TYPE_TEXTURE))
    {
      siglens_window_open_texture (self, g_value_get_object (value), _("Dropped image"));
      return TRUE;
    }
  if (G_VALUE_HOLDS (value, G_TYPE_STRING))
    return siglens_window_open_text (self, g_value_get_string (value));
  return FALSE;
}

/* ---------------------------------------------------------------------------------------------
 * Many images
 */

static void
leave_batch_mode (SiglensWindow *self)
{
  if (!in_batch_mode (self))
    return;
  siglens_batch_view_cancel (self->batch_view);
  gtk_stack_set_visible_child_name (self->image_stack, self->image != NULL ? "picture" : "empty");
}

void
siglens_window_open_files (SiglensWindow  *self,
                           GFile         **files,
                           guint           n_files)
{
  g_return_if_fail (SIGLENS_IS_WINDOW (self));

  if (n_files == 0)
    return;
  if (n_files == 1 && g_file_query_file_type (files[0], G_FILE_QUERY_INFO_NONE, NULL)
                        != G_FILE_TYPE_DIRECTORY)
    {
      siglens_window_open_file (self, files[0]);
      return;
    }
  gtk_stack_set_visible_child_name (self->image_stack, "batch");
  siglens_batch_view_open (self->batch_view, files, n_files);
  siglens_window_update_scores (self);
}

static void
siglens_window_open_files_list (SiglensWindow *self,
                                GSList        *files)
{
  g_autoptr (GPtrArray) list = g_ptr_array_new ();

  for (GSList *l = files; l != NULL; l = l->next)
    g_ptr_array_add (list, l->data);
  siglens_window_open_files (self, (GFile **) list->pdata, list->len);
}

static void
on_open_folder_response (GtkNativeDialog *dialog,
                         int              response,
                         SiglensWindow   *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) folder = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));

      siglens_window_open_files (self, &folder, 1);
    }
  g_clear_object (&self->chooser);
}

static void
open_folder_action (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  SiglensWindow *self = SIGLENS_WINDOW (widget);

  g_clear_object (&self->chooser);
  self->chooser = gtk_file_chooser_native_new (_("Open a Folder of Images"), GTK_WINDOW (self),
                                               GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                                               _("_Open"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  g_signal_connect (self->chooser, "response", G_CALLBACK (on_open_folder_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

SiglensResultsTable *
siglens_window_collect_results (SiglensWindow *self)
{
  g_autofree char *template = NULL;
  const char *precision;
  SiglensResultsTable *table;
  int max_patches;

  g_return_val_if_fail (SIGLENS_IS_WINDOW (self), NULL);

  template = g_settings_get_string (self->settings, "template");
  precision = g_settings_get_enum (self->settings, "precision") == SIGLENS_PRECISION_BF16
                ? "bf16" : "fp32";
  max_patches = g_settings_get_int (self->settings, "max-patches");
  if (max_patches <= 0)
    max_patches = siglens_classifier_get_default_max_patches (self->classifier);

  if (in_batch_mode (self))
    {
      GListModel *items = siglens_batch_view_get_items (self->batch_view);
      const SiglensClassifyOptions *options = siglens_batch_view_get_options (self->batch_view);
      const char *const *labels = siglens_batch_view_get_labels (self->batch_view);

      if (labels == NULL)
        return NULL;
      table = siglens_results_table_new (siglens_classifier_get_model_path (self->classifier),
                                         precision, max_patches, options->template,
                                         options->lowercase, labels);
      for (guint i = 0; i < g_list_model_get_n_items (items); i++)
        {
          g_autoptr (SiglensBatchItem) item = g_list_model_get_item (items, i);
          g_autofree char *summary = siglens_batch_item_dup_summary (item);

          siglens_results_table_add (table, siglens_batch_item_get_path (item),
                                     siglens_batch_item_get_scores (item), summary);
        }
      return table;
    }

  if (self->scores == NULL || self->image == NULL)
    return NULL;
  table = siglens_results_table_new (siglens_classifier_get_model_path (self->classifier),
                                     precision, max_patches, template,
                                     g_settings_get_boolean (self->settings, "lowercase"),
                                     (const char *const *) self->scores->labels);
  siglens_results_table_add (table, siglens_image_get_name (self->image), self->scores, NULL);
  return table;
}

static void
export_results_action (GtkWidget  *widget,
                       const char *action_name,
                       GVariant   *parameter)
{
  SiglensWindow *self = SIGLENS_WINDOW (widget);
  SiglensResultsTable *table = siglens_window_collect_results (self);

  if (table == NULL)
    {
      show_error (self, _("There are no results to export yet."));
      return;
    }
  siglens_results_export_with_dialog (GTK_WINDOW (self), self->toast_overlay, table);
}

static void
copy_results_action (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  SiglensWindow *self = SIGLENS_WINDOW (widget);
  SiglensScoreChart *chart = self->chart;

  if (in_batch_mode (self))
    chart = siglens_batch_view_get_shown_item (self->batch_view) != NULL
              ? siglens_batch_view_get_chart (self->batch_view) : NULL;
  if (chart == NULL || siglens_score_chart_get_n_bars (chart) == 0)
    {
      show_error (self, in_batch_mode (self)
                          ? _("Click an image first: its chart is what gets copied.")
                          : _("There are no results to copy yet."));
      return;
    }
  siglens_results_copy_chart (chart, gtk_widget_get_clipboard (widget));
  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (_("Results copied")));
}

SiglensBatchView *
siglens_window_get_batch_view (SiglensWindow *self)
{
  g_return_val_if_fail (SIGLENS_IS_WINDOW (self), NULL);
  return self->batch_view;
}

/* ---------------------------------------------------------------------------------------------
 * Clipboard
 */

static void
on_clipboard_files (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr (SiglensWindow) self = user_data;
  g_autoptr (GError) error = NULL;
  const GValue *value;

  value = gdk_clipboard_read_value_finish (GDK_CLIPBOARD (source), result, &error);
  if (value == NULL)
    {
      g_autofree char *message = g_strdup_printf (_("Could not paste: %s"), error->message);
      show_error (self, message);
      return;
    }
  on_drop (NULL, value, 0, 0, self);
}

static void
on_clipboard_texture (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  g_autoptr (SiglensWindow) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (GdkTexture) texture = NULL;

  texture = gdk_clipboard_read_texture_finish (GDK_CLIPBOARD (source), result, &error);
  if (texture == NULL)
    {
      g_autofree char *message = g_strdup_printf (_("Could not paste: %s"), error->message);
      show_error (self, message);
      return;
    }
  siglens_window_open_texture (self, texture, _("Pasted image"));
}

static void
on_clipboard_text (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr (SiglensWindow) self = user_data;
  g_autoptr (GError) error = NULL;
  g_autofree char *text = NULL;

  text = gdk_clipboard_read_text_finish (GDK_CLIPBOARD (source), result, &error);
  if (text == NULL)
    {
      g_autofree char *message = g_strdup_printf (_("Could not paste: %s"), error->message);
      show_error (self, message);
      return;
    }
  siglens_window_open_text (self, text);
}

static void
paste_action (GtkWidget  *widget,
              const char *action_name,
              GVariant   *parameter)
{
  SiglensWindow *self = SIGLENS_WINDOW (widget);
  GdkClipboard *clipboard = gtk_widget_get_clipboard (widget);
  GdkContentFormats *formats = gdk_clipboard_get_formats (clipboard);
  GtkWidget *focus = gtk_root_get_focus (GTK_ROOT (self));

  if (gdk_content_formats_contain_gtype (formats, GDK_TYPE_FILE_LIST))
    gdk_clipboard_read_value_async (clipboard, GDK_TYPE_FILE_LIST, G_PRIORITY_DEFAULT, NULL,
                                    on_clipboard_files, g_object_ref (self));
  else if (gdk_content_formats_contain_gtype (formats, GDK_TYPE_TEXTURE))
    gdk_clipboard_read_texture_async (clipboard, NULL, on_clipboard_texture, g_object_ref (self));
  /* Ctrl+V in a text field with text on the clipboard is the ordinary paste. */
  else if (focus != NULL && GTK_IS_EDITABLE (focus))
    gtk_widget_activate_action (focus, "clipboard.paste", NULL);
  else if (gdk_content_formats_contain_gtype (formats, G_TYPE_STRING))
    gdk_clipboard_read_text_async (clipboard, NULL, on_clipboard_text, g_object_ref (self));
  else
    show_error (self, _("The clipboard holds no image to paste."));
}

/* ---------------------------------------------------------------------------------------------
 * File choosers
 */

static void
on_open_response (GtkNativeDialog *dialog,
                  int              response,
                  SiglensWindow   *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GListModel) files = gtk_file_chooser_get_files (GTK_FILE_CHOOSER (dialog));
      g_autoptr (GPtrArray) list = g_ptr_array_new_with_free_func (g_object_unref);

      for (guint i = 0; i < g_list_model_get_n_items (files); i++)
        g_ptr_array_add (list, g_list_model_get_item (files, i));
      siglens_window_open_files (self, (GFile **) list->pdata, list->len);
    }
  g_clear_object (&self->chooser);
}

static void
open_action (GtkWidget  *widget,
             const char *action_name,
             GVariant   *parameter)
{
  SiglensWindow *self = SIGLENS_WINDOW (widget);
  g_autoptr (GtkFileFilter) filter = gtk_file_filter_new ();

  gtk_file_filter_set_name (filter, _("Images"));
  gtk_file_filter_add_pixbuf_formats (filter);

  g_clear_object (&self->chooser);
  self->chooser = gtk_file_chooser_native_new (_("Open Image"), GTK_WINDOW (self),
                                               GTK_FILE_CHOOSER_ACTION_OPEN,
                                               _("_Open"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (self->chooser), TRUE);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (self->chooser), filter);
  gtk_file_chooser_set_select_multiple (GTK_FILE_CHOOSER (self->chooser), TRUE);
  g_signal_connect (self->chooser, "response", G_CALLBACK (on_open_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (self->chooser));
}

static void
open_model_folder_action (GtkWidget  *widget,
                          const char *action_name,
                          GVariant   *parameter)
{
  SiglensWindow *self = SIGLENS_WINDOW (widget);

  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  self->chooser = siglens_model_folder_chooser_new (GTK_WINDOW (self), self->settings);
}

static void
fullscreen_action (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  if (gtk_window_is_fullscreen (GTK_WINDOW (widget)))
    gtk_window_unfullscreen (GTK_WINDOW (widget));
  else
    gtk_window_fullscreen (GTK_WINDOW (widget));
}

/* ---------------------------------------------------------------------------------------------
 * The model
 */

static void
show_no_model (SiglensWindow *self)
{
  g_autofree char *description = NULL;

  adw_status_page_set_icon_name (self->no_model_page, "folder-download-symbolic");
  adw_status_page_set_title (self->no_model_page, _("No Model Found"));
  /* Translators: %s is the model's name on Hugging Face */
  description = g_strdup_printf (_("Siglens needs the SigLIP 2 model <b>%s</b>. Download it "
                                   "below, or choose a folder that holds its config.json and "
                                   "weights."),
                                 SIGLENS_DEFAULT_MODEL_ID);
  adw_status_page_set_description (self->no_model_page, description);
  gtk_stack_set_visible_child_name (self->main_stack, "no-model");
}

static void
show_model_failed (SiglensWindow *self)
{
  const char *reason = siglens_classifier_get_error_message (self->classifier);
  const char *path = siglens_classifier_get_model_path (self->classifier);
  g_autoptr (GError) folder_error = NULL;
  g_autofree char *message = NULL;
  g_autofree char *escaped = NULL;
  g_autofree char *description = NULL;

  /* Translators: %s is why the model could not be loaded, naming the file at fault */
  message = g_strdup_printf (_("The model could not be loaded: %s"), reason);
  /* The title already says it failed: the page gives the reason and the way out. A folder that
   * is plainly not a model gets a sentence saying so; the core's own words follow, smaller. */
  if (path != NULL && !siglens_model_folder_check (path, &folder_error))
    {
      g_autofree char *sentence = g_markup_escape_text (folder_error->message, -1);

      escaped = g_markup_escape_text (reason, -1);
      description = g_strdup_printf ("%s\n\n<small>%s</small>\n\n%s", sentence, escaped,
                                     _("Choose a folder that holds a SigLIP 2 model."));
    }
  else
    {
      escaped = g_markup_escape_text (reason, -1);
      description = g_strdup_printf ("%s\n\n%s", escaped,
                                     _("Choose a folder that holds a SigLIP 2 model."));
    }
  adw_status_page_set_icon_name (self->no_model_page, "dialog-warning-symbolic");
  adw_status_page_set_title (self->no_model_page, _("The Model Could Not Be Loaded"));
  adw_status_page_set_description (self->no_model_page, description);
  gtk_stack_set_visible_child_name (self->main_stack, "no-model");

  g_free (self->last_error);
  self->last_error = g_steal_pointer (&message);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LAST_ERROR]);
}

/* The loaded model's summary as the subtitle; it gains or loses "preparing a faster next
 * start" while the model stays loaded. */
static void
show_model_summary (SiglensWindow *self)
{
  g_autofree char *summary = siglens_classifier_dup_model_summary (self->classifier);

  if (summary != NULL)
    adw_window_title_set_subtitle (self->window_title, summary);
}

static void
on_model_state_changed (SiglensWindow *self)
{
  switch (siglens_classifier_get_model_state (self->classifier))
    {
    case SIGLENS_MODEL_STATE_NONE:
      show_no_model (self);
      break;
    case SIGLENS_MODEL_STATE_LOADING:
      gtk_label_set_label (self->load_path_label,
                           siglens_classifier_get_model_path (self->classifier));
      gtk_progress_bar_set_fraction (self->load_progress, 0.);
      gtk_stack_set_visible_child_name (self->results_stack, "loading");
      gtk_stack_set_visible_child_name (self->main_stack, "main");
      break;
    case SIGLENS_MODEL_STATE_READY:
      show_model_summary (self);
      gtk_stack_set_visible_child_name (self->main_stack, "main");
      siglens_window_update_scores (self);
      forget_heatmap (self);
      break;
    case SIGLENS_MODEL_STATE_FAILED:
      show_model_failed (self);
      break;
    default:
      g_assert_not_reached ();
    }
}

static void
on_load_fraction_changed (SiglensWindow *self)
{
  gtk_progress_bar_set_fraction (self->load_progress,
                                 siglens_classifier_get_load_fraction (self->classifier));
}

static void
on_activity_changed (SiglensWindow *self)
{
  gboolean busy = siglens_classifier_get_busy (self->classifier);
  const char *activity = siglens_classifier_get_activity (self->classifier);

  /* Fading instead of hiding keeps the layout still while work comes and goes. */
  gtk_widget_set_opacity (self->activity_box, busy ? 1. : 0.);
  gtk_spinner_set_spinning (self->spinner, busy);
  gtk_label_set_label (self->activity_label, activity != NULL ? activity : "");
}

static void
load_model (SiglensWindow *self)
{
  g_autofree char *path = siglens_model_locator_find (self->settings);

  if (path == NULL)
    {
      show_no_model (self);
      return;
    }
  siglens_classifier_load_model (self->classifier, path,
                                 g_settings_get_enum (self->settings, "precision"));
}

/* The snapshot is where the locator would look next time too; loading it directly also wins
 * over a broken folder chosen in Preferences, which is why the download was clicked. */
static void
on_model_downloaded (SiglensWindow *self,
                     const char    *snapshot)
{
  siglens_classifier_load_model (self->classifier, snapshot,
                                 g_settings_get_enum (self->settings, "precision"));
}

static void
on_model_setting_changed (SiglensWindow *self)
{
  load_model (self);
}

/* ---------------------------------------------------------------------------------------------
 * GObject
 */

static void
on_preset_message (SiglensWindow *self, const char *message)
{
  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (message));
}

static void
on_labels_changed (SiglensWindow *self)
{
  schedule_update (self);
}

/* A valid template is saved, and the setting's change schedules the update; a refused one
 * leaves the chart showing scores for a template that is no longer in the field. */
static void
on_template_edited (SiglensWindow *self)
{
  if (!siglens_template_editable_is_valid (GTK_EDITABLE (self->template_entry)))
    siglens_score_chart_set_stale (self->chart, TRUE);
}

static gboolean
siglens_window_close_request (GtkWindow *window)
{
  SiglensWindow *self = SIGLENS_WINDOW (window);
  int width, height;

  gtk_window_get_default_size (window, &width, &height);
  g_settings_delay (self->settings);
  g_settings_set_int (self->settings, "window-width", width);
  g_settings_set_int (self->settings, "window-height", height);
  g_settings_set_boolean (self->settings, "window-maximized", gtk_window_is_maximized (window));
  g_settings_set_string (self->settings, "labels",
                         gtk_editable_get_text (GTK_EDITABLE (self->labels_entry)));
  g_settings_apply (self->settings);

  return GTK_WINDOW_CLASS (siglens_window_parent_class)->close_request (window);
}

/* The no-model page's text names folders and files people may want to copy. */
static void
make_text_selectable (GtkWidget *widget)
{
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      if (GTK_IS_BUTTON (child))
        continue;
      if (GTK_IS_LABEL (child))
        gtk_label_set_selectable (GTK_LABEL (child), TRUE);
      make_text_selectable (child);
    }
}

static void
siglens_window_constructed (GObject *object)
{
  SiglensWindow *self = SIGLENS_WINDOW (object);
  g_autofree char *labels = NULL;

  G_OBJECT_CLASS (siglens_window_parent_class)->constructed (object);

  make_text_selectable (GTK_WIDGET (self->no_model_page));
  /* The toggle button inside the menu button (whose own role is "presentation") is what
   * screen readers meet: it carries the name, once. */
  gtk_accessible_update_property (GTK_ACCESSIBLE (gtk_widget_get_first_child (GTK_WIDGET (self->menu_button))),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, _("Main Menu"),
                                  -1);

  gtk_window_set_default_size (GTK_WINDOW (self),
                               g_settings_get_int (self->settings, "window-width"),
                               g_settings_get_int (self->settings, "window-height"));
  if (g_settings_get_boolean (self->settings, "window-maximized"))
    gtk_window_maximize (GTK_WINDOW (self));

  labels = g_settings_get_string (self->settings, "labels");
  gtk_editable_set_text (GTK_EDITABLE (self->labels_entry), labels);
  cancel_debounce (self);
  g_signal_connect_swapped (self->labels_entry, "changed", G_CALLBACK (on_labels_changed), self);
  g_signal_connect_swapped (self->labels_entry, "activate",
                            G_CALLBACK (siglens_window_update_scores), self);
  g_signal_connect_swapped (self->preset_menu, "message", G_CALLBACK (on_preset_message), self);

  siglens_template_bind (self->settings, GTK_EDITABLE (self->template_entry),
                         self->template_note);
  g_signal_connect_swapped (self->template_entry, "changed", G_CALLBACK (on_template_edited), self);
  g_settings_bind (self->settings, "score-view", self->chart, "view", G_SETTINGS_BIND_DEFAULT);
  {
    g_autoptr (GAction) score_view = g_settings_create_action (self->settings, "score-view");

    g_action_map_add_action (G_ACTION_MAP (self), score_view);
  }
  g_signal_connect_swapped (self->settings, "changed::template",
                            G_CALLBACK (schedule_update), self);
  g_signal_connect_swapped (self->settings, "changed::max-patches",
                            G_CALLBACK (siglens_window_update_scores), self);
  g_signal_connect_swapped (self->settings, "changed::max-patches",
                            G_CALLBACK (forget_heatmap), self);
  g_signal_connect_swapped (self->heatmap_overlay, "notify::active",
                            G_CALLBACK (update_heatmap), self);
  g_signal_connect_swapped (self->heatmap_overlay, "notify::active",
                            G_CALLBACK (mirror_to_presentation), self);
  g_signal_connect_swapped (self->heatmap_overlay, "notify::opacity",
                            G_CALLBACK (mirror_to_presentation), self);
  g_signal_connect_swapped (self->settings, "changed::ensemble",
                            G_CALLBACK (siglens_window_update_scores), self);
  g_signal_connect_swapped (self->settings, "changed::lowercase",
                            G_CALLBACK (siglens_window_update_scores), self);
  g_signal_connect_swapped (self->settings, "changed::model-folder",
                            G_CALLBACK (on_model_setting_changed), self);
  g_signal_connect_swapped (self->settings, "changed::precision",
                            G_CALLBACK (on_model_setting_changed), self);

  g_signal_connect_swapped (self->classifier, "notify::model-state",
                            G_CALLBACK (on_model_state_changed), self);
  g_signal_connect_swapped (self->classifier, "notify::load-fraction",
                            G_CALLBACK (on_load_fraction_changed), self);
  g_signal_connect_swapped (self->classifier, "notify::writing-weight-cache",
                            G_CALLBACK (show_model_summary), self);
  g_signal_connect_swapped (self->classifier, "notify::busy",
                            G_CALLBACK (on_activity_changed), self);
  g_signal_connect_swapped (self->classifier, "notify::activity",
                            G_CALLBACK (on_activity_changed), self);

  show_hint (self, _("Open an image to see how well each label fits it."));
  load_model (self);
  gtk_entry_grab_focus_without_selecting (self->labels_entry);
}

static void
siglens_window_dispose (GObject *object)
{
  SiglensWindow *self = SIGLENS_WINDOW (object);

  cancel_debounce (self);
  g_cancellable_cancel (self->cancellable);
  g_cancellable_cancel (self->heatmap_cancellable);
  if (self->classifier != NULL)
    g_signal_handlers_disconnect_by_data (self->classifier, self);
  if (self->settings != NULL)
    g_signal_handlers_disconnect_by_data (self->settings, self);
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (GTK_NATIVE_DIALOG (self->chooser));
  g_clear_object (&self->chooser);
  if (self->presentation != NULL)
    gtk_window_destroy (GTK_WINDOW (self->presentation));

  gtk_widget_dispose_template (GTK_WIDGET (self), SIGLENS_TYPE_WINDOW);

  G_OBJECT_CLASS (siglens_window_parent_class)->dispose (object);
}

static void
siglens_window_finalize (GObject *object)
{
  SiglensWindow *self = SIGLENS_WINDOW (object);

  g_clear_object (&self->classifier);
  g_clear_object (&self->settings);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->heatmap_cancellable);
  g_clear_object (&self->image);
  g_clear_pointer (&self->scores, siglens_scores_free);
  g_clear_pointer (&self->last_error, g_free);
  g_clear_pointer (&self->typed_note, g_free);

  G_OBJECT_CLASS (siglens_window_parent_class)->finalize (object);
}

static void
siglens_window_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  SiglensWindow *self = SIGLENS_WINDOW (object);

  switch (prop_id)
    {
    case PROP_CLASSIFIER:
      g_value_set_object (value, self->classifier);
      break;
    case PROP_LAST_ERROR:
      g_value_set_string (value, self->last_error);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
siglens_window_class_init (SiglensWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->constructed = siglens_window_constructed;
  object_class->dispose = siglens_window_dispose;
  object_class->finalize = siglens_window_finalize;
  object_class->get_property = siglens_window_get_property;
  window_class->close_request = siglens_window_close_request;

  properties[PROP_CLASSIFIER] =
    g_param_spec_object ("classifier", NULL, NULL, SIGLENS_TYPE_CLASSIFIER,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_LAST_ERROR] =
    g_param_spec_string ("last-error", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (SIGLENS_TYPE_ADAPTIVE_BOX);
  g_type_ensure (SIGLENS_TYPE_LABEL_LIST_EDITOR);
  g_type_ensure (SIGLENS_TYPE_PICTURE_FRAME);
  g_type_ensure (SIGLENS_TYPE_SCORE_CHART);
  g_type_ensure (SIGLENS_TYPE_PRESET_MENU);
  g_type_ensure (SIGLENS_TYPE_HEATMAP_OVERLAY);
  siglens_ensure_resources ();
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/siglens/Siglens/siglens-window.ui");
  gtk_widget_class_bind_template_child (widget_class, SiglensWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, SiglensWindow, labels_note);
  gtk_widget_class_bind_template_child (widget_class, SiglensWindow, window_title);
  gtk_widget_class_bind_template_child (widget_class, SiglensWindow, main_stack);
  gtk_widget_class_bind_template_child (widget_class, SiglensWindow, no_model_page);
  gtk_widget_class_bind_template_child (widget_class, SiglensWindow, download_slot);
  gtk_widget_class_bind_template_child (widget_class, SiglensWindow, menu_button);
  gtk_widget_class_bind_template_child (widget_class, SiglensWindow, panes);
  gtk_widget_class_bind_template_child (widget_class, SiglensWindow, list_editor);
  gtk_widget_class_bind_template_child (widget_class, SiglensWindow, image_stack);
  gtk_widget_class_bind_template_child (widget_class, SiglensWindow, picture);
  gtk_widget_class_bind_template_child (widget_class, SiglensWindow, heatmap_overlay);
  gtk_widget_class_bind_template_child (widget_class, SiglensWindow, image_caption);
  gtk_widget_class_bind_template_child (widget_class, SiglensWindow, image_size);
  gtk_widget_class_bind_template_child (widget_class, SiglensWindow, results_panel);
  gtk_widget_class_bind_template_child (widget_class, SiglensWindow, labels_entry);
  gtk_widget_class_bind_template_child (widget_class, SiglensWindow, preset_menu);
  gtk_widget_class_bind_template_child (widget_class, SiglensWindow, template_entry);
  gtk_widget_class_bind_template_child (widget_class, SiglensWindow, template_note);
  gtk_widget_class_bind_template_child (widget_class, SiglensWindow, results_stack);
  gtk_widget_class_bind_template_child (widget_class, SiglensWindow, load_progress);
  gtk_widget_class_bind_template_child (widget_class, SiglensWindow, load_path_label);
  gtk_widget_class_bind_template_child (widget_class, SiglensWindow, results_hint);
  gtk_widget_class_bind_template_child (widget_class, SiglensWindow, chart);
  gtk_widget_class_bind_template_child (widget_class, SiglensWindow, activity_box);
  gtk_widget_class_bind_template_child (widget_class, SiglensWindow, spinner);
  gtk_widget_class_bind_template_child (widget_class, SiglensWindow, activity_label);

  gtk_widget_class_install_action (widget_class, "win.open", NULL, open_action);
  gtk_widget_class_install_action (widget_class, "win.paste", NULL, paste_action);
  gtk_widget_class_install_action (widget_class, "win.open-model-folder", NULL,
                                   open_model_folder_action);
  gtk_widget_class_install_action (widget_class, "win.fullscreen", NULL, fullscreen_action);
  gtk_widget_class_install_action (widget_class, "win.presentation", NULL, presentation_action);
  gtk_widget_class_install_action (widget_class, "win.open-folder", NULL, open_folder_action);
  gtk_widget_class_install_action (widget_class, "win.export-results", NULL,
                                   export_results_action);
  gtk_widget_class_install_action (widget_class, "win.copy-results", NULL, copy_results_action);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_e, GDK_CONTROL_MASK,
                                       "win.export-results", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_c,
                                       GDK_CONTROL_MASK | GDK_SHIFT_MASK, "win.copy-results",
                                       NULL);
  g_type_ensure (SIGLENS_TYPE_BATCH_VIEW);
}

static void
siglens_window_init (SiglensWindow *self)
{
  GtkDropTarget *drop;
  GtkWidget *download_panel;

  gtk_widget_init_template (GTK_WIDGET (self));

  download_panel = siglens_download_panel_new ();
  gtk_box_append (GTK_BOX (self->download_slot), download_panel);
  g_signal_connect_object (download_panel, "model-downloaded",
                           G_CALLBACK (on_model_downloaded), self, G_CONNECT_SWAPPED);

  self->settings = g_settings_new (APP_ID);
  self->classifier = siglens_classifier_new ();
  self->cancellable = g_cancellable_new ();
  self->batch_view = SIGLENS_BATCH_VIEW (siglens_batch_view_new (self->classifier));
  gtk_stack_add_named (self->image_stack, GTK_WIDGET (self->batch_view), "batch");

  drop = gtk_drop_target_new (G_TYPE_INVALID, GDK_ACTION_COPY);
  gtk_drop_target_set_gtypes (drop, (GType[]) { GDK_TYPE_FILE_LIST, GDK_TYPE_TEXTURE,
                                                G_TYPE_STRING }, 3);
  g_signal_connect (drop, "drop", G_CALLBACK (on_drop), self);
  gtk_widget_add_controller (GTK_WIDGET (self->image_stack), GTK_EVENT_CONTROLLER (drop));
}

SiglensWindow *
siglens_window_new (SiglensApplication *application)
{
  return g_object_new (SIGLENS_TYPE_WINDOW, "application", application, NULL);
}

SiglensClassifier *
siglens_window_get_classifier (SiglensWindow *self)
{
  g_return_val_if_fail (SIGLENS_IS_WINDOW (self), NULL);
  return self->classifier;
}

SiglensScoreChart *
siglens_window_get_chart (SiglensWindow *self)
{
  g_return_val_if_fail (SIGLENS_IS_WINDOW (self), NULL);
  return self->chart;
}

GtkEditable *
siglens_window_get_labels_entry (SiglensWindow *self)
{
  g_return_val_if_fail (SIGLENS_IS_WINDOW (self), NULL);
  return GTK_EDITABLE (self->labels_entry);
}

SiglensHeatmapOverlay *
siglens_window_get_heatmap_overlay (SiglensWindow *self)
{
  g_return_val_if_fail (SIGLENS_IS_WINDOW (self), NULL);
  return self->heatmap_overlay;
}

GtkWidget *
siglens_window_get_preset_menu (SiglensWindow *self)
{
  g_return_val_if_fail (SIGLENS_IS_WINDOW (self), NULL);
  return GTK_WIDGET (self->preset_menu);
}

const char *
siglens_window_get_labels_note (SiglensWindow *self)
{
  g_return_val_if_fail (SIGLENS_IS_WINDOW (self), NULL);
  if (!gtk_widget_get_visible (GTK_WIDGET (self->labels_note)))
    return NULL;
  return gtk_label_get_label (self->labels_note);
}

SiglensImage *
siglens_window_get_image (SiglensWindow *self)
{
  g_return_val_if_fail (SIGLENS_IS_WINDOW (self), NULL);
  return self->image;
}

const char *
siglens_window_get_last_error (SiglensWindow *self)
{
  g_return_val_if_fail (SIGLENS_IS_WINDOW (self), NULL);
  return self->last_error;
}

const char *
siglens_window_get_results_page (SiglensWindow *self)
{
  g_return_val_if_fail (SIGLENS_IS_WINDOW (self), NULL);

  return gtk_stack_get_visible_child_name (self->results_stack);
}

const char *
siglens_window_get_visible_page (SiglensWindow *self)
{
  g_return_val_if_fail (SIGLENS_IS_WINDOW (self), NULL);
  return gtk_stack_get_visible_child_name (self->main_stack);
}
