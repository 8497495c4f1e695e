/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * tokenizer.json (its own JSON scanner and the sections read with cJSON), then (after a
 * "\n====\n" marker) tokenizer_config.json. A tokenizer that loads must then encode texts in
 * every mode.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "siglip.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const uint8_t *a, *b;
  size_t a_len, b_len;
  fuzz_split (data, size, &a, &a_len, &b, &b_len);
  fuzz_write_file ("tokenizer.json", a, a_len);
  if (b)
    fuzz_write_file ("tokenizer_config.json", b, b_len);
  else
    fuzz_remove_file ("tokenizer_config.json");

  siglip_error *error = NULL;
  siglip_tokenizer *tok = siglip_tokenizer_load (fuzz_scratch_dir (), &error);
  if (!tok)
    {
      if (!error || !error->message || !error->message[0])
        abort ();
      siglip_error_free (error);
      return 0;
    }
  static const char *const texts[] = { "", "a", "ab abc", "This is a photo of a cat.",
                                       "<eos><pad> x\xc3\xa9", "   ", "\xe4\xb8\x80\xe5\x8f\xaa" };
  static const unsigned flags[] = { SIGLIP_TOKENIZE_DEFAULT, SIGLIP_TOKENIZE_NO_LOWERCASE,
                                    SIGLIP_TOKENIZE_RAW };
  for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++)
    for (size_t f = 0; f < 3; f++)
      {
        int32_t *ids = NULL;
        int n = 0;
        if (siglip_tokenize (tok, texts[t], -1, flags[f], &ids, &n, 16, &error))
          {
            for (int i = 0; i < n; i++)
              if (ids[i] < 0 || ids[i] >= siglip_tokenizer_vocab_size (tok))
                abort (); /* every id names a token */
          }
        else
          siglip_error_free (error);
        error = NULL;
        free (ids);
      }
  siglip_tokenizer_free (tok);
  return 0;
}
