"""The printers probe: lpstat output recorded from a real CUPS scheduler, replayed by a stand-in lpstat on PATH."""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

import pytest

from desktop.diagnostics.base import ProbeContext, ProbeError, Unsupported, describe, to_jsonable
from desktop.diagnostics.probes import printers

FIXTURES = Path(__file__).parents[2] / "fixtures" / "printers"
posix_only = pytest.mark.skipif(sys.platform == "win32", reason="runs a shell script as lpstat")


def recorded(state: str) -> printers.PrintersResult:
    return printers.parse_lpstat(
        (FIXTURES / f"{state}.stdout").read_text(), (FIXTURES / f"{state}.stderr").read_text()
    )


def test_four_printers() -> None:
    r = recorded("four-printers")
    assert (r.cups_available, r.scheduler_running, r.message) == (True, True, "")
    assert r.default_printer == "Office_Laser"
    assert (r.printer_count, r.queued_jobs) == (4, 3)
    by_name = {p.name: p for p in r.printers}
    assert [p.name for p in r.printers] == ["Label_Printer", "Office_Laser", "Plotter", "Reception"]
    office = by_name["Office_Laser"]
    assert (office.state, office.accepting_jobs, office.is_default, office.queued_jobs) == ("printing", True, True, 2)
    assert office.reason == "The printer may not exist or is unavailable at this time."
    assert office.connection == "ipp"
    reception = by_name["Reception"]
    assert (reception.state, reception.accepting_jobs, reception.queued_jobs) == ("disabled", False, 1)
    assert (reception.reason, reception.connection) == ("Out of toner", "ipps")
    label = by_name["Label_Printer"]
    assert (label.state, label.reason, label.connection, label.is_default) == ("idle", "", "http", False)


def test_a_paused_printer_without_default() -> None:
    r = recorded("one-paused-no-default")
    assert r.default_printer == ""
    assert not any(p.is_default for p in r.printers)
    plotter = {p.name: p for p in r.printers}["Plotter"]
    assert (plotter.state, plotter.accepting_jobs, plotter.reason) == ("disabled", True, "Paper jam in tray 2")
    assert r.queued_jobs == 0


def test_scheduler_without_queues() -> None:
    r = recorded("no-destinations")
    assert (r.scheduler_running, r.printers, r.printer_count, r.queued_jobs, r.message) == (True, (), 0, 0, "")


def test_scheduler_not_running() -> None:
    r = recorded("scheduler-not-running")
    assert (r.cups_available, r.scheduler_running) == (True, False)
    assert r.message == "Scheduler is not running."
    assert (r.printers, r.queued_jobs, r.default_printer) == ((), None, "")


@pytest.mark.parametrize(
    ("uri", "scheme"),
    [
        ("smb://alice:secret@fileserver/plotter", "smb"),
        ("usb://HP/LaserJet%20P1102?serial=000000000000", "usb"),
        ("socket://192.0.2.10:9100", "socket"),
        ("dnssd://Brother%20HL-L2350DW._ipp._tcp.local/?uuid=e3248000", "dnssd"),
        ("/dev/null", "file"),
        ("not a uri", ""),
    ],
)
def test_only_the_scheme_of_a_device_is_kept(uri: str, scheme: str) -> None:
    r = printers.parse_lpstat(f"printer P is idle.  enabled since Sat Nov 21 23:26:14 2026\ndevice for P: {uri}\n")
    assert r.printers[0].connection == scheme
    assert "secret" not in json.dumps(to_jsonable(r))


def test_printer_list_is_capped_but_counted() -> None:
    n = printers.MAX_PRINTERS + 5
    text = "".join(f"printer Q{i:03d} is idle.  enabled since Sat Nov 21 23:26:14 2026\n" for i in range(n))
    text += "Q000-7                  root              1024   Sat Nov 21 23:26:14 2026\n"
    r = printers.parse_lpstat(text)
    assert (len(r.printers), r.printer_count, r.queued_jobs) == (printers.MAX_PRINTERS, n, 1)
    assert r.printers[0].queued_jobs == 1


# -- the probe, running a stand-in lpstat ------------------------------------------------------------


def fake_lpstat(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, state: str, delay: float = 0.0) -> Path:
    """Put an ``lpstat`` on PATH that replays a recorded state and writes its arguments to a file."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    args = tmp_path / "args"
    script = bindir / "lpstat"
    script.write_text(
        "#!/bin/sh\n"
        f'echo "$@" > "{args}"\n'
        + (f"exec sleep {delay}\n" if delay else "")  # exec: the timeout's kill reaches the sleeper
        + f'cat "{FIXTURES / state}.stdout"\n'
        f'cat "{FIXTURES / state}.stderr" >&2\n'
        f'exit "$(cat "{FIXTURES / state}.rc")"\n'
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:/usr/bin:/bin")
    return args


@posix_only
def test_collect_runs_lpstat_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    args = fake_lpstat(tmp_path, monkeypatch, "four-printers")
    r = printers.collect(ProbeContext(platform="linux"))
    assert args.read_text().split() == ["-d", "-p", "-a", "-v", "-o"]
    assert r == recorded("four-printers")


@posix_only
def test_collect_with_the_scheduler_down_is_a_result_not_a_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_lpstat(tmp_path, monkeypatch, "scheduler-not-running")
    r = printers.collect(ProbeContext(platform="macos"))
    assert (r.scheduler_running, r.message) == (False, "Scheduler is not running.")


@posix_only
def test_a_hanging_scheduler_is_a_clear_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_lpstat(tmp_path, monkeypatch, "four-printers", delay=5)
    monkeypatch.setattr(printers, "LPSTAT_TIMEOUT", 0.3)
    start = time.perf_counter()
    with pytest.raises(ProbeError, match=r"lpstat: no answer within 0.3 s"):
        printers.collect(ProbeContext(platform="linux"))
    assert time.perf_counter() - start < 3


def test_without_the_cups_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no lpstat anywhere
    r = printers.collect(ProbeContext(platform="linux"))
    assert (r.cups_available, r.scheduler_running, r.printers, r.queued_jobs) == (False, None, (), None)
    assert "not installed" in r.message


def test_real_machine() -> None:
    if sys.platform == "win32":
        pytest.skip("the Windows path needs the spooler")
    start = time.perf_counter()
    r = printers.collect(ProbeContext())
    elapsed = time.perf_counter() - start
    assert isinstance(r, printers.PrintersResult)
    assert r.cups_available is (shutil.which("lpstat") is not None)
    if not r.cups_available:
        assert elapsed < 0.03
    assert len(json.dumps(to_jsonable(r))) < 16384


def test_fields_documented_and_other_platforms_unsupported() -> None:
    assert all(row.doc for row in describe(printers.PrintersResult))
    with pytest.raises(Unsupported, match="sunos"):
        printers.collect(ProbeContext(platform="sunos"))
