"""The theme: follows DESKLINE_THEME (else the desktop's scheme), readable dark palette, visible edges of
check boxes on it, and icons that stay sharp on high-DPI screens."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QTreeWidget, QTreeWidgetItem

from desktop.paths import resource_dir
from desktop.ui import theme


@pytest.fixture
def restore_theme(qapp: QApplication) -> Iterator[QApplication]:
    palette = QPalette(qapp.palette())
    yield qapp
    qapp.setPalette(palette)


def contrast(a: QColor, b: QColor) -> float:
    def lum(c: QColor) -> float:
        def ch(v: float) -> float:
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

        return 0.2126 * ch(c.redF()) + 0.7152 * ch(c.greenF()) + 0.0722 * ch(c.blueF())

    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.parametrize("name", ["dark", "light"])
def test_environment_override(name: str, restore_theme: QApplication, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESKLINE_THEME", name)
    assert theme.wanted() == name
    assert theme.apply(restore_theme) == name
    assert theme.current() == name
    window = restore_theme.palette().color(QPalette.ColorRole.Window)
    assert (window.lightness() < 128) == (name == "dark")
    assert isinstance(restore_theme.style(), theme.Style)


def test_without_override_follows_the_desktop(qapp: QApplication, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DESKLINE_THEME", raising=False)
    scheme = qapp.styleHints().colorScheme()
    assert theme.wanted() == ("dark" if scheme == Qt.ColorScheme.Dark else "light")


@pytest.mark.parametrize("name", ["dark", "light"])
def test_text_contrast(name: str) -> None:
    p = theme.palette(name)
    pairs = [(QPalette.ColorRole.WindowText, QPalette.ColorRole.Window), (QPalette.ColorRole.Text,
                                                                         QPalette.ColorRole.Base),
             (QPalette.ColorRole.ButtonText, QPalette.ColorRole.Button),
             (QPalette.ColorRole.HighlightedText, QPalette.ColorRole.Highlight)]
    for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
        for fg, bg in pairs:
            assert contrast(p.color(group, fg), p.color(group, bg)) >= 4.5, (name, group, fg, bg)
    assert contrast(p.color(QPalette.ColorRole.PlaceholderText), p.color(QPalette.ColorRole.Base)) >= 3.0


def test_unticked_box_is_visible_on_dark(restore_theme: QApplication, qtbot: Any) -> None:
    theme.apply(restore_theme, "dark")
    tree = QTreeWidget()
    qtbot.addWidget(tree)
    tree.setHeaderHidden(True)
    item = QTreeWidgetItem(tree, ["unticked"])
    item.setCheckState(0, Qt.CheckState.Unchecked)
    tree.resize(200, 80)
    tree.show()
    qtbot.waitExposed(tree)
    image = tree.viewport().grab().toImage()
    rect = tree.visualItemRect(item)
    base = tree.palette().color(QPalette.ColorRole.Base)
    # the box sits at the row's left; some pixel there must stand out from the base colour
    best = max(contrast(image.pixelColor(x, y), base) for x in range(rect.left(), rect.left() + 30)
               for y in range(rect.top(), rect.bottom()))
    assert best >= 2.0


def test_icons_are_scalable() -> None:
    icons = resource_dir() / "icons"
    for path in icons.iterdir():
        if path.suffix == ".svg" or "@2x" in path.stem:
            continue
        assert (icons / f"{path.stem}@2x{path.suffix}").exists(), f"{path.name}: use SVG or add an @2x version"
