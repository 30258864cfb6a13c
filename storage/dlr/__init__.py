"""The DLR store: (smsc-id, normalised message id) → what the dlr-url callback needs.

One interface (:class:`DlrStore`), two implementations: :class:`EmbeddedDlrStore` (SQLite in
WAL mode, the default, no server) and :class:`RedisDlrStore` (several nodes share it).
Both bound their size by a TTL; the embedded one also by a record count.  See docs/dlr-store.md.
"""

from storage.dlr.embedded import EmbeddedDlrStore
from storage.dlr.record import (
    DEFAULT_TTL,
    DlrRecord,
    DlrStore,
    DlrStoreClosed,
    DlrStoreError,
    DlrStoreUnavailable,
)
from storage.dlr.redis_store import RedisDlrStore

__all__ = [
    "DEFAULT_TTL",
    "DlrRecord",
    "DlrStore",
    "DlrStoreClosed",
    "DlrStoreError",
    "DlrStoreUnavailable",
    "EmbeddedDlrStore",
    "RedisDlrStore",
]
