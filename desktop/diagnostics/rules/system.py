"""System rules: a restart waiting for updates, a machine never restarted, a clock left to drift,
administrator rights where none are needed, and printers that stopped.

Clock skew against the helpdesk server is judged by the network rules, which have the server's time.
"""

from __future__ import annotations

from collections.abc import Iterator

from desktop.diagnostics.findings import INFO, WARNING, Finding, Results, Thresholds, human_duration, rule

#: Package names quoted in a finding's detail; the rest are counted.
SHOWN_PACKAGES = 5


def _in_container(results: Results) -> bool:
    system = results.get("system")
    return system is not None and system.container not in ("none", "unknown")


@rule("system.pending_reboot", "system")
def pending_reboot(results: Results, thresholds: Thresholds) -> Iterator[Finding]:
    """Updates installed that take effect only after a restart."""
    del thresholds  # a fact, not a measure
    r = results["system"]
    if r.pending_reboot is not True:
        return
    why = "; ".join(r.reboot_reasons) or "the system says so"
    packages = ""
    if r.reboot_packages:
        shown = ", ".join(r.reboot_packages[:SHOWN_PACKAGES])
        more = len(r.reboot_packages) - SHOWN_PACKAGES
        packages = f" Updated: {shown}{f' and {more} more' if more > 0 else ''}."
    yield Finding(
        id="system.pending_reboot",
        severity=WARNING,
        title="Restart needed to finish updates",
        detail=(
            f"Updates were installed that take effect only after a restart ({why}).{packages} Until then the "
            f"old versions keep running, which can cause errors and leaves security fixes unapplied. The computer "
            f"last started {human_duration(r.uptime_seconds)} ago."
        ),
        next_step="Save your work, close your programs and restart the computer.",
        probe="system",
        evidence={
            "reasons": "; ".join(r.reboot_reasons),
            "packages": ", ".join(r.reboot_packages),
            "uptime_seconds": r.uptime_seconds,
        },
    )


@rule("system.long_uptime", "system")
def long_uptime(results: Results, thresholds: Thresholds) -> Iterator[Finding]:
    """The machine has run longer than ``uptime_days`` without a restart (not judged inside containers)."""
    r = results["system"]
    days_limit = float(thresholds["uptime_days"])
    # a container shares its host's uptime: restarting "the computer" is not the user's to do there
    if _in_container(results) or r.uptime_seconds < days_limit * 86400:
        return
    yield Finding(
        id="system.long_uptime",
        severity=INFO,
        title=f"Not restarted for {human_duration(r.uptime_seconds)}",
        detail=(
            f"The computer has been running for {human_duration(r.uptime_seconds)} without a restart (since "
            f"{r.boot_time} UTC); the suggested limit is {days_limit:g} days. Over time programs hold on to memory, "
            "updates wait, and the system gets slower."
        ),
        next_step="Restart the computer at a convenient moment, after saving your work.",
        probe="system",
        evidence={"uptime_seconds": r.uptime_seconds, "boot_time": r.boot_time, "uptime_days_limit": days_limit},
    )


@rule("system.clock_not_synchronised", "system")
def clock_not_synchronised(results: Results, thresholds: Thresholds) -> Iterator[Finding]:
    """The clock is known not to be kept in time by NTP (unknown is not judged)."""
    del thresholds  # a fact, not a measure
    r = results["system"]
    if r.ntp_synchronized is not False:
        return
    yield Finding(
        id="system.clock_not_synchronised",
        severity=WARNING,
        title="The clock is not set automatically",
        detail=(
            "The computer's clock is not being kept in time over the network (NTP). A clock that drifts "
            "causes failed logins, certificate errors on secure websites and problems syncing files and mail. "
            f"When this report was made the clock showed {r.collected_at} (UTC), time zone {r.timezone}."
        ),
        next_step=(
            "Turn on 'Set time automatically' in the date and time settings (on Linux: timedatectl set-ntp true); "
            "if it is on already, ask IT to check that the time server can be reached."
        ),
        probe="system",
        evidence={"ntp_synchronized": False, "collected_at": r.collected_at, "timezone": r.timezone},
    )


@rule("users.running_as_root", "users")
def running_as_root(results: Results, thresholds: Thresholds) -> Iterator[Finding]:
    """The desktop session (and so Deskline) runs with full administrator rights, not raised on purpose."""
    del thresholds  # a fact, not a measure
    r = results["users"]
    # sudo/pkexec is asking for the rights on purpose; in a container root is the norm, not a desktop session
    if r.is_admin is not True or r.elevated_by or _in_container(results):
        return
    if r.uid == 0:
        title = "Working as the administrator account (root)"
        what = f"Deskline runs as {r.user or 'root'}, the account with unlimited rights"
        step = (
            "Log out and log in with your own user account; use sudo only for the single task that needs "
            "administrator rights."
        )
    else:
        title = "Deskline runs with administrator rights"
        what = f"Deskline runs with full administrator rights (as {r.user or 'an administrator'})"
        step = "Close Deskline and start it normally, not with 'Run as administrator'."
    yield Finding(
        id="users.running_as_root",
        severity=INFO,
        title=title,
        detail=(
            f"{what}. Every program started the same way can change or delete anything on the computer, "
            "by mistake or through a malicious file, and some programs refuse to run like this."
        ),
        next_step=step,
        probe="users",
        evidence={"user": r.user, "uid": r.uid, "is_admin": True},
    )


@rule("printers.stopped", "printers")
def printer_stopped(results: Results, thresholds: Thresholds) -> Iterator[Finding]:
    """A print queue that is stopped (CUPS 'disabled'): jobs wait in it and nothing prints."""
    del thresholds  # a fact, not a measure
    for p in results["printers"].printers:
        if p.state != "disabled":
            continue
        jobs = p.queued_jobs or 0
        reason = f" The printer reported: {p.reason}." if p.reason else ""
        waiting = f" {jobs} job{'s are' if jobs != 1 else ' is'} waiting in it." if jobs else ""
        refusing = " It also refuses new jobs." if p.accepting_jobs is False else ""
        yield Finding(
            id="printers.stopped",
            severity=WARNING if p.is_default or jobs else INFO,
            title=f"Printer stopped: {p.name}",
            detail=(
                f"The printer {p.name}{' (your default printer)' if p.is_default else ''} is stopped, so nothing "
                f"sent to it is printed.{reason}{waiting}{refusing}"
            ),
            next_step=(
                "Fix what the printer reports (paper, toner, cable, power), then resume it in the printer "
                f"settings (or ask IT to run: cupsenable {p.name}; cupsaccept {p.name})."
            ),
            probe="printers",
            subject=p.name,
            evidence={
                "printer": p.name,
                "reason": p.reason,
                "queued_jobs": jobs,
                "accepting_jobs": p.accepting_jobs,
                "is_default": p.is_default,
            },
        )


@rule("printers.service_down", "printers")
def print_service_down(results: Results, thresholds: Thresholds) -> Iterator[Finding]:
    """The print service (CUPS scheduler, Windows spooler) does not answer: nothing can be printed."""
    del thresholds  # a fact, not a measure
    r = results["printers"]
    if r.scheduler_running is not False:
        return
    said = f" It said: {r.message}." if r.message else ""
    cups = r.cups_available is not None
    yield Finding(
        id="printers.service_down",
        severity=INFO,
        title="The printing service is not running",
        detail=f"The computer's printing service does not answer, so nothing can be printed.{said}",
        next_step=(
            "If you need to print, ask IT to start the printing service "
            + ("(CUPS: systemctl start cups)." if cups else "(the Print Spooler service).")
        ),
        probe="printers",
        evidence={"message": r.message},
    )
