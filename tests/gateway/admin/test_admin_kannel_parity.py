"""Side by side with the real bearerbox 1.4.5: the same admin requests, in the same order, give
the same Content-Type and the same body (status pages aside: their figures differ by nature
and are compared with the recorded samples in test_admin_render.py).

Skipped when Kannel is not installed, except on CI (`CI` set), where that is a failure.
"""

from __future__ import annotations

import os
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import pytest_twisted
from twisted.internet.task import Clock

from gateway.admin.resource import AdminResource
from gateway.config.model import CoreConfig
from tests.gateway.admin.fakes import FakeControl
from tests.gateway.admin.served import Server
from tests.gateway.test_service import free_port

pytestmark = [
    pytest.mark.kannel,
    pytest.mark.filterwarnings("ignore:Using readBody:DeprecationWarning"),
]

BEARERBOX = Path("/usr/sbin/bearerbox")
MESSAGE_ID = "33398091-0000-4000-8000-000000000000"

#: (path, Accept) in order: state changes happen on both sides alike.
REQUESTS: list[tuple[str, str | None]] = [
    ("/foo?x=1", None),
    ("/foo.html", None),
    ("/foo.xml", None),
    ("/foo.wml", None),
    ("/cgi-bin/foo", None),
    ("/a/b/cgi-bin/resume.json?password=secret", None),
    ("/suspend?password=wrong", None),
    ("/suspend.html?password=secret", None),
    ("/suspend.wml?password=secret", None),
    ("/flush-dlr.xml?password=secret", None),
    ("/isolate?password=secret", None),
    ("/isolate?password=secret", "text/html"),
    ("/resume?password=secret", "text/xml"),
    ("/resume?password=secret", "text/html, text/vnd.wap.wml;q=0.1"),
    ("/resume.xml?password=secret", "text/html"),
    ("/cgi-bin/resume.txt?password=secret", "text/html"),
    ("/flush-dlr?password=secret", None),
    ("/stop-smsc?password=secret", None),
    ("/stop-smsc?password=secret&smsc=nosuch", None),
    ("/start-smsc.html?password=secret&smsc=nosuch", None),
    ("/remove-smsc?password=secret&smsc=nosuch", None),
    ("/log-level?password=secret", None),
    ("/log-level?password=secret&level=0x", None),
    ("/reload-lists?password=secret", None),
    ("/remove-message?password=secret", None),
    ("/remove-message?password=secret&id=abc", None),
    (f"/remove-message.xml?password=secret&id={MESSAGE_ID}", None),
    ("/store-status", None),
    ("/store-status.html", None),
    ("/store-status.xml", None),
    ("/store-status.wml", None),
    ("/store-status", "text/xml"),
    ("/shutdown.wml?password=wrong", None),
    ("/isolate?password=secret", None),
]


def kannel_conf(directory: Path, admin_port: int) -> str:
    return f"""\
group = core
admin-port = {admin_port}
admin-interface = 127.0.0.1
admin-password = secret
smsbox-port = {free_port()}
log-file = {directory / "bearerbox.log"}
log-level = 1
store-type = file
store-location = {directory / "store"}
dlr-storage = internal

group = smsc
smsc = fake
smsc-id = f1
host = 127.0.0.1
port = {free_port()}

group = smsbox
bearerbox-host = 127.0.0.1
"""


@pytest.fixture
def bearerbox(tmp_path: Path) -> Iterator[str]:
    if not BEARERBOX.exists():
        if os.environ.get("CI"):
            pytest.fail("Kannel is not installed (/usr/sbin/bearerbox)")
        pytest.skip("Kannel is not installed")
    port = free_port()
    conf = tmp_path / "kannel.conf"
    conf.write_text(kannel_conf(tmp_path, port))
    process = subprocess.Popen(
        [str(BEARERBOX), str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                urllib.request.urlopen(base + "/status", timeout=1).read()  # noqa: S310
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def ask_kannel(base: str, path: str, accept: str | None) -> tuple[int, str, str]:
    request = urllib.request.Request(base + path, headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return response.status, response.headers["Content-Type"], response.read().decode()


@pytest_twisted.ensureDeferred
async def test_same_answers_as_bearerbox(bearerbox: str) -> None:
    control = FakeControl()
    resource = AdminResource(
        control, CoreConfig(admin_port=0, admin_password="secret"), Clock()
    )
    server = Server(resource)
    try:
        for path, accept in REQUESTS:
            theirs = ask_kannel(bearerbox, path, accept)
            answer = await server.get(path, accept)
            ours = (answer.code, answer.content_type, answer.body)
            assert ours == theirs, (path, accept)
    finally:
        await server.stop()
