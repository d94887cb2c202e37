#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Writes the seed corpora of fuzz-token, fuzz-email and fuzz-json into
corpus/. The token seeds are signed with fuzz-token's fixed key, so that
mutations of them get past the signature check. Run from anywhere; the
files it writes are committed, so run it only to change the seeds."""

import base64
import hashlib
import hmac
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
KEY = b"eventdesk-fuzz-key-0123456789ab\0"  # fuzz-token.c's key_bytes


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def token(header, claims, digest=hashlib.sha256, key=KEY, sign=True):
    signing_input = (b64(json.dumps(header, separators=(",", ":")).encode()) + "." +
                     b64(json.dumps(claims, separators=(",", ":")).encode()))
    if not sign:
        return signing_input + "."
    return signing_input + "." + b64(hmac.new(key, signing_input.encode(), digest).digest())


def write(target, name, data):
    os.makedirs(os.path.join(HERE, "corpus", target), exist_ok=True)
    with open(os.path.join(HERE, "corpus", target, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


HS256 = {"alg": "HS256", "typ": "JWT"}
SESSION = {"typ": "session", "exp": 1900000000, "iat": 1799990000,
           "jti": "00112233445566778899aabbccddeeff", "sub": "alice", "aid": 1}
RSVP = {"typ": "rsvp", "exp": 1900000000, "iat": 1799990000, "evt": 12, "gst": 345, "ver": 1}

TOKENS = {
    "seed-session": token(HS256, SESSION),
    "seed-rsvp": token(HS256, RSVP),
    "seed-session-expired": token(HS256, dict(SESSION, exp=1700000000)),
    "seed-rsvp-zero-guest": token(HS256, dict(RSVP, gst=0)),
    "seed-rsvp-as-session": token(HS256, dict(RSVP, typ="session")),
    "seed-exp-text": token(HS256, dict(SESSION, exp="1900000000")),
    "seed-exp-float": token(HS256, dict(SESSION, exp=1.9e9)),
    "seed-no-exp": token(HS256, {k: v for k, v in SESSION.items() if k != "exp"}),
    "seed-alg-none": token({"alg": "none", "typ": "JWT"}, SESSION, sign=False),
    "seed-alg-none-caps": token({"alg": "NONE"}, SESSION),
    "seed-hs512": token({"alg": "HS512", "typ": "JWT"}, SESSION, hashlib.sha512),
    "seed-hs384": token({"alg": "HS384"}, SESSION, hashlib.sha384),
    "seed-rs256-confusion": token({"alg": "RS256", "typ": "JWT"}, SESSION),
    "seed-other-key": token(HS256, SESSION, key=b"x" * 32),
    "seed-header-array": b64(b"[1,2]") + "." + b64(b"{}") + ".abc",
    "seed-nested-alg": b64(b'{"alg":{"alg":"HS256"}}') + "." + b64(json.dumps(SESSION).encode()) + ".abc",
    "seed-two-parts": "eyJhbGciOiJIUzI1NiJ9.e30",
    "seed-four-parts": "a.b.c.d",
    "seed-padding": token(HS256, SESSION) + "==",
    "seed-empty": "",
    "seed-dots": "..",
}

EMAILS = {
    "seed-plain": "guest@example.com",
    "seed-plus": "first.last+tag@sub.example.org",
    "seed-idn": "jürgen@münchen.de",
    "seed-upper-idn": "x@İSTANBUL.COM.TR",
    "seed-sharp-s": "a@STRAẞE.de",
    "seed-ip": "a@127.0.0.1",
    "seed-bracket": "a@[127.0.0.1]",
    "seed-two-at": "a@b@c.com",
    "seed-no-at": "guest.example.com",
    "seed-dots": "a..b@example.com",
    "seed-lead-dot": ".a@example.com",
    "seed-hyphen": "a@-example.com",
    "seed-long-label": "a@" + "b" * 64 + ".com",
    "seed-long-local": "l" * 65 + "@example.com",
    "seed-longest": "l" * 64 + "@" + ".".join(["d" * 61] * 3) + ".de",
    "seed-space": "a b@example.com",
    "seed-quoted": '"a b"@example.com',
    "seed-atext": "!#$%&'*+-/=?^_`{|}~@example.com",
    "seed-trailing-dot": "a@example.com.",
    "seed-numeric-tld": "a@example.123",
    "seed-empty": "",
    "seed-nul": "a\0@example.com",
}

BODIES = {
    "seed-event": {"name": "Winter Gala", "description": "Black tie.\nDinner at eight.",
                   "venue": "Grand Hall", "timezone": "Europe/Berlin",
                   "starts_at": "2026-12-31T19:00:00+01:00", "ends_at": "2027-01-01T02:00:00+01:00",
                   "rsvp_deadline": "2026-12-15T00:00:00Z", "capacity": 120,
                   "waitlist_enabled": False, "max_party_size": 4},
    "seed-guest": {"email": "guest@example.com", "first_name": "Ada", "last_name": "Lovelace",
                   "extra": {"table": "7"}},
    "seed-login": {"username": "admin", "password": "  spaces kept  "},
    "seed-types": {"name": 5, "capacity": "12", "waitlist_enabled": "yes", "starts_at": 0, "ends_at": None},
    "seed-nulls": {"name": None, "description": None, "rsvp_deadline": None},
    "seed-unknown": {"nmae": "typo", "__proto__": {}, "": 1},
    "seed-big-int": {"capacity": 99999999999999999999, "max_party_size": -1},
    "seed-local-time": {"starts_at": "2026-12-31T19:00:00", "ends_at": "2026-02-30T25:61:00Z"},
    "seed-control": {"name": "a\u0001b", "venue": "line\nbreak", "description": "tab\there\r\n"},
}

RAW_BODIES = {
    "seed-array": "[1,2,3]",
    "seed-deep": "{\"a\":" * 40 + "1" + "}" * 40,
    "seed-invalid-utf8": b"{\"name\":\"\xff\"}",
    "seed-escaped-nul": '{"name":"a\\u0000b"}',
    "seed-lone-surrogate": '{"name":"\\ud800"}',
    "seed-empty": "",
    "seed-trailing": '{"name":"x"} {',
    "seed-duplicate": '{"name":"a","name":"b"}',
    "seed-brackets-in-string": '{"name":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}',
}

for name, value in TOKENS.items():
    write("token", name, value)
for name, value in EMAILS.items():
    write("email", name, value)
for name, value in BODIES.items():
    write("json", name, json.dumps(value, ensure_ascii=False))
for name, value in RAW_BODIES.items():
    write("json", name, value)
