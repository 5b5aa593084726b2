"""The tray: its menu, notifications for ticket changes, the remote session's status and End, the one-time
"still running" hint; the real icon only where there is a tray (offscreen has none)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from PySide6.QtCore import QDateTime, QObject, Signal
from PySide6.QtWidgets import QSystemTrayIcon

from desktop.consent_service import ActiveGrant, ConsentAsk
from desktop.ui import tray
from desktop.ui.context import AppContext
from desktop.ui.tray import TrayController


class FakeWindow(QObject):
    """What the tray needs of the main window, recording what it was asked to show."""

    closed = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.hide_on_close = False
        self.shown: list[tuple[str | None, Any]] = []
        self.visible = False

    def bring_to_front(self, key: str | None = None, arg: Any = None) -> None:
        self.shown.append((key, arg))
        self.visible = True

    def isVisible(self) -> bool:  # noqa: N802 - Qt's name
        return self.visible

    def isMinimized(self) -> bool:  # noqa: N802 - Qt's name
        return False

    def hide(self) -> None:
        self.visible = False


class FakeConsent:
    """The consent service's two calls the tray uses, with one grant that ``revoke`` ends."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self.grants: list[ActiveGrant] = []
        self.revoked: list[str] = []

    def start_session(self, engineer: str, minutes: int = 30) -> ActiveGrant:
        ask = ConsentAsk(id=f"g{len(self.grants) + 1}", engineer=engineer, fingerprint="SHA256:abc", peer="10.0.0.5",
                         ticket="DL-000012", commands=("probe",), duration_seconds=minutes * 60, timeout_seconds=60)
        grant = ActiveGrant(ask.id, ask, expires=time.time() + minutes * 60, started=time.time(),
                            duration_seconds=minutes * 60)
        self.grants.append(grant)
        return grant

    def active_grants(self) -> list[ActiveGrant]:
        return list(self.grants)

    def revoke(self, grant_id: str, reason: str = "", timeout: float = 2.0) -> bool:  # runs in a worker
        self.revoked.append(grant_id)
        self.grants = [g for g in self.grants if g.id != grant_id]
        return True


@pytest.fixture
def window() -> FakeWindow:
    return FakeWindow()


@pytest.fixture
def controller(qtbot, ctx: AppContext, window: FakeWindow) -> TrayController:
    return TrayController(ctx, window)


def _texts(controller: TrayController) -> list[str]:
    return [a.text() for a in controller.menu.actions() if not a.isSeparator() and a.isVisible()]


def test_the_menu_has_every_action(controller: TrayController, window: FakeWindow) -> None:
    assert _texts(controller) == ["Get help", "Report a problem…", "My tickets", "No remote session", "Settings",
                                  "Quit Deskline"]
    assert not controller.session_action.isEnabled()
    for action, key in ((controller.help_action, "help"), (controller.report_action, "report"),
                        (controller.tickets_action, "tickets"), (controller.settings_action, "settings")):
        action.trigger()
        assert window.shown[-1] == (key, None)


def test_left_click_toggles_the_window(controller: TrayController, window: FakeWindow) -> None:
    controller.toggle_window()
    assert window.visible and window.shown == [(None, None)]
    controller.toggle_window()
    assert not window.visible


def test_a_reply_requests_a_notification_that_opens_the_ticket(qtbot, ctx: AppContext, controller: TrayController,
                                                               window: FakeWindow) -> None:
    plain = controller.icon().cacheKey()
    with qtbot.waitSignal(controller.notificationRequested) as signal:
        ctx.ticketUpdated.emit(12, "reply", "We replaced the toner; please try printing again.")
    assert signal.args == ["New reply on DL-000012", "We replaced the toner; please try printing again.", 12]
    assert controller.icon().cacheKey() != plain  # the badge
    assert "New replies: 1" in controller.tooltip()
    controller.message_clicked()
    assert window.shown[-1] == ("tickets", 12)
    assert controller.icon().cacheKey() == plain and not controller.unread


def test_a_status_change_requests_a_notification(qtbot, ctx: AppContext, controller: TrayController) -> None:
    with qtbot.waitSignal(controller.notificationRequested) as signal:
        ctx.ticketUpdated.emit(7, "status", "Resolved")
    assert signal.args == ["DL-000007 was updated", "Resolved", 7]


def test_no_notification_when_they_are_turned_off(qtbot, ctx: AppContext, controller: TrayController) -> None:
    ctx.save_settings({"ui.notifications": False})
    with qtbot.assertNotEmitted(controller.notificationRequested):
        ctx.ticketUpdated.emit(12, "reply", "A reply")
    assert controller.unread == {12}  # still marked on the icon


def test_remote_session_status_and_end(qtbot, ctx: AppContext, controller: TrayController) -> None:
    consent = FakeConsent(ctx)
    ctx.services["consent"] = consent
    grant = consent.start_session("Ivan Petrov")
    ctx.consentEvent.emit({"event": "session.started", "grant": grant.id, "engineer": "Ivan Petrov"})
    until = QDateTime.fromSecsSinceEpoch(int(grant.expires)).toString("HH:mm")
    assert controller.session_action.text() == f"Remote session: Ivan Petrov until {until}"
    assert controller.end_session_action.isVisible() and controller.end_session_action.text() == "End remote session"
    assert "A remote session is active" in controller.tooltip()
    controller.end_session_action.trigger()
    qtbot.waitUntil(lambda: consent.revoked == ["g1"])
    qtbot.waitUntil(lambda: controller.session_action.text() == "No remote session")
    assert not controller.end_session_action.isVisible()


def test_the_menu_reads_the_session_again_when_opened(ctx: AppContext, controller: TrayController) -> None:
    consent = FakeConsent(ctx)
    ctx.services["consent"] = consent
    consent.start_session("Ivan Petrov")
    consent.start_session("Olga Smirnova")
    controller.menu.aboutToShow.emit()
    assert controller.session_action.text() == "Remote sessions active: 2"
    consent.grants[0].expires = time.time() - 1  # ran out without an event
    consent.grants[1].expires = time.time() - 1
    controller.menu.aboutToShow.emit()
    assert controller.session_action.text() == "No remote session"


def test_still_running_hint_is_shown_once(qtbot, controller: TrayController, tmp_path) -> None:
    with qtbot.waitSignal(controller.notificationRequested) as signal:
        controller.window_closed()
    assert signal.args[0] == "Deskline is still running" and signal.args[2] == 0
    with qtbot.assertNotEmitted(controller.notificationRequested):
        controller.window_closed()
    marker = tmp_path / "state" / "deskline" / "tray-hint-shown"
    qtbot.waitUntil(marker.exists)  # remembered for the next start too


def test_menu_follows_the_language(qtbot, ctx: AppContext, controller: TrayController) -> None:
    from desktop.ui import i18n

    try:
        ctx.languageChanged.emit(i18n.install("ru"))
        assert _texts(controller)[:3] == ["Помощь", "Сообщить о проблеме…", "Мои заявки"]
        assert controller.session_action.text() == "Удалённого сеанса нет"
    finally:
        ctx.languageChanged.emit(i18n.install("en"))
    assert controller.help_action.text() == "Get help"


def test_without_a_tray_the_window_stays_a_normal_window(ctx: AppContext, window: FakeWindow,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(QSystemTrayIcon, "isSystemTrayAvailable", staticmethod(lambda: False))
    assert tray.install(ctx, window) is None
    assert window.hide_on_close is False
    assert "tray" not in ctx.services


@pytest.mark.qt_log_ignore("systemTrayWindowChanged")  # the offscreen platform has no tray of its own
def test_with_a_tray_closing_hides_and_tells_once(qtbot, ctx: AppContext, window: FakeWindow,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from PySide6.QtCore import QCoreApplication
    from PySide6.QtGui import QCloseEvent

    monkeypatch.setattr(QSystemTrayIcon, "isSystemTrayAvailable", staticmethod(lambda: True))
    shown: list[tuple[str, str]] = []
    monkeypatch.setattr(QSystemTrayIcon, "showMessage", lambda _self, title, text, *_a: shown.append((title, text)))
    installed = tray.install(ctx, window)
    assert installed is not None and ctx.services["tray"] is installed
    assert window.hide_on_close is True
    assert installed.icon.contextMenu() is installed.controller.menu
    assert installed.icon.toolTip() == "Deskline"
    QCoreApplication.sendEvent(window, QCloseEvent())
    QCoreApplication.sendEvent(window, QCloseEvent())
    assert [title for title, _text in shown] == ["Deskline is still running"]
    ctx.ticketUpdated.emit(3, "reply", "Done")
    assert shown[-1] == ("New reply on DL-000003", "Done")
    assert "New replies: 1" in installed.icon.toolTip()
    installed.icon.messageClicked.emit()
    assert window.shown[-1] == ("tickets", 3)
    installed.stop()
    assert not installed.icon.isVisible()


class FakeController:
    """The app's consent controller as the tray sees it: ``sessions()`` (with unattended ones) and ``end()``."""

    def __init__(self) -> None:
        from desktop.ui.consent import LiveSession

        self.live = [LiveSession("n1", "Fleet scan", "", time.time() + 600, can_end=False)]
        self.ended: list[str] = []

    def sessions(self) -> list[Any]:
        return list(self.live)

    def end(self, grant_id: str) -> None:
        self.ended.append(grant_id)


def test_with_the_consent_controller(ctx: AppContext, controller: TrayController) -> None:
    pytest.importorskip("desktop.ui.consent")
    from desktop.ui.consent import LiveSession

    consent = FakeController()
    ctx.services["consent"] = consent
    ctx.consentEvent.emit({"event": "session.notify", "id": "n1"})
    assert controller.session_action.text().startswith("Remote session: Fleet scan until ")
    assert not controller.end_session_action.isVisible()  # IT's unattended session cannot be ended here
    consent.live.append(LiveSession("g7", "Ivan Petrov", "DL-000012", time.time() + 600))
    ctx.consentEvent.emit({"event": "session.started", "grant": "g7"})
    assert controller.session_action.text() == "Remote sessions active: 2"
    controller.end_session_action.trigger()
    assert consent.ended == ["g7"]
    assert not controller.end_session_action.isEnabled()  # until the session's end is reported
    consent.live.pop()
    ctx.consentEvent.emit({"event": "session.ended", "grant": "g7"})
    assert not controller.end_session_action.isVisible()
