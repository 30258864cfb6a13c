"""A durable, bounded, crash-safe spool of opaque byte records in priority lanes.

Why it looks like this (see docs/spool.md for the format and the figures):

* An accepted message must survive a crash before the client hears "Accepted", so ``append``
  fires only after the bytes are synced (``fdatasync``).  A sync costs ~0.1-2 ms, so appends
  share one write and one sync per file (group commit), done off the reactor: an idle writer
  starts at the end of the reactor turn (or after ``commit_wait`` if one is set), and what
  arrives while a sync runs goes in the next commit, started as soon as it ends.  The batch
  grows with the load and the wait never exceeds one sync.
* Acks are written with every commit but synced at most every ``ack_sync_interval``: a lost
  ack costs a duplicate after an OS crash (at-least-once), never a lost message, and a
  killed process loses nothing from the page cache.
* Disks filled every six weeks with the old stack: every byte the spool puts on disk (records,
  their future ack entries, headers) is reserved against ``max_bytes`` when ``append`` is called,
  so concurrent batches can never overshoot, and a full spool refuses with :class:`SpoolFull`.
* A million queued messages must not cost a gigabyte of RAM: a waiting record is one 64-bit
  integer (``offset << 32 | size``) in an ``array('Q')`` per segment; payloads stay on disk until
  ``take`` preads them.
* A restart must not wait for a full scan: ``open`` fires when the oldest segment of every lane
  is indexed; the rest are scanned in the background, in order.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import heapq
import logging
import os
import time
from array import array
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from twisted.internet import defer
from twisted.internet.defer import Deferred
from twisted.internet.threads import deferToThreadPool
from twisted.python.failure import Failure
from twisted.python.threadpool import ThreadPool

from storage.spool.codec import (
    ACK_SIZE,
    HEADER,
    HEADER_SIZE,
    MAX_OWNER_BYTES,
    MAX_U32,
    ScanResult,
    check_at,
    encode_ack,
    encode_record,
    parse_acks,
    scan_segment,
)

log = logging.getLogger(__name__)

_SEG_SUFFIX = ".seg"
_ACK_SUFFIX = ".ack"
_LOW32 = 0xFFFFFFFF
#: open() indexes this much of each lane's oldest segment before it fires (~5,000 records of
#: 200 bytes, ~15 ms per lane); the rest is indexed in the background.
FIRST_SCAN_BYTES = 2**20


class SpoolFull(Exception):
    """The batch does not fit a cap (global bytes, records, or the owner's bytes): nothing of
    it was written or reserved.  sendsms answers 503 "Temporal failure, try again later."."""


@dataclass(frozen=True, slots=True)
class RecordRef:
    """Where a record lives: stable until it is acked (used to release or ack it)."""

    lane: int
    segment: int
    offset: int


class _Segment:
    """One segment file and its ack file, and the RAM index of its waiting records."""

    __slots__ = (
        "seq",
        "path",
        "ack_path",
        "fd",
        "ack_fd",
        "size",
        "disk",
        "live",
        "waiting",
        "head",
        "scanned",
        "created",
        "dir",
        "gen",
        "count",
        "taken",
        "compacting",
        "scan_pos",
    )

    def __init__(self, lane_dir: Path, seq: int, gen: int = 0) -> None:
        self.seq = seq
        self.dir = lane_dir
        self.set_gen(gen)
        #: Records in the file, acked or not (how sparse it is).
        self.count = 0
        #: Records taken and not yet released or acked (compaction waits for none).
        self.taken = 0
        #: True while a compaction rewrites it: nothing is taken from it meanwhile.
        self.compacting = False
        #: Where recovery goes on in a segment indexed only in part so far.
        self.scan_pos = 0
        self.fd: int | None = None
        self.ack_fd: int | None = None
        #: Bytes assigned in the segment file (committed or pending).
        self.size = 0
        #: Bytes reserved against max_bytes for this segment: records + one ack entry each.
        self.disk = 0
        #: Records not acked yet (pending, waiting, taken or released).
        self.live = 0
        #: Committed, untaken records as ``offset << 32 | size``; ``head`` is the next to take.
        self.waiting = array("Q")
        self.head = 0
        #: False until recovery has indexed it (new segments are born scanned).
        self.scanned = True
        #: False until the writer thread has created the file.
        self.created = False

    def set_gen(self, gen: int) -> None:
        """Name the files of this generation (compaction writes generation + 1)."""
        self.gen = gen
        self.path = self.dir / _name(self.seq, gen, _SEG_SUFFIX)
        self.ack_path = self.dir / _name(self.seq, gen, _ACK_SUFFIX)


def _name(seq: int, gen: int, suffix: str) -> str:
    """``<seq>.seg`` for a segment as first written, ``<seq>.<gen>.seg`` once compacted."""
    return f"{seq:016d}{suffix}" if gen == 0 else f"{seq:016d}.{gen}{suffix}"


class _Compaction:
    """One sparse segment being rewritten with only its live records."""

    __slots__ = ("lane", "seg", "records", "new_gen", "new_fd", "new_size", "offsets")

    def __init__(self, lane: _Lane, seg: _Segment, records: list[tuple[int, int]]) -> None:
        self.lane = lane
        self.seg = seg
        #: (offset, size) of every live record, in file order.
        self.records = records
        self.new_gen = seg.gen + 1
        self.new_fd: int | None = None
        self.new_size = 0
        self.offsets: list[int] = []


class _Lane:
    __slots__ = ("index", "path", "segments", "active", "released", "depth", "next_seq")

    def __init__(self, index: int, path: Path) -> None:
        self.index = index
        self.path = path
        #: seq → segment, oldest first (dicts keep insertion order; seqs only grow).
        self.segments: dict[int, _Segment] = {}
        self.active: _Segment | None = None
        #: Released records (seq, offset, size): older than anything waiting, so taken first.
        self.released: list[tuple[int, int, int]] = []
        #: Takeable records (waiting + released).
        self.depth = 0
        self.next_seq = 1


class _Append:
    """One pending ``append`` call: its Deferred and what to index once it is durable."""

    __slots__ = ("deferred", "refs", "entries", "owners")

    def __init__(
        self, refs: list[RecordRef], entries: list[tuple[_Segment, int]], owners: dict[str, int]
    ) -> None:
        self.deferred: Deferred[list[RecordRef]] = Deferred()
        self.refs = refs
        self.entries = entries
        self.owners = owners


class _Batch:
    """Everything one group commit writes: record bytes, ack entries, deletions."""

    __slots__ = ("appends", "writes", "creates", "acks", "deletes", "pending", "compactions")

    def __init__(self) -> None:
        #: Bytes of the appends in this batch counted in Spool.pending_bytes.
        self.pending = 0
        self.appends: list[_Append] = []
        #: segment → [first offset, list of encoded records] (contiguous by construction).
        self.writes: dict[_Segment, list[Any]] = {}
        self.creates: list[tuple[_Lane, _Segment]] = []
        self.acks: dict[_Segment, list[bytes]] = {}
        self.deletes: list[tuple[_Lane, _Segment]] = []
        self.compactions: list[_Compaction] = []

    def __bool__(self) -> bool:
        return bool(self.writes or self.acks or self.deletes or self.creates or self.compactions)


class Spool:
    """Durable FIFO lanes of opaque records with group-commit fsync, hard caps and streaming
    recovery.  All methods are called on the reactor thread; file writes, fsyncs and recovery
    scans run in two private one-thread pools."""

    def __init__(
        self,
        directory: str | Path,
        *,
        max_bytes: int,
        max_records: int | None = None,
        owner_max_bytes: Mapping[str, int] | None = None,
        lanes: int = 4,
        segment_bytes: int = 16 * 2**20,
        commit_wait: float = 0.0,
        reactor: Any = None,
        fsync: Callable[[int], None] = os.fdatasync,
        ack_sync_interval: float = 1.0,
        max_pending_bytes: int = 32 * 2**20,
        hot_bytes: int = 8 * 2**20,
    ) -> None:
        if reactor is None:
            from twisted.internet import reactor as default_reactor

            reactor = default_reactor
        if not 1 <= lanes <= 255:
            raise ValueError("lanes must be 1..255")
        if not HEADER_SIZE < segment_bytes <= MAX_U32:
            raise ValueError("segment_bytes must fit a header and 32-bit offsets")
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.max_records = max_records
        self.owner_max_bytes = dict(owner_max_bytes or {})
        self.segment_bytes = segment_bytes
        self.commit_wait = commit_wait
        self.ack_sync_interval = ack_sync_interval
        self._acks_synced_at = 0.0  # monotonic time of the last ack-file sync (writer thread)
        self._unsynced_acks: set[Any] = set()  # segments with acks written, not yet synced
        #: Record bytes waiting for (or in) a group commit; past this, appends are refused
        #: (a stalled disk must not turn into unbounded RAM).
        self.max_pending_bytes = max_pending_bytes
        self.pending_bytes = 0
        self._reactor = reactor
        self._fsync_fn = fsync
        self._lanes = [_Lane(i, self.directory / f"lane-{i}") for i in range(lanes)]
        #: Reserved on-disk bytes (files as they are plus everything pending).
        self.bytes_used = 0
        #: Records not acked (pending, waiting, taken).
        self.records = 0
        self._owner_bytes: dict[str, int] = {}
        self._taken: dict[RecordRef, tuple[int, str]] = {}
        #: Records committed lately, by (segment, generation, offset): `take` finds them
        #: here instead of reading the file. Reading a file another thread is fsyncing waits
        #: for the sync on Linux (the inode lock), which stalled the reactor for milliseconds
        #: per take; records are usually taken right after their commit. Oldest dropped past
        #: `hot_bytes`.
        self._hot: dict[tuple[_Segment, int, int], bytes] = {}
        self._hot_size = 0
        self.hot_bytes = hot_bytes
        self._batch = _Batch()
        self._flush_call: Any = None
        self._committing = False
        self._in_commit = 0
        self._idle: list[Deferred[None]] = []
        self._waiters: list[Deferred[None]] = []
        self._recovered: list[Deferred[None]] = []
        self._recovering = False
        self._scan_busy = False
        self._opened = False
        self._closing = False
        self._lock_fd: int | None = None
        self._pools: list[ThreadPool] = []
        self._shutdown_trigger: Any = None
        #: Metrics: group commits done, fsync calls made, damaged bytes skipped in recovery.
        self.commits = 0
        self.fsyncs = 0
        self.damaged_bytes = 0
        self.compactions = 0
        self.truncated_bytes = 0

    # ----------------------------------------------------------------- counters
    @property
    def in_flight(self) -> int:
        """Records taken and neither acked nor released."""
        return len(self._taken)

    @property
    def recovering(self) -> bool:
        """True while older segments are still being indexed in the background."""
        return self._recovering

    def owner_bytes(self, owner: str) -> int:
        """Bytes of unacked records of this owner (counted against its cap)."""
        return self._owner_bytes.get(owner, 0)

    def depth(self, lane: int) -> int:
        """Records waiting in the lane (indexed, not taken).  ``take`` serves fewer while a
        segment ahead of them is still being recovered or compacted: see :meth:`takeable`."""
        return self._lanes[lane].depth

    def oldest_age(self, lane: int, now: float) -> float | None:
        """Seconds since the oldest takeable record of the lane was appended (None if empty).

        Reads that record's header (24 bytes, page cache); during recovery, of what is indexed.
        """
        ln = self._lanes[lane]
        where: tuple[_Segment, int] | None = None
        if ln.released:
            seq, off, _size = ln.released[0]
            where = (ln.segments[seq], off)
        else:
            for seg in ln.segments.values():
                if seg.head < len(seg.waiting):
                    where = (seg, seg.waiting[seg.head] >> 32)
                    break
        if where is None or where[0].fd is None:
            return None
        header = os.pread(where[0].fd, HEADER_SIZE, where[1])
        stamp = HEADER.unpack(header)[6]
        return max(0.0, now - stamp)

    # ----------------------------------------------------------------- open
    def open(self) -> Deferred[None]:
        """Lock the directory, find the segments, index the oldest of each lane, then fire;
        the rest is indexed in the background (see :meth:`recovered`)."""
        return Deferred.fromCoroutine(self._open())

    async def _open(self) -> None:
        if self._opened:
            raise RuntimeError("spool already open")
        self.directory.mkdir(parents=True, exist_ok=True)
        self._lock_fd = os.open(self.directory / "LOCK", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(self._lock_fd)
            self._lock_fd = None
            raise RuntimeError(f"spool {self.directory} is in use by another process") from e
        self._start_pools()
        self._opened = True
        for ln in self._lanes:
            self._discover(ln)
        extra = [
            p.name
            for p in self.directory.glob("lane-*")
            if p.name[5:].isdigit() and int(p.name[5:]) >= len(self._lanes) and any(p.iterdir())
        ]
        if extra:
            log.error("spool %s: %s ignored (lanes=%d)", self.directory, extra, len(self._lanes))
        self._recovering = True
        first = []
        for ln in self._lanes:
            if ln.segments:
                oldest = next(iter(ln.segments.values()))
                d = self._scan(ln, oldest, FIRST_SCAN_BYTES)
                # An unreadable segment (I/O error) is logged and skipped, as in the
                # background: the gateway still starts with the rest.
                first.append(d.addErrback(self._scan_failed, oldest))
        try:
            await defer.gatherResults(first, consumeErrors=True)
        except BaseException:
            # Leave nothing running or locked behind a failed open (close() must not hang).
            self._recovering = False
            self._shutdown()
            raise
        # Recovery continues on its own; errors are logged, never raised into the gateway.
        self._reactor.callLater(0, self._scan_next)

    def _discover(self, ln: _Lane) -> None:
        """List a lane's segments and reserve their bytes before anything is appended, so the
        cap holds even while recovery is still scanning."""
        created = not ln.path.exists()
        ln.path.mkdir(parents=True, exist_ok=True)
        if created:
            self._fsync_dir(self.directory)
        found: dict[int, dict[int, set[str]]] = {}
        removed = False
        for entry in os.scandir(ln.path):
            parts = entry.name.split(".")
            if parts[-1] == "tmp":  # a compaction that did not finish
                os.unlink(entry.path)
                removed = True
                continue
            if len(parts) == 2:
                seq_s, gen_s, ext = parts[0], "0", parts[1]
            elif len(parts) == 3:
                seq_s, gen_s, ext = parts
            else:
                continue
            if not (seq_s.isdigit() and gen_s.isdigit()) or "." + ext not in (
                _SEG_SUFFIX,
                _ACK_SUFFIX,
            ):
                continue
            found.setdefault(int(seq_s), {}).setdefault(int(gen_s), set()).add("." + ext)
        seqs = sorted(found)
        for seq in seqs:
            gens = found[seq]
            best = max((g for g, exts in gens.items() if _SEG_SUFFIX in exts), default=None)
            for gen, exts in gens.items():
                if gen != best:  # superseded by a finished compaction, or an orphan ack file
                    for ext in exts:
                        os.unlink(ln.path / _name(seq, gen, ext))
                    removed = True
            if best is None:
                continue
            seg = _Segment(ln.path, seq, best)
            seg.scanned = False
            seg.created = True
            seg.size = seg.path.stat().st_size
            ack_size = seg.ack_path.stat().st_size if _ACK_SUFFIX in gens[best] else 0
            seg.disk = seg.size + ack_size
            self.bytes_used += seg.disk
            ln.segments[seq] = seg
        if removed:
            self._fsync_dir(ln.path)
        ln.next_seq = max(seqs, default=0) + 1

    def _scan(self, ln: _Lane, seg: _Segment, prefix: int | None = None) -> Deferred[None]:
        d = deferToThreadPool(
            self._reactor,
            self._scan_pool,
            _scan_files,
            seg,
            ln.index,
            self._fsync_fn,
            seg.scan_pos,
            prefix,
        )
        d.addCallback(self._install_scan, ln, seg)
        return d

    def _install_scan(
        self, found: tuple[int, int, ScanResult, int], ln: _Lane, seg: _Segment
    ) -> None:
        """Reactor side of a segment scan: index it and count it against the caps."""
        fd, ack_size, result, truncated = found
        if not self._opened:  # crashed or closed meanwhile
            if seg.fd is None:
                os.close(fd)
            return
        seg.fd = fd
        seg.waiting.extend(result.entries)
        found_live = len(result.entries)
        seg.live += found_live
        seg.count += result.records
        ln.depth += found_live
        self.records += found_live
        for owner, size in result.owner_bytes.items():
            name = owner.decode("utf-8", "replace")
            self._owner_bytes[name] = self._owner_bytes.get(name, 0) + size
        self.damaged_bytes += result.skipped_bytes
        if result.damaged_regions:
            log.warning(
                "spool %s: skipped %d damaged bytes in %d region(s)",
                seg.path,
                result.skipped_bytes,
                result.damaged_regions,
            )
        if not result.complete:  # a prefix: the background scan goes on from here
            seg.scan_pos = result.next_offset
            if found_live:
                self._notify()
            return
        seg.scanned = True
        seg.size = result.valid_end
        disk = seg.size + max(ack_size, ACK_SIZE * seg.count)
        self.bytes_used += disk - seg.disk
        seg.disk = disk
        self.truncated_bytes += truncated
        if truncated:
            log.warning("spool %s: truncated a torn tail of %d bytes", seg.path, truncated)
        if seg.live == 0:
            self._delete(ln, seg)
        self._notify()  # its records, or the younger ones it was holding back

    def _scan_next(self) -> None:
        """Index the next unscanned segment (oldest lane-segment first, lanes in turn)."""
        if self._closing:
            self._finish_recovery()
            return
        for ln in self._lanes:
            for seg in ln.segments.values():
                if not seg.scanned:
                    self._scan_busy = True
                    d = self._scan(ln, seg)
                    d.addErrback(self._scan_failed, seg)
                    d.addBoth(self._scan_step_done)
                    return
        self._finish_recovery()

    def _scan_failed(self, failure: Failure, seg: _Segment) -> None:
        log.error("spool: cannot recover %s: %s", seg.path, failure.getErrorMessage())
        seg.scanned = True  # leave it on disk for a human; skip it here

    def _scan_step_done(self, _: object) -> None:
        self._scan_busy = False
        self._scan_next()

    def _finish_recovery(self) -> None:
        self._recovering = False
        waiters, self._recovered = self._recovered, []
        for d in waiters:
            d.callback(None)

    def recovered(self) -> Deferred[None]:
        """Fires when every segment found at open has been indexed."""
        if not self._recovering and not self._scan_busy:
            return defer.succeed(None)
        d: Deferred[None] = Deferred()
        self._recovered.append(d)
        return d

    # ----------------------------------------------------------------- append
    def append(self, records: Sequence[tuple[int, str, bytes]]) -> Deferred[list[RecordRef]]:
        """Queue ``(lane, owner, payload)`` records; the Deferred fires with their refs once
        they are fsync'd.  Raises :class:`SpoolFull` (nothing reserved) if a cap would pass."""
        if not self._opened or self._closing:
            raise RuntimeError("spool is not open")
        encoded: list[tuple[_Lane, bytes, str]] = []
        need = 0
        by_owner: dict[str, int] = {}
        stamp = self._reactor.seconds()
        for lane, owner, payload in records:
            if not 0 <= lane < len(self._lanes):
                raise ValueError(f"no lane {lane}")
            owner_b = owner.encode("utf-8")
            if len(owner_b) > MAX_OWNER_BYTES:
                raise ValueError("owner name too long")
            data = encode_record(lane, stamp, owner_b, payload)
            if len(data) > self.segment_bytes:
                raise ValueError("record larger than a segment")
            encoded.append((self._lanes[lane], data, owner))
            need += len(data) + ACK_SIZE
            by_owner[owner] = by_owner.get(owner, 0) + len(data)
        if self.bytes_used + need > self.max_bytes:
            raise SpoolFull("spool byte cap reached")
        if self.pending_bytes and self.pending_bytes + need > self.max_pending_bytes:
            raise SpoolFull("spool commit backlog full (the disk is slow)")
        if self.max_records is not None and self.records + len(encoded) > self.max_records:
            raise SpoolFull("spool record cap reached")
        for owner, size in by_owner.items():
            cap = self.owner_max_bytes.get(owner)
            if cap is not None and self._owner_bytes.get(owner, 0) + size > cap:
                raise SpoolFull(f"spool cap for {owner!r} reached")
        # Fits: reserve everything now, so concurrent batches see it.
        self.bytes_used += need
        self.pending_bytes += need
        self.records += len(encoded)
        for owner, size in by_owner.items():
            self._owner_bytes[owner] = self._owner_bytes.get(owner, 0) + size
        batch = self._batch
        refs: list[RecordRef] = []
        entries: list[tuple[_Segment, int]] = []
        for ln, data, _owner in encoded:
            seg = self._active(ln, len(data))
            off = seg.size
            seg.size += len(data)
            seg.disk += len(data) + ACK_SIZE
            seg.live += 1
            seg.count += 1
            w = batch.writes.get(seg)
            if w is None:
                batch.writes[seg] = [off, [data]]
            else:
                w[1].append(data)
            refs.append(RecordRef(ln.index, seg.seq, off))
            entries.append((seg, off << 32 | len(data)))
        pending = _Append(refs, entries, by_owner)
        batch.appends.append(pending)
        batch.pending += need
        self._schedule()
        return pending.deferred

    def _active(self, ln: _Lane, size: int) -> _Segment:
        """The lane's segment to write ``size`` more bytes to, rolling to a new one if full."""
        seg = ln.active
        if seg is not None and (seg.size == 0 or seg.size + size <= self.segment_bytes):
            return seg
        if seg is not None and seg.live == 0:
            self._delete(ln, seg)
        seg = _Segment(ln.path, ln.next_seq)
        ln.next_seq += 1
        ln.segments[seg.seq] = seg
        ln.active = seg
        self._batch.creates.append((ln, seg))
        return seg

    # ----------------------------------------------------------------- take / release / ack
    def take(self, lane: int, limit: int) -> list[tuple[RecordRef, bytes]]:
        """Up to ``limit`` oldest takeable records of the lane, read from disk now."""
        ln = self._lanes[lane]
        picked: list[tuple[_Segment, int, int]] = []
        blocked = False
        while ln.released and len(picked) < limit:
            if ln.segments[ln.released[0][0]].compacting:
                blocked = True  # everything else is younger: wait for the compaction
                break
            seq, off, size = heapq.heappop(ln.released)
            picked.append((ln.segments[seq], off, size))
        if len(picked) < limit and not blocked:
            for seg in ln.segments.values():
                if seg.compacting:
                    break
                w = seg.waiting
                h = seg.head
                stop = min(len(w), h + limit - len(picked))
                for v in w[h:stop]:
                    picked.append((seg, v >> 32, v & _LOW32))
                seg.head = stop
                if stop > 4096 and stop * 2 > len(w):  # keep the index as small as the queue
                    del w[:stop]
                    seg.head = 0
                if len(picked) >= limit or not seg.scanned:
                    break  # an unscanned segment hides older records than the next one
        ln.depth -= len(picked)
        out: list[tuple[RecordRef, bytes]] = []
        for seg, off, size in picked:
            assert seg.fd is not None
            seg.taken += 1
            data = self._hot.pop((seg, seg.gen, off), b"")
            if len(data) == size:
                self._hot_size -= size
            else:
                if data:
                    self._hot_size -= len(data)
                data = os.pread(seg.fd, size, off)
            if check_at(data, 0, lane) != size:
                # Damaged on disk after recovery: drop it rather than deliver garbage.
                log.error("spool %s: record at %d is damaged, dropped", seg.path, off)
                ref = RecordRef(lane, seg.seq, off)
                self._taken[ref] = (size, "")
                self.ack(ref)
                continue
            olen = HEADER.unpack_from(data)[5]
            owner = data[HEADER_SIZE : HEADER_SIZE + olen].decode("utf-8", "replace")
            ref = RecordRef(lane, seg.seq, off)
            self._taken[ref] = (size, owner)
            out.append((ref, data[HEADER_SIZE + olen :]))
        return out

    def peek(self, lane: int, limit: int) -> Iterator[bytes]:
        """Payloads of up to ``limit`` waiting records of the lane in the order ``take``
        would give them, without taking them (an admin's store listing).  Lazy: each record
        is read when asked for, so a listing of 1000 costs 1000 reads whatever the depth.
        Consume it at once (on the reactor thread): the index moves with every take."""
        ln = self._lanes[lane]
        count = 0
        for seq, off, size in sorted(ln.released):
            if count >= limit:
                return
            seg = ln.segments.get(seq)
            if seg is None or seg.fd is None:
                continue
            count += 1
            yield self._payload(seg, off, size, lane)
        for seg in list(ln.segments.values()):
            w = seg.waiting
            for i in range(seg.head, len(w)):
                if count >= limit or seg.fd is None:
                    return
                v = w[i]
                count += 1
                yield self._payload(seg, v >> 32, v & _LOW32, lane)

    @staticmethod
    def _payload(seg: _Segment, off: int, size: int, lane: int) -> bytes:
        assert seg.fd is not None
        data = os.pread(seg.fd, size, off)
        if check_at(data, 0, lane) != size:
            return b""
        olen = HEADER.unpack_from(data)[5]
        return data[HEADER_SIZE + olen :]

    def release(self, ref: RecordRef) -> None:
        """Give a taken record back: it is taken again before anything younger in its lane."""
        size, _owner = self._taken.pop(ref)
        ln = self._lanes[ref.lane]
        heapq.heappush(ln.released, (ref.segment, ref.offset, size))
        ln.depth += 1
        seg = ln.segments[ref.segment]
        seg.taken -= 1
        self._maybe_compact(ln, seg)
        self._notify()

    def ack(self, ref: RecordRef) -> None:
        """The record is done: forget it, persist the ack with the next group commit, and
        delete its segment once every record in it is acked."""
        size, owner = self._taken.pop(ref)
        self.records -= 1
        if owner:
            left = self._owner_bytes.get(owner, 0) - size
            if left > 0:
                self._owner_bytes[owner] = left
            else:
                self._owner_bytes.pop(owner, None)
        ln = self._lanes[ref.lane]
        seg = ln.segments[ref.segment]
        seg.live -= 1
        seg.taken -= 1
        # A fully acked segment goes; the active one too once it is an eighth full, so an idle
        # lane pins at most segment_bytes / 8 of acked bytes without churning files per ack.
        if (
            seg.live == 0
            and seg.scanned
            and (seg is not ln.active or seg.size * 8 >= self.segment_bytes)
        ):
            self._delete(ln, seg)
        else:
            self._batch.acks.setdefault(seg, []).append(encode_ack(ref.offset))
            self._maybe_compact(ln, seg)
        self._schedule()

    def _maybe_compact(self, ln: _Lane, seg: _Segment) -> None:
        """Rewrite a sealed segment that is under 10% live (and at least a quarter of a
        segment big, so it is worth it and a compacted one is not compacted again) once none
        of its records is taken: its acked bytes come back to the cap."""
        if (
            seg.compacting
            or seg.taken
            or not seg.live
            or not seg.scanned
            or seg is ln.active
            or seg.live * 10 > seg.count
            or seg.size * 4 < self.segment_bytes
        ):
            return
        records = [(v >> 32, v & _LOW32) for v in seg.waiting[seg.head :]]
        records.extend((off, size) for seq, off, size in ln.released if seq == seg.seq)
        if len(records) != seg.live:  # cannot happen; never risk a record for disk space
            log.error("spool %s: live count mismatch, not compacted", seg.path)
            return
        records.sort()
        seg.compacting = True
        self._batch.compactions.append(_Compaction(ln, seg, records))
        self._schedule()

    def _delete(self, ln: _Lane, seg: _Segment) -> None:
        """Forget a fully acked segment now; its files go with the next commit."""
        ln.segments.pop(seg.seq, None)
        if ln.active is seg:
            ln.active = None
        self._batch.acks.pop(seg, None)
        self._batch.deletes.append((ln, seg))
        self._schedule()

    # ----------------------------------------------------------------- wait
    def wait(self) -> Deferred[None]:
        """Fires when some lane has a record ``take`` would return now (at once if one has).

        Not the same as ``depth > 0``: while recovery has not reached a segment, or while a
        segment is being compacted, younger records are counted in ``depth`` but not served
        (order first), and a dispatcher looping on ``wait`` must not spin meanwhile."""
        if any(self.takeable(ln.index) for ln in self._lanes):
            return defer.succeed(None)
        d: Deferred[None] = Deferred()
        self._waiters.append(d)
        return d

    def takeable(self, lane: int) -> bool:
        """True if ``take(lane, 1)`` would return a record now."""
        ln = self._lanes[lane]
        if ln.released:
            return not ln.segments[ln.released[0][0]].compacting
        for seg in ln.segments.values():
            if seg.compacting:
                return False
            if seg.head < len(seg.waiting):
                return True
            if not seg.scanned:
                return False
        return False

    def _notify(self) -> None:
        if self._waiters:
            waiters, self._waiters = self._waiters, []
            for d in waiters:
                d.callback(None)

    # ----------------------------------------------------------------- group commit
    def _schedule(self) -> None:
        if self._flush_call is None and not self._committing:
            self._flush_call = self._reactor.callLater(self.commit_wait, self._flush)

    def _commit_next(self) -> None:
        """After a commit: what arrived meanwhile has waited one sync already; go now."""
        if self._flush_call is not None:
            self._flush_call.cancel()
            self._flush_call = None
        self._flush()

    def _flush(self) -> None:
        self._flush_call = None
        if self._committing or not self._batch:
            return
        batch, self._batch = self._batch, _Batch()
        self._committing = True
        self._in_commit = batch.pending
        d = deferToThreadPool(self._reactor, self._commit_pool, self._write, batch)
        d.addCallbacks(
            self._committed, self._commit_failed, callbackArgs=(batch,), errbackArgs=(batch,)
        )
        d.addErrback(lambda f: log.error("spool: commit bookkeeping failed: %s", f))
        d.addBoth(self._commit_done)

    def _write(self, batch: _Batch) -> None:
        """Writer thread: create files, write records and acks, fsync, delete, fsync dirs."""
        dirs: set[Path] = set()
        touched: list[int] = []
        for ln, seg in batch.creates:
            seg.fd = os.open(seg.path, os.O_RDWR | os.O_CREAT, 0o644)
            seg.created = True
            dirs.add(ln.path)
        for seg, (first, chunks) in batch.writes.items():
            assert seg.fd is not None
            _pwrite_all(seg.fd, b"".join(chunks), first)
            touched.append(seg.fd)
        for seg, entries in batch.acks.items():
            if seg.ack_fd is None:
                seg.ack_fd = os.open(seg.ack_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
                dirs.add(seg.ack_path.parent)
            _write_all(seg.ack_fd, b"".join(entries))
            self._unsynced_acks.add(seg)
        now = time.monotonic()
        if self._unsynced_acks and (
            batch.deletes or now - self._acks_synced_at >= self.ack_sync_interval
        ):
            touched.extend(seg.ack_fd for seg in self._unsynced_acks if seg.ack_fd is not None)
            self._unsynced_acks.clear()
            self._acks_synced_at = now
        for fd in touched:
            self._fsync(fd)
        for ln, seg in batch.deletes:
            for fd in (seg.fd, seg.ack_fd):
                if fd is not None:
                    os.close(fd)
            seg.fd = seg.ack_fd = None
            for path in (seg.path, seg.ack_path):
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass
            dirs.add(ln.path)
        for path in dirs:
            self._fsync_dir(path)
        for job in batch.compactions:
            try:
                self._compact(job)
            except Exception:
                log.exception("spool: compaction of %s failed; left as it was", job.seg.path)

    def _compact(self, job: _Compaction) -> None:
        """Writer thread: copy the live records to the next generation, crash-safely: write a
        temporary file, fsync it, rename it, fsync the directory, and only then delete the old
        generation and its ack file.  Recovery keeps the highest generation of a segment."""
        seg = job.seg
        assert seg.fd is not None
        new_path = seg.dir / _name(seg.seq, job.new_gen, _SEG_SUFFIX)
        tmp = seg.dir / (new_path.name + ".tmp")
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            chunks = []
            pos = 0
            for off, size in job.records:
                chunks.append(os.pread(seg.fd, size, off))
                job.offsets.append(pos)
                pos += size
            _pwrite_all(fd, b"".join(chunks), 0)
            self._fsync(fd)
            os.rename(tmp, new_path)
            self._fsync_dir(seg.dir)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        job.new_fd = fd
        job.new_size = pos
        for path in (seg.path, seg.ack_path):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        self._fsync_dir(seg.dir)

    def _install_compaction(self, job: _Compaction) -> None:
        """Reactor side: point the index at the new generation and give the bytes back."""
        seg, ln = job.seg, job.lane
        seg.compacting = False
        if job.new_fd is None:
            return
        old_fds = (seg.fd, seg.ack_fd)
        seg.fd, seg.ack_fd = job.new_fd, None
        self._unsynced_acks.discard(seg)  # its acks are folded into the new generation
        seg.set_gen(job.new_gen)
        remap = {old: new for (old, _size), new in zip(job.records, job.offsets, strict=True)}
        seg.waiting = array(
            "Q", (remap[v >> 32] << 32 | (v & _LOW32) for v in seg.waiting[seg.head :])
        )
        seg.head = 0
        if any(seq == seg.seq for seq, _o, _s in ln.released):
            ln.released = [
                (seq, remap[off] if seq == seg.seq else off, size) for seq, off, size in ln.released
            ]
            heapq.heapify(ln.released)
        seg.size = job.new_size
        seg.count = len(job.records)
        disk = seg.size + ACK_SIZE * seg.count
        self.bytes_used -= seg.disk - disk
        seg.disk = disk
        self.compactions += 1
        for fd in old_fds:
            if fd is not None:
                os.close(fd)

    def _committed(self, _: None, batch: _Batch) -> None:
        """Reactor side: the batch is durable; index its records and answer its appends."""
        if not self._opened:  # _crash() ran meanwhile: its fds are closed, numbers reused
            self._abandon(batch)
            return
        self.commits += 1
        for _ln, seg in batch.deletes:
            self.bytes_used -= seg.disk
        notify = False
        for pending in batch.appends:
            for seg, packed in pending.entries:
                seg.waiting.append(packed)
            for ref in pending.refs:
                self._lanes[ref.lane].depth += 1
            notify = notify or bool(pending.refs)
        self._keep_hot(batch)
        # The written bytes are no longer needed; the callbacks below may run long (they answer
        # HTTP requests) and must not pin a whole batch of payloads meanwhile.
        batch.writes.clear()
        batch.acks.clear()
        for job in batch.compactions:
            self._install_compaction(job)
            notify = True
        appends, batch.appends = batch.appends, []
        if notify:
            self._notify()
        for pending in appends:
            d, refs = pending.deferred, pending.refs
            pending.entries = pending.refs = []  # type: ignore[assignment]
            d.callback(refs)

    def _keep_hot(self, batch: _Batch) -> None:
        """Keep the batch's records for `take` (see `_hot`), within `hot_bytes`."""
        if not self.hot_bytes:
            return
        hot = self._hot
        for seg, (off, datas) in batch.writes.items():
            gen = seg.gen
            for data in datas:
                hot[(seg, gen, off)] = data
                off += len(data)
                self._hot_size += len(data)
        while self._hot_size > self.hot_bytes and hot:
            self._hot_size -= len(hot.pop(next(iter(hot))))

    def _commit_failed(self, failure: Failure, batch: _Batch) -> None:
        """The disk refused: the appends fail (the client gets a 503), their reservations are
        returned, and their segments are closed for writing (their tails may be torn)."""
        log.error("spool: group commit failed: %s", failure.getErrorMessage())
        if not self._opened:
            self._abandon(batch)
            return
        for pending in batch.appends:
            for seg, _packed in pending.entries:
                seg.live -= 1
            self.records -= len(pending.refs)
            for owner, size in pending.owners.items():
                self._owner_bytes[owner] = self._owner_bytes.get(owner, 0) - size
        for seg in batch.writes:
            for ln in self._lanes:
                if ln.active is seg:
                    ln.active = None  # next append rolls to a fresh segment
                if seg.live == 0 and ln.segments.get(seg.seq) is seg:
                    self._delete(ln, seg)
        for job in batch.compactions:
            self._install_compaction(job)  # a finished one is installed, else nothing changed
        for pending in batch.appends:
            pending.deferred.errback(failure)

    def _abandon(self, batch: _Batch) -> None:
        """A commit that ended after the spool was dropped: close only what it opened."""
        for job in batch.compactions:
            if job.new_fd is not None:
                os.close(job.new_fd)
        for _ln, seg in batch.creates:
            if seg.fd is not None and seg.seq not in _ln.segments:
                os.close(seg.fd)

    def _commit_done(self, _: object) -> None:
        self._committing = False
        self.pending_bytes -= self._in_commit
        self._in_commit = 0
        if self._batch:
            self._commit_next()
        idle, self._idle = self._idle, []
        for d in idle:
            d.callback(None)

    # ----------------------------------------------------------------- files and threads
    def _fsync(self, fd: int) -> None:
        self.fsyncs += 1
        self._fsync_fn(fd)

    def _fsync_dir(self, path: Path) -> None:
        fd = os.open(path, os.O_RDONLY)
        try:
            # A directory's entries are what matters there: full fsync, whatever files use.
            if self._fsync_fn is os.fdatasync:
                self.fsyncs += 1
                os.fsync(fd)
            else:
                self._fsync(fd)
        finally:
            os.close(fd)

    def _start_pools(self) -> None:
        self._commit_pool = ThreadPool(1, 1, name="spool-commit")
        self._scan_pool = ThreadPool(1, 1, name="spool-scan")
        self._pools = [self._commit_pool, self._scan_pool]
        for pool in self._pools:
            pool.start()
        self._shutdown_trigger = self._reactor.addSystemEventTrigger(
            "during", "shutdown", self._stop_pools
        )

    def _stop_pools(self) -> None:
        pools, self._pools = self._pools, []
        for pool in pools:
            pool.stop()

    def flush(self) -> Deferred[None]:
        """Commit whatever is pending now (appends, acks, deletions) without waiting for
        ``commit_wait``; fires when nothing is pending any more.  For shutdown and tests."""
        return Deferred.fromCoroutine(self._drain())

    async def _drain(self) -> None:
        while self._batch or self._committing:
            if self._flush_call is not None:
                self._flush_call.cancel()
                self._flush_call = None
            if not self._committing:
                self._flush()
            if self._committing:
                d: Deferred[None] = Deferred()
                self._idle.append(d)
                await d

    # ----------------------------------------------------------------- close
    def close(self) -> Deferred[None]:
        """Commit what is pending (appends and acks), stop recovery, close the files."""
        return Deferred.fromCoroutine(self._close())

    async def _close(self) -> None:
        if not self._opened:
            return
        self._closing = True
        await self._drain()
        if self._scan_busy or self._recovering:
            await self.recovered()
        # The writer is idle now: sync the acks written since the last interval.
        for seg in self._unsynced_acks:
            if seg.ack_fd is not None:
                self._fsync(seg.ack_fd)
        self._unsynced_acks.clear()
        self._shutdown()

    def _crash(self) -> None:
        """Tests only: drop everything as a killed process would (no flush, fds closed)."""
        if self._flush_call is not None:
            self._flush_call.cancel()
            self._flush_call = None
        self._closing = True
        self._shutdown()

    def _shutdown(self) -> None:
        if self._shutdown_trigger is not None:
            self._reactor.removeSystemEventTrigger(self._shutdown_trigger)
            self._shutdown_trigger = None
        self._stop_pools()
        for ln in self._lanes:
            for seg in ln.segments.values():
                for fd in (seg.fd, seg.ack_fd):
                    if fd is not None:
                        os.close(fd)
                seg.fd = seg.ack_fd = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None
        self._opened = False


def _scan_files(
    seg: _Segment, lane: int, fsync: Callable[[int], None], start: int, prefix: int | None
) -> tuple[int, int, ScanResult, int]:
    """Recovery thread: read a segment from ``start`` (only ``prefix`` bytes if given) and
    its acks, index it, and truncate a torn tail once the scan reaches the end."""
    opened = seg.fd is None
    fd = os.open(seg.path, os.O_RDWR) if seg.fd is None else seg.fd
    try:
        size = os.fstat(fd).st_size
        final = prefix is None or start + prefix >= size
        data = _read_all(fd, start, size if final else start + prefix)
        try:
            with open(seg.ack_path, "rb") as f:
                ack_data = f.read()
        except FileNotFoundError:
            ack_data = b""
        result = scan_segment(data, parse_acks(ack_data), lane, base=start, final=final)
        truncated = 0
        if final:
            truncated = size - result.valid_end
            if truncated:
                os.ftruncate(fd, result.valid_end)
                fsync(fd)
            if len(ack_data) % ACK_SIZE:  # a torn ack entry: realign so new ones stay readable
                with open(seg.ack_path, "r+b") as f:
                    f.truncate(len(ack_data) - len(ack_data) % ACK_SIZE)
                    f.flush()
                    fsync(f.fileno())
        return fd, len(ack_data) - len(ack_data) % ACK_SIZE, result, truncated
    except BaseException:
        if opened:
            os.close(fd)
        raise


def _read_all(fd: int, offset: int, end: int) -> bytes:
    chunks = []
    while offset < end:
        chunk = os.pread(fd, end - offset, offset)
        if not chunk:
            break
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def _pwrite_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        n = os.pwrite(fd, view, offset)
        view = view[n:]
        offset += n


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            n = os.write(fd, view)
        except InterruptedError:
            continue
        if n == 0:
            raise OSError(errno.EIO, "short write")
        view = view[n:]
