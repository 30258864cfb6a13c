"""MoReceiver end to end: PDUs in, statuses out, replies in the queue, requests through a real
Outbox to a real HTTP server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from mo_support import deliver, make_config, part
from twisted.internet import defer, reactor
from twisted.internet.task import Clock, deferLater
from twisted.web import resource, server

from gateway.callbacks import NetworkGuard, Outbox
from gateway.config import GatewayConfig
from gateway.message import Message
from gateway.mo import MoReceiver
from gateway.queue import MemoryQueue
from protocols.smpp import constants as c
from protocols.sms.gsm import from_gsm


class NoOutbox:
    """For services that never call out: records registration, refuses puts."""

    def __init__(self) -> None:
        self.hooks: dict[str, Any] = {}

    def register(self, kind: str, on_result: Any) -> None:
        self.hooks[kind] = on_result

    def put(self, jobs: Any) -> defer.Deferred[None]:
        raise RuntimeError("outbox is not open")


def receiver_for(config: GatewayConfig, *, clock: Any = None, max_messages: int = 100,
                 outbox: Any = None, **kw: Any) -> tuple[MoReceiver, MemoryQueue]:
    clock = clock or Clock()
    queue = MemoryQueue(max_messages, clock)
    return MoReceiver(config, queue, outbox or NoOutbox(), clock, lists={}, **kw), queue


def result(d: defer.Deferred[int]) -> int:
    out: list[int] = []
    d.addCallback(out.append)
    assert out, "the Deferred has not fired"
    return out[0]


def texts(queue: MemoryQueue) -> list[str]:
    return [from_gsm(m.payload) for m in queue.take(100)]


TEXT = "group = sms-service\nname = echo\nkeyword = echo\ntext = You said %r\n"
DEFAULT = "group = sms-service\nkeyword = default\ntext = Unknown\n"


def test_text_service_reply_is_queued_before_rok() -> None:
    mo, queue = receiver_for(make_config(TEXT))
    assert result(mo.receive("sink", "esme", deliver(b"echo hello there"))) == c.ESME_ROK
    [reply] = queue.take(10)
    # Kannel url-encodes escapes in text services too (obs.: "You said hello+there").
    assert from_gsm(reply.payload) == "You said hello+there"
    assert (reply.sender, reply.receiver, reply.smsc_id) == ("12345", "+46700000001", "sink")
    assert (mo.counters.received, mo.counters.replied) == (1, 1)


def test_no_service_answers_request_failed() -> None:
    mo, queue = receiver_for(make_config(TEXT, smsbox="reply-requestfailed = Nope"))
    assert result(mo.receive("sink", "esme", deliver(b"other"))) == c.ESME_ROK
    assert texts(queue) == ["Nope"]
    assert mo.counters.no_service == 1


def test_default_service() -> None:
    mo, queue = receiver_for(make_config(TEXT + "\n" + DEFAULT))
    result(mo.receive("sink", "esme", deliver(b"other")))
    assert texts(queue) == ["Unknown"]


def test_malformed_pdu_gets_kannels_status_and_nothing_is_queued() -> None:
    mo, queue = receiver_for(make_config(TEXT))
    status = result(mo.receive("sink", "esme", deliver(b"\x09ab", esm_class=0x40)))
    assert status == c.ESME_RINVESMCLASS and queue.queued == 0 and mo.counters.malformed == 1


def test_full_queue_is_a_temporary_error() -> None:
    mo, queue = receiver_for(make_config(TEXT), max_messages=1)
    result(mo.receive("sink", "esme", deliver(b"echo one")))
    assert result(mo.receive("sink", "esme", deliver(b"echo two"))) == c.ESME_RX_T_APPN
    assert mo.counters.failed == 1


def test_closed_outbox_is_a_temporary_error() -> None:
    config = make_config("group = sms-service\nkeyword = default\nget-url = http://x/\n")
    mo, _ = receiver_for(config)
    assert result(mo.receive("sink", "esme", deliver(b"hi"))) == c.ESME_RX_T_APPN


def test_max_messages_zero_is_no_reply_but_rok() -> None:
    mo, queue = receiver_for(make_config(TEXT.replace("text =", "max-messages = 0\ntext =")))
    assert result(mo.receive("sink", "esme", deliver(b"echo x"))) == c.ESME_ROK
    assert queue.queued == 0


def test_core_lists_reject_with_rx_r_appn() -> None:
    config = make_config(DEFAULT, core="black-list-sender-regex = ^\\+4670\n"
                         "white-list-receiver-regex = ^1")
    mo, queue = receiver_for(config)
    assert result(mo.receive("sink", "esme", deliver())) == c.ESME_RX_R_APPN
    assert result(mo.receive("sink", "esme", deliver(source=b"3581234567"))) == c.ESME_ROK
    assert result(mo.receive("sink", "esme", deliver(source=b"3581234567", dest=b"9"))) == (
        c.ESME_RX_R_APPN
    )
    assert mo.counters.rejected == 2 and queue.queued == 1


def test_unified_prefix_normalises_the_sender() -> None:
    config = make_config(DEFAULT, core="unified-prefix = +358,00358,0")
    mo, queue = receiver_for(config)
    result(mo.receive("sink", "esme", deliver(source=b"0401234567", source_ton=0)))
    assert queue.take(1)[0].receiver == "+358401234567"


def test_faked_sender_and_global_sender() -> None:
    faked = TEXT + "faked-sender = Brand\n"
    mo, queue = receiver_for(make_config(faked, smsbox="global-sender = Global"))
    result(mo.receive("sink", "esme", deliver(b"echo x")))
    assert queue.take(1)[0].sender == "Brand"
    mo, queue = receiver_for(make_config(TEXT, smsbox="global-sender = Global"))
    result(mo.receive("sink", "esme", deliver(b"echo x")))
    assert queue.take(1)[0].sender == "Global"


def test_concatenated_parts_are_held_then_answered_once() -> None:
    mo, queue = receiver_for(make_config(TEXT))
    assert result(mo.receive("sink", "esme", part(9, 2, 2, b"world"))) == c.ESME_ROK
    assert queue.queued == 0 and mo.concat_pending == 1
    assert result(mo.receive("sink", "esme", part(9, 2, 1, b"echo hello "))) == c.ESME_ROK
    assert texts(queue) == ["You said hello+world"] and mo.concat_pending == 0


def test_combining_off_passes_parts_through() -> None:
    config = make_config(TEXT + "catch-all = true\n", core="sms-combine-concatenated-mo = false")
    mo, queue = receiver_for(config)
    result(mo.receive("sink", "esme", part(9, 2, 1, b"echo hello ")))
    result(mo.receive("sink", "esme", part(9, 2, 2, b"world")))
    assert len(texts(queue)) == 2 and mo.concat_pending == 0


def test_timeout_handles_the_parts_one_by_one() -> None:
    clock = Clock()
    config = make_config(TEXT + "\n" + DEFAULT,
                         core="sms-combine-concatenated-mo-timeout = 60")
    mo, queue = receiver_for(config, clock=clock)
    result(mo.receive("sink", "esme", part(9, 3, 1, b"echo a")))
    result(mo.receive("sink", "esme", part(9, 3, 3, b"c")))
    clock.advance(60)
    assert texts(queue) == ["You said a", "Unknown"]


def test_failed_completion_is_answered_temporary_and_the_retry_completes() -> None:
    mo, queue = receiver_for(make_config(TEXT), max_messages=1)
    result(mo.receive("sink", "esme", deliver(b"echo fill")))  # the queue is now full
    result(mo.receive("sink", "esme", part(9, 2, 1, b"echo hello ")))
    assert result(mo.receive("sink", "esme", part(9, 2, 2, b"world"))) == c.ESME_RX_T_APPN
    for message in queue.take(10):
        queue.ack(message)
    assert result(mo.receive("sink", "esme", part(9, 2, 2, b"world"))) == c.ESME_ROK
    assert texts(queue) == ["You said hello+world"]


def test_mo_recode_turns_ucs2_into_utf8() -> None:
    config = make_config(TEXT, smsbox="mo-recode = true")
    mo, queue = receiver_for(config)
    result(mo.receive("sink", "esme", deliver("echo привет".encode("utf-16-be"), data_coding=8)))
    [reply] = queue.take(1)
    assert reply.coding == 0  # "You said ??????" in GSM: Cyrillic is not in the alphabet


# -- with the network -----------------------------------------------------------------------


class App(resource.Resource):
    """The application behind get-url / post-url: records requests, answers as told."""

    isLeaf = True

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[dict[str, Any]] = []
        self.code = 200
        self.content_type = b"text/plain; charset=UTF-8"
        self.body = b"Thanks!"
        self.headers: dict[bytes, bytes] = {}

    def render(self, request: Any) -> bytes:
        self.requests.append({
            "method": request.method,
            "uri": request.uri,
            "headers": {k.decode(): v[-1].decode() for k, v in
                        request.requestHeaders.getAllRawHeaders()},
            "body": request.content.read(),
        })
        request.setResponseCode(self.code)
        request.setHeader(b"content-type", self.content_type)
        for name, value in self.headers.items():
            request.setHeader(name, value)
        return self.body


@pytest.fixture
def app() -> Generator[tuple[App, int], None, None]:
    site = App()
    port = reactor.listenTCP(0, server.Site(site), interface="127.0.0.1")  # type: ignore[attr-defined]
    yield site, port.getHost().port
    pytest_twisted.blockon(defer.maybeDeferred(port.stopListening))


@pytest.fixture
def outbox(tmp_path: Path) -> Generator[Outbox, None, None]:
    box = Outbox(tmp_path / "outbox", reactor, retries=0, retry_delay=0.0, guard=NetworkGuard(),
                 max_bytes=16 * 2**20)
    yield box
    pytest_twisted.blockon(box.close())


@defer.inlineCallbacks
def replies(queue: MemoryQueue, count: int = 1) -> Generator[Any, Any, list[Message]]:
    for _ in range(500):
        if queue.queued >= count:
            return queue.take(100)
        yield deferLater(reactor, 0.01, lambda: None)
    raise AssertionError("no reply reached the queue")


def url_config(keys: str, **kw: str) -> GatewayConfig:
    return make_config(f"group = sms-service\nname = app\nkeyword = default\n{keys}\n", **kw)


@pytest_twisted.inlineCallbacks
def test_get_url_reply_with_escapes(app: tuple[App, int], outbox: Outbox) -> Any:
    site, port = app
    config = url_config(f"get-url = http://127.0.0.1:{port}/mo?from=%p&to=%P&text=%a&s=%n")
    mo, queue = receiver_for(config, clock=reactor, outbox=outbox)
    yield outbox.open()
    status = yield mo.receive("sink", "esme", deliver(b"Hi there & caf\x05"))
    assert status == c.ESME_ROK and mo.counters.requests == 1
    [reply] = yield replies(queue)
    assert site.requests[0]["method"] == b"GET"
    assert site.requests[0]["uri"] == (
        b"/mo?from=%2B46700000001&to=12345&text=Hi+there+%26+caf%C3%A9&s=app"
    )
    assert site.requests[0]["headers"]["User-Agent"] == "Kannel/1.4.5"
    assert from_gsm(reply.payload) == "Thanks!"
    assert (reply.sender, reply.receiver, reply.username) == ("12345", "+46700000001", "app")


@pytest_twisted.inlineCallbacks
def test_post_url_body_headers_and_html_reply(app: tuple[App, int], outbox: Outbox) -> Any:
    site, port = app
    site.content_type = b"text/html"
    site.body = b"<html><body><p>Your  answer</p></body></html>"
    config = url_config(f"post-url = http://127.0.0.1:{port}/post\nsend-sender = true")
    mo, queue = receiver_for(config, clock=reactor, outbox=outbox)
    yield outbox.open()
    status = yield mo.receive("sink", "esme", deliver(b"a question"))
    assert status == c.ESME_ROK
    [reply] = yield replies(queue)
    request = site.requests[0]
    assert request["method"] == b"POST" and request["body"] == b"a question"
    assert request["headers"]["Content-Type"] == 'text/plain; charset="UTF-8"'
    assert request["headers"]["X-Kannel-From"] == "+46700000001"
    assert request["headers"]["X-Kannel-To"] == "12345"
    assert request["headers"]["X-Kannel-Service"] == "app"
    assert from_gsm(reply.payload) == "Your answer"


@pytest_twisted.inlineCallbacks
def test_accept_x_kannel_headers(app: tuple[App, int], outbox: Outbox) -> Any:
    site, port = app
    site.headers = {b"X-Kannel-From": b"Brand", b"X-Kannel-DLR-Mask": b"3",
                    b"X-Kannel-DLR-URL": b"http://d/"}
    config = url_config(f"get-url = http://127.0.0.1:{port}/\naccept-x-kannel-headers = true")
    mo, queue = receiver_for(config, clock=reactor, outbox=outbox)
    yield outbox.open()
    yield mo.receive("sink", "esme", deliver(b"x"))
    [reply] = yield replies(queue)
    assert (reply.sender, reply.dlr_mask, reply.dlr_url) == ("Brand", 3, "http://d/")


@pytest_twisted.inlineCallbacks
def test_fetch_failure_replies_could_not_fetch(app: tuple[App, int], outbox: Outbox) -> Any:
    site, port = app
    site.code = 500
    config = url_config(f"get-url = http://127.0.0.1:{port}/",
                        smsbox="reply-couldnotfetch = Try later")
    mo, queue = receiver_for(config, clock=reactor, outbox=outbox)
    yield outbox.open()
    yield mo.receive("sink", "esme", deliver(b"x"))
    [reply] = yield replies(queue)
    assert from_gsm(reply.payload) == "Try later"


@pytest_twisted.inlineCallbacks
def test_empty_answer_is_reply_emptymessage(app: tuple[App, int], outbox: Outbox) -> Any:
    site, port = app
    site.body = b""
    config = url_config(f"get-url = http://127.0.0.1:{port}/")
    mo, queue = receiver_for(config, clock=reactor, outbox=outbox)
    yield outbox.open()
    yield mo.receive("sink", "esme", deliver(b"x"))
    [reply] = yield replies(queue)
    assert from_gsm(reply.payload) == "<Empty reply from service provider>"


def test_stop_handles_held_parts_one_by_one() -> None:
    mo, queue = receiver_for(make_config(TEXT + "\n" + DEFAULT))
    result(mo.receive("sink", "esme", part(9, 2, 1, b"echo a")))
    mo.stop()
    assert texts(queue) == ["You said a"] and mo.concat_pending == 0


def test_router_drops_unroutable_replies() -> None:
    from gateway.routing import RouteVerdict

    class Nowhere:
        def verdict(self, message: Message) -> RouteVerdict:
            message.receiver = "+normalised"
            return RouteVerdict.NOT_ROUTABLE

    mo, queue = receiver_for(make_config(TEXT), router=Nowhere())
    assert result(mo.receive("sink", "esme", deliver(b"echo x"))) == c.ESME_ROK
    assert queue.queued == 0 and mo.counters.replied == 0


def test_an_answer_the_queue_refuses_is_stored_later() -> None:
    from gateway.callbacks import HttpJob, HttpResult
    from gateway.mo.actions import MoContext

    clock = Clock()
    config = url_config("get-url = http://app/")
    outbox = NoOutbox()
    mo, queue = receiver_for(config, clock=clock, max_messages=1, outbox=outbox)
    queue.put([Message("f", "f", "a", "b", b"fill")])  # the queue is full
    context = MoContext(0, "app", "+4670", "12345", "12345", "sink", "esme", "id").encode()
    job = HttpJob("GET", "http://app/", [], b"", "mo", context)
    stored = outbox.hooks["mo"](job, HttpResult(200, {"content-type": ["text/plain"]}, b"Hi"))
    done: list[object] = []
    stored.addCallback(done.append)
    clock.advance(5)
    assert not done  # still refused: tried again later, the outbox keeps the job meanwhile
    for message in queue.take(10):
        queue.ack(message)
    clock.advance(5)
    assert done == [None] and texts(queue) == ["Hi"]
