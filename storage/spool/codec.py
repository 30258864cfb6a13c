"""The spool's on-disk record and ack formats, and the segment scanner used by recovery.

Pure functions over bytes, with no I/O, so the format can be property-tested on its own and the
recovery thread can scan a whole segment without touching the reactor.

A record is a 24-byte header, the owner's name (UTF-8) and the opaque payload::

    magic   4s  b"PSp1"    finds record starts again after a damaged region
    crc     u32 crc32 of everything after it: the rest of the header, owner and payload
    length  u32 payload length
    lane    u8  the lane the record was written to (checked on recovery)
    flags   u8  reserved, 0
    ownerlen u16
    stamp   f64 append time (reactor seconds), for the oldest-age metric

An ack file holds 8-byte entries ``(offset u32, crc32(offset) u32)``: the offset of an acked
record in the segment of the same name.  The crc makes a torn or misaligned entry harmless.
"""

from __future__ import annotations

import struct
import zlib
from array import array
from dataclasses import dataclass, field

MAGIC = b"PSp1"
HEADER = struct.Struct("<4sIIBBHd")  # magic, crc, length, lane, flags, ownerlen, stamp
HEADER_SIZE = HEADER.size  # 24
ACK = struct.Struct("<II")
ACK_SIZE = ACK.size  # 8
_U32 = struct.Struct("<I")
_REST = struct.Struct("<IBBHd")  # the header after magic and crc
#: What recovery needs of a header: no flags, no stamp (fewer objects per record).
_SCAN = struct.Struct("<4sIIBxH8x")
#: Owner names are accounting keys (a sendsms user), never long.
MAX_OWNER_BYTES = 1024
#: Offsets and sizes are packed into one 64-bit index entry: 32 bits each.
MAX_U32 = 2**32 - 1


class CorruptRecord(ValueError):
    """The bytes at this offset are not a whole, intact record."""


@dataclass(frozen=True, slots=True)
class Record:
    """One decoded record (used by ``take`` and by tests; recovery does not build these)."""

    lane: int
    timestamp: float
    owner: bytes
    payload: bytes
    size: int


def record_size(owner: bytes, payload: bytes) -> int:
    """Bytes a record occupies in its segment."""
    return HEADER_SIZE + len(owner) + len(payload)


def _crc(record: memoryview | bytes) -> int:
    """crc32 of everything after the crc field (the magic is a constant, checked on its own);
    one contiguous range keeps recovery to one crc call per record."""
    return zlib.crc32(memoryview(record)[8:])


def encode_record(lane: int, timestamp: float, owner: bytes, payload: bytes) -> bytes:
    """Serialise one record; the crc covers everything but itself."""
    if len(owner) > MAX_OWNER_BYTES:
        raise ValueError(f"owner name longer than {MAX_OWNER_BYTES} bytes")
    rest = _REST.pack(len(payload), lane, 0, len(owner), timestamp)
    crc = zlib.crc32(payload, zlib.crc32(owner, zlib.crc32(rest)))
    return b"".join((MAGIC, _U32.pack(crc), rest, owner, payload))


def check_at(buf: bytes | memoryview, offset: int, lane: int | None = None) -> int:
    """Return the end offset of the intact record starting at ``offset``, or -1.

    Cheap enough for the recovery loop: one header unpack, one crc over the record.
    """
    end_of_buf = len(buf)
    if offset + HEADER_SIZE > end_of_buf:
        return -1
    magic, crc, length, rlane, _flags, olen, _ts = HEADER.unpack_from(buf, offset)
    if magic != MAGIC or (lane is not None and rlane != lane):
        return -1
    end = offset + HEADER_SIZE + olen + length
    if end > end_of_buf or olen > MAX_OWNER_BYTES:
        return -1
    return end if zlib.crc32(memoryview(buf)[offset + 8 : end]) == crc else -1


def decode_record(buf: bytes | memoryview, offset: int = 0, lane: int | None = None) -> Record:
    """Decode the record at ``offset``; raise :class:`CorruptRecord` unless it is intact."""
    end = check_at(buf, offset, lane)
    if end < 0:
        raise CorruptRecord(f"no intact record at offset {offset}")
    _m, _crc32, length, rlane, _f, olen, ts = HEADER.unpack_from(buf, offset)
    start = offset + HEADER_SIZE
    data = bytes(buf[start:end])
    return Record(rlane, ts, data[:olen], data[olen:], end - offset)


def encode_ack(offset: int) -> bytes:
    """One ack entry for the record at ``offset``."""
    return ACK.pack(offset, zlib.crc32(_U32.pack(offset)))


def parse_acks(data: bytes) -> set[int]:
    """Offsets acked in an ack file; damaged entries and a torn last entry are ignored
    (at worst a record is delivered once more)."""
    acked: set[int] = set()
    for i in range(0, len(data) - ACK_SIZE + 1, ACK_SIZE):
        offset, crc = ACK.unpack_from(data, i)
        if zlib.crc32(_U32.pack(offset)) == crc:
            acked.add(offset)
    return acked


@dataclass(slots=True)
class ScanResult:
    """What recovery learns from one segment and its ack file."""

    #: Unacked records as ``offset << 32 | size``, oldest first.
    entries: array = field(default_factory=lambda: array("Q"))
    #: Intact records in the segment, acked or not.
    records: int = 0
    #: Bytes of unacked records per owner name.
    owner_bytes: dict[bytes, int] = field(default_factory=dict)
    #: Where the intact data ends: a torn tail after it is truncated.
    valid_end: int = 0
    #: Bytes skipped inside the segment because they did not decode (not at the tail).
    skipped_bytes: int = 0
    #: Damaged regions skipped in the middle of the segment.
    damaged_regions: int = 0
    #: False when a prefix scan stopped early; ``next_offset`` is where to go on.
    complete: bool = True
    next_offset: int = 0


def _resync(buf: bytes, start: int, lane: int) -> int:
    """The next offset at or after ``start`` where an intact record begins, or -1."""
    pos = buf.find(MAGIC, start)
    while pos >= 0:
        if check_at(buf, pos, lane) >= 0:
            return pos
        pos = buf.find(MAGIC, pos + 1)
    return -1


def scan_segment(
    buf: bytes, acked: set[int], lane: int, base: int = 0, final: bool = True
) -> ScanResult:
    """Index a segment from file offset ``base`` (``buf`` holds the file from there): every
    intact record not in ``acked``.

    With ``final`` (``buf`` runs to the end of the file), a record that does not decode is
    either a torn tail (nothing intact follows: the caller truncates at ``valid_end``) or a
    damaged region in the middle (an intact record follows: we skip to it and count the
    damage).  Without it (a prefix read so that ``open`` can fire early) the scan stops at the
    first record it cannot decode whole and says where to go on.  Never raises on bad data.
    """
    result = ScanResult(valid_end=base, next_offset=base)
    entries = result.entries
    owner_bytes = result.owner_bytes
    mv = memoryview(buf)
    n = len(buf)
    off = 0
    unpack = _SCAN.unpack_from
    crc32 = zlib.crc32
    count = 0
    append = entries.append
    startswith = buf.startswith
    # Consecutive records mostly share an owner: sum its bytes locally, slice its name once.
    owner = b""
    owner_total = 0
    while off < n:
        end = -1
        if off + HEADER_SIZE <= n:
            magic, crc, length, rlane, olen = unpack(buf, off)
            end = off + HEADER_SIZE + olen + length
            if (
                magic != MAGIC
                or rlane != lane
                or end > n
                or olen > MAX_OWNER_BYTES
                or crc32(mv[off + 8 : end]) != crc
            ):
                end = -1
        if end < 0:
            if not final:
                result.complete = False
                break
            nxt = _resync(buf, off + 1, lane)
            if nxt < 0:
                break
            result.skipped_bytes += nxt - off
            result.damaged_regions += 1
            off = nxt
            continue
        count += 1
        if base + off not in acked:
            size = end - off
            append((base + off) << 32 | size)
            start = off + HEADER_SIZE
            if olen != len(owner) or not startswith(owner, start):
                if owner_total:
                    owner_bytes[owner] = owner_bytes.get(owner, 0) + owner_total
                owner = buf[start : start + olen]
                owner_total = 0
            owner_total += size
        off = end
        result.valid_end = base + end
    result.next_offset = base + off
    result.records = count
    if owner_total:
        owner_bytes[owner] = owner_bytes.get(owner, 0) + owner_total
    return result
