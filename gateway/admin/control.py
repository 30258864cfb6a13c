"""What the admin interface needs of the gateway, and nothing more: `GatewayControl`.

The admin package is an edge: it renders Kannel's pages and parses Kannel's commands, but it
owns no gateway state. The service composition (`gateway.service`) provides one object that
satisfies `GatewayControl`; tests provide a fake. Keeping the protocol narrow keeps the
admin testable without a running gateway and keeps the gateway free to change inside.

Records are plain frozen dataclasses built on demand (status is asked for rarely, a few times
a minute by monitoring), so nothing on the message path pays for them.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from twisted.internet.defer import Deferred

#: Kannel's three load figures (msg/sec): the last minute, the last five minutes, since start.
Load = tuple[float, float, float]

NO_LOAD: Load = (0.0, 0.0, 0.0)


class GatewayState(enum.Enum):
    """bearerbox's states (`bb_status`), valued with the word the status page prints."""

    RUNNING = "running"
    ISOLATED = "isolated"
    SUSPENDED = "suspended"
    #: The queue is at its cap (Kannel's BB_FULL).
    FULL = "filled"
    #: Shutdown started: most commands answer "Avalanche has already started…".
    SHUTDOWN = "going down"


def next_state(state: GatewayState, command: str) -> GatewayState | None:
    """Kannel's rules (bearerbox.c bb_suspend/bb_isolate/bb_resume) for `suspend`, `isolate`
    and `resume`: the state the command leads to, or None when Kannel answers `Already …`.

    Offered to the integrator so the real control and the test fake obey the same table.
    """
    if command == "suspend" and state in (GatewayState.RUNNING, GatewayState.ISOLATED):
        return GatewayState.SUSPENDED
    if command == "isolate" and state in (GatewayState.RUNNING, GatewayState.SUSPENDED):
        return GatewayState.ISOLATED
    if command == "resume" and state in (GatewayState.SUSPENDED, GatewayState.ISOLATED):
        return GatewayState.RUNNING
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class SmscStatus:
    """One SMSC connection as the status page shows it (bb_smscconn.c smsc2_status)."""

    #: smsc-id (`sink`); Kannel prints `unknown` when there is none.
    id: str
    #: smsc-admin-id, the name admin commands use (defaults to the id).
    admin_id: str
    #: Kannel's connection name: `SMPP:127.0.0.1:2775/2775:kannel:VMA`
    #: (`SMPP:host:port/receive-port:system_id:system_type`).
    name: str
    #: Kannel's words, verbatim: `online 12s`, `disconnected`, `connecting`,
    #: `re-connecting`, `dead` (SmscLink.status gives exactly these).
    status: str
    received_sms: int = 0
    received_dlr: int = 0
    sent_sms: int = 0
    sent_dlr: int = 0
    failed: int = 0
    queued: int = 0
    received_sms_load: Load = NO_LOAD
    received_dlr_load: Load = NO_LOAD
    sent_sms_load: Load = NO_LOAD
    sent_dlr_load: Load = NO_LOAD

    @property
    def online(self) -> bool:
        """Kannel shows the loads only of a link that is online (zeros otherwise)."""
        return self.status.startswith("online")


@dataclass(frozen=True, slots=True, kw_only=True)
class BoxStatus:
    """A box connection line. Passerelle has no boxes (sendsms lives in the same process),
    but monitoring scripts look for `smsbox` here, so the integrator may show the built-in
    sendsms listener as one smsbox (type `smsbox`, no id, IP 127.0.0.1, up since start)."""

    type: str = "smsbox"
    id: str | None = None
    ip: str = "127.0.0.1"
    queued: int = 0
    online_seconds: int = 0
    ssl: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class GatewayStatus:
    """Everything the Kannel status page prints (bearerbox.c bb_print_status)."""

    #: Passerelle's own version (the first line keeps Kannel's form, see render.py).
    version: str
    state: GatewayState
    uptime_seconds: int
    #: Messages accepted (sendsms / MO) and their queue, sent and the send queue.
    sms_received: int = 0
    sms_received_queued: int = 0
    sms_sent: int = 0
    sms_sent_queued: int = 0
    #: Messages held by the store (Kannel's `store size`: our spool's message count).
    store_size: int = 0
    sms_inbound_load: Load = NO_LOAD
    sms_outbound_load: Load = NO_LOAD
    dlr_received: int = 0
    dlr_sent: int = 0
    dlr_inbound_load: Load = NO_LOAD
    dlr_outbound_load: Load = NO_LOAD
    #: Delivery-report records waiting for their receipt, and the store's kind
    #: (`internal`, `redis`) as in `DLR: 2 queued, using internal storage`.
    dlr_queued: int = 0
    dlr_storage: str = "internal"
    boxes: Sequence[BoxStatus] = ()
    smscs: Sequence[SmscStatus] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredMessage:
    """One line of store-status (bb_store.c status_cb)."""

    #: The 36-character UUID remove-message takes.
    id: str
    #: `MO`, `MT-PUSH`, `MT-REPLY`, `DLR-MO`, `DLR-MT`.
    type: str
    #: Unix time the message was accepted.
    time: float
    sender: str = ""
    receiver: str = ""
    smsc_id: str = ""
    box_id: str = ""
    #: Kannel's flags (-1 = not set): mclass:coding:mwi:compress:dlr-mask.
    mclass: int = -1
    coding: int = -1
    mwi: int = -1
    compress: int = -1
    dlr_mask: int = -1
    udh: bytes = b""
    text: bytes = b""


class GatewayControl(Protocol):
    """The gateway as the admin interface sees it (see the module docstring).

    Reads are synchronous and must be cheap: O(number of SMSCs), never O(queued messages).
    Actions return Kannel's success flag; the admin turns it into Kannel's reply text.
    """

    def state(self) -> GatewayState:
        """The current state (checked before every command, so cheap)."""
        ...

    def status(self) -> GatewayStatus:
        """Everything the status page shows, read now."""
        ...

    def stored_messages(self, limit: int) -> Iterable[StoredMessage]:
        """At most `limit` messages of the store, oldest first, for store-status. Must stop
        after `limit` (the admin also stops reading there): a million queued messages are
        never walked for a page."""
        ...

    def suspend(self) -> bool:
        """Stop sending and accepting (Kannel: SMSCs suspended, boxes blocked); False when
        `next_state` says Kannel would answer `Already suspended`."""
        ...

    def isolate(self) -> bool:
        """Stop taking messages from SMSCs (MO, receipts); False: `Already isolated`."""
        ...

    def resume(self) -> bool:
        """Back to running; False: `Already running`."""
        ...

    def shutdown(self) -> None:
        """Start the drain and exit; called again while going down, stop at once."""
        ...

    def restart(self) -> None:
        """Shut down and start again in the same process (Kannel's `restart`)."""
        ...

    def graceful_restart(self) -> bool | Deferred[bool]:
        """Re-read the configuration and apply it without dropping traffic (SIGHUP's
        restart); False when the new configuration is invalid (nothing changed)."""
        ...

    def flush_dlr(self) -> Deferred[int]:
        """Drop every waiting delivery-report record; fires with how many. Only called while
        suspended (the admin checks, as Kannel does)."""
        ...

    def stop_smsc(self, admin_id: str) -> bool:
        """Unbind and stop the SMSC(s) with this admin id; False if there is none."""
        ...

    def start_smsc(self, admin_id: str) -> bool:
        """Start a stopped (dead) SMSC again; False if unknown or not dead yet."""
        ...

    def add_smsc(self, admin_id: str) -> bool:
        """Read the configuration and start the smsc group with this id, not yet running."""
        ...

    def remove_smsc(self, admin_id: str) -> bool:
        """Stop the SMSC and forget it (its messages are routed elsewhere)."""
        ...

    def reload_lists(self) -> Deferred[bool]:
        """Re-read white/black lists (files and URLs); fires False if that failed."""
        ...

    def set_log_level(self, level: int) -> None:
        """Change the log level of the running gateway (Kannel takes any integer)."""
        ...

    def remove_message(self, message_id: str) -> bool:
        """Drop a stored message by its 36-character id. Kannel records a failed ack and
        answers `removed` even for unknown ids; False only when that record failed."""
        ...
