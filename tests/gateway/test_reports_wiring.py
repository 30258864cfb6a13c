"""How the configuration chooses the DLR store and sets up the callback outbox
(`gateway.service.dlr_store_for` / `outbox_for`): which store, where its file goes, which
TTL, how many retries. The stores and the outbox are real; each is closed again."""

from __future__ import annotations

from pathlib import Path

import pytest_twisted
from twisted.internet import reactor

from bench.stack import redis_groups
from gateway.callbacks import DEFAULT_RETRIES
from gateway.config import load_config_text
from gateway.service import dlr_store_for, outbox_for
from storage.dlr import EmbeddedDlrStore, RedisDlrStore

CORE = "group = core\nadmin-port = 13000\nadmin-password = x\n\n"
REDIS = redis_groups(1, table="mydlr", ttl=0)  # nothing listens: the store is only built


@pytest_twisted.ensureDeferred
async def test_embedded_store_lives_in_the_spool_dir_or_in_memory(tmp_path: Path) -> None:
    spooled = load_config_text(CORE + f"group = passerelle\nspool-dir = {tmp_path}/s\n"
                               "dlr-ttl = 600\ndlr-max-entries = 50\n")
    store = dlr_store_for(spooled, reactor)
    try:
        assert isinstance(store, EmbeddedDlrStore)
        assert store.path == tmp_path / "s" / "dlr.sqlite"
        assert (store.ttl, store.max_records) == (600.0, 50)
    finally:
        await store.close()
    elsewhere = load_config_text(CORE + f"group = passerelle\nspool-dir = {tmp_path}/s\n"
                                 f"dlr-file = {tmp_path}/mine.sqlite\n")
    store = dlr_store_for(elsewhere, reactor)
    try:
        assert store.path == tmp_path / "mine.sqlite"
    finally:
        await store.close()
    memory = dlr_store_for(load_config_text(CORE), reactor)  # no spool: nothing on disk
    try:
        assert str(memory.path) == ":memory:"
    finally:
        await memory.close()


@pytest_twisted.ensureDeferred
async def test_redis_store_takes_dlr_db_and_redis_connection() -> None:
    config = load_config_text(CORE.replace("admin-password = x\n",
                                           "admin-password = x\ndlr-storage = redis\n")
                              + REDIS + "\ngroup = passerelle\ndlr-ttl = 900\n")
    store = dlr_store_for(config, reactor)
    try:
        assert isinstance(store, RedisDlrStore)
        assert store.table == "mydlr"
        assert store.ttl == 900  # dlr-db ttl = 0 is "forever" in Kannel: ours stays bounded
    finally:
        await store.close()


@pytest_twisted.ensureDeferred
async def test_outbox_retries_kannel_keys_or_our_bounded_default(tmp_path: Path) -> None:
    unset = load_config_text(CORE)
    outbox = outbox_for(unset, reactor, tmp_path / "a")
    assert outbox.retries == DEFAULT_RETRIES and outbox.retry_delay == 10.0
    assert outbox.max_pending == 512 and outbox.guard.enabled
    explicit = load_config_text(
        CORE + "group = smsbox\nbearerbox-host = 127.0.0.1\nhttp-request-retry = 0\n"
        "http-queue-delay = 3\nmax-pending-requests = 7\n\n"
        "group = passerelle\ncallback-guard = false\ncallback-max-bytes = 1M\n"
    )
    outbox = outbox_for(explicit, reactor, tmp_path / "b")
    assert (outbox.retries, outbox.retry_delay, outbox.max_pending) == (0, 3.0, 7)
    assert not outbox.guard.enabled and outbox.max_bytes == 1 << 20
