"""Review before sending, and the panel shown after: nothing leaves the machine without the review.

:class:`ReviewPanel` lists everything a report would carry (the user's words, the findings, each section
of the system report, the attached files and screenshots) in a tree with a check box per item, shows
the secrets that redaction masked (a badge per item, highlighted in the preview), a readable preview of
the selected item or of the whole summary, and a live size meter against the helpdesk's limit. Its
:meth:`ReviewPanel.send` files the trimmed report into the outbox (or adds it to an earlier ticket).

:class:`SentPanel` shows the incident number and follows the report through the outbox: waiting,
sending, sent (with the helpdesk's ticket), or not sent with the reason and a Retry button.

The work (redaction, building the bundle, the outbox) runs in workers; the functions above the widgets
are plain Python, so they can be tested and reused without Qt.
"""

from __future__ import annotations

import dataclasses
import html
import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDateTime, QLocale, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QBrush, QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QTextBrowser,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from desktop.config import REVIEW_KINDS, Settings
from desktop.connectors.base import ConnectorInfo
from desktop.diagnostics.redaction import Masking, Redactor
from desktop.diagnostics.report import Attachment, Report
from desktop.errors import ReportError
from desktop.outbox import OutboxError, OutboxFullError, incident_label
from desktop.ui import finding_texts
from desktop.ui.context import AppContext
from desktop.ui.draft import Collection, Draft, make_report
from desktop.ui.i18n import human_size, plural
from desktop.ui.main_window import heading
from desktop.ui.workers import Failure, submit

log = logging.getLogger("deskline.ui")

# How long after the last tick change the size is measured again (milliseconds).
DEBOUNCE_MS = 250
# How often the sent panel looks at the outbox while the report is still on its way (milliseconds).
POLL_MS = 2000
# A text attachment's preview shows at most this much of it (characters).
PREVIEW_CHARS = 60_000

# A masked secret or a pseudonym in rendered (escaped) text.
_MASKED_RE = re.compile(r"\[REDACTED [a-z0-9:-]+\]|&lt;(?:user|host|domain|email|ipv4|ipv6)-\d+&gt;")
_HIGHLIGHT_STYLE = "background-color:#ffe27a;color:#1d2125;font-weight:600"
# The report's own styles (desktop.diagnostics.render.CSS) in what Qt's rich text draws; findings keep
# their light boxes with dark text in both themes, everything else takes the palette's colours.
PREVIEW_CSS = """
div.finding { background-color: #fff4e0; color: #1d2125; margin-top: 6px; margin-bottom: 6px; }
div.critical { background-color: #fdecea; } div.warning { background-color: #fff4e0; }
div.info { background-color: #eaf2fb; }
div.sev { font-weight: bold; font-size: small; text-transform: uppercase; }
p.ok { color: #2e7d32; } p.bad { color: #c62828; } th { text-align: left; } dt { font-weight: bold; }
"""
_IMAGE_TYPES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp")

Key = tuple[Any, ...]  # an item of the review: ("title",), ("description",), ("probe", name), ("file", i), ...


# ----------------------------------------------------------------------------------------- plain logic

@dataclass(frozen=True)
class Selection:
    """What the user left ticked: indexes into the draft's findings, files and screenshots; probe names."""

    description: bool = True
    findings: tuple[int, ...] = ()
    probes: tuple[str, ...] = ()
    files: tuple[int, ...] = ()
    screenshots: tuple[int, ...] = ()

    @classmethod
    def everything(cls, draft: Draft) -> Selection:
        c = draft.collection
        return cls(True, tuple(range(len(c.found))) if c else (), tuple(o.name for o in c.outcomes) if c else (),
                   tuple(range(len(draft.files))), tuple(range(len(draft.screenshots))))


def trimmed_draft(draft: Draft, selection: Selection) -> Draft:
    """A copy of ``draft`` with only the ticked findings, files and screenshots (the draft is not changed)."""
    collection = draft.collection
    if collection is not None:
        collection = dataclasses.replace(
            collection, found=[f for i, f in enumerate(collection.found) if i in selection.findings])
    return dataclasses.replace(
        draft,
        description=draft.description if selection.description else "",
        started=draft.started if selection.description else "",
        steps=draft.steps if selection.description else "",
        files=[p for i, p in enumerate(draft.files) if i in selection.files],
        screenshots=[p for i, p in enumerate(draft.screenshots) if i in selection.screenshots],
        collection=collection,
    )


def build_report(draft: Draft, settings: Settings, selection: Selection) -> Report:
    """The redacted report of what is ticked, exactly as it would be filed."""
    trimmed = trimmed_draft(draft, selection)
    return make_report(trimmed, settings, probes=list(selection.probes), findings=bool(selection.findings))


def redact_words(title: str, description: str) -> tuple[str, str, int]:
    """The user's title and words with secrets masked (a password typed into the description must not
    leave either), and how many were masked."""
    redactor = Redactor()
    title = redactor.redact_text(title, where="title")
    description = redactor.redact_text(description, where="description")
    return title, description, sum(m.count for m in redactor.maskings)


def review_needed(draft: Draft, settings: Settings) -> bool:
    """False only when the policy ``report.review_skip`` names every kind of item this draft holds."""
    kinds = {"summary"}
    c = draft.collection
    if c is None or c.outcomes:  # still collecting: assume it will carry a system report and findings
        kinds.add("system_report")
    if c is None or c.found:
        kinds.add("findings")
    if draft.files:
        kinds.add("attachments")
    if draft.screenshots:
        kinds.add("screenshots")
    assert kinds <= set(REVIEW_KINDS)
    return not kinds <= set(settings["report.review_skip"])


_info_cache: dict[str, ConnectorInfo | None] = {}
_info_lock = threading.Lock()


def backend_info(settings: Settings) -> ConnectorInfo | None:
    """What the configured helpdesk accepts (sizes, file types); None when it cannot be set up (the
    delivery service tells the user why). Cached per helpdesk settings; call it from a worker."""
    from desktop.connectors import registry
    from desktop.delivery import settings_fingerprint

    key = settings["helpdesk.backend"] + ":" + settings_fingerprint(settings)
    with _info_lock:
        if key in _info_cache:
            return _info_cache[key]
    try:
        connector = registry.from_settings(settings)
    except Exception as exc:  # noqa: BLE001 - a connector that cannot start only costs the size check
        log.debug("no connector info for %s: %s", settings["helpdesk.backend"], exc)
        info = None
    else:
        info = connector.info
        try:
            connector.close()
        except Exception:  # noqa: BLE001
            log.debug("closing the connector failed", exc_info=True)
    with _info_lock:
        _info_cache[key] = info
    return info


def piece_limit(info: ConnectorInfo | None) -> int | None:
    """The largest file the helpdesk takes (files go one per request, so a request's limit bounds each)."""
    if info is None:
        return None
    limits = [n for n in (info.max_attachment_bytes, info.max_total_bytes) if n is not None]
    return min(limits) if limits else None


@dataclass(frozen=True)
class Piece:
    """One thing sent as a file: the report bundle (key ``("report",)``) or an attachment."""

    key: Key
    name: str
    size: int  # bytes
    refused: str = ""  # "" (fine), "size" (over the helpdesk's limit) or "type" (a type it does not take)


@dataclass
class Measure:
    """The size of what is ticked: the report exactly as filed and the files it sends."""

    report: Report
    pieces: list[Piece]
    limit: int | None  # bytes per file, None when the helpdesk sets none

    @property
    def total(self) -> int:
        return sum(p.size for p in self.pieces)

    @property
    def largest(self) -> Piece | None:
        return max(self.pieces, key=lambda p: p.size, default=None)

    @property
    def refused(self) -> list[Piece]:
        return [p for p in self.pieces if p.refused]


def _attachment_keys(selection: Selection) -> list[Key]:
    return [("file", i) for i in selection.files] + [("shot", i) for i in selection.screenshots]


def measure(draft: Draft, settings: Settings, selection: Selection,
            info_of: Callable[[Settings], ConnectorInfo | None] = backend_info,
            known: Analysis | None = None) -> Measure:
    """Build the ticked report and size what goes: its bundle and every file (call from a worker).

    With ``known`` (the analysis of this draft) the files' redacted content is taken from it instead of
    redacting them again (seconds for a log of a few MB); the system report is always built anew.
    """
    from desktop.delivery import fit_name, report_payload
    from desktop.outbox import Part

    keys = _attachment_keys(selection)
    if known is not None and all(k in known.attachments for k in keys):
        bare = build_report(draft, settings, dataclasses.replace(selection, files=(), screenshots=()))
        attachments = [known.attachments[k] for k in keys]
        names = {a.name for a in attachments}
        document = dict(bare.document)
        document["attachments"] = [a.describe() for a in attachments]
        masked = [m for m in known.report.document["redaction"]["maskings"]
                  if m["where"].startswith("attachments/") and m["where"][len("attachments/"):] in names]
        document["redaction"] = {**bare.document["redaction"],
                                 "maskings": [*bare.document["redaction"]["maskings"], *masked]}
        report = Report(document, attachments)
    else:
        report = build_report(draft, settings, selection)
    info = info_of(settings)
    limit = piece_limit(info)
    part = Part(0, "report", "deskline-report.zip", "application/zip", 0, "", True, "pending", "", False)
    if info is not None:
        _name, _type, data = report_payload(report.document, part, info)
    else:
        from desktop.diagnostics.bundle import bundle_bytes

        data = bundle_bytes(Report(report.document, []))
    pieces = [Piece(("report",), part.name, len(data), "size" if limit and len(data) > limit else "")]
    for key, att in zip(keys, report.attachments, strict=True):
        refused = ""
        if info is not None and fit_name(info, att.name, att.media_type) is None:
            refused = "type"
        elif limit and len(att.content) > limit:
            refused = "size"
        pieces.append(Piece(key, att.name, len(att.content), refused))
    return Measure(report, pieces, limit)


@dataclass
class Analysis:
    """The whole draft redacted once, for the tree's badges and the previews."""

    report: Report
    attachments: dict[Key, Attachment]  # ("file", i) / ("shot", i) -> its redacted content
    unreadable: dict[Key, str]  # files that cannot be read -> why
    secrets: dict[Key, int] = field(default_factory=dict)  # masked secrets per item
    names: dict[Key, int] = field(default_factory=dict)  # pseudonyms per item
    probe_sizes: dict[str, int] = field(default_factory=dict)  # bytes of each section's data (JSON)
    title: str = ""
    description: str = ""
    words_masked: int = 0


def _masking_key(m: Masking, names: dict[str, Key]) -> Key | None:
    where = m.where
    if where.startswith("probes."):
        return ("probe", where.split(".", 2)[1])
    if where.startswith("findings["):
        index = where[len("findings["):].split("]", 1)[0]
        return ("finding", int(index)) if index.isdigit() else None
    if where.startswith("attachments/"):
        return names.get(where[len("attachments/"):])
    return None


def analyse(draft: Draft, settings: Settings) -> Analysis:
    """Redact everything the draft could send (call from a worker); files that cannot be read are left
    out and named, so one deleted file does not hide the rest."""
    if draft.collection is None:  # still collecting: the user's files can be looked at already
        draft = dataclasses.replace(draft, collection=Collection([], [], datetime.now(UTC), {}))
    paths: list[tuple[Key, Path]] = [(("file", i), p) for i, p in enumerate(draft.files)]
    paths += [(("shot", i), p) for i, p in enumerate(draft.screenshots)]
    unreadable: dict[Key, str] = {}
    for key, path in paths:
        try:
            with open(path, "rb"):
                pass
        except OSError as exc:
            unreadable[key] = exc.strerror or str(exc)
    readable = [(k, p) for k, p in paths if k not in unreadable]
    probe_names = [o.name for o in draft.collection.outcomes] if draft.collection else []
    selection = Selection(True, tuple(range(len(draft.collection.found))) if draft.collection else (),
                          tuple(probe_names), tuple(k[1] for k, _ in readable if k[0] == "file"),
                          tuple(k[1] for k, _ in readable if k[0] == "shot"))
    report = build_report(draft, settings, selection)
    keys = _attachment_keys(selection)
    attachments = dict(zip(keys, report.attachments, strict=True))
    by_name = {att.name: key for key, att in attachments.items()}
    out = Analysis(report, attachments, unreadable)
    for m in report.document["redaction"]["maskings"]:
        masking = Masking(m["kind"], m["where"], m.get("line"), int(m.get("count", 1)))
        key = _masking_key(masking, by_name)
        if key is None:
            continue
        target = out.names if masking.kind.startswith("pseudonym:") else out.secrets
        target[key] = target.get(key, 0) + masking.count
    for name, entry in report.document["probes"].items():
        out.probe_sizes[name] = len(json.dumps(entry, ensure_ascii=False))
    out.title, out.description, out.words_masked = redact_words(draft.title, draft.full_description())
    return out


# Reports added to an earlier ticket as a comment: id(ctx) -> {incident number: the comment's id}, so the
# sent panel (told only the number) follows the comment rather than the earlier report.
_additions: dict[int, dict[int, int]] = {}


AnalysisKey = tuple[Any, ...]


def analysis_key(draft: Draft, settings: Settings) -> AnalysisKey:
    """What an analysis depends on: the words, the files as they are on disk, the collection, the settings."""
    def stat(path: Path) -> tuple[str, int, int]:
        try:
            st = path.stat()
        except OSError:
            return (str(path), -1, -1)
        return (str(path), st.st_size, st.st_mtime_ns)

    return (draft.title, draft.full_description(), tuple(stat(p) for p in draft.files),
            tuple(stat(p) for p in draft.screenshots), id(draft.collection), settings["report.pseudonymize"],
            settings["report.keep_private_ips"])


def analyse_again(draft: Draft, settings: Settings,
                  previous: tuple[AnalysisKey, Analysis] | None) -> tuple[AnalysisKey, Analysis]:
    """:func:`analyse`, or the previous analysis when nothing it depends on changed (the wizard shows
    the review again after the user went back without changing anything)."""
    key = analysis_key(draft, settings)
    if previous is not None and previous[0] == key:
        return previous
    return key, analyse(draft, settings)


def file_draft(ctx: AppContext, draft: Draft, settings: Settings, selection: Selection) -> int:
    """File the ticked report in the outbox (or add it to ``draft.add_to``'s ticket); the incident number.

    Call from a worker: ``ctx.outbox()`` gives this thread its own connection.
    """
    from desktop.delivery import file_report

    report = build_report(draft, settings, selection)
    title, description, _masked = redact_words(draft.title, trimmed_draft(draft, selection).full_description())
    box = ctx.outbox()
    if draft.add_to is not None:
        from desktop.diagnostics.bundle import bundle_bytes

        files = list(report.attachments)
        if selection.probes or selection.findings:
            stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
            files.insert(0, Attachment(f"deskline-report-{stamp}.zip", bundle_bytes(Report(report.document, [])),
                                       "application/zip", True))
        text = "\n\n".join(t for t in (" ".join(title.split()), description.strip()) if t)
        comment = box.add_followup(draft.add_to, "comment", text=text, attachments=files)
        _additions.setdefault(id(ctx), {})[draft.add_to] = comment.id
        return draft.add_to
    entry = file_report(box, report, title=title, description=description, category=draft.category,
                        impact=draft.impact, urgency=draft.urgency,
                        reporter_name=settings["helpdesk.reporter_name"],
                        reporter_email=settings["helpdesk.reporter_email"])
    return entry.id


def probe_summary(section: Any) -> str:
    """A short line for a section of the system report: its first facts."""
    if section.status != "ok":
        return f"{section.status}: {section.error or ''}".strip(": ")
    facts = [f"{k}: {v}" for k, v in section.rows if v not in ("—", "")][:2]
    text = "; ".join(facts)
    if not facts and section.tables:
        text = ", ".join(f"{t.title} ({len(t.rows) + t.more})" for t in section.tables[:3])
    return text if len(text) <= 90 else text[:89].rstrip() + "…"


_WIDE_RE = re.compile(r'<div class="wide">.*?</table></div>', re.S)


def unsqueezed(text_html: str) -> str:
    """Rendered sections with the cells of wide tables kept on one line: the preview scrolls sideways
    instead of breaking a column into a letter per line."""
    return _WIDE_RE.sub(lambda m: m.group(0).replace("<td>", '<td style="white-space:nowrap">').replace(
        "<th>", '<th style="white-space:nowrap">'), text_html)


_SEV_RE = re.compile(r'(<div class="sev">[^<]*)</div>')


def highlight(text_html: str) -> str:
    """Rendered HTML with every masked secret and pseudonym on a yellow background (and a finding's
    severity on its own line: Qt's rich text runs a nested block into the text after it)."""
    text_html = _SEV_RE.sub(r"\1</div><br>", text_html)
    return _MASKED_RE.sub(lambda m: f'<span style="{_HIGHLIGHT_STYLE}">{m.group(0)}</span>', text_html)


def _para(text: str, *, italic: bool = False) -> str:
    """``text`` as an HTML paragraph of the preview. (Translated strings are passed in, never written
    inside an f-string: lupdate does not see a tr() call there, and the string stays English.)"""
    body = html.escape(text)
    return f"<p><i>{body}</i></p>" if italic else f"<p>{body}</p>"


# ------------------------------------------------------------------------------------------ widgets

def alive(widget: QWidget, fn: Callable[..., None]) -> Callable[..., None]:
    """``fn`` for a worker's callback, skipped once ``widget`` is gone (a result may arrive late)."""

    def call(*args: Any) -> None:
        if isValid(widget):
            fn(*args)

    return call


def _muted_label(text: str, parent: QWidget) -> QLabel:
    label = QLabel(text, parent)
    label.setWordWrap(True)
    palette = label.palette()
    palette.setColor(QPalette.ColorRole.WindowText, palette.color(QPalette.ColorRole.PlaceholderText))
    label.setPalette(palette)
    return label


class _ErrorBox(QFrame):
    """What went wrong, in the user's words, with the technical details one click away."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("ErrorBox")
        self.setStyleSheet("#ErrorBox { border: 1px solid #c62828; border-radius: 6px; }")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        row = QHBoxLayout()
        self.message = QLabel(self)
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row.addWidget(self.message, 1)
        self.toggle = QPushButton(self)
        self.toggle.setCheckable(True)
        self.toggle.toggled.connect(self._toggled)
        row.addWidget(self.toggle, 0, Qt.AlignmentFlag.AlignTop)
        layout.addLayout(row)
        self.details = QPlainTextEdit(self)
        self.details.setReadOnly(True)
        self.details.setMaximumHeight(140)
        self.details.hide()
        layout.addWidget(self.details)
        self.retranslate()
        self.hide()

    def retranslate(self) -> None:
        self.toggle.setText(self.tr("Hide details") if self.toggle.isChecked() else self.tr("Show details"))
        self.toggle.setAccessibleName(self.tr("Technical details"))
        self.details.setAccessibleName(self.tr("Technical details"))
        self.message.setAccessibleName(self.tr("What went wrong"))

    def show_problem(self, message: str, details: str = "") -> None:
        self.message.setText(message)
        self.details.setPlainText(details)
        self.toggle.setVisible(bool(details))
        self.toggle.setChecked(False)
        self.show()

    def _toggled(self, on: bool) -> None:
        self.details.setVisible(on)
        self.retranslate()


class ReviewPanel(QWidget):
    """Everything that would leave the machine, to tick or untick, with previews and the size to send."""

    # The report is durable in the outbox: its incident number (or the number of the ticket it was added to).
    filed = Signal(int)
    # Filing failed: what happened and what to do, in the user's words (nothing typed is lost).
    failed = Signal(str)
    # Sending became possible or impossible (collection finished, filing started or ended).
    sendableChanged = Signal(bool)
    # The redacted preview of the draft is ready (badges, summaries, previews filled in).
    analysed = Signal()
    # The size of what is ticked was measured again (the meter shows it).
    measured = Signal()

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.draft: Draft | None = None
        self.analysis: Analysis | None = None
        self.last_measure: Measure | None = None
        self.sending = False
        self._generation = 0  # bumps with every new draft or tick change; late worker results are dropped
        self._draft_generation = 0  # bumps with every new draft; a late analysis of an older one is dropped
        self._analysis_cache: tuple[AnalysisKey, Analysis] | None = None
        self._unticked: set[Key] = set()  # what the user unticked, kept across set_draft calls
        self._files: tuple[tuple[Path, ...], tuple[Path, ...]] = ((), ())
        self._held: set[Key] = set()  # findings unticked because their section is: ticked again with it
        self._items: dict[Key, QTreeWidgetItem] = {}
        self._groups: dict[str, QTreeWidgetItem] = {}
        self._updating = False
        self._whole = False  # the preview shows the whole summary

        # The wizard around this panel gives the heading, the steps and the Send button; the panel's own
        # Send button is for using it on its own (show it with set_send_button_visible).
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(10)
        self.intro = QLabel(self)
        self.intro.setWordWrap(True)
        outer.addWidget(self.intro)

        self.pending = QFrame(self)
        pending = QHBoxLayout(self.pending)
        pending.setContentsMargins(0, 0, 0, 0)
        self.pending_label = QLabel(self.pending)
        self.pending_label.setWordWrap(True)
        pending.addWidget(self.pending_label, 1)
        self.pending_bar = QProgressBar(self.pending)
        self.pending_bar.setRange(0, 0)
        self.pending_bar.setMaximumWidth(220)
        self.pending_bar.setTextVisible(False)
        pending.addWidget(self.pending_bar)
        self.pending.hide()
        outer.addWidget(self.pending)

        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setChildrenCollapsible(False)
        left = QWidget(self.splitter)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        self.tree_label = QLabel(left)
        left_layout.addWidget(self.tree_label)
        self.tree = QTreeWidget(left)
        self.tree.setColumnCount(3)
        self.tree.setUniformRowHeights(False)
        self.tree.setAlternatingRowColors(False)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideRight)
        header = self.tree.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.tree_label.setBuddy(self.tree)
        left_layout.addWidget(self.tree, 1)
        self.never_note = _muted_label("", left)
        self.never_note.hide()
        left_layout.addWidget(self.never_note)

        right = QWidget(self.splitter)
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        preview_row = QHBoxLayout()
        self.preview_label = QLabel(right)
        preview_row.addWidget(self.preview_label, 1)
        self.whole_button = QPushButton(right)
        self.whole_button.setCheckable(True)
        self.whole_button.toggled.connect(self._whole_toggled)
        preview_row.addWidget(self.whole_button)
        right_layout.addLayout(preview_row)
        self.preview = QTextBrowser(right)
        self.preview.setOpenLinks(False)
        self.preview.document().setDefaultStyleSheet(PREVIEW_CSS)
        self.preview.document().setDocumentMargin(8)
        self.preview_label.setBuddy(self.preview)
        right_layout.addWidget(self.preview, 1)
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 11)
        self.splitter.setStretchFactor(1, 9)
        outer.addWidget(self.splitter, 1)

        size_row = QHBoxLayout()
        self.size_caption = QLabel(self)
        size_row.addWidget(self.size_caption)
        self.meter = QProgressBar(self)
        self.meter.setRange(0, 1)
        self.meter.setValue(0)
        self.meter.setTextVisible(True)
        self.meter.setMinimumWidth(330)
        self.meter.setMaximumWidth(440)
        self.size_caption.setBuddy(self.meter)
        size_row.addWidget(self.meter)
        self.size_text = QLabel(self)
        self.size_text.setWordWrap(True)
        self.size_text.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        size_row.addWidget(self.size_text, 1)
        outer.addLayout(size_row)
        self.over_note = QLabel(self)
        self.over_note.setWordWrap(True)
        self.over_note.setStyleSheet("color: #d32f2f; font-weight: 600;")
        self.over_note.hide()
        outer.addWidget(self.over_note)

        self.error_box = _ErrorBox(self)
        outer.addWidget(self.error_box)

        buttons = QHBoxLayout()
        self.status = _muted_label("", self)
        buttons.addWidget(self.status, 1)
        self.send_button = QPushButton(self)
        self.send_button.setDefault(True)
        self.send_button.setAutoDefault(True)
        self.send_button.clicked.connect(self.send)
        buttons.addWidget(self.send_button)
        self.send_button.hide()
        outer.addLayout(buttons)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self._measure_now)
        self.tree.itemChanged.connect(self._item_changed)
        ctx.settingsChanged.connect(self._settings_changed)
        self.tree.currentItemChanged.connect(self._current_changed)
        self.setTabOrder(self.tree, self.whole_button)
        self.setTabOrder(self.whole_button, self.preview)
        self.setTabOrder(self.preview, self.send_button)
        self.retranslate()
        self._update_sendable()

    # -- texts
    def retranslate(self) -> None:
        self.intro.setText(self.tr(
            "Everything below leaves this computer with your report. Passwords and other secrets we found "
            "are hidden before sending; the preview marks them in yellow."))
        self.pending_label.setText(self.tr(
            "Still collecting information about your computer. You can look through everything already; "
            "sending will be possible in a moment."))
        self.pending_bar.setAccessibleName(self.tr("Collecting information about your computer"))
        self.tree_label.setText(self.tr("&What will be sent"))
        self.tree.setHeaderLabels([self.tr("Item"), self.tr("Size"), self.tr("Hidden")])
        self.tree.setAccessibleName(self.tr("What will be sent"))
        self.tree.setAccessibleDescription(self.tr("Press Space to tick or untick the selected item."))
        self.preview_label.setText(self.tr("&Preview"))
        self.preview.setAccessibleName(self.tr("Preview"))
        self.whole_button.setText(self.tr("Whole summary"))
        self.whole_button.setAccessibleName(self.tr("Show the whole summary"))
        self.whole_button.setToolTip(self.tr("Show the whole summary of the system report as the helpdesk "
                                             "will read it"))
        self.size_caption.setText(self.tr("Size:"))
        self.meter.setAccessibleName(self.tr("Size of what will be sent"))
        self.send_button.setText(self.tr("&Send report"))
        self.send_button.setAccessibleName(self.tr("Send report"))
        self.error_box.retranslate()
        if self.draft is not None:
            self._rebuild()
        self._show_measure()
        self._show_never_sent()
        self._update_sendable()

    def probe_title(self, name: str, fallback: str) -> str:
        from desktop.ui.finding_texts import probe_title

        return probe_title(name, fallback)

    # -- the interface the wizard uses
    def set_draft(self, draft: Draft) -> None:
        """Show ``draft`` (called again when the background collection finished); ticks are kept."""
        files = (tuple(draft.files), tuple(draft.screenshots))
        if files != self._files:  # files added or removed: ticks by position no longer fit
            self._unticked = {k for k in self._unticked if k[0] not in ("file", "shot")}
        self._files = files
        self.draft = draft
        self.analysis = None
        self.last_measure = None
        self._draft_generation += 1
        self.error_box.hide()
        self._rebuild()
        self._show_never_sent()
        self._update_sendable()
        generation = self._draft_generation
        submit(analyse_again, draft, self.ctx.settings, self._analysis_cache,
               on_done=alive(self, lambda result: self._analysed(generation, result)),
               on_error=alive(self, lambda failure: self._analysis_failed(generation, failure)))
        self._generation += 1  # a measurement under way is of the previous draft
        self._show_measure()
        if draft.collection is not None:
            self.size_text.setText(self.tr("Measuring…"))

    def _settings_changed(self) -> None:
        """Another helpdesk (other limits) or other never-sent parts: say so and measure again."""
        self._show_never_sent()
        if self.draft is not None and self.draft.collection is not None:
            self._schedule_measure()

    def set_collection_progress(self, done: int, total: int, text: str = "") -> None:
        """Optional: the wizard may pass its collection progress here while ``draft.collection`` is None."""
        self.pending_bar.setRange(0, max(total, 0))
        self.pending_bar.setValue(done)
        if text:
            self.pending_bar.setToolTip(text)

    def set_send_button_visible(self, visible: bool) -> None:
        """Show the panel's own Send button (when it is used outside the wizard, which has its own)."""
        self.send_button.setVisible(visible)

    def review_needed(self) -> bool:
        return True if self.draft is None else review_needed(self.draft, self.ctx.settings)

    def can_send(self) -> bool:
        return self.draft is not None and self.draft.collection is not None and not self.sending

    def selection(self) -> Selection:
        """What is ticked now."""
        draft = self.draft
        if draft is None:
            return Selection()

        def ticked(key: Key) -> bool:
            item = self._items.get(key)
            return item is not None and item.checkState(0) == Qt.CheckState.Checked and not item.isDisabled()

        c = draft.collection
        unreadable = self.analysis.unreadable if self.analysis else {}
        return Selection(
            description=ticked(("description",)),
            findings=tuple(i for i in range(len(c.found) if c else 0) if ticked(("finding", i))),
            probes=tuple(o.name for o in (c.outcomes if c else []) if ticked(("probe", o.name))),
            files=tuple(i for i in range(len(draft.files)) if ticked(("file", i)) and ("file", i) not in unreadable),
            screenshots=tuple(i for i in range(len(draft.screenshots))
                              if ticked(("shot", i)) and ("shot", i) not in unreadable),
        )

    def send(self) -> None:
        """File the ticked report (in a worker); ``filed(number)`` or ``failed(message)`` follows."""
        if self.sending or self.draft is None:
            return
        draft = self.draft
        if draft.collection is None:
            self._fail(self.tr("The information about your computer is still being collected. Please wait a "
                               "moment, then press Send again."))
            return
        if not " ".join(draft.title.split()):
            self._fail(self.tr("Your report needs a title. Go back, give it a short title, then send it again."))
            return
        self.sending = True
        self.error_box.hide()
        self.status.setText(self.tr("Saving your report…"))
        self.tree.setEnabled(False)
        self._update_sendable()
        ctx = self.ctx

        def done(number: int) -> None:
            # the report is in the outbox: the delivery service hears of it even if this screen is gone
            ctx.outboxChanged.emit()
            ctx.deliveryRequested.emit()
            if isValid(self):
                self._filed(number)

        submit(file_draft, ctx, draft, ctx.settings, self.selection(), on_done=done,
               on_error=alive(self, self._file_failed))

    # -- building the tree
    def _rebuild(self) -> None:
        """(Re)build the tree from the draft, keeping the user's ticks and the current item."""
        draft = self.draft
        assert draft is not None
        current = self.tree.currentItem()
        current_key = current.data(0, Qt.ItemDataRole.UserRole) if current else None
        self._updating = True
        self.tree.clear()
        self._items.clear()
        self._groups.clear()
        flags_leaf = (Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsUserCheckable)
        flags_group = flags_leaf | Qt.ItemFlag.ItemIsAutoTristate

        def group(name: str, text: str) -> QTreeWidgetItem:
            item = QTreeWidgetItem(self.tree, [text, "", ""])
            item.setFlags(flags_group)
            item.setData(0, Qt.ItemDataRole.UserRole, ("group", name))
            font = item.font(0)
            font.setBold(True)
            item.setFont(0, font)
            self._groups[name] = item
            return item

        def leaf(parent: QTreeWidgetItem, key: Key, text: str, *, checkable: bool = True) -> QTreeWidgetItem:
            item = QTreeWidgetItem(parent, [text, "", ""])
            item.setFlags(flags_leaf if checkable else flags_leaf & ~Qt.ItemFlag.ItemIsUserCheckable)
            item.setData(0, Qt.ItemDataRole.UserRole, key)
            item.setCheckState(0, Qt.CheckState.Unchecked if key in self._unticked else Qt.CheckState.Checked)
            self._items[key] = item
            return item

        words = group("words", self.tr("Your description"))
        title = leaf(words, ("title",), "", checkable=False)
        title.setToolTip(0, self.tr("The title is always sent: it is how the helpdesk finds your report."))
        if draft.full_description():
            leaf(words, ("description",), "")
        self._word_texts(draft.title, draft.full_description())

        c = draft.collection
        if c is None or c.found:
            findings = group("findings", self.tr("Findings"))
            if c is None:
                self._pending_child(findings)
            else:
                for i, f in enumerate(c.found):
                    title, detail, _step = finding_texts.texts(f)
                    item = leaf(findings, ("finding", i), title)
                    item.setToolTip(0, detail)
        if draft.files:
            files = group("files", self.tr("Attachments"))
            for i, path in enumerate(draft.files):
                leaf(files, ("file", i), path.name).setToolTip(0, str(path))
        if draft.screenshots:
            shots = group("shots", self.tr("Screenshots"))
            for i, path in enumerate(draft.screenshots):
                item = leaf(shots, ("shot", i), self.tr("Screenshot %1").replace("%1", str(i + 1)))
                url = html.escape(QUrl.fromLocalFile(str(path)).toString(), quote=True)
                item.setToolTip(0, f'<img src="{url}" width="320">')
        system = group("system", self.tr("System report"))
        if c is None:
            self._pending_child(system)
        else:
            for o in c.outcomes:
                leaf(system, ("probe", o.name), self.probe_title(o.name, o.title))
        self.tree.expandAll()
        if self.analysis is not None:
            self._apply_analysis()
        self._sync_findings()
        self._updating = False
        target = self._items.get(current_key) or self._groups.get(
            current_key[1] if current_key and current_key[0] == "group" else "") if current_key else None
        self.tree.setCurrentItem(target or self.tree.topLevelItem(0))
        self._show_preview()

    def _word_texts(self, title: str, description: str) -> None:
        """The title and description items, as sent (secrets masked once the analysis is in)."""
        text = " ".join(description.split())
        self._items[("title",)].setText(0, self.tr("Title: %1").replace("%1", " ".join(title.split())))
        if ("description",) in self._items:
            self._items[("description",)].setText(0, self.tr("Description: %1").replace(
                "%1", text if len(text) <= 80 else text[:79] + "…"))

    def _pending_child(self, parent: QTreeWidgetItem) -> None:
        item = QTreeWidgetItem(parent, [self.tr("Being collected…"), "", ""])
        item.setFlags(Qt.ItemFlag.ItemIsEnabled)
        item.setData(0, Qt.ItemDataRole.UserRole, ("pending",))
        item.setForeground(0, QBrush(self.palette().color(QPalette.ColorRole.PlaceholderText)))

    def _apply_analysis(self) -> None:
        """Fill sizes, summaries, badges and file problems from the redacted draft."""
        a = self.analysis
        draft = self.draft
        assert a is not None
        assert draft is not None
        from desktop.diagnostics.render import sections

        self._word_texts(a.title, a.description)
        summaries = {s.name: probe_summary(s) for s in sections(a.report.document)}
        for key, item in self._items.items():
            if key[0] == "probe":
                summary = summaries.get(key[1], "")
                base = item.text(0).split("\n", 1)[0]
                item.setText(0, f"{base}\n{summary}" if summary else base)
                item.setToolTip(0, summary)
                item.setText(1, human_size(a.probe_sizes.get(key[1], 0)))
            elif key in a.attachments:
                item.setText(1, human_size(len(a.attachments[key].content)))
            if key in a.unreadable:
                item.setCheckState(0, Qt.CheckState.Unchecked)
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEnabled)
                item.setText(1, self.tr("cannot be read"))
                item.setToolTip(0, self.tr("This file cannot be read any more (%1), so it cannot be sent. "
                                           "Attach it again if you still want to send it.").replace(
                                               "%1", a.unreadable[key]))
            self._badge(item, a.secrets.get(key, 0), a.names.get(key, 0))
        if ("description",) in self._items:
            self._badge(self._items[("description",)], a.words_masked, 0)
        elif ("title",) in self._items:
            self._badge(self._items[("title",)], a.words_masked, 0)
        for name, group in self._groups.items():
            keys = [k for k, item in self._items.items() if item.parent() is group]
            secrets = sum(a.secrets.get(k, 0) for k in keys)
            names = sum(a.names.get(k, 0) for k in keys)
            if name == "words":
                secrets = a.words_masked
            self._badge(group, secrets, names)

    def _badge(self, item: QTreeWidgetItem, secrets: int, names: int) -> None:
        parts = []
        if secrets:
            parts.append(plural(self.tr("%n secret(s) masked", "", secrets), secrets))
        if names:
            parts.append(plural(self.tr("%n name(s) replaced", "", names), names))
        item.setText(2, ", ".join(parts))
        if parts:
            item.setBackground(2, QBrush(QColor("#ffe27a")))
            item.setForeground(2, QBrush(QColor("#1d2125")))
            item.setToolTip(2, self.tr("Hidden before sending; the preview marks where, in yellow."))
        else:
            item.setBackground(2, QBrush())
            item.setForeground(2, QBrush())
            item.setToolTip(2, "")

    def _sync_findings(self) -> None:
        """A finding goes only with the section it comes from: greyed out while that section is unticked."""
        draft = self.draft
        if draft is None or draft.collection is None:
            return
        for i, f in enumerate(draft.collection.found):
            item = self._items.get(("finding", i))
            probe = self._items.get(("probe", f.probe))
            if item is None:
                continue
            kept = probe is not None and probe.checkState(0) == Qt.CheckState.Checked
            key = ("finding", i)
            if not kept and item.checkState(0) == Qt.CheckState.Checked:
                item.setCheckState(0, Qt.CheckState.Unchecked)  # shown as it goes: not at all
                self._held.add(key)
            elif kept and key in self._held:
                item.setCheckState(0, Qt.CheckState.Checked)  # ticked again with its section
                self._held.discard(key)
            item.setDisabled(not kept)
            if kept:
                item.setToolTip(0, finding_texts.texts(f)[1])
            else:
                title = probe.text(0).split("\n", 1)[0] if probe is not None else f.probe
                item.setToolTip(0, self.tr("Not sent: the section “%1” it comes from is unticked.").replace(
                    "%1", title))

    def _show_never_sent(self) -> None:
        from desktop.diagnostics.registry import probes

        names = list(self.ctx.settings["report.never_send"])
        if not names:
            self.never_note.hide()
            return
        titles = {p.name: p.title for p in probes()}
        shown = ", ".join(self.probe_title(n, titles.get(n, n)) for n in names)
        self.never_note.setText(self.tr("Never collected, as your organisation's policy or your settings say: "
                                        "%1.").replace("%1", shown))
        self.never_note.show()

    # -- ticks
    def _item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if self._updating or column != 0:
            return
        self._updating = True
        try:
            title = self._items.get(("title",))
            if title is not None and title.checkState(0) != Qt.CheckState.Checked:
                title.setCheckState(0, Qt.CheckState.Checked)  # the title always goes
            for k, it in self._items.items():
                if it.checkState(0) == Qt.CheckState.Checked:
                    self._unticked.discard(k)
                elif not it.isDisabled():
                    self._unticked.add(k)
            self._sync_findings()
        finally:
            self._updating = False
        self._schedule_measure()

    def _schedule_measure(self) -> None:
        self._generation += 1
        self.size_text.setText(self.tr("Measuring…") if self.draft is not None else "")
        self._debounce.start()

    def _measure_now(self) -> None:
        draft = self.draft
        if draft is None or draft.collection is None:
            self._show_measure()
            return
        generation = self._generation
        submit(measure, draft, self.ctx.settings, self.selection(), backend_info, self.analysis,
               on_done=alive(self, lambda result: self._measured(generation, result)),
               on_error=alive(self, lambda failure: self._measure_failed(generation, failure)))

    def _measured(self, generation: int, result: Measure) -> None:
        if generation != self._generation:
            return  # the ticks changed meanwhile; a newer measurement follows
        self.last_measure = result
        self._show_measure()
        if self._whole:
            self._show_preview()
        self.measured.emit()

    def _measure_failed(self, generation: int, failure: Failure) -> None:
        if generation != self._generation:
            return
        self.last_measure = None
        self.size_text.setText(self.tr("The size could not be worked out: %1").replace(
            "%1", failure.message or type(failure.exception).__name__))
        log.debug("measuring failed: %s", failure.details)
        self.measured.emit()

    def _show_measure(self) -> None:
        m = self.last_measure
        self.over_note.hide()
        self._meter_colour("")
        if self.draft is None or self.draft.collection is None:
            self.meter.setRange(0, 1)
            self.meter.setValue(0)
            self.meter.setFormat("")
            self.size_text.setText(self.tr("Worked out when the collection is done.") if self.draft else "")
            return
        if m is None:
            self.meter.setRange(0, 1)
            self.meter.setValue(0)
            self.meter.setFormat("")
            return
        files = len(m.pieces) - 1
        report_size = m.pieces[0].size
        summary = self.tr("%1 in all: the system report %2").replace("%1", human_size(m.total)).replace(
            "%2", human_size(report_size))
        if files:
            summary += plural(self.tr(" and %n file(s)", "", files), files)
        self.size_text.setText(summary + ".")
        largest = m.largest
        if m.limit is None or largest is None:
            self.meter.setRange(0, 100)
            self.meter.setValue(0)
            self.meter.setFormat(self.tr("No size limit"))
            self.meter.setToolTip(self.tr("This helpdesk accepts files of any size."))
        else:
            # QProgressBar holds ints: kibibytes keep a few gigabytes in range
            self.meter.setRange(0, max(1, m.limit // 1024))
            self.meter.setValue(min(largest.size, m.limit) // 1024)
            self.meter.setFormat(self.tr("Largest file: %1 of %2").replace("%1", human_size(largest.size)).replace(
                "%2", human_size(m.limit)))
            self.meter.setToolTip(self.tr("This helpdesk accepts files up to %1 each.").replace(
                "%1", human_size(m.limit)))
        refused = m.refused
        marked = {p.key for p in refused}
        for key, item in [*self._items.items(), (("report",), self._groups.get("system"))]:
            if item is not None:
                item.setForeground(1, QBrush(QColor("#d32f2f")) if key in marked else QBrush())
        if refused:
            self._meter_colour("#d32f2f")
            lines = []
            for piece in refused:
                name = self._piece_title(piece)
                if piece.refused == "type":
                    lines.append(self.tr("This helpdesk does not accept files like “%1”. Untick it, or send "
                                         "it another way.").replace("%1", name))
                elif piece.key == ("report",):
                    lines.append(self.tr("The system report (%1) is over the %2 this helpdesk accepts. Untick "
                                         "some of its largest sections.").replace("%1", human_size(piece.size))
                                 .replace("%2", human_size(m.limit or 0)))
                else:
                    lines.append(self.tr("“%1” (%2) is over the %3 this helpdesk accepts per file. Untick it, "
                                         "or attach a smaller file.").replace("%1", name)
                                 .replace("%2", human_size(piece.size)).replace("%3", human_size(m.limit or 0)))
            lines.append(self.tr("If you send it anyway, it stays on this computer and the helpdesk is told "
                                 "it is missing."))
            self.over_note.setText("\n".join(lines))
            self.over_note.show()
        elif m.limit is not None and largest is not None and largest.size > 0.8 * m.limit:
            self._meter_colour("#ef8f00")

    def _piece_title(self, piece: Piece) -> str:
        item = self._items.get(piece.key)
        return item.text(0).split("\n", 1)[0] if item is not None else piece.name

    def _meter_colour(self, colour: str) -> None:
        self.meter.setProperty("over", bool(colour))
        self.meter.setStyleSheet(f"QProgressBar::chunk {{ background-color: {colour}; }}" if colour else "")

    # -- analysis (badges and previews)
    def _analysed(self, generation: int, result: tuple[AnalysisKey, Analysis]) -> None:
        if generation != self._draft_generation:
            return  # a newer draft came meanwhile; its own analysis follows
        self._analysis_cache = result
        self.analysis = result[1]
        self._updating = True
        try:
            self._apply_analysis()
        finally:
            self._updating = False
        self._show_preview()
        self._schedule_measure()  # now with the files' redacted content at hand
        self.analysed.emit()

    def _analysis_failed(self, generation: int, failure: Failure) -> None:
        if generation != self._draft_generation:
            return
        log.debug("preview failed: %s", failure.details)
        self.preview.setPlainText(self.tr("The preview could not be made: %1").replace(
            "%1", failure.message or type(failure.exception).__name__))
        self._schedule_measure()

    # -- previews
    def _current_changed(self, *_items: Any) -> None:
        if self.whole_button.isChecked() and not self._updating:
            self.whole_button.setChecked(False)  # picking an item shows that item (and shows it once)
        else:
            self._show_preview()

    def _whole_toggled(self, on: bool) -> None:
        self._whole = on
        self._show_preview()

    def _show_preview(self) -> None:
        self.preview.setHtml(self.preview_html())

    def preview_html(self) -> str:
        """The preview of the current item (or of the whole summary), with masked secrets highlighted."""
        from desktop.diagnostics.render import to_html

        draft, a = self.draft, self.analysis
        if draft is None:
            return ""
        if self._whole:
            m = self.last_measure
            if m is None:
                return _para(self.tr("Preparing the summary…"))
            # the page's own style sheet is for browsers (fixed widths and colours); the preview's suits here
            page = re.sub(r"<style>.*?</style>", "", to_html(m.report.document), flags=re.S)
            return highlight(unsqueezed(page))
        item = self.tree.currentItem()
        key = item.data(0, Qt.ItemDataRole.UserRole) if item else None
        if not key or key == ("pending",):
            return _para(self.tr("Select an item to see what will be sent."))
        if key[0] in ("title", "description") or key == ("group", "words"):
            return self._words_html()
        if a is None:
            return _para(self.tr("Preparing the preview…"))
        doc = a.report.document
        return self._as_sent_note(key) + self._report_html(key, doc)

    def _as_sent_note(self, key: Key) -> str:
        if key[0] not in ("finding", "probe") and key not in (("group", "findings"), ("group", "system")):
            return ""
        note = self.tr("This is how the helpdesk will read it.")
        return f"<p style='color:#6b6f76'><i>{html.escape(note)}</i></p>"

    def _report_html(self, key: Key, doc: dict[str, Any]) -> str:
        from desktop.diagnostics.render import findings_html, sections_html

        a = self.analysis
        assert a is not None
        if key[0] == "finding" and key[1] < len(doc["findings"]):
            return highlight("".join(findings_html([doc["findings"][key[1]]])))
        if key == ("group", "findings"):
            return highlight("".join(findings_html(doc["findings"])))
        if key[0] == "probe" and key[1] in doc["probes"]:
            return highlight(unsqueezed("".join(sections_html({"probes": {key[1]: doc["probes"][key[1]]}}, heading=3))))
        if key == ("group", "system"):
            return highlight(unsqueezed("".join(sections_html(doc, heading=3))))
        if key[0] in ("file", "shot"):
            return self._file_html(key)
        if key in (("group", "files"), ("group", "shots")):
            kind = "file" if key[1] == "files" else "shot"
            rows = [f"<li>{html.escape(att.name)} ({html.escape(human_size(len(att.content)))})</li>"
                    for k, att in a.attachments.items() if k[0] == kind]
            return f"<ul>{''.join(rows)}</ul>"
        return ""

    def _words_html(self) -> str:
        draft = self.draft
        assert draft is not None
        a = self.analysis
        title = a.title if a else " ".join(draft.title.split())
        description = a.description if a else draft.full_description()
        ticked = self._items.get(("description",))
        out = [f"<h3>{highlight(html.escape(' '.join(title.split())))}</h3>"]
        if ticked is not None and ticked.checkState(0) != Qt.CheckState.Checked:
            out.append(_para(self.tr("Your description is not sent (unticked)."), italic=True))
        elif description:
            body = highlight(html.escape(description)).replace("\n", "<br>")
            out.append(f"<p>{body}</p>")
        levels = {"low": self.tr("low"), "medium": self.tr("medium"), "high": self.tr("high")}
        categories = {"Hardware": self.tr("Hardware"), "Software": self.tr("Software"), "Network": self.tr("Network"),
                      "Printing": self.tr("Printing"), "Email": self.tr("Email"),
                      "Access & passwords": self.tr("Access and passwords"), "Other": self.tr("Other")}
        facts = [(self.tr("Category"), categories.get(draft.category, draft.category) or "—"),
                 (self.tr("Impact"), levels.get(draft.impact, draft.impact)),
                 (self.tr("Urgency"), levels.get(draft.urgency, draft.urgency))]
        if draft.add_to is not None:
            facts.append((self.tr("Added to"), incident_label(draft.add_to)))
        out.append("<table cellpadding='3'>" + "".join(
            f"<tr><th align='left'>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in facts)
            + "</table>")
        return "".join(out)

    def _file_html(self, key: Key) -> str:
        draft, a = self.draft, self.analysis
        assert draft is not None
        assert a is not None
        path = (draft.files if key[0] == "file" else draft.screenshots)[key[1]]
        if key in a.unreadable:
            return _para(self.tr("This file cannot be read: %1").replace("%1", a.unreadable[key]))
        att = a.attachments[key]
        head = f"<h3>{html.escape(att.name)}</h3><p>{html.escape(human_size(len(att.content)))}</p>"
        if key[0] == "shot" or path.suffix.lower() in _IMAGE_TYPES:
            url = html.escape(QUrl.fromLocalFile(str(path)).toString(), quote=True)
            width = max(200, self.preview.viewport().width() - 40)
            return f'{head}<img src="{url}" width="{width}">'
        if att.redacted:
            text = att.content.decode("utf-8", errors="replace")
            more = ""
            if len(text) > PREVIEW_CHARS:
                text = text[:PREVIEW_CHARS]
                more = _para(self.tr("… the preview ends here; the whole file is sent."), italic=True)
            return f"{head}<pre style='white-space:pre-wrap'>{highlight(html.escape(text))}</pre>{more}"
        return head + "<p>" + html.escape(self.tr("This file is sent as it is (%1); it cannot be shown here.")
                                          .replace("%1", att.media_type)) + "</p>"

    # -- sending
    def _update_sendable(self) -> None:
        collecting = self.draft is not None and self.draft.collection is None
        self.pending.setVisible(collecting)
        ok = self.can_send()
        self.send_button.setEnabled(ok)
        if collecting:
            self.send_button.setToolTip(self.tr("Sending will be possible when the collection is done."))
        else:
            self.send_button.setToolTip(self.tr("Save the report and send it to the helpdesk"))
        self.sendableChanged.emit(ok)

    def _filed(self, number: int) -> None:
        self.sending = False
        self.tree.setEnabled(True)
        self.status.setText("")
        self._update_sendable()
        self.filed.emit(number)

    def _file_failed(self, failure: Failure) -> None:
        self.sending = False
        self.tree.setEnabled(True)
        self.status.setText("")
        self._update_sendable()
        self._fail(self.failure_message(failure.exception), failure.details)

    def failure_message(self, exc: BaseException) -> str:
        """What went wrong while filing, and what to do, in the user's words."""
        keep = self.tr("Everything you wrote is still here.")
        if isinstance(exc, OutboxFullError):
            return self.tr("There is not enough free disk space to save your report. Free some space (for "
                           "example, empty the Trash or delete large downloads), then press Send again.") + " " + keep
        if isinstance(exc, ValueError):
            text = str(exc)
            if "characters long" in text:
                return self.tr("The title is too long for a ticket. Go back, shorten it, then send again.") + " " + keep
            if "title" in text:
                return self.tr("Your report needs a title. Go back, give it a short title, then send it again.")
            if "not collected" in text:
                return self.tr("The information about your computer is still being collected. Please wait a "
                               "moment, then press Send again.")
        if isinstance(exc, ReportError):
            return self.tr("A file you attached cannot be read any more. Untick it or attach it again, then "
                           "press Send.") + " " + keep
        if isinstance(exc, OutboxError) and self.draft is not None and self.draft.add_to is not None:
            return self.tr("This could not be added to your earlier report %1: it has not reached the helpdesk "
                           "yet. Retry it in My tickets first, or send this as a new report.").replace(
                               "%1", incident_label(self.draft.add_to)) + " " + keep
        return self.tr("Your report could not be saved. Please try again; if it keeps happening, restart "
                       "Deskline.") + " " + keep

    def _fail(self, message: str, details: str = "") -> None:
        self.error_box.show_problem(message, details)
        self.failed.emit(message)


class SentPanel(QWidget):
    """After sending: the incident number to copy, and where the report is on its way to the helpdesk."""

    # The user wants to report another problem.
    newReport = Signal()
    # The panel read the entry again (tests wait on it).
    refreshed = Signal()

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.number: int | None = None
        self.entry: Any = None  # desktop.outbox.Entry once read
        self.comment_id: int | None = None  # the report was added to this earlier ticket as this comment
        self.comment: Any = None  # desktop.outbox.FollowUp once read
        self.problem = ""  # a paused helpdesk connection, in the outbox's words
        self._loading = False
        self._again = False

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 16, 0, 0)  # the wizard around it gives the margins
        outer.setSpacing(14)
        title_row = QHBoxLayout()
        title_row.setSpacing(12)
        self.mark = QLabel("✔", self)  # a check mark: saved
        mark_font = self.mark.font()
        mark_font.setPointSizeF(mark_font.pointSizeF() * 2.2)
        self.mark.setFont(mark_font)
        self.mark.setStyleSheet("color: #2e7d32;")
        self.mark.setAccessibleName(" ")
        title_row.addWidget(self.mark)
        self.title = heading("", self)
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.2)
        self.title.setFont(font)
        title_row.addWidget(self.title, 1)
        outer.addLayout(title_row)
        self.intro = QLabel(self)
        self.intro.setWordWrap(True)
        outer.addWidget(self.intro)

        number_row = QHBoxLayout()
        self.number_caption = QLabel(self)
        number_row.addWidget(self.number_caption)
        self.number_field = QLineEdit(self)
        self.number_field.setReadOnly(True)
        nf = self.number_field.font()
        nf.setPointSizeF(nf.pointSizeF() * 1.5)
        nf.setBold(True)
        self.number_field.setFont(nf)
        self.number_field.setMaximumWidth(240)
        self.number_caption.setBuddy(self.number_field)
        number_row.addWidget(self.number_field)
        self.copy_button = QPushButton(self)
        self.copy_button.clicked.connect(self.copy_number)
        number_row.addWidget(self.copy_button)
        self.copied = _muted_label("", self)
        number_row.addWidget(self.copied)
        number_row.addStretch(1)
        outer.addLayout(number_row)

        self.state_box = QFrame(self)
        self.state_box.setObjectName("StateBox")
        self.state_box.setFrameShape(QFrame.Shape.StyledPanel)
        box = QVBoxLayout(self.state_box)
        box.setContentsMargins(16, 14, 16, 14)
        box.setSpacing(8)
        self.state_title = QLabel(self.state_box)
        sf = self.state_title.font()
        sf.setBold(True)
        sf.setPointSizeF(sf.pointSizeF() * 1.1)
        self.state_title.setFont(sf)
        self.state_title.setWordWrap(True)
        box.addWidget(self.state_title)
        self.state_text = QLabel(self.state_box)
        self.state_text.setWordWrap(True)
        self.state_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.state_text.setOpenExternalLinks(True)
        box.addWidget(self.state_text)
        retry_row = QHBoxLayout()
        self.retry_button = QPushButton(self.state_box)
        self.retry_button.clicked.connect(self.retry)
        self.retry_button.hide()
        retry_row.addWidget(self.retry_button)
        self.details_button = QPushButton(self.state_box)
        self.details_button.setCheckable(True)
        self.details_button.toggled.connect(self._details_toggled)
        self.details_button.hide()
        retry_row.addWidget(self.details_button)
        retry_row.addStretch(1)
        box.addLayout(retry_row)
        self.details = QPlainTextEdit(self.state_box)
        self.details.setReadOnly(True)
        self.details.setMaximumHeight(120)
        self.details.hide()
        box.addWidget(self.details)
        outer.addWidget(self.state_box)
        outer.addStretch(1)

        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.tickets_button = QPushButton(self)
        self.tickets_button.clicked.connect(self.open_tickets)
        buttons.addWidget(self.tickets_button)
        self.new_button = QPushButton(self)
        self.new_button.clicked.connect(self.newReport.emit)
        buttons.addWidget(self.new_button)
        outer.addLayout(buttons)
        self.setTabOrder(self.number_field, self.copy_button)
        self.setTabOrder(self.copy_button, self.retry_button)
        self.setTabOrder(self.retry_button, self.details_button)
        self.setTabOrder(self.details_button, self.tickets_button)
        self.setTabOrder(self.tickets_button, self.new_button)

        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self.refresh)
        self._copied_timer = QTimer(self)
        self._copied_timer.setSingleShot(True)
        self._copied_timer.setInterval(3000)
        self._copied_timer.timeout.connect(lambda: self.copied.setText(""))
        ctx.outboxChanged.connect(self.refresh)
        self.retranslate()

    def _retitle(self) -> None:
        if self.comment_id is None:
            self.title.setText(self.tr("Your report was saved"))
        else:
            self.title.setText(self.tr("Your addition was saved"))
        self.title.setAccessibleName(self.title.text())

    def retranslate(self) -> None:
        self._retitle()
        self.intro.setText(self.tr("Deskline sends it to the helpdesk in the background, also after a restart. "
                                   "You can close this window and keep working."))
        self.number_caption.setText(self.tr("&Incident number:"))
        self.number_field.setAccessibleName(self.tr("Incident number"))
        self.number_field.setToolTip(self.tr("Quote this number when you talk to the helpdesk."))
        self.copy_button.setText(self.tr("&Copy"))
        self.copy_button.setAccessibleName(self.tr("Copy the incident number"))
        self.mark.setAccessibleName(self.tr("Saved"))
        self.retry_button.setText(self.tr("&Retry"))
        self.retry_button.setAccessibleName(self.tr("Try sending again"))
        self.details_button.setAccessibleName(self.tr("Technical details"))
        self.details.setAccessibleName(self.tr("Technical details"))
        self.tickets_button.setText(self.tr("Open &My tickets"))
        self.tickets_button.setAccessibleName(self.tr("Open My tickets"))
        self.new_button.setText(self.tr("Report &another problem"))
        self.new_button.setAccessibleName(self.tr("Report another problem"))
        self._details_toggled(self.details_button.isChecked())
        self._show()

    # -- interface
    def show_entry(self, number: int) -> None:
        self.number = number
        self.entry = None
        self.comment = None
        self.comment_id = _additions.get(id(self.ctx), {}).pop(number, None)
        self.mark.setVisible(True)
        self.intro.setVisible(True)
        self._retitle()
        self.number_field.setText(incident_label(number))
        self.copied.setText("")
        self._show()
        self.refresh()
        self._poll.start()
        self.number_field.setFocus()
        self.number_field.selectAll()

    def copy_number(self) -> None:
        if self.number is None:
            return
        QGuiApplication.clipboard().setText(incident_label(self.number))
        self.copied.setText(self.tr("Copied"))
        self._copied_timer.start()

    def open_tickets(self) -> None:
        self.ctx.navigate.emit("tickets", self.number)

    def retry(self) -> None:
        number = self.number
        if number is None:
            return
        self.retry_button.setEnabled(False)

        def again() -> Any:
            return self.ctx.outbox().retry(number)

        submit(again, on_done=alive(self, self._retried), on_error=alive(self, self._retry_failed))

    # -- reading the outbox
    def refresh(self) -> None:
        """Read the entry again (in a worker); called on outboxChanged and by the poll."""
        if self.number is None:
            return
        if self._loading:
            self._again = True
            return
        self._loading = True
        number = self.number
        comment_id = self.comment_id
        ctx = self.ctx

        def load() -> tuple[Any, str, Any]:
            box = ctx.outbox()
            entry = box.get(number)
            problems = [p for p in box.problems() if p.backend == ctx.settings["helpdesk.backend"]]
            comment = box.followup(comment_id) if comment_id is not None else None
            return entry, (problems[0].message if problems else ""), comment

        submit(load, on_done=alive(self, lambda result: self._loaded(number, result)),
               on_error=alive(self, lambda failure: self._load_failed(number, failure)))

    def _loaded(self, number: int, result: tuple[Any, str, Any]) -> None:
        self._loading = False
        if number == self.number:
            self.entry, self.problem, self.comment = result
            self._show()
            if (self.entry is not None and not self.entry.has_work and self.entry.state in ("sent", "failed")
                    and (self.comment is None or self.comment.state != "queued")):
                self._poll.stop()  # nothing will change on its own; outboxChanged still updates
            elif not self._poll.isActive() and self.isVisible():
                self._poll.start()
            self.refreshed.emit()
        if self._again:
            self._again = False
            self.refresh()

    def _load_failed(self, number: int, failure: Failure) -> None:
        self._loading = False
        if number == self.number:
            self.state_title.setText(self.tr("Where your report is cannot be read just now"))
            self.state_text.setText(self.tr("Deskline will look again in a moment."))
            self._set_details(failure.details)
            self.refreshed.emit()

    def _retried(self, _entry: Any) -> None:
        self.retry_button.setEnabled(True)
        self.ctx.outboxChanged.emit()
        self.ctx.deliveryRequested.emit()
        self._poll.start()

    def _retry_failed(self, failure: Failure) -> None:
        self.retry_button.setEnabled(True)
        self.state_text.setText(self.tr("Sending again did not start: %1").replace("%1", failure.message))
        self._set_details(failure.details)

    # -- showing the state
    def _set_details(self, text: str) -> None:
        self.details.setPlainText(text)
        self.details_button.setVisible(bool(text))
        if not text:
            self.details_button.setChecked(False)

    def _details_toggled(self, on: bool) -> None:
        self.details.setVisible(on)
        self.details_button.setText(self.tr("Hide details") if on else self.tr("Show details"))

    def _when(self, ts: float) -> str:
        moment = QDateTime.fromSecsSinceEpoch(int(ts))
        locale = QLocale()
        if moment.date() == QDateTime.currentDateTime().date():
            return locale.toString(moment.time(), QLocale.FormatType.ShortFormat)
        return locale.toString(moment, QLocale.FormatType.ShortFormat)

    def ticket_text(self, entry: Any) -> str:
        """The helpdesk's ticket, as :func:`desktop.delivery.ticket_label` says it, in the user's language."""
        if entry.backend == "local":
            return self.tr("in the local store on this computer")
        if entry.ticket_id.isdigit():
            return self.tr("ticket #%1").replace("%1", entry.ticket_id)
        return self.tr("ticket %1").replace("%1", entry.ticket_id)

    def _show(self) -> None:
        entry = self.entry
        self.retry_button.hide()
        if self.number is None:
            self.state_title.setText("")
            self.state_text.setText("")
            self._set_details("")
            return
        if entry is None:
            self.state_title.setText(self.tr("Looking where your report is…"))
            self.state_text.setText("")
            self._set_details("")
            return
        title, text, details = "", "", ""
        comment = self.comment
        if comment is not None and entry.state == "sent" and comment.state == "sent":
            title = self.tr("Added")
            text = self.tr("Your addition reached the helpdesk with %1.").replace("%1", incident_label(entry.id))
            if entry.backend == "local":
                text = self.tr("Your addition is kept with %1 in the local store on this computer.").replace(
                    "%1", incident_label(entry.id))
            self._finish(title, text, "", "sent")
            return
        if comment is not None and comment.state == "failed":
            title = self.tr("Not added: the helpdesk did not accept it")
            text = self.tr("Your addition is kept on this computer. The reason: %1. You can try again, or ask "
                           "your IT support.").replace("%1", html.escape(comment.reason or "?"))
            self.retry_button.show()
            self._finish(title, text, "", "failed")
            return
        if comment is not None and entry.state == "sent":
            title = self.tr("Waiting to be sent")
            text = self.tr("Your addition goes to the helpdesk with %1 in a moment.").replace(
                "%1", incident_label(entry.id))
            self._finish(title, text, entry.last_error, "queued")
            return
        if entry.state == "queued":
            now = time.time()
            if self.problem:
                title = self.tr("Waiting: the connection to the helpdesk needs attention")
                text = self.tr("Your report is safe here and goes as soon as the helpdesk settings are fixed. "
                               "Your IT support can help; see Settings.")
                details = self.problem
            elif entry.last_error:
                title = self.tr("Waiting to be sent")
                if entry.next_attempt > now:
                    text = self.tr("The helpdesk could not be reached yet. Deskline will try again at %1; "
                                   "nothing is lost meanwhile.").replace("%1", self._when(entry.next_attempt))
                else:
                    text = self.tr("The helpdesk could not be reached yet. Deskline will try again in a moment; "
                                   "nothing is lost meanwhile.")
                details = entry.last_error
            else:
                title = self.tr("Waiting to be sent")
                text = self.tr("It goes to the helpdesk in a moment.")
        elif entry.state == "sending":
            title = self.tr("Sending now…")
            text = self.tr("Your report is on its way to the helpdesk.")
        elif entry.state == "sent":
            ticket = html.escape(self.ticket_text(entry))
            if entry.ticket_url:
                ticket = f'<a href="{html.escape(entry.ticket_url, quote=True)}">{ticket}</a>'
            title = self.tr("Sent")
            if entry.backend == "local":
                title = self.tr("Kept in the local store")
                text = self.tr("No helpdesk server is set up here, so your report is kept as a ticket in the "
                               "local store on this computer. To hand it over, export it from My tickets.")
            else:
                text = self.tr("Your report reached the helpdesk: %1.").replace("%1", ticket)
            missing = [p for p in entry.parts if p.state in ("refused", "failed")]
            if entry.pending_parts:
                text += " " + self.tr("Its files are still being sent.")
            elif missing:
                text += " " + plural(self.tr("%n file(s) could not be attached; the helpdesk was told, and they "
                                             "are kept on this computer.", "", len(missing)), len(missing))
                details = "\n".join(f"{p.name}: {p.reason}" for p in missing)
        else:  # failed
            title = self.tr("Not sent: the helpdesk did not accept the report")
            text = self.tr("Your report is kept on this computer. The reason: %1. You can try again, or ask "
                           "your IT support.").replace("%1", html.escape(entry.failed_reason or "?"))
            self.retry_button.show()
            details = entry.last_error if entry.last_error != entry.failed_reason else ""
        self._finish(title, text, details, entry.state)

    def _finish(self, title: str, text: str, details: str, state: str) -> None:
        # while it is not sent, neither the check mark nor "sends it in the background" would be true
        self.mark.setVisible(state != "failed")
        self.intro.setVisible(state != "failed")
        self.state_title.setText(title)
        colour = {"sent": "#2e7d32", "failed": "#d32f2f"}.get(state, "")
        self.state_title.setStyleSheet(f"color: {colour};" if colour else "")
        self.state_text.setText(text)
        self._set_details(details)

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if self.number is not None and (self.entry is None or self.entry.has_work or self.entry.state != "sent"):
            self._poll.start()

    def hideEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        super().hideEvent(event)
        self._poll.stop()


__all__ = ["Analysis", "Measure", "Piece", "ReviewPanel", "Selection", "SentPanel", "analyse", "analyse_again",
           "backend_info",
           "build_report", "file_draft", "highlight", "measure", "review_needed", "trimmed_draft"]
