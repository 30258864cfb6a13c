"""A whole deployment on loopback, as real processes: what end-to-end tests and benchmarks of
delivery reports share.

* `CallbackServer`: the client's dlr-url endpoint, a threaded HTTP server in this process
  that records every request (line, headers, arrival time) and can go down and come back on
  the same port (a client application restarting);
* `RedisServer`: a private `redis-server` on a free port, with or without an append-only
  file, stopped and started again by PID;
* `Deployment`: the SMSC simulator (`python -m gateway smsc-sim`, JSON-lines PDU log) and
  the gateway (`python -m gateway run --config kannel.conf`) with its spool in a directory,
  killed with SIGKILL or stopped with SIGINT and started again.

Everything listens on 127.0.0.1 and every process is stopped by its PID.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench.load import accepts, free_port

ROOT = Path(__file__).resolve().parent.parent

__all__ = ["accepts", "free_port", "free_ports", "wait_for", "stop_by_pid", "redis_groups",
           "CallbackServer", "RedisServer", "Deployment"]


def free_ports(count: int) -> list[int]:
    """`count` distinct loopback ports nobody listens on right now (all held open at once
    while choosing, so the kernel cannot hand the same one out twice)."""
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in probes]
    finally:
        for probe in probes:
            probe.close()


def wait_for(what: str, check: Callable[[], Any], timeout: float = 30.0,
             processes: tuple[subprocess.Popen[Any] | None, ...] = ()) -> Any:
    """Poll `check` until it returns something true; AssertionError on timeout, or when one of
    `processes` exits meanwhile."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        for process in processes:
            if process is not None and process.poll() is not None:
                raise AssertionError(f"{process.args!r} exited ({process.returncode}) while "
                                     f"waiting for {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def stop_by_pid(process: subprocess.Popen[Any] | None, sig: int = signal.SIGTERM,
                timeout: float = 20.0) -> int | None:
    """Send `sig` to a process we started; SIGKILL it if it has not exited in `timeout`."""
    if process is None:
        return None
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)
    return process.returncode


@dataclass(frozen=True)
class Call:
    """One request the callback server received."""

    line: str
    path: str
    headers: list[tuple[str, str]]
    at: float

    @property
    def query(self) -> dict[str, str]:
        """The query, decoded once (as an application would read it)."""
        return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query,
                                           keep_blank_values=True))

    @property
    def raw_query(self) -> list[tuple[str, str]]:
        """The query's pairs exactly as they came on the wire (no decoding)."""
        query = urllib.parse.urlsplit(self.path).query
        return [tuple(pair.split("=", 1)) if "=" in pair else (pair, "")  # type: ignore[misc]
                for pair in query.split("&")]


class CallbackServer:
    """A dlr-url endpoint recording every request; `stop()` closes the port (callbacks then
    fail to connect) and `start()` opens the same port again."""

    def __init__(self, port: int = 0, status: int = 200, body: bytes = b"",
                 content_type: str = "text/plain") -> None:
        self.calls: list[Call] = []
        self.status = status
        #: What every request is answered with (an sms-service's reply text).
        self.body = body
        self.content_type = content_type
        self._changed = threading.Condition()
        self._server: ThreadingHTTPServer | None = None
        self.port = port
        self.start()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        owner = self

        class Endpoint(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _record(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                call = Call(self.requestline, self.path, list(self.headers.items()),
                            time.time())
                with owner._changed:
                    owner.calls.append(call)
                    owner._changed.notify_all()
                self.send_response(owner.status)
                self.send_header("Content-Type", owner.content_type)
                self.send_header("Content-Length", str(len(owner.body)))
                self.end_headers()
                self.wfile.write(owner.body)

            do_GET = _record  # noqa: N815 - http.server's names
            do_POST = _record  # noqa: N815

            def log_message(self, format: str, *args: Any) -> None:
                return None

        return Endpoint

    def start(self) -> None:
        server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        server.daemon_threads = True
        self.port = int(server.server_address[1])
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    def url(self, tag: str, query: str = "d=%d") -> str:
        return f"http://127.0.0.1:{self.port}/dlr/{tag}?{query}"

    def of(self, tag: str) -> list[Call]:
        with self._changed:
            return [c for c in self.calls if urllib.parse.urlsplit(c.path).path == f"/dlr/{tag}"]

    def wait(self, tag: str, count: int, timeout: float = 20.0) -> list[Call]:
        """The calls for `tag` once there are `count` (or all there are at the timeout)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.of(tag)) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(min(left, 0.5))
            return self.of(tag)


class RedisServer:
    """A private redis-server on 127.0.0.1 (no RDB snapshots; an append-only file fsync'd on
    every write when `durable`, so a restart keeps what was written)."""

    def __init__(self, workdir: Path, durable: bool = True) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise FileNotFoundError("redis-server is not installed (.ci/run installs it)")
        self.binary = binary
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.durable = durable
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        argv = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", str(self.workdir), "--save", "", "--protected-mode", "no"]
        if self.durable:
            argv += ["--appendonly", "yes", "--appendfsync", "always"]
        else:
            argv += ["--appendonly", "no"]
        with open(self.workdir / "redis.log", "ab") as log:
            self.process = subprocess.Popen(argv, stdout=log, stderr=log,
                                            stdin=subprocess.DEVNULL)
        wait_for("redis-server", lambda: accepts(self.port), processes=(self.process,))

    def stop(self) -> None:
        stop_by_pid(self.process, signal.SIGTERM)
        self.process = None


KANNEL_CONF = """\
group = core
admin-port = {admin_port}
admin-interface = 127.0.0.1
admin-password = bar
log-level = 0
dlr-storage = {dlr_storage}
{core}

group = smsc
smsc = smpp
smsc-id = sim
host = 127.0.0.1
port = {smsc_port}
transceiver-mode = true
smsc-username = kannel
smsc-password = secret
system-type = ""
address-range = ""
reconnect-delay = 1

group = smsbox
bearerbox-host = 127.0.0.1
sendsms-port = {sendsms_port}
sendsms-interface = 127.0.0.1
{smsbox}

group = sendsms-user
username = tester
password = foobar
max-messages = 5
concatenation = true

group = passerelle
spool-dir = {spool_dir}
{passerelle}
"""

_REDIS_GROUPS = """
group = dlr-db
id = dlr-redis
table = {table}
ttl = {ttl}
field-smsc = smsc
field-timestamp = ts
field-destination = destination
field-source = source
field-service = service
field-url = url
field-mask = mask
field-status = status
field-boxc-id = boxc

group = redis-connection
id = dlr-redis
host = 127.0.0.1
port = {redis_port}
"""


def redis_groups(redis_port: int, table: str = "dlr", ttl: int = 3600) -> str:
    """The dlr-db and redis-connection groups of `dlr-storage = redis` (Kannel's layout)."""
    return _REDIS_GROUPS.format(redis_port=redis_port, table=table, ttl=ttl)


class Deployment:
    """The simulator and the gateway as processes, with their files in `workdir`.

    `simulator` holds extra `smsc-sim` options, `core` / `smsbox` / `passerelle` extra lines
    for those groups, `extra` whole groups (sms-service…); `redis_port` switches the DLR
    store to Redis (dlr-storage = redis).
    """

    def __init__(self, workdir: Path, *, simulator: tuple[str, ...] = (), core: str = "",
                 smsbox: str = "", passerelle: str = "", redis_port: int | None = None,
                 extra: str = "") -> None:
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.smsc_port, self.sendsms_port, self.admin_port = free_ports(3)
        text = KANNEL_CONF.format(
            admin_port=self.admin_port, smsc_port=self.smsc_port,
            sendsms_port=self.sendsms_port, spool_dir=workdir / "spool",
            dlr_storage="redis" if redis_port is not None else "internal",
            core=core, smsbox=smsbox, passerelle=passerelle,
        )
        if redis_port is not None:
            text += redis_groups(redis_port)
        text += "\n" + extra
        self.conf = workdir / "kannel.conf"
        self.conf.write_text(text, encoding="utf-8")
        self.sim_log = workdir / "sim.jsonl"
        self.simulator_options = simulator
        self.env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
        self.sim: subprocess.Popen[bytes] | None = None
        self.gateway: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def _spawn(self, name: str, argv: list[str]) -> subprocess.Popen[bytes]:
        with open(self.workdir / name, "ab") as log:
            return subprocess.Popen(argv, cwd=self.workdir, env=self.env, stdout=log,
                                    stderr=log, stdin=subprocess.DEVNULL)

    def start_sim(self) -> None:
        self.sim = self._spawn("sim.out", [
            sys.executable, "-m", "gateway", "smsc-sim", "--port", str(self.smsc_port),
            "--log", str(self.sim_log), "--log-max-bytes", "0", *self.simulator_options,
        ])
        wait_for("the simulator", lambda: accepts(self.smsc_port), processes=(self.sim,))

    def start_gateway(self, bound: bool = True) -> None:
        """Start the gateway; with `bound`, wait until its SMPP bind is up too."""
        self.starts += 1
        self.gateway = self._spawn(f"gateway-{self.starts}.out", [
            sys.executable, "-m", "gateway", "run", "--config", str(self.conf),
        ])
        wait_for("the sendsms port", lambda: accepts(self.sendsms_port),
                 processes=(self.gateway,))
        if bound:
            wait_for("the SMPP bind", lambda: self.status().get("smsc", [{}])[0].get("online"),
                     processes=(self.gateway,))

    def status(self) -> dict[str, Any]:
        """The gateway's status.json ({} while it does not answer)."""
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{self.admin_port}/status.json", timeout=2
            ) as reply:
                return dict(json.loads(reply.read()))
        except (OSError, ValueError):
            return {}

    def kill_gateway(self) -> None:
        stop_by_pid(self.gateway, signal.SIGKILL)

    def stop_gateway(self) -> int | None:
        return stop_by_pid(self.gateway, signal.SIGINT)

    def close(self) -> None:
        stop_by_pid(self.gateway, signal.SIGKILL)
        stop_by_pid(self.sim, signal.SIGKILL)

    def sendsms(self, **params: str | int) -> tuple[int, str]:
        """GET /cgi-bin/sendsms as user tester; (status, body)."""
        query = urllib.parse.urlencode({"username": "tester", "password": "foobar",
                                        "from": "12345", **params})
        url = f"http://127.0.0.1:{self.sendsms_port}/cgi-bin/sendsms?{query}"
        try:
            with urllib.request.urlopen(url, timeout=10) as reply:
                return reply.status, reply.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode()

    def sim_records(self) -> list[dict[str, Any]]:
        """The simulator's PDU log so far (whole lines only)."""
        if not self.sim_log.exists():
            return []
        text = self.sim_log.read_text(encoding="utf-8")
        return [json.loads(line) for line in text.splitlines(keepends=True)
                if line.endswith("\n")]

    def logs(self) -> str:
        """Every process output, for assertion messages."""
        return "\n".join(f"== {p.name}\n{p.read_text(errors='replace')[-6000:]}"
                         for p in sorted(self.workdir.glob("*.out")))
