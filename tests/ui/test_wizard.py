"""The report wizard, driven like a user would: typing, pressing Next, adding files, answering offers."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QThreadPool, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication

from desktop.delivery import MAX_TITLE, file_report
from desktop.diagnostics import report as report_mod
from desktop.diagnostics.findings import WARNING, Finding
from desktop.errors import DesklineError
from desktop.ui import draft as draft_mod

# showing a top-level widget offscreen makes Qt say its plugin cannot pass size hints on
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")


class FakeCollect:
    """Stands in for ``desktop.ui.draft.collect``: reports progress, then waits until released."""

    def __init__(self, total: int = 13, *, blocking: bool = False) -> None:
        self.total = total
        self.calls = 0
        self.release = threading.Event()
        self.started = threading.Event()
        if not blocking:
            self.release.set()
        self.fail_next: Exception | None = None
        self.found: list[Finding] = []

    def __call__(self, settings: Any, progress: Callable[[int, int, str], None] | None = None) -> draft_mod.Collection:
        self.calls += 1
        if progress is not None:
            for done in range(1, 8):
                progress(done, self.total, "probe")
        self.started.set()
        self.release.wait(timeout=30)
        if self.fail_next is not None:
            exc, self.fail_next = self.fail_next, None
            raise exc
        return draft_mod.Collection([], list(self.found), datetime.now(UTC), {})


@pytest.fixture
def collect(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeCollect]:
    fake = FakeCollect()
    monkeypatch.setattr(draft_mod, "collect", fake)
    yield fake
    fake.release.set()  # never leave a worker blocked behind the test


@pytest.fixture
def wizard(qtbot: Any, ctx: Any, collect: FakeCollect) -> Iterator[Any]:
    from desktop.ui.wizard import ReportWizard

    page = ReportWizard(ctx)
    qtbot.addWidget(page)
    page.resize(1040, 700)
    page.show()
    yield page
    collect.release.set()
    # pytest-qt has closed and scheduled the page's deletion by now; let the workers finish either way
    assert QThreadPool.globalInstance().waitForDone(5000)


def type_title(qtbot: Any, page: Any, text: str) -> None:
    page.what.title.setFocus()
    qtbot.keyClicks(page.what.title, text)


def test_next_needs_a_title_and_says_why(qtbot: Any, wizard: Any) -> None:
    assert not wizard.next_button.isEnabled()
    assert "title" in wizard.reason.text()
    type_title(qtbot, wizard, "   ")
    assert not wizard.next_button.isEnabled()
    type_title(qtbot, wizard, "Printer offline")
    assert wizard.next_button.isEnabled()
    assert wizard.reason.text() == ""
    wizard.what.title.setText("x" * (MAX_TITLE + 5))
    assert not wizard.next_button.isEnabled()
    assert str(MAX_TITLE) in wizard.reason.text()
    assert wizard.what.title_hint.isVisible()
    wizard.next()
    assert wizard.step() == 0


def test_priority_follows_impact_and_urgency(qtbot: Any, wizard: Any) -> None:
    what = wizard.what
    assert "Normal" in what.priority.text()
    what.impact.setCurrentIndex(what.impact.findData("high"))
    what.urgency.setCurrentIndex(what.urgency.findData("high"))
    assert "Urgent" in what.priority.text()
    what.impact.setCurrentIndex(what.impact.findData("low"))
    what.urgency.setCurrentIndex(what.urgency.findData("low"))
    assert "Low" in what.priority.text()
    assert (wizard.draft.impact, wizard.draft.urgency) == ("low", "low")


def test_words_go_into_the_draft(qtbot: Any, wizard: Any) -> None:
    what = wizard.what
    type_title(qtbot, wizard, "Outlook  crashes")
    what.description.setPlainText("It closes when I press Send.")
    what.category.setCurrentIndex(what.category.findData("Email"))
    what.started.setCurrentIndex(what.started.findData("yesterday"))
    what.steps.setPlainText("1. Open Outlook\n2. Press Send")
    d = wizard.draft
    assert (d.title, d.category, d.started) == ("Outlook crashes", "Email", "yesterday")
    assert "Steps to reproduce" in d.full_description()
    what.started.setCurrentIndex(what.started.findData("date"))
    assert what.started_date.isVisible()
    assert d.started == what.started_date.date().toString(Qt.DateFormat.ISODate)


def test_collection_runs_in_the_background_while_the_user_writes(qtbot: Any, wizard: Any,
                                                                collect: FakeCollect) -> None:
    """A slow collection (blocked on an Event) never blocks the page: the user types, adds a file, moves
    through the steps; the progress line shows how far it got; the review continues when it is done."""
    collect.release.clear()
    wizard.activate()
    wizard.activate()  # shown again: still one collection per draft
    qtbot.waitUntil(lambda: "7 of 13" in wizard.progress_text.text(), timeout=5000)
    assert collect.started.wait(5)
    assert wizard.collecting()

    type_title(qtbot, wizard, "Wi-Fi drops every hour")  # typing works while the probe blocks
    assert wizard.what.title.text() == "Wi-Fi drops every hour"
    with qtbot.waitSignal(wizard.stepChanged, timeout=5000):
        qtbot.mouseClick(wizard.next_button, Qt.MouseButton.LeftButton)
    assert wizard.step() == 1
    assert wizard.progress_text.isVisible()  # seen on every step
    qtbot.mouseClick(wizard.next_button, Qt.MouseButton.LeftButton)
    assert wizard.step() == 2
    assert not wizard.next_button.isEnabled()  # Send waits for the collection
    assert wizard.reason.text()
    assert collect.calls == 1

    with qtbot.waitSignal(wizard.collectionFinished, timeout=5000) as finished:
        collect.release.set()
    assert finished.args == [True]
    assert wizard.draft.collection is not None
    assert "collected" in wizard.progress_text.text()
    if wizard.review is not None:  # the review panel now shows the whole draft and sending is possible
        qtbot.waitUntil(lambda: wizard.next_button.isEnabled(), timeout=5000)
        assert wizard.review.draft is wizard.draft
    wizard.activate()
    assert collect.calls == 1


def test_the_first_page_appears_at_once_while_collection_runs(qtbot: Any, ctx: Any, collect: FakeCollect) -> None:
    from desktop.ui.wizard import ReportWizard

    collect.release.clear()
    t0 = time.perf_counter()
    page = ReportWizard(ctx)
    qtbot.addWidget(page)
    page.activate()
    page.show()
    QApplication.processEvents()
    elapsed = time.perf_counter() - t0
    assert page.isVisible()
    assert page.step() == 0
    assert elapsed < 1.0, f"the first page took {elapsed * 1000:.0f} ms"  # goal 100 ms; loose for slow CI
    collect.release.set()
    qtbot.waitUntil(lambda: not page.collecting(), timeout=5000)


def test_collection_failure_offers_a_retry(qtbot: Any, wizard: Any, collect: FakeCollect) -> None:
    collect.fail_next = DesklineError("probe 'disks' timed out")
    with qtbot.waitSignal(wizard.collectionFinished, timeout=5000) as finished:
        wizard.activate()
    assert finished.args == [False]
    assert wizard.retry_button.isVisible()
    assert wizard.details_button.isVisible()
    assert "could not" in wizard.progress_text.text()
    with qtbot.waitSignal(wizard.collectionFinished, timeout=5000) as finished:
        qtbot.mouseClick(wizard.retry_button, Qt.MouseButton.LeftButton)
    assert finished.args == [True]
    assert not wizard.retry_button.isVisible()
    assert collect.calls == 2


def _add(qtbot: Any, wizard: Any, paths: list[Path]) -> None:
    with qtbot.waitSignal(wizard.attachmentsChanged, timeout=5000):
        wizard.add_files(paths)


def test_files_are_listed_with_sizes_and_can_be_removed(qtbot: Any, wizard: Any, tmp_path: Path) -> None:
    type_title(qtbot, wizard, "Excel hangs")
    wizard.next()
    qtbot.waitUntil(lambda: wizard.step() == 1, timeout=5000)
    page = wizard.attachments
    assert page.empty.isVisible()
    log = tmp_path / "excel.log"
    log.write_bytes(b"x" * 2048)
    photo = tmp_path / "error.jpg"
    photo.write_bytes(b"y" * 500)
    missing = tmp_path / "gone.pdf"
    _add(qtbot, wizard, [log, missing, photo])
    assert wizard.draft.files == [log, photo]
    assert page.list.count() == 2
    assert page.rows[log].size.text() == "2.0 kB"
    assert page.rows[photo].size.text() == "500 bytes"
    assert "gone.pdf" in page.message.text()
    assert "no longer exists" in page.message.text()
    assert page.message.isVisible()
    assert "2 attachments" in page.total.text()
    assert "2.5 kB" in page.total.text()

    _add(qtbot, wizard, [log])  # the same file twice is listed once
    assert page.list.count() == 2

    with qtbot.waitSignal(wizard.attachmentsChanged, timeout=2000):
        qtbot.mouseClick(page.rows[log].remove, Qt.MouseButton.LeftButton)
    assert wizard.draft.files == [photo]
    assert page.list.count() == 1
    assert "1 attachment" in page.total.text()

    _add(qtbot, wizard, [tmp_path])
    assert "folder" in page.message.text()
    assert wizard.draft.files == [photo]


def test_files_dropped_on_the_page_are_added(qtbot: Any, wizard: Any, tmp_path: Path) -> None:
    type_title(qtbot, wizard, "Scanner")
    wizard.next()
    qtbot.waitUntil(lambda: wizard.step() == 1, timeout=5000)
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(b"%PDF-1.4 test")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(scan))])
    page = wizard.attachments
    event = QDropEvent(QPointF(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(wizard.attachmentsChanged, timeout=5000):
        page.dropEvent(event)
    assert wizard.draft.files == [scan]


def _file(ctx: Any, title: str, description: str = "") -> Any:
    return file_report(ctx.outbox(), report_mod.build([]), title=title, description=description)


def test_similar_open_report_is_offered_and_can_be_added_to(qtbot: Any, wizard: Any, ctx: Any) -> None:
    _file(ctx, "Outlook asks for my password again and again")
    earlier = _file(ctx, "The printer does not print", "It says offline")
    type_title(qtbot, wizard, "Printer not printing")
    with qtbot.waitSignal(wizard.similarChecked, timeout=5000) as checked:
        qtbot.keyClick(wizard.what.title, Qt.Key.Key_Return)  # Enter is Next
    assert checked.args[0] is not None
    assert wizard.step() == 0  # the offer comes first
    assert wizard.offer.isVisible()
    text = wizard.offer_text.text()
    assert "The printer does not print" in text
    assert earlier.incident in text
    qtbot.mouseClick(wizard.offer_add, Qt.MouseButton.LeftButton)
    assert wizard.draft.add_to == earlier.id
    assert "will be added" in wizard.offer_text.text()
    wizard.next()
    assert wizard.step() == 1

    wizard.back()  # changing one's mind
    qtbot.mouseClick(wizard.offer_undo, Qt.MouseButton.LeftButton)
    assert wizard.draft.add_to is None
    assert not wizard.offer.isVisible()
    wizard.next()
    assert wizard.step() == 1


def test_new_problem_answer_lets_the_user_go_on(qtbot: Any, wizard: Any, ctx: Any) -> None:
    _file(ctx, "VPN does not connect")
    type_title(qtbot, wizard, "VPN does not connect from home")
    with qtbot.waitSignal(wizard.similarChecked, timeout=5000):
        wizard.what.description.setFocus()  # leaving the title looks already
    assert wizard.offer.isVisible()
    qtbot.mouseClick(wizard.offer_new, Qt.MouseButton.LeftButton)
    assert not wizard.offer.isVisible()
    assert wizard.draft.add_to is None
    wizard.next()
    assert wizard.step() == 1


def test_unrelated_report_is_not_offered(qtbot: Any, wizard: Any, ctx: Any) -> None:
    _file(ctx, "The printer does not print", "It says offline")
    type_title(qtbot, wizard, "Second monitor stays black")
    with qtbot.waitSignal(wizard.stepChanged, timeout=5000):
        wizard.next()
    assert wizard.step() == 1
    assert not wizard.offer.isVisible()
    assert wizard.draft.add_to is None


def test_open_with_a_finding_prefills_title_and_description(qtbot: Any, wizard: Any, collect: FakeCollect) -> None:
    finding = Finding("disk.almost_full", WARNING, "The disk is almost full", "Only 2 GB are free on /.",
                      "Delete large files you no longer need.", "disks", "/")
    collect.found = [finding]
    with qtbot.waitSignal(wizard.collectionFinished, timeout=5000):
        wizard.open({"title": "The disk is almost full", "finding": "disk.almost_full"})
    assert wizard.what.title.text() == "The disk is almost full"
    assert wizard.what.description.toPlainText() == "Only 2 GB are free on /."

    wizard.new_report()  # a Finding object works at once, and typed words are never overwritten
    wizard.what.description.setPlainText("My own words")
    wizard.open({"title": "Something", "finding": finding})
    assert wizard.what.title.text() == "Something"
    assert wizard.what.description.toPlainText() == "My own words"


def test_retranslate_keeps_what_was_typed(qtbot: Any, wizard: Any) -> None:
    from desktop.ui import i18n

    wizard.what.title.setText("Принтер не печатает")  # QTest types ASCII only
    wizard.what.description.setPlainText("С утра")
    wizard.what.impact.setCurrentIndex(2)
    english = wizard.what.labels["title"].text()
    try:
        i18n.install("ru")
        wizard.retranslate()
        assert wizard.what.labels["title"].text() != english
        assert wizard.what.title.text() == "Принтер не печатает"
        assert wizard.what.description.toPlainText() == "С утра"
        assert wizard.what.impact.currentIndex() == 2
        assert "Срочн" in wizard.what.priority.text() or "Высок" in wizard.what.priority.text()
    finally:
        i18n.install("en")
        wizard.retranslate()
    assert wizard.what.labels["title"].text() == english


def test_leaving_and_coming_back_keeps_the_draft_and_new_report_starts_fresh(qtbot: Any, wizard: Any,
                                                                              collect: FakeCollect,
                                                                              tmp_path: Path) -> None:
    type_title(qtbot, wizard, "Keyboard layout switches by itself")
    wizard.next()
    qtbot.waitUntil(lambda: wizard.step() == 1, timeout=5000)
    note = tmp_path / "note.txt"
    note.write_text("hello")
    _add(qtbot, wizard, [note])
    wizard.hide()
    wizard.show()
    wizard.activate()
    assert wizard.step() == 1
    assert wizard.draft.title == "Keyboard layout switches by itself"
    assert wizard.draft.files == [note]

    qtbot.waitUntil(lambda: wizard.draft.collection is not None, timeout=5000)
    old = wizard.draft
    wizard.new_report()
    assert wizard.draft is not old
    assert wizard.step() == 0
    assert wizard.what.title.text() == ""
    assert wizard.attachments.list.count() == 0
    qtbot.waitUntil(lambda: wizard.draft.collection is not None, timeout=5000)
    assert collect.calls == 2  # a fresh collection for the fresh draft


def test_keyboard_and_accessible_names(qtbot: Any, wizard: Any) -> None:
    what = wizard.what
    for widget in (what.title, what.description, what.category, what.impact, what.urgency, what.started,
                   what.steps, wizard.next_button, wizard.back_button):
        assert widget.accessibleName(), widget.objectName()
    for key, label in what.labels.items():
        assert label.buddy() is not None, key
    qtbot.waitUntil(lambda: what.title.hasFocus(), timeout=2000)


def test_full_path_to_sent(qtbot: Any, wizard: Any, ctx: Any) -> None:
    """Words, a file, review, Send: the report is in the outbox and the Sent step shows its number."""
    review = pytest.importorskip("desktop.ui.review")
    assert review is not None
    type_title(qtbot, wizard, "Sound does not work in calls")
    wizard.next()
    qtbot.waitUntil(lambda: wizard.step() == 1, timeout=5000)
    wizard.next()
    assert wizard.step() == 2
    qtbot.waitUntil(lambda: wizard.next_button.isEnabled(), timeout=5000)
    with qtbot.waitSignal(wizard.stepChanged, timeout=10000):
        qtbot.mouseClick(wizard.next_button, Qt.MouseButton.LeftButton)
    assert wizard.step() == 3
    entries = ctx.outbox().entries()
    assert [e.title for e in entries] == ["Sound does not work in calls"]
    assert wizard.sent is not None
    with qtbot.waitSignal(wizard.stepChanged, timeout=5000):
        wizard.sent.newReport.emit()
    assert wizard.step() == 0
    assert wizard.what.title.text() == ""


def test_a_long_description_never_crashes_the_app(qtbot: Any, wizard: Any) -> None:
    """PySide6 6.12 on Python 3.11 took a reference from None on every void call (about seven per
    keystroke here) and the process aborted after some 3,000 characters (that release is excluded)."""
    text = "The printer says offline since this morning. " * 70  # 3,220 characters
    nones = sys.getrefcount(None)
    wizard.what.description.setFocus()
    qtbot.keyClicks(wizard.what.description, text)
    assert wizard.draft.description == text
    assert sys.getrefcount(None) >= nones - 100


def test_ctrl_enter_moves_on_from_the_description(qtbot: Any, wizard: Any, ctx: Any) -> None:
    _file(ctx, "Outlook asks for my password again and again")
    type_title(qtbot, wizard, "The scanner is not found")
    wizard.what.description.setFocus()
    qtbot.keyClicks(wizard.what.description, "Scan to PDF says no device")
    with qtbot.waitSignal(wizard.stepChanged, timeout=5000) as moved:
        qtbot.keyClick(wizard.what.description, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert moved.args == [1]
    assert wizard.draft.description == "Scan to PDF says no device"  # no newline typed by the shortcut


def test_recently_closed_similar_report_is_offered_as_came_back(qtbot: Any, wizard: Any, ctx: Any) -> None:
    from desktop.connectors.base import TicketRef, TicketStatus

    earlier = _file(ctx, "Wi-Fi keeps disconnecting", "Every hour or so")
    ctx.outbox().update_status(earlier.id, TicketStatus(TicketRef("local", "1"), "closed", "Closed",
                                                        updated=datetime.now(UTC).isoformat()))
    type_title(qtbot, wizard, "WiFi disconnects again")
    with qtbot.waitSignal(wizard.similarChecked, timeout=5000):
        wizard.next()
    assert wizard.offer.isVisible()
    assert "closed recently" in wizard.offer_text.text()
    assert earlier.incident in wizard.offer_text.text()


def test_real_collection_with_a_blocked_probe_leaves_the_page_responsive(qtbot: Any, ctx: Any,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The real ``collect`` (probe runner and rules), with one probe that blocks until released: the
    user types and moves on meanwhile, the progress line counts the probe that finished."""
    import dataclasses
    import types

    from desktop.diagnostics import registry
    from desktop.ui.wizard import ReportWizard

    @dataclasses.dataclass(frozen=True)
    class SlowResult:
        waited: bool

    gate = threading.Event()
    entered = threading.Event()

    def slow_collect(_ctx: Any) -> SlowResult:
        entered.set()
        return SlowResult(gate.wait(timeout=30))

    slow = registry.ProbeInfo("slow", "Slow", types.SimpleNamespace(  # type: ignore[arg-type]
        NAME="slow", TITLE="Slow", RESULT=SlowResult, TIMEOUT=60, collect=slow_collect))
    system = next(p for p in registry.probes() if p.name == "system")
    monkeypatch.setattr(registry, "probes", lambda: (system, slow))

    page = ReportWizard(ctx)
    qtbot.addWidget(page)
    page.show()
    try:
        page.activate()
        qtbot.waitUntil(lambda: "1 of 2" in page.progress_text.text(), timeout=10000)
        assert entered.wait(5)
        type_title(qtbot, page, "Teams calls drop")
        page.what.description.setPlainText("The sound stops after a minute.")
        with qtbot.waitSignal(page.stepChanged, timeout=5000):
            qtbot.keyClick(page.what.title, Qt.Key.Key_Return)
        assert page.step() == 1
        assert page.collecting()
        with qtbot.waitSignal(page.collectionFinished, timeout=10000) as finished:
            gate.set()
        assert finished.args == [True]
        outcomes = {o.name: o for o in page.draft.collection.outcomes}
        assert set(outcomes) == {"system", "slow"}
        assert outcomes["slow"].ok and outcomes["slow"].result.waited
        assert page.draft.title == "Teams calls drop"  # nothing typed was lost meanwhile
    finally:
        gate.set()
        assert QThreadPool.globalInstance().waitForDone(10000)


def test_policy_without_review_sends_from_the_attachments_step(qtbot: Any, tmp_path: Path,
                                                                 collect: FakeCollect) -> None:
    """IT policy lets every kind of item leave unreviewed: Next on the attachments step says Send, and
    the report is filed as soon as the collection is there."""
    pytest.importorskip("desktop.ui.review")
    from desktop import config
    from desktop.ui.context import AppContext
    from desktop.ui.wizard import ReportWizard

    settings_file = tmp_path / "config" / "skip.toml"
    settings_file.write_text(
        f'version = 1\n[outbox]\npath = "{tmp_path / "outbox"}"\n[report]\n'
        'review_skip = ["summary", "findings", "system_report", "attachments", "screenshots"]\n', encoding="utf-8")
    context = AppContext(config.load(settings_file, environ={}), settings_path=settings_file)
    page = ReportWizard(context)
    qtbot.addWidget(page)
    page.show()
    try:
        page.activate()
        type_title(qtbot, page, "Cannot log in to the VPN")
        with qtbot.waitSignal(page.stepChanged, timeout=5000):
            page.next()
        assert page.step() == 1
        assert "Send" in page.next_button.text()
        with qtbot.waitSignal(page.stepChanged, timeout=10000, check_params_cb=lambda step: step == 3):
            page.next()
        assert [e.title for e in context.outbox().entries()] == ["Cannot log in to the VPN"]
    finally:
        collect.release.set()
        assert QThreadPool.globalInstance().waitForDone(10000)
        context.close()
