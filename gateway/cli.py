"""The ``passerelle`` command: one entry point with a subcommand per job.

``run`` runs the gateway in the foreground (``gateway.run``); ``smsc-sim`` runs the SMPP SMSC
simulator from ``protocols.smpp.simulator``; ``check-config`` validates a kannel.conf and
prints the effective configuration.
"""

from __future__ import annotations

import argparse
import sys


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
    run = sub.add_parser(
        "run",
        help="run the gateway in the foreground (Ctrl-C stops it)",
        description="Run the gateway from a kannel.conf until Ctrl-C. Without a file it "
        "uses the embedded default: the built-in SMSC simulator and sendsms on "
        "127.0.0.1:13013. Exit status: 0 after a clean stop, 1 for an invalid configuration "
        "or a port that cannot be opened.",
    )
    run.add_argument(
        "--config", "-c", dest="config_option", metavar="FILE",
        help="path to kannel.conf (default: the embedded default.conf)",
    )
    run.add_argument("config", nargs="?", help="path to kannel.conf (same as --config)")
    check = sub.add_parser(
        "check-config",
        help="validate a kannel.conf and print the effective configuration",
        description="Validate a kannel.conf (and its includes) and print the configuration "
        "Passerelle would run with, defaults included and passwords masked. Warnings go to "
        "stderr. Exit status: 0 valid, 1 invalid.",
    )
    check.add_argument(
        "config", nargs="?", help="path to kannel.conf (default: the embedded default.conf)"
    )
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
    if args.command == "check-config":
        return check_config(args.config)
    from gateway.run import run

    return run(args.config_option or args.config)


def check_config(path: str | None) -> int:
    """`passerelle check-config`: 0 and the effective configuration on stdout if C{path} is
    valid, 1 and every problem found on stderr if not; warnings always go to stderr."""
    from gateway.config import ConfigError, default_config_path, load_config, render_config

    try:
        config = load_config(path if path is not None else default_config_path())
    except ConfigError as exc:
        print(exc.render_all(), file=sys.stderr)
        count = len(exc.errors)
        print(f"configuration is invalid ({count} problem{'s' if count > 1 else ''})",
              file=sys.stderr)
        return 1
    for warning in config.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    sys.stdout.write(render_config(config))
    return 0


if __name__ == "__main__":
    sys.exit(main())
