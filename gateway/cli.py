"""The ``passerelle`` command: one entry point with a subcommand per job.

``smsc-sim`` runs the SMPP SMSC simulator from ``protocols.smpp.simulator``; ``run`` and
``check-config`` are reserved for the gateway, which arrives with the sendsms issue.
"""

from __future__ import annotations

import argparse
import sys

NOT_BUILT = "not built yet (issue: sendsms)"


def _build_parser() -> argparse.ArgumentParser:
    """Return the top-level parser with its subcommands."""
    parser = argparse.ArgumentParser(
        prog="passerelle", description="Passerelle, an SMS gateway that replaces Kannel."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    sub.add_parser(
        "smsc-sim",
        help="run the SMPP SMSC simulator (its own options follow, see smsc-sim --help)",
        add_help=False,
    )
    run = sub.add_parser("run", help=f"run the gateway from a kannel.conf ({NOT_BUILT})")
    run.add_argument("config", nargs="?", help="path to kannel.conf")
    check = sub.add_parser("check-config", help=f"validate a kannel.conf and exit ({NOT_BUILT})")
    check.add_argument("config", nargs="?", help="path to kannel.conf")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse C{argv} (default: C{sys.argv[1:]}), run the subcommand and return its exit code."""
    if argv is None:
        argv = sys.argv[1:]
    if argv[:1] == ["smsc-sim"]:
        # Everything after the subcommand belongs to the simulator, which parses it itself
        # (argparse would reorder unknown options). Imported here so that `passerelle --help`
        # works whatever state the simulator is in.
        from protocols.smpp.simulator import main as simulator_main

        return simulator_main(argv[1:])
    args = _build_parser().parse_args(argv)
    print(f"passerelle {args.command}: {NOT_BUILT}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
