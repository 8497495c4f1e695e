/* SPDX-License-Identifier: GPL-3.0-or-later */
/* encode.h — internals of encode.c: the raw text encoding under siglip_encode_labels and the
 * text-embedding cache's counters (tests look at them). */
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

/* Pooled text embeddings (before L2 normalisation), n * embed_dim_text floats, of texts used
 * exactly as given: the primitive under siglip_encode_labels (which puts labels into the
 * template first; options->template and ->templates are its business, not read here). Batched
 * into one pass; cached in the model, and on disk when the model has a label cache, keyed by
 * the exact text and the lowercase flag. */
bool siglip_encode_texts (siglip_state *state, const char *const *texts, int n,
                          const siglip_encode_options *options, float *embeddings,
                          siglip_error **error);

void siglip_text_cache_get_stats (const siglip_model *model, siglip_text_cache_stats *stats);
/* Drops entries beyond `capacity` (>= 1). */
void siglip_text_cache_set_capacity (const siglip_model *model, int capacity);

#endif /* SIGLIP_ENCODE_H */
