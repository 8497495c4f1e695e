/* SPDX-License-Identifier: GPL-3.0-or-later */
/* text.h — the text tower (same for SigLIP and SigLIP 2). Internal. */
#ifndef SIGLIP_TEXT_H
#define SIGLIP_TEXT_H

#include "encoder.h"

/* embeddings (n, projection_size) = pooled, projected outputs (before L2 normalisation) for
 * `ids` (n, max_position_embeddings). Sequences are run in batches of as many as `ws` holds.
 * `trace` (may be NULL) sees the activations of the first sequence of each batch. */
bool siglip_text_forward (const siglip_model *model, siglip_workspace *ws, const int32_t *ids,
                          int n, const siglip_encode_options *options, const siglip_trace *trace,
                          float *embeddings, siglip_error **error);

#endif /* SIGLIP_TEXT_H */
