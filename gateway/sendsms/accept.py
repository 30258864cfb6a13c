"""A validated sendsms request → `Message`s in the queue, and Kannel's answer.

What smsbox and bearerbox do between "the request is valid" and the HTTP reply, in one
place (REFERENCE §2.7, §2.11, §2.12):

* **Text → payload** (§2.12): coding 0 takes the octets as UTF-8 (after converting them from
  `charset` when one is given) and turns them into GSM 03.38 septets, one per octet, with
  Kannel's forgiving UTF-8 reader (invalid octets do not reject); coding 2 converts from
  `charset` to UTF-16BE, or sends the octets unchanged when there is no charset (obs.:
  `text=Hi&coding=2` → `4869`); coding 1 always sends the octets unchanged.
* **Splitting** (§2.11) per the user's max-messages (default 1: a long text is silently cut
  to one SMS), concatenation, split-chars, split-suffix, header and footer, at smsbox
  `sms-length` octets, through `protocols.sms.split`. Concatenated parts share one 8-bit
  reference from a gateway-wide counter that moves on for every split message, as
  bearerbox's does.
* **One `Message` per receiver and per part**, every part carrying the id of its receiver's
  first part as `parent_id`. The dlr-url falls back to the user's `dlr-url`; the smsc id is
  forced-smsc, else the request's `smsc`, else default-smsc.
* **Routing**: the router judges each receiver (and normalises it with the core
  unified-prefix). The answer is the first receiver's, because Kannel answers with the first
  acknowledgement bearerbox sends back: `202 0: Accepted for delivery` when an SMSC that can
  take it is online, `202 3: Queued for later delivery` when only offline ones could,
  `403 Not routable. Do not try again.` when none ever could. Receivers that are not
  routable are never queued; the others are, even when the first one is not (Kannel sends
  them too).
* **Queueing**: all messages of a request go to the queue in one `put`, and the reply waits
  until that put has fired (for the spool: fsync'd), which is where Kannel waits for
  bearerbox's ack. A full queue is `503 Temporal failure, try again later.` and stores
  nothing; any other failure to store is Kannel's `500 Sending failed.` (with
  ` Failed receivers are: …` when the request named more than one receiver).

Priority and lanes: a request's `priority` (0-3) is capped by the user's `max_lane`; a user's
`forced_lane` replaces it; without `priority` the message keeps Kannel's "unset" (the SMSC
group's default priority applies on the wire) unless the user has a non-zero `default_lane`.

Deliberate differences: a user with `max-messages = 0` gets `202 0: Accepted for delivery`
and nothing is sent (Kannel never answers such a request at all, obs.); with
`immediate-sendsms-reply` the reply ("Sent." …) still waits for the queue, because 202 means
stored here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Protocol

from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.python.failure import Failure

from gateway.message import UNSET, Message, new_id
from gateway.queue import MessageQueue, QueueFull
from gateway.routing import RouteVerdict
from gateway.sendsms.params import SendsmsRequest
from gateway.sendsms.validate import (
    NumberList,
    Rejected,
    Validator,
    ValidRequest,
    load_number_lists,
)
from gateway.submit import national_tables
from protocols.sms.charset import decode_text, to_ucs2, to_utf8
from protocols.sms.dcs import DC_7BIT, DC_UCS2
from protocols.sms.gsm import to_gsm, utf8_to_gsm
from protocols.sms.split import Part, add_ies, national_ies, split

if TYPE_CHECKING:
    from gateway.config import GatewayConfig, SendsmsUser

ACCEPTED: Final = "0: Accepted for delivery"
QUEUED: Final = "3: Queued for later delivery"
NOT_ROUTABLE: Final = "Not routable. Do not try again."
TEMPORARY_FAILURE: Final = "Temporal failure, try again later."
SENDING_FAILED: Final = "Sending failed."


class Router(Protocol):
    """What the accept path needs from `gateway.routing.Router`."""

    def verdict(self, message: Message) -> RouteVerdict:
        """Normalise `message.receiver` in place and judge whether it can be routed."""
        ...


@dataclass(frozen=True, slots=True)
class Reply:
    """Kannel's answer to one request, and what the access log should say about it.

    `valid` is set once the request passed validation (the access log then writes one
    `send-SMS request added` line per receiver); `failure` is set for the refusals smsbox
    logs as `send-SMS request failed - <failure>`.
    """

    status: int
    body: str
    valid: ValidRequest | None = None
    failure: str | None = None
    messages: int = 0


def payload_of(
    text: bytes, coding: int, charset: str | None, *, locking: int = 0, single: int = 0
) -> bytes:
    """Request octets → the user data Kannel puts on the wire for this coding (§2.12);
    7-bit in the national tables `locking`/`single` when the target smsc sets them."""
    if coding == DC_7BIT:
        return utf8_to_gsm(to_utf8(text, charset), locking=locking, single=single)
    if coding == DC_UCS2 and charset is not None:
        return to_ucs2(decode_text(text, charset))
    return text


def decoration_of(value: str | None, coding: int, *, locking: int = 0, single: int = 0) -> bytes:
    """A header, footer or split-suffix from the configuration in the payload's coding."""
    if not value:
        return b""
    if coding == DC_7BIT:
        return to_gsm(value, locking=locking, single=single)
    if coding == DC_UCS2:
        return to_ucs2(value)
    return value.encode("utf-8")


class Acceptor:
    """Turns sendsms requests into queued messages and Kannel's replies.

    `router` judges receivers (`gateway.routing.Router`), `queue` stores what is accepted
    (`gateway.queue.MessageQueue`), `clock` stamps messages. `lists` are the loaded
    white/black number lists (`validate.load_number_lists`; fetched here, blocking, when not
    given, as Kannel fetches them at start-up); `user_prefixes` turns on the
    documented sendsms-user allowed/denied-prefix filtering that Kannel 1.4.5 does not do.
    """

    def __init__(
        self,
        config: GatewayConfig,
        router: Router,
        queue: MessageQueue,
        clock: IReactorTime,
        *,
        lists: dict[str, NumberList] | None = None,
        user_prefixes: bool = False,
    ) -> None:
        if lists is None:
            # Kannel fetches its number lists once at start-up, blocking; so do we.
            lists = load_number_lists(config)
        self.validator = Validator(config, lists, user_prefixes=user_prefixes)
        assert config.smsbox is not None  # Validator refuses a config without one
        self.sms_length = config.smsbox.sms_length
        self.immediate_reply = config.smsbox.immediate_sendsms_reply
        self.router = router
        self.queue = queue
        self.clock = clock
        self._concat_ref = 0
        self._national = national_tables(config.smscs)

    def handle(self, request: SendsmsRequest, client_ip: str) -> Deferred[Reply]:
        """Validate, build, route and queue one request; fires with Kannel's reply."""
        try:
            valid = self.validator.validate(request, client_ip)
        except Rejected as rejection:
            return succeed(
                Reply(
                    rejection.status,
                    rejection.body,
                    failure=rejection.body if rejection.logged else None,
                )
            )
        return self.accept(valid, request_receivers=self._receiver_count(request))

    @staticmethod
    def _receiver_count(request: SendsmsRequest) -> int:
        """How many receivers the request named, denied ones included (Kannel's no_recv)."""
        if request.receivers is not None:
            return len(request.receivers)
        return len((request.to or b"").split())

    def accept(self, valid: ValidRequest, *, request_receivers: int = 1) -> Deferred[Reply]:
        """Build, route and queue the messages of a validated request."""
        user = valid.user
        now = self.clock.seconds()
        # National language tables (ours) when the smsc id asked for sets them: see
        # docs/native.md. Their IEs join the client's UDH.
        locking, single = (0, 0)
        if valid.coding == DC_7BIT and self._national:
            locking, single = self._national.get(valid.smsc_id or "", (0, 0))
        tables = {"locking": locking, "single": single}
        payload = payload_of(valid.text, valid.coding, valid.charset, **tables)
        header = decoration_of(user.header, valid.coding, **tables)
        footer = decoration_of(user.footer, valid.coding, **tables)
        suffix = decoration_of(user.split_suffix, valid.coding, **tables)
        udh = add_ies(valid.udh or b"", national_ies(locking, single))
        priority = self._priority(user, valid.priority)
        dlr_url = valid.dlr_url or user.dlr_url or ""

        first_verdict: RouteVerdict | None = None
        batch: list[Message] = []
        queued_receivers: list[str] = []
        splits = 0
        for receiver in valid.receivers:
            parts = self._split(user, payload, valid, header, footer, suffix, udh)
            splits = len(parts)
            messages = [
                self._message(valid, user, receiver, part, priority, dlr_url, now) for part in parts
            ]
            if not messages:
                continue
            link_parts(messages)
            verdict = self.router.verdict(messages[0])
            for message in messages[1:]:
                message.receiver = messages[0].receiver
            if first_verdict is None:
                first_verdict = verdict
            if verdict is not RouteVerdict.NOT_ROUTABLE:
                batch.extend(messages)
                queued_receivers.append(receiver)

        if self.immediate_reply:
            body = "Sent."
            if valid.denied:
                body += " Denied receivers are: " + " ".join(valid.denied)
            if splits > 1:
                body += f" Message splits: {splits}"
            status, text = 202, body
        elif first_verdict is None:  # max-messages = 0: nothing to send
            status, text = 202, ACCEPTED
        elif first_verdict is RouteVerdict.NOT_ROUTABLE:
            status, text = 403, NOT_ROUTABLE
        elif first_verdict is RouteVerdict.QUEUED:
            status, text = 202, QUEUED
        else:
            status, text = 202, ACCEPTED

        reply = Reply(status, text, valid=valid, messages=len(batch))
        if not batch:
            return succeed(reply)
        try:
            stored = self.queue.put(batch)
        except QueueFull:
            return succeed(Reply(503, TEMPORARY_FAILURE, valid=valid))
        except Exception:  # a broken store: Kannel's "could not pass it to bearerbox"
            stored = fail()

        def stored_ok(_: object) -> Reply:
            return reply

        def store_failed(failure: Failure) -> Reply:
            if failure.check(QueueFull):
                return Reply(503, TEMPORARY_FAILURE, valid=valid)
            body = SENDING_FAILED
            if request_receivers > 1:
                body += " Failed receivers are: " + " ".join(queued_receivers)
            return Reply(500, body, valid=valid)

        return stored.addCallbacks(stored_ok, store_failed)

    def _split(
        self,
        user: SendsmsUser,
        payload: bytes,
        valid: ValidRequest,
        header: bytes,
        footer: bytes,
        suffix: bytes,
        udh: bytes,
    ) -> list[Part]:
        """The parts for one receiver; the concatenation reference moves on when used."""
        parts = split(
            payload,
            valid.coding,
            udh=udh,
            concatenation=user.concatenation,
            max_messages=user.max_messages,
            ref=self._concat_ref,
            split_chars=user.split_chars,
            split_suffix=suffix,
            header=header,
            footer=footer,
            max_octets=self.sms_length,
        )
        if len(parts) > 1:
            self._concat_ref = (self._concat_ref + len(parts)) & 0xFF
        return parts

    @staticmethod
    def _priority(user: SendsmsUser, requested: int) -> int:
        """The message's priority (= lane): see the module docstring."""
        if user.forced_lane is not None:
            return user.forced_lane
        if requested != UNSET:
            return min(requested, user.max_lane)
        return user.default_lane if user.default_lane else UNSET

    @staticmethod
    def _message(
        valid: ValidRequest,
        user: SendsmsUser,
        receiver: str,
        part: Part,
        priority: int,
        dlr_url: str,
        now: float,
    ) -> Message:
        """One part to one receiver (its `parent_id` is set by `link_parts`)."""
        message_id = new_id()
        return Message(
            id=message_id,
            parent_id=message_id,
            sender=valid.sender,
            receiver=receiver,
            payload=part.payload,
            coding=valid.coding,
            udh=part.udh,
            part=part.seq,
            parts=part.total,
            username=user.name,
            account=valid.account,
            smsc_id=valid.smsc_id or "",
            mclass=valid.mclass,
            mwi=valid.mwi,
            compress=valid.compress,
            alt_dcs=max(valid.alt_dcs, 0),
            pid=max(valid.pid, 0),
            rpi=valid.rpi,
            priority=priority,
            validity=valid.validity,
            deferred=valid.deferred,
            dlr_mask=max(valid.dlr_mask, 0),
            dlr_url=dlr_url,
            binfo=valid.binfo,
            charset=valid.charset or "",
            meta_data=valid.meta_data,
            created=now,
        )


def link_parts(messages: Sequence[Message]) -> None:
    """Give every part the id of the first part as `parent_id`."""
    if messages:
        parent = messages[0].id
        for message in messages:
            message.parent_id = parent
