#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# The desktop app's Overview page fed about ten live updates a second for
# a minute, under Xvfb: the app's CPU use and memory. BUILDDIR picks the
# meson build directory; arguments go to bench-app-overview (--seconds S,
# --rate N).
#
# The app draws with the renderer it picks by itself, as a user's does
# (ed-renderer-util.c: Cairo where the only OpenGL is a software one, as
# under Xvfb); a GSK_RENDERER set for the run wins, as it does for a user.
# Then, unless GSK_RENDERER was set or GL_REFERENCE=0, a shorter run with
# GTK's GL renderer, for reference only: what the app would cost on this
# machine without its choice.
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
builddir=$(cd "${BUILDDIR:-$top/build}" && pwd)

ninja -C "$builddir" tests/bench/bench-app-overview src/server/eventdeskd data/gschemas.compiled

run() {
  EVENTDESKD="$builddir/src/server/eventdeskd" GSETTINGS_SCHEMA_DIR="$builddir/data" \
    "$top/tests/app/run-in-session" "$builddir/tests/bench/bench-app-overview" "$@"
}

status=0
run "$@" || status=$?

if [ -z "${GSK_RENDERER:-}" ] && [ "${GL_REFERENCE:-1}" != 0 ]; then
  echo
  echo "for reference only, GTK's GL renderer (GSK_RENDERER=gl), 20 s:"
  GSK_RENDERER=gl run "$@" --seconds 20 | grep -E '^(renderer|load average|live updates|frames painted:|app CPU|app VmRSS)' || true
fi
exit $status
