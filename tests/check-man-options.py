#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every option a program's --help lists (and its commands' --help) is in its
manual page, so that the manuals keep up with the programs.

    check-man-options.py PROGRAM MANPAGE [COMMAND...]

COMMAND "auto" reads the commands from the program's own --help ("Commands:").
"""
import re
import subprocess
import sys


def help_text(argv):
    run = subprocess.run(argv + ["--help"], capture_output=True, text=True, timeout=30,
                         env={"LC_ALL": "C.UTF-8", "PATH": "/usr/bin:/bin"})
    return run.stdout + run.stderr


def main():
    program, manpage, *commands = sys.argv[1:]
    source = open(manpage, encoding="utf-8").read()
    top = help_text([program])
    if commands == ["auto"]:
        block = top.split("Commands:", 1)[1] if "Commands:" in top else ""
        commands = re.findall(r"^  ([a-z][a-z-]*)\s", block, re.M)
    texts = {"": top}
    for command in commands:
        texts[command] = help_text([program, command])

    missing = []
    for command, text in texts.items():
        for option in sorted(set(re.findall(r"(?<![\w-])--([a-z][a-z0-9-]*)", text))):
            if option == "help":
                continue
            escaped = "\\-\\-" + option.replace("-", "\\-")
            if escaped not in source:
                missing.append(f"--{option} ({program} {command} --help)".replace("  ", " "))
    if missing:
        print(f"{manpage} does not document:", *missing, sep="\n  ")
        return 1
    print(f"{manpage}: {sum(len(t) > 0 for t in texts.values())} help texts, every option documented")
    return 0


if __name__ == "__main__":
    sys.exit(main())
