/* SPDX-License-Identifier: GPL-3.0-or-later */
/* config.json, then (after a "\n====\n" marker) preprocessor_config.json, read as the loader
 * reads them; the preprocessor file is read for both model kinds. */
#include <stdlib.h>

#include "fuzz.h"
#include "internal.h"

static void
check_refusal (siglip_error *error)
{
  if (!error || !error->message || !error->message[0])
    abort (); /* every refusal says why */
  siglip_error_free (error);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const uint8_t *a, *b;
  size_t a_len, b_len;
  fuzz_split (data, size, &a, &a_len, &b, &b_len);
  fuzz_write_file ("config.json", a, a_len);
  if (b)
    fuzz_write_file ("preprocessor_config.json", b, b_len);
  else
    fuzz_remove_file ("preprocessor_config.json");

  siglip_error *error = NULL;
  siglip_config config;
  if (!siglip_config_load (fuzz_scratch_dir (), &config, &error))
    check_refusal (error);
  for (int kind = 0; kind < 2; kind++)
    {
      siglip_preprocess_config pre;
      error = NULL;
      if (!siglip_preprocess_config_load (fuzz_scratch_dir (), (siglip_kind) kind, &pre, &error))
        check_refusal (error);
    }
  return 0;
}
