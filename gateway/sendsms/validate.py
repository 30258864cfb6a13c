"""Kannel's sendsms checks, in Kannel's order, with Kannel's exact answers.

The order is smsbox's (`smsbox_req_sendsms` / `smsbox_sendsms_post`, then
`smsbox_req_handle`), because a request that is wrong in two ways must get the same answer
from us as from Kannel (obs. on Kannel 1.4.5 with two faults at a time):

1. POST of an unknown content type → 400 `Invalid content-type`
2. credentials and the user's IP filter → 403 `Authorization failed for sendsms`
3. receivers missing or empty → 400 (GET and POST word it differently)
4. POST text/html or WML → 415 `Unsupported content-type, rejected`; the coding defaults to
   0 for text/plain and XML, 1 for application/octet-stream
5. the UDH: length octet, then length
6. every receiver against sendsms-chars and the user's and the smsbox's white/black lists
   (and -regex); receivers that fail are dropped, and only when none is left →
   `Number(s) has/have been denied by white- and/or black-lists.`
7. the sender: faked-sender > from > default-sender > global-sender
8. account, dlr-url, dlr-mask (-1..66: Kannel 1.4.5's bound, obs.), mclass, pid, rpi,
   alt-dcs, mwi, coding, compress; the coding defaults to 1 when a UDH is given, else 0;
   validity, deferred, priority
9. the charset, when text has to be converted (coding 0 or 2) and is not empty

Only the failures of steps 5-9 are written to the access log (`send-SMS request failed -
…`), as Kannel writes only those.

Credentials are compared with `hmac.compare_digest`, also against a dummy password when the
username is unknown, so the time a refusal takes does not tell whether a username exists.

Lists: `white-list` / `black-list` are URLs of number lists (Kannel's numhash), fetched once
at start (`load_number_lists`). A number matches a list entry when the last 19 digits read
as C's strtoll agree, so `0046…`, `+46…` and `46…` are the same number, as in Kannel (obs.).

The sendsms-user keys `allowed-prefix` / `denied-prefix` (+ `-regex`) are documented by
Kannel as receiver filters but Kannel 1.4.5 ignores them for sendsms (obs.: a user with
`denied-prefix = 4671` sends to 46710). We do the same unless the caller asks for the
documented behaviour (`user_prefixes=True`); then a refused prefix counts as a denied
receiver.
"""

from __future__ import annotations

import hmac
import re
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from gateway.message import UNSET
from gateway.sendsms.params import SendsmsRequest, Source
from protocols.sms.charset import CharsetError, codec_for
from protocols.sms.udh import UdhProblem, client_udh_problem

if TYPE_CHECKING:
    from gateway.config import GatewayConfig, SendsmsUser, SmsboxConfig

# --- the answers ------------------------------------------------------------------------

AUTH_FAILED: Final = "Authorization failed for sendsms"
INVALID_CONTENT_TYPE: Final = "Invalid content-type"
UNSUPPORTED_CONTENT_TYPE: Final = "Unsupported content-type, rejected"
MISSING_RECEIVER: Final = "Missing receiver number, rejected"
MISSING_RECEIVERS: Final = "Missing receiver(s) number(s), rejected"
EMPTY_RECEIVER: Final = "Empty receiver number not allowed, rejected"
UDH_MISFORMED: Final = "UDH field misformed, rejected"
UDH_TOO_LONG: Final = "UDH field is too long, rejected"
DENIED: Final = "Number(s) has/have been denied by white- and/or black-lists."
NO_SENDER: Final = "Sender missing and no global set, rejected"
ACCOUNT_MISFORMED: Final = "Account field misformed or too long, rejected"
DLR_URL_MISFORMED: Final = "DLR-URL field misformed, rejected"
CHARSET_MISFORMED: Final = "Charset or body misformed, rejected"

#: Range checks of smsbox_req_handle, in its order: (field, low, high, answer).
RANGES: Final = (
    ("dlr_mask", -1, 66, "DLR-Mask field misformed, rejected"),
    ("mclass", -1, 3, "MClass field misformed, rejected"),
    ("pid", -1, 255, "PID field misformed, rejected"),
    ("rpi", -1, 2, "RPI field misformed, rejected"),
    ("alt_dcs", -1, 1, "Alt-DCS field misformed, rejected"),
    ("mwi", -1, 7, "MWI field misformed, rejected"),
    ("coding", -1, 2, "Coding field misformed, rejected"),
    ("compress", -1, 1, "Compress field misformed, rejected"),
)
VALIDITY_MISFORMED: Final = "Validity field misformed, rejected"
DEFERRED_MISFORMED: Final = "Deferred field misformed, rejected"
PRIORITY_MISFORMED: Final = "Priority field misformed, rejected"

#: Kannel's ACCOUNT_MAX_LEN and the characters an account may not hold.
ACCOUNT_MAX_LEN: Final = 64
ACCOUNT_FORBIDDEN: Final = frozenset(b"[]\n\r")


class Rejected(Exception):
    """A request Kannel refuses: the HTTP status, the exact body, and whether smsbox writes
    `send-SMS request failed - <body>` to its access log for it."""

    def __init__(self, status: int, body: str, *, logged: bool = False) -> None:
        super().__init__(body)
        self.status = status
        self.body = body
        self.logged = logged


def _bad(body: str) -> Rejected:
    """A refusal from smsbox_req_handle: 400 and logged."""
    return Rejected(400, body, logged=True)


# --- number lists (numhash) --------------------------------------------------------------

#: numhash precision: the last 19 digits (sizeof(long long) == 8).
NUMHASH_DIGITS: Final = 19
_STRTOLL: Final = re.compile(r"[ \t\n\v\f\r]*([+-]?[0-9]+)")


def numhash_key(number: str) -> int:
    """`numhash_get_key`: strtoll of the last 19 characters (0 when no digits lead)."""
    tail = number[-NUMHASH_DIGITS:] if len(number) > NUMHASH_DIGITS else number
    match = _STRTOLL.match(tail)
    if match is None:
        return 0
    return max(min(int(match.group(1)), 2**63 - 1), -(2**63))


class NumberList:
    """A white or black list of numbers, matched the way Kannel's numhash matches."""

    __slots__ = ("_keys", "source")

    def __init__(self, numbers: Iterable[str] = (), *, source: str = "") -> None:
        self.source = source
        self._keys = frozenset(numhash_key(number) for number in numbers)

    @classmethod
    def parse(cls, text: str, *, source: str = "") -> NumberList:
        """`numhash_create`'s reader: one number per `\\n`-terminated line, leading blanks
        skipped, `#` lines ignored, spaces, `+` and `-` inside a number ignored, the number
        ending at any other character (`4670: Alice` is 4670); a last line without its
        newline is ignored, as Kannel ignores it."""
        numbers: list[str] = []
        for line in text.split("\n")[:-1]:
            line = line.lstrip(" \t\n\v\f\r")
            if line.startswith("#"):
                continue
            digits: list[str] = []
            for char in line:
                if char.isdigit() and char.isascii():
                    digits.append(char)
                elif char not in " +-":
                    break
            if digits:
                numbers.append("".join(digits[:99]))
        return cls(numbers, source=source)

    def __contains__(self, number: object) -> bool:
        """`numhash_find_number(table, number) == 1`."""
        if not isinstance(number, str):
            return False
        key = numhash_key(number)
        return key >= 0 and key in self._keys

    def __len__(self) -> int:
        return len(self._keys)


class NumberListError(Exception):
    """A white-list or black-list URL could not be loaded (Passerelle does not start, where
    Kannel would silently run without the list)."""


#: Fetches a list URL: returns (content type, body octets) or raises.
Fetch = Callable[[str], tuple[str, bytes]]


def fetch_url(url: str, timeout: float = 30.0) -> tuple[str, bytes]:
    """A blocking GET for list URLs, used once at start-up as Kannel does (`file:` URLs
    too, for operators who keep lists on disk)."""
    with urllib.request.urlopen(url, timeout=timeout) as reply:
        kind = reply.headers.get_content_type() if url.startswith("http") else "text/plain"
        return kind, reply.read()


def list_urls(config: GatewayConfig) -> list[str]:
    """Every white-list / black-list URL of the smsbox group and the sendsms users."""
    owners: list[Any] = [config.smsbox, *config.users]
    urls: list[str] = []
    for owner in owners:
        for name in ("white_list", "black_list"):
            url = getattr(owner, name, None) if owner is not None else None
            if url and url not in urls:
                urls.append(url)
    return urls


def load_number_lists(config: GatewayConfig, fetch: Fetch = fetch_url) -> dict[str, NumberList]:
    """Fetch and parse every list the configuration names; `NumberListError` if one fails.

    Kannel insists on `text/plain` (exact) and would otherwise run without the list; we
    refuse to start instead, since running without a black list sends what it should stop.
    """
    lists: dict[str, NumberList] = {}
    for url in list_urls(config):
        try:
            kind, body = fetch(url)
        except Exception as error:  # any failure: the same report
            raise NumberListError(f"cannot load number list {url}: {error}") from error
        if kind != "text/plain":
            raise NumberListError(
                f"number list {url} has content type {kind!r}, Kannel expects 'text/plain'"
            )
        lists[url] = NumberList.parse(body.decode("latin-1"), source=url)
    return lists


# --- IP filters --------------------------------------------------------------------------


def pattern_matches_ip(pattern: str, ip: str) -> bool:
    """gwlib's `pattern_matches_ip`: `*` stands for one run of non-dot characters."""
    i = j = 0
    while i < len(pattern) and j < len(ip):
        if pattern[i] == ip[j]:
            i += 1
            j += 1
        elif pattern[i] != "*":
            return False
        else:
            i += 1
            while j < len(ip) and ip[j] != ".":
                j += 1
    return i >= len(pattern) and j >= len(ip)


def is_allowed_ip(allow: Sequence[str], deny: Sequence[str], ip: str) -> bool:
    """gwlib's `is_allowed_ip`: without a deny list everyone is allowed (an allow list alone
    restricts nothing); an allow match wins over a deny match."""
    if not deny:
        return True
    if any(pattern_matches_ip(pattern, ip) for pattern in allow):
        return True
    return not any(pattern_matches_ip(pattern, ip) for pattern in deny)


# --- the validated request ---------------------------------------------------------------


@dataclass(slots=True)
class ValidRequest:
    """A request that passed every check: what `accept` needs to build messages.

    Numbers keep Kannel's -1 for "unset" (the coding is resolved to 0, 1 or 2). `text` is
    still the request's octets in its charset: the conversion belongs to `accept`.
    """

    user: SendsmsUser
    client_ip: str
    sender: str
    receivers: tuple[str, ...]
    denied: tuple[str, ...]
    text: bytes
    charset: str | None
    udh: bytes | None  # None when the request gave none (the access log tells them apart)
    coding: int
    mclass: int
    mwi: int
    compress: int
    alt_dcs: int
    pid: int
    rpi: int
    validity: int
    deferred: int
    priority: int
    dlr_mask: int
    dlr_url: str
    account: str
    binfo: str
    meta_data: str
    smsc_id: str | None


def decode(value: bytes | None) -> str:
    """Request octets as text for the message record (UTF-8; what is not becomes U+FFFD,
    since the SMPP side encodes these fields as UTF-8)."""
    return "" if value is None else value.decode("utf-8", "replace")


def split_words(value: bytes) -> list[bytes]:
    """gwlib's `octstr_split_words`: runs of non-white-space (C isspace, which is what
    `bytes.split()` splits on)."""
    return value.split()


def _prefix_refused(user: SendsmsUser, receiver: str) -> bool:
    """The documented sendsms-user prefix rule (only with `user_prefixes`): with only
    allowed-prefix a receiver must match it, with only denied-prefix it must not, with both
    it is refused when it matches denied and not allowed; the same for the regexes."""
    allowed = any(p and receiver.startswith(p) for p in user.allowed_prefix)
    denied = any(p and receiver.startswith(p) for p in user.denied_prefix)
    if user.allowed_prefix and not user.denied_prefix and not allowed:
        return True
    if user.denied_prefix and not user.allowed_prefix and denied:
        return True
    if user.allowed_prefix and user.denied_prefix and denied and not allowed:
        return True
    allowed_re, denied_re = user.allowed_prefix_regex, user.denied_prefix_regex
    allowed_hit = allowed_re is not None and allowed_re.search(receiver) is not None
    denied_hit = denied_re is not None and denied_re.search(receiver) is not None
    if allowed_re is not None and denied_re is None and not allowed_hit:
        return True
    if denied_re is not None and allowed_re is None and denied_hit:
        return True
    return allowed_re is not None and denied_re is not None and denied_hit and not allowed_hit


class Validator:
    """Authenticates and checks sendsms requests against one configuration.

    `lists` maps every white/black-list URL of the configuration to its loaded
    `NumberList` (see `load_number_lists`); a configured URL without one is an error here,
    so a list can never be skipped by accident.
    """

    def __init__(
        self,
        config: GatewayConfig,
        lists: Mapping[str, NumberList] | None = None,
        *,
        user_prefixes: bool = False,
    ) -> None:
        if config.smsbox is None:
            raise ValueError("sendsms needs a `group = smsbox`")
        self.smsbox: SmsboxConfig = config.smsbox
        self.users: dict[bytes, SendsmsUser] = {
            user.username.encode("utf-8"): user for user in config.users
        }
        self._passwords: dict[bytes, bytes] = {
            name: user.password.encode("utf-8") for name, user in self.users.items()
        }
        lists = dict(lists or {})
        missing = [url for url in list_urls(config) if url not in lists]
        if missing:
            raise ValueError(f"number lists not loaded: {', '.join(missing)}")
        self.lists = lists
        self.user_prefixes = user_prefixes
        self.sendsms_chars = self.smsbox.sendsms_chars.encode("utf-8")

    # 2. credentials
    def authenticate(self, request: SendsmsRequest, client_ip: str) -> SendsmsUser:
        """The user behind the request, or `Rejected` 403 (`authorise_username`)."""
        username, password = request.username, request.password
        if username is None or password is None:
            raise Rejected(403, AUTH_FAILED)
        expected = self._passwords.get(username)
        if expected is None:
            hmac.compare_digest(password, b"\0" * len(password))  # same work, no answer
            raise Rejected(403, AUTH_FAILED)
        if not hmac.compare_digest(password, expected):
            raise Rejected(403, AUTH_FAILED)
        user = self.users[username]
        if not is_allowed_ip(user.user_allow_ip, user.user_deny_ip, client_ip):
            raise Rejected(403, AUTH_FAILED)
        return user

    def validate(self, request: SendsmsRequest, client_ip: str) -> ValidRequest:
        """Every check in Kannel's order; the first failure raises `Rejected`."""
        if request.source is Source.INVALID:
            raise Rejected(400, INVALID_CONTENT_TYPE)
        user = self.authenticate(request, client_ip)
        coding = request.coding
        if request.source is Source.QUERY:
            if request.to is None:
                raise Rejected(400, MISSING_RECEIVER)
            if not request.to:
                raise Rejected(400, EMPTY_RECEIVER)
        else:
            if request.to is None and request.receivers is None:
                raise Rejected(400, MISSING_RECEIVERS)
            if request.to is not None and not request.to:
                raise Rejected(400, EMPTY_RECEIVER)
            if request.content_type == "application/octet-stream":
                coding = 1 if coding == UNSET else coding
            elif request.content_type == "text/plain":
                coding = 0 if coding == UNSET else coding
            else:
                raise Rejected(415, UNSUPPORTED_CONTENT_TYPE)
        return self._handle(request, user, client_ip, coding)

    def _handle(
        self, request: SendsmsRequest, user: SendsmsUser, client_ip: str, coding: int
    ) -> ValidRequest:
        """`smsbox_req_handle`: the field checks, in its order."""
        udh = request.udh
        if udh is not None:
            problem = client_udh_problem(udh)
            if problem is UdhProblem.MISFORMED:
                raise _bad(UDH_MISFORMED)
            if problem is UdhProblem.TOO_LONG:
                raise _bad(UDH_TOO_LONG)

        raw_receivers = (
            list(request.receivers)
            if request.receivers is not None
            else split_words(request.to or b"")
        )
        allowed, denied = self.screen(user, raw_receivers)
        if not allowed:
            raise _bad(DENIED)

        if user.faked_sender is not None:
            sender = user.faked_sender
        elif request.sender:
            sender = decode(request.sender)
        elif user.default_sender is not None:
            sender = user.default_sender
        elif self.smsbox.global_sender is not None:
            sender = self.smsbox.global_sender
        else:
            raise _bad(NO_SENDER)

        account = request.account or b""
        if account and (
            len(account) > ACCOUNT_MAX_LEN or any(o in ACCOUNT_FORBIDDEN for o in account)
        ):
            raise _bad(ACCOUNT_MISFORMED)

        dlr_url = request.dlr_url or b""
        if dlr_url:
            if len(dlr_url) < 8:
                raise _bad(DLR_URL_MISFORMED)
            lower = dlr_url[:8].lower()
            if not (lower.startswith(b"http://") or lower == b"https://"):
                raise _bad(DLR_URL_MISFORMED)

        for name, low, high, answer in RANGES:
            value = coding if name == "coding" else getattr(request, name)
            if not low <= value <= high:
                raise _bad(answer)
        if coding == UNSET:
            coding = 1 if udh else 0  # Kannel's "compatibility mode"

        if request.validity < -1:
            raise _bad(VALIDITY_MISFORMED)
        if request.deferred < -1:
            raise _bad(DEFERRED_MISFORMED)
        if request.priority != UNSET and not 0 <= request.priority <= 3:
            raise _bad(PRIORITY_MISFORMED)

        if user.forced_smsc is not None:
            smsc_id: str | None = user.forced_smsc
        elif request.smsc is not None:
            smsc_id = decode(request.smsc)
        else:
            smsc_id = user.default_smsc

        text = request.text or b""
        charset = decode(request.charset) or None
        if charset is not None and coding in (0, 2) and text:
            try:
                codec_for(charset)
            except CharsetError:
                raise _bad(CHARSET_MISFORMED) from None

        return ValidRequest(
            user=user,
            client_ip=client_ip,
            sender=sender,
            receivers=tuple(allowed),
            denied=tuple(denied),
            text=text,
            charset=charset,
            udh=udh,
            coding=coding,
            mclass=request.mclass,
            mwi=request.mwi,
            compress=request.compress,
            alt_dcs=request.alt_dcs,
            pid=request.pid,
            rpi=request.rpi,
            validity=request.validity,
            deferred=request.deferred,
            priority=request.priority,
            dlr_mask=request.dlr_mask,
            dlr_url=decode(dlr_url),
            account=decode(account),
            binfo=decode(request.binfo),
            meta_data=decode(request.meta_data),
            smsc_id=smsc_id,
        )

    def screen(self, user: SendsmsUser, receivers: Iterable[bytes]) -> tuple[list[str], list[str]]:
        """(allowed, denied) receivers, each once, in request order.

        A receiver is denied if any rule denies it: a character outside sendsms-chars, the
        user's white-list / white-list-regex / black-list / black-list-regex, then the
        smsbox's, and (with `user_prefixes`) the user's prefixes.
        """
        smsbox = self.smsbox
        allowed: list[str] = []
        denied: list[str] = []
        for raw in receivers:
            number = decode(raw)
            refused = bool(raw.translate(None, self.sendsms_chars))  # strspn < len
            for white, white_re, black, black_re in (
                (user.white_list, user.white_list_regex, user.black_list, user.black_list_regex),
                (
                    smsbox.white_list,
                    smsbox.white_list_regex,
                    smsbox.black_list,
                    smsbox.black_list_regex,
                ),
            ):
                if white is not None and number not in self.lists[white]:
                    refused = True
                if white_re is not None and white_re.search(number) is None:
                    refused = True
                if black is not None and number in self.lists[black]:
                    refused = True
                if black_re is not None and black_re.search(number) is not None:
                    refused = True
            if self.user_prefixes and _prefix_refused(user, number):
                refused = True
            if refused:
                if number not in denied:
                    denied.append(number)
            elif number not in allowed:
                allowed.append(number)
        allowed = [number for number in allowed if number not in denied]
        return allowed, denied
