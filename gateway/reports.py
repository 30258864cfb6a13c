"""Delivery reports: what turns submit outcomes and SMSC receipts into dlr-url callbacks.

`DeliveryReports` is the gateway's `DeliveryEvents` (gateway.smsc), and it keeps Kannel's
contract (REFERENCE §2.8, bb_smscconn.c and dlr.c):

* **d=8** (`ACK/`) when the SMSC accepts a message whose dlr-mask has bit 8; **d=16**
  (`NACK/0x%08x/<text>`, `NACK/MALFORMED SMS`, `NACK/Retries Exceeded`) when it fails for
  good and the mask has bit 16 *or* bit 2, as bearerbox does;
* a record in the DLR store, keyed by (smsc-id, the id normalised per `msg-id-type`), when the
  mask asks for a receipt (1, 2 or 4) and there is a dlr-url to call; receipts then find it,
  call back when the mask has their bit, and remove it when it is final (an intermediate
  receipt keeps it while the mask still waits for 1 or 2);
* a split message reports on its first part only, as Kannel (the later parts carry no mask);
* a deliver_sm that is not a receipt goes to the MO path.

Nothing is lost on the way back either. A callback is written to the durable outbox
(gateway.callbacks) *before* the deliver_sm_resp goes out, so a crash after the answer still
calls back; when the store or the outbox cannot take it (Redis down, outbox full), the
receipt is answered with a temporary error (ESME_RX_T_APPN) and the SMSC sends it again.
A receipt can overtake its own submit_sm_resp (on a separate receiver bind, or in the same
read); such a receipt is held, its answer delayed, until the record is stored or `hold`
seconds pass (then the store is asked once more before it is counted unmatched). The held
set is bounded. A record whose store write fails is kept in memory and written again, within
a bound, so a Redis restart mid-load loses no mapping.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol

from twisted.internet.defer import Deferred, fail, succeed
from twisted.logger import Logger
from twisted.python.failure import Failure

from gateway.callbacks import HttpJob, HttpResult
from gateway.message import Message, new_id
from gateway.smsc import DeliveryEvents, SmscLink
from gateway.url_pattern import PatternFields, expand, url_encode
from protocols.smpp import constants as c
from protocols.smpp.message_id import normalised_id
from protocols.smpp.pdu import Pdu
from protocols.smpp.receipt import DLR_BUFFERED, DLR_FAIL, DLR_SUCCESS, is_receipt, parse_receipt
from storage.dlr import DlrRecord, DlrStore

log = Logger(namespace="passerelle.dlr")

#: dlr-mask bits the gateway itself reports (dlr.h).
DLR_SMSC_SUCCESS: Final = 0x08
DLR_SMSC_FAIL: Final = 0x10
#: Bits that need a receipt from the SMSC (Kannel's DLR_IS_ENABLED_DEVICE).
DEVICE_BITS: Final = DLR_SUCCESS | DLR_FAIL | DLR_BUFFERED

#: The answer that makes an SMSC send a deliver_sm again later.
RETRY_LATER: Final = c.ESME_RX_T_APPN

#: smsbox hands a DLR to its URL code as UTF-8 (what %C shows in a callback).
DLR_CHARSET: Final = "UTF-8"

#: Kannel's DLR callback request headers (besides Host, which the HTTP client adds).
CALLBACK_HEADERS: Final = (("Connection", "keep-alive"), ("User-Agent", "Kannel/1.4.5"))


class CallbackSink(Protocol):
    """Where callbacks go: the durable outbox (`gateway.callbacks.Outbox`)."""

    def put(self, jobs: list[HttpJob]) -> Deferred[None]: ...

    def register(self, kind: str, on_result: Callable[[HttpJob, HttpResult], object]) -> None: ...


class MoSink(Protocol):
    """Where a deliver_sm that is not a receipt goes (`gateway.mo.MoReceiver`)."""

    def receive(self, smsc_id: str, account: str, pdu: Pdu) -> Deferred[int]: ...


@dataclass(slots=True)
class ReportCounters:
    """What the status page and /metrics show of delivery reports."""

    receipts: int = 0
    matched: int = 0
    unmatched: int = 0
    unparsable: int = 0
    held: int = 0
    callbacks: int = 0
    callbacks_lost: int = 0
    #: Callbacks the client's server took (200/202).
    delivered: int = 0
    retry_later: int = 0
    store_retries: int = 0
    store_lost: int = 0


@dataclass(slots=True)
class _Held:
    """A receipt waiting for the record of its message, and the SMSC waiting for our answer."""

    link: SmscLink
    receipt_text: str
    dlr_type: int
    meta_err: bytes
    answer: Deferred[int]
    call: Any = None


def orig_msg_meta(mask: int) -> str:
    """The `orig_msg` meta-data group Kannel keeps with a DLR-tracked message."""
    return f"?orig_msg?dlr_mask={mask}&"


def nack_text(text: str) -> str:
    """Kannel's d=16 body: `NACK/` and the failure's reply text."""
    return text if text.startswith("NACK/") else f"NACK/{text}"


class DeliveryReports(DeliveryEvents):
    """The gateway's delivery-report logic (see the module docstring).

    Built with the configuration (the links hold it from the start); the DLR store, the
    outbox and the MO receiver are handed over by `open` when the service starts, because
    opening them takes threads, files and connections. `clock` is the reactor (callLater).
    `msg_id_types` maps a link's `key` to its smsc group's `msg-id-type`. `hold` /
    `max_held` bound the receipts waiting for their record; `max_unstored` bounds the records
    kept in memory while the store cannot take them.
    """

    store: DlrStore
    callbacks: CallbackSink
    mo: MoSink | None = None

    def __init__(
        self,
        clock: Any,
        *,
        msg_id_types: Mapping[int, int | None] | None = None,
        hold: float = 10.0,
        max_held: int = 10_000,
        max_unstored: int = 100_000,
        max_recent: int = 20_000,
        store_retry: float = 1.0,
        wall_clock: Callable[[], float] = time.time,
        new_uuid: Callable[[], str] = new_id,
    ) -> None:
        self.clock = clock
        self.msg_id_types = dict(msg_id_types or {})
        self.hold = hold
        self.max_held = max_held
        self.max_unstored = max_unstored
        self.store_retry = store_retry
        self._wall = wall_clock
        self._new_uuid = new_uuid
        self.counters = ReportCounters()
        #: Records written to the store but not yet confirmed (or waiting to be written again).
        self._adding: dict[tuple[str, str], DlrRecord] = {}
        #: Records stored lately, newest last: most receipts come within seconds, and
        #: finding their record here saves a store round trip (bounded by `max_recent`).
        self._recent: OrderedDict[tuple[str, str], DlrRecord] = OrderedDict()
        self.max_recent = max_recent
        self._retry_call: Any = None
        #: Records whose write failed, to be written again by the next retry (only those:
        #: writes still on their way are not sent twice).
        self._failed: set[tuple[str, str]] = set()
        self._held: dict[tuple[str, str], list[_Held]] = {}
        self._held_count = 0

    def open(self, store: DlrStore, callbacks: CallbackSink, mo: MoSink | None = None) -> None:
        """Start reporting through these (non-receipts go to `mo`; None: answered ESME_ROK
        and dropped with a log line, as Kannel without an sms-service). Call it before the
        outbox opens: callbacks replayed from its spool then find their hook."""
        self.store = store
        self.callbacks = callbacks
        self.mo = mo
        callbacks.register("dlr", self._called_back)

    def _called_back(self, job: HttpJob, result: HttpResult) -> None:
        """The outbox's final word on one callback (made, or dead-lettered after its
        retries): only counted here; the outbox logs and keeps the dead letters."""
        if result.ok:
            self.counters.delivered += 1

    # -- the MT side: submit outcomes ----------------------------------------------------

    def submitted(self, message: Message, link: SmscLink, message_id: str) -> None:
        mask = message.dlr_mask
        if not mask or message.part != 1 or not message.dlr_url:
            return
        smsc_id = link.smsc_id
        if mask & DLR_SMSC_SUCCESS:
            self._call_back_now(
                message.dlr_url,
                self._mt_fields(message, smsc_id, DLR_SMSC_SUCCESS, "ACK/", message_id),
            )
        if mask & DEVICE_BITS:
            key_id = normalised_id(message_id, self.msg_id_types.get(link.key), from_receipt=False)
            record = DlrRecord(
                smsc_id=smsc_id,
                message_id=key_id,
                raw_message_id=message_id,
                source=message.sender,
                destination=message.receiver,
                service=message.username,
                url=message.dlr_url,
                mask=mask,
                parent_id=message.parent_id,
                part=message.part,
                parts=message.parts,
                created=self._wall(),
                meta={"meta_data": message.meta_data} if message.meta_data else {},
            )
            self._add(record)

    def failed(self, message: Message, link: SmscLink | None, reason: str, text: str) -> None:
        super().failed(message, link, reason, text)
        mask = message.dlr_mask
        if message.part != 1 or not message.dlr_url or not mask & (DLR_SMSC_FAIL | DLR_FAIL):
            return
        smsc_id = link.smsc_id if link is not None else message.smsc_id
        self._call_back_now(
            message.dlr_url,
            self._mt_fields(message, smsc_id, DLR_SMSC_FAIL, nack_text(text), ""),
        )

    def _mt_fields(
        self, message: Message, smsc_id: str, dlr_type: int, reply: str, foreign_id: str
    ) -> PatternFields:
        """The DLR message bearerbox makes from the MT itself (create_dlr_from_msg)."""
        return PatternFields(
            text=reply.encode("latin-1", "replace"),
            sender=message.sender,
            receiver=message.receiver,
            charset=DLR_CHARSET,
            smsc_id=smsc_id,
            service=message.username,
            id=self._new_uuid() if "%I" in message.dlr_url else "",
            foreign_id=foreign_id,
            time=self._wall(),
            dlr_mask=dlr_type,
            dlr_url=message.dlr_url,
            meta_data="?smpp_resp?" + message.meta_data + orig_msg_meta(message.dlr_mask),
        )

    def _call_back(self, url: str, fields: PatternFields) -> Deferred[None]:
        """Queue the callback durably; the Deferred fails when the outbox cannot take it."""
        job = HttpJob(
            method="GET",
            url=expand(url, fields),
            headers=list(CALLBACK_HEADERS),
            body=b"",
            kind="dlr",
            context=b"",
        )
        try:
            d = self.callbacks.put([job])
        except Exception:  # a full or closed outbox refuses synchronously
            return fail()
        self.counters.callbacks += 1
        return d

    def _call_back_now(self, url: str, fields: PatternFields) -> None:
        """d=8 / d=16: nobody waits on these, so a refusal can only be logged and counted."""

        def lost(failure: Failure) -> None:
            self.counters.callbacks_lost += 1
            log.error("DLR callback d={type} lost: {error}", type=fields.dlr_mask,
                      error=failure.getErrorMessage())

        self._call_back(url, fields).addErrback(lost)

    # -- writing records -------------------------------------------------------------------

    def _add(self, record: DlrRecord) -> None:
        key = (record.smsc_id, record.message_id)
        if key not in self._adding and len(self._adding) >= self.max_unstored:
            self.counters.store_lost += 1
            log.error(
                "DLR record for {smsc}/{id} dropped: {n} records already wait for the store",
                smsc=record.smsc_id, id=record.raw_message_id, n=len(self._adding),
            )
            return
        self._adding[key] = record
        self._write(key, record)

    def _write(self, key: tuple[str, str], record: DlrRecord) -> None:
        d = self.store.add(record)
        d.addCallbacks(self._written, self._write_failed, callbackArgs=(key, record),
                       errbackArgs=(key, record))

    def _written(self, _: object, key: tuple[str, str], record: DlrRecord) -> None:
        if self._adding.get(key) is record:
            del self._adding[key]
            recent = self._recent
            recent[key] = record
            if len(recent) > self.max_recent:
                recent.popitem(last=False)
        self._release_held(key, record)

    def _known(self, key: tuple[str, str]) -> DlrRecord | None:
        """The record from memory (being written, or written lately), if it is there."""
        record = self._adding.get(key)
        return record if record is not None else self._recent.get(key)

    def _write_failed(self, failure: Failure, key: tuple[str, str], record: DlrRecord) -> None:
        """The store is down: keep the record (it still answers receipts from memory) and
        write it again later; pending writes go in one timer, not one per record."""
        self.counters.store_retries += 1
        self._failed.add(key)
        log.warn(
            "DLR store write failed for {smsc}/{id} ({error}); retrying in {delay}s",
            smsc=record.smsc_id, id=record.raw_message_id, error=failure.getErrorMessage(),
            delay=self.store_retry,
        )
        if self._retry_call is None or not self._retry_call.active():
            self._retry_call = self.clock.callLater(self.store_retry, self._rewrite)

    def _rewrite(self) -> None:
        self._retry_call = None
        failed, self._failed = self._failed, set()
        for key in failed:
            record = self._adding.get(key)
            if record is not None:  # not reported and forgotten meanwhile
                self._write(key, record)

    # -- the MO side: receipts ---------------------------------------------------------------

    def deliver(self, link: SmscLink, pdu: Pdu) -> int | Deferred[int]:
        if not is_receipt(pdu):
            if self.mo is None:
                log.info("MO from {smsc} dropped: no sms-service", smsc=link.smsc_id)
                return c.ESME_ROK
            return self.mo.receive(link.smsc_id, link.bind_config.system_id, pdu)
        self.counters.receipts += 1
        receipt = parse_receipt(pdu)
        if receipt is None:
            self.counters.unparsable += 1
            log.warn("SMPP[{smsc}]: got a receipt naming no message; ignored", smsc=link.smsc_id)
            return c.ESME_ROK
        key_id = normalised_id(
            receipt.message_id, self.msg_id_types.get(link.key), from_receipt=True
        )
        key = (link.smsc_id, key_id)
        record = self._known(key)
        if record is not None:
            return self._report(link, record, receipt.text, receipt.dlr_type, receipt.meta_err)
        d = self.store.get(*key)
        d.addCallbacks(
            self._found,
            self._lookup_failed,
            callbackArgs=(link, key, receipt.text, receipt.dlr_type, receipt.meta_err),
            errbackArgs=(link,),
        )
        return d

    def _lookup_failed(self, failure: Failure, link: SmscLink) -> int:
        self.counters.retry_later += 1
        log.warn(
            "SMPP[{smsc}]: receipt answered retry-later: DLR store lookup failed ({error})",
            smsc=link.smsc_id, error=failure.getErrorMessage(),
        )
        return RETRY_LATER

    def _found(
        self,
        record: DlrRecord | None,
        link: SmscLink,
        key: tuple[str, str],
        text: str,
        dlr_type: int,
        meta_err: bytes,
    ) -> int | Deferred[int]:
        if record is None:
            record = self._known(key)
        if record is not None:
            return self._report(link, record, text, dlr_type, meta_err)
        if self._held_count >= self.max_held:
            return self._unmatched(link, key, dlr_type)
        answer: Deferred[int] = Deferred()
        held = _Held(link, text, dlr_type, meta_err, answer)
        held.call = self.clock.callLater(self.hold, self._hold_expired, key, held)
        self._held.setdefault(key, []).append(held)
        self._held_count += 1
        self.counters.held += 1
        return answer

    def _take_held(self, key: tuple[str, str], held: _Held) -> bool:
        waiting = self._held.get(key)
        if not waiting or held not in waiting:
            return False
        waiting.remove(held)
        if not waiting:
            del self._held[key]
        self._held_count -= 1
        return True

    def _release_held(self, key: tuple[str, str], record: DlrRecord) -> None:
        for held in list(self._held.get(key, ())):
            if not self._take_held(key, held):
                continue
            if held.call is not None and held.call.active():
                held.call.cancel()
            result = self._report(held.link, record, held.receipt_text, held.dlr_type,
                                  held.meta_err)
            _chain(result, held.answer)

    def _hold_expired(self, key: tuple[str, str], held: _Held) -> None:
        """Ask the store once more (its write may have landed between our lookup and the
        hold), then give up as Kannel does: answered, logged, counted."""
        if not self._take_held(key, held):
            return
        d = self.store.get(*key)

        def again(record: DlrRecord | None) -> int | Deferred[int]:
            record = record or self._known(key)
            if record is None:
                return self._unmatched(held.link, key, held.dlr_type)
            return self._report(held.link, record, held.receipt_text, held.dlr_type,
                                held.meta_err)

        d.addCallbacks(again, self._lookup_failed, errbackArgs=(held.link,))
        d.chainDeferred(held.answer)

    def _unmatched(self, link: SmscLink, key: tuple[str, str], dlr_type: int) -> int:
        self.counters.unmatched += 1
        log.warn(
            "SMPP[{smsc}]: got DLR but could not find message or was not interested in it "
            "id<{id}>, type<{type}>",
            smsc=link.smsc_id, id=key[1], type=dlr_type,
        )
        return c.ESME_ROK

    def _report(
        self, link: SmscLink, record: DlrRecord, text: str, dlr_type: int, meta_err: bytes
    ) -> int | Deferred[int]:
        """Call back if the mask wants this type, then forget the record if it is final
        (dlr_find); ESME_ROK once the callback is durable, retry-later if it cannot be."""
        self.counters.matched += 1
        key = (record.smsc_id, record.message_id)
        final = not (dlr_type & DLR_BUFFERED and record.mask & (DLR_SUCCESS | DLR_FAIL))
        queued: Deferred[None] = succeed(None)
        if dlr_type & record.mask and record.url:
            meta = orig_msg_meta(record.mask)
            if meta_err:
                meta += f"?smpp?dlr_err={url_encode(meta_err).decode('ascii')}&"
            fields = PatternFields(
                text=text.encode("latin-1", "replace"),
                sender=record.source,
                receiver=record.destination,
                charset=DLR_CHARSET,
                smsc_id=record.smsc_id,
                service=record.service,
                account=link.bind_config.system_id,
                id=self._new_uuid() if "%I" in record.url else "",
                foreign_id=record.message_id,
                time=self._wall(),
                dlr_mask=dlr_type,
                dlr_url=record.url,
                meta_data=record.meta.get("meta_data", "") + meta,
            )
            queued = self._call_back(record.url, fields)

        def answered(_: object) -> int:
            if final:
                self._adding.pop(key, None)
                self._recent.pop(key, None)
                self.store.remove(*key).addErrback(
                    lambda f: log.warn("DLR remove failed: {e}", e=f.getErrorMessage())
                )
            return c.ESME_ROK

        def refused(failure: Failure) -> int:
            self.counters.retry_later += 1
            log.warn(
                "SMPP[{smsc}]: receipt answered retry-later: callback not queued ({error})",
                smsc=link.smsc_id, error=failure.getErrorMessage(),
            )
            return RETRY_LATER

        return queued.addCallbacks(answered, refused)

    # -- life cycle ----------------------------------------------------------------------------

    def close(self) -> None:
        """Cancel timers; held receipts are answered retry-later so the SMSC sends them
        again to whoever runs next."""
        if self._retry_call is not None and self._retry_call.active():
            self._retry_call.cancel()
        self._retry_call = None
        held, self._held = self._held, {}
        self._held_count = 0
        for waiting in held.values():
            for entry in waiting:
                if entry.call is not None and entry.call.active():
                    entry.call.cancel()
                entry.answer.callback(RETRY_LATER)

    @property
    def held(self) -> int:
        """Receipts waiting for their record now."""
        return self._held_count

    @property
    def unstored(self) -> int:
        """Records the store has not confirmed yet."""
        return len(self._adding)


def _chain(result: int | Deferred[int], answer: Deferred[int]) -> None:
    if isinstance(result, Deferred):
        result.chainDeferred(answer)
    else:
        answer.callback(result)
