"""Delivery reports end to end: sendsms → simulator receipts → dlr-url callbacks, with real
processes (the gateway, `smsc-sim`, `redis-server`) and a real HTTP endpoint.

What the DLR issue must show: dlr-mask 31 gives d=8, d=4, d=1 in that order; a rejected
submit with mask 16 gives d=16 with Kannel's NACK text; the gateway killed between the
submit and its receipt still calls back after a restart (embedded store and Redis); Redis
stopped and started mid-load loses no receipt or callback; a callback target down for 30 s
gets every callback once it is back, each exactly once.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.stack import CallbackServer, Deployment, RedisServer, wait_for

DELIVERED = "4670000001"
REJECTED_PREFIX = "4678"


def _redis_or_skip(workdir: Path) -> RedisServer:
    try:
        return RedisServer(workdir)
    except FileNotFoundError:
        if os.environ.get("CI"):
            pytest.fail("redis-server is missing (.ci/run installs it)")
        pytest.skip("redis-server is not installed")


@pytest.fixture
def callbacks() -> Iterator[CallbackServer]:
    server = CallbackServer()
    yield server
    server.stop()


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    stack = Deployment(tmp_path / "gw", simulator=("--dlr-delay", "0.4",
                                                   "--reject", f"{REJECTED_PREFIX}:0x0b"))
    stack.start_sim()
    stack.start_gateway()
    yield stack
    stack.close()


def test_mask_31_reports_8_then_4_then_1(deployment: Deployment,
                                         callbacks: CallbackServer) -> None:
    url = callbacks.url("t31", "d=%d&A=%A&F=%F&p=%p&P=%P&n=%n")
    status, body = deployment.sendsms(to=DELIVERED, text="dlr all", **{"dlr-mask": 31,
                                                                       "dlr-url": url})
    assert (status, body) == (202, "0: Accepted for delivery")
    calls = callbacks.wait("t31", 3)
    assert [c.query["d"] for c in calls] == ["8", "4", "1"], deployment.logs()
    resp = next(r for r in deployment.sim_records() if r.get("command") == "submit_sm_resp")
    assert {c.query["F"] for c in calls} == {resp["message_id"]}
    assert calls[0].query["A"] == "ACK/"
    assert "stat:ACCEPTD" in calls[1].query["A"] and "stat:DELIVRD" in calls[2].query["A"]
    assert {(c.query["p"], c.query["P"], c.query["n"]) for c in calls} == {
        (DELIVERED, "12345", "tester")
    }
    assert calls[0].line.startswith("GET /dlr/t31?") and calls[0].line.endswith(" HTTP/1.1")
    assert [name for name, _ in calls[0].headers] == ["Connection", "User-Agent", "Host"]


def test_rejected_submit_with_mask_16_reports_the_nack(deployment: Deployment,
                                                       callbacks: CallbackServer) -> None:
    url = callbacks.url("t16", "d=%d&A=%A")
    status, _ = deployment.sendsms(to=REJECTED_PREFIX + "0001", text="x",
                                   **{"dlr-mask": 16, "dlr-url": url})
    assert status == 202
    (call,) = callbacks.wait("t16", 1)
    assert call.query == {"d": "16", "A": "NACK/0x0000000b/Invalid Destination Address"}
    time.sleep(0.5)
    assert len(callbacks.of("t16")) == 1


@pytest.mark.parametrize("store", ["embedded", "redis"])
def test_killed_between_submit_and_receipt_still_calls_back(
    tmp_path: Path, callbacks: CallbackServer, store: str
) -> None:
    redis = _redis_or_skip(tmp_path / "redis") if store == "redis" else None
    stack = Deployment(tmp_path / "gw", simulator=("--dlr-delay", "3"),
                       redis_port=redis.port if redis else None)
    try:
        stack.start_sim()
        stack.start_gateway()
        url = callbacks.url("kill", "d=%d&F=%F")
        for n in range(5):
            assert stack.sendsms(to=f"46700000{n:02d}", text=f"m{n}",
                                 **{"dlr-mask": 9, "dlr-url": url})[0] == 202
        wait_for("five d=8", lambda: len(callbacks.of("kill")) >= 5)
        stack.kill_gateway()
        time.sleep(3.5)  # the receipts fall due while no gateway is bound
        stack.start_gateway()
        calls = callbacks.wait("kill", 10, timeout=30)
        kinds = Counter(c.query["d"] for c in calls)
        assert kinds == {"8": 5, "1": 5}, stack.logs()
        ids = {c.query["F"] for c in calls if c.query["d"] == "1"}
        assert ids == {c.query["F"] for c in calls if c.query["d"] == "8"}
    finally:
        stack.close()
        if redis is not None:
            redis.stop()


def test_redis_stopped_and_restarted_mid_load_loses_nothing(
    tmp_path: Path, callbacks: CallbackServer
) -> None:
    redis = _redis_or_skip(tmp_path / "redis")
    stack = Deployment(tmp_path / "gw", simulator=("--dlr-delay", "1",
                                                   "--deliver-retry-delay", "0.5"),
                       redis_port=redis.port)
    total = 60
    try:
        stack.start_sim()
        stack.start_gateway()
        url = callbacks.url("redis", "d=%d&p=%p")
        for n in range(total):
            if n == 20:
                redis.stop()
            if n == 40:
                redis.start()
            assert stack.sendsms(to=f"4670{n:06d}", text=f"r{n}",
                                 **{"dlr-mask": 1, "dlr-url": url})[0] == 202
            time.sleep(0.05)
        calls = callbacks.wait("redis", total, timeout=60)
        receivers = Counter(c.query["p"] for c in calls)
        assert set(receivers) == {f"4670{n:06d}" for n in range(total)}, stack.logs()
        assert all(c.query["d"] == "1" for c in calls)
    finally:
        stack.close()
        redis.stop()


def test_callback_target_down_for_30s_gets_every_callback_once_back(
    tmp_path: Path, callbacks: CallbackServer
) -> None:
    stack = Deployment(tmp_path / "gw", simulator=("--dlr-delay", "0.2",),
                       smsbox="http-queue-delay = 1")
    try:
        stack.start_sim()
        stack.start_gateway()
        callbacks.stop()
        url = callbacks.url("down", "d=%d&p=%p")
        for n in range(10):
            assert stack.sendsms(to=f"4670{n:06d}", text=f"d{n}",
                                 **{"dlr-mask": 1, "dlr-url": url})[0] == 202
        wait_for("the receipts to be answered", lambda: sum(
            1 for r in stack.sim_records() if r.get("command") == "deliver_sm_resp"
        ) >= 10, timeout=20)
        time.sleep(30)
        callbacks.start()
        calls = callbacks.wait("down", 10, timeout=90)
        time.sleep(2)
        calls = callbacks.of("down")
        assert Counter(c.query["p"] for c in calls) == {
            f"4670{n:06d}": 1 for n in range(10)
        }, stack.logs()
    finally:
        stack.close()


def test_mo_reaches_its_sms_service_and_the_reply_goes_back(
    tmp_path: Path, callbacks: CallbackServer
) -> None:
    """The simulator's MO "hello" → get-url of the default service (escapes filled) → the
    service's text/plain answer goes back to the phone as an SMS."""
    callbacks.body = b"Thanks for your hello"
    service = (
        "group = sms-service\nkeyword = default\n"
        f"get-url = \"{callbacks.url('mo', 'from=%p&to=%P&text=%a&smsc=%i')}\"\n"
    )
    stack = Deployment(tmp_path / "gw", simulator=("--mo-every", "1", "--mo-text", "hello"),
                       passerelle="", extra=service)
    try:
        stack.start_sim()
        stack.start_gateway()
        call = callbacks.wait("mo", 1)[0]
        assert call.query == {"from": "4670000001", "to": "12345", "text": "hello",
                              "smsc": "sim"}, stack.logs()
        reply = wait_for("the reply at the simulator", lambda: next(
            (r for r in stack.sim_records()
             if r.get("command") == "submit_sm" and r.get("dest") == "4670000001"), None))
        assert bytes.fromhex(reply["text_hex"]) == b"Thanks for your hello"
        assert reply["source"] == "12345"
    finally:
        stack.close()
