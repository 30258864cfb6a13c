"""Callbacks that will never be delivered, kept where an operator can find them.

Kannel drops a callback after its last retry and says so only in its log. We keep one JSON
line per dropped job (what, where, how often tried, why) so it can be inspected or replayed by
hand; the files are bounded (size × count, oldest dropped) like every log of ours, and
passwords in the URL are masked because these files are read by people.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit, urlunsplit

#: Bytes one dead-letter file may reach before it is rotated.
DEAD_LETTER_BYTES: Final = 1 << 20
#: Dead-letter files kept: `dead-letters.jsonl` and `.1` … `.<n-1>`.
DEAD_LETTER_FILES: Final = 4
#: Longest URL and error text written (longer ones are cut, marked with `…`).
MAX_URL_CHARS: Final = 2048
MAX_ERROR_CHARS: Final = 512

_SECRET = re.compile(
    r"(?i)(^|[?&;])((?:[^=&;]*?)(?:pass|pwd|secret|token|key|auth|sig|session)[^=&;]*=)([^&;#]*)"
)


def redact_url(url: str) -> str:
    """`url` with the values of password-like query parameters (password, pass, pwd, secret,
    token, api_key, auth, sig…) and a userinfo password replaced by `***`."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return _SECRET.sub(r"\1\2***", url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        if ":" in userinfo:
            netloc = userinfo.split(":", 1)[0] + ":***@" + hostport
    query = _SECRET.sub(r"\1\2***", parts.query)
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class DeadLetters:
    """Appends dead letters as JSON lines to `<directory>/dead-letters.jsonl`, rotating at
    `max_bytes` and keeping `files` files, so they never use more than about
    max_bytes × files of disk."""

    def __init__(
        self,
        directory: str | Path,
        *,
        max_bytes: int = DEAD_LETTER_BYTES,
        files: int = DEAD_LETTER_FILES,
    ) -> None:
        if max_bytes < 1024 or files < 1:
            raise ValueError("dead letters need max_bytes >= 1024 and files >= 1")
        self.path = Path(directory) / "dead-letters.jsonl"
        self.max_bytes = max_bytes
        self.files = files

    def write(self, entry: dict[str, object]) -> None:
        """Append one entry (a dict of JSON values); never raises for a full or broken disk:
        the job is counted either way, and the failure is the caller's to log."""
        entry = dict(entry)
        if isinstance(entry.get("url"), str):
            entry["url"] = _cut(redact_url(str(entry["url"])), MAX_URL_CHARS)
        if isinstance(entry.get("error"), str):
            entry["error"] = _cut(str(entry["error"]), MAX_ERROR_CHARS)
        line = (json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n").encode(
            "utf-8", "surrogateescape"
        )[: self.max_bytes]
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            size = 0
        if size and size + len(line) > self.max_bytes:
            self._rotate()
        with open(self.path, "ab") as f:
            f.write(line)

    def _rotate(self) -> None:
        if self.files == 1:
            self.path.unlink(missing_ok=True)
            return
        oldest = self.path.with_name(f"{self.path.name}.{self.files - 1}")
        oldest.unlink(missing_ok=True)
        for n in range(self.files - 2, 0, -1):
            src = self.path.with_name(f"{self.path.name}.{n}")
            if src.exists():
                os.replace(src, self.path.with_name(f"{self.path.name}.{n + 1}"))
        os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))

    def read(self) -> list[dict[str, object]]:
        """Every entry still kept, oldest first (operators' tools and tests)."""
        out: list[dict[str, object]] = []
        names = [f"{self.path.name}.{n}" for n in range(self.files - 1, 0, -1)]
        for name in [*names, self.path.name]:
            p = self.path.with_name(name)
            if p.exists():
                for raw in p.read_bytes().splitlines():
                    try:
                        out.append(json.loads(raw))
                    except ValueError:
                        continue
        return out


__all__ = ["DEAD_LETTER_BYTES", "DEAD_LETTER_FILES", "DeadLetters", "redact_url"]
