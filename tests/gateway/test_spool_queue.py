"""SpoolQueue: the MessageQueue contract over the real spool (real files, real threads):
put fires after fsync, caps become QueueFull, weighted lanes, parked retries, replay of what
was never acked."""

from __future__ import annotations

from pathlib import Path

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.task import Clock

from gateway.message import UNSET, Message, new_id
from gateway.queue import QueueFull
from gateway.spool_queue import SpoolQueue
from storage.spool import Spool


def message(priority: int = UNSET, text: bytes = b"hi", user: str = "alice") -> Message:
    mid = new_id()
    return Message(mid, mid, "12345", "4670000001", text, priority=priority, username=user,
                   created=reactor.seconds())


def queue_at(path: Path, clock: object = reactor, **spool: object) -> SpoolQueue:
    spool.setdefault("max_bytes", 10**7)
    return SpoolQueue(Spool(path, reactor=reactor, **spool), clock)  # type: ignore[arg-type]


@pytest_twisted.ensureDeferred
async def test_put_take_ack_and_nothing_comes_back_after_a_restart(tmp_path: Path) -> None:
    queue = queue_at(tmp_path)
    await queue.open()
    batch = [message(text=b"m%d" % i) for i in range(5)]
    assert await queue.put(batch) is None
    assert queue.queued == 5 and queue.in_flight == 0
    taken = queue.take(10)
    assert taken == batch  # decoded back field for field, same ids
    assert queue.in_flight == 5
    for m in taken:
        queue.ack(m)
    assert queue.queued == 0 and queue.in_flight == 0
    await queue.close()
    again = queue_at(tmp_path)
    await again.open()
    try:
        assert again.take(10) == []
    finally:
        await again.close()


@pytest_twisted.ensureDeferred
async def test_what_was_taken_but_not_acked_is_replayed(tmp_path: Path) -> None:
    queue = queue_at(tmp_path)
    await queue.open()
    batch = [message(text=b"m%d" % i) for i in range(4)]
    await queue.put(batch)
    first, second, *_ = queue.take(4)
    queue.ack(first)
    await queue.close()  # second..fourth were in flight: never acked
    again = queue_at(tmp_path)
    await again.open()
    try:
        assert [m.id for m in again.take(10)] == [m.id for m in batch[1:]]
    finally:
        await again.close()


@pytest_twisted.ensureDeferred
async def test_a_cap_refuses_the_whole_batch_as_queue_full(tmp_path: Path) -> None:
    queue = queue_at(tmp_path, max_bytes=2000)
    await queue.open()
    try:
        await queue.put([message(text=b"x" * 100) for _ in range(3)])
        before = queue.bytes_used
        with pytest.raises(QueueFull):
            queue.put([message(text=b"x" * 100) for _ in range(10)])
        assert queue.bytes_used == before <= queue.max_bytes == 2000
        assert queue.queued == 3
    finally:
        await queue.close()


@pytest_twisted.ensureDeferred
async def test_put_before_open_waits_for_it(tmp_path: Path) -> None:
    queue = queue_at(tmp_path)
    stored = queue.put([message()])
    woke = queue.wait()
    assert not stored.called and queue.take(5) == []
    await queue.open()
    try:
        await stored
        await woke
        assert len(queue.take(5)) == 1
    finally:
        await queue.close()


@pytest_twisted.ensureDeferred
async def test_lanes_are_weighted_and_measured(tmp_path: Path) -> None:
    queue = queue_at(tmp_path)
    await queue.open()
    try:
        await queue.put([message(0) for _ in range(50)])
        await queue.put([message(3) for _ in range(2)])
        assert queue.depth(0) == 50 and queue.depth(3) == 2
        assert queue.lane_depths() == {3: 2, 2: 0, 1: 0, 0: 50}
        assert [m.priority for m in queue.take(3)] == [3, 3, 0]
        assert queue.oldest_age(3) == 0.0
        assert 0.0 <= queue.oldest_age(0) < 5.0
        assert queue.oldest_age(0, now=reactor.seconds() + 60) >= 59.0
    finally:
        await queue.close()


@pytest_twisted.ensureDeferred
async def test_release_with_delay_parks_keeps_attempts_and_order(tmp_path: Path) -> None:
    clock = Clock()
    queue = queue_at(tmp_path, clock=clock)
    await queue.open()
    try:
        first, second, third = batch = [message(text=b"m%d" % i) for i in range(3)]
        await queue.put(batch)
        taken = queue.take(2)
        taken[0].attempts = 2
        queue.release(taken[0], delay=10)
        assert queue.queued == 2 and queue.in_flight == 1
        assert [m.id for m in queue.take(5)] == [third.id]
        clock.advance(10)
        [back] = queue.take(5)
        assert back.id == first.id and back.attempts == 2
        queue.release(taken[1])  # no delay: straight back, before anything younger
        assert [m.id for m in queue.take(5)] == [second.id]
    finally:
        await queue.close()
