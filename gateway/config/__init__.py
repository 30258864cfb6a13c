"""kannel.conf → a typed, validated `GatewayConfig`.

    from gateway.config import load_config, ConfigError
    config = load_config("/etc/kannel/kannel.conf")
    config.smscs[0].bind_config()      # protocols.smpp.session.BindConfig
    config.users[0].max_messages       # attributes are the Kannel keys with _ for -

`parser` reads Kannel's syntax, `kannel_keys` is Kannel 1.4.5's key inventory and what
Passerelle does with the keys it does not implement, `model` holds the frozen dataclasses,
`loader` validates, and `render` writes the effective configuration back in kannel.conf
syntax (`passerelle check-config`). See docs/configuration.md.
"""

from __future__ import annotations

from pathlib import Path

from gateway.config.errors import ConfigError, Location
from gateway.config.loader import load_config, load_config_text
from gateway.config.model import (
    CoreConfig,
    DlrDb,
    GatewayConfig,
    PasserelleConfig,
    RedisConnection,
    SendsmsUser,
    SmppTlv,
    SmsboxConfig,
    SmsboxRoute,
    SmscConfig,
    SmsService,
)
from gateway.config.render import render_config

__all__ = [
    "ConfigError",
    "Location",
    "load_config",
    "load_config_text",
    "default_config_path",
    "render_config",
    "GatewayConfig",
    "CoreConfig",
    "SmscConfig",
    "SmsboxConfig",
    "SendsmsUser",
    "SmsService",
    "SmsboxRoute",
    "SmppTlv",
    "DlrDb",
    "RedisConnection",
    "PasserelleConfig",
]


def default_config_path() -> Path:
    """The embedded kannel.conf `passerelle run` uses without `--config` (a local trial
    against the built-in simulator)."""
    return Path(__file__).with_name("default.conf")
