/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * siglip.h — the whole public API of libsiglip, the Siglens model core.
 *
 * Plain C11: pixels and strings in, floats out. No GLib, no GTK. Errors are values:
 * every fallible call takes a `siglip_error **` (may be NULL) and, on failure, stores a
 * heap-allocated error whose message names the file, tensor or field that was wrong.
 *
 * Usage:
 *
 *   siglip_error *err = NULL;
 *   siglip_model *model = siglip_model_load ("google/siglip2-so400m-patch16-naflex", NULL, &err);
 *   if (!model) { fprintf (stderr, "%s\n", err->message); siglip_error_free (err); return 1; }
 *
 *   siglip_state *st = siglip_state_new (model, &err);          // one per worker thread
 *   siglip_image img = { rgb, width, height, width * 3 };       // 8-bit RGB, any row stride
 *   const char *labels[] = { "cat", "dog", "a red car" };
 *   siglip_score scores[3];
 *   siglip_classify (st, &img, labels, 3, NULL, scores, &err);  // NULL: default options
 *   // scores[i].probability = sigmoid (cos * exp (logit_scale) + logit_bias), per label
 *
 *   siglip_state_free (st);
 *   siglip_model_free (model);
 *
 * The same pipeline in its steps, for many images, labels that change, heatmaps and prompt
 * ensembles — what the app and siglens-cli are built from:
 *
 *   int dim = siglip_model_embed_dim_text (model);          // == embed_dim_vision for SigLIP
 *   siglip_encode_options opt = { .template = "a photo of {}." };  // or NULL: the default
 *   float *labels_emb = malloc (n_labels * dim * sizeof (float));
 *   siglip_encode_labels (st, labels, n_labels, &opt, labels_emb, &err);  // once per label set
 *
 *   float *image_emb = malloc (dim * sizeof (float));     // keep it with the image: new labels
 *   siglip_encode_image (st, &img, &opt, image_emb, NULL, &err);  // re-score without it
 *   siglip_score_embeddings (model, image_emb, labels_emb, n_labels, scores);
 *   // n images at once: siglip_score_batch (model, images_emb, n, labels_emb, n_labels, s)
 *
 *   // where the pooling head looked, for a heatmap over the patch grid:
 *   siglip_attention_map *map;
 *   siglip_encode_image_attention (st, &img, &opt, image_emb, &map, &err);
 *   // map->weights[r * map->cols + c], summing to 1; siglip_attention_map_free (map)
 *
 *   // a prompt ensemble: each label through several templates, one embedding per label
 *   const char *templates[] = { "a photo of {}.", "a drawing of {}.", "{}" };
 *   opt.templates = templates, opt.n_templates = 3;
 *   siglip_encode_labels (st, labels, n_labels, &opt, labels_emb, &err);
 *
 * Label embeddings are cached in the model by their exact text (and on disk with a
 * siglip_label_cache), so encoding a label set again costs only the labels that are new.
 *
 * A loaded siglip_model is immutable apart from its internally locked label-embedding cache,
 * so any number of threads may use it at once, each through its own siglip_state.
 */
#ifndef SIGLIP_H
#define SIGLIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------------------------------------
 * Errors
 */

typedef enum {
  SIGLIP_OK = 0,
  SIGLIP_ERR_IO,            /* a file could not be opened, read or mapped */
  SIGLIP_ERR_FORMAT,        /* a file is malformed: bad JSON, bad header, bad offsets, ... */
  SIGLIP_ERR_MISSING,       /* a required file, tensor or field is absent */
  SIGLIP_ERR_SHAPE,         /* a tensor's shape contradicts config.json */
  SIGLIP_ERR_UNSUPPORTED,   /* valid but not supported here (dtype, model_type, activation) */
  SIGLIP_ERR_INVALID_INPUT, /* bad caller input: invalid UTF-8, empty image, too many pixels */
  SIGLIP_ERR_NO_MEMORY,
  SIGLIP_ERR_CANCELLED,     /* the abort callback asked to stop */
} siglip_status;

typedef struct {
  siglip_status status;
  char *message; /* UTF-8, one sentence, names the file / tensor / field */
} siglip_error;

void        siglip_error_free (siglip_error *error);
const char *siglip_status_name (siglip_status status);

/* Returns true between layers when long work should stop (e.g. a GCancellable was cancelled).
 * Called from the worker thread doing the work. */
typedef bool (*siglip_abort_func) (void *user_data);

/* ---------------------------------------------------------------------------------------------
 * Loading a model
 */

typedef enum {
  SIGLIP_KIND_SIGLIP2 = 0, /* model_type "siglip2": NAFlex, variable patch grid */
  SIGLIP_KIND_SIGLIP,      /* model_type "siglip": fixed resolution, Conv2d patch embedding */
} siglip_kind;

typedef enum {
  SIGLIP_PRECISION_FP32 = 0,
  SIGLIP_PRECISION_BF16, /* weights packed to bf16 at load; AVX512-BF16 where the CPU has it */
} siglip_precision;

typedef struct siglip_label_cache siglip_label_cache; /* label embeddings on disk, below */

typedef struct {
  int n_threads;              /* 0: the machine's cores */
  siglip_precision precision; /* default FP32 */
  /* Optional progress while loading: fraction 0..1. */
  void (*progress) (double fraction, void *user_data);
  void *progress_data;
  siglip_abort_func abort_cb;
  void *abort_data;
  /* Optional: label embeddings are looked up here before the text tower runs and stored here
   * after (not owned; must outlive the model). */
  siglip_label_cache *label_cache;
  /* Packed weights (bf16) are kept in a file in this directory and mapped from it by later
   * loads; NULL: $XDG_CACHE_HOME/siglens/weights (siglip_model_info.weight_cache says what
   * happened). no_weight_cache packs in memory at every load instead. */
  const char *weight_cache_dir;
  bool no_weight_cache;
  /* Optional: called once, on the writing thread, when the weight cache file this load went on
   * writing in the background (weight_cache == SIGLIP_WEIGHT_CACHE_WRITING) is in place, could
   * not be written, or was stopped by siglip_model_free; never for a load that writes nothing
   * behind it, and never after siglip_model_free has returned. For a window that says so while
   * it lasts; it must not call back into the model. */
  void (*weight_cache_ended) (void *user_data);
  void *weight_cache_ended_data;
} siglip_load_options;

typedef struct siglip_model siglip_model;

/* `path` is a model directory (config.json, preprocessor_config.json, tokenizer files and
 * model.safetensors or model.safetensors.index.json + shards), or a Hugging Face Hub id such as
 * "google/siglip2-so400m-patch16-naflex" resolved in the local HF cache (see
 * siglip_resolve_model_path). `options` may be NULL. */
siglip_model *siglip_model_load (const char *path, const siglip_load_options *options,
                                 siglip_error **error);
void          siglip_model_free (siglip_model *model);

/* Resolves a directory or a Hub id to a snapshot directory in the HF cache layout:
 * $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub, then the folder Siglens
 * downloads to when that cache is read-only ($XDG_DATA_HOME/siglens/models). "ORG/NAME" takes
 * models--ORG--NAME/refs/main -> snapshots/REV/, or, without refs/main (a download pinned to a
 * commit), the only snapshot there is; "ORG/NAME@REV" takes snapshots/REV/ or refs/REV.
 * Returns a malloc'd path or NULL. */
char *siglip_resolve_model_path (const char *name_or_path, siglip_error **error);

typedef struct {
  int hidden_size;
  int intermediate_size;
  int num_layers;
  int num_heads;
  float layer_norm_eps;
  /* text tower */
  int vocab_size;
  int max_position_embeddings;
  int projection_size;
  /* vision tower */
  int patch_size;
  int num_channels;
  int num_patches; /* siglip2: size of the learned position table (a g x g grid) */
  int image_size;  /* siglip: fixed input resolution */
  int64_t num_params;
} siglip_tower_info;

typedef enum {
  SIGLIP_WEIGHT_CACHE_NONE = 0, /* nothing is packed at this precision */
  SIGLIP_WEIGHT_CACHE_HIT,      /* mapped from its file, checksums verified */
  SIGLIP_WEIGHT_CACHE_BUILT,    /* packed and written now (first load, or the model changed) */
  SIGLIP_WEIGHT_CACHE_OFF,      /* packed in memory: asked to, or the file could not be made */
  /* bf16 with a vector kernel (AVX2 or AVX-512), first load: this model computes on the weight
   * files' F32 rows, each weight rounded to bf16 as a product reads it (the numbers of the panels),
   * while the panels are written to the file on a background thread for the next load
   * (siglip_model_wait_weight_cache). This load holds the F32 rows, not half their size. */
  SIGLIP_WEIGHT_CACHE_WRITING,
} siglip_weight_cache_status;

typedef struct {
  siglip_kind kind;
  const char *model_type; /* "siglip2" | "siglip" */
  const char *directory;  /* resolved directory */
  const char *source;     /* for a Hub id, which snapshot of the HF cache and why; else NULL */
  siglip_tower_info text;
  siglip_tower_info vision;
  int64_t num_params;      /* all tensors the architecture uses */
  const char *file_dtype;  /* "F32", "BF16", "F16" or "mixed" as stored in the files */
  siglip_precision precision;
  int n_files;             /* safetensors files */
  int64_t weights_bytes;   /* total size of the safetensors files */
  int default_max_patches; /* preprocessor_config.json max_num_patches (siglip2) */
  float logit_scale;       /* raw parameter; the multiplier is exp(logit_scale) */
  float logit_bias;
  int n_threads;
  /* The packed weights' file (bf16; fp32 computes on the files' mapping and packs nothing). */
  siglip_weight_cache_status weight_cache;
  const char *weight_cache_note; /* why it was built, or why none is used; NULL on a hit */
  const char *weight_cache_path; /* NULL when none is used */
  int64_t weight_cache_bytes;    /* its size on disk */
} siglip_model_info;

const siglip_model_info *siglip_model_get_info (const siglip_model *model);
/* "hit", "built", "off", "writing" or "none": the names `siglens-cli info --json` and the bench
 * print. */
const char *siglip_weight_cache_status_name (siglip_weight_cache_status status);

/* Waits for the weight cache file a load is writing in the background (weight_cache ==
 * SIGLIP_WEIGHT_CACHE_WRITING) to be whole, so that the next load maps it: for a one-shot
 * program, after its answer. Then weight_cache_bytes is its size (0 while it is being
 * written). True at once when nothing is being written; false with *error
 * saying why the file could not be written (weight_cache is SIGLIP_WEIGHT_CACHE_OFF then, and
 * the note says it). siglip_model_free stops a write still going
 * (nothing is left then, and the next load writes it again). */
bool siglip_model_wait_weight_cache (siglip_model *model, siglip_error **error);
/* True while the file a load is writing in the background is still being written (weight_cache
 * is SIGLIP_WEIGHT_CACHE_WRITING and the write has not ended, either way); never blocks. For a
 * one-shot program to say why it waits. */
bool siglip_model_weight_cache_pending (const siglip_model *model);

/* ---------------------------------------------------------------------------------------------
 * Tokenizer (Gemma BPE with byte fallback, from tokenizer.json)
 */

typedef struct siglip_tokenizer siglip_tokenizer;

/* Loads tokenizer.json and tokenizer_config.json from a directory. */
siglip_tokenizer *siglip_tokenizer_load (const char *directory, siglip_error **error);
void              siglip_tokenizer_free (siglip_tokenizer *tokenizer);
int               siglip_tokenizer_vocab_size (const siglip_tokenizer *tokenizer);
/* Token string of an id (owned by the tokenizer), or NULL when out of range. */
const char       *siglip_tokenizer_id_to_token (const siglip_tokenizer *tokenizer, int32_t id);

/* The tokenizer a model loaded with it (owned by the model). */
const siglip_tokenizer *siglip_model_get_tokenizer (const siglip_model *model);

typedef enum {
  SIGLIP_TOKENIZE_DEFAULT = 0,        /* SigLIP 2: lowercase, <eos>, truncate, pad to length */
  SIGLIP_TOKENIZE_NO_LOWERCASE = 1 << 0,
  SIGLIP_TOKENIZE_RAW = 1 << 1,       /* bare BPE: no lowercasing, no specials, no padding */
} siglip_tokenize_flags;

/* Encodes UTF-8 `text` (length `len` bytes, or -1 for NUL-terminated). Without
 * SIGLIP_TOKENIZE_RAW, writes exactly `length` ids (the text tower's max_position_embeddings,
 * 64): BPE ids truncated to length-1, then <eos>, then <pad> to `length`.
 * With SIGLIP_TOKENIZE_RAW, returns a malloc'd array of all ids in *ids_out / *n_out.
 * In both modes *ids_out is malloc'd (free() it) and *n_out is its length (`length` without RAW).
 * Invalid UTF-8 is an SIGLIP_ERR_INVALID_INPUT error. */
bool siglip_tokenize (const siglip_tokenizer *tokenizer, const char *text, ptrdiff_t len,
                      unsigned flags, int32_t **ids_out, int *n_out, int length,
                      siglip_error **error);

/* ---------------------------------------------------------------------------------------------
 * Images and preprocessing
 */

/* 8-bit RGB pixels, row-major, `stride` bytes between rows (>= 3 * width).
 * Decoding, EXIF orientation and alpha removal happen before this, outside the core. */
typedef struct {
  const uint8_t *rgb;
  int width;
  int height;
  size_t stride;
} siglip_image;

/* Images with more pixels than this are refused before anything is allocated. */
#define SIGLIP_DEFAULT_MAX_PIXELS (100 * 1000 * 1000)

typedef struct {
  float *pixel_values;  /* [num_patches][patch_dim], rows >= num_valid are zero */
  int num_patches;      /* siglip2: max_num_patches (padded); siglip: grid size */
  int num_valid;        /* rows * cols */
  int patch_dim;        /* channels * patch * patch */
  int rows, cols;       /* spatial shape of the patch grid */
  int resized_width, resized_height;
  uint8_t *resized_rgb; /* the resized 8-bit image, resized_width * 3 bytes per row */
} siglip_patches;

/* Preprocesses as the model's image processor: siglip2 = NAFlex (target size search, Pillow
 * bilinear with antialiasing, rescale/normalise, patchify (row, col, channel), pad to
 * max_patches, 0 = preprocessor default); siglip = resize to image_size squared, patches in
 * (channel, row, col) order. */
siglip_patches *siglip_preprocess (const siglip_model *model, const siglip_image *image,
                                   int max_patches, siglip_error **error);
void            siglip_patches_free (siglip_patches *patches);

/* ---------------------------------------------------------------------------------------------
 * Inference
 */

typedef struct siglip_state siglip_state; /* per-thread scratch; not shared between threads */

siglip_state *siglip_state_new (const siglip_model *model, siglip_error **error);
void          siglip_state_free (siglip_state *state);

#define SIGLIP_DEFAULT_TEMPLATE "This is a photo of {}."
/* The template that gives the label as typed (siglip_encode_labels of texts used as given). */
#define SIGLIP_NO_TEMPLATE "{}"

typedef struct {
  int max_patches;      /* siglip2 only; 0 = preprocessor default (256) */
  /* How a label becomes the text the model reads: "{}" is replaced by the label; NULL =
   * SIGLIP_DEFAULT_TEMPLATE; SIGLIP_NO_TEMPLATE ("{}" alone) = the label as typed. */
  const char *template;
  /* A prompt ensemble: when n_templates > 0, each label is read through every one of these
   * templates instead, and its embedding is the mean of the L2-normalised ones (CLIP's prompt
   * ensembling). */
  const char *const *templates;
  int n_templates;
  bool no_lowercase;    /* SigLIP 2 lowercases text before tokenizing; this turns it off */
  siglip_abort_func abort_cb;
  void *abort_data;
} siglip_encode_options;

int siglip_model_embed_dim_vision (const siglip_model *model); /* pooled vision width */
int siglip_model_embed_dim_text (const siglip_model *model);   /* projection_size */

/* Pooled image embedding (before L2 normalisation), embed_dim_vision floats.
 * `spatial_shape` (may be NULL) receives [rows, cols] of the patch grid used. */
bool siglip_encode_image (siglip_state *state, const siglip_image *image,
                          const siglip_encode_options *options, float *embedding,
                          int spatial_shape[2], siglip_error **error);

/* Same from already preprocessed patches. */
bool siglip_encode_patches (siglip_state *state, const siglip_patches *patches,
                            const siglip_encode_options *options, float *embedding,
                            siglip_error **error);

/* Where the pooling head looked: the softmax weights of its probe over the patches, averaged
 * over its heads — a heatmap of what the image embedding is made of (it does not depend on
 * the labels). */
typedef struct {
  int rows, cols;  /* the patch grid the image was encoded at */
  float *weights;  /* rows * cols, row-major over the grid (patch (r, c) at r * cols + c),
                      summing to 1 */
} siglip_attention_map;

/* siglip_encode_image, and the attention map of its pooling head in *map (free with
 * siglip_attention_map_free; NULL on failure). */
bool siglip_encode_image_attention (siglip_state *state, const siglip_image *image,
                                    const siglip_encode_options *options, float *embedding,
                                    siglip_attention_map **map, siglip_error **error);
void siglip_attention_map_free (siglip_attention_map *map);

/* Text embeddings of labels, ready to score (n_labels * embed_dim_text floats, in order):
 * each label put into options->template — or into each of options->templates, a prompt
 * ensemble — lowercased unless options->no_lowercase, and encoded in one batch. Embeddings
 * are cached in the model keyed by the exact text and the lowercase flag, and on disk when the
 * model was loaded with a siglip_label_cache, so only new texts run the text tower. A single
 * template gives the pooled embedding (before L2 normalisation), an ensemble the mean of the
 * L2-normalised ones; scores normalise either. For texts used as given, SIGLIP_NO_TEMPLATE. */
bool siglip_encode_labels (siglip_state *state, const char *const *labels, int n_labels,
                           const siglip_encode_options *options, float *embeddings,
                           siglip_error **error);

/* Same from token ids ([n][max_position_embeddings]); bypasses tokenizer and cache. */
bool siglip_encode_token_ids (siglip_state *state, const int32_t *ids, int n,
                              const siglip_encode_options *options, float *embeddings,
                              siglip_error **error);

/* Applies a template: "{}" replaced by the label (first occurrence). Returns malloc'd text. */
char *siglip_apply_template (const char *template, const char *label);

typedef struct {
  float logit;       /* cos(image, text) * exp(logit_scale) + logit_bias */
  float probability; /* sigmoid(logit): independent per label, not a softmax */
} siglip_score;

/* Scores raw (unnormalised) embeddings: one image against n texts. */
void siglip_score_embeddings (const siglip_model *model, const float *image_embedding,
                              const float *text_embeddings, int n, siglip_score *scores);
/* The same for n_images images (n_images * embed_dim_vision floats): scores[i * n_texts + j]
 * is image i against text j. */
void siglip_score_batch (const siglip_model *model, const float *image_embeddings,
                         int n_images, const float *text_embeddings, int n_texts,
                         siglip_score *scores);

/* The whole zero-shot pipeline in one call: siglip_encode_labels, siglip_encode_image,
 * siglip_score_embeddings. `scores` has n_labels entries in the order the labels were given. */
bool siglip_classify (siglip_state *state, const siglip_image *image,
                      const char *const *labels, int n_labels,
                      const siglip_encode_options *options, siglip_score *scores,
                      siglip_error **error);

/* Splits a user's label list on ',', '，', '、' and newlines; trims whitespace; drops empty
 * entries; keeps the first of duplicates. Returns a NULL-terminated malloc'd array of malloc'd
 * strings (free with siglip_labels_free) and the count in *n_out. */
char **siglip_split_labels (const char *text, int *n_out);
void   siglip_labels_free (char **labels);

/* One entry of a typed label list, as the model will read it. */
typedef struct {
  const char *text; /* the entry as typed, trimmed (owned by the list) */
  int label;        /* index in labels[] of the label that scores this entry */
  bool merged;      /* an earlier entry reads the same to the model (e.g. "Cat" after "cat",
                       once lowercased): this one is not scored separately */
  bool truncated;   /* the templated text has more tokens than the text tower reads
                       (max_tokens): the rest of the entry is not seen */
  int n_dropped;    /* how many tokens are cut off when truncated */
} siglip_label_entry;

typedef struct {
  char **labels;               /* NULL-terminated: the distinct labels to classify, each spelled
                                  as first typed */
  int n_labels;
  siglip_label_entry *entries; /* every non-empty entry in typed order */
  int n_entries;
  int n_merged;                /* entries with .merged */
  int n_truncated;             /* entries with .truncated */
  int max_tokens;              /* the text tower's window (64), 0 when parsed without a model */
} siglip_label_list;

/* Splits `text` as siglip_split_labels does and merges the entries the model cannot tell apart:
 * with a model, those whose templated text (options->template, lowercasing unless
 * options->no_lowercase) gives the same token ids; without one (model NULL), those equal after
 * lowercasing. Reports truncation to the model's token window. Invalid UTF-8 in an entry is an
 * SIGLIP_ERR_INVALID_INPUT error naming the entry. `options` may be NULL. */
siglip_label_list *siglip_label_list_new (const char *text, const siglip_model *model,
                                          const siglip_encode_options *options,
                                          siglip_error **error);
/* Same from entries taken whole, one label each, commas included (a label file's lines);
 * empty entries are skipped. */
siglip_label_list *siglip_label_list_new_from_lines (const char *const *lines, int n_lines,
                                                     const siglip_model *model,
                                                     const siglip_encode_options *options,
                                                     siglip_error **error);
void               siglip_label_list_free (siglip_label_list *list);

/* ---------------------------------------------------------------------------------------------
 * The persistent label-embedding cache: one checksummed file per templated text, keyed by the
 * model's identity (its files' digest and, for a Hugging Face snapshot, its revision), the
 * precision, the lowercase flag and the exact text. Damaged, truncated or foreign entries are
 * dropped and recomputed, never trusted; writes are atomic (temporary file + rename).
 * Safe to share between threads and processes.
 */

#define SIGLIP_LABEL_CACHE_DEFAULT_MAX_BYTES ((int64_t) 256 << 20)

/* `directory` NULL: siglip_label_cache_default_directory (). max_bytes 0: the default cap;
 * the least recently used entries go beyond it. Creates the directory. */
siglip_label_cache *siglip_label_cache_open (const char *directory, int64_t max_bytes,
                                             siglip_error **error);
void                siglip_label_cache_free (siglip_label_cache *cache);
const char         *siglip_label_cache_get_directory (const siglip_label_cache *cache);
/* $XDG_CACHE_HOME/siglens/labels, else ~/.cache/siglens/labels. malloc'd, NULL without HOME. */
char               *siglip_label_cache_default_directory (void);
/* Removes every entry (and stray temporary) in `directory` (NULL: the default); other files
 * there are left alone. A directory that does not exist is already clear. */
bool                siglip_label_cache_clear (const char *directory, siglip_error **error);

typedef struct {
  uint64_t hits, misses;
  uint64_t dropped;   /* entries found damaged, truncated or stale, removed and recomputed */
  uint64_t stores, evictions;
  int entries;        /* on disk, as far as this process knows */
  int64_t bytes;
} siglip_label_cache_stats;

void siglip_label_cache_get_stats (siglip_label_cache *cache, siglip_label_cache_stats *stats);

#ifdef __cplusplus
}
#endif

#endif /* SIGLIP_H */
