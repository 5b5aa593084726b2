"""What every screen shares: the settings, the outbox, the knowledge base, and the app's signals.

Screens get an :class:`AppContext` and talk to each other through it (``navigate``), never by importing
each other. The outbox is not shared between threads (see :class:`desktop.outbox.Outbox`): ``outbox()``
gives the calling thread its own connection, so a worker may call it too.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from desktop import config
from desktop.config import Settings
from desktop.kb import KnowledgeBase
from desktop.outbox import Outbox


class AppContext(QObject):
    # Show a screen: page key ("help", "check", "report", "tickets", "sessions", "settings") and an
    # argument for it (or None); see :mod:`desktop.ui.main_window`.
    navigate = Signal(str, object)
    # The settings were saved and reloaded (``ctx.settings`` is the new object).
    settingsChanged = Signal()
    # The interface language changed (after the translators were swapped); the language code.
    languageChanged = Signal(str)
    # Something in the outbox changed: a report was filed, sent, failed, or tickets were refreshed.
    outboxChanged = Signal()
    # Ask the delivery service to try sending now (a report was just filed, or the user pressed Retry).
    deliveryRequested = Signal()
    # A ticket changed: incident number, what happened ("status" or "reply"), a one-line text.
    ticketUpdated = Signal(int, str, str)
    # A consent event from the consent service (dicts as :class:`desktop.consent_service.Ledger` stores).
    consentEvent = Signal(dict)

    def __init__(self, settings: Settings, *, settings_path: Path | None = None, language: str = "en",
                 outbox_folder: Path | None = None, kb: KnowledgeBase | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.settings_path = settings_path or settings.path or config.default_path()
        self.language = language
        self._outbox_folder = outbox_folder
        self._local = threading.local()
        self._kb = kb
        self._kb_lock = threading.Lock()
        # Problems found at start-up that the main window shows once (bad settings file, damaged outbox).
        self.startup_warnings: list[str] = []
        # Services the app starts (delivery, consent), by name, so screens can reach them.
        self.services: dict[str, Any] = {}

    # -- the outbox: one connection per thread
    @property
    def outbox_folder(self) -> Path:
        if self._outbox_folder is None:
            from desktop.outbox import default_folder

            self._outbox_folder = default_folder(self.settings)
        return self._outbox_folder

    def outbox(self) -> Outbox:
        box: Outbox | None = getattr(self._local, "outbox", None)
        if box is None:
            box = Outbox(self.outbox_folder)
            self._local.outbox = box
            self.startup_warnings.extend(w for w in box.warnings if w not in self.startup_warnings)
        return box

    # -- the knowledge base: built once (about 50 ms), from any thread
    def kb(self) -> KnowledgeBase:
        with self._kb_lock:
            if self._kb is None:
                folder = self.settings["kb.folder"]
                self._kb = KnowledgeBase(Path(folder).expanduser() if folder else None)
            return self._kb

    # -- settings
    def save_settings(self, changes: dict[str, Any]) -> None:
        """Write ``changes`` to the user's file and reload; raises ConfigError (nothing written) if refused."""
        config.save_user(self.settings_path, changes, self.settings)
        old_kb_folder = self.settings["kb.folder"]
        self.settings = config.load(self.settings_path)
        if self.settings["kb.folder"] != old_kb_folder:
            with self._kb_lock:
                self._kb = None
        self.settingsChanged.emit()

    def close(self) -> None:
        box = getattr(self._local, "outbox", None)
        if box is not None:
            box.close()
            self._local.outbox = None
