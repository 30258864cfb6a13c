"""The package installs with and without a C compiler, and `native` says which encoder it uses.

Builds real wheels from a copy of the source tree (so the repository's own build output
cannot leak in), installs each into its own directory and imports it in a fresh interpreter
that sees only that directory and cffi: with the compiler the C encoder is in use, with
`CC=/bin/false` the build still succeeds and the twin is used, and `PASSERELLE_NATIVE=0` or
a missing C module fall back as well.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cffi
import pytest

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("setup.py", "setup.cfg", "pyproject.toml", "MANIFEST.in", "README.md")
PACKAGES = ("native", "protocols", "gateway", "storage", "twisted")
PROBE = (
    "import native, sys; "
    "assert native.to_gsm('a€') == b'a\\x1be' and native.pack7(b'hellohello') == "
    "bytes.fromhex('e8329bfd4697d9ec37'); "
    "assert native.__file__.startswith(sys.argv[1]), native.__file__; "
    "print(native.IMPLEMENTATION)"
)

pytestmark = pytest.mark.slow


def _copy_sources(destination: Path) -> Path:
    source = destination / "src"
    source.mkdir()
    for name in SOURCES:
        shutil.copy2(ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.so", "*.o", "_encoder.c", "*.egg-info")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, source / package, ignore=ignore)
    return source


def _build_and_install(source: Path, target: Path, env: dict[str, str]) -> None:
    """Build a wheel of `source` and install it into `target`."""
    wheels = target.with_suffix(".wheels")
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels)]
    if importlib.util.find_spec("wheel") is not None:
        command.append("--no-build-isolation")  # faster, and needs no index
    built = subprocess.run(
        [*command, str(source)], env=env, capture_output=True, text=True, timeout=240
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = wheels.glob("*.whl")
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q"]
        + ["--target", str(target), str(wheel)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    shutil.rmtree(source / "build", ignore_errors=True)


def _implementation(target: Path, cwd: Path, **env: str) -> str:
    """`native.IMPLEMENTATION` in an interpreter that sees only `target` and cffi."""
    cffi_home = str(Path(cffi.__file__).resolve().parents[1])
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PASSERELLE_")}
    environment.update(env, PYTHONPATH=os.pathsep.join((str(target), cffi_home)))
    result = subprocess.run(
        [sys.executable, "-S", "-c", PROBE, str(target)],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_installs_with_and_without_a_compiler(tmp_path: Path) -> None:
    source = _copy_sources(tmp_path)
    empty = tmp_path / "cwd"
    empty.mkdir()
    base_env = {k: v for k, v in os.environ.items() if k != "CC"}

    with_compiler = tmp_path / "with-cc"
    _build_and_install(source, with_compiler, base_env)
    assert list((with_compiler / "native").glob("_encoder*.so"))
    assert _implementation(with_compiler, empty) == "c"
    assert _implementation(with_compiler, empty, PASSERELLE_NATIVE="0") == "python"

    without_compiler = tmp_path / "without-cc"
    _build_and_install(source, without_compiler, {**base_env, "CC": "/bin/false"})
    assert not list((without_compiler / "native").glob("_encoder*.so"))
    assert _implementation(without_compiler, empty) == "python"

    # The C module hidden after installation (deleted): the twin takes over.
    for built in (with_compiler / "native").glob("_encoder*.so"):
        built.unlink()
    assert _implementation(with_compiler, empty) == "python"
