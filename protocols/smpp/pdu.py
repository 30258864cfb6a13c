"""SMPP 3.4 PDU codec: bytes in, values out, and back.

One `Pdu` class covers all 27 operations; each operation's mandatory body is a layout
table interpreted by `encode` and `decode_body`. Values stay as the wire has them
(C-strings and short_message as `bytes`) so nothing is lost between a carrier and a
client, and optional parameters are kept as raw ``(tag, value)`` pairs in arrival order
so vendor TLVs pass through untouched. Typed access to the standard TLVs is a lookup away.

Decoding is lenient where carriers are sloppy but harmless (over-long C-strings are kept)
and strict where the stream would lose its meaning (missing NUL, sm_length past the end,
TLVs overrunning the body): those raise `SmppError` carrying the status to answer with.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from struct import Struct
from typing import Any

from protocols.smpp import constants as c

HEADER = Struct(">IIII")
_TLV_HEAD = Struct(">HH")
_U16 = Struct(">H")
_U32 = Struct(">I")
HEADER_SIZE = 16


class SmppError(Exception):
    """A PDU that cannot be accepted, with the SMPP status to answer it with.

    `fatal` means the byte stream has lost its PDU boundaries and the connection must be
    closed after the generic_nack; otherwise the session answers and carries on.
    """

    def __init__(
        self,
        status: int,
        message: str,
        command_id: int | None = None,
        sequence_number: int = 0,
        fatal: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.command_id = command_id
        self.sequence_number = sequence_number
        self.fatal = fatal

    def __repr__(self) -> str:
        return (
            f"SmppError(status=0x{self.status:08x}, {self.message!r}, "
            f"command_id={self.command_id!r}, sequence_number={self.sequence_number}, "
            f"fatal={self.fatal})"
        )


# Field kinds of the layout tables.
CSTR = 0  # NUL-terminated octet string; (name, CSTR, max octets incl. NUL, decode status)
INT1 = 1
SM = 2  # sm_length + short_message
DESTS = 3  # submit_multi number_of_dests + dest_address list
UNSUCC = 4  # submit_multi_resp no_unsuccess + unsuccess_sme list

Field = tuple[str, int, int, int]

_INVLEN = c.ESME_RINVCMDLEN


def _cs(name: str, size: int, status: int = _INVLEN) -> Field:
    return (name, CSTR, size, status)


def _i1(name: str) -> Field:
    return (name, INT1, 1, _INVLEN)


_SM: Field = ("short_message", SM, 254, c.ESME_RINVMSGLEN)

_BIND: tuple[Field, ...] = (
    _cs("system_id", 16, c.ESME_RINVSYSID),
    _cs("password", 9, c.ESME_RINVPASWD),
    _cs("system_type", 13, c.ESME_RINVSYSTYP),
    _i1("interface_version"),
    _i1("addr_ton"),
    _i1("addr_npi"),
    _cs("address_range", 41),
)
_BIND_RESP: tuple[Field, ...] = (_cs("system_id", 16, c.ESME_RINVSYSID),)
_MESSAGE_ID: tuple[Field, ...] = (_cs("message_id", 65, c.ESME_RINVMSGID),)
_SRC: tuple[Field, ...] = (
    _i1("source_addr_ton"),
    _i1("source_addr_npi"),
    _cs("source_addr", 21, c.ESME_RINVSRCADR),
)
_DST: tuple[Field, ...] = (
    _i1("dest_addr_ton"),
    _i1("dest_addr_npi"),
    _cs("destination_addr", 21, c.ESME_RINVDSTADR),
)
_SUBMIT_TAIL: tuple[Field, ...] = (
    _i1("esm_class"),
    _i1("protocol_id"),
    _i1("priority_flag"),
    _cs("schedule_delivery_time", 17, c.ESME_RINVSCHED),
    _cs("validity_period", 17, c.ESME_RINVEXPIRY),
    _i1("registered_delivery"),
    _i1("replace_if_present_flag"),
    _i1("data_coding"),
    _i1("sm_default_msg_id"),
    _SM,
)
_SERVICE_TYPE = _cs("service_type", 6, c.ESME_RINVSERTYP)
_SUBMIT: tuple[Field, ...] = (_SERVICE_TYPE, *_SRC, *_DST, *_SUBMIT_TAIL)

#: Mandatory body of every operation, in wire order.
LAYOUTS: dict[int, tuple[Field, ...]] = {
    c.GENERIC_NACK: (),
    c.BIND_RECEIVER: _BIND,
    c.BIND_TRANSMITTER: _BIND,
    c.BIND_TRANSCEIVER: _BIND,
    c.BIND_RECEIVER_RESP: _BIND_RESP,
    c.BIND_TRANSMITTER_RESP: _BIND_RESP,
    c.BIND_TRANSCEIVER_RESP: _BIND_RESP,
    c.OUTBIND: (_cs("system_id", 16, c.ESME_RINVSYSID), _cs("password", 9, c.ESME_RINVPASWD)),
    c.UNBIND: (),
    c.UNBIND_RESP: (),
    c.ENQUIRE_LINK: (),
    c.ENQUIRE_LINK_RESP: (),
    c.SUBMIT_SM: _SUBMIT,
    c.SUBMIT_SM_RESP: _MESSAGE_ID,
    c.DELIVER_SM: _SUBMIT,
    c.DELIVER_SM_RESP: _MESSAGE_ID,
    c.SUBMIT_MULTI: (
        _SERVICE_TYPE,
        *_SRC,
        ("dest_addresses", DESTS, 0, c.ESME_RINVNUMDESTS),
        *_SUBMIT_TAIL,
    ),
    c.SUBMIT_MULTI_RESP: (*_MESSAGE_ID, ("unsuccess_smes", UNSUCC, 0, _INVLEN)),
    c.DATA_SM: (
        _SERVICE_TYPE,
        _i1("source_addr_ton"),
        _i1("source_addr_npi"),
        _cs("source_addr", 65, c.ESME_RINVSRCADR),
        _i1("dest_addr_ton"),
        _i1("dest_addr_npi"),
        _cs("destination_addr", 65, c.ESME_RINVDSTADR),
        _i1("esm_class"),
        _i1("registered_delivery"),
        _i1("data_coding"),
    ),
    c.DATA_SM_RESP: _MESSAGE_ID,
    c.QUERY_SM: (*_MESSAGE_ID, *_SRC),
    c.QUERY_SM_RESP: (
        *_MESSAGE_ID,
        _cs("final_date", 17),
        _i1("message_state"),
        _i1("error_code"),
    ),
    c.CANCEL_SM: (_SERVICE_TYPE, *_MESSAGE_ID, *_SRC, *_DST),
    c.CANCEL_SM_RESP: (),
    c.REPLACE_SM: (
        *_MESSAGE_ID,
        *_SRC,
        _cs("schedule_delivery_time", 17, c.ESME_RINVSCHED),
        _cs("validity_period", 17, c.ESME_RINVEXPIRY),
        _i1("registered_delivery"),
        _i1("sm_default_msg_id"),
        _SM,
    ),
    c.REPLACE_SM_RESP: (),
    c.ALERT_NOTIFICATION: (
        _i1("source_addr_ton"),
        _i1("source_addr_npi"),
        _cs("source_addr", 65, c.ESME_RINVSRCADR),
        _i1("esme_addr_ton"),
        _i1("esme_addr_npi"),
        _cs("esme_addr", 65),
    ),
}
assert len(LAYOUTS) == 27

# Standard TLVs and how their value is typed: "int1", "int2", "int4", "cstr" or "octets".
TLV_TYPES: dict[int, tuple[str, str]] = {
    c.TAG_DEST_ADDR_SUBUNIT: ("dest_addr_subunit", "int1"),
    c.TAG_DEST_NETWORK_TYPE: ("dest_network_type", "int1"),
    c.TAG_DEST_BEARER_TYPE: ("dest_bearer_type", "int1"),
    c.TAG_DEST_TELEMATICS_ID: ("dest_telematics_id", "int2"),
    c.TAG_SOURCE_ADDR_SUBUNIT: ("source_addr_subunit", "int1"),
    c.TAG_SOURCE_NETWORK_TYPE: ("source_network_type", "int1"),
    c.TAG_SOURCE_BEARER_TYPE: ("source_bearer_type", "int1"),
    c.TAG_SOURCE_TELEMATICS_ID: ("source_telematics_id", "int1"),
    c.TAG_QOS_TIME_TO_LIVE: ("qos_time_to_live", "int4"),
    c.TAG_PAYLOAD_TYPE: ("payload_type", "int1"),
    c.TAG_ADDITIONAL_STATUS_INFO_TEXT: ("additional_status_info_text", "cstr"),
    c.TAG_RECEIPTED_MESSAGE_ID: ("receipted_message_id", "cstr"),
    c.TAG_MS_MSG_WAIT_FACILITIES: ("ms_msg_wait_facilities", "int1"),
    c.TAG_PRIVACY_INDICATOR: ("privacy_indicator", "int1"),
    c.TAG_SOURCE_SUBADDRESS: ("source_subaddress", "octets"),
    c.TAG_DEST_SUBADDRESS: ("dest_subaddress", "octets"),
    c.TAG_USER_MESSAGE_REFERENCE: ("user_message_reference", "int2"),
    c.TAG_USER_RESPONSE_CODE: ("user_response_code", "int1"),
    c.TAG_SOURCE_PORT: ("source_port", "int2"),
    c.TAG_DESTINATION_PORT: ("destination_port", "int2"),
    c.TAG_SAR_MSG_REF_NUM: ("sar_msg_ref_num", "int2"),
    c.TAG_LANGUAGE_INDICATOR: ("language_indicator", "int1"),
    c.TAG_SAR_TOTAL_SEGMENTS: ("sar_total_segments", "int1"),
    c.TAG_SAR_SEGMENT_SEQNUM: ("sar_segment_seqnum", "int1"),
    c.TAG_SC_INTERFACE_VERSION: ("sc_interface_version", "int1"),
    c.TAG_CALLBACK_NUM_PRES_IND: ("callback_num_pres_ind", "int1"),
    c.TAG_CALLBACK_NUM_ATAG: ("callback_num_atag", "octets"),
    c.TAG_NUMBER_OF_MESSAGES: ("number_of_messages", "int1"),
    c.TAG_CALLBACK_NUM: ("callback_num", "octets"),
    c.TAG_DPF_RESULT: ("dpf_result", "int1"),
    c.TAG_SET_DPF: ("set_dpf", "int1"),
    c.TAG_MS_AVAILABILITY_STATUS: ("ms_availability_status", "int1"),
    c.TAG_NETWORK_ERROR_CODE: ("network_error_code", "octets"),
    c.TAG_MESSAGE_PAYLOAD: ("message_payload", "octets"),
    c.TAG_DELIVERY_FAILURE_REASON: ("delivery_failure_reason", "int1"),
    c.TAG_MORE_MESSAGES_TO_SEND: ("more_messages_to_send", "int1"),
    c.TAG_MESSAGE_STATE: ("message_state", "int1"),
    c.TAG_USSD_SERVICE_OP: ("ussd_service_op", "int1"),
    c.TAG_DISPLAY_TIME: ("display_time", "int1"),
    c.TAG_SMS_SIGNAL: ("sms_signal", "int2"),
    c.TAG_MS_VALIDITY: ("ms_validity", "int1"),
    c.TAG_ALERT_ON_MESSAGE_DELIVERY: ("alert_on_message_delivery", "octets"),
    c.TAG_ITS_REPLY_TYPE: ("its_reply_type", "int1"),
    c.TAG_ITS_SESSION_INFO: ("its_session_info", "octets"),
}
TLV_TAGS: dict[str, int] = {name: tag for tag, (name, _kind) in TLV_TYPES.items()}

TlvValue = int | bytes


def tlv_encode_value(tag: int, value: TlvValue) -> bytes:
    """Wire bytes of a standard TLV's typed value (raw bytes are taken as they are)."""
    if isinstance(value, bytes):
        kind = TLV_TYPES.get(tag, ("", "octets"))[1]
        return value + b"\0" if kind == "cstr" and not value.endswith(b"\0") else value
    kind = TLV_TYPES.get(tag, ("", "int1"))[1]
    if kind == "int1":
        return bytes((value,))
    if kind == "int2":
        return _U16.pack(value)
    if kind == "int4":
        return _U32.pack(value)
    raise ValueError(f"TLV 0x{tag:04x} takes bytes, not {value!r}")


def tlv_decode_value(tag: int, raw: bytes) -> TlvValue:
    """Typed value of a TLV; unknown tags and odd lengths come back as raw bytes."""
    kind = TLV_TYPES.get(tag, ("", "octets"))[1]
    if kind == "int1" and len(raw) == 1:
        return raw[0]
    if kind == "int2" and len(raw) == 2:
        return _U16.unpack(raw)[0]
    if kind == "int4" and len(raw) == 4:
        return _U32.unpack(raw)[0]
    if kind == "cstr":
        return raw[:-1] if raw.endswith(b"\0") else raw
    return raw


class Pdu:
    """One SMPP PDU: header, mandatory parameters by name, TLVs as raw pairs in order.

    Mandatory parameters missing from `params` encode as 0 / empty, so a caller only
    names what it sets. Length fields (sm_length, number_of_dests, no_unsuccess) are
    derived from the values and never stored.
    """

    __slots__ = ("command_id", "command_status", "sequence_number", "params", "tlvs")

    def __init__(
        self,
        command_id: int,
        sequence_number: int = 0,
        command_status: int = 0,
        params: dict[str, Any] | None = None,
        tlvs: list[tuple[int, bytes]] | None = None,
    ) -> None:
        self.command_id = command_id
        self.command_status = command_status
        self.sequence_number = sequence_number
        self.params: dict[str, Any] = {} if params is None else params
        self.tlvs: list[tuple[int, bytes]] = [] if tlvs is None else tlvs

    @property
    def name(self) -> str:
        return c.COMMAND_NAMES.get(self.command_id, f"0x{self.command_id:08x}")

    @property
    def is_response(self) -> bool:
        return bool(self.command_id & c.RESPONSE_BIT)

    def get(self, name: str, default: Any = None) -> Any:
        """A mandatory parameter's value, or the default it encodes as."""
        return self.params.get(name, default)

    def tlv(self, tag: int) -> bytes | None:
        """Raw value of the first TLV with this tag."""
        for t, v in self.tlvs:
            if t == tag:
                return v
        return None

    def tlv_value(self, name: str) -> TlvValue | None:
        """Typed value of a standard TLV by its SMPP name."""
        tag = TLV_TAGS[name]
        raw = self.tlv(tag)
        return None if raw is None else tlv_decode_value(tag, raw)

    def add_tlv(self, name_or_tag: str | int, value: TlvValue) -> Pdu:
        """Append a TLV by SMPP name or numeric tag; typed values are encoded per the spec."""
        tag = TLV_TAGS[name_or_tag] if isinstance(name_or_tag, str) else name_or_tag
        self.tlvs.append((tag, tlv_encode_value(tag, value)))
        return self

    def response(self, command_status: int = 0, **params: Any) -> Pdu:
        """The _resp to this request, with the same sequence number."""
        return Pdu(
            self.command_id | c.RESPONSE_BIT, self.sequence_number, command_status, params
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Pdu):
            return NotImplemented
        return (
            self.command_id == other.command_id
            and self.command_status == other.command_status
            and self.sequence_number == other.sequence_number
            and _normalised(self) == _normalised(other)
            and self.tlvs == other.tlvs
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        tlvs = f", tlvs={self.tlvs!r}" if self.tlvs else ""
        status = f", status=0x{self.command_status:08x}" if self.command_status else ""
        return f"Pdu({self.name}, seq={self.sequence_number}{status}, {self.params!r}{tlvs})"


def _normalised(pdu: Pdu) -> dict[str, Any]:
    """Params with defaults filled in, so {} and {"esm_class": 0} compare equal."""
    layout = LAYOUTS.get(pdu.command_id, ())
    out: dict[str, Any] = {}
    for name, kind, _size, _status in layout:
        default: Any = 0 if kind == INT1 else [] if kind in (DESTS, UNSUCC) else b""
        out[name] = pdu.params.get(name, default)
    return out


def _put_cstr(out: bytearray, value: bytes, name: str, size: int, status: int) -> None:
    if len(value) >= size or b"\0" in value:
        _cstr_refused(name, size, status, value)
    out += value
    out.append(0)


def encode(pdu: Pdu) -> bytes:
    """The PDU's wire bytes, header included.

    Raises `SmppError` when a value cannot be represented (too long, NUL inside, not an
    octet), so a bad message fails where it is built and never reaches a carrier half-formed.
    """
    encoder = _ENCODERS.get(pdu.command_id)
    if encoder is None:
        raise SmppError(c.ESME_RINVCMDID, f"unknown command_id 0x{pdu.command_id:08x}")
    params = pdu.params
    tlvs = pdu.tlvs
    # An error _resp built without values is sent bodiless (SMPP 3.4 4.1.2, 4.4.2), but one
    # that carries TLVs (data_sm_resp's delivery_failure_reason, ...) needs its mandatory part
    # first, or the receiver would read the TLV octets as message_id.
    if params or tlvs or not pdu.command_status or not pdu.command_id & c.RESPONSE_BIT:
        body = encoder(params)
    else:
        body = b""
    if tlvs:
        parts = [body]
        for tag, value in tlvs:
            try:
                parts.append(_TLV_HEAD.pack(tag, len(value)))
            except struct.error:
                raise SmppError(
                    c.ESME_RINVPARLEN,
                    f"TLV tag {tag!r} with {len(value)} octets overflows its 16-bit fields",
                ) from None
            parts.append(value)
        body = b"".join(parts)
    return (
        HEADER.pack(
            len(body) + HEADER_SIZE, pdu.command_id, pdu.command_status, pdu.sequence_number
        )
        + body
    )


def _cstr_refused(name: str, size: int, status: int, value: Any) -> None:
    raise SmppError(status, f"{name} must be under {size} octets without NUL: {value!r}")


def _sm_refused(size: int, status: int, value: bytes) -> None:
    raise SmppError(status, f"short_message is {len(value)} octets, max {size}")


def _octet_refused(params: dict[str, Any], layout: tuple[Field, ...]) -> None:
    """Name the field that could not be an octet, with that field's status."""
    for name, kind, _size, status in layout:
        if kind == INT1:
            value = params.get(name, 0)
            if not isinstance(value, int) or not 0 <= value <= 255:
                raise SmppError(status, f"{name} must be an octet 0..255: {value!r}")
    raise SmppError(_INVLEN, "a mandatory parameter has a value of the wrong type")


def _put_dests(out: bytearray, dests: Iterable[tuple[Any, ...]]) -> None:
    dests = list(dests)
    if len(dests) > 254:
        raise SmppError(c.ESME_RINVNUMDESTS, f"{len(dests)} destinations, max 254")
    out.append(len(dests))
    for dest in dests:
        if dest[0] == 1:
            _flag, ton, npi, addr = dest
            out += _octets(1, ton, npi)
            _put_cstr(out, addr, "destination_addr", 21, c.ESME_RINVDSTADR)
        elif dest[0] == 2:
            out.append(2)
            _put_cstr(out, dest[1], "dl_name", 21, c.ESME_RINVDLNAME)
        else:
            raise SmppError(c.ESME_RINVDESTFLAG, f"dest_flag must be 1 or 2: {dest!r}")


def _put_unsuccess(out: bytearray, smes: Iterable[tuple[int, int, bytes, int]]) -> None:
    smes = list(smes)
    out.append(len(smes))
    for ton, npi, addr, error in smes:
        out += _octets(ton, npi)
        _put_cstr(out, addr, "destination_addr", 21, c.ESME_RINVDSTADR)
        try:
            out += _U32.pack(error)
        except struct.error:
            raise SmppError(_INVLEN, f"error_status_code {error!r} is not a 32-bit value") from None


def _octets(*values: int) -> bytes:
    try:
        return bytes(values)
    except (ValueError, TypeError):
        raise SmppError(_INVLEN, f"TON/NPI/flag must be octets 0..255: {values!r}") from None


def _get_cstr(body: bytes, pos: int, name: str, status: int) -> tuple[bytes, int]:
    end = body.find(b"\0", pos)
    if end < 0:
        raise SmppError(status, f"{name}: C-string has no NUL before the end of the PDU")
    return body[pos:end], end + 1


def decode_body(command_id: int, command_status: int, sequence_number: int, body: bytes) -> Pdu:
    """Decode one PDU's body (the framer has already read and bounded the header)."""
    layout = LAYOUTS.get(command_id)
    if layout is None:
        raise SmppError(
            c.ESME_RINVCMDID, f"unknown command_id 0x{command_id:08x}", command_id,
            sequence_number,
        )
    params: dict[str, Any] = {}
    pdu = Pdu(command_id, sequence_number, command_status, params)
    end = len(body)
    if not end:
        # An error _resp may legally carry no body (SMPP 3.4 4.1.2, 4.4.2, ...).
        if layout and not (command_id & c.RESPONSE_BIT and command_status):
            raise SmppError(_INVLEN, f"{pdu.name} has no body", command_id, sequence_number)
        return pdu
    try:
        pos = _DECODERS[command_id](body, params, end)
    except IndexError:
        raise SmppError(
            _INVLEN, f"{pdu.name}: body ends inside the mandatory parameters",
            command_id, sequence_number,
        ) from None
    except SmppError as err:
        err.command_id = command_id
        err.sequence_number = sequence_number
        raise
    if pos < end:
        pdu.tlvs = _get_tlvs(body, pos, end, command_id, sequence_number)
    return pdu


def _get_dests(body: bytes, pos: int) -> tuple[list[tuple[Any, ...]], int]:
    count = body[pos]
    pos += 1
    dests: list[tuple[Any, ...]] = []
    for _ in range(count):
        flag = body[pos]
        if flag == 1:
            ton, npi = body[pos + 1], body[pos + 2]
            addr, pos = _get_cstr(body, pos + 3, "destination_addr", c.ESME_RINVDSTADR)
            dests.append((1, ton, npi, addr))
        elif flag == 2:
            name, pos = _get_cstr(body, pos + 1, "dl_name", c.ESME_RINVDLNAME)
            dests.append((2, name))
        else:
            raise SmppError(c.ESME_RINVDESTFLAG, f"dest_flag {flag} is neither 1 nor 2")
    return dests, pos


def _get_unsuccess(body: bytes, pos: int) -> tuple[list[tuple[int, int, bytes, int]], int]:
    count = body[pos]
    pos += 1
    smes: list[tuple[int, int, bytes, int]] = []
    for _ in range(count):
        ton, npi = body[pos], body[pos + 1]
        addr, pos = _get_cstr(body, pos + 2, "destination_addr", c.ESME_RINVDSTADR)
        if pos + 4 > len(body):
            raise IndexError
        smes.append((ton, npi, addr, _U32.unpack_from(body, pos)[0]))
        pos += 4
    return smes, pos


def _get_tlvs(
    body: bytes, pos: int, end: int, command_id: int, sequence_number: int
) -> list[tuple[int, bytes]]:
    tlvs: list[tuple[int, bytes]] = []
    while pos < end:
        if pos + 4 > end:
            raise SmppError(
                c.ESME_RINVOPTPARSTREAM, f"{end - pos} stray octets where a TLV header belongs",
                command_id, sequence_number,
            )
        tag, length = _TLV_HEAD.unpack_from(body, pos)
        pos += 4
        if pos + length > end:
            raise SmppError(
                c.ESME_RINVOPTPARSTREAM,
                f"TLV 0x{tag:04x} length {length} runs past the body ({end - pos} left)",
                command_id, sequence_number,
            )
        tlvs.append((tag, body[pos : pos + length]))
        pos += length
    return tlvs


def decode(data: bytes) -> Pdu:
    """Decode exactly one whole PDU (header included); for tests and tools."""
    if len(data) < HEADER_SIZE:
        raise SmppError(c.ESME_RINVCMDLEN, f"{len(data)} octets is shorter than a header",
                        fatal=True)
    length, command_id, status, seq = HEADER.unpack_from(data)
    if length != len(data):
        raise SmppError(
            c.ESME_RINVCMDLEN, f"command_length {length} but {len(data)} octets given",
            command_id, seq, fatal=True,
        )
    return decode_body(command_id, status, seq, data[HEADER_SIZE:])


def error_reply(err: SmppError) -> Pdu:
    """What to send back for a PDU we could not accept.

    A request that expects an answer gets its own _resp with the error status and the
    same sequence number; anything else (responses, unknown ids, unanswered operations,
    a broken stream) gets a generic_nack.
    """
    cid = err.command_id
    if (
        cid is not None
        and not err.fatal
        and not cid & c.RESPONSE_BIT
        and cid in LAYOUTS
        and cid not in c.UNANSWERED
    ):
        return Pdu(cid | c.RESPONSE_BIT, err.sequence_number, err.status)
    return Pdu(c.GENERIC_NACK, err.sequence_number, err.status)


# -- straight-line codecs, generated from LAYOUTS ---------------------------------------------
#
# Every message crosses this codec twice on each side of a bind, so it is on the hot path of
# the whole gateway. Interpreting LAYOUTS field by field costs twice what straight-line code
# costs, so at import each layout is turned into one plain function per direction (as
# `dataclasses` does for __init__). LAYOUTS stays the one description of the wire format.


def _encoder_source(cid: int, layout: tuple[Field, ...]) -> str:
    lines = ["def encode_body(params):", "    g = params.get"]
    parts: list[str] = []
    octets: list[str] = []

    def close_run() -> None:
        if octets:
            parts.append(f"bytes(({', '.join(octets)},))")
            octets.clear()

    for i, (name, kind, size, status) in enumerate(layout):
        if kind == INT1:
            octets.append(f"g({name!r}, 0)")
        elif kind == CSTR:
            close_run()
            lines.append(f"    v{i} = g({name!r}, b'')")
            lines.append(f"    if len(v{i}) >= {size} or b'\\0' in v{i}:")
            lines.append(f"        _cstr_refused({name!r}, {size}, {status}, v{i})")
            parts += [f"v{i}", "b'\\0'"]
        elif kind == SM:
            lines.append(f"    v{i} = g({name!r}, b'')")
            lines.append(f"    if len(v{i}) > {size}:")
            lines.append(f"        _sm_refused({size}, {status}, v{i})")
            octets.append(f"len(v{i})")
            close_run()
            parts.append(f"v{i}")
        else:
            close_run()
            writer = "_put_dests" if kind == DESTS else "_put_unsuccess"
            lines.append(f"    v{i} = bytearray()")
            lines.append(f"    {writer}(v{i}, g({name!r}, []))")
            parts.append(f"bytes(v{i})")
    close_run()
    lines.append("    try:")
    lines.append(f"        return b''.join(({''.join(p + ', ' for p in parts)}))")
    lines.append("    except (ValueError, TypeError):")
    lines.append(f"        _octet_refused(params, LAYOUTS[{cid}])")
    lines.append("        raise")
    return "\n".join(lines)


def _decoder_source(layout: tuple[Field, ...]) -> str:
    lines = ["def decode_body(body, params, end):", "    pos = 0", "    find = body.find"]
    for name, kind, _size, status in layout:
        if kind == INT1:
            lines.append(f"    params[{name!r}] = body[pos]")
            lines.append("    pos += 1")
        elif kind == CSTR:
            lines.append("    zero = find(b'\\0', pos)")
            lines.append("    if zero < 0:")
            lines.append(
                f"        raise SmppError({status}, "
                f"{name + ': C-string has no NUL before the end'!r})"
            )
            lines.append(f"    params[{name!r}] = body[pos:zero]")
            lines.append("    pos = zero + 1")
        elif kind == SM:
            lines.append("    length = body[pos]")
            lines.append("    pos += 1")
            lines.append("    if pos + length > end:")
            lines.append(
                f"        raise SmppError({status}, "
                "f'sm_length {length} runs past the body ({end - pos} left)')"
            )
            lines.append(f"    params[{name!r}] = body[pos:pos + length]")
            lines.append("    pos += length")
        else:
            reader = "_get_dests" if kind == DESTS else "_get_unsuccess"
            lines.append(f"    params[{name!r}], pos = {reader}(body, pos)")
    lines.append("    return pos")
    return "\n".join(lines)


def _compile(source: str) -> Any:
    namespace: dict[str, Any] = {}
    exec(compile(source, "<smpp layout>", "exec"), globals(), namespace)  # noqa: S102
    return next(iter(namespace.values()))


_ENCODERS: dict[int, Any] = {
    cid: _compile(_encoder_source(cid, layout)) for cid, layout in LAYOUTS.items()
}
_DECODERS: dict[int, Any] = {
    cid: _compile(_decoder_source(layout)) for cid, layout in LAYOUTS.items()
}
