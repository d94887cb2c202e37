#!/bin/sh
# check-service.sh SERVICE.in EVENTDESKD SYSUSERS.conf
# Checks the systemd unit the way systemd reads it: `systemd-analyze verify`
# (syntax, directives, the ExecStart binary) and `systemd-analyze security`
# (the sandbox), failing when the exposure rises above 2.0 ("OK" is < 2.5);
# and that the sysusers.d file creates the User= and Group= the unit runs as.
# The unit's ExecStart points at this build's eventdeskd for the check.
set -eu

service_in=$1
eventdeskd=$2
sysusers=$3
threshold=20   # tenths: 2.0

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

sed -e "s|@sbindir@|$(dirname "$eventdeskd")|" -e "s|@docdir@|/usr/share/doc/eventdesk|" \
  "$service_in" > "$dir/eventdeskd.service"

# --man=no: the man page is checked by the install test, not installed yet
systemd-analyze verify --man=no "$dir/eventdeskd.service"
echo "systemd-analyze verify: ok"

if ! systemd-analyze security --offline=yes --threshold=$threshold "$dir/eventdeskd.service" > "$dir/security.txt" 2>&1; then
  cat "$dir/security.txt"
  echo "systemd-analyze security: exposure above $threshold/100" >&2
  exit 1
fi
grep -E '✗|Overall exposure' "$dir/security.txt"

# the unit's user and group, made by its sysusers.d file in an empty root
mkdir -p "$dir/root/etc"
systemd-sysusers --root="$dir/root" "$(cd "$(dirname "$sysusers")" && pwd)/$(basename "$sysusers")" > /dev/null 2>&1
user=$(sed -n 's/^User=//p' "$dir/eventdeskd.service")
group=$(sed -n 's/^Group=//p' "$dir/eventdeskd.service")
grep -q "^$user:.*:/usr/sbin/nologin\$" "$dir/root/etc/passwd" ||
  { echo "sysusers: $sysusers does not create the login-less user $user" >&2; exit 1; }
grep -q "^$group:" "$dir/root/etc/group" ||
  { echo "sysusers: $sysusers does not create the group $group" >&2; exit 1; }
echo "sysusers: creates $user:$group"
