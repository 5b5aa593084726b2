"""The delivery service: the app's sender and ticket checker, in a thread of its own.

The command line does the same work in ``deskline outbox send`` and ``deskline tickets --refresh``
(:mod:`desktop.delivery_cli`); here one background thread with its own outbox connection runs
:class:`desktop.delivery.Sender` whenever something is due, when asked (``ctx.deliveryRequested``, a
report was filed or the user pressed Retry), and checks the user's tickets with
:func:`desktop.delivery.refresh_tickets` every ``tickets.refresh_minutes``. What each cycle found goes
to the GUI thread (queued signal), which emits ``ctx.outboxChanged`` and ``ctx.ticketUpdated`` and
shows settings problems as a banner in the main window, once per problem.

``start(ctx, window)`` builds and starts it (``ctx.services["delivery"]``); ``stop()`` ends the thread
within a second or two (a request under way is left to its own timeout, in a daemon thread).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QStyle, QToolButton, QVBoxLayout, QWidget

from desktop.connectors.base import ConfigurationError, ConnectorInfo, DeliveryError
from desktop.delivery import Sender, refresh_tickets, settings_fingerprint
from desktop.errors import DesklineError
from desktop.outbox import Entry, Outbox, incident_label, mask_credentials, parse_incident
from desktop.ui.context import AppContext

log = logging.getLogger("deskline.ui")

# After an unexpected failure of a cycle (a damaged outbox, a full disk), wait this long before the next (s).
_ERROR_PAUSE = 30.0
# The shortest wait between two cycles when something is due but cannot be sent yet (s).
_MIN_PAUSE = 0.5
# How long stop() waits for the thread (s).
_STOP_WAIT = 2.0


def status_name(state: str) -> str:
    """A ticket's normalised state (:data:`desktop.connectors.base.STATES`) in the user's words."""
    names = {
        "new": QCoreApplication.translate("TicketStatus", "New"),
        "open": QCoreApplication.translate("TicketStatus", "In progress"),
        "pending": QCoreApplication.translate("TicketStatus", "Waiting for you"),
        "resolved": QCoreApplication.translate("TicketStatus", "Resolved"),
        "closed": QCoreApplication.translate("TicketStatus", "Closed"),
    }
    return names.get(state, state)


@dataclass
class Cycle:
    """What one cycle of the thread found, handed to the GUI thread."""

    changed: bool = False  # something in the outbox differs from before the cycle
    requested: bool = False  # the user asked (send now, refresh): tell the screens even if nothing changed
    refreshed: bool = False
    statuses: list[tuple[int, str, str, str]] = field(default_factory=list)  # number, title, old, new state
    failed: list[tuple[int, str, str]] = field(default_factory=list)  # number, title, reason
    replies: list[tuple[int, str, int, str, str]] = field(default_factory=list)  # number, title, n, author, text
    problems: list[tuple[str, str, str]] = field(default_factory=list)  # backend, setting, message (new ones)
    warnings: list[str] = field(default_factory=list)  # the outbox's own warnings (a damaged database saved)
    error: str = ""  # the cycle failed: why (masked)


class DeliveryService(QObject):
    """The background sender and ticket checker (one thread, its own outbox connection)."""

    # from the thread to the GUI thread (queued: the service lives in the GUI thread)
    _cycled = Signal(object)
    # after the GUI thread handled a cycle (tests and screens may wait on it)
    cycleFinished = Signal()

    def __init__(self, ctx: AppContext, window: Any = None, parent: QObject | None = None) -> None:
        super().__init__(parent if parent is not None else ctx)
        self.ctx = ctx
        self.window = window
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._send_requested = True  # the first cycle sends what waits from earlier runs
        self._refresh_requested = True  # and checks the tickets
        self._rebuild = False
        self._also: set[int] = set()  # check these even if closed, at the next check
        self._sender: Sender | None = None
        self._infos: dict[str, ConnectorInfo] = {}
        self._thread: threading.Thread | None = None
        # monotonic time of the last ticket check (0: never); ``last_checked`` is the wall clock time
        self._last_refresh = 0.0
        self.last_checked: float | None = None
        self._banners: dict[str, QWidget] = {}
        self._warnings_shown: set[str] = set()
        self._cycled.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        ctx.deliveryRequested.connect(self.send_now)
        ctx.settingsChanged.connect(self._settings_changed)

    # ------------------------------------------------------------------------------ public
    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="deskline-delivery", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """End the thread promptly (from ``aboutToQuit``); safe to call twice."""
        self._stopping.set()
        with self._lock:
            sender = self._sender
        if sender is not None:
            sender.stop()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(_STOP_WAIT)
            if thread.is_alive():
                log.info("the delivery thread is still waiting on the helpdesk; leaving it to its timeout")

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def send_now(self) -> None:
        """Try sending what waits now (a report was filed, the user pressed Retry)."""
        with self._lock:
            self._send_requested = True
        self._wake.set()

    def refresh_now(self, numbers: Sequence[int] = ()) -> None:
        """Check the tickets now (the user pressed Refresh); sends what is due as well. ``numbers``: reports
        to check even if their ticket is closed (the user just reopened one)."""
        with self._lock:
            self._refresh_requested = True
            self._also.update(numbers)
            self._send_requested = True
        self._wake.set()

    def connector_info(self, backend: str) -> ConnectorInfo | None:
        """What the helpdesk ``backend`` can do (has_rating...), once the thread has met its connector."""
        with self._lock:
            return self._infos.get(backend)

    # ------------------------------------------------------------------------------ the thread
    def _settings_changed(self) -> None:
        with self._lock:
            self._rebuild = True
            self._send_requested = True
        for backend in list(self._banners):  # the settings may be fixed now; if not, the problem comes back
            self._remove_banner(backend)
        self._wake.set()

    def _loop(self) -> None:
        known = set(self.ctx.startup_warnings)
        outbox = self.ctx.outbox()  # this thread's own connection
        warnings = [w for w in outbox.warnings if w not in known]
        try:
            while not self._stopping.is_set():
                cycle = Cycle(warnings=warnings)
                warnings = []
                pause = self._cycle(outbox, cycle)
                if self._stopping.is_set():
                    break
                self._cycled.emit(cycle)
                self._wake.wait(pause)
                self._wake.clear()
        finally:
            with self._lock:
                sender, self._sender = self._sender, None
            if sender is not None:
                sender.close()
            self.ctx.close()  # closes this thread's outbox connection only

    def _sender_for(self, outbox: Outbox) -> Sender:
        with self._lock:
            rebuild, self._rebuild = self._rebuild, False
            sender = self._sender
        if sender is None or rebuild:
            if sender is not None:
                sender.close()
            sender = Sender.from_settings(outbox, self.ctx.settings)
            with self._lock:
                self._sender = sender
                self._infos.clear()
            if self._stopping.is_set():
                sender.stop()
        return sender

    def _cycle(self, outbox: Outbox, cycle: Cycle) -> float | None:
        """Send what is due, check the tickets when it is time; seconds until the next cycle (None: wait
        for a request)."""
        with self._lock:
            send, self._send_requested = self._send_requested, False
            refresh, self._refresh_requested = self._refresh_requested, False
            also, self._also = self._also, set()
        cycle.requested = send or refresh
        minutes = float(self.ctx.settings["tickets.refresh_minutes"])
        every = minutes * 60.0 if minutes > 0 else None
        if every is not None and time.monotonic() - self._last_refresh >= every:
            refresh = True
        try:
            before = {e.id: e for e in outbox.entries()}
            sender = self._sender_for(outbox)
            result = sender.run()
            if result.sent or result.completed:  # a new ticket's status, the effect of a comment: check now
                refresh = True
                also.update(parse_incident(i) for i in result.completed)  # a comment may reopen a closed one
            if refresh and not self._stopping.is_set():
                self._refresh(outbox, sender, cycle, also)
            after = {e.id: e for e in outbox.entries()}
            self._compare(before, after, cycle)
            problems = [p for p in outbox.problems() if not p.shown]
            if problems:
                cycle.problems = [(p.backend, p.setting, p.message) for p in problems]
                outbox.mark_problems_shown()
            pause = sender.idle_wait()
            if pause is not None:  # something is due but held (another sender, a backend's backoff): no busy loop
                pause = max(pause, _MIN_PAUSE)
        except DesklineError as exc:  # the outbox cannot be read or written: say so, try again later
            log.info("the delivery cycle failed: %s", exc, exc_info=True)
            cycle.error = mask_credentials(str(exc))
            cycle.changed = True
            return _ERROR_PAUSE
        except Exception as exc:  # noqa: BLE001 - a bug must not end sending for the rest of the session
            log.exception("the delivery cycle failed unexpectedly")
            cycle.error = mask_credentials(f"{type(exc).__name__}: {exc}")
            cycle.changed = True
            return _ERROR_PAUSE
        if every is not None:
            to_refresh = max(0.0, self._last_refresh + every - time.monotonic())
            pause = to_refresh if pause is None else min(pause, to_refresh)
        return pause

    def _refresh(self, outbox: Outbox, sender: Sender, cycle: Cycle, also: set[int]) -> None:
        """Check the status and replies of the open tickets (and of ``also``) on every helpdesk they went to."""
        current = self.ctx.settings["helpdesk.backend"]
        backends = sorted({e.backend for e in outbox.entries(states=("sent",))
                           if e.status_state != "closed" or e.id in also})
        for backend in backends:
            try:
                connector = sender.connector(backend)
            except ConfigurationError as exc:
                if backend == current:  # the banner says so (once); an old helpdesk's tickets just stay as they are
                    outbox.record_problem(backend, exc.setting, str(exc), settings_fingerprint(self.ctx.settings),
                                          outbox.clock() + sender.retry_cap)
                log.debug("cannot check the tickets on %s: %s", backend, exc)
                continue
            except DeliveryError as exc:
                log.info("cannot check the tickets on %s: %s", backend, mask_credentials(str(exc)))
                continue
            with self._lock:
                self._infos[backend] = connector.info
            result = refresh_tickets(outbox, connector, backend, also=also)
            if result.unreachable:
                log.info("could not check every ticket on %s: %s", backend, mask_credentials(result.unreachable))
            for incident, message in result.errors.items():
                log.info("%s: cannot check the ticket: %s", incident, mask_credentials(message))
            for incident, replies in result.replies.items():
                if replies:
                    last = replies[-1]
                    number = parse_incident(incident)
                    title = outbox.get(number).title
                    cycle.replies.append((number, title, len(replies), last.author, " ".join(last.text.split())))
        cycle.refreshed = True
        self._last_refresh = time.monotonic()
        self.last_checked = time.time()

    @staticmethod
    def _compare(before: dict[int, Entry], after: dict[int, Entry], cycle: Cycle) -> None:
        cycle.changed = cycle.changed or before != after
        for number, new in after.items():
            old = before.get(number)
            if old is None:
                continue
            if old.status_state and new.status_state and old.status_state != new.status_state:
                cycle.statuses.append((number, new.title, old.status_state, new.status_state))
            if new.state == "failed" and old.state != "failed":
                cycle.failed.append((number, new.title, new.failed_reason))

    # ------------------------------------------------------------------------------ the GUI thread
    def _deliver(self, cycle: Cycle) -> None:
        if self._stopping.is_set():
            return  # a cycle that ended as the app quits: its window may be gone already
        for text in cycle.warnings:
            if text not in self._warnings_shown:
                self._warnings_shown.add(text)
                self._show_banner(f"warning:{len(self._warnings_shown)}", self.tr(
                    "Deskline found a problem with its saved reports and repaired what it could."), text,
                    settings_button=False)
        for backend, setting, message in cycle.problems:
            self._show_banner(backend, self.tr(
                "Your reports cannot reach the helpdesk because of a problem in the settings. They are kept "
                "on this computer and will be sent once the settings are fixed."),
                message if setting in message else f"{setting}: {message}")
        if cycle.error:
            self._show_banner("error", self.tr(
                "Deskline cannot read or write its saved reports right now. It will try again in a moment."),
                cycle.error, settings_button=False)
        else:
            self._remove_banner("error")
        if cycle.changed or cycle.requested or cycle.refreshed:
            self.ctx.outboxChanged.emit()
        for number, title, _old, new in cycle.statuses:
            self.ctx.ticketUpdated.emit(number, "status", self.tr("%1 “%2” is now: %3").replace(
                "%1", incident_label(number)).replace("%2", title).replace("%3", status_name(new)))
        for number, title, reason in cycle.failed:
            self.ctx.ticketUpdated.emit(number, "status", self.tr("%1 “%2” could not be sent: %3").replace(
                "%1", incident_label(number)).replace("%2", title).replace("%3", reason))
        for number, title, count, author, text in cycle.replies:
            snippet = text if len(text) <= 120 else text[:119] + "…"
            if count == 1:
                text = self.tr("New reply on %1 “%2” from %3: %4")
            else:  # (English needs no plural forms here: the count is 2 or more)
                text = self.tr("%n new replies on %1 “%2”, the latest from %3: %4", "", count)
            self.ctx.ticketUpdated.emit(number, "reply", text.replace("%1", incident_label(number)).replace(
                "%2", title).replace("%3", author).replace("%4", snippet))
        self.cycleFinished.emit()

    def _show_banner(self, key: str, text: str, details: str, *, settings_button: bool = True) -> None:
        import shiboken6

        if self.window is None or not hasattr(self.window, "add_banner") or not shiboken6.isValid(self.window):
            return
        self._remove_banner(key)
        banner = ProblemBanner(text, details, settings_button=settings_button)
        banner.openSettings.connect(lambda: self.ctx.navigate.emit("settings", None))
        banner.dismissed.connect(lambda key=key: self._remove_banner(key))
        self._banners[key] = banner
        self.window.add_banner(banner)

    def _remove_banner(self, key: str) -> None:
        import shiboken6

        banner = self._banners.pop(key, None)
        if banner is not None and shiboken6.isValid(banner):
            banner.hide()
            banner.deleteLater()

    def banners(self) -> list[QWidget]:
        """The banners this service shows now (for tests and the screenshots)."""
        return list(self._banners.values())


class ProblemBanner(QFrame):
    """A strip above the screens: what is wrong in plain words, the details one click away, "Open
    settings" and a close button."""

    openSettings = Signal()
    dismissed = Signal()

    def __init__(self, text: str, details: str, *, settings_button: bool = True,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ProblemBanner")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet("#ProblemBanner { background: palette(tool-tip-base); color: palette(tool-tip-text); "
                           "border: none; border-bottom: 1px solid palette(mid); }")
        outer = QHBoxLayout(self)
        outer.setContentsMargins(16, 10, 10, 10)
        outer.setSpacing(12)
        icon = QLabel(self)
        icon.setPixmap(self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning).pixmap(24, 24))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        outer.addWidget(icon)
        column = QVBoxLayout()
        column.setSpacing(4)
        self.text = QLabel(text, self)
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        column.addWidget(self.text)
        self.details = QLabel(details, self)
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setVisible(False)
        column.addWidget(self.details)
        outer.addLayout(column, 1)
        self.details_button = QPushButton(self.tr("Details"), self)
        self.details_button.setCheckable(True)
        self.details_button.setAccessibleName(self.tr("Show the technical details"))
        self.details_button.toggled.connect(self.details.setVisible)
        self.details_button.setVisible(bool(details))
        outer.addWidget(self.details_button, 0, Qt.AlignmentFlag.AlignTop)
        self.settings_button = QPushButton(self.tr("Open settings"), self)
        self.settings_button.setAccessibleName(self.tr("Open the settings"))
        self.settings_button.clicked.connect(self.openSettings)
        self.settings_button.setVisible(settings_button)
        outer.addWidget(self.settings_button, 0, Qt.AlignmentFlag.AlignTop)
        self.close_button = QToolButton(self)
        self.close_button.setText("✕")
        self.close_button.setAutoRaise(True)
        self.close_button.setToolTip(self.tr("Dismiss"))
        self.close_button.setAccessibleName(self.tr("Dismiss this message"))
        self.close_button.clicked.connect(self.dismissed)
        outer.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        self.setAccessibleName(text)


def start(ctx: AppContext, window: Any = None) -> DeliveryService:
    """Start the delivery service for ``ctx`` (banners go to ``window``); kept in ``ctx.services``."""
    service = DeliveryService(ctx, window)
    ctx.services["delivery"] = service
    service.start()
    return service


def service_of(ctx: AppContext) -> DeliveryService | None:
    """The running delivery service, if the app started one."""
    service = ctx.services.get("delivery")
    return service if isinstance(service, DeliveryService) else None


__all__ = ["DeliveryService", "ProblemBanner", "service_of", "start", "status_name"]
