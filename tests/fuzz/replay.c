/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * replay.c — main() for a fuzz target in a build without libFuzzer: feeds it every file named on
 * the command line, and every file in every directory named (the seed corpus and the crashing
 * inputs kept as regressions). A crash, a sanitizer report or a hang fails the test.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int n_inputs;

static int
replay_file (const char *path)
{
  FILE *f = fopen (path, "rb");
  if (!f)
    {
      perror (path);
      return 1;
    }
  fseek (f, 0, SEEK_END);
  long len = ftell (f);
  fseek (f, 0, SEEK_SET);
  /* a copy of exactly len bytes, so that a read past the end is a sanitizer error as in
   * libFuzzer */
  uint8_t *data = malloc (len > 0 ? (size_t) len : 1);
  if (!data || (len > 0 && fread (data, 1, (size_t) len, f) != (size_t) len))
    {
      fprintf (stderr, "%s: cannot read\n", path);
      fclose (f);
      free (data);
      return 1;
    }
  fclose (f);
  printf ("# %s (%ld bytes)\n", path, len);
  fflush (stdout);
  LLVMFuzzerTestOneInput (data, (size_t) len);
  free (data);
  n_inputs++;
  return 0;
}

static int
compare_names (const void *a, const void *b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

static int
replay_dir (const char *dir)
{
  DIR *d = opendir (dir);
  if (!d)
    {
      perror (dir);
      return 1;
    }
  char **names = NULL;
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir (d)))
    {
      if (e->d_name[0] == '.')
        continue;
      names = realloc (names, (n + 1) * sizeof *names);
      names[n++] = strdup (e->d_name);
    }
  closedir (d);
  qsort (names, n, sizeof *names, compare_names);
  int failed = 0;
  for (size_t i = 0; i < n; i++)
    {
      char path[4096];
      snprintf (path, sizeof path, "%s/%s", dir, names[i]);
      failed |= replay_file (path);
      free (names[i]);
    }
  free (names);
  return failed;
}

int
main (int argc, char **argv)
{
  int failed = 0;
  if (LLVMFuzzerInitialize)
    LLVMFuzzerInitialize (&argc, &argv);
  for (int i = 1; i < argc; i++)
    {
      struct stat st;
      if (stat (argv[i], &st) != 0)
        printf ("# %s: none\n", argv[i]); /* a target without regressions yet */
      else if (S_ISDIR (st.st_mode))
        failed |= replay_dir (argv[i]);
      else
        failed |= replay_file (argv[i]);
    }
  printf ("# %d inputs replayed\n", n_inputs);
  if (n_inputs == 0)
    {
      fprintf (stderr, "no inputs found\n");
      return 1;
    }
  return failed;
}
