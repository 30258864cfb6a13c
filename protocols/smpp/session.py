"""The ESME side of one SMPP 3.4 connection: an explicit state machine and its thin protocol.

`EsmeSession` holds everything one TCP connection knows (state, sequence numbers, the
window of unanswered submits, timers) and `EsmeProtocol` only moves bytes: it cuts them
into PDUs with the `Framer` and hands each to the session. Reconnecting, backoff and the
choice of bind mode belong to `protocols.smpp.esme.EsmeConnector`, which makes a new
session per connection, so a session never outlives its socket and sequence numbers,
in-flight submits and late-response tombstones can never leak from one connection into
the next.

The hot path is built for tens of thousands of submits per second: the application is
told about responses through one `EsmeListener` object rather than a Deferred per
message, a response is matched with one dict pop, nothing is logged per PDU, and a single
periodic timer per session does every time-based check (wait-ack, enquire_link, idle and
bind/unbind timeouts, tombstone expiry) instead of a timer per submit.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final
from typing import Protocol as TypingProtocol

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IDelayedCall, IReactorTime, ITransport
from twisted.internet.protocol import Protocol, connectionDone
from twisted.logger import Logger
from twisted.python.failure import Failure

from protocols.smpp import constants as c
from protocols.smpp.framer import DEFAULT_MAX_LENGTH, Framer
from protocols.smpp.pdu import HEADER, HEADER_SIZE, Pdu, SmppError, encode, error_reply

log = Logger(namespace="passerelle.smpp.esme")

#: Sequence numbers run 1..0x7FFFFFFF and wrap (SMPP 3.4 section 3.2).
MAX_SEQUENCE: Final = 0x7FFFFFFF

#: `submit_failed` reasons. They are fixed strings so a caller can branch on them; the
#: human detail (why the connection went) is in `EsmeSession.close_reason`.
REASON_TIMEOUT: Final = "timeout"
REASON_CONNECTION_LOST: Final = "connection lost"
REASON_MALFORMED_RESPONSE: Final = "malformed response"
REASON_GENERIC_NACK: Final = "generic_nack"

#: Operations that go through `submit` and count against the window.
SUBMIT_COMMANDS: Final = frozenset({c.SUBMIT_SM, c.DATA_SM, c.SUBMIT_MULTI})

#: How long a close we asked for may take before the socket is aborted: a peer that
#: stops reading would otherwise keep a half-closed connection (and its tokens) forever.
CLOSE_GRACE: Final = 5.0


class WaitAckExpire(enum.IntEnum):
    """Kannel's `wait-ack-expire`: what to do with a submit unanswered after `wait-ack`."""

    RECONNECT = 0
    REQUEUE = 1
    NEVER_EXPIRE = 2


@dataclass(frozen=True, slots=True)
class BindConfig:
    """Kannel's `smsc = smpp` knobs with Kannel's defaults, plus the few bounds it lacks.

    Names follow kannel.conf with `_` for `-`. Times are seconds. `system_type` None means
    "not configured", which Kannel binds as ``VMA`` (smsc_smpp.c); an empty string is sent
    as empty, exactly as Kannel does when `system-type = ""`.

    `receive_port` non-zero makes the connector open a connection that binds as a
    receiver on it; `port` non-zero one that binds as a transmitter (or transceiver). Kannel's
    usual layout for separate binds is two groups sharing an smsc-id, one with `port` and
    one with `port = 0` and `receive-port`: a receive-only config here. `wait_ack_expire`
    defaults to 1 (re-queue) as Kannel's code does, not 0 as its guide claims.
    """

    host: str = "127.0.0.1"
    port: int = 2775
    receive_port: int = 0
    transceiver_mode: bool = False
    system_id: str = ""
    password: str = ""
    system_type: str | None = None
    interface_version: int = 0x34
    address_range: str = ""
    bind_addr_ton: int = 0
    bind_addr_npi: int = 0
    max_pending_submits: int = 10
    enquire_link_interval: float = 30.0
    connection_timeout: float = 300.0
    wait_ack: float = 60.0
    wait_ack_expire: int = WaitAckExpire.REQUEUE
    reconnect_delay: float = 10.0
    reconnect_delay_max: float = 300.0
    connect_timeout: float = 30.0
    bind_timeout: float = 30.0
    unbind_timeout: float = 10.0
    max_pdu_length: int = DEFAULT_MAX_LENGTH
    late_response_ttl: float = 300.0
    late_response_max: int = 10_000
    smsc_id: str = ""

    def __post_init__(self) -> None:
        _check_cstring("system_id", self.system_id, 16)
        _check_cstring("password", self.password, 9)
        _check_cstring("system_type", self.bind_system_type.decode("utf-8"), 13)
        _check_cstring("address_range", self.address_range, 41)
        if not 0 <= self.port <= 0xFFFF:
            raise ValueError(f"port must be 0..65535, not {self.port}")
        if not 0 <= self.receive_port <= 0xFFFF:
            raise ValueError(f"receive_port must be 0..65535, not {self.receive_port}")
        if not self.port and not self.receive_port:
            raise ValueError("port and receive_port cannot both be 0: nothing would connect")
        if not self.port and self.transceiver_mode:
            raise ValueError("transceiver_mode needs port")
        if self.receive_port and self.transceiver_mode:
            raise ValueError("receive_port and transceiver_mode exclude each other")
        for name in ("interface_version", "bind_addr_ton", "bind_addr_npi"):
            if not 0 <= getattr(self, name) <= 0xFF:
                raise ValueError(f"{name} must fit in one octet")
        if self.max_pending_submits < 1:
            raise ValueError("max_pending_submits must be at least 1")
        if self.wait_ack_expire not in (0, 1, 2):
            raise ValueError(f"wait_ack_expire must be 0, 1 or 2, not {self.wait_ack_expire}")
        for name in ("enquire_link_interval", "connection_timeout", "wait_ack",
                     "late_response_ttl"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        for name in ("reconnect_delay", "connect_timeout", "bind_timeout", "unbind_timeout"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.reconnect_delay_max < self.reconnect_delay:
            raise ValueError("reconnect_delay_max must be at least reconnect_delay")
        if self.max_pdu_length < HEADER_SIZE:
            raise ValueError(f"max_pdu_length must be at least {HEADER_SIZE}")
        if self.late_response_max < 0:
            raise ValueError("late_response_max must not be negative")

    @property
    def bind_system_type(self) -> bytes:
        """The system_type octets the bind carries (Kannel's ``VMA`` when unset)."""
        return b"VMA" if self.system_type is None else self.system_type.encode("utf-8")

    @property
    def name(self) -> str:
        """How logs name this link: the smsc-id, else Kannel's default connection name."""
        if self.smsc_id:
            return self.smsc_id
        rx = self.receive_port or self.port
        system_type = self.bind_system_type.decode("utf-8")
        return f"SMPP:{self.host}:{self.port}/{rx}:{self.system_id}:{system_type}"


def _check_cstring(name: str, value: str, size: int) -> None:
    """Refuse at configuration time what the bind would otherwise fail to encode."""
    raw = value.encode("utf-8")
    if len(raw) >= size or b"\0" in raw:
        raise ValueError(f"{name} must be under {size} octets without NUL: {value!r}")


class BindMode(enum.Enum):
    """Which bind a connection sends; the value is the bind's command_id."""

    TRANSMITTER = c.BIND_TRANSMITTER
    RECEIVER = c.BIND_RECEIVER
    TRANSCEIVER = c.BIND_TRANSCEIVER


class SessionState(enum.Enum):
    """Where a session is in its one-way life: OPEN → BINDING → BOUND_* → UNBINDING → CLOSED.

    CLOSED is entered as soon as the session has decided to go (the socket may still be
    draining); nothing is submitted from there on.
    """

    OPEN = "open"
    BINDING = "binding"
    BOUND_TX = "bound_tx"
    BOUND_RX = "bound_rx"
    BOUND_TRX = "bound_trx"
    UNBINDING = "unbinding"
    CLOSED = "closed"


_S = SessionState
_BOUND_STATE: Final = {
    BindMode.TRANSMITTER: _S.BOUND_TX,
    BindMode.RECEIVER: _S.BOUND_RX,
    BindMode.TRANSCEIVER: _S.BOUND_TRX,
}
_BOUND: Final = frozenset({_S.BOUND_TX, _S.BOUND_RX, _S.BOUND_TRX})
_CAN_RECEIVE: Final = frozenset({_S.BOUND_RX, _S.BOUND_TRX})
_TRANSITIONS: Final[dict[SessionState, frozenset[SessionState]]] = {
    _S.OPEN: frozenset({_S.BINDING, _S.CLOSED}),
    _S.BINDING: frozenset({*_BOUND, _S.CLOSED}),
    _S.BOUND_TX: frozenset({_S.UNBINDING, _S.CLOSED}),
    _S.BOUND_RX: frozenset({_S.UNBINDING, _S.CLOSED}),
    _S.BOUND_TRX: frozenset({_S.UNBINDING, _S.CLOSED}),
    _S.UNBINDING: frozenset({_S.CLOSED}),
    _S.CLOSED: frozenset(),
}


class SessionError(Exception):
    """A session refused a request; the message says why."""


class NotBoundError(SessionError):
    """Submitting needs a transmitter or transceiver bind that is up."""


class WindowFullError(SessionError):
    """max_pending_submits submits are unanswered; wait for `window_open`."""


class SessionStateError(SessionError):
    """A transition the state machine does not allow: a bug, never a peer's doing."""


class SubmitFailedError(SessionError):
    """How `submit_deferred` reports a submit that got no response (`reason` says why)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class EsmeListener(ABC):
    """What the application hears from sessions; one object serves every message.

    Tokens are the caller's own objects, handed back untouched. Every token given to
    `EsmeSession.submit` comes back exactly once, through `submit_response` or
    `submit_failed`; a response that arrives after its submit was failed for a timeout
    comes back once more, through `late_response`. Methods run on the reactor thread
    and must not block; an exception they raise is logged and the session carries on.
    """

    def bound(self, session: EsmeSession) -> None:
        """The bind succeeded; a transmitter can now fill `session.window_free` slots."""
        return None

    def unbound(self, session: EsmeSession, reason: str) -> None:
        """A bound session is gone; its unanswered submits were already failed."""
        return None

    @abstractmethod
    def submit_response(self, session: EsmeSession, token: Any, resp: Pdu) -> None:
        """The SMSC answered the submit: a *_resp, or a generic_nack with a non-zero status.

        Classify on `resp.command_status`, which is never 0 for a generic_nack.
        """

    @abstractmethod
    def submit_failed(self, session: EsmeSession, token: Any, reason: str) -> None:
        """The submit got no answer: `REASON_TIMEOUT` (wait-ack), `REASON_CONNECTION_LOST`,
        `REASON_MALFORMED_RESPONSE` or `REASON_GENERIC_NACK` (a nack with status 0).

        The SMSC may or may not have taken the message: re-queueing it is at-least-once.
        """

    def late_response(self, session: EsmeSession, token: Any, resp: Pdu) -> None:
        """A response for a submit already failed with `REASON_TIMEOUT`.

        The message was probably re-queued and may go out twice; the response still
        carries the message_id a receipt will refer to.
        """
        return None

    @abstractmethod
    def deliver(self, session: EsmeSession, pdu: Pdu) -> int | Deferred[int]:
        """An MO message or receipt (deliver_sm or data_sm); return the status to answer.

        Returning a Deferred delays the deliver_sm_resp until it fires, so the answer can
        wait for a durable write; a failure answers ESME_RX_T_APPN so the SMSC retries.
        """

    def window_open(self, session: EsmeSession) -> None:
        """One or more window slots became free; submit up to `session.window_free`."""
        return None


class LinkEvents(TypingProtocol):
    """What the connection's owner (the connector) needs to hear to reconnect or give up."""

    def link_bound(self, session: EsmeSession) -> None: ...

    def link_refused(self, session: EsmeSession, status: int) -> None: ...

    def link_closed(self, session: EsmeSession, reason: str) -> None: ...


class _NoLink:
    """Stands in when a session is used on its own, so the session never tests for None."""

    def link_bound(self, session: EsmeSession) -> None:
        return None

    def link_refused(self, session: EsmeSession, status: int) -> None:
        return None

    def link_closed(self, session: EsmeSession, reason: str) -> None:
        return None


class EsmeCounters:
    """Plain integer counters a metrics layer reads; shared by a connector's sessions so
    they survive reconnects."""

    __slots__ = (
        "submits",
        "responses",
        "responses_by_status",
        "submit_failures",
        "timeouts",
        "late_responses",
        "tombstones_dropped",
        "unknown_responses",
        "generic_nacks",
        "malformed",
        "delivers",
        "deliver_refused",
        "enquire_links_sent",
        "connection_timeouts",
        "binds",
        "bind_failures",
        "reconnects",
    )

    def __init__(self) -> None:
        self.submits = 0
        self.responses = 0
        self.responses_by_status: dict[int, int] = {}
        self.submit_failures = 0
        self.timeouts = 0
        self.late_responses = 0
        self.tombstones_dropped = 0
        self.unknown_responses = 0
        self.generic_nacks = 0
        self.malformed = 0
        self.delivers = 0
        self.deliver_refused = 0
        self.enquire_links_sent = 0
        self.connection_timeouts = 0
        self.binds = 0
        self.bind_failures = 0
        self.reconnects = 0

    def snapshot(self) -> dict[str, Any]:
        """A copy for a status page or a metrics scrape."""
        out: dict[str, Any] = {name: getattr(self, name) for name in self.__slots__}
        out["responses_by_status"] = dict(self.responses_by_status)
        return out


class _DeferredSink:
    """Turns the listener calls for `submit_deferred` tokens (Deferreds) into results.

    Sitting in the in-flight entry beside the token, it costs the ordinary path nothing.
    """

    def submit_response(self, session: EsmeSession, token: Deferred[Pdu], resp: Pdu) -> None:
        token.callback(resp)

    def submit_failed(self, session: EsmeSession, token: Deferred[Pdu], reason: str) -> None:
        token.errback(SubmitFailedError(reason))

    def late_response(self, session: EsmeSession, token: Deferred[Pdu], resp: Pdu) -> None:
        return None


_DEFERRED_SINK: Final = _DeferredSink()
_Sink = EsmeListener | _DeferredSink
#: In-flight entry: (token, sent at, who hears about it).
_Entry = tuple[Any, float, _Sink]


def _resp_bytes(command_id: int, status: int, sequence_number: int) -> bytes:
    """A *_resp whose only body is an empty message_id (omitted on error, as SMPP allows)."""
    if status:
        return HEADER.pack(HEADER_SIZE, command_id, status, sequence_number)
    return HEADER.pack(HEADER_SIZE + 1, command_id, 0, sequence_number) + b"\0"


class EsmeSession:
    """One SMPP connection seen from the ESME: bind, submit window, deliveries, keepalive.

    Drive it with `connection_made`, `pdu_received`, `pdu_rejected` and `connection_lost`
    (as `EsmeProtocol` does); it writes to the transport itself. The clock is injected so
    `twisted.internet.task.Clock` can run every timer in tests.
    """

    __slots__ = (
        "config",
        "mode",
        "counters",
        "close_reason",
        "_listener",
        "_link",
        "_clock",
        "_tick_interval",
        "_transport",
        "_state",
        "_can_submit",
        "_was_bound",
        "_window",
        "_seq",
        "_inflight",
        "_tombstones",
        "_batch",
        "_window_pending",
        "_timer",
        "_rx_count",
        "_rx_seen",
        "_last_rx",
        "_last_enquire",
        "_bind_seq",
        "_bind_resp_id",
        "_deadline",
        "_closing_since",
        "_lost",
        "_close_waiters",
    )

    def __init__(
        self,
        config: BindConfig,
        listener: EsmeListener,
        mode: BindMode | None = None,
        *,
        clock: IReactorTime | None = None,
        counters: EsmeCounters | None = None,
        link: LinkEvents | None = None,
        tick_interval: float = 1.0,
    ) -> None:
        if clock is None:
            from twisted.internet import reactor

            clock = reactor  # type: ignore[assignment]
        if mode is None:
            mode = BindMode.TRANSCEIVER if config.transceiver_mode else BindMode.TRANSMITTER
        self.config = config
        self.mode = mode
        self.counters = EsmeCounters() if counters is None else counters
        #: Why the session ended (or is ending); None while it lives.
        self.close_reason: str | None = None
        self._listener = listener
        self._link: LinkEvents = _NoLink() if link is None else link
        self._clock: IReactorTime = clock  # type: ignore[assignment]
        self._tick_interval = tick_interval
        self._transport: ITransport | None = None
        self._state = SessionState.OPEN
        self._can_submit = False
        self._was_bound = False
        self._window = config.max_pending_submits
        self._seq = 1  # the next sequence number to use
        self._inflight: dict[int, _Entry] = {}
        self._tombstones: dict[int, _Entry] = {}  # seq -> (token, expires at, sink)
        self._batch: list[bytes] | None = None
        self._window_pending = False
        self._timer: IDelayedCall | None = None
        self._rx_count = 0
        self._rx_seen = 0
        self._last_rx = 0.0
        self._last_enquire = 0.0
        self._bind_seq = 0
        self._bind_resp_id = mode.value | c.RESPONSE_BIT
        self._deadline = 0.0  # bind or unbind deadline, by state
        self._closing_since: float | None = None
        self._lost = False
        self._close_waiters: list[Deferred[str]] = []

    # -- what the application sees ------------------------------------------------------

    @property
    def state(self) -> SessionState:
        return self._state

    @property
    def can_submit(self) -> bool:
        """Bound as transmitter or transceiver and not going away."""
        return self._can_submit

    @property
    def in_flight(self) -> int:
        """Submits sent and not yet answered, failed or timed out."""
        return len(self._inflight)

    @property
    def window_free(self) -> int:
        """How many more submits `submit` accepts right now (0 unless `can_submit`)."""
        if not self._can_submit:
            return 0
        return self._window - len(self._inflight)

    @property
    def tombstones(self) -> int:
        """Timed-out submits still remembered so a late response finds its token."""
        return len(self._tombstones)

    def submit(self, pdu: Pdu, token: Any) -> int:
        """Send a submit_sm, data_sm or submit_multi and return its sequence number.

        The token comes back through the listener exactly once. Raises `NotBoundError`
        or `WindowFullError` rather than queueing: the queue (and its priorities) belong
        to the caller, and a refusal costs nothing to retry after `window_open`.
        `SmppError` from encoding a bad PDU propagates and nothing is sent.
        """
        return self._submit(pdu, token, self._listener)

    def submit_deferred(self, pdu: Pdu) -> Deferred[Pdu]:
        """`submit` for tests and tools: a Deferred firing with the response PDU (whatever
        its status), or failing with `SubmitFailedError`.

        Refusals (`NotBoundError`, `WindowFullError`) raise here, as `submit` does.
        """
        d: Deferred[Pdu] = Deferred()
        self._submit(pdu, d, _DEFERRED_SINK)
        return d

    def _submit(self, pdu: Pdu, token: Any, sink: _Sink) -> int:
        if not self._can_submit:
            raise NotBoundError(f"cannot submit: session is {self._state.value} ({self.mode.name})")
        inflight = self._inflight
        if len(inflight) >= self._window:
            raise WindowFullError(f"window full: {self._window} submits unanswered")
        if pdu.command_id not in SUBMIT_COMMANDS:
            raise ValueError(f"submit takes submit_sm, data_sm or submit_multi, not {pdu.name}")
        seq = self._seq
        self._seq = 1 if seq >= MAX_SEQUENCE else seq + 1
        pdu.sequence_number = seq
        data = encode(pdu)
        inflight[seq] = (token, self._clock.seconds(), sink)
        self.counters.submits += 1
        batch = self._batch
        if batch is None:
            self._transport.write(data)  # type: ignore[union-attr]  # bound implies connected
        else:
            batch.append(data)
        return seq

    def unbind(self) -> None:
        """Leave politely: unbind, let responses still arrive, close on unbind_resp or
        after `unbind_timeout`. Before the bind completes there is nothing to unbind, so
        the connection just closes."""
        state = self._state
        if state in _BOUND:
            self._set_state(SessionState.UNBINDING)
            self._can_submit = False
            self._deadline = self._clock.seconds() + self.config.unbind_timeout
            self.write(HEADER.pack(HEADER_SIZE, c.UNBIND, 0, self._next_seq()))
            self._flush()
        elif state is not SessionState.UNBINDING:
            self.close("stopped")

    def close(self, reason: str) -> None:
        """Close after what was written has gone out (aborted if it takes `CLOSE_GRACE`)."""
        self._close(reason, abort=False)

    def abort(self, reason: str) -> None:
        """Drop the connection now: for a peer that is not answering."""
        self._close(reason, abort=True)

    def when_closed(self) -> Deferred[str]:
        """A Deferred firing with the close reason once the connection is gone."""
        d: Deferred[str] = Deferred()
        if self._lost:
            d.callback(self.close_reason or REASON_CONNECTION_LOST)
        else:
            self._close_waiters.append(d)
        return d

    # -- what the protocol drives -------------------------------------------------------

    def connection_made(self, transport: ITransport) -> None:
        """Send the bind and start the one timer."""
        self._transport = transport
        now = self._clock.seconds()
        self._last_rx = now
        self._deadline = now + self.config.bind_timeout
        self._set_state(SessionState.BINDING)
        cfg = self.config
        self._bind_seq = seq = self._next_seq()
        bind = Pdu(
            self.mode.value,
            seq,
            params={
                "system_id": cfg.system_id.encode("utf-8"),
                "password": cfg.password.encode("utf-8"),
                "system_type": cfg.bind_system_type,
                "interface_version": cfg.interface_version,
                "addr_ton": cfg.bind_addr_ton,
                "addr_npi": cfg.bind_addr_npi,
                "address_range": cfg.address_range.encode("utf-8"),
            },
        )
        self.write(encode(bind))
        self._timer = self._clock.callLater(self._tick_interval, self._tick)

    def pdu_received(self, pdu: Pdu) -> None:
        """One PDU from the SMSC. Submit responses are the fast path; the rest is rare."""
        self._rx_count += 1
        cid = pdu.command_id
        if cid & c.RESPONSE_BIT and cid != c.GENERIC_NACK:
            entry = self._inflight.pop(pdu.sequence_number, None)
            if entry is not None:
                self._answered(entry, pdu)
                if self._batch is None:
                    self._window_open()
                else:
                    # One refill per read, not per response: the listener then fills many
                    # slots in one call and the submits leave with this read's batch.
                    self._window_pending = True
                return
            self._other_response(pdu)
        elif cid == c.DELIVER_SM or cid == c.DATA_SM:
            self._deliver(pdu)
        elif cid == c.ENQUIRE_LINK:
            self.write(HEADER.pack(HEADER_SIZE, c.ENQUIRE_LINK_RESP, 0, pdu.sequence_number))
        elif cid == c.GENERIC_NACK:
            self._generic_nack(pdu)
        elif cid == c.UNBIND:
            self._peer_unbind(pdu)
        elif cid in c.UNANSWERED:
            return  # outbind / alert_notification: nothing to answer, nothing we use
        else:
            # A request an SMSC has no business sending to an ESME (SMPP 3.4 section 3.3;
            # Kannel answers the same way).
            self.write(HEADER.pack(HEADER_SIZE, c.GENERIC_NACK, c.ESME_RINVCMDID,
                                   pdu.sequence_number))

    def pdu_rejected(self, err: SmppError) -> None:
        """The framer could not decode a PDU (the protocol has already answered it).

        A broken response to one of our submits fails that submit now instead of at
        wait-ack; a broken bind_resp ends the bind attempt.
        """
        self._rx_count += 1
        self.counters.malformed += 1
        cid = err.command_id
        if err.fatal or cid is None or not cid & c.RESPONSE_BIT:
            return  # after a fatal error the header is garbage too: blame no submit
        entry = self._inflight.pop(err.sequence_number, None)
        if entry is not None:
            self._fail(entry, REASON_MALFORMED_RESPONSE)
            self._window_open()
        elif self._state is SessionState.BINDING and cid == self._bind_resp_id:
            self.close(f"malformed {c.COMMAND_NAMES.get(cid, 'bind_resp')}: {err.message}")

    def connection_lost(self, reason: str) -> None:
        """The socket is gone: fail what is in flight (exactly once) and tell everyone."""
        if self._lost:
            return
        self._lost = True
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        if self.close_reason is None:
            self.close_reason = reason
        if self._state is not SessionState.CLOSED:
            self._set_state(SessionState.CLOSED)
        self._can_submit = False
        self._batch = None
        reason = self.close_reason
        inflight, self._inflight = self._inflight, {}
        self._tombstones.clear()
        for entry in inflight.values():
            self._fail(entry, REASON_CONNECTION_LOST)
        if self._was_bound:
            try:
                self._listener.unbound(self, reason)
            except Exception:
                log.failure("listener failed in unbound")
        self._link.link_closed(self, reason)
        waiters, self._close_waiters = self._close_waiters, []
        for d in waiters:
            d.callback(reason)

    def write(self, data: bytes) -> None:
        """Send bytes now, or with the batch if one is being collected."""
        batch = self._batch
        if batch is not None:
            batch.append(data)
        elif self._transport is not None:
            self._transport.write(data)

    def hold_writes(self) -> None:
        """Collect writes until `flush`: the protocol brackets each read with these, so
        responses and the submits they let through leave in one transport.write."""
        if self._batch is None:
            self._batch = []

    def flush(self) -> None:
        """Tell the listener about slots this read freed, then write what `hold_writes`
        collected (the refill's submits included) in one piece, and stop collecting."""
        if self._window_pending:
            self._window_pending = False
            self._window_open()
        self._flush()

    # -- internals ------------------------------------------------------------------------

    def _flush(self) -> None:
        batch = self._batch
        self._batch = None
        if batch and self._transport is not None:
            self._transport.write(batch[0] if len(batch) == 1 else b"".join(batch))

    def _next_seq(self) -> int:
        seq = self._seq
        self._seq = 1 if seq >= MAX_SEQUENCE else seq + 1
        return seq

    def _set_state(self, new: SessionState) -> None:
        if new not in _TRANSITIONS[self._state]:
            raise SessionStateError(f"{self._state.value} -> {new.value} is not a transition")
        self._state = new

    def _close(self, reason: str, abort: bool) -> None:
        if self.close_reason is None:
            self.close_reason = reason
        if self._state is not SessionState.CLOSED:
            self._set_state(SessionState.CLOSED)
        self._can_submit = False
        transport = self._transport
        if transport is None:
            self.connection_lost(reason)  # never connected: nothing will call it for us
            return
        self._flush()
        if self._closing_since is None:
            self._closing_since = self._clock.seconds()
        if abort:
            abort_connection: Callable[[], None] | None = getattr(
                transport, "abortConnection", None
            )
            if abort_connection is not None:
                abort_connection()
                return
        transport.loseConnection()

    def _fail(self, entry: _Entry, reason: str) -> None:
        self.counters.submit_failures += 1
        try:
            entry[2].submit_failed(self, entry[0], reason)
        except Exception:
            log.failure("listener failed in submit_failed")

    def _answered(self, entry: _Entry, pdu: Pdu) -> None:
        """Count a submit's answer (a _resp, or a nack with a status) and hand it over."""
        counters = self.counters
        counters.responses += 1
        status = pdu.command_status
        by_status = counters.responses_by_status
        by_status[status] = by_status.get(status, 0) + 1
        try:
            entry[2].submit_response(self, entry[0], pdu)
        except Exception:
            log.failure("listener failed in submit_response")

    def _window_open(self) -> None:
        if self._can_submit:
            try:
                self._listener.window_open(self)
            except Exception:
                log.failure("listener failed in window_open")

    def _other_response(self, pdu: Pdu) -> None:
        """Responses that are not to an in-flight submit: bind, unbind, keepalive, late."""
        cid = pdu.command_id
        state = self._state
        if cid == self._bind_resp_id and state is SessionState.BINDING:
            self._bind_answered(pdu.command_status)
        elif cid == c.ENQUIRE_LINK_RESP:
            return
        elif cid == c.UNBIND_RESP and state is SessionState.UNBINDING:
            self.close("unbound")
        else:
            tomb = self._tombstones.pop(pdu.sequence_number, None)
            if tomb is None:
                self.counters.unknown_responses += 1
                return
            self.counters.late_responses += 1
            try:
                tomb[2].late_response(self, tomb[0], pdu)
            except Exception:
                log.failure("listener failed in late_response")

    def _bind_answered(self, status: int) -> None:
        if status not in (c.ESME_ROK, c.ESME_RALYBND):
            self.counters.bind_failures += 1
            self._link.link_refused(self, status)
            self.close(f"bind refused: 0x{status:08x} {c.status_text(status)}")
            return
        self.counters.binds += 1
        self._set_state(_BOUND_STATE[self.mode])
        self._was_bound = True
        self._can_submit = self.mode is not BindMode.RECEIVER
        self._last_enquire = self._clock.seconds()
        self._link.link_bound(self)
        try:
            self._listener.bound(self)
        except Exception:
            log.failure("listener failed in bound")

    def _generic_nack(self, pdu: Pdu) -> None:
        self.counters.generic_nacks += 1
        seq = pdu.sequence_number
        entry = self._inflight.pop(seq, None)
        if entry is not None:
            if pdu.command_status:
                self._answered(entry, pdu)
            else:
                # A nack that says nothing: the SMSC did not take the message.
                self._fail(entry, REASON_GENERIC_NACK)
            self._window_open()
        elif self._state is SessionState.BINDING and seq == self._bind_seq:
            # Some SMSCs nack a bind type they do not support (often bind_transceiver).
            self._bind_answered(pdu.command_status or c.ESME_RBINDFAIL)
        elif self._state is SessionState.UNBINDING:
            self.close("unbind refused")

    def _peer_unbind(self, pdu: Pdu) -> None:
        self.write(HEADER.pack(HEADER_SIZE, c.UNBIND_RESP, 0, pdu.sequence_number))
        self._can_submit = False
        if self._state in _BOUND:
            self._set_state(SessionState.UNBINDING)
        self.close("unbound by SMSC")

    def _deliver(self, pdu: Pdu) -> None:
        if self._state not in _CAN_RECEIVE:
            self.counters.deliver_refused += 1
            self.write(_resp_bytes(pdu.command_id | c.RESPONSE_BIT, c.ESME_RINVBNDSTS,
                                   pdu.sequence_number))
            return
        self.counters.delivers += 1
        try:
            status = self._listener.deliver(self, pdu)
        except Exception:
            log.failure("listener failed in deliver")
            status = c.ESME_RX_T_APPN
        if isinstance(status, int):
            self.write(_resp_bytes(pdu.command_id | c.RESPONSE_BIT, status, pdu.sequence_number))
        elif isinstance(status, Deferred):
            status.addCallbacks(
                self._deferred_answer,
                self._deferred_deliver_failed,
                callbackArgs=(pdu,),
                errbackArgs=(pdu,),
            )
        else:
            log.error("listener.deliver returned {result!r}, not a status", result=status)
            self.write(_resp_bytes(pdu.command_id | c.RESPONSE_BIT, c.ESME_RX_T_APPN,
                                   pdu.sequence_number))

    def _deferred_answer(self, status: object, pdu: Pdu) -> None:
        if not isinstance(status, int):
            log.error("listener.deliver fired with {result!r}, not a status", result=status)
            status = c.ESME_RX_T_APPN
        if not self._lost:
            self.write(_resp_bytes(pdu.command_id | c.RESPONSE_BIT, status,
                                   pdu.sequence_number))

    def _deferred_deliver_failed(self, failure: Failure, pdu: Pdu) -> None:
        log.failure("listener.deliver failed; answering ESME_RX_T_APPN", failure)
        self._deferred_answer(c.ESME_RX_T_APPN, pdu)

    def _tick(self) -> None:
        """The one periodic timer: every time-based rule runs here."""
        self._timer = None
        try:
            self._check(self._clock.seconds())
        except Exception:
            log.failure("SMPP session timer failed")
        if not self._lost:
            self._timer = self._clock.callLater(self._tick_interval, self._tick)

    def _check(self, now: float) -> None:
        rx = self._rx_count
        if rx != self._rx_seen:
            # Noting traffic here, not per PDU, keeps the clock off the hot path; idle
            # times are then exact to one tick.
            self._rx_seen = rx
            self._last_rx = now
        state = self._state
        if state is SessionState.CLOSED:
            since = self._closing_since
            if since is not None and now - since >= CLOSE_GRACE:
                self._closing_since = None
                abort_connection = getattr(self._transport, "abortConnection", None)
                if abort_connection is not None:
                    abort_connection()
            return
        if state is SessionState.BINDING:
            if now >= self._deadline:
                self.abort("bind timeout")
            return
        if state is SessionState.UNBINDING:
            if now >= self._deadline:
                self.abort("unbind timeout")
            return
        if state is SessionState.OPEN:
            return
        cfg = self.config
        idle = now - self._last_rx
        if cfg.connection_timeout and idle >= cfg.connection_timeout:
            self.counters.connection_timeouts += 1
            self.abort(f"connection timeout: nothing from the SMSC for {idle:.0f}s")
            return
        if self._inflight and cfg.wait_ack_expire != WaitAckExpire.NEVER_EXPIRE:
            self._expire_submits(now)
            if self._state is SessionState.CLOSED:
                return
        interval = cfg.enquire_link_interval
        if interval and idle >= interval and now - self._last_enquire >= interval:
            self._last_enquire = now
            self.counters.enquire_links_sent += 1
            self.write(HEADER.pack(HEADER_SIZE, c.ENQUIRE_LINK, 0, self._next_seq()))
        if self._tombstones:
            self._expire_tombstones(now)

    def _expire_submits(self, now: float) -> None:
        deadline = now - self.config.wait_ack
        expired: list[int] = []
        # Entries are in send order, so the expired ones are a prefix.
        for seq, entry in self._inflight.items():
            if entry[1] > deadline:
                break
            expired.append(seq)
        if not expired:
            return
        inflight = self._inflight
        self.counters.timeouts += len(expired)
        if self.config.wait_ack_expire == WaitAckExpire.RECONNECT:
            for seq in expired:
                self._fail(inflight.pop(seq), REASON_TIMEOUT)
            self.abort(f"wait-ack: {len(expired)} submits unanswered after "
                       f"{self.config.wait_ack:g}s")
            return
        tombstones = self._tombstones
        expires = now + self.config.late_response_ttl
        limit = self.config.late_response_max
        for seq in expired:
            entry = inflight.pop(seq)
            if limit:
                tombstones[seq] = (entry[0], expires, entry[2])
            self._fail(entry, REASON_TIMEOUT)
        while len(tombstones) > limit:
            del tombstones[next(iter(tombstones))]
            self.counters.tombstones_dropped += 1
        self._window_open()

    def _expire_tombstones(self, now: float) -> None:
        tombstones = self._tombstones
        stale: list[int] = []
        for seq, entry in tombstones.items():
            if entry[1] > now:
                break
            stale.append(seq)
        for seq in stale:
            del tombstones[seq]


class EsmeProtocol(Protocol):
    """Moves bytes between a socket and an `EsmeSession`; holds no SMPP state of its own.

    A read is answered in one write: the session collects its output while the read's
    PDUs are handled (responses free window slots, the listener fills them) and flushes
    at the end. No exception leaves `dataReceived`: Twisted would drop the connection
    without telling the session, and the in-flight tokens would be lost.
    """

    def __init__(self, session: EsmeSession) -> None:
        self.session = session
        self._framer = Framer(session.config.max_pdu_length)

    def connectionMade(self) -> None:
        # Kannel never sets TCP_NODELAY; with delayed ACKs on the SMSC side a lone
        # submit_sm then waits ~40 ms for its segment to leave.
        set_no_delay = getattr(self.transport, "setTcpNoDelay", None)
        if set_no_delay is not None:
            try:
                set_no_delay(True)
            except Exception:
                log.failure("could not set TCP_NODELAY")
        self.session.connection_made(self.transport)  # type: ignore[arg-type]

    def dataReceived(self, data: bytes) -> None:
        session = self.session
        session.hold_writes()
        try:
            for item in self._framer.feed(data):
                if item.__class__ is Pdu:
                    session.pdu_received(item)  # type: ignore[arg-type]
                else:
                    self._refuse(item)  # type: ignore[arg-type]
        except Exception:
            # Only a bug gets here (listener errors are caught in the session): the
            # session's state is unknown, so end it and let the owner reconnect.
            log.failure("SMPP session failed; closing the connection")
            try:
                session.abort("internal error")
            except Exception:
                log.failure("could not close the SMPP connection cleanly")
                self.transport.abortConnection()  # type: ignore[attr-defined]
        try:
            session.flush()
        except Exception:
            log.failure("could not write to the SMPP connection")

    def _refuse(self, err: SmppError) -> None:
        session = self.session
        session.write(encode(error_reply(err)))
        session.pdu_rejected(err)
        if err.fatal:
            session.close(f"unreadable stream from the SMSC: {err.message}")

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        self.session.connection_lost(reason.getErrorMessage())
