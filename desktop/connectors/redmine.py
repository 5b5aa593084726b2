"""Redmine (REST API, checked against Redmine 5.0 from Debian): issues in one project.

How the interface maps onto Redmine:

* ``create``: ``POST /issues.json`` into the project named by ``helpdesk.queue`` (its identifier, or its
  numeric id), with the tracker named by ``helpdesk.tracker`` (empty: the project's first tracker, as
  Redmine chooses) and our priority mapped to one of the instance's priorities
  (``/enumerations/issue_priorities.json``, read once: by name in English or Russian, else by position
  around the instance's default priority). The description is :meth:`Submission.body`, sent verbatim:
  Redmine stores it as written, its API and its e-mails show it as written, and both of its formatters
  escape HTML; with Markdown/CommonMark formatting the summary renders as headings and lists, with
  Textile it reads as plain text.
* ``attach`` and ``comment``: each file goes to ``POST /uploads.json`` (raw bytes) and the tokens that
  come back are referenced by one ``PUT /issues/ID.json`` (with ``notes`` for a comment). ``attach``
  first reads the issue's attachments and skips files already there with the same name and size, so an
  attach retried after a lost answer adds nothing twice.
* ``status``: ``GET /issues/ID.json?include=journals`` with ``If-None-Match`` (Redmine answers 304 when
  nothing changed). The state comes from the status's ``is_closed`` flag and its name; the replies are
  the journals with notes that are not private and not written by this account (its own comments are
  not replies to it).
* ``find``: Redmine's search API, ``GET /search.json?q="Deskline submission <id>"&issues=1`` (all
  projects the account sees, open and closed issues; a phrase in quotes is one search token), then the
  description of each hit is checked for the exact marker. Redmine's issue list has no filter on the
  description, and the subject is the user's, so the marker lives in the description.
* ``rate``: Redmine has no place for a rating: a comment (the interface's default).

Redmine does not publish its attachment size limit (Administration > Settings > Files) nor its allowed
file types over the API; ``helpdesk.max_upload_mb`` (0: Redmine's default, 5 MB) and
``helpdesk.attachment_extensions`` (empty: any, Redmine's default) say them, files outside them are
refused before any byte is sent, and the server's own refusal (422, "exceeds the maximum allowed file
size", "extension ... is not allowed") is a permanent error too. The first call checks the address
and the API key with ``GET /users/current.json`` and the project with ``GET /projects/ID.json``, so a
wrong URL, key or project is reported as that setting.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import requests

from desktop.connectors._common import http_options, secret, setting
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
    submission_marker,
)
from desktop.connectors.http import HttpOptions, call, make_session

if TYPE_CHECKING:
    from desktop.config import Settings

log = logging.getLogger("deskline.connectors")

BACKEND = "redmine"
#: Redmine's own default for "Maximum attachment size" (5120 KB).
DEFAULT_MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024
SUBJECT_MAX = 255  # Redmine's column limit for subjects
_API_HINT = "check helpdesk.token, and that the REST API is enabled (Administration > Settings > API)"

#: Our priorities by the names Redmine's default data gives them (English and Russian).
_PRIORITY_NAMES = {
    "low": ("low", "низкий"),
    "normal": ("normal", "нормальный"),
    "high": ("high", "высокий"),
    "urgent": ("urgent", "срочный"),
}
#: Our states by the names of Redmine's default statuses (English and Russian); others are "open".
_STATE_NAMES = {
    "new": "new", "новая": "new", "новый": "new",
    "in progress": "open", "в работе": "open", "assigned": "open",
    "feedback": "pending", "обратная связь": "pending",
    "resolved": "resolved", "решена": "resolved", "решен": "resolved",
    "closed": "closed", "закрыта": "closed", "закрыт": "closed",
    "rejected": "closed", "отклонена": "closed", "отклонен": "closed",
}
_TOO_LARGE = ("exceeds the maximum allowed file size", "превышает максимально разрешённый размер",
              "превышает максимально разрешенный размер")


@dataclass(frozen=True)
class RedmineOptions:
    """What the connector needs: the HTTP options (``base_url`` is Redmine's root, without /issues)."""

    http: HttpOptions
    api_key: str
    project: str  # the project's identifier ("helpdesk") or its numeric id
    tracker: str = ""  # the tracker's name ("Support"); empty: the project's default
    max_attachment_bytes: int | None = DEFAULT_MAX_ATTACHMENT_BYTES  # None: do not check before sending
    allowed_extensions: tuple[str, ...] = ()  # "json", "log", ...; empty: any (Redmine's stock setting)


@dataclass(frozen=True)
class _Project:
    id: int
    identifier: str
    trackers: dict[str, int]  # lower-case name -> id


def sanitize_filename(name: str) -> str:
    """The name Redmine stores a file under (its ``Attachment#sanitize_filename``): the last path part,
    with ``/ ? % * : | " ' < >`` and line breaks replaced by ``_``."""
    base = re.sub(r"\A.*[\\/]", "", name, flags=re.S)
    return re.sub(r"[/?%*:|\"'<>\n\r]+", "_", base) or "attachment"


def map_state(name: str, is_closed: bool) -> str:
    """Our state for a Redmine status: closed when Redmine says so, else by its name, else open."""
    if is_closed:
        return "closed"
    return _STATE_NAMES.get(name.strip().lower(), "open")


def choose_priority(ours: str, priorities: Sequence[tuple[int, str, bool]]) -> int | None:
    """The id of the instance's priority for ``ours`` (low/normal/high/urgent).

    ``priorities`` are the active ones in Redmine's order (lowest first) as (id, name, is_default).
    By name first; otherwise by position: normal is the default one, low the one before it, high and
    urgent the ones after it (clamped to the ends). None when the instance has none.
    """
    if not priorities:
        return None
    names = _PRIORITY_NAMES.get(ours, ())
    for pid, name, _ in priorities:
        if name.strip().lower() in names:
            return pid
    default = next((i for i, (_, _, d) in enumerate(priorities) if d), len(priorities) // 2)
    offset = {"low": -1, "normal": 0, "high": 1, "urgent": 2}.get(ours, 0)
    return priorities[max(0, min(len(priorities) - 1, default + offset))][0]


class RedmineConnector(Connector):
    """Redmine issues through its REST API, authenticated with an API key (``X-Redmine-API-Key``)."""

    def __init__(self, options: RedmineOptions, session: requests.Session | None = None) -> None:
        if not options.api_key:
            raise ConfigurationError("Redmine needs an API key: set helpdesk.token (My account > API access key)",
                                     "helpdesk.token")
        if not options.project.strip():
            raise ConfigurationError("Redmine needs the project to file issues in: set helpdesk.queue to its "
                                     "identifier", "helpdesk.queue")
        self.options = options
        self._base = options.http.base_url.rstrip("/")
        self._session = session or make_session(options.http, {"X-Redmine-API-Key": options.api_key})
        self._me: int | None = None
        self._project: _Project | None = None
        self._priorities: list[tuple[int, str, bool]] | None = None
        self._extensions = tuple(e.strip().lower().lstrip(".") for e in options.allowed_extensions if e.strip())
        self.info = ConnectorInfo(name="Redmine", max_attachment_bytes=options.max_attachment_bytes,
                                  allowed_extensions=self._extensions, extra={"project": options.project.strip()})

    # -- the interface

    def create(self, submission: Submission) -> TicketRef:
        project = self._resolve_project()
        subject = " ".join(submission.title.split()) or "(no title)"
        issue: dict[str, Any] = {
            "project_id": project.id,
            "subject": subject[:SUBJECT_MAX],
            "description": submission.body(),
        }
        if self.options.tracker:
            tracker = project.trackers.get(self.options.tracker.strip().lower())
            if tracker is None:
                known = ", ".join(sorted(project.trackers)) or "none"
                raise ConfigurationError(
                    f"the Redmine project {project.identifier!r} has no tracker {self.options.tracker!r} "
                    f"(it has: {known})", "helpdesk.tracker")
            issue["tracker_id"] = tracker
        priority = choose_priority(submission.priority, self._load_priorities())
        if priority is not None:
            issue["priority_id"] = priority
        what = "creating the ticket"
        response = self._call("POST", "/issues.json", what, ok=(201, 422), json={"issue": issue})
        if response.status_code == 422:
            raise self._unprocessable(response, what)
        issue_back = _json(response, what).get("issue")
        ticket_id = issue_back.get("id") if isinstance(issue_back, dict) else None
        if not isinstance(ticket_id, int):  # it may have made one: transient, so the outbox looks first
            raise TransientError(f"the helpdesk did not say which issue it created while {what}")
        log.info("redmine: issue #%s created for submission %s", ticket_id, submission.submission_id)
        return self._ref(ticket_id)

    def attach(self, ticket: TicketRef, files: Sequence[AttachmentFile]) -> None:
        if not files:
            return
        self._check_sizes(files)
        present = self._attachments_present(ticket)
        todo = [f for f in files if (sanitize_filename(f.name), f.size) not in present]
        if len(todo) < len(files):
            log.info("redmine: %d of %d files already on issue #%s, not sent again",
                     len(files) - len(todo), len(files), ticket.ticket_id)
        if todo:
            uploads = [self._upload(f) for f in todo]
            self._update(ticket, {"uploads": uploads}, f"attaching files to ticket #{ticket.ticket_id}")

    def comment(self, ticket: TicketRef, text: str, files: Sequence[AttachmentFile] = ()) -> None:
        if not text.strip() and not files:
            return
        self._check_sizes(files)
        change: dict[str, Any] = {"notes": text}
        if files:
            change["uploads"] = [self._upload(f) for f in files]
        self._update(ticket, change, f"adding a comment to ticket #{ticket.ticket_id}")

    def status(self, ticket: TicketRef, etag: str = "") -> TicketStatus | None:
        what = f"reading ticket #{ticket.ticket_id}"
        headers = {"If-None-Match": etag} if etag else {}
        response = self._call("GET", f"/issues/{_issue_id(ticket)}.json", what, ok=(200, 304, 404),
                              params={"include": "journals"}, headers=headers)
        if response.status_code == 304:
            return None
        if response.status_code == 404:
            raise _gone(ticket)
        issue = _json(response, what).get("issue")
        if not isinstance(issue, dict):
            raise PermanentError(f"the helpdesk answered without the issue while {what}")
        status = issue.get("status") or {}
        label = str(status.get("name", ""))
        me = self._whoami()
        replies = tuple(
            Reply(reply_id=str(j.get("id", "")), author=str((j.get("user") or {}).get("name", "")),
                  created=str(j.get("created_on", "")), text=str(j["notes"]))
            for j in issue.get("journals") or ()
            if isinstance(j, dict) and j.get("notes") and not j.get("private_notes")
            and (j.get("user") or {}).get("id") != me
        )
        return TicketStatus(ticket=ticket, state=map_state(label, bool(status.get("is_closed"))), label=label,
                            updated=str(issue.get("updated_on") or ""), replies=replies,
                            etag=response.headers.get("ETag", ""))

    def find(self, submission_id: str) -> TicketRef | None:
        marker = submission_marker(submission_id)
        what = f"looking for submission {submission_id}"
        self._whoami()  # a wrong key or address shows as that, not as "not found"
        # no titles_only/open_issues parameters: Redmine takes any value of them, even "0", as "yes"
        response = self._call("GET", "/search.json", what, params={
            "q": '"' + marker.replace('"', "") + '"', "issues": "1", "limit": "100"})
        exact = re.compile(re.escape(marker) + r"(?![\w-])")
        found = sorted(
            r["id"] for r in _json(response, what).get("results") or ()
            if isinstance(r, dict) and isinstance(r.get("id"), int) and str(r.get("type", "")).startswith("issue")
            and exact.search(str(r.get("description") or ""))
        )
        if not found:
            return None
        if len(found) > 1:
            log.warning("redmine: %d issues carry submission %s (%s); using the oldest",
                        len(found), submission_id, ", ".join(f"#{i}" for i in found))
        return self._ref(found[0])

    def close(self) -> None:
        self._session.close()

    # -- the parts

    def _ref(self, issue_id: int) -> TicketRef:
        return TicketRef(backend=BACKEND, ticket_id=str(issue_id), url=f"{self._base}/issues/{issue_id}")

    def _call(self, method: str, path: str, what: str, ok: tuple[int, ...] = (200, 201, 204),
              **kwargs: Any) -> requests.Response:
        try:
            return call(self._session, method, self._base + path, what, self.options.http, ok=ok, **kwargs)
        except ConfigurationError as exc:
            if exc.setting == "helpdesk.token":
                raise ConfigurationError(f"{exc}; {_API_HINT}", exc.setting) from exc
            raise

    def _whoami(self) -> int:
        """This account's user id; the first call also proves the address and the key are right."""
        if self._me is None:
            what = "checking the Redmine account"
            response = self._call("GET", "/users/current.json", what, ok=(200, 404))
            try:
                user = _json(response, what).get("user") if response.status_code == 200 else None
            except TransientError:
                user = None
            if not isinstance(user, dict) or not isinstance(user.get("id"), int):
                raise ConfigurationError(
                    f"{self._base} does not answer as Redmine's REST API does (no /users/current.json): "
                    "check helpdesk.url (Redmine's root address)", "helpdesk.url")
            self._me = user["id"]
        return self._me

    def _resolve_project(self) -> _Project:
        if self._project is None:
            self._whoami()
            name = self.options.project.strip()
            what = f"looking up the Redmine project {name!r}"
            response = self._call("GET", f"/projects/{quote(name, safe='')}.json", what, ok=(200, 403, 404),
                                  params={"include": "trackers"})
            if response.status_code != 200:
                raise ConfigurationError(
                    f"the helpdesk has no project {name!r} that this account may file issues in "
                    f"({response.status_code}): check helpdesk.queue (the project's identifier) and the "
                    "account's membership", "helpdesk.queue")
            project = _json(response, what).get("project") or {}
            if not isinstance(project.get("id"), int):
                raise PermanentError(f"the helpdesk answered without the project while {what}")
            trackers = {str(t.get("name", "")).strip().lower(): t["id"] for t in project.get("trackers") or ()
                        if isinstance(t, dict) and isinstance(t.get("id"), int)}
            self._project = _Project(project["id"], str(project.get("identifier") or name), trackers)
        return self._project

    def _load_priorities(self) -> list[tuple[int, str, bool]]:
        if self._priorities is None:
            try:
                response = self._call("GET", "/enumerations/issue_priorities.json", "reading the priorities")
                items = _json(response, "reading the priorities").get("issue_priorities") or ()
            except PermanentError as exc:  # an old or locked-down Redmine: its default priority is used
                log.debug("redmine: priorities not readable (%s); the default is used", exc)
                items = ()
            self._priorities = [(p["id"], str(p.get("name", "")), bool(p.get("is_default")))
                                for p in items if isinstance(p, dict) and isinstance(p.get("id"), int)
                                and p.get("active", True)]
        return self._priorities

    def _check_sizes(self, files: Iterable[AttachmentFile]) -> None:
        """Refuse, before anything is sent, a file of a type or size the helpdesk does not take."""
        limit = self.options.max_attachment_bytes
        for f in files:
            ext = f.name.rpartition(".")[2].lower() if "." in f.name else ""
            if self._extensions and ext not in self._extensions:
                raise PermanentError(
                    f"the helpdesk does not take {'.' + ext if ext else 'extension-less'} files ({f.name!r}); it "
                    f"takes {', '.join('.' + e for e in self._extensions)} (helpdesk.attachment_extensions)")
            if limit is not None and f.size > limit:
                raise PermanentError(
                    f"the file {f.name!r} ({_mb(f.size)}) is larger than the helpdesk accepts ({_mb(limit)} "
                    "per file, helpdesk.max_upload_mb): leave it out or make it smaller")

    def _upload(self, f: AttachmentFile) -> dict[str, str]:
        name = sanitize_filename(f.name)
        what = f"uploading {name!r}"
        response = self._call("POST", "/uploads.json", what, ok=(201, 422),
                              params={"filename": name, "content_type": f.media_type}, data=f.data,
                              headers={"Content-Type": "application/octet-stream"})
        if response.status_code == 422:
            raise self._unprocessable(response, what, f)
        upload = _json(response, what).get("upload")
        token = upload.get("token") if isinstance(upload, dict) else None
        if not isinstance(token, str):
            raise PermanentError(f"the helpdesk gave no upload token while {what}")
        return {"token": token, "filename": name, "content_type": f.media_type}

    def _update(self, ticket: TicketRef, change: dict[str, Any], what: str) -> None:
        response = self._call("PUT", f"/issues/{_issue_id(ticket)}.json", what, ok=(200, 204, 404, 422),
                              json={"issue": change})
        if response.status_code == 404:
            raise _gone(ticket)
        if response.status_code == 422:
            raise self._unprocessable(response, what)

    def _attachments_present(self, ticket: TicketRef) -> set[tuple[str, int]]:
        what = f"reading ticket #{ticket.ticket_id}"
        response = self._call("GET", f"/issues/{_issue_id(ticket)}.json", what, ok=(200, 404),
                              params={"include": "attachments"})
        if response.status_code == 404:
            raise _gone(ticket)
        issue = _json(response, what).get("issue") or {}
        return {(str(a.get("filename")), a["filesize"]) for a in issue.get("attachments") or ()
                if isinstance(a, dict) and isinstance(a.get("filesize"), int)}

    def _unprocessable(self, response: requests.Response, what: str,
                       f: AttachmentFile | None = None) -> DeliveryError:
        """The error for a 422: Redmine's validation messages, said as the setting or file at fault."""
        try:
            errors = [str(e) for e in (response.json().get("errors") or ())]
        except (ValueError, AttributeError):
            errors = []
        detail = "; ".join(errors)[:300] or "no reason given"
        lowered = detail.lower()
        if any(s in lowered for s in _TOO_LARGE):
            name = f"the file {f.name!r} ({_mb(f.size)})" if f else "a file"
            return PermanentError(f"{name} is larger than the helpdesk accepts: {detail}")
        if lowered.startswith(("project ", "проект ")):
            return ConfigurationError(f"the helpdesk refused the project while {what}: {detail}; check "
                                      "helpdesk.queue", "helpdesk.queue")
        if lowered.startswith(("tracker ", "трекер ")):
            return ConfigurationError(f"the helpdesk refused the tracker while {what}: {detail}; check "
                                      "helpdesk.tracker", "helpdesk.tracker")
        return PermanentError(f"the helpdesk refused the request while {what} (422): {detail}")


def _issue_id(ticket: TicketRef) -> str:
    if not ticket.ticket_id.isdigit():
        raise PermanentError(f"{ticket.ticket_id!r} is not a Redmine issue number")
    return ticket.ticket_id


def _gone(ticket: TicketRef) -> PermanentError:
    return PermanentError(f"ticket #{ticket.ticket_id} is no longer on the helpdesk (deleted, or moved where "
                          "this account cannot see it)")


def _json(response: requests.Response, what: str) -> dict[str, Any]:
    """The answer's JSON object. One that is not (a proxy's page, a cut answer) is transient: the action may
    or may not have happened, and the outbox looks before it tries again."""
    try:
        data = response.json()
    except ValueError as exc:
        raise TransientError(f"the helpdesk's answer while {what} was not JSON ({response.status_code})") from exc
    if not isinstance(data, dict):
        raise TransientError(f"the helpdesk's answer while {what} was not the expected JSON object")
    return data


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def from_settings(settings: Settings) -> RedmineConnector:
    """The connector from the ``helpdesk.*`` settings (the API key by reference, :mod:`desktop.credentials`)."""
    http = http_options(settings)
    if not http.base_url:
        raise ConfigurationError("Redmine needs its address: set helpdesk.url (Redmine's root address)",
                                 "helpdesk.url")
    max_mb = float(setting(settings, "helpdesk.max_upload_mb", 0.0))
    return RedmineConnector(RedmineOptions(
        http=http,
        api_key=secret(str(setting(settings, "helpdesk.token", "")), "helpdesk.token"),
        project=str(setting(settings, "helpdesk.queue", "")),
        tracker=str(setting(settings, "helpdesk.tracker", "")),
        max_attachment_bytes=int(max_mb * 1024 * 1024) if max_mb > 0 else DEFAULT_MAX_ATTACHMENT_BYTES,
        allowed_extensions=tuple(setting(settings, "helpdesk.attachment_extensions", ())),
    ))
