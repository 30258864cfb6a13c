"""What a service sends and how an answer becomes the reply SMS (pure parts)."""

from __future__ import annotations

from pathlib import Path

import pytest
from mo_support import deliver, make_config

from gateway.message import UNSET
from gateway.mo.actions import (
    MoContext,
    ReplyBuilder,
    ReplyContent,
    answer_content,
    html_to_sms,
    http_request,
    reply_sender,
    static_content,
    strip_keyword,
    strip_prefix_and_suffix,
    xml_content,
)
from gateway.mo.inbound import InboundSms, inbound_sms
from protocols.sms.dcs import DC_7BIT, DC_8BIT, DC_UCS2

NOW = 1_795_248_319.0  # 2026-11-21 08:05:19 UTC


def sms(text: bytes = b"news today", **kw: object) -> InboundSms:
    return inbound_sms(deliver(text, **kw), smsc_id="sink", account="esme",  # type: ignore[arg-type]
                       message_id="11111111-2222-3333-4444-555555555555", now=NOW)


def svc(keys: str, smsbox: str = ""):  # type: ignore[no-untyped-def]
    text = f"group = sms-service\nname = svc\nkeyword = news\n{keys}\n"
    config = make_config(text, smsbox=smsbox)
    return config, config.services[0]


def test_context_round_trip_and_damage() -> None:
    ctx = MoContext(3, "svc", "+4670", "12345", "Brand", "sink", "esme", "id-ü")
    assert MoContext.decode(ctx.encode()) == ctx
    for broken in (b"", b"\x02" + ctx.encode()[1:], ctx.encode()[:-1], ctx.encode() + b"x"):
        with pytest.raises(ValueError):
            MoContext.decode(broken)


def test_reply_sender_order() -> None:
    _, plain = svc("text = x")
    _, faked = svc("text = x\nfaked-sender = Brand")
    mo = sms()
    assert reply_sender(faked, "Global", mo) == "Brand"
    assert reply_sender(plain, "Global", mo) == "Global"
    assert reply_sender(plain, None, mo) == "12345"


def test_get_url_escapes_are_url_encoded() -> None:
    _, service = svc("get-url = http://app/mo?from=%p&to=%P&kw=%k&rest=%r&all=%a&t=%t&svc=%n"
                     "&smsc=%i&acc=%o&id=%I&c=%c&T=%T&q=%q&u=%u&b=%b")
    mo = sms(b"news H\x05 & co", source=b"46700000001")  # GSM 0x05 is é
    request = http_request(service, mo, "12345", NOW)
    assert request.method == "GET" and request.body == b""
    assert request.headers == [("User-Agent", "Kannel/1.4.5")]
    # the GSM text decoded: "news H" + "é" + " & co" (é is GSM 0x05)
    assert request.url == (
        "http://app/mo?from=%2B46700000001&to=12345&kw=news&rest=H%C3%A9+%26+co"
        "&all=news+H%C3%A9+%26+co&t=2026-11-21+08:05:19&svc=svc&smsc=sink&acc=esme"
        "&id=11111111-2222-3333-4444-555555555555&c=0&T=1795248319&q=%2B46700000001&u=&b="
        "news+H%C3%A9+%26+co"
    )


def test_get_url_escapes_with_gsm_text() -> None:
    _, service = svc("get-url = http://app/?text=%a")
    request = http_request(service, sms(b"news caf\x05"), "12345", NOW)
    assert request.url == "http://app/?text=news+caf%C3%A9"


def test_send_sender_header() -> None:
    _, service = svc("get-url = http://app/\nsend-sender = true")
    assert ("X-Kannel-From", "+46700000001") in http_request(service, sms(), "1", NOW).headers


def test_post_url_body_and_headers() -> None:
    _, service = svc("post-url = http://app/post?from=%p")
    mo = sms(b"\x05\x00\x03\x07\x02\x01news body", esm_class=0x40, data_coding=0xF1)
    request = http_request(service, mo, "12345", NOW)
    assert request.method == "POST" and request.url == "http://app/post?from=%2B46700000001"
    assert request.body == b"news body"
    headers = dict(request.headers)
    assert headers["Content-Type"] == 'text/plain; charset="UTF-8"'
    assert headers["X-Kannel-To"] == "12345"
    assert headers["X-Kannel-Time"] == "2026-11-21 08:05:19"
    assert headers["X-Kannel-UDH"] == "%05%00%03%07%02%01"
    assert headers["X-Kannel-SMSC"] == "sink"
    assert headers["X-Kannel-MClass"] == "1" and headers["X-Kannel-Alt-DCS"] == "1"
    assert headers["X-Kannel-Coding"] == "0" and headers["X-Kannel-PID"] == "0"
    assert headers["X-Kannel-Service"] == "svc"
    assert "X-Kannel-MWI" not in headers and "X-Kannel-RPI" not in headers
    assert "X-Kannel-From" not in headers


@pytest.mark.parametrize(
    ("dcs", "content_type"),
    [(4, "application/octet-stream"), (8, 'text/plain; charset="UTF-16BE"')],
)
def test_post_url_content_type_by_coding(dcs: int, content_type: str) -> None:
    _, service = svc("post-url = http://app/")
    headers = dict(http_request(service, sms(b"\x00\x41", data_coding=dcs), "1", NOW).headers)
    assert headers["Content-Type"] == content_type


def test_strip_keyword() -> None:
    _, service = svc("post-url = http://app/\nstrip-keyword = true")
    assert http_request(service, sms(b"news   the rest"), "1", NOW).body == b"the rest"
    assert strip_keyword(b"single") == b""


def test_post_xml_document() -> None:
    _, service = svc("post-xml = http://app/xml")
    request = http_request(service, sms(b"news <b>&"), "12345", NOW)
    body = request.body.decode("latin-1")
    assert body.startswith('<?xml version="1.0" encoding="ISO-8859-1"?>\n<message cid="1">\n')
    assert "<da>  \t\t<number>12345</number>\n</da>" in body
    assert "<ud>news+%3Cb%3E%26</ud>" in body
    assert "<coding>0</coding>" in body and "<service>svc</service>" in body
    assert dict(request.headers)["Content-Type"] == "text/xml"
    parsed = xml_content(request.body)
    assert parsed is not None and parsed.text == b"news <b>&"


def test_text_service_escapes_are_url_encoded_as_kannel_does() -> None:
    # Kannel 1.4.5 obs.: text = "You said %r" answered "echo hello there" with
    # "You said hello+there".
    _, service = svc("text = You (%p) said %r")
    content = static_content(service, sms(b"news a+b c"), "12345", NOW)
    assert content.text == b"You (%2B46700000001) said a%2Bb+c"


def test_file_service(tmp_path: Path) -> None:
    (tmp_path / "news.txt").write_bytes(b"From the file")
    _, service = svc(f"file = {tmp_path}/%k.txt")
    assert static_content(service, sms(), "1", NOW).text == b"From the file"
    _, missing = svc(f"file = {tmp_path}/nothing.txt")
    assert static_content(missing, sms(), "1", NOW).text == b""


def test_html_to_sms() -> None:
    html = b"<html><!-- c --><b class='x>y'>Hello</b>\n  &amp; &eacute;&#233;&#x41;&bogus;  </html>"
    assert html_to_sms(html) == b"Hello & \xe9\xe9A&bogus;"


def test_prefix_and_suffix() -> None:
    page = b"<html>junk START the answer END more</html>"
    assert strip_prefix_and_suffix(page, "start", "end") == b" the answer "
    assert strip_prefix_and_suffix(page, "start", None) == page


def answer(service, code, headers, body):  # type: ignore[no-untyped-def]
    return answer_content(service, code, headers, body, could_not_fetch="CNF",
                          could_not_represent="CNR")


def test_answers_by_content_type() -> None:
    _, service = svc("get-url = http://x/\nprefix = [\nsuffix = ]")
    plain = answer(service, 200, {"content-type": ["text/plain; charset=ISO-8859-1"]}, b"caf\xe9")
    assert (plain.text, plain.charset, plain.coding) == (b"caf\xe9", "ISO-8859-1", DC_7BIT)
    html = answer(service, 202, {"content-type": ["text/html"]}, b"x[<p>Hi  there</p>]y")
    assert html.text == b"Hi there"
    binary = answer(service, 200, {"content-type": ["application/octet-stream"]}, b"\x01\x02")
    assert (binary.text, binary.coding) == (b"\x01\x02", DC_8BIT)
    assert answer(service, 200, {"content-type": ["image/png"]}, b"x").text == b"CNR"
    assert answer(service, 404, {}, b"x").text == b"CNF"
    assert answer(service, -1, {}, b"").text == b"CNF"
    assert answer(service, 204, {"content-type": ["text/plain"]}, b"").text == b"CNF"


def test_x_kannel_headers_are_read() -> None:
    _, service = svc("get-url = http://x/")
    content = answer(service, 200, {
        "content-type": ["text/plain"], "x-kannel-from": [" Brand "], "x-kannel-coding": ["2x"],
        "x-kannel-udh": ["0605040B8423F0"], "x-kannel-dlr-mask": ["31"], "x-kannel-mclass": ["z"],
    }, b"body")
    assert content.sender == "Brand" and content.udh == bytes.fromhex("0605040B8423F0")
    assert content.numbers == {"coding": 2, "dlr_mask": 31}


def builder_and(keys: str, smsbox: str = ""):  # type: ignore[no-untyped-def]
    config, service = svc(keys, smsbox)
    return ReplyBuilder(config), service


def test_reply_messages_basic() -> None:
    builder, service = builder_and("text = x\ndlr-url = http://d/?t=%d\ndlr-mask = 3")
    [message] = builder.messages(service, ReplyContent(b"Hello \xe2\x82\xac"), phone="+4670",
                                 sender="12345", smsc_id="sink", now=NOW)
    assert (message.sender, message.receiver, message.smsc_id) == ("12345", "+4670", "sink")
    assert message.payload == b"Hello \x1b\x65" and message.coding == DC_7BIT
    assert (message.dlr_url, message.dlr_mask) == ("http://d/?t=%d", 3)
    assert message.username == "svc" and message.created == NOW
    assert message.priority == UNSET and message.mclass == UNSET


def test_reply_headers_only_with_accept_x_kannel_headers() -> None:
    content = ReplyContent(b"hi", sender="Other", smsc_id="elsewhere",
                           numbers={"mclass": 0, "coding": 1, "priority": 9})
    builder, closed = builder_and("text = x")
    [m] = builder.messages(closed, content, phone="1", sender="2", smsc_id="sink", now=NOW)
    assert (m.sender, m.smsc_id, m.mclass, m.coding) == ("2", "sink", UNSET, DC_7BIT)
    builder, open_ = builder_and("text = x\naccept-x-kannel-headers = true")
    [m] = builder.messages(open_, content, phone="1", sender="2", smsc_id="sink", now=NOW)
    assert (m.sender, m.smsc_id, m.mclass, m.coding) == ("Other", "elsewhere", 0, DC_8BIT)
    assert m.priority == UNSET  # 9 is out of range: ignored


def test_forced_and_default_smsc() -> None:
    builder, forced = builder_and("text = x\nforced-smsc = out")
    [m] = builder.messages(forced, ReplyContent(b"x"), phone="1", sender="2", smsc_id="sink",
                           now=NOW)
    assert m.smsc_id == "out"
    builder, default = builder_and("text = x\ndefault-smsc = out")
    [m] = builder.messages(default, ReplyContent(b"x"), phone="1", sender="2", smsc_id="",
                           now=NOW)
    assert m.smsc_id == "out"


def test_empty_replies() -> None:
    builder, service = builder_and("text = x", smsbox="reply-emptymessage = Nothing")
    [m] = builder.messages(service, ReplyContent(b""), phone="1", sender="2", smsc_id="s",
                           now=NOW)
    assert m.payload == b"Nothing"
    builder, omit = builder_and("text = x\nomit-empty = true")
    assert builder.messages(omit, ReplyContent(b""), phone="1", sender="2", smsc_id="s",
                            now=NOW) == []


def test_max_messages_zero_sends_nothing() -> None:
    builder, service = builder_and("text = x\nmax-messages = 0")
    assert builder.messages(service, ReplyContent(b"hi"), phone="1", sender="2", smsc_id="s",
                            now=NOW) == []


def test_long_reply_split_with_the_service_settings() -> None:
    builder, service = builder_and(
        "text = x\nmax-messages = 3\nconcatenation = true\nheader = <\nfooter = >"
    )
    messages = builder.messages(service, ReplyContent(b"a" * 400), phone="1", sender="2",
                                smsc_id="s", now=NOW)
    assert len(messages) == 3
    assert {m.parent_id for m in messages} == {messages[0].id}
    assert all(m.udh[:3] == b"\x05\x00\x03" for m in messages)
    assert messages[0].payload.startswith(b"<")
    builder, single = builder_and("text = x")
    [only] = builder.messages(single, ReplyContent(b"a" * 400), phone="1", sender="2",
                              smsc_id="s", now=NOW)
    assert only.payload == b"a" * 160


def test_request_failed_reply_without_service() -> None:
    builder, _ = builder_and("text = x", smsbox="reply-requestfailed = Sorry")
    [m] = builder.messages(None, ReplyContent(b"Sorry"), phone="1", sender="2", smsc_id="s",
                           now=NOW)
    assert m.payload == b"Sorry" and m.username == ""


def test_unknown_charset_is_could_not_represent() -> None:
    builder, service = builder_and("text = x", smsbox="reply-couldnotrepresent = CNR")
    [m] = builder.messages(service, ReplyContent(b"x", charset="no-such-charset"), phone="1",
                           sender="2", smsc_id="s", now=NOW)
    assert m.payload == b"CNR"


def test_ucs2_reply_with_charset() -> None:
    builder, service = builder_and("text = x\naccept-x-kannel-headers = true")
    content = ReplyContent("Привет".encode("koi8-r"), charset="KOI8-R", numbers={"coding": 2})
    [m] = builder.messages(service, content, phone="1", sender="2", smsc_id="s", now=NOW)
    assert m.coding == DC_UCS2 and m.payload == "Привет".encode("utf-16-be")
