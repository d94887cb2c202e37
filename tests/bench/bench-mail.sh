#!/bin/sh
# SPDX-License-Identifier: GPL-3.0-or-later
# Builds eventdeskd and runs the mail benchmark: a campaign to 100,000
# guests (500,000 with --full) delivered to Postfix's smtp-sink on
# loopback, smtp-source against the same sink as the ceiling, /healthz
# while sending. BUILDDIR picks the meson build directory; arguments go to
# bench-mail.py (--full, --guests N, --connections N, --max-messages N,
# --keep).
set -eu

builddir=$(cd "${BUILDDIR:-$(dirname "$0")/../../build}" && pwd)

ninja -C "$builddir" src/server/eventdeskd
exec python3 "$(dirname "$0")/bench-mail.py" --eventdeskd "$builddir/src/server/eventdeskd" "$@"
