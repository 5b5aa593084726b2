"""The whole path against a real django-helpdesk (PyPI, SQLite, waitress) on loopback: ``deskline report``
-> outbox -> the django-helpdesk connector -> the server, counted on the server's side. Faults: the server
down while reports are filed, an answer lost after the server created the ticket, a wrong token."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.servers.django_helpdesk_server import Fault, FaultProxy, HelpdeskServer, available

pytestmark = pytest.mark.skipif(bool(available()), reason=f"django-helpdesk server: {available()}")

ROOT = Path(__file__).resolve().parents[1]
TOKEN_VAR = "DESKLINE_E2E_HELPDESK_TOKEN"
SECRET = "ghp_0123456789abcdefghijABCDEFGHIJ012345"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HelpdeskServer]:
    hd = HelpdeskServer(tmp_path_factory.mktemp("e2e-helpdesk"), max_upload=2 * 1024 * 1024)
    hd.provision()
    hd.start()
    try:
        yield hd
    finally:
        hd.stop()


@pytest.fixture
def hd(server: HelpdeskServer) -> HelpdeskServer:
    if not server.running():
        server.start()
    return server


def write_config(path: Path, url: str, outbox: Path) -> Path:
    path.write_text(
        f'[helpdesk]\nbackend = "django-helpdesk"\nurl = "{url}"\nqueue = "1"\ntoken = "env:{TOKEN_VAR}"\n'
        f'attachment_extensions = [".txt", ".log", ".zip"]\nmax_upload_mb = 2.0\n'
        f'reporter_email = "user@example.org"\ntimeout = 5.0\n'
        f'[outbox]\npath = "{outbox}"\nretry_base = 0.01\nretry_cap = 1\n', encoding="utf-8")
    return path


def deskline(cfg: Path, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != "DESKLINE_CONFIG"}
    environ.update(PYTHONPATH=str(ROOT), **{TOKEN_VAR: token})
    return subprocess.run([sys.executable, "-m", "desktop", "--config", str(cfg), *args], capture_output=True,
                          text=True, env=environ, cwd=ROOT, timeout=120, check=False)


def test_a_report_with_files_becomes_one_ticket_with_them(hd: HelpdeskServer, tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "d.toml", hd.url, tmp_path / "outbox")
    log = tmp_path / "app.log"
    log.write_text(f"starting\ntoken={SECRET}\n", encoding="utf-8")
    r = deskline(cfg, hd.token, "report", "-t", "Printer prints blank pages", "-d", "Since 9:00.", "-a", str(log),
                 "-p", "system", "--impact", "high", "--urgency", "high")
    assert (r.returncode, r.stderr) == (0, ""), r.stdout
    assert r.stdout.startswith("DL-000001 sent: ticket #") and hd.url in r.stdout
    ticket_id = r.stdout.split("#", 1)[1].split()[0]
    ticket = hd.ticket(ticket_id)
    assert ticket["title"] == "Printer prints blank pages" and ticket["priority"] == 1
    assert ticket["description"].startswith("Since 9:00.") and "(DL-000001)" in ticket["description"]
    names = {n for (n,) in hd.query("SELECT a.filename FROM helpdesk_followupattachment a JOIN helpdesk_followup f "
                                    "ON a.followup_id = f.id WHERE f.ticket_id = ?", int(ticket_id))}
    assert names == {"deskline-report-DL-000001.zip", "app.log"}

    hd.reply(ticket_id, "Please try another tray.", new_status=2)
    r = deskline(cfg, hd.token, "tickets", "--refresh")
    assert r.returncode == 0, r.stderr
    assert "Please try another tray." in r.stdout and "(1 new)" in r.stdout

    r = deskline(cfg, hd.token, "tickets", "comment", "DL-000001", "The other tray works.")
    assert (r.returncode, r.stdout) == (0, f"DL-000001: comment sent to ticket #{ticket_id}\n")
    r = deskline(cfg, hd.token, "tickets", "rate", "DL-000001", "5", "--remark", "quick")
    assert r.returncode == 0, r.stdout + r.stderr
    texts = [c for (c,) in hd.query("SELECT comment FROM helpdesk_followup WHERE ticket_id = ?", int(ticket_id))]
    assert "The other tray works." in texts and any("5/5" in t for t in texts)


def test_reports_filed_while_the_server_is_down_arrive_once(hd: HelpdeskServer, tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "d.toml", hd.url, tmp_path / "outbox")
    before = hd.count_tickets()
    hd.stop()
    for n in (1, 2, 3):
        r = deskline(cfg, hd.token, "report", "-t", f"Offline {n}", "-d", "No network.", "--no-collect")
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith(f"DL-00000{n} queued: the helpdesk could not be reached"), r.stdout
        assert r.stdout.rstrip().endswith("it will be sent when the connection is back")
    hd.start()
    r = deskline(cfg, hd.token, "outbox", "send")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines()[-1] == "3 sent, 0 failed, 0 waiting in the outbox"
    assert hd.count_tickets() == before + 3
    markers = hd.tickets_by_marker()
    assert all(n == 1 for n in markers.values())


def test_an_answer_lost_after_the_ticket_was_made_is_adopted(hd: HelpdeskServer, tmp_path: Path) -> None:
    with FaultProxy(hd.port) as proxy:
        cfg = write_config(tmp_path / "d.toml", proxy.url, tmp_path / "outbox")
        proxy.fault = Fault("drop_response", lambda method, path: method == "POST" and path.startswith(
            "/api/tickets"))
        r = deskline(cfg, hd.token, "report", "-t", "Lost answer", "-d", "The server acted.", "--no-collect")
        assert r.returncode == 0 and r.stdout.startswith("DL-000001 queued: "), r.stdout + r.stderr
        assert proxy.fault.seen  # the create did reach the server
        r = deskline(cfg, hd.token, "outbox", "send")
        assert r.returncode == 0, r.stdout + r.stderr
        assert r.stdout.startswith("DL-000001 sent: ticket #")
    assert len(hd.query("SELECT id FROM helpdesk_ticket WHERE title = 'Lost answer'")) == 1  # adopted, not made again
    assert max(hd.tickets_by_marker().values()) == 1


def test_a_wrong_token_is_told_once_and_the_report_waits(hd: HelpdeskServer, tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "d.toml", hd.url, tmp_path / "outbox")
    r = deskline(cfg, "not-the-token", "report", "-t", "Wrong token", "-d", "x", "--no-collect")
    assert r.returncode == 1
    assert r.stdout.startswith("DL-000001 queued: the helpdesk settings need fixing: ") and "(401)" in r.stdout
    r = deskline(cfg, "not-the-token", "report", "-t", "Wrong token 2", "-d", "x", "--no-collect")
    assert r.returncode == 1 and "DL-000002 queued: the helpdesk settings need fixing" in r.stdout
    r = deskline(cfg, "not-the-token", "outbox")
    assert r.stdout.startswith("Sending to django-helpdesk is paused: ") and "fix helpdesk.token" in r.stdout
    # the token (an environment variable, not a setting) is fixed: the user asks to try again
    r = deskline(cfg, hd.token, "outbox", "retry", "--all")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines()[-1] == "2 sent, 0 failed, 0 waiting in the outbox"
    assert len(hd.query("SELECT id FROM helpdesk_ticket WHERE title LIKE 'Wrong token%'")) == 2


# ------------------------------------------------------------------------------------ Redmine (Debian)

@pytest.fixture(scope="module")
def redmine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from tests.servers.redmine_server import redmine_server, unavailable_reason

    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    with redmine_server(tmp_path_factory.mktemp("e2e-redmine")) as server:
        yield server


def test_redmine_issue_with_files_a_refused_one_noted_and_status_seen(redmine: Any, tmp_path: Path) -> None:
    from tests.servers.redmine_server import ATTACHMENT_MAX_KB, PROJECT

    cfg = tmp_path / "d.toml"
    cfg.write_text(
        f'[helpdesk]\nbackend = "redmine"\nurl = "{redmine.url}"\nqueue = "{PROJECT}"\ntoken = "env:{TOKEN_VAR}"\n'
        f'max_upload_mb = {ATTACHMENT_MAX_KB / 1024}\ntimeout = 10.0\n'
        f'[outbox]\npath = "{tmp_path / "outbox"}"\nretry_base = 0.01\nretry_cap = 1\n', encoding="utf-8")
    small, big = tmp_path / "vpn.log", tmp_path / "capture.pcap"
    small.write_text("dropped at 10:01\n", encoding="utf-8")
    big.write_bytes(os.urandom(ATTACHMENT_MAX_KB * 1024 + 1))
    r = deskline(cfg, redmine.user_key, "report", "-t", "VPN drops", "-d", "Every few minutes.", "--no-collect",
                 "-a", str(small), "-a", str(big))
    assert r.returncode == 0, r.stdout + r.stderr
    first, refused = r.stdout.splitlines()
    assert first.startswith("DL-000001 sent: ticket #") and f"{redmine.url}/issues/" in first
    size = ATTACHMENT_MAX_KB * 1024
    assert refused == (f"  not attached: capture.pcap: {size + 1:,} bytes is more than the {size:,} bytes this "
                       "helpdesk accepts per file")
    issue_id = first.split("#", 1)[1].split()[0]
    issue = redmine.issue(issue_id)
    assert issue["subject"] == "VPN drops" and "(DL-000001)" in issue["description"]
    assert sorted(a["filename"] for a in issue["attachments"]) == ["deskline-report-DL-000001.zip", "vpn.log"]
    notes = " ".join(j.get("notes") or "" for j in issue["journals"])
    assert "capture.pcap" in notes and "deskline outbox export DL-000001" in notes

    redmine.update(issue_id, status_id=redmine.status_id("Resolved"), notes="Fixed the MTU.")
    r = deskline(cfg, redmine.user_key, "tickets", "--refresh")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"DL-000001  Resolved     ticket #{issue_id}") and "Fixed the MTU." in r.stdout
