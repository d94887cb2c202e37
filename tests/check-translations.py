#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Each translation in po/LINGUAS that is meant to be complete translates
every string of the sources: the strings are extracted afresh with xgettext
(the keywords of po/meson.build and meson's glib preset), merged with the
.po file, and any untranslated or fuzzy message fails the test, by name.

    check-translations.py SOURCE_ROOT LANGUAGE...
"""
import os
import re
import subprocess
import sys
import tempfile

# meson's i18n "glib" preset
GLIB_PRESET = [
    "--from-code=UTF-8", "--add-comments",
    "--keyword=_", "--keyword=N_", "--keyword=C_:1c,2", "--keyword=NC_:1c,2",
    "--keyword=g_dcgettext:2", "--keyword=g_dngettext:2,3", "--keyword=g_dpgettext2:2c,3",
    "--flag=N_:1:pass-c-format", "--flag=C_:2:pass-c-format", "--flag=NC_:2:pass-c-format",
    "--flag=g_dngettext:2:pass-c-format", "--flag=g_strdup_printf:1:c-format",
    "--flag=g_string_printf:2:c-format", "--flag=g_string_append_printf:2:c-format",
    "--flag=g_error_new:3:c-format", "--flag=g_set_error:4:c-format",
]


def msgids(po_text):
    """The msgids of a .po text, continuation lines joined, without the header."""
    found = []
    for block in po_text.split("\n\n"):
        match = re.search(r'^msgid ((?:".*"\n?)+)', block, re.M)
        if match:
            text = "".join(re.findall(r'"(.*)"', match.group(1)))
            if text:
                found.append(text)
    return found


def main():
    root, *languages = sys.argv[1:]
    meson = open(os.path.join(root, "po", "meson.build"), encoding="utf-8").read()
    keywords = re.findall(r"'(--keyword=[^']+)'", meson)
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        pot = os.path.join(tmp, "eventdesk.pot")
        subprocess.run(["xgettext", "--package-name=eventdesk", "-o", pot, "--directory", root,
                        "--files-from", os.path.join(root, "po", "POTFILES.in"), *GLIB_PRESET, *keywords],
                       check=True)
        for language in languages:
            merged = os.path.join(tmp, language + ".po")
            subprocess.run(["msgmerge", "--quiet", "--no-fuzzy-matching", "-o", merged,
                            os.path.join(root, "po", language + ".po"), pot], check=True)
            untranslated = subprocess.run(["msgattrib", "--untranslated", "--no-obsolete", merged],
                                          capture_output=True, text=True, check=True).stdout
            fuzzy = subprocess.run(["msgattrib", "--only-fuzzy", "--no-obsolete", merged],
                                   capture_output=True, text=True, check=True).stdout
            missing = msgids(untranslated) + msgids(fuzzy)
            if missing:
                failed = True
                print(f"po/{language}.po lacks {len(missing)} translations:")
                for msgid in missing:
                    print("  " + msgid)
            else:
                stats = subprocess.run(["msgfmt", "--statistics", "-o", os.devnull, merged],
                                       capture_output=True, text=True).stderr.strip()
                print(f"po/{language}.po: {stats}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
