/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Placeholder until its issue lands. */
#include <stdio.h>
#include "cli.h"

int
siglens_cli_preprocess (int argc, char **argv)
{
  fprintf (stderr, "siglens-cli preprocess: not built yet\n");
  return 1;
}
