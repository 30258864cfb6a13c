"""The `charset` of a sendsms request: which names Kannel accepts and what it does with them.

Kannel's smsbox converts the request text with iconv only when it has to
(gw/sms.c `sms_charset_processing`): for coding 0 to UTF-8, for coding 2 to UTF-16BE, and
for coding 1 never. Hence, observed on Kannel 1.4.5-12:

* no charset: the bytes are taken as UTF-8 for coding 0 (invalid octets are *accepted*:
  see `gsm.utf8_to_gsm`), and sent unchanged for coding 1 and 2;
* an unknown charset is an error (`Charset or body misformed, rejected`) only when a
  conversion happens: never with coding 1, and never for an empty text;
* iconv errors do not reject: Kannel's `charset_convert` copies an octet it cannot convert
  unchanged into the output and carries on.

`to_utf8` reproduces that octet for octet for the coding-0 path (feed its result to
`gsm.utf8_to_gsm`); `decode_text` is the clean variant that yields a `str` and replaces
what it cannot decode by `?`, which is what we use for UCS-2 (Kannel would put the raw
octet into the UTF-16 stream and misalign every character after it).

Names: every Python text codec name, plus the iconv spellings Python lacks (UCS-2,
ISO88591, UTF16BE, MS-ANSI, …). Where iconv and Python disagree about a byte order we
follow glibc on our x86-64 hosts: `UCS-2` and a BOM-less `UTF-16` are little-endian.
"""

from __future__ import annotations

import codecs
import functools

import native


class CharsetError(ValueError):
    """The charset is unknown: the HTTP layer answers `Charset or body misformed, rejected`."""


# iconv (glibc) names that Python's codec registry does not know, → Python codec.
_ICONV_ALIASES = {
    "UCS-2": "utf-16-le",  # glibc: host byte order, no BOM processing
    "UCS2": "utf-16-le",
    "UCS-2LE": "utf-16-le",
    "UCS-2BE": "utf-16-be",
    "UNICODELITTLE": "utf-16-le",
    "UNICODEBIG": "utf-16-be",
    "UNICODE": "utf-16",
    "ISO-10646/UCS2/": "utf-16-be",
    "UCS-4": "utf-32-be",
    "UCS4": "utf-32-be",
    "UCS-4BE": "utf-32-be",
    "UCS-4LE": "utf-32-le",
    "WCHAR_T": "utf-32-le",
    "ISO-10646/UCS4/": "utf-32-be",
    "ISO-10646/UTF8/": "utf-8",
    "ISO-10646/UTF-8/": "utf-8",
    "UTF16BE": "utf-16-be",
    "UTF16LE": "utf-16-le",
    "UTF32BE": "utf-32-be",
    "UTF32LE": "utf-32-le",
    "ANSI_X3.4": "ascii",
    "LATIN-9": "iso8859-15",
    "KOI8R": "koi8-r",
    "KOI8U": "koi8-u",
    "MS-ANSI": "cp1252",
    "MS-EE": "cp1250",
    "MS-CYRL": "cp1251",
    "MS-GREEK": "cp1253",
    "MS-TURK": "cp1254",
    "MS-HEBR": "cp1255",
    "MS-ARAB": "cp1256",
    "WINBALTRIM": "cp1257",
    "WINDOWS-874": "cp874",
    "WINDOWS-936": "gbk",
    "WINDOWS-31J": "cp932",
    "BIG-5": "big5",
    "BIG-FIVE": "big5",
    "BIGFIVE": "big5",
    "CN-BIG5": "big5",
    "TIS620-0": "tis-620",
    "TIS620.2529-1": "tis-620",
    "TIS620.2533-0": "tis-620",
    "MAC": "mac-roman",
}
_ICONV_ALIASES.update({f"ISO8859{n}": f"iso8859-{n}" for n in range(1, 17) if n != 12})
_ICONV_ALIASES.update({f"8859_{n}": f"iso8859-{n}" for n in range(1, 10)})

# Python text codecs that are not character sets (iconv knows none of them).
_NOT_CHARSETS = frozenset(
    {"idna", "punycode", "unicode-escape", "raw-unicode-escape", "undefined", "charmap"}
)

_UTF8 = "utf-8"


@functools.lru_cache(maxsize=256)
def codec_for(charset: str) -> str:
    """The Python codec for a request's charset name; `CharsetError` if there is none.

    Case does not matter and an iconv suffix (`//TRANSLIT`, `//IGNORE`) is ignored, as
    iconv ignores it on the input side.
    """
    name = charset.strip()
    if "//" in name and not name.upper().startswith("ISO-10646/"):
        name = name.split("//", 1)[0]
    alias = _ICONV_ALIASES.get(name.upper())
    if alias is not None:
        return alias
    try:
        info = codecs.lookup(name)
    except LookupError:
        raise CharsetError(f"unknown charset {charset!r}") from None
    if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_CHARSETS:
        raise CharsetError(f"{charset!r} is not a character set")
    return info.name


def _question_mark(error: UnicodeError) -> tuple[str, int]:
    """Codec error handler: one `?` per undecodable octet, then carry on."""
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return "?" * (error.end - error.start), error.end


def _smuggle_octet(error: UnicodeError) -> tuple[str, int]:
    """Codec error handler pair: carry an undecodable octet through as U+DC00 + octet.

    Python's own `surrogateescape` cannot carry octets below 0x80 (a UTF-16 text with an odd
    trailing `A`, say), so we use the whole U+DC00–U+DCFF range and undo it on encoding.
    """
    if isinstance(error, UnicodeDecodeError):
        octets = error.object[error.start : error.end]
        return "".join(chr(0xDC00 + octet) for octet in octets), error.end
    if isinstance(error, UnicodeEncodeError):
        chars = error.object[error.start : error.end]
        if all(0xDC00 <= ord(ch) <= 0xDCFF for ch in chars):
            return bytes(ord(ch) - 0xDC00 for ch in chars), error.end  # type: ignore[return-value]
    raise error


codecs.register_error("passerelle-question-mark", _question_mark)
codecs.register_error("passerelle-raw-octet", _smuggle_octet)


def decode_text(raw: bytes, charset: str | None) -> str:
    """Request octets → text. No charset means UTF-8, as in Kannel.

    What cannot be decoded becomes `?` (one per octet) instead of rejecting the request:
    Kannel accepts such bodies. An empty text is never an error, whatever the charset.
    """
    if not raw:
        return ""
    codec = _UTF8 if charset is None else codec_for(charset)
    return raw.decode(codec, "passerelle-question-mark")


def to_utf8(raw: bytes, charset: str | None) -> bytes:
    """Kannel's coding-0 charset step, octet for octet: request octets → "UTF-8".

    No charset, or a UTF-8 one, leaves the octets alone (Kannel compares the name with
    `UTF-8` and skips iconv; under another spelling iconv copies bad octets through, which
    comes to the same). Other charsets are converted; an octet the codec rejects is copied
    unchanged, as Kannel's `charset_convert` does. The result goes to `gsm.utf8_to_gsm`.
    """
    if not raw or charset is None:
        return raw
    codec = codec_for(charset)
    if codec == _UTF8:
        return raw
    return raw.decode(codec, "passerelle-raw-octet").encode(_UTF8, "passerelle-raw-octet")


def to_ucs2(text: str) -> bytes:
    """Text → UTF-16BE, what Kannel sends for coding 2 (characters beyond U+FFFF as pairs).

    A lone surrogate (only possible in a `str` built by hand) becomes `?`.
    """
    return native.to_ucs2(text)


def from_ucs2(data: bytes) -> str:
    """UTF-16BE short_message (data_coding 8 MO) → text; broken units become `?` (one per
    octet, in the ranges CPython's UTF-16 decoder reports)."""
    return native.from_ucs2(data)
