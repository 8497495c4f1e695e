/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * test-pool.c — pool.c on its own: every task runs exactly once, on a worker of the pool; a
 * worker that stalls leaves the other tasks to the others; a parallel_for from inside a task (the pool busy) runs serially in that thread; the
 * largest size asked for wins; a pool joined and started again never re-runs an old job; a
 * thread that stays off never takes the pool, and only the foreground's jobs end its idle time.
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
          g_assert_cmpint (job.worker_of[t], >=, 0);
          g_assert_cmpint (job.worker_of[t], <, n_workers);
        }
    }
  siglip_parallel_for (0, count_task, NULL); /* nothing to do, nothing touched */
}

/* Task 0 stalls (as a worker does when the machine gives its core to someone else for a
 * while): the tasks after it do not wait for it, the other workers take them all. With fixed
 * shares, the stalled worker would still owe the first share. */
static void
stall_task (void *ctx, int task, int worker)
{
  if (task == 0)
    g_usleep (200000);
  count_task (ctx, task, worker);
}

static void
test_stalled_worker (void)
{
  count_job job = { .n_tasks = 16 };
  siglip_parallel_for (job.n_tasks, stall_task, &job);
  for (int t = 1; t < job.n_tasks; t++)
    {
      g_assert_cmpint (job.runs[t], ==, 1);
      g_assert_cmpint (job.worker_of[t], !=, job.worker_of[0]);
    }
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

typedef struct {
  count_job count;
  int arrived, timed_out;
} meet_job;

static void
meet_task (void *ctx, int task, int worker)
{
  meet_job *job = ctx;
  count_task (&job->count, task, worker);
  g_atomic_int_inc (&job->arrived);
  const gint64 give_up = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (g_atomic_int_get (&job->arrived) < job->count.n_tasks)
    if (g_get_monotonic_time () > give_up)
      {
        g_atomic_int_set (&job->timed_out, 1);
        return;
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
  /* before + 1 tasks that each wait for all the others to start: they finish only if that
   * many workers run at once */
  meet_job job = { .count = { .n_tasks = before + 1 } };
  siglip_parallel_for (before + 1, meet_task, &job);
  g_assert_cmpint (g_atomic_int_get (&job.timed_out), ==, 0);
  for (int t = 0; t <= before; t++)
    for (int u = 0; u < t; u++)
      g_assert_cmpint (job.count.worker_of[t], !=, job.count.worker_of[u]);
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

/* A thread that stayed off runs its tasks itself, on no worker of the pool, and its work is not
 * the foreground's: the idle time since the last foreground job goes on growing through it,
 * and reads 0 while a foreground job runs. */
static void
idle_task (void *ctx, int task, int worker)
{
  double *seen = ctx;
  seen[task] = siglip_pool_idle_seconds ();
}

typedef struct {
  count_job job;
  double idle_before, idle_after;
} off_run;

static gpointer
stay_off_main (gpointer data)
{
  off_run *r = data;
  siglip_pool_stay_off ();
  r->idle_before = siglip_pool_idle_seconds ();
  siglip_parallel_for (r->job.n_tasks, count_task, &r->job);
  r->idle_after = siglip_pool_idle_seconds ();
  return NULL;
}

static void
test_stay_off_and_idle (void)
{
  double seen[8] = { 0 };
  siglip_parallel_for (8, idle_task, seen);
  for (int t = 0; t < 8; t++)
    g_assert_cmpfloat (seen[t], ==, 0.0);
  g_assert_cmpfloat (siglip_pool_idle_seconds (), <, 1.0);
  g_usleep (60000);
  const double idle = siglip_pool_idle_seconds ();
  g_assert_cmpfloat (idle, >=, 0.06);

  off_run r = { .job = { .n_tasks = 64 } };
  g_thread_join (g_thread_new ("stays-off", stay_off_main, &r));
  for (int t = 0; t < 64; t++)
    {
      g_assert_cmpint (r.job.runs[t], ==, 1);
      g_assert_cmpint (r.job.worker_of[t], ==, 0); /* all in the calling thread */
    }
  g_assert_cmpfloat (r.idle_before, >=, idle);
  g_assert_cmpfloat (r.idle_after, >=, r.idle_before);
  /* this thread did not stay off: its next job is the foreground's again */
  siglip_parallel_for (8, idle_task, seen);
  g_assert_cmpfloat (siglip_pool_idle_seconds (), <, idle);
}

int
main (int argc, char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  /* two workers even on a one-core runner, so the split between workers is exercised */
  siglip_pool_set_threads (2);
  g_test_add_func ("/pool/split", test_split);
  g_test_add_func ("/pool/stalled-worker", test_stalled_worker);
  g_test_add_func ("/pool/nested", test_nested);
  g_test_add_func ("/pool/largest-wins", test_largest_wins);
  g_test_add_func ("/pool/restart", test_pool_restart);
  g_test_add_func ("/pool/stay-off-and-idle", test_stay_off_and_idle);
  return g_test_run ();
}
