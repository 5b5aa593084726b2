"""System rules on staged results (built by hand or parsed from recorded output), and on a real pending
restart staged in a fake root and collected by the system probe."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from desktop.config import SCHEMA_BY_KEY
from desktop.diagnostics import findings
from desktop.diagnostics.base import ProbeContext
from desktop.diagnostics.findings import INFO, WARNING, Finding
from desktop.diagnostics.probes import printers, system
from desktop.diagnostics.probes.printers import Printer, PrintersResult
from desktop.diagnostics.probes.system import SystemResult
from desktop.diagnostics.probes.users import Session, UsersResult

FIXTURES = Path(__file__).parents[2] / "fixtures"
DAY = 86400.0
DEFAULTS: dict[str, Any] = {
    k.removeprefix("thresholds."): s.default for k, s in SCHEMA_BY_KEY.items() if k.startswith("thresholds.")
}
IDS = (
    "system.pending_reboot",
    "system.long_uptime",
    "system.clock_not_synchronised",
    "users.running_as_root",
    "printers.stopped",
    "printers.service_down",
)


def healthy_system(**kw: Any) -> SystemResult:
    values: dict[str, Any] = {
        "os_family": "linux",
        "os_name": "Ubuntu 24.04.3 LTS",
        "os_version": "24.04",
        "distribution_id": "ubuntu",
        "edition": "",
        "kernel_release": "6.8.0-45-generic",
        "architecture": "x86_64",
        "hostname": "pc7",
        "fqdn": None,
        "boot_time": "2026-11-18T08:02:11+00:00",
        "uptime_seconds": 3 * DAY,
        "timezone": "Europe/Berlin",
        "utc_offset_minutes": 60,
        "lang": "de_DE.UTF-8",
        "lc_all": "",
        "locale": "de_DE.UTF-8",
        "encoding": "UTF-8",
        "virtualization": "none",
        "container": "none",
        "vm": "none",
        "ntp_synchronized": True,
        "pending_reboot": False,
        "reboot_reasons": (),
        "reboot_packages": (),
        "python_version": "3.11.7",
        "collected_at": "2026-11-21T10:00:00.000+00:00",
    }
    values.update(kw)
    return SystemResult(**values)


def user(**kw: Any) -> UsersResult:
    values: dict[str, Any] = {
        "user": "alice",
        "uid": 1000,
        "is_admin": False,
        "elevated_by": "",
        "in_admin_group": True,
        "sessions": (Session("alice", "tty2", "", "2026-11-21T08:00:00+00:00"),),
        "session_count": 1,
        "user_count": 1,
    }
    values.update(kw)
    return UsersResult(**values)


def printer(name: str = "Office", **kw: Any) -> Printer:
    values: dict[str, Any] = {
        "name": name,
        "state": "idle",
        "accepting_jobs": True,
        "reason": "",
        "connection": "ipp",
        "is_default": False,
        "queued_jobs": 0,
    }
    values.update(kw)
    return Printer(**values)


def printing(*queues: Printer, **kw: Any) -> PrintersResult:
    values: dict[str, Any] = {
        "cups_available": True,
        "scheduler_running": True,
        "message": "",
        "default_printer": "",
        "printers": queues,
        "printer_count": len(queues),
        "queued_jobs": sum(p.queued_jobs or 0 for p in queues),
    }
    values.update(kw)
    return PrintersResult(**values)


def run(rule_id: str, res: dict[str, Any], **overrides: float) -> list[Finding]:
    return list(findings.rules()[rule_id].func(res, {**DEFAULTS, **overrides}))


def test_rules_are_registered() -> None:
    registered = findings.rules()
    for rule_id in IDS:
        assert rule_id in registered
    assert registered["users.running_as_root"].probes == ("users",)
    assert registered["printers.stopped"].probes == ("printers",)


def test_a_healthy_machine_has_no_findings() -> None:
    res = {"system": healthy_system(), "users": user(), "printers": printing(printer(is_default=True))}
    assert [f for f in findings.evaluate(res, DEFAULTS) if f.id in IDS] == []


# -- pending restart -------------------------------------------------------------------------------


def test_pending_reboot_names_the_packages() -> None:
    pkgs = tuple(f"pkg{i}" for i in range(8))
    res = {"system": healthy_system(pending_reboot=True, reboot_reasons=("a software update asked for a restart",),
                                    reboot_packages=pkgs, uptime_seconds=12 * DAY)}
    (f,) = run("system.pending_reboot", res)
    assert f.severity == WARNING
    assert "pkg0, pkg1, pkg2, pkg3, pkg4 and 3 more" in f.detail
    assert "12 days" in f.detail
    assert "restart" in f.next_step.lower()
    assert f.evidence["packages"] == ", ".join(pkgs)


@pytest.mark.parametrize("pending", [False, None])
def test_no_pending_reboot(pending: bool | None) -> None:
    assert run("system.pending_reboot", {"system": healthy_system(pending_reboot=pending)}) == []


def test_pending_reboot_from_a_real_flag_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The whole path: a flag file, the probe reading it, the rule judging the result."""
    (tmp_path / "etc").mkdir()
    shutil.copy(FIXTURES / "system" / "os-release-ubuntu-24.04", tmp_path / "etc" / "os-release")
    (tmp_path / "var/run").mkdir(parents=True)
    (tmp_path / "var/run/reboot-required").write_text("*** System restart required ***\n")
    (tmp_path / "var/run/reboot-required.pkgs").write_text("linux-image-6.8.0-45-generic\nlinux-base\n")
    monkeypatch.setattr(system, "ROOT", tmp_path)
    res = {"system": system.collect(ProbeContext(platform="linux"))}
    found = [f for f in findings.evaluate(res, DEFAULTS) if f.id == "system.pending_reboot"]
    assert len(found) == 1
    assert "linux-image-6.8.0-45-generic, linux-base." in found[0].detail
    (tmp_path / "var/run/reboot-required").unlink()
    res = {"system": system.collect(ProbeContext(platform="linux"))}
    assert [f for f in findings.evaluate(res, DEFAULTS) if f.id == "system.pending_reboot"] == []


# -- long uptime -----------------------------------------------------------------------------------


def test_long_uptime_follows_the_threshold() -> None:
    res = {"system": healthy_system(uptime_seconds=45 * DAY + 3600)}
    (f,) = run("system.long_uptime", res, uptime_days=30)
    assert f.severity == INFO
    assert f.title == "Not restarted for 45 days"
    assert "limit is 30 days" in f.detail
    assert run("system.long_uptime", res, uptime_days=60) == []
    assert len(run("system.long_uptime", {"system": healthy_system(uptime_seconds=7 * DAY)}, uptime_days=5)) == 1


def test_uptime_in_a_container_is_not_judged() -> None:
    res = {"system": healthy_system(uptime_seconds=400 * DAY, container="docker", virtualization="docker")}
    assert run("system.long_uptime", res) == []


# -- clock -----------------------------------------------------------------------------------------


def test_clock_not_synchronised() -> None:
    (f,) = run("system.clock_not_synchronised", {"system": healthy_system(ntp_synchronized=False)})
    assert f.severity == WARNING
    assert "2026-11-21T10:00:00.000+00:00" in f.detail
    assert "Europe/Berlin" in f.detail


@pytest.mark.parametrize("state", [True, None])
def test_clock_synchronised_or_unknown_is_quiet(state: bool | None) -> None:
    assert run("system.clock_not_synchronised", {"system": healthy_system(ntp_synchronized=state)}) == []


# -- administrator rights --------------------------------------------------------------------------


def test_root_desktop_session() -> None:
    (f,) = run("users.running_as_root", {"users": user(user="root", uid=0, is_admin=True)})
    assert f.severity == INFO
    assert "root" in f.title
    assert "sudo" in f.next_step


def test_elevated_windows_session_has_windows_advice() -> None:
    (f,) = run("users.running_as_root", {"users": user(user="alice", uid=None, is_admin=True)})
    assert "Run as administrator" in f.next_step


@pytest.mark.parametrize(
    ("users_result", "system_result"),
    [
        (user(), None),
        (user(user="root", uid=0, is_admin=True, elevated_by="alice"), None),  # sudo deskline: on purpose
        (user(user="root", uid=0, is_admin=True), healthy_system(container="docker")),
        (user(is_admin=None), None),
    ],
)
def test_no_root_finding(users_result: UsersResult, system_result: SystemResult | None) -> None:
    res: dict[str, Any] = {"users": users_result}
    if system_result is not None:
        res["system"] = system_result
    assert run("users.running_as_root", res) == []


# -- printers --------------------------------------------------------------------------------------


def test_stopped_printers_from_recorded_cups_output() -> None:
    res = {"printers": printers.parse_lpstat((FIXTURES / "printers" / "four-printers.stdout").read_text())}
    (f,) = run("printers.stopped", res)
    assert (f.subject, f.severity) == ("Reception", WARNING)  # a job is stuck in it
    assert "Out of toner" in f.detail
    assert "1 job is waiting" in f.detail
    assert "refuses new jobs" in f.detail
    assert "cupsenable Reception" in f.next_step


def test_a_stopped_unused_printer_is_only_info() -> None:
    res = {"printers": printing(printer("Old", state="disabled"), printer("Office", is_default=True))}
    (f,) = run("printers.stopped", res)
    assert (f.subject, f.severity) == ("Old", INFO)
    res = {"printers": printing(printer("Office", state="disabled", is_default=True))}
    (f,) = run("printers.stopped", res)
    assert f.severity == WARNING
    assert "your default printer" in f.detail


def test_print_service_down_from_recorded_output() -> None:
    stdout = (FIXTURES / "printers" / "scheduler-not-running.stdout").read_text()
    stderr = (FIXTURES / "printers" / "scheduler-not-running.stderr").read_text()
    (f,) = run("printers.service_down", {"printers": printers.parse_lpstat(stdout, stderr)})
    assert f.severity == INFO
    assert "Scheduler is not running." in f.detail
    assert "systemctl start cups" in f.next_step


@pytest.mark.parametrize("running", [True, None])
def test_print_service_up_or_unknown_is_quiet(running: bool | None) -> None:
    assert run("printers.service_down", {"printers": printing(scheduler_running=running)}) == []


def test_findings_are_plain_and_complete() -> None:
    res = {
        "system": healthy_system(
            pending_reboot=True, reboot_reasons=("x",), ntp_synchronized=False, uptime_seconds=90 * DAY
        ),
        "users": user(user="root", uid=0, is_admin=True),
        "printers": printing(printer("P", state="disabled", queued_jobs=2)),
    }
    found = [f for f in findings.evaluate(res, DEFAULTS) if f.id in IDS]
    assert sorted(f.id for f in found) == sorted(set(IDS) - {"printers.service_down"})
    for f in found:
        assert f.title and f.detail and f.next_step
        assert f.probe in ("system", "users", "printers")
