"""One contract, two stores: every test here runs against the embedded SQLite store and against
a real redis-server on loopback (started per module, killed by PID), then the few behaviours
only one of them has (embedded max_records and clock-driven expiry; dead Redis)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
import txredisapi
from twisted.internet import defer, reactor, task

from bench.load import free_port
from storage.dlr import (
    DlrRecord,
    DlrStoreClosed,
    DlrStoreUnavailable,
    EmbeddedDlrStore,
    RedisDlrStore,
)


def ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture(scope="module")
def redis_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A private redis-server on 127.0.0.1, no persistence; killed by its PID at teardown."""
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is missing (.ci/run installs it)")
        pytest.skip("redis-server is not installed")
    directory = tmp_path_factory.mktemp("redis")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(directory)],
        cwd=directory,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 5
        while not ping(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"redis-server did not answer PING on port {port}")
            time.sleep(0.02)
        yield port
    finally:
        proc.kill()
        proc.wait(timeout=5)


Opener = Callable[..., Any]


@pytest.fixture(params=["embedded", "redis"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """``opener(**kw)`` opens a new store on the same backing data (the same SQLite file, or
    the same Redis table through a new client), so a test can reopen and see persistence.
    Every store opened is closed at teardown."""
    opened: list[Any] = []
    if request.param == "embedded":
        path = tmp_path / "dlr.sqlite"

        def open_store(**kw: Any) -> Any:
            kw.setdefault("ttl", 3600)
            store = EmbeddedDlrStore(path, reactor=reactor, **kw)
            opened.append(store)
            return store
    else:
        port = request.getfixturevalue("redis_port")
        table = "dlr-" + uuid.uuid4().hex[:8]

        def open_store(**kw: Any) -> Any:
            kw.setdefault("ttl", 3600)
            kw.pop("max_records", None)
            store = RedisDlrStore("127.0.0.1", port, table=table, reactor=reactor, **kw)
            opened.append(store)
            return store

    open_store.kind = request.param  # type: ignore[attr-defined]
    yield open_store
    for store in opened:
        pytest_twisted.blockon(store.close())


def rec(message_id: str, smsc: str = "sink", **kw: Any) -> DlrRecord:
    kw.setdefault("created", time.time())
    kw.setdefault("mask", 31)
    return DlrRecord(
        smsc_id=smsc,
        message_id=message_id,
        raw_message_id=kw.pop("raw", message_id),
        source="12345",
        destination="4670000001",
        service="tester",
        url="http://127.0.0.1/dlr?d=%d&A=%A",
        boxc_id="smsbox",
        parent_id="req-" + message_id,
        part=1,
        parts=2,
        meta={"orig_msg": "dlr_mask=31&", "x": "0123"},
        **kw,
    )


@pytest_twisted.ensureDeferred
async def test_add_get_remove(opener: Opener) -> None:
    store = opener()
    r = rec("1795248276000055")
    assert await store.get("sink", r.message_id) is None
    await store.add(r)
    assert await store.get("sink", r.message_id) == r
    assert await store.get("other-smsc", r.message_id) is None  # keyed by smsc too
    assert await store.count() == 1
    await store.remove("sink", r.message_id)
    assert await store.get("sink", r.message_id) is None
    assert await store.count() == 0
    await store.remove("sink", r.message_id)  # absent: not an error


@pytest_twisted.ensureDeferred
async def test_add_replaces_the_same_key(opener: Opener) -> None:
    store = opener()
    await store.add(rec("42", mask=1))
    await store.add(rec("42", mask=3))
    got = await store.get("sink", "42")
    assert got is not None and got.mask == 3
    assert await store.count() == 1


@pytest.mark.parametrize(
    "message_id",
    ["0123", "00B8BE19", "9380935605053030457", "812FC7470000001B", "1e5", "0", "-0", " 7 "],
)
@pytest_twisted.ensureDeferred
async def test_ids_that_look_like_numbers_stay_strings(opener: Opener, message_id: str) -> None:
    store = opener()
    r = rec(message_id, raw=message_id.lower(), mask=0)
    await store.add(r)
    got = await store.get("sink", message_id)
    assert got == r
    assert isinstance(got.message_id, str) and got.message_id == message_id
    assert got.raw_message_id == message_id.lower()
    assert got.meta["x"] == "0123"
    if message_id == "0123":
        assert await store.get("sink", "123") is None  # never matched as a number


@pytest_twisted.ensureDeferred
async def test_records_persist_across_reopen(opener: Opener) -> None:
    first = opener()
    records = [rec(f"{i:08X}", smsc=f"smsc{i % 2}") for i in range(20)]
    for r in records:
        await first.add(r)
    await first.close()
    second = opener()
    for r in records:
        assert await second.get(r.smsc_id, r.message_id) == r
    assert await second.count() == 20


@pytest_twisted.ensureDeferred
async def test_count_and_flush(opener: Opener) -> None:
    store = opener()
    await defer.gatherResults([store.add(rec(str(i))) for i in range(50)])
    assert await store.count() == 50
    assert await store.flush() == 50
    assert await store.count() == 0
    assert await store.get("sink", "7") is None
    assert await store.flush() == 0


@pytest_twisted.ensureDeferred
async def test_records_expire_after_the_ttl(opener: Opener) -> None:
    store = opener(ttl=1)
    r = rec("0042")
    await store.add(r)
    assert await store.get("sink", "0042") == r
    deadline = time.monotonic() + 3
    while await store.get("sink", "0042") is not None:
        assert time.monotonic() < deadline, "record outlived its 1 s TTL by 2 s"
        await task.deferLater(reactor, 0.1, lambda: None)
    assert await store.count() == 0


@pytest_twisted.ensureDeferred
async def test_closed_store_refuses(opener: Opener) -> None:
    store = opener()
    await store.close()
    with pytest.raises(DlrStoreClosed):
        await store.get("sink", "1")
    with pytest.raises(DlrStoreClosed):
        await store.add(rec("1"))
    await store.close()  # twice is fine


# -- embedded only --------------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_embedded_is_bounded_by_max_records_oldest_first(tmp_path: Path) -> None:
    store = EmbeddedDlrStore(tmp_path / "d.sqlite", ttl=3600, max_records=10, reactor=reactor)
    try:
        for i in range(25):
            await store.add(rec(str(i), created=1000.0 + i + time.time()))
        assert await store.count() == 10
        assert store.evicted == 15
        assert await store.get("sink", "14") is None
        assert [bool(await store.get("sink", str(i))) for i in range(15, 25)] == [True] * 10
    finally:
        await store.close()
    reopened = EmbeddedDlrStore(tmp_path / "d.sqlite", ttl=3600, max_records=10, reactor=reactor)
    try:
        assert await reopened.count() == 10  # the row count is read back at open
        await reopened.add(rec("new", created=time.time() + 5000))
        assert await reopened.count() == 10 and reopened.evicted == 1
    finally:
        await reopened.close()


@pytest_twisted.ensureDeferred
async def test_embedded_expiry_follows_the_injected_clock(tmp_path: Path) -> None:
    clock = task.Clock()
    clock.advance(1_000_000)
    store = EmbeddedDlrStore(
        tmp_path / "d.sqlite", ttl=100, reactor=reactor, clock=clock, purge_interval=10
    )
    try:
        await store.add(rec("old", created=clock.seconds()))
        await store.add(rec("young", created=clock.seconds() + 50))
        clock.advance(99)
        assert await store.get("sink", "old") is not None
        clock.advance(1)  # the purge loop fires on the clock; its work runs on the thread
        assert await store.count() == 1  # queued behind the purge on the single thread
        assert store.expired == 1
        assert await store.get("sink", "young") is not None
        clock.advance(51)  # past young's TTL, but before the next purge tick
        assert await store.get("sink", "young") is None  # checked on get
        assert await store.count() == 0
    finally:
        await store.close()
    assert not clock.getDelayedCalls()  # close stops the purge loop


def test_embedded_refuses_unbounded_config(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        EmbeddedDlrStore(tmp_path / "d.sqlite", ttl=0, reactor=reactor)
    with pytest.raises(ValueError):
        EmbeddedDlrStore(tmp_path / "d.sqlite", ttl=10, max_records=0, reactor=reactor)


@pytest_twisted.ensureDeferred
async def test_embedded_uses_wal_and_an_index_on_the_key(tmp_path: Path) -> None:
    store = EmbeddedDlrStore(tmp_path / "d.sqlite", ttl=10, reactor=reactor)
    await store.count()
    await store.close()
    import sqlite3

    db = sqlite3.connect(tmp_path / "d.sqlite")
    try:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        plan = db.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM dlr WHERE smsc = 'a' AND ts = 'b'"
        ).fetchall()
        assert "INDEX" in str(plan).upper()
    finally:
        db.close()


# -- Redis only -----------------------------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_dead_redis_fails_clearly_instead_of_hanging() -> None:
    store = RedisDlrStore("127.0.0.1", free_port(), ttl=60, reactor=reactor, timeout=0.5)
    try:
        started = time.monotonic()
        for call in (
            lambda: store.add(rec("1")),
            lambda: store.get("sink", "1"),
            lambda: store.remove("sink", "1"),
            store.count,
            store.flush,
        ):
            with pytest.raises(DlrStoreUnavailable, match="did not answer within 0.5 s"):
                await call()
        assert time.monotonic() - started < 5
    finally:
        await store.close()


@pytest_twisted.ensureDeferred
async def test_redis_key_layout_and_ttl(redis_port: int) -> None:
    table = "dlr-" + uuid.uuid4().hex[:8]
    store = RedisDlrStore("127.0.0.1", redis_port, ttl=3600, table=table, reactor=reactor)
    raw = await txredisapi.Connection("127.0.0.1", redis_port, convertNumbers=False)
    try:
        await store.add(rec("00B8BE19", smsc="sink:a"))
        key = f"{table}:sink:a:00B8BE19"
        assert store.key("sink:a", "00B8BE19") == key
        assert 3590 <= int(await raw.ttl(key)) <= 3600
        fields = await raw.hgetall(key)
        assert fields["ts"] == "00B8BE19" and fields["smsc"] == "sink:a"
        assert fields["mask"] == "31" and fields["url"].startswith("http://")
    finally:
        await raw.disconnect()
        await store.close()


@pytest_twisted.ensureDeferred
async def test_redis_count_ignores_other_tables(redis_port: int) -> None:
    a = RedisDlrStore("127.0.0.1", redis_port, table="t*a", reactor=reactor)
    b = RedisDlrStore("127.0.0.1", redis_port, table="t-b", reactor=reactor)
    try:
        await a.flush()
        await b.flush()
        await a.add(rec("1"))
        await b.add(rec("1"))
        await b.add(rec("2"))
        assert (await a.count(), await b.count()) == (1, 2)
        assert await a.flush() == 1
        assert await b.count() == 2
    finally:
        await a.flush()
        await b.flush()
        await a.close()
        await b.close()
