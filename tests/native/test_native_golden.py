"""Golden vectors, checked on both implementations: Kannel 1.4.5's bytes (REFERENCE §2.11,
§2.12 and docs/encoding.md, observed on Debian's kannel 1.4.5-12) and the national tables of
3GPP TS 23.038 annex A."""

from __future__ import annotations

from types import ModuleType

import pytest

from native import pure

try:
    from native import c
except ImportError:  # pragma: no cover - without a compiler the twin is checked alone
    IMPLEMENTATIONS: list[ModuleType] = [pure]
else:
    IMPLEMENTATIONS = [c, pure]


@pytest.fixture(params=IMPLEMENTATIONS, ids=lambda m: m.__name__)
def impl(request: pytest.FixtureRequest) -> ModuleType:
    return request.param


KANNEL_GSM = [
    # §2.12: the default alphabet, unpacked, one octet per septet
    ("@£$¥èéùìòÇØøÅåΔ_", "00 01 02 03 04 05 06 07 08 09 0B 0C 0E 0F 10 11"),
    # §2.12: the extension table as escape pairs
    ("{}[]~\\^|€", "1b28 1b29 1b3c 1b3e 1b3d 1b2f 1b14 1b40 1b65"),
    # §2.12: characters outside GSM (Cyrillic, ï) are `?` each
    ("Привет ï", "3f3f3f3f3f3f 20 3f"),
    # Kannel's converter: ç like Ç, form feed as 1B 0A, TAB and ESC as `?`
    ("çÇ\f\t\x1b", "09 09 1b0a 3f 3f"),
    # obs.: astral characters go octet by octet through the Latin-1 table
    ("😀", "3f3f3f3f"),
    ("🎣", "3f3f3f01"),
]

KANNEL_RAW = [
    # invalid UTF-8 in a request body, as Kannel's decoder reads it (obs., docs/encoding.md)
    (b"caf\xe9", "636166"),
    (b"\xe9t\xe9!x", "3f2178"),
    (b"A\xa3B", "410142"),
    (b"A\xffB", "413f42"),
]


@pytest.mark.parametrize(("text", "septets"), KANNEL_GSM)
def test_kannel_gsm(impl: ModuleType, text: str, septets: str) -> None:
    expected = bytes.fromhex(septets)
    assert impl.to_gsm(text) == expected
    assert impl.utf8_to_gsm(text.encode("utf-8")) == expected
    assert impl.septets(text) == len(expected)


@pytest.mark.parametrize(("raw", "septets"), KANNEL_RAW)
def test_kannel_invalid_utf8(impl: ModuleType, raw: bytes, septets: str) -> None:
    assert impl.utf8_to_gsm(raw) == bytes.fromhex(septets)


def test_kannel_ucs2(impl: ModuleType) -> None:
    """§2.12 coding=2&charset=UTF-8 → UTF-16BE; astral characters as surrogate pairs."""
    assert impl.to_ucs2("Hi") == bytes.fromhex("00480069")
    assert impl.to_ucs2("€😀") == bytes.fromhex("20ac d83dde00")
    assert impl.from_ucs2(bytes.fromhex("20ac d83dde00")) == "€😀"


def test_kannel_part_sizes(impl: ModuleType) -> None:
    """§2.11: 160 septets alone, 153 with the concatenation UDH (159 octets on the wire);
    140 octets of UCS-2 alone, 134 in parts; obs. 1700 characters, max 10 → ten of 153."""
    assert impl.encode_split("a" * 160, 0, 0, 6)[2] == (160,)
    assert impl.encode_split("a" * 161, 0, 0, 6)[2] == (153, 161)
    assert impl.encode_split("a" * 1700, 0, 0, 6, 140, 10)[2] == tuple(range(153, 1531, 153))
    assert impl.encode_split("ж" * 70, 2, 0, 6)[2] == (140,)
    assert impl.encode_split("ж" * 71, 2, 0, 6)[2] == (134, 142)
    # a 7-octet client UDH plus the IE: 146 septets, obs.
    assert impl.encode_split("a" * 300, 0, 7, 12)[2] == (146, 292, 300)


def test_kannel_escape_moves_whole(impl: ModuleType) -> None:
    """obs.: 152 × a + € → parts of 152 and `1b65…`; 159 × a + € → 153, then 6 a + €."""
    _, data, ends = impl.encode_split("a" * 152 + "€" + "b" * 10, 0, 0, 6)
    assert ends[0] == 152 and data[152:154] == b"\x1b\x65"
    _, data, ends = impl.encode_split("a" * 159 + "€", 0, 0, 6)
    assert ends == (153, 161)


def test_kannel_packing(impl: ModuleType) -> None:
    """TS 23.038 §6.1.2.1.1's example, and one fill bit after the 6-octet concatenation UDH."""
    assert impl.pack7(b"hellohello") == bytes.fromhex("e8329bfd4697d9ec37")
    assert impl.pack7(b"hellohello", 1) == bytes.fromhex("d06536fb8d2eb3d96f")
    assert impl.unpack7(bytes.fromhex("d06536fb8d2eb3d96f"), 10, 1) == b"hellohello"
    assert impl.pack7(b"") == b"" and impl.pack7(b"", 1) == b"\x00"


NATIONAL = [
    # (text, locking, single, septets): Turkish locking + single shift (A.3.1, A.2.1)
    ("şŞğĞıİç€", 1, 1, "1d 1c 0c 0b 07 40 60 04"),
    ("şçi", 0, 1, "1b73 1b63 69"),
    # Spanish single shift (A.2.2): accented vowels and ç as escapes
    ("áéíóúÁÍÓÚç", 0, 2, "1b61 05 1b69 1b6f 1b75 1b41 1b49 1b4f 1b55 1b09"),
    # Portuguese locking (A.3.3) with its single shift (A.2.3)
    ("ãõçÇêÊ^\\|~`", 3, 3, "7b 7c 09 13 04 1e 16 17 1a 60 7d"),
    ("ΦΓ{", 3, 3, "1b12 1b13 1b28"),
]


@pytest.mark.parametrize(("text", "locking", "single", "septets"), NATIONAL)
def test_national_tables(
    impl: ModuleType, text: str, locking: int, single: int, septets: str
) -> None:
    expected = bytes.fromhex(septets)
    assert impl.to_gsm(text, locking, single) == expected
    assert impl.gsm_encodable(text, locking, single)
    assert impl.from_gsm(expected, locking, single) == text


def test_national_tables_are_not_kannels(impl: ModuleType) -> None:
    """Without national tables these characters do not fit GSM: automatic coding picks
    UCS-2; with them it stays 7-bit. Spanish has no locking shift table."""
    assert not impl.gsm_encodable("şğ")
    assert impl.encode_split("şğ", -1)[0] == 2
    assert impl.encode_split("şğ", -1, 0, 6, 140, 255, 1, 1)[0] == 0
    with pytest.raises(ValueError):
        impl.to_gsm("x", 2, 0)
