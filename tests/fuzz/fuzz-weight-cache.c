/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The weight-cache reader (weight-cache.h): an input is a whole cache file, handed to
 * siglip_weight_cache_probe and siglip_weight_cache_open as a load would, for three matrices
 * the loader asks for (one of them [q; k; v]-stacked from three tensors, one of odd shape) in
 * bf16. A file is either used, and then each matrix it lends goes through a product as the model's
 * would, or refused with a reason.
 *
 * The seed (corpus/fuzz-weight-cache/valid) is what siglip_weight_cache_build writes for those
 * matrices: run the target with SIGLENS_FUZZ_WRITE_SEED=<file> to write it again after the
 * file layout changed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "gemm.h"
#include "weight-cache.h"

#define KEY "fuzz-weight-cache key: tiny model, three matrices"

enum { N_JOBS = 3, MAX_ROWS = 24, MAX_COLS = 20 };

static float source[5][MAX_ROWS * MAX_COLS];
static siglip_tensor tensors[5] = {
  { .name = "a.weight" },
  { .name = "layer.q.weight" },
  { .name = "layer.k.weight" },
  { .name = "layer.v.weight" },
  { .name = "odd.weight" },
};
static siglip_matrix matrices[N_JOBS];
static siglip_pack_job jobs[N_JOBS];
enum { N = 16 }; /* rows of the product's input: from 16 on, siglip_linear runs our kernels */
static float x[N * MAX_COLS];

/* The jobs afresh (the matrices lose what they borrowed at the end of each input). */
static void
set_jobs (void)
{
  static const struct { int rows, cols, first, n_parts; } shapes[N_JOBS] = {
    { 16, 20, 0, 1 },  /* a plain matrix */
    { 24, 16, 1, 3 },  /* [q; k; v], 8 rows each */
    { 5, 13, 4, 1 },   /* a shape no panel divides */
  };
  for (int j = 0; j < N_JOBS; j++)
    {
      matrices[j] = (siglip_matrix) { .rows = shapes[j].rows, .cols = shapes[j].cols };
      jobs[j] = (siglip_pack_job) { .matrix = &matrices[j], .n_parts = shapes[j].n_parts };
      for (int p = 0; p < shapes[j].n_parts; p++)
        {
          const int t = shapes[j].first + p;
          jobs[j].parts[p] = (siglip_gemm_rows) { .data = source[t], .dtype = SIGLIP_DTYPE_F32,
                                                  .rows = shapes[j].rows / shapes[j].n_parts };
          jobs[j].tensors[p] = &tensors[t];
        }
    }
}

static void
write_seed (const char *out)
{
  char *path = NULL;
  siglip_error *error = NULL;
  if (asprintf (&path, "%s/seed.wcache", fuzz_scratch_dir ()) < 0)
    abort ();
  set_jobs ();
  siglip_weight_cache *cache = siglip_weight_cache_build (path, KEY, SIGLIP_PRECISION_BF16, jobs,
                                                          N_JOBS, NULL, &error);
  if (!cache)
    {
      fprintf (stderr, "cannot build the seed: %s\n", error->message);
      exit (1);
    }
  for (int j = 0; j < N_JOBS; j++)
    siglip_gemm_packed_free (&matrices[j]);
  siglip_weight_cache_close (cache);
  char *command = NULL;
  if (asprintf (&command, "cp '%s' '%s'", path, out) < 0 || system (command) != 0)
    abort ();
  free (command);
  free (path);
  exit (0);
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  for (int t = 0; t < 5; t++)
    for (int i = 0; i < MAX_ROWS * MAX_COLS; i++)
      source[t][i] = (float) ((i * 37 + t * 11) % 97) / 97.0f - 0.5f;
  for (int i = 0; i < N * MAX_COLS; i++)
    x[i] = (float) (i % 7) - 3.0f;
  const char *seed = getenv ("SIGLENS_FUZZ_WRITE_SEED");
  if (seed)
    write_seed (seed);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static char *path;
  if (!path && asprintf (&path, "%s/input.wcache", fuzz_scratch_dir ()) < 0)
    abort ();
  fuzz_write_file ("input.wcache", data, size);

  /* The probe reads only the header and key; it must agree with open whenever open uses it. */
  const bool sound = siglip_weight_cache_probe (path, KEY);
  char *why = NULL;
  set_jobs ();
  siglip_weight_cache *cache = siglip_weight_cache_open (path, KEY, SIGLIP_PRECISION_BF16, jobs,
                                                         N_JOBS, &why);
  if (!cache)
    {
      if (!why || !why[0])
        abort (); /* every refusal says why */
      free (why);
      return 0;
    }
  if (!sound || why)
    abort ();
  /* What the model then does with the panels: a product that reads every one of them. */
  static float y[N * MAX_ROWS];
  volatile float sum = 0;
  for (int j = 0; j < N_JOBS; j++)
    {
      if (!matrices[j].packed)
        abort ();
      siglip_linear (y, x, &matrices[j], NULL, N);
      for (int i = 0; i < N * matrices[j].rows; i++)
        sum += y[i];
      siglip_gemm_packed_free (&matrices[j]);
    }
  (void) sum;
  siglip_weight_cache_close (cache);
  return 0;
}
