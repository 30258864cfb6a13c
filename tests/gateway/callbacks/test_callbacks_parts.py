"""The outbox's parts on their own: the job record format, the backoff, the network guard's
decisions and resolution, the bounded dead-letter files."""

from __future__ import annotations

from pathlib import Path

import pytest
import pytest_twisted
from hypothesis import given
from hypothesis import strategies as st
from twisted.internet import defer

from gateway.callbacks import (
    DEFAULT_RETRIES,
    DEFAULT_RETRY_DELAY,
    MAX_RETRY_DELAY,
    CallbackRefused,
    DeadLetters,
    HttpJob,
    HttpResult,
    NetworkGuard,
    backoff,
    redact_url,
)
from gateway.callbacks.job import FORMAT_VERSION, JobFormatError, decode_job, encode_job

jobs = st.builds(
    HttpJob,
    method=st.sampled_from(["GET", "POST"]),
    url=st.text(max_size=200),
    headers=st.lists(st.tuples(st.text(max_size=20), st.text(max_size=40)), max_size=5),
    body=st.binary(max_size=300),
    kind=st.sampled_from(["dlr", "mo", "é"]),
    context=st.binary(max_size=100),
    attempts=st.integers(0, 1000),
)


@given(job=jobs, due=st.floats(allow_nan=False))
def test_job_record_round_trips(job: HttpJob, due: float) -> None:
    data = encode_job(job, due)
    assert data[0] == FORMAT_VERSION
    assert decode_job(data) == (job, due)


@given(data=st.binary(max_size=80))
def test_junk_records_are_refused_never_misread(data: bytes) -> None:
    try:
        job, _ = decode_job(data)
    except JobFormatError:
        return
    assert encode_job(job, decode_job(data)[1]) == data


def test_cut_or_unknown_version_records_are_refused() -> None:
    data = encode_job(HttpJob("GET", "http://a/", [("A", "b")], b"x", "dlr", b"c"))
    for cut in range(len(data)):
        with pytest.raises(JobFormatError):
            decode_job(data[:cut])
    with pytest.raises(JobFormatError):
        decode_job(bytes([FORMAT_VERSION + 1]) + data[1:])
    with pytest.raises(JobFormatError):
        decode_job(data + b"!")


def test_result_ok_is_kannels_200_or_202() -> None:
    assert [c for c in (200, 201, 202, 204, 302, 404, 500, -1) if HttpResult(c).ok] == [200, 202]


def test_backoff_doubles_with_jitter_and_caps() -> None:
    middle = [backoff(n, 10.0, random=lambda: 0.5) for n in range(1, 9)]
    assert middle == [10, 20, 40, 80, 160, 300, 300, 300]
    assert backoff(1, 10.0, random=lambda: 0.0) == pytest.approx(8.0)
    assert backoff(1, 10.0, random=lambda: 0.999999) == pytest.approx(12.0, abs=1e-4)
    assert backoff(9, 10.0, random=lambda: 0.999999) == MAX_RETRY_DELAY  # never above the cap
    assert backoff(10**6, 1.0) <= MAX_RETRY_DELAY
    assert backoff(3, 500.0, cap=300.0, random=lambda: 0.5) == 500.0  # a base above the cap
    assert backoff(1, 0.0) == 0.0


def test_default_retries_outlast_a_target_restart() -> None:
    # the shortest the defaults can wait (all jitter downwards) is still well over 30 s
    waits = [backoff(n, DEFAULT_RETRY_DELAY, random=lambda: 0.0) for n in range(1, 9)]
    assert DEFAULT_RETRIES == len(waits) and sum(waits) > 900 and waits[0] >= 8


# ---------------------------------------------------------------------------- guard
@pytest.mark.parametrize(
    "address",
    [
        "10.1.2.3",
        "172.16.0.1",
        "172.31.255.255",
        "192.168.1.1",
        "100.64.0.1",
        "169.254.169.254",
        "0.0.0.0",
        "224.0.0.1",
        "255.255.255.255",
        "fc00::1",
        "fd12:3456::1",
        "fe80::1",
        "ff02::1",
        "::",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
    ],
)
def test_guard_refuses_private_link_local_and_special(address: str) -> None:
    assert NetworkGuard().refusal(address) is not None


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.9.9.9",
        "::1",
        "::ffff:127.0.0.1",
        "8.8.8.8",
        "2001:4860:4860::8888",
        "172.32.0.1",
    ],
)
def test_guard_allows_loopback_and_public(address: str) -> None:
    assert NetworkGuard().refusal(address) is None


def test_guard_allow_list_loopback_switch_and_off() -> None:
    guard = NetworkGuard(allow=["10.1.0.0/16", "fd00::/8"])
    assert guard.refusal("10.1.2.3") is None
    assert guard.refusal("10.2.0.1") is not None
    assert guard.refusal("fd00::5") is None
    strict = NetworkGuard(allow_loopback=False)
    assert strict.refusal("127.0.0.1") is not None
    assert strict.refusal("::1") is not None
    assert NetworkGuard(enabled=False).refusal("169.254.169.254") is None
    with pytest.raises(ValueError):
        NetworkGuard(allow=["not a network"])


def fake_dns(table: dict[str, list[str]]):
    def resolve(host: str, port: int) -> defer.Deferred[list[str]]:
        return defer.succeed(table[host])

    return resolve


@pytest_twisted.ensureDeferred
async def test_guard_checks_every_resolved_address() -> None:
    guard = NetworkGuard(
        resolver=fake_dns(
            {
                "ok.test": ["127.0.0.1"],
                "inner.test": ["10.0.0.7"],
                "mixed.test": ["127.0.0.1", "169.254.169.254"],
                "none.test": [],
            }
        )
    )
    assert await guard.resolve("ok.test", 80) == ["127.0.0.1"]
    assert await guard.resolve("127.0.0.1", 80) == ["127.0.0.1"]
    assert await guard.resolve("[::1]", 80) == ["::1"]
    for host in ("inner.test", "mixed.test", "10.9.9.9", "[fe80::1]"):
        with pytest.raises(CallbackRefused) as refused:
            await guard.resolve(host, 80)
        assert "refused" in str(refused.value)
    with pytest.raises(OSError):
        await guard.resolve("none.test", 80)


@pytest_twisted.ensureDeferred
async def test_guard_resolves_with_the_system_resolver() -> None:
    assert "127.0.0.1" in await NetworkGuard().resolve("localhost", 80) or (
        "::1" in await NetworkGuard().resolve("localhost", 80)
    )


# ---------------------------------------------------------------------------- dead letters
def test_redact_url() -> None:
    assert redact_url("http://u:secret@h/p?user=a&password=b&api_key=c&x=1") == (
        "http://u:***@h/p?user=a&password=***&api_key=***&x=1"
    )
    assert redact_url("http://h/p?pass=1&pwd=2&token=3&d=%d") == (
        "http://h/p?pass=***&pwd=***&token=***&d=%d"
    )
    assert redact_url("http://h/dlr?id=5") == "http://h/dlr?id=5"
    assert redact_url("http://[::1/x?password=1").endswith("password=***")


def test_dead_letters_are_bounded_size_times_count(tmp_path: Path) -> None:
    letters = DeadLetters(tmp_path, max_bytes=4096, files=3)
    for n in range(500):
        letters.write({"n": n, "url": f"http://h/x?password=p&n={n}", "error": "e" * 2000})
    files = sorted(tmp_path.glob("dead-letters.jsonl*"))
    assert len(files) == 3
    assert all(f.stat().st_size <= 4096 for f in files)
    kept = letters.read()
    assert kept and kept[-1]["n"] == 499
    assert [e["n"] for e in kept] == sorted(e["n"] for e in kept)
    assert all("password=***" in str(e["url"]) for e in kept)
    assert all(len(str(e["error"])) <= 512 for e in kept)
