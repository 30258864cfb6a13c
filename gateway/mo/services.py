"""Which `sms-service` takes an MO: Kannel's `urltrans_find` (urltrans.c).

Two passes, each in configuration order:

1. **Keyword services** (`keyword` other than `default`, or `keyword-regex`): the service's
   matcher is searched in the text (NUL characters removed first); among the services that
   match, the first that is *allowed* (below) and whose pattern takes the number of words
   the text has wins. The word count rule (`check_num_args`): the text's words after the
   first must equal the pattern's `%s` + `%S` count, or be at least that when the pattern
   has `%r` or `%a`, or anything when the service has `catch-all` (which post-url and
   post-xml force).
2. **Default services** (`keyword = default`): the first allowed one.

No service → smsbox answers the phone with `reply-requestfailed` ("Request Failed"); the
receiver does that.

*Allowed* (`check_allowed_translation`), every test in Kannel's order:
accepted-smsc (exact ids) and accepted-smsc-regex against the MO's smsc id;
accepted-account(-regex) against its account (the SMPP system_id) when it has one;
allowed-prefix / denied-prefix and their `-regex` forms against the **sender**, each alone
(with both plain lists set, the sender is refused only when it matches denied and not
allowed; likewise for the regex pair); allowed-receiver-prefix / denied-receiver-prefix
(+ `-regex`) against the **receiver**, each only when its counterpart is not set; white-list
(+ `-regex`) and black-list (+ `-regex`) against the sender.

Deliberate difference: Kannel refuses a receiver that does **not** match
`denied-receiver-prefix-regex` (an inverted test in urltrans.c); we refuse one that does,
as the key's name and the user guide say.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from gateway.sendsms.validate import Fetch, NumberList, NumberListError, fetch_url

if TYPE_CHECKING:
    from gateway.config import GatewayConfig, SmsService
    from gateway.mo.inbound import InboundSms


def prefix_match(prefixes: Sequence[str], number: str) -> bool:
    """Kannel's `does_prefix_match`: a `;`-list of plain "starts with" prefixes."""
    return any(number.startswith(prefix) for prefix in prefixes)


def _found(pattern: re.Pattern[str] | None, value: str) -> bool:
    return pattern is not None and pattern.search(value) is not None


def words_of(text: str) -> list[str]:
    """Kannel's `octstr_split_words`: runs of non-blank characters."""
    return text.split()


def _count(pattern: str, code: str) -> int:
    return pattern.count(code)


def takes_words(service: SmsService, word_count: int) -> bool:
    """Kannel's `check_num_args` for a text of `word_count` words."""
    if service.catch_all:
        return True
    pattern = service.pattern
    args = _count(pattern, "%s") + _count(pattern, "%S")
    if word_count - 1 == args:
        return True
    catch_all_arg = "%r" in pattern or "%a" in pattern
    return catch_all_arg and word_count - 1 >= args


class ServiceSelector:
    """Finds the sms-service of an MO. `lists` maps white/black list URLs to loaded lists
    (`load_service_lists`); a service naming a list that is not loaded is refused here."""

    def __init__(
        self, services: Iterable[SmsService], lists: Mapping[str, NumberList] | None = None
    ) -> None:
        self.services = tuple(services)
        self.lists = dict(lists or {})
        for service in self.services:
            for url in (service.white_list, service.black_list):
                if url and url not in self.lists:
                    raise NumberListError(
                        f"sms-service {service.name!r}: number list {url} is not loaded"
                    )
        self.keyword_services = tuple(s for s in self.services if s.matcher is not None)
        self.default_services = tuple(s for s in self.services if s.matcher is None)

    def find(self, sms: InboundSms) -> SmsService | None:
        """The service Kannel would pick for `sms`, or None."""
        text = sms.keyword_text
        if "\0" in text:
            text = text.replace("\0", "")
        word_count = len(words_of(text))
        for service in self.keyword_services:
            assert service.matcher is not None
            if (
                service.matcher.search(text)
                and self.allowed(service, sms)
                and takes_words(service, word_count)
            ):
                return service
        for service in self.default_services:
            if self.allowed(service, sms):
                return service
        return None

    def allowed(self, service: SmsService, sms: InboundSms) -> bool:
        """Kannel's `check_allowed_translation` (see the module docstring)."""
        s = service
        smsc, account, sender, receiver = sms.smsc_id, sms.account, sms.sender, sms.receiver
        if smsc:
            if s.accepted_smsc and smsc not in s.accepted_smsc:
                return False
            if s.accepted_smsc_regex is not None and not _found(s.accepted_smsc_regex, smsc):
                return False
        if account:
            if s.accepted_account and account not in s.accepted_account:
                return False
            if s.accepted_account_regex is not None and not _found(
                s.accepted_account_regex, account
            ):
                return False
        # sender prefixes, each alone
        if s.allowed_prefix and not s.denied_prefix and not prefix_match(s.allowed_prefix, sender):
            return False
        if (
            s.allowed_prefix_regex is not None
            and s.denied_prefix_regex is None
            and not _found(s.allowed_prefix_regex, sender)
        ):
            return False
        if s.denied_prefix and not s.allowed_prefix and prefix_match(s.denied_prefix, sender):
            return False
        if (
            s.denied_prefix_regex is not None
            and s.allowed_prefix_regex is None
            and _found(s.denied_prefix_regex, sender)
        ):
            return False
        # receiver prefixes, each alone
        if (
            s.allowed_receiver_prefix
            and not s.denied_receiver_prefix
            and not prefix_match(s.allowed_receiver_prefix, receiver)
        ):
            return False
        if (
            s.allowed_receiver_prefix_regex is not None
            and s.denied_receiver_prefix_regex is None
            and not _found(s.allowed_receiver_prefix_regex, receiver)
        ):
            return False
        if (
            s.denied_receiver_prefix
            and not s.allowed_receiver_prefix
            and prefix_match(s.denied_receiver_prefix, receiver)
        ):
            return False
        if (
            s.denied_receiver_prefix_regex is not None
            and s.allowed_receiver_prefix_regex is None
            and _found(s.denied_receiver_prefix_regex, receiver)
        ):
            return False
        # white and black lists of senders
        if s.white_list and sender not in self.lists[s.white_list]:
            return False
        if s.white_list_regex is not None and not _found(s.white_list_regex, sender):
            return False
        if s.black_list and sender in self.lists[s.black_list]:
            return False
        if s.black_list_regex is not None and _found(s.black_list_regex, sender):
            return False
        # sender prefixes, both lists set
        if (
            s.allowed_prefix
            and s.denied_prefix
            and not prefix_match(s.allowed_prefix, sender)
            and prefix_match(s.denied_prefix, sender)
        ):
            return False
        return not (
            s.allowed_prefix_regex is not None
            and s.denied_prefix_regex is not None
            and not _found(s.allowed_prefix_regex, sender)
            and _found(s.denied_prefix_regex, sender)
        )


def mo_list_urls(config: GatewayConfig) -> list[str]:
    """The white/black list URLs MO handling needs: every sms-service's and the core's."""
    urls: list[str] = []
    core = config.core
    candidates = [core.white_list_sender, core.black_list_sender, core.white_list_receiver,
                  core.black_list_receiver]
    for service in config.services:
        candidates += [service.white_list, service.black_list]
    for url in candidates:
        if url and url not in urls:
            urls.append(url)
    return urls


def load_service_lists(
    config: GatewayConfig,
    fetch: Fetch = fetch_url,
    known: Mapping[str, NumberList] | None = None,
) -> dict[str, NumberList]:
    """Fetch the lists `mo_list_urls` names (blocking, at start-up, as Kannel does), reusing
    those in `known`; `NumberListError` when one cannot be loaded."""
    lists = dict(known or {})
    for url in mo_list_urls(config):
        if url in lists:
            continue
        try:
            kind, body = fetch(url)
        except Exception as error:
            raise NumberListError(f"cannot load number list {url}: {error}") from error
        if kind != "text/plain":
            raise NumberListError(
                f"number list {url} has content type {kind!r}, Kannel expects 'text/plain'"
            )
        lists[url] = NumberList.parse(body.decode("latin-1"), source=url)
    return lists
