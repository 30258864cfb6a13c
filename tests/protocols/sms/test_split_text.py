"""`split_text`: text → coding and parts in one native call, with 8-bit, 16-bit and SAR
catenation and national language IEs."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.sms.charset import from_ucs2
from protocols.sms.dcs import DC_7BIT, DC_UCS2
from protocols.sms.gsm import from_gsm, to_gsm
from protocols.sms.split import Catenation, national_ies, split, split_text
from protocols.sms.udh import parse_udh


def test_short_gsm_text_is_one_part_without_udh() -> None:
    coding, parts = split_text("Hello")
    assert coding == DC_7BIT
    assert [(p.udh, p.payload, p.seq, p.total) for p in parts] == [(b"", b"Hello", 1, 1)]


def test_auto_coding_picks_ucs2_for_what_gsm_lacks() -> None:
    coding, parts = split_text("Привет")
    assert coding == DC_UCS2 and parts[0].payload == "Привет".encode("utf-16-be")


def test_8bit_reference_matches_kannels_split() -> None:
    """REF8 gives the same parts as Kannel's two-pass `split` with concatenation."""
    text = "a" * 152 + "€" + "b" * 300
    _, parts = split_text(text, DC_7BIT, ref=7)
    kannel = split(to_gsm(text), DC_7BIT, concatenation=True, max_messages=-1, ref=7)
    assert parts == kannel


def test_16bit_reference() -> None:
    _, parts = split_text("ж" * 200, catenation=Catenation.REF16, ref=0x1234)
    assert [len(p.payload) for p in parts] == [132, 132, 132, 4]
    concat = parse_udh(parts[1].udh).concat
    assert concat is not None and (concat.ref, concat.total, concat.seq, concat.ref_bits) == (
        0x1234,
        4,
        2,
        16,
    )


def test_sar_parts_have_no_udh_and_a_whole_sms_of_room() -> None:
    _, parts = split_text("a" * 400, catenation=Catenation.SAR)
    assert [(p.udh, len(p.payload), p.seq, p.total) for p in parts] == [
        (b"", 160, 1, 3),
        (b"", 160, 2, 3),
        (b"", 80, 3, 3),
    ]


def test_national_tables_add_their_ies_to_every_part() -> None:
    coding, parts = split_text("ş" * 200, locking=1, single=1)
    assert coding == DC_7BIT
    assert [len(p.payload) for p in parts] == [146, 54]
    ies = {ie.iei: ie.data for ie in parse_udh(parts[0].udh).ies}
    assert ies == {0x24: b"\x01", 0x25: b"\x01", 0x00: b"\x00\x02\x01"}
    assert national_ies(0, 2) == b"\x24\x01\x02"


def test_national_tables_do_not_apply_to_ucs2() -> None:
    coding, parts = split_text("ş中", locking=1, single=1)
    assert coding == DC_UCS2 and parts[0].udh == b""


def test_max_parts_drops_the_rest() -> None:
    _, parts = split_text("a" * 1700, max_parts=10)
    assert len(parts) == 10 and parts[-1].total == 10


def test_catenation_caps_parts_at_255() -> None:
    with pytest.raises(ValueError):
        split_text("a", max_parts=256)


@settings(max_examples=200)
@given(
    st.text(max_size=800),
    st.sampled_from(list(Catenation)),
    st.sampled_from([(0, 0), (1, 1), (0, 2), (3, 3)]),
)
def test_parts_join_back_to_the_text(text: str, catenation: Catenation, tables: tuple) -> None:
    locking, single = tables
    coding, parts = split_text(text, catenation=catenation, locking=locking, single=single)
    data = b"".join(p.payload for p in parts)
    for part in parts:
        assert len(part.udh) + (len(part.payload) * 7 + 7) // 8 <= 140 or coding != DC_7BIT
        assert len(part.udh) + len(part.payload) <= 140 or coding == DC_7BIT
    if coding == DC_7BIT:
        assert from_gsm(data, locking=locking, single=single) == from_gsm(
            to_gsm(text, locking=locking, single=single), locking=locking, single=single
        )
    else:
        assert from_ucs2(data) == text.encode("utf-16-be", "replace").decode("utf-16-be")
