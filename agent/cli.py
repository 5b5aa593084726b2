"""The ``deskline-agent`` command.

For now it runs the diagnostics engine's probes locally and prints the redacted report as JSON: the
same output an engineer will get over SSH once the agent's server lands (the agent issue). Exit
codes follow ``deskline``: 0 success, 2 bad input, 70 internal error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from desktop import __version__
from desktop.errors import DesklineError


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="deskline-agent", description="Deskline agent: remote diagnostics.")
    parser.add_argument("--version", action="version", version=f"deskline-agent {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("probe", help="run probes on this machine and print the redacted report as JSON")
    p.add_argument("names", nargs="*", help="probe names (default: all)")
    sub.add_parser("probes", help="list the probe names, one per line")
    args = parser.parse_args(argv)

    from desktop.diagnostics import registry, report

    try:
        if args.command == "probes":
            for probe in registry.probes():
                print(probe.name)
            return 0
        selected = registry.select(list(args.names))
        rep = report.build(selected, collector="agent")
    except DesklineError as exc:
        print(f"deskline-agent: {exc}", file=sys.stderr)
        return 2
    json.dump(rep.document, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
