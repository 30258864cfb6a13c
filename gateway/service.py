"""The whole gateway as one Twisted service: what `twistd passerelle` and `passerelle run` start.

`GatewayService(config, reactor)` composes, in start order:

1. the built-in SMSC simulator, when `group = passerelle` has `simulator-port` (the embedded
   default configuration uses it, so `passerelle run` works with nothing else installed);
2. the queue, the `Router`, one `SmscLink` per smsc group (per instance), and the
   `Dispatcher` between them. The queue is the durable `SpoolQueue` when `group =
   passerelle` sets `spool-dir` (opened at start: recovery streams, puts wait for it), and
   the bounded, non-durable `MemoryQueue` otherwise. The embedded default configuration
   (`passerelle run` with no file) sets `spool-dir = passerelle-spool`: a spool in the
   working directory, so even a trial keeps what it accepted across a restart;
3. the sendsms HTTP listener on `smsbox.sendsms_interface:sendsms_port`;
4. the core admin port: admin commands arrive with their own issue, so for now it answers
   every request with 404 and says so, rather than imitating Kannel's status page.

Stopping runs the other way: the HTTP listeners close, the dispatcher stops taking, the
links unbind (waiting for unbind_resp, bounded by the session's unbind timeout), the
simulator goes after them so that our unbinds still find it, and the spool is closed last
(pending acks committed; whatever was not acked is replayed at the next start).

Nothing listens or connects before `startService`, so a configuration error is reported
before any port is taken, and tests can build the service and look at it without side
effects.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

from twisted.application.service import MultiService, Service
from twisted.internet.defer import Deferred, DeferredList, maybeDeferred, succeed
from twisted.internet.interfaces import IListeningPort
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.resource import Resource
from twisted.web.server import Request, Site

from gateway.config import GatewayConfig
from gateway.dispatch import Dispatcher
from gateway.queue import MemoryQueue, MessageQueue
from gateway.reports import DeliveryReports
from gateway.routing import Router
from gateway.smsc import SmscLink
from gateway.submit import SubmitProfile, TlvDef

log = Logger(namespace="passerelle.service")


def uses_spool(config: GatewayConfig) -> bool:
    """True when the configuration names a spool directory (`group = passerelle`,
    `spool-dir`): only then are messages kept across a restart."""
    return "spool-dir" in config.passerelle.locations


def queue_limit(config: GatewayConfig) -> int:
    """The queue's cap: ours (`queue-max-messages`), and Kannel's `sms-outgoing-queue-limit`
    when that is smaller (a positive limit; -1 means none)."""
    limit = config.passerelle.queue_max_messages
    kannel = config.core.sms_outgoing_queue_limit
    if kannel is not None and kannel > 0:
        limit = min(limit, kannel)
    return max(1, limit)


def dlr_store_for(config: GatewayConfig, reactor: Any) -> Any:
    """The DLR store `dlr-storage` names: Redis through dlr-db + redis-connection, or the
    embedded SQLite store (`dlr-file`, else `dlr.sqlite` in spool-dir, else in memory like
    the queue). Kannel's dlr-db `ttl = 0` means forever; ours falls back to `dlr-ttl`."""
    from storage.dlr import EmbeddedDlrStore, RedisDlrStore

    passerelle = config.passerelle
    if config.core.dlr_storage == "redis":
        db = config.dlr_db
        assert db is not None  # the loader requires it with dlr-storage = redis
        conn = config.redis_connection(db.id)
        assert conn is not None and conn.host is not None
        return RedisDlrStore(
            conn.host,
            conn.port,
            password=conn.password,
            database=conn.database,
            ttl=float(db.ttl if db.ttl > 0 else passerelle.dlr_ttl),
            table=db.table or "dlr",
            reactor=reactor,
        )
    if passerelle.dlr_file is not None:
        path = passerelle.dlr_file
    elif uses_spool(config):
        Path(passerelle.spool_dir).mkdir(parents=True, exist_ok=True)
        path = str(Path(passerelle.spool_dir) / "dlr.sqlite")
    else:
        path = ":memory:"
    return EmbeddedDlrStore(
        path, ttl=float(passerelle.dlr_ttl), max_records=passerelle.dlr_max_entries,
        reactor=reactor,
    )


def outbox_for(config: GatewayConfig, reactor: Any, directory: str | Path) -> Any:
    """The callback outbox with smsbox's HTTP settings and our guard. Kannel retries a failed
    callback `http-request-retry` times, default 0 (lost at the first failure); when the key
    is not set we retry `DEFAULT_RETRIES` times with backoff from `http-queue-delay`."""
    from gateway.callbacks import DEFAULT_RETRIES, NetworkGuard, Outbox
    from gateway.config.model import SmsboxConfig

    smsbox = config.smsbox if config.smsbox is not None else SmsboxConfig()
    passerelle = config.passerelle
    retries = (
        smsbox.http_request_retry
        if "http-request-retry" in smsbox.locations
        else DEFAULT_RETRIES
    )
    guard = NetworkGuard(
        enabled=passerelle.callback_guard,
        allow=passerelle.callback_allow_networks,
        allow_loopback=passerelle.callback_allow_loopback,
        reactor=reactor,
    )
    return Outbox(
        directory,
        reactor,
        max_pending=max(1, smsbox.max_pending_requests),
        retries=max(0, retries),
        retry_delay=float(max(0, smsbox.http_queue_delay)),
        timeout=float(smsbox.http_timeout) if smsbox.http_timeout > 0 else 240.0,
        guard=guard,
        max_bytes=passerelle.callback_max_bytes,
    )


class AdminStub(Resource):
    """The admin port until the admin issue: `status.json` and `/metrics` (ours) and, for
    every other path, an honest unknown command."""

    isLeaf = True

    def __init__(self, pages: dict[bytes, Resource] | None = None) -> None:
        super().__init__()
        self.pages = pages or {}

    def render(self, request: Request) -> bytes:
        path = request.path.removeprefix(b"/cgi-bin")
        page = self.pages.get(path)
        if page is not None:
            return page.render(request)
        request.setResponseCode(404)
        request.setHeader(b"Content-Type", b"text/plain")
        path = request.path.decode("latin-1", "replace")
        return (
            f"Unknown command `{path}'. Passerelle does not implement the admin commands "
            "yet (status, store-status, suspend, ... arrive with the admin issue)."
        ).encode()


class _QuietSite(Site):
    """A Site that writes no per-request log line (admin URLs carry the password)."""

    noisy = False

    def log(self, request: Request) -> None:
        return None


class ListeningService(Service):
    """Listens on a TCP port while running; `port` is the IListeningPort (None when not)."""

    def __init__(self, reactor: Any, port: int, factory: Any, interface: str = "") -> None:
        self.reactor = reactor
        self.port_number = port
        self.factory = factory
        self.interface = interface
        self.port: IListeningPort | None = None

    def startService(self) -> None:
        self.port = self.reactor.listenTCP(self.port_number, self.factory,
                                           interface=self.interface)
        super().startService()

    def stopService(self) -> Deferred[None]:
        super().stopService()
        port, self.port = self.port, None
        if port is None:
            return succeed(None)
        return maybeDeferred(port.stopListening)


class SimulatorService(Service):
    """The built-in SMSC simulator (`group = passerelle`, `simulator-port`)."""

    def __init__(self, reactor: Any, port: int) -> None:
        self.reactor = reactor
        self.port_number = port
        self.port: IListeningPort | None = None

    def startService(self) -> None:
        from protocols.smpp.simulator import SimulatorConfig, listen

        self.port = listen(self.reactor, SimulatorConfig(host="127.0.0.1", port=self.port_number))
        super().startService()

    def stopService(self) -> Deferred[None]:
        super().stopService()
        port, self.port = self.port, None
        if port is None:
            return succeed(None)
        port.factory.drop_connections()  # type: ignore[attr-defined]
        return maybeDeferred(port.stopListening)


class ReportsService(Service):
    """The DLR store, the callback outbox and the MO receiver, handed to `DeliveryReports`.

    Started before the links (a receipt never finds them missing) and stopped after them
    (the last receipts still go somewhere); opening them takes threads, files and
    connections, so nothing is built before `startService`. The outbox lives in
    `<spool-dir>/callbacks`; without a spool-dir (the in-memory queue) in a temporary
    directory removed at stop, since nothing else survives a restart there either.
    """

    #: How often the DLR record count shown on the status page is refreshed (seconds).
    COUNT_EVERY = 5.0

    def __init__(
        self, config: GatewayConfig, reactor: Any, reports: DeliveryReports,
        queue: MessageQueue, router: Router,
    ) -> None:
        self.config = config
        self.reactor = reactor
        self.reports = reports
        self.queue = queue
        self.router = router
        self.store: Any = None
        self.outbox: Any = None
        self.mo: Any = None
        self.opened: Deferred[None] | None = None
        #: DLR records in the store at the last count (None before the first).
        self.records: int | None = None
        self._scratch: str | None = None
        self._counter: LoopingCall | None = None

    def startService(self) -> None:
        from gateway.mo import MoReceiver

        super().startService()
        config = self.config
        if uses_spool(config):
            directory = str(Path(config.passerelle.spool_dir) / "callbacks")
        else:
            directory = self._scratch = tempfile.mkdtemp(prefix="passerelle-callbacks-")
        self.store = dlr_store_for(config, self.reactor)
        self.outbox = outbox_for(config, self.reactor, directory)
        self.mo = MoReceiver(config, self.queue, self.outbox, self.reactor, router=self.router)
        self.reports.open(self.store, self.outbox, self.mo)
        self.opened = self.outbox.open()
        self.opened.addErrback(
            lambda f: log.failure("the callback outbox could not be opened", f)
        )
        self._counter = LoopingCall(self._count)
        self._counter.clock = self.reactor
        self._counter.start(self.COUNT_EVERY, now=True).addErrback(
            lambda f: log.failure("DLR count loop stopped", f)
        )

    def _count(self) -> None:
        def counted(n: int) -> None:
            self.records = n

        self.store.count().addCallbacks(counted, lambda f: None)

    def stopService(self) -> Deferred[Any]:
        super().stopService()
        if self._counter is not None and self._counter.running:
            self._counter.stop()
        self.reports.close()
        if self.mo is not None:
            self.mo.stop()
        closing = [maybeDeferred(self.outbox.close), maybeDeferred(self.store.close)]
        d = DeferredList(closing, consumeErrors=True)
        if self._scratch is not None:
            scratch, self._scratch = self._scratch, None
            d.addBoth(lambda result: (shutil.rmtree(scratch, ignore_errors=True), result)[1])
        return d


class DispatchService(Service):
    """The links and the dispatcher: started after the simulator, stopped before it."""

    def __init__(self, dispatcher: Dispatcher, links: list[SmscLink]) -> None:
        self.dispatcher = dispatcher
        self.links = links
        #: Links started at startService (`dead-start` ones wait for an admin start-smsc).
        self.autostart: list[SmscLink] = []

    def startService(self) -> None:
        super().startService()
        self.dispatcher.start()
        for link in self.autostart:
            link.start()

    def stopService(self) -> Deferred[Any]:
        super().stopService()
        self.dispatcher.stop()
        return DeferredList([link.stop() for link in self.links], consumeErrors=True)


class GatewayService(MultiService):
    """The gateway built from a validated `GatewayConfig` (see the module docstring)."""

    def __init__(self, config: GatewayConfig, reactor: Any = None) -> None:
        super().__init__()
        if reactor is None:
            from twisted.internet import reactor as default_reactor

            reactor = default_reactor
        self.config = config
        self.reactor = reactor
        self.queue: MessageQueue = self._queue(config, reactor)

        # One router entry per connection: `instances = N` makes N identical ones.
        entries = [smsc for smsc in config.smscs for _ in range(max(1, smsc.instances))]
        self.events = DeliveryReports(
            reactor, msg_id_types={key: smsc.msg_id_type for key, smsc in enumerate(entries)}
        )
        self.links: list[SmscLink] = []
        autostart: list[SmscLink] = []
        core = config.core
        tlv_defs = [
            TlvDef(tlv.name, tlv.tag, tlv.type, tlv.length, tlv.smsc_id)
            for tlv in getattr(config, "smpp_tlvs", ())
        ]
        for key, smsc in enumerate(entries):
            link = SmscLink(
                key,
                smsc.bind_config(),
                SubmitProfile.from_smsc(smsc, tlv_defs),
                self.queue,
                reactor,
                events=self.events,
                resend_freq=float(core.sms_resend_freq),
                resend_retry=core.sms_resend_retry,
                throughput=smsc.throughput,
            )
            self.links.append(link)
            if not smsc.dead_start:
                autostart.append(link)
        # A receive-only group (port = 0, receive-port) binds a receiver for MO and receipts
        # but can never take MT: it is no route, only a connection.
        routes = [None if smsc.receive_only else smsc for smsc in entries]
        self.router = Router(routes, self._is_online, unified_prefix=core.unified_prefix or "")
        self.dispatcher = Dispatcher(self.queue, self.router, self.links, reactor,
                                     events=self.events)

        if config.passerelle.simulator_port:
            self.simulator: SimulatorService | None = SimulatorService(
                reactor, config.passerelle.simulator_port
            )
            self.simulator.setServiceParent(self)
        else:
            self.simulator = None

        self.reports = ReportsService(config, reactor, self.events, self.queue, self.router)
        self.reports.setServiceParent(self)

        self.dispatch = DispatchService(self.dispatcher, self.links)
        self.dispatch.autostart = autostart
        self.dispatch.setServiceParent(self)

        self.sendsms: ListeningService | None = None
        smsbox = config.smsbox
        self.access_log: Any = None
        if smsbox is not None and smsbox.sendsms_port:
            self.sendsms = ListeningService(
                reactor, smsbox.sendsms_port, self._sendsms_site(config),
                smsbox.sendsms_interface or "",
            )
            self.sendsms.setServiceParent(self)

        self.admin: ListeningService | None = None
        if core.admin_port:
            from gateway.metrics import MetricsResource
            from gateway.status import StatusJson

            pages = {b"/status.json": StatusJson(self), b"/metrics": MetricsResource(self)}
            admin_site = _QuietSite(AdminStub(pages))
            admin_site.displayTracebacks = False
            self.admin = ListeningService(
                reactor, core.admin_port, admin_site, core.admin_interface or ""
            )
            self.admin.setServiceParent(self)

    @staticmethod
    def _queue(config: GatewayConfig, reactor: Any) -> MessageQueue:
        """The durable spool when `spool-dir` is set, the in-memory queue otherwise."""
        passerelle = config.passerelle
        weights = passerelle.lane_weights
        if not uses_spool(config):
            return MemoryQueue(queue_limit(config), reactor, weights=weights)
        from gateway.spool_queue import SpoolQueue
        from storage.spool import Spool

        limit = passerelle.spool_max_messages
        kannel = config.core.sms_outgoing_queue_limit
        if kannel is not None and kannel > 0:
            limit = min(limit, kannel)
        # Messages carry the user's `name` (dlr-url %n), so that is the spool's owner.
        owner_caps = {
            user.name: user.spool_max_bytes
            for user in config.users
            if user.spool_max_bytes is not None
        }
        spool = Spool(
            passerelle.spool_dir,
            max_bytes=passerelle.spool_max_bytes,
            max_records=max(1, limit),
            owner_max_bytes=owner_caps,
            reactor=reactor,
        )
        return SpoolQueue(spool, reactor, weights=weights)

    def startService(self) -> None:
        """Start the children, then open the spool (if any): puts wait for it and takes give
        nothing until then, so the listeners need not wait; if it cannot be opened,
        everything stops again."""
        super().startService()
        open_queue = getattr(self.queue, "open", None)
        if open_queue is not None:
            self.queue_opened: Deferred[None] | None = open_queue()
            self.queue_opened.addErrback(self._spool_failed)
        else:
            self.queue_opened = None

    #: Stop the reactor when the spool cannot be opened (the process exits rather than
    #: answer every request with 500); tests sharing a reactor turn it off.
    stop_reactor_on_fatal = True

    #: Why the service stopped itself (the spool could not be opened), for an exit status.
    fatal: Failure | None = None

    def _spool_failed(self, failure: Failure) -> None:
        """No spool (another gateway holds it, no permission, ...): nothing could ever be
        accepted, so stop listening and, as a process, exit."""
        self.fatal = failure
        log.critical(
            "cannot open the spool {dir}: {error}; stopping",
            dir=getattr(getattr(self.queue, "spool", None), "directory", ""),
            error=failure.getErrorMessage(),
        )
        d = self.stopService()
        if self.stop_reactor_on_fatal:
            d.addBoth(lambda _: self.reactor.stop() if self.reactor.running else None)

    def _is_online(self, key: int) -> bool:
        return self.links[key].online

    def _sendsms_site(self, config: GatewayConfig) -> Any:
        """The sendsms accept path (`gateway.sendsms`) over this service's router and queue,
        with smsbox's access log."""
        from gateway.sendsms.accept import Acceptor
        from gateway.sendsms.accesslog import access_log_for
        from gateway.sendsms.resource import sendsms_site

        smsbox = config.smsbox
        assert smsbox is not None
        self.acceptor = Acceptor(config, self.router, self.queue, self.reactor)
        self.access_log = access_log_for(
            smsbox.access_log, gmt=smsbox.access_log_time.lower() == "gmt"
        )
        return sendsms_site(config, self.acceptor, self.access_log, reactor=self.reactor)

    def stopService(self) -> Deferred[Any]:
        """Stop in reverse order, each child once the one started after it has stopped:
        listeners first, then the links (unbinding), the simulator last."""
        if not self.running:
            return succeed(None)
        Service.stopService(self)
        children = list(self)
        children.reverse()
        result: Deferred[Any] = succeed(None)
        for child in children:
            result.addCallback(lambda _, child=child: child.stopService())
        close_queue = getattr(self.queue, "close", None)
        if close_queue is not None:
            result.addBoth(lambda _: close_queue())
        result.addErrback(lambda failure: log.failure("stopping failed", failure))
        if self.access_log is not None:
            result.addBoth(self._close_access_log)
        return result

    def _close_access_log(self, result: Any) -> Any:
        self.access_log.close()
        return result
