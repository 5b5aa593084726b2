"""Services: background services that failed, and the service manager's overall state.

Linux with systemd as init: one ``systemctl list-units`` call lists the failed units and the running ones
(counted, not kept), ``systemctl is-system-running`` gives the overall state (running, degraded,
maintenance, ...), and, only when something failed, one ``systemctl show`` call adds since when and why.
The user's own service manager (``systemctl --user``) is asked too when this process runs in a user
session that has one; never for root, and never by guessing a bus address.

When systemd is not PID 1 (containers, WSL 1, other init systems) there is nothing to ask: the result
says so in ``init_system`` with empty lists. That is a fact about the machine, not a failure.

Windows: services set to start automatically that are not running are its equivalent of failed units.
macOS: launchd jobs whose last exit status is not zero.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from desktop.diagnostics.base import LINUX, MACOS, WINDOWS, ProbeContext, ProbeError, Unsupported, field

NAME = "services"
TITLE = "Services"

#: systemd creates this directory early at boot when it runs as PID 1 (what sd_booted() checks).
SYSTEMD_RUNTIME_DIR = Path("/run/systemd/system")
PROC_1_COMM = Path("/proc/1/comm")
#: At most this many failed units are listed (system and user each); failed_total counts them all.
MAX_FAILED = 50
#: One listing gives both the failed units and the running ones (counted as running services).
LIST_UNITS_ARGS = ("list-units", "--all", "--state=failed,running,auto-restart,auto-restart-queued", "--no-legend",
                   "--plain", "--no-pager", "--output=json")
#: Sub-states of a service that crashed and waits to be restarted: never "failed", yet failing over and over.
RESTARTING_SUBSTATES = frozenset({"auto-restart", "auto-restart-queued"})
USER_LIST_UNITS_ARGS = ("--user", "list-units", "--failed", "--all", "--no-legend", "--plain", "--no-pager",
                        "--output=json")
#: Followed by the unit names; --timestamp=utc (systemd 247+) makes the times parseable in any locale.
SHOW_ARGS = ("show", "--timestamp=utc", "--property=Id,Result,StateChangeTimestamp", "--")
#: systemctl job types; in plain output a job column may stand between SUB and DESCRIPTION.
_JOB_TYPES = frozenset(
    {"start", "stop", "reload", "restart", "try-restart", "try-reload", "reload-or-start", "verify-active",
     "verify-started", "nop"}
)


@dataclass(frozen=True)
class FailedUnit:
    name: str = field(doc="Unit name (nginx.service), Windows service name, or launchd job label")
    description: str = field(doc="The unit's own description, or the Windows display name ('' when none)")
    load_state: str = field(
        doc="systemd LOAD state (loaded, not-found, bad-setting, error, masked); on Windows the start type "
        "(automatic); on macOS ''"
    )
    active_state: str = field(doc="systemd ACTIVE state (failed); on Windows the status (stopped); macOS 'exited'")
    sub_state: str = field(doc="systemd SUB state, type-specific (failed, auto-restart, ...); '' elsewhere")
    result: str | None = field(
        doc="Why it failed: systemd Result (exit-code, signal, timeout, core-dump, start-limit-hit, ...), "
        "'exit status N' or 'signal N' from launchd; None when not known"
    )
    since: str | None = field(
        doc="When the unit entered this state, ISO 8601 in UTC (systemd only; None when systemctl is too old "
        "to print UTC timestamps or did not say)"
    )


@dataclass(frozen=True)
class ServicesResult:
    init_system: str = field(
        doc="The service manager: 'systemd' (PID 1 is systemd), 'other' (Linux without systemd as PID 1, "
        "e.g. a container), 'unknown' (PID 1 could not be read), 'windows-scm', 'launchd'"
    )
    pid1: str = field(doc="Name of process 1 on Linux (systemd, init, a container's entry program); '' elsewhere")
    system_state: str | None = field(
        doc="systemd's overall state from 'systemctl is-system-running': initializing, starting, running, "
        "degraded (some unit failed), maintenance (rescue or emergency mode), stopping, offline, unknown; "
        "None without systemd"
    )
    failed: tuple[FailedUnit, ...] = field(
        doc="System units (services, mounts, sockets, timers, ...) in the failed state, and services waiting "
        f"to be restarted after a crash (sub-state auto-restart); at most {MAX_FAILED}, in the order "
        "systemctl lists them"
    )
    failed_total: int = field(unit="units", doc="How many system units are listed in failed, including any beyond it")
    running_services: int | None = field(
        unit="services", doc="Services running now (systemd: .service units in sub-state running; None unknown)"
    )
    user_checked: bool = field(
        doc="True when the user's own service manager (systemctl --user) was asked; False when this process "
        "has no user session with one (root, a service account, no XDG_RUNTIME_DIR) or it did not answer"
    )
    user_failed: tuple[FailedUnit, ...] = field(
        doc=f"The user's own units in the failed state (at most {MAX_FAILED}; empty when user_checked is False)"
    )


RESULT = ServicesResult


# -- parsing (pure functions, tested on recorded output) -------------------------------------------------------


@dataclass(frozen=True)
class UnitRow:
    """One row of ``systemctl list-units``."""

    name: str
    load: str
    active: str
    sub: str
    description: str


def parse_list_units(text: str) -> list[UnitRow]:
    """Rows of ``systemctl list-units`` output: JSON (``--output=json``) or, failing that, the plain table.

    systemctl versions without JSON tables ignore ``--output=json`` and print the plain table instead, so
    whatever came back is tried as JSON first and read as a table when it is not JSON.
    """
    stripped = text.strip()
    if not stripped:
        return []
    if stripped.startswith("["):
        try:
            data = json.loads(stripped)
        except ValueError:
            data = None
        if isinstance(data, list):
            return [_row_from_json(item) for item in data if isinstance(item, dict) and item.get("unit")]
    return parse_list_units_plain(text)


def _row_from_json(item: Mapping[str, Any]) -> UnitRow:
    return UnitRow(
        name=str(item.get("unit") or ""),
        load=str(item.get("load") or ""),
        active=str(item.get("active") or ""),
        sub=str(item.get("sub") or ""),
        description=str(item.get("description") or ""),
    )


def parse_list_units_plain(text: str) -> list[UnitRow]:
    """Rows of the plain table (``--no-legend --plain``): UNIT LOAD ACTIVE SUB [JOB] DESCRIPTION.

    The JOB column appears only when some unit has a pending job; it is recognised by its value (a job
    type, always lower case), so a description that happens to start with a lower-case job word loses it.
    """
    rows: list[UnitRow] = []
    for line in text.splitlines():
        parts = line.split(None, 5)
        # without --plain a failed unit is marked by a bullet column ("●", or "*" outside UTF-8 locales)
        if parts and parts[0] in ("●", "*", "○"):
            parts = line.split(None, 6)[1:]
        if len(parts) < 4 or "." not in parts[0]:
            continue
        rest = " ".join(parts[4:])
        word, _, after = rest.partition(" ")
        if word in _JOB_TYPES:
            rest = after
        rows.append(UnitRow(parts[0], parts[1], parts[2], parts[3], rest.strip()))
    return rows


def parse_show(text: str) -> dict[str, dict[str, str]]:
    """``systemctl show -p Id,...`` output for several units: properties by unit Id."""
    units: dict[str, dict[str, str]] = {}
    for block in text.split("\n\n"):
        props: dict[str, str] = {}
        for line in block.splitlines():
            key, sep, value = line.partition("=")
            if sep:
                props[key] = value
        if props.get("Id"):
            units[props["Id"]] = props
    return units


def parse_utc_timestamp(value: str) -> str | None:
    """A systemctl ``--timestamp=utc`` value (``Sat 2026-11-21 10:00:01 UTC``) as ISO 8601, or None."""
    value = value.strip()
    if not value or value == "n/a":
        return None
    try:
        when = datetime.strptime(value, "%a %Y-%m-%d %H:%M:%S UTC").replace(tzinfo=UTC)
    except ValueError:
        return None
    return when.isoformat()


def parse_launchctl_list(text: str) -> tuple[list[FailedUnit], int]:
    """``launchctl list`` (PID, Status, Label, tab-separated): failed jobs and the number running.

    A job failed when it is not running and its last exit status is not 0; a negative status is the
    signal that ended it.
    """
    failed: list[FailedUnit] = []
    running = 0
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) != 3 or parts[0] == "PID":
            continue
        pid, status, label = (p.strip() for p in parts)
        if pid.isdigit():
            running += 1
            continue
        try:
            code = int(status)
        except ValueError:
            continue
        if code == 0:
            continue
        result = f"signal {-code}" if code < 0 else f"exit status {code}"
        failed.append(FailedUnit(label, "", "", "exited", "", result, None))
    return failed, running


# -- Linux with systemd ----------------------------------------------------------------------------------------


def _pid1_name() -> str | None:
    try:
        return PROC_1_COMM.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None


def _failed_units(rows: Iterable[UnitRow], details: Mapping[str, Mapping[str, str]]) -> tuple[FailedUnit, ...]:
    out = []
    for row in rows:
        props = details.get(row.name, {})
        out.append(
            FailedUnit(
                name=row.name,
                description=row.description,
                load_state=row.load,
                active_state=row.active,
                sub_state=row.sub,
                result=props.get("Result") or None,
                since=parse_utc_timestamp(props.get("StateChangeTimestamp", "")),
            )
        )
    return tuple(out)


def _show_details(ctx: ProbeContext, systemctl: str, names: list[str], user: bool) -> dict[str, dict[str, str]]:
    """Result and state-change time of ``names``, or nothing when systemctl cannot say (too old, no answer)."""
    if not names:
        return {}
    argv = [systemctl, *(["--user"] if user else []), *SHOW_ARGS, *names]
    try:
        out = ctx.run(argv, timeout=2)
    except ProbeError:
        return {}
    return parse_show(out.stdout) if out.returncode == 0 else {}


def _user_manager_available(ctx: ProbeContext) -> bool:
    """True when this process belongs to a user session whose systemd user manager can be asked."""
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return False
    runtime = ctx.environ.get("XDG_RUNTIME_DIR")
    if not runtime:
        return False
    return Path(runtime, "systemd", "private").exists()


def _linux(ctx: ProbeContext) -> ServicesResult:
    pid1 = _pid1_name()
    if not SYSTEMD_RUNTIME_DIR.is_dir():
        return ServicesResult(
            init_system="other" if pid1 is not None else "unknown",
            pid1=pid1 or "",
            system_state=None,
            failed=(),
            failed_total=0,
            running_services=None,
            user_checked=False,
            user_failed=(),
        )
    systemctl = ctx.which("systemctl")
    if systemctl is None:
        raise ProbeError("systemd runs as init but systemctl was not found on PATH")

    listing = ctx.run([systemctl, *LIST_UNITS_ARGS], timeout=3)
    if listing.returncode != 0 and not listing.stdout.strip():
        reason = (listing.stderr.strip().splitlines() or ["no output"])[-1][:200]
        raise ProbeError(f"systemctl list-units exited with {listing.returncode}: {reason}")
    rows = parse_list_units(listing.stdout)
    failed_rows = [r for r in rows if r.active == "failed" or r.sub in RESTARTING_SUBSTATES]
    running = sum(1 for r in rows if r.name.endswith(".service") and r.sub == "running")
    kept = failed_rows[:MAX_FAILED]
    details = _show_details(ctx, systemctl, [r.name for r in kept], user=False)

    try:
        state = ctx.run([systemctl, "is-system-running"], timeout=2).stdout.strip() or None
    except ProbeError:
        state = None

    user_checked = False
    user_failed: tuple[FailedUnit, ...] = ()
    if _user_manager_available(ctx):
        try:
            out = ctx.run([systemctl, *USER_LIST_UNITS_ARGS], timeout=2)
        except ProbeError:
            out = None
        if out is not None and out.returncode == 0:
            user_rows = [r for r in parse_list_units(out.stdout) if r.active == "failed"][:MAX_FAILED]
            user_details = _show_details(ctx, systemctl, [r.name for r in user_rows], user=True)
            user_checked, user_failed = True, _failed_units(user_rows, user_details)

    return ServicesResult(
        init_system="systemd",
        pid1=pid1 or "",
        system_state=state,
        failed=_failed_units(kept, details),
        failed_total=len(failed_rows),
        running_services=running,
        user_checked=user_checked,
        user_failed=user_failed,
    )


# -- Windows and macOS -----------------------------------------------------------------------------------------


def windows_failed(services: Iterable[Any]) -> tuple[list[FailedUnit], int, int]:
    """Automatic-start services that are stopped, from psutil service objects; (kept, total, running).

    Caveat: services with delayed or trigger start may stop on purpose and still be listed.
    """
    failed: list[FailedUnit] = []
    total = running = 0
    for svc in services:
        try:
            status = svc.status()
            if status == "running":
                running += 1
                continue
            if status != "stopped" or svc.start_type() != "automatic":
                continue
        except (psutil.Error, OSError):
            continue
        total += 1
        if len(failed) < MAX_FAILED:
            failed.append(FailedUnit(svc.name(), svc.display_name(), "automatic", "stopped", "", None, None))
    return failed, total, running


def _windows() -> ServicesResult:
    iterate = getattr(psutil, "win_service_iter", None)
    if iterate is None:
        raise Unsupported("services are not supported on this Windows build of psutil")
    try:
        failed, total, running = windows_failed(iterate())
    except OSError as exc:
        raise ProbeError(f"cannot list Windows services: {exc}") from exc
    return ServicesResult("windows-scm", "", None, tuple(failed), total, running, False, ())


def _macos(ctx: ProbeContext) -> ServicesResult:
    out = ctx.run(["/bin/launchctl", "list"], timeout=3, check=True)
    failed, running = parse_launchctl_list(out.stdout)
    return ServicesResult("launchd", "", None, tuple(failed[:MAX_FAILED]), len(failed), running, False, ())


def collect(ctx: ProbeContext) -> ServicesResult:
    if ctx.platform == LINUX:
        return _linux(ctx)
    if ctx.platform == WINDOWS:
        return _windows()
    if ctx.platform == MACOS:
        return _macos(ctx)
    raise Unsupported(f"services are not supported on {ctx.platform}")
