"""The Zammad connector against a local HTTP server answering as Zammad's API documentation says.

Recorded answers (tests/fixtures/connectors/zammad/) come from https://docs.zammad.org/en/latest/api/intro.html,
https://docs.zammad.org/en/latest/api/ticket/index.html and
https://docs.zammad.org/en/latest/api/ticket/articles.html; the error answers from Zammad's
application_controller/handles_errors.rb (each fixture's ``_source`` names its page). The tests assert what
Deskline sends: method, path, headers and JSON bodies.
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
from desktop.connectors.zammad import ZammadConfig, ZammadConnector, from_settings  # noqa: E402
from tests.connectors import recorded  # noqa: E402

TOKEN = "zt-9f8e7d6c5b4a39281706"
ENV = "DESKLINE_TEST_ZAMMAD_TOKEN"
SUBMISSION = Submission(
    submission_id="b7d2e1f0-3c4a-4b5d-9e6f-a1b2c3d4e5f6",
    title="Outlook keeps asking for the password",
    description="Every ten minutes a password prompt.",
    summary="## Findings\n\n- Clock is 6 minutes behind",
    priority="urgent",
    reporter_email="olga@example.org",
    incident="DL-000777",
)


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, TOKEN)


def _connector(httpserver: HTTPServer, **kw: Any) -> ZammadConnector:
    config: dict[str, Any] = {"http": HttpOptions(httpserver.url_for("/").rstrip("/"), timeout=5.0),
                              "group": "2nd Level", "token_ref": f"env:{ENV}"}
    config.update(kw)
    return ZammadConnector(ZammadConfig(**config))


def _json(request: Request) -> Any:
    return json.loads(request.get_data())


def _sent(httpserver: HTTPServer, method: str, path: str) -> list[Request]:
    return [r for r, _ in httpserver.log if r.method == method and r.path == path]


# -- create ---------------------------------------------------------------------------------------------

def test_create_sends_the_ticket_with_its_first_article(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/v1/tickets", method="POST").respond_with_response(
        recorded.response("zammad", "ticket_create_201"))
    ref = _connector(httpserver).create(SUBMISSION)

    assert ref == TicketRef("zammad", "19", httpserver.url_for("/#ticket/zoom/19"))
    (request,) = _sent(httpserver, "POST", "/api/v1/tickets")
    assert request.headers["Authorization"] == f"Token token={TOKEN}"
    assert request.headers["Content-Type"] == "application/json"
    sent = _json(request)
    assert sent == {
        "title": SUBMISSION.title,
        "group": "2nd Level",
        "priority": "3 high",
        "tags": "deskline,DL-000777",
        "customer_id": "guess:olga@example.org",
        "article": {"subject": SUBMISSION.title, "body": SUBMISSION.body(), "content_type": "text/plain",
                    "type": "note", "internal": False},
    }
    assert submission_marker(SUBMISSION.submission_id, "DL-000777") in sent["article"]["body"]


def test_basic_authentication_with_a_user_name(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/v1/tickets", method="POST").respond_with_response(
        recorded.response("zammad", "ticket_create_201"))
    _connector(httpserver, username="deskline@example.org").create(SUBMISSION)
    (request,) = _sent(httpserver, "POST", "/api/v1/tickets")
    expected = base64.b64encode(f"deskline@example.org:{TOKEN}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected}"


def test_wrong_token_names_the_setting_and_hides_the_token(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/v1/tickets").respond_with_response(recorded.response("zammad", "error_401_token"))
    with pytest.raises(ConfigurationError, match="Can't find User for Token") as info:
        _connector(httpserver).create(SUBMISSION)
    assert info.value.setting == "helpdesk.token" and TOKEN not in str(info.value)


def test_account_without_permission_names_the_token(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/v1/tickets").respond_with_response(
        recorded.response("zammad", "error_403_forbidden"))
    with pytest.raises(ConfigurationError, match="Not authorized") as info:
        _connector(httpserver).create(SUBMISSION)
    assert info.value.setting == "helpdesk.token"


def test_unknown_group_names_the_queue_setting(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/v1/tickets").respond_with_response(recorded.response("zammad", "error_422_group"))
    with pytest.raises(ConfigurationError, match="no group by that name.*Deskline") as info:
        _connector(httpserver).create(SUBMISSION)
    assert info.value.setting == "helpdesk.queue"


def test_other_validation_errors_are_permanent(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/v1/tickets").respond_with_json(
        {"error": "Validation failed: Title can't be blank", "error_human": "Title can't be blank"}, status=422)
    with pytest.raises(PermanentError, match="Title can't be blank") as info:
        _connector(httpserver).create(SUBMISSION)
    assert not isinstance(info.value, ConfigurationError)


def test_server_errors_are_transient_and_keep_retry_after(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/v1/tickets").respond_with_json(
        {"error": "Error ID abc123: Please contact your administrator."}, status=503,
        headers={"Retry-After": "30"})
    with pytest.raises(TransientError, match="503") as info:
        _connector(httpserver).create(SUBMISSION)
    assert info.value.retry_after == 30


def test_missing_token_reference(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV)
    with pytest.raises(ConfigurationError) as info:
        _connector(httpserver).create(SUBMISSION)
    assert info.value.setting == "helpdesk.token"
    assert httpserver.log == []


# -- attachments and comments ---------------------------------------------------------------------------

def test_attach_posts_an_article_with_inline_base64_files_once(httpserver: HTTPServer) -> None:
    articles = recorded.body("zammad", "articles_by_ticket_200")
    posted: list[dict[str, Any]] = []

    def by_ticket(request: Request) -> Response:
        return Response(json.dumps(articles), 200, content_type="application/json")

    def create_article(request: Request) -> Response:
        sent = _json(request)
        posted.append(sent)
        articles.append({"id": 40 + len(posted), "ticket_id": 5, "body": sent["body"], "internal": False,
                         "sender": "Agent", "content_type": "text/plain"})
        return recorded.response("zammad", "article_create_attachments_201")

    httpserver.expect_request("/api/v1/ticket_articles/by_ticket/5").respond_with_handler(by_ticket)
    httpserver.expect_request("/api/v1/ticket_articles", method="POST").respond_with_handler(create_article)
    files = [AttachmentFile("deskline-DL-000777.zip", "application/zip", b"PK\x03\x04zip"),
             AttachmentFile("outlook.log", "text/plain", "пароль\n".encode())]
    conn = _connector(httpserver)
    conn.attach(TicketRef("zammad", "5"), files)

    (sent,) = posted
    assert sent["ticket_id"] == 5 and sent["internal"] is False and sent["type"] == "note"
    assert sent["body"].startswith("Files from Deskline: deskline-DL-000777.zip, outlook.log")
    assert "[Deskline ref " in sent["body"]
    assert sent["attachments"] == [
        {"filename": "deskline-DL-000777.zip", "data": base64.b64encode(files[0].data).decode(),
         "mime-type": "application/zip"},
        {"filename": "outlook.log", "data": base64.b64encode(files[1].data).decode(), "mime-type": "text/plain"},
    ]
    # a retry (the answer was lost) finds its reference line on the ticket and adds nothing
    conn.attach(TicketRef("zammad", "5"), files)
    assert len(posted) == 1


def test_attach_splits_by_request_size_and_refuses_too_large_or_wrong_type(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/v1/ticket_articles/by_ticket/5").respond_with_json([])
    httpserver.expect_request("/api/v1/ticket_articles", method="POST").respond_with_response(
        recorded.response("zammad", "article_create_attachments_201"))
    conn = _connector(httpserver, max_request_bytes=256 * 1024 + 40_000)  # 30 000 bytes of files a request
    files = [AttachmentFile(f"{i}.log", "text/plain", b"x" * 20_000) for i in range(3)]
    conn.attach(TicketRef("zammad", "5"), files)
    bodies = [_json(r) for r in _sent(httpserver, "POST", "/api/v1/ticket_articles")]
    assert [len(b["attachments"]) for b in bodies] == [1, 1, 1]
    assert "(part 3 of 3)" in bodies[2]["body"]

    with pytest.raises(PermanentError, match="big.log is .* larger than Zammad accepts"):
        conn.attach(TicketRef("zammad", "5"), [AttachmentFile("big.log", "text/plain", b"x" * 31_000)])
    typed = _connector(httpserver, allowed_extensions=(".log", "zip"))
    with pytest.raises(PermanentError, match=r"does not take \.exe files \(setup.exe\)"):
        typed.attach(TicketRef("zammad", "5"), [AttachmentFile("setup.exe", "application/octet-stream", b"MZ")])
    assert len(_sent(httpserver, "POST", "/api/v1/ticket_articles")) == 3


def test_comment_and_rating_are_public_articles(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/v1/ticket_articles/by_ticket/19").respond_with_json([])
    httpserver.expect_request("/api/v1/ticket_articles", method="POST").respond_with_response(
        recorded.response("zammad", "article_create_attachments_201"))
    conn = _connector(httpserver)
    conn.comment(TicketRef("zammad", "19"), "It also happens in Teams.")
    conn.rate(TicketRef("zammad", "19"), 2, "Took a week.")
    comment, rating = (_json(r) for r in _sent(httpserver, "POST", "/api/v1/ticket_articles"))
    assert comment["body"].startswith("It also happens in Teams.\n\n[Deskline ref ")
    assert "attachments" not in comment and comment["internal"] is False
    assert rating["body"].startswith("Satisfaction rating: 2/5 ★★☆☆☆\n\nTook a week.")
    assert conn.info.has_rating is False


def test_ticket_id_must_be_a_zammad_id(httpserver: HTTPServer) -> None:
    with pytest.raises(PermanentError, match="not a Zammad ticket id"):
        _connector(httpserver).comment(TicketRef("zammad", "../users"), "x")
    assert httpserver.log == []


# -- status ---------------------------------------------------------------------------------------------

def test_status_maps_the_state_and_reads_public_agent_replies(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/v1/tickets/3", query_string="expand=true").respond_with_response(
        recorded.response("zammad", "ticket_show_expand_200"))
    httpserver.expect_request("/api/v1/ticket_articles/by_ticket/3").respond_with_response(
        recorded.response("zammad", "articles_by_ticket_200"))
    conn = _connector(httpserver)
    status = conn.status(TicketRef("zammad", "3"))

    assert status is not None
    assert (status.state, status.label) == ("closed", "closed")
    assert status.updated == status.etag == "2025-06-24T10:46:58.554Z"
    (reply,) = status.replies  # the customer's own e-mail is not a reply
    assert reply.reply_id == "10" and reply.author == "Emma Taylor via <order@chrispresso.com>"
    assert reply.text.startswith("Hi David,\n\nnice, we will ship it to your delivery address:")
    assert "<br>" not in reply.text

    httpserver.clear_log()
    assert conn.status(TicketRef("zammad", "3"), etag="2025-06-24T10:46:58.554Z") is None
    assert [r.path for r, _ in httpserver.log] == ["/api/v1/tickets/3"]  # unchanged: no articles read


@pytest.mark.parametrize(("state", "normal"), [("new", "new"), ("open", "open"), ("pending reminder", "pending"),
                                                ("pending close", "pending"), ("merged", "closed"),
                                                ("in progress", "open")])
def test_state_names_map_to_deskline_states(httpserver: HTTPServer, state: str, normal: str) -> None:
    httpserver.expect_request("/api/v1/tickets/3").respond_with_response(
        recorded.response("zammad", "ticket_show_expand_200", state=state))
    httpserver.expect_request("/api/v1/ticket_articles/by_ticket/3").respond_with_json([])
    status = _connector(httpserver).status(TicketRef("zammad", "3"))
    assert status is not None and (status.state, status.label) == (normal, state)


def test_status_of_a_deleted_ticket_is_permanent_not_a_setting(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/v1/tickets/999").respond_with_response(
        recorded.response("zammad", "error_404_ticket"))
    with pytest.raises(PermanentError, match="no longer on Zammad") as info:
        _connector(httpserver).status(TicketRef("zammad", "999"))
    assert not isinstance(info.value, ConfigurationError)


# -- find -----------------------------------------------------------------------------------------------

def test_find_searches_and_confirms_the_marker(httpserver: HTTPServer) -> None:
    sid = SUBMISSION.submission_id
    httpserver.expect_request("/api/v1/tickets/search",
                              query_string={"query": f'"{sid}"', "limit": "10"}).respond_with_response(
        recorded.response("zammad", "search_expand_200"))
    httpserver.expect_request("/api/v1/ticket_articles/by_ticket/1").respond_with_json(
        [{"id": 1, "ticket_id": 1, "body": f"words\n\n{submission_marker(sid, 'DL-000777')}", "internal": False,
          "sender": "Customer", "content_type": "text/plain"}])
    assert _connector(httpserver).find(sid) == TicketRef("zammad", "1", httpserver.url_for("/#ticket/zoom/1"))


def test_find_reads_the_earlier_search_answer_and_ignores_hits_without_the_marker(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/v1/tickets/search").respond_with_response(
        recorded.response("zammad", "search_legacy_200"))
    for ticket_id in (9, 10, 11):
        httpserver.expect_request(f"/api/v1/ticket_articles/by_ticket/{ticket_id}").respond_with_response(
            recorded.response("zammad", "articles_by_ticket_200"))
    assert _connector(httpserver).find(SUBMISSION.submission_id) is None
    checked = [r.path for r, _ in httpserver.log if "by_ticket" in r.path]
    assert checked == ["/api/v1/ticket_articles/by_ticket/9", "/api/v1/ticket_articles/by_ticket/10",
                       "/api/v1/ticket_articles/by_ticket/11"]


def test_find_with_no_hits(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/v1/tickets/search").respond_with_json([])
    assert _connector(httpserver).find("nothing") is None


# -- settings -------------------------------------------------------------------------------------------

def test_from_settings(httpserver: HTTPServer) -> None:
    conn = from_settings({"helpdesk.url": httpserver.url_for("/"), "helpdesk.queue": "Users",
                          "helpdesk.token": f"env:{ENV}", "helpdesk.max_upload_mb": 10.0,
                          "zammad.tags": ["deskline", "laptop"]})
    assert conn.config.group == "Users" and conn.config.tags == ("deskline", "laptop")
    assert conn.info.max_total_bytes is not None and conn.info.max_total_bytes < 10 * 1024 * 1024 * 3 / 4
    with pytest.raises(ConfigurationError) as info:
        from_settings({"helpdesk.url": httpserver.url_for("/"), "helpdesk.queue": ""})
    assert info.value.setting == "helpdesk.queue"


def test_registry_builds_it_from_a_settings_file() -> None:
    from desktop.config import parse
    from desktop.connectors import registry

    settings = parse('[helpdesk]\nbackend = "zammad"\nurl = "https://zammad.example.org"\nqueue = "Users"\n'
                     'token = "env:ZAMMAD"\n[zammad]\ntags = ["deskline", "office"]\n')
    conn = registry.from_settings(settings)
    assert isinstance(conn, ZammadConnector) and conn.config.tags == ("deskline", "office")
