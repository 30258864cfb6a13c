"""Waiting for a condition on the real reactor: the one helper the in-process tests share.

Tests that run real sockets cannot advance a `Clock`; they poll a condition every 10 ms of
real time and fail with a clear message when it does not hold in time. The returned
Deferred works with `yield` (inlineCallbacks) and `await` (ensureDeferred) alike.
"""

from __future__ import annotations

from collections.abc import Callable

from twisted.internet import defer, reactor, task

STEP = 0.01


def until(condition: Callable[[], object], timeout: float = 10.0) -> defer.Deferred[None]:
    """Fires once `condition()` is true; fails with AssertionError after `timeout` seconds."""

    async def poll() -> None:
        waited = 0.0
        while not condition():
            if waited > timeout:
                raise AssertionError(f"condition not met within {timeout} s")
            await task.deferLater(reactor, STEP, lambda: None)
            waited += STEP

    return defer.ensureDeferred(poll())
