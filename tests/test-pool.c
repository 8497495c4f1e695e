/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test-pool.c — pool.c on its own: every task runs exactly once, on the worker the static split
 * gives it; a parallel_for from inside a task (the pool busy) runs serially in that thread; the
 * largest size asked for wins; a pool joined and started again never re-runs an old job.
 */
#include <glib.h>

#include "pool.h"

typedef struct {
  int n_tasks;
  int runs[256];
  int worker_of[256];
} count_job;

static void
count_task (void *ctx, int task, int worker)
{
  count_job *job = ctx;
  g_atomic_int_inc (&job->runs[task]);
  job->worker_of[task] = worker;
}

static void
test_split (void)
{
  const int n_workers = siglip_pool_n_threads ();
  g_assert_cmpint (n_workers, >=, 2);
  for (int n_tasks = 1; n_tasks <= 256; n_tasks = n_tasks * 3 + 1)
    {
      count_job job = { .n_tasks = n_tasks };
      siglip_parallel_for (n_tasks, count_task, &job);
      for (int t = 0; t < n_tasks; t++)
        {
          g_assert_cmpint (job.runs[t], ==, 1);
          /* static contiguous split: worker w runs [n w / W, n (w + 1) / W); one task runs
           * in the caller */
          g_assert_cmpint (job.worker_of[t], >=, 0);
          g_assert_cmpint (job.worker_of[t], <, n_workers);
          if (n_tasks > 1)
            {
              const int w = job.worker_of[t];
              g_assert_cmpint (t, >=, (int) ((long) n_tasks * w / n_workers));
              g_assert_cmpint (t, <, (int) ((long) n_tasks * (w + 1) / n_workers));
            }
        }
      /* the work was shared: the last task ran on the last worker */
      if (n_tasks >= n_workers)
        g_assert_cmpint (job.worker_of[n_tasks - 1], ==, n_workers - 1);
    }
  siglip_parallel_for (0, count_task, NULL); /* nothing to do, nothing touched */
}

/* A task that itself calls parallel_for finds the pool busy: the inner tasks run in its own
 * thread, as worker 0, all of them. */
typedef struct {
  count_job inner[4];
} nested_job;

static void
nested_task (void *ctx, int task, int worker)
{
  nested_job *job = ctx;
  job->inner[task].n_tasks = 10;
  siglip_parallel_for (10, count_task, &job->inner[task]);
}

static void
test_nested (void)
{
  nested_job job = { 0 };
  siglip_parallel_for (4, nested_task, &job);
  for (int t = 0; t < 4; t++)
    for (int i = 0; i < 10; i++)
      {
        g_assert_cmpint (job.inner[t].runs[i], ==, 1);
        g_assert_cmpint (job.inner[t].worker_of[i], ==, 0);
      }
}

static void
test_largest_wins (void)
{
  const int before = siglip_pool_n_threads ();
  siglip_pool_set_threads (1);
  g_assert_cmpint (siglip_pool_n_threads (), ==, before);
  siglip_pool_set_threads (before + 1);
  g_assert_cmpint (siglip_pool_n_threads (), ==, before + 1);
  count_job job = { .n_tasks = 64 };
  siglip_parallel_for (64, count_task, &job);
  g_assert_cmpint (job.worker_of[63], ==, before);
}

/* A pool joined when its last model was freed, then started again: the new workers must take
 * only jobs published after they started (they once re-ran the previous, finished job with its
 * dangling context). A job marks its context dead once parallel_for has returned; running it
 * again counts as a stale run. */
typedef struct {
  gboolean finished;
  int stale_runs;
  int runs[64];
} pool_job;

static void
pool_job_task (void *ctx, int task, int worker)
{
  pool_job *job = ctx;
  if (job->finished)
    g_atomic_int_inc (&job->stale_runs);
  else
    job->runs[task]++;
}

static void
test_pool_restart (void)
{
  pool_job jobs[4] = { 0 };
  for (int round = 0; round < 4; round++) {
    siglip_pool_acquire (2);
    /* give the new workers time to start before the next job, which is when a worker that
     * mistakes the previous job for new work shows itself (passing never depends on it) */
    g_usleep (20000);
    siglip_parallel_for (64, pool_job_task, &jobs[round]);
    jobs[round].finished = TRUE;
    siglip_pool_release ();
  }
  for (int round = 0; round < 4; round++) {
    g_assert_cmpint (jobs[round].stale_runs, ==, 0);
    for (int t = 0; t < 64; t++)
      g_assert_cmpint (jobs[round].runs[t], ==, 1);
  }
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  /* two workers even on a one-core runner, so the split between workers is exercised */
  siglip_pool_set_threads (2);
  g_test_add_func ("/pool/split", test_split);
  g_test_add_func ("/pool/nested", test_nested);
  g_test_add_func ("/pool/largest-wins", test_largest_wins);
  g_test_add_func ("/pool/restart", test_pool_restart);
  return g_test_run ();
}
