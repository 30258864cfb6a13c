"""Typed values from kannel.conf text, read as Kannel's `cfg_get_*` functions read them.

* Integers: `strtol` with base 0, as `cfg_get_integer` uses, so `0x1F` is hex and a leading
  `0` means octal (`010` is 8; a warning says so, since that surprises). Kannel ignores
  trailing garbage (`10abc` is 10) and treats an unparsable value as unset; here both are
  errors, because a typo silently falling back to a default is how outages start.
* Booleans: `true`, `yes`, `on`, `1` / `false`, `no`, `off`, `0`, any case
  (`cfg_get_bool`). Anything else is true with a warning, exactly as Kannel ("bool variable
  set to strange value, assuming 'true'").
* Lists: `;`-separated, as Kannel's consumers split them; items are stripped and empty items
  dropped (Kannel keeps the blanks, so `"a; b"` never matched ` b` there).
* Regular expressions: Kannel compiles POSIX extended expressions with glibc's `regcomp`
  and matches them with `regexec`, which searches anywhere. `posix_to_python` translates the
  syntax that differs (bracket classes like `[[:digit:]]`, a backslash inside brackets,
  glibc's `\\<`, `\\>`, `` \\` ``, `\\'`, and an escaped letter glibc does not know, which
  is that letter: `\\d` is `d` in Kannel, not a digit, and a warning says so), and the
  result is compiled with `re.ASCII` (glibc in the C locale). Patterns are searched
  (`Pattern.search`). What still differs: POSIX picks the leftmost *longest* match and
  Python the leftmost *first*, which only changes what a match spans, never whether there
  is one, and Kannel only asks whether there is one.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable

__all__ = [
    "ValueProblem",
    "parse_int",
    "parse_bool",
    "parse_float",
    "parse_list",
    "parse_size",
    "posix_to_python",
    "compile_regex",
    "regex_source",
]


class ValueProblem(ValueError):
    """A value that cannot be read; the loader adds the file, line and key."""


_INT = re.compile(r"[+-]?(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)")

TRUE_WORDS = frozenset({"true", "yes", "on", "1"})
FALSE_WORDS = frozenset({"false", "no", "off", "0"})


def parse_int(text: str, warn: Callable[[str], None]) -> int:
    """An integer as `strtol(text, NULL, 0)` reads it, refusing trailing garbage."""
    value = text.strip()
    if not _INT.fullmatch(value):
        raise ValueProblem(f"expected an integer, got '{text}'")
    sign = -1 if value.startswith("-") else 1
    digits = value.lstrip("+-")
    if digits[:2].lower() == "0x":
        return sign * int(digits[2:], 16)
    if len(digits) > 1 and digits.startswith("0"):
        number = sign * int(digits, 8)
        if number != sign * int(digits, 10):
            warn(f"'{text}' has a leading 0, so Kannel reads it as octal: {number}")
        return number
    return sign * int(digits, 10)


def parse_bool(text: str, warn: Callable[[str], None]) -> bool:
    """A boolean as `cfg_get_bool` reads it (strange values are true, with a warning)."""
    word = text.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    warn(f"'{text}' is not a boolean (true/false, yes/no, on/off, 1/0); Kannel assumes "
         "true, and so does Passerelle")
    return True


def parse_float(text: str) -> float:
    """A decimal number (Kannel's `throughput`)."""
    try:
        value = float(text.strip())
    except ValueError:
        raise ValueProblem(f"expected a number, got '{text}'") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueProblem(f"expected a finite number, got '{text}'")
    return value


def parse_list(text: str) -> tuple[str, ...]:
    """A `;`-separated list, items stripped, empty items dropped."""
    return tuple(item.strip() for item in text.split(";") if item.strip())


_SIZE = re.compile(r"([0-9]+)\s*([kKmMgGtT]?)[bB]?")
_SIZE_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}


def parse_size(text: str) -> int:
    """A byte count, optionally with a K, M, G or T suffix (powers of 1024): `64M`."""
    match = _SIZE.fullmatch(text.strip())
    if not match:
        raise ValueProblem(f"expected a size in bytes (like 65536 or 64M), got '{text}'")
    return int(match.group(1)) * _SIZE_UNITS[match.group(2).lower()]


_CLASSES = {
    "alnum": "a-zA-Z0-9",
    "alpha": "a-zA-Z",
    "blank": " \\t",
    "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9",
    "graph": "\\x21-\\x7e",
    "lower": "a-z",
    "print": "\\x20-\\x7e",
    "punct": "!-/:-@\\[-`{-~",
    "space": " \\t\\n\\r\\f\\v",
    "upper": "A-Z",
    "xdigit": "0-9A-Fa-f",
}

#: glibc escapes that mean the same in Python's re, or have a Python equivalent.
_ESCAPES = {"w": "\\w", "W": "\\W", "s": "\\s", "S": "\\S", "b": "\\b", "B": "\\B",
            "<": "\\b", ">": "\\b", "`": "\\A", "'": "\\Z"}


def posix_to_python(pattern: str, warn: Callable[[str], None]) -> str:
    """Translate a POSIX extended expression (glibc flavour) into Python `re` syntax."""
    out: list[str] = []
    i = 0
    n = len(pattern)
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            nxt = pattern[i + 1]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
            elif nxt.isdigit():
                out.append("\\" + nxt)  # a back-reference, as glibc allows
            elif nxt.isalpha():
                warn(f"'\\{nxt}' in a POSIX expression is the letter '{nxt}' (Kannel uses "
                     f"glibc regcomp); write [[:digit:]] or similar for a class")
                out.append(re.escape(nxt))
            else:
                out.append(re.escape(nxt))
            i += 2
            continue
        if c == "[":
            end, text = _bracket(pattern, i)
            out.append(text)
            i = end
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _bracket(pattern: str, start: int) -> tuple[int, str]:
    """Translate the bracket expression starting at `start`; return (end index, text)."""
    i = start + 1
    n = len(pattern)
    out = ["["]
    if i < n and pattern[i] == "^":
        out.append("^")
        i += 1
    first = True
    while i < n:
        c = pattern[i]
        if c == "]" and not first:
            out.append("]")
            return i + 1, "".join(out)
        first = False
        if c == "[" and i + 1 < n and pattern[i + 1] in ":.=":
            kind = pattern[i + 1]
            close = pattern.find(kind + "]", i + 2)
            if close == -1:
                raise ValueProblem(f"unterminated [{kind} in bracket expression")
            name = pattern[i + 2 : close]
            if kind == ":":
                if name not in _CLASSES:
                    raise ValueProblem(f"unknown character class [:{name}:]")
                out.append(_CLASSES[name])
            else:
                # Collating element / equivalence class: only single characters exist in C.
                if len(name) != 1:
                    raise ValueProblem(f"unsupported collating element [{kind}{name}{kind}]")
                out.append(re.escape(name))
            i = close + 2
            continue
        if c in "\\[]" or (c in "&~|-" and i + 1 < n and pattern[i + 1] == c):
            # Literal in POSIX brackets; escaped so Python neither escapes nor warns.
            out.append("\\" + c)
            i += 1
            continue
        out.append(c)
        i += 1
    raise ValueProblem("unterminated bracket expression '['")


def compile_regex(
    pattern: str, warn: Callable[[str], None], *, ignore_case: bool = False
) -> re.Pattern[str]:
    """Compile a Kannel (POSIX extended) expression for `Pattern.search`."""
    translated = posix_to_python(pattern, warn)
    flags = re.ASCII | (re.IGNORECASE if ignore_case else 0)
    try:
        compiled = re.compile(translated, flags)
    except re.error as exc:
        raise ValueProblem(f"invalid regular expression '{pattern}': {exc}") from None
    _SOURCES[compiled] = pattern
    return compiled


#: The POSIX text each compiled pattern came from, so check-config shows what was written.
_SOURCES: weakref.WeakKeyDictionary[re.Pattern[str], str] = weakref.WeakKeyDictionary()


def regex_source(pattern: re.Pattern[str]) -> str:
    """The kannel.conf text of a pattern compiled by `compile_regex` (else its own text)."""
    return _SOURCES.get(pattern, pattern.pattern)
