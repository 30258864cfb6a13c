"""A GatewayControl for the admin tests: the state machine by Kannel's table, counters set
by the test, and a record of every action called."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from itertools import count
from typing import Any

from twisted.internet.defer import Deferred, succeed

from gateway.admin.control import (
    BoxStatus,
    GatewayControl,
    GatewayState,
    GatewayStatus,
    SmscStatus,
    StoredMessage,
    next_state,
)

#: The figures of shared/kannel/samples/status_txt.txt (and status_xml/html).
SAMPLE_STATUS = GatewayStatus(
    version="0.1.0",
    state=GatewayState.RUNNING,
    uptime_seconds=87,
    sms_sent=68,
    sms_outbound_load=(0.98, 0.79, 0.79),
    dlr_received=30,
    dlr_inbound_load=(0.23, 0.35, 0.35),
    dlr_queued=2,
    dlr_storage="internal",
    boxes=(BoxStatus(type="smsbox", id=None, ip="127.0.0.1", queued=0, online_seconds=87),),
    smscs=(
        SmscStatus(
            id="sink", admin_id="sink", name="SMPP:127.0.0.1:2775/2775:kannel:VMA",
            status="online 2s", received_dlr=30, sent_sms=66, failed=3,
            received_dlr_load=(0.23, 0.35, 0.35), sent_sms_load=(0.95, 0.76, 0.76),
        ),
        SmscStatus(
            id="sink2", admin_id="sink2", name="SMPP:127.0.0.1:2775/2775:kannel2:VMA",
            status="online 2s", sent_sms=2, sent_sms_load=(0.03, 0.02, 0.02),
        ),
    ),
)


class FakeControl:
    """Satisfies GatewayControl; `calls` lists (action, argument) in order."""

    def __init__(self, status: GatewayStatus = SAMPLE_STATUS) -> None:
        self._status = status
        self.current = status.state
        self.calls: list[tuple[str, Any]] = []
        self.smscs = {"sink": "online", "sink2": "online"}
        self.messages: list[StoredMessage] = []
        self.read = 0  # messages handed to store-status
        self.graceful_ok = True
        self.lists_ok = True
        self.log_level: int | None = None
        self.pending_flush: Deferred[int] | None = None
        self.shutdowns = 0

    # reads
    def state(self) -> GatewayState:
        return self.current

    def status(self) -> GatewayStatus:
        return replace(self._status, state=self.current)

    def stored_messages(self, limit: int) -> Iterator[StoredMessage]:
        for message in self.messages[:limit]:
            self.read += 1
            yield message

    # actions
    def _move(self, command: str) -> bool:
        self.calls.append((command, None))
        new = next_state(self.current, command)
        if new is None:
            return False
        self.current = new
        return True

    def suspend(self) -> bool:
        return self._move("suspend")

    def isolate(self) -> bool:
        return self._move("isolate")

    def resume(self) -> bool:
        return self._move("resume")

    def shutdown(self) -> None:
        self.calls.append(("shutdown", None))
        self.shutdowns += 1
        self.current = GatewayState.SHUTDOWN

    def restart(self) -> None:
        self.calls.append(("restart", None))

    def graceful_restart(self) -> bool:
        self.calls.append(("graceful-restart", None))
        return self.graceful_ok

    def flush_dlr(self) -> Deferred[int]:
        self.calls.append(("flush-dlr", None))
        if self.pending_flush is not None:
            return self.pending_flush
        return succeed(2)

    def stop_smsc(self, admin_id: str) -> bool:
        self.calls.append(("stop-smsc", admin_id))
        if self.smscs.get(admin_id) != "online":
            return False
        self.smscs[admin_id] = "dead"
        return True

    def start_smsc(self, admin_id: str) -> bool:
        self.calls.append(("start-smsc", admin_id))
        if self.smscs.get(admin_id) != "dead":
            return False
        self.smscs[admin_id] = "online"
        return True

    def add_smsc(self, admin_id: str) -> bool:
        self.calls.append(("add-smsc", admin_id))
        if admin_id in self.smscs:
            return False
        self.smscs[admin_id] = "online"
        return True

    def remove_smsc(self, admin_id: str) -> bool:
        self.calls.append(("remove-smsc", admin_id))
        return self.smscs.pop(admin_id, None) is not None

    def reload_lists(self) -> Deferred[bool]:
        self.calls.append(("reload-lists", None))
        return succeed(self.lists_ok)

    def set_log_level(self, level: int) -> None:
        self.calls.append(("log-level", level))
        self.log_level = level

    def remove_message(self, message_id: str) -> bool:
        self.calls.append(("remove-message", message_id))
        return True


def stored(n: int, start: float = 1795248360.0) -> list[StoredMessage]:
    """`n` stored MT messages like the reference's store-status example."""
    ids = count()
    return [
        StoredMessage(
            id=f"33398091-0000-4000-8000-{next(ids):012d}", type="MT-PUSH", time=start,
            sender="12345", receiver="4670000001", smsc_id="sink", mclass=-1, coding=0,
            mwi=-1, compress=-1, dlr_mask=31, text=b"queued 4",
        )
        for _ in range(n)
    ]


def _conforms(control: GatewayControl) -> None:
    """Type checkers see here that the fake satisfies the protocol."""


_conforms(FakeControl())
