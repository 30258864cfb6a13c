"""The embedded DLR store: one SQLite file in WAL mode, no server to run.

SQLite calls block (disk I/O, fsync at checkpoints), so every one of them runs on a dedicated
single-thread pool: one thread means one connection and no locking between our own calls, and
the reactor thread never waits on the disk.  Operations are handed over in batches: all those
asked for in one reactor turn (or while the previous batch runs) cross to the thread at once
and run in one transaction, in order, so a busy gateway pays one thread wake-up and one WAL
commit per batch rather than per record.  Records expire ``ttl`` seconds after their
``created`` time (checked on every get, and purged periodically by a LoopingCall on the injected
clock), and the table never holds more than ``max_records`` rows: the oldest are evicted first
and counted in :attr:`EmbeddedDlrStore.evicted`.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, TypeVar

from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.interfaces import IReactorThreads, IReactorTime
from twisted.internet.task import LoopingCall
from twisted.internet.threads import deferToThreadPool
from twisted.python import log
from twisted.python.failure import Failure
from twisted.python.threadpool import ThreadPool

from storage.dlr.record import DEFAULT_TTL, DlrRecord, DlrStoreClosed, DlrStoreError

T = TypeVar("T")

#: Operations per batch (one transaction); more wait for the next batch.
MAX_BATCH = 1000

_COLUMNS = (
    "smsc", "ts", "raw_ts", "source", "destination", "service", "url", "mask", "boxc",
    "parent", "part", "parts", "created", "meta",
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS dlr (
    smsc TEXT NOT NULL,
    ts TEXT NOT NULL,
    raw_ts TEXT NOT NULL,
    source TEXT NOT NULL,
    destination TEXT NOT NULL,
    service TEXT NOT NULL,
    url TEXT NOT NULL,
    mask TEXT NOT NULL,
    boxc TEXT NOT NULL,
    parent TEXT NOT NULL,
    part TEXT NOT NULL,
    parts TEXT NOT NULL,
    created REAL NOT NULL,
    meta TEXT NOT NULL,
    PRIMARY KEY (smsc, ts)
);
CREATE INDEX IF NOT EXISTS dlr_created ON dlr (created);
"""


class EmbeddedDlrStore:
    """:class:`~storage.dlr.record.DlrStore` on a local SQLite file.

    Columns are TEXT (``created`` aside) so that an id like "0123" can never be coerced into a
    number by SQLite's type affinity.  Commits use ``synchronous=NORMAL`` in WAL mode: a
    committed record survives a crash of the process; only a power loss may lose the last
    transactions, which costs at most a late callback, never a wrong one.
    """

    def __init__(
        self,
        path: str | Path,
        ttl: float = DEFAULT_TTL,
        max_records: int = 1_000_000,
        reactor: Any = None,
        clock: IReactorTime | None = None,
        purge_interval: float | None = None,
    ) -> None:
        if reactor is None:
            from twisted.internet import reactor as default_reactor

            reactor = default_reactor
        if ttl <= 0:
            raise ValueError("ttl must be positive: an unbounded DLR table is what we replace")
        if max_records < 1:
            raise ValueError("max_records must be at least 1")
        self.path = Path(path)
        self.ttl = float(ttl)
        self.max_records = max_records
        #: Records dropped because the table was full (oldest first), since this store opened.
        self.evicted = 0
        #: Records dropped because their TTL had passed, since this store opened.
        self.expired = 0
        self._reactor: IReactorThreads = reactor
        self._clock: IReactorTime = clock if clock is not None else reactor
        self._pool = ThreadPool(minthreads=1, maxthreads=1, name=f"dlr-sqlite:{self.path.name}")
        self._pool.start()
        self._closed = False
        self._db: sqlite3.Connection | None = None
        self._rows = 0
        self._ops: list[tuple[Any, tuple[Any, ...], Deferred[Any]]] = []
        self._batching = False
        self._idle: list[Deferred[None]] = []
        self._opened = self._run(self._open)
        self._opened.addErrback(log.err, f"DLR store {self.path} failed to open")
        interval = purge_interval if purge_interval is not None else min(self.ttl, 60.0)
        self._purger = LoopingCall(self._purge)
        self._purger.clock = self._clock
        self._purging = self._purger.start(interval, now=False)
        self._purging.addErrback(log.err, "DLR purge loop stopped")

    # -- plumbing ---------------------------------------------------------------------------

    def _run(self, f: Any, *args: Any) -> Deferred[T]:
        """Run ``f`` on the store's own thread; the one place the reactor hands work off."""
        if self._closed:
            return fail(DlrStoreClosed(f"DLR store {self.path} is closed"))
        return deferToThreadPool(self._reactor, self._pool, f, *args)

    def _batched(self, f: Any, *args: Any) -> Deferred[Any]:
        """Queue ``f`` for the next batch: every operation asked for during one reactor turn
        (and while a batch runs) goes to the store thread in one hand-off and one SQLite
        transaction. Under load that is one thread wake-up and one WAL commit per batch
        instead of per record; the order of operations is kept."""
        if self._closed:
            return fail(DlrStoreClosed(f"DLR store {self.path} is closed"))
        d: Deferred[Any] = Deferred()
        self._ops.append((f, args, d))
        if not self._batching:
            self._batching = True
            self._reactor.callLater(0, self._next_batch)
        return d

    def _next_batch(self) -> None:
        ops, self._ops = self._ops[:MAX_BATCH], self._ops[MAX_BATCH:]
        calls = [(f, args) for f, args, _ in ops]
        done = deferToThreadPool(self._reactor, self._pool, self._apply, calls)
        done.addBoth(self._batch_done, ops)

    def _apply(self, calls: list[tuple[Any, tuple[Any, ...]]]) -> list[tuple[bool, Any]]:
        """On the store thread: the batch in one transaction; each call's result or error."""
        db = self._conn()
        rows = self._rows
        results: list[tuple[bool, Any]] = []
        db.execute("BEGIN IMMEDIATE")
        try:
            for f, args in calls:
                try:
                    results.append((True, f(*args)))
                except Exception as error:  # one bad call does not sink the batch
                    results.append((False, error))
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            self._rows = rows
            raise
        return results

    def _batch_done(self, results: Any, ops: list[tuple[Any, Any, Deferred[Any]]]) -> None:
        if isinstance(results, Failure):
            for _f, _args, d in ops:
                d.errback(results)
        else:
            for (_f, _args, d), (ok, value) in zip(ops, results, strict=True):
                if ok:
                    d.callback(value)
                else:
                    d.errback(Failure(value))
        if self._ops:
            self._next_batch()
        else:
            self._batching = False
            idle, self._idle = self._idle, []
            for d in idle:
                d.callback(None)

    def _drained(self) -> Deferred[None]:
        """Fires once every queued operation has run."""
        if not self._batching:
            return succeed(None)
        d: Deferred[None] = Deferred()
        self._idle.append(d)
        return d

    def _open(self) -> None:
        db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(_SCHEMA)
        self._db = db
        self._rows = db.execute("SELECT COUNT(*) FROM dlr").fetchone()[0]

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise DlrStoreError(f"DLR store {self.path} failed to open")
        return self._db

    # -- blocking halves, on the store thread -----------------------------------------------

    def _add(self, record: DlrRecord) -> None:
        db = self._conn()
        fields = record.to_fields()
        values = [fields[c] for c in _COLUMNS]
        values[_COLUMNS.index("created")] = float(record.created)
        exists = db.execute(
            "SELECT 1 FROM dlr WHERE smsc = ? AND ts = ?", (record.smsc_id, record.message_id)
        ).fetchone()
        db.execute(
            f"INSERT OR REPLACE INTO dlr ({', '.join(_COLUMNS)}) "
            f"VALUES ({', '.join('?' * len(_COLUMNS))})",
            values,
        )
        rows = self._rows + (0 if exists else 1)
        excess = rows - self.max_records
        if excess > 0:
            cur = db.execute(
                "DELETE FROM dlr WHERE rowid IN "
                "(SELECT rowid FROM dlr ORDER BY created LIMIT ?)",
                (excess,),
            )
            rows -= cur.rowcount
            self.evicted += cur.rowcount
        self._rows = rows

    def _get(self, smsc_id: str, message_id: str, now: float) -> DlrRecord | None:
        db = self._conn()
        row = db.execute(
            f"SELECT {', '.join(_COLUMNS)} FROM dlr WHERE smsc = ? AND ts = ?",
            (smsc_id, message_id),
        ).fetchone()
        if row is None:
            return None
        fields = dict(zip(_COLUMNS, row, strict=True))
        if float(fields["created"]) + self.ttl <= now:
            self._delete(smsc_id, message_id)
            self.expired += 1
            return None
        fields["created"] = repr(float(fields["created"]))
        return DlrRecord.from_fields(fields)

    def _delete(self, smsc_id: str, message_id: str) -> None:
        db = self._conn()
        cur = db.execute("DELETE FROM dlr WHERE smsc = ? AND ts = ?", (smsc_id, message_id))
        self._rows -= cur.rowcount

    def _expire(self, now: float) -> int:
        db = self._conn()
        cur = db.execute("DELETE FROM dlr WHERE created <= ?", (now - self.ttl,))
        self._rows -= cur.rowcount
        self.expired += cur.rowcount
        return cur.rowcount

    def _flush(self) -> int:
        db = self._conn()
        cur = db.execute("DELETE FROM dlr")
        self._rows = 0
        return cur.rowcount

    def _shutdown(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    # -- the interface ----------------------------------------------------------------------

    def add(self, record: DlrRecord) -> Deferred[None]:
        """Store ``record`` (replacing the same key), evicting the oldest if full."""
        return self._batched(self._add, record)

    def get(self, smsc_id: str, message_id: str) -> Deferred[DlrRecord | None]:
        """The record, or None if absent or older than the TTL by the injected clock."""
        return self._batched(self._get, smsc_id, message_id, self._clock.seconds())

    def remove(self, smsc_id: str, message_id: str) -> Deferred[None]:
        """Forget the record under this key."""
        return self._batched(self._delete, smsc_id, message_id)

    def count(self) -> Deferred[int]:
        """Rows in the table (expired ones not yet purged included, as Kannel counts)."""
        return self._batched(lambda: self._rows)

    def flush(self) -> Deferred[int]:
        """Drop every record; fires with how many were dropped."""
        return self._batched(self._flush)

    def purge(self) -> Deferred[int]:
        """Drop the records older than the TTL now; fires with how many."""
        return self._batched(self._expire, self._clock.seconds())

    def _purge(self) -> Deferred[int] | None:
        """The LoopingCall body: a failure is logged, never allowed to stop the loop."""
        if self._closed:
            return None
        d = self.purge()
        d.addErrback(log.err, "DLR purge failed")
        return d

    def close(self) -> Deferred[None]:
        """Stop the purge loop, close the database on its thread, stop the thread."""
        if self._closed:
            return succeed(None)
        if self._purger.running:
            self._purger.stop()
        d: Deferred[None] = self._drained()
        d.addCallback(lambda _: deferToThreadPool(self._reactor, self._pool, self._shutdown))
        self._closed = True

        def stop_pool(result: object) -> object:
            self._pool.stop()
            return result

        return d.addBoth(stop_pool)
