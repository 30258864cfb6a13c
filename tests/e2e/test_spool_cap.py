"""Cap test: a small spool byte cap, the SMSC down, a flood of sendsms requests. 503s appear,
the spool's disk use never passes the cap, and once the SMSC is up everything that got a 202
is delivered. Real processes and sockets (the harness of bench/crash.py)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

CRASH_PY = Path(__file__).resolve().parents[2] / "bench" / "crash.py"
_spec = importlib.util.spec_from_file_location("bench_crash", CRASH_PY)
assert _spec is not None and _spec.loader is not None
harness = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("bench_crash", harness)
_spec.loader.exec_module(harness)
Load, Stack, wait_for = harness.Load, harness.Stack, harness.wait_for

CAP = 200 * 1024


def message_spool(directory: Path) -> list[Path]:
    """What `spool-max-bytes` caps: the lanes of messages. The spool directory also holds the
    callback outbox (`callbacks/`, capped by callback-max-bytes) and the embedded DLR store
    (`dlr.sqlite*`, bounded by dlr-max-entries), which have bounds of their own."""
    return sorted(directory.glob("lane-*"))


def file_bytes(directory: Path) -> tuple[int, int]:
    """(bytes of every message-spool file, number of directories), as stat sees them."""
    total = dirs = 0
    for lane in message_spool(directory):
        for root, _subdirs, files in os.walk(lane):
            dirs += 1
            for name in files:
                try:
                    total += os.stat(os.path.join(root, name)).st_size
                except FileNotFoundError:  # deleted while we looked
                    pass
    return total, dirs


def du_bytes(directory: Path) -> int:
    """`du -sbc` of the message spool: apparent size, directories included."""
    lanes = [str(p) for p in message_spool(directory)]
    if not lanes:
        return 0
    out = subprocess.run(["du", "-sbc", *lanes], capture_output=True, text=True,
                         check=True).stdout
    return int(out.splitlines()[-1].split()[0])


def test_a_full_spool_refuses_and_never_grows_past_its_cap(tmp_path: Path) -> None:
    stack = Stack(tmp_path, passerelle=f"spool-max-bytes = {CAP // 1024}K")
    load = Load(stack.sendsms_port, threads=4)
    try:
        stack.start_gateway()  # no simulator: the SMSC is down
        load.start()
        peak_files = peak_du = 0
        dirs = 1
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and load.refused < 100:
            files, dirs = file_bytes(stack.spool_dir)
            peak_files = max(peak_files, files)
            if int(time.monotonic() * 10) % 3 == 0:
                peak_du = max(peak_du, du_bytes(stack.spool_dir))
            time.sleep(0.01)
        load.stop()
        files, dirs = file_bytes(stack.spool_dir)
        peak_files = max(peak_files, files)
        peak_du = max(peak_du, du_bytes(stack.spool_dir))
        accepted = set(load.accepted)
        print(
            f"\ncap test: cap {CAP} B, {len(accepted)} accepted, {load.refused} refused (503), "
            f"{load.errors} errors, peak file bytes {peak_files}, peak du -sb {peak_du} "
            f"({dirs} directories)"
        )
        assert load.refused > 0 and accepted, (load.refused, len(accepted), load.other)
        assert not load.other, load.other
        assert peak_files <= CAP
        # du counts each directory's own entry block too; the files alone stay under the cap.
        assert peak_du <= CAP + dirs * 4096
        stack.start_sim()
        assert wait_for(lambda: accepted <= set(stack.received()), timeout=30), (
            f"{len(accepted - set(stack.received()))} accepted messages not delivered"
        )
        assert stack.stop_gateway() == 0
        assert "Traceback" not in stack.gateway_logs(), stack.gateway_logs()[-5000:]
    finally:
        load.stop()
        stack.close()
