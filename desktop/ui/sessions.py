"""The Remote sessions screen: who can connect now, and the history of every remote session on this computer.

The history is the consent ledger (:class:`desktop.consent_service.Ledger`): each request, answer,
session start and end, and every command an engineer ran, newest first. It is read in a worker and
grows live from ``ctx.consentEvent``.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QCoreApplication, QDateTime, QLocale, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QStyle,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.consent_service import Ledger, default_ledger_path
from desktop.ui.consent import (
    REASON_END_NOW,
    REASON_NO_ANSWER,
    clock,
    command_text,
    duration_text,
    monospace,
)
from desktop.ui.context import AppContext
from desktop.ui.i18n import plural
from desktop.ui.main_window import heading
from desktop.ui.workers import Failure, submit

log = logging.getLogger("deskline.ui")

# The most events shown (the ledger keeps about 4 MB; the newest are what people look for).
LIMIT = 5000
EVENT_ROLE = Qt.ItemDataRole.UserRole + 1
translate = QCoreApplication.translate


class SessionsPage(QWidget):
    """Page "sessions": the current state (End now) and the ledger as a filterable table."""

    # Emitted after the ledger was (re)loaded into the table, with the number of events.
    loaded = Signal(int)

    COLUMNS = 6

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self._events: list[dict[str, Any]] = []
        self._tickets: dict[str, str] = {}
        self._loading = False
        self._reload_again = False
        self._ending: set[str] = set()
        self._load_error: Failure | None = None

        outer = QVBoxLayout(self)
        outer.setContentsMargins(28, 24, 28, 20)
        outer.setSpacing(12)
        self.heading = heading("", self)
        outer.addWidget(self.heading)
        self.about = QLabel(self)
        self.about.setWordWrap(True)
        outer.addWidget(self.about)

        # -- now
        self.now_title = self._subheading()
        outer.addWidget(self.now_title)
        self.now = QFrame(self)
        self.now.setObjectName("SessionsNow")
        self.now.setFrameShape(QFrame.Shape.StyledPanel)
        self.now_layout = QVBoxLayout(self.now)
        self.now_layout.setContentsMargins(14, 10, 14, 10)
        self.now_layout.setSpacing(8)
        outer.addWidget(self.now)
        self._now_rows: list[QWidget] = []

        # -- history
        history = QHBoxLayout()
        history.setSpacing(10)
        self.history_title = self._subheading()
        history.addWidget(self.history_title)
        history.addStretch(1)
        self.filter_label = QLabel(self)
        history.addWidget(self.filter_label)
        self.filter = QLineEdit(self)
        self.filter.setClearButtonEnabled(True)
        self.filter.setMinimumWidth(330)
        self.filter_label.setBuddy(self.filter)
        history.addWidget(self.filter)
        outer.addSpacing(6)
        outer.addLayout(history)

        self.model = QStandardItemModel(0, self.COLUMNS, self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.proxy.setFilterKeyColumn(-1)
        self.filter.textChanged.connect(self.proxy.setFilterFixedString)
        self.filter.textChanged.connect(lambda _text: self._update_empty())

        self.table = QTableView(self)
        self.table.setModel(self.proxy)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setShowGrid(False)
        self.table.verticalHeader().hide()
        self.table.setTabKeyNavigation(False)
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)  # the command: the longest texts
        header.setStretchLastSection(False)
        header.setMinimumSectionSize(60)
        for column, width in ((0, 118), (1, 115), (2, 85), (3, 150), (5, 145)):
            self.table.setColumnWidth(column, width)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.selectionModel().currentRowChanged.connect(lambda _cur, _prev: self._show_details())
        outer.addWidget(self.table, 1)

        self.empty = QLabel(self)
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        self.empty.hide()
        outer.addWidget(self.empty, 1)

        self.details = QLabel(self)
        self.details.setFont(monospace())
        self.details.setWordWrap(True)
        self.details.setTextFormat(Qt.TextFormat.PlainText)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                             | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self.details.hide()
        outer.addWidget(self.details)

        ctx.consentEvent.connect(self._on_event)
        service = self.service()
        if service is not None and hasattr(service, "grantsChanged"):
            service.grantsChanged.connect(self.update_now)
        self.retranslate()
        self.update_now()
        self.reload()

    # -- helpers
    def _subheading(self) -> QLabel:
        label = QLabel(self)
        font = label.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.1)
        label.setFont(font)
        return label

    def service(self) -> Any:
        return self.ctx.services.get("consent")

    @property
    def loading(self) -> bool:
        """True while the ledger is being read."""
        return self._loading

    def ledger(self) -> Ledger:
        service = self.service()
        ledger = getattr(service, "ledger", None)
        return ledger if isinstance(ledger, Ledger) else Ledger(default_ledger_path())

    # -- page protocol
    def activate(self) -> None:
        self.update_now()

    def retranslate(self) -> None:
        self.heading.setText(self.tr("Remote sessions"))
        self.heading.setAccessibleName(self.heading.text())
        self.about.setText(self.tr("A support engineer can run diagnostics on this computer only after you allow "
                                   "it; this page shows who can connect now and everything that happened in "
                                   "remote sessions."))
        self.now_title.setText(self.tr("Now"))
        self.history_title.setText(self.tr("History"))
        self.filter_label.setText(self.tr("&Filter:"))
        self.filter.setPlaceholderText(self.tr("Engineer, ticket, check or result"))
        self.filter.setAccessibleName(self.tr("Filter the history"))
        self.table.setAccessibleName(self.tr("History of remote sessions, newest first"))
        self.details.setAccessibleName(self.tr("Details of the selected event"))
        for column, title in enumerate((self.tr("Time"), self.tr("Engineer"), self.tr("Ticket"),
                                        self.tr("What happened"), self.tr("Command or check"), self.tr("Result"))):
            self.model.setHorizontalHeaderItem(column, QStandardItem(title))
        self._render()
        self.update_now()

    # -- now
    def update_now(self) -> None:
        for row in self._now_rows:
            self.now_layout.removeWidget(row)
            row.deleteLater()
        self._now_rows = []
        service = self.service()
        if service is None or not getattr(service, "available", False):
            problem = getattr(service, "problem", "") or self.tr("the remote session service is not running.")
            details = getattr(service, "details", "")
            self._add_now_row(self.tr("Remote sessions are not available: %1").replace("%1", problem),
                              QStyle.StandardPixmap.SP_MessageBoxWarning, details=details)
            return
        sessions = service.sessions()
        self._ending &= {s.id for s in sessions}
        if not sessions:
            self._add_now_row(self.tr("No one can connect now. An engineer who wants to run diagnostics has to ask "
                                      "you first."), QStyle.StandardPixmap.SP_DialogApplyButton)
            return
        for session in sessions:
            if not session.can_end:
                text = (self.tr("%1 can run diagnostics on this computer until %2 (ticket %3), as your IT "
                                "department's policy allows without asking.") if session.ticket else
                        self.tr("%1 can run diagnostics on this computer until %2, as your IT department's policy "
                                "allows without asking."))
            else:
                text = (self.tr("%1 can run diagnostics on this computer until %2 (ticket %3).") if session.ticket
                        else self.tr("%1 can run diagnostics on this computer until %2."))
            text = (text.replace("%1", session.engineer).replace("%2", clock(session.expires))
                    .replace("%3", session.ticket))
            self._add_now_row(text, QStyle.StandardPixmap.SP_ComputerIcon,
                              grant_id=session.id if session.can_end else "", engineer=session.engineer)

    def _add_now_row(self, text: str, icon: QStyle.StandardPixmap, *, grant_id: str = "", engineer: str = "",
                     details: str = "") -> None:
        row = QWidget(self.now)
        outer = QVBoxLayout(row)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(6)
        line = QHBoxLayout()
        line.setSpacing(10)
        picture = QLabel(row)
        picture.setPixmap(self.style().standardIcon(icon).pixmap(22, 22))
        picture.setAlignment(Qt.AlignmentFlag.AlignTop)
        line.addWidget(picture)
        label = QLabel(text, row)
        label.setObjectName("now-text")
        label.setWordWrap(True)
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.setAccessibleName(text)
        line.addWidget(label, 1)
        if grant_id:
            ending = grant_id in self._ending
            # no Alt+E here: the banner above has that shortcut
            button = QPushButton(self.tr("Ending…") if ending else self.tr("End now"), row)
            button.setObjectName("end-now")
            button.setEnabled(not ending)
            button.setAccessibleName(self.tr("End the session of %1 now").replace("%1", engineer))
            button.clicked.connect(lambda _checked=False, gid=grant_id, b=button: self._end(gid, b))
            line.addWidget(button, 0, Qt.AlignmentFlag.AlignTop)
        outer.addLayout(line)
        if details:
            toggle = QPushButton(self.tr("Show details"), row)
            toggle.setObjectName("show-details")
            toggle.setCheckable(True)
            toggle.setFlat(True)
            toggle.setAccessibleName(self.tr("Show the technical details"))
            technical = QLabel(details, row)
            technical.setFont(monospace())
            technical.setWordWrap(True)
            technical.setTextFormat(Qt.TextFormat.PlainText)
            technical.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            technical.setAccessibleName(self.tr("Technical details"))
            technical.hide()
            toggle.toggled.connect(technical.setVisible)
            toggle.toggled.connect(lambda shown, t=toggle: t.setText(
                self.tr("Hide details") if shown else self.tr("Show details")))
            line.addWidget(toggle, 0, Qt.AlignmentFlag.AlignTop)
            outer.addWidget(technical)
        self.now_layout.addWidget(row)
        self._now_rows.append(row)

    def _end(self, grant_id: str, button: QPushButton) -> None:
        self._ending.add(grant_id)
        button.setEnabled(False)
        button.setText(self.tr("Ending…"))
        service = self.service()
        if service is not None:
            service.end(grant_id)

    # -- history
    def reload(self) -> None:
        """Read the ledger again (in a worker)."""
        if self._loading:
            self._reload_again = True
            return
        self._loading = True
        self._reload_again = False
        submit(self.ledger().read, LIMIT, on_done=self._loaded, on_error=self._load_failed)

    def _loaded(self, events: list[dict[str, Any]]) -> None:
        self._loading = False
        self._load_error = None
        self._events = events
        self._tickets = tickets_of(events)
        if self._reload_again:
            self.reload()
            return
        self._render()
        self.loaded.emit(len(events))

    def _load_failed(self, failure: Failure) -> None:
        self._loading = False
        self._load_error = failure
        log.info("remote session history: %s", failure.message or failure.details)
        self._render()
        self.loaded.emit(0)

    def _on_event(self, event: dict[str, Any]) -> None:
        if event.get("event") in ("session.started", "session.ended", "consent.revoke", "session.notify"):
            self.update_now()
        if self._loading:
            self._reload_again = True  # the worker may have read the ledger before this event was written
            return
        self._events.insert(0, event)
        del self._events[LIMIT:]
        ticket = event.get("ticket")
        key = event.get("id") or event.get("grant")
        if ticket and key:
            self._tickets[key] = ticket
        self.model.insertRow(0, self._row(event))
        if self.model.rowCount() > LIMIT:
            self.model.removeRow(self.model.rowCount() - 1)
        self._update_empty()

    def _render(self) -> None:
        self.model.removeRows(0, self.model.rowCount())
        for event in self._events:
            self.model.appendRow(self._row(event))
        self._update_empty()
        self._show_details()

    def _row(self, event: dict[str, Any]) -> list[QStandardItem]:
        texts = describe(event, self._tickets)
        details = event_details(event)
        items = []
        for text in texts:
            item = QStandardItem(text)
            item.setData(event, EVENT_ROLE)
            item.setToolTip(text)  # columns are narrow; the full text is one hover away
            items.append(item)
        items[3].setToolTip(details)
        return items

    def _update_empty(self) -> None:
        if self._load_error is not None:
            text = self.tr("The history could not be read: %1").replace(
                "%1", self._load_error.message or self.tr("an unexpected error"))
        elif not self._events:
            text = self.tr("Nothing here yet: no engineer has asked to connect to this computer.")
        elif self.proxy.rowCount() == 0:
            text = self.tr("Nothing in the history matches “%1”.").replace("%1", self.filter.text())
        else:
            text = ""
        self.empty.setText(text)
        self.empty.setVisible(bool(text))
        self.table.setVisible(not text)

    def _show_details(self) -> None:
        index = self.table.currentIndex()
        event = index.data(EVENT_ROLE) if index.isValid() else None
        if not event:
            self.details.hide()
            return
        self.details.setText(event_details(event))
        self.details.show()

    # -- for tests and the tray
    def rows(self) -> list[list[str]]:
        """The table as shown (filtered), newest first."""
        return [[self.proxy.index(r, c).data() or "" for c in range(self.COLUMNS)]
                for r in range(self.proxy.rowCount())]

    def now_texts(self) -> list[str]:
        return [label.text() for row in self._now_rows for label in row.findChildren(QLabel, "now-text")]


# ------------------------------------------------------------------------------------ event texts

def tickets_of(events: list[dict[str, Any]]) -> dict[str, str]:
    """Grant (request) id -> ticket, from the requests and session starts among ``events``."""
    found: dict[str, str] = {}
    for event in events:
        key = event.get("id") or event.get("grant")
        if key and event.get("ticket"):
            found[key] = event["ticket"]
    return found


def when(epoch: Any) -> str:
    """The event's time as people read it: "22 Nov 02:08:53" (with the year when it is not this year)."""
    try:
        stamp = QDateTime.fromMSecsSinceEpoch(int(float(epoch) * 1000))
    except (TypeError, ValueError):
        return ""
    same_year = stamp.date().year() == QDateTime.currentDateTime().date().year()
    return QLocale().toString(stamp, "d MMM HH:mm:ss" if same_year else "d MMM yyyy HH:mm:ss")


def exit_text(code: Any, duration_ms: Any) -> str:
    if code == 0:
        try:
            ms = float(duration_ms)
        except (TypeError, ValueError):
            return translate("SessionsPage", "Done")
        if ms < 1000:
            return translate("SessionsPage", "Done in %1 ms").replace("%1", f"{ms:.0f}")
        return translate("SessionsPage", "Done in %1 s").replace("%1", QLocale().toString(ms / 1000, "f", 1))
    known = {
        2: translate("SessionsPage", "Not understood by the agent"),
        3: translate("SessionsPage", "Refused: no permission"),
        4: translate("SessionsPage", "Refused by IT policy"),
        5: translate("SessionsPage", "Took too long and was stopped"),
    }
    return known.get(code, translate("SessionsPage", "Failed (code %1)").replace("%1", str(code)))


def ended_text(reason: str) -> str:
    reason = reason or ""
    if reason.startswith("expired") or reason == "the grant expired":
        return translate("SessionsPage", "The time was up")
    if reason.startswith("revoked"):
        if "closed" in reason or "stopped" in reason:
            return translate("SessionsPage", "Ended because Deskline closed")
        return translate("SessionsPage", "Ended by you")
    if reason in ("the engineer disconnected", "closed by the client"):
        return translate("SessionsPage", "The engineer disconnected")
    if reason in ("the agent stopped", "the agent is stopping"):
        return translate("SessionsPage", "The Deskline agent stopped")
    if reason.startswith("idle"):
        return translate("SessionsPage", "The engineer was idle too long")
    if reason.startswith("the agent closed") or reason.startswith("closed"):
        return translate("SessionsPage", "The connection was closed")
    return reason


def describe(event: dict[str, Any], tickets: dict[str, str]) -> list[str]:
    """One ledger event as the table's six columns: time, engineer, ticket, what happened, command, result."""
    kind = event.get("event", "")
    key = event.get("id") or event.get("grant") or ""
    engineer = str(event.get("engineer", ""))
    ticket = str(event.get("ticket") or tickets.get(key, ""))
    what = command = result = ""
    if kind == "consent.request":
        what = translate("SessionsPage", "Asked for permission")
        command = "; ".join(dict.fromkeys(command_text(c) for c in event.get("commands", [])))
        result = translate("SessionsPage", "For %1").replace("%1", duration_text(event.get("duration_seconds", 0)))
    elif kind == "consent.decision":
        by, reason = event.get("by"), event.get("reason", "")
        if event.get("allow"):
            what = translate("SessionsPage", "You allowed it")
            result = translate("SessionsPage", "For %1").replace("%1", duration_text(event.get("duration_seconds", 0)))
        elif by == "user" and reason != REASON_NO_ANSWER:
            what = translate("SessionsPage", "You denied it")
            result = translate("SessionsPage", "Refused")
        elif by == "error":
            what = translate("SessionsPage", "The question could not be shown")
            result = translate("SessionsPage", "Refused")
        elif reason == REASON_NO_ANSWER:
            what = translate("SessionsPage", "Not answered in time")
            result = translate("SessionsPage", "Refused")
        else:
            what = translate("SessionsPage", "The engineer stopped waiting")
            result = translate("SessionsPage", "Refused")
    elif kind == "session.started":
        what = translate("SessionsPage", "Session started")
        if "expires" in event:
            result = translate("SessionsPage", "Until %1").replace("%1", clock(float(event["expires"])))
    elif kind == "session.command":
        what = translate("SessionsPage", "Ran a command")
        command = command_text(str(event.get("command", "")))
        result = exit_text(event.get("exit"), event.get("duration_ms"))
    elif kind == "session.ended":
        what = translate("SessionsPage", "Session ended")
        result = ended_text(str(event.get("reason", "")))
        n = int(event.get("commands_run", 0) or 0)
        command = plural(translate("SessionsPage", "%n command(s) ran", None, n), n)
    elif kind == "consent.revoke":
        reason = str(event.get("reason", ""))
        if reason == REASON_END_NOW:
            what = translate("SessionsPage", "You pressed End now")
        elif "closed" in reason or "stopped" in reason:
            what = translate("SessionsPage", "Deskline closed, so the session was ended")
        else:
            what = translate("SessionsPage", "The session was ended early")
    elif kind == "session.notify":
        what = translate("SessionsPage", "Connected without asking, as IT's policy allows")
        command = "; ".join(dict.fromkeys(command_text(c) for c in event.get("commands", [])))
        if "expires" in event:
            result = translate("SessionsPage", "Until %1").replace("%1", clock(float(event["expires"])))
    elif kind == "session.not_started":
        what = translate("SessionsPage", "The session did not start")
        result = translate("SessionsPage", "The engineer's side did not confirm it")
    elif kind == "channel.refused":
        what = translate("SessionsPage", "Refused a connection")
        result = translate("SessionsPage", "The request was not valid or not allowed")
    else:
        what = str(kind)
    return [when(event.get("time")), engineer, ticket, what, command, result]


def event_details(event: dict[str, Any]) -> str:
    """The technical details of one event (shown under the table and as a tooltip), in English keys."""
    shown = []
    for key in ("event", "engineer", "fingerprint", "peer", "ticket", "command", "commands", "exit", "duration_ms",
                "duration_seconds", "allow", "by", "how", "reason", "commands_run", "peer_uid", "id", "grant"):
        if key in event and event[key] not in (None, "", []):
            value = event[key]
            if isinstance(value, list):
                value = ", ".join(map(str, value))
            shown.append(f"{key}: {value}")
    return "\n".join(shown)


__all__ = ["SessionsPage", "describe", "event_details"]
