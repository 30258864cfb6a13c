"""encode_message / decode_message: every field round-trips, and foreign bytes are refused."""

from __future__ import annotations

import pytest

from gateway.message import (
    FORMAT_VERSION,
    Message,
    MessageFormatError,
    decode_message,
    encode_message,
    new_id,
)


def full_message() -> Message:
    return Message(
        id=new_id(), parent_id=new_id(), sender="Brand+", receiver="+4670000001",
        payload=bytes(range(256)), coding=2, udh=b"\x05\x00\x03\x07\x02\x01", part=1,
        parts=2, username="alice", account="acct", smsc_id="sim", mclass=1, mwi=-1,
        compress=0, alt_dcs=1, pid=127, rpi=2, priority=3, validity=1440, deferred=5,
        dlr_mask=31, dlr_url="http://cb/?id=%i&s=%d", binfo="b", charset="UTF-8",
        meta_data="?smpp?a=b", created=1763718000.123456, attempts=4,
        extra={"key": "value", "é": "ü"},
    )


def test_every_field_round_trips() -> None:
    m = full_message()
    data = encode_message(m)
    assert data[0] == FORMAT_VERSION
    assert decode_message(data) == m


def test_non_ascii_and_lone_surrogates_round_trip() -> None:
    m = full_message()
    m.sender = "Ünïcødé"
    m.meta_data = "bad \udcff surrogate"
    assert decode_message(encode_message(m)) == m


def test_defaults_are_small() -> None:
    mid = new_id()
    m = Message(mid, mid, "12345", "4670000001", b"Hello")
    data = encode_message(m)
    assert decode_message(data) == m
    assert len(data) < 200  # two uuids, the addresses, the text and a 95-byte header


@pytest.mark.parametrize("mangle", [
    lambda d: b"",
    lambda d: bytes([FORMAT_VERSION + 1]) + d[1:],
    lambda d: d[:-1],
    lambda d: d + b"x",
    lambda d: d[:20],
])
def test_foreign_or_damaged_bytes_are_refused(mangle: object) -> None:
    data = encode_message(full_message())
    with pytest.raises(MessageFormatError):
        decode_message(mangle(data))  # type: ignore[operator]
