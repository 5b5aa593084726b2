"""The one interface every helpdesk connector implements, and the errors that drive the outbox.

The outbox decides what to do from the error's class alone:

* :class:`TransientError`: try again later (timeouts, connection refused, 5xx, 429), honouring
  ``retry_after`` when the server said so;
* :class:`PermanentError`: stop retrying this report (400, 401, 403, 413, 422) and show ``str(error)``
  to the user, which is written in their words; the report stays in the outbox, retryable by hand;
* :class:`ConfigurationError`: a permanent error caused by a setting (wrong URL, wrong token, unknown
  queue): names the setting to fix; shown once, not per report or per retry.

Never a duplicate ticket: each :class:`Submission` carries a stable ``submission_id``; a connector puts
it where :meth:`Connector.find` can search for it, and the outbox calls ``find`` before creating again
whenever an earlier create may have reached the server.
"""

from __future__ import annotations

import email.utils
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from desktop.errors import DesklineError

#: Normalised ticket states every connector maps its backend's states to.
STATES = ("new", "open", "pending", "resolved", "closed")
PRIORITIES = ("low", "normal", "high", "urgent")


class DeliveryError(DesklineError):
    """A report could not be delivered (base of the errors below)."""


class TransientError(DeliveryError):
    """Try again later; ``retry_after`` (seconds) when the server asked for a delay."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(DeliveryError):
    """Retrying will not help; the message says why in the user's words."""


class ConfigurationError(PermanentError):
    """A setting is wrong; ``setting`` names it (``helpdesk.url``, ``helpdesk.queue``, ...)."""

    def __init__(self, message: str, setting: str) -> None:
        super().__init__(message)
        self.setting = setting


@dataclass(frozen=True)
class AttachmentFile:
    """A file to send with a ticket: its name, media type and bytes."""

    name: str
    media_type: str
    data: bytes

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(frozen=True)
class Submission:
    """What the user filed, as a connector needs it.

    ``description`` is the user's own words; ``summary`` the report's readable summary in Markdown
    (findings first), which connectors put into the ticket's first message together with the words.
    """

    submission_id: str
    title: str
    description: str
    summary: str = ""
    category: str = ""
    priority: str = "normal"
    reporter_name: str = ""
    reporter_email: str = ""
    incident: str = ""  # the local incident number (DL-000123), quoted in the ticket

    def body(self) -> str:
        """The first message of the ticket: the words, then the summary, then the submission id marker."""
        parts = [self.description.strip() or "(no description given)"]
        if self.summary.strip():
            parts.append(self.summary.strip())
        parts.append(submission_marker(self.submission_id, self.incident))
        return "\n\n".join(parts)


def submission_marker(submission_id: str, incident: str = "") -> str:
    """The line that makes a ticket findable by its submission id (searched by :meth:`Connector.find`)."""
    tail = f" ({incident})" if incident else ""
    return f"Deskline submission {submission_id}{tail}"


@dataclass(frozen=True)
class TicketRef:
    """A ticket on the backend: its id there and the URL a person opens."""

    backend: str
    ticket_id: str
    url: str = ""


@dataclass(frozen=True)
class Reply:
    """A public reply on a ticket."""

    reply_id: str
    author: str
    created: str  # ISO 8601
    text: str


@dataclass(frozen=True)
class TicketStatus:
    """The ticket's state now: normalised ``state`` (one of :data:`STATES`), the backend's own label,
    the public replies, and a validator (``etag``) to ask "changed since?" next time."""

    ticket: TicketRef
    state: str
    label: str
    updated: str = ""
    replies: tuple[Reply, ...] = ()
    etag: str = ""


@dataclass
class ConnectorInfo:
    """What a connector can do, for the UI and the outbox."""

    name: str
    max_attachment_bytes: int | None = None  # largest single file the backend takes
    max_total_bytes: int | None = None  # largest request body (files sent together count together)
    allowed_extensions: tuple[str, ...] = ()  # empty: any
    has_rating: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


class Connector(ABC):
    """One helpdesk backend. Methods raise the errors above; nothing else escapes."""

    info: ConnectorInfo

    @abstractmethod
    def create(self, submission: Submission) -> TicketRef:
        """Create the ticket with the title, words and summary (attachments follow separately)."""

    @abstractmethod
    def attach(self, ticket: TicketRef, files: Sequence[AttachmentFile]) -> None:
        """Add files to an existing ticket."""

    @abstractmethod
    def comment(self, ticket: TicketRef, text: str, files: Sequence[AttachmentFile] = ()) -> None:
        """Add a public comment (with files) from the user to an existing ticket."""

    @abstractmethod
    def status(self, ticket: TicketRef, etag: str = "") -> TicketStatus | None:
        """The ticket's status and public replies; None when unchanged since ``etag``."""

    @abstractmethod
    def find(self, submission_id: str) -> TicketRef | None:
        """The ticket created for ``submission_id``, if any (to never create it twice)."""

    def rate(self, ticket: TicketRef, score: int, remark: str = "") -> None:
        """Record a satisfaction rating 1-5; backends without a place for it get a comment."""
        if not 1 <= score <= 5:
            raise PermanentError(f"a rating is 1 to 5, not {score}")
        stars = "★" * score + "☆" * (5 - score)
        text = f"Satisfaction rating: {score}/5 {stars}"
        self.comment(ticket, f"{text}\n\n{remark}".strip())

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (seconds or an HTTP date); None when absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def classify_http(status: int, what: str, headers: Mapping[str, str] | None = None, detail: str = "") -> DeliveryError:
    """The error for an HTTP status: transient for 408/425/429/5xx, permanent otherwise.

    ``what`` names the action in the user's words ("creating the ticket"); ``detail`` is the server's
    own short message, if it gave one.
    """
    retry_after = parse_retry_after((headers or {}).get("Retry-After"))
    tail = f": {detail}" if detail else ""
    if status in (408, 425, 429) or status >= 500:
        return TransientError(f"the helpdesk answered {status} while {what}{tail}; will try again", retry_after)
    if status == 401:
        return ConfigurationError(
            f"the helpdesk refused the credentials while {what} (401){tail}", "helpdesk.token")
    if status == 403:
        return ConfigurationError(
            f"the helpdesk account may not do this ({what}, 403){tail}", "helpdesk.token")
    if status == 404:
        return ConfigurationError(f"the helpdesk has no such address or item while {what} (404){tail}",
                                  "helpdesk.url")
    if status == 413:
        return PermanentError(f"the helpdesk refused the size of the upload while {what} (413){tail}")
    return PermanentError(f"the helpdesk refused the request while {what} ({status}){tail}")
