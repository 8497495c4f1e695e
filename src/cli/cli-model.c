/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdio.h>

#include "cli-model.h"

void
cli_model_free (const char *command, siglip_model *model)
{
  if (!model)
    return;
  fflush (stdout);
  siglip_error *err = NULL;
  if (!siglip_model_wait_weight_cache (model, &err))
    {
      fprintf (stderr, "siglens-cli %s: warning: the packed weights were not kept for the next "
               "run: %s\n", command, err->message);
      siglip_error_free (err);
    }
  siglip_model_free (model);
}
