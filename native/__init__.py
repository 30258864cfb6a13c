"""The message encoder: GSM 03.38 (with national tables), UCS-2, 7-bit packing and Kannel's
splitting, as one API with two implementations giving byte-identical results.

`native.c` calls the C module built by cffi when the package was installed (API mode, out of
line: no compiler, no `ffi.verify` and no callbacks at run time, so a service may run with
systemd's MemoryDenyWriteExecute). `native.pure` is its pure-Python twin, used when the C
module is missing (installed without a compiler) or when the environment says
`PASSERELLE_NATIVE=0`. `IMPLEMENTATION` tells which one this process uses ("c" or "python");
the status page shows it.

May import the stdlib and cffi only; never ``gateway``.
"""

from __future__ import annotations

import os
from types import ModuleType

from native import pure


def _choose() -> tuple[ModuleType, str]:
    """The C module unless it is missing or switched off."""
    if os.environ.get("PASSERELLE_NATIVE", "").strip() in ("0", "no", "false", "off"):
        return pure, "python"
    try:
        from native import c
    except ImportError:
        return pure, "python"
    return c, "c"


_impl, IMPLEMENTATION = _choose()

DC_7BIT = pure.DC_7BIT
DC_8BIT = pure.DC_8BIT
DC_UCS2 = pure.DC_UCS2
AUTO = pure.AUTO
MAX_CUT_PARTS = pure.MAX_CUT_PARTS

to_gsm = _impl.to_gsm
utf8_to_gsm = _impl.utf8_to_gsm
septets = _impl.septets
gsm_encodable = _impl.gsm_encodable
from_gsm = _impl.from_gsm
to_ucs2 = _impl.to_ucs2
from_ucs2 = _impl.from_ucs2
decode = _impl.decode
pack7 = _impl.pack7
unpack7 = _impl.unpack7
cuts = _impl.cuts
encode_split = _impl.encode_split
room = pure.room

__all__ = [
    "AUTO",
    "DC_7BIT",
    "DC_8BIT",
    "DC_UCS2",
    "IMPLEMENTATION",
    "MAX_CUT_PARTS",
    "cuts",
    "decode",
    "encode_split",
    "from_gsm",
    "from_ucs2",
    "gsm_encodable",
    "pack7",
    "room",
    "septets",
    "to_gsm",
    "to_ucs2",
    "unpack7",
    "utf8_to_gsm",
]
