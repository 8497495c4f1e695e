/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * siglens-results.h — the file formats results are kept in, one definition for the CLI and the
 * window's "Export Results…":
 *
 * CSV (RFC 4180, UTF-8), one row per image and label, every row self-describing:
 *   image,label,logit,probability,error,model,precision,max_patches,template
 * an image that failed has one row with empty label/logit/probability and the reason in
 * `error`.
 *
 * JSON: one object per image
 *   {"image", "spatial_shape": [rows, cols], "scores": [{"label", "logit", "probability"}],
 *    "error" (failed images only, without scores)}
 * written as JSON lines by the CLI (one per line, as each image is done), and inside one
 * document by the window: {"model", "precision", "max_patches", "template", "lowercase",
 * "labels": [...], "images": [...]}.
 */
#pragma once

#include <cjson/cJSON.h>
#include <glib.h>

#include "siglip.h"

G_BEGIN_DECLS

typedef struct {
  const char *model;     /* the directory or Hub id the model was loaded from */
  const char *precision; /* "fp32" | "bf16" */
  int max_patches;       /* the patch budget actually used (never 0) */
  const char *template;  /* the template applied to every label */
  gboolean lowercase;    /* texts lowercased before tokenizing (SigLIP 2's default) */
} SiglensResultsMeta;

typedef struct {
  const char *image;            /* path as given or found */
  const char *error;            /* NULL when scored */
  int rows, cols;               /* the patch grid used; 0 when not known (no spatial_shape) */
  const siglip_score *scores;   /* one per label, in label order; NULL on error */
} SiglensImageResult;

void   siglens_results_csv_header (GString *out);
void   siglens_results_csv_rows (GString *out, const SiglensResultsMeta *meta,
                                 const char *const *labels, int n_labels,
                                 const SiglensImageResult *result);
/* One image's object. (transfer full, cJSON_Delete) */
cJSON *siglens_results_json_image (const char *const *labels, int n_labels,
                                   const SiglensImageResult *result);
/* The whole document. (transfer full, g_free) */
char  *siglens_results_json_document (const SiglensResultsMeta *meta, const char *const *labels,
                                      int n_labels, const SiglensImageResult *results,
                                      int n_results);

G_END_DECLS
