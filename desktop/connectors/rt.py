"""Request Tracker 5 (REST2, ``/REST/2.0``; https://docs.bestpractical.com/rt/5.0.5/RT/REST2.html).

* create: ``POST /ticket`` with ``Queue`` (``helpdesk.queue``), ``Subject``, ``Content`` (the words, the
  summary and the submission marker), the reporter as ``Requestor`` and, when ``rt.submission_field`` names a
  ticket custom field, the submission id in it;
* attach and comment: ``POST /ticket/{id}/correspond`` (public: the requestor sees it) with the files as
  ``Attachments`` (base64) and a subject carrying a digest reference; ``POST /attachments`` (a JSON search on
  ``Subject``) finds an earlier identical one, so a retry never adds it twice;
* status: ``GET /ticket/{id}`` with ``If-None-Match`` (REST2 sends an ``ETag``; 304: unchanged); the
  ``Status`` of RT's default lifecycle mapped; correspondence by others than the ticket's creator from
  ``GET /ticket/{id}/history`` as replies (their text from ``GET /transaction/{id}/attachments``, base64);
* find: TicketSQL, ``'CF.{<field>}' = '<id>'`` with ``rt.submission_field``, otherwise ``Content LIKE
  '<id>'`` in the queue (needs RT's full-text search), every hit confirmed by the marker in its first message;
* rate: RT has no rating: a correspondence.

Authentication: ``Authorization: token <token>`` (RT's auth tokens), or basic authentication with
``helpdesk.username`` and the password in ``helpdesk.token``. Errors are REST2's ``{"message": ...}``.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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

#: RT's stock $MaxAttachmentSize (RT_Config.pm): 10 000 000 bytes.
DEFAULT_MAX_FILE_BYTES = 10_000_000
STATES = {"new": "new", "open": "open", "stalled": "pending", "resolved": "resolved", "rejected": "closed",
          "deleted": "closed"}
FIND_CANDIDATES = 3
REPLIES = 10  # at most this many recent correspondences are read per status (one request each)


@dataclass(frozen=True)
class RtConfig:
    http: HttpOptions  # base_url: RT's root (…/REST/2.0 is accepted too)
    queue: str  # helpdesk.queue: queue name (or id)
    token_ref: str = ""
    username: str = ""  # with a password in token_ref: basic authentication
    submission_field: str = ""  # rt.submission_field: a ticket custom field that takes the submission id
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    allowed_extensions: tuple[str, ...] = ()


class RtConnector(Connector):
    def __init__(self, config: RtConfig) -> None:
        if not config.queue:
            raise ConfigurationError("Request Tracker needs the queue new tickets go to: set helpdesk.queue",
                                     "helpdesk.queue")
        self.config = config
        self.options = config.http
        root = config.http.base_url.rstrip("/")
        self.root = root[: -len("/REST/2.0")] if root.endswith("/REST/2.0") else root
        self.api = self.root + "/REST/2.0"
        self.session = make_session(config.http, {"Accept": "application/json"})
        self.info = ConnectorInfo(name="rt", max_attachment_bytes=config.max_file_bytes,
                                  max_total_bytes=config.max_file_bytes, allowed_extensions=config.allowed_extensions,
                                  has_rating=False)
        self._token: str | None = None

    # -- the interface --------------------------------------------------------------------------------

    def create(self, submission: Submission) -> TicketRef:
        payload: dict[str, Any] = {
            "Queue": self.config.queue,
            "Subject": " ".join(submission.title.split()) or "Deskline report",
            "Content": submission.body(),
            "ContentType": "text/plain",
        }
        if submission.reporter_email:
            payload["Requestor"] = submission.reporter_email
        if self.config.submission_field:
            payload["CustomFields"] = {self.config.submission_field: submission.submission_id}
        response = self._call("POST", "/ticket", "creating the ticket", expect=(201, 200), where="create",
                              json=payload)
        data = _common.json_body(response, "creating the ticket")
        ticket_id = data.get("id") if isinstance(data, Mapping) else None
        if not ticket_id:
            match = re.search(r"/ticket/(\d+)$", response.headers.get("Location", ""))
            ticket_id = match.group(1) if match else None
        if not ticket_id:
            raise TransientError("Request Tracker's answer to the new ticket has no id")
        return self._ref(ticket_id)

    def attach(self, ticket: TicketRef, files: Sequence[AttachmentFile]) -> None:
        if not files:
            return
        _common.check_types(files, self.info.allowed_extensions, "Request Tracker")
        _common.check_sizes(files, self.info.max_attachment_bytes, "Request Tracker")
        groups = _common.batches(files, self.info.max_total_bytes)
        for n, group in enumerate(groups, 1):
            part = f" (part {n} of {len(groups)})" if len(groups) > 1 else ""
            self._correspond(ticket, "files", f"Files from Deskline{part}: " + ", ".join(f.name for f in group),
                             group, "adding the files")

    def comment(self, ticket: TicketRef, text: str, files: Sequence[AttachmentFile] = ()) -> None:
        _common.check_types(files, self.info.allowed_extensions, "Request Tracker")
        _common.check_sizes(files, self.info.max_attachment_bytes, "Request Tracker")
        self._correspond(ticket, "comment", text, files, "adding the comment")

    def status(self, ticket: TicketRef, etag: str = "") -> TicketStatus | None:
        ticket_id = self._id(ticket)
        headers = {"If-None-Match": etag} if etag else {}
        response = self._call("GET", f"/ticket/{ticket_id}", "reading the ticket's status", expect=(200, 304),
                              where="ticket", headers=headers)
        if response.status_code == 304:
            return None
        data = _common.json_body(response, "reading the ticket's status")
        if not isinstance(data, Mapping):
            raise TransientError("Request Tracker's ticket answer is not a JSON object")
        label = str(data.get("Status") or "")
        creator = (data.get("Creator") or {}).get("id") if isinstance(data.get("Creator"), Mapping) else None
        return TicketStatus(ticket=ticket, state=STATES.get(label, "open"), label=label,
                            updated=str(data.get("LastUpdated") or ""), replies=self._replies(ticket_id, creator),
                            etag=response.headers.get("ETag", ""))

    def find(self, submission_id: str) -> TicketRef | None:
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,100}", submission_id):
            return None
        if self.config.submission_field:
            query = f"'CF.{{{_sql(self.config.submission_field)}}}' = '{submission_id}'"
        else:
            query = f"Queue = '{_sql(self.config.queue)}' AND Content LIKE '{submission_id}'"
        data = self._json("GET", "/tickets", "looking for an earlier ticket", expect=(200,), where="find",
                          params={"query": query, "orderby": "id", "order": "DESC", "per_page": "10"})
        marker = submission_marker(submission_id)
        items = data.get("items") if isinstance(data, Mapping) else None
        for item in (items or [])[:FIND_CANDIDATES]:
            ticket_id = str(item.get("id", "")) if isinstance(item, Mapping) else ""
            if ticket_id.isdigit() and (self.config.submission_field or marker in self._first_message(ticket_id)):
                return self._ref(ticket_id)
        return None

    def close(self) -> None:
        self.session.close()

    # -- helpers --------------------------------------------------------------------------------------

    def _ref(self, ticket_id: Any) -> TicketRef:
        return TicketRef("rt", str(ticket_id), f"{self.root}/Ticket/Display.html?id={ticket_id}")

    @staticmethod
    def _id(ticket: TicketRef) -> str:
        if not ticket.ticket_id.isdigit():
            raise PermanentError(f"{ticket.ticket_id!r} is not a Request Tracker ticket number")
        return ticket.ticket_id

    def _correspond(self, ticket: TicketRef, kind: str, text: str, files: Sequence[AttachmentFile],
                    what: str) -> None:
        ticket_id = self._id(ticket)
        reference = _common.reference_line(_common.content_digest(kind, f"{ticket_id}\0{text}", files))
        found = self._json("POST", "/attachments", "checking for an earlier message", expect=(200,),
                           where="ticket", json=[{"field": "Subject", "operator": "LIKE", "value": reference}])
        if isinstance(found, Mapping) and int(found.get("count") or found.get("total") or 0) > 0:
            log.info("RT ticket %s already has %s %s; not adding it again", ticket_id, kind, reference)
            return
        payload: dict[str, Any] = {
            "Subject": f"Deskline: {'files' if kind == 'files' else 'comment'} {reference}",
            "Content": text,
            "ContentType": "text/plain",
        }
        if files:
            payload["Attachments"] = [
                {"FileName": f.name, "FileType": f.media_type or "application/octet-stream",
                 "FileContent": base64.b64encode(f.data).decode("ascii")} for f in files]
        self._call("POST", f"/ticket/{ticket_id}/correspond", what, expect=(201, 200), where="ticket", json=payload)

    def _replies(self, ticket_id: str, creator: Any) -> tuple[Reply, ...]:
        data = self._json("GET", f"/ticket/{ticket_id}/history", "reading the ticket's history", expect=(200,),
                          where="ticket", params={"fields": "Type,Creator,Created", "per_page": "100",
                                                  "orderby": "id", "order": "DESC"})
        items = data.get("items") if isinstance(data, Mapping) else None
        replies: list[Reply] = []
        for txn in items or []:
            if not isinstance(txn, Mapping) or txn.get("Type") != "Correspond":
                continue
            author = txn.get("Creator")
            author_id = author.get("id") if isinstance(author, Mapping) else author
            if author_id == creator:
                continue
            replies.append(Reply(str(txn.get("id", "")), str(author_id or ""), str(txn.get("Created") or ""),
                                 self._transaction_text(str(txn.get("id", "")))))
            if len(replies) >= REPLIES:
                break
        return tuple(reversed(replies))

    def _first_message(self, ticket_id: str) -> str:
        data = self._json("GET", f"/ticket/{ticket_id}/history", "checking an earlier ticket", expect=(200,),
                          where="ticket", params={"fields": "Type", "per_page": "5", "orderby": "id", "order": "ASC"})
        items = data.get("items") if isinstance(data, Mapping) else None
        for txn in items or []:
            if isinstance(txn, Mapping) and txn.get("Type") == "Create":
                return self._transaction_text(str(txn.get("id", "")))
        return ""

    def _transaction_text(self, txn_id: str) -> str:
        if not txn_id.isdigit():
            return ""
        data = self._json("GET", f"/transaction/{txn_id}/attachments", "reading a message", expect=(200,),
                          where="ticket", params={"fields": "Content,ContentType"})
        items = data.get("items") if isinstance(data, Mapping) else None
        parts = [a for a in items or [] if isinstance(a, Mapping) and a.get("Content")]
        for wanted in ("text/plain", "text/html"):
            for part in parts:
                if str(part.get("ContentType", "")).startswith(wanted):
                    text = _decode(str(part["Content"]))
                    return _common.html_to_text(text) if wanted == "text/html" else text.strip()
        return ""

    def _headers(self) -> dict[str, str]:
        if self._token is None:
            self._token = _common.required_token(self.config.token_ref, "Request Tracker needs an auth token")
        return _common.authorization(self.config.username, self._token, "token ")

    def _call(self, method: str, path: str, what: str, expect: tuple[int, ...], where: str,
              headers: Mapping[str, str] | None = None, **kwargs: Any) -> requests.Response:
        def read_error(response: requests.Response, what: str) -> DeliveryError | None:
            return _read_error(response, what, where)

        return _common.request(self.session, method, self.api + path, what, self.options, expect=expect,
                               read_error=read_error, secrets=[self._token or ""],
                               headers={**self._headers(), **(headers or {})}, **kwargs)

    def _json(self, method: str, path: str, what: str, expect: tuple[int, ...], where: str, **kwargs: Any) -> Any:
        return _common.json_body(self._call(method, path, what, expect, where, **kwargs), what)


def _sql(value: str) -> str:
    """A value for a single-quoted TicketSQL string."""
    return value.replace("\\", "\\\\").replace("'", "\\'")


def _decode(content: str) -> str:
    """An attachment's Content: REST2 sends it base64-encoded."""
    try:
        return base64.b64decode(content, validate=False).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return content


def _read_error(response: requests.Response, what: str, where: str) -> DeliveryError | None:
    """REST2's ``{"message": ...}`` turned into the outbox's errors."""
    data = _common.json_error(response)
    detail = ""
    if isinstance(data, Mapping):
        detail = str(data.get("message") or "")[:200]
    elif isinstance(data, list) and data:
        detail = "; ".join(str(m) for m in data)[:200]
    detail = detail or _common.short_detail(response)
    tail = f": {detail}" if detail else ""
    status = response.status_code
    if status == 401:
        return ConfigurationError(f"Request Tracker refused the credentials while {what}{tail}", "helpdesk.token")
    if status == 403:
        return ConfigurationError(f"the Request Tracker account may not do this ({what}){tail}", "helpdesk.token")
    if where == "create" and status == 400 and "queue" in detail.lower():
        return ConfigurationError(f"Request Tracker has no such queue{tail}", "helpdesk.queue")
    if where == "find" and status == 400:
        if "queue" in detail.lower():
            return ConfigurationError(f"Request Tracker refused the search{tail}", "helpdesk.queue")
        return ConfigurationError(
            f"Request Tracker cannot search for the submission{tail}. Without RT's full-text search, name a "
            "ticket custom field for the submission id", "rt.submission_field")
    if where == "ticket" and status == 404:
        return PermanentError(f"the ticket is no longer in Request Tracker ({what}){tail}")
    if status in (400, 409, 422):
        return PermanentError(f"Request Tracker refused the request while {what}{tail}")
    return classify_http(status, what, response.headers, detail)


def from_settings(settings: Any) -> RtConnector:
    s = _common.setting
    max_mb = float(s(settings, "helpdesk.max_upload_mb", 0.0) or 0.0)
    return RtConnector(RtConfig(
        http=_common.http_options(settings),
        queue=str(s(settings, "helpdesk.queue", "")).strip(),
        token_ref=str(s(settings, "helpdesk.token", "")),
        username=str(s(settings, "helpdesk.username", "")),
        submission_field=str(s(settings, "rt.submission_field", "")).strip(),
        max_file_bytes=int(max_mb * 1024 * 1024) if max_mb > 0 else DEFAULT_MAX_FILE_BYTES,
        allowed_extensions=tuple(s(settings, "helpdesk.attachment_extensions", ())),
    ))
