"""The Remote sessions page: the state now and the ledger as a table; and the whole path with the real agent.

The end-to-end test starts ``agent.server.AgentServer`` in-process (its own SSH server: no sshd needed)
with the gate ``deskline-agent serve`` uses, :class:`agent.consent_channel.DesktopGate`, pointed at the
app's socket; a paramiko client runs ``probe cpu`` as an engineer would, which raises the Qt dialog.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt

from desktop.consent_service import Ledger, default_ledger_path
from desktop.ui import consent
from desktop.ui.consent import ConsentController, ConsentDialog
from desktop.ui.sessions import SessionsPage

FP = "SHA256:" + "C" * 43
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")


def history(start: float) -> list[dict[str, Any]]:
    """A past session, oldest first, as the service writes it; plus a denial and a refused connection."""
    grant = "g" * 22
    return [
        {"time": start, "event": "consent.request", "id": grant, "engineer": "Ann Smith", "fingerprint": FP,
         "peer": "192.0.2.7:50122", "ticket": "DL-000042", "commands": ["probe", "report"],
         "duration_seconds": 1800, "timeout_seconds": 60, "peer_uid": 0},
        {"time": start + 5, "event": "consent.decision", "id": grant, "engineer": "Ann Smith", "allow": True,
         "duration_seconds": 1800, "reason": "", "by": "user"},
        {"time": start + 5.1, "event": "session.started", "grant": grant, "engineer": "Ann Smith",
         "fingerprint": FP, "peer": "192.0.2.7:50122", "ticket": "DL-000042", "commands": ["probe", "report"],
         "expires": start + 1805},
        {"time": start + 7, "event": "session.command", "grant": grant, "engineer": "Ann Smith",
         "command": "probe disks", "exit": 0, "duration_ms": 2300.0},
        {"time": start + 9, "event": "session.command", "grant": grant, "engineer": "Ann Smith",
         "command": "logs journal --since 6h", "exit": 5, "duration_ms": 30000.0},
        {"time": start + 20, "event": "session.ended", "grant": grant, "engineer": "Ann Smith",
         "reason": "the engineer disconnected", "commands_run": 2},
        {"time": start + 60, "event": "consent.request", "id": "h" * 22, "engineer": "Bob Jones", "fingerprint": FP,
         "peer": "192.0.2.8:1", "ticket": "", "commands": ["check"], "duration_seconds": 600,
         "timeout_seconds": 60, "peer_uid": 0},
        {"time": start + 70, "event": "consent.decision", "id": "h" * 22, "engineer": "Bob Jones", "allow": False,
         "duration_seconds": 0, "reason": "the user pressed Deny", "by": "user"},
        {"time": start + 80, "event": "channel.refused", "reason": "malformed request: not JSON", "peer_uid": 0,
         "peer_pid": 4242},
    ]


@pytest.fixture
def ledger() -> Ledger:
    return Ledger(default_ledger_path())  # in the test's own XDG_DATA_HOME (conftest)


@pytest.fixture
def page_for(ctx: Any, qtbot: Any) -> Any:
    """Build the page and wait until its worker has read the ledger."""
    def make() -> SessionsPage:
        page = SessionsPage(ctx)
        qtbot.addWidget(page)
        qtbot.waitUntil(lambda: not page.loading)
        return page
    return make


def test_the_ledger_newest_first_in_plain_words(ledger: Ledger, page_for: Any) -> None:
    for event in history(time.time() - 3600):
        ledger.append(event)
    page = page_for()
    rows = page.rows()
    assert [r[3] for r in rows] == [
        "Refused a connection", "You denied it", "Asked for permission", "Session ended", "Ran a command",
        "Ran a command", "Session started", "You allowed it", "Asked for permission"]
    assert rows[1][1:3] == ["Bob Jones", ""]
    assert rows[2][4] == "Look for known problems on this computer"
    # tickets come from the request, also for the events that carry only the grant id
    assert rows[3][1:] == ["Ann Smith", "DL-000042", "Session ended", "2 commands ran", "The engineer disconnected"]
    assert rows[4][4:] == ["Read system logs of the last 6 hours", "Took too long and was stopped"]
    assert rows[5][4:] == ["Check: disks and free space", "Done in 2.3 s"]
    assert rows[7][5] == "For 30 minutes"
    assert page.now_texts() == ["Remote sessions are not available: the remote session service is not running."]
    assert page.about.text() and page.heading.text() == "Remote sessions"


def test_filter_details_and_live_update(ledger: Ledger, page_for: Any, ctx: Any, qtbot: Any) -> None:
    start = time.time() - 3600
    for event in history(start):
        ledger.append(event)
    page = page_for()
    qtbot.keyClicks(page.filter, "free space")
    assert [r[4] for r in page.rows()] == ["Check: disks and free space"]
    page.filter.clear()
    qtbot.keyClicks(page.filter, "bob")
    assert [r[3] for r in page.rows()] == ["You denied it", "Asked for permission"]
    qtbot.keyClicks(page.filter, "zzz")
    assert page.rows() == [] and not page.empty.isHidden() and "bobzzz" in page.empty.text()
    page.filter.clear()
    assert page.empty.isHidden()

    page.table.setCurrentIndex(page.proxy.index(8, 0))
    assert not page.details.isHidden()
    assert f"fingerprint: {FP}" in page.details.text() and "peer: 192.0.2.7:50122" in page.details.text()

    ctx.consentEvent.emit({"time": time.time(), "event": "session.command", "grant": "g" * 22,
                           "engineer": "Ann Smith", "command": "report", "exit": 0, "duration_ms": 10.0})
    assert page.rows()[0][1:5] == ["Ann Smith", "DL-000042", "Ran a command",
                                   "Collect a full report about this computer (personal details masked, as in "
                                   "reports you send)"]


def test_an_empty_history_says_so(page_for: Any) -> None:
    page = page_for()
    assert page.rows() == []
    assert page.empty.text() == "Nothing here yet: no engineer has asked to connect to this computer."
    assert page.table.isHidden()


@pytest.mark.allow_warning_logs  # the worker logs the unexpected failure (not a DesklineError)
def test_an_unreadable_history_says_so(ledger: Ledger, page_for: Any) -> None:
    ledger.path.parent.mkdir(parents=True, exist_ok=True)
    ledger.path.mkdir()  # a folder where the file should be: reading fails
    page = page_for()
    assert page.empty.text().startswith("The history could not be read:")


def test_in_russian_the_filter_survives_a_language_change(ledger: Ledger, page_for: Any, ctx: Any,
                                                           qtbot: Any) -> None:
    from desktop.ui import i18n

    for event in history(time.time() - 3600):
        ledger.append(event)
    page = page_for()
    qtbot.keyClicks(page.filter, "Ann")
    try:
        i18n.install("ru")
        ctx.languageChanged.emit("ru")
        page.retranslate()
        assert page.heading.text() == "Удалённые сеансы"
        assert page.filter.text() == "Ann"
        whats = [r[3] for r in page.rows()]
        assert "Сеанс завершён" in whats and "Вы разрешили" in whats
        assert page.rows()[0][4] == "Выполнено команд: 2"
    finally:
        i18n.install("en")


# ----------------------------------------------------------------------------- with the consent service

@pytest.fixture
def app(ctx: Any, qtbot: Any) -> Iterator[ConsentController]:
    controller = consent.start(ctx, None)
    assert controller.available, controller.details
    yield controller
    controller.stop()


def test_a_session_allowed_by_policy_shows_without_end_now(app: ConsentController, page_for: Any,
                                                            qtbot: Any) -> None:
    page = page_for()
    expires = time.time() + 600
    notice = {"time": time.time(), "event": "session.notify", "id": "n" * 22, "engineer": "Night Shift",
              "fingerprint": FP, "peer": "10.0.0.5:22", "ticket": "", "commands": ["report"], "expires": expires,
              "how": "policy:unattended", "peer_uid": 0}
    app._event.emit(notice)  # as the service passes it on (from its worker thread, queued)
    qtbot.waitUntil(lambda: bool(page.rows()))
    until = time.strftime("%H:%M", time.localtime(expires))
    assert page.rows()[0][3:] == ["Connected without asking, as IT's policy allows",
                                  "Collect a full report about this computer (personal details masked, as in "
                                  "reports you send)", f"Until {until}"]
    assert page.now_texts() == [f"Night Shift can run diagnostics on this computer until {until}, as your IT "
                                "department's policy allows without asking."]
    assert not app.banner.isHidden()
    assert app.banner.button("n" * 22).isHidden()


# ------------------------------------------------------------------------------- the real agent

@pytest.fixture
def agent(app: ConsentController, tmp_path: Path) -> Iterator[Any]:
    from agent import hostkey
    from agent.audit import AuditLog
    from agent.authkeys import AuthorizedKeysFile
    from agent.consent_channel import DesktopGate
    from agent.server import AgentServer, ServerConfig
    from tests.agent.sshd import make_key

    folder = tmp_path / "agent"
    folder.mkdir(mode=0o700)
    key = make_key(folder / "engineer", "Ann Engineer (L2)")
    authorized = folder / "authorized_keys"
    authorized.write_text(key.public_line + "\n")
    authorized.chmod(0o600)
    host_key, _ = hostkey.load_or_create(folder / "host_key")
    audit = AuditLog(folder / "audit.jsonl")
    server = AgentServer(ServerConfig(host="127.0.0.1", port=0, consent_timeout=30.0, consent_duration=900,
                                      command_timeout=30.0),
                         host_key, AuthorizedKeysFile(authorized), audit, DesktopGate(app.service.socket_path))
    host, port = server.start()

    class Agent:
        pass

    a = Agent()
    a.host, a.port, a.key, a.host_line = host, port, key, hostkey.public_line(host_key)
    yield a
    server.stop()
    audit.close()


def run_over_ssh(agent: Any, command: str, out: list[Any], release: threading.Event) -> None:
    """As an engineer: log in as engineer+DL-000123, run ``command`` (in a thread: it waits for consent),
    stay connected until ``release``."""
    import paramiko

    client = paramiko.SSHClient()
    kind, data = agent.host_line.split()[:2]
    client.get_host_keys().add(f"[{agent.host}]:{agent.port}", kind,
                               paramiko.PKey.from_type_string(kind, base64.b64decode(data)))
    client.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        client.connect(agent.host, agent.port, username="engineer+DL-000123",
                       pkey=paramiko.Ed25519Key.from_private_key_file(str(agent.key.path)), look_for_keys=False,
                       allow_agent=False, timeout=5, banner_timeout=5, auth_timeout=5)
        _stdin, stdout, _stderr = client.exec_command(command, timeout=60)
        out.append(json.loads(stdout.read().decode()))
    except Exception as exc:  # the test reports it
        out.append(exc)
    finally:
        release.wait(30)
        client.close()


def test_end_to_end_a_real_ssh_command_raises_the_dialog(agent: Any, app: ConsentController, page_for: Any,
                                                         qtbot: Any) -> None:
    out: list[Any] = []
    release = threading.Event()
    with qtbot.waitSignal(app.dialogShown, timeout=20_000) as shown:
        threading.Thread(target=run_over_ssh, args=(agent, "probe cpu", out, release), daemon=True).start()
    dialog = shown.args[0]
    assert isinstance(dialog, ConsentDialog)
    assert dialog.engineer.text() == "Ann Engineer (L2)"
    assert dialog.fingerprint.text().startswith("SHA256:")
    assert dialog.ticket.text() == "DL-000123"
    assert "Collect a full report about this computer (personal details masked, as in reports you send)" \
        in dialog.command_lines
    assert "15 minutes" in dialog.duration.text()
    qtbot.waitUntil(dialog.allow.isEnabled)
    qtbot.mouseClick(dialog.allow, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(out), timeout=30_000)
    assert not isinstance(out[0], Exception), out[0]
    assert out[0]["ok"] is True and "cpu" in out[0]["result"]["probes"]
    qtbot.waitUntil(lambda: not app.banner.isHidden())
    page = page_for()
    qtbot.waitUntil(lambda: any(r[3] == "Ran a command" for r in page.rows()), timeout=10_000)
    ran = next(r for r in page.rows() if r[3] == "Ran a command")
    assert ran[1:5] == ["Ann Engineer (L2)", "DL-000123", "Ran a command", "Check: processor"]
    assert ran[5].startswith("Done in")
    # the engineer disconnects and comes back with a new connection (as each deskline-agent run does): the
    # yes covers it, with no second dialog, and the app keeps showing one session, now with two commands
    release.set()
    again: list[Any] = []
    dialogs: list[Any] = []
    app.dialogShown.connect(dialogs.append)
    leave_at_once = threading.Event()
    leave_at_once.set()
    threading.Thread(target=run_over_ssh, args=(agent, "probe memory", again, leave_at_once), daemon=True).start()
    qtbot.waitUntil(lambda: bool(again), timeout=30_000)
    assert not isinstance(again[0], Exception), again[0]
    assert again[0]["ok"] is True and dialogs == []
    qtbot.waitUntil(lambda: sum(r[3] == "Ran a command" for r in page.rows()) == 2, timeout=10_000)
    [grant] = app.active_grants()
    assert grant.commands_run == 2 and not app.banner.isHidden()
    # End now ends it
    button = app.banner.button(grant.id)
    assert button is not None
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: app.banner.isHidden(), timeout=10_000)
    qtbot.waitUntil(lambda: page.rows()[0][3] == "Session ended", timeout=10_000)
    assert page.rows()[0][4:] == ["2 commands ran", "Ended by you"]
