"""Write benchmark figures into docs/BENCHMARKS.md, each in its own marked block.

A benchmark calls L{write_section} with its name and a Markdown body; the block between
C{<!-- bench:NAME:start -->} and C{<!-- bench:NAME:end -->} is replaced (or appended if it is
not there yet), so reruns never duplicate a section and never touch another benchmark's figures.
"""

from __future__ import annotations

import datetime
import os
import platform
import re
import sys
from pathlib import Path

import psutil

BENCHMARKS_MD = Path(__file__).resolve().parent.parent / "docs" / "BENCHMARKS.md"

_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


def _cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo, or the platform's guess elsewhere."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def machine_description() -> str:
    """One line saying what the figures were measured on: CPU, cores, RAM, Python, date."""
    cores = os.cpu_count() or 0
    ram_gib = psutil.virtual_memory().total / 2**30
    python = f"{platform.python_implementation()} {platform.python_version()}"
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"{_cpu_model()}, {cores} cores, {ram_gib:.1f} GiB RAM, {python}, {date}"


def write_section(name: str, markdown: str, path: Path | None = None) -> None:
    """Replace (or create) the block for benchmark C{name} in docs/BENCHMARKS.md.

    @param name: the benchmark's name, as in C{bench/NAME.py}; letters, digits, C{_.-} only.
    @param markdown: the figures, as Markdown; the machine description is added above them.
    @param path: the file to write; docs/BENCHMARKS.md by default (tests pass a temporary one).
    """
    if not _NAME.match(name):
        raise ValueError(f"bad benchmark name {name!r}")
    target = BENCHMARKS_MD if path is None else path
    start = f"<!-- bench:{name}:start -->"
    end = f"<!-- bench:{name}:end -->"
    block = (
        f"{start}\n## {name}\n\n"
        f"_Measured on: {machine_description()}._\n\n"
        f"{markdown.strip()}\n{end}"
    )
    text = target.read_text(encoding="utf-8") if target.exists() else "# Benchmarks\n"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _match: block, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, target)


if __name__ == "__main__":
    print(machine_description(), file=sys.stdout)
