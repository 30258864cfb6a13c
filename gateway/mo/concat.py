"""Concatenated MO reassembly, as bearerbox's `concat_handling_check_and_handle` does it.

A part is recognised by the first concatenation IE of its UDH (8-bit reference, IEI 0x00,
or 16-bit, IEI 0x08); a sequence number of 0 or above the total means "not a part" and the
SMS goes on alone, as in Kannel. Parts are grouped by sender, receiver, smsc id, reference,
total and the rest of the UDH (the other IEs, e.g. ports), Kannel's key. A part seen twice is
discarded (Kannel logs "Duplicate message part … Discarded!"). When the last part arrives,
the parts' user data are joined in sequence order and the whole message goes on with the
UDH minus the concatenation IE and a fresh id.

Kannel answers the SMSC "OK" for a held part at once; so do we, and held parts live in
memory only (a restart loses incomplete groups, as Kannel without a store does). That memory
is bounded here where Kannel's is not:

* **timeout** (core `sms-combine-concatenated-mo-timeout`, 1800 s): a group that has not
  received a part for that long is given up, and its parts go on **one by one**, each with
  its own UDH, as Kannel's "Time-out waiting for concatenated message … Send message parts
  as is." (Kannel checks once per timeout period; we check at the exact deadline);
* **size**: past `max_groups` groups or `max_bytes` octets held, the oldest groups are given
  up the same way, so nothing is lost to the bound.

`sms-combine-concatenated-mo = false` is the caller's business: it does not call `add`.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Final

from twisted.internet.interfaces import IDelayedCall, IReactorTime

from gateway.message import new_id
from gateway.mo.inbound import InboundSms, decode_user_data
from protocols.sms.udh import IEI_CONCAT_8, IEI_CONCAT_16

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT: Final = 1800
DEFAULT_MAX_GROUPS: Final = 10_000
DEFAULT_MAX_BYTES: Final = 32 * 1024 * 1024

GroupKey = tuple[str, str, str, int, int, bytes]


@dataclass(frozen=True, slots=True)
class ConcatInfo:
    """Where a part sits: its reference, total, sequence, and the UDH without the IE."""

    ref: int
    total: int
    seq: int
    rest: bytes


def concat_info(udh: bytes) -> ConcatInfo | None:
    """The first concatenation IE of a UDH, read the way Kannel reads it, or None."""
    length = len(udh)
    pos, iel, iei = 1, 0, -1
    while pos < length - 1:
        iel = udh[pos + 1]
        iei = udh[pos]
        if iei in (IEI_CONCAT_8, IEI_CONCAT_16):
            break
        pos += iel + 2
    if pos >= length - 1 or iei not in (IEI_CONCAT_8, IEI_CONCAT_16):
        return None
    wide = iei == IEI_CONCAT_16
    end = pos + 5 + wide
    if end > length:
        return None
    ref = (udh[pos + 2] << 8 | udh[pos + 3]) if wide else udh[pos + 2]
    total, seq = udh[pos + 3 + wide], udh[pos + 4 + wide]
    if seq < 1 or seq > total:
        return None
    rest = udh[:pos] + udh[pos + iel + 2 :]
    rest = b"" if len(rest) <= 1 else bytes((len(rest) - 1,)) + rest[1:]
    return ConcatInfo(ref, total, seq, rest)


class _Group:
    __slots__ = ("key", "info", "parts", "size", "timer")

    def __init__(self, key: GroupKey, info: ConcatInfo) -> None:
        self.key = key
        self.info = info
        self.parts: list[InboundSms | None] = [None] * info.total
        self.size = 0
        self.timer: IDelayedCall | None = None

    @property
    def received(self) -> int:
        return sum(part is not None for part in self.parts)


@dataclass(frozen=True, slots=True)
class Held:
    """The part is kept until its group is complete (or `duplicate`: it was dropped)."""

    duplicate: bool = False


@dataclass(frozen=True, slots=True)
class Whole:
    """The message is complete: `sms` is the joined message, `parts` what it was made of
    (so `Reassembler.restore` can put them back if handling it fails)."""

    sms: InboundSms
    parts: tuple[InboundSms, ...]
    key: GroupKey


class Reassembler:
    """Holds the parts of concatenated MOs until they are complete, bounded in time and size.

    `give_up` receives the parts of a group given up (timeout or bounds), in sequence
    order; it must not raise.
    """

    def __init__(
        self,
        clock: IReactorTime,
        give_up: Callable[[list[InboundSms]], object],
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_groups: int = DEFAULT_MAX_GROUPS,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        if max_groups < 1 or max_bytes < 1:
            raise ValueError("max_groups and max_bytes must be at least 1")
        self.clock = clock
        self.give_up = give_up
        self.timeout = timeout
        self.max_groups = max_groups
        self.max_bytes = max_bytes
        #: Oldest (by last part received) first.
        self._groups: OrderedDict[GroupKey, _Group] = OrderedDict()
        self._bytes = 0

    @property
    def pending(self) -> int:
        """Groups waiting for parts."""
        return len(self._groups)

    @property
    def held_parts(self) -> int:
        return sum(group.received for group in self._groups.values())

    @property
    def held_bytes(self) -> int:
        return self._bytes

    def add(self, sms: InboundSms) -> Held | Whole | None:
        """Take one MO: None when it is not a part (handle it alone), `Held` when it waits
        for the rest of its group, `Whole` with the joined message when it completed it."""
        info = concat_info(sms.udh)
        if info is None:
            return None
        key: GroupKey = (sms.sender, sms.receiver, sms.smsc_id, info.ref, info.total, info.rest)
        group = self._groups.get(key)
        if group is None:
            group = _Group(key, info)
            self._groups[key] = group
        elif group.parts[info.seq - 1] is not None:
            log.warning(
                "duplicate MO part %d, ref %d, from %s to %s: discarded",
                info.seq, info.ref, sms.sender, sms.receiver,
            )
            return Held(duplicate=True)
        group.parts[info.seq - 1] = sms
        group.size += sms.size
        self._bytes += sms.size
        if group.received == info.total:
            parts = tuple(p for p in group.parts if p is not None)
            self._drop(group)
            return Whole(joined(parts, info.rest), parts, key)
        # Kannel times out from the last part received.
        self._groups.move_to_end(key)
        if group.timer is not None and group.timer.active():
            group.timer.cancel()
        group.timer = self.clock.callLater(self.timeout, self._expire, key)
        self._enforce_bounds(keep=key)
        return Held()

    def restore(self, whole: Whole, last: InboundSms) -> None:
        """Handling `whole` failed: keep its parts but `last` again, so that the SMSC's retry
        of `last` completes the group instead of being taken for a duplicate."""
        for part in whole.parts:
            if part is not last:
                self.add(part)

    def flush(self) -> None:
        """Give up every group now (shutdown: Kannel sends the parts as is)."""
        for key in list(self._groups):
            self._expire(key)

    def _expire(self, key: GroupKey) -> None:
        group = self._groups.get(key)
        if group is None:
            return
        self._drop(group)
        parts = [p for p in group.parts if p is not None]
        log.warning(
            "gave up waiting for the concatenated MO ref %d from %s to %s (%d of %d parts); "
            "handling the parts as they are", group.info.ref, key[0], key[1], len(parts),
            group.info.total,
        )
        try:
            self.give_up(parts)
        except Exception:  # a timer callback must never die
            log.exception("handling the given-up MO parts failed")

    def _drop(self, group: _Group) -> None:
        self._groups.pop(group.key, None)
        self._bytes -= group.size
        if group.timer is not None and group.timer.active():
            group.timer.cancel()
        group.timer = None

    def _enforce_bounds(self, keep: GroupKey) -> None:
        while len(self._groups) > self.max_groups or self._bytes > self.max_bytes:
            oldest = next(iter(self._groups))
            if oldest == keep:
                if len(self._groups) == 1:
                    break
                self._groups.move_to_end(keep)
                continue
            self._expire(oldest)


def joined(parts: tuple[InboundSms, ...], rest_udh: bytes) -> InboundSms:
    """The parts as one MO: data joined in order and decoded once, UDH without the IE."""
    first = parts[0]
    data = b"".join(p.data for p in parts)
    return replace(
        first,
        id=new_id(),
        data=data,
        text=decode_user_data(data, first.data_coding, first.coding, first.alt_charset),
        udh=rest_udh,
    )
