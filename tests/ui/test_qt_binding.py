"""The Qt binding itself: PySide6 6.12.0 loses a reference to None (and to True/False) on every
``processEvents()`` and every Python slot call, so a long-running app, or the test suite, aborts with
'none_dealloc'. pyproject.toml excludes that release; this test catches a release with the same fault."""

from __future__ import annotations

import sys

from PySide6.QtCore import QEventLoop, QObject, QTimer, Signal


class _Sender(QObject):
    value = Signal(object)


def test_process_events_keeps_none_alive(qapp: object) -> None:
    before = sys.getrefcount(None)
    for _ in range(500):
        qapp.processEvents()  # type: ignore[attr-defined]
    assert sys.getrefcount(None) >= before - 50


def test_slot_calls_and_queued_values_keep_their_references(qapp: object) -> None:
    sender = _Sender()
    received: list[object] = []
    sender.value.connect(received.append)  # list.append returns None to the binding
    nones, trues = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(500):
        sender.value.emit(True)
    loop = QEventLoop()
    QTimer.singleShot(0, loop.quit)
    loop.exec()
    assert len(received) == 500
    del received
    assert sys.getrefcount(None) >= nones - 50
    assert sys.getrefcount(True) >= trues - 50
