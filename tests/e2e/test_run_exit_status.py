"""`passerelle run` tells the shell when the gateway could not run: exit status 1."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from bench.load import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_run_exits_1_when_another_gateway_holds_the_spool(tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    config = tmp_path / "kannel.conf"
    config.write_text(
        textwrap.dedent(
            f"""\
            group = core
            admin-port = {free_port()}
            admin-interface = 127.0.0.1
            admin-password = secret

            group = smsc
            smsc = smpp
            smsc-id = sim
            host = 127.0.0.1
            port = {free_port()}
            transceiver-mode = true
            smsc-username = esme
            smsc-password = secret
            system-type = ""

            group = passerelle
            spool-dir = {spool}
            """
        )
    )
    # Hold the spool's lock as a first gateway would.
    lock = os.open(spool / "LOCK", os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        result = subprocess.run(
            [sys.executable, "-m", "gateway", "run", "--config", str(config)],
            cwd=tmp_path,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        os.close(lock)
    assert result.returncode == 1, result.stderr
    assert "passerelle run:" in result.stderr
    assert "spool" in result.stderr
