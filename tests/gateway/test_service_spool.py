"""GatewayService with `spool-dir`: the durable SpoolQueue is used, opened at start, closed at
stop, and what it held while the SMSC was down is delivered after a restart."""

from __future__ import annotations

import textwrap
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from twisted.internet import defer, reactor

from gateway.config import default_config_path, load_config, load_config_text
from gateway.message import Message, new_id
from gateway.queue import MemoryQueue, QueueFull
from gateway.service import GatewayService, uses_spool
from gateway.spool_queue import SpoolQueue
from protocols.smpp.simulator import SimulatorConfig, SimulatorFactory, listen
from tests.gateway.test_service import free_port
from tests.polling import until


def conf(smsc_port: int, spool: Path | None) -> str:
    passerelle = f"group = passerelle\nspool-dir = {spool}\n" if spool is not None else ""
    return textwrap.dedent(
        f"""\
        group = core
        admin-port = {free_port()}
        admin-interface = 127.0.0.1
        admin-password = secret

        group = smsc
        smsc = smpp
        smsc-id = sim
        host = 127.0.0.1
        port = {smsc_port}
        transceiver-mode = true
        smsc-username = esme
        smsc-password = secret
        system-type = ""
        reconnect-delay = 1

        """
    ) + passerelle


def messages(count: int) -> list[Message]:
    out = []
    for i in range(count):
        mid = new_id()
        out.append(Message(mid, mid, "12345", "4670000001", b"m%d" % i, smsc_id="sim",
                           username="tester", created=reactor.seconds()))
    return out


@pytest.fixture
def services() -> Generator[list[GatewayService], None, None]:
    running: list[GatewayService] = []
    yield running
    for service in running:
        if service.running:
            pytest_twisted.blockon(defer.maybeDeferred(service.stopService))


def test_the_queue_is_the_spool_only_when_spool_dir_is_set(tmp_path: Path) -> None:
    with_spool = load_config_text(conf(1, tmp_path / "spool"))
    assert uses_spool(with_spool)
    assert isinstance(GatewayService(with_spool, reactor).queue, SpoolQueue)
    without = load_config_text(conf(1, None))
    assert not uses_spool(without)
    assert isinstance(GatewayService(without, reactor).queue, MemoryQueue)
    # The embedded default (`passerelle run` with no file) spools in ./passerelle-spool.
    embedded = GatewayService(load_config(default_config_path()), reactor).queue
    assert isinstance(embedded, SpoolQueue)
    assert str(embedded.spool.directory) == "passerelle-spool"


@pytest_twisted.inlineCallbacks
def test_spooled_messages_survive_a_restart_and_are_delivered(
    tmp_path: Path, services: list[GatewayService]
) -> Any:
    spool = tmp_path / "spool"
    smsc_port = free_port()
    first = GatewayService(load_config_text(conf(smsc_port, spool)), reactor)
    services.append(first)
    first.startService()
    yield first.queue.put(messages(7))  # fires after fsync; no SMSC is up
    assert first.queue.queued == 7 and any(spool.rglob("*.seg"))
    yield first.stopService()

    port = listen(reactor, SimulatorConfig(host="127.0.0.1", port=smsc_port, record=1000))
    sim: SimulatorFactory = port.factory  # type: ignore[attr-defined]
    try:
        second = GatewayService(load_config_text(conf(smsc_port, spool)), reactor)
        services.append(second)
        second.startService()
        yield until(lambda: sim.counters.accepted == 7, timeout=15)
        yield until(lambda: second.queue.queued == 0 and second.queue.in_flight == 0)
        yield second.stopService()
    finally:
        sim.drop_connections()
        yield port.stopListening()
    third = GatewayService(load_config_text(conf(smsc_port, spool)), reactor)
    services.append(third)
    third.startService()
    yield third.queue_opened
    assert third.queue.queued == 0  # acked: nothing replayed
    yield third.stopService()


@pytest_twisted.inlineCallbacks
def test_a_spool_held_by_another_gateway_stops_the_second_one(
    tmp_path: Path, services: list[GatewayService]
) -> Any:
    spool = tmp_path / "spool"
    first = GatewayService(load_config_text(conf(free_port(), spool)), reactor)
    services.append(first)
    first.startService()
    yield first.queue_opened
    second = GatewayService(load_config_text(conf(free_port(), spool)), reactor)
    second.stop_reactor_on_fatal = False  # the test's reactor is shared
    services.append(second)
    second.startService()
    yield until(lambda: not second.running)
    assert second.admin is not None and second.admin.port is None  # listeners closed
    assert first.running and first.queue.opened


@pytest_twisted.inlineCallbacks
def test_a_user_spool_cap_refuses_only_that_user(tmp_path: Path) -> Any:
    text = conf(free_port(), tmp_path / "spool") + textwrap.dedent(
        """
        group = smsbox
        bearerbox-host = 127.0.0.1

        group = sendsms-user
        username = bulk
        password = x

        group = passerelle-user
        username = bulk
        spool-max-bytes = 1K

        group = sendsms-user
        username = otp
        password = y
        """
    )
    config = load_config_text(text)
    assert {u.username: u.spool_max_bytes for u in config.users} == {"bulk": 1024, "otp": None}
    service = GatewayService(config, reactor)
    queue = service.queue
    assert isinstance(queue, SpoolQueue)
    yield queue.open()
    try:
        bulk = messages(3)
        for m in bulk:
            m.username = "bulk"
        yield queue.put(bulk)
        more = messages(5)
        for m in more:
            m.username = "bulk"
        with pytest.raises(QueueFull):
            queue.put(more)
        yield queue.put(messages(20))  # "tester"-owned: only the global cap applies
    finally:
        yield queue.close()
