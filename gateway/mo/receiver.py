"""MO messages from SMSC links to sms-services, with the status the SMSC is answered with.

`MoReceiver.receive` is called by a link for every deliver_sm / data_sm that is not a
receipt. What bearerbox and smsbox do between them happens here, in their order:

1. the PDU becomes an `InboundSms` (`inbound.inbound_sms`); a malformed one is answered
   with Kannel's error status (ESME_RINVSRCADR, ESME_RINVESMCLASS, …) and dropped;
2. the sender is normalised by the link's then the core's `unified-prefix`; the core's
   white/black lists of senders and receivers refuse with ESME_RX_R_APPN (Kannel's
   "REJECTED Receive SMS");
3. with `sms-combine-concatenated-mo` (default), parts are held (`concat.Reassembler`) and
   answered ESME_ROK at once, as bearerbox does; they are kept **in memory only** until
   their group is complete, bounded by the timeout and by `max_concat_groups` /
   `max_concat_bytes` (given-up groups are handled part by part, as Kannel does on timeout);
4. smsbox: `mo-recode` turns UCS-2 into UTF-8; an MO without sender or receiver is dropped
   (answered OK: Kannel's bearerbox had already acknowledged it); the service is chosen
   (`services.ServiceSelector`), and its action runs (`actions`).

Durability: the SMSC gets ESME_ROK only once the MO is safely somewhere: the reply SMS put
into the queue and that put fired (spool: fsync'd), or the URL request put into the
callbacks outbox and that put fired. A full or failing queue or outbox answers
ESME_RX_T_APPN, so the SMSC delivers the MO again later. The reply to a URL service is built
when the outbox reports the final answer (`on_result`); if the queue refuses it then, the
failing Deferred is handed back to the outbox.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol

from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.internet.task import deferLater
from twisted.python.failure import Failure

from gateway.callbacks import HttpJob
from gateway.message import Message, new_id
from gateway.mo.actions import (
    JOB_KIND,
    MoContext,
    ReplyBuilder,
    ReplyContent,
    answer_content,
    http_request,
    reply_sender,
    static_content,
)
from gateway.mo.concat import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_GROUPS,
    Held,
    Reassembler,
    Whole,
)
from gateway.mo.inbound import InboundSms, MalformedMo, inbound_sms, smsc_groups, tlvs_for
from gateway.mo.services import ServiceSelector, load_service_lists
from gateway.queue import MessageQueue
from gateway.routing import RouteVerdict, normalize_number
from protocols.smpp import constants as c
from protocols.smpp.pdu import Pdu
from protocols.sms.charset import from_ucs2
from protocols.sms.dcs import DC_7BIT, DC_UCS2

if TYPE_CHECKING:
    from gateway.config import GatewayConfig, SmsService
    from gateway.sendsms.validate import NumberList

log = logging.getLogger(__name__)

#: A reply the queue refuses is tried again this often, this many times, before it is lost.
STORE_RETRY_DELAY: Final = 5.0
STORE_TRIES: Final = 60


class Outbox(Protocol):
    """What MO handling needs from `gateway.callbacks.Outbox`."""

    def register(self, kind: str, on_result: Any) -> None: ...

    def put(self, jobs: Sequence[Any]) -> Deferred[None]: ...


class Router(Protocol):
    """What MO handling needs from `gateway.routing.Router` (optional)."""

    def verdict(self, message: Message) -> RouteVerdict: ...


@dataclass(slots=True)
class MoCounters:
    """What happened to MOs since start (for status and metrics)."""

    received: int = 0  # deliver_sm / data_sm MOs handed to `receive`
    replied: int = 0  # reply batches stored in the queue
    failed: int = 0  # MOs answered with a temporary error, or lost after a give-up
    no_service: int = 0  # MOs no sms-service took ("Request Failed" replies)
    rejected: int = 0  # refused by the core white/black lists
    malformed: int = 0  # refused as Kannel refuses them
    requests: int = 0  # URL requests stored in the outbox


class MoReceiver:
    """Turns MO PDUs into service actions and reply SMS.

    `queue` takes the reply messages, `outbox` the URL requests (kind "mo"; its results come
    back to `on_result`), `clock` stamps and times out. `lists` maps white/black list URLs to
    loaded lists (fetched here, blocking, when not given — Kannel loads them at start-up);
    `router`, when given, judges each reply like a sendsms message (unroutable replies are
    dropped, as bearerbox rejects them).
    """

    def __init__(
        self,
        config: GatewayConfig,
        queue: MessageQueue,
        outbox: Outbox,
        clock: IReactorTime,
        *,
        lists: Mapping[str, NumberList] | None = None,
        router: Router | None = None,
        max_concat_groups: int = DEFAULT_MAX_GROUPS,
        max_concat_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        if lists is None:
            lists = load_service_lists(config)
        self.queue = queue
        self.outbox = outbox
        self.clock = clock
        self.counters = MoCounters()
        self.reconfigure(config, lists, router)
        core = config.core
        self.reassembler = Reassembler(
            clock,
            self._give_up,
            timeout=core.sms_combine_concatenated_mo_timeout,
            max_groups=max_concat_groups,
            max_bytes=max_concat_bytes,
        )
        outbox.register(JOB_KIND, self.on_result)

    def reconfigure(
        self, config: GatewayConfig, lists: Mapping[str, NumberList], router: Router | None
    ) -> None:
        """Take a new configuration (a SIGHUP reload): services, lists, reply texts, smsc
        settings and routes apply to the next MO; parts held for reassembly stay held, and
        the reassembly bounds set at construction stay."""
        self.config = config
        self.router = router
        self.lists = dict(lists)
        self.selector = ServiceSelector(config.services, self.lists)
        self.replies = ReplyBuilder(config)
        self.smscs = smsc_groups(config.smscs)
        self.mo_recode = bool(config.smsbox is not None and config.smsbox.mo_recode)
        self.combine = config.core.sms_combine_concatenated_mo

    @property
    def concat_pending(self) -> int:
        """Concatenated MOs waiting for parts."""
        return self.reassembler.pending

    def stop(self) -> None:
        """Shutdown: handle the held parts one by one now, as Kannel does when it stops."""
        self.reassembler.flush()

    # -- the SMSC side ------------------------------------------------------------------

    def receive(self, smsc_id: str, account: str, pdu: Pdu) -> Deferred[int]:
        """Handle one MO PDU received on link `smsc_id` bound as `account` (system_id);
        fires with the command_status of its deliver_sm_resp / data_sm_resp."""
        self.counters.received += 1
        smsc = self.smscs.get(smsc_id)
        try:
            sms = inbound_sms(
                pdu,
                smsc_id=smsc_id,
                account=account,
                message_id=new_id(),
                now=self.clock.seconds(),
                smsc=smsc,
                tlvs=tlvs_for(smsc_id, self.config.smpp_tlvs),
            )
        except MalformedMo as refusal:
            self.counters.malformed += 1
            log.warning("MO refused on %s: %s", smsc_id, refusal)
            return succeed(refusal.status)
        if smsc is not None and smsc.unified_prefix:
            sms.sender = normalize_number(smsc.unified_prefix, sms.sender)
        if self.config.core.unified_prefix:
            sms.sender = normalize_number(self.config.core.unified_prefix, sms.sender)
        reason = self._core_lists_refuse(sms)
        if reason is not None:
            self.counters.rejected += 1
            log.info("MO from %s to %s rejected: %s", sms.sender, sms.receiver, reason)
            return succeed(c.ESME_RX_R_APPN)
        if not self.combine:
            return self._answer(self._serve(sms))
        outcome = self.reassembler.add(sms)
        if outcome is None:
            return self._answer(self._serve(sms))
        if isinstance(outcome, Held):
            return succeed(c.ESME_ROK)
        return self._answer(self._serve(outcome.sms), whole=outcome, last=sms)

    def _answer(
        self, stored: Deferred[None], whole: Whole | None = None, last: InboundSms | None = None
    ) -> Deferred[int]:
        def ok(_: object) -> int:
            return c.ESME_ROK

        def failed(failure: Failure) -> int:
            self.counters.failed += 1
            log.warning("MO not stored, the SMSC will retry: %s", failure.getErrorMessage())
            if whole is not None and last is not None:
                self.reassembler.restore(whole, last)
            return c.ESME_RX_T_APPN

        return stored.addCallbacks(ok, failed)

    def _core_lists_refuse(self, sms: InboundSms) -> str | None:
        """Kannel's core white/black lists of MO senders and receivers, in its order."""
        core = self.config.core
        checks = (
            (core.white_list_sender, core.white_list_sender_regex, sms.sender, True),
            (core.black_list_sender, core.black_list_sender_regex, sms.sender, False),
            (core.white_list_receiver, core.white_list_receiver_regex, sms.receiver, True),
            (core.black_list_receiver, core.black_list_receiver_regex, sms.receiver, False),
        )
        for url, regex, number, white in checks:
            kind = "white" if white else "black"
            if url and (number in self.lists[url]) != white:
                return f"{number} {'not ' if white else ''}in the core {kind} list"
            if regex is not None and (regex.search(number) is not None) != white:
                return f"{number} {'not ' if white else ''}matching the core {kind} list regex"
        return None

    def _give_up(self, parts: list[InboundSms]) -> None:
        """Parts of a group given up (timeout, bounds, shutdown) go on one by one."""
        for part in parts:
            self._serve(part).addErrback(self._lost, part)

    def _lost(self, failure: Failure, sms: InboundSms) -> None:
        self.counters.failed += 1
        log.error(
            "MO part from %s to %s lost: %s", sms.sender, sms.receiver, failure.getErrorMessage()
        )

    # -- smsbox ---------------------------------------------------------------------------

    def _serve(self, sms: InboundSms) -> Deferred[None]:
        """Run the MO's service; fires once what it produced is stored."""
        try:
            return self._obey(sms)
        except Exception:
            return fail()

    def _obey(self, sms: InboundSms) -> Deferred[None]:
        if self.mo_recode and sms.coding == DC_UCS2:
            sms.text = from_ucs2(sms.text).encode("utf-8")
            sms.charset, sms.coding = "UTF-8", DC_7BIT
        if not sms.sender or not sms.receiver:
            self.counters.failed += 1
            log.error("MO without sender or receiver dropped (Kannel does the same)")
            return succeed(None)
        now = self.clock.seconds()
        service = self.selector.find(sms)
        if service is None:
            self.counters.no_service += 1
            log.warning(
                "no sms-service for the MO from %s to %s", sms.sender, sms.receiver
            )
            content = ReplyContent(self.replies.request_failed.encode("utf-8"))
            return self._store(self.replies.messages(
                None, content, phone=sms.sender, sender=sms.receiver, smsc_id=sms.smsc_id,
                now=now,
            ))
        sender = reply_sender(service, self.replies.global_sender, sms)
        if service.action in ("text", "file"):
            content = static_content(service, sms, sender, now)
            return self._store(self.replies.messages(
                service, content, phone=sms.sender, sender=sender, smsc_id=sms.smsc_id, now=now
            ))
        request = http_request(service, sms, sender, now)
        context = MoContext(
            service_index=next(
                i for i, s in enumerate(self.config.services) if s is service
            ),
            service_name=service.name,
            phone=sms.sender,
            short_code=sms.receiver,
            reply_sender=sender,
            smsc_id=sms.smsc_id,
            account=sms.account,
            mo_id=sms.id,
        )
        job = HttpJob(
            request.method, request.url, request.headers, request.body, JOB_KIND,
            context.encode(),
        )
        stored = self.outbox.put([job])

        def counted(result: None) -> None:
            self.counters.requests += 1
            return result

        return stored.addCallback(counted)

    def _store(self, messages: list[Message]) -> Deferred[None]:
        """Put a reply into the queue (nothing to do for an empty one)."""
        if not messages:
            return succeed(None)
        if self.router is not None:
            verdict = self.router.verdict(messages[0])
            for message in messages[1:]:
                message.receiver = messages[0].receiver
            if verdict is RouteVerdict.NOT_ROUTABLE:
                log.warning("reply to %s is not routable: dropped", messages[0].receiver)
                return succeed(None)
        try:
            stored = self.queue.put(messages)
        except Exception:
            return fail()

        def counted(result: None) -> None:
            self.counters.replied += 1
            return result

        return stored.addCallback(counted)

    # -- the outbox side -------------------------------------------------------------------

    def on_result(self, job: Any, result: Any) -> Deferred[None]:
        """The final answer to a URL service's request → the reply SMS, stored."""
        try:
            context = MoContext.decode(job.context)
        except ValueError:
            log.error("MO job with an unreadable context dropped")
            return succeed(None)
        service = self._service(context)
        code = getattr(result, "code", None) if result is not None else None
        content = answer_content(
            service,
            code,
            getattr(result, "headers", None) or {},
            getattr(result, "body", b"") or b"",
            could_not_fetch=self.replies.could_not_fetch,
            could_not_represent=self.replies.could_not_represent,
        )
        messages = self.replies.messages(
            service,
            content,
            phone=context.phone,
            sender=context.reply_sender,
            smsc_id=context.smsc_id,
            now=self.clock.seconds(),
        )
        return self._store_patiently(messages, STORE_TRIES)

    def _store_patiently(self, messages: list[Message], tries: int) -> Deferred[None]:
        """`_store`, tried again every `STORE_RETRY_DELAY` s while the queue refuses: the
        outbox keeps the job (and would replay it after a crash) until this fires."""

        def again(failure: Failure) -> Deferred[None]:
            if tries <= 1:
                self.counters.failed += 1
                log.error("reply to %s lost: %s", messages[0].receiver,
                          failure.getErrorMessage())
                return failure  # type: ignore[return-value]
            return deferLater(self.clock, STORE_RETRY_DELAY, self._store_patiently, messages,
                              tries - 1)

        return self._store(messages).addErrback(again)

    def _service(self, context: MoContext) -> SmsService | None:
        """The job's service, found again after a possible reload (None: it is gone, and the
        reply goes out undecorated, as Kannel's replies without a service do)."""
        services = self.config.services
        if 0 <= context.service_index < len(services):
            candidate = services[context.service_index]
            if candidate.name == context.service_name:
                return candidate
        for service in services:
            if service.name == context.service_name:
                return service
        return None


__all__ = ["MoCounters", "MoReceiver"]
