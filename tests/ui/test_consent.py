"""The consent dialog and the session banner, driven by a real agent-side client over the user's socket.

The app listens on ``$XDG_RUNTIME_DIR/deskline/consent.sock`` (a private folder per test, see conftest);
the agent side is :class:`agent.consent_channel.DesktopGate`, as ``deskline-agent serve`` uses it, run in
a thread because it blocks until the user answers.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import shiboken6
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QVBoxLayout, QWidget

from agent.consent import ConsentRequest, Denial, Grant
from agent.consent_channel import DesktopGate, encode_message
from desktop.ui import consent
from desktop.ui.consent import ConsentController, ConsentDialog

FP = "SHA256:" + "B" * 43
# The offscreen platform cannot raise windows or pass size hints to a window manager; the app asks anyway.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")


class Window(QWidget):
    """What consent.start needs of the main window: banners on top, bring_to_front."""

    def __init__(self) -> None:
        super().__init__()
        layout = QVBoxLayout(self)
        self.banners = QVBoxLayout()
        layout.addLayout(self.banners)
        layout.addStretch(1)
        self.brought = 0
        self.resize(800, 500)

    def add_banner(self, widget: QWidget) -> None:
        self.banners.addWidget(widget)

    def bring_to_front(self, key: str | None = None, arg: Any = None) -> None:
        self.brought += 1
        self.show()
        self.raise_()


def request(engineer: str = "Ann Smith", **kw: Any) -> ConsentRequest:
    return ConsentRequest(engineer=engineer, fingerprint=FP, peer="192.0.2.7:50122",
                          commands=kw.pop("commands", ("probe cpu memory", "report")),
                          ticket=kw.pop("ticket", "DL-000123"), duration_seconds=kw.pop("duration_seconds", 1800))


class Asking:
    """An agent asking in a background thread (DesktopGate.ask blocks until the answer)."""

    def __init__(self, controller: ConsentController, timeout: float = 30, **kw: Any) -> None:
        self.gate = DesktopGate(controller.service.socket_path)
        self.request = request(**kw)
        self.results: list[Grant | Denial] = []
        self.thread = threading.Thread(target=lambda: self.results.append(self.gate.ask(self.request, timeout)),
                                       daemon=True)
        self.thread.start()

    @property
    def result(self) -> Grant | Denial:
        return self.results[0]


@pytest.fixture
def window(qtbot: Any) -> Window:
    w = Window()
    qtbot.addWidget(w)
    return w


@pytest.fixture
def app(ctx: Any, window: Window) -> Iterator[ConsentController]:
    controller = consent.start(ctx, window)
    assert controller.available, controller.details
    yield controller
    controller.stop()


def ask_and_show(qtbot: Any, app: ConsentController, **kw: Any) -> tuple[Asking, ConsentDialog]:
    with qtbot.waitSignal(app.dialogShown, timeout=10_000) as shown:
        asking = Asking(app, **kw)
    dialog = shown.args[0]
    assert isinstance(dialog, ConsentDialog)
    return asking, dialog


def gone(dialog: ConsentDialog) -> bool:
    """Closed (the dialog deletes itself on close)."""
    return not shiboken6.isValid(dialog) or not dialog.isVisible()


def ledger_kinds(app: ConsentController) -> list[str]:
    return [e["event"] for e in app.ledger.read()]


def test_the_dialog_says_who_for_which_ticket_what_and_how_long(qtbot: Any, app: ConsentController,
                                                                 window: Window, ctx: Any) -> None:
    assert app.service.socket_path.parent.parent == ctx.settings_path.parent.parent / "run"
    asking, dialog = ask_and_show(qtbot, app)
    assert dialog.isVisible() and dialog.parent() is None
    assert dialog.windowFlags() & Qt.WindowType.WindowStaysOnTopHint
    assert window.brought == 1 and window.isVisible()
    assert dialog.engineer.text() == "Ann Smith"
    assert dialog.fingerprint.text() == FP
    assert dialog.fingerprint.font().fixedPitch() or dialog.fingerprint.font().styleHint() != 0
    assert "192.0.2.7:50122" in dialog.fingerprint_help.text()
    assert dialog.ticket.text() == "DL-000123"
    assert dialog.command_lines == [
        "Check: processor, memory",
        "Collect a full report about this computer (personal details masked, as in reports you send)"]
    assert "Check: processor, memory" in dialog.commands.text()
    assert "30 minutes" in dialog.duration.text()
    assert "0:" in dialog.countdown.text() and "refused" in dialog.countdown.text()
    assert dialog.deny.isDefault() and not dialog.allow.isDefault()
    assert dialog.focusWidget() is dialog.deny
    for widget in (dialog.deny, dialog.allow, dialog.length, dialog.fingerprint, dialog.engineer, dialog.progress):
        assert widget.accessibleName(), widget
    assert not asking.results  # the agent is still waiting for the user
    dialog.reject()
    qtbot.waitUntil(lambda: bool(asking.results), timeout=10_000)


@pytest.mark.parametrize("how", ["click", "escape", "enter"])
def test_deny_answers_no_and_the_ledger_page_lists_it(qtbot: Any, app: ConsentController, ctx: Any,
                                                      how: str) -> None:
    from desktop.ui.sessions import SessionsPage

    asking, dialog = ask_and_show(qtbot, app)
    if how == "click":
        qtbot.mouseClick(dialog.deny, Qt.MouseButton.LeftButton)
    elif how == "escape":
        qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    else:
        qtbot.keyClick(dialog, Qt.Key.Key_Return)  # Deny is the default button
    qtbot.waitUntil(lambda: bool(asking.results), timeout=10_000)
    assert isinstance(asking.result, Denial) and asking.result.reason == "the user declined: the user pressed Deny"
    assert app.dialogs() == []
    decision = app.ledger.read()[0]
    assert decision["event"] == "consent.decision" and decision["allow"] is False and decision["by"] == "user"

    page = SessionsPage(ctx)
    qtbot.addWidget(page)
    qtbot.waitUntil(lambda: len(page.rows()) == 2)
    newest, oldest = page.rows()
    assert newest[1:4] == ["Ann Smith", "DL-000123", "You denied it"]
    assert oldest[3] == "Asked for permission" and "Check: processor, memory" in oldest[4]


def test_allow_shows_the_banner_and_end_now_revokes(qtbot: Any, app: ConsentController, ctx: Any,
                                                    window: Window) -> None:
    from desktop.ui.sessions import SessionsPage

    page = SessionsPage(ctx)
    qtbot.addWidget(page)
    qtbot.waitUntil(lambda: page.now_texts() == [
        "No one can connect now. An engineer who wants to run diagnostics has to ask you first."])
    asking, dialog = ask_and_show(qtbot, app)
    assert not dialog.allow.isEnabled()  # held back a moment against stray clicks
    qtbot.waitUntil(dialog.allow.isEnabled)
    dialog.length.setCurrentIndex(dialog.length.findData(900))
    qtbot.mouseClick(dialog.allow, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(asking.results), timeout=10_000)
    grant = asking.result
    assert isinstance(grant, Grant) and 880 < grant.expires - time.time() <= 900

    banner = app.banner
    qtbot.waitUntil(banner.isVisible)
    until = time.strftime("%H:%M", time.localtime(app.active_grants()[0].expires))
    assert banner.labels() == [f"A support engineer, Ann Smith, can run diagnostics on this computer until {until}"]
    assert page.now_texts() == [f"Ann Smith can run diagnostics on this computer until {until} (ticket DL-000123)."]

    asking.gate.command_ran(grant, "probe cpu", 0, 12.0)
    qtbot.waitUntil(lambda: any(r[3] == "Ran a command" for r in page.rows()))
    ran = next(r for r in page.rows() if r[3] == "Ran a command")
    assert ran[1:] == ["Ann Smith", "DL-000123", "Ran a command", "Check: processor", "Done in 12 ms"]

    grant_id = app.active_grants()[0].id
    button = banner.button(grant_id)
    assert button is not None and button.accessibleName()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: asking.gate.revoked(grant), timeout=10_000)
    qtbot.waitUntil(lambda: not banner.isVisible(), timeout=10_000)
    assert app.active_grants() == []
    qtbot.waitUntil(lambda: page.rows()[0][3] == "Session ended")
    assert page.rows()[0][4:] == ["1 command ran", "Ended by you"]
    assert page.rows()[1][3] == "You pressed End now"
    assert ledger_kinds(app)[:2] == ["session.ended", "consent.revoke"]
    assert page.now_texts()[0].startswith("No one can connect now.")


def test_a_request_the_agent_cancels_closes_the_dialog(qtbot: Any, app: ConsentController) -> None:
    message = {"type": "consent.request", "id": "c" * 22, "engineer": "Ann Smith", "fingerprint": FP,
               "peer": "192.0.2.7:1", "ticket": "", "commands": ["check"], "duration_seconds": 600,
               "timeout_seconds": 60}
    with socket.socket(socket.AF_UNIX) as agent, qtbot.waitSignal(app.dialogShown, timeout=10_000) as shown:
        agent.connect(str(app.service.socket_path))
        agent.sendall(encode_message(message))
    dialog = shown.args[0]
    assert dialog.ticket.text() == "No ticket was named"
    assert dialog.command_lines == ["Look for known problems on this computer"]
    assert dialog.isVisible()
    # the agent hung up: the socket above is closed
    qtbot.waitUntil(lambda: app.dialogs() == [] and gone(dialog), timeout=10_000)
    decision = app.ledger.read()[0]
    assert decision["allow"] is False and decision["by"] == "agent"


def test_a_question_the_agent_withdraws_closes_the_dialog(qtbot: Any, app: ConsentController, ctx: Any) -> None:
    """The engineer left before the user answered: the agent withdraws the question, the dialog closes,
    and the sessions page lists it as the engineer having stopped waiting."""
    from desktop.ui.sessions import SessionsPage

    asking, dialog = ask_and_show(qtbot, app)
    assert asking.gate.withdraw(asking.request, "the engineer left") is True
    qtbot.waitUntil(lambda: app.dialogs() == [] and gone(dialog), timeout=10_000)
    asking.thread.join(10)
    assert isinstance(asking.result, Denial) and asking.result.reason == "withdrawn: the engineer left"
    decision = app.ledger.read()[0]
    assert decision["event"] == "consent.decision" and decision["by"] == "agent" and decision["allow"] is False
    assert decision["reason"] == "withdrawn by the agent: the engineer left"
    page = SessionsPage(ctx)
    qtbot.addWidget(page)
    qtbot.waitUntil(lambda: bool(page.rows()), timeout=10_000)
    assert page.rows()[0][3] == "The engineer stopped waiting"
    assert app.active_grants() == [] and app.banner.isHidden()


def test_no_answer_within_the_timeout_is_a_no(qtbot: Any, app: ConsentController) -> None:
    asking, dialog = ask_and_show(qtbot, app, timeout=1)
    assert "0:01" in dialog.countdown.text()
    qtbot.waitUntil(lambda: bool(asking.results), timeout=10_000)
    # the agent and the app stop waiting at about the same moment; either way it is a refusal
    assert isinstance(asking.result, Denial)
    qtbot.waitUntil(lambda: app.dialogs() == [] and gone(dialog), timeout=10_000)
    assert app.ledger.read()[0]["allow"] is False


def test_an_app_that_cannot_listen_says_why_and_goes_on(qtbot: Any, app: ConsentController, ctx: Any,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    from desktop.ui.sessions import SessionsPage

    second = consent.start(ctx, None)  # a second copy of the app, same user, same socket
    try:
        assert not second.available and ctx.services["consent"] is second
        assert "already running" in second.problem
        assert any("not available" in r.getMessage() and r.levelname == "INFO" for r in caplog.records)
        page = SessionsPage(ctx)
        qtbot.addWidget(page)
        assert page.now_texts() == ["Remote sessions are not available: Deskline is already running for your "
                                    "account, and that copy answers the requests. To answer them here, quit the "
                                    "other copy and start Deskline again."]
    finally:
        second.stop()
    # the first copy still answers
    asking, dialog = ask_and_show(qtbot, app)
    dialog.reject()
    qtbot.waitUntil(lambda: bool(asking.results), timeout=10_000)


def test_closing_the_app_refuses_an_open_question(qtbot: Any, app: ConsentController) -> None:
    asking, dialog = ask_and_show(qtbot, app)
    app.stop()
    qtbot.waitUntil(lambda: bool(asking.results), timeout=10_000)
    assert isinstance(asking.result, Denial)
    assert gone(dialog)


def test_plain_words() -> None:
    assert consent.duration_text(5400) == "1 hour 30 minutes"
    assert consent.duration_text(45) == "45 seconds"
    assert consent.command_text("logs journal --since 6h") == "Read system logs of the last 6 hours"
    assert consent.command_text("probes") == "See which checks are available"
    assert consent.command_text("strange thing") == "Run: strange thing"


def test_the_dialog_in_russian(qtbot: Any, app: ConsentController) -> None:
    from desktop.ui import i18n

    i18n.install("ru")
    try:
        asking, dialog = ask_and_show(qtbot, app)
        assert dialog.deny.text() == "&Отклонить"
        assert "30 минут" in dialog.duration.text()
        assert dialog.command_lines[0] == "Проверка: процессор, память"
        queued = Asking(app, engineer="Bob Jones")
        qtbot.waitUntil(lambda: dialog.waiting.isVisible(), timeout=10_000)
        assert dialog.waiting.text() == "Ждёт ещё 1 запрос. Следующий появится, когда вы ответите на этот."
        dialog.reject()
        qtbot.waitUntil(lambda: bool(asking.results), timeout=10_000)
        qtbot.waitUntil(lambda: bool(app.dialogs()) and app.dialogs()[0].ask.engineer == "Bob Jones",
                        timeout=10_000)
        app.dialogs()[0].reject()
        qtbot.waitUntil(lambda: bool(queued.results), timeout=10_000)
    finally:
        i18n.install("en")


# -- several requests at once: one dialog at a time, oldest first

def countdown_seconds(dialog: ConsentDialog) -> int:
    """The m:ss the dialog's countdown line shows, in seconds."""
    match = re.search(r"(\d+):(\d\d)", dialog.countdown.text())
    assert match, dialog.countdown.text()
    return int(match.group(1)) * 60 + int(match.group(2))


def open_dialogs() -> list[ConsentDialog]:
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, ConsentDialog) and w.isVisible()]


def decision_of(app: ConsentController, request_id: str) -> dict[str, Any]:
    (decision,) = [e for e in app.ledger.read() if e["event"] == "consent.decision" and e["id"] == request_id]
    return decision


def test_two_requests_at_once_are_shown_one_after_the_other(qtbot: Any, app: ConsentController) -> None:
    shown: list[ConsentDialog] = []
    app.dialogShown.connect(shown.append)
    ann = Asking(app, engineer="Ann Smith", ticket="DL-000123", timeout=60)
    bob = Asking(app, engineer="Bob Jones", ticket="DL-000456", timeout=60)
    qtbot.waitUntil(lambda: len(shown) == 1 and len(app.waiting()) == 1, timeout=10_000)
    first = shown[0]
    assert open_dialogs() == [first] and app.dialogs() == [first]
    assert first.waiting.isVisible()
    assert first.waiting.text() == ("Also waiting: 1 more request. You will see the next one after you answer "
                                    "this one.")
    waiting = app.waiting()[0]
    # the two arrived at once: whichever reached the app first is on screen, the other waits
    assert {first.ask.engineer, waiting.engineer} == {"Ann Smith", "Bob Jones"}
    asked_first, asked_second = (ann, bob) if first.ask.engineer == "Ann Smith" else (bob, ann)

    # the waiting request's time runs meanwhile (the agent's timeout counts from its arrival)
    qtbot.waitUntil(lambda: waiting.remaining() < 57, timeout=10_000)
    qtbot.waitUntil(first.allow.isEnabled)
    qtbot.mouseClick(first.allow, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(shown) == 2, timeout=10_000)
    second = shown[1]
    assert second.ask is waiting
    assert gone(first) and open_dialogs() == [second] and app.waiting() == []
    assert not second.waiting.isVisible()
    # its own remaining time, not a fresh countdown
    assert countdown_seconds(second) <= 57
    assert second.progress.value() < second.progress.maximum() - 2500
    # safety, again for this request: Deny is the default and Allow is held back
    assert not second.allow.isEnabled()
    assert second.deny.isDefault() and second.focusWidget() is second.deny

    # the yes went to the engineer of the first dialog, and only to them
    qtbot.waitUntil(lambda: bool(asked_first.results), timeout=10_000)
    assert isinstance(asked_first.result, Grant) and asked_first.result.request.engineer == first.ask.engineer
    assert not asked_second.results
    qtbot.keyClick(second, Qt.Key.Key_Return)  # Deny
    qtbot.waitUntil(lambda: bool(asked_second.results), timeout=10_000)
    assert isinstance(asked_second.result, Denial) and asked_second.result.declined
    assert decision_of(app, first.ask.id)["allow"] is True
    assert decision_of(app, waiting.id)["allow"] is False and decision_of(app, waiting.id)["by"] == "user"
    assert len(shown) == 2
    asked_first.gate.ended(asked_first.result)


def test_a_waiting_request_withdrawn_or_timed_out_is_never_shown(qtbot: Any, app: ConsentController) -> None:
    shown: list[ConsentDialog] = []
    app.dialogShown.connect(shown.append)
    current, dialog = ask_and_show(qtbot, app, engineer="Ann Smith")
    leaving = Asking(app, engineer="Bob Jones", ticket="DL-000456")
    qtbot.waitUntil(lambda: len(app.waiting()) == 1, timeout=10_000)
    late = Asking(app, engineer="Cleo Park", ticket="DL-000789", timeout=3)
    qtbot.waitUntil(lambda: len(app.waiting()) == 2, timeout=10_000)
    assert dialog.waiting_count() == 2
    assert dialog.waiting.text().startswith("Also waiting: 2 more requests.")
    leaving_id, late_id = (ask.id for ask in app.waiting())

    assert leaving.gate.withdraw(leaving.request, "the engineer left") is True
    qtbot.waitUntil(lambda: [a.engineer for a in app.waiting()] == ["Cleo Park"], timeout=10_000)
    assert dialog.waiting.text().startswith("Also waiting: 1 more request.")
    leaving.thread.join(10)
    assert isinstance(leaving.result, Denial) and leaving.result.reason == "withdrawn: the engineer left"
    qtbot.waitUntil(lambda: any(e.get("id") == leaving_id for e in app.ledger.read()
                                if e["event"] == "consent.decision"), timeout=10_000)
    withdrawn = decision_of(app, leaving_id)
    assert withdrawn["by"] == "agent" and withdrawn["reason"] == "withdrawn by the agent: the engineer left"

    # the agent stops waiting for the other after its 3 seconds, while it is still in the queue
    qtbot.waitUntil(lambda: bool(late.results), timeout=15_000)
    assert isinstance(late.result, Denial)
    qtbot.waitUntil(lambda: app.waiting() == [] and not dialog.waiting.isVisible(), timeout=10_000)
    qtbot.waitUntil(lambda: any(e.get("id") == late_id for e in app.ledger.read()
                                if e["event"] == "consent.decision"), timeout=10_000)
    timed_out = decision_of(app, late_id)
    # the agent's clock and the app's run out at about the same moment: either way it is recorded as a no
    assert timed_out["allow"] is False and timed_out["reason"] in ("no answer in time", "the agent stopped waiting")

    # answering the one on screen shows the next request to arrive, not either of those two
    dialog.reject()
    qtbot.waitUntil(lambda: bool(current.results), timeout=10_000)
    assert isinstance(current.result, Denial) and current.result.declined
    nxt, next_dialog = ask_and_show(qtbot, app, engineer="Dan Reed")
    assert [d.ask.engineer for d in shown] == ["Ann Smith", "Dan Reed"]
    next_dialog.reject()
    qtbot.waitUntil(lambda: bool(nxt.results), timeout=10_000)


def test_answering_the_one_on_screen_while_more_wait(qtbot: Any, app: ConsentController) -> None:
    """Three in a row: each answer reaches its own engineer, the count goes down with each."""
    shown: list[ConsentDialog] = []
    app.dialogShown.connect(shown.append)
    asking = [Asking(app, engineer="Ann Smith")]
    qtbot.waitUntil(lambda: len(shown) == 1, timeout=10_000)
    for name in ("Bob Jones", "Cleo Park"):
        asking.append(Asking(app, engineer=name))
        qtbot.waitUntil(lambda name=name: [a.engineer for a in app.waiting()][-1:] == [name], timeout=10_000)
    assert shown[0].waiting_count() == 2
    by_name = {a.request.engineer: a for a in asking}
    answers = {"Ann Smith": False, "Bob Jones": True, "Cleo Park": False}
    for n, name in enumerate(("Ann Smith", "Bob Jones", "Cleo Park")):
        qtbot.waitUntil(lambda n=n: len(shown) == n + 1, timeout=10_000)
        dialog = shown[n]
        assert dialog.ask.engineer == name and dialog.waiting_count() == 2 - n
        assert (n < 2) == dialog.waiting.isVisible()
        if answers[name]:
            qtbot.waitUntil(dialog.allow.isEnabled)
            dialog.accept()
        else:
            dialog.reject()
        qtbot.waitUntil(lambda name=name: bool(by_name[name].results), timeout=10_000)
    for name, allowed in answers.items():
        result = by_name[name].result
        assert isinstance(result, Grant if allowed else Denial), (name, result)
        assert result.request.engineer == name if isinstance(result, Grant) else result.declined
    grant = by_name["Bob Jones"].result
    assert isinstance(grant, Grant)
    by_name["Bob Jones"].gate.ended(grant)


def test_closing_the_app_refuses_waiting_questions_too(qtbot: Any, app: ConsentController) -> None:
    asking, dialog = ask_and_show(qtbot, app)
    queued = Asking(app, engineer="Bob Jones")
    qtbot.waitUntil(lambda: len(app.waiting()) == 1, timeout=10_000)
    app.stop()
    qtbot.waitUntil(lambda: bool(asking.results) and bool(queued.results), timeout=10_000)
    assert isinstance(asking.result, Denial) and isinstance(queued.result, Denial)
    assert gone(dialog) and app.waiting() == [] and app.dialogs() == []
