/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * NAFlex and fixed-resolution preprocessing of images of any width, height and row stride:
 * the first 8 bytes give width, height (up to 511 each), extra stride bytes and the patch
 * budget; the rest are pixels, repeated to fill the image. Output must be finite.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "siglip.h"

static siglip_model *models[2];

static void
free_models (void)
{
  for (int i = 0; i < 2; i++)
    siglip_model_free (models[i]);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (!models[0])
    {
      static const char *const dirs[2] = { "tiny-siglip2-naflex", "tiny-siglip-fixres" };
      for (int i = 0; i < 2; i++)
        {
          char dir[4096];
          strncpy (dir, fuzz_data_path (dirs[i]), sizeof dir - 1);
          dir[sizeof dir - 1] = '\0';
          siglip_load_options options = { .n_threads = 1 };
          if (!(models[i] = siglip_model_load (dir, &options, NULL)))
            abort ();
        }
      atexit (free_models);
    }
  if (size < 8)
    return 0;
  int width = (data[0] | data[1] << 8) & 0x1ff;
  int height = (data[2] | data[3] << 8) & 0x1ff;
  size_t pad = data[4] & 0x1f;
  int max_patches = (data[5] | data[6] << 8) & 0x3ff;
  bool negative = data[7] & 1; /* a negative size must be refused, not used */
  data += 8, size -= 8;
  size_t stride = (size_t) width * 3 + pad;
  size_t bytes = stride * (size_t) height;
  uint8_t *rgb = malloc (bytes ? bytes : 1);
  for (size_t i = 0; i < bytes; i++)
    rgb[i] = size ? data[i % size] : (uint8_t) i;
  siglip_image image = { rgb, negative ? -width : width, height, stride };
  for (int m = 0; m < 2; m++)
    {
      siglip_error *error = NULL;
      siglip_patches *p = siglip_preprocess (models[m], &image, max_patches, &error);
      if (!p)
        {
          if (!error || !error->message[0])
            abort ();
          siglip_error_free (error);
          continue;
        }
      size_t n = (size_t) p->num_patches * (size_t) p->patch_dim;
      for (size_t i = 0; i < n; i++)
        if (!isfinite (p->pixel_values[i]))
          abort ();
      if (p->num_valid > p->num_patches || p->rows * p->cols != p->num_valid)
        abort ();
      siglip_patches_free (p);
    }
  free (rgb);
  return 0;
}
