"""My tickets: the user's reports, where each one is, and a ticket's conversation.

The list shows every report in the outbox (newest first): its incident number, title, where it is
(waiting, sending, not sent, or the helpdesk's status) and the last update; "Open" hides closed tickets.
Choosing one shows the conversation (what the user wrote, the helpdesk's replies, the user's comments and
ratings with their delivery state) and what can be done: add a comment with files, reopen, close, rate
the help when the ticket is resolved, retry a report that was not sent, export it as a file.

All reading and writing of the outbox runs in workers (:func:`desktop.ui.workers.submit`); the delivery
service (``ctx.services["delivery"]``) sends what is saved and checks the tickets, and says so through
``ctx.outboxChanged``, on which this screen reloads.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QDateTime,
    QItemSelectionModel,
    QLocale,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QFont, QKeySequence, QPalette, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QComboBox,
    QFileDialog,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QTableView,
    QTextBrowser,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop.connectors.base import Reply
from desktop.outbox import Entry, FollowUp, parse_incident
from desktop.ui.context import AppContext
from desktop.ui.delivery_service import service_of, status_name
from desktop.ui.i18n import human_size
from desktop.ui.main_window import heading
from desktop.ui.workers import Failure, submit

log = logging.getLogger("deskline.ui")

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
NUMBER_ROLE = Qt.ItemDataRole.UserRole
CLOSED = ("closed",)
DONE = ("resolved", "closed")


def _when(ts: float | None) -> QDateTime | None:
    return QDateTime.fromSecsSinceEpoch(int(ts)) if ts else None


def _iso_ts(text: str) -> float | None:
    """Seconds since the epoch of an ISO 8601 time from a helpdesk (None when absent or unreadable)."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def last_update(entry: Entry) -> float:
    """When the report or its ticket last changed (seconds since the epoch)."""
    if entry.state == "sent":
        return _iso_ts(entry.status_updated) or entry.sent_at or entry.updated
    return entry.updated


def is_open(entry: Entry) -> bool:
    """Shown under "Open": everything but closed tickets (and a closed one with a reply not yet read)."""
    return entry.state != "sent" or entry.status_state not in CLOSED or entry.replies_new > 0


def warning_colour() -> QColor:
    """Red for "not sent", readable on the list's and the window's colours in both themes."""
    from desktop.ui import theme

    return QColor("#ff7b72") if theme.is_dark() else QColor("#b3261e")


def short_time(ts: float | None) -> str:
    when = _when(ts)
    return QLocale().toString(when, QLocale.FormatType.ShortFormat) if when else ""


# ---------------------------------------------------------------------------------------------- workers

@dataclass
class Detail:
    """A report and its conversation, read in a worker."""

    entry: Entry
    replies: list[Reply]
    new_replies: set[str]
    followups: list[FollowUp] = field(default_factory=list)


def load_entries(ctx: AppContext) -> list[Entry]:
    return ctx.outbox().entries()


def load_detail(ctx: AppContext, number: int) -> Detail:
    """The report, its replies (which of them are unread) and the user's comments."""
    box = ctx.outbox()
    entry = box.get(number)
    new = {r.reply_id for r in box.replies(number, only_new=True)}
    return Detail(entry, box.replies(number), new, box.followups(number))


def mark_seen(ctx: AppContext, number: int) -> None:
    ctx.outbox().mark_replies_seen(number)


def add_comment(ctx: AppContext, number: int, text: str, paths: Sequence[str]) -> FollowUp:
    from desktop.delivery import load_files

    files = load_files(paths, ctx.settings)
    return ctx.outbox().add_followup(number, "comment", text=text, attachments=files)


def add_rating(ctx: AppContext, number: int, score: int, remark: str) -> FollowUp:
    return ctx.outbox().add_followup(number, "rating", score=score, text=remark)


def change_state(ctx: AppContext, number: int, state: str, text: str) -> None:
    """Close or reopen a ticket: in the local store the user is the helpdesk (its state is set there);
    elsewhere the helpdesk is asked by a comment (``text``), the way the connectors offer."""
    from desktop.delivery import set_local_state

    box = ctx.outbox()
    entry = box.get(number)
    if entry.backend == "local" and entry.state == "sent":
        set_local_state(ctx.settings, entry.ticket_id, state)
    if text.strip():
        box.add_followup(number, "comment", text=text)


def retry(ctx: AppContext, number: int) -> Entry:
    return ctx.outbox().retry(number)


def export(ctx: AppContext, number: int, path: str) -> str:
    from desktop.diagnostics.bundle import write_atomic

    write_atomic(Path(path), ctx.outbox().export(number))
    return path


# ---------------------------------------------------------------------------------------------- the list

class TicketsModel(QAbstractTableModel):
    """The user's reports, one row each."""

    INCIDENT, TITLE, STATUS, TICKET, UPDATED = range(5)

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.entries: list[Entry] = []

    def set_entries(self, entries: list[Entry]) -> None:
        self.beginResetModel()
        self.entries = list(entries)
        self.endResetModel()

    def retranslate(self) -> None:
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, 0, 4)
        if self.entries:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self.entries) - 1, 4))

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self.entries)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else 5

    def headerData(self, section: int, orientation: Qt.Orientation,  # noqa: N802
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or role != Qt.ItemDataRole.DisplayRole:
            return None
        return (self.tr("Number"), self.tr("Problem"), self.tr("Status"), self.tr("Ticket"),
                self.tr("Last update"))[section]

    def status_text(self, e: Entry) -> str:
        if e.state == "queued":
            return self.tr("Waiting to be sent")
        if e.state == "sending":
            return self.tr("Sending…")
        if e.state == "failed":
            return self.tr("Not sent")
        return status_name(e.status_state) if e.status_state else self.tr("Sent")

    def ticket_text(self, e: Entry) -> str:
        if e.state != "sent":
            return "—"
        if e.backend == "local":
            return self.tr("On this computer")
        return f"#{e.ticket_id}" if e.ticket_id.isdigit() else e.ticket_id

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self.entries):
            return None
        e = self.entries[index.row()]
        col = index.column()
        if role == NUMBER_ROLE:
            return e.id
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            if col == self.INCIDENT:
                return e.incident
            if col == self.TITLE:
                if e.replies_new:
                    return self.tr("%1  •  %n new", "", e.replies_new).replace("%1", e.title)
                return e.title
            if col == self.STATUS:
                return self.status_text(e)
            if col == self.TICKET:
                return self.ticket_text(e)
            return short_time(last_update(e))
        if role == SORT_ROLE:
            return (e.id, e.title.lower(), self.status_text(e), self.ticket_text(e), last_update(e))[col]
        if role == Qt.ItemDataRole.FontRole and e.replies_new:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == self.STATUS and e.state == "failed":
                return e.failed_reason
            if col == self.STATUS and e.state == "queued" and e.last_error:
                return e.last_error
            if col == self.STATUS and e.state == "sent" and e.status_label:
                return e.status_label
            if col == self.TICKET and e.ticket_url:
                return e.ticket_url
            if col == self.TITLE:
                return e.title
        if role == Qt.ItemDataRole.ForegroundRole and col == self.STATUS and e.state == "failed":
            return warning_colour()
        return None


class OpenFilter(QSortFilterProxyModel):
    """Hides closed tickets unless "All" is chosen."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.show_all = False
        self.setSortRole(SORT_ROLE)

    def set_show_all(self, value: bool) -> None:
        self.beginFilterChange()
        self.show_all = value
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, row: int, parent: QModelIndex | QPersistentModelIndex) -> bool:  # noqa: N802
        if self.show_all:
            return True
        model = self.sourceModel()
        assert isinstance(model, TicketsModel)
        return is_open(model.entries[row])


# ---------------------------------------------------------------------------------------------- rating

class StarRating(QWidget):
    """Five stars, 1 to 5; arrow keys, Space and clicks choose."""

    valueChanged = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.group = QButtonGroup(self)
        self.group.setExclusive(True)
        self.buttons: list[QToolButton] = []
        for score in range(1, 6):
            button = QToolButton(self)
            button.setCheckable(True)
            button.setAutoRaise(True)
            button.setStyleSheet("QToolButton { border: 1px solid transparent; border-radius: 4px; color: #d99a00; "
                                 "padding: 0 2px; } QToolButton:focus { border-color: palette(highlight); }")
            font = button.font()
            font.setPointSizeF(font.pointSizeF() * 1.6)
            button.setFont(font)
            button.setObjectName(f"star{score}")
            self.group.addButton(button, score)
            layout.addWidget(button)
            self.buttons.append(button)
        layout.addStretch(1)
        self.group.idClicked.connect(self.set_value)
        self._value = 0
        self.retranslate()
        self._paint()

    def retranslate(self) -> None:
        for score, button in enumerate(self.buttons, 1):
            name = self.tr("%1 of 5 stars").replace("%1", str(score))
            button.setAccessibleName(name)
            button.setToolTip(name)

    def value(self) -> int:
        return self._value

    def set_value(self, score: int) -> None:
        score = max(0, min(5, score))
        if score == self._value:
            return
        self._value = score
        if score:
            self.buttons[score - 1].setChecked(True)
        else:
            self.group.setExclusive(False)
            for button in self.buttons:
                button.setChecked(False)
            self.group.setExclusive(True)
        self._paint()
        self.valueChanged.emit(score)

    def _paint(self) -> None:
        for score, button in enumerate(self.buttons, 1):
            button.setText("★" if score <= self._value else "☆")

    def keyPressEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        if event.key() in (Qt.Key.Key_Right, Qt.Key.Key_Up):
            self.set_value(self._value + 1)
            self.buttons[self._value - 1].setFocus()
        elif event.key() in (Qt.Key.Key_Left, Qt.Key.Key_Down):
            self.set_value(max(1, self._value - 1))
            self.buttons[self._value - 1].setFocus()
        else:
            super().keyPressEvent(event)


# ---------------------------------------------------------------------------------------------- the page

class TicketsPage(QWidget):
    """My tickets: the list, a ticket's conversation and what can be done with it."""

    # tests and screenshots wait on these
    listLoaded = Signal()
    detailLoaded = Signal()
    actionFinished = Signal(str, bool)  # action name, succeeded

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.detail: Detail | None = None
        self._pending_select: int | None = None
        self._selecting = False
        self._loading = False
        self._reload_again = False
        self._detail_token = 0
        self._files: list[str] = []
        self._composer_for: int | None = None  # the report the comment being written belongs to
        self._drafts: dict[int, tuple[str, list[str]]] = {}  # other reports' half-written comments
        self._busy: set[str] = set()
        self._last_message: tuple[str, str, bool] | None = None
        self._build()
        self.retranslate()
        ctx.outboxChanged.connect(self.reload)
        service = service_of(ctx)
        if service is not None:
            service.cycleFinished.connect(self._update_checked)
        self.reload()

    # ------------------------------------------------------------------ building
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(24, 20, 24, 16)
        outer.setSpacing(12)
        top = QHBoxLayout()
        self.title = heading("", self)
        top.addWidget(self.title)
        top.addStretch(1)
        self.checked = QLabel(self)
        self.checked.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        top.addWidget(self.checked)
        self.filter_label = QLabel(self)
        top.addWidget(self.filter_label)
        self.filter = QComboBox(self)
        self.filter.addItems(["", ""])
        self.filter_label.setBuddy(self.filter)
        self.filter.currentIndexChanged.connect(self._filter_changed)
        top.addWidget(self.filter)
        self.refresh_button = QPushButton(self)
        self.refresh_button.clicked.connect(self.refresh)
        top.addWidget(self.refresh_button)
        QShortcut(QKeySequence(QKeySequence.StandardKey.Refresh), self, self.refresh)
        outer.addLayout(top)

        self.model = TicketsModel(self)
        self.proxy = OpenFilter(self)
        self.proxy.setSourceModel(self.model)
        self.table = QTableView(self)
        self.table.setObjectName("TicketList")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(TicketsModel.INCIDENT, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(30)
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(TicketsModel.TITLE, QHeaderView.ResizeMode.Stretch)
        self.table.selectionModel().currentRowChanged.connect(self._row_changed)

        self.empty = QWidget(self)
        empty_layout = QVBoxLayout(self.empty)
        empty_layout.addStretch(1)
        self.empty_text = QLabel(self.empty)
        self.empty_text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_text.setWordWrap(True)
        empty_layout.addWidget(self.empty_text)
        self.empty_button = QPushButton(self.empty)
        self.empty_button.clicked.connect(lambda: self.ctx.navigate.emit("report", None))
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.empty_button)
        row.addStretch(1)
        empty_layout.addLayout(row)
        empty_layout.addStretch(1)
        self.list_stack = QStackedWidget(self)
        self.list_stack.addWidget(self.table)
        self.list_stack.addWidget(self.empty)

        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.list_stack)
        self.splitter.addWidget(self._build_detail())
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 5)
        self.splitter.setSizes([200, 420])
        outer.addWidget(self.splitter, 1)

    def _build_detail(self) -> QWidget:
        self.detail_stack = QStackedWidget(self)
        self.no_selection = QLabel(self)
        self.no_selection.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.no_selection.setWordWrap(True)
        self.no_selection.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.detail_stack.addWidget(self.no_selection)

        panel = QWidget(self)
        layout = QVBoxLayout(panel)
        layout.setContentsMargins(0, 8, 0, 0)
        layout.setSpacing(8)
        head = QHBoxLayout()
        head.setSpacing(8)
        titles = QVBoxLayout()
        titles.setSpacing(2)
        self.detail_title = QLabel(panel)
        font = self.detail_title.font()
        font.setPointSizeF(font.pointSizeF() * 1.15)
        font.setBold(True)
        self.detail_title.setFont(font)
        self.detail_title.setWordWrap(True)
        self.detail_title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        titles.addWidget(self.detail_title)
        self.detail_where = QLabel(panel)
        self.detail_where.setWordWrap(True)
        self.detail_where.setOpenExternalLinks(True)
        self.detail_where.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        titles.addWidget(self.detail_where)
        head.addLayout(titles, 1)
        self.retry_button = QPushButton(panel)
        self.retry_button.clicked.connect(self.retry)
        self.reopen_button = QPushButton(panel)
        self.reopen_button.clicked.connect(self.reopen)
        self.close_button = QPushButton(panel)
        self.close_button.clicked.connect(self.close_ticket)
        self.export_button = QPushButton(panel)
        self.export_button.clicked.connect(self.export)
        actions = QHBoxLayout()
        actions.setSpacing(8)
        for button in (self.retry_button, self.reopen_button, self.close_button, self.export_button):
            actions.addWidget(button)
        head.addLayout(actions)
        head.setAlignment(actions, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(head)

        # a message about the last action (or its failure, with details one click away)
        self.message = QFrame(panel)
        self.message.setObjectName("TicketMessage")
        message_layout = QHBoxLayout(self.message)
        message_layout.setContentsMargins(10, 6, 6, 6)
        self.message_text = QLabel(self.message)
        self.message_text.setWordWrap(True)
        message_layout.addWidget(self.message_text, 1)
        self.message_details = QPushButton(self.message)
        self.message_details.clicked.connect(self._show_details)
        message_layout.addWidget(self.message_details)
        self.message_close = QToolButton(self.message)
        self.message_close.setText("✕")
        self.message_close.setAutoRaise(True)
        self.message_close.clicked.connect(self.message.hide)
        message_layout.addWidget(self.message_close)
        self.message.hide()
        layout.addWidget(self.message)

        body = QHBoxLayout()
        body.setSpacing(12)
        self.conversation = QTextBrowser(panel)
        self.conversation.setObjectName("Conversation")
        self.conversation.setOpenExternalLinks(True)
        body.addWidget(self.conversation, 3)

        side = QVBoxLayout()
        side.setSpacing(10)
        self.rating_box = QGroupBox(panel)
        rating_layout = QVBoxLayout(self.rating_box)
        rating_layout.setSpacing(6)
        self.stars = StarRating(self.rating_box)
        self.stars.valueChanged.connect(self._update_rating_button)
        rating_layout.addWidget(self.stars)
        self.remark_label = QLabel(self.rating_box)
        rating_layout.addWidget(self.remark_label)
        self.remark = QLineEdit(self.rating_box)
        self.remark.returnPressed.connect(self.rate)
        self.remark_label.setBuddy(self.remark)
        rating_layout.addWidget(self.remark)
        self.rating_note = QLabel(self.rating_box)
        self.rating_note.setWordWrap(True)
        self.rating_note.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        rating_layout.addWidget(self.rating_note)
        self.rate_button = QPushButton(self.rating_box)
        self.rate_button.clicked.connect(self.rate)
        rating_layout.addWidget(self.rate_button, 0, Qt.AlignmentFlag.AlignRight)
        self.rated = QLabel(self.rating_box)
        self.rated.setWordWrap(True)
        rating_layout.addWidget(self.rated)
        side.addWidget(self.rating_box)

        self.comment_box = QGroupBox(panel)
        comment_layout = QVBoxLayout(self.comment_box)
        comment_layout.setSpacing(6)
        self.comment_label = QLabel(self.comment_box)
        self.comment_label.setWordWrap(True)
        comment_layout.addWidget(self.comment_label)
        self.comment = QPlainTextEdit(self.comment_box)
        self.comment.setTabChangesFocus(True)
        self.comment.setMinimumHeight(64)
        self.comment.setMaximumHeight(120)
        self.comment.textChanged.connect(self._update_comment_button)
        self.comment_label.setBuddy(self.comment)
        comment_layout.addWidget(self.comment)
        self.files = QListWidget(self.comment_box)
        self.files.setMaximumHeight(64)
        self.files.hide()
        self.files.installEventFilter(self)
        comment_layout.addWidget(self.files)
        buttons = QHBoxLayout()
        self.attach_button = QPushButton(self.comment_box)
        self.attach_button.clicked.connect(self._choose_files)
        buttons.addWidget(self.attach_button)
        buttons.addStretch(1)
        self.send_button = QPushButton(self.comment_box)
        self.send_button.clicked.connect(self.send_comment)
        buttons.addWidget(self.send_button)
        comment_layout.addLayout(buttons)
        QShortcut(QKeySequence("Ctrl+Return"), self.comment, self.send_comment,
                  context=Qt.ShortcutContext.WidgetShortcut)
        side.addWidget(self.comment_box)
        side.addStretch(1)
        side_widget = QWidget()
        side_widget.setLayout(side)
        side.setContentsMargins(0, 0, 4, 0)
        # a short window scrolls the rating and the comment instead of squeezing their texts
        self.side = QScrollArea(panel)
        self.side.setWidget(side_widget)
        self.side.setWidgetResizable(True)
        self.side.setFrameShape(QFrame.Shape.NoFrame)
        self.side.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.side.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.side.setMinimumWidth(310)
        self.side.setMaximumWidth(370)
        body.addWidget(self.side, 2)
        layout.addLayout(body, 1)
        self.detail_stack.addWidget(panel)
        self.detail_panel = panel

        QWidget.setTabOrder(self.filter, self.refresh_button)
        QWidget.setTabOrder(self.refresh_button, self.table)
        chain: list[QWidget] = [self.table, self.retry_button, self.reopen_button, self.close_button,
                                self.export_button, self.conversation, *self.stars.buttons, self.remark,
                                self.rate_button, self.comment, self.files, self.attach_button, self.send_button]
        for first, second in zip(chain, chain[1:], strict=False):
            QWidget.setTabOrder(first, second)
        return self.detail_stack

    # ------------------------------------------------------------------ texts
    def retranslate(self) -> None:
        self.title.setText(self.tr("My tickets"))
        self.title.setAccessibleName(self.tr("My tickets"))
        self.filter_label.setText(self.tr("S&how:"))
        self.filter.setItemText(0, self.tr("Open tickets"))
        self.filter.setItemText(1, self.tr("All tickets"))
        self.filter.setAccessibleName(self.tr("Which tickets to show"))
        self.refresh_button.setText(self.tr("&Refresh"))
        self.refresh_button.setAccessibleName(self.tr("Check the tickets for news now"))
        self.refresh_button.setToolTip(self.tr("Ask the helpdesk for news now (F5)"))
        self.table.setAccessibleName(self.tr("Your reports"))
        self.empty_button.setText(self.tr("Report a problem"))
        self.empty_button.setAccessibleName(self.tr("Report a problem"))
        self.no_selection.setText(self.tr("Choose a report above to see its conversation."))
        self.retry_button.setAccessibleName(self.tr("Send this report again now"))
        self.reopen_button.setText(self.tr("Re&open"))
        self.reopen_button.setAccessibleName(self.tr("Reopen this ticket"))
        self.reopen_button.setToolTip(self.tr("The problem is back or was not solved: ask the helpdesk to "
                                              "look again (your comment, if you wrote one, goes with it)"))
        self.close_button.setText(self.tr("&Close ticket"))
        self.close_button.setAccessibleName(self.tr("Close this ticket"))
        self.close_button.setToolTip(self.tr("Your problem is solved: tell the helpdesk it can close the ticket"))
        self.export_button.setText(self.tr("&Export…"))
        self.export_button.setAccessibleName(self.tr("Export the report as a file"))
        self.export_button.setToolTip(self.tr("Save the whole report with its files as one zip file, "
                                              "to hand over by other means"))
        self.message_details.setText(self.tr("Details"))
        self.message_details.setAccessibleName(self.tr("Show the technical details"))
        self.message_close.setToolTip(self.tr("Dismiss"))
        self.message_close.setAccessibleName(self.tr("Dismiss this message"))
        self.conversation.setAccessibleName(self.tr("Conversation"))
        self.rating_box.setTitle(self.tr("Resolved: how did we do?"))
        self.stars.retranslate()
        self.remark_label.setText(self.tr("A re&mark (optional):"))
        self.remark.setAccessibleName(self.tr("Remark about the help"))
        self.remark.setPlaceholderText(self.tr("What was good, what could be better"))
        self.rate_button.setText(self.tr("Send r&ating"))
        self.rate_button.setAccessibleName(self.tr("Send the rating"))
        self.rating_note.setText(self.tr("This helpdesk keeps no ratings: yours goes to the ticket as a comment."))
        self.comment_box.setTitle(self.tr("Add a comment"))
        self.comment_label.setText(self.tr("Anything new? &Write it here; you can attach files too."))
        self.comment.setAccessibleName(self.tr("Your comment"))
        self.comment.setPlaceholderText(self.tr("For example: it happened again this morning"))
        self.files.setAccessibleName(self.tr("Files to attach (Delete removes the chosen one)"))
        self.attach_button.setText(self.tr("A&ttach files…"))
        self.attach_button.setAccessibleName(self.tr("Attach files to the comment"))
        self.send_button.setText(self.tr("&Send comment"))
        self.send_button.setAccessibleName(self.tr("Send the comment"))
        self.send_button.setToolTip(self.tr("Send the comment (Ctrl+Enter)"))
        self.model.retranslate()
        self._update_empty()
        self._update_checked()
        self._render()

    def _update_checked(self) -> None:
        service = service_of(self.ctx)
        when = service.last_checked if service is not None else None
        stamp = _when(when)
        self.checked.setText(self.tr("Checked at %1").replace("%1", QLocale().toString(
            stamp.time(), QLocale.FormatType.ShortFormat)) if stamp else "")

    def _filter_changed(self, index: int) -> None:
        self.proxy.set_show_all(index == 1)
        self._update_empty()

    def _update_empty(self) -> None:
        has_any = bool(self.model.entries)
        shown = self.proxy.rowCount() > 0
        if not has_any:
            self.empty_text.setText(self.tr("You have not reported any problems yet. When you do, you can "
                                            "follow them here."))
        else:
            self.empty_text.setText(self.tr("No open tickets. Choose “All tickets” to see the closed ones."))
        self.empty_button.setVisible(not has_any)
        self.list_stack.setCurrentWidget(self.table if shown else self.empty)
        self.detail_stack.setVisible(shown)  # nothing to choose: the empty list says what to do

    # ------------------------------------------------------------------ loading
    def _guard(self, fn: Callable[[Any], None]) -> Callable[[Any], None]:
        """``fn`` for a worker's callback, doing nothing once this screen is gone (a worker may outlive it)."""
        import shiboken6

        def call(result: Any) -> None:
            if shiboken6.isValid(self):
                fn(result)

        return call

    def activate(self) -> None:
        self.reload()

    def reload(self) -> None:
        """Read the list again (in a worker); the selection stays on the same report."""
        if self._loading:
            self._reload_again = True
            return
        self._loading = True
        submit(load_entries, self.ctx, on_done=self._entries_loaded, on_error=self._load_failed)

    def _entries_loaded(self, entries: list[Entry]) -> None:
        self._loading = False
        current = self.current_number()
        want = self._pending_select if self._pending_select is not None else current
        self.table.selectionModel().blockSignals(True)
        self.model.set_entries(entries)
        self.table.selectionModel().blockSignals(False)
        self._update_empty()
        if self._pending_select is not None and not self.proxy.show_all and any(
                e.id == self._pending_select and not is_open(e) for e in entries):
            self.filter.setCurrentIndex(1)  # the report asked for is closed: show all
        if want is not None and self._select(want):
            self._pending_select = None
        elif self.proxy.rowCount() and self._pending_select is None:
            self._select(int(self.proxy.index(0, 0).data(NUMBER_ROLE)))  # the newest, so the screen is never blank
        elif current is not None:
            self._show_detail(None)
        self.listLoaded.emit()
        if self._reload_again:
            self._reload_again = False
            self.reload()

    def _load_failed(self, failure: Failure) -> None:
        self._loading = False
        self._say(self.tr("Your reports cannot be read right now. Please try again in a moment."),
                  failure.message or failure.details, ok=False)

    def current_number(self) -> int | None:
        index = self.table.currentIndex()
        if not index.isValid() or not self.table.selectionModel().isSelected(index):
            return None
        value = index.data(NUMBER_ROLE)
        return int(value) if value is not None else None

    def _select(self, number: int) -> bool:
        for row in range(self.proxy.rowCount()):
            index = self.proxy.index(row, 0)
            if index.data(NUMBER_ROLE) == number:
                self._selecting = True  # one detail load, below; and no message is cleared by a reload
                try:
                    flags = QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
                    self.table.selectionModel().setCurrentIndex(index, flags)
                finally:
                    self._selecting = False
                self.table.scrollTo(index)
                self._load_detail(number)
                return True
        return False

    def open(self, arg: Any) -> None:
        """Show the report ``arg`` (an incident number: 12, "12" or "DL-000012")."""
        try:
            number = arg if isinstance(arg, int) else parse_incident(str(arg))
        except ValueError:
            log.debug("tickets: %r is not an incident number", arg)
            return
        entry = next((e for e in self.model.entries if e.id == number), None)
        if entry is not None and not is_open(entry):
            self.filter.setCurrentIndex(1)
        if not self._select(number):
            self._pending_select = number
            self.reload()

    def _row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if self._selecting:
            return
        self.message.hide()
        if not current.isValid():
            self._show_detail(None)
            return
        self._load_detail(int(current.data(NUMBER_ROLE)))

    def _load_detail(self, number: int) -> None:
        self._detail_token += 1
        token = self._detail_token
        submit(load_detail, self.ctx, number, on_done=self._guard(lambda detail: self._detail_loaded(token, detail)),
               on_error=self._load_failed)

    def _detail_loaded(self, token: int, detail: Detail) -> None:
        if token != self._detail_token:
            return  # another report was chosen meanwhile
        changed_report = self.detail is None or self.detail.entry.id != detail.entry.id
        if not changed_report and self.detail is not None:  # keep marking what was new when it was opened
            detail.new_replies |= self.detail.new_replies
        self._show_detail(detail)
        if changed_report:
            self.stars.set_value(0)
            self.remark.clear()
        if detail.entry.replies_new:  # shown now, so read: the list drops the bold and the count
            submit(mark_seen, self.ctx, detail.entry.id, on_done=self._guard(lambda _r: self.reload()),
                   on_error=self._load_failed)
        self.detailLoaded.emit()

    def _show_detail(self, detail: Detail | None) -> None:
        if detail is not None and detail.entry.id != self._composer_for:
            # each report keeps its own half-written comment: nothing typed is lost, nor sent to the wrong one
            if self._composer_for is not None:
                self._drafts[self._composer_for] = (self.comment.toPlainText(), list(self._files))
            text, files = self._drafts.pop(detail.entry.id, ("", []))
            self.comment.setPlainText(text)
            self._files = list(files)
            self._show_files()
            self._composer_for = detail.entry.id
        self.detail = detail
        self._render()

    # ------------------------------------------------------------------ showing a report
    def has_rating(self, backend: str) -> bool:
        """Whether the helpdesk keeps ratings (else a rating goes as a comment)."""
        if backend == "local":
            return True
        service = service_of(self.ctx)
        info = service.connector_info(backend) if service is not None else None
        return bool(info and info.has_rating)

    def _render(self) -> None:
        detail = self.detail
        if detail is None:
            self.detail_stack.setCurrentWidget(self.no_selection)
            return
        self.detail_stack.setCurrentWidget(self.detail_panel)
        e = detail.entry
        self.detail_title.setText(e.title)
        self.detail_where.setText(self._where(e))
        sent, failed = e.state == "sent", e.state == "failed"
        waiting = e.state in ("queued", "sending")
        self.retry_button.setVisible(failed or (waiting and bool(e.last_error)))
        self.retry_button.setText(self.tr("Retr&y") if failed else self.tr("Try &now"))
        done = sent and e.status_state in DONE
        self.reopen_button.setVisible(done)
        self.close_button.setVisible(sent and e.status_state not in CLOSED)
        ratings = [f for f in detail.followups if f.kind == "rating" and f.state != "failed"]
        show_rating = sent and e.status_state == "resolved"
        self.rating_box.setVisible(show_rating or bool(ratings and done))
        for widget in (self.stars, self.remark_label, self.remark, self.rate_button):
            widget.setVisible(show_rating and not ratings)
        self.rating_note.setVisible(show_rating and not ratings and not self.has_rating(e.backend))
        self.rated.setVisible(bool(ratings))
        if ratings:
            self.rated.setText(self.tr("You rated the help %1 of 5. Thank you!").replace("%1", str(ratings[-1].score)))
        self.side.setVisible(not failed)  # nothing can be added to a report that was not sent: Retry first
        self._update_comment_button()
        self._update_rating_button()
        for name, button in (("retry", self.retry_button), ("state", self.reopen_button),
                             ("state", self.close_button), ("export", self.export_button),
                             ("rate", self.rate_button)):
            button.setEnabled(name not in self._busy and (name != "rate" or self.stars.value() > 0))
        self.conversation.setHtml(self._conversation_html(detail))

    def _where(self, e: Entry) -> str:
        number = html.escape(e.incident)
        if e.state == "failed":
            text = self.tr("%1 was not sent: %2").replace("%1", number).replace("%2", html.escape(e.failed_reason))
            return f"<span style='color:{self._bad_colour()}'>{text}</span>"
        if e.state in ("queued", "sending"):
            if e.last_error:
                return self.tr("%1 is waiting to be sent: %2. It goes by itself once the connection is back.") \
                    .replace("%1", number).replace("%2", html.escape(e.last_error.removesuffix("; will try again")))
            if e.state == "sending":
                return self.tr("%1 is being sent now.").replace("%1", number)
            return self.tr("%1 is saved and waiting to be sent.").replace("%1", number)
        status = html.escape(status_name(e.status_state)) if e.status_state else self.tr("Sent")
        if e.backend == "local":
            where = self.tr("%1 is saved on this computer (there is no helpdesk connection). Status: %2.")
            return where.replace("%1", number).replace("%2", status)
        ticket = html.escape(f"#{e.ticket_id}" if e.ticket_id.isdigit() else e.ticket_id)
        if e.ticket_url:
            ticket = f"<a href='{html.escape(e.ticket_url, quote=True)}'>{ticket}</a>"
        return self.tr("%1 was sent as ticket %2. Status: %3.").replace("%1", number).replace(
            "%2", ticket).replace("%3", status)

    def _bad_colour(self) -> str:
        return warning_colour().name()

    def _conversation_html(self, detail: Detail) -> str:
        e = detail.entry
        pal = self.palette()
        muted = pal.color(QPalette.ColorRole.PlaceholderText).name()
        mine = pal.color(QPalette.ColorRole.AlternateBase).name()
        base, accent = pal.color(QPalette.ColorRole.Base), pal.color(QPalette.ColorRole.Highlight)
        theirs = QColor(round(base.red() * 0.85 + accent.red() * 0.15),  # a tint of the accent: their words
                        round(base.green() * 0.85 + accent.green() * 0.15),
                        round(base.blue() * 0.85 + accent.blue() * 0.15))
        theirs_css = theirs.name()
        items: list[tuple[float, int, str]] = []

        def block(when: float | None, order: int, who: str, body: str, extra: str = "", bg: str = mine) -> None:
            stamp = html.escape(short_time(when)) if when else ""
            head = f"<b>{html.escape(who)}</b> <span style='color:{muted}'>{stamp}</span>"
            items.append((when or 0.0, order, f"<table width='100%' cellpadding='10' bgcolor='{bg}' "
                                               f"style='margin-bottom:8px'><tr><td>{head}<div style='margin-top:4px'>"
                                               f"{body}</div>{extra}</td></tr></table>"))

        words = html.escape(e.description).replace("\n", "<br>") if e.description.strip() else ""
        files = [p for p in e.parts if p.kind == "file"]
        extra = ""
        if files:
            extra = "<div style='margin-top:6px'>" + "<br>".join(
                f"📎 {html.escape(p.name)} <span style='color:{muted}'>({human_size(p.size)})"
                f"{self._part_state(p.state, p.reason)}</span>" for p in files) + "</div>"
        block(e.created, 0, self.tr("You reported"), f"<b>{html.escape(e.title)}</b>"
              + (f"<br>{words}" if words else ""), extra)
        new_mark = html.escape(self.tr("New"))
        accent_css = pal.color(QPalette.ColorRole.Highlight).name()
        for r in detail.replies:
            new = f" <b style='color:{accent_css}'>{new_mark}</b>" if r.reply_id in detail.new_replies else ""
            who = r.author or self.tr("Helpdesk")
            text = html.escape(r.text).replace("\n", "<br>")
            block(_iso_ts(r.created), 1, who, text + new, bg=theirs_css)
        for f in detail.followups:
            if f.kind == "rating":
                stars = "★" * int(f.score or 0) + "☆" * (5 - int(f.score or 0))
                body = f"<span style='font-size:large'>{stars}</span>"
                if f.text.strip():
                    body += "<br>" + html.escape(f.text).replace("\n", "<br>")
                who = self.tr("Your rating")
            else:
                body = html.escape(f.text).replace("\n", "<br>")
                if f.files:
                    body += "<div style='margin-top:6px'>" + "<br>".join(
                        f"📎 {html.escape(str(name))} <span style='color:{muted}'>"
                        f"({human_size(int(size))})</span>"
                        for name, _media, size, _sha in f.files) + "</div>"
                who = self.tr("Your comment")
            state = self._followup_state(f)
            block(f.created, 2, who, body, f"<div style='margin-top:6px;color:{muted}'>{state}</div>")
        items.sort(key=lambda item: (item[0], item[1]))
        return "".join(chunk for _when, _order, chunk in items)

    def _part_state(self, state: str, reason: str) -> str:
        if state == "refused" or state == "failed":
            return ", " + html.escape(self.tr("not attached: %1").replace("%1", reason))
        if state == "pending":
            return ", " + html.escape(self.tr("waiting to be sent"))
        return ""

    def _followup_state(self, f: FollowUp) -> str:
        if f.state == "sent":
            return html.escape(self.tr("Delivered") + (f" ({f.reason})" if f.reason else ""))
        if f.state == "failed":
            text = html.escape(self.tr("Not delivered: %1").replace("%1", f.reason))
            return f"<span style='color:{self._bad_colour()}'>{text}</span>"
        return html.escape(self.tr("Waiting to be sent"))

    # ------------------------------------------------------------------ composer
    def _clear_composer(self, number: int | None = None) -> None:
        """Empty the comment of report ``number`` (default: the one shown), sent or used."""
        if number is not None and number != self._composer_for:
            self._drafts.pop(number, None)
            return
        self.comment.clear()
        self._files.clear()
        self._show_files()

    def _update_comment_button(self) -> None:
        ok = bool(self.comment.toPlainText().strip() or self._files) and "comment" not in self._busy
        self.send_button.setEnabled(ok)

    def _update_rating_button(self) -> None:
        self.rate_button.setEnabled(self.stars.value() > 0 and "rate" not in self._busy)

    def _choose_files(self) -> None:
        paths, _filter = QFileDialog.getOpenFileNames(self, self.tr("Attach files"), str(Path.home()))
        self.add_files(paths)

    def add_files(self, paths: Sequence[str]) -> None:
        for path in paths:
            if path and path not in self._files:
                self._files.append(path)
        self._show_files()

    def _show_files(self) -> None:
        self.files.clear()
        for path in self._files:
            p = Path(path)
            size = p.stat().st_size if p.exists() else 0
            item = QListWidgetItem(f"{p.name}  ({human_size(size)})")
            item.setToolTip(path)
            self.files.addItem(item)
        self.files.setVisible(bool(self._files))
        self._update_comment_button()

    def eventFilter(self, watched: Any, event: Any) -> bool:  # noqa: N802 - Qt's name
        from PySide6.QtCore import QEvent

        if watched is self.files and event.type() == QEvent.Type.KeyPress and \
                event.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace) and self.files.currentRow() >= 0:
            del self._files[self.files.currentRow()]
            self._show_files()
            return True
        return super().eventFilter(watched, event)

    # ------------------------------------------------------------------ actions
    def refresh(self) -> None:
        """Ask the delivery service to check the tickets now; the list reloads when it has."""
        service = service_of(self.ctx)
        if service is not None and service.running:
            self.checked.setText(self.tr("Checking…"))
            service.refresh_now()
        else:
            self.reload()

    def _run(self, name: str, fn: Callable[..., Any], *args: Any, done: str, failed: str,
             after: Callable[[Any], None] | None = None) -> None:
        """Run an action in a worker; then say how it went and let the service send what was saved."""
        self._busy.add(name)
        self._render()

        def on_done(result: Any) -> None:
            self._busy.discard(name)
            if after is not None:
                after(result)
            self._say(done, "", ok=True)
            self.ctx.deliveryRequested.emit()
            self.reload()
            self.actionFinished.emit(name, True)

        def on_error(failure: Failure) -> None:
            self._busy.discard(name)
            self._say(failed, failure.message or failure.details, ok=False)
            self._render()
            self.actionFinished.emit(name, False)

        submit(fn, self.ctx, *args, on_done=self._guard(on_done), on_error=self._guard(on_error))

    def send_comment(self) -> None:
        if self.detail is None or not self.send_button.isEnabled():
            return
        text, files, number = self.comment.toPlainText().strip(), list(self._files), self.detail.entry.id
        self._run("comment", add_comment, number, text, files,
                  done=self.tr("Your comment is saved and goes to the helpdesk now."),
                  failed=self.tr("Your comment could not be saved. Check that the files can be opened and "
                                 "try again."),
                  after=lambda _fu: self._clear_composer(number))

    def rate(self) -> None:
        if self.detail is None or self.stars.value() < 1:
            return
        self._run("rate", add_rating, self.detail.entry.id, self.stars.value(), self.remark.text().strip(),
                  done=self.tr("Thank you! Your rating goes to the helpdesk now."),
                  failed=self.tr("Your rating could not be saved. Please try again."))

    def retry(self) -> None:
        if self.detail is None:
            return
        self._run("retry", retry, self.detail.entry.id,
                  done=self.tr("The report is sent again now."),
                  failed=self.tr("The report could not be queued again. Please try again in a moment."))

    def reopen(self) -> None:
        if self.detail is None:
            return
        words = self.comment.toPlainText().strip()
        text = self.tr("Please reopen this ticket: the problem is not solved.")
        if words:
            text += "\n\n" + words
        number = self.detail.entry.id
        self._run("state", change_state, number, "open", text,
                  done=self.tr("The helpdesk is asked to look at it again."),
                  failed=self.tr("The ticket could not be reopened. Please try again in a moment."),
                  after=lambda _r: self._state_changed(number, clear=bool(words)))

    def close_ticket(self) -> None:
        if self.detail is None or not self._confirm(
                self.tr("Close the ticket?"),
                self.tr("Close %1 “%2”? Do this when your problem is solved. You can reopen it later.")
                .replace("%1", self.detail.entry.incident).replace("%2", self.detail.entry.title)):
            return
        text = "" if self.detail.entry.backend == "local" else \
            self.tr("My problem is solved; please close this ticket. Thank you!")
        number = self.detail.entry.id
        self._run("state", change_state, number, "closed", text,
                  done=self.tr("The ticket is closed."),
                  failed=self.tr("The ticket could not be closed. Please try again in a moment."),
                  after=lambda _r: self._state_changed(number, clear=False))

    def _state_changed(self, number: int, *, clear: bool) -> None:
        if clear:
            self._clear_composer(number)
        service = service_of(self.ctx)
        if service is not None:
            service.refresh_now([number])  # the new state shows once the ticket is checked (closed ones too)

    def _confirm(self, title: str, text: str) -> bool:
        answer = QMessageBox.question(self, title, text, QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def export(self) -> None:
        if self.detail is None:
            return
        e = self.detail.entry
        path, _filter = QFileDialog.getSaveFileName(self, self.tr("Export the report"),
                                                    str(Path.home() / f"{e.incident}.zip"),
                                                    self.tr("Zip files (*.zip)"))
        if not path:
            return
        self._run("export", export, e.id, path,
                  done=self.tr("The report is saved as %1.").replace("%1", path),
                  failed=self.tr("The report could not be saved there. Choose another folder and try again."))

    # ------------------------------------------------------------------ messages
    def _say(self, text: str, details: str, *, ok: bool) -> None:
        self._last_message = (text, details, ok)
        self.message_text.setText(text)
        self.message_details.setVisible(bool(details))
        colour = self.palette().color(QPalette.ColorRole.Highlight) if ok else warning_colour()
        self.message.setStyleSheet(f"#TicketMessage {{ border: 1px solid {colour.name()}; border-radius: 4px; }}")
        self.message.show()

    def _show_details(self) -> None:
        if self._last_message is None:
            return
        box = QMessageBox(QMessageBox.Icon.Information, self.tr("Details"), self._last_message[0],
                          QMessageBox.StandardButton.Close, self)
        box.setDetailedText(self._last_message[1])
        box.open()


__all__ = ["Detail", "OpenFilter", "StarRating", "TicketsModel", "TicketsPage"]
