"""Flow control towards one SMSC connection: a token bucket in segments, slowed by AIMD.

Kannel's `throughput` (messages per second per smsc group) caps what a link sends; here it
is a token bucket fed by the clock and counted in *segments* (every `Message` is one segment,
splitting happened at accept), because carriers bill and throttle per submit_sm.

Carriers also push back: ESME_RTHROTTLED (0x58) and ESME_RMSGQFUL (0x14) mean "slower".
Kannel answers RTHROTTLED by stopping the connection for one second, then going back to full
speed, which on a carrier with a hard limit makes a saw-tooth of bursts and refusals. We do
what TCP does instead (AIMD):

* each push-back **halves** the current rate (multiplicative decrease, floor `min_rate`),
  at most once per `decrease_gap` seconds, because one burst usually produces a whole window
  of refusals and they all describe the same moment;
* each accepted submit **adds** `step / rate` msg/s (additive increase: about `step` msg/s
  more per second of clean sending), back up to the configured rate.

Without a configured `throughput` the bucket is unlimited until the first push-back; then it
starts from half the rate it was measured sending at (a one-second meter) and climbs back
the same way; once it reaches that measured rate again it is unlimited again.

Nothing here schedules timers: the link asks `delay()` and schedules one call when it needs
to wait, so an idle or unbound link costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

#: Fraction of the rate kept on each push-back.
DECREASE: Final = 0.5
#: Push-backs closer together than this count as one (seconds).
DECREASE_GAP: Final = 0.5
#: Slowest the AIMD goes (msg/s): slow enough for any carrier, fast enough to probe.
MIN_RATE: Final = 1.0
#: Longest a link waits in one go before looking again (seconds), so wake-ups batch tokens
#: (at most 100 per second) without making a slow rate bursty.
MIN_BATCH_WAIT: Final = 0.01
#: Clock arithmetic in floats: 10 x 0.1 token must make one token.
_EPSILON: Final = 1e-9


class TokenBucket:
    """Segments a link may send now; `rate` None means unlimited (no `throughput`)."""

    __slots__ = (
        "configured", "rate", "ceiling", "burst_seconds", "min_rate", "step", "_tokens",
        "_stamp", "_now", "_last_decrease", "_meter_start", "_meter_count", "_meter_rate",
        "decreases",
    )

    def __init__(
        self,
        rate: float | None,
        now: Callable[[], float],
        *,
        burst_seconds: float = 0.1,
        min_rate: float = MIN_RATE,
    ) -> None:
        if rate is not None and rate <= 0:
            rate = None
        #: The configured `throughput` (None: unlimited).
        self.configured = rate
        #: The current rate in msg/s (None: unlimited right now).
        self.rate = rate
        #: What additive increase climbs back to (the configured or the measured rate).
        self.ceiling = rate
        self.burst_seconds = burst_seconds
        self.min_rate = min_rate
        self.step = 1.0
        self._now = now
        self._stamp = now()
        self._tokens = self._capacity() if rate is not None else 0.0
        self._last_decrease = float("-inf")
        self._meter_start = self._stamp
        self._meter_count = 0
        self._meter_rate = 0.0
        #: Push-backs that slowed the bucket (for the status page and tests).
        self.decreases = 0

    def _capacity(self) -> float:
        assert self.rate is not None
        return max(1.0, self.rate * self.burst_seconds)

    def _refill(self) -> float:
        now = self._now()
        if self.rate is not None:
            elapsed = now - self._stamp
            if elapsed > 0:
                self._tokens = min(self._capacity(), self._tokens + elapsed * self.rate)
        self._stamp = now
        return now

    @property
    def available(self) -> int:
        """Whole segments that may go now (a large number when unlimited)."""
        if self.rate is None:
            return 1 << 30
        self._refill()
        return int(self._tokens + _EPSILON)

    def take(self, segments: int = 1) -> bool:
        """Spend `segments` tokens if there are that many; False (nothing spent) if not."""
        now = self._refill()
        self._meter(now, segments)
        if self.rate is None:
            return True
        if self._tokens + _EPSILON < segments:
            return False
        self._tokens -= segments
        return True

    def delay(self) -> float:
        """Seconds until it is worth looking again (0 when a segment may go now)."""
        if self.rate is None:
            return 0.0
        self._refill()
        want = min(self._capacity(), max(1.0, self.rate * MIN_BATCH_WAIT))
        if self._tokens + _EPSILON >= 1.0:
            return 0.0
        return max(0.0, (want - self._tokens) / self.rate)

    def throttled(self) -> None:
        """The SMSC pushed back (0x58 / 0x14): halve the rate (once per `DECREASE_GAP`)."""
        now = self._refill()
        if now - self._last_decrease < DECREASE_GAP:
            return
        self._last_decrease = now
        self.decreases += 1
        if self.rate is None:
            # The last whole second's rate, or what this second already sent.
            measured = max(self._meter_rate, float(self._meter_count))
            self.ceiling = max(self.min_rate, measured)
            self.rate = self.ceiling
            self.step = max(1.0, self.ceiling / 10)
            self._tokens = 0.0
        elif self.configured is not None:
            self.step = max(1.0, self.configured / 10)
        self.rate = max(self.min_rate, self.rate * DECREASE)
        self._tokens = min(self._tokens, self._capacity())

    def succeeded(self) -> None:
        """The SMSC took a segment: climb back towards the ceiling (additive increase)."""
        if self.rate is None or self.ceiling is None or self.rate >= self.ceiling:
            return
        self._refill()
        self.rate = min(self.ceiling, self.rate + self.step / self.rate)
        if self.rate >= self.ceiling and self.configured is None:
            # Back where it was measured when the carrier complained: unlimited again.
            self.rate = None
            self.ceiling = None

    def _meter(self, now: float, segments: int) -> None:
        """A one-second meter of what is sent, for the unlimited case's first decrease."""
        if now - self._meter_start >= 1.0:
            self._meter_rate = self._meter_count / (now - self._meter_start)
            self._meter_start = now
            self._meter_count = 0
        self._meter_count += segments
