/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * SiglensClassifier — owns the loaded model and the one worker thread that runs it.
 *
 * Every request (load a model, read an image, classify) is a GTask queued to a single worker
 * thread, so the CPU is never split between a stale job and the one that matters. Each kind of
 * request has one slot: a new one cancels the previous (latest request wins) and a cancelled
 * request completes with G_IO_ERROR_CANCELLED, which callers drop quietly.
 */
#pragma once

#include <gio/gio.h>
#include <gdk-pixbuf/gdk-pixbuf.h>

#include "siglens-image.h"

G_BEGIN_DECLS

typedef enum {
  SIGLENS_MODEL_STATE_NONE,    /* no model loaded or being loaded */
  SIGLENS_MODEL_STATE_LOADING, /* see :load-fraction */
  SIGLENS_MODEL_STATE_READY,
  SIGLENS_MODEL_STATE_FAILED,  /* see :error-message */
} SiglensModelState;

GType siglens_model_state_get_type (void);
#define SIGLENS_TYPE_MODEL_STATE (siglens_model_state_get_type ())

typedef enum {
  SIGLENS_PRECISION_FP32,
  SIGLENS_PRECISION_BF16,
} SiglensPrecision;

#define SIGLENS_CLASSIFIER_ERROR (siglens_classifier_error_quark ())

typedef enum {
  SIGLENS_CLASSIFIER_ERROR_NO_MODEL,
  SIGLENS_CLASSIFIER_ERROR_NO_LABELS,
  SIGLENS_CLASSIFIER_ERROR_BAD_TEMPLATE,
  SIGLENS_CLASSIFIER_ERROR_MODEL,    /* the model could not be loaded */
  SIGLENS_CLASSIFIER_ERROR_INFERENCE /* the core failed while encoding */
} SiglensClassifierError;

GQuark siglens_classifier_error_quark (void);

typedef struct {
  guint   n;
  char  **labels;        /* n labels, NULL-terminated, in the order asked */
  float  *probabilities; /* n, sigmoid per label (independent, not a softmax) */
  float  *logits;        /* n */
  int    *n_unread;      /* n: tokens of each label's templated text past the text tower's
                            window (0: read whole), or NULL when not known */
  int     max_tokens;    /* that window (64 for SigLIP 2) */
} SiglensScores;

void           siglens_scores_free (SiglensScores *scores);
SiglensScores *siglens_scores_copy (const SiglensScores *scores);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SiglensScores, siglens_scores_free)

typedef struct {
  const char *template;    /* must contain "{}"; NULL = "This is a photo of {}." */
  int         max_patches; /* 0 = the model's default */
  gboolean    lowercase;
  /* A prompt ensemble (NULL-terminated) read instead of `template`, or NULL. */
  const char *const *templates;
} SiglensClassifyOptions;

/* "Where it looked" for one image (siglip_attention_map's mean over heads). */
typedef struct {
  int         rows, cols;
  float      *mean;    /* rows * cols, row-major, sums to 1 */
  GdkTexture *texture; /* the map in the viridis colours, at the image's aspect ratio */
} SiglensHeatmap;

void siglens_heatmap_free (SiglensHeatmap *heatmap);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SiglensHeatmap, siglens_heatmap_free)

#define SIGLENS_TYPE_CLASSIFIER (siglens_classifier_get_type ())
G_DECLARE_FINAL_TYPE (SiglensClassifier, siglens_classifier, SIGLENS, CLASSIFIER, GObject)

SiglensClassifier *siglens_classifier_new (void);

/* Starts loading `path` (replacing any model once it has loaded); follow :model-state. */
void               siglens_classifier_load_model         (SiglensClassifier *self,
                                                          const char        *path,
                                                          SiglensPrecision   precision);
SiglensModelState  siglens_classifier_get_model_state    (SiglensClassifier *self);
double             siglens_classifier_get_load_fraction  (SiglensClassifier *self);
const char        *siglens_classifier_get_model_path     (SiglensClassifier *self);
const char        *siglens_classifier_get_error_message  (SiglensClassifier *self);
/* A one-line description of the loaded model for people, or NULL. (transfer full) */
char              *siglens_classifier_dup_model_summary  (SiglensClassifier *self);
/* How many times the vision tower ran, over the classifier's life (any thread). */
guint              siglens_classifier_get_n_images_encoded (SiglensClassifier *self);
/* The loaded model's patch budget when none is asked for (0 before a model is ready). */
int                siglens_classifier_get_default_max_patches (SiglensClassifier *self);
gboolean           siglens_classifier_get_busy           (SiglensClassifier *self);
/* What the worker is doing for the newest request, e.g. "Encoding 3 labels…", or NULL. */
const char        *siglens_classifier_get_activity       (SiglensClassifier *self);
/* TRUE while the loaded bf16 model's packed weights are written to disk behind it, for a
 * faster next start (the core's weight cache); the summary says so meanwhile. */
gboolean           siglens_classifier_get_writing_weight_cache (SiglensClassifier *self);

/* Decodes a file (any GIO URI) in the worker. */
void               siglens_classifier_read_file_async    (SiglensClassifier   *self,
                                                          GFile               *file,
                                                          GCancellable        *cancellable,
                                                          GAsyncReadyCallback  callback,
                                                          gpointer             user_data);
/* Turns already decoded pixels (a dropped or pasted texture) into a SiglensImage. */
void               siglens_classifier_read_pixbuf_async  (SiglensClassifier   *self,
                                                          GdkPixbuf           *pixbuf,
                                                          const char          *name,
                                                          GCancellable        *cancellable,
                                                          GAsyncReadyCallback  callback,
                                                          gpointer             user_data);
SiglensImage      *siglens_classifier_read_finish        (SiglensClassifier   *self,
                                                          GAsyncResult        *result,
                                                          GError             **error);

void               siglens_classifier_classify_async     (SiglensClassifier            *self,
                                                          SiglensImage                 *image,
                                                          const char *const            *labels,
                                                          const SiglensClassifyOptions *options,
                                                          GCancellable                 *cancellable,
                                                          GAsyncReadyCallback           callback,
                                                          gpointer                      user_data);
SiglensScores     *siglens_classifier_classify_finish    (SiglensClassifier   *self,
                                                          GAsyncResult        *result,
                                                          GError             **error);

/* The pooling head's attention over the image's patches, computed and rendered on the worker
 * (latest request wins). */
void               siglens_classifier_where_looked_async (SiglensClassifier   *self,
                                                          SiglensImage        *image,
                                                          int                  max_patches,
                                                          GCancellable        *cancellable,
                                                          GAsyncReadyCallback  callback,
                                                          gpointer             user_data);
SiglensHeatmap    *siglens_classifier_where_looked_finish (SiglensClassifier  *self,
                                                           GAsyncResult       *result,
                                                           GError            **error);

/* Many images against one label set: see siglens_classifier_classify_batch_async. */
typedef struct {
  const char  *path;        /* a local file */
  const float *embedding;   /* from an earlier run, or NULL; reused (no vision tower) when it is
                               from the same model load and patch budget */
  int          dim;
  guint        model_id;
  int          max_patches;
} SiglensBatchInput;

typedef struct {
  guint          index;       /* into the inputs */
  GdkPixbuf     *thumbnail;   /* when the image was read in this run, else NULL */
  const float   *embedding;   /* dim floats, NULL on error */
  int            dim;
  guint          model_id;
  int            max_patches;
  SiglensScores *scores;      /* NULL on error */
  const char    *error;       /* why the image could not be read, names the file */
} SiglensBatchResult;

/* Called on the caller's thread once per image, in input order, while the run is current. */
typedef void (*SiglensBatchFunc) (const SiglensBatchResult *result, gpointer user_data);

/* Encodes the labels once, then every input: the known embeddings are scored at once, the
 * others decoded on a prefetch thread while the vision tower runs. A new batch cancels the
 * running one (latest request wins). Completes TRUE, or G_IO_ERROR_CANCELLED, or the error
 * that stopped the whole run (no model, the labels). */
void     siglens_classifier_classify_batch_async  (SiglensClassifier            *self,
                                                   const SiglensBatchInput      *inputs,
                                                   guint                         n_inputs,
                                                   const char *const            *labels,
                                                   const SiglensClassifyOptions *options,
                                                   int                           thumbnail_size,
                                                   SiglensBatchFunc              each,
                                                   gpointer                      each_data,
                                                   GCancellable                 *cancellable,
                                                   GAsyncReadyCallback           callback,
                                                   gpointer                      user_data);
gboolean siglens_classifier_classify_batch_finish (SiglensClassifier   *self,
                                                   GAsyncResult        *result,
                                                   GError             **error);

G_END_DECLS
