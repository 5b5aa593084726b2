"""The desktop app: ``deskline`` (or ``deskline app``) with a display.

Builds the application, loads the settings (a broken settings file is reported and the app starts on
defaults; the file is left as it is), installs the translations, shows the main window and, where the
desktop has one, the tray icon; starts the delivery service (the outbox's sender and ticket refresh)
and the consent service (answers remote-session requests from ``deskline-agent serve``).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from desktop import config
from desktop.errors import ConfigError
from desktop.ui import gc_guard, i18n, theme
from desktop.ui.context import AppContext
from desktop.ui.main_window import MainWindow, app_icon

log = logging.getLogger("deskline.ui")

# Monotonic time of ``main()``'s start, for the start-up benchmark.
STARTED = time.monotonic()


def make_application(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName("Deskline")
    app.setApplicationDisplayName("Deskline")
    app.setOrganizationName("Deskline")
    app.setDesktopFileName("deskline")
    app.setWindowIcon(app_icon())
    theme.apply(app)
    gc_guard.install(app)
    return app


def load_settings(explicit: str | None) -> tuple[config.Settings, str | None]:
    """The settings, or defaults (with the policy still applied) and the problem to tell the user."""
    try:
        return config.load(explicit), None
    except ConfigError as exc:
        problem = str(exc)
    try:
        settings = config.apply_policy(config.Settings(), config.load_policy())
    except ConfigError as exc:
        settings, problem = config.Settings(), f"{problem}\n{exc}"
    return settings, problem


def build(ctx: AppContext, *, tray: bool = True, services: bool = True) -> MainWindow:
    """The main window with its tray icon and services, for ``ctx`` (tests call this with their own)."""
    window = MainWindow(ctx)
    if services:
        from desktop.ui import consent, delivery_service

        delivery_service.start(ctx, window)
        consent.start(ctx, window)
    if tray:
        from desktop.ui import tray as tray_module

        tray_module.install(ctx, window)
    return window


def main(args: argparse.Namespace) -> int:
    app = make_application()
    warm_up()
    settings, problem = load_settings(getattr(args, "config", None))
    language = i18n.install(i18n.resolve(settings["ui.language"]))
    settings_path = Path(args.config) if getattr(args, "config", None) else None
    ctx = AppContext(settings, settings_path=settings_path, language=language)
    if problem:
        ctx.startup_warnings.append(
            app.translate("App", "Your settings file has a problem, so Deskline started with its default "
                                 "settings. Nothing was changed in the file.") + "\n\n" + problem)
    window = build(ctx)
    window.show()
    for warning in ctx.startup_warnings:
        QTimer.singleShot(0, lambda warning=warning: QMessageBox.warning(window, "Deskline", warning))
    app.setQuitOnLastWindowClosed(not window.hide_on_close)
    app.aboutToQuit.connect(lambda: _shutdown(ctx))
    log.debug("first window shown %.0f ms after start", (time.monotonic() - STARTED) * 1000)
    return app.exec()


# Imported in a worker from the start, while the window is built: the report wizard's screens and the
# redaction rules they load (about 175 ms of compiling), so that even a "Report a problem" click at the
# first paint finds them loaded (bench/app.py: 80 ms instead of 117 ms; start 28 ms later).
WARM_MODULES = ("desktop.diagnostics.redaction", "desktop.ui.draft", "desktop.ui.review", "desktop.ui.wizard")


def warm_up() -> None:
    import importlib

    from desktop.ui.workers import submit

    submit(lambda: [importlib.import_module(name) for name in WARM_MODULES])


def _shutdown(ctx: AppContext) -> None:
    for name, service in list(ctx.services.items()):
        try:
            service.stop()
        except Exception:  # noqa: BLE001 - one service's trouble must not keep the others running
            log.warning("stopping %s failed", name, exc_info=True)
    ctx.close()


__all__ = ["build", "main", "make_application"]
