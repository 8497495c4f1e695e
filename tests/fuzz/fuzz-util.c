/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Scratch files and input splitting for the fuzz targets (see fuzz.h). */
#include "fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char scratch[4096];

static void
remove_scratch (void)
{
  static const char *const names[] = {
    "model.safetensors", "model.safetensors.index.json", "model-00001-of-00001.safetensors",
    "config.json", "preprocessor_config.json", "tokenizer.json", "tokenizer_config.json",
    "input.wcache", "seed.wcache", /* fuzz-weight-cache */
  };
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    fuzz_remove_file (names[i]);
  rmdir (scratch);
}

const char *
fuzz_scratch_dir (void)
{
  if (!scratch[0])
    {
      const char *tmp = getenv ("TMPDIR");
      snprintf (scratch, sizeof scratch, "%s/siglens-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
      if (!mkdtemp (scratch))
        {
          perror ("mkdtemp");
          abort ();
        }
      atexit (remove_scratch);
    }
  return scratch;
}

static void
scratch_path (char *buf, size_t len, const char *name)
{
  snprintf (buf, len, "%s/%s", fuzz_scratch_dir (), name);
}

void
fuzz_write_file (const char *name, const void *data, size_t size)
{
  char path[4200];
  scratch_path (path, sizeof path, name);
  unlink (path);
  FILE *f = fopen (path, "wb");
  if (!f || (size && fwrite (data, 1, size, f) != size) || fclose (f) != 0)
    {
      perror (path);
      abort ();
    }
}

void
fuzz_remove_file (const char *name)
{
  char path[4200];
  scratch_path (path, sizeof path, name);
  unlink (path);
}

void
fuzz_split (const uint8_t *data, size_t size, const uint8_t **a, size_t *a_len,
            const uint8_t **b, size_t *b_len)
{
  static const char marker[] = "\n====\n";
  const size_t m = sizeof marker - 1;
  *a = data;
  *a_len = size;
  *b = NULL;
  *b_len = 0;
  for (size_t i = 0; size >= m && i <= size - m; i++)
    if (!memcmp (data + i, marker, m))
      {
        *a_len = i;
        *b = data + i + m;
        *b_len = size - i - m;
        return;
      }
}

const char *
fuzz_data_path (const char *rel)
{
  static char buf[4096];
  snprintf (buf, sizeof buf, "%s/tests/data/%s", SIGLENS_SRC_DIR, rel);
  return buf;
}
