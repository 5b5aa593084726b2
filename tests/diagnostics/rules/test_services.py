"""Services, logs and software rules on staged results: each fires when it should, stays quiet on a healthy
machine, and follows its threshold."""

from __future__ import annotations

from typing import Any

import pytest

from desktop.config import SCHEMA_BY_KEY
from desktop.diagnostics import findings
from desktop.diagnostics.findings import CRITICAL, INFO, WARNING, Finding
from desktop.diagnostics.probes.logs import LogEntry, LogsResult, SourceCount
from desktop.diagnostics.probes.services import FailedUnit, ServicesResult
from desktop.diagnostics.probes.software import Package, PackageChange, SoftwareResult

DEFAULTS: dict[str, Any] = {
    k.removeprefix("thresholds."): s.default for k, s in SCHEMA_BY_KEY.items() if k.startswith("thresholds.")
}


def run(rule_id: str, res: dict[str, Any], **overrides: float) -> list[Finding]:
    func = findings.rules()[rule_id].func
    return list(func(res, {**DEFAULTS, **overrides}))


def unit(name: str, description: str = "", result: str | None = "exit-code") -> FailedUnit:
    return FailedUnit(name, description, "loaded", "failed", "failed", result, "2026-11-21T08:14:03+00:00")


def services(**kw: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "init_system": "systemd",
        "pid1": "systemd",
        "system_state": "running",
        "failed": (),
        "failed_total": 0,
        "running_services": 31,
        "user_checked": True,
        "user_failed": (),
    }
    values.update(kw)
    return {"services": ServicesResult(**values)}


def logs(total: int, **kw: Any) -> dict[str, Any]:
    entry = LogEntry("2026-11-21T10:00:00+00:00", "err", "nginx", "nginx.service", 1088, "open() failed")
    values: dict[str, Any] = {
        "source": "journal",
        "window_hours": 24.0,
        "entries": (entry,) * min(total, 100),
        "total": total,
        "total_is_lower_bound": False,
        "truncated": total > 100,
        "top_sources": (SourceCount("nginx", total - total // 4), SourceCount("kernel", total // 4))
        if total else (),
        "journal_restricted": False,
        "note": "",
    }
    values.update(kw)
    return {"logs": LogsResult(**values)}


def software(changes: tuple[PackageChange, ...] = (), **kw: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "manager": "dpkg",
        "packages": (Package("libc6", "2.36-9+deb12u9", "amd64"),),
        "package_count": 1,
        "unfinished": (),
        "recent_days": 14.0,
        "recent": changes,
        "recent_total": len(changes),
        "recent_packages": len({c.name for c in changes}),
        "flatpak_apps": None,
        "snaps": None,
    }
    values.update(kw)
    return {"software": SoftwareResult(**values)}


def test_rules_are_registered_on_their_probes() -> None:
    registered = findings.rules()
    assert registered["services.failed"].probes == ("services",)
    assert registered["services.system_degraded"].probes == ("services",)
    assert registered["logs.many_errors"].probes == ("logs",)
    assert registered["software.recent_changes"].probes == ("software",)


# -- services.failed ------------------------------------------------------------------------------------------


def test_failed_units_are_named_with_descriptions() -> None:
    res = services(
        system_state="degraded",
        failed=(unit("cups-browsed.service", "Make remote CUPS printers available locally"),
                unit("mnt-backup.mount", "/mnt/backup", result="timeout")),
        failed_total=2,
    )
    (f,) = run("services.failed", res)
    assert f.severity == WARNING
    assert f.title == "2 background services failed"
    assert "cups-browsed.service (Make remote CUPS printers available locally)" in f.detail
    assert "mnt-backup.mount (/mnt/backup)" in f.detail
    assert "exit-code, timeout" in f.detail
    assert f.next_step
    assert f.evidence["failed_total"] == 2


def test_failed_list_is_capped_in_the_detail_and_counts_the_rest() -> None:
    many = tuple(unit(f"job{i}.service") for i in range(8))
    (f,) = run("services.failed", services(failed=many, failed_total=12,
                                           user_failed=(unit("pipewire.service", "PipeWire"),)))
    assert f.title == "13 background services failed"
    assert "job4.service" in f.detail
    assert "job5.service" not in f.detail
    assert "and 8 more" in f.detail


def test_user_units_alone_fire_too() -> None:
    (f,) = run("services.failed", services(user_failed=(unit("syncthing.service", "Syncthing"),)))
    assert f.title == "1 background service failed"
    assert "syncthing.service (Syncthing)" in f.detail


def test_windows_stopped_automatic_services_are_a_hint() -> None:
    res = services(init_system="windows-scm", system_state=None,
                   failed=(FailedUnit("Spooler", "Print Spooler", "automatic", "stopped", "", None, None),),
                   failed_total=1)
    (f,) = run("services.failed", res)
    assert f.severity == INFO
    assert "Spooler (Print Spooler)" in f.detail


def test_no_failed_units_is_quiet() -> None:
    assert run("services.failed", services()) == []
    assert run("services.failed", services(init_system="other", system_state=None, running_services=None)) == []


# -- services.system_degraded ------------------------------------------------------------------------------------


def test_rescue_mode_is_critical() -> None:
    (f,) = run("services.system_degraded", services(system_state="maintenance"))
    assert f.severity == CRITICAL
    assert "rescue" in f.title


def test_unfinished_start_up_is_info() -> None:
    (f,) = run("services.system_degraded", services(system_state="starting"))
    assert f.severity == INFO
    assert "'starting'" in f.detail


def test_degraded_is_left_to_services_failed_when_units_are_listed() -> None:
    res = services(system_state="degraded", failed=(unit("a.service"),), failed_total=1)
    assert run("services.system_degraded", res) == []
    (f,) = run("services.system_degraded", services(system_state="degraded"))
    assert f.severity == INFO


@pytest.mark.parametrize("state", ["running", "stopping", "offline", None])
def test_normal_states_are_quiet(state: str | None) -> None:
    assert run("services.system_degraded", services(system_state=state)) == []


# -- logs.many_errors -------------------------------------------------------------------------------------------


def test_many_errors_names_the_top_sources() -> None:
    (f,) = run("logs.many_errors", logs(120))
    assert f.severity == INFO
    assert "120 error entries from the last 1 day" in f.detail
    assert "nginx (90)" in f.detail
    assert "kernel (30)" in f.detail
    assert f.evidence["top_source"] == "nginx"


def test_many_errors_follows_both_thresholds() -> None:
    assert run("logs.many_errors", logs(50)) == []  # default log_errors = 50: not more than it
    assert run("logs.many_errors", logs(51))[0].severity == INFO
    assert run("logs.many_errors", logs(120), log_errors=200) == []
    assert run("logs.many_errors", logs(120), log_errors=10)[0].severity == INFO
    assert run("logs.many_errors", logs(120), log_errors=10, log_errors_warning=100)[0].severity == WARNING
    assert run("logs.many_errors", logs(600))[0].severity == WARNING  # default log_errors_warning = 500


def test_many_errors_says_when_the_count_is_a_lower_bound_or_restricted() -> None:
    (f,) = run("logs.many_errors", logs(1000, total_is_lower_bound=True, journal_restricted=True))
    assert "at least 1000" in f.detail
    assert "own entries" in f.detail


def test_no_log_or_few_errors_is_quiet() -> None:
    assert run("logs.many_errors", logs(0, source="none")) == []
    assert run("logs.many_errors", logs(3)) == []


# -- software.recent_changes ---------------------------------------------------------------------------------------


def test_recent_changes_are_counted_and_named_newest_first() -> None:
    changes = (
        PackageChange("2026-11-21T10:00:01+00:00", "upgrade", "libc6:amd64", "2.36-9+deb12u8", "2.36-9+deb12u9"),
        PackageChange("2026-11-21T10:00:01+00:00", "upgrade", "libc6:i386", "2.36-9+deb12u8", "2.36-9+deb12u9"),
        PackageChange("2026-11-20T17:02:05+00:00", "remove", "cups-browsed:amd64", "1.28.17-3", None),
        PackageChange("2026-11-14T08:30:43+00:00", "upgrade", "libc6:amd64", "2.36-9+deb12u7", "2.36-9+deb12u8"),
        PackageChange("2026-11-07T11:59:59+00:00", "install", "zoom:amd64", None, "6.2.11.5069"),
    )
    (f,) = run("software.recent_changes", software(changes))
    assert f.severity == INFO
    assert f.title == "4 software packages changed in the last 14 days"
    assert "(5 changes in all)" in f.detail
    assert "libc6 updated 21 Nov" in f.detail
    assert "cups-browsed removed 20 Nov" in f.detail
    assert "zoom installed 7 Nov" in f.detail
    assert f.evidence["newest"] == "2026-11-21T10:00:01+00:00"


def test_no_recent_changes_is_quiet() -> None:
    assert run("software.recent_changes", software()) == []
    assert run("software.recent_changes", software(manager="none", packages=(), package_count=0)) == []


def test_all_rules_through_evaluate_on_a_healthy_machine() -> None:
    healthy = {**services(), **logs(2), **software()}
    ours = [f for f in findings.evaluate(healthy, DEFAULTS)
            if f.id.split(".")[0] in ("services", "logs", "software")]
    assert ours == []
