"""The services probe: systemctl and launchctl output parsing, the systemd flow, and a real run here."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import time
from pathlib import Path

import pytest

from desktop.diagnostics.base import LINUX, ProbeContext, ProbeError, to_jsonable
from desktop.diagnostics.probes import services
from desktop.diagnostics.probes.services import FailedUnit, ServicesResult

FIXTURES = Path(__file__).parents[2] / "fixtures" / "services"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def test_json_and_plain_listings_parse_to_the_same_rows() -> None:
    from_json = services.parse_list_units(fixture("list-units-failed-running.json"))
    from_plain = services.parse_list_units(fixture("list-units-failed-running.txt"))
    assert len(from_json) == 25
    assert from_plain == from_json
    failed = [r for r in from_json if r.active == "failed"]
    assert [r.name for r in failed] == [
        "mnt-backup.mount", "cups-browsed.service", "openvpn-client@office.service", "thinkfan.service"
    ]
    thinkfan = failed[-1]
    assert (thinkfan.load, thinkfan.sub) == ("not-found", "failed")
    assert from_json[2].description == "Avahi mDNS/DNS-SD Stack"


def test_plain_listing_with_job_column_drops_the_job() -> None:
    rows = services.parse_list_units(fixture("list-units-failed-with-job.txt"))
    assert [(r.name, r.description) for r in rows] == [
        ("mnt-nas.mount", "/mnt/nas"),
        ("openvpn-client@office.service", "OpenVPN tunnel for office"),
        ("plymouth-quit-wait.service", "Hold until boot process finishes up"),
    ]


def test_plain_listing_with_bullet_column_and_noise() -> None:
    text = (
        "● nginx.service loaded failed failed A high performance web server\n"
        "\n"
        "2 loaded units listed.\n"
        "  ssh.service   loaded active running OpenBSD Secure Shell server\n"
    )
    rows = services.parse_list_units(text)
    assert [(r.name, r.active, r.description) for r in rows] == [
        ("nginx.service", "failed", "A high performance web server"),
        ("ssh.service", "active", "OpenBSD Secure Shell server"),
    ]


def test_empty_json_listing_is_no_rows() -> None:
    assert services.parse_list_units("[]\n") == []
    assert services.parse_list_units("") == []


def test_show_blocks_and_utc_timestamps() -> None:
    props = services.parse_show(fixture("show-failed.txt"))
    assert set(props) == {"mnt-backup.mount", "cups-browsed.service", "openvpn-client@office.service",
                          "thinkfan.service"}
    assert props["openvpn-client@office.service"]["Result"] == "start-limit-hit"
    assert services.parse_utc_timestamp(props["cups-browsed.service"]["StateChangeTimestamp"]) == (
        "2026-11-21T08:14:03+00:00"
    )
    assert services.parse_utc_timestamp(props["thinkfan.service"]["StateChangeTimestamp"]) is None
    assert services.parse_utc_timestamp("Sat 2026-11-21 08:14:03 CET") is None  # only UTC is trusted


def test_launchctl_list() -> None:
    failed, running = services.parse_launchctl_list(fixture("launchctl-list.txt"))
    assert running == 3
    assert [(f.name, f.result) for f in failed] == [
        ("com.example.updater", "exit status 78"),
        ("com.apple.bird", "signal 9"),
    ]


class FakeService:
    def __init__(self, name: str, status: str, start_type: str) -> None:
        self._name, self._status, self._start = name, status, start_type

    def name(self) -> str:
        return self._name

    def display_name(self) -> str:
        return self._name.title()

    def status(self) -> str:
        return self._status

    def start_type(self) -> str:
        return self._start


def test_windows_automatic_services_that_are_stopped_count_as_failed() -> None:
    svcs = [
        FakeService("spooler", "stopped", "automatic"),
        FakeService("wuauserv", "stopped", "manual"),
        FakeService("dnscache", "running", "automatic"),
        FakeService("bits", "start_pending", "automatic"),
    ]
    failed, total, running = services.windows_failed(svcs)
    assert [f.name for f in failed] == ["spooler"]
    assert (total, running) == (1, 1)
    assert failed[0].description == "Spooler"


def _fake_systemctl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str) -> Path:
    """Put a systemctl on PATH that answers from the recorded fixtures and logs its arguments."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    prog = bindir / "systemctl"
    prog.write_text("#!/bin/sh\necho \"$@\" >> \"$CALLS\"\n" + script, encoding="utf-8")
    prog.chmod(prog.stat().st_mode | stat.S_IXUSR)
    calls = tmp_path / "calls"
    monkeypatch.setenv("CALLS", str(calls))
    monkeypatch.setenv("FIX", str(FIXTURES))
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    runtime = tmp_path / "run-systemd-system"
    runtime.mkdir()
    monkeypatch.setattr(services, "SYSTEMD_RUNTIME_DIR", runtime)
    return calls


def test_systemd_flow_against_recorded_answers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _fake_systemctl(
        tmp_path,
        monkeypatch,
        'case "$*" in\n'
        '  *is-system-running*) echo degraded; exit 1;;\n'
        '  *list-units*) cat "$FIX/list-units-failed-running.json";;\n'
        '  *show*) cat "$FIX/show-failed.txt";;\n'
        "esac\n",
    )
    result = services.collect(ProbeContext(platform=LINUX, environ={}))
    assert result.init_system == "systemd"
    assert result.system_state == "degraded"
    assert result.failed_total == 5  # four failed, and one crashed service waiting to restart
    assert result.running_services == 18  # .service units running; the two scopes are not services
    restarting = next(f for f in result.failed if f.name == "syncthing@alice.service")
    assert (restarting.active_state, restarting.sub_state) == ("activating", "auto-restart")
    vpn = next(f for f in result.failed if f.name == "openvpn-client@office.service")
    assert vpn == FailedUnit(
        "openvpn-client@office.service", "OpenVPN tunnel for office", "loaded", "failed", "failed",
        "start-limit-hit", "2026-11-21T09:02:41+00:00",
    )
    assert result.user_checked is False
    logged = calls.read_text(encoding="utf-8").splitlines()
    assert any("show" in c and "cups-browsed.service" in c and "thinkfan.service" in c for c in logged)


def test_systemd_healthy_makes_no_show_call(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _fake_systemctl(
        tmp_path,
        monkeypatch,
        'case "$*" in\n'
        '  *is-system-running*) echo running;;\n'
        "  *list-units*) echo '[{\"unit\":\"ssh.service\",\"load\":\"loaded\",\"active\":\"active\","
        "\"sub\":\"running\",\"description\":\"OpenBSD Secure Shell server\"}]';;\n"
        "esac\n",
    )
    result = services.collect(ProbeContext(platform=LINUX, environ={}))
    assert (result.system_state, result.failed, result.failed_total, result.running_services) == (
        "running", (), 0, 1
    )
    assert not any(" show " in f" {c} " for c in calls.read_text(encoding="utf-8").splitlines())


def test_systemctl_that_cannot_reach_systemd_is_a_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_systemctl(tmp_path, monkeypatch, "echo 'Failed to connect to bus: Connection refused' >&2\nexit 1\n")
    with pytest.raises(ProbeError, match="Failed to connect to bus"):
        services.collect(ProbeContext(platform=LINUX, environ={}))


@pytest.mark.skipif(shutil.which("systemctl") is None, reason="needs systemctl")
@pytest.mark.parametrize(
    "args",
    [services.LIST_UNITS_ARGS, services.USER_LIST_UNITS_ARGS, (*services.SHOW_ARGS, "ssh.service"),
     ("is-system-running",)],
)
def test_this_systemctl_accepts_every_option_the_probe_passes(args: tuple[str, ...]) -> None:
    """Even without systemd as PID 1, systemctl parses its options before it looks for the manager."""
    out = subprocess.run(["systemctl", *args], capture_output=True, text=True, check=False, timeout=10)
    if out.returncode != 0:
        for complaint in ("unrecognized option", "invalid option", "Invalid value", "Unknown output", "Unknown command",
                          "Failed to parse"):
            assert complaint not in out.stderr


@pytest.mark.skipif(not Path("/proc/1/comm").exists(), reason="needs Linux /proc")
def test_real_run_on_this_machine() -> None:
    start = time.perf_counter()
    result = services.collect(ProbeContext())
    elapsed = time.perf_counter() - start
    assert isinstance(result, ServicesResult)
    assert result.pid1 == Path("/proc/1/comm").read_text(encoding="utf-8").strip()
    if Path("/run/systemd/system").is_dir():
        assert result.init_system == "systemd"
        assert result.system_state
        assert result.running_services
        assert result.failed_total >= len(result.failed)
    else:  # a container or another init: a fact, not a failure
        assert result.init_system == "other"
        assert (result.system_state, result.failed, result.running_services) == (None, (), None)
    to_jsonable(result)
    assert elapsed < 5.0  # a bound (the probe timeout is 5 s), not a benchmark: bench/collect.py measures
