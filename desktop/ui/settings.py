"""The Settings screen: language, the helpdesk connection, proxy, privacy and notifications.

The screen edits a copy: nothing is written until Save, which writes only the settings the user changed
(``ctx.save_settings``, keeping the comments of the user's file). Settings IT policy locks
(``ctx.settings.locked``) are shown disabled, with a padlock and the policy's reason. Unsaved edits
survive a language change (:meth:`SettingsPage.retranslate` only re-sets texts) and a reload of the
settings from elsewhere (only untouched fields follow the new values).

The helpdesk credential is a reference (``env:NAME`` or ``keyring:SERVICE/USER``, see
:mod:`desktop.credentials`); something else, likely the secret itself, is refused before anything is
written, and never shown back in a message. "Test connection" builds the connector from the values on
the screen (saved or not) in a worker and asks the helpdesk something harmless.
"""

from __future__ import annotations

import copy
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from PySide6.QtCore import QEvent, QObject, QSize, Qt
from PySide6.QtGui import QIcon, QKeySequence, QPalette, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from desktop import config
from desktop.config import Settings
from desktop.errors import ConfigError
from desktop.ui.context import AppContext
from desktop.ui.main_window import heading

log = logging.getLogger("deskline.ui")

_ENV_REFERENCE = re.compile(r"^env:[A-Za-z_][A-Za-z0-9_]*$")
_KEYRING_REFERENCE = re.compile(r"^keyring:[^/\s][^/]*/\S.*$")
_PROXY_SCHEMES = ("http", "https", "socks5", "socks5h")
# The helpdesk settings "Test connection" uses from the screen (the others come from the saved settings).
_CONNECTION_KEYS = ("helpdesk.backend", "helpdesk.url", "helpdesk.queue", "helpdesk.token",
                    "helpdesk.reporter_name", "helpdesk.reporter_email", "helpdesk.proxy")
# Backends that file reports somewhere else than an address with a queue and a token.
_NO_ADDRESS = ("local", "email")


def is_credential_reference(text: str) -> bool:
    """True for ``""``, ``env:NAME`` and ``keyring:SERVICE/USER``: where a secret is kept, not the secret."""
    text = text.strip()
    return not text or bool(_ENV_REFERENCE.match(text) or _KEYRING_REFERENCE.match(text))


def _maybe_reference(text: str) -> bool:
    """Could ``text`` become a reference as the user types on (``e``, ``env``, ``keyr``...)?"""
    text = text.strip()
    return any(p.startswith(text) or text.startswith(p) for p in ("env:", "keyring:"))


def proxy_problem(text: str) -> bool:
    """True when ``text`` is set but not an http(s) or socks5 proxy URL with a host."""
    text = text.strip()
    if not text:
        return False
    try:
        parts = urlsplit(text)
        _ = parts.port  # raises ValueError for a bad port
    except ValueError:
        return True
    return parts.scheme not in _PROXY_SCHEMES or not parts.hostname


def url_problem(text: str) -> bool:
    text = text.strip()
    if not text:
        return False
    try:
        parts = urlsplit(text)
        _ = parts.port
    except ValueError:
        return True
    return parts.scheme not in ("http", "https") or not parts.hostname


# ----------------------------------------------------------------------------- the connection check

@dataclass(frozen=True)
class ConnectionCheck:
    """What "Test connection" found: ``outcome`` is ``ok``, ``unchecked`` (nothing to ask without sending a
    report), ``settings`` (a setting is wrong: ``setting``), ``unreachable`` or ``refused``; ``detail`` is
    the connector's own message (English, secrets masked), shown one click away."""

    outcome: str
    backend: str
    detail: str = ""
    setting: str = ""


def check_connection(settings: Settings) -> ConnectionCheck:
    """Build the connector for ``settings`` and ask it something harmless (the ticket of a submission that
    does not exist). Runs in a worker: it may wait for the network up to ``helpdesk.timeout``."""
    from desktop.connectors import registry
    from desktop.connectors.base import ConfigurationError, PermanentError, TransientError

    backend = settings["helpdesk.backend"]
    try:
        connector = registry.from_settings(settings)
    except ConfigurationError as exc:
        return ConnectionCheck("settings", backend, str(exc), exc.setting)
    try:
        if backend == "email":
            # a mailbox cannot be asked anything; connecting and logging in is the test
            server = connector._connect()  # type: ignore[attr-defined]  # noqa: SLF001 - the one harmless call
            try:
                server.quit()
            except Exception:  # noqa: BLE001 - the login worked; a rude goodbye does not matter
                server.close()
        elif backend == "webhook" and not settings["webhook.find_url"]:
            return ConnectionCheck("unchecked", backend)
        else:
            connector.find(f"deskline-connection-test-{uuid.uuid4().hex}")
    except ConfigurationError as exc:
        return ConnectionCheck("settings", backend, str(exc), exc.setting)
    except TransientError as exc:
        return ConnectionCheck("unreachable", backend, str(exc))
    except PermanentError as exc:
        return ConnectionCheck("refused", backend, str(exc))
    except ConfigError as exc:
        return ConnectionCheck("settings", backend, str(exc), "helpdesk.token")
    finally:
        connector.close()
    return ConnectionCheck("ok", backend)


# ----------------------------------------------------------------------------------------- the fields

@dataclass
class _Field:
    """One setting on the screen: its control(s), how to read and set the value, its lock and error."""

    key: str
    controls: list[QWidget]
    get: Callable[[], Any]
    put: Callable[[Any], None]
    error: QLabel
    lock: QLabel
    group: str
    cell: QWidget
    label: QLabel | None = None


def _lock_icon() -> QIcon:
    from desktop.paths import resource_dir

    path = resource_dir() / "icons" / "lock.svg"
    return QIcon(str(path)) if path.exists() else QIcon()


def _small(label: QLabel, *, muted: bool = True) -> QLabel:
    font = label.font()
    font.setPointSizeF(font.pointSizeF() * 0.9)
    label.setFont(font)
    if muted:
        label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
    return label


class SettingsPage(QWidget):
    """The Settings screen (page key ``settings``)."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self._fields: dict[str, _Field] = {}
        self._baseline: dict[str, Any] = {}
        self._errors: dict[str, str] = {}  # key -> message shown under the field (already translated)
        self._status = ("", "")  # kind ("saved", "failed", ""), detail
        self._check: ConnectionCheck | None = None
        self._check_failure = ""  # details of a check that crashed
        self._checking = False
        self._details_shown = False
        self._lock_icon = _lock_icon()
        self._lock_reasons: dict[str, list[str]] = {}
        self._blank_labels: list[QLabel] = []

        outer = QVBoxLayout(self)
        outer.setContentsMargins(28, 22, 28, 16)
        outer.setSpacing(10)
        self.title = heading("", self)
        outer.addWidget(self.title)
        self.intro = QLabel(self)
        self.intro.setWordWrap(True)
        outer.addWidget(self.intro)

        self.scroller = QScrollArea(self)
        self.scroller.setWidgetResizable(True)
        self.scroller.setFrameShape(QFrame.Shape.NoFrame)
        body = QWidget(self.scroller)
        body.setObjectName("SettingsBody")
        self.body = QVBoxLayout(body)
        self.body.setContentsMargins(0, 4, 12, 4)
        self.body.setSpacing(14)
        self.scroller.setWidget(body)
        outer.addWidget(self.scroller, 1)
        self.scroller.viewport().installEventFilter(self)

        self._groups: dict[str, tuple[QGroupBox, QLabel, QLabel, QFormLayout]] = {}
        self._lock_rows: dict[str, QWidget] = {}
        self._build_language(body)
        self._build_connection(body)
        self._build_proxy(body)
        self._build_privacy(body)
        self._build_notifications(body)
        self.body.addStretch(1)

        # the bottom bar: status, where the file is, Revert and Save
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        outer.addWidget(self.status)
        bar = QHBoxLayout()
        bar.setSpacing(8)
        self.file_label = _small(QLabel(self))
        self.file_label.setWordWrap(True)
        self.file_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                                | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self.file_label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        bar.addWidget(self.file_label, 1)
        self.revert_button = QPushButton(self)
        self.revert_button.clicked.connect(self.revert)
        bar.addWidget(self.revert_button)
        self.save_button = QPushButton(self)
        self.save_button.setDefault(True)
        self.save_button.clicked.connect(self.save)
        bar.addWidget(self.save_button)
        outer.addLayout(bar)
        save_shortcut = QShortcut(QKeySequence(QKeySequence.StandardKey.Save), self)
        save_shortcut.activated.connect(self.save)

        self._load(initial=True)
        ctx.settingsChanged.connect(self._settings_changed)
        self.retranslate()

    # ------------------------------------------------------------------------------------ building

    def _group(self, name: str, parent: QWidget) -> QFormLayout:
        box = QGroupBox(parent)
        box.setObjectName(f"group-{name}")
        layout = QVBoxLayout(box)
        layout.setContentsMargins(16, 12, 16, 14)
        layout.setSpacing(8)
        lock_row = QWidget(box)
        lock_layout = QHBoxLayout(lock_row)
        lock_layout.setContentsMargins(0, 0, 0, 0)
        lock_layout.setSpacing(6)
        icon = QLabel(lock_row)
        icon.setPixmap(self._lock_icon.pixmap(QSize(16, 16)))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        lock_layout.addWidget(icon)
        lock_note = QLabel(lock_row)
        lock_note.setWordWrap(True)
        lock_note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lock_layout.addWidget(lock_note, 1)
        lock_row.setVisible(False)
        layout.addWidget(lock_row)
        about = QLabel(box)
        about.setWordWrap(True)
        about.setVisible(False)
        layout.addWidget(about)
        form = QFormLayout()
        form.setHorizontalSpacing(16)
        form.setVerticalSpacing(10)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        layout.addLayout(form)
        self.body.addWidget(box)
        self._groups[name] = (box, lock_note, about, form)
        self._lock_rows[name] = lock_row
        return form

    def _add(self, group: str, key: str, control: QWidget, get: Callable[[], Any], put: Callable[[Any], None],
             *, labelled: bool = True, controls: list[QWidget] | None = None, hint: QLabel | None = None,
             extra: QWidget | None = None) -> _Field:
        """A row: label (buddy of the control), the control with its padlock, a hint and an error line."""
        form = self._groups[group][3]
        box = self._groups[group][0]
        cell = QWidget(box)
        column = QVBoxLayout(cell)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(3)
        line = QHBoxLayout()
        line.setSpacing(6)
        line.addWidget(control, 0 if extra is not None else 1)
        lock = QLabel(cell)
        lock.setPixmap(self._lock_icon.pixmap(QSize(16, 16)))
        lock.setVisible(False)
        line.addWidget(lock)
        if extra is not None:
            line.addWidget(extra, 1)
        column.addLayout(line)
        if hint is not None:
            column.addWidget(hint)
        error = QLabel(cell)
        error.setWordWrap(True)
        error.setObjectName("FieldError")
        error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        error.setVisible(False)
        column.addWidget(error)
        label = None
        if labelled:
            label = QLabel(box)
            label.setBuddy(control)
            form.addRow(label, cell)
        else:
            form.addRow(cell)
        field = _Field(key, controls or [control], get, put, error, lock, group, cell, label)
        self._fields[key] = field
        return field

    def _line_edit(self, key: str) -> QLineEdit:
        edit = QLineEdit(self)
        edit.setObjectName(key)
        edit.setClearButtonEnabled(True)
        edit.textChanged.connect(lambda _text, key=key: self._edited(key))
        edit.returnPressed.connect(self.save)
        return edit

    def _hint(self) -> QLabel:
        hint = _small(QLabel(self))
        hint.setWordWrap(True)
        return hint

    def _build_language(self, parent: QWidget) -> None:
        self._group("language", parent)
        self.language = QComboBox(self)
        self.language.setObjectName("ui.language")
        for code in ("system", "en", "ru"):
            self.language.addItem("", code)
        self.language.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.language.currentIndexChanged.connect(lambda _i: self._edited("ui.language"))
        self._add("language", "ui.language", self.language, lambda: self.language.currentData(),
                  lambda v: self._select(self.language, v), extra=self._spacer())

    def _build_connection(self, parent: QWidget) -> None:
        from desktop.connectors import registry

        self._group("connection", parent)
        self.backend = QComboBox(self)
        self.backend.setObjectName("helpdesk.backend")
        for name in registry.names():
            self.backend.addItem("", name)
        self.backend.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.backend.currentIndexChanged.connect(self._backend_picked)
        self.backend_hint = self._hint()
        self._add("connection", "helpdesk.backend", self.backend, lambda: self.backend.currentData(),
                  lambda v: self._select(self.backend, v), hint=self.backend_hint, extra=self._spacer())

        self.url = self._line_edit("helpdesk.url")
        self.url.setPlaceholderText("https://helpdesk.example.org")
        self._add("connection", "helpdesk.url", self.url, lambda: self.url.text().strip(), self.url.setText)
        self.queue = self._line_edit("helpdesk.queue")
        self.queue_hint = self._hint()
        self._add("connection", "helpdesk.queue", self.queue, lambda: self.queue.text().strip(), self.queue.setText,
                  hint=self.queue_hint)
        self.token = self._line_edit("helpdesk.token")
        self.token.setPlaceholderText("env:HELPDESK_TOKEN")
        self.token.textChanged.connect(self._token_echo)
        self.token_hint = self._hint()
        self._add("connection", "helpdesk.token", self.token, lambda: self.token.text().strip(), self.token.setText,
                  hint=self.token_hint)
        self.reporter_name = self._line_edit("helpdesk.reporter_name")
        self._add("connection", "helpdesk.reporter_name", self.reporter_name,
                  lambda: self.reporter_name.text().strip(), self.reporter_name.setText)
        self.reporter_email = self._line_edit("helpdesk.reporter_email")
        self.reporter_email.setPlaceholderText("name@example.org")
        self._add("connection", "helpdesk.reporter_email", self.reporter_email,
                  lambda: self.reporter_email.text().strip(), self.reporter_email.setText)

        # Test connection: a button, what it found, and the technical details one click away
        form = self._groups["connection"][3]
        cell = QWidget(self)
        column = QVBoxLayout(cell)
        column.setContentsMargins(0, 4, 0, 0)
        column.setSpacing(4)
        row = QHBoxLayout()
        self.test_button = QPushButton(self)
        self.test_button.setObjectName("test-connection")
        self.test_button.clicked.connect(self.test_connection)
        row.addWidget(self.test_button)
        self.test_result = QLabel(self)
        self.test_result.setObjectName("test-result")
        self.test_result.setWordWrap(True)
        self.test_result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row.addWidget(self.test_result, 1)
        column.addLayout(row)
        self.test_details_button = QToolButton(self)
        self.test_details_button.setArrowType(Qt.ArrowType.RightArrow)
        self.test_details_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.test_details_button.setAutoRaise(True)
        self.test_details_button.clicked.connect(self._toggle_details)
        self.test_details_button.setVisible(False)
        column.addWidget(self.test_details_button)
        self.test_details = _small(QLabel(self))
        self.test_details.setObjectName("test-details")
        self.test_details.setWordWrap(True)
        self.test_details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                                  | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self.test_details.setVisible(False)
        column.addWidget(self.test_details)
        blank = QLabel(self)
        self._blank_labels.append(blank)
        form.addRow(blank, cell)

    def _build_proxy(self, parent: QWidget) -> None:
        self._group("proxy", parent)
        self.proxy = self._line_edit("helpdesk.proxy")
        self.proxy.setPlaceholderText("http://proxy.example.org:3128")
        self.proxy_hint = self._hint()
        self._add("proxy", "helpdesk.proxy", self.proxy, lambda: self.proxy.text().strip(), self.proxy.setText,
                  hint=self.proxy_hint)

    def _build_privacy(self, parent: QWidget) -> None:
        from desktop.diagnostics.registry import probes

        self._group("privacy", parent)
        self.never_send_label = QLabel(self)
        self.never_send_label.setWordWrap(True)
        grid_box = QWidget(self)
        grid = QGridLayout(grid_box)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(18)
        grid.setVerticalSpacing(6)
        self._never_send_grid = grid
        self._never_send_columns = 0
        self.never_send: dict[str, QCheckBox] = {}
        self._probe_titles: dict[str, str] = {}
        for probe in probes():
            box = QCheckBox(self)
            box.setObjectName(f"never-send-{probe.name}")
            box.toggled.connect(lambda _on: self._edited("report.never_send"))
            self.never_send[probe.name] = box
            self._probe_titles[probe.name] = probe.title
        form = self._groups["privacy"][3]
        form.addRow(self.never_send_label)
        self._add("privacy", "report.never_send", grid_box, self._never_send_value, self._set_never_send,
                  labelled=False, controls=list(self.never_send.values()))
        self.pseudonymize = QCheckBox(self)
        self.pseudonymize.setObjectName("report.pseudonymize")
        self.pseudonymize.toggled.connect(lambda _on: self._edited("report.pseudonymize"))
        self.pseudonymize_hint = self._hint()
        self._add("privacy", "report.pseudonymize", self.pseudonymize, self.pseudonymize.isChecked,
                  self.pseudonymize.setChecked, labelled=False, hint=self.pseudonymize_hint)

    def _build_notifications(self, parent: QWidget) -> None:
        self._group("notifications", parent)
        self.notifications = QCheckBox(self)
        self.notifications.setObjectName("ui.notifications")
        self.notifications.toggled.connect(lambda _on: self._edited("ui.notifications"))
        self._add("notifications", "ui.notifications", self.notifications, self.notifications.isChecked,
                  self.notifications.setChecked, labelled=False)
        self.refresh = QSpinBox(self)
        self.refresh.setObjectName("tickets.refresh_minutes")
        self.refresh.setRange(1, 24 * 60)
        self.refresh.valueChanged.connect(lambda _v: self._edited("tickets.refresh_minutes"))
        self._add("notifications", "tickets.refresh_minutes", self.refresh, lambda: float(self.refresh.value()),
                  lambda v: self.refresh.setValue(round(v)), extra=self._spacer())

    def _layout_never_send(self) -> None:
        """Three columns of check boxes where they fit, else two or one (a narrow window, long words)."""
        boxes = list(self.never_send.values())
        if not boxes:
            return
        widest = max(box.sizeHint().width() for box in boxes)
        spacing = self._never_send_grid.horizontalSpacing()
        room = self.scroller.viewport().width() - 60  # the group box's margins and the body's
        columns = max(1, min(3, (room + spacing) // (widest + spacing)))
        if columns == self._never_send_columns:
            return
        self._never_send_columns = columns
        for box in boxes:
            self._never_send_grid.removeWidget(box)
        for index, box in enumerate(boxes):
            self._never_send_grid.addWidget(box, index // columns, index % columns)
        for column in range(3):
            self._never_send_grid.setColumnStretch(column, 1 if column < columns else 0)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if watched is self.scroller.viewport() and event.type() == QEvent.Type.Resize:
            self._layout_never_send()
        return super().eventFilter(watched, event)

    def _spacer(self) -> QWidget:
        spacer = QWidget(self)
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        return spacer

    # ---------------------------------------------------------------------------- values and state

    @staticmethod
    def _select(combo: QComboBox, value: Any) -> None:
        index = combo.findData(value)
        combo.setCurrentIndex(index if index >= 0 else 0)

    def _never_send_value(self) -> list[str]:
        chosen = [name for name, box in self.never_send.items() if box.isChecked()]
        # names the screen does not show (a probe that failed to load) are kept as they were
        kept = [n for n in self._baseline.get("report.never_send", []) if n not in self.never_send]
        return chosen + kept

    def _set_never_send(self, value: list[str]) -> None:
        for name, box in self.never_send.items():
            box.setChecked(name in value)

    def _normal(self, key: str, value: Any) -> Any:
        """A setting's value as the screen would show it, to compare with what the screen holds."""
        if key == "report.never_send":
            shown = [n for n in self.never_send if n in value]
            return shown + [n for n in value if n not in self.never_send]
        if key == "tickets.refresh_minutes":
            return float(round(value))
        if isinstance(value, str):
            return value.strip()
        return value

    def _load(self, *, initial: bool = False) -> None:
        """Take the baseline from ``ctx.settings``; fields the user has not touched follow it."""
        settings = self.ctx.settings
        old = dict(self._baseline)
        self._baseline = {key: self._normal(key, settings[key]) for key in self._fields}
        for key, field in self._fields.items():
            if initial or key in settings.locked or field.get() == old.get(key):
                self._put(field, self._baseline[key])
        self._apply_locks()
        self._backend_changed()
        self._update_state()

    def _put(self, field: _Field, value: Any) -> None:
        for control in field.controls:
            control.blockSignals(True)
        try:
            field.put(value)
        finally:
            for control in field.controls:
                control.blockSignals(False)
        if field.key == "helpdesk.token":
            self._token_echo(self.token.text())

    def changes(self) -> dict[str, Any]:
        """The settings on the screen that differ from the saved ones (locked ones never)."""
        locked = self.ctx.settings.locked
        return {key: field.get() for key, field in self._fields.items()
                if key not in locked and field.get() != self._baseline.get(key)}

    def is_dirty(self) -> bool:
        return bool(self.changes())

    def _edited(self, key: str) -> None:
        if key in self._errors:
            del self._errors[key]
            self._show_error(key)
        if self._status[0]:
            self._status = ("", "")
        self._update_state()

    def _update_state(self) -> None:
        dirty = self.is_dirty()
        self.save_button.setEnabled(dirty)
        self.revert_button.setEnabled(dirty)
        self._render_status(dirty)

    def _settings_changed(self) -> None:
        self._load()
        self._render_file()

    def _apply_locks(self) -> None:
        locked = self.ctx.settings.locked
        reasons: dict[str, list[str]] = {}
        for key, field in self._fields.items():
            reason = self._reason(locked[key]) if key in locked else ""
            for control in field.controls:
                control.setEnabled(not reason)
                control.setToolTip(reason)
            field.lock.setVisible(bool(reason))
            field.lock.setToolTip(reason)
            field.lock.setAccessibleName(reason)
            if field.label is not None:
                field.label.setEnabled(not reason)
            if reason and reason not in reasons.setdefault(field.group, []):
                reasons[field.group].append(reason)
        self._lock_reasons = reasons
        self._render_locks()

    def _reason(self, reason: str) -> str:
        if reason == config.DEFAULT_LOCK_REASON:
            return self.tr("Set by your organisation's IT policy.")
        return reason

    def _render_locks(self) -> None:
        for name, (_box, note, _about, _form) in self._groups.items():
            reasons = self._lock_reasons.get(name, [])
            self._lock_rows[name].setVisible(bool(reasons))
            if reasons:
                text = self.tr("Some of these settings are set by your organisation and cannot be changed here: %1")
                note.setText(text.replace("%1", " ".join(reasons)))
                note.setToolTip(" ".join(reasons))
                note.setAccessibleName(note.text())

    # --------------------------------------------------------------------------------- the screen's texts

    def retranslate(self) -> None:
        self.title.setText(self.tr("Settings"))
        self.title.setAccessibleName(self.title.text())
        self.intro.setText(self.tr("Choose how Deskline looks, where your reports go and what they may contain. "
                              "Changes take effect when you save them."))
        titles = {
            "language": self.tr("Language"),
            "connection": self.tr("Helpdesk connection"),
            "proxy": self.tr("Proxy"),
            "privacy": self.tr("Privacy"),
            "notifications": self.tr("Notifications"),
        }
        for name, (box, _note, _about, _form) in self._groups.items():
            box.setTitle(titles[name])
            box.setAccessibleName(titles[name])
        labels = {
            "ui.language": self.tr("&Language:"),
            "helpdesk.backend": self.tr("&Helpdesk:"),
            "helpdesk.url": self.tr("&Address:"),
            "helpdesk.queue": self.tr("&Queue:"),
            "helpdesk.token": self.tr("&Credential:"),
            "helpdesk.reporter_name": self.tr("Your &name:"),
            "helpdesk.reporter_email": self.tr("Your &e-mail:"),
            "helpdesk.proxy": self.tr("Pro&xy:"),
            "tickets.refresh_minutes": self.tr("Check my tickets e&very:"),
        }
        for key, text in labels.items():
            label = self._fields[key].label
            if label is not None:
                label.setText(text)
        # one label column width for every section, so the fields line up down the page
        form_labels = [f.label for f in self._fields.values() if f.label is not None] + self._blank_labels
        width = max(label.sizeHint().width() for label in form_labels)
        for label in form_labels:
            label.setMinimumWidth(width)
        names = {
            "ui.language": self.tr("Language"),
            "helpdesk.backend": self.tr("Helpdesk"),
            "helpdesk.url": self.tr("Helpdesk address"),
            "helpdesk.queue": self.tr("Queue"),
            "helpdesk.token": self.tr("Credential reference"),
            "helpdesk.reporter_name": self.tr("Your name"),
            "helpdesk.reporter_email": self.tr("Your e-mail address"),
            "helpdesk.proxy": self.tr("Proxy address"),
            "tickets.refresh_minutes": self.tr("Check my tickets every"),
        }
        for key, text in names.items():
            self._fields[key].controls[0].setAccessibleName(text)

        from desktop.ui import i18n

        system = i18n.system_language()
        self.language.setItemText(0, self.tr("Same as the desktop (%1)").replace("%1", self._native(system)))
        self.language.setItemText(1, self._native("en"))
        self.language.setItemText(2, self._native("ru"))
        for index in range(self.backend.count()):
            self.backend.setItemText(index, self.backend_label(self.backend.itemData(index)))
        self.token_hint.setText(self.tr("Where the password or API token is kept, never the secret itself: "
                                   "env:NAME (an environment variable) or keyring:service/user (this computer's "
                                   "password store)."))
        self.token.setPlaceholderText(self.tr("env:NAME or keyring:service/user"))
        self.proxy_hint.setText(self.tr("Leave empty to use this computer's proxy settings."))
        self.test_button.setText(self.tr("&Test connection"))
        self.test_button.setAccessibleName(self.tr("Test connection"))
        self.test_button.setToolTip(self.tr("Ask the helpdesk something harmless with the settings shown here "
                                       "(saved or not)."))
        self.test_result.setAccessibleName(self.tr("Connection test result"))
        self.test_details_button.setText(self.tr("Technical details"))
        self.test_details_button.setAccessibleName(self.tr("Technical details"))
        self.test_details.setAccessibleName(self.tr("Technical details"))

        self.never_send_label.setText(self.tr("Parts of the system report that are never collected for your "
                                         "reports. The helpdesk may need some of them to help you."))
        for name, check in self.never_send.items():
            title = self.probe_title(name)
            check.setText(title)
            check.setAccessibleName(self.tr("Never send: %1").replace("%1", title))
        self._never_send_columns = 0
        self._layout_never_send()
        self.pseudonymize.setText(self.tr("Hide names and addresses in reports"))
        self.pseudonymize.setAccessibleName(self.tr("Hide names and addresses in reports"))
        self.pseudonymize_hint.setText(self.tr("Your user name, the computer's name, e-mail and network addresses are "
                                          "replaced by placeholders such as user1 or host1."))
        self.notifications.setText(self.tr("Tell me when a ticket changes or gets a reply"))
        self.notifications.setAccessibleName(self.tr("Notifications"))
        self.refresh.setSuffix(self.tr(" min"))
        self.refresh.setAccessibleDescription(self.tr("Minutes between checks"))
        self.revert_button.setText(self.tr("&Revert"))
        self.revert_button.setAccessibleName(self.tr("Revert"))
        self.revert_button.setToolTip(self.tr("Undo the changes you have not saved"))
        self.save_button.setText(self.tr("&Save"))
        self.save_button.setAccessibleName(self.tr("Save"))
        self.save_button.setToolTip(self.tr("Save your changes (Ctrl+S)"))
        self._apply_locks()
        self._backend_changed()
        for key in self._fields:
            self._show_error(key)
        self._render_file()
        self._render_check()
        self._render_status(self.is_dirty())

    @staticmethod
    def _native(code: str) -> str:
        # Language names are shown in their own language, whatever the interface's language.
        return {"en": "English", "ru": "Русский"}.get(code, code)

    def backend_label(self, name: str) -> str:
        return {
            "local": self.tr("This computer only (no helpdesk)"),
            "django-helpdesk": "django-helpdesk",
            "redmine": "Redmine",
            "rt": self.tr("Request Tracker (RT)"),
            "zammad": "Zammad",
            "glpi": "GLPI",
            "jira": self.tr("Jira Service Management"),
            "email": self.tr("E-mail to the helpdesk"),
            "webhook": self.tr("Web hook (your organisation's own service)"),
        }.get(name, name)

    def probe_title(self, name: str) -> str:
        titles = {
            "system": self.tr("System"),
            "cpu": self.tr("Processor"),
            "memory": self.tr("Memory"),
            "disks": self.tr("Disks"),
            "network": self.tr("Network"),
            "processes": self.tr("Running programs"),
            "services": self.tr("Services"),
            "software": self.tr("Installed software"),
            "logs": self.tr("Recent errors in logs"),
            "power": self.tr("Power and battery"),
            "sensors": self.tr("Temperatures and fans"),
            "users": self.tr("Users and sessions"),
            "displays": self.tr("Displays"),
            "printers": self.tr("Printers"),
            "environment": self.tr("Environment variables"),
        }
        return titles.get(name) or self._probe_titles.get(name, name)


    def _backend_picked(self, _index: int) -> None:
        self._backend_changed()
        self._edited("helpdesk.backend")

    def _backend_changed(self) -> None:
        backend = self.backend.currentData()
        hints = {
            "local": self.tr("Reports are kept on this computer, to export and hand over."),
            "email": self.tr("Reports are sent by e-mail. The mail server is set in the settings file."),
            "webhook": self.tr("Reports are sent to the address below."),
        }
        self.backend_hint.setText(hints.get(backend, self.tr("Reports are filed as tickets on this helpdesk.")))
        queues = {
            "django-helpdesk": self.tr("The queue's number (shown in the address of its page)."),
            "redmine": self.tr("The project's identifier, as in /projects/IDENTIFIER."),
            "rt": self.tr("The queue's name."),
            "zammad": self.tr("The group's name."),
            "glpi": self.tr("The category's number (may be left empty)."),
            "jira": self.tr("The service desk's id or project key."),
        }
        self.queue_hint.setText(queues.get(backend, ""))
        self.queue_hint.setVisible(backend in queues)
        form = self._groups["connection"][3]
        for key in ("helpdesk.url", "helpdesk.queue", "helpdesk.token"):
            visible = backend not in _NO_ADDRESS and not (key == "helpdesk.queue" and backend == "webhook")
            form.setRowVisible(self._fields[key].cell, visible)

    def _token_echo(self, text: str) -> None:
        # Something that cannot become a reference is likely a pasted secret: do not show it on screen.
        secret = bool(text.strip()) and not _maybe_reference(text)
        mode = QLineEdit.EchoMode.Password if secret else QLineEdit.EchoMode.Normal
        if self.token.echoMode() != mode:
            self.token.setEchoMode(mode)

    def _render_file(self) -> None:
        text = self.tr("Your settings file: %1").replace("%1", str(self.ctx.settings_path))
        policy = self.ctx.settings.policy_path
        if self.ctx.settings.locked and policy:
            text += "\n" + self.tr("Your organisation's policy file: %1").replace("%1", str(policy))
        self.file_label.setText(text)
        self.file_label.setAccessibleName(text)

    def _render_status(self, dirty: bool) -> None:
        kind, detail = self._status
        if kind == "saved":
            text = self.tr("Your settings were saved.")
        elif kind == "invalid":
            text = self.tr("Nothing was saved: please correct the marked fields.")
        elif kind == "failed":
            text = self.tr("Your settings could not be saved. Your changes are still here; try again.")
            if detail:
                text += "\n" + detail
        elif dirty:
            text = self.tr("You have changes that are not saved yet.")
        else:
            text = ""
        self.status.setText(text)
        self.status.setVisible(bool(text))
        self.status.setAccessibleName(text)

    def _show_error(self, key: str) -> None:
        field = self._fields[key]
        message = self._errors.get(key, "")
        field.error.setText(message)
        field.error.setVisible(bool(message))
        field.error.setAccessibleName(message)
        if message:
            field.error.setStyleSheet(f"color: {self._error_colour()};")

    def _error_colour(self) -> str:
        # a red that reads on the light and on the dark palette
        dark = self.palette().color(QPalette.ColorRole.Window).lightness() < 128
        return "#ff7b72" if dark else "#b3261e"

    # ----------------------------------------------------------------------------------- validation

    def _problems(self, values: dict[str, Any]) -> dict[str, str]:
        """Messages (translated) for the values that cannot be saved as they are."""
        problems: dict[str, str] = {}
        token = values.get("helpdesk.token")
        if token is not None and not is_credential_reference(token):
            # never repeat the value: it is likely the secret itself
            problems["helpdesk.token"] = self.tr(
                "This looks like the secret itself, so it was not saved. Enter where the secret is kept "
                "instead: env:NAME or keyring:service/user.")
        if "helpdesk.proxy" in values and proxy_problem(values["helpdesk.proxy"]):
            problems["helpdesk.proxy"] = self.tr("Enter the proxy as http://host:port, or leave it empty to use "
                                                 "this computer's proxy settings.")
        if "helpdesk.url" in values and url_problem(values["helpdesk.url"]):
            problems["helpdesk.url"] = self.tr("Enter the full address, starting with https://.")
        email = values.get("helpdesk.reporter_email")
        if email and not re.fullmatch(r"[^@\s]+@[^@\s]+", email):
            problems["helpdesk.reporter_email"] = self.tr("This does not look like an e-mail address.")
        return problems

    def _set_errors(self, problems: dict[str, str]) -> None:
        for key in set(self._errors) | set(problems):
            self._errors.pop(key, None)
            if key in problems:
                self._errors[key] = problems[key]
            self._show_error(key)
        if problems:
            first = self._fields[next(k for k in self._fields if k in problems)]
            self.scroller.ensureWidgetVisible(first.controls[0])
            first.controls[0].setFocus(Qt.FocusReason.OtherFocusReason)

    # -------------------------------------------------------------------------------------- actions

    def save(self) -> bool:
        """Write the changed settings; True when saved (or nothing to save)."""
        changes = self.changes()
        if not changes:
            return True
        problems = self._problems(changes)
        if problems:
            self._set_errors(problems)
            self._status = ("invalid", "")
            self._render_status(True)
            return False
        old_language = self.ctx.settings["ui.language"]
        try:
            # A few hundred bytes, written atomically: quick enough for the GUI thread, and
            # ctx.save_settings emits settingsChanged, which must come from this thread.
            self.ctx.save_settings(changes)
        except ConfigError as exc:
            message = str(exc)
            key = next((k for k in changes if k in message), "")
            if key:
                self._set_errors({key: self.tr("Not saved: %1").replace("%1", message)})
                self._status = ("failed", "")
            else:
                self._status = ("failed", message)
            self._render_status(True)
            return False
        self._set_errors({})
        self._status = ("saved", "")
        self._update_state()
        new_language = self.ctx.settings["ui.language"]
        if new_language != old_language:
            from desktop.ui import i18n

            language = i18n.install(i18n.resolve(new_language))
            self.ctx.language = language
            self.ctx.languageChanged.emit(language)
        return True

    def revert(self) -> None:
        for key, field in self._fields.items():
            self._put(field, self._baseline[key])
        self._set_errors({})
        self._status = ("", "")
        self._backend_changed()
        self._update_state()

    def test_connection(self) -> None:
        if self._checking:
            return
        values = {key: self._fields[key].get() for key in _CONNECTION_KEYS}
        problems = self._problems(values)
        if problems:
            self._set_errors(problems)
            return
        settings = copy.deepcopy(self.ctx.settings)
        for key, value in values.items():
            if key not in settings.locked:
                settings.values[key] = value
        from desktop.ui import workers

        self._checking = True
        self._check, self._check_failure = None, ""
        self._render_check()
        workers.submit(check_connection, settings, on_done=self._check_done, on_error=self._check_failed)

    def _check_done(self, result: ConnectionCheck) -> None:
        self._checking = False
        self._check = result
        if result.outcome == "settings" and result.setting in self._fields and result.setting not in self._errors:
            self._errors[result.setting] = self.tr("Please check this setting.")
            self._show_error(result.setting)
        self._render_check()

    def _check_failed(self, failure: Any) -> None:
        self._checking = False
        self._check = None
        self._check_failure = failure.message or failure.details
        self._render_check()

    def _render_check(self) -> None:
        self.test_button.setEnabled(not self._checking)
        detail = ""
        if self._checking:
            text = self.tr("Checking…")
        elif self._check_failure:
            text = self.tr("The test could not be run. Please try again; if it keeps failing, tell your IT "
                           "support.")
            detail = self._check_failure
        elif self._check is None:
            text = ""
        else:
            check = self._check
            detail = check.detail
            if check.outcome == "ok" and check.backend == "local":
                text = self.tr("Works. Reports are kept on this computer.")
            elif check.outcome == "ok":
                text = self.tr("Connected. The helpdesk answered and accepted your credential.")
            elif check.outcome == "unchecked":
                text = self.tr("The settings are complete, but this helpdesk cannot be asked anything without "
                               "sending a report.")
            elif check.outcome == "unreachable":
                text = self.tr("The helpdesk could not be reached. Check the address, the proxy and your "
                               "network connection, then try again.")
            elif check.outcome == "refused":
                text = self.tr("The helpdesk answered but refused. Check the credential and the queue, or ask "
                               "your IT support.")
            else:
                field = self._fields.get(check.setting)
                name = field.label.text().replace("&", "").rstrip(":") if field and field.label else check.setting
                text = self.tr("A setting needs fixing: %1.").replace("%1", name)
        good = self._check is not None and self._check.outcome in ("ok", "unchecked") and not self._checking
        bad = bool(text) and not good and not self._checking
        colour = self._error_colour() if bad else ""
        self.test_result.setStyleSheet(f"color: {colour};" if colour else "")
        self.test_result.setText(("✓ " if good else "") + text)
        self.test_result.setAccessibleDescription(text)
        self.test_details.setText(detail)
        self.test_details_button.setVisible(bool(detail))
        self.test_details.setVisible(bool(detail) and self._details_shown)

    def _toggle_details(self) -> None:
        self._details_shown = not self._details_shown
        self.test_details_button.setArrowType(Qt.ArrowType.DownArrow if self._details_shown
                                              else Qt.ArrowType.RightArrow)
        self.test_details.setVisible(self._details_shown and bool(self.test_details.text()))

    # ------------------------------------------------------------------------------------ page protocol

    def activate(self) -> None:
        focused = self.focusWidget()
        if focused is None or not self.isAncestorOf(focused):
            first = next((f.controls[0] for f in self._fields.values() if f.controls[0].isEnabled()), None)
            if first is not None:
                first.setFocus(Qt.FocusReason.OtherFocusReason)


__all__ = ["ConnectionCheck", "SettingsPage", "check_connection", "is_credential_reference", "proxy_problem"]
