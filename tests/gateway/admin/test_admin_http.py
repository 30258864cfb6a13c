"""The admin port over real HTTP with a fake gateway: every command in every format, format
selection, password rules and the brake (on task.Clock), Avalanche, parameters, our pages."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import replace
from pathlib import Path

import pytest
import pytest_twisted
from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.web.resource import Resource
from twisted.web.server import Request

from gateway.admin.control import GatewayState
from gateway.admin.render import SUFFIXES, Format, wrap
from gateway.admin.resource import AdminResource, atoi, choose_format, parse_command
from gateway.config.model import CoreConfig
from tests.gateway.admin.fakes import FakeControl, stored
from tests.gateway.admin.served import Server
from tests.polling import until

pytestmark = pytest.mark.filterwarnings("ignore:Using readBody:DeprecationWarning")

#: bearerbox 1.4.5's own admin output, kept in the repository so CI always has it.
SAMPLES = Path(__file__).parent / "kannel_samples"
MESSAGE_ID = "33398091-0000-4000-8000-000000000000"


class JsonPage(Resource):
    isLeaf = True

    def render_GET(self, request: Request) -> bytes:  # noqa: N802
        request.setHeader(b"Content-Type", b"application/json")
        return b'{"ok": true}'


def make(
    status_password: str | None = None, **core: object
) -> tuple[AdminResource, FakeControl, Clock]:
    control = FakeControl()
    clock = Clock()
    config = CoreConfig(admin_port=0, admin_password="secret",
                        status_password=status_password, **core)  # type: ignore[arg-type]
    resource = AdminResource(
        control, config, clock, {b"/status.json": JsonPage()},
        status_pages={b"/metrics": JsonPage()},
    )
    return resource, control, clock


@pytest.fixture
def setup() -> Generator[tuple[Server, FakeControl, Clock], None, None]:
    resource, control, clock = make()
    server = Server(resource)
    yield server, control, clock
    server.port.stopListening()


@pytest.fixture
def guarded() -> Generator[tuple[Server, FakeControl, Clock], None, None]:
    resource, control, clock = make(status_password="look")
    server = Server(resource)
    yield server, control, clock
    server.port.stopListening()


# --- pure helpers -------------------------------------------------------------------------


def test_parse_command_as_httpd_serve() -> None:
    assert parse_command("/status") == ("status", None)
    assert parse_command("/cgi-bin/status.xml") == ("status", "xml")
    assert parse_command("/a/b/cgi-bin/resume.json") == ("/a/bresume", "json")
    assert parse_command("/status.txt.foo") == ("status", "txt.foo")
    assert parse_command("status") == ("status", None)


def test_choose_format_is_a_substring_test_in_kannels_order() -> None:
    assert choose_format([]) == (Format.TEXT, "text/plain")
    assert choose_format([b"*/*"]) == (Format.TEXT, "text/plain")
    assert choose_format([b"text/html, text/vnd.wap.wml;q=0.1"])[0] is Format.WML
    assert choose_format([b"application/xhtml+xml, TEXT/HTML"])[0] is Format.HTML
    assert choose_format([b"text/xml"]) == (Format.XML, "text/xml")
    assert choose_format([b"application/xml"])[0] is Format.TEXT


def test_atoi() -> None:
    assert [atoi(v) for v in (b"3", b" 2x", b"-1", b"abc", b"", b"+4", b"99999999999")] == [
        3, 2, -1, 0, 0, 4, 2**31 - 1,
    ]


# --- every command, every format -----------------------------------------------------------

COMMAND_REPLIES = [
    ("suspend", "", "Kannel suspended"),
    ("isolate", "", "Kannel isolated from message providers"),
    ("resume", "", "Already running"),
    ("restart", "", "Restarting....."),
    ("graceful-restart", "", "Restarting gracefully....."),
    ("flush-dlr", "", "Suspend Kannel before trying to flush DLR queue"),
    ("stop-smsc", "&smsc=sink2", "SMSC `sink2' shut down"),
    ("stop-smsc", "&smsc=nosuch", "Could not shut down smsc-id `nosuch'"),
    ("stop-smsc", "", "SMSC id not given"),
    ("start-smsc", "&smsc=sink2", "Could not re-start smsc-id `sink2'"),
    ("add-smsc", "&smsc=sink3", "SMSC `sink3' added"),
    ("add-smsc", "&smsc=sink", "Could not add smsc-id `sink'"),
    ("remove-smsc", "&smsc=sink2", "SMSC `sink2' removed"),
    ("remove-smsc", "&smsc=zz", "Could not remove smsc-id `zz'"),
    ("reload-lists", "", "Black/white lists re-loaded"),
    ("log-level", "&level=1", "log-level set to 1"),
    ("log-level", "", "New level not given"),
    ("remove-message", "", "Message id not given"),
    ("remove-message", "&id=abc", "Message id should be 36 characters long"),
    ("remove-message", f"&id={MESSAGE_ID}", f"Message id `{MESSAGE_ID}' removed"),
    ("shutdown", "", "Bringing system down"),
]

CONTENT_TYPES = {
    "txt": "text/plain", "html": "text/html", "xml": "text/plain", "wml": "text/vnd.wap.wml",
}


@pytest.mark.parametrize("suffix", ["txt", "html", "xml", "wml"])
@pytest.mark.parametrize(("command", "extra", "reply"), COMMAND_REPLIES)
@pytest_twisted.ensureDeferred
async def test_command_replies(
    setup: tuple[Server, FakeControl, Clock], command: str, extra: str, reply: str, suffix: str
) -> None:
    server, control, _ = setup
    answer = await server.get(f"/{command}.{suffix}?password=secret{extra}")
    assert answer.code == 200
    assert answer.content_type == CONTENT_TYPES[suffix]
    assert answer.body == wrap(reply, SUFFIXES[suffix])
    denied = await server.get(f"/{command}.{suffix}?password=wrong{extra}")
    assert denied.code == 200
    assert denied.body == wrap("Denied", SUFFIXES[suffix])


@pytest_twisted.ensureDeferred
async def test_the_html_wrapper_as_bearerbox_sends_it(
    setup: tuple[Server, FakeControl, Clock]
) -> None:
    server, _, _ = setup
    answer = await server.get("/cgi-bin/suspend.html?password=secret")
    assert answer.body == (
        '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2//EN">\n<html>\n<title>Kannel</title>\n'
        "<body>\n<p>Kannel suspended</p>\n</body></html>\n"
    )
    answer = await server.get("/suspend.wml?password=secret")
    assert answer.body == (
        '<?xml version="1.0"?>\n<!DOCTYPE wml PUBLIC "-//WAPFORUM//DTD WML 1.1//EN" '
        '"http://www.wapforum.org/DTD/wml_1.1.xml">\n\n<wml>\n <card>\n  <p>Already suspended'
        "  </p>\n </card>\n</wml>\n"
    )


@pytest_twisted.ensureDeferred
async def test_state_commands_follow_kannels_table(
    setup: tuple[Server, FakeControl, Clock]
) -> None:
    server, control, _ = setup
    replies = []
    for command in ("suspend", "suspend", "isolate", "isolate", "resume", "resume",
                    "isolate", "suspend", "flush-dlr", "resume"):
        replies.append((await server.get(f"/{command}?password=secret")).body)
    assert replies == [
        "Kannel suspended", "Already suspended", "Kannel isolated from message providers",
        "Already isolated", "Running resumed", "Already running",
        "Kannel isolated from message providers", "Kannel suspended", "DLR queue flushed",
        "Running resumed",
    ]
    assert ("flush-dlr", None) in control.calls
    assert (await server.get("/status?password=secret")).body.count("Status: running,") == 1


@pytest_twisted.ensureDeferred
async def test_failures_of_the_gateway(setup: tuple[Server, FakeControl, Clock]) -> None:
    server, control, _ = setup
    control.graceful_ok = False
    control.lists_ok = False
    assert (await server.get("/graceful-restart?password=secret")).body == (
        "Unable to restart gracefully! Please check log file."
    )
    assert (await server.get("/reload-lists?password=secret")).body == "Could not re-load lists"
    control.remove_message = lambda message_id: False  # type: ignore[method-assign]
    assert (await server.get(f"/remove-message?password=secret&id={MESSAGE_ID}")).body == (
        f"Could not remove message id `{MESSAGE_ID}'"
    )
    control.restart = lambda: 1 / 0  # type: ignore[assignment, method-assign, misc]
    answer = await server.get("/restart?password=secret")
    assert answer.code == 200 and "failed" in answer.body


@pytest_twisted.ensureDeferred
async def test_parameters(setup: tuple[Server, FakeControl, Clock]) -> None:
    server, control, _ = setup
    assert (await server.get("/log-level?password=secret&level=3x")).body == "log-level set to 3"
    assert (await server.get("/log-level?password=secret&level=")).body == "log-level set to 0"
    assert control.log_level == 0
    # the first of a repeated parameter, as http_cgi_variable
    assert (await server.get("/log-level?password=secret&level=2&level=4")).body == (
        "log-level set to 2"
    )
    assert (await server.get("/stop-smsc?password=secret&smsc=")).body == (
        "Could not shut down smsc-id `'"
    )
    assert (await server.get("/stop-smsc.html?password=secret&smsc=%3Cb%3E")).body.count(
        "&lt;b&gt;"
    ) == 1
    assert (await server.get("/remove-message?password=secret&id=" + "x" * 37)).body == (
        "Message id should be 36 characters long"
    )
    # POST-style body parameters are not read: only the URL's
    assert (await server.get("/suspend")).body == "Denied"


@pytest_twisted.ensureDeferred
async def test_flush_dlr_waits_for_the_store(setup: tuple[Server, FakeControl, Clock]) -> None:
    server, control, _ = setup
    await server.get("/suspend?password=secret")
    control.pending_flush = defer.Deferred()
    answer = server.get("/flush-dlr?password=secret")
    await until(lambda: ("flush-dlr", None) in control.calls)
    assert not answer.called
    control.pending_flush.callback(7)
    assert (await answer).body == "DLR queue flushed"


# --- status, store-status, formats, paths -------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_status_formats_and_content_types(
    setup: tuple[Server, FakeControl, Clock]
) -> None:
    server, _, _ = setup
    expected = {
        name: (SAMPLES / f"status_{name}.txt").read_text() for name in ("txt", "html", "xml")
    }
    for suffix, accept, kind in [
        ("txt", None, "text/plain"),
        ("html", None, "text/html"),
        ("xml", None, "text/plain"),  # status.xml from curl: text/plain, as Kannel
        ("xml", "text/xml", "text/xml"),
        ("wml", None, "text/vnd.wap.wml"),
    ]:
        answer = await server.get(f"/status.{suffix}", accept)
        assert answer.code == 200 and answer.content_type == kind
        if suffix in expected:
            ours = answer.body.splitlines()
            theirs = expected[suffix].splitlines()
            # the same page once the version block (ours on purpose) is set aside
            start = {"txt": 11, "html": 15, "xml": 14}[suffix]
            offset = len(ours) - len(theirs)
            assert any(line.endswith("Kannel bearerbox version `1.4.5'.") for line in ours[:6])
            assert ours[start + offset:] == theirs[start:]


@pytest_twisted.ensureDeferred
async def test_accept_negotiation_without_suffix(
    setup: tuple[Server, FakeControl, Clock]
) -> None:
    server, _, _ = setup
    for accept, kind, starts in [
        (None, "text/plain", "Kannel bearerbox"),
        ("*/*", "text/plain", "Kannel bearerbox"),
        ("text/html", "text/html", "<!DOCTYPE HTML"),
        ("text/xml", "text/xml", '<?xml version="1.0"?>\n<gateway>'),
        ("text/html, text/vnd.wap.wml;q=0.1", "text/vnd.wap.wml", '<?xml version="1.0"?>\n<!DOC'),
        ("application/xml", "text/plain", "Kannel bearerbox"),
    ]:
        answer = await server.get("/status", accept)
        assert (answer.content_type, answer.body[: len(starts)]) == (kind, starts), accept
    # a suffix wins over Accept; for XML the Content-Type stays what Accept chose
    answer = await server.get("/resume.xml?password=secret", "text/html")
    assert answer.content_type == "text/html"
    assert answer.body == '<?xml version="1.0"?>\n<gateway>\nAlready running</gateway>\n'
    answer = await server.get("/status.txt", "text/html")
    assert answer.content_type == "text/plain"


@pytest_twisted.ensureDeferred
async def test_paths(setup: tuple[Server, FakeControl, Clock]) -> None:
    server, _, _ = setup
    assert (await server.get("/cgi-bin/status.txt")).body.startswith("Kannel bearerbox")
    assert (await server.get("/status.txt.foo")).body.startswith("Kannel bearerbox")
    unknown = await server.get("/foo?x=1")
    assert unknown.code == 200
    assert unknown.body == (SAMPLES / "unknown_command.txt").read_text()
    nested = await server.get("/a/b/cgi-bin/resume.json?password=secret")
    assert nested.body.startswith("Unknown command `/a/b/cgi-bin/resume.json'.\n")
    assert (await server.get("/foo.html")).content_type == "text/html"


@pytest_twisted.ensureDeferred
async def test_store_status_is_bounded(setup: tuple[Server, FakeControl, Clock]) -> None:
    server, control, _ = setup
    control.messages = stored(5000)
    answer = await server.get("/store-status.txt")
    assert answer.body.count("\n") == 1 + 1000
    assert control.read == 1000  # never walked further than the cap
    control.read = 0
    answer = await server.get("/store-status.xml?limit=3")
    assert answer.body.count("<message>") == 3 and control.read == 3
    answer = await server.get("/store-status.html?limit=99999")
    assert answer.body.count("<tr>") == 1 + 1000
    empty = await server.get("/store-status.wml?limit=0")
    assert "[SMS ID] [Type]" in empty.body and "MT-PUSH" not in empty.body


# --- passwords, the brake, Avalanche -------------------------------------------------------


@pytest_twisted.ensureDeferred
async def test_status_is_open_without_status_password(
    setup: tuple[Server, FakeControl, Clock]
) -> None:
    server, _, _ = setup
    for path in ("/status", "/status?password=wrong", "/store-status"):
        assert (await server.get(path)).body != "Denied"
    assert (await server.get("/suspend")).body == "Denied"
    assert (await server.get("/metrics")).body == '{"ok": true}'


@pytest_twisted.ensureDeferred
async def test_status_password_rules(guarded: tuple[Server, FakeControl, Clock]) -> None:
    server, control, clock = guarded
    assert (await server.get("/status?password=look")).body.startswith("Kannel")
    assert (await server.get("/status?password=secret")).body.startswith("Kannel")
    assert (await server.get("/store-status?password=look")).body.startswith("[SMS ID]")
    assert (await server.get("/suspend?password=look")).body == "Denied"  # delay 0
    assert (await server.get("/status.xml?password=look")).body.startswith("<?xml")
    assert (await server.get("/status")).body == "Denied"  # reset by the success: delay 0
    # our pages behind the status rule go through the same brake
    clock.advance(10)
    assert (await server.get("/metrics?password=look")).body == '{"ok": true}'
    assert (await server.get("/metrics")).body == "Denied"
    assert (await server.get("/dashboard?password=look")).body.startswith("<!DOCTYPE html>")
    # pages given as `pages` are served as they are
    assert (await server.get("/cgi-bin/status.json")).body == '{"ok": true}'


@pytest_twisted.ensureDeferred
async def test_the_brake_grows_and_resets(guarded: tuple[Server, FakeControl, Clock]) -> None:
    server, control, clock = guarded
    brake = server.resource.brake
    assert (await server.get("/suspend?password=a")).body == "Denied"  # 0 s
    second = server.get("/suspend?password=b")  # waits 1 s
    await until(lambda: brake.failures == 2)
    assert not second.called
    clock.advance(0.9)
    assert not second.called
    clock.advance(0.1)
    assert (await second).body == "Denied"
    third = server.get("/suspend?password=c")  # 2 s
    await until(lambda: brake.failures == 3)
    clock.advance(1.5)
    assert not third.called
    # a right password sent meanwhile is not even looked at before the penalty is over
    right = server.get("/suspend?password=secret")
    await until(lambda: brake.waiting == 1)
    assert not right.called and control.calls == []
    clock.advance(0.5)
    assert (await third).body == "Denied"
    assert (await right).body == "Kannel suspended"
    assert brake.failures == 0 and brake.penalty == 0
    assert (await server.get("/suspend?password=d")).body == "Denied"  # back to 0 s


@pytest_twisted.ensureDeferred
async def test_the_brake_is_capped(guarded: tuple[Server, FakeControl, Clock]) -> None:
    server, _, clock = guarded
    brake = server.resource.brake
    brake.penalty = 59.5
    answer = server.get("/suspend?password=x")
    await until(lambda: brake.failures == 1)
    assert brake.penalty == brake.max_delay == 60.0
    clock.advance(59.5)
    assert (await answer).body == "Denied"


@pytest_twisted.ensureDeferred
async def test_avalanche_after_shutdown(setup: tuple[Server, FakeControl, Clock]) -> None:
    server, control, _ = setup
    assert (await server.get("/shutdown?password=secret")).body == "Bringing system down"
    assert control.state() is GatewayState.SHUTDOWN
    avalanche = "Avalanche has already started, too late to save the sheeps"
    for command in ("suspend", "isolate", "resume", "restart", "graceful-restart", "flush-dlr",
                    "stop-smsc", "start-smsc", "add-smsc", "remove-smsc", "reload-lists",
                    "log-level", "remove-message"):
        assert (await server.get(f"/{command}?password=secret")).body == avalanche, command
    assert (await server.get("/suspend?password=wrong")).body == "Denied"
    assert "Status: going down" in (await server.get("/status")).body
    assert (await server.get("/store-status")).body.startswith("[SMS ID]")
    # a second shutdown forces (the control decides how)
    assert (await server.get("/shutdown?password=secret")).body == "Bringing system down"
    assert control.shutdowns == 2


@pytest_twisted.ensureDeferred
async def test_denied_host_is_disconnected() -> None:
    resource, _, _ = make(admin_deny_ip=("127.0.0.*",))
    server = Server(resource)
    try:
        with pytest.raises(Exception):  # noqa: B017 - the connection is closed, no reply
            await server.get("/status")
    finally:
        await server.stop()
    resource, _, _ = make(admin_deny_ip=("*.*.*.*",), admin_allow_ip=("127.0.0.1",))
    server = Server(resource)
    try:
        assert (await server.get("/status")).body.startswith("Kannel")
    finally:
        await server.stop()


def test_status_uses_the_controls_figures() -> None:
    control = FakeControl(replace(FakeControl().status(), sms_sent=12345))
    from gateway.admin.render import render_status

    assert "sent 12345 (0 queued)" in render_status(control.status(), Format.TEXT, "V")
