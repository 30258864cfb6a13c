"""Kannel's escape codes: the values observed from real Kannel 1.4.5 in a DLR callback
(REFERENCE §2.8), the rules of urltrans.c for the rest, and properties over any input."""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.url_pattern import (
    UNSET,
    URL_SAFE,
    PatternFields,
    expand,
    meta_data_value,
    url_encode,
)

RECEIPT = (
    b"id:1795248276000055 sub:001 dlvrd:001 submit date:2611210805 done date:2611210805 "
    b"stat:DELIVRD err:000 text:dlr all"
)


def delivered() -> PatternFields:
    """The d=1 callback of the observed `dlr_mask31_all_escapes` case."""
    return PatternFields(
        text=RECEIPT,
        dlr_mask=1,
        sender="12345",
        receiver="4670000001",
        smsc_id="sink",
        service="tester",
        account="kannel",
        id="8dc3ea5f-0b1c-4d2e-9f00-123456789abc",
        foreign_id="1795248276000055",
        time=1795248319,
        meta_data="?orig_msg?dlr_mask=31&?smpp?dlr_err=%03%00%00&",
        dlr_url="http://127.0.0.1:8080/dlr?d=%d",
    )


def test_observed_dlr_values() -> None:
    f = delivered()
    assert expand("%d", f) == "1"
    assert unquote_to_bytes(expand("%A", f).replace("+", " ")) == RECEIPT
    assert expand("%A", f) == expand("%b", f) == expand("%a", f)
    assert expand("%k", f) == "id%3A1795248276000055"
    assert expand("%s|%S|%r", f) == (
        "sub%3A001|dlvrd:001|submit+date%3A2611210805+done+date%3A2611210805"
        "+stat%3ADELIVRD+err%3A000+text%3Adlr+all"
    )
    assert expand("%F %i %I", f) == "1795248276000055 sink 8dc3ea5f-0b1c-4d2e-9f00-123456789abc"
    assert expand("%p/%P/%q/%Q", f) == "4670000001/12345/4670000001/12345"
    assert expand("%n %o", f) == "tester kannel"
    assert expand("%t", f) == "2026-11-21+08:05:19"
    assert expand("%T", f) == "1795248319"
    assert expand("%c/%m/%M", f) == "-1/-1/-1"
    assert expand("%C", f) == "UTF-8"
    assert expand("%O", f) == "00"
    assert expand("%D", f) == (
        "%3Forig_msg%3Fdlr_mask%3D31%26%3Fsmpp%3Fdlr_err%3D%2503%2500%2500%26"
    )
    assert expand("%#orig_msg#dlr_mask#", f) == "31"
    assert expand("%#smpp#dlr_err#", f) == "%03%00%00"
    assert expand("%R", f) == "http%3A%2F%2F127.0.0.1%3A8080%2Fdlr%3Fd%3D%25d"
    assert expand("[%B][%f][%u][%v][%V]", f) == "[][][][][]"
    assert expand("%x", f) == "%x"


#: Every code in one get-url, as the real Kannel 1.4.5 smsbox sent it for two MOs from our
#: SMSC simulator (%t, %T and %I, which change per message, are checked separately).
MO_PATTERN = (
    "/mo?k=%k|s=%s|S=%S|r=%r|a=%a|b=%b|e=%e|p=%p|P=%P|q=%q|Q=%Q|i=%i|n=%n|o=%o|O=%O|c=%c"
    "|C=%C|m=%m|M=%M|d=%d|D=%D|u=%u|B=%B|f=%f|F=%F|v=%v|V=%V|R=%R|x=%x|y=%y|U=%U|pc=%%"
    "|g=%#smpp#x#|end"
)


def test_observed_mo_get_url_gsm() -> None:
    mo = PatternFields(
        text=b"Hello  w*rld foo+bar/x",
        receiver="0046701234567",  # Kannel has swapped them: %p is the phone
        sender="12345",
        smsc_id="sim",
        service="default",
        account="kannel",
        coding=0,
        meta_data="?smpp?",
        time=1795262360,
    )
    assert expand(MO_PATTERN, mo) == (
        "/mo?k=Hello|s=w*rld|S=foo+bar/x|r=|a=Hello+w*rld+foo%2Bbar%2Fx"
        "|b=Hello++w*rld+foo%2Bbar%2Fx|e=48656C6C6F2020772A726C6420666F6F2B6261722F78"
        "|p=0046701234567|P=12345|q=%2B46701234567|Q=12345|i=sim|n=default|o=kannel|O=00|c=0"
        "|C=UTF-8|m=-1|M=-1|d=-1|D=%3Fsmpp%3F|u=|B=|f=|F=|v=|V=|R=|x=%x|y=%y|U=%U|pc=%|g=|end"
    )
    assert expand("%t|%T", mo) == "2026-11-21+11:59:20|1795262360"


def test_observed_mo_get_url_ucs2_splits_words_on_octets() -> None:
    mo = PatternFields(
        text="héllo €uro ünï".encode("utf-16-be"),  # the 0x20 of € splits a word too
        receiver="46701234567",
        sender="0012345",
        smsc_id="sim",
        service="default",
        account="kannel",
        coding=2,
        meta_data="?smpp?",
    )
    got = expand(MO_PATTERN, mo).encode("utf-8", "surrogateescape")
    assert got == (
        b"/mo?k=%00h%00%E9%00l%00l%00o%00|s=%AC%00u%00r%00o%00|S=\x00\xfc\x00n\x00\xef|r="
        b"|a=%00h%00%E9%00l%00l%00o%00+%AC%00u%00r%00o%00+%00%FC%00n%00%EF"
        b"|b=%00h%00%E9%00l%00l%00o%00++%AC%00u%00r%00o%00+%00%FC%00n%00%EF"
        b"|e=006800E9006C006C006F002020AC00750072006F002000FC006E00EF"
        b"|p=46701234567|P=0012345|q=46701234567|Q=%2B12345|i=sim|n=default|o=kannel|O=08|c=2"
        b"|C=UTF-16BE|m=-1|M=-1|d=-1|D=%3Fsmpp%3F|u=|B=|f=|F=|v=|V=|R=|x=%x|y=%y|U=%U|pc=%|g="
        b"|end"
    )


def test_ack_dlr_hex_and_split_words() -> None:
    f = PatternFields(text=b"ACK/", dlr_mask=8, meta_data="?smpp_resp??orig_msg?dlr_mask=31&")
    assert expand("%e", f) == "41434B2F"
    assert expand("%A", f) == "ACK%2F"
    assert expand("%k|%s|%r", f) == "ACK%2F||"
    assert expand("%#orig_msg#dlr_mask#", f) == "31"
    assert expand("%D", f) == "%3Fsmpp_resp%3F%3Forig_msg%3Fdlr_mask%3D31%26"


def test_url_encoding_is_kannel_145() -> None:
    assert url_encode(b"a b+c/~*'()!-_.") == b"a+b%2Bc%2F~*'()!-_."
    assert url_encode(bytes([0, 0xFF, 0x25])) == b"%00%FF%25"
    assert len(URL_SAFE) == 26 * 2 + 10 + 9
    assert expand("%p", PatternFields(receiver="é")) == "%C3%A9"


def test_word_codes_share_one_cursor() -> None:
    f = PatternFields(text=b"  FOO\tBAR  a*b BAZ\n")
    assert expand("%k %k", f) == "FOO FOO"
    assert expand("%a", f) == "FOO+BAR+a*b+BAZ"
    assert expand("%s,%S,%r", f) == "BAR,a~b,BAZ"
    assert expand("%r", f) == "BAR+a*b+BAZ"  # %r starts after the keyword
    assert expand("%s%s%s%s|%r", f) == "BARa*bBAZ|"
    assert expand("%b", f) == "++FOO%09BAR++a*b+BAZ%0A"
    assert expand("%k%s%r%a%A%b%e", PatternFields()) == ""


def test_leading_00_becomes_plus() -> None:
    f = PatternFields(sender="0046123", receiver="00")
    assert expand("%Q %q %P %p", f) == "%2B46123 %2B 0046123 00"
    assert expand("%Q", f, url_encode=False) == "+46123"


def test_percent_and_unknown_codes_and_trailing_percent() -> None:
    f = PatternFields()
    assert expand("100%% %z %1 %", f) == "100% %z %1 %"
    assert expand("%", f) == "%"
    assert expand("a%%b", f) == "a%b"


def test_dcs_and_coding_settled_by_O() -> None:
    # fields_to_dcs writes the coding it settles on back into the message
    assert expand("%c %O %c", PatternFields()) == "-1 00 0"
    assert expand("%C %O %C", PatternFields(udh=b"\x05")) == "UTF-8 04 8-BIT"
    assert expand("%O", PatternFields(coding=2, mclass=1)) == "25"
    assert expand("%O", PatternFields(coding=0, alt_dcs=1)) == "241"
    assert expand("%O", PatternFields(coding=1, mclass=2, alt_dcs=1)) == "246"
    assert expand("%O", PatternFields(mwi=1, text=b"x", coding=0)) == "217"
    assert expand("%O", PatternFields(mwi=5)) == "193"
    assert expand("%O", PatternFields(mwi=0, coding=2, text=b"x")) == "232"
    assert expand("%O", PatternFields(compress=1, coding=0)) == "32"
    assert expand("%C", PatternFields(coding=2)) == "UTF-16BE"
    assert expand("%C", PatternFields(coding=7)) == ""
    assert expand("%C", PatternFields(coding=2, charset="ISO 8859-1")) == "ISO 8859-1"


def test_time_codes() -> None:
    assert expand("%t|%T", PatternFields()) == "1969-12-31+23:59:59|"
    assert expand("%t", PatternFields(time=0)) == "1970-01-01+00:00:00"
    assert expand("%t", PatternFields(time=951782400.9)) == "2000-02-29+00:00:00"
    assert expand("%t", PatternFields(time=float("nan"))) == "1969-12-31+23:59:59"
    assert expand("%t", PatternFields(time=253402300800)) == "10000-01-01+00:00:00"


def test_validity_and_deferred_in_minutes_left() -> None:
    f = PatternFields(validity=1000 + 600, deferred=1000 - 90)
    assert expand("%v %V", f, now=1000) == "10 -1"  # C truncates towards zero
    assert expand("%v %V", PatternFields(), now=1000) == " "


def test_meta_data_codes() -> None:
    meta = "?smpp?a=1&b=x+y%21&?SMPP?a=2&?other?a=%zz&c=%4"
    f = PatternFields(meta_data=meta)
    assert expand("%#smpp#a#", f) == "1"  # the first group that matches wins
    assert expand("%#SmPp#b#", f) == "x+y!"  # group case-insensitive, value re-encoded
    assert expand("%#smpp#A#", f) == ""  # keys are exact
    assert expand("%#other#a#", f) == "%25zz"  # garbage kept by Kannel's decoder
    assert meta_data_value(meta, "other", "c") == b""  # a dangling % ends the value
    assert expand("%#other#a#", f, url_encode=False) == "%zz"
    assert expand("[%#nogroup#a#]", f) == "[]"
    assert expand("[%#smpp#a#]", PatternFields()) == "[]"
    assert meta_data_value("?a?k=v=w&", "a", "k") is None  # rejected as a whole
    assert meta_data_value("junk?g?k=v", "g", "k") == b"v"
    assert meta_data_value("?g?&&k=v&", "g", "k") == b"v"
    assert meta_data_value("?g??h?k=v", "h", "k") == b"v"


def test_meta_data_pattern_quirks() -> None:
    f = PatternFields(meta_data="?g?k=v&")
    assert expand("a%#b", f) == "ab"  # `%#` with no `#` after it: dropped
    assert expand("<%#g#k#>", f) == "<v>"
    assert expand("<%#g#k123456", f) == "<3456"  # Kannel skips `%#g#` and three octets
    assert expand("<%#g#k", f) == "<"  # Kannel loops for ever here; we stop


def test_raw_mode_and_non_utf8() -> None:
    f = PatternFields(text=b"hi there \xff", meta_data="?g?k=a%20b&")
    assert expand("%a|%#g#k#", f, url_encode=False) == "hi there \udcff|a b"
    assert expand("%S", PatternFields(text=b"x \xfe*")).encode("utf-8", "surrogateescape") == (
        b"\xfe~"
    )
    assert expand("é%pé", PatternFields(receiver="1")) == "é1é"


field_values = st.builds(
    PatternFields,
    text=st.binary(max_size=40),
    udh=st.binary(max_size=8),
    sender=st.text(max_size=12),
    receiver=st.text(max_size=12),
    smsc_id=st.text(max_size=8),
    smsc_number=st.text(max_size=8),
    service=st.text(max_size=8),
    account=st.text(max_size=8),
    id=st.text(max_size=8),
    foreign_id=st.text(max_size=8),
    time=st.one_of(st.integers(-(2**40), 2**40), st.floats()),
    coding=st.integers(-3, 5) | st.just(UNSET),
    mclass=st.integers(-3, 5),
    mwi=st.integers(-3, 9),
    compress=st.integers(-1, 2),
    alt_dcs=st.integers(-1, 2),
    charset=st.text(max_size=8),
    binfo=st.text(max_size=8),
    validity=st.integers(-(2**40), 2**40),
    deferred=st.integers(-(2**40), 2**40),
    dlr_mask=st.integers(-1, 127),
    dlr_url=st.text(max_size=20),
    meta_data=st.text(alphabet="?&=%#gk0+ab\x00", max_size=30),
)
patterns = st.text(alphabet=st.sampled_from(list("%#?&=abcdefgkstAPQ SrR/éx\x00")), max_size=40)


@settings(max_examples=400, deadline=None)
@given(pattern=patterns | st.text(max_size=40), fields=field_values, raw=st.booleans())
def test_never_raises_and_always_a_string(pattern: str, fields: PatternFields, raw: bool) -> None:
    assert isinstance(expand(pattern, fields, url_encode=not raw, now=0), str)


@settings(max_examples=200, deadline=None)
@given(pattern=st.text().filter(lambda p: "%" not in p), fields=field_values)
def test_text_without_percent_is_unchanged(pattern: str, fields: PatternFields) -> None:
    assert expand(pattern, fields) == pattern


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=64))
def test_encoded_values_decode_back(data: bytes) -> None:
    encoded = url_encode(data)
    assert set(encoded) <= URL_SAFE | set(b"%+") and b" " not in encoded
    assert unquote_to_bytes(encoded.replace(b"+", b" ")) == data
