/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Placeholder until its issue lands. */
#include <stdio.h>
#include "cli.h"

int
siglens_cli_info (int argc, char **argv)
{
  fprintf (stderr, "siglens-cli info: not built yet\n");
  return 1;
}
