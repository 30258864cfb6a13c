"""The one message record: what the accept path builds and the dispatch path sends.

A sendsms request becomes one `Message` per receiver and per segment: splitting happens
once, at accept, so throttling counts what really goes to a carrier and a receipt for any
segment maps back to its request through `parent_id`. The record is plain data (built once,
serialised once into the queue or spool, read back), with Kannel's field meanings and its
"unset" convention of -1 for the DCS knobs, so the escape codes of a dlr-url come straight
from it.
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Final

#: Kannel's value for an unset mclass / mwi / compress / validity / deferred.
UNSET: Final = -1

CODING_7BIT: Final = 0
CODING_8BIT: Final = 1
CODING_UCS2: Final = 2


def new_id() -> str:
    """A 36-character UUID string, the form Kannel uses for message ids (store-status,
    remove-message). Ids are strings everywhere: never numbers."""
    return str(uuid.uuid4())


@dataclass(slots=True)
class Message:
    """One SMS segment to one receiver, ready to become a submit_sm.

    `payload` is this segment's user data without its UDH: GSM 03.38 septets, one octet
    each (unpacked, as Kannel sends them), for coding 0; UTF-16BE for coding 2; raw octets
    for coding 1. `udh` is the whole UDH of this segment (client UDH and/or the concatenation
    IE), empty when there is none.
    """

    id: str
    parent_id: str
    sender: str
    receiver: str
    payload: bytes
    coding: int = CODING_7BIT
    udh: bytes = b""
    part: int = 1
    parts: int = 1
    username: str = ""  # the sendsms-user's name (dlr-url %n)
    account: str = ""
    smsc_id: str = ""  # requested routing id: request `smsc`, forced-smsc or default-smsc
    mclass: int = UNSET
    mwi: int = UNSET
    compress: int = UNSET
    alt_dcs: int = 0
    pid: int = 0
    rpi: int = UNSET
    priority: int = 0
    validity: int = UNSET  # minutes from now, as the request gave it
    deferred: int = UNSET  # minutes from now
    dlr_mask: int = 0
    dlr_url: str = ""
    binfo: str = ""
    charset: str = ""  # the request's charset, for dlr-url %C
    meta_data: str = ""  # Kannel's `?group?key=value&...` text
    created: float = 0.0  # unix time of the request
    attempts: int = 0  # submits tried so far (temporary failures retry)
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def is_first_part(self) -> bool:
        """Kannel asks for delivery receipts on the first segment only."""
        return self.part == 1


# -- compact serialisation (the spool's record payload) ---------------------------------

#: Format version of `encode_message`; a spool written by a newer format is refused loudly
#: rather than misread.
FORMAT_VERSION: Final = 1

# version, coding, part, parts, mclass, mwi, compress, rpi, alt_dcs, priority, pid, dlr_mask,
# validity, deferred, attempts, created, then the 13 field lengths and the extra count.
_HEAD: Final = struct.Struct("<BBHHbbbbbbiHiiHd13IH")
_LEN: Final = struct.Struct("<I")
_TEXT_FIELDS: Final = (
    "id", "parent_id", "sender", "receiver", "username", "account", "smsc_id", "dlr_url",
    "binfo", "charset", "meta_data",
)


class MessageFormatError(ValueError):
    """Bytes that are not an `encode_message` record this version can read."""


def _utf8(text: str) -> bytes:
    # surrogatepass: any Python str round-trips, even one holding a lone surrogate.
    return text.encode("utf-8", "surrogatepass")


def encode_message(m: Message) -> bytes:
    """`m` as compact bytes: one fixed struct (numbers and field lengths), then the fields.

    Written once per message at accept and read once per take, so it is plain `struct` and
    slicing: no JSON, no pickle (which would also run code from the disk). The text fields
    are almost always ASCII; then they are encoded in one go."""
    texts = (
        m.id, m.parent_id, m.sender, m.receiver, m.username, m.account, m.smsc_id, m.dlr_url,
        m.binfo, m.charset, m.meta_data,
    )
    joined = "".join(texts)
    if joined.isascii():
        block = joined.encode("ascii")
        lengths = [len(t) for t in texts]
    else:
        encoded = [_utf8(t) for t in texts]
        block = b"".join(encoded)
        lengths = [len(t) for t in encoded]
    head = _HEAD.pack(
        FORMAT_VERSION, m.coding, m.part, m.parts, m.mclass, m.mwi, m.compress, m.rpi,
        m.alt_dcs, m.priority, m.pid, m.dlr_mask, m.validity, m.deferred, m.attempts,
        m.created, *lengths, len(m.payload), len(m.udh), len(m.extra),
    )
    if not m.extra:
        return b"".join((head, block, m.payload, m.udh))
    out = [head, block, m.payload, m.udh]
    for key, value in m.extra.items():
        k, v = _utf8(key), _utf8(value)
        out += (_LEN.pack(len(k)), k, _LEN.pack(len(v)), v)
    return b"".join(out)


def decode_message(data: bytes) -> Message:
    """The `Message` `encode_message` wrote; `MessageFormatError` for anything else."""
    if not data or data[0] != FORMAT_VERSION:
        raise MessageFormatError(
            f"message format version {data[0] if data else None}, expected {FORMAT_VERSION}"
        )
    try:
        head = _HEAD.unpack_from(data)
        lengths = head[16:27]
        l_payload, l_udh, n_extra = head[27:30]
        pos = _HEAD.size
        ends = list(accumulate(lengths))
        total = ends[-1]
        block = data[pos:pos + total]
        starts = (0, *ends[:-1])
        if block.isascii():
            text = block.decode("ascii")
            fields = [text[a:b] for a, b in zip(starts, ends, strict=True)]
        else:
            fields = [
                block[a:b].decode("utf-8", "surrogatepass")
                for a, b in zip(starts, ends, strict=True)
            ]
        pos += total
        payload = data[pos:pos + l_payload]
        pos += l_payload
        udh = data[pos:pos + l_udh]
        pos += l_udh
        extra: dict[str, str] = {}
        for _ in range(n_extra):
            (size,) = _LEN.unpack_from(data, pos)
            key = data[pos + 4:pos + 4 + size].decode("utf-8", "surrogatepass")
            pos += 4 + size
            (size,) = _LEN.unpack_from(data, pos)
            extra[key] = data[pos + 4:pos + 4 + size].decode("utf-8", "surrogatepass")
            pos += 4 + size
    except (struct.error, UnicodeDecodeError) as exc:
        raise MessageFormatError(f"damaged message record: {exc}") from exc
    if pos != len(data) or len(block) != total:
        raise MessageFormatError("damaged message record: lengths do not add up")
    (_, coding, part, parts, mclass, mwi, compress, rpi, alt_dcs, priority, pid, dlr_mask,
     validity, deferred, attempts, created) = head[:16]
    return Message(
        fields[0], fields[1], fields[2], fields[3], bytes(payload), coding, bytes(udh), part,
        parts, fields[4], fields[5], fields[6], mclass, mwi, compress, alt_dcs, pid, rpi,
        priority, validity, deferred, dlr_mask, fields[7], fields[8], fields[9], fields[10],
        created, attempts, extra,
    )
