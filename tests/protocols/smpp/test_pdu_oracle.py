"""Our PDU codec against smpp.pdu3 (Jasmin's fork of Mozes' smpp.pdu) as an independent oracle.

Values are generated as raw wire values (ints and octet strings, as our `Pdu` holds them) inside
the domain smpp.pdu3 can represent, then checked three ways for every operation it supports:

1. our bytes -> smpp.pdu3 `PDUEncoder().decode` -> normalised back to raw values == generated;
2. smpp.pdu3 objects built from the same values -> its `encode` -> our `decode` == generated;
3. our `encode` is byte-identical to its `encode` (after checking that smpp.pdu3 re-encodes its
   own output byte-identically, so the comparison is meaningful).

smpp.pdu3 quirks found on the way (0.6, the version installed), and how the generation avoids
them:

- Its `PDUEncoder` keeps state between calls: `OptionEncoder.length` is left over from the last
  decoded TLV and is the expected size when the next octet-string TLV is *encoded*; so every
  call here uses a fresh `PDUEncoder()`.
- `encodeOptionalParams` deletes 'vendor_specific_bypass' from the PDU's params (mutates input).
- `smpp_time.parse` and `PDU.__eq__` print to stdout; we never call `__eq__` and silence stdout
  around its codec.
- submit_multi, submit_multi_resp and replace_sm do not work at all (KeyError on
  'number_of_dests', 'no_unsuccess', 'sm_length': no encoder registered for them) - pinned by
  `test_oracle_cannot_do_submit_multi_or_replace_sm` so coverage can grow when it is fixed.
- Vendor command_status values (0x400-0x4FF) decode to one RESERVEDSTATUS_VENDOR_SPECIFIC
  member: the value is lost; statuses are generated from its table only.
- Vendor TLVs (0x1400-0x3FFF, and the other reserved ranges) are silently dropped on decode;
  they can be encoded only through `custom_tlvs`, which go after all standard TLVs.
- Standard TLVs are decoded into a dict (order and duplicates lost) and encoded in the order
  of the operation's `optionalParams` list, so generated TLVs are unique and in that order.
- Bytes after the mandatory part of an operation without optional params are skipped as
  "padding" (Jasmin #124) rather than refused.
- The sequence_number encoder has min=1, so sequence 0 decodes as None.
- bind_*_resp and submit_sm_resp with a non-zero status are always bodiless (noBodyOnError).
- deliver_sm requires an empty schedule_delivery_time; deliver_sm_resp an empty message_id
  (decoded as None); query_sm_resp's error_code 0 decodes as None; sm_default_msg_id max 254.
- data_coding 0xF8-0xFF decode as GSM message class and re-encode with bit 3 cleared.
- esm_class type bits must be one of 0, 4, 8, 16, 24, 32; registered_delivery receipt must be
  0-2 and bits 5-7 clear; TON/NPI must be named values. Anything else fails to decode.
- A relative time's tenths digit must be 0 and its nn digits are ignored (re-encoded as 00);
  an absolute time with offset 00 re-encodes its sign as '+'.
- source_telematics_id is an Int2 there; SMPP 3.4 (and our TLV_TYPES, Kannel) make it one
  octet, so it is left out of the comparison.
- Its `TimeEncoder` shares one `COctetStringEncoder(17)` between all instances and overwrites
  its decodeErrorStatus in each constructor, so the status of a bad time depends on import
  order (irrelevant to valid values, noted for anyone using it on bad input).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
from collections.abc import Callable, Iterator
from enum import Enum
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from smpp.pdu import constants as k
from smpp.pdu import operations as ops
from smpp.pdu import pdu_types as t
from smpp.pdu.pdu_encoding import PDUEncoder
from smpp.pdu.smpp_time import SMPPRelativeTime

from protocols.smpp import constants as c
from protocols.smpp.pdu import CSTR, INT1, LAYOUTS, SM, TLV_TAGS, Pdu, decode, encode

settings.register_profile(
    "smpp-oracle",
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
ORACLE = settings.get_profile("smpp-oracle")


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """smpp.pdu3 prints from inside its time parser; keep that out of the test output."""
    with contextlib.redirect_stdout(io.StringIO()):
        yield


def oracle_encode(obj: t.PDU) -> bytes:
    """Encode with a fresh PDUEncoder: a used one carries TLV length state into the next call."""
    with _quiet():
        return PDUEncoder().encode(obj)


def oracle_decode(wire: bytes) -> t.PDU:
    with _quiet():
        return PDUEncoder().decode(io.BytesIO(wire))


# -- operations smpp.pdu3 supports -------------------------------------------------------------

ORACLE_CLASSES: dict[int, type[t.PDU]] = {
    c.GENERIC_NACK: ops.GenericNack,
    c.BIND_RECEIVER: ops.BindReceiver,
    c.BIND_RECEIVER_RESP: ops.BindReceiverResp,
    c.BIND_TRANSMITTER: ops.BindTransmitter,
    c.BIND_TRANSMITTER_RESP: ops.BindTransmitterResp,
    c.BIND_TRANSCEIVER: ops.BindTransceiver,
    c.BIND_TRANSCEIVER_RESP: ops.BindTransceiverResp,
    c.OUTBIND: ops.Outbind,
    c.UNBIND: ops.Unbind,
    c.UNBIND_RESP: ops.UnbindResp,
    c.ENQUIRE_LINK: ops.EnquireLink,
    c.ENQUIRE_LINK_RESP: ops.EnquireLinkResp,
    c.SUBMIT_SM: ops.SubmitSM,
    c.SUBMIT_SM_RESP: ops.SubmitSMResp,
    c.DELIVER_SM: ops.DeliverSM,
    c.DELIVER_SM_RESP: ops.DeliverSMResp,
    c.DATA_SM: ops.DataSM,
    c.DATA_SM_RESP: ops.DataSMResp,
    c.QUERY_SM: ops.QuerySM,
    c.QUERY_SM_RESP: ops.QuerySMResp,
    c.CANCEL_SM: ops.CancelSM,
    c.CANCEL_SM_RESP: ops.CancelSMResp,
    c.REPLACE_SM_RESP: ops.ReplaceSMResp,
    c.ALERT_NOTIFICATION: ops.AlertNotification,
}
ORACLE_IDS = sorted(ORACLE_CLASSES)
#: Responses smpp.pdu3 always sends bodiless when the status is not ESME_ROK.
NO_BODY_ON_ERROR = {
    cid for cid, klass in ORACLE_CLASSES.items() if getattr(klass, "noBodyOnError", False)
}
assert NO_BODY_ON_ERROR == {
    c.BIND_RECEIVER_RESP,
    c.BIND_TRANSMITTER_RESP,
    c.BIND_TRANSCEIVER_RESP,
    c.SUBMIT_SM_RESP,
}

ORACLE_STATUSES = sorted(code for code in k.command_status_value_map if code >= 0)
_TIME_FIELDS = {"schedule_delivery_time", "validity_period", "final_date"}

# -- raw <-> smpp.pdu3 value mapping for enum-typed fields ----------------------------------

#: Integer fields smpp.pdu3 represents as a plain Enum: (enum class, value -> member name map).
ENUM_FIELDS: dict[str, tuple[type[Enum], dict[int, str]]] = {
    "addr_ton": (t.AddrTon, k.addr_ton_value_map),
    "addr_npi": (t.AddrNpi, k.addr_npi_value_map),
    "source_addr_ton": (t.AddrTon, k.addr_ton_value_map),
    "source_addr_npi": (t.AddrNpi, k.addr_npi_value_map),
    "dest_addr_ton": (t.AddrTon, k.addr_ton_value_map),
    "dest_addr_npi": (t.AddrNpi, k.addr_npi_value_map),
    "esme_addr_ton": (t.AddrTon, k.addr_ton_value_map),
    "esme_addr_npi": (t.AddrNpi, k.addr_npi_value_map),
    "priority_flag": (t.PriorityFlag, k.priority_flag_value_map),
    "replace_if_present_flag": (t.ReplaceIfPresentFlag, k.replace_if_present_flap_value_map),
    "message_state": (t.MessageState, k.message_state_value_map),
}
_ENUM_NAME_MAPS: dict[type[Enum], dict[str, int]] = {
    t.AddrTon: k.addr_ton_name_map,
    t.AddrNpi: k.addr_npi_name_map,
    t.PriorityFlag: k.priority_flag_name_map,
    t.ReplaceIfPresentFlag: k.replace_if_present_flap_name_map,
    t.MessageState: k.message_state_name_map,
    t.MsAvailabilityStatus: k.ms_availability_status_name_map,
    t.DeliveryFailureReason: k.delivery_failure_reason_name_map,
    t.MoreMessagesToSend: k.more_messages_to_send_name_map,
    t.PayloadType: k.payload_type_name_map,
}


def _enum_value(member: Enum) -> int:
    return _ENUM_NAME_MAPS[type(member)][member.name]


# esm_class, registered_delivery, data_coding: composite objects.


def esm_class_values() -> st.SearchStrategy[int]:
    modes = st.sampled_from(sorted(k.esm_class_mode_value_map))
    types = st.sampled_from(sorted(k.esm_class_type_value_map))
    features = st.sampled_from([0, 0x40, 0x80, 0xC0])
    return st.builds(lambda m, ty, f: m | ty | f, modes, types, features)


def to_esm_class(value: int) -> t.EsmClass:
    mode = t.EsmClassMode[k.esm_class_mode_value_map[value & 0x03]]
    kind = t.EsmClassType[k.esm_class_type_value_map[value & 0x3C]]
    features = [
        t.EsmClassGsmFeatures[name]
        for bit, name in k.esm_class_gsm_features_value_map.items()
        if value & bit
    ]
    return t.EsmClass(mode, kind, features)


def from_esm_class(esm: t.EsmClass) -> int:
    value = k.esm_class_mode_name_map[esm.mode.name] | k.esm_class_type_name_map[esm.type.name]
    for feature in esm.gsmFeatures:
        value |= k.esm_class_gsm_features_name_map[feature.name]
    return value


def registered_delivery_values() -> st.SearchStrategy[int]:
    receipts = st.sampled_from(sorted(k.registered_delivery_receipt_value_map))
    acks = st.sampled_from([0, 0x04, 0x08, 0x0C])
    intermediate = st.sampled_from([0, 0x10])
    return st.builds(lambda r, a, i: r | a | i, receipts, acks, intermediate)


def to_registered_delivery(value: int) -> t.RegisteredDelivery:
    receipt = t.RegisteredDeliveryReceipt[k.registered_delivery_receipt_value_map[value & 0x03]]
    acks = [
        t.RegisteredDeliverySmeOriginatedAcks[name]
        for bit, name in k.registered_delivery_sme_originated_acks_value_map.items()
        if value & bit
    ]
    return t.RegisteredDelivery(receipt, acks, bool(value & 0x10))


def from_registered_delivery(rd: t.RegisteredDelivery) -> int:
    value = k.registered_delivery_receipt_name_map[rd.receipt.name]
    for ack in rd.smeOriginatedAcks:
        value |= k.registered_delivery_sme_originated_acks_name_map[ack.name]
    return value | (0x10 if rd.intermediateNotification else 0)


def data_coding_values() -> st.SearchStrategy[int]:
    # 0xF8-0xFF lose bit 3 in smpp.pdu3's GSM message class decoding.
    return st.integers(0, 0xF7)


def to_data_coding(value: int) -> t.DataCoding:
    if value & 0xF0 == 0xF0:
        coding = t.DataCodingGsmMsgCoding[k.data_coding_gsm_message_coding_value_map[value & 0x04]]
        klass = t.DataCodingGsmMsgClass[k.data_coding_gsm_message_class_value_map[value & 0x03]]
        return t.DataCoding(
            t.DataCodingScheme.GSM_MESSAGE_CLASS, t.DataCodingGsmMsg(coding, klass)
        )
    if value in k.data_coding_default_value_map:
        return t.DataCoding(
            t.DataCodingScheme.DEFAULT,
            t.DataCodingDefault[k.data_coding_default_value_map[value]],
        )
    return t.DataCoding(t.DataCodingScheme.RAW, value)


def from_data_coding(dc: t.DataCoding) -> int:
    if dc.scheme.name == "RAW":
        return int(dc.schemeData)
    if dc.scheme.name == "DEFAULT":
        return k.data_coding_default_name_map[dc.schemeData.name]
    assert dc.scheme.name == "GSM_MESSAGE_CLASS"
    return (
        k.data_coding_scheme_name_map[dc.scheme.name]
        | k.data_coding_gsm_message_coding_name_map[dc.schemeData.msgCoding.name]
        | k.data_coding_gsm_message_class_name_map[dc.schemeData.msgClass.name]
    )


# SMPP times: b"" / absolute "YYMMDDhhmmsstnnp" / relative "YYMMDDhhmmss000R".


@st.composite
def smpp_times(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["empty", "absolute", "relative"]))
    if kind == "empty":
        return b""
    if kind == "relative":
        parts = draw(st.lists(st.integers(0, 99), min_size=6, max_size=6))
        return ("".join(f"{p:02d}" for p in parts) + "000R").encode()
    # %y maps 69-99 to 19xx and 00-68 to 20xx, so these years survive strptime/strftime.
    when = draw(st.datetimes(dt.datetime(1969, 1, 1), dt.datetime(2068, 12, 31, 23, 59, 59)))
    tenths = draw(st.integers(0, 9))
    quarters = draw(st.integers(0, 48))
    sign = draw(st.sampled_from("+-")) if quarters else "+"
    return f"{when:%y%m%d%H%M%S}{tenths}{quarters:02d}{sign}".encode()


def to_time(raw: bytes) -> dt.datetime | SMPPRelativeTime | None:
    if not raw:
        return None
    text = raw.decode()
    if text.endswith("R"):
        return SMPPRelativeTime(*(int(text[i : i + 2]) for i in range(0, 12, 2)))
    when = dt.datetime.strptime(text[:12], "%y%m%d%H%M%S").replace(
        microsecond=int(text[12]) * 100_000
    )
    quarters = int(text[13:15])
    if quarters:
        minutes = quarters * 15 * (-1 if text[15] == "-" else 1)
        when = when.replace(tzinfo=dt.timezone(dt.timedelta(minutes=minutes)))
    return when


def from_time(value: dt.datetime | SMPPRelativeTime | None) -> bytes:
    """Our own formatter for smpp.pdu3's time objects (not its unparse)."""
    if value is None:
        return b""
    if isinstance(value, SMPPRelativeTime):
        return ("".join(f"{p:02d}" for p in value) + "000R").encode()
    offset = value.utcoffset()
    minutes = 0 if offset is None else int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return (
        f"{value:%y%m%d%H%M%S}{value.microsecond // 100_000}{abs(minutes) // 15:02d}{sign}"
    ).encode()


# -- field strategies and mappings -----------------------------------------------------------


def cstrings(size: int) -> st.SearchStrategy[bytes]:
    return st.binary(max_size=size - 1).map(lambda raw: raw.replace(b"\0", b"\x01"))


def field_strategy(command_id: int, name: str, kind: int, size: int) -> st.SearchStrategy[Any]:
    if command_id == c.DELIVER_SM and name == "schedule_delivery_time":
        return st.just(b"")
    if command_id == c.DELIVER_SM_RESP and name == "message_id":
        return st.just(b"")
    if name in _TIME_FIELDS:
        return smpp_times()
    if name in ENUM_FIELDS:
        return st.sampled_from(sorted(ENUM_FIELDS[name][1]))
    if name == "esm_class":
        return esm_class_values()
    if name == "registered_delivery":
        return registered_delivery_values()
    if name == "data_coding":
        return data_coding_values()
    if name == "sm_default_msg_id":
        return st.integers(0, 254)
    if kind == INT1:
        return st.integers(0, 255)
    if kind == CSTR:
        return cstrings(size)
    assert kind == SM
    return st.binary(max_size=254)


def to_oracle_field(command_id: int, name: str, value: Any) -> Any:
    if command_id == c.DELIVER_SM_RESP and name == "message_id":
        return None
    if name in _TIME_FIELDS:
        return to_time(value)
    if name in ENUM_FIELDS:
        enum, names = ENUM_FIELDS[name]
        return enum[names[value]]
    if name == "esm_class":
        return to_esm_class(value)
    if name == "registered_delivery":
        return to_registered_delivery(value)
    if name == "data_coding":
        return to_data_coding(value)
    if name == "error_code" and value == 0:
        return None
    return value


def from_oracle_field(name: str, value: Any) -> Any:
    if name in _TIME_FIELDS:
        return from_time(value)
    if value is None:  # deliver_sm_resp message_id, query_sm_resp error_code 0
        return 0 if name == "error_code" else b""
    if isinstance(value, Enum):
        return _enum_value(value)
    if name == "esm_class":
        return from_esm_class(value)
    if name == "registered_delivery":
        return from_registered_delivery(value)
    if name == "data_coding":
        return from_data_coding(value)
    assert isinstance(value, int | bytes), (name, value)
    return value


# -- TLVs -----------------------------------------------------------------------------------

TlvSpec = tuple[
    st.SearchStrategy[Any], Callable[[Any], bytes], Callable[[Any], Any], Callable[[Any], Any]
]


def _int_tlv(width: int) -> TlvSpec:
    return (
        st.integers(0, 256**width - 1),
        lambda v: v.to_bytes(width, "big"),
        lambda v: v,
        lambda v: v,
    )


def _enum_tlv(enum: type[Enum], names: dict[int, str]) -> TlvSpec:
    return (
        st.sampled_from(sorted(names)),
        lambda v: bytes((v,)),
        lambda v: enum[names[v]],
        _enum_value,
    )


def _octets_tlv(size: int) -> TlvSpec:
    return (st.binary(max_size=size), lambda v: v, lambda v: v, lambda v: v)


def _cstr_tlv(size: int) -> TlvSpec:
    return (cstrings(size), lambda v: v + b"\0", lambda v: v, lambda v: v)


#: TLVs compared with the oracle: strategy, our wire value, to smpp.pdu3, from smpp.pdu3.
ORACLE_TLVS: dict[str, TlvSpec] = {
    "user_message_reference": _int_tlv(2),
    "source_port": _int_tlv(2),
    "destination_port": _int_tlv(2),
    "sar_msg_ref_num": _int_tlv(2),
    "dest_telematics_id": _int_tlv(2),
    "sar_total_segments": _int_tlv(1),
    "sar_segment_seqnum": _int_tlv(1),
    "user_response_code": _int_tlv(1),
    "sc_interface_version": _int_tlv(1),
    "qos_time_to_live": _int_tlv(4),
    "message_payload": _octets_tlv(600),
    "network_error_code": _octets_tlv(3),
    "receipted_message_id": _cstr_tlv(65),
    "additional_status_info_text": _cstr_tlv(256),
    "message_state": _enum_tlv(t.MessageState, k.message_state_value_map),
    "ms_availability_status": _enum_tlv(
        t.MsAvailabilityStatus, k.ms_availability_status_value_map
    ),
    "delivery_failure_reason": _enum_tlv(
        t.DeliveryFailureReason, k.delivery_failure_reason_value_map
    ),
    "more_messages_to_send": _enum_tlv(t.MoreMessagesToSend, k.more_messages_to_send_value_map),
    "payload_type": _enum_tlv(t.PayloadType, k.payload_type_value_map),
}


def oracle_tlv_names(command_id: int) -> list[str]:
    """The TLVs both sides handle for this operation, in smpp.pdu3's encoding order."""
    return [n for n in ORACLE_CLASSES[command_id].optionalParams if n in ORACLE_TLVS]


# -- generated cases -------------------------------------------------------------------------

Case = tuple[int, int, int, dict[str, Any], dict[str, Any], list[tuple[int, bytes]]]


@st.composite
def cases(draw: st.DrawFn, command_id: int, vendor_tlvs: bool = False) -> Case:
    """(command_id, seq, status, raw params, raw TLV values by name, vendor TLVs)."""
    seq = draw(st.integers(1, 0xFFFFFFFF))
    status = draw(st.one_of(st.just(0), st.sampled_from(ORACLE_STATUSES)))
    params: dict[str, Any] = {}
    tlvs: dict[str, Any] = {}
    vendor: list[tuple[int, bytes]] = []
    if command_id in NO_BODY_ON_ERROR and status:
        return command_id, seq, status, params, tlvs, vendor
    for name, kind, size, _status in LAYOUTS[command_id]:
        params[name] = draw(field_strategy(command_id, name, kind, size))
    for name in oracle_tlv_names(command_id):
        if draw(st.booleans()):
            tlvs[name] = draw(ORACLE_TLVS[name][0])
    if vendor_tlvs:
        vendor = draw(
            st.lists(st.tuples(st.integers(0x1400, 0x3FFF), st.binary(max_size=40)), max_size=3)
        )
    return command_id, seq, status, params, tlvs, vendor


def our_pdu(case: Case) -> Pdu:
    command_id, seq, status, params, tlvs, vendor = case
    wire_tlvs = [(TLV_TAGS[name], ORACLE_TLVS[name][1](v)) for name, v in tlvs.items()]
    return Pdu(command_id, seq, status, dict(params), [*wire_tlvs, *vendor])


def oracle_pdu(case: Case) -> t.PDU:
    command_id, seq, status, params, tlvs, vendor = case
    kwargs: dict[str, Any] = {
        name: to_oracle_field(command_id, name, value) for name, value in params.items()
    }
    for name, value in tlvs.items():
        kwargs[name] = ORACLE_TLVS[name][2](value)
    status_member = t.CommandStatus[k.command_status_value_map[status]["name"]]
    return ORACLE_CLASSES[command_id](
        seq,
        status_member,
        custom_tlvs=[(tag, None, "OctetString", value) for tag, value in vendor],
        **kwargs,
    )


def normalised(obj: t.PDU) -> tuple[int, int, int, dict[str, Any], dict[str, Any]]:
    """smpp.pdu3's decoded PDU as raw values: (command_id, seq, status, params, TLVs)."""
    command_id = k.command_id_name_map[obj.id.name]
    status = k.command_status_name_map[obj.status.name]
    mandatory = set(ORACLE_CLASSES[command_id].mandatoryParams)
    params = {n: from_oracle_field(n, v) for n, v in obj.params.items() if n in mandatory}
    tlvs = {n: ORACLE_TLVS[n][3](v) for n, v in obj.params.items() if n not in mandatory}
    return command_id, obj.seqNum, status, params, tlvs


def check_case(case: Case) -> None:
    command_id, seq, status, params, tlvs, vendor = case
    ours = our_pdu(case)
    our_wire = encode(ours)

    # 1. our bytes, read by smpp.pdu3 (which drops vendor TLVs).
    assert normalised(oracle_decode(our_wire)) == (command_id, seq, status, params, tlvs)

    # 2. its bytes, read by us.
    their_wire = oracle_encode(oracle_pdu(case))
    assert decode(their_wire) == ours
    assert decode(their_wire).tlvs == ours.tlvs

    # 3. byte identity, where smpp.pdu3 itself re-encodes identically.
    if not vendor:
        assert oracle_encode(oracle_decode(their_wire)) == their_wire
    assert our_wire == their_wire


def _ids(cids: list[int]) -> list[str]:
    return [c.COMMAND_NAMES[cid] for cid in cids]


@pytest.mark.parametrize("command_id", ORACLE_IDS, ids=_ids(ORACLE_IDS))
def test_oracle_agrees_both_directions(command_id: int) -> None:
    """Both codecs read each other's bytes as the same values and write the same bytes."""

    @ORACLE
    @given(case=cases(command_id))
    def check(case: Case) -> None:
        check_case(case)

    check()


_WITH_TLVS = [cid for cid in ORACLE_IDS if oracle_tlv_names(cid)]


@pytest.mark.parametrize("command_id", ORACLE_IDS, ids=_ids(ORACLE_IDS))
def test_oracle_vendor_tlvs(command_id: int) -> None:
    """Vendor TLVs: smpp.pdu3 skips them on decode; its custom_tlvs decode to ours in order."""

    @settings(ORACLE, max_examples=15)
    @given(case=cases(command_id, vendor_tlvs=True))
    def check(case: Case) -> None:
        check_case(case)
        if case[5]:
            assert "vendor_specific_bypass" not in oracle_decode(encode(our_pdu(case))).params

    check()


def test_oracle_covers_the_operations_the_brief_names() -> None:
    """binds, submit/deliver/data/query/cancel, replace_sm_resp, link and nack are compared."""
    names = set(_ids(ORACLE_IDS))
    for name in (
        "bind_receiver", "bind_receiver_resp", "bind_transmitter", "bind_transmitter_resp",
        "bind_transceiver", "bind_transceiver_resp", "submit_sm", "submit_sm_resp",
        "deliver_sm", "deliver_sm_resp", "data_sm", "data_sm_resp", "query_sm",
        "query_sm_resp", "cancel_sm", "cancel_sm_resp", "enquire_link", "enquire_link_resp",
        "unbind", "unbind_resp", "generic_nack", "outbind", "alert_notification",
    ):
        assert name in names
    assert {c.SUBMIT_SM, c.DELIVER_SM, c.DATA_SM, c.DATA_SM_RESP} <= set(_WITH_TLVS)


def test_golden_submit_sm_matches_oracle() -> None:
    """A fully populated submit_sm (times, UCS-2, receipts, SAR TLVs) is byte-identical."""
    case: Case = (
        c.SUBMIT_SM,
        0x01020304,
        0,
        {
            "service_type": b"CMT",
            "source_addr_ton": 5,
            "source_addr_npi": 0,
            "source_addr": b"MyBank",
            "dest_addr_ton": 1,
            "dest_addr_npi": 1,
            "destination_addr": b"447911123456",
            "esm_class": 0x40 | 0x03,
            "protocol_id": 0,
            "priority_flag": 1,
            "schedule_delivery_time": b"240131235959900+",
            "validity_period": b"000001000000000R",
            "registered_delivery": 0x11,
            "replace_if_present_flag": 0,
            "data_coding": 8,
            "sm_default_msg_id": 0,
            "short_message": b"\x05\x00\x03\x2a\x02\x01\x00h\x00i",
        },
        {"sar_msg_ref_num": 42, "sar_total_segments": 2, "sar_segment_seqnum": 1},
        [],
    )
    check_case(case)


@pytest.mark.parametrize(
    ("klass", "missing"),
    [(ops.SubmitMulti, "number_of_dests"), (ops.SubmitMultiResp, "no_unsuccess"),
     (ops.ReplaceSM, "sm_length")],
)
def test_oracle_cannot_do_submit_multi_or_replace_sm(klass: type[t.PDU], missing: str) -> None:
    """smpp.pdu3 0.6 has no encoder for these fields; our codec is compared by its own tests.

    If this starts failing, smpp.pdu3 grew support: add the operation to ORACLE_CLASSES.
    """
    with pytest.raises(KeyError) as caught:
        oracle_encode(klass(1))
    assert caught.value.args == (missing,)
    command_id = k.command_id_name_map[klass.commandId.name]
    with pytest.raises(KeyError):
        oracle_decode(encode(Pdu(command_id, 1)))


def test_oracle_loses_vendor_status_we_keep_it() -> None:
    """A vendor command_status survives our codec; smpp.pdu3 collapses it to one member."""
    wire = encode(Pdu(c.DATA_SM_RESP, 9, 0x0401, {"message_id": b"x"}))
    assert oracle_decode(wire).status == t.CommandStatus.RESERVEDSTATUS_VENDOR_SPECIFIC
    assert decode(wire).command_status == 0x0401
