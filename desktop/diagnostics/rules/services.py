"""Services rules: failed background services, a system stuck outside normal running, many errors in the
logs, and recent software changes (the first thing an agent asks: "did anything change?")."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from desktop.diagnostics.findings import CRITICAL, INFO, WARNING, Finding, Results, Thresholds, human_duration, rule
from desktop.diagnostics.probes.logs import LogsResult
from desktop.diagnostics.probes.services import FailedUnit, ServicesResult
from desktop.diagnostics.probes.software import PackageChange, SoftwareResult

#: How many names a finding's detail spells out before "and N more".
NAMES_SHOWN = 5


def _names(names: Sequence[str], total: int | None = None) -> str:
    """``a, b, c and 4 more``: the first few names of a list that may be longer than what is shown."""
    total = len(names) if total is None else total
    shown = list(names[:NAMES_SHOWN])
    rest = total - len(shown)
    if rest > 0:
        return ", ".join(shown) + f" and {rest} more"
    if len(shown) > 1:
        return ", ".join(shown[:-1]) + " and " + shown[-1]
    return shown[0] if shown else ""


def _unit_label(u: FailedUnit) -> str:
    """A unit's name with its description when that says more (``cups-browsed.service (Make remote ...)``)."""
    if u.description and u.description not in (u.name, u.name.rsplit(".", 1)[0]):
        return f"{u.name} ({u.description})"
    return u.name


@rule("services.failed", "services")
def failed(results: Results, thresholds: Thresholds) -> Iterator[Finding]:
    """System or user services that failed (Windows: automatic services that are not running)."""
    del thresholds  # a failed service is a fact, not a measure
    r: ServicesResult = results["services"]
    total = r.failed_total + len(r.user_failed)
    if total == 0:
        return
    units = [*r.failed, *r.user_failed]
    labels = [_unit_label(u) for u in units]
    windows = r.init_system == "windows-scm"
    plural = "s" if total != 1 else ""
    if windows:
        title = f"{total} service{plural} set to start automatically {'is' if total == 1 else 'are'} not running"
        detail = (
            f"Windows is set to start these services on its own, but they are stopped: {_names(labels, total)}. "
            "Some services stop on purpose when they have nothing to do, so this is only a hint."
        )
    else:
        title = f"{total} background service{plural} failed"
        detail = (
            "Background services are programs the computer runs on its own (printing, network, backups, ...). "
            f"These stopped with an error, could not start, or keep restarting: {_names(labels, total)}."
        )
        reasons = sorted({u.result for u in units if u.result and u.result != "success"})
        if reasons:
            detail += f" Reported cause: {', '.join(reasons)}."
    yield Finding(
        id="services.failed",
        severity=INFO if windows else WARNING,
        title=title,
        detail=detail,
        next_step=(
            "Restart the computer. If the same services fail again, send this report to IT support: "
            "the names above tell them where to look."
        ),
        probe="services",
        evidence={
            "failed_total": r.failed_total,
            "user_failed": len(r.user_failed),
            "units": ", ".join(u.name for u in units[:NAMES_SHOWN * 2]),
            "system_state": r.system_state,
        },
    )


@rule("services.system_degraded", "services")
def system_degraded(results: Results, thresholds: Thresholds) -> Iterator[Finding]:
    """The service manager is not simply running: rescue mode, start-up that never finished, or degraded
    with no failed unit to show (the case services.failed cannot explain)."""
    del thresholds
    r: ServicesResult = results["services"]
    state = r.system_state
    evidence = {"system_state": state, "failed_total": r.failed_total}
    if state == "maintenance":
        yield Finding(
            id="services.system_degraded",
            severity=CRITICAL,
            title="The computer is running in rescue mode",
            detail=(
                "The system started in maintenance (rescue or emergency) mode, which happens when something "
                "needed at start-up failed, such as a disk that could not be checked or mounted."
            ),
            next_step="Restart the computer. If it comes back in rescue mode, call IT support before using it.",
            probe="services",
            evidence=evidence,
        )
    elif state in ("initializing", "starting"):
        yield Finding(
            id="services.system_degraded",
            severity=INFO,
            title="The computer has not finished starting up",
            detail=(
                f"The system still reports start-up in progress (state '{state}'): some service may be "
                "waiting for something that does not come, such as a network drive."
            ),
            next_step="Wait a few minutes and check again. If it still says so, restart the computer.",
            probe="services",
            evidence=evidence,
        )
    elif state == "degraded" and r.failed_total == 0 and not r.user_failed:
        yield Finding(
            id="services.system_degraded",
            severity=INFO,
            title="Part of the system reported a failure",
            detail=(
                "The system says it is running in a degraded state, but no failed service could be listed: "
                "the failure may have cleared a moment ago."
            ),
            next_step="If something does not work, restart the computer and report the problem if it stays.",
            probe="services",
            evidence=evidence,
        )


@rule("logs.many_errors", "logs")
def many_errors(results: Results, thresholds: Thresholds) -> Iterator[Finding]:
    """More error entries in the log window than thresholds log_errors (info) or log_errors_warning (warning)."""
    r: LogsResult = results["logs"]
    limit = thresholds["log_errors"]
    if r.total <= limit:
        return
    warn_limit = thresholds.get("log_errors_warning")
    severity = WARNING if warn_limit is not None and r.total > warn_limit else INFO
    count = f"at least {r.total}" if r.total_is_lower_bound else str(r.total)
    window = human_duration(r.window_hours * 3600)
    top = [f"{s.source or 'unnamed'} ({s.count})" for s in r.top_sources[:NAMES_SHOWN]]
    detail = f"The system logs hold {count} error entries from the last {window}"
    detail += f"; most came from {_names(top, len(top))}." if top else "."
    if r.journal_restricted:
        detail += " Only this user's own entries could be read, so the system's errors are not counted."
    yield Finding(
        id="logs.many_errors",
        severity=severity,
        title="Many errors in the system logs",
        detail=detail,
        next_step=(
            "If something is not working as it should, send this report to IT support: the newest errors are "
            "included. If everything works, nothing needs to be done."
        ),
        probe="logs",
        evidence={
            "total": r.total,
            "total_is_lower_bound": r.total_is_lower_bound,
            "window_hours": r.window_hours,
            "source": r.source,
            "top_source": r.top_sources[0].source if r.top_sources else None,
            "threshold": warn_limit if severity == WARNING else limit,
        },
    )


_VERBS = {"install": "installed", "upgrade": "updated", "remove": "removed", "purge": "removed"}


def _change_label(c: PackageChange) -> str:
    name = c.name.split(":", 1)[0]  # dpkg's libc6:amd64 reads as libc6
    try:
        day = datetime.fromisoformat(c.time).strftime("%d %b").lstrip("0")
    except ValueError:
        day = c.time[:10]
    return f"{name} {_VERBS.get(c.action, c.action)} {day}"


@rule("software.recent_changes", "software")
def recent_changes(results: Results, thresholds: Thresholds) -> Iterator[Finding]:
    """Software installed, updated or removed within the recent window (a fact worth knowing, not a fault)."""
    del thresholds
    r: SoftwareResult = results["software"]
    if r.recent_total == 0:
        return
    n = r.recent_packages
    window = human_duration(r.recent_days * 86400)
    seen: set[str] = set()
    newest: list[str] = []
    for c in r.recent:
        if c.name not in seen:
            seen.add(c.name)
            newest.append(_change_label(c))
    yield Finding(
        id="software.recent_changes",
        severity=INFO,
        title=f"{n} software package{'s' if n != 1 else ''} changed in the last {window}",
        detail=(
            f"{n} package{'s were' if n != 1 else ' was'} installed, updated or removed in the last {window} "
            f"({r.recent_total} change{'s' if r.recent_total != 1 else ''} in all). "
            f"Newest: {_names(newest, n)}."
        ),
        next_step=(
            "If your problem started recently, tell IT support when it started: a change made around that time "
            "may be the cause."
        ),
        probe="software",
        evidence={
            "recent_packages": n,
            "recent_total": r.recent_total,
            "recent_days": r.recent_days,
            "newest": r.recent[0].time if r.recent else None,
        },
    )
