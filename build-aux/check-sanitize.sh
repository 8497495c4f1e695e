#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# The sanitizer suite: a second build of the whole project with -Db_sanitize=address,undefined
# (gcc), then its core, CLI, fuzz-replay and GUI tests, which must all pass with no ASan, UBSan
# or LeakSanitizer report. Leaks are checked in every test; what system libraries keep for good
# is suppressed by library in build-aux/lsan.supp, nothing of ours.
#
# Run inside `make test` (so under its Xvfb and session bus), or by hand:
#   xvfb-run -a -s "-screen 0 2600x1600x24" dbus-run-session -- build-aux/check-sanitize.sh . build/sanitize
#
# Not run here, each for its reason:
# - suite valgrind: valgrind cannot run an ASan binary; the normal build runs it.
# - the integration suite's validators (desktop file, AppStream, schemas, translations, the
#   Flatpak manifest, the installed tree, install-deps, core-layout): they check files, not our
#   running code. Its two tests that do run the app, test-i18n-window and dbus-activation, are
#   run here.
#
# usage: check-sanitize.sh SOURCE_DIR BUILD_DIR
set -eu
src=$(cd "$1" && pwd)
build=$2
if [ ! -f "$build/build.ninja" ]; then
  # frame pointers: ASan's fast unwinder walks them, so a report shows our whole call stack
  meson setup "$build" "$src" -Db_sanitize=address,undefined -Db_lundef=false \
    -Dbuildtype=debugoptimized -Dc_args=-fno-omit-frame-pointer >"$build.setup.log" 2>&1 ||
    { cat "$build.setup.log"; exit 1; }
fi
meson compile -C "$build" >"$build.compile.log" 2>&1 || { tail -50 "$build.compile.log"; exit 1; }

# Every ASan and LeakSanitizer report goes to a file of its own (asan.PID): a process whose exit
# status no test sees (the app started by D-Bus activation, a CLI run a test expects to fail)
# still turns the suite red, and the report is printed below whichever test it came from.
# (UBSan's stay on the process's stderr, in the test's log; halt_on_error makes it exit 1.)
reports=$(cd "$build" && pwd)/sanitizer-reports
rm -rf "$reports"
mkdir -p "$reports"

# halt on the first report of any kind; a UBSan report is as fatal as an ASan one
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1:log_path=$reports/asan"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export LSAN_OPTIONS="suppressions=$src/build-aux/lsan.supp:print_suppressions=0"

# GLib 2.74's slice allocator carves GObjects and other small blocks out of pages it keeps for
# good, so a leaked object stays reachable from them and LeakSanitizer never sees it: every
# block comes from malloc instead.
export G_SLICE=always-malloc

# The GUI tests draw with GTK's cairo renderer and GL stays off: with GL, GDK loads Mesa
# (swrast_dri.so, llvmpipe) to choose a visual even for cairo, and Mesa leaks from a module it
# unloads before the leak report, so the report cannot name it to suppress it; llvmpipe is also
# what made the layout tests too slow here. What the sanitizer is for is our code's memory,
# which is the same whichever renderer draws; the normal build runs every GUI test with GL.
export GSK_RENDERER=cairo
export GDK_DEBUG=gl-disable

# ASan makes everything 2-3x slower (and the machine may be shared): timeouts scaled.
status=0
core_tests=$(meson test -C "$build" --list --no-suite valgrind --no-suite integration --no-suite gui \
  2>/dev/null | sed -n 's|^siglens[^ ]* / ||p' | grep -vxE 'test-download')
# shellcheck disable=SC2086 # one word per test name
meson test -C "$build" --print-errorlogs --timeout-multiplier 4 $core_tests || status=1
# test-download runs the Hub imitation, a libsoup SoupServer, whose accepted sockets lsan.supp
# names by g_socket_accept: that frame is only in the stack when it is unwound from DWARF (as
# in the GUI pass below), since GLib's frames have no frame pointers.
ASAN_OPTIONS="$ASAN_OPTIONS:fast_unwind_on_malloc=0" \
  meson test -C "$build" --print-errorlogs --timeout-multiplier 4 test-download || status=1

# GUI tests (test-i18n-window and dbus-activation included: they are in suite gui too) unwind
# each allocation's stack from DWARF, not frame pointers: GLib and GTK have none, and without
# the whole stack neither a leak of ours could be traced nor GLib's kept quark table (see
# lsan.supp) told apart from it. It makes them 2-4x slower, affordable without Mesa.
# Each runs on an X server of its own (build-aux/private-display.sh says why: on a shared one
# the tests take the PRIMARY selection from each other, and GTK 4.8's X11 clipboard leaks in
# the exchange).
gui_tests=$(meson test -C "$build" --list --suite gui 2>/dev/null | sed -n 's|^siglens:[^ ]* / ||p')
# shellcheck disable=SC2086 # one word per test name
ASAN_OPTIONS="$ASAN_OPTIONS:fast_unwind_on_malloc=0" \
  meson test -C "$build" --print-errorlogs --timeout-multiplier 4 \
  --wrapper "$src/build-aux/private-display.sh" $gui_tests || status=1

for report in "$reports"/*; do
  [ -e "$report" ] || continue
  echo "== sanitizer report $report:"
  cat "$report"
  status=1
done
exit $status
