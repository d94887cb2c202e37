#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Builds and runs the import benchmark (500,000 rows, about a minute).
# BUILDDIR picks the meson build directory; arguments go to bench-import
# (--rows N, --keep, --eventdeskd PATH). Needs the sqlite3 program.
set -eu

builddir=$(cd "${BUILDDIR:-$(dirname "$0")/../../build}" && pwd)

ninja -C "$builddir" tests/bench/bench-import src/server/eventdeskd
exec "$builddir/tests/bench/bench-import" --eventdeskd "$builddir/src/server/eventdeskd" "$@"
