/* SPDX-License-Identifier: GPL-3.0-or-later */
/* siglens-cli tokenize: the token ids SigLIP 2's text tower sees, one JSON array per text. Only the
 * tokenizer files are read, so this works on a directory holding just tokenizer.json. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "siglip.h"

#define DEFAULT_LENGTH 64 /* SigLIP 2 text max_position_embeddings */

static void
tokenize_usage (FILE *out)
{
  fprintf (out,
           "Usage: siglens-cli tokenize --model MODEL [--raw] [--no-lowercase] [--length N]\n"
           "                            [--tokens] TEXT...\n\n"
           "Prints the token ids of each TEXT as one JSON array per line. By default as SigLIP 2\n"
           "reads text: lowercased, <eos> appended, truncated and padded with <pad> to N ids.\n\n"
           "  --model MODEL   a directory with tokenizer.json (and tokenizer_config.json), or a\n"
           "                  Hugging Face id in the local HF cache\n"
           "  --raw           the bare Gemma tokenization: no lowercasing, no <eos>, no padding\n"
           "  --no-lowercase  keep the text's case (SigLIP 2 was trained on lowercased text)\n"
           "  --length N      ids per text without --raw (default %d)\n"
           "  --tokens        print the token strings instead of the ids\n\n"
           "Options may come before or after the texts; texts after \"--\" are never options.\n",
           DEFAULT_LENGTH);
}

static int
parse_length (const char *s, int *length)
{
  char *end;
  errno = 0;
  long v = strtol (s, &end, 10);
  if (errno || end == s || *end || v < 1 || v > 1000000)
    {
      fprintf (stderr, "siglens-cli tokenize: --length needs a positive integer, not '%s'\n", s);
      return 0;
    }
  *length = (int) v;
  return 1;
}

/* Writes one JSON array of ids or token strings. */
static void
print_ids (const siglip_tokenizer *tok, const int32_t *ids, int n, int as_tokens)
{
  putchar ('[');
  for (int i = 0; i < n; i++)
    {
      if (i)
        fputs (", ", stdout);
      if (!as_tokens)
        {
          printf ("%d", ids[i]);
          continue;
        }
      const char *s = siglip_tokenizer_id_to_token (tok, ids[i]);
      putchar ('"');
      for (const unsigned char *p = (const unsigned char *) (s ? s : ""); *p; p++)
        {
          if (*p == '"' || *p == '\\')
            printf ("\\%c", *p);
          else if (*p < 0x20)
            printf ("\\u%04x", *p);
          else
            putchar (*p);
        }
      putchar ('"');
    }
  fputs ("]\n", stdout);
}

int
siglens_cli_tokenize (int argc, char **argv)
{
  const char *model = NULL;
  unsigned flags = SIGLIP_TOKENIZE_DEFAULT;
  int length = DEFAULT_LENGTH, as_tokens = 0, n_texts = 0;
  /* options may come anywhere before "--", as GNU tools allow; texts keep their order */
  const char **texts = calloc ((size_t) argc + 1, sizeof *texts);
  if (!texts)
    {
      fprintf (stderr, "siglens-cli tokenize: out of memory\n");
      return 1;
    }

  for (int i = 1; i < argc; i++)
    {
      const char *a = argv[i];
      if (!strcmp (a, "--help") || !strcmp (a, "-h"))
        {
          tokenize_usage (stdout);
          free (texts);
          return 0;
        }
      else if (!strcmp (a, "--raw"))
        flags |= SIGLIP_TOKENIZE_RAW;
      else if (!strcmp (a, "--no-lowercase"))
        flags |= SIGLIP_TOKENIZE_NO_LOWERCASE;
      else if (!strcmp (a, "--tokens"))
        as_tokens = 1;
      else if (!strcmp (a, "--model") || !strcmp (a, "--length"))
        {
          if (i + 1 >= argc)
            {
              fprintf (stderr, "siglens-cli tokenize: %s needs a value\n", a);
              goto usage_error;
            }
          if (a[2] == 'm')
            model = argv[++i];
          else if (!parse_length (argv[++i], &length))
            goto usage_error;
        }
      else if (!strncmp (a, "--model=", 8))
        model = a + 8;
      else if (!strncmp (a, "--length=", 9))
        {
          if (!parse_length (a + 9, &length))
            goto usage_error;
        }
      else if (!strcmp (a, "--"))
        {
          while (++i < argc)
            texts[n_texts++] = argv[i];
        }
      else if (a[0] == '-' && a[1] == '-')
        {
          fprintf (stderr, "siglens-cli tokenize: unknown option '%s' (put texts that start "
                           "with \"--\" after \"--\")\n\n", a);
          tokenize_usage (stderr);
          goto usage_error;
        }
      else
        texts[n_texts++] = a;
    }
  if (!model)
    {
      fprintf (stderr, "siglens-cli tokenize: --model is required\n\n");
      tokenize_usage (stderr);
      goto usage_error;
    }
  if (!n_texts)
    {
      fprintf (stderr, "siglens-cli tokenize: no TEXT given\n\n");
      tokenize_usage (stderr);
      goto usage_error;
    }

  siglip_error *err = NULL;
  char *dir = siglip_resolve_model_path (model, &err);
  siglip_tokenizer *tok = dir ? siglip_tokenizer_load (dir, &err) : NULL;
  free (dir);
  if (!tok)
    {
      fprintf (stderr, "siglens-cli tokenize: %s\n", err ? err->message : "cannot load the tokenizer");
      siglip_error_free (err);
      goto usage_error;
    }

  int status = 0;
  for (int i = 0; i < n_texts; i++)
    {
      int32_t *ids = NULL;
      int n = 0;
      if (!siglip_tokenize (tok, texts[i], -1, flags, &ids, &n, length, &err))
        {
          fprintf (stderr, "siglens-cli tokenize: text %d: %s\n", i + 1, err->message);
          siglip_error_free (err);
          err = NULL;
          status = 1;
          break;
        }
      print_ids (tok, ids, n, as_tokens);
      free (ids);
    }
  siglip_tokenizer_free (tok);
  free (texts);
  if (fflush (stdout) != 0)
    status = 1;
  return status;

usage_error:
  free (texts);
  return 1;
}
