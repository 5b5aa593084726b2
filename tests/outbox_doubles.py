"""Test doubles for the outbox tests, importable by the child processes those tests start and kill.

:class:`Recorder` is an in-memory helpdesk raising what a test scripts; :class:`ServerConnector` a
"helpdesk" in its own SQLite file that, like django-helpdesk, files two tickets for two identical
creates, so a duplicate would show. This module does not import pytest: children start faster.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from desktop.connectors.base import (
    AttachmentFile,
    Connector,
    ConnectorInfo,
    Submission,
    TicketRef,
    TicketStatus,
    TransientError,
)
from desktop.delivery import Sender
from desktop.diagnostics.report import Attachment, assemble
from desktop.outbox import Outbox


class Clock:
    """A clock the test moves by hand (seconds since the epoch)."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class FixedRandom(random.Random):
    """uniform(a, b) is always the same fraction of the way from a to b."""

    def __init__(self, fraction: float) -> None:
        super().__init__(0)
        self.fraction = fraction

    def uniform(self, a: float, b: float) -> float:
        return a + (b - a) * self.fraction


class Recorder(Connector):
    """An in-test helpdesk: records every call; ``fail[method]`` holds errors to raise next, in order.

    Like a real server, two creates give two tickets (``creates`` counts them per submission).
    ``lose_responses``: that many creates file the ticket and then raise a timeout (the answer was lost).
    """

    def __init__(self, info: ConnectorInfo | None = None) -> None:
        self.info = info or ConnectorInfo(name="fake")
        self.calls: list[tuple[str, str]] = []
        self.tickets: dict[str, Submission] = {}
        self.files: dict[str, list[AttachmentFile]] = defaultdict(list)
        self.comments: dict[str, list[str]] = defaultdict(list)
        self.fail: dict[str, list[BaseException]] = defaultdict(list)
        self.lose_responses = 0
        self.status_of: dict[str, TicketStatus] = {}
        self.hook: Any = None  # called with (method, argument) before acting

    def _enter(self, method: str, arg: str) -> None:
        self.calls.append((method, arg))
        if self.hook:
            self.hook(method, arg)
        if self.fail[method]:
            raise self.fail[method].pop(0)

    @property
    def creates(self) -> Counter[str]:
        return Counter(s.submission_id for s in self.tickets.values())

    def create(self, submission: Submission) -> TicketRef:
        self._enter("create", submission.submission_id)
        tid = str(len(self.tickets) + 1)
        self.tickets[tid] = submission
        if self.lose_responses:
            self.lose_responses -= 1
            raise TransientError("the helpdesk did not answer in time while creating the ticket")
        return TicketRef("fake", tid, f"https://helpdesk.example/ticket/{tid}")

    def attach(self, ticket: TicketRef, files: Sequence[AttachmentFile]) -> None:
        for f in files:
            self._enter("attach", f.name)
            self.files[ticket.ticket_id].append(f)

    def comment(self, ticket: TicketRef, text: str, files: Sequence[AttachmentFile] = ()) -> None:
        self._enter("comment", text)
        self.comments[ticket.ticket_id].append(text)
        self.files[ticket.ticket_id].extend(files)

    def status(self, ticket: TicketRef, etag: str = "") -> TicketStatus | None:
        self._enter("status", etag)
        st = self.status_of[ticket.ticket_id]
        return None if etag and etag == st.etag else st

    def find(self, submission_id: str) -> TicketRef | None:
        self._enter("find", submission_id)
        for tid, s in self.tickets.items():
            if s.submission_id == submission_id:
                return TicketRef("fake", tid, f"https://helpdesk.example/ticket/{tid}")
        return None


class ServerConnector(Connector):
    """A helpdesk in an SQLite file shared between processes; duplicates are possible, as on real servers.

    ``die_at`` ("create:1", "attach:2", "attach-before:2") kills this process with SIGKILL right after the
    server stored that call (or, "-before", right before): the crash the outbox must survive.
    ``latency`` is the time the answer takes to come back (a window for random kills).
    """

    def __init__(self, db: Path, die_at: str = "", latency: float = 0.0) -> None:
        self.info = ConnectorInfo(name="server")
        self.db = sqlite3.connect(db, timeout=30, isolation_level=None)
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.executescript(
            "BEGIN IMMEDIATE;"
            "CREATE TABLE IF NOT EXISTS tickets (id INTEGER PRIMARY KEY AUTOINCREMENT, submission_id TEXT, "
            "title TEXT, body TEXT);"
            "CREATE TABLE IF NOT EXISTS files (ticket_id TEXT, name TEXT, size INTEGER);"
            "CREATE TABLE IF NOT EXISTS comments (ticket_id TEXT, text TEXT);"
            "CREATE TABLE IF NOT EXISTS finds (submission_id TEXT, hit INTEGER);"
            "COMMIT;")
        self.die_at = die_at
        self.latency = latency
        self.count: Counter[str] = Counter()

    def _maybe_die(self, what: str) -> None:
        if self.die_at == what:
            os.kill(os.getpid(), signal.SIGKILL)

    def _answer(self, what: str) -> None:
        self.count[what] += 1
        self._maybe_die(f"{what}:{self.count[what]}")
        if self.latency:
            time.sleep(self.latency)  # the answer travelling back

    def create(self, submission: Submission) -> TicketRef:
        self._maybe_die(f"create-before:{self.count['create'] + 1}")
        cur = self.db.execute("INSERT INTO tickets (submission_id, title, body) VALUES (?, ?, ?)",
                              (submission.submission_id, submission.title, submission.body()))
        tid = str(cur.lastrowid)
        self._answer("create")
        return TicketRef("server", tid, f"http://server.test/ticket/{tid}")

    def attach(self, ticket: TicketRef, files: Sequence[AttachmentFile]) -> None:
        for f in files:
            self._maybe_die(f"attach-before:{self.count['attach'] + 1}")
            self.db.execute("INSERT INTO files VALUES (?, ?, ?)", (ticket.ticket_id, f.name, f.size))
            self._answer("attach")

    def comment(self, ticket: TicketRef, text: str, files: Sequence[AttachmentFile] = ()) -> None:
        self.db.execute("INSERT INTO comments VALUES (?, ?)", (ticket.ticket_id, text))

    def status(self, ticket: TicketRef, etag: str = "") -> TicketStatus | None:
        return TicketStatus(ticket, "new", "New")

    def find(self, submission_id: str) -> TicketRef | None:
        row = self.db.execute("SELECT id FROM tickets WHERE submission_id = ? ORDER BY id LIMIT 1",
                              (submission_id,)).fetchone()
        self.db.execute("INSERT INTO finds VALUES (?, ?)", (submission_id, int(row is not None)))
        return TicketRef("server", str(row[0]), f"http://server.test/ticket/{row[0]}") if row else None

    def close(self) -> None:
        self.db.close()


_DOC: dict[str, Any] = {}


def document() -> dict[str, Any]:
    """A real (empty) report document, made once."""
    if not _DOC:
        _DOC.update(assemble([], []).document)
    return json.loads(json.dumps(_DOC))


def kill_child(folder: str, server: str, tag: str) -> None:
    """Enqueue and send in a loop until killed (run in a child process by the kill -9 test)."""
    ob = Outbox(Path(folder))
    doc = document()
    sender = Sender(ob, lambda backend: ServerConnector(Path(server), latency=0.002), backend="server",
                    fingerprint="x", retry_base=0.01, retry_cap=0.05)
    print("ready", flush=True)
    i = 0
    while True:
        i += 1
        e = ob.enqueue(document=doc, title=f"{tag}-{i}", description=f"report {tag}-{i}", summary="s",
                       attachments=[Attachment(f"{tag}-{i}.log", os.urandom(3000), "text/plain", False)])
        print(f"enqueued {e.submission_id} {e.title}", flush=True)
        sender.run(deadline=time.monotonic() + 1.0)
