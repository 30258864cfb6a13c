"""sms-service selection in Kannel's order (urltrans_find)."""

from __future__ import annotations

import pytest
from mo_support import deliver, make_config

from gateway.mo.inbound import InboundSms, inbound_sms
from gateway.mo.services import ServiceSelector, load_service_lists, takes_words
from gateway.sendsms.validate import NumberList, NumberListError


def sms(text: bytes = b"hi", *, sender: bytes = b"46700000001", receiver: bytes = b"12345",
        smsc_id: str = "sink", account: str = "esme", coding: int = 0) -> InboundSms:
    return inbound_sms(
        deliver(text, source=sender, dest=receiver, data_coding=coding),
        smsc_id=smsc_id, account=account, message_id="x", now=0.0,
    )


def service(keys: str) -> str:
    return f"group = sms-service\n{keys}\n\n"


def chosen(services: str, mo: InboundSms, lists: dict[str, NumberList] | None = None) -> str | None:
    selector = ServiceSelector(make_config(services).services, lists)
    found = selector.find(mo)
    return None if found is None else found.name


NEWS = service("name = news\nkeyword = news\ntext = n")
DEFAULT = service("name = fallback\nkeyword = default\ntext = d")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b"news", "news"),
        (b"NEWS", "news"),
        (b"  News", "news"),
        (b"newsletter", "news"),  # Kannel's ^[ ]*(news)[ ]* matches a prefix
        (b"xnews", "fallback"),
        (b"", "fallback"),
    ],
)
def test_keywords_are_case_insensitive_at_the_start(text: bytes, expected: str) -> None:
    assert chosen(NEWS + DEFAULT, sms(text)) == expected


def test_aliases() -> None:
    svc = service("name = n\nkeyword = news\naliases = nyheter;uutiset\ntext = x")
    assert chosen(svc, sms(b"Uutiset")) == "n"
    assert chosen(svc, sms(b"other")) is None


def test_keyword_regex_is_case_sensitive() -> None:
    svc = service("name = r\nkeyword-regex = ^[0-9]+$\ntext = x")
    assert chosen(svc, sms(b"12345")) == "r"
    assert chosen(svc, sms(b"12a45")) is None


def test_ucs2_text_matches_keywords() -> None:
    assert chosen(NEWS, sms("news".encode("utf-16-be"), coding=8)) == "news"


def test_first_matching_service_in_file_order_wins() -> None:
    first = service("name = one\nkeyword = a\ntext = 1")
    second = service("name = two\nkeyword = a\ntext = 2")
    assert chosen(first + second, sms(b"a")) == "one"


def test_default_comes_after_every_keyword_service_whatever_the_order() -> None:
    assert chosen(DEFAULT + NEWS, sms(b"news")) == "news"


@pytest.mark.parametrize(
    ("pattern", "catch_all", "words", "ok"),
    [
        ("text = %s", False, 2, True),
        ("text = %s", False, 1, False),
        ("text = %s", False, 3, False),
        ("text = %s %S", False, 3, True),
        ("text = %r", False, 5, True),
        ("text = %s %a", False, 1, False),
        ("text = plain", False, 2, False),
        ("text = plain", True, 2, True),
        ("post-url = http://x/", False, 9, True),  # post-url forces catch-all
    ],
)
def test_word_count_rule(pattern: str, catch_all: bool, words: int, ok: bool) -> None:
    keys = f"keyword = w\n{pattern}\n" + ("catch-all = true\n" if catch_all else "")
    svc = make_config(service(keys)).services[0]
    assert takes_words(svc, words) is ok


def test_a_service_that_does_not_take_the_words_falls_through() -> None:
    one = service("name = one\nkeyword = w\ntext = %s")
    two = service("name = two\nkeyword = w\ntext = %s %s")
    assert chosen(one + two, sms(b"w a b")) == "two"


@pytest.mark.parametrize(
    ("keys", "mo_kw", "allowed"),
    [
        ("accepted-smsc = a;sink", {}, True),
        ("accepted-smsc = a;b", {}, False),
        ("accepted-smsc-regex = ^si", {}, True),
        ("accepted-smsc-regex = ^x", {}, False),
        ("accepted-account = esme", {}, True),
        ("accepted-account = other", {}, False),
        ("accepted-account = other", {"account": ""}, True),  # no account: not checked
        ("accepted-account-regex = ^e", {}, True),
        ("allowed-prefix = +467", {}, True),
        ("allowed-prefix = +358", {}, False),
        ("denied-prefix = +467", {}, False),
        ("denied-prefix = +358", {}, True),
        ("allowed-prefix = +4670;+358\ndenied-prefix = +467", {}, True),
        ("allowed-prefix = +358\ndenied-prefix = +467", {}, False),
        ("allowed-prefix = +358\ndenied-prefix = +1", {}, True),
        ("allowed-prefix-regex = 467", {}, True),
        ("denied-prefix-regex = 467", {}, False),
        ("allowed-receiver-prefix = 123", {}, True),
        ("allowed-receiver-prefix = 999", {}, False),
        ("denied-receiver-prefix = 123", {}, False),
        ("allowed-receiver-prefix = 999\ndenied-receiver-prefix = 123", {}, True),
        ("allowed-receiver-prefix-regex = ^1", {}, True),
        ("denied-receiver-prefix-regex = ^1", {}, False),
        ("denied-receiver-prefix-regex = ^9", {}, True),
        ("white-list-regex = 0001$", {}, True),
        ("white-list-regex = 0002$", {}, False),
        ("black-list-regex = 0001$", {}, False),
    ],
)
def test_allowed_translation(keys: str, mo_kw: dict[str, str], allowed: bool) -> None:
    svc = service(f"name = s\nkeyword = default\ntext = x\n{keys}")
    assert (chosen(svc, sms(**mo_kw)) == "s") is allowed  # type: ignore[arg-type]


def test_white_and_black_lists_by_url() -> None:
    white = service("name = w\nkeyword = default\ntext = x\nwhite-list = http://l/white")
    black = service("name = b\nkeyword = default\ntext = x\nblack-list = http://l/black")
    lists = {"http://l/white": NumberList(["46700000001"]),
             "http://l/black": NumberList(["46700000001"])}
    assert chosen(white, sms(), lists) == "w"
    assert chosen(white, sms(sender=b"46700000009"), lists) is None
    assert chosen(black, sms(), lists) is None
    assert chosen(black, sms(sender=b"46700000009"), lists) == "b"


def test_a_list_that_is_not_loaded_is_refused_at_construction() -> None:
    config = make_config(service("keyword = default\ntext = x\nwhite-list = http://l/w"))
    with pytest.raises(NumberListError):
        ServiceSelector(config.services, {})


def test_load_service_lists_fetches_services_and_core_lists() -> None:
    config = make_config(
        service("keyword = default\ntext = x\nblack-list = http://l/b"),
        core="white-list-sender = http://l/core",
    )
    fetched: list[str] = []

    def fetch(url: str) -> tuple[str, bytes]:
        fetched.append(url)
        return "text/plain", b"4670000001\n"

    lists = load_service_lists(config, fetch)
    assert sorted(lists) == ["http://l/b", "http://l/core"] == sorted(fetched)
    with pytest.raises(NumberListError):
        load_service_lists(config, lambda url: ("text/html", b""))


def test_keyword_and_allowed_are_both_needed() -> None:
    news_a = service("name = a\nkeyword = news\ntext = x\naccepted-smsc = other")
    assert chosen(news_a + DEFAULT, sms(b"news")) == "fallback"


def test_nul_characters_are_removed_before_matching() -> None:
    assert chosen(NEWS, sms(b"ne\x00ws", coding=4)) == "news"  # 8-bit: a real NUL
