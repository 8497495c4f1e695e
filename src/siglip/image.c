/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Placeholder until the preprocessing issue lands. */
#include <stdlib.h>

#include "internal.h"

siglip_patches *
siglip_preprocess (const siglip_model *model, const siglip_image *image, int max_patches,
                   siglip_error **error)
{
  siglip_set_error (error, SIGLIP_ERR_UNSUPPORTED, "preprocessing not built yet");
  return NULL;
}

void
siglip_patches_free (siglip_patches *patches)
{
  if (!patches)
    return;
  free (patches->pixel_values);
  free (patches->resized_rgb);
  free (patches);
}
