#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Builds and runs the live-feed benchmark (a few minutes): RSVP throughput
# with and without 200 WebSocket subscribers, their update latency, and
# timelines over 500,000 guests with a full history. Needs wrk (apt-get
# install wrk). BUILDDIR picks the meson build directory; arguments go to
# bench-live (--subscribers N, --duration S, --guests N, --timeline-guests N,
# --connections N, --keep, --eventdeskd PATH, --wrk PATH).
set -eu

builddir=$(cd "${BUILDDIR:-$(dirname "$0")/../../build}" && pwd)

ninja -C "$builddir" tests/bench/bench-live src/server/eventdeskd
exec "$builddir/tests/bench/bench-live" --eventdeskd "$builddir/src/server/eventdeskd" "$@"
