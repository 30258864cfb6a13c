"""The PDU codec round-trips every operation, and refuses what it cannot represent.

Parametrised property tests run their @given function inside the test body: pytest-twisted
1.14 re-wraps the shared hypothesis inner test once per parameter, which makes every parameter
after the first fail with "blockon cannot be called from the twisted greenlet".

Strategies are built from `LAYOUTS` itself, so a new field or operation is covered as soon as it
is in the table; the golden vectors at the end pin the layout to bytes written out by hand from
the SMPP 3.4 specification, so a wrong table cannot pass by agreeing with itself.
"""

from __future__ import annotations

import struct
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocols.smpp import constants as c
from protocols.smpp.pdu import (
    CSTR,
    DESTS,
    HEADER,
    INT1,
    LAYOUTS,
    SM,
    TLV_TAGS,
    TLV_TYPES,
    UNSUCC,
    Pdu,
    SmppError,
    decode,
    decode_body,
    encode,
    error_reply,
)

settings.register_profile(
    "smpp-codec",
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
CODEC = settings.get_profile("smpp-codec")

U8 = st.integers(0, 0xFF)
U16 = st.integers(0, 0xFFFF)
U32 = st.integers(0, 0xFFFFFFFF)

ALL_IDS = sorted(LAYOUTS)
REQUESTS = [cid for cid in ALL_IDS if not cid & c.RESPONSE_BIT]
RESPONSES = [cid for cid in ALL_IDS if cid & c.RESPONSE_BIT]
ANSWERED = [cid for cid in REQUESTS if cid not in c.UNANSWERED]


def cstrings(size: int) -> st.SearchStrategy[bytes]:
    """Octet strings that fit a C-string field of `size` octets (NUL included), no NUL inside."""
    return st.binary(max_size=size - 1).map(lambda raw: raw.replace(b"\0", b"\x01"))


def statuses() -> st.SearchStrategy[int]:
    """OK, the named statuses, the vendor range 0x400-0x4FF, and anything 32-bit."""
    return st.one_of(
        st.just(c.ESME_ROK),
        st.sampled_from(sorted(c.STATUS_TEXT)),
        st.integers(0x400, 0x4FF),
        U32,
    )


def dest_addresses() -> st.SearchStrategy[list[tuple[Any, ...]]]:
    """submit_multi destinations with both dest_flag values (1 = SME address, 2 = list name)."""
    sme = st.tuples(st.just(1), U8, U8, cstrings(21))
    dl_name = st.tuples(st.just(2), cstrings(21))
    return st.lists(st.one_of(sme, dl_name), max_size=254)


def unsuccess_smes() -> st.SearchStrategy[list[tuple[int, int, bytes, int]]]:
    """submit_multi_resp unsuccess_sme entries: TON, NPI, address, 32-bit error status."""
    return st.lists(st.tuples(U8, U8, cstrings(21), U32), max_size=254)


def field_values(kind: int, size: int) -> st.SearchStrategy[Any]:
    """Values for one mandatory field of a layout."""
    if kind == INT1:
        return U8
    if kind == CSTR:
        return cstrings(size)
    if kind == SM:
        return st.binary(max_size=254)
    if kind == DESTS:
        return dest_addresses()
    assert kind == UNSUCC
    return unsuccess_smes()


def tlv_tags() -> st.SearchStrategy[int]:
    """Standard tags, the vendor range 0x1400-0x3FFF, and any 16-bit tag at all."""
    return st.one_of(st.sampled_from(sorted(TLV_TYPES)), st.integers(0x1400, 0x3FFF), U16)


def tlv_lists() -> st.SearchStrategy[list[tuple[int, bytes]]]:
    """Raw TLVs with arbitrary octets, duplicates and any order allowed."""
    return st.lists(st.tuples(tlv_tags(), st.binary(max_size=300)), max_size=6)


def params_for(command_id: int) -> st.SearchStrategy[dict[str, Any]]:
    """Any subset of the operation's mandatory parameters (absent ones encode as defaults)."""
    optional = {
        name: field_values(kind, size) for name, kind, size, _status in LAYOUTS[command_id]
    }
    return st.fixed_dictionaries({}, optional=optional)


@st.composite
def pdus(draw: st.DrawFn, command_id: int) -> Pdu:
    """A valid PDU of one operation: any header values, mandatory params, TLVs."""
    return Pdu(
        command_id,
        sequence_number=draw(U32),
        command_status=draw(statuses()),
        params=draw(params_for(command_id)),
        tlvs=draw(tlv_lists()),
    )


# -- round trips -----------------------------------------------------------------------------


@pytest.mark.parametrize("command_id", ALL_IDS, ids=[c.COMMAND_NAMES[i] for i in ALL_IDS])
def test_round_trip_every_operation(command_id: int) -> None:
    """decode(encode(p)) == p and encode(decode(b)) == b for all 27 operations."""

    @CODEC
    @given(pdu=pdus(command_id))
    def check(pdu: Pdu) -> None:
        wire = encode(pdu)
        length, cid, status, seq = HEADER.unpack_from(wire)
        assert (length, cid, status, seq) == (
            len(wire),
            command_id,
            pdu.command_status,
            pdu.sequence_number,
        )
        back = decode(wire)
        assert back == pdu
        assert back.tlvs == pdu.tlvs  # same tags, same octets, same order
        assert encode(back) == wire

    check()


def test_round_trip_covers_all_27_operations() -> None:
    """The parametrised round trip above runs for every operation SMPP 3.4 defines."""
    assert len(ALL_IDS) == 27
    assert set(ALL_IDS) == set(c.COMMAND_NAMES)


@CODEC
@given(
    dests=st.tuples(
        st.lists(st.tuples(st.just(1), U8, U8, cstrings(21)), min_size=1, max_size=5),
        st.lists(st.tuples(st.just(2), cstrings(21)), min_size=1, max_size=5),
    ).flatmap(lambda both: st.permutations([*both[0], *both[1]])),
    smes=st.lists(st.tuples(U8, U8, cstrings(21), U32), min_size=1, max_size=10),
)
def test_submit_multi_lists_with_both_flags(
    dests: list[tuple[Any, ...]], smes: list[tuple[int, int, bytes, int]]
) -> None:
    """Mixed SME/distribution-list destinations and unsuccess lists keep every entry in order."""
    request = Pdu(c.SUBMIT_MULTI, 9, params={"dest_addresses": dests, "short_message": b"hi"})
    assert decode(encode(request)).params["dest_addresses"] == dests
    resp = Pdu(c.SUBMIT_MULTI_RESP, 9, params={"message_id": b"m1", "unsuccess_smes": smes})
    assert decode(encode(resp)).params["unsuccess_smes"] == smes


def test_submit_multi_254_destinations_is_the_maximum() -> None:
    """254 destinations encode; number_of_dests is the count; 255 is refused."""
    dests = [(1, 1, 1, b"%020d" % i) for i in range(254)]
    wire = encode(Pdu(c.SUBMIT_MULTI, 1, params={"dest_addresses": dests}))
    assert decode(wire).params["dest_addresses"] == dests
    with pytest.raises(SmppError) as caught:
        encode(Pdu(c.SUBMIT_MULTI, 1, params={"dest_addresses": [*dests, (2, b"x")]}))
    assert caught.value.status == c.ESME_RINVNUMDESTS


@pytest.mark.parametrize("command_id", ALL_IDS, ids=[c.COMMAND_NAMES[i] for i in ALL_IDS])
def test_defaults_encode_as_zero_and_empty(command_id: int) -> None:
    """A PDU built without params equals one with every field set to its zero value."""
    zeros: dict[str, Any] = {}
    for name, kind, _size, _status in LAYOUTS[command_id]:
        zeros[name] = 0 if kind == INT1 else [] if kind in (DESTS, UNSUCC) else b""
    bare = Pdu(command_id, 5)
    full = Pdu(command_id, 5, params=zeros)
    assert encode(bare) == encode(full)
    assert bare == full
    assert decode(encode(bare)).params == zeros


# -- typed TLV access --------------------------------------------------------------------------


def _typed_values(kind: str) -> st.SearchStrategy[int | bytes]:
    if kind == "int1":
        return U8
    if kind == "int2":
        return U16
    if kind == "int4":
        return U32
    if kind == "cstr":
        return cstrings(256)
    return st.binary(max_size=300)


_WIDTH = {"int1": 1, "int2": 2, "int4": 4}

#: SMPP 3.4 section 5.3.2, typed out independently of TLV_TYPES: tag -> (name, value type).
#: source_telematics_id is one octet as in Kannel, Cloudhopper and oserl (smpp.pdu3 says 2).
SPEC_TLVS: dict[int, tuple[str, str]] = {
    0x0005: ("dest_addr_subunit", "int1"),
    0x0006: ("dest_network_type", "int1"),
    0x0007: ("dest_bearer_type", "int1"),
    0x0008: ("dest_telematics_id", "int2"),
    0x000D: ("source_addr_subunit", "int1"),
    0x000E: ("source_network_type", "int1"),
    0x000F: ("source_bearer_type", "int1"),
    0x0010: ("source_telematics_id", "int1"),
    0x0017: ("qos_time_to_live", "int4"),
    0x0019: ("payload_type", "int1"),
    0x001D: ("additional_status_info_text", "cstr"),
    0x001E: ("receipted_message_id", "cstr"),
    0x0030: ("ms_msg_wait_facilities", "int1"),
    0x0201: ("privacy_indicator", "int1"),
    0x0202: ("source_subaddress", "octets"),
    0x0203: ("dest_subaddress", "octets"),
    0x0204: ("user_message_reference", "int2"),
    0x0205: ("user_response_code", "int1"),
    0x020A: ("source_port", "int2"),
    0x020B: ("destination_port", "int2"),
    0x020C: ("sar_msg_ref_num", "int2"),
    0x020D: ("language_indicator", "int1"),
    0x020E: ("sar_total_segments", "int1"),
    0x020F: ("sar_segment_seqnum", "int1"),
    0x0210: ("sc_interface_version", "int1"),
    0x0302: ("callback_num_pres_ind", "int1"),
    0x0303: ("callback_num_atag", "octets"),
    0x0304: ("number_of_messages", "int1"),
    0x0381: ("callback_num", "octets"),
    0x0420: ("dpf_result", "int1"),
    0x0421: ("set_dpf", "int1"),
    0x0422: ("ms_availability_status", "int1"),
    0x0423: ("network_error_code", "octets"),
    0x0424: ("message_payload", "octets"),
    0x0425: ("delivery_failure_reason", "int1"),
    0x0426: ("more_messages_to_send", "int1"),
    0x0427: ("message_state", "int1"),
    0x0501: ("ussd_service_op", "int1"),
    0x1201: ("display_time", "int1"),
    0x1203: ("sms_signal", "int2"),
    0x1204: ("ms_validity", "int1"),
    0x130C: ("alert_on_message_delivery", "octets"),
    0x1380: ("its_reply_type", "int1"),
    0x1383: ("its_session_info", "octets"),
}


def test_tlv_table_matches_the_specification() -> None:
    """TLV_TYPES names every SMPP 3.4 optional parameter with its spec tag and value type."""
    assert TLV_TYPES == SPEC_TLVS


@pytest.mark.parametrize("tag", sorted(SPEC_TLVS), ids=[SPEC_TLVS[t][0] for t in sorted(SPEC_TLVS)])
def test_typed_tlv_round_trip(tag: int) -> None:
    """add_tlv by name encodes per the spec's type and tlv_value reads the same value back."""
    name, kind = SPEC_TLVS[tag]

    @settings(CODEC, max_examples=15)
    @given(value=_typed_values(kind))
    def check(value: int | bytes) -> None:
        _check_typed_tlv(tag, name, kind, value)

    check()


def _check_typed_tlv(tag: int, name: str, kind: str, value: int | bytes) -> None:
    pdu = Pdu(c.DELIVER_SM, 3).add_tlv(name, value)
    by_tag = Pdu(c.DELIVER_SM, 3).add_tlv(tag, value)
    assert encode(pdu) == encode(by_tag)
    back = decode(encode(pdu))
    assert back.tlv_value(name) == value
    raw = back.tlv(tag)
    assert raw is not None
    if kind in _WIDTH:
        assert isinstance(value, int)
        assert raw == value.to_bytes(_WIDTH[kind], "big")
    elif kind == "cstr":
        assert raw == bytes(value) + b"\0"
    else:
        assert raw == value


def test_tlv_accessors_on_absent_odd_and_unknown_tags() -> None:
    """Absent TLVs read None, a wrong-width int TLV comes back raw, unknown names raise."""
    pdu = Pdu(c.SUBMIT_SM, 1, tlvs=[(c.TAG_SAR_MSG_REF_NUM, b"\x01\x02\x03")])
    assert pdu.tlv_value("sar_msg_ref_num") == b"\x01\x02\x03"
    assert pdu.tlv_value("message_payload") is None
    assert pdu.tlv(0x1400) is None
    with pytest.raises(KeyError):
        pdu.tlv_value("no_such_tlv")
    assert TLV_TAGS["message_payload"] == c.TAG_MESSAGE_PAYLOAD


def test_first_tlv_wins_and_order_and_duplicates_survive() -> None:
    """Duplicated and interleaved vendor/standard TLVs come back in arrival order."""
    tlvs = [
        (0x1401, b"vendor-1"),
        (c.TAG_SOURCE_PORT, b"\x00\x10"),
        (0x1401, b"vendor-2"),
        (0x3FFF, b""),
        (c.TAG_SOURCE_PORT, b"\x00\x20"),
        (0x0000, b"\xff"),
    ]
    back = decode(encode(Pdu(c.DATA_SM, 77, tlvs=list(tlvs))))
    assert back.tlvs == tlvs
    assert back.tlv(0x1401) == b"vendor-1"
    assert back.tlv_value("source_port") == 0x10


@CODEC
@given(status=st.integers(0x400, 0x4FF), seq=U32)
def test_vendor_status_passes_through(status: int, seq: int) -> None:
    """Vendor command_status values survive a round trip untouched."""
    pdu = Pdu(c.SUBMIT_SM_RESP, seq, status, params={"message_id": b"abc"})
    back = decode(encode(pdu))
    assert back.command_status == status
    assert back.params["message_id"] == b"abc"
    assert c.status_text(status).startswith("Vendor-specific")


# -- bodiless error responses ----------------------------------------------------------------

_RESPONSES_WITH_BODY = [cid for cid in RESPONSES if LAYOUTS[cid]]


@pytest.mark.parametrize(
    "command_id", _RESPONSES_WITH_BODY, ids=[c.COMMAND_NAMES[i] for i in _RESPONSES_WITH_BODY]
)
@pytest.mark.parametrize("status", [c.ESME_RINVMSGLEN, c.ESME_RSUBMITFAIL, 0x400, 0xFFFFFFFF])
def test_error_resp_with_empty_body_decodes(command_id: int, status: int) -> None:
    """An error _resp may be just a header (SMPP 3.4 4.1.2, 4.4.2); it decodes and re-encodes."""
    wire = HEADER.pack(16, command_id, status, 4242)
    pdu = decode(wire)
    assert (pdu.command_id, pdu.command_status, pdu.sequence_number) == (command_id, status, 4242)
    assert pdu.params == {}
    assert encode(pdu) == wire


@pytest.mark.parametrize(
    "command_id", _RESPONSES_WITH_BODY, ids=[c.COMMAND_NAMES[i] for i in _RESPONSES_WITH_BODY]
)
def test_ok_resp_with_empty_body_is_refused(command_id: int) -> None:
    """A successful _resp must carry its mandatory body."""
    with pytest.raises(SmppError) as caught:
        decode(HEADER.pack(16, command_id, 0, 8))
    assert caught.value.status == c.ESME_RINVCMDLEN
    assert caught.value.sequence_number == 8
    assert caught.value.command_id == command_id


def test_error_resp_with_tlvs_keeps_its_mandatory_part() -> None:
    """An error data_sm_resp carrying TLVs is decodable by the peer (regression).

    It used to be sent without its message_id, so the TLV octets were read as message_id
    and the PDU failed to decode with ESME_RINVOPTPARSTREAM.
    """
    pdu = Pdu(c.DATA_SM_RESP, 7, c.ESME_RDELIVERYFAILURE).add_tlv("delivery_failure_reason", 1)
    wire = encode(pdu)
    assert wire[16:] == b"\0" + struct.pack(">HHB", c.TAG_DELIVERY_FAILURE_REASON, 1, 1)
    back = decode(wire)
    assert back == pdu
    assert back.tlv_value("delivery_failure_reason") == 1


def test_error_resp_without_params_or_tlvs_is_bodiless() -> None:
    """Pdu.response(status) on an error encodes as a bare header."""
    request = Pdu(c.SUBMIT_SM, 31, params={"destination_addr": b"123"})
    resp = request.response(c.ESME_RTHROTTLED)
    assert encode(resp) == HEADER.pack(16, c.SUBMIT_SM_RESP, c.ESME_RTHROTTLED, 31)


@pytest.mark.parametrize("command_id", REQUESTS, ids=[c.COMMAND_NAMES[i] for i in REQUESTS])
def test_request_body_presence(command_id: int) -> None:
    """Requests with mandatory params refuse an empty body; bodiless requests accept it."""
    wire = HEADER.pack(16, command_id, 0, 1)
    if LAYOUTS[command_id]:
        with pytest.raises(SmppError) as caught:
            decode(wire)
        assert caught.value.status == c.ESME_RINVCMDLEN
    else:
        assert decode(wire) == Pdu(command_id, 1)


# -- what the encoder refuses ----------------------------------------------------------------

_CSTR_FIELDS = [
    (cid, name, size, status)
    for cid in ALL_IDS
    for name, kind, size, status in LAYOUTS[cid]
    if kind == CSTR
]


@pytest.mark.parametrize(
    ("command_id", "name", "size", "status"),
    _CSTR_FIELDS,
    ids=[f"{c.COMMAND_NAMES[f[0]]}.{f[1]}" for f in _CSTR_FIELDS],
)
def test_encoder_refuses_bad_c_strings(command_id: int, name: str, size: int, status: int) -> None:
    """size-1 octets fit; size octets or a NUL inside raise SmppError with the field's status."""
    fits = Pdu(command_id, 1, params={name: b"a" * (size - 1)})
    assert decode(encode(fits)).params[name] == b"a" * (size - 1)
    for bad in (b"a" * size, b"a\0b"):
        with pytest.raises(SmppError) as caught:
            encode(Pdu(command_id, 1, params={name: bad}))
        assert caught.value.status == status


_SM_OPS = [cid for cid in ALL_IDS if any(kind == SM for _n, kind, _s, _st in LAYOUTS[cid])]


@pytest.mark.parametrize("command_id", _SM_OPS, ids=[c.COMMAND_NAMES[i] for i in _SM_OPS])
def test_encoder_refuses_short_message_over_254(command_id: int) -> None:
    """254 octets is the largest short_message; 255 raises ESME_RINVMSGLEN."""
    assert decode(encode(Pdu(command_id, 1, params={"short_message": b"x" * 254}))).params[
        "short_message"
    ] == b"x" * 254
    with pytest.raises(SmppError) as caught:
        encode(Pdu(command_id, 1, params={"short_message": b"x" * 255}))
    assert caught.value.status == c.ESME_RINVMSGLEN


@pytest.mark.parametrize(
    ("pdu", "status"),
    [
        (Pdu(c.SUBMIT_MULTI, 1, params={"dest_addresses": [(1, 1, 1, b"9" * 21)]}),
         c.ESME_RINVDSTADR),
        (Pdu(c.SUBMIT_MULTI, 1, params={"dest_addresses": [(2, b"L" * 21)]}), c.ESME_RINVDLNAME),
        (Pdu(c.SUBMIT_MULTI, 1, params={"dest_addresses": [(3, b"x")]}), c.ESME_RINVDESTFLAG),
        (Pdu(c.SUBMIT_MULTI, 1, params={"dest_addresses": [(1, 256, 1, b"1")]}),
         c.ESME_RINVCMDLEN),
        (Pdu(c.SUBMIT_MULTI_RESP, 1, params={"unsuccess_smes": [(1, 1, b"1" * 21, 0)]}),
         c.ESME_RINVDSTADR),
        (Pdu(c.SUBMIT_MULTI_RESP, 1, params={"unsuccess_smes": [(1, 1, b"1", 2**32)]}),
         c.ESME_RINVCMDLEN),
        (Pdu(c.SUBMIT_SM, 1, params={"esm_class": 256}), c.ESME_RINVCMDLEN),
        (Pdu(c.SUBMIT_SM, 1, params={"priority_flag": -1}), c.ESME_RINVCMDLEN),
        (Pdu(c.SUBMIT_SM, 1, tlvs=[(c.TAG_MESSAGE_PAYLOAD, b"x" * 65536)]), c.ESME_RINVPARLEN),
        (Pdu(0x00000099, 1), c.ESME_RINVCMDID),
    ],
    ids=[
        "dest-addr-too-long",
        "dl-name-too-long",
        "dest-flag-3",
        "dest-ton-256",
        "unsuccess-addr-too-long",
        "unsuccess-error-33-bits",
        "esm-class-256",
        "priority-negative",
        "tlv-over-65535",
        "unknown-command-id",
    ],
)
def test_encoder_refuses_unrepresentable_values(pdu: Pdu, status: int) -> None:
    """Every unrepresentable value raises SmppError (never ValueError/struct.error)."""
    with pytest.raises(SmppError) as caught:
        encode(pdu)
    assert caught.value.status == status


def test_tlv_of_65535_octets_is_the_maximum() -> None:
    """A TLV value of 65535 octets encodes; its length field says so."""
    wire = encode(Pdu(c.DATA_SM, 1, tlvs=[(c.TAG_MESSAGE_PAYLOAD, b"p" * 65535)]))
    assert decode(wire).tlv_value("message_payload") == b"p" * 65535


# -- error_reply -----------------------------------------------------------------------------


@pytest.mark.parametrize("command_id", ANSWERED, ids=[c.COMMAND_NAMES[i] for i in ANSWERED])
def test_error_reply_answers_a_request_with_its_resp(command_id: int) -> None:
    """A faulty request gets its own _resp with the same sequence number and the status."""

    @settings(CODEC, max_examples=20)
    @given(seq=U32, status=statuses().filter(bool))
    def check(seq: int, status: int) -> None:
        reply = error_reply(SmppError(status, "bad", command_id, seq))
        assert (reply.command_id, reply.sequence_number, reply.command_status) == (
            command_id | c.RESPONSE_BIT,
            seq,
            status,
        )
        assert encode(reply) == HEADER.pack(16, command_id | c.RESPONSE_BIT, status, seq)

    check()


_NACKED = [*RESPONSES, c.OUTBIND, c.ALERT_NOTIFICATION, 0x00000099, 0x80000099, 0x7FFFFFFF]


@pytest.mark.parametrize("command_id", _NACKED, ids=[f"0x{i:08x}" for i in _NACKED])
def test_error_reply_nacks_responses_unknown_and_unanswered(command_id: int) -> None:
    """Responses, unknown ids, outbind and alert_notification get a generic_nack."""

    @settings(CODEC, max_examples=10)
    @given(seq=U32, status=statuses())
    def check(seq: int, status: int) -> None:
        reply = error_reply(SmppError(status, "bad", command_id, seq))
        assert (reply.command_id, reply.sequence_number, reply.command_status) == (
            c.GENERIC_NACK,
            seq,
            status,
        )
        assert decode(encode(reply)) == reply

    check()


@settings(CODEC, max_examples=30)
@given(command_id=st.one_of(st.sampled_from(ALL_IDS), U32), seq=U32)
def test_error_reply_nacks_fatal_errors(command_id: int, seq: int) -> None:
    """A broken stream gets a generic_nack whatever the command id claimed to be."""
    reply = error_reply(SmppError(c.ESME_RINVCMDLEN, "lost", command_id, seq, fatal=True))
    assert (reply.command_id, reply.sequence_number, reply.command_status) == (
        c.GENERIC_NACK,
        seq,
        c.ESME_RINVCMDLEN,
    )


def test_error_reply_without_command_id_is_generic_nack_seq_0() -> None:
    """An error raised before the header was read nacks with sequence 0."""
    reply = error_reply(SmppError(c.ESME_RINVCMDLEN, "short"))
    assert encode(reply) == HEADER.pack(16, c.GENERIC_NACK, c.ESME_RINVCMDLEN, 0)


def test_decode_errors_carry_command_id_and_sequence() -> None:
    """An SmppError from decode_body names the PDU it came from, so error_reply can answer."""
    body = b"sys\0"  # bind_transmitter body ending after system_id
    with pytest.raises(SmppError) as caught:
        decode_body(c.BIND_TRANSMITTER, 0, 99, body)
    err = caught.value
    assert (err.command_id, err.sequence_number) == (c.BIND_TRANSMITTER, 99)
    assert err.status == c.ESME_RINVPASWD
    reply = error_reply(err)
    assert (reply.command_id, reply.sequence_number) == (c.BIND_TRANSMITTER_RESP, 99)


def test_response_keeps_sequence_number() -> None:
    """Pdu.response builds the matching _resp."""
    resp = Pdu(c.SUBMIT_SM, 123).response(message_id=b"id-1")
    assert (resp.command_id, resp.sequence_number, resp.command_status) == (
        c.SUBMIT_SM_RESP,
        123,
        0,
    )
    assert decode(encode(resp)).params == {"message_id": b"id-1"}


def test_whole_pdu_decode_checks_command_length() -> None:
    """decode() of bytes shorter than a header or disagreeing with command_length is fatal."""
    with pytest.raises(SmppError) as short:
        decode(b"\0\0\0\x10\0\0")
    assert short.value.fatal and short.value.status == c.ESME_RINVCMDLEN
    wire = encode(Pdu(c.ENQUIRE_LINK, 5))
    with pytest.raises(SmppError) as longer:
        decode(wire + b"\0")
    assert longer.value.fatal and longer.value.sequence_number == 5


# -- golden vectors, written out by hand from the specification ---------------------------------


def _hex(text: str) -> bytes:
    return bytes.fromhex("".join(text.split()))


@pytest.mark.parametrize(
    ("pdu", "wire"),
    [
        (Pdu(c.ENQUIRE_LINK, 1), _hex("00000010 00000015 00000000 00000001")),
        (
            Pdu(c.GENERIC_NACK, 0xDEADBEEF, c.ESME_RINVCMDID),
            _hex("00000010 80000000 00000003 deadbeef"),
        ),
        (
            Pdu(
                c.BIND_TRANSCEIVER,
                2,
                params={
                    "system_id": b"sys",
                    "password": b"pw",
                    "system_type": b"",
                    "interface_version": 0x34,
                    "addr_ton": 1,
                    "addr_npi": 1,
                    "address_range": b"",
                },
            ),
            _hex("0000001c 00000009 00000000 00000002 737973 00 7077 00 00 34 01 01 00"),
        ),
        (
            Pdu(
                c.SUBMIT_SM,
                3,
                params={
                    "source_addr_ton": 5,
                    "source_addr": b"Bank",
                    "dest_addr_ton": 1,
                    "dest_addr_npi": 1,
                    "destination_addr": b"4479",
                    "registered_delivery": 1,
                    "data_coding": 8,
                    "short_message": b"\x00h\x00i",
                },
                tlvs=[(c.TAG_SAR_MSG_REF_NUM, b"\x01\x02"), (0x1401, b"v")],
            ),
            _hex(
                "00000038 00000004 00000000 00000003"
                " 00"  # service_type
                " 05 00 42616e6b00"  # source
                " 01 01 3434373900"  # destination
                " 00 00 00"  # esm_class, protocol_id, priority_flag
                " 00 00"  # schedule_delivery_time, validity_period
                " 01 00 08 00"  # registered_delivery, replace, data_coding, default_msg_id
                " 04 00680069"  # sm_length, short_message
                " 020c 0002 0102"  # sar_msg_ref_num
                " 1401 0001 76"  # vendor TLV
            ),
        ),
        (
            Pdu(
                c.SUBMIT_MULTI,
                4,
                params={"dest_addresses": [(1, 1, 1, b"12"), (2, b"L")], "short_message": b"A"},
            ),
            _hex(
                "00000029 00000021 00000000 00000004"
                " 00 00 00 00"  # service_type, source ton/npi/addr
                " 02 01 01 01 313200 02 4c00"  # number_of_dests, dest_addresses
                " 00 00 00 00 00 00 00 00 00"  # esm..sm_default_msg_id
                " 01 41"
            ),
        ),
        (
            Pdu(
                c.SUBMIT_MULTI_RESP,
                5,
                params={"message_id": b"M", "unsuccess_smes": [(1, 1, b"9", 0x0B)]},
            ),
            _hex("0000001b 80000021 00000000 00000005 4d00 01 01 01 3900 0000000b"),
        ),
        (
            Pdu(
                c.QUERY_SM_RESP,
                6,
                params={"message_id": b"x", "message_state": 2, "error_code": 0},
            ),
            _hex("00000015 80000003 00000000 00000006 7800 00 02 00"),
        ),
    ],
    ids=["enquire_link", "generic_nack", "bind_transceiver", "submit_sm", "submit_multi",
         "submit_multi_resp", "query_sm_resp"],
)
def test_golden_vectors(pdu: Pdu, wire: bytes) -> None:
    """Hand-assembled wire bytes encode and decode exactly."""
    assert encode(pdu) == wire
    assert decode(wire) == pdu
