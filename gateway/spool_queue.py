"""The `MessageQueue` contract over the durable spool (`storage.spool.Spool`).

What it adds to the spool, which stores opaque records in lanes:

* **Messages in, messages out**: each `Message` is one record, `encode_message` bytes, in
  the lane of its priority (`gateway.lanes.lane_of`: Kannel's 0-3, unset → 0), owned by its
  sendsms-user (the spool's per-owner byte caps count per user).
* **Durability where sendsms needs it**: `put` fires only once the spool's group commit has
  fsync'd the batch, so the 202 that follows it survives a crash; `SpoolFull` (a cap) becomes
  `QueueFull`, which sendsms answers with `503 Temporal failure, try again later.`
* **At-least-once**: a message leaves the spool only through `ack` (submit_sm_resp OK or a
  permanent failure). Anything taken and not acked when the process dies is replayed on
  restart; that window (the links' in-flight submits, their pending lists, parked retries) is
  the only source of duplicates.
* **Weighted lanes** (`gateway.lanes.LaneScheduler`) on top of the spool's FIFO lanes, and
  **retries parked on the clock**: a `release` with a delay keeps the record taken (on disk,
  not acked) and its decoded `Message` in RAM until the delay is over, then gives it back to
  the spool, where it is taken before younger records of its lane.

The spool opens asynchronously (streaming recovery); until it has, `put` waits for it (the
HTTP reply waits, it is not refused) and `take` gives nothing.

RAM per queued message stays the spool's (an index entry); a decoded `Message` exists only
for what is in flight, which the links' windows bound.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from twisted.internet.defer import Deferred, fail
from twisted.internet.interfaces import IDelayedCall, IReactorTime
from twisted.logger import Logger
from twisted.python.failure import Failure

from gateway.lanes import DEFAULT_WEIGHTS, LANES_HIGH_FIRST, LaneScheduler, lane_of
from gateway.message import Message, MessageFormatError, decode_message, encode_message
from gateway.queue import QueueFull, RemovedIds
from storage.spool import RecordRef, Spool, SpoolFull

log = Logger(namespace="passerelle.spool_queue")


class SpoolQueue:
    """A durable, bounded `MessageQueue` (see the module docstring)."""

    def __init__(
        self,
        spool: Spool,
        clock: IReactorTime,
        weights: Sequence[int] = DEFAULT_WEIGHTS,
    ) -> None:
        self.spool = spool
        self._clock = clock
        self.scheduler = LaneScheduler(weights)
        self.opened = False
        #: Taken messages (in flight or parked) → their record.
        self._refs: dict[str, RecordRef] = {}
        #: Parked retries: message id → (message, the call that gives it back).
        self._parked: dict[str, tuple[Message, IDelayedCall]] = {}
        #: Retry counts of released messages: the disk copy is immutable, so `attempts`
        #: (sms-resend-retry) is carried here until the message is taken again.
        self._attempts: dict[str, int] = {}
        self._open_waiters: list[Deferred[None]] = []
        self._wait_waiters: list[Deferred[None]] = []
        #: Records that could not be decoded (dropped, logged): should stay 0.
        self.damaged = 0
        #: Messages put since start (the status page's inbound rate).
        self.accepted = 0
        #: remove-message ids, consulted at take (no scan of the spool to find them).
        self.removed_ids = RemovedIds()

    # -- life cycle --------------------------------------------------------------------

    def open(self) -> Deferred[None]:
        """Open the spool (recovery streams on in the background); puts made before this
        fires wait for it."""
        d = self.spool.open()
        d.addCallbacks(self._opened, self._open_failed)
        return d

    def _opened(self, _: object) -> None:
        self.opened = True
        waiters = self._open_waiters + self._wait_waiters
        self._open_waiters, self._wait_waiters = [], []
        for d in waiters:
            d.callback(None)

    def _open_failed(self, failure: Failure) -> Failure:
        log.failure("the spool could not be opened; nothing can be accepted", failure)
        # Puts fail (sendsms answers 500); the dispatcher's wait never fires: nothing to send.
        self._wait_waiters = []
        waiters, self._open_waiters = self._open_waiters, []
        for d in waiters:
            d.errback(failure)
        return failure

    def close(self) -> Deferred[None]:
        """Commit pending acks and close. Parked retries stay on disk, unacked: they are
        replayed at the next start."""
        for _, call in self._parked.values():
            if call.active():
                call.cancel()
        self._parked.clear()
        self._refs.clear()
        self.opened = False
        return self.spool.close()

    # -- MessageQueue ------------------------------------------------------------------

    @property
    def queued(self) -> int:
        spool = self.spool
        return spool.records - spool.in_flight + len(self._parked)

    @property
    def in_flight(self) -> int:
        return self.spool.in_flight - len(self._parked)

    @property
    def bytes_used(self) -> int:
        """Disk bytes the spool holds or has reserved (never above `max_bytes`)."""
        return self.spool.bytes_used

    @property
    def max_bytes(self) -> int:
        return self.spool.max_bytes

    def depth(self, lane: int) -> int:
        return self.spool.depth(lane) if self.opened else 0

    def lane_depths(self) -> dict[int, int]:
        """Ready messages per lane, for the status page."""
        return {lane: self.depth(lane) for lane in LANES_HIGH_FIRST}

    def oldest_age(self, lane: int, now: float | None = None) -> float:
        if not self.opened:
            return 0.0
        if now is None:
            now = self._clock.seconds()
        age = self.spool.oldest_age(lane, now)
        return 0.0 if age is None else age

    def put(self, messages: Sequence[Message]) -> Deferred[None]:
        self.accepted += len(messages)
        records = [(lane_of(m.priority), m.username, encode_message(m)) for m in messages]
        if not self.opened:
            d: Deferred[None] = Deferred()
            self._open_waiters.append(d)
            return d.addCallback(lambda _: self._append_later(records))
        try:
            stored = self.spool.append(records)
        except SpoolFull as exc:
            raise QueueFull(str(exc)) from exc
        return stored.addCallback(_nothing)

    def _append_later(self, records: list[tuple[int, str, bytes]]) -> Deferred[None]:
        try:
            return self.spool.append(records).addCallback(_nothing)
        except SpoolFull as exc:
            return fail(QueueFull(str(exc)))

    def take(self, limit: int) -> list[Message]:
        if limit <= 0 or not self.opened:
            return []
        spool = self.spool
        counts = self.scheduler.split(limit, [spool.depth(lane) for lane in range(4)])
        out: list[Message] = []
        refs = self._refs
        attempts = self._attempts
        # Looked up once per take, not per message: empty almost always.
        removed = self.removed_ids if self.removed_ids else None
        for lane in LANES_HIGH_FIRST:
            if not counts[lane]:
                continue
            for ref, payload in spool.take(lane, counts[lane]):
                try:
                    message = decode_message(payload)
                except MessageFormatError as exc:
                    # Written by something else (or damaged past the checksum): it can
                    # never be sent, so it must not block its lane.
                    self.damaged += 1
                    log.error("spool record {ref} dropped: {error}", ref=ref, error=exc)
                    spool.ack(ref)
                    continue
                if removed is not None and removed.take(message.id):
                    log.info("message {id} dropped (remove-message)", id=message.id)
                    spool.ack(ref)
                    continue
                if attempts:
                    message.attempts = attempts.pop(message.id, message.attempts)
                refs[message.id] = ref
                out.append(message)
        return out

    def ack(self, message: Message) -> None:
        ref = self._refs.pop(message.id, None)
        if ref is None:
            return
        parked = self._parked.pop(message.id, None)
        if parked is not None and parked[1].active():
            parked[1].cancel()
        self._attempts.pop(message.id, None)
        self.spool.ack(ref)

    def release(self, message: Message, delay: float = 0.0) -> None:
        if message.id not in self._refs or message.id in self._parked:
            return
        if message.attempts:
            self._attempts[message.id] = message.attempts
        if delay <= 0:
            self.spool.release(self._refs.pop(message.id))
            return
        call = self._clock.callLater(delay, self._unpark, message.id)
        self._parked[message.id] = (message, call)

    def remove(self, message_id: str) -> None:
        """The admin's remove-message: a parked retry is acked now, a waiting message when
        its turn comes (`RemovedIds`); one on the wire cannot be called back."""
        parked = self._parked.pop(message_id, None)
        if parked is not None:
            if parked[1].active():
                parked[1].cancel()
            ref = self._refs.pop(message_id, None)
            self._attempts.pop(message_id, None)
            if ref is not None:
                self.spool.ack(ref)
            self.removed_ids.removed += 1
            return
        self.removed_ids.add(message_id)

    def peek(self, limit: int) -> Iterator[Message]:
        """Up to `limit` waiting messages, most urgent lane first, without taking them
        (store-status): read lazily from the spool, so never more than `limit` reads."""
        if not self.opened:
            return
        count = 0
        for lane in LANES_HIGH_FIRST:
            for payload in self.spool.peek(lane, limit - count):
                try:
                    message = decode_message(payload)
                except MessageFormatError:
                    continue
                count += 1
                yield message
            if count >= limit:
                return

    def wait(self) -> Deferred[None]:
        if self.opened:
            return self.spool.wait()
        d: Deferred[None] = Deferred()
        self._wait_waiters.append(d)
        return d.addCallback(lambda _: self.spool.wait())

    def _unpark(self, message_id: str) -> None:
        if self._parked.pop(message_id, None) is None:
            return
        ref = self._refs.pop(message_id, None)
        if ref is not None and self.opened:
            self.spool.release(ref)


def _nothing(_: Any) -> None:
    return None
