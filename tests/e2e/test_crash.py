"""Crash test: a gateway process under sendsms load is killed with SIGKILL at random
moments (5 times here; `python bench/crash.py` does 20), restarted each time, and every
message that got a 202 must reach the SMSC at least once. Duplicates are printed, not failed.
The harness (real processes, sockets and a spool) lives in bench/crash.py.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

CRASH_PY = Path(__file__).resolve().parents[2] / "bench" / "crash.py"


def load_harness() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_crash", CRASH_PY)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_crash"] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


harness = load_harness()

KILLS = 5
SEED = int(os.environ.get("PASSERELLE_CRASH_SEED", "4"))


def test_every_accepted_message_survives_sigkill(tmp_path: Path) -> None:
    result = harness.run_crash(tmp_path, KILLS, SEED)
    print(
        f"\ncrash test: {result.kills} SIGKILLs, {result.starts} starts, {result.accepted} "
        f"accepted (202), {result.cut} requests cut by a kill, {result.delivered} distinct "
        f"delivered, {result.duplicates} duplicates, {len(result.missing)} missing"
    )
    assert not result.missing, (
        f"{len(result.missing)} accepted messages never reached the SMSC, "
        f"e.g. {result.missing[:10]}"
    )
    assert result.stopped_cleanly
    assert not result.tracebacks
