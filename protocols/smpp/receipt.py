"""Delivery receipts in deliver_sm / data_sm, recognised and parsed exactly as Kannel does.

Clients built their dlr-url handlers against Kannel 1.4.5, so the contract is Kannel's
`handle_dlr` (smsc_smpp.c; REFERENCE.md §2.3), quirks included: the receipted_message_id and
message_state TLVs win over the text; the text is read first with one `sscanf` pattern and,
when that fails, by searching `id:`, `stat:` and `err:` anywhere; the `err` code ends up in
the `?smpp?dlr_err=` meta-data as three octets (type 3 = GSM, then the 16-bit cause).

Sans-IO: a decoded `Pdu` in, a `Receipt` out. Nothing here raises on what an SMSC sends —
a receipt we cannot read is answered and logged by the caller, never a dropped link.

registered_delivery (which receipts to ask for, §2.8) is `gateway.submit.registered_delivery`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from protocols.smpp import constants as c
from protocols.smpp.pdu import Pdu

#: dlr-mask bits a receipt can carry (Kannel's dlr.h).
DLR_SUCCESS = 0x01
DLR_FAIL = 0x02
DLR_BUFFERED = 0x04
DLR_EXPIRED = 0x20  # internal; always ORed with DLR_FAIL

#: message_state TLV → DLR type. SCHEDULED (0) and SKIPPED (9) exist only in SMPP 5.0,
#: which we do not speak, so like every other unknown value they fall to DLR_FAIL.
STATE_DLR: dict[int, int] = {
    c.STATE_ENROUTE: DLR_BUFFERED,
    c.STATE_ACCEPTED: DLR_BUFFERED,
    c.STATE_DELIVERED: DLR_SUCCESS,
    c.STATE_EXPIRED: DLR_FAIL | DLR_EXPIRED,
    c.STATE_DELETED: DLR_FAIL,
    c.STATE_UNDELIVERABLE: DLR_FAIL,
    c.STATE_UNKNOWN: DLR_FAIL,
    c.STATE_REJECTED: DLR_FAIL,
}

#: `stat:` words Kannel reports as buffered (4); DELIVRD is 1 and anything else 2.
BUFFERED_STATS = frozenset({"ACCEPTD", "ACKED", "BUFFRED", "BUFFERD", "ENROUTE"})

# Kannel's sscanf("id:%64[^ ] sub:%d dlvrd:%d submit date:%14[0-9] done date:%14[0-9]
# stat:%15[^ ] err:%3[^ ]") as a regex. sscanf never backtracks, so every quantifier is
# possessive; a blank in the format matches any run of isspace() (including none); %d skips
# leading blanks and takes a sign; %[...] takes at least one character and skips nothing.
_WS = rb"[ \t\n\r\x0b\x0c]*+"
_INT = _WS + rb"[+-]?[0-9]++"
_SSCANF = re.compile(
    rb"id:([^ ]{1,64}+)" + _WS + rb"sub:" + _INT + _WS + rb"dlvrd:" + _INT + _WS
    + rb"submit" + _WS + rb"date:([0-9]{1,14}+)" + _WS + rb"done" + _WS
    + rb"date:([0-9]{1,14}+)" + _WS + rb"stat:([^ ]{1,15}+)" + _WS + rb"err:([^ ]{1,3}+)"
)  # fmt: skip
_LEADING_INT = re.compile(rb"[ \t\n\r\x0b\x0c]*([+-]?[0-9]+)")
_BLANKS = b" \t\n\r\x0b\x0c"


@dataclass(frozen=True, slots=True)
class Receipt:
    """One parsed delivery receipt.

    `message_id` is the id as received (stripped as Kannel strips it, not normalised: see
    `message_id.match_key`). `dlr_type` is the dlr-mask bit(s) of the DLR it triggers.
    `err` is the receipt's `err:` value as sent (at most 3 characters the sscanf way, up to
    the next space the fallback way) (or the network_error_code cause as three
    digits when only the TLV carries it), `meta_err` the octets Kannel stores as
    `?smpp?dlr_err=` (b"" when Kannel stores none). `text` is the whole receipt text,
    decoded as latin-1 so every octet survives, for %A/%a/%b and friends.
    """

    message_id: str
    dlr_type: int
    stat: str = ""
    err: str = ""
    submit_date: str = ""
    done_date: str = ""
    text: str = ""
    meta_err: bytes = b""


def is_receipt(pdu: Pdu) -> bool:
    """True for a deliver_sm/data_sm that Kannel treats as a receipt (esm_class 0x04|0x08|0x20).

    Only those bits count: some SMSCs send 0x44 (receipt with UDHI), which is still a receipt.
    """
    if pdu.command_id not in (c.DELIVER_SM, c.DATA_SM):
        return False
    esm_class = pdu.get("esm_class", 0)
    return isinstance(esm_class, int) and bool(esm_class & c.ESM_RECEIPT_MASK)


def _latin1(data: bytes) -> str:
    return data.decode("latin-1")


def _network_error(raw: bytes) -> int:
    """Kannel's error_from_network_error_code: the 16-bit cause of a 3-octet TLV, else 0.

    Some SMSCs put three ASCII digits there instead; Kannel reads those as a number.
    """
    if len(raw) != 3:
        return 0
    if 0x30 <= raw[0] <= 0x39:
        digits = re.match(rb"[0-9]{1,3}", raw.split(b"\0", 1)[0])
        return int(digits.group()) if digits else 0
    return raw[1] << 8 | raw[2]


def _after(text: bytes, key: bytes) -> bytes | None:
    """Kannel's fallback: the value after the first `key` up to the next space, if any."""
    start = text.find(key)
    if start < 0:
        return None
    end = text.find(b" ", start)
    if end < 0:
        return None
    return text[start + len(key) : end]


def _message_state(pdu: Pdu) -> int | None:
    raw = pdu.tlv(c.TAG_MESSAGE_STATE)
    return raw[0] if raw is not None and len(raw) == 1 else None


def parse_receipt(pdu: Pdu) -> Receipt | None:
    """The receipt in `pdu` as Kannel's handle_dlr reads it, or None when it names no message.

    Order as in Kannel: receipted_message_id + message_state TLVs give id and type; the text
    is still read whenever one of id, type or network_error_code is missing (that is how the
    `err:` of a success receipt reaches `dlr_err`); the TLV id and type win over the text.
    """
    if not is_receipt(pdu):
        return None
    message_id: bytes | None = None
    dlr_type: int | None = None
    tlv_id = pdu.tlv(c.TAG_RECEIPTED_MESSAGE_ID)
    if tlv_id is not None:
        message_id = tlv_id[:-1] if tlv_id.endswith(b"\0") else tlv_id
        state = _message_state(pdu)
        if state is not None:
            dlr_type = STATE_DLR.get(state, DLR_FAIL)

    network_err = pdu.tlv(c.TAG_NETWORK_ERROR_CODE)
    tlv_err = _network_error(network_err) if network_err is not None else 0
    err_int = tlv_err

    # Kannel's respstr: short_message, or message_payload when short_message is empty (data_sm
    # has none). No text at all (None) is not the same as an empty one: only text is parsed.
    short_message = pdu.get("short_message", b"") if pdu.command_id == c.DELIVER_SM else b""
    if not isinstance(short_message, bytes):
        short_message = b""
    respstr = short_message if short_message else pdu.tlv(c.TAG_MESSAGE_PAYLOAD)
    text = respstr if respstr is not None else b""

    stat = err = submit_date = done_date = b""
    dlr_err: bytes | None = None
    if respstr is not None and (message_id is None or network_err is None or dlr_type is None):
        # sscanf reads a C string: it stops at the first NUL.
        match = _SSCANF.match(text.split(b"\0", 1)[0])
        if match:
            if message_id is None:
                message_id = match.group(1).strip(_BLANKS)
            submit_date, done_date = match.group(2), match.group(3)
            stat = match.group(4).strip(_BLANKS)
            dlr_err = match.group(5).strip(_BLANKS)
            number = _LEADING_INT.match(match.group(5))
            if number:
                err_int = int(number.group(1))
        else:
            # The fallback never converts err: Kannel's err_int stays as it was (0 unless a
            # network_error_code was present, and then that TLV is what gets stored).
            if message_id is None:
                message_id = _after(text, b"id:")
            stat = _after(text, b"stat:") or b""
            dlr_err = _after(text, b"err:")
        if dlr_type is None:
            word = _latin1(stat)
            if word == "DELIVRD":
                dlr_type = DLR_SUCCESS
            elif word in BUFFERED_STATS:
                dlr_type = DLR_BUFFERED
            else:
                dlr_type = DLR_FAIL

    if message_id is None or dlr_type is None:
        return None
    if network_err is not None:
        meta_err = network_err
        err = b"%03d" % tlv_err
    elif dlr_err is not None:
        meta_err = bytes((3, err_int >> 8 & 0xFF, err_int & 0xFF))
        err = dlr_err
    else:
        meta_err = b""
    return Receipt(
        message_id=_latin1(message_id),
        dlr_type=dlr_type,
        stat=_latin1(stat),
        err=_latin1(err),
        submit_date=_latin1(submit_date),
        done_date=_latin1(done_date),
        text=_latin1(text),
        meta_err=meta_err,
    )
