"""The durable HTTP outbox: dlr-url callbacks and sms-service get-url / post-url requests.

Kannel's smsbox keeps these requests in memory: a restart loses every callback not yet made,
and with its default `http-request-retry = 0` a target that is down for a second loses them
too. Here every job is fsync'd into a spool before `put` fires, is retried with a growing
delay, is acked only once it has a final answer (success, or dead-lettered after its last
try), and comes back after a restart or a crash (at-least-once). See docs/callbacks.md.

Flow: `put` appends jobs to lane 0 of the spool. The pump takes jobs while fewer than
`max_pending` requests are in flight (and fewer than `max_per_host` to the job's host; the
others wait parked in memory, at most `max_held` of them). A failure that may be retried is
written again to lane 1 with its attempt count and the time it may go again, *then* the old
record is acked; lane 1 is read into a timer heap (at most `max_held` jobs) and each job starts
when its time comes. A final answer goes to the hook registered for the job's kind; when the
hook is done the record is acked.
"""

from __future__ import annotations

import heapq
import itertools
import os
import random as _random
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from twisted.internet import defer
from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.error import TimeoutError as TwistedTimeoutError
from twisted.internet.protocol import Protocol
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.client import (
    Agent,
    HTTPConnectionPool,
    RedirectAgent,
    ResponseDone,
    _HTTP11ClientFactory,
)
from twisted.web.http import PotentialDataLoss
from twisted.web.http_headers import Headers
from twisted.web.iweb import IBodyProducer
from zope.interface import implementer

from gateway.callbacks.deadletter import DEAD_LETTER_BYTES, DEAD_LETTER_FILES, DeadLetters
from gateway.callbacks.guard import CallbackRefused, GuardedEndpointFactory, NetworkGuard
from gateway.callbacks.job import HttpJob, HttpResult, JobFormatError, decode_job, encode_job
from storage.spool import RecordRef, Spool, SpoolFull

log = Logger(namespace="passerelle.callbacks")

#: Retries when the configuration does not set `http-request-retry`. Kannel's default is 0 (a
#: callback is lost on its first failure); 8 retries from a 10 s delay doubling up to 300 s
#: keep trying for about 20 minutes, so a target restarting for 30 s loses nothing.
DEFAULT_RETRIES: Final = 8
#: Kannel's `http-queue-delay` default: seconds before the first retry.
DEFAULT_RETRY_DELAY: Final = 10.0
#: Longest delay between two tries, whatever the doubling says.
MAX_RETRY_DELAY: Final = 300.0
#: Each delay is multiplied by a random factor in [1 - JITTER, 1 + JITTER], so callbacks
#: failed together do not all come back in the same second.
JITTER: Final = 0.2
#: A suggested disk budget for the outbox's queue (about 200,000 typical dlr-url jobs).
DEFAULT_MAX_BYTES: Final = 64 * 2**20
#: Kannel's `max-pending-requests` and `http-timeout` defaults.
DEFAULT_MAX_PENDING: Final = 512
DEFAULT_TIMEOUT: Final = 240.0
#: Response body bytes kept for a hook (an MO reply is one SMS text; more is dropped and the
#: result says `truncated`).
BODY_CAP: Final = 64 * 1024
#: Redirects followed, as Kannel's HTTP client (HTTP_MAX_FOLLOW).
REDIRECT_LIMIT: Final = 5
#: Seconds an idle kept-alive connection stays in the pool.
IDLE_CONNECTION_TIMEOUT: Final = 30.0

LANE_NEW: Final = 0
LANE_RETRY: Final = 1
_SEGMENT_BYTES: Final = 4 * 2**20


def backoff(
    retry: int,
    base: float,
    *,
    cap: float = MAX_RETRY_DELAY,
    random: Callable[[], float] = _random.random,
) -> float:
    """Seconds to wait before retry number `retry` (1 is the first retry): `base` doubled for
    every earlier retry, times a jitter factor, never above max(cap, base)."""
    ceiling = max(cap, base)
    delay = min(ceiling, base * 2.0 ** min(max(retry - 1, 0), 60))
    return max(0.0, min(ceiling, delay * (1.0 - JITTER + 2.0 * JITTER * random())))


def _wire_url(url: str) -> bytes:
    """The URL as octets Twisted accepts: octets outside printable ASCII (spaces, non-ASCII
    left raw by a pattern) are percent-encoded, as a browser would send them."""
    raw = url.encode("utf-8", "surrogateescape")
    if all(0x21 <= c <= 0x7E for c in raw):
        return raw
    return b"".join(bytes([c]) if 0x21 <= c <= 0x7E else b"%%%02X" % c for c in raw)


def _host_key(url: str) -> tuple[str, str, int]:
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return (parts.scheme, (parts.hostname or "").lower(), port)
    except ValueError:
        return ("", "", 0)


def _invalid(job: HttpJob) -> str | None:
    """Why the job can never succeed, before any request is made."""
    if job.method not in ("GET", "POST"):
        return f"method {job.method!r} is not GET or POST"
    try:
        parts = urlsplit(job.url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as e:
        return f"invalid URL: {e}"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "invalid URL: not an absolute http or https URL"
    return None


@implementer(IBodyProducer)
class _Body:
    """A request body already in memory (Content-Length known, written in one go)."""

    def __init__(self, data: bytes) -> None:
        self.length = len(data)
        self._data = data

    def startProducing(self, consumer: Any) -> Deferred[None]:  # noqa: N802
        consumer.write(self._data)
        return defer.succeed(None)

    def pauseProducing(self) -> None:  # noqa: N802
        pass

    def resumeProducing(self) -> None:  # noqa: N802
        pass

    def stopProducing(self) -> None:  # noqa: N802
        pass


class _BoundedBody(Protocol):
    """Reads a response body up to `cap` bytes; past it, stops reading and drops the
    connection, so a target cannot make us buffer without bound."""

    def __init__(self, cap: int, done: Deferred[tuple[bytes, bool]]) -> None:
        self._cap = cap
        self._done = done
        self._parts: list[bytes] = []
        self._size = 0
        self.truncated = False

    def dataReceived(self, data: bytes) -> None:  # noqa: N802
        if self.truncated:
            return
        room = self._cap - self._size
        if len(data) > room:
            self._parts.append(data[:room])
            self._size = self._cap
            self.truncated = True
            self.transport.stopProducing()
            self._fire(None)
            return
        self._parts.append(data)
        self._size += len(data)

    def connectionLost(self, reason: Failure = None) -> None:  # noqa: N802
        if self.truncated or reason is None or reason.check(ResponseDone, PotentialDataLoss):
            self._fire(None)
        else:
            self._fire(reason)

    def _fire(self, failure: Failure | None) -> None:
        if self._done.called:
            return
        if failure is None:
            self._done.callback((b"".join(self._parts), self.truncated))
        else:
            self._done.errback(failure)


@dataclass(slots=True, eq=False)
class _Item:
    """A job taken from the spool, with the record to ack when it is final (None never
    happens for spooled jobs; kept optional for clarity of the retry path)."""

    job: HttpJob
    ref: RecordRef | None
    due: float
    host: tuple[str, str, int]


def _timed_out(result: object, timeout: float) -> Failure:
    """Whatever the cancelled request failed with (Twisted wraps the CancelledError in
    ResponseNeverReceived and the like), a timeout is reported as one."""
    return Failure(TwistedTimeoutError(string=f"no answer within {timeout:g} s"))


def _describe(failure: Failure) -> str:
    if failure.check(TwistedTimeoutError):
        return "timed out"
    value = failure.value
    inner = getattr(value, "reasons", None)  # ResponseFailed / ConnectError wrap the cause
    if inner:
        return "; ".join(_describe(f) for f in inner if isinstance(f, Failure))
    text = str(value).strip() or type(value).__name__
    return f"{type(value).__name__}: {text}" if type(value).__name__ not in text else text


class _QuietClientFactory(_HTTP11ClientFactory):
    """The pool's connection factory without its "Starting/Stopping factory" log lines: a
    busy gateway opens and closes kept-alive connections all day."""

    noisy = False


class Outbox:
    """Durable, bounded, retrying HTTP requests with one final answer per job.

    All methods run on the reactor thread. `reactor` does the network, request timeouts and
    the spool's threads; `clock` (default: the reactor) times retries, so tests can drive the
    delays with `twisted.internet.task.Clock`."""

    def __init__(
        self,
        directory: str | Path,
        reactor: Any,
        *,
        max_pending: int = DEFAULT_MAX_PENDING,
        retries: int,
        retry_delay: float,
        timeout: float = DEFAULT_TIMEOUT,
        guard: NetworkGuard,
        max_bytes: int,
        max_records: int | None = None,
        max_retry_delay: float = MAX_RETRY_DELAY,
        max_per_host: int | None = None,
        max_held: int | None = None,
        body_cap: int = BODY_CAP,
        permanent_codes: frozenset[int] = frozenset(),
        dead_letter_bytes: int = DEAD_LETTER_BYTES,
        dead_letter_files: int = DEAD_LETTER_FILES,
        clock: Any = None,
        pool: HTTPConnectionPool | None = None,
        tls_policy: Any = None,
        random: Callable[[], float] = _random.random,
        fsync: Callable[[int], None] = os.fdatasync,
    ) -> None:
        if max_pending < 1 or retries < 0 or retry_delay < 0 or timeout <= 0:
            raise ValueError("max_pending >= 1, retries >= 0, retry_delay >= 0, timeout > 0")
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.max_pending = max_pending
        self.retries = retries
        self.retry_delay = retry_delay
        self.max_retry_delay = max_retry_delay
        self.timeout = timeout
        self.max_per_host = max_per_host or max(1, max_pending // 4)
        self.max_held = max_held or max(1024, 4 * max_pending)
        self.body_cap = body_cap
        self.permanent_codes = frozenset(permanent_codes)
        self.guard = guard
        self._reactor = reactor
        self._clock = clock if clock is not None else reactor
        self._random = random
        self._spool = Spool(
            self.directory / "spool",
            max_bytes=max_bytes,
            max_records=max_records,
            lanes=2,
            segment_bytes=_SEGMENT_BYTES,
            reactor=reactor,
            fsync=fsync,
        )
        self.dead_letters = DeadLetters(
            self.directory, max_bytes=dead_letter_bytes, files=dead_letter_files
        )
        if pool is None:
            pool = HTTPConnectionPool(reactor, persistent=True)
            pool._factory = _QuietClientFactory  # type: ignore[misc]
            pool.maxPersistentPerHost = self.max_per_host
            pool.cachedConnectionTimeout = IDLE_CONNECTION_TIMEOUT
        self._pool = pool
        endpoints = GuardedEndpointFactory(reactor, guard, tls_policy=tls_policy)
        self._agent = RedirectAgent(
            Agent.usingEndpointFactory(reactor, endpoints, pool=pool),
            redirectLimit=REDIRECT_LIMIT,
        )
        self._hooks: dict[str, Callable[[HttpJob, HttpResult], object]] = {}
        self._waiting: list[tuple[float, int, _Item]] = []  # retries, by due time
        self._order = itertools.count()
        self._parked: dict[tuple[str, str, int], deque[_Item]] = {}
        self._parked_count = 0
        self._per_host: dict[tuple[str, str, int], int] = {}
        self._flying: dict[_Item, Deferred[Any]] = {}
        self._busy: set[Deferred[Any]] = set()
        self._timer: Any = None
        self._wait_armed = False
        self._pumping = False
        self._again = False
        self._opened = False
        self._closing = False
        #: Jobs that got a 200/202.
        self.sent = 0
        #: Retries scheduled (one per failed try that will be tried again).
        self.retried = 0
        #: Jobs given up: after their last retry, refused by the guard, or never valid.
        self.dead_lettered = 0
        #: Of those, refused by the network guard.
        self.refused = 0
        #: Hooks that failed (the job is acked anyway: the request was made).
        self.hook_errors = 0
        #: Records that could not be read back (damaged or of an unknown format): dropped.
        self.unreadable = 0

    # ------------------------------------------------------------------ counters
    @property
    def in_flight(self) -> int:
        """Requests under way now."""
        return len(self._flying)

    @property
    def queued(self) -> int:
        """Jobs without a final answer yet (on disk: new, in flight, waiting to retry)."""
        return self._spool.records

    @property
    def waiting(self) -> int:
        """Jobs in memory waiting for their retry time or for their host to have room."""
        return len(self._waiting) + self._parked_count

    @property
    def bytes_used(self) -> int:
        """Disk bytes held by the queue, counted against `max_bytes`."""
        return self._spool.bytes_used

    @property
    def max_bytes(self) -> int:
        return self._spool.max_bytes

    def counters(self) -> dict[str, int]:
        """Everything the status page and /metrics show, in one dict."""
        return {
            "sent": self.sent,
            "retried": self.retried,
            "dead_lettered": self.dead_lettered,
            "refused": self.refused,
            "hook_errors": self.hook_errors,
            "unreadable": self.unreadable,
            "in_flight": self.in_flight,
            "waiting": self.waiting,
            "queued": self.queued,
            "bytes_used": self.bytes_used,
            "max_bytes": self.max_bytes,
        }

    # ------------------------------------------------------------------ API
    def register(self, kind: str, on_result: Callable[[HttpJob, HttpResult], object]) -> None:
        """`on_result(job, result)` is called once per job of this kind, with its final
        answer (`result.ok` or not); the record is acked when it returns or, if it returns a
        Deferred, when that fires. Register before `open`: replayed jobs start at once."""
        self._hooks[kind] = on_result

    def put(self, jobs: Sequence[HttpJob]) -> Deferred[None]:
        """Queue jobs; fires once they are fsync'd. Raises storage.spool.SpoolFull (nothing
        queued) when the queue's byte or record cap would pass, ValueError for a job that
        cannot be stored (too big, a method other than GET/POST)."""
        if not self._opened or self._closing:
            raise RuntimeError("outbox is not open")
        records = []
        for job in jobs:
            if job.method not in ("GET", "POST"):
                raise ValueError(f"method {job.method!r} is not GET or POST")
            records.append((LANE_NEW, job.kind, encode_job(job)))
        d = self._spool.append(records)

        def stored(_: object) -> None:
            self._pump()

        return d.addCallback(stored)

    def open(self) -> Deferred[None]:
        """Open the queue (recovering what a previous run left) and start sending."""
        return Deferred.fromCoroutine(self._open())

    async def _open(self) -> None:
        await self._spool.open()
        self._opened = True
        self._pump()

    def close(self) -> Deferred[None]:
        """Stop: requests under way are cancelled (their jobs stay queued and go again after
        the next open), finishing work (hooks, retry writes) is waited for, the queue is
        closed. Nothing unsent is lost."""
        return Deferred.fromCoroutine(self._close())

    async def _close(self) -> None:
        if not self._opened or self._closing:
            return
        self._closing = True
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        for d in list(self._flying.values()):
            d.cancel()
        while self._busy:
            await defer.DeferredList(list(self._busy), consumeErrors=True)
        await self._spool.close()
        self._opened = False
        await self._pool.closeCachedConnections()

    def _crash(self) -> None:
        """Tests only: stop as a killed process would (nothing flushed, nothing acked)."""
        self._closing = True
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        for d in list(self._flying.values()):
            d.cancel()
        self._spool._crash()
        self._opened = False
        self._pool.closeCachedConnections()

    # ------------------------------------------------------------------ pump
    def _pump(self) -> None:
        """Start every job that may start now; arm the wake-ups for the rest."""
        if not self._opened or self._closing:
            return
        if self._pumping:
            self._again = True
            return
        self._pumping = True
        try:
            self._again = True
            while self._again and not self._closing:
                self._again = False
                self._pump_once()
        finally:
            self._pumping = False

    def _pump_once(self) -> None:
        spool = self._spool
        now = self._clock.seconds()
        while len(self._waiting) < self.max_held and spool.takeable(LANE_RETRY):
            room = min(64, self.max_held - len(self._waiting))
            for ref, payload in spool.take(LANE_RETRY, room):
                item = self._item(ref, payload)
                if item is not None:
                    heapq.heappush(self._waiting, (item.due, next(self._order), item))
        while len(self._flying) < self.max_pending:
            if self._waiting and self._waiting[0][0] <= now:
                item = heapq.heappop(self._waiting)[2]
            elif self._parked_count < self.max_held and spool.takeable(LANE_NEW):
                taken = spool.take(LANE_NEW, 1)
                if not taken:
                    break
                item = self._item(*taken[0])
                if item is None:
                    continue
                if item.due > now:
                    heapq.heappush(self._waiting, (item.due, next(self._order), item))
                    continue
            else:
                break
            self._start_or_park(item)
        self._arm_timer(now)
        if not self._wait_armed and not spool.takeable(LANE_NEW) and not spool.takeable(LANE_RETRY):
            # Wake when something becomes takeable (an append, recovery). Only armed when
            # nothing is: otherwise the wait fires at once and we would spin.
            self._wait_armed = True
            spool.wait().addCallback(self._woken)

    def _woken(self, _: object) -> None:
        self._wait_armed = False
        self._pump()

    def _arm_timer(self, now: float) -> None:
        if not self._waiting or len(self._flying) >= self.max_pending:
            return  # a finishing request pumps again
        due = self._waiting[0][0]
        if self._timer is not None and self._timer.active():
            if self._timer.getTime() <= due:
                return
            self._timer.cancel()
        self._timer = self._clock.callLater(max(0.0, due - now), self._pump)

    def _item(self, ref: RecordRef, payload: bytes) -> _Item | None:
        try:
            job, due = decode_job(payload)
        except JobFormatError as e:
            self.unreadable += 1
            log.error("callback outbox: dropping an unreadable record: {error}", error=str(e))
            self._spool.ack(ref)
            return None
        return _Item(job, ref, due, _host_key(job.url))

    def _start_or_park(self, item: _Item) -> None:
        busy = self._per_host.get(item.host, 0)
        if busy >= self.max_per_host:
            self._parked.setdefault(item.host, deque()).append(item)
            self._parked_count += 1
            return
        self._per_host[item.host] = busy + 1
        d = self._request(item.job)
        self._flying[item] = d
        d.addBoth(self._finished, item)

    # ------------------------------------------------------------------ one request
    def _request(self, job: HttpJob) -> Deferred[HttpResult]:
        invalid = _invalid(job)
        if invalid is not None:
            return defer.fail(ValueError(invalid))
        headers = Headers()
        if not any(name.lower() == "connection" for name, _ in job.headers):
            headers.addRawHeader(b"Connection", b"keep-alive")  # Kannel sends it first
        for name, value in job.headers:
            headers.addRawHeader(
                name.encode("latin-1", "replace"), value.encode("utf-8", "replace")
            )
        body = _Body(job.body) if job.body or job.method == "POST" else None
        d = defer.maybeDeferred(
            self._agent.request, job.method.encode("ascii"), _wire_url(job.url), headers, body
        )
        d.addCallback(self._read)
        d.addTimeout(self.timeout, self._reactor, onTimeoutCancel=_timed_out)
        return d

    def _read(self, response: Any) -> Deferred[HttpResult]:
        def cancel(_: Deferred[Any]) -> None:
            transport = getattr(response, "_transport", None)  # twisted.web's Response
            if transport is not None:
                transport.stopProducing()

        done: Deferred[tuple[bytes, bool]] = Deferred(cancel)
        response.deliverBody(_BoundedBody(self.body_cap, done))
        headers = {
            name.decode("latin-1").lower(): [v.decode("latin-1") for v in values]
            for name, values in response.headers.getAllRawHeaders()
        }

        def result(got: tuple[bytes, bool]) -> HttpResult:
            body, truncated = got
            return HttpResult(response.code, headers, body, truncated)

        return done.addCallback(result)

    def _finished(self, outcome: HttpResult | Failure, item: _Item) -> None:
        self._flying.pop(item, None)
        left = self._per_host.get(item.host, 1) - 1
        if left > 0:
            self._per_host[item.host] = left
        else:
            self._per_host.pop(item.host, None)
        parked = self._parked.get(item.host)
        if parked and not self._closing:
            nxt = parked.popleft()
            self._parked_count -= 1
            if not parked:
                del self._parked[item.host]
            self._start_or_park(nxt)
        if self._closing:
            return None  # cancelled by close or crash: the job stays queued
        retry = False
        if isinstance(outcome, Failure):
            if outcome.check(CallbackRefused):
                self.refused += 1
                result = HttpResult(-1, error=str(outcome.value))
                log.warn(
                    "callback refused by the network guard, dead-lettered: {error}",
                    error=result.error,
                )
            elif outcome.check(ValueError) and _invalid(item.job):
                result = HttpResult(-1, error=str(outcome.value))
            else:
                error = _describe(outcome)
                if outcome.check(TwistedTimeoutError, CancelledError):
                    error = f"no answer within {self.timeout:g} s"
                result = HttpResult(-1, error=error)
                retry = True
        else:
            result = outcome
            if not result.ok:
                result.error = f"HTTP {result.code}"
                retry = result.code not in self.permanent_codes
        made = item.job.attempts + 1
        if retry and made <= self.retries:
            self._retry(item, made, result.error)
        else:
            self._final(item, replace(item.job, attempts=made), result)
        self._pump()
        return None

    # ------------------------------------------------------------------ outcomes
    def _retry(self, item: _Item, made: int, error: str) -> None:
        self.retried += 1
        delay = backoff(made, self.retry_delay, cap=self.max_retry_delay, random=self._random)
        due = self._clock.seconds() + delay
        job = replace(item.job, attempts=made)
        log.info(
            "callback {kind} try {made}/{total} failed ({error}); again in {delay:.1f} s",
            kind=job.kind,
            made=made,
            total=self.retries + 1,
            error=error,
            delay=delay,
        )
        try:
            d = self._spool.append([(LANE_RETRY, job.kind, encode_job(job, due))])
        except (SpoolFull, ValueError, RuntimeError) as e:
            self._keep_in_memory(item, job, due, str(e))
            return
        old = item.ref

        def written(_: object) -> None:
            if old is not None and self._opened:  # close waits for this ack
                self._spool.ack(old)

        def not_written(failure: Failure) -> None:
            if not self._closing:
                self._keep_in_memory(item, job, due, _describe(failure))
                self._pump()

        self._track(d.addCallbacks(written, not_written))

    def _keep_in_memory(self, item: _Item, job: HttpJob, due: float, why: str) -> None:
        """The retry could not be written: keep the old record (taken) and the new count in
        memory. A restart before it goes again replays it with its previous count."""
        log.warn("callback retry kept in memory only ({why})", why=why)
        item.job, item.due = job, due
        heapq.heappush(self._waiting, (due, next(self._order), item))

    def _final(self, item: _Item, job: HttpJob, result: HttpResult) -> None:
        if result.ok:
            self.sent += 1
        else:
            self.dead_lettered += 1
            if result.error and "refused" not in result.error:
                log.warn(
                    "callback {kind} dead-lettered after {made} tries: {error}",
                    kind=job.kind,
                    made=job.attempts,
                    error=result.error,
                )
            try:
                self.dead_letters.write(
                    {
                        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                        "kind": job.kind,
                        "method": job.method,
                        "url": job.url,
                        "attempts": job.attempts,
                        "error": result.error,
                        "code": result.code,
                    }
                )
            except OSError as e:
                log.error("callback dead-letter file not written: {error}", error=str(e))
        hook = self._hooks.get(job.kind)
        if hook is None:
            log.warn("callback of kind {kind!r} finished with no hook registered", kind=job.kind)
        d = defer.maybeDeferred(hook, job, result) if hook is not None else defer.succeed(None)

        def hook_failed(failure: Failure) -> None:
            self.hook_errors += 1
            log.failure("callback hook for {kind} failed", failure, kind=job.kind)

        def done(_: object) -> None:
            if item.ref is not None and self._opened:  # close waits for this ack
                self._spool.ack(item.ref)

        self._track(d.addErrback(hook_failed).addCallback(done))

    def _track(self, d: Deferred[Any]) -> None:
        if d.called:
            return
        self._busy.add(d)

        def forget(result: object) -> object:
            self._busy.discard(d)
            return result

        d.addBoth(forget)


__all__ = [
    "BODY_CAP",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_PENDING",
    "DEFAULT_RETRIES",
    "DEFAULT_RETRY_DELAY",
    "DEFAULT_TIMEOUT",
    "JITTER",
    "MAX_RETRY_DELAY",
    "REDIRECT_LIMIT",
    "Outbox",
    "backoff",
]
