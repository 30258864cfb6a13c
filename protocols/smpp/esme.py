"""Keeping one SMPP bind configuration connected, the way Kannel's `smsc = smpp` does.

`EsmeConnector` connects, binds, and reconnects after any failure with an exponential
backoff with full jitter (Kannel sleeps a flat `reconnect-delay`; a fleet of gateways
restarted together would then hammer a recovering SMSC in lockstep). A bind refused for
its credentials (ESME_RINVPASWD, ESME_RINVSYSID, ESME_RINVSYSTYP) will never succeed by
retrying, so the link goes `dead` until someone starts it again, as Kannel's "quitting".
ESME_RALYBND counts as bound, as in Kannel.

Each TCP connection gets a fresh `EsmeSession`; the connector only sees its life cycle
(`LinkEvents`). Messages never pass through here: the application submits on the session
it is handed in `EsmeListener.bound` (or `EsmeConnector.transmitter`).
"""

from __future__ import annotations

import enum
import random
from collections.abc import Callable
from typing import Any, Final
from typing import Protocol as TypingProtocol

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IAddress, IConnector, IDelayedCall
from twisted.internet.protocol import ClientFactory
from twisted.logger import Logger
from twisted.python.failure import Failure

from protocols.smpp import constants as c
from protocols.smpp.session import (
    BindConfig,
    BindMode,
    EsmeCounters,
    EsmeListener,
    EsmeProtocol,
    EsmeSession,
)

__all__ = [
    "PERMANENT_BIND_ERRORS",
    "BindConfig",
    "EsmeConnector",
    "EsmeLink",
    "LinkStatus",
    "backoff_delay",
]

log = Logger(namespace="passerelle.smpp.esme")

#: Bind refusals that retrying cannot cure (Kannel stops the link: "quitting").
PERMANENT_BIND_ERRORS: Final = frozenset({c.ESME_RINVPASWD, c.ESME_RINVSYSID, c.ESME_RINVSYSTYP})


class TcpClock(TypingProtocol):
    """The part of a reactor the connector uses; `MemoryReactorClock` provides it in tests."""

    def connectTCP(
        self,
        host: str,
        port: int,
        factory: ClientFactory,
        timeout: float = 30,
        bindAddress: tuple[str, int] | None = None,
    ) -> IConnector: ...

    def callLater(
        self, delay: float, callable: Callable[..., Any], *args: Any, **kw: Any
    ) -> IDelayedCall: ...

    def seconds(self) -> float: ...


def backoff_delay(attempt: int, base: float, cap: float, rand: Callable[[], float]) -> float:
    """Seconds to wait before reconnect number `attempt` (0 for the first).

    "Full jitter": uniform between 0 and min(cap, base * 2**attempt). Spreading the whole
    range, not just a margin around the exponential, is what stops many clients that
    failed together from coming back together.
    """
    ceiling = cap if attempt >= 64 else min(cap, base * 2.0**attempt)
    return rand() * ceiling


class LinkStatus(enum.Enum):
    """Kannel's SMSC connection states, with the words its status page uses."""

    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    RECONNECTING = "re-connecting"
    ONLINE = "online"
    DEAD = "dead"


class EsmeLink:
    """One TCP connection of a connector (the transmitter, the receiver or the transceiver).

    It is the session's `LinkEvents`: it hears bound / refused / closed and decides between
    reconnecting, staying dead, or settling during a stop.
    """

    def __init__(self, owner: EsmeConnector, mode: BindMode, port: int) -> None:
        self.owner = owner
        self.mode = mode
        self.port = port
        self.status = LinkStatus.DISCONNECTED
        self.session: EsmeSession | None = None
        #: When the current session bound, for `online Ns`.
        self.online_since: float | None = None
        #: Reconnects since the last successful bind (the backoff exponent).
        self.attempt = 0
        #: The status of the last refused bind on this connection, if any.
        self.last_refusal: int | None = None
        self._tcp: IConnector | None = None
        self._retry: IDelayedCall | None = None
        self._factory: _LinkFactory | None = None

    @property
    def active(self) -> bool:
        """Something is under way: a connection attempt, a session, or a pending retry."""
        return self._tcp is not None or self.session is not None or self._retry is not None

    def connect(self) -> None:
        """Open the TCP connection; the bind follows in the session's connection_made."""
        self._retry = None
        self.last_refusal = None
        owner = self.owner
        cfg = owner.config
        # A factory per attempt: a failure reported late for an attempt we abandoned
        # (stop, then start again) must not schedule a second connection.
        self._factory = factory = _LinkFactory(self)
        try:
            self._tcp = owner.reactor.connectTCP(
                cfg.host, self.port, factory, timeout=cfg.connect_timeout
            )
        except Exception:
            self._tcp = None
            self.connect_failed(factory, Failure())

    def build_protocol(self, factory: _LinkFactory) -> EsmeProtocol | None:
        """A new session for a new connection (None refuses a stale attempt's socket)."""
        if factory is not self._factory or self.session is not None:
            return None
        owner = self.owner
        self._tcp = None
        self.last_refusal = None
        self.session = session = EsmeSession(
            owner.config,
            owner.listener,
            self.mode,
            clock=owner.reactor,  # type: ignore[arg-type]
            counters=owner.counters,
            link=self,
            tick_interval=owner.tick_interval,
        )
        return EsmeProtocol(session)

    def connect_failed(self, factory: _LinkFactory, reason: Failure) -> None:
        """The TCP connection could not be made."""
        if factory is not self._factory:
            return
        self._factory = None
        self._tcp = None
        owner = self.owner
        if not owner.running:
            self._settle()
            return
        log.warn(
            "SMPP[{name}]: cannot connect to {host}:{port}: {why}",
            name=owner.config.name,
            host=owner.config.host,
            port=self.port,
            why=reason.getErrorMessage(),
        )
        self._schedule_retry()

    def shutdown(self) -> None:
        """Stop retrying and leave: unbind a bound session, abandon a pending connect."""
        if self._retry is not None:
            if self._retry.active():
                self._retry.cancel()
            self._retry = None
        if self._tcp is not None:
            tcp, self._tcp = self._tcp, None
            self._factory = None
            try:
                tcp.stopConnecting()
            except Exception:
                log.failure("stopConnecting failed")
        if self.session is not None:
            self.session.unbind()
        self._settle()

    # LinkEvents

    def link_bound(self, session: EsmeSession) -> None:
        owner = self.owner
        self.status = LinkStatus.ONLINE
        self.online_since = owner.reactor.seconds()
        self.attempt = 0
        log.info(
            "SMPP[{name}]: bound as {mode} on {host}:{port}",
            name=owner.config.name,
            mode=self.mode.name.lower(),
            host=owner.config.host,
            port=self.port,
        )

    def link_refused(self, session: EsmeSession, status: int) -> None:
        self.last_refusal = status

    def link_closed(self, session: EsmeSession, reason: str) -> None:
        if session is not self.session:
            return
        self.session = None
        self.online_since = None
        owner = self.owner
        refusal = self.last_refusal
        if refusal is not None and refusal in PERMANENT_BIND_ERRORS:
            self.status = LinkStatus.DEAD
            log.critical(
                "SMPP[{name}]: the SMSC refused the bind on {host}:{port} with 0x{status:08x} "
                "({text}); this will not cure itself, so the link stays DEAD until it is "
                "started again. Check smsc-username, smsc-password and system-type.",
                name=owner.config.name,
                host=owner.config.host,
                port=self.port,
                status=refusal,
                text=c.status_text(refusal),
            )
            owner._link_dead(self)
            return
        if not owner.running:
            self._settle()
            return
        log.warn(
            "SMPP[{name}]: connection to {host}:{port} closed ({reason}). Re-connecting.",
            name=owner.config.name,
            host=owner.config.host,
            port=self.port,
            reason=reason,
        )
        self._schedule_retry()

    def _schedule_retry(self) -> None:
        owner = self.owner
        cfg = owner.config
        delay = backoff_delay(self.attempt, cfg.reconnect_delay, cfg.reconnect_delay_max,
                              owner.random)
        self.attempt += 1
        owner.counters.reconnects += 1
        self.status = LinkStatus.RECONNECTING
        self._retry = owner.reactor.callLater(delay, self.connect)

    def _settle(self) -> None:
        if self.active:
            return
        if self.status is not LinkStatus.DEAD:
            self.status = LinkStatus.DISCONNECTED
        self.owner._link_settled()


class _LinkFactory(ClientFactory):
    """Hands a link's connection events to the link; a factory per link, not shared."""

    noisy = False  # the link logs what matters; "Starting factory" on every retry is noise

    def __init__(self, link: EsmeLink) -> None:
        self.link = link

    def buildProtocol(self, addr: IAddress) -> EsmeProtocol | None:
        return self.link.build_protocol(self)

    def clientConnectionFailed(
        self, connector: IConnector, reason: Failure
    ) -> None:
        self.link.connect_failed(self, reason)


class EsmeConnector:
    """The connection(s) for one `BindConfig`, kept up until `stop`.

    One transceiver link with `transceiver_mode`; else a transmitter on `port` when that is
    set, plus a receiver on `receive_port` when that is set (receive-only: `port` 0).
    `counters` is shared by every session it makes, so counts survive reconnects.
    """

    def __init__(
        self,
        config: BindConfig,
        listener: EsmeListener,
        *,
        reactor: TcpClock | None = None,
        random_source: Callable[[], float] | None = None,
        tick_interval: float = 1.0,
    ) -> None:
        if reactor is None:
            from twisted.internet import reactor as default_reactor

            reactor = default_reactor  # type: ignore[assignment]
        self.config = config
        self.listener = listener
        self.reactor: TcpClock = reactor  # type: ignore[assignment]
        #: uniform [0, 1) source for the backoff jitter; inject a seeded one in tests.
        self.random: Callable[[], float] = random.random if random_source is None else random_source
        self.tick_interval = tick_interval
        self.counters = EsmeCounters()
        self.running = False
        links: list[EsmeLink] = []
        if config.transceiver_mode:
            links.append(EsmeLink(self, BindMode.TRANSCEIVER, config.port))
        else:
            if config.port:
                links.append(EsmeLink(self, BindMode.TRANSMITTER, config.port))
            if config.receive_port:
                links.append(EsmeLink(self, BindMode.RECEIVER, config.receive_port))
        self.links: tuple[EsmeLink, ...] = tuple(links)
        self._stop_waiters: list[Deferred[None]] = []

    @property
    def status(self) -> str:
        """Kannel's words: `online Ns`, `connecting`, `re-connecting`, `disconnected`,
        `dead`; with two links the worse one speaks."""
        statuses = {link.status for link in self.links}
        for worst in (
            LinkStatus.DEAD,
            LinkStatus.RECONNECTING,
            LinkStatus.CONNECTING,
            LinkStatus.DISCONNECTED,
        ):
            if worst in statuses:
                return worst.value
        since = max(link.online_since or 0.0 for link in self.links)
        return f"online {max(0, int(self.reactor.seconds() - since))}s"

    @property
    def sessions(self) -> tuple[EsmeSession, ...]:
        """The sessions that are bound right now."""
        return tuple(
            link.session
            for link in self.links
            if link.session is not None and link.status is LinkStatus.ONLINE
        )

    @property
    def transmitter(self) -> EsmeSession | None:
        """The session to submit on, if one is bound for transmitting."""
        for link in self.links:
            session = link.session
            if session is not None and session.can_submit:
                return session
        return None

    def start(self) -> None:
        """Connect and bind; also revives a stopped or dead connector.

        Starting again before a `stop` has finished supersedes it: its Deferred fires
        then, and links still closing reconnect once they are closed.
        """
        if self.running:
            return
        self.running = True
        waiters, self._stop_waiters = self._stop_waiters, []
        for d in waiters:
            d.callback(None)
        log.info("SMPP[{name}]: starting", name=self.config.name)
        for link in self.links:
            link.attempt = 0
            if not link.active:
                link.status = LinkStatus.CONNECTING
                link.connect()

    def stop(self) -> Deferred[None]:
        """Unbind (waiting up to `unbind_timeout` for unbind_resp) and close every link.

        Fires when all connections are gone; submits still unanswered by then have been
        reported through `submit_failed`.
        """
        d: Deferred[None] = Deferred()
        self._stop_waiters.append(d)
        if self.running:
            log.info("SMPP[{name}]: stopping", name=self.config.name)
        self.running = False
        for link in self.links:
            link.shutdown()
        self._link_settled()
        return d

    def _link_settled(self) -> None:
        if self.running or any(link.active for link in self.links):
            return
        waiters, self._stop_waiters = self._stop_waiters, []
        for d in waiters:
            d.callback(None)

    def _link_dead(self, dead: EsmeLink) -> None:
        # The credentials are shared, so the other connection would be refused too.
        self.running = False
        for link in self.links:
            if link is not dead:
                link.shutdown()
        self._link_settled()
