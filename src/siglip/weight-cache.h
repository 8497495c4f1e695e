/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * weight-cache.h — a model's packed weight panels kept in a file, so that a load maps them
 * from the page cache instead of converting and packing gigabytes (weight-cache.c says why).
 */
#ifndef SIGLIP_WEIGHT_CACHE_H
#define SIGLIP_WEIGHT_CACHE_H

#include "gemm.h"
#include "internal.h"

/* One matrix the loader wants packed: where its rows are (the file's mapping), and the
 * tensors they come from (names; the finite check). m->rows and m->cols are set. */
typedef struct {
  siglip_matrix *matrix;
  siglip_gemm_rows parts[SIGLIP_MATRIX_MAX_STACKED];
  const siglip_tensor *tensors[SIGLIP_MATRIX_MAX_STACKED];
  int n_parts;
} siglip_pack_job;

typedef struct siglip_weight_cache siglip_weight_cache; /* an open, mapped, verified file */

/* $XDG_CACHE_HOME/siglens/weights, else ~/.cache/siglens/weights; NULL without either.
 * (transfer full) */
char *siglip_weight_cache_default_directory (void);
/* The cache file of a model directory at a precision, in cache_dir: one per model location,
 * replaced when the model changes. (transfer full) */
char *siglip_weight_cache_path (const char *cache_dir, const char *model_dir,
                                siglip_precision precision);
/* Everything the panels depend on: the model's identity (label-cache.c), each weight file's
 * size, inode, mtime and ctime, the layout (gemm.h's panels, or what fp32 keeps: no panels,
 * the record of the finite check) and the precision. (transfer full) */
char *siglip_weight_cache_key (const siglip_model *model, siglip_precision precision,
                               const char *layout);

/* A hit: the file at `path` has this key, the matrices of `jobs` in this order and shapes, and
 * every chunk of it passes its checksum; each job's matrix then borrows its panels from the
 * mapping (valid until siglip_weight_cache_close). Otherwise NULL, and *why (malloc'd) says
 * why the file is not used: missing, stale or damaged. A stale or damaged file is removed. */
siglip_weight_cache *siglip_weight_cache_open (const char *path, const char *key,
                                               siglip_precision precision,
                                               siglip_pack_job *jobs, int n_jobs, char **why);

/* True when the file at `path` has a sound header with this key: it was written whole for these
 * very weight files, which a build does only after every tensor of them passed the finite
 * check. Its panels are not looked at (siglip_weight_cache_open verifies them). */
bool siglip_weight_cache_probe (const char *path, const char *key);

/* The loader's part of a build: `prepare` before each job (its checks: false stops the build,
 * the caller keeping its own error), `done` after it (progress). */
typedef struct {
  bool (*prepare) (void *data, const siglip_pack_job *job);
  void (*done) (void *data, const siglip_pack_job *job);
  void *data;
} siglip_weight_cache_hooks;

/* A miss: packs the jobs (each after hooks->prepare said yes) into a temporary file
 * next to `path`, renames it into place when whole, and maps it as siglip_weight_cache_open
 * does. Temporaries of processes that died mid-write are removed first, and the directory is
 * kept under its size cap by removing the least recently used files. NULL with *error set
 * (cannot create or write the file, disk full, stopped by prepare: SIGLIP_ERR_CANCELLED);
 * nothing under `path` is left then. */
siglip_weight_cache *siglip_weight_cache_build (const char *path, const char *key,
                                                siglip_precision precision,
                                                siglip_pack_job *jobs, int n_jobs,
                                                const siglip_weight_cache_hooks *hooks,
                                                siglip_error **error);

/* The file's size on disk. */
int64_t siglip_weight_cache_bytes (const siglip_weight_cache *cache);
/* Unmaps the file: the matrices that borrowed from it must be freed first. */
void siglip_weight_cache_close (siglip_weight_cache *cache);

/* The cap on the directory: 3 entries of the largest model fit (SO400M bf16: 2.2 GB each). */
#define SIGLIP_WEIGHT_CACHE_MAX_BYTES ((int64_t) 8 << 30)

#endif /* SIGLIP_WEIGHT_CACHE_H */
