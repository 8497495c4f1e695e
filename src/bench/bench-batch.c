/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * siglens-bench --batch N: a folder of N real-sized JPEGs (12 megapixels, written once beside
 * the synthetic model) through the pipeline siglens-cli classify runs — the prefetch thread
 * decoding and preprocessing the next photos while the vision tower encodes the current one,
 * labels encoded once — against the vision tower alone on one image's patches, measured in
 * the same process. The figure that matters is their ratio: images/s x single-image forward
 * time; 1.0 means decoding is entirely hidden. The forward is timed both before and after the
 * folder, and the figure is to the median of both.
 */
#include "bench-batch.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib.h>
#include <glib/gstdio.h>

#include "bench-stats.h"
#include "siglens-prefetch.h"

#define PHOTO_WIDTH  4000
#define PHOTO_HEIGHT 3000

/* `runs` timed forwards of one photo's patches into t[], after one untimed if `warm_up` */
static gboolean
time_forward (siglip_state *st, const siglip_patches *patches, float *emb, int runs,
              gboolean warm_up, double *t)
{
  for (int r = warm_up ? -1 : 0; r < runs; r++)
    {
      siglip_error *error = NULL;
      const double t0 = bench_now_s ();
      if (!siglip_encode_patches (st, patches, NULL, emb, &error))
        {
          fprintf (stderr, "siglens-bench: %s\n", error->message);
          siglip_error_free (error);
          return FALSE;
        }
      if (r >= 0)
        t[r] = bench_now_s () - t0;
    }
  return TRUE;
}

/* Something a camera could have taken, as far as the JPEG coder is concerned: smooth colour
 * fields, edges and fine grain, so the entropy decoder has real work. */
static GdkPixbuf *
photo_like (int seed)
{
  GdkPixbuf *pb = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, PHOTO_WIDTH, PHOTO_HEIGHT);
  guint8 *px = gdk_pixbuf_get_pixels (pb);
  const int stride = gdk_pixbuf_get_rowstride (pb);
  guint32 rng = 0x9e3779b9u * (guint32) (seed + 1);
  for (int y = 0; y < PHOTO_HEIGHT; y++)
    for (int x = 0; x < PHOTO_WIDTH; x++)
      {
        rng = rng * 1664525u + 1013904223u;
        const int grain = (int) (rng >> 28) - 8;
        const double u = (double) x / PHOTO_WIDTH, v = (double) y / PHOTO_HEIGHT;
        const int edge = ((x / 250 + y / 180 + seed) & 3) * 20;
        guint8 *p = px + (gsize) y * stride + (gsize) x * 3;
        p[0] = (guint8) CLAMP (120 + 100 * sin (6.0 * u + seed) + edge + grain, 0, 255);
        p[1] = (guint8) CLAMP (110 + 90 * cos (5.0 * v + u) - edge / 2 + grain, 0, 255);
        p[2] = (guint8) CLAMP (100 + 80 * sin (9.0 * (u + v)) + grain, 0, 255);
      }
  return pb;
}

/* dir/photo-NN.jpg for i < n, written the first time they are missing. (transfer full) */
static char **
ensure_photos (const char *dir, int n)
{
  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      fprintf (stderr, "siglens-bench: cannot create %s\n", dir);
      return NULL;
    }
  char **paths = g_new0 (char *, n + 1);
  for (int i = 0; i < n; i++)
    {
      g_autofree char *name = g_strdup_printf ("photo-%02d.jpg", i);
      paths[i] = g_build_filename (dir, name, NULL);
      if (g_file_test (paths[i], G_FILE_TEST_EXISTS))
        continue;
      g_autoptr (GdkPixbuf) pb = photo_like (i);
      g_autofree char *tmp = g_strconcat (paths[i], ".part", NULL);
      g_autoptr (GError) error = NULL;
      if (!gdk_pixbuf_save (pb, tmp, "jpeg", &error, "quality", "92", NULL)
          || g_rename (tmp, paths[i]) != 0)
        {
          fprintf (stderr, "siglens-bench: %s: %s\n", paths[i],
                   error ? error->message : "cannot rename");
          g_strfreev (paths);
          return NULL;
        }
    }
  return paths;
}

int
siglens_bench_batch (const char *model_dir, const char *photo_dir, int n, bool bf16,
                     int threads, int runs, bool json)
{
  g_auto (GStrv) paths = ensure_photos (photo_dir, n);
  if (!paths)
    return 1;
  siglip_error *error = NULL;
  siglip_load_options lopt = { .n_threads = threads,
                               .precision = bf16 ? SIGLIP_PRECISION_BF16 : SIGLIP_PRECISION_FP32 };
  siglip_model *model = siglip_model_load (model_dir, &lopt, &error);
  if (!model)
    {
      fprintf (stderr, "siglens-bench: %s: %s\n", model_dir, error->message);
      siglip_error_free (error);
      return 1;
    }
  siglip_state *st = siglip_state_new (model, &error);
  const int dim = siglip_model_embed_dim_vision (model);
  g_autofree float *emb = g_new (float, dim);
  int status = 1;
  SiglensPrefetch *one = NULL, *pipe = NULL;
  SiglensPrefetchItem *first = NULL;

  /* One photo's patches, so the forward time is that of exactly this input. */
  one = siglens_prefetch_new (model, (const char *const *) paths, 1, 0, 1, 0);
  first = siglens_prefetch_next (one);
  if (!first || first->error)
    {
      fprintf (stderr, "siglens-bench: %s\n", first ? first->error->message : "no photo");
      goto out;
    }
  const double decode_s = first->decode_seconds;
  const int patches = first->patches->num_valid;
  /* The forward before and after the folder: on a shared machine the load drifts over the
   * folder's minute, and a limit taken only on one side of it says more about the drift than
   * about the pipeline. The limit is the median of both sides' runs. */
  double t[128];
  if (runs > 64)
    runs = 64;
  if (!time_forward (st, first->patches, emb, runs, true, t))
    goto out;
  /* The labels once, as classify does; then the folder through the pipeline. */
  const char *labels[] = { "a cat", "a dog", "a beach" };
  float *label_emb = g_new (float, 3 * (gsize) siglip_model_embed_dim_text (model));
  siglip_score scores[3];
  const double t0 = bench_now_s ();
  bool ok = siglip_encode_labels (st, labels, 3, NULL, label_emb, &error);
  const double labels_s = bench_now_s () - t0;
  const double t1 = bench_now_s ();
  pipe = siglens_prefetch_new (model, (const char *const *) paths, n, 0, 2, 0);
  int done = 0;
  double decode_total = 0;
  SiglensPrefetchItem *item;
  while (ok && (item = siglens_prefetch_next (pipe)))
    {
      ok = !item->error && siglip_encode_patches (st, item->patches, NULL, emb, &error);
      if (ok)
        siglip_score_embeddings (model, emb, label_emb, 3, scores);
      decode_total += item->decode_seconds;
      siglens_prefetch_item_free (item);
      done++;
    }
  const double batch_s = bench_now_s () - t1;
  g_free (label_emb);
  if (!ok)
    {
      fprintf (stderr, "siglens-bench: the batch failed at image %d%s%s\n", done,
               error ? ": " : "", error ? error->message : "");
      siglip_error_free (error);
      goto out;
    }
  if (!time_forward (st, first->patches, emb, runs, false, t + runs))
    goto out;
  const double before_s = bench_median (t, runs), after_s = bench_median (t + runs, runs);
  const double forward_s = bench_median (t, 2 * runs);

  const double rate = n / batch_s, limit = 1.0 / forward_s, ratio = rate / limit;
  const char *prec = bf16 ? "bf16" : "fp32";
  if (json)
    printf ("{\"batch\": %d, \"precision\": \"%s\", \"photo\": [%d, %d], \"patches\": %d, "
            "\"forward_s\": %.4f, \"forward_before_s\": %.4f, \"forward_after_s\": %.4f, "
            "\"decode_preprocess_s\": %.4f, \"labels_s\": %.4f, "
            "\"batch_s\": %.4f, \"images_per_s\": %.4f, \"limit_images_per_s\": %.4f, "
            "\"ratio\": %.3f}\n", n, prec, PHOTO_WIDTH, PHOTO_HEIGHT, patches,
            forward_s, before_s, after_s, decode_s, labels_s, batch_s, rate, limit, ratio);
  else
    {
      printf ("siglens-bench --batch: %d JPEGs of %dx%d (%s), %d patches each, %s, the folder "
              "once\n", n, PHOTO_WIDTH, PHOTO_HEIGHT, photo_dir, patches, prec);
      printf ("%-34s %10.3f s   (before the folder %.3f s, after it %.3f s; %d run%s each)\n",
              "single-image forward", forward_s, before_s, after_s, runs, runs == 1 ? "" : "s");
      printf ("%-34s %10.3f s   (mean over the batch %.3f s, on the prefetch thread)\n",
              "decode + preprocess, one photo", decode_s, decode_total / n);
      printf ("%-34s %10.3f s\n", "3 labels, once", labels_s);
      printf ("%-34s %10.3f s\n", "batch, whole folder", batch_s);
      printf ("%-34s %10.3f images/s   (limit 1 / forward = %.3f; ratio %.2f, target >= 0.90)\n",
              "throughput", rate, limit, ratio);
    }
  status = 0;
out:
  siglip_state_free (st);
  g_clear_pointer (&one, siglens_prefetch_free);
  g_clear_pointer (&first, siglens_prefetch_item_free);
  g_clear_pointer (&pipe, siglens_prefetch_free);
  siglip_model_free (model);
  return status;
}
