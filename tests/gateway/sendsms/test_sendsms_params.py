"""Reading a sendsms request the way Kannel 1.4.5's smsbox reads it (gateway.sendsms.params).

Every case marked obs. was checked against the running Kannel 1.4.5 binaries.
"""

from __future__ import annotations

import pytest

from gateway.message import UNSET
from gateway.sendsms.params import (
    INT_MIN,
    Source,
    content_type,
    headers_from_pairs,
    hex_to_binary,
    parse_post,
    parse_query,
    query_variables,
    request_path,
    scanf_int,
    url_decode,
    xpath_int,
)

# --- gwlib primitives --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "decoded", "clean"),
    [
        (b"Hello+world", b"Hello world", True),
        (b"%48%69", b"Hi", True),
        (b"%c3%A9", b"\xc3\xa9", True),
        (b"100%zz", b"100%zz", False),  # bad escape kept as typed
        (b"50%", b"50", False),  # a % with nothing after ends the value
        (b"50%4", b"50", False),
        (b"a%00b", b"a\x00b", True),  # an encoded NUL is an octet like any other
        (b"a\x00b", b"a", True),  # a raw NUL ends the C string
        (b"", b"", True),
    ],
)
def test_url_decode_is_gwlib_octstr_url_decode(raw: bytes, decoded: bytes, clean: bool) -> None:
    assert url_decode(raw) == (decoded, clean)


def test_hex_to_binary_needs_hex_digits_only_and_drops_an_odd_last_digit() -> None:
    assert hex_to_binary(b"0605040B8423f0") == bytes.fromhex("0605040b8423f0")
    assert hex_to_binary(b"ABC") == b"\xab"
    assert hex_to_binary(b"") == b""
    assert hex_to_binary(b"0g") is None
    assert hex_to_binary(b"%06") is None


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (b"2", 2),
        (b" 2", 2),
        (b"\t-1", -1),
        (b"+1", 1),
        (b"2abc", 2),  # digits stop at the first non-digit
        (b"abc", None),  # nothing converts: the field stays unset
        (b"", None),
        (b"0x2", 0),
        (b"4294967298", 2),  # obs.: glibc keeps the low 32 bits → coding 2
        (b"99999999999999999999", -1),  # obs.: saturates to LONG_MAX, low 32 bits = -1
        (b"-99999999999999999999", 0),  # obs.: LONG_MIN, low 32 bits = 0
        (b"2147483648", -(2**31)),
    ],
)
def test_scanf_int_is_glibc_sscanf_percent_d(raw: bytes, value: int | None) -> None:
    assert scanf_int(raw) == value


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("2", 2),
        (" 2 ", 2),  # obs.
        ("1.9", 1),  # obs.: truncated toward zero
        ("-0.5", 0),  # obs.
        ("1e0", 1),  # obs.: libxml2 reads exponents
        (".5e1", 5),  # obs.: 5, then "Coding field misformed"
        ("+1", INT_MIN),  # obs.: not an XPath number
        ("2abc", INT_MIN),  # obs.
        ("", INT_MIN),  # obs.
        ("0x1", INT_MIN),  # obs.
        ("1e10", INT_MIN),  # out of int range
        ("-1", -1),
    ],
)
def test_xpath_int_is_libxml2_number_cast_to_c_int(raw: str, value: int) -> None:
    assert xpath_int(raw) == value


# --- GET ---------------------------------------------------------------------------------


def test_query_variables_split_like_parse_cgivars() -> None:
    assert query_variables(b"/cgi-bin/sendsms") == []
    assert query_variables(b"/p?") == []
    assert query_variables(b"/p?a=1&b&c=x=y") == [(b"a", b"1"), (b"b", b""), (b"c", b"x=y")]
    assert query_variables(b"/p?a=1&") == [(b"a", b"1")]  # a trailing & adds nothing
    assert query_variables(b"/p?a=1&&b=2") == [(b"a", b"1"), (b"", b""), (b"b", b"2")]
    assert query_variables(b"/p?%74o=1+2") == [(b"to", b"1 2")]  # names are decoded too


def test_request_path_drops_the_query() -> None:
    assert request_path(b"/cgi-bin/sendsms?to=1") == b"/cgi-bin/sendsms"
    assert request_path(b"/cgi-bin/sendsms") == b"/cgi-bin/sendsms"


def test_get_reads_every_parameter() -> None:
    request = parse_query(
        b"/cgi-bin/sendsms?username=u&password=p&from=12345&to=4670+4671&text=Hello+world"
        b"&charset=ISO-8859-1&udh=%06%05%04%0B%84%23%F0&smsc=sim&mclass=1&mwi=2&coding=1"
        b"&compress=0&validity=10&deferred=5&dlr-mask=31&dlr-url=http%3A%2F%2Fh%2F%3Fd%3D%25d"
        b"&pid=64&alt-dcs=1&rpi=2&account=acc&binfo=bi&priority=3"
        b"&meta-data=%3Fsmpp%3Fa%3Db"
    )
    assert request.source is Source.QUERY
    assert (request.username, request.password) == (b"u", b"p")
    assert (request.sender, request.to, request.text) == (b"12345", b"4670 4671", b"Hello world")
    assert request.charset == b"ISO-8859-1"
    assert request.udh == bytes.fromhex("0605040b8423f0")
    assert request.smsc == b"sim"
    assert (request.mclass, request.mwi, request.coding, request.compress) == (1, 2, 1, 0)
    assert (request.validity, request.deferred) == (10, 5)
    assert (request.dlr_mask, request.dlr_url) == (31, b"http://h/?d=%d")
    assert (request.pid, request.alt_dcs, request.rpi, request.priority) == (64, 1, 2, 3)
    assert (request.account, request.binfo) == (b"acc", b"bi")
    assert request.meta_data == b"?smpp?a=b"
    assert request.receivers is None


def test_get_aliases_user_pass_dlrurl_dlrmask() -> None:
    request = parse_query(b"/s?user=u&pass=p&dlrurl=http://x/&dlrmask=3")
    assert (request.username, request.password) == (b"u", b"p")
    assert (request.dlr_url, request.dlr_mask) == (b"http://x/", 3)


def test_get_the_long_spelling_wins_over_its_alias() -> None:
    # obs.: dlr-mask=99&dlrmask=1 is rejected for 99
    request = parse_query(b"/s?dlrmask=1&dlr-mask=99&pass=b&password=a&user=y&username=x")
    assert (request.dlr_mask, request.password, request.username) == (99, b"a", b"x")


def test_get_first_occurrence_wins() -> None:
    # obs.: to=…50&to=…51&from=1&from=2&text=a&text=b sent 'a' to …50 from 1
    request = parse_query(b"/s?to=50&to=51&from=1&from=2&text=a&text=b")
    assert (request.to, request.sender, request.text) == (b"50", b"1", b"a")


def test_get_absent_and_empty_differ() -> None:
    absent = parse_query(b"/s?username=u")
    empty = parse_query(b"/s?to=&text=&from=")
    assert (absent.to, absent.text, absent.sender) == (None, None, None)
    assert (empty.to, empty.text, empty.sender) == (b"", b"", b"")


def test_get_numbers_that_do_not_parse_stay_unset() -> None:
    request = parse_query(b"/s?coding=abc&mclass=&dlr-mask=x&priority=%20")
    assert (request.coding, request.mclass, request.dlr_mask, request.priority) == (UNSET,) * 4


def test_get_parameter_names_are_case_sensitive() -> None:
    request = parse_query(b"/s?To=1&TEXT=x&Username=u")
    assert (request.to, request.text, request.username) == (None, None, None)
    assert request.extra == {"To": b"1", "TEXT": b"x", "Username": b"u"}


def test_get_text_keeps_octets() -> None:
    assert parse_query(b"/s?text=%E9x%C3%A9").text == b"\xe9x\xc3\xa9"


# --- POST: content type ------------------------------------------------------------------


def _headers(*pairs: tuple[str, str]) -> dict[bytes, list[bytes]]:
    return headers_from_pairs((n.encode(), v.encode("latin-1")) for n, v in pairs)


@pytest.mark.parametrize(
    ("header", "kind", "charset"),
    [
        (None, b"application/octet-stream", b""),  # obs.: no header = octet-stream
        ("text/plain", b"text/plain", b"ISO-8859-1"),  # RFC 2616 default for text/*
        ("text/plain; charset=UTF-8", b"text/plain", b"UTF-8"),
        ('text/plain; charset="utf-8"', b"text/plain", b"utf-8"),
        ("text/plain;format=flowed", b"text/plain", b"flowed"),  # gwlib takes any first =
        ("TEXT/PLAIN", b"TEXT/PLAIN", b""),  # the default only for lower-case `text`
        ("application/octet-stream", b"application/octet-stream", b""),
        ("  text/xml ; charset=ISO-8859-1 ", b"text/xml", b"ISO-8859-1"),
    ],
)
def test_content_type_is_gwlib_http_header_get_content_type(
    header: str | None, kind: bytes, charset: bytes
) -> None:
    headers = _headers() if header is None else _headers(("Content-Type", header))
    assert content_type(headers) == (kind, charset)


def test_the_first_content_type_header_counts() -> None:
    headers = _headers(("Content-Type", "text/xml"), ("content-type", "text/plain"))
    assert content_type(headers)[0] == b"text/xml"


def test_post_plain_reads_x_kannel_headers_and_the_body() -> None:
    headers = _headers(
        ("Content-Type", "text/plain; charset=UTF-8"),
        ("X-Kannel-Username", " tester "),
        ("x-kannel-password", "foobar"),
        ("X-KANNEL-FROM", "12345"),
        ("X-Kannel-To", " 4670 4671 "),
        ("X-Kannel-SMSC", "sim"),
        ("X-Kannel-MClass", "1"),
        ("X-Kannel-MWI", "2"),
        ("X-Kannel-Compress", "0"),
        ("X-Kannel-Coding", "2"),
        ("X-Kannel-Validity", "10"),
        ("X-Kannel-Deferred", "5"),
        ("X-Kannel-DLR-Mask", "31"),
        ("X-Kannel-DLR-Url", "http://h/"),
        ("X-Kannel-Account", "acc"),
        ("X-Kannel-PID", "64"),
        ("X-Kannel-Alt-DCS", "1"),
        ("X-Kannel-RPI", "2"),
        ("X-Kannel-BInfo", "bi"),
        ("X-Kannel-Priority", "3"),
        ("X-Kannel-Meta-Data", "?smpp?a=b"),
    )
    request = parse_post(headers, b"  body \n")
    assert request.source is Source.HEADERS
    assert request.content_type == "text/plain"
    assert (request.username, request.password) == (b"tester", b"foobar")
    assert (request.sender, request.to, request.smsc) == (b"12345", b"4670 4671", b"sim")
    assert request.text == b"  body \n"  # obs.: the body is sent as is
    assert request.charset == b"UTF-8"
    assert (request.mclass, request.mwi, request.compress, request.coding) == (1, 2, 0, 2)
    assert (request.validity, request.deferred, request.dlr_mask) == (10, 5, 31)
    assert (request.dlr_url, request.account, request.binfo) == (b"http://h/", b"acc", b"bi")
    assert (request.pid, request.alt_dcs, request.rpi, request.priority) == (64, 1, 2, 3)
    assert request.meta_data == b"?smpp?a=b"


def test_post_ignores_the_query_string_and_form_fields() -> None:
    request = parse_post(_headers(("Content-Type", "text/plain")), b"username=u&to=1")
    assert (request.username, request.to) == (None, None)
    assert request.text == b"username=u&to=1"


def test_post_the_last_x_kannel_header_wins() -> None:
    request = parse_post(
        _headers(("Content-Type", "text/plain"), ("X-Kannel-To", "1"), ("X-Kannel-To", "2")),
        b"",
    )
    assert request.to == b"2"


@pytest.mark.parametrize(
    ("value", "udh"),
    [
        ("0605040B8423F0", bytes.fromhex("0605040b8423f0")),  # obs.
        ("%06%05%04%0B%84%23%F0", bytes.fromhex("0605040b8423f0")),  # obs.
        ("%zz", None),  # neither hex nor clean URL encoding: dropped (src)
    ],
)
def test_post_x_kannel_udh_is_hex_else_url_encoded(value: str, udh: bytes | None) -> None:
    headers = _headers(("Content-Type", "text/plain"), ("X-Kannel-UDH", value))
    assert parse_post(headers, b"").udh == udh


def test_post_octet_stream_and_no_content_type_read_headers() -> None:
    for headers in (_headers(("Content-Type", "application/octet-stream")), _headers()):
        request = parse_post({**headers, b"X-Kannel-To": [b"1"]}, b"\xc3\xa9")
        assert request.source is Source.HEADERS
        assert request.content_type == "application/octet-stream"
        assert (request.to, request.text, request.charset) == (b"1", b"\xc3\xa9", b"")


@pytest.mark.parametrize("kind", ["text/html", "text/vnd.wap.wml", "TEXT/HTML"])
def test_post_html_and_wml_are_read_then_refused_later(kind: str) -> None:
    request = parse_post(_headers(("Content-Type", kind), ("X-Kannel-Username", "u")), b"<p>")
    assert request.source is Source.UNSUPPORTED
    assert request.username == b"u"


@pytest.mark.parametrize(
    "kind", ["application/x-www-form-urlencoded", "application/json", "multipart/form-data"]
)
def test_post_other_types_are_invalid(kind: str) -> None:
    request = parse_post(_headers(("Content-Type", kind), ("X-Kannel-Username", "u")), b"x")
    assert request.source is Source.INVALID
    assert request.username is None


# --- POST: XML ---------------------------------------------------------------------------

XML_AUTH = "<from><username>tester</username><password>foobar</password></from>"


def _xml(submit: str, declaration: str = '<?xml version="1.0"?>') -> bytes:
    return f"{declaration}<message><submit>{submit}</submit></message>".encode()


def _post_xml(body: bytes, kind: str = "text/xml") -> object:
    return parse_post(_headers(("Content-Type", kind)), body)


def test_xml_reads_every_element() -> None:
    body = _xml(
        "<da><number>4670000031</number></da><da><number> 4670000032 </number></da>"
        "<oa><number>12345</number></oa><ud>Hello+XML%21</ud><udh>0605040B8423F0</udh>"
        "<smsc>sim</smsc><pid>64</pid><rpi>1</rpi>"
        "<dcs><mclass>1</mclass><mwi>2</mwi><coding>2</coding><compress>0</compress>"
        "<alt-dcs>1</alt-dcs></dcs>"
        "<statusrequest><dlr-mask>3</dlr-mask><dlr-url>http://h/</dlr-url></statusrequest>"
        "<vp><delay>10</delay></vp><timing><delay>5</delay></timing><priority>2</priority>"
        "<meta-data>?smpp?a=b</meta-data>"
        "<from><user>tester</user><pass>foobar</pass><account>acc</account>"
        "<binfo>bi</binfo></from>"
    )
    request = _post_xml(body)
    assert request.source is Source.XML
    assert request.content_type == "text/plain"  # Kannel rewrites the type after parsing
    assert request.receivers == (b"4670000031", b"4670000032")
    assert request.to is None
    assert (request.sender, request.text, request.charset) == (b"12345", b"Hello XML!", b"UTF-8")
    assert request.udh == bytes.fromhex("0605040b8423f0")
    assert (request.smsc, request.pid, request.rpi) == (b"sim", 64, 1)
    assert (request.mclass, request.mwi, request.coding) == (1, 2, 2)
    assert (request.compress, request.alt_dcs) == (0, 1)
    assert (request.dlr_mask, request.dlr_url) == (3, b"http://h/")
    assert (request.validity, request.deferred, request.priority) == (10, 5, 2)
    assert request.meta_data == b"?smpp?a=b"
    assert (request.username, request.password) == (b"tester", b"foobar")
    assert (request.account, request.binfo) == (b"acc", b"bi")


def test_xml_username_beats_user_and_password_beats_pass() -> None:
    body = _xml(
        "<from><username>a</username><user>b</user><pass>c</pass><password>d</password></from>"
    )
    request = _post_xml(body)
    assert (request.username, request.password) == (b"a", b"d")


def test_xml_credentials_only_count_inside_from() -> None:
    request = _post_xml(_xml("<user>tester</user><pass>foobar</pass>"))
    assert (request.username, request.password) == (None, None)


def test_xml_ud_is_url_decoded_not_hex_decoded() -> None:
    # obs.: <ud>CAFE</ud> went out as 'CAFE'; <ud>%C3%A9</ud> as é
    assert _post_xml(_xml("<ud>CAFE</ud>")).text == b"CAFE"
    assert _post_xml(_xml("<ud>%C3%A9</ud>")).text == b"\xc3\xa9"
    assert _post_xml(_xml("")).text == b""


def test_xml_to_is_the_smsc_when_there_is_no_smsc_element() -> None:
    # obs.: <to>sim</to> reached an smsc group with allowed-smsc-id = sim
    assert _post_xml(_xml("<to>sim</to>")).smsc == b"sim"
    assert _post_xml(_xml("<smsc>a</smsc><to>b</to>")).smsc == b"a"


def test_xml_charset_is_the_declared_encoding() -> None:
    body = _xml("<ud>\xe9</ud>", '<?xml version="1.0" encoding="ISO-8859-1"?>').replace(
        b"\xc3\xa9", b"\xe9"
    )
    request = _post_xml(body)
    assert request.charset == b"ISO-8859-1"
    # libxml2 hands the text over as UTF-8 whatever the document's encoding.
    assert request.text == b"\xc3\xa9"


@pytest.mark.parametrize(
    "da",
    ["", "<da></da>", "<da><number></number></da>"],
)
def test_xml_without_receiver_text_has_no_receivers(da: str) -> None:
    assert _post_xml(_xml(da)).receivers is None


def test_xml_number_elements_go_through_xpath_numbers() -> None:
    request = _post_xml(_xml("<dcs><coding>abc</coding><mclass>1.7</mclass></dcs><pid></pid>"))
    assert (request.coding, request.mclass, request.pid) == (INT_MIN, 1, INT_MIN)


def test_xml_that_does_not_parse_has_no_credentials() -> None:
    request = _post_xml(b"<message><submit><from><user>tester</user></from>")
    assert request.source is Source.XML
    assert request.username is None
    assert request.content_type == "text/xml"


def test_xml_with_another_root_finds_nothing() -> None:
    request = _post_xml(b"<other><submit><oa><number>1</number></oa></submit></other>")
    assert (request.sender, request.username, request.text) == (None, None, b"")


def test_xml_entity_expansion_is_refused() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY a "aaaaaaaaaa">'
        + b"".join(
            f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'.encode() for i in range(8)
        )
        + b"]><message><submit><ud>&i;</ud></submit></message>"
    )
    request = _post_xml(bomb)
    assert request.text in (None, b"")


def test_get_the_preferred_spelling_wins_even_when_it_does_not_parse() -> None:
    # Kannel reads dlr-mask first; only when it is absent does it look at dlrmask
    assert parse_query(b"/s?dlrmask=3&dlr-mask=abc").dlr_mask == UNSET
    assert parse_query(b"/s?dlr-mask=abc&dlrmask=3").dlr_mask == UNSET
    assert parse_query(b"/s?dlrmask=3").dlr_mask == 3
    assert parse_query(b"/s?user=a&username=b").username == b"b"
