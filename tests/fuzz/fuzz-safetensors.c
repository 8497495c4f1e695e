/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The safetensors reader: an input is model.safetensors, or (with a "\n====\n" marker) the shard
 * index model.safetensors.index.json followed by its one shard. Every tensor found is converted
 * to F32, so that offsets and sizes the reader accepted are really inside the file.
 */
#include <stdlib.h>

#include "fuzz.h"
#include "internal.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const uint8_t *a, *b;
  size_t a_len, b_len;
  fuzz_split (data, size, &a, &a_len, &b, &b_len);
  if (b)
    {
      fuzz_remove_file ("model.safetensors");
      fuzz_write_file ("model.safetensors.index.json", a, a_len);
      fuzz_write_file ("model-00001-of-00001.safetensors", b, b_len);
    }
  else
    {
      fuzz_remove_file ("model.safetensors.index.json");
      fuzz_write_file ("model.safetensors", a, a_len);
    }

  siglip_error *error = NULL;
  siglip_weights *w = siglip_weights_open (fuzz_scratch_dir (), &error);
  if (!w)
    {
      if (!error || !error->message || !error->message[0])
        abort (); /* every refusal says why */
      siglip_error_free (error);
      return 0;
    }
  int n = siglip_weights_n_tensors (w);
  for (int i = 0; i < n; i++)
    {
      const siglip_tensor *t = siglip_weights_tensor (w, i);
      const siglip_tensor *found = siglip_weights_find (w, t->name);
      if (found != t)
        abort ();
      float *owned = NULL;
      const float *f = siglip_tensor_as_f32 (w, t, &owned, &error);
      volatile float sum = 0;
      for (int64_t k = 0; f && k < t->numel; k++)
        sum += f[k];
      (void) sum;
      free (owned);
      siglip_error_free (error);
      error = NULL;
    }
  siglip_weights_close (w);
  return 0;
}
