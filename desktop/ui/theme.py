"""The app's look: the Fusion style with a light or dark palette that follows the desktop's colour scheme.

Qt 6.5+ reports the desktop's scheme (``QStyleHints.colorScheme()``: GNOME/KDE settings, the Windows and
macOS dark mode). Where there is no platform theme (a bare X session, Xvfb, some tiling window managers)
the native style would draw light widgets whatever the scheme; Fusion with an explicit palette looks the
same everywhere and follows the scheme when it changes while the app runs.

``DESKLINE_THEME=dark`` or ``light`` overrides the desktop (screenshots, tests, a user who wants it).
Screens must take their colours from the palette (``palette().color(QPalette.ColorRole.X)``) or use
``accent()``/``muted()`` below, never fixed dark-on-light colours, so both schemes read well.

High DPI needs nothing here: Qt 6 scales by the screen's factor; our own icons are SVG (see ``icons``).
"""

from __future__ import annotations

import logging
import os

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QPainter, QPalette, QPen
from PySide6.QtWidgets import QApplication, QProxyStyle, QStyle, QStyleFactory, QStyleOption, QWidget

log = logging.getLogger("deskline.ui")

THEMES = ("light", "dark")
ENV = "DESKLINE_THEME"

_state: dict[str, str] = {"applied": ""}


def wanted(app: QGuiApplication | None = None) -> str:
    """``"dark"`` or ``"light"``: the override in ``DESKLINE_THEME``, else the desktop's colour scheme."""
    override = os.environ.get(ENV, "").strip().lower()
    if override in THEMES:
        return override
    app = app or QGuiApplication.instance()  # type: ignore[assignment]
    if app is None:
        return "light"
    scheme = QGuiApplication.styleHints().colorScheme()
    return "dark" if scheme == Qt.ColorScheme.Dark else "light"


def current() -> str:
    """The theme applied last (``""`` before :func:`apply`)."""
    return _state["applied"]


def is_dark() -> bool:
    return _state["applied"] == "dark"


def dark_palette() -> QPalette:
    """A dark palette with enough contrast (WCAG AA for text on window and base colours)."""
    p = QPalette()
    window, base, alt, button = QColor("#2b2d30"), QColor("#1e1f22"), QColor("#27292c"), QColor("#3a3d41")
    text, muted, disabled = QColor("#e8e8e8"), QColor("#a9adb3"), QColor("#7c8087")
    highlight, link = QColor("#2f66c4"), QColor("#6cb0ff")
    roles = {
        QPalette.ColorRole.Window: window,
        QPalette.ColorRole.WindowText: text,
        QPalette.ColorRole.Base: base,
        QPalette.ColorRole.AlternateBase: alt,
        QPalette.ColorRole.ToolTipBase: QColor("#3a3d41"),
        QPalette.ColorRole.ToolTipText: text,
        QPalette.ColorRole.PlaceholderText: muted,
        QPalette.ColorRole.Text: text,
        QPalette.ColorRole.Button: button,
        QPalette.ColorRole.ButtonText: text,
        QPalette.ColorRole.BrightText: QColor("#ff6b6b"),
        QPalette.ColorRole.Light: QColor("#505358"),
        QPalette.ColorRole.Midlight: QColor("#43464a"),
        QPalette.ColorRole.Mid: QColor("#2f3134"),
        QPalette.ColorRole.Dark: QColor("#18191b"),
        QPalette.ColorRole.Shadow: QColor("#0c0c0d"),
        QPalette.ColorRole.Highlight: highlight,
        QPalette.ColorRole.HighlightedText: QColor("#ffffff"),
        QPalette.ColorRole.Link: link,
        QPalette.ColorRole.LinkVisited: QColor("#b48cff"),
        QPalette.ColorRole.Accent: highlight,
    }
    for role, colour in roles.items():
        p.setColor(QPalette.ColorGroup.All, role, colour)
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText,
                 QPalette.ColorRole.PlaceholderText):
        p.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Button, QColor("#313336"))
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Base, QColor("#232427"))
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Highlight, QColor("#4a4d52"))
    p.setColor(QPalette.ColorGroup.Inactive, QPalette.ColorRole.Highlight, QColor("#34588f"))
    return p


def light_palette() -> QPalette:
    """Fusion's own light palette, with a clearer selection colour and placeholder."""
    style = QStyleFactory.create("Fusion")
    p = QPalette(style.standardPalette()) if style is not None else QPalette()
    p.setColor(QPalette.ColorGroup.All, QPalette.ColorRole.Highlight, QColor("#2f6fd6"))
    p.setColor(QPalette.ColorGroup.All, QPalette.ColorRole.Accent, QColor("#2f6fd6"))
    p.setColor(QPalette.ColorGroup.All, QPalette.ColorRole.HighlightedText, QColor("#ffffff"))
    p.setColor(QPalette.ColorGroup.All, QPalette.ColorRole.PlaceholderText, QColor("#6b6f76"))
    p.setColor(QPalette.ColorGroup.All, QPalette.ColorRole.Link, QColor("#1f5fbf"))
    # an inactive window's selection: a pale blue with dark text (white on it would not be readable)
    p.setColor(QPalette.ColorGroup.Inactive, QPalette.ColorRole.Highlight, QColor("#c8d8f0"))
    p.setColor(QPalette.ColorGroup.Inactive, QPalette.ColorRole.HighlightedText, QColor("#1b1b1b"))
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Highlight, QColor("#b8b8b8"))
    return p


class Style(QProxyStyle):
    """Fusion, with visible edges on a dark palette.

    Fusion draws the edges of check boxes, radio buttons and text fields a shade darker than the window
    colour: right on a light palette, invisible on a dark one (an unticked box in a list is then not
    seen at all). On a dark palette this draws them again in a light grey that stands out from both the
    window and the field colours.
    """

    EDGED = (QStyle.PrimitiveElement.PE_IndicatorCheckBox, QStyle.PrimitiveElement.PE_IndicatorItemViewItemCheck,
             QStyle.PrimitiveElement.PE_IndicatorRadioButton, QStyle.PrimitiveElement.PE_FrameLineEdit)

    def __init__(self) -> None:
        super().__init__(QStyleFactory.create("Fusion"))
        self.setObjectName("deskline-fusion")

    def drawPrimitive(self, element: QStyle.PrimitiveElement, option: QStyleOption,  # noqa: N802 - Qt's name
                      painter: QPainter, widget: QWidget | None = None) -> None:
        super().drawPrimitive(element, option, painter, widget)
        if element not in self.EDGED or option.palette.color(QPalette.ColorRole.Window).lightness() >= 128:
            return
        enabled = bool(option.state & QStyle.StateFlag.State_Enabled)
        focused = bool(option.state & QStyle.StateFlag.State_HasFocus)
        if element == QStyle.PrimitiveElement.PE_FrameLineEdit and focused:
            return  # Fusion's own focus frame (the highlight colour) is visible already
        edge = QColor("#8d9299") if enabled else QColor("#55595f")
        if element == QStyle.PrimitiveElement.PE_FrameLineEdit:
            edge = QColor("#5b6067") if enabled else QColor("#43464b")
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(QPen(edge, 1))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        rect = QRectF(option.rect).adjusted(0.5, 0.5, -0.5, -0.5)
        if element == QStyle.PrimitiveElement.PE_IndicatorRadioButton:
            painter.drawEllipse(rect.adjusted(1, 1, -1, -1))
        elif element == QStyle.PrimitiveElement.PE_FrameLineEdit:
            painter.drawRoundedRect(rect, 2, 2)
        else:
            painter.drawRoundedRect(rect.adjusted(0.5, 0.5, -0.5, -0.5), 1.5, 1.5)
        painter.restore()


_style: list[QStyle] = []  # the application's style, kept alive here


def palette(theme: str) -> QPalette:
    return dark_palette() if theme == "dark" else light_palette()


def apply(app: QApplication, theme: str | None = None) -> str:
    """Use Fusion with the palette for ``theme`` (default: :func:`wanted`) and follow later changes of the
    desktop's scheme (unless ``DESKLINE_THEME`` fixes it). Returns the theme applied."""
    theme = theme if theme in THEMES else wanted(app)
    assert theme is not None
    if not isinstance(app.style(), Style):
        style = Style()
        _style[:] = [style]
        app.setStyle(style)
    app.setPalette(palette(theme))
    hints = QGuiApplication.styleHints()
    if os.environ.get(ENV, "").strip().lower() in THEMES:
        # Tell Qt too, so its own dialogs and anything asking styleHints() agree with the override.
        try:
            hints.setColorScheme(Qt.ColorScheme.Dark if theme == "dark" else Qt.ColorScheme.Light)
        except AttributeError:  # Qt < 6.8
            pass
    if not _state.get("following"):
        hints.colorSchemeChanged.connect(lambda _scheme: _follow(app))
        _state["following"] = "yes"
    _state["applied"] = theme
    log.debug("theme %s (style %s)", theme, app.style().name())
    return theme


def _follow(app: QApplication) -> None:
    theme = wanted(app)
    if theme != _state["applied"]:
        apply(app, theme)


def accent() -> QColor:
    """The highlight colour of the current palette (for a screen's emphasis, status badges)."""
    return QGuiApplication.palette().color(QPalette.ColorRole.Highlight)


def muted() -> QColor:
    """A secondary text colour readable on the window colour in both themes (hints, timestamps)."""
    return QGuiApplication.palette().color(QPalette.ColorRole.PlaceholderText)


__all__ = ["THEMES", "accent", "apply", "current", "dark_palette", "is_dark", "light_palette", "muted", "palette",
           "wanted"]
