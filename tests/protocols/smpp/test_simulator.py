"""The SMSC simulator: what an ESME sees on the wire, over real loopback TCP or a Clock.

The client side here is a tiny raw ESME built on our codec and framer only, so these tests
do not depend on the ESME session being written beside them. Anything time-dependent
(receipt delays, throttle windows, slow responses, periodic drops and MOs) is driven by a
`twisted.internet.task.Clock` over a StringTransport; the end-to-end submit → response →
receipt path and everything socket-level runs over TCP on 127.0.0.1.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.internet import defer, reactor
from twisted.internet.address import IPv4Address
from twisted.internet.endpoints import TCP4ClientEndpoint, connectProtocol
from twisted.internet.interfaces import IListeningPort
from twisted.internet.protocol import Protocol, connectionDone
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

from protocols.smpp import constants as c
from protocols.smpp.framer import Framer
from protocols.smpp.pdu import HEADER, Pdu, SmppError, decode, encode
from protocols.smpp.simulator import (
    FinalState,
    MessageIds,
    SimulatorConfig,
    SimulatorFactory,
    SmscProtocol,
    config_from_args,
    listen,
    main,
    receipt_text,
)
from protocols.smpp.simulator.receipts import receipt_body, state_parts

ROOT = Path(__file__).resolve().parents[3]
TIMEOUT = 5.0

# Kannel's handle_dlr: sscanf("id:%64[^ ] sub:%d dlvrd:%d submit date:%14[0-9] done
# date:%14[0-9] stat:%15[^ ] err:%3[^ ]"), as a regex anchored where sscanf starts.
KANNEL_RECEIPT = re.compile(
    rb"id:(?P<id>[^ ]{1,64}) sub:(?P<sub>-?\d+) dlvrd:(?P<dlvrd>-?\d+) "
    rb"submit date:(?P<submit>[0-9]{1,14}) done date:(?P<done>[0-9]{1,14}) "
    rb"stat:(?P<stat>[^ ]{1,15}) err:(?P<err>[^ ]{1,3})"
)

ID_PATTERNS = {
    "decimal": re.compile(rb"[0-9]+"),
    "hex": re.compile(rb"[0-9a-f]+"),
    "uuid": re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"),
}


# -- PDU builders -------------------------------------------------------------------------


def bind(
    command_id: int = c.BIND_TRANSCEIVER,
    system_id: bytes = b"esme",
    password: bytes = b"pw",
    seq: int = 1,
) -> Pdu:
    return Pdu(
        command_id,
        seq,
        0,
        {"system_id": system_id, "password": password, "interface_version": 0x34},
    )


def submit(
    seq: int = 2,
    dest: bytes = b"4670000001",
    rd: int = 0,
    text: bytes = b"Hello world",
    source: bytes = b"12345",
) -> Pdu:
    return Pdu(
        c.SUBMIT_SM,
        seq,
        0,
        {
            "source_addr_ton": 5,
            "source_addr_npi": 0,
            "source_addr": source,
            "dest_addr_ton": 1,
            "dest_addr_npi": 1,
            "destination_addr": dest,
            "esm_class": 3,
            "registered_delivery": rd,
            "short_message": text,
        },
    )


def parse(data: bytes) -> list[Pdu]:
    """Every PDU in `data`; the simulator must only ever write well-formed ones."""
    framer = Framer()
    items = framer.feed(data)
    assert framer.buffered == 0, "trailing partial PDU"
    assert all(isinstance(item, Pdu) for item in items), items
    return [item for item in items if isinstance(item, Pdu)]


# -- in-memory harness (Clock + StringTransport) ------------------------------------------


class FakeEsme:
    """One ESME connection to a factory over a StringTransport."""

    def __init__(self, factory: SimulatorFactory, port: int = 40000) -> None:
        self.protocol: SmscProtocol = factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", port))
        self.transport = StringTransport(peerAddress=IPv4Address("TCP", "127.0.0.1", port))
        self.protocol.makeConnection(self.transport)

    def send(self, *pdus: Pdu) -> None:
        self.protocol.dataReceived(b"".join(encode(pdu) for pdu in pdus))

    def replies(self) -> list[Pdu]:
        data = self.transport.value()
        self.transport.clear()
        return parse(data)

    def bind(self, command_id: int = c.BIND_TRANSCEIVER, system_id: bytes = b"esme") -> None:
        self.send(bind(command_id, system_id))
        [resp] = self.replies()
        assert resp.command_status == 0

    def ack(self, delivers: list[Pdu], status: int = 0) -> None:
        self.send(*(Pdu(c.DELIVER_SM_RESP, d.sequence_number, status, {}) for d in delivers))

    def lose(self) -> None:
        self.protocol.connectionLost(Failure(ConnectionError("test")))


def simulator(clock: Clock, **settings_: Any) -> SimulatorFactory:
    factory = SimulatorFactory(SimulatorConfig(**settings_), clock=clock)
    factory.doStart()
    return factory


# -- TCP harness --------------------------------------------------------------------------


class RawEsme(Protocol):
    """A raw SMPP client over TCP: queues every PDU it receives, can ack deliver_sm."""

    def __init__(self, auto_ack: bool = True) -> None:
        self.framer = Framer()
        self.received: defer.DeferredQueue[Pdu | SmppError] = defer.DeferredQueue()
        self.closed: defer.Deferred[None] = defer.Deferred()
        self.auto_ack = auto_ack

    def dataReceived(self, data: bytes) -> None:
        for item in self.framer.feed(data):
            if self.auto_ack and isinstance(item, Pdu) and item.command_id == c.DELIVER_SM:
                self.send(Pdu(c.DELIVER_SM_RESP, item.sequence_number, 0, {}))
            self.received.put(item)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.closed.callback(None)

    def send(self, *pdus: Pdu) -> None:
        assert self.transport is not None
        self.transport.write(b"".join(encode(pdu) for pdu in pdus))

    async def next(self, timeout: float = TIMEOUT) -> Pdu:
        item = await self.received.get().addTimeout(timeout, reactor)
        assert isinstance(item, Pdu), item
        return item

    async def request(self, pdu: Pdu) -> Pdu:
        self.send(pdu)
        return await self.next()


class Tcp:
    """Listens with a config on 127.0.0.1:0 and connects raw clients; cleans up after."""

    def __init__(self) -> None:
        self.ports: list[IListeningPort] = []
        self.clients: list[RawEsme] = []

    def listen(self, **settings_: Any) -> SimulatorFactory:
        port = listen(reactor, SimulatorConfig(port=0, **settings_))
        self.ports.append(port)
        return port.factory  # type: ignore[attr-defined, no-any-return]

    async def connect(self, factory: SimulatorFactory, auto_ack: bool = True) -> RawEsme:
        port = next(p for p in self.ports if p.factory is factory)  # type: ignore[attr-defined]
        endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", port.getHost().port)
        client = RawEsme(auto_ack)
        await connectProtocol(endpoint, client).addTimeout(TIMEOUT, reactor)
        self.clients.append(client)
        return client

    async def close(self) -> None:
        for client in self.clients:
            if client.transport is not None and not client.closed.called:
                client.transport.abortConnection()
                await client.closed
        for port in self.ports:
            await port.stopListening()


@pytest.fixture
def tcp() -> Iterator[Tcp]:
    harness = Tcp()
    yield harness
    pytest_twisted.blockon(defer.ensureDeferred(harness.close()))


# -- binds --------------------------------------------------------------------------------


@pytest.mark.parametrize("command_id", [c.BIND_TRANSMITTER, c.BIND_RECEIVER, c.BIND_TRANSCEIVER])
@pytest_twisted.ensureDeferred
async def test_bind_with_good_credentials(tcp: Tcp, command_id: int) -> None:
    factory = tcp.listen(accounts=(("esme", "pw"),))
    client = await tcp.connect(factory)
    resp = await client.request(bind(command_id, b"esme", b"pw"))
    assert (resp.command_id, resp.command_status, resp.sequence_number) == (
        command_id | c.RESPONSE_BIT,
        0,
        1,
    )
    assert resp.get("system_id") == b"passerelle-sim"
    assert resp.tlv_value("sc_interface_version") == 0x34
    assert factory.counters.binds == 1


@pytest.mark.parametrize(
    ("system_id", "password", "status"),
    [(b"esme", b"wrong", c.ESME_RINVPASWD), (b"nobody", b"pw", c.ESME_RINVSYSID)],
)
@pytest_twisted.ensureDeferred
async def test_bind_with_bad_credentials_is_refused(
    tcp: Tcp, system_id: bytes, password: bytes, status: int
) -> None:
    factory = tcp.listen(accounts=(("esme", "pw"),))
    client = await tcp.connect(factory)
    resp = await client.request(bind(c.BIND_TRANSCEIVER, system_id, password))
    assert resp.command_status == status
    # Still unbound: a submit is refused.
    resp = await client.request(submit())
    assert resp.command_status == c.ESME_RINVBNDSTS
    assert factory.counters.bind_failures == 1 and factory.counters.accepted == 0


def test_bind_twice_and_submit_unbound() -> None:
    factory = simulator(Clock())
    esme = FakeEsme(factory)
    esme.send(submit(seq=1))
    [resp] = esme.replies()
    assert (resp.command_id, resp.command_status) == (c.SUBMIT_SM_RESP, c.ESME_RINVBNDSTS)
    esme.bind(c.BIND_RECEIVER)
    esme.send(submit(seq=3))  # a receiver may not submit
    assert esme.replies()[0].command_status == c.ESME_RINVBNDSTS
    esme.send(bind(seq=4))
    assert esme.replies()[0].command_status == c.ESME_RALYBND


@pytest_twisted.ensureDeferred
async def test_accepted_sockets_have_tcp_nodelay(tcp: Tcp) -> None:
    factory = tcp.listen()
    client = await tcp.connect(factory)
    await client.request(bind())
    [server] = factory.connections
    assert server.transport is not None
    handle = server.transport.getHandle()  # type: ignore[attr-defined]
    assert handle.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


# -- submits and message ids --------------------------------------------------------------


@pytest.mark.parametrize("id_format", ["decimal", "hex", "uuid"])
@pytest_twisted.ensureDeferred
async def test_submit_is_answered_with_an_id_in_the_configured_format(
    tcp: Tcp, id_format: str
) -> None:
    factory = tcp.listen(id_format=id_format)
    client = await tcp.connect(factory)
    await client.request(bind())
    client.send(*(submit(seq=10 + i) for i in range(20)))
    resps = [await client.next() for _ in range(20)]
    assert [r.sequence_number for r in resps] == list(range(10, 30))
    ids = [r.get("message_id") for r in resps]
    assert all(r.command_id == c.SUBMIT_SM_RESP and r.command_status == 0 for r in resps)
    assert all(ID_PATTERNS[id_format].fullmatch(i) for i in ids), ids
    assert len(set(ids)) == 20
    assert factory.counters.submits == factory.counters.accepted == 20


def test_message_ids_in_receipts_can_use_the_other_base() -> None:
    ids = MessageIds("hex", "decimal", start=255)
    number, message_id = ids.next()
    assert (number, message_id) == (255, b"ff")
    assert ids.receipt_id(number, message_id) == b"255"
    assert MessageIds("decimal", "same", start=7).next() == (7, b"7")
    with pytest.raises(ValueError, match="uuid"):
        SimulatorConfig(id_format="uuid", receipt_id_format="hex")


def test_default_ids_are_unique_across_runs() -> None:
    """Two runs in different seconds never hand out the same id (a DLR store outlives us)."""
    first = MessageIds()
    _n, message_id = first.next()
    assert len(message_id) >= 16
    assert MessageIds("uuid").next()[1] != MessageIds("uuid").next()[1]


def test_data_sm_and_submit_multi_are_answered() -> None:
    factory = simulator(Clock(), rejects=(("4678", c.ESME_RINVDSTADR),), dlr_delay=0)
    esme = FakeEsme(factory)
    esme.bind()
    data_sm = Pdu(
        c.DATA_SM,
        5,
        0,
        {"source_addr": b"1", "destination_addr": b"4670000001", "registered_delivery": 1},
    )
    data_sm.add_tlv("message_payload", b"payload text")
    multi = Pdu(
        c.SUBMIT_MULTI,
        6,
        0,
        {
            "source_addr": b"1",
            "dest_addresses": [(1, 1, 1, b"4670000001"), (1, 1, 1, b"4678000000"), (2, b"list")],
            "short_message": b"to many",
        },
    )
    esme.send(data_sm, multi)
    data_resp, multi_resp = esme.replies()
    assert (data_resp.command_id, data_resp.command_status) == (c.DATA_SM_RESP, 0)
    assert data_resp.get("message_id")
    assert (multi_resp.command_id, multi_resp.command_status) == (c.SUBMIT_MULTI_RESP, 0)
    assert multi_resp.get("message_id")
    assert multi_resp.get("unsuccess_smes") == [(1, 1, b"4678000000", c.ESME_RINVDSTADR)]
    factory.clock.advance(0)  # type: ignore[attr-defined]
    [receipt] = esme.replies()
    assert receipt.get("short_message").endswith(b"text:payload text")


def test_submit_multi_without_destinations_is_refused() -> None:
    esme = FakeEsme(simulator(Clock()))
    esme.bind()
    esme.send(Pdu(c.SUBMIT_MULTI, 2, 0, {"source_addr": b"1", "dest_addresses": []}))
    assert esme.replies()[0].command_status == c.ESME_RINVNUMDESTS


# -- receipts -----------------------------------------------------------------------------


def _check_receipt(pdu: Pdu, message_id: bytes, stat: bytes, state: int, text: bytes) -> None:
    assert pdu.command_id == c.DELIVER_SM
    assert pdu.get("esm_class") == 0x04
    sm = pdu.get("short_message")
    match = KANNEL_RECEIPT.match(sm)
    assert match is not None, sm
    assert (match["id"], match["sub"], match["stat"]) == (message_id, b"001", stat)
    assert match["dlvrd"] == (b"001" if stat == b"DELIVRD" else b"000")
    assert re.fullmatch(rb"[0-9]{10}", match["submit"]) and re.fullmatch(
        rb"[0-9]{10}", match["done"]
    )
    assert sm[match.end() :] == b" text:" + text[:20]
    assert pdu.tlv_value("receipted_message_id") == message_id
    assert pdu.tlv_value("message_state") == state
    # Swapped: the receipt comes from the handset back to the ESME.
    assert (pdu.get("source_addr_ton"), pdu.get("source_addr")) == (1, b"4670000001")
    assert (pdu.get("dest_addr_ton"), pdu.get("destination_addr")) == (5, b"12345")


@pytest_twisted.ensureDeferred
async def test_receipt_over_tcp_is_kannel_parseable(tcp: Tcp) -> None:
    factory = tcp.listen(dlr_delay=0.01)
    client = await tcp.connect(factory)
    await client.request(bind())
    resp = await client.request(submit(rd=1, text=b"A message longer than twenty octets"))
    receipt = await client.next()
    _check_receipt(
        receipt,
        resp.get("message_id"),
        b"DELIVRD",
        c.STATE_DELIVERED,
        b"A message longer than twenty octets",
    )
    assert receipt.tlv(c.TAG_NETWORK_ERROR_CODE) is None
    assert factory.counters.receipts_sent == 1
    await client.request(Pdu(c.ENQUIRE_LINK, 9))  # the auto-ack has arrived by now
    assert factory.counters.delivers_acked == 1


@pytest_twisted.ensureDeferred
async def test_rd_17_sends_intermediate_then_final(tcp: Tcp) -> None:
    """Kannel's dlr-mask 31 sets registered_delivery 17: ACCEPTD (d=4), then DELIVRD (d=1)."""
    factory = tcp.listen(dlr_delay=0.02)
    client = await tcp.connect(factory)
    await client.request(bind())
    resp = await client.request(submit(rd=17))
    message_id = resp.get("message_id")
    first, second = await client.next(), await client.next()
    _check_receipt(first, message_id, b"ACCEPTD", c.STATE_ACCEPTED, b"Hello world")
    _check_receipt(second, message_id, b"DELIVRD", c.STATE_DELIVERED, b"Hello world")
    assert second.sequence_number > first.sequence_number


@pytest_twisted.ensureDeferred
async def test_receipts_go_to_a_receiver_of_the_same_system_id(tcp: Tcp) -> None:
    """Kannel binds TX and RX separately: the receipt must find the RX of the same account."""
    factory = tcp.listen(dlr_delay=0.01)
    transmitter = await tcp.connect(factory)
    receiver = await tcp.connect(factory)
    stranger = await tcp.connect(factory)
    await transmitter.request(bind(c.BIND_TRANSMITTER, b"alpha"))
    await receiver.request(bind(c.BIND_RECEIVER, b"alpha"))
    await stranger.request(bind(c.BIND_RECEIVER, b"beta"))
    resp = await transmitter.request(submit(rd=1))
    receipt = await receiver.next()
    _check_receipt(receipt, resp.get("message_id"), b"DELIVRD", 2, b"Hello world")
    await stranger.request(Pdu(c.ENQUIRE_LINK, 7))
    assert stranger.received.pending == [] and transmitter.received.pending == []


def test_receipt_is_due_after_the_dlr_delay() -> None:
    clock = Clock()
    esme = FakeEsme(simulator(clock, dlr_delay=2.0))
    esme.bind()
    esme.send(submit(rd=1))
    [resp] = esme.replies()
    clock.advance(1.99)
    assert esme.replies() == []
    clock.advance(0.01)
    [receipt] = esme.replies()
    _check_receipt(receipt, resp.get("message_id"), b"DELIVRD", 2, b"Hello world")


def test_intermediate_receipt_comes_at_half_the_delay() -> None:
    clock = Clock()
    esme = FakeEsme(simulator(clock, dlr_delay=1.0))
    esme.bind()
    esme.send(submit(seq=2, rd=1))  # final only, due at 1.0
    clock.advance(0.2)
    esme.send(submit(seq=3, rd=0x10))  # intermediate only, due at 0.7: before the first
    esme.replies()
    clock.advance(0.5)
    [intermediate] = esme.replies()
    assert intermediate.tlv_value("message_state") == c.STATE_ACCEPTED
    clock.advance(0.3)
    [final] = esme.replies()
    assert final.tlv_value("message_state") == c.STATE_DELIVERED


def test_undeliverable_prefix_and_failure_only_receipts() -> None:
    """rd & 3 == 2 asks for failures only: UNDELIV comes, DELIVRD does not."""
    clock = Clock()
    factory = simulator(
        clock,
        dlr_delay=1.0,
        final_states=(
            ("4679", FinalState("UNDELIV", 1)),
            ("46799", FinalState("EXPIRED", 27)),
        ),
    )
    esme = FakeEsme(factory)
    esme.bind()
    esme.send(
        submit(seq=2, rd=2),
        submit(seq=3, rd=2, dest=b"4679000000"),
        submit(seq=4, rd=1, dest=b"4679900000"),
    )
    ids = [r.get("message_id") for r in esme.replies()]
    clock.advance(1.0)
    undeliverable, expired = esme.replies()
    match = KANNEL_RECEIPT.match(undeliverable.get("short_message"))
    assert match is not None
    assert (match["id"], match["stat"], match["err"]) == (ids[1], b"UNDELIV", b"001")
    assert undeliverable.tlv_value("message_state") == c.STATE_UNDELIVERABLE
    assert undeliverable.tlv(c.TAG_NETWORK_ERROR_CODE) == b"\x03\x00\x01"
    match = KANNEL_RECEIPT.match(expired.get("short_message"))  # the longest prefix wins
    assert match is not None
    assert (match["id"], match["stat"], match["err"]) == (ids[2], b"EXPIRED", b"027")
    assert expired.tlv(c.TAG_NETWORK_ERROR_CODE) == b"\x03\x00\x1b"
    assert factory.counters.receipts_scheduled == 2


def test_receipt_waits_for_a_receiver_to_bind() -> None:
    clock = Clock()
    factory = simulator(clock, dlr_delay=1.0)
    transmitter = FakeEsme(factory, 40001)
    transmitter.bind(c.BIND_TRANSMITTER)
    transmitter.send(submit(rd=1))
    transmitter.replies()
    clock.advance(5)
    assert transmitter.replies() == []
    assert len(factory.accounts[b"esme"].outbox) == 1
    receiver = FakeEsme(factory, 40002)
    receiver.send(bind(c.BIND_RECEIVER))
    bind_resp, receipt = receiver.replies()
    assert bind_resp.command_status == 0 and receipt.command_id == c.DELIVER_SM


def test_unacknowledged_receipts_are_redelivered_after_a_disconnect() -> None:
    clock = Clock()
    factory = simulator(clock, dlr_delay=0)
    first = FakeEsme(factory, 40001)
    first.bind()
    first.send(submit(seq=2, rd=1), submit(seq=3, rd=1))
    first.replies()
    clock.advance(0)
    one, two = first.replies()
    first.ack([one])
    first.lose()
    assert factory.counters.delivers_requeued == 1
    second = FakeEsme(factory, 40002)
    second.send(bind())
    _bind_resp, again = second.replies()
    assert again.get("short_message") == two.get("short_message")


def test_deliver_window_holds_receipts_until_acked() -> None:
    clock = Clock()
    factory = simulator(clock, dlr_delay=0, deliver_window=2)
    esme = FakeEsme(factory)
    esme.bind()
    esme.send(*(submit(seq=s, rd=1) for s in range(2, 7)))
    esme.replies()
    clock.advance(0)
    sent = esme.replies()
    assert len(sent) == 2
    esme.ack(sent[:1])
    assert len(esme.replies()) == 1
    assert len(factory.accounts[b"esme"].outbox) == 2


def test_temporary_error_gets_the_receipt_sent_again_after_the_retry_delay() -> None:
    clock = Clock()
    factory = simulator(clock, dlr_delay=0, deliver_retry_delay=3.0)
    esme = FakeEsme(factory)
    esme.bind()
    esme.send(submit(seq=2, rd=1), submit(seq=3, rd=1))
    esme.replies()
    clock.advance(0)
    first, second = esme.replies()
    esme.ack([first], status=c.ESME_RX_T_APPN)
    esme.ack([second], status=c.ESME_RINVDSTADR)  # permanent: never again
    clock.advance(2.9)
    assert esme.replies() == []
    clock.advance(0.1)
    (again,) = esme.replies()
    assert again.get("short_message") == first.get("short_message")
    assert factory.counters.delivers_retried == 1
    assert factory.counters.delivers_failed == 2


def test_pending_queue_is_bounded() -> None:
    clock = Clock()
    factory = simulator(clock, dlr_delay=0, max_pending=2)
    esme = FakeEsme(factory)
    esme.bind(c.BIND_TRANSMITTER)
    esme.send(*(submit(seq=s, rd=1) for s in range(2, 6)))
    clock.advance(0)
    assert len(factory.accounts[b"esme"].outbox) == 2
    assert factory.counters.delivers_dropped == 2


def test_receipt_body_matches_the_codec() -> None:
    """The hand-built receipt bytes decode to exactly what `encode` would have sent."""
    state = FinalState("UNDELIV", 258)
    body = receipt_body(
        b"abc123", (1, 1, b"4670000001"), (5, 0, b"Brand"), 0.0, 61.0, state_parts(state), b"hi"
    )
    pdu = decode(HEADER.pack(16 + len(body), c.DELIVER_SM, 0, 7) + body)
    expected = Pdu(
        c.DELIVER_SM,
        7,
        0,
        {
            "source_addr_ton": 1,
            "source_addr_npi": 1,
            "source_addr": b"4670000001",
            "dest_addr_ton": 5,
            "dest_addr_npi": 0,
            "destination_addr": b"Brand",
            "esm_class": 4,
            "short_message": b"id:abc123 sub:001 dlvrd:000 submit date:7001010000 "
            b"done date:7001010001 stat:UNDELIV err:258 text:hi",
        },
    )
    expected.add_tlv("receipted_message_id", b"abc123")
    expected.add_tlv("message_state", c.STATE_UNDELIVERABLE)
    expected.add_tlv("network_error_code", b"\x03\x01\x02")
    assert pdu == expected
    assert encode(pdu) == encode(expected)


@settings(max_examples=200, deadline=None)
@given(
    receipt_id=st.binary(min_size=1, max_size=64).filter(lambda b: b" " not in b),
    text=st.binary(max_size=20),
    submitted=st.floats(min_value=0, max_value=4e9),
    stat=st.sampled_from(["DELIVRD", "UNDELIV", "EXPIRED", "ACCEPTD", "REJECTD"]),
    err=st.integers(0, 999),
)
def test_receipt_text_always_parses_like_kannel(
    receipt_id: bytes, text: bytes, submitted: float, stat: str, err: int
) -> None:
    sm = receipt_text(receipt_id, submitted, submitted + 90, FinalState(stat, err), text)
    match = KANNEL_RECEIPT.match(sm)
    assert match is not None
    assert (match["id"], match["stat"], match["err"]) == (receipt_id, stat.encode(), b"%03d" % err)
    assert len(sm) <= 254


# -- error injection ----------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_reject_prefix_answers_with_its_status(tcp: Tcp) -> None:
    factory = tcp.listen(rejects=(("4678", c.ESME_RINVDSTADR), ("46789", 0x45)), dlr_delay=0)
    client = await tcp.connect(factory)
    await client.request(bind())
    rejected = await client.request(submit(seq=2, dest=b"4678000000", rd=1))
    longest = await client.request(submit(seq=3, dest=b"4678900000", rd=1))
    accepted = await client.request(submit(seq=4, dest=b"4670000000"))
    assert (rejected.command_status, longest.command_status, accepted.command_status) == (
        c.ESME_RINVDSTADR,
        0x45,
        0,
    )
    assert rejected.get("message_id") == b""
    assert factory.counters.rejected == 2 and factory.counters.receipts_scheduled == 0


def test_throttle_refuses_beyond_n_per_second() -> None:
    clock = Clock()
    factory = simulator(clock, throttle=3)
    esme = FakeEsme(factory)
    esme.bind()
    esme.send(*(submit(seq=s) for s in range(2, 7)))
    statuses = [r.command_status for r in esme.replies()]
    assert statuses == [0, 0, 0, c.ESME_RTHROTTLED, c.ESME_RTHROTTLED]
    clock.advance(0.999)
    esme.send(submit(seq=7))
    assert esme.replies()[0].command_status == c.ESME_RTHROTTLED
    clock.advance(0.001)
    esme.send(submit(seq=8))
    assert esme.replies()[0].command_status == 0
    assert factory.counters.throttled == 3


def test_throttle_is_per_system_id() -> None:
    clock = Clock()
    factory = simulator(clock, throttle=1)
    alpha, beta = FakeEsme(factory, 1), FakeEsme(factory, 2)
    alpha.bind(system_id=b"alpha")
    beta.bind(system_id=b"beta")
    alpha.send(submit(seq=2), submit(seq=3))
    beta.send(submit(seq=2))
    assert [r.command_status for r in alpha.replies()] == [0, c.ESME_RTHROTTLED]
    assert [r.command_status for r in beta.replies()] == [0]


def test_resp_delay_answers_late_and_receipts_follow_the_response() -> None:
    clock = Clock()
    esme = FakeEsme(simulator(clock, resp_delay=2.0, dlr_delay=0))
    esme.bind()
    esme.send(submit(rd=1), Pdu(c.ENQUIRE_LINK, 3))
    [enquire_resp] = esme.replies()  # only submits are slow
    assert enquire_resp.command_id == c.ENQUIRE_LINK_RESP
    clock.advance(1.9)
    assert esme.replies() == []
    clock.advance(0.1)
    resp, receipt = esme.replies()
    assert resp.command_id == c.SUBMIT_SM_RESP and receipt.command_id == c.DELIVER_SM


def test_drop_every_closes_connections_periodically() -> None:
    clock = Clock()
    factory = simulator(clock, drop_every=10)
    esmes = [FakeEsme(factory, 1), FakeEsme(factory, 2)]
    clock.advance(9.9)
    assert not any(e.transport.disconnecting for e in esmes)
    clock.advance(0.1)
    assert all(e.transport.disconnecting for e in esmes)
    assert factory.counters.drops == 2
    factory.doStop()


# -- garbage, enquire_link, unbind --------------------------------------------------------


def test_unknown_command_gets_generic_nack_and_the_session_goes_on() -> None:
    factory = simulator(Clock())
    esme = FakeEsme(factory)
    esme.bind()
    esme.protocol.dataReceived(HEADER.pack(16, 0x00000999, 0, 42))
    esme.send(Pdu(c.ENQUIRE_LINK, 43))
    nack, enquire_resp = esme.replies()
    assert (nack.command_id, nack.command_status, nack.sequence_number) == (
        c.GENERIC_NACK,
        c.ESME_RINVCMDID,
        42,
    )
    assert (enquire_resp.command_id, enquire_resp.sequence_number) == (c.ENQUIRE_LINK_RESP, 43)
    assert not esme.transport.disconnecting
    assert factory.counters.generic_nacks == 1 and factory.counters.enquire_links == 1


def test_malformed_submit_gets_its_own_error_response() -> None:
    esme = FakeEsme(simulator(Clock()))
    esme.bind()
    esme.protocol.dataReceived(HEADER.pack(20, c.SUBMIT_SM, 0, 5) + b"abcd")  # no NULs
    [resp] = esme.replies()
    assert (resp.command_id, resp.sequence_number) == (c.SUBMIT_SM_RESP, 5)
    assert resp.command_status != 0


@pytest_twisted.ensureDeferred
async def test_fatal_framing_error_gets_generic_nack_then_close(tcp: Tcp) -> None:
    factory = tcp.listen()
    client = await tcp.connect(factory)
    await client.request(bind())
    assert client.transport is not None
    client.transport.write(HEADER.pack(8, c.SUBMIT_SM, 0, 77))  # command_length < 16
    nack = await client.next()
    assert (nack.command_id, nack.command_status) == (c.GENERIC_NACK, c.ESME_RINVCMDLEN)
    await client.closed.addTimeout(TIMEOUT, reactor)


def test_enquire_link_and_unbind() -> None:
    factory = simulator(Clock())
    esme = FakeEsme(factory)
    esme.send(Pdu(c.ENQUIRE_LINK, 1))  # allowed before binding too
    assert esme.replies()[0].command_id == c.ENQUIRE_LINK_RESP
    esme.bind()
    esme.send(Pdu(c.UNBIND, 5))
    [resp] = esme.replies()
    assert (resp.command_id, resp.sequence_number) == (c.UNBIND_RESP, 5)
    assert esme.transport.disconnecting
    assert factory.accounts[b"esme"].receivers == []


def test_refused_operations_say_why() -> None:
    esme = FakeEsme(simulator(Clock()))
    esme.bind()
    esme.send(
        Pdu(c.QUERY_SM, 2, 0, {"message_id": b"1"}),
        Pdu(c.DELIVER_SM, 3, 0, {}),
        Pdu(c.SUBMIT_SM_RESP, 4, 0, {"message_id": b"x"}),
    )
    query, deliver = esme.replies()  # the stray response is ignored
    assert (query.command_id, query.command_status) == (c.QUERY_SM_RESP, c.ESME_RQUERYFAIL)
    assert (deliver.command_id, deliver.command_status) == (c.DELIVER_SM_RESP, c.ESME_RINVBNDSTS)


@settings(max_examples=300, deadline=None)
@given(chunks=st.lists(st.binary(max_size=80), max_size=8), bound=st.booleans())
def test_any_bytes_never_raise_and_only_well_formed_pdus_come_back(
    chunks: list[bytes], bound: bool
) -> None:
    esme = FakeEsme(simulator(Clock(), dlr_delay=0))
    if bound:
        esme.bind()
    for chunk in chunks:
        esme.protocol.dataReceived(chunk)  # must not raise
    parse(esme.transport.value())


# -- MO -----------------------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_send_mo_reaches_a_bound_receiver(tcp: Tcp) -> None:
    factory = tcp.listen()
    assert factory.send_mo("+4670000001", "12345", b"nobody listens") is False
    client = await tcp.connect(factory)
    await client.request(bind(c.BIND_RECEIVER))
    assert factory.send_mo(
        "+4670000001",
        "12345",
        b"\x00\x48\x00\x69",
        data_coding=8,
        tlvs=((c.TAG_SOURCE_PORT, b"\x00\x10"),),
    )
    mo = await client.next()
    assert mo.command_id == c.DELIVER_SM and mo.get("esm_class") == 0
    assert (mo.get("source_addr_ton"), mo.get("source_addr")) == (1, b"4670000001")
    assert mo.get("destination_addr") == b"12345"
    assert (mo.get("data_coding"), mo.get("short_message")) == (8, b"\x00\x48\x00\x69")
    assert mo.tlv_value("source_port") == 0x10
    long_text = b"x" * 300
    assert factory.send_mo("Brand", "12345", long_text)
    long_mo = await client.next()
    assert long_mo.get("short_message") == b""
    assert long_mo.tlv_value("message_payload") == long_text
    assert (long_mo.get("source_addr_ton"), long_mo.get("source_addr_npi")) == (5, 0)
    await client.request(Pdu(c.ENQUIRE_LINK, 9))
    assert factory.counters.mo_sent == 2 and factory.counters.delivers_acked == 2


def test_mo_for_a_system_id_waits_for_its_receiver() -> None:
    factory = simulator(Clock())
    assert factory.send_mo("4670000001", "12345", b"later", system_id="esme")
    esme = FakeEsme(factory)
    esme.send(bind(c.BIND_TRANSCEIVER))
    _resp, mo = esme.replies()
    assert mo.get("short_message") == b"later"


def test_mo_every_sends_periodic_traffic() -> None:
    clock = Clock()
    factory = simulator(clock, mo_every=5, mo_from="+4670000009", mo_to="777", mo_text="Ping")
    clock.advance(5)  # nobody bound yet: dropped, counted
    assert factory.counters.delivers_dropped == 1
    esme = FakeEsme(factory)
    esme.bind(c.BIND_RECEIVER)
    clock.advance(5)
    [mo] = esme.replies()
    assert (mo.get("source_addr"), mo.get("destination_addr"), mo.get("short_message")) == (
        b"4670000009",
        b"777",
        b"Ping",
    )


# -- the JSON-lines log -------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_json_log_has_one_line_per_pdu(tcp: Tcp, tmp_path: Path) -> None:
    path = tmp_path / "sim.jsonl"
    factory = tcp.listen(log_path=str(path), record=100, dlr_delay=0)
    client = await tcp.connect(factory)
    await client.request(bind())
    resp = await client.request(submit(rd=1, text=b"Hi"))
    await client.next()  # the receipt
    await client.request(Pdu(c.ENQUIRE_LINK, 9))  # the receipt's ack is logged by now
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    commands = [(line["dir"], line.get("command")) for line in lines]
    assert commands == [
        ("conn", None),
        ("in", "bind_transceiver"),
        ("out", "bind_transceiver_resp"),
        ("in", "submit_sm"),
        ("out", "submit_sm_resp"),
        ("out", "deliver_sm"),
        ("in", "deliver_sm_resp"),
        ("in", "enquire_link"),
        ("out", "enquire_link_resp"),
    ]
    submit_line = lines[3]
    assert submit_line["source"] == "12345" and submit_line["dest"] == "4670000001"
    assert submit_line["text_hex"] == b"Hi".hex() and submit_line["registered_delivery"] == 1
    assert lines[4]["message_id"] == resp.get("message_id").decode()
    assert lines[5]["receipted_message_id"] == lines[4]["message_id"]
    assert all({"ts", "peer", "seq", "status"} <= set(line) for line in lines[1:])
    assert factory.journal is not None and factory.journal.records is not None
    assert [r["dir"] for r in factory.journal.records] == [line["dir"] for line in lines]


def test_no_log_no_journal() -> None:
    assert simulator(Clock()).journal is None


def test_log_is_rotated_at_its_size_cap(tmp_path: Path) -> None:
    path = tmp_path / "sim.jsonl"
    factory = simulator(Clock(), log_path=str(path), log_max_bytes=1000)
    esme = FakeEsme(factory)
    esme.bind()
    for seq in range(2, 30):
        esme.send(Pdu(c.ENQUIRE_LINK, seq))
    factory.doStop()
    assert path.stat().st_size <= 1000
    assert Path(str(path) + ".1").exists()


# -- command line -------------------------------------------------------------------------


def test_command_line_builds_the_config() -> None:
    config = config_from_args(
        [
            "--port",
            "0",
            "--account",
            "esme:pa:ss",
            "--id-format",
            "hex",
            "--dlr-delay",
            "0.5",
            "--undeliverable",
            "4679",
            "--final-state",
            "4677:expired:027",
            "--reject",
            "4678:0x0B",
            "--reject",
            "4676:69",
            "--throttle",
            "100",
            "--drop-every",
            "30",
            "--resp-delay",
            "0.1",
            "--mo-every",
            "2",
            "--mo-from",
            "X",
            "--mo-to",
            "Y",
            "--mo-text",
            "T",
            "--log",
            "-",
        ]
    )
    assert config == SimulatorConfig(
        port=0,
        accounts=(("esme", "pa:ss"),),
        id_format="hex",
        dlr_delay=0.5,
        final_states=(("4679", FinalState("UNDELIV", 1)), ("4677", FinalState("EXPIRED", 27))),
        rejects=(("4678", 0x0B), ("4676", 69)),
        throttle=100,
        drop_every=30.0,
        resp_delay=0.1,
        mo_every=2.0,
        mo_from="X",
        mo_to="Y",
        mo_text="T",
        log_path="-",
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["--reject", "4678"],
        ["--reject", "4678:0"],
        ["--final-state", "1:NOPE"],
        ["--dlr-delay", "-1"],
        ["--account", "nopassword"],
        ["--id-format", "octal"],
    ],
)
def test_bad_options_exit_with_status_2(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert "error" in capsys.readouterr().err


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for option in ("--id-format", "--dlr-delay", "--reject", "--throttle", "--mo-every", "--log"):
        assert option in out


def test_python_dash_m_runs_the_simulator(tmp_path: Path) -> None:
    """The subprocess form benchmarks and the Kannel test use: ready line, answers, SIGTERM."""
    process = subprocess.Popen(
        [sys.executable, "-m", "protocols.smpp.simulator", "--port", "0", "--id-format", "hex"],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        ready = re.search(r"listening on 127\.0\.0\.1:(\d+)", process.stderr.readline())
        assert ready is not None
        with socket.create_connection(("127.0.0.1", int(ready.group(1))), timeout=5) as sock:
            sock.sendall(encode(bind()) + encode(submit()))
            data = b""
            while len(parse_prefix(data)) < 2:
                chunk = sock.recv(4096)
                assert chunk
                data += chunk
        bind_resp, resp = parse_prefix(data)
        assert bind_resp.command_status == 0 and ID_PATTERNS["hex"].fullmatch(
            resp.get("message_id")
        )
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=10)
        assert process.returncode == 0
        counters = json.loads(err.strip().splitlines()[-1])["counters"]
        assert counters["accepted"] == 1
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def parse_prefix(data: bytes) -> list[Pdu]:
    """Whole PDUs at the start of `data` (a socket read may end mid-PDU)."""
    return [item for item in Framer().feed(data) if isinstance(item, Pdu)]
