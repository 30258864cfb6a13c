"""Receipt recognition and parsing, row by row against Kannel's handle_dlr (REFERENCE §2.3).

Receipts come in three shapes here: what our simulator sends (text + TLVs), what a
Kannel-compatible SMSC sends with text only, and junk an SMSC should not send but does.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.smpp import constants as c
from protocols.smpp.pdu import HEADER, Pdu, decode
from protocols.smpp.receipt import Receipt, is_receipt, parse_receipt
from protocols.smpp.simulator.config import STATS, FinalState
from protocols.smpp.simulator.receipts import receipt_body, state_parts

TEXT = (
    b"id:1795248276000055 sub:001 dlvrd:001 submit date:2611210805 done date:2611210805 "
    b"stat:DELIVRD err:000 text:dlr all"
)


def deliver(
    short_message: bytes = b"",
    esm_class: int = 0x04,
    tlvs: list[tuple[int, bytes]] | None = None,
    command_id: int = c.DELIVER_SM,
) -> Pdu:
    params = {"esm_class": esm_class}
    if command_id == c.DELIVER_SM:
        params["short_message"] = short_message
    return Pdu(command_id, 1, 0, params, list(tlvs or []))


def text_receipt(stat: str, err: str = "000", rid: str = "abc") -> bytes:
    return (
        f"id:{rid} sub:001 dlvrd:000 submit date:2611210805 done date:2611210806 "
        f"stat:{stat} err:{err} text:hello"
    ).encode()


def tlv_receipt(state: int | None, rid: bytes = b"77", text: bytes = b"", **extra: bytes) -> Pdu:
    tlvs = [(c.TAG_RECEIPTED_MESSAGE_ID, rid + b"\0")]
    if state is not None:
        tlvs.append((c.TAG_MESSAGE_STATE, bytes((state,))))
    if "nec" in extra:
        tlvs.append((c.TAG_NETWORK_ERROR_CODE, extra["nec"]))
    return deliver(text, tlvs=tlvs)


# -- recognition ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("esm_class", "expected"),
    [(0, False), (0x03, False), (0x40, False), (0x04, True), (0x08, True), (0x20, True),
     (0x44, True), (0x10, False)],
)  # fmt: skip
def test_is_receipt_by_esm_class_bits(esm_class: int, expected: bool) -> None:
    assert is_receipt(deliver(TEXT, esm_class)) is expected
    assert is_receipt(deliver(esm_class=esm_class, command_id=c.DATA_SM)) is expected


def test_only_deliver_and_data_sm_are_receipts() -> None:
    assert not is_receipt(Pdu(c.SUBMIT_SM, 1, 0, {"esm_class": 4, "short_message": TEXT}))
    assert parse_receipt(Pdu(c.SUBMIT_SM, 1, 0, {"esm_class": 4, "short_message": TEXT})) is None


def test_mo_is_not_parsed() -> None:
    assert parse_receipt(deliver(TEXT, esm_class=0)) is None


# -- TLVs -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "dlr_type"),
    [(c.STATE_ENROUTE, 4), (c.STATE_ACCEPTED, 4), (c.STATE_DELIVERED, 1),
     (c.STATE_EXPIRED, 2 | 0x20), (c.STATE_DELETED, 2), (c.STATE_UNDELIVERABLE, 2),
     (c.STATE_UNKNOWN, 2), (c.STATE_REJECTED, 2), (0, 2), (9, 2), (200, 2)],
)  # fmt: skip
def test_message_state_mapping(state: int, dlr_type: int) -> None:
    receipt = parse_receipt(tlv_receipt(state))
    assert receipt is not None
    assert (receipt.message_id, receipt.dlr_type) == ("77", dlr_type)
    assert receipt.meta_err == b"" and receipt.err == ""


def test_tlvs_win_over_the_text() -> None:
    receipt = parse_receipt(tlv_receipt(c.STATE_DELIVERED, b"tlv-id", text_receipt("UNDELIV")))
    assert receipt is not None
    assert (receipt.message_id, receipt.dlr_type, receipt.stat) == ("tlv-id", 1, "UNDELIV")
    # No network_error_code: the text's err reaches dlr_err (Kannel's obs. %03%00%00).
    assert (receipt.err, receipt.meta_err) == ("000", b"\x03\x00\x00")


def test_receipted_id_without_message_state_takes_the_type_from_the_text() -> None:
    receipt = parse_receipt(tlv_receipt(None, b"tlv-id", text_receipt("DELIVRD", rid="other")))
    assert receipt is not None
    assert (receipt.message_id, receipt.dlr_type) == ("tlv-id", 1)


def test_receipted_id_without_state_or_text_is_no_receipt() -> None:
    assert parse_receipt(tlv_receipt(None)) is None


def test_network_error_code_is_the_err_and_dlr_err() -> None:
    receipt = parse_receipt(
        tlv_receipt(c.STATE_UNDELIVERABLE, text=text_receipt("UNDELIV", "999"), nec=b"\x03\x01\x02")
    )
    assert receipt is not None
    assert (receipt.err, receipt.meta_err, receipt.dlr_type) == ("258", b"\x03\x01\x02", 2)


def test_network_error_code_as_ascii_digits() -> None:
    receipt = parse_receipt(tlv_receipt(c.STATE_UNDELIVERABLE, nec=b"034"))
    assert receipt is not None
    assert (receipt.err, receipt.meta_err) == ("034", b"034")


def test_odd_length_network_error_code_is_kept_raw() -> None:
    receipt = parse_receipt(tlv_receipt(c.STATE_UNDELIVERABLE, nec=b"\x03\x01"))
    assert receipt is not None
    assert (receipt.err, receipt.meta_err) == ("000", b"\x03\x01")


# -- text: the sscanf way ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stat", "dlr_type"),
    [("DELIVRD", 1), ("ACCEPTD", 4), ("ACKED", 4), ("BUFFRED", 4), ("BUFFERD", 4),
     ("ENROUTE", 4), ("UNDELIV", 2), ("EXPIRED", 2), ("REJECTD", 2), ("DELETED", 2),
     ("UNKNOWN", 2), ("delivrd", 2), ("WHATEVER", 2)],
)  # fmt: skip
def test_stat_words(stat: str, dlr_type: int) -> None:
    receipt = parse_receipt(deliver(text_receipt(stat)))
    assert receipt is not None
    assert (receipt.message_id, receipt.stat, receipt.dlr_type) == ("abc", stat, dlr_type)


def test_kannel_reference_receipt() -> None:
    receipt = parse_receipt(deliver(TEXT))
    assert receipt == Receipt(
        message_id="1795248276000055",
        dlr_type=1,
        stat="DELIVRD",
        err="000",
        submit_date="2611210805",
        done_date="2611210805",
        text=TEXT.decode(),
        meta_err=b"\x03\x00\x00",
    )


@pytest.mark.parametrize(
    ("err", "meta"), [("000", b"\x03\x00\x00"), ("001", b"\x03\x00\x01"), ("258", b"\x03\x01\x02"),
                      ("999", b"\x03\x03\xe7"), ("-1", b"\x03\xff\xff"), ("x", b"\x03\x00\x00")]
)  # fmt: skip
def test_meta_err_from_the_text(err: str, meta: bytes) -> None:
    receipt = parse_receipt(deliver(text_receipt("UNDELIV", err)))
    assert receipt is not None
    assert (receipt.err, receipt.meta_err) == (err, meta)


def test_err_field_is_at_most_three_characters() -> None:
    receipt = parse_receipt(deliver(text_receipt("UNDELIV", "12345")))
    assert receipt is not None
    assert (receipt.err, receipt.meta_err) == ("123", b"\x03\x00\x7b")


def test_id_of_64_characters_parses_and_65_falls_back() -> None:
    ok = parse_receipt(deliver(text_receipt("DELIVRD", rid="a" * 64)))
    assert ok is not None and ok.message_id == "a" * 64 and ok.submit_date == "2611210805"
    # 65: sscanf stops after 64 and then misses " sub:"; the fallback still finds the id.
    long = parse_receipt(deliver(text_receipt("DELIVRD", rid="b" * 65)))
    assert long is not None
    assert (long.message_id, long.dlr_type, long.submit_date) == ("b" * 65, 1, "")


def test_stat_of_16_characters_falls_back() -> None:
    receipt = parse_receipt(deliver(text_receipt("DELIVRD" + "X" * 9)))
    assert receipt is not None and receipt.submit_date == "" and receipt.dlr_type == 2


def test_dates_of_14_digits_parse_and_15_fall_back() -> None:
    ok = deliver(TEXT.replace(b"2611210805 done", b"20261121080500 done"))
    assert parse_receipt(ok).submit_date == "20261121080500"  # type: ignore[union-attr]
    too_long = deliver(TEXT.replace(b"2611210805 done", b"202611210805000 done"))
    fallback = parse_receipt(too_long)
    assert fallback is not None and fallback.submit_date == "" and fallback.dlr_type == 1


def test_extra_and_missing_blanks_are_fine_for_sscanf() -> None:
    spaced = (
        b"id:abc  sub: 1 dlvrd:1\tsubmit  date:2611210805 done date:2611210806 stat:DELIVRD err:0"
    )
    receipt = parse_receipt(deliver(spaced))
    assert receipt is not None
    assert (receipt.message_id, receipt.done_date, receipt.err) == ("abc", "2611210806", "0")
    tight = b"id:abc sub:1dlvrd:1submitdate:1donedate:2stat:DELIVRD err:7"
    receipt = parse_receipt(deliver(tight))
    assert receipt is not None and receipt.done_date == "2" and receipt.meta_err == b"\x03\x00\x07"


def test_sscanf_does_not_backtrack_into_the_id() -> None:
    # The id swallows "sub:1"; sscanf then fails and the fallback cuts at the first space.
    receipt = parse_receipt(
        deliver(b"id:xsub:1 dlvrd:1 submit date:1 done date:1 stat:DELIVRD err:0 ")
    )
    assert receipt is not None and receipt.message_id == "xsub:1" and receipt.submit_date == ""


def test_sscanf_reads_up_to_a_nul() -> None:
    receipt = parse_receipt(deliver(TEXT[:40] + b"\0" + TEXT[40:]))
    assert receipt is not None and receipt.submit_date == ""  # fallback way
    assert receipt.message_id == "1795248276000055" and receipt.dlr_type == 1


# -- text: the fallback way --------------------------------------------------------------------


def test_fallback_finds_fields_anywhere() -> None:
    receipt = parse_receipt(deliver(b"Receipt id:XY12 status stat:DELIVRD err:004 done"))
    assert receipt is not None
    assert (receipt.message_id, receipt.stat, receipt.dlr_type, receipt.err) == (
        "XY12",
        "DELIVRD",
        1,
        "004",
    )
    # Kannel's fallback never converts err: dlr_err is type 3 with cause 0.
    assert receipt.meta_err == b"\x03\x00\x00"


def test_fallback_err_is_not_limited_to_three_characters() -> None:
    receipt = parse_receipt(deliver(b"id:1 stat:UNDELIV err:12345 "))
    assert receipt is not None
    assert (receipt.err, receipt.meta_err, receipt.dlr_type) == ("12345", b"\x03\x00\x00", 2)


def test_fallback_needs_a_space_after_each_value() -> None:
    assert parse_receipt(deliver(b"stat:DELIVRD id:XY12")) is None
    receipt = parse_receipt(deliver(b"id:XY12 stat:DELIVRD"))
    assert receipt is not None and (receipt.stat, receipt.dlr_type) == ("", 2)
    assert receipt.meta_err == b"" and receipt.err == ""


def test_missing_fields() -> None:
    assert parse_receipt(deliver(b"stat:DELIVRD err:000 ")) is None  # no id
    receipt = parse_receipt(deliver(b"id:1 "))
    assert receipt is not None and (receipt.dlr_type, receipt.stat, receipt.err) == (2, "", "")
    assert parse_receipt(deliver(b"")) is None


def test_empty_short_message_uses_message_payload() -> None:
    pdu = deliver(b"", tlvs=[(c.TAG_MESSAGE_PAYLOAD, TEXT)])
    assert parse_receipt(pdu).message_id == "1795248276000055"  # type: ignore[union-attr]
    data = deliver(command_id=c.DATA_SM, tlvs=[(c.TAG_MESSAGE_PAYLOAD, TEXT)])
    receipt = parse_receipt(data)
    assert receipt is not None and receipt.dlr_type == 1 and receipt.text == TEXT.decode()


def test_non_ascii_text_is_latin1() -> None:
    receipt = parse_receipt(deliver(text_receipt("DELIVRD", rid="\xe9t\xe9").replace(b"\xc3", b"")))
    assert receipt is not None and receipt.text.startswith("id:")


# -- our simulator and the wire ----------------------------------------------------------------


@pytest.mark.parametrize("stat", sorted(STATS))
@pytest.mark.parametrize("err", [0, 1, 258])
def test_simulator_receipts_parse(stat: str, err: int) -> None:
    state = FinalState(stat, err)
    body = receipt_body(
        b"812FC7470000001B", (1, 1, b"4670000001"), (5, 0, b"Brand"), 0.0, 61.0,
        state_parts(state), b"hi",
    )  # fmt: skip
    pdu = decode(HEADER.pack(16 + len(body), c.DELIVER_SM, 0, 7) + body)
    receipt = parse_receipt(pdu)
    assert receipt is not None
    expected_type = {
        "DELIVRD": 1, "ACCEPTD": 4, "ENROUTE": 4, "EXPIRED": 0x22,
    }.get(stat, 2)  # fmt: skip
    assert (receipt.message_id, receipt.dlr_type) == ("812FC7470000001B", expected_type)
    assert receipt.meta_err == bytes((3, err >> 8, err & 0xFF))
    assert receipt.err == f"{err:03d}"
    if state.failed:
        # id, state and network_error_code all in TLVs: Kannel does not read the text at all.
        assert (receipt.stat, receipt.submit_date) == ("", "")
    else:
        # No network_error_code: the text is read, and its err: becomes dlr_err.
        assert (receipt.stat, receipt.submit_date, receipt.done_date) == (
            stat,
            "7001010000",
            "7001010001",
        )
    assert receipt.text.endswith("text:hi")


# -- junk never raises ------------------------------------------------------------------------

TAGS = st.sampled_from(
    [c.TAG_RECEIPTED_MESSAGE_ID, c.TAG_MESSAGE_STATE, c.TAG_NETWORK_ERROR_CODE,
     c.TAG_MESSAGE_PAYLOAD, 0x1234]
)  # fmt: skip
FIELDS = st.sampled_from(
    [b"id:", b"sub:", b"dlvrd:", b"submit date:", b"done date:", b"stat:", b"err:", b" ",
     b"\0", b"DELIVRD", b"0", b"\t"]
)  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(
    text=st.lists(st.one_of(FIELDS, st.binary(max_size=20)), max_size=20).map(b"".join),
    tlvs=st.lists(st.tuples(TAGS, st.binary(max_size=8)), max_size=5),
    esm_class=st.integers(0, 255),
    command_id=st.sampled_from([c.DELIVER_SM, c.DATA_SM]),
)
def test_junk_never_raises(
    text: bytes, tlvs: list[tuple[int, bytes]], esm_class: int, command_id: int
) -> None:
    receipt = parse_receipt(deliver(text, esm_class, tlvs, command_id))
    if receipt is not None:
        assert receipt.dlr_type in (1, 2, 4, 0x22)
        nec = next((v for t, v in tlvs if t == c.TAG_NETWORK_ERROR_CODE), None)
        assert receipt.meta_err == nec if nec is not None else len(receipt.meta_err) in (0, 3)
        if receipt.submit_date:  # the sscanf way: %3[^ ]; the fallback takes up to a space
            assert len(receipt.err) <= 3
        assert receipt.text.encode("latin-1") in text + b"".join(v for _t, v in tlvs)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_never_raise(data: bytes) -> None:
    parse_receipt(deliver(data))
