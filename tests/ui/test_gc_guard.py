"""Cycles are collected in the GUI thread only (desktop.ui.gc_guard): a parentless widget left in a
reference cycle must never be destroyed by a worker thread that happens to allocate."""

from __future__ import annotations

import gc
import threading
from typing import Any

from PySide6.QtWidgets import QWidget

from desktop.ui import gc_guard


def test_automatic_collection_is_off_and_the_gui_thread_collects(qtbot: Any, qapp: Any) -> None:
    collector = gc_guard.install(qapp)
    assert not gc.isenabled()
    assert collector.timer.isActive()
    destroyed_in: list[str] = []
    widget = QWidget()
    widget.me = widget  # type: ignore[attr-defined]  # a cycle only the cyclic collector can free
    widget.destroyed.connect(lambda: destroyed_in.append(threading.current_thread().name))
    del widget

    kept: list[list[int]] = []

    def allocate() -> None:  # far past gc's thresholds: with automatic collection this would collect here
        kept.extend([i] for i in range(20_000))

    worker = threading.Thread(target=allocate, name="worker")
    worker.start()
    worker.join()
    assert destroyed_in == []
    assert gc.get_count()[0] > collector.threshold[0]
    qtbot.waitUntil(lambda: destroyed_in != [], timeout=5000)  # the guard's timer collects
    assert destroyed_in == [threading.main_thread().name]
