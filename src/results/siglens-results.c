/* SPDX-License-Identifier: GPL-3.0-or-later */
/* siglens-results.c — CSV and JSON for results; the formats are described in the header. */
#include "siglens-results.h"

#include <string.h>

/* RFC 4180: quote fields holding a comma, quote or line break; double inner quotes. */
static void
csv_field (GString *out, const char *s)
{
  if (!s)
    return;
  if (!strpbrk (s, ",\"\r\n"))
    {
      g_string_append (out, s);
      return;
    }
  g_string_append_c (out, '"');
  for (; *s; s++)
    {
      if (*s == '"')
        g_string_append_c (out, '"');
      g_string_append_c (out, *s);
    }
  g_string_append_c (out, '"');
}

void
siglens_results_csv_header (GString *out)
{
  g_string_append (out, "image,label,logit,probability,error,model,precision,max_patches,"
                        "template\n");
}

static void
csv_meta (GString *out, const SiglensResultsMeta *meta)
{
  g_string_append_c (out, ',');
  csv_field (out, meta->model);
  g_string_append_c (out, ',');
  csv_field (out, meta->precision);
  g_string_append_printf (out, ",%d,", meta->max_patches);
  csv_field (out, meta->template);
  g_string_append_c (out, '\n');
}

void
siglens_results_csv_rows (GString *out, const SiglensResultsMeta *meta,
                          const char *const *labels, int n_labels,
                          const SiglensImageResult *r)
{
  if (r->error || !r->scores)
    {
      csv_field (out, r->image);
      g_string_append (out, ",,,,");
      csv_field (out, r->error ? r->error : "not scored");
      csv_meta (out, meta);
      return;
    }
  for (int i = 0; i < n_labels; i++)
    {
      char logit[G_ASCII_DTOSTR_BUF_SIZE], prob[G_ASCII_DTOSTR_BUF_SIZE];
      /* %.9g round-trips a float; g_ascii_formatd keeps the '.' whatever the locale */
      g_ascii_formatd (logit, sizeof logit, "%.9g", r->scores[i].logit);
      g_ascii_formatd (prob, sizeof prob, "%.9g", r->scores[i].probability);
      csv_field (out, r->image);
      g_string_append_c (out, ',');
      csv_field (out, labels[i]);
      g_string_append_printf (out, ",%s,%s,", logit, prob);
      csv_meta (out, meta);
    }
}

cJSON *
siglens_results_json_image (const char *const *labels, int n_labels,
                            const SiglensImageResult *r)
{
  cJSON *o = cJSON_CreateObject ();
  cJSON_AddStringToObject (o, "image", r->image);
  if (r->error || !r->scores)
    {
      cJSON_AddStringToObject (o, "error", r->error ? r->error : "not scored");
      return o;
    }
  if (r->rows > 0)
    {
      cJSON *ss = cJSON_AddArrayToObject (o, "spatial_shape");
      cJSON_AddItemToArray (ss, cJSON_CreateNumber (r->rows));
      cJSON_AddItemToArray (ss, cJSON_CreateNumber (r->cols));
    }
  cJSON *arr = cJSON_AddArrayToObject (o, "scores");
  for (int i = 0; i < n_labels; i++)
    {
      cJSON *s = cJSON_CreateObject ();
      cJSON_AddStringToObject (s, "label", labels[i]);
      cJSON_AddNumberToObject (s, "logit", r->scores[i].logit);
      cJSON_AddNumberToObject (s, "probability", r->scores[i].probability);
      cJSON_AddItemToArray (arr, s);
    }
  return o;
}

char *
siglens_results_json_document (const SiglensResultsMeta *meta, const char *const *labels,
                               int n_labels, const SiglensImageResult *results, int n_results)
{
  cJSON *root = cJSON_CreateObject ();
  cJSON_AddStringToObject (root, "model", meta->model ? meta->model : "");
  cJSON_AddStringToObject (root, "precision", meta->precision ? meta->precision : "fp32");
  cJSON_AddNumberToObject (root, "max_patches", meta->max_patches);
  cJSON_AddStringToObject (root, "template", meta->template ? meta->template : "");
  cJSON_AddBoolToObject (root, "lowercase", meta->lowercase);
  cJSON *ls = cJSON_AddArrayToObject (root, "labels");
  for (int i = 0; i < n_labels; i++)
    cJSON_AddItemToArray (ls, cJSON_CreateString (labels[i]));
  cJSON *images = cJSON_AddArrayToObject (root, "images");
  for (int i = 0; i < n_results; i++)
    cJSON_AddItemToArray (images, siglens_results_json_image (labels, n_labels, &results[i]));
  char *text = cJSON_Print (root);
  cJSON_Delete (root);
  char *copy = g_strdup (text);
  cJSON_free (text);
  return copy;
}
