"""Helpers for the tests that go over every screen (translations, accessibility, the main window).

They work from :data:`desktop.ui.main_window.PAGES`, so a screen added there is covered without a change
here. A screen whose module does not exist (yet) is replaced by a placeholder so the window can still be
built; tests about that screen skip with the reason (``missing_reason``).
"""

from __future__ import annotations

import html
import importlib.util
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from PySide6.QtCore import QAbstractItemModel, QCoreApplication, QModelIndex, Qt, QThreadPool
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QComboBox,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTabBar,
    QTabWidget,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from desktop.ui import main_window

PAGE_KEYS = [p[0] for p in main_window.PAGES]
PAGE_MODULES = {p[0]: p[1] for p in main_window.PAGES}
# The services app.build() starts; the screens may look them up in ctx.services.
SERVICE_MODULES = ("desktop.ui.delivery_service", "desktop.ui.consent")

# What a user operates: these need an accessible name and must be reachable with Tab.
INTERACTIVE = (QAbstractButton, QLineEdit, QTextEdit, QPlainTextEdit, QComboBox, QAbstractSpinBox, QAbstractItemView)


def module_present(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def missing_reason(key: str) -> str | None:
    """Why the screen ``key`` cannot be tested (its module is not in the tree yet), or None."""
    module = PAGE_MODULES[key]
    if module_present(module):
        return None
    return f"screen {key!r}: {module} does not exist yet (another part of issue #4)"


class Placeholder(QWidget):
    """Stands in for a screen whose module is not written yet."""

    def __init__(self, ctx: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        QVBoxLayout(self).addWidget(main_window.heading("placeholder", self))


@contextmanager
def placeholders_for_missing(monkeypatch: Any) -> Iterator[list[str]]:
    """Point missing screens at :class:`Placeholder`; yields their keys."""
    missing = [key for key in PAGE_KEYS if missing_reason(key)]
    if missing:
        pages = tuple((key, __name__, "Placeholder", icon) if key in missing else (key, module, cls, icon)
                      for key, module, cls, icon in main_window.PAGES)
        monkeypatch.setattr(main_window, "PAGES", pages)
    yield missing


def build_window(ctx: Any, *, services: bool = True) -> main_window.MainWindow:
    """The main window as the app builds it (services included when their modules exist; no tray)."""
    if services and all(module_present(m) for m in SERVICE_MODULES):
        from desktop.ui import app

        return app.build(ctx, tray=False, services=True)
    return main_window.MainWindow(ctx)


def stop_services(ctx: Any) -> None:
    for service in list(ctx.services.values()):
        stop = getattr(service, "stop", None)
        if stop is not None:
            stop()
    ctx.services.clear()


def widgets(root: QWidget) -> list[QWidget]:
    """``root`` and every widget under it (hidden ones too: a wizard's later steps, a closed panel)."""
    return [root, *root.findChildren(QWidget)]


def is_internal(widget: QWidget) -> bool:
    """A part of a composite widget (a combo box's line edit, an editor in a list, a spin box's field)
    that the composite's own name covers."""
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, (QComboBox, QAbstractSpinBox, QAbstractItemView)):
            return True
        if type(parent).__name__ in ("QCalendarWidget", "QKeySequenceEdit", "QFileDialog", "QColorDialog"):
            return True
        parent = parent.parentWidget()
    return False


def interactive(root: QWidget) -> list[QWidget]:
    """The controls under ``root`` a user can reach with the keyboard."""
    found = []
    for widget in widgets(root):
        if not isinstance(widget, INTERACTIVE) or is_internal(widget):
            continue
        if isinstance(widget, QAbstractButton) and isinstance(widget.parentWidget(), QTabBar):
            continue  # a tab's close button: the tab bar owns it
        if not widget.focusPolicy() & Qt.FocusPolicy.TabFocus:
            continue
        found.append(widget)
    return found


def describe(widget: QWidget) -> str:
    """A widget as a failure message names it: class, object name, text, and where it sits."""
    parts = [type(widget).__name__]
    if widget.objectName():
        parts.append(f"#{widget.objectName()}")
    text = ""
    for attr in ("text", "title", "placeholderText", "currentText", "documentTitle"):
        fn = getattr(widget, attr, None)
        if callable(fn):
            try:
                value = fn()
            except TypeError:
                continue
            if isinstance(value, str) and value:
                text = value
                break
    if text:
        parts.append(repr(text[:60]))
    chain = []
    parent = widget.parentWidget()
    while parent is not None and len(chain) < 4:
        chain.append(parent.objectName() or type(parent).__name__)
        if parent.objectName().startswith("page-"):
            break
        parent = parent.parentWidget()
    return " ".join(parts) + (f" in {' < '.join(chain)}" if chain else "")


_TAGS = re.compile(r"<[^>]+>")


def plain(text: str) -> str:
    """Rich text and mnemonics as a reader sees them: tags dropped, entities decoded, ``&`` removed."""
    if "<" in text and ">" in text:
        text = html.unescape(_TAGS.sub(" ", text)).replace("&", "&&")
    text = re.sub(r"&(?=[^&\s])", "", text.replace("&&", "\0")).replace("\0", "&")
    return " ".join(text.split())


def _model_texts(model: QAbstractItemModel | None) -> Iterator[tuple[str, str]]:
    """Header titles and the texts of the first 200 rows (top level) of an item view's model."""
    if model is None:
        return
    try:
        columns = model.columnCount(QModelIndex())
    except TypeError:  # a list model: one column (its columnCount is private)
        columns = 1
    for section in range(columns):
        value = model.headerData(section, Qt.Orientation.Horizontal, Qt.ItemDataRole.DisplayRole)
        if isinstance(value, str):
            yield "header", value
    for row in range(min(model.rowCount(QModelIndex()), 200)):
        for column in range(columns):
            index = model.index(row, column)
            for role, kind in ((Qt.ItemDataRole.DisplayRole, "item"), (Qt.ItemDataRole.ToolTipRole, "item tooltip"),
                               (Qt.ItemDataRole.AccessibleTextRole, "item accessible text")):
                value = model.data(index, role)
                if isinstance(value, str):
                    yield kind, value


def widget_texts(widget: QWidget) -> list[tuple[str, str]]:
    """The texts ``widget`` itself shows or gives a screen reader: (where, text)."""
    where = describe(widget)
    candidates: list[tuple[str, str]] = []
    if widget.isWindow():
        candidates.append(("window title", widget.windowTitle()))
    candidates += [("accessible name", widget.accessibleName()),
                   ("accessible description", widget.accessibleDescription()), ("tooltip", widget.toolTip())]
    if isinstance(widget, (QLabel, QAbstractButton)):
        candidates.append(("text", widget.text()))
    elif isinstance(widget, QGroupBox):
        candidates.append(("title", widget.title()))
    elif isinstance(widget, (QLineEdit, QTextEdit, QPlainTextEdit)):
        candidates.append(("placeholder", widget.placeholderText()))
    if isinstance(widget, QComboBox):
        if not widget.isEditable():
            candidates += [("item", widget.itemText(i)) for i in range(widget.count())]
        candidates.append(("placeholder", widget.placeholderText()))
    if isinstance(widget, QTabWidget):
        candidates += [("tab", widget.tabText(i)) for i in range(widget.count())]
        candidates += [("tab tooltip", widget.tabToolTip(i)) for i in range(widget.count())]
    if isinstance(widget, QTabBar) and not isinstance(widget.parentWidget(), QTabWidget):
        candidates += [("tab", widget.tabText(i)) for i in range(widget.count())]
    if isinstance(widget, QAbstractItemView) and not is_internal(widget):
        candidates += list(_model_texts(widget.model()))
    found = []
    for kind, value in candidates:
        value = plain(value or "")
        if value:
            found.append((f"{where}: {kind}", value))
    return found


def texts(root: QWidget) -> list[tuple[str, str]]:
    """Every text a user sees or hears under ``root`` (``root`` included): (where, text)."""
    return [found for widget in widgets(root) for found in widget_texts(widget)]


@contextmanager
def open_window(ctx: Any, qtbot: Any, monkeypatch: Any, *, services: bool = True) -> Iterator[Any]:
    """The main window built as the app builds it (missing screens as placeholders), shown and active."""
    with placeholders_for_missing(monkeypatch):
        window = build_window(ctx, services=services)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        window.activateWindow()
        qtbot.waitUntil(window.isActiveWindow)
        try:
            yield window
        finally:
            settle()
            window.hide()
            stop_services(ctx)


def settle(timeout_ms: int = 30000) -> None:
    """Let the screens' background work (a wizard's collection, a search) finish and its results arrive
    while the widgets still exist."""
    pool = QThreadPool.globalInstance()
    for _ in range(20):
        pool.waitForDone(timeout_ms)
        QCoreApplication.processEvents()
        if pool.activeThreadCount() == 0:
            break
