"""Helpers for the MO tests: a config from kannel.conf text and deliver_sm builders."""

from __future__ import annotations

from typing import Any

from gateway.config import GatewayConfig, load_config_text
from protocols.smpp import constants as c
from protocols.smpp.pdu import Pdu

CORE = """
group = core
admin-port = 13000
admin-password = secret
{core}

group = smsbox
bearerbox-host = 127.0.0.1
sendsms-port = 13013
{smsbox}

group = smsc
smsc = smpp
smsc-id = sink
host = 127.0.0.1
port = 2775
smsc-username = esme
smsc-password = pw
system-type = ""
{smsc}
"""


def make_config(
    services: str = "", core: str = "", smsbox: str = "", smsc: str = ""
) -> GatewayConfig:
    """A whole configuration: one core, smsbox and smsc group plus `services` text."""
    text = CORE.format(core=core, smsbox=smsbox, smsc=smsc) + "\n" + services
    return load_config_text(text)


def deliver(
    text: bytes = b"hello",
    *,
    source: bytes = b"46700000001",
    dest: bytes = b"12345",
    data_coding: int = 0,
    esm_class: int = 0,
    source_ton: int = 1,
    dest_ton: int = 0,
    tlvs: list[tuple[int, bytes]] | None = None,
    **params: Any,
) -> Pdu:
    """A deliver_sm MO (not a receipt)."""
    values: dict[str, Any] = {
        "source_addr": source,
        "source_addr_ton": source_ton,
        "destination_addr": dest,
        "dest_addr_ton": dest_ton,
        "data_coding": data_coding,
        "esm_class": esm_class,
        "short_message": text,
    }
    values.update(params)
    return Pdu(c.DELIVER_SM, 1, params=values, tlvs=list(tlvs or []))


def part(ref: int, total: int, seq: int, text: bytes, *, wide: bool = False, **kw: Any) -> Pdu:
    """One part of a concatenated MO (UDH with the 8- or 16-bit reference IE)."""
    if wide:
        udh = bytes((6, 8, 4, ref >> 8, ref & 0xFF, total, seq))
    else:
        udh = bytes((5, 0, 3, ref, total, seq))
    return deliver(udh + text, esm_class=0x40, **kw)
