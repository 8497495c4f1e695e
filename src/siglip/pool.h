/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * pool.h — the one process-wide thread pool every parallel stage of libsiglip runs on (weight
 * products, packing, row ops, attention). The caller of siglip_parallel_for is worker 0.
 *
 * OpenBLAS is kept at one thread and called from inside the pool, so OpenBLAS's own threads
 * never compete with ours for the cores (they busy-wait after each call).
 */
#ifndef SIGLIP_POOL_H
#define SIGLIP_POOL_H

/* Sets the size of the pool (0: the machine's online cores); the largest request made so far
 * wins. */
void siglip_pool_set_threads (int n_threads);
/* Every loaded model holds the pool: the loader acquires it with the model's n_threads, and
 * siglip_model_free releases it. When the last holder lets go, the worker threads are joined,
 * so a program that has freed its models is left with no threads and no memory of ours. */
void siglip_pool_acquire (int n_threads);
void siglip_pool_release (void);
/* Workers a parallel_for may use (the caller included): the size asked for, else the cores. */
int  siglip_pool_n_threads (void);

/* Runs fn (ctx, task, worker) for task = 0 .. n_tasks-1 on the pool, each task claimed in
 * order by the next free worker (so many small tasks balance themselves; no worker is promised
 * any particular ones), and returns when all are done; worker < siglip_pool_n_threads (). When the pool is busy
 * (another thread of the process is using it) the tasks run serially in the calling thread as
 * worker 0 — correct, just not parallel. */
typedef void (*siglip_task_func) (void *ctx, int task, int worker);
void siglip_parallel_for (int n_tasks, siglip_task_func fn, void *ctx);
/* From now on the calling thread's siglip_parallel_for runs its tasks serially, never taking
 * the pool: for a background thread, which must not leave a forward pass running serially
 * because it held the pool first (weight-cache-writer.c). */
void siglip_pool_stay_off (void);
/* Seconds since the last siglip_parallel_for of a thread that did not stay off ended; 0 while
 * one runs. A background thread waits for the foreground's work to pause with it. */
double siglip_pool_idle_seconds (void);

#endif /* SIGLIP_POOL_H */
