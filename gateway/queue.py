"""The queue between accept and dispatch, and its bounded in-memory implementation.

`MessageQueue` is the contract the durable spool (storage/spool, wrapped by the gateway)
implements: `put` fires only once the batch is safe (for the spool: fsync'd by a group
commit), which is when sendsms may answer 202; a message leaves only through `ack`, after a
carrier took it or it failed for good, so nothing accepted is lost between the two.

`MemoryQueue` keeps that contract except durability, until the spool lands: bounded in
messages, one FIFO per priority (Kannel's `priority` 0-3, 3 first), and retries parked on
the clock.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Protocol

from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IDelayedCall, IReactorTime

from gateway.message import Message

PRIORITIES = (3, 2, 1, 0)


class QueueFull(Exception):
    """The queue is at its cap: nothing of the batch was stored (sendsms answers 503)."""


class MessageQueue(Protocol):
    """What accept writes to and dispatch reads from."""

    def put(self, messages: Sequence[Message]) -> Deferred[None]:
        """Store the whole batch or none of it; fires when it is safe, fails with
        `QueueFull` at the cap."""
        ...

    def take(self, limit: int) -> list[Message]:
        """Up to `limit` messages to send now, highest priority first, oldest first within
        a priority. They stay owned by the queue (in flight) until `ack` or `release`."""
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


class MemoryQueue:
    """A bounded, non-durable `MessageQueue`: what a restart would lose is only what the
    spool will later keep."""

    def __init__(self, max_messages: int, clock: IReactorTime) -> None:
        if max_messages < 1:
            raise ValueError("max_messages must be at least 1")
        self.max_messages = max_messages
        self._clock = clock
        self._lanes: dict[int, deque[Message]] = {p: deque() for p in PRIORITIES}
        self._ready = 0
        self._parked: dict[str, tuple[Message, IDelayedCall]] = {}
        self._taken: dict[str, Message] = {}
        self._waiters: list[Deferred[None]] = []

    @property
    def queued(self) -> int:
        return self._ready + len(self._parked)

    @property
    def in_flight(self) -> int:
        return len(self._taken)

    def lane_depths(self) -> dict[int, int]:
        """Ready messages per priority, for the status page."""
        return {p: len(lane) for p, lane in self._lanes.items()}

    def put(self, messages: Sequence[Message]) -> Deferred[None]:
        total = self.queued + self.in_flight
        if total + len(messages) > self.max_messages:
            raise QueueFull(
                f"queue holds {total} of {self.max_messages} messages; "
                f"{len(messages)} more do not fit"
            )
        for message in messages:
            self._lane(message).append(message)
        self._ready += len(messages)
        self._wake()
        return succeed(None)

    def take(self, limit: int) -> list[Message]:
        out: list[Message] = []
        if limit <= 0 or not self._ready:
            return out
        for priority in PRIORITIES:
            lane = self._lanes[priority]
            while lane and len(out) < limit:
                message = lane.popleft()
                self._taken[message.id] = message
                out.append(message)
            if len(out) >= limit:
                break
        self._ready -= len(out)
        return out

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

    def _lane(self, message: Message) -> deque[Message]:
        return self._lanes.get(message.priority, self._lanes[0])

    def _unpark_parked(self, message_id: str) -> None:
        parked = self._parked.pop(message_id, None)
        if parked is not None:
            self._unpark(parked[0])

    def _unpark(self, message: Message) -> None:
        self._lane(message).appendleft(message)
        self._ready += 1
        self._wake()

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for d in waiters:
            d.callback(None)
