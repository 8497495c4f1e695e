/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What siglens-cli classify reads and shows besides the model: image lists from files and
 * folders, label files, and the progress line on a terminal. */
#pragma once

#include <stdio.h>

#include <glib.h>

/* The images named by `args`: files as given, folders' image files in name order (their
 * subfolders too when `recursive`). Files in folders that are not images are skipped with a
 * warning on stderr ("prefix: PATH: not an image, skipped"), hidden files silently; a named
 * file is kept even when it does not exist (its decode then says so). Returns NULL with *error
 * set, else a NULL-terminated list.
 * *n_skipped receives the number of files skipped. (transfer full) */
char **cli_collect_images (const char *prefix, char **args, int n_args, gboolean recursive,
                           int *n_skipped, GError **error);

/* One label per line of `path` ("-": stdin); blank lines dropped, surrounding whitespace
 * trimmed, a UTF-8 BOM ignored, duplicates kept once. Invalid UTF-8 is an error naming the
 * line. Returns a NULL-terminated list, *n_out its length. (transfer full) */
char **cli_read_labels_file (const char *path, int *n_out, GError **error);

/* The progress line on stderr: "[#####.....]  12/340  2.5 images/s  ETA 2:10", redrawn in
 * place, only when stderr is a terminal (never into a pipe or a log). */
typedef struct {
  gboolean enabled;
  int total;
  gint64 start_us;
} CliProgress;

void cli_progress_start (CliProgress *progress, int total);
void cli_progress_update (CliProgress *progress, int done);
/* Erases the line, so the summary after it starts clean. */
void cli_progress_finish (CliProgress *progress);
