/* SPDX-License-Identifier: GPL-3.0-or-later */
/* siglens-cli preprocess: an image's model input as raw float32, to compare with the
 * reference's pixel_values or feed other tools. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "siglens-decode.h"
#include "siglip.h"

static void
preprocess_usage (FILE *out)
{
  fprintf (out,
           "Usage: siglens-cli preprocess --model MODEL [--max-patches N] --out FILE.f32 IMAGE\n\n"
           "Decodes IMAGE (EXIF orientation applied, alpha dropped) and preprocesses it as the\n"
           "model's image processor does. Writes the valid patches as raw little-endian float32,\n"
           "[num_valid_patches, patch_dim] (padding rows are not written), and prints one JSON\n"
           "line: image, original [W, H] after orientation, resized [W, H], spatial_shape\n"
           "[rows, cols], num_valid_patches, max_patches (the padded length; for a fixed-\n"
           "resolution model the grid size), patch_dim and patch_order.\n\n"
           "  --model MODEL     a model directory or a Hugging Face id in the local HF cache\n"
           "  --max-patches N   NAFlex patch budget (default: the preprocessor's, 256)\n"
           "  --out FILE        where to write the float32 patches\n");
}

/* Written to a temporary beside `path` and renamed over it, so that a failed write (disk
 * full, a kill) leaves either the old file or none, never a partial one. */
static bool
write_floats (const char *path, const float *values, size_t n)
{
  g_autoptr (GError) error = NULL;
  if (!g_file_set_contents_full (path, (const char *) values, (gssize) (n * sizeof (float)),
                                 G_FILE_SET_CONTENTS_CONSISTENT, 0666, &error))
    {
      fprintf (stderr, "siglens-cli preprocess: %s: cannot create: %s\n", path, error->message);
      return false;
    }
  return true;
}

static void
print_json (const char *image_path, const SiglensRgbImage *rgb, const siglip_patches *p,
            siglip_kind kind)
{
  cJSON *o = cJSON_CreateObject ();
  cJSON_AddStringToObject (o, "image", image_path);
  const int original[2] = { rgb->width, rgb->height };
  const int resized[2] = { p->resized_width, p->resized_height };
  const int shape[2] = { p->rows, p->cols };
  cJSON_AddItemToObject (o, "original", cJSON_CreateIntArray (original, 2));
  cJSON_AddItemToObject (o, "resized", cJSON_CreateIntArray (resized, 2));
  cJSON_AddItemToObject (o, "spatial_shape", cJSON_CreateIntArray (shape, 2));
  cJSON_AddNumberToObject (o, "num_valid_patches", p->num_valid);
  cJSON_AddNumberToObject (o, "max_patches", p->num_patches);
  cJSON_AddNumberToObject (o, "patch_dim", p->patch_dim);
  cJSON_AddStringToObject (o, "patch_order", kind == SIGLIP_KIND_SIGLIP2 ? "row,col,channel"
                                                                         : "channel,row,col");
  char *text = cJSON_PrintUnformatted (o);
  if (text)
    puts (text);
  free (text);
  cJSON_Delete (o);
}

int
siglens_cli_preprocess (int argc, char **argv)
{
  const char *model_path = NULL, *out_path = NULL, *image_path = NULL;
  int max_patches = 0;

  for (int i = 1; i < argc; i++)
    {
      if (!strcmp (argv[i], "--help") || !strcmp (argv[i], "-h"))
        {
          preprocess_usage (stdout);
          return 0;
        }
      else if (!strcmp (argv[i], "--model") && i + 1 < argc)
        model_path = argv[++i];
      else if (!strcmp (argv[i], "--out") && i + 1 < argc)
        out_path = argv[++i];
      else if (!strcmp (argv[i], "--max-patches") && i + 1 < argc)
        {
          char *end;
          errno = 0;
          long n = strtol (argv[++i], &end, 10);
          if (errno || *end || end == argv[i] || n < 1 || n > 16384)
            {
              fprintf (stderr, "siglens-cli preprocess: --max-patches wants a number from 1 to "
                               "16384, not '%s'\n", argv[i]);
              return 2;
            }
          max_patches = (int) n;
        }
      else if (argv[i][0] == '-' && argv[i][1])
        {
          fprintf (stderr, "siglens-cli preprocess: unknown option or missing value '%s'\n\n",
                   argv[i]);
          preprocess_usage (stderr);
          return 2;
        }
      else if (!image_path)
        image_path = argv[i];
      else
        {
          fprintf (stderr, "siglens-cli preprocess: one IMAGE only ('%s' is extra)\n", argv[i]);
          return 2;
        }
    }
  if (!model_path || !out_path || !image_path)
    {
      fprintf (stderr, "siglens-cli preprocess: --model, --out and an IMAGE are required\n\n");
      preprocess_usage (stderr);
      return 2;
    }

  /* The image first: a bad file is reported without waiting for the model to load. */
  g_autoptr (GError) gerror = NULL;
  g_autoptr (SiglensRgbImage) rgb = siglens_decode_file (image_path, 0, &gerror);
  if (!rgb)
    {
      fprintf (stderr, "siglens-cli preprocess: %s\n", gerror->message);
      return 1;
    }

  siglip_error *err = NULL;
  siglip_model *model = siglip_model_load (model_path, NULL, &err);
  if (!model)
    {
      fprintf (stderr, "siglens-cli preprocess: %s\n", err ? err->message : "cannot load the model");
      siglip_error_free (err);
      return 1;
    }

  int status = 1;
  siglip_image image = { rgb->rgb, rgb->width, rgb->height, rgb->stride };
  siglip_patches *patches = siglip_preprocess (model, &image, max_patches, &err);
  if (!patches)
    {
      fprintf (stderr, "siglens-cli preprocess: %s: %s\n", image_path,
               err ? err->message : "preprocessing failed");
      siglip_error_free (err);
    }
  else if (write_floats (out_path, patches->pixel_values,
                         (size_t) patches->num_valid * patches->patch_dim))
    {
      print_json (image_path, rgb, patches, siglip_model_get_info (model)->kind);
      status = 0;
    }
  siglip_patches_free (patches);
  siglip_model_free (model);
  return status;
}
