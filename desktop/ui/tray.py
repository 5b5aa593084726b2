"""The tray icon: a menu to reach every screen, the remote session's status, and notifications.

:class:`TrayController` holds everything the tray does (the menu, what a click opens, which
notifications to show, the icon's badge) and works without a tray, so tests build it anywhere (bare Xvfb
and offscreen have no tray). :class:`Tray` puts it into a real :class:`QSystemTrayIcon`; :func:`install`
creates one only where the desktop has a tray. There, closing the window hides it (Deskline keeps
running to bring replies; the user is told so once). Without a tray nothing changes: the window is an
ordinary window and closing it quits.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QDateTime, QEvent, QObject, Signal
from PySide6.QtGui import QAction, QIcon
from PySide6.QtWidgets import QApplication, QMenu, QStyle, QSystemTrayIcon

from desktop.ui.context import AppContext

log = logging.getLogger("deskline.ui")

# Remote-session events after which the menu's status line is read again.
_SESSION_EVENTS = frozenset({"session.started", "session.ended", "session.not_started", "session.notify",
                             "consent.revoke", "consent.decision"})
_HINT_MARKER = "tray-hint-shown"


@dataclass(frozen=True)
class _Session:
    """A remote session as the menu shows it; ``can_end`` is False for one IT's policy let run unattended."""

    id: str
    engineer: str
    expires: float
    can_end: bool


def _icon(name: str) -> QIcon:
    from desktop.paths import resource_dir

    path = resource_dir() / "icons" / f"{name}.svg"
    return QIcon(str(path)) if path.exists() else QIcon()


def _hint_marker_path() -> Any:
    from platformdirs import user_state_path

    return user_state_path("deskline", appauthor=False) / _HINT_MARKER


def _touch(path: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()


class TrayController(QObject):
    """The tray's menu and behaviour, independent of a real tray icon.

    ``window`` is the main window (anything with ``bring_to_front(key, arg)``, ``isVisible``, ``hide``).
    Notifications are *requested* with :attr:`notificationRequested` (title, text, incident number or 0);
    :class:`Tray` shows them, a test listens.
    """

    notificationRequested = Signal(str, str, int)
    # The icon or tooltip changed (a remote session started or ended, a reply came or was seen).
    stateChanged = Signal()

    def __init__(self, ctx: AppContext, window: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.window = window
        self.unread: set[int] = set()  # tickets with a reply the user has not looked at
        self._last_number = 0  # the ticket of the last notification (a click on it opens that ticket)
        self._ending = False
        self._hint_shown: bool | None = None
        self._icons = {"plain": _icon("deskline"), "badge": _icon("deskline-badge")}

        self.menu = QMenu()
        self.menu.setObjectName("TrayMenu")
        self.help_action = self._action(lambda: self.open_page("help"), "help")
        self.report_action = self._action(lambda: self.open_page("report"), "report")
        self.tickets_action = self._action(lambda: self.open_page("tickets"), "tickets")
        self.menu.addSeparator()
        self.session_action = self._action(None, "session-status")
        self.session_action.setEnabled(False)
        self.end_session_action = self._action(self.end_sessions, "end-session")
        self.end_session_action.setIcon(self.menu.style().standardIcon(QStyle.StandardPixmap.SP_DialogCancelButton))
        self.menu.addSeparator()
        self.settings_action = self._action(lambda: self.open_page("settings"), "settings")
        self.menu.addSeparator()
        self.quit_action = self._action(self.quit, "quit")
        self.menu.aboutToShow.connect(self.refresh_session)

        ctx.languageChanged.connect(self._language_changed)
        ctx.consentEvent.connect(self.consent_event)
        ctx.ticketUpdated.connect(self.ticket_updated)
        self.retranslate()

    def _action(self, slot: Any, name: str) -> QAction:
        from desktop.ui.main_window import PAGES

        action = QAction(self.menu)
        action.setObjectName(name)
        icon = next((p[3] for p in PAGES if p[0] == name), None)  # the same icons as the window's sections
        if icon is not None:
            action.setIcon(self.menu.style().standardIcon(icon))
        if slot is not None:
            action.triggered.connect(slot)
        self.menu.addAction(action)
        return action

    # ------------------------------------------------------------------------------------------- texts

    def _language_changed(self, _language: str) -> None:
        self.retranslate()

    def retranslate(self) -> None:
        self.help_action.setText(self.tr("Get help"))
        self.report_action.setText(self.tr("Report a problem…"))
        self.tickets_action.setText(self.tr("My tickets"))
        self.settings_action.setText(self.tr("Settings"))
        self.quit_action.setText(self.tr("Quit Deskline"))
        self.refresh_session()

    def tooltip(self) -> str:
        lines = ["Deskline"]
        grants = self.active_grants()
        if grants:
            lines.append(self.tr("A remote session is active"))
        if self.unread:
            lines.append(self.tr("New replies: %1").replace("%1", str(len(self.unread))))
        return "\n".join(lines)

    def icon(self) -> QIcon:
        """The app icon, with a badge while a remote session runs or a reply is unread."""
        return self._icons["badge" if self.unread or self.active_grants() else "plain"]

    # ------------------------------------------------------------------------------ remote sessions

    def consent_service(self) -> Any:
        return self.ctx.services.get("consent")

    def active_grants(self) -> list[_Session]:
        """The remote sessions running now: the user's grants, and sessions IT's policy let run unattended
        (the consent controller's ``sessions()``; a bare service's ``active_grants()``)."""
        service = self.consent_service()
        if service is None:
            return []
        now = time.time()
        if hasattr(service, "sessions"):
            found = [_Session(s.id, s.engineer, s.expires, s.can_end) for s in service.sessions()]
        else:
            found = [_Session(g.id, g.ask.engineer, g.expires, True) for g in service.active_grants()]
        return [s for s in found if s.expires > now]

    def refresh_session(self) -> None:
        sessions = self.active_grants()
        endable = [s for s in sessions if s.can_end]
        if not endable:
            self._ending = False
        if not sessions:
            self.session_action.setText(self.tr("No remote session"))
        elif len(sessions) == 1:
            until = QDateTime.fromSecsSinceEpoch(int(sessions[0].expires)).toString("HH:mm")
            self.session_action.setText(self.tr("Remote session: %1 until %2").replace(
                "%1", sessions[0].engineer).replace("%2", until))
        else:
            self.session_action.setText(self.tr("Remote sessions active: %1").replace("%1", str(len(sessions))))
        self.end_session_action.setVisible(bool(endable))
        self.end_session_action.setEnabled(not self._ending)
        self.end_session_action.setText(self.tr("Ending the remote session…") if self._ending
                                        else self.tr("End remote session"))
        self.stateChanged.emit()

    def consent_event(self, event: dict[str, Any]) -> None:
        if event.get("event") in _SESSION_EVENTS:
            if event.get("event") != "consent.revoke":
                self._ending = False  # ended, or the end failed: offer End again while one runs
            self.refresh_session()

    def end_sessions(self) -> None:
        """End every remote session the user allowed (the agent's acknowledgement is awaited in a worker)."""
        service = self.consent_service()
        endable = [s for s in self.active_grants() if s.can_end]
        if service is None or not endable:
            self.refresh_session()
            return
        self._ending = True
        for session in endable:
            if hasattr(service, "end"):
                service.end(session.id)  # the consent controller: its own worker, banner and events
            else:
                from desktop.ui import workers

                workers.submit(service.revoke, session.id, on_done=self._ended, on_error=self._ended)
        self.refresh_session()

    def _ended(self, _result: object = None) -> None:
        self._ending = False
        self.refresh_session()

    # ---------------------------------------------------------------------------------- the window

    def open_page(self, key: str, arg: Any = None) -> None:
        if key == "tickets":
            self.unread.clear()
            self.stateChanged.emit()
        self.window.bring_to_front(key, arg)

    def toggle_window(self) -> None:
        """A left click on the icon: hide a shown window, bring back a hidden or minimised one."""
        if self.window.isVisible() and not self.window.isMinimized():
            self.window.hide()
        else:
            self.window.bring_to_front()

    def quit(self) -> None:
        QApplication.quit()

    def window_closed(self) -> None:
        """The window was closed into the tray: say once (ever) that Deskline keeps running there."""
        if self._hint_shown is None:
            self._hint_shown = _hint_marker_path().exists()
        if self._hint_shown:
            return
        self._hint_shown = True
        self.notificationRequested.emit(
            self.tr("Deskline is still running"),
            self.tr("Deskline keeps running in the tray, so you hear about replies to your tickets. "
                    "To quit, choose Quit Deskline in its menu."), 0)
        from desktop.ui import workers

        workers.submit(_touch, _hint_marker_path())

    # ------------------------------------------------------------------------------- notifications

    def ticket_updated(self, number: int, kind: str, text: str) -> None:
        from desktop.outbox import incident_label

        if kind == "reply":
            self.unread.add(number)
            self.stateChanged.emit()
        if not self.ctx.settings["ui.notifications"]:
            return
        label = incident_label(number)
        if kind == "reply":
            title = self.tr("New reply on %1").replace("%1", label)
            body = text or self.tr("Open My tickets to read it.")
        else:
            title = self.tr("%1 was updated").replace("%1", label)
            body = text or self.tr("Open My tickets to see what changed.")
        self._last_number = number
        self.notificationRequested.emit(title, body, number)

    def message_clicked(self) -> None:
        """The user clicked the last notification: open that ticket (or just the window)."""
        if self._last_number:
            self.open_page("tickets", self._last_number)
        else:
            self.window.bring_to_front()


class Tray(QObject):
    """The real tray icon around a :class:`TrayController`; in ``ctx.services["tray"]`` (has ``stop()``)."""

    def __init__(self, ctx: AppContext, window: Any, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.window = window
        self.controller = TrayController(ctx, window, self)
        self.icon = QSystemTrayIcon(self.controller.icon(), self)
        self.icon.setContextMenu(self.controller.menu)
        self.icon.activated.connect(self._activated)
        self.icon.messageClicked.connect(self.controller.message_clicked)
        self.controller.notificationRequested.connect(self._notify)
        self.controller.stateChanged.connect(self._update)
        window.hide_on_close = True  # MainWindow: closing hides it (Deskline stays in the tray)
        window.installEventFilter(self)
        self._update()
        self.icon.show()

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger:
            self.controller.toggle_window()
        elif reason == QSystemTrayIcon.ActivationReason.DoubleClick:
            self.window.bring_to_front()

    def _notify(self, title: str, text: str, _number: int) -> None:
        self.icon.showMessage(title, text, self.controller.icon(), 10_000)

    def _update(self) -> None:
        self.icon.setIcon(self.controller.icon())
        self.icon.setToolTip(self.controller.tooltip())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if watched is self.window:
            if event.type() == QEvent.Type.Close and getattr(self.window, "hide_on_close", False):
                self.controller.window_closed()
            elif event.type() == QEvent.Type.WindowActivate and self.controller.unread \
                    and getattr(self.window, "current_key", lambda: "")() == "tickets":
                self.controller.unread.clear()
                self._update()
        return False

    def stop(self) -> None:
        self.icon.hide()


def install(ctx: AppContext, window: Any) -> Tray | None:
    """A tray icon for ``window`` where the desktop has a tray (else None: the window stays a normal one)."""
    if not QSystemTrayIcon.isSystemTrayAvailable():
        log.debug("no system tray: Deskline runs as a normal window")
        return None
    tray = Tray(ctx, window, window)
    ctx.services["tray"] = tray
    return tray


__all__ = ["Tray", "TrayController", "install"]
