"""The whole gateway, end to end: kannel.conf → sendsms over HTTP → submit_sm at an SMSC.

A kannel.conf in Kannel's own example style (core, smsc smpp, smsbox, sendsms-user) is
written to a temporary directory and points at our SMSC simulator on a free port. The
service is built by `gateway.tap.makeService` from that file, as twistd builds it, and runs
on the real reactor; requests go over real HTTP. The simulator's factory is wrapped so that
every PDU it receives is also decoded into a list: the test reads the submit_sm exactly as
it crossed the wire (TON/NPI, esm_class, data_coding, short_message, TLVs).

The last test runs `passerelle run` as a subprocess with the embedded default configuration
(built-in simulator, ports 13013/13000/2775) and sends it a curl-style request.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from twisted.internet import defer, reactor
from twisted.internet.protocol import Protocol
from twisted.web.client import Agent, ResponseDone
from twisted.web.iweb import IResponse

from bench.load import free_port
from gateway import tap
from gateway.service import GatewayService
from protocols.smpp import constants as c
from protocols.smpp.framer import Framer
from protocols.smpp.pdu import Pdu
from protocols.smpp.simulator import SimulatorConfig, SimulatorFactory, listen
from protocols.smpp.simulator.server import SmscProtocol
from tests.polling import until

ROOT = Path(__file__).resolve().parents[2]

KANNEL_CONF = """\
# kannel.conf in the style of Kannel's own examples (doc/examples/kannel.conf)
group = core
admin-port = {admin_port}
admin-interface = 127.0.0.1
admin-password = bar
smsbox-port = {smsbox_port}
smsbox-interface = 127.0.0.1
box-allow-ip = 127.0.0.1
log-level = 0

group = smsc
smsc = smpp
smsc-id = sim
host = 127.0.0.1
port = {smsc_port}
transceiver-mode = true
smsc-username = kannel
smsc-password = secret
system-type = ""
address-range = ""
reconnect-delay = 1

group = smsbox
bearerbox-host = 127.0.0.1
sendsms-port = {sendsms_port}
sendsms-interface = 127.0.0.1

group = sendsms-user
username = tester
password = foobar
max-messages = 5
concatenation = true

group = smpp-tlv
name = my_tag
tag = 0x1401
type = integer
length = 2
"""


def port_is_free(port: int) -> bool:
    """Could a listener take `port` now? SO_REUSEADDR as Twisted sets it, so connections
    lingering in TIME_WAIT do not count as a listener."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class CapturingSimulator(SimulatorFactory):
    """The simulator, plus a copy of every PDU it receives, decoded."""

    def __init__(self, config: SimulatorConfig) -> None:
        super().__init__(config, clock=reactor)  # type: ignore[arg-type]
        self.received: list[Pdu] = []

    def buildProtocol(self, addr: Any) -> SmscProtocol:
        protocol = super().buildProtocol(addr)
        framer = Framer()
        deliver = protocol.dataReceived
        received = self.received

        def tap_data(data: bytes) -> None:
            received.extend(item for item in framer.feed(data) if isinstance(item, Pdu))
            deliver(data)

        protocol.dataReceived = tap_data  # type: ignore[method-assign]
        return protocol

    def submits(self) -> list[Pdu]:
        return [pdu for pdu in self.received if pdu.command_id == c.SUBMIT_SM]


class _Body(Protocol):
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


@defer.inlineCallbacks
def http_get(url: str) -> Generator[Any, Any, tuple[int, bytes]]:
    """GET over real HTTP with twisted.web's Agent; (status, body)."""
    response: IResponse = yield Agent(reactor).request(b"GET", url.encode("ascii"))
    done: defer.Deferred[bytes] = defer.Deferred()
    response.deliverBody(_Body(done))
    body = yield done
    return response.code, body


class Stack:
    """A kannel.conf, the simulator it points at, and the service built from it."""

    def __init__(self, workdir: Path) -> None:
        self.smsc_port = free_port()
        self.sendsms_port = free_port()
        self.conf = workdir / "kannel.conf"
        self.conf.write_text(
            KANNEL_CONF.format(
                admin_port=free_port(),
                smsbox_port=free_port(),
                smsc_port=self.smsc_port,
                sendsms_port=self.sendsms_port,
            ),
            encoding="utf-8",
        )
        options = tap.Options()
        options.parseOptions(["--config", str(self.conf)])
        self.service: GatewayService = tap.makeService(options, reactor)
        self.sim: CapturingSimulator | None = None
        self._sim_port: Any = None

    def start_simulator(self) -> CapturingSimulator:
        config = SimulatorConfig(host="127.0.0.1", port=self.smsc_port, dlr_delay=0.1)
        self.sim = CapturingSimulator(config)
        self._sim_port = listen(reactor, config, self.sim)
        return self.sim

    @property
    def online(self) -> bool:
        return any(link is not None and link.online for link in self.service.links)

    def sendsms(self, **params: Any) -> defer.Deferred[tuple[int, bytes]]:
        query = {"username": "tester", "password": "foobar", "from": "12345",
                 "to": "4670000001", **params}
        url = (f"http://127.0.0.1:{self.sendsms_port}/cgi-bin/sendsms?"
               + urllib.parse.urlencode(query))
        return http_get(url)

    @defer.inlineCallbacks
    def stop(self) -> Generator[Any, Any, None]:
        yield self.service.stopService()
        if self._sim_port is not None:
            assert self.sim is not None
            self.sim.drop_connections()
            yield self._sim_port.stopListening()


@pytest.fixture
def stack(tmp_path: Path) -> Generator[Stack, None, None]:
    built = Stack(tmp_path)
    yield built
    pytest_twisted.blockon(built.stop())


@pytest_twisted.inlineCallbacks
def test_sendsms_reaches_the_smsc_as_kannel_sends_it(stack: Stack) -> Any:
    sim = stack.start_simulator()
    stack.service.startService()
    yield until(lambda: stack.online)
    status, body = yield stack.sendsms(
        text="Hello @ world", **{"dlr-mask": "3", "dlr-url": "http://127.0.0.1:1/dlr"}
    )
    assert (status, body) == (202, b"0: Accepted for delivery")
    yield until(lambda: len(sim.submits()) == 1)
    submit = sim.submits()[0]
    p = submit.params
    assert (p["source_addr_ton"], p["source_addr_npi"], p["source_addr"]) == (2, 1, b"12345")
    assert (p["dest_addr_ton"], p["dest_addr_npi"], p["destination_addr"]) == (
        2,
        1,
        b"4670000001",
    )
    assert p["esm_class"] == 0x03
    assert p["data_coding"] == 0x00
    assert p["short_message"] == b"Hello \x00 world"  # GSM 03.38, unpacked: @ is 0x00
    assert p["registered_delivery"] == 1
    assert p["service_type"] == b"" and p["protocol_id"] == 0
    assert submit.tlvs == []
    yield until(lambda: stack.service.queue.in_flight == 0 and stack.service.queue.queued == 0)


@pytest_twisted.inlineCallbacks
def test_international_and_alphanumeric_addresses(stack: Stack) -> Any:
    sim = stack.start_simulator()
    stack.service.startService()
    yield until(lambda: stack.online)
    status, _ = yield stack.sendsms(**{"from": "Brand", "to": "+4670000002", "text": "x"})
    assert status == 202
    yield until(lambda: len(sim.submits()) == 1)
    p = sim.submits()[0].params
    assert (p["source_addr_ton"], p["source_addr_npi"], p["source_addr"]) == (5, 0, b"Brand")
    assert (p["dest_addr_ton"], p["dest_addr_npi"], p["destination_addr"]) == (
        1,
        1,
        b"4670000002",
    )


@pytest_twisted.inlineCallbacks
def test_request_fields_and_meta_data_reach_the_submit(stack: Stack) -> Any:
    sim = stack.start_simulator()
    stack.service.startService()
    yield until(lambda: stack.online)
    status, _ = yield stack.sendsms(
        text="x",
        pid="65",
        priority="2",
        binfo="CMT",
        mclass="0",
        rpi="1",
        **{"dlr-mask": "31", "dlr-url": "http://127.0.0.1:1/d",
           "meta-data": "?smpp?my_tag=258&dest_addr_npi=9&unknown_key=1"},
    )
    assert status == 202
    yield until(lambda: len(sim.submits()) == 1)
    submit = sim.submits()[0]
    p = submit.params
    assert (p["protocol_id"], p["priority_flag"], p["service_type"]) == (65, 2, b"CMT")
    assert p["data_coding"] == 0xF0 and p["esm_class"] == 0x83
    assert p["registered_delivery"] == 17
    assert p["dest_addr_npi"] == 9
    assert submit.tlvs == [(0x1401, b"\x01\x02")]  # the configured smpp-tlv; unknown dropped


@pytest_twisted.inlineCallbacks
def test_long_message_goes_as_concatenated_parts(stack: Stack) -> Any:
    sim = stack.start_simulator()
    stack.service.startService()
    yield until(lambda: stack.online)
    text = "".join(chr(ord("a") + i % 26) for i in range(200))
    status, body = yield stack.sendsms(text=text, **{"dlr-mask": "1",
                                                     "dlr-url": "http://127.0.0.1:1/d"})
    assert (status, body) == (202, b"0: Accepted for delivery")
    yield until(lambda: len(sim.submits()) == 2)
    first, second = sorted(sim.submits(), key=lambda pdu: pdu.params["short_message"][5])
    udh1, udh2 = first.params["short_message"][:6], second.params["short_message"][:6]
    assert udh1[:3] == b"\x05\x00\x03" and udh1[4:] == b"\x02\x01"
    assert udh2[:3] == b"\x05\x00\x03" and udh2[4:] == b"\x02\x02"
    assert udh1[3] == udh2[3]  # one reference for the whole message
    assert first.params["esm_class"] == second.params["esm_class"] == 0x43
    assert len(first.params["short_message"]) == 159  # 6 UDH + 153 septets (obs.)
    joined = first.params["short_message"][6:] + second.params["short_message"][6:]
    assert joined == text.encode("ascii")
    assert first.tlv(c.TAG_MORE_MESSAGES_TO_SEND) == b"\x01"
    assert second.tlv(c.TAG_MORE_MESSAGES_TO_SEND) is None
    assert (first.params["registered_delivery"], second.params["registered_delivery"]) == (1, 0)


@pytest_twisted.inlineCallbacks
def test_queued_while_the_smsc_is_down_and_delivered_when_it_comes_up(stack: Stack) -> Any:
    stack.service.startService()
    status, body = yield stack.sendsms(text="later")
    assert (status, body) == (202, b"3: Queued for later delivery")
    assert stack.service.queue.queued == 1
    sim = stack.start_simulator()
    yield until(lambda: len(sim.submits()) == 1, timeout=20)
    assert sim.submits()[0].params["short_message"] == b"later"
    yield until(lambda: stack.service.queue.in_flight == 0 and stack.service.queue.queued == 0)


# passerelle run, as a user runs it


EMBEDDED_PORTS = (13013, 13000, 2775)


@pytest.fixture
def passerelle_run(tmp_path: Path) -> Generator[subprocess.Popen[str], None, None]:
    busy = [port for port in EMBEDDED_PORTS if not port_is_free(port)]
    if busy:
        # On CI the machine is ours: a busy port there is a failure, not a reason to skip.
        if os.environ.get("CI"):
            pytest.fail(f"the embedded default's ports are in use: {busy}")
        pytest.skip(f"the embedded default's ports are in use: {busy}")
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "run"],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)


def _curl(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def test_passerelle_run_with_the_embedded_default(passerelle_run: subprocess.Popen[str]) -> None:
    assert passerelle_run.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 20
    curl_line = ""
    while time.monotonic() < deadline and not curl_line:
        line = passerelle_run.stdout.readline()
        if not line:
            break
        lines.append(line)
        if "curl '" in line:
            curl_line = line
    assert curl_line, "".join(lines) + (passerelle_run.stderr.read() if passerelle_run.stderr
                                         else "")
    url = curl_line.split("curl '", 1)[1].rsplit("'", 1)[0]
    assert url.startswith("http://127.0.0.1:13013/cgi-bin/sendsms?username=tester")
    # The built-in simulator binds within moments; until then the answer is "3: Queued".
    deadline = time.monotonic() + 10
    answer = _curl(url)
    while answer != (202, "0: Accepted for delivery") and time.monotonic() < deadline:
        assert answer == (202, "3: Queued for later delivery"), answer
        time.sleep(0.1)
        answer = _curl(url)
    assert answer == (202, "0: Accepted for delivery")
    passerelle_run.send_signal(signal.SIGINT)
    assert passerelle_run.wait(timeout=15) == 0
    stderr = passerelle_run.stderr.read() if passerelle_run.stderr else ""
    assert "Traceback" not in stderr, stderr


def test_passerelle_run_refuses_a_bad_config(tmp_path: Path) -> None:
    conf = tmp_path / "kannel.conf"
    conf.write_text(textwrap.dedent("group = core\nadmin-port = nope\n"), encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "run", "--config", str(conf)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 1
    assert "admin-port" in done.stderr
