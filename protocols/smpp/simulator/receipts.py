"""Message ids and the deliver_sm PDUs the simulator originates (receipts and MOs).

These bodies are built straight into bytes rather than through `pdu.encode`: a benchmark
asks for tens of thousands of receipts a second, and every field but the addresses, the
text and the ids is a constant. `tests/protocols/smpp/test_simulator.py` checks that the
result decodes to the PDU `encode` would have produced.
"""

from __future__ import annotations

import time
import uuid
from functools import lru_cache
from struct import Struct

from protocols.smpp import constants as c
from protocols.smpp.simulator.config import FinalState

#: (ton, npi, address) as they appear on the wire.
Address = tuple[int, int, bytes]

ACCEPTED = FinalState("ACCEPTD", 0)

_TLV_HEAD = Struct(">HH")
# esm_class .. sm_default_msg_id of a deliver_sm after the two addresses: esm_class, then
# protocol_id, priority_flag, schedule_delivery_time "", validity_period "",
# registered_delivery, replace_if_present_flag, data_coding, sm_default_msg_id.
_RECEIPT_MIDDLE = bytes((0x04, 0, 0, 0, 0, 0, 0, 0, 0))


class MessageIds:
    """Hands out message ids as bytes, unique within a run, in the configured format.

    Every id is a number rendered in the chosen base, so a receipt can carry the same
    number in another base (`receipt_format`) the way some carriers do. `uuid` ids are a
    random per-run prefix plus a counter: as unique as uuid4, at the cost of a format.
    """

    __slots__ = ("_next", "_format", "_receipt_format", "_uuid_prefix")

    def __init__(
        self, id_format: str = "decimal", receipt_format: str = "same", start: int | None = None
    ) -> None:
        if start is None:
            # Seconds since the epoch times a million, like the ids real Kannel logs show:
            # two runs a second apart never collide below a million messages per run.
            start = 0 if id_format == "uuid" else int(time.time()) * 1_000_000
        self._next = start
        self._format = id_format
        self._receipt_format = id_format if receipt_format == "same" else receipt_format
        self._uuid_prefix = str(uuid.uuid4())[:24].encode("ascii")

    def next(self) -> tuple[int, bytes]:
        """The next (number, id) pair."""
        number = self._next
        self._next = number + 1
        return number, self.render(number, self._format)

    def receipt_id(self, number: int, message_id: bytes) -> bytes:
        """The id a receipt carries for the message that was given `message_id`."""
        if self._receipt_format == self._format:
            return message_id
        return self.render(number, self._receipt_format)

    def render(self, number: int, id_format: str) -> bytes:
        """One number as an id in `id_format`."""
        if id_format == "decimal":
            return b"%d" % number
        if id_format == "hex":
            return b"%x" % number
        return self._uuid_prefix + b"%012x" % (number & 0xFFFFFFFFFFFF)


@lru_cache(maxsize=16)
def _minute_stamp(minute: int) -> bytes:
    return time.strftime("%y%m%d%H%M", time.gmtime(minute * 60)).encode("ascii")


def receipt_date(timestamp: float) -> bytes:
    """`YYMMDDhhmm` in UTC, cached per minute because every receipt formats two dates."""
    return _minute_stamp(int(timestamp // 60))


#: What a state contributes to a receipt, precomputed: (dlvrd, stat, err, TLV tail).
StateParts = tuple[bytes, bytes, bytes, bytes]


def state_parts(state: FinalState) -> StateParts:
    """The constant pieces of a receipt in this state; computed once per state and run."""
    tail = _TLV_HEAD.pack(c.TAG_MESSAGE_STATE, 1) + bytes((state.message_state,))
    if state.failed:
        # network_error_code: type 3 (GSM) and the 2-octet cause, which Kannel turns into
        # the `dlr_err` meta-data of the DLR.
        tail += _TLV_HEAD.pack(c.TAG_NETWORK_ERROR_CODE, 3) + bytes(
            (3, state.err >> 8 & 0xFF, state.err & 0xFF)
        )
    dlvrd = b"001" if state.stat == "DELIVRD" else b"000"
    return dlvrd, state.stat.encode("ascii"), b"%03d" % state.err, tail


_TEXT = b"id:%s sub:001 dlvrd:%s submit date:%s done date:%s stat:%s err:%s text:%s"
#: Length of the receipt text without its id, stat and text (dates are 10, dlvrd/err 3).
_TEXT_OVERHEAD = len(_TEXT % (b"", b"000", b"0" * 10, b"0" * 10, b"", b"000", b""))
# The whole receipt body in one format: service_type "", source ton/npi/addr, dest
# ton/npi/addr, esm_class 0x04, protocol_id .. sm_default_msg_id all 0, sm_length, the
# text, receipted_message_id (tag 0x001E, 2-octet length, C string) and the state TLVs.
_BODY = b"\0%c%c%s\0%c%c%s\0" + _RECEIPT_MIDDLE + b"%c" + _TEXT + b"\x00\x1e\x00%c%s\0%s"


def receipt_text(
    receipt_id: bytes, submitted: float, done: float, state: FinalState, text: bytes
) -> bytes:
    """The short_message of a receipt, in the layout Kannel's `handle_dlr` sscanf expects.

    `text` should already be the first 20 octets of the message.
    """
    dlvrd, stat, err, _tail = state_parts(state)
    return _TEXT % (receipt_id, dlvrd, receipt_date(submitted), receipt_date(done), stat, err, text)


def deliver_sm_body(
    source: Address,
    dest: Address,
    esm_class: int,
    data_coding: int,
    short_message: bytes,
    tlvs: bytes = b"",
) -> bytes:
    """A deliver_sm body (no header) with every other mandatory field at its default."""
    s_ton, s_npi, s_addr = source
    d_ton, d_npi, d_addr = dest
    return b"".join(
        (
            b"\0",  # service_type
            bytes((s_ton, s_npi)),
            s_addr,
            b"\0",
            bytes((d_ton, d_npi)),
            d_addr,
            b"\0",
            bytes((esm_class, 0, 0, 0, 0, 0, 0, data_coding, 0, len(short_message))),
            short_message,
            tlvs,
        )
    )


def receipt_body(
    receipt_id: bytes,
    source: Address,
    dest: Address,
    submitted: float,
    done: float,
    parts: StateParts,
    text: bytes,
) -> bytes:
    """A receipt deliver_sm body: esm_class 0x04, Kannel-parseable text, id and state TLVs.

    `source` and `dest` are the receipt's own, i.e. already swapped from the submit;
    `parts` come from `state_parts`. The ids and texts a submit can carry keep the text
    well under the 254 octets of short_message (64 + 20 + 100).
    """
    dlvrd, stat, err, tail = parts
    return _BODY % (
        source[0],
        source[1],
        source[2],
        dest[0],
        dest[1],
        dest[2],
        _TEXT_OVERHEAD + len(receipt_id) + len(stat) + len(text),
        receipt_id,
        dlvrd,
        receipt_date(submitted),
        receipt_date(done),
        stat,
        err,
        text,
        len(receipt_id) + 1,
        receipt_id,
        tail,
    )


def message_text(short_message: bytes, payload: bytes | None, esm_class: int) -> bytes:
    """The user data of a submit without its UDH: what a receipt's `text:` quotes from."""
    data = short_message or payload or b""
    if esm_class & c.ESM_UDHI and data:
        data = data[data[0] + 1 :]
    return data
