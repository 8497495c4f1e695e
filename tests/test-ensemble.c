/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Prompt ensembles with the tiny model: an ensemble's embedding is the mean of its templates'
 * L2-normalised text embeddings (recomputed here one template at a time, in double), which
 * renormalised points the same way; `siglens-cli classify --ensemble` scores with the app's
 * template set; the window with Preferences' switch on shows those scores.
 */
#include <math.h>
#include <string.h>

#include "siglens-presets.h"
#include "test-util.h"

#define MODEL "tiny-siglip2-naflex"

static siglip_model *model;
static siglip_state *state;

static void
normalize (double *x, int n)
{
  double s = 0.;

  for (int i = 0; i < n; i++)
    s += x[i] * x[i];
  s = sqrt (s);
  for (int i = 0; i < n; i++)
    x[i] /= s;
}

/* The mean over `templates` of each label's normalised embedding, the long way round. */
static double *
mean_of_templates (const char *const *labels, int n, const char *const *templates)
{
  const int dim = siglip_model_embed_dim_text (model);
  double *sum = g_new0 (double, (gsize) n * dim);
  g_autofree float *one = g_new (float, (gsize) n * dim);
  guint n_templates = g_strv_length ((char **) templates);

  for (guint t = 0; t < n_templates; t++)
    {
      siglip_encode_options options = { .template = templates[t] };
      siglip_error *err = NULL;

      g_assert_true (siglip_encode_labels (state, labels, n, &options, one, &err));
      for (int i = 0; i < n; i++)
        {
          g_autofree double *e = g_new (double, dim);

          for (int c = 0; c < dim; c++)
            e[c] = one[(gsize) i * dim + c];
          normalize (e, dim);
          for (int c = 0; c < dim; c++)
            sum[(gsize) i * dim + c] += e[c] / n_templates;
        }
    }
  return sum;
}

static float *
ensemble (const char *const *labels, int n, const char *const *templates)
{
  const int dim = siglip_model_embed_dim_text (model);
  float *out = g_new (float, (gsize) n * dim);
  siglip_encode_options options = {
    .templates = templates,
    .n_templates = (int) g_strv_length ((char **) templates),
  };
  siglip_error *err = NULL;

  g_assert_true (siglip_encode_labels (state, labels, n, &options, out, &err));
  g_assert_null (err);
  return out;
}

static void
check (const char *const *labels, int n, const char *const *templates)
{
  const int dim = siglip_model_embed_dim_text (model);
  g_autofree float *got = ensemble (labels, n, templates);
  g_autofree double *want = mean_of_templates (labels, n, templates);
  double worst = 0.;

  for (int i = 0; i < n; i++)
    {
      g_autofree double *unit = g_memdup2 (want + (gsize) i * dim, dim * sizeof (double));
      double dot = 0., norm = 0.;

      for (int c = 0; c < dim; c++)
        worst = MAX (worst, fabs (got[(gsize) i * dim + c] - want[(gsize) i * dim + c]));
      /* Renormalised, the mean is the direction scores are taken along. */
      normalize (unit, dim);
      for (int c = 0; c < dim; c++)
        {
          dot += got[(gsize) i * dim + c] * unit[c];
          norm += (double) got[(gsize) i * dim + c] * got[(gsize) i * dim + c];
        }
      g_assert_cmpfloat_with_epsilon (dot / sqrt (norm), 1., 1e-6);
    }
  g_test_message ("%u templates: largest difference from the mean of the normalised "
                  "embeddings %.3g", g_strv_length ((char **) templates), worst);
  /* float32 sums of a few unit vectors against double. */
  g_assert_cmpfloat (worst, <=, 1e-6);
}

static void
test_mean_of_templates (void)
{
  const char *labels[] = { "cat", "dog", "a red car", "一只猫", NULL };
  guint n_templates;
  const char *const *templates = siglens_presets_ensemble_templates (&n_templates);

  /* The app's and the CLI's set: several of CLIP's templates, SigLIP's own first. */
  g_assert_cmpuint (n_templates, >=, 5);
  g_assert_cmpstr (templates[0], ==, SIGLIP_DEFAULT_TEMPLATE);
  g_assert_nonnull (g_strv_contains (templates, "a photo of a {}.") ? "" : NULL);
  g_assert_nonnull (g_strv_contains (templates, "a drawing of a {}.") ? "" : NULL);
  g_assert_nonnull (g_strv_contains (templates, "a close-up photo of a {}.") ? "" : NULL);
  for (guint t = 0; t < n_templates; t++)
    g_assert_nonnull (strstr (templates[t], "{}"));

  check (labels, 4, templates);
  check (labels, 4, (const char *[]) { "a photo of a {}.", "a drawing of a {}.", NULL });
}

/* `classify --ensemble`: the sigmoid of the image's cosine with the ensemble embeddings. */
static void
test_cli (void)
{
  g_autofree char *dir = test_data_path (MODEL);
  g_autofree char *path = test_data_path ("images/chelsea.png");
  const char *labels[] = { "cat", "dog", NULL };
  const int vdim = siglip_model_embed_dim_vision (model);
  g_autofree float *image = g_new (float, vdim);
  g_autofree float *ens = ensemble (labels, 2, siglens_presets_ensemble_templates (NULL));
  g_autofree float *plain = g_new (float, 2 * siglip_model_embed_dim_text (model));
  siglip_score scores[2], plain_scores[2];
  siglip_error *err = NULL;
  TestRun run;
  cJSON *json;

  run = test_run_cli (TEST_ARGS ("embed", "--model", dir, "--image", path, "--json"), NULL);
  g_assert_cmpint (run.status, ==, 0);
  json = cJSON_Parse (run.out);
  {
    const cJSON *e = cJSON_GetObjectItem (cJSON_GetArrayItem (cJSON_GetObjectItem (json, "images"),
                                                              0), "embedding");
    for (int c = 0; c < vdim; c++)
      image[c] = (float) cJSON_GetArrayItem (e, c)->valuedouble;
  }
  cJSON_Delete (json);
  test_run_clear (&run);

  siglip_score_embeddings (model, image, ens, 2, scores);
  g_assert_true (siglip_encode_labels (state, labels, 2, NULL, plain, &err));
  siglip_score_embeddings (model, image, plain, 2, plain_scores);

  run = test_run_cli (TEST_ARGS ("classify", "--model", dir, "--labels", "cat, dog",
                                 "--ensemble", "--json", path), NULL);
  g_assert_cmpint (run.status, ==, 0);
  json = cJSON_Parse (run.out);
  for (int i = 0; i < 2; i++)
    {
      const cJSON *s = cJSON_GetArrayItem (cJSON_GetObjectItem (json, "scores"), i);
      double p = test_json_double (s, "probability");

      g_assert_cmpstr (cJSON_GetObjectItem (s, "label")->valuestring, ==, labels[i]);
      /* the embedding went through JSON's decimal digits: 1e-5 */
      g_assert_cmpfloat_with_epsilon (p, scores[i].probability, 1e-5);
      /* and it is not the one-template score */
      g_assert_cmpfloat (fabs (p - plain_scores[i].probability), >, 1e-4);
    }
  cJSON_Delete (json);
  test_run_clear (&run);

  run = test_run_cli (TEST_ARGS ("classify", "--model", dir, "--labels", "cat", "--ensemble",
                                 "--template", "a {}", path), NULL);
  g_assert_cmpint (run.status, ==, 1);
  g_assert_nonnull (strstr (run.err, "choose one of --template and --ensemble"));
  test_run_clear (&run);
}

int
main (int argc, char **argv)
{
  g_autofree char *dir = NULL;
  siglip_error *err = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  dir = test_data_path (MODEL);
  model = siglip_model_load (dir, NULL, &err);
  g_assert_nonnull (model);
  state = siglip_state_new (model, &err);
  g_assert_nonnull (state);

  g_test_add_func ("/ensemble/mean-of-templates", test_mean_of_templates);
  g_test_add_func ("/ensemble/cli", test_cli);

  status = g_test_run ();
  siglip_state_free (state);
  siglip_model_free (model);
  return status;
}
