"""HTTP callbacks made by the gateway: dlr-url reports and sms-service get-url / post-url
requests, through a durable, bounded, retrying outbox with a network guard.
See docs/callbacks.md."""

from gateway.callbacks.deadletter import DeadLetters, redact_url
from gateway.callbacks.guard import (
    BLOCKED_NETWORKS,
    LOOPBACK_NETWORKS,
    CallbackRefused,
    GuardedEndpointFactory,
    NetworkGuard,
)
from gateway.callbacks.job import HttpJob, HttpResult
from gateway.callbacks.outbox import (
    BODY_CAP,
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_PENDING,
    DEFAULT_RETRIES,
    DEFAULT_RETRY_DELAY,
    DEFAULT_TIMEOUT,
    MAX_RETRY_DELAY,
    Outbox,
    backoff,
)

__all__ = [
    "BLOCKED_NETWORKS",
    "BODY_CAP",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_PENDING",
    "DEFAULT_RETRIES",
    "DEFAULT_RETRY_DELAY",
    "DEFAULT_TIMEOUT",
    "LOOPBACK_NETWORKS",
    "MAX_RETRY_DELAY",
    "CallbackRefused",
    "DeadLetters",
    "GuardedEndpointFactory",
    "HttpJob",
    "HttpResult",
    "NetworkGuard",
    "Outbox",
    "backoff",
    "redact_url",
]
