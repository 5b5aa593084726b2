"""The main window: a navigation list on the left, the current screen on the right, banners on top.

Screens are built on first show (start-up stays fast) from :data:`PAGES`. A screen class takes
``(ctx, parent)`` and may define:

- ``open(arg)``: called when navigated to with an argument (``ctx.navigate.emit("report", {...})``);
- ``activate()``: called every time it is shown;
- ``retranslate()``: re-set its texts after a language change. A screen without it is rebuilt instead,
  so a screen that holds the user's input must have it (nothing typed is ever lost).
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QCloseEvent, QIcon, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QStackedWidget,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from desktop.ui.context import AppContext

log = logging.getLogger("deskline.ui")

# key, module, class, standard icon. Labels are in :meth:`MainWindow.page_title` (translatable).
PAGES: tuple[tuple[str, str, str, QStyle.StandardPixmap], ...] = (
    ("help", "desktop.ui.selfhelp", "SelfHelpPage", QStyle.StandardPixmap.SP_DialogHelpButton),
    ("check", "desktop.ui.checkup", "CheckPage", QStyle.StandardPixmap.SP_BrowserReload),
    ("report", "desktop.ui.wizard", "ReportWizard", QStyle.StandardPixmap.SP_FileDialogNewFolder),
    ("tickets", "desktop.ui.tickets", "TicketsPage", QStyle.StandardPixmap.SP_FileDialogDetailedView),
    ("sessions", "desktop.ui.sessions", "SessionsPage", QStyle.StandardPixmap.SP_ComputerIcon),
    ("settings", "desktop.ui.settings", "SettingsPage", QStyle.StandardPixmap.SP_FileDialogInfoView),
)


class MainWindow(QMainWindow):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("MainWindow")
        self.setMinimumSize(QSize(880, 600))
        self.resize(1040, 700)
        # When a tray icon exists, closing the window hides it instead of quitting.
        self.hide_on_close = False
        self._pages: dict[str, QWidget] = {}

        central = QWidget(self)
        outer = QVBoxLayout(central)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        # Banners (an active remote session, a paused helpdesk) stack here, above everything.
        self.banners = QVBoxLayout()
        self.banners.setContentsMargins(0, 0, 0, 0)
        self.banners.setSpacing(0)
        outer.addLayout(self.banners)
        body = QHBoxLayout()
        body.setContentsMargins(0, 0, 0, 0)
        body.setSpacing(0)
        outer.addLayout(body, 1)

        self.nav = QListWidget(central)
        self.nav.setObjectName("Navigation")
        self.nav.setIconSize(QSize(20, 20))
        self.nav.setFixedWidth(210)
        self.nav.setFrameShape(QListWidget.Shape.NoFrame)
        self.nav.setSpacing(2)
        self.nav.setStyleSheet("#Navigation { padding-top: 12px; } #Navigation::item { padding: 8px 10px; }")
        for key, _module, _cls, icon in PAGES:
            item = QListWidgetItem(self.style().standardIcon(icon), "")
            item.setData(Qt.ItemDataRole.UserRole, key)
            item.setSizeHint(QSize(200, 40))
            self.nav.addItem(item)
        body.addWidget(self.nav)
        self.stack = QStackedWidget(central)
        body.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self.nav.currentRowChanged.connect(self._row_changed)
        ctx.navigate.connect(self.show_page)
        ctx.languageChanged.connect(self._language_changed)

        for number, (key, *_rest) in enumerate(PAGES, 1):  # Ctrl+1..6 jump between screens
            shortcut = QShortcut(QKeySequence(f"Ctrl+{number}"), self)
            shortcut.activated.connect(lambda key=key: self.show_page(key))
        self.retranslate()
        self.show_page("help")

    # -- texts
    def page_title(self, key: str) -> str:
        return {
            "help": self.tr("Get help"),
            "check": self.tr("Check my computer"),
            "report": self.tr("Report a problem"),
            "tickets": self.tr("My tickets"),
            "sessions": self.tr("Remote sessions"),
            "settings": self.tr("Settings"),
        }[key]

    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("Deskline: help with your computer"))
        self.nav.setAccessibleName(self.tr("Sections"))
        for row in range(self.nav.count()):
            item = self.nav.item(row)
            key = item.data(Qt.ItemDataRole.UserRole)
            item.setText(self.page_title(key))
            item.setToolTip(self.tr("%1 (Ctrl+%2)").replace("%1", self.page_title(key)).replace("%2", str(row + 1)))

    def _language_changed(self, _language: str) -> None:
        self.retranslate()
        current = self.current_key()
        for key, page in list(self._pages.items()):
            if hasattr(page, "retranslate"):
                page.retranslate()
                continue
            self.stack.removeWidget(page)
            page.deleteLater()
            del self._pages[key]
        if current:
            self.show_page(current)

    # -- navigation
    def current_key(self) -> str:
        item = self.nav.currentItem()
        return str(item.data(Qt.ItemDataRole.UserRole)) if item else ""

    def page(self, key: str) -> QWidget:
        """The screen for ``key``, built on first use."""
        page = self._pages.get(key)
        if page is None:
            _key, module, cls, _icon = next(p for p in PAGES if p[0] == key)
            page = getattr(importlib.import_module(module), cls)(self.ctx, self.stack)
            page.setObjectName(f"page-{key}")
            self._pages[key] = page
            self.stack.addWidget(page)
        return page

    def show_page(self, key: str, arg: Any = None) -> QWidget:
        page = self.page(key)
        row = next(i for i, p in enumerate(PAGES) if p[0] == key)
        if self.nav.currentRow() != row:
            self.nav.blockSignals(True)
            self.nav.setCurrentRow(row)
            self.nav.blockSignals(False)
        self.stack.setCurrentWidget(page)
        if arg is not None and hasattr(page, "open"):
            page.open(arg)
        if hasattr(page, "activate"):
            page.activate()
        return page

    def _row_changed(self, row: int) -> None:
        if 0 <= row < len(PAGES):
            self.show_page(PAGES[row][0])

    def bring_to_front(self, key: str | None = None, arg: Any = None) -> None:
        if key:
            self.show_page(key, arg)
        self.showNormal() if self.isMinimized() else self.show()
        self.raise_()
        self.activateWindow()

    def add_banner(self, widget: QWidget) -> None:
        self.banners.addWidget(widget)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        if self.hide_on_close:
            event.ignore()
            self.hide()
            return
        super().closeEvent(event)


def app_icon() -> QIcon:
    from desktop.paths import resource_dir

    path = resource_dir() / "icons" / "deskline.svg"
    return QIcon(str(path)) if path.exists() else QIcon()


def heading(text: str, parent: QWidget | None = None) -> QLabel:
    """A screen's title, in the style every screen uses."""
    label = QLabel(text, parent)
    label.setObjectName("PageHeading")
    font = label.font()
    font.setPointSizeF(font.pointSizeF() * 1.45)
    font.setBold(True)
    label.setFont(font)
    label.setAccessibleName(text)
    return label
