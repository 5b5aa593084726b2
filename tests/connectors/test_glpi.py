"""The GLPI connector against a local HTTP server answering as GLPI's REST API documentation says
(https://github.com/glpi-project/glpi/blob/10.0/bugfixes/apirest.md; error arrays as src/Api/API.php's
returnError builds them). Each recorded answer in tests/fixtures/connectors/glpi/ names its source. The tests
assert what Deskline sends: session and app tokens, JSON ``input`` bodies, the multipart upload manifest.
"""

from __future__ import annotations

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
from desktop.connectors.glpi import GlpiConfig, GlpiConnector, from_settings  # noqa: E402
from desktop.connectors.http import HttpOptions  # noqa: E402
from tests.connectors import recorded  # noqa: E402

USER_TOKEN = "glpi-user-tok-5d41402abc4b2a76"
APP_TOKEN = "f7g3csp8mgatg5ebc5elnazakw20i9fyev1qopya7"
SESSION = "83af7e620c83a50a18d3eac2f6ed05a3ca0bea62"
API = "/glpi/apirest.php"
SUBMISSION = Submission(
    submission_id="3c1f9a2b-7d4e-4f60-8a1b-2c3d4e5f6a7b",
    title="Scanner not found",
    description="The scanner is not found since the update.\n<b>not bold</b>",
    summary="## Findings\n\n- USB device missing",
    priority="high",
    incident="DL-000009",
)


@pytest.fixture(autouse=True)
def _tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESKLINE_TEST_GLPI_USER", USER_TOKEN)
    monkeypatch.setenv("DESKLINE_TEST_GLPI_APP", APP_TOKEN)


def _connector(httpserver: HTTPServer, **kw: Any) -> GlpiConnector:
    config: dict[str, Any] = {"http": HttpOptions(httpserver.url_for("/glpi"), timeout=5.0),
                              "token_ref": "env:DESKLINE_TEST_GLPI_USER", "app_token_ref": "env:DESKLINE_TEST_GLPI_APP"}
    config.update(kw)
    return GlpiConnector(GlpiConfig(**config))


def _login(httpserver: HTTPServer) -> None:
    _on(httpserver, "initSession", "init_session_200", method="GET")


def _on(httpserver: HTTPServer, path: str, fixture: str, **kw: Any) -> None:
    httpserver.expect_request(f"{API}/{path}", **kw).respond_with_response(recorded.response("glpi", fixture))


def _sent(httpserver: HTTPServer, method: str, path: str) -> list[Request]:
    return [r for r, _ in httpserver.log if r.method == method and r.path == f"{API}/{path}"]


# -- session and create ---------------------------------------------------------------------------------

def test_create_opens_a_session_and_adds_the_ticket(httpserver: HTTPServer) -> None:
    _login(httpserver)
    _on(httpserver, "ITILCategory/3", "itilcategory_200")
    _on(httpserver, "Ticket", "ticket_add_201", method="POST")
    conn = _connector(httpserver, category="3")
    ref = conn.create(SUBMISSION)

    assert ref == TicketRef("glpi", "15", httpserver.url_for("/glpi/front/ticket.form.php?id=15"))
    (login,) = _sent(httpserver, "GET", "initSession")
    assert login.headers["Authorization"] == f"user_token {USER_TOKEN}"
    assert login.headers["App-Token"] == APP_TOKEN
    (add,) = _sent(httpserver, "POST", "Ticket")
    assert add.headers["Session-Token"] == SESSION and add.headers["App-Token"] == APP_TOKEN
    assert add.headers["Content-Type"] == "application/json"
    ticket = json.loads(add.get_data())["input"]
    assert {k: ticket[k] for k in ("name", "urgency", "type", "itilcategories_id")} == {
        "name": "Scanner not found", "urgency": 4, "type": 1, "itilcategories_id": 3}
    assert ticket["content"].startswith(
        "<p>The scanner is not found since the update.<br>&lt;b&gt;not bold&lt;/b&gt;</p>")
    assert f"<p>Deskline submission {SUBMISSION.submission_id} (DL-000009)</p>" in ticket["content"]
    # one session for everything; the category is checked once
    conn.create(SUBMISSION)
    assert len(_sent(httpserver, "GET", "initSession")) == 1
    assert len(_sent(httpserver, "GET", "ITILCategory/3")) == 1


def test_close_kills_the_session(httpserver: HTTPServer) -> None:
    _login(httpserver)
    _on(httpserver, "Ticket", "ticket_add_201", method="POST")
    _on(httpserver, "killSession", "kill_session_200")
    conn = _connector(httpserver)
    conn.create(SUBMISSION)
    conn.close()
    (kill,) = _sent(httpserver, "GET", "killSession")
    assert kill.headers["Session-Token"] == SESSION


def test_an_expired_session_is_opened_again_once(httpserver: HTTPServer) -> None:
    _login(httpserver)
    answers = [recorded.response("glpi", "error_401_session"), recorded.response("glpi", "ticket_add_201")]
    httpserver.expect_request(f"{API}/Ticket", method="POST").respond_with_handler(lambda r: answers.pop(0))
    assert _connector(httpserver).create(SUBMISSION).ticket_id == "15"
    assert len(_sent(httpserver, "GET", "initSession")) == 2


def test_wrong_user_token_names_the_setting_and_hides_the_token(httpserver: HTTPServer) -> None:
    _on(httpserver, "initSession", "error_401_user_token")
    with pytest.raises(ConfigurationError, match="user_token seems invalid") as info:
        _connector(httpserver).create(SUBMISSION)
    assert info.value.setting == "helpdesk.token"
    assert USER_TOKEN not in str(info.value) and APP_TOKEN not in str(info.value)


def test_wrong_app_token_names_its_setting(httpserver: HTTPServer) -> None:
    _on(httpserver, "initSession", "error_400_app_token")
    with pytest.raises(ConfigurationError, match="app_token seems wrong$") as info:
        _connector(httpserver).create(SUBMISSION)
    assert info.value.setting == "glpi.app_token"


def test_unknown_category_names_the_queue_setting(httpserver: HTTPServer) -> None:
    _login(httpserver)
    _on(httpserver, "ITILCategory/99", "error_404_item")
    with pytest.raises(ConfigurationError, match="Item not found") as info:
        _connector(httpserver, category="99").create(SUBMISSION)
    assert info.value.setting == "helpdesk.queue"
    assert _sent(httpserver, "POST", "Ticket") == []


def test_missing_right_names_the_account(httpserver: HTTPServer) -> None:
    _login(httpserver)
    _on(httpserver, "Ticket", "error_401_right", method="POST")
    with pytest.raises(ConfigurationError, match="profile may not do this") as info:
        _connector(httpserver).create(SUBMISSION)
    assert info.value.setting == "helpdesk.token"


def test_refused_add_is_permanent_with_glpis_words(httpserver: HTTPServer) -> None:
    _login(httpserver)
    _on(httpserver, "Ticket", "error_400_add", method="POST")
    with pytest.raises(PermanentError, match="Mandatory fields are not filled") as info:
        _connector(httpserver).create(SUBMISSION)
    assert not isinstance(info.value, ConfigurationError)


def test_server_error_is_transient(httpserver: HTTPServer) -> None:
    _login(httpserver)
    httpserver.expect_request(f"{API}/Ticket", method="POST").respond_with_data(
        "<html>502 Bad Gateway</html>", status=502, content_type="text/html")
    with pytest.raises(TransientError, match="502"):
        _connector(httpserver).create(SUBMISSION)


def test_apirest_php_in_the_address_is_accepted(httpserver: HTTPServer) -> None:
    conn = _connector(httpserver, http=HttpOptions(httpserver.url_for(API), timeout=5.0))
    assert conn.api == httpserver.url_for(API)
    with pytest.raises(ConfigurationError) as info:
        _connector(httpserver, category="Printers")
    assert info.value.setting == "helpdesk.queue"


# -- documents and follow-ups ---------------------------------------------------------------------------

def test_attach_uploads_each_file_with_a_manifest_linking_it_to_the_ticket(httpserver: HTTPServer) -> None:
    _login(httpserver)
    uploaded: list[str] = []

    def search_documents(request: Request) -> Response:
        value = request.args["criteria[0][value]"]
        if any(value in name for name in uploaded):
            return recorded.response("glpi", "search_ticket_list_200")
        return recorded.response("glpi", "search_empty_200")

    received: list[tuple[dict[str, Any], str, bytes, str]] = []

    def add_document(request: Request) -> Response:
        manifest = json.loads(request.form["uploadManifest"])
        upload = request.files["filename[0]"]
        received.append((manifest, str(upload.filename), upload.read(), upload.mimetype))
        uploaded.append(manifest["input"]["name"])
        return recorded.response("glpi", "document_add_201")

    httpserver.expect_request(f"{API}/search/Document").respond_with_handler(search_documents)
    httpserver.expect_request(f"{API}/Document", method="POST").respond_with_handler(add_document)
    files = [AttachmentFile("deskline-DL-000009.zip", "application/zip", b"PK\x03\x04 bundle"),
             AttachmentFile("setupapi.log", "text/plain", b"device not found\n")]
    conn = _connector(httpserver)
    conn.attach(TicketRef("glpi", "15"), files)

    posts = _sent(httpserver, "POST", "Document")
    assert len(posts) == 2
    first = posts[0]
    assert first.headers["Session-Token"] == SESSION
    assert first.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    manifest, filename, data, mimetype = received[0]
    assert manifest["input"]["_filename"] == ["deskline-DL-000009.zip"]
    assert manifest["input"]["itemtype"] == "Ticket" and manifest["input"]["items_id"] == 15
    assert manifest["input"]["name"].startswith("deskline-DL-000009.zip [Deskline ref ")
    assert (filename, data, mimetype) == ("deskline-DL-000009.zip", files[0].data, "application/zip")
    assert received[1][1:3] == ("setupapi.log", files[1].data)
    # a retry finds both documents by their reference and uploads nothing
    conn.attach(TicketRef("glpi", "15"), files)
    assert len(_sent(httpserver, "POST", "Document")) == 2


def test_attach_refuses_a_file_over_the_limit_before_sending(httpserver: HTTPServer) -> None:
    conn = _connector(httpserver, max_file_bytes=1000)
    with pytest.raises(PermanentError, match="big.zip is 2 KB, larger than GLPI accepts"):
        conn.attach(TicketRef("glpi", "15"), [AttachmentFile("big.zip", "application/zip", b"z" * 2048)])
    assert httpserver.log == []


def test_comment_is_a_public_followup_added_once(httpserver: HTTPServer) -> None:
    _login(httpserver)
    followups = recorded.body("glpi", "ticket_followups_200")

    def add_followup(request: Request) -> Response:
        followup = json.loads(request.get_data())["input"]
        followups.append({"id": 99, "content": followup["content"].replace("<", "&lt;").replace(">", "&gt;"),
                          "is_private": 0, "users_id": 7})
        return recorded.response("glpi", "followup_add_201")

    httpserver.expect_request(f"{API}/Ticket/15/ITILFollowup").respond_with_handler(
        lambda r: Response(json.dumps(followups), 200, content_type="application/json"))
    httpserver.expect_request(f"{API}/ITILFollowup", method="POST").respond_with_handler(add_followup)
    conn = _connector(httpserver)
    conn.comment(TicketRef("glpi", "15"), "It works on the other laptop.")
    conn.comment(TicketRef("glpi", "15"), "It works on the other laptop.")  # a retry after a lost answer

    (post,) = _sent(httpserver, "POST", "ITILFollowup")
    sent = json.loads(post.get_data())["input"]
    assert sent["itemtype"] == "Ticket" and sent["items_id"] == 15 and sent["is_private"] == 0
    assert sent["content"].startswith("<p>It works on the other laptop.</p><p>[Deskline ref ")


def test_rating_becomes_a_followup(httpserver: HTTPServer) -> None:
    _login(httpserver)
    httpserver.expect_request(f"{API}/Ticket/15/ITILFollowup").respond_with_json([])
    _on(httpserver, "ITILFollowup", "followup_add_201", method="POST")
    _connector(httpserver).rate(TicketRef("glpi", "15"), 5, "Fixed in an hour")
    (post,) = _sent(httpserver, "POST", "ITILFollowup")
    assert "Satisfaction rating: 5/5" in json.loads(post.get_data())["input"]["content"]


# -- status and find ------------------------------------------------------------------------------------

def test_status_maps_glpi_status_and_reads_public_answers_of_others(httpserver: HTTPServer) -> None:
    _login(httpserver)
    _on(httpserver, "Ticket/15", "ticket_get_200")
    _on(httpserver, "Ticket/15/ITILFollowup", "ticket_followups_200")
    conn = _connector(httpserver)
    status = conn.status(TicketRef("glpi", "15"))
    assert status is not None
    assert (status.state, status.label, status.etag) == ("pending", "Pending", "2024-05-02 11:30:00")
    (reply,) = status.replies  # not the requester's own follow-up (user 7), not the private note
    assert reply.reply_id == "90" and reply.author == "user 4"
    assert reply.text == "Driver issue, we need the machine.\nCan we come by at 2\xa0pm?"

    httpserver.clear_log()
    assert conn.status(TicketRef("glpi", "15"), etag="2024-05-02 11:30:00") is None
    assert [r.path for r, _ in httpserver.log] == [f"{API}/Ticket/15"]


@pytest.mark.parametrize(("code", "state"), [(1, "new"), (2, "open"), (3, "open"), (5, "resolved"), (6, "closed")])
def test_status_codes(httpserver: HTTPServer, code: int, state: str) -> None:
    _login(httpserver)
    httpserver.expect_request(f"{API}/Ticket/15").respond_with_response(
        recorded.response("glpi", "ticket_get_200", status=code))
    httpserver.expect_request(f"{API}/Ticket/15/ITILFollowup").respond_with_json([])
    status = _connector(httpserver).status(TicketRef("glpi", "15"))
    assert status is not None and status.state == state


def test_status_of_a_deleted_ticket(httpserver: HTTPServer) -> None:
    _login(httpserver)
    _on(httpserver, "Ticket/16", "error_404_item")
    with pytest.raises(PermanentError, match="no longer in GLPI") as info:
        _connector(httpserver).status(TicketRef("glpi", "16"))
    assert not isinstance(info.value, ConfigurationError)


@pytest.mark.parametrize("answer", ["search_ticket_200", "search_ticket_list_200"])
def test_find_searches_the_description(httpserver: HTTPServer, answer: str) -> None:
    _login(httpserver)
    httpserver.expect_request(f"{API}/search/Ticket", query_string={
        "criteria[0][field]": "21", "criteria[0][searchtype]": "contains",
        "criteria[0][value]": SUBMISSION.submission_id, "forcedisplay[0]": "2", "range": "0-9",
    }).respond_with_response(recorded.response("glpi", answer))
    ref = _connector(httpserver).find(SUBMISSION.submission_id)
    assert ref is not None and ref.ticket_id == "15"


def test_find_without_hits(httpserver: HTTPServer) -> None:
    _login(httpserver)
    _on(httpserver, "search/Ticket", "search_empty_200")
    assert _connector(httpserver).find("nope") is None


def test_from_settings(httpserver: HTTPServer) -> None:
    conn = from_settings({"helpdesk.url": httpserver.url_for("/glpi/"), "helpdesk.token": "env:X",
                          "glpi.app_token": "env:Y", "helpdesk.queue": " 3 ", "helpdesk.max_upload_mb": 8.0})
    assert conn.config.category == "3" and conn.info.max_attachment_bytes == 8 * 1024 * 1024
    assert conn.api == httpserver.url_for("/glpi/apirest.php")


def test_registry_builds_it_from_a_settings_file() -> None:
    from desktop.config import parse
    from desktop.connectors import registry

    settings = parse('[helpdesk]\nbackend = "glpi"\nurl = "https://glpi.example.org"\nqueue = "3"\n'
                     'token = "env:GLPI"\n[glpi]\napp_token = "keyring:deskline/glpi-app"\n')
    conn = registry.from_settings(settings)
    assert isinstance(conn, GlpiConnector) and conn.config.app_token_ref == "keyring:deskline/glpi-app"
    assert conn.api == "https://glpi.example.org/apirest.php"
