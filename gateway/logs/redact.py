"""Passwords never reach a log: every line passes through `redact` before it is written.

Kannel logs the admin URL (`?password=…`), sendsms URLs (`&password=…`, `&pass=…`) and request
headers at debug level; an operator who raises `log-level` to 0 for a morning must not end up
with every customer's credentials in a file that is mailed around. The patterns cover what our
own writers could ever print: query and form parameters, kannel.conf lines, JSON fields, HTTP
`Authorization` / `Proxy-Authorization` headers and credentials inside URLs.

Only the value goes: the key stays, so a reader still sees *that* a password was given.
"""

from __future__ import annotations

import re

#: What a removed secret is replaced with.
MASK = "***"

# Names whose values are secrets, in query strings, forms, kannel.conf and JSON.
_NAMES = (
    r"(?:admin-|status-|smsc-|sendsms-|redis-|dlr-)?"
    r"(?:password|passwd|pass|pwd|secret|token|api[-_]?key)"
)

_QUERY = re.compile(rf"(?i)(?<![A-Za-z0-9_-])({_NAMES})(=)[^&\s;'\"<>]*")
_CONF = re.compile(rf"(?im)^(\s*{_NAMES}\s*=\s*)(\S.*?)(\s*)$")
_JSON = re.compile(rf"(?i)(\"{_NAMES}\"\s*:\s*\")(?:[^\"\\]|\\.)*(\")")
_HEADER = re.compile(r"(?i)((?:proxy-)?authorization\s*:\s*)[^\r\n]*")
_USERINFO = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^/\s:@]*:)[^/\s@]*(@)")


def redact(text: str) -> str:
    """`text` with every password-like value replaced by `***`."""
    if not text:
        return text
    text = _HEADER.sub(rf"\g<1>{MASK}", text)
    text = _USERINFO.sub(rf"\g<1>{MASK}\g<2>", text)
    text = _JSON.sub(rf"\g<1>{MASK}\g<2>", text)
    text = _CONF.sub(rf"\g<1>{MASK}\g<3>", text)
    return _QUERY.sub(rf"\g<1>\g<2>{MASK}", text)


def redact_bytes(data: bytes) -> bytes:
    """`redact` for octets (access logs hold raw request text): Latin-1 maps every octet to
    one character and back, so nothing else in the line changes."""
    return redact(data.decode("latin-1")).encode("latin-1")
