/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * siglens-prefetch.c — decode + preprocess ahead of the vision tower on a thread of its own;
 * a bounded queue between the two so a long folder never holds more than `depth` images.
 */
#include "siglens-prefetch.h"

#include "siglens-decode.h"

struct _SiglensPrefetch {
  const siglip_model *model;
  char **paths;
  int n_paths;
  int max_patches;
  int depth;
  int thumbnail_size;

  GMutex lock;
  GCond changed;   /* an item was queued or taken, or cancel was asked */
  GQueue ready;    /* SiglensPrefetchItem *, in order */
  gboolean cancelled;
  GCancellable *cancellable; /* stops the decode in progress when cancelled */
  gboolean done;   /* the thread has queued its last item */
  GThread *thread;
};

void
siglens_prefetch_item_free (SiglensPrefetchItem *item)
{
  if (!item)
    return;
  g_free (item->path);
  siglip_patches_free (item->patches);
  g_clear_error (&item->error);
  g_clear_object (&item->thumbnail);
  g_free (item);
}

/* The thumbnail from the decoded RGB, so the file is read only once. (transfer full) */
static GdkPixbuf *
make_thumbnail (const SiglensRgbImage *rgb, int size)
{
  g_autoptr (GdkPixbuf) full =
    gdk_pixbuf_new_from_data (rgb->rgb, GDK_COLORSPACE_RGB, FALSE, 8, rgb->width, rgb->height,
                              (int) rgb->stride, NULL, NULL);
  const double scale = MIN (1.0, (double) size / MAX (rgb->width, rgb->height));
  const int w = MAX (1, (int) (rgb->width * scale + 0.5));
  const int h = MAX (1, (int) (rgb->height * scale + 0.5));
  return gdk_pixbuf_scale_simple (full, w, h, GDK_INTERP_BILINEAR);
}

static SiglensPrefetchItem *
prepare (SiglensPrefetch *p, int index)
{
  SiglensPrefetchItem *item = g_new0 (SiglensPrefetchItem, 1);
  item->path = g_strdup (p->paths[index]);
  item->index = index;
  const gint64 start = g_get_monotonic_time ();
  g_autoptr (GFile) file = g_file_new_for_path (item->path);
  g_autoptr (SiglensRgbImage) rgb = siglens_decode_gfile (file, p->cancellable, 0, &item->error);
  if (rgb)
    {
      item->width = rgb->width;
      item->height = rgb->height;
      siglip_image image = { rgb->rgb, rgb->width, rgb->height, rgb->stride };
      siglip_error *err = NULL;
      item->patches = siglip_preprocess (p->model, &image, p->max_patches, &err);
      if (!item->patches)
        {
          g_set_error (&item->error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: %s", item->path,
                       err->message);
          siglip_error_free (err);
        }
      else if (p->thumbnail_size > 0)
        item->thumbnail = make_thumbnail (rgb, p->thumbnail_size);
    }
  item->decode_seconds = (double) (g_get_monotonic_time () - start) / G_USEC_PER_SEC;
  return item;
}

static gpointer
prefetch_thread (gpointer data)
{
  SiglensPrefetch *p = data;
  for (int i = 0; i < p->n_paths; i++)
    {
      g_mutex_lock (&p->lock);
      while (!p->cancelled && (int) p->ready.length >= p->depth)
        g_cond_wait (&p->changed, &p->lock);
      const gboolean stop = p->cancelled;
      g_mutex_unlock (&p->lock);
      if (stop)
        break;

      SiglensPrefetchItem *item = prepare (p, i);
      g_mutex_lock (&p->lock);
      if (p->cancelled)
        siglens_prefetch_item_free (item);
      else
        g_queue_push_tail (&p->ready, item);
      g_cond_broadcast (&p->changed);
      g_mutex_unlock (&p->lock);
    }
  g_mutex_lock (&p->lock);
  p->done = TRUE;
  g_cond_broadcast (&p->changed);
  g_mutex_unlock (&p->lock);
  return NULL;
}

SiglensPrefetch *
siglens_prefetch_new (const siglip_model *model, const char *const *paths, int n_paths,
                      int max_patches, int depth, int thumbnail_size)
{
  g_return_val_if_fail (model != NULL, NULL);
  g_return_val_if_fail (n_paths >= 0, NULL);
  SiglensPrefetch *p = g_new0 (SiglensPrefetch, 1);
  p->model = model;
  p->paths = g_new0 (char *, n_paths + 1);
  for (int i = 0; i < n_paths; i++)
    p->paths[i] = g_strdup (paths[i]);
  p->n_paths = n_paths;
  p->max_patches = max_patches;
  p->depth = depth > 0 ? depth : 2;
  p->thumbnail_size = thumbnail_size;
  g_mutex_init (&p->lock);
  g_cond_init (&p->changed);
  g_queue_init (&p->ready);
  p->cancellable = g_cancellable_new ();
  p->thread = g_thread_new ("siglens-prefetch", prefetch_thread, p);
  return p;
}

SiglensPrefetchItem *
siglens_prefetch_next (SiglensPrefetch *p)
{
  g_return_val_if_fail (p != NULL, NULL);
  g_mutex_lock (&p->lock);
  while (!p->cancelled && !p->done && g_queue_is_empty (&p->ready))
    g_cond_wait (&p->changed, &p->lock);
  SiglensPrefetchItem *item = p->cancelled ? NULL : g_queue_pop_head (&p->ready);
  g_cond_broadcast (&p->changed);
  g_mutex_unlock (&p->lock);
  return item;
}

void
siglens_prefetch_cancel (SiglensPrefetch *p)
{
  g_return_if_fail (p != NULL);
  g_mutex_lock (&p->lock);
  p->cancelled = TRUE;
  g_cond_broadcast (&p->changed);
  g_mutex_unlock (&p->lock);
  g_cancellable_cancel (p->cancellable);
}

void
siglens_prefetch_free (SiglensPrefetch *p)
{
  if (!p)
    return;
  siglens_prefetch_cancel (p);
  g_thread_join (p->thread);
  g_queue_clear_full (&p->ready, (GDestroyNotify) siglens_prefetch_item_free);
  g_mutex_clear (&p->lock);
  g_cond_clear (&p->changed);
  g_clear_object (&p->cancellable);
  g_strfreev (p->paths);
  g_free (p);
}
