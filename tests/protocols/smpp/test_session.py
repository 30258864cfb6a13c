"""EsmeSession and EsmeProtocol, driven in memory: Clock for time, StringTransport for bytes.

The SMSC's side is played with the real codec (`encode` to build its PDUs, `Framer` to
read what the session wrote), so every assertion is about bytes on the wire.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from twisted.internet.defer import Deferred, fail
from twisted.internet.error import ConnectionDone
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import LogEvent, globalLogPublisher
from twisted.python.failure import Failure

from protocols.smpp import constants as c
from protocols.smpp.framer import Framer
from protocols.smpp.pdu import HEADER, Pdu, SmppError, encode
from protocols.smpp.session import (
    CLOSE_GRACE,
    MAX_SEQUENCE,
    REASON_CONNECTION_LOST,
    REASON_GENERIC_NACK,
    REASON_MALFORMED_RESPONSE,
    REASON_TIMEOUT,
    BindConfig,
    BindMode,
    EsmeListener,
    EsmeProtocol,
    EsmeSession,
    NotBoundError,
    SessionState,
    SubmitFailedError,
    WindowFullError,
)


class NoDelayTransport(StringTransport):
    """A StringTransport that, like a TCP transport, takes TCP_NODELAY, and counts writes."""

    def __init__(self) -> None:
        super().__init__()
        self.no_delay: bool | None = None
        self.writes = 0

    def setTcpNoDelay(self, enabled: bool) -> None:  # noqa: N802 - Twisted's name
        self.no_delay = enabled

    def write(self, data: bytes) -> None:
        self.writes += 1
        super().write(data)


class Recorder(EsmeListener):
    """Writes down every call; `deliver_result` is what deliver answers (or a callable)."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []
        self.deliver_result: int | Deferred[int] | Callable[[Pdu], Any] = c.ESME_ROK

    def names(self) -> list[str]:
        return [event[0] for event in self.events]

    def of(self, name: str) -> list[tuple[Any, ...]]:
        return [event[1:] for event in self.events if event[0] == name]

    def bound(self, session: EsmeSession) -> None:
        self.events.append(("bound", session))

    def unbound(self, session: EsmeSession, reason: str) -> None:
        self.events.append(("unbound", reason))

    def submit_response(self, session: EsmeSession, token: Any, resp: Pdu) -> None:
        self.events.append(("submit_response", token, resp))

    def submit_failed(self, session: EsmeSession, token: Any, reason: str) -> None:
        self.events.append(("submit_failed", token, reason))

    def late_response(self, session: EsmeSession, token: Any, resp: Pdu) -> None:
        self.events.append(("late_response", token, resp))

    def deliver(self, session: EsmeSession, pdu: Pdu) -> int | Deferred[int]:
        self.events.append(("deliver", pdu))
        result = self.deliver_result
        return result(pdu) if callable(result) else result

    def window_open(self, session: EsmeSession) -> None:
        self.events.append(("window_open",))


class LinkRecorder:
    """Plays the connector's part (LinkEvents)."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []

    def link_bound(self, session: EsmeSession) -> None:
        self.events.append(("bound",))

    def link_refused(self, session: EsmeSession, status: int) -> None:
        self.events.append(("refused", status))

    def link_closed(self, session: EsmeSession, reason: str) -> None:
        self.events.append(("closed", reason))


class Rig:
    """One session on one in-memory connection, with the SMSC's view of the bytes."""

    def __init__(
        self,
        mode: BindMode = BindMode.TRANSMITTER,
        listener: EsmeListener | None = None,
        transport: StringTransport | None = None,
        **config: Any,
    ) -> None:
        config.setdefault("system_id", "kannel")
        config.setdefault("password", "secret")
        self.clock = Clock()
        self.listener = Recorder() if listener is None else listener
        self.link = LinkRecorder()
        self.config = BindConfig(**config)
        self.session = EsmeSession(
            self.config, self.listener, mode, clock=self.clock, link=self.link
        )
        self.proto = EsmeProtocol(self.session)
        self.transport = NoDelayTransport() if transport is None else transport
        self.proto.makeConnection(self.transport)

    @property
    def recorder(self) -> Recorder:
        assert isinstance(self.listener, Recorder)
        return self.listener

    def sent(self) -> list[Pdu]:
        """PDUs the session wrote since the last call, decoded by the real framer."""
        items = Framer().feed(self.transport.value())
        self.transport.clear()
        assert all(isinstance(item, Pdu) for item in items), items
        return items  # type: ignore[return-value]

    def feed(self, *pdus: Pdu) -> None:
        """The SMSC sends these PDUs, in one TCP read."""
        self.proto.dataReceived(b"".join(encode(pdu) for pdu in pdus))

    def bind(self, status: int = c.ESME_ROK) -> Pdu:
        [bind] = self.sent()
        self.feed(bind.response(status, system_id=b"smsc") if not status
                  else Pdu(bind.command_id | c.RESPONSE_BIT, bind.sequence_number, status))
        return bind

    def run(self, seconds: int) -> None:
        """Let time pass in one-second steps, so the session's timer fires on the way."""
        self.clock.pump([1.0] * seconds)

    def lose(self) -> None:
        self.proto.connectionLost(Failure(ConnectionDone("closed by test")))


def bound_rig(mode: BindMode = BindMode.TRANSMITTER, **config: Any) -> Rig:
    rig = Rig(mode, **config)
    rig.bind()
    rig.sent()
    return rig


def submit_sm(text: bytes = b"hello") -> Pdu:
    return Pdu(
        c.SUBMIT_SM,
        params={"source_addr": b"12345", "destination_addr": b"4670000001", "short_message": text},
    )


def deliver_sm(seq: int, text: bytes = b"MO text", command_id: int = c.DELIVER_SM) -> Pdu:
    return Pdu(
        command_id,
        seq,
        params={"source_addr": b"4670000001", "destination_addr": b"12345", "short_message": text}
        if command_id == c.DELIVER_SM
        else {"source_addr": b"4670000001", "destination_addr": b"12345"},
    )


def resp(seq: int, status: int = c.ESME_ROK, message_id: bytes = b"abc") -> Pdu:
    if status:
        return Pdu(c.SUBMIT_SM_RESP, seq, status)
    return Pdu(c.SUBMIT_SM_RESP, seq, params={"message_id": message_id})


@pytest.fixture
def logged() -> Iterator[list[LogEvent]]:
    events: list[LogEvent] = []
    globalLogPublisher.addObserver(events.append)
    yield events
    globalLogPublisher.removeObserver(events.append)


def failures(events: list[LogEvent]) -> list[LogEvent]:
    return [event for event in events if "log_failure" in event]


# -- bind -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "command_id", "state"),
    [
        (BindMode.TRANSMITTER, c.BIND_TRANSMITTER, SessionState.BOUND_TX),
        (BindMode.RECEIVER, c.BIND_RECEIVER, SessionState.BOUND_RX),
        (BindMode.TRANSCEIVER, c.BIND_TRANSCEIVER, SessionState.BOUND_TRX),
    ],
)
def test_bind_sends_kannel_fields_and_binds(
    mode: BindMode, command_id: int, state: SessionState
) -> None:
    rig = Rig(mode)
    assert rig.session.state is SessionState.BINDING
    [bind] = rig.sent()
    assert bind.command_id == command_id
    assert bind.sequence_number == 1
    assert bind.params == {
        "system_id": b"kannel",
        "password": b"secret",
        "system_type": b"VMA",
        "interface_version": 0x34,
        "addr_ton": 0,
        "addr_npi": 0,
        "address_range": b"",
    }
    rig.feed(bind.response(system_id=b"smsc"))
    assert rig.session.state is state
    assert rig.recorder.names() == ["bound"]
    assert rig.link.events == [("bound",)]
    assert rig.session.can_submit is (mode is not BindMode.RECEIVER)
    assert rig.session.window_free == (0 if mode is BindMode.RECEIVER else 10)
    assert rig.session.counters.binds == 1


def test_bind_sends_configured_fields_as_is() -> None:
    rig = Rig(
        BindMode.TRANSCEIVER,
        system_type="",
        interface_version=0x33,
        address_range="^467",
        bind_addr_ton=1,
        bind_addr_npi=1,
    )
    [bind] = rig.sent()
    assert bind.params["system_type"] == b""
    assert bind.params["interface_version"] == 0x33
    assert bind.params["address_range"] == b"^467"
    assert (bind.params["addr_ton"], bind.params["addr_npi"]) == (1, 1)


def test_already_bound_counts_as_bound() -> None:
    rig = Rig()
    rig.bind(c.ESME_RALYBND)
    assert rig.session.state is SessionState.BOUND_TX
    assert rig.recorder.names() == ["bound"]


def test_refused_bind_closes_and_tells_the_link_but_not_the_listener() -> None:
    rig = Rig()
    rig.bind(c.ESME_RINVPASWD)
    assert rig.link.events == [("refused", c.ESME_RINVPASWD)]
    assert rig.session.state is SessionState.CLOSED
    assert rig.transport.disconnecting
    assert "0x0000000e" in (rig.session.close_reason or "")
    rig.lose()
    assert rig.recorder.events == []  # never bound, so never unbound
    assert rig.link.events[-1][0] == "closed"
    assert rig.session.counters.bind_failures == 1


def test_generic_nack_to_the_bind_is_a_refusal_with_its_status() -> None:
    rig = Rig(BindMode.TRANSCEIVER)
    [bind] = rig.sent()
    rig.feed(Pdu(c.GENERIC_NACK, bind.sequence_number, c.ESME_RINVCMDID))
    assert rig.link.events == [("refused", c.ESME_RINVCMDID)]
    assert rig.session.state is SessionState.CLOSED


def test_bind_timeout_aborts() -> None:
    rig = Rig(bind_timeout=5)
    rig.run(4)
    assert not rig.transport.disconnecting
    rig.run(2)
    assert rig.transport.disconnected  # aborted, not waiting for a dead peer to read
    assert rig.session.close_reason == "bind timeout"


def test_tcp_nodelay_is_set() -> None:
    rig = Rig()
    assert rig.transport.no_delay is True


def test_transport_without_nodelay_still_binds() -> None:
    rig = Rig(transport=StringTransport())
    assert [pdu.command_id for pdu in rig.sent()] == [c.BIND_TRANSMITTER]


# -- submit window -----------------------------------------------------------------------


def test_submit_assigns_sequence_numbers_and_maps_responses_to_tokens() -> None:
    rig = bound_rig()
    seqs = [rig.session.submit(submit_sm(b"m%d" % i), f"token{i}") for i in range(3)]
    assert seqs == [2, 3, 4]  # 1 was the bind
    sent = rig.sent()
    assert [(p.command_id, p.sequence_number) for p in sent] == [(c.SUBMIT_SM, s) for s in seqs]
    assert [p.params["short_message"] for p in sent] == [b"m0", b"m1", b"m2"]
    rig.feed(resp(3, message_id=b"id3"), resp(2, c.ESME_RTHROTTLED))
    got = rig.recorder.of("submit_response")
    assert [(token, r.command_status) for token, r in got] == [
        ("token1", 0),
        ("token0", c.ESME_RTHROTTLED),
    ]
    assert got[0][1].params["message_id"] == b"id3"
    counters = rig.session.counters
    assert counters.submits == 3
    assert counters.responses == 2
    assert counters.responses_by_status == {0: 1, c.ESME_RTHROTTLED: 1}
    assert rig.session.in_flight == 1


def test_submit_refused_before_bind_and_on_receiver() -> None:
    rig = Rig()
    with pytest.raises(NotBoundError):
        rig.session.submit(submit_sm(), "t")
    rx = bound_rig(BindMode.RECEIVER)
    with pytest.raises(NotBoundError):
        rx.session.submit(submit_sm(), "t")
    assert rx.sent() == []


def test_submit_only_takes_submit_operations() -> None:
    rig = bound_rig()
    with pytest.raises(ValueError):
        rig.session.submit(Pdu(c.QUERY_SM), "t")
    data_sm = Pdu(c.DATA_SM, params={"destination_addr": b"1"})
    assert rig.session.submit(data_sm, "t") == 2
    assert [p.command_id for p in rig.sent()] == [c.DATA_SM]


def test_unencodable_submit_raises_and_occupies_nothing() -> None:
    rig = bound_rig()
    with pytest.raises(SmppError):
        rig.session.submit(submit_sm(b"x" * 255), "t")
    assert rig.session.in_flight == 0
    assert rig.sent() == []


def test_window_full_refuses_and_a_response_reopens_it() -> None:
    rig = bound_rig(max_pending_submits=3)
    for i in range(3):
        rig.session.submit(submit_sm(), i)
    assert rig.session.window_free == 0
    with pytest.raises(WindowFullError):
        rig.session.submit(submit_sm(), 3)
    assert len(rig.sent()) == 3
    rig.feed(resp(2))
    assert rig.recorder.names()[-2:] == ["submit_response", "window_open"]
    assert rig.session.window_free == 1
    rig.session.submit(submit_sm(), 3)
    assert len(rig.sent()) == 1


def test_sequence_numbers_wrap_to_one() -> None:
    rig = bound_rig()
    rig.session._seq = MAX_SEQUENCE  # what 2**31 submits would leave behind
    assert rig.session.submit(submit_sm(), "a") == MAX_SEQUENCE
    assert rig.session.submit(submit_sm(), "b") == 1


def test_responses_within_one_read_and_the_refill_leave_in_one_write() -> None:
    class Refill(Recorder):
        calls = 0

        def window_open(self, session: EsmeSession) -> None:
            self.calls += 1
            while session.window_free:
                session.submit(submit_sm(), "refill")

    listener = Refill()
    rig = bound_rig(listener=listener, max_pending_submits=64)
    for i in range(64):
        rig.session.submit(submit_sm(), i)
    rig.sent()
    rig.transport.writes = 0
    rig.feed(*(resp(seq) for seq in range(2, 66)))
    # One refill for the whole read (not one per response), and one write for it all.
    assert listener.calls == 1
    assert len(listener.of("submit_response")) == 64
    assert rig.transport.writes == 1
    refills = rig.sent()
    assert len(refills) == 64
    assert {p.command_id for p in refills} == {c.SUBMIT_SM}


# -- keepalive and timeouts ------------------------------------------------------------------


def test_enquire_link_sent_when_idle_only() -> None:
    rig = bound_rig()
    rig.run(29)
    assert rig.sent() == []
    rig.run(3)
    [enquire] = rig.sent()
    assert enquire.command_id == c.ENQUIRE_LINK
    assert rig.session.counters.enquire_links_sent == 1
    rig.feed(Pdu(c.ENQUIRE_LINK_RESP, enquire.sequence_number))
    # Traffic every 10 s: responses to submits keep the link visibly alive.
    for _ in range(12):
        rig.session.submit(submit_sm(), "t")
        rig.run(5)
        seq = rig.sent()[-1].sequence_number
        rig.feed(resp(seq))
        rig.run(5)
    assert [p.command_id for p in rig.sent()] == []
    assert rig.session.counters.enquire_links_sent == 1
    rig.run(32)
    assert [p.command_id for p in rig.sent()] == [c.ENQUIRE_LINK]


def test_smsc_enquire_link_is_answered() -> None:
    rig = bound_rig()
    rig.feed(Pdu(c.ENQUIRE_LINK, 4242))
    assert [(p.command_id, p.sequence_number, p.command_status) for p in rig.sent()] == [
        (c.ENQUIRE_LINK_RESP, 4242, 0)
    ]


def test_connection_timeout_drops_a_silent_smsc() -> None:
    rig = bound_rig()
    rig.run(298)
    assert not rig.transport.disconnecting
    assert rig.session.counters.enquire_links_sent > 1  # asked, never answered
    rig.run(4)
    assert rig.transport.disconnected
    assert rig.session.counters.connection_timeouts == 1
    rig.lose()
    [(reason,)] = rig.recorder.of("unbound")
    assert reason.startswith("connection timeout")


def test_connection_timeout_zero_is_off() -> None:
    rig = bound_rig(connection_timeout=0)
    rig.run(1000)
    assert not rig.transport.disconnecting
    assert rig.session.state is SessionState.BOUND_TX


def test_close_that_does_not_complete_is_aborted() -> None:
    rig = bound_rig()
    rig.session.close("test")
    assert rig.transport.disconnecting and not rig.transport.disconnected
    rig.run(int(CLOSE_GRACE) + 1)
    assert rig.transport.disconnected


# -- wait-ack --------------------------------------------------------------------------------


def test_wait_ack_requeue_fails_once_then_maps_the_late_response() -> None:
    rig = bound_rig()  # wait_ack 60, wait_ack_expire 1 (Kannel's code default)
    seq = rig.session.submit(submit_sm(), "tok")
    rig.run(59)
    assert rig.recorder.of("submit_failed") == []
    rig.run(2)
    assert rig.recorder.of("submit_failed") == [("tok", REASON_TIMEOUT)]
    assert rig.recorder.names()[-1] == "window_open"
    assert rig.session.window_free == 10
    assert rig.session.counters.timeouts == 1
    assert rig.session.tombstones == 1
    assert not rig.transport.disconnecting
    rig.feed(resp(seq, message_id=b"late-id"))
    [(token, late)] = rig.recorder.of("late_response")
    assert token == "tok"
    assert late.params["message_id"] == b"late-id"
    assert rig.recorder.of("submit_response") == []
    assert rig.session.counters.late_responses == 1
    rig.feed(resp(seq))  # a duplicate is nobody's
    assert rig.session.counters.unknown_responses == 1
    assert len(rig.recorder.of("late_response")) == 1


def test_tombstones_expire() -> None:
    rig = bound_rig(late_response_ttl=30)
    seq = rig.session.submit(submit_sm(), "tok")
    rig.run(61)
    assert rig.session.tombstones == 1
    rig.run(31)
    assert rig.session.tombstones == 0
    rig.feed(resp(seq))
    assert rig.recorder.of("late_response") == []
    assert rig.session.counters.unknown_responses == 1


def test_tombstones_are_bounded_oldest_first() -> None:
    rig = bound_rig(late_response_max=2)
    seqs = [rig.session.submit(submit_sm(), i) for i in range(3)]
    rig.run(61)
    assert rig.session.tombstones == 2
    assert rig.session.counters.tombstones_dropped == 1
    rig.feed(resp(seqs[0]), resp(seqs[2]))
    assert [token for token, _ in rig.recorder.of("late_response")] == [2]
    assert rig.session.counters.unknown_responses == 1


def test_wait_ack_reconnect_fails_expired_then_the_rest_on_close() -> None:
    rig = bound_rig(wait_ack_expire=0)
    rig.session.submit(submit_sm(), "old1")
    rig.session.submit(submit_sm(), "old2")
    rig.run(30)
    rig.session.submit(submit_sm(), "young")
    rig.run(31)
    assert rig.recorder.of("submit_failed") == [("old1", REASON_TIMEOUT), ("old2", REASON_TIMEOUT)]
    assert rig.transport.disconnected
    assert rig.session.counters.timeouts == 2
    rig.lose()
    rig.lose()
    assert rig.recorder.of("submit_failed")[2:] == [("young", REASON_CONNECTION_LOST)]


def test_wait_ack_never_expire_waits() -> None:
    rig = bound_rig(wait_ack_expire=2, connection_timeout=0)
    seq = rig.session.submit(submit_sm(), "tok")
    rig.run(1000)
    assert rig.recorder.of("submit_failed") == []
    rig.feed(resp(seq))
    assert [token for token, _ in rig.recorder.of("submit_response")] == ["tok"]


def test_submit_deferred_fires_with_the_response_or_fails() -> None:
    rig = bound_rig()
    d = rig.session.submit_deferred(submit_sm())
    seq = rig.sent()[0].sequence_number
    got: list[Pdu] = []
    d.addCallback(got.append)
    rig.feed(resp(seq, message_id=b"m1"))
    assert got[0].params["message_id"] == b"m1"
    assert rig.recorder.of("submit_response") == []  # the app listener never sees it

    d2 = rig.session.submit_deferred(submit_sm())
    errors: list[Failure] = []
    d2.addErrback(errors.append)
    rig.run(61)
    assert errors[0].check(SubmitFailedError)
    assert errors[0].value.reason == REASON_TIMEOUT
    assert rig.recorder.of("submit_failed") == []


# -- connection loss and unbind ------------------------------------------------------------


def test_connection_lost_fails_every_in_flight_token_exactly_once() -> None:
    class Resubmitter(Recorder):
        def submit_failed(self, session: EsmeSession, token: Any, reason: str) -> None:
            super().submit_failed(session, token, reason)
            with pytest.raises(NotBoundError):
                session.submit(submit_sm(), token)

    rig = bound_rig(listener=Resubmitter())
    for i in range(5):
        rig.session.submit(submit_sm(), i)
    rig.feed(resp(3))
    rig.lose()
    rig.lose()
    failed = rig.recorder.of("submit_failed")
    assert sorted(token for token, _ in failed) == [0, 2, 3, 4]
    assert {reason for _, reason in failed} == {REASON_CONNECTION_LOST}
    assert rig.recorder.names()[-1] == "unbound"
    assert len(rig.recorder.of("unbound")) == 1
    assert rig.session.state is SessionState.CLOSED
    [(event, reason)] = rig.link.events[-1:]
    assert event == "closed" and "closed by test" in reason


def test_incoming_unbind_is_answered_then_closed() -> None:
    rig = bound_rig()
    rig.session.submit(submit_sm(), "tok")
    rig.sent()
    rig.feed(Pdu(c.UNBIND, 77))
    assert [(p.command_id, p.sequence_number, p.command_status) for p in rig.sent()] == [
        (c.UNBIND_RESP, 77, 0)
    ]
    assert rig.transport.disconnecting
    assert rig.session.state is SessionState.CLOSED
    with pytest.raises(NotBoundError):
        rig.session.submit(submit_sm(), "t")
    rig.lose()
    assert rig.recorder.of("submit_failed") == [("tok", REASON_CONNECTION_LOST)]
    assert rig.recorder.of("unbound") == [("unbound by SMSC",)]


def test_unbind_waits_for_responses_and_unbind_resp() -> None:
    rig = bound_rig()
    seq = rig.session.submit(submit_sm(), "answered")
    rig.session.submit(submit_sm(), "pending")
    rig.sent()
    rig.session.unbind()
    [unbind] = rig.sent()
    assert unbind.command_id == c.UNBIND
    assert rig.session.state is SessionState.UNBINDING
    with pytest.raises(NotBoundError):
        rig.session.submit(submit_sm(), "t")
    rig.feed(resp(seq))
    assert [token for token, _ in rig.recorder.of("submit_response")] == ["answered"]
    assert not rig.transport.disconnecting
    rig.feed(Pdu(c.UNBIND_RESP, unbind.sequence_number))
    assert rig.transport.disconnecting
    assert rig.session.state is SessionState.CLOSED
    closed: list[str] = []
    rig.session.when_closed().addCallback(closed.append)
    rig.lose()
    assert closed == ["unbound"]
    assert rig.recorder.of("submit_failed") == [("pending", REASON_CONNECTION_LOST)]


def test_unbind_without_answer_aborts_after_the_timeout() -> None:
    rig = bound_rig(unbind_timeout=3)
    rig.session.unbind()
    rig.run(2)
    assert not rig.transport.disconnecting
    rig.run(2)
    assert rig.transport.disconnected
    assert rig.session.close_reason == "unbind timeout"


# -- generic_nack, unknown and malformed PDUs ------------------------------------------------


def test_generic_nack_for_a_submit_is_its_response() -> None:
    rig = bound_rig()
    seq = rig.session.submit(submit_sm(), "tok")
    rig.feed(Pdu(c.GENERIC_NACK, seq, c.ESME_RINVCMDLEN))
    [(token, nack)] = rig.recorder.of("submit_response")
    assert token == "tok"
    assert (nack.command_id, nack.command_status) == (c.GENERIC_NACK, c.ESME_RINVCMDLEN)
    assert rig.session.window_free == 10
    assert rig.session.counters.generic_nacks == 1


def test_generic_nack_without_status_fails_the_submit() -> None:
    rig = bound_rig()
    seq = rig.session.submit(submit_sm(), "tok")
    rig.feed(Pdu(c.GENERIC_NACK, seq, 0))
    assert rig.recorder.of("submit_failed") == [("tok", REASON_GENERIC_NACK)]
    assert rig.recorder.of("submit_response") == []


def test_responses_to_unknown_sequence_numbers_are_counted_and_ignored() -> None:
    rig = bound_rig()
    rig.session.submit(submit_sm(), "tok")
    rig.sent()
    rig.feed(resp(999), Pdu(c.QUERY_SM_RESP, 5, c.ESME_RQUERYFAIL))
    assert rig.session.counters.unknown_responses == 2
    assert rig.recorder.of("submit_response") == []
    assert rig.session.in_flight == 1
    assert rig.sent() == []
    assert not rig.transport.disconnecting


def test_request_an_esme_does_not_serve_is_nacked() -> None:
    rig = bound_rig()
    rig.feed(Pdu(c.SUBMIT_SM, 31, params={"destination_addr": b"1"}))
    assert [(p.command_id, p.sequence_number, p.command_status) for p in rig.sent()] == [
        (c.GENERIC_NACK, 31, c.ESME_RINVCMDID)
    ]


def test_malformed_deliver_sm_is_answered_and_the_session_goes_on() -> None:
    rig = bound_rig(BindMode.TRANSCEIVER)
    rig.proto.dataReceived(HEADER.pack(17, c.DELIVER_SM, 0, 9) + b"\0")  # body stops early
    assert [(p.command_id, p.sequence_number, p.command_status) for p in rig.sent()] == [
        (c.DELIVER_SM_RESP, 9, c.ESME_RINVCMDLEN)
    ]
    assert rig.recorder.of("deliver") == []
    assert rig.session.counters.malformed == 1
    assert not rig.transport.disconnecting
    rig.feed(deliver_sm(10))
    assert len(rig.recorder.of("deliver")) == 1


def test_unknown_command_id_is_nacked() -> None:
    rig = bound_rig()
    rig.proto.dataReceived(HEADER.pack(16, 0x00000099, 0, 12))
    assert [(p.command_id, p.sequence_number, p.command_status) for p in rig.sent()] == [
        (c.GENERIC_NACK, 12, c.ESME_RINVCMDID)
    ]
    assert not rig.transport.disconnecting


def test_broken_framing_is_nacked_and_closes() -> None:
    rig = bound_rig()
    rig.session.submit(submit_sm(), "tok")
    rig.sent()
    rig.proto.dataReceived(HEADER.pack(8, c.SUBMIT_SM_RESP, 0, 2))
    assert [(p.command_id, p.command_status) for p in rig.sent()] == [
        (c.GENERIC_NACK, c.ESME_RINVCMDLEN)
    ]
    assert rig.transport.disconnecting
    assert rig.session.state is SessionState.CLOSED
    rig.lose()
    assert rig.recorder.of("submit_failed") == [("tok", REASON_CONNECTION_LOST)]


def test_malformed_response_fails_its_submit_at_once() -> None:
    rig = bound_rig()
    seq = rig.session.submit(submit_sm(), "tok")
    rig.sent()
    rig.proto.dataReceived(HEADER.pack(19, c.SUBMIT_SM_RESP, 0, seq) + b"abc")  # no NUL
    assert [(p.command_id, p.sequence_number) for p in rig.sent()] == [(c.GENERIC_NACK, seq)]
    assert rig.recorder.of("submit_failed") == [("tok", REASON_MALFORMED_RESPONSE)]
    assert rig.recorder.names()[-1] == "window_open"
    assert not rig.transport.disconnecting


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(chunks=st.lists(st.binary(max_size=80), max_size=6))
def test_garbage_from_the_smsc_never_raises(chunks: list[bytes]) -> None:
    rig = bound_rig(BindMode.TRANSCEIVER)
    rig.session.submit(submit_sm(), "tok")
    rig.sent()
    for chunk in chunks:
        rig.proto.dataReceived(chunk)
    rig.sent()  # whatever the session answered is well-formed SMPP
    rig.lose()
    tokens = [
        event[1]
        for event in rig.recorder.events
        if event[0] in ("submit_response", "submit_failed")
    ]
    assert tokens == ["tok"]


# -- deliveries -----------------------------------------------------------------------------


def answers(rig: Rig) -> list[tuple[int, int, int]]:
    return [(p.command_id, p.sequence_number, p.command_status) for p in rig.sent()]


@pytest.mark.parametrize("mode", [BindMode.RECEIVER, BindMode.TRANSCEIVER])
def test_deliver_sm_is_answered_with_the_listener_status(mode: BindMode) -> None:
    rig = bound_rig(mode)
    rig.feed(deliver_sm(5, b"hello"))
    [(pdu,)] = rig.recorder.of("deliver")
    assert pdu.params["short_message"] == b"hello"
    assert answers(rig) == [(c.DELIVER_SM_RESP, 5, 0)]
    rig.recorder.deliver_result = c.ESME_RX_R_APPN
    rig.feed(deliver_sm(6))
    assert answers(rig) == [(c.DELIVER_SM_RESP, 6, c.ESME_RX_R_APPN)]
    assert rig.session.counters.delivers == 2


def test_data_sm_gets_a_data_sm_resp() -> None:
    rig = bound_rig(BindMode.RECEIVER)
    rig.feed(deliver_sm(8, command_id=c.DATA_SM))
    assert answers(rig) == [(c.DATA_SM_RESP, 8, 0)]


def test_deliver_answer_waits_for_the_deferred() -> None:
    rig = bound_rig(BindMode.TRANSCEIVER)
    pending: Deferred[int] = Deferred()
    rig.recorder.deliver_result = pending
    rig.feed(deliver_sm(5))
    assert rig.sent() == []
    pending.callback(c.ESME_ROK)
    assert answers(rig) == [(c.DELIVER_SM_RESP, 5, 0)]


def test_deliver_failure_or_exception_answers_temporary_error(logged: list[LogEvent]) -> None:
    rig = bound_rig(BindMode.TRANSCEIVER)
    rig.recorder.deliver_result = lambda pdu: fail(RuntimeError("disk full"))
    rig.feed(deliver_sm(5))

    def explode(pdu: Pdu) -> int:
        raise RuntimeError("bug")

    rig.recorder.deliver_result = explode
    rig.feed(deliver_sm(6))
    assert answers(rig) == [
        (c.DELIVER_SM_RESP, 5, c.ESME_RX_T_APPN),
        (c.DELIVER_SM_RESP, 6, c.ESME_RX_T_APPN),
    ]
    assert len(failures(logged)) == 2
    assert not rig.transport.disconnecting


def test_deliver_sm_on_a_transmitter_bind_is_refused() -> None:
    rig = bound_rig(BindMode.TRANSMITTER)
    rig.feed(deliver_sm(5))
    assert answers(rig) == [(c.DELIVER_SM_RESP, 5, c.ESME_RINVBNDSTS)]
    assert rig.recorder.of("deliver") == []
    assert rig.session.counters.deliver_refused == 1


# -- robustness ------------------------------------------------------------------------------


def test_listener_exception_is_logged_and_the_read_goes_on(logged: list[LogEvent]) -> None:
    class Faulty(Recorder):
        def submit_response(self, session: EsmeSession, token: Any, resp: Pdu) -> None:
            super().submit_response(session, token, resp)
            if token == "bad":
                raise RuntimeError("listener bug")

    rig = bound_rig(listener=Faulty())
    rig.session.submit(submit_sm(), "bad")
    rig.session.submit(submit_sm(), "good")
    rig.feed(resp(2), resp(3))
    assert [token for token, _ in rig.recorder.of("submit_response")] == ["bad", "good"]
    assert len(failures(logged)) == 1
    assert not rig.transport.disconnecting


def test_session_bug_never_escapes_data_received(
    monkeypatch: pytest.MonkeyPatch, logged: list[LogEvent]
) -> None:
    rig = bound_rig()
    rig.session.submit(submit_sm(), "tok")

    def broken(self: EsmeSession, pdu: Pdu) -> None:
        raise KeyError("session bug")

    monkeypatch.setattr(EsmeSession, "pdu_received", broken)
    rig.feed(resp(2))  # must not raise
    assert rig.transport.disconnected
    assert rig.session.close_reason == "internal error"
    assert failures(logged)
    monkeypatch.undo()
    rig.lose()
    assert rig.recorder.of("submit_failed") == [("tok", REASON_CONNECTION_LOST)]


# -- configuration ---------------------------------------------------------------------------


def test_bind_config_defaults_are_kannels() -> None:
    cfg = BindConfig()
    assert (cfg.port, cfg.receive_port, cfg.transceiver_mode) == (2775, 0, False)
    assert cfg.max_pending_submits == 10
    assert cfg.enquire_link_interval == 30
    assert cfg.connection_timeout == 300
    assert (cfg.wait_ack, cfg.wait_ack_expire) == (60, 1)
    assert cfg.reconnect_delay == 10
    assert cfg.interface_version == 0x34
    assert cfg.bind_system_type == b"VMA"
    assert cfg.max_pdu_length == 64 * 1024


@pytest.mark.parametrize(
    "bad",
    [
        {"password": "123456789"},
        {"system_id": "x" * 16},
        {"system_type": "y" * 13},
        {"receive_port": 2776, "transceiver_mode": True},
        {"wait_ack_expire": 3},
        {"max_pending_submits": 0},
        {"reconnect_delay": 10, "reconnect_delay_max": 5},
    ],
)
def test_bind_config_refuses_what_cannot_work(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        BindConfig(**bad)


def test_max_pdu_length_bounds_the_framer() -> None:
    rig = bound_rig(max_pdu_length=100)
    rig.proto.dataReceived(struct.pack(">I", 101) + b"\0" * 12)
    assert [(p.command_id, p.command_status) for p in rig.sent()] == [
        (c.GENERIC_NACK, c.ESME_RINVCMDLEN)
    ]
    assert rig.transport.disconnecting
