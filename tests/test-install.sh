#!/bin/sh
# test-install.sh BUILD-DIR EXPECTED-LIST APP-ID
# Installs the build into a staging folder (meson install --destdir) and
# checks that everything lands in its place: exactly the files of
# EXPECTED-LIST, programs executable, the unit pointing at the installed
# daemon, the man pages with their version, and (once the app is built)
# the desktop file, metainfo and icon agreeing on the app ID.
set -eu

build=$1
expected=$2
app_id=$3

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
fail=0
bad() { echo "FAIL: $*" >&2; fail=1; }

prefix=$(meson introspect "$build" --buildoptions |
  python3 -c 'import json, sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"))')
version=$(meson introspect "$build" --projectinfo |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])')

meson install -C "$build" --destdir "$stage" --no-rebuild --quiet > "$stage.log" 2>&1 ||
  { cat "$stage.log"; rm -f "$stage.log"; bad "meson install failed"; exit 1; }
rm -f "$stage.log"
root="$stage$prefix"

# the list, both ways
(cd "$root" && find . \( -type f -o -type l \) | sed 's|^\./||' | LC_ALL=C sort) > "$stage/installed"
grep -v '^#' "$expected" | grep -v '^$' | sed "s|@APP_ID@|$app_id|g" | LC_ALL=C sort > "$stage/expected"
if ! diff -u "$stage/expected" "$stage/installed" > "$stage/diff"; then
  cat "$stage/diff" >&2
  bad "installed files differ from $expected (- missing, + not listed)"
fi
echo "$(wc -l < "$stage/installed") files installed under $prefix"

# programs
for program in bin/eventdeskctl sbin/eventdeskd; do
  [ -x "$root/$program" ] || bad "$program is not executable"
done
"$root/sbin/eventdeskd" --version | grep -qx "eventdeskd $version" || bad "installed eventdeskd does not say version $version"

# the unit starts the installed daemon
exec_start=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$root/lib/systemd/system/eventdeskd.service")
[ "$exec_start" = "$prefix/sbin/eventdeskd" ] || bad "eventdeskd.service starts $exec_start, not $prefix/sbin/eventdeskd"
grep -q '@[a-z]*@' "$root/lib/systemd/system/eventdeskd.service" && bad "eventdeskd.service has an unreplaced @variable@"

# man pages carry the version
for page in share/man/man1/eventdesk.1 share/man/man1/eventdeskctl.1 share/man/man8/eventdeskd.8; do
  grep -q "Eventdesk $version" "$root/$page" || bad "$page does not carry version $version"
done

# the desktop app's files, once it is built
desktop="$root/share/applications/$app_id.desktop"
if [ -f "$root/bin/eventdesk" ] || [ -f "$desktop" ]; then
  exec_line=$(sed -n 's/^Exec=\([^ ]*\).*/\1/p' "$desktop")
  [ -x "$root/bin/$exec_line" ] || bad "$app_id.desktop runs $exec_line, which is not installed in bin"
  grep -qx "Icon=$app_id" "$desktop" || bad "$app_id.desktop does not use the icon $app_id"
  [ -f "$root/share/icons/hicolor/scalable/apps/$app_id.svg" ] || bad "no scalable icon $app_id.svg"
  [ -f "$root/share/icons/hicolor/symbolic/apps/$app_id-symbolic.svg" ] || bad "no symbolic icon $app_id-symbolic.svg"
  grep -q "<id>$app_id</id>" "$root/share/metainfo/$app_id.metainfo.xml" || bad "the metainfo's id is not $app_id"
  grep -q "<launchable type=\"desktop-id\">$app_id.desktop</launchable>" "$root/share/metainfo/$app_id.metainfo.xml" ||
    bad "the metainfo does not launch $app_id.desktop"
  grep -q '^Name\[de\]=' "$desktop" || bad "$app_id.desktop has no German translation"
fi

[ $fail -eq 0 ] && echo "installed files: all in place"
exit $fail
