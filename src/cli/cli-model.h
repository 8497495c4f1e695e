/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The end of a model in a one-shot command. */
#pragma once

#include "siglip.h"

/* Frees `model` (NULL is ignored) once its answer is out: stdout is flushed first, then a
 * weight cache file the load was still writing (a first bf16 load; siglip.h's
 * SIGLIP_WEIGHT_CACHE_WRITING) is waited for, so that the next run maps it instead of writing
 * it again. A write that fails costs only speed: a warning on stderr, prefixed "siglens-cli
 * COMMAND:". */
void cli_model_free (const char *command, siglip_model *model);
