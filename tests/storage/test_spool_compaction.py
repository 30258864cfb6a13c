"""Compaction: a sealed segment under 10% live is rewritten with only its live records, the
bytes come back to the cap, order and payloads are kept, and a crash at any step loses
nothing and duplicates nothing."""

from __future__ import annotations

from pathlib import Path

import pytest_twisted
from twisted.internet import reactor

from storage.spool import Spool


async def opened(path: Path, **kw) -> Spool:
    kw.setdefault("max_bytes", 10**8)
    kw.setdefault("segment_bytes", 4096)
    spool = Spool(path, reactor=reactor, **kw)
    await spool.open()
    return spool


async def sparse_first_segment(spool: Spool) -> tuple[int, list[bytes], list]:
    """Fill three segments, take everything, and leave two records of the first one
    released (not taken) and the rest of it acked.  Returns its seq, the two payloads and the
    refs still taken from the other segments."""
    await spool.append([(0, "u", b"%04d" % i + b"." * 96) for i in range(100)])
    taken = spool.take(0, 100)
    first = taken[0][0].segment
    mine = [(r, p) for r, p in taken if r.segment == first]
    assert len(mine) > 20
    keep = [mine[4], mine[17]]
    for ref, payload in mine:
        if (ref, payload) not in keep:
            spool.ack(ref)
    for ref, _ in keep:
        spool.release(ref)
    others = [r for r, _ in taken if r.segment != first]
    return first, [p for _, p in keep], others


@pytest_twisted.ensureDeferred
async def test_sparse_segment_is_rewritten_and_gives_its_bytes_back(tmp_path: Path) -> None:
    spool = await opened(tmp_path)
    try:
        first, kept, others = await sparse_first_segment(spool)
        compacted_away = 100 - len(others) - len(kept)
        await spool.flush()
        lane = tmp_path / "lane-0"
        assert spool.compactions == 1
        assert not (lane / f"{first:016d}.seg").exists()
        assert not (lane / f"{first:016d}.ack").exists()
        new = lane / f"{first:016d}.1.seg"
        assert new.stat().st_size == sum(24 + 1 + len(p) for p in kept)
        # Every record reserves 24 + 1 + 100 bytes and its 8-byte ack entry.
        assert spool.bytes_used == (100 - compacted_away) * 133
        again = spool.take(0, 10)
        assert [p for _, p in again] == kept  # same order, same bytes
        for ref, _ in again:
            spool.ack(ref)
        await spool.flush()
        assert not new.exists()  # fully acked afterwards: deleted as usual
        for ref in others:
            spool.ack(ref)
    finally:
        await spool.close()


@pytest_twisted.ensureDeferred
async def test_no_compaction_while_a_record_of_it_is_taken(tmp_path: Path) -> None:
    spool = await opened(tmp_path)
    try:
        await spool.append([(0, "u", b"%04d" % i + b"." * 96) for i in range(100)])
        taken = spool.take(0, 100)
        first = taken[0][0].segment
        mine = [r for r, _ in taken if r.segment == first]
        for ref in mine[1:]:
            spool.ack(ref)
        await spool.flush()
        assert spool.compactions == 0  # mine[0] is out at an SMSC
        spool.release(mine[0])
        # Compacting now: its record is not served meanwhile, and wait() does not spin.
        assert spool.depth(0) == 1 and not spool.takeable(0) and spool.take(0, 5) == []
        woken = spool.wait()
        assert not woken.called
        await spool.flush()
        assert spool.compactions == 1 and woken.called
        assert [r.offset for r, _ in spool.take(0, 5)] == [0]
    finally:
        await spool.close()


@pytest_twisted.ensureDeferred
async def test_compacted_segment_recovers_after_a_crash(tmp_path: Path) -> None:
    spool = await opened(tmp_path)
    first, kept, others = await sparse_first_segment(spool)
    await spool.flush()
    assert spool.compactions == 1
    spool._crash()
    again = await opened(tmp_path)
    try:
        await again.recovered()
        back = [p for _, p in again.take(0, 1000)]
        assert back[:2] == kept and len(back) == 2 + len(others)
        assert len(set(back)) == len(back)
    finally:
        await again.close()


@pytest_twisted.ensureDeferred
async def test_crash_between_rename_and_delete_keeps_the_new_generation(tmp_path: Path) -> None:
    spool = await opened(tmp_path)
    lane = tmp_path / "lane-0"
    await spool.append([(0, "u", b"%04d" % i + b"." * 96) for i in range(100)])
    first = spool.take(0, 1)[0][0]
    spool.release(first)
    old = lane / f"{first.segment:016d}.seg"
    old_bytes = old.read_bytes()
    spool._crash()
    spool = await opened(tmp_path)
    await spool.recovered()
    # The old generation has no ack file, so write the acks by acking through the spool.
    kept: list[bytes] = []
    taken = spool.take(0, 100)
    mine = [(r, p) for r, p in taken if r.segment == first.segment]
    for i, (ref, payload) in enumerate(mine):
        if i in (3, 9):
            spool.release(ref)
            kept.append(payload)
        else:
            spool.ack(ref)
    await spool.flush()
    assert spool.compactions == 1
    spool._crash()
    # As if the process died after the rename, before the old generation was deleted, and
    # while a later compaction had only written its temporary file.
    old.write_bytes(old_bytes)
    (lane / f"{first.segment:016d}.ack").write_bytes(b"")
    (lane / f"{first.segment:016d}.2.seg.tmp").write_bytes(b"garbage")
    again = await opened(tmp_path)
    try:
        await again.recovered()
        assert not old.exists() and not (lane / f"{first.segment:016d}.2.seg.tmp").exists()
        back = [p for _, p in again.take(0, 1000)]
        others = [p for r, p in taken if r.segment != first.segment]
        assert back == kept + others
    finally:
        await again.close()
