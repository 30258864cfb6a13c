"""The effective configuration written back in kannel.conf syntax (`passerelle check-config`).

Every key of every group is listed with the value Passerelle will use. A key set in the file
is written as `key = value`; a key left to its default is written as a comment,
`#(default) key = value`, and an unset optional key as `#(unset) key`. Comments, because
kannel.conf has no trailing comments (a `#` after a value is part of the value), and so that
the output loads back into the same configuration: the defaults are the defaults anyway.
Passwords are written as `****`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import fields
from typing import Any

from gateway.config.model import (
    GatewayConfig,
    PasserelleConfig,
    SendsmsUser,
    config_key,
)
from gateway.config.parser import quote
from gateway.config.values import regex_source

__all__ = ["render_config", "render_value", "MASK"]

#: What a password is shown as.
MASK = "****"

_LANE_FIELDS = ("default_lane", "max_lane", "forced_lane", "spool_max_bytes")


def render_value(value: Any) -> str:
    """One value in kannel.conf syntax (quoted where the text could be misread)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, re.Pattern):
        return quote(regex_source(value))
    if isinstance(value, tuple):
        return quote(";".join(str(item) for item in value))
    return quote(str(value))


def _group_lines(
    name: str, group: Any, *, skip: Iterable[str] = (), extra: dict[str, str] | None = None
) -> list[str]:
    lines = [f"group = {name}"]
    skipped = set(skip)
    for f in fields(group):
        if f.metadata.get("internal") or f.name in skipped:
            continue
        key = config_key(f.name)
        value = getattr(group, f.name)
        explicit = key in group.locations
        if value is None:
            lines.append(f"#(unset) {key}")
            continue
        if extra is not None and f.name in extra:
            text = extra[f.name]
        elif f.metadata.get("secret"):
            text = quote(MASK)
        else:
            text = render_value(value)
        lines.append(f"{key} = {text}" if explicit else f"#(default) {key} = {text}")
    return lines


def _lane_weights(config: PasserelleConfig) -> str:
    return quote(";".join(f"{lane}:{weight}" for lane, weight in enumerate(config.lane_weights)))


def _lanes_group(user: SendsmsUser) -> list[str] | None:
    """A `group = passerelle-user` block, for users with lane settings of their own."""
    if not any(config_key(name) in user.locations for name in _LANE_FIELDS):
        return None
    lines = ["group = passerelle-user", f"username = {quote(user.username)}"]
    for name in _LANE_FIELDS:
        key = config_key(name)
        value = getattr(user, name)
        if value is None:
            lines.append(f"#(unset) {key}")
        elif key in user.locations:
            lines.append(f"{key} = {render_value(value)}")
        else:
            lines.append(f"#(default) {key} = {render_value(value)}")
    return lines


def render_config(config: GatewayConfig) -> str:
    """The whole effective configuration, group after group, as kannel.conf text."""
    blocks: list[list[str]] = []
    blocks.append(_group_lines("core", config.core))
    blocks.append(
        _group_lines(
            "passerelle",
            config.passerelle,
            extra={"lane_weights": _lane_weights(config.passerelle)},
        )
    )
    for smsc in config.smscs:
        blocks.append(_group_lines("smsc", smsc))
    if config.smsbox is not None:
        blocks.append(_group_lines("smsbox", config.smsbox))
    for user in config.users:
        blocks.append(_group_lines("sendsms-user", user, skip=_LANE_FIELDS))
        lanes = _lanes_group(user)
        if lanes is not None:
            blocks.append(lanes)
    for service in config.services:
        blocks.append(_group_lines("sms-service", service))
    for route in config.smsbox_routes:
        blocks.append(_group_lines("smsbox-route", route))
    for tlv in config.smpp_tlvs:
        blocks.append(_group_lines("smpp-tlv", tlv, extra={"tag": f"0x{tlv.tag:04x}"}))
    if config.dlr_db is not None:
        blocks.append(_group_lines("dlr-db", config.dlr_db))
    for conn in config.redis_connections:
        blocks.append(_group_lines("redis-connection", conn))
    header = [
        f"# Effective configuration of {config.source}",
        "# Keys set in the file are plain lines; '#(default)' shows a default, '#(unset)' an",
        "# optional key left unset. Passwords are masked.",
    ]
    return "\n\n".join("\n".join(block) for block in [header, *blocks]) + "\n"
