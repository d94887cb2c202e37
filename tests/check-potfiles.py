#!/usr/bin/env python3
# check-potfiles.py SOURCE-ROOT
# po/POTFILES.in must list every file under src/ and data/ with strings for
# translators (_(), N_(), C_(), NC_(), the ngettext family, the RSVP pages'
# ed_catalog_*() and translatable="yes" in .ui files), and only files that
# exist: a file missing from it leaves its strings untranslated without any
# other sign. Also fails on a marked string glued to a macro
# (_("… " SOME_MACRO " …")): xgettext extracts only the part before the
# macro, so the whole string is never found in a catalogue.
import os
import re
import sys

root = sys.argv[1]

C_MARKERS = re.compile(
    r'(?<![A-Za-z0-9_])(?:_|N_|C_|NC_|Q_|g_dgettext|g_dngettext|g_dpgettext2?|ngettext|'
    r'ed_catalog_gettext|ed_catalog_pgettext|ed_catalog_ngettext)\s*\(')
UI_MARKER = re.compile(r'translatable\s*=\s*["\']yes["\']')
# data files whose strings msgfmt merges back (desktop file, metainfo, schema)
DATA_SUFFIXES = ('.desktop.in', '.metainfo.xml.in', '.gschema.xml')


def strip_c_comments_and_strings(text):
    # markers inside comments or string literals do not count
    text = re.sub(r'/\*.*?\*/', ' ', text, flags=re.S)
    text = re.sub(r'//[^\n]*', ' ', text)
    text = re.sub(r'"(?:\\.|[^"\\\n])*"', '""', text)
    return text


def has_marked_string(code):
    # a call of a marker with a string literal among its arguments, so that
    # the markers' own definitions and prototypes do not count
    for match in C_MARKERS.finditer(code):
        depth = 0
        for i in range(match.end() - 1, len(code)):
            if code[i] == '(':
                depth += 1
            elif code[i] == ')':
                depth -= 1
                if depth == 0:
                    if '""' in code[match.end():i]:
                        return True
                    break
    return False


def needs_translation(path):
    if path.endswith(('.c', '.h')):
        with open(os.path.join(root, path), encoding='utf-8') as f:
            return has_marked_string(strip_c_comments_and_strings(f.read()))
    if path.endswith('.ui'):
        with open(os.path.join(root, path), encoding='utf-8') as f:
            return UI_MARKER.search(f.read()) is not None
    if path.endswith(DATA_SUFFIXES):
        return True
    return False


GLUED_MACRO = re.compile(
    r'(?<![A-Za-z0-9_])(?:_|N_|C_|NC_|Q_)\s*\((?:[^()]*?,)?\s*""\s*([A-Z][A-Z0-9_]+)\b')


def glued_macros(path):
    with open(os.path.join(root, path), encoding='utf-8') as f:
        code = strip_c_comments_and_strings(f.read())
    return GLUED_MACRO.findall(code)


found = set()
glued = []
for top in ('src', 'data'):
    for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith('.'))
        for name in filenames:
            path = os.path.relpath(os.path.join(dirpath, name), root)
            if needs_translation(path):
                found.add(path)
            if path.endswith(('.c', '.h')):
                glued += [(path, macro) for macro in glued_macros(path)]

listed = []
with open(os.path.join(root, 'po', 'POTFILES.in'), encoding='utf-8') as f:
    for line in f:
        line = line.strip()
        if line and not line.startswith('#'):
            listed.append(line)

failures = []
for path in sorted(found - set(listed)):
    failures.append(f'po/POTFILES.in: {path} has translatable strings but is not listed')
for path in listed:
    if not os.path.exists(os.path.join(root, path)):
        failures.append(f'po/POTFILES.in: {path} is listed but does not exist')
for path in sorted(set(p for p in listed if listed.count(p) > 1)):
    failures.append(f'po/POTFILES.in: {path} is listed more than once')

for path, macro in glued:
    failures.append(f'{path}: a translatable string is glued to {macro}; xgettext cannot '
                    'see through it: spell the value out, or format it in with %s')

for failure in failures:
    print(failure, file=sys.stderr)
print(f'{len(found)} files with translatable strings, {len(listed)} listed')
sys.exit(1 if failures else 0)
