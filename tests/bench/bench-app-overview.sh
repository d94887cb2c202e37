#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# The desktop app's Overview page fed about ten live updates a second for
# a minute, under Xvfb: the app's CPU use and memory. BUILDDIR picks the
# meson build directory; arguments go to bench-app-overview (--seconds S,
# --rate N).
set -eu

# Xvfb has no GPU: GTK's default GL renderer would draw with Mesa's
# software rasterizer (llvmpipe), and the app's CPU would pay for what a
# desktop's GPU does. The Cairo renderer draws on the CPU as GTK does
# without GL, and only what changed. GSK_RENDERER=gl measures the other.
export GSK_RENDERER="${GSK_RENDERER:-cairo}"

top=$(cd "$(dirname "$0")/../.." && pwd)
builddir=$(cd "${BUILDDIR:-$top/build}" && pwd)

ninja -C "$builddir" tests/bench/bench-app-overview src/server/eventdeskd data/gschemas.compiled
EVENTDESKD="$builddir/src/server/eventdeskd" GSETTINGS_SCHEMA_DIR="$builddir/data" \
  exec "$top/tests/app/run-in-session" "$builddir/tests/bench/bench-app-overview" "$@"
