"""The software probe: dpkg status and log parsing, rpm and pacman parsing, and a real run here."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from desktop.diagnostics.base import LINUX, ProbeContext, ProbeError, to_jsonable
from desktop.diagnostics.probes import software
from desktop.diagnostics.probes.software import Package, SoftwareResult

FIXTURES = Path(__file__).parents[2] / "fixtures" / "software"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def test_dpkg_status_keeps_installed_stanzas_only() -> None:
    installed, unfinished = software.parse_dpkg_status(fixture("status"))
    assert installed == [
        Package("adduser", "3.134", "all"),
        Package("libc6", "2.36-9+deb12u9", "amd64"),
        Package("libc6", "2.36-9+deb12u9", "i386"),
        Package("linux-image-6.1.0-26-amd64", "6.1.112-1", "amd64"),  # held, but installed
        Package("zoom", "6.2.11.5069", "amd64"),
    ]
    # removed with config files left, and purged: not installed and not unfinished
    assert unfinished == ["firefox-esr", "python3-apt"]


def test_dpkg_status_parsing_is_fast_on_a_large_file() -> None:
    text = fixture("status")
    big = "\n".join([text] * 160)  # about 16,000 lines
    assert big.count("\n") > 15_000
    start = time.perf_counter()
    installed, _ = software.parse_dpkg_status(big)
    elapsed = time.perf_counter() - start
    assert len(installed) == 5 * 160
    assert elapsed < 0.2  # measured ~10 ms; a quadratic or line-by-line-regex parser would blow this


def test_dpkg_log_window_edge_and_actions() -> None:
    changes = software.parse_dpkg_log(fixture("dpkg.log"), datetime(2026, 11, 7, 12, 0, 0))
    assert [(c.action, c.name, c.old_version, c.new_version) for c in changes] == [
        ("upgrade", "libc6:amd64", "2.36-9+deb12u8", "2.36-9+deb12u9"),
        ("upgrade", "libc6:i386", "2.36-9+deb12u8", "2.36-9+deb12u9"),
        ("upgrade", "firefox-esr:amd64", "115.14.0esr-1~deb12u1", "128.5.0esr-1~deb12u1"),
        ("remove", "cups-browsed:amd64", "1.28.17-3", None),
        ("purge", "thinkfan:amd64", "1.3.1-3", None),
        ("install", "zoom:amd64", "6.2.11.5069", "6.2.11.5069"),  # a reinstall keeps its old version
    ]
    # dpkg.log is local time: the wall-clock time is kept and the local offset added
    assert changes[-1].time.startswith("2026-11-21T10:00:01")
    assert datetime.fromisoformat(changes[-1].time).tzinfo is not None


def test_dpkg_log_cutoff_is_inclusive_and_bisection_finds_the_start() -> None:
    text = fixture("dpkg.log")
    at_edge = software.parse_dpkg_log(text, datetime(2026, 11, 7, 11, 59, 59))
    assert at_edge[0].name == "zoom:amd64"
    assert at_edge[0].old_version is None
    assert software.parse_dpkg_log(text, datetime(2026, 11, 22)) == []
    everything = software.parse_dpkg_log(text, datetime(2000, 1, 1))
    assert [c.name for c in everything][:2] == ["tzdata:all", "zoom:amd64"]
    assert len(everything) == 8


def test_rotated_log_is_read_only_when_the_window_reaches_into_it(tmp_path: Path) -> None:
    logs = (FIXTURES / "dpkg.log", FIXTURES / "dpkg.log.1")
    changes = software.dpkg_recent(datetime(2026, 11, 1), logs)
    assert [c.name for c in changes][:2] == ["openssl:amd64", "tzdata:all"]  # htop is older than the window
    assert len(changes) == 9
    # the newer log starts before this window: the rotated one must not even be opened
    unreadable = tmp_path / "dpkg.log.1"
    unreadable.mkdir()
    changes = software.dpkg_recent(datetime(2026, 11, 6, 12, 0), (FIXTURES / "dpkg.log", unreadable))
    assert [c.name for c in changes][0] == "zoom:amd64"
    with pytest.raises(ProbeError, match="cannot read"):
        software.dpkg_recent(datetime(2026, 11, 1), (FIXTURES / "dpkg.log", unreadable))


def test_empty_fresh_log_after_rotation_falls_back_to_the_rotated_one(tmp_path: Path) -> None:
    fresh = tmp_path / "dpkg.log"
    fresh.write_text("", encoding="utf-8")
    changes = software.dpkg_recent(datetime(2026, 10, 1), (fresh, FIXTURES / "dpkg.log.1"))
    assert [c.name for c in changes] == ["htop:amd64", "openssl:amd64"]


def test_rpm_query_output() -> None:
    since = datetime(2024, 11, 20, tzinfo=UTC).timestamp()  # 1732060800
    installed, recent = software.parse_rpm_qa(fixture("rpm-qa.txt"), since)
    assert [(p.name, p.arch) for p in installed] == [
        ("bash", "x86_64"), ("firefox", "x86_64"), ("gpg-pubkey", ""), ("kernel-core", "x86_64")
    ]
    assert [(c.name, c.new_version, c.action) for c in recent] == [("firefox", "133.0-1.fc40", "install")]


def test_pacman_desc() -> None:
    desc = software.parse_pacman_desc(fixture("pacman-desc"))
    assert (desc["NAME"], desc["VERSION"], desc["ARCH"], desc["INSTALLDATE"]) == (
        "firefox", "133.0-1", "x86_64", "1732610000"
    )
    assert desc["DEPENDS"] == "dbus"  # multi-value sections: the first value only


def test_collect_on_staged_dpkg_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole probe on a staged dpkg database and log, with changes dated relative to now."""
    status = tmp_path / "status"
    shutil.copy(FIXTURES / "status", status)
    now = datetime.now()
    stamp = lambda ago: (now - ago).strftime("%Y-%m-%d %H:%M:%S")  # noqa: E731
    log = tmp_path / "dpkg.log"
    log.write_text(
        f"{stamp(timedelta(days=30))} install htop:amd64 <none> 3.2.2-2\n"
        f"{stamp(timedelta(days=5))} upgrade libc6:amd64 2.36-9+deb12u8 2.36-9+deb12u9\n"
        f"{stamp(timedelta(days=5))} upgrade libc6:i386 2.36-9+deb12u8 2.36-9+deb12u9\n"
        f"{stamp(timedelta(hours=1))} upgrade libc6:amd64 2.36-9+deb12u9 2.36-9+deb12u10\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(software, "DPKG_STATUS", status)
    monkeypatch.setattr(software, "DPKG_LOGS", (log, tmp_path / "absent.1"))
    result = software.collect(ProbeContext(settings={"software.recent_days": 14.0}, platform=LINUX, environ={}))
    assert result.manager == "dpkg"
    assert result.package_count == 5
    assert result.unfinished == ("firefox-esr", "python3-apt")
    assert (result.recent_total, result.recent_packages) == (3, 2)
    assert result.recent[0].new_version == "2.36-9+deb12u10"  # newest first
    assert result.recent[-1].name == "libc6:amd64"  # same second as libc6:i386, but earlier in the log
    narrow = software.collect(ProbeContext(settings={"software.recent_days": 1.0}, platform=LINUX, environ={}))
    assert narrow.recent_total == 1


def test_linux_without_a_known_package_manager(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(software, "DPKG_STATUS", tmp_path / "no-status")
    monkeypatch.setattr(software, "RPM_DBS", (tmp_path / "no-rpm",))
    monkeypatch.setattr(software, "PACMAN_LOCAL", tmp_path / "no-pacman")
    result = software.collect(ProbeContext(platform=LINUX, environ={}))
    assert (result.manager, result.packages, result.package_count, result.recent) == ("none", (), 0, ())


@pytest.mark.skipif(shutil.which("dpkg-query") is None, reason="needs a dpkg system")
def test_real_run_matches_dpkg_query() -> None:
    for _ in range(3):  # a package installed meanwhile changes the database: compare one consistent state
        before = software.DPKG_STATUS.stat().st_mtime_ns
        start = time.perf_counter()
        result = software.collect(ProbeContext(settings={"software.recent_days": 14.0}))
        elapsed = time.perf_counter() - start
        out = subprocess.run(
            ["dpkg-query", "-W", "-f", "${Package}\t${Architecture}\t${Version}\t${db:Status-Status}\n"],
            capture_output=True, text=True, check=True,
        ).stdout
        if software.DPKG_STATUS.stat().st_mtime_ns == before:
            break
    assert isinstance(result, SoftwareResult)
    assert result.manager == "dpkg"
    expected = {tuple(line.split("\t")[:3]) for line in out.splitlines() if line.endswith("\tinstalled")}
    assert result.package_count == len(expected) > 0
    assert {(p.name, p.arch, p.version) for p in result.packages} == expected
    # recent changes, counted independently from the log with the same window
    cutoff = (datetime.now() - timedelta(days=14)).strftime("%Y-%m-%d %H:%M:%S")
    counted = 0
    for path in software.DPKG_LOGS:  # the rotated log only holds older lines, so counting it too is harmless
        if path.exists():
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                parts = line.split(" ")
                if len(parts) == 6 and parts[2] in software.DPKG_ACTIONS and line[:19] >= cutoff:
                    counted += 1
    assert result.recent_total == counted
    times = [datetime.fromisoformat(c.time) for c in result.recent]
    assert times == sorted(times, reverse=True)
    to_jsonable(result)
    assert elapsed < 0.5


def test_dpkg_status_is_parsed_again_only_when_it_changes(tmp_path: Path) -> None:
    status = tmp_path / "status"
    stanza = "Package: {name}\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.0\n\n"
    status.write_text(stanza.format(name="alpha"), encoding="utf-8")
    first, _ = software._dpkg_status(status)
    assert [p.name for p in first] == ["alpha"]
    second, _ = software._dpkg_status(status)
    assert second == first
    status.write_text(stanza.format(name="alpha") + stanza.format(name="beta"), encoding="utf-8")
    os.utime(status, ns=(1, 1_000_000_000_000))  # a new mtime, as dpkg writing it gives
    third, _ = software._dpkg_status(status)
    assert [p.name for p in third] == ["alpha", "beta"]
