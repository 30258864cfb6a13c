"""`passerelle smsc-sim` / `python -m protocols.smpp.simulator`: options → config → reactor.

The command line only builds a `SimulatorConfig`; everything else is the same code the
tests drive through the Python API.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import TypeVar

from protocols.smpp.simulator.config import (
    ID_FORMATS,
    RECEIPT_ID_FORMATS,
    UNDELIVERABLE,
    SimulatorConfig,
    parse_account,
    parse_final_state,
    parse_reject,
)

T = TypeVar("T")

#: Printed on stderr once the port is open; scripts read the port from it.
READY_LINE = "passerelle smsc-sim: listening on {host}:{port}"


def _checked(parse: Callable[[str], T]) -> Callable[[str], T]:
    """Turn a parser's ValueError into argparse's usage error (exit status 2)."""

    def convert(text: str) -> T:
        try:
            return parse(text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    convert.__name__ = parse.__name__
    return convert


def _seconds(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise ValueError(f"expected seconds >= 0, got {text!r}")
    return value


def _count(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError(f"expected a number >= 0, got {text!r}")
    return value


def _prefix(text: str) -> str:
    if ":" in text or not text.strip() == text:
        raise ValueError(f"a prefix has no ':' or spaces: {text!r}")
    return text


def build_parser() -> argparse.ArgumentParser:
    """The smsc-sim option parser (also used by docs and tests)."""
    parser = argparse.ArgumentParser(
        prog="passerelle smsc-sim",
        description="An SMPP 3.4 SMSC simulator: binds, submit responses, delivery receipts, "
        "MO traffic and error injection, for tests, benchmarks and demos.",
    )
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    add(
        "--port",
        type=_checked(_count),
        default=2775,
        help="TCP port; 0 picks a free one, printed on stderr (default: %(default)s)",
    )
    add(
        "--account",
        metavar="SYSTEM_ID:PASSWORD",
        action="append",
        default=[],
        type=_checked(parse_account),
        help="credentials allowed to bind (repeatable); without any, every bind succeeds",
    )
    add(
        "--id-format",
        choices=ID_FORMATS,
        default="decimal",
        help="message ids in submit responses (default: %(default)s)",
    )
    add(
        "--receipt-id-format",
        choices=RECEIPT_ID_FORMATS,
        default="same",
        help="the id inside receipts: the same string, or the same number in decimal/hex "
        "(default: %(default)s)",
    )
    add(
        "--id-start",
        type=_checked(_count),
        default=None,
        metavar="N",
        help="first message id number (default: derived from the clock, unique across runs)",
    )
    add(
        "--dlr-delay",
        type=_checked(_seconds),
        default=1.0,
        metavar="SECONDS",
        help="final receipt this long after the response; an intermediate one (rd & 0x10) "
        "at half of it (default: %(default)s)",
    )
    add(
        "--undeliverable",
        metavar="PREFIX",
        action="append",
        default=[],
        type=_checked(_prefix),
        help="destinations with this prefix end stat:UNDELIV err:001 (repeatable)",
    )
    add(
        "--final-state",
        metavar="PREFIX:STAT[:ERR]",
        action="append",
        default=[],
        type=_checked(parse_final_state),
        help="destinations with this prefix end in STAT (DELIVRD, UNDELIV, EXPIRED, "
        "DELETED, REJECTD, UNKNOWN) with error ERR (repeatable)",
    )
    add(
        "--reject",
        metavar="PREFIX:STATUS",
        action="append",
        default=[],
        type=_checked(parse_reject),
        help="answer submits to this prefix with STATUS, e.g. 4670:0x0B (repeatable)",
    )
    add(
        "--throttle",
        type=_checked(_count),
        default=0,
        metavar="N",
        help="over N submits/s per system_id answer ESME_RTHROTTLED (0x58); 0 = off",
    )
    add(
        "--drop-every",
        type=_checked(_seconds),
        default=0.0,
        metavar="SECONDS",
        help="abort every connection this often; 0 = never",
    )
    add(
        "--resp-delay",
        type=_checked(_seconds),
        default=0.0,
        metavar="SECONDS",
        help="answer submits this late; 0 = at once",
    )
    add(
        "--mo-every",
        type=_checked(_seconds),
        default=0.0,
        metavar="SECONDS",
        help="send an MO deliver_sm to a bound receiver this often; 0 = never",
    )
    add(
        "--mo-from",
        default=SimulatorConfig.mo_from,
        metavar="X",
        help="MO sender (default: %(default)s)",
    )
    add(
        "--mo-to",
        default=SimulatorConfig.mo_to,
        metavar="Y",
        help="MO destination (default: %(default)s)",
    )
    add(
        "--mo-text",
        default=SimulatorConfig.mo_text,
        metavar="T",
        help="MO text; non-ASCII text is sent as UCS-2 (default: %(default)s)",
    )
    add(
        "--log",
        metavar="FILE",
        default=None,
        help="write every PDU received and sent as a JSON line to FILE ('-' = stdout); "
        "default: no log",
    )
    add(
        "--log-max-bytes",
        type=_checked(_count),
        default=SimulatorConfig.log_max_bytes,
        metavar="N",
        help="rotate the log to FILE.1 past N bytes; 0 = never (default: %(default)s)",
    )
    add(
        "--max-pending",
        type=_checked(_count),
        default=SimulatorConfig.max_pending,
        metavar="N",
        help="receipts/MOs queued per system_id while no receiver can take them "
        "(default: %(default)s)",
    )
    add(
        "--deliver-retry-delay",
        type=_checked(_seconds),
        default=SimulatorConfig.deliver_retry_delay,
        metavar="SECONDS",
        help="send a deliver_sm answered with a temporary error again after this long "
        "(default: %(default)s)",
    )
    add(
        "--deliver-window",
        type=_checked(_count),
        default=SimulatorConfig.deliver_window,
        metavar="N",
        help="unacknowledged deliver_sm per connection; 0 = unlimited (default: %(default)s)",
    )
    add(
        "--max-pdu-length",
        type=_checked(_count),
        default=SimulatorConfig.max_pdu_length,
        metavar="N",
        help="largest command_length accepted (default: %(default)s)",
    )
    return parser


def config_from_args(argv: list[str]) -> SimulatorConfig:
    """Parse the command line into a config (argparse exits with status 2 on errors)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    finals = [(prefix, UNDELIVERABLE) for prefix in args.undeliverable] + args.final_state
    try:
        return SimulatorConfig(
            host=args.host,
            port=args.port,
            accounts=tuple(args.account),
            id_format=args.id_format,
            id_start=args.id_start,
            receipt_id_format=args.receipt_id_format,
            dlr_delay=args.dlr_delay,
            final_states=tuple(finals),
            rejects=tuple(args.reject),
            throttle=args.throttle,
            drop_every=args.drop_every,
            resp_delay=args.resp_delay,
            mo_every=args.mo_every,
            mo_from=args.mo_from,
            mo_to=args.mo_to,
            mo_text=args.mo_text,
            log_path=args.log,
            log_max_bytes=args.log_max_bytes,
            max_pending=args.max_pending,
            deliver_window=args.deliver_window,
            deliver_retry_delay=args.deliver_retry_delay,
            max_pdu_length=args.max_pdu_length,
        )
    except ValueError as err:
        parser.error(str(err))
        raise  # unreachable: parser.error exits


def main(argv: list[str]) -> int:
    """Run the simulator until SIGINT/SIGTERM; print its counters on stderr when it stops."""
    try:
        config = config_from_args(argv)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 2

    from twisted.internet import reactor
    from twisted.internet.error import CannotListenError
    from twisted.logger import (
        FilteringLogObserver,
        LogLevel,
        LogLevelFilterPredicate,
        globalLogBeginner,
        textFileLogObserver,
    )

    from protocols.smpp.simulator.server import listen

    globalLogBeginner.beginLoggingTo(
        [
            FilteringLogObserver(
                textFileLogObserver(sys.stderr), [LogLevelFilterPredicate(LogLevel.warn)]
            )
        ],
        redirectStandardIO=False,
    )
    try:
        port = listen(reactor, config)  # type: ignore[arg-type]
    except CannotListenError as err:
        print(f"passerelle smsc-sim: {err}", file=sys.stderr)
        return 1
    address = port.getHost()
    print(
        READY_LINE.format(host=address.host, port=address.port),  # type: ignore[attr-defined]
        file=sys.stderr,
        flush=True,
    )
    reactor.run()  # type: ignore[attr-defined]
    factory = port.factory  # type: ignore[attr-defined]
    print(json.dumps({"counters": factory.counters.as_dict()}), file=sys.stderr, flush=True)
    return 0
