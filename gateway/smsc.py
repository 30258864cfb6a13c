"""One configured `group = smsc` (smsc = smpp): its connection, its submits, their outcome.

`SmscLink` wraps an `EsmeConnector` and is the `EsmeListener` of its sessions. It turns a
`Message` into a submit_sm (`gateway.submit`), keeps a short list of messages routed to it
while its window is full, and settles every message with the queue exactly the way Kannel's
bearerbox settles them (`bb_smscconn_send_failed` / `smpp_status_to_smscconn_failure_reason`):

* submit_sm_resp ESME_ROK → `queue.ack`, and `DeliveryEvents.submitted` with the SMSC's
  message id (the DLR store and the d=8 callback hang there);
* ESME_RMSGQFUL and ESME_RTHROTTLED → the carrier asks us to slow down: the link's
  `TokenBucket` (`gateway.throttle`, fed by the group's `throughput`, counted in segments)
  halves its rate (AIMD) and the same `Message` (same id, so its DLR mapping is unchanged)
  goes back to the *front* of this link's pending list, paced by the bucket rather than a
  fixed pause; it counts against `sms-resend-retry` as Kannel counts it;
* ESME_RX_T_APPN, ESME_RSYSERR → temporary: released to the queue after `sms-resend-freq`
  (a part of a multipart message waits on this link instead, see below), counted against
  `sms-resend-retry` (exhausted → failed, Kannel's "Retries Exceeded");
* any other status → failed for good: `queue.ack` and `DeliveryEvents.failed` with Kannel's
  reply text `NACK/0x%08lx/<text>` (the d=16 callback arrives with the DLR issue);
* no answer (timeout, connection lost) → released at once: the link is not alive, so,
  like Kannel, no resend delay and no retry counted; the dispatcher routes it again, to
  this link once it is back or to another one that shares its smsc-id;
* a message Kannel would not even send (addresses over 20 octets, …) → failed with
  `MALFORMED SMS`.

Parts of one multipart message (same `parent_id`) go out in order on a link: while one part
is in flight or waiting for a retry, the later parts that reach this link wait behind it
(they count against the link's room like its pending list), so a throttled part 1 never lets
part 2 overtake it. The dispatcher sends a later part to the link that holds its group, so
this holds across links sharing an smsc-id too.

The link tells the dispatcher when it binds, goes down, and has window slots free; that is
how the router learns connection state (`online`). deliver_sm (MO and receipts) is answered
ESME_ROK for now; the MO and DLR issues take it over through `DeliveryEvents.deliver`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any, Final, Protocol

from twisted.internet.defer import Deferred
from twisted.logger import Logger

from gateway.message import Message
from gateway.queue import MessageQueue
from gateway.submit import MalformedMessage, SubmitProfile, submit_sm_for
from gateway.throttle import TokenBucket
from protocols.smpp import constants as c
from protocols.smpp.esme import EsmeConnector
from protocols.smpp.pdu import Pdu, SmppError
from protocols.smpp.session import BindConfig, EsmeListener, EsmeSession, SessionError

log = Logger(namespace="passerelle.smsc")

#: submit_sm_resp statuses Kannel treats as temporary (smpp_status_to_smscconn_failure_reason).
TEMPORARY_STATUSES: Final = frozenset(
    {c.ESME_RMSGQFUL, c.ESME_RTHROTTLED, c.ESME_RX_T_APPN, c.ESME_RSYSERR}
)
#: The temporary statuses that mean "slow down": they feed the AIMD instead of a pause.
SLOW_DOWN_STATUSES: Final = frozenset({c.ESME_RMSGQFUL, c.ESME_RTHROTTLED})

#: `DeliveryEvents.failed` reasons (Kannel's SMSCCONN_FAILED_*).
FAILED_REJECTED: Final = "rejected"
FAILED_MALFORMED: Final = "malformed"
FAILED_EXPIRED: Final = "expired"
FAILED_DISCARDED: Final = "discarded"


class DeliveryEvents:
    """Where outcomes go beyond the queue: the DLR store, callbacks, access log, metrics.

    This base does nothing but log failures; the DLR issue subclasses it (d=8 on
    `submitted`, d=16 on `failed`, receipts through `deliver`).
    """

    def submitted(self, message: Message, link: SmscLink, message_id: str) -> None:
        """The SMSC took the message and named it `message_id` (Kannel's d=8 moment)."""
        return None

    def failed(self, message: Message, link: SmscLink | None, reason: str, text: str) -> None:
        """The message failed for good; `text` is Kannel's reply text (`NACK/0x…/…`,
        `MALFORMED SMS`, …), `reason` one of the FAILED_* constants."""
        log.warn(
            "FAILED Send SMS [SMSC:{smsc}] [to:{to}] {reason}: {text}",
            smsc=link.smsc_id if link is not None else "",
            to=message.receiver,
            reason=reason,
            text=text,
        )

    def deliver(self, link: SmscLink, pdu: Pdu) -> int | Deferred[int]:
        """A deliver_sm or data_sm (MO or receipt); the status to answer it with."""
        return c.ESME_ROK


class LinkOwner(Protocol):
    """What a link tells the dispatcher."""

    def link_up(self, link: SmscLink) -> None: ...

    def link_down(self, link: SmscLink) -> None: ...

    def link_window_open(self, link: SmscLink) -> None: ...


class _NoOwner:
    def link_up(self, link: SmscLink) -> None:
        return None

    def link_down(self, link: SmscLink) -> None:
        return None

    def link_window_open(self, link: SmscLink) -> None:
        return None


class LinkCounters:
    """Per-link counts for the status page (Kannel's `sent`, `failed`, `queued`)."""

    __slots__ = ("sent", "failed", "temporary", "requeued", "throttled")

    def __init__(self) -> None:
        self.sent = 0
        self.failed = 0
        self.temporary = 0
        self.requeued = 0
        #: Submits answered ESME_RTHROTTLED or ESME_RMSGQFUL.
        self.throttled = 0


class SmscLink(EsmeListener):
    """One smsc group's SMPP connection(s) and the messages it is sending.

    `key` is the group's index in the configuration (the router's key). `clock` is the
    reactor (connectTCP + callLater + seconds). `resend_freq` / `resend_retry` are the core
    group's `sms-resend-freq` / `sms-resend-retry`; `throughput` the group's (msg/s, None
    for no limit).
    """

    def __init__(
        self,
        key: int,
        bind_config: BindConfig,
        profile: SubmitProfile,
        queue: MessageQueue,
        clock: Any,
        *,
        events: DeliveryEvents | None = None,
        resend_freq: float = 60.0,
        resend_retry: int = -1,
        throughput: float | None = None,
        wall_clock: Callable[[], float] | None = None,
        connector_factory: Callable[..., EsmeConnector] = EsmeConnector,
    ) -> None:
        self.key = key
        self.bind_config = bind_config
        self.profile = profile
        self.queue = queue
        self.clock = clock
        self.events = events if events is not None else DeliveryEvents()
        self.resend_freq = resend_freq
        self.resend_retry = resend_retry
        self.owner: LinkOwner = _NoOwner()
        self.counters = LinkCounters()
        #: Messages routed here while the window was full; sent first when it opens.
        self.pending: deque[Message] = deque()
        self._wall = wall_clock if wall_clock is not None else clock.seconds
        #: Segments this link may send now (throughput + AIMD).
        self.bucket = TokenBucket(throughput, clock.seconds)
        self._resume_call: Any = None
        #: Multipart groups with a part in flight or retrying here → their later parts.
        self._groups: dict[str, deque[Message]] = {}
        #: Parts waiting in `_groups` (they use room like `pending`).
        self._blocked = 0
        self._retry_calls: dict[str, Any] = {}
        self.connector = connector_factory(bind_config, self, reactor=clock)

    # -- what the dispatcher and the router ask --------------------------------------------

    @property
    def smsc_id(self) -> str:
        """The group's smsc-id, or Kannel's default connection name."""
        return self.profile.smsc_id or self.bind_config.name

    @property
    def online(self) -> bool:
        """Bound for submitting right now (what the router's `is_online` answers)."""
        return self.connector.transmitter is not None

    @property
    def window_size(self) -> int:
        """max-pending-submits: also the cap of `pending`."""
        return self.bind_config.max_pending_submits

    @property
    def room(self) -> int:
        """How many more messages this link can take now without waiting."""
        session = self.connector.transmitter
        if session is None:
            return 0
        tokens = self.bucket.available
        if tokens <= 0:
            self._wait_for_tokens()
        return max(0, min(session.window_free, tokens) - len(self.pending) - self._blocked)

    @property
    def session(self) -> EsmeSession | None:
        """The session submits go on."""
        return self.connector.transmitter

    @property
    def status(self) -> str:
        """Kannel's words for the status page (`online Ns`, `re-connecting`, …)."""
        return self.connector.status

    def start(self) -> None:
        """Connect and bind (and keep reconnecting)."""
        self.connector.start()

    def stop(self) -> Deferred[None]:
        """Unbind and close; what is pending or unanswered goes back to the queue."""
        d = self.connector.stop()
        self._release_pending()
        if self._resume_call is not None and self._resume_call.active():
            self._resume_call.cancel()
        self._resume_call = None
        return d

    def holds_group(self, parent_id: str) -> bool:
        """A part of this multipart message is on the wire or retrying here: its later parts
        must come here too, to go out after it."""
        return parent_id in self._groups

    @property
    def waiting(self) -> int:
        """Messages this link holds that are not on the wire (pending + blocked parts)."""
        return len(self.pending) + self._blocked

    def take(self, message: Message) -> bool:
        """Send `message` now, or keep it until the window, the bucket or its multipart
        group lets it go; False if the link is not online or already keeps a whole window's
        worth (the caller keeps it then)."""
        session = self.connector.transmitter
        if session is None:
            return False
        if message.parts > 1 and message.parent_id in self._groups:
            if self.waiting >= self.window_size:
                return False
            self._groups[message.parent_id].append(message)
            self._blocked += 1
            return True
        if not self.pending and session.window_free > 0 and self.bucket.take():
            self._submit(session, message)
            return True
        if self.waiting >= self.window_size:
            return False
        self.pending.append(message)
        self._wait_for_tokens()
        return True

    # -- sending -----------------------------------------------------------------------

    def _submit(self, session: EsmeSession, message: Message) -> None:
        if message.parts > 1 and message.parent_id not in self._groups:
            self._groups[message.parent_id] = deque()
        try:
            pdu = submit_sm_for(message, self.profile, now=self._wall())
        except MalformedMessage as err:
            self._fail(message, FAILED_MALFORMED, str(err))
            return
        try:
            session.submit(pdu, message)
        except SmppError:
            # The codec refused a field (too long, not an octet): Kannel's MALFORMED SMS.
            self._fail(message, FAILED_MALFORMED, "MALFORMED SMS")
        except SessionError:
            # Lost the bind or the window between the check and now: try again later.
            self._requeue_group(message)

    def _drain(self) -> None:
        """Send what waited for the window or the bucket, oldest first; a part whose group
        has a part on the wire steps aside into that group."""
        pending = self.pending
        session = self.connector.transmitter
        if session is None:
            return
        groups = self._groups
        bucket = self.bucket
        while pending and session.window_free > 0 and session.can_submit:
            message = pending[0]
            if message.parts > 1 and message.parent_id in groups:
                pending.popleft()
                groups[message.parent_id].append(message)
                self._blocked += 1
                continue
            if not bucket.take():
                self._wait_for_tokens()
                return
            pending.popleft()
            self._submit(session, message)

    def _wait_for_tokens(self) -> None:
        """Look again when the bucket has refilled (one timer, only while needed)."""
        if self._resume_call is not None and self._resume_call.active():
            return
        delay = self.bucket.delay()
        if delay <= 0:
            return
        self._resume_call = self.clock.callLater(delay, self._resume)

    def _resume(self) -> None:
        self._resume_call = None
        if self.connector.transmitter is None:
            return
        self._drain()
        self.owner.link_window_open(self)

    def _group_done(self, message: Message) -> None:
        """`message` left the wire for good (sent, failed): its group's next part may go."""
        if message.parts <= 1:
            return
        waiting = self._groups.pop(message.parent_id, None)
        if waiting:
            self._blocked -= len(waiting)
            self.pending.extendleft(reversed(waiting))

    def _retry_here(self, message: Message, delay: float) -> None:
        """Send `message` again from this link, ahead of its group's later parts: at once
        (paced by the bucket) or after `delay`."""
        waiting = self._groups.pop(message.parent_id, None) if message.parts > 1 else None
        if waiting is not None:
            self._blocked -= len(waiting)
            waiting.appendleft(message)
        else:
            waiting = deque((message,))
        if delay <= 0:
            self.pending.extendleft(reversed(waiting))
            self._wait_for_tokens()
            return
        # The group stays registered (later parts keep waiting) until the retry is due.
        self._groups[message.parent_id] = waiting
        self._blocked += len(waiting)
        self._retry_calls[message.parent_id] = self.clock.callLater(
            delay, self._retry_due, message.parent_id
        )

    def _retry_due(self, parent_id: str) -> None:
        self._retry_calls.pop(parent_id, None)
        waiting = self._groups.pop(parent_id, None)
        if waiting:
            self._blocked -= len(waiting)
            self.pending.extendleft(reversed(waiting))
        self._drain()
        self.owner.link_window_open(self)

    def _requeue_group(self, message: Message) -> None:
        """Give `message` and its group's later parts waiting here back to the queue, in
        order (the queue puts each release in front, so the last part goes first)."""
        waiting = self._groups.pop(message.parent_id, None) if message.parts > 1 else None
        if waiting:
            self._blocked -= len(waiting)
            for part in reversed(waiting):
                self.queue.release(part)
            self.counters.requeued += len(waiting)
        self.queue.release(message)

    def _release_pending(self) -> None:
        for call in self._retry_calls.values():
            if call.active():
                call.cancel()
        self._retry_calls = {}
        held: list[Message] = []
        for waiting in self._groups.values():
            held.extend(waiting)
        self._groups = {}
        self._blocked = 0
        held.extend(self.pending)
        self.pending = deque()
        # Released newest first, so each goes in front of the one after it and the queue
        # gets them back in their original order.
        for message in reversed(held):
            self.queue.release(message)
        self.counters.requeued += len(held)

    def _fail(self, message: Message, reason: str, text: str) -> None:
        self.counters.failed += 1
        self.queue.ack(message)
        self._group_done(message)
        try:
            self.events.failed(message, self, reason, text)
        except Exception:
            log.failure("DeliveryEvents.failed raised")

    # -- EsmeListener ------------------------------------------------------------------

    def bound(self, session: EsmeSession) -> None:
        if session.can_submit:
            self.owner.link_up(self)

    def unbound(self, session: EsmeSession, reason: str) -> None:
        if self.connector.transmitter is None:
            self._release_pending()
            self.owner.link_down(self)

    def window_open(self, session: EsmeSession) -> None:
        self._drain()
        self.owner.link_window_open(self)

    def submit_response(self, session: EsmeSession, token: Any, resp: Pdu) -> None:
        message: Message = token
        status = resp.command_status
        if status == c.ESME_ROK:
            self.counters.sent += 1
            self.queue.ack(message)
            self.bucket.succeeded()
            if message.parts > 1:
                self._group_done(message)
            raw_id = resp.params.get("message_id", b"")
            message_id = raw_id.decode("latin-1") if isinstance(raw_id, bytes) else str(raw_id)
            try:
                self.events.submitted(message, self, message_id)
            except Exception:
                log.failure("DeliveryEvents.submitted raised")
            return
        if status in TEMPORARY_STATUSES:
            self._temporary(message, status)
            return
        self._fail(message, FAILED_REJECTED, f"NACK/0x{status:08x}/{c.status_text(status)}")

    def _temporary(self, message: Message, status: int) -> None:
        self.counters.temporary += 1
        if status in SLOW_DOWN_STATUSES:
            self.counters.throttled += 1
            self.bucket.throttled()
        if 0 <= self.resend_retry <= message.attempts:
            self._fail(message, FAILED_DISCARDED, "Retries Exceeded")
            return
        message.attempts += 1
        if status in SLOW_DOWN_STATUSES:
            self._retry_here(message, 0.0)
        elif message.parts > 1:
            self._retry_here(message, self.resend_freq)
        else:
            self.queue.release(message, self.resend_freq)

    def submit_failed(self, session: EsmeSession, token: Any, reason: str) -> None:
        self.counters.requeued += 1
        self._requeue_group(token)

    def late_response(self, session: EsmeSession, token: Any, resp: Pdu) -> None:
        # The message was re-queued at its timeout and may go out twice (at-least-once);
        # the DLR issue records this id too so a receipt for either copy is matched.
        return None

    def deliver(self, session: EsmeSession, pdu: Pdu) -> int | Deferred[int]:
        return self.events.deliver(self, pdu)
