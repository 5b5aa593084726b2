"""Recorded responses for the helpdesks that cannot run here (Zammad, GLPI, Jira Service Management, Request
Tracker), kept in ``tests/fixtures/connectors/<backend>/<name>.json`` as::

    {"_source": "<the documentation page (and section) the answer is taken from>",
     "_note": "<optional: what was changed, e.g. ids made consistent>",
     "status": 201, "headers": {...}, "body": <the JSON body> | "body_text": "<a non-JSON body>"}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from werkzeug import Response

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "connectors"


def load(backend: str, name: str) -> dict[str, Any]:
    data = json.loads((FIXTURES / backend / f"{name}.json").read_text(encoding="utf-8"))
    assert data.get("_source"), f"{backend}/{name}.json does not say where it comes from"
    return data


def body(backend: str, name: str) -> Any:
    return load(backend, name)["body"]


def response(backend: str, name: str, **replace: Any) -> Response:
    """The recorded answer as a werkzeug Response (``replace`` overrides top-level keys of the JSON body)."""
    data = load(backend, name)
    headers = dict(data.get("headers", {}))
    if "body_text" in data:
        content_type = headers.pop("Content-Type", "text/plain")
        return Response(data["body_text"], data["status"], headers=headers, content_type=content_type)
    payload = data["body"]
    if replace and isinstance(payload, dict):
        payload = {**payload, **replace}
    return Response(json.dumps(payload), data["status"], headers=headers, content_type="application/json")
