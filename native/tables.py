"""GSM 03.38 tables: the default alphabet, its extension, and the national tables we support.

Data only, shared by the pure-Python twin and by the C build (which turns it into C arrays),
so that the two implementations cannot drift apart in what they map.

National language tables (3GPP TS 23.038 annex A) are identified by their language number:
1 Turkish, 2 Spanish, 3 Portuguese. A *locking shift* table replaces the default alphabet for
a whole message (Spanish has none); a *single shift* table replaces the extension table
reached by 0x1B. Each is written here as its differences from the default table, which is
how the standard presents the Latin-script ones.
"""

from __future__ import annotations

ESC = 0x1B
#: The septet written for a character the tables cannot represent (Kannel's `NRP`).
UNKNOWN = 0x3F

TURKISH = 1
SPANISH = 2
PORTUGUESE = 3
#: National language numbers with a locking shift table (0 = the default alphabet).
LOCKING_TABLES = (0, TURKISH, PORTUGUESE)
#: National language numbers with a single shift table (0 = the default extension table).
SINGLE_TABLES = (0, TURKISH, SPANISH, PORTUGUESE)
LANGUAGE_NAMES = {"turkish": TURKISH, "spanish": SPANISH, "portuguese": PORTUGUESE}

# The default alphabet, code → character (TS 23.038 §6.2.1); 0x1B is the escape.
DEFAULT = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
assert len(DEFAULT) == 128

# The default extension table (§6.2.1.1), which is also exactly Kannel's `gsm_esctouni`.
DEFAULT_EXTENSION = {
    0x0A: "\f",
    0x14: "^",
    0x28: "{",
    0x29: "}",
    0x2F: "\\",
    0x3C: "[",
    0x3D: "~",
    0x3E: "]",
    0x40: "|",
    0x65: "€",
}

_LOCKING_CHANGES: dict[int, dict[int, str]] = {
    TURKISH: {  # A.3.1
        0x04: "€", 0x07: "ı", 0x0B: "Ğ", 0x0C: "ğ", 0x1C: "Ş", 0x1D: "ş", 0x40: "İ", 0x60: "ç",
    },
    PORTUGUESE: {  # A.3.3
        0x04: "ê", 0x06: "ú", 0x07: "í", 0x08: "ó", 0x09: "ç", 0x0B: "Ô", 0x0C: "ô",
        0x0E: "Á", 0x0F: "á", 0x12: "ª", 0x13: "Ç", 0x14: "À", 0x15: "∞", 0x16: "^",
        0x17: "\\", 0x18: "€", 0x19: "Ó", 0x1A: "|", 0x1C: "Â", 0x1D: "â", 0x1E: "Ê",
        0x24: "º", 0x40: "Í", 0x5B: "Ã", 0x5C: "Õ", 0x5D: "Ú", 0x60: "~", 0x7B: "ã",
        0x7C: "õ", 0x7D: "`",
    },
}  # fmt: skip

_SINGLE_ADDITIONS: dict[int, dict[int, str]] = {
    TURKISH: {  # A.2.1
        0x47: "Ğ", 0x49: "İ", 0x53: "Ş", 0x63: "ç", 0x67: "ğ", 0x69: "ı", 0x73: "ş",
    },
    SPANISH: {  # A.2.2
        0x09: "ç", 0x41: "Á", 0x49: "Í", 0x4F: "Ó", 0x55: "Ú", 0x61: "á", 0x69: "í",
        0x6F: "ó", 0x75: "ú",
    },
    PORTUGUESE: {  # A.2.3
        0x05: "ê", 0x09: "ç", 0x0B: "Ô", 0x0C: "ô", 0x0E: "Á", 0x0F: "á", 0x12: "Φ",
        0x13: "Γ", 0x15: "Ω", 0x16: "Π", 0x17: "Ψ", 0x18: "Σ", 0x19: "Θ", 0x1F: "Ê",
        0x41: "À", 0x49: "Í", 0x4F: "Ó", 0x55: "Ú", 0x5B: "Ã", 0x5C: "Õ", 0x61: "Â",
        0x69: "í", 0x6F: "ó", 0x75: "ú", 0x7B: "ã", 0x7C: "õ", 0x7F: "â",
    },
}  # fmt: skip


def locking_table(language: int) -> str:
    """The 128 characters of a locking shift table (0: the default alphabet)."""
    if language not in LOCKING_TABLES:
        raise ValueError(f"no locking shift table for language {language}")
    chars = list(DEFAULT)
    for code, ch in _LOCKING_CHANGES.get(language, {}).items():
        chars[code] = ch
    return "".join(chars)


def single_table(language: int) -> dict[int, str]:
    """A single shift table, code → character (0: the default extension table)."""
    if language not in SINGLE_TABLES:
        raise ValueError(f"no single shift table for language {language}")
    table = dict(DEFAULT_EXTENSION)
    table.update(_SINGLE_ADDITIONS.get(language, {}))
    return table


def check_tables(locking: int, single: int) -> None:
    """Refuse table numbers we have no table for (both implementations call this)."""
    if locking not in LOCKING_TABLES:
        raise ValueError(f"no locking shift table for language {locking}")
    if single not in SINGLE_TABLES:
        raise ValueError(f"no single shift table for language {single}")


def encode_map(locking: int, single: int) -> dict[int, bytes]:
    """Code point → septets for a pair of tables.

    The default pair (0, 0) is Kannel's converter: it also maps small c cedilla onto 0x09
    (the standard's capital). With a national table the mapping is the standard's, strictly:
    the locking table first, then the single shift table.
    """
    main = locking_table(locking)
    out: dict[int, bytes] = {}
    for code, ch in single_table(single).items():
        out.setdefault(ord(ch), bytes((ESC, code)))
    for code, ch in enumerate(main):
        if code != ESC:
            out[ord(ch)] = bytes((code,))  # the locking table wins over the shift table
    if locking == 0 and single == 0:
        out.setdefault(ord("ç"), b"\x09")
    return out
