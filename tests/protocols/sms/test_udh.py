"""UDH: the concatenation IE Kannel adds, smsbox's client-UDH check, and the MO parser."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.sms.udh import (
    Concat,
    InformationElement,
    Ports,
    UdhError,
    UdhProblem,
    add_concat,
    client_udh_problem,
    concat_udh,
    fill_bits,
    parse_udh,
    split_user_data,
    valid_client_udh,
)


def test_concat_udh() -> None:
    assert concat_udh(0x01, 10, 1) == bytes.fromhex("050003010a01")  # obs. 1700 chars


def test_concat_ie_goes_after_the_clients_ies() -> None:
    # obs.: udh=0605040b8423f0, concatenated, reference 3
    assert add_concat(bytes.fromhex("0605040b8423f0"), 3, 2, 1) == bytes.fromhex(
        "0b05040b8423f00003030201"
    )
    # obs.: a client's own concatenation IE is kept; Kannel's comes after it
    assert add_concat(bytes.fromhex("050003cc0201"), 6, 2, 2) == bytes.fromhex(
        "0a0003cc02010003060202"
    )


def test_add_concat_checks_octets() -> None:
    with pytest.raises(ValueError):
        add_concat(b"", 256, 1, 1)


@pytest.mark.parametrize(
    ("udh", "problem"),
    [
        ("", None),  # an empty udh= is accepted and means none
        ("050003010201", None),
        ("0605040b8423f0", None),
        ("050003", UdhProblem.MISFORMED),
        ("07050003010201", UdhProblem.MISFORMED),
        ("8c" + "00" * 140, UdhProblem.TOO_LONG),  # consistent length octet, 141 octets
        ("8b" + "00" * 139, None),  # 140 octets
    ],
)
def test_client_udh_check(udh: str, problem: UdhProblem | None) -> None:
    assert client_udh_problem(bytes.fromhex(udh)) is problem
    assert valid_client_udh(bytes.fromhex(udh)) is (problem is None)


def test_parse_udh_concat_and_ports() -> None:
    udh = parse_udh(bytes.fromhex("0b05040b8423f00003030201"))
    assert udh.concat == Concat(ref=3, total=2, seq=1, ref_bits=8)
    assert udh.ports == Ports(dst=0x0B84, src=0x23F0, bits=16)
    assert udh.ies == (
        InformationElement(0x05, bytes.fromhex("0b8423f0")),
        InformationElement(0x00, bytes.fromhex("030201")),
    )


def test_parse_udh_16_bit_reference_and_8_bit_ports() -> None:
    udh = parse_udh(bytes.fromhex("0a080412340302040250c0"))
    assert udh.concat == Concat(ref=0x1234, total=3, seq=2, ref_bits=16)
    assert udh.ports == Ports(dst=0x50, src=0xC0, bits=8)


def test_parse_udh_last_repeated_ie_wins_and_odd_sizes_are_not_interpreted() -> None:
    udh = parse_udh(bytes.fromhex("0e0003010201000302020200020102"))
    assert udh.concat == Concat(ref=2, total=2, seq=2, ref_bits=8)
    assert udh.ies[-1] == InformationElement(0x00, b"\x01\x02")


@pytest.mark.parametrize("udh", ["", "05000301", "0300", "04000301", "0500040102"])
def test_parse_udh_refuses_inconsistent_lengths(udh: str) -> None:
    with pytest.raises(UdhError):
        parse_udh(bytes.fromhex(udh))


def test_split_user_data() -> None:
    assert split_user_data(bytes.fromhex("050003010201aabb")) == (
        bytes.fromhex("050003010201"),
        b"\xaa\xbb",
    )
    with pytest.raises(UdhError):
        split_user_data(b"\x05\x00")
    with pytest.raises(UdhError):
        split_user_data(b"")


def test_fill_bits() -> None:
    assert [fill_bits(n) for n in (0, 1, 6, 7, 12)] == [0, 6, 1, 0, 2]


@given(st.integers(0, 255), st.integers(1, 255), st.integers(1, 255), st.binary(max_size=20))
def test_concat_round_trip(ref: int, total: int, seq: int, ie_data: bytes) -> None:
    client = bytes((len(ie_data) + 2, 0x70, len(ie_data))) + ie_data
    udh = add_concat(client, ref, total, seq)
    assert valid_client_udh(udh)
    assert parse_udh(udh).concat == Concat(ref, total, seq, 8)
    assert udh[1 : len(client)] == client[1:]
