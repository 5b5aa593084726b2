"""The logs probe: journal JSON, syslog (classic and RFC 3339), wevtutil and log show parsing, caps, the
journal-then-syslog flow, and a real run here."""

from __future__ import annotations

import os
import shutil
import stat
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from desktop.diagnostics.base import LINUX, ProbeContext, ProbeError, to_jsonable
from desktop.diagnostics.probes import logs
from desktop.diagnostics.probes.logs import LogEntry, LogsResult, SourceCount

FIXTURES = Path(__file__).parents[2] / "fixtures" / "logs"
NOW = datetime(2026, 11, 21, 12, 0, 0, tzinfo=UTC)
SINCE = NOW - timedelta(hours=24)


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


@pytest.fixture
def utc_local_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Classic syslog and dpkg-style stamps are local time: pin the local zone for exact expectations."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_journal_json_fields_byte_arrays_and_nulls() -> None:
    entries = logs.parse_journal_json(fixture("journal.json"))
    assert [(e.source, e.priority, e.unit, e.pid) for e in entries] == [
        ("kernel", "err", None, None),
        ("cups-browsed", "err", "cups-browsed.service", 812),
        ("pipewire", "err", "pipewire.service", 1523),  # the user unit, not user@1000.service
        ("rsync", "err", "backup.service", 20411),
        ("nginx", "crit", "nginx.service", 1088),
        ("gnome-shell", "err", "session-2.scope", 2210),
    ]
    # MESSAGE as a byte array (non-UTF-8): decoded with replacement characters
    assert entries[2].message == "module load failed: \ufffd\ufffd not UTF-8"
    assert entries[3].message == "(message too large to show)"  # null: larger than journalctl prints
    assert entries[4].message.startswith("[crit] 1088#1088")  # a field given twice: the first value
    assert entries[5].message.endswith("panel.js:411:9")  # trailing newline trimmed
    assert datetime.fromisoformat(entries[0].time) == datetime(2026, 11, 21, 8, 2, 11, 123456, tzinfo=UTC)


def test_syslog_rfc3339_window_edge_and_error_filter() -> None:
    entries, lower_bound = logs.parse_syslog(fixture("syslog-rfc3339"), SINCE, NOW)
    assert [e.source for e in entries] == [
        "kernel", "systemd", "systemd", "gnome-shell", "kernel", "systemd-coredump", "kernel", "pulseaudio"
    ]
    # 11:59:59.998 is outside the 24 h window, 12:00:00.000 is its first instant
    assert datetime.fromisoformat(entries[0].time) == SINCE
    assert entries[3].pid == 2210
    assert entries[-1].message.startswith('Failed to load module "module-alsa-card"')
    assert lower_bound is False  # the file starts before the window: nothing older was missed


def test_syslog_classic_timestamps_are_local_and_get_a_year(utc_local_time: None) -> None:
    entries, lower_bound = logs.parse_syslog(fixture("syslog-classic"), SINCE, NOW)
    assert [(e.time, e.source) for e in entries] == [
        ("2026-11-20T12:00:00+00:00", "kernel"),
        ("2026-11-20T16:45:09+00:00", "systemd"),
        ("2026-11-21T01:13:55+00:00", "kernel"),
        ("2026-11-21T09:59:01+00:00", "kernel"),
        ("2026-11-21T11:00:00+00:00", ""),  # no tag: no source, whole rest as message
    ]
    assert entries[-1].message == "-- MARK -- disk error on sda, sector 4096"
    assert lower_bound is False


def test_classic_timestamp_in_december_read_in_january_is_last_year(utc_local_time: None) -> None:
    parsed = logs.parse_syslog_time("Dec 31 23:59:00 pc kernel: x", datetime(2027, 1, 1, 0, 30, tzinfo=UTC))
    assert parsed is not None
    assert parsed[0] == datetime(2026, 12, 31, 23, 59, tzinfo=UTC)


def test_window_reaching_before_the_read_part_marks_a_lower_bound() -> None:
    text = "".join(
        f"2026-11-21T{h:02d}:00:00.000000+00:00 pc app[1]: error {h}\n" for h in range(6, 12)
    )
    entries, lower_bound = logs.parse_syslog(text, SINCE, NOW)
    assert len(entries) == 6
    assert lower_bound is True


def test_host_name_alone_does_not_make_an_error() -> None:
    text = "2026-11-21T10:00:00+00:00 failover-2 systemd[1]: Started session 3.\n"
    assert logs.parse_syslog(text, SINCE, NOW)[0] == []


def test_select_enforces_count_and_byte_caps() -> None:
    entries = [LogEntry("2026-11-21T10:00:00+00:00", "err", "app", None, 1, "x" * 95) for _ in range(10)]
    assert len(logs.select(entries, max_entries=3, max_bytes=10_000)) == 3
    assert len(logs.select(entries, max_entries=100, max_bytes=350)) == 3  # 98 bytes each: 3 fit, 4 do not
    assert logs.select(entries, max_entries=100, max_bytes=50) == ()


def test_cut_message_length() -> None:
    assert logs.cut_message("a" * 600) == "a" * 499 + "…"
    assert len(logs.cut_message("a" * 600)) == logs.MESSAGE_CHARS
    assert logs.cut_message("short\n") == "short"


def test_top_sources_rank_and_limit() -> None:
    entries = [LogEntry("t", None, s, None, None, "m") for s in "aabbbcdefghijklm"]
    top = logs.top_sources(entries)
    assert top[:2] == (SourceCount("b", 3), SourceCount("a", 2))
    assert len(top) == logs.TOP_SOURCES


def test_wevtutil_text() -> None:
    entries = logs.parse_wevtutil_text(fixture("wevtutil-system.txt"))
    assert [(e.source, e.priority) for e in entries] == [
        ("Microsoft-Windows-Kernel-Power", "critical"), ("Service Control Manager", "error")
    ]
    assert entries[1].message == (
        "Event 7000: The Print Spooler service failed to start due to the following error: "
        "The system cannot find the file specified."
    )
    assert datetime.fromisoformat(entries[0].time) == datetime(2026, 11, 21, 10, 0, 1, 123000, tzinfo=UTC)


def test_log_show_ndjson() -> None:
    entries = logs.parse_log_ndjson(fixture("log-show.ndjson"))
    assert len(entries) == 1  # the closing {"count": ...} line is not an entry
    assert (entries[0].source, entries[0].priority, entries[0].pid) == ("Updater", "error", 512)
    assert datetime.fromisoformat(entries[0].time) == datetime(2026, 11, 21, 9, 0, 1, 123456, tzinfo=UTC)


# -- the whole probe on staged logs -------------------------------------------------------------------------


def _stage_syslog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lines: list[str]) -> Path:
    path = tmp_path / "syslog"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    monkeypatch.setattr(logs, "SYSLOG_FILES", (tmp_path / "absent", path))
    monkeypatch.setattr(logs, "JOURNAL_DIRS", (tmp_path / "no-journal",))
    return path


def _stamp(ago: timedelta) -> str:
    return (datetime.now(tz=UTC) - ago).isoformat()


def test_collect_falls_back_to_syslog_and_applies_caps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = [f"{_stamp(timedelta(hours=30))} pc old[1]: error from yesterday's yesterday"]
    # entry i is logged 200 - i minutes (less 30 s, to stay clear of the window's edge) ago
    lines += [
        f"{_stamp(timedelta(minutes=200 - i, seconds=-30))} pc app{i % 3}[{100 + i}]: request {i} failed"
        for i in range(150)
    ]
    lines += [f"{_stamp(timedelta(minutes=1))} pc cron[5]: job done"]
    path = _stage_syslog(tmp_path, monkeypatch, lines)
    ctx = ProbeContext(settings={"logs.window_hours": 24.0, "logs.max_entries": 20}, platform=LINUX, environ={})
    result = logs.collect(ctx)
    assert result.source == str(path)
    assert "no journal files" in result.note
    assert result.total == 150
    assert len(result.entries) == 20
    assert result.truncated is True
    assert result.entries[0].message == "request 149 failed"  # newest first
    assert result.top_sources == (SourceCount("app0", 50), SourceCount("app1", 50), SourceCount("app2", 50))
    # a byte cap tighter than 20 entries wins
    small = logs.collect(ProbeContext(
        settings={"logs.max_entries": 100, "logs.max_bytes": 1024}, platform=LINUX, environ={}))
    assert sum(logs.entry_bytes(e) for e in small.entries) <= 1024
    assert 0 < len(small.entries) < 100
    # a shorter window excludes older errors
    narrow = logs.collect(ProbeContext(settings={"logs.window_hours": 1.0}, platform=LINUX, environ={}))
    assert narrow.total == 10  # entries 140..149, logged 59.5 to 50.5 minutes ago
    assert narrow.total_is_lower_bound is False


def test_collect_reports_unreadable_syslog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    unreadable = tmp_path / "syslog"
    unreadable.mkdir()  # reading a directory fails like a permission problem would, also for root
    monkeypatch.setattr(logs, "SYSLOG_FILES", (unreadable,))
    monkeypatch.setattr(logs, "JOURNAL_DIRS", (tmp_path / "no-journal",))
    result = logs.collect(ProbeContext(platform=LINUX, environ={}))
    assert result.source == "none"
    assert f"cannot read {unreadable}" in result.note


def _fake_journal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str) -> Path:
    journal = tmp_path / "journal" / "0123456789abcdef0123456789abcdef"
    journal.mkdir(parents=True)
    (journal / "system.journal").write_bytes(b"LPKSHHRH")
    monkeypatch.setattr(logs, "JOURNAL_DIRS", (tmp_path / "journal",))
    bindir = tmp_path / "bin"
    bindir.mkdir()
    prog = bindir / "journalctl"
    prog.write_text("#!/bin/sh\necho \"$@\" > \"$CALLS\"\n" + script, encoding="utf-8")
    prog.chmod(prog.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("CALLS", str(tmp_path / "calls"))
    monkeypatch.setenv("FIX", str(FIXTURES))
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    return tmp_path / "calls"


def test_collect_from_the_journal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _fake_journal(tmp_path, monkeypatch, 'cat "$FIX/journal.json"\n')
    ctx = ProbeContext(settings={"logs.window_hours": 6.0, "logs.max_entries": 4}, platform=LINUX, environ={})
    before = int(time.time())
    result = logs.collect(ctx)
    argv = calls.read_text(encoding="utf-8").split()
    assert result.source == "journal"
    assert (result.total, len(result.entries), result.truncated) == (6, 4, True)
    assert result.entries[0].source == "gnome-shell"  # journalctl gives oldest first; kept newest first
    assert result.total_is_lower_bound is False
    assert result.journal_restricted is False
    assert "--priority=err" in argv
    assert "-n" in argv
    assert argv[argv.index("-n") + 1] == str(logs.COUNT_LIMIT)
    since = int(next(a for a in argv if a.startswith("--since=@")).split("@")[1])
    assert abs(since - (before - 6 * 3600)) <= 2


def test_journal_failure_falls_back_to_syslog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_journal(tmp_path, monkeypatch, "echo 'Failed to open journal: Bad message' >&2\nexit 1\n")
    path = tmp_path / "messages"
    path.write_text(f"{_stamp(timedelta(minutes=5))} pc app[7]: disk failure\n", encoding="utf-8")
    monkeypatch.setattr(logs, "SYSLOG_FILES", (path,))
    result = logs.collect(ProbeContext(platform=LINUX, environ={}))
    assert result.source == str(path)
    assert result.total == 1
    assert "journalctl exited with 1: Failed to open journal: Bad message" in result.note


def test_a_named_source_is_used_even_when_the_other_is_there(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    # the agent's ``logs syslog`` / ``logs journal``: what the engineer asked for, or why not
    _fake_journal(tmp_path, monkeypatch, 'cat "$FIX/journal.json"\n')
    path = tmp_path / "messages"
    path.write_text(f"{_stamp(timedelta(minutes=5))} pc app[7]: disk failure\n", encoding="utf-8")
    monkeypatch.setattr(logs, "SYSLOG_FILES", (path,))

    def collect(source: str) -> logs.LogsResult:
        return logs.collect(ProbeContext(settings={"logs.source": source, "logs.window_hours": 6.0},
                                         platform=LINUX, environ={}))

    assert collect("auto").source == "journal"
    assert collect("journal").source == "journal"
    syslog = collect("syslog")
    assert (syslog.source, syslog.total, syslog.note) == (str(path), 1, "")
    path.unlink()
    with pytest.raises(ProbeError, match="no syslog file"):
        collect("syslog")
    with pytest.raises(ProbeError, match=r"unknown logs source 'dmesg' \(one of: auto, journal, syslog\)"):
        collect("dmesg")


def test_a_named_journal_that_cannot_be_read_is_an_error_not_syslog(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    _stage_syslog(tmp_path, monkeypatch, [f"{_stamp(timedelta(minutes=5))} pc app[7]: disk failure"])
    ctx = ProbeContext(settings={"logs.source": "journal"}, platform=LINUX, environ={})
    with pytest.raises(ProbeError, match="the journal cannot be read: no journal files"):
        logs.collect(ctx)
    with pytest.raises(ProbeError, match="the journal source is Linux's; on windows use auto"):
        logs.collect(ProbeContext(settings={"logs.source": "journal"}, platform="windows", environ={}))


@pytest.mark.skipif(shutil.which("journalctl") is None, reason="needs journalctl")
def test_this_journalctl_accepts_the_probe_query() -> None:
    """The real journalctl runs the exact query (options, --since=@epoch) without complaint."""
    journalctl = shutil.which("journalctl")
    assert journalctl is not None
    entries, capped = logs._journal(ProbeContext(), journalctl, datetime.now(tz=UTC) - timedelta(hours=24))
    assert len(entries) <= logs.COUNT_LIMIT
    assert capped == (len(entries) == logs.COUNT_LIMIT)


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="Linux only")
def test_real_run_on_this_machine() -> None:
    start = time.perf_counter()
    result = logs.collect(ProbeContext())
    elapsed = time.perf_counter() - start
    assert isinstance(result, LogsResult)
    has_journal = bool(logs.journal_files())
    syslog = next((p for p in logs.SYSLOG_FILES if p.is_file()), None)
    if has_journal:
        assert result.source in ("journal", *(str(p) for p in logs.SYSLOG_FILES))
    elif syslog is not None and os.access(syslog, os.R_OK):
        assert result.source == str(syslog)
    else:  # this container: /var/log/journal is empty and no syslog daemon writes files
        assert result.source == "none"
        assert result.note
        assert (result.entries, result.total) == ((), 0)
    assert len(result.entries) <= 100
    assert sum(logs.entry_bytes(e) for e in result.entries) <= 65536
    assert result.total >= len(result.entries)
    to_jsonable(result)
    assert elapsed < 5.0  # a bound (the probe timeout is 5 s), not a benchmark: bench/collect.py measures
