"""`/metrics` in Prometheus' text format, from the same counters as `status.json`.

A custom collector reads the gateway's live counters at scrape time, so a scrape costs the
same with a million messages queued and nothing is updated on the hot path. Rendering runs
on the reactor thread (not prometheus_client's WSGI-on-threadpool app): the counters belong
to the reactor and must not be read from another thread.

The one figure measured rather than counted is the spool's fsync latency: `FsyncTimer` wraps
the fsync the spool's commit thread calls (one thread writes, the reactor reads; a scrape
may see a bucket one observation ahead of the sum, which Prometheus tolerates).
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from twisted.web.resource import Resource
from twisted.web.server import Request

from gateway.status import status_allowed, status_snapshot

if TYPE_CHECKING:
    from gateway.service import GatewayService

#: Upper bounds (seconds) of the fsync histogram: an SSD answers in 0.1-2 ms, a busy disk
#: or a network volume in tens of ms; past a second the 202s are visibly late.
FSYNC_BUCKETS: tuple[float, ...] = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
)


class FsyncTimer:
    """Counts fsync durations into fixed buckets (a Prometheus histogram without a lock)."""

    def __init__(self, buckets: tuple[float, ...] = FSYNC_BUCKETS) -> None:
        self.bounds = buckets
        #: Per bucket (the last one is +Inf), not cumulative.
        self.counts = [0] * (len(buckets) + 1)
        self.total = 0.0

    def timed(self, fsync: Callable[[int], None]) -> Callable[[int], None]:
        """`fsync`, timed into this histogram."""
        def timed_fsync(fd: int) -> None:
            start = time.perf_counter()
            try:
                fsync(fd)
            finally:
                self.observe(time.perf_counter() - start)

        return timed_fsync

    def observe(self, seconds: float) -> None:
        """Count one fsync that took `seconds`."""
        self.counts[bisect.bisect_left(self.bounds, seconds)] += 1
        self.total += seconds

    def metric(self) -> HistogramMetricFamily:
        """The histogram as Prometheus wants it (cumulative buckets)."""
        cumulative = 0
        buckets: list[tuple[str, float]] = []
        for bound, count in zip((*self.bounds, float("inf")), self.counts, strict=True):
            cumulative += count
            buckets.append(("+Inf" if bound == float("inf") else repr(bound), cumulative))
        return HistogramMetricFamily(
            "passerelle_spool_fsync_seconds", "Duration of the spool's fsync calls.",
            buckets=buckets, sum_value=self.total,
        )


class GatewayCollector:
    """Turns one status snapshot (and a few counters beside it) into Prometheus metrics."""

    def __init__(self, service: GatewayService) -> None:
        self.service = service

    def collect(self) -> Iterator[Metric]:
        service = self.service
        status = status_snapshot(service)
        queue: dict[str, Any] = status["queue"]
        yield _gauge("passerelle_up", "1 while running, 0 once going down.",
                     0 if status["state"] == "going down" else 1)
        yield _gauge("passerelle_queue_messages", "Messages waiting to be sent.", queue["queued"])
        yield _gauge(
            "passerelle_queue_in_flight", "Messages taken for sending, not yet done.",
            queue["in_flight"],
        )
        yield CounterMetricFamily(
            "passerelle_segments_accepted", "SMS segments put in the queue (one per part).",
            value=queue["accepted"],
        )
        yield CounterMetricFamily(
            "passerelle_messages_removed", "Queued messages dropped by remove-message.",
            value=queue["removed"],
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
            timer = getattr(service, "fsync_timer", None)
            if timer is not None:
                yield timer.metric()
        yield _gauge(
            "passerelle_queue_max_messages", "The queue's message cap.", queue["max_messages"],
        )
        yield from self._links(status["smsc"])
        yield from self._reports(status)
        yield _gauge(
            "passerelle_process_rss_bytes", "Resident memory of the gateway process.",
            status["process"]["rss_bytes"],
        )
        yield CounterMetricFamily(
            "passerelle_process_cpu_seconds", "CPU time of the gateway process.",
            value=status["process"]["cpu_seconds"],
        )

    @staticmethod
    def _links(links: list[dict[str, Any]]) -> Iterator[Metric]:
        submits = CounterMetricFamily(
            "passerelle_submits", "Submit outcomes per SMSC: ok (ESME_ROK), failed (for good), "
            "temporary (retried), requeued (no answer: connection lost or stopped).",
            labels=["smsc_id", "status"],
        )
        online = GaugeMetricFamily(
            "passerelle_smsc_online", "1 when the SMSC link is bound for sending.",
            labels=["smsc_id"],
        )
        state = GaugeMetricFamily(
            "passerelle_smsc_state", "1 for the link's current state (Kannel's word).",
            labels=["smsc_id", "state"],
        )
        window = GaugeMetricFamily(
            "passerelle_smsc_window_in_flight", "Submits on the wire awaiting their response.",
            labels=["smsc_id"],
        )
        size = GaugeMetricFamily(
            "passerelle_smsc_window_size", "max-pending-submits.", labels=["smsc_id"]
        )
        waiting = GaugeMetricFamily(
            "passerelle_smsc_waiting", "Messages a link holds for its window or its bucket.",
            labels=["smsc_id"],
        )
        throttled = CounterMetricFamily(
            "passerelle_smsc_throttled", "Submits answered ESME_RTHROTTLED or ESME_RMSGQFUL.",
            labels=["smsc_id"],
        )
        reconnects = CounterMetricFamily(
            "passerelle_smsc_reconnects", "Reconnect attempts.", labels=["smsc_id"]
        )
        received = CounterMetricFamily(
            "passerelle_smsc_received", "deliver_sm received, by kind (mo, dlr).",
            labels=["smsc_id", "kind"],
        )
        for link in links:
            smsc = link["smsc_id"]
            for name, key in (("ok", "sent"), ("failed", "failed"),
                              ("temporary", "temporary"), ("requeued", "requeued")):
                submits.add_metric([smsc, name], link[key])
            online.add_metric([smsc], 1 if link["online"] else 0)
            state.add_metric([smsc, link["status"].split()[0] if link["status"] else ""], 1)
            window.add_metric([smsc], link["in_flight"])
            size.add_metric([smsc], link["window"])
            waiting.add_metric([smsc], link["waiting"])
            throttled.add_metric([smsc], link["throttled"])
            reconnects.add_metric([smsc], link["reconnects"])
            received.add_metric([smsc, "mo"], link["received_sms"])
            received.add_metric([smsc, "dlr"], link["received_dlr"])
        yield from (submits, online, state, window, size, waiting, throttled, reconnects,
                    received)

    @staticmethod
    def _reports(status: dict[str, Any]) -> Iterator[Metric]:
        dlr = status["dlr"]
        receipts = CounterMetricFamily(
            "passerelle_receipts", "Delivery receipts by outcome.", labels=["outcome"]
        )
        for outcome in ("matched", "unmatched", "unparsable", "held", "retry_later"):
            receipts.add_metric([outcome], dlr[outcome])
        yield receipts
        if dlr["stored"] is not None:
            yield _gauge("passerelle_dlr_records", "DLR records waiting for a receipt.",
                         dlr["stored"])
        yield _gauge("passerelle_dlr_held", "Receipts waiting for their record now.",
                     dlr["held_now"])
        callbacks = status.get("callbacks")
        if callbacks is not None:
            yield CounterMetricFamily(
                "passerelle_callback_retries", "Callback attempts retried.",
                value=callbacks["retried"],
            )
            yield CounterMetricFamily(
                "passerelle_callback_dead_letters", "Callbacks given up (dead-lettered).",
                value=callbacks["dead_letter"],
            )
            yield CounterMetricFamily(
                "passerelle_callbacks_sent", "Callbacks answered by their target.",
                value=callbacks["sent"],
            )
            yield _gauge("passerelle_callbacks_pending", "Callbacks not answered yet.",
                         callbacks["pending"])


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
