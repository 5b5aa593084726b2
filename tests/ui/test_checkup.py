"""The Check my computer screen: real probes in a worker, findings with their help articles and the
way to a report, the friendly empty result, failed checks in a note, and a window that stays usable
while a deliberately slow probe runs."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from desktop.diagnostics import registry
from desktop.diagnostics.base import ProbeContext
from desktop.diagnostics.findings import INFO, WARNING, Finding
from desktop.diagnostics.runner import OK, ProbeOutcome
from desktop.errors import DesklineError
from desktop.ui import draft, i18n
from desktop.ui.checkup import CheckPage
from desktop.ui.context import AppContext

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")  # offscreen: no window manager

PRINTER = Finding(
    "printers.stopped", WARNING, "Printer stopped: Office-3F",
    "The printer Office-3F (your default printer) is stopped, so nothing sent to it is printed. The printer "
    "reported: Paper jam. 2 jobs are waiting in it.",
    "Fix what the printer reports (paper, toner, cable, power), then resume it in the printer settings (or ask IT "
    "to run: cupsenable Office-3F; cupsaccept Office-3F).",
    "printers", "Office-3F",
    {"printer": "Office-3F", "reason": "Paper jam", "queued_jobs": 2, "accepting_jobs": True, "is_default": True},
)
UPTIME = Finding(
    "system.long_uptime", INFO, "Not restarted for 43 days", "The computer has been running for 43 days.",
    "Restart the computer at a convenient moment, after saving your work.", "system", "",
    {"uptime_seconds": 43 * 86400.0, "boot_time": "2026-10-10T08:00:00+00:00", "uptime_days_limit": 30.0},
)


def outcome(name: str, title: str, status: str = OK, error: str | None = None) -> ProbeOutcome:
    return ProbeOutcome(name, title, status, object() if status == OK else None, error, 12.0)


def collection(*found: Finding, outcomes: list[ProbeOutcome] | None = None) -> draft.Collection:
    if outcomes is None:
        outcomes = [outcome("system", "System"), outcome("printers", "Printers")]
    return draft.Collection(outcomes, list(found), datetime.now(UTC), {})


def fixed(result: draft.Collection) -> Callable[..., draft.Collection]:
    """A collector that reports its probes as done and returns ``result``."""

    def collect(settings: Any, progress: Callable[[int, int, str], None]) -> draft.Collection:
        for number, o in enumerate(result.outcomes, 1):
            progress(number, len(result.outcomes), o.title)
        return result

    return collect


def make_page(qtbot: QtBot, ctx: AppContext) -> CheckPage:
    page = CheckPage(ctx)
    qtbot.addWidget(page)
    page.resize(900, 700)
    page.show()
    qtbot.waitExposed(page)
    return page


def run_check(qtbot: QtBot, page: CheckPage, timeout: int = 20000) -> None:
    qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
    assert page.running
    qtbot.waitUntil(lambda: not page.running, timeout=timeout)


@pytest.fixture
def russian(qapp: object) -> Iterator[None]:
    i18n.install("ru")
    yield
    i18n.install("en")


# -- a probe that takes as long as the test wants


@dataclass(frozen=True)
class SlowResult:
    answer: int = 42


class SlowModule:
    """A probe module whose collect() blocks until the test sets ``release`` (or its timeout passes)."""

    NAME = "slowprobe"
    TITLE = "Slow check"
    RESULT = SlowResult

    def __init__(self, timeout: float = 30.0) -> None:
        self.TIMEOUT = timeout
        self.release = threading.Event()
        self.started = threading.Event()

    def collect(self, ctx: ProbeContext) -> SlowResult:
        self.started.set()
        self.release.wait(60)
        return SlowResult()


@pytest.fixture
def slow(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlowModule]:
    """The check runs the real system probe and the slow one."""
    module = SlowModule()
    slow_probe = registry.ProbeInfo(module.NAME, module.TITLE, module)  # type: ignore[arg-type]
    monkeypatch.setattr(draft, "selected_probes", lambda settings: (*registry.select(["system"]), slow_probe))
    yield module
    module.release.set()  # never leave the probe's thread waiting


# -- tests


def test_real_probes_run_in_a_worker_and_their_results_show(qtbot: QtBot, ctx: AppContext,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(draft, "selected_probes", lambda settings: registry.select(["system", "memory", "disks"]))
    page = make_page(qtbot, ctx)
    assert page.start_button.text() == "&Start the check"
    seen: list[str] = []
    original = page._progress
    monkeypatch.setattr(page, "_progress", lambda run, done, total, title: (seen.append(title),
                                                                           original(run, done, total, title)))
    run_check(qtbot, page)
    assert page.collection is not None
    assert sorted(o.name for o in page.collection.outcomes) == ["disks", "memory", "system"]
    assert sorted(seen) == ["Disks", "Memory", "System"]  # progress named each probe as it finished
    assert page.progress.isHidden()
    assert page.start_button.text() == "&Check again"
    text = " ".join(label.text() for label in page.results_box.findChildren(type(page.status)))
    assert "System" in text and "Memory" in text and "Disks" in text  # what was checked is said
    assert page.cards or page.results_box.findChild(type(page.status), "NoProblems") is not None
    for card in page.cards:
        assert card.title_label.text() == card.finding.title


def test_findings_show_with_linked_articles_and_lead_to_help_and_report(qtbot: QtBot, ctx: AppContext) -> None:
    page = make_page(qtbot, ctx)
    page.collector = fixed(collection(PRINTER, UPTIME))
    run_check(qtbot, page)
    assert [c.finding.id for c in page.cards] == ["printers.stopped", "system.long_uptime"]
    assert page.status.text() == "Deskline found one thing to look at."
    assert page.results_box.findChild(type(page.status), "Group-warning").text() == "Worth a look (1)"
    assert page.results_box.findChild(type(page.status), "Group-info").text() == "For your information (1)"
    printer = page.cards[0]
    assert printer.title_label.text() == "Printer stopped: Office-3F"
    assert "Paper jam" in printer.detail_label.text()
    assert "cupsenable" in printer.step_label.text()
    assert [b.text() for b in printer.article_buttons] == ["The printer does not print"]
    with qtbot.waitSignal(ctx.navigate, timeout=2000) as blocker:
        qtbot.mouseClick(printer.article_buttons[0], Qt.MouseButton.LeftButton)
    assert blocker.args == ["help", {"article": "printer-offline"}]
    with qtbot.waitSignal(ctx.navigate, timeout=2000) as blocker:
        qtbot.mouseClick(printer.report_button, Qt.MouseButton.LeftButton)
    assert blocker.args == ["report", {"title": "Printer stopped: Office-3F", "finding": "printers.stopped"}]


def test_no_findings_is_said_with_what_was_checked(qtbot: QtBot, ctx: AppContext) -> None:
    page = make_page(qtbot, ctx)
    page.collector = fixed(collection())
    run_check(qtbot, page)
    assert page.cards == []
    good = page.results_box.findChild(type(page.status), "NoProblems")
    assert good is not None and good.text() == "No problems found"
    assert any("System, Printers" in label.text() for label in page.results_box.findChildren(type(page.status)))
    assert page.probe_note.isHidden()


def test_failed_and_timed_out_probes_are_named_in_a_note(qtbot: QtBot, ctx: AppContext) -> None:
    page = make_page(qtbot, ctx)
    page.collector = fixed(collection(outcomes=[
        outcome("system", "System"),
        outcome("printers", "Printers", "timeout", "no result within 5 s"),
        outcome("sensors", "Temperatures and fans", "failed", "OSError: busy"),
        outcome("power", "Power", "unsupported", "not supported on linux"),
    ]))
    run_check(qtbot, page)
    note = page.probe_note.text()
    assert "Printers (took too long)" in note and "Temperatures and fans (failed)" in note
    assert "Power" not in note and "Battery" not in note  # not supported here is not a failure
    assert page.details.isHidden()
    qtbot.mouseClick(page.details_button, Qt.MouseButton.LeftButton)
    assert page.details.isVisible() and "no result within 5 s" in page.details.text()


def test_a_timed_out_real_run_is_noted(qtbot: QtBot, ctx: AppContext, slow: SlowModule) -> None:
    slow.TIMEOUT = 0.3  # the runner gives up on it; the test releases it at the end
    page = make_page(qtbot, ctx)
    run_check(qtbot, page)
    assert "Slow check (took too long)" in page.probe_note.text()
    assert page.collection is not None
    assert {o.name: o.status for o in page.collection.outcomes} == {"system": "ok", "slowprobe": "timeout"}


def test_window_stays_responsive_while_a_slow_probe_runs(qtbot: QtBot, ctx: AppContext, slow: SlowModule) -> None:
    page = make_page(qtbot, ctx)
    qtbot.mouseClick(page.start_button, Qt.MouseButton.LeftButton)
    task = page.task
    assert task is not None
    # the system probe finishes and the screen says so while the slow one still holds the worker
    qtbot.waitUntil(lambda: page.status.text() == "Checked: System (1 of 2)", timeout=10000)
    assert slow.started.is_set() and not slow.release.is_set()
    assert page.progress.isVisible() and page.progress.value() == 1 and page.progress.maximum() == 2
    assert not page.start_button.isEnabled()
    # a click while it runs is handled at once: Stop gives the screen back
    qtbot.mouseClick(page.stop_button, Qt.MouseButton.LeftButton)
    assert not page.running
    assert page.start_button.isEnabled() and page.progress.isHidden()
    assert page.status.text() == "The check was stopped."
    # the stopped run's late result is ignored
    with qtbot.waitSignal(task.signals.done, timeout=10000):
        slow.release.set()
    assert page.collection is None and page.cards == []


def test_a_failing_check_says_what_to_do_with_details_at_hand(qtbot: QtBot, ctx: AppContext) -> None:
    page = make_page(qtbot, ctx)

    def broken(settings: Any, progress: Any) -> draft.Collection:
        raise DesklineError("probe table damaged")

    page.collector = broken
    run_check(qtbot, page)
    assert page.status.text().startswith("The check could not be run.")
    assert page.details_button.isVisible()
    assert "probe table damaged" in page.details.text()


def test_findings_in_russian(qtbot: QtBot, ctx: AppContext, russian: None) -> None:
    ctx.language = "ru"
    page = make_page(qtbot, ctx)
    assert page.start_button.text() == "&Начать проверку"
    page.show_collection(collection(PRINTER, UPTIME))
    qtbot.waitUntil(lambda: bool(page.cards[0].article_buttons))  # looked up in a worker
    printer = page.cards[0]
    assert printer.title_label.text() == "Принтер остановлен: Office-3F"
    assert "В очереди ждут 2 задания." in printer.detail_label.text()
    assert [b.text() for b in printer.article_buttons] == ["Принтер не печатает"]
    assert page.cards[1].title_label.text() == "Компьютер не перезагружался 43 дня"
    assert page.status.text() == "Deskline нашёл одну проблему, на которую стоит обратить внимание."
    with qtbot.waitSignal(ctx.navigate, timeout=2000) as blocker:
        qtbot.mouseClick(printer.report_button, Qt.MouseButton.LeftButton)
    assert blocker.args == ["report", {"title": "Принтер остановлен: Office-3F", "finding": "printers.stopped"}]


def test_retranslate_rewrites_the_findings(qtbot: QtBot, ctx: AppContext, russian: None) -> None:
    i18n.install("en")
    page = make_page(qtbot, ctx)
    page.show_collection(collection(PRINTER))
    assert page.cards[0].title_label.text() == "Printer stopped: Office-3F"
    i18n.install("ru")
    ctx.language = "ru"
    page.retranslate()
    assert page.cards[0].title_label.text() == "Принтер остановлен: Office-3F"
    qtbot.waitUntil(lambda: [b.text() for b in page.cards[0].article_buttons] == ["Принтер не печатает"])
    assert page.start_button.text() == "&Проверить ещё раз"
