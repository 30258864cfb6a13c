"""The C encoder and its pure-Python twin give byte-identical results for every function.

Both implementations are imported directly and run in this process on the same inputs:
random Unicode (astral characters and lone surrogates included), GSM texts with extension
characters placed at every part boundary, raw octets, empty and maximal inputs. A
difference anywhere fails the test with the input that shows it.

These tests need the C module: an installation without a compiler cannot run them, so they
fail loudly (not skip) unless PASSERELLE_NATIVE_OPTIONAL=1 says that is expected.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from native import pure
from native.tables import DEFAULT, DEFAULT_EXTENSION, LOCKING_TABLES, SINGLE_TABLES

try:
    from native import c
except ImportError:  # pragma: no cover - only without a compiler
    if os.environ.get("PASSERELLE_NATIVE_OPTIONAL") != "1":
        raise
    pytest.skip("C encoder not built (PASSERELLE_NATIVE_OPTIONAL=1)", allow_module_level=True)

GSM_BASIC = DEFAULT.replace("\x1b", "")
GSM_EXTENSION = "".join(DEFAULT_EXTENSION.values())
NATIONAL_CHARS = "ğĞıİşŞçÇáÁíÍóÓúÚêÊôÔãÃõÕâÂàÀªº∞`^\\|~€"
ASTRAL = "😀🎣𝄞🂡\U0010ffff\U00040000\U00041234"
LONE_SURROGATES = "\ud800\udbff\udc00\udfff"

tables = st.tuples(st.sampled_from(LOCKING_TABLES), st.sampled_from(SINGLE_TABLES))
any_text = st.text(max_size=400)  # all of Unicode, astral included, lone surrogates included
mixed_text = st.text(
    alphabet=st.sampled_from(GSM_BASIC + GSM_EXTENSION + NATIONAL_CHARS + ASTRAL + LONE_SURROGATES
                             + "\x1b\t`Жй中"),
    max_size=700,
)  # fmt: skip
texts = st.one_of(any_text, mixed_text)
octets = st.binary(max_size=700)


def same(function: str, *args: Any) -> Any:
    """Call `function` on both implementations: equal results, or the same exception."""
    results = []
    for implementation in (c, pure):
        call: Callable[..., Any] = getattr(implementation, function)
        try:
            results.append(("ok", call(*args)))
        except (ValueError, OverflowError) as error:
            results.append(("error", type(error)))
    assert results[0] == results[1], (function, args)
    if results[0][0] == "ok":
        assert type(results[0][1]) is type(results[1][1])
    return results[0][1]


def gsm_at_boundaries(room: int = 153) -> st.SearchStrategy[str]:
    """GSM texts with an extension character straddling each part boundary (and near it)."""

    @st.composite
    def build(draw: st.DrawFn) -> str:
        parts = draw(st.integers(1, 12))
        filler = draw(st.sampled_from("aé@ {"))
        text = []
        for _ in range(parts):
            shift = draw(st.integers(-2, 2))
            text.append(filler * max(room - 1 + shift, 0))
            text.append(draw(st.sampled_from(GSM_EXTENSION)))
        return "".join(text)

    return build()


@settings(max_examples=400)
@given(texts, tables)
@example("", (0, 0))
@example("😀🎣", (0, 0))
@example("\ud800x\udc00", (0, 0))
@example("ç€{}", (0, 2))
def test_text_to_gsm(text: str, pair: tuple[int, int]) -> None:
    locking, single = pair
    same("to_gsm", text, locking, single)
    same("septets", text, locking, single)
    same("gsm_encodable", text, locking, single)


@settings(max_examples=400)
@given(octets, tables)
@example(b"caf\xe9", (0, 0))
@example(b"\xe9t\xe9!x", (0, 0))
@example(b"\xf0\x9f\x98", (1, 1))
@example(b"\xed\xa0\x80", (3, 3))
def test_raw_octets_to_gsm(data: bytes, pair: tuple[int, int]) -> None:
    same("utf8_to_gsm", data, *pair)


@settings(max_examples=300)
@given(octets, tables)
@example(b"\x1b", (0, 0))
@example(b"\x1b\x1b\x1b\x65\x1b\x09", (0, 2))
@example(bytes(range(256)), (3, 3))
def test_decode_all_codings(data: bytes, pair: tuple[int, int]) -> None:
    same("from_gsm", data, *pair)
    same("from_ucs2", data)
    for coding in (0, 1, 2, 3, -1):
        same("decode", data, coding, *pair)


@settings(max_examples=300)
@given(texts)
def test_ucs2(text: str) -> None:
    encoded = same("to_ucs2", text)
    same("from_ucs2", encoded)


@settings(max_examples=300)
@given(st.binary(max_size=1600), st.integers(0, 6))
@example(b"", 0)
@example(b"", 1)
@example(b"\xff" * 160, 6)
def test_pack_and_unpack(septets: bytes, fill_bits: int) -> None:
    packed = same("pack7", septets, fill_bits)
    for count in {len(septets), 0, len(packed) * 8 // 7, len(packed) * 8 // 7 + 1}:
        same("unpack7", packed, count, fill_bits)
    same("unpack7", septets, len(septets), fill_bits)


@given(st.binary(max_size=20), st.integers(-2, 200), st.integers(-1, 8))
def test_pack_arguments_refused_alike(data: bytes, count: int, fill_bits: int) -> None:
    same("pack7", data, fill_bits)
    same("unpack7", data, count, fill_bits)


@settings(max_examples=400)
@given(
    st.one_of(octets, st.binary(max_size=60).map(lambda b: b.replace(b"\x00", b"\x1b"))),
    st.sampled_from((0, 1, 2)),
    st.integers(0, 170),
    st.integers(1, 300),
    st.integers(0, 5),
)
@example(b"\x1b" * 10, 0, 1, 20, 0)
@example(b"\xd8\x00\xdc\x00" * 50, 2, 134, 255, 0)
@example(b"", 0, 0, 1, 0)
def test_cuts(data: bytes, coding: int, room: int, max_parts: int, suffix: int) -> None:
    same("cuts", data, coding, room, max_parts, suffix)


@given(st.integers(-1, 3), st.integers(-1, 2), st.integers(-1, 70000), st.integers(-1, 3))
def test_cut_arguments_refused_alike(coding: int, room: int, max_parts: int, suffix: int) -> None:
    same("cuts", b"abc", coding, room, max_parts, suffix)


@settings(max_examples=400)
@given(
    st.one_of(texts, gsm_at_boundaries(153), gsm_at_boundaries(160), gsm_at_boundaries(152)),
    st.sampled_from((-1, 0, 1, 2)),
    st.sampled_from(((0, 6), (0, 7), (0, 0), (7, 12), (3, 9), (140, 140))),
    st.sampled_from((140, 133, 0)),
    st.sampled_from((255, 1, 3, 10)),
    tables,
)
@example("a" * 152 + "€", 0, (0, 6), 140, 255, (0, 0))
@example("a" * 159 + "€", 0, (0, 6), 140, 255, (0, 0))
@example("😀" * 100, 2, (0, 6), 140, 255, (0, 0))
@example("x" * 1600, -1, (0, 6), 140, 255, (0, 0))
def test_encode_split(
    text: str,
    coding: int,
    udh: tuple[int, int],
    max_octets: int,
    max_parts: int,
    pair: tuple[int, int],
) -> None:
    used, data, ends = same("encode_split", text, coding, *udh, max_octets, max_parts, *pair)
    if used == 0:
        assert data == pure.to_gsm(text, *pair)
        for end in ends[:-1]:
            assert pure._is_cut(data, 0, end)  # never inside an escape pair


def test_maximal_texts() -> None:
    """A 64 KiB body of each kind runs the same through both."""
    for text in ("€" * 65536, "😀" * 16384, "\x1b" * 65536, "a{" * 32768):
        same("encode_split", text, -1, 0, 6, 140, 255, 0, 0)
        same("encode_split", text, 0, 0, 6, 140, 65535, 0, 0)
        same("to_gsm", text)
        same("to_ucs2", text)
    same("pack7", bytes(range(128)) * 512, 3)
    same("cuts", b"\x1b" * 65536, 0, 1, 65535, 0)
    same("cuts", b"\x1b" * 65536, 0, 2, 65535, 0)  # a long escape run: still linear
    same("cuts", b"a" + b"\x1b" * 65535, 0, 153, 255, 0)


@settings(max_examples=300)
@given(
    st.text(alphabet=st.characters(max_codepoint=127), max_size=700),
    st.integers(0, 140),
    st.sampled_from((1, 2, 255)),
)
def test_ascii_shortcut(text: str, udh_octets: int, max_parts: int) -> None:
    """ASCII text takes `bytes.translate` (and only `pe_cuts`) in the C wrapper."""
    same("to_gsm", text)
    same("utf8_to_gsm", text.encode())
    same("utf8_to_gsm", bytearray(text.encode()))
    same("encode_split", text, 0, udh_octets, udh_octets + 6, 140, max_parts)
    same("encode_split", text, -1, udh_octets, udh_octets + 6, 140, max_parts)
