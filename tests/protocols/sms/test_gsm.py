"""GSM 03.38 conversion and 7-bit packing against Kannel 1.4.5's bytes.

"obs." vectors were captured from Debian's kannel 1.4.5-12 (bearerbox + smsbox) submitting
to our SMSC simulator: sendsms text in, submit_sm short_message out.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from native import pure
from protocols.sms import gsm
from protocols.sms.gsm import from_gsm, pack7, septets, to_gsm, unpack7, utf8_to_gsm

GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = "\f^{}\\[~]|€"
gsm_text = st.text(alphabet=GSM_BASIC + GSM_EXTENSION, max_size=400)


# -- REFERENCE §2.12 golden vectors ---------------------------------------------------


def test_reference_basic_vector() -> None:
    assert to_gsm("@£$¥èéùìòÇØøÅåΔ_") == bytes.fromhex(
        "00 01 02 03 04 05 06 07 08 09 0B 0C 0E 0F 10 11"
    )


def test_reference_extension_vector() -> None:
    assert to_gsm("{}[]~\\^|€") == bytes.fromhex("1b28 1b29 1b3c 1b3e 1b3d 1b2f 1b14 1b40 1b65")


def test_non_gsm_characters_are_question_marks() -> None:
    assert to_gsm("Привет ï") == b"?" * 6 + b" ?"


# -- more obs. vectors ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Latin-1 letters: only the ones in the alphabet; no approximations, ç → 0x09
        (
            "àáâãäåæçèéêëìíîïðñòóôõö÷øùúûüýþÿ",
            "7f3f3f3f7b0f1d0904053f3f073f3f3f3f7d083f3f3f7c3f0c063f3f7e3f3f3f",
        ),
        (
            "ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖ×ØÙÚÛÜÝÞß",
            "3f3f3f3f5b0e1c093f1f3f3f3f3f3f3f3f5d3f3f3f3f5c3f0b3f3f3f5e3f3f1e",
        ),
        (
            "\u00a0¡¢£¤¥¦§¨©ª«¬\u00ad®¯°±²³´µ¶·¸¹º»¼½¾¿",
            "3f403f0124033f5f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f60",
        ),
        ("ΔΦΓΛΩΠΨΣΘΞαβ", "1012131415161718191a3f3f"),
        # TAB, backquote, DEL, the ESC character and NUL are all `?`
        ("a\tb`c\x7fd\x1be\x00f", "613f623f633f643f653f66"),
        # ç and Ç share 0x09; form feed is escaped; CR and LF are themselves
        ("çÇ\fx\r\n", "09091b0a780d0a"),
        # beyond the BMP: one septet per UTF-8 octet (lead `?`, continuations via Latin-1)
        ("a\U0001f600b", "613f3f3f3f62"),
        ("a\U0001f3a3b", "613f3f3f0162"),
        ("", ""),
    ],
)
def test_kannel_observed_vectors(text: str, expected: str) -> None:
    assert to_gsm(text) == bytes.fromhex(expected)
    assert utf8_to_gsm(text.encode("utf-8")) == bytes.fromhex(expected)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("636166e9", "636166"),  # Latin-1 é at the end: incomplete 3-octet sequence, dropped
        ("e974e92178", "3f2178"),  # lead octet swallows two octets: U+9D29 → ?
        ("41ff42", "413f42"),  # 0xFF is ÿ, not in the alphabet
        ("41a342", "410142"),  # a stray 0xA3 is £
        ("c34142", "3f42"),  # 2-octet lead takes `A` with it: U+00C1 → ?
        ("c3", ""),  # incomplete at the end
    ],
)
def test_invalid_utf8_as_kannel(raw: str, expected: str) -> None:
    assert utf8_to_gsm(bytes.fromhex(raw)) == bytes.fromhex(expected)


# -- properties --------------------------------------------------------------------------


@given(gsm_text)
def test_round_trip_of_gsm_text(text: str) -> None:
    assert from_gsm(to_gsm(text)) == text


@given(gsm_text)
def test_septets_count_extension_characters_twice(text: str) -> None:
    extension = sum(ch in GSM_EXTENSION for ch in text)
    assert septets(text) == len(text) + extension


@given(st.text(max_size=200))
def test_any_text_gives_septets_and_well_formed_escapes(text: str) -> None:
    data = to_gsm(text)
    assert all(octet < 0x80 for octet in data)
    assert data == utf8_to_gsm(text.encode("utf-8", "surrogatepass"))
    pos = 0
    while pos < len(data):
        if data[pos] == gsm.ESC:
            assert pos + 1 < len(data) and data[pos + 1] != gsm.ESC
            pos += 1
        pos += 1


@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=200))
def test_ascii_fast_path_agrees_with_the_table(text: str) -> None:
    table, _ = pure._tables(0, 0)  # the per-character table, without the ASCII shortcut
    assert to_gsm(text) == text.translate(table).encode("latin-1")


@given(st.binary(max_size=200))
def test_utf8_to_gsm_takes_any_octets(raw: bytes) -> None:
    assert all(octet < 0x80 for octet in utf8_to_gsm(raw))


def test_every_non_gsm_bmp_character_is_one_question_mark() -> None:
    mapped = set(GSM_BASIC + GSM_EXTENSION + "ç")
    for code_point in range(0x10000):
        ch = chr(code_point)
        if ch not in mapped:
            assert to_gsm(ch) == b"?", hex(code_point)


# -- decoding ----------------------------------------------------------------------------


def test_from_gsm_unknown_escape_is_the_base_character() -> None:
    assert from_gsm(b"\x1b\x41") == "A"  # TS 23.038: show the main-table character


def test_from_gsm_escape_escape_and_trailing_escape_are_spaces() -> None:
    assert from_gsm(b"a\x1b\x1bb") == "a b"
    assert from_gsm(b"a\x1b") == "a "


def test_from_gsm_skips_octets_above_0x7f() -> None:
    assert from_gsm(b"a\x80b") == "ab"
    assert from_gsm(b"a\x1b\x28\xffb") == "a{b"


# -- packing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("septet_text", "fill", "packed"),
    [
        ("hellohello", 0, "e8329bfd4697d9ec37"),
        ("Hello", 0, "c8329bfd06"),
        ("12345678", 0, "31d98c56b3dd70"),  # 8 septets fill exactly 7 octets
        ("hellohello", 1, "d06536fb8d2eb3d96f"),  # the line above shifted by one bit
        ("", 0, ""),
    ],
)
def test_pack7_vectors(septet_text: str, fill: int, packed: str) -> None:
    data = to_gsm(septet_text)
    assert pack7(data, fill).hex() == packed
    assert unpack7(bytes.fromhex(packed), len(data), fill) == data


@given(st.binary(max_size=300).map(lambda b: bytes(o & 0x7F for o in b)), st.integers(0, 6))
def test_pack7_round_trip(data: bytes, fill: int) -> None:
    packed = pack7(data, fill)
    assert len(packed) == (7 * len(data) + fill + 7) // 8
    assert unpack7(packed, len(data), fill) == data
    if data:
        assert packed[0] & ((1 << fill) - 1) == 0  # the fill bits are zero


def test_pack7_and_unpack7_check_their_arguments() -> None:
    with pytest.raises(ValueError):
        pack7(b"a", 7)
    with pytest.raises(ValueError):
        unpack7(b"\x00", 2)
    with pytest.raises(ValueError):
        unpack7(b"\x00" * 7, 8, 1)
