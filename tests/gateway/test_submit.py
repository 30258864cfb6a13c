"""submit_sm_for builds Kannel's submit_sm: one test per field rule, golden bytes from
REFERENCE §2.3, §2.8, §2.11, §2.12 and from Kannel 1.4.5's own PDU dumps."""

from __future__ import annotations

import calendar

import pytest

from gateway.message import CODING_8BIT, CODING_UCS2, UNSET, Message
from gateway.submit import (
    MalformedMessage,
    SubmitProfile,
    TlvDef,
    parse_meta_data,
    registered_delivery,
    smpp_time,
    submit_sm_for,
)
from protocols.smpp import constants as c
from protocols.smpp.pdu import decode, encode

#: 2026-11-21 08:05:19 UTC, the REFERENCE's DLR example time.
NOW = float(calendar.timegm((2026, 11, 21, 8, 5, 19, 0, 0, 0)))
DEFAULT = SubmitProfile()


def msg(**fields: object) -> Message:
    values: dict[str, object] = {
        "id": "m1",
        "parent_id": "m1",
        "sender": "12345",
        "receiver": "4670000001",
        "payload": b"Hello",
        "created": NOW,
        "priority": UNSET,
    }
    values.update(fields)
    return Message(**values)  # type: ignore[arg-type]


def build(profile: SubmitProfile = DEFAULT, **fields: object):  # type: ignore[no-untyped-def]
    return submit_sm_for(msg(**fields), profile, now=NOW)


# the whole PDU, byte for byte


def test_golden_bytes_of_a_plain_submit() -> None:
    pdu = build()
    pdu.sequence_number = 7
    body = (
        b"\0"  # service_type ""
        + b"\x02\x01" + b"12345\0"  # source 2/1
        + b"\x02\x01" + b"4670000001\0"  # dest 2/1
        + b"\x03"  # esm_class store and forward
        + b"\x00\x00"  # protocol_id, priority_flag
        + b"\0\0"  # schedule_delivery_time, validity_period
        + b"\x00\x00\x00\x00"  # registered_delivery, replace, data_coding, sm_default_msg_id
        + b"\x05Hello"
    )
    header = (16 + len(body)).to_bytes(4, "big") + b"\x00\x00\x00\x04" + bytes(4) + bytes(
        (0, 0, 0, 7)
    )
    assert encode(pdu) == header + body


def test_round_trips_through_the_codec() -> None:
    pdu = build(udh=b"\x05\x00\x03\x01\x02\x01", part=1, parts=2, dlr_mask=31)
    pdu.sequence_number = 1
    assert decode(encode(pdu)) == pdu


# source address (§2.3 source-addr-autodetect; obs. on Kannel 1.4.5)


@pytest.mark.parametrize(
    ("sender", "ton", "npi", "wire"),
    [
        ("12345", 2, 1, b"12345"),
        ("+4670000001", 1, 1, b"4670000001"),
        ("Brand", 5, 0, b"Brand"),
        ("+Brand", 5, 0, b"+Brand"),
        ("123-45", 5, 0, b"123-45"),
        ("", 2, 1, b""),
    ],
)
def test_source_autodetect(sender: str, ton: int, npi: int, wire: bytes) -> None:
    pdu = build(sender=sender)
    assert (pdu.params["source_addr_ton"], pdu.params["source_addr_npi"]) == (ton, npi)
    assert pdu.params["source_addr"] == wire


def test_forced_source_ton_npi_then_autodetect_still_runs() -> None:
    forced = SubmitProfile(source_addr_ton=1, source_addr_npi=1)
    assert _source(build(forced, sender="12345")) == (1, 1, b"12345")
    assert _source(build(forced, sender="Brand")) == (5, 0, b"Brand")  # obs. 1.4.5
    assert _source(build(forced, sender="+4670")) == (1, 1, b"4670")


def test_forced_source_sticks_without_autodetect() -> None:
    forced = SubmitProfile(source_addr_ton=0, source_addr_npi=9, source_addr_autodetect=False)
    assert _source(build(forced, sender="Brand")) == (0, 9, b"Brand")
    assert _source(build(forced, sender="+4670")) == (0, 9, b"+4670")


def test_only_one_forced_value_is_not_forced() -> None:
    assert _source(build(SubmitProfile(source_addr_ton=1), sender="12345")) == (2, 1, b"12345")


def test_alphanumeric_sender_in_gsm_alt_addr_charset() -> None:
    pdu = build(SubmitProfile(alt_addr_charset="GSM"), sender="A@b_")
    assert pdu.params["source_addr"] == b"A?b\x11"


def test_alphanumeric_sender_utf8_as_is_by_default() -> None:
    assert build(sender="Café").params["source_addr"] == "Café".encode()


def _source(pdu):  # type: ignore[no-untyped-def]
    p = pdu.params
    return p["source_addr_ton"], p["source_addr_npi"], p["source_addr"]


# destination address


@pytest.mark.parametrize(
    ("receiver", "ton", "npi", "wire"),
    [("4670000001", 2, 1, b"4670000001"), ("+4670000001", 1, 1, b"4670000001")],
)
def test_destination_default(receiver: str, ton: int, npi: int, wire: bytes) -> None:
    p = build(receiver=receiver).params
    assert (p["dest_addr_ton"], p["dest_addr_npi"], p["destination_addr"]) == (ton, npi, wire)


def test_forced_destination_plus_still_strips_and_sets_ton_1() -> None:
    forced = SubmitProfile(dest_addr_ton=0, dest_addr_npi=0)
    p = build(forced, receiver="4670000002").params
    assert (p["dest_addr_ton"], p["dest_addr_npi"]) == (0, 0)
    p = build(forced, receiver="+4670000001").params  # obs. 1.4.5: 1/0
    assert (p["dest_addr_ton"], p["dest_addr_npi"], p["destination_addr"]) == (
        1,
        0,
        b"4670000001",
    )


def test_smsc_unified_prefix_rewrites_the_destination() -> None:
    p = build(SubmitProfile(unified_prefix="+46,0"), receiver="0701234567").params
    assert (p["dest_addr_ton"], p["destination_addr"]) == (1, b"46701234567")


def test_addresses_over_20_octets_are_malformed() -> None:
    with pytest.raises(MalformedMessage, match="MALFORMED SMS"):
        build(sender="1" * 21)
    with pytest.raises(MalformedMessage):
        build(receiver="1" * 21)
    assert build(sender="+" + "1" * 20).params["source_addr"] == b"1" * 20


# esm_class, pid, priority, service_type


def test_esm_class_default_udh_rpi() -> None:
    assert build().params["esm_class"] == 0x03
    assert build(udh=b"\x05\x00\x03\x01\x02\x01").params["esm_class"] == 0x43
    assert build(rpi=1).params["esm_class"] == 0x83
    assert build(rpi=0).params["esm_class"] == 0x03
    assert build(SubmitProfile(esm_class=0), udh=b"\x00").params["esm_class"] == 0x40


def test_protocol_id_is_pid() -> None:
    assert build(pid=65).params["protocol_id"] == 65


def test_priority_from_request_else_group() -> None:
    group = SubmitProfile(priority=2)
    assert build(group).params["priority_flag"] == 2  # obs.: request without priority
    assert build(group, priority=1).params["priority_flag"] == 1
    assert build(group, priority=0).params["priority_flag"] == 0


def test_service_type_binfo_else_group() -> None:
    assert build().params["service_type"] == b""
    assert build(SubmitProfile(service_type="WAP")).params["service_type"] == b"WAP"
    assert build(SubmitProfile(service_type="WAP"), binfo="CMT").params["service_type"] == b"CMT"
    assert build(binfo="toolongvalue").params["service_type"] == b"toolo"  # Kannel cuts to 5


# data_coding (§2.12)


@pytest.mark.parametrize(
    ("fields", "dcs"),
    [
        ({}, 0x00),
        ({"coding": CODING_8BIT}, 0x04),
        ({"coding": CODING_UCS2}, 0x08),
        ({"mclass": 0}, 0xF0),
        ({"mclass": 1, "alt_dcs": 1}, 0xF1),
        ({"mclass": 1, "coding": CODING_UCS2}, 0x19),
        ({"mwi": 0}, 0xD8),
        ({"compress": 1}, 0x20),
    ],
)
def test_data_coding(fields: dict[str, int], dcs: int) -> None:
    assert build(**fields).params["data_coding"] == dcs


def test_group_alt_dcs() -> None:
    assert build(SubmitProfile(alt_dcs=1)).params["data_coding"] == 0xF1
    assert build(SubmitProfile(alt_dcs=1), coding=CODING_8BIT).params["data_coding"] == 0xF5


def test_mwi_without_text_is_the_discard_group() -> None:
    assert build(mwi=0, payload=b"").params["data_coding"] == 0xC8


# validity and deferred


def test_smpp_time_format() -> None:
    assert smpp_time(NOW) == b"261121080519000+"


def test_validity_and_deferred_count_from_the_request() -> None:
    p = submit_sm_for(msg(validity=5, deferred=2, created=NOW), DEFAULT, now=NOW + 600).params
    assert p["validity_period"] == b"261121081019000+"
    assert p["schedule_delivery_time"] == b"261121080719000+"


def test_group_validityperiod_counts_from_now() -> None:
    p = submit_sm_for(msg(), SubmitProfile(validityperiod=10), now=NOW + 60).params
    assert p["validity_period"] == b"261121081619000+"
    assert "schedule_delivery_time" not in p


def test_request_validity_wins_over_group() -> None:
    p = build(SubmitProfile(validityperiod=10), validity=1).params
    assert p["validity_period"] == b"261121080619000+"


# registered_delivery (§2.8)


@pytest.mark.parametrize(
    ("mask", "rd"),
    [(0, 0), (-1, 0), (1, 1), (2, 2), (3, 1), (4, 16), (8, 0), (16, 0), (24, 0), (31, 17),
     (64, 2), (32, 2), (6, 18), (65, 1)],
)
def test_registered_delivery(mask: int, rd: int) -> None:
    assert registered_delivery(mask) == rd


def test_receipts_only_on_the_first_part() -> None:
    assert build(dlr_mask=31, part=1, parts=2).params["registered_delivery"] == 17
    assert build(dlr_mask=31, part=2, parts=2).params["registered_delivery"] == 0


# long messages (§2.11)


def test_more_messages_to_send_on_all_but_the_last_part() -> None:
    first = build(udh=b"\x05\x00\x03\x2a\x02\x01", part=1, parts=2)
    last = build(udh=b"\x05\x00\x03\x2a\x02\x02", part=2, parts=2)
    assert first.tlvs == [(c.TAG_MORE_MESSAGES_TO_SEND, b"\x01")]
    assert last.tlvs == []


def test_no_more_messages_to_send_on_smpp_33() -> None:
    pdu = build(SubmitProfile(interface_version=0x33), part=1, parts=2)
    assert pdu.tlv(c.TAG_MORE_MESSAGES_TO_SEND) is None


def test_udh_is_prepended_to_short_message() -> None:
    udh = b"\x05\x00\x03\x2a\x02\x01"
    pdu = build(udh=udh, payload=b"x" * 153, part=1, parts=2)
    assert pdu.params["short_message"] == udh + b"x" * 153  # 159 octets, as obs.


def test_over_254_octets_go_to_message_payload() -> None:
    pdu = build(payload=b"y" * 255)
    assert pdu.params["short_message"] == b""
    assert pdu.tlv(c.TAG_MESSAGE_PAYLOAD) == b"y" * 255
    assert build(payload=b"y" * 254).params["short_message"] == b"y" * 254


# meta-data


def test_parse_meta_data() -> None:
    assert parse_meta_data("?smpp?a=1&b=x%20y&?orig_msg?dlr_mask=31&") == {
        "smpp": {"a": b"1", "b": b"x y"},
        "orig_msg": {"dlr_mask": b"31"},
    }
    assert parse_meta_data("") == {}


def test_meta_data_overrides_ton_npi_and_data_coding() -> None:
    meta = "?smpp?source_addr_ton=5&source_addr_npi=0&dest_addr_ton=1&dest_addr_npi=1&"
    p = build(meta_data=meta).params
    assert (p["source_addr_ton"], p["source_addr_npi"]) == (5, 0)
    assert (p["dest_addr_ton"], p["dest_addr_npi"]) == (1, 1)
    assert build(meta_data="?smpp?data_coding=3").params["data_coding"] == 3


def test_meta_data_tlvs_need_an_smpp_tlv_group() -> None:
    tlvs = {
        "my_int": TlvDef("my_int", 0x1400, "integer", 2),
        "my_str": TlvDef("my_str", 0x1401, "nulterminated", 10),
        "my_raw": TlvDef("my_raw", 0x1402, "octetstring", 3),
    }
    profile = SubmitProfile(tlvs=tlvs)
    pdu = build(profile, meta_data="?smpp?my_int=258&my_str=abc&my_raw=%01%02&unknown=1")
    assert pdu.tlvs == [(0x1400, b"\x01\x02"), (0x1401, b"abc\0"), (0x1402, b"\x01\x02")]
    assert build(profile, meta_data="?smpp?my_raw=abcd").tlvs == []  # too long: dropped
    assert build(meta_data="?smpp?user_message_reference=5").tlvs == []  # not configured


def test_smpp_tlv_restricted_to_smsc_ids() -> None:
    only_b = TlvDef("x", 0x1400, "integer", 1, smsc_ids=("B",))
    assert SubmitProfile.from_smsc(_Smsc("a"), [only_b]).tlvs == {}
    assert SubmitProfile.from_smsc(_Smsc("b"), [only_b]).tlvs == {"x": only_b}


def test_tlv_def_validates() -> None:
    with pytest.raises(ValueError):
        TlvDef("x", 0x1400, "float", 1)
    with pytest.raises(ValueError):
        TlvDef("x", 0x1400, "integer", 0)


# profile from a configuration object


class _Smsc:
    """An object with the Kannel keys as attributes, what gateway.config gives."""

    def __init__(self, smsc_id: str, **keys: object) -> None:
        self.smsc_id = smsc_id
        for key, value in keys.items():
            setattr(self, key, value)


def test_profile_from_smsc_reads_kannel_keys_and_unset_values() -> None:
    profile = SubmitProfile.from_smsc(
        _Smsc("sink", source_addr_ton=-1, source_addr_npi=1, esm_class=None, priority=2,
              service_type="X", alt_dcs=True, validityperiod=-1)
    )
    assert profile.source_addr_ton is None and profile.source_addr_npi == 1
    assert profile.esm_class == 3
    assert (profile.priority, profile.service_type, profile.alt_dcs) == (2, "X", 1)
    assert profile.validityperiod is None
    assert submit_sm_for(msg(), _Smsc("sink", priority=1), now=NOW).params["priority_flag"] == 1
