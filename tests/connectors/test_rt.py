"""The Request Tracker connector against a local HTTP server answering as RT's REST2 documentation says
(https://docs.bestpractical.com/rt/5.0.5/RT/REST2.html, the POD of lib/RT/REST2.pm) and as RT's own REST2 tests
(t/rest2/tickets.t) assert; error bodies as lib/RT/REST2/Resource/Ticket.pm and Middleware/ErrorAsJSON.pm
produce them. Each recorded answer in tests/fixtures/connectors/rt/ names its source. The tests assert what
Deskline sends: the token header, JSON bodies with base64 attachments, TicketSQL and If-None-Match.
"""

from __future__ import annotations

import base64
import json
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
    submission_marker,
)
from desktop.connectors.http import HttpOptions  # noqa: E402
from desktop.connectors.rt import RtConfig, RtConnector, from_settings  # noqa: E402
from tests.connectors import recorded  # noqa: E402

TOKEN = "1-14-4f8d2a6b9c0e1f3a5b7c9d0e2f4a6b8c"
ENV = "DESKLINE_TEST_RT_TOKEN"
API = "/rt/REST/2.0"
SUBMISSION = Submission(
    submission_id="4d3c2b1a-0f9e-4d8c-8b7a-6f5e4d3c2b1a",
    title="Wi-Fi drops in meeting room 3",
    description="Every few minutes the Wi-Fi is gone for ten seconds.",
    summary="## Findings\n\n- Packet loss 12 %",
    reporter_email="anna@example.org",
    incident="DL-000055",
)


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, TOKEN)


def _connector(httpserver: HTTPServer, **kw: Any) -> RtConnector:
    config: dict[str, Any] = {"http": HttpOptions(httpserver.url_for("/rt"), timeout=5.0), "queue": "General",
                              "token_ref": f"env:{ENV}"}
    config.update(kw)
    return RtConnector(RtConfig(**config))


def _on(httpserver: HTTPServer, path: str, fixture: str, **kw: Any) -> None:
    httpserver.expect_request(f"{API}/{path}", **kw).respond_with_response(recorded.response("rt", fixture))


def _sent(httpserver: HTTPServer, method: str, path: str) -> list[Request]:
    return [r for r, _ in httpserver.log if r.method == method and r.path == f"{API}/{path}"]


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# -- create ---------------------------------------------------------------------------------------------

def test_create_posts_queue_subject_content_and_requestor(httpserver: HTTPServer) -> None:
    _on(httpserver, "ticket", "ticket_create_201", method="POST")
    ref = _connector(httpserver).create(SUBMISSION)

    assert ref == TicketRef("rt", "20", httpserver.url_for("/rt/Ticket/Display.html?id=20"))
    (request,) = _sent(httpserver, "POST", "ticket")
    assert request.headers["Authorization"] == f"token {TOKEN}"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.get_data()) == {
        "Queue": "General", "Subject": SUBMISSION.title, "Content": SUBMISSION.body(), "ContentType": "text/plain",
        "Requestor": "anna@example.org"}


def test_create_with_a_submission_custom_field_and_basic_auth(httpserver: HTTPServer) -> None:
    _on(httpserver, "ticket", "ticket_create_201", method="POST")
    _connector(httpserver, submission_field="Deskline submission", username="deskline").create(SUBMISSION)
    (request,) = _sent(httpserver, "POST", "ticket")
    assert request.headers["Authorization"] == "Basic " + _b64(f"deskline:{TOKEN}")
    assert json.loads(request.get_data())["CustomFields"] == {"Deskline submission": SUBMISSION.submission_id}


@pytest.mark.parametrize(("fixture", "setting", "words"), [
    ("error_401", "helpdesk.token", "Unauthorized"),
    ("error_403_create", "helpdesk.token", "No permission to create tickets in the queue 'General'"),
    ("error_400_queue", "helpdesk.queue", "Unable to find queue"),
])
def test_configuration_errors_name_the_setting(httpserver: HTTPServer, fixture: str, setting: str,
                                               words: str) -> None:
    _on(httpserver, "ticket", fixture, method="POST")
    with pytest.raises(ConfigurationError, match=words) as info:
        _connector(httpserver).create(SUBMISSION)
    assert info.value.setting == setting and TOKEN not in str(info.value)


def test_server_errors_are_transient(httpserver: HTTPServer) -> None:
    httpserver.expect_request(f"{API}/ticket", method="POST").respond_with_json(
        {"message": "Internal Server Error"}, status=500)
    with pytest.raises(TransientError, match="500"):
        _connector(httpserver).create(SUBMISSION)


def test_queue_is_required(httpserver: HTTPServer) -> None:
    with pytest.raises(ConfigurationError) as info:
        _connector(httpserver, queue="")
    assert info.value.setting == "helpdesk.queue"


# -- correspondence: files and comments -----------------------------------------------------------------

def test_attach_corresponds_with_base64_attachments_once(httpserver: HTTPServer) -> None:
    subjects: list[str] = []

    def search(request: Request) -> Response:
        (condition,) = json.loads(request.get_data())
        hits = [s for s in subjects if condition["value"] in s]
        return Response(json.dumps({"count": len(hits), "page": 1, "per_page": 20, "total": len(hits),
                                    "items": []}), 200, content_type="application/json")

    def correspond(request: Request) -> Response:
        subjects.append(json.loads(request.get_data())["Subject"])
        return recorded.response("rt", "correspond_201")

    httpserver.expect_request(f"{API}/attachments", method="POST").respond_with_handler(search)
    httpserver.expect_request(f"{API}/ticket/20/correspond", method="POST").respond_with_handler(correspond)
    files = [AttachmentFile("deskline-DL-000055.zip", "application/zip", b"PK\x03\x04 bundle"),
             AttachmentFile("wlan.log", "text/plain", b"deauth reason 4\n")]
    conn = _connector(httpserver)
    conn.attach(TicketRef("rt", "20"), files)
    conn.attach(TicketRef("rt", "20"), files)  # a retry after a lost answer

    (post,) = _sent(httpserver, "POST", "ticket/20/correspond")
    sent = json.loads(post.get_data())
    assert sent["Subject"].startswith("Deskline: files [Deskline ref ")
    assert sent["Content"] == "Files from Deskline: deskline-DL-000055.zip, wlan.log"
    assert sent["ContentType"] == "text/plain"
    assert sent["Attachments"] == [
        {"FileName": "deskline-DL-000055.zip", "FileType": "application/zip",
         "FileContent": base64.b64encode(files[0].data).decode()},
        {"FileName": "wlan.log", "FileType": "text/plain", "FileContent": base64.b64encode(files[1].data).decode()}]
    (first_search, _) = _sent(httpserver, "POST", "attachments")
    assert json.loads(first_search.get_data()) == [{"field": "Subject", "operator": "LIKE",
                                                    "value": sent["Subject"].removeprefix("Deskline: files ")}]


def test_attach_splits_and_refuses_too_large(httpserver: HTTPServer) -> None:
    _on(httpserver, "attachments", "attachments_search_empty_200", method="POST")
    _on(httpserver, "ticket/20/correspond", "correspond_201", method="POST")
    conn = _connector(httpserver, max_file_bytes=1000)
    conn.attach(TicketRef("rt", "20"), [AttachmentFile(f"{i}.txt", "text/plain", b"x" * 600) for i in range(3)])
    contents = [json.loads(r.get_data())["Content"] for r in _sent(httpserver, "POST", "ticket/20/correspond")]
    assert contents == [f"Files from Deskline (part {n} of 3): {n - 1}.txt" for n in (1, 2, 3)]
    with pytest.raises(PermanentError, match="larger than Request Tracker accepts"):
        conn.attach(TicketRef("rt", "20"), [AttachmentFile("big.txt", "text/plain", b"x" * 1001)])


def test_comment_and_rating_are_correspondence(httpserver: HTTPServer) -> None:
    _on(httpserver, "attachments", "attachments_search_empty_200", method="POST")
    _on(httpserver, "ticket/20/correspond", "correspond_201", method="POST")
    conn = _connector(httpserver)
    conn.comment(TicketRef("rt", "20"), "It also drops in room 4.")
    conn.rate(TicketRef("rt", "20"), 3)
    comment, rating = (json.loads(r.get_data()) for r in _sent(httpserver, "POST", "ticket/20/correspond"))
    assert comment["Content"] == "It also drops in room 4." and "Attachments" not in comment
    assert comment["Subject"].startswith("Deskline: comment [Deskline ref ")
    assert rating["Content"] == "Satisfaction rating: 3/5 ★★★☆☆"


def test_correspondence_on_a_deleted_ticket(httpserver: HTTPServer) -> None:
    _on(httpserver, "attachments", "attachments_search_empty_200", method="POST")
    _on(httpserver, "ticket/21/correspond", "error_404", method="POST")
    with pytest.raises(PermanentError, match="no longer in Request Tracker") as info:
        _connector(httpserver).comment(TicketRef("rt", "21"), "hello")
    assert not isinstance(info.value, ConfigurationError)


# -- status ---------------------------------------------------------------------------------------------

def test_status_maps_the_lifecycle_and_reads_replies_by_others(httpserver: HTTPServer) -> None:
    _on(httpserver, "ticket/20", "ticket_get_200")
    _on(httpserver, "ticket/20/history", "history_200")
    _on(httpserver, "transaction/105/attachments", "transaction_attachments_105_200")
    conn = _connector(httpserver)
    status = conn.status(TicketRef("rt", "20"))

    assert status is not None
    assert (status.state, status.label) == ("pending", "stalled")
    assert status.etag == '"5f2c7b0d8a1e3c4b"' and status.updated == "2024-05-02T10:15:00Z"
    (reply,) = status.replies  # the creator's own correspondence (101) is not a reply
    assert (reply.reply_id, reply.author, reply.created) == ("105", "jsmith", "2024-05-02T10:15:00Z")
    assert reply.text == "Please restart the access point and tell us if it helps.\n\nJohn (IT)"
    (history,) = _sent(httpserver, "GET", "ticket/20/history")
    assert history.args["fields"] == "Type,Creator,Created"


def test_status_unchanged_is_a_304(httpserver: HTTPServer) -> None:
    httpserver.expect_request(f"{API}/ticket/20", headers={"If-None-Match": '"5f2c7b0d8a1e3c4b"'}).respond_with_data(
        "", status=304)
    assert _connector(httpserver).status(TicketRef("rt", "20"), etag='"5f2c7b0d8a1e3c4b"') is None
    assert [r.path for r, _ in httpserver.log] == [f"{API}/ticket/20"]


@pytest.mark.parametrize(("label", "state"), [("new", "new"), ("open", "open"), ("resolved", "resolved"),
                                               ("rejected", "closed"), ("escalated", "open")])
def test_lifecycle_statuses(httpserver: HTTPServer, label: str, state: str) -> None:
    httpserver.expect_request(f"{API}/ticket/20").respond_with_response(
        recorded.response("rt", "ticket_get_200", Status=label))
    httpserver.expect_request(f"{API}/ticket/20/history").respond_with_json({"items": []})
    status = _connector(httpserver).status(TicketRef("rt", "20"))
    assert status is not None and status.state == state


def test_status_of_a_missing_ticket(httpserver: HTTPServer) -> None:
    _on(httpserver, "ticket/99", "error_404")
    with pytest.raises(PermanentError, match="Not Found"):
        _connector(httpserver).status(TicketRef("rt", "99"))


# -- find -----------------------------------------------------------------------------------------------

def test_find_by_content_confirms_the_marker_in_the_first_message(httpserver: HTTPServer) -> None:
    sid = SUBMISSION.submission_id
    httpserver.expect_request(f"{API}/tickets", query_string={
        "query": f"Queue = 'General' AND Content LIKE '{sid}'", "orderby": "id", "order": "DESC",
        "per_page": "10"}).respond_with_response(recorded.response("rt", "tickets_search_200"))
    _on(httpserver, "ticket/20/history", "history_200")
    httpserver.expect_request(f"{API}/transaction/100/attachments").respond_with_json(
        {"count": 1, "items": [{"type": "attachment", "id": "200", "ContentType": "text/plain",
                                "Content": _b64(f"words\n\n{submission_marker(sid, 'DL-000055')}\n")}]})
    conn = _connector(httpserver)
    assert conn.find(sid) == TicketRef("rt", "20", httpserver.url_for("/rt/Ticket/Display.html?id=20"))


def test_find_rejects_a_hit_without_the_marker(httpserver: HTTPServer) -> None:
    _on(httpserver, "tickets", "tickets_search_200")
    _on(httpserver, "ticket/20/history", "history_200")
    httpserver.expect_request(f"{API}/transaction/100/attachments").respond_with_json(
        {"items": [{"ContentType": "text/plain", "Content": _b64("someone else's ticket")}]})
    assert _connector(httpserver).find(SUBMISSION.submission_id) is None


def test_find_by_custom_field(httpserver: HTTPServer) -> None:
    sid = SUBMISSION.submission_id
    httpserver.expect_request(f"{API}/tickets", query_string={
        "query": f"'CF.{{Deskline submission}}' = '{sid}'", "orderby": "id", "order": "DESC",
        "per_page": "10"}).respond_with_response(recorded.response("rt", "tickets_search_200"))
    assert _connector(httpserver, submission_field="Deskline submission").find(sid) == TicketRef(
        "rt", "20", httpserver.url_for("/rt/Ticket/Display.html?id=20"))


def test_find_without_hits_and_with_odd_ids(httpserver: HTTPServer) -> None:
    _on(httpserver, "tickets", "tickets_search_empty_200")
    conn = _connector(httpserver)
    assert conn.find(SUBMISSION.submission_id) is None
    assert conn.find("x' OR id > '0") is None  # never put into TicketSQL
    assert len(httpserver.log) == 1


def test_find_refused_points_at_the_custom_field_setting(httpserver: HTTPServer) -> None:
    httpserver.expect_request(f"{API}/tickets").respond_with_json(
        {"message": "Invalid query: full text search is not enabled"}, status=400)
    with pytest.raises(ConfigurationError, match="full text search") as info:
        _connector(httpserver).find(SUBMISSION.submission_id)
    assert info.value.setting == "rt.submission_field"


def test_from_settings(httpserver: HTTPServer) -> None:
    conn = from_settings({"helpdesk.url": httpserver.url_for("/rt/REST/2.0/"), "helpdesk.queue": "Support",
                          "helpdesk.token": f"env:{ENV}", "rt.submission_field": "Deskline"})
    assert conn.api == httpserver.url_for(API) and conn.config.queue == "Support"
    assert conn.info.max_attachment_bytes == 10_000_000


def test_registry_builds_it_from_a_settings_file() -> None:
    from desktop.config import parse
    from desktop.connectors import registry

    settings = parse('[helpdesk]\nbackend = "rt"\nurl = "https://rt.example.org"\nqueue = "General"\n'
                     'token = "env:RT"\n[rt]\nsubmission_field = "Deskline submission"\n')
    conn = registry.from_settings(settings)
    assert isinstance(conn, RtConnector) and conn.config.submission_field == "Deskline submission"
