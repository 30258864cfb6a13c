"""The queue between accept and dispatch, and its bounded in-memory implementation.

`MessageQueue` is the contract the durable spool (storage/spool, wrapped by the gateway)
implements: `put` fires only once the batch is safe (for the spool: fsync'd by a group
commit), which is when sendsms may answer 202; a message leaves only through `ack`, after a
carrier took it or it failed for good, so nothing accepted is lost between the two.

`MemoryQueue` keeps that contract except durability (a restart loses what it holds; use
`gateway.spool_queue.SpoolQueue`, `spool-dir`, for that): bounded in messages, one FIFO per
lane (Kannel's `priority` 0-3) served by weighted rounds (`gateway.lanes`), and retries
parked on the clock.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from typing import Protocol

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IDelayedCall, IReactorTime

from gateway.lanes import DEFAULT_WEIGHTS, LaneScheduler, lane_of
from gateway.message import Message

PRIORITIES = (3, 2, 1, 0)

#: remove-message ids remembered until their message comes up (oldest forgotten first).
MAX_REMOVED = 10_000


class RemovedIds:
    """The ids the admin's remove-message named, consulted when a message is taken: removing
    from the middle of a lane (or of a spool segment) would cost a scan, checking at take
    costs one set lookup, and only while the set is not empty. Bounded: past `limit`, the
    oldest id is forgotten (its message, if it ever comes, is sent)."""

    __slots__ = ("_ids", "limit", "removed")

    def __init__(self, limit: int = MAX_REMOVED) -> None:
        self._ids: dict[str, None] = {}
        self.limit = limit
        #: Messages dropped because their id was named.
        self.removed = 0

    def add(self, message_id: str) -> None:
        self._ids[message_id] = None
        if len(self._ids) > self.limit:
            del self._ids[next(iter(self._ids))]

    def __bool__(self) -> bool:
        return bool(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def take(self, message_id: str) -> bool:
        """True (and forget it) if `message_id` was removed: drop that message."""
        if message_id in self._ids:
            del self._ids[message_id]
            self.removed += 1
            return True
        return False


class QueueFull(Exception):
    """The queue is at its cap: nothing of the batch was stored (sendsms answers 503)."""


class MessageQueue(Protocol):
    """What accept writes to and dispatch reads from."""

    def put(self, messages: Sequence[Message]) -> Deferred[None]:
        """Store the whole batch or none of it; fires when it is safe, fails with
        `QueueFull` at the cap."""
        ...

    def take(self, limit: int) -> list[Message]:
        """Up to `limit` messages to send now, shared between the lanes by weighted rounds
        (`gateway.lanes`: highest non-empty lane first, up to its weight per round), oldest
        first within a lane. They stay owned by the queue (in flight) until `ack` or
        `release`."""
        ...

    def ack(self, message: Message) -> None:
        """The message is done: a carrier accepted it, or it failed permanently."""
        ...

    def release(self, message: Message, delay: float = 0.0) -> None:
        """Give a taken message back (temporary failure, no route online yet); it can be
        taken again after `delay` seconds, ahead of younger messages of its priority."""
        ...

    def wait(self) -> Deferred[None]:
        """Fires as soon as `take` has something to give (at once if it has now)."""
        ...

    @property
    def queued(self) -> int:
        """Messages waiting to be taken (parked retries included)."""
        ...

    @property
    def in_flight(self) -> int:
        """Messages taken and neither acked nor released."""
        ...

    def depth(self, lane: int) -> int:
        """Messages of `lane` ready to be taken now (parked retries not included)."""
        ...

    def oldest_age(self, lane: int, now: float | None = None) -> float:
        """Seconds the oldest ready message of `lane` has waited (0 when empty): the metric
        that shows a lane starving."""
        ...


class MemoryQueue:
    """A bounded, non-durable `MessageQueue`: what a restart would lose is only what the
    spool keeps."""

    def __init__(
        self,
        max_messages: int,
        clock: IReactorTime,
        weights: Sequence[int] = DEFAULT_WEIGHTS,
    ) -> None:
        if max_messages < 1:
            raise ValueError("max_messages must be at least 1")
        self.max_messages = max_messages
        self._clock = clock
        self.scheduler = LaneScheduler(weights)
        #: Ready messages per lane, indexed by lane number, oldest first.
        self._lanes: list[deque[Message]] = [deque() for _ in range(4)]
        self._ready = 0
        self._parked: dict[str, tuple[Message, IDelayedCall]] = {}
        self._taken: dict[str, Message] = {}
        self._waiters: list[Deferred[None]] = []
        #: Messages put since start (the status page's inbound rate).
        self.accepted = 0
        self.removed_ids = RemovedIds()

    @property
    def queued(self) -> int:
        return self._ready + len(self._parked)

    @property
    def in_flight(self) -> int:
        return len(self._taken)

    def lane_depths(self) -> dict[int, int]:
        """Ready messages per lane, for the status page."""
        return {p: len(self._lanes[p]) for p in PRIORITIES}

    def depth(self, lane: int) -> int:
        return len(self._lanes[lane])

    def oldest_age(self, lane: int, now: float | None = None) -> float:
        queue = self._lanes[lane]
        if not queue:
            return 0.0
        if now is None:
            now = self._clock.seconds()
        # Retries go back in front, so the head is the oldest by accept time.
        return max(0.0, now - queue[0].created)

    def put(self, messages: Sequence[Message]) -> Deferred[None]:
        total = self.queued + self.in_flight
        if total + len(messages) > self.max_messages:
            raise QueueFull(
                f"queue holds {total} of {self.max_messages} messages; "
                f"{len(messages)} more do not fit"
            )
        lanes = self._lanes
        for message in messages:
            lanes[lane_of(message.priority)].append(message)
        self._ready += len(messages)
        self.accepted += len(messages)
        self._wake()
        return succeed(None)

    def take(self, limit: int) -> list[Message]:
        out: list[Message] = []
        if limit <= 0 or not self._ready:
            return out
        lanes = self._lanes
        counts = self.scheduler.split(limit, [len(lane) for lane in lanes])
        taken = self._taken
        for lane_number in PRIORITIES:
            lane = lanes[lane_number]
            for _ in range(counts[lane_number]):
                message = lane.popleft()
                taken[message.id] = message
                out.append(message)
        self._ready -= len(out)
        if self.removed_ids:
            out = self._drop_removed(out)
        return out

    def _drop_removed(self, messages: list[Message]) -> list[Message]:
        kept = []
        for message in messages:
            if self.removed_ids.take(message.id):
                self._taken.pop(message.id, None)
            else:
                kept.append(message)
        return kept

    def remove(self, message_id: str) -> None:
        """The admin's remove-message: a parked retry goes now, a waiting message when its
        turn comes (see `RemovedIds`); one already on the wire cannot be called back."""
        parked = self._parked.pop(message_id, None)
        if parked is not None:
            if parked[1].active():
                parked[1].cancel()
            self.removed_ids.removed += 1
            return
        self.removed_ids.add(message_id)

    def peek(self, limit: int) -> Iterator[Message]:
        """Up to `limit` waiting messages, most urgent lane first, without taking them
        (store-status); stops after `limit`."""
        count = 0
        for lane_number in PRIORITIES:
            for message in self._lanes[lane_number]:
                if count >= limit:
                    return
                count += 1
                yield message

    def ack(self, message: Message) -> None:
        self._taken.pop(message.id, None)

    def release(self, message: Message, delay: float = 0.0) -> None:
        if self._taken.pop(message.id, None) is None:
            return
        if delay <= 0:
            self._unpark(message)
            return
        call = self._clock.callLater(delay, self._unpark_parked, message.id)
        self._parked[message.id] = (message, call)

    def wait(self) -> Deferred[None]:
        d: Deferred[None] = Deferred()
        if self._ready:
            d.callback(None)
        else:
            self._waiters.append(d)
        return d

    def _unpark_parked(self, message_id: str) -> None:
        parked = self._parked.pop(message_id, None)
        if parked is not None:
            self._unpark(parked[0])

    def _unpark(self, message: Message) -> None:
        self._lanes[lane_of(message.priority)].appendleft(message)
        self._ready += 1
        self._wake()

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for d in waiters:
            d.callback(None)
