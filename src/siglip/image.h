/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * image.h — the steps of image preprocessing, one function each, so tests can check every step
 * against the reference on its own. siglip_preprocess (siglip.h) strings them together from a
 * model's preprocessor_config.json; siglip_preprocess_with_config does the same from any config.
 *
 * All images here are 8-bit RGB, row-major. Sizes are (height, width) where the reference's
 * functions take them in that order.
 */
#ifndef SIGLIP_IMAGE_H
#define SIGLIP_IMAGE_H

#include "internal.h"

/* PIL.Image.Resampling codes (preprocessor_config.json "resample"). NEAREST is not supported. */
enum {
  SIGLIP_RESAMPLE_NEAREST = 0,
  SIGLIP_RESAMPLE_LANCZOS = 1,
  SIGLIP_RESAMPLE_BILINEAR = 2,
  SIGLIP_RESAMPLE_BICUBIC = 3,
  SIGLIP_RESAMPLE_BOX = 4,
  SIGLIP_RESAMPLE_HAMMING = 5,
};

/* Upper bound for a caller's max_patches: 16384 patches of 16x16 is a 2048x2048 image and
 * 48 MiB of float32 pixel values — far beyond what the models were trained on. */
#define SIGLIP_MAX_MAX_PATCHES 16384

/* Checks an input image: non-NULL pixels, positive size, stride >= 3 * width, at most
 * `max_pixels` pixels, and no size_t overflow in stride * height. Nothing is allocated. */
bool siglip_image_validate (const siglip_image *image, size_t max_pixels, siglip_error **error);

/* NAFlex target size, as Siglip2ImageProcessor's get_image_size_for_max_num_patches: float64
 * bisection over the scale in [1e-6, 100] until the bracket is narrower than 1e-5; each side is
 * ceil(side * scale / patch) * patch and at least one patch. Uses config->patch_size;
 * max_patches 0 = config->max_num_patches. Returns false (with an error) when even the smallest
 * scale does not fit max_patches, e.g. a 1 x 10^8 image with max_patches 1. */
bool siglip_naflex_target_size (const siglip_preprocess_config *config, int max_patches,
                                int height, int width, int *target_height, int *target_width,
                                siglip_error **error);

/* PIL Image.resize ((dst_width, dst_height), resample) of an 8-bit RGB image, bit-exact:
 * Pillow's separable convolution with support growing with the downscale factor
 * (antialiasing), weights in 22-bit fixed point, horizontal pass first into 8-bit, then the
 * vertical pass; a pass is skipped when its dimension is unchanged. `dst` is tightly packed
 * (dst_width * 3 bytes per row). Fails only for an unsupported filter or out of memory. */
bool siglip_resize_rgb (const uint8_t *src, int src_width, int src_height, size_t src_stride,
                        uint8_t *dst, int dst_width, int dst_height, int resample,
                        siglip_error **error);

/* Per-channel lookup table u8 -> normalised float, from the config's do_rescale /
 * rescale_factor / do_normalize / image_mean / image_std exactly as the reference computes it:
 * float32 (float64 (u8) * rescale_factor), then (x - float32 mean) / float32 std in float32.
 * For the default 1/255, 0.5, 0.5 this is bit-identical to u8 / 127.5f - 1.0f. */
/* value[channel][u8] */
typedef struct {
  float value[3][256];
} siglip_pixel_table;

void siglip_normalize_table (const siglip_preprocess_config *config, siglip_pixel_table *table);

/* NAFlex patchify (convert_image_to_patches): patches row-major over the (rows, cols) grid,
 * inside a patch (row, col, channel) with channel fastest. `rgb` is height x width x 3 tight,
 * both multiples of `patch`. Writes rows * cols * patch * patch * 3 floats. */
void siglip_patchify_naflex (const uint8_t *rgb, int height, int width, int patch,
                             const siglip_pixel_table *table, float *out);

/* Fixed-resolution patchify: the Conv2d weight [D, 3, p, p] viewed as [D, 3 * p * p], so each
 * patch is flattened (channel, row, col); patches row-major over the grid. */
void siglip_patchify_conv (const uint8_t *rgb, int height, int width, int patch,
                           const siglip_pixel_table *table, float *out);

/* The whole preprocessing for a model of `kind` with preprocessor `config`; this is what
 * siglip_preprocess runs with the model's own config. max_patches: siglip2 only, 0 = default. */
siglip_patches *siglip_preprocess_with_config (const siglip_preprocess_config *config,
                                               siglip_kind kind, const siglip_image *image,
                                               int max_patches, siglip_error **error);

#endif /* SIGLIP_IMAGE_H */
