"""Keyboard-only use and screen readers, on every screen of the main window.

- every control a user operates (buttons, line and text edits, combo boxes, check boxes, spin boxes,
  lists, tables, trees) has an accessible name: its own ``accessibleName``, a QLabel whose buddy it is,
  or (buttons) its visible text, which is what Qt gives a screen reader;
- pressing Tab from the navigation list visits every enabled, visible control of the screen and comes
  back to the list: nothing is skipped, nothing traps the focus (a text edit that eats Tab, a table that
  walks its cells);
- Ctrl+1..6 switch screens, also while the focus is inside a screen.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractButton, QApplication, QLabel, QWidget

from tests.ui import walk


@pytest.fixture
def window(ctx: Any, qtbot: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with walk.open_window(ctx, qtbot, monkeypatch) as win:
        yield win


def _page(window: Any, key: str, qtbot: Any) -> QWidget:
    reason = walk.missing_reason(key)
    if reason:
        pytest.skip(reason)
    page = window.show_page(key)
    qtbot.waitUntil(page.isVisible)
    return page


def _named(widget: QWidget, buddies: set[int]) -> bool:
    if widget.accessibleName().strip():
        return True
    if isinstance(widget, QAbstractButton) and walk.plain(widget.text()):
        return True
    return id(widget) in buddies


def _buddies(root: QWidget) -> set[int]:
    found = set()
    for label in root.findChildren(QLabel):
        buddy = label.buddy()
        if buddy is not None and walk.plain(label.text()):
            found.add(id(buddy))
    return found


@pytest.mark.parametrize("key", walk.PAGE_KEYS)
def test_every_control_has_an_accessible_name(key: str, window: Any, qtbot: Any) -> None:
    page = _page(window, key, qtbot)
    buddies = _buddies(page)
    controls = walk.interactive(page)
    unnamed = [walk.describe(w) for w in controls if not _named(w, buddies)]
    assert not unnamed, (f"screen {key!r} ({walk.PAGE_MODULES[key]}): controls without an accessible name "
                         "(setAccessibleName(self.tr(...)) or a label with setBuddy):\n  " + "\n  ".join(unnamed))


def test_window_controls_have_accessible_names(window: Any) -> None:
    assert window.nav.accessibleName()
    chrome = [w for w in walk.interactive(window) if not walk.is_internal(w)
              and not any(p.objectName().startswith("page-") for p in _ancestors(w))]
    buddies = _buddies(window)
    assert not [walk.describe(w) for w in chrome if not _named(w, buddies)]


def _ancestors(widget: QWidget) -> Iterator[QWidget]:
    parent = widget.parentWidget()
    while parent is not None:
        yield parent
        parent = parent.parentWidget()


def _owner(widget: QWidget | None, targets: list[QWidget]) -> QWidget | None:
    """The control ``widget`` belongs to (a combo box for its line edit), else ``widget``."""
    probe = widget
    while probe is not None:
        if any(probe is t for t in targets):
            return probe
        probe = probe.parentWidget()
    return widget


def _tab_round(window: Any, targets: list[QWidget], qtbot: Any) -> tuple[list[QWidget], str | None]:
    """Press Tab from the navigation list until it comes back; the controls visited and a problem, if any."""
    start = window.nav
    start.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(start.hasFocus)
    visited: list[QWidget] = []
    limit = 3 * len(walk.widgets(window)) + 10
    stuck = 0
    previous: QWidget | None = start
    for _ in range(limit):
        focus = QApplication.focusWidget()
        assert focus is not None, "nothing has the focus"
        QTest.keyClick(focus, Qt.Key.Key_Tab)
        now = _owner(QApplication.focusWidget(), targets)
        if now is start:
            return visited, None
        if now is previous:
            stuck += 1
            if stuck >= 3:
                hint = ("setTabChangesFocus(True)" if hasattr(now, "setTabChangesFocus")
                        else "setTabKeyNavigation(False)" if hasattr(now, "setTabKeyNavigation") else "")
                return visited, f"Tab is trapped in {walk.describe(now)}" + (f" ({hint})" if hint else "")
            continue
        stuck = 0
        previous = now
        if now is not None and not any(now is v for v in visited):
            visited.append(now)
    return visited, f"Tab did not come back to the navigation list after {limit} presses"


@pytest.mark.parametrize("key", walk.PAGE_KEYS)
def test_tab_reaches_every_control_without_trapping(key: str, window: Any, qtbot: Any) -> None:
    page = _page(window, key, qtbot)
    targets = [w for w in walk.interactive(page) if w.isVisible() and w.isEnabled()]
    visited, problem = _tab_round(window, targets, qtbot)
    assert problem is None, f"screen {key!r} ({walk.PAGE_MODULES[key]}): {problem}"
    skipped = [walk.describe(w) for w in targets if not any(w is v for v in visited)]
    assert not skipped, (f"screen {key!r} ({walk.PAGE_MODULES[key]}): Tab never reaches:\n  " + "\n  ".join(skipped))


def test_tab_trap_is_detected(window: Any, qtbot: Any) -> None:
    """The check itself: a text edit that takes Tab as a character is reported as a trap."""
    from PySide6.QtWidgets import QTextEdit

    page = window.page(walk.PAGE_KEYS[0])
    window.show_page(walk.PAGE_KEYS[0])
    trap = QTextEdit(page)
    trap.setAccessibleName("trap")
    page.layout().addWidget(trap)
    trap.show()
    qtbot.waitUntil(trap.isVisible)
    _visited, problem = _tab_round(window, [trap], qtbot)
    assert problem is not None
    assert "trapped" in problem
    assert "setTabChangesFocus" in problem


def test_ctrl_number_switches_screens(window: Any, qtbot: Any) -> None:
    for number, key in enumerate(walk.PAGE_KEYS, 1):
        QTest.keyClick(window, Qt.Key(Qt.Key.Key_0.value + number), Qt.KeyboardModifier.ControlModifier)
        qtbot.waitUntil(lambda key=key: window.current_key() == key)
        assert window.stack.currentWidget() is window.page(key)


@pytest.mark.parametrize("key", walk.PAGE_KEYS)
def test_ctrl_number_works_from_inside_a_screen(key: str, window: Any, qtbot: Any) -> None:
    page = _page(window, key, qtbot)
    inside = [w for w in walk.interactive(page) if w.isVisible() and w.isEnabled()]
    if inside:
        inside[0].setFocus(Qt.FocusReason.TabFocusReason)
        qtbot.waitUntil(inside[0].hasFocus)
    target_index = (walk.PAGE_KEYS.index(key) + 1) % len(walk.PAGE_KEYS)
    focus = QApplication.focusWidget() or window
    QTest.keyClick(focus, Qt.Key(Qt.Key.Key_1.value + target_index), Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: window.current_key() == walk.PAGE_KEYS[target_index], timeout=2000)
