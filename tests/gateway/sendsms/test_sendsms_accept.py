"""From a valid request to queued messages and Kannel's reply (gateway.sendsms.accept).

Payload bytes marked obs. are what Kannel 1.4.5 put into submit_sm.short_message for the
same request (REFERENCE §2.12 and our own runs against the simulator).
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from conftest import make_config
from twisted.internet.defer import Deferred, fail
from twisted.internet.task import Clock

from gateway.config import GatewayConfig
from gateway.message import UNSET, Message
from gateway.queue import MemoryQueue, QueueFull
from gateway.routing import Router
from gateway.sendsms.accept import Acceptor, Reply, payload_of
from gateway.sendsms.params import headers_from_pairs, parse_post, parse_query

AUTH = "username=tester&password=foobar&from=12345"


class Setup:
    """An Acceptor on a real Router and a MemoryQueue, with the SMSC online or not."""

    def __init__(self, config: GatewayConfig, *, online: bool = True, cap: int = 1000) -> None:
        self.online = online
        self.clock = Clock()
        self.clock.advance(1_800_000_000)
        self.queue = MemoryQueue(cap, self.clock)
        self.router = Router(
            config.smscs,
            lambda key: self.online,
            unified_prefix=config.core.unified_prefix or "",
        )
        self.acceptor = Acceptor(config, self.router, self.queue, self.clock)

    def get(self, query: str) -> Reply:
        replies: list[Reply] = []
        request = parse_query(f"/cgi-bin/sendsms?{query}".encode())
        self.acceptor.handle(request, "127.0.0.1").addCallback(replies.append)
        assert len(replies) == 1, "the MemoryQueue fires at once"
        return replies[0]

    def taken(self) -> list[Message]:
        return self.queue.take(10_000)


def setup(*groups: str, smsbox: str = "", **kw: object) -> Setup:
    return Setup(make_config(*groups, smsbox=smsbox), **kw)  # type: ignore[arg-type]


def sent(query: str, *groups: str) -> list[Message]:
    """The messages one accepted GET produced."""
    s = setup(*groups)
    reply = s.get(f"{AUTH}&{query}")
    assert (reply.status, reply.body) == (202, "0: Accepted for delivery"), reply
    return s.taken()


def one(query: str, *groups: str) -> Message:
    messages = sent(query, *groups)
    assert len(messages) == 1
    return messages[0]


# --- coding and charset → payload (§2.12) ---------------------------------------------------


@pytest.mark.parametrize(
    ("query", "coding", "payload"),
    [
        ("text=Hello+world", 0, b"Hello world"),
        # obs.: GSM default alphabet, unpacked
        ("text=%40%C2%A3%24%C2%A5%C3%A8", 0, bytes.fromhex("0001020304")),
        ("text=%E2%82%AC%7B%7D", 0, bytes.fromhex("1b651b281b29")),  # € { }
        ("text=%D0%96%C3%AF", 0, b"??"),  # obs.: Cyrillic and ï are not GSM
        ("text=%E9&charset=ISO-8859-1", 0, b"\x05"),  # obs.
        ("text=a%E9bcd", 0, b"a?d"),  # obs.: Kannel's UTF-8 reader swallows 'bc'
        ("text=a%E9bcd&charset=UTF-8", 0, b"a?d"),  # obs.
        ("text=a%FFbcd&charset=ISO-8859-5", 0, b"a?bcd"),  # obs.
        ("text=ab&coding=2", 2, b"ab"),  # obs.: no charset → octets unchanged
        ("text=%C3%A9&coding=2&charset=UTF-8", 2, b"\x00\xe9"),  # obs.
        ("text=%E9&coding=1", 1, b"\xe9"),  # obs.
        ("text=%E9&coding=1&charset=UTF-8", 1, b"\xe9"),  # obs.: never converted
        ("text=ab&coding=4294967298", 2, b"ab"),  # obs.: sscanf keeps the low 32 bits
        ("text=ab&coding=99999999999999999999", 0, b"ab"),  # obs.
        ("", 0, b""),  # obs.: no text is an empty SMS
    ],
)
def test_payload_per_coding_and_charset(query: str, coding: int, payload: bytes) -> None:
    message = one(f"to=4670000001&{query}")
    assert (message.coding, message.payload) == (coding, payload)


def test_udh_without_coding_is_8bit_and_carried_apart() -> None:
    message = one("to=1&text=ab&udh=%06%05%04%0B%84%23%F0")
    assert (message.coding, message.udh, message.payload) == (
        1,
        bytes.fromhex("0605040b8423f0"),
        b"ab",
    )


def test_post_text_plain_defaults_to_iso_8859_1() -> None:
    # obs.: é posted as UTF-8 in text/plain without charset, coding 2 → 00C3 00A9
    s = setup()
    headers = [
        ("Content-Type", "text/plain"),
        ("X-Kannel-Username", "tester"),
        ("X-Kannel-Password", "foobar"),
        ("X-Kannel-From", "1"),
        ("X-Kannel-To", "4670000020"),
        ("X-Kannel-Coding", "2"),
    ]
    request = parse_post(
        headers_from_pairs((n.encode(), v.encode()) for n, v in headers), "é".encode()
    )
    replies: list[Reply] = []
    s.acceptor.handle(request, "127.0.0.1").addCallback(replies.append)
    assert replies[0].status == 202
    assert s.taken()[0].payload == bytes.fromhex("00c300a9")


def test_post_octet_stream_sends_octets() -> None:
    s = setup()
    headers = [
        ("X-Kannel-Username", "tester"),
        ("X-Kannel-Password", "foobar"),
        ("X-Kannel-From", "1"),
        ("X-Kannel-To", "4670000021"),
        ("X-Kannel-Coding", "2"),
    ]
    request = parse_post(
        headers_from_pairs((n.encode(), v.encode()) for n, v in headers), b"\xc3\xa9"
    )
    s.acceptor.handle(request, "127.0.0.1")
    message = s.taken()[0]
    assert (message.coding, message.payload) == (2, b"\xc3\xa9")  # obs.


def test_xml_declared_latin1_is_converted_twice_like_kannel() -> None:
    # obs.: libxml2 hands over UTF-8, smsbox converts it again from ISO-8859-1: "Ã©" → "??"
    s = setup()
    body = (
        b'<?xml version="1.0" encoding="ISO-8859-1"?><message><submit>'
        b"<da><number>4670000035</number></da><oa><number>12345</number></oa><ud>\xe9</ud>"
        b"<from><username>tester</username><password>foobar</password></from>"
        b"</submit></message>"
    )
    request = parse_post({b"Content-Type": [b"text/xml"]}, body)
    s.acceptor.handle(request, "127.0.0.1")
    assert s.taken()[0].payload == b"??"


def test_payload_of_is_the_single_conversion_point() -> None:
    assert payload_of(b"Hi", 0, None) == b"Hi"
    assert payload_of("Hi".encode("utf-16-be"), 2, "UTF-16BE") == b"\x00H\x00i"


# --- splitting (§2.11) -----------------------------------------------------------------------

CONCAT = """\
group = sendsms-user
username = multi
password = pw
max-messages = 10
concatenation = true
"""

NOCAT = """\
group = sendsms-user
username = nocat
password = pw
max-messages = 3
split-chars = " "
split-suffix = "+"
header = "H:"
footer = ":F"
"""


def test_default_max_messages_cuts_a_long_text_to_one_sms() -> None:
    message = one("to=1&text=" + "x" * 200)  # obs.: one 160-character SMS
    assert message.payload == b"x" * 160
    assert (message.part, message.parts, message.udh) == (1, 1, b"")


def test_concatenation_parts_carry_the_concatenation_udh() -> None:
    s = setup(CONCAT)
    s.get("user=multi&pass=pw&from=1&to=4670000072&text=" + "x" * 200)
    parts = s.taken()
    assert [len(p.payload) for p in parts] == [153, 47]  # obs.: 2 submits
    ref = parts[0].udh[3]
    assert [p.udh for p in parts] == [bytes((5, 0, 3, ref, 2, 1)), bytes((5, 0, 3, ref, 2, 2))]
    assert [(p.part, p.parts) for p in parts] == [(1, 2), (2, 2)]
    assert len({p.parent_id for p in parts}) == 1
    assert parts[0].parent_id == parts[0].id != parts[1].id


def test_concatenation_reference_moves_on_between_messages() -> None:
    s = setup(CONCAT)
    for _ in range(2):
        s.get("user=multi&pass=pw&from=1&to=1&text=" + "x" * 200)
    first, _, third, _ = s.taken()
    assert first.udh[3] != third.udh[3]


def test_max_messages_drops_parts_silently() -> None:
    s = setup(CONCAT)
    reply = s.get("user=multi&pass=pw&from=1&to=1&text=" + "x" * 1700)
    assert (reply.status, reply.body) == (202, "0: Accepted for delivery")  # obs.
    parts = s.taken()
    assert len(parts) == 10
    assert sum(len(p.payload) for p in parts) == 1530


def test_split_chars_suffix_header_footer_without_concatenation() -> None:
    # obs.: exactly these three submits from Kannel 1.4.5 (user nocat)
    text = "+".join(f"word{i:03d}" for i in range(60))
    s = setup(NOCAT)
    s.get(f"user=nocat&pass=pw&from=1&to=4670000070&text={text}")
    words = [f"word{i:03d}" for i in range(60)]
    assert [p.payload for p in s.taken()] == [
        ("H:" + " ".join(words[0:19]) + " :F+").encode(),
        ("H:" + " ".join(words[19:38]) + " :F+").encode(),
        ("H:" + " ".join(words[38:57]) + " :F").encode(),
    ]


def test_max_messages_zero_sends_nothing_but_answers() -> None:
    s = setup("group = sendsms-user\nusername = zero\npassword = pw\nmax-messages = 0")
    reply = s.get("user=zero&pass=pw&from=1&to=4670&text=x")
    assert (reply.status, reply.body, reply.messages) == (202, "0: Accepted for delivery", 0)
    assert s.taken() == []


# --- one message per receiver ----------------------------------------------------------------


def test_every_receiver_gets_its_message() -> None:
    messages = sent("to=4670000001+4670000002&text=hi")
    assert [m.receiver for m in messages] == ["4670000001", "4670000002"]
    assert len({m.id for m in messages}) == 2
    assert all(m.parent_id == m.id for m in messages)


def test_partly_denied_receivers_are_still_accepted() -> None:
    s = setup()
    reply = s.get(f"{AUTH}&to=4670+abc&text=hi")
    assert (reply.status, reply.body) == (202, "0: Accepted for delivery")  # obs.
    assert [m.receiver for m in s.taken()] == ["4670"]
    assert reply.valid is not None and reply.valid.denied == ("abc",)


def test_message_fields_come_from_the_request() -> None:
    message = one(
        "to=1&text=t&mclass=1&mwi=2&compress=1&alt-dcs=1&pid=64&rpi=1&validity=5&deferred=6"
        "&priority=2&dlr-mask=31&dlr-url=http://h/%3Fd%3D%25d&account=acc&binfo=bi"
        "&meta-data=%3Fsmpp%3Fx%3Dy&smsc=sim&charset=UTF-8"
    )
    assert (message.sender, message.username, message.account) == ("12345", "tester", "acc")
    assert (message.mclass, message.mwi, message.compress, message.alt_dcs) == (1, 2, 1, 1)
    assert (message.pid, message.rpi, message.validity, message.deferred) == (64, 1, 5, 6)
    assert (message.priority, message.dlr_mask, message.dlr_url) == (2, 31, "http://h/?d=%d")
    assert (message.binfo, message.meta_data, message.smsc_id) == ("bi", "?smpp?x=y", "sim")
    assert (message.charset, message.created) == ("UTF-8", 1_800_000_000)


def test_unset_fields_keep_kannels_defaults() -> None:
    message = one("to=1&text=t")
    assert (message.mclass, message.mwi, message.compress, message.rpi) == (UNSET,) * 4
    assert (message.validity, message.deferred, message.priority) == (UNSET,) * 3
    assert (message.alt_dcs, message.pid, message.dlr_mask, message.dlr_url) == (0, 0, 0, "")
    assert (message.smsc_id, message.charset) == ("", "")


def test_dlr_url_falls_back_to_the_users() -> None:
    user = 'group = sendsms-user\nusername = d\npassword = pw\ndlr-url = "http://u/?d=%d"'
    s = setup(user)
    s.get("user=d&pass=pw&from=1&to=1&dlr-mask=8")
    s.get("user=d&pass=pw&from=1&to=1&dlr-mask=8&dlr-url=http://mine/")
    assert [m.dlr_url for m in s.taken()] == ["http://u/?d=%d", "http://mine/"]


def test_forced_smsc_reaches_the_message() -> None:
    user = "group = sendsms-user\nusername = f\npassword = pw\nforced-smsc = sim"
    s = setup(user)
    s.get("user=f&pass=pw&from=1&to=1&smsc=other")
    assert s.taken()[0].smsc_id == "sim"


LANES = """\
group = sendsms-user
username = lanes
password = pw

group = passerelle-user
username = lanes
default-lane = 1
max-lane = 2

group = sendsms-user
username = bulk
password = pw

group = passerelle-user
username = bulk
forced-lane = 0
"""


def test_priority_and_lanes() -> None:
    s = setup(LANES)
    s.get("user=lanes&pass=pw&from=1&to=1")
    s.get("user=lanes&pass=pw&from=1&to=2&priority=3")
    s.get("user=lanes&pass=pw&from=1&to=3&priority=0")
    s.get("user=bulk&pass=pw&from=1&to=4&priority=3")
    s.get(f"{AUTH}&to=5")
    by_receiver = {m.receiver: m.priority for m in s.taken()}
    assert by_receiver == {"1": 1, "2": 2, "3": 0, "4": 0, "5": UNSET}


# --- routing and queueing ----------------------------------------------------------------


def test_no_smsc_online_is_queued_for_later() -> None:
    s = setup(online=False)
    reply = s.get(f"{AUTH}&to=1&text=x")
    assert (reply.status, reply.body) == (202, "3: Queued for later delivery")
    assert len(s.taken()) == 1


ROUTED = """\
group = smsc
smsc = smpp
smsc-id = se
host = 127.0.0.1
port = 2776
smsc-username = a
smsc-password = b
system-type = ""
address-range = ""
allowed-prefix = "46"
"""


def routed_setup(**kw: object) -> Setup:
    config = make_config(ROUTED)
    # route over the `se` group alone: it takes receivers starting with 46 only
    s = Setup(config, **kw)  # type: ignore[arg-type]
    s.router = Router(config.smscs[1:], lambda key: s.online)
    s.acceptor.router = s.router
    return s


def test_not_routable_is_403_and_nothing_is_queued() -> None:
    s = routed_setup()
    reply = s.get(f"{AUTH}&to=4470&text=x")
    assert (reply.status, reply.body) == (403, "Not routable. Do not try again.")
    assert s.taken() == []


def test_the_first_receiver_decides_the_answer_but_routable_ones_are_sent() -> None:
    s = routed_setup()
    reply = s.get(f"{AUTH}&to=4470+4670&text=x")
    assert reply.status == 403
    assert [m.receiver for m in s.taken()] == ["4670"]
    s = routed_setup()
    reply = s.get(f"{AUTH}&to=4670+4470&text=x")
    assert (reply.status, reply.body) == (202, "0: Accepted for delivery")
    assert [m.receiver for m in s.taken()] == ["4670"]


def test_receiver_is_normalised_by_the_core_unified_prefix() -> None:
    s = Setup(make_config())
    s.router.unified_prefix = "+46,0046,046"
    s.get(f"{AUTH}&to=004670000001&text=x")
    assert s.taken()[0].receiver == "+4670000001"


def test_a_full_queue_is_503_and_stores_nothing() -> None:
    s = setup(cap=1)
    reply = s.get(f"{AUTH}&to=1+2&text=x")
    assert (reply.status, reply.body) == (503, "Temporal failure, try again later.")
    assert s.taken() == []


class SlowQueue:
    """A queue whose put fires only when told: the spool's group commit."""

    def __init__(self) -> None:
        self.puts: list[tuple[Sequence[Message], Deferred[None]]] = []

    def put(self, messages: Sequence[Message]) -> Deferred[None]:
        d: Deferred[None] = Deferred()
        self.puts.append((messages, d))
        return d


def slow_setup(queue: object) -> tuple[Acceptor, list[Reply]]:
    config = make_config()
    router = Router(config.smscs, lambda key: True)
    acceptor = Acceptor(config, router, queue, Clock())  # type: ignore[arg-type]
    return acceptor, []


def test_the_reply_waits_until_the_queue_has_stored_the_batch() -> None:
    queue = SlowQueue()
    acceptor, replies = slow_setup(queue)
    request = parse_query(f"/s?{AUTH}&to=1+2&text=x".encode())
    acceptor.handle(request, "127.0.0.1").addCallback(replies.append)
    assert replies == []
    assert len(queue.puts) == 1 and len(queue.puts[0][0]) == 2  # one put for the request
    queue.puts[0][1].callback(None)
    assert (replies[0].status, replies[0].body) == (202, "0: Accepted for delivery")


def test_a_queue_full_failure_from_the_deferred_is_503() -> None:
    queue = SlowQueue()
    acceptor, replies = slow_setup(queue)
    acceptor.handle(parse_query(f"/s?{AUTH}&to=1".encode()), "ip").addCallback(replies.append)
    queue.puts[0][1].errback(QueueFull("full"))
    assert (replies[0].status, replies[0].body) == (503, "Temporal failure, try again later.")


def test_a_broken_store_is_sending_failed() -> None:
    queue = SlowQueue()
    acceptor, replies = slow_setup(queue)
    acceptor.handle(parse_query(f"/s?{AUTH}&to=1".encode()), "ip").addCallback(replies.append)
    queue.puts[0][1].errback(OSError("disk"))
    assert (replies[0].status, replies[0].body) == (500, "Sending failed.")


def test_a_broken_store_names_the_failed_receivers_of_a_multi_request() -> None:
    class Broken:
        def put(self, messages: Sequence[Message]) -> Deferred[None]:
            raise OSError("disk")

    acceptor, replies = slow_setup(Broken())
    request = parse_query(f"/s?{AUTH}&to=4670+abc+4671".encode())
    acceptor.handle(request, "ip").addCallback(replies.append)
    assert (replies[0].status, replies[0].body) == (
        500,
        "Sending failed. Failed receivers are: 4670 4671",
    )


def test_a_failed_put_deferred_with_one_receiver() -> None:
    class Failing:
        def put(self, messages: Sequence[Message]) -> Deferred[None]:
            return fail(RuntimeError("spool"))

    acceptor, replies = slow_setup(Failing())
    acceptor.handle(parse_query(f"/s?{AUTH}&to=1".encode()), "ip").addCallback(replies.append)
    assert replies[0].body == "Sending failed."


def test_immediate_sendsms_reply_says_sent() -> None:
    s = setup(CONCAT, smsbox="immediate-sendsms-reply = true")
    reply = s.get("user=multi&pass=pw&from=1&to=4670+abc&text=" + "x" * 200)
    assert (reply.status, reply.body) == (202, "Sent. Denied receivers are: abc Message splits: 2")
    assert s.get("user=multi&pass=pw&from=1&to=4670&text=x").body == "Sent."


# --- refusals --------------------------------------------------------------------------------


def test_refusals_say_whether_the_access_log_hears_of_them() -> None:
    s = setup()
    auth = s.get("username=tester&password=bad&to=1")
    assert (auth.status, auth.failure, auth.valid) == (403, None, None)
    field = s.get(f"{AUTH}&to=1&mclass=9")
    assert (field.status, field.failure) == (400, "MClass field misformed, rejected")
    assert s.taken() == []


def test_the_acceptor_loads_configured_lists_itself(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "black.txt"
    path.write_text("4671\n")
    s = setup(smsbox=f'black-list = "{path.as_uri()}"')
    reply = s.get(f"{AUTH}&to=4670+4671&text=x")
    assert reply.status == 202
    assert [m.receiver for m in s.taken()] == ["4670"]
