"""The durable spool: segment files of checksummed records in priority lanes, group-commit
fsync, hard caps, streaming crash recovery.  See docs/spool.md."""

from storage.spool.spool import RecordRef, Spool, SpoolFull

__all__ = ["RecordRef", "Spool", "SpoolFull"]
