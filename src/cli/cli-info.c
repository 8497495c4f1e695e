/* SPDX-License-Identifier: GPL-3.0-or-later */
/* siglens-cli info MODEL [--json]: what a model directory holds, for people and for scripts. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "cli-model.h"
#include "siglip.h"

static void
info_usage (FILE *out)
{
  fprintf (out, "Usage: siglens-cli info MODEL [--json] [--threads N] [--precision P]\n\n"
                "Describes a SigLIP / SigLIP 2 model: both towers, parameter counts, the dtype\n"
                "and size of the weight files.\n\n"
                "  MODEL        a model directory or a Hugging Face id in the local HF cache\n"
                "  --json       print one JSON object instead of text\n"
                "  --threads N  threads the model would use (default: all cores)\n"
                "  --precision P  fp32 (default) or bf16 (weights packed to bf16 at load)\n");
}

/* 1234567 -> "1,234,567" */
static const char *
thousands (int64_t v, char buf[32])
{
  char digits[24];
  int n = snprintf (digits, sizeof digits, "%lld", (long long) (v < 0 ? -v : v));
  int o = 0;
  if (v < 0)
    buf[o++] = '-';
  for (int i = 0; i < n; i++)
    {
      if (i > 0 && (n - i) % 3 == 0)
        buf[o++] = ',';
      buf[o++] = digits[i];
    }
  buf[o] = '\0';
  return buf;
}

/* Where the packed weights came from, and what they take on disk (README "Speed"). */
static void
print_weight_cache (const siglip_model_info *info)
{
  const bool fp32 = info->precision == SIGLIP_PRECISION_FP32;
  switch (info->weight_cache)
    {
    case SIGLIP_WEIGHT_CACHE_HIT:
    case SIGLIP_WEIGHT_CACHE_BUILT:
      if (fp32) /* no panels: the record that these files passed the NaN/Inf check */
        {
          printf ("Weight cache:  %s (record in %s)\n",
                  info->weight_cache == SIGLIP_WEIGHT_CACHE_HIT
                    ? "NaN/Inf check skipped: these files passed it at an earlier load"
                    : "every weight checked for NaN/Inf, recorded for the next load",
                  info->weight_cache_path);
          break;
        }
      printf ("Weight cache:  %s %s, %.1f MiB on disk%s%s%s\n",
              info->weight_cache == SIGLIP_WEIGHT_CACHE_HIT ? "mapped from" : "built now in",
              info->weight_cache_path, (double) info->weight_cache_bytes / (1024.0 * 1024.0),
              info->weight_cache_note ? " (" : "",
              info->weight_cache_note ? info->weight_cache_note : "",
              info->weight_cache_note ? ")" : "");
      break;
    case SIGLIP_WEIGHT_CACHE_WRITING:
      printf ("Weight cache:  being written to %s for the next load; this one computes on the "
              "F32 rows, rounded to bf16 as they are read%s%s%s\n", info->weight_cache_path,
              info->weight_cache_note ? " (" : "",
              info->weight_cache_note ? info->weight_cache_note : "",
              info->weight_cache_note ? ")" : "");
      break;
    case SIGLIP_WEIGHT_CACHE_OFF:
      printf ("Weight cache:  none, packed in memory (%s)\n",
              info->weight_cache_note ? info->weight_cache_note : "off");
      break;
    case SIGLIP_WEIGHT_CACHE_NONE:
    default:
      break;
    }
}

static void
print_text (const siglip_model_info *info)
{
  char a[32], b[32], c[32];
  const siglip_tower_info *t = &info->text, *v = &info->vision;
  bool naflex = info->kind == SIGLIP_KIND_SIGLIP2;

  printf ("Model:         %s\n", info->directory);
  if (info->source)
    printf ("Found in:      %s\n", info->source);
  printf ("Type:          %s (%s)\n", info->model_type,
          naflex ? "SigLIP 2, NAFlex: any aspect ratio" : "SigLIP, fixed resolution");
  printf ("Parameters:    %s (text %s, vision %s)\n", thousands (info->num_params, a),
          thousands (t->num_params, b), thousands (v->num_params, c));
  printf ("Weights:       %s, %d file%s, %s bytes (%.1f MiB)\n", info->file_dtype, info->n_files,
          info->n_files == 1 ? "" : "s", thousands (info->weights_bytes, a),
          (double) info->weights_bytes / (1024.0 * 1024.0));
  printf ("Text tower:    %d layers, hidden %d, %d heads, intermediate %d, vocab %d, "
          "%d positions, projection %d\n", t->num_layers, t->hidden_size, t->num_heads,
          t->intermediate_size, t->vocab_size, t->max_position_embeddings, t->projection_size);
  printf ("Vision tower:  %d layers, hidden %d, %d heads, intermediate %d, patch %d, ",
          v->num_layers, v->hidden_size, v->num_heads, v->intermediate_size, v->patch_size);
  int g = (int) lround (sqrt ((double) v->num_patches));
  if (naflex)
    printf ("%d position embeddings (%dx%d grid), max patches %d\n", v->num_patches, g, g,
            info->default_max_patches);
  else
    printf ("image %dx%d (%dx%d patches)\n", v->image_size, v->image_size, g, g);
  printf ("Logits:        scale %.6g (x%.4g), bias %.6g\n", info->logit_scale,
          exp (info->logit_scale), info->logit_bias);
  printf ("Compute:       %s, %d thread%s\n",
          info->precision == SIGLIP_PRECISION_BF16 ? "bf16 weights" : "fp32",
          info->n_threads, info->n_threads == 1 ? "" : "s");
  print_weight_cache (info);
}

/* A float as the shortest decimal that reads back to it (1e-06, not 9.99999997e-07). */
static double
float_json (float v)
{
  char buf[32];
  for (int digits = 6; digits <= 9; digits++)
    {
      snprintf (buf, sizeof buf, "%.*g", digits, (double) v);
      if ((float) strtod (buf, NULL) == v)
        break;
    }
  return strtod (buf, NULL);
}

static cJSON *
tower_json (const siglip_tower_info *t, bool text, siglip_kind kind)
{
  cJSON *o = cJSON_CreateObject ();
  cJSON_AddNumberToObject (o, "num_layers", t->num_layers);
  cJSON_AddNumberToObject (o, "hidden_size", t->hidden_size);
  cJSON_AddNumberToObject (o, "num_heads", t->num_heads);
  cJSON_AddNumberToObject (o, "intermediate_size", t->intermediate_size);
  cJSON_AddNumberToObject (o, "layer_norm_eps", float_json (t->layer_norm_eps));
  if (text)
    {
      cJSON_AddNumberToObject (o, "vocab_size", t->vocab_size);
      cJSON_AddNumberToObject (o, "max_position_embeddings", t->max_position_embeddings);
      cJSON_AddNumberToObject (o, "projection_size", t->projection_size);
    }
  else
    {
      cJSON_AddNumberToObject (o, "patch_size", t->patch_size);
      cJSON_AddNumberToObject (o, "num_channels", t->num_channels);
      cJSON_AddNumberToObject (o, "num_patches", t->num_patches);
      if (kind == SIGLIP_KIND_SIGLIP)
        cJSON_AddNumberToObject (o, "image_size", t->image_size);
    }
  cJSON_AddNumberToObject (o, "num_params", (double) t->num_params);
  return o;
}

static int
print_json (const siglip_model_info *info)
{
  cJSON *o = cJSON_CreateObject ();
  cJSON_AddStringToObject (o, "directory", info->directory);
  if (info->source)
    cJSON_AddStringToObject (o, "source", info->source);
  cJSON_AddStringToObject (o, "model_type", info->model_type);
  cJSON_AddItemToObject (o, "text", tower_json (&info->text, true, info->kind));
  cJSON_AddItemToObject (o, "vision", tower_json (&info->vision, false, info->kind));
  cJSON_AddNumberToObject (o, "num_params", (double) info->num_params);
  cJSON_AddStringToObject (o, "file_dtype", info->file_dtype);
  cJSON_AddStringToObject (o, "precision",
                           info->precision == SIGLIP_PRECISION_BF16 ? "bf16" : "fp32");
  cJSON_AddNumberToObject (o, "n_files", info->n_files);
  cJSON_AddNumberToObject (o, "weights_bytes", (double) info->weights_bytes);
  if (info->kind == SIGLIP_KIND_SIGLIP2)
    cJSON_AddNumberToObject (o, "default_max_patches", info->default_max_patches);
  cJSON_AddNumberToObject (o, "logit_scale", float_json (info->logit_scale));
  cJSON_AddNumberToObject (o, "logit_bias", float_json (info->logit_bias));
  cJSON_AddNumberToObject (o, "n_threads", info->n_threads);
  cJSON *cache = cJSON_AddObjectToObject (o, "weight_cache");
  cJSON_AddStringToObject (cache, "status",
                           siglip_weight_cache_status_name (info->weight_cache));
  if (info->weight_cache_path)
    cJSON_AddStringToObject (cache, "path", info->weight_cache_path);
  cJSON_AddNumberToObject (cache, "bytes", (double) info->weight_cache_bytes);
  if (info->weight_cache_note)
    cJSON_AddStringToObject (cache, "note", info->weight_cache_note);
  char *text = cJSON_Print (o);
  cJSON_Delete (o);
  if (!text)
    {
      fprintf (stderr, "siglens-cli info: out of memory\n");
      return 1;
    }
  puts (text);
  free (text);
  return 0;
}

int
siglens_cli_info (int argc, char **argv)
{
  const char *model_path = NULL;
  bool json = false;
  siglip_load_options options = { 0 };

  for (int i = 1; i < argc; i++)
    {
      if (!strcmp (argv[i], "--help") || !strcmp (argv[i], "-h"))
        {
          info_usage (stdout);
          return 0;
        }
      else if (!strcmp (argv[i], "--json"))
        json = true;
      else if (!strcmp (argv[i], "--precision") && i + 1 < argc)
        {
          const char *p = argv[++i];
          if (strcmp (p, "fp32") && strcmp (p, "bf16"))
            {
              fprintf (stderr, "siglens-cli info: --precision is fp32 or bf16, not '%s'\n", p);
              return 2;
            }
          options.precision = !strcmp (p, "bf16") ? SIGLIP_PRECISION_BF16 : SIGLIP_PRECISION_FP32;
        }
      else if (!strcmp (argv[i], "--threads") && i + 1 < argc)
        {
          char *end;
          long n = strtol (argv[++i], &end, 10);
          if (*end || n < 1 || n > 512)
            {
              fprintf (stderr, "siglens-cli info: --threads wants a number from 1 to 512, "
                               "not '%s'\n", argv[i]);
              return 2;
            }
          options.n_threads = (int) n;
        }
      else if (argv[i][0] == '-' && argv[i][1])
        {
          fprintf (stderr, "siglens-cli info: unknown option '%s'\n\n", argv[i]);
          info_usage (stderr);
          return 2;
        }
      else if (!model_path)
        model_path = argv[i];
      else
        {
          fprintf (stderr, "siglens-cli info: one MODEL only ('%s' is extra)\n", argv[i]);
          return 2;
        }
    }
  if (!model_path)
    {
      info_usage (stderr);
      return 2;
    }

  siglip_error *err = NULL;
  siglip_model *model = siglip_model_load (model_path, &options, &err);
  if (!model)
    {
      fprintf (stderr, "siglens-cli info: %s\n", err ? err->message : "cannot load the model");
      siglip_error_free (err);
      return 1;
    }
  const siglip_model_info *info = siglip_model_get_info (model);
  int status = 0;
  if (json)
    status = print_json (info);
  else
    print_text (info);
  cli_model_free ("info", model);
  return status;
}
