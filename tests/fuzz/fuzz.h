/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fuzz.h — what the fuzz targets share. Each fuzz-<parser>.c defines LLVMFuzzerTestOneInput;
 * built with -Dfuzzing=true it links libFuzzer's main, otherwise replay.c's, which feeds it the
 * files named on its command line (the seed corpus and every crash kept as a regression), so
 * that `make test` replays them in every build.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);
/* Optional: loads what every input shares (a model, a tokenizer) once, before the first input,
 * so that libFuzzer's per-input -timeout (wall clock) measures the input's own work. */
int LLVMFuzzerInitialize (int *argc, char ***argv) __attribute__ ((weak));

/* A private scratch directory for this process, created once (under $TMPDIR or /tmp). */
const char *fuzz_scratch_dir (void);

/* Writes data to <scratch>/name (replacing it); aborts on failure. */
void fuzz_write_file (const char *name, const void *data, size_t size);
/* Removes <scratch>/name if it exists. */
void fuzz_remove_file (const char *name);

/* Splits data at the first "\n====\n": the part before in *a / *a_len, the rest in *b / *b_len
 * (NULL, 0 when there is no marker). Lets one input carry two files. */
void fuzz_split (const uint8_t *data, size_t size, const uint8_t **a, size_t *a_len,
                 const uint8_t **b, size_t *b_len);

/* tests/data/<rel> in the source tree. (static storage) */
const char *fuzz_data_path (const char *rel);
