"""GLPI (the legacy REST API, ``apirest.php``; https://github.com/glpi-project/glpi/blob/main/apirest.md).

* session: ``GET initSession`` with ``Authorization: user_token <token>`` (``helpdesk.token``, the user's
  "API token" / remote access key) and ``App-Token`` (``glpi.app_token``, when the API client asks for one)
  gives a ``Session-Token`` for every later call; an expired session is opened again once; ``killSession``
  on :meth:`GlpiConnector.close`;
* create: ``POST Ticket`` with ``{"input": {name, content, urgency, type, itilcategories_id}}``; the content
  is HTML (GLPI's rich text) and ends with the submission marker; ``helpdesk.queue`` is the ITIL category's
  number (checked once with ``GET ITILCategory/<id>``: unknown, and the setting is named);
* attach: one ``POST Document`` per file, ``multipart/form-data`` with an ``uploadManifest`` naming the
  ticket (``itemtype``/``items_id``), which links the document to it; the document's name carries a digest,
  looked up first, so a retried upload is not stored twice;
* comment: ``POST ITILFollowup`` (public), with a reference line checked on the ticket's follow-ups first;
* status: ``GET Ticket/<id>`` (status 1-6, ``date_mod`` as validator) and its public follow-ups from others
  than the ticket's creator as replies;
* find: ``GET search/Ticket`` with the description (search option 21) containing the submission id;
* rate: GLPI's satisfaction survey is answered in its own interface only: a comment.

Errors are GLPI's ``["ERROR_CODE", "message"]`` arrays.
"""

from __future__ import annotations

import html
import json
import logging
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
)
from desktop.connectors.http import HttpOptions, make_session

log = logging.getLogger("deskline.connectors")

#: GLPI's stock "document_max_size" is 2 MiB (Setup > General > Assistance) and PHP's upload_max_filesize
#: is often 2 MiB too; administrators raise both: set helpdesk.max_upload_mb to match.
DEFAULT_MAX_FILE_BYTES = 2 * 1024 * 1024
URGENCY = {"low": 2, "normal": 3, "high": 4, "urgent": 5}
#: CommonITILObject's statuses.
STATUS = {1: ("new", "New"), 2: ("open", "Processing (assigned)"), 3: ("open", "Processing (planned)"),
          4: ("pending", "Pending"), 5: ("resolved", "Solved"), 6: ("closed", "Closed")}
TICKET_TYPE_INCIDENT = 1
SEARCH_DESCRIPTION = 21  # Ticket search option: content ("Description")
SEARCH_ID = 2
SEARCH_NAME = 1


@dataclass(frozen=True)
class GlpiConfig:
    http: HttpOptions  # base_url: GLPI's root or its apirest.php
    token_ref: str = ""  # helpdesk.token: the user's API token (user_token)
    app_token_ref: str = ""  # glpi.app_token: the API client's App-Token, if it has one
    category: str = ""  # helpdesk.queue: ITIL category id; empty: none
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    allowed_extensions: tuple[str, ...] = ()


class GlpiConnector(Connector):
    def __init__(self, config: GlpiConfig) -> None:
        if config.category and not config.category.isdigit():
            raise ConfigurationError(
                f"for GLPI, helpdesk.queue is an ITIL category's number, not {config.category!r}", "helpdesk.queue")
        self.config = config
        self.options = config.http
        root = config.http.base_url.rstrip("/")
        self.root = root[: -len("/apirest.php")] if root.endswith("/apirest.php") else root
        self.api = self.root + "/apirest.php"
        self.session = make_session(config.http, {"Accept": "application/json"})
        self.info = ConnectorInfo(name="glpi", max_attachment_bytes=config.max_file_bytes,
                                  max_total_bytes=config.max_file_bytes, allowed_extensions=config.allowed_extensions,
                                  has_rating=False)
        self._session_token = ""
        self._secrets: list[str] = []
        self._category_checked = False

    # -- the interface --------------------------------------------------------------------------------

    def create(self, submission: Submission) -> TicketRef:
        self._check_category()
        ticket: dict[str, Any] = {
            "name": submission.title.strip() or "Deskline report",
            "content": _html(submission.body()),
            "urgency": URGENCY.get(submission.priority, 3),
            "type": TICKET_TYPE_INCIDENT,
        }
        if self.config.category:
            ticket["itilcategories_id"] = int(self.config.category)
        data = self._json("POST", "Ticket", "creating the ticket", expect=(201, 200), json={"input": ticket})
        ticket_id = data.get("id") if isinstance(data, Mapping) else None
        if not ticket_id:
            raise TransientError(f"GLPI's answer to the new ticket has no id: {str(data)[:120]}")
        return self._ref(ticket_id)

    def attach(self, ticket: TicketRef, files: Sequence[AttachmentFile]) -> None:
        _common.check_types(files, self.info.allowed_extensions, "GLPI")
        _common.check_sizes(files, self.info.max_attachment_bytes, "GLPI")
        ticket_id = self._id(ticket)
        for f in files:
            digest = _common.content_digest("file", ticket_id, [f])
            name = f"{f.name} [Deskline ref {digest}]"
            if self._document_exists(digest):
                log.info("GLPI already has %s for ticket %s; not uploading it again", f.name, ticket_id)
                continue
            manifest = {"input": {"name": name, "_filename": [f.name], "itemtype": "Ticket",
                                  "items_id": int(ticket_id)}}
            self._json("POST", "Document", f"uploading {f.name}", expect=(201, 200),
                       files=[("uploadManifest", (None, json.dumps(manifest), "application/json")),
                              ("filename[0]", (f.name, f.data, f.media_type or "application/octet-stream"))])

    def comment(self, ticket: TicketRef, text: str, files: Sequence[AttachmentFile] = ()) -> None:
        _common.check_types(files, self.info.allowed_extensions, "GLPI")
        _common.check_sizes(files, self.info.max_attachment_bytes, "GLPI")
        ticket_id = self._id(ticket)
        line = _common.reference_line(_common.content_digest("comment", text, files))
        if any(line in html.unescape(str(f.get("content", ""))) for f in self._followups(ticket_id)):
            log.info("GLPI ticket %s already has this comment; not adding it again", ticket_id)
        else:
            followup = {"itemtype": "Ticket", "items_id": int(ticket_id), "content": _html(f"{text}\n\n{line}"),
                        "is_private": 0}
            self._json("POST", "ITILFollowup", "adding the comment", expect=(201, 200), json={"input": followup})
        if files:
            self.attach(ticket, files)

    def status(self, ticket: TicketRef, etag: str = "") -> TicketStatus | None:
        ticket_id = self._id(ticket)
        data = self._json("GET", f"Ticket/{ticket_id}", "reading the ticket's status", expect=(200,),
                          missing_ticket=True)
        if not isinstance(data, Mapping):
            raise TransientError("GLPI's ticket answer is not a JSON object")
        updated = str(data.get("date_mod") or "")
        if etag and updated and etag == updated:
            return None
        code = data.get("status")
        state, label = STATUS.get(code if isinstance(code, int) else -1, ("open", f"status {code}"))
        creator = data.get("users_id_recipient")
        replies = tuple(
            Reply(str(f.get("id", "")), f"user {f.get('users_id')}", str(f.get("date_creation") or f.get("date") or ""),
                  _common.html_to_text(html.unescape(str(f.get("content") or ""))))
            for f in self._followups(ticket_id)
            if not f.get("is_private") and f.get("users_id") != creator
        )
        return TicketStatus(ticket=ticket, state=state, label=label, updated=updated, replies=replies, etag=updated)

    def find(self, submission_id: str) -> TicketRef | None:
        params = {
            "criteria[0][field]": str(SEARCH_DESCRIPTION),
            "criteria[0][searchtype]": "contains",
            "criteria[0][value]": submission_id,
            "forcedisplay[0]": str(SEARCH_ID),
            "range": "0-9",
        }
        data = self._json("GET", "search/Ticket", "looking for an earlier ticket", expect=(200, 206), params=params)
        for ticket_id in _search_ids(data):
            return self._ref(ticket_id)
        return None

    def close(self) -> None:
        if self._session_token:
            try:
                self._call("GET", "killSession", "closing the GLPI session", expect=(200, 204), retry=False)
            except DeliveryError as exc:
                log.info("GLPI session not closed: %s", exc)
            self._session_token = ""
        self.session.close()

    # -- helpers --------------------------------------------------------------------------------------

    def _ref(self, ticket_id: Any) -> TicketRef:
        return TicketRef("glpi", str(ticket_id), f"{self.root}/front/ticket.form.php?id={ticket_id}")

    @staticmethod
    def _id(ticket: TicketRef) -> str:
        if not ticket.ticket_id.isdigit():
            raise PermanentError(f"{ticket.ticket_id!r} is not a GLPI ticket id")
        return ticket.ticket_id

    def _check_category(self) -> None:
        if not self.config.category or self._category_checked:
            return
        self._json("GET", f"ITILCategory/{self.config.category}", "checking the ticket category", expect=(200,),
                   missing_setting="helpdesk.queue")
        self._category_checked = True

    def _followups(self, ticket_id: str) -> list[Mapping[str, Any]]:
        data = self._json("GET", f"Ticket/{ticket_id}/ITILFollowup", "reading the ticket's follow-ups",
                          expect=(200, 206), missing_ticket=True, params={"range": "0-199"})
        return [f for f in data if isinstance(f, Mapping)] if isinstance(data, list) else []

    def _document_exists(self, digest: str) -> bool:
        params = {"criteria[0][field]": str(SEARCH_NAME), "criteria[0][searchtype]": "contains",
                  "criteria[0][value]": f"Deskline ref {digest}", "forcedisplay[0]": str(SEARCH_ID), "range": "0-0"}
        data = self._json("GET", "search/Document", "checking for an earlier upload", expect=(200, 206),
                          params=params)
        return bool(_search_ids(data))

    def _secret_values(self) -> tuple[str, str]:
        if not self._secrets:
            token = _common.secret(self.config.token_ref, "helpdesk.token")
            if not token:
                raise ConfigurationError("GLPI needs the user's API token: set helpdesk.token", "helpdesk.token")
            app = _common.secret(self.config.app_token_ref, "glpi.app_token") if self.config.app_token_ref else ""
            self._secrets = [token, app]
        return self._secrets[0], self._secrets[1]

    def _open_session(self) -> None:
        token, app = self._secret_values()
        headers = {"Authorization": f"user_token {token}", "Content-Type": "application/json"}
        if app:
            headers["App-Token"] = app
        response = _common.request(self.session, "GET", f"{self.api}/initSession", "logging in to GLPI",
                                   self.options, expect=(200,), read_error=_read_error,
                                   secrets=[token, app], headers=headers)
        data = _common.json_body(response, "logging in to GLPI")
        session_token = data.get("session_token") if isinstance(data, Mapping) else None
        if not session_token:
            raise TransientError("GLPI's login answer has no session_token")
        self._session_token = str(session_token)

    def _call(self, method: str, path: str, what: str, expect: tuple[int, ...], retry: bool = True,
              missing_ticket: bool = False, missing_setting: str = "", **kwargs: Any) -> requests.Response:
        if not self._session_token:
            self._open_session()
        token, app = self._secret_values()

        def read_error(response: requests.Response, what: str) -> DeliveryError | None:
            return _read_error(response, what, missing_ticket, missing_setting)

        for attempt in (1, 2):
            headers = {"Session-Token": self._session_token}
            if app:
                headers["App-Token"] = app
            if "files" not in kwargs:
                headers["Content-Type"] = "application/json"
            try:
                return _common.request(self.session, method, f"{self.api}/{path}", what, self.options,
                                       expect=expect, read_error=read_error,
                                       secrets=[token, app, self._session_token], headers=headers, **kwargs)
            except _SessionExpired:
                self._session_token = ""
                if not retry or attempt == 2:
                    raise TransientError(f"GLPI ended the session while {what}; will try again") from None
                log.info("GLPI session expired; opening a new one")
                self._open_session()
        raise AssertionError("unreachable")

    def _json(self, method: str, path: str, what: str, expect: tuple[int, ...], **kwargs: Any) -> Any:
        return _common.json_body(self._call(method, path, what, expect, **kwargs), what)


class _SessionExpired(TransientError):
    """Internal: GLPI said the Session-Token is no longer valid."""


def _search_ids(data: Any) -> list[str]:
    """Ticket ids from a search answer: ``data`` as a list of rows (column "2" is the id) or, with
    ``withindexes``, an object keyed by id. No ``data`` at all means no hits."""
    rows = data.get("data") if isinstance(data, Mapping) else None
    if isinstance(rows, Mapping):
        return [str(k) for k in rows]
    if isinstance(rows, list):
        return [str(r[str(SEARCH_ID)]) for r in rows if isinstance(r, Mapping) and r.get(str(SEARCH_ID)) is not None]
    return []


def _html(text: str) -> str:
    """GLPI's rich text: escaped paragraphs with line breaks."""
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    return "".join("<p>" + "<br>".join(html.escape(line) for line in p.splitlines()) + "</p>" for p in paragraphs)


def _read_error(response: requests.Response, what: str, missing_ticket: bool = False,
                missing_setting: str = "") -> DeliveryError | None:
    """GLPI's ``["ERROR_...", "message"]`` turned into the outbox's errors."""
    data = _common.json_error(response)
    code, message = "", ""
    if isinstance(data, list) and data:
        code = str(data[0])
        message = str(data[1]) if len(data) > 1 else ""
    message = message.split("; view documentation in your browser", 1)[0][:200]
    tail = f": {message}" if message else ""
    status = response.status_code
    if code == "ERROR_SESSION_TOKEN_INVALID":
        return _SessionExpired(f"GLPI's session is no longer valid{tail}")
    if code in ("ERROR_GLPI_LOGIN_USER_TOKEN", "ERROR_GLPI_LOGIN", "ERROR_LOGIN_PARAMETERS_MISSING"):
        return ConfigurationError(f"GLPI refused the API token{tail}", "helpdesk.token")
    if code in ("ERROR_WRONG_APP_TOKEN_PARAMETER", "ERROR_APP_TOKEN_PARAMETERS_MISSING"):
        return ConfigurationError(f"GLPI refused the application token{tail}", "glpi.app_token")
    if code == "ERROR_NOT_ALLOWED_IP":
        return ConfigurationError(
            f"GLPI does not accept API calls from this machine's address (Setup > General > API){tail}",
            "glpi.app_token")
    if code == "ERROR_RIGHT_MISSING":
        return ConfigurationError(f"the GLPI account's profile may not do this ({what}){tail}", "helpdesk.token")
    if code == "ERROR_ITEM_NOT_FOUND" or (status == 404 and code):
        if missing_setting:
            return ConfigurationError(f"GLPI has no such item while {what}{tail}", missing_setting)
        if missing_ticket:
            return PermanentError(f"the ticket is no longer in GLPI ({what}){tail}")
    if code in ("ERROR_ITEMTYPE_NOT_FOUND_NOR_COMMONDBTM", "ERROR_METHOD_NOT_ALLOWED"):
        return ConfigurationError(f"this address does not answer as GLPI's API while {what}{tail}", "helpdesk.url")
    if code in ("ERROR_GLPI_ADD", "ERROR_GLPI_PARTIAL_ADD", "ERROR_GLPI_UPDATE", "ERROR_BAD_ARRAY",
                "ERROR_JSON_PAYLOAD_INVALID", "ERROR_UPLOAD_FILE_TOO_BIG_POST_MAX_SIZE"):
        return PermanentError(f"GLPI refused the request while {what} ({code}){tail}")
    if code == "ERROR_SQL":
        return TransientError(f"GLPI had a database error while {what}{tail}; will try again")
    return classify_http(status, what, response.headers, f"{code} {message}".strip())


def from_settings(settings: Any) -> GlpiConnector:
    s = _common.setting
    max_mb = float(s(settings, "helpdesk.max_upload_mb", 0.0) or 0.0)
    return GlpiConnector(GlpiConfig(
        http=_common.http_options(settings),
        token_ref=str(s(settings, "helpdesk.token", "")),
        app_token_ref=str(s(settings, "glpi.app_token", "")),
        category=str(s(settings, "helpdesk.queue", "")).strip(),
        max_file_bytes=int(max_mb * 1024 * 1024) if max_mb > 0 else DEFAULT_MAX_FILE_BYTES,
        allowed_extensions=tuple(s(settings, "helpdesk.attachment_extensions", ())),
    ))
