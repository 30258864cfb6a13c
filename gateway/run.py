"""`passerelle run`: the gateway in the foreground, until Ctrl-C.

The configuration is loaded and validated first; an invalid one prints every problem and
exits 1 before anything listens. Then the service starts on the global reactor, the URLs to
try are printed (the curl line and the status page), and SIGINT/SIGTERM stop it cleanly:
the service's handler stops the reactor, whose "before shutdown" trigger waits for
`GatewayService.stopService` (the drain: submits on the wire answered, links unbound), then
the process exits 0. SIGHUP reopens the logs and reloads the configuration file.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlencode

from gateway.config import GatewayConfig


def _host(interface: str | None) -> str:
    """Where a client on this machine reaches a listener bound to `interface`."""
    if not interface or interface in ("0.0.0.0", "::"):
        return "127.0.0.1"
    return interface


def try_lines(config: GatewayConfig, sendsms_port: int | None, admin_port: int | None,
              embedded: bool) -> list[str]:
    """What `run` prints once it listens: the URLs and, when it can, a curl line to try.

    The curl line carries the first sendsms-user's password only for the embedded default
    configuration (whose password is public anyway); for a real kannel.conf it shows
    placeholders rather than echo a secret to the terminal.
    """
    lines: list[str] = []
    smsbox = config.smsbox
    if sendsms_port is not None and smsbox is not None:
        base = f"http://{_host(smsbox.sendsms_interface)}:{sendsms_port}{smsbox.sendsms_url}"
        lines.append(f"sendsms: {base}")
        user = config.users[0] if config.users else None
        if user is not None:
            query = urlencode(
                {
                    "username": user.username,
                    "password": user.password if embedded else "PASSWORD",
                    "from": "12345",
                    "to": "4670000001",
                    "text": "Hello from Passerelle",
                }
            )
            lines.append(f"try:     curl '{base}?{query}'")
    if admin_port is not None:
        core = config.core
        base = f"http://{_host(core.admin_interface)}:{admin_port}"
        # Status pages need a password only when status-password is set.
        if core.status_password is None:
            query = ""
        else:
            query = "?" + urlencode(
                {"password": core.status_password if embedded else "PASSWORD"}
            )
        lines.append(f"status:  {base}/dashboard{query} (the live status page)")
        lines.append(f"admin:   {base}/status{query} (Kannel's status page and admin commands)")
    if config.passerelle.simulator_port:
        lines.append(
            f"smsc:    built-in simulator on 127.0.0.1:{config.passerelle.simulator_port}"
        )
    lines.append(
        "Ctrl-C or SIGTERM stops (the submits on the wire are answered and the SMPP links "
        "unbind first); SIGHUP reloads the configuration file."
    )
    return lines


def _port(listening: Any) -> int | None:
    """The port number a `ListeningService` got, None if it is not listening."""
    if listening is None or listening.port is None:
        return None
    return int(listening.port.getHost().port)


def run(path: str | None, *, reactor: Any = None, out: TextIO | None = None) -> int:
    """Run the gateway from `path` (default: the embedded configuration) until stopped.

    Returns the exit status: 0 after a clean stop, 1 for an invalid configuration, a port
    that cannot be opened, or a spool that cannot be opened (held by another gateway, ...).
    """
    from gateway.config import ConfigError, default_config_path, load_config

    out = out if out is not None else sys.stdout
    embedded = path is None
    source: str | Path = default_config_path() if path is None else path
    try:
        config = load_config(source)
    except ConfigError as exc:
        print(exc.render_all(), file=sys.stderr)
        return 1
    for warning in config.warnings:
        print(f"warning: {warning}", file=sys.stderr)

    if reactor is None:
        from twisted.internet import reactor as default_reactor

        reactor = default_reactor
    from twisted.internet.error import CannotListenError
    from twisted.logger import (
        FilteringLogObserver,
        LogLevel,
        LogLevelFilterPredicate,
        globalLogBeginner,
        textFileLogObserver,
    )

    from gateway.service import GatewayService

    level = LogLevelFilterPredicate(defaultLogLevel=LogLevel.info)
    globalLogBeginner.beginLoggingTo(
        [FilteringLogObserver(textFileLogObserver(sys.stderr), [level])],
        redirectStandardIO=False,
    )
    service = GatewayService(config, reactor, signals=True)
    status = {"code": 0}

    def start() -> None:
        # Registered first: a start that fails half-way still closes what it opened.
        reactor.addSystemEventTrigger("before", "shutdown", service.stopService)
        try:
            service.startService()
        except CannotListenError as exc:
            print(f"passerelle run: cannot listen: {exc}", file=sys.stderr)
            status["code"] = 1
            reactor.stop()
            return
        print(f"Passerelle is running with {source}", file=out)
        for line in try_lines(config, _port(service.sendsms), _port(service.admin), embedded):
            print(line, file=out)
        out.flush()

    reactor.callWhenRunning(start)
    reactor.run()
    if service.fatal is not None:
        print(f"passerelle run: {service.fatal.getErrorMessage()}", file=sys.stderr)
        return 1
    return status["code"]
