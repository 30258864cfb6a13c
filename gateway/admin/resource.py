"""The admin port: Kannel's admin HTTP interface (gw/bb_http.c) over a `GatewayControl`.

What clients of Kannel rely on, and this keeps (REFERENCE §2.9, checked on bearerbox 1.4.5):

* any path: a `/cgi-bin/` anywhere is cut out once, else the leading `/`; what follows the
  first `.` picks the format (`txt`, `html`, `xml`, `wml`), else the `Accept` header does (a
  case-insensitive substring test, in the order wml > html > xml > text, q-values ignored);
* Content-Type: `text/html` and `text/vnd.wap.wml` for those formats, `text/plain` for text,
  and for XML whatever `Accept` chose (so `status.xml` from curl is `text/plain`, and only
  `Accept: text/xml` gives `text/xml`);
* always HTTP 200, `Denied`, unknown commands and all;
* passwords (`?password=`, from the URL only): status and store-status are open unless
  status-password is set, then either password; every other command needs admin-password;
  compared in constant time; consecutive failures are slowed down (backoff.PasswordBrake);
* after shutdown started, every command but status, store-status and shutdown answers
  `Avalanche has already started, too late to save the sheeps`;
* admin-deny-ip / admin-allow-ip: a denied client is disconnected without a reply.

Ours, beside Kannel's commands: `pages` are served as they are (checked first, with or
without `/cgi-bin`), `status_pages` only after the status password rule (through the same
brake, so they are no side door for guessing) — `/dashboard`, the live page for people, is
one of them by default.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable, Iterable, Mapping
from itertools import islice
from typing import Any
from urllib.parse import parse_qsl

from twisted.internet.defer import Deferred, maybeDeferred
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET, Request

from gateway.admin.backoff import PasswordBrake
from gateway.admin.control import GatewayControl, GatewayState
from gateway.admin.dashboard import DashboardPage
from gateway.admin.render import (
    SUFFIXES,
    Format,
    escape,
    render_status,
    render_store_status,
    render_unknown,
    version_report,
    wrap,
)
from gateway.config.model import CoreConfig
from gateway.sendsms.validate import is_allowed_ip

log = Logger(namespace="passerelle.admin")

AVALANCHE = "Avalanche has already started, too late to save the sheeps"
DENIED = "Denied"
#: Kannel's UUID_STR_LEN: remove-message ids are UUIDs in text form.
MESSAGE_ID_LENGTH = 36
#: store-status lists at most this many messages by default (`?limit=` may ask for fewer).
STORE_STATUS_LIMIT = 1000

#: Commands that read (open unless status-password is set) and that work while going down.
_STATUS_COMMANDS = frozenset({"status", "store-status"})
_ATOI = re.compile(rb"^[ \t\n\v\f\r]*([+-]?\d+)")

Params = dict[str, bytes]
Reply = str | Deferred[str]


def atoi(value: bytes) -> int:
    """C's atoi, as Kannel reads `level`: leading digits, else 0."""
    match = _ATOI.match(value)
    if match is None:
        return 0
    number = int(match.group(1))
    return max(-(2**31), min(2**31 - 1, number))


def choose_format(accept: Iterable[bytes]) -> tuple[Format, str]:
    """The format and Content-Type `Accept` asks for (http_type_accepted's substring test)."""
    values = [value.decode("latin-1").lower() for value in accept]
    for fmt in (Format.WML, Format.HTML, Format.XML):
        if any(fmt.value in value for value in values):
            return fmt, fmt.value
    return Format.TEXT, Format.TEXT.value


def parse_command(path: str) -> tuple[str, str | None]:
    """httpd_serve's URL handling: the command name and the suffix (None without a dot)."""
    position = path.find("/cgi-bin/")
    if position != -1:
        path = path[:position] + path[position + len("/cgi-bin/") :]
    elif path.startswith("/"):
        path = path[1:]
    name, dot, suffix = path.partition(".")
    return name, (suffix if dot else None)


class AdminResource(Resource):
    """Kannel's admin interface (module docstring).

    `control` is the gateway; `core` gives the passwords and IP lists; `clock` (the reactor,
    or task.Clock in tests) times the password brake. `pages` and `status_pages` map exact
    paths (`b"/status.json"`) to resources of ours; `/dashboard` is added to `status_pages`
    unless given. `store_status_limit` caps store-status; `gmt` gives its times in UTC.
    """

    isLeaf = True

    def __init__(
        self,
        control: GatewayControl,
        core: CoreConfig,
        clock: Any,
        pages: Mapping[bytes, Resource] | None = None,
        *,
        status_pages: Mapping[bytes, Resource] | None = None,
        store_status_limit: int = STORE_STATUS_LIMIT,
        gmt: bool = False,
        brake: PasswordBrake | None = None,
    ) -> None:
        super().__init__()
        self.control = control
        self.core = core
        self.clock = clock
        self.pages = dict(pages or {})
        self.status_pages: dict[bytes, Resource] = {b"/dashboard": DashboardPage()}
        self.status_pages.update(status_pages or {})
        self.store_status_limit = store_status_limit
        self.gmt = gmt
        self.brake = brake if brake is not None else PasswordBrake(clock)
        self._versions: dict[str, str] = {}
        self._commands: dict[str, Callable[[Params, Format], Reply]] = {
            "status": self._status,
            "store-status": self._store_status,
            "log-level": self._log_level,
            "shutdown": self._shutdown,
            "suspend": self._suspend,
            "isolate": self._isolate,
            "resume": self._resume,
            "restart": self._restart,
            "graceful-restart": self._graceful_restart,
            "flush-dlr": self._flush_dlr,
            "stop-smsc": self._stop_smsc,
            "start-smsc": self._start_smsc,
            "add-smsc": self._add_smsc,
            "remove-smsc": self._remove_smsc,
            "reload-lists": self._reload_lists,
            "remove-message": self._remove_message,
        }

    # -- HTTP ------------------------------------------------------------------------------

    def render(self, request: Request) -> bytes | int:
        address = request.getClientAddress()
        ip = getattr(address, "host", "")
        if not is_allowed_ip(self.core.admin_allow_ip, self.core.admin_deny_ip, ip):
            log.info("HTTP admin tried from denied host <{ip}>, disconnected", ip=ip)
            request.channel.transport.loseConnection()  # type: ignore[union-attr]
            return NOT_DONE_YET
        path = request.path
        params = self._params(request)
        for candidate in (path, path.removeprefix(b"/cgi-bin")):
            page = self.pages.get(candidate)
            if page is not None:
                return page.render(request)
            page = self.status_pages.get(candidate)
            if page is not None:
                return self._guarded_page(request, page, params)
        return self._command(request, path.decode("latin-1"), params)

    @staticmethod
    def _params(request: Request) -> Params:
        """CGI variables from the URL only (Kannel ignores a body); the first of a name."""
        _, _, query = request.uri.partition(b"?")
        params: Params = {}
        for key, value in parse_qsl(query, keep_blank_values=True):
            params.setdefault(key.decode("latin-1"), value)
        return params

    def _command(self, request: Request, path: str, params: Params) -> int:
        accept = request.requestHeaders.getRawHeaders(b"accept") or []
        fmt, content_type = choose_format(accept)
        name, suffix = parse_command(path)
        if suffix is not None and suffix in SUFFIXES:
            fmt = SUFFIXES[suffix]
        if fmt is not Format.XML:
            content_type = fmt.value

        finished = False

        def gone(_: object) -> None:
            nonlocal finished
            finished = True

        def respond(text: str) -> None:
            nonlocal finished
            if finished:
                return
            finished = True
            request.setResponseCode(200)
            request.setHeader(b"Content-Type", content_type.encode("ascii"))
            request.write(wrap(text, fmt).encode("utf-8", "replace"))
            request.finish()

        def failed(failure: Failure) -> None:
            log.failure("admin command {name} failed", failure, name=name)
            respond(f"Command {name} failed, see the log file")

        handler = self._commands.get(name)
        if handler is None:
            respond(render_unknown(path, fmt))
            return NOT_DONE_YET

        def run() -> None:
            if finished:
                return
            if name not in _STATUS_COMMANDS and name != "shutdown":
                if self.control.state() is GatewayState.SHUTDOWN:
                    respond(AVALANCHE)
                    return
            result: Deferred[str] = maybeDeferred(handler, params, fmt)
            result.addCallbacks(respond, failed)

        request.notifyFinish().addBoth(gone)
        status_kind = name in _STATUS_COMMANDS
        if status_kind and self.core.status_password is None:
            run()
        else:
            withdraw = self.brake.submit(
                lambda: self._password_ok(params, status_kind), run, lambda: respond(DENIED)
            )
            request.notifyFinish().addErrback(lambda _: withdraw())
        return NOT_DONE_YET

    def _guarded_page(self, request: Request, page: Resource, params: Params) -> bytes | int:
        """One of our pages under Kannel's status password rule."""
        if self.core.status_password is None:
            return page.render(request)
        done = False

        def gone(_: object) -> None:
            nonlocal done
            done = True

        def allowed() -> None:
            if done:
                return
            body = page.render(request)
            if isinstance(body, bytes):
                request.write(body)
                request.finish()

        def denied() -> None:
            if done:
                return
            request.setHeader(b"Content-Type", b"text/plain")
            request.write(DENIED.encode())
            request.finish()

        request.notifyFinish().addBoth(gone)
        withdraw = self.brake.submit(lambda: self._password_ok(params, True), allowed, denied)
        request.notifyFinish().addErrback(lambda _: withdraw())
        return NOT_DONE_YET

    def _password_ok(self, params: Params, status: bool) -> bool:
        """httpd_check_authorization, in constant time (both secrets are always compared)."""
        given = params.get("password")
        if given is None:
            return False
        ok = hmac.compare_digest(given, self.core.admin_password.encode("utf-8"))
        if status and self.core.status_password is not None:
            ok = hmac.compare_digest(given, self.core.status_password.encode("utf-8")) or ok
        return ok

    # -- the commands ---------------------------------------------------------------------

    def _version_text(self, version: str) -> str:
        text = self._versions.get(version)
        if text is None:
            text = self._versions[version] = version_report(version)
        return text

    def _status(self, params: Params, fmt: Format) -> str:
        status = self.control.status()
        return render_status(status, fmt, self._version_text(status.version))

    def _store_status(self, params: Params, fmt: Format) -> str:
        limit = self.store_status_limit
        if "limit" in params:
            limit = max(0, min(limit, atoi(params["limit"])))
        messages = islice(self.control.stored_messages(limit), limit)
        return render_store_status(messages, fmt, gmt=self.gmt)

    def _log_level(self, params: Params, fmt: Format) -> str:
        level = params.get("level")
        if level is None:
            return "New level not given"
        number = atoi(level)
        self.control.set_log_level(number)
        return f"log-level set to {number}"

    def _shutdown(self, params: Params, fmt: Format) -> str:
        self.control.shutdown()
        return "Bringing system down"

    def _suspend(self, params: Params, fmt: Format) -> str:
        return "Kannel suspended" if self.control.suspend() else "Already suspended"

    def _isolate(self, params: Params, fmt: Format) -> str:
        if self.control.isolate():
            return "Kannel isolated from message providers"
        return "Already isolated"

    def _resume(self, params: Params, fmt: Format) -> str:
        return "Running resumed" if self.control.resume() else "Already running"

    def _restart(self, params: Params, fmt: Format) -> str:
        self.control.restart()
        return "Restarting....."

    def _graceful_restart(self, params: Params, fmt: Format) -> Deferred[str]:
        result: Deferred[bool] = maybeDeferred(self.control.graceful_restart)
        return result.addCallback(
            lambda ok: "Restarting gracefully....."
            if ok else "Unable to restart gracefully! Please check log file."
        )

    def _flush_dlr(self, params: Params, fmt: Format) -> Reply:
        if self.control.state() is not GatewayState.SUSPENDED:
            return "Suspend Kannel before trying to flush DLR queue"
        result = self.control.flush_dlr()
        return result.addCallback(lambda flushed: "DLR queue flushed")

    def _smsc(
        self, params: Params, fmt: Format, action: Callable[[str], bool], done: str, fail: str
    ) -> str:
        value = params.get("smsc")
        if value is None:
            return "SMSC id not given"
        admin_id = value.decode("utf-8", "replace")
        shown = escape(admin_id, fmt)
        return (done if action(admin_id) else fail).format(shown)

    def _stop_smsc(self, params: Params, fmt: Format) -> str:
        return self._smsc(params, fmt, self.control.stop_smsc,
                          "SMSC `{}' shut down", "Could not shut down smsc-id `{}'")

    def _start_smsc(self, params: Params, fmt: Format) -> str:
        return self._smsc(params, fmt, self.control.start_smsc,
                          "SMSC `{}' re-started", "Could not re-start smsc-id `{}'")

    def _add_smsc(self, params: Params, fmt: Format) -> str:
        return self._smsc(params, fmt, self.control.add_smsc,
                          "SMSC `{}' added", "Could not add smsc-id `{}'")

    def _remove_smsc(self, params: Params, fmt: Format) -> str:
        return self._smsc(params, fmt, self.control.remove_smsc,
                          "SMSC `{}' removed", "Could not remove smsc-id `{}'")

    def _reload_lists(self, params: Params, fmt: Format) -> Deferred[str]:
        return self.control.reload_lists().addCallback(
            lambda ok: "Black/white lists re-loaded" if ok else "Could not re-load lists"
        )

    def _remove_message(self, params: Params, fmt: Format) -> str:
        value = params.get("id")
        if value is None:
            return "Message id not given"
        if len(value) != MESSAGE_ID_LENGTH:
            return f"Message id should be {MESSAGE_ID_LENGTH} characters long"
        message_id = value.decode("latin-1")
        shown = escape(message_id, fmt)
        if self.control.remove_message(message_id):
            return f"Message id `{shown}' removed"
        return f"Could not remove message id `{shown}'"
