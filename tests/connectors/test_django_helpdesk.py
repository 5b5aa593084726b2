"""The django-helpdesk connector against a real django-helpdesk (PyPI) on loopback, SQLite, waitress.

What arrives is checked on the server side: through its API as its engineer ``tech`` would see it, and
in its database. Faults: the server stopped and restarted mid-queue, an answer lost after the server
acted, slow answers, 500s, wrong credentials, an unknown queue, files over the limit.
"""

from __future__ import annotations

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
    PermanentError,
    Submission,
    TicketRef,
    TransientError,
)
from desktop.connectors.django_helpdesk import DjangoHelpdeskConnector
from desktop.connectors.http import HttpOptions
from tests.servers.django_helpdesk_server import Fault, FaultProxy, HelpdeskServer, available

pytestmark = pytest.mark.skipif(bool(available()), reason=f"django-helpdesk server: {available()}")

MAX_UPLOAD = 1024 * 1024  # the server's request body limit; the connector is told the same
TOKEN_VAR = "DESKLINE_TEST_HELPDESK_TOKEN"


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HelpdeskServer]:
    hd = HelpdeskServer(tmp_path_factory.mktemp("django-helpdesk"), max_upload=MAX_UPLOAD)
    hd.provision()
    hd.start()
    try:
        yield hd
    finally:
        hd.stop()


@pytest.fixture
def hd(server: HelpdeskServer) -> HelpdeskServer:
    """The session's server, running (a test that stopped it has it started again)."""
    if not server.running():
        server.start()
    return server


def toml(values: dict[str, object]) -> str:
    def value(v: object) -> str:
        if isinstance(v, bool):
            return str(v).lower()
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return f'"{v}"' if isinstance(v, str) else str(v)

    return "[helpdesk]\n" + "\n".join(f"{k} = {value(v)}" for k, v in values.items())


def settings_for(hd: HelpdeskServer, url: str = "", **extra: object) -> config.Settings:
    values: dict[str, object] = {
        "backend": "django-helpdesk", "url": url or hd.url, "queue": str(hd.queue), "token": f"env:{TOKEN_VAR}",
        "attachment_extensions": [".json", ".zip", ".log", ".txt", ".png"],
        "max_upload_mb": MAX_UPLOAD / 1024 / 1024, "reporter_email": "user@example.org"}
    values.update(extra)
    return config.parse(toml(values))


def make(hd: HelpdeskServer, monkeypatch: pytest.MonkeyPatch, secret: str | None = None, url: str = "",
         change: dict[str, object] | None = None) -> DjangoHelpdeskConnector:
    monkeypatch.setenv(TOKEN_VAR, hd.token if secret is None else secret)
    connector = registry.from_settings(settings_for(hd, url, **(change or {})))
    assert isinstance(connector, DjangoHelpdeskConnector)
    return connector


def submission(**kw: str) -> Submission:
    fields = {"submission_id": str(uuid.uuid4()), "title": "Printer on floor 3 prints blank pages",
              "description": "Since this morning every page comes out blank.",
              "summary": "## Findings\n- Disk C: 2% free (critical)", "priority": "high", "incident": "DL-000042"}
    fields.update(kw)
    return Submission(**fields)


def files() -> list[AttachmentFile]:
    return [AttachmentFile("report.json", "application/json", b'{"schema": 1, "probes": {}}'),
            AttachmentFile("bundle.zip", "application/zip", b"PK\x05\x06" + bytes(18)),
            AttachmentFile("app.log", "text/plain", "ошибка: тест\n".encode() * 100),
            AttachmentFile("screen.png", "image/png", b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40)]


def attachments_on_server(hd: HelpdeskServer, ticket_id: str) -> dict[str, bytes]:
    """File name -> bytes, as stored by the server (its database and its media folder)."""
    rows = hd.query("SELECT a.filename, a.file, a.size FROM helpdesk_followupattachment a "
                    "JOIN helpdesk_followup f ON f.id = a.followup_id WHERE f.ticket_id = ?", int(ticket_id))
    out = {}
    for name, path, size in rows:
        data = (hd.data_dir / "media" / path).read_bytes()
        assert len(data) == size
        out[name] = data
    return out


def followups(hd: HelpdeskServer, ticket_id: str) -> list[dict]:
    return list(hd.ticket(ticket_id)["followup_set"])


# -- a report arrives


def test_report_with_attachments_becomes_a_ticket_with_them(
        hd: HelpdeskServer, monkeypatch: pytest.MonkeyPatch) -> None:
    c = make(hd, monkeypatch)
    sub = submission()
    ref = c.create(sub)
    c.attach(ref, files())

    assert ref.backend == "django-helpdesk" and ref.url == f"{hd.url}/tickets/{ref.ticket_id}/"
    ticket = hd.ticket(ref.ticket_id)
    assert ticket["title"] == sub.title  # the follow-up carrying the files did not rename it
    assert ticket["queue"] == hd.queue and ticket["priority"] == 2 and ticket["status"] == 1
    assert ticket["submitter_email"] == "user@example.org"
    assert ticket["description"] == sub.body()
    assert f"Deskline submission {sub.submission_id} (DL-000042)" in ticket["description"]
    assert "Disk C: 2% free" in ticket["description"]
    assert attachments_on_server(hd, ref.ticket_id) == {f.name: f.data for f in files()}
    assert hd.tickets_by_marker()[sub.submission_id] == 1


def test_priorities_map_to_django_helpdesk_numbers(hd: HelpdeskServer, monkeypatch: pytest.MonkeyPatch) -> None:
    c = make(hd, monkeypatch)
    got = {p: hd.ticket(c.create(submission(priority=p)).ticket_id)["priority"]
           for p in ("urgent", "high", "normal", "low")}
    assert got == {"urgent": 1, "high": 2, "normal": 3, "low": 4}


def test_empty_description_is_sent_as_words_not_left_out(hd: HelpdeskServer, monkeypatch: pytest.MonkeyPatch) -> None:
    # the server answers a create without description with a 500 (and an empty one with a 400)
    raw = requests.post(f"{hd.api}/tickets/", data={"queue": hd.queue, "title": "x", "priority": 3},
                        headers={"Authorization": f"Token {hd.token}"}, timeout=10)
    assert raw.status_code == 500
    ref = make(hd, monkeypatch).create(submission(description="", summary=""))
    assert hd.ticket(ref.ticket_id)["description"].startswith("(no description given)")


def test_attach_again_sends_nothing_twice_and_large_sets_go_in_parts(
        hd: HelpdeskServer, monkeypatch: pytest.MonkeyPatch) -> None:
    c = make(hd, monkeypatch)
    ref = c.create(submission())
    big = [AttachmentFile(f"part{i}.log", "text/plain", bytes([65 + i]) * (400 * 1024)) for i in range(4)]
    c.attach(ref, big)  # 1.6 MiB over a 1 MiB request limit: two follow-ups of two files
    c.attach(ref, big)  # the outbox retrying: nothing new (this connector knows what it sent)
    make(hd, monkeypatch).attach(ref, big)  # another process retrying: it reads the ticket, nothing new
    with_files = [f for f in followups(hd, ref.ticket_id) if f["followupattachment_set"]]
    assert [len(f["followupattachment_set"]) for f in with_files] == [2, 2]
    assert attachments_on_server(hd, ref.ticket_id) == {f.name: f.data for f in big}
    assert c.info.max_attachment_bytes is not None and c.info.max_attachment_bytes < MAX_UPLOAD


# -- status, comments, ratings, find


def test_status_changes_made_on_the_server_are_seen(hd: HelpdeskServer, monkeypatch: pytest.MonkeyPatch) -> None:
    c = make(hd, monkeypatch)
    ref = c.create(submission())
    first = c.status(ref)
    assert first is not None and (first.state, first.label, first.replies) == ("new", "Open", ())
    assert c.status(ref, first.etag) is None  # unchanged

    hd.reply(ref.ticket_id, "Which printer exactly? The one by the window?")
    asked = c.status(ref, first.etag)
    assert asked is not None and asked.state == "open"
    assert [r.text for r in asked.replies] == ["Which printer exactly? The one by the window?"]
    hd.reply(ref.ticket_id, "internal note: toner", public=False)
    assert c.status(ref, asked.etag) is None  # private notes are not the user's

    seen = []
    for code, _ in ((3, "resolved"), (4, "closed"), (2, "open"), (5, "closed")):
        hd.reply(ref.ticket_id, "", new_status=code)
        st = c.status(ref)
        assert st is not None
        seen.append((st.state, st.label))
    assert seen == [("resolved", "Resolved"), ("closed", "Closed"), ("open", "Reopened"), ("closed", "Duplicate")]


def test_status_of_a_deleted_ticket_is_a_permanent_error(hd: HelpdeskServer, monkeypatch: pytest.MonkeyPatch) -> None:
    c = make(hd, monkeypatch)
    ref = c.create(submission())
    with hd.session() as s:
        assert s.delete(f"{hd.api}/tickets/{ref.ticket_id}/", timeout=10).status_code == 204
    with pytest.raises(PermanentError, match=f"#{ref.ticket_id} no longer exists") as err:
        c.status(ref)
    assert not isinstance(err.value, ConfigurationError)


def test_comments_and_ratings_arrive(hd: HelpdeskServer, monkeypatch: pytest.MonkeyPatch) -> None:
    c = make(hd, monkeypatch)
    ref = c.create(submission())
    text = "It happens again; the log says {{ spooler }} and {# 42 #} and {% raw %}."
    c.comment(ref, text, [AttachmentFile("again.txt", "text/plain", b"second time")])
    c.comment(ref, text, [AttachmentFile("again.txt", "text/plain", b"second time")])  # a retry: not twice
    c.rate(ref, 4, "Quick and friendly.")

    public = [f for f in followups(hd, ref.ticket_id)[1:] if f["public"]]
    assert len(public) == 2
    said = public[0]["comment"].replace("\u200b", "")
    assert said == text  # the server renders comments as Django templates; the braces survive
    assert [a["filename"] for a in public[0]["followupattachment_set"]] == ["again.txt"]
    assert public[1]["comment"].startswith("Satisfaction rating: 4/5 ★★★★☆")
    assert "Quick and friendly." in public[1]["comment"]
    assert hd.ticket(ref.ticket_id)["title"] == submission().title
    with pytest.raises(PermanentError, match="1 to 5"):
        c.rate(ref, 6)


def test_find_by_submission_id(hd: HelpdeskServer, monkeypatch: pytest.MonkeyPatch) -> None:
    c = make(hd, monkeypatch)
    sub = submission(submission_id="find-me")
    near = submission(submission_id="find-me-not")
    ref = c.create(sub)
    other = c.create(near)
    assert c.find("find-me") == ref
    assert c.find("find-me-not") == other
    assert c.find("find") is None
    assert c.find(str(uuid.uuid4())) is None


def test_find_looks_only_at_the_newest_tickets(hd: HelpdeskServer, monkeypatch: pytest.MonkeyPatch) -> None:
    c = make(hd, monkeypatch)
    old = c.create(submission())
    for _ in range(5):
        c.create(submission())
    sid = hd.ticket(old.ticket_id)["description"].rsplit("Deskline submission ", 1)[1].split()[0]
    opts = HttpOptions(hd.url)
    narrow = DjangoHelpdeskConnector(opts, hd.queue, hd.token, find_limit=4, page_size=2)
    wide = DjangoHelpdeskConnector(opts, hd.queue, hd.token, find_limit=20, page_size=2)
    assert narrow.find(sid) is None
    assert wide.find(sid) == old


# -- faults


def deliver(c: DjangoHelpdeskConnector, sub: Submission, maybe_sent: bool) -> TicketRef:
    """What the outbox does for one report: find first when an earlier try may have reached the server."""
    if maybe_sent:
        found = c.find(sub.submission_id)
        if found is not None:
            return found
    return c.create(sub)


def test_server_stopped_and_restarted_mid_queue(hd: HelpdeskServer, monkeypatch: pytest.MonkeyPatch) -> None:
    c = make(hd, monkeypatch, change={"timeout": 2.0})
    queue = [submission() for _ in range(6)]
    sent: dict[str, TicketRef] = {}
    failures = 0
    for i, sub in enumerate(queue):
        if i == 2:
            hd.stop()
        if i == 4:
            hd.start()
        try:
            sent[sub.submission_id] = deliver(c, sub, maybe_sent=False)
        except TransientError:
            failures += 1
    assert failures == 2 and len(sent) == 4
    for sub in queue:  # the retry pass
        if sub.submission_id not in sent:
            sent[sub.submission_id] = deliver(c, sub, maybe_sent=True)
    counts = hd.tickets_by_marker()
    assert [counts.get(sub.submission_id) for sub in queue] == [1] * 6


def test_connection_refused_is_transient_and_quick(hd: HelpdeskServer, monkeypatch: pytest.MonkeyPatch) -> None:
    hd.stop()
    c = make(hd, monkeypatch)
    start = time.monotonic()
    with pytest.raises(TransientError, match="could not be reached"):
        c.create(submission())
    with pytest.raises(TransientError):
        c.status(TicketRef("django-helpdesk", "1"))
    assert time.monotonic() - start < 2


def test_answer_lost_after_the_server_created_the_ticket(hd: HelpdeskServer, monkeypatch: pytest.MonkeyPatch) -> None:
    with FaultProxy(hd.port) as proxy:
        c = make(hd, monkeypatch, url=proxy.url)
        sub = submission()
        proxy.fault = Fault("drop_response", lambda m, p: m == "POST" and p.startswith("/api/tickets/"))
        with pytest.raises(TransientError):
            c.create(sub)
        assert proxy.fault.seen == ["POST /api/tickets/"]
        assert hd.tickets_by_marker()[sub.submission_id] == 1  # the server did create it
        ref = deliver(c, sub, maybe_sent=True)  # the outbox's retry adopts it
        assert hd.tickets_by_marker()[sub.submission_id] == 1
        assert hd.ticket(ref.ticket_id)["description"] == sub.body()

        proxy.fault = Fault("drop_response", lambda m, p: m == "POST" and p.startswith("/api/followups/"))
        with pytest.raises(TransientError):
            c.attach(ref, files())
        c.attach(ref, files())  # the retry: the server has them already
        assert len([f for f in followups(hd, ref.ticket_id) if f["followupattachment_set"]]) == 1


def test_slow_answers_time_out_as_transient(hd: HelpdeskServer, monkeypatch: pytest.MonkeyPatch) -> None:
    with FaultProxy(hd.port) as proxy:
        c = make(hd, monkeypatch, url=proxy.url, change={"timeout": 1.0})
        sub = submission()
        proxy.fault = Fault("delay", lambda m, p: m == "POST", delay=5.0)
        start = time.monotonic()
        with pytest.raises(TransientError, match="could not be reached"):
            c.create(sub)
        assert time.monotonic() - start < 3
        assert deliver(c, sub, maybe_sent=True) == c.find(sub.submission_id)
        assert hd.tickets_by_marker()[sub.submission_id] == 1


def test_500s_are_transient_and_retry_after_is_kept(hd: HelpdeskServer, monkeypatch: pytest.MonkeyPatch) -> None:
    with FaultProxy(hd.port) as proxy:
        c = make(hd, monkeypatch, url=proxy.url)
        proxy.fault = Fault("status500", lambda m, p: m == "POST")
        with pytest.raises(TransientError, match="500") as err:
            c.create(submission())
        assert err.value.retry_after == 7
    # a real 500: a file type the server does not take, when the settings claim it does
    c = make(hd, monkeypatch, change={"attachment_extensions": [".exe"]})
    ref = c.create(submission())
    with pytest.raises(TransientError, match="500"):
        c.attach(ref, [AttachmentFile("tool.exe", "application/octet-stream", b"MZ")])


def test_wrong_credentials_name_helpdesk_token(hd: HelpdeskServer, monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = "0123456789abcdef0123456789abcdef01234567"
    for c in (make(hd, monkeypatch, secret=wrong),
              make(hd, monkeypatch, secret="not-the-password", change={"username": "agent"}),
              make(hd, monkeypatch, secret=hd.facts["plain_token"])):
        with pytest.raises(ConfigurationError) as err:
            c.create(submission())
        assert err.value.setting == "helpdesk.token"
        assert wrong not in str(err.value) and hd.facts["plain_token"] not in str(err.value)
    assert "staff" in str(err.value)
    monkeypatch.delenv(TOKEN_VAR)
    with pytest.raises(ConfigurationError) as err:
        registry.from_settings(settings_for(hd))
    assert err.value.setting == "helpdesk.token"


def test_basic_authentication_with_the_password(hd: HelpdeskServer, monkeypatch: pytest.MonkeyPatch) -> None:
    c = make(hd, monkeypatch, secret=hd.facts["password"], change={"username": "agent"})
    ref = c.create(submission(submission_id="basic-auth"))
    assert c.find("basic-auth") == ref
    assert "Authorization" not in c.session.headers  # the password goes as basic auth, not as a token


def test_unknown_queue_names_helpdesk_queue(hd: HelpdeskServer, monkeypatch: pytest.MonkeyPatch) -> None:
    c = make(hd, monkeypatch, change={"queue": "999"})
    with pytest.raises(ConfigurationError, match="no queue 999") as err:
        c.create(submission())
    assert err.value.setting == "helpdesk.queue"
    c = make(hd, monkeypatch, change={"queue": str(hd.facts["other_queue"])})  # another queue works
    assert hd.ticket(c.create(submission()).ticket_id)["queue"] == hd.facts["other_queue"]


def test_attachments_over_the_limit_are_refused_clearly(hd: HelpdeskServer, monkeypatch: pytest.MonkeyPatch) -> None:
    c = make(hd, monkeypatch)
    ref = c.create(submission())
    limit = c.info.max_attachment_bytes
    assert limit is not None
    before = len(followups(hd, ref.ticket_id))
    too_big = rf"huge\.log is {limit + 1:,} bytes; the helpdesk takes files up to {limit:,} bytes"
    with pytest.raises(PermanentError, match=too_big):
        c.attach(ref, [AttachmentFile("ok.txt", "text/plain", b"ok"),
                       AttachmentFile("huge.log", "text/plain", b"x" * (limit + 1))])
    with pytest.raises(PermanentError, match=r"does not take \.exe files \(tool\.exe\)"):
        c.attach(ref, [AttachmentFile("tool.exe", "application/octet-stream", b"MZ")])
    assert len(followups(hd, ref.ticket_id)) == before  # nothing was sent, not even the small file
    c.attach(ref, [AttachmentFile("fits.log", "text/plain", b"y" * limit)])  # exactly the limit passes

    # the server's own limit is the same: a connector told a larger one gets its 413, permanent
    lax = make(hd, monkeypatch, change={"max_upload_mb": 4.0})
    with pytest.raises(PermanentError, match="413") as err:
        lax.attach(ref, [AttachmentFile("huge.log", "text/plain", b"x" * (limit + 64 * 1024))])
    assert not isinstance(err.value, TransientError)
    assert set(attachments_on_server(hd, ref.ticket_id)) == {"fits.log"}


def test_settings_are_checked_before_any_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_VAR, "t")
    good = {"backend": "django-helpdesk", "url": "http://127.0.0.1:9", "queue": "1", "token": f"env:{TOKEN_VAR}"}
    cases = [("helpdesk.url", {"url": ""}), ("helpdesk.url", {"url": "ftp://x"}), ("helpdesk.queue", {"queue": ""}),
             ("helpdesk.queue", {"queue": "desk"}), ("helpdesk.token", {"token": ""}),
             ("helpdesk.token", {"token": "plain-secret"}), ("helpdesk.token", {"token": "env:DESKLINE_UNSET_VAR"})]
    for setting, change in cases:
        with pytest.raises(ConfigurationError) as err:
            registry.from_settings(config.parse(toml({**good, **change})))
        assert err.value.setting == setting, (change, str(err.value))
        assert "plain-secret" not in str(err.value)


# -- the whole chain: outbox, sender, connector, server


def test_outbox_drains_through_a_lost_answer_and_a_restart(
        hd: HelpdeskServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from desktop.delivery import Sender, file_report
    from desktop.diagnostics import report as reports
    from desktop.outbox import Outbox

    doc = reports.build(()).document
    with FaultProxy(hd.port) as proxy, Outbox(tmp_path / "outbox") as outbox:
        monkeypatch.setenv(TOKEN_VAR, hd.token)
        settings = config.parse(toml({
            "backend": "django-helpdesk", "url": proxy.url, "queue": str(hd.queue), "token": f"env:{TOKEN_VAR}",
            "attachment_extensions": [".zip"], "timeout": 5.0}) + "\n[outbox]\nretry_base = 0.01\nretry_cap = 1.0")
        entries = [file_report(outbox, reports.Report({**doc, "report_id": str(uuid.uuid4())}, []),
                               title=f"Report {i}", description=f"words {i}") for i in range(5)]
        with Sender.from_settings(outbox, settings) as sender:
            proxy.fault = Fault("drop_response", lambda m, p: m == "POST" and p.startswith("/api/tickets/"))
            assert sender.run(number=entries[0].id).retrying == [entries[0].incident]  # created, answer lost
            assert sender.run(number=entries[1].id).completed == [entries[1].incident]
            hd.stop()
            for e in entries[2:]:
                assert sender.run(number=e.id).retrying == [e.incident]  # connection refused
            hd.start()
            deadline = time.monotonic() + 30
            while any(e.has_work for e in outbox.entries()) and time.monotonic() < deadline:
                sender.run(deadline=deadline)
        done = outbox.entries()
    assert [e.state for e in done] == ["sent"] * 5
    assert not any(e.has_work for e in done)
    counts = hd.tickets_by_marker()
    assert [counts.get(e.submission_id) for e in done] == [1] * 5  # none lost, none twice
    for e in done:
        assert e.ticket_id is not None
        assert list(attachments_on_server(hd, e.ticket_id)) == [f"deskline-report-{e.incident}.zip"]
