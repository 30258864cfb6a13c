"""SMSC message ids as DLR lookup keys, following Kannel's `msg-id-type` (REFERENCE §2.3).

A receipt names its message by the id the SMSC gave in submit_sm_resp, but carriers do not
always repeat it in the same form: some answer `812FC7470000001B` in hex and report
`9380935605053030457` in decimal, others pad with zeros or change case. Kannel's
`msg-id-type` says which side is hex (bit 0: submit_sm_resp, bit 1: deliver_sm) and converts
both to decimal before the lookup. Kannel does that with `strtoll`, which saturates at 2^63-1
and so merges every large id into one; we convert with Python's arbitrary-precision ints.
With `msg-id-type` unset Kannel compares C strings, so we only strip what a C string or a
sloppy SMSC adds around the id (whitespace, NUL) and keep the case.

Nothing here raises on bad input: an id that is not a number in the declared base stays the
(stripped) string it was, because a receipt we cannot match is better than a crashed link.
"""

from __future__ import annotations

import re

_HEX = re.compile(r"(?:0[xX])?([0-9a-fA-F]+)")
_DEC = re.compile(r"[0-9]+")
#: Whitespace as C's isspace() sees it, plus the NUL a C string may carry along.
_STRIP = " \t\n\r\x0b\x0c\x00"

#: Between the smsc-id and the id in a key; neither a configured smsc-id nor a stripped id
#: starts or ends with NUL, and the SMPP ids we see never contain one.
KEY_SEPARATOR = "\x00"


def _text(raw: str | bytes) -> str:
    # latin-1 maps every octet to one code point, so any bytes survive the round trip.
    return raw.decode("latin-1") if isinstance(raw, (bytes, bytearray)) else raw


def normalise_id(raw: str | bytes, hex_in: bool) -> str:
    """The decimal form of an id, or the stripped id itself when it is not a number.

    `hex_in` says the id is hex. As in Kannel, an id that is not all digits is read as hex
    even when decimal was declared (`strtoll(..., 16)` on anything non-numeric). Leading
    zeros and case never matter; precision is unbounded (ids above 2^63 stay distinct).
    """
    text = _text(raw).strip(_STRIP)
    if not hex_in and _DEC.fullmatch(text):
        return str(int(text, 10))
    match = _HEX.fullmatch(text)
    if match:
        return str(int(match.group(1), 16))
    return text


def normalised_id(raw_id: str | bytes, msg_id_type: int | None, from_receipt: bool) -> str:
    """The id part of a DLR store key for a message id seen on an SMSC.

    `from_receipt` is True for an id taken from a deliver_sm/data_sm receipt and False for
    the id of a submit_sm_resp; `msg_id_type` is the SMSC's `msg-id-type` (None or a
    negative value when unset, as Kannel's -1). The submit_sm_resp id and the receipt id of
    one message yield the same key whenever `msg-id-type` describes the SMSC correctly.
    """
    if msg_id_type is None or msg_id_type < 0:
        return _text(raw_id).strip(_STRIP)
    bit = 0x02 if from_receipt else 0x01
    return normalise_id(raw_id, bool(msg_id_type & bit))


def match_key(
    smsc_id: str, raw_id: str | bytes, msg_id_type: int | None, from_receipt: bool
) -> str:
    """`normalised_id` prefixed by the smsc-id: one string naming a message across links."""
    return f"{smsc_id}{KEY_SEPARATOR}{normalised_id(raw_id, msg_id_type, from_receipt)}"
