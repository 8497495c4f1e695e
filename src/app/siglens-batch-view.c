/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <glib/gi18n.h>

#include "siglens-batch-view.h"

struct _SiglensBatchView
{
  GtkWidget              parent_instance;

  /* Template widgets */
  GtkWidget             *box;
  GtkLabel              *progress_label;
  GtkProgressBar        *progress_bar;
  GtkButton             *cancel_button;
  GtkStack              *pages;
  GtkGridView           *grid_view;
  GtkButton             *back_button;
  GtkPicture            *detail_picture;
  GtkLabel              *detail_caption;
  SiglensScoreChart     *detail_chart;

  SiglensClassifier     *classifier;
  GListStore            *items;
  char                 **labels;
  char                  *template;
  SiglensClassifyOptions options;     /* .template points at `template` */
  GCancellable          *open_cancellable;
  GCancellable          *run_cancellable;
  GCancellable          *detail_cancellable;
  GArray                *run_positions; /* the run's input index -> position in `items` */
  gboolean               running;
  guint                  n_done;
  guint                  n_skipped;
  char                  *progress_text;
  SiglensBatchItem      *shown_item;
};

G_DEFINE_FINAL_TYPE (SiglensBatchView, siglens_batch_view, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_RUNNING,
  PROP_N_DONE,
  PROP_PAGE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static const char open_tag; /* GTask source tag of the folder walk */

/* ---------------------------------------------------------------------------------------------
 * Progress
 */

static void
update_progress (SiglensBatchView *self)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->items));
  guint n_failed = 0;
  g_autoptr (GString) text = g_string_new (NULL);

  for (guint i = 0; i < n; i++)
    {
      g_autoptr (SiglensBatchItem) item = g_list_model_get_item (G_LIST_MODEL (self->items), i);

      n_failed += siglens_batch_item_get_state (item) == SIGLENS_BATCH_ITEM_FAILED;
    }

  if (self->running)
    /* Translators: progress over a folder, e.g. "12 of 340" */
    g_string_printf (text, _("%u of %u"), self->n_done, n);
  else if (self->n_done < n)
    /* Translators: after Cancel, e.g. "Stopped: 12 of 340 done" */
    g_string_printf (text, _("Stopped: %u of %u done"), self->n_done, n);
  else
    g_string_printf (text, ngettext ("%u image", "%u images", n), n);
  if (n_failed > 0)
    {
      g_string_append (text, " · ");
      g_string_append_printf (text, ngettext ("%u could not be read", "%u could not be read",
                                              n_failed), n_failed);
    }
  if (self->n_skipped > 0)
    {
      g_string_append (text, " · ");
      g_string_append_printf (text, ngettext ("%u file skipped (not an image)",
                                              "%u files skipped (not images)", self->n_skipped),
                              self->n_skipped);
    }

  g_free (self->progress_text);
  self->progress_text = g_string_free (g_steal_pointer (&text), FALSE);
  gtk_label_set_label (self->progress_label, self->progress_text);
  gtk_progress_bar_set_fraction (self->progress_bar, n > 0 ? (double) self->n_done / n : 0.);
  gtk_widget_set_visible (GTK_WIDGET (self->progress_bar), self->running);
  gtk_widget_set_visible (GTK_WIDGET (self->cancel_button), self->running);
}

static void
set_running (SiglensBatchView *self, gboolean running)
{
  if (self->running == running)
    return;
  self->running = running;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RUNNING]);
}

/* ---------------------------------------------------------------------------------------------
 * Detail page
 */

static void
show_detail_scores (SiglensBatchView *self)
{
  SiglensBatchItem *item = self->shown_item;
  SiglensScores *scores = siglens_batch_item_get_scores (item);
  g_autofree char *caption = NULL;

  if (scores != NULL)
    siglens_score_chart_set_scores (self->detail_chart, (const char *const *) scores->labels,
                                    scores->probabilities, scores->n);
  else
    siglens_score_chart_clear (self->detail_chart);

  if (siglens_batch_item_get_state (item) == SIGLENS_BATCH_ITEM_DONE)
    caption = g_strdup (siglens_batch_item_get_path (item));
  else
    {
      g_autofree char *summary = siglens_batch_item_dup_summary (item);

      /* Translators: under a picture that has no scores: its path and why, e.g. "not read" */
      caption = g_strdup_printf (_("%s — %s"), siglens_batch_item_get_path (item), summary);
    }
  gtk_label_set_label (self->detail_caption, caption);
}

static void
on_shown_item_changed (SiglensBatchView *self)
{
  show_detail_scores (self);
  if (gtk_picture_get_paintable (self->detail_picture) == NULL)
    gtk_picture_set_paintable (self->detail_picture,
                               GDK_PAINTABLE (siglens_batch_item_get_thumbnail (self->shown_item)));
}

static void
on_detail_image_read (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  g_autoptr (SiglensImage) image = NULL;
  SiglensBatchView *self;

  /* A failure keeps the thumbnail up: the cell already says what is wrong with the file. */
  image = siglens_classifier_read_finish (SIGLENS_CLASSIFIER (source), result, NULL);
  if (image == NULL)
    return;
  self = SIGLENS_BATCH_VIEW (user_data);
  gtk_picture_set_paintable (self->detail_picture,
                             GDK_PAINTABLE (siglens_image_get_texture (image)));
}

static void
clear_shown_item (SiglensBatchView *self)
{
  g_cancellable_cancel (self->detail_cancellable);
  g_clear_object (&self->detail_cancellable);
  if (self->shown_item != NULL)
    g_signal_handlers_disconnect_by_data (self->shown_item, self);
  g_clear_object (&self->shown_item);
}

void
siglens_batch_view_show_item (SiglensBatchView *self,
                              guint             position)
{
  g_autoptr (SiglensBatchItem) item = NULL;

  g_return_if_fail (SIGLENS_IS_BATCH_VIEW (self));

  item = g_list_model_get_item (G_LIST_MODEL (self->items), position);
  g_return_if_fail (item != NULL);

  clear_shown_item (self);
  self->shown_item = g_object_ref (item);
  g_signal_connect_swapped (item, "notify::summary", G_CALLBACK (on_shown_item_changed), self);
  gtk_picture_set_paintable (self->detail_picture,
                             GDK_PAINTABLE (siglens_batch_item_get_thumbnail (item)));
  show_detail_scores (self);

  /* The full picture, decoded off the main thread; the thumbnail stands in meanwhile. */
  self->detail_cancellable = g_cancellable_new ();
  siglens_classifier_read_file_async (self->classifier, siglens_batch_item_get_file (item),
                                      self->detail_cancellable, on_detail_image_read, self);

  gtk_stack_set_visible_child_name (self->pages, "detail");
  gtk_widget_grab_focus (GTK_WIDGET (self->back_button));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PAGE]);
}

void
siglens_batch_view_show_grid (SiglensBatchView *self)
{
  g_return_if_fail (SIGLENS_IS_BATCH_VIEW (self));

  clear_shown_item (self);
  gtk_picture_set_paintable (self->detail_picture, NULL);
  gtk_stack_set_visible_child_name (self->pages, "grid");
  gtk_widget_grab_focus (GTK_WIDGET (self->grid_view));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PAGE]);
}

static void
on_grid_activate (GtkGridView      *grid,
                  guint             position,
                  SiglensBatchView *self)
{
  siglens_batch_view_show_item (self, position);
}

static gboolean
back_binding (GtkWidget *widget,
              GVariant  *args,
              gpointer   data)
{
  SiglensBatchView *self = SIGLENS_BATCH_VIEW (widget);

  if (self->shown_item == NULL)
    return FALSE;
  siglens_batch_view_show_grid (self);
  return TRUE;
}

/* ---------------------------------------------------------------------------------------------
 * Cells
 */

typedef struct {
  GtkPicture *picture;
  GtkLabel   *summary;
  GtkLabel   *name;
} Cell;

static void
cell_update (SiglensBatchItem *item,
             GParamSpec       *pspec,
             GtkListItem      *list_item)
{
  Cell *cell = g_object_get_data (G_OBJECT (list_item), "siglens-cell");
  g_autofree char *summary = siglens_batch_item_dup_summary (item);
  g_autofree char *tooltip = NULL;
  SiglensBatchItemState state = siglens_batch_item_get_state (item);

  gtk_picture_set_paintable (cell->picture,
                             GDK_PAINTABLE (siglens_batch_item_get_thumbnail (item)));
  gtk_label_set_label (cell->summary, summary);
  if (state == SIGLENS_BATCH_ITEM_FAILED)
    gtk_widget_add_css_class (GTK_WIDGET (cell->summary), "error");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (cell->summary), "error");
  gtk_label_set_label (cell->name, siglens_batch_item_get_name (item));
  /* Translators: a grid cell's tooltip and what screen readers hear: file path, then result */
  tooltip = g_strdup_printf (_("%s: %s"), siglens_batch_item_get_path (item), summary);
  gtk_widget_set_tooltip_text (gtk_list_item_get_child (list_item), tooltip);
  gtk_accessible_update_property (GTK_ACCESSIBLE (gtk_list_item_get_child (list_item)),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, tooltip, -1);
}

static void
cell_setup (GtkSignalListItemFactory *factory,
            GtkListItem              *list_item,
            gpointer                  data)
{
  Cell *cell = g_new0 (Cell, 1);
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 4);

  gtk_widget_set_size_request (box, SIGLENS_BATCH_THUMBNAIL_SIZE + 12, -1);
  gtk_widget_set_margin_top (box, 6);
  gtk_widget_set_margin_bottom (box, 6);
  cell->picture = GTK_PICTURE (gtk_picture_new ());
  gtk_picture_set_can_shrink (cell->picture, TRUE);
  gtk_picture_set_content_fit (cell->picture, GTK_CONTENT_FIT_CONTAIN);
  gtk_widget_set_size_request (GTK_WIDGET (cell->picture), SIGLENS_BATCH_THUMBNAIL_SIZE,
                               SIGLENS_BATCH_THUMBNAIL_SIZE * 3 / 4);
  cell->summary = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_ellipsize (cell->summary, PANGO_ELLIPSIZE_END);
  gtk_label_set_wrap (cell->summary, TRUE);
  gtk_label_set_lines (cell->summary, 3);
  gtk_label_set_max_width_chars (cell->summary, 18);
  gtk_label_set_justify (cell->summary, GTK_JUSTIFY_CENTER);
  gtk_widget_add_css_class (GTK_WIDGET (cell->summary), "heading");
  cell->name = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_ellipsize (cell->name, PANGO_ELLIPSIZE_MIDDLE);
  gtk_label_set_max_width_chars (cell->name, 18);
  gtk_widget_add_css_class (GTK_WIDGET (cell->name), "caption");
  gtk_widget_add_css_class (GTK_WIDGET (cell->name), "dim-label");
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (cell->picture));
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (cell->summary));
  gtk_box_append (GTK_BOX (box), GTK_WIDGET (cell->name));
  gtk_list_item_set_child (list_item, box);
  g_object_set_data_full (G_OBJECT (list_item), "siglens-cell", cell, g_free);
}

static void
cell_bind (GtkSignalListItemFactory *factory,
           GtkListItem              *list_item,
           gpointer                  data)
{
  SiglensBatchItem *item = gtk_list_item_get_item (list_item);

  g_signal_connect_object (item, "notify::summary", G_CALLBACK (cell_update), list_item, 0);
  g_signal_connect_object (item, "notify::thumbnail", G_CALLBACK (cell_update), list_item, 0);
  cell_update (item, NULL, list_item);
}

static void
cell_unbind (GtkSignalListItemFactory *factory,
             GtkListItem              *list_item,
             gpointer                  data)
{
  SiglensBatchItem *item = gtk_list_item_get_item (list_item);

  g_signal_handlers_disconnect_by_data (item, list_item);
}

/* ---------------------------------------------------------------------------------------------
 * Runs
 */

static void
on_result (const SiglensBatchResult *result,
           gpointer                  user_data)
{
  SiglensBatchView *self = SIGLENS_BATCH_VIEW (user_data);
  g_autoptr (SiglensBatchItem) item = NULL;

  g_assert (result->index < self->run_positions->len);
  item = g_list_model_get_item (G_LIST_MODEL (self->items),
                                g_array_index (self->run_positions, guint, result->index));
  siglens_batch_item_set_result (item, result);
  self->n_done++;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_DONE]);
  update_progress (self);
}

static void
mark_stopped (SiglensBatchView *self)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->items));

  for (guint i = 0; i < n; i++)
    {
      g_autoptr (SiglensBatchItem) item = g_list_model_get_item (G_LIST_MODEL (self->items), i);

      siglens_batch_item_set_stopped (item);
    }
}

static void
on_run_done (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr (GCancellable) cancellable = user_data; /* the run's own */
  g_autoptr (GError) error = NULL;
  SiglensBatchView *self;

  siglens_classifier_classify_batch_finish (SIGLENS_CLASSIFIER (source), result, &error);
  /* The view is gone (it unsets this when disposed), or a newer run took over and reports for
   * itself. */
  self = g_object_get_data (G_OBJECT (cancellable), "siglens-view");
  if (self == NULL || cancellable != self->run_cancellable)
    return;

  set_running (self, FALSE);
  /* Cancelled, or stopped by an error (no model, a bad template): what did not get its turn
   * says so, rather than waiting forever. */
  mark_stopped (self);
  if (error != NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    gtk_label_set_label (self->progress_label, error->message);
  else
    update_progress (self);
}

static void
start_run (SiglensBatchView *self)
{
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->items));
  g_autoptr (GArray) inputs = g_array_new (FALSE, TRUE, sizeof (SiglensBatchInput));

  if (self->run_cancellable != NULL)
    g_cancellable_cancel (self->run_cancellable);
  g_clear_object (&self->run_cancellable);
  if (n == 0 || self->labels == NULL || self->labels[0] == NULL)
    {
      set_running (self, FALSE);
      update_progress (self);
      return;
    }

  g_array_set_size (self->run_positions, 0);
  self->n_done = 0;
  for (guint i = 0; i < n; i++)
    {
      g_autoptr (SiglensBatchItem) item = g_list_model_get_item (G_LIST_MODEL (self->items), i);
      SiglensBatchInput in = { .path = siglens_batch_item_get_path (item) };

      /* Failed images stay failed and counted; reading them again would fail the same way. */
      if (siglens_batch_item_get_state (item) == SIGLENS_BATCH_ITEM_FAILED)
        {
          self->n_done++;
          continue;
        }
      in.embedding = siglens_batch_item_get_embedding (item, &in.dim, &in.model_id,
                                                       &in.max_patches);
      g_array_append_val (inputs, in);
      g_array_append_val (self->run_positions, i);
      siglens_batch_item_set_pending (item);
    }

  self->run_cancellable = g_cancellable_new ();
  /* Unset in dispose: a run that ends after the view must not find it. */
  g_object_set_data (G_OBJECT (self->run_cancellable), "siglens-view", self);
  set_running (self, TRUE);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_DONE]);
  update_progress (self);
  siglens_classifier_classify_batch_async (self->classifier,
                                           (const SiglensBatchInput *) inputs->data, inputs->len,
                                           (const char *const *) self->labels, &self->options,
                                           SIGLENS_BATCH_THUMBNAIL_SIZE, on_result, self,
                                           self->run_cancellable, on_run_done,
                                           g_object_ref (self->run_cancellable));
}

/* ---------------------------------------------------------------------------------------------
 * Opening: folders walked on a worker thread
 */

typedef struct {
  GPtrArray *files;     /* GFile, in the order shown */
  guint      n_skipped;
} Found;

static void
found_free (Found *found)
{
  g_ptr_array_unref (found->files);
  g_free (found);
}

static gboolean
is_image (GFileInfo *info)
{
  const char *type = g_file_info_get_content_type (info);

  return type != NULL && g_content_type_is_a (type, "image/*");
}

static int
compare_by_collate_key (gconstpointer a,
                        gconstpointer b)
{
  GFileInfo *x = *(GFileInfo **) a, *y = *(GFileInfo **) b;

  return g_strcmp0 (g_object_get_data (G_OBJECT (x), "key"),
                    g_object_get_data (G_OBJECT (y), "key"));
}

static void
walk (GFile *dir, Found *found, GCancellable *cancellable)
{
  g_autoptr (GFileEnumerator) children = NULL;
  g_autoptr (GPtrArray) infos = g_ptr_array_new_with_free_func (g_object_unref);
  GFileInfo *info;

  children = g_file_enumerate_children (dir,
                                        G_FILE_ATTRIBUTE_STANDARD_NAME ","
                                        G_FILE_ATTRIBUTE_STANDARD_TYPE ","
                                        G_FILE_ATTRIBUTE_STANDARD_IS_HIDDEN ","
                                        G_FILE_ATTRIBUTE_STANDARD_CONTENT_TYPE,
                                        G_FILE_QUERY_INFO_NONE, cancellable, NULL);
  if (children == NULL)
    {
      found->n_skipped++;
      return;
    }
  while ((info = g_file_enumerator_next_file (children, cancellable, NULL)) != NULL)
    {
      if (g_file_info_get_is_hidden (info))
        {
          g_object_unref (info);
          continue;
        }
      g_object_set_data_full (G_OBJECT (info), "key",
                              g_utf8_collate_key_for_filename (g_file_info_get_name (info), -1),
                              g_free);
      g_ptr_array_add (infos, info);
    }
  g_ptr_array_sort (infos, compare_by_collate_key);

  for (guint i = 0; i < infos->len && !g_cancellable_is_cancelled (cancellable); i++)
    {
      GFileInfo *child = g_ptr_array_index (infos, i);
      g_autoptr (GFile) file = g_file_get_child (dir, g_file_info_get_name (child));

      if (g_file_info_get_file_type (child) == G_FILE_TYPE_DIRECTORY)
        walk (file, found, cancellable);
      else if (is_image (child))
        g_ptr_array_add (found->files, g_steal_pointer (&file));
      else
        found->n_skipped++;
    }
}

static void
find_images (GTask        *task,
             gpointer      source,
             gpointer      task_data,
             GCancellable *cancellable)
{
  GPtrArray *given = task_data;
  Found *found = g_new0 (Found, 1);

  found->files = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < given->len; i++)
    {
      GFile *file = g_ptr_array_index (given, i);

      /* Files named one by one are tried whatever they are: a broken one says why in its cell. */
      if (g_file_query_file_type (file, G_FILE_QUERY_INFO_NONE, cancellable)
          == G_FILE_TYPE_DIRECTORY)
        walk (file, found, cancellable);
      else
        g_ptr_array_add (found->files, g_object_ref (file));
    }
  if (g_task_return_error_if_cancelled (task))
    {
      found_free (found);
      return;
    }
  g_task_return_pointer (task, found, (GDestroyNotify) found_free);
}

static void
on_images_found (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  SiglensBatchView *self = SIGLENS_BATCH_VIEW (source);
  Found *found = g_task_propagate_pointer (G_TASK (result), NULL);

  if (found == NULL)
    return; /* superseded or the view is gone */

  for (guint i = 0; i < found->files->len; i++)
    {
      g_autoptr (SiglensBatchItem) item =
        siglens_batch_item_new (g_ptr_array_index (found->files, i));

      g_list_store_append (self->items, item);
    }
  self->n_skipped = found->n_skipped;
  found_free (found);
  start_run (self);
}

void
siglens_batch_view_open (SiglensBatchView  *self,
                         GFile            **files,
                         guint              n_files)
{
  g_autoptr (GTask) task = NULL;
  GPtrArray *given;

  g_return_if_fail (SIGLENS_IS_BATCH_VIEW (self));

  siglens_batch_view_cancel (self);
  if (self->shown_item != NULL)
    siglens_batch_view_show_grid (self);
  g_list_store_remove_all (self->items);
  self->n_done = 0;
  self->n_skipped = 0;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_DONE]);

  g_cancellable_cancel (self->open_cancellable);
  g_clear_object (&self->open_cancellable);
  self->open_cancellable = g_cancellable_new ();

  given = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < n_files; i++)
    g_ptr_array_add (given, g_object_ref (files[i]));
  /* Running from the moment of the drop: the walk is part of the work. */
  set_running (self, TRUE);
  gtk_label_set_label (self->progress_label, _("Looking for images…"));
  task = g_task_new (self, self->open_cancellable, on_images_found, NULL);
  g_task_set_source_tag (task, (gpointer) &open_tag);
  g_task_set_task_data (task, given, (GDestroyNotify) g_ptr_array_unref);
  g_task_run_in_thread (task, find_images);
}

void
siglens_batch_view_set_labels (SiglensBatchView             *self,
                               const char *const            *labels,
                               const SiglensClassifyOptions *options)
{
  g_return_if_fail (SIGLENS_IS_BATCH_VIEW (self));
  g_return_if_fail (options != NULL);

  g_strfreev (self->labels);
  self->labels = g_strdupv ((char **) labels);
  g_free (self->template);
  self->template = g_strdup (options->template);
  self->options = *options;
  self->options.template = self->template;
  /* Before the folder is walked there is nothing to run yet; the walk starts it. */
  if (self->open_cancellable == NULL || g_list_model_get_n_items (G_LIST_MODEL (self->items)) > 0)
    start_run (self);
}

void
siglens_batch_view_cancel (SiglensBatchView *self)
{
  g_return_if_fail (SIGLENS_IS_BATCH_VIEW (self));

  if (self->open_cancellable != NULL && g_list_model_get_n_items (G_LIST_MODEL (self->items)) == 0)
    {
      g_cancellable_cancel (self->open_cancellable);
      set_running (self, FALSE);
    }
  if (self->run_cancellable != NULL)
    g_cancellable_cancel (self->run_cancellable);
}

static void
on_cancel_clicked (SiglensBatchView *self)
{
  siglens_batch_view_cancel (self);
}

/* ---------------------------------------------------------------------------------------------
 * Accessors
 */

GListModel *
siglens_batch_view_get_items (SiglensBatchView *self)
{
  g_return_val_if_fail (SIGLENS_IS_BATCH_VIEW (self), NULL);
  return G_LIST_MODEL (self->items);
}

guint
siglens_batch_view_get_n_done (SiglensBatchView *self)
{
  g_return_val_if_fail (SIGLENS_IS_BATCH_VIEW (self), 0);
  return self->n_done;
}

guint
siglens_batch_view_get_n_skipped (SiglensBatchView *self)
{
  g_return_val_if_fail (SIGLENS_IS_BATCH_VIEW (self), 0);
  return self->n_skipped;
}

gboolean
siglens_batch_view_get_running (SiglensBatchView *self)
{
  g_return_val_if_fail (SIGLENS_IS_BATCH_VIEW (self), FALSE);
  return self->running;
}

const char *
siglens_batch_view_get_progress_text (SiglensBatchView *self)
{
  g_return_val_if_fail (SIGLENS_IS_BATCH_VIEW (self), NULL);
  return gtk_label_get_label (self->progress_label);
}

const char *
siglens_batch_view_get_page (SiglensBatchView *self)
{
  g_return_val_if_fail (SIGLENS_IS_BATCH_VIEW (self), NULL);
  return gtk_stack_get_visible_child_name (self->pages);
}

SiglensBatchItem *
siglens_batch_view_get_shown_item (SiglensBatchView *self)
{
  g_return_val_if_fail (SIGLENS_IS_BATCH_VIEW (self), NULL);
  return self->shown_item;
}

SiglensScoreChart *
siglens_batch_view_get_chart (SiglensBatchView *self)
{
  g_return_val_if_fail (SIGLENS_IS_BATCH_VIEW (self), NULL);
  return self->detail_chart;
}

GtkGridView *
siglens_batch_view_get_grid (SiglensBatchView *self)
{
  g_return_val_if_fail (SIGLENS_IS_BATCH_VIEW (self), NULL);
  return self->grid_view;
}

const char *const *
siglens_batch_view_get_labels (SiglensBatchView *self)
{
  g_return_val_if_fail (SIGLENS_IS_BATCH_VIEW (self), NULL);
  return (const char *const *) self->labels;
}

const SiglensClassifyOptions *
siglens_batch_view_get_options (SiglensBatchView *self)
{
  g_return_val_if_fail (SIGLENS_IS_BATCH_VIEW (self), NULL);
  return &self->options;
}

/* ---------------------------------------------------------------------------------------------
 * GObject
 */

GtkWidget *
siglens_batch_view_new (SiglensClassifier *classifier)
{
  SiglensBatchView *self;

  g_return_val_if_fail (SIGLENS_IS_CLASSIFIER (classifier), NULL);

  self = g_object_new (SIGLENS_TYPE_BATCH_VIEW, NULL);
  self->classifier = g_object_ref (classifier);
  return GTK_WIDGET (self);
}

static void
siglens_batch_view_dispose (GObject *object)
{
  SiglensBatchView *self = SIGLENS_BATCH_VIEW (object);

  if (self->run_cancellable != NULL)
    {
      g_object_set_data (G_OBJECT (self->run_cancellable), "siglens-view", NULL);
      g_cancellable_cancel (self->run_cancellable);
    }
  g_cancellable_cancel (self->open_cancellable);
  clear_shown_item (self);
  gtk_widget_dispose_template (GTK_WIDGET (self), SIGLENS_TYPE_BATCH_VIEW);

  G_OBJECT_CLASS (siglens_batch_view_parent_class)->dispose (object);
}

static void
siglens_batch_view_finalize (GObject *object)
{
  SiglensBatchView *self = SIGLENS_BATCH_VIEW (object);

  g_clear_object (&self->classifier);
  g_clear_object (&self->items);
  g_clear_object (&self->open_cancellable);
  g_clear_object (&self->run_cancellable);
  g_clear_pointer (&self->labels, g_strfreev);
  g_clear_pointer (&self->template, g_free);
  g_clear_pointer (&self->run_positions, g_array_unref);
  g_clear_pointer (&self->progress_text, g_free);

  G_OBJECT_CLASS (siglens_batch_view_parent_class)->finalize (object);
}

static void
siglens_batch_view_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  SiglensBatchView *self = SIGLENS_BATCH_VIEW (object);

  switch (prop_id)
    {
    case PROP_RUNNING:
      g_value_set_boolean (value, self->running);
      break;
    case PROP_N_DONE:
      g_value_set_uint (value, self->n_done);
      break;
    case PROP_PAGE:
      g_value_set_string (value, siglens_batch_view_get_page (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
siglens_batch_view_class_init (SiglensBatchViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  const GParamFlags flags = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->dispose = siglens_batch_view_dispose;
  object_class->finalize = siglens_batch_view_finalize;
  object_class->get_property = siglens_batch_view_get_property;

  properties[PROP_RUNNING] = g_param_spec_boolean ("running", NULL, NULL, FALSE, flags);
  properties[PROP_N_DONE] = g_param_spec_uint ("n-done", NULL, NULL, 0, G_MAXUINT, 0, flags);
  properties[PROP_PAGE] = g_param_spec_string ("page", NULL, NULL, NULL, flags);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (SIGLENS_TYPE_SCORE_CHART);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/io/github/siglens/Siglens/siglens-batch-view.ui");
  gtk_widget_class_bind_template_child (widget_class, SiglensBatchView, box);
  gtk_widget_class_bind_template_child (widget_class, SiglensBatchView, progress_label);
  gtk_widget_class_bind_template_child (widget_class, SiglensBatchView, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, SiglensBatchView, cancel_button);
  gtk_widget_class_bind_template_child (widget_class, SiglensBatchView, pages);
  gtk_widget_class_bind_template_child (widget_class, SiglensBatchView, grid_view);
  gtk_widget_class_bind_template_child (widget_class, SiglensBatchView, back_button);
  gtk_widget_class_bind_template_child (widget_class, SiglensBatchView, detail_picture);
  gtk_widget_class_bind_template_child (widget_class, SiglensBatchView, detail_caption);
  gtk_widget_class_bind_template_child (widget_class, SiglensBatchView, detail_chart);
  gtk_widget_class_add_binding (widget_class, GDK_KEY_Escape, 0, back_binding, NULL);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
}

static void
siglens_batch_view_init (SiglensBatchView *self)
{
  g_autoptr (GtkListItemFactory) factory = gtk_signal_list_item_factory_new ();
  g_autoptr (GtkNoSelection) selection = NULL;

  gtk_widget_init_template (GTK_WIDGET (self));
  self->items = g_list_store_new (SIGLENS_TYPE_BATCH_ITEM);
  self->run_positions = g_array_new (FALSE, FALSE, sizeof (guint));

  g_signal_connect (factory, "setup", G_CALLBACK (cell_setup), NULL);
  g_signal_connect (factory, "bind", G_CALLBACK (cell_bind), NULL);
  g_signal_connect (factory, "unbind", G_CALLBACK (cell_unbind), NULL);
  gtk_grid_view_set_factory (self->grid_view, factory);
  selection = gtk_no_selection_new (G_LIST_MODEL (g_object_ref (self->items)));
  gtk_grid_view_set_model (self->grid_view, GTK_SELECTION_MODEL (selection));
  g_signal_connect (self->grid_view, "activate", G_CALLBACK (on_grid_activate), self);
  g_signal_connect_swapped (self->cancel_button, "clicked", G_CALLBACK (on_cancel_clicked), self);
  g_signal_connect_swapped (self->back_button, "clicked",
                            G_CALLBACK (siglens_batch_view_show_grid), self);
  update_progress (self);
}
