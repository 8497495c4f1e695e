/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Placeholder until the tokenizer issue lands: the API links but refuses to work. */
#include <stdlib.h>

#include "internal.h"

struct siglip_tokenizer { int unused; };

siglip_tokenizer *
siglip_tokenizer_load (const char *directory, siglip_error **error)
{
  siglip_set_error (error, SIGLIP_ERR_UNSUPPORTED, "%s: tokenizer not built yet", directory);
  return NULL;
}

void
siglip_tokenizer_free (siglip_tokenizer *tokenizer)
{
  free (tokenizer);
}

bool
siglip_tokenize (const siglip_tokenizer *tokenizer, const char *text, ptrdiff_t len,
                 unsigned flags, int32_t **ids_out, int *n_out, int length, siglip_error **error)
{
  return siglip_set_error (error, SIGLIP_ERR_UNSUPPORTED, "tokenizer not built yet");
}
