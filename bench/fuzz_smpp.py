"""Mutation fuzzing of the SMPP stack: framer, codec, ESME session and simulator server.

    python bench/fuzz_smpp.py                  # 1,000,000 inputs, seed 1, updates BENCHMARKS.md
    python bench/fuzz_smpp.py --count 20000 --seed 7 --no-report

Every input is one valid PDU from a corpus covering all 27 SMPP 3.4 operations, mutated
1-3 times (bit flips, byte insert/delete/overwrite, command_length and inner length-field
corruption, command_id swaps, stripped NULs, stray octets, truncation, splicing and
concatenation with other corpus PDUs), cut into 1-4 reads at random points, and fed to:

- ``framer``: a fresh `Framer`; every decoded PDU must re-encode to exactly the octets it came
  from (when the encoder accepts it), every error must turn into an `error_reply` that encodes
  with the same sequence number, and what is left buffered must be what was not framed;
- ``esme``: an `EsmeProtocol` driving an `EsmeSession`, bound (most of the time) with submits
  in flight, on a `StringTransport` with a `Clock`;
- ``simulator``: the `SmscProtocol` from `SimulatorFactory(...).buildProtocol(addr)`, bound
  (most of the time), on a `StringTransport` with a `Clock`.

For the two protocols, every octet they write back is framed and decoded: it must be
well-formed PDUs. Their clocks are advanced every few inputs so timers (enquire_link,
wait-ack, receipts) run against the fuzzed state too.

A crash is an exception escaping `feed`/`dataReceived`/a timer, a reply that fails to encode
or decode, a decoded PDU that re-encodes differently, or a failure or error the code under
test logs (both protocols catch their own exceptions and log them, so a bug there surfaces
only in the log). A hang is one input taking more than 1 s in one target, or a framer holding
more than max_length octets. The script exits 1 on any crash or hang.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import sys
import time
import traceback
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_ROOT = Path(__file__).resolve().parent.parent
if str(_ROOT) not in sys.path:  # `python bench/fuzz_smpp.py` puts only bench/ on the path
    sys.path.insert(0, str(_ROOT))

from twisted.internet.address import IPv4Address  # noqa: E402
from twisted.internet.error import ConnectionDone  # noqa: E402
from twisted.internet.task import Clock  # noqa: E402
from twisted.internet.testing import StringTransport  # noqa: E402
from twisted.logger import ILogObserver, LogLevel, formatEvent, globalLogPublisher  # noqa: E402
from twisted.python.failure import Failure  # noqa: E402
from zope.interface import implementer  # noqa: E402

from protocols.smpp import constants as c  # noqa: E402
from protocols.smpp.framer import Framer  # noqa: E402
from protocols.smpp.pdu import (  # noqa: E402
    CSTR,
    DESTS,
    HEADER,
    INT1,
    LAYOUTS,
    SM,
    UNSUCC,
    Pdu,
    SmppError,
    decode,
    encode,
    error_reply,
)

#: One input slower than this in one target is a hang.
HANG_SECONDS = 1.0
#: The framer bound the fuzzed components are configured with (small, so it is reached).
MAX_LENGTH = 4096
#: Crashes and hangs kept in full (the count goes on).
KEEP = 50

# -- corpus ----------------------------------------------------------------------------------


def _sm(**params: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "source_addr_ton": 5,
        "source_addr": b"MyBank",
        "dest_addr_ton": 1,
        "dest_addr_npi": 1,
        "destination_addr": b"447911123456",
        "short_message": b"Your code is 123456",
    }
    base.update(params)
    return base


_RECEIPT = (
    b"id:1700000000000001 sub:001 dlvrd:001 submit date:2401312359 done date:2401312359"
    b" stat:DELIVRD err:000 text:Your code is 1234"
)


def corpus_pdus() -> list[Pdu]:
    """Valid PDUs of all 27 operations, several shapes each (TLVs, errors, limits)."""
    bind = {
        "system_id": b"passerelle",
        "password": b"secret",
        "system_type": b"VMA",
        "interface_version": 0x34,
        "addr_ton": 1,
        "addr_npi": 1,
        "address_range": b"^44",
    }
    longest_bind = {
        "system_id": b"s" * 15,
        "password": b"p" * 8,
        "system_type": b"t" * 12,
        "interface_version": 0x34,
        "address_range": b"r" * 40,
    }
    udh_ucs2 = b"\x05\x00\x03\x2a\x02\x01" + "Привет".encode("utf-16-be")
    out: list[Pdu] = []
    for cid in (c.BIND_TRANSMITTER, c.BIND_RECEIVER, c.BIND_TRANSCEIVER):
        out.append(Pdu(cid, 1, params=dict(bind)))
        out.append(Pdu(cid, 2, params=dict(longest_bind)))
        resp = cid | c.RESPONSE_BIT
        out.append(Pdu(resp, 1, params={"system_id": b"SMSC"}).add_tlv("sc_interface_version",
                                                                        0x34))
        out.append(Pdu(resp, 1, c.ESME_RINVPASWD))
    out += [
        Pdu(c.OUTBIND, 1, params={"system_id": b"SMSC", "password": b"pw"}),
        Pdu(c.UNBIND, 3),
        Pdu(c.UNBIND_RESP, 3),
        Pdu(c.ENQUIRE_LINK, 4),
        Pdu(c.ENQUIRE_LINK_RESP, 4),
        Pdu(c.GENERIC_NACK, 5, c.ESME_RINVCMDID),
        Pdu(c.GENERIC_NACK, 2, c.ESME_RTHROTTLED),
        Pdu(c.SUBMIT_SM, 2, params=_sm(registered_delivery=1)),
        Pdu(c.SUBMIT_SM, 3, params=_sm(esm_class=0x40, data_coding=8,
                                       short_message=udh_ucs2)),
        Pdu(c.SUBMIT_SM, 4, params=_sm(short_message=b"x" * 254, registered_delivery=0x11,
                                       schedule_delivery_time=b"000001000000000R",
                                       validity_period=b"240131235959900+")),
        Pdu(c.SUBMIT_SM, 5, params=_sm(short_message=b""),
            tlvs=[(c.TAG_MESSAGE_PAYLOAD, b"p" * 600), (0x1400, b"vendor")]),
        Pdu(c.SUBMIT_SM, 6, params=_sm(data_coding=0))
        .add_tlv("sar_msg_ref_num", 42).add_tlv("sar_total_segments", 2)
        .add_tlv("sar_segment_seqnum", 1).add_tlv("user_message_reference", 7),
        Pdu(c.SUBMIT_SM_RESP, 2, params={"message_id": b"1700000000000001"}),
        Pdu(c.SUBMIT_SM_RESP, 3, c.ESME_RTHROTTLED),
        Pdu(c.SUBMIT_SM_RESP, 4, 0x0401, params={"message_id": b""}),
        Pdu(c.DELIVER_SM, 7, params=_sm(esm_class=0x04, short_message=_RECEIPT))
        .add_tlv("receipted_message_id", b"1700000000000001").add_tlv("message_state", 2)
        .add_tlv("network_error_code", b"\x03\x00\x00"),
        Pdu(c.DELIVER_SM, 8, params=_sm(source_addr=b"447911123456",
                                        destination_addr=b"12345", short_message=b"STOP")),
        Pdu(c.DELIVER_SM_RESP, 7, params={"message_id": b""}),
        Pdu(c.DELIVER_SM_RESP, 8, c.ESME_RX_T_APPN),
        Pdu(c.SUBMIT_MULTI, 2, params={
            "source_addr": b"Shop",
            "dest_addresses": [(1, 1, 1, b"447911000001"), (2, b"friends"),
                               (1, 1, 1, b"447911000002")],
            "registered_delivery": 1,
            "short_message": b"Sale!",
        }),
        Pdu(c.SUBMIT_MULTI_RESP, 2, params={
            "message_id": b"m-1",
            "unsuccess_smes": [(1, 1, b"447911000002", c.ESME_RINVDSTADR)],
        }),
        Pdu(c.SUBMIT_MULTI_RESP, 3, params={"message_id": b"m-2"}),
        Pdu(c.DATA_SM, 2, params={
            "source_addr": b"Bank", "dest_addr_ton": 1, "destination_addr": b"447911123456",
            "registered_delivery": 1, "data_coding": 8,
        }, tlvs=[(c.TAG_MESSAGE_PAYLOAD, "Hello".encode("utf-16-be"))]),
        Pdu(c.DATA_SM_RESP, 2, params={"message_id": b"d-1"}),
        Pdu(c.DATA_SM_RESP, 3, c.ESME_RDELIVERYFAILURE, params={"message_id": b""})
        .add_tlv("delivery_failure_reason", 1).add_tlv("additional_status_info_text", b"no"),
        Pdu(c.QUERY_SM, 2, params={"message_id": b"1700000000000001", "source_addr": b"Bank"}),
        Pdu(c.QUERY_SM_RESP, 2, params={"message_id": b"1700000000000001",
                                        "final_date": b"240131235959900+",
                                        "message_state": 2}),
        Pdu(c.CANCEL_SM, 2, params={"message_id": b"m-1", "source_addr": b"Bank",
                                    "destination_addr": b"447911123456"}),
        Pdu(c.CANCEL_SM_RESP, 2),
        Pdu(c.REPLACE_SM, 2, params={"message_id": b"m-1", "source_addr": b"Bank",
                                     "registered_delivery": 1, "short_message": b"new"}),
        Pdu(c.REPLACE_SM_RESP, 2, c.ESME_RREPLACEFAIL),
        Pdu(c.ALERT_NOTIFICATION, 9, params={"source_addr": b"447911123456",
                                             "esme_addr": b"Bank"})
        .add_tlv("ms_availability_status", 0),
    ]
    return out


def length_fields(wire: bytes) -> list[tuple[int, int]]:
    """(offset, width) of every length or count field in a valid PDU: the fuzzer's targets."""
    fields = [(0, 4)]
    cid = HEADER.unpack_from(wire)[1]
    body_end = len(wire)
    pos = 16
    if pos == body_end:
        return fields
    for _name, kind, _size, _status in LAYOUTS[cid]:
        if kind == INT1:
            pos += 1
        elif kind == CSTR:
            pos = wire.index(b"\0", pos) + 1
        elif kind == SM:
            fields.append((pos, 1))
            pos += 1 + wire[pos]
        elif kind == DESTS:
            fields.append((pos, 1))
            count, pos = wire[pos], pos + 1
            for _ in range(count):
                flag = wire[pos]
                pos = wire.index(b"\0", pos + (3 if flag == 1 else 1)) + 1
        else:
            assert kind == UNSUCC
            fields.append((pos, 1))
            count, pos = wire[pos], pos + 1
            for _ in range(count):
                pos = wire.index(b"\0", pos + 2) + 5
    while pos + 4 <= body_end:
        fields.append((pos + 2, 2))
        pos += 4 + int.from_bytes(wire[pos + 2 : pos + 4], "big")
    return fields


@dataclass
class Corpus:
    """Encoded corpus PDUs and the length fields inside each."""

    entries: list[bytes]
    fields: list[list[tuple[int, int]]]
    command_ids: set[int]

    @classmethod
    def build(cls) -> Corpus:
        pdus = corpus_pdus()
        entries = [encode(p) for p in pdus]
        for pdu, wire in zip(pdus, entries, strict=True):
            assert decode(wire) == pdu, pdu  # the corpus itself must be valid
        return cls(entries, [length_fields(w) for w in entries], {p.command_id for p in pdus})


# -- mutations -------------------------------------------------------------------------------

_INTERESTING_BYTES = (0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF)
_COMMAND_IDS = sorted(LAYOUTS)


class Mutator:
    """Deterministic (per seed) mutations of corpus PDUs."""

    def __init__(self, corpus: Corpus, rng: random.Random, max_length: int) -> None:
        self.corpus = corpus
        self.rng = rng
        self.max_length = max_length
        self.ops: list[tuple[str, Callable[[bytearray, int], bytearray]]] = [
            ("bit_flip", self.bit_flip),
            ("byte_set", self.byte_set),
            ("byte_insert", self.byte_insert),
            ("byte_delete", self.byte_delete),
            ("command_length", self.command_length),
            ("length_field", self.length_field),
            ("command_id", self.command_id),
            ("strip_nul", self.strip_nul),
            ("stray_octets", self.stray_octets),
            ("truncate", self.truncate),
            ("splice", self.splice),
            ("concatenate", self.concatenate),
        ]
        self.used: Counter[str] = Counter()

    def input(self) -> bytes:
        """One fuzz input: a corpus PDU with 1-3 mutations, its length often made right again."""
        rng = self.rng
        index = rng.randrange(len(self.corpus.entries))
        data = bytearray(self.corpus.entries[index])
        for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
            name, op = rng.choice(self.ops)
            self.used[name] += 1
            data = op(data, index)
        if len(data) >= 4 and rng.random() < 0.4:
            # Body mutations with a consistent command_length reach the decoder, not the
            # framer's bound; lengths inside the body stay as mutated.
            first = int.from_bytes(data[:4], "big")
            if not 16 <= first <= len(data):
                data[:4] = min(len(data), 0xFFFFFFFF).to_bytes(4, "big")
        return bytes(data)

    def _pos(self, data: bytearray) -> int:
        return self.rng.randrange(len(data)) if data else 0

    def bit_flip(self, data: bytearray, _index: int) -> bytearray:
        for _ in range(self.rng.randint(1, 8)):
            if data:
                data[self._pos(data)] ^= 1 << self.rng.randrange(8)
        return data

    def byte_set(self, data: bytearray, _index: int) -> bytearray:
        if data:
            value = self.rng.choice((*_INTERESTING_BYTES, self.rng.randrange(256)))
            data[self._pos(data)] = value
        return data

    def byte_insert(self, data: bytearray, _index: int) -> bytearray:
        pos = self.rng.randint(0, len(data))
        data[pos:pos] = self.rng.randbytes(self.rng.randint(1, 8))
        return data

    def byte_delete(self, data: bytearray, _index: int) -> bytearray:
        if data:
            pos = self._pos(data)
            del data[pos : pos + self.rng.randint(1, 16)]
        return data

    def command_length(self, data: bytearray, _index: int) -> bytearray:
        if len(data) < 4:
            return data
        rng = self.rng
        n = len(data)
        value = rng.choice((
            0, 1, 4, 15, 16, 17, n - 1, n + 1, n + rng.randint(1, 300),
            max(0, n - rng.randint(1, 40)), self.max_length, self.max_length + 1,
            0x7FFFFFFF, 0xFFFFFFFF, rng.getrandbits(32),
        ))
        data[:4] = (value & 0xFFFFFFFF).to_bytes(4, "big")
        return data

    def length_field(self, data: bytearray, index: int) -> bytearray:
        rng = self.rng
        offset, width = rng.choice(self.corpus.fields[index])
        if offset + width > len(data):
            return data
        old = int.from_bytes(data[offset : offset + width], "big")
        top = 256**width - 1
        value = rng.choice((0, 1, top, top - 1, old + 1, old - 1, old + rng.randint(2, 64),
                            rng.randint(0, top)))
        data[offset : offset + width] = (value % (top + 1)).to_bytes(width, "big")
        return data

    def command_id(self, data: bytearray, _index: int) -> bytearray:
        if len(data) < 8:
            return data
        rng = self.rng
        old = int.from_bytes(data[4:8], "big")
        value = rng.choice((rng.choice(_COMMAND_IDS), old ^ c.RESPONSE_BIT, rng.getrandbits(32),
                            0x00000099, 0x80000099, 0x0000000A))
        data[4:8] = value.to_bytes(4, "big")
        return data

    def strip_nul(self, data: bytearray, _index: int) -> bytearray:
        nuls = [i for i in range(16, len(data)) if data[i] == 0]
        if nuls:
            data[self.rng.choice(nuls)] = self.rng.randint(1, 255)
        return data

    def stray_octets(self, data: bytearray, _index: int) -> bytearray:
        data += self.rng.randbytes(self.rng.randint(1, 3))
        if len(data) >= 4:
            data[:4] = len(data).to_bytes(4, "big")
        return data

    def truncate(self, data: bytearray, _index: int) -> bytearray:
        if data:
            del data[self.rng.randint(0, len(data) - 1) :]
        return data

    def splice(self, data: bytearray, _index: int) -> bytearray:
        other = self.rng.choice(self.corpus.entries)
        cut_a = self.rng.randint(0, len(data))
        cut_b = self.rng.randint(0, len(other))
        return bytearray(data[:cut_a] + other[cut_b:])

    def concatenate(self, data: bytearray, _index: int) -> bytearray:
        for _ in range(self.rng.randint(1, 3)):
            data += self.rng.choice(self.corpus.entries)
        return data

    def chunks(self, data: bytes) -> list[bytes]:
        """Cut an input into 1-4 reads (or single octets, now and then)."""
        rng = self.rng
        if len(data) <= 64 and rng.random() < 0.05:
            return [data[i : i + 1] for i in range(len(data))]
        cuts = sorted({rng.randint(0, len(data)) for _ in range(rng.randint(0, 3))})
        bounds = [0, *cuts, len(data)]
        return [data[a:b] for a, b in zip(bounds, bounds[1:], strict=False) if b > a] or [data]


# -- results ---------------------------------------------------------------------------------


@dataclass
class Problem:
    """One crash or hang, with what it takes to reproduce it."""

    kind: str
    target: str
    index: int
    detail: str
    data: bytes
    #: What is the same for every occurrence of this problem (problems are grouped by it).
    what: str = ""

    def describe(self) -> str:
        shown = self.data[:128].hex() + ("..." if len(self.data) > 128 else "")
        return f"[{self.kind}] {self.target} input #{self.index}: {self.detail}\n  input={shown}"


@dataclass
class FuzzResult:
    """What a run did and found."""

    count: int = 0
    seconds: float = 0.0
    crashes: int = 0
    hangs: int = 0
    problems: list[Problem] = field(default_factory=list)
    slowest: dict[str, float] = field(default_factory=dict)
    octets: int = 0
    framer_pdus: int = 0
    framer_errors: Counter[int] = field(default_factory=Counter)
    mutations: Counter[str] = field(default_factory=Counter)
    targets: list[str] = field(default_factory=list)
    corpus_commands: int = 0
    #: How often each distinct problem (target + first line of its detail) happened.
    signatures: Counter[str] = field(default_factory=Counter)
    #: What the protocol targets did (their own counters), to show the fuzzing got deep.
    target_stats: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0

    def add(self, problem: Problem) -> None:
        if problem.kind == "hang":
            self.hangs += 1
        else:
            self.crashes += 1
        what = problem.what or problem.detail.splitlines()[0]
        signature = f"{problem.kind} {problem.target}: {what}"
        self.signatures[signature] += 1
        if self.signatures[signature] == 1 and len(self.problems) < KEEP:
            self.problems.append(problem)  # the first input of each kind reproduces it


class Fault(Exception):
    """A check failed inside a target (not an exception from the code under test).

    `what` names the kind of failure (problems are grouped by it); `detail` is the instance.
    """

    def __init__(self, what: str, detail: str = "") -> None:
        super().__init__(f"{what}: {detail}" if detail else what)
        self.what = what


# -- targets ---------------------------------------------------------------------------------


class Target:
    """Something inputs are fed to. `run` raises on a crash; slowness is timed outside."""

    name = "target"

    def run(self, data: bytes, chunks: Sequence[bytes], rng: random.Random) -> None:
        raise NotImplementedError

    def tick(self, rng: random.Random) -> None:
        """Called every few inputs: advance clocks, recycle state."""
        return None

    def buffered(self) -> int:
        return 0

    def stats(self) -> dict[str, int]:
        """Counters worth reporting (how deep the inputs got)."""
        return {}


def check_output(written: bytes, max_length: int, who: str) -> list[Pdu]:
    """Everything a protocol wrote must be whole, well-formed PDUs."""
    if not written:
        return []
    framer = Framer(max_length=max(max_length, 1 << 20))
    out: list[Pdu] = []
    for item in framer.feed(written):
        if isinstance(item, SmppError):
            raise Fault(f"{who} wrote a malformed PDU", repr(item))
        out.append(item)
    if framer.buffered:
        raise Fault(f"{who} wrote an incomplete PDU", f"{framer.buffered} octets left")
    return out


class FramerTarget(Target):
    """A fresh framer per input, with the codec's invariants checked on what it returns."""

    name = "framer"

    def __init__(self, result: FuzzResult, max_length: int = MAX_LENGTH) -> None:
        self.result = result
        self.max_length = max_length
        self._framer = Framer(max_length)

    def buffered(self) -> int:
        return self._framer.buffered

    def run(self, data: bytes, chunks: Sequence[bytes], rng: random.Random) -> None:
        framer = self._framer = Framer(self.max_length)
        items: list[Pdu | SmppError] = []
        for chunk in chunks:
            items += framer.feed(chunk)
            if framer.buffered > self.max_length:
                raise Fault("framer holds more than max_length", f"{framer.buffered} octets")
        pos = 0
        result = self.result
        for item in items:
            if isinstance(item, SmppError):
                result.framer_errors[item.status] += 1
                reply = error_reply(item)
                wire = encode(reply)
                if decode(wire) != reply or reply.sequence_number != item.sequence_number:
                    raise Fault("error_reply does not round-trip", f"{item!r} -> {reply!r}")
                if item.fatal:
                    if not framer.broken or framer.feed(b"\0" * 16) != []:
                        raise Fault("framer not broken after a fatal error", repr(item))
                    return
                length, _cid, _status, seq = HEADER.unpack_from(data, pos)
                if seq != item.sequence_number:
                    raise Fault("error names the wrong sequence", f"{item!r}, PDU had {seq}")
            else:
                result.framer_pdus += 1
                length = HEADER.unpack_from(data, pos)[0]
                try:
                    again = encode(item)
                except SmppError:
                    again = None  # lenient decode kept something encode refuses (too long)
                if again is not None and again != data[pos : pos + length]:
                    raise Fault("decoded PDU re-encodes differently", repr(item))
            pos += length
        if framer.broken:
            raise Fault("framer broken without a fatal error", repr(items))
        if framer.buffered != len(data) - pos:
            raise Fault(
                "framer holds other than the unframed rest",
                f"{framer.buffered} held, {len(data) - pos} unframed",
            )


class _Listener:
    """The application side of the fuzzed ESME: accepts deliveries, keeps submits flowing."""

    def __init__(self, target: EsmeTarget) -> None:
        self.target = target

    def bound(self, session: Any) -> None:
        self.window_open(session)

    def unbound(self, session: Any, reason: str) -> None:
        return None

    def submit_response(self, session: Any, token: Any, resp: Pdu) -> None:
        return None

    def submit_failed(self, session: Any, token: Any, reason: str) -> None:
        return None

    def late_response(self, session: Any, token: Any, resp: Pdu) -> None:
        return None

    def deliver(self, session: Any, pdu: Pdu) -> int:
        return self.target.deliver_status

    def window_open(self, session: Any) -> None:
        target = self.target
        while session.can_submit and session.in_flight < 3 and target.submits < 200:
            target.submits += 1
            kind = target.submit_kinds[target.submits % len(target.submit_kinds)]
            seq = session.submit(Pdu(kind, 0, params=dict(target.submit_params[kind])), None)
            target.inflight_seqs.append(seq)


class EsmeTarget(Target):
    """`EsmeProtocol` + `EsmeSession` on a StringTransport, bound with submits in flight."""

    name = "esme"

    def __init__(self, max_length: int = MAX_LENGTH) -> None:
        from protocols.smpp.session import (
            BindConfig,
            BindMode,
            EsmeCounters,
            EsmeProtocol,
            EsmeSession,
        )

        self._session_class = EsmeSession
        self._protocol_class = EsmeProtocol
        self._modes = list(BindMode)
        self.config = BindConfig(
            system_id="fuzz", password="pw", max_pdu_length=max_length, max_pending_submits=5,
            wait_ack=30.0, enquire_link_interval=20.0, connection_timeout=120.0,
        )
        self.max_length = max_length
        self.clock = Clock()
        self.submit_kinds = [c.SUBMIT_SM, c.SUBMIT_SM, c.DATA_SM, c.SUBMIT_MULTI]
        self.submit_params: dict[int, dict[str, Any]] = {
            c.SUBMIT_SM: _sm(registered_delivery=1),
            c.DATA_SM: {"destination_addr": b"447911123456"},
            c.SUBMIT_MULTI: {"dest_addresses": [(1, 1, 1, b"447911000001")]},
        }
        self.inflight_seqs: deque[int] = deque(maxlen=16)
        self.deliver_status = 0
        self.submits = 0
        self.counters = EsmeCounters()  # shared by every session of the run
        self.sessions = 0
        self.protocol: Any = None
        self.transport = StringTransport()
        self.rng = random.Random(0)
        self.reset()

    def buffered(self) -> int:
        return int(self.protocol._framer.buffered)

    def stats(self) -> dict[str, int]:
        snapshot = self.counters.snapshot()
        del snapshot["responses_by_status"]
        return {"sessions": self.sessions, **snapshot}

    def reset(self) -> None:
        if self.protocol is not None:  # connectionLost is idempotent in both protocols
            self.protocol.connectionLost(Failure(ConnectionDone("fuzz reset")))
        rng = self.rng
        mode = rng.choice(self._modes)
        session = self._session_class(
            self.config, _Listener(self), mode, clock=self.clock, counters=self.counters,
            tick_interval=1.0,
        )
        self.sessions += 1
        self.protocol = self._protocol_class(session)
        self.transport = StringTransport()
        self.submits = 0
        self.inflight_seqs.clear()
        self.protocol.makeConnection(self.transport)
        written = check_output(self.transport.value(), self.max_length, "esme")
        self.transport.clear()
        if rng.random() < 0.9 and written:
            bind = written[0]
            status = c.ESME_RALYBND if rng.random() < 0.05 else 0
            resp = Pdu(bind.command_id | c.RESPONSE_BIT, bind.sequence_number, status,
                       params={"system_id": b"SMSC"})
            self.protocol.dataReceived(encode(resp))
            check_output(self.transport.value(), self.max_length, "esme")
            self.transport.clear()

    def run(self, data: bytes, chunks: Sequence[bytes], rng: random.Random) -> None:
        self.rng = rng
        protocol = self.protocol
        if self.inflight_seqs and len(data) >= 16 and rng.random() < 0.3:
            # Aim the input at a submit in flight so responses reach the session's window.
            seq = rng.choice(self.inflight_seqs)
            data = data[:12] + seq.to_bytes(4, "big") + data[16:]
            chunks = [data]
        self.deliver_status = rng.choice((0, 0, 0, c.ESME_RX_T_APPN, 0x0401))
        for chunk in chunks:
            protocol.dataReceived(chunk)
            if self.buffered() > self.max_length:
                raise Fault("ESME framer holds more than max_length", f"{self.buffered()} octets")
        check_output(self.transport.value(), self.max_length, "esme")
        self.transport.clear()
        if self.transport.disconnecting:
            self.reset()

    def tick(self, rng: random.Random) -> None:
        self.rng = rng
        self.clock.advance(rng.choice((0.5, 1.0, 5.0, 21.0, 35.0)))
        check_output(self.transport.value(), self.max_length, "esme")
        self.transport.clear()
        if self.transport.disconnecting or rng.random() < 0.02:
            self.reset()


class SimulatorTarget(Target):
    """The simulator's `SmscProtocol` on a StringTransport, bound (mostly) like an ESME."""

    name = "simulator"

    def __init__(self, max_length: int = MAX_LENGTH) -> None:
        from protocols.smpp.simulator import SimulatorConfig, SimulatorFactory

        self._factory_class = SimulatorFactory
        self.config = SimulatorConfig(
            id_start=1,
            dlr_delay=0.5,
            rejects=(("44790", c.ESME_RINVDSTADR),),
            max_pdu_length=max_length,
            deliver_window=8,
            max_pending=1000,
        )
        self.max_length = max_length
        self.clock = Clock()
        self.address = IPv4Address("TCP", "127.0.0.1", 40000)
        self.deliver_seqs: deque[int] = deque(maxlen=16)
        self.totals: Counter[str] = Counter()  # counters of factories already replaced
        self.factory: Any = None
        self.protocol: Any = None
        self.transport = StringTransport()
        self.inputs = 0
        self.rng = random.Random(0)
        self.reset(new_factory=True)

    def buffered(self) -> int:
        return int(self.protocol._framer.buffered)

    def stats(self) -> dict[str, int]:
        totals = self.totals.copy()
        totals.update(self.factory.counters.as_dict())
        return dict(totals)

    def reset(self, new_factory: bool = False) -> None:
        if self.protocol is not None:
            self.protocol.connectionLost(Failure(ConnectionDone("fuzz reset")))
        if new_factory:
            if self.factory is not None:
                self.factory.doStop()
                self.totals.update(self.factory.counters.as_dict())
            self.clock = Clock()
            self.factory = self._factory_class(self.config, clock=self.clock)
            self.factory.doStart()
        self.protocol = self.factory.buildProtocol(self.address)
        self.transport = StringTransport(peerAddress=self.address)
        self.deliver_seqs.clear()
        self.protocol.makeConnection(self.transport)
        rng = self.rng
        if rng.random() < 0.9:
            cid = rng.choice((c.BIND_TRANSCEIVER, c.BIND_TRANSCEIVER, c.BIND_TRANSMITTER,
                              c.BIND_RECEIVER))
            bind = Pdu(cid, 1, params={"system_id": b"fuzz", "password": b"pw"})
            self.protocol.dataReceived(encode(bind))
            self._collect()

    def _collect(self) -> None:
        for pdu in check_output(self.transport.value(), self.max_length, "simulator"):
            if pdu.command_id == c.DELIVER_SM:
                self.deliver_seqs.append(pdu.sequence_number)
        self.transport.clear()

    def run(self, data: bytes, chunks: Sequence[bytes], rng: random.Random) -> None:
        self.rng = rng
        self.inputs += 1
        protocol = self.protocol
        if self.deliver_seqs and len(data) >= 16 and rng.random() < 0.3:
            seq = rng.choice(self.deliver_seqs)
            data = data[:12] + seq.to_bytes(4, "big") + data[16:]
            chunks = [data]
        for chunk in chunks:
            protocol.dataReceived(chunk)
            if self.buffered() > self.max_length:
                raise Fault("simulator framer holds more than max_length",
                            f"{self.buffered()} octets")
        self._collect()
        if self.transport.disconnecting:
            self.reset()

    def tick(self, rng: random.Random) -> None:
        self.rng = rng
        self.clock.advance(rng.choice((0.01, 0.3, 0.6, 2.0)))
        self._collect()
        if self.inputs >= 20_000:  # bound the factory's queues and id space per run
            self.inputs = 0
            self.reset(new_factory=True)
        elif self.transport.disconnecting or rng.random() < 0.02:
            self.reset()


# -- logged failures -------------------------------------------------------------------------


@implementer(ILogObserver)
class FailureLog:
    """Collects failures and errors the code under test logs (it never raises them)."""

    def __init__(self) -> None:
        #: (what: the log format, unformatted; text: formatted, with the traceback)
        self.events: list[tuple[str, str]] = []

    def __call__(self, event: dict[str, Any]) -> None:
        level = event.get("log_level")
        if "log_failure" in event or level in (LogLevel.error, LogLevel.critical):
            failure = event.get("log_failure")
            what = "logged: " + str(event.get("log_format", ""))
            text = formatEvent(event)
            if failure is not None:
                text += "\n" + failure.getTraceback()
            self.events.append((what, text))


# -- the run ---------------------------------------------------------------------------------

TARGETS: dict[str, Callable[[FuzzResult, int], Target]] = {
    "framer": lambda result, max_length: FramerTarget(result, max_length),
    "esme": lambda result, max_length: EsmeTarget(max_length),
    "simulator": lambda result, max_length: SimulatorTarget(max_length),
}


def run(
    count: int,
    seed: int = 1,
    targets: Sequence[str] = ("framer", "esme", "simulator"),
    max_length: int = MAX_LENGTH,
    extra_targets: Sequence[Target] = (),
    progress: Callable[[FuzzResult], None] | None = None,
) -> FuzzResult:
    """Feed `count` mutated PDUs to each target; deterministic for a given seed."""
    rng = random.Random(seed)
    corpus = Corpus.build()
    mutator = Mutator(corpus, rng, max_length)
    result = FuzzResult(corpus_commands=len(corpus.command_ids))
    chosen: list[Target] = [TARGETS[name](result, max_length) for name in targets]
    chosen += extra_targets
    result.targets = [t.name for t in chosen]
    result.slowest = {t.name: 0.0 for t in chosen}
    failures = FailureLog()
    globalLogPublisher.addObserver(failures)
    clock = time.perf_counter
    started = clock()
    try:
        for index in range(count):
            data = mutator.input()
            chunks = mutator.chunks(data)
            result.octets += len(data)
            tick = index % 16 == 15
            for target in chosen:
                before = clock()
                try:
                    target.run(data, chunks, rng)
                    if tick:
                        target.tick(rng)
                except Exception as exc:  # every escape is a finding
                    detail = "".join(traceback.format_exception_only(exc)).strip()
                    if isinstance(exc, Fault):
                        what = exc.what
                    else:
                        frames = traceback.extract_tb(exc.__traceback__)
                        where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}"
                        what = f"{type(exc).__name__} at {where}"
                        detail += "\n" + "".join(traceback.format_list(frames[-3:]))
                    result.add(Problem("crash", target.name, index, detail, data, what))
                    _recover(target)
                elapsed = clock() - before
                if elapsed > result.slowest[target.name]:
                    result.slowest[target.name] = elapsed
                if elapsed > HANG_SECONDS:
                    result.add(Problem("hang", target.name, index, f"took {elapsed:.2f}s", data,
                                       f"over {HANG_SECONDS:g}s"))
                if failures.events:
                    for what, text in failures.events:
                        result.add(Problem("crash", target.name, index, text, data, what))
                    failures.events.clear()
            result.count = index + 1
            if progress is not None and result.count % 100_000 == 0:
                result.seconds = clock() - started
                progress(result)
    finally:
        globalLogPublisher.removeObserver(failures)
        result.seconds = clock() - started
        result.mutations = mutator.used
        result.target_stats = {t.name: t.stats() for t in chosen if t.stats()}
    return result


def _recover(target: Target) -> None:
    """After a crash, start the target over so one bug does not hide the next."""
    reset = getattr(target, "reset", None)
    if reset is not None:
        try:
            reset()
        except Exception:
            pass  # the next input will tell


# -- reporting -------------------------------------------------------------------------------


def summary(result: FuzzResult, command: str) -> str:
    """The BENCHMARKS.md section body."""
    statuses = ", ".join(
        f"0x{status:02x}×{n:,}" for status, n in result.framer_errors.most_common(8)
    )
    slowest = ", ".join(f"{name} {sec * 1000:.1f} ms" for name, sec in result.slowest.items())
    mutations = ", ".join(f"{name} {n:,}" for name, n in sorted(result.mutations.items()))
    stats = "".join(
        f"- {name} reached: " + ", ".join(f"{k} {v:,}" for k, v in counters.items() if v) + ".\n"
        for name, counters in result.target_stats.items()
    )
    problems = "".join(
        f"- {n:,}× `{signature}`\n" for signature, n in result.signatures.most_common(20)
    )
    if problems:
        problems = (
            "\nDistinct problems (the script prints the first input of each):\n\n" + problems
        )
    return f"""\
Command: `{command}`

| inputs | targets | wall time | rate | crashes | hangs |
|---:|---|---:|---:|---:|---:|
| {result.count:,} | {", ".join(result.targets)} | {result.seconds:.1f} s \
| {result.rate:,.0f} inputs/s | {result.crashes} | {result.hangs} |

- Corpus: valid PDUs of all {result.corpus_commands} operations; {result.octets:,} octets fed.
- Framer output: {result.framer_pdus:,} PDUs decoded (each re-encoded byte-identically), \
{sum(result.framer_errors.values()):,} refused; most frequent statuses: {statuses}.
- Slowest single input per target: {slowest} (hang threshold {HANG_SECONDS:g} s).
- Mutations applied: {mutations}.
{stats}{problems}"""


def write_report(result: FuzzResult, command: str) -> str:
    """Write the section through bench/report.py if it exists, else by block replacement."""
    markdown = summary(result, command)
    report_py = Path(__file__).with_name("report.py")
    if report_py.exists():
        spec = importlib.util.spec_from_file_location("bench_report", report_py)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.write_section("fuzz_smpp", markdown)
        return markdown
    target = _ROOT / "docs" / "BENCHMARKS.md"
    start, end = "<!-- bench:fuzz:start -->", "<!-- bench:fuzz:end -->"
    block = f"{start}\n## fuzz_smpp\n\n{markdown.strip()}\n{end}"
    text = target.read_text(encoding="utf-8") if target.exists() else "# Benchmarks\n"
    if start in text and end in text:
        head, rest = text.split(start, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    target.write_text(text, encoding="utf-8")
    return markdown


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1_000_000, help="inputs (default 1e6)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument(
        "--targets", default="framer,esme,simulator",
        help="comma-separated: framer, esme, simulator (default: all three)",
    )
    parser.add_argument("--max-length", type=int, default=MAX_LENGTH,
                        help=f"framer bound for all targets (default {MAX_LENGTH})")
    parser.add_argument("--no-report", action="store_true", help="do not touch BENCHMARKS.md")
    args = parser.parse_args(argv)
    targets = [name.strip() for name in args.targets.split(",") if name.strip()]
    unknown = set(targets) - set(TARGETS)
    if unknown:
        parser.error(f"unknown targets: {', '.join(sorted(unknown))}")

    def progress(result: FuzzResult) -> None:
        print(f"  {result.count:>9,} inputs  {result.rate:>8,.0f}/s  "
              f"crashes {result.crashes}  hangs {result.hangs}", flush=True)

    print(f"fuzz_smpp: {args.count:,} inputs, seed {args.seed}, targets {', '.join(targets)}",
          flush=True)
    result = run(args.count, args.seed, targets, args.max_length, progress=progress)
    print(f"count    {result.count:,}")
    print(f"time     {result.seconds:.1f} s")
    print(f"rate     {result.rate:,.0f} inputs/s (each through {len(result.targets)} targets)")
    print(f"crashes  {result.crashes}")
    print(f"hangs    {result.hangs}")
    print("slowest  " + ", ".join(f"{n} {s * 1000:.1f} ms" for n, s in result.slowest.items()))
    for name, counters in result.target_stats.items():
        print(f"{name:<8} " + ", ".join(f"{k} {v:,}" for k, v in counters.items() if v))
    for signature, n in result.signatures.most_common():
        print(f"{n:>8,}x {signature}")
    for problem in result.problems:
        print(problem.describe())
    if not args.no_report:
        shown = sys.argv[1:] if argv is None else list(argv)
        write_report(result, " ".join(["python", "bench/fuzz_smpp.py", *shown]))
        print("wrote the fuzz_smpp section of docs/BENCHMARKS.md")
    return 1 if result.crashes or result.hangs else 0


if __name__ == "__main__":
    sys.exit(main())
