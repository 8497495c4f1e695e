/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * weight-cache-writer.c — the first load of a bf16 model writes its weight cache behind the
 * user's back instead of before the first answer.
 *
 * Why: packing SO400M's 2.2 GB of panels into a new file took 30x the time of reading the
 * weight files on the machine the targets are measured on, nearly all of it the VM handing out
 * memory never touched before (0.1-0.15 GB/s, page cache or anonymous alike), so no packing
 * scheme made that load fast. The products can give the panels' numbers straight from the
 * files' F32 rows (gemm.c, internal.h's bf16_rows): where the bf16 kernel multiplies fp32
 * activations by widened bf16 weights (AVX2, and AVX-512 without a fast vdpbf16ps), the
 * row-major fp32 kernel rounds each chunk of weights as it reads it; under AVX512-BF16 each
 * task packs its panels from the rows as it goes. So the load that misses the cache binds the
 * rows, as an fp32 load does, and answers at once; the panels are written here meanwhile, and
 * the next load maps them. That first session holds the F32 rows (the files' page cache) instead of
 * half their size in panels; every later one has bf16's memory.
 *
 * The thread runs at SCHED_IDLE where Linux has it, never takes the pool (pool.h): a forward
 * pass started while it packs keeps every worker, and it starts a matrix only once the
 * foreground's products have paused (keep_going). Without that pause, images of 256 patches took
 * 1.66-2.01 s while it wrote against 1.35-1.50 s after (SO400M, 2 threads). Stopping it (the model freed before the write ended: the app closing,
 * a one-shot command that did not wait) is checked before each matrix, and leaves nothing
 * under the file's name (siglip_weight_cache_build removes its temporary).
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pool.h"
#include "util.h"
#include "weight-cache-writer.h"

struct siglip_weight_cache_writer {
  char *path, *key;
  siglip_precision precision;
  siglip_pack_job *jobs;     /* copies, each pointing at its own matrix below */
  siglip_matrix *matrices;   /* shapes only; the build borrows its panels into them */
  int n_jobs;
  atomic_bool stop;
  atomic_bool finished;      /* the thread's work is over, whatever came of it */
  pthread_t thread;
  bool joined;               /* or never started: no thread to wait for */
  bool written;
  int64_t bytes;             /* the file's, once written */
  siglip_error *error;       /* why not, once joined */
  void (*ended) (void *);    /* told when the thread is done */
  void *ended_data;
};

/* Before each matrix: not stopped, and the foreground's products paused for IDLE_SECONDS (a
 * forward pass runs one every few milliseconds), so that a matrix packed and written — 10 MB of
 * new page cache for SO400M's largest, 0.1 s in the VM the targets are measured on — rarely
 * lands inside a forward. */
#define IDLE_SECONDS 0.05

static bool
keep_going (void *data, const siglip_pack_job *job)
{
  siglip_weight_cache_writer *w = data;
  while (!atomic_load (&w->stop) && siglip_pool_idle_seconds () < IDLE_SECONDS)
    {
      const struct timespec pause = { 0, 10 * 1000 * 1000 };
      nanosleep (&pause, NULL);
    }
  return !atomic_load (&w->stop);
}

static void *
write_main (void *data)
{
  siglip_weight_cache_writer *w = data;
  siglip_pool_stay_off ();
#ifdef SCHED_IDLE
  const struct sched_param idle = { 0 };
  pthread_setschedparam (pthread_self (), SCHED_IDLE, &idle); /* best effort */
#endif
  const siglip_weight_cache_hooks hooks = { keep_going, NULL, w };
  siglip_weight_cache *cache = siglip_weight_cache_build (w->path, w->key, w->precision, w->jobs,
                                                          w->n_jobs, &hooks, &w->error);
  if (cache)
    {
      /* this session keeps computing on the rows: the file is for the next load */
      for (int i = 0; i < w->n_jobs; i++)
        siglip_gemm_packed_free (&w->matrices[i]);
      w->bytes = siglip_weight_cache_bytes (cache);
      siglip_weight_cache_close (cache);
      w->written = true;
    }
  atomic_store (&w->finished, true);
  if (w->ended)
    w->ended (w->ended_data);
  return NULL;
}

siglip_weight_cache_writer *
siglip_weight_cache_writer_start (const char *path, const char *key, siglip_precision precision,
                                  const siglip_pack_job *jobs, int n_jobs, void (*ended) (void *),
                                  void *ended_data, siglip_error **error)
{
  siglip_weight_cache_writer *w = calloc (1, sizeof *w);
  if (w)
    {
      w->joined = true;
      w->path = strdup (path);
      w->key = strdup (key);
      w->jobs = calloc ((size_t) n_jobs, sizeof *w->jobs);
      w->matrices = calloc ((size_t) n_jobs, sizeof *w->matrices);
    }
  if (!w || !w->path || !w->key || !w->jobs || !w->matrices)
    {
      siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "%s: out of memory", path);
      siglip_weight_cache_writer_free (w);
      return NULL;
    }
  w->precision = precision;
  w->n_jobs = n_jobs;
  w->ended = ended;
  w->ended_data = ended_data;
  for (int i = 0; i < n_jobs; i++)
    {
      w->matrices[i] = (siglip_matrix) { .rows = jobs[i].matrix->rows,
                                         .cols = jobs[i].matrix->cols };
      w->jobs[i] = jobs[i];
      w->jobs[i].matrix = &w->matrices[i];
    }
  atomic_init (&w->stop, false);
  atomic_init (&w->finished, false);
  const int rc = pthread_create (&w->thread, NULL, write_main, w);
  if (rc != 0)
    {
      siglip_set_error (error, SIGLIP_ERR_NO_MEMORY, "%s: cannot start a thread to write it (%s)",
                        path, strerror (rc));
      siglip_weight_cache_writer_free (w);
      return NULL;
    }
  w->joined = false;
  return w;
}

bool
siglip_weight_cache_writer_running (const siglip_weight_cache_writer *w)
{
  return !atomic_load (&w->finished);
}

bool
siglip_weight_cache_writer_wait (siglip_weight_cache_writer *w, int64_t *bytes,
                                 siglip_error **error)
{
  if (!w->joined)
    {
      pthread_join (w->thread, NULL);
      w->joined = true;
    }
  if (!w->written)
    siglip_set_error (error, w->error ? w->error->status : SIGLIP_ERR_IO, "%s",
                      w->error ? w->error->message : "the weight cache was not written");
  *bytes = w->bytes;
  return w->written;
}

void
siglip_weight_cache_writer_free (siglip_weight_cache_writer *w)
{
  if (!w)
    return;
  atomic_store (&w->stop, true);
  if (!w->joined)
    pthread_join (w->thread, NULL);
  siglip_error_free (w->error);
  free (w->matrices);
  free (w->jobs);
  free (w->key);
  free (w->path);
  free (w);
}
