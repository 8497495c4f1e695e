/* SPDX-License-Identifier: GPL-3.0-or-later */
/* siglens-cli: the Siglens model core for scripts and batch work. */
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct {
  const char *name;
  int (*run) (int argc, char **argv);
  const char *summary;
} commands[] = {
  { "info", siglens_cli_info, "describe a model: architecture, parameters, dtypes, files" },
  { "tokenize", siglens_cli_tokenize, "print the token ids of texts" },
  { "preprocess", siglens_cli_preprocess, "write an image's patches as raw float32" },
  { "classify", siglens_cli_classify, "zero-shot scores of labels for images" },
  { "embed", siglens_cli_embed, "image and text embeddings as JSON" },
  { "presets", siglens_cli_presets, "list the label presets for classify --preset" },
  { "heatmap", siglens_cli_heatmap, "where the model looked: attention maps as .f32 and .png" },
  { "download", siglens_cli_download, "fetch a model from the Hugging Face Hub (resumable)" },
};

static void
usage (FILE *out)
{
  fprintf (out, "Usage: siglens-cli COMMAND [OPTIONS...]\n\nCommands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf (out, "  %-12s %s\n", commands[i].name, commands[i].summary);
  fprintf (out, "\nRun 'siglens-cli COMMAND --help' for a command's options.\n"
                "MODEL is a model directory or a Hugging Face id found in the local HF cache.\n");
}

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  if (argc < 2 || !strcmp (argv[1], "--help") || !strcmp (argv[1], "-h"))
    {
      usage (argc < 2 ? stderr : stdout);
      return argc < 2 ? 2 : 0;
    }
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (!strcmp (argv[1], commands[i].name))
      return commands[i].run (argc - 1, argv + 1);
  fprintf (stderr, "siglens-cli: unknown command '%s'\n\n", argv[1]);
  usage (stderr);
  return 2;
}
