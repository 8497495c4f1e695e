/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * siglens-cli classify: zero-shot scores of a label list for each image (table, JSON lines or
 * CSV); siglens-cli embed: pooled image and text embeddings as JSON.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <glib.h>

#include "cli.h"
#include "siglens-decode.h"
#include "siglens-presets.h"
#include "siglip.h"

/* Options both commands share. */
typedef struct {
  char *model;
  char *template;
  int max_patches;
  gboolean no_lowercase;
  int threads;
  char *precision;
} CommonOptions;

static void
common_options_clear (CommonOptions *o)
{
  g_free (o->model);
  g_free (o->template);
  g_free (o->precision);
}

/* Texts (labels, template, --text) are taken as FILENAME, i.e. the bytes as given: GOption's
 * STRING conversion would refuse invalid UTF-8 with "Invalid byte sequence in conversion
 * input", naming neither the option nor the byte; the core's check names both. */
#define COMMON_ENTRIES(o)                                                                      \
  { "model", 'm', 0, G_OPTION_ARG_FILENAME, &(o)->model,                                       \
    "Model directory or Hugging Face id in the local HF cache", "MODEL" },                    \
  { "template", 0, 0, G_OPTION_ARG_FILENAME, &(o)->template,                                    \
    "Prompt template, {} is replaced by the label (\"{}\" alone: no template)", "T" },         \
  { "max-patches", 0, 0, G_OPTION_ARG_INT, &(o)->max_patches,                                  \
    "NAFlex patch budget per image (default: the model's preprocessor, 256)", "N" },           \
  { "no-lowercase", 0, 0, G_OPTION_ARG_NONE, &(o)->no_lowercase,                               \
    "Do not lowercase texts before tokenizing (SigLIP 2 was trained lowercased)", NULL },      \
  { "threads", 0, 0, G_OPTION_ARG_INT, &(o)->threads, "Threads (default: all cores)", "N" },  \
  { "precision", 0, 0, G_OPTION_ARG_STRING, &(o)->precision,                                   \
    "Weights precision: fp32 (default) or bf16", "fp32|bf16" }

/* Parses argv with `entries`; prints the error and returns false on bad usage. */
static bool
parse_options (const char *command, const char *params, const char *summary,
               const GOptionEntry *entries, int *argc, char ***argv)
{
  g_autofree char *prgname = g_strdup_printf ("siglens-cli %s", command);
  g_set_prgname (prgname); /* "Usage: siglens-cli classify [OPTION…]" in --help */
  g_autoptr (GOptionContext) ctx = g_option_context_new (params);
  g_option_context_set_summary (ctx, summary);
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) error = NULL;
  if (!g_option_context_parse (ctx, argc, argv, &error))
    {
      fprintf (stderr, "siglens-cli %s: %s\n", command, error->message);
      return false;
    }
  return true;
}

static bool
check_common (const char *command, const CommonOptions *o)
{
  if (!o->model)
    {
      fprintf (stderr, "siglens-cli %s: --model MODEL is required\n", command);
      return false;
    }
  const char *bad = NULL;
  if (o->template && !g_utf8_validate (o->template, -1, &bad))
    {
      fprintf (stderr, "siglens-cli %s: --template is not valid UTF-8 (byte 0x%02X at offset "
               "%td)\n", command, (unsigned char) *bad, bad - o->template);
      return false;
    }
  if (o->precision && strcmp (o->precision, "fp32") && strcmp (o->precision, "bf16"))
    {
      fprintf (stderr, "siglens-cli %s: --precision must be fp32 or bf16, not '%s'\n", command,
               o->precision);
      return false;
    }
  if (o->max_patches < 0 || o->threads < 0)
    {
      fprintf (stderr, "siglens-cli %s: --max-patches and --threads must not be negative\n",
               command);
      return false;
    }
  return true;
}

static siglip_model *
load_model (const char *command, const CommonOptions *o)
{
  siglip_load_options load = {
    .n_threads = o->threads,
    .precision = o->precision && !strcmp (o->precision, "bf16") ? SIGLIP_PRECISION_BF16
                                                                 : SIGLIP_PRECISION_FP32,
  };
  siglip_error *err = NULL;
  siglip_model *model = siglip_model_load (o->model, &load, &err);
  if (!model)
    {
      fprintf (stderr, "siglens-cli %s: cannot load model '%s': %s\n", command, o->model,
               err->message);
      siglip_error_free (err);
    }
  return model;
}

/* Decodes and encodes one image; on failure prints why (naming the file) and returns false. */
static bool
embed_image_file (const char *command, siglip_state *state, const char *path,
                  const siglip_encode_options *options, float *embedding, int shape[2])
{
  g_autoptr (GError) gerr = NULL;
  g_autoptr (SiglensRgbImage) rgb = siglens_decode_file (path, 0, &gerr);
  if (!rgb)
    {
      fprintf (stderr, "siglens-cli %s: %s\n", command, gerr->message);
      return false;
    }
  siglip_image image = { rgb->rgb, rgb->width, rgb->height, rgb->stride };
  siglip_error *err = NULL;
  if (!siglip_encode_image (state, &image, options, embedding, shape, &err))
    {
      fprintf (stderr, "siglens-cli %s: %s: %s\n", command, path, err->message);
      siglip_error_free (err);
      return false;
    }
  return true;
}

/* ---------------------------------------------------------------------------------------------
 * classify
 */

typedef enum { OUTPUT_TABLE, OUTPUT_JSON, OUTPUT_CSV } OutputFormat;

typedef struct {
  const char *label;
  siglip_score score;
} RankedScore;

static int
by_probability_desc (const void *a, const void *b)
{
  const RankedScore *x = a, *y = b;
  return (x->score.logit < y->score.logit) - (x->score.logit > y->score.logit);
}

static void
print_table (const char *path, const int shape[2], char **labels, const siglip_score *scores,
             int n)
{
  g_autofree RankedScore *ranked = g_new (RankedScore, n);
  for (int i = 0; i < n; i++)
    ranked[i] = (RankedScore) { labels[i], scores[i] };
  qsort (ranked, (size_t) n, sizeof *ranked, by_probability_desc);

  printf ("%s  (%dx%d patches)\n", path, shape[0], shape[1]);
  printf ("  %11s  %9s  %s\n", "probability", "logit", "label");
  for (int i = 0; i < n; i++)
    printf ("  %10.2f%%  %9.4f  %s\n", 100.0 * ranked[i].score.probability,
            ranked[i].score.logit, ranked[i].label);
}

static void
print_json_line (const char *path, const int shape[2], char **labels, const siglip_score *scores,
                 int n)
{
  cJSON *o = cJSON_CreateObject ();
  cJSON_AddStringToObject (o, "image", path);
  cJSON *ss = cJSON_AddArrayToObject (o, "spatial_shape");
  cJSON_AddItemToArray (ss, cJSON_CreateNumber (shape[0]));
  cJSON_AddItemToArray (ss, cJSON_CreateNumber (shape[1]));
  cJSON *arr = cJSON_AddArrayToObject (o, "scores");
  for (int i = 0; i < n; i++)
    {
      cJSON *s = cJSON_CreateObject ();
      cJSON_AddStringToObject (s, "label", labels[i]);
      cJSON_AddNumberToObject (s, "logit", scores[i].logit);
      cJSON_AddNumberToObject (s, "probability", scores[i].probability);
      cJSON_AddItemToArray (arr, s);
    }
  char *text = cJSON_PrintUnformatted (o);
  puts (text);
  cJSON_free (text);
  cJSON_Delete (o);
}

/* RFC 4180: quote fields holding a comma, quote or line break; double inner quotes. */
static void
print_csv_field (const char *s)
{
  if (!strpbrk (s, ",\"\r\n"))
    {
      fputs (s, stdout);
      return;
    }
  putchar ('"');
  for (; *s; s++)
    {
      if (*s == '"')
        putchar ('"');
      putchar (*s);
    }
  putchar ('"');
}

static void
print_csv (const char *path, char **labels, const siglip_score *scores, int n)
{
  for (int i = 0; i < n; i++)
    {
      print_csv_field (path);
      putchar (',');
      print_csv_field (labels[i]);
      printf (",%.9g,%.9g\n", scores[i].logit, scores[i].probability);
    }
}

/* The typed labels, merged and checked as the model will read them (model may be NULL);
 * NULL after saying why. */
static siglip_label_list *
read_labels (const char *text, const siglip_model *model, const CommonOptions *common)
{
  const siglip_encode_options options = {
    .template = common->template,
    .no_lowercase = common->no_lowercase,
  };
  siglip_error *err = NULL;
  siglip_label_list *list = siglip_label_list_new (text, model, &options, &err);
  if (!list)
    {
      fprintf (stderr, "siglens-cli classify: %s\n", err->message);
      siglip_error_free (err);
      return NULL;
    }
  if (list->n_labels == 0)
    {
      fprintf (stderr, "siglens-cli classify: no labels given; use --labels \"cat, dog\" or "
               "--preset NAME\n");
      siglip_label_list_free (list);
      return NULL;
    }
  return list;
}

/* Notes on stderr, so that JSON and CSV on stdout stay clean. */
static void
tell_merged_and_truncated (const siglip_label_list *list)
{
  for (int i = 0; i < list->n_entries; i++)
    {
      const siglip_label_entry *e = &list->entries[i];
      if (e->merged)
        fprintf (stderr, "siglens-cli classify: note: \"%s\" reads the same as \"%s\" to the "
                 "model (lowercased and cut to its %d tokens), so it is scored once, as \"%s\"\n",
                 e->text, list->labels[e->label], list->max_tokens, list->labels[e->label]);
      if (e->truncated)
        {
          g_autofree char *head = g_utf8_substring (e->text, 0, 40);
          fprintf (stderr, "siglens-cli classify: note: label %d (\"%s…\") is longer than the "
                   "%d tokens the model reads; its last %d tokens are ignored\n",
                   i + 1, head, list->max_tokens, e->n_dropped);
        }
    }
}

/* A preset's labels as one --labels string (no preset label holds a separator). */
static char *
labels_of_preset (const char *name)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SiglensPreset) preset = siglens_presets_find (NULL, name, &error);

  if (!preset)
    {
      fprintf (stderr, "siglens-cli classify: %s\n", error->message);
      return NULL;
    }
  return siglens_preset_dup_text (preset);
}

int
siglens_cli_classify (int argc, char **argv)
{
  CommonOptions common = { 0 };
  g_autofree char *labels_text = NULL;
  g_autofree char *preset_name = NULL;
  gboolean json = FALSE, csv = FALSE, ensemble = FALSE;
  const GOptionEntry entries[] = {
    COMMON_ENTRIES (&common),
    { "labels", 'l', 0, G_OPTION_ARG_FILENAME, &labels_text,
      "Labels separated by commas (also ，、 and newlines)", "\"cat, dog\"" },
    { "preset", 'p', 0, G_OPTION_ARG_STRING, &preset_name,
      "The labels of a preset or saved label set (see `siglens-cli presets`)", "NAME" },
    { "ensemble", 'e', 0, G_OPTION_ARG_NONE, &ensemble,
      "Prompt ensemble: each label through several templates (\"a photo of a {}.\", \"a drawing "
      "of a {}.\", ...), the mean of their unit embeddings", NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "One JSON object per image per line", NULL },
    { "csv", 0, 0, G_OPTION_ARG_NONE, &csv, "CSV rows: image,label,logit,probability", NULL },
    { NULL },
  };
  int status = 1;
  siglip_label_list *list = NULL;
  char **labels = NULL;
  siglip_model *model = NULL;
  siglip_state *state = NULL;
  float *text_emb = NULL, *image_emb = NULL;
  siglip_score *scores = NULL;
  int n_labels = 0;

  if (!parse_options ("classify", "IMAGE...",
                      "Zero-shot classification: the probability of each label, independently "
                      "(sigmoid), for each image.", entries, &argc, &argv)
      || !check_common ("classify", &common))
    goto out;
  if (json && csv)
    {
      fprintf (stderr, "siglens-cli classify: choose one of --json and --csv\n");
      goto out;
    }
  if (ensemble && common.template)
    {
      fprintf (stderr, "siglens-cli classify: choose one of --template and --ensemble (which "
               "brings its own templates)\n");
      goto out;
    }
  if (labels_text && preset_name)
    {
      fprintf (stderr, "siglens-cli classify: choose one of --labels and --preset\n");
      goto out;
    }
  if (preset_name && !(labels_text = labels_of_preset (preset_name)))
    goto out;
  /* Checked once before the model loads so that a typo costs no load time. */
  if (!(list = read_labels (labels_text, NULL, &common)))
    goto out;
  if (argc < 2)
    {
      fprintf (stderr, "siglens-cli classify: no images given\n");
      goto out;
    }
  const OutputFormat format = json ? OUTPUT_JSON : csv ? OUTPUT_CSV : OUTPUT_TABLE;

  siglip_error *err = NULL;
  if (!(model = load_model ("classify", &common)))
    goto out;
  if (!(state = siglip_state_new (model, &err)))
    {
      fprintf (stderr, "siglens-cli classify: %s\n", err->message);
      siglip_error_free (err);
      goto out;
    }
  const int dim = siglip_model_embed_dim_text (model);
  if (siglip_model_embed_dim_vision (model) != dim)
    {
      fprintf (stderr, "siglens-cli classify: %s: image (%d) and text (%d) embeddings differ in "
               "size\n", common.model, siglip_model_embed_dim_vision (model), dim);
      goto out;
    }

  /* Read again with the model: it merges what the model reads the same and knows its window. */
  siglip_label_list_free (list);
  if (!(list = read_labels (labels_text, model, &common)))
    goto out;
  tell_merged_and_truncated (list);
  labels = list->labels;
  n_labels = list->n_labels;

  /* The labels are encoded once, in one batch, and scored against every image. */
  siglip_encode_options options = {
    .max_patches = common.max_patches,
    .template = common.template,
    .no_lowercase = common.no_lowercase,
  };
  if (ensemble)
    {
      guint n_templates;
      options.templates = siglens_presets_ensemble_templates (&n_templates);
      options.n_templates = (int) n_templates;
    }
  text_emb = g_new (float, (gsize) n_labels * dim);
  if (!siglip_encode_labels (state, (const char *const *) labels, n_labels, &options, text_emb,
                             &err))
    {
      fprintf (stderr, "siglens-cli classify: %s\n", err->message);
      siglip_error_free (err);
      goto out;
    }

  image_emb = g_new (float, dim);
  scores = g_new (siglip_score, n_labels);
  if (format == OUTPUT_CSV)
    puts ("image,label,logit,probability");
  int failed = 0;
  for (int a = 1; a < argc; a++)
    {
      int shape[2];
      if (!embed_image_file ("classify", state, argv[a], &options, image_emb, shape))
        {
          failed++;
          continue;
        }
      siglip_score_embeddings (model, image_emb, text_emb, n_labels, scores);
      switch (format)
        {
        case OUTPUT_TABLE:
          if (a > 1)
            putchar ('\n');
          print_table (argv[a], shape, labels, scores, n_labels);
          break;
        case OUTPUT_JSON:
          print_json_line (argv[a], shape, labels, scores, n_labels);
          break;
        case OUTPUT_CSV:
          print_csv (argv[a], labels, scores, n_labels);
          break;
        }
      fflush (stdout);
    }
  if (failed)
    fprintf (stderr, "siglens-cli classify: %d of %d images failed\n", failed, argc - 1);
  status = failed ? 1 : 0;

out:
  g_free (scores);
  g_free (image_emb);
  g_free (text_emb);
  siglip_label_list_free (list);
  siglip_state_free (state);
  siglip_model_free (model);
  common_options_clear (&common);
  return status;
}

/* ---------------------------------------------------------------------------------------------
 * embed
 */

static cJSON *
embedding_json (const float *x, int n)
{
  cJSON *arr = cJSON_CreateArray ();
  for (int i = 0; i < n; i++)
    cJSON_AddItemToArray (arr, cJSON_CreateNumber (x[i]));
  return arr;
}

int
siglens_cli_embed (int argc, char **argv)
{
  CommonOptions common = { 0 };
  g_auto (GStrv) images = NULL;
  g_auto (GStrv) texts = NULL;
  gboolean json = FALSE;
  const GOptionEntry entries[] = {
    COMMON_ENTRIES (&common),
    { "image", 'i', 0, G_OPTION_ARG_FILENAME_ARRAY, &images, "An image to embed (repeatable)",
      "IMG" },
    { "text", 't', 0, G_OPTION_ARG_FILENAME_ARRAY, &texts,
      "A text to embed (repeatable); templated only with --template", "T" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "JSON output (the only format)", NULL },
    { NULL },
  };
  int status = 1;
  siglip_model *model = NULL;
  siglip_state *state = NULL;
  cJSON *root = NULL;
  float *image_emb = NULL;

  if (!parse_options ("embed", "",
                      "Pooled embeddings (before L2 normalisation) of images and texts, as one "
                      "JSON object.", entries, &argc, &argv)
      || !check_common ("embed", &common))
    goto out;
  if (argc > 1)
    {
      fprintf (stderr, "siglens-cli embed: unexpected argument '%s'; images go after --image\n",
               argv[1]);
      goto out;
    }
  const int n_images = images ? (int) g_strv_length (images) : 0;
  const int n_texts = texts ? (int) g_strv_length (texts) : 0;
  if (n_images + n_texts == 0)
    {
      fprintf (stderr, "siglens-cli embed: nothing to embed; give --image IMG or --text T\n");
      goto out;
    }

  siglip_error *err = NULL;
  if (!(model = load_model ("embed", &common)))
    goto out;
  if (!(state = siglip_state_new (model, &err)))
    {
      fprintf (stderr, "siglens-cli embed: %s\n", err->message);
      siglip_error_free (err);
      goto out;
    }
  const siglip_encode_options options = {
    .max_patches = common.max_patches,
    .no_lowercase = common.no_lowercase,
  };

  root = cJSON_CreateObject ();
  cJSON *image_arr = cJSON_AddArrayToObject (root, "images");
  cJSON *text_arr = cJSON_AddArrayToObject (root, "texts");
  int failed = 0;

  const int vdim = siglip_model_embed_dim_vision (model);
  image_emb = g_new (float, vdim);
  for (int i = 0; i < n_images; i++)
    {
      int shape[2];
      if (!embed_image_file ("embed", state, images[i], &options, image_emb, shape))
        {
          failed++;
          continue;
        }
      cJSON *o = cJSON_CreateObject ();
      cJSON_AddStringToObject (o, "path", images[i]);
      cJSON *ss = cJSON_AddArrayToObject (o, "spatial_shape");
      cJSON_AddItemToArray (ss, cJSON_CreateNumber (shape[0]));
      cJSON_AddItemToArray (ss, cJSON_CreateNumber (shape[1]));
      cJSON_AddItemToObject (o, "embedding", embedding_json (image_emb, vdim));
      cJSON_AddItemToArray (image_arr, o);
    }

  if (n_texts > 0)
    {
      const int tdim = siglip_model_embed_dim_text (model);
      g_autofree float *text_emb = g_new (float, (gsize) n_texts * tdim);
      /* the texts as given unless --template says how to read them */
      siglip_encode_options text_options = options;
      text_options.template = common.template ? common.template : SIGLIP_NO_TEMPLATE;
      bool ok = siglip_encode_labels (state, (const char *const *) texts, n_texts, &text_options,
                                      text_emb, &err);
      for (int i = 0; ok && i < n_texts; i++)
        {
          cJSON *o = cJSON_CreateObject ();
          cJSON_AddStringToObject (o, "text", texts[i]);
          if (common.template)
            {
              char *templated = siglip_apply_template (common.template, texts[i]);
              cJSON_AddStringToObject (o, "templated", templated);
              free (templated);
            }
          cJSON_AddItemToObject (o, "embedding",
                                 embedding_json (text_emb + (gsize) i * tdim, tdim));
          cJSON_AddItemToArray (text_arr, o);
        }
      if (!ok)
        {
          fprintf (stderr, "siglens-cli embed: %s\n", err->message);
          siglip_error_free (err);
          goto out;
        }
    }

  char *text = cJSON_PrintUnformatted (root);
  puts (text);
  cJSON_free (text);
  if (failed)
    fprintf (stderr, "siglens-cli embed: %d of %d images failed\n", failed, n_images);
  status = failed ? 1 : 0;

out:
  g_free (image_emb);
  cJSON_Delete (root);
  siglip_state_free (state);
  siglip_model_free (model);
  common_options_clear (&common);
  return status;
}
