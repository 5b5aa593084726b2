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
    s = sub.add_parser("serve", help="run the agent's SSH server until SIGINT or SIGTERM")
    s.add_argument("--listen", metavar="HOST:PORT", help="address to listen on (default: agent.listen)")
    s.add_argument("--authorized-keys", metavar="FILE", help="the engineers' keys (authorized_keys format)")
    s.add_argument("--host-key", metavar="FILE", help="the agent's host key (made on first start)")
    s.add_argument("--audit-log", metavar="FILE", help="the audit log (JSON lines)")
    s.add_argument("--config", metavar="FILE", help="Deskline settings file")
    s.add_argument("--unattended", metavar="FINGERPRINT", action="append", default=[],
                   help="a key fingerprint (SHA256:...) that may run commands without asking; repeatable")
    f = sub.add_parser("fingerprint", help="print the agent's host key fingerprint (making the key if needed)")
    f.add_argument("--host-key", metavar="FILE", help="the agent's host key")
    f.add_argument("--config", metavar="FILE", help="Deskline settings file")
    f.add_argument("--public", action="store_true", help="print the public key line instead")
    args = parser.parse_args(argv)

    if args.command in ("serve", "fingerprint"):
        from agent import server

        if args.command == "fingerprint":
            return server.run_fingerprint(host_key=args.host_key, config=args.config, public=args.public)
        return server.run_serve(listen=args.listen, authorized_keys=args.authorized_keys, host_key=args.host_key,
                                audit_log=args.audit_log, config=args.config, unattended=args.unattended)

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
