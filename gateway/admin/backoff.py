"""Kannel's brute-force brake for admin passwords, without blocking the reactor.

Kannel (gw/bb_http.c httpd_check_authorization) sleeps before answering `Denied`: 0 s after the
first wrong password, then 1 s, 2 s … one more per consecutive failure, back to 0 after a right
one. Its admin port has a single thread, so that sleep also holds back every request behind
it, which is what actually slows a guesser down.

Here nothing sleeps: password checks are served one at a time from a bounded FIFO on the
injected clock. After a failure with delay d, its `Denied` is sent d seconds later and no
other password is looked at before then, so parallel guesses gain nothing (a right guess is
not answered early either). Two bounds Kannel lacks: the delay stops growing at `max_delay`
(an attacker cannot lock the operator out for hours), and at most `max_waiting` checks wait
(beyond that `Denied` at once, without looking at the password).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from twisted.internet.interfaces import IDelayedCall


class _Waiting:
    __slots__ = ("allowed", "check", "denied", "gone")

    def __init__(
        self,
        check: Callable[[], bool],
        allowed: Callable[[], None],
        denied: Callable[[], None],
    ) -> None:
        self.check = check
        self.allowed = allowed
        self.denied = denied
        self.gone = False


class PasswordBrake:
    """Serialises password checks and delays failures (module docstring)."""

    def __init__(self, clock: Any, *, max_delay: float = 60.0, max_waiting: int = 64) -> None:
        self.clock = clock
        self.max_delay = max_delay
        self.max_waiting = max_waiting
        #: Seconds the next failure waits (0, 1, 2 …).
        self.penalty = 0.0
        #: Failures in a row; what a log line or an alert may report.
        self.failures = 0
        self._ready_at = 0.0
        self._waiting: deque[_Waiting] = deque()
        self._call: IDelayedCall | None = None

    def submit(
        self,
        check: Callable[[], bool],
        allowed: Callable[[], None],
        denied: Callable[[], None],
    ) -> Callable[[], None]:
        """Run `check` when its turn comes, then `allowed()` at once or `denied()` after the
        penalty. Returns a function that withdraws the request (client went away)."""
        entry = _Waiting(check, allowed, denied)
        if len(self._waiting) >= self.max_waiting:
            denied()
            return lambda: None
        self._waiting.append(entry)
        self._drain()

        def withdraw() -> None:
            entry.gone = True

        return withdraw

    @property
    def waiting(self) -> int:
        """Checks waiting for their turn."""
        return len(self._waiting)

    def _drain(self) -> None:
        while self._waiting:
            now = self.clock.seconds()
            if now < self._ready_at:
                if self._call is None or not self._call.active():
                    self._call = self.clock.callLater(self._ready_at - now, self._drain)
                return
            entry = self._waiting.popleft()
            if entry.gone:
                continue
            if entry.check():
                self.penalty = 0.0
                self.failures = 0
                entry.allowed()
                continue
            delay = self.penalty
            self.failures += 1
            self.penalty = min(self.penalty + 1.0, self.max_delay)
            self._ready_at = now + delay
            if delay <= 0:
                entry.denied()
            else:
                self.clock.callLater(delay, self._deny, entry)

    @staticmethod
    def _deny(entry: _Waiting) -> None:
        if not entry.gone:
            entry.denied()
