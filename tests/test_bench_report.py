"""bench/report.py rewrites only its own benchmark's block in docs/BENCHMARKS.md."""

from __future__ import annotations

import importlib.util
import os
import platform
from pathlib import Path
from types import ModuleType

import pytest

REPORT = Path(__file__).resolve().parent.parent / "bench" / "report.py"


@pytest.fixture(scope="module")
def report() -> ModuleType:
    """Load bench/report.py by path: bench/ is not a package and nothing imports it by name."""
    spec = importlib.util.spec_from_file_location("bench_report", REPORT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_machine_description_names_python_and_cores(report: ModuleType) -> None:
    """The description carries the Python version and the core count."""
    text = report.machine_description()
    assert platform.python_version() in text
    assert f"{os.cpu_count()} cores" in text
    assert "GiB RAM" in text


def test_write_section_creates_then_replaces(report: ModuleType, tmp_path: Path) -> None:
    """A first write appends the block; a second replaces it and leaves others alone."""
    doc = tmp_path / "BENCHMARKS.md"
    doc.write_text("# Benchmarks\n\nintro\n", encoding="utf-8")
    report.write_section("alpha", "first figures", path=doc)
    report.write_section("beta", "beta figures", path=doc)
    report.write_section("alpha", "second figures", path=doc)
    text = doc.read_text(encoding="utf-8")
    assert text.startswith("# Benchmarks\n\nintro\n")
    assert text.count("<!-- bench:alpha:start -->") == 1
    assert text.count("<!-- bench:alpha:end -->") == 1
    assert "second figures" in text and "first figures" not in text
    assert "beta figures" in text
    assert text.index("bench:alpha:start") < text.index("bench:beta:start")


def test_write_section_rejects_names_that_break_the_markers(report: ModuleType) -> None:
    """A name that could close another block is refused."""
    with pytest.raises(ValueError):
        report.write_section("a-->b", "x")
