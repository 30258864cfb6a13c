"""Kannel's admin pages, byte for byte: status, store-status, the command replies, in text,
HTML 3.2, XML and WML.

Monitoring written for Kannel (Nagios' check_kannel, Cacti scripts, home-grown greps) parses
these pages by line and by tag, so the layouts are bb_print_status (gw/bearerbox.c),
boxc_status (gw/bb_boxc.c), smsc2_status (gw/bb_smscconn.c), store_status (gw/bb_store.c)
and httpd_serve's wrappers (gw/bb_http.c), checked against a running bearerbox 1.4.5
(shared/kannel/samples). Two deliberate differences, both invisible for ordinary values:

* values that come from outside (smsc ids and names, the echoed URL, parameters) are escaped
  in HTML, XML and WML (Kannel writes them raw: a reflected `<script>` in the HTML page);
* the version block: the first line stays Kannel's `Kannel bearerbox version `1.4.5'.`,
  because clients parse it to know which admin interface they talk to, and Passerelle
  implements 1.4.5's; the build lines below it say what really runs (Passerelle, Python,
  Twisted, system, host).
"""

from __future__ import annotations

import enum
import platform
import socket
import time
from collections.abc import Callable, Iterable
from html import escape as _html_escape
from urllib.parse import quote_from_bytes

from gateway.admin.control import (
    BoxStatus,
    GatewayStatus,
    Load,
    SmscStatus,
    StoredMessage,
)

#: The Kannel release whose admin interface this is (the version line clients parse).
KANNEL_VERSION = "1.4.5"


class Format(enum.Enum):
    """Kannel's BBSTATUS_* output formats, valued with their default Content-Type."""

    TEXT = "text/plain"
    HTML = "text/html"
    XML = "text/xml"
    WML = "text/vnd.wap.wml"

    @property
    def linebreak(self) -> str:
        """bb_status_linebreak."""
        return {Format.HTML: "<br>\n", Format.WML: "<br/>\n"}.get(self, "\n")


#: URL suffix → format (`status.txt`, `suspend.html`, ...).
SUFFIXES: dict[str, Format] = {
    "txt": Format.TEXT,
    "html": Format.HTML,
    "xml": Format.XML,
    "wml": Format.WML,
}


def escape(value: str, fmt: Format) -> str:
    """`value` made safe for `fmt` (text is left alone)."""
    return value if fmt is Format.TEXT else _html_escape(value, quote=False)


def wrap(body: str, fmt: Format) -> str:
    """httpd_serve's header and footer around any reply."""
    if fmt is Format.HTML:
        return (
            '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2//EN">\n'
            "<html>\n<title>Kannel</title>\n<body>\n<p>" + body + "</p>\n</body></html>\n"
        )
    if fmt is Format.WML:
        return (
            '<?xml version="1.0"?>\n'
            '<!DOCTYPE wml PUBLIC "-//WAPFORUM//DTD WML 1.1//EN" '
            '"http://www.wapforum.org/DTD/wml_1.1.xml">\n'
            "\n<wml>\n <card>\n  <p>" + body + "  </p>\n </card>\n</wml>\n"
        )
    if fmt is Format.XML:
        return '<?xml version="1.0"?>\n<gateway>\n' + body + "</gateway>\n"
    return body


# --- the version block ---------------------------------------------------------------------


def version_report(passerelle_version: str) -> str:
    """version_report_string("bearerbox"), ours (see the module docstring). Called once at
    start: the host name lookup may be slow."""
    import twisted

    uname = platform.uname()
    hostname = socket.gethostname()
    try:
        address = socket.gethostbyname(hostname)
    except OSError:
        address = "127.0.0.1"
    return (
        f"Kannel bearerbox version `{KANNEL_VERSION}'.\n"
        f"Passerelle version `{passerelle_version}' "
        f"(Kannel {KANNEL_VERSION} compatible, bearerbox and smsbox in one process).\n"
        f"Python `{platform.python_version()}', Twisted `{twisted.__version__}'.\n"
        f"System {uname.system}, release {uname.release}, version {uname.version}, "
        f"machine {uname.machine}.\n"
        f"Hostname {hostname}, IP {address}.\n"
    )


# --- status --------------------------------------------------------------------------------


def _dhms(seconds: int) -> str:
    t = max(0, int(seconds))
    return f"{t // 3600 // 24}d {t // 3600 % 24}h {t // 60 % 60}m {t % 60}s"


def _load(load: Load) -> str:
    return "%.2f,%.2f,%.2f" % load  # noqa: UP031 - C's %.2f, exactly


def render_status(status: GatewayStatus, fmt: Format, version_text: str) -> str:
    """bb_print_status: the body of `status` (wrap() adds the page around it)."""
    up = _dhms(status.uptime_seconds)
    word = status.state.value
    s = status
    sms_in, sms_out = _load(s.sms_inbound_load), _load(s.sms_outbound_load)
    dlr_in, dlr_out = _load(s.dlr_inbound_load), _load(s.dlr_outbound_load)
    storage = escape(s.dlr_storage, fmt)
    if fmt is Format.HTML:
        head = (
            f"{version_text}</p>\n\n"
            f" <p>Status: {word}, uptime {up}</p>\n\n"
            f" <p>WDP: received 0 (0 queued), sent 0 (0 queued)</p>\n\n"
            f" <p>SMS: received {s.sms_received} ({s.sms_received_queued} queued), "
            f"sent {s.sms_sent} ({s.sms_sent_queued} queued), store size {s.store_size}<br>\n"
            f" SMS: inbound ({sms_in}) msg/sec, outbound ({sms_out}) msg/sec</p>\n\n"
            f" <p>DLR: received {s.dlr_received}, sent {s.dlr_sent}<br>\n"
            f" DLR: inbound ({dlr_in}) msg/sec, outbound ({dlr_out}) msg/sec<br>\n"
            f" DLR: {s.dlr_queued} queued, using {storage} storage</p>\n\n"
        )
        footer = "<p>"
    elif fmt is Format.WML:
        head = (
            f"{version_text}</p>\n\n"
            f"   <p>Status: {word}, uptime {up}</p>\n\n"
            "   <p>WDP: received 0 (0 queued)<br/>\n"
            "      WDP: sent 0 (0 queued)</p>\n\n"
            f"   <p>SMS: received {s.sms_received} ({s.sms_received_queued} queued)<br/>\n"
            f"      SMS: sent {s.sms_sent} ({s.sms_sent_queued} queued)<br/>\n"
            f"      SMS: store size {s.store_size}<br/>\n"
            f"      SMS: inbound ({sms_in}) msg/sec<br/>\n"
            f"      SMS: outbound ({sms_out}) msg/sec</p>\n"
            f"   <p>DLR: received {s.dlr_received}<br/>\n"
            f"      DLR: sent {s.dlr_sent}<br/>\n"
            f"      DLR: inbound ({dlr_in}) msg/sec<br/>\n"
            f"      DLR: outbound ({dlr_out}) msg/sec<br/>\n"
            f"      DLR: {s.dlr_queued} queued<br/>\n"
            f"      DLR: using {storage} storage</p>\n\n"
        )
        footer = "<p>"
    elif fmt is Format.XML:
        head = (
            f"<version>{version_text}</version>\n"
            f"<status>{word}, uptime {up}</status>\n"
            "\t<wdp>\n\t\t<received><total>0</total><queued>0</queued></received>\n"
            "\t\t<sent><total>0</total><queued>0</queued></sent>\n\t</wdp>\n"
            f"\t<sms>\n\t\t<received><total>{s.sms_received}</total>"
            f"<queued>{s.sms_received_queued}</queued></received>\n"
            f"\t\t<sent><total>{s.sms_sent}</total><queued>{s.sms_sent_queued}</queued>"
            f"</sent>\n\t\t<storesize>{s.store_size}</storesize>\n"
            f"\t\t<inbound>{sms_in}</inbound>\n\t\t<outbound>{sms_out}</outbound>\n"
            "\t\t</sms>\n"
            f"\t<dlr>\n\t\t<received><total>{s.dlr_received}</total></received>\n"
            f"\t\t<sent><total>{s.dlr_sent}</total></sent>\n"
            f"\t\t<inbound>{dlr_in}</inbound>\n\t\t<outbound>{dlr_out}</outbound>\n"
            f"\t\t<queued>{s.dlr_queued}</queued>\n\t\t<storage>{storage}</storage>\n"
            "\t</dlr>\n"
        )
        footer = ""
    else:
        head = (
            f"{version_text}\n\nStatus: {word}, uptime {up}\n\n"
            "WDP: received 0 (0 queued), sent 0 (0 queued)\n\n"
            f"SMS: received {s.sms_received} ({s.sms_received_queued} queued), "
            f"sent {s.sms_sent} ({s.sms_sent_queued} queued), store size {s.store_size}\n"
            f"SMS: inbound ({sms_in}) msg/sec, outbound ({sms_out}) msg/sec\n\n"
            f"DLR: received {s.dlr_received}, sent {s.dlr_sent}\n"
            f"DLR: inbound ({dlr_in}) msg/sec, outbound ({dlr_out}) msg/sec\n"
            f"DLR: {s.dlr_queued} queued, using {storage} storage\n\n"
        )
        footer = ""
    return head + render_boxes(status.boxes, fmt) + render_smscs(status.smscs, fmt) + footer


def render_boxes(boxes: Iterable[BoxStatus], fmt: Format) -> str:
    """boxc_status: wapboxes, then smsboxes, or `No boxes connected`."""
    lb = fmt.linebreak
    para = fmt in (Format.HTML, Format.WML)
    ws = {Format.HTML: "&nbsp;&nbsp;&nbsp;&nbsp;", Format.TEXT: "    "}.get(fmt, "")
    ordered = sorted(boxes, key=lambda box: box.type != "wapbox")
    if fmt is Format.XML:
        out = "<boxes>\n\t"
        for box in ordered:
            ssl = "yes" if box.ssl else "no"
            up = _dhms(box.online_seconds)
            ip = escape(box.ip, fmt)
            if box.type == "wapbox":
                out += (
                    f"<box>\n\t\t<type>wapbox</type>\n\t\t<IP>{ip}</IP>\n"
                    f"\t\t<status>on-line {up}</status>\n\t\t<ssl>{ssl}</ssl>\n\t</box>\n"
                )
            else:
                out += (
                    f"<box>\n\t\t<type>{escape(box.type, fmt)}</type>\n"
                    f"\t\t<id>{escape(box.id or '', fmt)}</id>\n\t\t<IP>{ip}</IP>\n"
                    f"\t\t<queue>{box.queued}</queue>\n"
                    f"\t\t<status>on-line {up}</status>\n\t\t<ssl>{ssl}</ssl>\n\t</box>"
                )
        return out + "</boxes>\n"
    out = ("<p>" if para else "") + "Box connections:" + lb
    for box in ordered:
        ssl = "using SSL" if box.ssl else ""
        up = _dhms(box.online_seconds)
        ip = escape(box.ip, fmt)
        if box.type == "wapbox":
            out += f"{ws}wapbox, IP {ip} (on-line {up}) {ssl} {lb}"
        else:
            name = escape(box.id, fmt) if box.id else "(none)"
            out += (
                f"{ws}{escape(box.type, fmt)}:{name}, IP {ip} ({box.queued} queued), "
                f"(on-line {up}) {ssl} {lb}"
            )
    if not ordered:
        out = ("<p>" if para else "") + "No boxes connected"
    if para:
        out += "</p>"
    return out + "\n\n"


def render_smscs(smscs: Iterable[SmscStatus], fmt: Format) -> str:
    """smsc2_status: one entry per connection (loads shown only while online)."""
    links = list(smscs)
    lb = fmt.linebreak
    para = fmt in (Format.HTML, Format.WML)
    if not links:
        if fmt is Format.XML:
            return "<smscs>\n\t<count>0</count>\n</smscs>"
        return ("<p>" if para else "") + "No SMSC connections" + ("</p>" if para else "") + "\n\n"
    if fmt is Format.XML:
        out = f"<smscs><count>{len(links)}</count>\n\t"
    else:
        out = ("<p>" if para else "") + "SMSC connections:" + lb
    for link in links:
        conn_id = escape(link.id or "unknown", fmt)
        admin_id = escape(link.admin_id or "unknown", fmt)
        name = escape(link.name, fmt)
        status = escape(link.status, fmt)
        zero = (0.0, 0.0, 0.0)
        rs, rd, ss, sd = (
            (link.received_sms_load, link.received_dlr_load, link.sent_sms_load,
             link.sent_dlr_load)
            if link.online else (zero, zero, zero, zero)
        )
        if fmt is Format.XML:
            out += (
                f"<smsc>\n\t\t<name>{name}</name>\n\t\t<admin-id>{admin_id}</admin-id>\n"
                f"\t\t<id>{conn_id}</id>\n\t\t"
                f"<status>{status}</status>\n\t\t<failed>{link.failed}</failed>\n"
                f"\t\t<queued>{link.queued}</queued>\n\t\t<sms>\n"
                f"\t\t\t<received>{link.received_sms}</received>\n"
                f"\t\t\t<sent>{link.sent_sms}</sent>\n"
                f"\t\t\t<inbound>{_load(rs)}</inbound>\n"
                f"\t\t\t<outbound>{_load(ss)}</outbound>\n"
                "\t\t</sms>\n\t\t<dlr>\n"
                f"\t\t\t<received>{link.received_dlr}</received>\n"
                f"\t\t\t<sent>{link.sent_dlr}</sent>\n"
                f"\t\t\t<inbound>{_load(rd)}</inbound>\n"
                f"\t\t\t<outbound>{_load(sd)}</outbound>\n"
                "\t\t</dlr>\n\t</smsc>\n"
            )
            continue
        if fmt is Format.HTML:
            out += (
                f"&nbsp;&nbsp;&nbsp;&nbsp;<b>{conn_id}</b>[{admin_id}]"
                "&nbsp;&nbsp;&nbsp;&nbsp;"
            )
        elif fmt is Format.TEXT:
            out += f"    {conn_id}[{admin_id}]    "
        out += (
            f"{name} ({status}, rcvd: sms {link.received_sms} ({_load(rs)}) / "
            f"dlr {link.received_dlr} ({_load(rd)}), sent: sms {link.sent_sms} ({_load(ss)}) / "
            f"dlr {link.sent_dlr} ({_load(sd)}), failed {link.failed}, "
            f"queued {link.queued} msgs){lb}"
        )
    if para:
        out += "</p>"
    return out + ("</smscs>\n" if fmt is Format.XML else "\n\n")


# --- store-status --------------------------------------------------------------------------

#: What Kannel's %E does (octstr_url_encode): RFC 3986 unreserved kept, space as +.
def url_encode(data: bytes) -> str:
    """octstr_url_encode: unreserved characters kept, space as `+`, the rest `%XX`."""
    return quote_from_bytes(data, safe=" ").replace(" ", "+")


STORE_HEADER_TEXT = (
    "[SMS ID] [Type] [Time] [Sender] [Receiver] [SMSC ID] [BOX ID] [Flags] [UDH] [Message]\n"
)
STORE_HEADER_HTML = (
    "<table border=1>\n"
    "<tr><td>SMS ID</td><td>Type</td><td>Time</td><td>Sender</td><td>Receiver</td>"
    "<td>SMSC ID</td><td>BOX ID</td><td>Flags</td><td>UDH</td><td>Message</td></tr>\n"
)


def render_store_status(
    messages: Iterable[StoredMessage],
    fmt: Format,
    *,
    gmt: bool = False,
) -> str:
    """store_status: one row per stored message (WML gets the text rows, as in Kannel).
    Times are local, as the Debian build of Kannel writes them (`gmt=True` for UTC)."""
    convert: Callable[[float], time.struct_time] = time.gmtime if gmt else time.localtime
    if fmt is Format.HTML:
        out = STORE_HEADER_HTML
    elif fmt is Format.XML:
        out = ""
    else:
        out = STORE_HEADER_TEXT
    rows = []
    for msg in messages:
        when = time.strftime("%Y-%m-%d %H:%M:%S", convert(msg.time))
        flags = f"{msg.mclass}:{msg.coding}:{msg.mwi}:{msg.compress}:{msg.dlr_mask}"
        udh, text = url_encode(msg.udh), url_encode(msg.text)
        mid, kind = escape(msg.id, fmt), escape(msg.type, fmt)
        sender, receiver = escape(msg.sender, fmt), escape(msg.receiver, fmt)
        smsc, box = escape(msg.smsc_id, fmt), escape(msg.box_id, fmt)
        if fmt is Format.HTML:
            rows.append(
                f"<tr><td>{mid}</td><td>{kind}</td><td>{when}</td><td>{sender}</td>"
                f"<td>{receiver}</td><td>{smsc}</td><td>{box}</td><td>{flags}</td>"
                f"<td>{udh}</td><td>{text}</td></tr>\n"
            )
        elif fmt is Format.XML:
            rows.append(
                f"\t<message>\n\t<id>{mid}</id>\n\t<type>{kind}</type>\n\t"
                f"<time>{when}</time>\n\t<sender>{sender}</sender>\n\t"
                f"<receiver>{receiver}</receiver>\n\t<smsc-id>{smsc}</smsc-id>\n\t"
                f"<box-id>{box}</box-id>\n\t<flags>{flags}</flags>\n\t"
                f"<udh-data>{udh}</udh-data>\n\t<msg-data>{text}</msg-data>\n\t</message>\n"
            )
        else:
            rows.append(
                f"[{mid}] [{kind}] [{when}] [{sender}] [{receiver}] [{smsc}] [{box}] "
                f"[{flags}] [{udh}] [{text}]\n"
            )
    out += "".join(rows)
    if fmt is Format.HTML:
        out += "</table>"
    return out


# --- unknown command -----------------------------------------------------------------------

#: httpd_commands, in Kannel's order (the `Possible commands are:` list).
COMMANDS: tuple[str, ...] = (
    "status",
    "store-status",
    "log-level",
    "shutdown",
    "suspend",
    "isolate",
    "resume",
    "restart",
    "graceful-restart",
    "flush-dlr",
    "stop-smsc",
    "start-smsc",
    "add-smsc",
    "remove-smsc",
    "reload-lists",
    "remove-message",
)


def render_unknown(path: str, fmt: Format) -> str:
    """The reply to an unknown command: the URL's path as requested, then the list."""
    lb = fmt.linebreak
    out = f"Unknown command `{escape(path, fmt)}'.{lb}Possible commands are:{lb}"
    return out + "".join(command + lb for command in COMMANDS)
