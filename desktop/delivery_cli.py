"""The delivery subcommands of ``deskline``: ``report``, ``tickets`` and ``outbox`` (parsers live in cli.py).

Exit codes: 0 when the report is safe (sent, or saved and waiting for the connection), 1 when the
helpdesk refused a report or its settings need fixing (the report is kept), 2 for bad input or when the
report could not be saved at all (a full disk, say).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any, TextIO

from desktop.errors import UsageError

EXIT_OK = 0
EXIT_ATTENTION = 1


def _when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M") if ts else "-"


def _in(seconds: float) -> str:
    if seconds <= 1:
        return "now"
    if seconds < 90:
        return f"in {seconds:.0f} s"
    if seconds < 5400:
        return f"in {seconds / 60:.0f} min"
    return f"in {seconds / 3600:.1f} h"


def _open(settings: Any, err: TextIO) -> Any:
    from desktop.delivery import open_outbox

    outbox = open_outbox(settings)
    for warning in outbox.warnings:
        err.write(f"deskline: warning: {warning}\n")
    return outbox


def _title(text: str) -> str:
    from desktop.delivery import MAX_TITLE

    if "\n" in text or "\r" in text:
        raise UsageError("--title: one line, please (put the details in --description)")
    title = " ".join(text.split())
    if not title:
        raise UsageError("--title: a report needs a title")
    if len(title) > MAX_TITLE:
        raise UsageError(f"--title: {len(title)} characters; at most {MAX_TITLE} fit a ticket")
    return title


def outcome_line(entry: Any, problems: Sequence[str] = ()) -> str:
    """One line saying where a report is, e.g. ``DL-000004 sent: ticket #17 https://...``."""
    from desktop.delivery import ticket_label

    if entry.state == "sent":
        if entry.backend == "local":
            line = (f"{entry.incident} saved in the local store; hand it over with: "
                    f"deskline outbox export {entry.incident} -o {entry.incident}.zip")
        else:
            url = f" {entry.ticket_url}" if entry.ticket_url else ""
            line = f"{entry.incident} sent: {ticket_label(entry)}{url}"
        pending = len(entry.pending_parts)
        if pending:
            line += (f" ({pending} file{'s' if pending != 1 else ''} still to upload; they follow by themselves, "
                     "or now with: deskline outbox send)")
        missing = [p for p in entry.parts if p.state in ("refused", "failed")]
        for p in missing:
            line += f"\n  not attached: {p.name}: {p.reason}"
        return line
    if entry.state == "failed":
        return (f"{entry.incident} not sent: {entry.failed_reason}\n  it is kept in the outbox; once the cause is "
                f"fixed: deskline outbox retry {entry.incident}")
    if problems:
        return (f"{entry.incident} queued: the helpdesk settings need fixing: {problems[0]}\n  the report is kept "
                "and will be sent once the setting is fixed (then: deskline outbox send)")
    if entry.last_error:
        reason = entry.last_error.removesuffix("; will try again")
        return f"{entry.incident} queued: {reason}; it will be sent when the connection is back"
    return f"{entry.incident} queued: it will be sent by: deskline outbox send"


# ---------------------------------------------------------------------------------------- report

def cmd_report(args: argparse.Namespace, out: TextIO, err: TextIO, settings: Any, build_report: Any) -> int:
    """``deskline report``: collect, save in the outbox, try to send once (bounded), say where it is."""
    from desktop.delivery import Sender, file_report, send_entry_now

    title = _title(args.title)
    if args.no_collect and args.probe:
        raise UsageError("--probe and --no-collect contradict each other: choose one")
    rep = build_report(settings, args.probe, attach=args.attach, collect=not args.no_collect)
    outbox = _open(settings, err)
    try:
        try:
            entry = file_report(outbox, rep, title=title, description=args.description, category=args.category,
                                impact=args.impact, urgency=args.urgency,
                                reporter_name=settings["helpdesk.reporter_name"],
                                reporter_email=settings["helpdesk.reporter_email"])
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
        if args.no_send:
            out.write(f"{entry.incident} saved in the outbox; it is sent by: deskline outbox send\n")
            return EXIT_OK
        with Sender.from_settings(outbox, settings) as sender:
            timeout = args.timeout if args.timeout is not None else settings["outbox.send_timeout"]
            entry = send_entry_now(sender, entry, timeout)
            problems = [p.message for p in outbox.problems() if p.backend == settings["helpdesk.backend"]]
        out.write(outcome_line(entry, problems if entry.state == "queued" else ()) + "\n")
        if entry.state == "failed" or (entry.state == "queued" and problems):
            return EXIT_ATTENTION
        return EXIT_OK
    finally:
        outbox.close()


# --------------------------------------------------------------------------------------- tickets

def cmd_tickets(args: argparse.Namespace, out: TextIO, err: TextIO, settings: Any) -> int:
    """``deskline tickets [--refresh]``: the user's reports and their tickets' status; ``comment``, ``rate``
    and ``close`` act on one of them."""
    from desktop.connectors.base import ConfigurationError
    from desktop.delivery import refresh_tickets

    if args.action in ("comment", "rate", "close"):
        return _ticket_action(args, out, err, settings)
    status = EXIT_OK
    outbox = _open(settings, err)
    try:
        new_replies: dict[str, list[Any]] = {}
        # the local store is on this machine: always current
        if args.refresh or settings["helpdesk.backend"] == "local":
            from desktop.connectors import registry

            backend = settings["helpdesk.backend"]
            try:
                connector = registry.from_settings(settings)
            except ConfigurationError as exc:
                err.write(f"deskline: cannot check the tickets: {exc}\n")
                status = EXIT_ATTENTION
            else:
                try:
                    deadline = time.monotonic() + (args.timeout or settings["outbox.send_timeout"])
                    result = refresh_tickets(outbox, connector, backend, deadline=deadline)
                finally:
                    connector.close()
                if result.unreachable:
                    err.write(f"deskline: could not check every ticket: {result.unreachable}\n")
                for incident, message in result.errors.items():
                    err.write(f"deskline: {incident}: {message}\n")
                new_replies = result.replies
        entries = outbox.entries()
        if args.format == "json":
            json.dump([_ticket_json(outbox, e) for e in entries], out, indent=1, ensure_ascii=False)
            out.write("\n")
        elif not entries:
            out.write("No reports yet (file one with: deskline report --title ... --description ...).\n")
        else:
            for e in entries:
                _ticket_text(outbox, e, out, new_replies.get(e.incident))
        for e in entries:
            if e.replies_new:
                outbox.mark_replies_seen(e.id)
        return status
    finally:
        outbox.close()


def _ticket_action(args: argparse.Namespace, out: TextIO, err: TextIO, settings: Any) -> int:
    from desktop.delivery import Sender, send_entry_now, ticket_label

    outbox = _open(settings, err)
    try:
        entry = outbox.lookup(args.id)
        if args.action == "close":
            return _close_local(entry, out, settings)
        files = _load_files(args.attach, settings) if args.action == "comment" else []
        if args.action == "comment":  # OutboxError (a failed report, no words, a full disk): one line, exit 2
            fu = outbox.add_followup(entry.id, "comment", text=args.text, attachments=files)
        else:
            fu = outbox.add_followup(entry.id, "rating", score=args.score, text=args.remark)
        what = "comment" if fu.kind == "comment" else f"rating {fu.score}/5"
        if entry.state != "sent":
            out.write(f"{entry.incident}: {what} saved; it follows the report, which is {entry.label}\n")
            return EXIT_OK
        with Sender.from_settings(outbox, settings) as sender:
            timeout = args.timeout if args.timeout is not None else settings["outbox.send_timeout"]
            entry = send_entry_now(sender, entry, timeout)
        fu = outbox.followup(fu.id)
        if fu.state == "sent":
            tail = f" (not attached: {fu.reason})" if fu.reason else ""
            where = "the local ticket" if entry.backend == "local" else ticket_label(entry)
            out.write(f"{entry.incident}: {what} sent to {where}{tail}\n")
            return EXIT_OK
        if fu.state == "failed":
            out.write(f"{entry.incident}: {what} not sent: {fu.reason}\n")
            return EXIT_ATTENTION
        problems = [p.message for p in outbox.problems() if p.backend == entry.backend]
        if problems:
            out.write(f"{entry.incident}: {what} saved; the helpdesk settings need fixing: {problems[0]}\n")
            return EXIT_ATTENTION
        reason = entry.last_error.removesuffix("; will try again") or "not sent yet"
        out.write(f"{entry.incident}: {what} saved: {reason}; it will be sent when the connection is back\n")
        return EXIT_OK
    finally:
        outbox.close()


def _load_files(paths: Sequence[str], settings: Any) -> list[Any]:
    """The user's files for a comment, checked and redacted like a report's attachments."""
    import os
    from pathlib import Path

    from desktop.delivery import load_files

    for a in paths:
        p = Path(a)
        if not p.is_file():
            raise UsageError(f"{a}: no such file to attach")
        if not os.access(p, os.R_OK):
            raise UsageError(f"{a}: not readable (permission denied)")
    return load_files(paths, settings)


def _close_local(entry: Any, out: TextIO, settings: Any) -> int:
    from desktop.delivery import set_local_state

    if entry.backend != "local" or entry.state != "sent":
        where = "it is not in the local store" if entry.state != "sent" else f"it is on {entry.backend}"
        raise UsageError(f"{entry.incident}: only tickets in the local store are closed here ({where})")
    set_local_state(settings, entry.ticket_id, "closed")
    out.write(f"{entry.incident} closed\n")
    return EXIT_OK


def _ticket_json(outbox: Any, e: Any) -> dict[str, Any]:
    return {
        "incident": e.incident, "title": e.title, "state": e.state, "label": e.label, "backend": e.backend,
        "ticket_id": e.ticket_id, "ticket_url": e.ticket_url, "status": e.status_state,
        "status_label": e.status_label, "status_updated": e.status_updated, "created": _when(e.created),
        "replies": [{"author": r.author, "created": r.created, "text": r.text} for r in outbox.replies(e.id)],
        "new_replies": e.replies_new,
    }


def _ticket_text(outbox: Any, e: Any, out: TextIO, fresh: list[Any] | None) -> None:
    from desktop.delivery import ticket_label

    if e.state == "sent":
        state = e.status_label or e.status_state or "sent"
        where = ticket_label(e)
        updated = e.status_updated.replace("T", " ")[:16] if e.status_updated else _when(e.sent_at)
    else:
        state, where, updated = e.label, "-", _when(e.updated)
    out.write(f"{e.incident}  {state:<12} {where:<20} {updated:<16}  {e.title}\n")
    if e.ticket_url:
        out.write(f"{'':11}{e.ticket_url}\n")
    if e.replies_total:
        out.write(f"{'':11}{e.replies_total} repl{'ies' if e.replies_total != 1 else 'y'}"
                  f"{f' ({e.replies_new} new)' if e.replies_new else ''}\n")
    for r in outbox.replies(e.id, only_new=True) if (fresh or e.replies_new) else ():
        text = " ".join(r.text.split())
        out.write(f"{'':11}{r.author} ({r.created.replace('T', ' ')[:16]}): "
                  f"{text[:300]}{'…' if len(text) > 300 else ''}\n")


# ---------------------------------------------------------------------------------------- outbox

def cmd_outbox(args: argparse.Namespace, out: TextIO, err: TextIO, settings: Any, check_writable: Any) -> int:
    """``deskline outbox [list|send|retry|export]``."""
    action = args.action or "list"
    outbox = _open(settings, err)
    try:
        if action == "list":
            return _outbox_list(outbox, out)
        if action == "export":
            return _outbox_export(args, outbox, out, err, check_writable)
        if action == "retry":
            return _outbox_retry(args, outbox, out, settings)
        return _outbox_send(args, outbox, out, settings)
    finally:
        outbox.close()


def _outbox_list(outbox: Any, out: TextIO) -> int:
    from desktop.delivery import note_of

    for p in outbox.problems():
        out.write(f"Sending to {p.backend} is paused: {p.message} (fix {p.setting}, then: deskline outbox send)\n")
    entries = outbox.entries()
    if not entries:
        out.write("The outbox is empty.\n")
        return EXIT_OK
    now = outbox.clock()
    for e in entries:
        state = e.label
        if e.state in ("queued", "sending") and e.attempts:
            state += f" (tried {e.attempts}×, next {_in(e.next_attempt - now)})"
        out.write(f"{e.incident}  {_when(e.created)}  {state}  {e.title}\n")
        note = note_of(e)
        if note and e.state != "queued" or e.last_error:
            out.write(f"{'':11}{note}\n")
        for p in e.parts:
            if p.state in ("refused", "failed"):
                out.write(f"{'':11}not attached: {p.name}: {p.reason}\n")
    counts = outbox.counts()
    out.write(", ".join(f"{n} {s}" for s, n in counts.items() if n) + "\n")
    return EXIT_OK


def _outbox_export(args: argparse.Namespace, outbox: Any, out: TextIO, err: TextIO, check_writable: Any) -> int:
    from desktop.diagnostics.bundle import write_atomic

    if not args.id:
        raise UsageError("outbox export: name the report (like DL-000123)")
    path = check_writable(args.output)
    if path is None and out.isatty():
        raise UsageError("a bundle is a zip file: name it with --output FILE")
    entry = outbox.lookup(args.id)
    data = outbox.export(entry.id)
    if path is None:
        out.flush()
        buffer = getattr(out, "buffer", None)
        if buffer is None:
            raise UsageError("a bundle is a zip file: name it with --output FILE")
        buffer.write(data)
        buffer.flush()
    else:
        write_atomic(path, data)
        if err.isatty():
            err.write(f"{entry.incident} exported to {path}\n")
    return EXIT_OK


def _run_summary(result: Any, outbox: Any, out: TextIO) -> int:
    for message in result.problems:
        out.write(f"The helpdesk settings need fixing: {message}\n")
    for incident in result.sent:
        out.write(_outcome(outbox, incident) + "\n")
    for incident in result.failed:
        out.write(_outcome(outbox, incident) + "\n")
    waiting = sorted(set(result.retrying) - set(result.failed))
    for incident in waiting:
        out.write(f"{incident} waits for another try: {result.errors.get(incident, '')}\n")
    counts = outbox.counts()
    left = counts["queued"] + counts["sending"]
    out.write(f"{len(result.sent)} sent, {len(result.failed)} failed, {left} waiting in the outbox\n")
    return EXIT_ATTENTION if result.failed or result.problems else EXIT_OK


def _outcome(outbox: Any, incident: str) -> str:
    from desktop.outbox import parse_incident

    return outcome_line(outbox.get(parse_incident(incident)))


def _outbox_send(args: argparse.Namespace, outbox: Any, out: TextIO, settings: Any) -> int:
    from desktop.delivery import Sender

    with Sender.from_settings(outbox, settings) as sender:
        result = sender.run(deadline=time.monotonic() + (args.timeout or 300.0))
    return _run_summary(result, outbox, out)


def _outbox_retry(args: argparse.Namespace, outbox: Any, out: TextIO, settings: Any) -> int:
    from desktop.delivery import Sender, send_entry_now

    if args.all == bool(args.id):
        raise UsageError("outbox retry: name one report (like DL-000123) or give --all")
    if args.id:
        entry = outbox.retry(outbox.lookup(args.id).id)
        with Sender.from_settings(outbox, settings) as sender:
            entry = send_entry_now(sender, entry, args.timeout or settings["outbox.send_timeout"])
            problems = [p.message for p in outbox.problems() if p.backend == settings["helpdesk.backend"]]
        out.write(outcome_line(entry, problems if entry.state == "queued" else ()) + "\n")
        return EXIT_ATTENTION if entry.state == "failed" or (entry.state == "queued" and problems) else EXIT_OK
    n = outbox.retry_all()
    out.write(f"{n} report{'s' if n != 1 else ''} to try again\n")
    with Sender.from_settings(outbox, settings) as sender:
        result = sender.run(deadline=time.monotonic() + (args.timeout or 300.0))
    return _run_summary(result, outbox, out)
