/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Placeholder until its issue lands. */
#include <stdio.h>
#include "cli.h"

int
siglens_cli_classify (int argc, char **argv)
{
  fprintf (stderr, "siglens-cli classify: not built yet\n");
  return 1;
}

int
siglens_cli_embed (int argc, char **argv)
{
  fprintf (stderr, "siglens-cli embed: not built yet\n");
  return 1;
}
