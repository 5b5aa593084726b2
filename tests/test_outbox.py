"""The outbox and the sender: real SQLite, real processes killed with SIGKILL, a real full filesystem.

The connectors are small in-test doubles (tests/outbox_doubles.py): :class:`Recorder` (in memory, raising
what a test scripts) and :class:`ServerConnector` (a "helpdesk" in its own SQLite file that, like
django-helpdesk, files two tickets for two identical creates, so a duplicate would show).
"""

from __future__ import annotations

import json
import os
import random
import selectors
import signal
import sqlite3
import subprocess
import sys
import time
import zlib
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from desktop.connectors.base import (
    ConfigurationError,
    Connector,
    ConnectorInfo,
    PermanentError,
    Reply,
    TicketStatus,
    TransientError,
)
from desktop.delivery import (
    PRIORITY_MATRIX,
    Sender,
    backoff_delay,
    may_have_reached_server,
    priority_for,
    refresh_tickets,
)
from desktop.diagnostics.bundle import read_bundle
from desktop.diagnostics.report import Attachment
from desktop.outbox import (
    DB_NAME,
    Outbox,
    OutboxError,
    OutboxFullError,
    blob_path,
    incident_label,
    parse_incident,
)
from tests.outbox_doubles import Clock, FixedRandom, Recorder, ServerConnector, document

ROOT = Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------------------------------- helpers

def enqueue(outbox: Outbox, title: str = "Printer does not print", files: Sequence[Attachment] = (),
            **kw: Any) -> Any:
    return outbox.enqueue(document=document(), title=title, description="It stopped this morning.",
                          summary="## Findings\n\nNo problems found.", attachments=files, **kw)


def make_sender(outbox: Outbox, connector: Connector, *, fraction: float = 1.0, **kw: Any) -> Sender:
    kw.setdefault("retry_base", 10.0)
    kw.setdefault("retry_cap", 900.0)
    return Sender(outbox, lambda backend: connector, backend="fake", fingerprint="settings-1",
                  rng=FixedRandom(fraction), **kw)


def env() -> dict[str, str]:
    e = dict(os.environ)
    e["PYTHONPATH"] = str(ROOT)
    return e


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def outbox(tmp_path: Path, clock: Clock) -> Any:
    ob = Outbox(tmp_path / "outbox", clock=clock)
    yield ob
    ob.close()


# ---------------------------------------------------------------------------------------- storing

def test_a_report_is_saved_whole_before_anything_is_sent(outbox: Outbox, tmp_path: Path) -> None:
    files = [Attachment("app.log", b"line\n" * 1000, "text/plain", True),
             Attachment("shot.png", os.urandom(5000), "image/png", False)]
    entry = enqueue(outbox, files=files, impact="high", urgency="low", priority="normal")
    assert entry.incident == "DL-000001" and entry.state == "queued" and entry.attempts == 0
    assert len(entry.submission_id) == 36 and entry.submission_id.count("-") == 4
    assert [(p.kind, p.name, p.state) for p in entry.parts] == [
        ("report", "deskline-report-DL-000001.zip", "pending"), ("file", "app.log", "pending"),
        ("file", "shot.png", "pending")]
    for part, f in zip(entry.parts[1:], files, strict=True):
        assert blob_path(outbox.blobs, part.sha256).read_bytes() == f.content
        assert outbox.read_part(entry, part) == f.content
    assert outbox.document(entry.id) == document()
    # another connection (another process) sees it committed
    other = sqlite3.connect(tmp_path / "outbox" / DB_NAME)
    assert other.execute("SELECT title, state FROM entries").fetchall() == [("Printer does not print", "queued")]
    assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    other.close()
    sub = entry.submission()
    assert sub.incident == "DL-000001" and sub.priority == "normal"
    assert f"Deskline submission {entry.submission_id} (DL-000001)" in sub.body()


def test_incident_numbers_are_monotonic_and_survive_reopening(tmp_path: Path) -> None:
    with Outbox(tmp_path / "o") as ob:
        numbers = [enqueue(ob, title=f"r{i}").incident for i in range(3)]
    with Outbox(tmp_path / "o") as ob:
        numbers.append(enqueue(ob).incident)
        assert ob.lookup("dl-2").title == "r1"
        assert ob.lookup("4").incident == "DL-000004"
        assert ob.lookup(ob.get(3).submission_id).id == 3
    assert numbers == ["DL-000001", "DL-000002", "DL-000003", "DL-000004"]
    assert incident_label(1234567) == "DL-1234567"
    with pytest.raises(OutboxError, match="not an incident number"):
        parse_incident("DL-0")
    with pytest.raises(OutboxError, match="not an incident number"):
        parse_incident("ticket 7")


def test_same_file_in_two_reports_is_stored_once(outbox: Outbox) -> None:
    f = Attachment("big.bin", os.urandom(100_000), "application/octet-stream", False)
    a, b = enqueue(outbox, files=[f]), enqueue(outbox, files=[f])
    assert a.parts[1].sha256 == b.parts[1].sha256
    assert len([p for p in outbox.blobs.rglob("*") if p.is_file()]) == 1


def test_enqueue_of_a_100_kb_report_is_fast(outbox: Outbox) -> None:
    doc = document()
    doc["probes"] = {"logs": {"data": {"lines": [os.urandom(24).hex() for _ in range(2000)]}}}  # ~100 KB
    size = len(json.dumps(doc))
    assert 95_000 < size < 140_000
    times = []
    for i in range(20):
        t0 = time.perf_counter()
        outbox.enqueue(document=doc, title=f"r{i}", description="d", summary="s" * 10_000)
        times.append(time.perf_counter() - t0)
    times.sort()
    assert times[len(times) // 2] < 0.05, times  # median, fsync included


# ------------------------------------------------------------------------------- sending, in order

def test_summary_first_then_attachments_one_by_one(outbox: Outbox) -> None:
    files = [Attachment("a.log", b"a" * 100, "text/plain", True), Attachment("b.bin", b"b" * 50, "x/y", False)]
    entry = enqueue(outbox, files=files)
    fake = Recorder()
    seen_states = []

    def hook(method: str, arg: str) -> None:
        if method == "attach":  # what another process would see at this moment
            with Outbox(outbox.folder) as other:
                seen_states.append((arg, other.get(entry.id).label))

    fake.hook = hook
    result = make_sender(outbox, fake).run()
    assert result.sent == ["DL-000001"] and result.completed == ["DL-000001"]
    assert [c[0] for c in fake.calls] == ["create", "attach", "attach", "attach"]
    assert [c[1] for c in fake.calls[1:]] == ["deskline-report-DL-000001.zip", "a.log", "b.bin"]
    assert seen_states == [("deskline-report-DL-000001.zip", "sent (attachments pending)"),
                           ("a.log", "sent (attachments pending)"), ("b.bin", "sent (attachments pending)")]
    body = fake.tickets["1"].body()
    assert body.startswith("It stopped this morning.") and "## Findings" in body
    assert f"Deskline submission {entry.submission_id} (DL-000001)" in body
    done = outbox.get(entry.id)
    assert done.label == "sent" and done.ticket_id == "1" and done.ticket_url.endswith("/ticket/1")
    assert {f.name: f.data for f in fake.files["1"]}["a.log"] == b"a" * 100
    bundle = fake.files["1"][0]
    assert bundle.media_type == "application/zip" and bundle.data[:2] == b"PK"
    assert not done.has_work and make_sender(outbox, fake).run().sent == []


def test_attachments_resume_where_they_stopped(outbox: Outbox, clock: Clock) -> None:
    files = [Attachment(f"f{i}.log", f"file {i}".encode(), "text/plain", True) for i in range(3)]
    entry = enqueue(outbox, files=files)
    fake = Recorder()
    calls = {"n": 0}

    def hook(method: str, arg: str) -> None:
        if method == "attach":
            calls["n"] += 1
            if calls["n"] == 3:
                raise TransientError("the helpdesk could not be reached while adding f1.log")

    fake.hook = hook
    result = make_sender(outbox, fake).run()
    mid = outbox.get(entry.id)
    assert result.sent == ["DL-000001"] and result.retrying == ["DL-000001"]
    assert mid.state == "sent" and [p.state for p in mid.parts] == ["done", "done", "pending", "pending"]
    assert mid.next_attempt > clock.now
    fake.hook = None
    clock.now = mid.next_attempt
    make_sender(outbox, fake).run()
    assert [c for c in fake.calls if c[0] == "create"] == [("create", entry.submission_id)]
    assert [f.name for f in fake.files["1"]] == ["deskline-report-DL-000001.zip", "f0.log", "f1.log", "f2.log"]
    assert outbox.get(entry.id).label == "sent"


# ----------------------------------------------------------------------------- errors and backoff

def test_backoff_doubles_up_to_the_cap_with_full_jitter(outbox: Outbox, clock: Clock) -> None:
    entry = enqueue(outbox)
    fake = Recorder()
    delays = []
    for _ in range(8):
        fake.fail["create"].append(TransientError("the helpdesk answered 503; will try again"))
        make_sender(outbox, fake, retry_base=10, retry_cap=300).run()
        e = outbox.get(entry.id)
        assert e.state == "queued"
        delays.append(e.next_attempt - clock.now)
        clock.now = e.next_attempt
    assert delays == [10, 20, 40, 80, 160, 300, 300, 300]
    assert outbox.get(entry.id).attempts == 8 and outbox.get(entry.id).failures == 8
    # full jitter: anywhere between 0 and the ceiling, spread out
    rng = random.Random(7)
    drawn = [backoff_delay(4, 10, 300, rng) for _ in range(2000)]
    assert 0 <= min(drawn) < 4 and 76 < max(drawn) <= 80
    assert 35 < sum(drawn) / len(drawn) < 45
    assert backoff_delay(10_000, 10, 300, rng) <= 300


def test_not_due_entries_wait(outbox: Outbox, clock: Clock) -> None:
    entry = enqueue(outbox)
    fake = Recorder()
    fake.fail["create"].append(TransientError("503"))
    make_sender(outbox, fake, fraction=0.5).run()
    assert outbox.get(entry.id).next_attempt == clock.now + 5
    clock.now += 4.9
    assert make_sender(outbox, fake).run().sent == []
    clock.now += 0.2
    assert make_sender(outbox, fake).run().sent == ["DL-000001"]


def test_retry_after_is_honoured(outbox: Outbox, clock: Clock) -> None:
    entry = enqueue(outbox)
    fake = Recorder()
    fake.fail["create"].append(TransientError("the helpdesk answered 429", retry_after=120))
    make_sender(outbox, fake, fraction=0.0).run()
    assert outbox.get(entry.id).next_attempt == clock.now + 120
    # a jittered delay longer than Retry-After wins; an absurd Retry-After is capped at a day
    assert backoff_delay(3, 100, 900, FixedRandom(1.0), retry_after=5) == 400
    assert backoff_delay(1, 1, 900, FixedRandom(0.0), retry_after=10**9) == 24 * 3600


def test_permanent_error_fails_with_the_reason_and_is_retryable(outbox: Outbox, clock: Clock) -> None:
    entry = enqueue(outbox)
    fake = Recorder()
    reason = "the helpdesk refused the request while creating the ticket (422): priority is required"
    fake.fail["create"].append(PermanentError(reason))
    result = make_sender(outbox, fake).run()
    failed = outbox.get(entry.id)
    assert result.failed == ["DL-000001"] and failed.state == "failed" and failed.failed_reason == reason
    clock.now += 10**6
    assert make_sender(outbox, fake).run().sent == []  # never retried by itself
    assert [c[0] for c in fake.calls] == ["create"]
    outbox.retry(entry.id)
    assert outbox.get(entry.id).state == "queued"
    assert make_sender(outbox, fake).run().sent == ["DL-000001"]
    assert fake.creates == Counter({entry.submission_id: 1})


def test_configuration_error_keeps_reports_queued_and_is_recorded_once(
        outbox: Outbox, clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    entries = [enqueue(outbox, title=f"r{i}") for i in range(3)]
    fake = Recorder()
    message = "the helpdesk refused the credentials while creating the ticket (401)"
    for _ in range(5):
        fake.fail["create"].append(ConfigurationError(message, "helpdesk.token"))
    results = [make_sender(outbox, fake).run()]
    clock.now += 60
    results.append(make_sender(outbox, fake).run())
    assert [e.state for e in outbox.entries()] == ["queued"] * 3
    assert [c[0] for c in fake.calls] == ["create"]  # one try; the backend is paused for the rest
    assert results[0].problems == [message] and results[1].problems == [message]
    problems = outbox.problems()
    assert [(p.backend, p.setting, p.message) for p in problems] == [("fake", "helpdesk.token", message)]
    assert sum("paused" in r.getMessage() for r in caplog.records) == 1
    assert all(e.failures == 0 for e in outbox.entries())  # not the reports' fault
    # the settings change: sending resumes at once, the problem is forgotten
    sender = make_sender(outbox, fake)
    sender.fingerprint = "settings-2"
    fake.fail["create"].clear()
    assert sorted(sender.run().sent) == [e.incident for e in entries]
    assert outbox.problems() == []


def test_configuration_error_when_the_connector_cannot_be_built(outbox: Outbox) -> None:
    enqueue(outbox)

    def factory(backend: str) -> Connector:
        raise ConfigurationError("helpdesk.token: the environment variable HD_TOKEN is not set", "helpdesk.token")

    result = Sender(outbox, factory, backend="fake", fingerprint="x").run()
    assert result.problems == ["helpdesk.token: the environment variable HD_TOKEN is not set"]
    assert outbox.get(1).state == "queued"


def test_a_lost_answer_is_adopted_never_created_twice(outbox: Outbox, clock: Clock) -> None:
    entry = enqueue(outbox)
    fake = Recorder()
    fake.lose_responses = 1  # the ticket is filed, the answer never comes back
    make_sender(outbox, fake).run()
    waiting = outbox.get(entry.id)
    assert waiting.state == "queued" and waiting.uncertain and waiting.attempts == 1
    clock.now = waiting.next_attempt
    assert make_sender(outbox, fake).run().sent == ["DL-000001"]
    assert [c[0] for c in fake.calls[:3]] == ["create", "find", "attach"]
    assert fake.creates == Counter({entry.submission_id: 1})
    assert outbox.get(entry.id).ticket_id == "1"


def test_refused_connection_needs_no_search_before_the_next_try(outbox: Outbox, clock: Clock) -> None:
    entry = enqueue(outbox)
    fake = Recorder()
    try:
        raise ConnectionRefusedError(111, "Connection refused")
    except ConnectionRefusedError as cause:
        refused = TransientError("the helpdesk could not be reached")
        refused.__cause__ = cause
    fake.fail["create"].append(refused)
    make_sender(outbox, fake).run()
    assert not outbox.get(entry.id).uncertain
    clock.now += 1000
    make_sender(outbox, fake).run()
    assert [c[0] for c in fake.calls[:2]] == ["create", "create"]
    assert may_have_reached_server(TransientError("timed out"))


def test_requests_connection_errors_are_told_apart() -> None:
    requests = pytest.importorskip("requests")
    from desktop.connectors.http import HttpOptions, call, make_session

    opts = HttpOptions("http://127.0.0.1:9", timeout=2)
    with pytest.raises(TransientError) as refused:
        call(make_session(opts), "POST", "http://127.0.0.1:9/api", "creating the ticket", opts)
    assert not may_have_reached_server(refused.value)
    read_timeout = TransientError("timed out")
    read_timeout.__cause__ = requests.exceptions.ReadTimeout("read timed out")
    assert may_have_reached_server(read_timeout)


def test_an_interrupted_sending_state_searches_first(outbox: Outbox) -> None:
    entry = enqueue(outbox)
    # a sender of a process that no longer exists was creating the ticket
    outbox.conn.execute("UPDATE entries SET state = 'sending', owner = '999999999:1.0:dead', lease_until = ?",
                        (outbox.clock() + 3600,))
    fake = Recorder()
    fake.tickets["1"] = entry.submission()  # its create did arrive
    assert make_sender(outbox, fake).run().sent == ["DL-000001"]
    assert [c[0] for c in fake.calls[:2]] == ["find", "attach"]
    assert fake.creates == Counter({entry.submission_id: 1})


def _refused() -> TransientError:
    err = TransientError("the helpdesk could not be reached while creating the ticket: connection refused")
    err.__cause__ = ConnectionRefusedError(111, "Connection refused")
    return err


def test_an_unreachable_helpdesk_costs_one_try_per_run_not_one_per_report(outbox: Outbox) -> None:
    for i in range(5):
        enqueue(outbox, title=f"r{i}")
    fake = Recorder()
    fake.fail["create"].extend(_refused() for _ in range(5))
    result = make_sender(outbox, fake).run()
    assert [c[0] for c in fake.calls] == ["create"] and result.retrying == ["DL-000001"]
    assert outbox.counts()["queued"] == 5
    fake.fail["create"].clear()
    assert len(make_sender(outbox, fake).run().sent) == 4  # the one tried is not due yet; the rest go


def test_waiting_sender_drains_after_the_helpdesk_comes_back(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "o")  # the real clock
    for i in range(4):
        enqueue(ob, title=f"r{i}")
    fake = Recorder()
    fake.fail["create"].extend(_refused() for _ in range(3))
    sender = make_sender(ob, fake, retry_base=0.02, retry_cap=0.1)
    result = sender.run(wait=True, deadline=time.monotonic() + 30)
    assert sorted(result.sent) == ["DL-000001", "DL-000002", "DL-000003", "DL-000004"]
    assert [c[0] for c in fake.calls].count("create") == 3 + 4  # three refused tries, then one each
    assert ob.next_due() is None
    ob.close()


def test_a_clock_put_back_does_not_park_reports(outbox: Outbox, clock: Clock) -> None:
    entry = enqueue(outbox)
    fake = Recorder()
    fake.fail["create"].append(TransientError("the helpdesk answered 503", retry_after=3600))
    make_sender(outbox, fake).run()
    clock.now -= 30 * 86400  # someone set the date a month back
    assert outbox.get(entry.id).next_attempt - clock.now > 30 * 86400
    assert make_sender(outbox, fake).run().sent == ["DL-000001"]


def test_credentials_in_addresses_are_not_kept_in_messages(outbox: Outbox) -> None:
    entry = enqueue(outbox)
    fake = Recorder()
    fake.fail["create"].append(TransientError(
        "the proxy did not pass the request: http://alice:s3cret@proxy.example:3128 refused"))
    make_sender(outbox, fake).run()
    assert outbox.get(entry.id).last_error == ("the proxy did not pass the request: http://***:***@proxy.example:3128"
                                               " refused")


def test_senders_in_parallel_share_the_work_without_duplicates(tmp_path: Path) -> None:
    import threading

    folder, server = tmp_path / "outbox", tmp_path / "server.sqlite3"
    with Outbox(folder) as ob:
        sids = {enqueue(ob, title=f"r{i}").submission_id for i in range(40)}
    done: list[list[str]] = []

    def worker() -> None:
        with Outbox(folder) as ob:  # one connection per thread
            connector = ServerConnector(server, latency=0.002)
            sender = Sender(ob, lambda b: connector, backend="server", fingerprint="x")
            done.append(sender.run().sent)
            sender.close()
            connector.close()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(i for d in done for i in d) == [incident_label(n) for n in range(1, 41)]
    assert sum(1 for d in done if d) >= 2  # the work was shared
    db = sqlite3.connect(server)
    per_sid = Counter(sid for (sid,) in db.execute("SELECT submission_id FROM tickets"))
    db.close()
    assert set(per_sid) == sids and max(per_sid.values()) == 1


def test_a_live_lease_is_respected(outbox: Outbox, clock: Clock) -> None:
    enqueue(outbox)
    other = f"{os.getpid()}:0:othersender"
    assert outbox.claim(other, current_backend="fake") is not None
    fake = Recorder()
    assert make_sender(outbox, fake).run().sent == []
    clock.now += 301  # the lease ran out without being renewed
    assert make_sender(outbox, fake).run().sent == ["DL-000001"]


# ---------------------------------------------------------------------------- files and their limits

def test_files_over_the_limits_are_refused_and_noted_on_the_ticket(outbox: Outbox) -> None:
    files = [Attachment("big.log", b"x" * 20_000, "text/plain", True),
             Attachment("pic.png", b"p" * 100, "image/png", False),
             Attachment("ok.log", b"fine", "text/plain", True),
             Attachment("net.cfg", b"a = 1", "text/plain", True)]
    entry = enqueue(outbox, files=files)
    # like a stock django-helpdesk: no .zip, .json or .cfg; text goes as .txt
    fake = Recorder(ConnectorInfo(name="fake", max_attachment_bytes=10_000, allowed_extensions=(".txt", "LOG")))
    make_sender(outbox, fake).run()
    done = outbox.get(entry.id)
    sent = {f.name: f for f in fake.files["1"]}
    assert list(sent) == ["deskline-report-DL-000001.json.txt", "ok.log", "net.cfg.txt"]
    assert json.loads(sent["deskline-report-DL-000001.json.txt"].data) == document()
    assert sent["net.cfg.txt"].media_type == "text/plain" and sent["net.cfg.txt"].data == b"a = 1"
    states = {p.name: (p.state, p.reason, p.noted) for p in done.parts}
    assert states["net.cfg"] == ("done", "sent as net.cfg.txt", False)
    assert states["big.log"][0] == "refused" and "19.5 KiB is more than the 9.8 KiB" in states["big.log"][1]
    assert states["pic.png"][0] == "refused" and "does not accept files of this type (it takes .log, .txt" in \
        states["pic.png"][1]
    assert states["big.log"][2] and states["pic.png"][2]
    (note,) = fake.comments["1"]
    assert "big.log: 19.5 KiB" in note and "pic.png" in note and "deskline outbox export DL-000001" in note
    assert done.label == "sent (2 files not attached)" and not done.has_work


def test_a_request_limit_and_a_server_refusing_a_file(outbox: Outbox) -> None:
    files = [Attachment("f0.log", b"y" * 4000, "text/plain", True),
             Attachment("f1.log", b"y" * 4000, "text/plain", True),
             Attachment("f2.log", b"z" * 60_000, "text/plain", True)]
    entry = enqueue(outbox, files=files)
    fake = Recorder(ConnectorInfo(name="fake", max_total_bytes=50_000, allowed_extensions=("zip", "log")))

    def hook(method: str, arg: str) -> None:
        if method == "attach" and arg == "f0.log":
            raise PermanentError("the helpdesk refused the size of the upload while adding f0.log (413)")

    fake.hook = hook
    make_sender(outbox, fake).run()
    states = {p.name: p.state for p in outbox.get(entry.id).parts}
    assert states == {"deskline-report-DL-000001.zip": "done", "f0.log": "refused", "f1.log": "done",
                      "f2.log": "refused"}
    (note,) = fake.comments["1"]
    assert "f0.log: the helpdesk refused the size of the upload while adding f0.log (413)" in note
    assert "f2.log: 58.6 KiB is more than the 48.8 KiB this helpdesk accepts per file" in note


def test_an_unreadable_file_fails_the_report_with_the_reason(outbox: Outbox) -> None:
    entry = enqueue(outbox, files=[Attachment("app.log", b"hello", "text/plain", True)])
    blob_path(outbox.blobs, entry.parts[1].sha256).unlink()
    fake = Recorder()
    result = make_sender(outbox, fake).run()
    failed = outbox.get(entry.id)
    assert result.failed == ["DL-000001"] and failed.state == "failed"
    assert failed.failed_reason.startswith("app.log: the saved copy in the outbox cannot be read")
    assert fake.calls == []


def test_a_damaged_file_after_the_ticket_is_noted(outbox: Outbox) -> None:
    entry = enqueue(outbox, files=[Attachment("app.log", b"hello", "text/plain", True)])
    blob = blob_path(outbox.blobs, entry.parts[1].sha256)
    blob.write_bytes(b"HELLO")  # same size, other bytes
    fake = Recorder()
    make_sender(outbox, fake).run()
    part = outbox.get(entry.id).parts[1]
    assert part.state == "failed" and "no longer matches its checksum" in part.reason
    assert "app.log: the saved copy in the outbox is damaged" in fake.comments["1"][0]


# ----------------------------------------------------------------------------- comments and ratings

def test_comments_and_ratings_follow_the_ticket_in_order(outbox: Outbox, clock: Clock) -> None:
    entry = enqueue(outbox)
    fake = Recorder(ConnectorInfo(name="fake", max_attachment_bytes=1000))
    fake.fail["create"].append(TransientError("the helpdesk could not be reached"))
    make_sender(outbox, fake).run()
    # written while the report still waits: they follow it
    outbox.add_followup(entry.id, "comment", text="It happened again", attachments=[
        Attachment("again.log", b"x" * 10, "text/plain", True),
        Attachment("huge.log", b"y" * 5000, "text/plain", True)])
    outbox.add_followup(entry.id, "rating", score=2, text="slow")
    with pytest.raises(OutboxError, match="1 to 5"):
        outbox.add_followup(entry.id, "rating", score=0)
    with pytest.raises(OutboxError, match="needs words or files"):
        outbox.add_followup(entry.id, "comment", text="  ")
    assert outbox.get(entry.id).followups_pending == 2
    clock.now += 1000
    fake.fail["comment"].append(TransientError("the helpdesk answered 502; will try again"))
    result = make_sender(outbox, fake).run()
    assert result.sent == ["DL-000001"] and result.retrying == ["DL-000001"] and result.completed == []
    assert [f.state for f in outbox.followups(entry.id)] == ["queued", "queued"]
    clock.now += 1000
    assert make_sender(outbox, fake).run().completed == ["DL-000001"]
    first, rating = fake.comments["1"][-2:]
    assert [f.name for f in fake.files["1"]][-1] == "again.log"
    assert first.startswith("It happened again\n\nDeskline could not attach: huge.log: 4.9 KiB is more than")
    assert rating.startswith("Satisfaction rating: 2/5") and rating.endswith("slow")  # no place for it: a comment
    assert [f.state for f in outbox.followups(entry.id)] == ["sent", "sent"]
    assert not outbox.get(entry.id).has_work


def test_a_refused_comment_fails_alone_and_is_retryable(outbox: Outbox) -> None:
    entry = enqueue(outbox)
    fake = Recorder()
    make_sender(outbox, fake).run()
    outbox.add_followup(entry.id, "comment", text="one")
    outbox.add_followup(entry.id, "comment", text="two")
    fake.fail["comment"].append(PermanentError("the helpdesk refused the request while adding a comment (400)"))
    make_sender(outbox, fake).run()
    assert [(f.state, f.reason) for f in outbox.followups(entry.id)] == [
        ("failed", "the helpdesk refused the request while adding a comment (400)"), ("sent", "")]
    outbox.retry(entry.id)
    make_sender(outbox, fake).run()
    assert fake.comments["1"] == ["two", "one"]


def test_an_outbox_of_the_first_version_is_migrated(tmp_path: Path) -> None:
    with Outbox(tmp_path / "o") as ob:
        enqueue(ob)
        ob.conn.executescript("DROP TABLE followups; PRAGMA user_version = 1;")
    with Outbox(tmp_path / "o") as ob:
        assert ob.conn.execute("PRAGMA user_version").fetchone()[0] == 2
        ob.add_followup(1, "comment", text="after the upgrade")
        assert ob.get(1).followups_pending == 1 and ob.get(1).title == "Printer does not print"
        assert enqueue(ob).incident == "DL-000002"


# ------------------------------------------------------------------------------------------ status

def test_status_and_replies_with_the_etag(outbox: Outbox) -> None:
    entry = enqueue(outbox)
    fake = Recorder()
    make_sender(outbox, fake).run()
    ref = outbox.get(entry.id).ticket()
    assert ref is not None
    fake.status_of["1"] = TicketStatus(ref, "open", "In progress", "2026-05-09T10:00:00Z",
                                       (Reply("r1", "Alice", "2026-05-09T10:00:00Z", "We are on it"),), etag="v1")
    first = refresh_tickets(outbox, fake, "fake")
    assert first.changed == ["DL-000001"] and [r.text for r in first.replies["DL-000001"]] == ["We are on it"]
    e = outbox.get(entry.id)
    assert (e.status_state, e.status_label, e.status_etag, e.replies_total, e.replies_new) == (
        "open", "In progress", "v1", 1, 1)
    second = refresh_tickets(outbox, fake, "fake")
    assert second.changed == [] and second.replies == {} and fake.calls[-1] == ("status", "v1")
    outbox.mark_replies_seen(entry.id)
    assert outbox.get(entry.id).replies_new == 0
    fake.fail["status"].append(TransientError("the helpdesk could not be reached"))
    assert "could not be reached" in refresh_tickets(outbox, fake, "fake").unreachable


def test_priority_matrix() -> None:
    assert priority_for("high", "high") == "urgent"
    assert priority_for("medium", "medium") == "normal"
    assert priority_for("low", "low") == "low"
    assert {priority_for(i, u) == priority_for(u, i) for i in ("low", "medium", "high")
            for u in ("low", "medium", "high")} == {True}
    assert set(PRIORITY_MATRIX.values()) == {"low", "normal", "high", "urgent"}
    with pytest.raises(ValueError, match="low, medium or high"):
        priority_for("huge", "low")


# ------------------------------------------------------------------------------- damage and space

def test_a_garbage_database_is_moved_aside_and_numbers_go_on(tmp_path: Path) -> None:
    folder = tmp_path / "o"
    with Outbox(folder) as ob:
        for i in range(3):
            enqueue(ob, title=f"r{i}")
    garbage = os.urandom(8192)
    (folder / DB_NAME).write_bytes(garbage)
    for side in ("-wal", "-shm"):
        (folder / (DB_NAME + side)).unlink(missing_ok=True)
    with Outbox(folder) as ob:
        (warning,) = ob.warnings
        assert "was damaged (file is not a database)" in warning and "0 reports recovered" in warning
        (aside,) = folder.glob(DB_NAME + ".corrupt-*")
        assert aside.read_bytes() == garbage  # kept as it was, for whoever wants to dig
        assert enqueue(ob).incident == "DL-000004"  # numbers are never given twice
        assert ob.integrity() == "ok"


def test_a_damaged_page_is_detected_and_what_is_readable_recovered(tmp_path: Path) -> None:
    folder = tmp_path / "o"
    with Outbox(folder) as ob:
        sids = {enqueue(ob, title=f"r{i}").submission_id for i in range(40)}
        ob.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db = folder / DB_NAME
    data = bytearray(db.read_bytes())
    page = 4096
    pages = len(data) // page
    assert pages > 5
    # damage every page of the 'parts' table's b-tree: found by quick_check, entries still readable
    conn = sqlite3.connect(db)
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'parts'").fetchone()[0]
    conn.close()
    data[(root - 1) * page:(root - 1) * page + 100] = b"\xff" * 100
    db.write_bytes(bytes(data))
    with Outbox(folder) as ob:
        (warning,) = ob.warnings
        assert "was damaged" in warning
        recovered = ob.entries()
        assert len(recovered) == 40 and "40 reports recovered" in warning  # the entries' pages were intact
        assert all("attached files could not be recovered" in e.last_error for e in recovered)
        assert {e.submission_id for e in recovered} <= sids
        for e in recovered:
            assert ob.document(e.id)["format"] == "deskline-report"
        assert enqueue(ob).id > 40
        assert ob.integrity() == "ok"


def test_a_full_database_refuses_the_new_report_and_keeps_the_old(tmp_path: Path) -> None:
    ob = Outbox(tmp_path / "o", max_db_bytes=400_000)
    saved, errors = [], []
    for i in range(200):
        try:
            saved.append(ob.enqueue(document=document(), title=f"r{i}", description=os.urandom(10_000).hex(),
                                    attachments=[Attachment(f"f{i}.bin", os.urandom(2000), "x/y", False)]))
        except OutboxFullError as exc:
            errors.append(str(exc))
            break
    (error,) = errors
    assert error.startswith("no space left for the outbox in ") and "the report was not saved" in error
    assert 5 < len(saved) < 200
    assert [e.title for e in reversed(ob.entries())] == [e.title for e in saved]
    for e in saved:
        assert ob.read_part(e, e.parts[1])
    assert ob.integrity() == "ok"
    referenced = {p.sha256 for e in ob.entries() for p in e.parts if p.sha256}
    assert {p.name for p in ob.blobs.rglob("*") if p.is_file()} == referenced  # the refused one left nothing
    ob.close()
    with Outbox(tmp_path / "o") as again:  # without the cap: the store still works
        assert enqueue(again).id == len(saved) + 1


_TMPFS_CHILD = r"""
import json, os, sys
from pathlib import Path
from desktop.outbox import Outbox, OutboxFullError
from desktop.diagnostics.report import Attachment
from tests.outbox_doubles import document
ob = Outbox(Path(sys.argv[1]))
saved, errors = [], []
for size in (20_000, 200):  # first the files fill the disk, then the database itself
    for i in range(500):
        try:
            e = ob.enqueue(document=document(), title=f"r{size}-{i}", description=os.urandom(size // 4).hex(),
                           attachments=[Attachment(f"f{i}.bin", os.urandom(size), "x/y", False)])
            saved.append(e.id)
        except OutboxFullError as exc:
            errors.append(str(exc))
            break
intact = all(ob.document(n)["format"] == "deskline-report" and ob.read_part(ob.get(n), ob.get(n).parts[1])
             for n in saved)
print(json.dumps({"saved": saved, "errors": errors, "intact": intact, "integrity": ob.integrity(),
                  "titles": [e.title for e in ob.entries()]}))
"""


@pytest.mark.root
def test_a_full_filesystem_refuses_the_new_report_and_keeps_the_old(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root for a tmpfs in a private mount namespace")
    folder = tmp_path / "small"
    folder.mkdir()
    r = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c",
         'mount -t tmpfs -o size=400k tmpfs "$0" && exec "$@"', str(folder), sys.executable, "-c", _TMPFS_CHILD,
         str(folder / "outbox")],
        capture_output=True, text=True, env=env(), cwd=ROOT, timeout=60, check=False)
    if r.returncode != 0 and "mount" in r.stderr and "Traceback" not in r.stderr:
        pytest.skip(f"no private tmpfs here: {r.stderr.strip()}")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert len(out["errors"]) == 2 and all(e.startswith("no space left for the outbox") for e in out["errors"])
    assert len(out["saved"]) > 2 and out["intact"] and out["integrity"] == "ok"
    assert len(out["titles"]) == len(out["saved"])


# -------------------------------------------------------------------------------- kill -9, for real

def _read_line(proc: subprocess.Popen[str], deadline: float) -> str:
    sel = selectors.DefaultSelector()
    assert proc.stdout is not None
    sel.register(proc.stdout, selectors.EVENT_READ)
    try:
        while time.monotonic() < deadline:
            if sel.select(timeout=max(0.0, deadline - time.monotonic())):
                return proc.stdout.readline()
        return ""
    finally:
        sel.close()


def _drain(folder: Path, server: Path) -> Outbox:
    ob = Outbox(folder)
    connector = ServerConnector(server)
    sender = Sender(ob, lambda backend: connector, backend="server", fingerprint="x", retry_base=0.01,
                    retry_cap=0.05)
    sender.run(wait=True, deadline=time.monotonic() + 60)
    connector.close()
    return ob


def test_kill_9_at_random_moments_loses_nothing_and_duplicates_nothing(tmp_path: Path) -> None:
    folder, server = tmp_path / "outbox", tmp_path / "server.sqlite3"
    iterations = int(os.environ.get("DESKLINE_KILL_ITERATIONS", "25"))
    rng = random.Random(int(os.environ.get("DESKLINE_KILL_SEED", "1")))
    enqueued: dict[str, str] = {}
    code = "import sys; from tests.outbox_doubles import kill_child; kill_child(*sys.argv[1:])"
    for it in range(iterations):
        procs = [subprocess.Popen([sys.executable, "-c", code, str(folder), str(server), f"{it}.{k}"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(), cwd=ROOT)
                 for k in range(2)]
        try:
            for p in procs:
                line = _read_line(p, time.monotonic() + 30)
                if line != "ready\n":
                    p.kill()
                    pytest.fail(f"round {it}: a child did not start: {line!r}; stderr: {p.communicate()[1]}")
            time.sleep(rng.uniform(0.0, 0.4))  # the random moment of the kill, not a synchronisation
        finally:
            for p in procs:
                p.send_signal(signal.SIGKILL)
        for p in procs:
            out, err = p.communicate(timeout=30)
            assert p.returncode == -signal.SIGKILL, err
            for line in out.splitlines():
                parts = line.split()
                if len(parts) == 3 and parts[0] == "enqueued" and len(parts[1]) == 36:
                    enqueued[parts[1]] = parts[2]
    assert len(enqueued) > iterations  # the children did get work done between kills
    ob = _drain(folder, server)
    try:
        assert ob.integrity() == "ok"
        entries = ob.entries()
        by_sid = {e.submission_id: e for e in entries}
        assert set(enqueued) <= set(by_sid)  # every report a child saw saved is there
        assert max(Counter(e.title for e in entries).values()) == 1  # exactly once
        assert {e.state for e in entries} == {"sent"} and not any(e.has_work for e in entries)
        db = sqlite3.connect(server)
        per_sid = Counter(sid for (sid,) in db.execute("SELECT submission_id FROM tickets"))
        assert max(per_sid.values()) == 1, [s for s, n in per_sid.items() if n > 1]  # no duplicate ticket
        assert set(per_sid) == set(by_sid)
        tickets = dict(db.execute("SELECT id, submission_id FROM tickets"))
        for e in entries:
            assert tickets[int(e.ticket_id)] == e.submission_id
        files = Counter(name for (name,) in db.execute("SELECT name FROM files"))
        for e in entries:
            assert files[e.parts[1].name] >= 1 and files[e.parts[0].name] >= 1
        adopted = db.execute("SELECT count(*) FROM finds WHERE hit = 1").fetchone()[0]
        print(f"\nkill -9: {iterations} rounds x 2 processes, {len(entries)} reports, {adopted} adopted after a "
              f"lost answer, {sum(n - 1 for n in files.values())} attachment(s) sent twice")
        db.close()
    finally:
        ob.close()


_CRASH_CHILD = r"""
import sys
from pathlib import Path
from desktop.delivery import Sender
from desktop.outbox import Outbox
from tests.outbox_doubles import ServerConnector
ob = Outbox(Path(sys.argv[1]))
connector = ServerConnector(Path(sys.argv[2]), die_at=sys.argv[3])
Sender(ob, lambda b: connector, backend="server", fingerprint="x").run()
print("not killed")
"""


@pytest.mark.parametrize(("die_at", "attaches_before"), [("create:1", 0), ("attach-before:2", 1), ("attach:3", 3)])
def test_a_crash_mid_delivery_resumes_without_duplicates(tmp_path: Path, die_at: str, attaches_before: int) -> None:
    folder, server = tmp_path / "outbox", tmp_path / "server.sqlite3"
    with Outbox(folder) as ob:
        entry = enqueue(ob, files=[Attachment(f"f{i}.log", f"file {i}".encode(), "text/plain", True)
                                   for i in range(3)])
    r = subprocess.run(
        [sys.executable, "-c", _CRASH_CHILD, str(folder), str(server), die_at], capture_output=True, text=True,
        env=env(), cwd=ROOT, timeout=60, check=False)
    assert r.returncode == -signal.SIGKILL, r.stdout + r.stderr
    db = sqlite3.connect(server)
    assert db.execute("SELECT count(*) FROM files").fetchone()[0] == attaches_before
    with Outbox(folder) as ob:
        crashed = ob.get(entry.id)
        assert crashed.state == ("sending" if die_at.startswith("create") else "sent")
        connector = ServerConnector(server)
        Sender(ob, lambda b: connector, backend="server", fingerprint="x").run()
        done = ob.get(entry.id)
        assert done.label == "sent" and not done.has_work
    assert db.execute("SELECT count(*) FROM tickets").fetchone()[0] == 1
    names = [n for (n,) in db.execute("SELECT name FROM files ORDER BY rowid")]
    assert sorted(set(names)) == sorted(["deskline-report-DL-000001.zip", "f0.log", "f1.log", "f2.log"])
    if die_at == "attach:3":
        assert names.count("f1.log") == 2  # stored, then the answer was lost: sent again (a file, not a ticket)
    else:
        assert len(names) == 4
    if die_at == "create:1":
        assert db.execute("SELECT hit FROM finds").fetchall() == [(1,)]  # found and adopted
    db.close()


def test_export_is_a_bundle_with_every_file(outbox: Outbox, tmp_path: Path) -> None:
    entry = enqueue(outbox, files=[Attachment("app.log", b"log line\n", "text/plain", True)])
    target = tmp_path / "DL-000001.zip"
    target.write_bytes(outbox.export(entry.id))
    rep = read_bundle(target)
    assert rep.report_id == document()["report_id"]
    assert [(a.name, a.content) for a in rep.attachments] == [("app.log", b"log line\n")]
    doc = json.loads(zlib.decompress(outbox.conn.execute("SELECT document FROM entries").fetchone()[0]))
    assert doc == rep.document


def test_processes_opening_a_new_outbox_at_once_all_succeed(tmp_path: Path) -> None:
    """Switching a new database to WAL from two processes at the same moment fails at once with
    'database is locked' (SQLite's busy handler is not used there); the outbox retries."""
    code = ("import sys, time; from pathlib import Path; from desktop.outbox import Outbox\n"
            "go = Path(sys.argv[2])\n"
            "while not go.exists(): time.sleep(0.001)\n"
            "Outbox(Path(sys.argv[1])).close(); print('opened')")
    for round_ in range(12):
        folder, go = tmp_path / f"outbox{round_}", tmp_path / f"go{round_}"
        procs = [subprocess.Popen([sys.executable, "-c", code, str(folder), str(go)], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=env(), cwd=ROOT) for _ in range(4)]
        time.sleep(0.3)  # let the interpreters start; not a synchronisation (the file is)
        go.touch()
        for p in procs:
            out, err = p.communicate(timeout=60)
            assert out == "opened\n", err
