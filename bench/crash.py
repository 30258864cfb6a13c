"""Crash benchmark: SIGKILL a gateway process under sendsms load, again and again.

    python bench/crash.py                   # 20 kills, seed 1, updates docs/BENCHMARKS.md
    python bench/crash.py --kills 5 --seed 4 --no-report

Real processes and sockets only: `python -m gateway run --config kannel.conf` with a spool
directory, the simulator as `python -m gateway smsc-sim --log FILE` (JSON lines of what it
received), and client threads sending sendsms requests over keep-alive connections, each
text carrying a unique marker. After every kill the gateway is restarted; at the end every
message that got a 202 must be found at the simulator at least once. Duplicates (messages in
flight at a kill, sent again after the restart: the at-least-once contract) are counted.

tests/e2e/test_crash.py runs the same harness with 5 kills in CI; tests/e2e/test_spool_cap.py
uses its `Stack` and `Load`.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/crash.py` puts only bench/ on the path
    sys.path.insert(0, str(ROOT))

from bench.load import accepts  # noqa: E402
from bench.stack import free_ports  # noqa: E402

CONF = """\
group = core
admin-port = {admin_port}
admin-interface = 127.0.0.1
admin-password = bar
log-level = 0

group = smsc
smsc = smpp
smsc-id = sim
host = 127.0.0.1
port = {smsc_port}
transceiver-mode = true
smsc-username = crash
smsc-password = secret
system-type = ""
reconnect-delay = 1

group = smsbox
bearerbox-host = 127.0.0.1
sendsms-port = {sendsms_port}
sendsms-interface = 127.0.0.1

group = sendsms-user
username = tester
password = foobar

group = passerelle
spool-dir = {spool_dir}
{passerelle}
"""

MARKER = re.compile(rb"c(\d+)x")


def wait_listening(port: int, timeout: float, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while not accepts(port):
        if process.poll() is not None:
            raise AssertionError(f"process exited with {process.returncode}")
        if time.monotonic() > deadline:
            raise AssertionError(f"nothing listens on {port} after {timeout}s")
        time.sleep(0.02)


class Stack:
    """The configuration, the gateway process and the simulator process, in `tmp`."""

    def __init__(self, tmp: Path, passerelle: str = "") -> None:
        self.tmp = tmp
        self.spool_dir = tmp / "spool"
        self.smsc_port, self.sendsms_port, admin_port = free_ports(3)
        self.conf = tmp / "kannel.conf"
        self.conf.write_text(
            CONF.format(
                admin_port=admin_port,
                smsc_port=self.smsc_port,
                sendsms_port=self.sendsms_port,
                spool_dir=self.spool_dir,
                passerelle=passerelle,
            ),
            encoding="utf-8",
        )
        self.sim_log = tmp / "sim.jsonl"
        self.gateway: subprocess.Popen[bytes] | None = None
        self.sim: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")

    def start_gateway(self) -> None:
        self.starts += 1
        log = open(self.tmp / f"gateway-{self.starts}.log", "wb")  # noqa: SIM115
        self.gateway = subprocess.Popen(
            [sys.executable, "-m", "gateway", "run", "--config", str(self.conf)],
            cwd=self.tmp, env=self.env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
        )
        log.close()
        wait_listening(self.sendsms_port, 20, self.gateway)

    def kill_gateway(self) -> None:
        assert self.gateway is not None
        self.gateway.send_signal(signal.SIGKILL)
        self.gateway.wait(timeout=10)

    def stop_gateway(self) -> int:
        assert self.gateway is not None
        self.gateway.send_signal(signal.SIGINT)
        return self.gateway.wait(timeout=20)

    def start_sim(self) -> None:
        log = open(self.tmp / "sim.stderr", "wb")  # noqa: SIM115
        self.sim = subprocess.Popen(
            [sys.executable, "-m", "gateway", "smsc-sim", "--port", str(self.smsc_port),
             "--log", str(self.sim_log), "--log-max-bytes", "0", "--dlr-delay", "0"],
            cwd=self.tmp, env=self.env, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
        )
        log.close()
        wait_listening(self.smsc_port, 20, self.sim)

    def close(self) -> None:
        for process in (self.gateway, self.sim):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGKILL)
                process.wait(timeout=10)

    def gateway_logs(self) -> str:
        return "".join(
            p.read_text(errors="replace") for p in sorted(self.tmp.glob("gateway-*.log"))
        )

    def received(self) -> Counter[int]:
        """Markers of every submit_sm the simulator accepted, with how often."""
        seen: Counter[int] = Counter()
        if not self.sim_log.exists():
            return seen
        with open(self.sim_log, "rb") as f:
            for line in f:
                if b'"submit_sm"' not in line or not line.endswith(b"\n"):
                    continue
                record = json.loads(line)
                if record.get("dir") != "in" or not record.get("message_id"):
                    continue
                for found in MARKER.finditer(bytes.fromhex(record["text_hex"])):
                    seen[int(found.group(1))] += 1
        return seen


class Load:
    """Client threads sending sendsms over keep-alive connections; they reconnect through
    gateway restarts and record, per marker, the answer they got."""

    def __init__(self, port: int, threads: int = 4, pace: float = 0.0) -> None:
        self.port = port
        self.accepted: set[int] = set()
        self.refused = 0  # 503s
        self.other: Counter[int] = Counter()
        self.errors = 0  # no answer (killed mid-request): outcome unknown, not counted
        self.pace = pace
        self._next = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=15)

    def _marker(self) -> int:
        with self._lock:
            self._next += 1
            return self._next

    def _run(self) -> None:
        conn: http.client.HTTPConnection | None = None
        while not self._stop.is_set():
            marker = self._marker()
            query = urlencode({
                "username": "tester", "password": "foobar", "from": "12345",
                "to": f"46{marker:09d}", "text": f"c{marker}x",
            })
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                conn.request("GET", f"/cgi-bin/sendsms?{query}")
                reply = conn.getresponse()
                reply.read()
                status = reply.status
            except (OSError, http.client.HTTPException):
                with self._lock:
                    self.errors += 1
                if conn is not None:
                    conn.close()
                conn = None
                time.sleep(0.02)
                continue
            with self._lock:
                if status == 202:
                    self.accepted.add(marker)
                elif status == 503:
                    self.refused += 1
                else:
                    self.other[status] += 1
            if reply.will_close:
                conn.close()
                conn = None
            if self.pace:
                time.sleep(self.pace)
        if conn is not None:
            conn.close()


def wait_for(condition: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return bool(condition())  # type: ignore[operator]


@dataclass
class CrashResult:
    kills: int
    starts: int
    accepted: int
    cut: int  # requests without an answer (killed mid-request): outcome unknown
    delivered: int
    duplicates: int
    missing: list[int]
    stopped_cleanly: bool
    tracebacks: bool
    seconds: float


def run_crash(tmp: Path, kills: int, seed: int, threads: int = 4) -> CrashResult:
    """Kill the gateway `kills` times at random moments (seeded) under load, restart it each
    time, drain, and say what reached the simulator."""
    rng = random.Random(seed)
    started = time.monotonic()
    stack = Stack(tmp)
    load = Load(stack.sendsms_port, threads=threads)
    try:
        stack.start_sim()
        stack.start_gateway()
        load.start()
        for _ in range(kills):
            time.sleep(rng.uniform(0.8, 2.5))
            stack.kill_gateway()
            time.sleep(rng.uniform(0.0, 0.3))
            stack.start_gateway()
        time.sleep(rng.uniform(0.5, 1.5))
        load.stop()
        accepted = set(load.accepted)
        if len(accepted) <= 100 or load.other:
            raise RuntimeError(
                f"the load did not run: {len(accepted)} accepted, {load.errors} errors, "
                f"other answers {dict(load.other)}"
            )
        wait_for(lambda: accepted <= set(stack.received()), timeout=25 + kills)
        seen = stack.received()
        missing = sorted(accepted - set(seen))
        duplicates = sum(n - 1 for n in seen.values() if n > 1)
        stopped = stack.stop_gateway() == 0
        return CrashResult(
            kills, stack.starts, len(accepted), load.errors, len(seen), duplicates, missing,
            stopped, "Traceback" in stack.gateway_logs(), time.monotonic() - started,
        )
    finally:
        load.stop()
        stack.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-report", action="store_true", help="do not touch BENCHMARKS.md")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="passerelle-crash-") as tmp:
        result = run_crash(Path(tmp), args.kills, args.seed)
    verdict = "PASS" if not result.missing and result.stopped_cleanly else "FAIL"
    text = "\n".join([
        f"`python bench/crash.py --kills {args.kills} --seed {args.seed}` — a gateway process "
        "with a spool under 4 keep-alive sendsms clients, SIGKILLed at random moments (0.8–2.5 s "
        "apart) and restarted each time; then drained into the simulator.",
        "",
        "| kills | starts | accepted (202) | cut by a kill | delivered (distinct) | duplicates "
        "| missing | clean stop | time |",
        "|---:|---:|---:|---:|---:|---:|---:|---|---:|",
        f"| {result.kills} | {result.starts} | {result.accepted:,} | {result.cut:,} "
        f"| {result.delivered:,} | {result.duplicates:,} | {len(result.missing)} "
        f"| {'yes' if result.stopped_cleanly else 'no'} | {result.seconds:.0f} s |",
        "",
        f"Verdict: **{verdict}** (every 202 found at the SMSC at least once). Duplicates are "
        "messages that were in flight at a kill (submitted, response or ack not yet recorded) "
        "and were sent again after the restart.",
    ])
    print(text)
    if not args.no_report:
        from bench.report import write_section

        write_section("crash", text)
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
