/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * config.c — config.json and preprocessor_config.json, with Hugging Face's defaults for the
 * keys a diff-style save_pretrained leaves out (FACTS.md §9, §2, §3).
 *
 * Every value is range-checked: the upper bounds are far above any published SigLIP
 * (so400m: hidden 1152, intermediate 4304, 27 layers) but keep a hostile config from sizing
 * terabyte scratch buffers later.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "internal.h"
#include "util.h"

#define CONFIG_FILE     "config.json"
#define PREPROCESS_FILE "preprocessor_config.json"
#define MAX_CONFIG_BYTES (4u << 20)

/* Reads and parses `name` in `directory`. (transfer full: cJSON_Delete) */
static cJSON *
load_json (const char *directory, const char *name, siglip_error **error)
{
  char *path = siglip_path_join (directory, name);
  if (!path)
    {
      siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "%s: out of memory", name);
      return NULL;
    }
  char *text = siglip_read_text_file (path, MAX_CONFIG_BYTES, error);
  cJSON *json = NULL;
  if (text)
    {
      const char *end = NULL;
      json = cJSON_ParseWithOpts (text, &end, true);
      if (!json)
        siglip_set_error (error, SIGLIP_ERR_FORMAT, "%s: not valid JSON (near byte %ld)", path,
                          end ? (long) (end - text) : 0L);
      else if (!cJSON_IsObject (json))
        {
          siglip_set_error (error, SIGLIP_ERR_FORMAT, "%s: not a JSON object", path);
          cJSON_Delete (json);
          json = NULL;
        }
    }
  free (text);
  free (path);
  return json;
}

/* A field lookup that remembers where it is, so every message can say "file: section.key". */
typedef struct {
  const char *file;
  const char *section; /* "text_config", "vision_config" or NULL for the top level */
  const cJSON *object; /* may be NULL: every key then takes its default */
  siglip_error **error;
} fields;

static const cJSON *
field (const fields *f, const char *key)
{
  const cJSON *item = f->object ? cJSON_GetObjectItemCaseSensitive (f->object, key) : NULL;
  return cJSON_IsNull (item) ? NULL : item;
}

static const char *
dot (const fields *f)
{
  return f->section ? "." : "";
}

static bool
get_int (const fields *f, const char *key, int fallback, int min, int max, int *out)
{
  const cJSON *item = field (f, key);
  if (!item)
    {
      *out = fallback;
      return true;
    }
  double v = cJSON_IsNumber (item) ? item->valuedouble : NAN;
  if (!(v >= min && v <= max) || v != floor (v))
    {
      char *text = cJSON_PrintUnformatted (item);
      siglip_set_error (f->error, SIGLIP_ERR_FORMAT,
                        "%s: %s%s%s is %.40s, expected an integer in [%d, %d]", f->file,
                        f->section ? f->section : "", dot (f), key, text ? text : "?", min, max);
      free (text);
      return false;
    }
  *out = (int) v;
  return true;
}

/* A positive finite number below `max`. */
static bool
get_number (const fields *f, const char *key, double fallback, double max, double *out)
{
  const cJSON *item = field (f, key);
  if (!item)
    {
      *out = fallback;
      return true;
    }
  double v = cJSON_IsNumber (item) ? item->valuedouble : NAN;
  if (!(v > 0.0 && v < max))
    {
      char *text = cJSON_PrintUnformatted (item);
      siglip_set_error (f->error, SIGLIP_ERR_FORMAT,
                        "%s: %s%s%s is %.40s, expected a positive number below %g", f->file,
                        f->section ? f->section : "", dot (f), key, text ? text : "?", max);
      free (text);
      return false;
    }
  *out = v;
  return true;
}

static bool
get_bool (const fields *f, const char *key, bool fallback, bool *out)
{
  const cJSON *item = field (f, key);
  if (!item)
    {
      *out = fallback;
      return true;
    }
  if (!cJSON_IsBool (item))
    return siglip_set_error (f->error, SIGLIP_ERR_FORMAT, "%s: %s%s%s is not true or false",
                             f->file, f->section ? f->section : "", dot (f), key);
  *out = cJSON_IsTrue (item);
  return true;
}

/* gelu_pytorch_tanh, gelu_new and gelu_fast are the same tanh formula (activations.py);
 * anything else (exact "gelu", "quick_gelu", ...) would silently change the numbers. */
static bool
check_activation (const fields *f)
{
  const cJSON *act = field (f, "hidden_act");
  if (!act)
    return true; /* HF default: gelu_pytorch_tanh */
  if (!cJSON_IsString (act))
    return siglip_set_error (f->error, SIGLIP_ERR_FORMAT, "%s: %s.hidden_act is not a string",
                             f->file, f->section);
  static const char *const tanh_gelus[] = { "gelu_pytorch_tanh", "gelu_new", "gelu_fast" };
  for (size_t i = 0; i < sizeof tanh_gelus / sizeof tanh_gelus[0]; i++)
    if (!strcmp (act->valuestring, tanh_gelus[i]))
      return true;
  return siglip_set_error (f->error, SIGLIP_ERR_UNSUPPORTED,
                           "%s: %s.hidden_act \"%.40s\" is not supported (only the tanh GELU, "
                           "gelu_pytorch_tanh)", f->file, f->section, act->valuestring);
}

/* Keys and defaults shared by both towers (Siglip2TextConfig / Siglip2VisionConfig). */
static bool
load_common (const fields *f, siglip_tower_config *t)
{
  double eps;
  if (!get_int (f, "hidden_size", 768, 1, 16384, &t->hidden_size)
      || !get_int (f, "intermediate_size", 3072, 1, 65536, &t->intermediate_size)
      || !get_int (f, "num_hidden_layers", 12, 1, 256, &t->num_layers)
      || !get_int (f, "num_attention_heads", 12, 1, 1024, &t->num_heads)
      || !get_number (f, "layer_norm_eps", 1e-6, 1.0, &eps) || !check_activation (f))
    return false;
  t->layer_norm_eps = (float) eps;
  if (t->hidden_size % t->num_heads != 0)
    return siglip_set_error (f->error, SIGLIP_ERR_FORMAT,
                             "%s: %s.hidden_size %d is not divisible by num_attention_heads %d",
                             f->file, f->section, t->hidden_size, t->num_heads);
  return true;
}

static bool
load_text (const fields *f, siglip_tower_config *t)
{
  if (!load_common (f, t) || !get_int (f, "vocab_size", 32000, 1, 1 << 22, &t->vocab_size)
      || !get_int (f, "max_position_embeddings", 64, 1, 4096, &t->max_position_embeddings)
      /* projection_size: None -> hidden_size (Siglip2TextConfig) */
      || !get_int (f, "projection_size", t->hidden_size, 1, 16384, &t->projection_size))
    return false;
  return true;
}

static bool
load_vision (const fields *f, siglip_kind kind, siglip_tower_config *t)
{
  if (!load_common (f, t) || !get_int (f, "patch_size", 16, 1, 256, &t->patch_size)
      || !get_int (f, "num_channels", 3, 1, 16, &t->num_channels)
      || !get_bool (f, "vision_use_head", true, &t->use_head))
    return false;
  if (t->num_channels != 3)
    return siglip_set_error (f->error, SIGLIP_ERR_UNSUPPORTED,
                             "%s: vision_config.num_channels is %d; only RGB (3) images are "
                             "supported", f->file, t->num_channels);
  if (!t->use_head)
    return siglip_set_error (f->error, SIGLIP_ERR_UNSUPPORTED,
                             "%s: vision_config.vision_use_head is false; zero-shot "
                             "classification needs the attention-pooling head", f->file);
  if (kind == SIGLIP_KIND_SIGLIP2)
    {
      if (!get_int (f, "num_patches", 256, 1, 16384, &t->num_patches))
        return false;
      /* the learned table is viewed as a g x g grid (Siglip2VisionEmbeddings) */
      int g = (int) lround (sqrt ((double) t->num_patches));
      if (g * g != t->num_patches)
        return siglip_set_error (f->error, SIGLIP_ERR_FORMAT,
                                 "%s: vision_config.num_patches %d is not a perfect square",
                                 f->file, t->num_patches);
    }
  else
    {
      if (!get_int (f, "image_size", 224, 1, 8192, &t->image_size))
        return false;
      if (t->image_size < t->patch_size)
        return siglip_set_error (f->error, SIGLIP_ERR_FORMAT,
                                 "%s: vision_config.image_size %d is smaller than patch_size %d",
                                 f->file, t->image_size, t->patch_size);
      /* Conv2d with stride p and no padding: (S/p)^2 positions (SiglipVisionEmbeddings) */
      int g = t->image_size / t->patch_size;
      t->num_patches = g * g;
    }
  return true;
}

/* config.json "architectures": a classifier or a single tower has the model_type of the
 * zero-shot model, so this is where it is first told apart. */
static bool
check_architectures (const cJSON *json, siglip_error **error)
{
  const cJSON *list = cJSON_GetObjectItemCaseSensitive (json, "architectures");
  if (!list || cJSON_IsNull (list))
    return true;
  if (!cJSON_IsArray (list))
    return siglip_set_error (error, SIGLIP_ERR_FORMAT, CONFIG_FILE ": architectures is not a list");
  const cJSON *item;
  cJSON_ArrayForEach (item, list)
    {
      if (!cJSON_IsString (item))
        return siglip_set_error (error, SIGLIP_ERR_FORMAT,
                                 CONFIG_FILE ": architectures holds something other than a name");
      const char *a = item->valuestring;
      size_t n = strlen (a);
      if (!strcmp (a, "Siglip2Model") || !strcmp (a, "SiglipModel"))
        continue;
      const char *suffix = "ForImageClassification";
      if (n > strlen (suffix) && !strcmp (a + n - strlen (suffix), suffix))
        return siglip_set_error (error, SIGLIP_ERR_UNSUPPORTED,
                                 CONFIG_FILE ": architectures is %.60s: " SIGLIP_DESCRIBE_CLASSIFIER, a);
      if (strstr (a, "VisionModel"))
        return siglip_set_error (error, SIGLIP_ERR_UNSUPPORTED,
                                 CONFIG_FILE ": architectures is %.60s: " SIGLIP_DESCRIBE_VISION_ONLY, a);
      return siglip_set_error (error, SIGLIP_ERR_UNSUPPORTED,
                               CONFIG_FILE ": architectures is %.60s, which Siglens does not "
                               "know. " SIGLIP_SUPPORTED, a);
    }
  return true;
}

bool
siglip_config_load (const char *directory, siglip_config *config, siglip_error **error)
{
  memset (config, 0, sizeof *config);
  cJSON *json = load_json (directory, CONFIG_FILE, error);
  if (!json)
    return false;

  bool ok = true;
  const cJSON *type = cJSON_GetObjectItemCaseSensitive (json, "model_type");
  if (!cJSON_IsString (type))
    ok = siglip_set_error (error, SIGLIP_ERR_MISSING,
                           CONFIG_FILE ": model_type is missing or not a string");
  else if (!strcmp (type->valuestring, "siglip2"))
    config->kind = SIGLIP_KIND_SIGLIP2;
  else if (!strcmp (type->valuestring, "siglip"))
    config->kind = SIGLIP_KIND_SIGLIP;
  else
    ok = siglip_set_error (error, SIGLIP_ERR_UNSUPPORTED,
                           CONFIG_FILE ": model_type \"%.40s\" is not supported (expected siglip2 "
                           "or siglip). " SIGLIP_SUPPORTED, type->valuestring);
  ok = ok && check_architectures (json, error);

  /* An absent sub-config means all defaults, as in Siglip2Config.__init__. */
  for (int i = 0; ok && i < 2; i++)
    {
      const char *section = i == 0 ? "text_config" : "vision_config";
      const cJSON *obj = cJSON_GetObjectItemCaseSensitive (json, section);
      if (obj && !cJSON_IsNull (obj) && !cJSON_IsObject (obj))
        {
          ok = siglip_set_error (error, SIGLIP_ERR_FORMAT, CONFIG_FILE ": %s is not an object",
                                 section);
          break;
        }
      fields f = { CONFIG_FILE, section, cJSON_IsObject (obj) ? obj : NULL, error };
      ok = i == 0 ? load_text (&f, &config->text)
                  : load_vision (&f, config->kind, &config->vision);
    }

  /* The logits compare the pooled image embedding with the projected text embedding. */
  if (ok && config->text.projection_size != config->vision.hidden_size)
    ok = siglip_set_error (error, SIGLIP_ERR_FORMAT,
                           CONFIG_FILE ": text_config.projection_size %d differs from "
                           "vision_config.hidden_size %d: the embeddings cannot be compared",
                           config->text.projection_size, config->vision.hidden_size);
  cJSON_Delete (json);
  return ok;
}

static bool
get_triple (const fields *f, const char *key, float fallback, float out[3])
{
  const cJSON *item = field (f, key);
  if (!item)
    {
      out[0] = out[1] = out[2] = fallback;
      return true;
    }
  /* a single number means the same for every channel (BaseImageProcessor accepts both) */
  if (cJSON_IsNumber (item) && isfinite (item->valuedouble))
    {
      out[0] = out[1] = out[2] = (float) item->valuedouble;
      return true;
    }
  if (cJSON_IsArray (item) && cJSON_GetArraySize (item) == 3)
    {
      for (int i = 0; i < 3; i++)
        {
          const cJSON *v = cJSON_GetArrayItem (item, i);
          if (!cJSON_IsNumber (v) || !isfinite (v->valuedouble))
            goto bad;
          out[i] = (float) v->valuedouble;
        }
      return true;
    }
bad:
  return siglip_set_error (f->error, SIGLIP_ERR_FORMAT,
                           "%s: %s must be a number or a list of 3 numbers", f->file, key);
}

/* image_processor_type: the slow (PIL) processor or the torchvision "Fast" one the Hub's files
 * name; both read the same keys, and Siglens reproduces the PIL resize bit-exactly (the Fast
 * one's antialiased torchvision resize differs from it by a little). Another processor belongs
 * to another model. */
static bool
check_processor_type (const fields *f, bool siglip2)
{
  const cJSON *type = field (f, "image_processor_type");
  if (!type)
    return true;
  const char *slow = siglip2 ? "Siglip2ImageProcessor" : "SiglipImageProcessor";
  const char *fast = siglip2 ? "Siglip2ImageProcessorFast" : "SiglipImageProcessorFast";
  if (cJSON_IsString (type) && (!strcmp (type->valuestring, slow) || !strcmp (type->valuestring, fast)))
    return true;
  return siglip_set_error (f->error, SIGLIP_ERR_UNSUPPORTED,
                           "%s: image_processor_type %.60s does not go with config.json's "
                           "model_type %s (expected %s or %s)", f->file,
                           cJSON_IsString (type) ? type->valuestring : "(not a string)",
                           siglip2 ? "siglip2" : "siglip", slow, fast);
}

bool
siglip_preprocess_config_load (const char *directory, siglip_kind kind,
                               siglip_preprocess_config *config, siglip_error **error)
{
  memset (config, 0, sizeof *config);
  cJSON *json = load_json (directory, PREPROCESS_FILE, error);
  if (!json)
    return false;

  fields f = { PREPROCESS_FILE, NULL, json, error };
  bool siglip2 = kind == SIGLIP_KIND_SIGLIP2;
  /* Siglip2ImageProcessor: bilinear; SiglipImageProcessor: bicubic (class defaults) */
  bool ok = check_processor_type (&f, siglip2)
            && get_bool (&f, "do_resize", true, &config->do_resize)
            && get_bool (&f, "do_rescale", true, &config->do_rescale)
            && get_bool (&f, "do_normalize", true, &config->do_normalize)
            && get_int (&f, "resample", siglip2 ? 2 : 3, 0, 5, &config->resample)
            && get_number (&f, "rescale_factor", 1.0 / 255.0, 1e6, &config->rescale_factor)
            && get_triple (&f, "image_mean", 0.5f, config->image_mean)
            && get_triple (&f, "image_std", 0.5f, config->image_std)
            && get_int (&f, "patch_size", 16, 1, 256, &config->patch_size)
            && get_int (&f, "max_num_patches", 256, 1, 16384, &config->max_num_patches);
  for (int i = 0; ok && i < 3; i++)
    if (config->image_std[i] == 0.0f)
      ok = siglip_set_error (error, SIGLIP_ERR_FORMAT, PREPROCESS_FILE ": image_std[%d] is 0",
                             i);

  config->size_height = config->size_width = 224;
  const cJSON *size = cJSON_GetObjectItemCaseSensitive (json, "size");
  if (ok && !siglip2 && size && !cJSON_IsNull (size))
    {
      fields s = { PREPROCESS_FILE, "size", size, error };
      if (!cJSON_IsObject (size))
        ok = siglip_set_error (error, SIGLIP_ERR_FORMAT,
                               PREPROCESS_FILE ": size must be {\"height\", \"width\"}");
      else
        ok = get_int (&s, "height", 224, 1, 8192, &config->size_height)
             && get_int (&s, "width", 224, 1, 8192, &config->size_width);
    }
  cJSON_Delete (json);
  return ok;
}
