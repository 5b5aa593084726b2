"""`deskline report`, `tickets` and `outbox`: end to end on the local store (real processes), and against an
in-test helpdesk (the CLI run in-process, the connector table pointing one backend at :func:`from_settings`
here) for the offline, refused and misconfigured cases."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from desktop import cli
from desktop.connectors import registry
from desktop.connectors.base import (
    ConfigurationError,
    Connector,
    PermanentError,
    Reply,
    TicketRef,
    TicketStatus,
    TransientError,
)
from desktop.diagnostics.bundle import read_bundle
from desktop.outbox import DB_NAME
from tests.outbox_doubles import Recorder

ROOT = Path(__file__).resolve().parents[1]
SECRET = "ghp_0123456789abcdefghijABCDEFGHIJ012345"


def deskline(*args: str, config: Path | None = None, env: dict[str, str] | None = None,
             timeout: float = 120) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != "DESKLINE_CONFIG"}
    environ["PYTHONPATH"] = str(ROOT)
    environ.update(env or {})
    extra = ["--config", str(config)] if config else []
    return subprocess.run([sys.executable, "-m", "desktop", *extra, *args], capture_output=True, text=True,
                          env=environ, cwd=ROOT, timeout=timeout, check=False)


@pytest.fixture
def local_config(tmp_path: Path) -> Path:
    cfg = tmp_path / "deskline.toml"
    cfg.write_text(f'[helpdesk]\nbackend = "local"\n[outbox]\npath = "{tmp_path / "outbox"}"\n', encoding="utf-8")
    return cfg


# ------------------------------------------------------------------------- the local store, end to end

def test_report_tickets_outbox_and_export_on_the_local_store(tmp_path: Path, local_config: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text(f"starting\ntoken={SECRET}\n", encoding="utf-8")
    r = deskline("report", "--title", "Printer does not print", "--description", "Since this morning.",
                 "--impact", "high", "--urgency", "high", "--attach", str(log), "--probe", "system",
                 config=local_config)
    assert (r.returncode, r.stderr) == (0, "")
    assert r.stdout == ("DL-000001 saved in the local store; hand it over with: "
                        "deskline outbox export DL-000001 -o DL-000001.zip\n")
    r = deskline("report", "-t", "Wi-Fi drops", "-d", "Every hour.", "--no-collect", config=local_config)
    assert r.returncode == 0 and r.stdout.startswith("DL-000002 saved in the local store")

    r = deskline("tickets", config=local_config)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("DL-000002  New ") and lines[0].endswith("Wi-Fi drops")
    assert lines[1].startswith("DL-000001  New ") and lines[1].endswith("Printer does not print")
    r = deskline("tickets", "--format", "json", config=local_config)
    data = json.loads(r.stdout)
    assert [(t["incident"], t["status"], t["backend"]) for t in data] == [
        ("DL-000002", "new", "local"), ("DL-000001", "new", "local")]

    r = deskline("outbox", config=local_config)
    assert r.returncode == 0 and r.stdout.splitlines()[-1] == "2 sent"
    assert "DL-000001" in r.stdout and "in the local store" in r.stdout

    target = tmp_path / "handover.zip"
    r = deskline("outbox", "export", "DL-000001", "-o", str(target), config=local_config)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    rep = read_bundle(target)
    assert list(rep.document["probes"]) == ["system"]
    (att,) = rep.attachments
    assert att.name == "app.log" and SECRET.encode() not in att.content and b"starting" in att.content

    r = deskline("tickets", "comment", "DL-000001", "It prints blank pages now", "-a", str(log),
                 config=local_config)
    assert (r.returncode, r.stdout, r.stderr) == (0, "DL-000001: comment sent to the local ticket\n", "")
    r = deskline("tickets", "rate", "DL-000002", "5", "--remark", "fixed quickly", config=local_config)
    assert (r.returncode, r.stdout) == (0, "DL-000002: rating 5/5 sent to the local ticket\n")
    r = deskline("tickets", "close", "DL-000002", config=local_config)
    assert (r.returncode, r.stdout) == (0, "DL-000002 closed\n")
    r = deskline("tickets", config=local_config)
    assert r.stdout.startswith("DL-000002  Closed ")

    r = deskline("outbox", "send", config=local_config)
    assert (r.returncode, r.stdout) == (0, "0 sent, 0 failed, 0 waiting in the outbox\n")
    r = deskline("outbox", "retry", "--all", config=local_config)
    assert r.returncode == 0 and r.stdout.startswith("0 reports to try again\n")


def test_no_send_saves_and_outbox_send_delivers(local_config: Path) -> None:
    r = deskline("report", "-t", "Later", "-d", "Offline now.", "--no-collect", "--no-send", config=local_config)
    assert (r.returncode, r.stdout) == (0, "DL-000001 saved in the outbox; it is sent by: deskline outbox send\n")
    r = deskline("outbox", config=local_config)
    assert "DL-000001" in r.stdout and "queued" in r.stdout and r.stdout.endswith("1 queued\n")
    r = deskline("outbox", "send", config=local_config)
    assert r.returncode == 0
    assert r.stdout.splitlines() == ["DL-000001 saved in the local store; hand it over with: deskline outbox export "
                                     "DL-000001 -o DL-000001.zip", "1 sent, 0 failed, 0 waiting in the outbox"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["report", "-d", "x"], "deskline: the following arguments are required: --title/-t"),
        (["report", "-t", "", "-d", "x"], "deskline: --title: a report needs a title"),
        (["report", "-t", "a\nb", "-d", "x"], "deskline: --title: one line, please"),
        (["report", "-t", "x" * 300, "-d", "x"], "deskline: --title: 300 characters; at most 255 fit a ticket"),
        (["report", "-t", "x", "-d", "y", "--impact", "huge"], "deskline: argument --impact: invalid choice: 'huge'"),
        (["report", "-t", "x", "-d", "y", "-a", "/nonexistent/a.log"],
         "deskline: /nonexistent/a.log: no such file to attach"),
        (["report", "-t", "x", "-d", "y", "--no-collect", "-p", "cpu"],
         "deskline: --probe and --no-collect contradict each other"),
        (["report", "-t", "x", "-d", "y", "-p", "gpu"], "deskline: unknown probe 'gpu'"),
        (["outbox", "export", "DL-000042", "-o", "x.zip"], "deskline: DL-000042: no such report in the outbox"),
        (["outbox", "export", "nonsense", "-o", "x.zip"], "deskline: 'nonsense' is not an incident number"),
        (["outbox", "export", "DL-1", "-o", "/nonexistent/dir/x.zip"],
         "deskline: /nonexistent/dir/x.zip: folder /nonexistent/dir does not exist"),
        (["outbox", "retry"], "deskline: outbox retry: name one report (like DL-000123) or give --all"),
        (["outbox", "retry", "DL-1", "--all"], "deskline: outbox retry: name one report"),
        (["outbox", "frob"], "deskline: argument ACTION: invalid choice: 'frob'"),
        (["tickets", "--format", "xml"], "deskline: argument --format/-f: invalid choice: 'xml'"),
        (["tickets", "rate", "DL-1", "9"], "deskline: argument SCORE: invalid choice: 9"),
        (["tickets", "comment", "DL-000001", "x"], "deskline: DL-000001: no such report in the outbox"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(local_config: Path, tmp_path: Path, args: list[str], message: str) -> None:
    r = deskline(*args, config=local_config)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert r.stderr.startswith(message), r.stderr
    assert r.stderr.count("\n") == 1, r.stderr
    assert r.stdout == ""
    if args[0] == "report":
        assert not (tmp_path / "outbox" / DB_NAME).exists()  # refused before anything was saved


def test_a_sent_report_is_not_retried(local_config: Path) -> None:
    assert deskline("report", "-t", "x", "-d", "y", "--no-collect", config=local_config).returncode == 0
    r = deskline("outbox", "retry", "DL-000001", config=local_config)
    assert (r.returncode, r.stderr) == (2, "deskline: DL-000001 was already sent (ticket DL-000001)\n")


def test_a_damaged_outbox_is_reported_and_a_new_one_started(tmp_path: Path, local_config: Path) -> None:
    assert deskline("report", "-t", "x", "-d", "y", "--no-collect", config=local_config).returncode == 0
    db = tmp_path / "outbox" / DB_NAME
    db.write_bytes(b"this is no database" * 500)
    for side in ("-wal", "-shm"):
        (tmp_path / "outbox" / (DB_NAME + side)).unlink(missing_ok=True)
    r = deskline("outbox", config=local_config)
    assert r.returncode == 0
    assert r.stderr.startswith(f"deskline: warning: the outbox database {db} was damaged (file is not a database);"
                               f" it was moved to {DB_NAME}.corrupt-")
    assert r.stderr.count("\n") == 1 and r.stdout == "The outbox is empty.\n"
    assert len(list(db.parent.glob(DB_NAME + ".corrupt-*"))) == 1
    r = deskline("report", "-t", "x", "-d", "y", "--no-collect", config=local_config)
    assert r.stdout.startswith("DL-000002 ") and r.stderr == ""  # the number is not given twice; told once


_FULL_DRIVER = r"""
import json, subprocess, sys
cmd = [sys.executable, "-m", "desktop", "--config", sys.argv[1]]
runs = [subprocess.run(cmd + args, capture_output=True, text=True) for args in (
    ["report", "-t", "small", "-d", "fits", "--no-collect"],
    ["report", "-t", "big", "-d", "does not fit", "--no-collect", "-a", sys.argv[2]],
    ["outbox"])]
print(json.dumps([[r.returncode, r.stdout, r.stderr] for r in runs]))
"""


@pytest.mark.root
def test_full_disk_is_one_clear_line_and_earlier_reports_stay(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root for a tmpfs in a private mount namespace")
    small = tmp_path / "small"
    small.mkdir()
    cfg = tmp_path / "deskline.toml"
    cfg.write_text(f'[outbox]\npath = "{small / "outbox"}"\n', encoding="utf-8")
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(600_000))
    environ = dict(os.environ, PYTHONPATH=str(ROOT))
    r = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c",
                        'mount -t tmpfs -o size=400k tmpfs "$0" && exec "$@"', str(small), sys.executable, "-c",
                        _FULL_DRIVER, str(cfg), str(big)],
                       capture_output=True, text=True, env=environ, cwd=ROOT, timeout=120, check=False)
    if r.returncode != 0 and "mount" in r.stderr:
        pytest.skip(f"no private tmpfs here: {r.stderr.strip()}")
    (ok, full, listing) = json.loads(r.stdout)
    assert ok[0] == 0 and ok[1].startswith("DL-000001 saved in the local store")
    assert full[0] == 2 and full[1] == ""
    assert full[2].startswith(f"deskline: no space left for the outbox in {small / 'outbox'}: the report was not saved")
    assert full[2].count("\n") == 1
    assert listing[0] == 0 and "DL-000001" in listing[1] and listing[1].endswith("1 sent\n")


# -------------------------------------------------------------- an in-test helpdesk: offline, refused

FAKE: dict[str, Recorder] = {}


def from_settings(settings: Any) -> Connector:
    """The connector table points the 'webhook' backend here during these tests."""
    return FAKE["connector"]


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[tuple[Recorder, Path]]:
    monkeypatch.setitem(registry.BACKENDS, "webhook", __name__)
    recorder = Recorder()
    FAKE["connector"] = recorder
    cfg = tmp_path / "deskline.toml"
    cfg.write_text(f'[helpdesk]\nbackend = "webhook"\nurl = "https://helpdesk.example"\n'
                   f'[outbox]\npath = "{tmp_path / "outbox"}"\nretry_base = 0.01\nretry_cap = 1\n',
                   encoding="utf-8")
    yield recorder, cfg
    FAKE.clear()


def run(cfg: Path, *args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(["--config", str(cfg), *args], stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_offline_report_is_queued_then_sent(fake: tuple[Recorder, Path]) -> None:
    helpdesk, cfg = fake
    helpdesk.fail["create"].append(TransientError(
        "the helpdesk could not be reached while creating the ticket: connection refused"))
    code, out, err = run(cfg, "report", "-t", "VPN fails", "-d", "Error 809", "--no-collect")
    assert (code, err) == (0, "")
    assert out == ("DL-000001 queued: the helpdesk could not be reached while creating the ticket: connection "
                   "refused; it will be sent when the connection is back\n")
    code, out, _ = run(cfg, "outbox")
    assert "DL-000001" in out and "queued (tried 1×, next" in out and out.endswith("1 queued\n")
    time.sleep(0.05)  # past the first retry's jittered delay (at most retry_base, 10 ms here): it is due
    code, out, err = run(cfg, "outbox", "send")
    assert (code, err) == (0, "")
    assert out.splitlines() == ["DL-000001 sent: ticket #1 https://helpdesk.example/ticket/1",
                                "1 sent, 0 failed, 0 waiting in the outbox"]
    # the refusal carried no proof that the request never arrived: the ticket is searched for first
    assert [c[0] for c in helpdesk.calls] == ["create", "find", "create", "attach"]
    assert helpdesk.tickets["1"].priority == "normal" and helpdesk.tickets["1"].incident == "DL-000001"


def test_sent_right_away_with_the_ticket_number(fake: tuple[Recorder, Path]) -> None:
    helpdesk, cfg = fake
    code, out, err = run(cfg, "report", "-t", "Screen flickers", "-d", "On battery", "--no-collect",
                         "--impact", "low", "--urgency", "high", "--category", "Hardware")
    assert (code, out, err) == (0, "DL-000001 sent: ticket #1 https://helpdesk.example/ticket/1\n", "")
    sub = helpdesk.tickets["1"]
    assert (sub.title, sub.category, sub.priority) == ("Screen flickers", "Hardware", "normal")


def test_a_refused_report_fails_with_the_reason_and_can_be_retried(fake: tuple[Recorder, Path]) -> None:
    helpdesk, cfg = fake
    reason = "the helpdesk refused the request while creating the ticket (422): priority is required"
    helpdesk.fail["create"].append(PermanentError(reason))
    code, out, _ = run(cfg, "report", "-t", "x", "-d", "y", "--no-collect")
    assert code == 1
    assert out == (f"DL-000001 not sent: {reason}\n  it is kept in the outbox; once the cause is fixed: "
                   "deskline outbox retry DL-000001\n")
    code, out, _ = run(cfg, "outbox", "send")
    assert code == 0 and out.endswith("0 sent, 0 failed, 0 waiting in the outbox\n")  # not retried by itself
    code, out, _ = run(cfg, "outbox", "retry", "DL-000001")
    assert (code, out) == (0, "DL-000001 sent: ticket #1 https://helpdesk.example/ticket/1\n")


def test_wrong_settings_are_told_once_and_reports_stay_queued(fake: tuple[Recorder, Path]) -> None:
    helpdesk, cfg = fake
    message = "the helpdesk refused the credentials while creating the ticket (401)"
    helpdesk.fail["create"].extend([ConfigurationError(message, "helpdesk.token")] * 3)
    for n in (1, 2):
        code, out, _ = run(cfg, "report", "-t", f"r{n}", "-d", "y", "--no-collect")
        assert code == 1
        assert out.startswith(f"DL-00000{n} queued: the helpdesk settings need fixing: {message}\n")
    assert [c[0] for c in helpdesk.calls] == ["create"]  # the second report did not hammer the server
    code, out, _ = run(cfg, "outbox")
    assert out.startswith(f"Sending to webhook is paused: {message} (fix helpdesk.token, then: deskline outbox "
                          "send)\n")
    assert out.endswith("2 queued\n")
    # the user fixes the settings: sending resumes by itself
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("https://helpdesk.example", "https://hd.example"),
                   encoding="utf-8")
    helpdesk.fail["create"].clear()
    code, out, _ = run(cfg, "outbox", "send")
    assert code == 0 and out.endswith("2 sent, 0 failed, 0 waiting in the outbox\n")


def test_comment_and_rating_reach_the_ticket(fake: tuple[Recorder, Path], tmp_path: Path) -> None:
    helpdesk, cfg = fake
    assert run(cfg, "report", "-t", "Mail stuck", "-d", "Outbox full", "--no-collect")[0] == 0
    shot = tmp_path / "trace.txt"
    shot.write_text(f"Authorization: Bearer {SECRET}\n", encoding="utf-8")
    code, out, err = run(cfg, "tickets", "comment", "DL-000001", "Still stuck", "-a", str(shot))
    assert (code, out, err) == (0, "DL-000001: comment sent to ticket #1\n", "")
    (sent,) = [f for f in helpdesk.files["1"] if f.name == "trace.txt"]
    assert SECRET.encode() not in sent.data  # redacted like a report's files
    helpdesk.fail["comment"].append(TransientError("the helpdesk could not be reached"))
    code, out, _ = run(cfg, "tickets", "rate", "DL-000001", "3", "--remark", "took a while")
    assert (code, out) == (0, "DL-000001: rating 3/5 saved: the helpdesk could not be reached; it will be sent "
                              "when the connection is back\n")
    # the retry is due after a jittered backoff of up to retry_base (10 ms here): send until it is
    deadline = time.monotonic() + 5
    while not helpdesk.comments["1"][-1].startswith("Satisfaction rating: 3/5"):
        assert time.monotonic() < deadline, helpdesk.comments["1"]
        assert run(cfg, "outbox", "send")[0] == 0
    code, _, err = run(cfg, "tickets", "close", "DL-000001")
    assert (code, err) == (2, "deskline: DL-000001: only tickets in the local store are closed here (it is on "
                              "webhook)\n")


def test_tickets_refresh_shows_status_and_new_replies(fake: tuple[Recorder, Path]) -> None:
    helpdesk, cfg = fake
    assert run(cfg, "report", "-t", "Mail stuck", "-d", "Outbox full", "--no-collect")[0] == 0
    helpdesk.status_of["1"] = TicketStatus(
        TicketRef("webhook", "1", "https://helpdesk.example/ticket/1"), "open", "In progress",
        "2026-05-09T10:00:00Z", (Reply("7", "Alice", "2026-05-09T10:00:00Z", "Please restart Outlook"),), "e1")
    code, out, err = run(cfg, "tickets", "--refresh")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "DL-000001  In progress  ticket #1            2026-05-09 10:00  Mail stuck",
        "           https://helpdesk.example/ticket/1",
        "           1 reply (1 new)",
        "           Alice (2026-05-09 10:00): Please restart Outlook"]
    code, out, _ = run(cfg, "tickets", "--refresh")
    assert "1 reply\n" in out and "Alice" not in out  # seen; the etag said unchanged
    assert helpdesk.calls[-1] == ("status", "e1")
