"""Delivery: a report and the user's words become an outbox entry; the sender takes entries to the helpdesk.

The sender's rules (the connector raises, the sender decides, from the error's class alone):

* the ticket first, with the words, findings and summary (``Submission.body()``), committed as ``sent``
  before any attachment; then the attachments one by one, each recorded when done, so an upload
  interrupted by a crash or a lost link resumes with the next file;
* never a second ticket: ``sending`` and an attempt count are committed before ``create``; whenever an
  earlier create may have reached the server (the process died while ``sending``, a request timed out
  or the connection broke after it was made), ``find(submission_id)`` comes first and a found ticket
  is adopted;
* :class:`TransientError`: retry after an exponential backoff with full jitter
  (``uniform(0, min(cap, base * 2 ** (failures - 1)))``), never sooner than the server's Retry-After;
* :class:`PermanentError`: the report is ``failed`` with the reason in the user's words; kept and
  retryable by hand (``deskline outbox retry``);
* :class:`ConfigurationError`: the report stays ``queued`` (the settings are wrong, not the report);
  the problem, naming the setting, is recorded once for the backend and sending to it pauses until the
  settings change, the user retries, or ``outbox.retry_cap`` passes (a credential kept outside the
  settings, in the keyring or the environment, may have been fixed meanwhile);
* a file larger than the backend accepts (:class:`ConnectorInfo` limits) or of a type it refuses is
  not sent: it is recorded on the entry and noted on the ticket by a comment, never dropped silently.

Priority comes from impact and urgency by the ITIL matrix (:data:`PRIORITY_MATRIX`)::

                    urgency: high     medium    low
    impact high              urgent   high      normal
           medium            high     normal    low
           low               normal   low       low
"""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
import random
import socket
import threading
import time
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from desktop.connectors.base import (
    AttachmentFile,
    ConfigurationError,
    Connector,
    ConnectorInfo,
    DeliveryError,
    PermanentError,
    Reply,
    TicketRef,
    TransientError,
)
from desktop.errors import ReportError
from desktop.outbox import (
    Entry,
    Outbox,
    OutboxError,
    Part,
    PartUnreadable,
    default_folder,
    make_owner,
    mask_credentials,
)

if TYPE_CHECKING:
    from desktop.config import Settings
    from desktop.diagnostics.report import Attachment, Report

log = logging.getLogger("deskline.outbox")

LEVELS = ("low", "medium", "high")
#: (impact, urgency) -> priority, the ITIL 3x3 matrix folded onto Deskline's four priorities:
#: ITIL 1 critical -> urgent, 2 high -> high, 3 medium -> normal, 4 low and 5 planning -> low.
PRIORITY_MATRIX: dict[tuple[str, str], str] = {
    ("high", "high"): "urgent", ("high", "medium"): "high", ("high", "low"): "normal",
    ("medium", "high"): "high", ("medium", "medium"): "normal", ("medium", "low"): "low",
    ("low", "high"): "normal", ("low", "medium"): "low", ("low", "low"): "low",
}
#: A Retry-After longer than this (seconds) is taken as this: a broken header must not park a report for years.
MAX_RETRY_AFTER = 24 * 3600.0
MAX_TITLE = 255


def priority_for(impact: str, urgency: str) -> str:
    """The priority of a report of this impact and urgency (each low, medium or high)."""
    try:
        return PRIORITY_MATRIX[(impact, urgency)]
    except KeyError:
        raise ValueError(f"impact and urgency are low, medium or high, not {impact!r} and {urgency!r}") from None


def settings_fingerprint(settings: Settings) -> str:
    """A digest of the ``helpdesk.*`` settings (references, never secrets): a change un-pauses the sender."""
    section = settings.section("helpdesk")
    return hashlib.sha256(json.dumps(section, sort_keys=True, default=str).encode()).hexdigest()[:16]


def open_outbox(settings: Settings, **kwargs: Any) -> Outbox:
    """The outbox the settings name (``outbox.path``, else the user's data folder)."""
    return Outbox(default_folder(settings), **kwargs)


def file_report(
    outbox: Outbox,
    report: Report,
    *,
    title: str,
    description: str,
    category: str = "",
    impact: str = "medium",
    urgency: str = "medium",
    reporter_name: str = "",
    reporter_email: str = "",
) -> Entry:
    """Save the report and the user's words in the outbox (before any network call); the new entry."""
    from desktop.diagnostics.render import to_markdown

    title = " ".join(title.split())
    if not title:
        raise ValueError("a report needs a title")
    if len(title) > MAX_TITLE:
        raise ValueError(f"the title is {len(title)} characters long; at most {MAX_TITLE} fit a ticket")
    if not reporter_name:
        try:
            reporter_name = getpass.getuser()
        except (KeyError, OSError):
            reporter_name = ""
    return outbox.enqueue(
        document=report.document, title=title, description=description, summary=to_markdown(report.document),
        attachments=report.attachments, category=category, impact=impact, urgency=urgency,
        priority=priority_for(impact, urgency), reporter_name=reporter_name, reporter_email=reporter_email,
    )


def backoff_delay(failures: int, base: float, cap: float, rng: random.Random,
                  retry_after: float | None = None) -> float:
    """Seconds to wait after the ``failures``-th failure in a row: full jitter, at least ``retry_after``."""
    ceiling = min(cap, base * 2.0 ** min(max(failures - 1, 0), 60))
    delay = rng.uniform(0.0, ceiling)
    if retry_after is not None:
        delay = max(delay, min(max(retry_after, 0.0), MAX_RETRY_AFTER))
    return delay


_NOT_SENT_NAMES = {"NewConnectionError", "ConnectTimeoutError", "ConnectTimeout", "NameResolutionError",
                   "SMTPConnectError"}


def may_have_reached_server(exc: BaseException) -> bool:
    """False only when the error shows the request never left (refused connection, failed DNS lookup,
    connect timeout); anything else may have been received and acted on by the server."""
    stack: list[BaseException] = [exc]
    seen: set[int] = set()
    while stack:
        e = stack.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, ConnectionRefusedError | socket.gaierror) or type(e).__name__ in _NOT_SENT_NAMES:
            return False
        for nxt in (e.__cause__, e.__context__, getattr(e, "reason", None), *e.args):
            if isinstance(nxt, BaseException):
                stack.append(nxt)
    return True


def _extension(name: str) -> str:
    return name.rpartition(".")[2].lower() if "." in name else ""


def _allowed(info: ConnectorInfo) -> set[str]:
    return {e.strip().lower().lstrip(".") for e in info.allowed_extensions if e.strip()}


def fit_name(info: ConnectorInfo, name: str, media_type: str) -> tuple[str, str] | None:
    """The name and media type to send a file under so the backend takes its type; None when it will not.

    A text file of a type the backend refuses (``app.log`` where only ``.txt`` is allowed, as on a stock
    django-helpdesk) goes as ``app.log.txt``, text/plain: the same bytes under a name it takes.
    """
    allowed = _allowed(info)
    if not allowed or _extension(name) in allowed:
        return name, media_type
    texty = media_type.startswith("text/") or media_type in ("application/json", "application/xml")
    if texty and "txt" in allowed:
        return f"{name}.txt", "text/plain"
    return None


def limit_problem(info: ConnectorInfo, name: str, size: int) -> str:
    """Why the backend will not take this file (its type or size), in words; empty when it will.

    Files go one per request, so ``max_total_bytes`` (a request's limit) bounds each file too.
    """
    from desktop.diagnostics.findings import human_bytes

    allowed = _allowed(info)
    if allowed and _extension(name) not in allowed:
        return (f"this helpdesk does not accept files of this type (it takes "
                f"{', '.join('.' + e for e in sorted(allowed))}; helpdesk.attachment_extensions)")
    limits = [n for n in (info.max_attachment_bytes, info.max_total_bytes) if n is not None]
    if limits and size > min(limits):
        have, most = human_bytes(size), human_bytes(min(limits))
        if have == most:  # just over: the rounded figures would read the same
            have, most = f"{size:,} bytes", f"{min(limits):,} bytes"
        return f"{have} is more than the {most} this helpdesk accepts per file"
    return ""


def refusal_note(entry: Entry, parts: Sequence[Part]) -> str:
    """The comment that tells the helpdesk which files did not come, and where they are."""
    lines = ["Deskline could not attach these files to this ticket:"]
    lines += [f"- {p.name}: {p.reason}" for p in parts]
    lines += ["", f"They are kept on the user's computer with the report {entry.incident}; the user can hand "
              f"them over as one file made with: deskline outbox export {entry.incident} -o {entry.incident}.zip"]
    return "\n".join(lines)


def report_payload(document: dict[str, Any], part: Part, info: ConnectorInfo) -> tuple[str, str, bytes]:
    """The report as an attachment: its bundle (zip: report.json and its summaries, no user files, which
    follow one by one), or report.json where the backend takes no zip files."""
    from desktop.diagnostics.bundle import bundle_bytes, dumps_report
    from desktop.diagnostics.report import Report

    if fit_name(info, part.name, part.media_type) == (part.name, part.media_type):
        return part.name, part.media_type, bundle_bytes(Report(document, []))
    name = part.name.removesuffix(".zip") + ".json"
    fitted = fit_name(info, name, "application/json") or (name, "application/json")
    return fitted[0], fitted[1], dumps_report(document).encode("utf-8")


@dataclass
class RunResult:
    """What one run of the sender did (incident numbers) and the problems it met."""

    sent: list[str] = field(default_factory=list)  # ticket created in this run
    completed: list[str] = field(default_factory=list)  # nothing left to send for it
    retrying: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    paused: list[str] = field(default_factory=list)  # left queued: a settings problem pauses its backend
    problems: list[str] = field(default_factory=list)  # settings problems met (each once)
    errors: dict[str, str] = field(default_factory=dict)  # incident -> last error


class Sender:
    """Takes due entries from the outbox to their backend's connector, one at a time.

    ``connector_for(backend)`` builds a connector (raising ConfigurationError when the settings are
    wrong); ``backend`` is where new tickets go (``helpdesk.backend``); ``fingerprint`` identifies the
    settings (a recorded settings problem is forgotten when it changes). ``rng`` and the outbox's
    clock make the backoff schedule testable.

    One sender works in one thread. Several may run at once, in threads or processes, each with its own
    :class:`Outbox` (its own connection) and connector: the leases share the work out, never an entry twice.
    """

    def __init__(
        self,
        outbox: Outbox,
        connector_for: Callable[[str], Connector],
        *,
        backend: str,
        fingerprint: str = "",
        retry_base: float = 10.0,
        retry_cap: float = 900.0,
        rng: random.Random | None = None,
        owner: str | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.outbox = outbox
        self.connector_for = connector_for
        self.backend = backend
        self.fingerprint = fingerprint
        self.retry_base = retry_base
        self.retry_cap = retry_cap
        self.rng = rng or random.Random()
        self.owner = owner or make_owner()
        self.monotonic = monotonic
        self._connectors: dict[str, Connector] = {}
        self._paused: set[str] = set()
        #: After a failure, a backend is left alone by this sender for a while (backoff per backend, so an
        #: unreachable helpdesk costs one try, not one per report); a success ends it.
        self._held: dict[str, float] = {}  # backend -> until (monotonic)
        self._backend_failures: dict[str, int] = {}
        self._stop = threading.Event()
        self._builder: ThreadPoolExecutor | None = None
        self._prepared: dict[int, Future[tuple[str, str, bytes]]] = {}

    @classmethod
    def from_settings(cls, outbox: Outbox, settings: Settings, **kwargs: Any) -> Sender:
        from desktop.connectors import registry

        def factory(backend: str) -> Connector:
            return registry.from_settings(settings, backend)

        return cls(outbox, factory, backend=settings["helpdesk.backend"], fingerprint=settings_fingerprint(settings),
                   retry_base=settings["outbox.retry_base"], retry_cap=settings["outbox.retry_cap"], **kwargs)

    def close(self) -> None:
        if self._builder is not None:
            self._builder.shutdown(wait=True, cancel_futures=True)
            self._builder = None
        self._prepared.clear()
        for c in self._connectors.values():
            try:
                c.close()
            except Exception:  # noqa: BLE001 - closing must not hide the result; the connector is done with
                log.debug("closing the %s connector failed", c.info.name, exc_info=True)
        self._connectors.clear()

    def __enter__(self) -> Sender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def stop(self) -> None:
        """Ask a waiting :meth:`run` to return (from another thread)."""
        self._stop.set()

    def connector(self, backend: str) -> Connector:
        if backend not in self._connectors:
            self._connectors[backend] = self.connector_for(backend)
        return self._connectors[backend]

    def delay(self, failures: int, retry_after: float | None = None) -> float:
        return backoff_delay(failures, self.retry_base, self.retry_cap, self.rng, retry_after)

    # ------------------------------------------------------------------------------------ the loop

    def run(self, *, deadline: float | None = None, number: int | None = None, wait: bool = False) -> RunResult:
        """Send due entries until none is due; with ``wait``, also wait for entries due later, until
        nothing is left to send (or only what a settings problem holds back). ``number``: only that
        entry, once, whether due or not. ``deadline`` (on the ``monotonic`` clock) bounds it all; a
        request under way finishes first (each has its own timeout)."""
        result = RunResult()
        self._paused = set(self.outbox.paused_backends(self.fingerprint))
        for p in self.outbox.problems():
            if p.backend in self._paused:
                result.problems.append(p.message)
        while not self._stop.is_set():
            if deadline is not None and self.monotonic() >= deadline:
                break
            now = self.monotonic()
            held = {b for b, until in self._held.items() if until > now} if number is None else set()
            entry = self.outbox.claim(self.owner, skip_backends=sorted(self._paused | held),
                                      current_backend=self.backend, number=number)
            if entry is None:
                if number is not None and self.backend in self._paused:
                    result.paused.append(self.outbox.get(number).incident)
                if number is not None or not wait:
                    break
                pause = self.idle_wait()
                if pause is None:
                    break  # nothing left to send, or what is due waits for the settings to be fixed
                if deadline is not None:
                    pause = min(pause, max(0.0, deadline - self.monotonic()))
                self._stop.wait(pause)
                continue
            try:
                self._work(entry, deadline, result)
            finally:
                self.outbox.release(entry.id, self.owner)
            if number is not None:
                break
        return result

    def idle_wait(self) -> float | None:
        """Seconds until this sender may find something to send, after a run found nothing due; None when
        nothing waits at all, or what is due waits for the settings to be fixed (a paused backend). For a
        loop that runs the sender again after this pause (``run(wait=True)``, the app's service)."""
        due = self.outbox.next_due()
        if due is None:
            return None
        pause = due - self.outbox.clock()
        if pause <= 0:
            if self.backend in self._paused:
                return None
            now = self.monotonic()
            ends = [until - now for until in self._held.values() if until > now]
            pause = min(ends) if ends else 0.2  # a backend held back, or another sender has it
        return pause

    def _work(self, entry: Entry, deadline: float | None, result: RunResult) -> None:
        backend = entry.backend if entry.state == "sent" else self.backend
        try:
            connector = self.connector(backend)
        except ConfigurationError as exc:
            self._configuration_problem(entry, backend, exc, result)
            return
        except Exception as exc:  # noqa: BLE001 - a connector that cannot start is a settings matter; keep the report
            log.debug("the %s connector failed to start", backend, exc_info=True)
            self._configuration_problem(
                entry, backend, ConfigurationError(f"the {backend!r} connector could not start: {exc}",
                                                   "helpdesk.backend"), result)
            return
        if entry.state in ("queued", "sending"):
            self._prepare_report(entry, connector.info)
            if not self._create(entry, connector, backend, result):
                self._prepared.pop(entry.id, None)
                return
            entry = self.outbox.get(entry.id)
        try:
            if self._attachments(entry, connector, deadline, result) and self._followups(entry, connector, result):
                result.completed.append(entry.incident)
        finally:
            self._prepared.pop(entry.id, None)

    def _configuration_problem(self, entry: Entry, backend: str, exc: ConfigurationError, result: RunResult,
                               *, during_create: bool = False, was_uncertain: bool = False) -> None:
        message = mask_credentials(str(exc))
        new = self.outbox.record_problem(backend, exc.setting, message, self.fingerprint,
                                         self.outbox.clock() + self.retry_cap)
        if new:
            log.info("sending to %s is paused until the settings change: %s (setting %s)", backend, message,
                     exc.setting)
        if message not in result.problems:
            result.problems.append(message)
        self._paused.add(backend)
        if during_create:
            self.outbox.mark_retry(entry.id, self.owner, error=message, delay=0.0, uncertain=was_uncertain,
                                   count_failure=False)
        result.paused.append(entry.incident)
        result.errors[entry.incident] = message

    def _retry_later(self, entry: Entry, exc: BaseException, result: RunResult, *, uncertain: bool | None,
                     backend: str) -> None:
        retry_after = exc.retry_after if isinstance(exc, TransientError) else None
        wait = self.delay(entry.failures + 1, retry_after)
        safe = mask_credentials(str(exc))  # the same masked text for the log, the screen and the store
        log.info("%s: will try again in %.1f s: %s", entry.incident, wait, safe)
        self.outbox.mark_retry(entry.id, self.owner, error=safe, delay=wait, uncertain=uncertain)
        failures = self._backend_failures.get(backend, 0) + 1
        self._backend_failures[backend] = failures
        self._held[backend] = self.monotonic() + self.delay(failures, retry_after)
        result.retrying.append(entry.incident)
        result.errors[entry.incident] = safe

    def _succeeded(self, backend: str) -> None:
        self._backend_failures.pop(backend, None)
        self._held.pop(backend, None)

    def _create(self, entry: Entry, connector: Connector, backend: str, result: RunResult) -> bool:
        """Create (or adopt) the ticket; True when the entry is now ``sent``."""
        for part in entry.pending_parts:
            try:
                self.outbox.check_part(part)
            except PartUnreadable as exc:
                self.outbox.mark_failed(entry.id, self.owner, str(exc))
                result.failed.append(entry.incident)
                result.errors[entry.incident] = str(exc)
                return False
        was_uncertain = entry.uncertain or entry.state == "sending"
        began = False
        try:
            ref = connector.find(entry.submission_id) if was_uncertain else None
            if ref is not None:
                log.info("%s: adopting ticket %s, created by an earlier attempt", entry.incident, ref.ticket_id)
            else:
                self.outbox.begin_create(entry.id, self.owner)
                began = True
                ref = connector.create(entry.submission())
        except ConfigurationError as exc:
            self._configuration_problem(entry, backend, exc, result, during_create=True, was_uncertain=was_uncertain)
            return False
        except PermanentError as exc:
            log.info("%s: the helpdesk refused the report: %s", entry.incident, exc)
            self.outbox.mark_failed(entry.id, self.owner, str(exc), uncertain=was_uncertain)
            result.failed.append(entry.incident)
            result.errors[entry.incident] = str(exc)
            return False
        except (TransientError, DeliveryError) as exc:
            self._retry_later(entry, exc, result, uncertain=was_uncertain or (began and may_have_reached_server(exc)),
                              backend=backend)
            return False
        except OutboxError:
            raise
        except Exception as exc:  # noqa: BLE001 - a connector bug must not lose the report or stop the queue
            log.exception("%s: the %s connector failed unexpectedly", entry.incident, backend)
            self._retry_later(entry, exc, result, uncertain=True, backend=backend)
            return False
        self.outbox.mark_sent(entry.id, self.owner, TicketRef(backend, ref.ticket_id, ref.url))
        self._succeeded(backend)
        log.info("%s: ticket %s created on %s", entry.incident, ref.ticket_id, backend)
        result.sent.append(entry.incident)
        return True

    def _prepare_report(self, entry: Entry, info: ConnectorInfo) -> None:
        """Start making the report's attachment in a worker thread, so it is ready when the ticket is:
        the create request's wait on the network hides the time it takes (the work releases no
        database: the document is read here, in the sender's thread)."""
        report = next((p for p in entry.pending_parts if p.kind == "report"), None)
        if report is None or entry.id in self._prepared or self._backend_failures.get(self.backend):
            return  # (while the backend fails, a bundle made ahead would most likely be wasted)
        try:
            document = self.outbox.document(entry.id)
        except OutboxError:
            return  # told when the report is attached (the part fails with the reason)
        if self._builder is None:
            self._builder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="deskline-bundle")
        self._prepared[entry.id] = self._builder.submit(report_payload, document, report, info)

    def _part_payload(self, entry: Entry, part: Part, info: ConnectorInfo) -> tuple[str, str, bytes]:
        """What to send for a part: (name, media type, bytes)."""
        if part.kind == "report":
            prepared = self._prepared.pop(entry.id, None)
            if prepared is not None:
                return prepared.result()
            return report_payload(self.outbox.document(entry.id), part, info)
        data = self.outbox.read_part(entry, part)
        fitted = fit_name(info, part.name, part.media_type) or (part.name, part.media_type)
        return fitted[0], fitted[1], data

    def _attachments(self, entry: Entry, connector: Connector, deadline: float | None, result: RunResult) -> bool:
        """Send the pending files; True when nothing is left to do for them."""
        ref = entry.ticket()
        if ref is None:  # only sent entries get here
            return False
        for part in entry.pending_parts:
            if deadline is not None and self.monotonic() >= deadline:
                return False
            try:
                name, media_type, data = self._part_payload(entry, part, connector.info)
            except (OutboxError, ReportError) as exc:  # a file or the saved report cannot be read back
                self.outbox.mark_part(entry.id, self.owner, part.seq, "failed", str(exc))
                result.errors[entry.incident] = str(exc)
                continue
            problem = limit_problem(connector.info, name, len(data))
            if problem:
                log.info("%s: %s not sent: %s", entry.incident, part.name, problem)
                self.outbox.mark_part(entry.id, self.owner, part.seq, "refused", problem, size=len(data))
                continue
            try:
                connector.attach(ref, [AttachmentFile(name, media_type, data)])
            except ConfigurationError as exc:
                self._configuration_problem(entry, ref.backend, exc, result)
                return False
            except PermanentError as exc:
                self.outbox.mark_part(entry.id, self.owner, part.seq, "refused", str(exc), size=len(data))
                continue
            except (TransientError, DeliveryError) as exc:
                self._retry_later(entry, exc, result, uncertain=None, backend=ref.backend)
                return False
            except Exception as exc:  # noqa: BLE001 - a connector bug must not lose the file or stop the queue
                log.exception("%s: the %s connector failed unexpectedly", entry.incident, ref.backend)
                self._retry_later(entry, exc, result, uncertain=None, backend=ref.backend)
                return False
            note = f"sent as {name}" if name != part.name else ""
            self.outbox.mark_part(entry.id, self.owner, part.seq, "done", note, size=len(data))
            self._succeeded(ref.backend)
        entry = self.outbox.get(entry.id)
        unnoted = entry.unnoted_parts
        if unnoted:
            try:
                connector.comment(ref, refusal_note(entry, unnoted))
            except ConfigurationError as exc:
                self._configuration_problem(entry, ref.backend, exc, result)
                return False
            except PermanentError as exc:
                log.info("%s: the note about files not attached was refused: %s", entry.incident, exc)
            except (TransientError, DeliveryError) as exc:
                self._retry_later(entry, exc, result, uncertain=None, backend=ref.backend)
                return False
            except Exception as exc:  # noqa: BLE001 - a connector bug must not stop the queue
                log.exception("%s: the %s connector failed unexpectedly", entry.incident, ref.backend)
                self._retry_later(entry, exc, result, uncertain=None, backend=ref.backend)
                return False
            self.outbox.mark_noted(entry.id, self.owner, [p.seq for p in unnoted])
        return True

    def _followups(self, entry: Entry, connector: Connector, result: RunResult) -> bool:
        """Send the report's queued comments and ratings, oldest first; True when none is left."""
        ref = entry.ticket()
        if ref is None:
            return False
        for fu in self.outbox.followups(entry.id, ("queued",)):
            files, left_out = [], []
            try:
                for name, media_type, size, sha in fu.files:
                    data = self.outbox.read_followup_file(name, size, sha)
                    fitted = fit_name(connector.info, name, media_type) or (name, media_type)
                    problem = limit_problem(connector.info, fitted[0], len(data))
                    if problem:
                        left_out.append(f"{name}: {problem}")
                    else:
                        files.append(AttachmentFile(fitted[0], fitted[1], data))
            except PartUnreadable as exc:
                self.outbox.mark_followup(fu.id, self.owner, "failed", str(exc))
                result.errors[entry.incident] = str(exc)
                continue
            text = fu.text
            if left_out:
                text = (text + "\n\n" if text else "") + "Deskline could not attach: " + "; ".join(left_out)
            try:
                if fu.kind == "rating":
                    connector.rate(ref, int(fu.score or 0), text)
                else:
                    connector.comment(ref, text, files)
            except ConfigurationError as exc:
                self._configuration_problem(entry, ref.backend, exc, result)
                return False
            except PermanentError as exc:
                log.info("%s: the helpdesk refused a %s: %s", entry.incident, fu.kind, exc)
                self.outbox.mark_followup(fu.id, self.owner, "failed", str(exc))
                result.errors[entry.incident] = str(exc)
                continue
            except (TransientError, DeliveryError) as exc:
                self._retry_later(entry, exc, result, uncertain=None, backend=ref.backend)
                return False
            except Exception as exc:  # noqa: BLE001 - a connector bug must not lose the comment or stop the queue
                log.exception("%s: the %s connector failed unexpectedly", entry.incident, ref.backend)
                self._retry_later(entry, exc, result, uncertain=None, backend=ref.backend)
                return False
            self.outbox.mark_followup(fu.id, self.owner, "sent", "; ".join(left_out))
            log.info("%s: %s sent to ticket %s", entry.incident, fu.kind, ref.ticket_id)
        return True




# ------------------------------------------------------------------------------------ ticket status

@dataclass
class RefreshResult:
    """What ``tickets --refresh`` learnt: new replies per incident, and errors per incident."""

    checked: int = 0
    changed: list[str] = field(default_factory=list)
    replies: dict[str, list[Reply]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    unreachable: str = ""  # the first transient error: the rest were not tried


def refresh_tickets(outbox: Outbox, connector: Connector, backend: str, *, deadline: float | None = None,
                    monotonic: Callable[[], float] = time.monotonic, also: Collection[int] = ()) -> RefreshResult:
    """Poll the status and public replies of the user's open tickets on ``backend`` (with the stored etag);
    ``also``: entries (numbers) to check even if closed (the user reopened it, or commented on it)."""
    result = RefreshResult()
    for entry in outbox.entries(states=("sent",)):
        if entry.backend != backend or (entry.status_state == "closed" and entry.id not in also):
            continue
        if deadline is not None and monotonic() >= deadline:
            result.unreachable = result.unreachable or "the time for checking ran out"
            break
        ref = entry.ticket()
        if ref is None:
            continue
        try:
            status = connector.status(ref, entry.status_etag)
        except TransientError as exc:
            result.unreachable = str(exc)
            break
        except DeliveryError as exc:
            result.errors[entry.incident] = str(exc)
            continue
        result.checked += 1
        new = outbox.update_status(entry.id, status)
        if status is not None:
            result.changed.append(entry.incident)
        if new:
            result.replies[entry.incident] = new
    return result


def note_of(entry: Entry) -> str:
    """Where a report is, in one line for the user (the CLI and the app's list say the same)."""
    if entry.state == "failed":
        return f"not sent: {entry.failed_reason}"
    if entry.state in ("queued", "sending"):
        return f"waiting: {entry.last_error}" if entry.last_error else "waiting to be sent"
    ticket = ticket_label(entry)
    tail = f" {entry.ticket_url}" if entry.ticket_url else ""
    return f"{ticket}{tail}"


def ticket_label(entry: Entry) -> str:
    if entry.backend == "local":
        return "in the local store"
    return f"ticket #{entry.ticket_id}" if entry.ticket_id.isdigit() else f"ticket {entry.ticket_id}"


def load_files(paths: Sequence[str | Path], settings: Settings) -> list[Attachment]:
    """The user's files for a comment, read and redacted like a report's attachments (ReportError naming
    the file when one cannot be read)."""
    from desktop.diagnostics.redaction import Redactor
    from desktop.diagnostics.report import load_attachment

    redactor = Redactor(pseudonymize=settings["report.pseudonymize"],
                        keep_private_ips=settings["report.keep_private_ips"])
    return [load_attachment(Path(p), redactor) for p in paths]


def set_local_state(settings: Settings, ticket_id: str, state: str) -> None:
    """Close or reopen (``closed``, ``open``) a ticket in the local store the settings name: there the user
    is the helpdesk. PermanentError when the ticket is not there."""
    from desktop.connectors.local import LocalStore

    store = LocalStore(default_folder(settings))
    try:
        store.set_state(ticket_id, state)
    finally:
        store.close()


def send_entry_now(sender: Sender, entry: Entry, timeout: float) -> Entry:
    """One bounded attempt at sending a new entry (the ticket, then its files while time remains)."""
    deadline = sender.monotonic() + timeout
    sender.run(number=entry.id, deadline=deadline)
    return sender.outbox.get(entry.id)


__all__ = [
    "LEVELS", "PRIORITY_MATRIX", "RefreshResult", "RunResult", "Sender", "backoff_delay", "file_report",
    "limit_problem", "load_files", "may_have_reached_server", "note_of", "open_outbox", "priority_for",
    "refresh_tickets", "refusal_note", "send_entry_now", "set_local_state", "settings_fingerprint", "ticket_label",
]
