"""The sendsms HTTP listener: twisted.web serving smsbox's answers byte for byte.

What a client sees is Kannel 1.4.5's smsbox (REFERENCE §2.7, obs. on the running binaries):

* **Paths**: the request path (before `?`) equal to smsbox `sendsms-url`, compared exactly
  and case-sensitively, is sendsms; every other path is `404 Unknown request.` (sendota and
  xmlrpc are not served).
* **Methods**: GET and HEAD read the query string and send the message (HEAD too, obs.);
  POST reads the body and X-Kannel-* headers. Any other method (PUT, DELETE, OPTIONS,
  lower-case `get`…) and any request line Twisted cannot parse get `400` with an empty body
  and `Connection: Close`, and the connection is closed (obs.).
* **Headers**, in Kannel's order and spelling: `Server: Kannel/1.4.5`, `Date`,
  `Content-Length`, `Connection: Keep-Alive` or `Close`, `Content-type: text/html` (sic:
  lower-case t), `Pragma: no-cache`, `Cache-Control: no-cache`. twisted.web spells header
  names its own way (`Content-Type`), so `SendsmsChannel.writeHeaders` writes the block
  itself rather than through `Headers`.
* **Status lines** use Kannel's reason phrases, including its `Foo` for codes missing from
  its table (obs.: `HTTP/1.1 503 Foo`). Bodies have no trailing newline.
* **Keep-alive** as gwlib decides it: HTTP/1.1 unless the client says `Connection: close`;
  HTTP/1.0 only with `Connection: keep-alive` (obs.). An idle connection is closed after
  `timeout` seconds (60, gwlib's HTTP_SERVER_TIMEOUT).

Passerelle's own bound (Kannel has none): a request body over `passerelle.max_request_body`
octets (or a request line or header longer than that plus 16 KiB, since a GET carries its
text in the query string) is answered `413` (`Request body too large, rejected`, Kannel's headers,
`Connection: Close`) as soon as the Content-Length announces it, or as soon as a chunked body
passes the cap, without keeping the rest: what still arrives is read and dropped for at
most 2 seconds or 1 MiB (a lingering close, so the client can read the 413 instead of
getting a reset), then the connection is closed.

The reply to a sendsms request waits for the accept path (the queue's durable put), so the
resource answers with NOT_DONE_YET and finishes the request when the `Acceptor` fires; a
client that went away meanwhile is simply not answered. Twisted's per-request log is off
(it would write the query string, password included, and format a line on the hot path),
and a request's repr leaves the query string out for the same reason.
"""

from __future__ import annotations

import io
import time
from typing import TYPE_CHECKING, Any, Final, Protocol

from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IDelayedCall
from twisted.internet.main import CONNECTION_DONE
from twisted.python.failure import Failure
from twisted.web import http
from twisted.web.http_headers import Headers
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request, Site

from gateway.sendsms.accept import Reply
from gateway.sendsms.params import headers_from_pairs, parse_post, parse_query, request_path

if TYPE_CHECKING:
    from gateway.config import GatewayConfig
    from gateway.sendsms.params import SendsmsRequest
    from gateway.sendsms.validate import ValidRequest

SERVER: Final = b"Kannel/1.4.5"
#: gwlib's HTTP_SERVER_TIMEOUT: seconds an idle client connection is kept.
IDLE_TIMEOUT: Final = 60.0
UNKNOWN_REQUEST: Final = "Unknown request."
BODY_TOO_LARGE: Final = "Request body too large, rejected"
METHODS: Final = (b"GET", b"HEAD", b"POST")
#: Octets allowed for the request line and headers beyond the body cap.
HEADER_ROOM: Final = 16384
#: After a 413, how long and how much of the rest of the body is read and dropped before
#: the connection is closed (see `SendsmsChannel.refuse_body`).
LINGER_SECONDS: Final = 2.0
LINGER_OCTETS: Final = 1024 * 1024

#: gwlib's `http_reason_phrase`; any other code is "Foo" there.
REASONS: Final = {
    200: b"OK",
    201: b"Created",
    202: b"Accepted",
    204: b"No Content",
    205: b"Reset Content",
    301: b"Moved Permanently",
    302: b"Found",
    303: b"See Other",
    304: b"Not Modified",
    307: b"Temporary Redirect",
    400: b"Bad Request",
    401: b"Unauthorized",
    403: b"Forbidden",
    404: b"Not Found",
    405: b"Method Not Allowed",
    406: b"Not Acceptable",
    413: b"Request Entity Too Large",
    415: b"Unsupported Media Type",
    500: b"Internal Server Error",
    501: b"Not Implemented",
    502: b"Bad Gateway",
}

#: Header names in the order Kannel writes them, with Kannel's spelling.
_ORDER: Final = (
    (b"Server", b"Server"),
    (b"Date", b"Date"),
    (b"Content-Length", b"Content-Length"),
    (b"Connection", b"Connection"),
    (b"Content-Type", b"Content-type"),
    (b"Pragma", b"Pragma"),
    (b"Cache-Control", b"Cache-Control"),
)
_ORDERED: Final = frozenset(name for name, _ in _ORDER)


_date_cache: list[Any] = [-1, b""]


def http_date() -> bytes:
    """The Date header's value, formatted once per second (every reply carries one)."""
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache[0], _date_cache[1] = now, http.datetimeToString(now)
    return bytes(_date_cache[1])


def reason(status: int) -> bytes:
    """Kannel's reason phrase for a status code."""
    return REASONS.get(status, b"Foo")


def head_block(
    version: bytes, status: int, headers: Headers | dict[bytes, list[bytes]], keep_alive: bool
) -> bytes:
    """A status line and header block as Kannel writes it."""
    raw = dict(headers.getAllRawHeaders()) if isinstance(headers, Headers) else dict(headers)
    raw[b"Server"] = [SERVER]
    raw[b"Connection"] = [b"Keep-Alive" if keep_alive else b"Close"]
    if b"Date" not in raw:
        raw[b"Date"] = [http_date()]
    lines = [version, b" %d " % status, reason(status), b"\r\n"]
    for name, spelling in _ORDER:
        for value in raw.get(name, ()):
            lines += (spelling, b": ", value, b"\r\n")
    for name, values in raw.items():
        if name not in _ORDERED:
            for value in values:
                lines += (name, b": ", value, b"\r\n")
    lines.append(b"\r\n")
    return b"".join(lines)


def kannel_headers(length: int) -> dict[bytes, list[bytes]]:
    """The headers of every smsbox reply with a body."""
    return {
        b"Content-Length": [b"%d" % length],
        b"Content-Type": [b"text/html"],
        b"Pragma": [b"no-cache"],
        b"Cache-Control": [b"no-cache"],
    }


def bad_request_bytes(version: bytes = b"HTTP/1.1") -> bytes:
    """gwlib's answer to a request it cannot parse or a method it does not know."""
    return head_block(version, 400, {b"Content-Length": [b"0"]}, keep_alive=False)


class SendsmsChannel(http.HTTPChannel):
    """An HTTP/1.x channel with Kannel's wire habits and Passerelle's body cap."""

    _refused = False
    _linger: IDelayedCall | None = None
    _linger_left = 0

    @property
    def max_request_body(self) -> int:
        """The cap on request bodies, from the site."""
        return int(getattr(getattr(self, "site", None), "max_request_body", 65536))

    def connectionMade(self) -> None:  # noqa: N802 - Twisted's name
        """Let a request line (a GET carries its text in the query string) and the header
        block be as long as a POST body may be, plus room for ordinary headers."""
        limit = self.max_request_body + HEADER_ROOM
        self.MAX_LENGTH = max(self.MAX_LENGTH, limit)
        self.totalHeadersSize = max(self.totalHeadersSize, limit)
        super().connectionMade()

    def lineLengthExceeded(self, line: bytes) -> None:  # noqa: N802 - Twisted's name
        """A request line or header longer than the cap: the same 413 as a body."""
        self.refuse_body()

    def checkPersistence(self, request: Any, version: bytes) -> bool:  # noqa: N802 - Twisted
        """gwlib's rule: HTTP/1.1 unless `close`, HTTP/1.0 only with `keep-alive`."""
        values = request.requestHeaders.getRawHeaders(b"Connection") or []
        tokens = {t.strip().lower() for v in values for t in v.replace(b",", b" ").split()}
        if version == b"HTTP/1.1":
            return b"close" not in tokens
        if version == b"HTTP/1.0":
            return b"keep-alive" in tokens
        return False

    def writeHeaders(  # noqa: N802 - Twisted's name
        self, version: bytes, code: bytes, reason_phrase: bytes, headers: Headers
    ) -> None:
        """Kannel's header block: its order, its spelling, its Connection values."""
        self.transport.write(head_block(version, int(code), headers, bool(self.persistent)))

    def _respondToBadRequestAndDisconnect(self) -> None:  # noqa: N802 - Twisted's name
        """Kannel's 400 for an unparsable request (overrides Twisted's bare status line)."""
        self.transport.write(bad_request_bytes())
        self.loseConnection()

    def allHeadersReceived(self) -> None:  # noqa: N802 - Twisted's name
        """Refuse an announced body over the cap before anything of it is read (and before
        Twisted answers an `Expect: 100-continue`)."""
        if self.length is not None and self.length > self.max_request_body:
            self.refuse_body()
            return
        super().allHeadersReceived()

    def refuse_body(self) -> None:
        """Answer 413, stop reading and close: the rest of the body is never read."""
        if self._refused:
            return
        self._refused = True
        self.persistent = False
        body = BODY_TOO_LARGE.encode("ascii")
        version = getattr(self, "_version", b"HTTP/1.1")
        if version not in (b"HTTP/1.0", b"HTTP/1.1"):
            version = b"HTTP/1.1"
        self.transport.write(head_block(version, 413, kannel_headers(len(body)), False) + body)
        self.clearLineBuffer()
        # A lingering close: send our FIN after the answer but keep reading (and dropping)
        # for a moment, because closing a socket with unread data makes the kernel send a
        # reset, and a client still uploading would lose the 413 before reading it.
        self._linger_left = LINGER_OCTETS
        lose_write = getattr(self.transport, "loseWriteConnection", None)
        if lose_write is None:
            self.transport.loseConnection()
            return
        lose_write()
        self._linger = self.callLater(LINGER_SECONDS, self._end_linger)

    def _end_linger(self) -> None:
        self._linger = None
        self.transport.loseConnection()

    def dataReceived(self, data: bytes) -> None:  # noqa: N802 - Twisted's name
        if not self._refused:
            super().dataReceived(data)
            return
        self._linger_left -= len(data)  # dropped, never stored
        if self._linger_left < 0 and self._linger is not None:
            self._linger.cancel()
            self._end_linger()

    def connectionLost(self, reason: Failure = CONNECTION_DONE) -> None:  # noqa: N802
        if self._linger is not None:
            self._linger.cancel()
            self._linger = None
        super().connectionLost(reason)

    def rawDataReceived(self, data: bytes) -> None:  # noqa: N802 - Twisted's name
        if not self._refused:
            super().rawDataReceived(data)

    def allContentReceived(self) -> None:  # noqa: N802 - Twisted's name
        if not self._refused:
            super().allContentReceived()


class KannelRequest(Request):
    """A twisted.web request whose body is bounded and whose repr hides the query string."""

    _received = 0

    def __init__(self, channel: Any, *args: Any, **kw: Any) -> None:
        # Never parse POST bodies as forms: sendsms reads them itself, and Twisted would
        # answer a malformed multipart body with its own 400 where Kannel says
        # "Invalid content-type".
        kw["parsePOSTFormSubmission"] = False
        super().__init__(channel, *args, **kw)

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:  # noqa: N802
        """Twisted's `requestReceived` without its argument parsing: sendsms reads the query
        and the body itself (gwlib's way, not `parse_qs`'s), so parsing them here too would
        only cost time on every request."""
        self.content.seek(0, 0)
        self.args = {}
        self.method, self.uri = command, path
        self.clientproto = version
        self.path = path.split(b"?", 1)[0]
        self.process()

    def gotLength(self, length: int | None) -> None:  # noqa: N802 - Twisted's name
        """Keep the body in memory: the channel caps it, so no temporary file is needed."""
        self.content = io.BytesIO()

    def handleContentChunk(self, data: bytes) -> None:  # noqa: N802 - Twisted's name
        """Count the body as it comes; past the cap the channel answers 413."""
        channel = self.channel
        if channel is None or getattr(channel, "_refused", False):
            return
        self._received += len(data)
        limit = getattr(channel, "max_request_body", None)
        if limit is not None and self._received > limit:
            channel.refuse_body()
            return
        self.content.write(data)

    def __repr__(self) -> str:
        path = getattr(self, "path", None) or b"?"
        return f"<KannelRequest {getattr(self, 'method', b'?')!r} {path!r}>"


class AccessLogWriter(Protocol):
    """What the resource writes access-log lines to (`accesslog.AccessLog`)."""

    def added(self, valid: ValidRequest, receivers: tuple[str, ...] | None = None) -> None: ...

    def failed(self, reason: str) -> None: ...


class Acceptor(Protocol):
    """What the resource needs from `accept.Acceptor`."""

    def handle(self, request: SendsmsRequest, client_ip: str) -> Deferred[Reply]: ...


def client_ip(request: Request) -> str:
    """The client's address as Kannel prints it."""
    address = request.getClientAddress()
    return str(getattr(address, "host", "") or "")


def write_reply(request: Request, status: int, body: str) -> None:
    """Finish `request` with Kannel's headers and `body` (nothing if the client left)."""
    if request.finished or getattr(request, "_disconnected", False):
        return
    data = body.encode("utf-8")
    request.setResponseCode(status, reason(status))
    for name, values in kannel_headers(len(data)).items():
        request.responseHeaders.setRawHeaders(name, values)
    request.write(data)
    request.finish()


def bad_request(request: Request) -> bytes:
    """Kannel's 400 for a method it does not know: empty body, then close."""
    channel = request.channel
    if channel is not None:
        channel.persistent = False
    request.defaultContentType = None
    request.setResponseCode(400, reason(400))
    request.responseHeaders.setRawHeaders(b"Content-Length", [b"0"])
    return b""


class SendsmsResource(Resource):
    """smsbox's sendsms URL: reads, accepts and answers sendsms requests.

    `acceptor` is the `accept.Acceptor`; `access_log` the smsbox access log
    (`accesslog.AccessLog` or `NoAccessLog`).
    """

    isLeaf = True

    def __init__(
        self, config: GatewayConfig, acceptor: Acceptor, access_log: AccessLogWriter
    ) -> None:
        super().__init__()
        if config.smsbox is None:
            raise ValueError("sendsms needs a `group = smsbox`")
        self.url = config.smsbox.sendsms_url.encode("utf-8")
        self.acceptor = acceptor
        self.access_log = access_log

    def render(self, request: Request) -> bytes | int:
        """Parse by method, hand over to the acceptor, answer when it fires."""
        method = request.method
        if method not in METHODS:
            return bad_request(request)
        if method == b"POST":
            request.content.seek(0)
            body = request.content.read()
            headers = headers_from_pairs(
                (name, value)
                for name, values in request.requestHeaders.getAllRawHeaders()
                for value in values
            )
            parsed = parse_post(headers, body)
        else:
            parsed = parse_query(request.uri)
        d = self.acceptor.handle(parsed, client_ip(request))
        d.addCallback(self._answer, request)
        d.addErrback(self._crashed, request)
        return NOT_DONE_YET

    def _answer(self, reply: Reply, request: Request) -> None:
        if reply.failure is not None:
            self.access_log.failed(reply.failure)
        elif reply.valid is not None and reply.status != 500:
            self.access_log.added(reply.valid)
        write_reply(request, reply.status, reply.body)

    def _crashed(self, failure: Failure, request: Request) -> None:
        """A bug, not a refusal: log it and answer as Kannel does when sending fails."""
        from twisted.logger import Logger

        Logger().failure("sendsms request failed unexpectedly", failure)
        write_reply(request, 500, "Sending failed.")


class SendsmsRoot(Resource):
    """The sendsms listener's root: the sendsms URL, `404 Unknown request.` elsewhere,
    and Kannel's 400 for unknown methods on any path."""

    isLeaf = True

    def __init__(self, sendsms: SendsmsResource) -> None:
        super().__init__()
        self.sendsms = sendsms

    def render(self, request: Request) -> bytes | int:
        if request.method not in METHODS:
            return bad_request(request)
        if request_path(request.uri) == self.sendsms.url:
            return self.sendsms.render(request)
        write_reply(request, 404, UNKNOWN_REQUEST)
        return NOT_DONE_YET


class SendsmsSite(Site):
    """The sendsms listener's factory: Kannel's channel and requests, no per-request log."""

    protocol = SendsmsChannel  # type: ignore[assignment]
    requestFactory = KannelRequest

    def __init__(
        self,
        root: Resource,
        *,
        max_request_body: int = 65536,
        timeout: float = IDLE_TIMEOUT,
        reactor: Any = None,
    ) -> None:
        if reactor is None:
            super().__init__(root, timeout=timeout, parsePOSTFormSubmission=False)
        else:
            super().__init__(root, timeout=timeout, reactor=reactor, parsePOSTFormSubmission=False)
        self.max_request_body = max_request_body

    def log(self, request: Request) -> None:
        """Off: the query string holds the password, and the hot path formats nothing."""


def sendsms_site(
    config: GatewayConfig,
    acceptor: Acceptor,
    access_log: AccessLogWriter,
    *,
    timeout: float = IDLE_TIMEOUT,
    reactor: Any = None,
) -> SendsmsSite:
    """The whole sendsms listener for `config`, ready for `listenTCP`."""
    root = SendsmsRoot(SendsmsResource(config, acceptor, access_log))
    return SendsmsSite(
        root,
        max_request_body=config.passerelle.max_request_body,
        timeout=timeout,
        reactor=reactor,
    )
