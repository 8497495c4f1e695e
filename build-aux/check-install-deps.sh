#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# build-aux/install-deps on this machine and on make-believe Fedora and Arch machines (TAP):
# nothing to do when everything is found; when a tool is missing, it names the tool and the
# distribution's install command instead of failing for want of apt.
#   check-install-deps.sh SOURCE_ROOT OUT_DIR
set -u
src=$1
out=$2
script="$src/build-aux/install-deps"
echo "1..3"

if "$script" >"$out.log" 2>&1; then
  echo "ok 1 - everything found here: exit 0"
else
  echo "not ok 1 - everything found here: exit 0"; sed 's/^/# /' "$out.log"
fi

# a PATH of every tool but meson
rm -rf "$out" && mkdir -p "$out/bin"
for t in sh sed cc pkg-config ninja msgfmt glib-compile-schemas glib-compile-resources nm \
         xvfb-run dbus-run-session appstreamcli desktop-file-validate valgrind cat; do
  p=$(command -v "$t") && ln -s "$p" "$out/bin/$t"
done

n=2
for distro in "fedora:dnf install" "arch:pacman -S"; do
  id=${distro%%:*}
  want=${distro#*:}
  printf 'ID=%s\n' "$id" >"$out/os-release"
  PATH="$out/bin" SIGLENS_OS_RELEASE="$out/os-release" "$out/bin/sh" "$script" >"$out.log" 2>&1
  rc=$?
  if [ $rc -ne 0 ] && grep -q "not found: meson" "$out.log" && grep -q "$want" "$out.log"; then
    echo "ok $n - $id without meson: names it and the $want command"
  else
    echo "not ok $n - $id without meson: names it and the $want command (exit $rc)"
    sed 's/^/# /' "$out.log"
  fi
  n=$((n + 1))
done
