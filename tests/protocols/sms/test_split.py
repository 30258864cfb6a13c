"""Splitting into SMS parts, checked against what Kannel 1.4.5-12 submitted ("obs.").

The observations come from sendsms requests to Debian's smsbox/bearerbox with sendsms-users
configured as the `concatenation`/`max-messages`/`split-chars`/… arguments below, and the
submit_sm PDUs our simulator received. The concatenation reference is the caller's.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.sms.charset import to_ucs2
from protocols.sms.gsm import from_gsm, to_gsm
from protocols.sms.split import MAX_PARTS, Part, split
from protocols.sms.udh import add_concat, concat_udh, parse_udh

WORDS = " ".join(f"word{i:02d}" for i in range(60))  # 419 characters
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def letters(count: int, alphabet: str = ALPHABET) -> str:
    return "".join(alphabet[i % len(alphabet)] for i in range(count))


def texts(parts: list[Part]) -> list[str]:
    return [from_gsm(part.payload) for part in parts]


# -- obs. vectors ----------------------------------------------------------------------------


def test_1700_characters_with_max_messages_10_send_1530() -> None:
    text = "0123456789" * 170
    parts = split(to_gsm(text), 0, concatenation=True, max_messages=10, ref=1)
    assert len(parts) == 10
    assert [p.payload for p in parts] == [to_gsm(text[i : i + 153]) for i in range(0, 1530, 153)]
    assert [p.udh for p in parts] == [concat_udh(1, 10, seq) for seq in range(1, 11)]
    assert [(p.seq, p.total) for p in parts] == [(seq, 10) for seq in range(1, 11)]
    assert all(len(p.udh + p.payload) == 159 for p in parts)


def test_default_user_max_messages_1_sends_160_characters() -> None:
    parts = split(to_gsm("x" * 200), 0, concatenation=False, max_messages=1)
    assert parts == [Part(b"", b"x" * 160, 1, 1)]


def test_concatenation_with_max_messages_1_sends_153_characters() -> None:
    # smsbox sizes for concatenation (153), keeps one part; bearerbox sends it alone.
    parts = split(to_gsm("y" * 200), 0, concatenation=True, max_messages=1)
    assert parts == [Part(b"", b"y" * 153, 1, 1)]


def test_concatenation_false_sends_independent_160_character_messages() -> None:
    parts = split(to_gsm(letters(400)), 0, concatenation=False, max_messages=3)
    assert [len(p.payload) for p in parts] == [160, 160, 80]
    assert all(p.udh == b"" for p in parts)
    assert [(p.seq, p.total) for p in parts] == [(1, 3), (2, 3), (3, 3)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the escape pair would straddle septet 153: it moves to the next part
        ("a" * 152 + "€" + "b" * 10, ["a" * 152, "€" + "b" * 10]),
        ("a" * 159 + "€", ["a" * 153, "a" * 6 + "€"]),
        ("a" * 158 + "€", ["a" * 158 + "€"]),  # 160 septets: one SMS
    ],
)
def test_escape_pairs_are_never_split(text: str, expected: list[str]) -> None:
    parts = split(to_gsm(text), 0, concatenation=True, max_messages=10, ref=0)
    assert texts(parts) == expected
    if len(parts) > 1:
        assert parts[0].udh == bytes.fromhex("050003000201")


def test_split_chars_and_suffix_with_concatenation_are_resplit_by_bearerbox() -> None:
    parts = split(
        to_gsm(WORDS),
        0,
        concatenation=True,
        max_messages=10,
        split_chars=" ",
        split_suffix=b"+",
    )
    assert texts(parts) == [
        " ".join(f"word{i:02d}" for i in range(21)) + " +word2",
        "1 " + " ".join(f"word{i:02d}" for i in range(22, 42)) + " +word42 wor",
        "d43 " + " ".join(f"word{i:02d}" for i in range(44, 60)),
    ]
    assert [len(p.payload) for p in parts] == [153, 153, 115]


def test_split_chars_and_suffix_without_concatenation() -> None:
    parts = split(
        to_gsm(WORDS),
        0,
        concatenation=False,
        max_messages=10,
        split_chars=" ",
        split_suffix=b"+",
    )
    assert texts(parts) == [
        " ".join(f"word{i:02d}" for i in range(22)) + " +",
        " ".join(f"word{i:02d}" for i in range(22, 44)) + " +",
        " ".join(f"word{i:02d}" for i in range(44, 60)),
    ]
    assert all(p.udh == b"" for p in parts)


def test_header_and_footer_with_concatenation() -> None:
    text = letters(300)
    parts = split(
        to_gsm(text), 0, concatenation=True, max_messages=10, header=b"HDR", footer=b"FTR"
    )
    assert texts(parts) == [
        "HDR" + text[:147] + "FTR",
        "HDR" + text[147:294] + "FTR",
        "HDR" + text[294:] + "FTR",
    ]


def test_header_and_footer_without_concatenation() -> None:
    text = letters(400)
    parts = split(to_gsm(text), 0, concatenation=False, max_messages=3, header=b"H:", footer=b":F")
    assert texts(parts) == [
        "H:" + text[:156] + ":F",
        "H:" + text[156:312] + ":F",
        "H:" + text[312:] + ":F",
    ]


def test_client_udh_with_concatenation_7bit() -> None:
    client = bytes.fromhex("0605040b8423f0")
    parts = split(to_gsm("u" * 200), 0, udh=client, concatenation=True, max_messages=10, ref=3)
    assert [len(p.payload) for p in parts] == [146, 54]  # (140 - 7 - 5) * 8 // 7 = 146
    assert [p.udh.hex() for p in parts] == ["0b05040b8423f00003030201", "0b05040b8423f00003030202"]


def test_client_udh_with_concatenation_8bit() -> None:
    client = bytes.fromhex("0605040b8423f0")
    parts = split(b"\xab" * 200, 1, udh=client, concatenation=True, max_messages=10, ref=4)
    assert [len(p.payload) for p in parts] == [128, 72]
    assert parts[1].udh.hex() == "0b05040b8423f00003040202"


def test_client_udh_alone_in_one_message() -> None:
    client = bytes.fromhex("0605040b8423f0")
    assert split(b"hello", 0, udh=client, concatenation=True, max_messages=1) == [
        Part(client, b"hello", 1, 1)
    ]


def test_ucs2_parts_are_67_characters() -> None:
    parts = split(to_ucs2("ж" * 150), 2, concatenation=True, max_messages=10, ref=2)
    assert [len(p.payload) for p in parts] == [134, 134, 32]
    assert [p.udh.hex() for p in parts] == ["050003020301", "050003020302", "050003020303"]
    assert split(to_ucs2("ж" * 70), 2, concatenation=True, max_messages=10) == [
        Part(b"", to_ucs2("ж" * 70), 1, 1)
    ]


@pytest.mark.parametrize("concatenation", [True, False])
def test_empty_text_is_one_empty_sms(concatenation: bool) -> None:
    assert split(b"", 0, concatenation=concatenation, max_messages=1) == [Part(b"", b"", 1, 1)]


# -- where we deliberately differ --------------------------------------------------------------


def test_surrogate_pairs_stay_whole() -> None:
    # Kannel: 134 octets ending in d83d, then de00…; we cut before the pair.
    payload = to_ucs2("a" * 66 + "\U0001f600" + "b" * 10)
    parts = split(payload, 2, concatenation=True, max_messages=10)
    assert [p.payload for p in parts] == [to_ucs2("a" * 66), to_ucs2("\U0001f600" + "b" * 10)]


def test_ucs2_with_an_odd_udh_cuts_on_character_boundaries() -> None:
    # Kannel: 140 - 4 - 5 = 131 octets of UTF-16; we send 130.
    parts = split(
        to_ucs2("ж" * 100), 2, udh=bytes.fromhex("03010100"), concatenation=True, max_messages=10
    )
    assert [len(p.payload) for p in parts] == [130, 70]


@pytest.mark.parametrize(("length", "concatenation", "room"), [(305, True, 153), (319, False, 160)])
def test_the_last_part_does_not_lose_room_to_the_suffix(
    length: int, concatenation: bool, room: int
) -> None:
    # Kannel drops the final character here (obs.: 153 + 152, 160 + 159).
    text = letters(length, "abcdefghijklmnopqrstuvwxyz")
    parts = split(to_gsm(text), 0, concatenation=concatenation, max_messages=10, split_suffix=b"+")
    assert texts(parts) == [text[: room - 1] + "+", text[room - 1 :]]


# -- limits ----------------------------------------------------------------------------------


def test_max_messages_0_sends_nothing() -> None:
    assert split(b"hello", 0, concatenation=True, max_messages=0) == []


def test_negative_max_messages_means_bearerbox_limit() -> None:
    parts = split(b"a" * (153 * 300), 0, concatenation=True, max_messages=-1)
    assert len(parts) == MAX_PARTS
    assert parts[-1].udh[-2:] == bytes((255, 255))


def test_arguments_are_checked() -> None:
    with pytest.raises(ValueError):
        split(b"", 3, concatenation=True, max_messages=1)
    with pytest.raises(ValueError):
        split(b"", 0, concatenation=True, max_messages=1, ref=256)


# -- properties -------------------------------------------------------------------------------

GSM_CHARS = "@£$¥èéΔ_ ABCxyz012.,{}[]~\\^|€"
client_udhs = st.one_of(
    st.just(b""),
    st.binary(min_size=2, max_size=20).map(lambda ie: bytes((len(ie),)) + ie),
)


@st.composite
def messages(draw: st.DrawFn) -> tuple[bytes, int]:
    coding = draw(st.sampled_from([0, 1, 2]))
    if coding == 0:
        return to_gsm(draw(st.text(alphabet=GSM_CHARS, max_size=900))), 0
    if coding == 2:
        return to_ucs2(draw(st.text(max_size=450))), 2
    return draw(st.binary(max_size=700)), 1


def room(coding: int, udh: bytes) -> int:
    free = 140 - len(udh)
    return free * 8 // 7 if coding == 0 else free


def check_well_formed(parts: list[Part], coding: int, client: bytes, ref: int) -> None:
    """Totals, sequence numbers, UDHs and sizes that every split must satisfy."""
    total = len(parts)
    assert [(p.seq, p.total) for p in parts] == [(i, total) for i in range(1, total + 1)]
    for part in parts:
        assert len(part.payload) <= room(coding, part.udh)
        if part.udh:
            assert part.udh[0] == len(part.udh) - 1
        if part.udh != client:
            assert part.udh == add_concat(client, ref, total, part.seq)
            assert parse_udh(part.udh).concat is not None
        if coding == 0:  # no escape pair cut in two
            assert not part.payload.endswith(b"\x1b") or part.payload.endswith(b"\x1b\x1b")
        if coding == 2:
            assert len(part.payload) % 2 == 0
            part.payload.decode("utf-16-be")  # no surrogate pair cut in two


@settings(max_examples=300)
@given(
    messages(),
    client_udhs,
    st.booleans(),
    st.one_of(st.just(-1), st.integers(1, 12)),
    st.integers(0, 255),
    st.sampled_from([None, " ", " .,"]),
)
def test_plain_splits_give_back_the_text_up_to_the_cut(
    message: tuple[bytes, int],
    client: bytes,
    concatenation: bool,
    max_messages: int,
    ref: int,
    split_chars: str | None,
) -> None:
    payload, coding = message
    parts = split(
        payload,
        coding,
        udh=client,
        concatenation=concatenation,
        max_messages=max_messages,
        ref=ref,
        split_chars=split_chars,
    )
    check_well_formed(parts, coding, client, ref)
    joined = b"".join(p.payload for p in parts)
    assert payload.startswith(joined)
    if joined != payload:
        assert len(parts) == max_messages  # only the max-messages cut drops text
    if max_messages == -1 or len(payload) <= room(coding, client):
        assert joined == payload
    if not concatenation:
        assert all(p.udh == client for p in parts)
    elif len(parts) > 1:
        assert all(p.udh != client for p in parts)


@settings(max_examples=200)
@given(
    st.text(alphabet=GSM_CHARS, max_size=900),
    st.booleans(),
    st.integers(1, 12),
    st.text(alphabet=GSM_CHARS, max_size=4),
    st.text(alphabet=GSM_CHARS, max_size=4),
    st.text(alphabet=GSM_CHARS, max_size=3),
    st.sampled_from([None, " ", "€"]),
)
def test_decorated_splits(
    text: str,
    concatenation: bool,
    max_messages: int,
    header: str,
    footer: str,
    suffix: str,
    split_chars: str | None,
) -> None:
    head, foot, tail = to_gsm(header), to_gsm(footer), to_gsm(suffix)
    parts = split(
        to_gsm(text),
        0,
        concatenation=concatenation,
        max_messages=max_messages,
        header=head,
        footer=foot,
        split_suffix=tail,
        split_chars=split_chars,
    )
    check_well_formed(parts, 0, b"", 0)
    assert 1 <= len(parts) <= max_messages
    joined = from_gsm(b"".join(p.payload for p in parts))
    assert joined == "".join(texts(parts))  # cuts only between characters
    if not concatenation:
        body = ""
        for part in parts:
            decoded = from_gsm(part.payload)
            assert decoded.startswith(header)
            decoded = decoded[len(header) :]
            if part.seq < part.total:
                assert decoded.endswith(footer + suffix)
                decoded = decoded[: len(decoded) - len(footer + suffix)]
            else:
                assert decoded.endswith(footer)
                decoded = decoded[: len(decoded) - len(footer)]
            body += decoded
        assert text.startswith(body)
        if body != text:
            assert len(parts) == max_messages


@given(
    st.lists(st.text(alphabet="ab{", max_size=200), min_size=1, max_size=8).map("€".join),
    st.integers(1, 4),
)
def test_a_part_ends_right_after_its_last_split_char(text: str, max_messages: int) -> None:
    parts = split(to_gsm(text), 0, concatenation=False, max_messages=max_messages, split_chars="€")
    check_well_formed(parts, 0, b"", 0)
    for part in parts[:-1]:
        decoded = from_gsm(part.payload)
        assert decoded.endswith("€") or "€" not in decoded
    assert text.startswith("".join(texts(parts)))


def test_a_header_longer_than_an_sms_is_split_by_bearerbox_as_kannel_does() -> None:
    # smsbox has no room left for text; bearerbox then cuts the oversized part itself.
    parts = split(b"abc", 0, concatenation=False, max_messages=1, header=b"h" * 170, ref=7)
    assert [p.payload for p in parts] == [b"h" * 153, b"h" * 17]
    assert [p.udh for p in parts] == [concat_udh(7, 2, 1), concat_udh(7, 2, 2)]
