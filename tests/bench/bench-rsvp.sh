#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Builds and runs the RSVP benchmark (about half a minute): wrk posts
# accepts over 12,000 guest tokens at an event of capacity 5,000, then
# hits /healthz on the same daemon. Needs wrk (apt-get install wrk).
# BUILDDIR picks the meson build directory; arguments go to bench-rsvp
# (--guests N, --capacity N, --duration S, --connections N, --threads N,
# --keep, --eventdeskd PATH, --wrk PATH).
set -eu

builddir=$(cd "${BUILDDIR:-$(dirname "$0")/../../build}" && pwd)

ninja -C "$builddir" tests/bench/bench-rsvp src/server/eventdeskd
exec "$builddir/tests/bench/bench-rsvp" --eventdeskd "$builddir/src/server/eventdeskd" "$@"
