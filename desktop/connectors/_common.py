"""Small pieces the HTTP connectors share: settings to :class:`HttpOptions`, credentials by reference turned
into the outbox's errors, one request helper that lets each connector read its backend's error shape, and
masking of secrets in messages."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import requests

from desktop import credentials
from desktop.connectors.base import (
    AttachmentFile,
    ConfigurationError,
    DeliveryError,
    PermanentError,
    TransientError,
    classify_http,
)
from desktop.connectors.http import HttpOptions, call
from desktop.errors import ConfigError

log = logging.getLogger("deskline.connectors")

#: Every status: :func:`request` decides itself which are errors, with the backend's own error reader.
_ANY_STATUS = tuple(range(100, 600))


def secret(reference: str, setting: str) -> str:
    """The secret behind a credential reference; a :class:`ConfigurationError` naming ``setting`` if missing."""
    try:
        return credentials.resolve(reference, setting)
    except ConfigError as exc:
        raise ConfigurationError(str(exc), setting) from exc


def required_token(reference: str, needs: str) -> str:
    """The API token ``helpdesk.token`` points to; ``needs`` ("Jira needs an API token") says why it must be set."""
    token = secret(reference, "helpdesk.token")
    if not token:
        raise ConfigurationError(f"{needs}: set helpdesk.token", "helpdesk.token")
    return token


def authorization(username: str, token: str, prefix: str) -> dict[str, str]:
    """The Authorization header: HTTP Basic with the token as password when a user name is set,
    else ``prefix`` and the token (``Bearer ``, ``token ``, ``Token token=``)."""
    if username:
        raw = f"{username}:{token}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode("ascii")}
    return {"Authorization": f"{prefix}{token}"}


def setting(settings: Any, key: str, default: Any = None) -> Any:
    """``settings[key]``, or ``default`` where the schema does not (yet) declare the key."""
    values = settings if isinstance(settings, Mapping) else getattr(settings, "values", {})
    return values.get(key, default) if isinstance(values, Mapping) else default


def http_options(settings: Any) -> HttpOptions:
    """The ``[helpdesk]`` connection settings as :class:`HttpOptions`."""
    return HttpOptions(
        base_url=str(setting(settings, "helpdesk.url", "")).rstrip("/"),
        timeout=float(setting(settings, "helpdesk.timeout", 20.0)),
        verify_tls=bool(setting(settings, "helpdesk.verify_tls", True)),
        ca_bundle=str(setting(settings, "helpdesk.ca_bundle", "")),
        proxy=str(setting(settings, "helpdesk.proxy", "")),
    )


def mask(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret (of 4 characters or more) replaced by ``***``."""
    for s in secrets:
        if s and len(s) >= 4:
            text = text.replace(s, "***")
    return text


ErrorReader = Callable[[requests.Response, str], DeliveryError | None]


def request(
    session: requests.Session,
    method: str,
    url: str,
    what: str,
    options: HttpOptions,
    expect: tuple[int, ...] = (200, 201),
    read_error: ErrorReader | None = None,
    secrets: Iterable[str] = (),
    **kwargs: Any,
) -> requests.Response:
    """One request through :func:`desktop.connectors.http.call`; a status outside ``expect`` becomes the error
    ``read_error(response, what)`` returns (the backend's own shape), else :func:`classify_http`'s."""
    hidden = [s for s in secrets if s]
    try:
        response = call(session, method, url, what, options, ok=_ANY_STATUS, **kwargs)
    except ConfigurationError as exc:
        raise ConfigurationError(mask(str(exc), hidden), exc.setting) from exc
    except TransientError as exc:
        raise TransientError(mask(str(exc), hidden), exc.retry_after) from exc
    except DeliveryError as exc:
        raise type(exc)(mask(str(exc), hidden)) from exc
    if response.status_code in expect:
        return response
    error = read_error(response, what) if read_error else None
    if error is None:
        error = classify_http(response.status_code, what, response.headers, short_detail(response))
    log.info("%s %s: %s", method, _path(url), mask(str(error), hidden))
    if isinstance(error, ConfigurationError):
        raise type(error)(mask(str(error), hidden), error.setting)
    if isinstance(error, TransientError):
        raise type(error)(mask(str(error), hidden), error.retry_after)
    raise type(error)(mask(str(error), hidden))


def _path(url: str) -> str:
    """The URL without its query (which may carry tokens) for log lines."""
    return url.split("?", 1)[0]


def short_detail(response: requests.Response, limit: int = 200) -> str:
    """The first line of a non-HTML body, shortened: the server's own words where it gave some."""
    text = response.text.strip()
    if not text or text.startswith("<"):
        return ""
    line = text.splitlines()[0]
    return line if len(line) <= limit else line[: limit - 3] + "..."


def json_body(response: requests.Response, what: str) -> Any:
    """The response's JSON; a body that is not JSON (a proxy's page, a truncated answer) is a transient
    error, because the action may or may not have happened."""
    try:
        return response.json()
    except ValueError as exc:
        raise TransientError(f"the helpdesk's answer while {what} was not JSON ({response.status_code})") from exc


def json_error(response: requests.Response) -> Any:
    """The JSON of an error response, or None."""
    try:
        return response.json()
    except ValueError:
        return None


def check_sizes(files: Iterable[AttachmentFile], max_file: int | None, backend: str) -> None:
    """Refuse, clearly and before sending, a file larger than the backend takes."""
    for f in files:
        if max_file is not None and f.size > max_file:
            raise PermanentError(
                f"{f.name} is {human_size(f.size)}, larger than {backend} accepts ({human_size(max_file)} per file); "
                "it was not sent"
            )


def check_types(files: Iterable[AttachmentFile], allowed: Iterable[str], backend: str) -> None:
    """Refuse, before sending, a file whose ending is not among ``allowed`` (``.json`` or ``json``; empty:
    any)."""
    endings = {e.strip().lower().lstrip(".") for e in allowed if e.strip()}
    if not endings:
        return
    for f in files:
        name = f.name.lower()
        ext = name.rsplit(".", 1)[1] if "." in name else ""
        if ext not in endings:
            raise PermanentError(
                f"{backend} does not take {'.' + ext if ext else 'extension-less'} files ({f.name}); it takes "
                + ", ".join("." + e for e in sorted(endings)) + " (helpdesk.attachment_extensions)")


def batches(files: Iterable[AttachmentFile], max_total: int | None) -> list[list[AttachmentFile]]:
    """The files in request-sized groups (each at most ``max_total`` bytes, a lone larger file alone)."""
    groups: list[list[AttachmentFile]] = []
    current: list[AttachmentFile] = []
    size = 0
    for f in files:
        if current and max_total is not None and size + f.size > max_total:
            groups.append(current)
            current, size = [], 0
        current.append(f)
        size += f.size
    if current:
        groups.append(current)
    return groups


def human_size(n: int) -> str:
    """Bytes in words a user reads: 512 bytes, 39 KB, 12.5 MB."""
    if n < 1024:
        return f"{n} bytes"
    if n < 1024 * 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n / (1024 * 1024):.1f} MB"


def dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def html_to_text(text: str) -> str:
    """Readable plain text from a helpdesk's HTML (line breaks kept, tags dropped, entities decoded)."""
    text = re.sub(r"(?i)<br\s*/?>|</p\s*>|</div\s*>|</li\s*>", "\n", text)
    text = re.sub(r"(?s)<(script|style)\b.*?</\1\s*>", "", text)
    text = re.sub(r"<[^>]+>", "", text)
    text = html.unescape(text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def content_digest(kind: str, text: str, files: Iterable[AttachmentFile] = ()) -> str:
    """A short digest of an addition to a ticket (its kind, text and files): the same content, the same
    digest, so a retried addition can be recognised on the ticket and not made twice."""
    digest = hashlib.sha256(f"{kind}\0{text}".encode())
    for f in files:
        digest.update(b"\0" + f.name.encode("utf-8") + b"\0" + hashlib.sha256(f.data).digest())
    return digest.hexdigest()[:16]


def reference_line(digest: str) -> str:
    """The line added to an addition's text that carries its digest (see :func:`content_digest`)."""
    return f"[Deskline ref {digest}]"
