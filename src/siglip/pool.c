/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * pool.c — the thread pool of pool.h: n - 1 worker threads plus the caller as worker 0, woken
 * per job, spinning briefly between the jobs of a layer. Why OpenBLAS runs on it (one OpenBLAS
 * thread per worker) and not on its own threads: OpenBLAS workers busy-wait after each call, so
 * whatever runs next on our threads (attention, layer norms, a bf16 GEMM) would share the cores
 * with spinning threads.
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <cblas.h>

#include "pool.h"


typedef struct {
  pthread_mutex_t busy;   /* held by the one caller that owns the pool for a parallel_for */
  pthread_mutex_t lock;
  pthread_cond_t wake, done;
  int n_workers;          /* including the caller */
  pthread_t *threads;
  /* the current job, written under `lock` */
  siglip_task_func fn;
  void *ctx;
  int n_tasks;
  unsigned generation;
  atomic_int next_task;   /* the next task of the current job nobody has claimed */
  atomic_int pending;
  atomic_uint published;  /* == generation once the job is visible to spinning workers */
  unsigned start_generation; /* the last job before the current workers were started */
  bool quit;
} pool_t;

static pool_t pool = {
  .busy = PTHREAD_MUTEX_INITIALIZER,
  .lock = PTHREAD_MUTEX_INITIALIZER,
  .wake = PTHREAD_COND_INITIALIZER,
  .done = PTHREAD_COND_INITIALIZER,
  .n_workers = 1,
};
static int requested_threads; /* 0: not set -> online cores */
static int pool_holders;      /* loaded models; under pool.busy */

/* A worker spins this many polls before sleeping: consecutive GEMMs of a layer follow each other
 * within microseconds, and a futex wake-up costs more than that. Short enough not to burn a core
 * someone else needs. */
#define SPIN_POLLS 20000

static inline void
cpu_relax (void)
{
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause ();
#endif
}

/* The workers claim the tasks of a job one at a time, in order, instead of each taking a fixed
 * share: on a shared machine (or a laptop running a browser) a worker that loses its core for a
 * few milliseconds leaves its tasks to the others, instead of every worker waiting for it at
 * the end of the job. Which worker runs a task never changes its result. */
static void
run_tasks (siglip_task_func fn, void *ctx, int n_tasks, int worker)
{
  for (;;) {
    const int t = atomic_fetch_add_explicit (&pool.next_task, 1, memory_order_relaxed);
    if (t >= n_tasks)
      return;
    fn (ctx, t, worker);
  }
}

static void
run_alone (siglip_task_func fn, void *ctx, int n_tasks)
{
  for (int t = 0; t < n_tasks; t++)
    fn (ctx, t, 0);
}

static void *
worker_main (void *data)
{
  const int worker = (int) (intptr_t) data;
  /* Jobs published before this worker existed are not its own: a pool restarted after earlier
   * work must not run the last (finished) job again. Written before pthread_create. */
  unsigned seen = pool.start_generation;

  for (;;) {
    unsigned gen = 0;
    for (int i = 0; i < SPIN_POLLS; i++) {
      gen = atomic_load_explicit (&pool.published, memory_order_acquire);
      if (gen != seen)
        break;
      cpu_relax ();
    }
    pthread_mutex_lock (&pool.lock);
    while (!pool.quit && pool.generation == seen)
      pthread_cond_wait (&pool.wake, &pool.lock);
    if (pool.quit) {
      pthread_mutex_unlock (&pool.lock);
      return NULL;
    }
    seen = pool.generation;
    siglip_task_func fn = pool.fn;
    void *ctx = pool.ctx;
    const int n_tasks = pool.n_tasks;
    pthread_mutex_unlock (&pool.lock);

    run_tasks (fn, ctx, n_tasks, worker);

    if (atomic_fetch_sub_explicit (&pool.pending, 1, memory_order_acq_rel) == 1) {
      pthread_mutex_lock (&pool.lock);
      pthread_cond_signal (&pool.done);
      pthread_mutex_unlock (&pool.lock);
    }
  }
}

static int
online_cores (void)
{
  long n = sysconf (_SC_NPROCESSORS_ONLN);
  return n < 1 ? 1 : n > 256 ? 256 : (int) n;
}

/* With `busy` held: stops the workers, starts `n - 1` new ones. On failure to create a thread
 * the pool keeps the ones it got. */
static void
pool_resize_locked (int n)
{
  /* OpenBLAS runs single-threaded inside our workers (top of the file) */
  openblas_set_num_threads (1);
  if (pool.threads) {
    pthread_mutex_lock (&pool.lock);
    pool.quit = true;
    pthread_cond_broadcast (&pool.wake);
    pthread_mutex_unlock (&pool.lock);
    for (int i = 1; i < pool.n_workers; i++)
      pthread_join (pool.threads[i - 1], NULL);
    free (pool.threads);
    pool.threads = NULL;
    pool.quit = false;
    pool.n_workers = 1;
  }
  if (n <= 1)
    return;
  pool.threads = calloc ((size_t) n - 1, sizeof *pool.threads);
  if (!pool.threads)
    return;
  pool.start_generation = pool.generation;
  int started = 1;
  for (; started < n; started++)
    if (pthread_create (&pool.threads[started - 1], NULL, worker_main, (void *) (intptr_t) started) != 0)
      break;
  pool.n_workers = started;
}

void
siglip_pool_set_threads (int n_threads)
{
  const int n = n_threads > 0 ? n_threads : online_cores ();
  pthread_mutex_lock (&pool.busy);
  if (n > requested_threads) {
    requested_threads = n;
    pool_resize_locked (n);
  }
  pthread_mutex_unlock (&pool.busy);
}

void
siglip_pool_acquire (int n_threads)
{
  pthread_mutex_lock (&pool.busy);
  pool_holders++;
  pthread_mutex_unlock (&pool.busy);
  siglip_pool_set_threads (n_threads);
}

void
siglip_pool_release (void)
{
  pthread_mutex_lock (&pool.busy);
  if (pool_holders > 0 && --pool_holders == 0) {
    pool_resize_locked (1);
    requested_threads = 0;
  }
  pthread_mutex_unlock (&pool.busy);
}

int
siglip_pool_n_threads (void)
{
  return requested_threads > 0 ? requested_threads : online_cores ();
}

static _Thread_local bool stays_off;

void
siglip_pool_stay_off (void)
{
  stays_off = true;
}

/* The work of threads that have not stayed off: how many run now, and when the last ended. */
static atomic_int foreground_jobs;
static _Atomic int64_t foreground_end_ns;

static int64_t
monotonic_ns (void)
{
  struct timespec t;
  clock_gettime (CLOCK_MONOTONIC, &t);
  return (int64_t) t.tv_sec * 1000000000 + t.tv_nsec;
}

double
siglip_pool_idle_seconds (void)
{
  if (atomic_load (&foreground_jobs) > 0)
    return 0.0;
  return (double) (monotonic_ns () - atomic_load (&foreground_end_ns)) * 1e-9;
}

static void parallel_for (int n_tasks, siglip_task_func fn, void *ctx);

void
siglip_parallel_for (int n_tasks, siglip_task_func fn, void *ctx)
{
  if (n_tasks <= 0)
    return;
  if (stays_off) {
    run_alone (fn, ctx, n_tasks);
    return;
  }
  atomic_fetch_add (&foreground_jobs, 1);
  parallel_for (n_tasks, fn, ctx);
  atomic_store (&foreground_end_ns, monotonic_ns ());
  atomic_fetch_sub (&foreground_jobs, 1);
}

static void
parallel_for (int n_tasks, siglip_task_func fn, void *ctx)
{
  if (n_tasks == 1 || pthread_mutex_trylock (&pool.busy) != 0) {
    run_alone (fn, ctx, n_tasks);
    return;
  }
  if (!pool.threads && requested_threads == 0) {
    requested_threads = online_cores ();
    pool_resize_locked (requested_threads);
  }
  if (pool.n_workers <= 1) {
    pthread_mutex_unlock (&pool.busy);
    run_alone (fn, ctx, n_tasks);
    return;
  }

  pthread_mutex_lock (&pool.lock);
  pool.fn = fn;
  pool.ctx = ctx;
  pool.n_tasks = n_tasks;
  /* every claim of the last job is done: its workers all counted down `pending` */
  atomic_store_explicit (&pool.next_task, 0, memory_order_relaxed);
  atomic_store (&pool.pending, pool.n_workers - 1);
  pool.generation++;
  atomic_store_explicit (&pool.published, pool.generation, memory_order_release);
  pthread_cond_broadcast (&pool.wake);
  pthread_mutex_unlock (&pool.lock);

  run_tasks (fn, ctx, n_tasks, 0);

  for (int i = 0; i < SPIN_POLLS && atomic_load_explicit (&pool.pending, memory_order_acquire) > 0; i++)
    cpu_relax ();
  if (atomic_load_explicit (&pool.pending, memory_order_acquire) > 0) {
    pthread_mutex_lock (&pool.lock);
    while (atomic_load_explicit (&pool.pending, memory_order_acquire) > 0)
      pthread_cond_wait (&pool.done, &pool.lock);
    pthread_mutex_unlock (&pool.lock);
  }
  pthread_mutex_unlock (&pool.busy);
}

