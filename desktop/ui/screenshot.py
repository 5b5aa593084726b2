"""A screenshot for a report: taken with Deskline out of the way, then blacked out where the user wants.

:class:`ScreenCapture` hides every visible top-level window of the app, waits for the compositor to
take them off the screen (a timer, never a sleep: the GUI keeps running), grabs all screens into one
picture, and shows the windows again. :class:`BlackoutEditor` lets the user drag rectangles over what
must not leave the machine (a password, a colleague's message); the picture it returns has those pixels
black, really black in the file, not hidden by a layer. :func:`save_png` writes it into a private
temporary folder under the user's cache (call it from a worker).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from pathlib import Path

from PySide6.QtCore import QObject, QPoint, QPointF, QRect, QRectF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QFocusEvent,
    QGuiApplication,
    QImage,
    QKeyEvent,
    QKeySequence,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QShortcut,
)
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

log = logging.getLogger("deskline.ui")


# A draft's screenshot folder left behind (the app was killed before the draft was sent or dropped)
# is removed when a new one is made this long after (seconds).
STALE_AFTER = 7 * 86400


def screenshots_dir() -> Path:
    """A new private folder for one draft's screenshots, under the user's cache (``.../screenshots``).

    Disk work: call it from a worker. Folders of earlier drafts older than :data:`STALE_AFTER` go."""
    from platformdirs import user_cache_path

    base = user_cache_path("deskline", appauthor=False) / "screenshots"
    base.mkdir(parents=True, exist_ok=True, mode=0o700)
    now = time.time()
    for old in base.glob("report-*"):
        try:
            if now - old.stat().st_mtime > STALE_AFTER:
                shutil.rmtree(old)
        except OSError as exc:
            log.info("could not remove the old screenshot folder %s: %s", old, exc)
    return Path(tempfile.mkdtemp(prefix="report-", dir=base))


def remove_folder(folder: Path) -> None:
    """Remove a draft's screenshot folder (its report was filed, with copies in the outbox, or dropped)."""
    shutil.rmtree(folder, ignore_errors=True)


def save_png(image: QImage, folder: Path | None = None, name: str = "screenshot") -> Path:
    """Write ``image`` as a PNG into ``folder`` (a new one under the cache when None); the file's path.

    Disk work: call it from a worker (QImage, unlike QPixmap, may be used outside the GUI thread)."""
    folder = folder or screenshots_dir()
    path = folder / f"{name}.png"
    number = 1
    while path.exists():
        number += 1
        path = folder / f"{name}-{number}.png"
    if not image.save(str(path), "PNG"):
        raise OSError(f"could not write the screenshot to {path}")
    return path


def grab_screens() -> QImage:
    """All screens as one picture (their layout kept; a null image where the platform refuses to grab)."""
    screens = QGuiApplication.screens()
    if not screens:
        return QImage()
    area = QRect()
    for screen in screens:
        area = area.united(screen.geometry())
    ratio = max(screen.devicePixelRatio() for screen in screens)
    image = QImage(QSize(round(area.width() * ratio), round(area.height() * ratio)), QImage.Format.Format_RGB32)
    image.fill(QColor("black"))
    grabbed = False
    painter = QPainter(image)
    for screen in screens:
        pixmap = screen.grabWindow(0)
        if pixmap.isNull():
            continue
        grabbed = True
        geometry = screen.geometry().translated(-area.topLeft())
        target = QRectF(geometry.x() * ratio, geometry.y() * ratio, geometry.width() * ratio, geometry.height() * ratio)
        painter.drawPixmap(target, pixmap, QRectF(pixmap.rect()))
    painter.end()
    return image if grabbed else QImage()


class ScreenCapture(QObject):
    """Hide the app, grab the screens, show the app again; ``captured(QImage)`` or ``failed(str)``."""

    captured = Signal(QImage)
    failed = Signal(str)
    # How long the compositor gets to take the hidden windows off the screen (ms): fade-out animations
    # of common desktops last 150-250 ms.
    DELAY_MS = 400

    def __init__(self, parent: QObject | None = None, *, delay_ms: int | None = None) -> None:
        super().__init__(parent)
        self.delay_ms = self.DELAY_MS if delay_ms is None else delay_ms
        self._hidden: list[QWidget] = []
        self.busy = False

    def start(self) -> None:
        if self.busy:
            return
        self.busy = True
        self._hidden = [w for w in QApplication.topLevelWidgets() if w.isVisible() and not w.isMinimized()]
        for window in self._hidden:
            window.hide()
        QTimer.singleShot(self.delay_ms, self._grab)

    def _grab(self) -> None:
        try:
            image = grab_screens()
        finally:
            self._restore()
        if image.isNull():
            self.failed.emit(self.tr(
                "Deskline could not take a screenshot on this desktop. Take one with your system's "
                "screenshot tool (the Print Screen key) and add the picture with Add files."))
            return
        self.captured.emit(image)

    def _restore(self) -> None:
        for window in self._hidden:
            window.show()
        if self._hidden:
            self._hidden[0].raise_()
            self._hidden[0].activateWindow()
        self._hidden = []
        self.busy = False


class BlackoutCanvas(QWidget):
    """The picture, scaled to fit, with the rectangles the user dragged painted black (image coordinates)."""

    changed = Signal()

    def __init__(self, image: QImage, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.image = image
        self.rects: list[QRect] = []
        self._start: QPointF | None = None
        self._current: QRect | None = None
        # Keyboard use: the arrow keys move a point (a tenth of the picture per press, a pixel with
        # Shift), Space marks one corner and then the opposite one.
        self.point = QPointF(image.width() / 2, image.height() / 2)
        self._key_start: QPointF | None = None
        self.setMinimumSize(320, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return self.image.size().scaled(QSize(900, 560), Qt.AspectRatioMode.KeepAspectRatio)

    # -- geometry: the image is drawn scaled into target()
    def target(self) -> QRectF:
        size = self.image.size().toSizeF().scaled(self.size().toSizeF(), Qt.AspectRatioMode.KeepAspectRatio)
        return QRectF((self.width() - size.width()) / 2, (self.height() - size.height()) / 2,
                      size.width(), size.height())

    def to_image(self, point: QPointF) -> QPointF:
        t = self.target()
        if t.width() <= 0 or t.height() <= 0:
            return QPointF()
        x = (point.x() - t.x()) * self.image.width() / t.width()
        y = (point.y() - t.y()) * self.image.height() / t.height()
        return QPointF(min(max(x, 0.0), self.image.width()), min(max(y, 0.0), self.image.height()))

    def to_widget(self, rect: QRect) -> QRectF:
        t = self.target()
        sx, sy = t.width() / max(1, self.image.width()), t.height() / max(1, self.image.height())
        return QRectF(t.x() + rect.x() * sx, t.y() + rect.y() * sy, rect.width() * sx, rect.height() * sy)

    # -- editing
    def add_rect(self, rect: QRect) -> None:
        rect = rect.normalized().intersected(self.image.rect())
        if rect.width() > 0 and rect.height() > 0:
            self.rects.append(rect)
            self.update()
            self.changed.emit()

    def undo(self) -> None:
        if self.rects:
            self.rects.pop()
            self.update()
            self.changed.emit()

    def clear(self) -> None:
        if self.rects:
            self.rects.clear()
            self.update()
            self.changed.emit()

    def result(self) -> QImage:
        """A copy of the picture with every rectangle's pixels black."""
        image = self.image.convertToFormat(QImage.Format.Format_RGB32)
        painter = QPainter(image)
        for rect in self.rects:
            painter.fillRect(rect, QColor("black"))
        painter.end()
        return image

    def _drag_rect(self, end: QPointF) -> QRect:
        assert self._start is not None
        a, b = self._start, self.to_image(end)
        left, top = int(min(a.x(), b.x())), int(min(a.y(), b.y()))
        right, bottom = int(max(a.x(), b.x()) + 0.999), int(max(a.y(), b.y()) + 0.999)
        return QRect(QPoint(left, top), QSize(right - left, bottom - top))

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        if event.button() == Qt.MouseButton.LeftButton:
            self._start = self.to_image(event.position())
            self._current = None

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        if self._start is not None:
            self._current = self._drag_rect(event.position())
            self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        if self._start is not None and event.button() == Qt.MouseButton.LeftButton:
            rect = self._drag_rect(event.position())
            self._start, self._current = None, None
            self.add_rect(rect)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt's name
        step = 1.0 if event.modifiers() & Qt.KeyboardModifier.ShiftModifier else max(self.image.width(),
                                                                                       self.image.height()) / 10
        moves = {Qt.Key.Key_Left: (-step, 0.0), Qt.Key.Key_Right: (step, 0.0), Qt.Key.Key_Up: (0.0, -step),
                 Qt.Key.Key_Down: (0.0, step)}
        key = Qt.Key(event.key())
        if key in moves:
            dx, dy = moves[key]
            self.point = QPointF(min(max(self.point.x() + dx, 0.0), self.image.width()),
                                 min(max(self.point.y() + dy, 0.0), self.image.height()))
            if self._key_start is not None:
                self._start = self._key_start
                self._current = self._drag_rect(self.from_image(self.point))
            self.update()
        elif key == Qt.Key.Key_Space:
            if self._key_start is None:
                self._key_start = QPointF(self.point)
            else:
                self._start = self._key_start
                rect = self._drag_rect(self.from_image(self.point))
                self._start, self._current, self._key_start = None, None, None
                self.add_rect(rect)
            self.update()
        elif key == Qt.Key.Key_Escape and self._key_start is not None:
            self._start, self._current, self._key_start = None, None, None  # drop the half-made box only
            self.update()
        else:
            super().keyPressEvent(event)

    def focusInEvent(self, event: QFocusEvent) -> None:  # noqa: N802 - Qt's name
        super().focusInEvent(event)
        self.update()

    def focusOutEvent(self, event: QFocusEvent) -> None:  # noqa: N802 - Qt's name
        super().focusOutEvent(event)
        self.update()

    def from_image(self, point: QPointF) -> QPointF:
        """Image coordinates to the widget's (the inverse of :meth:`to_image`)."""
        t = self.target()
        return QPointF(t.x() + point.x() * t.width() / max(1, self.image.width()),
                       t.y() + point.y() * t.height() / max(1, self.image.height()))

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.fillRect(self.rect(), self.palette().window())
        painter.drawImage(self.target(), self.image)
        for rect in self.rects:
            painter.fillRect(self.to_widget(rect), QColor("black"))
        if self._current is not None:
            pen = QPen(QColor(220, 40, 40), 2, Qt.PenStyle.DashLine)
            painter.setPen(pen)
            painter.fillRect(self.to_widget(self._current), QColor(0, 0, 0, 140))
            painter.drawRect(self.to_widget(self._current))
        if self.hasFocus():  # where the arrow keys are: a small cross
            at = self.from_image(self.point)
            for colour, width in ((QColor("black"), 4), (QColor("white"), 2)):  # seen on any picture
                painter.setPen(QPen(colour, width))
                painter.drawLine(QPointF(at.x() - 9, at.y()), QPointF(at.x() + 9, at.y()))
                painter.drawLine(QPointF(at.x(), at.y() - 9), QPointF(at.x(), at.y() + 9))
        painter.end()


class BlackoutEditor(QDialog):
    """Black out parts of a screenshot before attaching it. ``result_image()`` after ``exec()`` accepted."""

    def __init__(self, image: QImage, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("BlackoutEditor")
        self.setModal(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 16, 18, 16)
        layout.setSpacing(10)
        self.intro = QLabel(self)
        self.intro.setWordWrap(True)
        layout.addWidget(self.intro)
        self.canvas = BlackoutCanvas(image, self)
        layout.addWidget(self.canvas, 1)
        row = QHBoxLayout()
        self.undo_button = QPushButton(self)
        self.undo_button.clicked.connect(self.canvas.undo)
        self.clear_button = QPushButton(self)
        self.clear_button.clicked.connect(self.canvas.clear)
        self.count = QLabel(self)
        row.addWidget(self.undo_button)
        row.addWidget(self.clear_button)
        row.addSpacing(12)
        row.addWidget(self.count)
        row.addStretch(1)
        self.buttons = QDialogButtonBox(self)
        self.attach_button = self.buttons.addButton("", QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.attach_button.setDefault(True)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        row.addWidget(self.buttons)
        layout.addLayout(row)
        self.undo_shortcut = QShortcut(QKeySequence(QKeySequence.StandardKey.Undo), self)
        self.undo_shortcut.activated.connect(self.canvas.undo)
        self.canvas.changed.connect(self._update_state)
        self.retranslate()
        self._update_state()
        self.resize(980, 680)
        self.canvas.setFocus()

    def retranslate(self) -> None:
        self.setWindowTitle(self.tr("Black out private parts"))
        self.intro.setText(self.tr(
            "Drag over anything the helpdesk should not see, such as passwords, names or messages (or use the "
            "arrow keys and Space). Those parts become black in the picture that is attached."))
        self.canvas.setAccessibleName(self.tr("Screenshot"))
        self.canvas.setAccessibleDescription(self.tr(
            "Drag with the mouse to black out a part of the picture. With the keyboard: move with the arrow "
            "keys, press Space at one corner and again at the opposite corner."))
        self.undo_button.setText(self.tr("&Undo"))
        self.undo_button.setAccessibleName(self.tr("Undo the last black box"))
        self.clear_button.setText(self.tr("C&lear all"))
        self.clear_button.setAccessibleName(self.tr("Remove all black boxes"))
        self.attach_button.setText(self.tr("&Attach"))
        self.attach_button.setAccessibleName(self.tr("Attach the screenshot"))
        self._update_state()

    def _update_state(self) -> None:
        n = len(self.canvas.rects)
        self.undo_button.setEnabled(n > 0)
        self.clear_button.setEnabled(n > 0)
        if n == 0:
            self.count.setText(self.tr("Nothing blacked out yet"))
        elif n == 1:
            self.count.setText(self.tr("1 part blacked out"))
        else:
            self.count.setText(self.tr("%n parts blacked out", "", n))

    def result_image(self) -> QImage:
        return self.canvas.result()


__all__ = ["BlackoutCanvas", "BlackoutEditor", "ScreenCapture", "grab_screens", "remove_folder", "save_png",
           "screenshots_dir"]
