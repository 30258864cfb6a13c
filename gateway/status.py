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
    """The gateway's state as plain data (what `status.json` serves)."""
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
    store: dict[str, Any] = {
        "kind": "spool" if durable else "memory",
        "durable": durable,
        "queued": queue.queued,
        "in_flight": queue.in_flight,
        "lanes": lanes,
    }
    if durable:
        store["bytes_used"] = queue.bytes_used
        store["max_bytes"] = queue.max_bytes
    else:
        store["max_messages"] = queue.max_messages
    links = [
        {
            "smsc_id": link.smsc_id,
            "status": link.status,
            "online": link.online,
            "window": link.window_size,
            "waiting": link.waiting,
        }
        for link in service.links
    ]
    process = psutil.Process(os.getpid())
    cpu = process.cpu_times()
    return {
        "time": now,
        "queue": store,
        "smsc": links,
        "process": {
            "pid": process.pid,
            "rss_bytes": process.memory_info().rss,
            "cpu_seconds": round(cpu.user + cpu.system, 3),
        },
        # Which message encoder runs: "c" (the cffi module) or "python" (its twin).
        "encoder": native.IMPLEMENTATION,
    }


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
