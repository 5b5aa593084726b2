"""Self-help (L0), the first screen: one search box, instant answers from the knowledge base.

The knowledge base is built in a worker when the screen opens (about 50 ms); what the user typed
meanwhile is searched as soon as it is ready. A search runs 150 ms after the last key press. The query's
language follows its script (a Russian question in the English interface finds Russian articles); a
Latin-only query in the Russian interface looks in Russian articles first ("VPN", "Outlook"), then in
English ones. When the box is empty, popular topics fill the list, so the screen is never blank.

Keys: typing goes to the search box; Down moves into the results, Up from the first result back to
the box; Enter opens the article (from the box: the first result); Escape clears the search.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSize, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import (
    QDesktopServices,
    QFont,
    QFontMetrics,
    QKeyEvent,
    QKeySequence,
    QPainter,
    QResizeEvent,
    QShortcut,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextFormat,
)
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from desktop.kb import Article, Hit, KnowledgeBase, KnowledgeBaseError, detect_language
from desktop.ui.context import AppContext
from desktop.ui.main_window import heading
from desktop.ui.workers import Failure, submit

log = logging.getLogger("deskline.ui")

# Topics shown while the search box is empty, by article id (missing ones are skipped).
POPULAR = ("printer-offline", "wifi-not-connecting", "vpn-not-connecting", "password-locked", "slow-computer",
           "disk-full", "sound-camera-calls", "email-not-working")
# Results shown for a query.
LIMIT = 6
# A result scoring below this share of the best one is noise (it matched one common word) and is left out.
RELATIVE_CUT = 0.2
# Milliseconds after the last key press before searching.
DEBOUNCE_MS = 150

ID_ROLE = Qt.ItemDataRole.UserRole
SNIPPET_ROLE = Qt.ItemDataRole.UserRole + 1
LANGUAGE_ROLE = Qt.ItemDataRole.UserRole + 2


def load_kb(ctx: AppContext) -> tuple[KnowledgeBase, str]:
    """The context's knowledge base; when the organisation's folder is broken, the bundled articles alone
    and the reason (so help still works). Runs in a worker."""
    try:
        return ctx.kb(), ""
    except KnowledgeBaseError as exc:
        log.info("organisation articles not loaded: %s", exc)
        return KnowledgeBase(None), str(exc)


def first_sentence(article: Article, width: int = 140) -> str:
    """A one-line summary of an article for the popular topics: its first plain lines (a short first step,
    "Empty the Trash.", is joined with the next)."""
    parts: list[str] = []
    for line in article.body.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        text = re.sub(r"^(\d+\.|[-*])\s+", "", line)
        parts.append(re.sub(r"[*_`>\[\]]", "", text))
        if sum(len(p) for p in parts) >= 60:
            break
    text = " ".join(parts)
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def clean_snippet(snippet: str) -> str:
    """A search snippet without list markers; empty when too short to say anything ("1.")."""
    text = re.sub(r"^\s*(\d+\.|[-*•])\s*", "", snippet).strip()
    return text if len(text) >= 24 else ""


class ResultDelegate(QStyledItemDelegate):
    """A result as two lines: the title in bold, a one-line snippet below it in a quieter colour."""

    PAD = 8

    def _fonts(self, option: QStyleOptionViewItem) -> tuple[QFont, QFont]:
        title = QFont(option.font)
        title.setBold(True)
        small = QFont(option.font)
        small.setPointSizeF(option.font.pointSizeF() * 0.92)
        return title, small

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:  # noqa: N802
        title, small = self._fonts(option)
        height = QFontMetrics(title).height() + QFontMetrics(small).height() + 2 * self.PAD + 3
        return QSize(200, height)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        title_text, opt.text = opt.text, ""
        style = opt.widget.style() if opt.widget else QStyle()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        title, small = self._fonts(option)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        palette = opt.palette
        rect = opt.rect.adjusted(self.PAD + 4, self.PAD, -self.PAD, -self.PAD)
        painter.save()
        painter.setFont(title)
        painter.setPen(palette.highlightedText().color() if selected else palette.text().color())
        metrics = painter.fontMetrics()
        painter.drawText(rect.x(), rect.y() + metrics.ascent(),
                         metrics.elidedText(title_text, Qt.TextElideMode.ElideRight, rect.width()))
        top = rect.y() + metrics.height() + 3
        painter.setFont(small)
        metrics = painter.fontMetrics()
        colour = palette.highlightedText().color() if selected else palette.placeholderText().color()
        painter.setPen(colour)
        snippet = str(index.data(SNIPPET_ROLE) or "")
        painter.drawText(rect.x(), top + metrics.ascent(),
                         metrics.elidedText(snippet, Qt.TextElideMode.ElideRight, rect.width()))
        painter.restore()


class ResultList(QListWidget):
    """The results; Up on the first row gives the focus back to the search box."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.search_box: QLineEdit | None = None

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt's name
        if event.key() == Qt.Key.Key_Up and self.currentRow() <= 0 and self.search_box is not None:
            self.search_box.setFocus()
            return
        super().keyPressEvent(event)


class SearchBox(QLineEdit):
    """The search box; Down moves into the results, Enter opens the first (or chosen) result."""

    def __init__(self, page: SelfHelpPage) -> None:
        super().__init__(page)
        self.page = page

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt's name
        if event.key() == Qt.Key.Key_Down and self.page.results.count():
            self.page.focus_results()
            return
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.page.search_now()
            self.page.open_current()
            return
        super().keyPressEvent(event)


class ArticleView(QTextBrowser):
    """The article reader: lines no longer than :attr:`MAX_TEXT_WIDTH` pixels however wide the window."""

    MAX_TEXT_WIDTH = 720

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self.fit_text_width()

    def fit_text_width(self) -> None:
        root = self.document().rootFrame()
        fmt = root.frameFormat()
        margin = self.document().documentMargin()
        spare = max(0.0, self.viewport().width() - 2 * margin - self.MAX_TEXT_WIDTH)
        if abs(fmt.rightMargin() - spare) >= 1:
            fmt.setRightMargin(spare)
            root.setFrameFormat(fmt)


class SelfHelpPage(QWidget):
    # The list now shows the results for this query ("" for the popular topics).
    resultsShown = Signal(str)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.kb: KnowledgeBase | None = None
        self.kb_problem = ""  # why the organisation's articles are missing, if they are
        self._pending_article: str | None = None
        self._shown: tuple[str, str] | None = None  # (language, id) of the article on screen
        self._query_shown: str | None = None  # the query the list shows results for ("" = popular topics)

        outer = QVBoxLayout(self)
        outer.setContentsMargins(28, 24, 28, 20)
        outer.setSpacing(10)
        self.heading = heading("", self)
        outer.addWidget(self.heading)
        self.intro = QLabel(self)
        self.intro.setWordWrap(True)
        outer.addWidget(self.intro)
        outer.addSpacing(6)

        self.search_label = QLabel(self)
        font = self.search_label.font()
        font.setBold(True)
        self.search_label.setFont(font)
        outer.addWidget(self.search_label)
        self.search = SearchBox(self)
        self.search.setObjectName("HelpSearch")
        self.search.setClearButtonEnabled(True)
        big = self.search.font()
        big.setPointSizeF(big.pointSizeF() * 1.25)
        self.search.setFont(big)
        self.search.setMinimumHeight(42)
        self.search.setTextMargins(6, 0, 6, 0)
        self.search_label.setBuddy(self.search)
        outer.addWidget(self.search)
        self.org_note = QLabel(self)
        self.org_note.setWordWrap(True)
        self.org_note.setVisible(False)
        outer.addWidget(self.org_note)

        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setChildrenCollapsible(False)
        left = QWidget(self.splitter)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 6, 0, 0)
        left_layout.setSpacing(6)
        self.list_label = QLabel(left)
        self.list_label.setObjectName("ResultsLabel")
        left_layout.addWidget(self.list_label)
        self.results = ResultList(left)
        self.results.search_box = self.search
        self.results.setObjectName("HelpResults")
        self.results.setItemDelegate(ResultDelegate(self.results))
        self.results.setUniformItemSizes(True)
        self.results.setVerticalScrollMode(QListWidget.ScrollMode.ScrollPerPixel)
        self.list_label.setBuddy(self.results)
        left_layout.addWidget(self.results, 1)
        self.empty_note = QLabel(left)
        self.empty_note.setWordWrap(True)
        self.empty_note.setVisible(False)
        left_layout.addWidget(self.empty_note)

        self.article = ArticleView(self.splitter)
        self.article.setObjectName("HelpArticle")
        self.article.setOpenLinks(False)
        self.article.setFrameShape(QFrame.Shape.StyledPanel)
        self.article.document().setDocumentMargin(18)
        self.article.setMinimumWidth(360)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.article)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setSizes([330, 500])
        outer.addWidget(self.splitter, 1)

        # the way out when self-help did not help
        way_out = QFrame(self)
        way_out.setObjectName("WayOut")
        way_out.setFrameShape(QFrame.Shape.NoFrame)
        row = QHBoxLayout(way_out)
        row.setContentsMargins(0, 8, 0, 0)
        row.setSpacing(10)
        self.way_out_label = QLabel(way_out)
        self.way_out_label.setWordWrap(True)
        row.addWidget(self.way_out_label, 1)
        self.check_button = QPushButton(way_out)
        self.check_button.setObjectName("CheckButton")
        self.report_button = QPushButton(way_out)
        self.report_button.setObjectName("ReportButton")
        self.report_button.setDefault(False)
        self.report_button.setAutoDefault(False)
        self.check_button.setAutoDefault(False)
        row.addWidget(self.check_button)
        row.addWidget(self.report_button)
        outer.addWidget(way_out)
        self.setStyleSheet(
            "#WayOut QPushButton { padding: 7px 16px; }"
            "#WayOut QPushButton#ReportButton { background: palette(highlight); color: palette(highlighted-text);"
            " border: 1px solid palette(highlight); border-radius: 4px; font-weight: bold; }"
            "#WayOut QPushButton#ReportButton:focus { border: 2px solid palette(text); }"
        )

        self.setTabOrder(self.search, self.results)
        self.setTabOrder(self.results, self.article)
        self.setTabOrder(self.article, self.check_button)
        self.setTabOrder(self.check_button, self.report_button)

        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(DEBOUNCE_MS)
        self.timer.timeout.connect(self.search_now)
        self.search.textChanged.connect(lambda _text: self.timer.start())
        self.results.currentItemChanged.connect(self._current_changed)
        self.results.itemActivated.connect(lambda _item: self.article.setFocus())
        self.article.anchorClicked.connect(self._link_clicked)
        self.report_button.clicked.connect(self.report_problem)
        self.check_button.clicked.connect(lambda: self.ctx.navigate.emit("check", None))
        escape = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        escape.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        escape.activated.connect(self.clear)
        self.setFocusProxy(self.search)

        self.retranslate()
        self._show_loading()
        self.loader = submit(load_kb, ctx, on_done=self._kb_ready, on_error=self._kb_failed)

    # -- texts
    def retranslate(self) -> None:
        self.heading.setText(self.tr("Get help"))
        self.heading.setAccessibleName(self.tr("Get help"))
        self.intro.setText(self.tr("Describe what is wrong in your own words. Answers appear as you type."))
        self.search_label.setText(self.tr("&Describe your problem"))
        self.search.setPlaceholderText(self.tr("For example: the printer does not print"))
        self.search.setAccessibleName(self.tr("Describe your problem"))
        self.search.setAccessibleDescription(self.tr("Answers appear below as you type. Press Down to go to them."))
        self.results.setAccessibleName(self.tr("Suggested articles"))
        self.article.setAccessibleName(self.tr("Article"))
        self.way_out_label.setText(self.tr("None of these helped? Report the problem to IT support, or let Deskline "
                                           "check your computer first."))
        self.check_button.setText(self.tr("&Check my computer"))
        self.check_button.setAccessibleName(self.tr("Check my computer"))
        self.report_button.setText(self.tr("&Report a problem"))
        self.report_button.setAccessibleName(self.tr("Report a problem"))
        self.empty_note.setText(self.tr("No article matches these words. Try other words, or report the problem."))
        self._set_org_note()
        if self.kb is None:
            self._show_loading()
            return
        self._query_shown = None  # the language may have changed: list and article again
        self.search_now()
        if self._shown is not None:
            self.show_article(self._shown[1])
        else:
            self._show_placeholder()

    def _set_org_note(self) -> None:
        if self.kb_problem:
            self.org_note.setText(self.tr("Your organisation's own articles could not be loaded; the standard articles "
                                          "are shown."))
            self.org_note.setToolTip(self.kb_problem)
        self.org_note.setVisible(bool(self.kb_problem))

    # -- page protocol
    def activate(self) -> None:
        self.search.setFocus()

    def open(self, arg: Any) -> None:
        if not isinstance(arg, dict):
            return
        if arg.get("query") is not None:
            self.search.setText(str(arg["query"]))
            self.search_now()
        if arg.get("article"):
            self.show_article(str(arg["article"]))

    # -- knowledge base
    def _kb_ready(self, loaded: tuple[KnowledgeBase, str]) -> None:
        self.kb, self.kb_problem = loaded
        self._set_org_note()
        self.search_now()
        if self._pending_article:
            self.show_article(self._pending_article)
        elif self._shown is None:
            self._show_placeholder()

    def _kb_failed(self, failure: Failure) -> None:
        self.results.clear()
        self.list_label.setText(self.tr("Help articles"))
        self.empty_note.setText(self.tr("The help articles could not be loaded. You can still report the problem."))
        self.empty_note.setToolTip(failure.details)
        self.empty_note.setVisible(True)

    def _show_loading(self) -> None:
        self.list_label.setText(self.tr("Loading help articles…"))

    def _show_placeholder(self) -> None:
        self.article.setHtml("")
        self.article.setPlaceholderText(self.tr("Choose a topic to read how to fix it."))

    # -- searching
    def languages_for(self, query: str) -> list[str]:
        """Which articles to search, in order: the query's script decides; a Latin-only query in another
        interface language looks in that language first (product names are written in Latin letters)."""
        ui = self.ctx.language
        detected = detect_language(query, default=ui)
        if detected == ui:
            return [ui]
        if detected == "en":
            return [ui, "en"]
        return [detected]

    def find(self, query: str, limit: int = LIMIT) -> list[Hit]:
        """The best articles for ``query``: hits in the first language, then the next one's new ids."""
        if self.kb is None:
            return []
        hits: list[Hit] = []
        for language in self.languages_for(query):
            seen = {h.article.id for h in hits}
            found = self.kb.search(query, language=language, limit=limit)
            hits.extend(h for h in found if h.article.id not in seen and h.score >= RELATIVE_CUT * found[0].score)
            if len(hits) >= limit:
                break
        return hits[:limit]

    def search_now(self) -> None:
        self.timer.stop()
        if self.kb is None:
            return
        query = self.search.text().strip()
        if query == self._query_shown:
            return
        self._query_shown = query
        self.results.blockSignals(True)
        self.results.clear()
        if query:
            hits = self.find(query)
            self.list_label.setText(self.tr("Suggested articles"))
            for hit in hits:
                self._add_item(hit.article, clean_snippet(hit.snippet) or first_sentence(hit.article))
            self.empty_note.setVisible(not hits)
        else:
            self.list_label.setText(self.tr("Popular topics"))
            for article_id in POPULAR:
                article = self.kb.get(article_id, self.ctx.language)
                if article is not None:
                    self._add_item(article, first_sentence(article))
            self.empty_note.setVisible(False)
        self.results.blockSignals(False)
        self._select_shown()
        self.resultsShown.emit(query)

    def _select_shown(self) -> None:
        """Keep the article on screen selected in the list when it is there."""
        if self._shown is None:
            return
        for row in range(self.results.count()):
            item = self.results.item(row)
            if (item.data(LANGUAGE_ROLE), item.data(ID_ROLE)) == self._shown:
                if self.results.currentRow() != row:
                    self.results.blockSignals(True)
                    self.results.setCurrentRow(row)
                    self.results.blockSignals(False)
                return

    def _add_item(self, article: Article, snippet: str) -> None:
        item = QListWidgetItem(article.title)
        item.setData(ID_ROLE, article.id)
        item.setData(SNIPPET_ROLE, snippet)
        item.setData(LANGUAGE_ROLE, article.language)
        item.setData(Qt.ItemDataRole.AccessibleTextRole, f"{article.title}. {snippet}")
        item.setToolTip(snippet)
        self.results.addItem(item)

    def result_ids(self) -> list[str]:
        return [self.results.item(row).data(ID_ROLE) for row in range(self.results.count())]

    # -- articles
    def focus_results(self) -> None:
        if self.results.currentRow() < 0:
            self.results.setCurrentRow(0)
        self.results.setFocus()

    def open_current(self) -> None:
        """Enter: show the chosen result (the first when none is chosen) and move into the article."""
        if not self.results.count():
            return
        if self.results.currentRow() < 0:
            self.results.setCurrentRow(0)
        else:
            self._current_changed(self.results.currentItem(), None)
        self.article.setFocus()

    def _current_changed(self, item: QListWidgetItem | None, _previous: QListWidgetItem | None) -> None:
        if item is not None:
            self.show_article(item.data(ID_ROLE), item.data(LANGUAGE_ROLE))

    def show_article(self, article_id: str, language: str | None = None) -> bool:
        """Show article ``article_id`` (in ``language``, else the interface language, else English)."""
        if self.kb is None:
            self._pending_article = article_id
            return False
        self._pending_article = None
        article = (self.kb.articles.get((language, article_id)) if language else None) or self.kb.get(
            article_id, self.ctx.language)
        if article is None:
            log.info("no help article %r", article_id)
            return False
        self._shown = (article.language, article.id)
        self.article.setMarkdown(article.body)
        self._polish_document()
        self.article.fit_text_width()
        self.article.verticalScrollBar().setValue(0)
        self.article.setAccessibleDescription(article.title)
        self._select_shown()
        return True

    def _polish_document(self) -> None:
        """Room between lines and paragraphs: easier to read than Qt's tight defaults."""
        cursor = QTextCursor(self.article.document())
        cursor.select(QTextCursor.SelectionType.Document)
        fmt = QTextBlockFormat()
        fmt.setLineHeight(135, QTextBlockFormat.LineHeightTypes.ProportionalHeight.value)
        fmt.setBottomMargin(6)
        cursor.mergeBlockFormat(fmt)
        # Markdown headings come out very large; a calmer size reads better next to the list
        block = self.article.document().begin()
        while block.isValid():
            level = block.blockFormat().headingLevel()
            if level:
                heading_cursor = QTextCursor(block)
                heading_cursor.movePosition(QTextCursor.MoveOperation.EndOfBlock, QTextCursor.MoveMode.KeepAnchor)
                char = QTextCharFormat()
                # Qt's size steps: 0 is the body size, each step about 1.2 times larger
                char.setProperty(QTextFormat.Property.FontSizeAdjustment, 2 if level == 1 else 1)
                heading_cursor.mergeCharFormat(char)
            block = block.next()

    def shown_article(self) -> tuple[str, str] | None:
        """(language, id) of the article on screen."""
        return self._shown

    def _link_clicked(self, url: QUrl) -> None:
        """Links between articles (``kb:printer-offline``, ``printer-offline.md``) open here; web and mail
        links open in the user's browser or mail program."""
        scheme = url.scheme().lower()
        if scheme in ("http", "https", "mailto"):
            QDesktopServices.openUrl(url)
            return
        target = url.path() if scheme == "kb" else url.toString()
        target = target.rsplit("/", 1)[-1].removesuffix(".md").split("#", 1)[0]
        if target and not self.show_article(target):
            log.info("link to unknown help article %r", url.toString())

    # -- actions
    def clear(self) -> None:
        self.search.clear()
        self.search_now()
        self.search.setFocus()

    def report_problem(self) -> None:
        self.ctx.navigate.emit("report", {"title": self.search.text().strip()})
