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

The file is a `gateway.logs.RotatingFile` (one rotation mechanism for every log: rotated
by size, `log-max-bytes` × `log-max-files` of `group = passerelle`), every line one unbuffered
write as Kannel flushes every line, and passed through `redact_bytes`; `reopen` is for the
SIGHUP of logrotate users.

`BearerboxAccessLog` writes what bearerbox writes to core `access-log` (gw/bb_alog.c, the
default format `%t %l [SMSC:%i] [SVC:%n] [ACT:%A] [BINF:%B] [FID:%F] [META:%D] [from:%p]
[to:%P] [flags:%m:%c:%M:%C:%d] [msg:%L:%b] [udh:%U:%u]`): `Sent SMS`, `FAILED Send SMS`,
`Receive SMS`, `Receive DLR`. Text is written as Kannel does: 8-bit and UCS-2 bodies in
upper-case hex, others with unprintable octets as `.`; the UDH in hex.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gateway.logs.redact import redact_bytes
from gateway.logs.rotate import DEFAULT_MAX_BYTES, DEFAULT_MAX_FILES, RotatingFile

if TYPE_CHECKING:
    from gateway.message import Message
    from gateway.sendsms.validate import ValidRequest

#: What stands for the text of a request that carried a UDH.
UDH_PLACEHOLDER = b"<< UDH >>"


def _escape(text: bytes) -> bytes:
    return text.replace(b"\r", b"\\r").replace(b"\n", b"\\n")


class _LogFile:
    """A capped, redacted access-log file with Kannel's time stamps and `Log begins`."""

    def __init__(
        self,
        path: str,
        *,
        gmt: bool = False,
        clock: Callable[[], float] = time.time,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_files: int = DEFAULT_MAX_FILES,
    ) -> None:
        self.path = path
        self._convert = time.gmtime if gmt else time.localtime
        self._clock = clock
        self._file: RotatingFile | None = None
        self.max_bytes = max_bytes
        self.max_files = max_files
        self.open()

    def open(self) -> None:
        """Open (or create) the file and write Kannel's `Log begins` line."""
        if self._file is None:
            self._file = RotatingFile(
                self.path, max_bytes=self.max_bytes, max_files=self.max_files
            )
            self._write(b"Log begins")

    def reopen(self) -> None:
        """Close and open again (after logrotate moved the file away)."""
        if self._file is None:
            self.open()
            return
        self._file.reopen()
        self._write(b"Log begins")

    def close(self) -> None:
        """Close the file; later lines are dropped until `open`."""
        if self._file is not None:
            self._file.close()
            self._file = None

    @property
    def file(self) -> RotatingFile | None:
        """The rotating file (its `dropped` count is what to alert on)."""
        return self._file

    def _stamp(self) -> bytes:
        return time.strftime("%Y-%m-%d %H:%M:%S", self._convert(self._clock())).encode("ascii")

    def _write(self, message: bytes) -> None:
        if self._file is None:
            return
        self._file.write(redact_bytes(self._stamp() + b" " + message + b"\n"))


class AccessLog(_LogFile):
    """Writes smsbox access-log lines to `path` (created if missing, appended to).

    `clock` gives the unix time of each line; `gmt` selects UTC time stamps
    (`access-log-time = gmt`) instead of local time; `max_bytes` / `max_files` cap the file.
    """

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


def access_log_for(
    path: str | None, *, gmt: bool = False, limits: Any = None
) -> AccessLog | NoAccessLog:
    """The access log smsbox's `access-log` / `access-log-time` ask for; `limits` is
    `group = passerelle` (`log-max-bytes`, `log-max-files`)."""
    if not path:
        return NoAccessLog()
    return AccessLog(path, gmt=gmt, **_caps(limits))


def _caps(limits: Any) -> dict[str, int]:
    if limits is None:
        return {}
    return {"max_bytes": limits.log_max_bytes, "max_files": limits.log_max_files}


def _printable(data: bytes) -> bytes:
    """Kannel's octstr_convert_printable: anything not printable ASCII becomes `.`."""
    return bytes(b if 32 <= b < 127 else 46 for b in data)


class BearerboxAccessLog(_LogFile):
    """bearerbox's access log (core `access-log`): one line per message it sends, fails or
    receives, in Kannel's default format (module docstring)."""

    def sms(self, event: str, message: Message, smsc_id: str, foreign_id: str) -> None:
        """`Sent SMS`, `FAILED Send SMS` for an MT."""
        if message.coding in (1, 2):
            text = message.payload.hex().upper().encode("ascii")
        else:
            text = _printable(message.payload)
        head = (
            f"{event} [SMSC:{smsc_id}] [SVC:{message.username}] [ACT:{message.account}] "
            f"[BINF:{message.binfo}] [FID:{foreign_id}] [META:{message.meta_data}] "
            f"[from:{message.sender}] [to:{message.receiver}] "
            f"[flags:{message.mclass}:{message.coding}:{message.mwi}:{message.compress}:"
            f"{message.dlr_mask}] [msg:{len(message.payload)}:"
        ).encode("utf-8", "replace")
        udh = f"] [udh:{len(message.udh)}:{message.udh.hex().upper()}]".encode("ascii")
        self._write(head + text + udh)

    def pdu(self, event: str, smsc_id: str, pdu: Any) -> None:
        """`Receive SMS`, `Receive DLR` for a deliver_sm / data_sm."""
        params = pdu.params

        def text(name: str) -> str:
            value = params.get(name, b"")
            return value.decode("latin-1") if isinstance(value, bytes) else str(value)

        body = params.get("short_message", b"") or b""
        if not isinstance(body, bytes):
            body = b""
        coding = int(params.get("data_coding", 0) or 0)
        shown = body.hex().upper().encode("ascii") if coding in (4, 8) else _printable(body)
        head = (
            f"{event} [SMSC:{smsc_id}] [SVC:] [ACT:] [BINF:] [FID:] [META:] "
            f"[from:{text('source_addr')}] [to:{text('destination_addr')}] "
            f"[flags:-1:{coding}:-1:-1:-1] [msg:{len(body)}:"
        ).encode("utf-8", "replace")
        self._write(head + shown + b"] [udh:0:]")


def bearerbox_access_log_for(
    path: str | None, limits: Any = None, *, gmt: bool = False
) -> BearerboxAccessLog | None:
    """bearerbox's access log when core `access-log` names one, None otherwise."""
    if not path:
        return None
    return BearerboxAccessLog(path, gmt=gmt, **_caps(limits))
