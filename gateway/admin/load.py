"""Kannel's message rates (gw/load.c): the three numbers in `inbound (0.98,0.79,0.79) msg/sec`.

Kannel's figures are not sliding averages, and clients compare them with Kannel's, so this is
the same arithmetic, on an injected clock:

* each window (60 s, 300 s) counts events in its current period; when a period has ended
  (noticed at the next event or read), the period's rate `count / window` is folded into the
  figure: the first one as is, later ones as `(2 × new + old) / 3`; the count restarts;
* until a window has completed its first period it shows `count / elapsed` (capped at
  `count`, as Kannel does, so a burst in the first second does not show as 1000/s);
* the since-start window never folds: `count / elapsed since start`.

A period with no events folds a zero only when something happens or someone reads, exactly
like Kannel, so an idle gateway's figure decays by a third per minute of reads.

Memory is O(number of windows), whatever the traffic; `add` is a few float operations, cheap
enough for every message.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from gateway.admin.control import Load


class SecondsClock(Protocol):
    """What the meter reads time from: a reactor, or task.Clock in tests."""

    def seconds(self) -> float: ...


#: Kannel's windows: 1 minute, 5 minutes, since start (None).
KANNEL_WINDOWS: tuple[int | None, ...] = (60, 300, None)


class _Window:
    __slots__ = ("count", "figure", "folded", "interval", "start")

    def __init__(self, interval: int | None, now: float) -> None:
        self.interval = interval
        self.start = now
        self.count = 0.0
        self.figure = 0.0
        self.folded = False


class LoadMeter:
    """Counts events and reports Kannel's rates (module docstring).

    `windows` are seconds, None meaning since start; Kannel's are `KANNEL_WINDOWS`, and a
    dashboard may add 900 for a 15-minute figure.
    """

    __slots__ = ("_clock", "_windows", "total")

    def __init__(
        self, clock: SecondsClock, windows: Sequence[int | None] = KANNEL_WINDOWS
    ) -> None:
        if any(interval is not None and interval <= 0 for interval in windows):
            raise ValueError(f"windows must be positive seconds or None: {windows!r}")
        now = clock.seconds()
        self._clock = clock
        self._windows = [_Window(interval, now) for interval in windows]
        #: Events counted since start (Kannel keeps this in a separate counter).
        self.total = 0

    def add(self, count: int = 1) -> None:
        """Count `count` events now (Kannel's load_increase_with)."""
        self._roll(self._clock.seconds())
        self.total += count
        for window in self._windows:
            window.count += count

    def rates(self) -> tuple[float, ...]:
        """The figures, one per window, in msg/sec (Kannel's load_get for each)."""
        now = self._clock.seconds()
        self._roll(now)
        figures = []
        for window in self._windows:
            if window.folded:
                figures.append(window.figure)
                continue
            elapsed = now - window.start
            rate = window.count / (elapsed if elapsed > 0 else 1.0)
            figures.append(min(rate, window.count))
        return tuple(figures)

    def load(self) -> Load:
        """The first three figures as the status page's `Load` (Kannel's windows)."""
        first, second, third = self.rates()[:3]
        return (first, second, third)

    def _roll(self, now: float) -> None:
        for window in self._windows:
            interval = window.interval
            if interval is None or now < window.start + interval:
                continue
            rate = window.count / interval
            window.figure = (2 * rate + window.figure) / 3 if window.figure > 0 else rate
            window.folded = True
            window.start = now
            window.count = 0.0
