#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Builds and runs the guest-list benchmark (500,000 guests, a few minutes).
# BUILDDIR picks the meson build directory; arguments go to bench-guests
# (--guests N, --repeat N, --keep, --eventdeskd PATH).
set -eu

builddir=$(cd "${BUILDDIR:-$(dirname "$0")/../../build}" && pwd)

ninja -C "$builddir" tests/bench/bench-guests src/server/eventdeskd
exec "$builddir/tests/bench/bench-guests" --eventdeskd "$builddir/src/server/eventdeskd" "$@"
