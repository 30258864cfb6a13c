"""The in-memory queue keeps the MessageQueue contract: bounded, priorities, retries."""

from __future__ import annotations

import pytest
from twisted.internet.task import Clock

from gateway.message import Message, new_id
from gateway.queue import MemoryQueue, QueueFull


def message(priority: int = 0, text: bytes = b"hi") -> Message:
    mid = new_id()
    return Message(mid, mid, "12345", "4670000001", text, priority=priority)


def test_put_fires_and_take_gives_oldest_first() -> None:
    queue = MemoryQueue(10, Clock())
    batch = [message() for _ in range(3)]
    fired: list[None] = []
    queue.put(batch).addCallback(fired.append)
    assert fired == [None]
    assert queue.queued == 3
    assert queue.take(2) == batch[:2]
    assert queue.queued == 1 and queue.in_flight == 2


def test_higher_priority_is_taken_first() -> None:
    queue = MemoryQueue(10, Clock())
    bulk = [message(0) for _ in range(3)]
    otp = message(3)
    queue.put(bulk)
    queue.put([otp])
    assert queue.take(2) == [otp, bulk[0]]
    assert queue.lane_depths() == {3: 0, 2: 0, 1: 0, 0: 2}


def test_cap_refuses_the_whole_batch() -> None:
    queue = MemoryQueue(3, Clock())
    queue.put([message(), message()])
    with pytest.raises(QueueFull):
        queue.put([message(), message()])
    assert queue.queued == 2
    # In-flight messages count against the cap too: they are not done yet.
    queue.take(2)
    with pytest.raises(QueueFull):
        queue.put([message(), message()])
    queue.put([message()])


def test_release_with_delay_parks_then_requeues_ahead_of_younger() -> None:
    clock = Clock()
    queue = MemoryQueue(10, clock)
    first, second = message(), message()
    queue.put([first, second])
    [taken] = queue.take(1)
    queue.release(taken, delay=5)
    assert queue.queued == 2 and queue.in_flight == 0
    assert queue.take(5) == [second]
    clock.advance(5)
    assert queue.take(5) == [first]


def test_ack_removes_and_unknown_release_is_ignored() -> None:
    queue = MemoryQueue(2, Clock())
    m = message()
    queue.put([m])
    [taken] = queue.take(1)
    queue.ack(taken)
    assert queue.queued == 0 and queue.in_flight == 0
    queue.release(taken)  # already acked: nothing comes back
    assert queue.queued == 0


def test_wait_fires_when_something_arrives() -> None:
    queue = MemoryQueue(5, Clock())
    woke: list[None] = []
    queue.wait().addCallback(woke.append)
    assert woke == []
    queue.put([message()])
    assert woke == [None]
    # With something ready, wait fires at once.
    queue.wait().addCallback(woke.append)
    assert woke == [None, None]
