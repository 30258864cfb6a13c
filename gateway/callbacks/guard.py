"""Which addresses a callback may connect to.

A dlr-url comes from whoever submitted the message, so without a guard any sendsms user can
make the gateway issue GETs to the metadata service of the cloud it runs in, to a router's
admin page, or to anything else on the gateway's private networks. The guard resolves the
target's host itself, checks *every* address the name resolves to, and the connection is made
to a checked address (never to the name again), so a DNS answer that changes between the check
and the connect (DNS rebinding) cannot slip through. Redirects go through the same endpoint
factory, so every hop is checked.

Loopback is allowed by default: a local application is the usual Kannel dlr-url target.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterable, Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import Any, Final, TypeAlias

from twisted.internet import defer
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint, TCP6ClientEndpoint, wrapClientTLS
from twisted.internet.interfaces import IStreamClientEndpoint
from twisted.internet.threads import deferToThreadPool
from twisted.web.client import BrowserLikePolicyForHTTPS
from twisted.web.iweb import IAgentEndpointFactory
from zope.interface import implementer

Network: TypeAlias = IPv4Network | IPv6Network
Address: TypeAlias = IPv4Address | IPv6Address
#: host, port → the addresses the host resolves to (a Deferred or a plain list).
Resolver: TypeAlias = Callable[[str, int], "Deferred[list[str]] | list[str]"]

#: Refused unless allowed: "this network", private (RFC 1918, carrier-grade NAT, unique local),
#: link-local (cloud metadata services live there), benchmarking, IETF protocol assignments,
#: multicast, reserved and broadcast, and the unspecified addresses.
BLOCKED_NETWORKS: Final[tuple[Network, ...]] = tuple(
    ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/128",
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",
        "ff00::/8",
    )
)

#: Allowed by default (`allow_loopback=True`): local applications.
LOOPBACK_NETWORKS: Final[tuple[Network, ...]] = (
    ip_network("127.0.0.0/8"),
    ip_network("::1/128"),
)

#: Seconds a TCP connect may take before the next resolved address is tried.
CONNECT_TIMEOUT: Final = 30.0


class CallbackRefused(Exception):
    """The callback target resolves to an address the guard does not allow. Final: a refused
    callback is dead-lettered at once, never retried."""


def _unwrap(address: Address) -> Address:
    """An IPv4-mapped (::ffff:a.b.c.d) or IPv4-compatible IPv6 address is judged as the IPv4
    address it carries, so `::ffff:10.0.0.1` is not a way around the guard."""
    if isinstance(address, IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        packed = address.packed
        if packed[:12] == bytes(12) and int(address) > 1:
            return IPv4Address(packed[12:])
    return address


class NetworkGuard:
    """Decides whether an address may be a callback target, and resolves hosts for the
    connection so that only checked addresses are ever connected to."""

    def __init__(
        self,
        *,
        enabled: bool = True,
        allow: Iterable[str] = (),
        allow_loopback: bool = True,
        blocked: Sequence[Network] = BLOCKED_NETWORKS,
        resolver: Resolver | None = None,
        reactor: Any = None,
    ) -> None:
        """`allow` holds CIDRs (e.g. `10.1.2.0/24`, `fd00::/8`) allowed even when blocked;
        `resolver` replaces the system's getaddrinfo (tests, or a resolver of your own);
        `enabled=False` lets every address through (the name is still resolved once and the
        connection made to that address)."""
        if reactor is None:
            from twisted.internet import reactor as default_reactor

            reactor = default_reactor
        self.enabled = enabled
        self.allow: tuple[Network, ...] = tuple(ip_network(a, strict=False) for a in allow)
        if allow_loopback:
            self.allow += LOOPBACK_NETWORKS
        self.blocked = tuple(blocked)
        self._resolver = resolver
        self._reactor = reactor

    def refusal(self, address: str) -> str | None:
        """Why `address` may not be connected to, or None when it may."""
        if not self.enabled:
            return None
        try:
            parsed = ip_address(address.split("%", 1)[0])
        except ValueError:
            return f"{address!r} is not an IP address"
        candidates = {parsed, _unwrap(parsed)}
        if any(c in net for c in candidates for net in self.allow):
            return None
        for candidate in candidates:
            if candidate.is_loopback:
                return f"{address} is loopback (not allowed)"
            for net in self.blocked:
                if candidate in net:
                    return f"{address} is in {net}"
        return None

    def resolve(self, host: str, port: int) -> Deferred[list[str]]:
        """The addresses of `host`, every one of them allowed; fails with CallbackRefused when
        any is not (a name that resolves partly into a private range is refused whole)."""
        return Deferred.fromCoroutine(self._resolve(host, port))

    async def _resolve(self, host: str, port: int) -> list[str]:
        bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
        try:
            ip_address(bare.split("%", 1)[0])
            addresses = [bare]
        except ValueError:
            addresses = await defer.maybeDeferred(self._lookup, bare, port)
        if not addresses:
            raise OSError(f"{host} resolves to no address")
        for address in addresses:
            reason = self.refusal(address)
            if reason is not None:
                name = address if bare == address else f"{host} resolves to {address}, which"
                raise CallbackRefused(f"callback target refused: {name} ({reason})")
        return addresses

    def _lookup(self, host: str, port: int) -> Deferred[list[str]] | list[str]:
        if self._resolver is not None:
            return self._resolver(host, port)
        return deferToThreadPool(
            self._reactor, self._reactor.getThreadPool(), _getaddrinfo, host, port
        )


def _getaddrinfo(host: str, port: int) -> list[str]:
    seen: dict[str, None] = {}
    for _family, _type, _proto, _name, sockaddr in socket.getaddrinfo(
        host, port, 0, socket.SOCK_STREAM
    ):
        seen.setdefault(str(sockaddr[0]), None)
    return list(seen)


@implementer(IAgentEndpointFactory)
class GuardedEndpointFactory:
    """Endpoints for twisted.web's Agent that resolve through the guard and connect to the
    checked addresses only (https: TLS with the host name, as a browser would check it)."""

    def __init__(
        self,
        reactor: Any,
        guard: NetworkGuard,
        *,
        connect_timeout: float = CONNECT_TIMEOUT,
        tls_policy: Any = None,
    ) -> None:
        self._reactor = reactor
        self._guard = guard
        self._connect_timeout = connect_timeout
        self._tls_policy = tls_policy if tls_policy is not None else BrowserLikePolicyForHTTPS()

    def endpointForURI(self, uri: Any) -> IStreamClientEndpoint:  # noqa: N802 - Twisted's name
        return _GuardedEndpoint(self, uri.scheme, uri.host.decode("ascii", "replace"), uri.port)


@implementer(IStreamClientEndpoint)
class _GuardedEndpoint:
    def __init__(self, factory: GuardedEndpointFactory, scheme: bytes, host: str, port: int):
        self._factory = factory
        self._scheme = scheme
        self._host = host
        self._port = port

    def connect(self, protocol_factory: Any) -> Deferred[Any]:
        return Deferred.fromCoroutine(self._connect(protocol_factory))

    async def _connect(self, protocol_factory: Any) -> Any:
        f = self._factory
        addresses = await f._guard.resolve(self._host, self._port)
        failure: BaseException | None = None
        for address in addresses:
            kind = TCP6ClientEndpoint if ":" in address else TCP4ClientEndpoint
            endpoint: Any = kind(f._reactor, address, self._port, timeout=f._connect_timeout)
            if self._scheme == b"https":
                bare = self._host.strip("[]")
                creator = f._tls_policy.creatorForNetloc(bare.encode("ascii"), self._port)
                endpoint = wrapClientTLS(creator, endpoint)
            try:
                return await endpoint.connect(protocol_factory)
            except defer.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - try the next address, report the last
                failure = e
        assert failure is not None
        raise failure


__all__ = [
    "BLOCKED_NETWORKS",
    "CONNECT_TIMEOUT",
    "LOOPBACK_NETWORKS",
    "CallbackRefused",
    "GuardedEndpointFactory",
    "NetworkGuard",
]
