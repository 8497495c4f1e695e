/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <glib/gi18n.h>
#include <gdk-pixbuf/gdk-pixbuf.h>

#include "siglip.h"
#include "siglens-decode.h"
#include "siglens-prefetch.h"
#include "siglens-classifier.h"
#include "siglens-classifier-private.h"
#include "siglens-label-notes.h"
#include "siglens-overlay.h"

G_DEFINE_ENUM_TYPE (SiglensModelState, siglens_model_state,
  G_DEFINE_ENUM_VALUE (SIGLENS_MODEL_STATE_NONE, "none"),
  G_DEFINE_ENUM_VALUE (SIGLENS_MODEL_STATE_LOADING, "loading"),
  G_DEFINE_ENUM_VALUE (SIGLENS_MODEL_STATE_READY, "ready"),
  G_DEFINE_ENUM_VALUE (SIGLENS_MODEL_STATE_FAILED, "failed"))

G_DEFINE_QUARK (siglens-classifier-error-quark, siglens_classifier_error)

/* What the :activity text is about, so that decisions never compare translated strings. */
typedef enum {
  ACTIVITY_NONE,
  ACTIVITY_READING,     /* "Reading image…" */
  ACTIVITY_WAITING,     /* "Waiting for the model…" */
  ACTIVITY_CLASSIFYING, /* the worker's own reports */
} Activity;

typedef enum {
  JOB_LOAD,
  JOB_READ_FILE,
  JOB_READ_PIXBUF,
  JOB_BATCH,
  JOB_CLASSIFY,
  JOB_HEATMAP,
} JobKind;

/* Everything a request needs, copied at request time so the worker never reads caller state. */
typedef struct {
  JobKind              kind;
  guint                serial;
  GAsyncReadyCallback  callback;
  gpointer             user_data;
  GCancellable        *caller_cancellable;
  gulong               caller_handler;

  char                *path;        /* JOB_LOAD */
  SiglensPrecision     precision;
  double               last_fraction;

  GFile               *file;        /* JOB_READ_FILE */
  GdkPixbuf           *pixbuf;      /* JOB_READ_PIXBUF */
  char                *name;

  SiglensImage        *image;       /* JOB_CLASSIFY */
  char               **labels;
  char                *template;
  char               **templates;   /* a prompt ensemble, or NULL */
  int                  max_patches;
  gboolean             lowercase;

  SiglensBatchInput   *inputs;      /* JOB_BATCH, with paths and embeddings copied */
  guint                n_inputs;
  int                  thumbnail_size;
  SiglensBatchFunc     each;
  gpointer             each_data;
} Job;

/* What the core's weight_cache_ended tells, on its writing thread: which model's write ended.
 * Freed only after the model (whose free waits for that thread), so it outlives the call. */
typedef struct {
  SiglensClassifier *self;
  guint              model_id;
  guint              serial;   /* the load's, for the test hook */
} WriteWatch;

struct _SiglensClassifier
{
  GObject            parent_instance;

  /* Main thread. */
  GThreadPool       *pool;           /* one thread: loads and forward passes, in order */
  SiglensModelState  state;
  double             load_fraction;
  char              *model_path;
  char              *error_message;
  char              *summary;
  char              *activity;
  Activity           activity_kind;
  guint              n_pending;
  guint              next_serial;
  guint              load_serial;     /* newest load request */
  guint              classify_serial; /* newest classify request */
  guint              batch_serial;    /* newest batch request */
  GCancellable      *load_cancellable;
  GCancellable      *read_cancellable;
  GCancellable      *classify_cancellable;
  GCancellable      *batch_cancellable;
  siglip_label_cache *label_cache;   /* label embeddings on disk, shared by every model load */
  GCancellable      *heatmap_cancellable;
  guint              heatmap_serial;  /* newest heatmap request */
  /* A bf16 load that went on writing its panels' file for a faster next start (core's
   * weight_cache_ended): the id of the model it belongs to, and a poll until it ends. */
  guint              writing_id;      /* 0: nothing being written */
  guint              writing_poll;
  gint               write_ended_id;  /* atomic: set on the writing thread */

  /* Worker thread only. The pool runs one job at a time and its queue's lock orders the
   * hand-over between jobs, so these need no lock of their own. */
  siglip_model      *worker_model;
  siglip_state      *worker_state;
  guint              worker_model_id;
  WriteWatch        *worker_watch;    /* worker_model's, freed after it */
  gboolean           worker_writing;  /* worker_model writes behind its load */

  /* Tests only (siglens-classifier-private.h); set before any request. */
  SiglensClassifierTestHook test_hook;
  gpointer                  test_hook_data;
  int                worker_default_patches; /* the loaded model's preprocessor budget */

  int                default_max_patches;    /* main thread: copied once a load is done */
  guint              n_images_encoded;       /* vision tower runs, atomic */
};

G_DEFINE_FINAL_TYPE (SiglensClassifier, siglens_classifier, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_MODEL_STATE,
  PROP_LOAD_FRACTION,
  PROP_MODEL_PATH,
  PROP_ERROR_MESSAGE,
  PROP_BUSY,
  PROP_ACTIVITY,
  PROP_WRITING_WEIGHT_CACHE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* GTask source tags: one address per request kind. */
static const char load_tag, read_tag, classify_tag, heatmap_tag, batch_tag;

/* The map is drawn at most this many pixels on its long side: GtkPicture scales it to the
 * screen, and a smooth 16x16-patch map needs no more. */
#define HEATMAP_MAX_SIDE 1024

void
siglens_heatmap_free (SiglensHeatmap *heatmap)
{
  if (heatmap == NULL)
    return;
  g_free (heatmap->mean);
  g_clear_object (&heatmap->texture);
  g_free (heatmap);
}

static int live_jobs; /* atomic; see siglens_classifier_test_count_live_jobs () */

void
siglens_scores_free (SiglensScores *scores)
{
  if (scores == NULL)
    return;
  g_strfreev (scores->labels);
  g_free (scores->probabilities);
  g_free (scores->logits);
  g_free (scores->n_unread);
  g_free (scores);
}

SiglensScores *
siglens_scores_copy (const SiglensScores *scores)
{
  SiglensScores *copy;

  if (scores == NULL)
    return NULL;
  copy = g_new0 (SiglensScores, 1);
  copy->n = scores->n;
  copy->labels = g_strdupv (scores->labels);
  copy->probabilities = g_memdup2 (scores->probabilities, sizeof (float) * scores->n);
  copy->logits = g_memdup2 (scores->logits, sizeof (float) * scores->n);
  copy->n_unread = g_memdup2 (scores->n_unread, sizeof (int) * scores->n);
  copy->max_tokens = scores->max_tokens;
  return copy;
}

static void
job_free (Job *job)
{
  for (guint i = 0; i < job->n_inputs; i++)
    {
      g_free ((char *) job->inputs[i].path);
      g_free ((float *) job->inputs[i].embedding);
    }
  g_free (job->inputs);
  if (job->caller_cancellable != NULL)
    g_cancellable_disconnect (job->caller_cancellable, job->caller_handler);
  g_clear_object (&job->caller_cancellable);
  g_free (job->path);
  g_clear_object (&job->file);
  g_clear_object (&job->pixbuf);
  g_free (job->name);
  g_clear_object (&job->image);
  g_strfreev (job->labels);
  g_free (job->template);
  g_strfreev (job->templates);
  g_free (job);
  g_atomic_int_add (&live_jobs, -1);
}

static void
test_hook (SiglensClassifier *self, const char *point, Job *job, double fraction)
{
  if (self->test_hook != NULL)
    self->test_hook (point, job->serial, fraction, self->test_hook_data);
}

/* ---------------------------------------------------------------------------------------------
 * Main-thread state
 */

static void
set_string (SiglensClassifier *self, char **field, const char *value, int prop)
{
  if (g_strcmp0 (*field, value) == 0)
    return;
  g_free (*field);
  *field = g_strdup (value);
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop]);
}

static void
set_activity (SiglensClassifier *self, Activity kind, const char *text)
{
  self->activity_kind = kind;
  set_string (self, &self->activity, text, PROP_ACTIVITY);
}

static void
set_state (SiglensClassifier *self, SiglensModelState state)
{
  if (self->state == state)
    return;
  self->state = state;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MODEL_STATE]);
}

static void
set_load_fraction (SiglensClassifier *self, double fraction)
{
  if (self->load_fraction == fraction)
    return;
  self->load_fraction = fraction;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOAD_FRACTION]);
}

typedef struct {
  SiglensClassifier *self;
  JobKind            kind;
  guint              serial;
  double             fraction;
  char              *activity;
} Report;

static void
report_free (Report *report)
{
  g_object_unref (report->self);
  g_free (report->activity);
  g_free (report);
}

static gboolean
report_deliver (gpointer data)
{
  Report *report = data;
  SiglensClassifier *self = report->self;

  /* Only the newest request of its kind speaks; a superseded job's last words are dropped. */
  if (report->kind == JOB_LOAD && report->serial == self->load_serial
      && self->state == SIGLENS_MODEL_STATE_LOADING)
    set_load_fraction (self, report->fraction);
  else if (report->kind == JOB_CLASSIFY && report->serial == self->classify_serial
           && self->n_pending > 0)
    set_activity (self, ACTIVITY_CLASSIFYING, report->activity);
  else if (report->kind == JOB_HEATMAP && report->serial == self->heatmap_serial
           && self->n_pending > 0)
    set_activity (self, ACTIVITY_CLASSIFYING, report->activity);
  return G_SOURCE_REMOVE;
}

/* Queues `func` on `context`. Not g_main_context_invoke(): from a worker it would run `func`
 * right there whenever it can acquire an idle main context, and reports end in widgets. */
static void
run_on_context (GMainContext   *context,
                GSourceFunc     func,
                gpointer        data,
                GDestroyNotify  notify)
{
  GSource *source = g_idle_source_new ();

  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, func, data, notify);
  g_source_set_static_name (source, "[siglens] classifier");
  g_source_attach (source, context);
  g_source_unref (source);
}

/* From the worker: hands a progress report to the thread that made the request. */
static void
report (GTask *task, double fraction, const char *activity)
{
  Job *job = g_task_get_task_data (task);
  Report *r = g_new0 (Report, 1);

  r->self = g_object_ref (g_task_get_source_object (task));
  r->kind = job->kind;
  r->serial = job->serial;
  r->fraction = fraction;
  r->activity = g_strdup (activity);
  run_on_context (g_task_get_context (task), report_deliver, r, (GDestroyNotify) report_free);
}

/* ---------------------------------------------------------------------------------------------
 * Worker
 */

static bool
abort_if_cancelled (void *data)
{
  return g_cancellable_is_cancelled (G_CANCELLABLE (data));
}

static void
load_progress (double fraction, void *data)
{
  GTask *task = data;
  Job *job = g_task_get_task_data (task);

  /* The core may call this per tensor; a hundred steps are plenty for a progress bar. */
  if (fraction < 1. && fraction - job->last_fraction < 0.01)
    return;
  job->last_fraction = fraction;
  test_hook (g_task_get_source_object (task), "load-progress", job, fraction);
  report (task, fraction, NULL);
}

static GError *
error_from_core (siglip_error *err, SiglensClassifierError code)
{
  GError *error;

  if (err == NULL)
    return g_error_new_literal (SIGLENS_CLASSIFIER_ERROR, code, _("Unknown error"));
  if (err->status == SIGLIP_ERR_CANCELLED)
    error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, err->message);
  else
    error = g_error_new_literal (SIGLENS_CLASSIFIER_ERROR, code, err->message);
  siglip_error_free (err);
  return error;
}

static char *
describe_model (const siglip_model *model)
{
  const siglip_model_info *info = siglip_model_get_info (model);
  g_autofree char *folder = g_path_get_basename (info->directory);
  const char *precision = info->precision == SIGLIP_PRECISION_BF16 ? "bf16" : "fp32";

  /* Translators: a summary of the loaded model: folder name, millions of parameters,
   * number precision ("fp32"/"bf16"), e.g. "siglip2-so400m · 1136 M parameters · fp32" */
  return g_strdup_printf (_("%s · %.0f M parameters · %s"),
                          folder, (double) info->num_params / 1e6, precision);
}

/* The writing thread, once: the model is still alive, and so is self (which frees it). */
static void
write_ended (void *data)
{
  WriteWatch *watch = data;
  SiglensClassifier *self = watch->self;

  if (self->test_hook != NULL)
    self->test_hook ("weight-cache-ended", watch->serial, 1., self->test_hook_data);
  g_atomic_int_set (&self->write_ended_id, (gint) watch->model_id);
}

static void
worker_load (SiglensClassifier *self, GTask *task, Job *job)
{
  GCancellable *cancellable = g_task_get_cancellable (task);
  siglip_load_options options = {
    .n_threads = 0,
    .precision = job->precision == SIGLENS_PRECISION_BF16 ? SIGLIP_PRECISION_BF16
                                                          : SIGLIP_PRECISION_FP32,
    .progress = load_progress,
    .progress_data = task,
    .abort_cb = abort_if_cancelled,
    .abort_data = cancellable,
    .label_cache = self->label_cache,
    .weight_cache_ended = write_ended,
  };
  siglip_error *err = NULL;
  siglip_model *model;
  WriteWatch *watch = g_new0 (WriteWatch, 1);

  /* the id the model gets below */
  *watch = (WriteWatch) { self, self->worker_model_id + 1, job->serial };
  options.weight_cache_ended_data = watch;
  model = siglip_model_load (job->path, &options, &err);
  if (model == NULL)
    {
      /* a write it had begun was stopped inside the load, and told already */
      g_free (watch);
      g_task_return_error (task, error_from_core (err, SIGLENS_CLASSIFIER_ERROR_MODEL));
      return;
    }

  /* Queued classify jobs come after this one, so from here on they use the new model. */
  g_clear_pointer (&self->worker_state, siglip_state_free);
  g_clear_pointer (&self->worker_model, siglip_model_free);
  g_clear_pointer (&self->worker_watch, g_free);
  self->worker_model = model;
  self->worker_watch = watch;
  self->worker_model_id++;
  self->worker_default_patches = siglip_model_get_info (model)->default_max_patches;
  self->worker_writing = siglip_model_get_info (model)->weight_cache == SIGLIP_WEIGHT_CACHE_WRITING;

  g_task_return_pointer (task, describe_model (model), g_free);
}

static void
free_rgb_pixels (guchar *pixels, gpointer data)
{
  siglens_rgb_image_free (data);
}

static void
worker_read (GTask        *task,
             gpointer      source,
             gpointer      task_data,
             GCancellable *cancellable)
{
  Job *job = task_data;
  g_autoptr (GError) error = NULL;
  g_autoptr (SiglensRgbImage) rgb = NULL;
  g_autofree char *name = NULL;
  GdkPixbuf *pixbuf;

  if (job->kind == JOB_READ_FILE)
    {
      rgb = siglens_decode_gfile (job->file, cancellable, 0, &error);
      name = g_file_get_basename (job->file);
      if (name == NULL || g_strcmp0 (name, "/") == 0)
        {
          g_free (name);
          name = g_file_get_uri (job->file);
        }
    }
  else
    {
      rgb = siglens_rgb_image_from_pixbuf (job->pixbuf, &error);
      name = g_strdup (job->name);
    }

  if (rgb == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }

  /* The pixbuf takes the decoded buffer: the texture on screen and the model read one copy. */
  pixbuf = gdk_pixbuf_new_from_data (rgb->rgb, GDK_COLORSPACE_RGB, FALSE, 8,
                                     rgb->width, rgb->height, (int) rgb->stride,
                                     free_rgb_pixels, rgb);
  g_steal_pointer (&rgb);
  g_task_return_pointer (task, siglens_image_new (pixbuf, name), g_object_unref);
}

/* Whether a job that needs the model can run: a model is loaded and the worker's state for it
 * exists (made at the first job after a load). If not, the task is returned with the reason. */
static gboolean
worker_ready (SiglensClassifier *self, GTask *task)
{
  siglip_error *err = NULL;

  if (self->worker_model == NULL)
    {
      g_task_return_new_error (task, SIGLENS_CLASSIFIER_ERROR, SIGLENS_CLASSIFIER_ERROR_NO_MODEL,
                               _("No model is loaded."));
      return FALSE;
    }
  if (self->worker_state != NULL)
    return TRUE;
  self->worker_state = siglip_state_new (self->worker_model, &err);
  if (self->worker_state == NULL)
    {
      g_task_return_error (task, error_from_core (err, SIGLENS_CLASSIFIER_ERROR_INFERENCE));
      return FALSE;
    }
  return TRUE;
}

static SiglensScores *
scores_new (char **labels, const siglip_score *raw, guint n, const siglip_label_list *read)
{
  SiglensScores *scores = g_new0 (SiglensScores, 1);

  scores->n = n;
  scores->labels = g_strdupv (labels);
  scores->probabilities = g_new (float, n);
  scores->logits = g_new (float, n);
  for (guint i = 0; i < n; i++)
    {
      scores->probabilities[i] = raw[i].probability;
      scores->logits[i] = raw[i].logit;
    }
  if (read != NULL && (guint) read->n_entries == n)
    {
      scores->n_unread = g_new (int, n);
      scores->max_tokens = read->max_tokens;
      for (guint i = 0; i < n; i++)
        scores->n_unread[i] = read->entries[i].truncated ? read->entries[i].n_dropped : 0;
    }
  return scores;
}

/* How the model reads each label through the template: what is past its token window is not
 * seen, and the person is told (the labels arrive merged and non-empty, so entry i is label i).
 * NULL if the core cannot say; scoring goes on without it. */
static siglip_label_list *
labels_as_read (siglip_model *model, char **labels, const siglip_encode_options *options)
{
  siglip_error *err = NULL;
  siglip_label_list *list = siglip_label_list_new_from_lines ((const char *const *) labels,
                                                              (int) g_strv_length (labels),
                                                              model, options, &err);

  if (list == NULL)
    {
      g_warning ("labels not measured against the token window: %s", err->message);
      siglip_error_free (err);
    }
  return list;
}

/* Labels encoded per step of a long set: 32 is two of the core's text batches, a second or two
 * of SO400M on a laptop between progress messages. */
#define LABEL_STEP 32

static void
worker_classify (SiglensClassifier *self, GTask *task, Job *job)
{
  GCancellable *cancellable = g_task_get_cancellable (task);
  siglip_encode_options options = {
    .max_patches = job->max_patches,
    .template = job->template,
    .templates = (const char *const *) job->templates,
    .n_templates = job->templates != NULL ? (int) g_strv_length (job->templates) : 0,
    .no_lowercase = !job->lowercase,
    .abort_cb = abort_if_cancelled,
    .abort_data = cancellable,
  };
  g_autoptr (SiglensScores) scores = NULL;
  g_autoptr (siglip_label_list) read = NULL;
  g_autofree float *image_embedding = NULL;
  g_autofree float *text_embeddings = NULL;
  g_autofree siglip_score *raw = NULL;
  siglip_error *err = NULL;
  guint n = g_strv_length (job->labels);
  int vision_dim, text_dim;

  test_hook (self, "classify", job, 0.);
  if (!worker_ready (self, task))
    return;

  vision_dim = siglip_model_embed_dim_vision (self->worker_model);
  text_dim = siglip_model_embed_dim_text (self->worker_model);
  image_embedding = g_new (float, vision_dim);

  /* The image embedding is kept with the image: typing new labels only runs the text tower,
   * and the core's own cache spares the labels when only the image changes. */
  if (!siglens_image_lookup_embedding (job->image, self->worker_model_id, job->max_patches,
                                       image_embedding, vision_dim))
    {
      GdkPixbuf *pixbuf = siglens_image_get_pixbuf (job->image);
      siglip_image image = {
        .rgb = gdk_pixbuf_read_pixels (pixbuf),
        .width = gdk_pixbuf_get_width (pixbuf),
        .height = gdk_pixbuf_get_height (pixbuf),
        .stride = (size_t) gdk_pixbuf_get_rowstride (pixbuf),
      };

      report (task, 0., _("Looking at the image…"));
      g_atomic_int_inc (&self->n_images_encoded);
      if (!siglip_encode_image (self->worker_state, &image, &options, image_embedding, NULL, &err))
        {
          g_task_return_error (task, error_from_core (err, SIGLENS_CLASSIFIER_ERROR_INFERENCE));
          return;
        }
      siglens_image_store_embedding (job->image, self->worker_model_id, job->max_patches,
                                     image_embedding, vision_dim);
    }

  {
    g_autofree char *message = g_strdup_printf (ngettext ("Encoding %u label…",
                                                          "Encoding %u labels…", n), n);
    report (task, 0., message);
  }
  text_embeddings = g_new (float, (gsize) n * (gsize) text_dim);
  /* In steps, so a long set (ImageNet's 998) says how far it is; labels met before come from
   * the model's label cache and cost nothing. */
  for (guint start = 0; start < n; start += LABEL_STEP)
    {
      guint count = MIN (LABEL_STEP, n - start);

      if (n > LABEL_STEP)
        {
          /* Translators: progress while encoding a long label set */
          g_autofree char *message = g_strdup_printf (_("Encoding labels… %u of %u"), start, n);
          report (task, (double) start / n, message);
        }
      if (!siglip_encode_labels (self->worker_state, (const char *const *) job->labels + start,
                                 (int) count, &options,
                                 text_embeddings + (gsize) start * (gsize) text_dim, &err))
        {
          g_task_return_error (task, error_from_core (err, SIGLENS_CLASSIFIER_ERROR_INFERENCE));
          return;
        }
    }

  raw = g_new (siglip_score, n);
  siglip_score_embeddings (self->worker_model, image_embedding, text_embeddings, (int) n, raw);

  read = labels_as_read (self->worker_model, job->labels, &options);
  scores = scores_new (job->labels, raw, n, read);
  g_task_return_pointer (task, g_steal_pointer (&scores), (GDestroyNotify) siglens_scores_free);
}

static void
worker_heatmap (SiglensClassifier *self, GTask *task, Job *job)
{
  GCancellable *cancellable = g_task_get_cancellable (task);
  siglip_encode_options options = {
    .max_patches = job->max_patches,
    .abort_cb = abort_if_cancelled,
    .abort_data = cancellable,
  };
  GdkPixbuf *pixbuf = siglens_image_get_pixbuf (job->image);
  siglip_image image = {
    .rgb = gdk_pixbuf_read_pixels (pixbuf),
    .width = gdk_pixbuf_get_width (pixbuf),
    .height = gdk_pixbuf_get_height (pixbuf),
    .stride = (size_t) gdk_pixbuf_get_rowstride (pixbuf),
  };
  g_autoptr (SiglensHeatmap) heatmap = NULL;
  g_autoptr (GdkPixbuf) rendered = NULL;
  g_autofree float *embedding = NULL;
  siglip_attention_map *map = NULL;
  siglip_error *err = NULL;
  double scale;
  int vision_dim;

  if (!worker_ready (self, task))
    return;

  report (task, 0., _("Finding where the model looked…"));
  vision_dim = siglip_model_embed_dim_vision (self->worker_model);
  embedding = g_new (float, vision_dim);
  if (!siglip_encode_image_attention (self->worker_state, &image, &options, embedding, &map, &err))
    {
      g_task_return_error (task, error_from_core (err, SIGLENS_CLASSIFIER_ERROR_INFERENCE));
      return;
    }
  /* The same pass gave the embedding: labels typed next need not encode the image again. */
  siglens_image_store_embedding (job->image, self->worker_model_id, job->max_patches, embedding,
                                 vision_dim);

  heatmap = g_new0 (SiglensHeatmap, 1);
  heatmap->rows = map->rows;
  heatmap->cols = map->cols;
  heatmap->mean = g_memdup2 (map->weights, (gsize) map->rows * map->cols * sizeof (float));
  siglip_attention_map_free (map);

  scale = MIN (1., (double) HEATMAP_MAX_SIDE / MAX (image.width, image.height));
  rendered = siglens_overlay_render_map (heatmap->mean, heatmap->rows, heatmap->cols,
                                         MAX (1, (int) lround (image.width * scale)),
                                         MAX (1, (int) lround (image.height * scale)));
  heatmap->texture = gdk_texture_new_for_pixbuf (rendered);
  g_task_return_pointer (task, g_steal_pointer (&heatmap), (GDestroyNotify) siglens_heatmap_free);
}

/* ---------------------------------------------------------------------------------------------
 * Batch: many images, one label set
 */

typedef struct {
  SiglensClassifier  *self;
  guint               serial;
  SiglensBatchFunc    each;
  gpointer            each_data;
  SiglensBatchResult  result;   /* owns thumbnail, embedding, scores and error */
} BatchDelivery;

static void
batch_delivery_free (BatchDelivery *d)
{
  g_object_unref (d->self);
  g_clear_object (&d->result.thumbnail);
  g_free ((float *) d->result.embedding);
  siglens_scores_free (d->result.scores);
  g_free ((char *) d->result.error);
  g_free (d);
}

static gboolean
batch_deliver (gpointer data)
{
  BatchDelivery *d = data;

  /* A superseded or cancelled run's late results are dropped. */
  if (d->serial == d->self->batch_serial && d->self->batch_cancellable != NULL
      && !g_cancellable_is_cancelled (d->self->batch_cancellable))
    d->each (&d->result, d->each_data);
  return G_SOURCE_REMOVE;
}

/* From the worker: hands one image's result (transfer full of its parts) to the caller. */
static void
batch_send (GTask *task, Job *job, guint model_id, guint index, GdkPixbuf *thumbnail,
            float *embedding, int dim, SiglensScores *scores, char *error)
{
  BatchDelivery *d = g_new0 (BatchDelivery, 1);

  d->self = g_object_ref (g_task_get_source_object (task));
  d->serial = job->serial;
  d->each = job->each;
  d->each_data = job->each_data;
  d->result = (SiglensBatchResult) {
    .index = index,
    .thumbnail = thumbnail,
    .embedding = embedding,
    .dim = dim,
    .model_id = model_id,
    .max_patches = job->max_patches,
    .scores = scores,
    .error = error,
  };
  run_on_context (g_task_get_context (task), batch_deliver, d,
                  (GDestroyNotify) batch_delivery_free);
}

static void
worker_batch (SiglensClassifier *self, GTask *task, Job *job)
{
  GCancellable *cancellable = g_task_get_cancellable (task);
  siglip_encode_options options = {
    .max_patches = job->max_patches,
    .template = job->template,
    .no_lowercase = !job->lowercase,
    .abort_cb = abort_if_cancelled,
    .abort_data = cancellable,
  };
  g_autoptr (SiglensPrefetch) prefetch = NULL;
  g_autoptr (GArray) to_read = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autoptr (GPtrArray) paths = g_ptr_array_new ();
  g_autofree float *text_embeddings = NULL;
  g_autofree siglip_score *raw = NULL;
  g_autoptr (siglip_label_list) read = NULL;
  siglip_error *err = NULL;
  SiglensPrefetchItem *item;
  guint n = g_strv_length (job->labels);
  guint model_id = self->worker_model_id;
  int dim;

  if (!worker_ready (self, task))
    return;
  dim = siglip_model_embed_dim_vision (self->worker_model);

  /* The labels once, for every image. */
  text_embeddings = g_new (float, (gsize) n * (gsize) siglip_model_embed_dim_text (self->worker_model));
  if (!siglip_encode_labels (self->worker_state, (const char *const *) job->labels, (int) n,
                             &options, text_embeddings, &err))
    {
      g_task_return_error (task, error_from_core (err, SIGLENS_CLASSIFIER_ERROR_INFERENCE));
      return;
    }
  raw = g_new (siglip_score, n);
  read = labels_as_read (self->worker_model, job->labels, &options);

  /* Images seen before by this model at this budget: scored without the vision tower. */
  for (guint i = 0; i < job->n_inputs; i++)
    {
      const SiglensBatchInput *in = &job->inputs[i];

      if (in->embedding != NULL && in->model_id == model_id && in->dim == dim
          && in->max_patches == job->max_patches)
        {
          siglip_score_embeddings (self->worker_model, in->embedding, text_embeddings, (int) n,
                                   raw);
          batch_send (task, job, model_id, i, NULL, g_memdup2 (in->embedding, sizeof (float) * dim),
                      dim, scores_new (job->labels, raw, n, read), NULL);
        }
      else
        {
          g_array_append_val (to_read, i);
          g_ptr_array_add (paths, (gpointer) in->path);
        }
    }

  prefetch = siglens_prefetch_new (self->worker_model, (const char *const *) paths->pdata,
                                   (int) paths->len, job->max_patches, 2, job->thumbnail_size);
  while (!g_cancellable_is_cancelled (cancellable) && (item = siglens_prefetch_next (prefetch)))
    {
      g_autoptr (SiglensPrefetchItem) it = item;
      guint index = g_array_index (to_read, guint, it->index);
      g_autofree float *embedding = NULL;

      if (it->error != NULL)
        {
          batch_send (task, job, model_id, index, NULL, NULL, 0, NULL,
                      g_strdup (it->error->message));
          continue;
        }
      embedding = g_new (float, dim);
      g_atomic_int_inc (&self->n_images_encoded);
      if (!siglip_encode_patches (self->worker_state, it->patches, &options, embedding, &err))
        {
          if (err->status == SIGLIP_ERR_CANCELLED)
            {
              siglip_error_free (err);
              break;
            }
          batch_send (task, job, model_id, index, NULL, NULL, 0, NULL,
                      g_strdup_printf ("%s: %s", it->path, err->message));
          g_clear_pointer (&err, siglip_error_free);
          continue;
        }
      siglip_score_embeddings (self->worker_model, embedding, text_embeddings, (int) n, raw);
      batch_send (task, job, model_id, index, g_steal_pointer (&it->thumbnail),
                  g_steal_pointer (&embedding), dim, scores_new (job->labels, raw, n, read), NULL);
    }
  if (g_task_return_error_if_cancelled (task))
    return;
  g_task_return_boolean (task, TRUE);
}

static gboolean
release_task (gpointer data)
{
  return G_SOURCE_REMOVE;
}

static void
worker_run (gpointer data,
            gpointer user_data)
{
  GTask *task = data; /* (transfer full) */
  SiglensClassifier *self = g_task_get_source_object (task);
  Job *job = g_task_get_task_data (task);

  /* A request superseded while it waited in the queue costs nothing. */
  if (!g_task_return_error_if_cancelled (task))
    {
      if (job->kind == JOB_LOAD)
        worker_load (self, task, job);
      else if (job->kind == JOB_BATCH)
        worker_batch (self, task, job);
      else if (job->kind == JOB_HEATMAP)
        worker_heatmap (self, task, job);
      else
        worker_classify (self, task, job);
    }

  /* Our reference may be the task's last, and the task's may be the classifier's last: drop it
   * on the main thread, or finalize would run here and wait for this very thread to end. */
  run_on_context (g_task_get_context (task), release_task, task, g_object_unref);
}

/* ---------------------------------------------------------------------------------------------
 * Requests
 */

static void
cancel_linked (GCancellable *caller,
               gpointer      ours)
{
  g_cancellable_cancel (G_CANCELLABLE (ours));
}

static void
set_busy (SiglensClassifier *self, int delta)
{
  gboolean was_busy = self->n_pending > 0;

  self->n_pending = (guint) ((int) self->n_pending + delta);
  if (self->n_pending == 0)
    set_activity (self, ACTIVITY_NONE, NULL);
  if (was_busy != (self->n_pending > 0))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

static void
set_writing_id (SiglensClassifier *self, guint model_id)
{
  gboolean was = self->writing_id != 0;

  self->writing_id = model_id;
  if (was != (model_id != 0))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_WRITING_WEIGHT_CACHE]);
}

/* Every half second while the panels' file is written (17-21 s for SO400M): cheap, and it
 * keeps the writing thread from ever touching the main context. */
static gboolean
poll_write (gpointer data)
{
  SiglensClassifier *self = data;

  if ((guint) g_atomic_int_get (&self->write_ended_id) != self->writing_id)
    return G_SOURCE_CONTINUE;
  self->writing_poll = 0;
  set_writing_id (self, 0);
  return G_SOURCE_REMOVE;
}

static void
load_done (SiglensClassifier *self, GTask *task, Job *job)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *summary = g_task_propagate_pointer (task, &error);

  /* A newer load is on its way; it decides what the state becomes. */
  if (job->serial != self->load_serial)
    return;
  /* whatever this load did, the model being written for is no longer the one shown */
  g_clear_handle_id (&self->writing_poll, g_source_remove);
  set_writing_id (self, 0);
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      set_state (self, SIGLENS_MODEL_STATE_NONE);
      return;
    }

  if (error != NULL)
    {
      set_string (self, &self->error_message, error->message, PROP_ERROR_MESSAGE);
      set_state (self, SIGLENS_MODEL_STATE_FAILED);
      return;
    }

  g_free (self->summary);
  self->summary = g_steal_pointer (&summary);
  /* The task's completion orders this read after the worker's write. */
  self->default_max_patches = self->worker_default_patches;
  /* a small model's file can be whole already */
  if (self->worker_writing
      && (guint) g_atomic_int_get (&self->write_ended_id) != self->worker_model_id)
    {
      set_writing_id (self, self->worker_model_id);
      self->writing_poll = g_timeout_add (500, poll_write, self);
    }
  set_load_fraction (self, 1.);
  set_state (self, SIGLENS_MODEL_STATE_READY);
}

static void
job_done (GObject      *source,
          GAsyncResult *result,
          gpointer      unused)
{
  SiglensClassifier *self = SIGLENS_CLASSIFIER (source);
  GTask *task = G_TASK (result);
  Job *job = g_task_get_task_data (task);

  if (job->kind == JOB_LOAD)
    load_done (self, task, job);
  else if (job->callback != NULL)
    job->callback (source, result, job->user_data);

  /* After the caller's callback, so a follow-up request it makes keeps :busy from blinking. */
  set_busy (self, -1);

  /* An image read beside a model load must not leave "Reading image…" up once it is shown:
   * what remains is the wait for the model (unless the callback started something else). */
  if ((job->kind == JOB_READ_FILE || job->kind == JOB_READ_PIXBUF)
      && self->n_pending > 0 && self->state == SIGLENS_MODEL_STATE_LOADING
      && self->activity_kind == ACTIVITY_READING)
    set_activity (self, ACTIVITY_WAITING, _("Waiting for the model…"));
}

/* Returns TRUE after failing `task` when there is nothing to score (`no_labels` says so in
 * the words of the caller) or the template has no place for the label. */
static gboolean
refuse_unusable_labels (GTask              *task,
                        const char *const  *labels,
                        const char         *template,
                        const char         *no_labels)
{
  if (labels == NULL || labels[0] == NULL)
    {
      g_task_return_error (task, g_error_new_literal (SIGLENS_CLASSIFIER_ERROR,
                                                      SIGLENS_CLASSIFIER_ERROR_NO_LABELS,
                                                      no_labels));
      return TRUE;
    }
  if (strstr (template, "{}") == NULL)
    {
      g_task_return_new_error (task, SIGLENS_CLASSIFIER_ERROR,
                               SIGLENS_CLASSIFIER_ERROR_BAD_TEMPLATE,
                               _("The template “%s” has no {} where the label goes."), template);
      return TRUE;
    }
  return FALSE;
}

static GTask *
start_job (SiglensClassifier  *self,
           Job                *job, /* (transfer full) */
           GCancellable      **slot,
           GCancellable       *caller_cancellable,
           const void         *source_tag)
{
  g_autoptr (GCancellable) cancellable = g_cancellable_new ();
  GTask *task;

  /* Latest request wins: the previous one of this kind stops at its next check. */
  if (*slot != NULL)
    g_cancellable_cancel (*slot);
  g_set_object (slot, cancellable);

  if (caller_cancellable != NULL)
    {
      job->caller_cancellable = g_object_ref (caller_cancellable);
      job->caller_handler = g_cancellable_connect (caller_cancellable,
                                                   G_CALLBACK (cancel_linked),
                                                   g_object_ref (cancellable), g_object_unref);
    }

  job->serial = ++self->next_serial;
  g_atomic_int_inc (&live_jobs);
  task = g_task_new (self, cancellable, job_done, NULL);
  g_task_set_source_tag (task, (gpointer) source_tag);
  g_task_set_task_data (task, job, (GDestroyNotify) job_free);
  set_busy (self, +1);
  return task;
}

void
siglens_classifier_load_model (SiglensClassifier *self,
                               const char        *path,
                               SiglensPrecision   precision)
{
  g_autoptr (GTask) task = NULL;
  Job *job;

  g_return_if_fail (SIGLENS_IS_CLASSIFIER (self));
  g_return_if_fail (path != NULL);

  job = g_new0 (Job, 1);
  job->kind = JOB_LOAD;
  job->path = g_strdup (path);
  job->precision = precision;
  job->last_fraction = -1.;

  task = start_job (self, job, &self->load_cancellable, NULL, &load_tag);
  self->load_serial = job->serial;

  set_string (self, &self->model_path, path, PROP_MODEL_PATH);
  set_string (self, &self->error_message, NULL, PROP_ERROR_MESSAGE);
  set_load_fraction (self, 0.);
  set_state (self, SIGLENS_MODEL_STATE_LOADING);

  g_thread_pool_push (self->pool, g_steal_pointer (&task), NULL);
}

static void
start_read (SiglensClassifier   *self,
            Job                 *job,
            GCancellable        *cancellable,
            GAsyncReadyCallback  callback,
            gpointer             user_data)
{
  g_autoptr (GTask) task = NULL;

  job->callback = callback;
  job->user_data = user_data;
  task = start_job (self, job, &self->read_cancellable, cancellable, &read_tag);
  set_activity (self, ACTIVITY_READING, _("Reading image…"));

  /* Decoding needs no model, so it runs beside a model load instead of queueing behind it. */
  g_task_run_in_thread (task, worker_read);
}

void
siglens_classifier_read_file_async (SiglensClassifier   *self,
                                    GFile               *file,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  Job *job;

  g_return_if_fail (SIGLENS_IS_CLASSIFIER (self));
  g_return_if_fail (G_IS_FILE (file));

  job = g_new0 (Job, 1);
  job->kind = JOB_READ_FILE;
  job->file = g_object_ref (file);
  start_read (self, job, cancellable, callback, user_data);
}

void
siglens_classifier_read_pixbuf_async (SiglensClassifier   *self,
                                      GdkPixbuf           *pixbuf,
                                      const char          *name,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data)
{
  Job *job;

  g_return_if_fail (SIGLENS_IS_CLASSIFIER (self));
  g_return_if_fail (GDK_IS_PIXBUF (pixbuf));

  job = g_new0 (Job, 1);
  job->kind = JOB_READ_PIXBUF;
  job->pixbuf = g_object_ref (pixbuf);
  job->name = g_strdup (name);
  start_read (self, job, cancellable, callback, user_data);
}

SiglensImage *
siglens_classifier_read_finish (SiglensClassifier  *self,
                                GAsyncResult       *result,
                                GError            **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == &read_tag, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

void
siglens_classifier_classify_async (SiglensClassifier            *self,
                                   SiglensImage                 *image,
                                   const char *const            *labels,
                                   const SiglensClassifyOptions *options,
                                   GCancellable                 *cancellable,
                                   GAsyncReadyCallback           callback,
                                   gpointer                      user_data)
{
  g_autoptr (GTask) task = NULL;
  const char *template;
  Job *job;

  g_return_if_fail (SIGLENS_IS_CLASSIFIER (self));
  g_return_if_fail (SIGLENS_IS_IMAGE (image));
  g_return_if_fail (options != NULL);

  template = options->template != NULL ? options->template : SIGLIP_DEFAULT_TEMPLATE;

  job = g_new0 (Job, 1);
  job->kind = JOB_CLASSIFY;
  job->callback = callback;
  job->user_data = user_data;
  job->image = g_object_ref (image);
  job->labels = g_strdupv ((char **) labels);
  job->template = g_strdup (template);
  job->templates = g_strdupv ((char **) options->templates);
  job->max_patches = options->max_patches;
  job->lowercase = options->lowercase;

  task = start_job (self, job, &self->classify_cancellable, cancellable, &classify_tag);
  self->classify_serial = job->serial;

  if (refuse_unusable_labels (task, labels, template,
                              _("There are no labels to compare the image with.")))
    return;

  g_thread_pool_push (self->pool, g_steal_pointer (&task), NULL);
}

void
siglens_classifier_where_looked_async (SiglensClassifier   *self,
                                       SiglensImage        *image,
                                       int                  max_patches,
                                       GCancellable        *cancellable,
                                       GAsyncReadyCallback  callback,
                                       gpointer             user_data)
{
  g_autoptr (GTask) task = NULL;
  Job *job;

  g_return_if_fail (SIGLENS_IS_CLASSIFIER (self));
  g_return_if_fail (SIGLENS_IS_IMAGE (image));

  job = g_new0 (Job, 1);
  job->kind = JOB_HEATMAP;
  job->callback = callback;
  job->user_data = user_data;
  job->image = g_object_ref (image);
  job->max_patches = max_patches;

  task = start_job (self, job, &self->heatmap_cancellable, cancellable, &heatmap_tag);
  self->heatmap_serial = job->serial;
  g_thread_pool_push (self->pool, g_steal_pointer (&task), NULL);
}

SiglensHeatmap *
siglens_classifier_where_looked_finish (SiglensClassifier  *self,
                                        GAsyncResult       *result,
                                        GError            **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == &heatmap_tag, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

SiglensScores *
siglens_classifier_classify_finish (SiglensClassifier  *self,
                                    GAsyncResult       *result,
                                    GError            **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == &classify_tag, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

void
siglens_classifier_set_test_hook (SiglensClassifier         *self,
                                  SiglensClassifierTestHook  hook,
                                  gpointer                   data)
{
  g_return_if_fail (SIGLENS_IS_CLASSIFIER (self));
  self->test_hook = hook;
  self->test_hook_data = data;
}

guint
siglens_classifier_test_count_live_jobs (void)
{
  return (guint) g_atomic_int_get (&live_jobs);
}

void
siglens_classifier_classify_batch_async (SiglensClassifier            *self,
                                         const SiglensBatchInput      *inputs,
                                         guint                         n_inputs,
                                         const char *const            *labels,
                                         const SiglensClassifyOptions *options,
                                         int                           thumbnail_size,
                                         SiglensBatchFunc              each,
                                         gpointer                      each_data,
                                         GCancellable                 *cancellable,
                                         GAsyncReadyCallback           callback,
                                         gpointer                      user_data)
{
  g_autoptr (GTask) task = NULL;
  const char *template;
  Job *job;

  g_return_if_fail (SIGLENS_IS_CLASSIFIER (self));
  g_return_if_fail (inputs != NULL || n_inputs == 0);
  g_return_if_fail (options != NULL);
  g_return_if_fail (each != NULL);

  template = options->template != NULL ? options->template : SIGLIP_DEFAULT_TEMPLATE;

  job = g_new0 (Job, 1);
  job->kind = JOB_BATCH;
  job->callback = callback;
  job->user_data = user_data;
  job->labels = g_strdupv ((char **) labels);
  job->template = g_strdup (template);
  job->max_patches = options->max_patches;
  job->lowercase = options->lowercase;
  job->thumbnail_size = thumbnail_size;
  job->each = each;
  job->each_data = each_data;
  job->inputs = g_new0 (SiglensBatchInput, n_inputs);
  job->n_inputs = n_inputs;
  for (guint i = 0; i < n_inputs; i++)
    {
      job->inputs[i] = inputs[i];
      job->inputs[i].path = g_strdup (inputs[i].path);
      job->inputs[i].embedding = inputs[i].embedding != NULL
        ? g_memdup2 (inputs[i].embedding, sizeof (float) * (gsize) inputs[i].dim) : NULL;
    }

  task = start_job (self, job, &self->batch_cancellable, cancellable, &batch_tag);
  self->batch_serial = job->serial;

  if (refuse_unusable_labels (task, labels, template,
                              _("There are no labels to compare the images with.")))
    return;
  set_string (self, &self->activity, _("Classifying the images…"), PROP_ACTIVITY);
  g_thread_pool_push (self->pool, g_steal_pointer (&task), NULL);
}

gboolean
siglens_classifier_classify_batch_finish (SiglensClassifier  *self,
                                          GAsyncResult       *result,
                                          GError            **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == &batch_tag, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---------------------------------------------------------------------------------------------
 * Accessors and GObject
 */

SiglensModelState
siglens_classifier_get_model_state (SiglensClassifier *self)
{
  g_return_val_if_fail (SIGLENS_IS_CLASSIFIER (self), SIGLENS_MODEL_STATE_NONE);
  return self->state;
}

double
siglens_classifier_get_load_fraction (SiglensClassifier *self)
{
  g_return_val_if_fail (SIGLENS_IS_CLASSIFIER (self), 0.);
  return self->load_fraction;
}

const char *
siglens_classifier_get_model_path (SiglensClassifier *self)
{
  g_return_val_if_fail (SIGLENS_IS_CLASSIFIER (self), NULL);
  return self->model_path;
}

const char *
siglens_classifier_get_error_message (SiglensClassifier *self)
{
  g_return_val_if_fail (SIGLENS_IS_CLASSIFIER (self), NULL);
  return self->error_message;
}

char *
siglens_classifier_dup_model_summary (SiglensClassifier *self)
{
  g_return_val_if_fail (SIGLENS_IS_CLASSIFIER (self), NULL);
  if (self->state != SIGLENS_MODEL_STATE_READY)
    return NULL;
  if (self->writing_id != 0)
    /* Translators: the model's summary while the packed weights are saved on disk in the
     * background, so that the next start is quicker, e.g.
     * "siglip2-so400m · 1136 M parameters · bf16 · preparing a faster next start" */
    return g_strdup_printf (_("%s · preparing a faster next start"), self->summary);
  return g_strdup (self->summary);
}

gboolean
siglens_classifier_get_writing_weight_cache (SiglensClassifier *self)
{
  g_return_val_if_fail (SIGLENS_IS_CLASSIFIER (self), FALSE);
  return self->writing_id != 0;
}

guint
siglens_classifier_get_n_images_encoded (SiglensClassifier *self)
{
  g_return_val_if_fail (SIGLENS_IS_CLASSIFIER (self), 0);
  return (guint) g_atomic_int_get (&self->n_images_encoded);
}

int
siglens_classifier_get_default_max_patches (SiglensClassifier *self)
{
  g_return_val_if_fail (SIGLENS_IS_CLASSIFIER (self), 0);
  return self->state == SIGLENS_MODEL_STATE_READY ? self->default_max_patches : 0;
}

gboolean
siglens_classifier_get_busy (SiglensClassifier *self)
{
  g_return_val_if_fail (SIGLENS_IS_CLASSIFIER (self), FALSE);
  return self->n_pending > 0;
}

const char *
siglens_classifier_get_activity (SiglensClassifier *self)
{
  g_return_val_if_fail (SIGLENS_IS_CLASSIFIER (self), NULL);
  return self->activity;
}

SiglensClassifier *
siglens_classifier_new (void)
{
  return g_object_new (SIGLENS_TYPE_CLASSIFIER, NULL);
}

static void
siglens_classifier_dispose (GObject *object)
{
  SiglensClassifier *self = SIGLENS_CLASSIFIER (object);

  g_cancellable_cancel (self->load_cancellable);
  g_cancellable_cancel (self->read_cancellable);
  g_cancellable_cancel (self->classify_cancellable);
  g_cancellable_cancel (self->batch_cancellable);
  g_cancellable_cancel (self->heatmap_cancellable);
  g_clear_handle_id (&self->writing_poll, g_source_remove);

  G_OBJECT_CLASS (siglens_classifier_parent_class)->dispose (object);
}

static void
siglens_classifier_finalize (GObject *object)
{
  SiglensClassifier *self = SIGLENS_CLASSIFIER (object);

  /* Every task holds a reference to us, so by now the worker is idle. */
  g_thread_pool_free (self->pool, TRUE, TRUE);
  g_clear_pointer (&self->worker_state, siglip_state_free);
  g_clear_pointer (&self->worker_model, siglip_model_free);
  g_clear_pointer (&self->worker_watch, g_free);
  g_clear_pointer (&self->label_cache, siglip_label_cache_free);

  g_clear_object (&self->load_cancellable);
  g_clear_object (&self->batch_cancellable);
  g_clear_object (&self->read_cancellable);
  g_clear_object (&self->classify_cancellable);
  g_clear_object (&self->heatmap_cancellable);
  g_clear_pointer (&self->model_path, g_free);
  g_clear_pointer (&self->error_message, g_free);
  g_clear_pointer (&self->summary, g_free);
  g_clear_pointer (&self->activity, g_free);

  G_OBJECT_CLASS (siglens_classifier_parent_class)->finalize (object);
}

static void
siglens_classifier_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  SiglensClassifier *self = SIGLENS_CLASSIFIER (object);

  switch (prop_id)
    {
    case PROP_MODEL_STATE:
      g_value_set_enum (value, self->state);
      break;
    case PROP_LOAD_FRACTION:
      g_value_set_double (value, self->load_fraction);
      break;
    case PROP_MODEL_PATH:
      g_value_set_string (value, self->model_path);
      break;
    case PROP_ERROR_MESSAGE:
      g_value_set_string (value, self->error_message);
      break;
    case PROP_BUSY:
      g_value_set_boolean (value, self->n_pending > 0);
      break;
    case PROP_ACTIVITY:
      g_value_set_string (value, self->activity);
      break;
    case PROP_WRITING_WEIGHT_CACHE:
      g_value_set_boolean (value, self->writing_id != 0);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
siglens_classifier_class_init (SiglensClassifierClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  const GParamFlags flags = G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS;

  object_class->dispose = siglens_classifier_dispose;
  object_class->finalize = siglens_classifier_finalize;
  object_class->get_property = siglens_classifier_get_property;

  properties[PROP_MODEL_STATE] =
    g_param_spec_enum ("model-state", NULL, NULL,
                       SIGLENS_TYPE_MODEL_STATE, SIGLENS_MODEL_STATE_NONE, flags);
  properties[PROP_LOAD_FRACTION] =
    g_param_spec_double ("load-fraction", NULL, NULL, 0., 1., 0., flags);
  properties[PROP_MODEL_PATH] = g_param_spec_string ("model-path", NULL, NULL, NULL, flags);
  properties[PROP_ERROR_MESSAGE] = g_param_spec_string ("error-message", NULL, NULL, NULL, flags);
  properties[PROP_BUSY] = g_param_spec_boolean ("busy", NULL, NULL, FALSE, flags);
  properties[PROP_ACTIVITY] = g_param_spec_string ("activity", NULL, NULL, NULL, flags);
  properties[PROP_WRITING_WEIGHT_CACHE] =
    g_param_spec_boolean ("writing-weight-cache", NULL, NULL, FALSE, flags);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
siglens_classifier_init (SiglensClassifier *self)
{
  /* One thread: the core already spreads each forward pass over every core with OpenBLAS and
   * its own threads, and one job at a time keeps a stale request from slowing the new one. */
  self->pool = g_thread_pool_new (worker_run, NULL, 1, FALSE, NULL);

  /* Without it labels are only encoded again next time; not worth a word to the person. */
  {
    siglip_error *err = NULL;

    self->label_cache = siglip_label_cache_open (NULL, 0, &err);
    if (self->label_cache == NULL)
      {
        g_debug ("no label cache: %s", err->message);
        siglip_error_free (err);
      }
  }
}
