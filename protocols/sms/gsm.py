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

The work is done by `native` (the C encoder, or its byte-identical pure-Python twin); this
module keeps the names the rest of the gateway uses. National language tables (3GPP TS
23.038 annex A: `native.tables.TURKISH`, `SPANISH`, `PORTUGUESE`), which Kannel does not
have, are selected by `locking` (locking shift) and `single` (single shift); with both 0 the
output is Kannel's.
"""

from __future__ import annotations

import native
from native.tables import ESC, UNKNOWN

__all__ = [
    "ESC",
    "UNKNOWN",
    "from_gsm",
    "gsm_encodable",
    "pack7",
    "septets",
    "to_gsm",
    "unpack7",
    "utf8_to_gsm",
]


def to_gsm(text: str, *, locking: int = 0, single: int = 0) -> bytes:
    """Text → GSM 03.38 septets, one octet each, exactly as Kannel's SMPP connector.

    Extension characters take two octets (0x1B + code); anything unmappable is `?`.
    """
    return native.to_gsm(text, locking, single)


def septets(text: str, *, locking: int = 0, single: int = 0) -> int:
    """How many septets `text` takes in an SMS (an extension character counts 2)."""
    return native.septets(text, locking, single)


def gsm_encodable(text: str, *, locking: int = 0, single: int = 0) -> bool:
    """True when GSM 7-bit carries `text` without a `?` standing in for any character; the
    test behind automatic coding (GSM when it can, else UCS-2)."""
    return native.gsm_encodable(text, locking, single)


def utf8_to_gsm(data: bytes, *, locking: int = 0, single: int = 0) -> bytes:
    """Raw UTF-8 octets → septets, reproducing Kannel's converter also on invalid input.

    Kannel never rejects a body for bad UTF-8 (REFERENCE §2.7): its decoder takes an octet
    110xxxxx plus the next octet, 1110xxxx plus the next two, whatever they are; drops an
    incomplete sequence at the end; and looks any other octet up as a Latin-1 code (so a
    stray 0xA3 is `£`, 0xFF is `?`).
    """
    return native.utf8_to_gsm(data, locking, single)


def from_gsm(data: bytes, *, locking: int = 0, single: int = 0) -> str:
    """Unpacked septets → text (for MO messages and for tests).

    Unknown escapes follow 3GPP TS 23.038 §6.2.1.1, not Kannel: 0x1B + a code that is not
    in the extension table shows the base character of that code (Kannel writes `?` and
    then the base character); 0x1B 0x1B (escape to a further table nobody defined) and a
    0x1B at the very end show as a space, as the standard says for the reserved code.
    Octets above 0x7F are skipped, as Kannel does.
    """
    return native.from_gsm(data, locking, single)


def pack7(septets: bytes, fill_bits: int = 0) -> bytes:
    """Pack septets 8-into-7 octets, least significant bit first (TS 23.038 §6.1.2.1.1).

    `fill_bits` (0–6) zero bits come first, so that text after a UDH starts on a septet
    boundary: pass `udh.fill_bits(len(udh))`. The last octet is padded with zero bits
    (Kannel does not use the CR padding the standard allows).
    """
    return native.pack7(septets, fill_bits)


def unpack7(data: bytes, count: int, fill_bits: int = 0) -> bytes:
    """The inverse of `pack7`: `count` septets from `data`, skipping `fill_bits` first.

    `count` comes from the PDU (sm_length counts septets for 7-bit text in TPDUs, or the
    caller derives it); asking for more septets than the octets hold is an error.
    """
    return native.unpack7(data, count, fill_bits)
