"""Jira Service Management (the ``servicedeskapi`` REST API;
https://developer.atlassian.com/cloud/jira/service-desk/rest/api-group-request/).

* create: ``POST /rest/servicedeskapi/request`` with ``serviceDeskId`` (``helpdesk.queue``: the service
  desk's id or its project key), ``requestTypeId`` (``jira.request_type``) and the summary and description
  (the words, the summary and the submission marker);
* attach: ``POST /rest/servicedeskapi/servicedesk/{id}/attachTemporaryFile`` (multipart, with
  ``X-Atlassian-Token: no-check``), then ``POST /rest/servicedeskapi/request/{key}/attachment`` with the
  temporary ids, public, and a comment carrying a reference line; the request's comments are read first, so
  a retry never attaches the same files twice;
* comment: ``POST /rest/servicedeskapi/request/{key}/comment`` (public), with a reference line;
* rate: ``POST /rest/servicedeskapi/request/{key}/feedback`` (CSAT 1-5 and a remark), Jira's own place for
  it; where Jira refuses feedback (not resolved yet, feedback off) the rating becomes a comment;
* status: ``GET /rest/servicedeskapi/request/{key}`` (its ``currentStatus`` and status category: one
  request, where ``/status`` would page through the whole history) and the public comments by others than
  the reporter as replies;
* find: the API's ``searchTerm`` matches only the summary, so the user's most recently active requests
  (``requestOwnership=OWNED_REQUESTS`` in this service desk and request type, newest activity first) are
  read and their description checked for the marker; at most :data:`FIND_PAGES` pages.

Authentication: ``helpdesk.username`` (the account's e-mail) with an API token in ``helpdesk.token`` (basic
authentication, Jira Cloud), or a personal access token alone (``Bearer``, Jira Data Center).
"""

from __future__ import annotations

import logging
import urllib.parse
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

#: Jira's stock attachment size limit (Data Center: 10 MB; Cloud sites can allow more).
DEFAULT_MAX_FILE_BYTES = 10 * 1024 * 1024
FIND_PAGES = 2
PAGE = 50
API = "/rest/servicedeskapi"


@dataclass(frozen=True)
class JiraConfig:
    http: HttpOptions
    service_desk: str  # helpdesk.queue: service desk id or project key
    request_type: str  # jira.request_type: request type id
    token_ref: str = ""
    username: str = ""  # the account's e-mail (Cloud: basic auth with an API token); empty: Bearer token
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    allowed_extensions: tuple[str, ...] = ()


class JiraConnector(Connector):
    def __init__(self, config: JiraConfig) -> None:
        if not config.service_desk:
            raise ConfigurationError("Jira Service Management needs the service desk: set helpdesk.queue "
                                     "(its id or project key)", "helpdesk.queue")
        if not config.request_type:
            raise ConfigurationError("Jira Service Management needs the request type's id: set jira.request_type",
                                     "jira.request_type")
        self.config = config
        self.options = config.http
        self.base = config.http.base_url.rstrip("/")
        self.session = make_session(config.http, {"Accept": "application/json"})
        self.info = ConnectorInfo(name="jira", max_attachment_bytes=config.max_file_bytes,
                                  max_total_bytes=config.max_file_bytes, allowed_extensions=config.allowed_extensions,
                                  has_rating=True)
        self._token: str | None = None

    # -- the interface --------------------------------------------------------------------------------

    def create(self, submission: Submission) -> TicketRef:
        payload = {
            "serviceDeskId": self.config.service_desk,
            "requestTypeId": self.config.request_type,
            "requestFieldValues": {"summary": _summary(submission.title), "description": submission.body()},
        }
        data = self._json("POST", f"{API}/request", "creating the request", expect=(201, 200), where="create",
                          json=payload)
        key = data.get("issueKey") if isinstance(data, Mapping) else None
        if not key:
            raise TransientError("Jira's answer to the new request has no issueKey")
        return self._ref(data)

    def attach(self, ticket: TicketRef, files: Sequence[AttachmentFile]) -> None:
        if not files:
            return
        _common.check_types(files, self.info.allowed_extensions, "Jira")
        _common.check_sizes(files, self.info.max_attachment_bytes, "Jira")
        key = self._key(ticket)
        comments = self._comment_bodies(key)
        for n, group in enumerate(_common.batches(files, self.info.max_total_bytes), 1):
            line = _common.reference_line(_common.content_digest("files", key, group))
            if any(line in body for body in comments):
                log.info("Jira request %s already has files part %d; not attaching them again", key, n)
                continue
            desk = urllib.parse.quote(self.config.service_desk, safe="")
            uploaded = self._json(
                "POST", f"{API}/servicedesk/{desk}/attachTemporaryFile", "uploading the files", expect=(201, 200),
                where="upload", headers={"X-Atlassian-Token": "no-check", "X-ExperimentalApi": "opt-in"},
                files=[("file", (f.name, f.data, f.media_type or "application/octet-stream")) for f in group])
            temporary = uploaded.get("temporaryAttachments") if isinstance(uploaded, Mapping) else None
            ids = [str(t["temporaryAttachmentId"]) for t in temporary or [] if isinstance(t, Mapping)
                   and t.get("temporaryAttachmentId")]
            if len(ids) != len(group):
                raise TransientError(f"Jira kept {len(ids)} of {len(group)} uploaded files; will try again")
            text = "Files from Deskline: " + ", ".join(f.name for f in group)
            self._json("POST", f"{API}/request/{key}/attachment", "attaching the files", expect=(201, 200),
                       where="request", json={"temporaryAttachmentIds": ids, "public": True,
                                              "additionalComment": {"body": f"{text}\n\n{line}"}})

    def comment(self, ticket: TicketRef, text: str, files: Sequence[AttachmentFile] = ()) -> None:
        key = self._key(ticket)
        line = _common.reference_line(_common.content_digest("comment", text, files))
        if any(line in body for body in self._comment_bodies(key)):
            log.info("Jira request %s already has this comment; not adding it again", key)
        else:
            self._json("POST", f"{API}/request/{key}/comment", "adding the comment", expect=(201, 200),
                       where="request", json={"body": f"{text}\n\n{line}", "public": True})
        if files:
            self.attach(ticket, files)

    def rate(self, ticket: TicketRef, score: int, remark: str = "") -> None:
        if not 1 <= score <= 5:
            raise PermanentError(f"a rating is 1 to 5, not {score}")
        key = self._key(ticket)
        payload: dict[str, Any] = {"type": "csat", "rating": score}
        if remark.strip():
            payload["comment"] = {"body": remark}
        try:
            self._call("POST", f"{API}/request/{key}/feedback", "recording the rating", expect=(201, 200, 204),
                       where="request", json=payload)
        except ConfigurationError:
            raise
        except PermanentError as exc:  # not resolved yet, or feedback is off: a comment instead
            log.info("Jira took no feedback on %s (%s); the rating goes in as a comment", key, exc)
            super().rate(ticket, score, remark)

    def status(self, ticket: TicketRef, etag: str = "") -> TicketStatus | None:
        key = self._key(ticket)
        data = self._json("GET", f"{API}/request/{key}", "reading the request's status", expect=(200,),
                          where="request")
        if not isinstance(data, Mapping):
            raise TransientError("Jira's request answer is not a JSON object")
        current = data.get("currentStatus") or {}
        label = str(current.get("status") or "")
        when = current.get("statusDate") or {}
        reporter = (data.get("reporter") or {}).get("accountId")
        comments = self._comments(key)
        replies = tuple(
            Reply(str(c.get("id", "")), str((c.get("author") or {}).get("displayName", "")),
                  str((c.get("created") or {}).get("iso8601", "")), str(c.get("body", "")))
            for c in comments if c.get("public", True) and (c.get("author") or {}).get("accountId") != reporter
        )
        validator = f"{when.get('epochMillis', '')}:{len(comments)}:{comments[-1].get('id', '') if comments else ''}"
        if etag and etag == validator:
            return None
        return TicketStatus(ticket=ticket, state=_state(str(current.get("statusCategory") or ""), label),
                            label=label, updated=str(when.get("iso8601", "")), replies=replies, etag=validator)

    def find(self, submission_id: str) -> TicketRef | None:
        marker = submission_marker(submission_id)
        for page in range(FIND_PAGES):
            params = {"requestOwnership": "OWNED_REQUESTS", "serviceDeskId": self.config.service_desk,
                      "requestTypeId": self.config.request_type, "start": str(page * PAGE), "limit": str(PAGE)}
            data = self._json("GET", f"{API}/request", "looking for an earlier request", expect=(200,),
                              where="find", params=params)
            values = data.get("values") if isinstance(data, Mapping) else None
            for request in values or []:
                fields = request.get("requestFieldValues") if isinstance(request, Mapping) else None
                if any(marker in str(f.get("value", "")) for f in fields or [] if isinstance(f, Mapping)):
                    return self._ref(request)
            if not isinstance(data, Mapping) or data.get("isLastPage", True):
                break
        return None

    def close(self) -> None:
        self.session.close()

    # -- helpers --------------------------------------------------------------------------------------

    def _ref(self, data: Mapping[str, Any]) -> TicketRef:
        key = str(data.get("issueKey"))
        url = str((data.get("_links") or {}).get("web") or f"{self.base}/browse/{key}")
        return TicketRef("jira", key, url)

    @staticmethod
    def _key(ticket: TicketRef) -> str:
        key = ticket.ticket_id
        if not key or not all(c.isalnum() or c in "-_" for c in key):
            raise PermanentError(f"{key!r} is not a Jira request key")
        return key

    def _comments(self, key: str) -> list[Mapping[str, Any]]:
        data = self._json("GET", f"{API}/request/{key}/comment", "reading the request's comments", expect=(200,),
                          where="request", params={"public": "true", "internal": "false", "start": "0",
                                                   "limit": "100"})
        values = data.get("values") if isinstance(data, Mapping) else None
        return [c for c in values or [] if isinstance(c, Mapping)]

    def _comment_bodies(self, key: str) -> list[str]:
        return [str(c.get("body", "")) for c in self._comments(key)]

    def _headers(self) -> dict[str, str]:
        if self._token is None:
            self._token = _common.required_token(self.config.token_ref, "Jira needs an API token")
        return _common.authorization(self.config.username, self._token, "Bearer ")

    def _call(self, method: str, path: str, what: str, expect: tuple[int, ...], where: str,
              headers: Mapping[str, str] | None = None, **kwargs: Any) -> requests.Response:
        def read_error(response: requests.Response, what: str) -> DeliveryError | None:
            return _read_error(response, what, where)

        return _common.request(self.session, method, self.base + path, what, self.options, expect=expect,
                               read_error=read_error, secrets=[self._token or ""],
                               headers={**self._headers(), **(headers or {})}, **kwargs)

    def _json(self, method: str, path: str, what: str, expect: tuple[int, ...], where: str, **kwargs: Any) -> Any:
        return _common.json_body(self._call(method, path, what, expect, where, **kwargs), what)


def _summary(title: str) -> str:
    """Jira's summary: one line of at most 255 characters."""
    line = " ".join(title.split()) or "Deskline report"
    return line if len(line) <= 255 else line[:252] + "..."


def _state(category: str, label: str) -> str:
    lowered = label.lower()
    if category == "NEW":
        return "new"
    if category == "DONE":
        return "closed" if lowered in ("closed", "canceled", "cancelled", "declined", "done") else "resolved"
    if "waiting for customer" in lowered or "pending" in lowered:
        return "pending"
    return "open"


def _read_error(response: requests.Response, what: str, where: str) -> DeliveryError | None:
    """Jira's ``{"errorMessage", "i18nErrorMessage"}`` (and the platform's ``{"errorMessages": [...]}``)."""
    data = _common.json_error(response)
    detail = ""
    if isinstance(data, Mapping):
        messages = data.get("errorMessages")
        detail = str(data.get("errorMessage") or (messages[0] if isinstance(messages, list) and messages else "")
                     or data.get("message") or "")[:200]
    detail = detail or _common.short_detail(response)
    tail = f": {detail}" if detail else ""
    status = response.status_code
    lowered = detail.lower()
    if status == 401:
        return ConfigurationError(f"Jira refused the credentials while {what}{tail}", "helpdesk.token")
    if status == 403:
        return ConfigurationError(f"the Jira account may not do this ({what}){tail}", "helpdesk.token")
    if where in ("create", "upload", "find") and status in (400, 404) and "request type" in lowered:
        return ConfigurationError(f"Jira has no such request type in this service desk{tail}", "jira.request_type")
    if where in ("create", "upload", "find") and status == 404:
        return ConfigurationError(f"Jira has no such service desk{tail}", "helpdesk.queue")
    if where == "request" and status == 404:
        return PermanentError(f"the request is no longer in Jira ({what}){tail}")
    if status in (400, 409, 422):
        return PermanentError(f"Jira refused the request while {what}{tail}")
    return classify_http(status, what, response.headers, detail)


def from_settings(settings: Any) -> JiraConnector:
    s = _common.setting
    max_mb = float(s(settings, "helpdesk.max_upload_mb", 0.0) or 0.0)
    return JiraConnector(JiraConfig(
        http=_common.http_options(settings),
        service_desk=str(s(settings, "helpdesk.queue", "")).strip(),
        request_type=str(s(settings, "jira.request_type", "")).strip(),
        token_ref=str(s(settings, "helpdesk.token", "")),
        username=str(s(settings, "helpdesk.username", "")),
        max_file_bytes=int(max_mb * 1024 * 1024) if max_mb > 0 else DEFAULT_MAX_FILE_BYTES,
        allowed_extensions=tuple(s(settings, "helpdesk.attachment_extensions", ())),
    ))
