#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# `meson install` puts every desktop-integration file where GNOME looks for it, and the
# installed tree validates as a whole (desktop file + metainfo + icon, as GNOME Software and
# Flathub see them). Installs into a scratch DESTDIR, never into the system.
#
# usage: check-install-tree.sh MESON BUILD_DIR DESTDIR PREFIX
set -u
if [ $# -ne 4 ]; then
  echo "usage: check-install-tree.sh MESON BUILD_DIR DESTDIR PREFIX" >&2
  exit 2
fi
meson=$1 build=$2 dest=$3 prefix=$4
app=io.github.siglens.Siglens
rm -rf "$dest"
echo "1..3"
failed=0

if out=$("$meson" install -C "$build" --no-rebuild --quiet --destdir "$dest" 2>&1); then
  echo "ok 1 meson install into a scratch DESTDIR"
else
  echo "not ok 1 meson install into a scratch DESTDIR"
  echo "$out" | sed 's/^/# /'
  exit 1
fi

root="$dest$prefix"
missing=""
for f in \
  bin/siglens \
  bin/siglens-cli \
  share/applications/$app.desktop \
  share/metainfo/$app.metainfo.xml \
  share/icons/hicolor/scalable/apps/$app.svg \
  share/icons/hicolor/symbolic/apps/$app-symbolic.svg \
  share/dbus-1/services/$app.service \
  share/glib-2.0/schemas/$app.gschema.xml \
  share/locale/zh_CN/LC_MESSAGES/siglens.mo
do
  [ -f "$root/$f" ] || missing="$missing $f"
done
if [ -z "$missing" ]; then
  echo "ok 2 every integration file is installed under $prefix"
else
  echo "not ok 2 every integration file is installed under $prefix"
  for f in $missing; do echo "# missing: $prefix/$f"; done
  failed=1
fi

if out=$(appstreamcli validate-tree --no-net "$root" 2>&1); then
  echo "ok 3 appstreamcli validate-tree"
  echo "$out" | sed 's/^/# /'
else
  echo "not ok 3 appstreamcli validate-tree"
  echo "$out" | sed 's/^/# /'
  failed=1
fi
rm -rf "$dest"
exit $failed
