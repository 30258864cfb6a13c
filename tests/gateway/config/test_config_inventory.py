"""Every key of Kannel 1.4.5's cfg.def is either read by the loader or has a stated policy:
nothing is dropped without a word."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from gateway.config import loader
from gateway.config.errors import Location
from gateway.config.kannel_keys import GROUP_POLICY, KANNEL_GROUPS, KEY_POLICY
from gateway.config.parser import RawEntry, RawGroup

#: The keys Kannel 1.4.5's smscconn.c and smsc_smpp.c read for an `smsc = smpp` group.
SMPP_KEYS = set(
    """smsc smsc-id smsc-admin-id allowed-smsc-id denied-smsc-id preferred-smsc-id
    allowed-prefix denied-prefix preferred-prefix unified-prefix our-host log-file log-level
    alt-dcs allowed-smsc-id-regex denied-smsc-id-regex preferred-smsc-id-regex
    allowed-prefix-regex denied-prefix-regex preferred-prefix-regex throughput instances
    max-sms-octets dead-start reconnect-delay reroute reroute-smsc-id reroute-receiver
    reroute-dlr host port receive-port our-port our-receiver-port transceiver-mode
    smsc-username smsc-password system-type address-range my-number service-type system-id
    enquire-link-interval max-pending-submits source-addr-ton source-addr-npi dest-addr-ton
    dest-addr-npi source-addr-autodetect interface-version priority validityperiod
    msg-id-type alt-charset alt-addr-charset connection-timeout wait-ack wait-ack-expire
    esm-class bind-addr-ton bind-addr-npi use-ssl ssl-client-certkey-file log-format""".split()
)

BUILDERS: dict[str, Callable[[Any], Any]] = {
    "core": loader._core,
    "smsbox": loader._smsbox,
    "sendsms-user": lambda g: loader._user(g, 0, None),
    "sms-service": loader._service,
    "smsbox-route": loader._route,
    "dlr-db": loader._dlr_db,
    "redis-connection": loader._redis,
    "smsc": loader._smsc,
    "smpp-tlv": loader._smpp_tlv,
}


def read_keys(name: str) -> set[str]:
    """The keys a builder reads, fed a group holding every key Kannel allows in it."""
    keys = KANNEL_GROUPS[name].keys
    at = Location("k.conf", 1)
    entries = {key: RawEntry(key, "smpp" if key == "smsc" else "1", at) for key in keys}
    group = loader._Group(loader._Context(), RawGroup(name, at, entries))
    BUILDERS[name](group)
    return group.consumed


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_every_key_of_an_implemented_group_is_read_or_has_a_policy(name: str) -> None:
    keys = KANNEL_GROUPS[name].keys
    handled = read_keys(name) | set(KEY_POLICY.get(name, {}))
    unhandled = keys - handled
    if name == "smsc":
        # The rest belongs to other drivers, and warns as such.
        assert not (unhandled & SMPP_KEYS)
        assert SMPP_KEYS <= keys
    else:
        assert not unhandled


def test_every_kannel_group_is_implemented_or_has_a_policy() -> None:
    assert set(KANNEL_GROUPS) == set(BUILDERS) | set(GROUP_POLICY)


def test_policies_name_real_kannel_keys() -> None:
    for group, policies in KEY_POLICY.items():
        assert set(policies) <= KANNEL_GROUPS[group].keys, group


def test_inventory_matches_kannel_145() -> None:
    # Spot checks against the 1.4.5 binaries: present, and later additions absent.
    assert "white-list-sender-regex" in KANNEL_GROUPS["core"].keys
    assert "instances" in KANNEL_GROUPS["smsc"].keys
    assert "const" in KANNEL_GROUPS["smpp-tlv"].keys
    assert "dlr-mask" not in KANNEL_GROUPS["sendsms-user"].keys
    assert "forced-priority" not in KANNEL_GROUPS["sms-service"].keys
    assert KANNEL_GROUPS["dlr-db"].single and not KANNEL_GROUPS["smsc"].single
