"""Which SMSC connection a message may go to: Kannel's `smsc2_rout` and `smscconn_usable`.

Kannel decides per message, over every `group = smsc`, whether the group is *usable*
(`smscconn_usable` in bb_smscconn.c): the message's requested smsc id against
allowed/denied/preferred-smsc-id (and their `-regex` forms), the receiver against
allowed/denied/preferred-prefix (and `-regex`). Among the usable groups it sends to an online
preferred one if any, else to an online ordinary one; if only offline ones are usable the
message waits in the global queue ("3: Queued for later delivery"); if none is usable it is
not routable ("Not routable. Do not try again.").

The rules kept exactly, because clients' routing depends on them:

* a group with allowed-smsc-id takes only messages whose smsc id is in the list, so a message
  with **no** smsc id is not routable there (obs.); a group without it takes any smsc id, even
  one no group carries (src);
* denied-smsc-id only applies when there is no allowed-smsc-id (the `else if` in Kannel), and
  likewise for the regex pair;
* allowed-prefix and denied-prefix: with only one of them it filters alone; with both, a
  receiver is refused only when it matches denied **and** not allowed (Kannel's
  "have allowed and denied" branch), the same for the regex pair;
* prefixes are `;`-separated and plain "starts with" (`does_prefix_match`); regexes are POSIX
  extended searched anywhere (`regexec` without anchors), here Python's `re.search`;
* smsc ids compare case-sensitively (Kannel 1.4.5 observed: `smsc=SIM` is not routable to
  `allowed-smsc-id = sim`, whatever the reference says of smsc-id);
* the core `unified-prefix` rewrites the receiver before routing (`normalize_number`); a
  group's own `unified-prefix` applies only to what that group sends (see
  `gateway.submit`), so a failover to another group starts again from the core's number.

Where Kannel picks the least loaded connection from a random start, this takes the online
eligible connections in turn (round robin per set of candidates): several groups sharing one
smsc-id share the traffic evenly, and when one goes offline the others take it all.

The router holds no connection state of its own: `is_online(key)` is how it learns, and the
connectors answer it from their live bind state. Keys are the indexes of the groups in the
configuration's `smscs` tuple, because smsc-ids may be shared by several groups.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any, Final

from gateway.message import Message

#: A connection's key: its index in the configuration's `smscs`.
SmscKey = int

#: Distinct smsc ids whose eligibility is cached when no group routes by prefix.
_CACHE_MAX: Final = 4096


class RouteVerdict(enum.Enum):
    """What sendsms answers about one message (Kannel's smsc2_rout outcome)."""

    #: An eligible connection is online: `0: Accepted for delivery`.
    ONLINE = "online"
    #: Eligible connections exist but none is online: `3: Queued for later delivery`.
    QUEUED = "queued"
    #: No connection can ever take it: 403 `Not routable. Do not try again.`
    NOT_ROUTABLE = "not routable"


def normalize_number(unified_prefix: str, number: str) -> str:
    """Kannel's `normalize_number`: rewrite a number by a `unified-prefix` table.

    The table is `;`-separated groups of `official,alt1,alt2,…`: a number starting with one
    of the alternatives gets that alternative replaced by the official prefix (an official
    prefix starting with `-` means "strip it"). The first matching alternative, in order,
    wins; a number only as long as the alternative still matches, one shorter does not. An
    empty alternative matches every number (as in Kannel, where it prepends the official).
    """
    if not unified_prefix:
        return number
    for group in unified_prefix.split(";"):
        official, *alternatives = group.split(",")
        for alternative in alternatives:
            if number.startswith(alternative):
                replacement = "" if official.startswith("-") else official
                return replacement + number[len(alternative) :]
    return number


def prefix_matches(prefixes: Sequence[str], number: str) -> bool:
    """Kannel's `does_prefix_match`: does `number` start with any non-empty prefix?"""
    return any(prefix and number.startswith(prefix) for prefix in prefixes)


def _as_list(value: Any) -> tuple[str, ...]:
    """A list-valued key as a tuple, whether the config gives `a;b` text or a sequence."""
    if value is None:
        return ()
    if isinstance(value, str):
        items: Iterable[str] = value.split(";")
    else:
        items = value
    return tuple(item.strip() for item in items if item is not None and item.strip())


def _as_regex(value: Any) -> re.Pattern[str] | None:
    """A `-regex` key compiled once (the config validates it; an empty one is unset)."""
    if value is None or value == "":
        return None
    if isinstance(value, re.Pattern):
        return value
    return re.compile(str(value))


@dataclass(frozen=True, slots=True)
class RouteRules:
    """The routing keys of one `group = smsc`, parsed once.

    Ids compare case-sensitively, as Kannel 1.4.5 does (observed: `smsc=SIM` is not routable
    to `allowed-smsc-id = sim`). `from_smsc` reads them from a
    `gateway.config` `SmscConfig`; tests and tools may build one directly.
    """

    smsc_id: str = ""
    allowed_smsc_id: tuple[str, ...] = ()
    denied_smsc_id: tuple[str, ...] = ()
    preferred_smsc_id: tuple[str, ...] = ()
    allowed_smsc_id_regex: re.Pattern[str] | None = None
    denied_smsc_id_regex: re.Pattern[str] | None = None
    preferred_smsc_id_regex: re.Pattern[str] | None = None
    allowed_prefix: tuple[str, ...] = ()
    denied_prefix: tuple[str, ...] = ()
    preferred_prefix: tuple[str, ...] = ()
    allowed_prefix_regex: re.Pattern[str] | None = None
    denied_prefix_regex: re.Pattern[str] | None = None
    preferred_prefix_regex: re.Pattern[str] | None = None

    @classmethod
    def build(cls, **keys: Any) -> RouteRules:
        """Rules from Kannel key values in any of the forms a config may hold them
        (`a;b` text or sequences for lists, text or compiled patterns for regexes)."""
        out: dict[str, Any] = {}
        for name in _KEYS:
            value = keys.pop(name, None)
            if name == "smsc_id":
                out[name] = value or ""
            elif name.endswith("_regex"):
                out[name] = _as_regex(value)
            elif name.endswith("smsc_id"):
                out[name] = tuple(_as_list(value))
            else:
                out[name] = _as_list(value)
        if keys:
            raise TypeError(f"unknown routing keys: {sorted(keys)}")
        return cls(**out)

    @classmethod
    def from_smsc(cls, smsc: Any) -> RouteRules:
        """The rules of one configured smsc group (attributes named as the Kannel keys)."""
        return cls.build(**{name: getattr(smsc, name, None) for name in _KEYS})

    @property
    def uses_prefix(self) -> bool:
        """Whether the receiver matters to this group's eligibility or preference."""
        return bool(
            self.allowed_prefix
            or self.denied_prefix
            or self.preferred_prefix
            or self.allowed_prefix_regex
            or self.denied_prefix_regex
            or self.preferred_prefix_regex
        )

    def usable(self, smsc_id: str, receiver: str) -> int:
        """Kannel's `smscconn_usable`: -1 not for this group, 1 preferred, 0 acceptable.

        `smsc_id` is the message's requested id, "" for none; `receiver` the
        core-normalised receiver.
        """
        if self.allowed_smsc_id:
            if not smsc_id or smsc_id not in self.allowed_smsc_id:
                return -1
        elif self.denied_smsc_id and smsc_id and smsc_id in self.denied_smsc_id:
            return -1
        if self.allowed_smsc_id_regex is not None:
            if not smsc_id or self.allowed_smsc_id_regex.search(smsc_id) is None:
                return -1
        elif (
            self.denied_smsc_id_regex is not None
            and smsc_id
            and self.denied_smsc_id_regex.search(smsc_id) is not None
        ):
            return -1

        allowed, denied = self.allowed_prefix, self.denied_prefix
        if allowed and not denied and not prefix_matches(allowed, receiver):
            return -1
        if denied and not allowed and prefix_matches(denied, receiver):
            return -1
        if (
            allowed
            and denied
            and not prefix_matches(allowed, receiver)
            and prefix_matches(denied, receiver)
        ):
            return -1
        allowed_re, denied_re = self.allowed_prefix_regex, self.denied_prefix_regex
        if allowed_re is not None and denied_re is None and not allowed_re.search(receiver):
            return -1
        if denied_re is not None and allowed_re is None and denied_re.search(receiver):
            return -1
        if (
            allowed_re is not None
            and denied_re is not None
            and not allowed_re.search(receiver)
            and denied_re.search(receiver)
        ):
            return -1

        if smsc_id and smsc_id in self.preferred_smsc_id:
            return 1
        if (
            smsc_id
            and self.preferred_smsc_id_regex is not None
            and self.preferred_smsc_id_regex.search(smsc_id) is not None
        ):
            return 1
        if self.preferred_prefix and prefix_matches(self.preferred_prefix, receiver):
            return 1
        if self.preferred_prefix_regex is not None and self.preferred_prefix_regex.search(
            receiver
        ):
            return 1
        return 0


#: The Kannel keys a `RouteRules` reads, by attribute name.
_KEYS: Final = tuple(f.name for f in fields(RouteRules))

#: (preferred keys, other keys) eligible for one message.
Candidates = tuple[tuple[SmscKey, ...], tuple[SmscKey, ...]]


class Router:
    """Routes messages over the configured smsc groups the way Kannel's bearerbox does.

    `smscs` are the configured groups (`SmscConfig`s, or `RouteRules` directly, or None for
    a group that never sends MT) in configuration order; `is_online(key)` answers from the
    live connection state whether group number `key` can submit now. `unified_prefix` is the
    core group's.

    `verdict` is for the accept path (it normalises the receiver once, in place, as Kannel
    does when a message enters bearerbox); `choose` is for dispatch and touches nothing.
    """

    def __init__(
        self,
        smscs: Sequence[Any],
        is_online: Callable[[SmscKey], bool],
        *,
        unified_prefix: str = "",
    ) -> None:
        #: None for a group that never takes MT (a receive-only bind): it keeps its key.
        self.rules: tuple[RouteRules | None, ...] = tuple(
            None
            if smsc is None
            else smsc
            if isinstance(smsc, RouteRules)
            else RouteRules.from_smsc(smsc)
            for smsc in smscs
        )
        self.is_online = is_online
        self.unified_prefix = unified_prefix or ""
        self._by_prefix = any(rules is not None and rules.uses_prefix for rules in self.rules)
        self._cache: dict[str, Candidates] = {}
        self._turns: dict[tuple[SmscKey, ...], int] = {}

    def normalize(self, receiver: str) -> str:
        """The receiver rewritten by the core unified-prefix."""
        return normalize_number(self.unified_prefix, receiver)

    def candidates(self, message: Message) -> Candidates:
        """The groups usable for `message`, preferred ones apart, online or not."""
        smsc_id = message.smsc_id or ""
        if not self._by_prefix:
            cached = self._cache.get(smsc_id)
            if cached is not None:
                return cached
        preferred: list[SmscKey] = []
        others: list[SmscKey] = []
        receiver = message.receiver
        for key, rules in enumerate(self.rules):
            if rules is None:
                continue
            usable = rules.usable(smsc_id, receiver)
            if usable > 0:
                preferred.append(key)
            elif usable == 0:
                others.append(key)
        result = (tuple(preferred), tuple(others))
        if not self._by_prefix:
            if len(self._cache) >= _CACHE_MAX:
                self._cache.clear()
            self._cache[smsc_id] = result
        return result

    def verdict(self, message: Message) -> RouteVerdict:
        """Normalise the receiver (core unified-prefix, in place) and say whether an online
        group, only offline groups, or no group at all can take the message."""
        if self.unified_prefix:
            message.receiver = self.normalize(message.receiver)
        preferred, others = self.candidates(message)
        if not preferred and not others:
            return RouteVerdict.NOT_ROUTABLE
        is_online = self.is_online
        for key in preferred:
            if is_online(key):
                return RouteVerdict.ONLINE
        for key in others:
            if is_online(key):
                return RouteVerdict.ONLINE
        return RouteVerdict.QUEUED

    def choose(
        self, message: Message, can_take: Callable[[SmscKey], bool] | None = None
    ) -> SmscKey | None:
        """The group to submit `message` on now, or None if no eligible one is online.

        Online preferred groups win over online ordinary ones; within the winning tier the
        groups take turns. `can_take(key)` narrows the tier further (the dispatcher passes
        "has a free window slot"): if no group of the tier can take it now, the answer is
        None and the message waits for a preferred group rather than going elsewhere.
        """
        preferred, others = self.candidates(message)
        is_online = self.is_online
        if not preferred and len(others) == 1:
            # The common case, one group for everything: no tiers, no turns.
            key = others[0]
            if is_online(key) and (can_take is None or can_take(key)):
                return key
            return None
        tier = [key for key in preferred if is_online(key)]
        if not tier:
            tier = [key for key in others if is_online(key)]
            if not tier:
                return None
            pool = others
        else:
            pool = preferred
        if can_take is not None:
            tier = [key for key in tier if can_take(key)]
            if not tier:
                return None
        if len(tier) == 1:
            return tier[0]
        turn = self._turns.get(pool, 0)
        self._turns[pool] = turn + 1
        return tier[turn % len(tier)]
