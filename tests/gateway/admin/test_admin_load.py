"""LoadMeter gives gw/load.c's numbers on an injected clock."""

from __future__ import annotations

import sys

import pytest
from twisted.internet.task import Clock

from gateway.admin.load import KANNEL_WINDOWS, LoadMeter


def test_nothing_counted_reads_zero() -> None:
    assert LoadMeter(Clock()).rates() == (0.0, 0.0, 0.0)


def test_before_the_first_minute_every_window_is_count_over_elapsed() -> None:
    clock = Clock()
    meter = LoadMeter(clock)
    for _ in range(30):
        clock.advance(1)
        meter.add()
    assert meter.rates() == (1.0, 1.0, 1.0)
    assert meter.total == 30


def test_a_burst_in_the_first_instant_is_capped_at_the_count() -> None:
    clock = Clock()
    meter = LoadMeter(clock)
    clock.advance(0.001)
    meter.add(5)
    assert meter.rates() == (5.0, 5.0, 5.0)


def test_the_sample_pattern_one_minute_folded_others_running() -> None:
    """As in the Kannel sample after 1m27s: the 1-minute figure has folded, the 5-minute one
    still equals the since-start one."""
    clock = Clock()
    meter = LoadMeter(clock)
    for _ in range(87):
        clock.advance(1)
        meter.add()
    one, five, start = meter.rates()
    assert five == start == pytest.approx(1.0, rel=0.02)
    assert one == pytest.approx(1.0, rel=0.02)  # 59 of 60: the 60th opens the next period


def test_folding_is_two_thirds_new_one_third_old() -> None:
    clock = Clock()
    meter = LoadMeter(clock, windows=(60,))
    meter.add(120)  # 2 msg/s over the first minute
    clock.advance(60)
    assert meter.rates() == (2.0,)  # folded: first figure as is
    meter.add(60)  # 1 msg/s over the next
    clock.advance(60)
    assert meter.rates() == (pytest.approx((2 * 1.0 + 2.0) / 3),)


def test_idle_decays_by_a_third_per_minute_of_reads() -> None:
    clock = Clock()
    meter = LoadMeter(clock, windows=(60,))
    meter.add(60)
    clock.advance(60)
    assert meter.rates() == (1.0,)
    clock.advance(60)
    assert meter.rates() == (pytest.approx(1 / 3),)
    clock.advance(60)
    assert meter.rates() == (pytest.approx(1 / 9),)


def test_since_start_never_folds() -> None:
    clock = Clock()
    meter = LoadMeter(clock)
    meter.add(100)
    clock.advance(1000)
    assert meter.rates()[2] == pytest.approx(0.1)
    assert meter.load() == meter.rates()


def test_fifteen_minutes_for_the_dashboard() -> None:
    clock = Clock()
    meter = LoadMeter(clock, windows=(60, 300, 900))
    for _ in range(1800):
        clock.advance(1)
        meter.add(2)
    assert meter.rates() == pytest.approx((2.0, 2.0, 2.0), rel=0.01)


def test_memory_does_not_grow_with_traffic() -> None:
    clock = Clock()
    meter = LoadMeter(clock)
    before = sys.getsizeof(meter)
    for _ in range(100_000):
        meter.add()
    assert sys.getsizeof(meter) == before
    assert not hasattr(meter, "__dict__")


def test_windows_are_validated() -> None:
    assert KANNEL_WINDOWS == (60, 300, None)
    with pytest.raises(ValueError):
        LoadMeter(Clock(), windows=(0,))
