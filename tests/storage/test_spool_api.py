"""Spool behaviour on real files with real threads: order, lanes, release, ack, caps, group
commit, the durability contract (append fires only after fsync) and disk use under a flood."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
import pytest_twisted
from twisted.internet import defer, reactor

from storage.spool import RecordRef, Spool, SpoolFull
from storage.spool.codec import ACK_SIZE, HEADER_SIZE


def disk_use(directory: Path) -> int:
    """Bytes of every spool file (segments and acks) as the filesystem sees them now."""
    total = 0
    for lane in directory.glob("lane-*"):
        for entry in os.scandir(lane):
            try:
                total += entry.stat().st_size
            except FileNotFoundError:  # deleted while we looked
                pass
    return total


def cost(owner: str, payload: bytes) -> int:
    """What one record reserves against max_bytes: header, owner, payload, its ack entry."""
    return HEADER_SIZE + len(owner.encode()) + len(payload) + ACK_SIZE


def size(owner: str, payload: bytes) -> int:
    """What one record occupies in its segment file."""
    return cost(owner, payload) - ACK_SIZE


async def opened(path: Path, **kw) -> Spool:
    kw.setdefault("max_bytes", 10**8)
    spool = Spool(path, reactor=reactor, **kw)
    await spool.open()
    return spool


@pytest_twisted.ensureDeferred
async def test_fifo_per_lane_and_lanes_are_independent(tmp_path: Path) -> None:
    spool = await opened(tmp_path)
    try:
        refs = await spool.append([(i % 2, "u", b"m%d" % i) for i in range(10)])
        assert all(isinstance(r, RecordRef) for r in refs)
        assert (spool.depth(0), spool.depth(1), spool.depth(2)) == (5, 5, 0)
        assert [p for _, p in spool.take(0, 3)] == [b"m0", b"m2", b"m4"]
        assert [p for _, p in spool.take(1, 100)] == [b"m1", b"m3", b"m5", b"m7", b"m9"]
        assert [p for _, p in spool.take(0, 100)] == [b"m6", b"m8"]
        assert spool.take(0, 10) == [] and spool.take(2, 10) == []
        assert spool.in_flight == 10 and spool.records == 10
    finally:
        await spool.close()


@pytest_twisted.ensureDeferred
async def test_release_goes_back_to_the_head_and_ack_forgets(tmp_path: Path) -> None:
    spool = await opened(tmp_path)
    try:
        await spool.append([(0, "u", b"a"), (0, "u", b"b"), (0, "u", b"c")])
        (ra, _), (rb, _) = spool.take(0, 2)
        spool.release(rb)
        spool.release(ra)
        assert spool.depth(0) == 3
        taken = spool.take(0, 3)
        assert [p for _, p in taken] == [b"a", b"b", b"c"]
        for ref, _ in taken:
            spool.ack(ref)
        assert spool.records == 0 and spool.in_flight == 0 and spool.depth(0) == 0
        assert spool.owner_bytes("u") == 0
        with pytest.raises(KeyError):
            spool.ack(taken[0][0])
    finally:
        await spool.close()


@pytest_twisted.ensureDeferred
async def test_wait_fires_when_a_record_becomes_takeable(tmp_path: Path) -> None:
    spool = await opened(tmp_path)
    try:
        waiting = spool.wait()
        assert not waiting.called
        await spool.append([(3, "u", b"x")])
        assert waiting.called
        assert spool.wait().called  # something is takeable already
        ((ref, _),) = spool.take(3, 1)
        later = spool.wait()
        assert not later.called
        spool.release(ref)
        assert later.called
    finally:
        await spool.close()


@pytest_twisted.ensureDeferred
async def test_oldest_age_comes_from_the_stored_timestamp(tmp_path: Path) -> None:
    spool = await opened(tmp_path)
    try:
        assert spool.oldest_age(0, reactor.seconds()) is None
        before = reactor.seconds()
        await spool.append([(0, "u", b"x"), (0, "u", b"y")])
        age = spool.oldest_age(0, before + 10.0)
        assert age is not None and 9.0 < age <= 10.0
        assert spool.oldest_age(1, before) is None
    finally:
        await spool.close()


@pytest_twisted.ensureDeferred
async def test_global_byte_cap_refuses_the_whole_batch(tmp_path: Path) -> None:
    one = cost("u", b"x" * 100)
    spool = await opened(tmp_path, max_bytes=one * 3)
    try:
        await spool.append([(0, "u", b"x" * 100)] * 2)
        used, files = spool.bytes_used, disk_use(tmp_path)
        with pytest.raises(SpoolFull):
            spool.append([(0, "u", b"x" * 100)] * 2)  # would pass the cap by one record
        await spool.flush()
        assert (spool.bytes_used, spool.records, disk_use(tmp_path)) == (used, 2, files)
        await spool.append([(1, "u", b"x" * 100)])  # exactly at the cap fits
        assert spool.bytes_used == one * 3
        assert disk_use(tmp_path) == one * 3 - 3 * ACK_SIZE  # ack entries are reserved, unwritten
    finally:
        await spool.close()


@pytest_twisted.ensureDeferred
async def test_reservations_stop_concurrent_batches_overshooting(tmp_path: Path) -> None:
    one = cost("u", b"y" * 50)
    spool = await opened(tmp_path, max_bytes=one * 4)
    try:
        first = spool.append([(0, "u", b"y" * 50)] * 3)  # not committed yet
        with pytest.raises(SpoolFull):
            spool.append([(0, "u", b"y" * 50)] * 2)
        second = spool.append([(0, "u", b"y" * 50)])
        await defer.gatherResults([first, second])
        assert spool.bytes_used == one * 4
    finally:
        await spool.close()


@pytest_twisted.ensureDeferred
async def test_record_cap(tmp_path: Path) -> None:
    spool = await opened(tmp_path, max_records=3)
    try:
        await spool.append([(0, "u", b"1"), (0, "u", b"2")])
        with pytest.raises(SpoolFull):
            spool.append([(0, "u", b"3"), (0, "u", b"4")])
        await spool.append([(0, "u", b"3")])
        with pytest.raises(SpoolFull):
            spool.append([(0, "u", b"4")])
        ref, _ = spool.take(0, 1)[0]
        spool.ack(ref)
        await spool.append([(0, "u", b"4")])
    finally:
        await spool.close()


@pytest_twisted.ensureDeferred
async def test_owner_cap_refuses_that_owner_only(tmp_path: Path) -> None:
    one = cost("alice", b"z" * 20) - ACK_SIZE  # owners are charged their records' bytes
    spool = await opened(tmp_path, owner_max_bytes={"alice": one * 2})
    try:
        await spool.append([(0, "alice", b"z" * 20)] * 2)
        assert spool.owner_bytes("alice") == one * 2
        with pytest.raises(SpoolFull):
            spool.append([(0, "bob", b"b"), (0, "alice", b"z" * 20)])
        assert spool.owner_bytes("bob") == 0 and spool.records == 2
        await spool.append([(0, "bob", b"b" * 1000)] * 5)  # bob has no cap
        ref, _ = spool.take(0, 1)[0]
        spool.ack(ref)
        assert spool.owner_bytes("alice") == one
        await spool.append([(1, "alice", b"z" * 20)])
    finally:
        await spool.close()


@pytest_twisted.ensureDeferred
async def test_many_appends_in_one_turn_share_one_fsync(tmp_path: Path) -> None:
    calls: list[int] = []

    def counting_fsync(fd: int) -> None:
        calls.append(fd)
        os.fsync(fd)

    spool = await opened(tmp_path, fsync=counting_fsync, commit_wait=0.005)
    try:
        await spool.append([(0, "u", b"warm-up")])  # creates the segment (+ a dir fsync)
        calls.clear()
        commits = spool.commits
        results = await defer.gatherResults(
            [spool.append([(0, "u", b"msg %d" % i)]) for i in range(200)]
        )
        assert len(results) == 200
        assert len(calls) == 1 and spool.commits == commits + 1
    finally:
        await spool.close()


@pytest_twisted.ensureDeferred
async def test_append_fires_only_after_fsync_returns(tmp_path: Path) -> None:
    gate = threading.Event()
    entered = threading.Event()
    armed = False

    def slow_fsync(fd: int) -> None:
        if armed:
            entered.set()
            gate.wait(10)
        os.fsync(fd)

    spool = await opened(tmp_path, fsync=slow_fsync)
    try:
        await spool.append([(0, "u", b"warm-up")])
        armed = True
        d = spool.append([(0, "u", b"durable")])
        await deferred_from_event(entered)
        assert not d.called and spool.depth(0) == 1  # not takeable before it is durable
        gate.set()
        await d
        assert spool.depth(0) == 2
    finally:
        gate.set()
        await spool.close()


def deferred_from_event(event: threading.Event) -> defer.Deferred[None]:
    from twisted.internet.threads import deferToThread

    return deferToThread(event.wait, 10)


@pytest_twisted.ensureDeferred
async def test_flood_never_puts_more_than_the_cap_on_disk(tmp_path: Path) -> None:
    cap = 40_000
    peak = [0]

    def watching_fsync(fd: int) -> None:
        # Called after the writes and before the deletions: the fullest moment on disk.
        peak[0] = max(peak[0], disk_use(tmp_path))
        os.fsync(fd)

    spool = await opened(tmp_path, max_bytes=cap, segment_bytes=4096, fsync=watching_fsync)
    try:
        refused = accepted = 0
        for round_ in range(40):
            pending = []
            for i in range(30):
                try:
                    pending.append(spool.append([(i % 4, f"user{i % 3}", b"p" * (40 + i))]))
                    accepted += 1
                except SpoolFull:
                    refused += 1
            await defer.gatherResults(pending)
            assert disk_use(tmp_path) <= cap and spool.bytes_used <= cap
            if round_ % 3 == 2:  # the consumer wakes up now and then
                for lane in range(4):
                    for ref, _ in spool.take(lane, 10):
                        spool.ack(ref)
        assert refused and accepted
        assert peak[0] <= cap
        # Drained, the spool gives its disk back and accepts again.
        for lane in range(4):
            for ref, _ in spool.take(lane, 10**6):
                spool.ack(ref)
        await spool.flush()  # deletions commit: the bytes come back
        # What stays: each lane's active segment if less than an eighth full, and its acks.
        assert disk_use(tmp_path) <= spool.bytes_used <= 4 * (4096 // 8 + 4096 // 8)
        await spool.append([(0, "u", b"again")])
        assert spool.records == 1
        assert disk_use(tmp_path) <= cap
    finally:
        await spool.close()


@pytest_twisted.ensureDeferred
async def test_fully_acked_segments_are_deleted(tmp_path: Path) -> None:
    spool = await opened(tmp_path, segment_bytes=1024)
    try:
        await spool.append([(0, "u", b"q" * 100)] * 40)  # ~5 segments
        lane_dir = tmp_path / "lane-0"
        segments = sorted(lane_dir.glob("*.seg"))
        assert len(segments) >= 4
        used = spool.bytes_used
        taken = spool.take(0, 20)
        for ref, _ in taken:
            spool.ack(ref)
        await spool.flush()
        left = sorted(lane_dir.glob("*.seg"))
        gone = {r.segment for r, _ in taken} - {int(p.stem) for p in left}
        assert gone and all(not (lane_dir / f"{s:016d}.ack").exists() for s in gone)
        assert spool.bytes_used < used
        # Each record left on disk holds its bytes and its ack entry (written or not).
        on_disk = sum(p.stat().st_size for p in left)
        assert spool.bytes_used == on_disk + ACK_SIZE * (on_disk // size("u", b"q" * 100))
        for ref, _ in spool.take(0, 100):
            spool.ack(ref)
        await spool.flush()
        assert spool.records == 0 and spool.bytes_used == disk_use(tmp_path) == 0
    finally:
        await spool.close()


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        Spool(tmp_path, max_bytes=1, lanes=0, reactor=reactor)
    with pytest.raises(RuntimeError):
        Spool(tmp_path, max_bytes=1, reactor=reactor).append([(0, "u", b"")])


@pytest_twisted.ensureDeferred
async def test_wrong_lane_and_oversized_record_are_refused_synchronously(tmp_path: Path) -> None:
    spool = await opened(tmp_path, segment_bytes=512)
    try:
        with pytest.raises(ValueError):
            spool.append([(4, "u", b"x")])
        with pytest.raises(ValueError):
            spool.append([(0, "u", b"x" * 600)])
        assert spool.records == 0 and spool.bytes_used == 0
    finally:
        await spool.close()


@pytest_twisted.ensureDeferred
async def test_a_second_spool_on_the_same_directory_is_refused(tmp_path: Path) -> None:
    spool = await opened(tmp_path)
    try:
        with pytest.raises(RuntimeError):
            await opened(tmp_path)
    finally:
        await spool.close()


@pytest_twisted.ensureDeferred
async def test_a_stalled_disk_bounds_the_commit_backlog(tmp_path: Path) -> None:
    gate = threading.Event()
    entered = threading.Event()
    armed = False

    def stalled_fsync(fd: int) -> None:
        if armed:
            entered.set()
            gate.wait(10)
        os.fsync(fd)

    one = cost("u", b"b" * 100)
    spool = await opened(tmp_path, fsync=stalled_fsync, max_pending_bytes=one * 5)
    try:
        await spool.append([(0, "u", b"warm-up")])
        armed = True
        stuck = spool.append([(0, "u", b"b" * 100)] * 3)
        await deferred_from_event(entered)
        queued = spool.append([(0, "u", b"b" * 100)] * 2)
        with pytest.raises(SpoolFull):
            spool.append([(0, "u", b"b" * 100)])
        assert spool.pending_bytes == one * 5
        gate.set()
        await defer.gatherResults([stuck, queued])
        await spool.flush()
        assert spool.pending_bytes == 0
        await spool.append([(0, "u", b"b" * 100)])
    finally:
        gate.set()
        await spool.close()
