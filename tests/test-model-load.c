/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test-model-load: siglip_model_load on the three fixtures (F32, BF16 sharded with a diff-style
 * config, fixed-resolution SigLIP), checked against what this test reads from the files itself
 * (config.json, safetensors headers, raw bytes) and against golden/manifest.json; then broken
 * copies of a fixture, and a model found by Hub id in an HF-cache-shaped directory.
 */
#include <math.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <glib/gstdio.h>

#include "gemm.h"
#include "internal.h"
#include "test-util.h"

static const char *const fixtures[] = {
  "tiny-siglip2-naflex", "tiny-siglip2-naflex-bf16-sharded", "tiny-siglip-fixres",
};

static siglip_model *
load_ok (const char *path, const siglip_load_options *options)
{
  siglip_error *error = NULL;
  siglip_model *model = siglip_model_load (path, options, &error);
  if (!model)
    g_error ("loading %s: %s", path, error->message);
  g_assert_null (error);
  return model;
}

/* Loading `path` fails with `status` and a message containing every needle. */
static void
expect_load_error (const char *path, siglip_status status, const char *const *needles)
{
  siglip_error *error = NULL;
  siglip_model *model = siglip_model_load (path, NULL, &error);
  g_assert_null (model);
  test_assert_error (error, status, path, needles);
}

#define NEEDLES(...) TEST_ARGS (__VA_ARGS__)

/* ------------------------------------------------------------------------------------------ */
/* reading the files the way the reference does, independently of the loader */

static char *
read_file (const char *path, gsize *len)
{
  char *data = NULL;
  g_autoptr (GError) error = NULL;
  g_file_get_contents (path, &data, len, &error);
  g_assert_no_error (error);
  return data;
}

static cJSON *
read_json (const char *path)
{
  g_autofree char *text = read_file (path, NULL);
  cJSON *json = cJSON_Parse (text);
  g_assert_nonnull (json);
  return json;
}

/* One safetensors file of a fixture: its bytes and parsed header. */
typedef struct {
  char *bytes;
  gsize len;
  cJSON *header;
  gsize data_start;
} st_file;

static void
st_file_open (st_file *f, const char *path)
{
  f->bytes = read_file (path, &f->len);
  guint64 n = 0;
  for (int i = 7; i >= 0; i--)
    n = (n << 8) | (guint8) f->bytes[i];
  g_assert_cmpuint (n + 8, <=, f->len);
  f->header = cJSON_ParseWithLength (f->bytes + 8, n);
  g_assert_nonnull (f->header);
  f->data_start = 8 + n;
}

static void
st_file_clear (st_file *f)
{
  g_free (f->bytes);
  cJSON_Delete (f->header);
}

/* The safetensors files of a fixture directory (1 or the shards of the index). */
static GPtrArray *
fixture_files (const char *dir)
{
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *single = g_build_filename (dir, "model.safetensors", NULL);
  if (g_file_test (single, G_FILE_TEST_EXISTS))
    g_ptr_array_add (names, g_strdup ("model.safetensors"));
  else
    {
      g_autofree char *index_path = g_build_filename (dir, "model.safetensors.index.json", NULL);
      cJSON *index = read_json (index_path);
      const cJSON *e;
      cJSON_ArrayForEach (e, cJSON_GetObjectItem (index, "weight_map"))
        if (!g_ptr_array_find_with_equal_func (names, e->valuestring, g_str_equal, NULL))
          g_ptr_array_add (names, g_strdup (e->valuestring));
      cJSON_Delete (index);
    }
  return names;
}

static gint64
numel_of (const cJSON *entry)
{
  gint64 n = 1;
  const cJSON *d;
  cJSON_ArrayForEach (d, cJSON_GetObjectItem (entry, "shape"))
    n *= (gint64) d->valuedouble;
  return n;
}

/* Every value of the tensor `name` as the loader exposes it (`values`) equals the file's raw
 * bytes: bit-identical for F32, exactly bits << 16 for BF16. */
static void
check_values (const char *dir, const char *name, const float *values, gint64 numel)
{
  g_autoptr (GPtrArray) names = fixture_files (dir);
  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *path = g_build_filename (dir, names->pdata[i], NULL);
      st_file f;
      st_file_open (&f, path);
      const cJSON *entry = cJSON_GetObjectItem (f.header, name);
      if (entry)
        {
          g_assert_nonnull (values);
          g_assert_cmpint (numel_of (entry), ==, numel);
          const char *dtype = cJSON_GetObjectItem (entry, "dtype")->valuestring;
          gsize begin = (gsize) cJSON_GetArrayItem (cJSON_GetObjectItem (entry, "data_offsets"),
                                                    0)->valuedouble;
          const guint8 *raw = (const guint8 *) f.bytes + f.data_start + begin;
          for (gint64 k = 0; k < numel; k++)
            {
              guint32 want, have;
              if (!strcmp (dtype, "F32"))
                memcpy (&want, raw + 4 * k, 4);
              else if (!strcmp (dtype, "BF16"))
                want = (guint32) (raw[2 * k] | raw[2 * k + 1] << 8) << 16;
              else
                g_error ("%s: unexpected dtype %s", name, dtype);
              memcpy (&have, &values[k], 4);
              if (have != want)
                g_error ("%s[%" G_GINT64_FORMAT "]: 0x%08x, file says 0x%08x", name, k, have,
                         want);
            }
          st_file_clear (&f);
          return;
        }
      st_file_clear (&f);
    }
  g_error ("%s not found in %s", name, dir);
}

/* A bound matrix's values as row-major F32, wherever the loader put them (.w, or the GEMM's
 * fp32 panels); freed with the model-independent g_free. */
static float *
matrix_values (const siglip_matrix *m)
{
  float *out = g_new (float, (gsize) m->rows * m->cols);
  siglip_gemm_unpack_f32 (m, out);
  return out;
}

/* ------------------------------------------------------------------------------------------ */
/* the fixtures */

static int
config_int (const cJSON *section, const char *key, int fallback)
{
  const cJSON *v = cJSON_GetObjectItem (section, key);
  return v ? (int) v->valuedouble : fallback;
}

static void
check_tower_config (const siglip_tower_info *t, const cJSON *section, bool vision)
{
  /* expected values: the file's, else the HF class default (FACTS.md §9) */
  g_assert_cmpint (t->hidden_size, ==, config_int (section, "hidden_size", 768));
  g_assert_cmpint (t->intermediate_size, ==, config_int (section, "intermediate_size", 3072));
  g_assert_cmpint (t->num_layers, ==, config_int (section, "num_hidden_layers", 12));
  g_assert_cmpint (t->num_heads, ==, config_int (section, "num_attention_heads", 12));
  const cJSON *eps = cJSON_GetObjectItem (section, "layer_norm_eps");
  g_assert_cmpfloat (t->layer_norm_eps, ==, (float) (eps ? eps->valuedouble : 1e-6));
  if (vision)
    {
      g_assert_cmpint (t->patch_size, ==, config_int (section, "patch_size", 16));
      g_assert_cmpint (t->num_channels, ==, config_int (section, "num_channels", 3));
    }
  else
    {
      g_assert_cmpint (t->vocab_size, ==, config_int (section, "vocab_size", 32000));
      g_assert_cmpint (t->max_position_embeddings, ==,
                       config_int (section, "max_position_embeddings", 64));
      g_assert_cmpint (t->projection_size, ==,
                       config_int (section, "projection_size", t->hidden_size));
    }
}

static void
test_fixture (gconstpointer data)
{
  const char *name = data;
  const cJSON *manifest = test_manifest_model (name);
  g_assert_nonnull (manifest);
  g_autofree char *dir = test_data_path (name);
  siglip_model *model = load_ok (dir, NULL);
  const siglip_model_info *info = siglip_model_get_info (model);

  /* configuration */
  g_autofree char *config_path = g_build_filename (dir, "config.json", NULL);
  cJSON *config = read_json (config_path);
  const char *kind = cJSON_GetObjectItem (manifest, "kind")->valuestring;
  g_assert_cmpstr (info->model_type, ==, kind);
  g_assert_cmpint (info->kind, ==, !strcmp (kind, "siglip2") ? SIGLIP_KIND_SIGLIP2
                                                             : SIGLIP_KIND_SIGLIP);
  g_assert_cmpstr (info->directory, ==, dir);
  check_tower_config (&info->text, cJSON_GetObjectItem (config, "text_config"), false);
  check_tower_config (&info->vision, cJSON_GetObjectItem (config, "vision_config"), true);
  g_assert_cmpint (info->vision.hidden_size, ==,
                   (int) cJSON_GetObjectItem (manifest, "hidden_size")->valuedouble);
  if (info->kind == SIGLIP_KIND_SIGLIP2)
    {
      g_assert_cmpint (info->vision.num_patches, ==, 256);
      g_assert_cmpint (info->default_max_patches, ==, 256);
    }
  else
    {
      g_assert_cmpint (info->vision.image_size, ==, 64);
      g_assert_cmpint (info->vision.num_patches, ==, 16); /* (64 / 16)^2 */
    }
  g_assert_cmpint (siglip_model_embed_dim_vision (model), ==, info->vision.hidden_size);
  g_assert_cmpint (siglip_model_embed_dim_text (model), ==, info->text.projection_size);
  g_assert_nonnull (siglip_model_get_tokenizer (model));
  g_assert_cmpint (info->n_threads, ==, (int) sysconf (_SC_NPROCESSORS_ONLN));

  /* the files: count, bytes, dtype, and parameters summed from the headers' shapes */
  g_autoptr (GPtrArray) files = fixture_files (dir);
  gint64 bytes = 0, text_params = 0, vision_params = 0, other_params = 0;
  for (guint i = 0; i < files->len; i++)
    {
      g_autofree char *path = g_build_filename (dir, files->pdata[i], NULL);
      st_file f;
      st_file_open (&f, path);
      bytes += (gint64) f.len;
      const cJSON *e;
      cJSON_ArrayForEach (e, f.header)
        {
          if (!strcmp (e->string, "__metadata__"))
            continue;
          g_assert_cmpstr (cJSON_GetObjectItem (e, "dtype")->valuestring, ==,
                           cJSON_GetObjectItem (manifest, "weights_dtype")->valuestring);
          if (g_str_has_prefix (e->string, "text_model."))
            text_params += numel_of (e);
          else if (g_str_has_prefix (e->string, "vision_model."))
            vision_params += numel_of (e);
          else
            other_params += numel_of (e);
        }
      st_file_clear (&f);
    }
  g_assert_cmpint (info->n_files, ==, (int) files->len);
  g_assert_cmpint (info->n_files, ==,
                   cJSON_IsTrue (cJSON_GetObjectItem (manifest, "sharded")) ? 2 : 1);
  g_assert_cmpint (info->weights_bytes, ==, bytes);
  g_assert_cmpstr (info->file_dtype, ==,
                   cJSON_GetObjectItem (manifest, "weights_dtype")->valuestring);
  /* the fixtures hold exactly the tensors the architecture uses */
  g_assert_cmpint (info->text.num_params, ==, text_params);
  g_assert_cmpint (info->vision.num_params, ==, vision_params);
  g_assert_cmpint (other_params, ==, 2);
  g_assert_cmpint (info->num_params, ==, text_params + vision_params + other_params);
  /* and the same count from the architecture's formula */
  {
    const siglip_tower_info *t = &info->text, *v = &info->vision;
    gint64 D = t->hidden_size, M = t->intermediate_size;
    gint64 layer = 4 * (D * D + D) + 4 * D + M * D + M + D * M + D;
    g_assert_cmpint (t->num_params, ==, t->vocab_size * D + t->max_position_embeddings * D
                                          + t->num_layers * layer + 2 * D
                                          + t->projection_size * D + t->projection_size);
    D = v->hidden_size, M = v->intermediate_size;
    layer = 4 * (D * D + D) + 4 * D + M * D + M + D * M + D;
    gint64 patch = 3 * v->patch_size * v->patch_size;
    gint64 head = D + 3 * D * D + 3 * D + D * D + D + 2 * D + M * D + M + D * M + D;
    g_assert_cmpint (v->num_params, ==, D * patch + D + v->num_patches * D
                                          + v->num_layers * layer + 2 * D + head);
  }

  /* logit scale and bias ([1] each) */
  g_assert_cmpfloat (info->logit_scale, ==,
                     (float) cJSON_GetObjectItem (manifest, "logit_scale")->valuedouble);
  g_assert_cmpfloat (info->logit_bias, ==,
                     (float) cJSON_GetObjectItem (manifest, "logit_bias")->valuedouble);

  /* bound matrices have the config's shapes */
  const int Dt = info->text.hidden_size, Dv = info->vision.hidden_size;
  const int Mt = info->text.intermediate_size, Mv = info->vision.intermediate_size;
  const int p = info->vision.patch_size;
  for (int i = 0; i < info->text.num_layers; i++)
    {
      const siglip_layer_weights *l = &model->text.layers[i];
      g_assert_true (l->qkv.rows == 3 * Dt && l->qkv.cols == Dt);
      g_assert_true (l->o.rows == Dt && l->o.cols == Dt);
      g_assert_true (l->fc1.rows == Mt && l->fc1.cols == Dt);
      g_assert_true (l->fc2.rows == Dt && l->fc2.cols == Mt);
      /* fp32: never packed (our kernels and OpenBLAS read the rows), and q/k/v one matrix
       * stacking the three tensors by reference (model.c's bind_qkv): no copy of them */
      g_assert_null (l->qkv.packed);
      g_assert_null (l->qkv.w);
      g_assert_cmpint (l->qkv.n_stacked, ==, 3);
      static const char *const proj[3] = { "q_proj", "k_proj", "v_proj" };
      for (int q = 0; q < 3; q++)
        {
          g_autofree char *tname = g_strdup_printf ("text_model.encoder.layers.%d.self_attn.%s.weight",
                                                   i, proj[q]);
          const siglip_tensor *tensor = siglip_weights_find (model->weights, tname);
          g_assert_nonnull (tensor);
          if (tensor->dtype == SIGLIP_DTYPE_F32)
            g_assert_true ((const void *) l->qkv.stacked[q] == tensor->data);
        }
    }
  g_assert_cmpint (model->text.head.rows, ==, info->text.projection_size);
  g_assert_cmpint (model->vision.patch.rows, ==, Dv);
  g_assert_cmpint (model->vision.patch.cols, ==, 3 * p * p);
  g_assert_cmpint (model->vision.head_in.rows, ==, 3 * Dv);
  g_assert_true (model->vision.head_fc1.rows == Mv && model->vision.head_fc2.cols == Mv);

  /* sampled values equal the raw file bytes (BF16: exactly bits << 16) */
  const siglip_tower_info *t = &info->text, *v = &info->vision;
  float *mv[5];
  check_values (dir, "text_model.embeddings.token_embedding.weight", model->text.token_embedding,
                (gint64) t->vocab_size * Dt);
  check_values (dir, "text_model.encoder.layers.1.mlp.fc2.weight",
                mv[0] = matrix_values (&model->text.layers[1].fc2), (gint64) Dt * Mt);
  /* k_proj.bias is the middle third of the stacked bias */
  check_values (dir, "text_model.encoder.layers.0.self_attn.k_proj.bias",
                model->text.layers[0].qkv_b + Dt, Dt);
  check_values (dir, "text_model.head.weight", mv[1] = matrix_values (&model->text.head),
                (gint64) t->projection_size * Dt);
  check_values (dir, "vision_model.embeddings.patch_embedding.weight", mv[2] = matrix_values (&model->vision.patch),
                (gint64) Dv * 3 * p * p);
  check_values (dir, "vision_model.embeddings.position_embedding.weight",
                model->vision.position_embedding, (gint64) v->num_patches * Dv);
  check_values (dir, "vision_model.encoder.layers.1.self_attn.out_proj.weight",
                mv[3] = matrix_values (&model->vision.layers[1].o), (gint64) Dv * Dv);
  check_values (dir, "vision_model.head.probe", model->vision.probe, Dv);
  check_values (dir, "vision_model.head.attention.in_proj_weight", mv[4] = matrix_values (&model->vision.head_in),
                (gint64) 3 * Dv * Dv);
  check_values (dir, "vision_model.head.mlp.fc2.bias", model->vision.head_fc2_b, Dv);
  check_values (dir, "vision_model.post_layernorm.weight", model->vision.post_ln_w, Dv);

  for (gsize i = 0; i < G_N_ELEMENTS (mv); i++)
    g_free (mv[i]);

  /* F32 is used in place; BF16 is converted into buffers the model owns, one per tensor —
   * except matrices packed for the GEMM straight from the file (3 per layer besides q/k/v, and
   * 6 more). Each layer's q/k/v become one stacked bias the model owns; not packed, the
   * matrix stacks the three weights by reference: the mapping for F32, three converted
   * buffers for BF16. */
  const bool packed = model->text.head.packed != NULL;
  const bool f32 = !strcmp (info->file_dtype, "F32");
  const int layers = t->num_layers + v->num_layers;
  const int stacked = layers * (packed || f32 ? 1 : 4);
  const int matrices = packed ? 6 + 3 * layers : 0;
  if (f32)
    g_assert_cmpint (model->n_owned, ==, stacked);
  else
    g_assert_cmpint (model->n_owned, ==, 2 + 6 + 16 + (16 - 6) * layers - matrices + stacked);

  cJSON_Delete (config);
  siglip_model_free (model);
}

static void
test_diff_style_defaults (void)
{
  /* the BF16 fixture's config omits these keys; HF's defaults must fill them */
  g_autofree char *dir = test_data_path ("tiny-siglip2-naflex-bf16-sharded");
  g_autofree char *config_path = g_build_filename (dir, "config.json", NULL);
  cJSON *config = read_json (config_path);
  const cJSON *vc = cJSON_GetObjectItem (config, "vision_config");
  const cJSON *tc = cJSON_GetObjectItem (config, "text_config");
  g_assert_null (cJSON_GetObjectItem (vc, "patch_size"));
  g_assert_null (cJSON_GetObjectItem (vc, "num_patches"));
  g_assert_null (cJSON_GetObjectItem (tc, "max_position_embeddings"));
  cJSON_Delete (config);

  siglip_model *model = load_ok (dir, NULL);
  const siglip_model_info *info = siglip_model_get_info (model);
  g_assert_cmpint (info->vision.patch_size, ==, 16);
  g_assert_cmpint (info->vision.num_patches, ==, 256);
  g_assert_cmpint (info->vision.num_channels, ==, 3);
  g_assert_cmpfloat (info->vision.layer_norm_eps, ==, 1e-6f);
  g_assert_cmpfloat (info->text.layer_norm_eps, ==, 1e-6f);
  g_assert_cmpint (info->text.max_position_embeddings, ==, 64);
  g_assert_cmpint (model->preprocess.max_num_patches, ==, 256);
  g_assert_cmpint (model->preprocess.resample, ==, 2);
  g_assert_cmpfloat (model->preprocess.image_mean[1], ==, 0.5f);
  siglip_model_free (model);
}

/* ------------------------------------------------------------------------------------------ */
/* broken copies of a fixture */

/* SIGLENS_TEST_OUT/model-load/<name>: a copy of tiny-siglip2-naflex, big files symlinked.
 * `skip` is left out. (transfer full) */
static char *
broken_copy (const char *name, const char *skip)
{
  g_autofree char *rel = g_build_filename ("model-load", name, "x", NULL);
  g_autofree char *probe = test_out_path (rel);
  char *dir = g_path_get_dirname (probe);
  g_autofree char *src = test_data_path ("tiny-siglip2-naflex");
  static const char *const files[] = {
    "config.json", "preprocessor_config.json", "tokenizer.json", "tokenizer_config.json",
    "special_tokens_map.json", "model.safetensors",
  };
  for (gsize i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *to = g_build_filename (dir, files[i], NULL);
      g_remove (to);
      if (skip && !strcmp (files[i], skip))
        continue;
      g_autofree char *from = g_build_filename (src, files[i], NULL);
      g_autofree char *abs = g_canonicalize_filename (from, NULL);
      g_assert_cmpint (symlink (abs, to), ==, 0);
    }
  return dir;
}

static void
replace_file (const char *dir, const char *file, const char *contents, gsize len)
{
  g_autofree char *path = g_build_filename (dir, file, NULL);
  g_remove (path);
  g_autoptr (GError) error = NULL;
  g_file_set_contents (path, contents, (gssize) len, &error);
  g_assert_no_error (error);
}

/* config.json of the fixture with `section`.`key` set to `value` (NULL: removed). */
static void
edit_config (const char *dir, const char *section, const char *key, cJSON *value)
{
  g_autofree char *src = test_data_path ("tiny-siglip2-naflex/config.json");
  cJSON *config = read_json (src);
  cJSON *obj = section ? cJSON_GetObjectItem (config, section) : config;
  cJSON_DeleteItemFromObject (obj, key);
  if (value)
    cJSON_AddItemToObject (obj, key, value);
  char *text = cJSON_Print (config);
  replace_file (dir, "config.json", text, strlen (text));
  free (text);
  cJSON_Delete (config);
}

static void
test_config_contradicts_tensors (void)
{
  g_autofree char *dir = broken_copy ("shape", NULL);
  edit_config (dir, "text_config", "intermediate_size", cJSON_CreateNumber (64));
  expect_load_error (dir, SIGLIP_ERR_SHAPE,
                     NEEDLES ("model.safetensors: tensor text_model.encoder.layers.0.mlp.fc1."
                              "weight: shape [48,16] expected [64,16]"));

  edit_config (dir, "vision_config", "num_patches", cJSON_CreateNumber (64));
  expect_load_error (dir, SIGLIP_ERR_SHAPE,
                     NEEDLES ("vision_model.embeddings.position_embedding.weight",
                              "[256,16] expected [64,16]"));
}

static void
test_bad_configs (void)
{
  g_autofree char *dir = broken_copy ("config", NULL);
  replace_file (dir, "config.json", "{\"model_type\": \"siglip2\", ", 27);
  expect_load_error (dir, SIGLIP_ERR_FORMAT, NEEDLES ("config.json", "not valid JSON"));

  edit_config (dir, NULL, "model_type", cJSON_CreateString ("clip"));
  expect_load_error (dir, SIGLIP_ERR_UNSUPPORTED, NEEDLES ("config.json", "model_type \"clip\""));

  edit_config (dir, NULL, "model_type", NULL);
  expect_load_error (dir, SIGLIP_ERR_MISSING, NEEDLES ("config.json", "model_type"));

  edit_config (dir, "vision_config", "hidden_act", cJSON_CreateString ("gelu"));
  expect_load_error (dir, SIGLIP_ERR_UNSUPPORTED,
                     NEEDLES ("config.json", "vision_config.hidden_act \"gelu\""));

  edit_config (dir, "text_config", "num_attention_heads", cJSON_CreateNumber (3));
  expect_load_error (dir, SIGLIP_ERR_FORMAT,
                     NEEDLES ("text_config.hidden_size 16 is not divisible by "
                              "num_attention_heads 3"));

  edit_config (dir, "vision_config", "num_patches", cJSON_CreateNumber (200));
  expect_load_error (dir, SIGLIP_ERR_FORMAT,
                     NEEDLES ("vision_config.num_patches 200 is not a perfect square"));

  /* a hostile size is refused before anything is sized from it */
  edit_config (dir, "text_config", "vocab_size", cJSON_CreateNumber (1e12));
  expect_load_error (dir, SIGLIP_ERR_FORMAT, NEEDLES ("config.json", "text_config.vocab_size"));

  edit_config (dir, "vision_config", "num_hidden_layers", cJSON_CreateNumber (-2));
  expect_load_error (dir, SIGLIP_ERR_FORMAT,
                     NEEDLES ("vision_config.num_hidden_layers is -2"));

  edit_config (dir, "text_config", "hidden_size", cJSON_CreateString ("16"));
  expect_load_error (dir, SIGLIP_ERR_FORMAT, NEEDLES ("text_config.hidden_size is \"16\""));

  edit_config (dir, "text_config", "projection_size", cJSON_CreateNumber (8));
  expect_load_error (dir, SIGLIP_ERR_FORMAT,
                     NEEDLES ("text_config.projection_size 8 differs from "
                              "vision_config.hidden_size 16"));

  replace_file (dir, "preprocessor_config.json", "{\"patch_size\": 14}", 18);
  edit_config (dir, NULL, "model_type", cJSON_CreateString ("siglip2"));
  expect_load_error (dir, SIGLIP_ERR_FORMAT,
                     NEEDLES ("preprocessor_config.json: patch_size 14 differs"));
}

static void
test_missing_files (void)
{
  g_autofree char *no_config = broken_copy ("no-config", "config.json");
  expect_load_error (no_config, SIGLIP_ERR_MISSING, NEEDLES ("config.json"));

  g_autofree char *no_pre = broken_copy ("no-preprocessor", "preprocessor_config.json");
  expect_load_error (no_pre, SIGLIP_ERR_MISSING, NEEDLES ("preprocessor_config.json"));

  g_autofree char *no_weights = broken_copy ("no-weights", "model.safetensors");
  expect_load_error (no_weights, SIGLIP_ERR_MISSING, NEEDLES ("model.safetensors"));

  g_autofree char *no_tok = broken_copy ("no-tokenizer", "tokenizer.json");
  expect_load_error (no_tok, SIGLIP_ERR_MISSING, NEEDLES ("tokenizer.json"));

  expect_load_error ("/nonexistent/siglens-model", SIGLIP_ERR_MISSING,
                     NEEDLES ("/nonexistent/siglens-model"));

  g_autofree char *file = test_data_path ("tiny-siglip2-naflex/config.json");
  expect_load_error (file, SIGLIP_ERR_INVALID_INPUT, NEEDLES ("config.json", "not a directory"));
}

/* Files that are not files: a FIFO (which used to hang the load forever), a directory, a loop
 * of symbolic links. Each refused by name, without blocking. */
static void
test_not_regular_files (void)
{
  static const char *const files[] = {
    "config.json", "preprocessor_config.json", "tokenizer.json", "tokenizer_config.json",
    "model.safetensors",
  };
  for (gsize i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *dir = broken_copy ("not-regular", files[i]);
      g_autofree char *path = g_build_filename (dir, files[i], NULL);
      g_autofree char *fifo = g_strdup_printf ("%s: is a FIFO (named pipe), not a regular file",
                                               files[i]);
      g_assert_cmpint (mkfifo (path, 0644), ==, 0);
      expect_load_error (dir, SIGLIP_ERR_IO, NEEDLES (fifo));
      g_remove (path);

      g_autofree char *is_dir = g_strdup_printf ("%s: is a directory, not a regular file",
                                                 files[i]);
      g_assert_cmpint (g_mkdir (path, 0755), ==, 0);
      expect_load_error (dir, SIGLIP_ERR_IO, NEEDLES (is_dir));
      g_rmdir (path);

      g_autofree char *loop = g_strdup_printf ("%s: cannot open: a loop of symbolic links",
                                               files[i]);
      g_autofree char *other = g_build_filename (dir, "loop-partner", NULL);
      g_remove (other);
      g_assert_cmpint (symlink (other, path), ==, 0);
      g_assert_cmpint (symlink (path, other), ==, 0);
      expect_load_error (dir, SIGLIP_ERR_IO, NEEDLES (loop));
      g_remove (path);
      g_remove (other);
    }

  /* the sharded index too */
  g_autofree char *sharded = test_out_path ("model-load/fifo-index");
  g_mkdir_with_parents (sharded, 0755);
  g_autofree char *src = test_data_path ("tiny-siglip2-naflex-bf16-sharded");
  static const char *const sharded_files[] = { "config.json", "preprocessor_config.json",
                                               "tokenizer.json", "tokenizer_config.json" };
  for (gsize i = 0; i < G_N_ELEMENTS (sharded_files); i++)
    {
      g_autofree char *from = g_build_filename (src, sharded_files[i], NULL);
      g_autofree char *abs = g_canonicalize_filename (from, NULL);
      g_autofree char *to = g_build_filename (sharded, sharded_files[i], NULL);
      g_remove (to);
      g_assert_cmpint (symlink (abs, to), ==, 0);
    }
  g_autofree char *index = g_build_filename (sharded, "model.safetensors.index.json", NULL);
  g_remove (index);
  g_assert_cmpint (mkfifo (index, 0644), ==, 0);
  expect_load_error (sharded, SIGLIP_ERR_IO,
                     NEEDLES ("model.safetensors.index.json: is a FIFO (named pipe)"));

  /* an empty directory: the first file it needs is named */
  g_autofree char *empty = test_out_path ("model-load/empty");
  g_mkdir_with_parents (empty, 0755);
  expect_load_error (empty, SIGLIP_ERR_MISSING, NEEDLES ("config.json: does not exist"));

  /* a model path that is itself a loop */
  g_autofree char *a = test_out_path ("model-load/loop-a");
  g_autofree char *b = test_out_path ("model-load/loop-b");
  g_remove (a);
  g_remove (b);
  g_assert_cmpint (symlink (b, a), ==, 0);
  g_assert_cmpint (symlink (a, b), ==, 0);
  expect_load_error (a, SIGLIP_ERR_IO, NEEDLES ("loop-a: cannot open: a loop of symbolic links"));
}

/* A config.json with fewer layers than the weights would run a truncated tower: refused. */
static void
test_fewer_layers_than_weights (void)
{
  g_autofree char *dir = broken_copy ("fewer-layers", NULL);
  edit_config (dir, "vision_config", "num_hidden_layers", cJSON_CreateNumber (1));
  expect_load_error (dir, SIGLIP_ERR_SHAPE,
                     NEEDLES ("config.json: vision_config.num_hidden_layers is 1, but the weights "
                              "have 2 vision_model layers",
                              "vision_model.encoder.layers.1.* and on would be ignored"));
  edit_config (dir, "text_config", "num_hidden_layers", cJSON_CreateNumber (1));
  expect_load_error (dir, SIGLIP_ERR_SHAPE,
                     NEEDLES ("config.json: text_config.num_hidden_layers is 1, but the weights "
                              "have 2 text_model layers"));
}

/* The fixture's model.safetensors with element `index` of tensor `name` set to `value`. */
static void
poison_tensor (const char *dir, const char *name, int index, float value)
{
  g_autofree char *src = test_data_path ("tiny-siglip2-naflex/model.safetensors");
  st_file f;
  st_file_open (&f, src);
  const cJSON *entry = cJSON_GetObjectItem (f.header, name);
  g_assert_nonnull (entry);
  g_assert_cmpstr (cJSON_GetObjectItem (entry, "dtype")->valuestring, ==, "F32");
  gsize begin = (gsize) cJSON_GetArrayItem (cJSON_GetObjectItem (entry, "data_offsets"), 0)
                  ->valuedouble;
  memcpy (f.bytes + f.data_start + begin + 4 * (gsize) index, &value, 4);
  replace_file (dir, "model.safetensors", f.bytes, f.len);
  st_file_clear (&f);
}

/* NaN or Inf anywhere in the weights made every label the same confident score (exit 0): now
 * found at load, the tensor and the element named. */
static void
test_non_finite_weights (void)
{
  g_autofree char *dir = broken_copy ("nan", NULL);
  poison_tensor (dir, "text_model.encoder.layers.1.mlp.fc2.weight", 5, NAN);
  expect_load_error (dir, SIGLIP_ERR_FORMAT,
                     NEEDLES ("model.safetensors: tensor text_model.encoder.layers.1.mlp.fc2."
                              "weight: element 5 is NaN", "non-finite weights"));
  poison_tensor (dir, "vision_model.post_layernorm.bias", 15, INFINITY);
  expect_load_error (dir, SIGLIP_ERR_FORMAT,
                     NEEDLES ("tensor vision_model.post_layernorm.bias: element 15 is +Inf"));
  poison_tensor (dir, "logit_scale", 0, -INFINITY);
  expect_load_error (dir, SIGLIP_ERR_FORMAT, NEEDLES ("tensor logit_scale: element 0 is -Inf"));
  /* bf16 precision packs from the same checked values */
  poison_tensor (dir, "vision_model.encoder.layers.0.self_attn.q_proj.weight", 0, NAN);
  siglip_load_options bf16 = { .precision = SIGLIP_PRECISION_BF16 };
  siglip_error *error = NULL;
  g_assert_null (siglip_model_load (dir, &bf16, &error));
  test_assert_error (error, SIGLIP_ERR_FORMAT, dir,
                     NEEDLES ("vision_model.encoder.layers.0.self_attn.q_proj.weight: element 0 "
                              "is NaN"));
}

static void
test_missing_tensor (void)
{
  /* the fixture's file with vision_model.head.probe taken out of the header */
  g_autofree char *dir = broken_copy ("no-probe", "model.safetensors");
  g_autofree char *src = test_data_path ("tiny-siglip2-naflex/model.safetensors");
  st_file f;
  st_file_open (&f, src);
  g_assert_nonnull (cJSON_GetObjectItem (f.header, "vision_model.head.probe"));
  cJSON_DeleteItemFromObject (f.header, "vision_model.head.probe");
  char *header = cJSON_PrintUnformatted (f.header);
  g_autoptr (GByteArray) out = g_byte_array_new ();
  guint64 n = strlen (header);
  for (int i = 0; i < 8; i++)
    {
      guint8 b = (guint8) (n >> (8 * i));
      g_byte_array_append (out, &b, 1);
    }
  g_byte_array_append (out, (guint8 *) header, (guint) n);
  g_byte_array_append (out, (guint8 *) f.bytes + f.data_start, (guint) (f.len - f.data_start));
  replace_file (dir, "model.safetensors", (const char *) out->data, out->len);
  free (header);
  st_file_clear (&f);
  expect_load_error (dir, SIGLIP_ERR_MISSING,
                     NEEDLES ("model.safetensors: missing tensor vision_model.head.probe"));
}

/* The fixture's weights rewritten: tensors whose names start with one of `drop` left out, and
 * `extra` (F32 zeros of shape [rows, cols], cols 0 for a vector) added, as model.safetensors. */
static void
rewrite_weights (const char *dir, const char *const *drop, const char *extra, int rows, int cols)
{
  g_autofree char *src = test_data_path ("tiny-siglip2-naflex/model.safetensors");
  st_file f;
  st_file_open (&f, src);
  cJSON *header = cJSON_CreateObject ();
  g_autoptr (GByteArray) data = g_byte_array_new ();
  const cJSON *entry;
  cJSON_ArrayForEach (entry, f.header)
    {
      if (!strcmp (entry->string, "__metadata__"))
        continue;
      gboolean dropped = FALSE;
      for (int i = 0; drop[i]; i++)
        dropped |= g_str_has_prefix (entry->string, drop[i]);
      if (dropped)
        continue;
      const cJSON *offsets = cJSON_GetObjectItem (entry, "data_offsets");
      gsize begin = (gsize) cJSON_GetArrayItem (offsets, 0)->valuedouble;
      gsize end = (gsize) cJSON_GetArrayItem (offsets, 1)->valuedouble;
      cJSON *copy = cJSON_Duplicate (entry, TRUE);
      cJSON *new_offsets = cJSON_CreateArray ();
      cJSON_AddItemToArray (new_offsets, cJSON_CreateNumber (data->len));
      cJSON_AddItemToArray (new_offsets, cJSON_CreateNumber (data->len + (end - begin)));
      cJSON_ReplaceItemInObject (copy, "data_offsets", new_offsets);
      cJSON_AddItemToObject (header, entry->string, copy);
      g_byte_array_append (data, (guint8 *) f.bytes + f.data_start + begin, (guint) (end - begin));
    }
  if (extra)
    {
      gsize n = (gsize) rows * (cols ? cols : 1) * 4;
      cJSON *t = cJSON_CreateObject ();
      cJSON_AddStringToObject (t, "dtype", "F32");
      cJSON *shape = cJSON_AddArrayToObject (t, "shape");
      cJSON_AddItemToArray (shape, cJSON_CreateNumber (rows));
      if (cols)
        cJSON_AddItemToArray (shape, cJSON_CreateNumber (cols));
      cJSON *offsets = cJSON_AddArrayToObject (t, "data_offsets");
      cJSON_AddItemToArray (offsets, cJSON_CreateNumber (data->len));
      cJSON_AddItemToArray (offsets, cJSON_CreateNumber (data->len + n));
      cJSON_AddItemToObject (header, extra, t);
      g_autofree guint8 *zeros = g_malloc0 (n);
      g_byte_array_append (data, zeros, (guint) n);
    }
  char *text = cJSON_PrintUnformatted (header);
  g_autoptr (GByteArray) out = g_byte_array_new ();
  guint64 len = strlen (text);
  for (int i = 0; i < 8; i++)
    {
      guint8 b = (guint8) (len >> (8 * i));
      g_byte_array_append (out, &b, 1);
    }
  g_byte_array_append (out, (guint8 *) text, (guint) len);
  g_byte_array_append (out, data->data, data->len);
  replace_file (dir, "model.safetensors", (const char *) out->data, out->len);
  free (text);
  cJSON_Delete (header);
  st_file_clear (&f);
}

/* Checkpoints of another task or family: a sentence that names what they are and what Siglens
 * supports, never a "missing tensor logit_scale". */
static void
test_other_tasks_and_families (void)
{
  g_autofree char *dir = broken_copy ("other-task", NULL);

  cJSON *arch = cJSON_CreateArray ();
  cJSON_AddItemToArray (arch, cJSON_CreateString ("Siglip2ForImageClassification"));
  edit_config (dir, NULL, "architectures", arch);
  expect_load_error (dir, SIGLIP_ERR_UNSUPPORTED,
                     NEEDLES ("config.json: architectures is Siglip2ForImageClassification",
                              "image-classification checkpoint", "classifier.* head",
                              "no text tower", "Siglens supports the zero-shot image-text "
                              "checkpoints of SigLIP 2: Siglip2Model (NAFlex) and SiglipModel "
                              "(fixed resolution)"));
  arch = cJSON_CreateArray ();
  cJSON_AddItemToArray (arch, cJSON_CreateString ("SiglipVisionModel"));
  edit_config (dir, NULL, "architectures", arch);
  expect_load_error (dir, SIGLIP_ERR_UNSUPPORTED,
                     NEEDLES ("architectures is SiglipVisionModel", "no text tower",
                              "Siglens supports"));

  /* no "architectures" to go by: the weights tell (a classifier.* head, no text_model.*) */
  edit_config (dir, NULL, "architectures", NULL);
  static const char *const no_text[] = { "text_model.", "logit_", NULL };
  rewrite_weights (dir, no_text, "classifier.weight", 3, 16);
  expect_load_error (dir, SIGLIP_ERR_UNSUPPORTED,
                     NEEDLES ("model.safetensors: this is an image-classification checkpoint",
                              "Siglens supports"));
  rewrite_weights (dir, no_text, NULL, 0, 0);
  expect_load_error (dir, SIGLIP_ERR_UNSUPPORTED,
                     NEEDLES ("model.safetensors: this checkpoint has a vision tower but no text "
                              "tower", "Siglens supports"));

  /* SigLIP 1: its SentencePiece tokenizer as a Unigram tokenizer.json, or only spiece.model */
  g_autofree char *siglip1 = broken_copy ("siglip1-unigram", NULL);
  const char unigram[] =
    "{\"version\": \"1.0\", \"truncation\": null, \"padding\": null, \"added_tokens\": [],"
    " \"normalizer\": null, \"pre_tokenizer\": {\"type\": \"Metaspace\", \"replacement\": \"\\u2581\"},"
    " \"post_processor\": null, \"decoder\": null, \"model\": {\"type\": \"Unigram\", \"unk_id\": 2,"
    " \"vocab\": [[\"<pad>\", 0.0], [\"</s>\", 0.0], [\"<unk>\", 0.0], [\"\\u2581a\", -3.5]]}}";
  replace_file (siglip1, "tokenizer.json", unigram, strlen (unigram));
  expect_load_error (siglip1, SIGLIP_ERR_UNSUPPORTED,
                     NEEDLES ("tokenizer.json: model.type is Unigram", "SigLIP 1",
                              "Siglens supports"));
  g_autofree char *spiece = broken_copy ("siglip1-spiece", "tokenizer.json");
  replace_file (spiece, "spiece.model", "\x0a\x0b<unk>", 8);
  expect_load_error (spiece, SIGLIP_ERR_UNSUPPORTED,
                     NEEDLES ("only SentencePiece's spiece.model, no tokenizer.json", "SigLIP 1",
                              "Siglens supports"));

  /* a processor of another model */
  g_autofree char *clip = broken_copy ("clip-processor", NULL);
  const char pre[] = "{\"image_processor_type\": \"CLIPImageProcessor\", \"patch_size\": 16}";
  replace_file (clip, "preprocessor_config.json", pre, strlen (pre));
  expect_load_error (clip, SIGLIP_ERR_UNSUPPORTED,
                     NEEDLES ("preprocessor_config.json: image_processor_type CLIPImageProcessor "
                              "does not go with config.json's model_type siglip2 (expected "
                              "Siglip2ImageProcessor or Siglip2ImageProcessorFast)"));
}

/* ------------------------------------------------------------------------------------------ */
/* progress, cancellation, threads */

typedef struct {
  int calls;
  double last;
  int cancel_after;
} progress_log;

static void
on_progress (double fraction, void *data)
{
  progress_log *log = data;
  g_assert_cmpfloat (fraction, >=, log->last);
  g_assert_cmpfloat (fraction, <=, 1.0);
  log->last = fraction;
  log->calls++;
}

static bool
on_abort (void *data)
{
  progress_log *log = data;
  return log->calls >= log->cancel_after;
}

static void
test_progress_and_cancel (void)
{
  g_autofree char *dir = test_data_path ("tiny-siglip2-naflex-bf16-sharded");
  progress_log log = { 0, 0.0, G_MAXINT };
  siglip_load_options options = {
    .n_threads = 1, .progress = on_progress, .progress_data = &log,
    .abort_cb = on_abort, .abort_data = &log,
  };
  siglip_model *model = load_ok (dir, &options);
  g_assert_cmpint (log.calls, >, 80); /* at least once per tensor */
  g_assert_cmpfloat (log.last, ==, 1.0);
  g_assert_cmpint (siglip_model_get_info (model)->n_threads, ==, 1);
  siglip_model_free (model);

  log = (progress_log){ 0, 0.0, 10 };
  siglip_error *error = NULL;
  g_assert_null (siglip_model_load (dir, &options, &error));
  g_assert_nonnull (error);
  g_assert_cmpint (error->status, ==, SIGLIP_ERR_CANCELLED);
  g_assert_cmpint (log.calls, ==, 10);
  siglip_error_free (error);
}

/* The NaN/Inf check reads the tensors once all are bound, in one job: the abort callback is
 * asked between its tasks too, and its progress counts on from the binding's. */
static void
test_cancel_during_check (void)
{
  g_autofree char *dir = test_data_path ("tiny-siglip2-naflex-bf16-sharded");
  progress_log log = { 0, 0.0, G_MAXINT };
  siglip_load_options options = {
    .n_threads = 1, .progress = on_progress, .progress_data = &log,
    .abort_cb = on_abort, .abort_data = &log,
    .no_weight_cache = true, /* no record of an earlier check: every load checks */
  };
  siglip_model_free (load_ok (dir, &options));
  const int total = log.calls;
  g_assert_cmpfloat (log.last, ==, 1.0);

  /* the check's reports come last, one per task (a tensor each here), and move it on from
   * where the binding left it: stopped among them */
  log = (progress_log){ 0, 0.0, total - 20 };
  siglip_error *error = NULL;
  g_assert_null (siglip_model_load (dir, &options, &error));
  g_assert_nonnull (error);
  g_assert_cmpint (error->status, ==, SIGLIP_ERR_CANCELLED);
  g_assert_cmpint (log.calls, ==, total - 20);
  g_assert_cmpfloat (log.last, >, 0.0);
  g_assert_cmpfloat (log.last, <, 1.0);
  siglip_error_free (error);
}

/* Files in `dir` (none when it does not exist). */
static guint
count_entries (const char *dir)
{
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  guint n = 0;
  while (d && g_dir_read_name (d))
    n++;
  return n;
}

/* A weight cache folder out/REL with nothing left in it from an earlier run. (transfer full) */
static char *
empty_cache (const char *rel)
{
  char *cache = test_out_path (rel);
  test_empty_folder (cache);
  return cache;
}

/* Everything small is checked before any weight is packed or recorded: a config contradicting
 * the safetensors headers fails before the first progress report (the binding reports 0 as it
 * starts, then once per tensor). The tokenizer is parsed on a thread of its own while the
 * weights are checked (model.c: tokenizer_job), so a broken one may let the check begin (it
 * stops it); but its error is the one reported, even when the weights are wrong too, and
 * nothing is made from the weights: no weight cache file, neither fp32's record of the check
 * nor bf16's panels. */
static void
test_small_files_first (void)
{
  progress_log log = { 0, 0.0, G_MAXINT };
  g_autofree char *cache = empty_cache ("model-load/small-files-first-cache");
  siglip_load_options options = { .progress = on_progress, .progress_data = &log,
                                  .weight_cache_dir = cache };
  siglip_error *error = NULL;

  g_autofree char *tok = broken_copy ("tokenizer-broken", NULL);
  g_autofree char *src = test_data_path ("tiny-siglip2-naflex/tokenizer.json");
  gsize len;
  g_autofree char *text = read_file (src, &len);
  replace_file (tok, "tokenizer.json", text, len - 100); /* cut short */
  const siglip_precision precisions[] = { SIGLIP_PRECISION_FP32, SIGLIP_PRECISION_BF16 };
  for (gsize i = 0; i < G_N_ELEMENTS (precisions); i++)
    {
      options.precision = precisions[i];
      log = (progress_log){ 0, 0.0, G_MAXINT };
      error = NULL;
      g_assert_null (siglip_model_load (tok, &options, &error));
      test_assert_error (error, SIGLIP_ERR_FORMAT, tok, NEEDLES ("tokenizer.json: malformed JSON"));
      g_assert_cmpuint (count_entries (cache), ==, 0);
    }
  options.precision = SIGLIP_PRECISION_FP32;

  g_autofree char *shape = broken_copy ("shape-first", NULL);
  edit_config (shape, "vision_config", "intermediate_size", cJSON_CreateNumber (64));
  log = (progress_log){ 0, 0.0, G_MAXINT };
  error = NULL;
  g_assert_null (siglip_model_load (shape, &options, &error));
  g_assert_cmpint (log.calls, ==, 0);
  test_assert_error (error, SIGLIP_ERR_SHAPE, shape,
                     NEEDLES ("vision_model.encoder.layers.0.mlp.fc1.weight: shape [48,16] "
                              "expected [64,16]"));

  /* both wrong: the tokenizer's error, as when it was read before the headers */
  replace_file (shape, "tokenizer.json", text, len - 100);
  log = (progress_log){ 0, 0.0, G_MAXINT };
  error = NULL;
  g_assert_null (siglip_model_load (shape, &options, &error));
  test_assert_error (error, SIGLIP_ERR_FORMAT, shape, NEEDLES ("tokenizer.json: malformed JSON"));
  g_assert_cmpuint (count_entries (cache), ==, 0);

  /* and a good directory reports 0 first, then up to 1 */
  g_autofree char *good = broken_copy ("good", NULL);
  log = (progress_log){ 0, 0.0, G_MAXINT };
  siglip_model *model = load_ok (good, &options);
  g_assert_cmpint (log.calls, >, 80);
  g_assert_cmpfloat (log.last, ==, 1.0);
  siglip_model_free (model);
  g_assert_cmpuint (count_entries (cache), ==, 1); /* the record of its check */
}

static void
test_precision_bf16 (void)
{
  /* bf16 precision packs every matrix for the bf16 GEMM and releases the F32 values (.w NULL:
   * only siglip_linear reads a matrix). Where the bf16 kernel is the AVX2 one, the first load
   * (no weight cache file yet) computes on the F32 rows instead, marked as standing for bf16,
   * while the panels are written; the second maps them. */
  g_autofree char *dir = test_data_path ("tiny-siglip2-naflex");
  g_autofree char *cache = empty_cache ("model-load/precision-bf16-cache");
  siglip_load_options options = { .precision = SIGLIP_PRECISION_BF16, .weight_cache_dir = cache };
  siglip_model *model = load_ok (dir, &options);
  if (siglip_gemm_can_round_rows ())
    {
      g_assert_cmpint (siglip_model_get_info (model)->weight_cache, ==,
                       SIGLIP_WEIGHT_CACHE_WRITING);
      const siglip_matrix *rows[] = { &model->text.head, &model->vision.layers[0].fc1,
                                      &model->vision.layers[0].qkv };
      for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
        {
          g_assert_null (rows[i]->packed);
          g_assert_true (rows[i]->bf16_rows);
          g_assert_true (rows[i]->w || rows[i]->n_stacked == 3);
        }
      g_assert_true (siglip_model_wait_weight_cache (model, NULL));
      siglip_model_free (model);
      model = load_ok (dir, &options);
      g_assert_cmpint (siglip_model_get_info (model)->weight_cache, ==, SIGLIP_WEIGHT_CACHE_HIT);
    }
  g_assert_cmpint (siglip_model_get_info (model)->precision, ==, SIGLIP_PRECISION_BF16);
  const siglip_matrix *top[] = { &model->text.head, &model->vision.patch, &model->vision.head_in,
                                 &model->vision.head_out, &model->vision.head_fc1,
                                 &model->vision.head_fc2, &model->text.layers[1].fc2,
                                 &model->vision.layers[0].qkv /* fused q/k/v, ops.c */ };
  for (gsize i = 0; i < G_N_ELEMENTS (top); i++)
    {
      g_assert_true (siglip_gemm_packed_is_bf16 (top[i]));
      g_assert_null (top[i]->w);
    }
  siglip_model_free (model);
}

static void
count_ended (void *data)
{
  g_atomic_int_inc ((gint *) data);
}

/* weight_cache_ended: once for each load that writes behind itself, however the write ends
 * (in place, failed, stopped by the free), never for a load that writes nothing behind it. */
static void
test_weight_cache_ended (void)
{
  g_autofree char *dir = test_data_path ("tiny-siglip2-naflex");
  g_autofree char *cache = empty_cache ("model-load/weight-cache-ended");
  gint ended = 0;
  siglip_load_options options = { .precision = SIGLIP_PRECISION_BF16, .weight_cache_dir = cache,
                                  .weight_cache_ended = count_ended,
                                  .weight_cache_ended_data = &ended };
  const gint behind = siglip_gemm_can_round_rows () ? 1 : 0;

  /* written: told by the time the wait returns (the call is the thread's last act), and no
   * longer pending from then on */
  siglip_model *model = load_ok (dir, &options);
  g_assert_true (siglip_model_wait_weight_cache (model, NULL));
  g_assert_cmpint (g_atomic_int_get (&ended), ==, behind);
  g_assert_false (siglip_model_weight_cache_pending (model));
  siglip_model_free (model);
  g_assert_cmpint (g_atomic_int_get (&ended), ==, behind);

  /* mapped from the file: nothing behind it */
  model = load_ok (dir, &options);
  g_assert_cmpint (siglip_model_get_info (model)->weight_cache, ==, SIGLIP_WEIGHT_CACHE_HIT);
  g_assert_false (siglip_model_weight_cache_pending (model));
  siglip_model_free (model);
  g_assert_cmpint (g_atomic_int_get (&ended), ==, behind);

  /* freed right away, stopped (or, rarely, done first): told before the free returns */
  g_free (empty_cache ("model-load/weight-cache-ended"));
  model = load_ok (dir, &options);
  siglip_model_free (model);
  g_assert_cmpint (g_atomic_int_get (&ended), ==, 2 * behind);

  /* a folder that cannot be made (inside a file): told once the write has failed */
  g_autofree char *inside_file = g_build_filename (dir, "config.json", "cache", NULL);
  options.weight_cache_dir = inside_file;
  model = load_ok (dir, &options);
  siglip_error *err = NULL;
  g_assert_cmpint (siglip_model_wait_weight_cache (model, &err), ==, !behind);
  siglip_error_free (err);
  g_assert_cmpint (g_atomic_int_get (&ended), ==, 3 * behind);
  siglip_model_free (model);
  g_assert_cmpint (g_atomic_int_get (&ended), ==, 3 * behind);
}

/* ------------------------------------------------------------------------------------------ */
/* Hub ids in an HF-cache-shaped directory */

#define REV "0123456789abcdef0123456789abcdef01234567"

/* <cache>/models--<org>--<name>/{refs/main, blobs/, snapshots/REV/} with the fixture's files
 * as blobs and the snapshot entries as relative symlinks to them, like huggingface_hub. */
static void
build_hub_cache (const char *cache, const char *org, const char *name, const char *fixture)
{
  g_autofree char *repo_name = g_strdup_printf ("models--%s--%s", org, name);
  g_autofree char *repo = g_build_filename (cache, repo_name, NULL);
  g_autofree char *refs = g_build_filename (repo, "refs", NULL);
  g_autofree char *blobs = g_build_filename (repo, "blobs", NULL);
  g_autofree char *snapshot = g_build_filename (repo, "snapshots", REV, NULL);
  g_assert_cmpint (g_mkdir_with_parents (refs, 0755), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (blobs, 0755), ==, 0);
  g_assert_cmpint (g_mkdir_with_parents (snapshot, 0755), ==, 0);
  g_autofree char *main_ref = g_build_filename (refs, "main", NULL);
  g_assert_true (g_file_set_contents (main_ref, REV, -1, NULL)); /* no newline, as HF writes */

  g_autofree char *src = test_data_path (fixture);
  g_autoptr (GDir) d = g_dir_open (src, 0, NULL);
  g_assert_nonnull (d);
  const char *entry;
  int i = 0;
  while ((entry = g_dir_read_name (d)))
    {
      g_autofree char *from = g_build_filename (src, entry, NULL);
      g_autofree char *abs = g_canonicalize_filename (from, NULL);
      g_autofree char *real = realpath (abs, NULL);
      g_autofree char *blob_name = g_strdup_printf ("blob%02d", i++);
      g_autofree char *blob = g_build_filename (blobs, blob_name, NULL);
      g_autofree char *link = g_build_filename (snapshot, entry, NULL);
      g_autofree char *target = g_build_filename ("..", "..", "blobs", blob_name, NULL);
      g_remove (blob);
      g_remove (link);
      g_assert_cmpint (symlink (real, blob), ==, 0);
      g_assert_cmpint (symlink (target, link), ==, 0);
    }
}

static void
test_hub_id (void)
{
  g_autofree char *cache = test_out_path ("hf-cache/hub");
  build_hub_cache (cache, "testorg", "tiny-naflex", "tiny-siglip2-naflex-bf16-sharded");
  g_setenv ("HF_HUB_CACHE", cache, TRUE);

  siglip_error *error = NULL;
  char *resolved = siglip_resolve_model_path ("testorg/tiny-naflex", &error);
  if (!resolved)
    g_error ("%s", error->message);
  g_autofree char *want = g_build_filename (cache, "models--testorg--tiny-naflex", "snapshots",
                                            REV, NULL);
  g_assert_cmpstr (resolved, ==, want);
  free (resolved);

  siglip_model *model = load_ok ("testorg/tiny-naflex", NULL);
  const siglip_model_info *info = siglip_model_get_info (model);
  g_assert_cmpstr (info->directory, ==, want);
  g_assert_cmpstr (info->file_dtype, ==, "BF16");
  g_assert_cmpint (info->n_files, ==, 2);
  siglip_model_free (model);

  /* HF_HOME/hub when HF_HUB_CACHE is unset */
  g_unsetenv ("HF_HUB_CACHE");
  g_autofree char *home = test_out_path ("hf-cache");
  g_setenv ("HF_HOME", home, TRUE);
  resolved = siglip_resolve_model_path ("testorg/tiny-naflex", &error);
  g_assert_cmpstr (resolved, ==, want);
  free (resolved);

  /* not in the cache: the message says where it looked */
  g_autofree char *looked = g_build_filename (cache, "models--testorg--absent", NULL);
  expect_load_error ("testorg/absent", SIGLIP_ERR_MISSING, NEEDLES ("testorg/absent", looked));
  /* traversal and malformed ids never reach the file system */
  expect_load_error ("testorg/..", SIGLIP_ERR_INVALID_INPUT, NEEDLES ("'..'"));
  expect_load_error ("../etc", SIGLIP_ERR_INVALID_INPUT, NEEDLES ("../etc"));
  expect_load_error ("a/b/c", SIGLIP_ERR_MISSING, NEEDLES ("a/b/c", "ORG/NAME"));
  expect_load_error ("noslash", SIGLIP_ERR_MISSING, NEEDLES ("noslash", "ORG/NAME"));

  /* refs/main naming a snapshot that is not there */
  build_hub_cache (cache, "testorg", "stale", "tiny-siglip-fixres");
  g_autofree char *stale_ref = g_build_filename (cache, "models--testorg--stale", "refs", "main",
                                                 NULL);
  g_assert_true (g_file_set_contents (stale_ref, "ffffffffffffffffffffffffffffffffffffffff\n",
                                      -1, NULL));
  expect_load_error ("testorg/stale", SIGLIP_ERR_MISSING,
                     NEEDLES ("testorg/stale", "ffffffffffffffffffffffffffffffffffffffff"));

  /* a snapshot that is a symlink loop is called one, not "missing" */
  g_autofree char *snap = g_build_filename (cache, "models--testorg--looped", "snapshots", REV,
                                            NULL);
  g_remove (snap); /* the loop of an earlier run */
  build_hub_cache (cache, "testorg", "looped", "tiny-siglip-fixres");
  g_autoptr (GDir) d = g_dir_open (snap, 0, NULL);
  const char *entry;
  while (d && (entry = g_dir_read_name (d)))
    {
      g_autofree char *child = g_build_filename (snap, entry, NULL);
      g_remove (child);
    }
  g_assert_cmpint (g_rmdir (snap), ==, 0);
  g_assert_cmpint (symlink (REV, snap), ==, 0);
  expect_load_error ("testorg/looped", SIGLIP_ERR_IO,
                     NEEDLES (REV, "cannot open: a loop of symbolic links"));
  g_unsetenv ("HF_HOME");
}

/* A snapshot fetched at a pinned revision: snapshots/REV/ and no refs/main. */
static void
test_hub_pinned (void)
{
  g_autofree char *cache = test_out_path ("hf-cache-pinned/hub");
  build_hub_cache (cache, "testorg", "pinned", "tiny-siglip2-naflex");
  g_autofree char *repo = g_build_filename (cache, "models--testorg--pinned", NULL);
  g_autofree char *second = g_build_filename (repo, "snapshots",
                                              "fedcba9876543210fedcba9876543210fedcba98", NULL);
  g_rmdir (second); /* from an earlier run */
  g_autofree char *main_ref = g_build_filename (repo, "refs", "main", NULL);
  g_assert_cmpint (g_remove (main_ref), ==, 0);
  g_setenv ("HF_HUB_CACHE", cache, TRUE);
  g_autofree char *want = g_build_filename (repo, "snapshots", REV, NULL);

  /* the only snapshot, and info says so */
  siglip_model *model = load_ok ("testorg/pinned", NULL);
  const siglip_model_info *info = siglip_model_get_info (model);
  g_assert_cmpstr (info->directory, ==, want);
  g_test_message ("source: %s", info->source);
  g_assert_nonnull (strstr (info->source, REV));
  g_assert_nonnull (strstr (info->source, "the only snapshot; there is no refs/main"));
  siglip_model_free (model);

  /* ORG/NAME@REV */
  model = load_ok ("testorg/pinned@" REV, NULL);
  info = siglip_model_get_info (model);
  g_assert_cmpstr (info->directory, ==, want);
  g_assert_nonnull (strstr (info->source, "the revision asked for"));
  siglip_model_free (model);

  /* a branch name in refs/, as huggingface_hub writes for revision="v1" */
  g_autofree char *v1 = g_build_filename (repo, "refs", "v1", NULL);
  g_assert_true (g_file_set_contents (v1, REV, -1, NULL));
  char *resolved = siglip_resolve_model_path ("testorg/pinned@v1", NULL);
  g_assert_cmpstr (resolved, ==, want);
  free (resolved);

  /* the CLI's info says which snapshot */
  TestRun run = test_run_cli (TEST_ARGS ("info", "testorg/pinned"), NULL);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_nonnull (strstr (run.out, "Found in:      Hugging Face cache, testorg/pinned, revision " REV
                                     " (the only snapshot; there is no refs/main)"));
  test_run_clear (&run);

  expect_load_error ("testorg/pinned@ffff", SIGLIP_ERR_MISSING,
                     NEEDLES ("testorg/pinned@ffff", "snapshots/ffff", "refs/ffff"));
  expect_load_error ("testorg/pinned@../x", SIGLIP_ERR_INVALID_INPUT, NEEDLES ("'..'"));
  expect_load_error ("testorg/pinned@", SIGLIP_ERR_MISSING, NEEDLES ("ORG/NAME@REVISION"));

  /* two snapshots and no refs/main: which one is for the user to say */
  g_assert_cmpint (g_mkdir_with_parents (second, 0755), ==, 0);
  expect_load_error ("testorg/pinned", SIGLIP_ERR_MISSING,
                     NEEDLES ("no refs/main and 2 snapshots", "testorg/pinned@REVISION"));
  model = load_ok ("testorg/pinned@" REV, NULL);
  siglip_model_free (model);
  g_unsetenv ("HF_HUB_CACHE");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (fixtures); i++)
    {
      g_autofree char *path = g_strdup_printf ("/model-load/fixture/%s", fixtures[i]);
      g_test_add_data_func (path, fixtures[i], test_fixture);
    }
  g_test_add_func ("/model-load/diff-style-defaults", test_diff_style_defaults);
  g_test_add_func ("/model-load/progress-cancel", test_progress_and_cancel);
  g_test_add_func ("/model-load/cancel-during-check", test_cancel_during_check);
  g_test_add_func ("/model-load/precision-bf16", test_precision_bf16);
  g_test_add_func ("/model-load/weight-cache-ended", test_weight_cache_ended);
  g_test_add_func ("/model-load/bad/config-contradicts-tensors", test_config_contradicts_tensors);
  g_test_add_func ("/model-load/bad/configs", test_bad_configs);
  g_test_add_func ("/model-load/bad/missing-files", test_missing_files);
  g_test_add_func ("/model-load/bad/missing-tensor", test_missing_tensor);
  g_test_add_func ("/model-load/bad/not-regular-files", test_not_regular_files);
  g_test_add_func ("/model-load/bad/fewer-layers", test_fewer_layers_than_weights);
  g_test_add_func ("/model-load/bad/non-finite-weights", test_non_finite_weights);
  g_test_add_func ("/model-load/hub-id", test_hub_id);
  g_test_add_func ("/model-load/hub-pinned", test_hub_pinned);
  g_test_add_func ("/model-load/small-files-first", test_small_files_first);
  g_test_add_func ("/model-load/bad/other-tasks-and-families", test_other_tasks_and_families);
  return g_test_run ();
}
