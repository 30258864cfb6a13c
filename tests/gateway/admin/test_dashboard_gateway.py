"""/dashboard of the real gateway in headless Chromium: a GatewayService with the built-in
simulator as its carrier, a few messages sent through sendsms, and the numbers the page shows
compared with the status.json the real gateway served it.

`PASSERELLE_REFRESH_SCREENSHOT=1` copies the screenshot to docs/img/status-page.png (the one
README.md and docs/admin.md show). Chromium as in test_admin_dashboard.py: skipped locally
without it, a failure when `CI` is set.
"""

from __future__ import annotations

import json
import os
import shutil
import textwrap
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from twisted.internet import reactor, task
from twisted.web.client import Agent, readBody
from twisted.web.resource import Resource
from twisted.web.server import Request

from bench.load import free_port
from gateway.config import load_config_text
from gateway.service import GatewayService
from tests.gateway.admin.test_admin_dashboard import DomValues, browse, leaf

pytestmark = pytest.mark.filterwarnings("ignore:Using readBody:DeprecationWarning")

SCREENSHOT = Path(__file__).resolve().parents[3] / "docs" / "img" / "status-page.png"

#: Keys that move between two readings of an idle gateway (clocks, rates, the process).
MOVING = ("time", "uptime_seconds", "rates.", "process.rss_bytes", "process.cpu_seconds",
          "smsc.0.status", "smsc.1.status", "queue.lanes.", "dlr.stored")


class Recorded(Resource):
    """The real status.json, remembering the last body it served to the browser."""

    isLeaf = True

    def __init__(self, real: Resource) -> None:
        super().__init__()
        self.real = real
        self.bodies: list[dict[str, Any]] = []

    def render(self, request: Request) -> bytes:
        body = self.real.render(request)
        assert isinstance(body, bytes)
        self.bodies.append(json.loads(body))
        return body


def config_text(sim: int, admin: int, sendsms: int, spool: Path) -> str:
    return textwrap.dedent(
        f"""\
        group = core
        admin-port = {admin}
        admin-interface = 127.0.0.1
        admin-password = secret

        group = smsc
        smsc = smpp
        smsc-id = sim
        host = 127.0.0.1
        port = {sim}
        transceiver-mode = true
        smsc-username = passerelle
        smsc-password = secret
        system-type = ""
        denied-smsc-id = backup

        group = smsc
        smsc = smpp
        smsc-id = backup
        host = 127.0.0.1
        port = {free_port()}
        transceiver-mode = true
        smsc-username = passerelle
        smsc-password = secret
        system-type = ""
        reconnect-delay = 30
        allowed-smsc-id = backup

        group = smsbox
        bearerbox-host = 127.0.0.1
        sendsms-port = {sendsms}
        sendsms-interface = 127.0.0.1

        group = sendsms-user
        username = tester
        password = foobar

        group = passerelle
        spool-dir = {spool}
        simulator-port = {sim}
        spool-max-bytes = 64M
        """
    )


async def fetch(url: str) -> tuple[int, bytes]:
    response = await Agent(reactor).request(b"GET", url.encode())
    return response.code, await readBody(response)


@pytest_twisted.ensureDeferred
async def test_the_page_of_the_real_gateway_matches_its_status_json(tmp_path: Path) -> None:
    from tests.gateway.admin.test_admin_dashboard import chromium

    chromium()
    admin, sendsms, sim = free_port(), free_port(), free_port()
    service = GatewayService(
        load_config_text(config_text(sim, admin, sendsms, tmp_path / "spool")), reactor
    )
    service.stop_reactor_on_fatal = False
    recorded = Recorded(service.admin_resource.status_pages[b"/status.json"])
    service.admin_resource.status_pages[b"/status.json"] = recorded
    service.startService()
    try:
        await service.queue_opened
        for _ in range(500):
            if service.links[0].online:
                break
            await task.deferLater(reactor, 0.02, lambda: None)
        base = f"http://127.0.0.1:{sendsms}/cgi-bin/sendsms?username=tester&password=foobar"
        for n in range(6):
            code, _ = await fetch(f"{base}&from=12345&to=46700000{n:02d}&text=hello+{n}")
            assert code == 202
        for _ in range(3):  # routed to the link that is down: they wait
            code, _ = await fetch(f"{base}&from=12345&to=4670000100&text=later&smsc=backup")
            assert code == 202
        for _ in range(500):
            if service.links[0].counters.sent == 6:
                break
            await task.deferLater(reactor, 0.02, lambda: None)
        await task.deferLater(reactor, 1.2, lambda: None)  # one rate sample
        page = f"http://127.0.0.1:{admin}/dashboard"
        dom = await browse(page, tmp_path, "--dump-dom")
        seen = recorded.bodies[-1]
        await browse(page, tmp_path, f"--screenshot={tmp_path / 'status-page.png'}")
    finally:
        await service.stopService()

    assert 'data-loaded="1"' in dom, dom[-3000:]
    parser = DomValues()
    parser.feed(dom)
    values = parser.values
    # What the gateway did shows in what it served...
    assert seen["queue"]["accepted"] == 9
    assert [link["sent"] for link in seen["smsc"]] == [6, 0]
    assert seen["smsc"][0]["online"] and not seen["smsc"][1]["online"]
    assert seen["queue"]["queued"] + seen["queue"]["in_flight"] == 3
    # ...and the page shows exactly what was served.
    checked = 0
    for key, (text, value) in values.items():
        want = leaf(seen, key)
        if want is None or isinstance(want, dict | list | bool):
            continue
        if key.startswith(MOVING):
            continue
        if key in ("queue.bytes_used", "queue.max_bytes"):
            assert value == str(want), key
        else:
            assert text == str(want) or value == str(want), (key, text, value, want)
        checked += 1
    for key in ("queue.queued", "queue.in_flight", "smsc.0.smsc_id", "smsc.0.sent",
                "smsc.1.smsc_id", "callbacks.pending", "dlr.max_entries", "process.pid",
                "state", "version"):
        assert key in values, key
    assert checked >= 20, checked
    assert values["smsc.0.sent"][0] == "6" and values["smsc.1.smsc_id"][0] == "backup"
    assert values["rates.sms_out.0"][0] not in ("—", "0.00")
    png = tmp_path / "status-page.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("PASSERELLE_REFRESH_SCREENSHOT"):
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(png, SCREENSHOT)
