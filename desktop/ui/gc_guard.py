"""Python's cyclic garbage collector, run only in the GUI thread.

Python collects reference cycles in whichever thread happens to allocate when a threshold is crossed:
the delivery thread, a worker, the consent service. A parentless Qt widget that ended up in a cycle
(a dialog whose timer is connected to its own method, a worker task holding a screen's bound method)
is then destroyed in that thread, and Qt crashes later in the GUI thread (seen as a segmentation fault
in QObject::event while the delivery thread was encoding a report). So automatic collection is turned
off and the same thresholds are checked from a timer in the GUI thread, which collects there.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer


class GarbageCollector(QObject):
    """Collect cycles from the GUI thread every ``interval_ms`` when gc's own thresholds say so."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = 250) -> None:
        super().__init__(parent)
        self.threshold = gc.get_threshold()
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.check)

    def start(self) -> None:
        gc.disable()
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()
        gc.enable()

    def check(self) -> int:
        """Collect the generations gc would have collected by now; how many objects were freed."""
        counts = gc.get_count()
        generation = -1
        for level in range(3):
            if counts[level] > self.threshold[level]:
                generation = level
        return gc.collect(generation) if generation >= 0 else 0


_installed: GarbageCollector | None = None


def install(app: QObject) -> GarbageCollector:
    """Start the GUI-thread collector for ``app`` (once)."""
    global _installed
    if _installed is None:
        _installed = GarbageCollector(app)
        _installed.start()
    return _installed
