"""smsbox's access-log lines (gateway.sendsms.accesslog), as Kannel 1.4.5 writes them (obs.)."""

from __future__ import annotations

import time
from pathlib import Path

from conftest import make_config

from gateway.sendsms.accesslog import AccessLog, NoAccessLog, access_log_for
from gateway.sendsms.params import parse_query
from gateway.sendsms.validate import Validator, ValidRequest

NOON = 1_795_262_400.0  # 2026-11-21 12:00:00 UTC


def valid(query: str) -> ValidRequest:
    request = parse_query(f"/s?username=tester&password=foobar&{query}".encode())
    return Validator(make_config()).validate(request, "10.1.2.3")


def lines(path: Path) -> list[bytes]:
    return path.read_bytes().split(b"\n")[:-1]


def test_log_begins_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "smsbox-access.log"
    AccessLog(str(path), gmt=True, clock=lambda: NOON).close()
    assert lines(path) == [b"2026-11-21 12:00:00 Log begins"]


def test_added_line_per_receiver(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    log = AccessLog(str(path), gmt=True, clock=lambda: NOON)
    log.added(valid("from=12345&to=4670000001+4670000002&text=Hello+world"))
    assert lines(path)[1:] == [
        b"2026-11-21 12:00:00 send-SMS request added - sender:tester:12345 10.1.2.3 "
        b"target:4670000001 request: 'Hello world'",
        b"2026-11-21 12:00:00 send-SMS request added - sender:tester:12345 10.1.2.3 "
        b"target:4670000002 request: 'Hello world'",
    ]


def test_added_uses_the_username_and_the_sender_actually_used(tmp_path: Path) -> None:
    config = make_config(
        "group = sendsms-user\nusername = fake\npassword = pw\nname = Billing\nfaked-sender = FAKE"
    )
    request = parse_query(b"/s?username=fake&password=pw&from=1&to=4670")
    path = tmp_path / "a.log"
    AccessLog(str(path)).added(Validator(config).validate(request, "127.0.0.1"))
    assert lines(path)[1].endswith(b"sender:fake:FAKE 127.0.0.1 target:4670 request: ''")


def test_text_is_written_as_received(tmp_path: Path) -> None:
    # obs.: a Latin-1 é arrives as the octet 0xE9 in Kannel's file
    path = tmp_path / "a.log"
    AccessLog(str(path)).added(valid("from=1&to=4670&text=caf%E9&charset=ISO-8859-1"))
    assert lines(path)[1].endswith(b"request: 'caf\xe9'")


def test_udh_requests_show_a_placeholder(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    log = AccessLog(str(path))
    log.added(valid("from=1&to=4670&text=ab&udh=%06%05%04%0B%84%23%F0"))
    log.added(valid("from=1&to=4670&text=ab&udh="))  # even an empty udh (Kannel: udh != NULL)
    assert [line.endswith(b"request: '<< UDH >>'") for line in lines(path)[1:]] == [True, True]


def test_newlines_in_the_text_cannot_forge_lines(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    AccessLog(str(path)).added(valid("from=1&to=4670&text=a%0D%0A2026-01-01+fake"))
    assert len(lines(path)) == 2
    assert lines(path)[1].endswith(b"request: 'a\\r\\n2026-01-01 fake'")


def test_failed_line(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    AccessLog(str(path), gmt=True, clock=lambda: NOON).failed("Coding field misformed, rejected")
    assert lines(path)[1] == (
        b"2026-11-21 12:00:00 send-SMS request failed - Coding field misformed, rejected"
    )


def test_local_time_by_default(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    AccessLog(str(path), clock=lambda: NOON).close()
    expected = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(NOON)).encode()
    assert lines(path) == [expected + b" Log begins"]


def test_appends_and_reopens(tmp_path: Path) -> None:
    path = tmp_path / "a.log"
    path.write_bytes(b"old\n")
    log = AccessLog(str(path))
    log.failed("x")
    path.rename(tmp_path / "a.log.1")  # logrotate
    log.reopen()
    log.failed("y")
    log.close()
    log.failed("dropped after close")
    assert lines(tmp_path / "a.log.1")[0] == b"old"
    assert [line.split(b" ", 2)[2] for line in lines(path)] == [
        b"Log begins",
        b"send-SMS request failed - y",
    ]


def test_no_access_log_writes_nothing() -> None:
    log = access_log_for(None)
    assert isinstance(log, NoAccessLog)
    log.added(valid("from=1&to=4670"))
    log.failed("x")
    log.reopen()
    log.close()


def test_access_log_for_a_path(tmp_path: Path) -> None:
    log = access_log_for(str(tmp_path / "x.log"), gmt=True)
    assert isinstance(log, AccessLog)
    log.close()
