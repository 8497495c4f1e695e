/* SPDX-License-Identifier: GPL-3.0-or-later */
/* encode.h — internals of encode.c the tests look at: the text-embedding cache's counters. */
#ifndef SIGLIP_ENCODE_H
#define SIGLIP_ENCODE_H

#include "internal.h"

/* Entries kept by default; the least recently used one goes when a new text arrives. At
 * so400m's 1152 floats an entry is 4.6 kB, so the full cache stays under 20 MB. */
#define SIGLIP_TEXT_CACHE_DEFAULT_CAPACITY 4096

typedef struct {
  uint64_t hits, misses, evictions;
  int entries, capacity;
} siglip_text_cache_stats;

void siglip_text_cache_get_stats (const siglip_model *model, siglip_text_cache_stats *stats);
/* Drops entries beyond `capacity` (>= 1). */
void siglip_text_cache_set_capacity (const siglip_model *model, int capacity);

#endif /* SIGLIP_ENCODE_H */
