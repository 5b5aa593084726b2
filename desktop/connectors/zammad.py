"""Zammad (REST API v1, https://docs.zammad.org/en/latest/api/intro.html).

* create: ``POST /api/v1/tickets`` with the first article (the words, the summary and the submission
  marker), the group (``helpdesk.queue``), the customer (``guess:<reporter e-mail>``, so Zammad finds or
  makes the user), the priority and tags;
* attach and comment: ``POST /api/v1/ticket_articles`` with the files inline, base64 (Zammad has no
  separate upload); each article ends with a reference line carrying a digest of its content, and the
  ticket's articles are read first, so a retry never adds the same article twice;
* status: ``GET /api/v1/tickets/{id}?expand=true`` (state by name; ``updated_at`` is the validator) and
  the public agent articles of ``GET /api/v1/ticket_articles/by_ticket/{id}`` as replies;
* find: ``GET /api/v1/tickets/search?query="<submission id>"``, every hit checked for the marker in its
  articles (both the list answer of current Zammad and the older ``{"tickets": [ids]}`` answer are read);
* rate: Zammad has no rating for tickets: a comment.

Authentication: ``Authorization: Token token=<token>`` (an access token from the user's profile), or
basic authentication when ``helpdesk.username`` is set. Errors are Zammad's ``{"error", "error_human"}``.
"""

from __future__ import annotations

import base64
import logging
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests

from desktop.connectors import _common
from desktop.connectors.base import (
    AttachmentFile,
    ConfigurationError,
    Connector,
    ConnectorInfo,
    DeliveryError,
    PermanentError,
    Reply,
    Submission,
    TicketRef,
    TicketStatus,
    TransientError,
    classify_http,
    submission_marker,
)
from desktop.connectors.http import HttpOptions, make_session

log = logging.getLogger("deskline.connectors")

#: Zammad's nginx configuration allows 50 MiB a request (client_max_body_size); files travel base64.
DEFAULT_MAX_REQUEST_BYTES = 50 * 1024 * 1024
PRIORITIES = {"low": "1 low", "normal": "2 normal", "high": "3 high", "urgent": "3 high"}
STATES = {"new": "new", "open": "open", "pending reminder": "pending", "pending close": "pending",
          "closed": "closed", "merged": "closed", "removed": "closed"}
#: How many search hits are checked for the marker.
FIND_CANDIDATES = 5


@dataclass(frozen=True)
class ZammadConfig:
    http: HttpOptions
    group: str  # helpdesk.queue: the group new tickets go to, by name
    token_ref: str = ""  # helpdesk.token: access token (or, with username, the password)
    username: str = ""
    tags: tuple[str, ...] = ("deskline",)
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    allowed_extensions: tuple[str, ...] = field(default_factory=tuple)


class ZammadConnector(Connector):
    def __init__(self, config: ZammadConfig) -> None:
        if not config.group:
            raise ConfigurationError("Zammad needs the group new tickets go to: set helpdesk.queue",
                                     "helpdesk.queue")
        self.config = config
        self.options = config.http
        self.base = config.http.base_url.rstrip("/")
        self.session = make_session(config.http, {"Accept": "application/json"})
        per_request = int(max(0, config.max_request_bytes - 256 * 1024) * 3 / 4)
        self.info = ConnectorInfo(name="zammad", max_attachment_bytes=per_request, max_total_bytes=per_request,
                                  allowed_extensions=config.allowed_extensions, has_rating=False)
        self._token: str | None = None

    # -- the interface --------------------------------------------------------------------------------

    def create(self, submission: Submission) -> TicketRef:
        tags = [*self.config.tags, *([submission.incident] if submission.incident else [])]
        payload: dict[str, Any] = {
            "title": submission.title.strip() or "Deskline report",
            "group": self.config.group,
            "priority": PRIORITIES.get(submission.priority, "2 normal"),
            "article": {
                "subject": submission.title.strip() or "Deskline report",
                "body": submission.body(),
                "content_type": "text/plain",
                "type": "note",
                "internal": False,
            },
        }
        if tags:
            payload["tags"] = ",".join(t.replace(",", " ") for t in tags)
        if submission.reporter_email:
            payload["customer_id"] = f"guess:{submission.reporter_email}"
        response = self._call("POST", "/api/v1/tickets", "creating the ticket", expect=(201, 200), json=payload)
        data = _common.json_body(response, "creating the ticket")
        if not isinstance(data, Mapping) or "id" not in data:
            raise TransientError("Zammad's answer to the new ticket has no id")
        return self._ref(data["id"])

    def attach(self, ticket: TicketRef, files: Sequence[AttachmentFile]) -> None:
        if not files:
            return
        _common.check_types(files, self.info.allowed_extensions, "Zammad")
        _common.check_sizes(files, self.info.max_attachment_bytes, "Zammad")
        groups = _common.batches(files, self.info.max_total_bytes)
        for n, group in enumerate(groups, 1):
            part = f" (part {n} of {len(groups)})" if len(groups) > 1 else ""
            text = f"Files from Deskline{part}: " + ", ".join(f.name for f in group)
            self._article(ticket, "files", text, group, "adding the files")

    def comment(self, ticket: TicketRef, text: str, files: Sequence[AttachmentFile] = ()) -> None:
        _common.check_types(files, self.info.allowed_extensions, "Zammad")
        _common.check_sizes(files, self.info.max_attachment_bytes, "Zammad")
        self._article(ticket, "comment", text, files, "adding the comment")

    def status(self, ticket: TicketRef, etag: str = "") -> TicketStatus | None:
        response = self._call("GET", f"/api/v1/tickets/{self._id(ticket)}?expand=true",
                              "reading the ticket's status", expect=(200,), missing_ticket=True)
        data = _common.json_body(response, "reading the ticket's status")
        if not isinstance(data, Mapping):
            raise TransientError("Zammad's ticket answer is not a JSON object")
        updated = str(data.get("updated_at", ""))
        if etag and updated and etag == updated:
            return None
        label = str(data.get("state") or "")
        replies = tuple(
            Reply(str(a.get("id", "")), str(a.get("from") or a.get("created_by") or ""),
                  str(a.get("created_at", "")), _article_text(a))
            for a in self._articles(ticket) if a.get("sender") == "Agent" and not a.get("internal")
        )
        return TicketStatus(ticket=ticket, state=STATES.get(label, "open"), label=label, updated=updated,
                            replies=replies, etag=updated)

    def find(self, submission_id: str) -> TicketRef | None:
        query = urllib.parse.urlencode({"query": f'"{submission_id}"', "limit": 10})
        response = self._call("GET", f"/api/v1/tickets/search?{query}", "looking for an earlier ticket",
                              expect=(200,))
        data = _common.json_body(response, "looking for an earlier ticket")
        if isinstance(data, list):  # current Zammad: a list of tickets
            ids = [t.get("id") for t in data if isinstance(t, Mapping)]
        elif isinstance(data, Mapping):  # earlier Zammad: {"tickets": [ids], "assets": ...}
            ids = list(data.get("tickets") or [])
        else:
            ids = []
        marker = submission_marker(submission_id)
        for ticket_id in [i for i in ids if i is not None][:FIND_CANDIDATES]:
            ref = self._ref(ticket_id)
            if any(marker in str(a.get("body", "")) for a in self._articles(ref)):
                return ref
        return None

    def close(self) -> None:
        self.session.close()

    # -- helpers --------------------------------------------------------------------------------------

    def _ref(self, ticket_id: Any) -> TicketRef:
        return TicketRef("zammad", str(ticket_id), f"{self.base}/#ticket/zoom/{ticket_id}")

    @staticmethod
    def _id(ticket: TicketRef) -> str:
        if not ticket.ticket_id.isdigit():
            raise PermanentError(f"{ticket.ticket_id!r} is not a Zammad ticket id")
        return ticket.ticket_id

    def _articles(self, ticket: TicketRef) -> list[Mapping[str, Any]]:
        response = self._call("GET", f"/api/v1/ticket_articles/by_ticket/{self._id(ticket)}",
                              "reading the ticket's articles", expect=(200,), missing_ticket=True)
        data = _common.json_body(response, "reading the ticket's articles")
        return [a for a in data if isinstance(a, Mapping)] if isinstance(data, list) else []

    def _article(self, ticket: TicketRef, kind: str, text: str, files: Sequence[AttachmentFile], what: str) -> None:
        digest = _common.content_digest(kind, text, files)
        line = _common.reference_line(digest)
        if any(line in str(a.get("body", "")) for a in self._articles(ticket)):
            log.info("Zammad ticket %s already has %s %s; not adding it again", ticket.ticket_id, kind, digest)
            return
        payload: dict[str, Any] = {
            "ticket_id": int(self._id(ticket)),
            "subject": "Deskline: files" if kind == "files" else "Deskline: comment",
            "body": f"{text}\n\n{line}",
            "content_type": "text/plain",
            "type": "note",
            "internal": False,
        }
        if files:
            payload["attachments"] = [
                {"filename": f.name, "data": base64.b64encode(f.data).decode("ascii"),
                 "mime-type": f.media_type or "application/octet-stream"} for f in files]
        self._call("POST", "/api/v1/ticket_articles", what, expect=(201, 200), json=payload)

    def _headers(self) -> dict[str, str]:
        if self._token is None:
            self._token = _common.required_token(self.config.token_ref, "Zammad needs an access token")
        return _common.authorization(self.config.username, self._token, "Token token=")

    def _call(self, method: str, path: str, what: str, expect: tuple[int, ...], missing_ticket: bool = False,
              **kwargs: Any) -> requests.Response:
        def read_error(response: requests.Response, what: str) -> DeliveryError | None:
            return _read_error(response, what, missing_ticket)

        return _common.request(self.session, method, self.base + path, what, self.options, expect=expect,
                               read_error=read_error, secrets=[self._token or ""],
                               headers=self._headers(), **kwargs)


def _article_text(article: Mapping[str, Any]) -> str:
    body = str(article.get("body") or "")
    return _common.html_to_text(body) if article.get("content_type") == "text/html" else body.strip()


def _read_error(response: requests.Response, what: str, missing_ticket: bool = False) -> DeliveryError | None:
    """Zammad's ``{"error": ..., "error_human": ...}`` turned into the outbox's errors."""
    data = _common.json_error(response)
    detail = ""
    if isinstance(data, Mapping):
        detail = str(data.get("error_human") or data.get("error") or "")[:200]
    detail = detail or response.headers.get("X-Failure", "") or _common.short_detail(response)
    status = response.status_code
    tail = f": {detail}" if detail else ""
    if status == 401:
        return ConfigurationError(f"Zammad refused the access token while {what}{tail}", "helpdesk.token")
    if status == 403:
        return ConfigurationError(f"the Zammad account may not do this ({what}){tail}", "helpdesk.token")
    if status == 422 and "lookup value found for 'group'" in detail:
        return ConfigurationError(f"Zammad has no group by that name{tail}", "helpdesk.queue")
    if status == 422 and ("'customer'" in detail or "of customer" in detail):
        return ConfigurationError(f"Zammad cannot use the reporter's e-mail address{tail}",
                                  "helpdesk.reporter_email")
    if status == 404 and missing_ticket:
        return PermanentError(f"the ticket is no longer on Zammad ({what}){tail}")
    if status == 422:
        return PermanentError(f"Zammad refused the request while {what}{tail}")
    return classify_http(status, what, response.headers, detail)


def from_settings(settings: Any) -> ZammadConnector:
    s = _common.setting
    max_mb = float(s(settings, "helpdesk.max_upload_mb", 0.0) or 0.0)
    tags = s(settings, "zammad.tags", ["deskline"])
    return ZammadConnector(ZammadConfig(
        http=_common.http_options(settings),
        group=str(s(settings, "helpdesk.queue", "")),
        token_ref=str(s(settings, "helpdesk.token", "")),
        username=str(s(settings, "helpdesk.username", "")),
        tags=tuple(str(t) for t in tags),
        max_request_bytes=int(max_mb * 1024 * 1024) if max_mb > 0 else DEFAULT_MAX_REQUEST_BYTES,
        allowed_extensions=tuple(s(settings, "helpdesk.attachment_extensions", ())),
    ))
