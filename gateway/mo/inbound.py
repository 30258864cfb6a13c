"""A deliver_sm / data_sm that is not a receipt → the MO record the services work on.

Kannel's SMPP connector (smsc_smpp.c `pdu_to_msg`, `data_sm_to_msg`) and bearerbox
(`bb_smscconn_receive`) shape every MO before smsbox sees it; the URLs and replies our users
wrote depend on that shape, so `inbound_sms` reproduces it:

* **Addresses**: TON 1 (international) numbers get a leading `+` (a leading `00` is removed
  first); when they are 7 characters or more they must be digits (a `+` aside), else the
  PDU is refused with ESME_RINVSRCADR — for the destination too, as Kannel does. TON 5
  (alphanumeric) is at most 11 characters (ESME_RINVSRCADR) and is decoded from GSM when
  the group's `alt-addr-charset` is `gsm`. `my-number` replaces the destination. The
  sender is then normalised by the group's and the core's `unified-prefix` (the receiver
  does that, `normalised_sender`).
* **User data**: short_message, or message_payload when sm_length is 0 (SMPP > 3.3;
  data_sm always uses message_payload). With UDHI (esm_class 0x40) the UDH is split off;
  a UDH length past the data is ESME_RINVESMCLASS. sar_* TLVs become an 8-bit
  concatenation UDH (their reference truncated to 8 bits, as Kannel does); together with
  UDHI they are ESME_RINVOPTPARAMVAL.
* **Coding** from data_coding through `dcs.fields_of` (coding, mclass, mwi, compress, and
  alt-dcs 1 for the 1111xxxx group), then Kannel's switch on the raw value: 0x00 is GSM
  03.38 (or the group's `alt-charset`), 0x01 ASCII, 0x03 Latin-1, 0x06 Cyrillic, 0x07
  Hebrew (all turned into UTF-8, coding 0); 0x02/0x04 8-bit; 0x08 UCS-2; anything else by
  the decoded fields (UDHI with nothing decoded is 8-bit; 7-bit or nothing is GSM).
* `text` is Kannel's msgdata: UTF-8 for coding 0, UTF-16BE for UCS-2, the octets for 8-bit.
  `data` keeps the octets as they came (without UDH), so reassembly joins raw parts and
  decodes once (an escape or a surrogate pair cut between two parts survives).
* service_type → `binfo`, receipted_message_id → `foreign_id`, esm_class 0x80 → rpi 1,
  protocol_id → pid, priority_flag → priority (deliver_sm), configured `smpp-tlv`s →
  meta-data `?smpp?name=value&`, the link's system_id → `account` (deliver_sm only, as in
  Kannel).

Deliberate difference: a reserved coding (00xx11xx) is treated as 8-bit instead of
Kannel's out-of-range coding 3, which nothing downstream can represent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from gateway.message import UNSET
from gateway.url_pattern import url_encode
from protocols.smpp import constants as c
from protocols.smpp.pdu import Pdu
from protocols.sms.charset import CharsetError, codec_for, from_ucs2
from protocols.sms.dcs import DC_7BIT, DC_8BIT, DC_UCS2, UNDEF, fields_of, is_alt_dcs
from protocols.sms.gsm import from_gsm
from protocols.sms.udh import add_concat

if TYPE_CHECKING:
    from gateway.config import SmppTlv, SmscConfig

ESM_UDHI: Final = 0x40
ESM_RPI: Final = 0x80
TON_INTERNATIONAL: Final = 1
TON_ALPHANUMERIC: Final = 5
#: The interface version Kannel assumes (and our default `interface-version = 34`).
DEFAULT_VERSION: Final = 0x34

# Raw data_coding values Kannel converts from a single-byte charset into UTF-8.
_CHARSETS: Final = {0x03: "iso8859-1", 0x06: "iso8859-5", 0x07: "iso8859-8"}


class MalformedMo(ValueError):
    """An MO Kannel refuses; `status` is the deliver_sm_resp / data_sm_resp command_status."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(slots=True)
class InboundSms:
    """One mobile-originated SMS as Kannel's Msg holds it when smsbox looks for a service.

    `sender` is the phone, `receiver` the number it wrote to (the short code). `data` is the
    user data without UDH exactly as received; `text` is Kannel's msgdata (see the module
    docstring). DCS fields use Kannel's -1 for "not given".
    """

    id: str
    sender: str
    receiver: str
    smsc_id: str
    data: bytes
    text: bytes
    coding: int
    data_coding: int = 0
    udh: bytes = b""
    account: str = ""
    mclass: int = UNSET
    mwi: int = UNSET
    compress: int = UNSET
    alt_dcs: int = UNSET
    pid: int = UNSET
    rpi: int = UNSET
    priority: int = UNSET
    binfo: str = ""
    foreign_id: str = ""
    meta_data: str = ""
    charset: str = ""
    time: float = 0.0
    #: How `data` turns into `text` (`decode_user_data` arguments besides the data).
    alt_charset: str | None = field(default=None, repr=False)

    @property
    def keyword_text(self) -> str:
        """What keywords are matched against: the text as characters, whatever its coding.

        Kannel matches its regexes on msgdata octets, so a UCS-2 MO only matched a keyword
        with `mo-recode`; here UCS-2 always matches like text. 8-bit octets read as Latin-1.
        """
        if self.coding == DC_UCS2:
            return from_ucs2(self.text)
        if self.coding == DC_7BIT:
            return self.text.decode("utf-8", "replace")
        return self.text.decode("latin-1")

    @property
    def size(self) -> int:
        """Octets this record holds in memory, roughly (reassembly bounds count them)."""
        return len(self.data) + len(self.text) + len(self.udh) + len(self.meta_data) + 200


def decode_user_data(data: bytes, data_coding: int, coding: int, alt_charset: str | None) -> bytes:
    """User data octets → Kannel's msgdata for the coding `inbound_sms` decided."""
    if coding != DC_7BIT:
        return data
    if data_coding == 0x00 and alt_charset:
        return _convert(data, alt_charset)
    if data_coding == 0x01:
        return data
    charset = _CHARSETS.get(data_coding)
    if charset is not None:
        return data.decode(charset, "replace").encode("utf-8")
    return from_gsm(data).encode("utf-8")


def _convert(data: bytes, charset: str) -> bytes:
    """Kannel's charset_convert to UTF-8, which leaves the octets alone when it fails."""
    try:
        return data.decode(codec_for(charset), "replace").encode("utf-8")
    except CharsetError:
        return data


def _coding(data_coding: int, fields_coding: int, udhi: bool) -> int:
    """Kannel's switch on the raw data_coding after dcs_to_fields."""
    if data_coding in (0x00, 0x01, 0x03, 0x06, 0x07):
        return DC_7BIT
    if data_coding in (0x02, 0x04):
        return DC_8BIT
    if data_coding == 0x08:
        return DC_UCS2
    if data_coding == 0x05:  # JIS: Kannel leaves what dcs_to_fields found (8-bit)
        return DC_8BIT
    if fields_coding == UNDEF and udhi:
        return DC_8BIT
    if fields_coding in (DC_7BIT, UNDEF):
        return DC_7BIT
    if fields_coding == DC_UCS2:
        return DC_UCS2
    return DC_8BIT  # 8-bit, and the reserved 3 (see the module docstring)


def _address(raw: bytes, ton: int, alt_addr_charset: str | None, what: str) -> str:
    """Kannel's convert_addr_from_pdu; `MalformedMo` as it refuses."""
    if ton == TON_INTERNATIONAL:
        text = raw.decode("latin-1")
        digits = text[1:] if text.startswith("+") else text
        if len(text) >= 7 and not digits.isdigit():
            raise MalformedMo(c.ESME_RINVSRCADR, f"malformed {what} {text!r}: expected digits")
        if text.startswith("00"):
            text = text[2:]
        return text if text.startswith("+") else "+" + text
    if ton == TON_ALPHANUMERIC:
        if len(raw) > 11:
            raise MalformedMo(
                c.ESME_RINVSRCADR, f"malformed {what} {raw!r}: alphanumeric longer than 11"
            )
        if alt_addr_charset:
            if alt_addr_charset.lower() == "gsm":
                return from_gsm(raw)
            return _convert(raw, alt_addr_charset).decode("utf-8", "replace")
    return raw.decode("utf-8", "replace")


def _int(value: object, default: int = 0) -> int:
    return value if isinstance(value, int) else default


def meta_data_of(pdu: Pdu, tlvs: Iterable[SmppTlv]) -> str:
    """The configured `smpp-tlv`s present in the PDU as Kannel's `?smpp?name=value&` text.

    Kannel writes the `?smpp?` group even when no TLV is there (obs.: post-url sends
    `X-Kannel-Meta-Data: ?smpp?`, `%D` gives `%3Fsmpp%3F`)."""
    pairs: list[bytes] = []
    for tlv in tlvs:
        raw = pdu.tlv(tlv.tag)
        if raw is None:
            continue
        if tlv.type == "integer":
            value = str(int.from_bytes(raw, "big")).encode("ascii")
        elif tlv.type == "nulterminated":
            value = raw.split(b"\0", 1)[0]
        else:
            value = raw
        pairs.append(url_encode(tlv.name.encode("utf-8")) + b"=" + url_encode(value) + b"&")
    return "?smpp?" + b"".join(pairs).decode("ascii")


def inbound_sms(
    pdu: Pdu,
    *,
    smsc_id: str,
    account: str,
    message_id: str,
    now: float,
    smsc: SmscConfig | None = None,
    tlvs: Iterable[SmppTlv] = (),
) -> InboundSms:
    """The MO Kannel builds from a non-receipt deliver_sm or data_sm received on `smsc_id`.

    `smsc` is the group the link belongs to (alt-charset, alt-addr-charset, my-number,
    interface-version); `tlvs` the `smpp-tlv` definitions that apply to it. Raises
    `MalformedMo` with the status to answer when Kannel would refuse the PDU.
    """
    deliver = pdu.command_id == c.DELIVER_SM
    if not deliver and pdu.command_id != c.DATA_SM:
        raise MalformedMo(c.ESME_RINVCMDID, f"{pdu.name} is not an MO")
    params = pdu.params
    version = DEFAULT_VERSION
    if smsc is not None:
        version = ((smsc.interface_version // 10) << 4) + (smsc.interface_version % 10)
    alt_addr_charset = smsc.alt_addr_charset if smsc is not None else None
    sender = _address(
        params.get("source_addr", b"") or b"",
        _int(params.get("source_addr_ton")),
        alt_addr_charset,
        "source_addr",
    )
    receiver = _address(
        params.get("destination_addr", b"") or b"",
        _int(params.get("dest_addr_ton")),
        alt_addr_charset,
        "destination_addr",
    )
    if smsc is not None and smsc.my_number:
        receiver = smsc.my_number

    esm_class = _int(params.get("esm_class"))
    udhi = bool(esm_class & ESM_UDHI)
    if deliver:
        short = params.get("short_message", b"") or b""
        payload = pdu.tlv(c.TAG_MESSAGE_PAYLOAD)
        data = payload if (version > 0x33 and not short and payload is not None) else short
    else:
        data = pdu.tlv(c.TAG_MESSAGE_PAYLOAD) or b""

    udh = b""
    if deliver and version <= 0x33:
        sar = None
    else:
        sar = _sar(pdu)
    if sar is not None:
        if udhi:
            raise MalformedMo(
                c.ESME_RINVOPTPARAMVAL, "sar_* TLVs together with UDHI (Kannel refuses them)"
            )
        ref, total, seq = sar
        udh = add_concat(b"", ref & 0xFF, total, seq)
    if udhi:
        if not data:
            raise MalformedMo(c.ESME_RINVESMCLASS, "UDHI set but no user data")
        end = data[0] + 1
        if end > len(data):
            raise MalformedMo(
                c.ESME_RINVESMCLASS, f"UDH length {end} exceeds the {len(data)} octets of data"
            )
        udh, data = data[:end], data[end:]

    data_coding = _int(params.get("data_coding"))
    fields = fields_of(data_coding & 0xFF)
    coding = _coding(data_coding, fields.coding, udhi)
    alt_charset = smsc.alt_charset if smsc is not None else None
    if is_alt_dcs(data_coding):
        alt_dcs = 1
    elif data_coding & 0xC0 in (0x00, 0xC0):
        alt_dcs = 0
    else:
        alt_dcs = UNSET
    return InboundSms(
        id=message_id,
        sender=sender,
        receiver=receiver,
        smsc_id=smsc_id,
        data=data,
        text=decode_user_data(data, data_coding, coding, alt_charset),
        coding=coding,
        data_coding=data_coding,
        udh=udh,
        account=account if deliver else "",
        mclass=fields.mclass,
        mwi=fields.mwi,
        compress=fields.compress,
        alt_dcs=alt_dcs,
        pid=_int(params.get("protocol_id")) if deliver else UNSET,
        rpi=1 if esm_class & ESM_RPI else UNSET,
        priority=_int(params.get("priority_flag")) if deliver else UNSET,
        binfo=(params.get("service_type", b"") or b"").decode("latin-1"),
        foreign_id=_foreign_id(pdu),
        meta_data=meta_data_of(pdu, tlvs),
        time=float(int(now)),
        alt_charset=alt_charset,
    )


def _sar(pdu: Pdu) -> tuple[int, int, int] | None:
    """(reference, total, sequence) of the sar_* TLVs, when all three say something."""
    ref = pdu.tlv_value("sar_msg_ref_num")
    total = pdu.tlv_value("sar_total_segments")
    seq = pdu.tlv_value("sar_segment_seqnum")
    if not (isinstance(ref, int) and isinstance(total, int) and isinstance(seq, int)):
        return None
    if seq <= 0 or total <= 0:
        return None
    return ref, total, seq


def _foreign_id(pdu: Pdu) -> str:
    value = pdu.tlv_value("receipted_message_id")
    return value.decode("latin-1") if isinstance(value, bytes) else ""


def tlvs_for(smsc_id: str, tlvs: Iterable[SmppTlv]) -> tuple[SmppTlv, ...]:
    """The `smpp-tlv` definitions that apply to a link (no smsc-id restriction, or ours)."""
    return tuple(t for t in tlvs if not t.smsc_id or smsc_id in t.smsc_id)


def smsc_groups(smscs: Iterable[SmscConfig]) -> Mapping[str, SmscConfig]:
    """The first `group = smsc` of each id: MO settings are looked up by the link's id."""
    groups: dict[str, SmscConfig] = {}
    for smsc in smscs:
        groups.setdefault(smsc.conn_id, smsc)
    return groups
