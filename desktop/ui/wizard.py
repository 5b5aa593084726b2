"""The report wizard: the screen where the user tells the helpdesk what went wrong.

Four steps in a stack: 1 What happened (the user's words), 2 Attachments (files, screenshots),
3 Review (the review panel of :mod:`desktop.ui.review`), 4 Sent. The system report is collected in a
worker from the moment the screen opens, so it is ready by the time the user has finished writing; a
small line at the bottom shows how far it got on every step. Before the user files a second ticket
about a problem they already reported, the wizard offers to add to the earlier one (:mod:`desktop.similar`).

Only the first step is built with the screen (it must appear at once); the others are built on first
visit. Nothing typed is lost: the draft lives as long as the screen, ``retranslate()`` only re-sets
texts, and only "Report another problem" after sending starts a new draft.
"""

from __future__ import annotations

import html
import importlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QDate, QEvent, QLocale, QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QDragEnterEvent,
    QDragLeaveEvent,
    QDragMoveEvent,
    QDropEvent,
    QImage,
    QKeySequence,
    QPalette,
    QPixmap,
    QShortcut,
)
from PySide6.QtWidgets import (
    QComboBox,
    QDateEdit,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from desktop.delivery import MAX_TITLE, priority_for
from desktop.ui.context import AppContext
from desktop.ui.i18n import human_size
from desktop.ui.main_window import heading
from desktop.ui.workers import Failure, submit

if TYPE_CHECKING:
    from desktop.ui.draft import Collection, Draft

log = logging.getLogger("deskline.ui")

STEPS = 4
# Category keys as the ticket carries them (helpdesks get English), shown translated.
CATEGORIES = ("Hardware", "Software", "Network", "Printing", "Email", "Access & passwords", "Other")
LEVELS = ("low", "medium", "high")
# "When did it start" quick choices: the key and the words the ticket carries ("date" opens a date field).
STARTED = ("", "now", "today", "yesterday", "week", "longer", "date")
_STARTED_WORDS = {"now": "just now", "today": "earlier today", "yesterday": "yesterday", "week": "this week",
                  "longer": "more than a week ago"}
THUMB = QSize(64, 40)


def tone(widget: QWidget, light: str, dark: str) -> str:
    """A warning colour readable on ``widget``'s window colour: ``light`` for a light palette, else ``dark``."""
    return dark if widget.palette().color(QPalette.ColorRole.Window).lightness() < 128 else light


@dataclass(frozen=True)
class Checked:
    """A file the user picked, after looking at it in a worker: its size, or why it cannot be attached."""

    path: Path
    size: int = 0
    problem: str = ""  # "missing", "folder", "unreadable", "empty"


def check_files(paths: list[Path]) -> list[Checked]:
    """Look at each file (disk work: call from a worker): it exists, is a file, can be read."""
    out = []
    for path in paths:
        try:
            if not path.exists():
                out.append(Checked(path, problem="missing"))
                continue
            if path.is_dir():
                out.append(Checked(path, problem="folder"))
                continue
            size = path.stat().st_size
            with path.open("rb") as fh:
                fh.read(1)
        except OSError:
            out.append(Checked(path, problem="unreadable"))
            continue
        out.append(Checked(path, size=size))
    return out


# --------------------------------------------------------------------------------------------- step 1

class WhatPage(QWidget):
    """Step 1: the user's words. A view over the draft's fields; the wizard reads it into the draft."""

    changed = Signal()
    leftText = Signal()  # the title or the description lost focus: time to look for similar reports

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        outer.addWidget(scroll)
        body = QWidget(scroll)
        scroll.setWidget(body)
        form = QFormLayout(body)
        form.setContentsMargins(4, 4, 16, 4)
        form.setHorizontalSpacing(16)
        form.setVerticalSpacing(10)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        self.form = form

        self.title = QLineEdit(body)
        self.title.setObjectName("title")
        self.title_hint = QLabel(body)
        self.title_hint.setObjectName("hint")
        self.description = QPlainTextEdit(body)
        self.description.setObjectName("description")
        self.description.setTabChangesFocus(True)
        self.description.setMinimumHeight(90)
        self.description.setMaximumHeight(130)
        self.category = QComboBox(body)
        self.category.setObjectName("category")
        self.category.addItem("", "")
        for key in CATEGORIES:
            self.category.addItem("", key)
        self.impact = QComboBox(body)
        self.impact.setObjectName("impact")
        self.urgency = QComboBox(body)
        self.urgency.setObjectName("urgency")
        for combo in (self.impact, self.urgency):
            for level in LEVELS:
                combo.addItem("", level)
            combo.setCurrentIndex(1)
        self.priority = QLabel(body)
        self.priority.setObjectName("priority")
        self.priority.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self.priority.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.priority.setWordWrap(True)  # the Russian explanation is longer than the field on a small window
        self.priority.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.priority.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        started_row = QHBoxLayout()
        self.started = QComboBox(body)
        self.started.setObjectName("started")
        for key in STARTED:
            self.started.addItem("", key)
        self.started_date = QDateEdit(body)
        self.started_date.setObjectName("started_date")
        self.started_date.setCalendarPopup(True)
        self.started_date.setDate(QDate.currentDate())
        self.started_date.setMaximumDate(QDate.currentDate())
        self.started_date.setVisible(False)
        started_row.addWidget(self.started)
        started_row.addWidget(self.started_date)
        started_row.addStretch(1)
        self.steps = QPlainTextEdit(body)
        self.steps.setObjectName("steps")
        self.steps.setTabChangesFocus(True)
        self.steps.setMinimumHeight(70)
        self.steps.setMaximumHeight(110)

        self.labels: dict[str, QLabel] = {}
        for key, field in (("title", self.title), ("description", self.description),
                           ("category", self.category), ("impact", self.impact), ("urgency", self.urgency),
                           ("priority", self.priority), ("started", self.started), ("steps", self.steps)):
            label = QLabel(body)
            label.setBuddy(field)
            self.labels[key] = label
            if key == "title":
                box = QVBoxLayout()
                box.setSpacing(2)
                box.addWidget(self.title)
                box.addWidget(self.title_hint)
                form.addRow(label, box)
            elif key == "started":
                form.addRow(label, started_row)
            else:
                form.addRow(label, field)
        for combo in (self.category, self.impact, self.urgency):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
            combo.setMinimumWidth(380)
        self.started.setMinimumWidth(220)

        self.title.textChanged.connect(self.changed)
        self.description.textChanged.connect(self.changed)
        self.steps.textChanged.connect(self.changed)
        self.started_date.dateChanged.connect(self.changed)
        for combo in (self.category, self.impact, self.urgency):
            combo.currentIndexChanged.connect(self.changed)
        self.started.currentIndexChanged.connect(self._started_changed)
        self.title.editingFinished.connect(self.leftText)
        self.description.installEventFilter(self)
        self.setTabOrder(self.title, self.description)
        self.setTabOrder(self.description, self.category)
        self.setTabOrder(self.category, self.impact)
        self.setTabOrder(self.impact, self.urgency)
        self.setTabOrder(self.urgency, self.started)
        self.setTabOrder(self.started, self.started_date)
        self.setTabOrder(self.started_date, self.steps)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if watched is self.description and event.type() == QEvent.Type.FocusOut:
            self.leftText.emit()
        return super().eventFilter(watched, event)

    def _started_changed(self) -> None:
        self.started_date.setVisible(self.started.currentData() == "date")
        self.changed.emit()

    def retranslate(self) -> None:
        texts = {"title": self.tr("&Title:"), "description": self.tr("&What happened:"),
                 "category": self.tr("&Area:"), "impact": self.tr("&How much it affects you:"),
                 "urgency": self.tr("How &urgent it is:"), "priority": self.tr("Priority:"),
                 "started": self.tr("When it &started:"), "steps": self.tr("Steps to &reproduce:")}
        for key, label in self.labels.items():
            label.setText(texts[key])
        self.title.setPlaceholderText(self.tr("In a few words, for example: The printer does not print"))
        self.title.setAccessibleName(self.tr("Title"))
        self.title.setAccessibleDescription(self.tr("Required. A short summary of the problem."))
        self.description.setPlaceholderText(self.tr(
            "What did you try to do, what happened instead, and any message you saw."))
        self.description.setAccessibleName(self.tr("What happened"))
        names = {"Hardware": self.tr("Hardware (computer, screen, keyboard, mouse)"),
                 "Software": self.tr("A program or app"),
                 "Network": self.tr("Network, Wi-Fi or VPN"), "Printing": self.tr("Printing and scanning"),
                 "Email": self.tr("Email and calendar"), "Access & passwords": self.tr("Access and passwords"),
                 "Other": self.tr("Something else")}
        self.category.setItemText(0, self.tr("Not sure"))
        for index in range(1, self.category.count()):
            self.category.setItemText(index, names[self.category.itemData(index)])
        self.category.setAccessibleName(self.tr("Area of the problem"))
        impact = {"low": self.tr("A little: I can work around it"), "medium": self.tr("Some of my work is blocked"),
                  "high": self.tr("I cannot work at all, or many people are affected")}
        urgency = {"low": self.tr("It can wait a few days"), "medium": self.tr("It should be fixed today"),
                   "high": self.tr("I need it now (a deadline or a customer is waiting)")}
        for combo, words in ((self.impact, impact), (self.urgency, urgency)):
            for index in range(combo.count()):
                combo.setItemText(index, words[combo.itemData(index)])
        self.impact.setAccessibleName(self.tr("How much it affects you"))
        self.urgency.setAccessibleName(self.tr("How urgent it is"))
        self.priority.setAccessibleName(self.tr("Priority"))
        started = {"": self.tr("Not sure"), "now": self.tr("Just now"), "today": self.tr("Earlier today"),
                   "yesterday": self.tr("Yesterday"),
                   "week": self.tr("This week"), "longer": self.tr("More than a week ago"),
                   "date": self.tr("On a date...")}
        for index in range(self.started.count()):
            self.started.setItemText(index, started[self.started.itemData(index)])
        self.started.setAccessibleName(self.tr("When it started"))
        self.started_date.setAccessibleName(self.tr("The day it started"))
        self.steps.setPlaceholderText(
            self.tr("Optional. For example:\n1. Open Outlook\n2. Click Send\n3. An error appears"))
        self.steps.setAccessibleName(self.tr("Steps to reproduce (optional)"))

    def started_text(self) -> str:
        key = self.started.currentData()
        if key == "date":
            return self.started_date.date().toString(Qt.DateFormat.ISODate)
        return _STARTED_WORDS.get(key, "")


# --------------------------------------------------------------------------------------------- step 2

class AttachmentRow(QWidget):
    """One attachment in the list: picture or file icon, name, size, and a Remove button."""

    removed = Signal(object)

    def __init__(self, path: Path, size: int, icon: QPixmap, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self.bytes = size
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 4, 8, 4)
        row.setSpacing(10)
        self.icon = QLabel(self)
        self.icon.setFixedSize(THUMB)
        self.icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.icon.setPixmap(icon)
        self.name = QLabel(path.name, self)
        self.name.setToolTip(str(path))
        self.size = QLabel(human_size(size), self)
        self.size.setObjectName("hint")
        self.remove = QToolButton(self)
        self.remove.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_DialogDiscardButton))
        self.remove.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.remove.clicked.connect(lambda: self.removed.emit(self.path))
        row.addWidget(self.icon)
        row.addWidget(self.name, 1)
        row.addWidget(self.size)
        row.addWidget(self.remove)
        self.retranslate()

    def retranslate(self) -> None:
        self.size.setText(human_size(self.bytes))  # the language decides "2.4 MB" or "2,4 МБ"
        self.remove.setText(self.tr("Remove"))
        self.remove.setAccessibleName(self.tr("Remove %1").replace("%1", self.path.name))


class AttachmentsPage(QWidget):
    """Step 2: drop zone, Add files, Take a screenshot, the list with sizes, the total."""

    filesDropped = Signal(list)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(10)
        self.drop = QFrame(self)
        self.drop.setObjectName("DropZone")
        self.drop.setStyleSheet("#DropZone { border: 2px dashed palette(placeholder-text); border-radius: 8px; }"
                                "#DropZone[active=\"true\"] { border-color: palette(highlight); }")
        zone = QVBoxLayout(self.drop)
        zone.setContentsMargins(16, 18, 16, 18)
        zone.setSpacing(10)
        self.drop_text = QLabel(self.drop)
        self.drop_text.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.drop_text.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.add_button = QPushButton(self.drop)
        self.add_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_DirOpenIcon))
        self.shot_button = QPushButton(self.drop)
        self.shot_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_DesktopIcon))
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.shot_button)
        buttons.addStretch(1)
        zone.addWidget(self.drop_text)
        zone.addLayout(buttons)
        layout.addWidget(self.drop)
        self.message = QLabel(self)
        self.message.setObjectName("error")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.hide()
        layout.addWidget(self.message)
        self.list = QListWidget(self)
        self.list.setObjectName("attachments")
        self.list.setSelectionMode(QListWidget.SelectionMode.NoSelection)
        self.list.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        layout.addWidget(self.list, 1)
        self.empty = QLabel(self)
        self.empty.setObjectName("hint")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(self.empty)
        self.total = QLabel(self)
        self.total.setObjectName("total")
        layout.addWidget(self.total)
        self.rows: dict[Path, AttachmentRow] = {}

    def retranslate(self) -> None:
        self.drop_text.setText(self.tr("Drag files here: documents, photos of an error, log files. "
                                       "Or add them with the buttons."))
        self.add_button.setText(self.tr("&Add files..."))
        self.add_button.setAccessibleName(self.tr("Add files"))
        self.shot_button.setText(self.tr("Take a &screenshot"))
        self.shot_button.setAccessibleName(self.tr("Take a screenshot"))
        self.shot_button.setToolTip(self.tr("Deskline hides itself, takes a picture of your screen, and lets "
                                            "you black out private parts before attaching it."))
        self.list.setAccessibleName(self.tr("Attached files"))
        self.empty.setText(self.tr("Nothing attached yet. Attachments are optional."))
        for row in self.rows.values():
            row.retranslate()

    def add_row(self, path: Path, size: int, icon: QPixmap) -> AttachmentRow:
        row = AttachmentRow(path, size, icon, self.list)
        item = QListWidgetItem(self.list)
        item.setData(Qt.ItemDataRole.UserRole, str(path))
        item.setSizeHint(QSize(200, max(row.sizeHint().height(), THUMB.height() + 10)))
        self.list.setItemWidget(item, row)
        self.rows[path] = row
        return row

    def remove_row(self, path: Path) -> None:
        self.rows.pop(path, None)
        for index in range(self.list.count()):
            if self.list.item(index).data(Qt.ItemDataRole.UserRole) == str(path):
                self.list.takeItem(index)
                break

    def _highlight(self, on: bool) -> None:
        self.drop.setProperty("active", on)
        self.drop.style().unpolish(self.drop)
        self.drop.style().polish(self.drop)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt's name
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()
            self._highlight(True)
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802 - Qt's name
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dragLeaveEvent(self, event: QDragLeaveEvent) -> None:  # noqa: N802 - Qt's name
        self._highlight(False)

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt's name
        self._highlight(False)
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.filesDropped.emit(paths)


# --------------------------------------------------------------------------------------------- the wizard

class ReportWizard(QWidget):
    """The "Report a problem" screen (page key ``report``)."""

    # The draft changed step: 0 What happened ... 3 Sent (tests and the tour wait on it).
    stepChanged = Signal(int)
    # The background collection finished (True) or failed (False).
    collectionFinished = Signal(bool)
    # A similar-report lookup finished; the match (desktop.similar.Match) or None.
    similarChecked = Signal(object)
    # Files were looked at and the list updated.
    attachmentsChanged = Signal()

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        # The draft (desktop.ui.draft, which imports the diagnostics engine) is made on first use, after
        # the first page is on the screen.
        self._draft: Draft | None = None
        self._draft_no = 0  # which draft a worker's result belongs to (a new draft ignores old results)
        self._collecting = False
        self._collect_progress = (0, 0)
        self._collect_failure: Failure | None = None
        self._similar_key: tuple[str, str] | None = None  # the words the last lookup was for
        self._similar_running = False
        self._similar_then_next = False
        self._match: Any = None  # desktop.similar.Match offered, if any
        self._answered: set[int] = set()  # incident numbers the user said are a different problem
        self._pending_finding: str = ""
        self._screenshot_dir: Path | None = None
        self._sizes: dict[Path, int] = {}  # bytes of each attachment, as the worker found them
        self.editor: QWidget | None = None  # the blackout editor while it is open
        self._capture: Any = None
        self.review: QWidget | None = None
        self.sent: QWidget | None = None

        layout = QVBoxLayout(self)
        layout.setContentsMargins(28, 22, 28, 16)
        layout.setSpacing(10)
        self.heading = heading("", self)
        layout.addWidget(self.heading)
        self.indicator = QLabel(self)
        self.indicator.setObjectName("StepIndicator")
        self.indicator.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.indicator)
        self.intro = QLabel(self)
        self.intro.setWordWrap(True)
        layout.addWidget(self.intro)

        self.offer = QFrame(self)
        self.offer.setObjectName("SimilarOffer")
        self.offer.setFrameShape(QFrame.Shape.StyledPanel)
        self.offer.setStyleSheet("#SimilarOffer { border: 1px solid palette(highlight); border-radius: 6px; }")
        offer_row = QHBoxLayout(self.offer)
        offer_row.setContentsMargins(12, 8, 12, 8)
        self.offer_text = QLabel(self.offer)
        self.offer_text.setWordWrap(True)
        self.offer_text.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.offer_add = QPushButton(self.offer)
        self.offer_new = QPushButton(self.offer)
        self.offer_undo = QPushButton(self.offer)
        offer_row.addWidget(self.offer_text, 1)
        offer_row.addWidget(self.offer_add)
        offer_row.addWidget(self.offer_new)
        offer_row.addWidget(self.offer_undo)
        self.offer_add.clicked.connect(self._add_to_similar)
        self.offer_new.clicked.connect(self._new_problem)
        self.offer_undo.clicked.connect(self._undo_add_to)
        self.offer.hide()
        layout.addWidget(self.offer)

        self.stack = QStackedWidget(self)
        layout.addWidget(self.stack, 1)
        self.what = WhatPage(self.stack)
        self.stack.addWidget(self.what)
        # Steps 2-4 are placeholders until first shown (the first page must appear at once).
        self._slots: list[QWidget] = [self.what]
        for _ in range(STEPS - 1):
            slot = QWidget(self.stack)
            QVBoxLayout(slot).setContentsMargins(0, 0, 0, 0)
            self.stack.addWidget(slot)
            self._slots.append(slot)
        self.attachments: AttachmentsPage | None = None
        self.review_holder: QStackedWidget | None = None
        self.review_wait: QLabel | None = None

        # bottom: why Next is disabled (when it is); then the collection's progress, seen on every step,
        # and Back and Next
        self.reason = QLabel(self)
        self.reason.setObjectName("reason")
        self.reason.setWordWrap(True)
        self.reason.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        layout.addWidget(self.reason)
        bottom = QHBoxLayout()
        bottom.setSpacing(8)
        self.progress_bar = QProgressBar(self)
        self.progress_bar.setFixedWidth(80)
        self.progress_bar.setMaximumHeight(8)
        self.progress_bar.setTextVisible(False)
        self.progress_text = QLabel(self)
        self.progress_text.setObjectName("hint")
        self.retry_button = QPushButton(self)
        self.details_button = QPushButton(self)
        self.retry_button.clicked.connect(self.retry_collection)
        self.details_button.clicked.connect(self._show_failure_details)
        self.retry_button.hide()
        self.details_button.hide()
        bottom.addWidget(self.progress_bar)
        bottom.addWidget(self.progress_text)
        bottom.addWidget(self.retry_button)
        bottom.addWidget(self.details_button)
        bottom.addStretch(1)
        self.back_button = QPushButton(self)
        self.next_button = QPushButton(self)
        self.next_button.setDefault(True)
        self.back_button.clicked.connect(self.back)
        self.next_button.clicked.connect(self.next)
        bottom.addWidget(self.back_button)
        bottom.addWidget(self.next_button)
        layout.addLayout(bottom)

        self.what.changed.connect(self._words_changed)
        self.what.leftText.connect(self.check_similar)
        self.what.title.returnPressed.connect(self.next)
        for keys in ("Ctrl+Return", "Ctrl+Enter"):  # Next (or Send) from anywhere on the page
            shortcut = QShortcut(QKeySequence(keys), self)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(self.next)
        self.setStyleSheet("#hint { color: palette(placeholder-text); }")
        self.retranslate()
        self._show_step(0)

    @property
    def draft(self) -> Draft:
        """The report being written (a new one after "Report another problem")."""
        if self._draft is None:
            from desktop.ui.draft import Draft

            self._draft = Draft()
        return self._draft

    def _alive(self, fn: Callable[..., None]) -> Callable[..., None]:
        """``fn`` for a worker's callback, skipped once this screen is gone (a result may arrive late)."""

        def call(*args: Any) -> None:
            if isValid(self):
                fn(*args)

        return call

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt's name
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:  # the desktop switched between light and dark
            self._update_step_texts()
            self._update_priority()

    # ------------------------------------------------------------------------------------- texts
    def retranslate(self) -> None:
        self.heading.setText(self.tr("Report a problem"))
        self.heading.setAccessibleName(self.heading.text())
        self.what.retranslate()
        if self.attachments is not None:
            self.attachments.retranslate()
            self._update_total()
        if self.review is not None and hasattr(self.review, "retranslate"):
            self.review.retranslate()
        if self.sent is not None and hasattr(self.sent, "retranslate"):
            self.sent.retranslate()
        self.back_button.setText(self.tr("&Back"))
        self.back_button.setAccessibleName(self.tr("Back to the previous step"))
        self.retry_button.setText(self.tr("Try again"))
        self.retry_button.setAccessibleName(self.tr("Collect the system information again"))
        self.details_button.setText(self.tr("Details"))
        self.details_button.setAccessibleName(self.tr("Show the technical details"))
        self.progress_bar.setAccessibleName(self.tr("Collecting system information"))
        self.offer_add.setText(self.tr("A&dd to it"))
        self.offer_add.setAccessibleName(self.tr("Add this to the earlier report"))
        self.offer_new.setText(self.tr("It is a &new problem"))
        self.offer_new.setAccessibleName(self.tr("It is a new problem"))
        self.offer_undo.setText(self.tr("Make it a new report"))
        self.offer_undo.setAccessibleName(self.tr("Make it a new report instead"))
        self._update_offer()
        self._update_progress()
        self._update_priority()
        self._update_step_texts()

    def _step_names(self) -> list[str]:
        return [self.tr("What happened"), self.tr("Attachments"), self.tr("Review"), self.tr("Sent")]

    def _update_step_texts(self) -> None:
        step = self.step()
        names = self._step_names()
        later = self.palette().color(QPalette.ColorRole.PlaceholderText).name()
        parts = []
        for index, name in enumerate(names):
            text = f"{index + 1}&nbsp;{name}"
            parts.append(f"<b>{text}</b>" if index == step else f"<span style='color: {later}'>{text}</span>"
                         if index > step else text)
        self.indicator.setText("&nbsp;&nbsp;&rsaquo;&nbsp;&nbsp;".join(parts))
        self.indicator.setAccessibleName(self.tr("Step %1 of %2: %3").replace("%1", str(step + 1))
                                         .replace("%2", str(STEPS)).replace("%3", names[step]))
        intro = [self.tr("Tell us what went wrong, in your own words. Only the title is required."),
                 self.tr("Add anything that helps to see the problem: a screenshot, a document, a photo of an "
                         "error message."),
                 "", ""]  # the review and sent panels explain themselves
        self.intro.setText(intro[step])
        self.intro.setVisible(bool(intro[step]))
        self._update_next_text()
        self._validate()

    def _update_next_text(self) -> None:
        step = self.step()
        # IT policy may let this report go without review: then the step before it sends, and says so
        sends = step == 2 or (step == 1 and not self._review_needed())
        self.next_button.setText(self.tr("&Send report") if sends else self.tr("&Next"))
        self.next_button.setAccessibleName(self.tr("Send the report") if sends else self.tr("Next step"))

    def _review_needed(self) -> bool:
        """Whether this draft must be reviewed before it leaves (False when policy report.review_skip
        names every kind of item in it; the review module decides, as the review panel does)."""
        if not self.ctx.settings["report.review_skip"]:
            return True
        try:
            needed = importlib.import_module("desktop.ui.review").review_needed
        except (ImportError, AttributeError):
            return True
        return bool(needed(self.draft, self.ctx.settings))

    # ------------------------------------------------------------------------------------- page protocol
    def activate(self) -> None:
        # Started from the event loop, just after this page's first paint: the page appears at once
        # and the probes (which share the interpreter with the GUI thread) start a moment later.
        QTimer.singleShot(0, self._alive(self.start_collection))

    def open(self, arg: Any) -> None:
        """Navigated with an argument: ``{"title": str, "finding": id or Finding, "description": str}``."""
        if self.step() == 3:
            self.new_report()
        if not isinstance(arg, dict):
            return
        title = str(arg.get("title") or "")
        if title and not self.what.title.text().strip():
            self.what.title.setText(title[:MAX_TITLE])
        description = str(arg.get("description") or "")
        finding = arg.get("finding")
        if finding is not None and not description:
            description = self._finding_text(finding)
            if not description and isinstance(finding, str):
                self._pending_finding = finding  # filled in when the collection finds it
        if description and not self.what.description.toPlainText().strip():
            self.what.description.setPlainText(description)
        self._show_step(0)
        QTimer.singleShot(0, self._alive(self.start_collection))

    def _finding_text(self, finding: Any) -> str:
        found = finding
        if isinstance(finding, str):
            found = None
            if self.draft.collection is not None:
                found = next((f for f in self.draft.collection.found if f.id == finding), None)
        if found is None or not hasattr(found, "detail"):
            return ""
        from desktop.ui.finding_texts import texts

        _title, detail, _next_step = texts(found)
        return detail

    # ------------------------------------------------------------------------------------- steps
    def step(self) -> int:
        return self.stack.currentIndex()

    def _show_step(self, step: int) -> None:
        if step == 1:
            self._ensure_attachments()
        elif step == 2:
            self._ensure_review()
            self.start_collection()  # normally running since the screen opened
        elif step == 3:
            self._ensure_sent()
        self.stack.setCurrentIndex(step)
        self.offer.setVisible(step == 0 and self._offer_visible())
        self.back_button.setVisible(step < 3)
        self.next_button.setVisible(step < 3)
        self.back_button.setEnabled(0 < step < 3)
        self._update_step_texts()
        if step == 0:
            self.what.title.setFocus()
        elif step == 1 and self.attachments is not None:
            self.attachments.add_button.setFocus()
        elif step == 2:
            self._review_shown()
        self.stepChanged.emit(step)

    def back(self) -> None:
        if 0 < self.step() < 3:
            self._show_step(self.step() - 1)

    def next(self) -> None:
        step = self.step()
        if not self.next_button.isEnabled() or step >= 3:
            return
        self._read_words()
        if step == 0:
            if self.draft.add_to is None and self._similar_key != self._words_key():
                # look for a similar report of the user's first; the answer moves on (or offers it)
                self._similar_then_next = True
                self.check_similar()
                if self._similar_running:
                    return
                self._similar_then_next = False
            if self._offer_pending():
                self.offer.show()
                self.offer_add.setFocus()
                return
            self._show_step(1)
        elif step == 1:
            self._show_step(2)
        elif step == 2:
            self._send()

    def validation_problem(self) -> str:
        """Why Next is disabled on this step, in the user's words ("" when it is not)."""
        step = self.step()
        if step == 0:
            title = " ".join(self.what.title.text().split())
            if not title:
                return self.tr("Give the problem a short title to continue.")
            if len(title) > MAX_TITLE:
                return self.tr("The title is too long: %1 of %2 characters. Move the rest into the description.") \
                    .replace("%1", str(len(title))).replace("%2", str(MAX_TITLE))
        if step == 2:
            if self.review is None:
                return self.tr("The review screen is not available.")
            if self._collect_failure is not None:
                return self.tr("Press Try again to collect the system information.")
            if self.draft.collection is None:
                return self.tr("Waiting for the information about your computer...")
            if getattr(self.review, "sending", False):
                return self.tr("Saving your report...")
        return ""

    def _validate(self) -> None:
        problem = self.validation_problem()
        self.next_button.setEnabled(not problem)
        self.reason.setText(problem)
        self.reason.setVisible(bool(problem))
        self.next_button.setToolTip(problem or QKeySequence("Ctrl+Return").toString(
            QKeySequence.SequenceFormat.NativeText))
        title = self.what.title.text()
        if len(title) > MAX_TITLE * 0.8:
            self.what.title_hint.setText(self.tr("%1 of %2 characters").replace("%1", str(len(title)))
                                         .replace("%2", str(MAX_TITLE)))
            self.what.title_hint.show()
        else:
            self.what.title_hint.hide()

    def _words_changed(self) -> None:
        self._read_words()
        self._update_priority()
        self._validate()

    def _read_words(self) -> None:
        w, d = self.what, self.draft
        d.title = " ".join(w.title.text().split())
        d.description = w.description.toPlainText()
        d.category = w.category.currentData() or ""
        d.impact = w.impact.currentData()
        d.urgency = w.urgency.currentData()
        d.started = w.started_text()
        d.steps = w.steps.toPlainText()

    def _update_priority(self) -> None:
        names = {"low": self.tr("Low"), "normal": self.tr("Normal"), "high": self.tr("High"),
                 "urgent": self.tr("Urgent")}
        explain = {"low": self.tr("the helpdesk handles it in turn"),
                   "normal": self.tr("the helpdesk handles it in turn, usually within a working day"),
                   "high": self.tr("the helpdesk looks at it before normal requests"),
                   "urgent": self.tr("the helpdesk looks at it first")}
        priority = priority_for(self.what.impact.currentData(), self.what.urgency.currentData())
        colour = {"urgent": tone(self, "#c62828", "#ff8a80"),
                  "high": tone(self, "#e65100", "#ffb74d")}.get(priority, "")
        name = f"<b style='color: {colour}'>{names[priority]}</b>" if colour else f"<b>{names[priority]}</b>"
        self.what.priority.setText(self.tr("%1: %2").replace("%1", name).replace("%2", explain[priority]))
        self.what.priority.setAccessibleDescription(f"{names[priority]}: {explain[priority]}")

    # ------------------------------------------------------------------------------------- collection
    def start_collection(self) -> None:
        """Collect the system report for this draft in a worker (once per draft)."""
        if self._collecting or self.draft.collection is not None or self._collect_failure is not None:
            return
        self._collecting = True
        self._collect_progress = (0, 0)
        self._update_progress()
        number = self._draft_no
        from desktop.ui import draft as draft_mod

        submit(draft_mod.collect, self.ctx.settings,
               on_done=self._alive(lambda result: self._collected(number, result)),
               on_error=self._alive(lambda failure: self._collect_failed(number, failure)),
               on_progress=self._alive(lambda done, total, _text: self._collect_step(number, done, total)))

    def retry_collection(self) -> None:
        self._collect_failure = None
        self.start_collection()
        self._validate()
        if self.step() == 2:
            self._review_shown()

    def collecting(self) -> bool:
        return self._collecting

    def _collect_step(self, number: int, done: int, total: int) -> None:
        if number == self._draft_no:
            self._collect_progress = (done, total)
            self._update_progress()
            if self.step() == 2 and self.review is not None and hasattr(self.review, "set_collection_progress"):
                self.review.set_collection_progress(done, total)

    def _collected(self, number: int, result: Collection) -> None:
        if number != self._draft_no:
            return
        self._collecting = False
        self.draft.collection = result
        if self._pending_finding:
            text = self._finding_text(self._pending_finding)
            if text and not self.what.description.toPlainText().strip():
                self.what.description.setPlainText(text)
            self._pending_finding = ""
        self._update_progress()
        self._validate()
        if self.step() == 2:
            self._review_shown()
        self.collectionFinished.emit(True)

    def _collect_failed(self, number: int, failure: Failure) -> None:
        if number != self._draft_no:
            return
        self._collecting = False
        self._collect_failure = failure
        self._update_progress()
        self._validate()
        if self.step() == 2:
            self._review_shown()
        self.collectionFinished.emit(False)

    def _update_progress(self) -> None:
        done, total = self._collect_progress
        failed = self._collect_failure is not None
        ready = self._draft is not None and self._draft.collection is not None
        self.retry_button.setVisible(failed)
        self.details_button.setVisible(failed)
        self.progress_bar.setVisible(self._collecting)
        self.progress_text.setToolTip(self.tr("You can still write your report.") if failed else "")
        if failed:
            text = self.tr("The system information could not be collected.")
        elif ready:
            text = self.tr("System information collected.")
        elif self._collecting and total:
            text = self.tr("Collecting system information... %1 of %2").replace("%1", str(done)) \
                .replace("%2", str(total))
            self.progress_bar.setRange(0, total)
            self.progress_bar.setValue(done)
        elif self._collecting:
            text = self.tr("Collecting system information...")
            self.progress_bar.setRange(0, 0)
        else:
            text = ""
        self.progress_text.setText(text)
        self.progress_text.setAccessibleName(text)
        if self.review_wait is not None:
            self._update_review_wait()

    def _show_failure_details(self) -> None:
        failure = self._collect_failure
        if failure is None:
            return
        box = QMessageBox(QMessageBox.Icon.Warning, self.tr("System information"),
                          self.tr("The system information could not be collected."), QMessageBox.StandardButton.Close,
                          self)
        if failure.message:
            box.setInformativeText(failure.message)
        box.setDetailedText(failure.details)
        box.open()

    # ------------------------------------------------------------------------------------- similar reports
    def _words_key(self) -> tuple[str, str]:
        return (" ".join(self.what.title.text().split()), self.what.description.toPlainText().strip())

    def check_similar(self) -> None:
        """Look (in a worker) for an open or recent report of this user like the one being written."""
        key = self._words_key()
        if self._similar_running or self.draft.add_to is not None or key == self._similar_key:
            return
        if not self.isVisible():  # focus lost because the screen was left or closed: nobody to offer it to
            return
        if not key[0] and not key[1]:
            return
        self._similar_running = True
        number = self._draft_no
        exclude = tuple(self._answered)
        submit(_find_similar, self.ctx, key[0], key[1], exclude,
               on_done=self._alive(lambda match: self._similar_done(number, key, match)),
               on_error=self._alive(lambda failure: self._similar_failed(number, key, failure)))

    def _similar_done(self, number: int, key: tuple[str, str], match: Any) -> None:
        self._similar_running = False
        if number != self._draft_no:
            return
        self._similar_key = key
        if self.draft.add_to is None:
            self._match = match
        self._update_offer()
        self.offer.setVisible(self.step() == 0 and self._offer_visible())
        self.similarChecked.emit(match)
        if key != self._words_key():
            self.check_similar()  # the user typed on meanwhile
            return
        if self._similar_then_next:
            self._similar_then_next = False
            if self._offer_pending():
                self.offer_add.setFocus()
            elif self.step() == 0:
                self._show_step(1)

    def _similar_failed(self, number: int, key: tuple[str, str], failure: Failure) -> None:
        # Not finding earlier reports must never stop a new one: note it and carry on.
        last_line = (failure.details.strip().splitlines() or [""])[-1]
        log.info("looking for similar reports failed: %s", failure.message or last_line)
        self._similar_done(number, key, None)

    def _offer_pending(self) -> bool:
        return self._match is not None and self.draft.add_to is None and self._match.number not in self._answered

    def _offer_visible(self) -> bool:
        return self._match is not None and (self._offer_pending() or self.draft.add_to is not None)

    def _update_offer(self) -> None:
        match = self._match
        if match is None:
            return
        label = match.entry.incident
        title = html.escape(match.entry.title)
        # the long date without the weekday: "22 November 2026", "22 ноября 2026 г."
        long_format = QLocale().dateFormat(QLocale.FormatType.LongFormat)
        when = QLocale().toString(match.reported.date(), long_format.replace("dddd, ", "").replace("dddd ", ""))
        if self.draft.add_to is not None:
            text = self.tr("This will be added to your earlier report %1: %2.").replace("%1", label) \
                .replace("%2", f"<b>{title}</b>")
        elif match.entry.status_state in ("resolved", "closed"):
            text = self.tr("You reported something similar on %1: %2 (%3). It was closed recently. Add this to "
                           "it instead, so the helpdesk sees the problem came back?") \
                .replace("%1", when).replace("%2", f"<b>{title}</b>").replace("%3", label)
        else:
            text = self.tr("You reported something similar on %1: %2 (%3). Add this to it instead?") \
                .replace("%1", when).replace("%2", f"<b>{title}</b>").replace("%3", label)
        self.offer_text.setText(text)
        self.offer.setAccessibleName(self.offer_text.text().replace("<b>", "").replace("</b>", ""))
        adding = self.draft.add_to is not None
        self.offer_add.setVisible(not adding)
        self.offer_new.setVisible(not adding)
        self.offer_undo.setVisible(adding)

    def _add_to_similar(self) -> None:
        if self._match is None:
            return
        self.draft.add_to = self._match.number
        self._update_offer()
        self.offer_undo.setFocus()

    def _new_problem(self) -> None:
        if self._match is not None:
            self._answered.add(self._match.number)
        self.draft.add_to = None
        self.offer.hide()
        self.what.title.setFocus()

    def _undo_add_to(self) -> None:
        self._new_problem()

    # ------------------------------------------------------------------------------------- attachments
    def _ensure_attachments(self) -> AttachmentsPage:
        if self.attachments is None:
            page = AttachmentsPage(self._slots[1])
            self._slots[1].layout().addWidget(page)
            page.add_button.clicked.connect(self.choose_files)
            page.shot_button.clicked.connect(self.take_screenshot)
            page.filesDropped.connect(self.add_files)
            self.attachments = page
            page.retranslate()
            self._update_total()
        return self.attachments

    def choose_files(self) -> None:
        dialog = QFileDialog(self, self.tr("Add files to the report"), str(Path.home()))
        dialog.setFileMode(QFileDialog.FileMode.ExistingFiles)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.filesSelected.connect(lambda names: self.add_files([Path(n) for n in names]))
        dialog.open()

    def add_files(self, paths: list[Path]) -> None:
        """Attach these files once a worker has looked at them (sizes; missing and unreadable refused)."""
        self._ensure_attachments()
        known = set(self.draft.files) | set(self.draft.screenshots)
        fresh = [Path(p) for p in paths if Path(p) not in known]
        if not fresh:
            self.attachmentsChanged.emit()
            return
        number = self._draft_no
        submit(check_files, fresh, on_done=self._alive(lambda checked: self._files_checked(number, checked)),
               on_error=self._alive(lambda failure: self._files_failed(number, failure)))

    def _files_checked(self, number: int, checked: list[Checked]) -> None:
        if number != self._draft_no:
            return
        page = self._ensure_attachments()
        problems = []
        icon = self.style().standardIcon(QStyle.StandardPixmap.SP_FileIcon).pixmap(32, 32)
        for item in checked:
            if item.problem:
                problems.append(self._problem_text(item))
                continue
            if item.path in self.draft.files:
                continue
            self.draft.files.append(item.path)
            self._sizes[item.path] = item.size
            row = page.add_row(item.path, item.size, icon)
            row.removed.connect(self.remove_file)
        self._show_message("\n".join(problems))
        self._update_total()
        self.attachmentsChanged.emit()

    def _files_failed(self, number: int, failure: Failure) -> None:
        if number == self._draft_no:
            self._show_message(self.tr("The files could not be added. %1").replace("%1", failure.message))
            self.attachmentsChanged.emit()

    def _problem_text(self, item: Checked) -> str:
        texts = {
            "missing": self.tr("“%1” was not added: the file no longer exists. Check where it is and add it again."),
            "folder": self.tr("“%1” was not added: it is a folder. Add the files inside it instead."),
            "unreadable": self.tr("“%1” was not added: Deskline may not read it. Copy it somewhere you can open "
                                  "it, such as Documents, and add the copy."),
        }
        return texts[item.problem].replace("%1", item.path.name or str(item.path))

    def _show_message(self, text: str) -> None:
        page = self._ensure_attachments()
        page.message.setStyleSheet(f"#error {{ color: {tone(self, '#c62828', '#ff8a80')}; }}")
        page.message.setText(text)
        page.message.setVisible(bool(text))

    def remove_file(self, path: Path) -> None:
        if path in self.draft.files:
            self.draft.files.remove(path)
        if path in self.draft.screenshots:
            self.draft.screenshots.remove(path)
        self._sizes.pop(path, None)
        if self.attachments is not None:
            self.attachments.remove_row(path)
            self.attachments.add_button.setFocus()  # the pressed Remove button is gone with its row
        self._update_total()
        self.attachmentsChanged.emit()

    def _update_total(self) -> None:
        page = self.attachments
        if page is None:
            return
        count = len(self.draft.files) + len(self.draft.screenshots)
        total = sum(self._sizes.get(p, 0) for p in [*self.draft.files, *self.draft.screenshots])
        page.empty.setVisible(count == 0)
        page.list.setVisible(count > 0)
        page.total.setVisible(count > 0)
        # English has no plural table of its own here, so its singular is a string of its own
        text = (self.tr("1 attachment, %1 in total") if count == 1
                else self.tr("%n attachments, %1 in total", "", count))
        page.total.setText(text.replace("%1", human_size(total)))
        self._update_next_text()  # attachments may need a review the rest of the report does not

    # ------------------------------------------------------------------------------------- screenshots
    def take_screenshot(self) -> None:
        from desktop.ui.screenshot import ScreenCapture

        if self._capture is None:
            self._capture = ScreenCapture(self)
            self._capture.captured.connect(self.edit_screenshot)
            self._capture.failed.connect(self._show_message)
        self._show_message("")
        self._capture.start()

    def edit_screenshot(self, image: QImage) -> None:
        """Open the blackout editor on ``image``; attach what it returns."""
        from desktop.ui.screenshot import BlackoutEditor

        editor = BlackoutEditor(image, self)
        editor.accepted.connect(lambda: self.attach_image(editor.result_image()))
        editor.finished.connect(editor.deleteLater)
        editor.open()
        self.editor = editor

    def attach_image(self, image: QImage) -> None:
        """Save a (blacked-out) screenshot as PNG in a worker and list it."""
        from desktop.ui import screenshot

        number = self._draft_no
        submit(_save_screenshot, image, self._screenshot_dir, screenshot,
               on_done=self._alive(lambda result: self._screenshot_saved(number, result)),
               on_error=self._alive(lambda failure: self._show_message(
                   self.tr("The screenshot could not be saved. %1").replace("%1", failure.message))))

    def _screenshot_saved(self, number: int, result: tuple[Path, int, QImage]) -> None:
        if number != self._draft_no:
            return
        path, size, thumb = result
        self._screenshot_dir = path.parent
        page = self._ensure_attachments()
        self.draft.screenshots.append(path)
        self._sizes[path] = size
        row = page.add_row(path, size, QPixmap.fromImage(thumb))
        row.name.setText(self.tr("Screenshot %1").replace("%1", str(len(self.draft.screenshots))))
        row.removed.connect(self.remove_file)
        self._update_total()
        self.attachmentsChanged.emit()

    # ------------------------------------------------------------------------------------- review and sent
    def _ensure_review(self) -> None:
        if self.review_holder is not None:
            return
        slot = self._slots[2]
        self.review_holder = QStackedWidget(slot)
        slot.layout().addWidget(self.review_holder)
        self.review_wait = QLabel(self.review_holder)
        self.review_wait.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.review_wait.setWordWrap(True)
        self.review_holder.addWidget(self.review_wait)
        try:
            module = importlib.import_module("desktop.ui.review")
            self.review = module.ReviewPanel(self.ctx, self.review_holder)
        except (ImportError, AttributeError):
            log.info("the review screen is not available", exc_info=True)
            self.review = None
        if self.review is not None:
            self.review_holder.addWidget(self.review)
            if hasattr(self.review, "sendableChanged"):
                self.review.sendableChanged.connect(lambda _ok: self._validate())
            self.review.filed.connect(self._filed)
            self.review.failed.connect(self._send_failed)
        self._update_review_wait()

    def _update_review_wait(self) -> None:
        if self.review_wait is None:
            return
        if self._collect_failure is not None:
            text = self.tr("The information about your computer could not be collected, so the report cannot be "
                           "sent yet. Press Try again below; if it keeps failing, call your helpdesk.")
        elif self.review is None:
            text = self.tr("The review screen is not available.")
        else:
            text = ""
        self.review_wait.setText(text)

    def _review_shown(self) -> None:
        """On the review step: the panel with the draft (its own "still collecting" line until the
        collection is there; it is given the draft again when it is), or why it cannot be shown."""
        if self.review_holder is None:
            return
        self._update_review_wait()
        if self.review is None or self._collect_failure is not None:
            self.review_holder.setCurrentWidget(self.review_wait)
            return
        self._read_words()
        self.review.set_draft(self.draft)
        if self.draft.collection is None:
            done, total = self._collect_progress
            if total and hasattr(self.review, "set_collection_progress"):
                self.review.set_collection_progress(done, total)
        self.review_holder.setCurrentWidget(self.review)
        if self.draft.collection is not None and not self.review.review_needed():
            self._send()  # IT policy lets every item go without review

    def _send(self) -> None:
        if self.review is not None and self.draft.collection is not None:
            self.review.send()

    def _filed(self, number: int) -> None:
        self._show_step(3)
        if self.sent is not None:
            self.sent.show_entry(number)

    def _send_failed(self, _message: str) -> None:
        # the review panel shows the problem and keeps everything; the wizard stays on the review step
        self._validate()

    def _ensure_sent(self) -> None:
        if self.sent is not None:
            return
        slot = self._slots[3]
        try:
            module = importlib.import_module("desktop.ui.review")
            self.sent = module.SentPanel(self.ctx, slot)
        except (ImportError, AttributeError):
            log.info("the sent screen is not available", exc_info=True)
            return
        slot.layout().addWidget(self.sent)
        self.sent.newReport.connect(self.new_report)

    def new_report(self) -> None:
        """Start a fresh draft (after sending): empty fields, no files, a new collection."""
        self._draft_no += 1
        self._draft = None
        self._collecting = False
        self._collect_failure = None
        self._collect_progress = (0, 0)
        self._similar_key = None
        self._similar_running = False
        self._similar_then_next = False
        self._match = None
        self._answered.clear()
        self._pending_finding = ""
        if self._screenshot_dir is not None:  # the filed report has its own copies in the outbox
            from desktop.ui.screenshot import remove_folder

            submit(remove_folder, self._screenshot_dir)
        self._screenshot_dir = None
        self._sizes.clear()
        w = self.what
        for widget in (w.title, w.description, w.steps):
            widget.clear()
        w.category.setCurrentIndex(0)
        w.impact.setCurrentIndex(1)
        w.urgency.setCurrentIndex(1)
        w.started.setCurrentIndex(0)
        w.started_date.setDate(QDate.currentDate())
        if self.attachments is not None:
            self.attachments.list.clear()
            self.attachments.rows.clear()
            self._show_message("")
            self._update_total()
        self.offer.hide()
        self._show_step(0)
        self.start_collection()


def _find_similar(ctx: AppContext, title: str, description: str, exclude: tuple[int, ...]) -> Any:
    """Worker: the user's similar open or recent report in the outbox (desktop.similar.Match) or None."""
    from desktop import similar

    return similar.find_similar(ctx.outbox().entries(), title, description, now=datetime.now(UTC), exclude=exclude)


def _save_screenshot(image: QImage, folder: Path | None, screenshot: Any) -> tuple[Path, int, QImage]:
    """Worker: write the PNG, and make its thumbnail for the list."""
    path = screenshot.save_png(image, folder)
    thumb = image.scaled(THUMB, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
    return path, os.path.getsize(path), thumb


__all__ = ["ReportWizard", "check_files", "human_size"]
