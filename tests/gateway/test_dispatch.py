"""SmscLink + Dispatcher: queue → router → submit_sm over real loopback TCP to our simulator,
and every outcome settled with the queue the way Kannel's bearerbox settles it."""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import pytest
import pytest_twisted
from twisted.internet import defer, reactor, task
from twisted.internet.testing import MemoryReactorClock

from bench.load import free_port
from gateway.dispatch import Dispatcher
from gateway.message import UNSET, Message, new_id
from gateway.queue import MemoryQueue
from gateway.routing import Router, RouteRules
from gateway.smsc import DeliveryEvents, SmscLink
from gateway.submit import SubmitProfile
from protocols.smpp import constants as c
from protocols.smpp.session import BindConfig
from protocols.smpp.simulator import SimulatorConfig, SimulatorFactory, listen
from tests.polling import until


class Events(DeliveryEvents):
    """Records what the links report (the hook the DLR issue fills in)."""

    def __init__(self) -> None:
        self.submitted_ids: dict[str, str] = {}
        self.failures: list[tuple[str, str, str]] = []

    def submitted(self, message: Message, link: SmscLink, message_id: str) -> None:
        self.submitted_ids[message.id] = message_id

    def failed(self, message: Message, link: SmscLink | None, reason: str, text: str) -> None:
        self.failures.append((message.receiver, reason, text))


class Sim:
    """A simulator on a loopback port, recording what it receives."""

    def __init__(self, port: int = 0, **options: Any) -> None:
        options.setdefault("dlr_delay", 0.05)
        self.config = SimulatorConfig(host="127.0.0.1", port=port, record=10_000, **options)
        self.listening = listen(reactor, self.config)
        self.factory: SimulatorFactory = self.listening.factory  # type: ignore[attr-defined]
        self.port: int = self.listening.getHost().port

    def submits(self) -> list[dict[str, Any]]:
        records = self.factory.journal.records if self.factory.journal else ()
        return [r for r in records or () if r.get("command") == "submit_sm" and r["dir"] == "in"]

    def stop(self) -> Any:
        self.factory.drop_connections()
        return self.listening.stopListening()


class Gateway:
    """Queue, router, links and dispatcher wired as the service wires them."""

    def __init__(self, ports: list[int], smsc_ids: list[str] | None = None, **link: Any) -> None:
        self.queue = MemoryQueue(100_000, reactor)
        self.events = Events()
        smsc_ids = smsc_ids or ["sim"] * len(ports)
        self.links = [
            SmscLink(
                key,
                BindConfig(
                    host="127.0.0.1",
                    port=port,
                    system_id="esme",
                    password="secret",
                    transceiver_mode=True,
                    reconnect_delay=0.05,
                    reconnect_delay_max=0.1,
                    max_pending_submits=link.pop("window", 10) if key == 0 else 10,
                ),
                SubmitProfile(smsc_id=smsc_ids[key]),
                self.queue,
                reactor,
                events=self.events,
                resend_freq=link.get("resend_freq", 0.05),
                resend_retry=link.get("resend_retry", -1),
            )
            for key, port in enumerate(ports)
        ]
        rules = [RouteRules.build(smsc_id=i, allowed_smsc_id=i) for i in smsc_ids]
        self.router = Router(rules, lambda key: self.links[key].online)
        self.dispatcher = Dispatcher(self.queue, self.router, self.links, reactor,
                                     events=self.events)

    def start(self) -> None:
        self.dispatcher.start()
        for link in self.links:
            link.start()

    def stop(self) -> defer.Deferred[Any]:
        self.dispatcher.stop()
        return defer.gatherResults([link.stop() for link in self.links])

    def put(self, count: int, **fields: Any) -> list[Message]:
        batch = [message(**fields) for _ in range(count)]
        self.queue.put(batch)
        return batch

    @property
    def settled(self) -> bool:
        return self.queue.queued == 0 and self.queue.in_flight == 0


def message(**fields: Any) -> Message:
    mid = new_id()
    values: dict[str, Any] = {
        "sender": "12345",
        "receiver": "4670000001",
        "payload": b"Hello",
        "smsc_id": "sim",
        "priority": UNSET,
    }
    values.update(fields)
    return Message(mid, mid, **values)


@pytest.fixture
def cleanup() -> Generator[list[Callable[[], Any]], None, None]:
    """Things to stop after the test, in reverse order (the reactor keeps running)."""
    todo: list[Callable[[], Any]] = []
    yield todo
    for stop in reversed(todo):
        pytest_twisted.blockon(defer.maybeDeferred(stop))


def running(cleanup: list[Callable[[], Any]], sims: list[Sim], **link: Any) -> Gateway:
    for sim in sims:
        cleanup.append(sim.stop)
    gateway = Gateway([sim.port for sim in sims], **link)
    cleanup.append(gateway.stop)
    gateway.start()
    return gateway


# the normal path


@pytest_twisted.inlineCallbacks
def test_everything_queued_is_submitted_and_acked(cleanup: list[Any]) -> Any:
    sim = Sim()
    gw = running(cleanup, [sim])
    batch = gw.put(45)
    yield until(lambda: gw.settled and len(gw.events.submitted_ids) == 45)
    assert len(sim.submits()) == 45
    assert gw.links[0].counters.sent == 45
    assert set(gw.events.submitted_ids) == {m.id for m in batch}
    assert gw.events.submitted_ids[batch[0].id] == sim.submits()[0]["message_id"]


@pytest_twisted.inlineCallbacks
def test_messages_put_later_wake_the_dispatcher(cleanup: list[Any]) -> Any:
    sim = Sim()
    gw = running(cleanup, [sim])
    yield until(lambda: gw.links[0].online)
    yield task.deferLater(reactor, 0.05, lambda: None)
    gw.put(3)
    yield until(lambda: gw.settled and len(sim.submits()) == 3)


@pytest_twisted.inlineCallbacks
def test_the_window_is_never_exceeded(cleanup: list[Any]) -> Any:
    sim = Sim(resp_delay=0.05)
    gw = running(cleanup, [sim], window=3)
    gw.put(12)
    seen: list[int] = []
    yield until(lambda: seen.append(gw.queue.in_flight) is None and gw.settled)
    assert max(seen) <= 3
    assert len(sim.submits()) == 12


@pytest_twisted.inlineCallbacks
def test_deliver_sm_receipts_are_answered_ok(cleanup: list[Any]) -> Any:
    sim = Sim()
    gw = running(cleanup, [sim])
    gw.put(2, dlr_mask=31)
    yield until(lambda: sim.factory.counters.delivers_acked == 4)  # ACCEPTD + DELIVRD each
    assert sim.factory.counters.delivers_failed == 0


# outcomes


@pytest_twisted.inlineCallbacks
def test_permanent_error_acks_and_reports_kannels_nack_text(cleanup: list[Any]) -> Any:
    sim = Sim(rejects=(("4678", c.ESME_RINVDSTADR),))
    gw = running(cleanup, [sim])
    gw.put(1, receiver="4678000000")
    gw.put(1)
    yield until(lambda: gw.settled and len(sim.submits()) == 2)
    assert gw.events.failures == [
        ("4678000000", "rejected", "NACK/0x0000000b/Invalid Destination Address")
    ]
    assert gw.links[0].counters.failed == 1 and gw.links[0].counters.sent == 1


@pytest_twisted.inlineCallbacks
def test_temporary_error_is_retried_then_retries_exceeded(cleanup: list[Any]) -> Any:
    sim = Sim(rejects=(("4677", c.ESME_RMSGQFUL),))
    gw = running(cleanup, [sim], resend_retry=2, resend_freq=0.05)
    gw.put(1, receiver="4677000000")
    yield until(lambda: gw.settled)
    assert len(sim.submits()) == 3  # the first try and two resends
    assert gw.events.failures == [("4677000000", "discarded", "Retries Exceeded")]


@pytest_twisted.inlineCallbacks
def test_throttling_pauses_and_everything_still_goes(cleanup: list[Any]) -> Any:
    sim = Sim(throttle=10)
    gw = running(cleanup, [sim])
    gw.put(15)
    yield until(lambda: gw.settled, timeout=15)
    assert sim.factory.counters.throttled >= 1
    assert sim.factory.counters.accepted == 15
    assert gw.events.failures == []


@pytest_twisted.inlineCallbacks
def test_malformed_message_fails_without_a_submit(cleanup: list[Any]) -> Any:
    sim = Sim()
    gw = running(cleanup, [sim])
    gw.put(1, sender="1" * 21)
    yield until(lambda: gw.settled)
    assert gw.events.failures == [("4670000001", "malformed", "MALFORMED SMS")]
    assert sim.submits() == []


@pytest_twisted.inlineCallbacks
def test_expired_validity_fails_at_routing(cleanup: list[Any]) -> Any:
    sim = Sim()
    gw = running(cleanup, [sim])
    gw.put(1, validity=1, created=reactor.seconds() - 120)
    yield until(lambda: gw.settled)
    assert gw.events.failures == [("4670000001", "expired", "validity expired")]
    assert gw.dispatcher.expired == 1


# connection trouble


@pytest_twisted.inlineCallbacks
def test_queued_while_the_smsc_is_down_then_delivered(cleanup: list[Any]) -> Any:
    port = free_port()
    gw = Gateway([port])
    cleanup.append(gw.stop)
    gw.start()
    gw.put(20)
    yield task.deferLater(reactor, 0.3, lambda: None)
    assert gw.queue.queued == 20 and gw.queue.in_flight == 0  # nothing taken, nothing lost
    sim = Sim(port=port)
    cleanup.append(sim.stop)
    yield until(lambda: gw.settled, timeout=15)
    assert len(sim.submits()) == 20


@pytest_twisted.inlineCallbacks
def test_dropped_connection_requeues_in_flight_and_delivers_after_reconnect(
    cleanup: list[Any],
) -> Any:
    sim = Sim(resp_delay=0.2)
    gw = running(cleanup, [sim])
    gw.put(10)
    yield until(lambda: len(sim.submits()) >= 10)
    sim.factory.drop_connections()  # responses never come: connection lost
    yield until(lambda: gw.settled, timeout=15)
    assert gw.links[0].counters.requeued >= 10
    assert len(gw.events.submitted_ids) == 10
    assert len(sim.submits()) >= 20  # at-least-once: every one went again


# several links


@pytest_twisted.inlineCallbacks
def test_shared_smsc_id_balances_and_fails_over(cleanup: list[Any]) -> Any:
    one, two = Sim(), Sim()
    gw = running(cleanup, [one, two])
    yield until(lambda: all(link.online for link in gw.links))
    gw.put(40)
    yield until(lambda: gw.settled)
    assert len(one.submits()) > 5 and len(two.submits()) > 5
    yield gw.links[0].stop()
    gw.put(10)
    yield until(lambda: gw.settled)
    assert len(one.submits()) + len(two.submits()) == 50
    assert len(two.submits()) >= 10


@pytest_twisted.inlineCallbacks
def test_messages_for_a_down_link_are_held_not_spun(cleanup: list[Any]) -> Any:
    up = Sim()
    port = free_port()
    cleanup.append(up.stop)
    gw = Gateway([up.port, port], smsc_ids=["up", "down"])
    cleanup.append(gw.stop)
    gw.start()
    yield until(lambda: gw.links[0].online)
    gw.put(5, smsc_id="down")
    gw.put(5, smsc_id="up")
    yield until(lambda: len(up.submits()) == 5 and len(gw.dispatcher.held) == 5)
    takes = gw.queue.in_flight
    yield task.deferLater(reactor, 0.2, lambda: None)
    assert gw.queue.in_flight == takes == 5 and gw.queue.queued == 0
    down = Sim(port=port)
    cleanup.append(down.stop)
    yield until(lambda: gw.settled, timeout=15)
    assert len(down.submits()) == 5 and gw.dispatcher.held == []


# no bind up: no work at all (Clock + a reactor that never connects)


def test_no_bind_up_takes_nothing_and_schedules_nothing() -> None:
    clock = MemoryReactorClock()
    queue = MemoryQueue(100, clock)
    link = SmscLink(0, BindConfig(port=2775), SubmitProfile(), queue, clock)
    router = Router([RouteRules()], lambda key: link.online)
    dispatcher = Dispatcher(queue, router, [link], clock)
    dispatcher.start()
    link.start()
    queue.put([message() for _ in range(50)])
    clock.advance(0)
    clock.advance(0)
    assert queue.in_flight == 0 and queue.queued == 50
    # The only timers are the connector's (connect timeout/retry), none of ours.
    assert all(
        getattr(call.func, "__self__", None) is not dispatcher for call in clock.getDelayedCalls()
    )
    assert dispatcher.room() == 0
