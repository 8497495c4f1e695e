/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <math.h>

#include <glib/gi18n.h>

#include "siglens-results.h"
#include "siglens-results-export.h"

struct _SiglensResultsTable
{
  char   *model;
  char   *precision;
  int     max_patches;
  char   *template;
  gboolean lowercase;
  char  **labels;
  GPtrArray *images;   /* char * */
  GPtrArray *errors;   /* char *, NULL where scored */
  GPtrArray *scores;   /* siglip_score[n_labels], NULL where failed */
};

SiglensResultsTable *
siglens_results_table_new (const char        *model,
                           const char        *precision,
                           int                max_patches,
                           const char        *template,
                           gboolean           lowercase,
                           const char *const *labels)
{
  SiglensResultsTable *table = g_new0 (SiglensResultsTable, 1);

  table->model = g_strdup (model);
  table->precision = g_strdup (precision);
  table->max_patches = max_patches;
  table->template = g_strdup (template);
  table->lowercase = lowercase;
  table->labels = g_strdupv ((char **) labels);
  table->images = g_ptr_array_new_with_free_func (g_free);
  table->errors = g_ptr_array_new_with_free_func (g_free);
  table->scores = g_ptr_array_new_with_free_func (g_free);
  return table;
}

void
siglens_results_table_free (SiglensResultsTable *table)
{
  if (table == NULL)
    return;
  g_free (table->model);
  g_free (table->precision);
  g_free (table->template);
  g_strfreev (table->labels);
  g_ptr_array_unref (table->images);
  g_ptr_array_unref (table->errors);
  g_ptr_array_unref (table->scores);
  g_free (table);
}

void
siglens_results_table_add (SiglensResultsTable *table,
                           const char          *image,
                           const SiglensScores *scores,
                           const char          *error)
{
  siglip_score *row = NULL;
  guint n = g_strv_length (table->labels);

  g_return_if_fail (scores == NULL || scores->n == n);

  if (scores != NULL)
    {
      row = g_new (siglip_score, n);
      for (guint i = 0; i < n; i++)
        row[i] = (siglip_score) { scores->logits[i], scores->probabilities[i] };
    }
  g_ptr_array_add (table->images, g_strdup (image));
  g_ptr_array_add (table->errors, scores == NULL ? g_strdup (error ? error : "") : NULL);
  g_ptr_array_add (table->scores, row);
}

guint
siglens_results_table_get_n_images (SiglensResultsTable *table)
{
  return table->images->len;
}

static char *
table_to_text (SiglensResultsTable *table, gboolean json)
{
  const SiglensResultsMeta meta = {
    .model = table->model,
    .precision = table->precision,
    .max_patches = table->max_patches,
    .template = table->template,
    .lowercase = table->lowercase,
  };
  const char *const *labels = (const char *const *) table->labels;
  int n_labels = (int) g_strv_length (table->labels);
  g_autofree SiglensImageResult *results = g_new0 (SiglensImageResult, table->images->len);
  GString *csv;

  for (guint i = 0; i < table->images->len; i++)
    results[i] = (SiglensImageResult) {
      .image = g_ptr_array_index (table->images, i),
      .error = g_ptr_array_index (table->errors, i),
      .scores = g_ptr_array_index (table->scores, i),
    };
  if (json)
    return siglens_results_json_document (&meta, labels, n_labels, results,
                                          (int) table->images->len);
  csv = g_string_new (NULL);
  siglens_results_csv_header (csv);
  for (guint i = 0; i < table->images->len; i++)
    siglens_results_csv_rows (csv, &meta, labels, n_labels, &results[i]);
  return g_string_free (csv, FALSE);
}

gboolean
siglens_results_table_save (SiglensResultsTable *table,
                            GFile               *file,
                            GError             **error)
{
  g_autofree char *name = g_file_get_basename (file);
  g_autofree char *lower = g_ascii_strdown (name != NULL ? name : "", -1);
  g_autofree char *text = table_to_text (table, g_str_has_suffix (lower, ".json"));

  /* Written beside and renamed over, so a failed save never leaves half a file. */
  return g_file_replace_contents (file, text, strlen (text), NULL, FALSE,
                                  G_FILE_CREATE_REPLACE_DESTINATION, NULL, NULL, error);
}

typedef struct {
  SiglensResultsTable *table;
  AdwToastOverlay     *overlay;
} ExportRequest;

static void
on_export_response (GtkNativeDialog *dialog,
                    int              response,
                    gpointer         user_data)
{
  ExportRequest *req = user_data;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autoptr (GError) error = NULL;
      g_autofree char *message = NULL;
      g_autofree char *name = g_file_get_basename (file);

      if (siglens_results_table_save (req->table, file, &error))
        /* Translators: after Export Results, %s is the file name */
        message = g_strdup_printf (_("Results saved to “%s”"), name);
      else
        /* Translators: %s is the system's explanation */
        message = g_strdup_printf (_("Could not save the results: %s"), error->message);
      adw_toast_overlay_add_toast (req->overlay, adw_toast_new (message));
    }
  siglens_results_table_free (req->table);
  g_object_unref (req->overlay);
  g_free (req);
  g_object_unref (dialog);
}

void
siglens_results_export_with_dialog (GtkWindow           *parent,
                                    AdwToastOverlay     *overlay,
                                    SiglensResultsTable *table)
{
  GtkFileChooserNative *dialog;
  g_autoptr (GtkFileFilter) csv = gtk_file_filter_new ();
  g_autoptr (GtkFileFilter) json = gtk_file_filter_new ();
  ExportRequest *req = g_new0 (ExportRequest, 1);

  req->table = table;
  req->overlay = g_object_ref (overlay);

  /* GTK 4.8 has no GtkFileDialog; the native chooser goes through the portal when sandboxed. */
  dialog = gtk_file_chooser_native_new (_("Export Results"), parent,
                                        GTK_FILE_CHOOSER_ACTION_SAVE, _("_Save"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (dialog), TRUE);
  gtk_file_filter_set_name (csv, _("CSV (spreadsheets)"));
  gtk_file_filter_add_suffix (csv, "csv");
  gtk_file_filter_set_name (json, _("JSON"));
  gtk_file_filter_add_suffix (json, "json");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (dialog), csv);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (dialog), json);
  /* Translators: the suggested file name of exported results; keep the .csv */
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (dialog), _("results.csv"));
  g_signal_connect (dialog, "response", G_CALLBACK (on_export_response), req);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

char *
siglens_results_chart_text (SiglensScoreChart *chart)
{
  GString *text = g_string_new (NULL);
  guint n = siglens_score_chart_get_n_bars (chart);

  for (guint i = 0; i < n; i++)
    /* Translators: one line of copied results, a label and its percentage, e.g. "cat: 93%" */
    g_string_append_printf (text, _("%s: %d%%\n"), siglens_score_chart_get_label (chart, i),
                            (int) floorf (siglens_score_chart_get_probability (chart, i) * 100.f
                                          + 0.5f));
  return g_string_free (text, FALSE);
}

/* The chart as it looks on screen, on the window's background so it reads on a slide.
 * NULL when it is not on screen (no renderer). (transfer full) */
static GdkTexture *
render_chart (SiglensScoreChart *chart)
{
  GtkWidget *widget = GTK_WIDGET (chart);
  GtkNative *native = gtk_widget_get_native (widget);
  int width = gtk_widget_get_width (widget), height = gtk_widget_get_height (widget);
  g_autoptr (GdkPaintable) paintable = NULL;
  g_autoptr (GtkSnapshot) snapshot = NULL;
  g_autoptr (GskRenderNode) node = NULL;
  GdkRGBA background = { 1, 1, 1, 1 };
  GskRenderer *renderer;

  if (native == NULL || width <= 0 || height <= 0
      || (renderer = gtk_native_get_renderer (native)) == NULL)
    return NULL;
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  gtk_style_context_lookup_color (gtk_widget_get_style_context (widget), "window_bg_color",
                                  &background);
  G_GNUC_END_IGNORE_DEPRECATIONS
  paintable = gtk_widget_paintable_new (widget);
  snapshot = gtk_snapshot_new ();
  gtk_snapshot_append_color (snapshot, &background, &GRAPHENE_RECT_INIT (0, 0, width, height));
  gdk_paintable_snapshot (paintable, GDK_SNAPSHOT (snapshot), width, height);
  node = gtk_snapshot_free_to_node (g_steal_pointer (&snapshot));
  if (node == NULL)
    return NULL;
  return gsk_renderer_render_texture (renderer, node, &GRAPHENE_RECT_INIT (0, 0, width, height));
}

void
siglens_results_copy_chart (SiglensScoreChart *chart,
                            GdkClipboard      *clipboard)
{
  g_autofree char *text = siglens_results_chart_text (chart);
  g_autoptr (GdkTexture) picture = render_chart (chart);
  g_autoptr (GdkContentProvider) provider = NULL;
  GdkContentProvider *parts[2];
  guint n = 0;

  /* A texture provider offers image/png (and the other image types GDK serializes to). */
  if (picture != NULL)
    parts[n++] = gdk_content_provider_new_typed (GDK_TYPE_TEXTURE, picture);
  parts[n++] = gdk_content_provider_new_typed (G_TYPE_STRING, text);
  provider = gdk_content_provider_new_union (parts, n);
  gdk_clipboard_set_content (clipboard, provider);
}
