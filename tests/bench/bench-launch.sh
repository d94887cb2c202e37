#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Builds eventdeskd and runs the launch benchmark (500,000 guests, about a
# minute): the time to launch a campaign to all of them, /healthz latency
# meanwhile, and what the counter triggers cost. BUILDDIR picks the meson
# build directory; arguments go to bench-launch.py (--guests N, --keep).
set -eu

builddir=$(cd "${BUILDDIR:-$(dirname "$0")/../../build}" && pwd)

ninja -C "$builddir" src/server/eventdeskd
exec python3 "$(dirname "$0")/bench-launch.py" --eventdeskd "$builddir/src/server/eventdeskd" "$@"
