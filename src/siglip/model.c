/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * model.c — opening a Hugging Face SigLIP / SigLIP 2 model directory: resolve the path (or Hub
 * id); read everything small first — the configs, the tokenizer, the safetensors headers with
 * every tensor the architecture needs checked by its HF name (FACTS.md §10) and shape against
 * config.json — and only then convert and pack the gigabytes of weights. The tokenizer alone
 * is parsed on a thread of its own while the weights are checked (tokenizer_job).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bf16.h"
#include "finite.h"
#include "gemm.h"
#include "internal.h"
#include "pool.h"
#include "util.h"
#include "weight-cache.h"
#include "weight-cache-writer.h"

/* Tensor names of the transformers state dict (Siglip2Model / SiglipModel). */
#define TN_LAYER          "%s.encoder.layers.%d.%s"
#define TN_TOKEN_EMBED    "text_model.embeddings.token_embedding.weight"
#define TN_TEXT_POS       "text_model.embeddings.position_embedding.weight"
#define TN_FINAL_LN       "text_model.final_layer_norm.%s"
#define TN_TEXT_HEAD      "text_model.head.%s"
#define TN_PATCH          "vision_model.embeddings.patch_embedding.%s"
#define TN_VISION_POS     "vision_model.embeddings.position_embedding.weight"
#define TN_POST_LN        "vision_model.post_layernorm.%s"
#define TN_HEAD           "vision_model.head.%s"

#define INDEX_FILE "model.safetensors.index.json"

/* ------------------------------------------------------------------------------------------ */
/* Hub ids */

static bool
is_directory (const char *path)
{
  struct stat st;
  return stat (path, &st) == 0 && S_ISDIR (st.st_mode);
}

/* One part of ORG/NAME as the Hub allows it: letters, digits, '-', '_', '.', not starting
 * with '.' (so neither "." nor ".." can walk out of the cache). */
static bool
valid_id_part (const char *s, size_t len)
{
  if (len == 0 || len > 96 || s[0] == '.')
    return false;
  for (size_t i = 0; i < len; i++)
    if (!isalnum ((unsigned char) s[i]) && !strchr ("-_.", s[i]))
      return false;
  return true;
}

/* $HF_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub (huggingface_hub's
 * default for HF_HOME), else ~/.cache/huggingface/hub. (transfer full) */
static char *
hub_cache_dir (void)
{
  const char *v;
  if ((v = getenv ("HF_HUB_CACHE")) && *v)
    return strdup (v);
  if ((v = getenv ("HF_HOME")) && *v)
    return siglip_strdup_printf ("%s/hub", v);
  if ((v = getenv ("XDG_CACHE_HOME")) && *v)
    return siglip_strdup_printf ("%s/huggingface/hub", v);
  const char *home = getenv ("HOME");
  return siglip_strdup_printf ("%s/.cache/huggingface/hub", home && *home ? home : ".");
}

/* Siglens' own cache in the same layout, where it downloads when the shared one cannot be
 * written (the Flatpak's read-only share): $XDG_DATA_HOME/siglens/models, else
 * ~/.local/share/siglens/models. (transfer full) */
static char *
app_cache_dir (void)
{
  const char *v;
  if ((v = getenv ("XDG_DATA_HOME")) && *v)
    return siglip_strdup_printf ("%s/siglens/models", v);
  const char *home = getenv ("HOME");
  return siglip_strdup_printf ("%s/.local/share/siglens/models", home && *home ? home : ".");
}

/* A revision as it names a file in the cache: refs/<name> or snapshots/<hash>. Letters, digits,
 * '-', '_', '.', not starting with '.', so it cannot walk out of the repository. */
static bool
valid_revision (const char *s)
{
  return valid_id_part (s, strlen (s));
}

/* refs/<ref> holds the commit hash of the snapshot huggingface_hub last downloaded for that
 * branch or tag. NULL with *error set; a missing file is SIGLIP_ERR_MISSING. */
static char *
read_ref (const char *repo_dir, const char *ref, const char *id, siglip_error **error)
{
  char *ref_path = siglip_strdup_printf ("%s/refs/%s", repo_dir, ref);
  if (!ref_path)
    {
      siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "%s: out of memory", id);
      return NULL;
    }
  char *rev = siglip_read_text_file (ref_path, 256, error);
  if (!rev)
    {
      free (ref_path);
      return NULL;
    }
  size_t len = strlen (rev);
  while (len > 0 && isspace ((unsigned char) rev[len - 1]))
    rev[--len] = '\0';
  bool ok = len > 0;
  for (size_t i = 0; i < len; i++)
    ok &= isxdigit ((unsigned char) rev[i]) != 0;
  if (!ok)
    {
      siglip_set_error (error, SIGLIP_ERR_FORMAT,
                        "%s: \"%.64s\" is not a revision hash", ref_path, rev);
      free (rev);
      rev = NULL;
    }
  free (ref_path);
  return rev;
}

/* The one entry of snapshots/ when there is exactly one (a download pinned to a commit writes
 * snapshots/REV/ but no refs/main). NULL with *error set otherwise. */
static char *
only_snapshot (const char *repo, const char *id, siglip_error **error)
{
  char *dir_path = siglip_strdup_printf ("%s/snapshots", repo);
  DIR *dir = dir_path ? opendir (dir_path) : NULL;
  char *found = NULL;
  int n = 0;
  if (dir)
    {
      struct dirent *e;
      while ((e = readdir (dir)))
        {
          if (e->d_name[0] == '.')
            continue;
          n++;
          free (found);
          found = strdup (e->d_name);
        }
      closedir (dir);
    }
  free (dir_path);
  if (n == 1 && found)
    return found;
  free (found);
  siglip_set_error (error, SIGLIP_ERR_MISSING,
                    "%s: found in the Hugging Face cache (%s) but it has no refs/main and %d "
                    "snapshots; name one as %s@REVISION", id, repo, n, id);
  return NULL;
}

/* The snapshot of `repo` to use: the pinned revision (a snapshot's hash, or a branch or tag
 * in refs/), else refs/main, else the only snapshot there is. Sets *note to how it was chosen,
 * for `info`. (transfer full) */
static char *
choose_snapshot (const char *repo, const char *id, const char *pinned, char **note,
                 siglip_error **error)
{
  char *rev = NULL;
  const char *how;
  if (pinned)
    {
      char *direct = siglip_strdup_printf ("%s/snapshots/%s", repo, pinned);
      bool exists = direct && is_directory (direct);
      free (direct);
      if (exists)
        rev = strdup (pinned), how = "the revision asked for";
      else if ((rev = read_ref (repo, pinned, id, error)))
        how = "the branch or tag asked for, in refs/";
      else
        {
          siglip_prefix_error (error, "%s@%s: the Hugging Face cache has neither snapshots/%s "
                               "nor a readable refs/%s", id, pinned, pinned, pinned);
          return NULL;
        }
    }
  else
    {
      siglip_error *missing = NULL;
      if ((rev = read_ref (repo, "main", id, &missing)))
        how = "refs/main";
      else if (missing->status == SIGLIP_ERR_MISSING)
        {
          siglip_error_free (missing);
          if (!(rev = only_snapshot (repo, id, error)))
            return NULL;
          how = "the only snapshot; there is no refs/main";
        }
      else
        {
          siglip_prefix_error (&missing, "%s: found in the Hugging Face cache but its revision "
                               "is unreadable", id);
          if (error && !*error)
            *error = missing;
          else
            siglip_error_free (missing);
          return NULL;
        }
    }
  char *snapshot = rev ? siglip_strdup_printf ("%s/snapshots/%s", repo, rev) : NULL;
  struct stat st;
  if (snapshot && stat (snapshot, &st) != 0 && errno == ELOOP)
    {
      siglip_file_error (error, snapshot, ELOOP, "open");
      free (snapshot);
      snapshot = NULL;
    }
  else if (snapshot && !is_directory (snapshot))
    {
      siglip_set_error (error, SIGLIP_ERR_MISSING,
                        "%s: the Hugging Face cache names revision %s but %s is missing", id, rev,
                        snapshot);
      free (snapshot);
      snapshot = NULL;
    }
  if (snapshot && note)
    *note = siglip_strdup_printf ("Hugging Face cache, %s, revision %s (%s%s)", id, rev, how,
                           pinned && strcmp (pinned, rev) ? pinned : "");
  if (!snapshot && rev && error && !*error)
    siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "%s: out of memory", id);
  free (rev);
  return snapshot;
}

char *
siglip_resolve_model_path (const char *name_or_path, siglip_error **error)
{
  return siglip_resolve_model_path_noted (name_or_path, NULL, error);
}

char *
siglip_resolve_model_path_noted (const char *name_or_path, char **note, siglip_error **error)
{
  if (note)
    *note = NULL;
  if (!name_or_path || !*name_or_path)
    {
      siglip_set_error (error, SIGLIP_ERR_INVALID_INPUT, "no model given");
      return NULL;
    }
  if (is_directory (name_or_path))
    {
      char *dir = strdup (name_or_path);
      if (!dir)
        siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "%s: out of memory", name_or_path);
      return dir;
    }

  struct stat st;
  if (stat (name_or_path, &st) != 0 && errno == ELOOP)
    {
      siglip_file_error (error, name_or_path, errno, "open");
      return NULL;
    }
  if (stat (name_or_path, &st) == 0)
    {
      siglip_set_error (error, SIGLIP_ERR_INVALID_INPUT,
                        "%s: not a directory (a model is the directory holding config.json)",
                        name_or_path);
      return NULL;
    }
  if (strstr (name_or_path, ".."))
    {
      siglip_set_error (error, SIGLIP_ERR_INVALID_INPUT,
                        "%s: not a directory, and '..' is not allowed in a Hugging Face id",
                        name_or_path);
      return NULL;
    }
  /* ORG/NAME or ORG/NAME@REVISION, as huggingface_hub's revision= argument */
  char *id = strdup (name_or_path);
  if (!id)
    {
      siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "%s: out of memory", name_or_path);
      return NULL;
    }
  char *at = strchr (id, '@');
  const char *pinned = NULL;
  if (at)
    {
      *at = '\0';
      pinned = at + 1;
    }
  const char *slash = strchr (id, '/');
  if (!slash || strchr (slash + 1, '/') || !valid_id_part (id, (size_t) (slash - id))
      || !valid_id_part (slash + 1, strlen (slash + 1)) || (pinned && !valid_revision (pinned)))
    {
      siglip_set_error (error, SIGLIP_ERR_MISSING,
                        "%s: no such directory, and not a Hugging Face id of the form ORG/NAME "
                        "or ORG/NAME@REVISION", name_or_path);
      free (id);
      return NULL;
    }

  char *cache = hub_cache_dir ();
  char *repo = cache ? siglip_strdup_printf ("%s/models--%.*s--%s", cache, (int) (slash - id), id,
                                      slash + 1)
                     : NULL;
  char *snapshot = NULL;
  if (repo && !is_directory (repo))
    {
      char *app = app_cache_dir ();
      char *app_repo = app ? siglip_strdup_printf ("%s/models--%.*s--%s", app,
                                                   (int) (slash - id), id, slash + 1)
                           : NULL;
      if (app_repo && is_directory (app_repo))
        {
          free (repo);
          repo = app_repo;
          app_repo = NULL;
        }
      free (app_repo);
      free (app);
    }
  if (!repo)
    siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "%s: out of memory", name_or_path);
  else if (!is_directory (repo))
    siglip_set_error (error, SIGLIP_ERR_MISSING,
                      "%s: no such directory, and not in the Hugging Face cache (looked for %s; "
                      "set HF_HUB_CACHE or HF_HOME to use another cache)", name_or_path, repo);
  else
    snapshot = choose_snapshot (repo, id, pinned, note, error);
  free (repo);
  free (cache);
  free (id);
  return snapshot;
}

/* ------------------------------------------------------------------------------------------ */
/* the tokenizer, on a thread of its own */

/* Gemma's tokenizer.json (11 MB) takes a core 0.24 s to parse, a quarter of an fp32 load that
 * reads its 4.5 GB of weights from the page cache in 0.6 s: on a thread of its own it overlaps
 * the finite check of the weights, which reads them on the pool. It still counts among the
 * small files: once it fails, the binding and the check stop at their next tensor (cancelled),
 * its error is the one reported (as when it was read before the weights), and nothing is packed
 * or recorded from the weights before it has loaded (tokenizer_finish comes first). */
typedef struct {
  const char *directory;
  pthread_t thread;
  bool threaded;              /* a thread to join */
  bool finished;
  siglip_tokenizer *tokenizer; /* (transfer full) to the model in tokenizer_finish */
  siglip_error *error;
  atomic_bool failed;         /* set by the thread, read by the loader */
} tokenizer_job;

static void *
tokenizer_thread (void *data)
{
  tokenizer_job *job = data;
  job->tokenizer = siglip_tokenizer_load (job->directory, &job->error);
  if (!job->tokenizer)
    atomic_store (&job->failed, true);
  return NULL;
}

/* On this thread at once when no thread can be made: slower, the same answer. */
static void
tokenizer_start (tokenizer_job *job, const char *directory)
{
  job->directory = directory;
  job->finished = false;
  atomic_init (&job->failed, false);
  job->threaded = pthread_create (&job->thread, NULL, tokenizer_thread, job) == 0;
  if (!job->threaded)
    tokenizer_thread (job);
}

/* Waits for the tokenizer and hands it to the model. False when it did not load or does not
 * fit the config: its error then replaces whatever *error held, since a small file's fault
 * explains the rest. Later calls return true (the error has been handed over). */
static bool
tokenizer_finish (tokenizer_job *job, siglip_model *m, siglip_error **error)
{
  if (!job->finished)
    {
      if (job->threaded)
        pthread_join (job->thread, NULL);
      job->finished = true;
      m->tokenizer = job->tokenizer;
      job->tokenizer = NULL;
      /* A tokenizer that can produce ids past the embedding table belongs to another model. */
      if (m->tokenizer && siglip_tokenizer_vocab_size (m->tokenizer) > m->config.text.vocab_size)
        siglip_set_error (&job->error, SIGLIP_ERR_SHAPE,
                          "tokenizer.json: %d tokens, but config.json text_config.vocab_size is "
                          "%d", siglip_tokenizer_vocab_size (m->tokenizer),
                          m->config.text.vocab_size);
    }
  if (!job->error)
    return true;
  if (error)
    {
      siglip_error_free (*error);
      *error = job->error;
    }
  else
    siglip_error_free (job->error);
  job->error = NULL;
  return false;
}

/* ------------------------------------------------------------------------------------------ */
/* binding tensors */

typedef struct {
  siglip_model *model;
  const siglip_load_options *options;
  bool check_only;    /* names, shapes and dtypes only: nothing is read, converted or packed */
  bool pack;          /* matrices go into the GEMM's packed layout (bind_matrix) */
  int64_t *params;    /* the tower being bound */
  int bound, expected; /* for progress */
  unsigned dtypes;    /* bit per siglip_dtype seen */
  siglip_error *error; /* first failure; every bind after it is a no-op */
  /* with pack: the matrices, packed (or mapped from the weight cache) once all are bound */
  siglip_pack_job *jobs;
  int n_jobs, cap_jobs;
  /* fp32: the weight cache's record says these very files passed the finite check */
  bool verified;
  /* the tensors waiting for the finite check (check_finite), read together by check_queued */
  siglip_finite_span *queue;
  const siglip_tensor **queued;
  int n_queued, cap_queued;
  double queue_done;  /* the fraction of the queue checked, for progress */
  double last_progress;
  tokenizer_job *tokenizer; /* still loading while the weights are bound and checked */
} loader;

#define SHAPE(...)                                                                                 \
  (const int64_t[]){ __VA_ARGS__ }, (int) (sizeof ((int64_t[]){ __VA_ARGS__ }) / sizeof (int64_t))

static bool
keep_owned (siglip_model *m, float *buffer)
{
  float **grown = realloc (m->owned, ((size_t) m->n_owned + 1) * sizeof *grown);
  if (!grown)
    return false;
  m->owned = grown;
  m->owned[m->n_owned++] = buffer;
  return true;
}

static bool
cancelled (loader *l)
{
  const siglip_load_options *o = l->options;
  if (l->error)
    return true;
  if (l->tokenizer && atomic_load (&l->tokenizer->failed))
    {
      /* replaced by the tokenizer's own error (tokenizer_finish) */
      siglip_set_error (&l->error, SIGLIP_ERR_CANCELLED, "%s: the tokenizer failed to load",
                        l->model->directory);
      return true;
    }
  if (o && o->abort_cb && o->abort_cb (o->abort_data))
    {
      siglip_set_error (&l->error, SIGLIP_ERR_CANCELLED, "%s: loading cancelled",
                        l->model->directory);
      return true;
    }
  return false;
}

static void
report_progress (loader *l)
{
  const siglip_load_options *o = l->options;
  if (o && o->progress && l->expected > 0)
    {
      /* a queued tensor counts once it is checked; never backwards */
      double f = (l->bound - l->n_queued + l->n_queued * l->queue_done) / l->expected;
      f = f < l->last_progress ? l->last_progress : f < 1.0 ? f : 1.0;
      l->last_progress = f;
      o->progress (f, o->progress_data);
    }
}

/* A NaN or an infinity in any weight makes every embedding NaN and every label the same
 * score: found at load and named. */
static bool
refuse_non_finite (loader *l, const siglip_tensor *t, int64_t bad)
{
  float value;
  if (t->dtype == SIGLIP_DTYPE_F32)
    memcpy (&value, (const uint8_t *) t->data + 4 * bad, 4);
  else
    {
      uint16_t h;
      memcpy (&h, (const uint8_t *) t->data + 2 * bad, 2);
      value = t->dtype == SIGLIP_DTYPE_BF16 ? siglip_bf16_to_f32 (h) : siglip_f16_to_f32 (h);
    }
  return siglip_set_error (&l->error, SIGLIP_ERR_FORMAT,
                           "%s: tensor %s: element %lld is %s; a model with non-finite weights "
                           "gives every label the same meaningless score",
                           siglip_weights_file_name (l->model->weights, t->file_index), t->name,
                           (long long) bad,
                           isnan (value) ? "NaN" : value > 0 ? "+Inf" : "-Inf");
}

/* Through the mapping, now: for the sources of a packing, whose pages prepare_job has just
 * made resident for it. */
static bool
check_finite_mapped (loader *l, const siglip_tensor *t)
{
  if (l->verified || t->dtype == SIGLIP_DTYPE_OTHER)
    return true; /* refused by check_dtype */
  const int64_t bad = siglip_first_non_finite (t->data, t->dtype, t->numel);
  return bad < 0 || refuse_non_finite (l, t, bad);
}

/* Every other tensor joins the queue that check_queued reads from the files in one parallel
 * job once all are bound (finite.c: faulting the mapping in cost more than reading the files,
 * and one job per tensor waited at each end for a worker that had lost its core). */
static bool
check_finite (loader *l, const siglip_tensor *t)
{
  if (l->verified || t->dtype == SIGLIP_DTYPE_OTHER)
    return true;
  if (l->n_queued == l->cap_queued)
    {
      const int cap = l->cap_queued ? 2 * l->cap_queued : 512;
      siglip_finite_span *grown = realloc (l->queue, (size_t) cap * sizeof *grown);
      if (grown)
        l->queue = grown;
      const siglip_tensor **grown_t = grown ? realloc (l->queued, (size_t) cap * sizeof *grown_t)
                                            : NULL;
      if (!grown_t)
        return check_finite_mapped (l, t); /* the same check, only slower */
      l->queued = grown_t;
      l->cap_queued = cap;
    }
  int64_t offset = 0;
  const int fd = siglip_tensor_file_offset (l->model->weights, t, &offset);
  l->queue[l->n_queued] = (siglip_finite_span) { t->data, fd, offset, t->dtype, t->numel };
  l->queued[l->n_queued++] = t;
  return true;
}

static bool
queue_stop (void *data)
{
  return cancelled (data);
}

static void
queue_progress (void *data, double fraction)
{
  loader *l = data;
  l->queue_done = fraction;
  report_progress (l);
}

/* The queued tensors' finite check, once they are all bound and before anything is packed or
 * recorded: nothing is built from weights that fail it. */
static void
check_queued (loader *l)
{
  if (l->error || l->n_queued == 0)
    return;
  const siglip_finite_hooks hooks = { queue_stop, queue_progress, l };
  int64_t element = -1;
  const int bad = siglip_first_non_finite_read (l->queue, l->n_queued, &element, &hooks);
  if (bad >= 0)
    refuse_non_finite (l, l->queued[bad], element);
  else if (bad == -2 && !l->error)
    siglip_set_error (&l->error, SIGLIP_ERR_NO_MEMORY, "%s: out of memory",
                      l->model->directory);
  /* -3: stopped by queue_stop, which set the error */
  l->queue_done = 1.0;
  l->n_queued = 0;
  if (!l->error)
    report_progress (l);
}

/* Looks up the tensor named by fmt... and checks its shape. NULL once anything failed. */
static const siglip_tensor *find_v (loader *l, const int64_t *shape, int ndim, const char *fmt,
                                    va_list ap) __attribute__ ((format (printf, 4, 0)));

static const siglip_tensor *
find_v (loader *l, const int64_t *shape, int ndim, const char *fmt, va_list ap)
{
  if (cancelled (l))
    return NULL;
  char name[256];
  vsnprintf (name, sizeof name, fmt, ap);

  siglip_weights *w = l->model->weights;
  const siglip_tensor *t = siglip_weights_find (w, name);
  if (!t)
    {
      siglip_set_error (&l->error, SIGLIP_ERR_MISSING, "%s: missing tensor %s",
                        siglip_weights_n_files (w) == 1 ? siglip_weights_file_name (w, 0)
                                                        : INDEX_FILE, name);
      return NULL;
    }
  bool same = t->ndim == ndim;
  for (int i = 0; same && i < ndim; i++)
    same = t->shape[i] == shape[i];
  if (!same)
    {
      char have[128], want[128];
      siglip_format_shape (have, sizeof have, t->shape, t->ndim);
      siglip_format_shape (want, sizeof want, shape, ndim);
      siglip_set_error (&l->error, SIGLIP_ERR_SHAPE, "%s: tensor %s: shape %s expected %s",
                        siglip_weights_file_name (w, t->file_index), name, have, want);
      return NULL;
    }
  return t;
}

static void
count_bound (loader *l, const siglip_tensor *t)
{
  *l->params += t->numel;
  l->dtypes |= 1u << t->dtype;
  l->bound++;
  report_progress (l);
}

/* Looks up the tensor named by fmt..., checks its shape, returns its values as F32 (in place
 * or converted into a buffer the model owns). NULL once anything failed. */
/* The check pass: the tensor exists with the right shape and a dtype we compute with. */
static void
check_dtype (loader *l, const siglip_tensor *t)
{
  if (t && t->dtype == SIGLIP_DTYPE_OTHER)
    siglip_set_error (&l->error, SIGLIP_ERR_UNSUPPORTED,
                      "%s: tensor %s: dtype %s is not supported (expected F32, F16 or BF16)",
                      siglip_weights_file_name (l->model->weights, t->file_index), t->name,
                      t->dtype_name);
}

static void check_v (loader *l, const int64_t *shape, int ndim, const char *fmt, va_list ap)
  __attribute__ ((format (printf, 4, 0)));
static const float *bind_v (loader *l, const int64_t *shape, int ndim, const char *fmt,
                            va_list ap) __attribute__ ((format (printf, 4, 0)));

static void
check_v (loader *l, const int64_t *shape, int ndim, const char *fmt, va_list ap)
{
  check_dtype (l, find_v (l, shape, ndim, fmt, ap));
}

static const float *
bind_v (loader *l, const int64_t *shape, int ndim, const char *fmt, va_list ap)
{
  if (l->check_only)
    {
      check_v (l, shape, ndim, fmt, ap);
      return NULL;
    }
  const siglip_tensor *t = find_v (l, shape, ndim, fmt, ap);
  /* values only once shapes are known good: the check-only pass reads no weights */
  if (!t || !check_finite (l, t))
    return NULL;
  siglip_weights *w = l->model->weights;
  float *owned = NULL;
  const float *values = siglip_tensor_as_f32 (w, t, &owned, &l->error);
  if (owned && !keep_owned (l->model, owned))
    {
      free (owned);
      siglip_set_error (&l->error, SIGLIP_ERR_NO_MEMORY, "%s: out of memory", t->name);
      return NULL;
    }
  if (values)
    count_bound (l, t);
  return values;
}

static const float *
bind (loader *l, const int64_t *shape, int ndim, const char *fmt, ...)
  __attribute__ ((format (printf, 4, 5)));

static const float *
bind (loader *l, const int64_t *shape, int ndim, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  const float *v = bind_v (l, shape, ndim, fmt, ap);
  va_end (ap);
  return v;
}

/* The pages of [data, data + bytes) that lie wholly inside the range leave our resident set:
 * the mapping is a private read-only file mapping, so the kernel drops them from our page
 * tables (they stay in the page cache) and would fault them in again if read — nothing reads
 * them after packing. The partial pages at the ends may hold neighbouring tensors and stay. */
static void
release_pages (const void *data, size_t bytes)
{
  const uintptr_t page = (uintptr_t) sysconf (_SC_PAGESIZE);
  const uintptr_t begin = ((uintptr_t) data + page - 1) & ~(page - 1);
  const uintptr_t end = ((uintptr_t) data + bytes) & ~(page - 1);
  if (end > begin)
    madvise ((void *) begin, end - begin, MADV_DONTNEED);
}

/* A matrix to pack once everything is bound (pack_matrices): rows from `n` tensors stacked. */
static void
add_pack_job (loader *l, siglip_matrix *m, const siglip_tensor *const *tensors, int n)
{
  if (l->n_jobs == l->cap_jobs)
    {
      const int cap = l->cap_jobs ? 2 * l->cap_jobs : 256;
      siglip_pack_job *grown = realloc (l->jobs, (size_t) cap * sizeof *grown);
      if (!grown)
        {
          siglip_set_error (&l->error, SIGLIP_ERR_NO_MEMORY, "%s: out of memory", tensors[0]->name);
          return;
        }
      l->jobs = grown;
      l->cap_jobs = cap;
    }
  siglip_pack_job *job = &l->jobs[l->n_jobs++];
  *job = (siglip_pack_job) { .matrix = m, .n_parts = n };
  for (int p = 0; p < n; p++)
    {
      job->tensors[p] = tensors[p];
      job->parts[p] = (siglip_gemm_rows) { tensors[p]->data, tensors[p]->dtype,
                                           (int) tensors[p]->shape[0] };
    }
}

/* Before a matrix is packed: not cancelled, its pages mapped (in one call: the scan and the
 * packing then fault nothing), every source value finite. */
static bool
prepare_job (void *data, const siglip_pack_job *job)
{
  loader *l = data;
  for (int p = 0; p < job->n_parts; p++)
    {
      if (cancelled (l))
        return false;
      /* in one call, not one fault per 64 KiB: page faults are what a load spends most of its
       * time on, more so in a VM */
      siglip_populate_pages (job->tensors[p]->data, job->tensors[p]->nbytes, false);
      if (!check_finite_mapped (l, job->tensors[p]))
        return false;
    }
  return true;
}

/* Packed: nothing reads the sources again (the panels are what the layers use). */
static void
job_done (void *data, const siglip_pack_job *job)
{
  loader *l = data;
  for (int p = 0; p < job->n_parts; p++)
    {
      release_pages (job->tensors[p]->data, job->tensors[p]->nbytes);
      count_bound (l, job->tensors[p]);
    }
}

/* Before anything is made from the weights: the tokenizer has loaded and fits. */
static bool
await_tokenizer (loader *l)
{
  if (l->error)
    return false;
  return !l->tokenizer || tokenizer_finish (l->tokenizer, l->model, &l->error);
}

/* Without a weight cache: each matrix packed into memory of its own. */
static void
pack_in_memory (loader *l)
{
  if (!await_tokenizer (l))
    return;
  for (int i = 0; i < l->n_jobs && !l->error; i++)
    {
      siglip_pack_job *job = &l->jobs[i];
      if (!prepare_job (l, job))
        return;
      if (!siglip_gemm_pack_stacked (job->matrix, l->model->precision, job->parts, job->n_parts,
                                     &l->error))
        {
          siglip_prefix_error (&l->error, "%s: tensor %s",
                               siglip_weights_file_name (l->model->weights,
                                                         job->tensors[0]->file_index),
                               job->tensors[0]->name);
          return;
        }
      job_done (l, job);
    }
}

/* Where the weight cache file of this load is, and its key; false (with the note set) when
 * there is no place for one. */
static bool
cache_place (loader *l, char **dir, char **path, char **key)
{
  siglip_model *m = l->model;
  const siglip_load_options *o = l->options;
  *dir = o && o->weight_cache_dir ? strdup (o->weight_cache_dir)
                                  : siglip_weight_cache_default_directory ();
  *path = *dir ? siglip_weight_cache_path (*dir, m->directory, m->precision) : NULL;
  *key = *path ? siglip_weight_cache_key (m, m->precision,
                                          l->pack ? siglip_gemm_packed_layout (m->precision)
                                                  : "f32 rows in place, checked finite")
               : NULL;
  if (*key)
    return true;
  m->info.weight_cache = SIGLIP_WEIGHT_CACHE_OFF;
  free (m->weight_cache_note);
  m->weight_cache_note = strdup (*dir ? "out of memory" : "neither XDG_CACHE_HOME nor HOME is set");
  return false;
}

/* fp32 computes on the files' mapping and packs nothing, so its weight cache file holds no
 * panels, only the key: the record that these very files (size, inode, mtime, ctime: any
 * rewrite is another key) passed the finite check at an earlier load. With it the load skips
 * the scan of every weight — 4.3 GB read for SO400M, as much as reading the files. */
static void
open_check_record (loader *l)
{
  siglip_model *m = l->model;
  const siglip_load_options *o = l->options;
  if (o && o->no_weight_cache)
    return;
  char *dir = NULL, *path = NULL, *key = NULL, *why = NULL;
  if (l->pack)
    {
      /* bf16: the panels' file is opened once the matrices are bound (pack_matrices), but a
       * sound header with this key already says that every tensor of these files passed the
       * check when it was built, so the vectors and tables bound here are not scanned again
       * (1.2 GB of token embedding for SO400M in F32) */
      if (cache_place (l, &dir, &path, &key))
        l->verified = siglip_weight_cache_probe (path, key);
    }
  else if (cache_place (l, &dir, &path, &key)
           && (m->weight_cache = siglip_weight_cache_open (path, key, m->precision, NULL, 0, &why)))
    {
      l->verified = true;
      m->info.weight_cache = SIGLIP_WEIGHT_CACHE_HIT;
      m->info.weight_cache_bytes = siglip_weight_cache_bytes (m->weight_cache);
      m->weight_cache_path = path;
      path = NULL;
    }
  else
    {
      if (why)
        {
          free (m->weight_cache_note);
          m->weight_cache_note = why; /* for write_check_record */
          why = NULL;
        }
    }
  free (why);
  free (key);
  free (path);
  free (dir);
}

/* After a load that checked every weight: the record for the next one. */
static void
write_check_record (loader *l)
{
  siglip_model *m = l->model;
  const siglip_load_options *o = l->options;
  if (l->pack || l->verified || l->error)
    return;
  if (o && o->no_weight_cache)
    {
      m->info.weight_cache = SIGLIP_WEIGHT_CACHE_OFF;
      free (m->weight_cache_note);
      m->weight_cache_note = strdup ("turned off");
      return;
    }
  char *dir = NULL, *path = NULL, *key = NULL;
  siglip_error *failed = NULL;
  if (!cache_place (l, &dir, &path, &key))
    ;
  else if ((m->weight_cache = siglip_weight_cache_build (path, key, m->precision, NULL, 0, NULL,
                                                         &failed)))
    {
      m->info.weight_cache = SIGLIP_WEIGHT_CACHE_BUILT;
      m->info.weight_cache_bytes = siglip_weight_cache_bytes (m->weight_cache);
      m->weight_cache_path = path;
      path = NULL;
    }
  else
    {
      m->info.weight_cache = SIGLIP_WEIGHT_CACHE_OFF;
      free (m->weight_cache_note);
      m->weight_cache_note = siglip_strdup_printf ("not kept: %s", failed->message);
    }
  siglip_error_free (failed);
  free (key);
  free (path);
  free (dir);
}

/* A miss of a bf16 load where the bf16 product is the fp32 kernel's on rounded weights
 * (siglip_gemm_can_round_rows) and every matrix is F32 rows in the files, which the products
 * can then read in place. */
static bool
rows_can_stand_in (const loader *l)
{
  if (l->model->precision != SIGLIP_PRECISION_BF16 || !siglip_gemm_can_round_rows ())
    return false;
  for (int i = 0; i < l->n_jobs; i++)
    for (int p = 0; p < l->jobs[i].n_parts; p++)
      if (l->jobs[i].parts[p].dtype != SIGLIP_DTYPE_F32
          || (uintptr_t) l->jobs[i].parts[p].data % sizeof (float) != 0)
        return false;
  return true;
}

/* The matrices bound to the files' F32 rows, standing for their bf16 rounding, each source
 * checked finite first; their panels are written to the weight cache on a thread meanwhile
 * (weight-cache-writer.c says why), for the next load to map. */
static void
compute_on_rows (loader *l, const char *path, const char *key, char *why)
{
  siglip_model *m = l->model;
  for (int i = 0; i < l->n_jobs; i++)
    for (int p = 0; p < l->jobs[i].n_parts; p++)
      check_finite (l, l->jobs[i].tensors[p]);
  check_queued (l);
  if (l->error)
    {
      free (why);
      return;
    }
  for (int i = 0; i < l->n_jobs; i++)
    {
      const siglip_pack_job *job = &l->jobs[i];
      siglip_matrix *mat = job->matrix;
      if (job->n_parts == 1)
        mat->w = job->parts[0].data;
      else
        for (int p = 0; p < job->n_parts; p++)
          mat->stacked[p] = job->parts[p].data;
      mat->n_stacked = job->n_parts == 1 ? 0 : job->n_parts;
      mat->bf16_rows = true;
      for (int p = 0; p < job->n_parts; p++)
        count_bound (l, job->tensors[p]);
    }
  siglip_error *failed = NULL;
  const siglip_load_options *o = l->options;
  m->weight_cache_writer = siglip_weight_cache_writer_start (
    path, key, m->precision, l->jobs, l->n_jobs, o ? o->weight_cache_ended : NULL,
    o ? o->weight_cache_ended_data : NULL, &failed);
  free (m->weight_cache_note);
  if (m->weight_cache_writer)
    {
      m->info.weight_cache = SIGLIP_WEIGHT_CACHE_WRITING;
      m->weight_cache_path = strdup (path);
      m->weight_cache_note = why;
    }
  else
    {
      m->info.weight_cache = SIGLIP_WEIGHT_CACHE_OFF;
      m->weight_cache_note = siglip_strdup_printf ("not kept: %s", failed->message);
      free (why);
    }
  siglip_error_free (failed);
}

/* The bound matrices' panels: mapped from the weight cache when it holds them for exactly
 * these files; else, where the rows can stand in for them, none for this load (it computes on
 * the rows while a thread writes the file: compute_on_rows); else packed into a new cache file
 * (each source checked finite first); else, when no file can be made, packed in memory. */
static void
pack_matrices (loader *l)
{
  siglip_model *m = l->model;
  const siglip_load_options *o = l->options;
  if (l->error || l->n_jobs == 0)
    return;
  if (o && o->no_weight_cache)
    {
      m->info.weight_cache = SIGLIP_WEIGHT_CACHE_OFF;
      m->weight_cache_note = strdup ("turned off");
      pack_in_memory (l);
      return;
    }
  char *dir = NULL, *path = NULL, *key = NULL, *why = NULL;
  if (cache_place (l, &dir, &path, &key))
    m->weight_cache = siglip_weight_cache_open (path, key, m->precision, l->jobs, l->n_jobs, &why);
  if (m->weight_cache)
    {
      m->info.weight_cache = SIGLIP_WEIGHT_CACHE_HIT;
      for (int i = 0; i < l->n_jobs; i++)
        for (int p = 0; p < l->jobs[i].n_parts; p++)
          count_bound (l, l->jobs[i].tensors[p]);
    }
  else if (key && rows_can_stand_in (l))
    {
      if (await_tokenizer (l))
        compute_on_rows (l, path, key, why);
      else
        free (why);
      why = NULL;
    }
  else if (key && await_tokenizer (l))
    {
      const int bound = l->bound;
      const siglip_weight_cache_hooks hooks = { prepare_job, job_done, l };
      siglip_error *failed = NULL;
      m->weight_cache = siglip_weight_cache_build (path, key, m->precision, l->jobs, l->n_jobs,
                                                   &hooks, &failed);
      if (m->weight_cache)
        {
          m->info.weight_cache = SIGLIP_WEIGHT_CACHE_BUILT;
          m->weight_cache_note = why;
          why = NULL;
        }
      else if (!l->error)
        {
          /* a cache that cannot be written costs speed, not the load */
          m->info.weight_cache = SIGLIP_WEIGHT_CACHE_OFF;
          m->weight_cache_note = siglip_strdup_printf ("not kept: %s", failed->message);
          l->bound = bound;
          pack_in_memory (l);
        }
      siglip_error_free (failed);
    }
  else if (!key)
    pack_in_memory (l);
  if (m->weight_cache)
    {
      m->weight_cache_path = path;
      path = NULL;
      m->info.weight_cache_bytes = siglip_weight_cache_bytes (m->weight_cache);
    }
  free (why);
  free (key);
  free (path);
  free (dir);
}

/* A weight matrix: rows = shape[0], cols = the product of the other dimensions, so a Conv2d
 * kernel [D, C, p, p] becomes the [D, C*p*p] matrix of a linear layer over (c, y, x) patches.
 *
 * When the GEMM wants its own layout (bf16 precision; fp32 never since our kernels read rows;
 * gemm.h) the matrix becomes a pack job for pack_matrices: its panels are mapped from the
 * weight cache, or packed straight from the file's dtype (no F32 copy of a BF16 file) with the
 * source pages released at once, so the weights are resident once, in the packed form, and .w
 * is NULL: every product goes through siglip_linear, which reads only .packed. (A bf16 load that
 * misses the cache where the products can read rows as bf16 binds the rows instead, marked
 * bf16_rows: compute_on_rows.)
 * Otherwise .w is the F32 view of the mapping (or a converted copy) for OpenBLAS. */
static void
bind_matrix (loader *l, siglip_matrix *m, const int64_t *shape, int ndim, const char *fmt, ...)
  __attribute__ ((format (printf, 5, 6)));

static void
bind_matrix (loader *l, siglip_matrix *m, const int64_t *shape, int ndim, const char *fmt, ...)
{
  m->w = NULL;
  m->packed = NULL;
  m->rows = (int) shape[0];
  m->cols = 1;
  for (int i = 1; i < ndim; i++)
    m->cols *= (int) shape[i];

  va_list ap;
  va_start (ap, fmt);
  if (!l->pack || l->check_only)
    {
      m->w = bind_v (l, shape, ndim, fmt, ap);
      va_end (ap);
      return;
    }
  const siglip_tensor *t = find_v (l, shape, ndim, fmt, ap);
  va_end (ap);
  if (t)
    add_pack_job (l, m, &t, 1);
}

static const siglip_tensor *
find (loader *l, const int64_t *shape, int ndim, const char *fmt, ...)
  __attribute__ ((format (printf, 4, 5)));

static const siglip_tensor *
find (loader *l, const int64_t *shape, int ndim, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  const siglip_tensor *t = find_v (l, shape, ndim, fmt, ap);
  va_end (ap);
  return t;
}

/* floats the model owns (freed with it); NULL after recording the failure */
static float *
owned_buffer (loader *l, size_t floats, const char *tower, int i)
{
  if (l->error)
    return NULL;
  float *p = malloc (floats * sizeof (float));
  if (!p || !keep_owned (l->model, p))
    {
      free (p);
      siglip_set_error (&l->error, SIGLIP_ERR_NO_MEMORY, "%s layer %d: out of memory for q/k/v",
                        tower, i);
      return NULL;
    }
  return p;
}

/* A layer's [q; k; v]: one [3D, D] matrix and [3D] bias stacked from the three projections'
 * tensors, so that one product gives all three (Siglip2Attention's q_proj, k_proj, v_proj).
 * Packed from the mapping like bind_matrix; unpacked, the three are stacked by reference. */
static void
bind_qkv (loader *l, siglip_layer_weights *lw, const char *tower, int i, int64_t D)
{
  static const char *const proj[3] = { "q_proj", "k_proj", "v_proj" };
  const siglip_tensor *w[3] = { NULL }, *b[3] = { NULL };
  for (int p = 0; p < 3; p++)
    {
      char what[64];
      snprintf (what, sizeof what, "self_attn.%s.weight", proj[p]);
      w[p] = find (l, SHAPE (D, D), TN_LAYER, tower, i, what);
      snprintf (what, sizeof what, "self_attn.%s.bias", proj[p]);
      b[p] = find (l, SHAPE (D), TN_LAYER, tower, i, what);
    }
  lw->qkv = (siglip_matrix) { .rows = (int) (3 * D), .cols = (int) D };
  if (l->check_only)
    for (int p = 0; p < 3; p++)
      {
        check_dtype (l, w[p]);
        check_dtype (l, b[p]);
      }
  if (l->error || l->check_only)
    return;

  siglip_model *m = l->model;
  for (int p = 0; p < 3; p++)
    if (!check_finite (l, b[p]) || (!l->pack && !check_finite (l, w[p])))
      return;
  float *bias = owned_buffer (l, (size_t) (3 * D), tower, i);
  if (l->error)
    return;
  for (int p = 0; p < 3 && !l->error; p++)
    {
      float *owned = NULL;
      const float *v = siglip_tensor_as_f32 (m->weights, b[p], &owned, &l->error);
      if (v)
        memcpy (bias + p * D, v, (size_t) D * sizeof (float));
      free (owned);
      /* Unpacked, the three stay where they are (the mapping itself for an F32 file) and the
       * matrix stacks them by reference: a [3D, D] copy per layer was 0.9 GB of fresh memory
       * for SO400M, most of an fp32 load's time. */
      if (!l->pack && !l->error)
        {
          v = siglip_tensor_as_f32 (m->weights, w[p], &owned, &l->error);
          if (owned && !keep_owned (m, owned))
            {
              free (owned);
              siglip_set_error (&l->error, SIGLIP_ERR_NO_MEMORY, "%s: out of memory", w[p]->name);
            }
          lw->qkv.stacked[p] = v;
        }
    }
  if (l->error)
    return;
  lw->qkv_b = bias;
  /* one progress step per tensor, and the abort callback asked before each, as bind does;
   * packed, the weights count when their panels are made */
  for (int p = 0; p < 3 && !cancelled (l); p++)
    count_bound (l, b[p]);
  if (!l->pack)
    {
      lw->qkv.n_stacked = 3;
      for (int p = 0; p < 3 && !cancelled (l); p++)
        count_bound (l, w[p]);
    }
  else
    add_pack_job (l, &lw->qkv, w, 3);
}

/* Siglip2EncoderLayer: the same names and shapes in both towers. */
static void
bind_layer (loader *l, const char *tower, int i, const siglip_tower_config *c,
            siglip_layer_weights *lw)
{
  const int64_t D = c->hidden_size, M = c->intermediate_size; /* <cblas.h> takes I */
  lw->ln1_w = bind (l, SHAPE (D), TN_LAYER, tower, i, "layer_norm1.weight");
  lw->ln1_b = bind (l, SHAPE (D), TN_LAYER, tower, i, "layer_norm1.bias");
  bind_qkv (l, lw, tower, i, D);
  bind_matrix (l, &lw->o, SHAPE (D, D), TN_LAYER, tower, i, "self_attn.out_proj.weight");
  lw->o_b = bind (l, SHAPE (D), TN_LAYER, tower, i, "self_attn.out_proj.bias");
  lw->ln2_w = bind (l, SHAPE (D), TN_LAYER, tower, i, "layer_norm2.weight");
  lw->ln2_b = bind (l, SHAPE (D), TN_LAYER, tower, i, "layer_norm2.bias");
  bind_matrix (l, &lw->fc1, SHAPE (M, D), TN_LAYER, tower, i, "mlp.fc1.weight");
  lw->fc1_b = bind (l, SHAPE (M), TN_LAYER, tower, i, "mlp.fc1.bias");
  bind_matrix (l, &lw->fc2, SHAPE (D, M), TN_LAYER, tower, i, "mlp.fc2.weight");
  lw->fc2_b = bind (l, SHAPE (D), TN_LAYER, tower, i, "mlp.fc2.bias");
}
#define TENSORS_PER_LAYER 16

static void
bind_text (loader *l)
{
  siglip_model *m = l->model;
  const siglip_tower_config *c = &m->config.text;
  const int64_t D = c->hidden_size, V = c->vocab_size, P = c->projection_size;
  siglip_text_weights *t = &m->text;
  l->params = &m->info.text.num_params;

  t->token_embedding = bind (l, SHAPE (V, D), TN_TOKEN_EMBED);
  /* a lookup table, read a row per token: once checked, its pages (1.2 GB for SO400M in F32)
   * leave the resident set, and the few rows a text uses come back when read */
  const siglip_tensor *table = siglip_weights_find (m->weights, TN_TOKEN_EMBED);
  if (t->token_embedding && table)
    release_pages (table->data, table->nbytes);
  t->position_embedding = bind (l, SHAPE (c->max_position_embeddings, D), TN_TEXT_POS);
  for (int i = 0; i < c->num_layers; i++)
    bind_layer (l, "text_model", i, c, &t->layers[i]);
  t->final_ln_w = bind (l, SHAPE (D), TN_FINAL_LN, "weight");
  t->final_ln_b = bind (l, SHAPE (D), TN_FINAL_LN, "bias");
  bind_matrix (l, &t->head, SHAPE (P, D), TN_TEXT_HEAD, "weight");
  t->head_b = bind (l, SHAPE (P), TN_TEXT_HEAD, "bias");
}

static void
bind_vision (loader *l)
{
  siglip_model *m = l->model;
  const siglip_tower_config *c = &m->config.vision;
  const int64_t D = c->hidden_size, M = c->intermediate_size, p = c->patch_size;
  const int64_t C = c->num_channels;
  siglip_vision_weights *v = &m->vision;
  l->params = &m->info.vision.num_params;

  if (m->config.kind == SIGLIP_KIND_SIGLIP2)
    bind_matrix (l, &v->patch, SHAPE (D, C * p * p), TN_PATCH, "weight"); /* nn.Linear */
  else
    bind_matrix (l, &v->patch, SHAPE (D, C, p, p), TN_PATCH, "weight");   /* nn.Conv2d */
  v->patch_b = bind (l, SHAPE (D), TN_PATCH, "bias");
  v->position_embedding = bind (l, SHAPE (c->num_patches, D), TN_VISION_POS);
  for (int i = 0; i < c->num_layers; i++)
    bind_layer (l, "vision_model", i, c, &v->layers[i]);
  v->post_ln_w = bind (l, SHAPE (D), TN_POST_LN, "weight");
  v->post_ln_b = bind (l, SHAPE (D), TN_POST_LN, "bias");

  /* Siglip2MultiheadAttentionPoolingHead */
  v->probe = bind (l, SHAPE (1, 1, D), TN_HEAD, "probe");
  bind_matrix (l, &v->head_in, SHAPE (3 * D, D), TN_HEAD, "attention.in_proj_weight");
  v->head_in_b = bind (l, SHAPE (3 * D), TN_HEAD, "attention.in_proj_bias");
  bind_matrix (l, &v->head_out, SHAPE (D, D), TN_HEAD, "attention.out_proj.weight");
  v->head_out_b = bind (l, SHAPE (D), TN_HEAD, "attention.out_proj.bias");
  v->head_ln_w = bind (l, SHAPE (D), TN_HEAD, "layernorm.weight");
  v->head_ln_b = bind (l, SHAPE (D), TN_HEAD, "layernorm.bias");
  bind_matrix (l, &v->head_fc1, SHAPE (M, D), TN_HEAD, "mlp.fc1.weight");
  v->head_fc1_b = bind (l, SHAPE (M), TN_HEAD, "mlp.fc1.bias");
  bind_matrix (l, &v->head_fc2, SHAPE (D, M), TN_HEAD, "mlp.fc2.weight");
  v->head_fc2_b = bind (l, SHAPE (D), TN_HEAD, "mlp.fc2.bias");
}

static int
expected_tensors (const siglip_config *c)
{
  return 2                                                    /* logit scale, bias */
         + 6 + TENSORS_PER_LAYER * c->text.num_layers         /* embeddings, final LN, head */
         + 16 + TENSORS_PER_LAYER * c->vision.num_layers;     /* embeddings, post LN, head */
}

static const char *
dtype_summary (unsigned seen)
{
  switch (seen)
    {
    case 1u << SIGLIP_DTYPE_F32: return "F32";
    case 1u << SIGLIP_DTYPE_BF16: return "BF16";
    case 1u << SIGLIP_DTYPE_F16: return "F16";
    default: return "mixed";
    }
}

/* check_only: the walk over every tensor the architecture needs, checking names, shapes and
 * dtypes without reading a weight (and without progress: nothing is loaded yet). Otherwise the
 * real binding, converting and packing, with progress from 0 to 1. */
static bool
bind_all (siglip_model *m, const siglip_load_options *options, bool check_only,
          tokenizer_job *tokenizer, siglip_error **error)
{
  loader l = { .model = m, .options = options, .expected = expected_tensors (&m->config),
               .check_only = check_only, .tokenizer = tokenizer,
               .pack = m->precision == SIGLIP_PRECISION_BF16 || siglip_gemm_fp32_packing_pays () };
  int64_t top_params = 0;

  if (!m->text.layers)
    m->text.layers = calloc ((size_t) m->config.text.num_layers, sizeof *m->text.layers);
  if (!m->vision.layers)
    m->vision.layers = calloc ((size_t) m->config.vision.num_layers, sizeof *m->vision.layers);
  if (!m->text.layers || !m->vision.layers)
    return siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "%s: out of memory", m->directory);

  if (!check_only)
    report_progress (&l);
  l.params = &top_params;
  const float *scale = bind (&l, SHAPE (1), "logit_scale");
  const float *bias = bind (&l, SHAPE (1), "logit_bias");
  if (scale && bias)
    {
      m->logit_scale = scale[0];
      m->logit_bias = bias[0];
    }
  if (!check_only)
    open_check_record (&l);
  bind_text (&l);
  bind_vision (&l);
  if (!check_only)
    {
      check_queued (&l);
      pack_matrices (&l);
      await_tokenizer (&l); /* before the record: the check counts only for a whole load */
      write_check_record (&l);
    }
  free (l.jobs);
  free (l.queue);
  free (l.queued);
  if (l.error)
    {
      if (error && !*error)
        *error = l.error;
      else
        siglip_error_free (l.error);
      return false;
    }
  if (check_only)
    return true;
  m->info.num_params = top_params + m->info.text.num_params + m->info.vision.num_params;
  m->info.file_dtype = dtype_summary (l.dtypes);
  return true;
}

/* A config with fewer layers than the weights would load and run a truncated tower: every
 * score plausible and wrong. Missing layers are found by binding; extra ones here. */
static bool
check_layer_count (const siglip_model *m, const char *tower, const char *section, int n_layers,
                   siglip_error **error)
{
  int n = n_layers;
  char name[160];
  for (;; n++)
    {
      snprintf (name, sizeof name, TN_LAYER, tower, n, "layer_norm1.weight");
      if (!siglip_weights_find (m->weights, name))
        break;
    }
  if (n == n_layers)
    return true;
  return siglip_set_error (error, SIGLIP_ERR_SHAPE,
                           "config.json: %s.num_hidden_layers is %d, but the weights have %d %s "
                           "layers (%s.encoder.layers.%d.* and on would be ignored)", section,
                           n_layers, n, tower, tower, n_layers);
}

/* Every weight matrix of the model, for packing and for freeing what packing made. */
static void
for_each_matrix (siglip_model *m, bool (*fn) (siglip_matrix *, void *), void *data)
{
  siglip_matrix *top[] = { &m->text.head, &m->vision.patch, &m->vision.head_in,
                           &m->vision.head_out, &m->vision.head_fc1, &m->vision.head_fc2 };
  for (size_t i = 0; i < sizeof top / sizeof top[0]; i++)
    if (!fn (top[i], data))
      return;
  for (int t = 0; t < 2; t++)
    {
      siglip_layer_weights *layers = t == 0 ? m->text.layers : m->vision.layers;
      int n = t == 0 ? m->config.text.num_layers : m->config.vision.num_layers;
      for (int i = 0; layers && i < n; i++)
        {
          siglip_layer_weights *l = &layers[i];
          siglip_matrix *ms[] = { &l->qkv, &l->o, &l->fc1, &l->fc2 };
          for (size_t j = 0; j < sizeof ms / sizeof ms[0]; j++)
            if (!fn (ms[j], data))
              return;
        }
    }
}

static bool
free_packed (siglip_matrix *mat, void *data)
{
  if (mat->packed)
    siglip_gemm_packed_free (mat);
  return true;
}

/* ------------------------------------------------------------------------------------------ */
/* the model */

static void
fill_tower_info (siglip_tower_info *info, const siglip_tower_config *c)
{
  int64_t params = info->num_params; /* counted while binding */
  *info = (siglip_tower_info){
    .hidden_size = c->hidden_size,
    .intermediate_size = c->intermediate_size,
    .num_layers = c->num_layers,
    .num_heads = c->num_heads,
    .layer_norm_eps = c->layer_norm_eps,
    .vocab_size = c->vocab_size,
    .max_position_embeddings = c->max_position_embeddings,
    .projection_size = c->projection_size,
    .patch_size = c->patch_size,
    .num_channels = c->num_channels,
    .num_patches = c->num_patches,
    .image_size = c->image_size,
    .num_params = params,
  };
}

/* The image processor and the model must agree on what a patch is. A fixed-resolution
 * SiglipImageProcessor file names no patch size: the Conv2d's is vision_config.patch_size, and
 * any image_size works — the grid is floor (image_size / patch), and the last image_size % patch
 * rows and columns go unused, as a Conv2d with stride = patch and no padding leaves them
 * (384 px at patch 14: 27x27 patches, 6 pixels dropped). */
static bool
check_preprocess (siglip_model *m, siglip_error **error)
{
  if (m->config.kind == SIGLIP_KIND_SIGLIP)
    m->preprocess.patch_size = m->config.vision.patch_size;
  const siglip_tower_config *v = &m->config.vision;
  const siglip_preprocess_config *p = &m->preprocess;
  if (m->config.kind == SIGLIP_KIND_SIGLIP2 && p->patch_size != v->patch_size)
    return siglip_set_error (error, SIGLIP_ERR_FORMAT,
                             "preprocessor_config.json: patch_size %d differs from config.json "
                             "vision_config.patch_size %d", p->patch_size, v->patch_size);
  if (m->config.kind == SIGLIP_KIND_SIGLIP
      && (p->size_height != v->image_size || p->size_width != v->image_size))
    return siglip_set_error (error, SIGLIP_ERR_FORMAT,
                             "preprocessor_config.json: size %dx%d differs from config.json "
                             "vision_config.image_size %d", p->size_width, p->size_height,
                             v->image_size);
  return true;
}

/* Checkpoints of another task share the model_type (and a config.json without "architectures"
 * says nothing): their tensors tell. Named here rather than as a "missing tensor logit_scale". */
static bool
check_task (const siglip_model *m, siglip_error **error)
{
  const siglip_weights *w = m->weights;
  const char *file = siglip_weights_n_files (w) == 1 ? siglip_weights_file_name (w, 0) : INDEX_FILE;
  if (siglip_weights_find (w, "classifier.weight"))
    return siglip_set_error (error, SIGLIP_ERR_UNSUPPORTED,
                             "%s: %s", file, SIGLIP_DESCRIBE_CLASSIFIER);
  if (!siglip_weights_find (w, TN_TOKEN_EMBED) && siglip_weights_find (w, TN_VISION_POS))
    return siglip_set_error (error, SIGLIP_ERR_UNSUPPORTED,
                             "%s: %s", file, SIGLIP_DESCRIBE_VISION_ONLY);
  return true;
}

static int
choose_threads (const siglip_load_options *options)
{
  long n = options && options->n_threads > 0 ? options->n_threads
                                              : sysconf (_SC_NPROCESSORS_ONLN);
  if (n < 1)
    n = 1;
  if (n > 512)
    n = 512;
  return (int) n;
}

siglip_model *
siglip_model_load (const char *path, const siglip_load_options *options, siglip_error **error)
{
  tokenizer_job tokenizer = { .finished = true }; /* none started yet */
  siglip_model *m = calloc (1, sizeof *m);
  if (!m)
    {
      siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "out of memory");
      return NULL;
    }
  m->directory = siglip_resolve_model_path_noted (path, &m->source, error);
  if (!m->directory)
    goto fail;
  m->precision = options ? options->precision : SIGLIP_PRECISION_FP32;
  m->n_threads = choose_threads (options);

  /* Everything small first, so that a wrong file is reported in well under a second rather
   * than after gigabytes have been read and packed: the configs, the tokenizer (its error
   * first, though it is parsed alongside: tokenizer_job), then the safetensors headers
   * (mapped, not read) against config.json. */
  if (!siglip_config_load (m->directory, &m->config, error)
      || !siglip_preprocess_config_load (m->directory, m->config.kind, &m->preprocess, error)
      || !check_preprocess (m, error))
    goto fail;
  const bool headers =
    (m->weights = siglip_weights_open (m->directory, error)) && check_task (m, error)
    && check_layer_count (m, "text_model", "text_config", m->config.text.num_layers, error)
    && check_layer_count (m, "vision_model", "vision_config", m->config.vision.num_layers,
                          error);
  /* After the headers' JSON, even when it failed (its error may give way to the tokenizer's):
   * cJSON keeps one process-wide error record that every parse writes, so the load never runs
   * two parses at once. */
  tokenizer_start (&tokenizer, m->directory);
  if (!headers || !bind_all (m, options, true, NULL, error))
    goto fail;

  /* The core's thread pool is process-wide (pool.h keeps OpenBLAS itself at one thread);
   * sized before binding, which packs matrices on it. */
  siglip_pool_acquire (m->n_threads);
  m->holds_pool = true;
  if (!bind_all (m, options, false, &tokenizer, error) || !tokenizer_finish (&tokenizer, m, error))
    goto fail;
  if (!(m->text_cache = siglip_text_cache_new ()))
    {
      siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "%s: out of memory", m->directory);
      goto fail;
    }

  if (options && options->label_cache)
    {
      if (!(m->identity = siglip_model_identity (m)))
        {
          siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "%s: out of memory", m->directory);
          goto fail;
        }
      m->label_cache = options->label_cache;
    }

  siglip_model_info *info = &m->info;
  info->kind = m->config.kind;
  info->model_type = m->config.kind == SIGLIP_KIND_SIGLIP2 ? "siglip2" : "siglip";
  info->directory = m->directory;
  info->source = m->source;
  fill_tower_info (&info->text, &m->config.text);
  fill_tower_info (&info->vision, &m->config.vision);
  info->precision = m->precision;
  info->n_files = siglip_weights_n_files (m->weights);
  info->weights_bytes = siglip_weights_total_bytes (m->weights);
  info->default_max_patches =
    m->config.kind == SIGLIP_KIND_SIGLIP2 ? m->preprocess.max_num_patches : 0;
  info->logit_scale = m->logit_scale;
  info->logit_bias = m->logit_bias;
  info->n_threads = m->n_threads;
  info->weight_cache_note = m->weight_cache_note;
  info->weight_cache_path = m->weight_cache_path;

  if (options && options->progress)
    options->progress (1.0, options->progress_data);
  return m;

fail:
  tokenizer_finish (&tokenizer, m, error); /* joined before the model goes */
  siglip_model_free (m);
  return NULL;
}

void
siglip_model_free (siglip_model *m)
{
  if (!m)
    return;
  /* first: it reads the weight files' mapping, and packs on this model's threads */
  siglip_weight_cache_writer_free (m->weight_cache_writer);
  if (m->text_cache)
    siglip_text_cache_free (m->text_cache);
  if (m->tokenizer)
    siglip_tokenizer_free (m->tokenizer);
  for_each_matrix (m, free_packed, NULL);
  siglip_weight_cache_close (m->weight_cache); /* after the matrices that borrow from it */
  free (m->weight_cache_path);
  free (m->weight_cache_note);
  for (int i = 0; i < m->n_owned; i++)
    free (m->owned[i]);
  free (m->owned);
  free (m->text.layers);
  free (m->vision.layers);
  siglip_weights_close (m->weights);
  free (m->identity);
  free (m->directory);
  free (m->source);
  if (m->holds_pool)
    siglip_pool_release ();
  free (m);
}

bool
siglip_model_wait_weight_cache (siglip_model *model, siglip_error **error)
{
  if (!model->weight_cache_writer)
    return true;
  int64_t bytes = 0;
  siglip_error *failed = NULL;
  if (siglip_weight_cache_writer_wait (model->weight_cache_writer, &bytes, &failed))
    {
      model->info.weight_cache_bytes = bytes;
      return true;
    }
  /* what a load says when it cannot make the file (pack_matrices); the note stays the
   * model's, as the info's strings do */
  if (model->info.weight_cache == SIGLIP_WEIGHT_CACHE_WRITING)
    {
      char *note = siglip_strdup_printf ("not kept: %s", failed->message);
      if (note)
        {
          free (model->weight_cache_note);
          model->info.weight_cache_note = model->weight_cache_note = note;
        }
      model->info.weight_cache = SIGLIP_WEIGHT_CACHE_OFF;
      model->info.weight_cache_path = NULL;
    }
  if (error && !*error)
    *error = failed;
  else
    siglip_error_free (failed);
  return false;
}

bool
siglip_model_weight_cache_pending (const siglip_model *model)
{
  return model->weight_cache_writer
         && siglip_weight_cache_writer_running (model->weight_cache_writer);
}

const siglip_model_info *
siglip_model_get_info (const siglip_model *model)
{
  return &model->info;
}

const char *
siglip_weight_cache_status_name (siglip_weight_cache_status status)
{
  switch (status)
    {
    case SIGLIP_WEIGHT_CACHE_HIT: return "hit";
    case SIGLIP_WEIGHT_CACHE_BUILT: return "built";
    case SIGLIP_WEIGHT_CACHE_OFF: return "off";
    case SIGLIP_WEIGHT_CACHE_WRITING: return "writing";
    case SIGLIP_WEIGHT_CACHE_NONE:
    default: return "none";
    }
}

const siglip_tokenizer *
siglip_model_get_tokenizer (const siglip_model *model)
{
  return model->tokenizer;
}

int
siglip_model_embed_dim_vision (const siglip_model *model)
{
  return model->config.vision.hidden_size; /* the pooling head keeps the width */
}

int
siglip_model_embed_dim_text (const siglip_model *model)
{
  return model->config.text.projection_size;
}
