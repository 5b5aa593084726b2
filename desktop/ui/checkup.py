"""Check my computer: run the probes and the rules, show what was found in plain words.

The check runs in a worker (:func:`desktop.ui.draft.collect`), with a progress bar naming each part of
the computer as its check finishes; the window stays usable all the time, and Stop lets the user go on
without waiting for a slow check (its result is then ignored). Findings are grouped by severity, each
with what to do next, the help articles that answer it (opened in the help screen) and a button that
starts a report about it. Checks that failed or ran out of time are named in a small note.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from desktop.config import Settings
from desktop.diagnostics.findings import CRITICAL, INFO, SEVERITIES, WARNING, Finding
from desktop.diagnostics.runner import FAILED, TIMEOUT
from desktop.kb import Article, KnowledgeBaseError
from desktop.ui import draft
from desktop.ui.context import AppContext
from desktop.ui.finding_texts import probe_title, severity_label, texts
from desktop.ui.main_window import heading
from desktop.ui.workers import Failure, Task, submit

log = logging.getLogger("deskline.ui")

Collector = Callable[..., draft.Collection]

# A severity's colour: the stripe beside a finding. Mid tones, readable on light and dark palettes.
COLOURS = {CRITICAL: "#d64545", WARNING: "#e0a100", INFO: "#3d8fd6"}
ICONS = {
    CRITICAL: QStyle.StandardPixmap.SP_MessageBoxCritical,
    WARNING: QStyle.StandardPixmap.SP_MessageBoxWarning,
    INFO: QStyle.StandardPixmap.SP_MessageBoxInformation,
}


def run_check(collector: Collector, settings: Settings, kb_articles: Callable[[list[str]], dict[str, list[Article]]],
              progress: Callable[[int, int, str], None]) -> tuple[draft.Collection, dict[str, list[Article]]]:
    """The worker's job: collect, then look up the articles for the findings (both may take a while)."""
    collection = collector(settings, progress)
    ids = [f.id for f in collection.found]
    try:
        articles = kb_articles(ids) if ids else {}
    except KnowledgeBaseError as exc:  # help articles are a bonus here: the findings still show
        log.info("no help articles for the findings: %s", exc)
        articles = {}
    return collection, articles


class FindingCard(QFrame):
    """One finding: severity icon, title, what it means, what to do, help articles, and Report."""

    def __init__(self, page: CheckPage, finding: Finding, articles: list[Article]) -> None:
        super().__init__(page.results_box)
        self.finding = finding
        self.setObjectName("FindingCard")
        self.setProperty("severity", finding.severity)
        title, detail, step = texts(finding)
        self.title = title
        colour = COLOURS.get(finding.severity, COLOURS[INFO])
        self.setStyleSheet(
            f"#FindingCard {{ background: palette(base); border: 1px solid palette(mid); border-left: 5px solid "
            f"{colour}; border-radius: 4px; }} #FindingCard QLabel {{ background: transparent; border: none; }}"
        )
        outer = QHBoxLayout(self)
        outer.setContentsMargins(14, 12, 14, 12)
        outer.setSpacing(12)
        icon = QLabel(self)
        icon.setPixmap(self.style().standardIcon(ICONS.get(finding.severity, ICONS[INFO])).pixmap(QSize(24, 24)))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        icon.setAccessibleName(severity_label(finding.severity))
        outer.addWidget(icon)
        body = QVBoxLayout()
        body.setSpacing(6)
        outer.addLayout(body, 1)

        self.title_label = QLabel(title, self)
        font = self.title_label.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.08)
        self.title_label.setFont(font)
        self.title_label.setWordWrap(True)
        self.title_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        body.addWidget(self.title_label)
        self.detail_label = QLabel(detail, self)
        self.detail_label.setWordWrap(True)
        self.detail_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        body.addWidget(self.detail_label)
        self.step_label = QLabel(self)
        self.step_label.setTextFormat(Qt.TextFormat.RichText)
        self.step_label.setText(
            "<b>" + _escape(self.tr("What to do:")) + "</b> " + _escape(step)
        )
        self.step_label.setWordWrap(True)
        self.step_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.step_label.setAccessibleName(self.tr("What to do: %1").replace("%1", step))
        body.addWidget(self.step_label)

        row = QHBoxLayout()
        row.setSpacing(6)
        row.setContentsMargins(0, 4, 0, 0)
        self.article_buttons: list[QPushButton] = []
        if articles:
            label = QLabel(self.tr("Help:"), self)
            row.addWidget(label)
        for article in articles:
            button = QPushButton(article.title, self)
            button.setObjectName("ArticleLink")
            button.setFlat(True)
            button.setCursor(Qt.CursorShape.PointingHandCursor)
            button.setAccessibleName(self.tr("Read the article: %1").replace("%1", article.title))
            button.setToolTip(self.tr("Open this article in Get help"))
            button.clicked.connect(lambda _=False, a=article.id: page.ctx.navigate.emit("help", {"article": a}))
            button.setStyleSheet("QPushButton#ArticleLink { color: palette(link); text-decoration: underline; "
                                 "border: none; padding: 2px 4px; text-align: left; }"
                                 "QPushButton#ArticleLink:focus { border: 1px dotted palette(text); }")
            row.addWidget(button)
            self.article_buttons.append(button)
        row.addStretch(1)
        self.report_button = QPushButton(self.tr("Report this problem"), self)
        self.report_button.setAccessibleName(self.tr("Report this problem: %1").replace("%1", title))
        self.report_button.setAutoDefault(False)
        self.report_button.clicked.connect(
            lambda: page.ctx.navigate.emit("report", {"title": self.title, "finding": finding.id}))
        row.addWidget(self.report_button)
        body.addLayout(row)
        self.setAccessibleName(f"{severity_label(finding.severity)}: {title}")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class CheckPage(QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        # what runs the check: draft.collect (tests put a known Collection or a slow probe set here)
        self.collector: Collector = lambda settings, progress: draft.collect(settings, progress)
        self.task: Task | None = None
        self._run = 0  # the number of the run whose result is awaited; older results are ignored
        self._lookup = 0  # the same for looking up the findings' articles again
        self.collection: draft.Collection | None = None
        self.articles: dict[str, list[Article]] = {}
        self.cards: list[FindingCard] = []
        self.last_progress = ""

        outer = QVBoxLayout(self)
        outer.setContentsMargins(28, 24, 28, 20)
        outer.setSpacing(10)
        self.heading = heading("", self)
        outer.addWidget(self.heading)
        self.intro = QLabel(self)
        self.intro.setWordWrap(True)
        outer.addWidget(self.intro)

        controls = QHBoxLayout()
        controls.setSpacing(10)
        self.start_button = QPushButton(self)
        self.start_button.setObjectName("StartCheck")
        self.start_button.setMinimumHeight(36)
        self.start_button.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Fixed)
        self.setStyleSheet(
            "QPushButton#StartCheck { padding: 7px 20px; background: palette(highlight); color: "
            "palette(highlighted-text); border: 1px solid palette(highlight); border-radius: 4px; font-weight: bold; }"
            "QPushButton#StartCheck:focus { border: 2px solid palette(text); }"
            "QPushButton#StartCheck:disabled { background: palette(button); color: palette(button-text); "
            "border: 1px solid palette(mid); }"
            "QPushButton#StopCheck { padding: 7px 16px; }")
        self.stop_button = QPushButton(self)
        self.stop_button.setObjectName("StopCheck")
        self.stop_button.setMinimumHeight(36)
        self.stop_button.setVisible(False)
        controls.addWidget(self.start_button)
        controls.addWidget(self.stop_button)
        self.progress = QProgressBar(self)
        self.progress.setVisible(False)
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(12)
        self.progress.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        controls.addWidget(self.progress, 1)
        controls.addStretch(0)
        outer.addLayout(controls)
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.status.setObjectName("CheckStatus")
        outer.addWidget(self.status)

        self.scroll = QScrollArea(self)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.results_box = QWidget(self.scroll)
        self.results_box.setObjectName("CheckResults")
        self.results_layout = QVBoxLayout(self.results_box)
        self.results_layout.setContentsMargins(0, 4, 8, 4)
        self.results_layout.setSpacing(10)
        self.results_layout.addStretch(1)
        self.scroll.setWidget(self.results_box)
        outer.addWidget(self.scroll, 1)

        # checks that failed or timed out: a small note, the reasons one click away
        notes = QHBoxLayout()
        notes.setSpacing(6)
        self.probe_note = QLabel(self)
        self.probe_note.setWordWrap(True)
        self.probe_note.setVisible(False)
        quiet = self.probe_note.palette()
        quiet.setColor(QPalette.ColorRole.WindowText, quiet.color(QPalette.ColorRole.PlaceholderText))
        self.probe_note.setPalette(quiet)
        notes.addWidget(self.probe_note, 1)
        self.details_button = QToolButton(self)
        self.details_button.setCheckable(True)
        self.details_button.setVisible(False)
        self.details_button.toggled.connect(lambda on: self.details.setVisible(on))
        notes.addWidget(self.details_button, 0, Qt.AlignmentFlag.AlignTop)
        outer.addLayout(notes)
        self.details = QLabel(self)
        self.details.setWordWrap(True)
        self.details.setVisible(False)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setPalette(quiet)
        outer.addWidget(self.details)

        self.start_button.clicked.connect(self.start)
        self.stop_button.clicked.connect(self.stop)
        self.setFocusProxy(self.start_button)
        self.retranslate()

    # -- texts
    def retranslate(self) -> None:
        self.heading.setText(self.tr("Check my computer"))
        self.heading.setAccessibleName(self.tr("Check my computer"))
        self.intro.setText(self.tr("Deskline looks at the usual causes of trouble (disk space, network, memory, "
                                   "printers, updates and more) and tells you what it finds and what to do. It takes "
                                   "a few seconds, and nothing is sent anywhere."))
        self._set_start_text()
        self.start_button.setAccessibleName(self.start_button.text().replace("&", ""))
        self.stop_button.setText(self.tr("S&top"))
        self.stop_button.setAccessibleName(self.tr("Stop the check"))
        self.progress.setAccessibleName(self.tr("Progress of the check"))
        self.details_button.setText(self.tr("Details"))
        self.details_button.setAccessibleName(self.tr("Show why these checks did not finish"))
        self.scroll.setAccessibleName(self.tr("What the check found"))
        if self.running:
            self.start_button.setText(self.tr("Checking…"))
            self.status.setText(self.last_progress or self.tr("Starting the check…"))
        elif self.collection is not None:
            self._show_results()
            self._refresh_articles()  # the articles in the new language
        else:
            self.status.setText("")

    def _set_start_text(self) -> None:
        if self.collection is None:
            self.start_button.setText(self.tr("&Start the check"))
        else:
            self.start_button.setText(self.tr("&Check again"))
        self.start_button.setAccessibleName(self.start_button.text().replace("&", ""))

    # -- page protocol
    def activate(self) -> None:
        if not self.running:
            self.start_button.setFocus()

    def open(self, arg: Any) -> None:
        if isinstance(arg, dict) and arg.get("start") and not self.running:
            self.start()

    # -- running
    @property
    def running(self) -> bool:
        return self.task is not None

    def start(self) -> None:
        if self.running:
            return
        self._run += 1
        run = self._run
        self.progress.setRange(0, 0)  # busy until the first probe reports how many there are
        self.progress.setVisible(True)
        self.start_button.setEnabled(False)
        self.start_button.setText(self.tr("Checking…"))
        self.stop_button.setVisible(True)
        self.stop_button.setFocus()
        self.last_progress = ""
        self.status.setText(self.tr("Starting the check…"))
        language = self.ctx.language
        self.task = submit(
            run_check, self.collector, self.ctx.settings, lambda ids: self.ctx.kb().for_findings(ids, language),
            # the callbacks are closures, which Qt does not disconnect when the page goes: check it is still there
            on_done=lambda result: isValid(self) and self._done(run, result),
            on_error=lambda failure: isValid(self) and self._failed(run, failure),
            on_progress=lambda done, total, title: isValid(self) and self._progress(run, done, total, title),
        )

    def stop(self) -> None:
        """Go on without waiting: the probes still running finish in the background, unseen."""
        if not self.running:
            return
        self._run += 1
        self._idle()
        self.status.setText(self.tr("The check was stopped."))
        self.start_button.setFocus()

    def _idle(self) -> None:
        self.task = None
        self.progress.setVisible(False)
        self.stop_button.setVisible(False)
        self.start_button.setEnabled(True)
        self._set_start_text()

    def _progress(self, run: int, done: int, total: int, title: str) -> None:
        if run != self._run:
            return
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.last_progress = (self.tr("Checked: %1 (%2 of %3)")
                              .replace("%1", probe_title(self._probe_name(title), title))
                              .replace("%2", str(done)).replace("%3", str(total)))
        self.status.setText(self.last_progress)

    @staticmethod
    def _probe_name(title: str) -> str:
        from desktop.diagnostics import registry

        return next((p.name for p in registry.probes() if p.title == title), title)

    def _done(self, run: int, result: tuple[draft.Collection, dict[str, list[Article]]]) -> None:
        if run != self._run:
            return
        self.collection, self.articles = result
        self._idle()
        self._show_results()
        self.start_button.setFocus()

    def _failed(self, run: int, failure: Failure) -> None:
        if run != self._run:
            return
        self._idle()
        self._clear_results()
        self.status.setText(self.tr("The check could not be run. Try again; if it keeps failing, report the problem "
                                    "and IT support will look at it."))
        self.details.setText(failure.details)
        self.details_button.setVisible(True)
        self.details_button.setChecked(False)

    def show_collection(self, collection: draft.Collection, articles: dict[str, list[Article]] | None = None) -> None:
        """Show an existing collection (the report wizard's, or a test's) without running the probes."""
        self._run += 1
        self._idle()
        self.collection = collection
        self.articles = articles or {}
        self._set_start_text()
        self._show_results()
        if articles is None:
            self._refresh_articles()

    def _refresh_articles(self) -> None:
        """Look the findings' articles up again (in the current language) in a worker, then show them."""
        collection = self.collection
        if collection is None or not collection.found:
            return
        ids, language = [f.id for f in collection.found], self.ctx.language
        self._lookup += 1
        lookup_number = self._lookup

        def lookup() -> dict[str, list[Article]]:
            try:
                return self.ctx.kb().for_findings(ids, language)
            except KnowledgeBaseError as exc:
                log.info("no help articles for the findings: %s", exc)
                return {}

        def done(articles: dict[str, list[Article]]) -> None:
            if isValid(self) and lookup_number == self._lookup and self.collection is collection and not self.running:
                self.articles = articles
                self._show_results()

        submit(lookup, on_done=done)

    # -- showing the results
    def _clear_results(self) -> None:
        self.cards = []
        while self.results_layout.count() > 1:
            item = self.results_layout.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()

    def _add(self, widget: QWidget) -> None:
        self.results_layout.insertWidget(self.results_layout.count() - 1, widget)

    def _show_results(self) -> None:
        collection = self.collection
        if collection is None:
            return
        self._clear_results()
        found = collection.found
        checked = [o for o in collection.outcomes if o.ok]
        names = ", ".join(probe_title(o.name, o.title) for o in checked)
        if not found:
            self.status.setText("")
            self._add(self._all_good(names))
        else:
            counts = {s: sum(1 for f in found if f.severity == s) for s in SEVERITIES}
            problems = counts[CRITICAL] + counts[WARNING]
            # English has no .ts file, so "(s)" would show: one and many are separate sentences
            if problems == 1:
                summary = self.tr("Deskline found one thing to look at.")
            elif problems:
                summary = self.tr("Deskline found %n things to look at.", "", problems)
            elif counts[INFO] == 1:
                summary = self.tr("No problems found, only a note for your information.")
            else:
                summary = self.tr("No problems found, only %n notes for your information.", "", counts[INFO])
            self.status.setText(summary)
            for severity in SEVERITIES:
                group = [f for f in found if f.severity == severity]
                if not group:
                    continue
                self._add(self._group_heading(severity, len(group)))
                for finding in group:
                    card = FindingCard(self, finding, self.articles.get(finding.id, []))
                    self.cards.append(card)
                    self._add(card)
            self._add(self._checked_line(names))
        self._show_probe_note(collection)
        self.setTabOrder(self.start_button, self.stop_button)

    def _group_heading(self, severity: str, count: int) -> QWidget:
        label = QLabel(f"{severity_label(severity)} ({count})", self.results_box)
        font = label.font()
        font.setBold(True)
        label.setFont(font)
        label.setContentsMargins(0, 8, 0, 0)
        label.setObjectName(f"Group-{severity}")
        return label

    def _checked_line(self, names: str) -> QLabel:
        label = QLabel(self.tr("Checked: %1.").replace("%1", names), self.results_box)
        label.setWordWrap(True)
        quiet = label.palette()
        quiet.setColor(QPalette.ColorRole.WindowText, quiet.color(QPalette.ColorRole.PlaceholderText))
        label.setPalette(quiet)
        return label

    def _all_good(self, names: str) -> QWidget:
        box = QFrame(self.results_box)
        box.setObjectName("AllGood")
        box.setStyleSheet("#AllGood { background: palette(base); border: 1px solid palette(mid); "
                          "border-left: 5px solid #2e9d5b; border-radius: 4px; }"
                          "#AllGood QLabel { background: transparent; border: none; }")
        row = QHBoxLayout(box)
        row.setContentsMargins(16, 14, 16, 14)
        row.setSpacing(14)
        icon = QLabel(box)
        icon.setPixmap(self.style().standardIcon(QStyle.StandardPixmap.SP_DialogApplyButton).pixmap(QSize(32, 32)))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        row.addWidget(icon)
        text = QVBoxLayout()
        title = QLabel(self.tr("No problems found"), box)
        title.setObjectName("NoProblems")
        font = title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.2)
        title.setFont(font)
        text.addWidget(title)
        what = QLabel(self.tr("Everything Deskline checks looks fine: %1. If something still does not work, "
                              "describe it in Get help or report it.").replace("%1", names), box)
        what.setWordWrap(True)
        text.addWidget(what)
        row.addLayout(text, 1)
        box.setAccessibleName(self.tr("No problems found"))
        return box

    def _show_probe_note(self, collection: draft.Collection) -> None:
        bad = [o for o in collection.outcomes if o.status in (FAILED, TIMEOUT)]
        self.details_button.setChecked(False)
        if not bad:
            self.probe_note.setVisible(False)
            self.details_button.setVisible(False)
            self.details.setVisible(False)
            return
        parts = []
        for o in bad:
            how = self.tr("took too long") if o.status == TIMEOUT else self.tr("failed")
            parts.append(self.tr("%1 (%2)").replace("%1", probe_title(o.name, o.title)).replace("%2", how))
        self.probe_note.setText(self.tr("Some checks did not finish, so their problems are not shown: %1.")
                                .replace("%1", ", ".join(parts)))
        self.probe_note.setVisible(True)
        self.details.setText("\n".join(f"{o.name}: {o.status}: {o.error or ''}" for o in bad))
        self.details_button.setVisible(True)

