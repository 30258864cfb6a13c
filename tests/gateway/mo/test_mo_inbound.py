"""deliver_sm / data_sm → InboundSms, as Kannel's pdu_to_msg builds its Msg."""

from __future__ import annotations

import pytest
from mo_support import deliver, make_config

from gateway.message import UNSET
from gateway.mo.inbound import MalformedMo, inbound_sms, meta_data_of, tlvs_for
from protocols.smpp import constants as c
from protocols.smpp.pdu import Pdu, tlv_encode_value
from protocols.sms.dcs import DC_7BIT, DC_8BIT, DC_UCS2

CONFIG = make_config()
SMSC = CONFIG.smscs[0]


def mo(pdu: Pdu, **kw: object):  # type: ignore[no-untyped-def]
    args: dict[str, object] = {
        "smsc_id": "sink", "account": "esme", "message_id": "id-1", "now": 1000.5, "smsc": SMSC,
    }
    args.update(kw)
    return inbound_sms(pdu, **args)  # type: ignore[arg-type]


def test_gsm_text_becomes_utf8_and_keeps_the_raw_septets() -> None:
    # "Hé€" in unpacked GSM: H, é = 0x05, € = 1B 65
    sms = mo(deliver(b"H\x05\x1b\x65"))
    assert sms.text == "Hé€".encode()
    assert sms.data == b"H\x05\x1b\x65"
    assert sms.coding == DC_7BIT and sms.keyword_text == "Hé€"
    assert (sms.mclass, sms.mwi, sms.compress, sms.alt_dcs) == (UNSET, UNSET, 0, 0)
    assert sms.sender == "+46700000001" and sms.receiver == "12345"
    assert sms.smsc_id == "sink" and sms.account == "esme" and sms.time == 1000.0
    assert sms.pid == 0 and sms.rpi == UNSET and sms.priority == 0


def test_ucs2_text_stays_utf16_but_matches_as_characters() -> None:
    sms = mo(deliver("Привет".encode("utf-16-be"), data_coding=8))
    assert sms.coding == DC_UCS2
    assert sms.text == "Привет".encode("utf-16-be")
    assert sms.keyword_text == "Привет"


@pytest.mark.parametrize("dcs", [0x02, 0x04, 0xF4, 0xF5])
def test_eight_bit_octets_are_kept(dcs: int) -> None:
    sms = mo(deliver(b"\x00\xff\x80", data_coding=dcs))
    assert sms.coding == DC_8BIT and sms.text == b"\x00\xff\x80"


@pytest.mark.parametrize(
    ("dcs", "raw", "text"),
    [
        (0x01, b"plain ascii", "plain ascii"),
        (0x03, "café".encode("latin-1"), "café"),
        (0x06, "Жук".encode("iso8859-5"), "Жук"),
        (0x07, "שלום".encode("iso8859-8"), "שלום"),
    ],
)
def test_single_byte_charsets_become_utf8(dcs: int, raw: bytes, text: str) -> None:
    sms = mo(deliver(raw, data_coding=dcs))
    assert sms.coding == DC_7BIT and sms.text == text.encode()


def test_class_and_alt_dcs_from_the_1111_group() -> None:
    sms = mo(deliver(b"flash", data_coding=0xF0))
    assert (sms.coding, sms.mclass, sms.alt_dcs) == (DC_7BIT, 0, 1)
    assert sms.text == b"flash"


def test_class_from_group_00_and_ucs2() -> None:
    sms = mo(deliver("é".encode("utf-16-be"), data_coding=0x19))
    assert (sms.coding, sms.mclass, sms.alt_dcs) == (DC_UCS2, 1, 0)


def test_mwi_group() -> None:
    sms = mo(deliver(b"vm", data_coding=0xD8))
    assert (sms.coding, sms.mwi) == (DC_7BIT, 0)
    assert mo(deliver(b"", data_coding=0xC0)).mwi == 4


def test_udh_is_split_off_when_udhi_is_set() -> None:
    sms = mo(deliver(b"\x05\x00\x03\x07\x02\x01abc", esm_class=0x40))
    assert sms.udh == b"\x05\x00\x03\x07\x02\x01" and sms.text == b"abc"


def test_udh_longer_than_the_data_is_refused() -> None:
    with pytest.raises(MalformedMo) as refused:
        mo(deliver(b"\x09\x00\x03", esm_class=0x40))
    assert refused.value.status == c.ESME_RINVESMCLASS


def test_message_payload_when_short_message_is_empty() -> None:
    pdu = deliver(b"", tlvs=[(c.TAG_MESSAGE_PAYLOAD, b"long text")])
    assert mo(pdu).text == b"long text"


def test_sar_tlvs_become_a_concatenation_udh() -> None:
    pdu = deliver(b"abc")
    pdu.add_tlv("sar_msg_ref_num", 0x1234).add_tlv("sar_total_segments", 3)
    pdu.add_tlv("sar_segment_seqnum", 2)
    assert mo(pdu).udh == b"\x05\x00\x03\x34\x03\x02"


def test_sar_tlvs_with_udhi_are_refused() -> None:
    pdu = deliver(b"\x05\x00\x03\x01\x02\x01abc", esm_class=0x40)
    pdu.add_tlv("sar_msg_ref_num", 1).add_tlv("sar_total_segments", 2)
    pdu.add_tlv("sar_segment_seqnum", 1)
    with pytest.raises(MalformedMo) as refused:
        mo(pdu)
    assert refused.value.status == c.ESME_RINVOPTPARAMVAL


@pytest.mark.parametrize(
    ("raw", "ton", "expected"),
    [
        (b"0046700000001", 1, "+46700000001"),
        (b"+46700000001", 1, "+46700000001"),
        (b"112", 1, "+112"),
        (b"12345", 0, "12345"),
        (b"Brand", 5, "Brand"),
    ],
)
def test_addresses(raw: bytes, ton: int, expected: str) -> None:
    assert mo(deliver(source=raw, source_ton=ton)).sender == expected


@pytest.mark.parametrize(("raw", "ton"), [(b"4670000abc1", 1), (b"TwelveChars!", 5)])
def test_malformed_addresses_are_refused(raw: bytes, ton: int) -> None:
    with pytest.raises(MalformedMo) as refused:
        mo(deliver(source=raw, source_ton=ton))
    assert refused.value.status == c.ESME_RINVSRCADR
    with pytest.raises(MalformedMo):
        mo(deliver(dest=raw, dest_ton=ton))


def test_alt_addr_charset_gsm_decodes_alphanumeric_senders() -> None:
    config = make_config(smsc="alt-addr-charset = gsm")
    sms = mo(deliver(source=b"Caf\x05", source_ton=5), smsc=config.smscs[0])
    assert sms.sender == "Café"


def test_my_number_replaces_the_receiver() -> None:
    config = make_config(smsc="my-number = 5555")
    assert mo(deliver(), smsc=config.smscs[0]).receiver == "5555"


def test_alt_charset_of_the_link_decodes_data_coding_0() -> None:
    config = make_config(smsc="alt-charset = ISO-8859-1")
    sms = mo(deliver("é".encode("latin-1")), smsc=config.smscs[0])
    assert sms.text == "é".encode()


def test_other_fields() -> None:
    pdu = deliver(b"x", esm_class=0x80, service_type=b"BILL", protocol_id=7, priority_flag=2)
    pdu.add_tlv("receipted_message_id", b"abc123")
    sms = mo(pdu)
    assert (sms.rpi, sms.binfo, sms.pid, sms.priority) == (1, "BILL", 7, 2)
    assert sms.foreign_id == "abc123"


def test_data_sm_uses_message_payload_and_has_no_account() -> None:
    pdu = Pdu(c.DATA_SM, 2, params={
        "source_addr": b"4670000001", "source_addr_ton": 1, "destination_addr": b"123",
        "data_coding": 0,
    }, tlvs=[(c.TAG_MESSAGE_PAYLOAD, b"data sm")])
    sms = mo(pdu)
    assert sms.text == b"data sm" and sms.account == "" and sms.pid == UNSET


def test_configured_tlvs_become_meta_data() -> None:
    config = make_config(services="""
group = smpp-tlv
name = my_tlv
tag = 0x1401
type = nulterminated
length = 20

group = smpp-tlv
name = num
tag = 0x1402
type = integer
length = 2
smsc-id = other
""")
    pdu = deliver(b"x", tlvs=[(0x1401, b"a b\0"), (0x1402, tlv_encode_value(0x1402, b"\x00\x05"))])
    tlvs = tlvs_for("sink", config.smpp_tlvs)
    assert [t.name for t in tlvs] == ["my_tlv"]
    assert meta_data_of(pdu, tlvs) == "?smpp?my_tlv=a+b&"
    assert mo(pdu, tlvs=tlvs).meta_data == "?smpp?my_tlv=a+b&"


def test_meta_data_has_the_smpp_group_even_without_tlvs() -> None:
    assert mo(deliver(b"x")).meta_data == "?smpp?"
