"""Remote sessions in the app: the consent dialog, the active-session banner, and the service behind them.

:func:`start` runs :class:`desktop.consent_service.ConsentService` on the user's consent socket with a
``decide`` that asks the user in a dialog. ``decide`` runs in the service's worker thread: it hands the
question to the GUI thread through a queued signal and waits on a ``threading.Event`` until the user
answers, the agent stops waiting (``ask.cancelled``: the dialog closes) or the time runs out (no answer
is a no).

Questions are shown one at a time, oldest first: requests that arrive while a dialog is open wait in
the controller's queue, each within its own deadline (the agent's timeout, counted from its arrival),
and the open dialog says how many wait. A waiting question the agent withdraws or that runs out of
time leaves the queue unseen; the service records it as it records any other withdrawal or timeout.
When the user answers, the next one is shown with the time it has left, and its Allow button is held
back again for :attr:`ConsentDialog.ALLOW_DELAY_MS`.

The service's events reach the GUI thread the same way and are re-emitted as ``ctx.consentEvent``; the
banner, the sessions page and the tray listen to that.

If the socket cannot be opened (another copy of the app answers already, no usable folder), the app
runs on without remote sessions and the sessions page says why.
"""

from __future__ import annotations

import html
import logging
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QCoreApplication, QDateTime, QEvent, QObject, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QColor, QFont, QFontDatabase, QKeySequence, QPalette, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from agent.consent_channel import ConsentChannelError
from desktop.consent_service import ActiveGrant, ConsentAsk, ConsentService, Decision, Ledger
from desktop.ui.context import AppContext
from desktop.ui.i18n import plural
from desktop.ui.workers import Failure, submit

log = logging.getLogger("deskline.ui")

# Reasons sent to the agent (the engineer reads them; they are part of the wire, not of the screen).
REASON_DECLINED = "the user pressed Deny"
REASON_NO_ANSWER = "no answer in time"
REASON_CLOSING = "the Deskline app is closing"
REASON_END_NOW = "the user ended the session"


translate = QCoreApplication.translate


# ------------------------------------------------------------------------------------- plain words

def duration_text(seconds: int) -> str:
    """``1800`` -> "30 minutes", ``5400`` -> "1 hour 30 minutes", translated (as ``duration_words``)."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return plural(translate("Consent", "%n second(s)", None, seconds), seconds)
    hours, rest = divmod(seconds, 3600)
    minutes = round(rest / 60)
    if minutes == 60:
        hours, minutes = hours + 1, 0
    parts = []
    if hours:
        parts.append(plural(translate("Consent", "%n hour(s)", None, hours), hours))
    if minutes:
        parts.append(plural(translate("Consent", "%n minute(s)", None, minutes), minutes))
    return " ".join(parts)


def probe_name(name: str) -> str:
    """A probe's name in the user's words (the name itself for one we do not know)."""
    names = {
        "system": translate("Consent", "basic system information"),
        "cpu": translate("Consent", "processor"),
        "memory": translate("Consent", "memory"),
        "disks": translate("Consent", "disks and free space"),
        "network": translate("Consent", "network"),
        "processes": translate("Consent", "running programs"),
        "services": translate("Consent", "system services"),
        "software": translate("Consent", "installed software"),
        "logs": translate("Consent", "recent errors in system logs"),
        "power": translate("Consent", "battery and power"),
        "sensors": translate("Consent", "temperatures and fans"),
        "users": translate("Consent", "user accounts and sign-ins"),
        "displays": translate("Consent", "displays"),
        "printers": translate("Consent", "printers"),
        "environment": translate("Consent", "environment settings"),
    }
    return names.get(name, name)


def command_text(command: str) -> str:
    """What a command of the agent does, in plain words ("probe cpu" -> "Check: processor")."""
    words = command.split()
    if not words:
        return command
    name, args = words[0], words[1:]
    if name == "ping":
        return translate("Consent", "Check that the Deskline agent is running")
    if name == "probes":
        return translate("Consent", "See which checks are available")
    if name == "probe":
        if not args:
            return translate("Consent", "Run single checks (processor, memory, disks, network and others)")
        return translate("Consent", "Check: %1").replace("%1", ", ".join(probe_name(a) for a in args))
    if name == "report":
        return translate("Consent", "Collect a full report about this computer (personal details masked, "
                                    "as in reports you send)")
    if name == "check":
        return translate("Consent", "Look for known problems on this computer")
    if name == "logs":
        if "--since" in args:
            since = args[args.index("--since") + 1] if args.index("--since") + 1 < len(args) else ""
            seconds = _since_seconds(since)
            if seconds:
                return translate("Consent", "Read system logs of the last %1").replace("%1", duration_text(seconds))
        return translate("Consent", "Read recent system logs")
    return translate("Consent", "Run: %1").replace("%1", command)


def _since_seconds(text: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if len(text) >= 2 and text[:-1].isdigit() and text[-1] in units:
        return int(text[:-1]) * units[text[-1]]
    return 0


def clock(epoch: float) -> str:
    """``HH:MM`` of ``epoch``, with the date in front when it is not today."""
    when = QDateTime.fromMSecsSinceEpoch(int(epoch * 1000))
    text = when.toString("HH:mm")
    if when.date() != QDateTime.currentDateTime().date():
        from PySide6.QtCore import QLocale

        text = QLocale().toString(when.date(), QLocale.FormatType.ShortFormat) + " " + text
    return text


def monospace() -> QFont:
    return QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)


# ------------------------------------------------------------------------------------------- dialog

class ConsentDialog(QDialog):
    """The question: who asks, for which ticket, what they may run, for how long. Deny is the default.

    ``answered(Decision)`` is emitted once, when the user answers or the time runs out; :meth:`withdraw`
    closes it without an answer (the agent stopped waiting).
    """

    answered = Signal(object)

    # The Allow button is enabled a moment after the dialog appears, so a click or a key press meant for
    # another window cannot allow a session by accident.
    ALLOW_DELAY_MS = 800
    TICK_MS = 250

    def __init__(self, ask: ConsentAsk, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ask = ask
        self._done = False
        self.setObjectName("ConsentDialog")
        self.setWindowFlag(Qt.WindowType.WindowStaysOnTopHint, True)
        self.setWindowFlag(Qt.WindowType.WindowContextHelpButtonHint, False)
        self.setWindowModality(Qt.WindowModality.NonModal)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        self.setMinimumWidth(600)

        outer = QVBoxLayout(self)
        outer.setContentsMargins(24, 22, 24, 18)
        outer.setSpacing(14)

        top = QHBoxLayout()
        top.setSpacing(16)
        icon = QLabel(self)
        icon.setPixmap(self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxQuestion).pixmap(48, 48))
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)
        top.addWidget(icon)
        head = QVBoxLayout()
        head.setSpacing(4)
        self.title = QLabel(self)
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        self.title.setFont(font)
        self.title.setWordWrap(True)
        head.addWidget(self.title)
        self.intro = QLabel(self)
        self.intro.setWordWrap(True)
        head.addWidget(self.intro)
        top.addLayout(head, 1)
        outer.addLayout(top)

        form = QFormLayout()
        form.setHorizontalSpacing(16)
        form.setVerticalSpacing(10)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)

        who = QVBoxLayout()
        who.setSpacing(3)
        self.engineer = QLabel(ask.engineer, self)
        bold = self.engineer.font()
        bold.setBold(True)
        self.engineer.setFont(bold)
        self.engineer.setTextFormat(Qt.TextFormat.PlainText)
        self.engineer.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        who.addWidget(self.engineer)
        self.fingerprint = QLabel(ask.fingerprint, self)
        self.fingerprint.setFont(monospace())
        self.fingerprint.setTextFormat(Qt.TextFormat.PlainText)
        self.fingerprint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                                 | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        self.fingerprint.setWordWrap(True)
        who.addWidget(self.fingerprint)
        self.fingerprint_help = QLabel(self)
        self.fingerprint_help.setWordWrap(True)
        self._mute(self.fingerprint_help)
        who.addWidget(self.fingerprint_help)
        self.who_label = QLabel(self)
        self.who_label.setBuddy(self.fingerprint)
        form.addRow(self.who_label, who)

        self.ticket = QLabel(self)
        self.ticket.setTextFormat(Qt.TextFormat.PlainText)
        self.ticket.setWordWrap(True)
        self.ticket_label = QLabel(self)
        self.ticket_label.setBuddy(self.ticket)
        form.addRow(self.ticket_label, self.ticket)

        self.commands = QLabel(self)
        self.commands.setTextFormat(Qt.TextFormat.RichText)  # a list with hanging indents; texts are escaped
        self.commands.setWordWrap(True)
        self.commands_label = QLabel(self)
        self.commands_label.setBuddy(self.commands)
        form.addRow(self.commands_label, self.commands)

        self.length = QComboBox(self)
        self.length.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.length.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.duration_label = QLabel(self)
        self.duration_label.setBuddy(self.length)
        self.duration = QLabel(self)
        self.duration.setWordWrap(True)
        self._mute(self.duration)
        howlong = QVBoxLayout()
        howlong.setSpacing(6)
        howlong.addWidget(self.length, 0, Qt.AlignmentFlag.AlignLeft)
        howlong.addWidget(self.duration)
        form.addRow(self.duration_label, howlong)
        outer.addLayout(form)

        self.note = QLabel(self)
        self.note.setWordWrap(True)
        outer.addWidget(self.note)

        self._waiting = 0
        self.waiting = QLabel(self)  # "Also waiting: 1 more request ..." (hidden when none waits)
        self.waiting.setObjectName("waiting")
        self.waiting.setWordWrap(True)
        bold = self.waiting.font()
        bold.setBold(True)
        self.waiting.setFont(bold)
        self.waiting.hide()
        outer.addWidget(self.waiting)

        line = QFrame(self)
        line.setFrameShape(QFrame.Shape.HLine)
        line.setFrameShadow(QFrame.Shadow.Sunken)
        outer.addWidget(line)

        countdown = QHBoxLayout()
        countdown.setSpacing(12)
        self.countdown = QLabel(self)
        self.countdown.setWordWrap(True)
        countdown.addWidget(self.countdown, 1)
        self.progress = QProgressBar(self)
        self.progress.setTextVisible(False)
        self.progress.setFixedWidth(140)
        self.progress.setMaximumHeight(8)
        self.progress.setRange(0, max(1, int(ask.timeout_seconds * 1000)))
        countdown.addWidget(self.progress, 0, Qt.AlignmentFlag.AlignVCenter)
        outer.addLayout(countdown)

        self.buttons = QDialogButtonBox(self)
        self.deny = QPushButton(self)
        self.allow = QPushButton(self)
        self.buttons.addButton(self.deny, QDialogButtonBox.ButtonRole.RejectRole)
        self.buttons.addButton(self.allow, QDialogButtonBox.ButtonRole.AcceptRole)
        self.deny.setObjectName("deny")
        self.allow.setObjectName("allow")
        self.allow.setAutoDefault(False)
        self.deny.setAutoDefault(True)
        self.deny.setDefault(True)
        self.allow.setEnabled(False)
        self.deny.clicked.connect(self.reject)
        self.allow.clicked.connect(self.accept)
        outer.addWidget(self.buttons)
        # Alt+A / Alt+D come from the buttons' texts; Ctrl+W closes like Escape (a no).
        close = QShortcut(QKeySequence(QKeySequence.StandardKey.Close), self)
        close.activated.connect(self.reject)

        self.setTabOrder(self.length, self.deny)
        self.setTabOrder(self.deny, self.allow)
        self.deny.setFocus(Qt.FocusReason.OtherFocusReason)

        self._timer = QTimer(self)
        self._timer.setInterval(self.TICK_MS)
        self._timer.timeout.connect(self._tick)
        self._timer.start()
        QTimer.singleShot(self.ALLOW_DELAY_MS, self._enable_allow)
        self.retranslate()
        self._tick()

    @staticmethod
    def _mute(label: QLabel) -> None:
        pal = label.palette()
        pal.setColor(QPalette.ColorRole.WindowText, pal.color(QPalette.ColorRole.PlaceholderText))
        label.setPalette(pal)

    def _enable_allow(self) -> None:
        if not self._done:
            self.allow.setEnabled(True)

    def lengths(self) -> list[int]:
        """Durations the user may choose, the one asked for first."""
        asked = self.ask.duration_seconds
        return [asked] + [s for s in (3600, 1800, 900, 300) if s < asked]

    def retranslate(self) -> None:
        ask = self.ask
        self.setWindowTitle(self.tr("Remote diagnostics request"))
        self.title.setText(self.tr("A support engineer asks to check this computer"))
        self.intro.setText(self.tr("They want to run diagnostics on this computer over the network. "
                                   "Nothing happens unless you allow it."))
        self.who_label.setText(self.tr("&Who:"))
        self.engineer.setAccessibleName(self.tr("Engineer: %1").replace("%1", ask.engineer))
        self.fingerprint.setAccessibleName(self.tr("Key fingerprint: %1").replace("%1", ask.fingerprint))
        self.fingerprint.setToolTip(self.tr("Key fingerprint"))
        self.fingerprint_help.setText(
            self.tr("This is the fingerprint of the engineer's key. If you are not sure the request is genuine, "
                    "compare it with the one your IT support gives you, or deny. Connecting from %1.")
            .replace("%1", ask.peer))
        self.ticket_label.setText(self.tr("For &ticket:"))
        self.ticket.setText(ask.ticket if ask.ticket else self.tr("No ticket was named"))
        self.ticket.setAccessibleName(self.tr("Ticket: %1").replace("%1", self.ticket.text()))
        self.commands_label.setText(self.tr("They may:"))
        lines = list(dict.fromkeys(command_text(c) for c in ask.commands))
        self.command_lines = lines
        rows = "".join(f"<tr><td>•&nbsp;&nbsp;</td><td>{html.escape(line)}</td></tr>" for line in lines)
        self.commands.setText(f'<table cellspacing="0" cellpadding="1">{rows}</table>')
        self.commands.setAccessibleName(self.tr("What they may run: %1").replace("%1", "; ".join(lines)))
        self.duration_label.setText(self.tr("For &how long:"))
        self.duration.setText(self.tr("They ask for %1. The session ends by itself after that, and you can "
                                      "end it earlier at any time.").replace("%1", duration_text(ask.duration_seconds)))
        current = self.length.currentIndex()
        self.length.clear()
        for n, seconds in enumerate(self.lengths()):
            text = duration_text(seconds)
            if n == 0:
                text = self.tr("%1 (as asked)").replace("%1", text)
            self.length.addItem(text, seconds)
        self.length.setCurrentIndex(max(0, current))
        self.length.setAccessibleName(self.tr("How long to allow"))
        self.note.setText(self.tr("They can only read information about this computer: they cannot change "
                                  "anything or see your screen. Every check they run is listed on the Remote "
                                  "sessions page."))
        self.deny.setText(self.tr("&Deny"))
        self.deny.setAccessibleName(self.tr("Deny the request"))
        self.allow.setText(self.tr("&Allow"))
        self.allow.setAccessibleName(self.tr("Allow the session"))
        self.progress.setAccessibleName(self.tr("Time left to answer"))
        self._show_waiting()
        self._tick()
        if self.isVisible():
            self._fit()

    def set_waiting(self, count: int) -> None:
        """Say that ``count`` more requests wait behind this one (nothing when 0)."""
        if count != self._waiting:
            self._waiting = max(0, count)
            self._show_waiting()
            if self.isVisible():
                self._fit()

    def waiting_count(self) -> int:
        return self._waiting

    def _show_waiting(self) -> None:
        count = self._waiting
        self.waiting.setText(plural(self.tr("Also waiting: %n more request(s). You will see the next one after "
                                            "you answer this one.", "", count), count) if count else "")
        self.waiting.setVisible(count > 0)

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        self._fit()
        super().showEvent(event)
        self.deny.setFocus(Qt.FocusReason.ActiveWindowFocusReason)  # Enter and Space both mean no

    def _fit(self) -> None:
        """Make the dialog tall enough for its wrapped texts at its width (a dialog's size hint alone
        does not account for word-wrapped labels, which then get clipped)."""
        layout = self.layout()
        width = max(self.width(), self.minimumWidth())
        height = layout.totalHeightForWidth(width) if layout is not None else -1
        if height > 0:
            self.setMinimumHeight(height)
            self.resize(width, max(height, self.height()))

    def _tick(self) -> None:
        if self._done:
            return
        left = self.ask.remaining()
        self.progress.setValue(int(left * 1000))
        whole = int(left + 0.999)
        self.countdown.setText(self.tr("If you do not answer within %1, the request is refused.")
                               .replace("%1", f"{whole // 60}:{whole % 60:02d}"))
        if left <= 0:
            self._finish(Decision(False, reason=REASON_NO_ANSWER))
            self.close()

    def selected_duration(self) -> int:
        return int(self.length.currentData() or self.ask.duration_seconds)

    def accept(self) -> None:
        if not self.allow.isEnabled():
            return  # Allow is still held back (see ALLOW_DELAY_MS)
        self._finish(Decision(True, self.selected_duration()))
        super().accept()

    def reject(self) -> None:
        self._finish(Decision(False, reason=REASON_DECLINED))
        super().reject()

    def closeEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        self._finish(Decision(False, reason=REASON_DECLINED))
        super().closeEvent(event)

    def withdraw(self) -> None:
        """Close without answering: the agent no longer waits."""
        self._done = True
        self._timer.stop()
        self.close()

    def _finish(self, decision: Decision) -> None:
        if self._done:
            return
        self._done = True
        self._timer.stop()
        self.answered.emit(decision)


# ------------------------------------------------------------------------------------------- banner

@dataclass(frozen=True)
class LiveSession:
    """A session shown in the banner: one the user allowed (``can_end``), or one IT's policy let run
    unattended (the app was only told; it cannot end it)."""

    id: str
    engineer: str
    ticket: str
    expires: float
    can_end: bool = True


class SessionBanner(QFrame):
    """A coloured strip while a session is active: who may run diagnostics until when, and End now."""

    endRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("SessionBanner")
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(16, 8, 12, 8)
        self._layout.setSpacing(4)
        self._rows: dict[str, tuple[QWidget, QLabel, QPushButton]] = {}
        self._sessions: list[LiveSession] = []
        self._ending: set[str] = set()
        self._colour()
        self.retranslate()
        self.hide()

    def _colour(self) -> None:
        from desktop.ui import theme

        if theme.is_dark():
            background, text, edge = QColor("#4d3b0c"), QColor("#ffe7a3"), QColor("#8a6a12")
        else:
            background, text, edge = QColor("#fff0c2"), QColor("#4a3600"), QColor("#e0b43a")
        self.setStyleSheet(f"#SessionBanner {{ background: {background.name()}; "
                           f"border-bottom: 1px solid {edge.name()}; }} "
                           f"#SessionBanner QLabel {{ color: {text.name()}; }}")

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt's name
        # the desktop switched between light and dark while the app runs
        if event.type() == QEvent.Type.ApplicationPaletteChange:
            self._colour()
        super().changeEvent(event)

    def labels(self) -> list[str]:
        return [label.text() for _row, label, _button in self._rows.values()]

    def button(self, session_id: str) -> QPushButton | None:
        entry = self._rows.get(session_id)
        return entry[2] if entry else None

    def show_sessions(self, sessions: list[LiveSession]) -> None:
        self._sessions = list(sessions)
        wanted = {s.id for s in sessions}
        for session_id in list(self._rows):
            if session_id not in wanted:
                row, _label, _button = self._rows.pop(session_id)
                self._layout.removeWidget(row)
                row.deleteLater()
                self._ending.discard(session_id)
        for session in sessions:
            if session.id not in self._rows:
                row = QWidget(self)
                line = QHBoxLayout(row)
                line.setContentsMargins(0, 0, 0, 0)
                line.setSpacing(12)
                icon = QLabel(row)
                icon.setPixmap(self.style().standardIcon(QStyle.StandardPixmap.SP_ComputerIcon).pixmap(20, 20))
                line.addWidget(icon)
                label = QLabel(row)
                label.setWordWrap(True)
                label.setTextFormat(Qt.TextFormat.PlainText)
                line.addWidget(label, 1)
                button = QPushButton(row)
                button.setObjectName("end-now")
                button.setVisible(session.can_end)
                button.clicked.connect(lambda _checked=False, sid=session.id: self._end(sid))
                line.addWidget(button)
                self._layout.addWidget(row)
                self._rows[session.id] = (row, label, button)
        self.retranslate()
        self.setVisible(bool(sessions))

    def _end(self, session_id: str) -> None:
        self._ending.add(session_id)
        self.retranslate()
        self.endRequested.emit(session_id)

    def end_failed(self, session_id: str) -> None:
        self._ending.discard(session_id)
        self.retranslate()

    def retranslate(self) -> None:
        self.setAccessibleName(self.tr("Remote session in progress"))
        for session in self._sessions:
            entry = self._rows.get(session.id)
            if entry is None:
                continue
            _row, label, button = entry
            if session.can_end:
                text = self.tr("A support engineer, %1, can run diagnostics on this computer until %2")
            else:
                text = self.tr("A support engineer, %1, can run diagnostics on this computer until %2, as your "
                               "IT department's policy allows without asking")
            text = text.replace("%1", session.engineer).replace("%2", clock(session.expires))
            label.setText(text)
            label.setAccessibleName(text)
            ending = session.id in self._ending
            button.setEnabled(not ending)
            button.setText(self.tr("Ending…") if ending else self.tr("&End now"))
            button.setAccessibleName(self.tr("End the session of %1 now").replace("%1", session.engineer))
            button.setToolTip(self.tr("Stop the engineer's session now; nothing more will run"))


# ------------------------------------------------------------------------------------------ service

class _Question:
    """One pending question, shared between the service's worker and the GUI thread."""

    def __init__(self, ask: ConsentAsk) -> None:
        self.ask = ask
        self.answered = threading.Event()
        self.decision: Decision | None = None
        self._lock = threading.Lock()

    def answer(self, decision: Decision) -> bool:
        with self._lock:
            if self.answered.is_set():
                return False
            self.decision = decision
            self.answered.set()
            return True


class ConsentController(QObject):
    """The app's consent service (``ctx.services["consent"]``): the dialog, the banner, End now.

    ``available`` is False when the socket could not be opened; ``problem`` then says why in the user's
    words and ``details`` has the technical message. ``ledger`` is there either way (past sessions).
    """

    # Worker thread -> GUI thread (queued).
    _asked = Signal(object)
    _withdrawn = Signal(object)
    _event = Signal(dict)
    # GUI thread: a question was shown (the dialog), for tests and the tray.
    dialogShown = Signal(object)
    # The grants changed (a session started or ended).
    grantsChanged = Signal()

    # How often the worker checks whether the agent stopped waiting (seconds).
    POLL = 0.05

    def __init__(self, ctx: AppContext, window: Any = None, *, socket_path: Any = None,
                 ledger: Ledger | None = None) -> None:
        super().__init__(ctx)
        self.ctx = ctx
        self.window = window
        self.available = False
        self.problem = ""
        self.details = ""
        self._stopping = threading.Event()
        # The question on screen (at most one) and the ones waiting their turn, oldest first.
        self._current: tuple[_Question, ConsentDialog] | None = None
        self._queue: list[_Question] = []
        self._notices: dict[str, LiveSession] = {}  # unattended sessions IT's policy allowed (session.notify)
        self._asked.connect(self._show, Qt.ConnectionType.QueuedConnection)
        self._withdrawn.connect(self._withdraw, Qt.ConnectionType.QueuedConnection)
        self._event.connect(self._on_event, Qt.ConnectionType.QueuedConnection)
        self.service = ConsentService(socket_path, self.decide, self._event.emit, ledger=ledger)
        self.ledger = self.service.ledger
        self.banner = SessionBanner()
        self.banner.endRequested.connect(self.end)
        if window is not None and hasattr(window, "add_banner"):
            window.add_banner(self.banner)
        ctx.languageChanged.connect(self._retranslate)
        self._refresh = QTimer(self)
        # a session that lapsed without an event (always so for unattended ones) leaves the banner anyway
        self._refresh.setInterval(10_000)
        self._refresh.timeout.connect(self._lapse)

    # -- lifecycle
    def start(self) -> bool:
        if sys.platform == "win32":
            self._unavailable(self.tr("this is not available on Windows yet."), "named pipe not implemented")
            return False
        try:
            self.service.start()
        except (ConsentChannelError, OSError) as exc:
            details = str(exc)
            if "another Deskline app already answers" in details:
                problem = self.tr("Deskline is already running for your account, and that copy answers "
                                  "the requests. To answer them here, quit the other copy and start Deskline again.")
            else:
                problem = self.tr("the connection that engineers' requests arrive on could not be opened. "
                                  "Restarting Deskline may help; if it does not, tell your IT support.")
            self._unavailable(problem, details)
            return False
        self.available = True
        self._refresh.start()
        return True

    def _unavailable(self, problem: str, details: str) -> None:
        log.info("remote sessions are not available: %s", details)
        self.available = False
        self.problem = problem
        self.details = details

    def stop(self) -> None:
        """End every session, answer no to open questions, close the socket."""
        self._stopping.set()
        self._refresh.stop()
        waiting, self._queue = self._queue, []
        for question in waiting:
            question.answer(Decision(False, reason=REASON_CLOSING))
        current, self._current = self._current, None
        if current is not None:
            current[0].answer(Decision(False, reason=REASON_CLOSING))
            current[1].withdraw()
        if self.available:
            self.service.stop()
            self.available = False
        self._notices.clear()
        self.banner.show_sessions([])

    # -- queries for the screens
    def active_grants(self) -> list[ActiveGrant]:
        """Sessions the user allowed that run now, oldest first."""
        return self.service.active_grants() if self.available else []

    def sessions(self) -> list[LiveSession]:
        """Everything that may run now: the user's grants, then unattended sessions IT's policy allowed."""
        now = time.time()
        live = [LiveSession(g.id, g.ask.engineer, g.ask.ticket, g.expires, True) for g in self.active_grants()]
        return live + sorted((n for n in self._notices.values() if n.expires > now), key=lambda n: n.expires)

    def dialogs(self) -> list[ConsentDialog]:
        """The dialog on screen (one at most: the others wait in :meth:`waiting`)."""
        return [self._current[1]] if self._current is not None else []

    def waiting(self) -> list[ConsentAsk]:
        """Requests waiting behind the one on screen, in the order they will be shown."""
        return [q.ask for q in self._queue]

    # -- the service's decide (worker thread)
    def decide(self, ask: ConsentAsk) -> Decision:
        question = _Question(ask)
        if self._stopping.is_set():
            return Decision(False, reason=REASON_CLOSING)
        self._asked.emit(question)
        while not question.answered.wait(self.POLL):
            if ask.cancelled.is_set() or ask.remaining() <= 0 or self._stopping.is_set():
                reason = REASON_CLOSING if self._stopping.is_set() else REASON_NO_ANSWER
                if question.answer(Decision(False, reason=reason)):
                    self._withdrawn.emit(question)
                break
        assert question.decision is not None
        return question.decision

    # -- GUI thread
    @Slot(object)
    def _show(self, question: _Question) -> None:
        """A new question: on screen now if none is, else in the queue (by arrival: two agents' workers
        may hand theirs over in either order)."""
        if question.answered.is_set() or self._stopping.is_set():
            return  # withdrawn (or the app closing) before it could be shown
        self._queue.append(question)
        self._queue.sort(key=lambda q: q.ask.received)
        if self._current is None:
            self._next()
        else:
            self._count_waiting()

    def _next(self) -> None:
        """Show the oldest question still open, if no dialog is on screen."""
        if self._current is not None or self._stopping.is_set():
            return
        # a question that ran out of time in the queue leaves by its worker's _withdrawn; this only
        # skips one whose signal is still on its way
        self._queue = [q for q in self._queue if not q.answered.is_set()]
        if not self._queue:
            return
        question = self._queue.pop(0)
        dialog = ConsentDialog(question.ask)
        dialog.answered.connect(lambda decision, q=question: self._answered(q, decision))
        self._current = (question, dialog)
        self._count_waiting()
        if self.window is not None and hasattr(self.window, "bring_to_front"):
            self.window.bring_to_front()
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        self.dialogShown.emit(dialog)

    def _count_waiting(self) -> None:
        if self._current is not None:
            self._current[1].set_waiting(len(self._queue))

    def _answered(self, question: _Question, decision: Decision) -> None:
        question.answer(decision)
        self._leave(question)

    def _leave(self, question: _Question) -> None:
        """``question`` is settled: off the screen or out of the queue; the next one follows."""
        if self._current is not None and self._current[0] is question:
            self._current = None
            # after the answered dialog has closed (it emits before it hides), so the next one is the
            # window that ends up active
            QTimer.singleShot(0, self._next)
        elif question in self._queue:
            self._queue.remove(question)
            self._count_waiting()

    @Slot(object)
    def _withdraw(self, question: _Question) -> None:
        current = self._current
        self._leave(question)
        if current is not None and current[0] is question:
            current[1].withdraw()

    @Slot(dict)
    def _on_event(self, event: dict) -> None:
        kind = event.get("event")
        if kind == "session.notify":
            try:
                notice = LiveSession(str(event["id"]), str(event["engineer"]), str(event.get("ticket", "")),
                                     float(event["expires"]), can_end=False)
            except (KeyError, TypeError, ValueError):
                log.info("consent: a session notice without engineer, id or end time: %s", event)
            else:
                self._notices[notice.id] = notice
                QTimer.singleShot(max(0, int((notice.expires - time.time()) * 1000)) + 500, self._lapse)
        if kind in ("session.started", "session.ended", "session.notify"):
            self.update_grants()
        self.ctx.consentEvent.emit(event)

    def _lapse(self) -> None:
        now = time.time()
        for key in [k for k, n in self._notices.items() if n.expires <= now]:
            del self._notices[key]
        self.update_grants()

    def update_grants(self) -> None:
        """Show what runs now in the banner (and tell the sessions page)."""
        self.banner.show_sessions(self.sessions())
        self.grantsChanged.emit()

    @Slot(str)
    def end(self, grant_id: str) -> None:
        """End Now: revoke ``grant_id`` (in a worker: the agent has up to two seconds to acknowledge)."""
        if not self.available:
            return

        def done(_acknowledged: object) -> None:
            self.update_grants()

        def failed(failure: Failure) -> None:
            log.info("ending session %s failed: %s", grant_id, failure.message or failure.details)
            self.banner.end_failed(grant_id)
            self.update_grants()

        submit(self.service.revoke, grant_id, REASON_END_NOW, on_done=done, on_error=failed)

    def _retranslate(self, _language: str = "") -> None:
        self.banner.retranslate()
        for dialog in self.dialogs():
            dialog.retranslate()


def start(ctx: AppContext, window: Any = None, *, socket_path: Any = None,
          ledger: Ledger | None = None) -> ConsentController:
    """Answer consent requests for this user (``ctx.services["consent"]``); never raises for a busy socket."""
    controller = ConsentController(ctx, window, socket_path=socket_path, ledger=ledger)
    controller.start()
    ctx.services["consent"] = controller
    return controller


__all__ = ["ConsentController", "ConsentDialog", "LiveSession", "SessionBanner", "command_text", "duration_text",
           "probe_name", "start"]
