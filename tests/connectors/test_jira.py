"""The Jira Service Management connector against a local HTTP server answering as the servicedeskapi reference
says (https://developer.atlassian.com/cloud/jira/service-desk/rest/api-group-request/ and
https://developer.atlassian.com/cloud/jira/service-desk/rest/api-group-servicedesk/). Recorded answers in
tests/fixtures/connectors/jira/ name their source; the create and comment answers are the reference's own
examples. The tests assert what Deskline sends: headers, JSON bodies and multipart parts.
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
)
from desktop.connectors.http import HttpOptions  # noqa: E402
from desktop.connectors.jira import JiraConfig, JiraConnector, from_settings  # noqa: E402
from tests.connectors import recorded  # noqa: E402

TOKEN = "ATATT3xFfGF0-jira-api-token-1234"
ENV = "DESKLINE_TEST_JIRA_TOKEN"
API = "/rest/servicedeskapi"
SUBMISSION = Submission(
    submission_id="9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b",
    title="Teams   crashes\nwhen sharing the screen",
    description="Teams closes as soon as I share my screen.",
    summary="## Findings\n\n- GPU driver from 2019",
    incident="DL-000321",
)
WEB = "https://your-domain.atlassian.net/servicedesk/customer/portal/10/HELPDESK-1"


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, TOKEN)


def _connector(httpserver: HTTPServer, **kw: Any) -> JiraConnector:
    config: dict[str, Any] = {"http": HttpOptions(httpserver.url_for("/"), timeout=5.0), "service_desk": "10",
                              "request_type": "25", "token_ref": f"env:{ENV}", "username": "fred@example.com"}
    config.update(kw)
    return JiraConnector(JiraConfig(**config))


def _on(httpserver: HTTPServer, path: str, fixture: str, **kw: Any) -> None:
    httpserver.expect_request(f"{API}/{path}", **kw).respond_with_response(recorded.response("jira", fixture))


def _sent(httpserver: HTTPServer, method: str, path: str) -> list[Request]:
    return [r for r, _ in httpserver.log if r.method == method and r.path == f"{API}/{path}"]


# -- create ---------------------------------------------------------------------------------------------

def test_create_sends_service_desk_request_type_and_fields(httpserver: HTTPServer) -> None:
    _on(httpserver, "request", "request_create_201", method="POST")
    ref = _connector(httpserver).create(SUBMISSION)

    assert ref == TicketRef("jira", "HELPDESK-1", WEB)
    (request,) = _sent(httpserver, "POST", "request")
    expected = base64.b64encode(f"fred@example.com:{TOKEN}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    assert json.loads(request.get_data()) == {
        "serviceDeskId": "10", "requestTypeId": "25",
        "requestFieldValues": {"summary": "Teams crashes when sharing the screen", "description": SUBMISSION.body()},
    }


def test_personal_access_token_without_user_name_is_a_bearer_token(httpserver: HTTPServer) -> None:
    _on(httpserver, "request", "request_create_201", method="POST")
    _connector(httpserver, username="").create(SUBMISSION)
    (request,) = _sent(httpserver, "POST", "request")
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize(("fixture", "setting", "words"), [
    ("error_401", "helpdesk.token", "not logged in"),
    ("error_403", "helpdesk.token", "may not do this"),
    ("error_404_servicedesk", "helpdesk.queue", "no such service desk"),
    ("error_400_request_type", "jira.request_type", "no such request type"),
])
def test_configuration_errors_name_the_setting(httpserver: HTTPServer, fixture: str, setting: str,
                                               words: str) -> None:
    _on(httpserver, "request", fixture, method="POST")
    with pytest.raises(ConfigurationError, match=words) as info:
        _connector(httpserver).create(SUBMISSION)
    assert info.value.setting == setting and TOKEN not in str(info.value)


def test_field_validation_is_permanent_with_jiras_words(httpserver: HTTPServer) -> None:
    _on(httpserver, "request", "error_400_field", method="POST")
    with pytest.raises(PermanentError, match="Summary is required") as info:
        _connector(httpserver).create(SUBMISSION)
    assert not isinstance(info.value, ConfigurationError)


def test_rate_limit_is_transient_with_retry_after(httpserver: HTTPServer) -> None:
    httpserver.expect_request(f"{API}/request", method="POST").respond_with_data(
        "", status=429, headers={"Retry-After": "17"})
    with pytest.raises(TransientError) as info:
        _connector(httpserver).create(SUBMISSION)
    assert info.value.retry_after == 17


def test_settings_are_checked_before_anything_is_sent(httpserver: HTTPServer) -> None:
    for kw, setting in (({"service_desk": ""}, "helpdesk.queue"), ({"request_type": ""}, "jira.request_type")):
        with pytest.raises(ConfigurationError) as info:
            _connector(httpserver, **kw)
        assert info.value.setting == setting
    assert httpserver.log == []


# -- attachments, comments, feedback --------------------------------------------------------------------

def test_attach_uploads_temporary_files_then_attaches_them_publicly_once(httpserver: HTTPServer) -> None:
    comments = recorded.body("jira", "comments_200")
    uploads: list[tuple[dict[str, str], list[tuple[str, bytes, str]]]] = []

    def upload(request: Request) -> Response:
        parts = [(f.filename or "", f.read(), f.mimetype) for f in request.files.getlist("file")]
        uploads.append((dict(request.headers), parts))
        return recorded.response("jira", "attach_temporary_file_201")

    def attach(request: Request) -> Response:
        sent = json.loads(request.get_data())
        comments["values"].append({"id": "1002", "body": sent["additionalComment"]["body"], "public": True,
                                   "author": comments["values"][0]["author"]})
        return recorded.response("jira", "attachment_create_201")

    httpserver.expect_request(f"{API}/request/HELPDESK-1/comment").respond_with_handler(
        lambda r: Response(json.dumps(comments), 200, content_type="application/json"))
    httpserver.expect_request(f"{API}/servicedesk/10/attachTemporaryFile", method="POST").respond_with_handler(upload)
    httpserver.expect_request(f"{API}/request/HELPDESK-1/attachment", method="POST").respond_with_handler(attach)
    files = [AttachmentFile("deskline-DL-000321.zip", "application/zip", b"PK\x03\x04 bundle"),
             AttachmentFile("teams.log", "text/plain", b"crash at 0x0000\n")]
    conn = _connector(httpserver)
    conn.attach(TicketRef("jira", "HELPDESK-1", WEB), files)

    ((headers, parts),) = uploads
    assert headers["X-Atlassian-Token"] == "no-check"
    assert parts == [("deskline-DL-000321.zip", files[0].data, "application/zip"),
                     ("teams.log", files[1].data, "text/plain")]
    (attach_request,) = _sent(httpserver, "POST", "request/HELPDESK-1/attachment")
    sent = json.loads(attach_request.get_data())
    assert sent["temporaryAttachmentIds"] == ["temp910441317820424274", "temp3600755449679003114"]
    assert sent["public"] is True
    assert sent["additionalComment"]["body"].startswith("Files from Deskline: deskline-DL-000321.zip, teams.log\n\n"
                                                        "[Deskline ref ")
    conn.attach(TicketRef("jira", "HELPDESK-1", WEB), files)  # a retry: the reference is on the request
    assert len(uploads) == 1


def test_attach_refuses_a_file_over_the_limit(httpserver: HTTPServer) -> None:
    conn = _connector(httpserver, max_file_bytes=100)
    with pytest.raises(PermanentError, match="larger than Jira accepts"):
        conn.attach(TicketRef("jira", "HELPDESK-1"), [AttachmentFile("dump.bin", "application/octet-stream",
                                                                     b"\0" * 101)])
    assert httpserver.log == []


def test_unknown_service_desk_on_upload_names_the_queue(httpserver: HTTPServer) -> None:
    httpserver.expect_request(f"{API}/request/HELPDESK-1/comment").respond_with_json({"values": []})
    _on(httpserver, "servicedesk/10/attachTemporaryFile", "error_404_servicedesk", method="POST")
    with pytest.raises(ConfigurationError) as info:
        _connector(httpserver).attach(TicketRef("jira", "HELPDESK-1"), [AttachmentFile("a.txt", "text/plain", b"a")])
    assert info.value.setting == "helpdesk.queue"


def test_comment_is_public_and_sent_once(httpserver: HTTPServer) -> None:
    comments: list[dict[str, Any]] = []

    def add(request: Request) -> Response:
        comments.append({"id": "1003", "public": True, **json.loads(request.get_data())})
        return recorded.response("jira", "comment_create_201")

    httpserver.expect_request(f"{API}/request/HELPDESK-1/comment", method="GET").respond_with_handler(
        lambda r: Response(json.dumps({"values": comments, "isLastPage": True}), 200, content_type="application/json"))
    httpserver.expect_request(f"{API}/request/HELPDESK-1/comment", method="POST").respond_with_handler(add)
    conn = _connector(httpserver)
    conn.comment(TicketRef("jira", "HELPDESK-1"), "Also with the web version.")
    conn.comment(TicketRef("jira", "HELPDESK-1"), "Also with the web version.")
    (post,) = _sent(httpserver, "POST", "request/HELPDESK-1/comment")
    body = json.loads(post.get_data())
    assert body["public"] is True and body["body"].startswith("Also with the web version.\n\n[Deskline ref ")
    (get,) = [r for r in _sent(httpserver, "GET", "request/HELPDESK-1/comment")][:1]
    assert get.args["public"] == "true" and get.args["internal"] == "false"


def test_rating_goes_to_jiras_feedback(httpserver: HTTPServer) -> None:
    _on(httpserver, "request/HELPDESK-1/feedback", "feedback_201", method="POST")
    conn = _connector(httpserver)
    conn.rate(TicketRef("jira", "HELPDESK-1"), 4, "Great work!")
    (post,) = _sent(httpserver, "POST", "request/HELPDESK-1/feedback")
    assert json.loads(post.get_data()) == {"type": "csat", "rating": 4, "comment": {"body": "Great work!"}}
    assert conn.info.has_rating


def test_rating_becomes_a_comment_where_jira_takes_no_feedback(httpserver: HTTPServer) -> None:
    _on(httpserver, "request/HELPDESK-1/feedback", "error_400_feedback", method="POST")
    httpserver.expect_request(f"{API}/request/HELPDESK-1/comment", method="GET").respond_with_json({"values": []})
    _on(httpserver, "request/HELPDESK-1/comment", "comment_create_201", method="POST")
    _connector(httpserver).rate(TicketRef("jira", "HELPDESK-1"), 2, "Slow")
    (post,) = _sent(httpserver, "POST", "request/HELPDESK-1/comment")
    assert json.loads(post.get_data())["body"].startswith("Satisfaction rating: 2/5 ★★☆☆☆\n\nSlow")


def test_rating_with_bad_credentials_is_not_turned_into_a_comment(httpserver: HTTPServer) -> None:
    _on(httpserver, "request/HELPDESK-1/feedback", "error_401", method="POST")
    with pytest.raises(ConfigurationError):
        _connector(httpserver).rate(TicketRef("jira", "HELPDESK-1"), 5)
    assert _sent(httpserver, "POST", "request/HELPDESK-1/comment") == []


# -- status and find ------------------------------------------------------------------------------------

def test_status_reads_current_status_and_agent_comments(httpserver: HTTPServer) -> None:
    _on(httpserver, "request/HELPDESK-1", "request_get_200")
    _on(httpserver, "request/HELPDESK-1/comment", "comments_200")
    conn = _connector(httpserver)
    status = conn.status(TicketRef("jira", "HELPDESK-1", WEB))
    assert status is not None
    assert (status.state, status.label) == ("pending", "Waiting for customer")
    assert status.updated == "2015-10-09T10:30:00+0700"
    (reply,) = status.replies  # the reporter's own comment is not a reply
    assert (reply.reply_id, reply.author) == ("1001", "Dana Agent")
    assert reply.text == "We have ordered a new mouse for you.\n\nIt arrives on Monday."
    assert conn.status(TicketRef("jira", "HELPDESK-1"), etag=status.etag) is None


@pytest.mark.parametrize(("category", "label", "state"), [
    ("NEW", "Waiting for Support", "new"), ("INDETERMINATE", "In Progress", "open"),
    ("DONE", "Resolved", "resolved"), ("DONE", "Closed", "closed"), ("UNDEFINED", "Triage", "open")])
def test_status_categories(httpserver: HTTPServer, category: str, label: str, state: str) -> None:
    answer = recorded.body("jira", "request_get_200")
    answer["currentStatus"].update(statusCategory=category, status=label)
    httpserver.expect_request(f"{API}/request/HELPDESK-1").respond_with_json(answer)
    httpserver.expect_request(f"{API}/request/HELPDESK-1/comment").respond_with_json({"values": []})
    status = _connector(httpserver).status(TicketRef("jira", "HELPDESK-1"))
    assert status is not None and status.state == state


def test_status_of_a_deleted_request(httpserver: HTTPServer) -> None:
    _on(httpserver, "request/HELPDESK-9", "error_404_request")
    with pytest.raises(PermanentError, match="no longer in Jira") as info:
        _connector(httpserver).status(TicketRef("jira", "HELPDESK-9"))
    assert not isinstance(info.value, ConfigurationError)


def test_find_reads_the_users_recent_requests_for_the_marker(httpserver: HTTPServer) -> None:
    httpserver.expect_request(f"{API}/request", method="GET", query_string={
        "requestOwnership": "OWNED_REQUESTS", "serviceDeskId": "10", "requestTypeId": "25", "start": "0",
        "limit": "50"}).respond_with_response(recorded.response("jira", "request_list_200"))
    conn = _connector(httpserver)
    assert conn.find(SUBMISSION.submission_id) == TicketRef("jira", "HELPDESK-1", WEB)
    assert conn.find("00000000-0000-0000-0000-000000000000") is None


def test_find_pages_a_bounded_number_of_times(httpserver: HTTPServer) -> None:
    page = recorded.body("jira", "request_list_200")
    page["isLastPage"] = False
    page["values"] = [{**page["values"][0], "requestFieldValues": []}]
    httpserver.expect_request(f"{API}/request", method="GET").respond_with_json(page)
    assert _connector(httpserver).find(SUBMISSION.submission_id) is None
    assert [r.args["start"] for r in _sent(httpserver, "GET", "request")] == ["0", "50"]


def test_from_settings(httpserver: HTTPServer) -> None:
    conn = from_settings({"helpdesk.url": httpserver.url_for("/"), "helpdesk.queue": "HELPDESK",
                          "jira.request_type": "25", "helpdesk.token": f"env:{ENV}",
                          "helpdesk.username": "fred@example.com"})
    assert conn.config.service_desk == "HELPDESK" and conn.info.max_attachment_bytes == 10 * 1024 * 1024
    with pytest.raises(ConfigurationError) as info:
        from_settings({"helpdesk.url": httpserver.url_for("/"), "helpdesk.queue": "10"})
    assert info.value.setting == "jira.request_type"


def test_registry_builds_it_from_a_settings_file() -> None:
    from desktop.config import parse
    from desktop.connectors import registry

    settings = parse('[helpdesk]\nbackend = "jira"\nurl = "https://example.atlassian.net"\nqueue = "HD"\n'
                     'username = "it@example.org"\ntoken = "env:JIRA"\n[jira]\nrequest_type = "25"\n')
    conn = registry.from_settings(settings)
    assert isinstance(conn, JiraConnector) and conn.config.request_type == "25"
