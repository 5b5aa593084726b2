"""Run blocking work (collection, network, disk) off the GUI thread and get the result back on it.

``submit(fn, *args, on_done=..., on_error=...)`` runs ``fn`` in Qt's global thread pool; the callbacks
run in the GUI thread (queued signal delivery). ``fn`` may take a ``progress`` keyword (a callable
``progress(done, total, text)``) when ``on_progress`` is given. A failure reaches ``on_error`` as a
:class:`Failure` holding the user-facing message and the technical details (the traceback), which the
UI shows one click away.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

from desktop.errors import DesklineError

log = logging.getLogger("deskline.ui")


@dataclass(frozen=True)
class Failure:
    """What went wrong in a worker: ``message`` for the user, ``details`` (traceback) for the curious."""

    message: str
    details: str
    exception: BaseException


class _Signals(QObject):
    done = Signal(object)
    failed = Signal(object)
    progress = Signal(int, int, str)


class Task(QRunnable):
    """One job for the pool. Keep the returned object if you need ``cancelled``; the pool owns the rest."""

    _alive: set[Task] = set()  # signal carriers must outlive the worker thread

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        super().__init__()
        self.setAutoDelete(False)
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.signals = _Signals()
        self.cancelled = False

    @Slot()
    def run(self) -> None:
        try:
            result = self.fn(*self.args, **self.kwargs)
        except Exception as exc:  # noqa: BLE001 - every failure goes to on_error, never kills the pool
            message = str(exc) if isinstance(exc, (DesklineError, OSError, ValueError)) else ""
            if not isinstance(exc, DesklineError):
                log.warning("worker %s failed", getattr(self.fn, "__name__", self.fn), exc_info=True)
            details = "".join(traceback.format_exception(exc))
            self.signals.failed.emit(Failure(message, details, exc))
        else:
            self.signals.done.emit(result)


def submit(fn: Callable[..., Any], *args: Any, on_done: Callable[[Any], None] | None = None,
           on_error: Callable[[Failure], None] | None = None,
           on_progress: Callable[[int, int, str], None] | None = None,
           pool: QThreadPool | None = None, **kwargs: Any) -> Task:
    """Run ``fn(*args, **kwargs)`` in the pool; callbacks arrive in the thread that owns the callbacks'
    receiver (the GUI thread for widgets' methods)."""
    task = Task(fn, args, kwargs)
    if on_done is not None:
        task.signals.done.connect(on_done)
    if on_error is not None:
        task.signals.failed.connect(on_error)
    if on_progress is not None:
        task.signals.progress.connect(on_progress)
        task.kwargs["progress"] = lambda done, total, text="": task.signals.progress.emit(done, total, text)
    # let go of the task only once its result was delivered in the receiving thread (connected last)
    task.signals.done.connect(lambda _result: Task._alive.discard(task))
    task.signals.failed.connect(lambda _failure: Task._alive.discard(task))
    Task._alive.add(task)
    (pool or QThreadPool.globalInstance()).start(task)
    return task
