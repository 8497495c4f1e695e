/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Gemma's real tokenizer (tests/data/gemma-tokenizer) encoding arbitrary bytes in every mode,
 * and the same bytes as a typed label list.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "siglip.h"

static siglip_tokenizer *tok;

static void
free_tokenizer (void)
{
  siglip_tokenizer_free (tok);
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  siglip_error *error = NULL;
  char dir[4096];
  (void) argc, (void) argv;
  strncpy (dir, fuzz_data_path ("gemma-tokenizer"), sizeof dir - 1);
  dir[sizeof dir - 1] = '\0';
  if (!(tok = siglip_tokenizer_load (dir, &error)))
    abort ();
  atexit (free_tokenizer);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  static const unsigned flags[] = { SIGLIP_TOKENIZE_DEFAULT, SIGLIP_TOKENIZE_NO_LOWERCASE,
                                    SIGLIP_TOKENIZE_RAW };
  for (size_t f = 0; f < 3; f++)
    {
      int32_t *ids = NULL;
      int n = 0;
      siglip_error *error = NULL;
      if (siglip_tokenize (tok, (const char *) data, (ptrdiff_t) size, flags[f], &ids, &n, 64,
                           &error))
        {
          if (!(flags[f] & SIGLIP_TOKENIZE_RAW) && n != 64)
            abort ();
          for (int i = 0; i < n; i++)
            if (ids[i] < 0 || ids[i] >= siglip_tokenizer_vocab_size (tok))
              abort ();
        }
      else
        {
          if (!error || error->status != SIGLIP_ERR_INVALID_INPUT)
            abort (); /* only invalid UTF-8 is refused */
          siglip_error_free (error);
        }
      free (ids);
    }

  /* the bytes as a typed label list (NUL-terminated, so cut at the first NUL) */
  char *text = malloc (size + 1);
  memcpy (text, data, size);
  text[size] = '\0';
  siglip_error *error = NULL;
  siglip_label_list *list = siglip_label_list_new (text, NULL, NULL, &error);
  if (list)
    {
      for (int i = 0; i < list->n_entries; i++)
        if (list->entries[i].label < 0 || list->entries[i].label >= list->n_labels)
          abort ();
      siglip_label_list_free (list);
    }
  else
    siglip_error_free (error);
  int n = 0;
  char **labels = siglip_split_labels (text, &n);
  siglip_labels_free (labels);
  free (text);
  return 0;
}
