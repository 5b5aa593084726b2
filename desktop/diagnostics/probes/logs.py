"""Recent errors in the system logs, bounded by a time window, a count and a size.

Linux: the systemd journal when there is one (``journalctl --priority=err``: emerg, alert, crit and err),
else the tail of the classic syslog file (``/var/log/syslog`` on Debian and Ubuntu, ``/var/log/messages``
on RHEL and SUSE), filtered by error words because syslog files do not keep the priority. Windows: the
System and Application event logs (critical and error levels). macOS: the unified log, which is slow to
query; the probe gives up after a few seconds rather than hold up the report.

Besides the newest entries the result counts all errors found in the window and which programs wrote
them, so a rule can say "nginx wrote 300 errors today" even when only 100 entries are kept.

Log lines may contain secrets; redaction runs later on the whole report. This probe keeps only what
the caps allow, and cuts each message at a fixed length.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from desktop.diagnostics.base import LINUX, MACOS, WINDOWS, Argument, ProbeContext, ProbeError, Unsupported, field

NAME = "logs"
TITLE = "Recent errors in logs"

#: What an engineer may set for one remote command: the window (at most 30 days, as `logs --since`) and caps
#: that keep the answer well below the agent's output cap.
ARGUMENTS = (
    Argument("logs.window_hours", "number", "How far back to look for errors", unit="h", minimum=0,
             exclusive_minimum=True, maximum=720),
    Argument("logs.max_entries", "integer", "At most this many recent error entries are kept", minimum=1,
             maximum=1000),
    Argument("logs.max_bytes", "integer", "At most this many bytes of log text are kept", unit="B", minimum=1024,
             maximum=1024 * 1024),
)

#: Where journald keeps its files: volatile first, then persistent; one subdirectory per machine ID.
JOURNAL_DIRS = (Path("/run/log/journal"), Path("/var/log/journal"))
#: What ``logs.source`` may name: the best available (the journal, else a syslog file), or one of them.
SOURCES = ("auto", "journal", "syslog")
#: Classic syslog files, the first readable one is used.
SYSLOG_FILES = (Path("/var/log/syslog"), Path("/var/log/messages"))
#: Only the end of a syslog file is read.
SYSLOG_TAIL_BYTES = 512 * 1024
#: Each message is cut to this many characters.
MESSAGE_CHARS = 500
#: How many sources are named in top_sources.
TOP_SOURCES = 10
#: The journal is asked for at most this many entries (or max_entries if larger) to count them.
COUNT_LIMIT = 1000
JOURNAL_TIMEOUT = 3.0
JOURNAL_FIELDS = "MESSAGE,PRIORITY,SYSLOG_IDENTIFIER,_COMM,_PID,_SYSTEMD_UNIT,_SYSTEMD_USER_UNIT"
PRIORITY_NAMES = ("emerg", "alert", "crit", "err", "warning", "notice", "info", "debug")
#: Words that mark a syslog line as an error; syslog files keep no priority, so this is a heuristic (it
#: also catches "0 errors" and misses errors worded otherwise).
ERRORISH = re.compile(r"error|fail|crit|panic|segfault|oops|dumped core", re.IGNORECASE)


@dataclass(frozen=True)
class LogEntry:
    time: str = field(doc="When it was logged, ISO 8601 with the local UTC offset")
    priority: str | None = field(
        doc="Journal priority (emerg, alert, crit, err), Windows level (critical, error), macOS type (error, "
        "fault); None for syslog files, which do not record it"
    )
    source: str = field(
        doc="The program that logged it: syslog identifier or command name (Linux), event source (Windows), "
        "process (macOS); '' when the line does not say"
    )
    unit: str | None = field(doc="systemd unit of the program (journal only; None elsewhere or when not in one)")
    pid: int | None = field(doc="Process ID of the program when logged (None when not recorded)")
    message: str = field(doc=f"The message, cut to {MESSAGE_CHARS} characters (ending in … when cut)")


@dataclass(frozen=True)
class SourceCount:
    source: str = field(doc="Program (or unit when the program is unknown) that logged errors in the window")
    count: int = field(unit="entries", doc="Errors it logged in the window (within the counted entries)")


@dataclass(frozen=True)
class LogsResult:
    source: str = field(
        doc="Where the entries come from: journal, a syslog file path (/var/log/syslog), windows-eventlog, "
        "macos-log, or none (no readable log was found)"
    )
    window_hours: float = field(unit="h", doc="How far back errors were looked for (setting logs.window_hours)")
    entries: tuple[LogEntry, ...] = field(
        doc="The newest errors in the window, newest first; at most logs.max_entries entries and "
        "logs.max_bytes bytes of text (messages, sources and units)"
    )
    total: int = field(
        unit="entries",
        doc=f"Errors found in the window; the journal is counted up to {COUNT_LIMIT} (or logs.max_entries "
        f"if larger), a syslog file within its last {SYSLOG_TAIL_BYTES // 1024} KiB",
    )
    total_is_lower_bound: bool = field(
        doc="True when there may be more errors in the window than total says (the count limit was reached, "
        "or the window reaches back before the part of the log that was read)"
    )
    truncated: bool = field(doc="True when fewer entries were kept than found (count or size cap)")
    top_sources: tuple[SourceCount, ...] = field(
        doc=f"The programs that logged the most errors in the window, most first; at most {TOP_SOURCES}"
    )
    journal_restricted: bool = field(
        doc="True when this user may read only their own journal entries, not the system's (not root and not "
        "in the adm or systemd-journal group): errors of system services are then missing"
    )
    note: str = field(doc="Why this source was used when a better one was not (no journal, cannot read); '' if none")


RESULT = LogsResult


# -- shaping: caps and counts, shared by every source ----------------------------------------------------------


def cut_message(text: str, limit: int = MESSAGE_CHARS) -> str:
    """``text`` without trailing whitespace, cut to ``limit`` characters with a trailing … when cut."""
    text = text.rstrip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def entry_bytes(entry: LogEntry) -> int:
    """The size an entry counts against logs.max_bytes: its message, source and unit as UTF-8."""
    return len(entry.message.encode("utf-8")) + len(entry.source.encode("utf-8")) + len((entry.unit or "").encode())


def select(entries_newest_first: Sequence[LogEntry], max_entries: int, max_bytes: int) -> tuple[LogEntry, ...]:
    """The newest entries that fit both caps; stops at the first that would exceed the byte cap."""
    kept: list[LogEntry] = []
    used = 0
    for entry in entries_newest_first:
        if len(kept) >= max_entries:
            break
        size = entry_bytes(entry)
        if used + size > max_bytes:
            break
        kept.append(entry)
        used += size
    return tuple(kept)


def top_sources(entries: Iterable[LogEntry], limit: int = TOP_SOURCES) -> tuple[SourceCount, ...]:
    counts = Counter(e.source or e.unit or "" for e in entries)
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return tuple(SourceCount(name, n) for name, n in ranked[:limit])


def _shape(
    source: str,
    found_newest_first: Sequence[LogEntry],
    lower_bound: bool,
    ctx: ProbeContext,
    restricted: bool = False,
    note: str = "",
) -> LogsResult:
    max_entries = max(0, int(ctx.setting("logs.max_entries", 100)))
    max_bytes = max(0, int(ctx.setting("logs.max_bytes", 65536)))
    kept = select(found_newest_first, max_entries, max_bytes)
    return LogsResult(
        source=source,
        window_hours=float(ctx.setting("logs.window_hours", 24.0)),
        entries=kept,
        total=len(found_newest_first),
        total_is_lower_bound=lower_bound,
        truncated=len(kept) < len(found_newest_first),
        top_sources=top_sources(found_newest_first),
        journal_restricted=restricted,
        note=note,
    )


# -- journal ---------------------------------------------------------------------------------------------------


def _journal_text(value: Any) -> str:
    """A journal JSON field value as text: a string, a byte array (list of ints) for non-UTF-8 data, or a
    list of values when the field appears more than once (the first is taken)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value:
        if all(isinstance(b, int) for b in value):
            return bytes(b & 0xFF for b in value).decode("utf-8", errors="replace")
        return _journal_text(value[0])
    return str(value)


def parse_journal_json(text: str) -> list[LogEntry]:
    """Entries from ``journalctl --output=json`` (one JSON object per line), in the order given.

    journalctl writes null for a field larger than it prints without ``--all`` (4096 bytes); such a
    message is shown as a placeholder.
    """
    entries: list[LogEntry] = []
    for line in text.splitlines():
        if not line.startswith("{"):
            continue
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        try:
            when = datetime.fromtimestamp(int(rec["__REALTIME_TIMESTAMP"]) / 1e6, tz=UTC).astimezone()
        except (KeyError, ValueError, TypeError, OverflowError):
            continue
        try:
            prio: str | None = PRIORITY_NAMES[int(_journal_text(rec.get("PRIORITY")))]
        except (ValueError, IndexError):
            prio = None
        try:
            pid: int | None = int(_journal_text(rec.get("_PID")))
        except ValueError:
            pid = None
        message = "(message too large to show)" if rec.get("MESSAGE", "") is None else _journal_text(rec.get("MESSAGE"))
        # a user service runs inside user@UID.service: its user unit says more
        unit = _journal_text(rec.get("_SYSTEMD_USER_UNIT")) or _journal_text(rec.get("_SYSTEMD_UNIT")) or None
        source = _journal_text(rec.get("SYSLOG_IDENTIFIER")) or _journal_text(rec.get("_COMM"))
        entries.append(LogEntry(when.isoformat(), prio, source, unit, pid, cut_message(message)))
    return entries


def journal_files(dirs: Iterable[Path] = JOURNAL_DIRS) -> list[Path]:
    """The journal files under ``dirs`` (``<dir>/<machine-id>[.namespace]/*.journal``)."""
    found: list[Path] = []
    for base in dirs:
        try:
            subdirs = [e for e in os.scandir(base) if e.is_dir()]
        except OSError:
            continue
        for sub in subdirs:
            try:
                found.extend(Path(f.path) for f in os.scandir(sub.path) if f.name.endswith(".journal"))
            except OSError:
                continue
    return found


def _restricted(files: Iterable[Path]) -> bool:
    """True when system journal files exist but this process cannot read any of them."""
    system = [f for f in files if f.name.startswith("system")]
    return bool(system) and not any(os.access(f, os.R_OK) for f in system)


def _journal(ctx: ProbeContext, journalctl: str, since: datetime) -> tuple[list[LogEntry], bool]:
    """Errors since ``since`` from the journal, newest first, and whether the count limit was reached."""
    limit = max(COUNT_LIMIT, int(ctx.setting("logs.max_entries", 100)))
    argv = [journalctl, "--priority=err", f"--since=@{int(since.timestamp())}", "-n", str(limit),
            "--output=json", f"--output-fields={JOURNAL_FIELDS}", "--no-pager", "-q"]
    out = ctx.run(argv, timeout=JOURNAL_TIMEOUT)
    if out.returncode != 0 and "output-fields" in out.stderr:  # journalctl before systemd 236
        out = ctx.run([a for a in argv if not a.startswith("--output-fields")], timeout=JOURNAL_TIMEOUT)
    if out.returncode != 0:
        reason = (out.stderr.strip().splitlines() or ["no message"])[-1][:200]
        raise ProbeError(f"journalctl exited with {out.returncode}: {reason}")
    entries = parse_journal_json(out.stdout)
    entries.reverse()
    return entries, len(entries) >= limit


# -- syslog files ----------------------------------------------------------------------------------------------

_RFC3339 = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?)\s+\S+\s+(.*)")
_CLASSIC = re.compile(r"([A-Z][a-z]{2}) +(\d{1,2}) (\d\d):(\d\d):(\d\d)\s+\S+\s+(.*)")
_TAG = re.compile(r"([^\s\[\]:]+)(?:\[(\d+)\])?:\s?(.*)")
_MONTHS = {m: i for i, m in enumerate(("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                                       "Nov", "Dec"), 1)}


def parse_syslog_time(line: str, now: datetime) -> tuple[datetime, str] | None:
    """The time of a syslog line (aware) and the rest after the host name, or None when it has no timestamp.

    Classic BSD timestamps (``Nov 21 10:00:01``) are local time without a year: the year is the one that
    does not put the line in the future. RFC 3339 timestamps (rsyslog's default on Debian 12) carry their
    offset; without one they are local time.
    """
    m = _RFC3339.match(line)
    if m:
        stamp = m.group(1)
        if stamp.endswith("Z"):
            stamp = stamp[:-1] + "+00:00"
        try:
            when = datetime.fromisoformat(_six_digit_fraction(stamp))
        except ValueError:
            return None
        return (when if when.tzinfo else when.astimezone()), m.group(2)
    m = _CLASSIC.match(line)
    if not m or m.group(1) not in _MONTHS:
        return None
    mon, day, hh, mm, ss = _MONTHS[m.group(1)], int(m.group(2)), int(m.group(3)), int(m.group(4)), int(m.group(5))
    local_now = now.astimezone()
    for year in (local_now.year, local_now.year - 1):
        try:
            when = datetime(year, mon, day, hh, mm, ss).astimezone()
        except ValueError:  # Feb 29 in a year without it
            continue
        if when <= local_now + timedelta(days=1):
            return when, m.group(6)
    return None


def _six_digit_fraction(stamp: str) -> str:
    """Python before 3.11 and some producers disagree on fraction length; normalise it to microseconds."""
    m = re.match(r"(.*T\d\d:\d\d:\d\d)\.(\d+)(.*)", stamp)
    if not m:
        return stamp
    return f"{m.group(1)}.{m.group(2)[:6].ljust(6, '0')}{m.group(3)}"


def parse_syslog(text: str, since: datetime, now: datetime) -> tuple[list[LogEntry], bool]:
    """Error-looking lines of syslog ``text`` logged at or after ``since``, oldest first, and whether the
    window reaches back before the first timestamped line (then older errors may exist that were not read)."""
    entries: list[LogEntry] = []
    first: datetime | None = None
    for line in text.splitlines():
        if first is None:
            parsed = parse_syslog_time(line, now)
            if parsed is None:
                continue
            first = parsed[0]
        if not ERRORISH.search(line):
            continue
        parsed = parse_syslog_time(line, now)
        if parsed is None:
            continue
        when, rest = parsed
        if when < since:
            continue
        tag = _TAG.match(rest)
        if tag:
            source, pid, message = tag.group(1), int(tag.group(2)) if tag.group(2) else None, tag.group(3)
        else:
            source, pid, message = "", None, rest
        if not ERRORISH.search(message) and not ERRORISH.search(source):
            continue  # only the host name or timestamp looked like an error word
        entries.append(LogEntry(when.isoformat(), None, source, None, pid, cut_message(message)))
    return entries, first is not None and first >= since


def read_tail(path: Path, limit: int = SYSLOG_TAIL_BYTES) -> str:
    """The last ``limit`` bytes of ``path``, from the first whole line."""
    with path.open("rb") as fh:
        size = fh.seek(0, os.SEEK_END)
        fh.seek(max(0, size - limit))
        data = fh.read()
    if size > limit:
        data = data[data.find(b"\n") + 1 :]
    return data.decode("utf-8", errors="replace")


def _syslog(ctx: ProbeContext, since: datetime, now: datetime, note: str) -> LogsResult:
    problems = [note] if note else []
    for path in SYSLOG_FILES:
        try:
            text = read_tail(path)
        except FileNotFoundError:
            continue
        except OSError as exc:
            problems.append(f"cannot read {path}: {exc.strerror or exc}")
            continue
        entries, lower_bound = parse_syslog(text, since, now)
        entries.reverse()
        return _shape(str(path), entries, lower_bound, ctx, note="; ".join(problems))
    if not any("cannot read" in p for p in problems):
        problems.append("no syslog file (" + ", ".join(str(p) for p in SYSLOG_FILES) + ")")
    return _shape("none", [], False, ctx, note="; ".join(problems))


def _linux(ctx: ProbeContext, since: datetime, now: datetime, source: str) -> LogsResult:
    """The journal when there is one, else a syslog file (``auto``); or the one ``source`` names, which
    fails with the reason when it cannot be read rather than answering from the other."""
    if source == "syslog":
        result = _syslog(ctx, since, now, "")
        if result.source == "none":
            raise ProbeError(result.note)
        return result
    journalctl = ctx.which("journalctl")
    files = journal_files(JOURNAL_DIRS)
    if journalctl is None:
        note = "journalctl not found"
    elif not files:
        note = "no journal files (journald not running or not storing logs)"
    else:
        try:
            entries, capped = _journal(ctx, journalctl, since)
        except ProbeError as exc:
            note = str(exc)
        else:
            return _shape("journal", entries, capped, ctx, restricted=_restricted(files))
    if source == "journal":
        raise ProbeError(f"the journal cannot be read: {note}")
    return _syslog(ctx, since, now, note)


# -- Windows and macOS -----------------------------------------------------------------------------------------


def parse_wevtutil_text(text: str) -> list[LogEntry]:
    """Events from ``wevtutil qe <log> /f:text``: ``Event[N]:`` blocks of ``Key: value`` lines, the
    description last and possibly over several lines."""
    entries: list[LogEntry] = []
    for block in re.split(r"(?m)^Event\[\d+\]:\s*$", text):
        fields: dict[str, str] = {}
        description: list[str] = []
        in_description = False
        for line in block.splitlines():
            if in_description:
                description.append(line)
                continue
            key, sep, value = line.strip().partition(":")
            if not sep:
                continue
            if key == "Description":
                in_description = True
                if value.strip():
                    description.append(value.strip())
                continue
            fields[key] = value.strip()
        if "Date" not in fields:
            continue
        try:
            when = _windows_time(fields["Date"])
        except ValueError:
            continue
        level = fields.get("Level", "").lower() or None
        event_id = fields.get("Event ID", "")
        message = " ".join(s.strip() for s in description if s.strip())
        if event_id:
            message = f"Event {event_id}: {message}"
        entries.append(LogEntry(when.isoformat(), level, fields.get("Source", ""), None, None, cut_message(message)))
    return entries


def _windows_time(value: str) -> datetime:
    stamp = value.strip()
    if stamp.endswith("Z"):
        stamp = stamp[:-1] + "+00:00"
    # naive stamps (older wevtutil) are local time; astimezone() reads them so and keeps aware ones exact
    return datetime.fromisoformat(_six_digit_fraction(stamp)).astimezone()


def _windows(ctx: ProbeContext, hours: float) -> LogsResult:
    limit = max(1, int(ctx.setting("logs.max_entries", 100)))
    ms = int(hours * 3600 * 1000)
    query = f"*[System[(Level=1 or Level=2) and TimeCreated[timediff(@SystemTime) <= {ms}]]]"
    found: list[LogEntry] = []
    capped = False
    for log_name in ("System", "Application"):
        out = ctx.run(["wevtutil", "qe", log_name, f"/q:{query}", f"/c:{limit}", "/rd:true", "/f:text"],
                      timeout=JOURNAL_TIMEOUT, check=True)
        events = parse_wevtutil_text(out.stdout)
        capped = capped or len(events) >= limit
        found.extend(events)
    found.sort(key=lambda e: e.time, reverse=True)
    return _shape("windows-eventlog", found, capped, ctx)


def parse_log_ndjson(text: str) -> list[LogEntry]:
    """Entries from macOS ``log show --style ndjson``; the closing summary line is skipped."""
    entries: list[LogEntry] = []
    for line in text.splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if not isinstance(rec, dict) or "eventMessage" not in rec:
            continue
        try:
            when = datetime.strptime(str(rec.get("timestamp", "")), "%Y-%m-%d %H:%M:%S.%f%z").astimezone()
        except ValueError:
            continue
        process = os.path.basename(str(rec.get("processImagePath") or ""))
        pid = rec.get("processID")
        entries.append(
            LogEntry(
                when.isoformat(),
                str(rec.get("messageType") or "").lower() or None,
                process,
                None,
                pid if isinstance(pid, int) else None,
                cut_message(str(rec.get("eventMessage") or "")),
            )
        )
    return entries


def _macos(ctx: ProbeContext, hours: float) -> LogsResult:
    limit = max(COUNT_LIMIT, int(ctx.setting("logs.max_entries", 100)))
    argv = ["/usr/bin/log", "show", "--predicate", "messageType == error OR messageType == fault",
            "--last", f"{max(1, round(hours * 60))}m", "--style", "ndjson"]
    try:
        out = ctx.run(argv, timeout=JOURNAL_TIMEOUT)
    except ProbeError as exc:
        raise ProbeError(f"the unified log is too slow to search here ({exc})") from exc
    if out.returncode != 0:
        reason = (out.stderr.strip().splitlines() or ["no message"])[-1][:200]
        raise ProbeError(f"log show exited with {out.returncode}: {reason}")
    found = parse_log_ndjson(out.stdout)
    found.reverse()
    return _shape("macos-log", found[:limit], len(found) > limit, ctx)


def collect(ctx: ProbeContext) -> LogsResult:
    hours = float(ctx.setting("logs.window_hours", 24.0))
    source = str(ctx.setting("logs.source", "auto"))  # the agent's ``logs SOURCE``: auto, journal or syslog
    if source not in SOURCES:
        raise ProbeError(f"unknown logs source {source!r} (one of: {', '.join(SOURCES)})")
    now = datetime.now(tz=UTC)
    since = now - timedelta(hours=hours)
    if ctx.platform != LINUX and source != "auto":
        raise ProbeError(f"the {source} source is Linux's; on {ctx.platform} use auto")
    if ctx.platform == LINUX:
        return _linux(ctx, since, now, source)
    if ctx.platform == WINDOWS:
        return _windows(ctx, hours)
    if ctx.platform == MACOS:
        return _macos(ctx, hours)
    raise Unsupported(f"logs are not supported on {ctx.platform}")
