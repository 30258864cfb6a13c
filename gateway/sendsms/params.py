"""A sendsms HTTP request → one `SendsmsRequest` of raw values, read exactly as smsbox reads it.

Sans-IO: the functions here take the method, the request target, the headers and the body as
octets and return what Kannel 1.4.5's smsbox would have collected before validating anything
(`smsbox_req_sendsms`, `smsbox_sendsms_post`, `get_x_kannel_from_headers`,
`get_x_kannel_from_xml`). Every value stays octets, because Kannel handles octets: the
charset conversion happens later, in the accept path, where Kannel does it.

Kannel's reading rules kept here, each one visible to clients (obs. = checked on the running
Kannel 1.4.5 binaries; src = read in Kannel's source):

* GET and HEAD read the query string only; POST reads the body and the X-Kannel-* headers
  only, never the query string (obs.: a POST with credentials in the query is a 403).
* Query parameters are split at `&`, name and value at the first `=`, both URL-decoded the
  gwlib way (`octstr_url_decode`: `+` is a space, a bad escape like `%zz` is kept as typed,
  a `%` with fewer than two characters after it ends the value). The first occurrence of a
  name wins (obs.: `to=a&to=b` sends to a). Names are case-sensitive.
* Aliases: `username`|`user`, `password`|`pass`, `dlr-url`|`dlrurl`, `dlr-mask`|`dlrmask`;
  the first spelling wins when both are given (obs.).
* Numbers are read with C's `sscanf("%d")`: leading white space and a sign are allowed, the
  digits stop at the first non-digit (`2abc` is 2), no digits at all leaves the field unset
  (`coding=abc` is silently ignored), and the value is glibc's: saturated to 64 bits, then
  cut to the low 32 (obs.: `coding=4294967298` is 2, `coding=99999999999999999999` is
  unset, i.e. -1).
* POST content types (compared case-insensitively): `text/plain` and
  `application/octet-stream` take X-Kannel headers; `text/xml` takes the XML document;
  `text/html` and `text/vnd.wap.wml` are accepted by the parser but always end in
  `415 Unsupported content-type, rejected` after the credential and receiver checks (obs.:
  Kannel strips the HTML and then refuses the type, so the stripping is not reproduced); any
  other type is `400 Invalid content-type` (obs.: form-urlencoded, JSON). No Content-Type
  header at all is `application/octet-stream` (gwlib's default; obs.).
* The charset of a POST comes from the first Content-Type header: what follows the first
  `=` after the first `;` (so `text/plain; format=flowed` reads as charset `flowed`, as in
  gwlib), quotes removed; a type starting with lower-case `text` and no charset gets
  `ISO-8859-1` (RFC 2616 3.7.1, gwlib; obs.: `é` posted as text/plain with coding 2 went
  out as `00C3 00A9`).
* X-Kannel-* header names are case-insensitive; the last occurrence of a header wins; values
  are stripped of white space. X-Kannel-UDH is hex, else URL-encoded; when it is neither the
  UDH is dropped (src).
* XML (`/message/submit/...`): credentials only inside `<from>` (`username` beats `user`,
  `password` beats `pass`), `<oa><number>` the sender, every text node of
  `<da><number>` a receiver (stripped), `<ud>` the text (stripped, then URL-decoded — not
  hex-decoded in 1.4.5, obs.), `<udh>` hex else URL-decoded, `<smsc>` the smsc id, else
  the guide's `<to>` (obs.: `<to>sim</to>` routed to sim), numbers as XPath numbers cast
  to a C int (`1.9` is 1, `1e0` is 1, `+1`, `2abc` and an empty element are NaN, which the
  cast turns into INT_MIN, so they fail validation; obs.), and the charset is the XML
  declaration's encoding, else UTF-8. A document that does not parse leaves no credentials,
  hence 403.
"""

from __future__ import annotations

import enum
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import unquote_to_bytes

from gateway.message import UNSET

#: What a malformed XML number becomes: a NaN or huge double cast to a C int on x86-64.
INT_MIN: Final = -(2**31)

_HEX_DIGITS: Final = frozenset(b"0123456789abcdefABCDEF")
#: C `isspace` in the "C" locale: what octstr_strip_blanks and octstr_split_words skip.
C_SPACE: Final = b" \t\n\v\f\r"


class Source(enum.Enum):
    """Where the values of a request came from; decides the error texts and the coding
    default, as Kannel's two entry points do."""

    #: GET or HEAD: the query string (`smsbox_req_sendsms`).
    QUERY = "query"
    #: POST text/plain or application/octet-stream: X-Kannel-* headers and the body.
    HEADERS = "headers"
    #: POST text/xml: the XML document.
    XML = "xml"
    #: POST text/html or text/vnd.wap.wml: X-Kannel-* headers, then a 415.
    UNSUPPORTED = "unsupported"
    #: POST of any other content type: 400 `Invalid content-type` before anything else.
    INVALID = "invalid"


@dataclass(slots=True)
class SendsmsRequest:
    """One sendsms request's raw values, before validation.

    Octet fields are None when the request did not give them at all and `b""` when it gave
    them empty: Kannel tells the two apart (`to=` is "Empty receiver number", no `to` is
    "Missing receiver number"). Number fields are -1 (`UNSET`) when not given or when
    `sscanf` found no number.
    """

    source: Source
    #: The POST content type as Kannel ends up seeing it (XML becomes text/plain), lower-case.
    content_type: str = ""
    username: bytes | None = None
    password: bytes | None = None
    sender: bytes | None = None  # `from`
    to: bytes | None = None  # `to` / X-Kannel-To: space-separated receivers
    receivers: tuple[bytes, ...] | None = None  # XML: one per <da><number> text node
    text: bytes | None = None
    charset: bytes | None = None
    udh: bytes | None = None
    smsc: bytes | None = None
    dlr_url: bytes | None = None
    account: bytes | None = None
    binfo: bytes | None = None
    meta_data: bytes | None = None
    mclass: int = UNSET
    mwi: int = UNSET
    coding: int = UNSET
    compress: int = UNSET
    validity: int = UNSET
    deferred: int = UNSET
    dlr_mask: int = UNSET
    pid: int = UNSET
    alt_dcs: int = UNSET
    rpi: int = UNSET
    priority: int = UNSET
    #: Query parameters / headers that were present but are not Kannel's (for debugging).
    extra: dict[str, bytes] = field(default_factory=dict)


# --- gwlib primitives -------------------------------------------------------------------


#: A value whose every `%` starts a valid escape and that holds no NUL: for these
#: `unquote_to_bytes` gives exactly what gwlib's loop gives.
_CLEAN_ESCAPES: Final = re.compile(rb"(?:[^%\x00]|%[0-9A-Fa-f]{2})*")


def url_decode(value: bytes) -> tuple[bytes, bool]:
    """gwlib's `octstr_url_decode`: (decoded octets, whether it was clean).

    `+` is a space; `%XY` is an octet; a `%` not followed by two hex digits is copied with
    the two characters after it and marks the result unclean; a `%` with fewer than two
    characters left ends the value there (unclean); a NUL octet ends it too (C string).
    """
    if b"%" not in value:
        if b"\0" not in value:  # the usual case
            return value.replace(b"+", b" "), True
    elif _CLEAN_ESCAPES.fullmatch(value):
        return unquote_to_bytes(value.replace(b"+", b" ")), True
    out = bytearray()
    clean = True
    i = 0
    length = len(value)
    while i < length:
        octet = value[i]
        if octet == 0:
            break
        if octet == 0x25:  # %
            if i + 2 >= length or value[i + 1] == 0 or value[i + 2] == 0:
                clean = False
                break
            high, low = value[i + 1], value[i + 2]
            if high in _HEX_DIGITS and low in _HEX_DIGITS:
                out.append(int(value[i + 1 : i + 3], 16))
            else:
                out += value[i : i + 3]
                clean = False
            i += 3
        elif octet == 0x2B:  # +
            out.append(0x20)
            i += 1
        else:
            out.append(octet)
            i += 1
    return bytes(out), clean


def hex_to_binary(value: bytes) -> bytes | None:
    """gwlib's `octstr_hex_to_binary`: None unless every octet is a hex digit; an odd last
    digit is dropped (Kannel halves the length)."""
    if any(octet not in _HEX_DIGITS for octet in value):
        return None
    return bytes.fromhex(value[: len(value) // 2 * 2].decode("ascii"))


def strip_blanks(value: bytes) -> bytes:
    """gwlib's `octstr_strip_blanks`: C white space off both ends."""
    return value.strip(C_SPACE)


_SCANF_INT: Final = re.compile(rb"[ \t\n\v\f\r]*([+-]?)([0-9]+)")
_INT64_MAX: Final = 2**63 - 1


def scanf_int(value: bytes | None) -> int | None:
    """`sscanf(value, "%d", &n)` as glibc does it: the int, or None when nothing converts.

    glibc reads the number with strtol (saturating at the 64-bit limits) and stores the low
    32 bits into the int.
    """
    if value is None:
        return None
    match = _SCANF_INT.match(value)
    if match is None:
        return None
    number = int(match.group(2))
    if match.group(1) == b"-":
        number = max(-number, -_INT64_MAX - 1)
    else:
        number = min(number, _INT64_MAX)
    number &= 0xFFFFFFFF
    return number - 2**32 if number >= 2**31 else number


_XPATH_NUMBER: Final = re.compile(
    r"[ \t\n\r]*(-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)[ \t\n\r]*"
)


def xpath_int(value: str) -> int:
    """libxml2's `xmlXPathCastToNumber` of a string, then C's cast of that double to int.

    An XPath number is `-`? digits with an optional fraction and exponent between blanks;
    anything else is NaN. The cast truncates toward zero; NaN and values outside the int
    range give INT_MIN (what cvttsd2si yields), which every range check then refuses.
    """
    match = _XPATH_NUMBER.fullmatch(value)
    if match is None:
        return INT_MIN
    try:
        number = float(match.group(1))
    except (OverflowError, ValueError):  # pragma: no cover - float() accepts the grammar
        return INT_MIN
    if number != number or not -(2**31) <= number < 2**31:
        return INT_MIN
    return int(number)


# --- GET / HEAD: the query string -------------------------------------------------------


def query_variables(target: bytes) -> list[tuple[bytes, bytes]]:
    """gwlib's `parse_cgivars`: the (name, value) pairs after the first `?`, in order."""
    _path, _sep, rest = target.partition(b"?")
    pairs: list[tuple[bytes, bytes]] = []
    # Kannel's loop: while text is left, cut at the next `&` and drop that `&` too, so a
    # trailing `&` makes no variable but `a&&b` makes an empty one between.
    while rest:
        argument, _amp, rest = rest.partition(b"&")
        name, _eq, value = argument.partition(b"=")
        pairs.append((url_decode(name)[0], url_decode(value)[0]))
    return pairs


def request_path(target: bytes) -> bytes:
    """The request target without its query string (what smsbox compares with
    sendsms-url, case-sensitively)."""
    return target.partition(b"?")[0]


#: Query names read as octets, with their aliases in Kannel's order of preference.
_QUERY_OCTETS: Final[Mapping[str, tuple[bytes, ...]]] = {
    "username": (b"username", b"user"),
    "password": (b"password", b"pass"),
    "udh": (b"udh",),
    "text": (b"text",),
    "charset": (b"charset",),
    "smsc": (b"smsc",),
    "sender": (b"from",),
    "to": (b"to",),
    "account": (b"account",),
    "binfo": (b"binfo",),
    "dlr_url": (b"dlr-url", b"dlrurl"),
    "meta_data": (b"meta-data",),
}

#: Query names read with sscanf("%d").
_QUERY_NUMBERS: Final[Mapping[str, tuple[bytes, ...]]] = {
    "dlr_mask": (b"dlr-mask", b"dlrmask"),
    "mclass": (b"mclass",),
    "pid": (b"pid",),
    "rpi": (b"rpi",),
    "alt_dcs": (b"alt-dcs",),
    "mwi": (b"mwi",),
    "coding": (b"coding",),
    "compress": (b"compress",),
    "validity": (b"validity",),
    "deferred": (b"deferred",),
    "priority": (b"priority",),
}

#: Query name → (attribute, preference among its aliases, read with sscanf).
_QUERY_FIELDS: Final[Mapping[bytes, tuple[str, int, bool]]] = {
    name: (attribute, rank, numeric)
    for table, numeric in ((_QUERY_OCTETS, False), (_QUERY_NUMBERS, True))
    for attribute, names in table.items()
    for rank, name in enumerate(names)
}


def parse_query(target: bytes) -> SendsmsRequest:
    """A GET/HEAD request target → its `SendsmsRequest` (`smsbox_req_sendsms`).

    One pass over the variables: the first occurrence of a name counts, and a preferred
    spelling (`dlr-mask`) beats its alias (`dlrmask`) wherever it stands, even when its
    value does not parse as a number.
    """
    request = SendsmsRequest(Source.QUERY)
    seen: set[bytes] = set()
    ranks: dict[str, int] = {}
    for name, value in query_variables(target):
        if name in seen:
            continue
        seen.add(name)
        field = _QUERY_FIELDS.get(name)
        if field is None:
            if len(request.extra) < 16:
                request.extra[name.decode("latin-1")] = value
            continue
        attribute, rank, numeric = field
        if ranks.get(attribute, 99) < rank:
            continue
        ranks[attribute] = rank
        if numeric:
            number = scanf_int(value)
            setattr(request, attribute, UNSET if number is None else number)
        else:
            setattr(request, attribute, value)
    return request


# --- POST: content type, X-Kannel headers, XML ------------------------------------------


def content_type(headers: Mapping[bytes, list[bytes]]) -> tuple[bytes, bytes]:
    """gwlib's `http_header_get_content_type`: (type, charset) from the first Content-Type.

    No header: `application/octet-stream` and no charset. The charset is what follows the
    first `=` after the first `;`, stripped of one pair of quotes; a type starting with
    `text` (lower-case, as gwlib compares) without a charset gets `ISO-8859-1`.
    """
    values = _header(headers, b"content-type")
    if not values:
        return b"application/octet-stream", b""
    value = strip_blanks(values[0])
    kind, semicolon, rest = value.partition(b";")
    charset = b""
    if semicolon:
        rest = strip_blanks(rest)
        _name, equals, charset = rest.partition(b"=")
        if not equals:
            charset = b""
        if charset.startswith(b'"'):
            charset = charset[1:]
        if charset.endswith(b'"'):
            charset = charset[:-1]
        kind = strip_blanks(kind)
    if not charset and kind.startswith(b"text"):
        charset = b"ISO-8859-1"
    return kind, charset


def _header(headers: Mapping[bytes, list[bytes]], name: bytes) -> list[bytes]:
    """All values of one header, whatever the case its name came in."""
    for key, values in headers.items():
        if key.lower() == name:
            return values
    return []


#: X-Kannel-* headers read as octets (lower-case names).
_HEADER_OCTETS: Final[Mapping[bytes, str]] = {
    b"x-kannel-from": "sender",
    b"x-kannel-to": "to",
    b"x-kannel-username": "username",
    b"x-kannel-password": "password",
    b"x-kannel-smsc": "smsc",
    b"x-kannel-dlr-url": "dlr_url",
    b"x-kannel-account": "account",
    b"x-kannel-binfo": "binfo",
    b"x-kannel-meta-data": "meta_data",
}

#: X-Kannel-* headers read with sscanf("%d").
_HEADER_NUMBERS: Final[Mapping[bytes, str]] = {
    b"x-kannel-coding": "coding",
    b"x-kannel-pid": "pid",
    b"x-kannel-mwi": "mwi",
    b"x-kannel-mclass": "mclass",
    b"x-kannel-alt-dcs": "alt_dcs",
    b"x-kannel-compress": "compress",
    b"x-kannel-validity": "validity",
    b"x-kannel-deferred": "deferred",
    b"x-kannel-dlr-mask": "dlr_mask",
    b"x-kannel-rpi": "rpi",
    b"x-kannel-priority": "priority",
}


def _x_kannel_headers(request: SendsmsRequest, headers: Mapping[bytes, list[bytes]]) -> None:
    """`get_x_kannel_from_headers`: the last occurrence of each header wins."""
    for name, values in headers.items():
        if not values:
            continue
        lower = name.lower()
        value = values[-1]
        if lower in _HEADER_OCTETS:
            setattr(request, _HEADER_OCTETS[lower], strip_blanks(value))
        elif lower in _HEADER_NUMBERS:
            number = scanf_int(value)
            if number is not None:
                setattr(request, _HEADER_NUMBERS[lower], number)
        elif lower == b"x-kannel-udh":
            request.udh = _hex_or_url(strip_blanks(value), strict=True)


def _hex_or_url(value: bytes, *, strict: bool) -> bytes | None:
    """A UDH as Kannel reads it: hex, else URL-encoded. With `strict` (X-Kannel-UDH) a value
    that is not clean URL encoding either is dropped; XML keeps whatever decoding gave."""
    binary = hex_to_binary(value)
    if binary is not None:
        return binary
    decoded, clean = url_decode(value)
    if strict and not clean:
        return None
    return decoded


_XML_ENCODING: Final = re.compile(
    rb"""\A(?:\xef\xbb\xbf)?[ \t\r\n]*<\?xml[^>]*?\sencoding[ \t\r\n]*=[ \t\r\n]*["']([^"']*)["']"""
)


def _xml_text(element: ElementTree.Element | None) -> str | None:
    """An XPath string value (all descendant text), or None when the path matched nothing."""
    if element is None:
        return None
    return "".join(element.itertext())


def _xml_octets(element: ElementTree.Element | None) -> bytes | None:
    """XPATH_SEARCH_OCTSTR: the element's text as UTF-8 octets, stripped."""
    text = _xml_text(element)
    return None if text is None else strip_blanks(text.encode("utf-8"))


def _parse_xml(request: SendsmsRequest, body: bytes) -> bool:
    """`get_x_kannel_from_xml` for an MT push; False when the document does not parse."""
    try:
        root = ElementTree.fromstring(body)
    except (ElementTree.ParseError, ValueError, LookupError):
        return False
    if root.tag != "message":
        # Every XPath starts at /message: nothing is found, but the document parsed.
        request.text = b""
        request.charset = _xml_charset(body)
        return True
    submit = "submit/"
    sender = root.find(submit + "from")
    if sender is not None:
        user = _xml_octets(root.find(submit + "from/user"))
        username = _xml_octets(root.find(submit + "from/username"))
        password = _xml_octets(root.find(submit + "from/pass"))
        long_password = _xml_octets(root.find(submit + "from/password"))
        request.username = username if username is not None else user
        request.password = long_password if long_password is not None else password
        request.account = _xml_octets(root.find(submit + "from/account"))
        request.binfo = _xml_octets(root.find(submit + "from/binfo"))

    request.sender = _xml_octets(root.find(submit + "oa/number"))
    receivers: list[bytes] = []
    for number in root.iterfind(submit + "da/number"):
        nodes = [number.text, *(child.tail for child in number)]
        receivers.extend(strip_blanks(node.encode("utf-8")) for node in nodes if node)
    if receivers:
        request.receivers = tuple(receivers)

    udh = _xml_octets(root.find(submit + "udh"))
    if udh is not None:
        request.udh = _hex_or_url(udh, strict=False)
    request.smsc = _xml_octets(root.find(submit + "smsc"))
    if request.smsc is None:
        request.smsc = _xml_octets(root.find(submit + "to"))

    for path, attribute in (
        ("pid", "pid"),
        ("rpi", "rpi"),
        ("dcs/mclass", "mclass"),
        ("dcs/mwi", "mwi"),
        ("dcs/coding", "coding"),
        ("dcs/compress", "compress"),
        ("dcs/alt-dcs", "alt_dcs"),
        ("statusrequest/dlr-mask", "dlr_mask"),
        ("vp/delay", "validity"),
        ("timing/delay", "deferred"),
        ("priority", "priority"),
    ):
        value = _xml_text(root.find(submit + path))
        if value is not None:
            setattr(request, attribute, xpath_int(value))
    request.dlr_url = _xml_octets(root.find(submit + "statusrequest/dlr-url"))
    request.meta_data = _xml_octets(root.find(submit + "meta-data"))
    request.charset = _xml_charset(body)

    text = _xml_octets(root.find(submit + "ud"))
    request.text = b"" if text is None else url_decode(text)[0]
    return True


def _xml_charset(body: bytes) -> bytes:
    """libxml2's `doc->encoding`: the XML declaration's encoding, else Kannel's UTF-8."""
    match = _XML_ENCODING.match(body)
    return match.group(1) if match else b"UTF-8"


def parse_post(headers: Mapping[bytes, list[bytes]], body: bytes) -> SendsmsRequest:
    """A POST's headers (name → values in arrival order) and body → its `SendsmsRequest`
    (`smsbox_sendsms_post`)."""
    kind, charset = content_type(headers)
    lower = kind.lower()
    if lower in (b"text/plain", b"application/octet-stream"):
        request = SendsmsRequest(Source.HEADERS, content_type=lower.decode("latin-1"))
        _x_kannel_headers(request, headers)
        request.text = body
        request.charset = charset
        return request
    if lower in (b"text/html", b"text/vnd.wap.wml"):
        request = SendsmsRequest(Source.UNSUPPORTED, content_type=lower.decode("latin-1"))
        _x_kannel_headers(request, headers)
        request.text = body
        request.charset = charset
        return request
    if lower == b"text/xml":
        request = SendsmsRequest(Source.XML, content_type="text/xml")
        if _parse_xml(request, body):
            request.content_type = "text/plain"
        else:
            request.charset = charset
        return request
    return SendsmsRequest(Source.INVALID, content_type=lower.decode("latin-1"))


def headers_from_pairs(pairs: Iterable[tuple[bytes, bytes]]) -> dict[bytes, list[bytes]]:
    """Header (name, value) pairs in arrival order → name → values, as `parse_post` takes
    them (names kept as given; lookups ignore case)."""
    out: dict[bytes, list[bytes]] = {}
    for name, value in pairs:
        out.setdefault(name, []).append(value)
    return out
