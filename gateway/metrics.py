"""`/metrics` in Prometheus' text format, from the same counters as `status.json`.

A custom collector reads the gateway's live counters at scrape time, so a scrape costs the
same with a million messages queued and nothing is updated on the hot path. Rendering runs
on the reactor thread (not prometheus_client's WSGI-on-threadpool app): the counters belong
to the reactor and must not be read from another thread.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from twisted.web.resource import Resource
from twisted.web.server import Request

from gateway.status import status_allowed, status_snapshot

if TYPE_CHECKING:
    from gateway.service import GatewayService


class GatewayCollector:
    """Turns one status snapshot into Prometheus gauges."""

    def __init__(self, service: GatewayService) -> None:
        self.service = service

    def collect(self) -> Iterator[Metric]:
        status = status_snapshot(self.service)
        queue: dict[str, Any] = status["queue"]
        yield _gauge("passerelle_queue_messages", "Messages waiting to be sent.", queue["queued"])
        yield _gauge(
            "passerelle_queue_in_flight", "Messages taken for sending, not yet done.",
            queue["in_flight"],
        )
        depth = GaugeMetricFamily(
            "passerelle_lane_depth", "Ready messages per priority lane.", labels=["lane"]
        )
        age = GaugeMetricFamily(
            "passerelle_lane_oldest_age_seconds",
            "Age of the oldest ready message per priority lane.", labels=["lane"],
        )
        for lane, figures in sorted(queue["lanes"].items()):
            depth.add_metric([lane], figures["depth"])
            age.add_metric([lane], figures["oldest_age_seconds"])
        yield depth
        yield age
        if queue["durable"]:
            yield _gauge(
                "passerelle_spool_bytes", "Bytes the spool holds on disk.", queue["bytes_used"]
            )
            yield _gauge(
                "passerelle_spool_max_bytes", "The spool's byte cap (spool-max-bytes).",
                queue["max_bytes"],
            )
        else:
            yield _gauge(
                "passerelle_queue_max_messages", "The in-memory queue's cap.",
                queue["max_messages"],
            )
        online = GaugeMetricFamily(
            "passerelle_smsc_online", "1 when the SMSC link is bound for sending.",
            labels=["smsc_id"],
        )
        for link in status["smsc"]:
            online.add_metric([link["smsc_id"]], 1 if link["online"] else 0)
        yield online
        yield _gauge(
            "passerelle_process_rss_bytes", "Resident memory of the gateway process.",
            status["process"]["rss_bytes"],
        )


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


class MetricsResource(Resource):
    """Serves the registry, with the same password rule as `status.json` (Kannel's status)."""

    isLeaf = True

    def __init__(self, service: GatewayService) -> None:
        super().__init__()
        self.service = service
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(GatewayCollector(service))  # type: ignore[arg-type]

    def render_GET(self, request: Request) -> bytes:  # noqa: N802 - twisted.web's name
        if not status_allowed(self.service, request):
            request.setHeader(b"Content-Type", b"text/plain")
            return b"Denied"
        request.setHeader(b"Content-Type", CONTENT_TYPE_LATEST.encode())
        return generate_latest(self.registry)
