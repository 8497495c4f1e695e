/* SPDX-License-Identifier: GPL-3.0-or-later */
/* vision.h — the image tower (NAFlex SigLIP 2 and fixed-resolution SigLIP). Internal. */
#ifndef SIGLIP_VISION_H
#define SIGLIP_VISION_H

#include "encoder.h"

/* out (rows * cols, dim) = the learned position table (grid * grid, dim), viewed as a
 * (dim, grid, grid) image, resized to (rows, cols) like torch's
 * F.interpolate (mode="bilinear", align_corners=False, antialias=True): width pass, then
 * height pass. tmp is scratch of grid * cols * dim floats. */
void siglip_resize_position_grid (float *out, float *tmp, const float *table, int grid, int dim,
                                  int rows, int cols);

/* embedding (hidden_size) = pooled output (before L2 normalisation) of the vision tower for the
 * valid rows of `patches`; attention_map (may be NULL; rows * cols floats) = where the pooling
 * head's probe looked: its softmax weights over the patches, averaged over the heads. Grows
 * `ws` when the grid needs more than it holds (before the layer loop). `trace` may be NULL. */
bool siglip_vision_forward (const siglip_model *model, siglip_workspace *ws,
                            const siglip_patches *patches, const siglip_encode_options *options,
                            const siglip_trace *trace, float *embedding, float *attention_map,
                            siglip_error **error);

#endif /* SIGLIP_VISION_H */
