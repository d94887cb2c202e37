#!/usr/bin/env python3
# check-flatpak-manifest.py MANIFEST SOURCE-ROOT
# The Flatpak manifest cannot be built here (no GNOME runtime), so this
# checks what can go wrong without building it: it parses; its app ID,
# command, runtime and permissions; the last module builds this project with
# meson, with -D options meson_options.txt defines and values they accept;
# every dependency() of the meson files is in the runtime or built by a
# module before the project (build-aux/flatpak/README.md has the evidence).
import json
import os
import re
import sys

manifest_path, root = sys.argv[1], sys.argv[2]

APP_ID = 'org.eventdesk.Eventdesk.Devel'
COMMAND = 'eventdesk'
RUNTIME = 'org.gnome.Platform'
SDK = 'org.gnome.Sdk'
FINISH_ARGS = {
    '--share=network',
    '--share=ipc',
    '--socket=wayland',
    '--socket=fallback-x11',
    '--talk-name=org.freedesktop.secrets',
}
# pkg-config names org.gnome.Platform 46 provides (see the README's table)
RUNTIME_PROVIDES = {
    'glib-2.0', 'gobject-2.0', 'gio-2.0', 'gio-unix-2.0', 'libsoup-3.0',
    'json-glib-1.0', 'sqlite3', 'libcurl', 'libcrypt', 'gtk4', 'libadwaita-1',
    'libsecret-1',
    # WebKitGTK's GTK 4 API, for the campaign preview: the GNOME runtime
    # ships it as sdk/webkitgtk-6.0.bst, so no module builds it
    'webkitgtk-6.0',
    # libepoxy, which GTK itself links: freedesktop-sdk's platform.bst
    # lists components/libepoxy.bst
    'epoxy',
}
# pkg-config names each module of the manifest installs
MODULE_PROVIDES = {
    'jansson': {'jansson'},
    'libjwt': {'libjwt'},
    'gmime': {'gmime-3.0'},
}
# a module's own needs, built before it
MODULE_NEEDS = {
    'libjwt': {'jansson'},
}

failures = []


def fail(message):
    failures.append(message)


try:
    with open(manifest_path, encoding='utf-8') as f:
        manifest = json.load(f)
except (OSError, ValueError) as e:
    sys.exit(f'{manifest_path}: does not parse: {e}')

name = os.path.basename(manifest_path)
if name != manifest.get('app-id', '') + '.json':
    fail(f'{name}: the file is not named after its app-id {manifest.get("app-id")!r}')
for key, want in (('app-id', APP_ID), ('command', COMMAND), ('runtime', RUNTIME), ('sdk', SDK)):
    if manifest.get(key) != want:
        fail(f'{name}: {key} is {manifest.get(key)!r}, not {want!r}')
if not str(manifest.get('runtime-version', '')).isdigit() or int(manifest['runtime-version']) < 45:
    fail(f'{name}: runtime-version {manifest.get("runtime-version")!r} is not GNOME 45 or later '
         '(GTK >= 4.8 and libadwaita >= 1.2 are needed)')

finish_args = manifest.get('finish-args', [])
for arg in sorted(set(finish_args) - FINISH_ARGS):
    fail(f'{name}: finish-args has {arg}, a permission the app does not need')
for arg in sorted(FINISH_ARGS - set(finish_args)):
    fail(f'{name}: finish-args lacks {arg}')

modules = manifest.get('modules', [])
if not modules or not isinstance(modules[-1], dict):
    sys.exit(f'{name}: no modules')

# the last module: this project
project = modules[-1]
if project.get('name') != 'eventdesk' or project.get('buildsystem') != 'meson':
    fail(f'{name}: the last module is not "eventdesk" built with meson')
sources = project.get('sources', [])
dirs = [s for s in sources if s.get('type') == 'dir']
if len(dirs) != 1 or os.path.realpath(os.path.join(os.path.dirname(manifest_path), dirs[0].get('path', ''))) \
        != os.path.realpath(root):
    fail(f'{name}: the last module\'s source is not this project\'s folder')

# its options against meson_options.txt
options_text = open(os.path.join(root, 'meson_options.txt'), encoding='utf-8').read()
options = {}
for m in re.finditer(r"option\(\s*'([^']+)'\s*,\s*type\s*:\s*'([^']+)'(.*?)\)\s*$", options_text, re.S | re.M):
    choices = re.search(r"choices\s*:\s*\[([^\]]*)\]", m.group(3))
    options[m.group(1)] = (m.group(2), re.findall(r"'([^']*)'", choices.group(1)) if choices else None)
if not options:
    fail('meson_options.txt: no options found')
for opt in project.get('config-opts', []):
    m = re.fullmatch(r'-D([A-Za-z0-9_-]+)=(.*)', opt)
    if not m:
        fail(f'{name}: config-opt {opt!r} is not -DNAME=VALUE')
        continue
    key, value = m.groups()
    if key not in options:
        fail(f'{name}: config-opt -D{key} is not an option of meson_options.txt')
        continue
    kind, choices = options[key]
    if kind == 'boolean' and value not in ('true', 'false'):
        fail(f'{name}: -D{key}={value}: {key} is a boolean')
    if kind == 'combo' and value not in choices:
        fail(f'{name}: -D{key}={value}: {key} takes one of {", ".join(choices)}')
if '-Dprofile=development' not in project.get('config-opts', []):
    fail(f'{name}: the .Devel manifest does not build -Dprofile=development')

# every dependency() is satisfied, and each module's needs come before it
provided = set(RUNTIME_PROVIDES)
for module in modules[:-1]:
    module_name = module.get('name')
    if module_name not in MODULE_PROVIDES:
        fail(f'{name}: module {module_name!r} is not known to this test (add what it provides)')
        continue
    for need in MODULE_NEEDS.get(module_name, ()):
        if need not in provided:
            fail(f'{name}: module {module_name} needs {need}, which no earlier module or the runtime gives')
    for source in module.get('sources', []):
        if source.get('type') == 'archive' and not re.fullmatch(r'[0-9a-f]{64}', source.get('sha256', '')):
            fail(f'{name}: module {module_name}: archive without a sha256')
        if source.get('type') == 'git' and not re.fullmatch(r'[0-9a-f]{40}', source.get('commit', '')):
            fail(f'{name}: module {module_name}: git source without a commit')
    provided |= MODULE_PROVIDES[module_name]

needed = {}
for dirpath, dirnames, filenames in os.walk(root):
    rel = os.path.relpath(dirpath, root)
    dirnames[:] = [d for d in dirnames
                   if not d.startswith('.') and d not in ('subprojects',)
                   and not os.path.exists(os.path.join(dirpath, d, 'meson-private'))]
    if 'meson.build' in filenames:
        text = open(os.path.join(dirpath, 'meson.build'), encoding='utf-8').read()
        for m in re.finditer(r"(?<![A-Za-z_])dependency\(\s*'([^']+)'", text):
            needed.setdefault(m.group(1), os.path.join(rel, 'meson.build'))
if not needed:
    fail('no dependency() found in the meson files')
for dep, where in sorted(needed.items()):
    if dep not in provided:
        fail(f'{where}: dependency {dep!r} is neither in {RUNTIME} nor built by a module of {name}')

for failure in failures:
    print(failure, file=sys.stderr)
print(f'{name}: {len(modules)} modules, {len(needed)} dependencies checked')
sys.exit(1 if failures else 0)
