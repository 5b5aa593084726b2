"""The main window: navigation between every screen (the list, ``ctx.navigate``), screens built lazily and
once, ``open(arg)``/``activate()`` called, and a language switch that retranslates the navigation, keeps
screens that have ``retranslate()`` (and what the user typed in them) and rebuilds the others."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import shiboken6
from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QComboBox, QLineEdit, QPlainTextEdit, QTextEdit, QVBoxLayout, QWidget

from desktop.ui import i18n, main_window
from tests.ui import walk


@pytest.fixture
def window(ctx: Any, qtbot: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with walk.open_window(ctx, qtbot, monkeypatch) as win:
        yield win


@pytest.fixture
def english(qapp: Any) -> Iterator[None]:
    i18n.install("en")
    yield
    i18n.install("en")


def test_starts_on_self_help(window: Any) -> None:
    assert window.current_key() == "help"
    assert window.stack.currentWidget() is window.page("help")
    assert window.windowTitle()


def test_navigation_list_shows_every_screen(window: Any, qtbot: Any) -> None:
    assert window.nav.count() == len(walk.PAGE_KEYS)
    for row, key in enumerate(walk.PAGE_KEYS):
        item = window.nav.item(row)
        assert item.text() == window.page_title(key)
        rect = window.nav.visualItemRect(item)
        qtbot.mouseClick(window.nav.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        qtbot.waitUntil(lambda key=key: window.current_key() == key)
        page = window.stack.currentWidget()
        assert page is window.page(key)
        assert page.objectName() == f"page-{key}"
        assert page.isVisible()


def test_navigate_signal_shows_each_screen_and_builds_it_once(window: Any, ctx: Any, qtbot: Any) -> None:
    built = {}
    for _round in range(2):
        for key in reversed(walk.PAGE_KEYS):
            ctx.navigate.emit(key, None)
            qtbot.waitUntil(lambda key=key: window.current_key() == key)
            page = window.stack.currentWidget()
            assert page.isVisible()
            assert built.setdefault(key, page) is page, f"screen {key!r} was built twice"
    assert window.stack.count() == len(walk.PAGE_KEYS)


class Recorder(QWidget):
    """A screen that records what the window calls on it."""

    calls: list[tuple[str, Any]] = []

    def __init__(self, ctx: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        QVBoxLayout(self).addWidget(main_window.heading("recorder", self))

    def open(self, arg: Any) -> None:
        Recorder.calls.append(("open", arg))

    def activate(self) -> None:
        Recorder.calls.append(("activate", None))


def test_navigate_with_argument_opens_the_screen(ctx: Any, qtbot: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    pages = tuple((key, __name__, "Recorder", icon) if key == "tickets" else (key, __name__, "Recorder", icon)
                  for key, _module, _cls, icon in main_window.PAGES)
    monkeypatch.setattr(main_window, "PAGES", pages)
    Recorder.calls = []
    window = main_window.MainWindow(ctx)
    qtbot.addWidget(window)
    window.show()
    Recorder.calls.clear()
    ctx.navigate.emit("tickets", 42)
    assert window.current_key() == "tickets"
    assert Recorder.calls == [("open", 42), ("activate", None)]
    Recorder.calls.clear()
    window.nav.setCurrentRow(0)
    assert Recorder.calls == [("activate", None)]


def _typed_inputs(page: QWidget) -> list[tuple[QWidget, str]]:
    """Type into every enabled, editable text field of ``page``; what was typed where."""
    typed = []
    for n, widget in enumerate(walk.widgets(page)):
        if walk.is_internal(widget) or not widget.isEnabled():
            continue
        text = f"typed {n} (набрано)"
        if isinstance(widget, QLineEdit) and not widget.isReadOnly():
            widget.setText(text)
            typed.append((widget, text))
        elif isinstance(widget, (QTextEdit, QPlainTextEdit)) and not widget.isReadOnly():
            widget.setPlainText(text)
            typed.append((widget, text))
        elif isinstance(widget, QComboBox) and widget.isEditable():
            widget.setEditText(text)
            typed.append((widget, text))
    return typed


def _text_of(widget: QWidget) -> str:
    if isinstance(widget, QLineEdit):
        return widget.text()
    if isinstance(widget, (QTextEdit, QPlainTextEdit)):
        return widget.toPlainText()
    assert isinstance(widget, QComboBox)
    return widget.currentText()


def test_language_switch_retranslates_and_rebuilds(window: Any, ctx: Any, qtbot: Any, english: None) -> None:
    present = [key for key in walk.PAGE_KEYS if not walk.missing_reason(key)]
    before = {key: window.show_page(key) for key in walk.PAGE_KEYS}
    typed = {key: _typed_inputs(before[key]) for key in present}
    window.show_page("tickets")
    english_titles = [window.nav.item(r).text() for r in range(window.nav.count())]
    english_window_title = window.windowTitle()

    i18n.install("ru")
    ctx.language = "ru"
    ctx.languageChanged.emit("ru")

    russian_titles = [window.nav.item(r).text() for r in range(window.nav.count())]
    for key, english_title, russian_title in zip(walk.PAGE_KEYS, english_titles, russian_titles, strict=True):
        assert russian_title == QCoreApplication.translate("MainWindow", english_title)
        assert russian_title != english_title, f"navigation entry {key!r} not translated"
    assert window.windowTitle() != english_window_title
    assert window.current_key() == "tickets", "the language switch moved the user to another screen"
    assert window.stack.currentWidget().isVisible()

    lost = []
    for key, old in before.items():
        if hasattr(old, "retranslate"):
            assert shiboken6.isValid(old)
            assert window.page(key) is old, f"screen {key!r} has retranslate() but was rebuilt"
        else:
            qtbot.waitUntil(lambda old=old: not shiboken6.isValid(old))
            assert window.page(key) is not old
        for widget, text in typed.get(key, []):
            if not shiboken6.isValid(widget):
                lost.append(f"{key} ({walk.PAGE_MODULES[key]}): a text field was rebuilt, its text gone")
            elif _text_of(widget) != text:
                lost.append(f"{key} ({walk.PAGE_MODULES[key]}): {walk.describe(widget)}")
    assert not lost, ("the language switch lost what the user typed (a screen holding input needs retranslate()):\n  "
                      + "\n  ".join(lost))

    i18n.install("en")
    ctx.language = "en"
    ctx.languageChanged.emit("en")
    assert [window.nav.item(r).text() for r in range(window.nav.count())] == english_titles


def test_tooltips_name_the_shortcuts(window: Any) -> None:
    for row in range(window.nav.count()):
        assert f"Ctrl+{row + 1}" in window.nav.item(row).toolTip()


@pytest.mark.parametrize("language", ["en", "ru"])
@pytest.mark.parametrize("size", [(1040, 700), (880, 600)], ids=["default-size", "smallest-size"])
def test_screens_fit_the_width(language: str, size: tuple[int, int], ctx: Any, qtbot: Any,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    """No screen needs a horizontal scroll bar at the window's default or smallest size, in either
    language (Russian is longer): a label that does not wrap pushes the whole screen sideways."""
    from PySide6.QtWidgets import QAbstractItemView, QScrollArea

    i18n.install(language)
    try:
        ctx.language = language
        with walk.open_window(ctx, qtbot, monkeypatch) as window:
            window.resize(*size)
            bad = []
            for key in walk.PAGE_KEYS:
                if walk.missing_reason(key):
                    continue
                page = window.show_page(key)
                qtbot.waitUntil(page.isVisible)
                walk.settle()
                for area in page.findChildren(QScrollArea):
                    if isinstance(area, QAbstractItemView) or not area.isVisible():
                        continue
                    bar = area.horizontalScrollBar()
                    if bar.isVisible() and bar.maximum() > 0:
                        content = area.widget()
                        wide = content.minimumSizeHint().width() if content else "?"
                        bad.append(f"{key} ({walk.PAGE_MODULES[key]}): {walk.describe(area)} scrolls sideways "
                                   f"by {bar.maximum()} px (content {wide} px wide, room for {area.viewport().width()}"
                                   " px; a label without word wrap?)")
            assert not bad, (f"screens wider than the window at {size[0]}x{size[1]} in {language}:\n  "
                             + "\n  ".join(bad))
    finally:
        i18n.install("en")
