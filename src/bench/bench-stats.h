/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What every siglens-bench timing is made of: a monotonic clock and the median of runs. */
#pragma once

/* Seconds on the monotonic clock. */
double bench_now_s (void);

/* The median of v[0 .. n), n >= 1. Sorts v in place: callers read v[0] and v[n - 1] after it
 * as the least and the most. */
double bench_median (double *v, int n);
