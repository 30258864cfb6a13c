"""status.json on the admin port: the spool's use against its cap, lanes, links, with
Kannel's status-password rule. Real service, real HTTP."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from twisted.internet import defer, reactor
from twisted.web.client import Agent, readBody

from gateway.config import load_config_text
from gateway.message import Message, new_id
from gateway.service import GatewayService
from tests.gateway.test_service import free_port

CAP = 1_000_000

pytestmark = pytest.mark.filterwarnings("ignore:Using readBody:DeprecationWarning")


def conf(admin_port: int, spool: Path, status_password: str | None) -> str:
    status = f"status-password = {status_password}\n" if status_password else ""
    return textwrap.dedent(
        f"""\
        group = core
        admin-port = {admin_port}
        admin-interface = 127.0.0.1
        admin-password = secret
        """
    ) + status + textwrap.dedent(
        f"""
        group = smsc
        smsc = smpp
        smsc-id = down
        host = 127.0.0.1
        port = {free_port()}
        transceiver-mode = true
        smsc-username = esme
        smsc-password = secret
        system-type = ""
        reconnect-delay = 30

        group = passerelle
        spool-dir = {spool}
        spool-max-bytes = {CAP}
        """
    )


def message(priority: int) -> Message:
    mid = new_id()
    return Message(mid, mid, "12345", "4670000001", b"hello", priority=priority)


@pytest.fixture
def services() -> Generator[list[GatewayService], None, None]:
    running: list[GatewayService] = []
    yield running
    for service in running:
        if service.running:
            pytest_twisted.blockon(defer.maybeDeferred(service.stopService))


@defer.inlineCallbacks
def get_json(port: int, query: str = "") -> Generator[Any, Any, Any]:
    response = yield Agent(reactor).request(
        b"GET", f"http://127.0.0.1:{port}/status.json{query}".encode()
    )
    body = yield readBody(response)
    return body


@pytest_twisted.inlineCallbacks
def test_status_json_shows_spool_use_against_its_cap_and_lanes(
    tmp_path: Path, services: list[GatewayService]
) -> Generator[Any, Any, None]:
    port = free_port()
    service = GatewayService(load_config_text(conf(port, tmp_path / "spool", None)), reactor)
    services.append(service)
    service.startService()
    yield service.queue_opened
    # The SMSC is down: what is put stays queued, in its lane.
    yield service.queue.put([message(3)] + [message(0) for _ in range(4)])
    body = yield get_json(port)
    status = json.loads(body)
    queue = status["queue"]
    assert queue["kind"] == "spool" and queue["durable"] is True
    assert queue["max_bytes"] == CAP
    assert 0 < queue["bytes_used"] <= CAP
    assert queue["bytes_used"] == service.queue.bytes_used
    assert queue["queued"] == 5
    assert queue["lanes"]["3"]["depth"] == 1 and queue["lanes"]["0"]["depth"] == 4
    assert queue["lanes"]["0"]["oldest_age_seconds"] >= 0
    [link] = status["smsc"]
    assert link["smsc_id"] == "down" and link["online"] is False
    assert status["process"]["rss_bytes"] > 0


@pytest_twisted.inlineCallbacks
def test_status_json_needs_the_status_or_admin_password_when_one_is_set(
    tmp_path: Path, services: list[GatewayService]
) -> Generator[Any, Any, None]:
    port = free_port()
    service = GatewayService(load_config_text(conf(port, tmp_path / "spool", "look")), reactor)
    services.append(service)
    service.startService()
    yield service.queue_opened
    denied = yield get_json(port)
    assert denied == b"Denied"
    wrong = yield get_json(port, "?password=nope")
    assert wrong == b"Denied"
    for password in ("look", "secret"):
        body = yield get_json(port, f"?password={password}")
        assert json.loads(body)["queue"]["kind"] == "spool"


@pytest_twisted.inlineCallbacks
def test_metrics_carry_the_spool_cap_use_and_lanes(
    tmp_path: Path, services: list[GatewayService]
) -> Generator[Any, Any, None]:
    port = free_port()
    service = GatewayService(load_config_text(conf(port, tmp_path / "spool", None)), reactor)
    services.append(service)
    service.startService()
    yield service.queue_opened
    yield service.queue.put([message(3), message(0), message(0)])
    response = yield Agent(reactor).request(b"GET", f"http://127.0.0.1:{port}/metrics".encode())
    assert response.headers.getRawHeaders(b"content-type")[0].startswith(b"text/plain")
    text = (yield readBody(response)).decode()
    values = {
        line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line and not line.startswith("#")
    }
    assert values["passerelle_spool_max_bytes"] == CAP
    assert 0 < values["passerelle_spool_bytes"] == service.queue.bytes_used
    assert values["passerelle_queue_messages"] == 3
    assert values['passerelle_lane_depth{lane="3"}'] == 1
    assert values['passerelle_lane_depth{lane="0"}'] == 2
    assert values['passerelle_smsc_online{smsc_id="down"}'] == 0
