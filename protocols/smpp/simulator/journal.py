"""The simulator's PDU log: one JSON object per line, per PDU received or sent.

It exists so a test or an operator can see exactly what a client put on the wire. It is
off by default because formatting JSON per PDU would dominate a benchmark; when on, it
writes to a file (rotated at a size cap, one `.1` backup) and keeps in memory at most a
bounded `deque` of recent records, for tests that read them through the Python API.
"""

from __future__ import annotations

import json
import os
import sys
from collections import deque
from typing import IO, Any

from twisted.internet.interfaces import IReactorTime


class PduJournal:
    """Appends records to a JSON-lines file and/or a bounded in-memory deque.

    Records are buffered and written out by `flush`, which the simulator calls once per
    batch of PDUs (one read from a socket, one receipt tick), not once per line.
    """

    def __init__(
        self,
        clock: IReactorTime,
        path: str | None = None,
        max_bytes: int = 0,
        record: int = 0,
    ) -> None:
        self._clock = clock
        self._path = path
        self._max_bytes = max_bytes
        self._file: IO[str] | None = None
        self._size = 0
        self._buffer: list[str] = []
        #: The last `record` entries as dicts, oldest first; None when not kept.
        self.records: deque[dict[str, Any]] | None = deque(maxlen=record) if record else None
        if path is not None:
            self._open()

    def _open(self) -> None:
        if self._path == "-":
            self._file = sys.stdout
            self._size = 0
            return
        assert self._path is not None
        self._file = open(self._path, "a", encoding="utf-8")
        self._size = self._file.tell()

    def write(self, entry: dict[str, Any]) -> None:
        """Record one event; `ts` (clock seconds) is added here."""
        entry["ts"] = round(self._clock.seconds(), 6)
        if self.records is not None:
            self.records.append(entry)
        if self._path is not None:
            self._buffer.append(json.dumps(entry, separators=(",", ":")))

    def flush(self) -> None:
        """Write out what `write` buffered; rotate first if the file is over its cap."""
        if not self._buffer:
            return
        if self._file is None:
            self._open()  # closed by a factory stop, written to again after a restart
        assert self._file is not None
        text = "\n".join(self._buffer) + "\n"
        self._buffer.clear()
        if self._max_bytes and self._path != "-" and self._size + len(text) > self._max_bytes:
            self._rotate()
        self._file.write(text)
        self._file.flush()
        self._size += len(text)

    def _rotate(self) -> None:
        assert self._file is not None and self._path is not None
        self._file.close()
        os.replace(self._path, self._path + ".1")
        self._open()

    def close(self) -> None:
        """Flush and release the file (stdout is flushed, not closed)."""
        self.flush()
        if self._file is not None and self._file is not sys.stdout:
            self._file.close()
        self._file = None
