"""sendsms accepted/s with 16 keep-alive connections into the SMSC simulator: Passerelle and
real Kannel 1.4.5 in the same run, on the same simulator and the same kannel.conf.

    python bench/ingest.py                  # full run (~10 min), updates docs/BENCHMARKS.md
    python bench/ingest.py --quick          # smoke run (~1 min), does not touch the docs
    python bench/ingest.py --queued 200000  # a smaller queue for the queued-message figures

For each gateway: the simulator (`bench/load.py sim`: no receipts, no PDU log, counters on
stdout) in its own process, the gateway in its own (ours: `python -m gateway run --config
FILE`; Kannel: /usr/sbin/bearerbox + /usr/sbin/smsbox), a warm-up, then `--duration` seconds of
sendsms GETs from `bench/load.py` (a separate process, 16 keep-alive connections). Counted:
202s per second; CPU of the gateway processes (psutil, user + system, all threads; Kannel =
bearerbox + smsbox) from the first request until the simulator has received every accepted
message, divided by the accepted messages; RSS at the end; the simulator's accepted submits.

Both read the same generated kannel.conf (one smpp smsc, transceiver, `max-pending-submits =
64`, no access logs, log-level 2 = warnings); ours adds `group = passerelle` (spool-dir, caps).
Which queue our service builds (`MemoryQueue` or the durable `SpoolQueue`) is read from
`GatewayService` at run time and printed with the figures.

Then, ours only: `--queued` messages (default 1,000,000) accepted while the SMSC is down, RSS
and spool bytes per queued message, restart-to-first-submit (SIGKILL, simulator up, restart:
time until the simulator sees the first submit_sm; only meaningful with a durable spool) and
the drain rate. Finally, if ours is slower than Kannel and py-spy is installed, a py-spy
profile of our process under the same load, summarised as its top functions.
"""

from __future__ import annotations

import argparse
import collections
import inspect
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.load import (  # noqa: E402
    ROOT,
    Simulator,
    accepts,
    cpu_seconds,
    fill,
    free_port,
    run_load,
    sendsms_url,
    stop_process,
    wait_until,
)
from bench.report import write_section  # noqa: E402

BEARERBOX = Path("/usr/sbin/bearerbox")
SMSBOX = Path("/usr/sbin/smsbox")
WINDOW = 64
CONNECTIONS = 16
TEXT = "Your code is 123456. It expires in 10 minutes."

KANNEL_CONF = """\
group = core
admin-port = {admin_port}
admin-interface = 127.0.0.1
admin-password = bench-admin
admin-allow-ip = 127.0.0.1
smsbox-port = {box_port}
smsbox-interface = 127.0.0.1
box-allow-ip = 127.0.0.1
log-file = {workdir}/bearerbox.log
log-level = 2
dlr-storage = internal
sms-outgoing-queue-limit = 20000000

group = smsc
smsc = smpp
smsc-id = sim
host = 127.0.0.1
port = {smsc_port}
transceiver-mode = true
smsc-username = bench
smsc-password = secret
system-type = ""
address-range = ""
reconnect-delay = 1
max-pending-submits = {window}

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {box_port}
sendsms-port = {sendsms_port}
sendsms-interface = 127.0.0.1
log-file = {workdir}/smsbox.log
log-level = 2

group = sendsms-user
username = bench
password = bench
max-messages = 10
"""

PASSERELLE_GROUP = """
group = passerelle
spool-dir = {workdir}/spool
spool-max-bytes = 64G
spool-max-messages = 20000000
queue-max-messages = 20000000
"""


def queue_kind(conf: Path) -> str:
    """The class of the queue our GatewayService builds from `conf` (nothing starts)."""
    from gateway.config import load_config
    from gateway.service import GatewayService

    service = GatewayService(load_config(str(conf)))
    queue = service.queue
    close = getattr(queue, "close", None)
    if callable(close):
        try:
            close()
        except Exception:  # noqa: BLE001 - only a probe
            pass
    return type(queue).__name__


def is_durable(kind: str) -> bool:
    return kind != "MemoryQueue"


def dir_bytes(path: Path) -> int:
    """Bytes allocated on disk under `path` (what du counts)."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.stat(os.path.join(root, name)).st_blocks * 512
            except OSError:
                pass
    return total


@dataclass
class Gateway:
    """One gateway under test: its processes, its sendsms port."""

    name: str
    workdir: Path
    sendsms_port: int
    conf: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def ps(self) -> list[psutil.Process]:
        return [psutil.Process(p.pid) for p in self.processes]

    def rss(self) -> int:
        return sum(p.memory_info().rss for p in self.ps)

    def stop(self) -> None:
        for process in reversed(self.processes):
            stop_process(process)  # type: ignore[arg-type]

    def _spawn(self, tag: str, argv: list[str], **kw: Any) -> subprocess.Popen[bytes]:
        with open(self.workdir / f"{tag}.out", "ab") as out:
            process = subprocess.Popen(argv, cwd=self.workdir, stdout=out,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, **kw)
        self.processes.append(process)
        return process


def write_conf(workdir: Path, smsc_port: int, ours: bool,
               spool: bool = True) -> tuple[Path, int]:
    sendsms_port = free_port()
    text = KANNEL_CONF.format(
        admin_port=free_port(), box_port=free_port(), smsc_port=smsc_port,
        sendsms_port=sendsms_port, workdir=workdir, window=WINDOW,
    )
    if ours:
        group = PASSERELLE_GROUP.format(workdir=workdir)
        if not spool:  # no spool-dir: the in-memory queue
            group = "\n".join(line for line in group.splitlines()
                              if not line.startswith("spool-dir"))
        text += group
    conf = workdir / "kannel.conf"
    conf.write_text(text, encoding="utf-8")
    return conf, sendsms_port


#: `python -c` prelude for the what-if row: the same gateway with the spool's group-commit
#: wait (`Spool(commit_wait=...)`, not a config key) replaced by the first argument.
COMMIT_WAIT_WRAPPER = """
import runpy, sys
import storage.spool.spool as spool
wait = float(sys.argv.pop(1))
original = spool.Spool.__init__
def patched(self, *args, **kw):
    kw["commit_wait"] = wait
    original(self, *args, **kw)
spool.Spool.__init__ = patched
sys.argv[0] = "passerelle"
runpy.run_module("gateway", run_name="__main__")
"""


def spool_commit_wait() -> float | None:
    """The spool's default group-commit wait, None if it has no such parameter."""
    try:
        from storage.spool import Spool
    except ImportError:
        return None
    parameter = inspect.signature(Spool.__init__).parameters.get("commit_wait")
    return None if parameter is None else float(parameter.default)


def start_ours(workdir: Path, conf: Path, sendsms_port: int,
               commit_wait: float | None = None) -> Gateway:
    gateway = Gateway("Passerelle", workdir, sendsms_port, conf)
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONHASHSEED="0")
    argv = [sys.executable, "-m", "gateway", "run", "--config", str(conf)]
    if commit_wait is not None:
        argv[1:3] = ["-c", COMMIT_WAIT_WRAPPER, str(commit_wait)]
    process = gateway._spawn("passerelle", argv, env=env)
    try:
        wait_until("our sendsms port", lambda: accepts(sendsms_port), processes=[process])
    except BaseException:
        gateway.stop()
        raise
    return gateway


def _kannel_status(conf_text: str) -> str:
    port = next(line.split("=")[1].strip() for line in conf_text.splitlines()
                if line.startswith("admin-port"))
    try:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/status.txt?password=bench-admin", timeout=2
        ) as reply:
            return str(reply.read().decode())
    except OSError:
        return ""


def start_kannel(workdir: Path, conf: Path, sendsms_port: int) -> Gateway:
    gateway = Gateway("Kannel 1.4.5", workdir, sendsms_port, conf)
    text = conf.read_text()
    try:
        bearerbox = gateway._spawn("bearerbox", [str(BEARERBOX), "-v", "2", str(conf)])
        wait_until("bearerbox's SMPP bind", lambda: "(online " in _kannel_status(text),
                   processes=[bearerbox])
        smsbox = gateway._spawn("smsbox", [str(SMSBOX), "-v", "2", str(conf)])
        wait_until("smsbox's sendsms port", lambda: accepts(sendsms_port),
                   processes=[bearerbox, smsbox])
        time.sleep(0.5)  # smsbox's link to bearerbox
    except BaseException:
        gateway.stop()
        raise
    return gateway


@dataclass
class IngestResult:
    name: str
    accepted: int
    other: dict[str, int]
    seconds: float
    per_second: list[int]
    cpu: float
    rss: int
    submitted: int
    drain_seconds: float
    client_cpu: float
    mean_latency_ms: float
    #: CPU seconds the rest of the machine (not gateway, simulator, client) used meanwhile.
    other_cpu: float = 0.0
    wall: float = 0.0

    @property
    def rate(self) -> float:
        return self.accepted / self.seconds if self.seconds else 0.0

    @property
    def us_per_msg(self) -> float:
        return self.cpu / self.accepted * 1e6 if self.accepted else float("nan")


def wait_drain(sim: Simulator, target: int, stall: float, timeout: float = 600.0) -> int:
    """Wait until the simulator has accepted `target` submits in all, or made no progress
    for `stall` seconds; the count it reached."""
    deadline = time.monotonic() + timeout
    last, last_change = -1, time.monotonic()
    while time.monotonic() < deadline:
        count = sim.get("accepted")
        if count >= target:
            return count
        if count != last:
            last, last_change = count, time.monotonic()
        elif time.monotonic() - last_change > stall:
            break
        time.sleep(0.05)
    return sim.get("accepted")


def drive(gateway: Gateway, sim: Simulator, duration: float, warmup: float) -> IngestResult:
    """Warm up, then `duration` seconds of load; CPU until the simulator has it all."""
    url = sendsms_url(gateway.sendsms_port, text=TEXT)
    ps = gateway.ps
    mark: dict[str, float] = {}

    sim_ps = psutil.Process(sim.process.pid)

    def warm() -> None:  # the measured part begins, on the same connections
        mark["cpu"] = cpu_seconds(ps)
        mark["sim"] = sim.get("accepted")
        mark["sim_cpu"] = cpu_seconds([sim_ps])
        mark["machine"] = machine_busy()
        mark["wall"] = time.monotonic()

    result = run_load(url, CONNECTIONS, duration=duration, warmup=warmup, on_warm=warm)
    cpu0, before_sim = mark["cpu"], int(mark["sim"])
    accepted = result["statuses"].get("202", 0)
    load_done = time.monotonic()
    got = wait_drain(sim, before_sim + accepted, stall=10.0)
    drain = time.monotonic() - load_done
    if got < before_sim + accepted:
        drain -= 10.0  # the stall we waited out
        status = _kannel_status(gateway.conf.read_text()) if gateway.name != "Passerelle" else ""
        queued = [line.strip() for line in status.splitlines() if "queued" in line]
        print(f"  warning: the simulator has {got - before_sim:,} of {accepted:,} accepted "
              f"after 10 s without progress {queued}", flush=True)
    cpu = cpu_seconds(ps) - cpu0
    machine = machine_busy() - mark["machine"]
    other = machine - cpu - (cpu_seconds([sim_ps]) - mark["sim_cpu"]) - result["cpu_seconds"]
    per_second = [b.get("202", 0) for b in result["per_second"]][: int(duration)]
    return IngestResult(
        name=gateway.name,
        accepted=accepted,
        other={k: v for k, v in result["statuses"].items() if k != "202"},
        seconds=result["elapsed"],
        per_second=per_second,
        cpu=cpu,
        rss=gateway.rss(),
        submitted=sim.get("accepted") - before_sim,
        drain_seconds=drain,
        client_cpu=result["cpu_seconds"],
        mean_latency_ms=result["mean_latency_ms"] or 0.0,
        other_cpu=max(0.0, other),
        wall=time.monotonic() - mark["wall"],
    )


def machine_busy() -> float:
    """CPU seconds all cores have spent busy since boot."""
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


def run_ingest(name: str, base: Path, duration: float, warmup: float,
               profile_seconds: float = 0.0, tag: str = "",
               commit_wait: float = 0.0) -> tuple[IngestResult, str]:
    ours = name.startswith("ours")
    workdir = base / (tag or name)
    workdir.mkdir()
    sim = Simulator(workdir, "--account", "bench:secret")
    gateway: Gateway | None = None
    profile = ""
    try:
        conf, port = write_conf(workdir, sim.port, ours, spool=name != "ours-memory")
        if name == "ours-commit-wait":
            gateway = start_ours(workdir, conf, port, commit_wait=commit_wait)
            gateway.name = (f"Passerelle, what-if: spool commit_wait = {commit_wait:g} s "
                            f"(default {spool_commit_wait():g})")
        else:
            gateway = (start_ours if ours else start_kannel)(workdir, conf, port)
        if name == "ours-memory":
            gateway.name = "Passerelle, in-memory queue (no spool-dir)"
        result = drive(gateway, sim, duration, warmup)
        if profile_seconds:
            profile = pyspy_profile(gateway, profile_seconds, base)
    finally:
        if gateway is not None:
            gateway.stop()
        sim.stop()
    return result, profile


# --- ours with a big queue ------------------------------------------------------------


@dataclass
class QueuedResult:
    kind: str
    target: int
    accepted: int
    http_accepted: int
    http_seconds: float
    filled: int
    fill_seconds: float
    refused: dict[str, int]
    rss_before: int
    rss_after: int
    disk: int
    restart: str
    first_submit: float | None
    listening: float | None
    drained: int
    drain_seconds: float
    lost: int

    @property
    def http_rate(self) -> float:
        return self.http_accepted / self.http_seconds if self.http_seconds else 0.0

    @property
    def ram_per_msg(self) -> float:
        return (self.rss_after - self.rss_before) / self.accepted if self.accepted else 0.0

    @property
    def disk_per_msg(self) -> float:
        return self.disk / self.accepted if self.accepted else 0.0

    @property
    def drain_rate(self) -> float:
        return self.drained / self.drain_seconds if self.drain_seconds else 0.0


def settled_rss(gateway: Gateway, timeout: float = 60.0) -> int:
    """The gateway's RSS once it has stopped growing for a second (recovery done)."""
    deadline = time.monotonic() + timeout
    last = gateway.rss()
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = gateway.rss()
        if abs(now - last) < 256 * 1024:
            return now
        last = now
    return gateway.rss()


def run_queued(base: Path, count: int, kind: str, http_seconds: float,
               drain_timeout: float) -> QueuedResult:
    """`count` messages queued with the SMSC down; memory, disk, restart, drain.

    sendsms fills the queue for at most `http_seconds` (that gives the accept rate with a dead
    SMSC and a growing queue); a durable spool is then topped up to `count` directly
    (`load.py fill`, with the gateway stopped), the gateway restarted over it for the memory
    figure, then SIGKILLed and restarted with the simulator up for the restart and drain."""
    workdir = base / "queued"
    workdir.mkdir()
    smsc_port = free_port()  # nobody listens there yet: the SMSC is down
    conf, port = write_conf(workdir, smsc_port, ours=True)
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONHASHSEED="0")
    argv = [sys.executable, "-m", "gateway", "run", "--config", str(conf)]
    gateway = start_ours(workdir, conf, port)
    sim: Simulator | None = None
    try:
        rss_before = settled_rss(gateway)
        url = sendsms_url(port, text=TEXT)
        started = time.monotonic()
        push = run_load(url, CONNECTIONS, count=count, duration=http_seconds)
        pushed_seconds = time.monotonic() - started
        http_accepted = push["statuses"].get("202", 0)
        print(f"  sendsms queued {http_accepted:,} in {pushed_seconds:.1f} s "
              f"({http_accepted / pushed_seconds:,.0f}/s)", flush=True)
        filled, fill_seconds = 0, 0.0
        if is_durable(kind) and http_accepted < count:
            gateway.stop()
            gateway.processes.clear()
            filled_info = fill(conf, count - http_accepted, text=TEXT, batch=2000)
            if "error" in filled_info:
                print(f"  warning: direct fill failed: {filled_info['error']}", flush=True)
                filled = int(filled_info.get("count", 0))
            else:
                filled, fill_seconds = int(filled_info["count"]), float(filled_info["seconds"])
                print(f"  filled {filled:,} more directly in {fill_seconds:.1f} s", flush=True)
            gateway._spawn("passerelle", argv, env=env)
            wait_until("our sendsms port", lambda: accepts(port), processes=gateway.processes)
        accepted = http_accepted + filled
        rss_after = settled_rss(gateway)
        disk = dir_bytes(workdir / "spool")
        print(f"  {accepted:,} queued; RSS {rss_before / 2**20:.0f} → "
              f"{rss_after / 2**20:.0f} MiB, spool {disk / 2**20:.1f} MiB", flush=True)
        first_submit: float | None = None
        # A crash and a restart with the SMSC back: only a durable queue has anything left.
        restart = "SIGKILL, simulator started, gateway restarted"
        for process in gateway.processes:
            process.send_signal(signal.SIGKILL)
            process.wait(10)
        gateway.processes.clear()
        sim = Simulator(workdir, "--account", "bench:secret", port=smsc_port)
        t0 = time.time()
        gateway._spawn("passerelle", argv, env=env)
        listening: float | None = None
        try:
            wait_until("our sendsms port", lambda: accepts(port), processes=gateway.processes)
            listening = time.time() - t0
        except RuntimeError as err:
            print(f"  warning: {err}", flush=True)
        if not is_durable(kind):
            restart += (" — the in-memory queue cannot survive that, so nothing is submitted "
                        "and the drain cannot be measured until the spool lands")
        try:
            wait_until("the first submit_sm", lambda: sim.first_submit_at is not None,
                       timeout=60 if is_durable(kind) else 15, processes=gateway.processes)
            assert sim.first_submit_at is not None
            first_submit = sim.first_submit_at - t0
        except RuntimeError as err:
            print(f"  warning: {err}", flush=True)
        # The drain, from the first submit until every accepted message is in (or stalls).
        drain_start = sim.first_submit_at or time.time()
        if first_submit is not None:
            wait_drain(sim, accepted, stall=10.0, timeout=drain_timeout)
        drained = sim.get("accepted")
        drain_seconds = time.time() - drain_start
        reached = sim.reached(accepted)
        if reached is not None:
            drain_seconds = reached - drain_start
        return QueuedResult(
            kind=kind, target=count, accepted=accepted, http_accepted=http_accepted,
            http_seconds=pushed_seconds, filled=filled, fill_seconds=fill_seconds,
            refused={k: v for k, v in push["statuses"].items() if k != "202"},
            rss_before=rss_before, rss_after=rss_after, disk=disk, restart=restart,
            first_submit=first_submit, listening=listening, drained=drained,
            drain_seconds=drain_seconds,
            lost=max(0, accepted - drained),
        )
    finally:
        gateway.stop()
        if sim is not None:
            sim.stop()


# --- profiling ------------------------------------------------------------------------


def pyspy_profile(gateway: Gateway, seconds: float, base: Path) -> str:
    """py-spy record of our process under the same load; a text summary of the top frames."""
    pyspy = shutil.which("py-spy")
    if pyspy is None:
        return "py-spy is not installed (`pip install py-spy`): no profile."
    raw = base / "profile.txt"
    svg = Path(tempfile.gettempdir()) / "passerelle-ingest.svg"
    pid = gateway.processes[0].pid
    url = sendsms_url(gateway.sendsms_port, text=TEXT)
    spy = subprocess.Popen(
        [pyspy, "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", "250",
         "--format", "raw", "--output", str(raw), "--nonblocking"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        time.sleep(1.0)
        run_load(url, CONNECTIONS, duration=seconds)
        _, err = spy.communicate(timeout=seconds + 60)
    finally:
        stop_process(spy)  # type: ignore[arg-type]
    if not raw.exists():
        return f"py-spy failed: {err.strip()[:300]}"
    subprocess.run(
        [pyspy, "record", "--pid", str(pid), "--duration", "1", "--output", str(svg),
         "--nonblocking"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False,
    )
    return summarise_profile(raw.read_text(), window=250 * seconds)


def _short(frame: str) -> str:
    """`func (path/to/file.py:123)` → `func (file.py)`."""
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    path = where.rsplit(":", 1)[0]
    parts = path.split("/")
    for anchor in ("site-packages", "main", "lib"):
        if anchor in parts:
            idx = len(parts) - 1 - parts[::-1].index(anchor)
            path = "/".join(parts[idx + 1:])
            break
    if path.startswith("python3.11/"):
        path = "stdlib/" + path[len("python3.11/"):]
    return f"{name} ({path})"


def summarise_profile(raw: str, top: int = 18, window: float = 0.0) -> str:
    """Self and inclusive sample shares from py-spy's collapsed stacks, plus by area."""
    self_counts: collections.Counter[str] = collections.Counter()
    incl: collections.Counter[str] = collections.Counter()
    areas: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, number = line.rpartition(" ")
        if not stack or not number.isdigit():
            continue
        n = int(number)
        frames = [_short(f) for f in stack.split(";") if f and not f.startswith("process ")
                  and not f.startswith("thread ")]
        if not frames:
            continue
        total += n
        self_counts[frames[-1]] += n
        for f in set(frames):
            incl[f] += n
        leaf = frames[-1]
        area = ("twisted.web (HTTP parse/render)" if "twisted/web" in leaf
                else "twisted.internet (reactor, sockets)" if "twisted/internet" in leaf
                else "twisted (other)" if "twisted/" in leaf
                else "gateway/sendsms (accept path)" if "gateway/sendsms" in leaf
                else "gateway (queue, dispatch, submit)" if "gateway/" in leaf
                else "storage (spool)" if "storage/" in leaf
                else "protocols/smpp (PDU encode, session)" if "protocols/" in leaf
                else "stdlib / other")
        areas[area] += n
    if not total:
        return "py-spy recorded no samples."
    busy = (f" py-spy samples only threads that are running, at 250 Hz: {total / window:.0%} of "
            "one thread's time was busy (the reactor thread, plus the spool's writer thread "
            "in `_fsync`)." if window else "")
    lines = [f"{total:,} samples.{busy}", "", "| where the samples' leaf frame is | share |",
             "|---|---:|"]
    for area, n in areas.most_common():
        lines.append(f"| {area} | {n / total:.0%} |")
    lines += ["", "| top functions by self time | self | inclusive |", "|---|---:|---:|"]
    for frame, n in self_counts.most_common(top):
        lines.append(f"| `{frame}` | {n / total:.1%} | {incl[frame] / total:.1%} |")
    return "\n".join(lines)


# --- report ---------------------------------------------------------------------------


def fmt_bytes(n: float) -> str:
    return f"{n / 2**20:,.0f} MiB"


def markdown(results: list[IngestResult], queued: QueuedResult | None, kind: str,
             args: argparse.Namespace, profile: str) -> str:
    by = {r.name: r for r in results}
    ours, kannel = by.get("Passerelle"), by.get("Kannel 1.4.5")
    lines = [
        f"`python bench/ingest.py{' --quick' if args.quick else ''}` — sendsms GETs from "
        f"`bench/load.py` ({CONNECTIONS} keep-alive connections, its own process) for "
        f"{args.duration:g} s after a {args.warmup:g} s warm-up, into our SMSC simulator "
        "(own process, no receipts, no PDU log). Both gateways read the same kannel.conf: "
        f"one smpp smsc, transceiver, `max-pending-submits = {WINDOW}`, no access logs, "
        "log-level 2.",
        "",
        f"**Our queue in this run: `{kind}`** "
        + ("(durable: the 202 follows the fsync)." if is_durable(kind) else
           "(the durable spool had not landed: nothing is fsync'd, as with Kannel)."),
        "",
        "| gateway | accepted/s | per second (min / median / max) | other answers | "
        "CPU µs/msg | RSS at end | at the simulator | drain after load | mean latency | "
        "client CPU | other processes |",
        "|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        ps = r.per_second or [0]
        other = ", ".join(f"{k}: {v}" for k, v in sorted(r.other.items())) or "—"
        lines.append(
            f"| {r.name} | {r.rate:,.0f} | {min(ps):,} / {statistics.median(ps):,.0f} / "
            f"{max(ps):,} | {other} | {r.us_per_msg:,.0f} | {fmt_bytes(r.rss)} | "
            f"{r.submitted:,} of {r.accepted:,} | {r.drain_seconds:.1f} s | "
            f"{r.mean_latency_ms:.1f} ms | {r.client_cpu / r.seconds:.0%} of a core | "
            f"{r.other_cpu / r.wall if r.wall else 0:.0%} of a core |"
        )
    if ours and kannel and kannel.rate:
        lines += [
            "",
            f"**Ratio ours/Kannel: {ours.rate / kannel.rate:.2f}× accepted/s, "
            f"{ours.us_per_msg / kannel.us_per_msg:.2f}× CPU per message** "
            "(goal: ≥ 1.0× accepted/s while durable).",
        ]
        memory = next((r for r in results if "in-memory" in r.name), None)
        if memory is not None:
            lines[-1] += (f" Without the spool: {memory.rate / kannel.rate:.2f}× accepted/s, "
                          f"{memory.us_per_msg / kannel.us_per_msg:.2f}× CPU per message.")
    if ours:
        share = ours.cpu / ours.wall if ours.wall else 0.0
        lines += [
            "",
            f"What limits ours: each client waits for its answer, so accepted/s = "
            f"{CONNECTIONS} connections / latency. Ours answered in {ours.mean_latency_ms:.1f} ms "
            f"on average while its one process used {share:.0%} of one core "
            f"({ours.us_per_msg:,.0f} µs/msg); one Python process (one core for the "
            "interpreter, plus the spool's writer thread outside the GIL) cannot go much "
            f"past 1 s / CPU per message = {1e6 / ours.us_per_msg:,.0f}/s however short the "
            "latency, and Kannel spreads its work over two processes and many threads "
            "(both cores).",
        ]
        memory = next((r for r in results if "in-memory" in r.name), None)
        what_if = next((r for r in results if "what-if" in r.name), None)
        if kannel and ours.rate < kannel.rate:
            lines += [
                "",
                "What would fix it, from these rows:",
                "",
                "1. **The 202 waits for a group commit.** "
                + (f"In memory ours answers in {memory.mean_latency_ms:.1f} ms, with the spool "
                   f"in {ours.mean_latency_ms:.1f} ms. " if memory else "")
                + (f"With no commit wait (the what-if row) it answers in "
                   f"{what_if.mean_latency_ms:.1f} ms, {what_if.rate:,.0f}/s. " if what_if
                   else "")
                + "The spool commits one batch at a time on a writer thread (a thread hop "
                "there and back per commit); filling the next batch while one syncs "
                "(pipelined commits) would bring the wait down to about one fdatasync, "
                "~0.3 ms on this disk when the machine is quiet.",
                "2. **One Python process pays the whole path in CPU.** Even without the spool "
                "it costs "
                + (f"{memory.us_per_msg:,.0f} µs/msg " if memory else "")
                + "against Kannel's "
                f"{kannel.us_per_msg:,.0f} µs spread over two processes; twisted.web's "
                "HTTPChannel/Request (request line and header parsing, Request objects, "
                "header formatting) and socket writes are a large part of it (see the py-spy "
                "table). A lean HTTP/1.1 protocol for sendsms (httptools on a bare "
                "`Protocol`: ~57k req/s bare against ~17k for twisted.web, DESIGN.md) and "
                "several acceptor processes on one port (SO_REUSEPORT), each appending to the "
                "spool (per-process segment files, or batches handed to one writer), with one "
                "dispatcher process, would use both cores as Kannel does.",
            ]
    lines += [
        "",
        "CPU µs/msg: user + system CPU of the gateway processes (ours: one; Kannel: bearerbox "
        "+ smsbox, all threads) from the first measured request until the simulator had every "
        "accepted message, over the accepted messages. The machine has "
        f"{os.cpu_count()} cores shared by the client, the gateway and the simulator; "
        "\"other processes\" is what the rest of the machine used meanwhile (other "
        "engineers' test runs on this shared VM), which the figures suffer from.",
    ]
    if queued is not None:
        q = queued
        lines += [
            "",
            f"### Ours with a queue ({q.kind})",
            "",
            f"{q.accepted:,} messages queued (of {q.target:,} asked) with the SMSC down: "
            f"{q.http_accepted:,} through sendsms in {q.http_seconds:.0f} s "
            f"({q.http_rate:,.0f}/s"
            + (f"; other answers: {q.refused}" if q.refused else "") + ")"
            + (f", then {q.filled:,} written straight into the spool by `bench/load.py fill` "
               f"(SpoolQueue.put in batches of 2,000: same records and fsync, no HTTP) in "
               f"{q.fill_seconds:.0f} s with the gateway stopped. At the sendsms rate above, "
               f"{q.target:,} would take {q.target / q.http_rate / 60:.0f} min over HTTP."
               if q.filled and q.http_rate else "."),
            "",
            "| figure | value |",
            "|---|---:|",
            f"| RSS empty → queued (fresh process each, after recovery) | "
            f"{fmt_bytes(q.rss_before)} → {fmt_bytes(q.rss_after)} |",
            f"| RAM per queued message | {q.ram_per_msg:,.0f} bytes |",
            f"| disk per queued message | {q.disk_per_msg:,.0f} bytes "
            f"({fmt_bytes(q.disk)} under spool-dir) |",
            "| restart → first submit_sm | "
            + (f"{q.first_submit:.2f} s" if q.first_submit is not None else "none")
            + (f" (sendsms port open after {q.listening:.2f} s)" if q.listening else "") + " |",
            (f"| drain | {q.drained:,} in {q.drain_seconds:.1f} s = {q.drain_rate:,.0f}/s |"
             if q.drained else "| drain | nothing to drain |"),
            f"| lost | {q.lost:,} |",
            "",
            "The drain can count a few more than were queued: the requests in flight when the "
            "load generator stopped were accepted too.",
            "",
            f"Restart: {q.restart}.",
        ]
    if profile:
        lines += ["", "### Where our process spends its time (py-spy, under the same load)", "",
                  profile]
    if args.notes:
        lines += ["", args.notes]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=15.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=3.0, help="warm-up seconds")
    parser.add_argument("--queued", type=int, default=1_000_000,
                        help="messages to queue with the SMSC down (0 = skip)")
    parser.add_argument("--http-seconds", type=float, default=30.0,
                        help="at most this long filling the queue through sendsms; a durable "
                             "spool is then topped up directly")
    parser.add_argument("--drain-timeout", type=float, default=240.0)
    parser.add_argument("--profile", type=float, default=8.0,
                        help="py-spy seconds when ours is slower than Kannel (0 = never)")
    parser.add_argument("--only", choices=("ours", "kannel"), help="one gateway only")
    parser.add_argument("--what-if-commit-wait", type=float, default=0.0, metavar="SECONDS",
                        help="also measure ours with the spool's group-commit wait set to "
                             "this (default 0: commit as soon as the writer is free); "
                             "-1 = skip")
    parser.add_argument("--no-memory-row", dest="memory_row", action="store_false",
                        help="do not also measure ours without spool-dir (in-memory queue)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 3 s, 1 s warm-up, 20,000 queued (3 s of sendsms), "
                             "no docs update")
    parser.add_argument("--no-report", action="store_true", help="do not touch BENCHMARKS.md")
    parser.add_argument("--notes", default="", help="a paragraph appended to the section")
    args = parser.parse_args(argv)
    if args.what_if_commit_wait is not None and args.what_if_commit_wait < 0:
        args.what_if_commit_wait = None
    if args.quick:
        args.duration, args.warmup, args.profile = 3.0, 1.0, 0.0
        args.queued, args.http_seconds = min(args.queued, 20_000), 3.0
        args.no_report = True

    base = Path(tempfile.mkdtemp(prefix="passerelle-ingest-"))
    try:
        probe = base / "probe"
        probe.mkdir()
        conf, _ = write_conf(probe, 1, ours=True)
        kind = queue_kind(conf)
        print(f"our queue: {kind}", flush=True)
        results: list[IngestResult] = []
        names = ["ours", "kannel"] if args.only is None else [args.only]
        if is_durable(kind) and args.memory_row and "ours" in names:
            names.insert(1, "ours-memory")
        if (is_durable(kind) and args.what_if_commit_wait is not None and "ours" in names
                and spool_commit_wait() not in (None, args.what_if_commit_wait)):
            names.insert(1, "ours-commit-wait")
        if "kannel" in names and not (BEARERBOX.exists() and SMSBOX.exists()):
            print("Kannel is not installed (apt-get install kannel): measuring ours only")
            names.remove("kannel")
        for name in names:
            result, _ = run_ingest(name, base, args.duration, args.warmup,
                                   commit_wait=args.what_if_commit_wait or 0.0)
            results.append(result)
            print(f"{result.name}: {result.accepted:,} accepted in {result.seconds:.1f} s = "
                  f"{result.rate:,.0f}/s; {result.us_per_msg:,.0f} µs CPU/msg; RSS "
                  f"{fmt_bytes(result.rss)}; simulator got {result.submitted:,}; "
                  f"other {result.other}", flush=True)
        profile = ""
        ours = next((r for r in results if r.name == "Passerelle"), None)
        kannel = next((r for r in results if r.name.startswith("Kannel")), None)
        if ours and kannel:
            print(f"ratio ours/Kannel: {ours.rate / kannel.rate:.2f}x", flush=True)
        if args.profile and ours and (kannel is None or ours.rate < kannel.rate):
            print(f"profiling ours with py-spy for {args.profile:g} s", flush=True)
            _, profile = run_ingest("ours", base, 0.5, 1.0, args.profile, tag="profile")
            print(profile, flush=True)
        queued = None
        if args.queued and "ours" in names:
            print(f"queueing {args.queued:,} with the SMSC down", flush=True)
            queued = run_queued(base, args.queued, kind, args.http_seconds, args.drain_timeout)
        text = markdown(results, queued, kind, args, profile)
        print()
        print(text)
        if not args.no_report:
            write_section("ingest", text)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
