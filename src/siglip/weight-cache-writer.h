/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * weight-cache-writer.h — a weight cache file written on a thread of its own, while the model
 * of the load that missed it computes on the F32 rows of its weight files (weight-cache-writer.c
 * says why).
 */
#ifndef SIGLIP_WEIGHT_CACHE_WRITER_H
#define SIGLIP_WEIGHT_CACHE_WRITER_H

#include "weight-cache.h"

typedef struct siglip_weight_cache_writer siglip_weight_cache_writer;

/* Starts writing the panels of `jobs` to the weight cache file at `path` with `key`, as
 * siglip_weight_cache_build does, on a thread of the lowest priority that never takes the
 * pool. The jobs are copied and their matrices left alone; their sources must stay mapped
 * until siglip_weight_cache_writer_free, and must have passed the finite check. `ended`
 * (may be NULL) is called with `ended_data` on the writing thread as its last act, whatever the
 * outcome. NULL with *error set when the thread cannot be started (`ended` is not called then). */
siglip_weight_cache_writer *siglip_weight_cache_writer_start (const char *path, const char *key,
                                                              siglip_precision precision,
                                                              const siglip_pack_job *jobs,
                                                              int n_jobs,
                                                              void (*ended) (void *),
                                                              void *ended_data,
                                                              siglip_error **error);
/* True while the thread is still at work (the file neither whole nor given up); never blocks,
 * any thread. */
bool siglip_weight_cache_writer_running (const siglip_weight_cache_writer *writer);
/* Waits for the write to end. True when the file is in place (its size in *bytes); false with
 * *error saying why not. Any number of calls, all with the same answer. */
bool siglip_weight_cache_writer_wait (siglip_weight_cache_writer *writer, int64_t *bytes,
                                      siglip_error **error);
/* Stops a write still going (nothing is left under its path then), waits for the thread, and
 * frees the writer. NULL is ignored. */
void siglip_weight_cache_writer_free (siglip_weight_cache_writer *writer);

#endif /* SIGLIP_WEIGHT_CACHE_WRITER_H */
