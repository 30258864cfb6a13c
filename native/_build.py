"""cffi build script for `native._encoder` (API mode, out of line), used by setup.py.

The C tables are generated here from native/tables.py, so both implementations read the same
data. Run directly (`python native/_build.py`) to build the module in place for development.
"""

from __future__ import annotations

import runpy
from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent

CDEF = """
size_t pe_utf8_to_gsm(const char *in, size_t n, char *out, int locking, int single,
                      size_t *unmapped);
size_t pe_from_gsm(const char *in, size_t n, char *out, int locking, int single);
size_t pe_utf8_to_ucs2(const char *in, size_t n, char *out);
size_t pe_from_ucs2(const char *in, size_t n, char *out);
size_t pe_pack7(const char *in, size_t n, unsigned fill, char *out, size_t cap);
size_t pe_unpack7(const char *in, size_t n, size_t count, unsigned fill, char *out);
size_t pe_cuts(const char *d, size_t n, int coding, size_t room, size_t suffix,
               size_t max_parts, size_t *out, size_t cap);
size_t pe_encode_split(const char *in, size_t n, int coding, int locking, int single,
                       size_t udh_octets, size_t split_udh_octets, size_t max_octets,
                       size_t max_parts, char *out, size_t *result, size_t cap);
"""


def _c_tables() -> str:
    """The tables of native/tables.py as C arrays (see encoder.c for how they are indexed)."""
    t = runpy.run_path(str(HERE / "tables.py"))
    # Main tables: Kannel's default pair, strict default, Turkish, Portuguese.
    mains = [t["encode_map"](0, 0), t["encode_map"](0, 1), t["encode_map"](1, 0)]
    mains.append(t["encode_map"](3, 0))
    lines = ["#include <stddef.h>", "#include <stdint.h>", "#include <string.h>", ""]
    lines.append("struct pe_pair { uint32_t cp; int code; };")

    def main_codes(mapping: dict[int, bytes]) -> dict[int, int]:
        return {cp: s[0] for cp, s in mapping.items() if len(s) == 1}

    def shift_codes(language: int) -> dict[int, int]:
        codes: dict[int, int] = {}
        for code, ch in sorted(t["single_table"](language).items()):
            codes.setdefault(ord(ch), code)  # as encode_map: the lowest code wins
        return codes

    def emit(name: str, tables: list[dict[int, int]]) -> None:
        lo = []
        for table in tables:
            row = [table.get(cp, 0xFF) for cp in range(256)]
            lo.append("{" + ",".join(str(v) for v in row) + "}")
        lines.append(f"static const unsigned char pe_{name}_lo[{len(tables)}][256] = {{")
        lines.append(",\n".join(lo) + "};")
        counts = []
        for index, table in enumerate(tables):
            pairs = sorted((cp, code) for cp, code in table.items() if cp >= 0x100)
            body = ",".join(f"{{{cp},{code}}}" for cp, code in pairs) or "{0,0}"
            lines.append(f"static const struct pe_pair pe_{name}_hi_{index}[] = {{{body}}};")
            counts.append(str(len(pairs)))
        refs = ",".join(f"pe_{name}_hi_{i}" for i in range(len(tables)))
        lines.append(f"static const struct pe_pair *const pe_{name}_hi[] = {{{refs}}};")
        lines.append(f"static const size_t pe_{name}_hi_count[] = {{{','.join(counts)}}};")

    # A shift character is only used when the main table lacks it (pe_map looks there first).
    emit("main", [main_codes(m) for m in mains])
    emit("shift", [shift_codes(language) for language in range(4)])

    decode_main = [t["locking_table"](0)] * 2 + [t["locking_table"](1), t["locking_table"](3)]
    rows = ["{" + ",".join(str(ord(ch)) for ch in table) + "}" for table in decode_main]
    lines.append("static const uint32_t pe_decode_main[4][128] = {" + ",\n".join(rows) + "};")
    rows = []
    for language in range(4):
        shift = t["single_table"](language)
        rows.append("{" + ",".join(str(ord(shift.get(c, "\0"))) for c in range(128)) + "}")
    lines.append("static const uint32_t pe_decode_shift[4][128] = {" + ",\n".join(rows) + "};")
    return "\n".join(lines) + "\n"


ffibuilder = FFI()
ffibuilder.cdef(CDEF)
ffibuilder.set_source(
    "native._encoder",
    _c_tables() + (HERE / "encoder.c").read_text(encoding="utf-8"),
    extra_compile_args=["-O2", "-std=c99", "-Wall", "-Wextra"],
)

if __name__ == "__main__":
    import os

    os.chdir(HERE.parent)
    ffibuilder.compile(verbose=True)
