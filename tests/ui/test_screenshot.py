"""Screenshots: the app steps aside for the capture, and blacked-out parts are black in the attached file."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, QRect, Qt, QThreadPool
from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QWidget

from desktop.ui import draft as draft_mod
from desktop.ui import screenshot

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")


def synthetic(width: int = 400, height: int = 300) -> QImage:
    """A picture with no black in it: a colour gradient (every pixel differs from its neighbours)."""
    # built from bytes: setPixelColor in a loop trips a reference-count bug of PySide6 6.12
    data = bytes(v for y in range(height) for x in range(width)
                 for v in (40 + x * 200 // width, 60 + y * 180 // height, 200))
    return QImage(data, width, height, width * 3, QImage.Format.Format_RGB888).convertToFormat(
        QImage.Format.Format_RGB32)


def is_black(color: QColor) -> bool:
    return (color.red(), color.green(), color.blue()) == (0, 0, 0)


def drag(qtbot: Any, canvas: screenshot.BlackoutCanvas, image_rect: QRect) -> None:
    """Drag with the mouse over ``image_rect`` (image pixels) on the scaled canvas."""
    a = canvas.to_widget(QRect(image_rect.topLeft(), image_rect.topLeft())).topLeft().toPoint()
    b = canvas.to_widget(QRect(image_rect.bottomRight(), image_rect.bottomRight())).topLeft().toPoint()
    qtbot.mousePress(canvas, Qt.MouseButton.LeftButton, pos=a)
    qtbot.mouseMove(canvas, pos=(a + b) / 2)
    qtbot.mouseMove(canvas, pos=b)
    qtbot.mouseRelease(canvas, Qt.MouseButton.LeftButton, pos=b)


def test_editor_blacks_out_dragged_rectangles_with_undo_and_clear(qtbot: Any) -> None:
    image = synthetic()
    editor = screenshot.BlackoutEditor(image)
    qtbot.addWidget(editor)
    editor.show()
    qtbot.waitExposed(editor)
    canvas = editor.canvas
    assert not editor.undo_button.isEnabled()
    drag(qtbot, canvas, QRect(50, 40, 120, 60))
    drag(qtbot, canvas, QRect(250, 200, 60, 50))
    assert len(canvas.rects) == 2
    assert editor.undo_button.isEnabled()
    assert "2" in editor.count.text()
    qtbot.mouseClick(editor.undo_button, Qt.MouseButton.LeftButton)
    assert len(canvas.rects) == 1
    rect = canvas.rects[0]
    assert abs(rect.x() - 50) <= 3 and abs(rect.width() - 120) <= 4  # the canvas is scaled: a pixel or two

    result = editor.result_image()
    inside = rect.center()
    assert not is_black(image.pixelColor(inside))  # the editor never paints over the original
    assert is_black(result.pixelColor(inside))
    assert is_black(result.pixelColor(rect.topLeft())) and is_black(result.pixelColor(rect.bottomRight()))
    outside = QPoint(300, 250)  # where the undone rectangle was
    assert result.pixelColor(outside) == image.pixelColor(outside)

    qtbot.mouseClick(editor.clear_button, Qt.MouseButton.LeftButton)
    assert canvas.rects == []
    assert editor.result_image().pixelColor(inside) == image.pixelColor(inside)


class _Collect:
    def __call__(self, settings: Any, progress: Any = None) -> draft_mod.Collection:
        return draft_mod.Collection([], [], datetime.now(UTC), {})


@pytest.fixture
def wizard(qtbot: Any, ctx: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from desktop.ui.wizard import ReportWizard

    monkeypatch.setattr(draft_mod, "collect", _Collect())
    page = ReportWizard(ctx)
    qtbot.addWidget(page)
    page.resize(1040, 700)
    page.show()
    page.what.title.setText("The screen flickers")
    yield page
    assert QThreadPool.globalInstance().waitForDone(5000)


def test_attached_png_has_the_blacked_out_pixels(qtbot: Any, wizard: Any, tmp_path: Path) -> None:
    """Through the wizard: editor, Attach, saved PNG under the user's cache, listed with a thumbnail."""
    image = synthetic(640, 400)
    wizard._show_step(1)
    wizard.edit_screenshot(image)
    editor = wizard.editor
    qtbot.waitExposed(editor)
    drag(qtbot, editor.canvas, QRect(100, 80, 200, 100))
    rect = editor.canvas.rects[0]
    with qtbot.waitSignal(wizard.attachmentsChanged, timeout=5000):
        qtbot.mouseClick(editor.attach_button, Qt.MouseButton.LeftButton)
    assert len(wizard.draft.screenshots) == 1
    saved = wizard.draft.screenshots[0]
    assert saved.suffix == ".png"
    assert saved.is_relative_to(tmp_path / "cache")  # the test's private XDG cache
    png = QImage(str(saved))
    assert png.size() == image.size()
    for point in (rect.center(), rect.topLeft(), rect.bottomRight(), QPoint(rect.left() + 3, rect.bottom() - 3)):
        assert not is_black(image.pixelColor(point))
        assert is_black(png.pixelColor(point)), point
    for point in (QPoint(20, 20), QPoint(600, 380), QPoint(rect.right() + 5, rect.center().y())):
        assert png.pixelColor(point) == image.pixelColor(point)
    row = wizard.attachments.rows[saved]
    assert not row.icon.pixmap().isNull()  # the thumbnail
    assert "1" in row.name.text()
    assert wizard.attachments.list.count() == 1


def test_cancelled_editor_attaches_nothing(qtbot: Any, wizard: Any) -> None:
    wizard._show_step(1)
    wizard.edit_screenshot(synthetic())
    editor = wizard.editor
    qtbot.waitExposed(editor)
    qtbot.keyClick(editor, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not editor.isVisible(), timeout=2000)
    assert wizard.draft.screenshots == []


def test_capture_hides_every_window_and_shows_them_again(qtbot: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    main, other = QWidget(), QWidget()
    for w in (main, other):
        qtbot.addWidget(w)
        w.show()
    seen: list[tuple[bool, bool]] = []

    def fake_grab() -> QImage:
        seen.append((main.isVisible(), other.isVisible()))
        return synthetic(80, 60)

    monkeypatch.setattr(screenshot, "grab_screens", fake_grab)
    capture = screenshot.ScreenCapture(delay_ms=20)
    capture.start()
    assert not main.isVisible() and not other.isVisible()  # hidden at once, grabbed after the delay
    with qtbot.waitSignal(capture.captured, timeout=3000) as got:
        pass
    assert seen == [(False, False)]
    assert main.isVisible() and other.isVisible()
    assert got.args[0].size().width() == 80
    assert not capture.busy


def test_capture_failure_says_what_to_do_and_restores_windows(qtbot: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    main = QWidget()
    qtbot.addWidget(main)
    main.show()
    monkeypatch.setattr(screenshot, "grab_screens", QImage)  # the platform refuses: a null image
    capture = screenshot.ScreenCapture(delay_ms=10)
    with qtbot.waitSignal(capture.failed, timeout=3000) as failed:
        capture.start()
    assert "Print Screen" in failed.args[0]
    assert main.isVisible()


def test_take_screenshot_button_opens_the_editor(qtbot: Any, wizard: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(screenshot, "grab_screens", lambda: synthetic(120, 80))
    monkeypatch.setattr(screenshot.ScreenCapture, "DELAY_MS", 10)
    wizard._show_step(1)
    qtbot.mouseClick(wizard.attachments.shot_button, Qt.MouseButton.LeftButton)
    assert not wizard.isVisible()
    qtbot.waitUntil(lambda: wizard.editor is not None and wizard.editor.isVisible(), timeout=3000)
    assert wizard.isVisible()
    assert wizard.editor.canvas.image.width() == 120
    wizard.editor.reject()


def test_save_png_makes_a_private_folder_under_the_cache(tmp_path: Path) -> None:
    path = screenshot.save_png(synthetic(10, 10))
    assert path.parent.parent == tmp_path / "cache" / "deskline" / "screenshots"
    again = screenshot.save_png(synthetic(10, 10), path.parent)
    assert again != path and again.exists()


def test_old_screenshot_folders_are_cleaned_up(tmp_path: Path) -> None:
    import os

    first = screenshot.save_png(synthetic(10, 10)).parent
    recent = screenshot.save_png(synthetic(10, 10)).parent
    old = first.stat().st_mtime - screenshot.STALE_AFTER - 60
    os.utime(first, (old, old))
    newest = screenshot.screenshots_dir()
    assert not first.exists()
    assert recent.exists() and newest.exists()
    screenshot.remove_folder(recent)
    assert not recent.exists()


def test_a_new_report_removes_the_last_drafts_screenshots(qtbot: Any, wizard: Any) -> None:
    wizard._show_step(1)
    with qtbot.waitSignal(wizard.attachmentsChanged, timeout=5000):
        wizard.attach_image(synthetic(40, 30))
    folder = wizard.draft.screenshots[0].parent
    wizard.new_report()
    qtbot.waitUntil(lambda: not folder.exists(), timeout=5000)
    assert wizard.draft.screenshots == []


def test_blackout_with_the_keyboard_only(qtbot: Any) -> None:
    image = synthetic(400, 300)
    editor = screenshot.BlackoutEditor(image)
    qtbot.addWidget(editor)
    with qtbot.waitActive(editor):  # shortcuts (Ctrl+Z) need the active window
        editor.show()
        editor.activateWindow()
    canvas = editor.canvas
    canvas.setFocus()
    qtbot.keyClick(canvas, Qt.Key.Key_Space)  # one corner at the middle
    for key in (Qt.Key.Key_Right, Qt.Key.Key_Right, Qt.Key.Key_Down):
        qtbot.keyClick(canvas, key)  # 40 px (a tenth of the longer side) per press
    qtbot.keyClick(canvas, Qt.Key.Key_Space)
    assert len(canvas.rects) == 1
    rect = canvas.rects[0]
    assert abs(rect.left() - 200) <= 2 and abs(rect.top() - 150) <= 2
    assert abs(rect.width() - 80) <= 3 and abs(rect.height() - 40) <= 3
    assert is_black(editor.result_image().pixelColor(rect.center()))

    qtbot.keyClick(canvas, Qt.Key.Key_Space)  # a half-made box is dropped with Escape, the editor stays
    qtbot.keyClick(canvas, Qt.Key.Key_Escape)
    assert editor.isVisible() and len(canvas.rects) == 1
    qtbot.keyClick(canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # undo
    assert canvas.rects == []
    qtbot.keyClick(canvas, Qt.Key.Key_Escape)  # nothing half-made: Escape cancels the editor
    assert not editor.isVisible()
