"""EsmeConnector: connecting, binding, backoff, giving up, stopping.

Most tests use `MemoryReactorClock` (connectTCP is recorded, time is a Clock) and play the
SMSC with the real codec; the last one runs a real SMSC on 127.0.0.1 with the real reactor.
"""

from __future__ import annotations

import random
import socket
from collections.abc import Generator, Iterator
from typing import Any

import pytest
import pytest_twisted
from twisted.internet import protocol
from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.error import ConnectionDone, ConnectionRefusedError
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.logger import LogEvent, LogLevel, globalLogPublisher
from twisted.python.failure import Failure

from protocols.smpp import constants as c
from protocols.smpp.esme import (
    EsmeConnector,
    LinkStatus,
    backoff_delay,
)
from protocols.smpp.framer import Framer
from protocols.smpp.pdu import Pdu, encode
from protocols.smpp.session import (
    REASON_CONNECTION_LOST,
    BindConfig,
    EsmeListener,
    EsmeProtocol,
    EsmeSession,
    SessionState,
)


class NoDelayTransport(StringTransport):
    """StringTransport with TCP_NODELAY, like a real TCP transport."""

    def __init__(self) -> None:
        super().__init__()
        self.no_delay: bool | None = None

    def setTcpNoDelay(self, enabled: bool) -> None:  # noqa: N802 - Twisted's name
        self.no_delay = enabled


class Recorder(EsmeListener):
    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []

    def of(self, name: str) -> list[tuple[Any, ...]]:
        return [event[1:] for event in self.events if event[0] == name]

    def bound(self, session: EsmeSession) -> None:
        self.events.append(("bound", session))

    def unbound(self, session: EsmeSession, reason: str) -> None:
        self.events.append(("unbound", session, reason))

    def submit_response(self, session: EsmeSession, token: Any, resp: Pdu) -> None:
        self.events.append(("submit_response", token, resp))

    def submit_failed(self, session: EsmeSession, token: Any, reason: str) -> None:
        self.events.append(("submit_failed", token, reason))

    def deliver(self, session: EsmeSession, pdu: Pdu) -> int:
        self.events.append(("deliver", pdu))
        return c.ESME_ROK


class Smsc:
    """The SMSC end of one connection the connector made."""

    def __init__(self, reactor: MemoryReactorClock, index: int) -> None:
        host, port, factory, timeout, _bind = reactor.tcpClients[index]
        self.port = port
        self.timeout = timeout
        self.factory = factory
        self.proto: EsmeProtocol = factory.buildProtocol(IPv4Address("TCP", host, port))
        self.transport = NoDelayTransport()
        self.proto.makeConnection(self.transport)

    @property
    def session(self) -> EsmeSession:
        return self.proto.session

    def read(self) -> list[Pdu]:
        items = Framer().feed(self.transport.value())
        self.transport.clear()
        assert all(isinstance(item, Pdu) for item in items), items
        return items  # type: ignore[return-value]

    def send(self, *pdus: Pdu) -> None:
        self.proto.dataReceived(b"".join(encode(pdu) for pdu in pdus))

    def answer_bind(self, status: int = c.ESME_ROK) -> Pdu:
        [bind] = self.read()
        if status:
            self.send(Pdu(bind.command_id | c.RESPONSE_BIT, bind.sequence_number, status))
        else:
            self.send(bind.response(system_id=b"smsc"))
        return bind

    def drop(self) -> None:
        self.proto.connectionLost(Failure(ConnectionDone("gone")))


class Rig:
    def __init__(self, rand: Any = None, **config: Any) -> None:
        config.setdefault("system_id", "kannel")
        config.setdefault("password", "secret")
        self.reactor = MemoryReactorClock()
        self.listener = Recorder()
        self.connector = EsmeConnector(
            BindConfig(**config),
            self.listener,
            reactor=self.reactor,
            random_source=random.Random(7).random if rand is None else rand,
        )

    def accept(self, index: int = -1) -> Smsc:
        return Smsc(self.reactor, index)

    @property
    def attempts(self) -> int:
        return len(self.reactor.tcpClients)

    def fail_connect(self, index: int = -1) -> None:
        factory = self.reactor.tcpClients[index][2]
        factory.clientConnectionFailed(
            self.reactor.connectors[index], Failure(ConnectionRefusedError())
        )

    def retry_delays(self) -> list[float]:
        now = self.reactor.seconds()
        return [call.getTime() - now for call in self.reactor.getDelayedCalls()
                if call.func.__name__ == "connect"]

    def run(self, seconds: int) -> None:
        self.reactor.pump([1.0] * seconds)


def submit_sm() -> Pdu:
    return Pdu(c.SUBMIT_SM, params={"destination_addr": b"4670000001", "short_message": b"hi"})


@pytest.fixture
def logged() -> Iterator[list[LogEvent]]:
    events: list[LogEvent] = []
    globalLogPublisher.addObserver(events.append)
    yield events
    globalLogPublisher.removeObserver(events.append)


# -- connecting and binding ---------------------------------------------------------------


def test_start_connects_binds_transmitter_and_reports_online() -> None:
    rig = Rig(host="smsc.example", port=2775)
    assert rig.connector.status == "disconnected"
    rig.connector.start()
    assert [(h, p, t) for h, p, _f, t, _b in rig.reactor.tcpClients] == [
        ("smsc.example", 2775, 30.0)
    ]
    assert rig.connector.status == "connecting"
    smsc = rig.accept()
    assert smsc.transport.no_delay is True
    bind = smsc.answer_bind()
    assert bind.command_id == c.BIND_TRANSMITTER
    assert bind.params["system_id"] == b"kannel"
    assert rig.connector.status == "online 0s"
    assert rig.listener.of("bound") == [(smsc.session,)]
    assert rig.connector.transmitter is smsc.session
    rig.run(5)
    assert rig.connector.status == "online 5s"


def test_transceiver_mode_is_one_bind_transceiver() -> None:
    rig = Rig(transceiver_mode=True)
    rig.connector.start()
    assert rig.attempts == 1
    smsc = rig.accept()
    assert smsc.answer_bind().command_id == c.BIND_TRANSCEIVER
    assert smsc.session.state is SessionState.BOUND_TRX
    assert rig.connector.transmitter is smsc.session


def test_receive_port_adds_a_receiver_connection() -> None:
    rig = Rig(port=2775, receive_port=2776)
    rig.connector.start()
    assert [p for _h, p, _f, _t, _b in rig.reactor.tcpClients] == [2775, 2776]
    tx, rx = rig.accept(0), rig.accept(1)
    assert tx.answer_bind().command_id == c.BIND_TRANSMITTER
    assert rig.connector.status == "connecting"  # the receiver is not bound yet
    assert rx.answer_bind().command_id == c.BIND_RECEIVER
    assert rig.connector.status == "online 0s"
    assert rig.connector.transmitter is tx.session
    assert set(rig.connector.sessions) == {tx.session, rx.session}
    rx.send(Pdu(c.DELIVER_SM, 3, params={"short_message": b"mo"}))
    assert len(rig.listener.of("deliver")) == 1


def test_already_bound_is_online() -> None:
    rig = Rig()
    rig.connector.start()
    rig.accept().answer_bind(c.ESME_RALYBND)
    assert rig.connector.status == "online 0s"


@pytest.mark.parametrize("status", [c.ESME_RINVPASWD, c.ESME_RINVSYSID, c.ESME_RINVSYSTYP])
def test_credential_refusal_makes_the_link_dead(status: int, logged: list[LogEvent]) -> None:
    rig = Rig()
    rig.connector.start()
    smsc = rig.accept()
    smsc.answer_bind(status)
    assert smsc.transport.disconnecting
    smsc.drop()
    assert rig.connector.status == "dead"
    assert rig.reactor.getDelayedCalls() == []
    rig.run(3600)
    assert rig.attempts == 1
    assert rig.listener.events == []
    assert [e for e in logged if e.get("log_level") == LogLevel.critical]


@pytest.mark.parametrize("status", [c.ESME_RBINDFAIL, c.ESME_RSYSERR, 0x400])
def test_other_refusals_back_off_and_retry(status: int) -> None:
    rig = Rig(rand=lambda: 0.5)
    rig.connector.start()
    smsc = rig.accept()
    smsc.answer_bind(status)
    smsc.drop()
    assert rig.connector.status == "re-connecting"
    assert rig.retry_delays() == [5.0]  # half of reconnect_delay, the first ceiling
    rig.run(5)
    assert rig.attempts == 2
    rig.accept().answer_bind()
    assert rig.connector.status == "online 0s"


def test_bind_refused_on_the_transmitter_stops_the_receiver_too() -> None:
    rig = Rig(port=2775, receive_port=2776)
    rig.connector.start()
    tx, rx = rig.accept(0), rig.accept(1)
    rx.answer_bind()
    tx.answer_bind(c.ESME_RINVPASWD)
    tx.drop()
    assert [p.command_id for p in rx.read()] == [c.UNBIND]
    assert rig.connector.status == "dead"
    rx.send(Pdu(c.UNBIND_RESP, 2))
    rx.drop()
    assert rig.connector.status == "dead"
    assert rig.retry_delays() == []


def test_start_revives_a_dead_connector() -> None:
    rig = Rig()
    rig.connector.start()
    smsc = rig.accept()
    smsc.answer_bind(c.ESME_RINVSYSID)
    smsc.drop()
    assert rig.connector.status == "dead"
    rig.connector.start()
    assert rig.connector.status == "connecting"
    assert rig.attempts == 2


# -- reconnecting ---------------------------------------------------------------------------


def test_backoff_is_exponential_full_jitter_and_capped() -> None:
    ceilings = [backoff_delay(n, 10, 300, lambda: 1.0) for n in range(8)]
    assert ceilings == [10, 20, 40, 80, 160, 300, 300, 300]
    assert backoff_delay(10_000, 10, 300, lambda: 1.0) == 300  # no overflow
    rand = random.Random(42)
    delays = [backoff_delay(n, 10, 300, rand.random) for n in range(40)]
    again = random.Random(42)
    assert delays == [again.random() * min(300, 10 * 2**n) for n in range(40)]
    assert all(0 <= d < min(300, 10 * 2**n) for n, d in enumerate(delays))
    assert len(set(delays)) == 40  # jittered, not a fixed schedule
    assert max(delays[5:]) > 150  # the full range up to the cap is used


def test_connect_failures_back_off_and_a_bind_resets_the_backoff() -> None:
    rig = Rig(rand=lambda: 0.999)
    rig.connector.start()
    seen = []
    for _ in range(7):
        rig.fail_connect()
        assert rig.connector.status == "re-connecting"
        [delay] = rig.retry_delays()
        seen.append(round(delay))
        rig.reactor.advance(delay)
    assert seen == [10, 20, 40, 80, 160, 300, 300]
    assert rig.connector.counters.reconnects == 7
    assert rig.attempts == 8
    smsc = rig.accept()
    smsc.answer_bind()
    assert rig.connector.links[0].attempt == 0
    smsc.drop()  # the bound connection goes away: the backoff starts over
    assert [round(d) for d in rig.retry_delays()] == [10]


def test_connection_loss_fails_in_flight_once_and_reconnects_fresh() -> None:
    rig = Rig(rand=lambda: 0.1)
    rig.connector.start()
    smsc = rig.accept()
    smsc.answer_bind()
    session = smsc.session
    for i in range(3):
        session.submit(submit_sm(), i)
    smsc.drop()
    smsc.drop()
    failed = rig.listener.of("submit_failed")
    assert sorted(token for token, _ in failed) == [0, 1, 2]
    assert {reason for _, reason in failed} == {REASON_CONNECTION_LOST}
    assert len(rig.listener.of("unbound")) == 1
    assert rig.connector.transmitter is None
    assert rig.connector.status == "re-connecting"
    rig.run(1)
    again = rig.accept()
    assert again.session is not session
    again.answer_bind()
    assert again.session.submit(submit_sm(), "next") == 2  # a new session starts over


def test_bind_timeout_reconnects() -> None:
    rig = Rig(rand=lambda: 0.1, bind_timeout=5)
    rig.connector.start()
    smsc = rig.accept()
    rig.run(6)
    assert smsc.transport.disconnected
    smsc.drop()
    assert rig.connector.status == "re-connecting"


# -- stopping -------------------------------------------------------------------------------


def test_stop_unbinds_and_fails_what_is_unanswered() -> None:
    rig = Rig()
    rig.connector.start()
    smsc = rig.accept()
    smsc.answer_bind()
    smsc.session.submit(submit_sm(), "pending")
    smsc.read()
    stopped: list[None] = []
    rig.connector.stop().addCallback(stopped.append)
    [unbind] = smsc.read()
    assert unbind.command_id == c.UNBIND
    assert stopped == []
    smsc.send(Pdu(c.UNBIND_RESP, unbind.sequence_number))
    assert smsc.transport.disconnecting
    assert stopped == []  # not until the socket is really gone
    smsc.drop()
    assert stopped == [None]
    assert rig.listener.of("submit_failed") == [("pending", REASON_CONNECTION_LOST)]
    assert rig.connector.status == "disconnected"
    rig.run(600)
    assert rig.attempts == 1


def test_stop_gives_up_waiting_for_unbind_resp() -> None:
    rig = Rig(unbind_timeout=3)
    rig.connector.start()
    smsc = rig.accept()
    smsc.answer_bind()
    stopped: list[None] = []
    rig.connector.stop().addCallback(stopped.append)
    rig.run(2)
    assert not smsc.transport.disconnecting
    rig.run(2)
    assert smsc.transport.disconnected
    smsc.drop()
    assert stopped == [None]


def test_stop_cancels_a_pending_reconnect() -> None:
    rig = Rig()
    rig.connector.start()
    rig.fail_connect()
    assert rig.retry_delays()
    stopped: list[None] = []
    rig.connector.stop().addCallback(stopped.append)
    assert stopped == [None]
    assert rig.retry_delays() == []
    rig.run(600)
    assert rig.attempts == 1
    assert rig.connector.status == "disconnected"


def test_stop_while_connecting_abandons_the_attempt() -> None:
    rig = Rig()
    rig.connector.start()
    stopped: list[None] = []
    rig.connector.stop().addCallback(stopped.append)
    assert rig.reactor.connectors[0].stoppedConnecting
    assert stopped == [None]
    rig.fail_connect()  # what a real reactor reports after stopConnecting
    assert rig.retry_delays() == []
    assert rig.connector.status == "disconnected"


def test_late_failure_of_an_abandoned_attempt_is_ignored() -> None:
    rig = Rig()
    rig.connector.start()
    stopped: list[None] = []
    rig.connector.stop().addCallback(stopped.append)
    rig.connector.start()
    assert stopped == [None]
    assert rig.attempts == 2
    rig.fail_connect(0)  # the reactor finally reports the abandoned first attempt
    assert rig.retry_delays() == []
    assert rig.connector.status == "connecting"
    rig.fail_connect(1)  # the live attempt's failure still counts
    assert len(rig.retry_delays()) == 1
    assert rig.connector.status == "re-connecting"


# -- against a real socket ------------------------------------------------------------------


class TinySmsc(protocol.Protocol):
    """Just enough SMSC for a round trip: bind, submit_sm, unbind."""

    def connectionMade(self) -> None:  # noqa: N802 - Twisted's name
        self.framer = Framer()
        self.count = 0

    def dataReceived(self, data: bytes) -> None:  # noqa: N802 - Twisted's name
        out = []
        for pdu in self.framer.feed(data):
            assert isinstance(pdu, Pdu)
            if pdu.command_id == c.BIND_TRANSCEIVER:
                out.append(pdu.response(system_id=b"tiny"))
            elif pdu.command_id == c.SUBMIT_SM:
                self.count += 1
                out.append(pdu.response(message_id=b"%d" % self.count))
            elif pdu.command_id == c.UNBIND:
                out.append(pdu.response())
        self.transport.write(b"".join(encode(p) for p in out))


@pytest_twisted.inlineCallbacks
def test_round_trip_over_loopback() -> Generator[Deferred[Any], Any, None]:
    """A real socket: TCP_NODELAY really set, a window's worth of round trips, unbind."""
    from twisted.internet import reactor

    port = reactor.listenTCP(0, protocol.Factory.forProtocol(TinySmsc), interface="127.0.0.1")
    try:
        bound: Deferred[EsmeSession] = Deferred()

        class OnBound(Recorder):
            def bound(self, session: EsmeSession) -> None:
                bound.callback(session)

        listener = OnBound()
        config = BindConfig(
            port=port.getHost().port, transceiver_mode=True, system_id="x", max_pending_submits=64
        )
        connector = EsmeConnector(config, listener)
        connector.start()
        session = yield bound.addTimeout(10, reactor)
        handle = session._transport.getHandle()  # type: ignore[union-attr]
        assert handle.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        results = yield inlineCallbacks(_submit_all)(session, 200).addTimeout(10, reactor)
        assert [r.params["message_id"] for r in results] == [b"%d" % i for i in range(1, 201)]
        assert connector.counters.submits == 200
        assert connector.counters.responses_by_status == {0: 200}
        yield connector.stop().addTimeout(10, reactor)
        assert connector.status == "disconnected"
        assert session.close_reason == "unbound"
    finally:
        yield port.stopListening()


def _submit_all(session: EsmeSession, total: int) -> Generator[Deferred[Any], Any, list[Pdu]]:
    from twisted.internet.defer import gatherResults

    results: list[Pdu] = []
    while len(results) < total:
        batch = [session.submit_deferred(submit_sm())
                 for _ in range(min(session.window_free, total - len(results)))]
        results.extend((yield gatherResults(batch)))
    return results


def test_link_status_words_are_kannels() -> None:
    assert [s.value for s in LinkStatus] == [
        "disconnected", "connecting", "re-connecting", "online", "dead"
    ]
