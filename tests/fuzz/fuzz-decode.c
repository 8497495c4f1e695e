/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The image decoder on arbitrary bytes, with a 4-megapixel limit so that one input cannot
 * take the whole run: refused or decoded, the result must be consistent. */
#include <stdlib.h>

#include "fuzz.h"
#include "siglens-decode.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr (GBytes) bytes = g_bytes_new_static (data, size);
  g_autoptr (GError) error = NULL;
  g_autoptr (SiglensRgbImage) image = siglens_decode_bytes (bytes, "input", 4 * 1000 * 1000,
                                                            &error);
  if (!image)
    {
      if (!error || !error->message[0])
        abort ();
      return 0;
    }
  if (image->width <= 0 || image->height <= 0 || image->stride < (gsize) image->width * 3
      || (guint64) image->width * (guint64) image->height > 4 * 1000 * 1000)
    abort ();
  volatile guint sum = 0;
  for (int y = 0; y < image->height; y++)
    sum += image->rgb[(gsize) y * image->stride + (gsize) image->width * 3 - 1];
  (void) sum;
  return 0;
}
