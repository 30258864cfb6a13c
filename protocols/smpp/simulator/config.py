"""What a simulator run does, as one immutable value.

The same `SimulatorConfig` comes from the command line (`passerelle smsc-sim`) or from a
test or benchmark that builds it directly, so both paths exercise the same code and a test
can never drift from what the command does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from protocols.smpp import constants as c
from protocols.smpp.framer import DEFAULT_MAX_LENGTH

ID_FORMATS = ("decimal", "hex", "uuid")
RECEIPT_ID_FORMATS = ("same", "decimal", "hex")

#: The `stat:` words of a receipt and the message_state TLV value each one carries.
STATS: dict[str, int] = {
    "ENROUTE": c.STATE_ENROUTE,
    "DELIVRD": c.STATE_DELIVERED,
    "EXPIRED": c.STATE_EXPIRED,
    "DELETED": c.STATE_DELETED,
    "UNDELIV": c.STATE_UNDELIVERABLE,
    "ACCEPTD": c.STATE_ACCEPTED,
    "UNKNOWN": c.STATE_UNKNOWN,
    "REJECTD": c.STATE_REJECTED,
}


@dataclass(frozen=True, slots=True)
class FinalState:
    """How a message ends, as its final receipt reports it.

    `err` is the 3-digit `err:` field and, for failures, the GSM cause carried in the
    network_error_code TLV (Kannel copies it into the DLR's `dlr_err` meta-data).
    """

    stat: str
    err: int = 0

    def __post_init__(self) -> None:
        if self.stat not in STATS:
            raise ValueError(f"unknown receipt stat {self.stat!r}; known: {', '.join(STATS)}")
        if not 0 <= self.err <= 999:
            raise ValueError(f"err must be 0..999, not {self.err}")

    @property
    def message_state(self) -> int:
        """The message_state TLV value for this stat."""
        return STATS[self.stat]

    @property
    def failed(self) -> bool:
        """Whether an ESME that asked for failure-only receipts (rd & 3 == 2) gets this one.

        ENROUTE and ACCEPTD are not failures: the message is still on its way.
        """
        return self.stat not in ("DELIVRD", "ACCEPTD", "ENROUTE")


DELIVERED = FinalState("DELIVRD", 0)
UNDELIVERABLE = FinalState("UNDELIV", 1)


@dataclass(frozen=True)
class SimulatorConfig:
    """Everything one simulator run does; the defaults are a well-behaved SMSC.

    Prefix tables are tuples of pairs so the value stays hashable and frozen; the longest
    matching prefix wins. Times are seconds on the factory's clock.
    """

    host: str = "127.0.0.1"
    port: int = 2775
    #: (system_id, password) pairs allowed to bind; empty means anyone may bind.
    accounts: tuple[tuple[str, str], ...] = ()
    #: system_id the simulator names itself with in bind responses.
    smsc_system_id: str = "passerelle-sim"
    id_format: str = "decimal"
    #: First message id number; None derives it from the wall clock so that ids stay
    #: unique across runs too (a gateway's DLR store may outlive one simulator run).
    id_start: int | None = None
    #: Format of the id inside receipts: "same" as the submit_sm_resp, or the same number
    #: rendered in the other base (carriers that answer in hex and report in decimal).
    receipt_id_format: str = "same"
    dlr_delay: float = 1.0
    #: Destination prefix → how the message ends (default: DELIVRD).
    final_states: tuple[tuple[str, FinalState], ...] = ()
    #: Destination prefix → command_status of the submit response.
    rejects: tuple[tuple[str, int], ...] = ()
    #: Submits per second and system_id before ESME_RTHROTTLED; 0 = unlimited.
    throttle: int = 0
    #: Close every connection this often (0 = never).
    drop_every: float = 0.0
    #: Delay before answering submit_sm / data_sm / submit_multi.
    resp_delay: float = 0.0
    #: Send an MO deliver_sm this often to a bound receiver (0 = never).
    mo_every: float = 0.0
    mo_from: str = "4670000001"
    mo_to: str = "12345"
    mo_text: str = "Hello from passerelle smsc-sim"
    #: JSON-lines PDU log: a path, "-" for stdout, or None for no log.
    log_path: str | None = None
    #: The log file is rotated to `<path>.1` when it passes this size (0 = never).
    log_max_bytes: int = 64 * 1024 * 1024
    #: Keep the last N log records in memory (`factory.journal.records`); 0 = none.
    record: int = 0
    #: Receipts and MOs waiting for a receiver, per system_id, before new ones are dropped.
    max_pending: int = 100_000
    #: Unacknowledged deliver_sm per connection (0 = unlimited).
    deliver_window: int = 1024
    #: A deliver_sm answered with a temporary error (ESME_RX_T_APPN, ESME_RMSGQFUL,
    #: ESME_RTHROTTLED, ESME_RSYSERR) is sent again after this many seconds, as carriers do.
    deliver_retry_delay: float = 2.0
    max_pdu_length: int = DEFAULT_MAX_LENGTH

    def __post_init__(self) -> None:
        if self.id_format not in ID_FORMATS:
            raise ValueError(f"id_format must be one of {ID_FORMATS}, not {self.id_format!r}")
        if self.receipt_id_format not in RECEIPT_ID_FORMATS:
            raise ValueError(
                f"receipt_id_format must be one of {RECEIPT_ID_FORMATS}, "
                f"not {self.receipt_id_format!r}"
            )
        if self.id_format == "uuid" and self.receipt_id_format != "same":
            raise ValueError("uuid message ids have no other base: use receipt_id_format same")
        for name in ("dlr_delay", "drop_every", "resp_delay", "mo_every", "deliver_retry_delay"):
            value = getattr(self, name)
            if not value >= 0:
                raise ValueError(f"{name} must be >= 0, not {value}")
        for name in ("throttle", "log_max_bytes", "record", "max_pending", "deliver_window"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, not {getattr(self, name)}")
        if self.id_start is not None and self.id_start < 0:
            raise ValueError(f"id_start must be >= 0, not {self.id_start}")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be 0..65535, not {self.port}")
        for _prefix, status in self.rejects:
            if not 0 < status <= 0xFFFFFFFF:
                raise ValueError(f"reject status must be a non-zero 32-bit value, not {status}")
        if self.max_pdu_length < 64:
            raise ValueError(f"max_pdu_length must be at least 64, not {self.max_pdu_length}")


_PREFIX = re.compile(r"[^:\s]*")


def parse_account(text: str) -> tuple[str, str]:
    """`SYSTEM_ID:PASSWORD` (the password may itself contain colons)."""
    system_id, sep, password = text.partition(":")
    if not sep or not system_id:
        raise ValueError(f"expected SYSTEM_ID:PASSWORD, got {text!r}")
    if len(system_id) > 15 or len(password) > 8:
        raise ValueError("SMPP allows a system_id of 15 and a password of 8 characters at most")
    return system_id, password


def parse_reject(text: str) -> tuple[str, int]:
    """`PREFIX:STATUS`, the status in hex (`0x0B`) or decimal (`11`)."""
    prefix, sep, status = text.rpartition(":")
    if not sep or not _PREFIX.fullmatch(prefix):
        raise ValueError(f"expected PREFIX:STATUS, got {text!r}")
    try:
        value = int(status, 0)
    except ValueError:
        raise ValueError(f"status must be a number such as 0x0B, got {status!r}") from None
    if not 0 < value <= 0xFFFFFFFF:
        raise ValueError(f"status must be a non-zero 32-bit value, got {status!r}")
    return prefix, value


def parse_final_state(text: str) -> tuple[str, FinalState]:
    """`PREFIX:STAT[:ERR]`, e.g. `4670:EXPIRED:027`; ERR defaults to 000 / 001 on failure."""
    prefix, sep, rest = text.partition(":")
    if not sep or not _PREFIX.fullmatch(prefix):
        raise ValueError(f"expected PREFIX:STAT[:ERR], got {text!r}")
    stat, sep, err = rest.partition(":")
    stat = stat.upper()
    try:
        code = int(err, 10) if sep else (0 if stat == "DELIVRD" else 1)
    except ValueError:
        raise ValueError(f"err must be a decimal number, got {err!r}") from None
    return prefix, FinalState(stat, code)
