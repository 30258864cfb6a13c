"""DeliveryReports in one process: a real SmscLink (never connected), a real DLR store, a real
outbox and a real HTTP endpoint on 127.0.0.1. The hold timer runs on a `Clock`; the store's
thread, the outbox's spool and the network run on the reactor.

The end-to-end tests (tests/e2e/test_dlr_*.py) show the flow over SMPP; these pin the cases
that are hard to provoke there: a receipt before its submit_sm_resp, msg-id-type keys, a
store that fails, an outbox that is full, records kept or removed by the mask.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import pytest_twisted
from twisted.internet import defer, reactor
from twisted.internet.task import Clock

from gateway.callbacks import NetworkGuard, Outbox
from gateway.message import Message
from gateway.queue import MemoryQueue
from gateway.reports import RETRY_LATER, DeliveryReports
from gateway.smsc import FAILED_MALFORMED, FAILED_REJECTED, SmscLink
from gateway.submit import SubmitProfile
from protocols.smpp import constants as c
from protocols.smpp.pdu import Pdu
from protocols.smpp.session import BindConfig
from storage.dlr import EmbeddedDlrStore, RedisDlrStore
from tests.gateway.callbacks.test_outbox import Server
from tests.polling import until

NOW = 1_795_000_000.0


def link(key: int = 0, smsc_id: str = "sim") -> SmscLink:
    config = BindConfig(host="127.0.0.1", port=1, system_id="acct", password="x")
    profile = SubmitProfile(smsc_id=smsc_id)
    return SmscLink(key, config, profile, MemoryQueue(10, reactor), reactor)


def message(url: str, mask: int = 31, part: int = 1, parts: int = 1, **kw: Any) -> Message:
    return Message(id=f"m{part}", parent_id="m1", sender="12345", receiver="4670000001",
                   payload=b"hi", part=part, parts=parts, username="tester", dlr_mask=mask,
                   dlr_url=url, created=NOW, **kw)


def receipt(message_id: str, stat: str = "DELIVRD") -> Pdu:
    text = (f"id:{message_id} sub:001 dlvrd:001 submit date:2611210805 done date:2611210805 "
            f"stat:{stat} err:000 text:hi").encode()
    return Pdu(c.DELIVER_SM, 7, 0, {"esm_class": 0x04, "source_addr": b"4670000001",
                                   "destination_addr": b"12345", "short_message": text})


class Harness:
    def __init__(self, tmp: Path, msg_id_types: dict[int, int | None] | None = None,
                 store: Any = None) -> None:
        self.server = Server().start()
        self.clock = Clock()
        self.store = store if store is not None else EmbeddedDlrStore(
            tmp / "dlr.sqlite", reactor=reactor)
        self.outbox = Outbox(tmp / "outbox", reactor, retries=0, retry_delay=1.0,
                             guard=NetworkGuard(reactor=reactor), max_bytes=1 << 20)
        self.reports = DeliveryReports(self.clock, msg_id_types=msg_id_types, hold=5.0,
                                       wall_clock=lambda: NOW)
        self.reports.open(self.store, self.outbox)
        self.link = link()

    def url(self, tag: str) -> str:
        return self.server.url(f"/{tag}") + "?d=%d&F=%F"

    def calls(self) -> list[dict[str, str]]:
        return [dict(parse_qsl(urlsplit(uri.decode()).query))
                for uri in self.server.resource.uris()]

    async def close(self) -> None:
        self.reports.close()
        await self.outbox.close()
        await self.store.close()
        await self.server.stop()


@pytest_twisted.async_yield_fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    h = Harness(tmp_path)
    await h.outbox.open()
    yield h
    await h.close()


async def answer(result: int | defer.Deferred[int]) -> int:
    if isinstance(result, defer.Deferred):
        return int(await result)
    return result


@pytest_twisted.ensureDeferred
async def test_mask_31_reports_8_then_the_receipts(harness: Harness) -> None:
    h = harness
    h.reports.submitted(message(h.url("a")), h.link, "1795")
    await until(lambda: h.reports.unstored == 0)
    assert await answer(h.reports.deliver(h.link, receipt("1795", "ACCEPTD"))) == c.ESME_ROK
    assert await answer(h.reports.deliver(h.link, receipt("1795"))) == c.ESME_ROK
    await until(lambda: len(h.calls()) == 3)
    assert [call["d"] for call in h.calls()] == ["8", "4", "1"]
    assert {call["F"] for call in h.calls()} == {"1795"}
    assert await h.store.get("sim", "1795") is None  # final: removed


@pytest_twisted.ensureDeferred
async def test_intermediate_receipt_keeps_the_record_only_while_a_final_one_is_wanted(
    harness: Harness,
) -> None:
    h = harness
    h.reports.submitted(message(h.url("b"), mask=1), h.link, "1")
    h.reports.submitted(message(h.url("b"), mask=4), h.link, "2")
    await until(lambda: h.reports.unstored == 0)
    await answer(h.reports.deliver(h.link, receipt("1", "ACCEPTD")))
    await answer(h.reports.deliver(h.link, receipt("2", "ACCEPTD")))
    assert await h.store.get("sim", "1") is not None  # mask 1 still waits for DELIVRD
    assert await h.store.get("sim", "2") is None  # mask 4 only: nothing more to wait for
    await until(lambda: len(h.calls()) == 1)
    assert h.calls()[0]["d"] == "4"


@pytest_twisted.ensureDeferred
async def test_a_receipt_before_its_submit_response_is_held_then_reported(
    harness: Harness,
) -> None:
    h = harness
    pending = h.reports.deliver(h.link, receipt("77"))
    assert isinstance(pending, defer.Deferred)
    answered: list[int] = []
    pending.addCallback(lambda status: answered.append(status) or status)
    await until(lambda: h.reports.held == 1)
    assert answered == []  # the SMSC waits for our answer meanwhile
    h.reports.submitted(message(h.url("c"), mask=1), h.link, "77")
    assert await pending == c.ESME_ROK
    await until(lambda: len(h.calls()) == 1)
    assert h.calls()[0] == {"d": "1", "F": "77"}
    assert h.reports.held == 0 and h.reports.counters.unmatched == 0


@pytest_twisted.ensureDeferred
async def test_an_unknown_receipt_is_answered_after_the_hold_and_counted(
    harness: Harness,
) -> None:
    h = harness
    pending = h.reports.deliver(h.link, receipt("404"))
    await until(lambda: h.reports.held == 1)
    h.clock.advance(5.0)
    assert await pending == c.ESME_ROK
    assert h.reports.counters.unmatched == 1 and h.reports.held == 0
    assert h.calls() == []


@pytest_twisted.ensureDeferred
async def test_held_receipts_are_bounded(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.reports.max_held = 1
    await h.outbox.open()
    try:
        first = h.reports.deliver(h.link, receipt("1"))
        await until(lambda: h.reports.held == 1)
        assert await answer(h.reports.deliver(h.link, receipt("2"))) == c.ESME_ROK
        assert h.reports.counters.unmatched == 1
        h.reports.close()  # held receipts go back to the SMSC, to be sent again
        assert await first == RETRY_LATER
    finally:
        await h.close()


@pytest.mark.parametrize(
    ("msg_id_type", "resp_id", "receipt_id"),
    [
        (1, "00B8BE19", "12107289"),  # hex in submit_sm_resp, decimal in the receipt
        (3, "812FC7470000001B", "812fc7470000001b"),  # both hex, case differs, above 2^63
        (2, "9380935605053030457", "822FC73B00000039"),  # decimal resp, hex receipt
        (None, "abc", "abc"),
    ],
)
@pytest_twisted.ensureDeferred
async def test_msg_id_type_matches_ids_across_bases(
    tmp_path: Path, msg_id_type: int | None, resp_id: str, receipt_id: str
) -> None:
    h = Harness(tmp_path, msg_id_types={0: msg_id_type})
    await h.outbox.open()
    try:
        h.reports.submitted(message(h.url("d"), mask=1), h.link, resp_id)
        await until(lambda: h.reports.unstored == 0)
        assert await answer(h.reports.deliver(h.link, receipt(receipt_id))) == c.ESME_ROK
        await until(lambda: len(h.calls()) == 1)
        assert h.reports.counters.unmatched == 0
    finally:
        await h.close()


@pytest_twisted.ensureDeferred
async def test_a_dead_store_answers_retry_later_and_keeps_records_in_memory(
    tmp_path: Path,
) -> None:
    from tests.gateway.callbacks.test_outbox import pause

    dead = RedisDlrStore("127.0.0.1", 1, timeout=0.2, reactor=reactor)
    h = Harness(tmp_path, store=dead)
    h.reports.store_retry = 0.5
    await h.outbox.open()
    try:
        # A receipt for a message the store may know: the lookup fails → retry later.
        assert await answer(h.reports.deliver(h.link, receipt("9"))) == RETRY_LATER
        # A record the store could not take still answers its receipt from memory.
        h.reports.submitted(message(h.url("e"), mask=1), h.link, "10")
        await pause(0.4)
        assert h.reports.unstored == 1 and h.reports.counters.store_retries >= 1
        assert await answer(h.reports.deliver(h.link, receipt("10"))) == c.ESME_ROK
        await until(lambda: len(h.calls()) == 1)
        assert h.reports.unstored == 0  # final: nothing left to write
    finally:
        await h.close()


@pytest_twisted.ensureDeferred
async def test_failures_report_16_with_kannel_texts(harness: Harness) -> None:
    h = harness
    h.reports.failed(message(h.url("f"), mask=16), h.link, FAILED_REJECTED,
                     "NACK/0x0000000b/Invalid Destination Address")
    h.reports.failed(message(h.url("f"), mask=2), h.link, FAILED_MALFORMED, "MALFORMED SMS")
    h.reports.failed(message(h.url("f"), mask=8), h.link, FAILED_REJECTED, "NACK/0x1/x")
    await until(lambda: len(h.calls()) == 2)
    texts = sorted(uri.decode() for uri in h.server.resource.uris())
    assert all("d=16" in t for t in texts)
    assert h.reports.counters.callbacks == 2


@pytest_twisted.ensureDeferred
async def test_only_the_first_part_of_a_split_message_reports(harness: Harness) -> None:
    h = harness
    h.reports.submitted(message(h.url("g"), part=1, parts=2), h.link, "p1")
    h.reports.submitted(message(h.url("g"), part=2, parts=2), h.link, "p2")
    await until(lambda: h.reports.unstored == 0)
    assert await h.store.get("sim", "p2") is None
    await until(lambda: len(h.calls()) == 1)
    assert h.calls()[0]["F"] == "p1"


@pytest_twisted.ensureDeferred
async def test_a_full_outbox_answers_retry_later(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    h.outbox = Outbox(tmp_path / "tiny", reactor, retries=0, retry_delay=1.0,
                      guard=NetworkGuard(reactor=reactor), max_bytes=64)
    h.reports.open(h.store, h.outbox)
    await h.outbox.open()
    try:
        h.reports.submitted(message(h.url("h"), mask=1), h.link, "5")
        await until(lambda: h.reports.unstored == 0)
        assert await answer(h.reports.deliver(h.link, receipt("5"))) == RETRY_LATER
        assert await h.store.get("sim", "5") is not None  # kept for the SMSC's next try
    finally:
        await h.close()
