/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "siglens-image.h"

struct _SiglensImage
{
  GObject        parent_instance;

  GdkPixbuf     *pixbuf;   /* immutable after construction */
  char          *name;
  GdkTexture    *texture;  /* main thread only */

  GMutex         lock;     /* guards the embedding cache below (written by the worker) */
  guint          embedding_model_id;
  int            embedding_max_patches;
  float         *embedding;
  int            embedding_dim;
};

G_DEFINE_FINAL_TYPE (SiglensImage, siglens_image, G_TYPE_OBJECT)

static void
siglens_image_finalize (GObject *object)
{
  SiglensImage *self = SIGLENS_IMAGE (object);

  g_clear_object (&self->pixbuf);
  g_clear_object (&self->texture);
  g_clear_pointer (&self->name, g_free);
  g_clear_pointer (&self->embedding, g_free);
  g_mutex_clear (&self->lock);

  G_OBJECT_CLASS (siglens_image_parent_class)->finalize (object);
}

static void
siglens_image_class_init (SiglensImageClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = siglens_image_finalize;
}

static void
siglens_image_init (SiglensImage *self)
{
  g_mutex_init (&self->lock);
}

SiglensImage *
siglens_image_new (GdkPixbuf  *pixbuf,
                   const char *name)
{
  SiglensImage *self;

  g_return_val_if_fail (GDK_IS_PIXBUF (pixbuf), NULL);
  g_return_val_if_fail (gdk_pixbuf_get_n_channels (pixbuf) == 3, NULL);

  self = g_object_new (SIGLENS_TYPE_IMAGE, NULL);
  self->pixbuf = pixbuf;
  self->name = g_strdup (name);
  return self;
}

const char *
siglens_image_get_name (SiglensImage *self)
{
  g_return_val_if_fail (SIGLENS_IS_IMAGE (self), NULL);
  return self->name;
}

int
siglens_image_get_width (SiglensImage *self)
{
  g_return_val_if_fail (SIGLENS_IS_IMAGE (self), 0);
  return gdk_pixbuf_get_width (self->pixbuf);
}

int
siglens_image_get_height (SiglensImage *self)
{
  g_return_val_if_fail (SIGLENS_IS_IMAGE (self), 0);
  return gdk_pixbuf_get_height (self->pixbuf);
}

GdkPixbuf *
siglens_image_get_pixbuf (SiglensImage *self)
{
  g_return_val_if_fail (SIGLENS_IS_IMAGE (self), NULL);
  return self->pixbuf;
}

GdkTexture *
siglens_image_get_texture (SiglensImage *self)
{
  g_return_val_if_fail (SIGLENS_IS_IMAGE (self), NULL);

  if (self->texture == NULL)
    self->texture = gdk_texture_new_for_pixbuf (self->pixbuf);
  return self->texture;
}

gboolean
siglens_image_lookup_embedding (SiglensImage  *self,
                                guint          model_id,
                                int            max_patches,
                                float         *out,
                                int            dim)
{
  g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&self->lock);

  if (self->embedding == NULL || self->embedding_model_id != model_id
      || self->embedding_max_patches != max_patches || self->embedding_dim != dim)
    return FALSE;
  memcpy (out, self->embedding, sizeof (float) * (gsize) dim);
  return TRUE;
}

void
siglens_image_store_embedding (SiglensImage  *self,
                               guint          model_id,
                               int            max_patches,
                               const float   *embedding,
                               int            dim)
{
  g_autoptr (GMutexLocker) locker = g_mutex_locker_new (&self->lock);

  g_free (self->embedding);
  self->embedding = g_memdup2 (embedding, sizeof (float) * (gsize) dim);
  self->embedding_model_id = model_id;
  self->embedding_max_patches = max_patches;
  self->embedding_dim = dim;
}
