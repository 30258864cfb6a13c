"""The sendsms listener over real TCP on 127.0.0.1, with the real reactor.

The in-memory tests (test_sendsms_http.py) cover the behaviour; these check that the bytes
a real client reads off the socket are Kannel's, header block included, and that the
connection handling (keep-alive, close, the 413 cut-off) holds on a real transport. The
client is a plain blocking socket run in a thread, so nothing of Twisted is on its side.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator

import pytest
import pytest_twisted
from conftest import make_config
from twisted.internet import reactor, threads
from twisted.internet.task import Clock

from gateway.queue import MemoryQueue
from gateway.routing import Router
from gateway.sendsms.accept import Acceptor
from gateway.sendsms.accesslog import NoAccessLog
from gateway.sendsms.resource import sendsms_site

HEAD = re.compile(
    rb"HTTP/1\.1 (?P<status>\d{3} [A-Za-z ]+)\r\n"
    rb"Server: Kannel/1\.4\.5\r\n"
    rb"Date: [A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT\r\n"
    rb"Content-Length: (?P<length>\d+)\r\n"
    rb"Connection: (?P<connection>Keep-Alive|Close)\r\n"
    rb"Content-type: text/html\r\n"
    rb"Pragma: no-cache\r\n"
    rb"Cache-Control: no-cache\r\n\r\n"
)
AUTH = "username=tester&password=foobar"


@pytest.fixture
def server() -> Iterator[tuple[int, MemoryQueue]]:
    config = make_config("group = passerelle\nmax-request-body = 1000")
    queue = MemoryQueue(1000, Clock())
    acceptor = Acceptor(config, Router(config.smscs, lambda key: True), queue, Clock())
    port = reactor.listenTCP(  # type: ignore[attr-defined]
        0, sendsms_site(config, acceptor, NoAccessLog()), interface="127.0.0.1"
    )
    yield port.getHost().port, queue
    pytest_twisted.blockon(port.stopListening())


def read_response(sock: socket.socket) -> tuple[bytes, bytes]:
    """One response: (head block, body) read by Content-Length."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError(f"closed after {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"Content-Length: (\d+)", head)[1])  # type: ignore[index]
    while len(body) < length:
        body += sock.recv(4096)
    return head + b"\r\n\r\n", body


def closed(sock: socket.socket) -> bool:
    sock.settimeout(5)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def exchange(port: int, *requests: bytes) -> list[tuple[bytes, bytes, bool]]:
    """Send each request in turn on one connection; (head, body, closed-after-last)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        out = []
        for raw in requests:
            sock.sendall(raw)
            head, body = read_response(sock)
            out.append((head, body, False))
        last_head, last_body, _ = out[-1]
        if b"Connection: Close" in last_head:
            out[-1] = (last_head, last_body, closed(sock))
        return out


@pytest_twisted.inlineCallbacks
def test_accepted_bytes_on_the_wire(server: tuple[int, MemoryQueue]) -> None:
    port, queue = server
    raw = f"GET /cgi-bin/sendsms?{AUTH}&from=1&to=4670000001&text=Hi HTTP/1.1\r\nHost: x\r\n\r\n"
    [(head, body, _)] = yield threads.deferToThread(exchange, port, raw.encode())
    match = HEAD.fullmatch(head)
    assert match is not None, head
    assert (match["status"], match["connection"]) == (b"202 Accepted", b"Keep-Alive")
    assert body == b"0: Accepted for delivery"
    assert [m.receiver for m in queue.take(10)] == ["4670000001"]


@pytest_twisted.inlineCallbacks
def test_keep_alive_then_close(server: tuple[int, MemoryQueue]) -> None:
    port, _ = server
    first = f"GET /cgi-bin/sendsms?{AUTH}&from=1&to=1 HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    second = b"GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    results = yield threads.deferToThread(exchange, port, first, second)
    (head1, body1, _), (head2, body2, was_closed) = results
    assert HEAD.fullmatch(head1)["connection"] == b"Keep-Alive"  # type: ignore[index]
    match = HEAD.fullmatch(head2)
    assert match is not None
    assert (match["status"], match["connection"]) == (b"404 Not Found", b"Close")
    assert (body1, body2, was_closed) == (b"0: Accepted for delivery", b"Unknown request.", True)


def oversized(port: int) -> tuple[bytes, bool]:
    """Announce a body over the cap, send none of it, and read what comes back."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(
            b"POST /cgi-bin/sendsms HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
            b"Content-Length: 1000000\r\n\r\n" + b"x" * 100
        )
        head, body = read_response(sock)
        return head + body, closed(sock)


@pytest_twisted.inlineCallbacks
def test_oversized_body_is_cut_off(server: tuple[int, MemoryQueue]) -> None:
    port, _ = server
    raw, was_closed = yield threads.deferToThread(oversized, port)
    assert raw.startswith(b"HTTP/1.1 413 Request Entity Too Large\r\nServer: Kannel/1.4.5\r\n")
    assert b"Connection: Close\r\n" in raw
    assert raw.endswith(b"\r\n\r\nRequest body too large, rejected")
    assert was_closed


def streaming_upload(port: int) -> tuple[bytes, bool]:
    """Keep uploading a body far over the cap; the 413 must still be readable."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(
            b"POST /cgi-bin/sendsms HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
            b"Content-Length: 4000000\r\n\r\n"
        )
        sent = 0
        try:
            while sent < 500_000:
                sent += sock.send(b"x" * 16384)
        except OSError:
            pass
        head, body = read_response(sock)
        return head + body, closed(sock)


@pytest_twisted.inlineCallbacks
def test_a_client_still_uploading_reads_the_413(server: tuple[int, MemoryQueue]) -> None:
    port, _ = server
    raw, was_closed = yield threads.deferToThread(streaming_upload, port)
    assert raw.startswith(b"HTTP/1.1 413 Request Entity Too Large\r\n")
    assert raw.endswith(b"Request body too large, rejected")
    assert was_closed


def put_request(port: int) -> tuple[bytes, bool]:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"PUT /cgi-bin/sendsms HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(4096)
        return data, closed(sock)


@pytest_twisted.inlineCallbacks
def test_put_is_400_empty_and_closed(server: tuple[int, MemoryQueue]) -> None:
    port, _ = server
    raw, was_closed = yield threads.deferToThread(put_request, port)
    assert re.fullmatch(
        rb"HTTP/1\.1 400 Bad Request\r\nServer: Kannel/1\.4\.5\r\nDate: [^\r]+\r\n"
        rb"Content-Length: 0\r\nConnection: Close\r\n\r\n",
        raw,
    ), raw
    assert was_closed
