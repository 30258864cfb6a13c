"""Shared pieces of the sendsms tests: a kannel.conf builder."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gateway.config import GatewayConfig, load_config_text

CORE = """\
group = core
admin-port = 13000
admin-password = secret
smsbox-port = 13001

group = smsc
smsc = smpp
smsc-id = sim
host = 127.0.0.1
port = 2775
smsc-username = kannel
smsc-password = secret
system-type = ""
address-range = ""
"""

SMSBOX = """\
group = smsbox
bearerbox-host = 127.0.0.1
sendsms-port = 13013
"""

TESTER = """\
group = sendsms-user
username = tester
password = foobar
"""

MakeConfig = Callable[..., GatewayConfig]


def make_config(*groups: str, smsbox: str = "", tester: bool = True) -> GatewayConfig:
    """A configuration: core + one smsc + smsbox (plus `smsbox` lines) + the user `tester`
    (unless `tester=False`) + `groups`, each a group's text."""
    parts = [CORE, SMSBOX + smsbox]
    if tester:
        parts.append(TESTER)
    parts.extend(groups)
    return load_config_text("\n".join(part.strip("\n") + "\n" for part in parts))


@pytest.fixture
def config_of() -> MakeConfig:
    """`make_config` as a fixture."""
    return make_config
