"""GatewayService composition, twistd's makeService and `passerelle run`'s front matter.

The HTTP accept path through the whole service is in tests/e2e/test_sendsms_e2e.py; here
the pieces are checked one by one on the real reactor against a real simulator.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from twisted.internet import defer, reactor, task
from twisted.internet.protocol import Protocol
from twisted.python import usage
from twisted.web.client import Agent, ResponseDone

from bench.load import free_port
from gateway import tap
from gateway.config import default_config_path, load_config, load_config_text
from gateway.run import run, try_lines
from gateway.service import GatewayService, queue_limit
from protocols.smpp.simulator import SimulatorConfig, SimulatorFactory, listen
from tests.polling import until


def conf(smsc_port: int, admin_port: int, extra_smsc: str = "", core: str = "") -> str:
    return textwrap.dedent(
        f"""\
        group = core
        admin-port = {admin_port}
        admin-interface = 127.0.0.1
        admin-password = secret
        {core}

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
        {extra_smsc}
        """
    )


class _Body(Protocol):
    """Collects a response body (readBody warns about our transport)."""

    def __init__(self, done: defer.Deferred[bytes]) -> None:
        self.done = done
        self.chunks: list[bytes] = []

    def dataReceived(self, data: bytes) -> None:
        self.chunks.append(data)

    def connectionLost(self, reason: Any = None) -> None:
        if reason is None or reason.check(ResponseDone):
            self.done.callback(b"".join(self.chunks))
        else:
            self.done.errback(reason)


@pytest.fixture
def sim() -> Generator[SimulatorFactory, None, None]:
    port = listen(reactor, SimulatorConfig(host="127.0.0.1", port=0, record=1000))
    factory: SimulatorFactory = port.factory  # type: ignore[attr-defined]
    factory.port_number = port.getHost().port  # type: ignore[attr-defined]
    yield factory
    factory.drop_connections()
    pytest_twisted.blockon(defer.maybeDeferred(port.stopListening))


@pytest.fixture
def stop_after() -> Generator[list[GatewayService], None, None]:
    services: list[GatewayService] = []
    yield services
    for service in services:
        pytest_twisted.blockon(defer.maybeDeferred(service.stopService))


# composition, without starting anything


def test_building_the_service_opens_nothing() -> None:
    config = load_config_text(conf(free_port(), free_port()))
    service = GatewayService(config, reactor)
    assert not service.running
    assert service.admin is not None and service.admin.port is None
    assert len(service.links) == 1 and not service.links[0].online
    assert service.simulator is None and service.sendsms is None


def test_instances_make_one_link_each() -> None:
    config = load_config_text(conf(free_port(), free_port(), "instances = 3"))
    service = GatewayService(config, reactor)
    assert len(service.links) == 3 and len(service.router.rules) == 3


def test_queue_limit_takes_the_smaller_cap() -> None:
    config = load_config_text(conf(1, 2, core="sms-outgoing-queue-limit = 500"))
    assert queue_limit(config) == 500
    config = load_config_text(conf(1, 2, core="sms-outgoing-queue-limit = -1"))
    assert queue_limit(config) == config.passerelle.queue_max_messages


def test_embedded_default_starts_the_simulator() -> None:
    service = GatewayService(load_config(default_config_path()), reactor)
    assert service.simulator is not None and service.simulator.port_number == 2775


# running


@pytest_twisted.inlineCallbacks
def test_service_binds_and_unbinds_on_stop(sim: SimulatorFactory) -> Any:
    config = load_config_text(conf(sim.port_number, free_port()))  # type: ignore[attr-defined]
    service = GatewayService(config, reactor)
    service.startService()
    link = service.links[0]
    yield until(lambda: link.online)
    yield service.stopService()
    assert sim.counters.unbinds == 1
    assert not link.online and service.admin is not None and service.admin.port is None


@pytest_twisted.inlineCallbacks
def test_receive_only_group_binds_a_receiver_and_is_no_route(
    sim: SimulatorFactory, stop_after: list[Any]
) -> Any:
    port = sim.port_number  # type: ignore[attr-defined]
    receiver = textwrap.dedent(
        f"""
        group = smsc
        smsc = smpp
        smsc-id = sim
        host = 127.0.0.1
        port = 0
        receive-port = {port}
        smsc-username = esme
        smsc-password = secret
        system-type = ""
        reconnect-delay = 1
        """
    )
    config = load_config_text(conf(port, free_port()) + receiver)
    service = GatewayService(config, reactor)
    stop_after.append(service)
    assert service.router.rules[1] is None and service.router.rules[0] is not None
    service.startService()
    yield until(lambda: sim.counters.binds == 2)
    assert service.links[0].online and not service.links[1].online


@pytest_twisted.inlineCallbacks
def test_dead_start_link_stays_down(sim: SimulatorFactory, stop_after: list[Any]) -> Any:
    config = load_config_text(
        conf(sim.port_number, free_port(), "dead-start = true")  # type: ignore[attr-defined]
    )
    service = GatewayService(config, reactor)
    stop_after.append(service)
    service.startService()
    yield task.deferLater(reactor, 0.2, lambda: None)
    assert sim.counters.connections == 0


@pytest_twisted.inlineCallbacks
def test_admin_port_serves_kannels_status_page(
    sim: SimulatorFactory, stop_after: list[Any]
) -> Any:
    admin_port = free_port()
    config = load_config_text(conf(sim.port_number, admin_port))  # type: ignore[attr-defined]
    service = GatewayService(config, reactor)
    stop_after.append(service)
    service.startService()
    response = yield Agent(reactor).request(
        b"GET", f"http://127.0.0.1:{admin_port}/status?password=secret".encode()
    )
    done: defer.Deferred[bytes] = defer.Deferred()
    response.deliverBody(_Body(done))
    body = yield done
    assert response.code == 200
    assert body.startswith(b"Kannel bearerbox version `1.4.5'.")
    assert b"SMSC connections:\n    sim[sim]    SMPP:127.0.0.1:" in body


# twistd


def test_make_service_reads_the_config(tmp_path: Path) -> None:
    path = tmp_path / "kannel.conf"
    path.write_text(conf(free_port(), free_port()), encoding="utf-8")
    options = tap.Options()
    options.parseOptions(["--config", str(path)])
    service = tap.makeService(options, reactor)
    assert isinstance(service, GatewayService) and not service.running


def test_make_service_without_config_uses_the_embedded_default() -> None:
    options = tap.Options()
    options.parseOptions([])
    service = tap.makeService(options, reactor)
    assert service.simulator is not None


def test_make_service_refuses_a_bad_config(tmp_path: Path) -> None:
    path = tmp_path / "kannel.conf"
    path.write_text("group = core\nadmin-port = x\n", encoding="utf-8")
    options = tap.Options()
    options.parseOptions(["--config", str(path)])
    with pytest.raises(usage.UsageError, match="admin-port"):
        tap.makeService(options, reactor)


# passerelle run (the foreground run itself is exercised as a subprocess in tests/e2e)


def test_run_refuses_a_bad_config_before_listening(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "kannel.conf"
    path.write_text("group = core\nadmin-port = x\n", encoding="utf-8")
    assert run(str(path), reactor=object(), out=io.StringIO()) == 1
    assert "admin-port" in capsys.readouterr().err


def test_try_lines_show_the_curl_line_and_hide_real_passwords() -> None:
    config = load_config(default_config_path())
    embedded = try_lines(config, 13013, 13000, embedded=True)
    assert any(
        "curl 'http://127.0.0.1:13013/cgi-bin/sendsms?username=tester&password=foobar" in line
        for line in embedded
    )
    own = "\n".join(try_lines(config, 13013, None, embedded=False))
    assert "password=PASSWORD" in own and "foobar" not in own
    assert "built-in simulator on 127.0.0.1:2775" in own


def test_try_lines_show_the_status_page() -> None:
    config = load_config(default_config_path())
    embedded = try_lines(config, 13013, 13000, embedded=True)
    assert "status:  http://127.0.0.1:13000/dashboard (the live status page)" in embedded
    assert any(line.startswith("admin:   http://127.0.0.1:13000/status") for line in embedded)
