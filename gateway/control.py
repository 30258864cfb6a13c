"""The real `GatewayControl`: what the admin port (gateway/admin) steers, over `GatewayService`.

The admin package owns no state; this module turns Kannel's commands into actions on the
running service and reads the status page out of the counters the message paths already
keep. Kannel's semantics, and where ours differ (docs/admin.md, "What the commands do"):

* **suspend** (bb_suspend: SMSC connections stopped, boxes blocked): nothing is taken from the
  queue (the dispatcher stops; submits already on the wire are answered as usual and binds
  stay up), and deliver_sm from the SMSCs is answered ESME_RX_T_APPN (the SMSC retries
  later). Kannel blocks smsbox, so sendsms clients hang; we keep answering sendsms and queue
  what it accepts (durably with a spool) — holding HTTP requests open for the length of a
  suspension would only move the queue into sockets.
* **isolate** ("isolated from message providers"): MO and receipts are refused the same way;
  sending and sendsms go on.
* **resume**: back to running.
* **shutdown**: the SIGTERM path (`GatewayService.shutdown`): listeners close, nothing more
  is taken, the submits on the wire get `shutdown-grace` seconds to be answered, links
  unbind, the spool closes, the process exits 0. Called again: the grace is cut short.
* **restart**: a full stop of the service tree and a new one built from the configuration
  file, in the same process (ports are closed and opened again; what the spool holds is
  replayed). **graceful-restart**: the SIGHUP reload (`gateway.reload`): the new file is
  validated whole and applied without dropping unchanged binds, or nothing changes.
* **stop-smsc** / **start-smsc**: the link unbinds (its messages go back to the queue, for
  the other links or for its return) / binds again. **add-smsc** / **remove-smsc**: the smsc
  group with that id is read from the configuration file and started / stopped and
  forgotten (its messages go to other routes or wait).
* **remove-message**: a queued message is dropped when its turn comes (the queue keeps a
  bounded set of removed ids, consulted at take): O(1), no scan of the spool.
* **store-status**: the first `limit` queued messages, read lazily, never the whole queue.

The rates are Kannel's `LoadMeter`s, fed once a second from the counters the message paths
keep (`LinkCounters.sent`, the queue's `accepted`, the reports' counts), so the hot path
pays nothing for them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import TYPE_CHECKING, Any

from twisted.internet.defer import Deferred, succeed
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from gateway.admin.control import (
    BoxStatus,
    GatewayState,
    GatewayStatus,
    Load,
    SmscStatus,
    StoredMessage,
    next_state,
)
from gateway.admin.load import LoadMeter
from gateway.message import Message
from gateway.reports import DeliveryReports
from protocols.smpp import constants as c
from protocols.smpp.pdu import Pdu
from protocols.smpp.receipt import is_receipt

if TYPE_CHECKING:
    from gateway.service import GatewayService
    from gateway.smsc import SmscLink

log = Logger(namespace="passerelle.control")

#: Kannel's windows (1 min, 5 min, since start) and the dashboard's 15 minutes.
METER_WINDOWS: tuple[int | None, ...] = (60, 300, None, 900)
#: How often the meters read the counters (seconds).
SAMPLE_EVERY = 1.0


def kannel_load(meter: LoadMeter) -> Load:
    """Kannel's three figures (1 min, 5 min, since start)."""
    figures = meter.rates()
    return (figures[0], figures[1], figures[2])


def dashboard_rates(meter: LoadMeter) -> list[float]:
    """The dashboard's 1, 5 and 15-minute figures."""
    figures = meter.rates()
    return [round(figures[0], 3), round(figures[1], 3), round(figures[3], 3)]


class CountingReports(DeliveryReports):
    """`DeliveryReports` that counts what each link receives, refuses incoming traffic while
    the gateway is suspended or isolated, and writes bearerbox's access-log lines when core
    `access-log` is set."""

    def __init__(self, clock: Any, **kwargs: Any) -> None:
        super().__init__(clock, **kwargs)
        #: Link → [MO received, receipts received] (links are few; removed ones stay small).
        self.received: dict[SmscLink, list[int]] = {}
        #: True while suspended or isolated: deliver_sm answered ESME_RX_T_APPN.
        self.refuse_incoming = False
        #: Refused deliver_sm while suspended or isolated.
        self.refused = 0
        #: bearerbox's access log (`gateway.sendsms.accesslog.BearerboxAccessLog`) or None.
        self.access_log: Any = None

    def submitted(self, message: Message, link: SmscLink, message_id: str) -> None:
        if self.access_log is not None:
            self.access_log.sms("Sent SMS", message, link.smsc_id, message_id)
        super().submitted(message, link, message_id)

    def failed(self, message: Message, link: SmscLink | None, reason: str, text: str) -> None:
        if self.access_log is not None:
            smsc = link.smsc_id if link is not None else message.smsc_id
            self.access_log.sms("FAILED Send SMS", message, smsc, "")
        super().failed(message, link, reason, text)

    def deliver(self, link: SmscLink, pdu: Pdu) -> int | Deferred[int]:
        if self.refuse_incoming:
            self.refused += 1
            return c.ESME_RX_T_APPN
        counts = self.received.get(link)
        if counts is None:
            counts = self.received[link] = [0, 0]
        receipt = is_receipt(pdu)
        counts[1 if receipt else 0] += 1
        if self.access_log is not None:
            self.access_log.pdu("Receive DLR" if receipt else "Receive SMS", link.smsc_id, pdu)
        return super().deliver(link, pdu)


class _LinkMeters:
    """One link's rates: submits answered OK, MOs and receipts received."""

    __slots__ = ("sent", "mo", "dlr", "seen")

    def __init__(self, clock: Any) -> None:
        self.sent = LoadMeter(clock, METER_WINDOWS)
        self.mo = LoadMeter(clock, METER_WINDOWS)
        self.dlr = LoadMeter(clock, METER_WINDOWS)
        #: Counter values at the last sample: sent, MO, receipts.
        self.seen = [0, 0, 0]


class GatewayMeters:
    """Kannel's rate figures for the gateway and each link, sampled from counters."""

    def __init__(self, service: GatewayService) -> None:
        clock = service.reactor
        self.service = service
        self.clock = clock
        self.accepted = LoadMeter(clock, METER_WINDOWS)
        self.sent = LoadMeter(clock, METER_WINDOWS)
        self.mo = LoadMeter(clock, METER_WINDOWS)
        self.dlr_in = LoadMeter(clock, METER_WINDOWS)
        self.dlr_out = LoadMeter(clock, METER_WINDOWS)
        self.links: dict[SmscLink, _LinkMeters] = {}
        self._seen = {"accepted": 0, "dlr_out": 0}
        self._loop: LoopingCall | None = None

    def start(self) -> None:
        """Sample every `SAMPLE_EVERY` seconds until `stop`."""
        self._loop = LoopingCall(self.sample)
        self._loop.clock = self.clock
        self._loop.start(SAMPLE_EVERY, now=False).addErrback(
            lambda f: log.failure("rate sampling stopped", f)
        )

    def stop(self) -> None:
        """No more samples (the service stops)."""
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        self._loop = None

    def sample(self) -> None:
        """Fold what the counters grew by since the last sample into the meters."""
        service = self.service
        try:
            accepted = int(getattr(service.queue, "accepted", 0))
            self._add(self.accepted, "accepted", accepted)
            self._add(self.dlr_out, "dlr_out", service.events.counters.callbacks)
            received = service.events.received
            for link in service.links:
                meters = self.links.get(link)
                if meters is None:
                    meters = self.links[link] = _LinkMeters(self.clock)
                counts = received.get(link, (0, 0))
                now = (link.counters.sent, counts[0], counts[1])
                for index, (meter, total) in enumerate(
                    zip((meters.sent, meters.mo, meters.dlr), now, strict=True)
                ):
                    grown = total - meters.seen[index]
                    if grown > 0:
                        meter.add(grown)
                        (self.sent, self.mo, self.dlr_in)[index].add(grown)
                    meters.seen[index] = total
            for gone in [link for link in self.links if link not in service.links]:
                del self.links[gone]
        except Exception:
            log.failure("sampling the rates failed")

    def _add(self, meter: LoadMeter, name: str, total: int) -> None:
        grown = total - self._seen[name]
        if grown > 0:
            meter.add(grown)
        self._seen[name] = total

    def for_link(self, link: SmscLink) -> _LinkMeters:
        """The link's meters (made on first use: a link added since the last sample)."""
        meters = self.links.get(link)
        if meters is None:
            meters = self.links[link] = _LinkMeters(self.clock)
        return meters


def connection_name(link: SmscLink) -> str:
    """Kannel's SMPP connection name: `SMPP:host:port/receive-port:system_id:system_type`."""
    bind = link.bind_config
    system_type = bind.system_type or ""
    if isinstance(system_type, bytes):
        system_type = system_type.decode("latin-1")
    # smsc_smpp.c: the receive port shown is the port itself for a transceiver without one.
    receive = bind.receive_port or (bind.port if bind.transceiver_mode else 0)
    return f"SMPP:{bind.host}:{bind.port}/{receive}:{bind.system_id}:{system_type}"


def stored_message(message: Message) -> StoredMessage:
    """One store-status line of a queued MT."""
    return StoredMessage(
        id=message.id,
        type="MT-PUSH",
        time=message.created,
        sender=message.sender,
        receiver=message.receiver,
        smsc_id=message.smsc_id,
        box_id="",
        mclass=message.mclass,
        coding=message.coding,
        mwi=message.mwi,
        compress=message.compress,
        dlr_mask=message.dlr_mask if message.dlr_mask else -1,
        udh=message.udh,
        text=message.payload,
    )


class ServiceControl:
    """`GatewayControl` over a running `GatewayService` (module docstring)."""

    def __init__(self, service: GatewayService) -> None:
        self.service = service
        self._state = GatewayState.RUNNING
        self.meters = GatewayMeters(service)

    # -- reads -------------------------------------------------------------------------

    def state(self) -> GatewayState:
        if self.service.stopping:
            return GatewayState.SHUTDOWN
        if self._state is GatewayState.RUNNING and self._queue_full():
            return GatewayState.FULL
        return self._state

    def _queue_full(self) -> bool:
        """Kannel's `filled`: the queue is at its cap (sendsms answers 503 meanwhile)."""
        queue: Any = self.service.queue
        spool = getattr(queue, "spool", None)
        if spool is not None:
            records = spool.max_records
            return bool(spool.bytes_used >= spool.max_bytes
                        or (records is not None and spool.records >= records))
        return bool(queue.queued + queue.in_flight >= queue.max_messages)

    def status(self) -> GatewayStatus:
        service = self.service
        queue: Any = service.queue
        meters = self.meters
        events = service.events
        queued = queue.queued + queue.in_flight
        uptime = int(service.uptime())
        smscs = []
        for link, config in zip(service.links, service.link_configs, strict=True):
            link_meters = meters.for_link(link)
            counts = events.received.get(link, (0, 0))
            online = link.online
            smscs.append(
                SmscStatus(
                    id=link.smsc_id,
                    admin_id=config.smsc_admin_id or link.smsc_id,
                    name=connection_name(link),
                    status=link.status,
                    received_sms=counts[0],
                    received_dlr=counts[1],
                    sent_sms=link.counters.sent,
                    failed=link.counters.failed,
                    queued=link.waiting + (link.session.in_flight if link.session else 0),
                    received_sms_load=kannel_load(link_meters.mo) if online else (0, 0, 0),
                    received_dlr_load=kannel_load(link_meters.dlr) if online else (0, 0, 0),
                    sent_sms_load=kannel_load(link_meters.sent) if online else (0, 0, 0),
                )
            )
        boxes = []
        if service.sendsms is not None and service.sendsms.port is not None:
            boxes.append(BoxStatus(online_seconds=uptime))
        return GatewayStatus(
            version=service.version,
            state=self.state(),
            uptime_seconds=uptime,
            sms_received=sum(counts[0] for counts in events.received.values()),
            sms_sent=sum(link.counters.sent for link in service.links),
            sms_sent_queued=queued,
            store_size=queued,
            sms_inbound_load=kannel_load(meters.mo),
            sms_outbound_load=kannel_load(meters.sent),
            dlr_received=events.counters.receipts,
            dlr_sent=events.counters.callbacks,
            dlr_inbound_load=kannel_load(meters.dlr_in),
            dlr_outbound_load=kannel_load(meters.dlr_out),
            dlr_queued=service.reports.records or 0,
            dlr_storage=service.config.core.dlr_storage,
            boxes=tuple(boxes),
            smscs=tuple(smscs),
        )

    def stored_messages(self, limit: int) -> Iterable[StoredMessage]:
        peek = getattr(self.service.queue, "peek", None)
        if peek is None or limit <= 0:
            return iter(())
        messages: Iterator[Message] = peek(limit)
        return (stored_message(m) for m in islice(messages, limit))

    # -- suspend, isolate, resume --------------------------------------------------------

    def _go(self, command: str) -> bool:
        target = next_state(self._state, command)
        if target is None:
            return False
        service = self.service
        self._state = target
        service.events.refuse_incoming = target is not GatewayState.RUNNING
        if target is GatewayState.SUSPENDED:
            service.dispatcher.stop()
        elif not service.dispatcher.running and not service.stopping:
            service.dispatcher.start()
        log.info("gateway {state}", state=target.value)
        return True

    def suspend(self) -> bool:
        return self._go("suspend")

    def isolate(self) -> bool:
        return self._go("isolate")

    def resume(self) -> bool:
        return self._go("resume")

    # -- life cycle ----------------------------------------------------------------------

    def shutdown(self) -> None:
        self.service.shutdown()

    def restart(self) -> None:
        self.service.restart()

    def graceful_restart(self) -> Deferred[bool]:
        return self.service.reload()

    def flush_dlr(self) -> Deferred[int]:
        store = self.service.reports.store
        if store is None:
            return succeed(0)
        d: Deferred[int] = store.flush()
        return d.addCallback(self._flushed)

    def _flushed(self, count: int) -> int:
        self.service.reports.records = 0
        log.info("DLR queue flushed: {count} records dropped", count=count)
        return count

    # -- SMSC connections -----------------------------------------------------------------

    def _links(self, admin_id: str) -> list[SmscLink]:
        service = self.service
        return [
            link
            for link, config in zip(service.links, service.link_configs, strict=True)
            if (config.smsc_admin_id or link.smsc_id) == admin_id
        ]

    def stop_smsc(self, admin_id: str) -> bool:
        links = self._links(admin_id)
        for link in links:
            log.info("SMSC {id} stopped by the admin", id=admin_id)
            link.stop()
            self.service.stopped_links.add(link)
        return bool(links)

    def start_smsc(self, admin_id: str) -> bool:
        links = [link for link in self._links(admin_id) if link in self.service.stopped_links
                 or link.status == "dead"]
        for link in links:
            log.info("SMSC {id} started by the admin", id=admin_id)
            self.service.stopped_links.discard(link)
            link.start()
        return bool(links)

    def add_smsc(self, admin_id: str) -> bool:
        return self.service.add_smsc(admin_id)

    def remove_smsc(self, admin_id: str) -> bool:
        return self.service.remove_smsc(admin_id)

    def reload_lists(self) -> Deferred[bool]:
        return self.service.reload_lists()

    def set_log_level(self, level: int) -> None:
        for observer in self.service.log_observers:
            observer.set_level(level)
        log.info("log-level set to {number}", number=level)

    def remove_message(self, message_id: str) -> bool:
        remove = getattr(self.service.queue, "remove", None)
        if remove is None:
            return False
        remove(message_id)
        log.info("message {id} removed by the admin", id=message_id)
        return True

