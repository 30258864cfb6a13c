"""Serving an AdminResource on 127.0.0.1 (port 0) and asking it over real HTTP."""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any

from twisted.internet import defer, reactor
from twisted.internet.interfaces import IListeningPort
from twisted.web.client import Agent, readBody
from twisted.web.http_headers import Headers
from twisted.web.server import Site

from gateway.admin.resource import AdminResource


@dataclass
class Reply:
    code: int
    content_type: str
    body: str


class Server:
    """One admin port for a test."""

    def __init__(self, resource: AdminResource) -> None:
        self.resource = resource
        site = Site(resource)
        site.displayTracebacks = False
        self.port: IListeningPort = reactor.listenTCP(  # type: ignore[attr-defined]
            0, site, interface="127.0.0.1"
        )
        self.agent = Agent(reactor)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port.getHost().port}"  # type: ignore[attr-defined]

    def get(self, path: str, accept: str | None = None) -> defer.Deferred[Reply]:
        headers = Headers({b"Accept": [accept.encode()]} if accept else {})
        return defer.ensureDeferred(self._get(path, headers))

    async def _get(self, path: str, headers: Headers) -> Reply:
        response = await self.agent.request(b"GET", (self.base + path).encode(), headers)
        body = await readBody(response)
        kinds = response.headers.getRawHeaders(b"content-type") or [b""]
        return Reply(response.code, kinds[0].decode(), body.decode("utf-8"))

    def stop(self) -> defer.Deferred[Any]:
        return defer.maybeDeferred(self.port.stopListening)


def serve(resource: AdminResource) -> Generator[Server, None, None]:
    server = Server(resource)
    yield server
    server.port.stopListening()


def headers_of(mapping: Mapping[str, str]) -> Headers:
    return Headers({k.encode(): [v.encode()] for k, v in mapping.items()})
