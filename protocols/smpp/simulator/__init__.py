"""An SMPP 3.4 SMSC simulator: the far end for tests, benchmarks and the demo.

`passerelle smsc-sim` (or `python -m protocols.smpp.simulator`) runs it; tests and
benchmarks build a `SimulatorConfig` and a `SimulatorFactory` themselves, usually with a
`twisted.internet.task.Clock`. See docs/simulator.md for the options and the receipt
format.
"""

from __future__ import annotations

from protocols.smpp.simulator.cli import build_parser, config_from_args, main
from protocols.smpp.simulator.config import (
    DELIVERED,
    UNDELIVERABLE,
    FinalState,
    SimulatorConfig,
)
from protocols.smpp.simulator.journal import PduJournal
from protocols.smpp.simulator.receipts import MessageIds, receipt_text
from protocols.smpp.simulator.server import (
    Account,
    SimulatorCounters,
    SimulatorFactory,
    SmscProtocol,
    listen,
)

__all__ = [
    "DELIVERED",
    "UNDELIVERABLE",
    "Account",
    "FinalState",
    "MessageIds",
    "PduJournal",
    "SimulatorConfig",
    "SimulatorCounters",
    "SimulatorFactory",
    "SmscProtocol",
    "build_parser",
    "config_from_args",
    "listen",
    "main",
    "receipt_text",
]
