/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * internal.h — what the rooms of libsiglip share and nobody outside sees: the parsed
 * configuration, the per-layer weight tables and the model struct.
 *
 * Weights are `const float *`: into the mmap'd safetensors file for F32 (zero copy), or into
 * buffers the loader owns for F16/BF16 (converted once at load). All matrices are row-major
 * [out, in] as HF's nn.Linear stores them.
 */
#ifndef SIGLIP_INTERNAL_H
#define SIGLIP_INTERNAL_H

#include <pthread.h>
#include <stdarg.h>

#include "siglip.h"

/* ------------------------------------------------------------------------------------------ */
/* errors.c */

/* Sets *error (when error != NULL) to a new error with a printf-style message; returns false
 * so that callers can `return siglip_set_error (...)`. */
bool siglip_set_error (siglip_error **error, siglip_status status, const char *fmt, ...)
  __attribute__ ((format (printf, 3, 4)));
/* Prefixes an existing error's message with "prefix: ". */
void siglip_prefix_error (siglip_error **error, const char *fmt, ...)
  __attribute__ ((format (printf, 2, 3)));

/* What Siglens loads, said whenever a checkpoint of another task or family is refused (config.c,
 * model.c, tokenizer.c), so that every such message ends the same way. */
#define SIGLIP_SUPPORTED                                                                           \
  "Siglens supports the zero-shot image-text checkpoints of SigLIP 2: Siglip2Model (NAFlex) and "   \
  "SiglipModel (fixed resolution), both with the Gemma tokenizer"
#define SIGLIP_DESCRIBE_CLASSIFIER                                                                 \
  "this is an image-classification checkpoint (Siglip2ForImageClassification or "                  \
  "SiglipForImageClassification: a vision tower and a classifier.* head with fixed labels, no "     \
  "text tower), not a zero-shot model. " SIGLIP_SUPPORTED
#define SIGLIP_DESCRIBE_VISION_ONLY                                                                \
  "this checkpoint has a vision tower but no text tower (SiglipVisionModel or "                    \
  "Siglip2VisionModel), so it cannot compare images with labels. " SIGLIP_SUPPORTED

/* ------------------------------------------------------------------------------------------ */
/* model.c — siglip_resolve_model_path, also saying how it chose (a sentence for `info`, NULL
 * for a directory given as such; transfer full) */
char *siglip_resolve_model_path_noted (const char *name_or_path, char **note, siglip_error **error);

/* ------------------------------------------------------------------------------------------ */
/* files.c — messages for files of a model that cannot be used */

struct stat;
/* siglip_open_regular_fd (util.h) with an error naming what the path is instead (a directory,
 * a FIFO, a loop of symbolic links; missing is SIGLIP_ERR_MISSING). Returns the fd or -1. */
int         siglip_open_regular (const char *path, struct stat *st, siglip_error **error);
/* Sets an error for `step` ("open", "stat", "map", "read") of path failing with errno err, as
 * siglip_map_readonly reports it; returns false. */
bool        siglip_file_error (siglip_error **error, const char *path, int err, const char *step);
/* "a directory", "a FIFO (named pipe)", ... for a st_mode. */
const char *siglip_file_type_name (unsigned mode);

/* ------------------------------------------------------------------------------------------ */
/* config.c — config.json and preprocessor_config.json with HF defaults for missing keys */

typedef struct {
  int hidden_size;
  int intermediate_size;
  int num_layers;
  int num_heads;
  float layer_norm_eps;
  /* text */
  int vocab_size;
  int max_position_embeddings;
  int projection_size;
  /* vision */
  int patch_size;
  int num_channels;
  int num_patches; /* siglip2 */
  int image_size;  /* siglip */
  bool use_head;   /* vision_use_head (absent -> true) */
} siglip_tower_config;

typedef struct {
  siglip_kind kind;
  siglip_tower_config text;
  siglip_tower_config vision;
} siglip_config;

typedef struct {
  bool do_resize, do_rescale, do_normalize;
  int resample;         /* PIL code; 2 = bilinear (the only one siglip2 uses) */
  double rescale_factor;
  float image_mean[3];
  float image_std[3];
  int patch_size;
  int max_num_patches;  /* siglip2 */
  int size_height;      /* siglip */
  int size_width;
} siglip_preprocess_config;

bool siglip_config_load (const char *directory, siglip_config *config, siglip_error **error);
bool siglip_preprocess_config_load (const char *directory, siglip_kind kind,
                                    siglip_preprocess_config *config, siglip_error **error);

/* ------------------------------------------------------------------------------------------ */
/* safetensors.c — mmap'd files, header parsing, dtype conversion */

typedef enum {
  SIGLIP_DTYPE_F32,
  SIGLIP_DTYPE_F16,
  SIGLIP_DTYPE_BF16,
  SIGLIP_DTYPE_OTHER, /* a valid safetensors dtype we never compute with (I64 buffers, F64, ...):
                         bounds-checked at open, refused if the architecture asks for it */
} siglip_dtype;

typedef struct {
  char *name;
  siglip_dtype dtype;
  int ndim;
  int64_t shape[8];
  int64_t numel;
  const void *data;  /* into the mapping */
  size_t nbytes;
  int file_index;
  char dtype_name[8]; /* as written in the header: "F32", "BF16", "I64", ... */
} siglip_tensor;

typedef struct siglip_weights siglip_weights; /* all tensors of all files of a model */

/* Opens model.safetensors, or model.safetensors.index.json and its shards. */
siglip_weights      *siglip_weights_open (const char *directory, siglip_error **error);
void                 siglip_weights_close (siglip_weights *weights);
const siglip_tensor *siglip_weights_find (const siglip_weights *weights, const char *name);
/* "[d0,d1,...]" into buf, for messages that name a shape. */
void siglip_format_shape (char *buf, size_t len, const int64_t *shape, int ndim);
int                  siglip_weights_n_files (const siglip_weights *weights);
int                  siglip_weights_n_tensors (const siglip_weights *weights);
/* The tensor at `index` in name order (0 .. n_tensors - 1), or NULL. */
const siglip_tensor *siglip_weights_tensor (const siglip_weights *weights, int index);
/* File name of a tensor's file_index, relative to the model directory. */
const char          *siglip_weights_file_name (const siglip_weights *weights, int file_index);
/* The open descriptor of the very file a tensor's bytes are mapped from, and their offset in
 * it (for pread), or -1. Owned by the weights. */
int                  siglip_tensor_file_offset (const siglip_weights *weights,
                                                const siglip_tensor *tensor, int64_t *offset);
int64_t              siglip_weights_total_bytes (const siglip_weights *weights);

/* A whole file as a NUL-terminated malloc'd string; files above max_bytes are refused so a
 * hostile config cannot make us allocate without bound. */
char *siglip_read_text_file (const char *path, size_t max_bytes, siglip_error **error);

/* Exact conversions: bf16 is the upper half of an f32; f16 incl. subnormals, inf and nan. */
float siglip_f16_to_f32 (uint16_t h); /* bf16: bf16.h */
/* A tensor's values as F32: the mapping itself when it is F32 and 4-byte aligned (zero copy,
 * *owned = NULL), else a malloc'd converted copy that is also stored in *owned for the caller
 * to free. SIGLIP_DTYPE_OTHER is refused with an error naming the tensor. */
const float *siglip_tensor_as_f32 (const siglip_weights *weights, const siglip_tensor *tensor,
                                   float **owned, siglip_error **error);

/* ------------------------------------------------------------------------------------------ */
/* model weights per tower, looked up once at load by their HF names */

/* A weight matrix of a linear layer, [rows = out, cols = in] row-major as nn.Linear stores it.
 * `w` is its F32 rows (usually the file's mapping itself), or NULL when `packed` holds the GEMM
 * backend's own layout (bf16 panels; gemm.h) or when the rows are stacked. See gemm.h. */
#define SIGLIP_MATRIX_MAX_STACKED 3
typedef struct {
  const float *w;
  const void *packed;
  int rows, cols;
  /* Stacked without a copy (a layer's [q; k; v] from its three tensors): when n_stacked > 0,
   * `w` is NULL and rows [p * rows / n_stacked, (p + 1) * rows / n_stacked) are the rows of
   * stacked[p], row-major F32. */
  const float *stacked[SIGLIP_MATRIX_MAX_STACKED];
  int n_stacked;
  /* The F32 rows stand for their bf16 rounding (to nearest even, as bf16 panels are packed):
   * every product rounds the weights as it reads them, so it gives the numbers of the panels
   * without them. A bf16 model's first load computes this way while its panels are written to
   * the weight cache (model.c, weight-cache-writer.h). */
  bool bf16_rows;
} siglip_matrix;

typedef struct {
  const float *ln1_w, *ln1_b;
  /* [q; k; v] stacked at load into one [3D, D] matrix and [3D] bias (model.c's bind_qkv), so
   * one product gives all three */
  siglip_matrix qkv;
  const float *qkv_b;
  siglip_matrix o;
  const float *o_b;
  const float *ln2_w, *ln2_b;
  siglip_matrix fc1, fc2; /* [I, D], [D, I] */
  const float *fc1_b, *fc2_b;
} siglip_layer_weights;

typedef struct {
  const float *token_embedding;    /* [V, D] */
  const float *position_embedding; /* [max_pos, D] */
  siglip_layer_weights *layers;    /* [num_layers] */
  const float *final_ln_w, *final_ln_b;
  siglip_matrix head;              /* [P, D] */
  const float *head_b;             /* [P] */
} siglip_text_weights;

typedef struct {
  siglip_matrix patch;             /* siglip2: [D, C*p*p] in (row, col, channel) patch order;
                                      siglip: Conv2d [D, C, p, p] = [D, C*p*p] (channel, row, col) */
  const float *patch_b;            /* [D] */
  const float *position_embedding; /* [num_patches, D] */
  siglip_layer_weights *layers;
  const float *post_ln_w, *post_ln_b;
  /* attention-pooling head (absent when vision_use_head is false) */
  const float *probe;              /* [D] */
  siglip_matrix head_in;           /* in_proj_weight [3D, D], rows [q; k; v] */
  const float *head_in_b;          /* [3D] */
  siglip_matrix head_out;
  const float *head_out_b;
  const float *head_ln_w, *head_ln_b;
  siglip_matrix head_fc1, head_fc2;
  const float *head_fc1_b, *head_fc2_b;
} siglip_vision_weights;

typedef struct siglip_text_cache siglip_text_cache; /* encode.c */

struct siglip_model {
  siglip_config config;
  siglip_preprocess_config preprocess;
  siglip_model_info info;
  char *directory;
  char *source; /* how a Hub id was resolved (siglip_model_info.source), NULL for a directory */
  siglip_weights *weights;
  siglip_tokenizer *tokenizer;
  siglip_text_weights text;
  siglip_vision_weights vision;
  float logit_scale, logit_bias;
  int n_threads;
  bool holds_pool; /* acquired the core's thread pool (pool.h); released by siglip_model_free */
  siglip_precision precision;
  /* F16/BF16 tensors converted to F32 at load; freed with the model */
  float **owned;
  int n_owned;
  siglip_text_cache *text_cache; /* label embeddings; has its own lock */
  siglip_label_cache *label_cache; /* on disk; not owned, may be NULL */
  char *identity;                  /* siglip_model_identity, when label_cache is set */
  struct siglip_weight_cache *weight_cache; /* the packed panels' mapping (weight-cache.h) */
  /* writing the panels' file while this model computes on bf16_rows (weight-cache-writer.h) */
  struct siglip_weight_cache_writer *weight_cache_writer;
  char *weight_cache_path, *weight_cache_note;
};

/* ------------------------------------------------------------------------------------------ */
/* encode.c — the text-embedding cache lives with the model; these let model.c create it */

siglip_text_cache *siglip_text_cache_new (void);
void               siglip_text_cache_free (siglip_text_cache *cache);

/* ------------------------------------------------------------------------------------------ */
/* label-cache.c — the disk layer under the text cache */

/* A digest of what decides the model's numbers: the snapshot revision when it is one, the
 * config, preprocessor and tokenizer files, and the weight files (sizes, headers, content or
 * samples of it). 16 hex digits, malloc'd. */
char *siglip_model_identity (const siglip_model *model);
/* Copies the embedding of `text` into `embedding` and returns true on a valid hit; a damaged
 * entry is removed and counts as a miss. */
bool siglip_label_cache_lookup (siglip_label_cache *cache, const char *identity,
                                siglip_precision precision, bool no_lowercase, const char *text,
                                float *embedding, int dim);
/* Best effort: a failed write only means the text is encoded again next time. */
void siglip_label_cache_store (siglip_label_cache *cache, const char *identity,
                               siglip_precision precision, bool no_lowercase, const char *text,
                               const float *embedding, int dim);

#endif /* SIGLIP_INTERNAL_H */
