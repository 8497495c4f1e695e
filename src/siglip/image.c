/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * image.c — pixels in, patches out, exactly as the reference image processors:
 * Siglip2ImageProcessor (NAFlex: target size search, PIL bilinear resize, rescale/normalise,
 * patchify (row, col, channel), pad) and SiglipImageProcessor (fixed size, Conv2d patch order).
 * See tests/data/FACTS.md §2–3 for the rules cited below.
 */
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"

/* ------------------------------------------------------------------------------------------ */
/* Input checks */

bool
siglip_image_validate (const siglip_image *image, size_t max_pixels, siglip_error **error)
{
  if (!image)
    return siglip_set_error (error, SIGLIP_ERR_INVALID_INPUT, "image: no image given (NULL)");
  if (image->width <= 0 || image->height <= 0)
    return siglip_set_error (error, SIGLIP_ERR_INVALID_INPUT,
                             "image: size %dx%d is empty; width and height must be positive",
                             image->width, image->height);
  if (!image->rgb)
    return siglip_set_error (error, SIGLIP_ERR_INVALID_INPUT,
                             "image %dx%d: no pixel data (NULL)", image->width, image->height);
  uint64_t pixels = (uint64_t) image->width * (uint64_t) image->height;
  if (pixels > max_pixels)
    return siglip_set_error (error, SIGLIP_ERR_INVALID_INPUT,
                             "image %dx%d: %llu pixels is more than the limit of %zu",
                             image->width, image->height, (unsigned long long) pixels,
                             max_pixels);
  size_t row_bytes = 3 * (size_t) image->width;
  if (image->stride < row_bytes)
    return siglip_set_error (error, SIGLIP_ERR_INVALID_INPUT,
                             "image %dx%d: row stride %zu is smaller than 3 * width = %zu",
                             image->width, image->height, image->stride, row_bytes);
  /* The last byte read is at stride * (height - 1) + 3 * width - 1; it must be addressable. */
  if ((size_t) (image->height - 1) > (SIZE_MAX - row_bytes) / image->stride)
    return siglip_set_error (error, SIGLIP_ERR_INVALID_INPUT,
                             "image %dx%d: row stride %zu times height overflows the address "
                             "space", image->width, image->height, image->stride);
  return true;
}

/* ------------------------------------------------------------------------------------------ */
/* NAFlex target size */

/* get_scaled_image_size: ceil (size * scale / patch) * patch, at least one patch. Kept in
 * float64 like Python's floats: while bisecting, size * 100 may not fit an int. */
static double
scaled_side (double scale, int size, int patch)
{
  double scaled = (double) size * scale;
  scaled = ceil (scaled / patch) * patch;
  return scaled < patch ? patch : scaled;
}

bool
siglip_naflex_target_size (const siglip_preprocess_config *config, int max_patches,
                           int height, int width, int *target_height, int *target_width,
                           siglip_error **error)
{
  int patch = config->patch_size;
  if (max_patches == 0)
    max_patches = config->max_num_patches;
  if (patch <= 0)
    return siglip_set_error (error, SIGLIP_ERR_INVALID_INPUT,
                             "preprocessor: patch_size %d must be positive", patch);
  if (max_patches <= 0 || max_patches > SIGLIP_MAX_MAX_PATCHES)
    return siglip_set_error (error, SIGLIP_ERR_INVALID_INPUT,
                             "max_patches %d is outside 1..%d", max_patches,
                             SIGLIP_MAX_MAX_PATCHES);
  if (height <= 0 || width <= 0)
    return siglip_set_error (error, SIGLIP_ERR_INVALID_INPUT,
                             "image %dx%d: size is empty", width, height);

  /* get_image_size_for_max_num_patches (eps = 1e-5): bisect the scale, keep the largest one
   * whose grid fits; the result uses the lower bound. */
  const double eps = 1e-5;
  double lo = eps / 10, hi = 100.0;
  while (hi - lo >= eps)
    {
      double mid = (lo + hi) / 2;
      double h = scaled_side (mid, height, patch);
      double w = scaled_side (mid, width, patch);
      double num = (h / patch) * (w / patch);
      if (num <= max_patches)
        lo = mid;
      else
        hi = mid;
    }
  double h = scaled_side (lo, height, patch);
  double w = scaled_side (lo, width, patch);
  /* Even the smallest scale may be too big for an extreme aspect ratio and a tiny
   * max_patches; the reference would then fail while padding. Say so instead. */
  if ((h / patch) * (w / patch) > max_patches)
    return siglip_set_error (error, SIGLIP_ERR_INVALID_INPUT,
                             "image %dx%d: even at the smallest scale its patch grid "
                             "(%.0f x %.0f) has more than max_patches = %d patches",
                             width, height, h / patch, w / patch, max_patches);
  *target_height = (int) h;
  *target_width = (int) w;
  return true;
}

/* ------------------------------------------------------------------------------------------ */
/* Pillow-compatible resampling (libImaging/Resample.c, 8 bits per channel) */

typedef struct {
  double (*fn) (double x);
  double support;
} resample_filter;

static double
filter_box (double x)
{
  return (x > -0.5 && x <= 0.5) ? 1.0 : 0.0;
}

static double
filter_bilinear (double x)
{
  if (x < 0.0)
    x = -x;
  return x < 1.0 ? 1.0 - x : 0.0;
}

static double
filter_hamming (double x)
{
  if (x < 0.0)
    x = -x;
  if (x == 0.0)
    return 1.0;
  if (x >= 1.0)
    return 0.0;
  x = x * M_PI;
  /* Pillow writes the constants as floats (0.54f, 0.46f). */
  return sin (x) / x * (0.54f + 0.46f * cos (x));
}

static double
filter_bicubic (double x)
{
  const double a = -0.5;
  if (x < 0.0)
    x = -x;
  if (x < 1.0)
    return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0)
    return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

static double
sinc (double x)
{
  if (x == 0.0)
    return 1.0;
  x = x * M_PI;
  return sin (x) / x;
}

static double
filter_lanczos (double x)
{
  return (-3.0 <= x && x < 3.0) ? sinc (x) * sinc (x / 3) : 0.0;
}

static const resample_filter *
filter_for (int resample)
{
  static const resample_filter box = { filter_box, 0.5 };
  static const resample_filter bilinear = { filter_bilinear, 1.0 };
  static const resample_filter hamming = { filter_hamming, 1.0 };
  static const resample_filter bicubic = { filter_bicubic, 2.0 };
  static const resample_filter lanczos = { filter_lanczos, 3.0 };
  switch (resample)
    {
    case SIGLIP_RESAMPLE_BOX: return &box;
    case SIGLIP_RESAMPLE_BILINEAR: return &bilinear;
    case SIGLIP_RESAMPLE_HAMMING: return &hamming;
    case SIGLIP_RESAMPLE_BICUBIC: return &bicubic;
    case SIGLIP_RESAMPLE_LANCZOS: return &lanczos;
    default: return NULL;
    }
}

/* Weights in fixed point: 32 bits minus 8 for the value minus 2 for overshoot. */
#define PRECISION_BITS (32 - 8 - 2)

/* One axis of the resampling (precompute_coeffs): output i reads inputs [xmin, xmin + n). */
typedef struct {
  const resample_filter *filter;
  int in_size, out_size;
  double scale, filterscale, support;
  int ksize; /* the most taps any output can have */
} resample_axis;

static void
axis_init (resample_axis *axis, const resample_filter *filter, int in_size, int out_size)
{
  axis->filter = filter;
  axis->in_size = in_size;
  axis->out_size = out_size;
  /* Pillow receives the source box as C floats: scale = (double) (in1 - in0) / out. */
  axis->scale = (double) (float) in_size / out_size;
  /* Support grows with the downscale factor: this is the antialiasing. */
  axis->filterscale = axis->scale < 1.0 ? 1.0 : axis->scale;
  axis->support = filter->support * axis->filterscale;
  axis->ksize = (int) ceil (axis->support) * 2 + 1;
}

static void
axis_bounds (const resample_axis *axis, int i, int *xmin, int *n)
{
  double center = (i + 0.5) * axis->scale;
  int lo = (int) (center - axis->support + 0.5);
  int hi = (int) (center + axis->support + 0.5);
  if (lo < 0)
    lo = 0;
  if (hi > axis->in_size)
    hi = axis->in_size;
  *xmin = lo;
  *n = hi - lo;
}

/* The fixed-point weights of output i (normalize_coeffs_8bpc); `scratch` holds ksize doubles.
 * Returns the tap count. */
static int
axis_weights (const resample_axis *axis, int i, int *xmin, int32_t *k, double *scratch)
{
  int n;
  axis_bounds (axis, i, xmin, &n);
  double center = (i + 0.5) * axis->scale;
  double ss = 1.0 / axis->filterscale;
  double ww = 0.0;
  for (int x = 0; x < n; x++)
    {
      double w = axis->filter->fn ((x + *xmin - center + 0.5) * ss);
      scratch[x] = w;
      ww += w;
    }
  for (int x = 0; x < n; x++)
    {
      double w = ww != 0.0 ? scratch[x] / ww : scratch[x];
      k[x] = w < 0 ? (int32_t) (-0.5 + w * (1 << PRECISION_BITS))
                   : (int32_t) (0.5 + w * (1 << PRECISION_BITS));
    }
  return n;
}

static inline uint8_t
clip8 (int32_t acc)
{
  if (acc <= 0)
    return 0;
  if (acc >= (1 << PRECISION_BITS << 8))
    return 255;
  return (uint8_t) (acc >> PRECISION_BITS);
}

/* The horizontal weights of all outputs, computed once and reused for every row. For
 * absurdly wide inputs (a 10^8 x 1 strip) the table would be as large as the image, so the
 * weights are then recomputed per output instead; such images have only a few rows. */
#define MAX_TABLE_TAPS (16 * 1024 * 1024)

typedef struct {
  resample_axis axis;
  int *xmin, *n;    /* [out_size] */
  int32_t *k;       /* [out_size * ksize], or NULL: computed on demand into k_scratch */
  int32_t *k_scratch;
  double *d_scratch;
} horizontal_plan;

static void
horizontal_plan_clear (horizontal_plan *plan)
{
  free (plan->xmin);
  free (plan->n);
  free (plan->k);
  free (plan->k_scratch);
  free (plan->d_scratch);
}

static bool
horizontal_plan_init (horizontal_plan *plan, const resample_filter *filter, int in_size,
                      int out_size)
{
  memset (plan, 0, sizeof *plan);
  axis_init (&plan->axis, filter, in_size, out_size);
  size_t ksize = (size_t) plan->axis.ksize;
  plan->xmin = malloc (sizeof (int) * (size_t) out_size);
  plan->n = malloc (sizeof (int) * (size_t) out_size);
  plan->k_scratch = malloc (sizeof (int32_t) * ksize);
  plan->d_scratch = malloc (sizeof (double) * ksize);
  if (!plan->xmin || !plan->n || !plan->k_scratch || !plan->d_scratch)
    return false;
  if ((size_t) out_size * ksize <= MAX_TABLE_TAPS)
    {
      plan->k = malloc (sizeof (int32_t) * (size_t) out_size * ksize);
      if (!plan->k)
        return false;
      for (int i = 0; i < out_size; i++)
        plan->n[i] = axis_weights (&plan->axis, i, &plan->xmin[i], plan->k + i * ksize,
                                   plan->d_scratch);
    }
  else
    {
      for (int i = 0; i < out_size; i++)
        axis_bounds (&plan->axis, i, &plan->xmin[i], &plan->n[i]);
    }
  return true;
}

/* ImagingResampleHorizontal_8bpc for one row of RGB. */
static void
resample_row (horizontal_plan *plan, const uint8_t *in, uint8_t *out)
{
  int ksize = plan->axis.ksize;
  for (int xx = 0; xx < plan->axis.out_size; xx++)
    {
      const int32_t *k;
      int xmin = plan->xmin[xx], n = plan->n[xx];
      if (plan->k)
        k = plan->k + (size_t) xx * ksize;
      else
        {
          axis_weights (&plan->axis, xx, &xmin, plan->k_scratch, plan->d_scratch);
          k = plan->k_scratch;
        }
      const uint8_t *p = in + 3 * (size_t) xmin;
      int32_t s0 = 1 << (PRECISION_BITS - 1), s1 = s0, s2 = s0;
      for (int x = 0; x < n; x++)
        {
          s0 += p[3 * x + 0] * k[x];
          s1 += p[3 * x + 1] * k[x];
          s2 += p[3 * x + 2] * k[x];
        }
      out[3 * xx + 0] = clip8 (s0);
      out[3 * xx + 1] = clip8 (s1);
      out[3 * xx + 2] = clip8 (s2);
    }
}

/* ImagingResampleVertical_8bpc for one output row: rows[y] * k[y] summed per byte. Integer
 * sums are exact, so summing row by row (cache friendly) equals Pillow's per-pixel order. */
static void
resample_column (const uint8_t *const *rows, const int32_t *k, int n, size_t row_bytes,
                 int32_t *acc, uint8_t *out)
{
  for (size_t i = 0; i < row_bytes; i++)
    acc[i] = 1 << (PRECISION_BITS - 1);
  for (int y = 0; y < n; y++)
    {
      const uint8_t *row = rows[y];
      int32_t w = k[y];
      for (size_t i = 0; i < row_bytes; i++)
        acc[i] += row[i] * w;
    }
  for (size_t i = 0; i < row_bytes; i++)
    out[i] = clip8 (acc[i]);
}

bool
siglip_resize_rgb (const uint8_t *src, int src_width, int src_height, size_t src_stride,
                   uint8_t *dst, int dst_width, int dst_height, int resample,
                   siglip_error **error)
{
  const resample_filter *filter = filter_for (resample);
  if (!filter)
    return siglip_set_error (error, SIGLIP_ERR_UNSUPPORTED,
                             "preprocessor: resample %d is not supported (use 1 lanczos, "
                             "2 bilinear, 3 bicubic, 4 box or 5 hamming)", resample);

  size_t dst_row = 3 * (size_t) dst_width;
  bool need_horizontal = dst_width != src_width;
  bool need_vertical = dst_height != src_height;

  /* Image.resize to the same size returns a copy. */
  if (!need_horizontal && !need_vertical)
    {
      for (int y = 0; y < src_height; y++)
        memcpy (dst + y * dst_row, src + y * src_stride, dst_row);
      return true;
    }

  bool ok = false;
  horizontal_plan plan = { 0 };
  uint8_t *ring = NULL;
  const uint8_t **rows = NULL;
  int32_t *kv = NULL, *acc = NULL;
  double *dv = NULL;

  if (need_horizontal && !horizontal_plan_init (&plan, filter, src_width, dst_width))
    goto out;

  if (!need_vertical)
    {
      for (int y = 0; y < src_height; y++)
        resample_row (&plan, src + y * src_stride, dst + y * dst_row);
      ok = true;
      goto out;
    }

  resample_axis vaxis;
  axis_init (&vaxis, filter, src_height, dst_height);
  /* Pillow runs the horizontal pass over the rows the vertical pass needs into an 8-bit
   * temporary image, then the vertical pass. Each output row needs a window of temporary rows
   * that only moves down, so a ring of the widest window's rows gives the same bytes without
   * a temporary as tall as the source. */
  int cap = 1;
  for (int yy = 0; yy < dst_height; yy++)
    {
      int ymin, n;
      axis_bounds (&vaxis, yy, &ymin, &n);
      if (n > cap)
        cap = n;
    }
  kv = malloc (sizeof (int32_t) * (size_t) vaxis.ksize);
  dv = malloc (sizeof (double) * (size_t) vaxis.ksize);
  rows = malloc (sizeof (*rows) * (size_t) vaxis.ksize);
  acc = malloc (sizeof (int32_t) * dst_row);
  if (!kv || !dv || !rows || !acc)
    goto out;
  if (need_horizontal)
    {
      ring = malloc ((size_t) cap * dst_row);
      if (!ring)
        goto out;
    }

  int next_row = 0; /* the first temporary row not yet computed */
  for (int yy = 0; yy < dst_height; yy++)
    {
      int ymin;
      int n = axis_weights (&vaxis, yy, &ymin, kv, dv);
      if (next_row < ymin)
        next_row = ymin;
      for (int y = 0; y < n; y++)
        {
          int r = ymin + y;
          if (need_horizontal)
            {
              uint8_t *slot = ring + (size_t) (r % cap) * dst_row;
              if (r >= next_row)
                {
                  resample_row (&plan, src + (size_t) r * src_stride, slot);
                  next_row = r + 1;
                }
              rows[y] = slot;
            }
          else
            rows[y] = src + (size_t) r * src_stride;
        }
      resample_column (rows, kv, n, dst_row, acc, dst + (size_t) yy * dst_row);
    }
  ok = true;

out:
  if (!ok)
    siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "resizing %dx%d to %dx%d: out of memory",
                      src_width, src_height, dst_width, dst_height);
  horizontal_plan_clear (&plan);
  free (ring);
  free (rows);
  free (kv);
  free (dv);
  free (acc);
  return ok;
}

/* ------------------------------------------------------------------------------------------ */
/* Rescale, normalise, patchify */

void
siglip_normalize_table (const siglip_preprocess_config *config, siglip_pixel_table *table)
{
  for (int c = 0; c < 3; c++)
    for (int v = 0; v < 256; v++)
      {
        /* rescale: (u8.astype (float64) * rescale_factor).astype (float32) */
        float x = config->do_rescale ? (float) ((double) v * config->rescale_factor) : (float) v;
        /* normalize: (x - mean) / std with mean and std as float32 arrays */
        if (config->do_normalize)
          x = (x - config->image_mean[c]) / config->image_std[c];
        table->value[c][v] = x;
      }
}

void
siglip_patchify_naflex (const uint8_t *rgb, int height, int width, int patch,
                        const siglip_pixel_table *table, float *out)
{
  int rows = height / patch, cols = width / patch;
  size_t patch_dim = (size_t) patch * patch * 3;
  size_t row_bytes = 3 * (size_t) width;
  /* (H, W, C) -> (H/p, p, W/p, p, C) -> transpose (0, 2, 1, 3, 4): channel fastest. */
  for (int r = 0; r < rows; r++)
    for (int c = 0; c < cols; c++)
      {
        float *o = out + ((size_t) r * cols + c) * patch_dim;
        for (int py = 0; py < patch; py++)
          {
            const uint8_t *s = rgb + ((size_t) r * patch + py) * row_bytes + 3 * (size_t) c * patch;
            for (int i = 0; i < 3 * patch; i++)
              *o++ = table->value[i % 3][s[i]];
          }
      }
}

void
siglip_patchify_conv (const uint8_t *rgb, int height, int width, int patch,
                      const siglip_pixel_table *table, float *out)
{
  int rows = height / patch, cols = width / patch;
  size_t plane = (size_t) patch * patch;
  size_t row_bytes = 3 * (size_t) width;
  /* Conv2d (kernel = stride = p) == Linear over patches flattened as weight [D, 3, p, p]. */
  for (int r = 0; r < rows; r++)
    for (int c = 0; c < cols; c++)
      {
        float *o = out + ((size_t) r * cols + c) * 3 * plane;
        for (int py = 0; py < patch; py++)
          {
            const uint8_t *s = rgb + ((size_t) r * patch + py) * row_bytes + 3 * (size_t) c * patch;
            for (int px = 0; px < patch; px++)
              for (int ch = 0; ch < 3; ch++)
                o[ch * plane + (size_t) py * patch + px] = table->value[ch][s[3 * px + ch]];
          }
      }
}

/* ------------------------------------------------------------------------------------------ */
/* The whole preprocessing */

/* The resized size: NAFlex search, or the fixed size; without do_resize the image must already
 * have a size the model can take. */
static bool
choose_size (const siglip_preprocess_config *config, siglip_kind kind,
             const siglip_image *image, int max_patches, int *height, int *width,
             siglip_error **error)
{
  int patch = config->patch_size;
  if (patch <= 0)
    return siglip_set_error (error, SIGLIP_ERR_INVALID_INPUT,
                             "preprocessor: patch_size %d must be positive", patch);
  if (kind == SIGLIP_KIND_SIGLIP2)
    {
      if (config->do_resize)
        return siglip_naflex_target_size (config, max_patches, image->height, image->width,
                                          height, width, error);
      *height = image->height;
      *width = image->width;
      int limit = max_patches ? max_patches : config->max_num_patches;
      if (*height % patch || *width % patch ||
          (int64_t) (*height / patch) * (*width / patch) > limit)
        return siglip_set_error (error, SIGLIP_ERR_INVALID_INPUT,
                                 "image %dx%d: preprocessor has do_resize false, so the size "
                                 "must be multiples of patch %d with at most %d patches",
                                 image->width, image->height, patch, limit);
      return true;
    }

  /* The Conv2d (stride = patch, no padding) takes floor (side / patch) patches per side and
   * leaves the last side % patch rows and columns unused: 384 at patch 14 is 27 patches. */
  *height = config->do_resize ? config->size_height : image->height;
  *width = config->do_resize ? config->size_width : image->width;
  if (*height < patch || *width < patch)
    return siglip_set_error (error, SIGLIP_ERR_INVALID_INPUT,
                             "%s %dx%d is smaller than one patch of %d",
                             config->do_resize ? "preprocessor: size" : "image (do_resize false)",
                             *width, *height, patch);
  return true;
}

siglip_patches *
siglip_preprocess_with_config (const siglip_preprocess_config *config, siglip_kind kind,
                               const siglip_image *image, int max_patches,
                               siglip_error **error)
{
  if (!siglip_image_validate (image, SIGLIP_DEFAULT_MAX_PIXELS, error))
    return NULL;
  if (max_patches < 0 || max_patches > SIGLIP_MAX_MAX_PATCHES)
    {
      siglip_set_error (error, SIGLIP_ERR_INVALID_INPUT, "max_patches %d is outside 0..%d",
                        max_patches, SIGLIP_MAX_MAX_PATCHES);
      return NULL;
    }

  int th, tw;
  if (!choose_size (config, kind, image, max_patches, &th, &tw, error))
    return NULL;

  int patch = config->patch_size;
  siglip_patches *p = calloc (1, sizeof *p);
  if (!p)
    goto oom;
  p->rows = th / patch;
  p->cols = tw / patch;
  p->num_valid = p->rows * p->cols;
  p->patch_dim = 3 * patch * patch;
  p->num_patches = kind == SIGLIP_KIND_SIGLIP2
                       ? (max_patches ? max_patches : config->max_num_patches)
                       : p->num_valid;
  p->resized_width = tw;
  p->resized_height = th;
  p->resized_rgb = malloc ((size_t) th * tw * 3);
  /* calloc: rows num_valid.. are the zero padding of pad_along_first_dim. */
  p->pixel_values = calloc ((size_t) p->num_patches * p->patch_dim, sizeof (float));
  if (!p->resized_rgb || !p->pixel_values)
    goto oom;

  if (config->do_resize)
    {
      if (!siglip_resize_rgb (image->rgb, image->width, image->height, image->stride,
                              p->resized_rgb, tw, th, config->resample, error))
        {
          siglip_patches_free (p);
          return NULL;
        }
    }
  else
    {
      for (int y = 0; y < th; y++)
        memcpy (p->resized_rgb + (size_t) y * tw * 3, image->rgb + (size_t) y * image->stride,
                (size_t) tw * 3);
    }

  siglip_pixel_table table;
  siglip_normalize_table (config, &table);
  if (kind == SIGLIP_KIND_SIGLIP2)
    siglip_patchify_naflex (p->resized_rgb, th, tw, patch, &table, p->pixel_values);
  else
    siglip_patchify_conv (p->resized_rgb, th, tw, patch, &table, p->pixel_values);
  return p;

oom:
  siglip_patches_free (p);
  siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "image %dx%d: out of memory preprocessing",
                    image->width, image->height);
  return NULL;
}

siglip_patches *
siglip_preprocess (const siglip_model *model, const siglip_image *image, int max_patches,
                   siglip_error **error)
{
  if (!model)
    {
      siglip_set_error (error, SIGLIP_ERR_INVALID_INPUT, "preprocess: no model given (NULL)");
      return NULL;
    }
  return siglip_preprocess_with_config (&model->preprocess, model->config.kind, image,
                                        max_patches, error);
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
