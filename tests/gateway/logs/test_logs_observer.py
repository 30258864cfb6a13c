"""Kannel-style lines, the level filter, and redaction of everything that looks like a
password."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from twisted.logger import Logger, LogLevel, LogPublisher
from twisted.python.failure import Failure

from gateway.logs import KannelLogObserver, RotatingFile, kannel_level, redact, redact_bytes

#: gwlib/log.c's prefix, as the real bearerbox writes it.
KANNEL_LINE = re.compile(
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[\d+\] \[\d+\] (DEBUG|INFO|WARNING|ERROR|PANIC): "
)


class Lines:
    def __init__(self) -> None:
        self.data = b""

    def write(self, line: bytes) -> None:
        self.data += line

    @property
    def lines(self) -> list[str]:
        return self.data.decode().splitlines()


def logger(out: Lines, level: int = 0) -> tuple[Logger, KannelLogObserver]:
    observer = KannelLogObserver(out, level, gmt=True, pid=4242)
    publisher = LogPublisher(observer)
    return Logger(namespace="test", observer=publisher), observer


def test_the_real_kannel_line_shape() -> None:
    sample = "2026-11-21 20:53:48 [19778] [0] INFO: Added logfile `/tmp/adm/tz.log' with level `0'."
    assert KANNEL_LINE.match(sample)


def test_line_format() -> None:
    out = Lines()
    observer = KannelLogObserver(out, 0, gmt=True, pid=4242)
    observer({"log_level": LogLevel.warn, "log_format": "SMSC {id} down", "id": "sink",
              "log_time": 1795248319.5})
    assert out.lines == ["2026-11-21 08:05:19 [4242] [0] WARNING: SMSC sink down"]


def test_local_time_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        out = Lines()
        KannelLogObserver(out, pid=1)({"log_level": LogLevel.info, "log_format": "x",
                                       "log_time": 1795248319.0})
        assert out.lines[0].startswith("2026-11-21 17:05:19 ")
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


@pytest.mark.parametrize(
    ("level", "written"),
    [
        (0, ["DEBUG", "INFO", "WARNING", "ERROR", "PANIC"]),
        (1, ["INFO", "WARNING", "ERROR", "PANIC"]),
        (3, ["ERROR", "PANIC"]),
        (4, ["PANIC"]),
        (5, []),
    ],
)
def test_level_filter(level: int, written: list[str]) -> None:
    out = Lines()
    log, _ = logger(out, level)
    log.debug("d")
    log.info("i")
    log.warn("w")
    log.error("e")
    log.critical("c")
    assert [KANNEL_LINE.match(line).group(1) for line in out.lines] == written  # type: ignore[union-attr]


def test_set_level_takes_effect_at_once() -> None:
    out = Lines()
    log, observer = logger(out, 3)
    log.info("hidden")
    observer.set_level(1)
    log.info("shown")
    assert len(out.lines) == 1 and out.lines[0].endswith("INFO: shown")


def test_kannel_level_numbers() -> None:
    assert [kannel_level(level) for level in
            (LogLevel.debug, LogLevel.info, LogLevel.warn, LogLevel.error, LogLevel.critical)
            ] == [0, 1, 2, 3, 4]
    assert kannel_level(None) == 1


def test_multiline_messages_and_failures_keep_the_prefix() -> None:
    out = Lines()
    log, _ = logger(out)
    log.info("one\r\ntwo\nforged 2026-01-01 00:00:00 [1] [0] PANIC: x")
    try:
        1 / 0  # noqa: B018
    except ZeroDivisionError:
        log.failure("boom", Failure())
    assert all(KANNEL_LINE.match(line) for line in out.lines)
    assert sum("ZeroDivisionError" in line for line in out.lines) >= 1
    assert out.lines[0].endswith("INFO: one") and out.lines[1].endswith("INFO: two")


def test_bad_format_does_not_raise() -> None:
    out = Lines()
    KannelLogObserver(out, pid=1)({"log_level": LogLevel.info, "log_format": "{nope",
                                   "log_time": 0.0})
    assert len(out.lines) == 1


def test_observer_over_a_rotating_file(tmp_path: Path) -> None:
    file = RotatingFile(str(tmp_path / "bearerbox.log"), max_bytes=2000, max_files=2)
    log, _ = logger(Lines())
    log = Logger(namespace="t", observer=LogPublisher(KannelLogObserver(file, 1, pid=7)))
    for i in range(1000):
        log.info("message {i} password={pw}", i=i, pw="hunter2")
    file.close()
    total = sum(p.stat().st_size for p in tmp_path.iterdir())
    assert total <= 3 * 2000
    text = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert b"hunter2" not in text and b"password=***" in text


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("GET /cgi-bin/sendsms?username=tester&password=foobar&to=123", "foobar"),
        ("GET /status?password=foobar", "foobar"),
        ("/sendsms?user=tester&pass=foobar&text=hi", "foobar"),
        ("POST body: user=a&pwd=foobar", "foobar"),
        ("admin-password = foobar", "foobar"),
        ("  smsc-password=foobar  ", "foobar"),
        ('{"password": "foo\\"bar", "user": "x"}', 'foo\\"bar'),
        ("Authorization: Basic dGVzdGVyOmZvb2Jhcg==", "dGVzdGVyOmZvb2Jhcg=="),
        ("proxy-authorization: Bearer foobar", "foobar"),
        ("dlr-url http://user:foobar@host/x?y=1", "foobar"),
        ("redis://:foobar@127.0.0.1:6379/0", "foobar"),
        ("status-password=foobar;other", "foobar"),
    ],
)
def test_redaction(text: str, secret: str) -> None:
    cleaned = redact(text)
    assert secret not in cleaned
    assert "***" in cleaned


def test_redaction_keeps_the_rest() -> None:
    line = "GET /cgi-bin/sendsms?username=tester&password=foobar&to=4670000001&text=bypass=1"
    assert redact(line) == (
        "GET /cgi-bin/sendsms?username=tester&password=***&to=4670000001&text=bypass=1"
    )
    assert redact("nothing to hide, passage=1") == "nothing to hide, passage=1"


def test_redact_bytes_keeps_other_octets() -> None:
    raw = b"text=\xe9t\xe9&password=s\xe9cret"
    assert redact_bytes(raw) == b"text=\xe9t\xe9&password=***"


def test_log_observers_from_the_configuration(tmp_path: Path) -> None:
    from gateway.config import load_config_text
    from gateway.logs import log_observers

    text = f"""\
group = core
admin-port = 13000
admin-password = secret
log-file = {tmp_path / "bearerbox.log"}
log-level = 2

group = smsbox
bearerbox-host = 127.0.0.1
log-file = {tmp_path / "bearerbox.log"}
log-level = 1

group = passerelle
log-max-bytes = 4096
log-max-files = 2
"""
    config = load_config_text(text)
    observers = log_observers(config)
    assert len(observers) == 1  # one file, one writer, at the more talkative level
    (observer,) = observers
    assert observer.level == 1
    out = observer.out
    assert isinstance(out, RotatingFile)
    assert (out.max_bytes, out.max_files) == (4096, 2)
    out.close()
