"""The twistd service composition: ``twistd -n passerelle --config kannel.conf``.

Twisted finds this module through the dropin ``twisted/plugins/passerelle.py``, which only names
it; nothing is read or started at import time, so importing the plugin is always cheap and safe.
"""

from __future__ import annotations

from typing import Any

from twisted.application.service import MultiService
from twisted.python import usage


class Options(usage.Options):
    """Command-line options of ``twistd passerelle``."""

    optParameters = [["config", "c", None, "path to kannel.conf"]]


def makeService(options: Options, reactor: Any = None) -> MultiService:
    """Build the gateway's service tree from C{options}.

    The gateway itself (accept path, spool, dispatch, SMSC connectors) does not exist yet, so
    rather than start a service that silently does nothing this refuses with a clear message.

    @param options: the parsed L{Options}.
    @param reactor: the reactor the services will use; injected so that tests can pass a fake.
    @raise usage.UsageError: always, until the gateway is built.
    """
    raise usage.UsageError(
        "the gateway is not built yet: it arrives with the sendsms issue. "
        "Meanwhile `passerelle smsc-sim` runs the SMSC simulator."
    )
