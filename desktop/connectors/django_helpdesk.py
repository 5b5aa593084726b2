"""django-helpdesk (REST API under ``<helpdesk.url>/api/``, checked against 2.6.1).

What the API is like, and what this connector does about it:

* The API is for staff only (``IsAdminUser``): the account behind ``helpdesk.token`` must be staff.
  Authentication is a DRF token (``Authorization: Token ...``) or, with ``helpdesk.username``, basic
  authentication with the password.
* Create (``POST /api/tickets/``) needs ``queue`` (an id: the API has no way to look a queue up by its
  slug), ``priority`` (1 critical .. 5 very low) and a non-empty ``description`` (a missing one is a
  500, an empty one a 400). Two identical creates make two tickets.
* Files go in follow-ups (``POST /api/followups/``, multipart, ``attachments`` repeated). A follow-up
  with a ``title`` renames the ticket, so none is sent. An attachment whose extension the server does
  not accept (``HELPDESK_VALID_EXTENSIONS``) is a 500 *after* the follow-up was saved, so extensions
  are checked here, before sending (``helpdesk.attachment_extensions``).
* Follow-up comments are rendered as Django templates by the server: ``{{ x }}`` and ``{# x #}`` vanish.
  A zero-width space is put between such braces so the user's words arrive as written.
* No server-side search and no ETag or Last-Modified: :meth:`find` pages through the newest
  ``find_limit`` tickets (the list is ordered by id) and matches the submission marker in the
  description; :meth:`status` hashes what it reports and returns None when the hash is unchanged.
* Every ticket request, one ticket or a page of the list, costs the server time in proportion to ALL
  its tickets (2.6.1's ``TicketViewSet.get_queryset`` calls ``set_custom_field_values()`` on each
  ticket before filtering or paginating: measured 25 ms with 1 ticket, 0.7 s with 3,000). Creating
  tickets and adding follow-ups do not; status polls should be spaced accordingly.
* No rating field: a rating is a comment (the base class's :meth:`Connector.rate`).
* No upload limit of its own; the web server in front of it has one (nginx: ``client_max_body_size``):
  ``helpdesk.max_upload_mb``. Files are sent in as many follow-ups as that needs; a single file over
  it is refused before anything is sent.

Attachments and comments are idempotent across retries: each attachment follow-up carries a line with
a digest of its files, and a retried :meth:`attach` skips the parts the ticket already has (it reads
the ticket first, unless this connector created it and knows every follow-up it added arrived); a
comment identical to the ticket's latest follow-up is not posted again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import requests

from desktop.connectors.base import (
    AttachmentFile,
    ConfigurationError,
    Connector,
    ConnectorInfo,
    PermanentError,
    Reply,
    Submission,
    TicketRef,
    TicketStatus,
    TransientError,
    submission_marker,
)
from desktop.connectors.http import HttpOptions, call, make_session

if TYPE_CHECKING:
    from desktop.config import Settings

log = logging.getLogger("deskline.connectors")

NAME = "django-helpdesk"
#: django-helpdesk 2.6.1's HELPDESK_VALID_EXTENSIONS when the server does not set it.
STOCK_EXTENSIONS = (".txt", ".asc", ".pdf", ".doc", ".docx", ".odt", ".jpg", ".png", ".eml")
DEFAULT_MAX_UPLOAD = 10 * 1024 * 1024
#: Room left in a request for the multipart framing and the form fields besides the files.
_OVERHEAD = 16 * 1024
PRIORITY = {"urgent": 1, "high": 2, "normal": 3, "low": 4}
#: django-helpdesk's status numbers -> (our state, its label).
STATUS = {1: ("open", "Open"), 2: ("open", "Reopened"), 3: ("resolved", "Resolved"), 4: ("closed", "Closed"),
          5: ("closed", "Duplicate")}
_TEMPLATE_BRACES = re.compile(r"\{(?=[{#])")
_ATTACH_LINE = re.compile(r"^Deskline attachments ([0-9a-f]{16})\b", re.MULTILINE)
_TITLE_MAX = 200  # Ticket.title max_length
_KNOWN_MAX = 1000


class DjangoHelpdeskConnector(Connector):
    """One django-helpdesk server, one queue, one staff account."""

    def __init__(
        self,
        options: HttpOptions,
        queue: int,
        token: str,
        username: str = "",
        submitter_email: str = "",
        allowed_extensions: Sequence[str] = STOCK_EXTENSIONS,
        max_upload_bytes: int = DEFAULT_MAX_UPLOAD,
        find_limit: int = 250,
        page_size: int = 250,
    ) -> None:
        if not token:
            raise ConfigurationError("django-helpdesk needs a credential: set helpdesk.token "
                                     "(env:NAME or keyring:SERVICE/USER)", "helpdesk.token")
        self.options = options
        self.base = options.base_url.rstrip("/")
        self.api = self.base + "/api"
        self.queue = queue
        self.submitter_email = submitter_email
        self.find_limit = find_limit
        self.page_size = page_size
        self.max_upload = max_upload_bytes
        #: Tickets this connector created, with the attachment sets it has since added: for these the
        #: ticket need not be read before attaching. Dropped when a follow-up's fate is unknown.
        self._known: dict[str, set[str]] = {}
        headers = {"Accept": "application/json"}
        if not username:
            headers["Authorization"] = f"Token {token}"
        self.session = make_session(options, headers)
        if username:
            self.session.auth = (username, token)
        self.info = ConnectorInfo(
            name=NAME,
            max_attachment_bytes=max_upload_bytes - _OVERHEAD,
            max_total_bytes=None,  # sent in as many follow-ups as needed
            allowed_extensions=tuple(e.lower() for e in allowed_extensions),
            has_rating=False,
            extra={"find_limit": find_limit},
        )

    # -- the interface

    def create(self, submission: Submission) -> TicketRef:
        """``POST /api/tickets/`` with the words, summary and submission marker as the description."""
        payload: dict[str, Any] = {
            "queue": self.queue,
            "title": _title(submission.title),
            "description": submission.body(),
            "priority": PRIORITY.get(submission.priority, 3),
        }
        email = submission.reporter_email or self.submitter_email
        if email:
            payload["submitter_email"] = email
        response = self._call("POST", "/tickets/", "creating the ticket", ok=(201, 400), json=payload)
        if response.status_code == 400:
            raise self._refused(response, "creating the ticket")
        data = _json(response, "creating the ticket")
        ref = self._ref(data.get("id"))
        log.info("created django-helpdesk ticket %s for submission %s", ref.ticket_id, submission.submission_id)
        if len(self._known) >= _KNOWN_MAX:
            self._known.pop(next(iter(self._known)))
        self._known[ref.ticket_id] = set()
        return ref

    def attach(self, ticket: TicketRef, files: Sequence[AttachmentFile]) -> None:
        """Follow-ups with the files, as few as the upload limit allows; parts already there are skipped."""
        if not files:
            return
        parts = self._split(files)
        known = self._known.get(ticket.ticket_id)
        done = known if known is not None else self._attachment_digests(ticket)
        for part in parts:
            digest = _digest(part)
            if digest in done:
                log.info("ticket %s already has attachment set %s; not sent again", ticket.ticket_id, digest)
                continue
            try:
                self._post_followup(ticket, _attach_line(digest, part), part, "adding attachments")
            except BaseException:
                self._known.pop(ticket.ticket_id, None)  # it may have arrived: read the ticket next time
                raise
            if known is not None:
                known.add(digest)

    def comment(self, ticket: TicketRef, text: str, files: Sequence[AttachmentFile] = ()) -> None:
        """A public follow-up with ``text`` (and the files, split as :meth:`attach` does)."""
        parts = self._split(files) if files else [[]]
        comment = _escape(text)
        data = self._get_ticket(ticket, "adding a comment")
        followups = data.get("followup_set") or []
        if followups and _same_comment(followups[-1], comment, parts[0]):
            log.info("ticket %s already ends with this comment; not sent again", ticket.ticket_id)
        else:
            self._post_followup(ticket, comment, parts[0], "adding a comment")
        if len(parts) > 1:
            self.attach(ticket, [f for part in parts[1:] for f in part])

    def status(self, ticket: TicketRef, etag: str = "") -> TicketStatus | None:
        """The ticket's state and the public replies of other accounts; None when unchanged since ``etag``.

        The API has neither ETag nor If-Modified-Since: the etag is a hash of what is reported.
        """
        data = self._get_ticket(ticket, "reading the ticket's status")
        code = data.get("status")
        state, label = STATUS.get(code if isinstance(code, int) else 0, ("open", f"status {code}"))
        if data.get("merged_to"):
            state, label = "closed", f"Merged into #{data['merged_to']}"
        elif state == "open" and data.get("on_hold"):
            state, label = "pending", f"{label}, on hold"
        followups = [f for f in data.get("followup_set") or [] if isinstance(f, dict)]
        creator = followups[0].get("user") if followups else None
        replies = tuple(
            Reply(reply_id=str(f.get("id")), author=f"helpdesk user #{f.get('user')}" if f.get("user") else "helpdesk",
                  created=str(f.get("date") or ""), text=str(f.get("comment") or "").strip())
            for f in followups[1:]
            if f.get("public") and str(f.get("comment") or "").strip() and f.get("user") != creator
        )
        if state == "open" and code == 1 and not data.get("assigned_to") and not replies:
            state = "new"
        if data.get("resolution") and state in ("resolved", "closed"):
            label = f"{label}: {str(data['resolution']).strip()[:200]}"
        updated = max((str(f.get("date") or "") for f in followups if f.get("public")), default="")
        tag = "dh-" + hashlib.sha256(json.dumps(
            [state, label, [(r.reply_id, r.text) for r in replies], updated], sort_keys=True
        ).encode()).hexdigest()[:24]
        if etag and etag == tag:
            return None
        return TicketStatus(ticket=ticket, state=state, label=label, updated=updated, replies=replies, etag=tag)

    def find(self, submission_id: str) -> TicketRef | None:
        """The oldest ticket among the newest ``find_limit`` whose description carries the marker.

        django-helpdesk's API has no search (``?search=`` is ignored, only ``?status=`` filters), so
        the newest tickets are read, a page at a time from the last page back. A ticket older than
        that window is not found: the outbox calls find soon after an interrupted create, when the
        ticket is among the newest.
        """
        pattern = re.compile(re.escape(submission_marker(submission_id)) + r"(?![\w-])")
        found: int | None = None
        for ticket in self._newest_tickets("looking for an earlier copy of the report"):
            if pattern.search(str(ticket.get("description") or "")):
                ticket_id = ticket.get("id")
                if isinstance(ticket_id, int) and (found is None or ticket_id < found):
                    found = ticket_id
        if found is None:
            return None
        log.info("found django-helpdesk ticket %s for submission %s", found, submission_id)
        return self._ref(found)

    def close(self) -> None:
        self.session.close()

    # -- helpers

    def _ref(self, ticket_id: object) -> TicketRef:
        if not isinstance(ticket_id, int):
            raise TransientError(f"the helpdesk's answer had no ticket number ({ticket_id!r}); will try again")
        return TicketRef(NAME, str(ticket_id), f"{self.base}/tickets/{ticket_id}/")

    def _call(self, method: str, path: str, what: str, ok: tuple[int, ...] = (200,), **kwargs: Any
              ) -> requests.Response:
        try:
            return call(self.session, method, self.api + path, what, self.options, ok=ok, **kwargs)
        except ConfigurationError as exc:
            if exc.setting == "helpdesk.token" and "403" in str(exc):
                raise ConfigurationError(f"{exc} (django-helpdesk's API needs a staff account)",
                                         "helpdesk.token") from exc
            raise

    def _get_ticket(self, ticket: TicketRef, what: str) -> dict[str, Any]:
        response = self._call("GET", f"/tickets/{_ticket_number(ticket)}/", what, ok=(200, 404))
        if response.status_code == 404:
            raise PermanentError(f"ticket #{ticket.ticket_id} no longer exists on the helpdesk")
        return _json(response, what)

    def _post_followup(self, ticket: TicketRef, comment: str, files: Sequence[AttachmentFile], what: str) -> None:
        # no "title": a follow-up with a title renames the ticket
        form = {"ticket": str(_ticket_number(ticket)), "comment": comment, "public": "true"}
        multipart = [("attachments", (f.name, f.data, f.media_type or "application/octet-stream")) for f in files]
        if multipart:
            response = self._call("POST", "/followups/", what, ok=(201, 400), data=form, files=multipart)
        else:
            response = self._call("POST", "/followups/", what, ok=(201, 400), data=form)
        if response.status_code == 400:
            raise self._refused(response, what, ticket)
        log.info("added a follow-up to django-helpdesk ticket %s (%d files)", ticket.ticket_id, len(files))

    def _split(self, files: Sequence[AttachmentFile]) -> list[list[AttachmentFile]]:
        """Files in groups that each fit one request; refuses files the server would refuse."""
        limit = self.max_upload - _OVERHEAD
        allowed = self.info.allowed_extensions
        for f in files:
            ext = _extension(f.name)
            if allowed and ext not in allowed:
                raise PermanentError(
                    f"the helpdesk does not take {ext or 'extension-less'} files ({f.name}); it takes "
                    f"{' '.join(allowed)}. Its administrator can allow more (HELPDESK_VALID_EXTENSIONS), "
                    "then list them in helpdesk.attachment_extensions")
            if f.size > limit:
                size, most = _mib(f.size), _mib(limit)
                if size == most:
                    size, most = f"{f.size:,} bytes", f"{limit:,} bytes"
                raise PermanentError(
                    f"{f.name} is {size}; the helpdesk takes files up to {most} (helpdesk.max_upload_mb)")
        parts: list[list[AttachmentFile]] = []
        used = limit + 1
        for f in files:
            if used + f.size + 512 > limit:
                parts.append([])
                used = 0
            parts[-1].append(f)
            used += f.size + 512  # per-part headers
        return parts

    def _attachment_digests(self, ticket: TicketRef) -> set[str]:
        """Digests of the attachment sets already complete on the ticket."""
        data = self._get_ticket(ticket, "adding attachments")
        done = set()
        for f in data.get("followup_set") or []:
            m = _ATTACH_LINE.search(str(f.get("comment") or ""))
            if m and len(f.get("followupattachment_set") or []) >= _count_in_line(str(f.get("comment"))):
                done.add(m.group(1))
        return done

    def _newest_tickets(self, what: str) -> Iterator[dict[str, Any]]:
        """At least ``find_limit`` of the newest tickets (all when fewer), a page at a time from the last.

        The API orders tickets by id. Each list request costs the server a pass over every ticket
        (2.6.1's ``get_queryset`` loads the custom fields of all of them before paginating), so pages
        are large and few: one request when the helpdesk has at most ``page_size`` tickets, else the
        first (for the count) and the last one or two.
        """
        size = self.page_size
        first = _json(self._call("GET", "/tickets/", what, params={"page_size": size}), what)
        count = first.get("count")
        if not isinstance(count, int):
            raise TransientError(f"the helpdesk's ticket list had no count while {what}; will try again")
        page, seen = max(1, math.ceil(count / size)), 0
        while page >= 1 and seen < self.find_limit:
            if page == 1:
                data = first
            else:
                response = self._call("GET", "/tickets/", what, ok=(200, 404), params={"page_size": size, "page": page})
                if response.status_code == 404:  # tickets deleted since the count: that page is gone
                    page -= 1
                    continue
                data = _json(response, what)
            results = [t for t in data.get("results") or [] if isinstance(t, dict)]
            seen += len(results)
            page -= 1
            yield from results

    def _refused(self, response: requests.Response, what: str, ticket: TicketRef | None = None) -> PermanentError:
        """The error for a 400: which field the server refused, naming the setting when one is at fault."""
        try:
            errors = response.json()
        except ValueError:
            errors = {}
        if not isinstance(errors, dict):
            errors = {"": errors}
        if "queue" in errors:
            return ConfigurationError(
                f"the helpdesk has no queue {self.queue} this account may use: {_first(errors['queue'])}",
                "helpdesk.queue")
        if "ticket" in errors and ticket is not None:
            return PermanentError(f"ticket #{ticket.ticket_id} no longer exists on the helpdesk or this account "
                                  f"may not see it: {_first(errors['ticket'])}")
        if "submitter_email" in errors:
            return ConfigurationError(
                f"the helpdesk did not accept the e-mail address: {_first(errors['submitter_email'])}",
                "helpdesk.reporter_email")
        detail = "; ".join(f"{k}: {_first(v)}" if k else _first(v) for k, v in errors.items())[:300]
        return PermanentError(f"the helpdesk refused the request while {what} (400): {detail}")


def from_settings(settings: Settings) -> DjangoHelpdeskConnector:
    """The connector for the ``helpdesk.*`` settings; ConfigurationError naming the setting at fault."""
    from desktop.credentials import resolve

    url = settings["helpdesk.url"]
    if not url:
        raise ConfigurationError("set helpdesk.url to the django-helpdesk address (https://HOST/helpdesk)",
                                 "helpdesk.url")
    queue_text = str(settings["helpdesk.queue"]).strip()
    if not queue_text.isdigit():
        raise ConfigurationError(
            f"helpdesk.queue must be the django-helpdesk queue's number (its id), not {queue_text!r}: the API "
            "cannot look a queue up by name", "helpdesk.queue")
    reference = settings["helpdesk.token"]
    if reference and not reference.startswith(("env:", "keyring:")):
        # never echo the value: it may be the secret itself, pasted where its reference belongs
        raise ConfigurationError("helpdesk.token must say where the secret is kept (env:NAME or "
                                 "keyring:SERVICE/USER), not hold the secret", "helpdesk.token")
    secret = resolve(reference, "helpdesk.token")
    options = HttpOptions(base_url=url, timeout=settings["helpdesk.timeout"],
                          verify_tls=settings["helpdesk.verify_tls"], ca_bundle=settings["helpdesk.ca_bundle"],
                          proxy=settings["helpdesk.proxy"])
    extensions = [e if e.startswith(".") else "." + e for e in settings["helpdesk.attachment_extensions"]]
    mb = settings["helpdesk.max_upload_mb"]
    return DjangoHelpdeskConnector(
        options, int(queue_text), secret, username=settings["helpdesk.username"],
        submitter_email=settings["helpdesk.reporter_email"],
        allowed_extensions=extensions or STOCK_EXTENSIONS,
        max_upload_bytes=int(mb * 1024 * 1024) if mb else DEFAULT_MAX_UPLOAD)


def _ticket_number(ticket: TicketRef) -> int:
    if not ticket.ticket_id.isdigit():
        raise PermanentError(f"{ticket.ticket_id!r} is not a django-helpdesk ticket number")
    return int(ticket.ticket_id)


def _json(response: requests.Response, what: str) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError as exc:
        raise TransientError(f"the helpdesk's answer was not JSON while {what}; will try again") from exc
    if not isinstance(data, dict):
        raise TransientError(f"the helpdesk's answer was not a JSON object while {what}; will try again")
    return data


def _title(title: str) -> str:
    title = " ".join(title.split()) or "Deskline report"
    return title if len(title) <= _TITLE_MAX else title[: _TITLE_MAX - 1] + "…"


def _escape(text: str) -> str:
    """Keep ``{{`` and ``{#`` from being rendered as a Django template by the server (zero-width space)."""
    return _TEMPLATE_BRACES.sub("{\u200b", text)


def _extension(name: str) -> str:
    base = name.rsplit("/", 1)[-1]
    return "." + base.rsplit(".", 1)[1].lower() if "." in base.strip(".") else ""


def _digest(files: Sequence[AttachmentFile]) -> str:
    h = hashlib.sha256()
    for f in files:
        h.update(f.name.encode("utf-8", "surrogateescape") + b"\0" + hashlib.sha256(f.data).digest())
    return h.hexdigest()[:16]


def _attach_line(digest: str, files: Sequence[AttachmentFile]) -> str:
    names = ", ".join(f"{f.name} ({_mib(f.size)})" for f in files)
    return _escape(f"Deskline attachments {digest} ({len(files)} files): {names}")


def _count_in_line(comment: str) -> int:
    m = re.search(r"^Deskline attachments [0-9a-f]{16} \((\d+) files\)", comment, re.MULTILINE)
    return int(m.group(1)) if m else 1


def _same_comment(followup: Mapping[str, Any], comment: str, files: Sequence[AttachmentFile]) -> bool:
    if " ".join(str(followup.get("comment") or "").split()) != " ".join(comment.split()):
        return False
    names = sorted(str(a.get("filename")) for a in followup.get("followupattachment_set") or [])
    return names == sorted(f.name for f in files)


def _mib(size: int) -> str:
    return f"{size / 1024:.0f} KiB" if size < 1024 * 1024 else f"{size / 1024 / 1024:.1f} MiB"


def _first(value: object) -> str:
    if isinstance(value, list) and value:
        return str(value[0])[:200]
    return str(value)[:200]
