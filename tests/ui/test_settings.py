"""The Settings screen: IT locks, saving only what changed (keeping the file's comments), refused secrets,
live language switch without losing edits, never-send parts, the connection test."""

from __future__ import annotations

import socket
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QLineEdit, QWidget

from desktop import config
from desktop.ui.context import AppContext
from desktop.ui.settings import SettingsPage, is_credential_reference

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support")

USER_FILE = """\
# My own notes: keep these!
version = 1

[outbox]
path = "{outbox}"  # where the reports wait

[helpdesk]
# the name the helpdesk knows me by
reporter_name = "Old Name"
"""


@pytest.fixture
def user_file(settings_file: Path, tmp_path: Path) -> Path:
    settings_file.write_text(USER_FILE.format(outbox=tmp_path / "outbox"), encoding="utf-8")
    return settings_file


@pytest.fixture
def page(qtbot, ctx: AppContext) -> SettingsPage:
    widget = SettingsPage(ctx)
    qtbot.addWidget(widget)
    widget.resize(1040, 700)
    widget.show()
    return widget


@pytest.fixture
def english() -> Iterator[None]:
    """Put English back after a test that switched the language (translators are application-wide)."""
    yield
    from desktop.ui import i18n

    i18n.install("en")


def _type(qtbot, edit: QLineEdit, text: str) -> None:
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClick(edit, Qt.Key.Key_Delete)
    qtbot.keyClicks(edit, text)


def _tick(qtbot, box) -> None:
    """Click a check box on its box, where a user clicks (its middle may be past the end of its text)."""
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))


def test_policy_lock_disables_the_control_and_shows_the_reason(qtbot, user_file: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text('reason = "Your IT department chose the helpdesk; call 1234 to change it."\n'
                      '[locked]\nhelpdesk.backend = "redmine"\n', encoding="utf-8")
    monkeypatch.setenv("DESKLINE_POLICY", str(policy))
    ctx = AppContext(config.load(user_file), settings_path=user_file)
    try:
        page = SettingsPage(ctx)
        qtbot.addWidget(page)
        page.show()
        field = page._fields["helpdesk.backend"]
        assert page.backend.currentData() == "redmine"
        assert not page.backend.isEnabled()
        assert field.lock.isVisible()
        assert "call 1234" in field.lock.toolTip()
        assert "call 1234" in page.backend.toolTip()
        _box, note, _about, _form = page._groups["connection"]
        assert note.isVisible() and "call 1234" in note.text()
        # the other sections carry no lock, and what is not locked stays editable
        assert not page._groups["language"][1].isVisible()
        assert page.url.isEnabled() and not page._fields["helpdesk.url"].lock.isVisible()
        # even if the combo were moved, a locked key is never part of what is saved
        page.backend.setCurrentIndex(page.backend.findData("local"))
        assert "helpdesk.backend" not in page.changes()
    finally:
        ctx.close()


def test_policy_default_reason_is_translated_and_shown(qtbot, user_file: Path) -> None:
    policy = config.parse_policy('[locked]\n"ui.notifications" = false\n', "/etc/deskline/policy.toml")
    ctx = AppContext(config.load(user_file, environ={}, policy=policy), settings_path=user_file)
    try:
        page = SettingsPage(ctx)
        qtbot.addWidget(page)
        page.show()
        assert not page.notifications.isEnabled() and not page.notifications.isChecked()
        assert "IT policy" in page._groups["notifications"][1].text()
        assert "/etc/deskline/policy.toml" in page.file_label.text()
    finally:
        ctx.close()


def test_saving_writes_only_the_changes_and_keeps_comments(qtbot, user_file: Path, tmp_path: Path) -> None:
    ctx = AppContext(config.load(user_file, environ={}), settings_path=user_file)
    try:
        page = SettingsPage(ctx)
        qtbot.addWidget(page)
        page.show()
        assert str(user_file) in page.file_label.text()
        assert not page.save_button.isEnabled()
        _type(qtbot, page.reporter_name, "Anna Petrova")
        _type(qtbot, page.reporter_email, "anna@example.org")
        assert page.save_button.isEnabled()
        assert page.changes() == {"helpdesk.reporter_name": "Anna Petrova",
                                  "helpdesk.reporter_email": "anna@example.org"}
        with qtbot.waitSignal(ctx.settingsChanged):
            qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
        text = user_file.read_text(encoding="utf-8")
        assert "# My own notes: keep these!" in text
        assert "# where the reports wait" in text
        assert "# the name the helpdesk knows me by" in text
        assert 'reporter_name = "Anna Petrova"' in text
        assert 'reporter_email = "anna@example.org"' in text
        assert "language" not in text and "never_send" not in text  # untouched settings are not written
        assert ctx.settings["helpdesk.reporter_name"] == "Anna Petrova"
        assert not page.save_button.isEnabled() and not page.revert_button.isEnabled()
        assert page.status.text() == "Your settings were saved."
    finally:
        ctx.close()


def test_a_pasted_secret_is_refused_without_being_echoed(qtbot, page: SettingsPage, settings_file: Path) -> None:
    before = settings_file.read_bytes()
    secret = "glpat-9zX3hunter2Secret"
    page.backend.setCurrentIndex(page.backend.findData("redmine"))
    _type(qtbot, page.reporter_name, "Anna")
    page.token.setFocus()
    qtbot.keyClicks(page.token, secret)
    assert page.token.echoMode() == QLineEdit.EchoMode.Password  # not shown on screen either
    assert page.save() is False
    error = page._fields["helpdesk.token"].error
    assert error.isVisible()
    assert "env:NAME or keyring:service/user" in error.text()
    shown = " ".join(label.text() for label in page.findChildren(type(error)))
    assert secret not in shown
    assert settings_file.read_bytes() == before  # nothing written, not even the name
    assert page.reporter_name.text() == "Anna" and page.save_button.isEnabled()  # nothing lost
    # a reference is accepted; the error goes as soon as the field is edited
    _type(qtbot, page.token, "env:HELPDESK_TOKEN")
    assert page.token.echoMode() == QLineEdit.EchoMode.Normal
    assert not error.isVisible()
    assert page.save() is True
    assert page.ctx.settings["helpdesk.token"] == "env:HELPDESK_TOKEN"
    assert page.ctx.settings["helpdesk.backend"] == "redmine"


@pytest.mark.parametrize(("text", "ok"), [
    ("", True), ("env:HELPDESK_TOKEN", True), ("keyring:deskline/anna", True), ("keyring:my service/anna", True),
    ("env:", False), ("env:1BAD", False), ("keyring:deskline", False), ("s3cr3t", False), ("env:A B", False),
])
def test_credential_references(text: str, ok: bool) -> None:
    assert is_credential_reference(text) is ok


def test_config_error_is_shown_next_to_the_field_and_nothing_is_lost(qtbot, page: SettingsPage,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from desktop.errors import ConfigError

    def refuse(_changes: dict[str, object]) -> None:
        raise ConfigError("helpdesk.proxy: the proxy said no")

    monkeypatch.setattr(page.ctx, "save_settings", refuse)
    _type(qtbot, page.proxy, "http://proxy.example.org:3128")
    assert page.save() is False
    error = page._fields["helpdesk.proxy"].error
    assert error.isVisible() and "the proxy said no" in error.text()
    assert page.proxy.text() == "http://proxy.example.org:3128" and page.save_button.isEnabled()


def test_a_malformed_proxy_is_refused_before_saving(qtbot, page: SettingsPage, settings_file: Path) -> None:
    before = settings_file.read_bytes()
    _type(qtbot, page.proxy, "proxy.example.org")
    assert page.save() is False
    assert "http://host:port" in page._fields["helpdesk.proxy"].error.text()
    assert settings_file.read_bytes() == before
    _type(qtbot, page.proxy, "http://proxy.example.org:3128")
    assert page.save() is True
    assert page.ctx.settings["helpdesk.proxy"] == "http://proxy.example.org:3128"


def test_never_send_check_boxes_change_the_setting(qtbot, page: SettingsPage) -> None:
    assert set(page.never_send) >= {"logs", "environment", "network"}
    assert page.never_send["logs"].text() == "Recent errors in logs"
    _tick(qtbot, page.never_send["environment"])
    _tick(qtbot, page.never_send["logs"])
    assert page.changes() == {"report.never_send": ["logs", "environment"]}
    assert page.save()
    assert page.ctx.settings["report.never_send"] == ["logs", "environment"]
    assert page.never_send["logs"].isChecked()
    _tick(qtbot, page.never_send["logs"])
    assert page.save()
    assert page.ctx.settings["report.never_send"] == ["environment"]


def test_revert_restores_the_saved_values(qtbot, page: SettingsPage) -> None:
    _type(qtbot, page.reporter_name, "Someone Else")
    _tick(qtbot, page.pseudonymize)
    page.refresh.setValue(17)
    assert page.revert_button.isEnabled()
    qtbot.mouseClick(page.revert_button, Qt.MouseButton.LeftButton)
    assert page.reporter_name.text() == ""
    assert not page.pseudonymize.isChecked()
    assert page.refresh.value() == 5
    assert not page.save_button.isEnabled() and page.changes() == {}


def test_settings_saved_elsewhere_update_untouched_fields_only(qtbot, page: SettingsPage) -> None:
    _type(qtbot, page.reporter_name, "Typed, not saved")
    page.ctx.save_settings({"helpdesk.queue": "42", "helpdesk.reporter_name": "From elsewhere"})
    assert page.queue.text() == "42"
    assert page.reporter_name.text() == "Typed, not saved"
    assert page.changes() == {"helpdesk.reporter_name": "Typed, not saved"}


class Blank(QWidget):
    """A stand-in for the other screens, so the main window can be built with only Settings real."""

    def __init__(self, _ctx: object, parent: QWidget | None = None) -> None:
        super().__init__(parent)


@pytest.fixture
def window(qtbot, ctx: AppContext, monkeypatch: pytest.MonkeyPatch):
    from desktop.ui import main_window

    module = types.ModuleType("deskline_test_blank_pages")
    module.Blank = Blank  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    pages = tuple(p if p[0] == "settings" else (p[0], module.__name__, "Blank", p[3]) for p in main_window.PAGES)
    monkeypatch.setattr(main_window, "PAGES", pages)
    win = main_window.MainWindow(ctx)
    qtbot.addWidget(win)
    win.show()
    return win


def _nav_texts(win) -> list[str]:
    return [win.nav.item(row).text() for row in range(win.nav.count())]


def test_switching_to_russian_retranslates_and_keeps_unsaved_edits(qtbot, window, english: None) -> None:
    page = window.show_page("settings")
    assert isinstance(page, SettingsPage)
    _type(qtbot, page.reporter_name, "Anna")
    _tick(qtbot, page.never_send["logs"])
    page.language.setCurrentIndex(page.language.findData("ru"))
    with qtbot.waitSignal(page.ctx.languageChanged) as signal:
        qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    assert signal.args == ["ru"]
    assert page.ctx.language == "ru" and page.ctx.settings["ui.language"] == "ru"
    assert "Настройки" in _nav_texts(window) and "Мои заявки" in _nav_texts(window)
    assert window.page("settings") is page  # retranslated, not rebuilt
    assert page.title.text() == "Настройки"
    assert page.save_button.text() == "Со&хранить"
    assert page.never_send["logs"].text() == "Недавние ошибки в журналах"

    # edits made now survive another language change (from anywhere in the app)
    _type(qtbot, page.queue, "SUPPORT")
    from desktop.ui import i18n

    page.ctx.languageChanged.emit(i18n.install("en"))
    assert "Settings" in _nav_texts(window)
    assert page.title.text() == "Settings"
    assert page.queue.text() == "SUPPORT"
    assert page.changes() == {"helpdesk.queue": "SUPPORT"}
    assert page.save_button.isEnabled()


def test_test_connection_with_the_local_store(qtbot, page: SettingsPage) -> None:
    qtbot.mouseClick(page.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.test_button.isEnabled() and page._check is not None)
    assert page._check.outcome == "ok"
    assert "Reports are kept on this computer" in page.test_result.text()


def test_test_connection_names_a_missing_credential(qtbot, page: SettingsPage) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    page.backend.setCurrentIndex(page.backend.findData("django-helpdesk"))
    assert page.url.isVisible() and page.queue.isVisible()
    _type(qtbot, page.url, f"http://127.0.0.1:{port}")
    _type(qtbot, page.queue, "1")
    _type(qtbot, page.token, "env:DESKLINE_TEST_NO_TOKEN")
    page.ctx.settings.values["helpdesk.timeout"] = 2.0
    qtbot.mouseClick(page.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.test_button.isEnabled() and page._check is not None, timeout=15000)
    # the token's variable is not set: the check names the credential, and nothing was saved
    assert page._check.outcome == "settings" and page._check.setting == "helpdesk.token"
    assert "Credential" in page.test_result.text()
    assert page._fields["helpdesk.token"].error.isVisible()
    assert page.ctx.settings["helpdesk.backend"] == "local"


def test_test_connection_unreachable(qtbot, page: SettingsPage, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("DESKLINE_TEST_TOKEN", "not-a-real-token")
    page.backend.setCurrentIndex(page.backend.findData("django-helpdesk"))
    _type(qtbot, page.url, f"http://127.0.0.1:{port}")
    _type(qtbot, page.queue, "1")
    _type(qtbot, page.token, "env:DESKLINE_TEST_TOKEN")
    page.ctx.settings.values["helpdesk.timeout"] = 2.0
    qtbot.mouseClick(page.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.test_button.isEnabled() and page._check is not None, timeout=15000)
    assert page._check.outcome == "unreachable", page._check
    assert "could not be reached" in page.test_result.text()
    assert page.test_details_button.isVisible()
    qtbot.mouseClick(page.test_details_button, Qt.MouseButton.LeftButton)
    assert page.test_details.isVisible() and page.test_details.text()
    assert "not-a-real-token" not in page.test_details.text()


def test_local_backend_hides_the_address_fields(qtbot, page: SettingsPage) -> None:
    assert page.backend.currentData() == "local"
    assert not page.url.isVisible() and not page.token.isVisible()
    page.backend.setCurrentIndex(page.backend.findData("redmine"))
    assert page.url.isVisible() and page.token.isVisible()
    assert "/projects/" in page.queue_hint.text()


def test_every_control_has_an_accessible_name(page: SettingsPage) -> None:
    from PySide6.QtWidgets import QAbstractButton, QAbstractSpinBox, QComboBox, QSpinBox

    kinds = (QLineEdit, QComboBox, QSpinBox, QAbstractButton)
    controls = [w for w in page.findChildren(QWidget) if isinstance(w, kinds)
                and not isinstance(w.parent(), (QAbstractSpinBox, QComboBox, QLineEdit))]  # their own parts
    assert len(controls) > 20
    assert [w.objectName() or type(w).__name__ for w in controls if not w.accessibleName()] == []


def test_no_sideways_scrolling_in_the_narrowest_window(qtbot, ctx: AppContext, english: None) -> None:
    from desktop.ui import i18n

    i18n.install("ru")  # the longer titles
    page = SettingsPage(ctx)
    qtbot.addWidget(page)
    page.resize(670, 600)  # the main window's minimum width less its navigation
    page.show()
    qtbot.waitUntil(lambda: page._never_send_columns > 0)
    qtbot.waitUntil(lambda: page.scroller.widget().width() <= page.scroller.viewport().width())
    assert not page.scroller.horizontalScrollBar().isVisible()
    assert page._never_send_columns >= 2
