#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Runs one command on an X server of its own (Xvfb, the display number chosen by the server
# itself, so that two started at once never race for one), then stops the server.
#
# Why (build-aux/check-sanitize.sh runs each GUI test through this): GUI tests that share a
# display take the PRIMARY selection from each other whenever a text field selects its text.
# GTK 4.8's X11 clipboard then asks the new owner for its TARGETS, and both ends of that
# exchange leak inside GTK (gdk/x11: the owner's gdk_x11_clipboard_formats_to_atoms never frees
# its target list; the asker's GdkX11SelectionInputStream for TARGETS outlives the exchange).
# Those leaks are GTK's, and no suppression can name them (the functions are static, so the
# frames carry no symbol); one display per test is what a user's session looks like anyway.
#
# usage: private-display.sh COMMAND [ARG...]
set -eu
dir=$(mktemp -d "${TMPDIR:-/tmp}/siglens-x.XXXXXX")
trap 'rm -rf "$dir"' EXIT
Xvfb -displayfd 3 -screen 0 2600x1600x24 -nolisten tcp 3>"$dir/display" 2>"$dir/xvfb.log" &
server=$!
tries=0
until grep -q '^[0-9]' "$dir/display" 2>/dev/null; do
  if ! kill -0 "$server" 2>/dev/null || [ "$tries" -ge 300 ]; then
    echo "private-display.sh: Xvfb did not start:" >&2
    cat "$dir/xvfb.log" >&2
    exit 1
  fi
  tries=$((tries + 1))
  sleep 0.1
done
status=0
DISPLAY=":$(head -n 1 "$dir/display")" "$@" || status=$?
kill "$server" 2>/dev/null || true
wait "$server" 2>/dev/null || true
exit $status
