#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# The desktop app's guest list with 500,000 guests, under Xvfb (a few
# minutes, most of it filling the daemon). BUILDDIR picks the meson build
# directory; arguments go to bench-app-guests (--guests N).
set -eu

top=$(cd "$(dirname "$0")/../.." && pwd)
builddir=$(cd "${BUILDDIR:-$top/build}" && pwd)

ninja -C "$builddir" tests/bench/bench-app-guests src/server/eventdeskd
EVENTDESKD="$builddir/src/server/eventdeskd" \
  exec "$top/tests/app/run-in-session" "$builddir/tests/bench/bench-app-guests" "$@"
