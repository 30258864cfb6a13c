"""Moving messages from the queue to the SMSC links: take, route, hand over.

The dispatcher is driven by events, never by polling, so a gateway with no bind up costs no
CPU whatever its queue holds:

* it takes from the queue only as many messages as the online links have free window
  slots in total (so priorities keep working: a message stays in the queue, where a
  more urgent one can overtake it, until a slot is really there);
* when the queue is empty it waits on `queue.wait()`; a link that binds or frees window
  slots wakes it;
* wake-ups are coalesced into one pass per reactor turn (`callLater(0)`), so the puts of
  many HTTP requests handled in one turn go out as one batch; a link's `window_open`
  (one per socket read) refills at once, inside the read, so the new submits leave in
  the same write as the read's responses.

Each message is routed with `Router.choose`, preferring a link with room; if its tier has
none, it waits in that link's short `pending` list (at most one window); if that is full
too, it goes back to the queue for `full_delay`. A message no online link may take is
*held* (still owned, not re-examined) until some link binds, then given back to the queue
in order — so messages for a link that is down cost nothing while others are busy. A later
part of a multipart message goes to the link still holding an earlier part (see
`SmscLink.holds_group`), so parts leave in order even across links sharing an smsc-id. An
expired validity fails the message (Kannel's `SMSCCONN_FAILED_EXPIRED`) when it is routed.

No Deferred is made per message: the queue's one `wait()` Deferred is the only one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from twisted.internet.defer import Deferred
from twisted.logger import Logger

from gateway.message import UNSET, Message
from gateway.queue import MessageQueue
from gateway.routing import Router
from gateway.smsc import FAILED_EXPIRED, DeliveryEvents, SmscLink

log = Logger(namespace="passerelle.dispatch")

#: Seconds a message waits in the queue when every link it may use is full.
FULL_DELAY: Final = 0.25
#: Messages examined in one pass before yielding the reactor to the next turn.
MAX_PER_TURN: Final = 10_000


class Dispatcher:
    """Feeds the `SmscLink`s from the queue; the links' `LinkOwner`."""

    def __init__(
        self,
        queue: MessageQueue,
        router: Router,
        links: Sequence[SmscLink | None],
        clock: Any,
        *,
        full_delay: float = FULL_DELAY,
        events: DeliveryEvents | None = None,
    ) -> None:
        self.queue = queue
        self.router = router
        #: By router key; None where a group has no link for MT (receive-only).
        self.links: tuple[SmscLink | None, ...] = tuple(links)
        self.clock = clock
        self.full_delay = full_delay
        self.events = events if events is not None else DeliveryEvents()
        self.running = False
        #: Messages no online link may take, kept until a link binds.
        self.held: list[Message] = []
        #: Messages failed here (expired validity), for the status page.
        self.expired = 0
        self._scheduled: Any = None
        self._waiting: Deferred[None] | None = None
        self._pumping = False
        for link in self.links:
            if link is not None:
                link.owner = self

    # -- life cycle --------------------------------------------------------------------

    def start(self) -> None:
        """Start dispatching (the links are started by their owner)."""
        self.running = True
        self.wake()

    def stop(self) -> None:
        """Stop taking messages; held ones go back to the queue."""
        self.running = False
        if self._scheduled is not None and self._scheduled.active():
            self._scheduled.cancel()
        self._scheduled = None
        self._release_held()

    # -- LinkOwner ---------------------------------------------------------------------

    def link_up(self, link: SmscLink) -> None:
        """A link bound: what was held for want of a route may have one now."""
        self._release_held()
        self.wake()

    def link_down(self, link: SmscLink) -> None:
        """A link went down; its pending messages are back in the queue."""
        self.wake()

    def link_window_open(self, link: SmscLink) -> None:
        """Slots freed on `link` during a read: refill now, inside the read."""
        if self.running and not self._pumping:
            self.pump()

    # -- the pump ----------------------------------------------------------------------

    def wake(self) -> None:
        """Pump once in the next reactor turn (several wake-ups make one pass)."""
        if not self.running:
            return
        if self._scheduled is None or not self._scheduled.active():
            self._scheduled = self.clock.callLater(0, self._scheduled_pump)

    def _scheduled_pump(self) -> None:
        self._scheduled = None
        sessions = [link.session for link in self.links if link is not None and link.online]
        for session in sessions:
            if session is not None:
                session.hold_writes()
        try:
            self.pump()
        finally:
            for session in sessions:
                if session is not None:
                    session.flush()

    def room(self) -> int:
        """Free window slots over every online link (pending messages count as used)."""
        return sum(link.room for link in self.links if link is not None)

    def pump(self) -> None:
        """Take what the links can send now and hand it over; wait on the queue once it is
        empty. Every message taken leaves the ready queue (sent, kept pending, held, or
        parked for `full_delay`), so the passes end."""
        if not self.running:
            return
        self._pumping = True
        examined = 0
        try:
            while True:
                budget = self.room()
                if budget <= 0:
                    return  # a link's window_open or bind wakes us
                if examined >= MAX_PER_TURN:
                    self.wake()  # let the reactor breathe; go on next turn
                    return
                messages = self.queue.take(budget)
                examined += len(messages)
                now = self.clock.seconds()
                for message in messages:
                    self._place(message, now)
                if len(messages) < budget:
                    self._wait()
                    return
        finally:
            self._pumping = False

    def _wait(self) -> None:
        if self._waiting is None:
            self._waiting = d = self.queue.wait()
            d.addCallback(self._ready)

    def _ready(self, _: object) -> None:
        self._waiting = None
        self.wake()

    def _place(self, message: Message, now: float) -> None:
        """Route one message to a link, or hold it, or park it, or fail it (expired)."""
        # Kannel compares whole seconds (`time(NULL) > validity`), so validity=0 still goes
        # out within the second it was accepted in.
        if (
            message.validity != UNSET
            and message.created
            and int(now) > int(message.created) + message.validity * 60
        ):
            self.expired += 1
            self.queue.ack(message)
            try:
                self.events.failed(message, None, FAILED_EXPIRED, "validity expired")
            except Exception:
                log.failure("DeliveryEvents.failed raised")
            return
        if message.parts > 1 and len(self.links) > 1:
            # A later part goes where an earlier part of its message is still on the wire
            # (or retrying), to be sent after it: multipart order across balanced links.
            for link in self.links:
                if link is not None and link.online and link.holds_group(message.parent_id):
                    if not link.take(message):
                        self.queue.release(message, self.full_delay)
                    return
        key = self.router.choose(message, self._has_room)
        if key is None:
            key = self.router.choose(message)
            if key is None:
                self.held.append(message)
                return
        link = self.links[key]
        if link is None or not link.take(message):
            self.queue.release(message, self.full_delay)

    def _has_room(self, key: int) -> bool:
        link = self.links[key]
        return link is not None and link.room > 0

    def _release_held(self) -> None:
        held, self.held = self.held, []
        for message in reversed(held):
            self.queue.release(message)
