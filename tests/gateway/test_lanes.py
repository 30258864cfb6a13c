"""Weighted lanes: urgent traffic overtakes bulk, bulk still moves, and the per-lane depth and
oldest age the status page shows."""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import pytest
import pytest_twisted
from twisted.internet import defer, reactor, task
from twisted.internet.task import Clock

from gateway.lanes import LaneScheduler, lane_of
from gateway.message import UNSET, Message, new_id
from gateway.queue import MemoryQueue
from gateway.throttle import TokenBucket
from tests.gateway.test_dispatch import Gateway, Sim
from tests.polling import until


def message(priority: int, created: float = 0.0) -> Message:
    mid = new_id()
    return Message(mid, mid, "12345", "4670000001", b"hi", priority=priority, created=created)


def test_lane_of_maps_unset_to_bulk() -> None:
    assert [lane_of(p) for p in (UNSET, 0, 1, 2, 3, 7)] == [0, 0, 1, 2, 3, 0]


def test_weights_must_be_four_positive_integers() -> None:
    with pytest.raises(ValueError):
        LaneScheduler((1, 2, 3))
    with pytest.raises(ValueError):
        LaneScheduler((1, 0, 1, 1))


def test_one_round_gives_each_busy_lane_its_weight_highest_first() -> None:
    scheduler = LaneScheduler((1, 2, 4, 8))
    assert scheduler.split(15, [100, 100, 100, 100]) == [1, 2, 4, 8]
    # take(1) fifteen times is served the same as one take(15): the round is kept.
    counts = [0, 0, 0, 0]
    for _ in range(15):
        for lane, n in enumerate(scheduler.split(1, [100] * 4)):
            counts[lane] += n
    assert counts == [1, 2, 4, 8]


def test_a_lane_alone_gets_everything_and_empty_lanes_bank_nothing() -> None:
    scheduler = LaneScheduler((1, 2, 4, 8))
    assert scheduler.split(50, [100, 0, 0, 0]) == [50, 0, 0, 0]
    assert scheduler.split(50, [0, 0, 0, 7]) == [0, 0, 0, 7]
    assert scheduler.split(5, [0, 0, 0, 0]) == [0, 0, 0, 0]


def test_urgent_message_overtakes_a_bulk_backlog() -> None:
    clock = Clock()
    queue = MemoryQueue(100_000, clock, weights=(1, 2, 4, 8))
    bulk = [message(0) for _ in range(10_000)]
    queue.put(bulk)
    assert queue.take(10) == bulk[:10]
    otp = message(3)
    queue.put([otp])
    # At most the lower lanes' shares of one round (here: bulk's 1) before the OTP.
    first = queue.take(2)
    assert otp in first


def test_bulk_still_moves_under_steady_urgent_traffic() -> None:
    queue = MemoryQueue(100_000, Clock(), weights=(1, 2, 4, 8))
    queue.put([message(0) for _ in range(1000)])
    queue.put([message(3) for _ in range(1000)])
    taken = queue.take(90)
    assert sum(1 for m in taken if m.priority == 0) == 10  # 1 in every 9
    assert sum(1 for m in taken if m.priority == 3) == 80


def test_depth_and_oldest_age_per_lane() -> None:
    clock = Clock()
    clock.advance(1000)
    queue = MemoryQueue(100, clock)
    queue.put([message(0, created=990.0), message(0, created=995.0), message(2, created=999.0)])
    assert [queue.depth(lane) for lane in range(4)] == [2, 0, 1, 0]
    assert queue.oldest_age(0) == 10.0
    assert queue.oldest_age(2) == 1.0
    assert queue.oldest_age(3) == 0.0
    clock.advance(5)
    assert queue.oldest_age(0) == 15.0
    assert queue.oldest_age(0, now=2000.0) == 1010.0
    # A retried message goes back in front: it is the oldest again.
    [first, second] = queue.take(2)
    assert first.priority == 2
    queue.release(second)
    assert queue.oldest_age(0) == 15.0


# end to end over loopback: an OTP behind a throttled bulk backlog


@pytest.fixture
def stoppers() -> Generator[list[Callable[[], Any]], None, None]:
    todo: list[Callable[[], Any]] = []
    yield todo
    for stop in reversed(todo):
        pytest_twisted.blockon(defer.maybeDeferred(stop))


@pytest_twisted.inlineCallbacks
def test_an_otp_overtakes_a_throttled_bulk_backlog(stoppers: list[Any]) -> Any:
    sim = Sim()
    stoppers.append(sim.stop)
    gw = Gateway([sim.port])
    gw.links[0].bucket = TokenBucket(50.0, reactor.seconds)
    stoppers.append(gw.stop)
    gw.start()
    yield until(lambda: gw.links[0].online)
    gw.put(2000, priority=0)
    yield task.deferLater(reactor, 0.3, lambda: None)
    otp = gw.put(1, priority=3, receiver="4679999999")[0]
    put_at = reactor.seconds()
    yield until(lambda: otp.id in gw.events.submitted_ids, timeout=5)
    waited = reactor.seconds() - put_at
    assert waited < 0.3, waited  # a few token intervals (20 ms each), not 40 s of backlog
    assert gw.queue.depth(0) > 1900
