"""The self-help screen: typing finds articles (English and Russian), opening shows them, the way out
to a report or a check, keyboard use, and opening with an argument."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QEvent, Qt, QUrl
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from desktop.ui import i18n
from desktop.ui.context import AppContext
from desktop.ui.selfhelp import POPULAR, SelfHelpPage

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")  # offscreen: no window manager


def make_page(qtbot: QtBot, ctx: AppContext) -> SelfHelpPage:
    page = SelfHelpPage(ctx)
    qtbot.addWidget(page)
    page.resize(900, 640)
    page.show()
    qtbot.waitExposed(page)
    qtbot.waitUntil(lambda: page.kb is not None)
    return page


@pytest.fixture
def russian(qapp: object) -> Iterator[None]:
    i18n.install("ru")
    yield
    i18n.install("en")


def type_query(qtbot: QtBot, page: SelfHelpPage, text: str) -> None:
    """Type ``text`` key by key; QTest.keyClicks handles only Latin-1, so other letters go as key events."""
    page.search.setFocus()
    for char in text:
        if ord(char) < 128:
            qtbot.keyClicks(page.search, char)
            continue
        for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            QApplication.sendEvent(page.search, QKeyEvent(kind, 0, Qt.KeyboardModifier.NoModifier, char))


def search(qtbot: QtBot, page: SelfHelpPage, text: str) -> list[str]:
    """Type ``text`` and wait for its results (not the list of an earlier query); their ids."""
    with qtbot.waitSignal(page.resultsShown, timeout=3000, check_params_cb=lambda q: q == text.strip()):
        type_query(qtbot, page, text)
    return page.result_ids()


@pytest.mark.parametrize(
    ("query", "expected", "language"),
    [
        ("printer won't print", "printer-offline", "en"),
        ("wifi keeps dropping", "wifi-not-connecting", "en"),
        ("forgot my password", "password-locked", "en"),
        ("не печатает принтер", "printer-offline", "ru"),  # a Russian question in the English interface
        ("мало места на диске", "disk-full", "ru"),
    ],
)
def test_typing_shows_the_expected_article_and_opening_it_shows_its_text(
        qtbot: QtBot, ctx: AppContext, query: str, expected: str, language: str) -> None:
    page = make_page(qtbot, ctx)
    assert expected in search(qtbot, page, query)[:3]
    row = page.result_ids().index(expected)
    assert page.results.item(row).data(Qt.ItemDataRole.UserRole + 2) == language
    assert page.results.item(row).data(Qt.ItemDataRole.UserRole + 1)  # a snippet under the title
    page.results.setCurrentRow(row)
    assert page.shown_article() == (language, expected)
    article = page.kb.articles[(language, expected)] if page.kb else None
    assert article is not None
    text = page.article.toPlainText()
    assert article.title in text
    assert "print" in text.lower() or "принт" in text.lower() or "диск" in text.lower() or "password" in text.lower() \
        or "wi-fi" in text.lower()


def test_results_come_only_after_the_typing_pauses(qtbot: QtBot, ctx: AppContext) -> None:
    page = make_page(qtbot, ctx)
    assert page.list_label.text() == "Popular topics"
    type_query(qtbot, page, "vpn")
    assert page.timer.isActive()  # debounced: nothing searched between key presses
    with qtbot.waitSignal(page.timer.timeout, timeout=2000):
        pass
    assert page.result_ids()[0] == "vpn-not-connecting"
    assert page.list_label.text() == "Suggested articles"


def test_empty_box_shows_popular_topics_and_escape_clears(qtbot: QtBot, ctx: AppContext) -> None:
    page = make_page(qtbot, ctx)
    assert page.result_ids() == [a for a in POPULAR if ctx.kb().get(a, "en")]
    assert search(qtbot, page, "sound in zoom")[:1] == ["sound-camera-calls"]
    qtbot.keyClick(page.search, Qt.Key.Key_Escape)
    assert page.search.text() == ""
    assert page.result_ids()[0] == POPULAR[0]


def test_no_match_says_so_and_offers_the_report(qtbot: QtBot, ctx: AppContext) -> None:
    page = make_page(qtbot, ctx)
    assert search(qtbot, page, "xyzzy plugh") == []
    assert page.empty_note.isVisible()
    assert page.report_button.isVisible()


def test_report_button_emits_navigate_with_the_query(qtbot: QtBot, ctx: AppContext) -> None:
    page = make_page(qtbot, ctx)
    type_query(qtbot, page, "  the scanner makes a noise ")
    with qtbot.waitSignal(ctx.navigate, timeout=2000) as blocker:
        qtbot.mouseClick(page.report_button, Qt.MouseButton.LeftButton)
    assert blocker.args == ["report", {"title": "the scanner makes a noise"}]


def test_check_button_navigates_to_the_check(qtbot: QtBot, ctx: AppContext) -> None:
    page = make_page(qtbot, ctx)
    with qtbot.waitSignal(ctx.navigate, timeout=2000) as blocker:
        qtbot.mouseClick(page.check_button, Qt.MouseButton.LeftButton)
    assert blocker.args == ["check", None]


def test_keyboard_down_moves_into_results_and_enter_opens(qtbot: QtBot, ctx: AppContext) -> None:
    page = make_page(qtbot, ctx)
    page.activateWindow()
    page.activate()
    qtbot.waitUntil(lambda: page.search.hasFocus())
    assert search(qtbot, page, "vpn wont connect")[:1] == ["vpn-not-connecting"]
    qtbot.keyClick(page.search, Qt.Key.Key_Down)
    assert page.results.hasFocus()
    assert page.results.currentRow() == 0
    assert page.shown_article() == ("en", "vpn-not-connecting")
    qtbot.keyClick(page.results, Qt.Key.Key_Down)
    second = page.result_ids()[1] if len(page.result_ids()) > 1 else "vpn-not-connecting"
    assert page.shown_article() == ("en", second)
    qtbot.keyClick(page.results, Qt.Key.Key_Return)
    assert page.article.hasFocus()
    # from the box, Enter opens the first result straight away (no waiting for the pause)
    page.search.setFocus()
    page.search.clear()
    qtbot.keyClicks(page.search, "disk full")
    qtbot.keyClick(page.search, Qt.Key.Key_Return)
    assert page.shown_article() == ("en", "disk-full")
    assert page.article.hasFocus()


def test_open_with_query_or_article(qtbot: QtBot, ctx: AppContext) -> None:
    page = SelfHelpPage(ctx)  # open() before the knowledge base is ready: it waits for it
    qtbot.addWidget(page)
    page.open({"article": "disk-full"})
    qtbot.waitUntil(lambda: page.shown_article() == ("en", "disk-full"))
    assert "Trash" in page.article.toPlainText()
    assert page.results.currentRow() == POPULAR.index("disk-full")  # the list shows which one is open
    page.open({"query": "printer offline"})
    assert page.search.text() == "printer offline"
    assert page.result_ids()[0] == "printer-offline"


def test_links_between_articles_open_here(qtbot: QtBot, ctx: AppContext) -> None:
    page = make_page(qtbot, ctx)
    page.article.anchorClicked.emit(QUrl("kb:wifi-not-connecting"))
    assert page.shown_article() == ("en", "wifi-not-connecting")
    page.article.anchorClicked.emit(QUrl("no-internet.md"))
    assert page.shown_article() == ("en", "no-internet")


def test_russian_interface(qtbot: QtBot, ctx: AppContext, russian: None) -> None:
    ctx.language = "ru"
    page = make_page(qtbot, ctx)
    assert page.heading.text() == "Помощь"
    assert page.list_label.text() == "Частые вопросы"
    assert page.results.item(0).text() == ctx.kb().get(POPULAR[0], "ru").title
    # a product name in Latin letters finds the Russian article first
    assert search(qtbot, page, "VPN")[:1] == ["vpn-not-connecting"]
    page.results.setCurrentRow(0)
    assert page.shown_article() == ("ru", "vpn-not-connecting")
    # an English-only word still finds the English article
    page.search.clear()
    assert "printer-offline" in search(qtbot, page, "printer")[:3]


def test_retranslate_keeps_the_query_and_switches_the_article(qtbot: QtBot, ctx: AppContext,
                                                              russian: None) -> None:
    i18n.install("en")
    page = make_page(qtbot, ctx)
    assert search(qtbot, page, "printer")[:1] == ["printer-offline"]
    page.results.setCurrentRow(0)
    i18n.install("ru")
    ctx.language = "ru"
    page.retranslate()
    assert page.search.text() == "printer"
    assert page.search.placeholderText() == "Например: принтер не печатает"
    assert page.shown_article() == ("ru", "printer-offline")
    assert "Принтер не печатает" in page.article.toPlainText()
