"""data_coding from Kannel's fields, one row per branch; the values are what Kannel 1.4.5-12
put in submit_sm for the matching sendsms parameters (REFERENCE §2.12 and our own runs)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.sms.dcs import UNDEF, DcsFields, dcs_for, fields_of, fields_to_dcs, is_alt_dcs


@pytest.mark.parametrize(
    ("request_params", "kwargs", "dcs"),
    [
        ("(defaults)", {"coding": 0}, 0x00),
        ("coding=1", {"coding": 1}, 0x04),
        ("coding=2", {"coding": 2}, 0x08),
        ("mclass=0", {"coding": 0, "mclass": 0}, 0xF0),
        ("mclass=2", {"coding": 0, "mclass": 2}, 0xF2),
        ("alt-dcs=1&mclass=1", {"coding": 0, "mclass": 1, "alt_dcs": 1}, 0xF1),
        ("alt-dcs=1", {"coding": 0, "alt_dcs": 1}, 0xF1),
        ("alt-dcs=1&coding=1", {"coding": 1, "alt_dcs": 1}, 0xF5),
        ("mclass=1&coding=1", {"coding": 1, "mclass": 1}, 0xF5),
        ("mclass=1&coding=2", {"coding": 2, "mclass": 1}, 0x19),
        ("mclass=3&compress=1", {"coding": 0, "mclass": 3, "compress": 1}, 0x33),
        ("compress=1", {"coding": 0, "compress": 1}, 0x20),
        ("compress=1&coding=1", {"coding": 1, "compress": 1}, 0x24),
        ("mwi=0", {"coding": 0, "mwi": 0}, 0xD8),
        ("mwi=0, empty text", {"coding": 0, "mwi": 0, "has_text": False}, 0xC8),
        ("mwi=1&coding=2", {"coding": 2, "mwi": 1}, 0xE9),
        ("mwi=2&coding=1", {"coding": 1, "mwi": 2}, 0xEA),
        ("mwi=5", {"coding": 0, "mwi": 5}, 0xC1),
        ("mwi=3&mclass=1", {"coding": 0, "mwi": 3, "mclass": 1}, 0xDB),
    ],
)
def test_dcs_for_matches_kannel(request_params: str, kwargs: dict[str, int], dcs: int) -> None:
    assert dcs_for(**kwargs) == dcs, request_params


def test_undefined_coding_is_7bit() -> None:
    assert dcs_for(UNDEF) == 0x00


def test_fields_to_dcs_without_the_smpp_forcing() -> None:
    assert fields_to_dcs(0, mclass=0) == 0x10
    assert fields_to_dcs(0, mclass=0, mode=1) == 0xF0
    assert fields_to_dcs(1, mode=UNDEF) == 0x04


@pytest.mark.parametrize(
    "kwargs",
    [
        {"coding": 3},
        {"coding": 0, "mclass": 4},
        {"coding": 0, "mwi": 8},
        {"coding": 0, "alt_dcs": 2},
    ],
)
def test_out_of_range_fields_are_refused(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        dcs_for(**kwargs)


@pytest.mark.parametrize(
    ("dcs", "fields"),
    [
        (0x00, DcsFields(0, UNDEF, UNDEF, 0)),
        (0x04, DcsFields(1, UNDEF, UNDEF, 0)),
        (0x08, DcsFields(2, UNDEF, UNDEF, 0)),
        (0x0C, DcsFields(3, UNDEF, UNDEF, 0)),  # reserved coding bits, as Kannel
        (0x19, DcsFields(2, 1, UNDEF, 0)),
        (0x33, DcsFields(0, 3, UNDEF, 1)),
        (0xF0, DcsFields(0, 0, UNDEF, UNDEF)),
        (0xF5, DcsFields(1, 1, UNDEF, UNDEF)),
        (0xC1, DcsFields(0, UNDEF, 5, UNDEF)),
        (0xC8, DcsFields(0, UNDEF, 0, UNDEF)),
        (0xDB, DcsFields(0, UNDEF, 3, UNDEF)),
        (0xE9, DcsFields(2, UNDEF, 1, UNDEF)),  # Kannel says 7-bit here (its bug)
        (0xDC, DcsFields(0, UNDEF, 4, UNDEF)),  # reserved bit 2 kept, as Kannel
        (0x40, DcsFields(UNDEF, UNDEF, UNDEF, UNDEF)),
        (0xBF, DcsFields(UNDEF, UNDEF, UNDEF, UNDEF)),
    ],
)
def test_fields_of(dcs: int, fields: DcsFields) -> None:
    assert fields_of(dcs) == fields


@given(
    st.integers(0, 2),
    st.integers(-1, 3),
    st.integers(-1, 7),
    st.integers(-1, 1),
    st.integers(-1, 1),
)
def test_fields_survive_a_round_trip(
    coding: int, mclass: int, mwi: int, compress: int, alt_dcs: int
) -> None:
    back = fields_of(dcs_for(coding, mclass, mwi, compress, alt_dcs))
    if mwi != UNDEF:
        assert back.mwi == mwi
        # MWI groups: store 7-bit, store UCS-2 (Kannel's choice for 8-bit too), discard.
        assert back.coding == (0 if coding == 0 or mwi >= 4 else 2)
    else:
        assert back.coding == coding
        in_1111_group = alt_dcs == 1 and coding != 2 and compress != 1
        # 1111xxxx has no "no class": Kannel writes class 1 (ME specific) then.
        assert back.mclass == (1 if mclass == UNDEF and in_1111_group else mclass)
        if compress == 1:
            assert back.compress == 1


def test_is_alt_dcs() -> None:
    assert is_alt_dcs(0xF1) and not is_alt_dcs(0x11)
