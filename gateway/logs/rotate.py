"""A log file that can never fill the disk: rotated by size, at most `max_files` old files.

Kannel appends forever and trusts logrotate; a full disk then stops the spool, which is the one
thing a gateway must not lose. So every log Passerelle writes goes through `RotatingFile`:

* the current file stays under `max_bytes` (it is rotated *before* a line would cross it, and a
  single line longer than the cap is cut to fit), and at most `max_files` old files are kept
  (`path.1` the newest … `path.N` the oldest), so the total on disk never exceeds
  `(max_files + 1) × max_bytes`;
* `reopen()` is for SIGHUP: logrotate users move the file away and signal, we open the path
  again (the old copies are theirs from then on);
* a write that fails (disk full, file system read-only, directory gone) never raises into the
  caller, which is usually the reactor: the line is counted in `dropped` and the next line tries
  again, so logging resumes by itself when space comes back.

Each line is one unbuffered `write` (Kannel flushes after every line too), so a crash loses
nothing that was logged and two processes appending to one file interleave by whole lines.
"""

from __future__ import annotations

import contextlib
import errno
import os
import threading
from collections.abc import Callable
from typing import Protocol

from gateway.config.model import PasserelleConfig

#: The defaults of `group = passerelle` (`log-max-bytes`, `log-max-files`).
DEFAULT_MAX_BYTES: int = PasserelleConfig().log_max_bytes
DEFAULT_MAX_FILES: int = PasserelleConfig().log_max_files


class RawFile(Protocol):
    """What `RotatingFile` needs of an open file: the edge tests replace to simulate ENOSPC."""

    def write(self, data: bytes, /) -> int | None: ...

    def tell(self) -> int: ...

    def close(self) -> None: ...


def open_append(path: str) -> RawFile:
    """Open `path` for appending, unbuffered, creating it (and its directory) if missing."""
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    return open(path, "ab", buffering=0)  # noqa: SIM115 - kept open for the log's life


class RotatingFile:
    """Appends lines to `path`, rotating by size (see the module docstring).

    `max_bytes` must be at least 64 (room for one cut line); `max_files` may be 0 (the file is
    simply started again when full). `opener` opens a path for appending.
    """

    def __init__(
        self,
        path: str,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_files: int = DEFAULT_MAX_FILES,
        opener: Callable[[str], RawFile] = open_append,
    ) -> None:
        if max_bytes < 64:
            raise ValueError(f"max_bytes must be at least 64, not {max_bytes}")
        if max_files < 0:
            raise ValueError(f"max_files must be 0 or more, not {max_files}")
        self.path = path
        self.max_bytes = max_bytes
        self.max_files = max_files
        self._opener = opener
        self._file: RawFile | None = None
        self._lock = threading.Lock()
        #: Bytes in the current file, as far as we know.
        self.size = 0
        #: Lines not written (disk full, file unopenable...): what an operator alerts on.
        self.dropped = 0
        #: Lines cut to fit in `max_bytes`.
        self.truncated = 0
        #: Rotations done (and failed ones, which start the file again instead).
        self.rotations = 0
        #: The last error met, for the status page; None while all is well.
        self.last_error: OSError | None = None
        self._open()

    # -- the public operations -------------------------------------------------------------

    def write(self, line: bytes) -> bool:
        """Append `line` (which should end with a newline); False if it was dropped."""
        if len(line) > self.max_bytes:
            line = line[: self.max_bytes - 1] + b"\n"
            self.truncated += 1
        with self._lock:
            if self._file is None and not self._open():
                self.dropped += 1
                return False
            if self.size and self.size + len(line) > self.max_bytes:
                self._rotate()
                if self._file is None:
                    self.dropped += 1
                    return False
            return self._write_all(line)

    def reopen(self) -> None:
        """Close and open `path` again: after logrotate moved it away (SIGHUP), or to retry
        after the directory came back."""
        with self._lock:
            self._close()
            self._open()

    def close(self) -> None:
        """Close the file; a later `write` opens it again."""
        with self._lock:
            self._close()

    def rotate(self) -> None:
        """Rotate now, whatever the size (`path` → `path.1` → … → `path.N`, dropped)."""
        with self._lock:
            self._rotate()

    def files(self) -> list[str]:
        """The paths that exist: the current file first, then the old ones, newest first."""
        names = [self.path] + [self._old(i) for i in range(1, self.max_files + 1)]
        return [name for name in names if os.path.exists(name)]

    # -- inside --------------------------------------------------------------------------

    def _old(self, index: int) -> str:
        return f"{self.path}.{index}"

    def _open(self) -> bool:
        try:
            self._file = self._opener(self.path)
            self.size = self._file.tell()
        except OSError as error:
            self._failed(error)
            self._file = None
            return False
        return True

    def _close(self) -> None:
        file, self._file = self._file, None
        if file is not None:
            with contextlib.suppress(OSError):
                file.close()

    def _write_all(self, line: bytes) -> bool:
        assert self._file is not None
        view = memoryview(line)
        try:
            while view:
                written = self._file.write(view)
                if not written:  # a raw file answering 0 (or None: would block) is full
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                self.size += written
                view = view[written:]
        except OSError as error:
            self._failed(error)
            self.dropped += 1
            return False
        return True

    def _rotate(self) -> None:
        self._close()
        self.rotations += 1
        try:
            if self.max_files == 0:
                with contextlib.suppress(FileNotFoundError):
                    os.remove(self.path)
            else:
                for index in range(self.max_files - 1, 0, -1):
                    if os.path.exists(self._old(index)):
                        os.replace(self._old(index), self._old(index + 1))
                os.replace(self.path, self._old(1))
            # Files past the count (max_files was lowered since) would break the bound.
            index = self.max_files + 1
            while os.path.exists(self._old(index)):
                os.remove(self._old(index))
                index += 1
        except OSError as error:
            # Cannot rename: start the file again rather than grow past the cap.
            self._failed(error)
            with contextlib.suppress(OSError):
                os.truncate(self.path, 0)
        self._open()
        if self._file is not None and self.size >= self.max_bytes:
            # Neither renamed nor truncated: writing on would break the bound.
            self._close()

    def _failed(self, error: OSError) -> None:
        self.last_error = error
