"""OTPs at priority 3 behind 1,000,000 queued bulk messages on an SMSC limited to 100 msg/s:
accept→submit_sm latency p50/p99 (goal: p99 < 100 ms).

    python bench/lanes.py                   # full run: 1,000,000 bulk (~5-8 min), updates docs
    python bench/lanes.py --bulk 100000     # fewer bulk messages (the figure says how many)
    python bench/lanes.py --quick           # smoke run: 5,000 bulk, 40 OTPs, no docs update

One simulator (`bench/load.py sim`, its own process, with its JSON PDU log on: every
submit_sm is logged with its time stamp and the text) and our gateway (`python -m gateway
run --config FILE`). The smsc group has `throughput = 100` when our SmscLink takes a
throughput (the token bucket); before that landed, the simulator's `--throttle 100` stood in
for the limit (our link then backs off on ESME_RTHROTTLED). Which one was used is printed.

1. `--bulk` bulk messages at priority 0 are pushed by `bench/load.py` (16 keep-alive
   connections) while the SMSC drains them at 100/s, so almost all of them wait in the queue;
2. `--otps` OTPs at priority 3, one every `--interval` seconds, each with a unique marker in
   its text, from one keep-alive connection in this process; the accept time is when its 202
   came back;
3. the submit time of each OTP is the simulator's log time stamp of the submit_sm (answered
   ESME_ROK) carrying its marker. Both clocks are this machine's wall clock.
"""

from __future__ import annotations

import argparse
import http.client
import inspect
import json
import os
import shutil
import sys
import tempfile
import time
import urllib.parse
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.ingest import start_ours  # noqa: E402
from bench.load import (  # noqa: E402
    Simulator,
    fill,
    free_port,
    run_load,
    sendsms_url,
    wait_until,
)
from bench.report import write_section  # noqa: E402

RATE = 100
GOAL_MS = 100.0

CONF = """\
group = core
admin-port = {admin_port}
admin-interface = 127.0.0.1
admin-password = bench-admin
smsbox-port = {box_port}
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
reconnect-delay = 1
max-pending-submits = {window}
{throughput_line}

group = smsbox
bearerbox-host = 127.0.0.1
sendsms-port = {sendsms_port}
sendsms-interface = 127.0.0.1

group = sendsms-user
username = bench
password = bench
max-messages = 10

group = passerelle
spool-dir = {workdir}/spool
spool-max-bytes = 64G
spool-max-messages = 20000000
queue-max-messages = 20000000
"""


def link_throttles() -> bool:
    """Whether our SmscLink takes a `throughput` (the token bucket has landed)."""
    from gateway.smsc import SmscLink

    return "throughput" in inspect.signature(SmscLink.__init__).parameters


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) by nearest rank."""
    ordered = sorted(values)
    rank = max(1, int(-(-q * len(ordered) // 1)))
    return ordered[min(rank, len(ordered)) - 1]


def send_otps(port: int, count: int, interval: float) -> tuple[dict[str, float], dict[str, int]]:
    """`count` OTPs at priority 3 on one keep-alive connection; marker → accept time."""
    accepted: dict[str, float] = {}
    statuses: dict[str, int] = {}
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    run = uuid.uuid4().hex[:8]
    start = time.monotonic()
    try:
        for i in range(count):
            due = start + i * interval
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            marker = f"OTP{run}x{i:05d}"
            url = urllib.parse.urlsplit(
                sendsms_url(port, text=f"Your code is {i:06d}. {marker}", priority=3)
            )
            conn.request("GET", f"{url.path}?{url.query}")
            reply = conn.getresponse()
            reply.read()
            stamp = time.time()
            statuses[str(reply.status)] = statuses.get(str(reply.status), 0) + 1
            if reply.status == 202:
                accepted[marker] = stamp
    finally:
        conn.close()
    return accepted, statuses


def submits(log: Path) -> list[dict[str, Any]]:
    """The simulator's submit_sm records (every answer), oldest first, rotated file too."""
    records: list[dict[str, Any]] = []
    for path in (log.with_name(log.name + ".1"), log):
        if not path.exists():
            continue
        with open(path, encoding="utf-8") as lines:
            for line in lines:
                if '"submit_sm"' not in line or '"dir":"in"' not in line:
                    continue
                try:
                    records.append(json.loads(line))
                except ValueError:
                    continue
    return records


def otp_submit_times(records: list[dict[str, Any]], markers: set[str]) -> dict[str, float]:
    """marker → time stamp of its first submit_sm answered ESME_ROK."""
    found: dict[str, float] = {}
    for record in records:
        if record.get("status") != 0:
            continue
        text = bytes.fromhex(record.get("text_hex", "")).decode("latin-1")
        at = text.find("OTP")
        if at < 0:
            continue
        marker = text[at:].split()[0].rstrip(".")
        if marker in markers and marker not in found:
            found[marker] = float(record["ts"])
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bulk", type=int, default=1_000_000, help="bulk messages queued")
    parser.add_argument("--otps", type=int, default=200)
    parser.add_argument("--interval", type=float, default=0.05, help="seconds between OTPs")
    parser.add_argument("--window", type=int, default=64, help="max-pending-submits")
    parser.add_argument("--sim-throttle", type=int, default=None,
                        help="the simulator's --throttle (default: 0 with throughput = 100 "
                             "in the smsc group, 100 without)")
    parser.add_argument("--bulk-over-http", action="store_true",
                        help="queue the bulk through sendsms even with a durable spool")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 5,000 bulk, 40 OTPs, no docs update")
    parser.add_argument("--no-report", action="store_true", help="do not touch BENCHMARKS.md")
    parser.add_argument("--notes", default="", help="a paragraph appended to the section")
    args = parser.parse_args(argv)
    if args.quick:
        args.bulk, args.otps, args.no_report = min(args.bulk, 5_000), min(args.otps, 40), True

    throughput = link_throttles()
    sim_throttle = args.sim_throttle if args.sim_throttle is not None else (
        0 if throughput else RATE)
    base = Path(tempfile.mkdtemp(prefix="passerelle-lanes-"))
    sim: Simulator | None = None
    gateway = None
    try:
        from bench.ingest import queue_kind

        log = base / "simulator.jsonl"
        sim = Simulator(base, "--account", "bench:secret", "--throttle", str(sim_throttle),
                        "--log", str(log), "--log-max-bytes", "0")
        sendsms_port = free_port()
        conf = base / "kannel.conf"
        conf.write_text(CONF.format(
            admin_port=free_port(), box_port=free_port(), smsc_port=sim.port,
            window=args.window, sendsms_port=sendsms_port, workdir=base,
            throughput_line=f"throughput = {RATE}" if throughput else "",
        ))
        kind = queue_kind(conf)
        limit = (f"`throughput = {RATE}` in the smsc group (our token bucket)"
                 + (f", and the simulator's `--throttle {sim_throttle}`" if sim_throttle else "")
                 if throughput else
                 f"the simulator's `--throttle {sim_throttle}` (ESME_RTHROTTLED past it; our "
                 "link had no `throughput` yet)")
        print(f"queue: {kind}; SMSC limit: {limit}", flush=True)
        bulk_text = "Bulk campaign message {n}"
        how = ""
        filled: dict[str, Any] = {"error": "not tried"}
        if kind != "MemoryQueue" and not args.bulk_over_http:
            # Straight into the spool with the gateway stopped: same records, lanes and fsync
            # as sendsms, without minutes of HTTP.
            filled = fill(conf, args.bulk, priority=0, text=bulk_text, batch=2000)
        t0 = time.monotonic()
        if "error" not in filled:
            bulk_ok, bulk_seconds = int(filled["count"]), float(filled["seconds"])
            how = ("written straight into the spool by `bench/load.py fill` (SpoolQueue.put "
                   "in batches of 2,000: same records, lanes and fsync as sendsms, no HTTP) "
                   "before the gateway started")
            gateway = start_ours(base, conf, sendsms_port)
            wait_until("the gateway to start submitting",
                       lambda: sim.get("accepted") > 0, timeout=60)
            time.sleep(3.0)  # steady state: the bucket paces the bulk lane
        else:
            gateway = start_ours(base, conf, sendsms_port)
            bulk = run_load(sendsms_url(sendsms_port, text=bulk_text, priority=0), 16,
                            count=args.bulk)
            bulk_seconds = time.monotonic() - t0
            bulk_ok = bulk["statuses"].get("202", 0)
            how = (f"accepted through sendsms (16 keep-alive connections) in "
                   f"{bulk_seconds:.0f} s, {bulk_ok / bulk_seconds:,.0f}/s")
        print(f"bulk: {bulk_ok:,} queued at priority 0 in {bulk_seconds:.0f} s: {how}",
              flush=True)
        at_sim_before = sim.get("accepted")

        otp_started = time.time()
        accepted, statuses = send_otps(sendsms_port, args.otps, args.interval)
        otp_ended = time.time()
        # Wait for the last OTPs to reach the simulator (bounded).
        deadline = time.monotonic() + 30
        found: dict[str, float] = {}
        while time.monotonic() < deadline:
            time.sleep(0.5)
            found = otp_submit_times(submits(log), set(accepted))
            if len(found) == len(accepted):
                break
        records = submits(log)
        window_ok = [r for r in records if r.get("status") == 0
                     and otp_started <= float(r["ts"]) <= otp_ended]
        throttled = max(sim.get("throttled"),
                        sum(1 for r in records if r.get("status") == 0x58))
        sent_rate = len(window_ok) / (otp_ended - otp_started)
        queued_behind = bulk_ok - at_sim_before
    finally:
        if gateway is not None:
            gateway.stop()
        if sim is not None:
            sim.stop()
        shutil.rmtree(base, ignore_errors=True)

    latencies = [(found[m] - accepted[m]) * 1000 for m in accepted if m in found]
    missing = len(accepted) - len(latencies)
    if latencies:
        p50, p99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
        worst = max(latencies)
    else:
        p50 = p99 = worst = float("nan")
    verdict = "met" if latencies and not missing and p99 < GOAL_MS else "NOT met"
    print(f"OTPs: {len(accepted)} accepted ({statuses}); submitted {len(latencies)}; "
          f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {worst:.1f} ms; goal p99 < {GOAL_MS:.0f} "
          f"ms: {verdict}", flush=True)

    command = "python bench/lanes.py" + (f" --bulk {args.bulk}" if args.bulk != 1_000_000 else "")
    text = "\n".join([
        f"`{command}`"
        f" — {bulk_ok:,} bulk messages at priority 0 {how}; {queued_behind:,} of them still "
        f"queued when the OTPs began: {args.otps} OTPs at priority 3, one "
        f"every {args.interval * 1000:.0f} ms on one keep-alive connection. SMSC limit: {limit}; "
        f"`max-pending-submits = {args.window}`; our queue: `{kind}`.",
        "",
        "| OTPs accepted | submitted | p50 accept→submit_sm | p99 | max | goal p99 < 100 ms |",
        "|---:|---:|---:|---:|---:|---|",
        f"| {len(accepted)} | {len(latencies)} | {p50:.1f} ms | {p99:.1f} ms | {worst:.1f} ms "
        f"| {verdict} |",
        "",
        f"During the OTP phase the simulator accepted {sent_rate:.0f} submits/s in all "
        f"(bulk + OTP); {throttled:,} submits were answered ESME_RTHROTTLED over the run. "
        "Accept time: when the 202 came back to the client; submit time: the simulator's log "
        "time stamp of the submit_sm (answered ESME_ROK) carrying the OTP's marker.",
    ] + (["", args.notes] if args.notes else []))
    print()
    print(text)
    if not args.no_report:
        write_section("lanes", text)
    return 0 if latencies else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
