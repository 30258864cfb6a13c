"""Real Kannel 1.4.5 (Debian's bearerbox + smsbox) driven against our SMSC simulator.

The simulator stands in for a carrier in every later end-to-end test, so the proof that it
behaves like one is that Kannel, the gateway we replace, accepts it unmodified: a sendsms
with dlr-mask=31 must come back as the DLR callbacks d=8 (SMSC ack), d=4 (intermediate
ACCEPTD receipt) and d=1 (DELIVRD), in that order, with %F equal to the message id the
simulator gave. Both ways Kannel binds are covered: one transceiver, and a transmitter
plus a separate receiver (receipts then arrive on another connection than the submit).

Everything runs as subprocesses on free loopback ports with files in tmp; the processes
are stopped by PID in the fixture's teardown, smsbox first, the simulator last (bearerbox
waits forever for the unbind_resp of an SMSC that died before it).
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import string
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from bench.load import free_port

pytestmark = pytest.mark.kannel

BEARERBOX = Path("/usr/sbin/bearerbox")
SMSBOX = Path("/usr/sbin/smsbox")
ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = Path(__file__).parent / "kannel" / "kannel.conf.template"

SYSTEM_ID = "kannel"
PASSWORD = "secret"
DLR_DELAY = 0.4
DELIVERED_TO = "4670000001"
UNDELIVERABLE_PREFIX = "4679"
REJECTED_PREFIX = "4678"
EXPIRED_PREFIX = "4677"
STARTUP_TIMEOUT = 15.0
CALLBACK_TIMEOUT = 10.0

# Kannel's handle_dlr: sscanf("id:%64[^ ] sub:%d dlvrd:%d submit date:%14[0-9] done
# date:%14[0-9] stat:%15[^ ] err:%3[^ ]"), as a regex.
KANNEL_RECEIPT = re.compile(
    r"id:(?P<id>[^ ]{1,64}) sub:(?P<sub>-?\d+) dlvrd:(?P<dlvrd>-?\d+) "
    r"submit date:(?P<submit>[0-9]{1,14}) done date:(?P<done>[0-9]{1,14}) "
    r"stat:(?P<stat>[^ ]{1,15}) err:(?P<err>[^ ]{1,3})"
)

_SMSC_COMMON = """\
group = smsc
smsc = smpp
smsc-id = sim
host = 127.0.0.1
{port_line}
smsc-username = {system_id}
smsc-password = {password}
system-type = ""
address-range = ""
reconnect-delay = 1
"""


def _smsc_groups(mode: str, port: int) -> str:
    """One transceiver group, or a transmitter and a receiver group sharing the smsc-id."""
    common = {"system_id": SYSTEM_ID, "password": PASSWORD}
    if mode == "transceiver":
        return _SMSC_COMMON.format(port_line=f"port = {port}\ntransceiver-mode = true", **common)
    # `port` and `receive-port` in one group is a Kannel config error: two groups instead.
    return "\n".join(
        (
            _SMSC_COMMON.format(port_line=f"port = {port}", **common),
            _SMSC_COMMON.format(port_line=f"port = 0\nreceive-port = {port}", **common),
        )
    )


class CallbackServer:
    """The dlr-url endpoint: records every GET's query by the tag in its path."""

    def __init__(self) -> None:
        self._calls: dict[str, list[dict[str, str]]] = {}
        self._changed = threading.Condition()
        calls, changed = self._calls, self._changed

        class Endpoint(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                tag = url.path.rsplit("/", 1)[-1]
                query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
                with changed:
                    calls.setdefault(tag, []).append(query)
                    changed.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Endpoint)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, tag: str) -> str:
        """A dlr-url that reports type, foreign id, reply text and meta-data."""
        return f"http://127.0.0.1:{self.port}/dlr/{tag}?d=%d&F=%F&A=%A&D=%D"

    def wait(self, tag: str, count: int, timeout: float = CALLBACK_TIMEOUT) -> list[dict[str, str]]:
        """The callbacks for `tag` once there are `count` (or what came before the timeout)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self._calls.get(tag, [])) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(left)
            return list(self._calls.get(tag, []))

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@dataclass
class KannelStack:
    """One running simulator + bearerbox + smsbox, and what the tests need from them."""

    mode: str
    workdir: Path
    sendsms_port: int
    admin_port: int
    simulator_log: Path
    callbacks: CallbackServer
    processes: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)

    def sendsms(self, to: str, text: str, tag: str, dlr_mask: int = 31) -> tuple[int, str]:
        """GET /cgi-bin/sendsms; (HTTP status, body)."""
        query = urllib.parse.urlencode(
            {
                "username": "tester",
                "password": "foobar",
                "from": "12345",
                "to": to,
                "text": text,
                "dlr-mask": dlr_mask,
                "dlr-url": self.callbacks.url(tag),
            }
        )
        url = f"http://127.0.0.1:{self.sendsms_port}/cgi-bin/sendsms?{query}"
        try:
            with urllib.request.urlopen(url, timeout=10) as reply:
                return reply.status, reply.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode()

    def simulator_records(self) -> list[dict[str, Any]]:
        """The simulator's JSON-lines PDU log so far."""
        text = self.simulator_log.read_text(encoding="utf-8")
        return [json.loads(line) for line in text.splitlines() if line]

    def submitted(self, to: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """The simulator's record of the submit_sm to `to` and of its response."""
        records = self.simulator_records()
        submit = next(r for r in records if r.get("command") == "submit_sm" and r["dest"] == to)
        resp = next(
            r
            for r in records
            if r.get("command") == "submit_sm_resp"
            and r["peer"] == submit["peer"]
            and r["seq"] == submit["seq"]
        )
        return submit, resp

    def diagnostics(self) -> str:
        """The tails of every log, for assertion messages."""
        parts = [f"mode={self.mode}"]
        for path in sorted(self.workdir.glob("*.log")) + sorted(self.workdir.glob("*.out")):
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()[-25:]
            parts.append(f"--- {path.name}\n" + "\n".join(lines))
        return "\n".join(parts)


def _start(
    stack: KannelStack, name: str, argv: list[str], env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    out = open(stack.workdir / f"{name}.out", "wb")
    try:
        process = subprocess.Popen(
            argv,
            cwd=stack.workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            stdin=subprocess.DEVNULL,
        )
    finally:
        out.close()  # the child has its own descriptor
    stack.processes.append((name, process))
    return process


def _stop(processes: list[tuple[str, subprocess.Popen[bytes]]]) -> None:
    """SIGTERM each process we started, newest first; SIGKILL what does not exit in 5 s."""
    for _name, process in reversed(processes):
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def _wait_until(what: str, check: Any, stack: KannelStack, timeout: float = STARTUP_TIMEOUT) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, process in stack.processes:
            if process.poll() is not None:
                pytest.fail(
                    f"{name} exited with {process.returncode} while waiting for {what}\n"
                    + stack.diagnostics()
                )
        result = check()
        if result:
            return result
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}\n" + stack.diagnostics())


def _admin_status(port: int) -> str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/status.txt", timeout=2) as reply:
            return str(reply.read().decode())
    except OSError:
        return ""


def _accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def kannel_binaries() -> None:
    """Skip without Kannel, except on CI where its absence is a broken machine."""
    missing = [str(path) for path in (BEARERBOX, SMSBOX) if not path.exists()]
    if missing:
        message = f"Kannel is not installed ({', '.join(missing)}): apt-get install kannel"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module", params=["transceiver", "tx-rx"])
def kannel(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    kannel_binaries: None,
) -> Iterator[KannelStack]:
    """Simulator, bearerbox and smsbox, up and bound; torn down whatever happens."""
    mode: str = request.param
    workdir = tmp_path_factory.mktemp(f"kannel-{mode}")
    callbacks = CallbackServer()
    stack = KannelStack(
        mode=mode,
        workdir=workdir,
        sendsms_port=free_port(),
        admin_port=free_port(),
        simulator_log=workdir / "simulator.jsonl",
        callbacks=callbacks,
    )
    try:
        env = dict(
            os.environ,
            PYTHONPATH=os.pathsep.join(
                p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p
            ),
        )
        _start(
            stack,
            "simulator",
            [
                sys.executable,
                "-m",
                "protocols.smpp.simulator",
                "--port",
                "0",
                "--account",
                f"{SYSTEM_ID}:{PASSWORD}",
                "--dlr-delay",
                str(DLR_DELAY),
                "--undeliverable",
                UNDELIVERABLE_PREFIX,
                "--reject",
                f"{REJECTED_PREFIX}:0x0B",
                "--final-state",
                f"{EXPIRED_PREFIX}:EXPIRED",
                "--log",
                str(stack.simulator_log),
            ],
            env=env,
        )
        ready = re.compile(r"listening on 127\.0\.0\.1:(\d+)")
        match = _wait_until(
            "the simulator's port",
            lambda: ready.search((workdir / "simulator.out").read_text(encoding="utf-8")),
            stack,
        )
        smsc_port = int(match.group(1))

        config = workdir / "kannel.conf"
        config.write_text(
            string.Template(TEMPLATE.read_text(encoding="utf-8")).substitute(
                admin_port=stack.admin_port,
                admin_password="admin-secret",
                smsbox_port=free_port(),
                sendsms_port=stack.sendsms_port,
                workdir=workdir,
                smsc_groups=_smsc_groups(mode, smsc_port),
            ),
            encoding="utf-8",
        )

        # -v 1: info on stdout; the log files get everything (log-level 0).
        _start(stack, "bearerbox", [str(BEARERBOX), "-v", "1", str(config)])
        online = 1 if mode == "transceiver" else 2
        _wait_until(
            f"{online} SMPP bind(s) online in bearerbox's status",
            lambda: _admin_status(stack.admin_port).count("(online ") >= online,
            stack,
        )
        _start(stack, "smsbox", [str(SMSBOX), "-v", "1", str(config)])
        _wait_until(
            "smsbox connected to bearerbox",
            lambda: re.search(r"^\s+smsbox:", _admin_status(stack.admin_port), re.M),
            stack,
        )
        _wait_until(
            "smsbox's sendsms port", lambda: _accepts_connections(stack.sendsms_port), stack
        )
        yield stack
    finally:
        _stop(stack.processes)
        callbacks.close()


def test_dlr_mask_31_reports_8_then_4_then_1_with_the_simulator_id(kannel: KannelStack) -> None:
    """The acceptance test: SMSC ack, intermediate receipt, final receipt, one id."""
    status, body = kannel.sendsms(DELIVERED_TO, "Hello from Kannel", tag="delivered")
    assert (status, body) == (202, "0: Accepted for delivery"), kannel.diagnostics()

    calls = kannel.callbacks.wait("delivered", 3)
    assert [call["d"] for call in calls] == ["8", "4", "1"], kannel.diagnostics()
    submit, resp = kannel.submitted(DELIVERED_TO)
    message_id = resp["message_id"]
    assert message_id
    assert [call["F"] for call in calls] == [message_id] * 3
    # dlr-mask 31 asks for delivered + intermediate: registered_delivery 1 | 0x10.
    assert submit["registered_delivery"] == 17
    assert bytes.fromhex(submit["text_hex"]) == b"Hello from Kannel"

    assert calls[0]["A"] == "ACK/"
    for call, stat, dlvrd in ((calls[1], "ACCEPTD", "000"), (calls[2], "DELIVRD", "001")):
        receipt = KANNEL_RECEIPT.match(call["A"])
        assert receipt is not None, call["A"]
        assert (receipt["id"], receipt["stat"], receipt["dlvrd"], receipt["err"]) == (
            message_id,
            stat,
            dlvrd,
            "000",
        )
        assert call["A"].endswith(" text:Hello from Kannel")


def test_undeliverable_destination_reports_failure_with_its_error(kannel: KannelStack) -> None:
    """--undeliverable: d=2 after the intermediate one, err 001 in Kannel's dlr_err."""
    to = UNDELIVERABLE_PREFIX + "000002"
    status, _body = kannel.sendsms(to, "Nobody home", tag="undeliverable")
    assert status == 202, kannel.diagnostics()

    calls = kannel.callbacks.wait("undeliverable", 3)
    assert [call["d"] for call in calls] == ["8", "4", "2"], kannel.diagnostics()
    _submit, resp = kannel.submitted(to)
    assert {call["F"] for call in calls} == {resp["message_id"]}
    receipt = KANNEL_RECEIPT.match(calls[2]["A"])
    assert receipt is not None
    assert (receipt["stat"], receipt["err"], receipt["dlvrd"]) == ("UNDELIV", "001", "000")
    # The network_error_code TLV (GSM, cause 1) reaches the meta-data as 3 raw octets.
    assert "dlr_err=%03%00%01" in calls[2]["D"]


def test_rejected_submit_reports_a_nack_with_the_status(kannel: KannelStack) -> None:
    """--reject PREFIX:0x0B: Kannel fails the message permanently, d=16 with the status."""
    to = REJECTED_PREFIX + "000003"
    status, _body = kannel.sendsms(to, "Refused", tag="rejected")
    # Kannel answers 202 before the SMSC has seen the message (REFERENCE §2.7).
    assert status == 202, kannel.diagnostics()

    calls = kannel.callbacks.wait("rejected", 1)
    assert [call["d"] for call in calls] == ["16"], kannel.diagnostics()
    assert calls[0]["A"] == "NACK/0x0000000b/Invalid Destination Address"
    submit, resp = kannel.submitted(to)
    assert resp["status"] == 0x0B
    assert resp["message_id"] == ""
