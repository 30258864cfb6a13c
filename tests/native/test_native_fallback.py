"""With `PASSERELLE_NATIVE=0` the gateway's encoding code runs on the twin and still passes
its Kannel-parity tests: the suites of protocols/sms and the native golden vectors, in a
fresh interpreter so that the choice made at import is the twin's."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def test_protocols_sms_passes_on_the_twin() -> None:
    env = {**os.environ, "PASSERELLE_NATIVE": "0"}
    probe = subprocess.run(
        [sys.executable, "-c", "import native; print(native.IMPLEMENTATION)"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert probe.stdout.strip() == "python", probe.stderr
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x",
         "tests/protocols/sms", "tests/native/test_native_golden.py"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
