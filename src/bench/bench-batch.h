/* SPDX-License-Identifier: GPL-3.0-or-later */
/* siglens-bench --batch: a folder of real-sized JPEGs through the classify pipeline. */
#pragma once

#include <stdbool.h>

/* Writes `n` 12-megapixel JPEGs into photo_dir once, then prints the folder's throughput
 * against 1 / (single-image forward time) measured in the same run. Returns the exit code. */
int siglens_bench_batch (const char *model_dir, const char *photo_dir, int n, bool bf16,
                         int threads, int runs, bool json);
