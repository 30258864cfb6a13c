"""Kannel's smsc2_rout eligibility, one rule per test, and the Router's tiers and turns."""

from __future__ import annotations

from collections import Counter

import pytest

from gateway.message import Message, new_id
from gateway.routing import (
    Router,
    RouteRules,
    RouteVerdict,
    normalize_number,
    prefix_matches,
)


def msg(receiver: str = "4670000001", smsc_id: str = "") -> Message:
    mid = new_id()
    return Message(mid, mid, "12345", receiver, b"hi", smsc_id=smsc_id)


def usable(receiver: str = "4670000001", smsc_id: str = "", **keys: object) -> int:
    return RouteRules.build(**keys).usable(smsc_id, receiver)


class Online:
    """The connection state the router asks about; tests flip it as connectors would."""

    def __init__(self, *online: int) -> None:
        self.online = set(online)

    def __call__(self, key: int) -> bool:
        return key in self.online


# smscconn_usable, rule by rule


def test_no_rules_take_anything() -> None:
    assert usable() == 0
    assert usable(smsc_id="whatever") == 0


def test_allowed_smsc_id_takes_listed_ids_only() -> None:
    assert usable(smsc_id="a", allowed_smsc_id="a;b") == 0
    assert usable(smsc_id="b", allowed_smsc_id=("a", "b")) == 0
    assert usable(smsc_id="c", allowed_smsc_id="a;b") == -1


def test_message_without_smsc_id_is_not_routable_to_allowed_smsc_id() -> None:
    assert usable(smsc_id="", allowed_smsc_id="a") == -1


def test_group_without_allowed_takes_unknown_ids() -> None:
    assert RouteRules.build(smsc_id="sink").usable("nosuch", "4670000001") == 0


def test_smsc_ids_compare_case_sensitively_as_kannel() -> None:
    # Observed on Kannel 1.4.5: smsc=SIM is not routable to allowed-smsc-id = sim.
    assert usable(smsc_id="SINK", allowed_smsc_id="sink") == -1
    assert usable(smsc_id="sink", allowed_smsc_id="Sink") == -1
    assert usable(smsc_id="sink", allowed_smsc_id="sink") == 0


def test_denied_smsc_id() -> None:
    assert usable(smsc_id="a", denied_smsc_id="a;b") == -1
    assert usable(smsc_id="c", denied_smsc_id="a;b") == 0
    assert usable(smsc_id="", denied_smsc_id="a") == 0


def test_denied_smsc_id_ignored_when_allowed_is_set() -> None:
    # Kannel's `else if`: allowed-smsc-id decides alone.
    assert usable(smsc_id="a", allowed_smsc_id="a", denied_smsc_id="a") == 0


def test_allowed_smsc_id_regex() -> None:
    assert usable(smsc_id="sink2", allowed_smsc_id_regex="^sink[0-9]$") == 0
    assert usable(smsc_id="other", allowed_smsc_id_regex="^sink") == -1
    assert usable(smsc_id="", allowed_smsc_id_regex=".*") == -1


def test_smsc_id_regex_searches_unanchored() -> None:
    assert usable(smsc_id="my-sink-1", allowed_smsc_id_regex="sink") == 0


def test_denied_smsc_id_regex() -> None:
    assert usable(smsc_id="bulk1", denied_smsc_id_regex="^bulk") == -1
    assert usable(smsc_id="otp", denied_smsc_id_regex="^bulk") == 0
    assert usable(smsc_id="", denied_smsc_id_regex=".*") == 0
    assert usable(smsc_id="bulk", allowed_smsc_id_regex="bulk", denied_smsc_id_regex="b") == 0


def test_allowed_prefix_alone() -> None:
    assert usable("4670000001", allowed_prefix="4670;4671") == 0
    assert usable("4671000001", allowed_prefix="4670;4671") == 0
    assert usable("4672000001", allowed_prefix="4670;4671") == -1


def test_denied_prefix_alone() -> None:
    assert usable("4670000001", denied_prefix="4670") == -1
    assert usable("4672000001", denied_prefix="4670") == 0


def test_allowed_and_denied_prefix_refuse_only_denied_and_not_allowed() -> None:
    keys = {"allowed_prefix": "46701", "denied_prefix": "4670"}
    assert usable("4670100000", **keys) == 0  # allowed wins over denied
    assert usable("4670200000", **keys) == -1  # denied, not allowed
    assert usable("4680000000", **keys) == 0  # neither: Kannel lets it through


def test_allowed_prefix_regex_alone() -> None:
    assert usable("4670000001", allowed_prefix_regex="^467[01]") == 0
    assert usable("4672000001", allowed_prefix_regex="^467[01]") == -1


def test_denied_prefix_regex_alone() -> None:
    assert usable("4670000001", denied_prefix_regex="^4670") == -1
    assert usable("4672000001", denied_prefix_regex="^4670") == 0


def test_allowed_and_denied_prefix_regex() -> None:
    keys = {"allowed_prefix_regex": "^46701", "denied_prefix_regex": "^4670"}
    assert usable("4670100000", **keys) == 0
    assert usable("4670200000", **keys) == -1
    assert usable("4680000000", **keys) == 0


def test_preferred_smsc_id() -> None:
    assert usable(smsc_id="a", preferred_smsc_id="a;b") == 1
    assert usable(smsc_id="c", preferred_smsc_id="a;b") == 0
    assert usable(smsc_id="", preferred_smsc_id="a") == 0


def test_preferred_smsc_id_regex() -> None:
    assert usable(smsc_id="fast1", preferred_smsc_id_regex="^fast") == 1
    assert usable(smsc_id="slow", preferred_smsc_id_regex="^fast") == 0


def test_preferred_prefix_and_regex() -> None:
    assert usable("4670000001", preferred_prefix="4670") == 1
    assert usable("4671000001", preferred_prefix="4670") == 0
    assert usable("4671000001", preferred_prefix_regex="^4671") == 1


def test_refusal_beats_preference() -> None:
    assert usable("4670000001", preferred_prefix="4670", denied_prefix="4670") == -1


def test_prefix_matching_is_does_prefix_match() -> None:
    assert prefix_matches(("46", "47"), "4712")
    assert not prefix_matches(("46",), "4")  # a number shorter than the prefix
    assert not prefix_matches(("",), "4670")  # empty entries match nothing
    assert not prefix_matches((), "4670")


def test_build_refuses_unknown_keys() -> None:
    with pytest.raises(TypeError):
        RouteRules.build(allowed_smsc="a")


# unified-prefix


@pytest.mark.parametrize(
    ("table", "number", "expected"),
    [
        ("+358,00358,0", "0401234567", "+358401234567"),
        ("+358,00358,0", "00358401234567", "+358401234567"),
        ("+358,00358,0", "+358401234567", "+358401234567"),  # the official itself stays
        ("+358,00358,0;+,00", "0046701234", "+358046701234"),  # first group's `0` wins
        ("+,00;+358,0", "0046701234", "+46701234"),  # groups in order
        ("-,+,00", "+46701234", "46701234"),  # `-` official strips
        ("+46,0", "0", "+46"),  # as long as the alternative still matches
        ("+46,07", "0", "0"),  # shorter than the alternative: no match
        ("", "0701", "0701"),
    ],
)
def test_normalize_number(table: str, number: str, expected: str) -> None:
    assert normalize_number(table, number) == expected


def test_verdict_normalises_receiver_with_core_unified_prefix() -> None:
    router = Router(
        [RouteRules.build(allowed_prefix="+46")], Online(0), unified_prefix="+46,0046,0"
    )
    message = msg("0701234567")
    assert router.verdict(message) is RouteVerdict.ONLINE
    assert message.receiver == "+46701234567"
    assert router.choose(message) == 0


def test_choose_does_not_touch_the_message() -> None:
    router = Router([RouteRules()], Online(0), unified_prefix="+46,0")
    message = msg("0701")
    assert router.choose(message) == 0
    assert message.receiver == "0701"


# verdicts


def test_verdict_online_queued_not_routable() -> None:
    online = Online()
    router = Router([RouteRules.build(smsc_id="sink", allowed_smsc_id="sink")], online)
    assert router.verdict(msg(smsc_id="sink")) is RouteVerdict.QUEUED
    online.online.add(0)
    assert router.verdict(msg(smsc_id="sink")) is RouteVerdict.ONLINE
    assert router.verdict(msg(smsc_id="bogus")) is RouteVerdict.NOT_ROUTABLE
    assert router.verdict(msg()) is RouteVerdict.NOT_ROUTABLE


def test_no_smsc_groups_at_all_is_not_routable() -> None:
    assert Router([], Online()).verdict(msg()) is RouteVerdict.NOT_ROUTABLE


def test_verdict_online_if_any_eligible_is_online() -> None:
    router = Router([RouteRules(), RouteRules()], Online(1))
    assert router.verdict(msg()) is RouteVerdict.ONLINE


def test_offline_preferred_with_online_ordinary_is_online() -> None:
    router = Router([RouteRules.build(preferred_prefix="4670"), RouteRules()], Online(1))
    assert router.verdict(msg()) is RouteVerdict.ONLINE
    assert router.choose(msg()) == 1


# choose: tiers, turns, failover


def test_choose_none_when_nothing_online() -> None:
    assert Router([RouteRules()], Online()).choose(msg()) is None


def test_choose_none_when_not_eligible() -> None:
    router = Router([RouteRules.build(allowed_smsc_id="a")], Online(0))
    assert router.choose(msg()) is None


def test_online_preferred_wins() -> None:
    router = Router(
        [RouteRules(), RouteRules.build(preferred_smsc_id="fast"), RouteRules()], Online(0, 1, 2)
    )
    assert {router.choose(msg(smsc_id="fast")) for _ in range(10)} == {1}
    assert {router.choose(msg()) for _ in range(10)} == {0, 1, 2}


def test_shared_smsc_id_load_balances_round_robin() -> None:
    groups = [RouteRules.build(smsc_id="sink", allowed_smsc_id="sink") for _ in range(3)]
    router = Router(groups, Online(0, 1, 2))
    picks = Counter(router.choose(msg(smsc_id="sink")) for _ in range(300))
    assert picks == {0: 100, 1: 100, 2: 100}


def test_failover_to_the_online_ones() -> None:
    online = Online(0, 1)
    groups = [RouteRules.build(smsc_id="sink", allowed_smsc_id="sink") for _ in range(2)]
    router = Router(groups, online)
    online.online.discard(0)
    assert {router.choose(msg(smsc_id="sink")) for _ in range(10)} == {1}
    online.online.discard(1)
    assert router.choose(msg(smsc_id="sink")) is None
    online.online.add(0)
    assert router.choose(msg(smsc_id="sink")) == 0


def test_can_take_narrows_the_tier() -> None:
    router = Router([RouteRules(), RouteRules()], Online(0, 1))
    assert {router.choose(msg(), can_take=lambda key: key == 1) for _ in range(5)} == {1}
    assert router.choose(msg(), can_take=lambda key: False) is None


def test_full_preferred_waits_rather_than_going_elsewhere() -> None:
    router = Router([RouteRules.build(preferred_prefix="4670"), RouteRules()], Online(0, 1))
    assert router.choose(msg(), can_take=lambda key: key == 1) is None


def test_prefix_routing_splits_by_receiver() -> None:
    router = Router(
        [RouteRules.build(allowed_prefix="4670"), RouteRules.build(allowed_prefix="4671")],
        Online(0, 1),
    )
    assert router.choose(msg("4670000001")) == 0
    assert router.choose(msg("4671000001")) == 1
    assert router.verdict(msg("4672000001")) is RouteVerdict.NOT_ROUTABLE


def test_a_group_that_never_sends_mt_is_no_route() -> None:
    router = Router([None, RouteRules()], Online(0, 1))
    assert router.choose(msg()) == 1
    assert Router([None], Online(0)).verdict(msg()) is RouteVerdict.NOT_ROUTABLE


def test_router_reads_config_objects_by_attribute() -> None:
    class SmscLike:
        """Any object with the Kannel keys as attributes (what gateway.config gives)."""

        smsc_id = "Sink"
        allowed_smsc_id = ("Sink",)
        denied_prefix = "4679"

    router = Router([SmscLike()], Online(0))
    assert router.rules[0].allowed_smsc_id == ("Sink",)
    assert router.choose(msg(smsc_id="Sink")) == 0
    assert router.choose(msg("4679000000", smsc_id="Sink")) is None
