"""What an sms-service does with an MO, and the reply SMS it sends back (smsbox.c).

Actions (`obey_request`), once the service is chosen:

* **text**: the pattern with its escape codes filled in is the reply. Kannel url-encodes
  the values even there (`%r` of `hello there` reads `hello+there` on the phone), and
  services written for it expect that, so we do too.
* **file**: the escapes of the file name are filled in (url-encoded, as Kannel: a `/` in a
  word cannot climb out of the directory) and the file's content, at most `MAX_FILE_OCTETS`,
  is the reply. A missing file is an empty reply, as in Kannel.
* **get-url**: GET the URL with its escapes url-encoded; headers `User-Agent: Kannel/1.4.5`
  and, with `send-sender`, `X-Kannel-From: <the phone>`.
* **post-url**: POST the MO text as the body (after `strip-keyword`), Content-Type by coding
  (`application/octet-stream` for 8-bit, `text/plain; charset="UTF-16BE"` for UCS-2, else
  `text/plain; charset="<charset or UTF-8>"`) and smsbox's X-Kannel-* headers: From (with
  send-sender), To, Time, Date, UDH, SMSC, MClass, PID, RPI, Alt-DCS, MWI, Coding, Compress,
  Service, BInfo, Meta-Data.
* **post-xml**: POST smsbox's `<message><submit>…` document.

The HTTP reply (`url_result_thread`): status 200 or 202 is an answer, anything else (after
the outbox's retries) is `reply-couldnotfetch`. `text/html` and `text/vnd.wap.wml` are
stripped to text (Kannel's html_to_sms, after cutting between the service's prefix and
suffix when both are set); `text/plain` is taken as is; `application/octet-stream` is 8-bit;
`text/xml` is read as smsbox's XML submit; any other type is `reply-couldnotrepresent`. The
X-Kannel-* headers of the answer (From, To, UDH, SMSC, MClass, MWI, Coding, Compress,
Validity, Deferred, DLR-Mask, DLR-URL, Account, PID, Alt-DCS, RPI, BInfo, Priority,
Meta-Data) count only with `accept-x-kannel-headers`. The response's charset (else the
service's alt-charset) converts the text; a charset we cannot read is
`reply-couldnotrepresent`.

The reply SMS (`send_message`) goes from the service's faked-sender (else the smsbox
`global-sender`, else the number the phone wrote to) back to the phone, split with the
service's max-messages (0: no reply at all), concatenation, split-chars, split-suffix,
header and footer; an empty reply is `reply-emptymessage`, or nothing with omit-empty. When
no service matched, `reply-requestfailed` goes back as one plain SMS. The reply keeps the
MO's smsc id, so it leaves through the link the MO came in on; the service's `forced-smsc`
(and `default-smsc` when the MO has none) override it — Kannel 1.4.5 reads those keys for
sendsms users only, we honour them as the user guide documents them. The service's dlr-url
and dlr-mask ask for receipts of the reply.

A reply from a URL is a fresh 7-bit SMS unless the answer says otherwise (obs.: Kannel's
reply to a flash MO is not flash); an octet-stream answer is 8-bit even without
accept-x-kannel-headers, where Kannel's source would keep the MO's coding. HTML answers lose
their comments whole and every run of blanks (Kannel keeps a comment's `-->` and runs of
exactly two blanks: docs/mo.md).
"""

from __future__ import annotations

import re
import struct
import time as _time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from gateway.message import UNSET, Message, new_id
from gateway.mo.inbound import InboundSms
from gateway.sendsms.accept import decoration_of, link_parts, payload_of
from gateway.url_pattern import PatternFields, expand, url_decode, url_encode
from protocols.sms.charset import CharsetError, codec_for
from protocols.sms.dcs import DC_7BIT, DC_8BIT, DC_UCS2
from protocols.sms.split import split
from protocols.sms.udh import valid_client_udh

if TYPE_CHECKING:
    from gateway.config import GatewayConfig, SmsService

USER_AGENT: Final = "Kannel/1.4.5"
#: Largest file a `file` service may answer with (longer files are cut).
MAX_FILE_OCTETS: Final = 64 * 1024
#: Kind of the outbox jobs MO services make.
JOB_KIND: Final = "mo"

_TEXT_HTML = ("text/html", "text/vnd.wap.wml")


# -- the context an outbox job carries back to the reply ------------------------------------

CONTEXT_VERSION: Final = 1
_FIELD = struct.Struct(">H")


@dataclass(frozen=True, slots=True)
class MoContext:
    """What building the reply to a URL service needs, carried durably in the job.

    `phone` is the MO's sender, `short_code` the number it wrote to, `reply_sender` the
    sender of the reply, `service_index` the service's position in the configuration (its
    `service_name` checks the position still holds it after a reload).
    """

    service_index: int
    service_name: str
    phone: str
    short_code: str
    reply_sender: str
    smsc_id: str
    account: str
    mo_id: str

    def encode(self) -> bytes:
        texts = (self.service_name, self.phone, self.short_code, self.reply_sender,
                 self.smsc_id, self.account, self.mo_id)
        out = [bytes((CONTEXT_VERSION,)), struct.pack(">I", self.service_index)]
        for text in texts:
            raw = text.encode("utf-8", "surrogatepass")
            out += (_FIELD.pack(len(raw)), raw)
        return b"".join(out)

    @classmethod
    def decode(cls, data: bytes) -> MoContext:
        """The context `encode` wrote; ValueError for anything else."""
        if not data or data[0] != CONTEXT_VERSION:
            raise ValueError(f"MO context version {data[:1]!r}, expected {CONTEXT_VERSION}")
        try:
            (index,) = struct.unpack_from(">I", data, 1)
            pos = 5
            texts: list[str] = []
            for _ in range(7):
                (size,) = _FIELD.unpack_from(data, pos)
                raw = data[pos + 2 : pos + 2 + size]
                if len(raw) != size:
                    raise ValueError("MO context cut short")
                texts.append(raw.decode("utf-8", "surrogatepass"))
                pos += 2 + size
        except (struct.error, UnicodeDecodeError) as exc:
            raise ValueError(f"damaged MO context: {exc}") from exc
        if pos != len(data):
            raise ValueError("damaged MO context: trailing octets")
        return cls(index, *texts)


# -- requests ---------------------------------------------------------------------------------


def reply_sender(service: SmsService | None, global_sender: str | None, sms: InboundSms) -> str:
    """The sender of the reply: faked-sender, else global-sender, else the short code."""
    if service is not None and service.faked_sender:
        return service.faked_sender
    return global_sender or sms.receiver


def mo_text(service: SmsService, sms: InboundSms) -> bytes:
    """The MO text a service sees: converted to its alt-charset for 7-bit text (smsbox)."""
    if service.alt_charset and sms.coding == DC_7BIT:
        try:
            return sms.text.decode("utf-8", "replace").encode(_codec(service.alt_charset),
                                                              "replace")
        except LookupError:
            return sms.text
    return sms.text


def _codec(charset: str) -> str:
    try:
        return codec_for(charset)
    except CharsetError as exc:
        raise LookupError(str(exc)) from exc


def pattern_fields(service: SmsService, sms: InboundSms, sender: str) -> PatternFields:
    """The escape-code values of an MO, after smsbox swapped sender and receiver (so `%p`
    is the phone and `%P` the reply's sender)."""
    return PatternFields(
        text=mo_text(service, sms),
        udh=sms.udh,
        sender=sender,
        receiver=sms.sender,
        smsc_id=sms.smsc_id,
        service=service.name,
        account=sms.account,
        id=sms.id,
        foreign_id=sms.foreign_id,
        time=sms.time,
        coding=sms.coding,
        mclass=sms.mclass,
        mwi=sms.mwi,
        compress=sms.compress,
        alt_dcs=sms.alt_dcs,
        charset=sms.charset,
        binfo=sms.binfo,
        meta_data=sms.meta_data,
    )


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """The HTTP request of a URL service (what becomes a `callbacks.HttpJob`)."""

    method: str
    url: str
    headers: list[tuple[str, str]]
    body: bytes


def _stamp(seconds: float) -> str:
    return _time.strftime("%Y-%m-%d %H:%M:%S", _time.gmtime(int(seconds)))


def strip_keyword(text: bytes) -> bytes:
    """Kannel's strip_keyword: drop the first word and the blanks after it."""
    return re.sub(rb"^\S*\s*", b"", text, count=1)


def http_request(service: SmsService, sms: InboundSms, sender: str, now: float) -> HttpRequest:
    """The request get-url, post-url or post-xml makes for `sms`."""
    fields = pattern_fields(service, sms, sender)
    url = expand(service.pattern, fields, now=now)
    headers = [("User-Agent", USER_AGENT)]
    action = service.action
    if action == "get-url":
        if service.send_sender:
            headers.append(("X-Kannel-From", sms.sender))
        return HttpRequest("GET", url, headers, b"")
    body = fields.text
    if service.strip_keyword:
        body = strip_keyword(body)
    if action == "post-xml":
        return _xml_request(service, sms, sender, url, headers, body, now)
    if sms.coding == DC_8BIT:
        headers.append(("Content-Type", "application/octet-stream"))
    elif sms.coding == DC_UCS2:
        headers.append(("Content-Type", 'text/plain; charset="UTF-16BE"'))
    else:
        headers.append(("Content-Type", f'text/plain; charset="{sms.charset or "UTF-8"}"'))
    if service.send_sender:
        headers.append(("X-Kannel-From", sms.sender))
    headers.append(("X-Kannel-To", sender))
    headers.append(("X-Kannel-Time", _stamp(sms.time)))
    headers.append(("Date", _stamp(now)))
    if sms.udh:
        headers.append(("X-Kannel-UDH", url_encode(sms.udh).decode("ascii")))
    if sms.smsc_id:
        headers.append(("X-Kannel-SMSC", sms.smsc_id))
    for name, value in (
        ("X-Kannel-MClass", sms.mclass),
        ("X-Kannel-PID", sms.pid),
        ("X-Kannel-RPI", sms.rpi),
        ("X-Kannel-Alt-DCS", sms.alt_dcs),
        ("X-Kannel-MWI", sms.mwi),
        ("X-Kannel-Coding", sms.coding),
        ("X-Kannel-Compress", sms.compress),
    ):
        if value != UNSET:
            headers.append((name, str(value)))
    headers.append(("X-Kannel-Service", service.name))
    if sms.binfo:
        headers.append(("X-Kannel-BInfo", sms.binfo))
    if sms.meta_data:
        headers.append(("X-Kannel-Meta-Data", sms.meta_data))
    return HttpRequest("POST", url, headers, body)


def _xml_text(value: str | bytes) -> str:
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _xml_request(
    service: SmsService,
    sms: InboundSms,
    sender: str,
    url: str,
    headers: list[tuple[str, str]],
    body: bytes,
    now: float,
) -> HttpRequest:
    """smsbox's post-xml document, element for element."""
    charset = "ISO-8859-1" if sms.coding == DC_UCS2 or not sms.charset else sms.charset
    if sms.coding == DC_UCS2:
        headers.append(("Content-Type", 'text/xml; charset="ISO-8859-1"'))
    elif sms.charset:
        headers.append(("Content-Type", f'text/xml; charset="{sms.charset}"'))
    else:
        headers.append(("Content-Type", "text/xml"))
    headers.append(("Date", _stamp(now)))

    def element(tag: str, inner: str) -> str:
        return f"  \t\t<{tag}>{inner}</{tag}>\n"

    xml = [f'<?xml version="1.0" encoding="{charset}"?>\n', '<message cid="1">\n', "\t<submit>\n"]
    if service.send_sender:
        xml.append(element("oa", element("number", _xml_text(sms.sender))))
    xml.append(element("da", element("number", _xml_text(sender))))
    if sms.udh:
        xml.append(element("udh", _xml_text(url_encode(sms.udh))))
    if body:
        xml.append(element("ud", _xml_text(url_encode(body))))
    if sms.pid != UNSET:
        xml.append(element("pid", str(sms.pid)))
    if sms.rpi != UNSET:
        xml.append(element("rpi", str(sms.rpi)))
    dcs = "".join(
        element(tag, str(value))
        for tag, value in (
            ("coding", sms.coding),
            ("mclass", sms.mclass),
            ("alt-dcs", sms.alt_dcs),
            ("mwi", sms.mwi),
            ("compress", sms.compress),
        )
        if value != UNSET
    )
    if dcs:
        xml.append(element("dcs", dcs))
    at = _time.gmtime(int(sms.time))
    xml.append(element("at", (
        f"<year>{at.tm_year:04d}</year><month>{at.tm_mon:02d}</month><day>{at.tm_mday:02d}"
        f"</day><hour>{at.tm_hour:02d}</hour><minute>{at.tm_min:02d}</minute><second>"
        f"{at.tm_sec:02d}</second><timezone>0</timezone>"
    )))
    if sms.smsc_id:
        xml.append(element("from", element("account", _xml_text(sms.smsc_id))))
    xml.append(element("to", element("service", _xml_text(service.name))))
    if sms.meta_data:
        xml.append(element("meta-data", _xml_text(sms.meta_data)))
    xml.append("\t</submit>\n</message>\n")
    return HttpRequest("POST", url, headers, "".join(xml).encode("latin-1", "replace"))


# -- answers -----------------------------------------------------------------------------------


@dataclass(slots=True)
class ReplyContent:
    """A reply's text and the message fields its source set (X-Kannel-* headers, XML).

    `text` is in `charset` (None: UTF-8 for 7-bit, as is for 8-bit and UCS-2); `None` in the
    other fields means "not given".
    """

    text: bytes
    coding: int = DC_7BIT
    charset: str | None = None
    udh: bytes | None = None
    sender: str | None = None
    receiver: str | None = None
    smsc_id: str | None = None
    account: str | None = None
    binfo: str | None = None
    dlr_url: str | None = None
    meta_data: str | None = None
    numbers: dict[str, int] = field(default_factory=dict)


_NUMBER_HEADERS: Final = {
    "x-kannel-coding": "coding",
    "x-kannel-pid": "pid",
    "x-kannel-mwi": "mwi",
    "x-kannel-mclass": "mclass",
    "x-kannel-alt-dcs": "alt_dcs",
    "x-kannel-compress": "compress",
    "x-kannel-validity": "validity",
    "x-kannel-deferred": "deferred",
    "x-kannel-dlr-mask": "dlr_mask",
    "x-kannel-rpi": "rpi",
    "x-kannel-priority": "priority",
}
_TEXT_HEADERS: Final = {
    "x-kannel-from": "sender",
    "x-kannel-to": "receiver",
    "x-kannel-smsc": "smsc_id",
    "x-kannel-dlr-url": "dlr_url",
    "x-kannel-account": "account",
    "x-kannel-binfo": "binfo",
    "x-kannel-meta-data": "meta_data",
}
#: Accepted ranges of the numeric fields (values outside are ignored, not sent).
_RANGES: Final = {
    "coding": (0, 2), "pid": (0, 255), "mwi": (0, 7), "mclass": (0, 3), "alt_dcs": (0, 1),
    "compress": (0, 1), "validity": (0, 10_000_000), "deferred": (0, 10_000_000),
    "dlr_mask": (0, 255), "rpi": (0, 2), "priority": (0, 3),
}


def scanf_int(text: str) -> int | None:
    """C's `sscanf("%d")`: the leading integer, or None."""
    match = re.match(r"\s*([+-]?\d+)", text)
    return int(match.group(1)) if match else None


def _udh_of(value: str) -> bytes | None:
    """Kannel: hex first, else url-encoded octets; None when it is no valid UDH."""
    value = value.strip()
    try:
        udh = bytes.fromhex(value)
    except ValueError:
        udh = url_decode(value.encode("latin-1", "replace"))
    return udh if udh and valid_client_udh(udh) else None


def apply_headers(content: ReplyContent, headers: dict[str, list[str]]) -> None:
    """The X-Kannel-* headers of an answer into `content` (Kannel's get_x_kannel_from_headers;
    when one repeats, the last one counts)."""
    for name, values in headers.items():
        key = name.lower()
        for value in values:
            if key in _TEXT_HEADERS:
                setattr(content, _TEXT_HEADERS[key], value.strip())
            elif key == "x-kannel-udh":
                content.udh = _udh_of(value)
            elif key in _NUMBER_HEADERS:
                number = scanf_int(value)
                if number is not None:
                    content.numbers[_NUMBER_HEADERS[key]] = number


def _blank(c: int) -> bool:
    return c in b" \t\n\r\f\v"


_ENTITIES: Final = {"amp": 38, "lt": 60, "gt": 62, "nbsp": 32, **{
    name: code for code, name in enumerate((
        "iexcl cent pound curren yen brvbar sect uml copy ordf laquo not shy reg macr deg "
        "plusmn sup2 sup3 acute micro para middot cedil sup1 ordm raquo frac14 frac12 frac34 "
        "iquest Agrave Aacute Acirc Atilde Auml Aring AElig Ccedil Egrave Eacute Ecirc Euml "
        "Igrave Iacute Icirc Iuml ETH Ntilde Ograve Oacute Ocirc Otilde Ouml times Oslash "
        "Ugrave Uacute Ucirc Uuml Yacute THORN szlig agrave aacute acirc atilde auml aring "
        "aelig ccedil egrave eacute ecirc euml igrave iacute icirc iuml eth ntilde ograve "
        "oacute ocirc otilde ouml divide oslash ugrave uacute ucirc uuml yacute thorn yuml"
    ).split(), 161)
}}


def html_to_sms(html: bytes) -> bytes:
    """Kannel's html_to_sms: tags and comments removed, entities of Latin-1 characters
    turned into their octet, blanks collapsed and trimmed. (Kannel leaves a comment's
    closing `-->` and runs of exactly two blanks in the text; we do not.)"""
    out = bytearray()
    pos, n = 0, len(html)
    while pos < n:
        c = html[pos]
        if c == 0x3C:  # '<'
            if html.startswith(b"<!--", pos):
                end = html.find(b"-->", pos + 4)
                pos = n if end < 0 else end + 3
                continue
            pos += 1
            while pos < n and html[pos] != 0x3E:
                if html[pos] in b"\"'":
                    end = html.find(html[pos : pos + 1], pos + 1)
                    pos = n if end < 0 else end + 1
                else:
                    pos += 1
            pos += 1
        elif c == 0x26:  # '&'
            match = re.match(rb"&#([xX][0-9a-fA-F]+|[0-9]+);?|&([A-Za-z0-9]+);", html[pos:])
            code: int | None = None
            if match and match.group(1):
                digits = match.group(1)
                code = int(digits[1:], 16) if digits[:1] in b"xX" else int(digits)
                if code < 256:
                    out.append(code)
                pos += match.end()
                continue
            if match and match.group(2):
                code = _ENTITIES.get(match.group(2).decode("ascii"))
            if code is None:
                out.append(0x26)
                pos += 1
            else:
                out.append(code)
                pos += match.end() if match else 1
        else:
            out.append(c)
            pos += 1
    words = bytes(out).split()
    return b" ".join(words) if words else b""


def strip_prefix_and_suffix(html: bytes, prefix: str | None, suffix: str | None) -> bytes:
    """The part of the page between the service's prefix and suffix (case-insensitive),
    when both are set and found (Kannel's strip_prefix_and_suffix)."""
    if not prefix or not suffix:
        return html
    lower = html.lower()
    start = lower.find(prefix.encode("utf-8").lower())
    if start < 0:
        return html
    start += len(prefix.encode("utf-8"))
    end = lower.find(suffix.encode("utf-8").lower(), start)
    if end < 0:
        return html
    return html[start:end]


def _content_type(headers: dict[str, list[str]]) -> tuple[str, str | None]:
    value = ""
    for name, values in headers.items():
        if name.lower() == "content-type" and values:
            value = values[-1]
    kind, _, params = value.partition(";")
    charset = None
    match = re.search(r'charset\s*=\s*"?([^";\s]+)"?', params, re.IGNORECASE)
    if match:
        charset = match.group(1)
    return kind.strip().lower(), charset


def answer_content(
    service: SmsService | None,
    code: int | None,
    headers: dict[str, list[str]],
    body: bytes,
    *,
    could_not_fetch: str,
    could_not_represent: str,
) -> ReplyContent:
    """The reply an HTTP answer makes (see the module docstring); `code` None: no answer."""
    if code not in (200, 202):
        return ReplyContent(could_not_fetch.encode("utf-8"))
    kind, charset = _content_type(headers)
    if kind in _TEXT_HTML:
        if service is not None:
            body = strip_prefix_and_suffix(body, service.prefix, service.suffix)
        content = ReplyContent(html_to_sms(body))
        apply_headers(content, headers)
    elif kind == "text/plain":
        content = ReplyContent(body)
        apply_headers(content, headers)
    elif kind == "application/octet-stream":
        content = ReplyContent(body, coding=DC_8BIT)
        apply_headers(content, headers)
    elif kind == "text/xml":
        parsed = xml_content(body)
        if parsed is None:
            return ReplyContent(could_not_represent.encode("utf-8"))
        content = parsed
        charset = content.charset
    else:
        return ReplyContent(could_not_represent.encode("utf-8"))
    if not charset and service is not None and service.alt_charset:
        charset = service.alt_charset
    content.charset = charset
    return content


def xml_content(body: bytes) -> ReplyContent | None:
    """smsbox's XML submit (`get_x_kannel_from_xml`) as a reply; None when unreadable.
    Documents with a DOCTYPE are refused (no entity expansion from the network)."""
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        return None
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    if root.tag != "message":
        return None

    def text(path: str) -> str | None:
        node = root.find(path)
        return None if node is None else "".join(node.itertext()).strip()

    ud = text("submit/ud")
    raw = b""
    if ud is not None:
        try:
            raw = bytes.fromhex(ud)
        except ValueError:
            raw = url_decode(ud.encode("utf-8"))
    content = ReplyContent(raw, charset="UTF-8")
    content.sender = text("submit/oa/number")
    content.receiver = text("submit/da/number")
    udh = text("submit/udh")
    if udh is not None:
        content.udh = _udh_of(udh)
    content.smsc_id = text("submit/smsc")
    content.account = text("submit/from/account")
    content.binfo = text("submit/from/binfo")
    content.dlr_url = text("submit/statusrequest/dlr-url")
    content.meta_data = text("submit/meta-data")
    for path, name in (
        ("submit/pid", "pid"), ("submit/rpi", "rpi"), ("submit/dcs/mclass", "mclass"),
        ("submit/dcs/mwi", "mwi"), ("submit/dcs/coding", "coding"),
        ("submit/dcs/compress", "compress"), ("submit/dcs/alt-dcs", "alt_dcs"),
        ("submit/statusrequest/dlr-mask", "dlr_mask"), ("submit/vp/delay", "validity"),
        ("submit/timing/delay", "deferred"), ("submit/priority", "priority"),
    ):
        value = text(path)
        number = scanf_int(value) if value is not None else None
        if number is not None:
            content.numbers[name] = number
    if "coding" in content.numbers and content.numbers["coding"] == DC_UCS2 and raw:
        content.text = raw.decode("utf-8", "replace").encode("utf-16-be")
        content.charset = None
    return content


def file_content(path: str) -> bytes:
    """A file service's answer: the file's first `MAX_FILE_OCTETS`, empty when unreadable."""
    try:
        with open(path, "rb") as handle:
            return handle.read(MAX_FILE_OCTETS)
    except OSError:
        return b""


def static_content(service: SmsService, sms: InboundSms, sender: str, now: float) -> ReplyContent:
    """The reply of a text or file service."""
    fields = pattern_fields(service, sms, sender)
    if service.action == "text":
        return ReplyContent(expand(service.pattern, fields, now=now).encode(
            "utf-8", "surrogateescape"))
    return ReplyContent(file_content(expand(service.pattern, fields, now=now)))


# -- reply messages ---------------------------------------------------------------------------


class ReplyBuilder:
    """Reply SMS the way smsbox's send_message cuts them, as queue `Message`s."""

    def __init__(self, config: GatewayConfig) -> None:
        from gateway.config import SmsboxConfig

        smsbox = config.smsbox if config.smsbox is not None else SmsboxConfig()
        self.sms_length = smsbox.sms_length
        self.global_sender = smsbox.global_sender
        self.could_not_fetch = smsbox.reply_couldnotfetch
        self.could_not_represent = smsbox.reply_couldnotrepresent
        self.request_failed = smsbox.reply_requestfailed
        self.empty_message = smsbox.reply_emptymessage
        self._concat_ref = 0

    def messages(
        self,
        service: SmsService | None,
        content: ReplyContent,
        *,
        phone: str,
        sender: str,
        smsc_id: str,
        now: float,
    ) -> list[Message]:
        """The parts of the reply to `phone` (empty: no reply is sent)."""
        max_messages = service.max_messages if service is not None else 1
        if max_messages == 0:
            return []  # Kannel: "No reply sent, denied."
        accepted = service is not None and service.accept_x_kannel_headers
        coding = content.coding
        numbers = content.numbers if accepted else {}
        numbers = {k: v for k, v in numbers.items() if _RANGES[k][0] <= v <= _RANGES[k][1]}
        coding = numbers.get("coding", coding)
        charset = content.charset
        text = content.text
        if not text:
            if service is not None and service.omit_empty:
                return []
            text, coding, charset = self.empty_message.encode("utf-8"), DC_7BIT, None
        try:
            payload = payload_of(text, coding, charset)
        except CharsetError:
            coding, charset = DC_7BIT, None
            payload = payload_of(self.could_not_represent.encode("utf-8"), coding, None)
        udh = (content.udh or b"") if accepted else b""
        if service is not None:
            header = decoration_of(service.header, coding)
            footer = decoration_of(service.footer, coding)
            suffix = decoration_of(service.split_suffix, coding)
            split_chars, concatenation = service.split_chars, service.concatenation
        else:
            header = footer = suffix = b""
            split_chars, concatenation = None, False
        parts = split(
            payload,
            coding,
            udh=udh,
            concatenation=concatenation,
            max_messages=max_messages,
            ref=self._concat_ref,
            split_chars=split_chars,
            split_suffix=suffix,
            header=header,
            footer=footer,
            max_octets=self.sms_length,
        )
        if len(parts) > 1:
            self._concat_ref = (self._concat_ref + len(parts)) & 0xFF

        def given(value: str | None) -> str | None:
            return value if accepted and value else None

        route = smsc_id
        if service is not None:
            if service.forced_smsc:
                route = service.forced_smsc
            else:
                route = given(content.smsc_id) or smsc_id or service.default_smsc or ""
        dlr_url = given(content.dlr_url)
        dlr_mask = numbers.get("dlr_mask", 0)
        if dlr_url is None and service is not None and service.dlr_url:
            dlr_url = service.dlr_url
            if "dlr_mask" not in numbers:  # an answer's own mask wins (Kannel's send_message)
                dlr_mask = max(service.dlr_mask or 0, 0)
        validity = numbers.get("validity", UNSET)
        deferred = numbers.get("deferred", UNSET)
        messages: list[Message] = []
        for part in parts:
            message_id = new_id()
            messages.append(Message(
                id=message_id,
                parent_id=message_id,
                sender=given(content.sender) or sender,
                receiver=given(content.receiver) or phone,
                payload=part.payload,
                coding=coding,
                udh=part.udh,
                part=part.seq,
                parts=part.total,
                username=service.name if service is not None else "",
                account=given(content.account) or "",
                smsc_id=route,
                mclass=numbers.get("mclass", UNSET),
                mwi=numbers.get("mwi", UNSET),
                compress=numbers.get("compress", UNSET),
                alt_dcs=numbers.get("alt_dcs", 0),
                pid=numbers.get("pid", 0),
                rpi=numbers.get("rpi", UNSET),
                priority=numbers.get("priority", UNSET),
                validity=validity,
                deferred=deferred,
                dlr_mask=dlr_mask if dlr_url else 0,
                dlr_url=dlr_url or "",
                binfo=given(content.binfo) or "",
                charset=charset or "",
                meta_data=given(content.meta_data) or "",
                created=now,
            ))
        link_parts(messages)
        return messages
