"""The record and ack formats: round trips, and every damage is detected (never delivered)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage.spool.codec import (
    ACK_SIZE,
    HEADER_SIZE,
    CorruptRecord,
    check_at,
    decode_record,
    encode_ack,
    encode_record,
    parse_acks,
    scan_segment,
)

lanes = st.integers(0, 255)
stamps = st.floats(allow_nan=False, allow_infinity=False)
owners = st.text(max_size=40).map(lambda s: s.encode("utf-8"))
payloads = st.binary(max_size=600)


@given(lanes, stamps, owners, payloads)
def test_round_trip(lane: int, stamp: float, owner: bytes, payload: bytes) -> None:
    data = encode_record(lane, stamp, owner, payload)
    assert len(data) == HEADER_SIZE + len(owner) + len(payload)
    record = decode_record(data, 0, lane)
    assert (record.lane, record.timestamp, record.owner, record.payload, record.size) == (
        lane,
        stamp,
        owner,
        payload,
        len(data),
    )


@given(lanes, owners, payloads, st.data())
def test_any_changed_byte_is_detected(lane: int, owner: bytes, payload: bytes, data) -> None:
    record = bytearray(encode_record(lane, 1.5, owner, payload))
    i = data.draw(st.integers(0, len(record) - 1))
    flip = data.draw(st.integers(1, 255))
    record[i] ^= flip
    assert check_at(bytes(record), 0, lane) == -1
    with pytest.raises(CorruptRecord):
        decode_record(bytes(record), 0, lane)


@given(owners, payloads, st.data())
def test_any_truncation_is_detected(owner: bytes, payload: bytes, data) -> None:
    record = encode_record(0, 1.0, owner, payload)
    cut = data.draw(st.integers(0, len(record) - 1))
    assert check_at(record[:cut], 0, 0) == -1


def test_wrong_lane_is_not_this_lanes_record() -> None:
    assert check_at(encode_record(1, 0.0, b"u", b"x"), 0, 2) == -1


@settings(max_examples=50)
@given(st.lists(payloads, min_size=1, max_size=20), st.data())
def test_scan_keeps_every_whole_record_before_a_torn_tail(items: list[bytes], data) -> None:
    records = [encode_record(3, 2.0, b"own", p) for p in items]
    segment = b"".join(records)
    cut = data.draw(st.integers(0, len(segment)))
    result = scan_segment(segment[:cut], set(), 3)
    offsets, whole = [], 0
    for r in records:
        if whole + len(r) > cut:
            break
        offsets.append(whole)
        whole += len(r)
    assert [e >> 32 for e in result.entries] == offsets
    assert result.valid_end == whole
    assert result.skipped_bytes == 0


def test_scan_skips_a_damaged_record_in_the_middle_and_counts_it() -> None:
    records = [encode_record(0, 0.0, b"u", b"payload %d" % i) for i in range(5)]
    segment = bytearray(b"".join(records))
    start = len(records[0]) + len(records[1])
    segment[start + HEADER_SIZE + 3] ^= 0xFF  # record 2's payload
    result = scan_segment(bytes(segment), set(), 0)
    offsets = [e >> 32 for e in result.entries]
    assert len(offsets) == 4 and start not in offsets
    assert result.damaged_regions == 1 and result.skipped_bytes == len(records[2])
    assert result.valid_end == len(segment)


def test_scan_leaves_out_acked_records_and_sums_owner_bytes() -> None:
    a = encode_record(0, 0.0, b"alice", b"1")
    b = encode_record(0, 0.0, b"bob", b"22")
    c = encode_record(0, 0.0, b"alice", b"333")
    result = scan_segment(a + b + c, {len(a)}, 0)
    assert [e >> 32 for e in result.entries] == [0, len(a) + len(b)]
    assert [e & 0xFFFFFFFF for e in result.entries] == [len(a), len(c)]
    assert result.owner_bytes == {b"alice": len(a) + len(c)}
    assert result.records == 3


def test_garbage_segment_is_all_torn_tail() -> None:
    result = scan_segment(b"\x00" * 100 + b"PSp1" + b"\x01" * 50, set(), 0)
    assert len(result.entries) == 0 and result.valid_end == 0


@given(st.lists(st.integers(0, 2**32 - 1), max_size=50), st.integers(0, ACK_SIZE - 1))
def test_acks_round_trip_and_ignore_a_torn_entry(offsets: list[int], torn: int) -> None:
    data = b"".join(encode_ack(o) for o in offsets) + encode_ack(12345)[:torn]
    assert parse_acks(data) == set(offsets)


def test_damaged_ack_entry_is_ignored() -> None:
    data = bytearray(encode_ack(100) + encode_ack(200))
    data[1] ^= 1
    assert parse_acks(bytes(data)) == {200}
