"""The admin port over the real gateway: Kannel's commands steer a running GatewayService
(suspend, stop-smsc, store-status, remove-message, ...), status.json and /metrics show its
live counters, reconfigure applies a new file all or nothing, and a stop drains the window.

Everything runs on the real reactor, over real sockets, against the in-process simulator.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import pytest_twisted
from twisted.internet import defer, reactor, task
from twisted.internet.protocol import Protocol
from twisted.web.client import Agent, ResponseDone

from bench.load import free_port
from gateway.config import load_config, load_config_text
from gateway.service import GatewayService
from protocols.smpp.simulator import SimulatorConfig, SimulatorFactory, listen
from tests.polling import until


def conf(smsc_port: int, admin_port: int, sendsms_port: int, spool: Path,
         users: str = "", smsc_extra: str = "") -> str:
    return textwrap.dedent(
        f"""\
        group = core
        admin-port = {admin_port}
        admin-interface = 127.0.0.1
        admin-password = secret
        dlr-storage = internal

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
        {smsc_extra}

        group = smsbox
        bearerbox-host = 127.0.0.1
        sendsms-port = {sendsms_port}
        sendsms-interface = 127.0.0.1

        group = sendsms-user
        username = tester
        password = foobar
        {users}

        group = passerelle
        spool-dir = {spool}
        shutdown-grace = 5
        """
    )


class _Body(Protocol):
    def __init__(self, done: defer.Deferred[bytes]) -> None:
        self.done = done
        self.chunks: list[bytes] = []

    def dataReceived(self, data: bytes) -> None:  # noqa: N802 - Twisted's name
        self.chunks.append(data)

    def connectionLost(self, reason: Any = None) -> None:  # noqa: N802 - Twisted's name
        if reason is None or reason.check(ResponseDone):
            self.done.callback(b"".join(self.chunks))
        else:
            self.done.errback(reason)


@defer.inlineCallbacks
def get(url: str) -> Generator[Any, Any, tuple[int, bytes]]:
    response = yield Agent(reactor).request(b"GET", url.encode())
    done: defer.Deferred[bytes] = defer.Deferred()
    response.deliverBody(_Body(done))
    body = yield done
    return response.code, body


class Gateway:
    """A running gateway and the URLs to talk to it."""

    def __init__(self, service: GatewayService, admin: int, sendsms: int) -> None:
        self.service = service
        self.admin = admin
        self.sendsms = sendsms

    def command(self, name: str, **params: str) -> defer.Deferred[tuple[int, bytes]]:
        query = "&".join(f"{k}={quote(v)}" for k, v in {"password": "secret", **params}.items())
        return get(f"http://127.0.0.1:{self.admin}/{name}?{query}")

    @defer.inlineCallbacks
    def send(self, text: str, user: str = "tester", password: str = "foobar",
             to: str = "4670000001") -> Generator[Any, Any, tuple[int, bytes]]:
        code, body = yield get(
            f"http://127.0.0.1:{self.sendsms}/cgi-bin/sendsms?username={user}"
            f"&password={password}&from=12345&to={to}&text={quote(text)}"
        )
        return code, body

    @defer.inlineCallbacks
    def status(self) -> Generator[Any, Any, dict[str, Any]]:
        _, body = yield get(f"http://127.0.0.1:{self.admin}/status.json")
        return json.loads(body)


@pytest.fixture
def sim() -> Generator[SimulatorFactory, None, None]:
    port = listen(reactor, SimulatorConfig(host="127.0.0.1", port=0, record=1000))
    factory: SimulatorFactory = port.factory  # type: ignore[attr-defined]
    factory.port_number = port.getHost().port  # type: ignore[attr-defined]
    yield factory
    factory.drop_connections()
    pytest_twisted.blockon(defer.maybeDeferred(port.stopListening))


@pytest.fixture
def make_gateway(
    sim: SimulatorFactory, tmp_path: Path
) -> Generator[Callable[..., Any], None, None]:
    started: list[GatewayService] = []

    @defer.inlineCallbacks
    def make(**extra: str) -> Generator[Any, Any, Gateway]:
        admin, sendsms = free_port(), free_port()
        path = tmp_path / "kannel.conf"
        path.write_text(
            conf(sim.port_number, admin, sendsms, tmp_path / "spool", **extra),  # type: ignore[attr-defined]
            encoding="utf-8",
        )
        service = GatewayService(load_config(path), reactor)
        service.stop_reactor_on_fatal = False
        service.exit = lambda: None
        started.append(service)
        service.startService()
        yield service.queue_opened
        yield until(lambda: all(link.online for link in service.links))
        return Gateway(service, admin, sendsms)

    yield make
    for service in started:
        pytest_twisted.blockon(defer.maybeDeferred(service.stopService))


@pytest_twisted.inlineCallbacks
def test_status_json_and_status_page_count_what_was_sent(
    make_gateway: Any, sim: SimulatorFactory
) -> Any:
    gw = yield make_gateway()
    for n in range(3):
        code, _ = yield gw.send(f"hello {n}")
        assert code == 202
    yield until(lambda: sim.counters.accepted == 3)
    gw.service.control.meters.sample()
    status = yield gw.status()
    assert status["state"] == "running"
    assert status["queue"]["accepted"] == 3
    [link] = status["smsc"]
    assert link["sent"] == 3 and link["online"] and link["failed"] == 0
    assert status["rates"]["sms_out"][0] > 0 and status["rates"]["sms_in"][0] > 0
    assert status["dlr"]["kind"] == "internal" and status["callbacks"]["dead_letter"] == 0
    code, page = yield gw.command("status.txt")
    assert code == 200
    assert b"SMS: received 0 (0 queued), sent 3 (0 queued), store size 0" in page
    assert b"sent: sms 3 (" in page


@pytest_twisted.inlineCallbacks
def test_metrics_name_the_issue_figures(make_gateway: Any) -> Any:
    gw = yield make_gateway()
    code, _ = yield gw.send("hello")
    assert code == 202
    _, body = yield get(f"http://127.0.0.1:{gw.admin}/metrics")
    text = body.decode()
    for name in (
        'passerelle_submits_total{smsc_id="sim",status="ok"}',
        "passerelle_segments_accepted_total 1.0",
        'passerelle_lane_depth{lane="0"}',
        'passerelle_lane_oldest_age_seconds{lane="0"}',
        'passerelle_smsc_window_in_flight{smsc_id="sim"}',
        'passerelle_smsc_throttled_total{smsc_id="sim"}',
        'passerelle_smsc_online{smsc_id="sim"} 1.0',
        'passerelle_smsc_reconnects_total{smsc_id="sim"}',
        'passerelle_receipts_total{outcome="unmatched"}',
        "passerelle_callback_retries_total",
        "passerelle_spool_bytes",
        'passerelle_spool_fsync_seconds_bucket{le="+Inf"}',
    ):
        assert name in text, name


@pytest_twisted.inlineCallbacks
def test_suspend_queues_without_sending_and_resume_sends(
    make_gateway: Any, sim: SimulatorFactory
) -> Any:
    gw = yield make_gateway()
    code, body = yield gw.command("suspend")
    assert body == b"Kannel suspended"
    _, body = yield gw.command("suspend")
    assert body == b"Already suspended"
    for n in range(3):
        code, _ = yield gw.send(f"held {n}")
        assert code == 202
    yield task.deferLater(reactor, 0.3, lambda: None)
    assert sim.counters.submits == 0
    assert gw.service.links[0].online
    _, listing = yield gw.command("store-status.txt")
    lines = listing.decode().splitlines()
    assert lines[0].startswith("[SMS ID] [Type] [Time]")
    assert len(lines) == 4 and all("[MT-PUSH]" in line for line in lines[1:])
    assert "held+0" in lines[1]
    victim = lines[2][1:37]
    _, body = yield gw.command("remove-message", id=victim)
    assert body == f"Message id `{victim}' removed".encode()
    _, body = yield gw.command("resume")
    assert body == b"Running resumed"
    yield until(lambda: sim.counters.accepted == 2)
    yield task.deferLater(reactor, 0.3, lambda: None)
    assert sim.counters.submits == 2
    status = yield gw.status()
    assert status["queue"]["removed"] == 1 and status["queue"]["queued"] == 0


@pytest_twisted.inlineCallbacks
def test_stop_smsc_and_start_smsc(make_gateway: Any, sim: SimulatorFactory) -> Any:
    gw = yield make_gateway()
    _, body = yield gw.command("stop-smsc", smsc="sim")
    assert body == b"SMSC `sim' shut down"
    yield until(lambda: sim.counters.unbinds == 1)
    _, body = yield gw.command("stop-smsc", smsc="nosuch")
    assert body == b"Could not shut down smsc-id `nosuch'"
    _, body = yield gw.command("start-smsc", smsc="sim")
    assert body == b"SMSC `sim' re-started"
    yield until(lambda: gw.service.links[0].online)
    assert sim.counters.binds == 2


@pytest_twisted.inlineCallbacks
def test_remove_smsc_and_add_it_back_from_the_file(
    make_gateway: Any, sim: SimulatorFactory
) -> Any:
    gw = yield make_gateway()
    _, body = yield gw.command("remove-smsc", smsc="sim")
    assert body == b"SMSC `sim' removed"
    assert gw.service.links == []
    _, body = yield gw.command("add-smsc", smsc="sim")
    assert body == b"SMSC `sim' added"
    yield until(lambda: len(gw.service.links) == 1 and gw.service.links[0].online)
    _, body = yield gw.command("add-smsc", smsc="sim")
    assert body == b"Could not add smsc-id `sim'"
    code, _ = yield gw.send("after add")
    assert code == 202
    yield until(lambda: sim.counters.accepted == 1)


@pytest_twisted.inlineCallbacks
def test_reload_adds_a_user_and_keeps_the_bind(
    make_gateway: Any, sim: SimulatorFactory, tmp_path: Path
) -> Any:
    gw = yield make_gateway()
    link = gw.service.links[0]
    code, _ = yield gw.send("x", user="newbie", password="pw")
    assert code == 403
    path = tmp_path / "kannel.conf"
    path.write_text(
        path.read_text(encoding="utf-8")
        + "\ngroup = sendsms-user\nusername = newbie\npassword = pw\n",
        encoding="utf-8",
    )
    ok = yield gw.service.reload()
    assert ok is True
    code, _ = yield gw.send("x", user="newbie", password="pw")
    assert code == 202
    assert gw.service.links[0] is link and link.online and sim.counters.binds == 1


@pytest_twisted.inlineCallbacks
def test_reload_of_a_bad_file_changes_nothing(
    make_gateway: Any, sim: SimulatorFactory, tmp_path: Path
) -> Any:
    gw = yield make_gateway()
    path = tmp_path / "kannel.conf"
    good = path.read_text(encoding="utf-8")
    path.write_text(good + "\ngroup = sendsms-user\nusername = broken\n", encoding="utf-8")
    ok = yield gw.service.reload()
    assert ok is False
    # A port change cannot be applied in a running process: refused whole.
    path.write_text(
        good.replace(f"admin-port = {gw.admin}", f"admin-port = {free_port()}")
        + "\ngroup = sendsms-user\nusername = newbie\npassword = pw\n",
        encoding="utf-8",
    )
    ok = yield gw.service.reload()
    assert ok is False
    code, _ = yield gw.send("x", user="newbie", password="pw")
    assert code == 403
    assert gw.service.links[0].online and sim.counters.binds == 1


@pytest_twisted.inlineCallbacks
def test_reload_restarts_only_a_changed_smsc_group(
    make_gateway: Any, sim: SimulatorFactory, tmp_path: Path
) -> Any:
    gw = yield make_gateway()
    path = tmp_path / "kannel.conf"
    text = path.read_text(encoding="utf-8")
    port = sim.port_number  # type: ignore[attr-defined]
    second = textwrap.dedent(
        f"""
        group = smsc
        smsc = smpp
        smsc-id = other
        host = 127.0.0.1
        port = {port}
        transceiver-mode = true
        smsc-username = esme2
        smsc-password = secret
        system-type = ""
        reconnect-delay = 1
        """
    )
    path.write_text(text + second, encoding="utf-8")
    ok = yield gw.service.reload()
    assert ok is True
    first = gw.service.links[0]
    yield until(lambda: len(gw.service.links) == 2 and gw.service.links[1].online)
    assert sim.counters.binds == 2 and sim.counters.unbinds == 0
    path.write_text(text + second.replace("reconnect-delay = 1", "reconnect-delay = 2"),
                    encoding="utf-8")
    ok = yield gw.service.reload()
    assert ok is True
    yield until(lambda: gw.service.links[1].online and sim.counters.binds == 3)
    assert gw.service.links[0] is first and first.online
    assert sim.counters.unbinds == 1


@pytest_twisted.inlineCallbacks
def test_shutdown_drains_the_window_and_loses_nothing(
    tmp_path: Path,
) -> Any:
    slow = listen(reactor, SimulatorConfig(host="127.0.0.1", port=0, resp_delay=0.5))
    sim: SimulatorFactory = slow.factory  # type: ignore[attr-defined]
    try:
        admin, sendsms = free_port(), free_port()
        spool = tmp_path / "spool"
        text = conf(slow.getHost().port, admin, sendsms, spool)  # type: ignore[attr-defined]
        service = GatewayService(load_config_text(text), reactor)
        service.stop_reactor_on_fatal = False
        service.exit = service.stopService
        service.startService()
        yield service.queue_opened
        yield until(lambda: service.links[0].online)
        gw = Gateway(service, admin, sendsms)
        accepted = 0
        for n in range(5):
            code, _ = yield gw.send(f"drain {n}")
            accepted += code == 202
        yield until(lambda: sim.counters.submits >= 1)
        assert service.links[0].session is not None
        assert service.links[0].session.in_flight >= 1
        _, body = yield gw.command("shutdown")
        assert body == b"Bringing system down"
        yield until(lambda: not service.running and service.queue.spool._lock_fd is None)  # type: ignore[attr-defined]
        submitted = sim.counters.accepted
        # What was not answered is still in the spool for the next start.
        again = GatewayService(load_config_text(text), reactor)
        again.stop_reactor_on_fatal = False
        yield again.queue.open()  # type: ignore[attr-defined]
        left = again.queue.queued
        yield again.queue.close()  # type: ignore[attr-defined]
        assert accepted == 5 and submitted + left == 5, (submitted, left)
    finally:
        sim.drop_connections()
        yield defer.maybeDeferred(slow.stopListening)


@pytest_twisted.inlineCallbacks
def test_isolate_refuses_what_the_smsc_delivers_and_keeps_sending(tmp_path: Path) -> Any:
    port = listen(reactor, SimulatorConfig(host="127.0.0.1", port=0, mo_every=0.05))
    mo_sim: SimulatorFactory = port.factory  # type: ignore[attr-defined]
    try:
        admin, sendsms = free_port(), free_port()
        path = tmp_path / "kannel.conf"
        path.write_text(conf(port.getHost().port, admin, sendsms,  # type: ignore[attr-defined]
                             tmp_path / "spool"), encoding="utf-8")
        service = GatewayService(load_config(path), reactor)
        service.stop_reactor_on_fatal = False
        service.startService()
        try:
            yield service.queue_opened
            yield until(lambda: service.links[0].online)
            gw = Gateway(service, admin, sendsms)
            _, body = yield gw.command("isolate")
            assert body == b"Kannel isolated from message providers"
            yield until(lambda: service.events.refused >= 2)
            code, _ = yield gw.send("still sent")
            assert code == 202
            yield until(lambda: mo_sim.counters.accepted == 1)
            status = yield gw.status()
            assert status["state"] == "isolated"
            assert status["dlr"]["refused_while_suspended"] >= 2
            _, body = yield gw.command("resume")
            assert body == b"Running resumed"
            refused = service.events.refused
            yield task.deferLater(reactor, 0.3, lambda: None)
            assert service.events.refused == refused
        finally:
            yield service.stopService()
    finally:
        mo_sim.drop_connections()
        yield defer.maybeDeferred(port.stopListening)


@pytest_twisted.inlineCallbacks
def test_flush_dlr_log_level_and_reload_lists(make_gateway: Any, tmp_path: Path) -> Any:
    gw = yield make_gateway()
    _, body = yield gw.command("flush-dlr")
    assert body == b"Suspend Kannel before trying to flush DLR queue"
    yield gw.command("suspend")
    _, body = yield gw.command("flush-dlr")
    assert body == b"DLR queue flushed"
    assert gw.service.reports.records == 0
    _, body = yield gw.command("log-level", level="3")
    assert body == b"log-level set to 3"
    _, body = yield gw.command("reload-lists")
    assert body == b"Black/white lists re-loaded"
    _, body = yield gw.command("graceful-restart")
    assert body == b"Restarting gracefully....."
    _, body = yield gw.command("status.xml")
    assert b"<status>suspended, uptime" in body
