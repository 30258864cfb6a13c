"""Weighted priority lanes: how many messages each lane gives to one `take`.

Kannel's `priority` (0-3) picks one of four lanes; 3 is the most urgent. Serving them in
strict priority would starve a campaign forever behind steady OTP traffic, and serving them
FIFO is what made pizza notifications two hours late behind marketing. So lanes are served in
*rounds*: in a round each lane may give up to its weight (`lane-weights`, default 3:8 2:4 1:2
0:1), the highest non-empty lane first. A round ends when every lane that still has messages
has spent its weight; empty lanes do not bank credit. Consequences:

* a priority-3 message that arrives while bulk is flowing is taken at the very next `take`
  unless lane 3 already spent its 8 in this round, in which case it waits for at most the
  lower lanes' shares of the round (1+2+4 messages with the default weights), never for the
  bulk backlog;
* bulk keeps moving at no less than 1/15 of the throughput when every lane is busy, and at
  full throughput when it is alone.

`LaneScheduler` only does the arithmetic (counts per lane); the queues own the messages.
It keeps its round between calls, so many `take(1)` calls are served the same as one
`take(n)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

#: Lanes in the order they are served within a round.
LANES_HIGH_FIRST: Final = (3, 2, 1, 0)
#: Weights of lanes 0..3 when the configuration gives none (PasserelleConfig.lane_weights).
DEFAULT_WEIGHTS: Final = (1, 2, 4, 8)


def lane_of(priority: int) -> int:
    """The lane of a message priority: 0-3 as given, anything else (Kannel's unset -1) 0."""
    return priority if 0 <= priority <= 3 else 0


class LaneScheduler:
    """Splits a `take(limit)` between the four lanes by weighted rounds."""

    __slots__ = ("weights", "_credit")

    def __init__(self, weights: Sequence[int] = DEFAULT_WEIGHTS) -> None:
        if len(weights) != 4 or any(int(w) < 1 for w in weights):
            raise ValueError("lane weights are four integers >= 1 (lanes 0..3)")
        #: Weight per lane, indexed by lane number.
        self.weights: tuple[int, int, int, int] = (
            int(weights[0]), int(weights[1]), int(weights[2]), int(weights[3])
        )
        self._credit = list(self.weights)

    def split(self, limit: int, available: Sequence[int]) -> list[int]:
        """How many messages to take from each lane (indexed by lane) for a `take(limit)`,
        given how many each lane has ready. The sum is min(limit, sum(available))."""
        counts = [0, 0, 0, 0]
        remaining = limit
        credit = self._credit
        while remaining > 0:
            for lane in LANES_HIGH_FIRST:
                ready = available[lane] - counts[lane]
                if ready <= 0 or credit[lane] <= 0:
                    continue
                n = min(credit[lane], ready, remaining)
                counts[lane] += n
                credit[lane] -= n
                remaining -= n
                if remaining == 0:
                    return counts
            waiting = [lane for lane in LANES_HIGH_FIRST if available[lane] > counts[lane]]
            if not waiting:
                break  # every lane is empty
            if all(credit[lane] <= 0 for lane in waiting):
                # Every lane that still has messages spent its share: a new round.
                credit[:] = self.weights
        return counts
