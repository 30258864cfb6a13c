"""The status pages against bearerbox 1.4.5's own output (kannel_samples/, copied from
shared/kannel/samples), byte for byte once Kannel's version block is put in place of ours,
plus WML and store-status as the real bearerbox printed them."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from gateway.admin.control import BoxStatus, GatewayState, GatewayStatus, SmscStatus
from gateway.admin.render import (
    COMMANDS,
    Format,
    render_status,
    render_store_status,
    render_unknown,
    url_encode,
    version_report,
    wrap,
)
from tests.gateway.admin.fakes import SAMPLE_STATUS, stored

#: bearerbox 1.4.5's own admin output, kept in the repository so CI always has it.
SAMPLES = Path(__file__).parent / "kannel_samples"


def sample(name: str) -> str:
    path = SAMPLES / name
    return path.read_text()


def kannel_version(text_sample: str) -> str:
    """The 11-line version block of the sample (ours differs on purpose)."""
    return "".join(line + "\n" for line in text_sample.splitlines()[:11])


@pytest.fixture
def version() -> str:
    return kannel_version(sample("status_txt.txt"))


def test_status_txt_is_the_sample(version: str) -> None:
    assert wrap(render_status(SAMPLE_STATUS, Format.TEXT, version), Format.TEXT) == sample(
        "status_txt.txt"
    )


def test_status_html_is_the_sample(version: str) -> None:
    assert wrap(render_status(SAMPLE_STATUS, Format.HTML, version), Format.HTML) == sample(
        "status_html.txt"
    )


def test_status_xml_is_the_sample(version: str) -> None:
    assert wrap(render_status(SAMPLE_STATUS, Format.XML, version), Format.XML) == sample(
        "status_xml.txt"
    )


#: bearerbox 1.4.5's status.wml, observed (no smsc, no box; one fake SMSC connecting).
WML_OBSERVED = """<?xml version="1.0"?>
<!DOCTYPE wml PUBLIC "-//WAPFORUM//DTD WML 1.1//EN" "http://www.wapforum.org/DTD/wml_1.1.xml">

<wml>
 <card>
  <p>VERSION</p>

   <p>Status: running, uptime 0d 0h 0m 3s</p>

   <p>WDP: received 0 (0 queued)<br/>
      WDP: sent 0 (0 queued)</p>

   <p>SMS: received 0 (0 queued)<br/>
      SMS: sent 0 (0 queued)<br/>
      SMS: store size 0<br/>
      SMS: inbound (0.00,0.00,0.00) msg/sec<br/>
      SMS: outbound (0.00,0.00,0.00) msg/sec</p>
   <p>DLR: received 0<br/>
      DLR: sent 0<br/>
      DLR: inbound (0.00,0.00,0.00) msg/sec<br/>
      DLR: outbound (0.00,0.00,0.00) msg/sec<br/>
      DLR: 0 queued<br/>
      DLR: using internal storage</p>

<p>No boxes connected</p>

<p>SMSC connections:<br/>
FAKE:13999 (connecting, rcvd: sms 0 (0.00,0.00,0.00) / dlr 0 (0.00,0.00,0.00), \
sent: sms 0 (0.00,0.00,0.00) / dlr 0 (0.00,0.00,0.00), failed 0, queued 0 msgs)<br/>
</p>

<p>  </p>
 </card>
</wml>
"""


def quiet_status() -> GatewayStatus:
    from dataclasses import replace

    return replace(
        SAMPLE_STATUS, uptime_seconds=3, sms_sent=0, sms_outbound_load=(0.0, 0.0, 0.0),
        dlr_received=0, dlr_inbound_load=(0.0, 0.0, 0.0), dlr_queued=0, boxes=(),
        smscs=(SmscStatus(id="f1", admin_id="f1", name="FAKE:13999", status="connecting",
                          sent_sms_load=(9.0, 9.0, 9.0)),),
    )


def test_status_wml_as_observed() -> None:
    page = wrap(render_status(quiet_status(), Format.WML, "VERSION"), Format.WML)
    assert page == WML_OBSERVED


def test_no_boxes_and_offline_links_in_text_and_xml() -> None:
    status = quiet_status()
    text = render_status(status, Format.TEXT, "V")
    assert (
        "\n\nNo boxes connected\n\nSMSC connections:\n    f1[f1]    FAKE:13999 (connecting,"
        in text
    )
    # loads of a link that is not online are shown as zeros, as Kannel does
    assert "9.00" not in text
    xml = render_status(status, Format.XML, "V")
    assert "<boxes>\n\t</boxes>\n<smscs><count>1</count>\n\t<smsc>" in xml


def test_no_smsc_at_all() -> None:
    from dataclasses import replace

    status = replace(SAMPLE_STATUS, smscs=())
    assert render_status(status, Format.TEXT, "V").endswith("No SMSC connections\n\n")
    assert render_status(status, Format.HTML, "V").endswith("<p>No SMSC connections</p>\n\n<p>")
    assert render_status(status, Format.XML, "V").endswith(
        "<smscs>\n\t<count>0</count>\n</smscs>"
    )


@pytest.mark.parametrize(
    ("state", "word"),
    [
        (GatewayState.RUNNING, "running"),
        (GatewayState.SUSPENDED, "suspended"),
        (GatewayState.ISOLATED, "isolated"),
        (GatewayState.FULL, "filled"),
        (GatewayState.SHUTDOWN, "going down"),
    ],
)
def test_state_words(state: GatewayState, word: str) -> None:
    from dataclasses import replace

    text = render_status(replace(SAMPLE_STATUS, state=state), Format.TEXT, "V")
    assert f"\nStatus: {word}, uptime 0d 0h 1m 27s\n" in text


def test_uptime_in_days() -> None:
    from dataclasses import replace

    status = replace(SAMPLE_STATUS, uptime_seconds=3 * 86400 + 5 * 3600 + 7 * 60 + 9)
    assert "uptime 3d 5h 7m 9s" in render_status(status, Format.TEXT, "V")


def test_values_from_outside_are_escaped_except_in_text() -> None:
    from dataclasses import replace

    link = SmscStatus(id="a<b", admin_id="a&b", name="SMPP:h:1/1:<x>:", status="dead")
    status = replace(SAMPLE_STATUS, smscs=(link,),
                     boxes=(BoxStatus(id="box<1>", online_seconds=1),))
    html = render_status(status, Format.HTML, "V")
    assert "<b>a&lt;b</b>[a&amp;b]" in html and "&lt;x&gt;" in html and "box&lt;1&gt;" in html
    assert "    a<b[a&b]    SMPP:h:1/1:<x>: (dead," in render_status(status, Format.TEXT, "V")


def test_smsbox_with_id_and_ssl() -> None:
    from dataclasses import replace

    status = replace(SAMPLE_STATUS, boxes=(BoxStatus(id="box1", queued=4, ssl=True,
                                                     online_seconds=61),))
    text = render_status(status, Format.TEXT, "V")
    assert "    smsbox:box1, IP 127.0.0.1 (4 queued), (on-line 0d 0h 1m 1s) using SSL \n" in text
    xml = render_status(status, Format.XML, "V")
    assert "<id>box1</id>" in xml and "<queue>4</queue>" in xml and "<ssl>yes</ssl>" in xml


def test_store_status_empty_matches_the_samples() -> None:
    assert wrap(render_store_status([], Format.TEXT), Format.TEXT) == sample(
        "store_status_txt.txt"
    )
    assert wrap(render_store_status([], Format.XML), Format.XML) == sample(
        "store_status_xml.txt"
    )


def test_store_status_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    messages = stored(2, start=1795248360.0)
    text = render_store_status(messages, Format.TEXT, gmt=True)
    lines = text.splitlines()
    assert lines[0] == (
        "[SMS ID] [Type] [Time] [Sender] [Receiver] [SMSC ID] [BOX ID] [Flags] [UDH] [Message]"
    )
    assert lines[1] == (
        "[33398091-0000-4000-8000-000000000000] [MT-PUSH] [2026-11-21 08:06:00] [12345] "
        "[4670000001] [sink] [] [-1:0:-1:-1:31] [] [queued+4]"
    )
    assert len(lines) == 3
    html = render_store_status(messages, Format.HTML, gmt=True)
    assert html.startswith("<table border=1>\n<tr><td>SMS ID</td>")
    assert html.endswith("</td></tr>\n</table>")
    assert "<td>-1:0:-1:-1:31</td><td></td><td>queued+4</td></tr>" in html
    xml = render_store_status(messages, Format.XML, gmt=True)
    assert xml.startswith("\t<message>\n\t<id>33398091-0000-4000-8000-000000000000</id>\n")
    assert "\t<flags>-1:0:-1:-1:31</flags>\n\t<udh-data></udh-data>\n" in xml
    assert "\t<msg-data>queued+4</msg-data>\n\t</message>\n" in xml
    # WML gets the text rows inside the card, as bearerbox does
    assert render_store_status(messages, Format.WML, gmt=True) == text


def test_store_status_times_are_local_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    try:
        assert "[2026-11-21 17:06:00]" in render_store_status(stored(1), Format.TEXT)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_url_encode_is_kannels() -> None:
    assert url_encode(b"queued 4") == "queued+4"
    assert url_encode(b"a-b_c.d~e") == "a-b_c.d~e"
    assert url_encode(b"\x05\x00\x03&=/\xe9") == "%05%00%03%26%3D%2F%E9"


def test_unknown_command_is_the_sample() -> None:
    assert wrap(render_unknown("/foo", Format.TEXT), Format.TEXT) == sample("unknown_command.txt")


def test_unknown_command_html_and_xml() -> None:
    html = wrap(render_unknown("/foo.html", Format.HTML), Format.HTML)
    assert "<p>Unknown command `/foo.html'.<br>\nPossible commands are:<br>\nstatus<br>\n" in html
    assert html.endswith("remove-message<br>\n</p>\n</body></html>\n")
    xml = wrap(render_unknown("/foo.xml", Format.XML), Format.XML)
    assert xml.startswith('<?xml version="1.0"?>\n<gateway>\nUnknown command `/foo.xml\'.\n')
    assert xml.endswith("reload-lists\nremove-message\n</gateway>\n")
    assert "&lt;script&gt;" in render_unknown("/<script>", Format.HTML)
    assert len(COMMANDS) == 16


def test_version_report_keeps_kannels_first_line() -> None:
    text = version_report("0.1.0")
    lines = text.splitlines()
    assert lines[0] == "Kannel bearerbox version `1.4.5'."
    assert "Passerelle version `0.1.0'" in lines[1]
    assert any(line.startswith("System ") for line in lines)
    assert any(line.startswith("Hostname ") for line in lines)
    assert text.endswith(".\n")
