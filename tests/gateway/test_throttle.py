"""Flow control: the token bucket in segments, AIMD on carrier push-back, multipart order and
message identity kept across throttled retries, and no work while no bind is up."""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import pytest
import pytest_twisted
from twisted.internet import defer, reactor
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock

from gateway.dispatch import Dispatcher
from gateway.message import Message, new_id
from gateway.queue import MemoryQueue
from gateway.routing import Router, RouteRules
from gateway.smsc import SmscLink
from gateway.submit import SubmitProfile
from gateway.throttle import DECREASE_GAP, TokenBucket
from protocols.smpp import constants as c
from protocols.smpp.session import BindConfig
from tests.gateway.test_dispatch import Gateway, Sim
from tests.polling import until


@pytest.fixture
def stoppers() -> Generator[list[Callable[[], Any]], None, None]:
    """Things to stop after the test, in reverse order (the reactor keeps running)."""
    todo: list[Callable[[], Any]] = []
    yield todo
    for stop in reversed(todo):
        pytest_twisted.blockon(defer.maybeDeferred(stop))


# the bucket (Clock)


def test_bucket_paces_segments_at_the_configured_rate() -> None:
    clock = Clock()
    bucket = TokenBucket(10.0, clock.seconds)
    sent = 0
    for _ in range(1000):  # 10 simulated seconds in 10 ms steps
        while bucket.take():
            sent += 1
        clock.advance(0.01)
    assert 99 <= sent <= 102
    assert bucket.available == 1  # the burst is max(1, rate * 0.1)


def test_bucket_delay_says_when_to_look_again() -> None:
    clock = Clock()
    bucket = TokenBucket(200.0, clock.seconds)
    while bucket.take():
        pass
    delay = bucket.delay()
    assert 0 < delay <= 0.011  # waits for a batch of 2 tokens (10 ms), not one by one
    clock.advance(delay)
    assert bucket.take() and bucket.take()


def test_unlimited_bucket_always_gives() -> None:
    clock = Clock()
    bucket = TokenBucket(None, clock.seconds)
    assert all(bucket.take() for _ in range(10_000))
    assert bucket.delay() == 0.0 and bucket.rate is None


def test_push_back_halves_once_per_gap_and_successes_climb_back() -> None:
    clock = Clock()
    bucket = TokenBucket(100.0, clock.seconds)
    bucket.throttled()
    assert bucket.rate == 50.0
    bucket.throttled()  # the same burst's other refusals: one decrease
    assert bucket.rate == 50.0
    clock.advance(DECREASE_GAP)
    bucket.throttled()
    assert bucket.rate == 25.0 and bucket.decreases == 2
    for _ in range(10):
        clock.advance(1 / 25)
        bucket.succeeded()
    assert 25.0 < bucket.rate < 100.0  # additive: step / rate per success
    for _ in range(10_000):
        bucket.succeeded()
    assert bucket.rate == 100.0  # never above the configured throughput


def test_push_back_never_goes_below_the_floor() -> None:
    clock = Clock()
    bucket = TokenBucket(4.0, clock.seconds)
    for _ in range(10):
        bucket.throttled()
        clock.advance(DECREASE_GAP)
    assert bucket.rate == 1.0


def test_unlimited_bucket_slows_from_the_measured_rate_then_is_unlimited_again() -> None:
    clock = Clock()
    bucket = TokenBucket(None, clock.seconds)
    for _ in range(200):  # 200 msg/s for a second
        bucket.take()
        clock.advance(0.005)
    bucket.take()
    bucket.throttled()
    assert bucket.rate == pytest.approx(100.0) and bucket.ceiling == pytest.approx(200.0)
    for _ in range(10_000):
        bucket.succeeded()
    assert bucket.rate is None


# a link over loopback to the simulator


def parts(count: int, tag: str) -> list[Message]:
    parent = new_id()
    out = []
    for seq in range(1, count + 1):
        mid = parent if seq == 1 else new_id()
        out.append(Message(mid, parent, "12345", "4670000001", f"{tag}-{seq}".encode(),
                           udh=bytes((5, 0, 3, 7, count, seq)), part=seq, parts=count,
                           smsc_id="sim"))
    return out


def accepted_texts(sim: Sim) -> list[bytes]:
    return [bytes.fromhex(r["text_hex"]) for r in sim.submits() if r["message_id"]]


@pytest_twisted.inlineCallbacks
def test_throttled_parts_keep_group_order_and_their_identity(stoppers: list[Any]) -> Any:
    sim = Sim(throttle=15)
    stoppers.append(sim.stop)
    gw = Gateway([sim.port], window=10)
    stoppers.append(gw.stop)
    gw.start()
    groups = [parts(3, f"g{g:02d}") for g in range(12)]
    gw.queue.put([m for group in groups for m in group])
    yield until(lambda: gw.settled, timeout=20)
    link = gw.links[0]
    assert link.counters.throttled >= 1 and link.bucket.decreases >= 1
    assert gw.events.failures == []
    # Every message went once, under its own id (the DLR map is keyed on it).
    assert set(gw.events.submitted_ids) == {m.id for group in groups for m in group}
    texts = accepted_texts(sim)
    assert len(texts) == 36
    for g in range(12):
        order = [i for i, text in enumerate(texts) if f"g{g:02d}-".encode() in text]
        seqs = [texts[i].split(b"-")[-1] for i in order]
        assert seqs == [b"1", b"2", b"3"], (g, seqs)


@pytest_twisted.inlineCallbacks
def test_a_part_waiting_for_its_resend_holds_back_the_later_parts(stoppers: list[Any]) -> Any:
    sim = Sim(rejects=(("4677", c.ESME_RX_T_APPN),))
    stoppers.append(sim.stop)
    gw = Gateway([sim.port], resend_retry=1, resend_freq=0.05)
    stoppers.append(gw.stop)
    gw.start()
    group = parts(3, "r")
    for m in group:
        m.receiver = "4677000000"
    gw.queue.put(group)
    yield until(lambda: gw.settled, timeout=10)
    texts = [bytes.fromhex(r["text_hex"]).split(b"-")[-1] for r in sim.submits()]
    assert texts == [b"1", b"1", b"2", b"2", b"3", b"3"]  # each tried twice, in order
    assert [f[1:] for f in gw.events.failures] == [("discarded", "Retries Exceeded")] * 3


@pytest_twisted.inlineCallbacks
def test_parts_follow_their_group_across_balanced_links(stoppers: list[Any]) -> Any:
    one, two = Sim(resp_delay=0.03), Sim(resp_delay=0.03)
    stoppers.extend([one.stop, two.stop])
    gw = Gateway([one.port, two.port])
    stoppers.append(gw.stop)
    gw.start()
    yield until(lambda: all(link.online for link in gw.links))
    groups = [parts(3, f"b{g:02d}") for g in range(8)]
    gw.queue.put([m for group in groups for m in group])
    yield until(lambda: gw.settled, timeout=20)
    texts = {"one": accepted_texts(one), "two": accepted_texts(two)}
    assert len(texts["one"]) + len(texts["two"]) == 24
    assert texts["one"] and texts["two"]  # both links were used
    for g in range(8):
        tag = f"b{g:02d}-".encode()
        holders = [name for name, seen in texts.items() if any(tag in t for t in seen)]
        assert len(holders) == 1, (g, holders)  # one link took the whole message...
        seqs = [t.split(b"-")[-1] for t in texts[holders[0]] if tag in t]
        assert seqs == [b"1", b"2", b"3"]  # ...in order


@pytest_twisted.inlineCallbacks
def test_throughput_caps_what_a_link_sends(stoppers: list[Any]) -> Any:
    sim = Sim()
    stoppers.append(sim.stop)
    gw = Gateway([sim.port])
    gw.links[0].bucket = TokenBucket(40.0, reactor.seconds)
    stoppers.append(gw.stop)
    gw.start()
    yield until(lambda: gw.links[0].online)
    start = reactor.seconds()
    gw.put(30)
    yield until(lambda: gw.settled, timeout=10)
    elapsed = reactor.seconds() - start
    assert elapsed >= 0.6  # 30 segments at 40/s, a burst of 4 at most
    assert len(sim.submits()) == 30


# no bind up: parked, whatever the throughput


def test_no_bind_up_with_a_throughput_schedules_nothing_of_ours() -> None:
    clock = MemoryReactorClock()
    queue = MemoryQueue(100, clock)
    link = SmscLink(0, BindConfig(port=2775), SubmitProfile(), queue, clock, throughput=5.0)
    router = Router([RouteRules()], lambda key: link.online)
    dispatcher = Dispatcher(queue, router, [link], clock)
    dispatcher.start()
    link.start()
    queue.put([Message(mid, mid, "1", "2", b"x") for mid in (new_id() for _ in range(20))])
    for _ in range(5):
        clock.advance(1)
    assert queue.in_flight == 0 and queue.queued == 20
    assert link.room == 0 and dispatcher.room() == 0
    ours = (dispatcher, link)
    assert all(getattr(call.func, "__self__", None) not in ours for call in clock.getDelayedCalls())
