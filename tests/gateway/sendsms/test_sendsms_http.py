"""The sendsms listener in memory: raw request bytes in, raw response bytes out.

The whole stack runs (SendsmsSite → SendsmsChannel → SendsmsRoot → SendsmsResource →
Acceptor → Router → MemoryQueue) on a StringTransport and a Clock, so the exact status
lines, header blocks and bodies Kannel 1.4.5 sends (obs.) are checked byte for byte.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import pytest
from conftest import make_config
from twisted.internet.address import IPv4Address
from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.logger import globalLogPublisher

from gateway.config import GatewayConfig
from gateway.message import Message
from gateway.queue import MemoryQueue
from gateway.routing import Router
from gateway.sendsms.accept import Acceptor
from gateway.sendsms.accesslog import AccessLog, NoAccessLog
from gateway.sendsms.resource import KannelRequest, SendsmsSite, sendsms_site

KANNEL_HEAD = re.compile(
    rb"(?P<status>HTTP/1\.[01] \d{3} [A-Za-z ]+)\r\n"
    rb"Server: Kannel/1\.4\.5\r\n"
    rb"Date: [A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT\r\n"
    rb"Content-Length: (?P<length>\d+)\r\n"
    rb"Connection: (?P<connection>Keep-Alive|Close)\r\n"
    rb"Content-type: text/html\r\n"
    rb"Pragma: no-cache\r\n"
    rb"Cache-Control: no-cache\r\n\r\n"
)
EMPTY_400 = re.compile(
    rb"HTTP/1\.1 400 Bad Request\r\n"
    rb"Server: Kannel/1\.4\.5\r\n"
    rb"Date: [^\r\n]+ GMT\r\n"
    rb"Content-Length: 0\r\n"
    rb"Connection: Close\r\n\r\n"
)
AUTH = "username=tester&password=foobar"


class Gateway:
    """A sendsms listener with an in-memory queue, on a fake clock."""

    def __init__(
        self,
        config: GatewayConfig | None = None,
        *,
        online: bool = True,
        cap: int = 1000,
        queue: object = None,
        access_log: object = None,
    ) -> None:
        self.config = config or make_config()
        self.clock = Clock()
        self.queue = queue if queue is not None else MemoryQueue(cap, self.clock)
        router = Router(self.config.smscs, lambda key: online)
        self.acceptor = Acceptor(self.config, router, self.queue, self.clock)  # type: ignore[arg-type]
        self.access_log = access_log if access_log is not None else NoAccessLog()
        self.site = sendsms_site(
            self.config,
            self.acceptor,
            self.access_log,  # type: ignore[arg-type]
            reactor=self.clock,
        )

    def connect(self, ip: str = "127.0.0.1") -> Connection:
        address = IPv4Address("TCP", ip, 40000)
        channel = self.site.buildProtocol(address)
        transport = StringTransport(peerAddress=address, hostAddress=IPv4Address("TCP", ip, 13013))
        channel.makeConnection(transport)
        return Connection(channel, transport)

    def exchange(self, raw: bytes, ip: str = "127.0.0.1") -> Response:
        connection = self.connect(ip)
        connection.send(raw)
        return connection.response()

    def messages(self) -> list[Message]:
        return self.queue.take(10_000)  # type: ignore[attr-defined,no-any-return]


class Connection:
    def __init__(self, channel: object, transport: StringTransport) -> None:
        self.channel = channel
        self.transport = transport
        self._read = 0

    def send(self, raw: bytes) -> None:
        self.channel.dataReceived(raw)  # type: ignore[attr-defined]

    def response(self) -> Response:
        data = self.transport.value()[self._read :]
        self._read += len(data)
        return Response(data, self.transport.disconnecting)

    @property
    def closed(self) -> bool:
        return bool(self.transport.disconnecting)


class Response:
    def __init__(self, raw: bytes, closed: bool) -> None:
        self.raw = raw
        self.closed = closed
        head, _, self.body = raw.partition(b"\r\n\r\n")
        self.status_line = head.split(b"\r\n", 1)[0]
        self.status = int(self.status_line.split()[1]) if self.status_line else 0

    def kannel(self) -> re.Match[bytes]:
        """The response must be exactly Kannel's header block + body."""
        match = KANNEL_HEAD.match(self.raw)
        assert match is not None, self.raw
        assert int(match["length"]) == len(self.raw) - match.end()
        return match


def get(query: str, *, version: str = "HTTP/1.1", headers: str = "") -> bytes:
    return f"GET /cgi-bin/sendsms?{query} {version}\r\nHost: x\r\n{headers}\r\n".encode()


def post(headers: Sequence[tuple[str, str]], body: bytes, path: str = "/cgi-bin/sendsms") -> bytes:
    lines = "".join(f"{name}: {value}\r\n" for name, value in headers)
    return (
        f"POST {path} HTTP/1.1\r\nHost: x\r\n{lines}Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )


X_AUTH = [("X-Kannel-Username", "tester"), ("X-Kannel-Password", "foobar")]


# --- success -------------------------------------------------------------------------------


def test_get_accepted_is_kannels_exact_response() -> None:
    gateway = Gateway()
    response = gateway.exchange(get(f"{AUTH}&from=12345&to=4670000001&text=Hello+world"))
    match = response.kannel()
    assert match["status"] == b"HTTP/1.1 202 Accepted"
    assert match["connection"] == b"Keep-Alive"
    assert response.body == b"0: Accepted for delivery"  # no trailing newline
    assert not response.closed
    [message] = gateway.messages()
    assert (message.receiver, message.payload) == ("4670000001", b"Hello world")


def test_get_queued_when_no_smsc_is_online() -> None:
    response = Gateway(online=False).exchange(get(f"{AUTH}&from=1&to=4670&text=x"))
    assert (response.status, response.body) == (202, b"3: Queued for later delivery")
    response.kannel()


def test_head_sends_the_message_and_answers_without_body() -> None:
    # obs.: Kannel sends the SMS for a HEAD and answers with Content-Length 24, no body
    gateway = Gateway()
    raw = f"HEAD /cgi-bin/sendsms?{AUTH}&from=1&to=4670000002&text=Hi HTTP/1.1\r\nHost: x\r\n\r\n"
    response = gateway.exchange(raw.encode())
    match = KANNEL_HEAD.match(response.raw)
    assert match is not None, response.raw
    assert match["status"] == b"HTTP/1.1 202 Accepted"
    assert (match["length"], response.body) == (b"24", b"")
    assert [m.receiver for m in gateway.messages()] == ["4670000002"]


def test_post_text_plain_with_x_kannel_headers() -> None:
    gateway = Gateway()
    headers = [
        ("Content-Type", "text/plain"),
        *X_AUTH,
        ("X-Kannel-From", "1"),
        ("X-Kannel-To", "4670000004"),
        ("X-Kannel-DLR-Mask", "31"),
        ("X-Kannel-DLR-Url", "http://h/?d=%d"),
    ]
    response = gateway.exchange(post(headers, b"  plain body \n"))
    assert (response.status, response.body) == (202, b"0: Accepted for delivery")
    [message] = gateway.messages()
    assert message.payload == b"  plain body \n"  # obs.
    assert (message.dlr_mask, message.dlr_url) == (31, "http://h/?d=%d")


def test_post_xml_with_two_da() -> None:
    gateway = Gateway()
    body = (
        b'<?xml version="1.0"?><message><submit><da><number>4670000031</number></da>'
        b"<da><number> 4670000032 </number></da><oa><number>12345</number></oa>"
        b"<ud>Hello XML</ud><from><user>tester</user><pass>foobar</pass></from>"
        b"</submit></message>"
    )
    response = gateway.exchange(post([("Content-Type", "text/xml")], body))
    assert (response.status, response.body) == (202, b"0: Accepted for delivery")  # obs.
    messages = gateway.messages()
    assert [(m.receiver, m.sender, m.payload) for m in messages] == [
        ("4670000031", "12345", b"Hello XML"),
        ("4670000032", "12345", b"Hello XML"),
    ]


def test_post_ignores_credentials_in_the_query_string() -> None:
    headers = [("Content-Type", "text/plain")]
    raw = post(headers, b"x", path=f"/cgi-bin/sendsms?{AUTH}&to=4670&from=1")
    response = Gateway().exchange(raw)
    assert (response.status, response.body) == (403, b"Authorization failed for sendsms")  # obs.


def test_multi_recipient_get() -> None:
    gateway = Gateway()
    response = gateway.exchange(get(f"{AUTH}&from=1&to=4670+4671&text=x"))
    assert response.status == 202
    assert [m.receiver for m in gateway.messages()] == ["4670", "4671"]


def test_two_requests_on_one_keep_alive_connection() -> None:
    gateway = Gateway()
    connection = gateway.connect()
    connection.send(get(f"{AUTH}&from=1&to=1&text=a"))
    first = connection.response()
    connection.send(get(f"{AUTH}&from=1&to=2&text=b"))
    second = connection.response()
    assert (first.status, second.status) == (202, 202)
    assert not connection.closed
    assert len(gateway.messages()) == 2


# --- every answer of the REFERENCE §2.7 table reachable here ---------------------------------

ROUTED = """\
group = smsc
smsc = smpp
smsc-id = only
host = 127.0.0.1
port = 2776
smsc-username = a
smsc-password = b
system-type = ""
address-range = ""
allowed-smsc-id = only
"""


@pytest.mark.parametrize(
    ("query", "status", "body"),
    [
        ("username=tester&password=bad&to=1", 403, "Authorization failed for sendsms"),
        ("to=1&text=x", 403, "Authorization failed for sendsms"),
        (f"{AUTH}&text=x", 400, "Missing receiver number, rejected"),
        (f"{AUTH}&to=&text=x", 400, "Empty receiver number not allowed, rejected"),
        (
            f"{AUTH}&to=abc&text=x",
            400,
            "Number(s) has/have been denied by white- and/or black-lists.",
        ),
        (f"{AUTH}&to=1&text=x", 400, "Sender missing and no global set, rejected"),
        (f"{AUTH}&to=1&from=1&udh=%01", 400, "UDH field misformed, rejected"),
        (f"{AUTH}&to=1&from=1&udh=%8C" + "%00" * 140, 400, "UDH field is too long, rejected"),
        (f"{AUTH}&to=1&from=1&account=%5B", 400, "Account field misformed or too long, rejected"),
        (f"{AUTH}&to=1&from=1&dlr-url=ftp://x", 400, "DLR-URL field misformed, rejected"),
        (f"{AUTH}&to=1&from=1&dlr-mask=67", 400, "DLR-Mask field misformed, rejected"),
        (f"{AUTH}&to=1&from=1&mclass=4", 400, "MClass field misformed, rejected"),
        (f"{AUTH}&to=1&from=1&pid=256", 400, "PID field misformed, rejected"),
        (f"{AUTH}&to=1&from=1&rpi=3", 400, "RPI field misformed, rejected"),
        (f"{AUTH}&to=1&from=1&alt-dcs=2", 400, "Alt-DCS field misformed, rejected"),
        (f"{AUTH}&to=1&from=1&mwi=8", 400, "MWI field misformed, rejected"),
        (f"{AUTH}&to=1&from=1&coding=3", 400, "Coding field misformed, rejected"),
        (f"{AUTH}&to=1&from=1&compress=2", 400, "Compress field misformed, rejected"),
        (f"{AUTH}&to=1&from=1&validity=-2", 400, "Validity field misformed, rejected"),
        (f"{AUTH}&to=1&from=1&deferred=-2", 400, "Deferred field misformed, rejected"),
        (f"{AUTH}&to=1&from=1&priority=4", 400, "Priority field misformed, rejected"),
        (f"{AUTH}&to=1&from=1&text=x&charset=bogus", 400, "Charset or body misformed, rejected"),
    ],
)
def test_every_get_refusal(query: str, status: int, body: str) -> None:
    response = Gateway().exchange(get(query))
    match = response.kannel()
    reasons = {400: b"Bad Request", 403: b"Forbidden"}
    assert match["status"] == b"HTTP/1.1 %d %s" % (status, reasons[status])
    assert response.body == body.encode()
    assert match["connection"] == b"Keep-Alive"  # refusals keep the connection (obs.)


def test_not_routable() -> None:
    config = make_config(ROUTED)
    gateway = Gateway(config)
    gateway.acceptor.router = Router(config.smscs[1:], lambda key: True)
    response = gateway.exchange(get(f"{AUTH}&from=1&to=1&text=x"))
    assert response.kannel()["status"] == b"HTTP/1.1 403 Forbidden"
    assert response.body == b"Not routable. Do not try again."  # obs.
    response = gateway.exchange(get(f"{AUTH}&from=1&to=1&text=x&smsc=only"))
    assert response.status == 202


def test_queue_full_is_503_foo() -> None:
    # obs.: Kannel's reason phrase table has no 503, so the status line says "Foo"
    response = Gateway(cap=1).exchange(get(f"{AUTH}&from=1&to=1+2&text=x"))
    assert response.kannel()["status"] == b"HTTP/1.1 503 Foo"
    assert response.body == b"Temporal failure, try again later."


def test_sending_failed_is_500() -> None:
    class Broken:
        def put(self, messages: Sequence[Message]) -> Deferred[None]:
            raise OSError("disk full")

    response = Gateway(queue=Broken()).exchange(get(f"{AUTH}&from=1&to=4670+4671&text=x"))
    assert response.kannel()["status"] == b"HTTP/1.1 500 Internal Server Error"
    assert response.body == b"Sending failed. Failed receivers are: 4670 4671"


@pytest.mark.parametrize("kind", ["application/x-www-form-urlencoded", "application/json"])
def test_post_invalid_content_type(kind: str) -> None:
    response = Gateway().exchange(post([("Content-Type", kind)], b"username=tester"))
    assert response.kannel()["status"] == b"HTTP/1.1 400 Bad Request"
    assert response.body == b"Invalid content-type"  # obs.


def test_post_malformed_multipart_is_still_invalid_content_type() -> None:
    headers = [("Content-Type", "multipart/form-data; boundary=x")]
    response = Gateway().exchange(post(headers, b"--x\r\ngarbage"))
    assert response.body == b"Invalid content-type"


def test_post_html_is_415() -> None:
    headers = [("Content-Type", "text/html"), *X_AUTH, ("X-Kannel-To", "1"), ("X-Kannel-From", "1")]
    response = Gateway().exchange(post(headers, b"<p>Hi</p>"))
    assert response.kannel()["status"] == b"HTTP/1.1 415 Unsupported Media Type"
    assert response.body == b"Unsupported content-type, rejected"  # obs.


def test_post_missing_receivers() -> None:
    response = Gateway().exchange(post([("Content-Type", "text/plain"), *X_AUTH], b"x"))
    assert (response.status, response.body) == (400, b"Missing receiver(s) number(s), rejected")


@pytest.mark.parametrize(
    "path",
    ["/", "/cgi-bin/sendsms/", "/CGI-BIN/SENDSMS", "/cgi-bin/sendota", "/x?to=1", "/cgi-bin"],
)
def test_other_paths_are_unknown_requests(path: str) -> None:
    response = Gateway().exchange(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert response.kannel()["status"] == b"HTTP/1.1 404 Not Found"
    assert response.body == b"Unknown request."  # obs.


def test_post_to_another_path_is_unknown_too() -> None:
    response = Gateway().exchange(post([("Content-Type", "text/plain")], b"x", path="/foo"))
    assert (response.status, response.body) == (404, b"Unknown request.")


def test_sendsms_url_is_configurable() -> None:
    gateway = Gateway(make_config(smsbox="sendsms-url = /send"))
    response = gateway.exchange(f"GET /send?{AUTH}&to=1&from=1 HTTP/1.1\r\n\r\n".encode())
    assert response.status == 202
    response = gateway.exchange(get(f"{AUTH}&to=1&from=1"))
    assert response.status == 404


@pytest.mark.parametrize("method", ["PUT", "DELETE", "OPTIONS", "PATCH", "get"])
def test_other_methods_get_400_empty_and_close(method: str) -> None:
    gateway = Gateway()
    raw = f"{method} /cgi-bin/sendsms?{AUTH}&to=1&from=1 HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    response = gateway.exchange(raw)
    assert EMPTY_400.fullmatch(response.raw), response.raw  # obs. for PUT, DELETE, OPTIONS
    assert response.closed
    assert gateway.messages() == []


def test_put_with_a_body_gets_400_too() -> None:
    raw = b"PUT /cgi-bin/sendsms HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx"
    response = Gateway().exchange(raw)
    assert EMPTY_400.fullmatch(response.raw)
    assert response.closed


@pytest.mark.parametrize(
    "raw",
    [
        b"GET /\r\n\r\n",  # obs.: no HTTP version
        b"GET / HTTP/2.0\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
    ],
)
def test_unparsable_requests_get_kannels_400(raw: bytes) -> None:
    response = Gateway().exchange(raw)
    assert EMPTY_400.fullmatch(response.raw), response.raw
    assert response.closed


# --- connections ---------------------------------------------------------------------------


def test_connection_close_is_honoured() -> None:
    response = Gateway().exchange(get(f"{AUTH}&to=1&from=1", headers="Connection: close\r\n"))
    assert response.kannel()["connection"] == b"Close"  # obs.
    assert response.closed


def test_http_1_0_closes_unless_keep_alive_is_asked() -> None:
    # obs.: HTTP/1.0 → Connection: Close; with Connection: keep-alive → Keep-Alive
    plain = Gateway().exchange(b"GET / HTTP/1.0\r\n\r\n")
    assert plain.kannel()["status"] == b"HTTP/1.0 404 Not Found"
    assert (plain.kannel()["connection"], plain.closed) == (b"Close", True)
    kept = Gateway().exchange(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    assert (kept.kannel()["connection"], kept.closed) == (b"Keep-Alive", False)


def test_idle_connections_are_closed_after_60_seconds() -> None:
    gateway = Gateway()
    connection = gateway.connect()
    connection.send(get(f"{AUTH}&to=1&from=1"))
    assert connection.response().status == 202
    gateway.clock.advance(59)
    assert not connection.closed
    gateway.clock.advance(2)
    assert connection.closed


class SlowQueue:
    def __init__(self) -> None:
        self.pending: list[Deferred[None]] = []

    def put(self, messages: Sequence[Message]) -> Deferred[None]:
        d: Deferred[None] = Deferred()
        self.pending.append(d)
        return d


def test_the_answer_waits_for_the_queue() -> None:
    queue = SlowQueue()
    gateway = Gateway(queue=queue)
    connection = gateway.connect()
    connection.send(get(f"{AUTH}&to=1&from=1"))
    assert connection.response().raw == b""
    queue.pending[0].callback(None)
    assert connection.response().body == b"0: Accepted for delivery"


def test_a_client_that_left_is_not_answered() -> None:
    queue = SlowQueue()
    gateway = Gateway(queue=queue)
    connection = gateway.connect()
    connection.send(get(f"{AUTH}&to=1&from=1"))
    from twisted.internet.error import ConnectionDone
    from twisted.python.failure import Failure

    connection.channel.connectionLost(Failure(ConnectionDone()))  # type: ignore[attr-defined]
    queue.pending[0].callback(None)  # must not raise
    assert connection.transport.value() == b""


# --- the body cap -------------------------------------------------------------------------

BODY_413 = re.compile(
    rb"HTTP/1\.1 413 Request Entity Too Large\r\nServer: Kannel/1\.4\.5\r\n"
    rb"Date: [^\r\n]+\r\nContent-Length: 32\r\nConnection: Close\r\n"
    rb"Content-type: text/html\r\nPragma: no-cache\r\nCache-Control: no-cache\r\n\r\n"
    rb"Request body too large, rejected"
)


def capped(limit: int) -> GatewayConfig:
    return make_config(f"group = passerelle\nmax-request-body = {limit}")


def test_an_announced_oversized_body_is_refused_before_it_is_sent() -> None:
    gateway = Gateway(capped(100))
    connection = gateway.connect()
    connection.send(
        b"POST /cgi-bin/sendsms HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
        b"Content-Length: 101\r\n\r\n"
    )
    response = connection.response()
    assert BODY_413.fullmatch(response.raw), response.raw
    assert connection.closed
    connection.send(b"x" * 101)  # what still arrives is dropped
    assert connection.response().raw == b""


def test_a_body_at_the_cap_is_fine() -> None:
    gateway = Gateway(capped(100))
    headers = [
        ("Content-Type", "text/plain"),
        *X_AUTH,
        ("X-Kannel-To", "1"),
        ("X-Kannel-From", "1"),
    ]
    response = gateway.exchange(post(headers, b"x" * 100))
    assert response.status == 202
    assert gateway.messages()[0].payload == b"x" * 100


def test_a_chunked_body_is_refused_when_it_passes_the_cap() -> None:
    gateway = Gateway(capped(100))
    connection = gateway.connect()
    connection.send(
        b"POST /cgi-bin/sendsms HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
        b"X-Kannel-Username: tester\r\nX-Kannel-Password: foobar\r\nX-Kannel-To: 1\r\n"
        b"X-Kannel-From: 1\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"40\r\n" + b"x" * 64 + b"\r\n"
    )
    assert connection.response().raw == b""
    connection.send(b"40\r\n" + b"y" * 64 + b"\r\n0\r\n\r\n")
    response = connection.response()
    assert BODY_413.fullmatch(response.raw), response.raw
    assert connection.closed
    assert gateway.messages() == []


def test_expect_continue_over_the_cap_gets_413_not_100() -> None:
    gateway = Gateway(capped(10))
    connection = gateway.connect()
    connection.send(
        b"POST /cgi-bin/sendsms HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
        b"Content-Length: 11\r\n\r\n"
    )
    response = connection.response()
    assert response.raw.startswith(b"HTTP/1.1 413 ")
    assert b"100 Continue" not in response.raw


def test_default_cap_is_64_kib() -> None:
    assert Gateway().site.max_request_body == 65536
    assert isinstance(Gateway().site, SendsmsSite)


# --- access log and secrets ----------------------------------------------------------------


def test_access_log_lines(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    log = AccessLog(str(path), clock=lambda: 0.0, gmt=True)
    gateway = Gateway(access_log=log)
    gateway.exchange(get(f"{AUTH}&from=12345&to=4670000001+abc&text=Hello+world"))
    gateway.exchange(get(f"{AUTH}&from=1&to=4670000010&text=ab&udh=%06%05%04%0B%84%23%F0"))
    gateway.exchange(get(f"{AUTH}&to=1&text=x"))
    gateway.exchange(get("username=tester&password=bad&to=1&from=1"))  # not logged (obs.)
    gateway.exchange(get(f"{AUTH}&text=x"))  # not logged (obs.)
    assert path.read_bytes().decode().splitlines() == [
        "1970-01-01 00:00:00 Log begins",
        "1970-01-01 00:00:00 send-SMS request added - sender:tester:12345 127.0.0.1 "
        "target:4670000001 request: 'Hello world'",
        "1970-01-01 00:00:00 send-SMS request added - sender:tester:1 127.0.0.1 "
        "target:4670000010 request: '<< UDH >>'",
        "1970-01-01 00:00:00 send-SMS request failed - Sender missing and no global set, rejected",
    ]


def test_passwords_are_written_nowhere(tmp_path: Path) -> None:
    events: list[dict[str, object]] = []
    globalLogPublisher.addObserver(events.append)
    try:
        path = tmp_path / "access.log"
        gateway = Gateway(access_log=AccessLog(str(path)))
        secret = "s3cr3t-Pa55"
        user = f"group = sendsms-user\nusername = u\npassword = {secret}"
        gateway = Gateway(make_config(user), access_log=AccessLog(str(path)))
        gateway.exchange(get(f"username=u&password={secret}&from=1&to=1&text=x"))
        gateway.exchange(get(f"username=u&password={secret}&from=1&to=1&mclass=9"))
        gateway.exchange(get(f"username=u&password={secret}x&from=1&to=1"))
        headers = [("X-Kannel-Username", "u"), ("X-Kannel-Password", secret)]
        gateway.exchange(
            post([("Content-Type", "text/plain"), *headers, ("X-Kannel-To", "1")], b"")
        )
    finally:
        globalLogPublisher.removeObserver(events.append)
    assert secret.encode() not in path.read_bytes()
    assert secret not in repr(events)


def test_request_repr_leaves_out_the_query() -> None:
    from twisted.web.test.requesthelper import DummyChannel

    request = KannelRequest(DummyChannel())
    request.method, request.path = b"GET", b"/cgi-bin/sendsms"
    request.uri = b"/cgi-bin/sendsms?password=secret"
    assert "secret" not in repr(request)


class HalfClosingTransport(StringTransport):
    """A transport that can close its write side alone, as TCP can."""

    write_closed = False

    def loseWriteConnection(self) -> None:  # noqa: N802 - Twisted's name
        self.write_closed = True


def test_after_a_413_the_rest_is_read_and_dropped_for_two_seconds() -> None:
    gateway = Gateway(capped(100))
    address = IPv4Address("TCP", "127.0.0.1", 40000)
    channel = gateway.site.buildProtocol(address)
    transport = HalfClosingTransport(peerAddress=address)
    channel.makeConnection(transport)
    channel.dataReceived(
        b"POST /cgi-bin/sendsms HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n"
    )
    assert transport.value().startswith(b"HTTP/1.1 413 ")
    assert transport.write_closed and not transport.disconnecting
    channel.dataReceived(b"x" * 65536)  # still arriving: dropped
    gateway.clock.advance(2)
    assert transport.disconnecting


def test_after_a_413_more_than_a_mebibyte_ends_the_linger_at_once() -> None:
    gateway = Gateway(capped(100))
    address = IPv4Address("TCP", "127.0.0.1", 40000)
    channel = gateway.site.buildProtocol(address)
    transport = HalfClosingTransport(peerAddress=address)
    channel.makeConnection(transport)
    channel.dataReceived(b"POST /cgi-bin/sendsms HTTP/1.1\r\nContent-Length: 5000000\r\n\r\n")
    for _ in range(17):
        channel.dataReceived(b"x" * 65536)
    assert transport.disconnecting
    assert channel._linger is None  # the two-second timer is gone


def test_a_long_query_string_is_fine_up_to_the_cap() -> None:
    # 1,700 Cyrillic characters URL-encoded (Kannel's 10-part maximum case): ~15 KiB
    gateway = Gateway(make_config(CONCAT_USER))
    text = "%D0%96" * 1700
    response = gateway.exchange(get(f"username=multi&password=pw&from=1&to=1&text={text}"))
    assert response.status == 202
    assert len(gateway.messages()) == 10


def test_a_request_line_over_the_cap_is_413() -> None:
    gateway = Gateway(capped(1000))
    connection = gateway.connect()
    connection.send(b"GET /cgi-bin/sendsms?text=" + b"x" * 20000)
    response = connection.response()
    assert response.raw.startswith(b"HTTP/1.1 413 Request Entity Too Large\r\n")
    assert connection.closed


CONCAT_USER = """\
group = sendsms-user
username = multi
password = pw
max-messages = 10
concatenation = true
"""
