"""The C encoder behind the same Python API as `native.pure`.

Importing this module fails with ImportError when `native._encoder` was not built; the
package then falls back to the twin. Argument checks are the twin's own functions, so both
refuse the same inputs with the same exceptions; the C code checks again for its own safety.
"""

from __future__ import annotations

from native import pure
from native._encoder import ffi, lib  # ImportError when the C module was not built
from native.tables import check_tables

DC_7BIT = pure.DC_7BIT
DC_8BIT = pure.DC_8BIT
DC_UCS2 = pure.DC_UCS2
AUTO = pure.AUTO
MAX_CUT_PARTS = pure.MAX_CUT_PARTS

_from_buffer = ffi.from_buffer
_new = ffi.new
_buffer = ffi.buffer
_NULL = ffi.NULL
_pe_utf8_to_gsm = lib.pe_utf8_to_gsm
_pe_cuts = lib.pe_cuts
_pe_encode_split = lib.pe_encode_split


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _checked(locking: int, single: int) -> None:
    if locking or single:
        check_tables(locking, single)


def utf8_to_gsm(data: bytes, locking: int = 0, single: int = 0) -> bytes:
    """See `native.pure.utf8_to_gsm`."""
    _checked(locking, single)
    out = bytearray(2 * len(data))
    length = _pe_utf8_to_gsm(_from_buffer(data), len(data), _from_buffer(out), locking, single,
                             _NULL)  # fmt: skip
    del out[length:]
    return bytes(out)


def to_gsm(text: str, locking: int = 0, single: int = 0) -> bytes:
    """See `native.pure.to_gsm`."""
    return utf8_to_gsm(_utf8(text), locking, single)


def septets(text: str, locking: int = 0, single: int = 0) -> int:
    """See `native.pure.septets`."""
    _checked(locking, single)
    data = _utf8(text)
    return int(_pe_utf8_to_gsm(_from_buffer(data), len(data), _NULL, locking, single, _NULL))


def gsm_encodable(text: str, locking: int = 0, single: int = 0) -> bool:
    """See `native.pure.gsm_encodable`."""
    _checked(locking, single)
    data = _utf8(text)
    missing = _new("size_t *")
    _pe_utf8_to_gsm(_from_buffer(data), len(data), _NULL, locking, single, missing)
    return missing[0] == 0


def from_gsm(data: bytes, locking: int = 0, single: int = 0) -> str:
    """See `native.pure.from_gsm`."""
    _checked(locking, single)
    out = bytearray(3 * len(data))
    length = lib.pe_from_gsm(_from_buffer(data), len(data), _from_buffer(out), locking, single)
    return out[:length].decode("utf-8")


def to_ucs2(text: str) -> bytes:
    """See `native.pure.to_ucs2`."""
    data = _utf8(text)
    out = bytearray(2 * len(data))
    length = lib.pe_utf8_to_ucs2(_from_buffer(data), len(data), _from_buffer(out))
    del out[length:]
    return bytes(out)


def from_ucs2(data: bytes) -> str:
    """See `native.pure.from_ucs2`."""
    out = bytearray(2 * len(data))
    length = lib.pe_from_ucs2(_from_buffer(data), len(data), _from_buffer(out))
    return out[:length].decode("utf-8")


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
    size = (7 * len(septets) + fill_bits + 7) // 8
    out = bytearray(size)
    lib.pe_pack7(_from_buffer(septets), len(septets), fill_bits, _from_buffer(out), size)
    return bytes(out)


def unpack7(data: bytes, count: int, fill_bits: int = 0) -> bytes:
    """See `native.pure.unpack7`."""
    pure.check_unpack(data, count, fill_bits)
    out = bytearray(count)
    if count:
        lib.pe_unpack7(_from_buffer(data), len(data), count, fill_bits, _from_buffer(out))
    return bytes(out)


def cuts(data: bytes, coding: int, room: int, max_parts: int, suffix: int = 0) -> tuple[int, ...]:
    """See `native.pure.cuts`."""
    pure.check_cuts(coding, room, suffix, max_parts)
    source = _from_buffer(data)
    length = len(data)
    # Enough for every real split; degenerate rooms (no progress) ask for more below.
    cap = min(max_parts, length // max(room - suffix, 1) + 2)
    while True:
        ends = _new("size_t[]", cap)
        count = _pe_cuts(source, length, coding, room, suffix, max_parts, ends, cap)
        if count <= cap:
            return tuple(ends[0:count])
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
    if coding not in (AUTO, DC_7BIT, DC_UCS2):
        used, data = pure.payload(text, coding, locking, single)  # 8-bit: nothing to encode
        pure.check_cuts(used, 0, 0, max_parts)
        if len(data) <= pure.room(used, max_octets, udh_octets):
            return used, data, (len(data),)
        split_room = pure.room(used, max_octets, split_udh_octets)
        return used, data, cuts(data, used, split_room, max_parts)
    _checked(locking, single)
    pure.check_cuts(DC_7BIT, 0, 0, max_parts)
    text_octets = _utf8(text)
    source = _from_buffer(text_octets)
    out = bytearray(2 * len(text_octets))
    out_buffer = _from_buffer(out)
    out_len = _new("size_t *")
    coding_used = _new("int *")
    cap = 8
    while True:
        ends = _new("size_t[]", cap)
        count = _pe_encode_split(source, len(text_octets), coding, locking, single, udh_octets,
                                 split_udh_octets, max_octets, max_parts, out_buffer, out_len,
                                 coding_used, ends, cap)  # fmt: skip
        if count <= cap:
            break
        cap = count
    del out_buffer  # release the export, so that the bytearray may shrink
    del out[out_len[0] :]
    return coding_used[0], bytes(out), tuple(ends[0:count])
