"""User Data Header: the concatenation IE we add, the client UDH check, and a parser for MO.

A UDH here always includes its first octet, the UDH length (UDHL), as in Kannel's
`msg->sms.udhdata` and in short_message: `05 00 03 ref total seq` is a complete UDH.

Kannel adds concatenation in gw/sms.c `prepend_catenation_udh` — despite the name it
*appends* the IE after whatever IEs the client's UDH already holds and then rewrites the
length octet. Observed on Kannel 1.4.5-12 with `udh=06 05 04 0B 84 23 F0`:
`0B 05 04 0B 84 23 F0 00 03 ref 02 01`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

#: Kannel's MAX_SMS_OCTETS: a client UDH may not be longer (smsbox.c).
MAX_UDH_OCTETS = 140

IEI_CONCAT_8 = 0x00
IEI_PORTS_8 = 0x04
IEI_PORTS_16 = 0x05
IEI_CONCAT_16 = 0x08

#: Octets the 8-bit concatenation IE takes: IEI, IEDL, ref, total, seq.
CONCAT_IE_OCTETS = 5


def concat_udh(ref: int, total: int, seq: int) -> bytes:
    """A UDH with only the 8-bit-reference concatenation IE: `05 00 03 ref total seq`."""
    return add_concat(b"", ref, total, seq)


def add_concat(udh: bytes, ref: int, total: int, seq: int) -> bytes:
    """`udh` (possibly empty) with the concatenation IE appended, UDHL rewritten (Kannel)."""
    for name, value in (("ref", ref), ("total", total), ("seq", seq)):
        if not 0 <= value <= 0xFF:
            raise ValueError(f"{name} must fit in an octet, not {value}")
    ies = udh[1:] + bytes((IEI_CONCAT_8, 3, ref, total, seq))
    return bytes((len(ies),)) + ies


class UdhProblem(enum.Enum):
    """Why smsbox refuses a client's `udh` (checked in this order)."""

    #: first octet ≠ length − 1 → `UDH field misformed, rejected`
    MISFORMED = "misformed"
    #: more than 140 octets → `UDH field is too long, rejected`
    TOO_LONG = "too long"


def client_udh_problem(udh: bytes) -> UdhProblem | None:
    """smsbox's check of a client UDH, or None when it passes.

    An empty UDH passes (Kannel reads the missing first octet as -1, and -1 + 1 == 0): it
    means "no UDH".
    """
    if udh and udh[0] != len(udh) - 1:
        return UdhProblem.MISFORMED
    if len(udh) > MAX_UDH_OCTETS:
        return UdhProblem.TOO_LONG
    return None


def valid_client_udh(udh: bytes) -> bool:
    """True when smsbox would accept `udh` (see `client_udh_problem`)."""
    return client_udh_problem(udh) is None


def fill_bits(udh_length: int) -> int:
    """Zero bits between a UDH of `udh_length` octets and packed 7-bit text (0–6)."""
    return -(udh_length * 8) % 7


class UdhError(ValueError):
    """A UDH whose lengths do not add up."""


@dataclass(frozen=True, slots=True)
class InformationElement:
    """One IE: identifier and data (without its length octet)."""

    iei: int
    data: bytes


@dataclass(frozen=True, slots=True)
class Concat:
    """A concatenation IE: reference (8 or 16 bits), number of parts, this part's number."""

    ref: int
    total: int
    seq: int
    ref_bits: int


@dataclass(frozen=True, slots=True)
class Ports:
    """An application port addressing IE (8- or 16-bit ports)."""

    dst: int
    src: int
    bits: int


@dataclass(frozen=True, slots=True)
class Udh:
    """A parsed UDH: every IE in order, and the ones reassembly and routing look at."""

    ies: tuple[InformationElement, ...]
    concat: Concat | None
    ports: Ports | None


def split_user_data(user_data: bytes) -> tuple[bytes, bytes]:
    """short_message with the UDHI bit set → (UDH including UDHL, the rest)."""
    if not user_data:
        raise UdhError("UDHI set but no user data")
    end = user_data[0] + 1
    if end > len(user_data):
        raise UdhError(f"UDHL {user_data[0]} exceeds the {len(user_data)} octets of user data")
    return user_data[:end], user_data[end:]


def parse_udh(udh: bytes) -> Udh:
    """Parse a UDH (UDHL first). IEs of the wrong size for their type are kept in `ies`
    but not interpreted; when an IE repeats, the last one counts (TS 23.040 §9.2.3.24)."""
    if not udh or udh[0] != len(udh) - 1:
        raise UdhError("UDHL does not match the UDH length")
    ies: list[InformationElement] = []
    concat: Concat | None = None
    ports: Ports | None = None
    pos = 1
    while pos < len(udh):
        if pos + 2 > len(udh):
            raise UdhError(f"IE at octet {pos} has no length octet")
        iei, size = udh[pos], udh[pos + 1]
        data = udh[pos + 2 : pos + 2 + size]
        if len(data) != size:
            raise UdhError(f"IE 0x{iei:02x} at octet {pos} runs past the UDH")
        pos += 2 + size
        ies.append(InformationElement(iei, data))
        if iei == IEI_CONCAT_8 and size == 3:
            concat = Concat(data[0], data[1], data[2], 8)
        elif iei == IEI_CONCAT_16 and size == 4:
            concat = Concat(int.from_bytes(data[:2], "big"), data[2], data[3], 16)
        elif iei == IEI_PORTS_16 and size == 4:
            ports = Ports(int.from_bytes(data[:2], "big"), int.from_bytes(data[2:], "big"), 16)
        elif iei == IEI_PORTS_8 and size == 2:
            ports = Ports(data[0], data[1], 8)
    return Udh(tuple(ies), concat, ports)
