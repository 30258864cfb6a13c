"""The pieces under the admin commands, one by one: removed ids at take, lazy store listing,
the reload's refusals and link plan, bearerbox's access-log lines, the fsync histogram."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path
from typing import Any

import pytest_twisted
from twisted.internet import reactor
from twisted.internet.task import Clock

from gateway.config import load_config_text
from gateway.message import Message
from gateway.metrics import FsyncTimer
from gateway.queue import MemoryQueue, RemovedIds
from gateway.reload import LinkPlan, refusals, same_smsc
from gateway.sendsms.accesslog import BearerboxAccessLog
from gateway.spool_queue import SpoolQueue
from protocols.smpp.pdu import Pdu
from storage.spool import Spool


def message(n: int, priority: int = 0) -> Message:
    return Message(
        id=f"00000000-0000-0000-0000-{n:012d}", parent_id=f"p{n}", sender="12345",
        receiver="4670000001", payload=f"text {n}".encode(), priority=priority,
    )


def test_removed_ids_are_bounded_oldest_forgotten_first() -> None:
    removed = RemovedIds(limit=3)
    for n in range(5):
        removed.add(str(n))
    assert len(removed) == 3
    assert not removed.take("0") and not removed.take("1")
    assert removed.take("4") and not removed.take("4")
    assert removed.removed == 1


def test_memory_queue_drops_a_removed_message_at_take_and_lists_lazily() -> None:
    queue = MemoryQueue(100, Clock())
    queue.put([message(n) for n in range(5)] + [message(9, priority=3)])
    listed = queue.peek(3)
    assert [m.id[-1] for m in listed] == ["9", "0", "1"]
    queue.remove(message(1).id)
    taken = queue.take(10)
    assert [m.id[-1] for m in taken] == ["9", "0", "2", "3", "4"]
    assert queue.removed_ids.removed == 1 and queue.in_flight == 5


def test_memory_queue_remove_of_a_parked_retry_drops_it_now() -> None:
    clock = Clock()
    queue = MemoryQueue(100, clock)
    queue.put([message(1)])
    [taken] = queue.take(1)
    queue.release(taken, 10.0)
    queue.remove(taken.id)
    clock.advance(20)
    assert queue.queued == 0 and queue.take(1) == []


@pytest_twisted.inlineCallbacks
def test_spool_queue_peek_reads_only_what_it_lists_and_remove_acks_at_take(
    tmp_path: Path,
) -> Any:
    spool = Spool(tmp_path / "spool", max_bytes=2**24, reactor=reactor)
    queue = SpoolQueue(spool, reactor)
    yield queue.open()
    try:
        yield queue.put([message(n) for n in range(50)] + [message(99, priority=2)])
        first = list(queue.peek(3))
        assert [m.id[-2:] for m in first] == ["99", "00", "01"]
        assert queue.queued == 51  # listing took nothing
        queue.remove(message(2).id)
        taken = queue.take(100)
        assert message(2).id not in {m.id for m in taken} and len(taken) == 50
        assert spool.records == 50  # the removed one was acked
    finally:
        yield queue.close()


SMSC = """\
group = smsc
smsc = smpp
smsc-id = {id}
host = 127.0.0.1
port = 2775
smsc-username = u
smsc-password = p
system-type = ""
{extra}
"""


def config(*smscs: str, admin_port: int = 13000) -> Any:
    core = textwrap.dedent(
        f"""\
        group = core
        admin-port = {admin_port}
        admin-password = secret

        """
    )
    return load_config_text(core + "\n".join(smscs))


def test_same_smsc_ignores_where_the_group_was_written() -> None:
    a = config("# a comment\n" + SMSC.format(id="a", extra="")).smscs[0]
    b = config(SMSC.format(id="a", extra="")).smscs[0]
    assert a.location != b.location and same_smsc(a, b)
    c = config(SMSC.format(id="a", extra="throughput = 5")).smscs[0]
    assert not same_smsc(a, c)


def test_refusals_name_what_needs_a_restart() -> None:
    old = config(SMSC.format(id="a", extra=""))
    assert refusals(old, config(SMSC.format(id="b", extra=""))) == []
    problems = refusals(old, config(SMSC.format(id="a", extra=""), admin_port=13001))
    assert problems == ["core admin-port changed (13000 -> 13001): needs a restart"]
    # The DLR store and callback outbox are built at start: a change is refused, not ignored.
    guarded = config(SMSC.format(id="a", extra=""))
    unguarded = load_config_text(
        "group = core\nadmin-port = 13000\nadmin-password = secret\n\n"
        + SMSC.format(id="a", extra="") + "\ngroup = passerelle\ncallback-guard = false\n"
    )
    assert refusals(guarded, unguarded) == [
        "passerelle callback-guard changed (True -> False): needs a restart"
    ]


def test_link_plan_keeps_unchanged_groups_and_replaces_the_others() -> None:
    old = config(SMSC.format(id="a", extra=""), SMSC.format(id="b", extra="")).smscs
    new = config(SMSC.format(id="b", extra=""), SMSC.format(id="a", extra="throughput = 1"),
                 SMSC.format(id="c", extra="")).smscs
    links: list[Any] = ["link-a", "link-b"]
    plan = LinkPlan(list(zip(links, old, strict=True)), list(new))
    assert plan.kept == ["link-b", None, None]
    assert plan.dropped == ["link-a"]


def test_bearerbox_access_log_lines(tmp_path: Path) -> None:
    path = tmp_path / "access.log"
    log = BearerboxAccessLog(str(path), gmt=True, clock=lambda: 0.0)
    sent = dataclasses.replace(
        message(1), username="tester", payload=b"Hi\x00", dlr_mask=31,
    )
    log.sms("Sent SMS", sent, "sim", "4242")
    ucs2 = dataclasses.replace(message(2), coding=2, payload="é".encode("utf-16-be"),
                               udh=b"\x05\x00\x03\x01\x02\x01")
    log.sms("FAILED Send SMS", ucs2, "sim", "")
    pdu = Pdu(0x00000005, 1, params={"source_addr": b"4670000001",
                                     "destination_addr": b"12345",
                                     "short_message": b"id:1 stat:DELIVRD"})
    log.pdu("Receive DLR", "sim", pdu)
    log.close()
    lines = path.read_text().splitlines()
    assert lines[0] == "1970-01-01 00:00:00 Log begins"
    assert lines[1] == (
        "1970-01-01 00:00:00 Sent SMS [SMSC:sim] [SVC:tester] [ACT:] [BINF:] [FID:4242] "
        "[META:] [from:12345] [to:4670000001] [flags:-1:0:-1:-1:31] [msg:3:Hi.] [udh:0:]"
    )
    assert lines[2].endswith("[flags:-1:2:-1:-1:0] [msg:2:00E9] [udh:6:050003010201]")
    assert lines[3] == (
        "1970-01-01 00:00:00 Receive DLR [SMSC:sim] [SVC:] [ACT:] [BINF:] [FID:] [META:] "
        "[from:4670000001] [to:12345] [flags:-1:0:-1:-1:-1] [msg:17:id:1 stat:DELIVRD] "
        "[udh:0:]"
    )


def test_fsync_timer_is_a_cumulative_histogram() -> None:
    timer = FsyncTimer(buckets=(0.001, 0.01))
    calls: list[int] = []
    timed = timer.timed(calls.append)
    timed(7)
    timer.observe(0.005)
    timer.observe(5.0)
    assert calls == [7]
    metric = timer.metric()
    buckets = {s.labels["le"]: s.value for s in metric.samples if s.name.endswith("_bucket")}
    assert buckets == {"0.001": 1, "0.01": 2, "+Inf": 3}


def test_a_queue_at_its_cap_shows_as_filled() -> None:
    from gateway.admin import GatewayState
    from gateway.service import GatewayService

    cfg = load_config_text(
        "group = core\nadmin-port = 13999\nadmin-password = secret\n"
        "sms-outgoing-queue-limit = 2\n\n" + SMSC.format(id="a", extra="")
    )
    service = GatewayService(cfg, reactor)
    control = service.control
    assert control.state() is GatewayState.RUNNING
    service.queue.put([message(1), message(2)])
    assert control.state() is GatewayState.FULL
    assert control.suspend() and control.state() is GatewayState.SUSPENDED
