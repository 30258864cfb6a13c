"""The SMSC simulator's Twisted side: one `SmscProtocol` per ESME connection, one factory.

The factory owns everything that outlives a connection: message ids, counters, the
receipt timeline and, per system_id, the bound receivers and the queue of deliver_sm
(receipts and MOs) waiting for one of them. Receipts may be due on a connection other
than the one the submit came on (Kannel binds a transmitter and a receiver separately),
and they survive a dropped receiver: unacknowledged ones go back to the front of the
queue, as a real SMSC redelivers them.

Speed: a benchmark drives ≥30,000 submit_sm/s through one simulator process. So the
submit path does no per-PDU allocation beyond the framer's decode and one `bytes` for the
response, writes once per socket read, and creates no timers per message: receipts sit in
two time-ordered deques drained by a single timer. Logging, throttling and prefix tables
cost nothing when they are not configured.
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass
from struct import Struct
from typing import Any, cast

from twisted.internet.interfaces import (
    IAddress,
    IDelayedCall,
    IListeningPort,
    IReactorTCP,
    IReactorTime,
)
from twisted.internet.protocol import Protocol, ServerFactory, connectionDone
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from twisted.python.failure import Failure

from protocols.smpp import constants as c
from protocols.smpp.framer import Framer
from protocols.smpp.pdu import Pdu, SmppError, encode, error_reply
from protocols.smpp.simulator.config import DELIVERED, FinalState, SimulatorConfig
from protocols.smpp.simulator.journal import PduJournal
from protocols.smpp.simulator.receipts import (
    ACCEPTED,
    Address,
    MessageIds,
    StateParts,
    deliver_sm_body,
    message_text,
    receipt_body,
    state_parts,
)

_log = Logger()

_HEADER = Struct(">IIII")
_TLV_HEAD = Struct(">HH")

#: Receipts due within this many seconds of each other go out in one timer call.
TICK = 0.005

# Bind modes, as bit sets of what the session may do.
CAN_SUBMIT = 1
CAN_RECEIVE = 2
_BIND_MODES: dict[int, int] = {
    c.BIND_TRANSMITTER: CAN_SUBMIT,
    c.BIND_RECEIVER: CAN_RECEIVE,
    c.BIND_TRANSCEIVER: CAN_SUBMIT | CAN_RECEIVE,
}
# Requests the simulator can only refuse; the status says why.
_REFUSED: dict[int, int] = {
    c.QUERY_SM: c.ESME_RQUERYFAIL,
    c.CANCEL_SM: c.ESME_RCANCELFAIL,
    c.REPLACE_SM: c.ESME_RREPLACEFAIL,
}

# What an outgoing deliver_sm carries, for the counters.
_RECEIPT = 0
_MO = 1

#: A deliver_sm waiting for or awaiting the ack of a receiver: (kind, body, log fields).
Delivery = tuple[int, bytes, dict[str, Any] | None]


@dataclass(slots=True)
class SimulatorCounters:
    """What the simulator has seen and done since it started; read by tests and benchmarks."""

    #: TCP connections accepted.
    connections: int = 0
    #: Successful bind_* (all three kinds).
    binds: int = 0
    #: bind_* answered with an error (bad credentials, already bound).
    bind_failures: int = 0
    #: submit_sm, data_sm and submit_multi received, whatever the answer.
    submits: int = 0
    #: Submits answered ESME_ROK with a message id.
    accepted: int = 0
    #: Submits answered with a `--reject` status.
    rejected: int = 0
    #: Submits answered ESME_RTHROTTLED.
    throttled: int = 0
    #: Receipts (intermediate and final) put on the timeline.
    receipts_scheduled: int = 0
    #: deliver_sm receipts written to a receiver, redeliveries included.
    receipts_sent: int = 0
    #: deliver_sm MOs written to a receiver, redeliveries included.
    mo_sent: int = 0
    #: deliver_sm_resp (or generic_nack) received for our deliver_sm.
    delivers_acked: int = 0
    #: ...of which with a non-zero command_status.
    delivers_failed: int = 0
    #: Unacknowledged deliver_sm put back in the queue when their receiver went away.
    delivers_requeued: int = 0
    #: deliver_sm answered with a temporary error and scheduled to be sent again.
    delivers_retried: int = 0
    #: Receipts and MOs dropped: the queue was full, or no receiver was bound for an MO.
    delivers_dropped: int = 0
    #: generic_nack sent (garbage, unknown commands).
    generic_nacks: int = 0
    enquire_links: int = 0
    unbinds: int = 0
    #: Connections closed by `--drop-every` (or `drop_connections`).
    drops: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counters as a plain dict (for JSON output and assertions)."""
        return asdict(self)


#: deliver_sm_resp statuses that mean "send it again later" (the ESME could not take it now).
RETRY_STATUSES = frozenset(
    {c.ESME_RX_T_APPN, c.ESME_RMSGQFUL, c.ESME_RTHROTTLED, c.ESME_RSYSERR}
)


class Account:
    """Per-system_id state: its bound receivers, its deliver_sm queue, its throttle window."""

    __slots__ = ("system_id", "receivers", "outbox", "turn", "window_start", "window_count")

    def __init__(self, system_id: bytes) -> None:
        self.system_id = system_id
        self.receivers: list[SmscProtocol] = []
        self.outbox: deque[Delivery] = deque()
        self.turn = 0
        self.window_start = float("-inf")
        self.window_count = 0


#: A receipt on the timeline: (due, account, receipt id, its source, its destination,
#: submit time, first 20 octets of text, the state's precomputed parts).
_Scheduled = tuple[float, Account, bytes, Address, Address, float, bytes, StateParts]


def _text(value: bytes) -> str:
    return value.decode("utf-8", "backslashreplace")


def _header(length: int, command_id: int, status: int, seq: int) -> bytes:
    return _HEADER.pack(length, command_id, status, seq)


def mo_address(address: bytes) -> Address:
    """TON/NPI for an MO address: `+digits` international, digits as-is, else alphanumeric.

    Plain digits get TON 0 (unknown) so that Kannel passes them through unchanged (it
    prefixes `+` to TON-1 senders).
    """
    if address[:1] == b"+" and address[1:].isdigit():
        return (1, 1, address[1:])
    if address.isdigit():
        return (0, 1, address)
    return (5, 0, address)


def _source(params: dict[str, Any]) -> Address:
    return (
        params.get("source_addr_ton", 0),
        params.get("source_addr_npi", 0),
        params.get("source_addr", b""),
    )


def _destinations(pdu: Pdu) -> list[Address]:
    """The SME destinations of a submit (distribution lists of submit_multi are skipped)."""
    params = pdu.params
    if pdu.command_id == c.SUBMIT_MULTI:
        return [(d[1], d[2], d[3]) for d in params.get("dest_addresses", []) if d[0] == 1]
    return [
        (
            params.get("dest_addr_ton", 0),
            params.get("dest_addr_npi", 0),
            params.get("destination_addr", b""),
        )
    ]


def _text_of(pdu: Pdu) -> bytes:
    params = pdu.params
    return message_text(
        params.get("short_message", b""),
        pdu.tlv(c.TAG_MESSAGE_PAYLOAD),
        params.get("esm_class", 0),
    )


class SmscProtocol(Protocol):
    """One ESME connection: binds, answers submits, carries receipts and MOs out.

    Sans surprises for the peer: every request gets an answer (its _resp, or a
    generic_nack for garbage), a fatal framing error gets a generic_nack and a close, and
    no exception ever leaves `dataReceived`.
    """

    factory: SimulatorFactory

    def __init__(self, factory: SimulatorFactory) -> None:
        self.factory = factory
        config = factory.config
        self.mode = 0
        self.system_id = b""
        self.account: Account | None = None
        self.peer = "?"
        self._framer = Framer(config.max_pdu_length)
        self._resp_delay = config.resp_delay
        self._journal = factory.journal
        self._seq = 0
        #: Our deliver_sm not yet answered, by sequence number, in the order sent.
        self._unacked: dict[int, Delivery] = {}
        self._wants_pump = False
        self._lost = False
        #: Set by unbind: close once the current batch of responses is written.
        self._closing = False
        #: While responses are held back (`resp_delay`), the receipts they will start.
        self._held: list[tuple[Any, ...]] | None = None

    # -- connection events ------------------------------------------------------------

    def connectionMade(self) -> None:
        transport = self.transport
        assert transport is not None
        try:
            # Responses are written in batches already; Nagle would only add latency.
            transport.setTcpNoDelay(True)  # type: ignore[attr-defined]
        except (AttributeError, OSError):
            pass  # not a TCP transport (tests use StringTransport)
        self.peer = _peer_name(transport.getPeer())
        self.factory.connections.add(self)
        self.factory.counters.connections += 1
        if self._journal is not None:
            self._journal.write({"dir": "conn", "peer": self.peer, "event": "connected"})
            self._journal.flush()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self._lost = True
        self.factory.connections.discard(self)
        self._detach()
        if self._journal is not None:
            self._journal.write({"dir": "conn", "peer": self.peer, "event": "disconnected"})
            self._journal.flush()

    def _detach(self) -> None:
        """Stop receiving: leave the account's receivers, hand unacked deliveries back."""
        account = self.account
        if account is None or not self.mode & CAN_RECEIVE:
            return
        self.mode &= ~CAN_RECEIVE
        if self in account.receivers:
            account.receivers.remove(self)
        if self._unacked:
            pending = list(self._unacked.values())
            self._unacked.clear()
            account.outbox.extendleft(reversed(pending))
            self.factory.counters.delivers_requeued += len(pending)
            self.factory.pump(account)

    # -- input ------------------------------------------------------------------------

    def dataReceived(self, data: bytes) -> None:
        try:
            self._receive(data)
        except Exception:
            # Unreachable by design; if it happens the stream state is unknown, so close.
            _log.failure("smsc-sim: unexpected error on {peer}", peer=self.peer)
            if self.transport is not None:
                self.transport.loseConnection()

    def _receive(self, data: bytes) -> None:
        out: list[bytes] = []
        # Submit responses go to `slow`, which is `out` unless they are to be delayed.
        slow: list[bytes] = out
        if self._resp_delay:
            slow = []
            self._held = []
        for item in self._framer.feed(data):
            if self._closing:
                break  # nothing after an unbind counts
            if item.__class__ is not Pdu:
                self._refuse(cast(SmppError, item), out)
                continue
            pdu = cast(Pdu, item)
            command_id = pdu.command_id
            try:
                if command_id == c.SUBMIT_SM:
                    self._submit_sm(pdu, slow)
                elif command_id == c.DELIVER_SM_RESP:
                    self._delivered(pdu)
                else:
                    self._dispatch(pdu, out, slow)
            except Exception:
                _log.failure("smsc-sim: cannot handle {pdu!r} from {peer}", pdu=pdu, peer=self.peer)
                if not command_id & c.RESPONSE_BIT and command_id not in c.UNANSWERED:
                    out.append(
                        _header(
                            16, command_id | c.RESPONSE_BIT, c.ESME_RSYSERR, pdu.sequence_number
                        )
                    )
        transport = self.transport
        assert transport is not None
        if out:
            transport.write(b"".join(out))
        if slow is not out:
            held, self._held = self._held, None
            if slow:
                self.factory.clock.callLater(
                    self._resp_delay, self._write_late, b"".join(slow), held or []
                )
        if self._framer.broken or self._closing:
            transport.loseConnection()
        if self._wants_pump:
            self._wants_pump = False
            if self.account is not None:
                self.factory.pump(self.account)
        if self._journal is not None:
            self._journal.flush()

    def _write_late(self, data: bytes, receipts: list[tuple[Any, ...]]) -> None:
        """Write held-back responses; only now do their receipts' delays start."""
        if self._lost or self.transport is None:
            return  # the ESME never learnt these ids: no receipts either
        self.transport.write(data)
        for args in receipts:
            self.factory.schedule_receipts(*args)

    def _schedule_receipts(self, *args: Any) -> None:
        """Receipts start when the response is written: now, or when a held one goes out."""
        if self._held is not None:
            self._held.append(args)
        else:
            self.factory.schedule_receipts(*args)

    def _dispatch(self, pdu: Pdu, out: list[bytes], slow: list[bytes]) -> None:
        command_id = pdu.command_id
        seq = pdu.sequence_number
        journal = self._journal
        if journal is not None:
            entry: dict[str, Any] = {
                "dir": "in",
                "peer": self.peer,
                "command": pdu.name,
                "seq": seq,
                "status": pdu.command_status,
            }
            if command_id in _BIND_MODES:
                entry["system_id"] = _text(pdu.get("system_id", b""))
            if command_id not in (c.DATA_SM, c.SUBMIT_MULTI):
                journal.write(entry)
        if command_id == c.ENQUIRE_LINK:
            self.factory.counters.enquire_links += 1
            self._answer(out, c.ENQUIRE_LINK_RESP, 0, seq)
        elif command_id in _BIND_MODES:
            self._bind(pdu, out)
        elif command_id == c.DATA_SM:
            self._submit_sm(pdu, slow, c.DATA_SM_RESP)
        elif command_id == c.SUBMIT_MULTI:
            self._submit_multi(pdu, slow)
        elif command_id == c.UNBIND:
            self.factory.counters.unbinds += 1
            self._detach()
            self.mode = 0
            self._answer(out, c.UNBIND_RESP, 0, seq)
            self._closing = True
        elif command_id == c.GENERIC_NACK:
            self._delivered(pdu)  # the ESME refused one of our deliver_sm
        elif command_id & c.RESPONSE_BIT or command_id in c.UNANSWERED:
            pass  # enquire_link_resp, unbind_resp, stray responses, outbind, alerts
        elif command_id in _REFUSED:
            status = _REFUSED[command_id] if self.mode else c.ESME_RINVBNDSTS
            self._answer(out, command_id | c.RESPONSE_BIT, status, seq)
        else:
            # deliver_sm and anything else an ESME has no business sending to an SMSC.
            self._answer(out, command_id | c.RESPONSE_BIT, c.ESME_RINVBNDSTS, seq)

    def _answer(self, out: list[bytes], command_id: int, status: int, seq: int) -> None:
        """A response with an empty body."""
        out.append(_header(16, command_id, status, seq))
        if self._journal is not None:
            self._journal.write(
                {
                    "dir": "out",
                    "peer": self.peer,
                    "command": c.COMMAND_NAMES[command_id],
                    "seq": seq,
                    "status": status,
                }
            )

    def _refuse(self, error: SmppError, out: list[bytes]) -> None:
        """Answer a PDU the framer could not accept (the framer marks fatal ones)."""
        reply = error_reply(error)
        out.append(encode(reply))
        if reply.command_id == c.GENERIC_NACK:
            self.factory.counters.generic_nacks += 1
        if error.command_id == c.DELIVER_SM_RESP:
            self._unacked_done(error.sequence_number, error.status)
        if self._journal is not None:
            command = (
                c.COMMAND_NAMES.get(error.command_id, f"0x{error.command_id:08x}")
                if error.command_id is not None
                else None
            )
            self._journal.write(
                {
                    "dir": "in",
                    "peer": self.peer,
                    "command": command,
                    "seq": error.sequence_number,
                    "status": error.status,
                    "error": error.message,
                    "fatal": error.fatal,
                }
            )
            self._journal.write(
                {
                    "dir": "out",
                    "peer": self.peer,
                    "command": reply.name,
                    "seq": reply.sequence_number,
                    "status": reply.command_status,
                }
            )

    # -- binds ------------------------------------------------------------------------

    def _bind(self, pdu: Pdu, out: list[bytes]) -> None:
        factory = self.factory
        system_id: bytes = pdu.get("system_id", b"")
        if self.mode:
            status = c.ESME_RALYBND
        else:
            status = factory.check_credentials(system_id, pdu.get("password", b""))
        body = factory.bind_resp_body
        resp_id = pdu.command_id | c.RESPONSE_BIT
        out.append(_header(16 + len(body), resp_id, status, pdu.sequence_number) + body)
        if self._journal is not None:
            self._journal.write(
                {
                    "dir": "out",
                    "peer": self.peer,
                    "command": c.COMMAND_NAMES[resp_id],
                    "seq": pdu.sequence_number,
                    "status": status,
                }
            )
        if status:
            factory.counters.bind_failures += 1
            return
        factory.counters.binds += 1
        self.mode = _BIND_MODES[pdu.command_id]
        self.system_id = system_id
        self.account = account = factory.account(system_id)
        if self.mode & CAN_RECEIVE:
            account.receivers.append(self)
            self._wants_pump = True  # receipts may have been waiting for a receiver

    # -- submits ----------------------------------------------------------------------

    def _submit_sm(self, pdu: Pdu, slow: list[bytes], resp_id: int = c.SUBMIT_SM_RESP) -> None:
        """The hot path (submit_sm, and data_sm with `resp_id` DATA_SM_RESP): keep it short;
        everything optional is behind one test."""
        factory = self.factory
        factory.counters.submits += 1
        seq = pdu.sequence_number
        account = self.account
        if account is None or not self.mode & CAN_SUBMIT:
            self._submit_refused(pdu, slow, resp_id, c.ESME_RINVBNDSTS)
            return
        params = pdu.params
        dest: bytes = params.get("destination_addr", b"")
        status = factory.admit(account, dest) if factory.admission else 0
        if status:
            self._submit_refused(pdu, slow, resp_id, status)
            return
        number, message_id = factory.ids.next()
        slow.append(_HEADER.pack(17 + len(message_id), resp_id, 0, seq) + message_id + b"\0")
        factory.counters.accepted += 1
        rd: int = params.get("registered_delivery", 0)
        if rd & 0x13 or self._journal is not None:
            source = _source(params)
            target: Address = (params.get("dest_addr_ton", 0), params.get("dest_addr_npi", 0), dest)
            text = _text_of(pdu)  # data_sm has no short_message: message_payload only
            if rd & 0x13:
                self._schedule_receipts(account, number, message_id, rd, source, target, text)
            if self._journal is not None:
                self._log_submit(pdu, 0, message_id, source, [target], text)

    def _submit_refused(self, pdu: Pdu, slow: list[bytes], resp_id: int, status: int) -> None:
        # An empty message_id (and no_unsuccess 0) rather than no body: some ESMEs cannot
        # parse a bare header.
        body = b"\0\0" if resp_id == c.SUBMIT_MULTI_RESP else b"\0"
        slow.append(_header(16 + len(body), resp_id, status, pdu.sequence_number) + body)
        if self._journal is not None:
            self._log_submit(
                pdu, status, b"", _source(pdu.params), _destinations(pdu), _text_of(pdu)
            )

    def _submit_multi(self, pdu: Pdu, slow: list[bytes]) -> None:
        """One message id for all destinations; rejected prefixes become unsuccess_sme."""
        factory = self.factory
        factory.counters.submits += 1
        account = self.account
        if account is None or not self.mode & CAN_SUBMIT:
            self._submit_refused(pdu, slow, c.SUBMIT_MULTI_RESP, c.ESME_RINVBNDSTS)
            return
        params = pdu.params
        addresses = _destinations(pdu)
        if not params.get("dest_addresses"):
            self._submit_refused(pdu, slow, c.SUBMIT_MULTI_RESP, c.ESME_RINVNUMDESTS)
            return
        status = factory.admit(account, b"", count_only=True) if factory.admission else 0
        if status:
            self._submit_refused(pdu, slow, c.SUBMIT_MULTI_RESP, status)
            return
        accepted: list[Address] = []
        unsuccess = bytearray()
        failures = 0
        for address in addresses:
            refused = factory.reject_status(address[2])
            if refused:
                failures += 1
                unsuccess += bytes(address[:2]) + address[2] + b"\0" + refused.to_bytes(4, "big")
            else:
                accepted.append(address)
        number, message_id = factory.ids.next()
        body = message_id + b"\0" + bytes((failures,)) + bytes(unsuccess)
        slow.append(_header(16 + len(body), c.SUBMIT_MULTI_RESP, 0, pdu.sequence_number) + body)
        factory.counters.accepted += 1
        source = _source(params)
        text = _text_of(pdu)
        rd: int = params.get("registered_delivery", 0)
        if rd & 0x13:
            for target in accepted:
                self._schedule_receipts(account, number, message_id, rd, source, target, text)
        if self._journal is not None:
            self._log_submit(pdu, 0, message_id, source, addresses, text)

    def _log_submit(
        self,
        pdu: Pdu,
        status: int,
        message_id: bytes,
        source: Address,
        dests: list[Address],
        text: bytes,
    ) -> None:
        assert self._journal is not None
        self._journal.write(
            {
                "dir": "in",
                "peer": self.peer,
                "command": pdu.name,
                "seq": pdu.sequence_number,
                "status": pdu.command_status,
                "system_id": _text(self.system_id),
                "source": _text(source[2]),
                "dest": ",".join(_text(d[2]) for d in dests),
                "registered_delivery": pdu.get("registered_delivery", 0),
                "data_coding": pdu.get("data_coding", 0),
                "text_hex": text.hex(),
                "message_id": _text(message_id),
            }
        )
        self._journal.write(
            {
                "dir": "out",
                "peer": self.peer,
                "command": c.COMMAND_NAMES[pdu.command_id | c.RESPONSE_BIT],
                "seq": pdu.sequence_number,
                "status": status,
                "message_id": _text(message_id),
            }
        )

    # -- output: receipts and MOs -----------------------------------------------------

    def deliver(self, batch: list[Delivery]) -> None:
        """Write deliver_sm PDUs in one go and remember them until they are answered."""
        counters = self.factory.counters
        journal = self._journal
        unacked = self._unacked
        seq = self._seq
        out: list[bytes] = []
        for delivery in batch:
            kind, body, note = delivery
            seq = seq + 1 if seq < 0x7FFFFFFF else 1
            unacked[seq] = delivery
            out.append(_HEADER.pack(16 + len(body), c.DELIVER_SM, 0, seq) + body)
            if kind == _RECEIPT:
                counters.receipts_sent += 1
            else:
                counters.mo_sent += 1
            if journal is not None:
                entry: dict[str, Any] = {
                    "dir": "out",
                    "peer": self.peer,
                    "command": "deliver_sm",
                    "seq": seq,
                    "status": 0,
                }
                if note:
                    entry.update(note)
                journal.write(entry)
        self._seq = seq
        assert self.transport is not None
        self.transport.write(b"".join(out))

    @property
    def unacked(self) -> int:
        """deliver_sm written and not answered yet."""
        return len(self._unacked)

    def _delivered(self, pdu: Pdu) -> None:
        if self._journal is not None and pdu.command_id == c.DELIVER_SM_RESP:
            self._journal.write(
                {
                    "dir": "in",
                    "peer": self.peer,
                    "command": pdu.name,
                    "seq": pdu.sequence_number,
                    "status": pdu.command_status,
                }
            )
        self._unacked_done(pdu.sequence_number, pdu.command_status)

    def _unacked_done(self, seq: int, status: int) -> None:
        delivery = self._unacked.pop(seq, None)
        if delivery is None:
            return
        counters = self.factory.counters
        counters.delivers_acked += 1
        if status:
            counters.delivers_failed += 1
            if status in RETRY_STATUSES and self.account is not None:
                counters.delivers_retried += 1
                self.factory.redeliver_later(self.account, delivery)
        self._wants_pump = True


def _peer_name(address: IAddress) -> str:
    host = getattr(address, "host", None)
    port = getattr(address, "port", None)
    return f"{host}:{port}" if host is not None else str(address)


class SimulatorFactory(ServerFactory):
    """Accepts ESME connections and holds the simulator's state across them.

    `clock` schedules receipts, delayed responses, throttle windows and the periodic
    features; pass a `twisted.internet.task.Clock` to drive them by hand in tests.
    """

    protocol = SmscProtocol

    def __init__(self, config: SimulatorConfig, clock: IReactorTime | None = None) -> None:
        if clock is None:
            from twisted.internet import reactor

            clock = cast(IReactorTime, reactor)
        self.config = config
        self.clock = clock
        self.counters = SimulatorCounters()
        self.ids = MessageIds(config.id_format, config.receipt_id_format, config.id_start)
        self.journal: PduJournal | None = None
        if config.log_path is not None or config.record:
            self.journal = PduJournal(clock, config.log_path, config.log_max_bytes, config.record)
        #: Open connections (bound or not).
        self.connections: set[SmscProtocol] = set()
        #: Per-system_id state, created at the first bind of that system_id.
        self.accounts: dict[bytes, Account] = {}
        self._credentials: dict[bytes, bytes] | None = (
            {sid.encode(): pw.encode() for sid, pw in config.accounts} if config.accounts else None
        )
        self._rejects = _by_longest_prefix(config.rejects)
        # Each state's wire pieces are computed here, once, not per receipt.
        self._finals = tuple(
            (prefix, (state, state_parts(state)))
            for prefix, state in _by_longest_prefix(config.final_states)
        )
        self._delivered = (DELIVERED, state_parts(DELIVERED))
        self._accepted = state_parts(ACCEPTED)
        #: Whether a submit must pass the throttle or the reject table at all.
        self.admission = bool(config.throttle or config.rejects)
        self.bind_resp_body = (
            config.smsc_system_id.encode()
            + b"\0"
            + _TLV_HEAD.pack(c.TAG_SC_INTERFACE_VERSION, 1)
            + b"\x34"
        )
        # The receipt timeline: two deques, each in due-time order because each has one
        # constant delay; one timer serves both.
        self._intermediate: deque[_Scheduled] = deque()
        self._final: deque[_Scheduled] = deque()
        self._timer: IDelayedCall | None = None
        self._loops: list[LoopingCall] = []
        self._mo_turn = 0

    def buildProtocol(self, addr: IAddress) -> SmscProtocol:
        return SmscProtocol(self)

    def startFactory(self) -> None:
        """Start the periodic features (connection drops, MO traffic)."""
        config = self.config
        for period, action in (
            (config.drop_every, self._drop_tick),
            (config.mo_every, self._mo_tick),
        ):
            if period:
                loop = LoopingCall(action)
                loop.clock = self.clock
                loop.start(period, now=False)
                self._loops.append(loop)

    def stopFactory(self) -> None:
        """Stop timers and close the log; scheduled receipts are discarded."""
        for loop in self._loops:
            if loop.running:
                loop.stop()
        self._loops.clear()
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        if self.journal is not None:
            self.journal.close()

    # -- binds and admission ----------------------------------------------------------

    def check_credentials(self, system_id: bytes, password: bytes) -> int:
        """0, or the bind error status for these credentials."""
        if self._credentials is None:
            return 0
        expected = self._credentials.get(system_id)
        if expected is None:
            return c.ESME_RINVSYSID
        return 0 if expected == password else c.ESME_RINVPASWD

    def account(self, system_id: bytes) -> Account:
        """The state of one system_id, created on first use."""
        account = self.accounts.get(system_id)
        if account is None:
            account = self.accounts[system_id] = Account(system_id)
        return account

    def admit(self, account: Account, dest: bytes, count_only: bool = False) -> int:
        """0 to accept a submit, or the status to refuse it with (throttle, then rejects).

        Throttling is per system_id in one-second windows that start with the first
        submit after the previous window ended; refused submits do not use up the window.
        """
        limit = self.config.throttle
        if limit:
            now = self.clock.seconds()
            if now - account.window_start >= 1.0:
                account.window_start = now
                account.window_count = 0
            if account.window_count >= limit:
                self.counters.throttled += 1
                return c.ESME_RTHROTTLED
            account.window_count += 1
        if not count_only and self._rejects:
            return self.reject_status(dest)
        return 0

    def reject_status(self, dest: bytes) -> int:
        """The `--reject` status for this destination, or 0."""
        for prefix, status in self._rejects:
            if dest.startswith(prefix):
                self.counters.rejected += 1
                return status
        return 0

    def final_state(self, dest: bytes) -> FinalState:
        """How a message to this destination ends (longest `--final-state` prefix)."""
        return self._final_for(dest)[0]

    def _final_for(self, dest: bytes) -> tuple[FinalState, StateParts]:
        for prefix, final in self._finals:
            if dest.startswith(prefix):
                return final
        return self._delivered

    # -- receipts ---------------------------------------------------------------------

    def schedule_receipts(
        self,
        account: Account,
        number: int,
        message_id: bytes,
        registered_delivery: int,
        source: Address,
        dest: Address,
        text: bytes,
    ) -> None:
        """Put the receipts a submit asked for on the timeline.

        rd & 3 == 1 (or the reserved 3): a final receipt always; == 2: only on failure.
        rd & 0x10: an intermediate ACCEPTD receipt first, at half the delay. Call it when
        the response is written (the protocol holds it back under `resp_delay`), so that a
        receipt never overtakes its response.
        """
        final, parts = self._final_for(dest[2]) if self._finals else self._delivered
        kind = registered_delivery & 3
        want_final = kind == 1 or kind == 3 or (kind == 2 and final.failed)
        if not want_final and not registered_delivery & 0x10:
            return
        now = start = self.clock.seconds()
        delay = self.config.dlr_delay
        receipt_id = self.ids.receipt_id(number, message_id)
        text = text[:20]
        # The receipt travels back: from the handset (the submit's destination) to the ESME.
        if registered_delivery & 0x10:
            self._push(
                self._intermediate,
                (start + delay / 2, account, receipt_id, dest, source, now, text, self._accepted),
            )
        if want_final:
            self._push(
                self._final, (start + delay, account, receipt_id, dest, source, now, text, parts)
            )

    def _push(self, timeline: deque[_Scheduled], entry: _Scheduled) -> None:
        was_empty = not timeline
        timeline.append(entry)
        self.counters.receipts_scheduled += 1
        due = entry[0]
        timer = self._timer
        if timer is None:
            self._timer = self.clock.callLater(max(0.0, due - self.clock.seconds()), self._tick)
        elif was_empty and due < timer.getTime():
            timer.reset(max(0.0, due - self.clock.seconds()))

    def _tick(self) -> None:
        """Turn every due receipt into a deliver_sm, queue them per account, send them."""
        self._timer = None
        now = self.clock.seconds()
        journal = self.journal
        touched: dict[bytes, Account] = {}
        try:
            for timeline in (self._intermediate, self._final):
                while timeline and timeline[0][0] <= now:
                    _due, account, receipt_id, source, dest, submitted, text, parts = (
                        timeline.popleft()
                    )
                    body = receipt_body(receipt_id, source, dest, submitted, now, parts, text)
                    note = None
                    if journal is not None:
                        note = {
                            "receipted_message_id": _text(receipt_id),
                            "stat": _text(parts[1]),
                            "source": _text(source[2]),
                            "dest": _text(dest[2]),
                        }
                    self.enqueue(account, _RECEIPT, body, note)
                    touched[account.system_id] = account
            for account in touched.values():
                self.pump(account)
        except Exception:
            _log.failure("smsc-sim: receipt tick failed")
        finally:
            heads = [t[0][0] for t in (self._intermediate, self._final) if t]
            if heads and self._timer is None:
                self._timer = self.clock.callLater(max(min(heads) - now, TICK), self._tick)
            if journal is not None:
                journal.flush()

    def enqueue(
        self, account: Account, kind: int, body: bytes, note: dict[str, Any] | None
    ) -> bool:
        """Queue a deliver_sm body for the account's receivers; False if the queue is full."""
        if len(account.outbox) >= self.config.max_pending:
            self.counters.delivers_dropped += 1
            return False
        account.outbox.append((kind, body, note))
        return True

    def redeliver_later(self, account: Account, delivery: Delivery) -> None:
        """Put a deliver_sm the ESME could not take now back at the front of its account's
        queue after `deliver_retry_delay` (one timer per refusal: refusals are rare)."""

        def again() -> None:
            account.outbox.appendleft(delivery)
            self.pump(account)

        self.clock.callLater(self.config.deliver_retry_delay, again)

    def pump(self, account: Account) -> None:
        """Hand queued deliver_sm to the account's receivers, within their windows.

        Receivers take turns (round robin by batch), each getting an even share.
        """
        outbox = account.outbox
        receivers = account.receivers
        if not outbox or not receivers:
            return
        count = len(receivers)
        window = self.config.deliver_window
        share = -(-len(outbox) // count)
        start = account.turn % count
        account.turn = start + 1
        for i in range(count):
            receiver = receivers[(start + i) % count]
            take = min(share, len(outbox))
            if window:
                take = min(take, window - receiver.unacked)
            if take > 0:
                receiver.deliver([outbox.popleft() for _ in range(take)])
            if not outbox:
                break

    # -- MO and periodic features -----------------------------------------------------

    def send_mo(
        self,
        source: str | bytes,
        dest: str | bytes,
        text_bytes: bytes,
        data_coding: int = 0,
        tlvs: tuple[tuple[int, bytes], ...] | list[tuple[int, bytes]] = (),
        *,
        system_id: str | bytes | None = None,
    ) -> bool:
        """Send a mobile-originated deliver_sm (esm_class 0) to a bound receiver.

        Without `system_id` it goes to the receivers of the next bound account in turn,
        and is dropped (False) if none is bound. With one it is queued for that system_id
        until a receiver binds. `tlvs` are raw (tag, value) pairs; text longer than 254
        octets travels in message_payload, as Kannel sends it.
        """
        if system_id is not None:
            sid = system_id.encode() if isinstance(system_id, str) else system_id
            account = self.account(sid)
        else:
            bound = [a for a in self.accounts.values() if a.receivers]
            if not bound:
                self.counters.delivers_dropped += 1
                return False
            account = bound[self._mo_turn % len(bound)]
            self._mo_turn += 1
        src = source.encode() if isinstance(source, str) else source
        dst = dest.encode() if isinstance(dest, str) else dest
        extra = b"".join(_TLV_HEAD.pack(tag, len(value)) + value for tag, value in tlvs)
        short_message = text_bytes
        if len(text_bytes) > 254:
            extra = _TLV_HEAD.pack(c.TAG_MESSAGE_PAYLOAD, len(text_bytes)) + text_bytes + extra
            short_message = b""
        body = deliver_sm_body(
            mo_address(src), mo_address(dst), 0, data_coding, short_message, extra
        )
        note = None
        if self.journal is not None:
            note = {
                "source": _text(src),
                "dest": _text(dst),
                "data_coding": data_coding,
                "text_hex": text_bytes.hex(),
            }
        if not self.enqueue(account, _MO, body, note):
            return False
        self.pump(account)
        if self.journal is not None:
            self.journal.flush()
        return True

    def _mo_tick(self) -> None:
        config = self.config
        try:
            text = config.mo_text
            if text.isascii():
                self.send_mo(config.mo_from, config.mo_to, text.encode("ascii"))
            else:
                self.send_mo(config.mo_from, config.mo_to, text.encode("utf-16-be"), 8)
        except Exception:
            _log.failure("smsc-sim: periodic MO failed")

    def drop_connections(self) -> int:
        """Abort every open connection (what `--drop-every` does); returns how many."""
        dropped = 0
        for connection in list(self.connections):
            transport = connection.transport
            if transport is None:
                continue
            abort = getattr(transport, "abortConnection", None)
            if abort is not None:
                abort()
            else:
                transport.loseConnection()
            dropped += 1
        self.counters.drops += dropped
        return dropped

    def _drop_tick(self) -> None:
        try:
            self.drop_connections()
        except Exception:
            _log.failure("smsc-sim: dropping connections failed")


def _by_longest_prefix(table: tuple[tuple[str, Any], ...]) -> tuple[tuple[bytes, Any], ...]:
    return tuple(sorted(((p.encode(), v) for p, v in table), key=lambda e: -len(e[0])))


def listen(
    reactor: IReactorTCP, config: SimulatorConfig, factory: SimulatorFactory | None = None
) -> IListeningPort:
    """Listen on `config.host:config.port`; the port's `.factory` is the SimulatorFactory.

    `reactor` must also provide IReactorTime: it is the factory's clock unless a
    ready-made `factory` is passed.
    """
    if factory is None:
        factory = SimulatorFactory(config, clock=cast(IReactorTime, reactor))
    return reactor.listenTCP(config.port, factory, backlog=128, interface=config.host)
