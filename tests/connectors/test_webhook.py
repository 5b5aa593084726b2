"""The webhook connector against a real HTTP server on 127.0.0.1 (pytest-httpserver) playing a receiver that
follows docs/webhook.md: it verifies the signature, keeps idempotency keys and answers as documented."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import socket
import zipfile
from email.utils import formatdate
from typing import Any

import pytest

pytest.importorskip("pytest_httpserver", reason="pytest-httpserver is not installed")

from pytest_httpserver import HTTPServer  # noqa: E402
from werkzeug import Request, Response  # noqa: E402

from desktop.connectors.base import (  # noqa: E402
    AttachmentFile,
    ConfigurationError,
    PermanentError,
    Submission,
    TicketRef,
    TransientError,
)
from desktop.connectors.http import HttpOptions  # noqa: E402
from desktop.connectors.webhook import WebhookConfig, WebhookConnector, from_settings, sign  # noqa: E402

SECRET = "whsec-7c1d0e9a5b3f"
ENV = "DESKLINE_TEST_WEBHOOK_SECRET"
SUBMISSION = Submission(
    submission_id="5a0c7b1e-2d3f-4e5a-8b6c-7d8e9f0a1b2c",
    title="VPN drops every 10 minutes",
    description="The VPN disconnects, then reconnects by itself.",
    summary="## Findings\n\n- **Clock skew**: 5 minutes",
    category="network",
    priority="urgent",
    reporter_name="Ivan",
    reporter_email="ivan@example.org",
    incident="DL-000042",
)


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, SECRET)


class Receiver:
    """A webhook receiver as docs/webhook.md asks: signature checked, idempotency keys kept."""

    def __init__(self, answer: dict[str, Any] | None = None) -> None:
        self.requests: list[dict[str, Any]] = []
        self.keys: dict[str, dict[str, Any]] = {}
        self.answer = answer or {}
        self.tickets = 0

    def __call__(self, request: Request) -> Response:
        body = request.get_data()
        ts = request.headers.get("X-Deskline-Timestamp", "")
        expected = "sha256=" + hmac.new(SECRET.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, request.headers.get("X-Deskline-Signature", "")):
            return Response(json.dumps({"error": "bad signature"}), 401, content_type="application/json")
        payload = json.loads(body)
        self.requests.append({"headers": dict(request.headers), "payload": payload})
        key = request.headers["Idempotency-Key"]
        if key in self.keys:
            return Response(json.dumps(self.keys[key]), 200, content_type="application/json")
        self.tickets += 1
        answer = self.answer or {"ticket_id": 4710 + self.tickets, "url": f"https://hd.example/t/{4710 + self.tickets}"}
        self.keys[key] = answer
        return Response(json.dumps(answer), 201, content_type="application/json")


def _connector(httpserver: HTTPServer, **kw: Any) -> WebhookConnector:
    config: dict[str, Any] = {"options": HttpOptions(httpserver.url_for("/hook"), timeout=5.0),
                              "secret_ref": f"env:{ENV}"}
    config.update(kw)
    return WebhookConnector(WebhookConfig(**config))


def _bundle(report: dict[str, Any]) -> AttachmentFile:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("manifest.json", json.dumps({"format": "deskline-bundle", "version": 1}))
        zf.writestr("report.json", json.dumps(report))
        zf.writestr("summary.md", "# Summary")
    return AttachmentFile("deskline-DL-000042.zip", "application/zip", buf.getvalue())


def test_create_posts_the_documented_payload_signed_and_keyed(httpserver: HTTPServer) -> None:
    receiver = Receiver()
    httpserver.expect_request("/hook", method="POST").respond_with_handler(receiver)
    ref = _connector(httpserver).create(SUBMISSION)

    assert ref == TicketRef("webhook", "4711", "https://hd.example/t/4711")
    (req,) = receiver.requests
    headers, payload = req["headers"], req["payload"]
    assert headers["Idempotency-Key"] == SUBMISSION.submission_id
    assert headers["X-Deskline-Event"] == "create" and headers["X-Deskline-Version"] == "1"
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    assert payload == {
        "version": 1, "event": "create", "submission_id": SUBMISSION.submission_id, "incident": "DL-000042",
        "title": SUBMISSION.title, "description": SUBMISSION.description, "priority": "urgent",
        "category": "network", "reporter": {"name": "Ivan", "email": "ivan@example.org"},
        "summary": SUBMISSION.summary, "body": SUBMISSION.body(), "findings": [], "report": None,
        "attachments": [],
    }


def test_a_retried_create_gets_the_same_ticket(httpserver: HTTPServer) -> None:
    receiver = Receiver()
    httpserver.expect_request("/hook", method="POST").respond_with_handler(receiver)
    first = _connector(httpserver).create(SUBMISSION)
    second = _connector(httpserver).create(SUBMISSION)
    assert first == second and receiver.tickets == 1
    assert [r["headers"]["Idempotency-Key"] for r in receiver.requests] == [SUBMISSION.submission_id] * 2


def test_signature_helper_matches_the_documented_recipe() -> None:
    body = b'{"a":1}'
    mac = hmac.new(b"k", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert sign("k", "1700000000", body) == f"sha256={mac}"


def test_wrong_secret_is_a_setting_to_fix_and_is_never_shown(httpserver: HTTPServer,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "not-the-" + SECRET)
    httpserver.expect_request("/hook", method="POST").respond_with_handler(Receiver())
    with pytest.raises(ConfigurationError, match="bad signature") as info:
        _connector(httpserver).create(SUBMISSION)
    assert info.value.setting == "webhook.secret"
    assert SECRET not in str(info.value)


def test_missing_secret_is_a_configuration_error(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV)
    with pytest.raises(ConfigurationError) as info:
        _connector(httpserver).create(SUBMISSION)
    assert info.value.setting == "webhook.secret"
    assert httpserver.log == []


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_transient(httpserver: HTTPServer, status: int) -> None:
    httpserver.expect_request("/hook").respond_with_json({"error": "database is down"}, status=status)
    with pytest.raises(TransientError, match=f"{status}.*database is down"):
        _connector(httpserver).create(SUBMISSION)


def test_retry_after_seconds_is_carried_by_the_error(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook").respond_with_json({"error": "maintenance"}, status=503,
                                                         headers={"Retry-After": "120"})
    with pytest.raises(TransientError) as info:
        _connector(httpserver).create(SUBMISSION)
    assert info.value.retry_after == 120


def test_retry_after_as_a_date_on_429(httpserver: HTTPServer) -> None:
    import time

    when = formatdate(time.time() + 300, usegmt=True)
    httpserver.expect_request("/hook").respond_with_json({"error": "slow down"}, status=429,
                                                         headers={"Retry-After": when})
    with pytest.raises(TransientError) as info:
        _connector(httpserver).create(SUBMISSION)
    assert info.value.retry_after is not None and 295 <= info.value.retry_after <= 301


@pytest.mark.parametrize("status", [400, 409, 413, 422])
def test_client_errors_are_permanent_with_the_receivers_words(httpserver: HTTPServer, status: int) -> None:
    httpserver.expect_request("/hook").respond_with_json({"error": "category 'network' is unknown"}, status=status)
    with pytest.raises(PermanentError, match="category 'network' is unknown") as info:
        _connector(httpserver).create(SUBMISSION)
    assert not isinstance(info.value, ConfigurationError | TransientError)


def test_unknown_endpoint_names_the_url_setting(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook").respond_with_data("Not Found", status=404)
    with pytest.raises(ConfigurationError) as info:
        _connector(httpserver).create(SUBMISSION)
    assert info.value.setting == "helpdesk.url"


def test_an_answer_that_is_not_json_may_have_created_the_ticket(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hook").respond_with_data("<html>proxy login</html>", status=200,
                                                         content_type="text/html")
    with pytest.raises(TransientError, match="not JSON"):
        _connector(httpserver).create(SUBMISSION)


def test_connection_refused_is_transient() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conn = WebhookConnector(WebhookConfig(HttpOptions(f"http://127.0.0.1:{port}/hook", timeout=2),
                                          secret_ref=f"env:{ENV}"))
    with pytest.raises(TransientError, match="could not be reached"):
        conn.create(SUBMISSION)


def test_attach_sends_files_base64_with_the_bundles_report(httpserver: HTTPServer) -> None:
    receiver = Receiver()
    httpserver.expect_request("/hook", method="POST").respond_with_handler(receiver)
    report = {"format": "deskline-report", "findings": [{"severity": "warning", "title": "Clock skew"}]}
    files = [_bundle(report), AttachmentFile("vpn.log", "text/plain", b"disconnect\n" * 10)]
    conn = _connector(httpserver)
    conn.attach(TicketRef("webhook", "4711"), files)

    (req,) = receiver.requests
    payload = req["payload"]
    assert req["headers"]["X-Deskline-Event"] == "attach"
    assert payload["ticket_id"] == "4711" and payload["part"] == 1 and payload["parts"] == 1
    assert payload["report"] == report and payload["findings"] == report["findings"]
    sent = {a["name"]: a for a in payload["attachments"]}
    assert base64.b64decode(sent["vpn.log"]["content_base64"]) == files[1].data
    assert sent["vpn.log"]["sha256"] == hashlib.sha256(files[1].data).hexdigest()
    assert sent["deskline-DL-000042.zip"]["media_type"] == "application/zip"
    # the same files again: the same key, so the receiver does not store them twice
    conn.attach(TicketRef("webhook", "4711"), files)
    keys = [r["headers"]["Idempotency-Key"] for r in receiver.requests]
    assert keys[0] == keys[1] and keys[0].startswith("attach-")


def test_attach_splits_large_sets_and_refuses_a_single_file_too_large(httpserver: HTTPServer) -> None:
    receiver = Receiver()
    httpserver.expect_request("/hook", method="POST").respond_with_handler(receiver)
    conn = _connector(httpserver, max_request_bytes=64 * 1024 + 80_000)  # about 60 kB of files per request
    files = [AttachmentFile(f"f{i}.bin", "application/octet-stream", bytes([i]) * 25_000) for i in range(5)]
    conn.attach(TicketRef("webhook", "9"), files)
    parts = [r["payload"] for r in receiver.requests]
    assert [p["part"] for p in parts] == [1, 2, 3] and {p["parts"] for p in parts} == {3}
    assert sorted(a["name"] for p in parts for a in p["attachments"]) == [f"f{i}.bin" for i in range(5)]
    assert len({r["headers"]["Idempotency-Key"] for r in receiver.requests}) == 3

    with pytest.raises(PermanentError, match="big.iso is .* larger than the webhook accepts"):
        conn.attach(TicketRef("webhook", "9"), [AttachmentFile("big.iso", "application/octet-stream",
                                                               b"x" * 70_000)])
    assert len(receiver.requests) == 3


def test_comment_and_rate(httpserver: HTTPServer) -> None:
    receiver = Receiver()
    httpserver.expect_request("/hook", method="POST").respond_with_handler(receiver)
    conn = _connector(httpserver)
    ticket = TicketRef("webhook", "4711")
    conn.comment(ticket, "Still happening after the update.", [AttachmentFile("a.txt", "text/plain", b"x")])
    conn.rate(ticket, 5, "Great")
    comment, rate = (r["payload"] for r in receiver.requests)
    assert comment["event"] == "comment" and comment["text"] == "Still happening after the update."
    assert comment["attachments"][0]["name"] == "a.txt"
    assert rate == {"version": 1, "event": "rate", "ticket_id": "4711", "score": 5, "remark": "Great"}
    assert conn.info.has_rating
    with pytest.raises(PermanentError):
        conn.rate(ticket, 0)


def test_status_from_the_optional_status_url_with_etag(httpserver: HTTPServer) -> None:
    seen: list[Request] = []

    def handler(request: Request) -> Response:
        seen.append(request)
        if request.headers.get("If-None-Match") == '"v2"':
            return Response(status=304)
        body = {"state": "pending", "label": "Waiting for parts", "updated": "2024-05-02T09:30:00Z",
                "replies": [{"id": "r1", "author": "Sam (IT)", "created": "2024-05-02T09:30:00Z",
                             "text": "We ordered a new drum."}]}
        return Response(json.dumps(body), 200, content_type="application/json", headers={"ETag": '"v2"'})

    httpserver.expect_request("/tickets/T 47", method="GET").respond_with_handler(handler)
    conn = _connector(httpserver, status_url=httpserver.url_for("/tickets/{ticket_id}"))
    status = conn.status(TicketRef("webhook", "T 47"))
    assert status is not None
    assert (status.state, status.label, status.etag) == ("pending", "Waiting for parts", '"v2"')
    assert status.replies[0].text == "We ordered a new drum." and status.replies[0].author == "Sam (IT)"
    assert conn.status(TicketRef("webhook", "T 47"), etag='"v2"') is None
    # GETs are signed too, over "<timestamp>.<path and query>"
    ts = seen[0].headers["X-Deskline-Timestamp"]
    assert seen[0].headers["X-Deskline-Signature"] == sign(SECRET, ts, b"/tickets/T%2047")


def test_status_and_find_without_urls_are_unsupported(httpserver: HTTPServer) -> None:
    conn = _connector(httpserver)
    assert conn.status(TicketRef("webhook", "1")) is None
    assert conn.find(SUBMISSION.submission_id) is None
    assert conn.info.extra == {"status": "unsupported", "find": "idempotency-key"}
    assert httpserver.log == []


def test_find_asks_the_optional_find_url(httpserver: HTTPServer) -> None:
    sid = SUBMISSION.submission_id
    httpserver.expect_request(f"/submissions/{sid}").respond_with_json({"ticket_id": 4711, "url": "u"})
    httpserver.expect_request("/submissions/other").respond_with_json({"error": "no such submission"},
                                                                      status=404)
    conn = _connector(httpserver, find_url=httpserver.url_for("/submissions/{submission_id}"))
    assert conn.find(sid) == TicketRef("webhook", "4711", "u")
    assert conn.find("other") is None


def test_from_settings(httpserver: HTTPServer) -> None:
    conn = from_settings({"helpdesk.url": httpserver.url_for("/hook"), "webhook.secret": f"env:{ENV}",
                          "webhook.status_url": "x/{ticket_id}"})
    assert conn.config.secret_ref == f"env:{ENV}" and conn.info.extra["status"] == "supported"
    with pytest.raises(ConfigurationError) as info:
        from_settings({"helpdesk.url": "ftp://example.org"})
    assert info.value.setting == "helpdesk.url"


def test_registry_builds_it_from_a_settings_file() -> None:
    from desktop.config import parse
    from desktop.connectors import registry

    settings = parse('[helpdesk]\nbackend = "webhook"\nurl = "https://hooks.example.org/deskline"\n'
                     '[webhook]\nsecret = "env:HOOK"\nstatus_url = "https://hooks.example.org/t/{ticket_id}"\n')
    conn = registry.from_settings(settings)
    assert isinstance(conn, WebhookConnector)
    assert conn.config.secret_ref == "env:HOOK" and conn.info.extra["status"] == "supported"


def test_end_to_end_through_the_outbox(httpserver: HTTPServer, tmp_path: Any) -> None:
    """A report queued in the real outbox reaches the receiver: create first, then the bundle (whose report
    and findings the attach event carries) and the user's file; a second run sends nothing."""
    from desktop.delivery import Sender
    from desktop.diagnostics.report import Attachment
    from desktop.outbox import Outbox
    from tests.outbox_doubles import document

    receiver = Receiver()
    httpserver.expect_request("/hook", method="POST").respond_with_handler(receiver)
    conn = _connector(httpserver)
    with Outbox(tmp_path / "outbox") as outbox:
        entry = outbox.enqueue(document=document(), title="VPN drops", description="Every 10 minutes.",
                               summary="## Findings",
                               attachments=[Attachment("vpn.log", b"drop\n", "text/plain", False)])
        with Sender(outbox, lambda backend: conn, backend="webhook", fingerprint="t") as sender:
            assert sender.run().sent == [entry.incident]
            assert sender.run().sent == []
        assert outbox.get(entry.id).ticket() == TicketRef("webhook", "4711", "https://hd.example/t/4711")

    create, bundle, log_file = (r["payload"] for r in receiver.requests)
    assert create["event"] == "create" and create["submission_id"] == entry.submission_id
    assert create["incident"] == entry.incident
    assert bundle["event"] == "attach" and bundle["report"]["report_id"] == document()["report_id"]
    assert bundle["findings"] == document()["findings"]
    assert log_file["attachments"][0]["name"] == "vpn.log" and log_file["report"] is None
