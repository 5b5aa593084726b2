"""Both languages complete: the Russian ``.ts`` files are current and finished, and no screen shows an
English string to a Russian user.

- every ``.ts`` is current: ``desktop.ui.i18n.update`` run into a copy finds no string the committed file
  lacks (a developer who adds a string without running ``update`` fails here);
- no unfinished or empty Russian translation;
- the placeholders ``%1``..``%9`` and ``%n`` of a source string are in its translation (every plural form);
- with Russian installed, every screen of the main window (built as the app builds it) is walked: a text
  that is an English source string with a Russian translation is a failure (it was set before the
  translator was installed, or without ``tr()``, or under another context), and so is English prose
  that is in no ``.ts`` file at all (a string that never went through ``tr()``). Names, URLs, numbers,
  ticket labels and the like are allowed.
"""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from desktop.ui import i18n
from tests.ui import walk

TS_FILES = sorted((i18n.translations_dir() / "ru").glob("*.ts"))
MODULES = i18n.ui_modules()
PLACEHOLDER = re.compile(r"%(?:L?[1-9]|n)")


@dataclass(frozen=True)
class Message:
    file: str
    context: str
    source: str
    forms: tuple[str, ...]  # the translation (plural forms for numerus messages); empty if unfinished
    numerus: bool


def messages(path: Path) -> list[Message]:
    found = []
    for context in ET.parse(path).getroot().iter("context"):
        name = context.findtext("name") or ""
        for message in context.iter("message"):
            translation = message.find("translation")
            forms: tuple[str, ...] = ()
            if translation is not None and translation.get("type") not in ("unfinished", "vanished", "obsolete"):
                numerusforms = translation.findall("numerusform")
                forms = tuple(f.text or "" for f in numerusforms) if numerusforms else (translation.text or "",)
            found.append(Message(path.name, name, message.findtext("source") or "", forms,
                                 message.get("numerus") == "yes"))
    return found


# -- (a) the committed files are current
@pytest.mark.parametrize("module", MODULES, ids=[m.stem for m in MODULES])
def test_ts_file_has_every_string_of_its_module(module: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    committed = i18n.ts_path("ru", module.stem)
    assert committed.exists(), (f"{module.name} has translatable strings but {committed.name} does not exist: run "
                                "`python -m desktop.ui.i18n update` and translate them")
    copy = tmp_path / "translations"
    shutil.copytree(i18n.translations_dir(), copy)
    monkeypatch.setattr(i18n, "translations_dir", lambda: copy)
    monkeypatch.setattr(i18n, "ui_modules", lambda: [module])
    (fresh,) = i18n.update(("ru",))
    have = {(m.context, m.source) for m in messages(committed)}
    missing = [f"{context}: {source!r}" for context, source, *_ in
               ((m.context, m.source) for m in messages(fresh)) if (context, source) not in have]
    assert not missing, (f"{committed.name} lacks strings of {module.name} (run `python -m desktop.ui.i18n update`, "
                         "translate, commit):\n  " + "\n  ".join(missing))


def test_every_ts_file_belongs_to_a_module() -> None:
    stems = {m.stem for m in MODULES}
    orphans = [p.name for p in TS_FILES if p.stem not in stems]
    assert not orphans, f"translation files without a UI module with strings: {orphans}"


# -- (b) finished
@pytest.mark.parametrize("path", TS_FILES, ids=[p.stem for p in TS_FILES])
def test_no_unfinished_russian_translation(path: Path) -> None:
    missing = i18n.unfinished(path)
    assert not missing, f"ru/{path.name}: untranslated or empty:\n  " + "\n  ".join(map(repr, missing))


# -- (c) placeholders
@pytest.mark.parametrize("path", TS_FILES, ids=[p.stem for p in TS_FILES])
def test_placeholders_kept_in_translation(path: Path) -> None:
    bad = []
    for message in messages(path):
        want = set(PLACEHOLDER.findall(message.source))
        if message.numerus:
            want.add("%n")
        for form in message.forms:
            have = set(PLACEHOLDER.findall(form))
            if want - have or have - want:
                bad.append(f"{message.context}: {message.source!r} -> {form!r} "
                           f"(source has {sorted(want)}, translation {sorted(have)})")
    assert not bad, f"ru/{path.name}: placeholders differ:\n  " + "\n  ".join(bad)


def test_placeholder_check_catches_a_dropped_placeholder(tmp_path: Path) -> None:
    ts = tmp_path / "x.ts"
    ts.write_text('<?xml version="1.0" encoding="utf-8"?><!DOCTYPE TS><TS version="2.1" language="ru"><context>'
                  "<name>X</name><message><source>Ticket %1 was sent</source>"
                  "<translation>Заявка отправлена</translation></message></context></TS>", encoding="utf-8")
    with pytest.raises(AssertionError, match="placeholders differ"):
        test_placeholders_kept_in_translation(ts)


# -- (d) nothing English on a Russian screen
class Catalogue:
    """English source strings that have a (different) Russian translation, from every ru .ts file."""

    def __init__(self, files: list[Path]) -> None:
        self.exact: dict[str, str] = {}
        self.patterns: list[tuple[re.Pattern[str], str]] = []
        self.russian: set[str] = set()
        self.pending: dict[str, str] = {}  # English sources without a Russian translation yet
        for path in files:
            for message in messages(path):
                source = walk.plain(message.source)
                self.russian.update(walk.plain(f) for f in message.forms)
                if not message.forms:
                    self.pending.setdefault(source, f"{message.file} {message.context}")
                if not message.forms or all(walk.plain(f) == source for f in message.forms):
                    continue  # untranslated (another test says so) or the same in Russian ("%1 (Ctrl+%2)")
                where = f"{message.file} {message.context}"
                if PLACEHOLDER.search(source):
                    literal = PLACEHOLDER.sub("", source)
                    if len(re.findall(r"[A-Za-z]{3,}", literal)) >= 1:
                        parts = [re.escape(p) for p in PLACEHOLDER.split(source)]
                        self.patterns.append((re.compile("^" + "(.+?)".join(parts) + "$", re.S), where))
                else:
                    self.exact.setdefault(source, where)

    def english(self, text: str) -> str | None:
        """Where ``text`` comes from if it is an English source string (the .ts file and context)."""
        if text in self.exact:
            return self.exact[text]
        for pattern, where in self.patterns:
            if pattern.match(text):
                return where
        return None


# Texts that are the same in both languages: names, addresses, numbers, keys, ticket labels, sizes, versions.
ALLOWED = [
    re.compile(p) for p in (
        r"^[\d\s.,:;%+\-–—/()×x#]*$",  # numbers, sizes, times, counters
        r"^(https?|file|ftp|mailto|ssh)://\S+$", r"^\S+@\S+\.\S+$",  # URLs, e-mail addresses
        r"^[~/.]?[\w.\-]*/[\w./\-]*$", r"^[A-Za-z]:\\",  # paths
        r"^[A-Z]{1,6}-\d+$", r"^#\d+$",  # ticket labels: DL-000123, #42
        r"^(Ctrl|Alt|Shift|Meta|F\d+)(\+\w+)*$",  # key sequences
        r"^v?\d+(\.\d+)+\S*$",  # versions
        r"^SHA256:\S+$", r"^[0-9a-f]{2}(:[0-9a-f]{2})+$",  # key fingerprints
    )
]
BRANDS = {"Deskline", "Deskline Agent", "Jira", "Redmine", "Zammad", "RT", "Request Tracker", "django-helpdesk",
          "OTRS", "GLPI", "SSH", "VPN", "Wi-Fi", "DNS", "HTTP", "HTTPS", "URL", "ID", "OK", "IT", "E-mail",
          "Windows", "Linux", "macOS", "GNOME", "KDE", "Ctrl", "Esc", "Enter", "Tab", "PNG", "JSON", "HTML",
          "Zoom", "Teams", "Outlook", "Thunderbird", "Chrome", "Firefox", "Deskline: Deskline"}
WORD = re.compile(r"[A-Za-z]{3,}")


def english_prose(text: str) -> bool:
    """Latin-only text of two or more words (not a brand, address, number or identifier)."""
    if re.search(r"[А-Яа-яЁё]", text) or text in BRANDS:
        return False
    if any(p.match(text) for p in ALLOWED):
        return False
    words = [w for w in WORD.findall(text) if w not in BRANDS]
    if len(words) < 2:
        return False
    if re.fullmatch(r"[\w.\-]+", text):  # one identifier: hostname, package or module name
        return False
    return True


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue(TS_FILES)


@pytest.fixture
def russian(qapp: Any) -> Iterator[str]:
    language = i18n.install("ru")
    assert language == "ru"
    yield language
    i18n.install("en")


@pytest.fixture
def window_ru(russian: str, ctx: Any, qtbot: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    ctx.language = "ru"
    with walk.open_window(ctx, qtbot, monkeypatch) as window:
        yield window


def _untranslated(root: Any, catalogue: Catalogue) -> list[str]:
    bad = []
    for where, text in walk.texts(root):
        origin = catalogue.english(text)
        if origin is not None:
            bad.append(f"{where}: {text!r} is English (translation in {origin})")
        elif text in catalogue.pending:
            bad.append(f"{where}: {text!r} has no Russian translation yet ({catalogue.pending[text]})")
        elif text not in catalogue.russian and english_prose(text):
            bad.append(f"{where}: {text!r} is English and in no .ts file (missing tr()?)")
    return bad


def test_window_chrome_is_russian(window_ru: Any, catalogue: Catalogue) -> None:
    chrome = [w for w in walk.widgets(window_ru) if not w.objectName().startswith("page-")
              and not any(p.objectName().startswith("page-") for p in _ancestors(w))]
    bad = []
    for widget in chrome:
        for where, text in walk.widget_texts(widget):
            if catalogue.english(text) is not None:
                bad.append(f"{where}: {text!r}")
    bad += [f"navigation: {window_ru.nav.item(r).text()!r}" for r in range(window_ru.nav.count())
            if catalogue.english(window_ru.nav.item(r).text())]
    assert not bad, "English in the main window with Russian installed:\n  " + "\n  ".join(dict.fromkeys(bad))


def _ancestors(widget: Any) -> Iterator[Any]:
    parent = widget.parentWidget()
    while parent is not None:
        yield parent
        parent = parent.parentWidget()


@pytest.mark.parametrize("key", walk.PAGE_KEYS)
def test_screen_has_no_english_text(key: str, window_ru: Any, catalogue: Catalogue, qtbot: Any) -> None:
    reason = walk.missing_reason(key)
    if reason:
        pytest.skip(reason)
    page = window_ru.show_page(key)
    qtbot.waitUntil(page.isVisible)
    bad = _untranslated(page, catalogue)
    assert not bad, (f"screen {key!r} ({walk.PAGE_MODULES[key]}) shows English with Russian installed:\n  "
                     + "\n  ".join(dict.fromkeys(bad)))


def test_walk_finds_an_english_label(russian: str, catalogue: Catalogue, qtbot: Any) -> None:
    """The check itself: a label set to an English source string (as if before the translator was
    installed) and a string that never went through tr() are both caught."""
    from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

    root = QWidget()
    qtbot.addWidget(root)
    layout = QVBoxLayout(root)
    layout.addWidget(QLabel("Report a problem", root))
    layout.addWidget(QLabel("Something went wrong here", root))
    layout.addWidget(QLabel("DL-000123", root))
    layout.addWidget(QLabel("https://help.example.com/x", root))
    layout.addWidget(QLabel("Deskline", root))
    bad = _untranslated(root, catalogue)
    assert len(bad) == 2, bad
    assert "Report a problem" in bad[0]
    assert "missing tr()" in bad[1]


def test_report_steps_have_no_english_text(window_ru: Any, catalogue: Catalogue, qtbot: Any) -> None:
    """The wizard's later steps (attachments, review, sent) are built as the user reaches them, so the walk
    above does not see them: go through them. Report contents shown in lists (the system report's values)
    are data, not interface, and are not held to the English-prose check."""
    reason = walk.missing_reason("report")
    if reason:
        pytest.skip(reason)
    page = window_ru.show_page("report")
    if not all(hasattr(page, name) for name in ("next", "step", "what", "stepChanged")):
        pytest.skip("the report wizard has no step interface (next, step, what, stepChanged)")
    page.what.title.setText("Принтер не печатает")
    bad: list[str] = []
    for step in (1, 2, 3):
        with qtbot.waitSignal(page.stepChanged, timeout=60000, check_params_cb=lambda n, step=step: n == step):
            qtbot.waitUntil(page.next_button.isEnabled, timeout=60000)
            page.next()
        qtbot.waitUntil(lambda step=step: page.step() == step)
        walk.settle()
        for where, text in walk.texts(page):
            origin = catalogue.english(text)
            if origin is not None:
                bad.append(f"step {step + 1}: {where}: {text!r} is English (translation in {origin})")
            elif text in catalogue.pending:
                bad.append(f"step {step + 1}: {where}: {text!r} has no Russian translation yet")
            elif ": item" not in where and text not in catalogue.russian and english_prose(text):
                bad.append(f"step {step + 1}: {where}: {text!r} is English and in no .ts file (missing tr()?)")
    assert not bad, "the report wizard's steps show English with Russian installed:\n  " + "\n  ".join(
        dict.fromkeys(bad))


def test_check_results_have_no_english_text(window_ru: Any, catalogue: Catalogue, qtbot: Any) -> None:
    """The check's results (finding cards, articles, what was checked) appear only after a run: run it."""
    reason = walk.missing_reason("check")
    if reason:
        pytest.skip(reason)
    page = window_ru.show_page("check")
    if not hasattr(page, "start") or not hasattr(page, "running"):
        pytest.skip("the check screen has no start()/running interface")

    def running() -> bool:
        value = page.running
        return bool(value() if callable(value) else value)

    page.start()
    qtbot.waitUntil(lambda: not running(), timeout=60000)
    walk.settle()
    bad = _untranslated(page, catalogue)
    assert not bad, "the check's results show English with Russian installed:\n  " + "\n  ".join(dict.fromkeys(bad))
