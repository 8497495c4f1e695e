/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * NAFlex and fixed-resolution preprocessing of images of any width, height and row stride:
 * the first 8 bytes give width, height (up to 511 each), extra stride bytes and the patch
 * budget; the rest are pixels, repeated to fill the image. Output must be finite.
 *
 * The work per input is bounded: at most 2^15 pixels (the height is cut to fit; 1x511 and
 * 511x64 stay possible) and at most 256 patches (the SO400M NAFlex default budget, which
 * covers shrinking and growing alike). An unbounded one (511x374 at 877 patches) costs
 * ~0.5 s of CPU under ASan+UBSan; fuzzing at nice 19 on a shared machine then exceeds
 * libFuzzer's wall-clock -timeout on legitimate work. Sizes past these are the business of
 * test-image.c, which checks the limits themselves.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "siglip.h"

#define MAX_PIXELS  (1 << 15)
#define MAX_PATCHES 256

static siglip_model *models[2];

static void
free_models (void)
{
  for (int i = 0; i < 2; i++)
    siglip_model_free (models[i]);
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  static const char *const dirs[2] = { "tiny-siglip2-naflex", "tiny-siglip-fixres" };
  (void) argc, (void) argv;
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
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 8)
    return 0;
  int width = (data[0] | data[1] << 8) & 0x1ff;
  int height = (data[2] | data[3] << 8) & 0x1ff;
  if (width > 0 && width * height > MAX_PIXELS)
    height = MAX_PIXELS / width;
  size_t pad = data[4] & 0x1f;
  int max_patches = (data[5] | data[6] << 8) % (MAX_PATCHES + 1);
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
