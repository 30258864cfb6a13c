"""What the gateway shows of itself: one snapshot, built in O(1) of the queue size.

Ops must see the bounds the design promises (spool bytes against their cap, queue depth and
oldest-message age per lane, link states) before they bite, so the snapshot reads only
counters that are kept up to date as messages move: nothing here walks a queue.
The admin port serves it as `status.json` (ours, beside Kannel's admin commands).
"""

from __future__ import annotations

import hmac
import json
import os
import time
from typing import TYPE_CHECKING, Any

import psutil
from twisted.web.resource import Resource
from twisted.web.server import Request

import native
from gateway.queue import PRIORITIES

if TYPE_CHECKING:
    from gateway.service import GatewayService


def status_snapshot(service: GatewayService, now: float | None = None) -> dict[str, Any]:
    """The gateway's state as plain data (what `status.json` serves; the keys are listed in
    docs/admin.md). Every figure is a counter or a length kept as messages move, so the cost
    does not depend on how many messages are queued."""
    from dataclasses import asdict

    from gateway.control import dashboard_rates

    now = time.time() if now is None else now
    queue: Any = service.queue
    durable = hasattr(queue, "bytes_used")
    lanes = {
        str(lane): {
            "depth": queue.depth(lane),
            "oldest_age_seconds": round(queue.oldest_age(lane, now), 3),
        }
        for lane in PRIORITIES
    }
    removed = getattr(queue, "removed_ids", None)
    store: dict[str, Any] = {
        "kind": "spool" if durable else "memory",
        "durable": durable,
        "queued": queue.queued,
        "in_flight": queue.in_flight,
        "accepted": getattr(queue, "accepted", 0),
        "removed": removed.removed if removed is not None else 0,
        "lanes": lanes,
    }
    if durable:
        store["bytes_used"] = queue.bytes_used
        store["max_bytes"] = queue.max_bytes
        store["max_messages"] = queue.spool.max_records
    else:
        store["max_messages"] = queue.max_messages
    control = service.control
    meters = control.meters
    events = service.events
    links = []
    for link, config in zip(service.links, service.link_configs, strict=True):
        session = link.session
        in_flight = session.in_flight if session is not None else 0
        received = events.received.get(link, (0, 0))
        connector = link.connector.counters
        links.append(
            {
                "smsc_id": link.smsc_id,
                "admin_id": config.smsc_admin_id or link.smsc_id,
                "status": link.status,
                "online": link.online,
                "window": link.window_size,
                "in_flight": in_flight,
                "waiting": link.waiting,
                "queued": link.waiting + in_flight,
                "sent": link.counters.sent,
                "failed": link.counters.failed,
                "temporary": link.counters.temporary,
                "throttled": link.counters.throttled,
                "requeued": link.counters.requeued,
                "reconnects": connector.reconnects,
                "received_sms": received[0],
                "received_dlr": received[1],
                "sent_rates": dashboard_rates(meters.for_link(link).sent),
            }
        )
    reports = service.reports
    counters = asdict(events.counters)
    counters.update(held_now=events.held, unstored=events.unstored,
                    refused_while_suspended=events.refused)
    dlr = {
        "kind": service.config.core.dlr_storage,
        "stored": reports.records,
        "max_entries": service.config.passerelle.dlr_max_entries,
        **counters,
    }
    snapshot: dict[str, Any] = {
        "time": now,
        "version": service.version,
        "state": control.state().value,
        "uptime_seconds": int(service.uptime()),
        "queue": store,
        "smsc": links,
        "rates": {
            "windows": ["1 min", "5 min", "15 min"],
            "sms_in": dashboard_rates(meters.accepted),
            "sms_out": dashboard_rates(meters.sent),
            "dlr_in": dashboard_rates(meters.dlr_in),
            "dlr_out": dashboard_rates(meters.dlr_out),
            "mo_in": dashboard_rates(meters.mo),
        },
        "dlr": dlr,
    }
    outbox = reports.outbox
    if outbox is not None:
        figures = outbox.counters()
        snapshot["callbacks"] = {
            "pending": figures["queued"],
            "retrying": figures["waiting"],
            "dead_letter": figures["dead_lettered"],
            "sent": figures["sent"],
            "retried": figures["retried"],
            "in_flight": figures["in_flight"],
            "refused": figures["refused"],
            "bytes_used": figures["bytes_used"],
            "max_bytes": figures["max_bytes"],
        }
    mo = reports.mo
    if mo is not None:
        snapshot["mo"] = {**asdict(mo.counters), "concat_pending": mo.concat_pending}
    process = psutil.Process(os.getpid())
    cpu = process.cpu_times()
    snapshot["process"] = {
        "pid": process.pid,
        "rss_bytes": process.memory_info().rss,
        "cpu_seconds": round(cpu.user + cpu.system, 3),
    }
    # Which message encoder runs: "c" (the cffi module) or "python" (its twin).
    snapshot["encoder"] = native.IMPLEMENTATION
    return snapshot


def status_allowed(service: GatewayService, request: Request) -> bool:
    """Kannel's rule for status: open unless status-password is set; then status-password or
    admin-password, as `?password=`, compared in constant time."""
    core = service.config.core
    if core.status_password is None:
        return True
    given = (request.args.get(b"password") or [b""])[0]
    allowed = [core.status_password.encode(), core.admin_password.encode()]
    return any(hmac.compare_digest(given, secret) for secret in allowed)


class StatusJson(Resource):
    """`status.json` with Kannel's status password rule: none needed unless status-password is
    set, then status-password or admin-password (compared in constant time)."""

    isLeaf = True

    def __init__(self, service: GatewayService) -> None:
        super().__init__()
        self.service = service

    def render_GET(self, request: Request) -> bytes:  # noqa: N802 - twisted.web's name
        if not status_allowed(self.service, request):
            request.setHeader(b"Content-Type", b"text/plain")
            return b"Denied"
        request.setHeader(b"Content-Type", b"application/json")
        request.setHeader(b"Cache-Control", b"no-cache")
        return json.dumps(status_snapshot(self.service), sort_keys=True).encode()
