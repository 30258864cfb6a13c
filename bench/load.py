"""Shared pieces of the gateway benchmarks: a keep-alive HTTP load generator and a simulator.

    python bench/load.py --connections 16 --duration 10 'http://127.0.0.1:13013/cgi-bin/sendsms?...'
    python bench/load.py --connections 16 --count 100000 URL      # stop after 100,000 answers
    python bench/load.py sim --port 0 --account bench:secret       # simulator + live counters

The load generator runs in its own process so that it does not share the gateway's CPU
(it still shares the machine's cores: its own CPU time is printed so a reader can see what it
took). It keeps N HTTP/1.1 connections open over non-blocking sockets and one epoll loop,
sends the next GET on a connection as soon as the previous answer is complete, and prints one
JSON object: answers per status, per whole second, its CPU seconds. A `{n}` in the URL is
replaced by a running request number (so every message can carry a unique marker) and a `{t}`
by the unix time the request was built (so a callback can tell its own latency); without
either the request bytes are built once.

`sim` runs `python -m protocols.smpp.simulator`'s server with the same options, and in
addition prints its counters as one JSON line on stdout every 100 ms, so a benchmark can see
how many submits arrived without turning on the per-PDU log.

The helpers below (`start_simulator`, `run_load`, `free_port`, ...) are what bench/ingest.py
and bench/lanes.py share.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import select
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
READY = re.compile(r"listening on ([0-9.]+):(\d+)")


# --- the load generator ----------------------------------------------------------------


class _Conn:
    __slots__ = ("sock", "buf", "fd", "sent_at")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.fd = sock.fileno()
        self.buf = b""
        self.sent_at = 0.0


def _connect(host: str, port: int) -> socket.socket:
    sock = socket.create_connection((host, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setblocking(False)
    return sock


def generate(url: str, connections: int, duration: float, count: int,
             warmup: float = 0.0) -> dict[str, Any]:
    """Drive `url` with `connections` keep-alive connections until `duration` seconds have
    passed or `count` answers came back (0 = no limit); the figures as a dict.

    With `warmup`, the same connections first run that many seconds uncounted; the line
    `warm` on stderr marks the start of the measured part (a benchmark snapshots CPU then)."""
    parts = urllib.parse.urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    target = parts.path + ("?" + parts.query if parts.query else "")
    head = f"GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n"
    templated = "{n}" in head or "{t}" in head
    fixed = head.encode("latin-1")
    number = 0

    def request() -> bytes:
        nonlocal number
        number += 1
        if not templated:
            return fixed
        text = head.replace("{n}", str(number))
        if "{t}" in text:
            text = text.replace("{t}", f"{time.time():.6f}")
        return text.encode("latin-1")

    statuses: dict[str, int] = {}
    per_second: list[dict[str, int]] = []
    reconnects = 0
    errors: list[str] = []
    answered = 0
    sent = 0
    latency_sum = 0.0
    latency_max = 0.0
    epoll = select.epoll()
    conns: dict[int, _Conn] = {}

    def open_one() -> None:
        nonlocal sent
        conn = _Conn(_connect(host, port))
        conns[conn.fd] = conn
        epoll.register(conn.fd, select.EPOLLIN)
        if count and sent >= count:
            return
        conn.sent_at = time.perf_counter()
        conn.sock.send(request())
        sent += 1

    cpu0 = time.process_time()
    started = time.perf_counter()
    warming = warmup > 0
    deadline = started + (warmup if warming else duration) if duration else float("inf")
    for _ in range(connections):
        open_one()
    active = len(conns)
    while active and not (count and answered >= count):
        now = time.perf_counter()
        if now >= deadline and warming:
            warming = False
            sys.stderr.write("warm\n")
            sys.stderr.flush()
            statuses.clear()
            per_second.clear()
            answered = 0
            latency_sum = latency_max = 0.0
            cpu0 = time.process_time()
            started = now
            deadline = now + duration
        if now >= deadline:
            break
        events = epoll.poll(min(0.5, deadline - now))
        now = time.perf_counter()
        second = int(now - started)
        while len(per_second) <= second:
            per_second.append({})
        bucket = per_second[second]
        for fd, _mask in events:
            conn = conns.get(fd)
            if conn is None:
                continue
            try:
                data = conn.sock.recv(65536)
            except OSError as err:
                data = b""
                errors.append(str(err))
            if not data:
                epoll.unregister(fd)
                conn.sock.close()
                del conns[fd]
                active -= 1
                if conn.buf or conn.sent_at:
                    reconnects += 1
                    if now < deadline and not (count and sent >= count):
                        try:
                            open_one()
                            active += 1
                        except OSError as err:
                            errors.append(str(err))
                continue
            buf = conn.buf + data
            close = False
            while True:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    break
                header = buf[:end]
                lower = header.lower()
                at = lower.find(b"content-length:")
                length = 0
                if at >= 0:
                    stop = lower.find(b"\r\n", at)
                    length = int(lower[at + 15: stop if stop > 0 else None])
                total = end + 4 + length
                if len(buf) < total:
                    break
                status = header[9:12].decode("latin-1")
                statuses[status] = statuses.get(status, 0) + 1
                bucket[status] = bucket.get(status, 0) + 1
                if b"connection: close" in lower:
                    close = True
                buf = buf[total:]
                answered += 1
                took = now - conn.sent_at
                latency_sum += took
                if took > latency_max:
                    latency_max = took
                conn.sent_at = 0.0
            conn.buf = buf
            if conn.sent_at == 0.0 and not buf:
                if close:
                    epoll.unregister(fd)
                    conn.sock.close()
                    del conns[fd]
                    active -= 1
                    if now < deadline and not (count and sent >= count):
                        open_one()
                        active += 1
                    continue
                if (count and sent >= count) or now >= deadline:
                    continue
                conn.sent_at = now
                try:
                    conn.sock.send(request())
                    sent += 1
                except OSError as err:
                    errors.append(str(err))
    elapsed = time.perf_counter() - started
    for conn in conns.values():
        conn.sock.close()
    epoll.close()
    return {
        "url": url,
        "connections": connections,
        "elapsed": round(elapsed, 4),
        "sent": sent,
        "answered": answered,
        "statuses": statuses,
        "per_second": per_second,
        "reconnects": reconnects,
        "errors": errors[:10],
        "warmup": warmup,
        "mean_latency_ms": round(latency_sum / answered * 1000, 3) if answered else None,
        "max_latency_ms": round(latency_max * 1000, 3),
        "cpu_seconds": round(time.process_time() - cpu0, 4),
    }


# --- the simulator with live counters -------------------------------------------------


def simulator_main(argv: list[str]) -> int:
    """`load.py sim ...`: the simulator's own options, plus counters on stdout every 100 ms."""
    sys.path.insert(0, str(ROOT))
    from twisted.internet import reactor, task

    from protocols.smpp.simulator.cli import config_from_args
    from protocols.smpp.simulator.server import listen

    config = config_from_args(argv)
    port = listen(reactor, config)  # type: ignore[arg-type]
    address = port.getHost()
    print(f"listening on {address.host}:{address.port}", file=sys.stderr,  # type: ignore[attr-defined]
          flush=True)
    counters = port.factory.counters  # type: ignore[attr-defined]
    last: list[str] = [""]

    def report() -> None:
        line = json.dumps(counters.as_dict())
        if line != last[0]:
            last[0] = line
            sys.stdout.write(f"{time.time():.6f} {line}\n")
            sys.stdout.flush()

    task.LoopingCall(report).start(0.1)
    reactor.run()  # type: ignore[attr-defined]
    report()
    return 0


# --- filling a durable spool directly ------------------------------------------------


def fill_main(argv: list[str]) -> int:
    """`load.py fill CONF COUNT`: put COUNT messages straight into the spool that CONF's
    gateway would open (it must not be running), through `SpoolQueue.put` in batches: the
    same record encoding, lanes and group-commit fsync as sendsms, without HTTP. Prints one
    JSON line; exit status 2 when the configured queue is not durable."""
    parser = argparse.ArgumentParser(prog="load.py fill")
    parser.add_argument("conf")
    parser.add_argument("count", type=int)
    parser.add_argument("--priority", type=int, default=0)
    parser.add_argument("--text", default="Bulk campaign message {n}")
    parser.add_argument("--username", default="bench")
    parser.add_argument("--batch", type=int, default=2000)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from twisted.internet import defer, task

    from gateway.config import load_config
    from gateway.message import Message
    from gateway.service import GatewayService

    config = load_config(args.conf)
    result: dict[str, Any] = {}

    async def fill(reactor: Any) -> None:
        queue: Any = GatewayService._queue(config, reactor)
        if not hasattr(queue, "open"):
            result["error"] = f"{type(queue).__name__} is not durable"
            return
        await queue.open()
        started = time.perf_counter()
        run = os.urandom(4).hex()
        done = 0
        while done < args.count:
            size = min(args.batch, args.count - done)
            now = time.time()
            batch = [
                Message(
                    id=f"{run}{done + i:010d}", parent_id=f"{run}{done + i:010d}",
                    sender="12345", receiver="4670000001",
                    payload=args.text.replace("{n}", str(done + i)).encode(),
                    username=args.username, priority=args.priority, created=now,
                )
                for i in range(size)
            ]
            await queue.put(batch)
            done += size
            result["count"] = done
        result.update(queue=type(queue).__name__, count=done,
                      seconds=round(time.perf_counter() - started, 3))
        await queue.close()

    async def guarded(reactor: Any) -> None:
        try:
            await fill(reactor)
        except Exception:  # noqa: BLE001 - reported in the JSON line
            import traceback

            result["error"] = traceback.format_exc()[-1500:]

    try:
        task.react(lambda reactor: defer.ensureDeferred(guarded(reactor)), [])
    except SystemExit as exit_:
        if exit_.code:
            result.setdefault("error", f"exit {exit_.code}")
    print(json.dumps(result), flush=True)
    return 2 if "error" in result else 0


def fill(conf: Path, count: int, **options: Any) -> dict[str, Any]:
    """Run `load.py fill` in its own process; its JSON line (with `error` if not durable)."""
    argv = [sys.executable, str(Path(__file__).resolve()), "fill", str(conf), str(count)]
    for key, value in options.items():
        argv += [f"--{key}", str(value)]
    out = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, check=False)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if not lines:
        return {"error": (out.stderr or out.stdout).strip()[-500:]}
    return dict(json.loads(lines[-1]))


# --- helpers for the benchmarks -------------------------------------------------------


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def accepts(port: int) -> bool:
    """Whether something listens on 127.0.0.1:`port`."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def wait_until(what: str, check: Callable[[], Any], timeout: float = 30.0,
               processes: list[subprocess.Popen[Any]] | None = None) -> Any:
    """Poll `check` until it returns something true; RuntimeError on timeout or if one of
    `processes` exits meanwhile."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for process in processes or ():
            if process.poll() is not None:
                raise RuntimeError(f"{process.args!r} exited ({process.returncode}) "
                                   f"while waiting for {what}")
        result = check()
        if result:
            return result
        time.sleep(0.02)
    raise RuntimeError(f"timed out waiting for {what}")


class Simulator:
    """`load.py sim` in its own process; `counters` is the latest set it printed."""

    def __init__(self, workdir: Path, *options: str, port: int = 0) -> None:
        self.stderr_path = workdir / "simulator.err"
        with open(self.stderr_path, "wb") as err:
            self.process = subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve()), "sim", "--host", "127.0.0.1",
                 "--port", str(port), *options],
                cwd=ROOT, stdout=subprocess.PIPE, stderr=err, stdin=subprocess.DEVNULL,
                text=True,
            )
        self.counters: dict[str, int] = {}
        self.first_submit_at: float | None = None
        #: (time, accepted submits) each time the counters changed.
        self.history: list[tuple[float, int]] = []
        self._lock = threading.Lock()
        self.port = int(wait_until(
            "the simulator's port",
            lambda: (m := READY.search(self.stderr_path.read_text())) and m.group(2),
            processes=[self.process],
        ))
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            stamp, _, data = line.partition(" ")
            try:
                counters = json.loads(data)
            except ValueError:
                continue
            with self._lock:
                if self.first_submit_at is None and counters.get("submits"):
                    self.first_submit_at = float(stamp)
                self.counters = counters
                self.history.append((float(stamp), int(counters.get("accepted", 0))))

    def get(self, name: str) -> int:
        with self._lock:
            return int(self.counters.get(name, 0))

    def reached(self, accepted: int) -> float | None:
        """When the simulator's accepted submits first reached `accepted` (its clock)."""
        with self._lock:
            return next((t for t, n in self.history if n >= accepted), None)

    def stop(self) -> None:
        stop_process(self.process)


def stop_process(process: subprocess.Popen[Any] | None, timeout: float = 10.0) -> None:
    """SIGTERM a process we started, SIGKILL if it does not exit in `timeout` seconds."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout)


def run_load(url: str, connections: int = 16, duration: float = 0.0, count: int = 0,
             warmup: float = 0.0, on_warm: Callable[[], None] | None = None) -> dict[str, Any]:
    """Run the load generator in its own process; its JSON result. `on_warm` is called
    (in this process) when the warm-up ends and the measured part begins."""
    argv = [sys.executable, str(Path(__file__).resolve()), "--connections", str(connections),
            "--duration", str(duration), "--count", str(count), "--warmup", str(warmup), url]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, cwd=ROOT)
    errors: list[str] = []

    def watch() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            if line.strip() == "warm":
                if on_warm is not None:
                    on_warm()
            else:
                errors.append(line)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        assert process.stdout is not None
        out = process.stdout.read()
        process.wait()
        watcher.join(5)
    finally:
        stop_process(process)
    if errors:
        sys.stderr.write("".join(errors))
    if process.returncode:
        raise RuntimeError(f"load generator failed ({process.returncode})")
    return dict(json.loads(out))


def sendsms_url(port: int, username: str = "bench", password: str = "bench",
                text: str = "Your code is 123456. It expires in 10 minutes.",
                to: str = "4670000001", **extra: str | int) -> str:
    """A sendsms GET URL on 127.0.0.1:`port` ({n} in `text` stays a placeholder)."""
    query = urllib.parse.urlencode(
        {"username": username, "password": password, "from": "12345", "to": to,
         "text": text, **extra}
    ).replace("%7Bn%7D", "{n}").replace("%7Bt%7D", "{t}")
    return f"http://127.0.0.1:{port}/cgi-bin/sendsms?{query}"


def cpu_seconds(processes: list[Any]) -> float:
    """User + system CPU of psutil processes (all their threads), summed."""
    return sum(sum(p.cpu_times()[:2]) for p in processes)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["sim"]:
        return simulator_main(argv[1:])
    if argv[:1] == ["fill"]:
        return fill_main(argv[1:])
    parser = argparse.ArgumentParser(description="keep-alive HTTP GET load, JSON out")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds; 0 = no limit")
    parser.add_argument("--count", type=int, default=0, help="stop after N answers; 0 = none")
    parser.add_argument("--warmup", type=float, default=0.0,
                        help="seconds on the same connections before measuring")
    parser.add_argument("url")
    args = parser.parse_args(argv)
    if not args.duration and not args.count:
        parser.error("give --duration or --count")
    result = generate(args.url, args.connections, args.duration, args.count, args.warmup)
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
