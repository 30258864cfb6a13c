"""The Redis DLR store, for several nodes sharing one DLR map.

One hash per record under Kannel's layout ``<table>:<smsc>:<message id>`` with an EXPIRE of
``ttl`` seconds, so Redis itself bounds the map.  Each operation is one command: ``add``
is a two-line Lua script doing HSET then EXPIRE (atomic: never a hash without its TTL, and,
unlike MULTI…EXEC, no pool connection held for one transaction, so under load adds pipeline
with everything else); ``get`` is one HGETALL; ``remove`` one DEL.  ``count`` and ``flush``
SCAN the table's keys rather than keep Kannel's ``<table>:Count`` counter: a counter cannot
see keys that EXPIRE removed, so it drifts upward forever; SCAN is exact, costs O(keys) and
is only used by the status page and the admin flush.

The connection is txredisapi's lazy pool with reconnect, always ``convertNumbers=False``:
otherwise a reply "0123" would come back as the integer 123.  A lazy pool queues commands
while Redis is down, which would hang the caller forever; every operation therefore carries
``timeout`` and fails with :class:`~storage.dlr.record.DlrStoreUnavailable`.
"""

from __future__ import annotations

import math
from typing import Any

import txredisapi
from twisted.internet.defer import CancelledError, Deferred, TimeoutError, fail, succeed
from twisted.internet.interfaces import IReactorTime
from twisted.python.failure import Failure

from storage.dlr.record import (
    DEFAULT_TTL,
    DlrRecord,
    DlrStoreClosed,
    DlrStoreError,
    DlrStoreUnavailable,
)

_GLOB_SPECIAL = str.maketrans({c: "\\" + c for c in "*?[]\\"})


#: HSET + EXPIRE as one atomic command (ARGV[1] is the TTL, then field/value pairs).
_ADD_SCRIPT = (
    "redis.call('HSET', KEYS[1], unpack(ARGV, 2)) "
    "redis.call('EXPIRE', KEYS[1], ARGV[1]) return 1"
)


class RedisDlrStore:
    """:class:`~storage.dlr.record.DlrStore` on Redis hashes with a TTL each."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 6379,
        password: str | None = None,
        database: int | None = None,
        ttl: float = DEFAULT_TTL,
        table: str = "dlr",
        reactor: IReactorTime | None = None,
        timeout: float = 5.0,
        poolsize: int = 4,
    ) -> None:
        if reactor is None:
            from twisted.internet import reactor as default_reactor

            reactor = default_reactor  # type: ignore[assignment]
        if ttl <= 0:
            raise ValueError("ttl must be positive: an unbounded DLR map is what we replace")
        self.table = table
        #: Redis EXPIRE takes whole seconds; a fraction is rounded up, never down to 0.
        self.ttl = max(1, math.ceil(ttl))
        self.timeout = timeout
        self._where = f"redis {host}:{port}"
        self._reactor = reactor
        self._closed = False
        self._redis = txredisapi.lazyConnectionPool(
            host=host,
            port=port,
            dbid=database,
            poolsize=poolsize,
            reconnect=True,
            password=password,
            connectTimeout=timeout,
            replyTimeout=timeout,
            convertNumbers=False,
        )

    def key(self, smsc_id: str, message_id: str) -> str:
        """Kannel's key layout: ``<table>:<smsc>:<message id>``."""
        return f"{self.table}:{smsc_id}:{message_id}"

    def _bounded(self, d: Deferred[Any], what: str) -> Deferred[Any]:
        """Fail ``d`` with DlrStoreUnavailable after ``timeout`` instead of hanging while the
        lazy pool waits for a Redis that is down."""
        d.addTimeout(self.timeout, self._reactor)

        def translate(failure: Failure) -> Failure:
            if failure.check(TimeoutError, CancelledError, txredisapi.ConnectionError,
                             ConnectionError):
                raise DlrStoreUnavailable(
                    f"DLR {what}: {self._where} did not answer within {self.timeout} s "
                    f"({failure.getErrorMessage() or failure.type.__name__})"
                )
            if failure.check(txredisapi.RedisError):
                raise DlrStoreError(f"DLR {what}: {self._where}: {failure.getErrorMessage()}")
            return failure

        return d.addErrback(translate)

    def _call(self, what: str, method: str, *args: Any) -> Deferred[Any]:
        if self._closed:
            return fail(DlrStoreClosed("DLR store is closed"))
        try:
            d = getattr(self._redis, method)(*args)
        except Exception as e:  # txredisapi raises synchronously on a dropped connection
            d = fail(e)
        return self._bounded(d, what)

    def add(self, record: DlrRecord) -> Deferred[None]:
        """HSET the record and EXPIRE it, atomically, in one command (a two-line Lua script,
        sent once and then called by its SHA1). Unlike MULTI…EXEC it holds no connection of
        the pool for itself, so adds pipeline with every other command."""
        key = self.key(record.smsc_id, record.message_id)
        args: list[Any] = [self.ttl]
        for name, value in record.to_fields().items():
            args += (name, value)

        def check(result: Any) -> None:
            if int(result) != 1:
                raise DlrStoreError(f"DLR add: unexpected script reply {result!r}")

        return self._call("add", "eval", _ADD_SCRIPT, [key], args).addCallback(check)

    def get(self, smsc_id: str, message_id: str) -> Deferred[DlrRecord | None]:
        """One HGETALL; an empty reply (absent or expired) is None."""
        d = self._call("get", "hgetall", self.key(smsc_id, message_id))

        def decode(fields: dict[str, str] | None) -> DlrRecord | None:
            if not fields:
                return None
            try:
                return DlrRecord.from_fields(fields)
            except (KeyError, ValueError) as e:
                raise DlrStoreError(f"DLR get: damaged record {smsc_id}/{message_id}: {e}") from e

        return d.addCallback(decode)

    def remove(self, smsc_id: str, message_id: str) -> Deferred[None]:
        """One DEL."""
        return self._call("remove", "delete", self.key(smsc_id, message_id)).addCallback(
            lambda _: None
        )

    async def _scan(self, delete: bool) -> int:
        pattern = self.table.translate(_GLOB_SPECIAL) + ":*"
        cursor: Any = 0
        total = 0
        while True:
            cursor, keys = await self._bounded(
                self._redis.scan(cursor, pattern, 1000), "scan"
            )
            if keys:
                if delete:
                    total += int(await self._bounded(self._redis.delete(keys), "flush"))
                else:
                    total += len(keys)
            if int(cursor) == 0:
                return total

    def count(self) -> Deferred[int]:
        """Records in the table, by SCAN (exact; see the module docstring for why not a
        counter)."""
        if self._closed:
            return fail(DlrStoreClosed("DLR store is closed"))
        return Deferred.fromCoroutine(self._scan(delete=False))

    def flush(self) -> Deferred[int]:
        """SCAN and DEL every record of the table; fires with how many were deleted."""
        if self._closed:
            return fail(DlrStoreClosed("DLR store is closed"))
        return Deferred.fromCoroutine(self._scan(delete=True))

    def close(self) -> Deferred[None]:
        """Stop reconnecting and close the pool's connections."""
        if self._closed:
            return succeed(None)
        self._closed = True
        d = self._redis.disconnect()
        d.addTimeout(self.timeout, self._reactor)
        return d.addBoth(lambda _: None)
