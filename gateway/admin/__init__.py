"""Kannel's admin HTTP interface (status pages and commands) and Passerelle's live page.

`AdminResource` is the whole admin port; it talks to the gateway only through the narrow
`GatewayControl` protocol (control.py), which the service composition provides. `LoadMeter`
gives Kannel's three rate figures for the message paths to feed.
"""

from gateway.admin.control import (
    BoxStatus,
    GatewayControl,
    GatewayState,
    GatewayStatus,
    Load,
    SmscStatus,
    StoredMessage,
    next_state,
)
from gateway.admin.load import KANNEL_WINDOWS, LoadMeter
from gateway.admin.resource import AdminResource

__all__ = [
    "KANNEL_WINDOWS",
    "AdminResource",
    "BoxStatus",
    "GatewayControl",
    "GatewayState",
    "GatewayStatus",
    "Load",
    "LoadMeter",
    "SmscStatus",
    "StoredMessage",
    "next_state",
]
