/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * siglens-cli classify: zero-shot scores of a label list for each image (table, JSON lines or
 * CSV); siglens-cli embed: pooled image and text embeddings as JSON.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <glib.h>

#include "cli.h"
#include "cli-inputs.h"
#include "cli-model.h"
#include "siglens-prefetch.h"
#include "siglens-results.h"
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
load_model (const char *command, const CommonOptions *o, siglip_label_cache *label_cache)
{
  siglip_load_options load = {
    .label_cache = label_cache,
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

/* Where the results go: the table or JSON lines on stdout, CSV on stdout or into a file. */
typedef struct {
  gboolean table;
  gboolean json;
  FILE *csv; /* NULL: no CSV */
  gboolean csv_is_file;
  SiglensResultsMeta meta;
  char **labels;
  int n_labels;
  int n_shown;       /* images printed so far (the table puts a blank line between them) */
  CliProgress progress;
  gboolean progress_shares_terminal; /* stdout is the same terminal: erase before printing */
} Outputs;

static void
emit_result (Outputs *o, const SiglensImageResult *r)
{
  if (o->progress.enabled && o->progress_shares_terminal)
    cli_progress_finish (&o->progress);
  const char *const *labels = (const char *const *) o->labels;
  if (o->json)
    {
      cJSON *obj = siglens_results_json_image (labels, o->n_labels, r);
      char *text = cJSON_PrintUnformatted (obj);
      puts (text);
      cJSON_free (text);
      cJSON_Delete (obj);
    }
  else if (o->table && !r->error)
    {
      const int shape[2] = { r->rows, r->cols };
      if (o->n_shown > 0)
        putchar ('\n');
      print_table (r->image, shape, o->labels, r->scores, o->n_labels);
    }
  if (o->csv)
    {
      g_autoptr (GString) rows = g_string_new (NULL);
      siglens_results_csv_rows (rows, &o->meta, labels, o->n_labels, r);
      fwrite (rows->str, 1, rows->len, o->csv);
      fflush (o->csv);
    }
  o->n_shown++;
  fflush (stdout); /* streamed: a reader sees each image as soon as it is done */
}

typedef struct {
  char *path;
  char *reason;
} Failure;

static void
failure_clear (gpointer data)
{
  Failure *f = data;
  g_free (f->path);
  g_free (f->reason);
}

/* Runs the vision tower over `paths` while the prefetch thread decodes the next ones; every
 * image gets a result, scored or failed. Returns false only when the run itself cannot go on. */
static bool
classify_all (siglip_state *state, const siglip_model *model, char **paths, int n_paths,
              const siglip_encode_options *options, const float *text_emb, Outputs *out,
              GArray *failures)
{
  const int dim = siglip_model_embed_dim_vision (model);
  g_autofree float *image_emb = g_new (float, dim);
  g_autofree siglip_score *scores = g_new (siglip_score, out->n_labels);
  g_autoptr (SiglensPrefetch) prefetch =
    siglens_prefetch_new (model, (const char *const *) paths, n_paths, options->max_patches, 2,
                          0);
  cli_progress_start (&out->progress, n_paths);
  int done = 0;
  SiglensPrefetchItem *item;
  while ((item = siglens_prefetch_next (prefetch)))
    {
      g_autoptr (SiglensPrefetchItem) it = item;
      SiglensImageResult r = { .image = it->path };
      g_autofree char *reason = NULL;
      siglip_error *err = NULL;
      if (it->error)
        reason = g_strdup (it->error->message);
      else if (!siglip_encode_patches (state, it->patches, options, image_emb, &err))
        {
          reason = g_strdup_printf ("%s: %s", it->path, err->message);
          siglip_error_free (err);
        }
      else
        {
          siglip_score_embeddings (model, image_emb, text_emb, out->n_labels, scores);
          r.rows = it->patches->rows;
          r.cols = it->patches->cols;
          r.scores = scores;
        }
      if (reason)
        {
          /* The reason names the file already (decode errors do, and ours above). */
          r.error = reason;
          Failure f = { g_strdup (it->path), g_strdup (reason) };
          g_array_append_val (failures, f);
        }
      emit_result (out, &r);
      cli_progress_update (&out->progress, ++done);
    }
  cli_progress_finish (&out->progress);
  return true;
}

/* Labels from --labels and --labels-file (its lines already read) together, one list; NULL
 * after saying why. */
static siglip_label_list *
gather_labels (const char *text, const char *file, char **from_file, int n_file,
               const siglip_model *model, const CommonOptions *common)
{
  if (!file)
    return read_labels (text, model, common);
  int n_typed = 0;
  char **typed = text ? siglip_split_labels (text, &n_typed) : NULL;
  g_autofree const char **lines = g_new0 (const char *, n_typed + n_file + 1);
  for (int i = 0; i < n_typed; i++)
    lines[i] = typed[i];
  for (int i = 0; i < n_file; i++)
    lines[n_typed + i] = from_file[i];
  const siglip_encode_options options = {
    .template = common->template,
    .no_lowercase = common->no_lowercase,
  };
  siglip_error *err = NULL;
  siglip_label_list *list =
    siglip_label_list_new_from_lines (lines, n_typed + n_file, model, &options, &err);
  siglip_labels_free (typed);
  if (!list)
    {
      fprintf (stderr, "siglens-cli classify: %s: %s\n", file, err->message);
      siglip_error_free (err);
      return NULL;
    }
  if (list->n_labels == 0)
    {
      fprintf (stderr, "siglens-cli classify: %s: no labels in it (one label per line)\n",
               strcmp (file, "-") ? file : "standard input");
      siglip_label_list_free (list);
      return NULL;
    }
  return list;
}

/* The label cache on disk, unless turned off; a cache that cannot be opened is a warning. */
static siglip_label_cache *
open_label_cache (gboolean disabled)
{
  if (disabled)
    return NULL;
  siglip_error *err = NULL;
  siglip_label_cache *cache = siglip_label_cache_open (NULL, 0, &err);
  if (!cache)
    {
      fprintf (stderr, "siglens-cli classify: warning: %s; labels are not cached\n",
               err->message);
      siglip_error_free (err);
    }
  return cache;
}

static void
print_summary (int n_images, int n_skipped, GArray *failures)
{
  if (n_skipped > 0)
    fprintf (stderr, "siglens-cli classify: %d %s skipped (not images)\n", n_skipped,
             n_skipped == 1 ? "file" : "files");
  if (failures->len == 0)
    return;
  fprintf (stderr, "siglens-cli classify: %u of %d images failed:\n", failures->len, n_images);
  for (guint i = 0; i < failures->len; i++)
    fprintf (stderr, "  %s\n", g_array_index (failures, Failure, i).reason);
}

int
siglens_cli_classify (int argc, char **argv)
{
  CommonOptions common = { 0 };
  g_autofree char *labels_text = NULL, *labels_file = NULL, *csv_path = NULL;
  g_autofree char *preset_name = NULL;
  gboolean json = FALSE, recursive = FALSE, no_cache = FALSE, ensemble = FALSE;
  const GOptionEntry entries[] = {
    COMMON_ENTRIES (&common),
    { "labels", 'l', 0, G_OPTION_ARG_FILENAME, &labels_text,
      "Labels separated by commas (also ，、 and newlines)", "\"cat, dog\"" },
    { "preset", 'p', 0, G_OPTION_ARG_STRING, &preset_name,
      "The labels of a preset or saved label set (see `siglens-cli presets`)", "NAME" },
    { "ensemble", 'e', 0, G_OPTION_ARG_NONE, &ensemble,
      "Prompt ensemble: each label through several templates (\"a photo of a {}.\", \"a drawing "
      "of a {}.\", ...), the mean of their unit embeddings", NULL },
    { "labels-file", 'L', 0, G_OPTION_ARG_FILENAME, &labels_file,
      "Labels from a file, one per line (- for standard input)", "FILE" },
    { "recursive", 'r', 0, G_OPTION_ARG_NONE, &recursive, "Look for images in subfolders too",
      NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json,
      "One JSON object per image per line, written as each image is done", NULL },
    { "csv", 0, 0, G_OPTION_ARG_FILENAME, &csv_path,
      "CSV rows (image,label,logit,probability,error,model,...) into FILE (- for standard "
      "output)", "FILE" },
    { "no-cache", 0, 0, G_OPTION_ARG_NONE, &no_cache,
      "Do not read or write the label embeddings kept in ~/.cache/siglens", NULL },
    { NULL },
  };
  int status = 1;
  siglip_label_list *list = NULL;
  siglip_label_cache *label_cache = NULL;
  siglip_model *model = NULL;
  siglip_state *state = NULL;
  float *text_emb = NULL;
  int n_labels = 0, n_skipped = 0;
  g_auto (GStrv) paths = NULL;
  g_autoptr (GArray) failures = g_array_new (FALSE, FALSE, sizeof (Failure));
  g_array_set_clear_func (failures, failure_clear);
  g_auto (GStrv) file_labels = NULL; /* read once: standard input cannot be read twice */
  int n_file_labels = 0;
  g_autoptr (GError) gerr = NULL;
  Outputs out = { 0 };

  if (!parse_options ("classify", "IMAGE-OR-FOLDER...",
                      "Zero-shot classification: the probability of each label, independently "
                      "(sigmoid), for each image.", entries, &argc, &argv)
      || !check_common ("classify", &common))
    goto out;
  if (json && csv_path && !strcmp (csv_path, "-"))
    {
      fprintf (stderr, "siglens-cli classify: --json and --csv - both want standard output; "
               "give --csv a file\n");
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
  if (labels_file && !(file_labels = cli_read_labels_file (labels_file, &n_file_labels, &gerr)))
    {
      fprintf (stderr, "siglens-cli classify: %s\n", gerr->message);
      goto out;
    }
  /* Checked once before the model loads so that a typo costs no load time. */
  if (!(list = gather_labels (labels_text, labels_file, file_labels, n_file_labels, NULL,
                              &common)))
    goto out;
  if (argc < 2)
    {
      fprintf (stderr, "siglens-cli classify: no images given\n");
      goto out;
    }
  if (!(paths = cli_collect_images ("siglens-cli classify", argv + 1, argc - 1, recursive,
                                    &n_skipped, &gerr)))
    {
      fprintf (stderr, "siglens-cli classify: %s\n", gerr->message);
      goto out;
    }
  const int n_images = (int) g_strv_length (paths);
  if (n_images == 0)
    {
      fprintf (stderr, "siglens-cli classify: no images found in %s%s\n", argv[1],
               argc > 2 ? " and the others" : "");
      goto out;
    }
  if (csv_path && strcmp (csv_path, "-") && !(out.csv = fopen (csv_path, "w")))
    {
      fprintf (stderr, "siglens-cli classify: %s: cannot write: %s\n", csv_path,
               g_strerror (errno));
      goto out;
    }
  out.csv_is_file = out.csv != NULL;
  if (csv_path && !strcmp (csv_path, "-"))
    out.csv = stdout;
  out.json = json;
  out.table = !json && !(csv_path && !strcmp (csv_path, "-"));
  out.progress_shares_terminal = isatty (STDOUT_FILENO);

  siglip_error *err = NULL;
  label_cache = open_label_cache (no_cache);
  if (!(model = load_model ("classify", &common, label_cache)))
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
  if (!(list = gather_labels (labels_text, labels_file, file_labels, n_file_labels, model,
                              &common)))
    goto out;
  tell_merged_and_truncated (list);
  n_labels = list->n_labels;

  /* The labels are encoded once, in one batch, and scored against every image. */
  siglip_encode_options options = {
    .max_patches = common.max_patches,
    .template = common.template,
    .no_lowercase = common.no_lowercase,
  };
  const char *template = common.template ? common.template : SIGLIP_DEFAULT_TEMPLATE;
  if (ensemble)
    {
      guint n_templates;
      options.templates = siglens_presets_ensemble_templates (&n_templates);
      options.n_templates = (int) n_templates;
      template = "ensemble";
    }
  text_emb = g_new (float, (gsize) n_labels * dim);
  if (!siglip_encode_labels (state, (const char *const *) list->labels, n_labels, &options,
                             text_emb, &err))
    {
      fprintf (stderr, "siglens-cli classify: %s\n", err->message);
      siglip_error_free (err);
      goto out;
    }

  const siglip_model_info *info = siglip_model_get_info (model);
  out.labels = list->labels;
  out.n_labels = n_labels;
  out.meta = (SiglensResultsMeta) {
    .model = common.model,
    .precision = info->precision == SIGLIP_PRECISION_BF16 ? "bf16" : "fp32",
    .max_patches = common.max_patches > 0 ? common.max_patches : info->default_max_patches,
    .template = template,
    .lowercase = !common.no_lowercase,
  };
  if (out.csv)
    {
      g_autoptr (GString) header = g_string_new (NULL);
      siglens_results_csv_header (header);
      fputs (header->str, out.csv);
    }
  classify_all (state, model, paths, n_images, &options, text_emb, &out, failures);
  print_summary (n_images, n_skipped, failures);
  status = failures->len ? 1 : 0;
  if (out.csv_is_file && fclose (out.csv) != 0)
    {
      fprintf (stderr, "siglens-cli classify: %s: cannot write: %s\n", csv_path,
               g_strerror (errno));
      status = 1;
    }
  out.csv = NULL;

out:
  if (out.csv_is_file && out.csv)
    fclose (out.csv);
  g_free (text_emb);
  siglip_label_list_free (list);
  siglip_state_free (state);
  cli_model_free ("classify", model);
  siglip_label_cache_free (label_cache);
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
  if (!(model = load_model ("embed", &common, NULL)))
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
  cli_model_free ("embed", model);
  common_options_clear (&common);
  return status;
}
