"""The Redmine connector against a real Redmine (Debian's packages) started by the test run on loopback.

The server is made once per session (tests/servers/redmine_server.py); faults come from stopping it,
from a reverse proxy that drops, delays or replaces its answers, and from wrong settings.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from desktop import config
from desktop.connectors import registry
from desktop.connectors.base import (
    AttachmentFile,
    ConfigurationError,
    Connector,
    PermanentError,
    Submission,
    TicketRef,
    TransientError,
    submission_marker,
)
from desktop.connectors.http import HttpOptions
from desktop.connectors.redmine import (
    RedmineConnector,
    RedmineOptions,
    choose_priority,
    map_state,
    sanitize_filename,
)
from tests.servers.redmine_server import (
    ATTACHMENT_MAX_KB,
    OTHER_PROJECT,
    PROJECT,
    FaultProxy,
    RedmineServer,
    redmine_server,
    unavailable_reason,
)

LIMIT = ATTACHMENT_MAX_KB * 1024


@pytest.fixture(scope="session")
def redmine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedmineServer]:
    reason = unavailable_reason()
    if reason:
        pytest.skip(reason)
    with redmine_server(tmp_path_factory.mktemp("redmine")) as server:
        yield server


def connector(server: RedmineServer, *, url: str = "", key: str = "", project: str = PROJECT, tracker: str = "",
              timeout: float = 20.0, max_bytes: int | None = LIMIT) -> RedmineConnector:
    return RedmineConnector(RedmineOptions(
        http=HttpOptions(base_url=url or server.url, timeout=timeout), api_key=key or server.user_key,
        project=project, tracker=tracker, max_attachment_bytes=max_bytes))


@pytest.fixture
def rm(redmine: RedmineServer) -> Iterator[RedmineConnector]:
    c = connector(redmine)
    yield c
    c.close()


def submission(**kw: str) -> Submission:
    sid = uuid.uuid4().hex
    fields = {"title": "VPN drops every few minutes", "description": "Since Monday the VPN drops.\nЧасто.",
              "summary": "## Findings\n- **Network**: packet loss 12 %", "incident": "DL-000042"}
    fields.update(kw)
    return Submission(submission_id=sid, **fields)


def deliver(c: Connector, sub: Submission, *, uncertain: bool) -> TicketRef:
    """What the outbox does: after a create that may have reached the server, look before creating."""
    if uncertain:
        found = c.find(sub.submission_id)
        if found is not None:
            return found
    return c.create(sub)


def download(server: RedmineServer, url: str) -> bytes:
    r = server.admin("GET", url.replace(server.url, ""))
    r.raise_for_status()
    return r.content


# -- the happy paths


def test_report_with_attachments_becomes_an_issue_with_them(redmine: RedmineServer, rm: RedmineConnector) -> None:
    sub = submission(priority="high")
    blob = os.urandom(300 * 1024)
    files = [AttachmentFile("report.json", "application/json", b'{"schema": 1, "text": "\xd0\xbf"}'),
             AttachmentFile("screen shot.png", "image/png", blob)]
    ref = rm.create(sub)
    rm.attach(ref, files)

    assert ref.backend == "redmine"
    assert ref.url == f"{redmine.url}/issues/{ref.ticket_id}"
    issue = redmine.issue(ref.ticket_id)
    assert issue["project"]["name"].lower() == PROJECT
    assert issue["subject"] == sub.title
    assert issue["description"].replace("\r\n", "\n") == sub.body()
    assert submission_marker(sub.submission_id, sub.incident) in issue["description"]
    assert issue["priority"]["name"] == "High"
    assert issue["author"]["id"] == redmine.user_id
    by_name = {a["filename"]: a for a in issue["attachments"]}
    assert set(by_name) == {"report.json", "screen shot.png"}
    assert by_name["screen shot.png"]["filesize"] == len(blob)
    assert by_name["report.json"]["content_type"] == "application/json"
    assert download(redmine, by_name["screen shot.png"]["content_url"]) == blob
    assert download(redmine, by_name["report.json"]["content_url"]) == files[0].data


def test_priorities_and_tracker_follow_the_settings(redmine: RedmineServer) -> None:
    c = connector(redmine, tracker="support")
    low = redmine.issue(c.create(submission(priority="low")).ticket_id)
    urgent = redmine.issue(c.create(submission(priority="urgent", title="x" * 300)).ticket_id)
    assert (low["priority"]["name"], low["tracker"]["name"]) == ("Low", "Support")
    assert urgent["priority"]["name"] == "Urgent"
    assert urgent["subject"] == "x" * 255  # Redmine's limit, cut rather than refused
    with pytest.raises(ConfigurationError, match="no tracker 'Incidents'") as info:
        connector(redmine, tracker="Incidents").create(submission())
    assert info.value.setting == "helpdesk.tracker"


def test_status_changes_and_staff_notes_are_seen(redmine: RedmineServer, rm: RedmineConnector) -> None:
    ref = rm.create(submission())
    first = rm.status(ref)
    assert first is not None
    assert (first.state, first.label, first.replies) == ("new", "New", ())

    rm.comment(ref, "It happened again at 10:15")  # the user's own words are not a reply to them
    redmine.update(ref.ticket_id, status_id=redmine.status_id("In Progress"), notes="We are looking into it.")
    redmine.update(ref.ticket_id, notes="internal: probably the MTU", private_notes=True)
    now = rm.status(ref)
    assert now is not None
    assert (now.state, now.label) == ("open", "In Progress")
    assert [(r.author, r.text) for r in now.replies] == [("Redmine Admin", "We are looking into it.")]
    assert now.replies[0].created and now.updated

    for name, state in (("Feedback", "pending"), ("Resolved", "resolved"), ("Rejected", "closed"),
                        ("Closed", "closed")):
        redmine.update(ref.ticket_id, status_id=redmine.status_id(name))
        seen = rm.status(ref)
        assert seen is not None
        assert (seen.state, seen.label) == (state, name)


def test_unchanged_ticket_answers_304_and_a_change_is_seen(redmine: RedmineServer, rm: RedmineConnector) -> None:
    ref = rm.create(submission())
    first = rm.status(ref)
    assert first is not None
    assert first.etag
    assert rm.status(ref, etag=first.etag) is None
    redmine.update(ref.ticket_id, notes="Please restart the laptop.")
    changed = rm.status(ref, etag=first.etag)
    assert changed is not None
    assert changed.etag != first.etag
    assert [r.text for r in changed.replies] == ["Please restart the laptop."]


def test_comments_with_files_and_ratings_arrive(redmine: RedmineServer, rm: RedmineConnector) -> None:
    ref = rm.create(submission())
    log = AttachmentFile("journal.log", "text/plain", b"line 1\nline 2\n")
    rm.comment(ref, "Here is the log from this morning.", [log])
    rm.rate(ref, 4, "Fixed quickly, thanks")
    issue = redmine.issue(ref.ticket_id)
    notes = [j["notes"] for j in issue["journals"] if j["notes"]]
    assert notes[0] == "Here is the log from this morning."
    assert notes[1].startswith("Satisfaction rating: 4/5") and notes[1].endswith("Fixed quickly, thanks")
    assert [a["filename"] for a in issue["attachments"]] == ["journal.log"]
    assert download(redmine, issue["attachments"][0]["content_url"]) == log.data
    with pytest.raises(PermanentError, match="1 to 5"):
        rm.rate(ref, 6)


def test_find_by_submission_id(redmine: RedmineServer, rm: RedmineConnector) -> None:
    sub = submission()
    ref = rm.create(sub)
    assert rm.find(sub.submission_id) == ref
    assert rm.find(sub.submission_id[:-2]) is None  # a prefix of an id is another id
    assert rm.find(uuid.uuid4().hex) is None
    redmine.update(ref.ticket_id, status_id=redmine.status_id("Closed"))
    assert rm.find(sub.submission_id) == ref  # closed issues count: a closed ticket is still delivered


@pytest.mark.allow_warning_logs
def test_find_picks_the_oldest_of_duplicates_and_says_so(rm: RedmineConnector,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    sub = submission()
    first, second = rm.create(sub), rm.create(sub)  # as a client without find() would have made them
    assert rm.find(sub.submission_id) == first
    assert int(second.ticket_id) > int(first.ticket_id)
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        f"redmine: 2 issues carry submission {sub.submission_id} (#{first.ticket_id}, #{second.ticket_id}); "
        "using the oldest"]


def test_attach_again_adds_nothing_twice(redmine: RedmineServer, rm: RedmineConnector) -> None:
    ref = rm.create(submission())
    files = [AttachmentFile("dmesg: boot?.txt", "text/plain", b"boot\n"), AttachmentFile("a.bin", "", b"\0" * 10)]
    rm.attach(ref, files)
    rm.attach(ref, files)  # an attach retried after its answer was lost
    rm.attach(ref, [*files, AttachmentFile("b.txt", "text/plain", b"more")])
    names = sorted(a["filename"] for a in redmine.issue(ref.ticket_id)["attachments"])
    assert names == sorted([sanitize_filename("dmesg: boot?.txt"), "a.bin", "b.txt"])
    assert sanitize_filename("dmesg: boot?.txt") == "dmesg_ boot_.txt"


# -- faults


def test_server_stopped_and_restarted_gives_transient_then_one_issue(redmine: RedmineServer) -> None:
    c = connector(redmine, timeout=5)
    ref = c.create(submission())  # the connector has checked its account and project before the outage
    sub = submission()
    redmine.stop()
    try:
        with pytest.raises(TransientError, match="could not be reached"):
            c.create(sub)
        with pytest.raises(TransientError):
            c.status(ref)
        with pytest.raises(TransientError):
            c.find(sub.submission_id)
    finally:
        redmine.start()
    got = deliver(c, sub, uncertain=True)
    assert redmine.issues_with(submission_marker(sub.submission_id)) == [int(got.ticket_id)]
    assert deliver(c, sub, uncertain=True) == got  # and once more: still one


def test_answer_lost_after_the_server_created_the_issue(redmine: RedmineServer) -> None:
    sub = submission()
    with FaultProxy(("127.0.0.1", redmine.port)) as proxy:
        c = connector(redmine, url=proxy.url)
        c.create(submission())  # account and project checked through the proxy while it behaves
        proxy.mode = "drop"
        with pytest.raises(TransientError):
            c.create(sub)
        assert proxy.seen[-1][:3] == ("POST", "/issues.json", True)
        proxy.mode = "pass"
        got = deliver(c, sub, uncertain=True)
    assert redmine.issues_with(submission_marker(sub.submission_id)) == [int(got.ticket_id)]
    assert got.url.endswith(f"/issues/{got.ticket_id}")


def test_slow_answer_times_out_as_transient_and_is_adopted(redmine: RedmineServer) -> None:
    sub = submission()
    with FaultProxy(("127.0.0.1", redmine.port)) as proxy:
        c = connector(redmine, url=proxy.url, timeout=1.0)
        c.create(submission())
        proxy.mode, proxy.delay = "delay", 10.0
        started = time.monotonic()
        with pytest.raises(TransientError, match="could not be reached"):
            c.create(sub)
        assert time.monotonic() - started < 5
        proxy.mode = "pass"
        got = deliver(c, sub, uncertain=True)
    assert redmine.issues_with(submission_marker(sub.submission_id)) == [int(got.ticket_id)]


def test_server_error_is_transient_with_retry_after(redmine: RedmineServer) -> None:
    sub = submission()
    with FaultProxy(("127.0.0.1", redmine.port)) as proxy:
        c = connector(redmine, url=proxy.url)
        c.create(submission())
        proxy.mode = "error"
        with pytest.raises(TransientError, match="500") as info:
            c.create(sub)
        assert info.value.retry_after == 7
        assert proxy.seen[-1] == ("POST", "/issues.json", False)
        proxy.mode = "pass"
        got = deliver(c, sub, uncertain=True)
    assert redmine.issues_with(submission_marker(sub.submission_id)) == [int(got.ticket_id)]


def test_wrong_api_key_names_the_token_setting(redmine: RedmineServer) -> None:
    bad = "0123456789abcdef0123456789abcdef01234567"
    c = connector(redmine, key=bad)
    for action in (lambda: c.create(submission()), lambda: c.find("x" * 32)):
        with pytest.raises(ConfigurationError, match="401") as info:
            action()
        assert info.value.setting == "helpdesk.token"
        assert bad not in str(info.value)
        assert "REST API is enabled" in str(info.value)


@pytest.mark.parametrize("project", ["no-such-project", OTHER_PROJECT])
def test_unknown_or_foreign_project_names_the_queue_setting(redmine: RedmineServer, project: str) -> None:
    with pytest.raises(ConfigurationError, match=f"no project '{project}'") as info:
        connector(redmine, project=project).create(submission())
    assert info.value.setting == "helpdesk.queue"


def test_wrong_address_names_the_url_setting(redmine: RedmineServer) -> None:
    with pytest.raises(ConfigurationError) as info:
        connector(redmine, url=redmine.url + "/redmine").create(submission())
    assert info.value.setting == "helpdesk.url"


def test_missing_settings_are_named() -> None:
    http = HttpOptions(base_url="http://127.0.0.1:9")
    with pytest.raises(ConfigurationError) as no_key:
        RedmineConnector(RedmineOptions(http=http, api_key="", project=PROJECT))
    with pytest.raises(ConfigurationError) as no_project:
        RedmineConnector(RedmineOptions(http=http, api_key="k", project=" "))
    assert (no_key.value.setting, no_project.value.setting) == ("helpdesk.token", "helpdesk.queue")


def test_attachment_over_the_limit_is_refused_clearly(redmine: RedmineServer, rm: RedmineConnector) -> None:
    ref = rm.create(submission())
    big = AttachmentFile("core.dump", "application/octet-stream", b"\1" * (LIMIT + 1))
    with FaultProxy(("127.0.0.1", redmine.port)) as proxy:
        checked = connector(redmine, url=proxy.url)
        with pytest.raises(PermanentError, match=r"'core.dump' \(1.0 MB\) is larger than the helpdesk accepts"):
            checked.attach(ref, [big, AttachmentFile("ok.txt", "text/plain", b"ok")])
        assert proxy.seen == []  # refused before a byte was sent
    unchecked = connector(redmine, max_bytes=None)  # the limit unknown here: the server's 422 says it
    with pytest.raises(PermanentError, match="exceeds the maximum allowed file size") as info:
        unchecked.attach(ref, [big])
    assert not isinstance(info.value, ConfigurationError)
    assert "core.dump" in str(info.value)
    assert redmine.issue(ref.ticket_id)["attachments"] == []


def test_deleted_ticket_is_permanent(redmine: RedmineServer, rm: RedmineConnector) -> None:
    ref = rm.create(submission())
    redmine.admin("DELETE", f"/issues/{ref.ticket_id}.json").raise_for_status()
    for action in (lambda: rm.status(ref), lambda: rm.comment(ref, "hello?"), lambda: rm.attach(
            ref, [AttachmentFile("a.txt", "text/plain", b"a")])):
        with pytest.raises(PermanentError, match="no longer on the helpdesk") as info:
            action()
        assert not isinstance(info.value, ConfigurationError)


def test_built_from_the_settings_file(redmine: RedmineServer, monkeypatch: pytest.MonkeyPatch) -> None:
    text = f"""
[helpdesk]
backend = "redmine"
url = "{redmine.url}/"
queue = "{PROJECT}"
token = "env:DESKLINE_TEST_REDMINE_KEY"
tracker = "Feature"
attachment_extensions = [".txt", "JSON"]
max_upload_mb = 0.5
timeout = 7
"""
    settings = config.parse(text)
    with pytest.raises(ConfigurationError, match="DESKLINE_TEST_REDMINE_KEY") as missing:
        registry.from_settings(settings)
    assert missing.value.setting == "helpdesk.token"
    monkeypatch.setenv("DESKLINE_TEST_REDMINE_KEY", redmine.user_key)
    c = registry.from_settings(settings)
    assert isinstance(c, RedmineConnector)
    assert (c.options.http.timeout, c.info.max_attachment_bytes, c.info.allowed_extensions) == (
        7.0, 512 * 1024, ("txt", "json"))
    ref = c.create(submission())
    c.attach(ref, [AttachmentFile("notes.TXT", "text/plain", b"n"),
                   AttachmentFile("r.json", "application/json", b"{}")])
    with pytest.raises(PermanentError, match=r"does not take .zip files \('logs.zip'\)"):
        c.attach(ref, [AttachmentFile("logs.zip", "application/zip", b"PK")])
    with pytest.raises(PermanentError, match="helpdesk.max_upload_mb"):
        c.attach(ref, [AttachmentFile("big.txt", "text/plain", b"x" * (512 * 1024 + 1))])
    issue = redmine.issue(ref.ticket_id)
    assert issue["tracker"]["name"] == "Feature"
    assert sorted(a["filename"] for a in issue["attachments"]) == ["notes.TXT", "r.json"]
    defaults = registry.from_settings(config.parse(text.replace("max_upload_mb = 0.5", "")))
    assert defaults.info.max_attachment_bytes == 5 * 1024 * 1024  # Redmine's stock limit


def test_outbox_delivers_each_report_once_through_errors_and_lost_answers(redmine: RedmineServer,
                                                                           tmp_path: Path) -> None:
    """The outbox and this connector together: 500s, then creates whose answers are lost, then a clear line:
    every report is one issue with its report bundle and its file, and the outbox knows each issue."""
    from desktop.delivery import Sender, file_report
    from desktop.diagnostics import report as report_mod
    from desktop.outbox import Outbox

    now = [1_000_000.0]
    outbox = Outbox(tmp_path / "outbox", clock=lambda: now[0])
    screenshot = tmp_path / "screen.png"
    screenshot.write_bytes(os.urandom(20_000))
    report = report_mod.build([], attachments=[screenshot])
    entries = [file_report(outbox, report, title=f"Printer offline {i}", description="It says offline.")
               for i in range(3)]
    with FaultProxy(("127.0.0.1", redmine.port)) as proxy:
        c = connector(redmine, url=proxy.url, timeout=5)
        with Sender(outbox, lambda backend: c, backend="redmine", retry_base=1, retry_cap=2,
                    monotonic=lambda: now[0]) as sender:
            proxy.mode = "error"
            first = sender.run()
            # a failing backend is tried once per run, not once per report: the others wait their turn
            assert first.retrying and not first.sent
            proxy.mode, proxy.target = "drop", "POST /issues.json"

            def dropped() -> int:
                return len([x for x in proxy.seen if x == ("POST", "/issues.json", True)])

            for _ in range(12):  # each run gets one create through to the server; its answer is lost
                now[0] += 60
                sender.run()
                if dropped() == 3:
                    break
            assert dropped() == 3  # the server made them; nobody heard
            proxy.mode = "pass"
            completed: list[str] = []
            for _ in range(12):
                now[0] += 60
                completed += sender.run().completed
                if all(outbox.get(e.id).state == "sent" for e in entries):
                    break
    assert all(outbox.get(e.id).state == "sent" for e in entries)
    for e in entries:
        done = outbox.get(e.id)
        assert done.state == "sent"
        on_server = redmine.issues_with(submission_marker(done.submission_id))
        assert on_server == [int(done.ticket_id)]
        files = {a["filename"]: a["filesize"] for a in redmine.issue(done.ticket_id)["attachments"]}
        assert files.pop("screen.png") == 20_000
        assert list(files) == [f"deskline-report-{e.incident}.zip"]


# -- the mapping rules, without a server


def test_priority_mapping_by_name_then_by_position() -> None:
    english = [(1, "Low", False), (2, "Normal", True), (3, "High", False), (4, "Urgent", False),
               (5, "Immediate", False)]
    assert [choose_priority(p, english) for p in ("low", "normal", "high", "urgent")] == [1, 2, 3, 4]
    russian = [(7, "Низкий", False), (8, "Нормальный", True), (9, "Высокий", False), (10, "Срочный", False)]
    assert [choose_priority(p, russian) for p in ("low", "normal", "high", "urgent")] == [7, 8, 9, 10]
    custom = [(21, "P4", False), (22, "P3", True), (23, "P2", False)]
    assert [choose_priority(p, custom) for p in ("low", "normal", "high", "urgent")] == [21, 22, 23, 23]
    assert choose_priority("high", []) is None


def test_state_mapping() -> None:
    assert map_state("Rejected", True) == "closed"
    assert map_state("Resolved", False) == "resolved"
    assert map_state("Обратная связь", False) == "pending"
    assert map_state("Waiting for vendor", False) == "open"
    assert map_state("Done", True) == "closed"


def test_the_key_travels_in_a_header_not_in_urls(redmine: RedmineServer) -> None:
    """The key travels in a header (never in a URL that a proxy or a log could keep)."""
    with FaultProxy(("127.0.0.1", redmine.port)) as proxy:
        c = connector(redmine, url=proxy.url)
        c.find(uuid.uuid4().hex)
        assert proxy.seen and all(redmine.user_key not in path for _, path, _ in proxy.seen)
    assert requests.get(f"{redmine.url}/users/current.json", timeout=10).status_code == 401
