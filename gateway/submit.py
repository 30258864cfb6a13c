"""One `Message` → one submit_sm, field by field as Kannel 1.4.5's `msg_to_pdu` builds it.

Carriers and the systems behind them were tuned against Kannel's submits, so every field is
Kannel's (REFERENCE §2.3, §2.8, §2.11, §2.12, and smsc_smpp.c):

* **source_addr**: TON/NPI start as the configured `source-addr-ton`/`-npi` when *both* are
  set, else 2/1 (national, ISDN). Then, unless `source-addr-autodetect = false`, the address
  decides: `+` followed by digits only → TON 1 with the `+` stripped (NPI untouched);
  anything that is not all digits → TON 5 NPI 0 (alphanumeric; a leading `+` is kept, e.g.
  `+Brand`), converted by `alt-addr-charset` when set. Autodetect runs after the forced
  values (obs. on Kannel 1.4.5 with `source-addr-ton = 1`, `source-addr-npi = 1`: `Brand`
  went as 5/0), so only `source-addr-autodetect = false` makes forced values stick.
* **destination_addr**: the smsc group's `unified-prefix` first; TON/NPI forced when both are
  set, else 2/1; a leading `+` is always stripped and makes TON 1, the NPI untouched (obs.:
  forced 0/0 and `+4670…` went as 1/0).
* Either address over 20 octets: no submit at all (`MalformedMessage`, Kannel's
  `MALFORMED SMS`, DLR 16 `NACK/MALFORMED SMS`).
* **service_type**: `binfo`, else the group's `service-type`.
* **esm_class**: the group's `esm-class` (default 3, store and forward) | 0x40 with a UDH |
  0x80 with rpi > 0. **protocol_id** = pid. **priority_flag**: the message's 0–3, else (a
  request without `priority` carries `UNSET`) the group's `priority` (obs.: group
  `priority = 2`, request without priority → 2, with `priority=1` → 1).
* **data_coding**: `protocols.sms.dcs.dcs_for` with the request's alt-dcs, else the group's
  (`Message.alt_dcs` has no "unset", so a request's explicit `alt-dcs=0` cannot turn off a
  group's `alt-dcs = true`; Kannel's can).
* **validity_period / schedule_delivery_time**: the request's minutes counted from the
  request time (smsbox makes them absolute when it accepts), else the group's
  `validityperiod` counted from now; always UTC `YYMMDDhhmmss000+`.
* **registered_delivery** from dlr-mask (§2.8): a success bit (1) → 1; only failure bits
  (2, 0x20, 0x40) → 2; +16 with the intermediate bit (4); 8/16 alone → 0. Only the first part
  of a split message asks for receipts (Kannel: one callback per request).
* **short_message**: UDH + user data; over 254 octets it all goes into `message_payload`.
  7-bit user data is one septet per octet, as Kannel sends it, unless the group sets our
  `packed-septets` (then packed after the UDH's fill bits; docs/native.md).
* **more_messages_to_send** = 1 on every part but the last (SMPP ≥ 3.4 binds only).
* **meta-data** `?smpp?…`: `data_coding`, `source_addr_ton`, `source_addr_npi`,
  `dest_addr_ton`, `dest_addr_npi` override the fields; any other key becomes a TLV when an
  `smpp-tlv` group defines that name (for this smsc), and is dropped otherwise, as Kannel does.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Final
from urllib.parse import unquote_to_bytes

from gateway.message import CODING_7BIT, UNSET, Message
from gateway.routing import normalize_number
from protocols.smpp import constants as c
from protocols.smpp.pdu import Pdu
from protocols.sms.dcs import dcs_for
from protocols.sms.gsm import pack7
from protocols.sms.udh import fill_bits

#: Kannel's GSM_ADDR_TON_* / GSM_ADDR_NPI_* values used here.
TON_INTERNATIONAL: Final = 1
TON_NATIONAL: Final = 2
TON_ALPHANUMERIC: Final = 5
NPI_UNKNOWN: Final = 0
NPI_E164: Final = 1

#: Kannel's longest source/destination address (the SMPP field holds 20 + NUL).
MAX_ADDRESS: Final = 20
#: short_message holds at most this many octets; longer user data goes to message_payload.
MAX_SHORT_MESSAGE: Final = 254

ESM_UDH_INDICATOR: Final = 0x40
ESM_RPI: Final = 0x80

#: dlr-mask bits (Kannel's dlr.h) and the registered_delivery they ask for.
DLR_SUCCESS: Final = 0x01
DLR_FAIL_BITS: Final = 0x02 | 0x20 | 0x40
DLR_BUFFERED: Final = 0x04
RD_INTERMEDIATE: Final = 0x10

#: meta-data `?smpp?` keys that override mandatory fields instead of becoming TLVs.
META_FIELDS: Final = (
    "data_coding",
    "source_addr_ton",
    "source_addr_npi",
    "dest_addr_ton",
    "dest_addr_npi",
)

TLV_TYPES: Final = ("integer", "nulterminated", "octetstring")


class MalformedMessage(Exception):
    """Kannel would not send this at all (`MALFORMED SMS`): fail it permanently."""


@dataclass(frozen=True, slots=True)
class TlvDef:
    """One `group = smpp-tlv`: how a meta-data key is sent as a TLV."""

    name: str
    tag: int
    type: str
    length: int
    smsc_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.type not in TLV_TYPES:
            raise ValueError(f"smpp-tlv {self.name}: type must be one of {TLV_TYPES}")
        if not 0 <= self.tag <= 0xFFFF:
            raise ValueError(f"smpp-tlv {self.name}: tag must fit in 16 bits")
        if not 0 <= self.length <= 0xFFFF or (self.type == "integer" and self.length < 1):
            raise ValueError(f"smpp-tlv {self.name}: bad length {self.length}")

    def applies_to(self, smsc_id: str) -> bool:
        """An smpp-tlv with smsc-id set is only for those groups."""
        return not self.smsc_ids or smsc_id.lower() in (s.lower() for s in self.smsc_ids)

    def encode(self, value: bytes) -> bytes | None:
        """The TLV value octets for a meta-data value, None when Kannel drops it (a string
        longer than `length`). Integers are `atol`'d and sent in `length` octets."""
        if self.type == "integer":
            number = _atol(value) % (1 << (8 * self.length))
            return number.to_bytes(self.length, "big")
        if len(value) > self.length:
            return None
        return value + b"\0" if self.type == "nulterminated" else value


def _opt_int(value: Any) -> int | None:
    """A configured number, None when unset (absent, None or Kannel's -1)."""
    if value is None or value == "":
        return None
    number = int(value)
    return None if number < 0 else number


@dataclass(frozen=True, slots=True)
class SubmitProfile:
    """What one smsc group contributes to its submits, read once from its configuration."""

    smsc_id: str = ""
    source_addr_ton: int | None = None
    source_addr_npi: int | None = None
    source_addr_autodetect: bool = True
    dest_addr_ton: int | None = None
    dest_addr_npi: int | None = None
    esm_class: int = 3
    service_type: str = ""
    validityperiod: int | None = None
    priority: int = 0
    alt_dcs: int = 0
    alt_addr_charset: str = ""
    unified_prefix: str = ""
    interface_version: int = 0x34
    tlvs: Mapping[str, TlvDef] = field(default_factory=dict)
    #: Ours: 7-bit user data goes packed (`packed-septets`), after the UDH's fill bits.
    packed_septets: bool = False
    #: Ours: national language tables (`national-locking-shift`, `national-single-shift`).
    national_locking_shift: int = 0
    national_single_shift: int = 0

    @classmethod
    def from_smsc(cls, smsc: Any, tlv_defs: Iterable[TlvDef] = ()) -> SubmitProfile:
        """The profile of a configured `SmscConfig` (attributes named as the Kannel keys)."""

        def get(name: str, default: Any = None) -> Any:
            value = getattr(smsc, name, None)
            return default if value is None else value

        # Kannel's connection id: smsc-id, or the connection name when unset.
        smsc_id = getattr(smsc, "conn_id", None) or get("smsc_id", "")
        esm_class = _opt_int(get("esm_class"))
        interface_version = 0x34
        bind_config = getattr(smsc, "bind_config", None)
        if callable(bind_config):
            interface_version = bind_config().interface_version
        elif get("interface_version") is not None:
            interface_version = int(get("interface_version"))
        return cls(
            smsc_id=smsc_id,
            source_addr_ton=_opt_int(get("source_addr_ton")),
            source_addr_npi=_opt_int(get("source_addr_npi")),
            source_addr_autodetect=bool(get("source_addr_autodetect", True)),
            dest_addr_ton=_opt_int(get("dest_addr_ton")),
            dest_addr_npi=_opt_int(get("dest_addr_npi")),
            esm_class=3 if esm_class is None else esm_class,
            service_type=get("service_type", "") or "",
            validityperiod=_opt_int(get("validityperiod")),
            priority=_opt_int(get("priority")) or 0,
            alt_dcs=1 if get("alt_dcs", False) else 0,
            alt_addr_charset=get("alt_addr_charset", "") or "",
            unified_prefix=get("unified_prefix", "") or "",
            interface_version=interface_version,
            tlvs={d.name: d for d in tlv_defs if d.applies_to(smsc_id)},
            packed_septets=bool(get("packed_septets", False)),
            national_locking_shift=int(get("national_locking_shift", 0)),
            national_single_shift=int(get("national_single_shift", 0)),
        )


def national_tables(smscs: Iterable[Any]) -> dict[str, tuple[int, int]]:
    """smsc-id → (locking, single) national tables, for the ids whose groups all set the same
    non-default tables: text is encoded when it is accepted, so only a message asked for such
    an id (request `smsc`, forced-smsc, default-smsc) can be encoded for them."""
    seen: dict[str, set[tuple[int, int]]] = {}
    for smsc in smscs:
        profile = smsc if isinstance(smsc, SubmitProfile) else SubmitProfile.from_smsc(smsc)
        tables = (profile.national_locking_shift, profile.national_single_shift)
        seen.setdefault(profile.smsc_id, set()).add(tables)
    return {
        smsc_id: next(iter(tables))
        for smsc_id, tables in seen.items()
        if len(tables) == 1 and next(iter(tables)) != (0, 0)
    }


def smpp_time(when: float) -> bytes:
    """Kannel's absolute SMPP time, always UTC: `YYMMDDhhmmss000+`."""
    return time.strftime("%y%m%d%H%M%S000+", time.gmtime(when)).encode("ascii")


def registered_delivery(dlr_mask: int) -> int:
    """The registered_delivery Kannel asks for with this dlr-mask (§2.8)."""
    if dlr_mask <= 0:
        return 0
    rd = 0
    if dlr_mask & DLR_SUCCESS:
        rd = 1
    elif dlr_mask & DLR_FAIL_BITS:
        rd = 2
    if dlr_mask & DLR_BUFFERED:
        rd += RD_INTERMEDIATE
    return rd


def parse_meta_data(text: str) -> dict[str, dict[str, bytes]]:
    """Kannel's meta-data text `?group?key=value&…?group2?…` as {group: {key: value}}.

    Values are URL-decoded to octets (they are TLV payloads); keys without `=` are ignored.
    """
    out: dict[str, dict[str, bytes]] = {}
    if not text:
        return out
    pieces = text.split("?")
    # pieces: ['', group, 'k=v&…', group, 'k=v&…', …]
    for i in range(1, len(pieces) - 1, 2):
        group = pieces[i]
        values = out.setdefault(group, {})
        for pair in pieces[i + 1].split("&"):
            key, sep, value = pair.partition("=")
            if sep and key:
                values[unquote_to_bytes(key).decode("utf-8", "replace")] = unquote_to_bytes(
                    value
                )
    return out


def _encode_alphanumeric(sender: str, charset: str) -> bytes:
    """An alphanumeric sender in `alt-addr-charset` (unset: the UTF-8 octets as they are)."""
    if not charset:
        return sender.encode("utf-8")
    if charset.lower() == "gsm":
        from protocols.sms.gsm import to_gsm

        # Kannel replaces @ first: GSM's @ is 0x00 and would end the C string.
        return to_gsm(sender.replace("@", "?"))
    try:
        return sender.encode(charset, "replace")
    except LookupError:
        return sender.encode("utf-8")  # Kannel: "will send as is"


@lru_cache(maxsize=64)
def _dcs(coding: int, mclass: int, mwi: int, compress: int, alt_dcs: int, text: bool) -> int:
    """`dcs_for`, remembered: a handful of combinations cover nearly all traffic."""
    return dcs_for(coding, mclass, mwi, compress, alt_dcs, has_text=text)


@lru_cache(maxsize=4096)
def _source(
    sender: str, ton: int | None, npi: int | None, autodetect: bool, charset: str
) -> tuple[int, int, bytes]:
    """source_addr_ton, source_addr_npi and source_addr for a sender (see the module
    docstring); remembered, because most traffic comes from a few senders."""
    if ton is not None and npi is not None:
        source_ton, source_npi = ton, npi
    else:
        source_ton, source_npi = TON_NATIONAL, NPI_E164
    if sender and autodetect:
        international = sender[0] == "+"
        digits = sender[1:] if international else sender
        if not (digits.isascii() and (digits.isdigit() or digits == "")):
            return TON_ALPHANUMERIC, NPI_UNKNOWN, _encode_alphanumeric(sender, charset)
        if international:
            # `+` and digits (or nothing, as Kannel's range check passes): the `+` goes.
            return TON_INTERNATIONAL, source_npi, digits.encode("ascii")
    return source_ton, source_npi, sender.encode("utf-8")


def submit_sm_for(
    message: Message, smsc: SubmitProfile | Any, *, now: float | None = None
) -> Pdu:
    """The submit_sm Kannel would send for `message` on the group `smsc`.

    `smsc` is a `SubmitProfile` (what a link keeps) or an `SmscConfig`. `now` is the
    send time (for the group's validityperiod and requests without a time); the wall clock
    by default. Raises `MalformedMessage` where Kannel sends nothing.
    """
    profile = smsc if isinstance(smsc, SubmitProfile) else SubmitProfile.from_smsc(smsc)
    if now is None:
        now = time.time()

    source_ton, source_npi, source = _source(
        message.sender,
        profile.source_addr_ton,
        profile.source_addr_npi,
        profile.source_addr_autodetect,
        profile.alt_addr_charset,
    )

    # destination_addr
    receiver = message.receiver
    if profile.unified_prefix:
        receiver = normalize_number(profile.unified_prefix, receiver)
    if profile.dest_addr_ton is not None and profile.dest_addr_npi is not None:
        dest_ton, dest_npi = profile.dest_addr_ton, profile.dest_addr_npi
    else:
        dest_ton, dest_npi = TON_NATIONAL, NPI_E164
    if receiver.startswith("+"):
        receiver = receiver[1:]
        dest_ton = TON_INTERNATIONAL
    destination = receiver.encode("utf-8")

    if len(destination) > MAX_ADDRESS or len(source) > MAX_ADDRESS:
        raise MalformedMessage("MALFORMED SMS")

    # data_coding: the request's alt-dcs if it gave one, else the group's; dcs_for adds
    # Kannel's forcing of the 1111xxxx group for a message class.
    alt_dcs = 1 if message.alt_dcs == 1 else profile.alt_dcs
    data_coding = _dcs(
        message.coding, message.mclass, message.mwi, message.compress, alt_dcs,
        bool(message.payload),
    )

    esm_class = profile.esm_class
    udh = message.udh
    if udh:
        esm_class |= ESM_UDH_INDICATOR
    if message.rpi > 0:
        esm_class |= ESM_RPI

    priority = message.priority if 0 <= message.priority <= 3 else profile.priority

    params: dict[str, Any] = {
        # Kannel cuts a C string that is too long to its field (service_type: 5 + NUL).
        "service_type": (message.binfo or profile.service_type).encode("utf-8")[:5],
        "source_addr_ton": source_ton,
        "source_addr_npi": source_npi,
        "source_addr": source,
        "dest_addr_ton": dest_ton,
        "dest_addr_npi": dest_npi,
        "destination_addr": destination,
        "esm_class": esm_class,
        "protocol_id": message.pid if message.pid > 0 else 0,
        "priority_flag": priority,
        "registered_delivery": (
            registered_delivery(message.dlr_mask) if message.dlr_mask and message.part == 1 else 0
        ),
        "data_coding": data_coding,
    }

    base = message.created or now
    if message.validity != UNSET:
        params["validity_period"] = smpp_time(base + message.validity * 60)
    elif profile.validityperiod is not None:
        params["validity_period"] = smpp_time(now + profile.validityperiod * 60)
    if message.deferred != UNSET:
        params["schedule_delivery_time"] = smpp_time(base + message.deferred * 60)

    payload = message.payload
    if profile.packed_septets and message.coding == CODING_7BIT:
        payload = pack7(payload, fill_bits(len(udh)))
    user_data = udh + payload if udh else payload
    pdu = Pdu(c.SUBMIT_SM, params=params)
    if len(user_data) > MAX_SHORT_MESSAGE:
        params["short_message"] = b""
        pdu.add_tlv("message_payload", user_data)
    else:
        params["short_message"] = user_data

    if profile.interface_version > 0x33 and message.part < message.parts:
        pdu.add_tlv("more_messages_to_send", 1)

    if message.meta_data:
        _apply_meta_data(pdu, message.meta_data, profile)
    return pdu


def _apply_meta_data(pdu: Pdu, meta_data: str, profile: SubmitProfile) -> None:
    """The `?smpp?` group: field overrides, then TLVs an `smpp-tlv` group names; any other
    key is dropped (Kannel: "Unknown TLV `%s', don't send.")."""
    values = parse_meta_data(meta_data).get("smpp")
    if not values:
        return
    for key, raw in values.items():
        if key in META_FIELDS:
            number = _atol(raw)
            if 0 <= number <= 0xFF:
                pdu.params[key] = number
            continue
        tlv_def = profile.tlvs.get(key)
        if tlv_def is not None:
            value = tlv_def.encode(raw)
            if value is not None:
                pdu.tlvs.append((tlv_def.tag, value))


def _atol(raw: bytes) -> int:
    """C's `atol`: leading blanks, an optional sign, the digits that follow; 0 if none."""
    text = raw.decode("ascii", "replace").lstrip()
    end = 1 if text[:1] in ("+", "-") else 0
    while end < len(text) and text[end].isdigit() and text[end].isascii():
        end += 1
    try:
        return int(text[:end])
    except ValueError:
        return 0
