#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Installed in the Flatpak as /app/bin/siglens and /app/bin/siglens-cli; runs the real program
# from /app/libexec/siglens/.
#
# Why: Flatpak points XDG_CACHE_HOME at ~/.var/app/io.github.siglens.Siglens/cache, so the
# Hugging Face lookup ($HF_HUB_CACHE, $HF_HOME/hub, $XDG_CACHE_HOME/huggingface/hub) would miss
# the download the user already has in ~/.cache/huggingface, which the manifest shares read-only
# (--filesystem=~/.cache/huggingface:ro). finish-args cannot expand $HOME, so the variable is
# set here. A cache the user chose explicitly (HF_HOME or HF_HUB_CACHE) is left alone.
if [ -z "${HF_HOME:-}" ] && [ -z "${HF_HUB_CACHE:-}" ] && [ -n "${HOME:-}" ]; then
  HF_HOME="$HOME/.cache/huggingface"
  export HF_HOME
fi
exec "/app/libexec/siglens/$(basename "$0")" "$@"
