"""The DLR record and the one interface both stores implement.

A record maps a carrier's message id (as returned in submit_sm_resp) back to the request that
produced it, so that a delivery receipt can be turned into the client's dlr-url callback.
Message ids are strings, never numbers: ``message_id`` is the normalised match key (the caller
normalises per SMSC ``msg-id-type``), ``raw_message_id`` is what the SMSC sent, kept for %F.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Protocol

from twisted.internet.defer import Deferred

#: Kannel's dlr-db ``ttl`` default is 0 (never); ours is bounded: 7 days.
DEFAULT_TTL = 7 * 24 * 3600.0


class DlrStoreError(Exception):
    """A DLR store operation failed."""


class DlrStoreUnavailable(DlrStoreError):
    """The backing server did not answer in time (down, unreachable, or stalled)."""


class DlrStoreClosed(DlrStoreError):
    """The store was closed; nothing more can be read or written through it."""


@dataclass(frozen=True, slots=True)
class DlrRecord:
    """Everything needed to build a DLR callback once the receipt arrives.

    Frozen so a record read back can be shared between callbacks without copies.
    """

    smsc_id: str
    message_id: str
    raw_message_id: str
    source: str = ""
    destination: str = ""
    service: str = ""
    url: str = ""
    mask: int = 0
    boxc_id: str = ""
    parent_id: str = ""
    part: int = 1
    parts: int = 1
    created: float = 0.0
    meta: dict[str, str] = field(default_factory=dict)

    def to_fields(self) -> dict[str, str]:
        """Flat string fields (Redis hash, SQLite row); numbers are written as text so that
        nothing on the way can reinterpret an id such as "0123"."""
        return {
            "smsc": self.smsc_id,
            "ts": self.message_id,
            "raw_ts": self.raw_message_id,
            "source": self.source,
            "destination": self.destination,
            "service": self.service,
            "url": self.url,
            "mask": str(self.mask),
            "boxc": self.boxc_id,
            "parent": self.parent_id,
            "part": str(self.part),
            "parts": str(self.parts),
            "created": repr(float(self.created)),
            "meta": json.dumps(self.meta, separators=(",", ":"), sort_keys=True),
        }

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> DlrRecord:
        """Inverse of :meth:`to_fields`; raises ``KeyError``/``ValueError`` on a damaged row."""
        meta = json.loads(fields.get("meta") or "{}")
        return cls(
            smsc_id=fields["smsc"],
            message_id=fields["ts"],
            raw_message_id=fields.get("raw_ts", fields["ts"]),
            source=fields.get("source", ""),
            destination=fields.get("destination", ""),
            service=fields.get("service", ""),
            url=fields.get("url", ""),
            mask=int(fields.get("mask") or 0),
            boxc_id=fields.get("boxc", ""),
            parent_id=fields.get("parent", ""),
            part=int(fields.get("part") or 1),
            parts=int(fields.get("parts") or 1),
            created=float(fields.get("created") or 0.0),
            meta={str(k): str(v) for k, v in meta.items()},
        )


class DlrStore(Protocol):
    """The DLR map: (smsc_id, normalised message id) → :class:`DlrRecord`, bounded by a TTL.

    Every method returns a Deferred so that a store may block (disk) or talk to a server
    (Redis) without ever blocking the reactor.
    """

    def add(self, record: DlrRecord) -> Deferred[None]:
        """Store ``record``, replacing any record under the same key."""

    def get(self, smsc_id: str, message_id: str) -> Deferred[DlrRecord | None]:
        """The record under this key, or None if absent or expired."""

    def remove(self, smsc_id: str, message_id: str) -> Deferred[None]:
        """Forget the record under this key (absent is not an error)."""

    def count(self) -> Deferred[int]:
        """How many records are stored (for the status page's "DLR: N queued")."""

    def flush(self) -> Deferred[int]:
        """Drop every record (Kannel's admin ``flush-dlr``); fires with how many were dropped."""

    def close(self) -> Deferred[None]:
        """Release files, threads and connections."""
