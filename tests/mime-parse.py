#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Parses a message with Python's email package and prints what it found as
JSON, so that the mail tests check Eventdesk's messages with a second MIME
implementation besides GMime.

  mime-parse.py FILE

prints {"defects": [...], "headers": {name: [decoded values]},
"raw_headers": {name: [values as written]}, "parts": [...]}, each part with
its content type, charset, disposition, file name, parameters and decoded
content (text for text parts).
"""

import email
import email.policy
import json
import sys


def describe(part):
    content = part.get_content()
    if isinstance(content, bytes):
        content = content.decode("utf-8", "replace")
    return {
        "content_type": part.get_content_type(),
        "charset": part.get_content_charset(),
        "disposition": part.get_content_disposition(),
        "filename": part.get_filename(),
        "params": {k: v for k, v in part.get_params()[1:]},
        "transfer_encoding": part.get("Content-Transfer-Encoding"),
        "content": content,
    }


def main():
    with open(sys.argv[1], "rb") as f:
        raw = f.read()

    message = email.message_from_bytes(raw, policy=email.policy.default)
    compat = email.message_from_bytes(raw, policy=email.policy.compat32)

    defects = [type(d).__name__ for d in message.defects]
    headers = {}
    raw_headers = {}
    for name, value in message.items():
        headers.setdefault(name, []).append(str(value))
    for name, value in compat.items():
        raw_headers.setdefault(name, []).append(str(value))

    parts = []
    structure = []
    for part in message.walk():
        defects += [type(d).__name__ for d in part.defects]
        structure.append(part.get_content_type())
        if not part.is_multipart():
            parts.append(describe(part))

    to = message["To"]
    json.dump({
        "defects": defects,
        "headers": headers,
        "raw_headers": raw_headers,
        "structure": structure,
        "to_display_name": to.addresses[0].display_name if to is not None else None,
        "to_address": to.addresses[0].addr_spec if to is not None else None,
        "parts": parts,
    }, sys.stdout, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
