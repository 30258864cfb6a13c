"""The twistd service composition: ``twistd -n passerelle --config kannel.conf``.

Twisted finds this module through the dropin ``twisted/plugins/passerelle.py``, which only names
it; nothing is read or started at import time, so importing the plugin is always cheap and safe.
The configuration is read and validated in `makeService`, before any port is opened, so a bad
kannel.conf stops twistd with the configuration's own message.
"""

from __future__ import annotations

from typing import Any

from twisted.python import usage

from gateway.service import GatewayService


class Options(usage.Options):
    """Command-line options of ``twistd passerelle``."""

    optParameters = [
        ["config", "c", None, "path to kannel.conf (default: the embedded default.conf)"]
    ]


def makeService(options: Options, reactor: Any = None) -> GatewayService:
    """Build the gateway's service tree from C{options}.

    @param options: the parsed L{Options}; without C{--config} the embedded default
        configuration (built-in simulator, local ports) is used.
    @param reactor: the reactor the services will use; injected so that tests can pass a fake.
    @raise usage.UsageError: the configuration is invalid (every problem is listed).
    """
    from gateway.config import ConfigError, default_config_path, load_config

    path = options["config"] or default_config_path()
    try:
        config = load_config(path)
    except ConfigError as exc:
        raise usage.UsageError(exc.render_all()) from exc
    return GatewayService(config, reactor, signals=True)
