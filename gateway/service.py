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
4. the core admin port: Kannel's admin commands and status pages (`gateway.admin`) over
   `gateway.control.ServiceControl`, plus `status.json`, `/metrics` and `/dashboard`.

Starting also opens the Kannel log files (`gateway.logs`: core and smsbox `log-file`,
size-capped) and bearerbox's access log (core `access-log`).

Stopping (SIGTERM, SIGINT, the admin's shutdown) runs the other way: the HTTP listeners
close, the dispatcher stops taking, the submits on the wire get `shutdown-grace` seconds to be
answered (a second SIGTERM cuts that short), the links unbind (waiting for unbind_resp,
bounded by the session's unbind timeout), the simulator goes after them so that our unbinds
still find it, and the spool is closed last (pending acks committed; whatever was not acked
is replayed at the next start). SIGHUP reopens the logs and reloads the configuration file
all or nothing (`gateway.reload`).

Nothing listens or connects before `startService`, so a configuration error is reported
before any port is taken, and tests can build the service and look at it without side
effects.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from twisted.application.service import MultiService, Service
from twisted.internet.defer import Deferred, DeferredList, maybeDeferred, succeed
from twisted.internet.interfaces import IListeningPort
from twisted.internet.task import LoopingCall
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.server import Request, Site

from gateway.config import GatewayConfig
from gateway.config.model import SmscConfig
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
    #: ...for Redis, where counting is a SCAN of the table's keys (O(records) on the server).
    REDIS_COUNT_EVERY = 60.0

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
        every = self.REDIS_COUNT_EVERY if config.core.dlr_storage == "redis" else self.COUNT_EVERY
        self._counter.start(every, now=True).addErrback(
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


def _version() -> str:
    """Passerelle's version as installed (the status page's build line)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("passerelle")
    except PackageNotFoundError:
        return "0.1.0"


class GatewayService(MultiService):
    """The gateway built from a validated `GatewayConfig` (see the module docstring).

    `signals`: install the process's SIGTERM/SIGINT (drain and exit), SIGHUP/SIGUSR2 (reopen
    logs and reload the configuration) handlers once the reactor runs; `twistd passerelle`
    and `passerelle run` turn it on, tests sharing a reactor leave it off.
    """

    def __init__(self, config: GatewayConfig, reactor: Any = None, *,
                 signals: bool = False) -> None:
        super().__init__()
        if reactor is None:
            from twisted.internet import reactor as default_reactor

            reactor = default_reactor
        from gateway.control import CountingReports, ServiceControl

        self.config = config
        self.reactor = reactor
        self.signals = signals
        self.version = _version()
        from gateway.metrics import FsyncTimer

        #: The spool's fsync latencies (`/metrics`).
        self.fsync_timer = FsyncTimer()
        self.queue: MessageQueue = self._queue(
            config, reactor, fsync=self.fsync_timer.timed(os.fdatasync)
        )
        #: True from the start of a stop (SIGTERM, admin shutdown) on.
        self.stopping = False
        self.started_at: float | None = None
        #: Links an admin stop-smsc stopped (start-smsc may start them again).
        self.stopped_links: set[SmscLink] = set()
        #: Kannel log files (core / smsbox log-file), opened at start.
        self.log_observers: list[Any] = []
        self.core_access_log: Any = None
        #: What the process does for `shutdown`: stop the reactor, whose "before shutdown"
        #: trigger runs `stopService` (twistd and `passerelle run` both register it).
        self.exit: Callable[[], None] = self._stop_reactor
        self._drain_cut: Deferred[None] | None = None
        #: None until a shutdown is asked for; True once asked twice (no grace left).
        self._hurry: bool | None = None

        entries = [smsc for smsc in config.smscs for _ in range(max(1, smsc.instances))]
        self.events = CountingReports(
            reactor, msg_id_types={key: smsc.msg_id_type for key, smsc in enumerate(entries)}
        )
        self.links: list[SmscLink] = []
        self.link_configs: list[SmscConfig] = []
        autostart: list[SmscLink] = []
        for key, smsc in enumerate(entries):
            link = self.make_link(key, smsc)
            self.links.append(link)
            self.link_configs.append(smsc)
            if not smsc.dead_start:
                autostart.append(link)
        self.router = self._router(config, entries)
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

        self.control = ServiceControl(self)

        self.sendsms: ListeningService | None = None
        self.sendsms_resource: Any = None
        smsbox = config.smsbox
        self.access_log: Any = None
        if smsbox is not None and smsbox.sendsms_port:
            self.sendsms = ListeningService(
                reactor, smsbox.sendsms_port, self._sendsms_site(config),
                smsbox.sendsms_interface or "",
            )
            self.sendsms.setServiceParent(self)

        self.admin: ListeningService | None = None
        self.admin_resource: Any = None
        core = config.core
        if core.admin_port:
            from gateway.admin import AdminResource
            from gateway.metrics import MetricsResource
            from gateway.status import StatusJson

            self.admin_resource = AdminResource(
                self.control, core, reactor,
                status_pages={
                    b"/status.json": StatusJson(self), b"/metrics": MetricsResource(self),
                },
            )
            admin_site = _QuietSite(self.admin_resource)
            admin_site.displayTracebacks = False
            self.admin = ListeningService(
                reactor, core.admin_port, admin_site, core.admin_interface or ""
            )
            self.admin.setServiceParent(self)

    # -- construction ----------------------------------------------------------------------

    def make_link(self, key: int, smsc: SmscConfig) -> SmscLink:
        """The `SmscLink` of one smsc group entry (not started)."""
        tlv_defs = [
            TlvDef(tlv.name, tlv.tag, tlv.type, tlv.length, tlv.smsc_id)
            for tlv in getattr(self.config, "smpp_tlvs", ())
        ]
        core = self.config.core
        return SmscLink(
            key,
            smsc.bind_config(),
            SubmitProfile.from_smsc(smsc, tlv_defs),
            self.queue,
            self.reactor,
            events=self.events,
            resend_freq=float(core.sms_resend_freq),
            resend_retry=core.sms_resend_retry,
            throughput=smsc.throughput,
        )

    def _router(self, config: GatewayConfig, entries: list[SmscConfig]) -> Router:
        # A receive-only group (port = 0, receive-port) binds a receiver for MO and receipts
        # but can never take MT: it is no route, only a connection.
        routes = [None if smsc.receive_only else smsc for smsc in entries]
        return Router(routes, self._is_online, unified_prefix=config.core.unified_prefix or "")

    def set_links(self, links: list[SmscLink], entries: list[SmscConfig]) -> None:
        """Install a new set of links (a reload, add-smsc, remove-smsc): the router, the
        dispatcher and the receipts' msg-id-types follow. Starting and stopping is the
        caller's."""
        self.links = links
        self.link_configs = list(entries)
        self.events.msg_id_types = {
            key: smsc.msg_id_type for key, smsc in enumerate(entries)
        }
        self.router = self._router(self.config, entries)
        dispatcher = self.dispatcher
        dispatcher.router = self.router
        dispatcher.links = tuple(links)
        for link in links:
            link.owner = dispatcher
        self.dispatch.links = links
        self.reports.router = self.router
        if self.reports.mo is not None:
            self.reports.mo.router = self.router
        acceptor = getattr(self, "acceptor", None)
        if acceptor is not None:
            acceptor.router = self.router
        if dispatcher.running and links:
            # Messages held for want of a route may have one now.
            dispatcher.link_up(links[0])

    def replace_acceptor(self, config: GatewayConfig, lists: dict[str, Any]) -> None:
        """A new accept path (users, rules, lists) for the requests to come."""
        if self.sendsms_resource is None:
            return
        from gateway.sendsms.accept import Acceptor

        self.acceptor = Acceptor(config, self.router, self.queue, self.reactor, lists=lists)
        self.sendsms_resource.acceptor = self.acceptor

    def replace_mo_lists(self, config: GatewayConfig, lists: dict[str, Any]) -> None:
        """New sms-services and MO number lists for the MO receiver."""
        mo = self.reports.mo
        if mo is not None:
            mo.reconfigure(config, lists, self.router)

    @staticmethod
    def _queue(
        config: GatewayConfig, reactor: Any, fsync: Callable[[int], None] = os.fdatasync
    ) -> MessageQueue:
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
            fsync=fsync,
        )
        return SpoolQueue(spool, reactor, weights=weights)

    # -- start -----------------------------------------------------------------------------

    def startService(self) -> None:
        """Open the logs, start the children, then open the spool (if any): puts wait for
        it and takes give nothing until then, so the listeners need not wait; if it cannot
        be opened, everything stops again."""
        self._open_logs()
        self.started_at = self.reactor.seconds()
        super().startService()
        self.control.meters.start()
        open_queue = getattr(self.queue, "open", None)
        if open_queue is not None:
            self.queue_opened: Deferred[None] | None = open_queue()
            self.queue_opened.addErrback(self._spool_failed)
        else:
            self.queue_opened = None
        if self.signals:
            self.reactor.callWhenRunning(self.install_signal_handlers)

    def uptime(self) -> float:
        """Seconds since the service started (0 before)."""
        if self.started_at is None:
            return 0.0
        return max(0.0, self.reactor.seconds() - self.started_at)

    def _open_logs(self) -> None:
        """The Kannel log files (core and smsbox `log-file`) and bearerbox's access log."""
        from twisted.logger import globalLogPublisher

        from gateway.logs import log_observers
        from gateway.sendsms.accesslog import bearerbox_access_log_for

        self.log_observers = log_observers(self.config)
        for observer in self.log_observers:
            globalLogPublisher.addObserver(observer)
        core = self.config.core
        self.core_access_log = bearerbox_access_log_for(
            core.access_log, self.config.passerelle,
            gmt=core.access_log_time.lower() == "gmt",
        )
        self.events.access_log = self.core_access_log

    def _close_logs(self, result: Any = None) -> Any:
        from twisted.logger import globalLogPublisher

        for observer in self.log_observers:
            globalLogPublisher.removeObserver(observer)
            observer.out.close()
        self.log_observers = []
        if self.core_access_log is not None:
            self.core_access_log.close()
            self.events.access_log = self.core_access_log = None
        if self.access_log is not None:
            self.access_log.close()
        return result

    def reopen_logs(self) -> None:
        """After logrotate moved the files away (SIGHUP, SIGUSR2)."""
        for observer in self.log_observers:
            observer.out.reopen()
        for access_log in (self.access_log, self.core_access_log):
            if access_log is not None:
                access_log.reopen()

    # -- signals ---------------------------------------------------------------------------

    def install_signal_handlers(self) -> None:
        """Kannel's signals (REFERENCE §2.10): SIGTERM/SIGINT drain and exit (a second one
        cuts the drain short), SIGHUP/SIGUSR2 reopen the logs and reload the
        configuration. Installed once the reactor runs, after Twisted's own."""
        import signal

        reactor = self.reactor

        def on_stop(signum: int, frame: Any) -> None:
            reactor.callFromThread(self.shutdown)

        def on_hup(signum: int, frame: Any) -> None:
            reactor.callFromThread(self.sighup)

        signal.signal(signal.SIGTERM, on_stop)
        signal.signal(signal.SIGINT, on_stop)
        signal.signal(signal.SIGHUP, on_hup)
        signal.signal(signal.SIGUSR2, on_hup)

    def sighup(self) -> Deferred[bool]:
        """Reopen the logs, then reload the configuration file (or change nothing)."""
        # Reopened first, so that this line starts the new file logrotate expects.
        self.reopen_logs()
        log.info("SIGHUP received, re-opening logs and gracefully restarting.")
        return self.reload()

    def reload(self) -> Deferred[bool]:
        """Read the configuration file again and apply it (`gateway.reload`); fires False
        when it is invalid or needs a restart (logged; nothing changed)."""
        from gateway.config import ConfigError, load_config

        source = self.config.source
        if not os.path.isfile(source):
            log.error("configuration reload refused: {source} is not a file", source=source)
            return succeed(False)
        try:
            new = load_config(source)
        except ConfigError as exc:
            log.error("configuration reload refused, nothing changed: {source} is invalid:\n"
                      "{problems}", source=source, problems=exc.render_all())
            return succeed(False)
        return self.reconfigure(new)

    def reconfigure(self, new: GatewayConfig) -> Deferred[bool]:
        """Apply a validated configuration buildbot-style (`gateway.reload.reconfigure`)."""
        from gateway.reload import reconfigure

        return reconfigure(self, new)

    def reload_lists(self) -> Deferred[bool]:
        """The admin's reload-lists: fetch the number lists again for the same
        configuration (in a thread); nothing changes when one cannot be loaded."""
        from twisted.internet.threads import deferToThread

        from gateway.reload import load_lists

        config = self.config

        def loaded(lists: tuple[dict[str, Any], dict[str, Any]]) -> bool:
            self.replace_acceptor(config, lists[0])
            self.replace_mo_lists(config, lists[1])
            log.info("black/white lists re-loaded")
            return True

        def failed(failure: Failure) -> bool:
            log.error("could not re-load lists: {error}", error=failure.getErrorMessage())
            return False

        return deferToThread(load_lists, config).addCallbacks(loaded, failed)

    # -- admin: smsc groups ----------------------------------------------------------------

    def add_smsc(self, admin_id: str) -> bool:
        """add-smsc: start the smsc group(s) with this admin id from the configuration file
        (Kannel re-reads its file for this), when none runs yet."""
        from gateway.config import ConfigError, load_config
        from gateway.reload import apply_smscs, entries

        if any((c.smsc_admin_id or c.smsc_id) == admin_id for c in self.link_configs):
            return False
        try:
            fresh = load_config(self.config.source)
        except (ConfigError, OSError) as exc:
            log.error("add-smsc {id}: cannot read the configuration: {error}",
                      id=admin_id, error=exc)
            return False
        added = [
            smsc for smsc in entries(fresh)
            if (smsc.smsc_admin_id or smsc.smsc_id) == admin_id
        ]
        if not added:
            return False
        apply_smscs(self, list(self.link_configs) + added)
        return True

    def remove_smsc(self, admin_id: str) -> bool:
        """remove-smsc: stop the group's links and forget them."""
        from gateway.reload import apply_smscs

        kept = [
            config for config in self.link_configs
            if (config.smsc_admin_id or config.smsc_id) != admin_id
        ]
        if len(kept) == len(self.link_configs):
            return False
        apply_smscs(self, kept)
        return True

    # -- stop ------------------------------------------------------------------------------

    def _stop_reactor(self) -> None:
        if self.reactor.running:
            self.reactor.stop()

    def shutdown(self) -> None:
        """SIGTERM and the admin's shutdown: the graceful stop, then the process exits 0.
        While already going down, cut the drain short (Kannel's second SIGTERM)."""
        if self.stopping or self._hurry is not None:
            log.info("shutdown requested again: stopping at once")
            self._hurry = True
            cut, self._drain_cut = self._drain_cut, None
            if cut is not None:
                cut.callback(None)
            return
        log.info("shutdown requested: draining")
        self._hurry = False
        self.exit()

    def restart(self) -> None:
        """Kannel's restart: stop gracefully, then execute the same command again in this
        process (same PID, so systemd and twistd's pidfile keep following it)."""
        import sys

        log.info("restart requested: stopping, then executing {argv}", argv=sys.orig_argv)
        d = self.stopService()

        def again(_: object) -> None:
            for observer in self.log_observers:
                observer.out.close()
            os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:]])

        d.addBoth(again)

    def _drain(self) -> Deferred[None]:
        """Stop taking from the queue, then wait until the submits on the wire are answered
        (and what links hold is sent), at most `shutdown-grace` seconds or until a second
        shutdown; what is still unanswered after that stays in the spool."""
        self.dispatcher.stop()
        grace = 0.0 if self._hurry else float(self.config.passerelle.shutdown_grace)
        done: Deferred[None] = Deferred()
        self._drain_cut = done
        deadline = self.reactor.seconds() + grace

        def busy() -> int:
            total = 0
            for link in self.links:
                session = link.session
                if session is not None:
                    total += session.in_flight + link.waiting
            return total

        def check() -> None:
            if done.called:
                return
            left = busy()
            if left == 0 or self.reactor.seconds() >= deadline:
                if left:
                    log.warn("shutdown grace over: {n} submits unanswered stay queued", n=left)
                self._drain_cut = None
                done.callback(None)
                return
            self.reactor.callLater(0.05, check)

        check()
        return done

    def stopService(self) -> Deferred[Any]:
        """Stop in reverse order, each child once the one started after it has stopped:
        listeners first, then the drain (see `_drain`), the links (unbinding), the
        simulator last; then the spool and the logs close."""
        if not self.running:
            return succeed(None)
        self.stopping = True
        Service.stopService(self)
        self.control.meters.stop()
        children = list(self)
        children.reverse()
        result: Deferred[Any] = succeed(None)
        for child in children:
            if child is self.dispatch:
                result.addCallback(lambda _: self._drain())
            result.addCallback(lambda _, child=child: child.stopService())
        close_queue = getattr(self.queue, "close", None)
        if close_queue is not None:
            result.addBoth(lambda _: close_queue())
        result.addErrback(lambda failure: log.failure("stopping failed", failure))
        result.addBoth(self._stopped)
        return result

    def _stopped(self, result: Any) -> Any:
        log.info("gateway stopped")
        return self._close_logs(result)

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
        from gateway.sendsms.resource import SendsmsResource, SendsmsRoot, SendsmsSite

        smsbox = config.smsbox
        assert smsbox is not None
        self.acceptor = Acceptor(config, self.router, self.queue, self.reactor)
        self.access_log = access_log_for(
            smsbox.access_log, gmt=smsbox.access_log_time.lower() == "gmt",
            limits=config.passerelle,
        )
        self.sendsms_resource = SendsmsResource(config, self.acceptor, self.access_log)
        return SendsmsSite(
            SendsmsRoot(self.sendsms_resource),
            max_request_body=config.passerelle.max_request_body,
            reactor=self.reactor,
        )
