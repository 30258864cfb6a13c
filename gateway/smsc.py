"""One configured `group = smsc` (smsc = smpp): its connection, its submits, their outcome.

`SmscLink` wraps an `EsmeConnector` and is the `EsmeListener` of its sessions. It turns a
`Message` into a submit_sm (`gateway.submit`), keeps a short list of messages routed to it
while its window is full, and settles every message with the queue exactly the way Kannel's
bearerbox settles them (`bb_smscconn_send_failed` / `smpp_status_to_smscconn_failure_reason`):

* submit_sm_resp ESME_ROK → `queue.ack`, and `DeliveryEvents.submitted` with the SMSC's
  message id (the DLR store and the d=8 callback hang there);
* ESME_RMSGQFUL, ESME_RTHROTTLED, ESME_RX_T_APPN, ESME_RSYSERR → temporary: released to the
  queue after `sms-resend-freq`, counted against `sms-resend-retry` (exhausted → failed,
  Kannel's "Retries Exceeded"); ESME_RTHROTTLED also pauses this link for one second, as
  Kannel does, and its message comes back after that second rather than a whole
  resend period (no client can tell, and the carrier asked for a pause, not a minute);
* any other status → failed for good: `queue.ack` and `DeliveryEvents.failed` with Kannel's
  reply text `NACK/0x%08lx/<text>` (the d=16 callback arrives with the DLR issue);
* no answer (timeout, connection lost) → released at once: the link is not alive, so,
  like Kannel, no resend delay and no retry counted; the dispatcher routes it again, to
  this link once it is back or to another one that shares its smsc-id;
* a message Kannel would not even send (addresses over 20 octets, …) → failed with
  `MALFORMED SMS`.

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
from protocols.smpp import constants as c
from protocols.smpp.esme import EsmeConnector
from protocols.smpp.pdu import Pdu, SmppError
from protocols.smpp.session import BindConfig, EsmeListener, EsmeSession, SessionError

log = Logger(namespace="passerelle.smsc")

#: submit_sm_resp statuses Kannel treats as temporary (smpp_status_to_smscconn_failure_reason).
TEMPORARY_STATUSES: Final = frozenset(
    {c.ESME_RMSGQFUL, c.ESME_RTHROTTLED, c.ESME_RX_T_APPN, c.ESME_RSYSERR}
)
#: How long Kannel stops submitting on a connection after ESME_RTHROTTLED.
THROTTLE_PAUSE: Final = 1.0

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

    __slots__ = ("sent", "failed", "temporary", "requeued")

    def __init__(self) -> None:
        self.sent = 0
        self.failed = 0
        self.temporary = 0
        self.requeued = 0


class SmscLink(EsmeListener):
    """One smsc group's SMPP connection(s) and the messages it is sending.

    `key` is the group's index in the configuration (the router's key). `clock` is the
    reactor (connectTCP + callLater + seconds). `resend_freq` / `resend_retry` are the core
    group's `sms-resend-freq` / `sms-resend-retry`.
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
        self._paused_until = 0.0
        self._resume_call: Any = None
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
        if session is None or self._paused_until > self.clock.seconds():
            return 0
        return max(0, session.window_free - len(self.pending))

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

    def take(self, message: Message) -> bool:
        """Send `message` now, or keep it until the window opens; False if the link is
        not online or already keeps a whole window's worth (the caller keeps it then)."""
        session = self.connector.transmitter
        if session is None:
            return False
        if (
            not self.pending
            and session.window_free > 0
            and self._paused_until <= self.clock.seconds()
        ):
            self._submit(session, message)
            return True
        if len(self.pending) >= self.window_size:
            return False
        self.pending.append(message)
        return True

    # -- sending -----------------------------------------------------------------------

    def _submit(self, session: EsmeSession, message: Message) -> None:
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
            self.queue.release(message)

    def _drain(self) -> None:
        """Send what waited for the window, oldest first."""
        pending = self.pending
        session = self.connector.transmitter
        if session is None or self._paused_until > self.clock.seconds():
            return
        while pending and session.window_free > 0 and session.can_submit:
            self._submit(session, pending.popleft())

    def _release_pending(self) -> None:
        pending, self.pending = self.pending, deque()
        # Released newest first, so each goes in front of the one after it and the queue
        # gets them back in their original order.
        for message in reversed(pending):
            self.queue.release(message)
        self.counters.requeued += len(pending)

    def _fail(self, message: Message, reason: str, text: str) -> None:
        self.counters.failed += 1
        self.queue.ack(message)
        try:
            self.events.failed(message, self, reason, text)
        except Exception:
            log.failure("DeliveryEvents.failed raised")

    def _pause(self, seconds: float) -> None:
        now = self.clock.seconds()
        self._paused_until = max(self._paused_until, now + seconds)
        if self._resume_call is None or not self._resume_call.active():
            self._resume_call = self.clock.callLater(seconds, self._resume)

    def _resume(self) -> None:
        self._resume_call = None
        if self._paused_until > self.clock.seconds():
            self._resume_call = self.clock.callLater(
                self._paused_until - self.clock.seconds(), self._resume
            )
            return
        self._drain()
        self.owner.link_window_open(self)

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
        if 0 <= self.resend_retry <= message.attempts:
            self._fail(message, FAILED_DISCARDED, "Retries Exceeded")
            return
        message.attempts += 1
        if status == c.ESME_RTHROTTLED:
            self._pause(THROTTLE_PAUSE)
            self.queue.release(message, THROTTLE_PAUSE)
        else:
            self.queue.release(message, self.resend_freq)

    def submit_failed(self, session: EsmeSession, token: Any, reason: str) -> None:
        self.counters.requeued += 1
        self.queue.release(token)

    def late_response(self, session: EsmeSession, token: Any, resp: Pdu) -> None:
        # The message was re-queued at its timeout and may go out twice (at-least-once);
        # the DLR issue records this id too so a receipt for either copy is matched.
        return None

    def deliver(self, session: EsmeSession, pdu: Pdu) -> int | Deferred[int]:
        return self.events.deliver(self, pdu)
