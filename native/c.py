"""The C encoder behind the same Python API as `native.pure`.

Importing this module fails with ImportError when `native._encoder` was not built; the
package then falls back to the twin. Argument checks are the twin's own functions, so both
refuse the same inputs with the same exceptions; the C code checks again for its own safety.

A cffi call costs about as much as encoding a short message, so each operation is one call
(none for ASCII text that fits one SMS: see `_ASCII_TABLE`) into two module-level buffers
reused under a lock (cffi releases the GIL during a call; a thread that finds the lock taken
allocates its own buffers rather than wait).
"""

from __future__ import annotations

import threading
from typing import Any

from native import pure
from native._encoder import ffi, lib  # ImportError when the C module was not built
from native.tables import check_tables

DC_7BIT = pure.DC_7BIT
DC_8BIT = pure.DC_8BIT
DC_UCS2 = pure.DC_UCS2
AUTO = pure.AUTO
MAX_CUT_PARTS = pure.MAX_CUT_PARTS

_NULL = ffi.NULL
_new = ffi.new
_unpack = ffi.unpack
_pe_utf8_to_gsm = lib.pe_utf8_to_gsm
_pe_encode_split = lib.pe_encode_split
_pe_cuts = lib.pe_cuts
_pe_pack7 = lib.pe_pack7
#: Part ends the per-thread result buffer holds without reallocating (bearerbox's 255 + 1).
_ENDS = 256


# ASCII text without escapes is one septet per character: CPython's `bytes.translate` maps it
# faster than a cffi call could start (the twin's table, so the results cannot differ).
_ASCII_TABLE: bytes = pure._tables(0, 0)[1]  # type: ignore[assignment]
_ESC = 0x1B

#: The shared buffers' sizes: octets out, and part ends.
_OUT_SIZE = 16384
_SHARED_OUT: Any = _new("char[]", _OUT_SIZE)
_SHARED_RESULTS: Any = _new("size_t[]", 2 + _ENDS)  # length, coding, then part ends
_SHARED_ENDS: Any = _SHARED_RESULTS + 2
#: Held while a call uses the shared buffers; a call that finds it taken (another thread, as
#: cffi releases the GIL) allocates its own instead of waiting.
_shared = threading.Lock()


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _checked(locking: int, single: int) -> None:
    if locking or single:
        check_tables(locking, single)


def _gsm(data: bytes, locking: int, single: int) -> bytes:
    size = 2 * len(data)
    if size <= _OUT_SIZE and _shared.acquire(False):
        try:
            length = _pe_utf8_to_gsm(data, len(data), _SHARED_OUT, locking, single, _NULL)
            return _unpack(_SHARED_OUT, length)
        finally:
            _shared.release()
    out = _new("char[]", size or 1)
    return _unpack(out, _pe_utf8_to_gsm(data, len(data), out, locking, single, _NULL))


def utf8_to_gsm(data: bytes, locking: int = 0, single: int = 0) -> bytes:
    """See `native.pure.utf8_to_gsm`."""
    data = bytes(data)
    if locking or single:
        check_tables(locking, single)
    elif data.isascii():
        septets = data.translate(_ASCII_TABLE)
        if _ESC not in septets:
            return septets
    return _gsm(data, locking, single)


def to_gsm(text: str, locking: int = 0, single: int = 0) -> bytes:
    """See `native.pure.to_gsm`."""
    if locking or single:
        check_tables(locking, single)
    elif text.isascii():
        septets = text.encode("ascii").translate(_ASCII_TABLE)
        if _ESC not in septets:
            return septets
    return _gsm(text.encode("utf-8", "surrogatepass"), locking, single)


def septets(text: str, locking: int = 0, single: int = 0) -> int:
    """See `native.pure.septets`."""
    _checked(locking, single)
    data = _utf8(text)
    return int(_pe_utf8_to_gsm(data, len(data), _NULL, locking, single, _NULL))


def gsm_encodable(text: str, locking: int = 0, single: int = 0) -> bool:
    """See `native.pure.gsm_encodable`."""
    _checked(locking, single)
    data = _utf8(text)
    missing = _new("size_t *")
    _pe_utf8_to_gsm(data, len(data), _NULL, locking, single, missing)
    return missing[0] == 0


def from_gsm(data: bytes, locking: int = 0, single: int = 0) -> str:
    """See `native.pure.from_gsm`."""
    _checked(locking, single)
    data = bytes(data)
    out = _new("char[]", 3 * len(data) or 1)
    length = lib.pe_from_gsm(data, len(data), out, locking, single)
    return _unpack(out, length).decode("utf-8")


def to_ucs2(text: str) -> bytes:
    """See `native.pure.to_ucs2`."""
    data = _utf8(text)
    out = _new("char[]", 2 * len(data) or 1)
    return _unpack(out, lib.pe_utf8_to_ucs2(data, len(data), out))


def from_ucs2(data: bytes) -> str:
    """See `native.pure.from_ucs2`."""
    data = bytes(data)
    out = _new("char[]", 2 * len(data) or 1)
    return _unpack(out, lib.pe_from_ucs2(data, len(data), out)).decode("utf-8")


def decode(data: bytes, coding: int, locking: int = 0, single: int = 0) -> str:
    """See `native.pure.decode`."""
    if coding == DC_7BIT:
        return from_gsm(data, locking, single)
    if coding == DC_8BIT:
        return data.decode("latin-1")
    if coding == DC_UCS2:
        return from_ucs2(data)
    raise ValueError(f"coding must be 0, 1 or 2, not {coding}")


def pack7(septets: bytes, fill_bits: int = 0) -> bytes:
    """See `native.pure.pack7`."""
    if not 0 <= fill_bits <= 6:
        raise ValueError(f"fill_bits must be 0..6, not {fill_bits}")
    septets = bytes(septets)
    size = (7 * len(septets) + fill_bits + 7) // 8
    if size <= _OUT_SIZE and _shared.acquire(False):
        try:
            _pe_pack7(septets, len(septets), fill_bits, _SHARED_OUT, size)
            return _unpack(_SHARED_OUT, size)
        finally:
            _shared.release()
    out = _new("char[]", size or 1)
    _pe_pack7(septets, len(septets), fill_bits, out, size)
    return _unpack(out, size)


def unpack7(data: bytes, count: int, fill_bits: int = 0) -> bytes:
    """See `native.pure.unpack7`."""
    pure.check_unpack(data, count, fill_bits)
    if not count:
        return b""
    data = bytes(data)
    out = _new("char[]", count)
    lib.pe_unpack7(data, len(data), count, fill_bits, out)
    return _unpack(out, count)


def cuts(data: bytes, coding: int, room: int, max_parts: int, suffix: int = 0) -> tuple[int, ...]:
    """See `native.pure.cuts`."""
    pure.check_cuts(coding, room, suffix, max_parts)
    data = bytes(data)
    if _shared.acquire(False):
        try:
            count = _pe_cuts(data, len(data), coding, room, suffix, max_parts, _SHARED_ENDS, _ENDS)
            if count <= _ENDS:
                return tuple(_unpack(_SHARED_ENDS, count))
        finally:
            _shared.release()
    cap = _ENDS
    while True:  # another thread has the shared buffer, or a degenerate room needs more
        ends = _new("size_t[]", cap)
        count = _pe_cuts(data, len(data), coding, room, suffix, max_parts, ends, cap)
        if count <= cap:
            return tuple(_unpack(ends, count))
        cap = count


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
    """See `native.pure.encode_split`: one C call for the encoding and the cuts."""
    if udh_octets < 0 or split_udh_octets < 0 or max_octets < 0:
        raise ValueError("octet counts cannot be negative")
    if coding != DC_7BIT and coding != AUTO and coding != DC_UCS2:
        used, data = pure.payload(text, coding, locking, single)  # 8-bit: nothing to encode
        pure.check_cuts(used, 0, 0, max_parts)
        if len(data) <= pure.room(used, max_octets, udh_octets):
            return used, data, (len(data),)
        split_room = pure.room(used, max_octets, split_udh_octets)
        return used, data, cuts(data, used, split_room, max_parts)
    if locking or single:
        check_tables(locking, single)
    if not 1 <= max_parts <= MAX_CUT_PARTS:
        pure.check_cuts(DC_7BIT, 0, 0, max_parts)
    if not locking and not single and coding != DC_UCS2 and text.isascii():
        septets = text.encode("ascii").translate(_ASCII_TABLE)
        # AUTO stays 7-bit only when no `?` stands in for a character (TAB, `, …)
        if _ESC not in septets and (coding == DC_7BIT or septets.count(b"?") == text.count("?")):
            count = len(septets)
            if count <= max(max_octets - udh_octets, 0) * 8 // 7:
                return DC_7BIT, septets, (count,)  # one SMS: no cut to compute
            room = max(max_octets - split_udh_octets, 0) * 8 // 7
            if _shared.acquire(False):
                try:
                    count = _pe_cuts(septets, count, DC_7BIT, room, 0, max_parts, _SHARED_ENDS,
                                     _ENDS)  # fmt: skip
                    if count <= _ENDS:
                        return DC_7BIT, septets, tuple(_unpack(_SHARED_ENDS, count))
                finally:
                    _shared.release()
    source = text.encode("utf-8", "surrogatepass")
    size = 2 * len(source)
    if size <= _OUT_SIZE and _shared.acquire(False):
        try:
            count = _pe_encode_split(source, len(source), coding, locking, single, udh_octets,
                                     split_udh_octets, max_octets, max_parts, _SHARED_OUT,
                                     _SHARED_RESULTS, _ENDS)  # fmt: skip
            if count <= _ENDS:
                data = _unpack(_SHARED_OUT, _SHARED_RESULTS[0])
                if count == 1:
                    return _SHARED_RESULTS[1], data, (_SHARED_RESULTS[2],)
                return _SHARED_RESULTS[1], data, tuple(_unpack(_SHARED_ENDS, count))
        finally:
            _shared.release()
    out = _new("char[]", size or 1)
    cap = _ENDS
    while True:  # another thread has the shared buffers, or a degenerate room needs more
        results = _new("size_t[]", 2 + cap)
        count = _pe_encode_split(source, len(source), coding, locking, single, udh_octets,
                                 split_udh_octets, max_octets, max_parts, out, results,
                                 cap)  # fmt: skip
        if count <= cap:
            return results[1], _unpack(out, results[0]), tuple(_unpack(results + 2, count))
        cap = count
