#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# D-Bus activation works as GNOME Shell and "Open With" use it (DBusActivatable=true):
# on a private session bus that knows only SERVICE_DIR, calling
# org.freedesktop.Application.Open starts Siglens from its .service file, which opens a window
# for the image; app.quit then ends it. Needs a display (make test runs under xvfb-run).
#
# usage: check-dbus-activation.sh SERVICE_DIR IMAGE
set -u

if [ $# -ne 2 ]; then
  echo "usage: check-dbus-activation.sh SERVICE_DIR IMAGE" >&2
  exit 2
fi

if [ -z "${SIGLENS_IN_PRIVATE_BUS:-}" ]; then
  conf=$(mktemp)
  trap 'rm -f "$conf"' EXIT
  cat > "$conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:tmpdir=/tmp</listen>
  <servicedir>$1</servicedir>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
CONF
  # The app inherits the bus daemon's environment. This bus has no accessibility service, and
  # GTK's warning about that would be fatal under G_DEBUG=fatal-warnings.
  GTK_A11Y=none SIGLENS_IN_PRIVATE_BUS=1 dbus-run-session --config-file="$conf" -- "$0" "$@"
  exit $?
fi

app=io.github.siglens.Siglens
path=/io/github/siglens/Siglens

# Asks the bus itself, so that asking never starts the app.
owned () {
  gdbus call --session --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus \
    --method org.freedesktop.DBus.NameHasOwner $app 2>/dev/null | grep -q true
}
uri="file://$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"
failed=0
echo "1..4"

if gdbus call --session --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus \
     --method org.freedesktop.DBus.ListActivatableNames | grep -q "'$app'"; then
  echo "ok 1 the bus can activate $app"
else
  echo "not ok 1 the bus can activate $app"
  echo "# no $app.service in $1"
  failed=1
fi

# Starts the app (--gapplication-service) and hands it the image, as a file manager would.
# The call waits for the app to start: gdbus's own limit (25 s unless told) is raised to the
# test's, since under the sanitizer suite's ASan with DWARF unwinding a start on a loaded
# machine took longer than 25 s.
if out=$(timeout 130 gdbus call --session --timeout 120 --dest $app --object-path $path \
           --method org.freedesktop.Application.Open "['$uri']" '{}' 2>&1); then
  echo "ok 2 Open($uri) activates the app"
else
  echo "not ok 2 Open($uri) activates the app"
  echo "# $out"
  failed=1
fi

# GtkApplication exports each window's actions at $path/window/N: the Open made a window.
window_found=0
for _ in $(seq 1 100); do
  if owned && gdbus introspect --session --dest $app --object-path $path/window 2>/dev/null | grep -q "node [0-9]"; then
    window_found=1
    break
  fi
  sleep 0.1
done
if [ $window_found -eq 1 ]; then
  echo "ok 3 a window was opened for the file"
else
  echo "not ok 3 a window was opened for the file"
  echo "# nothing exported under $path/window"
  failed=1
fi

# Still the instance that was started above (not a new one), and it goes away when told.
gone=0
if owned && timeout 30 gdbus call --session --dest $app --object-path $path \
     --method org.gtk.Actions.Activate quit '[]' '{}' >/dev/null 2>&1; then
  for _ in $(seq 1 100); do
    if ! owned; then
      gone=1
      break
    fi
    sleep 0.1
  done
fi
if [ $gone -eq 1 ]; then
  echo "ok 4 app.quit ends it"
else
  echo "not ok 4 app.quit ends it"
  echo "# $app was not running, or still owns its name after app.quit"
  failed=1
fi
exit $failed
