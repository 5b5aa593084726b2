"""The ``deskline`` command: the app, and its subcommands for headless machines and scripts.

Exit codes (also in ``deskline --help``):

* 0: success (``check``: no warning or critical findings; ``report``: the report is safe in the outbox,
  sent or waiting for the connection);
* 1: ``check`` found at least one warning or critical finding; ``report``, ``outbox``, ``tickets``: the
  helpdesk refused a report or its settings need fixing (the report is kept);
* 2: bad input: unknown probe, unreadable or unwritable file, broken settings file, bad arguments, or a
  report that could not be saved (no space left);
* 70: an internal error (a bug: please report it with the output of ``--verbose``);
* 130: interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from desktop import __version__
from desktop.errors import DesklineError, UsageError

log = logging.getLogger("deskline.cli")

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130

EPILOG = """\
exit codes:
  0    success (check: no warning or critical findings; report: sent, or saved and
       waiting for the connection)
  1    check found warning or critical findings; report/outbox/tickets: the helpdesk
       refused a report or its settings need fixing (the report is kept)
  2    bad input: unknown probe, unreadable or unwritable file, broken settings file,
       or a report that could not be saved
  70   internal error (run again with --verbose and report it)
  130  interrupted

settings: --config FILE, else $DESKLINE_CONFIG, else the user's deskline.toml
(see `deskline config path`; `deskline config defaults` prints every setting).
"""

FORMATS = ("json", "markdown", "html", "bundle")


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad arguments in one line and exits 2, like every other input error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"deskline: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="deskline",
        description="Deskline: helpdesk client with diagnostics. Without a command, starts the desktop app "
        "(or, where there is no display, runs the health check and saves a report).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"deskline {__version__}")
    parser.add_argument("--config", metavar="FILE", help="settings file to use (default: $DESKLINE_CONFIG, "
                        "else the user's deskline.toml)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    sub.add_parser("app", help="start the desktop app")

    p = sub.add_parser("collect", help="collect a system report", epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--probe", "-p", action="append", metavar="NAME", default=[],
                   help="run only this probe (repeat, or separate names with commas); default: all")
    p.add_argument("--format", "-f", choices=FORMATS, default="json", help="output format (default: json)")
    p.add_argument("--output", "-o", metavar="FILE", default="-", help="write here instead of stdout")
    p.add_argument("--attach", "-a", action="append", metavar="FILE", default=[],
                   help="attach a file (text files are redacted like the report)")
    p.add_argument("--pseudonymize", action="store_true", default=None,
                   help="replace user and host names, e-mail and IP addresses with placeholders")
    p.add_argument("--no-progress", action="store_true", help="no progress on stderr even on a terminal")

    p = sub.add_parser("check", help="run the health check and print findings", epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--probe", "-p", action="append", metavar="NAME", default=[], help="only these probes")
    p.add_argument("--format", "-f", choices=("text", "json"), default="text")
    p.add_argument("--no-progress", action="store_true", help="no progress on stderr even on a terminal")

    p = sub.add_parser("probes", help="list the probes and the fields they report")
    p.add_argument("name", nargs="*", help="only these probes")
    p.add_argument("--format", "-f", choices=("text", "json"), default="text")

    p = sub.add_parser("redact", help="mask secrets in text (a file or stdin) and print it")
    p.add_argument("file", nargs="?", default="-", help="file to redact, or - for stdin (default)")
    p.add_argument("--explain", action="store_true",
                   help="also list on stderr what was masked and why (never the secrets themselves)")
    p.add_argument("--pseudonymize", action="store_true",
                   help="also replace user and host names, e-mail and IP addresses with placeholders")

    p = sub.add_parser("config", help="show, check or locate the settings")
    p.add_argument("action", nargs="?", choices=("show", "check", "path", "defaults"), default="show")

    p = sub.add_parser("schema", help="print the report's JSON Schema")
    p.add_argument("--output", "-o", metavar="FILE", default="-")

    _delivery_parsers(sub)

    p = sub.add_parser("consent", help="answer remote diagnostics requests on this terminal (no desktop app)")
    p.add_argument("--socket", metavar="PATH", help="listen here (default: the user's consent socket)")
    p.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                   help="an unanswered question counts as no after this long (default: 60)")
    return parser


LEVELS = ("low", "medium", "high")
PRIORITY_HELP = """\
priority (ITIL impact x urgency):
                 urgency high   medium   low
  impact high            urgent high     normal
         medium          high   normal   low
         low             normal low      low
"""


def _delivery_parsers(sub: Any) -> None:
    p = sub.add_parser("report", help="file a report with the helpdesk (saved in the outbox first)",
                       epilog=PRIORITY_HELP + "\n" + EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--title", "-t", required=True, help="one line saying what is wrong")
    p.add_argument("--description", "-d", required=True, help="what happened, in your words")
    p.add_argument("--category", "-c", default="", help="a category the helpdesk knows (optional)")
    p.add_argument("--impact", choices=LEVELS, default="medium", help="how many are affected (default: medium)")
    p.add_argument("--urgency", choices=LEVELS, default="medium", help="how soon it must be fixed (default: medium)")
    p.add_argument("--attach", "-a", action="append", metavar="FILE", default=[],
                   help="attach a file (text files are redacted like the report)")
    p.add_argument("--no-collect", action="store_true", help="send no system report, only the words and files")
    p.add_argument("--probe", "-p", action="append", metavar="NAME", default=[],
                   help="collect only this probe (repeat, or separate names with commas); default: all")
    p.add_argument("--no-send", action="store_true", help="only save it in the outbox (send later)")
    p.add_argument("--timeout", type=float, metavar="SECONDS",
                   help="time for sending it right away (default: outbox.send_timeout)")

    p = sub.add_parser("tickets", help="list your reports and their tickets' status", epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--refresh", action="store_true", help="ask the helpdesk for news first")
    p.add_argument("--format", "-f", choices=("text", "json"), default="text")
    p.add_argument("--timeout", type=float, metavar="SECONDS", help="time for --refresh, or for sending")
    acts = p.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
    acts.add_parser("list", help="list them (the default)")
    a = acts.add_parser("comment", help="add a comment (and files) to a report's ticket")
    a.add_argument("id", metavar="ID", help="the report (like DL-000123)")
    a.add_argument("text", help="the comment")
    a.add_argument("--attach", "-a", action="append", metavar="FILE", default=[],
                   help="attach a file (text files are redacted like the report)")
    a = acts.add_parser("rate", help="rate how a report's ticket was handled (1-5)")
    a.add_argument("id", metavar="ID", help="the report (like DL-000123)")
    a.add_argument("score", type=int, choices=range(1, 6), metavar="SCORE", help="1 (bad) to 5 (very good)")
    a.add_argument("--remark", default="", help="a few words on it")
    a = acts.add_parser("close", help="close a ticket in the local store")
    a.add_argument("id", metavar="ID", help="the report (like DL-000123)")

    p = sub.add_parser("outbox", help="reports waiting to be sent: list, send, retry, export", epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    acts = p.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
    acts.add_parser("list", help="show the queue (the default)")
    a = acts.add_parser("send", help="send what is due now, until the queue is empty or everything waits")
    a.add_argument("--timeout", type=float, metavar="SECONDS", default=None, help="stop after this long (300)")
    a = acts.add_parser("retry", help="try a failed or waiting report again now")
    a.add_argument("id", nargs="?", metavar="ID", help="the report (like DL-000123)")
    a.add_argument("--all", action="store_true", help="every failed or waiting report")
    a.add_argument("--timeout", type=float, metavar="SECONDS", default=None, help="stop after this long")
    a = acts.add_parser("export", help="write a report with all its files as a bundle (zip)")
    a.add_argument("id", metavar="ID", help="the report (like DL-000123)")
    a.add_argument("--output", "-o", metavar="FILE", default="-", help="the zip file to write")


# ------------------------------------------------------------------------------------------- helpers

def _split_names(values: Sequence[str]) -> list[str]:
    return [n.strip() for v in values for n in v.split(",") if n.strip()]


def _load_settings(args: argparse.Namespace) -> Any:
    from desktop import config

    return config.load(args.config)


def _check_writable(output: str) -> Path | None:
    """The output path, after checking it can be written (None for stdout). Raises UsageError."""
    if output == "-":
        return None
    path = Path(output)
    if path.is_dir():
        raise UsageError(f"{output}: is a folder; name a file to write")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"{output}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UsageError(f"{output}: not writable (permission denied)")
    return path


class _Progress:
    """``[ 7/15] disks ok`` on one line of stderr, only when stderr is a terminal."""

    def __init__(self, stream: TextIO, enabled: bool) -> None:
        self.stream = stream
        self.enabled = enabled and stream.isatty()

    def __call__(self, outcome: Any, done: int, total: int) -> None:
        if self.enabled:
            self.stream.write(f"\r\x1b[2K[{done:2}/{total}] {outcome.name} {outcome.status}")
            self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()


def _select(settings: Any, names: Sequence[str]) -> Any:
    from desktop.diagnostics import registry

    wanted = _split_names(names)
    disabled = set(settings["probes.disabled"])
    for name in wanted:
        if name in disabled:
            where = settings.sources.get("probes.disabled", "the settings")
            raise UsageError(f"probe {name!r} is disabled by probes.disabled ({where})")
    chosen = registry.select(wanted)
    return tuple(p for p in chosen if p.name not in disabled)


def _build_report(settings: Any, probe_names: Sequence[str], *, attach: Sequence[str] = (),
                  pseudonymize: bool | None = None, progress: _Progress | None = None, collect: bool = True) -> Any:
    from desktop.diagnostics import report

    selected = _select(settings, probe_names) if collect else ()
    paths = []
    for a in attach:
        p = Path(a)
        if not p.is_file():
            raise UsageError(f"{a}: no such file to attach")
        if not os.access(p, os.R_OK):
            raise UsageError(f"{a}: not readable (permission denied)")
        paths.append(p)
    try:
        return report.build(
            selected,
            probe_settings=settings.probe_settings(),
            thresholds=settings.section("thresholds"),
            pseudonymize=settings["report.pseudonymize"] if pseudonymize is None else pseudonymize,
            keep_private_ips=settings["report.keep_private_ips"],
            attachments=paths,
            progress=progress,
        )
    finally:
        if progress:
            progress.close()


# ------------------------------------------------------------------------------------------ commands

def cmd_collect(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    settings = _load_settings(args)
    path = _check_writable(args.output)
    if args.format == "bundle" and path is None and out.isatty():
        raise UsageError("a bundle is a zip file: name it with --output FILE")
    rep = _build_report(settings, args.probe, attach=args.attach, pseudonymize=args.pseudonymize,
                        progress=_Progress(err, not args.no_progress))
    from desktop.diagnostics.bundle import bundle_bytes, dumps_report, write_atomic
    from desktop.diagnostics.render import to_html, to_markdown

    if args.format == "bundle":
        data = bundle_bytes(rep)
    elif args.format == "markdown":
        data = to_markdown(rep.document).encode("utf-8")
    elif args.format == "html":
        data = to_html(rep.document).encode("utf-8")
    else:
        data = dumps_report(rep.document).encode("utf-8")
    if path is None:
        out.flush()
        buffer = getattr(out, "buffer", None)
        if buffer is not None:
            buffer.write(data)
            buffer.flush()
        else:
            out.write(data.decode("utf-8", errors="replace"))
    else:
        write_atomic(path, data)
        if err.isatty():
            err.write(f"Report {rep.report_id} written to {path}\n")
    return EXIT_OK


def _print_findings(found: Sequence[dict[str, Any]], out: TextIO, total_probes: int, failed: Sequence[str]) -> None:
    from desktop.diagnostics.render import SEVERITY_LABEL, show_subject

    serious = [f for f in found if f["severity"] in ("critical", "warning")]
    if not found:
        out.write(f"No problems found ({total_probes} checks run).\n")
    else:
        counts = ", ".join(
            f"{n} {s}" for s in ("critical", "warning", "info") if (n := sum(f["severity"] == s for f in found))
        )
        head = f"{len(serious)} problem{'s' if len(serious) != 1 else ''} found" if serious else "No problems found"
        out.write(f"{head} ({counts}; {total_probes} checks run).\n")
    for f in found:
        label = SEVERITY_LABEL.get(f["severity"], f["severity"]).upper()
        subject = f" ({f['subject']})" if show_subject(f) else ""
        out.write(f"\n  {label:<9} {f['title']}{subject}\n")
        if f["detail"]:
            out.write(f"  {'':<9} {f['detail']}\n")
        out.write(f"  {'':<9} Next step: {f['next_step']}\n")
    if failed:
        out.write(f"\nNot checked (probe failed): {', '.join(failed)}\n")


def cmd_check(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    settings = _load_settings(args)
    rep = _build_report(settings, args.probe, progress=_Progress(err, not args.no_progress))
    doc = rep.document
    failed = [f"{n} ({p['error']})" for n, p in doc["probes"].items() if p["status"] in ("failed", "timeout")]
    if args.format == "json":
        json.dump({"report_id": doc["report_id"], "findings": doc["findings"],
                   "probes": {n: p["status"] for n, p in doc["probes"].items()}}, out, indent=1, ensure_ascii=False)
        out.write("\n")
    else:
        _print_findings(doc["findings"], out, len(doc["probes"]), failed)
    serious = any(f["severity"] in ("critical", "warning") for f in doc["findings"])
    return EXIT_FINDINGS if serious else EXIT_OK


def cmd_probes(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from desktop.diagnostics import registry

    chosen = registry.select(_split_names(args.name))
    if args.format == "json":
        data = [{"name": p.name, "title": p.title,
                 "fields": [{"name": f.name, "type": f.type, "unit": f.unit, "doc": f.doc} for f in p.fields]}
                for p in chosen]
        json.dump(data, out, indent=1, ensure_ascii=False)
        out.write("\n")
        return EXIT_OK
    for p in chosen:
        out.write(f"{p.name}: {p.title}\n")
        width = max(len(f.name) for f in p.fields)
        for f in p.fields:
            unit = f" [{f.unit}]" if f.unit else ""
            out.write(f"  {f.name:<{width}}  {f.doc}{unit}\n")
        out.write("\n")
    for b in registry.load_all()[1]:
        out.write(f"{b.name}: disabled ({b.reason})\n")
    return EXIT_OK


def cmd_redact(args: argparse.Namespace, out: TextIO, err: TextIO, stdin: TextIO) -> int:
    from desktop.diagnostics.redaction import Redactor

    if args.file == "-":
        text, where = stdin.read(), "stdin"
    else:
        try:
            text = Path(args.file).read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise UsageError(f"{args.file}: cannot read: {exc.strerror or exc}") from exc
        where = args.file
    from desktop.diagnostics.report import known_identities

    known = known_identities() if args.pseudonymize else {}
    redactor = Redactor(pseudonymize=args.pseudonymize, usernames=known.get("usernames", ()),
                        hostnames=known.get("hostnames", ()))
    out.write(redactor.redact_text(text, where=where))
    if args.explain:
        maskings = redactor.maskings
        if not maskings:
            err.write("Nothing masked.\n")
        for m in maskings:
            line = f"line {m.line}" if m.line else where
            times = f" ({m.count} times)" if m.count > 1 else ""
            err.write(f"{line}: masked {m.kind}{times}\n")
    return EXIT_OK


def cmd_config(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from desktop import config

    if args.action == "defaults":
        out.write(config.render_defaults())
        return EXIT_OK
    path, named = config.resolve_path(args.config)
    if args.action == "path":
        out.write(f"{path}\n")
        return EXIT_OK
    settings = config.load(args.config)
    if args.action == "check":
        where = path if path.exists() else f"{path} (not present: defaults apply)"
        out.write(f"{where}: settings are valid\n")
        return EXIT_OK
    for s in config.SCHEMA:
        source = settings.sources.get(s.key, "default")
        out.write(f"{s.key} = {config._toml_value(settings[s.key])}    # {source}\n")
    return EXIT_OK


def cmd_schema(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from desktop.diagnostics.bundle import write_atomic
    from desktop.diagnostics.schema import report_schema

    path = _check_writable(args.output)
    text = json.dumps(report_schema(), indent=1, ensure_ascii=False) + "\n"
    if path is None:
        out.write(text)
    else:
        write_atomic(path, text.encode("utf-8"))
    return EXIT_OK


def _has_display() -> bool:
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) or \
        os.environ.get("QT_QPA_PLATFORM", "") in ("offscreen", "minimal")


def cmd_app(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Start the desktop app; without a display (or without Qt installed) run the check and save a report."""
    reason = None
    if not _has_display():
        reason = "no display is available"
    else:
        try:
            from desktop.ui import app
        except ImportError as exc:
            reason = f"the desktop app is not available ({exc})"
        else:
            return int(app.main(args))
    err.write(f"deskline: {reason}; running the health check and saving a report instead.\n\n")
    check_args = argparse.Namespace(config=args.config, probe=[], format="text", no_progress=False)
    status = cmd_check(check_args, out, err)
    from platformdirs import user_data_path

    folder = user_data_path("deskline", appauthor=False) / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    settings = _load_settings(args)
    rep = _build_report(settings, [])
    from desktop.diagnostics.bundle import bundle_bytes, write_atomic

    target = folder / f"deskline-report-{rep.report_id}.zip"
    write_atomic(target, bundle_bytes(rep))
    out.write(f"\nReport saved: {target}\n")
    return status


# ---------------------------------------------------------------------------------------------- main

def main(argv: Sequence[str] | None = None, *, stdout: TextIO | None = None, stderr: TextIO | None = None,
         stdin: TextIO | None = None) -> int:
    out, err, inp = stdout or sys.stdout, stderr or sys.stderr, stdin or sys.stdin
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(name)s: %(levelname)s: %(message)s", stream=err)
    command = args.command or "app"
    try:
        if command == "collect":
            return cmd_collect(args, out, err)
        if command == "check":
            return cmd_check(args, out, err)
        if command == "probes":
            return cmd_probes(args, out, err)
        if command == "redact":
            return cmd_redact(args, out, err, inp)
        if command == "config":
            return cmd_config(args, out, err)
        if command == "schema":
            return cmd_schema(args, out, err)
        if command == "report":
            from desktop.delivery_cli import cmd_report

            return cmd_report(args, out, err, _load_settings(args), _build_report)
        if command == "tickets":
            from desktop.delivery_cli import cmd_tickets

            return cmd_tickets(args, out, err, _load_settings(args))
        if command == "outbox":
            from desktop.delivery_cli import cmd_outbox

            return cmd_outbox(args, out, err, _load_settings(args), _check_writable)
        if command == "consent":
            from desktop.consent_service import cmd_consent

            return cmd_consent(args, out, err, inp)
        return cmd_app(args, out, err)
    except DesklineError as exc:
        err.write(f"deskline: {exc}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        err.write("deskline: interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # the reader went away (``deskline collect | head``): not an error worth a traceback
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except Exception:  # noqa: BLE001 - last resort: log, tell the user in one line, exit 70
        if args.verbose:
            raise
        log.exception("internal error")
        err.write("deskline: internal error; run again with --verbose and report the output\n")
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
