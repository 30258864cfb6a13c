"""The framer against bad input, one test per case of Cloudhopper's decoder test list.

Each faulty PDU is followed by a good one in the same read wherever the stream keeps its
boundaries, to show that framing carries on after a per-PDU error; every error is turned into
its answer with `error_reply` and checked to carry the offending PDU's sequence number.
"""

from __future__ import annotations

import struct
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocols.smpp import constants as c
from protocols.smpp.framer import DEFAULT_MAX_LENGTH, Framer
from protocols.smpp.pdu import HEADER, Pdu, SmppError, decode, encode, error_reply

settings.register_profile(
    "smpp-framer",
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FRAMER = settings.get_profile("smpp-framer")

ENQUIRE = encode(Pdu(c.ENQUIRE_LINK, 0x5151))
MARK = b"\xfe\xfd\xfc"  # a C-string value that appears nowhere else in the test PDUs


def submit_sm(seq: int = 7, **params: Any) -> Pdu:
    base: dict[str, Any] = {
        "source_addr": b"Bank",
        "destination_addr": b"447911123456",
        "short_message": b"hello",
    }
    base.update(params)
    return Pdu(c.SUBMIT_SM, seq, params=base)


def with_body(command_id: int, seq: int, body: bytes, status: int = 0) -> bytes:
    """A PDU with a hand-made body and a command_length that matches it."""
    return HEADER.pack(16 + len(body), command_id, status, seq) + body


def only_error(items: list[Pdu | SmppError]) -> SmppError:
    assert len(items) >= 1
    err = items[0]
    assert isinstance(err, SmppError), items
    return err


def assert_answer(err: SmppError, command_id: int, status: int, seq: int) -> None:
    """error_reply turns the error into `command_id` with this status and sequence number."""
    reply = error_reply(err)
    assert (reply.command_id, reply.command_status, reply.sequence_number) == (
        command_id,
        status,
        seq,
    )
    assert decode(encode(reply)) == reply


def assert_then_enquire_link(items: list[Pdu | SmppError]) -> None:
    """The good PDU after a recoverable fault is decoded: framing kept its boundaries."""
    assert len(items) == 2, items
    good = items[1]
    assert isinstance(good, Pdu)
    assert (good.command_id, good.sequence_number) == (c.ENQUIRE_LINK, 0x5151)


# -- short reads -----------------------------------------------------------------------------


def test_fewer_than_4_octets_wait() -> None:
    """1-3 octets give nothing and are kept until the rest arrives."""
    framer = Framer()
    assert framer.feed(ENQUIRE[:3]) == []
    assert framer.buffered == 3
    assert not framer.broken
    (pdu,) = framer.feed(ENQUIRE[3:])
    assert isinstance(pdu, Pdu) and pdu.sequence_number == 0x5151
    assert framer.buffered == 0


def test_exactly_4_octets_of_a_good_length_wait() -> None:
    """A plausible command_length alone is not enough: wait for the PDU."""
    framer = Framer()
    assert framer.feed(ENQUIRE[:4]) == []
    assert framer.buffered == 4
    (pdu,) = framer.feed(ENQUIRE[4:])
    assert isinstance(pdu, Pdu) and pdu.command_id == c.ENQUIRE_LINK


def test_exactly_4_octets_of_a_bad_length_are_fatal_at_once() -> None:
    """A command_length below 16 is refused as soon as its 4 octets are in: nothing to wait for."""
    framer = Framer()
    err = only_error(framer.feed(struct.pack(">I", 5)))
    assert err.fatal and err.status == c.ESME_RINVCMDLEN
    assert_answer(err, c.GENERIC_NACK, c.ESME_RINVCMDLEN, 0)
    assert framer.broken


def test_fewer_than_16_octets_wait() -> None:
    """A header cut short is kept; the PDU decodes when its last octets come."""
    framer = Framer()
    assert framer.feed(ENQUIRE[:10]) == []
    assert framer.buffered == 10
    (pdu,) = framer.feed(ENQUIRE[10:])
    assert isinstance(pdu, Pdu)


# -- command_length out of bounds: fatal ----------------------------------------------------


@pytest.mark.parametrize("length", [0, 15, 0xFFFFFFFF], ids=["zero", "fifteen", "0xFFFFFFFF"])
def test_bad_command_length_is_fatal(length: int) -> None:
    """command_length 0, 15 or 0xFFFFFFFF: generic_nack RINVCMDLEN, framer broken."""
    framer = Framer()
    wire = struct.pack(">IIII", length, c.SUBMIT_SM, 0, 77) + ENQUIRE
    err = only_error(framer.feed(wire))
    assert err.fatal
    assert_answer(err, c.GENERIC_NACK, c.ESME_RINVCMDLEN, 77)
    assert framer.broken
    assert framer.buffered == 0


def test_length_over_configured_max_is_fatal_and_framer_stays_broken() -> None:
    """max_length + 1 is fatal (even for a request: the stream is lost); later input is ignored."""
    framer = Framer(max_length=1024)
    wire = struct.pack(">IIII", 1025, c.SUBMIT_SM, 0, 12)
    items = framer.feed(wire)
    assert len(items) == 1
    err = only_error(items)
    assert err.fatal and err.command_id == c.SUBMIT_SM
    assert_answer(err, c.GENERIC_NACK, c.ESME_RINVCMDLEN, 12)
    assert framer.broken
    assert framer.feed(ENQUIRE) == []
    assert framer.feed(ENQUIRE * 100) == []
    assert framer.buffered == 0


def test_length_equal_to_max_is_accepted() -> None:
    """The bound is inclusive: a PDU of exactly max_length octets decodes."""
    pdu = Pdu(c.DATA_SM, 3, tlvs=[(c.TAG_MESSAGE_PAYLOAD, b"")])
    size = len(encode(pdu))
    pdu.tlvs = [(c.TAG_MESSAGE_PAYLOAD, b"p" * (1024 - size))]
    wire = encode(pdu)
    assert len(wire) == 1024
    (got,) = Framer(max_length=1024).feed(wire)
    assert got == pdu


def test_default_max_length_is_64k() -> None:
    """The default bound leaves room for a large message_payload and no more."""
    assert DEFAULT_MAX_LENGTH == 65536
    err = only_error(Framer().feed(struct.pack(">IIII", 65537, c.DATA_SM, 0, 1)))
    assert err.fatal


def test_max_length_below_a_header_is_refused() -> None:
    with pytest.raises(ValueError):
        Framer(max_length=15)


# -- per-PDU faults: answered, framing continues --------------------------------------------


def test_unknown_command_id_is_skipped_exactly() -> None:
    """RINVCMDID with the PDU's sequence; exactly command_length octets skipped, next decodes.

    The unknown PDU's body is itself a well-formed PDU, so a framer that skipped only the
    header (or resynchronised by searching) would decode it and fail the test.
    """
    inner = encode(Pdu(c.UNBIND, 999))
    wire = with_body(0x00000099, 4321, inner) + ENQUIRE
    framer = Framer()
    items = framer.feed(wire)
    err = only_error(items)
    assert (err.status, err.command_id, err.sequence_number) == (c.ESME_RINVCMDID, 0x99, 4321)
    assert not err.fatal
    assert_answer(err, c.GENERIC_NACK, c.ESME_RINVCMDID, 4321)
    assert_then_enquire_link(items)
    assert framer.buffered == 0 and not framer.broken


def test_unknown_response_id_is_nacked() -> None:
    """An unknown id with the response bit set is refused the same way."""
    items = Framer().feed(with_body(0x80000099, 5, b"") + ENQUIRE)
    err = only_error(items)
    assert_answer(err, c.GENERIC_NACK, c.ESME_RINVCMDID, 5)
    assert_then_enquire_link(items)


def test_two_pdus_in_one_read() -> None:
    """Both come out, in order."""
    first = submit_sm(1)
    second = Pdu(c.DELIVER_SM_RESP, 2, params={"message_id": b""})
    items = Framer().feed(encode(first) + encode(second))
    assert items == [first, second]


def test_one_pdu_split_byte_by_byte() -> None:
    """A PDU fed one octet at a time comes out once, at its last octet."""
    pdu = submit_sm(3, esm_class=0x40).add_tlv("sar_msg_ref_num", 7)
    wire = encode(pdu)
    framer = Framer()
    for i in range(len(wire) - 1):
        assert framer.feed(wire[i : i + 1]) == []
        assert framer.buffered == i + 1
    assert framer.feed(wire[-1:]) == [pdu]
    assert framer.buffered == 0


_STREAM = [
    submit_sm(1),
    Pdu(c.ENQUIRE_LINK, 2),
    Pdu(c.SUBMIT_SM_RESP, 3, params={"message_id": b"abc"}),
    Pdu(c.DATA_SM, 4, tlvs=[(c.TAG_MESSAGE_PAYLOAD, b"x" * 700), (0x1400, b"vendor")]),
    Pdu(c.GENERIC_NACK, 5, c.ESME_RINVCMDID),
    Pdu(c.SUBMIT_MULTI, 6, params={"dest_addresses": [(1, 1, 1, b"1"), (2, b"list")]}),
]


@FRAMER
@given(data=st.data())
def test_random_split_points(data: st.DataObject) -> None:
    """Any way of cutting a stream of PDUs into reads yields the same PDUs in order."""
    wire = b"".join(encode(p) for p in _STREAM)
    cuts = sorted(data.draw(st.sets(st.integers(1, len(wire) - 1), max_size=40)))
    framer = Framer(max_length=1024)
    out: list[Pdu | SmppError] = []
    for start, end in zip([0, *cuts], [*cuts, len(wire)], strict=True):
        out += framer.feed(wire[start:end])
        assert framer.buffered < 1024
    assert out == _STREAM
    assert framer.buffered == 0


def _cut_inside(pdu: Pdu) -> bytes:
    """The PDU with its body ending two octets into the C-string holding MARK (no NUL)."""
    wire = encode(pdu)
    cut = wire.index(MARK) + 2
    body = wire[16:cut]
    return with_body(pdu.command_id, pdu.sequence_number, body)


_TRUNCATED = [
    (Pdu(c.BIND_TRANSMITTER, 10, params={"system_id": MARK}), c.ESME_RINVSYSID,
     c.BIND_TRANSMITTER_RESP),
    (Pdu(c.BIND_RECEIVER, 11, params={"password": MARK}), c.ESME_RINVPASWD,
     c.BIND_RECEIVER_RESP),
    (Pdu(c.BIND_TRANSCEIVER, 12, params={"system_type": MARK}), c.ESME_RINVSYSTYP,
     c.BIND_TRANSCEIVER_RESP),
    (submit_sm(13, service_type=MARK), c.ESME_RINVSERTYP, c.SUBMIT_SM_RESP),
    (submit_sm(14, source_addr=MARK), c.ESME_RINVSRCADR, c.SUBMIT_SM_RESP),
    (submit_sm(15, destination_addr=MARK), c.ESME_RINVDSTADR, c.SUBMIT_SM_RESP),
    (submit_sm(16, schedule_delivery_time=MARK), c.ESME_RINVSCHED, c.SUBMIT_SM_RESP),
    (submit_sm(17, validity_period=MARK), c.ESME_RINVEXPIRY, c.SUBMIT_SM_RESP),
    (Pdu(c.QUERY_SM, 18, params={"message_id": MARK}), c.ESME_RINVMSGID, c.QUERY_SM_RESP),
    (Pdu(c.DATA_SM, 19, params={"destination_addr": MARK}), c.ESME_RINVDSTADR,
     c.DATA_SM_RESP),
    (Pdu(c.SUBMIT_MULTI, 20, params={"dest_addresses": [(1, 1, 1, MARK)]}), c.ESME_RINVDSTADR,
     c.SUBMIT_MULTI_RESP),
    (Pdu(c.SUBMIT_MULTI, 21, params={"dest_addresses": [(2, MARK)]}), c.ESME_RINVDLNAME,
     c.SUBMIT_MULTI_RESP),
    # A response is never answered with its own kind: generic_nack.
    (Pdu(c.SUBMIT_SM_RESP, 22, params={"message_id": MARK}), c.ESME_RINVMSGID,
     c.GENERIC_NACK),
    (Pdu(c.BIND_TRANSCEIVER_RESP, 23, params={"system_id": MARK}), c.ESME_RINVSYSID,
     c.GENERIC_NACK),
]


@pytest.mark.parametrize(
    ("pdu", "status", "answer"),
    _TRUNCATED,
    ids=[f"{p.name}-0x{s:02x}" for p, s, _a in _TRUNCATED],
)
def test_truncated_c_string_status_per_field(pdu: Pdu, status: int, answer: int) -> None:
    """A C-string with no NUL before the end of the PDU gets the status of its field."""
    items = Framer().feed(_cut_inside(pdu) + ENQUIRE)
    err = only_error(items)
    assert (err.status, err.command_id, err.sequence_number) == (
        status,
        pdu.command_id,
        pdu.sequence_number,
    )
    assert not err.fatal
    assert_answer(err, answer, status, pdu.sequence_number)
    assert_then_enquire_link(items)


def test_tlv_overrunning_the_pdu() -> None:
    """A TLV whose length runs past command_length: RINVOPTPARSTREAM in a submit_sm_resp."""
    body = encode(submit_sm(30))[16:] + struct.pack(">HH", c.TAG_MESSAGE_PAYLOAD, 10) + b"abc"
    items = Framer().feed(with_body(c.SUBMIT_SM, 30, body) + ENQUIRE)
    err = only_error(items)
    assert err.status == c.ESME_RINVOPTPARSTREAM
    assert_answer(err, c.SUBMIT_SM_RESP, c.ESME_RINVOPTPARSTREAM, 30)
    assert_then_enquire_link(items)


@pytest.mark.parametrize("stray", [b"\x01", b"\x01\x02", b"\x01\x02\x03"], ids=["1", "2", "3"])
def test_stray_octets_after_mandatory_params(stray: bytes) -> None:
    """1-3 octets cannot be a TLV header: RINVOPTPARSTREAM, answered with the same sequence."""
    body = encode(submit_sm(31))[16:] + stray
    items = Framer().feed(with_body(c.SUBMIT_SM, 31, body) + ENQUIRE)
    err = only_error(items)
    assert err.status == c.ESME_RINVOPTPARSTREAM
    assert_answer(err, c.SUBMIT_SM_RESP, c.ESME_RINVOPTPARSTREAM, 31)
    assert_then_enquire_link(items)


def test_stray_octets_after_a_response_are_nacked() -> None:
    """The same fault in a response is answered with generic_nack."""
    body = b"msgid\0" + b"\xff\xff"
    items = Framer().feed(with_body(c.SUBMIT_SM_RESP, 32, body) + ENQUIRE)
    err = only_error(items)
    assert_answer(err, c.GENERIC_NACK, c.ESME_RINVOPTPARSTREAM, 32)
    assert_then_enquire_link(items)


def test_sm_length_past_the_body() -> None:
    """sm_length larger than what is left of the PDU: RINVMSGLEN."""
    wire = bytearray(encode(submit_sm(33, short_message=b"hello")))
    sm_length_at = len(wire) - len(b"hello") - 1
    assert wire[sm_length_at] == 5
    wire[sm_length_at] = 200
    items = Framer().feed(bytes(wire) + ENQUIRE)
    err = only_error(items)
    assert err.status == c.ESME_RINVMSGLEN
    assert_answer(err, c.SUBMIT_SM_RESP, c.ESME_RINVMSGLEN, 33)
    assert_then_enquire_link(items)


def test_sm_length_shorter_than_the_message() -> None:
    """sm_length smaller than the octets sent: the rest is not a TLV stream."""
    wire = bytearray(encode(submit_sm(34, short_message=b"hello")))
    wire[len(wire) - 6] = 2  # "he" is the message; "llo" would be a 3-octet TLV header
    items = Framer().feed(bytes(wire) + ENQUIRE)
    err = only_error(items)
    assert err.status == c.ESME_RINVOPTPARSTREAM
    assert_answer(err, c.SUBMIT_SM_RESP, c.ESME_RINVOPTPARSTREAM, 34)
    assert_then_enquire_link(items)


def test_body_ending_inside_mandatory_params() -> None:
    """A body that stops after destination_addr (no esm_class...): RINVCMDLEN."""
    wire = encode(submit_sm(35, destination_addr=b"12345"))
    body = wire[16 : wire.index(b"12345\0") + 6]
    items = Framer().feed(with_body(c.SUBMIT_SM, 35, body) + ENQUIRE)
    err = only_error(items)
    assert err.status == c.ESME_RINVCMDLEN
    assert not err.fatal
    assert_answer(err, c.SUBMIT_SM_RESP, c.ESME_RINVCMDLEN, 35)
    assert_then_enquire_link(items)


def test_response_ending_inside_mandatory_params() -> None:
    """A query_sm_resp without message_state/error_code: generic_nack RINVCMDLEN."""
    items = Framer().feed(with_body(c.QUERY_SM_RESP, 36, b"id\0\0") + ENQUIRE)
    err = only_error(items)
    assert_answer(err, c.GENERIC_NACK, c.ESME_RINVCMDLEN, 36)
    assert_then_enquire_link(items)


def test_request_with_empty_body() -> None:
    """A submit_sm that is only a header: RINVCMDLEN in a submit_sm_resp."""
    items = Framer().feed(with_body(c.SUBMIT_SM, 37, b"") + ENQUIRE)
    err = only_error(items)
    assert_answer(err, c.SUBMIT_SM_RESP, c.ESME_RINVCMDLEN, 37)
    assert_then_enquire_link(items)


def test_bad_dest_flag_in_submit_multi() -> None:
    """dest_flag 3: RINVDESTFLAG in a submit_multi_resp."""
    body = b"\0\0\0\0" + b"\x01\x03abc\0" + b"\0" * 9 + b"\0"
    items = Framer().feed(with_body(c.SUBMIT_MULTI, 38, body) + ENQUIRE)
    err = only_error(items)
    assert err.status == c.ESME_RINVDESTFLAG
    assert_answer(err, c.SUBMIT_MULTI_RESP, c.ESME_RINVDESTFLAG, 38)
    assert_then_enquire_link(items)


@pytest.mark.parametrize(
    ("command_id", "status"),
    [(c.OUTBIND, c.ESME_RINVSYSID), (c.ALERT_NOTIFICATION, c.ESME_RINVSRCADR)],
    ids=["outbind", "alert_notification"],
)
def test_unanswered_operations_are_nacked(command_id: int, status: int) -> None:
    """outbind and alert_notification have no _resp: a faulty one gets generic_nack.

    The body "abc" leaves outbind's system_id, and alert_notification's source_addr (after
    ton "a" and npi "b"), without their NUL.
    """
    items = Framer().feed(with_body(command_id, 39, b"abc") + ENQUIRE)
    err = only_error(items)
    assert err.status == status
    assert_answer(err, c.GENERIC_NACK, status, 39)
    assert_then_enquire_link(items)


# -- bounded buffering ------------------------------------------------------------------------


@settings(FRAMER, max_examples=25)
@given(
    sizes=st.lists(st.integers(0, 4100), min_size=1, max_size=60),
    chunk=st.integers(1, 20000),
)
def test_buffering_never_exceeds_max_length(sizes: list[int], chunk: int) -> None:
    """Fed a long stream of large PDUs in reads of any size, the framer holds < max_length.

    PDUs over max_length may be in the stream: the first one breaks it, and nothing after it
    is decoded or buffered.
    """
    max_length = 4096
    pdus = [
        Pdu(c.DATA_SM, i, tlvs=[(c.TAG_MESSAGE_PAYLOAD, b"z" * n)]) for i, n in enumerate(sizes)
    ]
    wires = [encode(p) for p in pdus]
    wire = b"".join(wires)
    framer = Framer(max_length=max_length)
    out: list[Pdu | SmppError] = []
    for start in range(0, len(wire), chunk):
        out += framer.feed(wire[start : start + chunk])
        assert framer.buffered < max_length
    first_bad = next((i for i, w in enumerate(wires) if len(w) > max_length), None)
    if first_bad is None:
        assert out == pdus
        assert framer.buffered == 0
    else:
        assert out[:first_bad] == pdus[:first_bad]
        err = only_error(out[first_bad:])
        assert len(out) == first_bad + 1
        # The sequence number is echoed if the whole header was in when the length was seen.
        assert err.fatal and err.sequence_number in (first_bad, 0)
        assert framer.broken and framer.buffered == 0


def test_huge_claimed_length_does_not_buffer() -> None:
    """A header claiming a huge PDU followed by megabytes of junk holds nothing."""
    framer = Framer(max_length=8192)
    framer.feed(struct.pack(">IIII", 8193, c.SUBMIT_SM, 0, 1))
    for _ in range(100):
        assert framer.feed(b"\0" * 65536) == []
        assert framer.buffered == 0


def test_slow_drip_of_a_max_size_pdu_stays_bounded() -> None:
    """A maximal PDU dripped in 7-octet reads is held below max_length until complete."""
    max_length = 8192
    pdu = Pdu(c.DATA_SM, 1, tlvs=[(c.TAG_MESSAGE_PAYLOAD, b"")])
    pdu.tlvs = [(c.TAG_MESSAGE_PAYLOAD, b"d" * (max_length - len(encode(pdu))))]
    wire = encode(pdu) * 2
    framer = Framer(max_length=max_length)
    out: list[Pdu | SmppError] = []
    for start in range(0, len(wire), 7):
        out += framer.feed(wire[start : start + 7])
        assert framer.buffered < max_length
    assert out == [pdu, pdu]
