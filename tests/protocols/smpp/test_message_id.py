"""msg-id-type normalisation: the submit_sm_resp id and the receipt id of one message meet.

Cases are the ones carriers produce (issue 5): ids above 2^63 in decimal on one side and hex
on the other, leading zeros, mixed case; and ids that are not numbers at all never raise.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.smpp.message_id import KEY_SEPARATOR, match_key, normalise_id

BIG = 9380935605053030457  # > 2^63: Kannel's strtoll would saturate it
BIG_HEX = "822FC7470000001B"


def test_big_ids_keep_full_precision() -> None:
    assert BIG > 2**63
    assert int(BIG_HEX, 16) != BIG  # a distinct number, to show no saturation merges them
    assert normalise_id(str(BIG), hex_in=False) == str(BIG)
    assert normalise_id(format(BIG, "X"), hex_in=True) == str(BIG)
    assert normalise_id("812FC7470000001B", hex_in=True) == str(0x812FC7470000001B)
    assert normalise_id("812FC7470000001B", hex_in=True) != normalise_id(BIG_HEX, hex_in=True)


@pytest.mark.parametrize(
    "raw", ["00B8BE19", "b8be19", "B8BE19", "00b8BE19", b"00B8BE19\0", " b8be19\n"]
)
def test_leading_zeros_case_and_padding_do_not_matter(raw: str | bytes) -> None:
    assert normalise_id(raw, hex_in=True) == str(0xB8BE19)


def test_decimal_leading_zeros() -> None:
    assert normalise_id("000123", hex_in=False) == "123"


def test_non_digits_are_read_as_hex_even_when_decimal_is_declared() -> None:
    # Kannel: `(type & 2) || !all digits` → strtoll(..., 16).
    assert normalise_id("1a", hex_in=False) == "26"


@pytest.mark.parametrize("raw", ["", "abc-123", "0x", "12 34", "ü", "g00d"])
def test_invalid_numbers_fall_back_to_the_stripped_string(raw: str) -> None:
    assert normalise_id(f" {raw}\0", hex_in=True) == raw.strip()
    assert normalise_id(f" {raw}\0", hex_in=False) == raw.strip()


@pytest.mark.parametrize(
    ("msg_id_type", "submit_id", "receipt_id"),
    [
        (0, str(BIG), str(BIG)),
        (0, "0001795248276000055", "1795248276000055"),
        (1, format(BIG, "X"), str(BIG)),
        (1, "812fc7470000001b", str(0x812FC7470000001B)),
        (2, str(BIG), format(BIG, "x")),
        (2, str(0xB8BE19), "00B8BE19"),
        (3, "00B8BE19", "b8be19"),
        (3, "812FC7470000001B", "812fc7470000001b"),
    ],
)
def test_submit_and_receipt_ids_meet_under_each_msg_id_type(
    msg_id_type: int, submit_id: str, receipt_id: str
) -> None:
    submitted = match_key("sink", submit_id.encode(), msg_id_type, from_receipt=False)
    received = match_key("sink", receipt_id, msg_id_type, from_receipt=True)
    assert submitted == received


def test_unset_msg_id_type_compares_strings_but_strips() -> None:
    assert match_key("sink", b"00B8BE19\0", None, False) == match_key(
        "sink", " 00B8BE19", None, True
    )
    assert match_key("sink", "00B8BE19", None, False) != match_key("sink", "b8be19", None, True)
    assert match_key("sink", "abc", -1, False) == f"sink{KEY_SEPARATOR}abc"


def test_keys_are_per_smsc() -> None:
    assert match_key("a", "1", 0, False) != match_key("b", "1", 0, True)


def test_declared_type_is_per_side() -> None:
    # msg-id-type 1: submit_sm_resp hex, receipts decimal: "10" means 16 in one, 10 in the other.
    assert match_key("s", "10", 1, False) == match_key("s", "16", 1, True)
    assert match_key("s", "10", 2, False) == match_key("s", "a", 2, True)


@given(st.binary(max_size=80), st.sampled_from([None, -1, 0, 1, 2, 3]), st.booleans())
def test_never_raises(raw: bytes, msg_id_type: int | None, from_receipt: bool) -> None:
    key = match_key("sink", raw, msg_id_type, from_receipt)
    assert key.startswith("sink" + KEY_SEPARATOR)


@given(st.integers(min_value=0, max_value=2**128))
def test_any_number_round_trips_between_bases(number: int) -> None:
    assert match_key("s", format(number, "X"), 1, False) == match_key("s", str(number), 1, True)
    assert match_key("s", "00" + format(number, "x"), 3, False) == match_key(
        "s", format(number, "X"), 3, True
    )
