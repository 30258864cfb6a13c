"""The pure-Python twin of the C encoder: the same functions, the same results, byte for byte.

It is the reference the C module is tested against and the implementation in use wherever
the C module was not built (no compiler at install time) or `PASSERELLE_NATIVE=0` says so.
Written for clarity first, and fast where Python's own C code can do the work
(`str.translate`, codecs).

Lone surrogates (a `str` built by hand can hold them; no decoded request can) are treated
like any other character the tables lack: `?` in GSM, `?` (U+003F) in UCS-2 and 8-bit.
"""

from __future__ import annotations

import codecs
from functools import lru_cache

from native.tables import ESC, UNKNOWN, check_tables, encode_map, locking_table, single_table

DC_7BIT = 0
DC_8BIT = 1
DC_UCS2 = 2
#: `encode_split` coding: GSM when every character has a septet, else UCS-2.
AUTO = -1
#: Bounds on the parts of one message; a larger request is a caller error.
MAX_CUT_PARTS = 65535


# --- GSM 03.38 ------------------------------------------------------------------------------


class _EncodeTable(dict[int, str]):
    """Code point → septets (as a str of code points < 0x80), Kannel's answer on a miss.

    Misses are not cached: the key space is all of Unicode and the input is the client's.
    """

    def __init__(self, mapping: dict[int, bytes], kannel: bool) -> None:
        super().__init__({cp: septets.decode("latin-1") for cp, septets in mapping.items()})
        self._kannel = kannel

    def __missing__(self, code_point: int) -> str:
        if code_point <= 0xFFFF or not self._kannel:
            return "?"
        # Kannel's UTF-8 decoder knows 1- to 3-octet sequences only: each of the four octets
        # of a character beyond U+FFFF is looked up on its own as a Latin-1 code.
        return "".join(self.get(octet, "?") for octet in chr(code_point).encode("utf-8"))


@lru_cache(maxsize=16)
def _tables(locking: int, single: int) -> tuple[_EncodeTable, bytes | None]:
    """The translate table for a pair of tables, and for the default pair an ASCII table."""
    check_tables(locking, single)
    kannel = locking == 0 and single == 0
    table = _EncodeTable(encode_map(locking, single), kannel)
    ascii_table = None
    if kannel:
        # One octet per ASCII character, escaped ones marked ESC (no ASCII character maps
        # onto a lone ESC: the ESC character itself becomes `?`).
        ascii_table = bytes(
            (ESC if len(s) == 2 else ord(s)) if (s := table.get(i)) is not None else UNKNOWN
            for i in range(256)
        )
    return table, ascii_table


def to_gsm(text: str, locking: int = 0, single: int = 0) -> bytes:
    """Text → unpacked septets (one per octet, extension characters as 1B xx)."""
    table, ascii_table = _tables(locking, single)
    if ascii_table is not None and text.isascii():
        septets = text.encode("ascii").translate(ascii_table)
        if ESC not in septets:
            return septets
    return text.translate(table).encode("latin-1")


def utf8_to_gsm(data: bytes, locking: int = 0, single: int = 0) -> bytes:
    """Raw request octets → septets, reproducing Kannel's UTF-8 decoder on invalid input.

    A lead octet 110xxxxx takes the next octet and 1110xxxx the next two, whatever they are;
    an incomplete sequence at the end is dropped; any other octet is looked up as a Latin-1
    code. With a national table (Kannel has none) 11110xxx also takes the next three and
    gives one `?`.
    """
    try:
        return to_gsm(data.decode("utf-8"), locking, single)
    except UnicodeDecodeError:
        pass
    table, _ = _tables(locking, single)
    national = locking != 0 or single != 0
    out: list[str] = []
    length = len(data)
    pos = 0
    while pos < length:
        octet = data[pos]
        if octet & 0xE0 == 0xC0:
            if pos + 1 >= length:
                break
            code_point = ((octet & 0x1F) << 6) | (data[pos + 1] & 0x3F)
            pos += 2
        elif octet & 0xF0 == 0xE0:
            if pos + 2 >= length:
                break
            code_point = (
                ((octet & 0x0F) << 12) | ((data[pos + 1] & 0x3F) << 6) | (data[pos + 2] & 0x3F)
            )
            pos += 3
        elif national and octet & 0xF8 == 0xF0:
            if pos + 3 >= length:
                break
            out.append("?")
            pos += 4
            continue
        else:
            code_point = octet
            pos += 1
        out.append(table.get(code_point, "?"))
    return "".join(out).encode("latin-1")


def septets(text: str, locking: int = 0, single: int = 0) -> int:
    """How many septets `text` takes (an extension character counts 2)."""
    return len(to_gsm(text, locking, single))


def gsm_encodable(text: str, locking: int = 0, single: int = 0) -> bool:
    """True when every character has its own septet(s): no `?` stands in for anything."""
    table, _ = _tables(locking, single)
    return all(ord(ch) in table for ch in text)


@lru_cache(maxsize=16)
def _decode_tables(locking: int, single: int) -> tuple[str, dict[int, str], dict[int, str | None]]:
    check_tables(locking, single)
    main = locking_table(locking)
    fast: dict[int, str | None] = dict(enumerate(main))
    fast.update({octet: None for octet in range(0x80, 0x100)})
    return main, single_table(single), fast


def from_gsm(data: bytes, locking: int = 0, single: int = 0) -> str:
    """Unpacked septets → text (MO). Unknown escapes follow TS 23.038 §6.2.1.1: 1B + a code
    the shift table lacks shows the main table's character; 1B 1B and a final 1B show a
    space. Octets above 0x7F are skipped, as Kannel does."""
    main, shift, fast = _decode_tables(locking, single)
    if ESC not in data:
        return data.decode("latin-1").translate(fast)
    out: list[str] = []
    length = len(data)
    pos = 0
    while pos < length:
        octet = data[pos]
        pos += 1
        if octet != ESC:
            if octet < 0x80:
                out.append(main[octet])
            continue
        if pos >= length:
            out.append(" ")
            break
        code = data[pos]
        pos += 1
        if code == ESC or code >= 0x80:
            out.append(" ")
        else:
            out.append(shift.get(code, main[code]))
    return "".join(out)


# --- UCS-2 ----------------------------------------------------------------------------------


def _question_marks(error: UnicodeError) -> tuple[str, int]:
    """Codec error handler: one `?` per undecodable octet, then carry on."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return "?" * (error.end - error.start), error.end


codecs.register_error("native-question-mark", _question_marks)


def to_ucs2(text: str) -> bytes:
    """Text → UTF-16BE (characters beyond U+FFFF as surrogate pairs; a lone surrogate `?`)."""
    return text.encode("utf-16-be", "replace")


def from_ucs2(data: bytes) -> str:
    """UTF-16BE → text. Broken units give one `?` per octet, with the ranges CPython's
    decoder reports: a lone low surrogate 2, a high surrogate not followed by a low one 2,
    a high surrogate in the last 2 or 3 octets all of them, an odd last octet 1."""
    return data.decode("utf-16-be", "native-question-mark")


def decode(data: bytes, coding: int, locking: int = 0, single: int = 0) -> str:
    """MO user data (without UDH, septets unpacked) → text, for each data coding."""
    if coding == DC_7BIT:
        return from_gsm(data, locking, single)
    if coding == DC_8BIT:
        return data.decode("latin-1")
    if coding == DC_UCS2:
        return from_ucs2(data)
    raise ValueError(f"coding must be 0, 1 or 2, not {coding}")


# --- 7-bit packing --------------------------------------------------------------------------


def _check_fill(fill_bits: int) -> None:
    if not 0 <= fill_bits <= 6:
        raise ValueError(f"fill_bits must be 0..6, not {fill_bits}")


def pack7(septets: bytes, fill_bits: int = 0) -> bytes:
    """Pack septets 8-into-7 octets, least significant bit first, after `fill_bits` zeros;
    the last octet is zero-padded."""
    _check_fill(fill_bits)
    count = len(septets)
    out = bytearray()
    for start in range(0, count, 8):
        group = 0
        for shift, septet in enumerate(septets[start : start + 8]):
            group |= (septet & 0x7F) << (7 * shift)
        out += group.to_bytes(7, "little")
    size = (7 * count + fill_bits + 7) // 8
    if fill_bits:
        return (int.from_bytes(out, "little") << fill_bits).to_bytes(size, "little")
    return bytes(out[:size])


def check_unpack(data: bytes, count: int, fill_bits: int) -> None:
    """Refuse an `unpack7` the octets cannot satisfy (both implementations call this)."""
    _check_fill(fill_bits)
    if count < 0 or 7 * count + fill_bits > 8 * len(data):
        raise ValueError(f"{len(data)} octets do not hold {count} septets after {fill_bits} bits")


def unpack7(data: bytes, count: int, fill_bits: int = 0) -> bytes:
    """`count` septets from packed `data`, skipping `fill_bits` first."""
    check_unpack(data, count, fill_bits)
    bits = int.from_bytes(data, "little") >> fill_bits
    groups = bits.to_bytes(len(data) + 7, "little")
    out = bytearray()
    for start in range(0, 7 * ((count + 7) // 8), 7):
        group = int.from_bytes(groups[start : start + 7], "little")
        out += bytes((group >> (7 * shift)) & 0x7F for shift in range(8))
    return bytes(out[:count])


# --- Splitting ------------------------------------------------------------------------------


def check_cuts(coding: int, room: int, suffix: int, max_parts: int) -> None:
    """Refuse arguments `cuts` has no answer for (both implementations call this)."""
    if coding not in (DC_7BIT, DC_8BIT, DC_UCS2):
        raise ValueError(f"coding must be 0, 1 or 2, not {coding}")
    if room < 0 or suffix < 0:
        raise ValueError("room and suffix cannot be negative")
    if not 1 <= max_parts <= MAX_CUT_PARTS:
        raise ValueError(f"max_parts must be 1..{MAX_CUT_PARTS}, not {max_parts}")


def _is_cut(data: bytes, coding: int, pos: int, start: int = 0) -> bool:
    """May a part end at `pos`? Never inside an escape pair or a UTF-16 character.

    `start` is where a part may begin (0 or an earlier cut): escape pairs start afresh there,
    so the scan back over ESC octets stops at it and stays within one part.
    """
    if pos >= len(data):
        return True
    if coding == DC_7BIT:
        run = 0  # ESC octets just before pos: an odd run means pos is an escape's second half
        while run < pos - start and data[pos - run - 1] == ESC:
            run += 1
        return run % 2 == 0
    if coding == DC_UCS2:
        if pos % 2:
            return False
        # a low surrogate's unit must be complete (pos + 1 inside the data) to count
        return not (
            2 <= pos < len(data) - 1 and 0xD8 <= data[pos - 2] <= 0xDB and 0xDC <= data[pos] <= 0xDF
        )
    return True


def _cut(data: bytes, coding: int, start: int, limit: int) -> int:
    end = start + limit
    if end >= len(data):
        return len(data)
    while end > start and not _is_cut(data, coding, end, start):
        end -= 1
    return end


def cuts(data: bytes, coding: int, room: int, max_parts: int, suffix: int = 0) -> tuple[int, ...]:
    """Where Kannel's `sms_split` ends each part of `data`: the end offsets, in order.

    Each part holds at most `room` units (septets as octets, or octets); every part but the
    last leaves `suffix` units free for the split-suffix. At most `max_parts` parts: the
    last one then ends where its room does and the rest of `data` is not sent. An empty
    `data` is one empty part.
    """
    check_cuts(coding, room, suffix, max_parts)
    length = len(data)
    ends: list[int] = []
    start = 0
    while True:
        if length - start <= room:
            ends.append(length)
            return tuple(ends)
        last = len(ends) + 1 >= max_parts
        end = _cut(data, coding, start, room if last else max(room - suffix, 0))
        ends.append(end)
        start = end
        if last:
            return tuple(ends)


def room(coding: int, max_octets: int, udh_octets: int) -> int:
    """Units of text (septets or octets) that fit beside `udh_octets` of UDH (never < 0)."""
    free = max(max_octets - udh_octets, 0)
    return free * 8 // 7 if coding == DC_7BIT else free


def payload(text: str, coding: int, locking: int = 0, single: int = 0) -> tuple[int, bytes]:
    """The coding actually used (AUTO resolved) and the text's user data in it."""
    if coding == AUTO:
        coding = DC_7BIT if gsm_encodable(text, locking, single) else DC_UCS2
    if coding == DC_7BIT:
        return coding, to_gsm(text, locking, single)
    if coding == DC_UCS2:
        return coding, to_ucs2(text)
    if coding == DC_8BIT:
        check_tables(locking, single)
        return coding, text.encode("utf-8", "replace")
    raise ValueError(f"coding must be -1, 0, 1 or 2, not {coding}")


def encode_split(
    text: str,
    coding: int,
    udh_octets: int = 0,
    split_udh_octets: int = 6,
    max_octets: int = 140,
    max_parts: int = 255,
    locking: int = 0,
    single: int = 0,
) -> tuple[int, bytes, tuple[int, ...]]:
    """One message from text to parts: (coding used, user data, end offset of each part).

    `udh_octets` is the UDH every part carries (client IEs, national language IEs, with
    UDHL; 0 for none); `split_udh_octets` the UDH when the text needs several parts (the
    same plus a concatenation IE: +6 or +5 with an 8-bit reference, +7 or +6 with a 16-bit
    one; equal to `udh_octets` for SAR, where the numbering travels in TLVs).
    """
    if udh_octets < 0 or split_udh_octets < 0 or max_octets < 0:
        raise ValueError("octet counts cannot be negative")
    used, data = payload(text, coding, locking, single)
    check_cuts(used, 0, 0, max_parts)
    if len(data) <= room(used, max_octets, udh_octets):
        return used, data, (len(data),)
    return used, data, cuts(data, used, room(used, max_octets, split_udh_octets), max_parts)
