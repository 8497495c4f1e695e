/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdio.h>
#include <unistd.h>

#include "cli-model.h"

void
cli_model_free (const char *command, siglip_model *model)
{
  if (!model)
    return;
  fflush (stdout);
  /* A first bf16 run on an AVX2 CPU answers, then waits for the packed weights to be written
   * (17-21 s for SO400M): at a terminal, say why the command has not returned. */
  if (siglip_model_weight_cache_pending (model) && isatty (STDERR_FILENO))
    fprintf (stderr, "siglens-cli %s: saving the packed weights for a faster next run…\n",
             command);
  siglip_error *err = NULL;
  if (!siglip_model_wait_weight_cache (model, &err))
    {
      fprintf (stderr, "siglens-cli %s: warning: the packed weights were not kept for the next "
               "run: %s\n", command, err->message);
      siglip_error_free (err);
    }
  siglip_model_free (model);
}
