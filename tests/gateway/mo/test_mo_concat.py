"""Concatenated MO reassembly: in order, out of order, duplicates, 16-bit refs, timeout, bounds."""

from __future__ import annotations

from mo_support import make_config, part
from twisted.internet.task import Clock

from gateway.mo.concat import Held, Reassembler, Whole, concat_info
from gateway.mo.inbound import InboundSms, inbound_sms
from protocols.smpp.pdu import Pdu

SMSC = make_config().smscs[0]
_ids = iter(range(10**6))


def sms_of(pdu: Pdu, smsc_id: str = "sink") -> InboundSms:
    return inbound_sms(
        pdu, smsc_id=smsc_id, account="esme", message_id=f"m{next(_ids)}", now=0.0, smsc=SMSC
    )


class Given:
    def __init__(self) -> None:
        self.clock = Clock()
        self.given: list[list[InboundSms]] = []
        self.r = Reassembler(self.clock, self.given.append, timeout=1800, max_groups=3,
                             max_bytes=10_000)


def test_concat_info_reads_8_and_16_bit_references() -> None:
    assert concat_info(b"\x05\x00\x03\x07\x02\x01") == concat_info(b"\x05\x00\x03\x07\x02\x01")
    info = concat_info(b"\x06\x08\x04\x12\x34\x03\x02")
    assert info is not None and (info.ref, info.total, info.seq, info.rest) == (0x1234, 3, 2, b"")
    ports = b"\x0b\x05\x04\x0b\x84\x23\xf0\x00\x03\x09\x02\x01"
    info = concat_info(ports)
    assert info is not None and info.rest == b"\x06\x05\x04\x0b\x84\x23\xf0"
    assert concat_info(b"\x05\x00\x03\x07\x02\x03") is None  # seq > total
    assert concat_info(b"\x05\x00\x03\x07\x02\x00") is None  # seq 0
    assert concat_info(b"\x04\x05\x02\x00\x00") is None  # no concatenation IE


def test_in_order() -> None:
    g = Given()
    assert isinstance(g.r.add(sms_of(part(7, 3, 1, b"Hello "))), Held)
    assert isinstance(g.r.add(sms_of(part(7, 3, 2, b"big "))), Held)
    whole = g.r.add(sms_of(part(7, 3, 3, b"world")))
    assert isinstance(whole, Whole)
    assert whole.sms.text == b"Hello big world" and whole.sms.udh == b""
    assert whole.sms.id not in {p.id for p in whole.parts}
    assert g.r.pending == 0 and g.r.held_bytes == 0 and not g.clock.getDelayedCalls()


def test_out_of_order_and_16_bit() -> None:
    g = Given()
    assert isinstance(g.r.add(sms_of(part(0x1234, 2, 2, b"world", wide=True))), Held)
    whole = g.r.add(sms_of(part(0x1234, 2, 1, b"Hello ", wide=True)))
    assert isinstance(whole, Whole) and whole.sms.text == b"Hello world"


def test_escape_split_between_parts_is_decoded_once() -> None:
    g = Given()
    g.r.add(sms_of(part(1, 2, 1, b"price 5\x1b")))
    whole = g.r.add(sms_of(part(1, 2, 2, b"\x65")))
    assert isinstance(whole, Whole) and whole.sms.text == "price 5€".encode()


def test_ucs2_surrogate_pair_split_between_parts() -> None:
    g = Given()
    data = "a😀".encode("utf-16-be")
    g.r.add(sms_of(part(1, 2, 1, data[:4], data_coding=8)))
    whole = g.r.add(sms_of(part(1, 2, 2, data[4:], data_coding=8)))
    assert isinstance(whole, Whole) and whole.sms.keyword_text == "a😀"


def test_duplicate_part_is_ignored() -> None:
    g = Given()
    g.r.add(sms_of(part(7, 2, 1, b"one ")))
    again = g.r.add(sms_of(part(7, 2, 1, b"ONE ")))
    assert again == Held(duplicate=True)
    whole = g.r.add(sms_of(part(7, 2, 2, b"two")))
    assert isinstance(whole, Whole) and whole.sms.text == b"one two"


def test_groups_are_kept_apart_by_sender_receiver_smsc_and_total() -> None:
    g = Given()
    g.r.add(sms_of(part(7, 2, 1, b"a")))
    g.r.add(sms_of(part(7, 2, 1, b"b", source=b"46700000002")))
    g.r.add(sms_of(part(7, 2, 1, b"c", dest=b"999")))
    assert g.r.pending == 3
    assert isinstance(g.r.add(sms_of(part(7, 3, 2, b"d"))), Held)  # other total: other group
    assert g.r.pending == 3  # the bound (3 groups) gave up the oldest
    assert [p.text for p in g.given[0]] == [b"a"]


def test_not_a_part_passes_through() -> None:
    g = Given()
    assert g.r.add(sms_of(part(7, 1, 2, b"bad seq"))) is None


def test_timeout_gives_the_parts_up_one_by_one_from_the_last_part_received() -> None:
    g = Given()
    g.r.add(sms_of(part(7, 3, 1, b"one")))
    g.clock.advance(1000)
    g.r.add(sms_of(part(7, 3, 3, b"three")))
    g.clock.advance(1799)
    assert g.given == [] and g.r.pending == 1
    g.clock.advance(1)
    assert [[p.text for p in parts] for parts in g.given] == [[b"one", b"three"]]
    assert g.given[0][0].udh == b"\x05\x00\x03\x07\x03\x01"  # each keeps its own UDH
    assert g.r.pending == 0 and g.r.held_bytes == 0


def test_byte_bound_gives_up_the_oldest_groups() -> None:
    g = Given()
    g.r.max_bytes = 1300
    g.r.add(sms_of(part(1, 2, 1, b"x" * 100)))
    g.r.add(sms_of(part(2, 2, 1, b"y" * 100)))
    g.r.add(sms_of(part(3, 2, 1, b"z" * 250)))
    assert [p.text[:1] for parts in g.given for p in parts] == [b"x"]
    assert g.r.held_bytes <= 1300 and g.r.pending == 2


def test_flush_gives_everything_up() -> None:
    g = Given()
    g.r.add(sms_of(part(1, 2, 1, b"a")))
    g.r.add(sms_of(part(2, 2, 1, b"b")))
    g.r.flush()
    assert len(g.given) == 2 and g.r.pending == 0 and not g.clock.getDelayedCalls()


def test_restore_keeps_all_parts_but_the_last() -> None:
    g = Given()
    g.r.add(sms_of(part(7, 2, 1, b"one ")))
    last = sms_of(part(7, 2, 2, b"two"))
    whole = g.r.add(last)
    assert isinstance(whole, Whole)
    g.r.restore(whole, last)
    assert g.r.pending == 1
    again = g.r.add(sms_of(part(7, 2, 2, b"two")))
    assert isinstance(again, Whole) and again.sms.text == b"one two"
