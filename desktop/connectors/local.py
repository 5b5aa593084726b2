"""The local store: the embedded default helpdesk (``helpdesk.backend = "local"``), needing no server.

A report "sent" here becomes a local ticket numbered with its incident number (``DL-000123``, given
by the outbox: monotonic, never reused). The ticket keeps the first message, the files (the report
bundle and the user's attachments, stored once by hash in the outbox's blob folder), the user's
comments and satisfaction ratings. Its state is ``new`` until the user closes it (:meth:`set_state`).
To hand a report over, export it as a bundle: ``deskline outbox export DL-000123 -o FILE``.

The store lives in the outbox's database (its own ``local_*`` tables, its own connection), so one
file holds everything and a damaged one is handled once, by the outbox.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from desktop.connectors.base import (
    STATES,
    AttachmentFile,
    Connector,
    ConnectorInfo,
    DeliveryError,
    PermanentError,
    Submission,
    TicketRef,
    TicketStatus,
)

if TYPE_CHECKING:
    from desktop.config import Settings

BACKEND = "local"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS local_tickets (
    ticket_id TEXT PRIMARY KEY,
    submission_id TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    category TEXT NOT NULL DEFAULT '',
    priority TEXT NOT NULL DEFAULT 'normal',
    reporter TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL DEFAULT 'new',
    created REAL NOT NULL,
    updated REAL NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS local_files (
    ticket_id TEXT NOT NULL REFERENCES local_tickets (ticket_id),
    name TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS local_comments (
    ticket_id TEXT NOT NULL REFERENCES local_tickets (ticket_id),
    author TEXT NOT NULL,
    text TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS local_ratings (
    ticket_id TEXT NOT NULL REFERENCES local_tickets (ticket_id),
    score INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
    remark TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL
);
"""


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class LocalStore(Connector):
    """The local store in the outbox folder ``folder`` (the same database file, its own tables)."""

    def __init__(self, folder: Path, *, clock: Callable[[], float] = time.time) -> None:
        from desktop.outbox import BLOBS, DB_NAME

        self.folder = Path(folder)
        self.blobs = self.folder / BLOBS
        self.clock = clock
        self.info = ConnectorInfo(name=BACKEND, has_rating=True)
        try:
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            self.blobs.mkdir(exist_ok=True, mode=0o700)
            self.conn = sqlite3.connect(self.folder / DB_NAME, timeout=15, isolation_level=None,
                                        check_same_thread=False)
            self.conn.execute("PRAGMA busy_timeout = 15000")
            self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute("PRAGMA synchronous = FULL")
            self.conn.executescript(f"BEGIN IMMEDIATE;\n{_SCHEMA}\nCOMMIT;")
        except (OSError, sqlite3.Error) as exc:
            raise DeliveryError(f"the local store in {self.folder} cannot be opened: {exc}") from exc

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
                self.conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    self.conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise self._error(exc) from exc

    def _error(self, exc: sqlite3.Error) -> DeliveryError:
        from desktop.outbox import is_disk_full

        if is_disk_full(exc):
            return PermanentError(f"no space left for the local store in {self.folder}")
        return DeliveryError(f"the local store in {self.folder} failed: {exc}")

    def _ticket_row(self, ticket_id: str) -> tuple[str, float, int]:
        row = self.conn.execute("SELECT state, updated, version FROM local_tickets WHERE ticket_id = ?",
                                (ticket_id,)).fetchone()
        if row is None:
            raise PermanentError(f"{ticket_id} is not in the local store")
        return row[0], row[1], row[2]

    def _touch(self, conn: sqlite3.Connection, ticket_id: str) -> None:
        cur = conn.execute("UPDATE local_tickets SET updated = ?, version = version + 1 WHERE ticket_id = ?",
                           (self.clock(), ticket_id))
        if cur.rowcount != 1:
            raise PermanentError(f"{ticket_id} is not in the local store")

    # ----------------------------------------------------------------------------- the interface

    def create(self, submission: Submission) -> TicketRef:
        """File the report as a local ticket; filing the same submission again returns the same ticket."""
        ticket_id = submission.incident or submission.submission_id
        now = self.clock()
        with self._write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO local_tickets (ticket_id, submission_id, title, body, category, priority,"
                " reporter, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (ticket_id, submission.submission_id, submission.title, submission.body(), submission.category,
                 submission.priority, submission.reporter_name, now, now))
            row = conn.execute("SELECT ticket_id FROM local_tickets WHERE submission_id = ?",
                               (submission.submission_id,)).fetchone()
            if row is None:  # the incident number names another submission's ticket
                raise PermanentError(f"{ticket_id} already names another report in the local store")
        return TicketRef(BACKEND, row[0], "")

    def attach(self, ticket: TicketRef, files: Sequence[AttachmentFile]) -> None:
        from desktop.outbox import store_blob, sync_blob_folders

        stored = []
        try:
            for f in files:
                digest, path, _new = store_blob(self.blobs, f.data)
                stored.append((f, digest))
                sync_blob_folders([path])
        except OSError as exc:
            raise PermanentError(f"the local store could not keep {f.name}: {exc.strerror or exc}") from exc
        with self._write() as conn:
            self._touch(conn, ticket.ticket_id)
            conn.executemany("INSERT INTO local_files (ticket_id, name, media_type, size, sha256, created) "
                             "VALUES (?, ?, ?, ?, ?, ?)",
                             [(ticket.ticket_id, f.name, f.media_type, f.size, d, self.clock()) for f, d in stored])

    def comment(self, ticket: TicketRef, text: str, files: Sequence[AttachmentFile] = ()) -> None:
        with self._write() as conn:
            self._touch(conn, ticket.ticket_id)
            conn.execute("INSERT INTO local_comments (ticket_id, author, text, created) VALUES (?, 'user', ?, ?)",
                         (ticket.ticket_id, text, self.clock()))
        if files:
            self.attach(ticket, files)

    def status(self, ticket: TicketRef, etag: str = "") -> TicketStatus | None:
        try:
            state, updated, version = self._ticket_row(ticket.ticket_id)
        except sqlite3.Error as exc:
            raise self._error(exc) from exc
        if etag and etag == str(version):
            return None
        return TicketStatus(ticket=ticket, state=state, label=state.capitalize(), updated=_iso(updated),
                            replies=(), etag=str(version))

    def find(self, submission_id: str) -> TicketRef | None:
        try:
            row = self.conn.execute("SELECT ticket_id FROM local_tickets WHERE submission_id = ?",
                                    (submission_id,)).fetchone()
        except sqlite3.Error as exc:
            raise self._error(exc) from exc
        return TicketRef(BACKEND, row[0], "") if row else None

    def rate(self, ticket: TicketRef, score: int, remark: str = "") -> None:
        """Keep the rating with the ticket (the local store has a place for it)."""
        if not 1 <= score <= 5:
            raise PermanentError(f"a rating is 1 to 5, not {score}")
        with self._write() as conn:
            self._touch(conn, ticket.ticket_id)
            conn.execute("INSERT INTO local_ratings (ticket_id, score, remark, created) VALUES (?, ?, ?, ?)",
                         (ticket.ticket_id, score, remark, self.clock()))

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.conn.close()

    # ------------------------------------------------------------------------- local-only actions

    def set_state(self, ticket_id: str, state: str) -> None:
        """Change a local ticket's state (the user closes or reopens it)."""
        if state not in STATES:
            raise PermanentError(f"{state!r} is not a ticket state (one of: {', '.join(STATES)})")
        with self._write() as conn:
            self._touch(conn, ticket_id)
            conn.execute("UPDATE local_tickets SET state = ? WHERE ticket_id = ?", (state, ticket_id))

    def files(self, ticket_id: str) -> list[tuple[str, int, str]]:
        """The files kept with a ticket: (name, size, sha256), in the order they came."""
        return list(self.conn.execute("SELECT name, size, sha256 FROM local_files WHERE ticket_id = ? "
                                      "ORDER BY rowid", (ticket_id,)))

    def comments(self, ticket_id: str) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT text FROM local_comments WHERE ticket_id = ? ORDER BY rowid",
                                                (ticket_id,))]

    def ratings(self, ticket_id: str) -> list[tuple[int, str]]:
        return list(self.conn.execute("SELECT score, remark FROM local_ratings WHERE ticket_id = ? ORDER BY rowid",
                                      (ticket_id,)))

    def count(self) -> int:
        return int(self.conn.execute("SELECT count(*) FROM local_tickets").fetchone()[0])


def from_settings(settings: Settings) -> LocalStore:
    """The local store in the outbox folder the settings name (``outbox.path``)."""
    from desktop.outbox import default_folder

    return LocalStore(default_folder(settings))
