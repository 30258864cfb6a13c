"""Side by side with the real Kannel 1.4.5: the same requests, the same answers.

Real bearerbox + smsbox run against our SMSC simulator; our sendsms listener runs in this
process on the same kannel.conf (through gateway.config). Every request of the table goes
to both, and the test compares what a client can see — the status line, the header names
in order with their fixed values, the body — plus the smsbox access-log lines (time stamps
aside) and, for accepted requests, the short_message octets the simulator received from
Kannel against the payloads of our queued messages.

Skipped when Kannel is not installed, except on CI (`CI` set), where that is a failure.
"""

from __future__ import annotations

import http.server
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_twisted
from twisted.internet import reactor, threads
from twisted.internet.task import Clock

from bench.load import free_port
from gateway.config import GatewayConfig, load_config_text
from gateway.queue import MemoryQueue
from gateway.routing import Router
from gateway.sendsms.accept import Acceptor
from gateway.sendsms.accesslog import AccessLog
from gateway.sendsms.resource import sendsms_site
from gateway.sendsms.validate import load_number_lists

pytestmark = pytest.mark.kannel

BEARERBOX = Path("/usr/sbin/bearerbox")
SMSBOX = Path("/usr/sbin/smsbox")
ROOT = Path(__file__).resolve().parents[3]

USERS = """\
group = sendsms-user
username = tester
password = foobar

group = sendsms-user
username = multi
password = pw
max-messages = 10
concatenation = true

group = sendsms-user
username = nocat
password = pw
max-messages = 3
split-chars = " "
split-suffix = "+"
header = "H:"
footer = ":F"

group = sendsms-user
username = ipdeny
password = pw
user-allow-ip = "10.0.0.*"
user-deny-ip = "*.*.*.*"

group = sendsms-user
username = ipok
password = pw
user-allow-ip = "127.0.0.*"
user-deny-ip = "*.*.*.*"

group = sendsms-user
username = pref
password = pw
allowed-prefix = "4670"
denied-prefix = "4671"

group = sendsms-user
username = lists
password = pw
white-list-regex = "^467"
black-list-regex = "^4679"

group = sendsms-user
username = wl
password = pw
white-list = "http://127.0.0.1:{list_port}/white.txt"

group = sendsms-user
username = fake
password = pw
faked-sender = FAKE
default-sender = DEF

group = sendsms-user
username = defsend
password = pw
default-sender = DEF

group = sendsms-user
username = dlru
password = pw
dlr-url = "http://127.0.0.1:9/x?d=%d"
"""

CONFIG = (
    """\
group = core
admin-port = {admin_port}
admin-interface = 127.0.0.1
admin-password = admin-secret
admin-allow-ip = 127.0.0.1
smsbox-port = {box_port}
smsbox-interface = 127.0.0.1
box-allow-ip = 127.0.0.1
log-file = {workdir}/bearerbox.log
log-level = 0
dlr-storage = internal

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
bearerbox-port = {box_port}
sendsms-port = {sendsms_port}
sendsms-interface = 127.0.0.1
log-file = {workdir}/smsbox.log
log-level = 0
access-log = {workdir}/smsbox-access.log

"""
    + USERS
)


def _wait(what: str, check: object, processes: list[subprocess.Popen[bytes]]) -> object:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for process in processes:
            if process.poll() is not None:
                pytest.fail(f"{process.args[0]} exited while waiting for {what}")
        result = check()  # type: ignore[operator]
        if result:
            return result
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@dataclass
class Kannel:
    port: int
    workdir: Path
    config_text: str

    @property
    def access_log(self) -> Path:
        return self.workdir / "smsbox-access.log"

    def submits(self) -> list[dict[str, object]]:
        text = (self.workdir / "simulator.jsonl").read_text()
        return [r for r in map(json.loads, text.splitlines()) if r.get("command") == "submit_sm"]


@pytest.fixture(scope="module")
def list_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """Serves white.txt over HTTP for the `wl` user (Kannel fetches it at start-up)."""
    directory = tmp_path_factory.mktemp("lists")
    (directory / "white.txt").write_text("4670000001\n+46 70-000 0002\n0046700000003\n")

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kw: object) -> None:
            super().__init__(*args, directory=str(directory), **kw)  # type: ignore[arg-type]

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def kannel(tmp_path_factory: pytest.TempPathFactory, list_server: int) -> Iterator[Kannel]:
    missing = [str(p) for p in (BEARERBOX, SMSBOX) if not p.exists()]
    if missing:
        message = f"Kannel is not installed ({', '.join(missing)}): apt-get install kannel"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    workdir = tmp_path_factory.mktemp("kannel-parity")
    processes: list[subprocess.Popen[bytes]] = []

    def start(name: str, argv: list[str], **kw: object) -> subprocess.Popen[bytes]:
        with open(workdir / f"{name}.out", "wb") as out:
            process = subprocess.Popen(  # type: ignore[call-overload]
                argv,
                cwd=workdir,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                **kw,
            )
        processes.append(process)
        return process  # type: ignore[no-any-return]

    try:
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        start(
            "simulator",
            [
                sys.executable,
                "-m",
                "protocols.smpp.simulator",
                "--port",
                "0",
                "--account",
                "kannel:secret",
                "--dlr-delay",
                "5",
                "--log",
                str(workdir / "simulator.jsonl"),
            ],
            env=env,
        )
        found = _wait(
            "the simulator",
            lambda: re.search(
                r"listening on 127\.0\.0\.1:(\d+)", (workdir / "simulator.out").read_text()
            ),
            processes,
        )
        sendsms_port, admin_port = free_port(), free_port()
        text = CONFIG.format(
            admin_port=admin_port,
            box_port=free_port(),
            smsc_port=found.group(1),  # type: ignore[attr-defined]
            sendsms_port=sendsms_port,
            workdir=workdir,
            list_port=list_server,
        )
        (workdir / "kannel.conf").write_text(text)
        start("bearerbox", [str(BEARERBOX), "-v", "4", str(workdir / "kannel.conf")])

        def online() -> bool:
            try:
                import urllib.request

                url = f"http://127.0.0.1:{admin_port}/status.txt"
                with urllib.request.urlopen(url, timeout=2) as reply:
                    return "(online " in reply.read().decode()
            except OSError:
                return False

        _wait("the SMSC bind", online, processes)
        start("smsbox", [str(SMSBOX), "-v", "4", str(workdir / "kannel.conf")])
        _wait("smsbox", lambda: _accepts(sendsms_port), processes)
        time.sleep(0.3)  # smsbox's bearerbox link
        yield Kannel(sendsms_port, workdir, text)
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=5)


@dataclass
class Ours:
    port: int
    queue: MemoryQueue
    access_log: Path
    config: GatewayConfig


@pytest.fixture(scope="module")
def ours(kannel: Kannel, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ours]:
    config = load_config_text(kannel.config_text)
    clock = Clock()
    queue = MemoryQueue(100_000, clock)
    router = Router(config.smscs, lambda key: True)
    lists = load_number_lists(config)
    acceptor = Acceptor(config, router, queue, clock, lists=lists)
    log_path = tmp_path_factory.mktemp("ours") / "access.log"
    site = sendsms_site(config, acceptor, AccessLog(str(log_path)))
    port = reactor.listenTCP(0, site, interface="127.0.0.1")  # type: ignore[attr-defined]
    yield Ours(port.getHost().port, queue, log_path, config)
    pytest_twisted.blockon(port.stopListening())


def roundtrip(port: int, raw: bytes) -> bytes:
    """Send one request with `Connection: close` semantics and read until the server closes
    or a full response is in."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw)
        data = b""
        while True:
            if b"\r\n\r\n" in data:
                head, _, body = data.partition(b"\r\n\r\n")
                length = re.search(rb"Content-Length: (\d+)", head)
                if length and (len(body) >= int(length[1]) or raw.startswith(b"HEAD ")):
                    return data
            chunk = sock.recv(65536)
            if not chunk:
                return data
            data += chunk


def visible(raw: bytes) -> tuple[bytes, list[bytes], bytes]:
    """What a client can compare: status line, header lines (Date's value blanked), body."""
    head, _, body = raw.partition(b"\r\n\r\n")
    status, *headers = head.split(b"\r\n")
    headers = [b"Date: *" if h.startswith(b"Date: ") else h for h in headers]
    return status, headers, body


STAMP = re.compile(rb"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d ", re.M)


def log_tail(path: Path, start: int, *, ours: bool = False) -> bytes:
    """Access-log text written since `start`, time stamps removed. Ours escapes CR and LF
    inside the text (Kannel writes them raw): undone here to compare the rest."""
    text = path.read_bytes()[start:]
    if ours:
        text = text.replace(b"\\r", b"\r").replace(b"\\n", b"\n")
    return STAMP.sub(b"", text)


A = "username=tester&password=foobar"
CASES: list[tuple[str, str]] = [
    ("accepted", f"GET /cgi-bin/sendsms?{A}&from=12345&to=4670001001&text=Hello+world"),
    ("alias", "GET /cgi-bin/sendsms?user=tester&pass=foobar&from=1&to=4670001002&text=Hi"),
    ("head", f"HEAD /cgi-bin/sendsms?{A}&from=1&to=4670001003&text=Hi"),
    ("gsm", f"GET /cgi-bin/sendsms?{A}&from=1&to=4670001004&text=%40%C2%A3%24%E2%82%AC%7B%7D"),
    ("not-gsm", f"GET /cgi-bin/sendsms?{A}&from=1&to=4670001005&text=%D0%96%C3%AF"),
    ("latin1", f"GET /cgi-bin/sendsms?{A}&from=1&to=4670001006&text=%E9&charset=ISO-8859-1"),
    ("bad-utf8", f"GET /cgi-bin/sendsms?{A}&from=1&to=4670001007&text=a%E9bcd"),
    ("ucs2-raw", f"GET /cgi-bin/sendsms?{A}&from=1&to=4670001008&text=ab&coding=2"),
    ("ucs2", f"GET /cgi-bin/sendsms?{A}&from=1&to=4670001009&text=%C3%A9&coding=2&charset=UTF-8"),
    ("8bit", f"GET /cgi-bin/sendsms?{A}&from=1&to=4670001010&text=%E9&coding=1"),
    ("udh", f"GET /cgi-bin/sendsms?{A}&from=1&to=4670001011&text=ab&udh=%06%05%04%0B%84%23%F0"),
    ("coding-abc", f"GET /cgi-bin/sendsms?{A}&from=1&to=4670001012&text=ab&coding=abc"),
    ("coding-wrap", f"GET /cgi-bin/sendsms?{A}&from=1&to=4670001013&text=ab&coding=4294967298"),
    ("long-1", f"GET /cgi-bin/sendsms?{A}&from=1&to=4670001014&text=" + "x" * 200),
    ("concat", "GET /cgi-bin/sendsms?user=multi&pass=pw&from=1&to=4670001015&text=" + "y" * 200),
    (
        "split-chars",
        "GET /cgi-bin/sendsms?user=nocat&pass=pw&from=1&to=4670001016&text="
        + "+".join(f"word{i:03d}" for i in range(60)),
    ),
    ("multi", f"GET /cgi-bin/sendsms?{A}&from=1&to=4670001017+4670001018+4670001017&text=m"),
    ("partly-denied", f"GET /cgi-bin/sendsms?{A}&from=1&to=4670001019+abc&text=p"),
    ("first-wins", f"GET /cgi-bin/sendsms?{A}&from=1&from=2&to=4670001020&to=5&text=a&text=b"),
    ("bad-password", "GET /cgi-bin/sendsms?username=tester&password=x&from=1&to=1&text=x"),
    ("no-credentials", "GET /cgi-bin/sendsms?from=1&to=1"),
    ("no-to", f"GET /cgi-bin/sendsms?{A}&from=1&text=x"),
    ("empty-to", f"GET /cgi-bin/sendsms?{A}&from=1&to=&text=x"),
    ("blank-to", f"GET /cgi-bin/sendsms?{A}&from=1&to=+&text=x"),
    ("bad-to", f"GET /cgi-bin/sendsms?{A}&from=1&to=abc&text=x"),
    ("no-sender", f"GET /cgi-bin/sendsms?{A}&to=4670001021&text=x"),
    ("udh-misformed", f"GET /cgi-bin/sendsms?{A}&from=1&to=1&udh=%01"),
    ("account", f"GET /cgi-bin/sendsms?{A}&from=1&to=1&account=%5B"),
    ("dlr-url", f"GET /cgi-bin/sendsms?{A}&from=1&to=1&dlr-url=ftp://abc"),
    ("dlr-mask-66", f"GET /cgi-bin/sendsms?{A}&from=1&to=4670001022&dlr-mask=66&text=x"),
    ("dlr-mask-67", f"GET /cgi-bin/sendsms?{A}&from=1&to=1&dlr-mask=67"),
    ("mclass", f"GET /cgi-bin/sendsms?{A}&from=1&to=1&mclass=4&pid=256"),
    ("pid", f"GET /cgi-bin/sendsms?{A}&from=1&to=1&pid=256&rpi=3"),
    ("rpi", f"GET /cgi-bin/sendsms?{A}&from=1&to=1&rpi=3&alt-dcs=2"),
    ("alt-dcs", f"GET /cgi-bin/sendsms?{A}&from=1&to=1&alt-dcs=2&mwi=8"),
    ("mwi", f"GET /cgi-bin/sendsms?{A}&from=1&to=1&mwi=8&coding=3"),
    ("coding", f"GET /cgi-bin/sendsms?{A}&from=1&to=1&coding=3&compress=2"),
    ("compress", f"GET /cgi-bin/sendsms?{A}&from=1&to=1&compress=2&validity=-2"),
    ("validity", f"GET /cgi-bin/sendsms?{A}&from=1&to=1&validity=-2&deferred=-2"),
    ("deferred", f"GET /cgi-bin/sendsms?{A}&from=1&to=1&deferred=-2&priority=4"),
    ("priority", f"GET /cgi-bin/sendsms?{A}&from=1&to=1&priority=4&charset=bogus&text=x"),
    ("charset", f"GET /cgi-bin/sendsms?{A}&from=1&to=1&charset=bogus&text=x"),
    ("ip-denied", "GET /cgi-bin/sendsms?username=ipdeny&password=pw&from=1&to=4670001023"),
    ("ip-allowed", "GET /cgi-bin/sendsms?username=ipok&password=pw&from=1&to=4670001024"),
    ("prefix-ignored", "GET /cgi-bin/sendsms?user=pref&pass=pw&from=1&to=46710001025+4690001"),
    ("regex-lists", "GET /cgi-bin/sendsms?user=lists&pass=pw&from=1&to=4670001026+46790+4690"),
    ("regex-denied", "GET /cgi-bin/sendsms?user=lists&pass=pw&from=1&to=4690"),
    ("white-list", "GET /cgi-bin/sendsms?user=wl&pass=pw&from=1&to=0046700000002+4670000009"),
    ("white-denied", "GET /cgi-bin/sendsms?user=wl&pass=pw&from=1&to=4670000009"),
    ("faked-sender", "GET /cgi-bin/sendsms?user=fake&pass=pw&from=1&to=4670001027&text=f"),
    ("default-sender", "GET /cgi-bin/sendsms?user=defsend&pass=pw&to=4670001028&text=d"),
    ("unknown-path", "GET /cgi-bin/sendsms/ HTTP/1.1"),
    ("root", "GET /"),
]

POSTS: list[tuple[str, list[tuple[str, str]], bytes]] = [
    (
        "post-plain",
        [
            ("Content-Type", "text/plain"),
            ("X-Kannel-Username", "tester"),
            ("X-Kannel-Password", "foobar"),
            ("X-Kannel-From", "1"),
            ("X-Kannel-To", "4670001101 4670001102"),
        ],
        b"  plain body \n",
    ),
    (
        "post-latin1-ucs2",
        [
            ("Content-Type", "text/plain"),
            ("x-kannel-username", " tester "),
            ("X-KANNEL-PASSWORD", "foobar"),
            ("X-Kannel-From", "1"),
            ("X-Kannel-To", "4670001103"),
            ("X-Kannel-Coding", "2"),
        ],
        "é".encode(),
    ),
    (
        "post-octets",
        [
            ("X-Kannel-Username", "tester"),
            ("X-Kannel-Password", "foobar"),
            ("X-Kannel-From", "1"),
            ("X-Kannel-To", "4670001104"),
        ],
        b"\xc3\xa9",
    ),
    (
        "post-udh-hex",
        [
            ("Content-Type", "text/plain"),
            ("X-Kannel-Username", "tester"),
            ("X-Kannel-Password", "foobar"),
            ("X-Kannel-From", "1"),
            ("X-Kannel-To", "4670001105"),
            ("X-Kannel-UDH", "0605040B8423F0"),
        ],
        b"ab",
    ),
    ("post-form", [("Content-Type", "application/x-www-form-urlencoded")], b"username=tester"),
    ("post-json", [("Content-Type", "application/json")], b"{}"),
    (
        "post-html",
        [
            ("Content-Type", "text/html"),
            ("X-Kannel-Username", "tester"),
            ("X-Kannel-Password", "foobar"),
            ("X-Kannel-From", "1"),
            ("X-Kannel-To", "1"),
        ],
        b"<p>Hi</p>",
    ),
    (
        "post-no-to",
        [
            ("Content-Type", "text/plain"),
            ("X-Kannel-Username", "tester"),
            ("X-Kannel-Password", "foobar"),
        ],
        b"x",
    ),
    ("post-no-auth", [("Content-Type", "text/plain"), ("X-Kannel-To", "1")], b"x"),
    (
        "post-xml",
        [("Content-Type", "text/xml")],
        b'<?xml version="1.0"?><message><submit><da><number>4670001106</number></da>'
        b"<da><number> 4670001107 </number></da><oa><number>12345</number></oa>"
        b"<ud>Hello+XML%21</ud><from><user>tester</user><pass>foobar</pass></from>"
        b"<dcs><coding>1.9</coding></dcs></submit></message>",
    ),
    (
        "post-xml-latin1",
        [("Content-Type", "text/xml")],
        b'<?xml version="1.0" encoding="ISO-8859-1"?><message><submit>'
        b"<da><number>4670001108</number></da><oa><number>1</number></oa><ud>\xe9</ud>"
        b"<from><username>tester</username><password>foobar</password></from>"
        b"</submit></message>",
    ),
    (
        "post-xml-nan",
        [("Content-Type", "text/xml")],
        b'<?xml version="1.0"?><message><submit><da><number>1</number></da>'
        b"<oa><number>1</number></oa><dcs><coding>+1</coding></dcs>"
        b"<from><user>tester</user><pass>foobar</pass></from></submit></message>",
    ),
    ("post-xml-broken", [("Content-Type", "text/xml")], b"<message><submit"),
]


def request_bytes(line: str) -> bytes:
    method, target, *version = line.split(" ")
    proto = version[0] if version else "HTTP/1.1"
    return f"{method} {target} {proto}\r\nHost: x\r\nConnection: close\r\n\r\n".encode()


def post_bytes(headers: list[tuple[str, str]], body: bytes) -> bytes:
    lines = "".join(f"{name}: {value}\r\n" for name, value in headers)
    return (
        f"POST /cgi-bin/sendsms HTTP/1.1\r\nHost: x\r\n{lines}"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body


def settle(kannel: Kannel, quiet: float = 0.3, limit: float = 3.0) -> None:
    """Wait until Kannel has sent nothing new for `quiet` seconds (at most `limit`), so a late
    submit of one case cannot land in the next case's window."""
    deadline = time.monotonic() + limit
    count = len(kannel.submits())
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now_count = len(kannel.submits())
        if now_count != count:
            count, quiet_since = now_count, time.monotonic()
        elif time.monotonic() - quiet_since >= quiet:
            return


def compare(kannel: Kannel, ours: Ours, name: str, raw: bytes) -> None:
    kannel_log, our_log = kannel.access_log.stat().st_size, ours.access_log.stat().st_size
    before = len(kannel.submits())
    theirs = roundtrip(kannel.port, raw)
    mine = roundtrip(ours.port, raw)
    assert visible(mine) == visible(theirs), (name, theirs, mine)
    mine_log = log_tail(ours.access_log, our_log, ours=True)
    assert mine_log == log_tail(kannel.access_log, kannel_log), name  # written before replying
    queued = ours.queue.take(10_000)
    deadline = time.monotonic() + 5  # smsbox → bearerbox → SMSC, after the reply
    while len(kannel.submits()) - before < len(queued) and time.monotonic() < deadline:
        time.sleep(0.02)
    settle(kannel)  # and nothing more than ours, even late on a busy machine
    submits = kannel.submits()[before:]
    by_receiver: dict[str, bytes] = {}
    for message in queued:
        by_receiver[message.receiver] = by_receiver.get(message.receiver, b"") + message.payload
    sent: dict[str, bytes] = {}
    for submit in submits:
        dest = str(submit["dest"])
        sent[dest] = sent.get(dest, b"") + bytes.fromhex(str(submit["text_hex"]))
    assert by_receiver == sent, (name, by_receiver, sent)


@pytest.mark.parametrize(("name", "line"), CASES, ids=[name for name, _ in CASES])
@pytest_twisted.inlineCallbacks
def test_get_like_kannel(kannel: Kannel, ours: Ours, name: str, line: str) -> None:
    yield threads.deferToThread(compare, kannel, ours, name, request_bytes(line))


@pytest.mark.parametrize(("name", "headers", "body"), POSTS, ids=[name for name, *_ in POSTS])
@pytest_twisted.inlineCallbacks
def test_post_like_kannel(
    kannel: Kannel, ours: Ours, name: str, headers: list[tuple[str, str]], body: bytes
) -> None:
    yield threads.deferToThread(compare, kannel, ours, name, post_bytes(headers, body))


@pytest.mark.parametrize(
    "raw",
    [
        b"PUT /cgi-bin/sendsms HTTP/1.1\r\nHost: x\r\n\r\n",
        b"DELETE /cgi-bin/sendsms HTTP/1.1\r\nHost: x\r\n\r\n",
        b"OPTIONS / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /\r\n\r\n",
        b"GET / HTTP/1.0\r\n\r\n",
        b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    ],
    ids=["put", "delete", "options", "no-version", "http-1.0", "http-1.0-keep-alive"],
)
@pytest_twisted.inlineCallbacks
def test_protocol_edges_like_kannel(kannel: Kannel, ours: Ours, raw: bytes) -> None:
    yield threads.deferToThread(compare, kannel, ours, raw.decode(), raw)
