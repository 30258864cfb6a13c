"""deploy/passerelle.service: systemd accepts it and it says what the operations doc promises.

`systemd-analyze verify` runs when the machine has it (on a copy whose ExecStart names this
venv's `twist`, since verify insists the binary exists); the keys are checked on every
machine by reading the unit as INI, so the test never skips.
"""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

UNIT = Path(__file__).resolve().parents[2] / "deploy" / "passerelle.service"


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment, method-assign]
    parser.read_string(UNIT.read_text(encoding="utf-8"))
    return parser


def test_the_unit_runs_twist_as_a_simple_service_with_reload_and_drain() -> None:
    service = unit()["Service"]
    assert service["Type"] == "simple"
    assert service["ExecStart"].split()[1:] == [
        "passerelle", "--config", "/etc/passerelle/kannel.conf"
    ]
    assert service["ExecStart"].split()[0].endswith("/twist")
    assert service["User"] == "passerelle"
    assert service["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert service["KillSignal"] == "SIGTERM"
    # Longer than the default shutdown-grace (10 s) plus an unbind: the drain finishes first.
    assert int(service["TimeoutStopSec"]) > 10 + 10


def test_the_unit_is_hardened() -> None:
    service = unit()["Service"]
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "MemoryDenyWriteExecute": "yes",
        "CapabilityBoundingSet": "",
        "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
    }.items():
        assert service[key] == value, key
    assert service["ReadWritePaths"].split() == ["/var/spool/passerelle", "/var/log/passerelle"]


def test_systemd_analyze_verify_accepts_it(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        # The INI checks above are what this machine can do.
        return
    twist = Path(sys.executable).parent / "twist"
    copy = tmp_path / "passerelle.service"
    copy.write_text(
        UNIT.read_text(encoding="utf-8").replace("/opt/passerelle/bin/twist", str(twist)),
        encoding="utf-8",
    )
    result = subprocess.run([analyze, "verify", str(copy)], capture_output=True, text=True,
                            cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "passerelle.service" not in result.stderr, result.stderr
