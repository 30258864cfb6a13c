"""The outbox against real HTTP servers on 127.0.0.1: the request as Kannel sends it, bounds,
retries, restarts and crashes, dead letters, the network guard and the body cap.

Retry timers run on a `Clock` where a test is about the schedule; the network, the spool and
request timeouts always run on the real reactor."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from twisted.internet import defer, reactor, task
from twisted.internet.protocol import Factory, Protocol
from twisted.protocols.policies import WrappingFactory
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Site

from gateway.callbacks import HttpJob, HttpResult, NetworkGuard, Outbox
from storage.spool import SpoolFull
from tests.polling import until

KANNEL_HEADERS = [("Connection", "keep-alive"), ("User-Agent", "Kannel/1.4.5")]
Behaviour = Callable[[Any], Any]


class Recorder(Resource):
    """Answers as `behaviour(request)` says: (code, body), or "hold" to answer later."""

    isLeaf = True

    def __init__(self, behaviour: Behaviour | None = None) -> None:
        super().__init__()
        self.behaviour: Behaviour = behaviour or (lambda request: (200, b"ok"))
        self.seen: list[tuple[bytes, bytes, dict[bytes, list[bytes]], bytes]] = []
        self.held: list[Any] = []
        self.active = 0
        self.peak = 0

    def render(self, request: Any) -> Any:
        headers = dict(request.requestHeaders.getAllRawHeaders())
        self.seen.append((request.method, request.uri, headers, request.content.read()))
        answer = self.behaviour(request)
        if answer == "hold":
            self.active += 1
            self.peak = max(self.peak, self.active)
            self.held.append(request)

            def gone(_: object) -> None:
                self.active -= 1

            request.notifyFinish().addBoth(gone)
            return NOT_DONE_YET
        code, body = answer
        request.setResponseCode(code)
        return body

    def answer(self, count: int | None = None, code: int = 200, body: bytes = b"ok") -> None:
        """Answer held requests (all, or the first `count`)."""
        n = len(self.held) if count is None else count
        for request in self.held[:n]:
            if not request.finished and not request._disconnected:
                request.setResponseCode(code)
                request.write(body)
                request.finish()
        del self.held[:n]

    def uris(self) -> list[bytes]:
        return [uri for _method, uri, _headers, _body in self.seen]


class Server:
    """A twisted.web site on 127.0.0.1 that can stop (dropping kept-alive connections) and
    start again on the same port."""

    def __init__(self, resource: Resource | None = None, factory: Factory | None = None):
        self.resource = resource if resource is not None else Recorder()
        self.wrapper = WrappingFactory(factory if factory is not None else Site(self.resource))
        self.port = 0
        self._listening: Any = None

    def start(self) -> Server:
        self._listening = reactor.listenTCP(self.port, self.wrapper, interface="127.0.0.1")
        self.port = self._listening.getHost().port
        return self

    async def stop(self) -> None:
        await self._listening.stopListening()
        for protocol in list(self.wrapper.protocols):
            protocol.transport.abortConnection()

    def url(self, path: str = "/dlr", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


async def pause(seconds: float) -> None:
    await task.deferLater(reactor, seconds, lambda: None)


def job(url: str, n: int = 0, **kw: Any) -> HttpJob:
    values: dict[str, Any] = dict(
        method="GET",
        url=url,
        headers=list(KANNEL_HEADERS),
        body=b"",
        kind="dlr",
        context=str(n).encode(),
    )
    values.update(kw)
    return HttpJob(**values)


class Hook:
    def __init__(self) -> None:
        self.results: list[tuple[HttpJob, HttpResult]] = []

    def __call__(self, job: HttpJob, result: HttpResult) -> None:
        self.results.append((job, result))

    def contexts(self) -> list[bytes]:
        return sorted(j.context for j, _ in self.results)


async def opened(directory: Path, hook: Hook | None = None, **kw: Any) -> Outbox:
    kw.setdefault("retries", 0)
    kw.setdefault("retry_delay", 0.0)
    kw.setdefault("max_bytes", 10 * 2**20)
    kw.setdefault("guard", NetworkGuard())
    kw.setdefault("random", lambda: 0.5)
    outbox = Outbox(directory, reactor, **kw)
    if hook is not None:
        outbox.register("dlr", hook)
        outbox.register("mo", hook)
    await outbox.open()
    return outbox


async def settled(outbox: Outbox) -> None:
    """Every final answer handled and acked (hooks done, queue empty)."""
    await until(lambda: outbox.queued == 0 and not outbox._busy)


# ---------------------------------------------------------------------------- the request
class RawCapture(Protocol):
    """Records the request octets exactly and answers one fixed response per request."""

    captured: list[bytes]

    def dataReceived(self, data: bytes) -> None:  # noqa: N802
        self.factory.captured.append(data)
        if data.endswith(b"\r\n\r\n"):
            self.transport.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n\r\nsent"
            )


@pytest_twisted.ensureDeferred
async def test_request_line_and_headers_are_kannels(tmp_path: Path) -> None:
    capture = Factory.forProtocol(RawCapture)
    capture.captured = []
    server = Server(factory=capture).start()
    hook = Hook()
    outbox = await opened(tmp_path, hook)
    try:
        await outbox.put([job(server.url("/dlr?d=1&id=abc%20x"))])
        await settled(outbox)
        # a job without a Connection header gets Kannel's keep-alive first
        await outbox.put([job(server.url("/two"), headers=[("User-Agent", "Kannel/1.4.5")])])
        await settled(outbox)
        assert b"".join(capture.captured) == (
            b"GET /dlr?d=1&id=abc%20x HTTP/1.1\r\n"
            b"Connection: keep-alive\r\nUser-Agent: Kannel/1.4.5\r\n"
            b"Host: 127.0.0.1:PORT\r\n\r\n"
            b"GET /two HTTP/1.1\r\n"
            b"Connection: keep-alive\r\nUser-Agent: Kannel/1.4.5\r\n"
            b"Host: 127.0.0.1:PORT\r\n\r\n"
        ).replace(b"PORT", str(server.port).encode())
        assert len(server.wrapper.protocols) == 1  # one kept-alive connection for both
        [(_, first), (_, second)] = hook.results
        assert (first.code, first.body, first.ok, first.error) == (200, b"sent", True, "")
        assert first.headers == {"content-type": ["text/plain"]}  # no connection headers
        assert outbox.counters()["sent"] == 2
    finally:
        await outbox.close()
        await server.stop()


@pytest_twisted.ensureDeferred
async def test_post_with_body_and_context_back_to_its_hook(tmp_path: Path) -> None:
    server = Server(Recorder(lambda r: (200, b"reply text"))).start()
    mo, dlr = Hook(), Hook()
    outbox = await opened(tmp_path)
    outbox.register("mo", mo)
    outbox.register("dlr", dlr)
    try:
        await outbox.put(
            [
                job(
                    server.url("/mo"),
                    method="POST",
                    kind="mo",
                    context=b"reply-state",
                    headers=[("Content-Type", "text/plain"), ("X-Kannel-From", "123")],
                    body=b"hello",
                ),
                job(server.url("/dlr"), context=b"d"),
            ]
        )
        await settled(outbox)
        method, uri, headers, body = server.resource.seen[0]
        assert (method, uri, body) == (b"POST", b"/mo", b"hello")
        assert headers[b"Content-Type"] == [b"text/plain"]
        assert headers[b"Content-Length"] == [b"5"]
        assert headers[b"X-Kannel-From"] == [b"123"]
        assert [(j.context, r.body) for j, r in mo.results] == [(b"reply-state", b"reply text")]
        assert [j.context for j, _ in dlr.results] == [b"d"]
    finally:
        await outbox.close()
        await server.stop()


@pytest_twisted.ensureDeferred
async def test_non_ascii_url_octets_are_percent_encoded(tmp_path: Path) -> None:
    server = Server().start()
    outbox = await opened(tmp_path, Hook())
    try:
        await outbox.put([job(server.url("/dlr?t=é x"))])
        await settled(outbox)
        assert server.resource.uris() == [b"/dlr?t=%C3%A9%20x"]
    finally:
        await outbox.close()
        await server.stop()


# ---------------------------------------------------------------------------- bounds
@pytest_twisted.ensureDeferred
async def test_at_most_max_pending_in_flight(tmp_path: Path) -> None:
    recorder = Recorder(lambda r: "hold")
    server = Server(recorder).start()
    hook = Hook()
    outbox = await opened(tmp_path, hook, max_pending=3, max_per_host=3)
    try:
        await outbox.put([job(server.url(f"/{n}"), n) for n in range(10)])
        await until(lambda: recorder.active == 3)
        await pause(0.2)
        assert recorder.active == 3 and outbox.in_flight == 3 and len(recorder.seen) == 3
        while len(hook.results) < 10:
            recorder.answer()
            await pause(0.02)
        await settled(outbox)
        assert recorder.peak == 3
        assert sorted(recorder.uris()) == sorted(f"/{n}".encode() for n in range(10))
    finally:
        await outbox.close()
        await server.stop()


@pytest_twisted.ensureDeferred
async def test_a_slow_target_does_not_block_another(tmp_path: Path) -> None:
    slow = Server(Recorder(lambda r: "hold")).start()
    fast = Server().start()
    hook = Hook()
    outbox = await opened(tmp_path, hook, max_pending=4, max_per_host=2)
    try:
        await outbox.put([job(slow.url(f"/s{n}"), n) for n in range(20)])
        await outbox.put([job(fast.url(f"/f{n}"), 100 + n) for n in range(5)])
        await until(lambda: len(hook.results) == 5)  # all of the fast target's, none slow
        assert slow.resource.active == 2 and slow.resource.peak == 2
        assert outbox.waiting == 18  # parked behind the slow host, in memory
        while len(hook.results) < 25:
            slow.resource.answer()
            await pause(0.02)
        assert slow.resource.peak == 2
    finally:
        await outbox.close()
        await slow.stop()
        await fast.stop()


@pytest_twisted.ensureDeferred
async def test_put_refuses_past_the_byte_cap(tmp_path: Path) -> None:
    outbox = await opened(tmp_path, Hook(), max_bytes=4096)
    try:
        with pytest.raises(SpoolFull):
            outbox.put([job("http://127.0.0.1:9/x", body=b"x" * 5000, method="POST")])
        with pytest.raises(ValueError):
            outbox.put([job("http://127.0.0.1:9/x", method="PUT")])
        assert outbox.queued == 0
    finally:
        await outbox.close()


# ---------------------------------------------------------------------------- retries
@pytest_twisted.ensureDeferred
async def test_retry_then_success_on_the_backoff_schedule(tmp_path: Path) -> None:
    answers = iter([(500, b"boom"), (404, b"no"), (200, b"ok")])
    server = Server(Recorder(lambda r: next(answers))).start()
    clock = task.Clock()
    hook = Hook()
    outbox = await opened(tmp_path, hook, retries=3, retry_delay=10.0, clock=clock)
    try:
        await outbox.put([job(server.url())])
        await until(lambda: outbox.waiting == 1 and not outbox._busy)
        assert len(server.resource.seen) == 1 and outbox.retried == 1
        clock.advance(9.9)
        await pause(0.1)
        assert len(server.resource.seen) == 1  # not before its time
        clock.advance(0.1)
        await until(lambda: outbox.retried == 2 and outbox.waiting == 1 and not outbox._busy)
        clock.advance(19.9)
        await pause(0.1)
        assert len(server.resource.seen) == 2  # the second delay is doubled
        clock.advance(0.1)
        await settled(outbox)
        [(done, result)] = hook.results
        assert (result.code, done.attempts) == (200, 3)
        assert (outbox.sent, outbox.retried, outbox.dead_lettered) == (1, 2, 0)
    finally:
        await outbox.close()
        await server.stop()


@pytest_twisted.ensureDeferred
async def test_target_down_for_a_while_gets_every_callback_once(tmp_path: Path) -> None:
    server = Server().start()
    await server.stop()  # down: connections refused
    hook = Hook()
    outbox = await opened(tmp_path, hook, retries=8, retry_delay=0.05, max_retry_delay=0.5)
    try:
        await outbox.put([job(server.url(f"/{n}"), n) for n in range(20)])
        await until(lambda: outbox.retried >= 40)  # two failures each, on average
        assert hook.results == []
        server.start()  # the same port again
        await settled(outbox)
        assert sorted(server.resource.uris()) == sorted(f"/{n}".encode() for n in range(20))
        assert all(r.ok and 2 <= j.attempts <= 9 for j, r in hook.results)
        assert outbox.dead_lettered == 0
    finally:
        await outbox.close()
        await server.stop()


@pytest_twisted.ensureDeferred
async def test_dead_letter_after_the_last_retry(tmp_path: Path) -> None:
    server = Server(Recorder(lambda r: (503, b"busy"))).start()
    hook = Hook()
    outbox = await opened(tmp_path, hook, retries=2, retry_delay=0.0)
    try:
        await outbox.put([job(server.url("/dlr?password=secret&id=7"))])
        await settled(outbox)
        assert len(server.resource.seen) == 3  # retries + 1, never more
        [(done, result)] = hook.results
        assert (result.ok, result.code, result.error, done.attempts) == (False, 503, "HTTP 503", 3)
        assert outbox.counters()["dead_lettered"] == 1 and outbox.retried == 2
        [line] = (tmp_path / "dead-letters.jsonl").read_text().splitlines()
        entry = json.loads(line)
        assert entry["attempts"] == 3 and entry["error"] == "HTTP 503" and entry["kind"] == "dlr"
        assert entry["url"].endswith("/dlr?password=***&id=7")
    finally:
        await outbox.close()
        await server.stop()


@pytest_twisted.ensureDeferred
async def test_permanent_codes_and_invalid_urls_are_not_retried(tmp_path: Path) -> None:
    server = Server(Recorder(lambda r: (404, b""))).start()
    hook = Hook()
    outbox = await opened(
        tmp_path, hook, retries=5, retry_delay=0.0, permanent_codes=frozenset({404})
    )
    try:
        await outbox.put([job(server.url()), job("not a url"), job("ftp://127.0.0.1/x")])
        await settled(outbox)
        assert len(server.resource.seen) == 1 and outbox.retried == 0
        assert outbox.dead_lettered == 3
        assert sorted(r.error[:11] for _, r in hook.results) == [
            "HTTP 404",
            "invalid URL",
            "invalid URL",
        ]
    finally:
        await outbox.close()
        await server.stop()


@pytest_twisted.ensureDeferred
async def test_timeout_counts_as_a_failure(tmp_path: Path) -> None:
    server = Server(Recorder(lambda r: "hold")).start()
    hook = Hook()
    outbox = await opened(tmp_path, hook, retries=1, retry_delay=0.0, timeout=0.2)
    try:
        await outbox.put([job(server.url())])
        await settled(outbox)
        [(done, result)] = hook.results
        assert (result.code, result.error, done.attempts) == (-1, "no answer within 0.2 s", 2)
        assert len(server.resource.seen) == 2
    finally:
        await outbox.close()
        await server.stop()


# ---------------------------------------------------------------------------- durability
@pytest_twisted.ensureDeferred
async def test_restart_loses_nothing_and_keeps_attempt_counts(tmp_path: Path) -> None:
    recorder = Recorder(lambda r: (500, b""))
    server = Server(recorder).start()
    outbox = await opened(tmp_path, Hook(), retries=4, retry_delay=10.0, clock=task.Clock())
    await outbox.put([job(server.url(f"/{n}"), n) for n in range(5)])
    await until(lambda: outbox.waiting == 5 and not outbox._busy)
    await outbox.put([job(server.url("/late"), 99)])  # a second batch, tried once as well
    await until(lambda: outbox.waiting == 6 and not outbox._busy)
    await outbox.close()
    assert len(recorder.seen) == 6

    recorder.behaviour = lambda r: (200, b"ok")
    hook = Hook()
    clock = task.Clock()
    again = await opened(tmp_path, hook, retries=4, retry_delay=10.0, clock=clock)
    try:
        await until(lambda: again.waiting == 6)  # replayed, waiting for their retry time
        assert again.queued == 6 and hook.results == []
        clock.advance(10.0)
        await settled(again)
        assert hook.contexts() == sorted([str(n).encode() for n in range(5)] + [b"99"])
        assert {j.attempts for j, _ in hook.results} == {2}  # 1 failed before, 1 now
        assert len(recorder.seen) == 12
    finally:
        await again.close()
        await server.stop()


@pytest_twisted.ensureDeferred
async def test_close_with_requests_under_way_keeps_them(tmp_path: Path) -> None:
    recorder = Recorder(lambda r: "hold")
    server = Server(recorder).start()
    outbox = await opened(tmp_path, Hook(), max_pending=2, max_per_host=2)
    await outbox.put([job(server.url(f"/{n}"), n) for n in range(4)])
    await until(lambda: recorder.active == 2)
    await outbox.close()
    recorder.behaviour = lambda r: (200, b"ok")
    hook = Hook()
    again = await opened(tmp_path, hook)
    try:
        await settled(again)
        assert hook.contexts() == [b"0", b"1", b"2", b"3"]
    finally:
        await again.close()
        await server.stop()


@pytest_twisted.ensureDeferred
async def test_a_crash_replays_every_unfinished_job(tmp_path: Path) -> None:
    recorder = Recorder(lambda r: "hold")
    server = Server(recorder).start()
    first = Hook()
    outbox = await opened(tmp_path, first, max_pending=3, max_per_host=3)
    await outbox.put([job(server.url(f"/{n}"), n) for n in range(8)])
    await until(lambda: recorder.active == 3)
    recorder.answer(1)  # one is done before the crash (its ack may or may not be on disk)
    await until(lambda: len(first.results) == 1 and recorder.active == 3)
    outbox._crash()  # no close: as if killed
    recorder.behaviour = lambda r: (200, b"ok")
    hook = Hook()
    again = await opened(tmp_path, hook)
    try:
        await settled(again)
        delivered = set(first.contexts()) | set(hook.contexts())
        assert delivered == {str(n).encode() for n in range(8)}  # at-least-once
        assert len(hook.results) in (7, 8)
    finally:
        await again.close()
        await server.stop()


# ---------------------------------------------------------------------------- guard
@pytest_twisted.ensureDeferred
async def test_guard_refusals_are_dead_lettered_at_once(tmp_path: Path) -> None:
    server = Server().start()
    names = {"inner.test": ["10.0.0.1"], "app.test": ["127.0.0.1"]}
    guard = NetworkGuard(resolver=lambda host, port: defer.succeed(names[host]))
    hook = Hook()
    outbox = await opened(tmp_path, hook, guard=guard, retries=5, retry_delay=0.0)
    try:
        await outbox.put(
            [
                job("http://10.1.2.3/dlr", 1),
                job("http://169.254.169.254/latest/meta-data", 2),
                job(f"http://inner.test:{server.port}/dlr", 3),
                job(f"http://[::ffff:10.0.0.1]:{server.port}/dlr", 4),
                job(server.url("/dlr", host="app.test"), 5),
            ]
        )
        await settled(outbox)
        results = {j.context: r for j, r in hook.results}
        assert results[b"5"].ok
        assert all(
            results[n].code == -1 and "refused" in results[n].error
            for n in (b"1", b"2", b"3", b"4")
        )
        assert (outbox.refused, outbox.dead_lettered, outbox.retried) == (4, 4, 0)
        [(_, uri, headers, _)] = server.resource.seen
        assert headers[b"Host"] == [f"app.test:{server.port}".encode()]
        assert len((tmp_path / "dead-letters.jsonl").read_text().splitlines()) == 4
    finally:
        await outbox.close()
        await server.stop()


@pytest_twisted.ensureDeferred
async def test_guard_loopback_switch_and_allowed_networks(tmp_path: Path) -> None:
    server = Server().start()
    hook = Hook()
    strict = NetworkGuard(allow_loopback=False)
    outbox = await opened(tmp_path / "a", hook, guard=strict, retries=3)
    try:
        await outbox.put([job(server.url(), 1)])
        await settled(outbox)
        assert outbox.refused == 1 and server.resource.seen == []
    finally:
        await outbox.close()
    allowed = NetworkGuard(allow_loopback=False, allow=["127.0.0.0/8"])
    outbox = await opened(tmp_path / "b", hook, guard=allowed)
    try:
        await outbox.put([job(server.url(), 2)])
        await settled(outbox)
        assert outbox.sent == 1 and len(server.resource.seen) == 1
    finally:
        await outbox.close()
        await server.stop()


@pytest_twisted.ensureDeferred
async def test_redirects_are_followed_and_checked(tmp_path: Path) -> None:
    target = Server().start()

    def redirect(request: Any) -> tuple[int, bytes]:
        where = b"http://10.0.0.1/x" if request.uri == b"/inner" else target.url().encode()
        request.setHeader(b"Location", where)
        return (302, b"")

    hop = Server(Recorder(redirect)).start()
    hook = Hook()
    outbox = await opened(tmp_path, hook)
    try:
        await outbox.put([job(hop.url("/out"), 1), job(hop.url("/inner"), 2)])
        await settled(outbox)
        results = {j.context: r for j, r in hook.results}
        assert results[b"1"].ok and target.resource.uris() == [b"/dlr"]
        assert "refused" in results[b"2"].error
    finally:
        await outbox.close()
        await hop.stop()
        await target.stop()


# ---------------------------------------------------------------------------- body cap
@pytest_twisted.ensureDeferred
async def test_response_body_is_capped(tmp_path: Path) -> None:
    big = b"x" * (300 * 1024)
    server = Server(Recorder(lambda r: (200, big))).start()
    hook = Hook()
    outbox = await opened(tmp_path, hook, body_cap=64 * 1024)
    try:
        await outbox.put([job(server.url(), 1), job(server.url("/small"), 2)])
        await settled(outbox)
        for _, result in hook.results:
            assert result.ok and result.truncated and len(result.body) == 64 * 1024
    finally:
        await outbox.close()
        await server.stop()


# ---------------------------------------------------------------------------- hooks, memory
@pytest_twisted.ensureDeferred
async def test_ack_waits_for_the_hooks_deferred_and_a_failing_hook_is_counted(
    tmp_path: Path,
) -> None:
    server = Server().start()
    pending: defer.Deferred[None] = defer.Deferred()
    outbox = await opened(tmp_path)
    outbox.register("mo", lambda job, result: pending)
    outbox.register("dlr", lambda job, result: 1 / 0)
    try:
        await outbox.put([job(server.url("/mo"), kind="mo")])
        await until(lambda: outbox.sent == 1)
        await pause(0.1)
        assert outbox.queued == 1  # not acked while the hook works
        pending.callback(None)
        await settled(outbox)
        await outbox.put([job(server.url("/dlr"))])
        await settled(outbox)
        assert (outbox.sent, outbox.hook_errors) == (2, 1)
    finally:
        await outbox.close()
        await server.stop()


@pytest_twisted.ensureDeferred
async def test_retries_waiting_in_memory_are_bounded(tmp_path: Path) -> None:
    recorder = Recorder(lambda r: (500, b""))
    server = Server(recorder).start()
    clock = task.Clock()
    hook = Hook()
    outbox = await opened(tmp_path, hook, retries=2, retry_delay=10.0, clock=clock, max_held=2)
    try:
        await outbox.put([job(server.url(f"/{n}"), n) for n in range(5)])
        await until(lambda: outbox.retried == 5 and not outbox._busy)
        await pause(0.1)
        assert outbox.waiting == 2 and outbox.queued == 5  # the other three wait on disk
        recorder.behaviour = lambda r: (200, b"ok")
        clock.advance(10.0)
        await settled(outbox)
        assert len(hook.results) == 5 and all(r.ok for _, r in hook.results)
    finally:
        await outbox.close()
        await server.stop()


@pytest_twisted.ensureDeferred
async def test_a_retry_that_cannot_be_written_is_kept_in_memory(tmp_path: Path) -> None:
    answers = iter([(500, b""), (200, b"ok")])
    server = Server(Recorder(lambda r: next(answers))).start()
    hook = Hook()
    outbox = await opened(tmp_path, hook, retries=3, retry_delay=0.0, max_records=1)
    try:
        await outbox.put([job(server.url())])  # the queue is full now: no room for the retry
        await settled(outbox)
        [(done, result)] = hook.results
        assert result.ok and done.attempts == 2 and outbox.retried == 1
    finally:
        await outbox.close()
        await server.stop()
