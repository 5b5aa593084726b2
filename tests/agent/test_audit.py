"""The audit log: whole JSON lines, mode 0600, rotation at a size, and reading newest first."""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from pathlib import Path

import pytest

from agent.audit import AuditError, AuditLog, now_iso, read_records, rotated


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_records_are_whole_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "audit.jsonl"
    with AuditLog(path) as audit:
        record = audit.write("command", session="ab12", peer="192.0.2.7:50412", command="probe cpu", exit=0,
                             duration_ms=12.5, bytes_out=1834, reason=None, engineer="Анна (L2)\nx")
    [stored] = lines(path)
    assert stored == record
    assert "reason" not in stored  # fields that do not apply are left out
    assert stored["engineer"] == "Анна (L2)\nx" and path.read_text(encoding="utf-8").count("\n") == 1
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", str(stored["time"]))
    if os.name == "posix":
        assert path.stat().st_mode & 0o777 == 0o600
        assert path.parent.stat().st_mode & 0o777 == 0o700


def test_now_iso() -> None:
    assert now_iso(0) == "1970-01-01T00:00:00.000Z"
    assert now_iso(1735689600.25) == "2025-01-01T00:00:00.250Z"


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_an_existing_log_is_appended_to_and_made_private(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    path.write_text('{"time":"t","event":"old"}\n')
    path.chmod(0o644)
    with AuditLog(path) as audit:
        audit.write("new")
    assert [r["event"] for r in lines(path)] == ["old", "new"]
    assert path.stat().st_mode & 0o777 == 0o600


def test_rotation_keeps_n_files_of_bounded_size(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    with AuditLog(path, max_bytes=2048, keep=3) as audit:
        for i in range(200):
            audit.write("command", n=i, command="probe cpu", padding="x" * 40)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["audit.jsonl", "audit.jsonl.1", "audit.jsonl.2", "audit.jsonl.3"]
    for i in range(4):
        size = rotated(path, i).stat().st_size
        assert 0 < size <= 2048
        if os.name == "posix":
            assert rotated(path, i).stat().st_mode & 0o777 == 0o600
    # within and across files: oldest first in a file, .3 oldest of all
    numbers = [int(r["n"]) for i in (3, 2, 1, 0) for r in lines(rotated(path, i))]  # type: ignore[call-overload]
    assert numbers == list(range(numbers[0], 200))


def test_reader_yields_newest_first_across_rotated_files(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    with AuditLog(path, max_bytes=1500, keep=4) as audit:
        for i in range(120):
            audit.write("command", n=i, padding="y" * 30)
    numbers = [r["n"] for r in read_records(path, keep=4)]
    assert numbers == list(range(119, 119 - len(numbers), -1))
    assert len(numbers) == sum(len(lines(rotated(path, i))) for i in range(5))
    assert [r["n"] for r in read_records(path, keep=0)] == numbers[: len(lines(path))]


def test_reader_handles_long_files_in_blocks(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    with AuditLog(path, max_bytes=64 * 1024 * 1024) as audit:
        for i in range(3000):
            audit.write("command", n=i, padding="z" * (i % 97))  # lines straddle the 64 KiB blocks
    assert [r["n"] for r in read_records(path)] == list(range(2999, -1, -1))
    assert list(read_records(tmp_path / "missing.jsonl")) == []


@pytest.mark.allow_warning_logs
def test_a_torn_last_line_is_skipped_with_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "audit.jsonl"
    with AuditLog(path) as audit:
        audit.write("connect")
        audit.write("auth")
    with path.open("a") as f:
        f.write('{"time":"2026-01-01T00:00:00.000Z","event":"comm')  # power cut mid-line
    with caplog.at_level(logging.WARNING, logger="deskline.agent"):
        assert [r["event"] for r in read_records(path)] == ["auth", "connect"]
    assert "not an audit record" in caplog.text and str(path) in caplog.text


def test_concurrent_writers_never_interleave(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    with AuditLog(path, max_bytes=256 * 1024, keep=10) as audit:
        def writer(w: int) -> None:
            for i in range(300):
                audit.write("command", writer=w, n=i, padding="p" * (i % 50))

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    records = list(read_records(path, keep=10))
    assert len(records) == 8 * 300
    for w in range(8):
        assert [r["n"] for r in records if r["writer"] == w] == list(range(299, -1, -1))


def test_writing_after_close_raises(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "audit.jsonl")
    audit.close()
    with pytest.raises(AuditError, match="audit log is closed"):
        audit.write("command")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root may write anywhere")
def test_an_unwritable_folder_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o500)
    with pytest.raises(AuditError, match=str(folder)):
        AuditLog(folder / "audit.jsonl")


def test_a_file_in_place_of_the_folder_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    with pytest.raises(AuditError, match="blocker"):
        AuditLog(blocker / "audit.jsonl")
