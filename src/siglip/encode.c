/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Inference entry points: per-thread states, image and text encoding, the label-embedding
 * cache and the zero-shot scores (Siglip2Model.forward / SiglipModel.forward).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "encode.h"
#include "text.h"
#include "vision.h"

/* ---------------------------------------------------------------------------------------------
 * Text-embedding cache: key = lowercase flag + exact text after templating; bounded LRU.
 * A hash table of chains for lookup and a doubly linked recency list for eviction, both under
 * one mutex so that any number of states can share a model.
 */

#define CACHE_BUCKETS 1024

typedef struct cache_entry cache_entry;
struct cache_entry {
  cache_entry *chain;      /* next in the bucket */
  cache_entry *prev, *next; /* recency list, most recent first */
  uint64_t hash;
  int dim;
  float *embedding;
  char key[];              /* flag byte, then the text, NUL-terminated */
};

struct siglip_text_cache {
  pthread_mutex_t lock;
  cache_entry *buckets[CACHE_BUCKETS];
  cache_entry *head, *tail;
  int entries, capacity;
  uint64_t hits, misses, evictions;
};

siglip_text_cache *
siglip_text_cache_new (void)
{
  siglip_text_cache *cache = calloc (1, sizeof *cache);
  if (!cache)
    return NULL;
  pthread_mutex_init (&cache->lock, NULL);
  cache->capacity = SIGLIP_TEXT_CACHE_DEFAULT_CAPACITY;
  return cache;
}

void
siglip_text_cache_free (siglip_text_cache *cache)
{
  if (!cache)
    return;
  for (cache_entry *e = cache->head, *next; e; e = next)
    {
      next = e->next;
      free (e->embedding);
      free (e);
    }
  pthread_mutex_destroy (&cache->lock);
  free (cache);
}

static uint64_t
cache_hash (const char *key)
{
  uint64_t h = 1469598103934665603u; /* FNV-1a */
  for (const unsigned char *p = (const unsigned char *) key; *p; p++)
    h = (h ^ *p) * 1099511628211u;
  return h;
}

static void
list_unlink (siglip_text_cache *cache, cache_entry *e)
{
  if (e->prev)
    e->prev->next = e->next;
  else
    cache->head = e->next;
  if (e->next)
    e->next->prev = e->prev;
  else
    cache->tail = e->prev;
  e->prev = e->next = NULL;
}

static void
list_push_front (siglip_text_cache *cache, cache_entry *e)
{
  e->prev = NULL;
  e->next = cache->head;
  if (cache->head)
    cache->head->prev = e;
  cache->head = e;
  if (!cache->tail)
    cache->tail = e;
}

static cache_entry *
cache_find (siglip_text_cache *cache, const char *key, uint64_t hash)
{
  for (cache_entry *e = cache->buckets[hash % CACHE_BUCKETS]; e; e = e->chain)
    if (e->hash == hash && !strcmp (e->key, key))
      return e;
  return NULL;
}

static void
cache_evict_lru (siglip_text_cache *cache)
{
  cache_entry *e = cache->tail;
  cache_entry **link = &cache->buckets[e->hash % CACHE_BUCKETS];
  while (*link != e)
    link = &(*link)->chain;
  *link = e->chain;
  list_unlink (cache, e);
  free (e->embedding);
  free (e);
  cache->entries--;
  cache->evictions++;
}

/* "0text" / "1text": the flag first so that both variants of one text stay apart. */
static char *
cache_key (const char *text, bool no_lowercase)
{
  size_t len = strlen (text);
  char *key = malloc (len + 2);
  if (!key)
    return NULL;
  key[0] = no_lowercase ? '1' : '0';
  memcpy (key + 1, text, len + 1);
  return key;
}

/* Copies the cached embedding into `out` and marks it recently used; false on a miss. */
static bool
cache_lookup (siglip_text_cache *cache, const char *key, float *out, int dim)
{
  if (!cache)
    return false;
  const uint64_t hash = cache_hash (key);
  pthread_mutex_lock (&cache->lock);
  cache_entry *e = cache_find (cache, key, hash);
  if (e && e->dim == dim)
    {
      memcpy (out, e->embedding, (size_t) dim * sizeof (float));
      list_unlink (cache, e);
      list_push_front (cache, e);
      cache->hits++;
    }
  else
    cache->misses++;
  pthread_mutex_unlock (&cache->lock);
  return e && e->dim == dim;
}

/* Best effort: out of memory only means the text is encoded again next time. */
static void
cache_insert (siglip_text_cache *cache, const char *key, const float *embedding, int dim)
{
  if (!cache)
    return;
  const uint64_t hash = cache_hash (key);
  const size_t key_len = strlen (key);
  cache_entry *e = malloc (sizeof *e + key_len + 1);
  float *copy = malloc ((size_t) dim * sizeof (float));
  if (!e || !copy)
    {
      free (e);
      free (copy);
      return;
    }
  memcpy (e->key, key, key_len + 1);
  memcpy (copy, embedding, (size_t) dim * sizeof (float));
  e->embedding = copy;
  e->dim = dim;
  e->hash = hash;

  pthread_mutex_lock (&cache->lock);
  if (cache_find (cache, key, hash)) /* another thread encoded it meanwhile */
    {
      pthread_mutex_unlock (&cache->lock);
      free (copy);
      free (e);
      return;
    }
  while (cache->entries >= cache->capacity)
    cache_evict_lru (cache);
  e->chain = cache->buckets[hash % CACHE_BUCKETS];
  cache->buckets[hash % CACHE_BUCKETS] = e;
  list_push_front (cache, e);
  cache->entries++;
  pthread_mutex_unlock (&cache->lock);
}

void
siglip_text_cache_get_stats (const siglip_model *model, siglip_text_cache_stats *stats)
{
  siglip_text_cache *cache = model->text_cache;
  memset (stats, 0, sizeof *stats);
  if (!cache)
    return;
  pthread_mutex_lock (&cache->lock);
  stats->hits = cache->hits;
  stats->misses = cache->misses;
  stats->evictions = cache->evictions;
  stats->entries = cache->entries;
  stats->capacity = cache->capacity;
  pthread_mutex_unlock (&cache->lock);
}

void
siglip_text_cache_set_capacity (const siglip_model *model, int capacity)
{
  siglip_text_cache *cache = model->text_cache;
  if (!cache)
    return;
  pthread_mutex_lock (&cache->lock);
  cache->capacity = capacity > 1 ? capacity : 1;
  while (cache->entries > cache->capacity)
    cache_evict_lru (cache);
  pthread_mutex_unlock (&cache->lock);
}

/* ---------------------------------------------------------------------------------------------
 * States
 */

/* Texts per batch in one text-tower pass: 16 x 64 tokens = 1024 rows, already enough for the
 * GEMMs to run at full speed, while a long label list does not grow the scratch buffers.
 * Measured (siglens-bench, SO400M bf16): 0.0906 s per label for 8 labels in one pass, 0.0919 s
 * for 32 in two passes — the products are compute-bound from ~512 rows, so reading the
 * weights once more per 16 labels costs nothing measurable and a bigger batch would only
 * double the state's scratch. */
#define TEXT_BATCH 16
/* The largest NAFlex max_num_patches the state is sized for up front; larger grids grow it. */
#define VISION_TOKENS_PRESIZED 1024

struct siglip_state {
  const siglip_model *model;
  siglip_workspace ws;
};

static int
max_int (int a, int b)
{
  return a > b ? a : b;
}

siglip_state *
siglip_state_new (const siglip_model *model, siglip_error **error)
{
  const siglip_tower_config *tc = &model->config.text, *vc = &model->config.vision;
  siglip_state *state = calloc (1, sizeof *state);
  if (!state)
    {
      siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "out of memory creating a state");
      return NULL;
    }
  state->model = model;

  int vision_tokens, pos_tmp_rows = 0;
  if (model->config.kind == SIGLIP_KIND_SIGLIP2)
    {
      const int g = (int) sqrt ((double) vc->num_patches);
      vision_tokens = max_int (VISION_TOKENS_PRESIZED, model->preprocess.max_num_patches);
      pos_tmp_rows = g * g; /* a square-ish grid; wide grids grow it on demand */
    }
  else
    {
      const int side = vc->image_size / vc->patch_size;
      vision_tokens = side * side;
    }
  const int text_tokens = TEXT_BATCH * tc->max_position_embeddings;
  const int dim = max_int (tc->hidden_size, vc->hidden_size);
  const int inter = max_int (max_int (tc->intermediate_size, vc->intermediate_size),
                             max_int (3 * vc->hidden_size, model->vision.head_fc1.rows));
  const int tokens = max_int (max_int (vision_tokens, text_tokens), 3);
  const int seq = max_int (vision_tokens, tc->max_position_embeddings);
  const int head_dim = max_int (tc->hidden_size / tc->num_heads, vc->hidden_size / vc->num_heads);
  if (!siglip_workspace_reserve (&state->ws, dim, inter, tokens, pos_tmp_rows)
      || !siglip_workspace_reserve_attention (&state->ws, seq, head_dim))
    {
      siglip_set_error (error, SIGLIP_ERR_NO_MEMORY,
                        "out of memory allocating scratch for %d tokens of width %d", tokens,
                        dim);
      free (state);
      return NULL;
    }
  return state;
}

void
siglip_state_free (siglip_state *state)
{
  if (!state)
    return;
  siglip_workspace_clear (&state->ws);
  free (state);
}

/* ---------------------------------------------------------------------------------------------
 * Encoding
 */

static int
vision_dim (const siglip_model *model)
{
  return model->config.vision.hidden_size;
}

static int
text_dim (const siglip_model *model)
{
  return model->text.head.rows;
}

bool
siglip_encode_patches (siglip_state *state, const siglip_patches *patches,
                       const siglip_encode_options *options, float *embedding,
                       siglip_error **error)
{
  return siglip_vision_forward (state->model, &state->ws, patches, options, NULL, embedding, NULL,
                                error);
}

/* siglip_encode_image, with the pooling head's attention over the patch grid into *map when
 * map != NULL. */
static bool
encode_image (siglip_state *state, const siglip_image *image,
              const siglip_encode_options *options, float *embedding, int spatial_shape[2],
              siglip_attention_map **map, siglip_error **error)
{
  siglip_patches *patches =
    siglip_preprocess (state->model, image, options ? options->max_patches : 0, error);
  if (!patches)
    return false;
  const int n = patches->num_valid;
  siglip_attention_map *m = map ? calloc (1, sizeof *m) : NULL;
  if (m)
    *m = (siglip_attention_map) { patches->rows, patches->cols,
                                  malloc ((size_t) n * sizeof (float)) };
  bool ok = !map || (m && m->weights);
  if (!ok)
    siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "out of memory for the attention map");
  ok = ok && siglip_vision_forward (state->model, &state->ws, patches, options, NULL, embedding,
                                    m ? m->weights : NULL, error);
  if (ok && spatial_shape)
    {
      spatial_shape[0] = patches->rows;
      spatial_shape[1] = patches->cols;
    }
  if (ok && map)
    *map = m;
  else
    siglip_attention_map_free (m);
  siglip_patches_free (patches);
  return ok;
}

bool
siglip_encode_image (siglip_state *state, const siglip_image *image,
                     const siglip_encode_options *options, float *embedding,
                     int spatial_shape[2], siglip_error **error)
{
  return encode_image (state, image, options, embedding, spatial_shape, NULL, error);
}

bool
siglip_encode_image_attention (siglip_state *state, const siglip_image *image,
                               const siglip_encode_options *options, float *embedding,
                               siglip_attention_map **map, siglip_error **error)
{
  *map = NULL;
  return encode_image (state, image, options, embedding, NULL, map, error);
}

void
siglip_attention_map_free (siglip_attention_map *map)
{
  if (!map)
    return;
  free (map->weights);
  free (map);
}

bool
siglip_encode_token_ids (siglip_state *state, const int32_t *ids, int n,
                         const siglip_encode_options *options, float *embeddings,
                         siglip_error **error)
{
  return siglip_text_forward (state->model, &state->ws, ids, n, options, NULL, embeddings,
                              error);
}

/* The disk layer under the in-memory cache, when the model was loaded with one. */
static bool
disk_lookup (const siglip_model *model, const char *text, bool no_lowercase, float *out)
{
  return model->label_cache
         && siglip_label_cache_lookup (model->label_cache, model->identity, model->precision,
                                       no_lowercase, text, out, text_dim (model));
}

/* ids (len) = the tokenizer's padded ids for `text`. */
static bool
tokenize_padded (const siglip_model *model, const char *text, bool no_lowercase, int32_t *ids,
                 siglip_error **error)
{
  const int len = model->config.text.max_position_embeddings;
  int32_t *tokens = NULL;
  int n = 0;
  if (!siglip_tokenize (model->tokenizer, text, -1,
                        no_lowercase ? SIGLIP_TOKENIZE_NO_LOWERCASE : SIGLIP_TOKENIZE_DEFAULT,
                        &tokens, &n, len, error))
    return false;
  if (n != len)
    {
      free (tokens);
      return siglip_set_error (error, SIGLIP_ERR_INVALID_INPUT,
                               "text \"%.40s\": tokenizer gave %d ids, expected %d", text, n, len);
    }
  memcpy (ids, tokens, (size_t) len * sizeof (int32_t));
  free (tokens);
  return true;
}

bool
siglip_encode_texts (siglip_state *state, const char *const *texts, int n,
                     const siglip_encode_options *options, float *embeddings,
                     siglip_error **error)
{
  const siglip_model *model = state->model;
  const int dim = text_dim (model), len = model->config.text.max_position_embeddings;
  const bool no_lowercase = options && options->no_lowercase;
  if (n <= 0)
    return true;

  /* Texts not in the cache are tokenized into one id matrix and encoded in one pass. */
  char **keys = calloc ((size_t) n, sizeof *keys);
  int *missing = malloc ((size_t) n * sizeof *missing);
  int32_t *ids = malloc ((size_t) n * len * sizeof *ids);
  float *fresh = malloc ((size_t) n * dim * sizeof *fresh);
  bool ok = keys && missing && ids && fresh;
  if (!ok)
    siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "out of memory encoding %d texts", n);

  int n_missing = 0;
  for (int i = 0; ok && i < n; i++)
    {
      keys[i] = cache_key (texts[i], no_lowercase);
      if (!keys[i])
        ok = siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "out of memory encoding texts");
      else if (cache_lookup (model->text_cache, keys[i], embeddings + (size_t) i * dim, dim))
        continue;
      else if (disk_lookup (model, texts[i], no_lowercase, embeddings + (size_t) i * dim))
        cache_insert (model->text_cache, keys[i], embeddings + (size_t) i * dim, dim);
      else
        {
          ok = tokenize_padded (model, texts[i], no_lowercase, ids + (size_t) n_missing * len,
                                error);
          missing[n_missing++] = i;
        }
    }

  if (ok && n_missing > 0)
    ok = siglip_text_forward (model, &state->ws, ids, n_missing, options, NULL, fresh, error);
  for (int m = 0; ok && m < n_missing; m++)
    {
      const int i = missing[m];
      memcpy (embeddings + (size_t) i * dim, fresh + (size_t) m * dim,
              (size_t) dim * sizeof (float));
      cache_insert (model->text_cache, keys[i], fresh + (size_t) m * dim, dim);
      if (model->label_cache)
        siglip_label_cache_store (model->label_cache, model->identity, model->precision,
                                  no_lowercase, texts[i], fresh + (size_t) m * dim, dim);
    }

  for (int i = 0; keys && i < n; i++)
    free (keys[i]);
  free (keys);
  free (missing);
  free (ids);
  free (fresh);
  return ok;
}

static double
l2_norm (const float *x, int n)
{
  double s = 0;
  for (int i = 0; i < n; i++)
    s += (double) x[i] * x[i];
  return sqrt (s);
}

bool
siglip_encode_labels (siglip_state *state, const char *const *labels, int n_labels,
                      const siglip_encode_options *options, float *embeddings,
                      siglip_error **error)
{
  const siglip_model *model = state->model;
  const int dim = text_dim (model);
  if (n_labels <= 0)
    return true;
  /* one template, or each of the ensemble's */
  const bool ensemble = options && options->n_templates > 0;
  const int n_templates = ensemble ? options->n_templates : 1;
  for (int t = 0; ensemble && t < n_templates; t++)
    if (!options->templates || !options->templates[t])
      return siglip_set_error (error, SIGLIP_ERR_INVALID_INPUT,
                               "prompt ensemble: template %d of %d is missing", t + 1,
                               n_templates);
  const size_t n_texts = (size_t) n_templates * n_labels;

  /* texts[t * n_labels + i] = template t applied to label i, all encoded in one batch */
  char **texts = calloc (n_texts, sizeof *texts);
  float *out = ensemble ? malloc (n_texts * dim * sizeof *out) : embeddings;
  bool ok = texts && out;
  for (size_t k = 0; ok && k < n_texts; k++)
    {
      const char *template = ensemble  ? options->templates[k / n_labels]
                             : options ? options->template
                                       : NULL;
      ok = (texts[k] = siglip_apply_template (template, labels[k % n_labels])) != NULL;
    }
  if (!ok)
    siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "out of memory encoding %d labels", n_labels);
  if (ok)
    ok = siglip_encode_texts (state, (const char *const *) texts, (int) n_texts, options, out,
                              error);

  /* CLIP's prompt ensembling: each label's embedding is the mean of its unit embeddings */
  for (int i = 0; ok && ensemble && i < n_labels; i++)
    {
      float *e = embeddings + (size_t) i * dim;
      memset (e, 0, (size_t) dim * sizeof (float));
      for (int t = 0; t < n_templates; t++)
        {
          const float *x = out + ((size_t) t * n_labels + i) * dim;
          const double norm = l2_norm (x, dim);
          for (int j = 0; j < dim && norm > 0; j++)
            e[j] += (float) (x[j] / norm / n_templates);
        }
    }

  for (size_t k = 0; texts && k < n_texts; k++)
    free (texts[k]);
  free (texts);
  if (ensemble)
    free (out);
  return ok;
}

/* ---------------------------------------------------------------------------------------------
 * Scores
 */

void
siglip_score_embeddings (const siglip_model *model, const float *image_embedding,
                         const float *text_embeddings, int n, siglip_score *scores)
{
  /* Siglip2Model.forward: both embeddings L2-normalised,
   * logits = text @ image^T * logit_scale.exp () + logit_bias; the pipeline then applies a
   * sigmoid per label (not a softmax over labels). */
  const int dim = text_dim (model);
  const double scale = exp ((double) model->logit_scale), bias = model->logit_bias;
  const double image_norm = l2_norm (image_embedding, dim);
  for (int i = 0; i < n; i++)
    {
      const float *t = text_embeddings + (size_t) i * dim;
      double dot = 0;
      for (int j = 0; j < dim; j++)
        dot += (double) image_embedding[j] * t[j];
      const double denom = image_norm * l2_norm (t, dim);
      /* a zero vector scores 0; a non-finite one stays NaN rather than becoming a plausible
       * score (NaN > 0 is false) */
      const double cosine = denom > 0 ? dot / denom : denom == 0 ? 0.0 : NAN;
      const double logit = cosine * scale + bias;
      scores[i].logit = (float) logit;
      scores[i].probability = (float) (1.0 / (1.0 + exp (-logit)));
    }
}

void
siglip_score_batch (const siglip_model *model, const float *image_embeddings, int n_images,
                    const float *text_embeddings, int n_texts, siglip_score *scores)
{
  const int dim = vision_dim (model);
  for (int i = 0; i < n_images; i++)
    siglip_score_embeddings (model, image_embeddings + (size_t) i * dim, text_embeddings, n_texts,
                             scores + (size_t) i * n_texts);
}

bool
siglip_classify (siglip_state *state, const siglip_image *image, const char *const *labels,
                 int n_labels, const siglip_encode_options *options, siglip_score *scores,
                 siglip_error **error)
{
  const siglip_model *model = state->model;
  const int dim = text_dim (model);
  if (n_labels <= 0)
    return siglip_set_error (error, SIGLIP_ERR_INVALID_INPUT, "no labels to score");
  if (vision_dim (model) != dim)
    return siglip_set_error (error, SIGLIP_ERR_SHAPE,
                             "config.json: image embeddings have %d values but text embeddings "
                             "%d; they cannot be compared", vision_dim (model), dim);

  float *text_emb = malloc ((size_t) n_labels * dim * sizeof *text_emb);
  float *image_emb = malloc ((size_t) dim * sizeof *image_emb);
  bool ok = text_emb && image_emb;
  if (!ok)
    siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "out of memory scoring %d labels", n_labels);
  ok = ok && siglip_encode_labels (state, labels, n_labels, options, text_emb, error);
  ok = ok && siglip_encode_image (state, image, options, image_emb, NULL, error);
  if (ok)
    siglip_score_embeddings (model, image_emb, text_emb, n_labels, scores);
  free (text_emb);
  free (image_emb);
  return ok;
}
