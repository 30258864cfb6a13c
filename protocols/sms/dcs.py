"""Data coding scheme ↔ Kannel's message fields (coding, mclass, mwi, compress, alt-dcs).

Kannel encodes with gw/sms.c `fields_to_dcs(msg, mode)` and decodes MO with
`dcs_to_fields`; its SMPP connector (gw/smsc/smsc_smpp.c `msg_to_pdu`) adds one rule in
front: when a message class is set and no MWI, it *forces* mode 1 (the 1111xxxx group),
because 0001xxxx classes collide with reserved values. So `mclass=0` gives 0xF0, not 0x10.
`dcs_for` is what ends up in submit_sm.data_coding; `fields_to_dcs` is the bare function
for connectors that do not force (Kannel's HTTP and EMI ones).

Every branch, with the value Kannel 1.4.5-12 put on the wire (obs. = seen on loopback):

| fields | group | data_coding |
|---|---|---|
| nothing / coding 1 / coding 2 | 00xxxxxx | 0x00 / 0x04 / 0x08 (obs.) |
| compress=1 (+ coding 1) | 00xxxxxx, bit 5 | 0x20 / 0x24 (obs.) |
| compress=1 mclass=3 | 00xxxxxx (compress wins over forced mode 1) | 0x33 (obs.) |
| mclass=m, coding 0 / 1 | 1111xxxx, forced | 0xF0+m / 0xF4+m (obs. 0xF0, 0xF2, 0xF5) |
| mclass=m, coding 2 | UCS-2 cannot use 1111: 0001xxxx | 0x18+m (obs. 0x19) |
| alt-dcs=1, no mclass | 1111xxxx, class bits 01 ("ME specific") | 0xF1 / 0xF5 (obs.) |
| mwi 0–3 ("active"), coding 0 | 1101 1 0 ii (store, 7-bit) | 0xD8+i (obs. 0xD8) |
| mwi 0–3, coding 1 or 2 | 1110 1 0 ii (store, UCS-2 — Kannel's "XXX") | 0xE8+i (obs. 0xE9, 0xEA) |
| mwi 0–3, empty text | 1100 1 0 ii (discard) | 0xC8+i (obs.) |
| mwi 4–7 ("inactive") | 1100 0 0 ii (discard, inactive) | 0xC0+i−4 (obs. 0xC1) |
| mwi and mclass | MWI wins, class ignored | (obs. 0xDB) |
"""

from __future__ import annotations

from typing import NamedTuple

#: Kannel's SMS_PARAM_UNDEFINED.
UNDEF = -1
DC_7BIT = 0
DC_8BIT = 1
DC_UCS2 = 2


def _check(name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise ValueError(f"{name} must be {low}..{high}, not {value}")


def fields_to_dcs(
    coding: int,
    mclass: int = UNDEF,
    mwi: int = UNDEF,
    compress: int = UNDEF,
    mode: int = 0,
    *,
    has_text: bool = True,
) -> int:
    """Kannel's `fields_to_dcs`: mode 0 (or undefined) is 00xxxxxx, mode 1 is 1111xxxx.

    `coding` undefined counts as 7-bit (Kannel would pick 8-bit when there is a UDH; the
    caller resolves that, as smsbox does before this is reached). UCS-2 and compression
    cannot be expressed in 1111xxxx, so they fall back to mode 0 whatever `mode` says.
    `has_text` matters only for an active MWI: without text the group is "discard".
    """
    _check("coding", coding, UNDEF, DC_UCS2)
    _check("mclass", mclass, UNDEF, 3)
    _check("mwi", mwi, UNDEF, 7)
    _check("compress", compress, UNDEF, 1)
    _check("mode", mode, UNDEF, 1)
    if coding == UNDEF:
        coding = DC_7BIT
    if mwi != UNDEF:
        if mwi & 0x04:
            return 0xC0 | (mwi & 0x03)  # indication inactive, discard group
        dcs = 0x08 | (mwi & 0x03)  # indication active
        if not has_text:
            return dcs | 0xC0  # discard message
        return dcs | (0xD0 if coding == DC_7BIT else 0xE0)  # store; 0xE0 means UCS-2
    if mode != 1 or coding == DC_UCS2 or compress == 1:
        dcs = coding << 2
        if compress == 1:
            dcs |= 0x20
        if mclass != UNDEF:
            dcs |= 0x10 | mclass
        return dcs
    return 0xF0 | (coding << 2) | (1 if mclass == UNDEF else mclass)


def dcs_for(
    coding: int,
    mclass: int = UNDEF,
    mwi: int = UNDEF,
    compress: int = UNDEF,
    alt_dcs: int = 0,
    *,
    has_text: bool = True,
) -> int:
    """submit_sm.data_coding as Kannel's SMPP connector computes it.

    `alt_dcs` is the effective value: the request's `alt-dcs` if given, else the SMSC
    group's `alt-dcs` (default 0). A message class with no MWI forces mode 1.
    """
    _check("alt_dcs", alt_dcs, UNDEF, 1)
    mode = 1 if (mwi == UNDEF and mclass != UNDEF) else alt_dcs
    return fields_to_dcs(coding, mclass, mwi, compress, mode, has_text=has_text)


class DcsFields(NamedTuple):
    """Kannel's message fields for a DCS; `UNDEF` (-1) where the DCS says nothing."""

    coding: int
    mclass: int
    mwi: int
    compress: int


_INVALID = DcsFields(UNDEF, UNDEF, UNDEF, UNDEF)


def fields_of(dcs: int) -> DcsFields:
    """Kannel's `dcs_to_fields`, for MO and receipts: DCS → (coding, mclass, mwi, compress).

    Groups Kannel does not decode — 01xxxxxx (automatic deletion) and 10xxxxxx
    (reserved) — give all fields `UNDEF`; the caller then treats the text by the raw
    data_coding value, as Kannel's SMPP connector does. In 00xxxxxx the coding bits may be
    3 (reserved), returned as is. One deliberate difference: Kannel decodes the MWI
    "store, UCS-2" group 1110xxxx as 7-bit (its test for UCS-2 can never match, the 1111
    group being taken earlier); we return UCS-2, which is what the sender meant.
    """
    _check("dcs", dcs, 0, 0xFF)
    if dcs & 0xF0 == 0xF0:
        return DcsFields(DC_8BIT if dcs & 0x04 else DC_7BIT, dcs & 0x03, UNDEF, UNDEF)
    group = dcs & 0xC0
    if group == 0x00:
        mclass = dcs & 0x03 if dcs & 0x10 else UNDEF
        return DcsFields((dcs & 0x0C) >> 2, mclass, UNDEF, 1 if dcs & 0x20 else 0)
    if group == 0xC0:
        coding = DC_UCS2 if dcs & 0x30 == 0x20 else DC_7BIT
        # Kannel: bit 3 clear (inactive) adds 4; bit 2 (reserved) is kept as it comes.
        mwi = (dcs if dcs & 0x08 else dcs | 0x04) & 0x07
        return DcsFields(coding, UNDEF, mwi, UNDEF)
    return _INVALID


def is_alt_dcs(dcs: int) -> bool:
    """True for the 1111xxxx group (Kannel sets the message's alt-dcs to 1 for it)."""
    return dcs & 0xF0 == 0xF0
