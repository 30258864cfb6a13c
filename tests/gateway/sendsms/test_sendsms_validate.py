"""Kannel's sendsms checks, their order and their exact answers (gateway.sendsms.validate).

obs. = the same request answered the same way by the running Kannel 1.4.5.
"""

from __future__ import annotations

import pytest
from conftest import MakeConfig, make_config

from gateway.message import UNSET
from gateway.sendsms import validate as validate_module
from gateway.sendsms.params import SendsmsRequest, headers_from_pairs, parse_post, parse_query
from gateway.sendsms.validate import (
    NumberList,
    NumberListError,
    Rejected,
    Validator,
    ValidRequest,
    is_allowed_ip,
    load_number_lists,
    numhash_key,
    pattern_matches_ip,
)

AUTH = "username=tester&password=foobar"
IP = "127.0.0.1"


def get(query: str, *, config_groups: tuple[str, ...] = (), smsbox: str = "", **kw: object):
    """Validate a GET with this query string (credentials of `tester` prepended)."""
    validator = Validator(make_config(*config_groups, smsbox=smsbox), **kw)  # type: ignore[arg-type]
    return validator.validate(parse_query(f"/cgi-bin/sendsms?{query}".encode()), IP)


def ok(query: str, **kw: object) -> ValidRequest:
    return get(f"{AUTH}&{query}", **kw)


def refused(query: str, *, ip: str = IP, **kw: object) -> Rejected:
    with pytest.raises(Rejected) as info:
        config_groups = kw.pop("config_groups", ())
        smsbox = kw.pop("smsbox", "")
        validator = Validator(make_config(*config_groups, smsbox=smsbox), **kw)  # type: ignore[arg-type]
        validator.validate(parse_query(f"/cgi-bin/sendsms?{query}".encode()), ip)
    return info.value


def post(headers: list[tuple[str, str]], body: bytes = b"", **kw: object) -> ValidRequest:
    request = parse_post(headers_from_pairs((n.encode(), v.encode()) for n, v in headers), body)
    return Validator(make_config(), **kw).validate(request, IP)  # type: ignore[arg-type]


def post_refused(headers: list[tuple[str, str]], body: bytes = b"") -> Rejected:
    with pytest.raises(Rejected) as info:
        post(headers, body)
    return info.value


X_AUTH = [("X-Kannel-Username", "tester"), ("X-Kannel-Password", "foobar")]


# --- content type and credentials -----------------------------------------------------------


def test_a_valid_get_request() -> None:
    valid = ok("from=12345&to=4670000001&text=Hello+world")
    assert valid.user.username == "tester"
    assert (valid.sender, valid.receivers, valid.denied) == ("12345", ("4670000001",), ())
    assert (valid.text, valid.coding, valid.charset, valid.udh) == (b"Hello world", 0, None, None)
    assert (valid.mclass, valid.mwi, valid.compress, valid.validity) == (UNSET,) * 4
    assert (valid.dlr_mask, valid.dlr_url, valid.smsc_id) == (UNSET, "", None)


def test_an_unknown_post_content_type_is_refused_before_the_credentials() -> None:
    # obs.: form-urlencoded and JSON → 400 Invalid content-type, even without credentials
    for kind in ("application/x-www-form-urlencoded", "application/json"):
        rejection = post_refused([("Content-Type", kind)])
        assert (rejection.status, rejection.body, rejection.logged) == (
            400,
            "Invalid content-type",
            False,
        )


@pytest.mark.parametrize(
    "query",
    [
        "to=1&text=x",  # no credentials
        "username=tester&to=1",  # no password
        "password=foobar&to=1",  # no username
        "username=tester&password=wrong&to=1",
        "username=nobody&password=foobar&to=1",
        "username=TESTER&password=foobar&to=1",  # usernames are case-sensitive
        "username=tester&password=foobar+&to=1",
    ],
)
def test_bad_credentials_are_403_and_not_logged(query: str) -> None:
    rejection = refused(query)
    assert (rejection.status, rejection.body, rejection.logged) == (
        403,
        "Authorization failed for sendsms",
        False,
    )


def test_user_and_pass_are_aliases() -> None:
    assert get("user=tester&pass=foobar&to=1&from=2").user.username == "tester"


def test_credentials_are_checked_before_the_receiver() -> None:
    assert refused("username=tester&password=bad").status == 403


def test_credentials_compare_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []

    def compare(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return a == b

    monkeypatch.setattr(validate_module.hmac, "compare_digest", compare)
    ok("from=1&to=2")
    assert calls == [(b"foobar", b"foobar")]
    calls.clear()
    refused("username=nobody&password=guess&to=2")
    assert len(calls) == 1  # an unknown user costs a comparison too
    assert calls[0][0] == b"guess"


@pytest.mark.parametrize(
    ("allow", "deny", "ip", "accepted"),
    [
        ("10.0.0.*", "*.*.*.*", "127.0.0.1", False),  # obs. (user ipdeny)
        ("127.0.0.*", "*.*.*.*", "127.0.0.1", True),  # obs. (user ipok)
        ("", "127.0.0.1", "127.0.0.1", False),
        ("", "127.0.0.1", "127.0.0.2", True),
        ("10.0.0.1", "", "127.0.0.1", True),  # an allow list alone restricts nothing (gwlib)
        ("10.*.0.1;127.0.0.1", "*.*.*.*", "127.0.0.1", True),
    ],
)
def test_user_allow_and_deny_ip(allow: str, deny: str, ip: str, accepted: bool) -> None:
    lines = ["group = sendsms-user", "username = ipuser", "password = pw"]
    if allow:
        lines.append(f'user-allow-ip = "{allow}"')
    if deny:
        lines.append(f'user-deny-ip = "{deny}"')
    validator = Validator(make_config("\n".join(lines)))
    request = parse_query(b"/s?username=ipuser&password=pw&to=1&from=2")
    if accepted:
        assert validator.validate(request, ip).user.username == "ipuser"
    else:
        with pytest.raises(Rejected) as info:
            validator.validate(request, ip)
        assert (info.value.status, info.value.body) == (403, "Authorization failed for sendsms")


@pytest.mark.parametrize(
    ("pattern", "ip", "matches"),
    [
        ("127.0.0.1", "127.0.0.1", True),
        ("127.0.0.*", "127.0.0.1", True),
        ("127.0.0.*", "127.0.0.123", True),
        ("*.*.*.*", "10.1.2.3", True),
        ("*", "10.1.2.3", False),  # one `*` is one octet
        ("127.*", "127.0.0.1", False),
        ("127.0.0.1", "127.0.0.10", False),
        ("127.0.0.1*", "127.0.0.1", False),
        ("1*.0.0.1", "127.0.0.1", True),  # a `*` after a digit eats to the next dot
    ],
)
def test_pattern_matches_ip_is_gwlibs(pattern: str, ip: str, matches: bool) -> None:
    assert pattern_matches_ip(pattern, ip) is matches


def test_is_allowed_ip_without_client_address_rules() -> None:
    assert is_allowed_ip((), (), "1.2.3.4")


# --- receivers present? ------------------------------------------------------------------


def test_get_without_to() -> None:
    rejection = refused(AUTH + "&text=x")
    assert (rejection.status, rejection.body, rejection.logged) == (
        400,
        "Missing receiver number, rejected",
        False,
    )


def test_get_with_empty_to() -> None:
    rejection = refused(AUTH + "&to=&text=x")
    assert (rejection.status, rejection.body) == (
        400,
        "Empty receiver number not allowed, rejected",
    )


def test_post_without_x_kannel_to() -> None:
    rejection = post_refused([("Content-Type", "text/plain"), *X_AUTH])
    assert (rejection.status, rejection.body) == (400, "Missing receiver(s) number(s), rejected")


def test_post_with_empty_x_kannel_to() -> None:
    rejection = post_refused([("Content-Type", "text/plain"), *X_AUTH, ("X-Kannel-To", "")])
    assert (rejection.status, rejection.body) == (
        400,
        "Empty receiver number not allowed, rejected",
    )


def test_post_without_credentials() -> None:
    # obs.: credentials in the query string do not count for a POST
    rejection = post_refused([("Content-Type", "text/plain"), ("X-Kannel-To", "1")])
    assert (rejection.status, rejection.body) == (403, "Authorization failed for sendsms")


def test_xml_without_da() -> None:
    body = (
        b"<?xml version='1.0'?><message><submit><oa><number>1</number></oa>"
        b"<from><user>tester</user><pass>foobar</pass></from></submit></message>"
    )
    rejection = post_refused([("Content-Type", "text/xml")], body)
    assert (rejection.status, rejection.body) == (400, "Missing receiver(s) number(s), rejected")


def test_xml_that_does_not_parse_is_an_authorization_failure() -> None:
    rejection = post_refused([("Content-Type", "text/xml")], b"<message><submit")
    assert (rejection.status, rejection.body) == (403, "Authorization failed for sendsms")


@pytest.mark.parametrize("kind", ["text/html", "text/vnd.wap.wml"])
def test_html_post_is_415_after_credentials_and_receivers(kind: str) -> None:
    # obs.: Kannel 1.4.5 answers 415 for an authenticated text/html POST
    rejection = post_refused([("Content-Type", kind), *X_AUTH, ("X-Kannel-To", "1")], b"<p>")
    assert (rejection.status, rejection.body, rejection.logged) == (
        415,
        "Unsupported content-type, rejected",
        False,
    )
    assert post_refused([("Content-Type", kind), ("X-Kannel-To", "1")]).status == 403
    assert post_refused([("Content-Type", kind), *X_AUTH]).status == 400


# --- coding defaults ---------------------------------------------------------------------


def test_post_coding_default_depends_on_the_content_type() -> None:
    base = [*X_AUTH, ("X-Kannel-To", "1"), ("X-Kannel-From", "2")]
    assert post([("Content-Type", "text/plain"), *base]).coding == 0
    assert post([("Content-Type", "application/octet-stream"), *base]).coding == 1
    assert post(base).coding == 1  # obs.: no Content-Type → octet-stream → 8-bit
    assert post([("Content-Type", "text/plain"), ("X-Kannel-Coding", "2"), *base]).coding == 2
    # obs.: a POST text/plain with a UDH stays 7-bit
    udh = ("X-Kannel-UDH", "0605040B8423F0")
    assert post([("Content-Type", "text/plain"), udh, *base]).coding == 0


def test_get_coding_default_is_8bit_with_a_udh() -> None:
    assert ok("to=1&from=2&udh=%06%05%04%0B%84%23%F0").coding == 1
    assert ok("to=1&from=2&udh=%06%05%04%0B%84%23%F0&coding=0").coding == 0
    assert ok("to=1&from=2&udh=").coding == 0  # an empty udh is no udh
    assert ok("to=1&from=2&coding=abc").coding == 0  # obs.


# --- field checks --------------------------------------------------------------------------


def test_udh_length_octet_must_match() -> None:
    rejection = refused(AUTH + "&to=1&from=2&udh=%01")  # obs.
    assert (rejection.status, rejection.body, rejection.logged) == (
        400,
        "UDH field misformed, rejected",
        True,
    )


def test_udh_longer_than_140_octets() -> None:
    udh = "%8C" + "%00" * 140  # length octet 140, 141 octets in all
    assert refused(f"{AUTH}&to=1&from=2&udh={udh}").body == "UDH field is too long, rejected"


def test_udh_of_140_octets_is_fine() -> None:
    assert len(ok("to=1&from=2&udh=%8B" + "%00" * 139).udh) == 140


def test_receivers_are_space_separated_words() -> None:
    # obs.: `4670++4671`, a tab, and duplicates
    assert ok("to=4670++4671&from=1").receivers == ("4670", "4671")
    assert ok("to=4670%094671&from=1").receivers == ("4670", "4671")
    assert ok("to=4670+4670&from=1").receivers == ("4670",)
    assert ok("to=%2B4670-1&from=1").receivers == ("+4670-1",)


def test_only_blanks_in_to_means_every_receiver_denied() -> None:
    rejection = refused(AUTH + "&to=+&from=1")  # obs.
    assert (rejection.body, rejection.logged) == (
        "Number(s) has/have been denied by white- and/or black-lists.",
        True,
    )


def test_receiver_with_characters_outside_sendsms_chars() -> None:
    assert refused(AUTH + "&to=abc&text=x").status == 400  # obs.
    valid = ok("to=4670+abc+4671&from=1")
    assert (valid.receivers, valid.denied) == (("4670", "4671"), ("abc",))


def test_sendsms_chars_is_configurable() -> None:
    valid = ok("to=4670+abc&from=1", smsbox='sendsms-chars = "0123456789abc"')
    assert valid.receivers == ("4670", "abc")
    assert refused(AUTH + "&to=%2B4670&from=1", smsbox='sendsms-chars = "0123456789"').status


USER_LISTS = """\
group = sendsms-user
username = lists
password = pw
white-list-regex = "^467"
black-list-regex = "^4679"
"""


def lists_get(to: str) -> ValidRequest:
    validator = Validator(make_config(USER_LISTS))
    return validator.validate(parse_query(f"/s?user=lists&pass=pw&from=1&to={to}".encode()), IP)


def test_user_regex_lists() -> None:
    # obs. (user `lists`): 4690 not white, 46790 black, 4670 fine
    for to in ("4690", "46790"):
        with pytest.raises(Rejected) as info:
            lists_get(to)
        assert info.value.body == "Number(s) has/have been denied by white- and/or black-lists."
    valid = lists_get("4670+46790+4690+4671")
    assert valid.receivers == ("4670", "4671")
    assert valid.denied == ("46790", "4690")


def test_number_lists_match_by_numhash_key() -> None:
    user = 'group = sendsms-user\nusername = wl\npassword = pw\nwhite-list = "http://lists/w"'
    numbers = NumberList.parse("4670000001\n+46 70-000 0002\n0046700000003\n")
    validator = Validator(make_config(user), {"http://lists/w": numbers})

    def to(number: str) -> tuple[str, ...]:
        request = parse_query(f"/s?user=wl&pass=pw&from=1&to={number}".encode())
        return validator.validate(request, IP).receivers

    # obs. with the same list file on Kannel 1.4.5
    assert to("4670000001") == ("4670000001",)
    assert to("46700000002") == ("46700000002",)
    assert to("0046700000002") == ("0046700000002",)
    assert to("%2B46700000003") == ("+46700000003",)
    with pytest.raises(Rejected):
        to("4670000009")


def test_user_black_list_and_smsbox_lists() -> None:
    user = 'group = sendsms-user\nusername = bl\npassword = pw\nblack-list = "http://l/b"'
    smsbox = 'white-list = "http://l/w"\nblack-list-regex = "^4678"'
    lists = {
        "http://l/b": NumberList(["4671"]),
        "http://l/w": NumberList(["4670", "4671", "4672", "46780"]),
    }
    validator = Validator(make_config(user, smsbox=smsbox), lists)
    request = parse_query(b"/s?user=bl&pass=pw&from=1&to=4670+4671+4672+4673+46780")
    valid = validator.validate(request, IP)
    assert valid.receivers == ("4670", "4672")
    assert set(valid.denied) == {"4671", "4673", "46780"}


def test_smsbox_white_list_regex_applies_to_every_user() -> None:
    rejection = refused(AUTH + "&to=4690&from=1", smsbox='white-list-regex = "^467"')
    assert rejection.status == 400


def test_a_configured_list_must_be_loaded() -> None:
    user = 'group = sendsms-user\nusername = wl\npassword = pw\nwhite-list = "http://l/w"'
    with pytest.raises(ValueError, match="http://l/w"):
        Validator(make_config(user))


PREFIX_USER = """\
group = sendsms-user
username = pref
password = pw
allowed-prefix = "4670"
denied-prefix = "4671"
"""


def prefix_get(to: str, **kw: object) -> ValidRequest:
    validator = Validator(make_config(PREFIX_USER), **kw)  # type: ignore[arg-type]
    return validator.validate(parse_query(f"/s?user=pref&pass=pw&from=1&to={to}".encode()), IP)


def test_user_prefixes_are_ignored_like_kannel_1_4_5() -> None:
    # obs.: user `pref` sent to 46710 (denied prefix) and 4690 (not in allowed)
    assert prefix_get("46710+4690").receivers == ("46710", "4690")


def test_user_prefixes_when_enforced() -> None:
    # both lists: refused only when denied and not allowed
    valid = prefix_get("46710+4690+4670", user_prefixes=True)
    assert (valid.receivers, valid.denied) == (("4690", "4670"), ("46710",))
    with pytest.raises(Rejected):
        prefix_get("46710", user_prefixes=True)


@pytest.mark.parametrize(
    ("keys", "to", "receivers"),
    [
        ('allowed-prefix = "4670;4672"', "4670+4671+4672", ("4670", "4672")),
        ('denied-prefix = "4671"', "4670+4671", ("4670",)),
        ('allowed-prefix-regex = "^467[02]"', "4670+4671+4672", ("4670", "4672")),
        ('denied-prefix-regex = "^4671"', "4670+4671", ("4670",)),
    ],
)
def test_user_prefix_rules_when_enforced(keys: str, to: str, receivers: tuple[str, ...]) -> None:
    user = f"group = sendsms-user\nusername = p\npassword = pw\n{keys}"
    validator = Validator(make_config(user), user_prefixes=True)
    request = parse_query(f"/s?user=p&pass=pw&from=1&to={to}".encode())
    assert validator.validate(request, IP).receivers == receivers


SENDERS = """\
group = sendsms-user
username = fake
password = pw
faked-sender = FAKE
default-sender = DEF

group = sendsms-user
username = defsend
password = pw
default-sender = DEF
"""


@pytest.mark.parametrize(
    ("user", "query", "sender"),
    [
        ("fake", "from=1", "FAKE"),  # obs.: faked-sender beats from
        ("fake", "", "FAKE"),
        ("defsend", "from=1", "1"),  # obs.
        ("defsend", "", "DEF"),  # obs.
        ("defsend", "from=", "DEF"),  # obs.: an empty from is no from
    ],
)
def test_sender_precedence(user: str, query: str, sender: str) -> None:
    validator = Validator(make_config(SENDERS))
    request = parse_query(f"/s?user={user}&pass=pw&to=1&{query}".encode())
    assert validator.validate(request, IP).sender == sender


def test_global_sender_is_the_last_resort() -> None:
    assert ok("to=1", smsbox="global-sender = GLOBAL").sender == "GLOBAL"
    assert ok("to=1&from=me", smsbox="global-sender = GLOBAL").sender == "me"


def test_no_sender_at_all() -> None:
    rejection = refused(AUTH + "&to=1&text=x")  # obs.
    assert (rejection.status, rejection.body, rejection.logged) == (
        400,
        "Sender missing and no global set, rejected",
        True,
    )


@pytest.mark.parametrize("account", ["%5B", "a%5Db", "a%0Ab", "a%0D", "x" * 65])
def test_account_misformed(account: str) -> None:
    rejection = refused(f"{AUTH}&to=1&from=2&account={account}")  # obs. for [
    assert (rejection.body, rejection.logged) == (
        "Account field misformed or too long, rejected",
        True,
    )


def test_account_of_64_characters() -> None:
    assert ok("to=1&from=2&account=" + "x" * 64).account == "x" * 64


@pytest.mark.parametrize("url", ["http:/", "ftp://abc", "bad", "http:/x/y", "https:/x"])
def test_dlr_url_misformed(url: str) -> None:
    # obs.: http:/ and ftp://abc and dlrurl=bad
    assert refused(f"{AUTH}&to=1&from=2&dlr-url={url}").body == "DLR-URL field misformed, rejected"


@pytest.mark.parametrize("url", ["http://h", "HTTPS://a", "HtTp://host/x?d=%25d", "https://x/"])
def test_dlr_url_accepted(url: str) -> None:
    assert ok(f"to=1&from=2&dlr-url={url}").dlr_url.lower().startswith("http")


@pytest.mark.parametrize(
    ("name", "low", "high", "answer"),
    [
        ("dlr-mask", -1, 66, "DLR-Mask field misformed, rejected"),  # obs. 66 ok, 67 not
        ("mclass", -1, 3, "MClass field misformed, rejected"),
        ("pid", -1, 255, "PID field misformed, rejected"),
        ("rpi", -1, 2, "RPI field misformed, rejected"),
        ("alt-dcs", -1, 1, "Alt-DCS field misformed, rejected"),
        ("mwi", -1, 7, "MWI field misformed, rejected"),
        ("coding", -1, 2, "Coding field misformed, rejected"),
        ("compress", -1, 1, "Compress field misformed, rejected"),
        ("priority", 0, 3, "Priority field misformed, rejected"),
    ],
)
def test_number_ranges(name: str, low: int, high: int, answer: str) -> None:
    ok(f"to=1&from=2&{name}={low}")
    ok(f"to=1&from=2&{name}={high}")
    for bad in (low - 1, high + 1):
        if name == "priority" and bad == -1:
            continue  # -1 is "unset"
        rejection = refused(f"{AUTH}&to=1&from=2&{name}={bad}")
        assert (rejection.status, rejection.body, rejection.logged) == (400, answer, True)


@pytest.mark.parametrize(
    ("name", "answer"),
    [
        ("validity", "Validity field misformed, rejected"),
        ("deferred", "Deferred field misformed, rejected"),
    ],
)
def test_validity_and_deferred_must_be_at_least_minus_one(name: str, answer: str) -> None:
    assert getattr(ok(f"to=1&from=2&{name}=0"), name) == 0
    assert getattr(ok(f"to=1&from=2&{name}=100000"), name) == 100000
    assert refused(f"{AUTH}&to=1&from=2&{name}=-2").body == answer


def test_priority_minus_one_is_unset() -> None:
    assert ok("to=1&from=2&priority=-1").priority == UNSET


@pytest.mark.parametrize(
    ("query", "answer"),
    [
        # each pair: the first fault in Kannel's order wins (obs. for every row)
        ("udh=%01&to=abc", "UDH field misformed, rejected"),
        ("to=abc&text=x", "Number(s) has/have been denied by white- and/or black-lists."),
        ("to=1&account=%5B", "Sender missing and no global set, rejected"),
        ("to=1&from=1&account=%5B&dlr-url=bad", "Account field misformed or too long, rejected"),
        ("to=1&from=1&dlr-url=bad&dlr-mask=99", "DLR-URL field misformed, rejected"),
        ("to=1&from=1&dlr-mask=99&mclass=9", "DLR-Mask field misformed, rejected"),
        ("to=1&from=1&mclass=4&pid=256", "MClass field misformed, rejected"),
        ("to=1&from=1&pid=256&rpi=3", "PID field misformed, rejected"),
        ("to=1&from=1&rpi=3&alt-dcs=2", "RPI field misformed, rejected"),
        ("to=1&from=1&alt-dcs=2&mwi=8", "Alt-DCS field misformed, rejected"),
        ("to=1&from=1&mwi=8&coding=3", "MWI field misformed, rejected"),
        ("to=1&from=1&coding=3&compress=2", "Coding field misformed, rejected"),
        ("to=1&from=1&compress=2&validity=-2", "Compress field misformed, rejected"),
        ("to=1&from=1&validity=-2&deferred=-2", "Validity field misformed, rejected"),
        ("to=1&from=1&deferred=-2&priority=4", "Deferred field misformed, rejected"),
        ("to=1&from=1&priority=4&charset=bogus&text=x", "Priority field misformed, rejected"),
        ("to=1&from=1&charset=bogus&text=x", "Charset or body misformed, rejected"),
    ],
)
def test_checks_run_in_kannels_order(query: str, answer: str) -> None:
    assert refused(f"{AUTH}&{query}").body == answer


def test_unknown_charset_only_matters_when_text_is_converted() -> None:
    assert ok("to=1&from=1&charset=bogus&text=x&coding=1").charset == "bogus"
    assert ok("to=1&from=1&charset=bogus&coding=2").text == b""
    assert refused(f"{AUTH}&to=1&from=1&charset=bogus&text=x&coding=2").status == 400


def test_smsc_precedence() -> None:
    users = (
        "group = sendsms-user\nusername = forced\npassword = pw\nforced-smsc = F\n"
        "default-smsc = D\n\n"
        "group = sendsms-user\nusername = def\npassword = pw\ndefault-smsc = D"
    )
    validator = Validator(make_config(users))

    def smsc(user: str, query: str) -> str | None:
        request = parse_query(f"/s?user={user}&pass=pw&to=1&from=2&{query}".encode())
        return validator.validate(request, IP).smsc_id

    assert smsc("forced", "smsc=R") == "F"
    assert smsc("def", "smsc=R") == "R"
    assert smsc("def", "") == "D"
    assert smsc("def", "smsc=") == ""  # given empty: Kannel keeps the empty id
    assert ok("to=1&from=2").smsc_id is None


def test_other_fields_pass_through() -> None:
    valid = ok(
        "to=1&from=2&text=t&mclass=1&mwi=2&compress=1&alt-dcs=1&pid=64&rpi=1&validity=5"
        "&deferred=6&priority=2&dlr-mask=31&dlr-url=http://h/&account=a&binfo=b"
        "&meta-data=%3Fsmpp%3Fx%3Dy&smsc=s&charset=UTF-8"
    )
    assert (valid.mclass, valid.mwi, valid.compress, valid.alt_dcs) == (1, 2, 1, 1)
    assert (valid.pid, valid.rpi, valid.validity, valid.deferred) == (64, 1, 5, 6)
    assert (valid.priority, valid.dlr_mask, valid.dlr_url) == (2, 31, "http://h/")
    assert (valid.account, valid.binfo, valid.meta_data) == ("a", "b", "?smpp?x=y")
    assert (valid.smsc_id, valid.charset, valid.text) == ("s", "UTF-8", b"t")


def test_post_xml_multi_recipient() -> None:
    body = (
        b"<?xml version='1.0'?><message><submit><da><number>4670000031</number></da>"
        b"<da><number>4670000032</number></da><oa><number>12345</number></oa><ud>Hi</ud>"
        b"<from><user>tester</user><pass>foobar</pass></from></submit></message>"
    )
    valid = post([("Content-Type", "text/xml")], body)
    assert valid.receivers == ("4670000031", "4670000032")
    assert (valid.text, valid.coding, valid.charset) == (b"Hi", 0, "UTF-8")


# --- number lists ------------------------------------------------------------------------


def test_numhash_key_is_strtoll_of_the_last_19_characters() -> None:
    assert numhash_key("0046701") == 46701
    assert numhash_key("+46701") == 46701
    assert numhash_key("12345678901234567890123") == 5678901234567890123
    assert numhash_key("abc") == 0
    assert numhash_key("4670-1") == 4670


def test_number_list_parse_is_numhash_create() -> None:
    numbers = NumberList.parse(
        "# comment\n  4670000001\n+46 70-000 0002\n4670000003: Alice\nnot a number\n4670000004"
    )
    assert "4670000001" in numbers
    assert "46700000002" in numbers
    assert "4670000003" in numbers
    assert "4670000004" not in numbers  # no newline at the end: Kannel skips it
    assert len(numbers) == 3


def test_load_number_lists_fetches_every_url_once() -> None:
    config = make_config(
        'group = sendsms-user\nusername = a\npassword = b\nwhite-list = "http://l/w"\n'
        'black-list = "http://l/b"',
        smsbox='black-list = "http://l/b"',
    )
    fetched: list[str] = []

    def fetch(url: str) -> tuple[str, bytes]:
        fetched.append(url)
        return "text/plain", b"4670\n"

    lists = load_number_lists(config, fetch)
    assert sorted(fetched) == ["http://l/b", "http://l/w"]
    assert "4670" in lists["http://l/w"]


def test_load_number_lists_refuses_other_content_types_and_failures() -> None:
    config = make_config(smsbox='white-list = "http://l/w"')
    with pytest.raises(NumberListError, match="text/html"):
        load_number_lists(config, lambda url: ("text/html", b""))

    def broken(url: str) -> tuple[str, bytes]:
        raise OSError("connection refused")

    with pytest.raises(NumberListError, match="connection refused"):
        load_number_lists(config, broken)


def test_load_number_lists_from_a_file(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "white.txt"
    path.write_text("4670\n")
    config = make_config(smsbox=f'white-list = "{path.as_uri()}"')
    assert "4670" in load_number_lists(config)[path.as_uri()]


def test_validator_needs_an_smsbox_group(config_of: MakeConfig) -> None:
    from gateway.config import load_config_text

    config = load_config_text("group = core\nadmin-port = 1\nadmin-password = x\n")
    with pytest.raises(ValueError, match="smsbox"):
        Validator(config)
    assert config_of().smsbox is not None


def test_validate_needs_a_request_source() -> None:
    request = SendsmsRequest(parse_query(b"/s").source, username=b"tester", password=b"foobar")
    assert Validator(make_config()).authenticate(request, IP).username == "tester"
