/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Placeholder until the model issue lands. */
#include <stdlib.h>

#include "internal.h"

struct siglip_text_cache { int unused; };

siglip_text_cache *
siglip_text_cache_new (void)
{
  return calloc (1, sizeof (siglip_text_cache));
}

void
siglip_text_cache_free (siglip_text_cache *cache)
{
  free (cache);
}
