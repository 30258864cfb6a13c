"""Kannel's log lines from twisted.logger events, filtered by Kannel's `log-level`.

Operators grep bearerbox logs with patterns written for Kannel (gwlib/log.c `format`):

    2026-11-21 20:53:48 [19778] [0] INFO: Added logfile `/tmp/kannel.log' with level `0'.

time stamp (local time, as Debian's Kannel build writes it; `gmt=True` for UTC), `[pid]`,
`[thread]` (0 is the main thread, as in Kannel), then `DEBUG:`, `INFO:`, `WARNING:`, `ERROR:` or
`PANIC:`. Levels are Kannel's numbers: 0 debug … 4 panic; `log-level = 1` writes INFO and up.

Every line goes through `redact` (no password reaches a file) and a message with line breaks
is written as several lines with the same prefix (a traceback stays readable and a client-
supplied CR/LF cannot forge a line). Events below the level cost one comparison.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from twisted.logger import ILogObserver, LogLevel, formatEvent
from zope.interface import implementer

from gateway.logs.redact import redact

#: Kannel's level names, by number (gwlib/log.c); anything else is `UNKNOWN`.
KANNEL_LEVELS: tuple[str, ...] = ("DEBUG", "INFO", "WARNING", "ERROR", "PANIC")

_FROM_TWISTED: dict[LogLevel, int] = {
    LogLevel.debug: 0,
    LogLevel.info: 1,
    LogLevel.warn: 2,
    LogLevel.error: 3,
    LogLevel.critical: 4,
}


def kannel_level(level: LogLevel | None) -> int:
    """Kannel's number for a twisted.logger level (an event without one counts as info)."""
    return _FROM_TWISTED.get(level, 1) if level is not None else 1


class LineWriter(Protocol):
    """Where lines go: a `RotatingFile`, or anything with the same `write`."""

    def write(self, line: bytes, /) -> Any: ...


@implementer(ILogObserver)
class KannelLogObserver:
    """Writes events at or above `level` to `out` as Kannel lines (module docstring)."""

    def __init__(
        self,
        out: LineWriter,
        level: int = 0,
        *,
        clock: Callable[[], float] = time.time,
        gmt: bool = False,
        pid: int | None = None,
    ) -> None:
        self.out = out
        self.level = level
        self._clock = clock
        self._convert = time.gmtime if gmt else time.localtime
        self._pid = os.getpid() if pid is None else pid
        self._main = threading.main_thread().ident

    def set_level(self, level: int) -> None:
        """The admin `log-level` command: Kannel takes any integer (below 0 logs all)."""
        self.level = level

    def __call__(self, event: dict[str, Any]) -> None:
        number = kannel_level(event.get("log_level"))
        if number < self.level:
            return
        try:
            text = self._text(event)
        except Exception as error:  # noqa: BLE001 - a bad format string must not kill logging
            text = f"unformattable log event {event.get('log_format')!r}: {error!r}"
        self.out.write(self.format_lines(number, text, event.get("log_time")))

    def format_lines(self, level: int, text: str, when: float | None = None) -> bytes:
        """`text` as Kannel lines at `level` (`when` defaults to now), redacted."""
        stamp = time.strftime(
            "%Y-%m-%d %H:%M:%S", self._convert(self._clock() if when is None else when)
        )
        thread = 0 if threading.get_ident() == self._main else threading.get_native_id()
        name = KANNEL_LEVELS[level] if 0 <= level < len(KANNEL_LEVELS) else "UNKNOWN"
        prefix = f"{stamp} [{self._pid}] [{thread}] {name}: "
        lines = redact(text).splitlines() or [""]
        return "".join(prefix + line + "\n" for line in lines).encode("utf-8", "replace")

    @staticmethod
    def _text(event: dict[str, Any]) -> str:
        text = formatEvent(event)
        failure = event.get("log_failure")
        if failure is not None:
            text = f"{text}\n{failure.getTraceback()}"
        return text
