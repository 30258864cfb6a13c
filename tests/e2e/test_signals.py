"""Signals on the real process (`python -m gateway run --config F`, the simulator as its own
process, real sockets): SIGHUP reloads the configuration file all or nothing and keeps the
SMPP bind up; SIGTERM drains the window and loses nothing; the logs stay under their caps.

Uses the harness of bench/crash.py (its `Stack`: the configuration, the two processes, the
simulator's JSON log of every PDU).
"""

from __future__ import annotations

import http.client
import importlib.util
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

CRASH_PY = Path(__file__).resolve().parents[2] / "bench" / "crash.py"
_spec = importlib.util.spec_from_file_location("bench_crash", CRASH_PY)
assert _spec is not None and _spec.loader is not None
harness = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("bench_crash", harness)
_spec.loader.exec_module(harness)
wait_for, wait_listening = harness.wait_for, harness.wait_listening


class Stack(harness.Stack):  # type: ignore[misc, name-defined]
    """bench/crash.py's stack with a core log file and a slow simulator when asked."""

    def __init__(self, tmp: Path, passerelle: str = "", resp_delay: float = 0.0) -> None:
        super().__init__(tmp, passerelle)
        self.resp_delay = resp_delay
        self.log_file = tmp / "logs" / "bearerbox.log"
        text = self.conf.read_text(encoding="utf-8")
        self.admin_port = int(text.split("admin-port = ")[1].split()[0])
        self.conf.write_text(
            text.replace("log-level = 0", f"log-level = 0\nlog-file = {self.log_file}"),
            encoding="utf-8",
        )

    def start_sim(self) -> None:
        log = open(self.tmp / "sim.stderr", "wb")  # noqa: SIM115
        self.sim = subprocess.Popen(
            [sys.executable, "-m", "gateway", "smsc-sim", "--port", str(self.smsc_port),
             "--log", str(self.sim_log), "--log-max-bytes", "0", "--dlr-delay", "0",
             "--resp-delay", str(self.resp_delay)],
            cwd=self.tmp, env=self.env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
        )
        log.close()
        wait_listening(self.smsc_port, 20, self.sim)

    def binds(self) -> int:
        """bind_* PDUs the simulator received (one per connection the gateway made)."""
        if not self.sim_log.exists():
            return 0
        count = 0
        for line in self.sim_log.read_bytes().splitlines():
            if b'"bind_' in line and b'"dir":"in"' in line:
                count += 1
        return count

    def status(self) -> dict[str, Any]:
        conn = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=5)
        try:
            conn.request("GET", "/status.json")
            return dict(json.loads(conn.getresponse().read()))
        finally:
            conn.close()

    def log_text(self) -> str:
        return "".join(
            p.read_text(errors="replace") for p in sorted(self.log_file.parent.glob("*"))
        )


def send(port: int, text: str, user: str = "tester", password: str = "foobar") -> int:
    query = urlencode({"username": user, "password": password, "from": "12345",
                       "to": "4670000001", "text": text})
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", f"/cgi-bin/sendsms?{query}")
        reply = conn.getresponse()
        reply.read()
        return reply.status
    finally:
        conn.close()


NEW_USER = "\ngroup = sendsms-user\nusername = newbie\npassword = fresh\n"


def test_sighup_reloads_users_refuses_a_bad_file_and_keeps_the_bind(tmp_path: Path) -> None:
    stack = Stack(tmp_path, passerelle="log-max-bytes = 4K\nlog-max-files = 2")
    try:
        stack.start_sim()
        stack.start_gateway()
        assert wait_for(lambda: stack.binds() == 1, timeout=10)
        assert send(stack.sendsms_port, "c1x") == 202
        assert send(stack.sendsms_port, "c2x", "newbie", "fresh") == 403
        good = stack.conf.read_text(encoding="utf-8")

        # A user added takes effect.
        stack.conf.write_text(good + NEW_USER, encoding="utf-8")
        assert stack.gateway is not None
        stack.gateway.send_signal(signal.SIGHUP)
        assert wait_for(
            lambda: send(stack.sendsms_port, "c3x", "newbie", "fresh") == 202, timeout=30
        ), stack.gateway_logs()[-3000:]

        # A broken file changes nothing, and the log says why.
        stack.conf.write_text(good + "\ngroup = sendsms-user\nusername = broken\n",
                              encoding="utf-8")
        stack.gateway.send_signal(signal.SIGHUP)
        assert wait_for(lambda: "reload refused" in stack.log_text(), timeout=30)
        assert "password" in stack.log_text().split("reload refused", 1)[1][:2000]
        assert send(stack.sendsms_port, "c4x", "newbie", "fresh") == 202
        assert send(stack.sendsms_port, "c5x") == 202

        # The bind stayed up through both: one bind at the simulator, still online.
        assert stack.binds() == 1
        assert stack.status()["smsc"][0]["online"] is True
        assert wait_for(lambda: set(stack.received()) == {1, 3, 4, 5}, timeout=30)

        # Far more log than the cap (each refused reload writes every problem): the files
        # on disk stay under (log-max-files + 1) x log-max-bytes.
        # (Signals sent close together may coalesce: send until stderr, which keeps
        # everything, shows more than twice the cap was logged.)
        deadline = time.monotonic() + 60
        while len(stack.gateway_logs().encode()) <= 2 * 3 * 4096:
            assert time.monotonic() < deadline, "not enough log written"
            stack.gateway.send_signal(signal.SIGHUP)
            time.sleep(0.05)
        assert wait_for(lambda: (stack.log_file.parent / "bearerbox.log.2").exists(), timeout=10)
        files = list(stack.log_file.parent.glob("bearerbox.log*"))
        total = sum(p.stat().st_size for p in files)
        assert len(files) == 3 and total <= 3 * 4096, (files, total)
        assert "foobar" not in stack.log_text() and "secret" not in stack.log_text()

        assert stack.stop_gateway() == 0
    finally:
        stack.close()


def test_sigterm_drains_the_window_and_loses_nothing(tmp_path: Path) -> None:
    stack = Stack(tmp_path, passerelle="shutdown-grace = 10", resp_delay=1.0)
    try:
        stack.start_sim()
        stack.start_gateway()
        assert wait_for(lambda: stack.binds() == 1, timeout=10)
        markers = list(range(1, 31))
        for marker in markers:
            assert send(stack.sendsms_port, f"c{marker}x") == 202
        # A window is on the wire (the simulator answers after 1 s).
        assert wait_for(lambda: stack.status()["smsc"][0]["in_flight"] > 0, timeout=10)
        in_flight = stack.status()["smsc"][0]["in_flight"]
        assert stack.gateway is not None
        started = time.monotonic()
        stack.gateway.send_signal(signal.SIGTERM)
        assert stack.gateway.wait(timeout=20) == 0
        took = time.monotonic() - started
        first = stack.received()
        # The window was answered before the unbind: at least what was in flight was sent,
        # each once.
        assert sum(first.values()) >= in_flight and set(first.values()) == {1}, first
        assert "draining" in stack.log_text()

        # The rest waited in the spool: the next start sends it, and nothing twice.
        stack.start_gateway()
        assert wait_for(lambda: set(stack.received()) == set(markers), timeout=30), (
            sorted(set(markers) - set(stack.received()))
        )
        counts = stack.received()
        assert all(counts[m] == 1 for m in markers), counts
        assert stack.stop_gateway() == 0
        assert took < 10 + 5
    finally:
        stack.close()


def test_admin_restart_executes_the_gateway_again_in_the_same_process(tmp_path: Path) -> None:
    stack = Stack(tmp_path)
    try:
        stack.start_sim()
        stack.start_gateway()
        assert wait_for(lambda: stack.binds() == 1, timeout=10)
        assert stack.gateway is not None
        before = stack.status()
        assert before["process"]["pid"] == stack.gateway.pid
        conn = http.client.HTTPConnection("127.0.0.1", stack.admin_port, timeout=10)
        conn.request("GET", "/restart?password=bar")
        assert conn.getresponse().read() == b"Restarting....."
        conn.close()

        # The same process binds again (a new bind at the simulator) and answers again.
        assert wait_for(lambda: stack.binds() == 2, timeout=30), stack.gateway_logs()[-3000:]
        assert wait_for(lambda: send(stack.sendsms_port, "c7x") == 202, timeout=10)
        assert stack.gateway.poll() is None
        assert stack.status()["process"]["pid"] == stack.gateway.pid
        assert wait_for(lambda: set(stack.received()) == {7}, timeout=10)
        assert stack.stop_gateway() == 0
    finally:
        stack.close()


def test_twist_passerelle_reopens_logs_on_sighup_and_exits_0_on_sigterm(
    tmp_path: Path,
) -> None:
    stack = Stack(tmp_path, resp_delay=0.3)
    try:
        stack.start_sim()
        log = open(tmp_path / "twist.log", "wb")  # noqa: SIM115
        stack.gateway = subprocess.Popen(
            [sys.executable, "-m", "twisted", "passerelle", "--config", str(stack.conf)],
            cwd=tmp_path, env=stack.env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
        )
        log.close()
        wait_listening(stack.sendsms_port, 30, stack.gateway)
        assert wait_for(lambda: stack.binds() == 1, timeout=10)
        for marker in range(1, 6):
            assert send(stack.sendsms_port, f"c{marker}x") == 202
        # logrotate's way: move the file away, SIGHUP, the gateway writes a new one.
        assert wait_for(lambda: stack.log_file.exists(), timeout=10)
        stack.log_file.rename(stack.log_file.with_name("bearerbox.log.moved"))
        stack.gateway.send_signal(signal.SIGHUP)
        assert wait_for(lambda: stack.log_file.exists()
                        and "SIGHUP received" in stack.log_file.read_text(), timeout=10)
        stack.gateway.send_signal(signal.SIGTERM)
        assert stack.gateway.wait(timeout=30) == 0
        counts = stack.received()
        assert counts and set(counts.values()) == {1}, counts
        assert stack.binds() == 1
    finally:
        stack.close()
