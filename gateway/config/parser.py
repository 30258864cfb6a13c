"""The kannel.conf syntax, read the way Kannel 1.4.5's `gwlib/cfg.c` reads it.

What Kannel does, and so what this does:

* A file is cut into lines at `\\n`; a line ending in a backslash continues on the next one
  (the backslash is dropped; a doubled backslash at the end is one literal backslash and
  ends the line). A continued line is reported at its first physical line.
* Surrounding white space (including a `\\r` from CRLF files) is stripped. An empty line ends
  the current group. A line whose first character is `#` is a comment; a `#` anywhere else
  is part of the value (`text = "No #1"` keeps it), because Kannel has no trailing comments.
* Any other line must hold `=`: the key is what comes before the first `=`, the value what
  comes after, both stripped. A value that both starts and ends with `"` is unquoted, and
  inside it `\\\\` becomes `\\` and `\\"` becomes `"`; other backslash pairs stay as they are
  (`"\\n"` is two characters). An unquoted value is taken literally.
* A group is a run of non-empty lines; its `group` key names it (wherever it appears in the
  run). A key set twice in one group keeps its last value, as in Kannel.
* `include = path` splices a file in where the line stands; the end of an included file ends
  the group being read, as the empty line Kannel appends there does. A directory includes
  every non-directory entry in it (sorted by name: Kannel takes readdir order, which is
  arbitrary). A file included a second time, which covers every include loop, is an error,
  as Kannel's "Recursive include" panic is.

Where this differs from Kannel, it accepts more and never less: Kannel treats any line that
merely *contains* the word "include" as an include directive (so `get-url =
http://x/include.php` fails to load there); here only the key `include` is one. Kannel resolves
a relative include against its working directory; here it is resolved against the including
file's directory first, and the working directory second (with a warning), so configurations
that worked under Kannel's init scripts still load.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from gateway.config.errors import ConfigError, Location, format_message

__all__ = ["RawEntry", "RawGroup", "RawConfig", "parse_file", "parse_text"]


@dataclass(frozen=True, slots=True)
class RawEntry:
    """One `key = value` line, value unquoted, with where it was written."""

    key: str
    value: str
    location: Location


@dataclass(slots=True)
class RawGroup:
    """One group as written: its name, the location of its `group =` line, and its entries.

    `entries` keeps the last value of each key (Kannel's rule) in the order keys first
    appeared; `location` falls back to the group's first line when `group` is missing.
    """

    name: str | None
    location: Location
    entries: dict[str, RawEntry] = field(default_factory=dict)


@dataclass(slots=True)
class RawConfig:
    """A parsed file tree: its groups in reading order, the files read, and syntax warnings."""

    groups: list[RawGroup]
    files: list[str]
    warnings: list[str]


@dataclass(frozen=True, slots=True)
class _Line:
    """A logical line (continuations joined) and where it starts."""

    text: str
    location: Location


def _logical_lines(text: str, name: str) -> list[_Line]:
    """Cut `text` into logical lines, joining backslash continuations as Kannel's expand_file."""
    out: list[_Line] = []
    pending: list[str] | None = None
    start = 0
    physical = text.split("\n")
    if physical and physical[-1] == "":
        # A final newline does not open one more (empty) line; Kannel's split drops it too.
        physical.pop()
    for number, line in enumerate(physical, start=1):
        if pending is None:
            pending = []
            start = number
        if line.endswith("\\"):
            line = line[:-1]
            pending.append(line)
            if line.endswith("\\"):
                # `\\` at the end: one literal backslash, and the line ends here.
                out.append(_Line("".join(pending), Location(name, start)))
                pending = None
        else:
            pending.append(line)
            out.append(_Line("".join(pending), Location(name, start)))
            pending = None
    if pending is not None:
        out.append(_Line("".join(pending), Location(name, start)))
    return out


def unquote(value: str) -> str:
    """Kannel's `parse_value`: strip, then unquote a `"..."` value with `\\\\` and `\\"`."""
    value = value.strip()
    if len(value) < 2 or not (value.startswith('"') and value.endswith('"')):
        return value
    inner = value[1:-1]
    out: list[str] = []
    i = 0
    while i < len(inner):
        c = inner[i]
        if c == "\\" and i + 1 < len(inner):
            nxt = inner[i + 1]
            if nxt in ('\\', '"'):
                out.append(nxt)
            else:
                out.append("\\" + nxt)
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def quote(value: str) -> str:
    """The inverse of `unquote`: a value written so that Kannel and we read back `value`."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class _Reader:
    """Reads a file tree into groups, following includes."""

    def __init__(self) -> None:
        self.groups: list[RawGroup] = []
        self.files: list[str] = []
        self.warnings: list[str] = []
        #: Real path of every file read so far → where it was included from (None: the top).
        self._seen: dict[str, Location | None] = {}
        self._group: RawGroup | None = None

    def read_top(self, text: str, name: str, directory: Path, real: str | None) -> None:
        if real is not None:
            self._seen[real] = None
        self.files.append(name)
        self._read_lines(_logical_lines(text, name), directory)
        self._end_group()

    def _read_lines(self, lines: list[_Line], directory: Path) -> None:
        for line in lines:
            self._read_line(line, directory)

    def _read_line(self, line: _Line, directory: Path) -> None:
        text = line.text.strip()
        if not text:
            self._end_group()
            return
        if text.startswith("#"):
            return
        key, sep, value = text.partition("=")
        if not sep:
            raise ConfigError(
                "an equals sign ('=') is missing (every line is `key = value`, a comment "
                "starting with '#', or empty)",
                location=line.location,
            )
        key = key.strip()
        if not key:
            raise ConfigError("a line starts with '=': the key is missing", location=line.location)
        if key == "include":
            self._include(unquote(value), line.location, directory)
            return
        group = self._group
        if group is None:
            group = self._group = RawGroup(None, line.location)
        entry = RawEntry(key, unquote(value), line.location)
        previous = group.entries.get(key)
        if previous is not None:
            self.warnings.append(
                format_message(
                    line.location,
                    key,
                    f"set again (first at {previous.location}); the last value wins, "
                    "as in Kannel",
                )
            )
        group.entries[key] = entry
        if key == "group":
            group.name = entry.value
            group.location = line.location

    def _end_group(self) -> None:
        if self._group is not None:
            self.groups.append(self._group)
            self._group = None

    def _include(self, target: str, location: Location, directory: Path) -> None:
        if not target:
            raise ConfigError("include names no file", location=location, key="include")
        path = self._resolve(target, location, directory)
        if path.is_dir():
            entries = sorted(p for p in path.iterdir() if not p.is_dir())
            for entry in entries:
                self._include_file(entry, location)
        else:
            self._include_file(path, location)

    def _resolve(self, target: str, location: Location, directory: Path) -> Path:
        path = Path(target)
        if path.is_absolute():
            candidates = [path]
        else:
            candidates = [directory / path, Path.cwd() / path]
        for number, candidate in enumerate(candidates):
            if os.path.lexists(candidate):
                if number == 1 and candidates[0] != candidates[1]:
                    self.warnings.append(
                        format_message(
                            location,
                            "include",
                            f"'{target}' is not next to the including file; using "
                            f"'{candidate}' from the working directory, as Kannel would",
                        )
                    )
                return candidate
        raise ConfigError(
            f"cannot include '{target}': no such file or directory "
            f"(looked in {', '.join(str(c) for c in dict.fromkeys(candidates))})",
            location=location,
            key="include",
        )

    def _include_file(self, path: Path, location: Location) -> None:
        real = os.path.realpath(path)
        if real in self._seen:
            first = self._seen[real]
            where = "it is the main file" if first is None else f"first included at {first}"
            raise ConfigError(
                f"'{path}' is included a second time ({where}); Kannel refuses this too "
                "(\"Recursive include\"), and it is how include loops start",
                location=location,
                key="include",
            )
        self._seen[real] = location
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ConfigError(
                f"cannot read '{path}': {exc.strerror or exc}", location=location, key="include"
            ) from None
        name = str(path)
        self.files.append(name)
        lines = _logical_lines(_decode(data), name)
        if lines:
            # Kannel appends an empty line to every included file, so a group never runs
            # from the end of one file into what follows the include line.
            lines.append(_Line("", Location(name, lines[-1].location.line)))
        self._read_lines(lines, path.parent)


def _decode(data: bytes) -> str:
    """Text of a config file: UTF-8, or Latin-1 for old files (Kannel reads bytes as is)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def parse_text(text: str, name: str = "<text>", directory: str | Path | None = None) -> RawConfig:
    """Parse kannel.conf text; `name` is used in messages, `directory` anchors includes."""
    reader = _Reader()
    base = Path(directory) if directory is not None else Path.cwd()
    reader.read_top(text, name, base, None)
    return RawConfig(reader.groups, reader.files, reader.warnings)


def parse_file(path: str | Path) -> RawConfig:
    """Parse the kannel.conf at `path` and everything it includes."""
    path = Path(path)
    name = str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the configuration: {exc.strerror or exc}",
                          location=Location(name, 0)) from None
    reader = _Reader()
    reader.read_top(_decode(data), name, path.parent, os.path.realpath(path))
    return RawConfig(reader.groups, reader.files, reader.warnings)


def iter_entries(group: RawGroup) -> Iterator[RawEntry]:
    """The entries of `group` other than `group` itself, in the order written."""
    return (entry for key, entry in group.entries.items() if key != "group")
