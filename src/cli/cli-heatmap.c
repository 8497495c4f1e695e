/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * siglens-cli heatmap: "where it looked" — for each image, the attention of the vision pooling
 * head's probe over the patches (mean over heads, siglip_encode_image_attention), as raw float32
 * ([rows, cols], row-major) and as an overlay on the image.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "cli.h"
#include "siglens-decode.h"
#include "siglens-overlay.h"
#include "siglip.h"

static char *
stem_of (const char *path)
{
  g_autofree char *base = g_path_get_basename (path);
  char *dot = strrchr (base, '.');

  if (dot != NULL && dot != base)
    *dot = '\0';
  return g_steal_pointer (&base);
}

static void
free_rgb (guchar *pixels, gpointer data)
{
  siglens_rgb_image_free (data);
}

/* One image: the map's pass, then DIR/STEM.f32 and DIR/STEM.png. */
static bool
heatmap_one (siglip_state *state, int vision_dim, const siglip_encode_options *options,
             const char *path, const char *out_dir, double opacity)
{
  g_autoptr (GError) error = NULL;
  SiglensRgbImage *rgb = siglens_decode_file (path, 0, &error);
  g_autoptr (GdkPixbuf) image = NULL;
  g_autoptr (GdkPixbuf) overlay = NULL;
  g_autofree char *stem = stem_of (path);
  g_autofree char *f32_name = g_strconcat (stem, ".f32", NULL);
  g_autofree char *png_name = g_strconcat (stem, ".png", NULL);
  g_autofree char *f32 = g_build_filename (out_dir, f32_name, NULL);
  g_autofree char *png = g_build_filename (out_dir, png_name, NULL);
  siglip_attention_map *map = NULL;
  siglip_error *err = NULL;
  bool ok;

  if (!rgb)
    {
      fprintf (stderr, "siglens-cli heatmap: %s\n", error->message);
      return false;
    }
  siglip_image input = { rgb->rgb, rgb->width, rgb->height, rgb->stride };
  g_autofree float *embedding = g_new (float, vision_dim);
  if (!siglip_encode_image_attention (state, &input, options, embedding, &map, &err))
    {
      fprintf (stderr, "siglens-cli heatmap: %s: %s\n", path, err->message);
      siglip_error_free (err);
      siglens_rgb_image_free (rgb);
      return false;
    }

  ok = g_file_set_contents (f32, (const char *) map->weights,
                            (gssize) ((gsize) map->rows * map->cols * sizeof (float)), &error);
  if (ok)
    {
      /* The decoded, upright image (EXIF applied): the size it is displayed at. */
      image = gdk_pixbuf_new_from_data (rgb->rgb, GDK_COLORSPACE_RGB, FALSE, 8, rgb->width,
                                        rgb->height, (int) rgb->stride, free_rgb, rgb);
      rgb = NULL;
      overlay = siglens_overlay_blend (image, map->weights, map->rows, map->cols, opacity);
      ok = overlay != NULL && gdk_pixbuf_save (overlay, png, "png", &error, NULL);
    }
  if (!ok)
    fprintf (stderr, "siglens-cli heatmap: %s: %s\n", path,
             error ? error->message : "out of memory for the overlay");
  else
    printf ("%s\t%dx%d\t%s\t%s\n", path, map->rows, map->cols, f32, png);
  siglens_rgb_image_free (rgb);
  siglip_attention_map_free (map);
  return ok;
}

int
siglens_cli_heatmap (int argc, char **argv)
{
  g_autofree char *model_path = NULL;
  g_autofree char *out_dir = NULL;
  int max_patches = 0, threads = 0;
  double opacity = 0.6;
  const GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_STRING, &model_path,
      "Model directory or Hugging Face id in the local HF cache", "MODEL" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out_dir,
      "Folder for STEM.f32 (the map, [rows, cols] float32) and STEM.png (the overlay)", "DIR" },
    { "max-patches", 0, 0, G_OPTION_ARG_INT, &max_patches,
      "NAFlex patch budget per image (default: the model's preprocessor, 256)", "N" },
    { "opacity", 0, 0, G_OPTION_ARG_DOUBLE, &opacity,
      "How strongly the map covers the image in the PNG, 0 to 1 (default 0.6)", "A" },
    { "threads", 0, 0, G_OPTION_ARG_INT, &threads, "Threads (default: all cores)", "N" },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("IMAGE...");
  g_autoptr (GError) error = NULL;
  siglip_error *err = NULL;
  siglip_model *model = NULL;
  siglip_state *state = NULL;
  int failed = 0;

  g_set_prgname ("siglens-cli heatmap");
  g_option_context_set_summary (ctx, "Where the model looked: which patches the image "
                                "embedding is pooled from (the attention of the vision "
                                "pooling head's probe, mean over heads). The same map whatever "
                                "the labels: it is not a per-label map.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  if (!g_option_context_parse (ctx, &argc, &argv, &error))
    {
      fprintf (stderr, "siglens-cli heatmap: %s\n", error->message);
      return 2;
    }
  if (!model_path || !out_dir)
    {
      fprintf (stderr, "siglens-cli heatmap: %s is required\n",
               !model_path ? "--model MODEL" : "--out DIR");
      return 2;
    }
  if (argc < 2)
    {
      fprintf (stderr, "siglens-cli heatmap: no images given\n");
      return 2;
    }
  if (max_patches < 0 || threads < 0 || !(opacity >= 0. && opacity <= 1.))
    {
      fprintf (stderr, "siglens-cli heatmap: --max-patches and --threads must not be negative, "
               "--opacity must be between 0 and 1\n");
      return 2;
    }
  if (g_mkdir_with_parents (out_dir, 0755) != 0)
    {
      fprintf (stderr, "siglens-cli heatmap: cannot create '%s': %s\n", out_dir,
               g_strerror (errno));
      return 1;
    }

  siglip_load_options load = { .n_threads = threads };
  if (!(model = siglip_model_load (model_path, &load, &err)))
    {
      fprintf (stderr, "siglens-cli heatmap: cannot load model '%s': %s\n", model_path,
               err->message);
      siglip_error_free (err);
      return 1;
    }
  if (!(state = siglip_state_new (model, &err)))
    {
      fprintf (stderr, "siglens-cli heatmap: %s\n", err->message);
      siglip_error_free (err);
      siglip_model_free (model);
      return 1;
    }

  const siglip_encode_options options = { .max_patches = max_patches };
  for (int a = 1; a < argc; a++)
    if (!heatmap_one (state, siglip_model_embed_dim_vision (model), &options, argv[a], out_dir,
                      opacity))
      failed++;
  if (failed)
    fprintf (stderr, "siglens-cli heatmap: %d of %d images failed\n", failed, argc - 1);

  siglip_state_free (state);
  siglip_model_free (model);
  return failed ? 1 : 0;
}
