"""Cut a message into SMS parts the way Kannel 1.4.5 does (gw/sms.c `sms_split`).

Kannel splits twice, and both passes show on the wire:

1. smsbox splits the request with the sendsms-user's (or sms-service's) settings:
   `max-messages`, `concatenation`, `header`, `footer`, `split-chars`, `split-suffix`.
   Parts beyond max-messages are dropped silently (obs.: 1700 characters, max-messages
   10 → ten parts, 1530 characters, `202 0: Accepted for delivery`).
2. With concatenation, smsbox glues those parts back together and bearerbox splits the
   result again for the SMSC, without any of the options above (at most 255 parts), and
   adds the concatenation UDH. So split-chars and the suffix change *what* is sent, but the
   SMS boundaries are bearerbox's: obs. with split-chars " " and suffix "+", the first SMS
   is "word00 … word20 +word2" (153 septets), not "… word20 +".
   Without concatenation, smsbox's parts are independent messages (no UDH).

Room per part, as Kannel computes it (`max_octets` = 140 by default):

* 7-bit: (max_octets − UDH octets) × 8 ÷ 7 septets (integer division), minus the header
  and footer; 160 alone, 153 with the 6-octet concatenation UDH, 146 with a 7-octet client
  UDH plus the concatenation IE. The septets travel unpacked, so a part is UDH + up to
  153 octets (obs. 159 octets).
* 8-bit and UCS-2: max_octets − UDH octets − header − footer: 140 / 134 octets.
* The concatenation overhead counts only when the text does not fit one SMS; it is 6
  octets with no client UDH, 5 when the client's UDH (and its length octet) is there.

Never split inside a character: an escape pair (0x1B + code) moves whole to the next part
(Kannel's `charset_gsm_truncate`; obs. 152 'a' + '€' → 152 septets, then `1b65`…), and
UCS-2 cuts fall on 2-octet boundaries outside surrogate pairs.

Deliberate differences from Kannel, each a case where Kannel loses or garbles text:

* UCS-2: Kannel cuts at any octet (obs.: a surrogate pair split across two parts; 131
  octets of UTF-16 after a 4-octet client UDH). We cut before the pair / at 130.
* split-suffix: Kannel reserves room for the suffix on the last part too, so when the
  rest of the text fits in a part but not in a part minus the suffix, the last
  characters vanish (obs.: 305 characters, suffix "+" → 152 + 152 sent). A part without
  suffix gets the whole room here.
* header, footer and suffix count in the payload's own units (septets, octets); Kannel
  counts their UTF-8 octets — the same for ASCII without `{}[]~\\^|`.
* split-chars match whole characters (GSM characters, octets, UTF-16 units); Kannel
  compares single octets of the UTF-8 or UTF-16 text.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

import native
from protocols.sms.dcs import DC_7BIT, DC_8BIT, DC_UCS2
from protocols.sms.gsm import ESC, to_gsm
from protocols.sms.udh import CONCAT_IE_OCTETS, IEI_CONCAT_16, add_concat

#: bearerbox's cap on the parts of one message (it calls sms_split with 0xff).
MAX_PARTS = 255
#: Kannel's MAX_SMS_OCTETS, the default of smsbox `sms-length` and smsc `max-sms-octets`.
MAX_OCTETS = 140


@dataclass(frozen=True, slots=True)
class Part:
    """One SMS to submit: its whole UDH (with UDHL; empty for none) and its payload.

    `seq` and `total` number the parts of the list `split` returned (1-based); for a
    concatenated message they are the numbers the concatenation IE in `udh` carries.
    """

    udh: bytes
    payload: bytes
    seq: int
    total: int


def _room(coding: int, max_octets: int, udh_octets: int) -> int:
    """Units of text (septets or octets) that fit beside `udh_octets` of UDH."""
    free = max_octets - udh_octets
    return free * 8 // 7 if coding == DC_7BIT else free


class _Text:
    """A payload and where it may be cut: never inside an escape pair or a UTF-16 character."""

    __slots__ = ("data", "_inside", "_step")

    def __init__(self, data: bytes, coding: int) -> None:
        self.data = data
        inside: set[int] = set()
        self._step = 1
        if coding == DC_7BIT and ESC in data:
            pos = data.find(ESC)
            while pos != -1 and pos + 1 < len(data):
                inside.add(pos + 1)  # 0x1B always starts a pair, even 1B 1B
                pos = data.find(ESC, pos + 2)
        elif coding == DC_UCS2:
            self._step = 2
            for pos in range(0, len(data) - 3, 2):
                if 0xD8 <= data[pos] <= 0xDB and 0xDC <= data[pos + 2] <= 0xDF:
                    inside.add(pos + 2)
        self._inside = inside

    def is_cut(self, pos: int) -> bool:
        """May a part end (and the next begin) at `pos`?"""
        if pos >= len(self.data):
            return True
        return pos % self._step == 0 and pos not in self._inside

    def cut(self, start: int, limit: int) -> int:
        """The farthest allowed end for a part starting at `start` holding `limit` units."""
        end = start + limit
        if end >= len(self.data):
            return len(self.data)
        while end > start and not self.is_cut(end):
            end -= 1
        return end

    def cut_after_split_char(self, start: int, end: int, split_set: frozenset[bytes]) -> int:
        """Kannel's split-chars rule: end the part after the last split character before
        `end`, or at `end` when there is none."""
        for pos in range(end, start, -1):
            if not self.is_cut(pos):
                continue
            width = self._step
            if not self.is_cut(pos - width):
                width += self._step
            if self.data[pos - width : pos] in split_set:
                return pos
        return end


def _encoder(coding: int) -> Callable[[str], bytes | None]:
    """How one split character looks in a payload of `coding` (None: it cannot occur)."""
    if coding == DC_7BIT:
        return lambda ch: None if (g := to_gsm(ch)) == b"?" and ch != "?" else g
    if coding == DC_UCS2:
        return lambda ch: ch.encode("utf-16-be") if ord(ch) <= 0xFFFF else None
    return lambda ch: bytes((ord(ch),)) if ord(ch) <= 0xFF else None


def _split_set(split_chars: str | None, coding: int) -> frozenset[bytes]:
    if not split_chars:
        return frozenset()
    encode = _encoder(coding)
    return frozenset(e for ch in split_chars if (e := encode(ch)) is not None)


def _sms_split(
    data: bytes,
    coding: int,
    udh_octets: int,
    catenate: bool,
    max_messages: int,
    max_octets: int,
    header: bytes = b"",
    footer: bytes = b"",
    suffix: bytes = b"",
    split_set: frozenset[bytes] = frozenset(),
) -> list[bytes]:
    """One pass of Kannel's sms_split: the payloads (decorated), at most `max_messages`.

    The cuts come from `native.cuts` (one call) unless split-chars are set, which only this
    module's slower walk knows.
    """
    decoration = len(header) + len(footer)
    room = _room(coding, max_octets, udh_octets) - decoration
    if catenate and len(data) > room:
        room = _room(coding, max_octets, max(udh_octets, 1) + CONCAT_IE_OCTETS) - decoration
    room = max(room, 0)
    if not split_set:
        ends = native.cuts(data, coding, room, min(max_messages, native.MAX_CUT_PARTS), len(suffix))
        last = len(ends) - 1
        decorated: list[bytes] = []
        start = 0
        for number, end in enumerate(ends):
            chunk = header + data[start:end] + footer if decoration else data[start:end]
            decorated.append(chunk if number == last else chunk + suffix)
            start = end
        return decorated
    text = _Text(data, coding)
    chunks: list[bytes] = []
    start = 0
    while True:
        if len(data) - start <= room:
            end, last = len(data), True
        else:
            last = len(chunks) + 1 >= max_messages
            end = text.cut(start, room if last else max(room - len(suffix), 0))
            if split_set:
                end = text.cut_after_split_char(start, end, split_set)
        chunk = header + data[start:end] + footer
        chunks.append(chunk if last else chunk + suffix)
        start = end
        if last:
            return chunks


def split(
    payload: bytes,
    coding: int,
    *,
    udh: bytes = b"",
    concatenation: bool,
    max_messages: int,
    ref: int = 0,
    split_chars: str | None = None,
    split_suffix: bytes = b"",
    header: bytes = b"",
    footer: bytes = b"",
    max_octets: int = MAX_OCTETS,
) -> list[Part]:
    """The SMS parts Kannel would submit for one message, in order.

    `payload` is already in its coding: GSM septets one per octet (`gsm.to_gsm`) for 0,
    octets for 1, UTF-16BE for 2; `header`, `footer` and `split_suffix` likewise. `udh` is
    the client's UDH (validated by the caller). `ref` is the concatenation reference, the
    low 8 bits of the gateway's counter. `max_messages` 0 sends nothing (Kannel:
    "No reply sent, denied"); a negative value means no limit but bearerbox's 255.
    An empty payload is one empty SMS, as Kannel sends.
    """
    if coding not in (DC_7BIT, DC_8BIT, DC_UCS2):
        raise ValueError(f"coding must be 0, 1 or 2, not {coding}")
    if not 0 <= ref <= 0xFF:
        raise ValueError(f"ref must fit in an octet, not {ref}")
    if max_messages == 0:
        return []
    limit = MAX_PARTS if max_messages < 0 else max_messages
    udh_octets = len(udh)
    if (
        not header
        and not footer
        and not split_suffix
        and len(payload) <= _room(coding, max_octets, udh_octets)
    ):
        return [Part(udh, payload, 1, 1)]  # the common case: one SMS, nothing to do

    # smsbox
    chunks = _sms_split(
        payload,
        coding,
        udh_octets,
        concatenation,
        limit,
        max_octets,
        header,
        footer,
        split_suffix,
        _split_set(split_chars, coding),
    )
    messages = [b"".join(chunks)] if concatenation else chunks

    # bearerbox, per message it is handed: splits again only what does not fit one SMS
    # (always, with concatenation; without, only when a header or footer alone is too big).
    sent: list[tuple[bytes, bytes]] = []
    for number, message in enumerate(messages):
        pieces = _sms_split(message, coding, udh_octets, True, MAX_PARTS, max_octets)
        if len(pieces) == 1:
            sent.append((udh, pieces[0]))
            continue
        group_ref = (ref + number) & 0xFF
        sent.extend(
            (add_concat(udh, group_ref, len(pieces), seq), piece)
            for seq, piece in enumerate(pieces, 1)
        )
    total = len(sent)
    return [Part(u, p, seq, total) for seq, (u, p) in enumerate(sent, 1)]


class Catenation(enum.Enum):
    """How the parts of a long message are tied together on the wire."""

    #: independent SMS, no numbering (Kannel's `concatenation = false`)
    NONE = "none"
    #: UDH IE 0x00, 8-bit reference (what Kannel sends)
    REF8 = "8bit"
    #: UDH IE 0x08, 16-bit reference
    REF16 = "16bit"
    #: SMPP sar_msg_ref_num / sar_total_segments / sar_segment_seqnum TLVs, no UDH
    SAR = "sar"


#: UDH IEs for national language tables (TS 23.040 §9.2.3.24.15 and .16).
IEI_SINGLE_SHIFT = 0x24
IEI_LOCKING_SHIFT = 0x25
#: `coding` for `split_text`: GSM 7-bit when the text allows it, else UCS-2.
AUTO = native.AUTO


def national_ies(locking: int, single: int) -> bytes:
    """The national language shift IEs a 7-bit part carries for these tables (none for 0)."""
    ies = b""
    if single:
        ies += bytes((IEI_SINGLE_SHIFT, 1, single))
    if locking:
        ies += bytes((IEI_LOCKING_SHIFT, 1, locking))
    return ies


def add_ies(udh: bytes, ies: bytes) -> bytes:
    """`udh` (possibly empty) with `ies` appended and its UDHL rewritten; empty stays empty."""
    body = udh[1:] + ies
    return bytes((len(body),)) + body if body else b""


def split_text(
    text: str,
    coding: int = AUTO,
    *,
    udh: bytes = b"",
    catenation: Catenation = Catenation.REF8,
    ref: int = 0,
    max_parts: int = MAX_PARTS,
    max_octets: int = MAX_OCTETS,
    locking: int = 0,
    single: int = 0,
) -> tuple[int, list[Part]]:
    """Text → (coding used, parts), encoding and cutting in one native call.

    For messages that start as text (MO replies, internal notices, clients that ask for
    automatic coding): `coding` AUTO picks GSM when every character has a septet (in the
    national tables `locking`/`single`, when given), else UCS-2. A 7-bit message with national
    tables carries their IEs in every part's UDH. Parts are cut as Kannel's bearerbox does
    (never inside an escape or a surrogate pair) with room for the client `udh` and the
    catenation's IE: 8-bit (`ref` & 0xFF) or 16-bit (`ref` & 0xFFFF) reference, or SAR, where
    `Part.seq`/`total` and `ref` go into TLVs and the room is a whole SMS. With NONE the
    parts are independent SMS. At most `max_parts` parts (≤ 255 with a catenation); the
    rest of the text is dropped, as with Kannel's max-messages.
    """
    if catenation is not Catenation.NONE and not 1 <= max_parts <= MAX_PARTS:
        raise ValueError(f"max_parts must be 1..{MAX_PARTS} with catenation, not {max_parts}")
    ies = b""
    if locking or single:
        if coding == AUTO:
            coding = DC_7BIT if native.gsm_encodable(text, locking, single) else DC_UCS2
        if coding == DC_7BIT:
            ies = national_ies(locking, single)
    base = add_ies(udh, ies)
    udh_octets = len(base)
    if catenation is Catenation.REF8:
        split_udh_octets = max(udh_octets, 1) + CONCAT_IE_OCTETS
    elif catenation is Catenation.REF16:
        split_udh_octets = max(udh_octets, 1) + CONCAT_IE_OCTETS + 1
    else:
        split_udh_octets = udh_octets
    used, data, ends = native.encode_split(
        text, coding, udh_octets, split_udh_octets, max_octets, max_parts, locking, single
    )
    total = len(ends)
    parts: list[Part] = []
    start = 0
    for seq, end in enumerate(ends, 1):
        part_udh = base
        if total > 1 and catenation is Catenation.REF8:
            part_udh = add_concat(base, ref & 0xFF, total, seq)
        elif total > 1 and catenation is Catenation.REF16:
            ie = bytes((IEI_CONCAT_16, 4, (ref >> 8) & 0xFF, ref & 0xFF, total, seq))
            part_udh = add_ies(base, ie)
        parts.append(Part(part_udh, data[start:end], seq, total))
        start = end
    return used, parts
