"""Kannel's escape codes (`%p`, `%d`, `%#group#key#`, …) filled in from one message.

The same expansion serves a dlr-url callback and an sms-service get-url / post-url / text /
file pattern, so applications written for Kannel 1.4.5 receive byte-for-byte the URL they
received before. Everything here follows `urltrans_fill_escape_codes` of Kannel 1.4.5 and the
helpers it calls (octstr_url_encode, octstr_split_words, fields_to_dcs, meta_data_get_value),
checked against the installed binaries; the few places where Kannel misbehaves are listed in
docs/callbacks.md ("Escape codes").

Kannel works on octets: the pattern and every string field are turned into UTF-8 octets,
expanded, and the result is turned back into `str` with `surrogateescape`, so octets that are
not UTF-8 (a binary `%S`, a raw charset) survive a round trip through
`result.encode("utf-8", "surrogateescape")`. `expand` never raises, whatever it is given: a
broken pattern or odd field values give Kannel's output, never an exception in a callback path.
"""

from __future__ import annotations

import time as _time
from dataclasses import dataclass
from typing import Final

#: Kannel's MSG_PARAM_UNDEFINED: what an unset integer field of a Msg holds.
UNSET: Final = -1

#: The octets octstr_url_encode leaves alone in Kannel 1.4.5 (read from the installed binary:
#: later Kannel versions narrowed the set to RFC 3986's). A space becomes `+`, anything else
#: `%XX` with upper-case hex digits.
URL_SAFE: Final = frozenset(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!~*'()"
)

_HEX: Final = b"0123456789ABCDEF"
_ENCODED: Final = tuple(
    bytes([c])
    if c in URL_SAFE
    else b"+"
    if c == 0x20
    else b"%" + _HEX[c >> 4 : (c >> 4) + 1] + _HEX[c & 15 : (c & 15) + 1]
    for c in range(256)
)
_CODING_7BIT: Final = 0
_CODING_8BIT: Final = 1
_CODING_UCS2: Final = 2
_COMPRESS_ON: Final = 1


@dataclass(slots=True, kw_only=True)
class PatternFields:
    """The fields of Kannel's Msg (sms) that the escape codes read.

    Defaults are Kannel's unset values (-1 for integers, no string), so an unset field expands
    exactly as it does in Kannel: `%c` gives `-1`, `%F` gives nothing. The names follow our
    message model; the code reading each field is noted beside it.
    """

    text: bytes = b""  # msgdata: %a %A %b %e %k %s %S %r (a DLR carries the SMSC's reply text)
    udh: bytes = b""  # %u, and %O's coding default (8-bit when a UDH is present)
    sender: str = ""  # %P %Q (in an MO, Kannel has swapped them: %p is the phone)
    receiver: str = ""  # %p %q
    smsc_id: str = ""  # %i
    smsc_number: str = ""  # %f
    service: str = ""  # %n: sendsms-user or sms-service name
    account: str = ""  # %o
    id: str = ""  # %I: Kannel makes a fresh UUID for every DLR, not the MT's id
    foreign_id: str = ""  # %F: the SMSC's message id
    time: float = UNSET  # %t %T: unix time (whole seconds are used, as Kannel's time_t)
    coding: int = UNSET  # %c %C %O
    mclass: int = UNSET  # %m %O
    mwi: int = UNSET  # %M %O
    compress: int = UNSET  # %O
    alt_dcs: int = UNSET  # %O (mode 1 when set and not 0)
    charset: str = ""  # %C, written as is (Kannel does not url-encode it)
    binfo: str = ""  # %B
    validity: int = UNSET  # %v: absolute unix time, printed as minutes left
    deferred: int = UNSET  # %V: absolute unix time, printed as minutes left
    dlr_mask: int = UNSET  # %d: in a DLR, the event type (1, 2, 4, 8, 16)
    dlr_url: str = ""  # %R
    meta_data: str = ""  # %D and %#group#key#: Kannel's `?group?key=value&…` form


def _octets(text: str) -> bytes:
    """UTF-8 octets of `text`, never failing (surrogates pass through)."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def url_encode(data: bytes) -> bytes:
    """Kannel 1.4.5's octstr_url_encode."""
    return b"".join([_ENCODED[c] for c in data])


def _hex_value(c: int) -> int:
    if 0x30 <= c <= 0x39:
        return c - 0x30
    if 0x61 <= c <= 0x66:
        return c - 0x61 + 10
    if 0x41 <= c <= 0x46:
        return c - 0x41 + 10
    return -1


def url_decode(data: bytes) -> bytes:
    """Kannel's octstr_url_decode, quirks included: it stops at a NUL octet and at a `%`
    with fewer than two octets after it (dropping the rest); a `%` followed by non-hex is
    kept as is."""
    out = bytearray()
    n = len(data)
    i = 0
    while i < n and (i == 0 or data[i] != 0):
        c = data[i]
        if c == 0x25:
            if i + 1 >= n or data[i + 1] == 0 or i + 2 >= n or data[i + 2] == 0:
                break
            hi, lo = _hex_value(data[i + 1]), _hex_value(data[i + 2])
            if hi < 0 or lo < 0:
                out += data[i : i + 3]
            else:
                out.append(hi << 4 | lo)
            i += 3
        elif c == 0x2B:
            out.append(0x20)
            i += 1
        else:
            out.append(c)
            i += 1
    return bytes(out)


def _meta_groups(data: bytes) -> list[tuple[bytes, dict[bytes, bytes]]] | None:
    """Kannel's meta_data_unpack: the groups of `?group?key=value&…`, in order, or None
    when Kannel would reject the whole string (a `?`, `=` or `&` where none may be)."""
    groups: list[tuple[bytes, dict[bytes, bytes]]] = []
    current: dict[bytes, bytes] | None = None
    key: bytes | None = None
    start = end = -1
    kind = next_kind = -1  # 0 group name, 1 key, 2 value
    n = len(data)
    for pos in range(n + 1):
        c = data[pos] if pos < n else 0
        if c == 0x3F:  # ?
            if start == -1:
                start, kind = pos, 0
            elif kind == 0:
                end, next_kind = pos, 1
            elif kind == 2 and key is not None:
                end, next_kind = pos, 0
            elif key is None:
                start, kind = pos, 0
            else:
                return None
        elif c == 0x3D:  # =
            if kind == 1 and current is not None and key is None:
                end, next_kind = pos, 2
            else:
                return None
        elif c == 0x26:  # &
            if kind == 2 and current is not None and key is not None:
                end, next_kind = pos, 1
            elif kind == 1 and key is None:
                start = pos
            else:
                return None
        elif c == 0 and kind == 2:
            end = pos
        if start >= 0 and end >= 0:
            piece = url_decode(data[start + 1 : end])
            if kind == 0:
                current = {}
                groups.append((piece, current))
            elif kind == 1:
                key = piece
            elif kind == 2 and current is not None and key is not None:
                current[key] = piece
                key = None
            kind, next_kind = next_kind, -1
            start, end = end, -1
    return groups


def meta_data_value(meta_data: str | bytes, group: str | bytes, key: str | bytes) -> bytes | None:
    """One value of Kannel meta-data, decoded, as `%#group#key#` reads it: the first group
    whose name matches without regard to ASCII case, then the key exactly; None when absent
    or when Kannel would reject the meta-data string."""
    data = meta_data if isinstance(meta_data, bytes) else _octets(meta_data)
    name = group if isinstance(group, bytes) else _octets(group)
    wanted = key if isinstance(key, bytes) else _octets(key)
    name = name.split(b"\0", 1)[0].lower()  # Kannel passes the group as a C string
    groups = _meta_groups(data)
    if groups is None:
        return None
    for group_name, values in groups:
        if group_name.lower() == name:
            return values.get(wanted)
    return None


def _whole(value: float) -> int:
    """A time_t-like integer from a float, UNSET for NaN or infinities."""
    try:
        return int(value)
    except (ValueError, OverflowError):
        return UNSET


def _utc_stamp(seconds: int) -> bytes:
    """`YYYY-MM-DD+HH:MM:SS` for any integer second, proleptic Gregorian (no range limit,
    unlike datetime): Howard Hinnant's civil_from_days."""
    days, rest = divmod(seconds, 86400)
    hour, rest = divmod(rest, 3600)
    minute, second = divmod(rest, 60)
    z = days + 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    year = yoe + era * 400 + (1 if month <= 2 else 0)
    return b"%04d-%02d-%02d+%02d:%02d:%02d" % (year, month, day, hour, minute, second)


def _minutes_left(moment: int, now: int) -> bytes:
    """(moment - now) / 60 with C's truncation towards zero, as Kannel prints %v and %V."""
    delta = moment - now
    minutes = abs(delta) // 60
    return b"%d" % (-minutes if delta < 0 else minutes)


def _dcs(fields: PatternFields, coding: int) -> tuple[int, int]:
    """Kannel's fields_to_dcs: the DCS octet, and the coding it settles on (Kannel writes
    that back into the message, so a later %c or %C in the same pattern sees it)."""
    if coding == UNSET:
        coding = _CODING_8BIT if fields.udh else _CODING_7BIT
    dcs = 0
    if fields.mwi != UNSET:
        dcs = fields.mwi
        if dcs & 0x04:
            dcs = (dcs & 0x03) | 0xC0
        else:
            dcs = (dcs & 0x03) | 0x08
            if not fields.text:
                dcs |= 0xC0
            elif coding == _CODING_7BIT:
                dcs |= 0xD0
            else:
                dcs |= 0xE0
    elif fields.alt_dcs in (0, UNSET) or coding == _CODING_UCS2 or fields.compress == _COMPRESS_ON:
        if fields.compress == _COMPRESS_ON:
            dcs |= 0x20
        if fields.mclass != UNSET:
            dcs |= 0x10 | fields.mclass
        if coding != UNSET:
            dcs |= coding << 2
    else:
        dcs |= 0xF0
        if coding != UNSET:
            dcs |= coding << 2
        dcs |= 1 if fields.mclass == UNSET else fields.mclass
    return dcs, coding


def expand(
    pattern: str, fields: PatternFields, *, url_encode: bool = True, now: float | None = None
) -> str:
    """`pattern` with every Kannel escape code replaced from `fields`.

    `url_encode=True` is Kannel: values are url-encoded as octstr_url_encode does, except
    the ones Kannel writes raw (%S, %C, %I, %t, %T, %c, %e, %O, %v, %V). Kannel encodes in
    every pattern type, `text` and `file` included. `url_encode=False` writes every value as
    is (words joined by a space, `+` for the `00` of %q/%Q): for places that are not URLs and
    need no Kannel parity. `now` is the clock %v/%V count from (default: the system clock).
    """
    try:
        return _expand(_octets(pattern), fields, url_encode, now).decode("utf-8", "surrogateescape")
    except Exception:  # noqa: BLE001 - a field of an unexpected type must not kill a callback
        return pattern


def _expand(pattern: bytes, fields: PatternFields, encode: bool, now: float | None) -> bytes:
    def enc(value: bytes) -> bytes:
        return url_encode(value) if encode else value

    text = bytes(fields.text or b"")
    words = text.split()
    join = b"+" if encode else b" "
    plus = b"%2B" if encode else b"+"
    coding = fields.coding
    next_word = 1
    out = bytearray()
    n = len(pattern)
    pos = 0
    while pos < n:
        percent = pattern.find(b"%", pos)
        if percent < 0 or percent + 1 >= n:
            out += pattern[pos:]
            break
        out += pattern[pos:percent]
        pos = percent
        code = pattern[pos + 1]
        if code == 0x61:  # a: all words
            out += join.join(enc(w) for w in words)
        elif code in (0x41, 0x62):  # A, b: the whole text
            out += enc(text)
        elif code == 0x42:  # B
            out += enc(_octets(fields.binfo))
        elif code == 0x63:  # c
            out += b"%d" % coding
        elif code == 0x43:  # C
            if fields.charset:
                out += _octets(fields.charset)
            elif coding in (UNSET, _CODING_7BIT):
                out += b"UTF-8"
            elif coding == _CODING_8BIT:
                out += b"8-BIT"
            elif coding == _CODING_UCS2:
                out += b"UTF-16BE"
        elif code == 0x64:  # d
            out += enc(b"%d" % fields.dlr_mask)
        elif code == 0x44:  # D
            out += enc(_octets(fields.meta_data))
        elif code == 0x65:  # e: upper-case hex of the text
            out += text.hex().upper().encode()
        elif code == 0x66:  # f
            out += enc(_octets(fields.smsc_number))
        elif code == 0x46:  # F
            out += enc(_octets(fields.foreign_id))
        elif code == 0x69:  # i
            out += enc(_octets(fields.smsc_id))
        elif code == 0x49:  # I
            out += _octets(fields.id)
        elif code == 0x6B:  # k: first word
            if words:
                out += enc(words[0])
        elif code == 0x6D:  # m
            out += enc(b"%d" % fields.mclass)
        elif code == 0x4D:  # M
            out += enc(b"%d" % fields.mwi)
        elif code == 0x6E:  # n
            out += enc(_octets(fields.service))
        elif code == 0x6F:  # o
            out += enc(_octets(fields.account))
        elif code == 0x4F:  # O
            dcs, coding = _dcs(fields, coding)
            out += b"%02d" % dcs
        elif code in (0x70, 0x50, 0x71, 0x51):  # p P q Q
            number = _octets(fields.receiver if code in (0x70, 0x71) else fields.sender)
            if code in (0x71, 0x51) and number.startswith(b"00"):
                out += plus + enc(number[2:])
            else:
                out += enc(number)
        elif code == 0x72:  # r: the words no %s has taken yet
            out += join.join(enc(w) for w in words[next_word:])
        elif code == 0x52:  # R
            out += enc(_octets(fields.dlr_url))
        elif code == 0x73:  # s: next word
            if next_word < len(words):
                out += enc(words[next_word])
                next_word += 1
        elif code == 0x53:  # S: next word, raw, '*' as '~'
            if next_word < len(words):
                out += words[next_word].replace(b"*", b"~")
                next_word += 1
        elif code == 0x74:  # t
            out += _utc_stamp(_whole(fields.time))
        elif code == 0x54:  # T
            moment = _whole(fields.time)
            if moment != UNSET:
                out += b"%d" % moment
        elif code == 0x75:  # u
            out += enc(bytes(fields.udh or b""))
        elif code in (0x76, 0x56):  # v V
            moment = fields.validity if code == 0x76 else fields.deferred
            if moment != UNSET:
                clock = _whole(_time.time() if now is None else now)
                out += _minutes_left(moment, clock)
        elif code == 0x23:  # #group#key#
            first = pattern.find(b"#", pos + 2)
            if first >= 0:
                group = pattern[pos + 2 : first]
                second = pattern.find(b"#", first + 1)
                if second >= 0:
                    key = pattern[first + 1 : second]
                    if fields.meta_data:
                        value = meta_data_value(fields.meta_data, group, key)
                        if value is not None:
                            out += enc(value)
                    pos = second - 1
                else:
                    # Kannel skips `%#group#` and the three octets after it (and loops
                    # for ever when the pattern ends sooner: we stop at the end).
                    pos = first + 2
        elif code == 0x25:  # %% is one %
            out += b"%"
        else:  # unknown codes stay as they are
            out += pattern[pos : pos + 2]
        pos += 2
    return bytes(out)


__all__ = ["URL_SAFE", "UNSET", "PatternFields", "expand", "meta_data_value", "url_encode"]
