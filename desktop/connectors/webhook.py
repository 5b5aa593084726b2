"""A generic JSON webhook: reports POSTed to an organisation's own endpoint, signed with a shared secret.

The payload, headers, signature and answers are documented in ``docs/webhook.md`` (version 1). In short:
every request is a JSON POST to ``helpdesk.url`` with an ``X-Deskline-Event`` (create, attach, comment,
rate), an ``Idempotency-Key`` (the submission id for ``create``; a digest of the content otherwise) and an
``X-Deskline-Signature: sha256=HMAC(secret, timestamp + "." + body)`` with ``X-Deskline-Timestamp``. The
receiver answers ``create`` with ``{"ticket_id": ..., "url": ...}``. Files travel base64-encoded inside the
JSON, in requests of at most ``webhook.max_request_bytes``.

Never a duplicate: the receiver must answer a repeated Idempotency-Key with the ticket it made the first
time. ``webhook.find_url`` (optional) lets Deskline also ask for a submission's ticket; ``webhook.status_url``
(optional) gives the ticket's status.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import logging
import time
import urllib.parse
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import requests

from desktop.connectors import _common
from desktop.connectors.base import (
    STATES,
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

VERSION = 1
#: A bundle's report.json larger than this is not copied into the JSON (the bundle still goes as a file).
MAX_EMBEDDED_REPORT = 8 * 1024 * 1024


@dataclass(frozen=True)
class WebhookConfig:
    """``options.base_url`` is the endpoint every event is POSTed to."""

    options: HttpOptions
    secret_ref: str = ""  # credential reference of the shared HMAC secret
    status_url: str = ""  # template with {ticket_id}; empty: no status
    find_url: str = ""  # template with {submission_id}; empty: rely on Idempotency-Key alone
    max_request_bytes: int = 20 * 1024 * 1024


def sign(secret: str, timestamp: str, content: bytes) -> str:
    """The signature header's value: ``sha256=`` and the hex HMAC-SHA256 of ``timestamp.content``."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + content, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def file_json(f: AttachmentFile) -> dict[str, Any]:
    return {
        "name": f.name,
        "media_type": f.media_type or "application/octet-stream",
        "size": f.size,
        "sha256": hashlib.sha256(f.data).hexdigest(),
        "content_base64": base64.b64encode(f.data).decode("ascii"),
    }


def report_from_bundle(files: Sequence[AttachmentFile]) -> dict[str, Any] | None:
    """The report document inside a Deskline bundle among ``files`` (a zip whose manifest says
    ``deskline-bundle``), or None."""
    for f in files:
        if not f.data.startswith(b"PK"):
            continue
        try:
            with zipfile.ZipFile(io.BytesIO(f.data)) as zf:
                manifest = json.loads(zf.read("manifest.json"))
                if not isinstance(manifest, dict) or manifest.get("format") != "deskline-bundle":
                    continue
                info = zf.getinfo("report.json")
                if info.file_size > MAX_EMBEDDED_REPORT:
                    continue
                document = json.loads(zf.read(info))
        except (zipfile.BadZipFile, KeyError, ValueError, OSError):
            continue
        if isinstance(document, dict):
            return document
    return None


class WebhookConnector(Connector):
    """Events as signed JSON POSTs to one endpoint (see ``docs/webhook.md``)."""

    def __init__(self, config: WebhookConfig) -> None:
        self.config = config
        self.options = config.options
        self.session = make_session(config.options, {"Accept": "application/json"})
        # base64 is 4/3 of the bytes; leave room for the JSON around the files
        per_request = int(max(0, config.max_request_bytes - 64 * 1024) * 3 / 4)
        self.info = ConnectorInfo(
            name="webhook",
            max_attachment_bytes=per_request,
            max_total_bytes=per_request,
            has_rating=True,
            extra={"status": "supported" if config.status_url else "unsupported",
                   "find": "supported" if config.find_url else "idempotency-key"},
        )
        self._secret: str | None = None

    # -- the interface --------------------------------------------------------------------------------

    def create(self, submission: Submission) -> TicketRef:
        report = getattr(submission, "report", None)  # a report document, where the submission carries one
        payload = {
            "version": VERSION,
            "event": "create",
            "submission_id": submission.submission_id,
            "incident": submission.incident,
            "title": submission.title,
            "description": submission.description,
            "priority": submission.priority,
            "category": submission.category,
            "reporter": {"name": submission.reporter_name, "email": submission.reporter_email},
            "summary": submission.summary,
            "body": submission.body(),
            "findings": _findings(report),
            "report": report if isinstance(report, Mapping) else None,
            "attachments": [],
        }
        response = self._post(payload, "create", submission.submission_id, "creating the ticket")
        data = _common.json_body(response, "creating the ticket")
        return self._ref(data, submission.submission_id)

    def attach(self, ticket: TicketRef, files: Sequence[AttachmentFile]) -> None:
        if not files:
            return
        _common.check_sizes(files, self.info.max_attachment_bytes, "the webhook")
        report = report_from_bundle(files)
        groups = _common.batches(files, self.info.max_total_bytes)
        for n, group in enumerate(groups, 1):
            payload = {
                "version": VERSION,
                "event": "attach",
                "ticket_id": ticket.ticket_id,
                "part": n,
                "parts": len(groups),
                "attachments": [file_json(f) for f in group],
                "report": report if n == 1 else None,
                "findings": _findings(report) if n == 1 else [],
            }
            self._post(payload, "attach", _key("attach", ticket, group), "adding the files")

    def comment(self, ticket: TicketRef, text: str, files: Sequence[AttachmentFile] = ()) -> None:
        _common.check_sizes(files, self.info.max_attachment_bytes, "the webhook")
        payload = {"version": VERSION, "event": "comment", "ticket_id": ticket.ticket_id, "text": text,
                   "attachments": [file_json(f) for f in files]}
        self._post(payload, "comment", _key("comment", ticket, files, text), "adding the comment")

    def rate(self, ticket: TicketRef, score: int, remark: str = "") -> None:
        if not 1 <= score <= 5:
            raise PermanentError(f"a rating is 1 to 5, not {score}")
        payload = {"version": VERSION, "event": "rate", "ticket_id": ticket.ticket_id, "score": score,
                   "remark": remark}
        self._post(payload, "rate", _key("rate", ticket, (), f"{score}\0{remark}"), "recording the rating")

    def status(self, ticket: TicketRef, etag: str = "") -> TicketStatus | None:
        if not self.config.status_url:
            return None
        url = self.config.status_url.format(ticket_id=urllib.parse.quote(ticket.ticket_id, safe=""))
        headers = {"If-None-Match": etag} if etag else {}
        response = self._get(url, "reading the ticket's status", headers, expect=(200, 304))
        if response.status_code == 304:
            return None
        data = _common.json_body(response, "reading the ticket's status")
        if not isinstance(data, Mapping):
            raise TransientError("the webhook's status answer is not a JSON object")
        state = str(data.get("state", ""))
        replies = tuple(
            Reply(str(r.get("id", "")), str(r.get("author", "")), str(r.get("created", "")), str(r.get("text", "")))
            for r in data.get("replies", []) if isinstance(r, Mapping)
        )
        return TicketStatus(
            ticket=ticket,
            state=state if state in STATES else "open",
            label=str(data.get("label") or state),
            updated=str(data.get("updated", "")),
            replies=replies,
            etag=response.headers.get("ETag", ""),
        )

    def find(self, submission_id: str) -> TicketRef | None:
        if not self.config.find_url:
            return None
        url = self.config.find_url.format(submission_id=urllib.parse.quote(submission_id, safe=""))
        response = self._get(url, "looking for an earlier ticket", {}, expect=(200, 404))
        if response.status_code == 404:
            return None
        return self._ref(_common.json_body(response, "looking for an earlier ticket"), submission_id)

    def close(self) -> None:
        self.session.close()

    # -- HTTP -----------------------------------------------------------------------------------------

    def _secret_value(self) -> str:
        if self._secret is None:
            self._secret = _common.secret(self.config.secret_ref, "webhook.secret")
            if not self._secret:
                raise ConfigurationError("the webhook needs a shared secret to sign its requests", "webhook.secret")
        return self._secret

    def _headers(self, content: bytes) -> dict[str, str]:
        timestamp = str(int(time.time()))
        return {"X-Deskline-Timestamp": timestamp,
                "X-Deskline-Signature": sign(self._secret_value(), timestamp, content)}

    def _post(self, payload: Mapping[str, Any], event: str, key: str, what: str) -> requests.Response:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        if len(body) > self.config.max_request_bytes:
            raise PermanentError(
                f"the request is {_common.human_size(len(body))}, more than webhook.max_request_bytes allows; "
                "it was not sent")
        headers = {"Content-Type": "application/json; charset=utf-8", "X-Deskline-Event": event,
                   "X-Deskline-Version": str(VERSION), "Idempotency-Key": key, **self._headers(body)}
        return _common.request(self.session, "POST", self.options.base_url, what, self.options,
                               expect=(200, 201, 202, 204), read_error=_read_error,
                               secrets=[self._secret_value()], data=body, headers=headers)

    def _get(self, url: str, what: str, headers: Mapping[str, str], expect: tuple[int, ...]) -> requests.Response:
        target = urllib.parse.urlsplit(url)
        path = (target.path or "/") + (f"?{target.query}" if target.query else "")
        return _common.request(self.session, "GET", url, what, self.options, expect=expect,
                               read_error=_read_error, secrets=[self._secret_value()],
                               headers={**headers, **self._headers(path.encode("utf-8"))})

    @staticmethod
    def _ref(data: Any, submission_id: str) -> TicketRef:
        if not isinstance(data, Mapping):
            raise TransientError("the webhook's answer is not a JSON object")
        ticket_id = str(data.get("ticket_id") or submission_id)
        return TicketRef("webhook", ticket_id, str(data.get("url") or ""))


def _findings(report: Any) -> list[Any]:
    if isinstance(report, Mapping) and isinstance(report.get("findings"), list):
        return list(report["findings"])
    return []


def _key(event: str, ticket: TicketRef, files: Sequence[AttachmentFile], text: str = "") -> str:
    """A stable Idempotency-Key for an event on a ticket: the same content gives the same key."""
    digest = hashlib.sha256(f"{event}\0{ticket.ticket_id}\0{text}".encode())
    for f in files:
        digest.update(b"\0" + f.name.encode("utf-8") + b"\0" + hashlib.sha256(f.data).digest())
    return f"{event}-{digest.hexdigest()[:40]}"


def _read_error(response: requests.Response, what: str) -> DeliveryError | None:
    """The receiver's ``{"error": ...}``; 401/403 point at the shared secret, not at a token."""
    data = _common.json_error(response)
    detail = str(data.get("error", ""))[:200] if isinstance(data, Mapping) else _common.short_detail(response)
    tail = f": {detail}" if detail else ""
    if response.status_code in (401, 403):
        return ConfigurationError(
            f"the webhook refused the signature or the sender while {what} ({response.status_code}){tail}",
            "webhook.secret")
    return classify_http(response.status_code, what, response.headers, detail)


def from_settings(settings: Any) -> WebhookConnector:
    """The connector for ``helpdesk.url`` and the ``[webhook]`` settings."""
    s = _common.setting
    return WebhookConnector(WebhookConfig(
        options=_common.http_options(settings),
        secret_ref=str(s(settings, "webhook.secret", "")),
        status_url=str(s(settings, "webhook.status_url", "")),
        find_url=str(s(settings, "webhook.find_url", "")),
        max_request_bytes=int(s(settings, "webhook.max_request_bytes", 20 * 1024 * 1024)),
    ))
