"""smsbox's access log: one line per accepted receiver, one per refused request.

The lines are Kannel 1.4.5's (REFERENCE §2.10, obs. on the running smsbox), because
operators grep and bill from them:

    2026-11-21 09:42:56 Log begins
    2026-11-21 09:42:57 send-SMS request added - sender:tester:12345 127.0.0.1 \
        target:4670000001 request: 'Hello world'
    2026-11-21 09:43:19 send-SMS request added - sender:tester:1 127.0.0.1 \
        target:4670000010 request: '<< UDH >>'
    2026-11-21 09:43:08 send-SMS request failed - Sender missing and no global set, rejected

(each `added` line is one line in the file; it is folded here).

* `sender:<username>:<sender>` is the sendsms-user's *username* and the sender actually used
  (faked-sender, from, default-sender or global-sender); the client address follows.
* `request:` holds the request's text octets as received (before any charset conversion;
  a Latin-1 é is one octet 0xE9 in the file), or `<< UDH >>` whenever the request carried a
  `udh`, even an empty one.
* `failed` lines exist only for the refusals smsbox logs: field checks after
  authentication (not bad credentials, not a missing receiver, not a bad content type).
* Time stamps are local time unless smsbox `access-log-time = gmt`.

Passwords never reach this file: no line has a place for one, and nothing else is written.
One deliberate difference: a CR or LF inside the text is written as `\\r` / `\\n`, so a
client cannot forge log lines (Kannel writes them raw).

This is a plain append-only file, flushed after every line as Kannel does; `reopen` is for
the SIGHUP of logrotate users. Size-capped rotation is to come (one mechanism for every log).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from gateway.sendsms.validate import ValidRequest

#: What stands for the text of a request that carried a UDH.
UDH_PLACEHOLDER = b"<< UDH >>"


def _escape(text: bytes) -> bytes:
    return text.replace(b"\r", b"\\r").replace(b"\n", b"\\n")


class AccessLog:
    """Writes smsbox access-log lines to `path` (created if missing, appended to).

    `clock` gives the unix time of each line; `gmt` selects UTC time stamps
    (`access-log-time = gmt`) instead of local time.
    """

    def __init__(
        self,
        path: str,
        *,
        gmt: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = path
        self._convert = time.gmtime if gmt else time.localtime
        self._clock = clock
        self._file: BinaryIO | None = None
        self.open()

    def open(self) -> None:
        """Open (or create) the file and write Kannel's `Log begins` line."""
        if self._file is None:
            directory = os.path.dirname(self.path)
            if directory:
                os.makedirs(directory, exist_ok=True)
            self._file = open(self.path, "ab")  # noqa: SIM115 - kept open for the log's life
            self._write(b"Log begins")

    def reopen(self) -> None:
        """Close and open again (after logrotate moved the file away)."""
        self.close()
        self.open()

    def close(self) -> None:
        """Close the file; later lines are dropped until `open`."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def _stamp(self) -> bytes:
        return time.strftime("%Y-%m-%d %H:%M:%S", self._convert(self._clock())).encode("ascii")

    def _write(self, message: bytes) -> None:
        if self._file is None:
            return
        self._file.write(self._stamp() + b" " + message + b"\n")
        self._file.flush()

    def added(self, valid: ValidRequest, receivers: tuple[str, ...] | None = None) -> None:
        """`send-SMS request added` for each receiver of an accepted request."""
        text = UDH_PLACEHOLDER if valid.udh is not None else _escape(valid.text)
        head = (
            f"send-SMS request added - sender:{valid.user.username}:{valid.sender} "
            f"{valid.client_ip} target:"
        ).encode("utf-8", "replace")
        for receiver in valid.receivers if receivers is None else receivers:
            self._write(head + receiver.encode("utf-8", "replace") + b" request: '" + text + b"'")

    def failed(self, reason: str) -> None:
        """`send-SMS request failed - <reason>` for a refusal smsbox logs."""
        self._write(b"send-SMS request failed - " + reason.encode("utf-8", "replace"))


class NoAccessLog:
    """What the resource writes to when smsbox has no `access-log`: nothing."""

    path = None

    def added(self, valid: ValidRequest, receivers: tuple[str, ...] | None = None) -> None:
        """Nothing to write."""

    def failed(self, reason: str) -> None:
        """Nothing to write."""

    def reopen(self) -> None:
        """Nothing to reopen."""

    def close(self) -> None:
        """Nothing to close."""


def access_log_for(path: str | None, *, gmt: bool = False) -> AccessLog | NoAccessLog:
    """The access log smsbox's `access-log` / `access-log-time` ask for."""
    return NoAccessLog() if not path else AccessLog(path, gmt=gmt)
