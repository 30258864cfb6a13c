"""RotatingFile: the bound on disk holds whatever is written, reopen after a move, and a full
disk never raises."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from gateway.config.model import PasserelleConfig
from gateway.logs.rotate import DEFAULT_MAX_BYTES, DEFAULT_MAX_FILES, RotatingFile, open_append


def disk_bytes(directory: Path) -> int:
    return sum(path.stat().st_size for path in directory.iterdir())


def test_defaults_are_the_configuration_defaults() -> None:
    assert DEFAULT_MAX_BYTES == PasserelleConfig().log_max_bytes
    assert DEFAULT_MAX_FILES == PasserelleConfig().log_max_files


@pytest.mark.parametrize("max_files", [0, 1, 3])
def test_total_on_disk_stays_under_the_cap(tmp_path: Path, max_files: int) -> None:
    max_bytes = 4096
    log = RotatingFile(str(tmp_path / "gw.log"), max_bytes=max_bytes, max_files=max_files)
    written = 0
    for i in range(20_000):
        line = f"line {i} " .encode() + b"x" * (i % 97) + b"\n"
        assert log.write(line)
        written += len(line)
        if i % 1000 == 0:
            assert disk_bytes(tmp_path) <= (max_files + 1) * max_bytes
    log.close()
    assert written > 50 * (max_files + 1) * max_bytes  # far more than the cap
    assert disk_bytes(tmp_path) <= (max_files + 1) * max_bytes
    assert len(list(tmp_path.iterdir())) == max_files + 1
    for path in tmp_path.iterdir():
        assert path.stat().st_size <= max_bytes
        # whole lines only: every file ends at a line end
        assert path.read_bytes().endswith(b"\n")
    assert log.dropped == 0
    assert log.files()[0] == str(tmp_path / "gw.log")


def test_newest_lines_survive_in_order(tmp_path: Path) -> None:
    log = RotatingFile(str(tmp_path / "gw.log"), max_bytes=100, max_files=2)
    for i in range(100):
        log.write(f"{i:04d}\n".encode())
    log.close()
    text = b"".join(
        (tmp_path / name).read_bytes() for name in ("gw.log.2", "gw.log.1", "gw.log")
    )
    numbers = [int(line) for line in text.split()]
    assert numbers == list(range(numbers[0], 100))
    assert len(numbers) > 40


def test_a_line_longer_than_the_cap_is_cut(tmp_path: Path) -> None:
    log = RotatingFile(str(tmp_path / "gw.log"), max_bytes=100, max_files=1)
    log.write(b"a" * 1000 + b"\n")
    log.write(b"short\n")
    log.close()
    assert disk_bytes(tmp_path) <= 200
    assert log.truncated == 1
    assert (tmp_path / "gw.log.1").read_bytes() == b"a" * 99 + b"\n"
    assert (tmp_path / "gw.log").read_bytes() == b"short\n"


def test_existing_file_is_appended_and_its_size_counted(tmp_path: Path) -> None:
    path = tmp_path / "gw.log"
    path.write_bytes(b"x" * 90 + b"\n")
    log = RotatingFile(str(path), max_bytes=100, max_files=1)
    assert log.size == 91
    log.write(b"0123456789\n")  # would cross 100: rotated first
    log.close()
    assert (tmp_path / "gw.log.1").read_bytes() == b"x" * 90 + b"\n"
    assert path.read_bytes() == b"0123456789\n"


def test_lowering_max_files_removes_the_surplus(tmp_path: Path) -> None:
    for i in range(1, 6):
        (tmp_path / f"gw.log.{i}").write_bytes(b"old\n")
    log = RotatingFile(str(tmp_path / "gw.log"), max_bytes=64, max_files=2)
    log.write(b"a" * 40 + b"\n")
    log.write(b"b" * 40 + b"\n")
    log.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gw.log", "gw.log.1", "gw.log.2"]


def test_reopen_after_logrotate_moved_the_file(tmp_path: Path) -> None:
    path = tmp_path / "gw.log"
    log = RotatingFile(str(path), max_bytes=10_000, max_files=2)
    log.write(b"before\n")
    os.rename(path, tmp_path / "gw.log-20261121")
    log.write(b"still to the moved file\n")
    log.reopen()
    log.write(b"after\n")
    log.close()
    assert (tmp_path / "gw.log-20261121").read_bytes() == b"before\nstill to the moved file\n"
    assert path.read_bytes() == b"after\n"


def test_reopen_when_the_directory_came_back(tmp_path: Path) -> None:
    directory = tmp_path / "logs"
    log = RotatingFile(str(directory / "gw.log"), max_bytes=1000, max_files=1)
    log.close()
    (directory / "gw.log").unlink()
    directory.rmdir()
    log.reopen()  # open_append makes the directory again
    assert log.write(b"back\n")
    log.close()
    assert (directory / "gw.log").read_bytes() == b"back\n"


class FullDisk:
    """A file on a disk with `room` bytes left: writes past it fail with ENOSPC."""

    def __init__(self, room: int) -> None:
        self.room = room
        self.data = bytearray()
        self.closed = False

    def write(self, data: bytes) -> int:
        if self.room <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        part = bytes(data[: self.room])
        self.room -= len(part)
        self.data += part
        return len(part)

    def tell(self) -> int:
        return len(self.data)

    def close(self) -> None:
        self.closed = True


def test_full_disk_counts_dropped_lines_and_recovers(tmp_path: Path) -> None:
    disk = FullDisk(room=15)
    log = RotatingFile(str(tmp_path / "gw.log"), max_bytes=1000, max_files=1,
                       opener=lambda path: disk)
    assert log.write(b"0123456789\n")
    assert not log.write(b"0123456789\n")  # 4 bytes of room: partly written, then ENOSPC
    assert not log.write(b"0123456789\n")
    assert log.dropped == 2
    assert isinstance(log.last_error, OSError) and log.last_error.errno == errno.ENOSPC
    disk.room = 100  # space freed
    assert log.write(b"again\n")
    assert log.dropped == 2


def test_unopenable_path_drops_without_raising(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_bytes(b"")
    log = RotatingFile(str(blocker / "gw.log"), max_bytes=1000, max_files=1)
    assert not log.write(b"nowhere\n")
    assert log.dropped == 1
    log.reopen()
    log.close()


def test_real_enospc_from_dev_full(tmp_path: Path) -> None:
    """A real ENOSPC from the kernel: the log path is a symlink to /dev/full (never rotated
    here, and rotation would only rename our symlink)."""
    if not os.path.exists("/dev/full"):
        pytest.skip("no /dev/full")
    link = tmp_path / "gw.log"
    link.symlink_to("/dev/full")
    log = RotatingFile(str(link), max_bytes=10**9, max_files=1)
    for _ in range(10):
        assert not log.write(b"lost\n")
    log.close()
    assert log.dropped == 10
    assert log.last_error is not None and log.last_error.errno == errno.ENOSPC


def test_rejects_nonsense_bounds(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        RotatingFile(str(tmp_path / "a"), max_bytes=10)
    with pytest.raises(ValueError):
        RotatingFile(str(tmp_path / "a"), max_files=-1)


def test_open_append_makes_the_directory(tmp_path: Path) -> None:
    file = open_append(str(tmp_path / "x" / "y.log"))
    file.write(b"ok\n")
    file.close()
    assert (tmp_path / "x" / "y.log").read_bytes() == b"ok\n"
