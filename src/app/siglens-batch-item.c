/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <math.h>

#include <glib/gi18n.h>

#include "siglens-batch-item.h"

struct _SiglensBatchItem
{
  GObject                parent_instance;

  GFile                 *file;
  char                  *path;
  char                  *name;
  SiglensBatchItemState  state;
  GdkTexture            *thumbnail;
  char                  *error;
  SiglensScores         *scores;
  float                 *embedding;
  int                    dim;
  guint                  model_id;
  int                    max_patches;
};

G_DEFINE_FINAL_TYPE (SiglensBatchItem, siglens_batch_item, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_STATE,
  PROP_THUMBNAIL,
  PROP_SUMMARY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

SiglensBatchItem *
siglens_batch_item_new (GFile *file)
{
  SiglensBatchItem *self;

  g_return_val_if_fail (G_IS_FILE (file), NULL);

  self = g_object_new (SIGLENS_TYPE_BATCH_ITEM, NULL);
  self->file = g_object_ref (file);
  self->path = g_file_get_path (file);
  if (self->path == NULL)
    self->path = g_file_get_uri (file);
  self->name = g_file_get_basename (file);
  return self;
}

GFile *
siglens_batch_item_get_file (SiglensBatchItem *self)
{
  g_return_val_if_fail (SIGLENS_IS_BATCH_ITEM (self), NULL);
  return self->file;
}

const char *
siglens_batch_item_get_path (SiglensBatchItem *self)
{
  g_return_val_if_fail (SIGLENS_IS_BATCH_ITEM (self), NULL);
  return self->path;
}

const char *
siglens_batch_item_get_name (SiglensBatchItem *self)
{
  g_return_val_if_fail (SIGLENS_IS_BATCH_ITEM (self), NULL);
  return self->name;
}

SiglensBatchItemState
siglens_batch_item_get_state (SiglensBatchItem *self)
{
  g_return_val_if_fail (SIGLENS_IS_BATCH_ITEM (self), SIGLENS_BATCH_ITEM_PENDING);
  return self->state;
}

GdkTexture *
siglens_batch_item_get_thumbnail (SiglensBatchItem *self)
{
  g_return_val_if_fail (SIGLENS_IS_BATCH_ITEM (self), NULL);
  return self->thumbnail;
}

const char *
siglens_batch_item_get_error (SiglensBatchItem *self)
{
  g_return_val_if_fail (SIGLENS_IS_BATCH_ITEM (self), NULL);
  return self->error;
}

SiglensScores *
siglens_batch_item_get_scores (SiglensBatchItem *self)
{
  g_return_val_if_fail (SIGLENS_IS_BATCH_ITEM (self), NULL);
  return self->scores;
}

char *
siglens_batch_item_dup_summary (SiglensBatchItem *self)
{
  guint best = 0;

  g_return_val_if_fail (SIGLENS_IS_BATCH_ITEM (self), NULL);

  switch (self->state)
    {
    case SIGLENS_BATCH_ITEM_PENDING:
      return g_strdup (_("Waiting…"));
    case SIGLENS_BATCH_ITEM_STOPPED:
      return g_strdup (_("Not classified"));
    case SIGLENS_BATCH_ITEM_FAILED:
      return g_strdup (self->error);
    case SIGLENS_BATCH_ITEM_DONE:
    default:
      break;
    }
  for (guint i = 1; i < self->scores->n; i++)
    if (self->scores->logits[i] > self->scores->logits[best])
      best = i;
  /* Translators: under a thumbnail, the best label and its probability, e.g. "cat · 93%" */
  return g_strdup_printf (_("%s · %d%%"), self->scores->labels[best],
                          (int) floorf (self->scores->probabilities[best] * 100.f + 0.5f));
}

const float *
siglens_batch_item_get_embedding (SiglensBatchItem *self,
                                  int              *dim,
                                  guint            *model_id,
                                  int              *max_patches)
{
  g_return_val_if_fail (SIGLENS_IS_BATCH_ITEM (self), NULL);

  *dim = self->dim;
  *model_id = self->model_id;
  *max_patches = self->max_patches;
  return self->embedding;
}

static void
set_state (SiglensBatchItem *self, SiglensBatchItemState state)
{
  self->state = state;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SUMMARY]);
}

void
siglens_batch_item_set_result (SiglensBatchItem         *self,
                               const SiglensBatchResult *result)
{
  g_return_if_fail (SIGLENS_IS_BATCH_ITEM (self));
  g_return_if_fail (result != NULL);

  if (result->thumbnail != NULL)
    {
      g_clear_object (&self->thumbnail);
      self->thumbnail = gdk_texture_new_for_pixbuf (result->thumbnail);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_THUMBNAIL]);
    }
  if (result->embedding != NULL)
    {
      g_free (self->embedding);
      self->embedding = g_memdup2 (result->embedding, sizeof (float) * (gsize) result->dim);
      self->dim = result->dim;
      self->model_id = result->model_id;
      self->max_patches = result->max_patches;
    }
  g_clear_pointer (&self->error, g_free);
  g_clear_pointer (&self->scores, siglens_scores_free);
  if (result->error != NULL)
    {
      self->error = g_strdup (result->error);
      set_state (self, SIGLENS_BATCH_ITEM_FAILED);
      return;
    }
  self->scores = siglens_scores_copy (result->scores);
  set_state (self, SIGLENS_BATCH_ITEM_DONE);
}

void
siglens_batch_item_set_stopped (SiglensBatchItem *self)
{
  g_return_if_fail (SIGLENS_IS_BATCH_ITEM (self));
  if (self->state == SIGLENS_BATCH_ITEM_PENDING)
    set_state (self, SIGLENS_BATCH_ITEM_STOPPED);
}

void
siglens_batch_item_set_pending (SiglensBatchItem *self)
{
  g_return_if_fail (SIGLENS_IS_BATCH_ITEM (self));
  /* A failed image stays failed: reading it again would fail the same way. */
  if (self->state != SIGLENS_BATCH_ITEM_FAILED)
    set_state (self, SIGLENS_BATCH_ITEM_PENDING);
}

static void
siglens_batch_item_finalize (GObject *object)
{
  SiglensBatchItem *self = SIGLENS_BATCH_ITEM (object);

  g_clear_object (&self->file);
  g_clear_pointer (&self->path, g_free);
  g_clear_pointer (&self->name, g_free);
  g_clear_object (&self->thumbnail);
  g_clear_pointer (&self->error, g_free);
  g_clear_pointer (&self->scores, siglens_scores_free);
  g_clear_pointer (&self->embedding, g_free);

  G_OBJECT_CLASS (siglens_batch_item_parent_class)->finalize (object);
}

static void
siglens_batch_item_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  SiglensBatchItem *self = SIGLENS_BATCH_ITEM (object);

  switch (prop_id)
    {
    case PROP_STATE:
      g_value_set_int (value, self->state);
      break;
    case PROP_THUMBNAIL:
      g_value_set_object (value, self->thumbnail);
      break;
    case PROP_SUMMARY:
      g_value_take_string (value, siglens_batch_item_dup_summary (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
siglens_batch_item_class_init (SiglensBatchItemClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags flags = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->finalize = siglens_batch_item_finalize;
  object_class->get_property = siglens_batch_item_get_property;

  properties[PROP_STATE] = g_param_spec_int ("state", NULL, NULL, 0, SIGLENS_BATCH_ITEM_STOPPED,
                                             0, flags);
  properties[PROP_THUMBNAIL] = g_param_spec_object ("thumbnail", NULL, NULL, GDK_TYPE_TEXTURE,
                                                    flags);
  properties[PROP_SUMMARY] = g_param_spec_string ("summary", NULL, NULL, NULL, flags);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
siglens_batch_item_init (SiglensBatchItem *self)
{
}
