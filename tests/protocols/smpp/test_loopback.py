"""Our ESME against our SMSC simulator over real loopback TCP, on the real reactor.

The unit tests drive each side on a Clock; this is where the two meet through sockets, as a
carrier link does: bind layouts, windows, receipts, rejections, throttling, a dropped
connection in the middle of traffic and a refused bind.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import pytest_twisted
from twisted.internet import defer, reactor, task
from twisted.internet.defer import Deferred

from protocols.smpp import constants as c
from protocols.smpp.esme import EsmeConnector
from protocols.smpp.pdu import Pdu
from protocols.smpp.session import BindConfig, EsmeListener, EsmeSession
from protocols.smpp.simulator import SimulatorConfig, SimulatorFactory, listen

#: Kannel's receipt sscanf pattern, as a regex.
RECEIPT = re.compile(
    rb"id:(?P<id>[^ ]{1,64}) sub:\d+ dlvrd:\d+ submit date:\d{1,14} done date:\d{1,14} "
    rb"stat:(?P<stat>[^ ]{1,15}) err:(?P<err>[^ ]{1,3})"
)


class Recorder(EsmeListener):
    """Collects what the sessions report and lets a test wait for counts."""

    def __init__(self) -> None:
        self.responses: dict[Any, Pdu] = {}
        self.failures: dict[Any, str] = {}
        self.delivered: list[Pdu] = []
        self.bound_modes: list[str] = []
        self._waiters: list[tuple[Callable[[], bool], Deferred[None]]] = []

    def bound(self, session: EsmeSession) -> None:
        self.bound_modes.append(session.mode.name)
        self._poke()

    def submit_response(self, session: EsmeSession, token: Any, resp: Pdu) -> None:
        assert token not in self.responses and token not in self.failures
        self.responses[token] = resp
        self._poke()

    def submit_failed(self, session: EsmeSession, token: Any, reason: str) -> None:
        assert token not in self.responses and token not in self.failures
        self.failures[token] = reason
        self._poke()

    def deliver(self, session: EsmeSession, pdu: Pdu) -> int:
        self.delivered.append(pdu)
        self._poke()
        return c.ESME_ROK

    def window_open(self, session: EsmeSession) -> None:
        self._poke()

    def until(self, condition: Callable[[], bool], timeout: float = 10.0) -> Deferred[None]:
        d: Deferred[None] = Deferred()
        if condition():
            d.callback(None)
            return d
        self._waiters.append((condition, d))
        d.addTimeout(timeout, reactor)
        return d

    def _poke(self) -> None:
        still = []
        for condition, d in self._waiters:
            if d.called:
                continue
            if condition():
                d.callback(None)
            else:
                still.append((condition, d))
        self._waiters = still


def submit_sm(dest: bytes, text: bytes = b"hello", registered_delivery: int = 0) -> Pdu:
    return Pdu(
        c.SUBMIT_SM,
        params={
            "source_addr": b"12345",
            "dest_addr_ton": 1,
            "dest_addr_npi": 1,
            "destination_addr": dest,
            "esm_class": 3,
            "registered_delivery": registered_delivery,
            "short_message": text,
        },
    )


class Link:
    """A simulator listening on 127.0.0.1 and one connector pointed at it."""

    def __init__(self, sim_config: SimulatorConfig, **bind: Any) -> None:
        self.port = listen(reactor, sim_config)
        self.simulator: SimulatorFactory = self.port.factory  # type: ignore[attr-defined]
        number = self.port.getHost().port
        defaults: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": number,
            "system_id": "esme",
            "password": "secret",
            "reconnect_delay": 0.2,
            "reconnect_delay_max": 0.5,
        }
        if bind.pop("separate_receiver", False):
            defaults["receive_port"] = number
        else:
            defaults["transceiver_mode"] = True
        defaults.update(bind)
        self.recorder = Recorder()
        self.connector = EsmeConnector(BindConfig(**defaults), self.recorder)

    async def close(self) -> None:
        await self.connector.stop()
        await self.port.stopListening()


@pytest.fixture
def links() -> Iterator[list[Link]]:
    made: list[Link] = []
    yield made
    for link in made:
        pytest_twisted.blockon(defer.ensureDeferred(link.close()))


def make_link(links: list[Link], **kwargs: Any) -> Link:
    sim = kwargs.pop("sim", SimulatorConfig(port=0, accounts=(("esme", "secret"),)))
    link = Link(sim, **kwargs)
    links.append(link)
    return link


async def fill(
    link: Link, count: int, dest: Callable[[int], bytes], rd: int = 0, first: int = 0
) -> None:
    """Submit `count` messages (tokens from `first`), keeping the window full, and wait for
    every answer."""
    sent = 0
    done_before = len(link.recorder.responses) + len(link.recorder.failures)
    rec = link.recorder
    await rec.until(lambda: link.connector.transmitter is not None)
    while sent < count:
        session = link.connector.transmitter
        assert session is not None
        room = session.window_free
        if not room:
            await rec.until(lambda: (s := link.connector.transmitter) is not None
                            and s.window_free > 0)
            continue
        for _ in range(min(room, count - sent)):
            session.submit(submit_sm(dest(sent), registered_delivery=rd), first + sent)
            sent += 1
    await rec.until(lambda: len(rec.responses) + len(rec.failures) >= done_before + count)


@pytest_twisted.ensureDeferred
async def test_transceiver_submits_with_full_window_and_gets_receipts(links: list[Link]) -> None:
    sim = SimulatorConfig(port=0, accounts=(("esme", "secret"),), dlr_delay=0.05)
    link = make_link(links, sim=sim, max_pending_submits=10)
    link.connector.start()
    await fill(link, 200, lambda i: b"4670%06d" % i, rd=1)
    rec = link.recorder
    assert rec.bound_modes == ["TRANSCEIVER"]
    assert rec.failures == {}
    ids = {resp.params["message_id"] for resp in rec.responses.values()}
    assert all(resp.command_status == 0 for resp in rec.responses.values())
    assert len(ids) == 200  # every message got its own id
    await rec.until(lambda: len(rec.delivered) >= 200)
    receipted = set()
    for pdu in rec.delivered:
        assert pdu.params["esm_class"] & c.ESM_RECEIPT_MASK
        match = RECEIPT.match(pdu.params["short_message"])
        assert match is not None, pdu.params["short_message"]
        assert match["stat"] == b"DELIVRD"
        assert pdu.tlv_value("receipted_message_id") == match["id"]
        assert pdu.tlv_value("message_state") == c.STATE_DELIVERED
        receipted.add(match["id"])
    assert receipted == ids


@pytest_twisted.ensureDeferred
async def test_separate_transmitter_and_receiver_binds(links: list[Link]) -> None:
    sim = SimulatorConfig(port=0, accounts=(("esme", "secret"),), dlr_delay=0.05)
    link = make_link(links, sim=sim, separate_receiver=True)
    link.connector.start()
    await fill(link, 20, lambda i: b"46711%05d" % i, rd=1)
    rec = link.recorder
    await rec.until(lambda: len(rec.delivered) >= 20)
    assert sorted(rec.bound_modes) == ["RECEIVER", "TRANSMITTER"]
    assert len(link.connector.sessions) == 2
    assert all(p.params["esm_class"] & c.ESM_RECEIPT_MASK for p in rec.delivered)


@pytest_twisted.ensureDeferred
async def test_rejected_prefix_and_throttling_come_back_as_statuses(links: list[Link]) -> None:
    sim = SimulatorConfig(
        port=0, accounts=(("esme", "secret"),), rejects=(("4679", c.ESME_RINVDSTADR),),
        throttle=50,
    )
    link = make_link(links, sim=sim, max_pending_submits=64)
    link.connector.start()
    await fill(link, 200, lambda i: b"4679000001" if i % 2 else b"4670000001")
    statuses = [link.recorder.responses[i].command_status for i in range(200)]
    rejected = {statuses[i] for i in range(1, 200, 2)}
    # Odd ones go to the rejected prefix; past 50/s some are throttled first.
    assert rejected <= {c.ESME_RINVDSTADR, c.ESME_RTHROTTLED}
    assert c.ESME_RINVDSTADR in rejected
    assert c.ESME_RTHROTTLED in statuses
    assert statuses.count(c.ESME_ROK) >= 1
    assert all(statuses[i] in (c.ESME_ROK, c.ESME_RTHROTTLED) for i in range(0, 200, 2))


@pytest_twisted.ensureDeferred
async def test_dropped_connection_fails_in_flight_once_and_reconnects(links: list[Link]) -> None:
    sim = SimulatorConfig(port=0, accounts=(("esme", "secret"),), resp_delay=0.3)
    link = make_link(links, sim=sim, max_pending_submits=10)
    rec = link.recorder
    link.connector.start()
    await rec.until(lambda: link.connector.transmitter is not None)
    session = link.connector.transmitter
    assert session is not None
    for i in range(10):
        session.submit(submit_sm(b"4670000001"), i)
    assert link.simulator.drop_connections() == 1
    await rec.until(lambda: len(rec.failures) == 10)
    assert set(rec.failures) == set(range(10))
    assert rec.responses == {}
    # The connector binds again by itself and traffic flows.
    await rec.until(lambda: len(rec.bound_modes) == 2)
    await fill(link, 5, lambda i: b"4670000002", first=100)
    assert len(rec.responses) == 5
    assert link.connector.counters.snapshot()["reconnects"] >= 1


@pytest_twisted.ensureDeferred
async def test_wrong_password_kills_the_link_without_retrying(links: list[Link]) -> None:
    link = make_link(links, password="wrong")
    link.connector.start()
    await task.deferLater(reactor, 0.8, lambda: None)  # several reconnect delays
    assert link.connector.status == "dead"
    assert link.recorder.bound_modes == []
    assert link.simulator.counters.as_dict()["bind_failures"] == 1


@pytest_twisted.ensureDeferred
async def test_stop_unbinds_cleanly(links: list[Link]) -> None:
    link = make_link(links)
    link.connector.start()
    await link.recorder.until(lambda: link.connector.transmitter is not None)
    await defer.ensureDeferred(link.connector.stop())
    assert link.connector.status == "disconnected"
    assert link.simulator.counters.as_dict()["unbinds"] == 1


@pytest_twisted.ensureDeferred
async def test_receive_only_bind_gets_mo(links: list[Link]) -> None:
    """Kannel's separate-groups layout: `port = 0`, `receive-port = N` binds only a receiver."""
    link = make_link(links, separate_receiver=True, port=0)
    rec = link.recorder
    link.connector.start()
    await rec.until(lambda: rec.bound_modes == ["RECEIVER"])
    assert link.connector.transmitter is None
    assert link.simulator.send_mo(b"4670000009", b"12345", b"STOP")
    await rec.until(lambda: len(rec.delivered) == 1)
    [mo] = rec.delivered
    assert mo.command_id == c.DELIVER_SM
    assert mo.params["short_message"] == b"STOP"
    assert mo.params["source_addr"] == b"4670000009"
