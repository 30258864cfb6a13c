"""Request charsets: names Kannel accepts, and the octets it makes of them (obs. 1.4.5-12)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.sms.charset import (
    CharsetError,
    codec_for,
    decode_text,
    from_ucs2,
    to_ucs2,
    to_utf8,
)
from protocols.sms.gsm import to_gsm, utf8_to_gsm


@pytest.mark.parametrize(
    ("name", "codec"),
    [
        ("UTF-8", "utf-8"),
        ("utf8", "utf-8"),
        ("ISO-8859-1", "iso8859-1"),
        ("ISO88591", "iso8859-1"),
        ("latin1", "iso8859-1"),
        ("WINDOWS-1252", "cp1252"),
        ("CP1251", "cp1251"),
        ("UTF-16BE", "utf-16-be"),
        ("UTF16BE", "utf-16-be"),
        ("UTF-16", "utf-16"),
        ("UCS-2", "utf-16-le"),
        ("ucs-2be", "utf-16-be"),
        ("UCS-4", "utf-32-be"),
        ("MS-ANSI", "cp1252"),
        ("ISO-8859-1//TRANSLIT", "iso8859-1"),
        (" KOI8-R ", "koi8-r"),
    ],
)
def test_known_charsets(name: str, codec: str) -> None:
    assert codec_for(name) == codec


@pytest.mark.parametrize(
    "name", ["BOGUS-1", "", "base64", "rot13", "hex", "idna", "unicode_escape", "charmap"]
)
def test_unknown_charsets_and_non_charsets_are_rejected(name: str) -> None:
    with pytest.raises(CharsetError):
        codec_for(name)
    with pytest.raises(CharsetError):
        decode_text(b"abc", name)


def test_empty_text_never_checks_the_charset() -> None:
    # obs.: charset=BOGUS-1 with an empty text → 202 and an empty SMS
    assert decode_text(b"", "BOGUS-1") == ""
    assert to_utf8(b"", "BOGUS-1") == b""


def test_decode_text_defaults_to_utf8_and_replaces_invalid_octets() -> None:
    assert decode_text("é€".encode(), None) == "é€"
    assert decode_text(b"A\xffB", None) == "A?B"
    assert decode_text(b"A\xffB", "UTF-8") == "A?B"
    assert decode_text(b"caf\xe9", "ISO-8859-1") == "café"


@pytest.mark.parametrize(
    ("raw", "charset", "septets"),
    [
        ("e9", "ISO-8859-1", "05"),  # REFERENCE §2.12: é → 0x05
        ("00410042", "UCS-2", "3f3f"),  # glibc UCS-2 is little-endian here: U+4100 U+4200
        ("00410042", "UCS-2BE", "4142"),
        ("00410042", "UTF-16", "3f3f"),  # no BOM: little-endian too
        ("d83cdfa3", "UTF-16BE", "3f3f3f01"),  # U+1F3A3 through Kannel's UTF-8 decoder
        ("418142", "WINDOWS-1252", "413f42"),  # 0x81 undefined: copied through, then `?`
        ("e9", "utf8", ""),  # not converted; a lone lead octet at the end vanishes
        ("41ff42", None, "413f42"),
    ],
)
def test_coding_0_path_matches_kannel(raw: str, charset: str | None, septets: str) -> None:
    assert utf8_to_gsm(to_utf8(bytes.fromhex(raw), charset)) == bytes.fromhex(septets)


def test_to_utf8_copies_what_it_cannot_convert() -> None:
    assert to_utf8(b"\x00A\x00", "UTF-16BE") == b"A\x00"  # odd trailing octet, even < 0x80
    assert to_utf8(b"A\x81B", "cp1252") == b"A\x81B"
    assert to_utf8(b"\xe9", "ISO-8859-1") == "é".encode()
    with pytest.raises(CharsetError):
        to_utf8(b"x", "BOGUS-1")


def test_to_ucs2_is_utf16be_with_surrogate_pairs() -> None:
    assert to_ucs2("Hi") == bytes.fromhex("00480069")
    assert to_ucs2("ж\U0001f600") == bytes.fromhex("0436d83dde00")
    assert to_ucs2("a\ud800b") == bytes.fromhex("0061003f0062")


def test_from_ucs2_replaces_broken_units() -> None:
    assert from_ucs2(bytes.fromhex("0436d83dde00")) == "ж\U0001f600"
    assert from_ucs2(bytes.fromhex("0041d800")) == "A??"
    assert from_ucs2(bytes.fromhex("004100")) == "A?"


@given(st.text(max_size=100))
def test_valid_utf8_agrees_between_the_clean_and_the_kannel_path(text: str) -> None:
    raw = text.encode("utf-8")
    assert utf8_to_gsm(to_utf8(raw, None)) == to_gsm(decode_text(raw, None))


@given(st.text(max_size=100))
def test_ucs2_round_trip(text: str) -> None:
    assert from_ucs2(to_ucs2(text)) == text
