/* SPDX-License-Identifier: GPL-3.0-or-later */
/* siglens-cli subcommands; each lives in cli-<name>.c and returns the process exit code. */
#pragma once

int siglens_cli_info (int argc, char **argv);
int siglens_cli_tokenize (int argc, char **argv);
int siglens_cli_preprocess (int argc, char **argv);
int siglens_cli_classify (int argc, char **argv);
int siglens_cli_embed (int argc, char **argv);
int siglens_cli_presets (int argc, char **argv);
int siglens_cli_heatmap (int argc, char **argv);
int siglens_cli_download (int argc, char **argv);
