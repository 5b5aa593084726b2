"""The local store: the embedded default helpdesk, in the outbox's own SQLite database."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from desktop.config import parse
from desktop.connectors import registry
from desktop.connectors.base import AttachmentFile, ConfigurationError, PermanentError, Submission, TicketRef
from desktop.connectors.local import LocalStore
from desktop.delivery import Sender
from desktop.diagnostics.bundle import read_bundle
from desktop.diagnostics.report import Attachment
from desktop.outbox import Outbox, blob_path
from tests.outbox_doubles import document


def _enqueue(ob: Outbox, title: str, files: list[Attachment] | None = None) -> int:
    return ob.enqueue(document=document(), title=title, description="words", summary="## Findings",
                      attachments=files or []).id


def test_reports_become_numbered_local_tickets_and_export_as_bundles(tmp_path: Path) -> None:
    folder = tmp_path / "outbox"
    settings = parse(f'[helpdesk]\nbackend = "local"\n[outbox]\npath = "{folder}"\n')
    ob = Outbox(folder)
    store = registry.from_settings(settings)
    assert isinstance(store, LocalStore) and store.folder == folder
    log = Attachment("app.log", b"secret masked already\n", "text/plain", True)
    numbers = [_enqueue(ob, f"report {i}", [log] if i == 1 else None) for i in range(3)]
    result = Sender.from_settings(ob, settings).run()
    assert result.sent == ["DL-000001", "DL-000002", "DL-000003"]
    entries = {e.id: e for e in ob.entries()}
    assert [entries[n].ticket_id for n in numbers] == ["DL-000001", "DL-000002", "DL-000003"]
    assert all(e.backend == "local" and e.label == "sent" for e in entries.values())
    assert [name for name, _, _ in store.files("DL-000002")] == ["deskline-report-DL-000002.zip", "app.log"]
    # the file is kept once, by hash, shared with the outbox's copy
    (_, size, sha), = [f for f in store.files("DL-000002") if f[0] == "app.log"]
    assert blob_path(ob.blobs, sha).read_bytes() == log.content and size == len(log.content)
    target = tmp_path / "DL-000002.zip"
    target.write_bytes(ob.export(2))
    rep = read_bundle(target)
    assert rep.document["report_id"] == document()["report_id"]
    assert [(a.name, a.content) for a in rep.attachments] == [("app.log", log.content)]
    ob.close()
    store.close()


def test_numbers_are_never_reused_and_creates_are_idempotent(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    sub = Submission("0b6f3c9e-0000-4000-8000-000000000001", "t", "d", incident="DL-000007")
    first = store.create(sub)
    again = store.create(sub)  # a retry after a lost answer files nothing new
    assert first == again == TicketRef("local", "DL-000007", "")
    assert store.count() == 1 and store.find(sub.submission_id) == first
    assert store.find("0b6f3c9e-0000-4000-8000-000000000002") is None
    other = Submission("0b6f3c9e-0000-4000-8000-000000000002", "t", "d", incident="DL-000007")
    with pytest.raises(PermanentError, match="already names another report"):
        store.create(other)


def test_status_comments_ratings_and_closing(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    ref = store.create(Submission("0b6f3c9e-0000-4000-8000-000000000003", "Wi-Fi drops", "often",
                                  incident="DL-000001"))
    status = store.status(ref)
    assert status is not None and (status.state, status.label) == ("new", "New")
    assert store.status(ref, status.etag) is None  # unchanged
    store.comment(ref, "It happened again at 10:00", [AttachmentFile("w.txt", "text/plain", b"log")])
    store.rate(ref, 4, "quick")
    with pytest.raises(PermanentError, match="1 to 5"):
        store.rate(ref, 6)
    store.set_state(ref.ticket_id, "closed")
    closed = store.status(ref, status.etag)
    assert closed is not None and closed.state == "closed" and closed.etag != status.etag
    assert store.comments(ref.ticket_id) == ["It happened again at 10:00"]
    assert store.ratings(ref.ticket_id) == [(4, "quick")]
    assert [f[0] for f in store.files(ref.ticket_id)] == ["w.txt"]
    with pytest.raises(PermanentError, match="not a ticket state"):
        store.set_state(ref.ticket_id, "done")
    with pytest.raises(PermanentError, match="DL-000099 is not in the local store"):
        store.status(TicketRef("local", "DL-000099"))


def test_registry_names_the_setting_for_unknown_or_missing_backends() -> None:
    settings = parse('[helpdesk]\nbackend = "local"\n')
    with pytest.raises(ConfigurationError) as unknown:
        registry.from_settings(settings, "frobnicate")
    assert unknown.value.setting == "helpdesk.backend" and "not a known helpdesk" in str(unknown.value)
    assert set(registry.names()) >= {"local", "django-helpdesk", "redmine", "email", "webhook"}


def test_local_tickets_survive_a_damaged_outbox(tmp_path: Path) -> None:
    ob = Outbox(tmp_path)
    store = LocalStore(tmp_path)
    for i in range(30):
        _enqueue(ob, f"report {i}")
    Sender(ob, lambda backend: store, backend="local", fingerprint="x").run()
    store.set_state("DL-000003", "closed")
    ob.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    ob.close()
    store.close()
    db = tmp_path / "outbox.sqlite3"
    conn = sqlite3.connect(db)
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'parts'").fetchone()[0]
    conn.close()
    data = bytearray(db.read_bytes())
    data[(root - 1) * 4096:(root - 1) * 4096 + 100] = b"\xff" * 100  # the files list is damaged
    db.write_bytes(bytes(data))
    ob = Outbox(tmp_path)
    assert "30 reports recovered" in ob.warnings[0]
    store = LocalStore(tmp_path)
    status = store.status(TicketRef("local", "DL-000003"))
    assert status is not None and status.state == "closed" and store.count() == 30
    ob.close()
    store.close()
