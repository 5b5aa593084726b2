"""The ``deskline-agent`` command: ``serve`` (the SSH agent on the user's machine), ``fingerprint``, the
engineer's ``run``, ``trust`` and ``diff``, ``dispatch`` (the forced command IT installs for plain
OpenSSH), and ``probe``/``probes``, which answer here, with this machine's settings and IT's policy,
exactly what the agent answers an engineer over SSH. Exit codes follow ``deskline``: 0 success, 2 bad input,
70 internal error. See docs/agent.md.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from desktop import __version__
from desktop.errors import DesklineError


def _fingerprint(text: str) -> str:
    """argparse type of ``serve --unattended``: a key fingerprint, checked as ``agent.unattended`` is."""
    from desktop.config import fingerprint_problem

    problem = fingerprint_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return text


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="deskline-agent", description="Deskline agent: remote diagnostics.")
    parser.add_argument("--version", action="version", version=f"deskline-agent {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    p = sub.add_parser("probe", help="run probes here and print the answer the agent would send over SSH",
                       description="Runs `probe NAME ...` (no names: `report`) through the agent's own engine "
                                   "with this machine's settings and IT's policy (probes.disabled, [probes], "
                                   "[thresholds], report.pseudonymize) and prints the answer document, one "
                                   "line of JSON, exactly as the agent sends it. Exit codes: the answer's "
                                   "(0 ok, 2 bad input, 4 a probe IT disabled, 70 internal error); 2 for "
                                   "broken settings.")
    p.add_argument("names", nargs="*", metavar="NAME", help="probe names (default: all, as `report`)")
    p.add_argument("--config", metavar="FILE", help="Deskline settings file (as serve; the policy applies too)")
    ps = sub.add_parser("probes", help="list the probes the agent lists, one per line; IT's disabled marked")
    ps.add_argument("--config", metavar="FILE", help="Deskline settings file (as serve; the policy applies too)")
    ps.add_argument("--json", action="store_true", help="print the agent's `probes` answer document instead")
    s = sub.add_parser("serve", help="run the agent's SSH server until SIGINT or SIGTERM")
    s.add_argument("--listen", metavar="HOST:PORT", help="address to listen on (default: agent.listen)")
    s.add_argument("--authorized-keys", metavar="FILE", help="the engineers' keys (authorized_keys format)")
    s.add_argument("--host-key", metavar="FILE", help="the agent's host key (made on first start)")
    s.add_argument("--audit-log", metavar="FILE", help="the audit log (JSON lines)")
    s.add_argument("--config", metavar="FILE", help="Deskline settings file")
    s.add_argument("--unattended", metavar="FINGERPRINT", action="append", default=[], type=_fingerprint,
                   help="a key fingerprint (SHA256:...) that may run commands without asking; repeatable")
    s.add_argument("--via", metavar="USER@BASTION[:PORT]", help="also keep a link to this OpenSSH bastion and be "
                   "reachable through it (ssh -J); reconnects with backoff")
    s.add_argument("--via-port", type=int, default=2222, metavar="PORT",
                   help="the port on the bastion's loopback engineers jump to (default: 2222)")
    s.add_argument("--via-key", metavar="FILE", help="key to log in to the bastion (default: the agent's host key)")
    s.add_argument("--via-known-hosts", metavar="FILE", help="the bastion's host key (default: ~/.ssh/known_hosts)")
    f = sub.add_parser("fingerprint", help="print the agent's host key fingerprint (making the key if needed)")
    f.add_argument("--host-key", metavar="FILE", help="the agent's host key")
    f.add_argument("--config", metavar="FILE", help="Deskline settings file")
    f.add_argument("--public", action="store_true", help="print the public key line instead")
    r = sub.add_parser("run", help="run a command on hosts over SSH (agent, dispatch or payload mode) and show it",
                       description="Exit codes: 0 every host answered ok, 1 some did not, 2 bad input.")
    r.add_argument("targets", nargs="*", metavar="TARGET", help="[user@]host[:port]")
    r.add_argument("--targets", dest="targets_files", action="append", default=[], metavar="FILE",
                   help="a file of targets, one per line (# comments); repeatable")
    r.add_argument("--inventory", action="append", default=[], metavar="FILE",
                   help="an Ansible inventory (INI or YAML); repeatable")
    r.add_argument("--limit", metavar="PATTERN", help="inventory groups or hosts: web,db or prod:!web")
    what = r.add_mutually_exclusive_group(required=True)
    what.add_argument("--probe", nargs="+", action="extend", metavar="NAME", help="run these probes")
    what.add_argument("--report", action="store_true", help="the full report")
    what.add_argument("--check", action="store_true", help="the findings only")
    what.add_argument("--ping", action="store_true", help="is the agent there")
    what.add_argument("--logs", metavar="SOURCE", choices=("auto", "journal", "syslog"), help="recent log entries")
    r.add_argument("--since", metavar="DURATION", help="with --logs: 30m, 6h, 2d")
    r.add_argument("--arg", action="append", default=[], metavar="KEY=VALUE", help="a probe setting; repeatable")
    r.add_argument("--mode", choices=("agent", "dispatch", "payload"), default="agent",
                   help="agent: deskline-agent serve (port 2222 unless a target names one); dispatch: OpenSSH "
                        "with the forced-command dispatcher; "
                        "payload: OpenSSH and a shell, the engine sent to python3 -I -")
    r.add_argument("--python", default="/usr/bin/python3", metavar="PATH", help="payload mode: the host's Python")
    r.add_argument("--parallel", type=int, default=10, metavar="N", help="hosts at once (default 10)")
    r.add_argument("-u", "--user", help="SSH user when the target names none (default: yours)")
    r.add_argument("-i", "--identity", action="append", default=[], metavar="KEY", help="private key; repeatable")
    r.add_argument("--known-hosts", action="append", default=[], metavar="FILE",
                   help="known_hosts file besides ~/.ssh/known_hosts; repeatable")
    r.add_argument("-J", "--jump", metavar="[USER@]HOST[:PORT][,...]",
                   help="reach targets through this jump host (as ssh -J; several: comma-separated), unless "
                        "their inventory or targets file names one")
    r.add_argument("--ticket", help="agent mode: the ticket the user's consent request names")
    r.add_argument("--attach", metavar="TICKET", help="post the results to this ticket (the helpdesk of "
                   "your settings: helpdesk.backend, helpdesk.url, credentials) as a comment with files")
    r.add_argument("--config", metavar="FILE", help="Deskline settings file (for --attach)")
    r.add_argument("--connect-timeout", type=float, metavar="SECONDS",
                   help="default: the ssh config's ConnectTimeout, else 5")
    r.add_argument("-F", "--ssh-config", metavar="FILE",
                   help="OpenSSH client config for host aliases and settings (default: ~/.ssh/config if it "
                        "exists; 'none': read none)")
    r.add_argument("--timeout", type=float, default=120.0, metavar="SECONDS", help="per command (default 120)")
    r.add_argument("--format", choices=("table", "jsonl", "html"), default="table")
    r.add_argument("-o", "--output", metavar="FILE", help="write there instead of stdout")
    r.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    t = sub.add_parser("trust", help="add a host's SSH key to known_hosts after checking its fingerprint")
    t.add_argument("target", metavar="HOST[:PORT]")
    t.add_argument("--fingerprint", metavar="SHA256:...", help="the fingerprint the host's owner gave you")
    t.add_argument("--known-hosts", metavar="FILE", help="default: ~/.ssh/known_hosts")
    t.add_argument("--mode", choices=("agent", "dispatch", "payload"), default="agent",
                   help="without a port: agent (default) means the agent's 2222, the others OpenSSH's 22")
    t.add_argument("-J", "--jump", metavar="[USER@]HOST[:PORT][,...]",
                   help="reach the host through this jump host (as ssh -J), whose own key must be known")
    t.add_argument("-i", "--identity", action="append", default=[], metavar="KEY",
                   help="private key for the jump host; repeatable")
    t.add_argument("--connect-timeout", type=float, metavar="SECONDS",
                   help="default: the ssh config's ConnectTimeout, else 5")
    t.add_argument("-F", "--ssh-config", metavar="FILE",
                   help="OpenSSH client config (default: ~/.ssh/config if it exists; 'none': read none)")
    d = sub.add_parser("diff", help="what changed between two reports (JSON, answers or bundles)",
                       description="Exit codes: 0 no changes, 1 changes, 2 bad input.")
    d.add_argument("first", metavar="A")
    d.add_argument("second", metavar="B")
    d.add_argument("--format", choices=("text", "json"), default="text")
    d.add_argument("--tolerance", type=float, default=5.0, metavar="PERCENT",
                   help="numbers moving less than this (percentage points for percentages) do not count")
    d.add_argument("--all", action="store_true", help="also compare fields that change on every run; list all")
    sub.add_parser("dispatch", help="forced command for OpenSSH's authorized_keys: runs SSH_ORIGINAL_COMMAND")
    args = parser.parse_args(argv)

    if args.command == "dispatch":
        from agent.dispatch import dispatch_main

        return dispatch_main()
    if args.command == "diff":
        from agent.diff import run_diff

        return run_diff(args.first, args.second, args.format, args.tolerance, args.all)
    if args.command in ("run", "trust"):
        from agent import console

        if args.command == "trust":
            return console.run_trust(args.target, args.fingerprint, args.known_hosts, args.connect_timeout,
                                     mode=args.mode, jump=args.jump, identities=args.identity,
                                     ssh_config=args.ssh_config)
        try:
            request = console.request_from(args.probe, args.report, args.check, args.ping, args.logs, args.since,
                                           args.arg)
        except DesklineError as exc:
            print(f"deskline-agent run: {exc}", file=sys.stderr)
            return 2
        return console.run_command(
            targets=args.targets, targets_files=args.targets_files, inventories=args.inventory, limit=args.limit,
            request=request, mode=args.mode, python=args.python, parallel=args.parallel, user=args.user,
            identities=args.identity, known_hosts=args.known_hosts, ticket=args.ticket,
            connect_timeout=args.connect_timeout, timeout=args.timeout, fmt=args.format, output=args.output,
            progress=not args.no_progress, attach=args.attach, config=args.config, jump=args.jump,
            ssh_config=args.ssh_config)

    if args.command in ("serve", "fingerprint"):
        from agent import server

        if args.command == "fingerprint":
            return server.run_fingerprint(host_key=args.host_key, config=args.config, public=args.public)
        from agent.consent_channel import default_gate

        server.limit_malloc_arenas()  # before the first thread of the server
        serve = {"listen": args.listen, "authorized_keys": args.authorized_keys, "host_key": args.host_key,
                 "audit_log": args.audit_log, "config": args.config, "unattended": args.unattended,
                 "gate_factory": default_gate}
        if args.via:
            from agent.bastion import run_serve_via

            return run_serve_via(args.via, remote_port=args.via_port, key_file=args.via_key,
                                 known_hosts=args.via_known_hosts, **serve)
        return server.run_serve(**serve)

    return _local(args.command, args.names if args.command == "probe" else [], args.config,
                  as_json=args.command == "probes" and args.json)


def _local(command: str, names: Sequence[str], config: str | None, *, as_json: bool = False) -> int:
    """``probe``/``probes``: the agent's answer on this machine, built as ``serve`` builds it (the same
    settings and policy, the same parser and :func:`agent.commands.execute`), without SSH or consent."""
    from agent import commands, protocol
    from desktop import config as desktop_config
    from desktop.diagnostics import registry

    try:
        settings = desktop_config.load(config)
        # as serve's AgentServer.probe_settings: [probes] with "disabled" holding IT's switched-off probes
        probe_settings = settings.probe_settings()
        probe_settings["disabled"] = sorted(set(settings["probes.disabled"]))
        known = tuple(p.name for p in registry.probes())
    except DesklineError as exc:
        print(f"deskline-agent {command}: {exc}", file=sys.stderr)
        return 2
    line = "probes" if command == "probes" else " ".join(["probe", *names]) if names else "report"
    try:
        parsed = protocol.parse(line, known)
    except protocol.ProtocolError as exc:
        document = protocol.refusal(line.split(" ", 1)[0], exc.exit, str(exc))
    else:
        document = commands.execute(parsed, probe_settings=probe_settings, thresholds=settings.section("thresholds"),
                                    pseudonymize=settings["report.pseudonymize"],
                                    keep_private_ips=settings["report.keep_private_ips"],
                                    remote_arguments=tuple(settings["agent.remote_arguments"]))
    if not document["ok"]:
        print(f"deskline-agent {command}: {document['error']['message']}", file=sys.stderr)
    if command == "probes" and document["ok"] and not as_json:
        disabled = set(probe_settings["disabled"])
        for entry in document["result"]:
            mark = "  (disabled)" if entry["name"] in disabled else ""
            print(f"{entry['name']}{mark}")
        return 0
    sys.stdout.flush()
    sys.stdout.buffer.write(protocol.encode(document))
    sys.stdout.flush()
    return int(document["exit"])

if __name__ == "__main__":
    sys.exit(main())
