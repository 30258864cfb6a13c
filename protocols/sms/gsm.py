"""GSM 03.38 default alphabet, as Kannel 1.4.5 writes it into submit_sm, and 7-bit packing.

Kannel keeps text as UTF-8 until the SMPP connector turns it into GSM with its own
converter (gwlib/charset.c `charset_utf8_to_gsm`, table `latin1_to_gsm.h`), one octet per
septet ("unpacked"), extension characters as 0x1B + code. We reproduce that converter's
output exactly, including where it differs from a strict reading of the standard, because
the short_message bytes are what carriers and handsets see:

* `ç` and `Ç` both become 0x09 (the standard's 0x09 is `Ç`); form feed becomes 1B 0A;
* TAB, backquote, DEL, the ESC character itself and every other unmapped character become
  `?` (0x3F) — Kannel has no approximations (no `á` → `a`);
* a character outside the Basic Multilingual Plane is not understood by Kannel's UTF-8
  decoder, which only knows 1- to 3-octet sequences: each of its four UTF-8 octets is then
  looked up on its own as a Latin-1 code, so an emoji is `????` (four septets) and some
  become `???£` (U+1F3A3 ends in octet 0xA3). Observed on Kannel 1.4.5-12.

`utf8_to_gsm` is the byte-level twin for raw request bodies: it also reproduces what the
converter does with invalid UTF-8 (a lone Latin-1 `é` at the end of a message disappears,
a lead octet swallows the octets after it). `to_gsm(text)` equals
`utf8_to_gsm(text.encode("utf-8"))` for every string.

Everything here is pure and byte-in/byte-out so the native twin can match it exactly.
"""

from __future__ import annotations

ESC = 0x1B
#: What Kannel writes for a character it cannot represent (its `NRP`).
UNKNOWN = 0x3F

# The default alphabet, code → character (3GPP TS 23.038 §6.2.1). 0x1B is the escape to
# the extension table and decodes specially.
_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
assert len(_BASIC) == 128

# The extension table (after 0x1B) that Kannel knows: its `gsm_esctouni`.
_EXTENSION = {
    0x0A: "\f",
    0x14: "^",
    0x28: "{",
    0x29: "}",
    0x2F: "\\",
    0x3C: "[",
    0x3D: "~",
    0x3E: "]",
    0x40: "|",
    0x65: "€",
}

# Encoding: code point → the septets Kannel writes for it, as a str of code points < 0x80
# (so `str.translate` + `encode("latin-1")` produces the bytes in C).
_ENCODE: dict[int, str] = {ord(ch): chr(code) for code, ch in enumerate(_BASIC) if code != ESC}
_ENCODE[ord("ç")] = chr(0x09)  # Kannel maps small c cedilla onto 0x09 as well
_ENCODE.update({ord(ch): chr(ESC) + chr(code) for code, ch in _EXTENSION.items()})


def _latin1_septet(octet: int) -> str:
    """What Kannel's table gives for one octet taken as a Latin-1 code (or `?`)."""
    septets = _ENCODE.get(octet)
    return septets if septets is not None else "?"


class _EncodeTable(dict[int, str]):
    """`_ENCODE` plus Kannel's answer for everything else, computed on a miss.

    Misses are not cached: the key space is all of Unicode and the input is the client's.
    """

    def __missing__(self, code_point: int) -> str:
        if code_point <= 0xFFFF:
            return "?"
        # Four UTF-8 octets, each looked up alone (see the module docstring).
        return "".join(_latin1_septet(o) for o in chr(code_point).encode("utf-8"))


_ENCODE_TABLE = _EncodeTable(_ENCODE)

# ASCII fast path: one octet per character, the escaped ones marked with ESC (which no
# ASCII character produces, since the ESC character itself becomes `?`).
_ASCII_TABLE = bytes(
    (ESC if len(s) == 2 else ord(s)) if (s := _ENCODE.get(i)) is not None else UNKNOWN
    for i in range(256)
)


def to_gsm(text: str) -> bytes:
    """Text → GSM 03.38 septets, one octet each, exactly as Kannel's SMPP connector.

    Extension characters take two octets (0x1B + code); anything unmappable is `?`.
    """
    if text.isascii():
        septets = text.encode("ascii").translate(_ASCII_TABLE)
        if ESC not in septets:
            return septets
    return text.translate(_ENCODE_TABLE).encode("latin-1")


def septets(text: str) -> int:
    """How many septets `text` takes in an SMS (an extension character counts 2)."""
    return len(to_gsm(text))


def utf8_to_gsm(data: bytes) -> bytes:
    """Raw UTF-8 octets → septets, reproducing Kannel's converter also on invalid input.

    Kannel never rejects a body for bad UTF-8 (REFERENCE §2.7): its decoder takes an octet
    110xxxxx plus the next octet, 1110xxxx plus the next two, whatever they are; drops an
    incomplete sequence at the end; and looks any other octet up as a Latin-1 code (so a
    stray 0xA3 is `£`, 0xFF is `?`). Valid UTF-8 takes the fast path through `to_gsm`.
    """
    try:
        return to_gsm(data.decode("utf-8"))
    except UnicodeDecodeError:
        pass
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
        else:
            code_point = octet
            pos += 1
        out.append(_ENCODE.get(code_point, "?"))
    return "".join(out).encode("latin-1")


# Decoding: octet → character for the fast path (no ESC present). Octets above 0x7F are
# not septets; Kannel's `charset_gsm_to_utf8` skips them, and so do we.
_DECODE_TABLE: dict[int, str | None] = {code: ch for code, ch in enumerate(_BASIC)}
_DECODE_TABLE.update({octet: None for octet in range(0x80, 0x100)})


def from_gsm(data: bytes) -> str:
    """Unpacked septets → text (for MO messages and for tests).

    Unknown escapes follow 3GPP TS 23.038 §6.2.1.1, not Kannel: 0x1B + a code that is not
    in the extension table shows the base character of that code (Kannel writes `?` and
    then the base character); 0x1B 0x1B (escape to a further table nobody defined) and a
    0x1B at the very end show as a space, as the standard says for the reserved code.
    Octets above 0x7F are skipped, as Kannel does.
    """
    text = data.decode("latin-1")
    if ESC not in data:
        return text.translate(_DECODE_TABLE)
    out: list[str] = []
    length = len(data)
    pos = 0
    while pos < length:
        octet = data[pos]
        pos += 1
        if octet != ESC:
            if octet < 0x80:
                out.append(_BASIC[octet])
            continue
        if pos >= length:
            out.append(" ")
            break
        code = data[pos]
        pos += 1
        if code == ESC or code >= 0x80:
            out.append(" ")
        else:
            out.append(_EXTENSION.get(code, _BASIC[code]))
    return "".join(out)


def pack7(septets: bytes, fill_bits: int = 0) -> bytes:
    """Pack septets 8-into-7 octets, least significant bit first (TS 23.038 §6.1.2.1.1).

    `fill_bits` (0–6) zero bits come first, so that text after a UDH starts on a septet
    boundary: pass `udh.fill_bits(len(udh))`. The last octet is padded with zero bits
    (Kannel does not use the CR padding the standard allows).
    """
    if not 0 <= fill_bits <= 6:
        raise ValueError(f"fill_bits must be 0..6, not {fill_bits}")
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


def unpack7(data: bytes, count: int, fill_bits: int = 0) -> bytes:
    """The inverse of `pack7`: `count` septets from `data`, skipping `fill_bits` first.

    `count` comes from the PDU (sm_length counts septets for 7-bit text in TPDUs, or the
    caller derives it); asking for more septets than the octets hold is an error.
    """
    if not 0 <= fill_bits <= 6:
        raise ValueError(f"fill_bits must be 0..6, not {fill_bits}")
    if count < 0 or 7 * count + fill_bits > 8 * len(data):
        raise ValueError(f"{len(data)} octets do not hold {count} septets after {fill_bits} bits")
    bits = int.from_bytes(data, "little") >> fill_bits
    groups = bits.to_bytes(len(data) + 7, "little")
    out = bytearray()
    for start in range(0, 7 * ((count + 7) // 8), 7):
        group = int.from_bytes(groups[start : start + 7], "little")
        out += bytes((group >> (7 * shift)) & 0x7F for shift in range(8))
    return bytes(out[:count])
