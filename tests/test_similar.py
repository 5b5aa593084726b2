"""desktop.similar: which earlier report of the user is about the same problem."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from desktop import similar
from desktop.delivery import file_report
from desktop.diagnostics import report as report_mod
from desktop.outbox import Entry, Outbox

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("a", "b"), [
    ("Printer does not print", "Printing does not work on the printer"),
    ("Принтер не печатает", "Не печатает принтер на третьем этаже"),
    ("Wi-Fi keeps disconnecting", "WiFi disconnects every hour"),
    ("VPN", "VPN does not connect"),
    ("Не приходит почта в Outlook", "Outlook: почта не приходит с утра"),
])
def test_alike_reports_score_above_the_threshold(a: str, b: str) -> None:
    assert similar.score(a, "", b, "") >= similar.THRESHOLD


@pytest.mark.parametrize(("a", "b"), [
    ("Outlook does not open", "Printer does not print"),
    ("Принтер не работает", "Почта не работает"),  # "не работает" alone is no common problem
    ("Need a new toner for the printer", "Paper jam in the printer on floor 3"),  # one shared word only
    ("", "Printer does not print"),
])
def test_different_reports_score_below_the_threshold(a: str, b: str) -> None:
    assert similar.score(a, "", b, "") < similar.THRESHOLD


def test_description_counts_when_titles_differ() -> None:
    assert similar.score("Cannot work", "Excel freezes when I open the budget spreadsheet", "Excel hangs",
                         "The budget spreadsheet freezes Excel on open") >= similar.THRESHOLD


def test_overlap_is_symmetric_and_bounded() -> None:
    assert similar.overlap({"a", "b"}, {"a", "b"}) == pytest.approx(1.0)
    assert similar.overlap({"a"}, set()) == 0.0
    assert similar.overlap({"a", "b"}, {"b", "c", "d"}) == pytest.approx(similar.overlap({"b", "c", "d"}, {"a", "b"}))


def test_stems_fold_word_forms_in_both_languages() -> None:
    assert similar.stems("printers printing") == similar.stems("printer print")
    assert similar.stems("принтера принтеры") == similar.stems("принтер")


@pytest.fixture
def entries(tmp_path: Path) -> list[Entry]:
    outbox = Outbox(tmp_path / "outbox")
    report = report_mod.build([])
    made = [
        file_report(outbox, report, title="The printer does not print", description="It says offline."),
        file_report(outbox, report, title="Outlook asks for my password again and again", description=""),
    ]
    outbox.close()
    return made


def _at(entry: Entry, days_ago: float, **changes: object) -> Entry:
    when = (NOW - timedelta(days=days_ago)).timestamp()
    return dataclasses.replace(entry, created=when, updated=when, **changes)  # type: ignore[arg-type]


def test_finds_an_open_similar_report(entries: list[Entry]) -> None:
    printer, mail = (_at(e, 40) for e in entries)  # open for 40 days: still counts
    match = similar.find_similar([printer, mail], "Printing doesn't work", "The printer shows offline", now=NOW)
    assert match is not None
    assert match.number == printer.id
    assert match.reported.tzinfo is not None


def test_closed_recently_counts_closed_long_ago_does_not(entries: list[Entry]) -> None:
    printer = entries[0]
    recent = _at(printer, 30, status_state="closed", status_updated=(NOW - timedelta(days=3)).isoformat())
    old = _at(printer, 30, status_state="resolved", status_updated=(NOW - timedelta(days=20)).isoformat())
    assert similar.find_similar([recent], "Printer does not print", now=NOW) is not None
    assert similar.find_similar([old], "Printer does not print", now=NOW) is None
    # no usable time from the helpdesk: the outbox's own last change decides
    assert similar.is_candidate(_at(printer, 2, status_state="closed", status_updated="yesterday"), NOW)


def test_refused_and_excluded_reports_are_not_offered(entries: list[Entry]) -> None:
    printer = _at(entries[0], 1)
    assert similar.find_similar([dataclasses.replace(printer, state="failed")], "Printer does not print",
                                now=NOW) is None
    assert similar.find_similar([printer], "Printer does not print", now=NOW, exclude=[printer.id]) is None


def test_unrelated_report_is_not_offered(entries: list[Entry]) -> None:
    assert similar.find_similar([_at(e, 1) for e in entries], "The screen flickers", "Second monitor", now=NOW) is None


def test_best_match_wins(entries: list[Entry]) -> None:
    printer, mail = (_at(e, 1) for e in entries)
    match = similar.find_similar([printer, mail], "Outlook keeps asking for the password", now=NOW)
    assert match is not None
    assert match.number == mail.id
