"""The per-smsc encoder options (ours): national language tables and packed septets, from
kannel.conf through sendsms acceptance to the submit_sm bytes; and the status field that
says which encoder runs."""

from __future__ import annotations

import pytest
from twisted.internet.task import Clock

import native
from gateway.config import load_config_text
from gateway.config.errors import ConfigError
from gateway.message import Message
from gateway.queue import MemoryQueue
from gateway.routing import Router
from gateway.sendsms.accept import Acceptor
from gateway.sendsms.params import parse_query
from gateway.status import status_snapshot
from gateway.submit import SubmitProfile, national_tables, submit_sm_for
from protocols.sms.gsm import pack7, to_gsm

BASE = """\
group = core
admin-port = 13000
admin-password = secret
smsbox-port = 13001

group = smsbox
bearerbox-host = 127.0.0.1
sendsms-port = 13013

group = sendsms-user
username = tester
password = foobar
max-messages = 10
concatenation = true
"""


def smsc(smsc_id: str, extra: str = "", port: int = 2775) -> str:
    return (
        f"group = smsc\nsmsc = smpp\nsmsc-id = {smsc_id}\nhost = 127.0.0.1\nport = {port}\n"
        f"smsc-username = u\nsmsc-password = p\nsystem-type = \"\"\n{extra}"
    )


def config(*groups: str):  # type: ignore[no-untyped-def]
    return load_config_text(BASE + "\n" + "\n".join(groups))


def test_keys_take_names_or_numbers() -> None:
    cfg = config(
        smsc("tr", "national-locking-shift = Turkish\nnational-single-shift = 1\n"
                   "packed-septets = true\n"),
        smsc("es", "national-single-shift = spanish\n", 2776),
        smsc("plain", port=2777),
    )  # fmt: skip
    tr, es, plain = cfg.smscs
    assert (tr.national_locking_shift, tr.national_single_shift, tr.packed_septets) == (1, 1, True)
    assert (es.national_locking_shift, es.national_single_shift) == (0, 2)
    assert (plain.national_locking_shift, plain.national_single_shift) == (0, 0)
    assert plain.packed_septets is False
    assert national_tables(cfg.smscs) == {"tr": (1, 1), "es": (0, 2)}
    profile = SubmitProfile.from_smsc(tr)
    assert profile.packed_septets and profile.national_locking_shift == 1


@pytest.mark.parametrize(
    "line", ["national-locking-shift = spanish", "national-single-shift = klingon"]
)
def test_keys_refuse_tables_we_do_not_have(line: str) -> None:
    with pytest.raises(ConfigError, match=line.split(" =")[0]):
        config(smsc("x", line + "\n"))


def test_groups_that_disagree_get_no_tables() -> None:
    cfg = config(
        smsc("tr", "national-locking-shift = turkish\n"),
        smsc("tr", "national-locking-shift = portuguese\n", 2776),
    )
    assert national_tables(cfg.smscs) == {}


def accepted(query: str, *groups: str) -> list[Message]:
    cfg = config(*groups)
    clock = Clock()
    queue = MemoryQueue(1000, clock)
    acceptor = Acceptor(cfg, Router(cfg.smscs, lambda key: True), queue, clock)
    request = parse_query(f"/cgi-bin/sendsms?username=tester&password=foobar&from=1&{query}"
                          .encode())  # fmt: skip
    replies: list[object] = []
    acceptor.handle(request, "127.0.0.1").addCallback(replies.append)
    assert replies and getattr(replies[0], "status", None) == 202, replies
    return queue.take(100)


TURKISH = "%C5%9Fe%C4%9Fi"  # "şeği"


def test_sendsms_to_an_smsc_with_national_tables() -> None:
    group = smsc("tr", "national-locking-shift = turkish\nnational-single-shift = turkish\n")
    [message] = accepted(f"to=1&smsc=tr&text={TURKISH}", group)
    assert message.payload == to_gsm("şeği", locking=1, single=1) == b"\x1de\x0ci"
    assert message.udh == bytes.fromhex("06 240101 250101")
    assert message.coding == 0


def test_long_text_keeps_the_national_ies_beside_the_concatenation() -> None:
    group = smsc("tr", "national-single-shift = turkish\n")
    parts = accepted(f"to=1&smsc=tr&text={TURKISH * 60}", group)
    # ş and ğ are escapes: 6 septets × 60; 149 fit beside 9 octets of UDH, and no cut
    # falls inside an escape pair
    assert [len(p.payload) for p in parts] == [149, 148, 63]
    assert all(p.udh[:4] == bytes.fromhex("08 240101") for p in parts)
    assert [p.udh[6:] for p in parts][0][-2:] == bytes((3, 1))


def test_without_an_smsc_id_the_text_is_kannels() -> None:
    group = smsc("tr", "national-locking-shift = turkish\n")
    [message] = accepted(f"to=1&text={TURKISH}", group)
    assert message.payload == b"?e?i" and message.udh == b""


def test_packed_septets_after_the_udh_fill_bits() -> None:
    profile = SubmitProfile(packed_septets=True)
    udh = bytes.fromhex("050003070201")
    long = Message("a", "a", "1", "2", b"hellohello", udh=udh)
    assert submit_sm_for(long, profile, now=0).params["short_message"] == udh + pack7(
        b"hellohello", 1
    )
    plain = Message("b", "b", "1", "2", b"hellohello")
    wire = submit_sm_for(plain, profile, now=0).params["short_message"]
    assert wire == bytes.fromhex("e8329bfd4697d9ec37")
    binary = Message("c", "c", "1", "2", b"\x01\x02", coding=1)
    assert submit_sm_for(binary, profile, now=0).params["short_message"] == b"\x01\x02"
    assert submit_sm_for(plain, SubmitProfile(), now=0).params["short_message"] == b"hellohello"


def test_status_says_which_encoder_runs() -> None:
    """A gateway built (not started) from a configuration reports the encoder in use."""
    from twisted.internet import reactor

    from gateway.service import GatewayService

    cfg = load_config_text(
        "group = core\nadmin-port = 13999\nadmin-interface = 127.0.0.1\n"
        "admin-password = secret\n\n" + smsc("down", "transceiver-mode = true\n")
    )
    snapshot = status_snapshot(GatewayService(cfg, reactor), now=0)
    assert snapshot["encoder"] == native.IMPLEMENTATION
    assert native.IMPLEMENTATION in ("c", "python")
