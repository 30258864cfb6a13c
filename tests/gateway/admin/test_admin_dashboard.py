"""/dashboard in a real headless Chromium: the numbers the page shows are the ones status.json
served, missing keys do not break it, and a screenshot is taken.

Chromium comes from Debian's `chromium` package. Without it the test skips locally but fails
when `CI` is set. The screenshot docs show is taken from the real gateway by
test_dashboard_gateway.py (`PASSERELLE_REFRESH_SCREENSHOT=1`); this one stays in tmp.
"""

from __future__ import annotations

import copy
import json
import os
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.task import Clock
from twisted.internet.utils import getProcessOutputAndValue
from twisted.web.resource import Resource
from twisted.web.server import Request

from gateway.admin.dashboard import EXAMPLE_STATUS, page_html
from gateway.admin.resource import AdminResource
from gateway.config.model import CoreConfig
from tests.gateway.admin.fakes import FakeControl
from tests.gateway.admin.served import Server

pytestmark = pytest.mark.filterwarnings("ignore:Using readBody:DeprecationWarning")


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("CI"):
        pytest.fail("chromium is not installed (apt-get install chromium)")
    pytest.skip("chromium is not installed")


class ChangingStatus(Resource):
    """status.json whose figures move with each request (so the charts draw a trend); keeps
    what it served last and, when `drop` is given, leaves those keys out."""

    isLeaf = True

    def __init__(self, drop: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.served = 0
        self.last: dict[str, Any] = {}
        self.drop = drop

    def render_GET(self, request: Request) -> bytes:  # noqa: N802
        n = self.served
        self.served += 1
        data = copy.deepcopy(EXAMPLE_STATUS)
        data["time"] += 2 * n
        data["uptime_seconds"] += 2 * n
        data["queue"]["queued"] += 37 * n
        data["queue"]["lanes"]["0"]["depth"] += 37 * n
        data["rates"]["sms_in"][0] += 9.5 * (n % 4)
        data["rates"]["sms_out"][0] += 7.25 * ((n + 1) % 3)
        data["process"]["cpu_seconds"] += 0.5 * n
        for key in self.drop:
            data.pop(key, None)
        self.last = data
        request.setHeader(b"Content-Type", b"application/json")
        return json.dumps(data).encode()


class DomValues(HTMLParser):
    """data-key → (text, data-value) of every element carrying a data-key."""

    VOID = frozenset({"br", "meta", "link", "img", "input", "hr", "polyline"})

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[str, tuple[str, str | None]] = {}
        self._open: list[tuple[str, str, str | None, list[str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.VOID:
            return
        found = dict(attrs)
        self._open.append((tag, found.get("data-key") or "", found.get("data-value"), []))

    def handle_data(self, data: str) -> None:
        for _, key, _, texts in self._open:
            if key:
                texts.append(data)

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            open_tag, key, value, texts = self._open.pop()
            if key:
                self.values[key] = ("".join(texts).strip(), value)
            if open_tag == tag:
                break


def leaf(data: Any, key: str) -> Any:
    for part in key.split("."):
        if isinstance(data, list):
            data = data[int(part)]
        elif isinstance(data, dict):
            data = data.get(part)
        else:
            return None
    return data


async def browse(url: str, tmp_path: Path, *flags: str) -> str:
    out, err, code = await getProcessOutputAndValue(
        chromium(),
        (
            "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000",
            "--window-size=1280,900", *flags, url,
        ),
        env={**os.environ, "HOME": str(tmp_path)},
        reactor=reactor,
    )
    assert code == 0, err.decode(errors="replace")[-2000:]
    return out.decode("utf-8", "replace")


def serve(status: ChangingStatus) -> Server:
    resource = AdminResource(
        FakeControl(), CoreConfig(admin_port=0, admin_password="secret"), Clock(),
        {b"/status.json": status},
    )
    return Server(resource)


@pytest_twisted.ensureDeferred
async def test_the_page_shows_what_status_json_says(tmp_path: Path) -> None:
    status = ChangingStatus()
    server = serve(status)
    try:
        dom = await browse(server.base + "/dashboard", tmp_path, "--dump-dom")
        await browse(server.base + "/dashboard", tmp_path,
                     f"--screenshot={tmp_path / 'status-page.png'}")
    finally:
        await server.stop()
    assert 'data-loaded="1"' in dom, dom[-3000:]
    assert status.served >= 2
    parser = DomValues()
    parser.feed(dom)
    values = parser.values
    # the DOM shows one of the snapshots served (the last the first browser saw)
    shown_time = int(values["queue.queued"][0])
    served = [1834 + 37 * n for n in range(status.served)]
    assert shown_time in served
    n = served.index(shown_time)
    expected = copy.deepcopy(EXAMPLE_STATUS)
    expected["queue"]["queued"] += 37 * n
    expected["queue"]["lanes"]["0"]["depth"] += 37 * n
    expected["rates"]["sms_in"][0] += 9.5 * (n % 4)
    expected["rates"]["sms_out"][0] += 7.25 * ((n + 1) % 3)
    expected["process"]["cpu_seconds"] += 0.5 * n
    expected["uptime_seconds"] += 2 * n
    checked = 0
    for key, (text, value) in values.items():
        want = leaf(expected, key)
        if want is None or isinstance(want, dict | list):
            continue
        if key.startswith("rates."):
            assert text == f"{want:.2f}", key
        elif isinstance(want, bool):
            continue
        elif key in ("queue.bytes_used", "queue.max_bytes", "process.rss_bytes",
                     "uptime_seconds"):
            assert value == str(want), key
        else:
            assert text == str(want) or value == str(want), (key, text, value, want)
        checked += 1
    for key in ("queue.queued", "queue.in_flight", "queue.lanes.0.depth",
                "queue.lanes.0.oldest_age_seconds", "smsc.0.smsc_id", "smsc.2.status",
                "smsc.1.sent", "rates.sms_out.0", "rates.dlr_in.2", "dlr.stored",
                "callbacks.retrying", "process.pid", "state", "version"):
        assert key in values, key
    assert checked >= 40
    assert values["smsc.0.smsc_id"][0] == "operator-a"
    assert values["uptime_seconds"][0].startswith("1d 2h ")
    png = tmp_path / "status-page.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest_twisted.ensureDeferred
async def test_missing_keys_do_not_break_the_page(tmp_path: Path) -> None:
    status = ChangingStatus(drop=("rates", "dlr", "callbacks", "version", "state"))
    server = serve(status)
    try:
        dom = await browse(server.base + "/dashboard", tmp_path, "--dump-dom")
    finally:
        await server.stop()
    assert 'data-loaded="1"' in dom
    parser = DomValues()
    parser.feed(dom)
    assert parser.values["dlr.stored"][0] == "—"
    assert parser.values["rates.sms_in.0"][0] == "—"
    assert parser.values["queue.queued"][0].isdigit()


def test_the_page_is_self_contained() -> None:
    html = page_html().decode()
    assert "http://" not in html.replace("http://www.w3.org", "")
    assert "https://" not in html
    assert "<script src" not in html and "<link" not in html
    assert "status.json" in html
