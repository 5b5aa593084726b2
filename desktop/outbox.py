"""The outbox: every report is saved here, whole, before any network call, and kept until it arrives.

One SQLite database in WAL mode (``outbox.sqlite3``) and a folder of files beside it (``blobs/``):

* ``entries``: one row per report, its stable ``submission_id`` (uuid4) and its local incident number
  (the row id, ``AUTOINCREMENT``: monotonic and never reused; shown as ``DL-000123``), the user's words,
  the report document (zlib-compressed JSON), the delivery state and the ticket's later status;
* ``parts``: what follows the ticket as attachments, in order: the report bundle (made from the
  document when sent) and the user's files, each stored once in ``blobs/`` under its SHA-256 (written
  atomically and fsynced before the row that names it is committed), each with its own state so an
  upload interrupted half-way resumes where it stopped;
* ``replies``: public replies seen on the ticket;
* ``problems``: a connection problem caused by the settings (a wrong token or URL), recorded once per
  backend, which pauses sending to that backend until the settings change.

States of an entry (:data:`STATES`): ``queued`` (waiting, with the time of its next attempt),
``sending`` (committed before the ticket is created: when a process finds an entry ``sending`` that
nobody holds, the create may have reached the server, so the sender asks the backend for the
submission id before creating again), ``sent`` (ticket id and URL; attachments may still be pending),
``failed`` (the helpdesk refused it for good; the reason is kept and the user may retry).

Several processes may use one outbox (the app and ``deskline outbox send``): an entry is worked on
only by the sender holding its lease (``owner``, ``lease_until``); a lease whose process has died is
free at once, a stuck one when it expires.

Safety: ``synchronous=FULL`` for a new report, a comment and ``sending`` before a create (they survive a
power cut, not only a kill), ``NORMAL`` for the sender's bookkeeping after them (see ``_write``); a full disk
fails :meth:`Outbox.enqueue` with :class:`OutboxFullError` and leaves earlier reports as they were; a
damaged database is moved aside (``outbox.sqlite3.corrupt-<UTC time>``), what can be read from it is
copied into a new one, and :attr:`Outbox.warnings` says so: it is never silently emptied. Incident
numbers stay unique across such a restart: the last number given is also kept in a small file beside
the database.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import re
import secrets
import sqlite3
import time
import uuid
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from desktop.connectors.base import Reply, Submission, TicketRef, TicketStatus
from desktop.errors import DesklineError

if TYPE_CHECKING:
    from desktop.config import Settings
    from desktop.diagnostics.report import Attachment

log = logging.getLogger("deskline.outbox")

STATES = ("queued", "sending", "sent", "failed")
PART_STATES = ("pending", "done", "refused", "failed")
DB_NAME = "outbox.sqlite3"
BLOBS = "blobs"
HINT_NAME = "outbox.last-number"
SCHEMA_VERSION = 2
INCIDENT_PREFIX = "DL-"
#: A lease not renewed for this long is free even when its process still lives (seconds).
LEASE_SECONDS = 300.0
#: No retry is ever set further away than a day (the longest Retry-After honoured, the largest
#: outbox.retry_cap); a next try more than two days away means the clock was put back: due (seconds).
MAX_DELAY = 2 * 86400.0
_BUSY_TIMEOUT_MS = 15000
_CORRUPT_CODES = (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    submission_id TEXT NOT NULL UNIQUE,
    report_id TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    category TEXT NOT NULL DEFAULT '',
    impact TEXT NOT NULL DEFAULT '',
    urgency TEXT NOT NULL DEFAULT '',
    priority TEXT NOT NULL DEFAULT 'normal',
    reporter_name TEXT NOT NULL DEFAULT '',
    reporter_email TEXT NOT NULL DEFAULT '',
    summary TEXT NOT NULL DEFAULT '',
    document BLOB NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    failures INTEGER NOT NULL DEFAULT 0,
    next_attempt REAL NOT NULL DEFAULT 0,
    uncertain INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    failed_reason TEXT NOT NULL DEFAULT '',
    owner TEXT NOT NULL DEFAULT '',
    lease_until REAL NOT NULL DEFAULT 0,
    backend TEXT NOT NULL DEFAULT '',
    ticket_id TEXT NOT NULL DEFAULT '',
    ticket_url TEXT NOT NULL DEFAULT '',
    sent_at REAL,
    status_state TEXT NOT NULL DEFAULT '',
    status_label TEXT NOT NULL DEFAULT '',
    status_updated TEXT NOT NULL DEFAULT '',
    status_etag TEXT NOT NULL DEFAULT '',
    status_checked REAL
);
CREATE INDEX IF NOT EXISTS entries_due ON entries (state, next_attempt);
CREATE TABLE IF NOT EXISTS parts (
    entry_id INTEGER NOT NULL REFERENCES entries (id),
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('report', 'file')),
    name TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    redacted INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL CHECK (state IN ('pending', 'done', 'refused', 'failed')),
    reason TEXT NOT NULL DEFAULT '',
    noted INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (entry_id, seq)
);
CREATE TABLE IF NOT EXISTS replies (
    entry_id INTEGER NOT NULL REFERENCES entries (id),
    reply_id TEXT NOT NULL,
    author TEXT NOT NULL,
    created TEXT NOT NULL,
    text TEXT NOT NULL,
    seen INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (entry_id, reply_id)
);
CREATE TABLE IF NOT EXISTS followups (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    entry_id INTEGER NOT NULL REFERENCES entries (id),
    kind TEXT NOT NULL CHECK (kind IN ('comment', 'rating')),
    text TEXT NOT NULL DEFAULT '',
    score INTEGER,
    files TEXT NOT NULL DEFAULT '[]',
    created REAL NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('queued', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    reason TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS followups_entry ON followups (entry_id, state);
CREATE TABLE IF NOT EXISTS problems (
    backend TEXT PRIMARY KEY,
    setting TEXT NOT NULL,
    message TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    since REAL NOT NULL,
    paused_until REAL NOT NULL,
    shown INTEGER NOT NULL DEFAULT 0
);
"""

#: Schema changes: version N -> the SQL that makes a version-N outbox version N+1.
_MIGRATIONS = {
    1: _SCHEMA[_SCHEMA.index("CREATE TABLE IF NOT EXISTS followups"):
               _SCHEMA.index("CREATE TABLE IF NOT EXISTS problems")],
}
#: An entry with something left to send (SQL over ``entries``).
_HAS_WORK = (
    "(state IN ('queued', 'sending') OR (state = 'sent' AND (EXISTS (SELECT 1 FROM parts p WHERE "
    "p.entry_id = entries.id AND (p.state = 'pending' OR (p.state IN ('refused', 'failed') AND p.noted = 0))) "
    "OR EXISTS (SELECT 1 FROM followups f WHERE f.entry_id = entries.id AND f.state = 'queued'))))"
)

_ENTRY_COLUMNS = (
    "id", "submission_id", "report_id", "created", "updated", "title", "description", "category", "impact",
    "urgency", "priority", "reporter_name", "reporter_email", "summary", "state", "attempts", "failures",
    "next_attempt", "uncertain", "last_error", "failed_reason", "owner", "lease_until", "backend", "ticket_id",
    "ticket_url", "sent_at", "status_state", "status_label", "status_updated", "status_etag", "status_checked",
)
#: An entry's columns and its counts of replies (all, unseen) and of comments and ratings waiting.
_ENTRY_SELECT = (
    "SELECT " + ", ".join(_ENTRY_COLUMNS) + ", "
    "(SELECT count(*) FROM replies r WHERE r.entry_id = entries.id), "
    "(SELECT count(*) FROM replies r WHERE r.entry_id = entries.id AND r.seen = 0), "
    "(SELECT count(*) FROM followups f WHERE f.entry_id = entries.id AND f.state = 'queued') FROM entries"
)
_PART_COLUMNS = ("seq", "kind", "name", "media_type", "size", "sha256", "redacted", "state", "reason", "noted")


class OutboxError(DesklineError):
    """The outbox cannot do what was asked; the message names the folder or the report."""


class OutboxFullError(OutboxError):
    """No space left where the outbox lives: the report was not saved (earlier ones are intact)."""


class NoSuchEntry(OutboxError):
    """No report with that incident number or submission id."""


class PartUnreadable(OutboxError):
    """A stored attachment is missing, unreadable or no longer matches its hash."""


_URL_CREDENTIALS = re.compile(r"(\w+://)[^/@\s:]+:[^/@\s]+@")


def mask_credentials(text: str) -> str:
    """``http://user:secret@proxy`` -> ``http://***:***@proxy`` in a message kept or shown."""
    return _URL_CREDENTIALS.sub(r"\1***:***@", text)


def incident_label(number: int) -> str:
    """``DL-000123`` for 123 (more digits once past a million)."""
    return f"{INCIDENT_PREFIX}{number:06d}"


_INCIDENT_RE = re.compile(r"^(?:DL-?)?0*(\d{1,12})$", re.IGNORECASE)


def parse_incident(text: str) -> int:
    """The number in ``DL-000123``, ``dl-123`` or ``123``; OutboxError for anything else."""
    m = _INCIDENT_RE.match(text.strip())
    if not m or int(m.group(1)) == 0:
        raise NoSuchEntry(f"{text!r} is not an incident number (like DL-000123)")
    return int(m.group(1))


def default_folder(settings: Settings | None = None) -> Path:
    """The outbox folder: ``outbox.path`` when set, else ``outbox`` in the user's data folder."""
    configured = settings["outbox.path"] if settings is not None else ""
    if configured:
        return Path(configured).expanduser()
    from platformdirs import user_data_path

    return user_data_path("deskline", appauthor=False) / "outbox"


@dataclass(frozen=True)
class Part:
    """One file that follows the ticket: the report bundle (``kind='report'``) or a user's file."""

    seq: int
    kind: str
    name: str
    media_type: str
    size: int  # bytes; 0 for the report bundle until it is made
    sha256: str  # empty for the report bundle (made from the document when sent)
    redacted: bool
    state: str  # one of PART_STATES
    reason: str  # why refused or failed, in the user's words
    noted: bool  # the refusal was written on the ticket as a comment


@dataclass(frozen=True)
class Entry:
    """A report in the outbox, as stored (times are seconds since the epoch)."""

    id: int
    submission_id: str
    report_id: str
    created: float
    updated: float
    title: str
    description: str
    category: str
    impact: str
    urgency: str
    priority: str
    reporter_name: str
    reporter_email: str
    summary: str
    state: str
    attempts: int
    failures: int
    next_attempt: float
    uncertain: bool
    last_error: str
    failed_reason: str
    owner: str
    lease_until: float
    backend: str
    ticket_id: str
    ticket_url: str
    sent_at: float | None
    status_state: str
    status_label: str
    status_updated: str
    status_etag: str
    status_checked: float | None
    parts: tuple[Part, ...] = ()
    replies_total: int = 0
    replies_new: int = 0
    followups_pending: int = 0  # comments and ratings waiting to be sent to the ticket

    @property
    def incident(self) -> str:
        return incident_label(self.id)

    @property
    def pending_parts(self) -> tuple[Part, ...]:
        return tuple(p for p in self.parts if p.state == "pending")

    @property
    def unnoted_parts(self) -> tuple[Part, ...]:
        return tuple(p for p in self.parts if p.state in ("refused", "failed") and not p.noted)

    @property
    def has_work(self) -> bool:
        """Something is left to send: the ticket itself, an attachment or a note about a refused one."""
        if self.state in ("queued", "sending"):
            return True
        return self.state == "sent" and bool(self.pending_parts or self.unnoted_parts or self.followups_pending)

    @property
    def label(self) -> str:
        """The state in words for lists: ``sent (attachments pending)`` and the like."""
        if self.state == "sent" and self.pending_parts:
            return "sent (attachments pending)"
        missing = sum(p.state in ("refused", "failed") for p in self.parts)
        if self.state == "sent" and missing:
            return f"sent ({missing} file{'s' if missing != 1 else ''} not attached)"
        return self.state

    def ticket(self) -> TicketRef | None:
        return TicketRef(self.backend, self.ticket_id, self.ticket_url) if self.ticket_id else None

    def submission(self) -> Submission:
        return Submission(
            submission_id=self.submission_id, title=self.title, description=self.description,
            summary=self.summary, category=self.category, priority=self.priority,
            reporter_name=self.reporter_name, reporter_email=self.reporter_email, incident=self.incident,
        )


@dataclass(frozen=True)
class Problem:
    """A connection problem caused by the settings: shown once, pauses sending to ``backend``."""

    backend: str
    setting: str
    message: str
    fingerprint: str
    since: float
    paused_until: float
    shown: bool


@dataclass(frozen=True)
class FollowUp:
    """A comment (words and files) or a satisfaction rating for a report's ticket, sent after the ticket."""

    id: int
    entry_id: int
    kind: str  # comment or rating
    text: str  # the words; for a rating, the remark
    score: int | None  # 1-5 for a rating
    files: tuple[tuple[Any, ...], ...]  # (name, media type, size, sha256)
    created: float
    state: str  # queued, sent or failed
    attempts: int
    reason: str  # why it failed, in the user's words


def _owner_alive(owner: str, me: str) -> bool:
    """Whether the sender that wrote ``owner`` (``pid:start:token``) may still be working."""
    if not owner:
        return False
    if owner == me:
        return True
    try:
        pid_s, start_s, _token = owner.split(":", 2)
        pid, start = int(pid_s), float(start_s)
    except ValueError:
        return False
    if pid == os.getpid():
        return True  # another sender of this process: its lease time decides
    import psutil

    try:
        return abs(psutil.Process(pid).create_time() - start) < 0.5
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False


def make_owner() -> str:
    """A sender's identity for leases: its process id, the process's start time and a random token."""
    import psutil

    start = psutil.Process().create_time()
    return f"{os.getpid()}:{start:.3f}:{secrets.token_hex(4)}"


def _is_corrupt(exc: sqlite3.DatabaseError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in _CORRUPT_CODES
    text = str(exc).lower()
    return "malformed" in text or "not a database" in text


def is_disk_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and (code & 0xFF) == sqlite3.SQLITE_FULL


def _quick_check(conn: sqlite3.Connection) -> None:
    """Raise sqlite3.DatabaseError (recognised as damage) unless SQLite's quick_check says ok."""
    check = conn.execute("PRAGMA quick_check(1)").fetchone()[0]
    if check != "ok":
        raise sqlite3.DatabaseError(f"database disk image is malformed ({check})")


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return  # not possible on this platform (Windows): the rename is durable enough there
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def blob_path(blobs: Path, sha256: str) -> Path:
    """Where the file with this SHA-256 lives in a blob folder."""
    return blobs / sha256[:2] / sha256


def store_blob(blobs: Path, data: bytes) -> tuple[str, Path, bool]:
    """Store ``data`` in ``blobs`` under its hash, atomically and fsynced: (hash, path, newly written).

    The caller fsyncs the folders once after a batch (:func:`sync_blob_folders`).
    """
    digest = hashlib.sha256(data).hexdigest()
    path = blob_path(blobs, digest)
    with contextlib.suppress(OSError):
        # the same file again (attached to two reports): kept once, if the copy there is still sound
        if path.stat().st_size == len(data) and hashlib.sha256(path.read_bytes()).hexdigest() == digest:
            return digest, path, False
    path.parent.mkdir(exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{digest}.{secrets.token_hex(4)}.part")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return digest, path, True


def sync_blob_folders(paths: Sequence[Path]) -> None:
    """fsync the folders of newly stored blobs, so their names survive a power cut."""
    for folder in {p.parent for p in paths} | {p.parent.parent for p in paths}:
        _fsync_dir(folder)


class Outbox:
    """The outbox in ``folder`` (created if needed). Not shared between threads: open one per thread.

    ``clock`` gives the time in seconds since the epoch (tests inject their own); ``max_db_bytes``
    caps the database (SQLite's max_page_count), for tests of a full store.
    """

    def __init__(self, folder: Path, *, clock: Callable[[], float] = time.time,
                 max_db_bytes: int | None = None) -> None:
        self.folder = Path(folder)
        self.path = self.folder / DB_NAME
        self.blobs = self.folder / BLOBS
        self.clock = clock
        self.max_db_bytes = max_db_bytes
        self._synchronous = ""
        #: Things the user must be told about this outbox (a damaged database moved aside): every
        #: caller shows them (the CLI prints them as warnings).
        self.warnings: list[str] = []
        try:
            self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            self.blobs.mkdir(exist_ok=True, mode=0o700)
        except OSError as exc:
            raise OutboxError(f"{self.folder}: cannot create the outbox folder: {exc.strerror or exc}") from exc
        try:
            self.conn = self._open_checked()
        except sqlite3.DatabaseError as exc:
            if not _is_corrupt(exc):
                raise OutboxError(f"{self.path}: cannot open the outbox: {exc}") from exc
            self.conn = self._replace_corrupt(str(exc))

    # ------------------------------------------------------------------------------------- opening

    def _connect(self, path: Path) -> sqlite3.Connection:
        conn = sqlite3.connect(path, timeout=_BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                               check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        return conn

    def _open_checked(self) -> sqlite3.Connection:
        conn = self._connect(self.path)
        try:
            mode = self._set_wal(conn)
            if str(mode).lower() != "wal":
                log.debug("outbox %s: journal mode is %s, not wal", self.path, mode)
            conn.execute("PRAGMA synchronous = FULL")
            self._synchronous = "FULL"
            conn.execute("PRAGMA foreign_keys = ON")
            _quick_check(conn)
            self._init_schema(conn)
        except sqlite3.DatabaseError:
            conn.close()
            raise
        if self.max_db_bytes:
            page = conn.execute("PRAGMA page_size").fetchone()[0]
            conn.execute(f"PRAGMA max_page_count = {max(1, self.max_db_bytes // page)}")
        return conn

    def _set_wal(self, conn: sqlite3.Connection) -> str:
        """Switch to WAL. SQLite answers "database is locked" at once, without its busy handler, when
        another process switches the same new database at the same moment (the app's threads and a
        second sender on first start do): retry for the busy timeout."""
        deadline = time.monotonic() + _BUSY_TIMEOUT_MS / 1000
        delay = 0.005
        while True:
            try:
                return str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() + delay > deadline:
                    raise
            time.sleep(delay)
            delay = min(delay * 2, 0.2)

    def _init_schema(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise OutboxError(f"{self.path}: written by a newer Deskline (outbox version {version}; "
                              f"this one reads up to {SCHEMA_VERSION})")
        if version == SCHEMA_VERSION:
            return
        if version == 0:
            script = _SCHEMA
        else:
            script = "\n".join(_MIGRATIONS[v] for v in range(version, SCHEMA_VERSION))
        try:
            # one transaction: two processes creating the outbox at once both succeed (IF NOT EXISTS)
            conn.executescript(f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {SCHEMA_VERSION};\nCOMMIT;")
        except sqlite3.Error:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            raise
        hint = self._read_hint() if version == 0 else 0
        if hint:
            self._raise_sequence_committed(conn, hint)

    @staticmethod
    def _raise_sequence(conn: sqlite3.Connection, at_least: int) -> None:
        """Make the next incident number greater than ``at_least`` (numbers are never given twice)."""
        row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'entries'").fetchone()
        if row is None:
            conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('entries', ?)", (at_least,))
        elif row[0] < at_least:
            conn.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = 'entries'", (at_least,))

    def _read_hint(self) -> int:
        try:
            return int((self.folder / HINT_NAME).read_text(encoding="ascii").strip() or 0)
        except (OSError, ValueError):
            return 0

    def _write_hint(self, number: int) -> None:
        # Not fsynced: a kill leaves it in the page cache; it only matters after a damaged database.
        try:
            fd = os.open(self.folder / HINT_NAME, os.O_WRONLY | os.O_CREAT, 0o600)
            try:
                os.pwrite(fd, f"{number:<20d}\n".encode("ascii"), 0)
            finally:
                os.close(fd)
        except OSError as exc:
            log.debug("outbox: could not write the incident number hint: %s", exc)

    def _replace_corrupt(self, why: str) -> sqlite3.Connection:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        n = 1
        while aside.exists():
            n += 1
            aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{n}")
        try:
            os.replace(self.path, aside)
            for suffix in ("-wal", "-shm"):
                side = self.path.with_name(self.path.name + suffix)
                if side.exists():
                    os.replace(side, aside.with_name(aside.name + suffix))
        except OSError as exc:
            raise OutboxError(f"{self.path}: the outbox database is damaged ({why}) and could not be moved "
                              f"aside: {exc.strerror or exc}") from exc
        try:
            conn = self._open_checked()
        except sqlite3.DatabaseError as exc:
            raise OutboxError(f"{self.path}: cannot start a new outbox: {exc}") from exc
        recovered, highest = self._salvage(aside, conn)
        self._raise_sequence_committed(conn, max(highest, self._read_hint()))
        message = (f"the outbox database {self.path} was damaged ({why}); it was moved to {aside.name} "
                   f"and a new one started; {recovered} report{'s' if recovered != 1 else ''} "
                   f"recovered from it")
        self.warnings.append(message)
        log.info("%s", message)  # the caller shows Outbox.warnings to the user (the CLI prints them)
        return conn

    def _raise_sequence_committed(self, conn: sqlite3.Connection, at_least: int) -> None:
        if at_least <= 0:
            return
        conn.execute("BEGIN IMMEDIATE")
        self._raise_sequence(conn, at_least)
        conn.execute("COMMIT")

    def _salvage(self, aside: Path, conn: sqlite3.Connection) -> tuple[int, int]:
        """Copy what can still be read from a damaged database: (reports recovered, highest number seen)."""
        recovered, highest = 0, 0
        try:
            old = sqlite3.connect(f"file:{aside}?mode=ro", uri=True, timeout=1)
        except sqlite3.Error:
            return 0, 0
        try:
            try:
                ids = [r[0] for r in old.execute("SELECT id FROM entries ORDER BY id")]
            except sqlite3.DatabaseError as exc:
                log.debug("salvage: entries unreadable as a whole: %s", exc)
                ids = list(range(1, self._read_hint() + 1))
            cols = ", ".join(_ENTRY_COLUMNS) + ", document"
            part_cols = "entry_id, " + ", ".join(_PART_COLUMNS)
            for number in ids:
                try:
                    row = old.execute(f"SELECT {cols} FROM entries WHERE id = ?", (number,)).fetchone()
                except sqlite3.DatabaseError as exc:
                    log.debug("salvage: entry %s unreadable: %s", number, exc)
                    continue
                if row is None:
                    continue
                highest = max(highest, number)
                try:
                    parts = old.execute(f"SELECT {part_cols} FROM parts WHERE entry_id = ?", (number,)).fetchall()
                except sqlite3.DatabaseError as exc:
                    # the report itself is safe; its list of files is not: say so on the entry
                    log.debug("salvage: files of entry %s unreadable: %s", number, exc)
                    parts = [(number, 0, "report", f"deskline-report-{incident_label(number)}.zip",
                              "application/zip", 0, "", 1, "pending", "", 0)]
                    row = (*row[:_ENTRY_COLUMNS.index("last_error")],
                           "the list of its attached files could not be recovered from the damaged outbox",
                           *row[_ENTRY_COLUMNS.index("last_error") + 1:])
                conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.execute(f"INSERT INTO entries ({cols}) VALUES ({', '.join('?' * len(row))})", row)
                    marks = ", ".join("?" * (len(_PART_COLUMNS) + 1))
                    conn.executemany(f"INSERT INTO parts ({part_cols}) VALUES ({marks})", parts)
                    conn.execute("COMMIT")
                    recovered += 1
                except sqlite3.Error as exc:
                    conn.execute("ROLLBACK")
                    log.debug("salvage: entry %s not copied: %s", number, exc)
            self._salvage_other_tables(old, conn)
        finally:
            old.close()
        return recovered, highest

    @staticmethod
    def _salvage_other_tables(old: sqlite3.Connection, conn: sqlite3.Connection) -> None:
        """Copy the tables others keep in this database (the local store's ``local_*``), row by row as far
        as they can be read."""
        try:
            tables = old.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name LIKE 'local!_%' "
                                 "ESCAPE '!'").fetchall()
        except sqlite3.DatabaseError:
            return
        for name, sql in tables:
            if not re.fullmatch(r"local_[a-z_]+", name):
                continue
            try:
                conn.execute(sql.replace("CREATE TABLE", "CREATE TABLE IF NOT EXISTS", 1))
                rows = old.execute(f"SELECT * FROM {name}").fetchall()
            except sqlite3.DatabaseError as exc:
                log.debug("salvage: table %s unreadable: %s", name, exc)
                continue
            if rows:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    conn.executemany(f"INSERT INTO {name} VALUES ({', '.join('?' * len(rows[0]))})", rows)
                    conn.execute("COMMIT")
                except sqlite3.Error as exc:
                    conn.execute("ROLLBACK")
                    log.debug("salvage: table %s not copied: %s", name, exc)

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.conn.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -------------------------------------------------------------------------------- transactions

    @contextlib.contextmanager
    def _write(self, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE ... COMMIT); errors become OutboxError.

        ``durable``: fsynced at commit (``synchronous=FULL``), for what must survive a power cut: a new
        report, a comment, and ``sending`` before a create. The sender's bookkeeping after that is
        committed without an fsync (``NORMAL``: survives a crash or a kill, and on a power cut rolls back
        in order, to a state the sender recovers from: ``sending`` -> search before creating again).
        """
        want = "FULL" if durable else "NORMAL"
        try:
            if self._synchronous != want:
                self.conn.execute(f"PRAGMA synchronous = {want}")
                self._synchronous = want
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise self._error(exc, "cannot write") from exc
        try:
            yield self.conn
            self.conn.execute("COMMIT")
        except BaseException as exc:
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise self._error(exc, "cannot write") from exc
            raise

    def _error(self, exc: sqlite3.Error | OSError, what: str) -> OutboxError:
        if is_disk_full(exc):
            return OutboxFullError(f"no space left for the outbox in {self.folder}: the report was not saved "
                                   "(free some disk space and try again; reports saved earlier are safe)")
        if isinstance(exc, sqlite3.DatabaseError) and _is_corrupt(exc):
            return OutboxError(f"{self.path}: the outbox database is damaged ({exc}); run Deskline again to "
                               "move it aside and recover what can be read")
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        return OutboxError(f"{self.path}: {what}: {detail}")

    def _read(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        try:
            return self.conn.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise self._error(exc, "cannot read") from exc

    # ------------------------------------------------------------------------------------- blobs

    def _blob_path(self, sha256: str) -> Path:
        return blob_path(self.blobs, sha256)

    def read_part(self, entry: Entry | None, part: Part) -> bytes:
        """The bytes of a user's file, checked against its hash; PartUnreadable says why not."""
        if part.kind == "report":
            raise OutboxError("the report bundle is made by make_report_bundle(), not stored")
        path = self._blob_path(part.sha256)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise PartUnreadable(f"{part.name}: the saved copy in the outbox cannot be read "
                                 f"({exc.strerror or exc})") from exc
        if len(data) != part.size or hashlib.sha256(data).hexdigest() != part.sha256:
            raise PartUnreadable(f"{part.name}: the saved copy in the outbox is damaged (it no longer "
                                 "matches its checksum)")
        return data

    def check_part(self, part: Part) -> None:
        """Cheap check that a user's file is still there and readable (PartUnreadable if not)."""
        if part.kind == "report":
            return
        path = self._blob_path(part.sha256)
        try:
            with open(path, "rb") as fh:
                fh.read(1)
            size = path.stat().st_size
        except OSError as exc:
            raise PartUnreadable(f"{part.name}: the saved copy in the outbox cannot be read "
                                 f"({exc.strerror or exc})") from exc
        if size != part.size:
            raise PartUnreadable(f"{part.name}: the saved copy in the outbox is damaged (its size changed)")

    # ------------------------------------------------------------------------------------ enqueue

    def enqueue(
        self,
        *,
        document: Mapping[str, Any],
        title: str,
        description: str,
        summary: str = "",
        attachments: Sequence[Attachment] = (),
        category: str = "",
        impact: str = "",
        urgency: str = "",
        priority: str = "normal",
        reporter_name: str = "",
        reporter_email: str = "",
        submission_id: str | None = None,
    ) -> Entry:
        """Save a report, whole, in one transaction; its files first (fsynced), then the row naming them.

        Returns the new entry (``queued``, with its incident number). Raises OutboxFullError when the
        disk is full, OutboxError otherwise; either way nothing half-written is left behind and the
        reports saved earlier are untouched.
        """
        sid = submission_id or str(uuid.uuid4())
        now = self.clock()
        doc_blob = zlib.compress(json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode(), 6)
        written: list[Path] = []
        stored: list[tuple[str, str, int, str, bool]] = []
        try:
            for att in attachments:
                digest, path, new = store_blob(self.blobs, att.content)
                if new:
                    written.append(path)
                stored.append((att.name, att.media_type, len(att.content), digest, bool(att.redacted)))
            sync_blob_folders(written)
        except OSError as exc:
            self._drop_blobs(written)
            raise self._error(exc, "cannot save the report's files") from exc
        try:
            with self._write() as conn:
                cur = conn.execute(
                    "INSERT INTO entries (submission_id, report_id, created, updated, title, description, category,"
                    " impact, urgency, priority, reporter_name, reporter_email, summary, document, state)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'queued')",
                    (sid, str(document.get("report_id", "")), now, now, title, description, category, impact,
                     urgency, priority, reporter_name, reporter_email, summary, doc_blob),
                )
                number = int(cur.lastrowid or 0)
                rows = [(number, 0, "report", f"deskline-report-{incident_label(number)}.zip", "application/zip",
                         0, "", 1, "pending")]
                rows += [(number, i, "file", name, media, size, digest, int(red), "pending")
                         for i, (name, media, size, digest, red) in enumerate(stored, 1)]
                conn.executemany("INSERT INTO parts (entry_id, seq, kind, name, media_type, size, sha256, redacted,"
                                 " state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        except OutboxError:
            self._drop_blobs(written)
            raise
        self._write_hint(number)
        log.debug("outbox: saved %s (%s, %d files)", incident_label(number), sid, len(stored))
        return self.get(number)

    def _drop_blobs(self, paths: Sequence[Path]) -> None:
        """Remove blobs written for a report that could not be saved, unless another report names them."""
        for path in paths:
            try:
                used = self.conn.execute("SELECT 1 FROM parts WHERE sha256 = ? LIMIT 1", (path.name,)).fetchone()
            except sqlite3.Error:
                used = (1,)
            if not used:
                with contextlib.suppress(OSError):
                    path.unlink()

    # --------------------------------------------------------------------------------------- reading

    def _entry(self, row: Sequence[Any]) -> Entry:
        """An Entry from a row of :data:`_ENTRY_SELECT` (the entry's columns, then its counts)."""
        n = len(_ENTRY_COLUMNS)
        values = dict(zip(_ENTRY_COLUMNS, row[:n], strict=True))
        total, new, pending = row[n:]
        parts = tuple(
            Part(seq, kind, name, media, size, sha, bool(red), state, reason, bool(noted))
            for seq, kind, name, media, size, sha, red, state, reason, noted in self._read(
                "SELECT " + ", ".join(_PART_COLUMNS) + " FROM parts WHERE entry_id = ? ORDER BY seq", (values["id"],))
        )
        values["uncertain"] = bool(values["uncertain"])
        return Entry(**values, parts=parts, replies_total=total, replies_new=new, followups_pending=pending)

    def get(self, number: int) -> Entry:
        rows = self._read(f"{_ENTRY_SELECT} WHERE id = ?", (number,))
        if not rows:
            raise NoSuchEntry(f"{incident_label(number)}: no such report in the outbox")
        return self._entry(rows[0])

    def lookup(self, text: str) -> Entry:
        """The entry named by an incident number (``DL-000123``, ``123``) or a submission id."""
        text = text.strip()
        if re.fullmatch(r"[0-9a-fA-F-]{36}", text):
            rows = self._read("SELECT id FROM entries WHERE submission_id = ?", (text.lower(),))
            if not rows:
                raise NoSuchEntry(f"{text}: no report with this submission id in the outbox")
            return self.get(rows[0][0])
        return self.get(parse_incident(text))

    def entries(self, states: Sequence[str] = ()) -> list[Entry]:
        """Every entry (newest first), or those in ``states``."""
        if states:
            marks = ", ".join("?" * len(states))
            rows = self._read(f"{_ENTRY_SELECT} WHERE state IN ({marks}) ORDER BY id DESC", states)
        else:
            rows = self._read(f"{_ENTRY_SELECT} ORDER BY id DESC")
        return [self._entry(r) for r in rows]

    def document(self, number: int) -> dict[str, Any]:
        rows = self._read("SELECT document FROM entries WHERE id = ?", (number,))
        if not rows:
            raise NoSuchEntry(f"{incident_label(number)}: no such report in the outbox")
        try:
            return dict(json.loads(zlib.decompress(rows[0][0])))
        except (zlib.error, ValueError) as exc:
            raise OutboxError(f"{incident_label(number)}: the saved report is damaged: {exc}") from exc

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(STATES, 0)
        for state, n in self._read("SELECT state, count(*) FROM entries GROUP BY state"):
            out[state] = n
        return out

    def next_due(self) -> float | None:
        """When the earliest waiting entry is due (None when nothing waits)."""
        rows = self._read(f"SELECT min(next_attempt) FROM entries WHERE {_HAS_WORK}")
        return rows[0][0] if rows and rows[0][0] is not None else None

    # ----------------------------------------------------------------------------- report bundle

    def report_of(self, number: int, with_files: bool = True) -> Any:
        """The stored report as a :class:`desktop.diagnostics.report.Report` (files read from the blobs)."""
        from desktop.diagnostics.report import Attachment, Report

        entry = self.get(number)
        files = []
        if with_files:
            for part in entry.parts:
                if part.kind == "file":
                    files.append(Attachment(part.name, self.read_part(entry, part), part.media_type, part.redacted))
        return Report(self.document(number), files)

    def make_report_bundle(self, number: int) -> bytes:
        """The report bundle sent as the first attachment: report.json and its summaries, no user files
        (they follow one by one)."""
        from desktop.diagnostics.bundle import bundle_bytes

        return bundle_bytes(self.report_of(number, with_files=False))

    def export(self, number: int) -> bytes:
        """The whole report as a bundle (zip) with every file, to hand over by any means."""
        from desktop.diagnostics.bundle import bundle_bytes

        return bundle_bytes(self.report_of(number, with_files=True))

    # --------------------------------------------------------------------------------- the sender

    def claim(self, owner: str, *, skip_backends: Sequence[str] = (), current_backend: str = "",
              number: int | None = None, lease: float = LEASE_SECONDS) -> Entry | None:
        """Take the lease on the next due entry with work left (or on entry ``number``, due or not).

        ``skip_backends`` are paused: entries whose next step needs them are left alone (a queued entry
        goes to ``current_backend``; a sent one to the backend holding its ticket).
        """
        now = self.clock()
        with self._write(durable=False) as conn:
            if number is not None:
                rows = conn.execute("SELECT id, owner, lease_until, state, backend FROM entries WHERE id = ?",
                                    (number,)).fetchall()
            else:
                # a next try further away than any delay we set means the clock was put back: due now
                rows = conn.execute(
                    f"SELECT id, owner, lease_until, state, backend FROM entries WHERE (next_attempt <= ? OR "
                    f"next_attempt > ?) AND {_HAS_WORK} ORDER BY next_attempt, id LIMIT 200",
                    (now, now + MAX_DELAY)).fetchall()
            chosen = None
            for number_, holder, lease_until, state, backend in rows:
                target = backend if state == "sent" else current_backend
                if target in skip_backends:
                    continue
                if holder and holder != owner and lease_until > now and _owner_alive(holder, owner):
                    continue
                if state == "failed":
                    continue
                chosen = number_
                break
            if chosen is None:
                return None
            conn.execute("UPDATE entries SET owner = ?, lease_until = ?, "
                         "uncertain = CASE WHEN state = 'sending' THEN 1 ELSE uncertain END WHERE id = ?",
                         (owner, now + lease, chosen))
        entry = self.get(chosen)
        if not entry.has_work:
            self.release(chosen, owner)
            return None
        return entry

    def release(self, number: int, owner: str) -> None:
        with self._write(durable=False) as conn:
            conn.execute("UPDATE entries SET owner = '', lease_until = 0 WHERE id = ? AND owner = ?", (number, owner))

    def renew(self, number: int, owner: str, lease: float = LEASE_SECONDS) -> None:
        with self._write(durable=False) as conn:
            conn.execute("UPDATE entries SET lease_until = ? WHERE id = ? AND owner = ?",
                         (self.clock() + lease, number, owner))

    def _update(self, number: int, owner: str, **values: Any) -> None:
        """Update columns of an entry this owner holds; OutboxError when the lease was lost."""
        values["updated"] = self.clock()
        for key in ("last_error", "failed_reason"):
            if key in values:
                values[key] = mask_credentials(values[key])
        sets = ", ".join(f"{k} = ?" for k in values)
        with self._write(durable=False) as conn:
            cur = conn.execute(f"UPDATE entries SET {sets} WHERE id = ? AND owner = ?",
                               (*values.values(), number, owner))
            if cur.rowcount != 1:
                raise OutboxError(f"{incident_label(number)}: another sender took over this report")

    def begin_create(self, number: int, owner: str) -> None:
        """Committed before the create request: ``sending``, one more attempt, outcome uncertain."""
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE entries SET state = 'sending', attempts = attempts + 1, uncertain = 1, updated = ? "
                "WHERE id = ? AND owner = ?", (self.clock(), number, owner))
            if cur.rowcount != 1:
                raise OutboxError(f"{incident_label(number)}: another sender took over this report")

    def mark_sent(self, number: int, owner: str, ticket: TicketRef) -> None:
        """The ticket exists: ``sent`` with its id and URL (attachments may still be pending)."""
        self._update(number, owner, state="sent", backend=ticket.backend, ticket_id=ticket.ticket_id,
                     ticket_url=ticket.url, sent_at=self.clock(), failures=0, uncertain=0, last_error="",
                     failed_reason="", next_attempt=0)

    def mark_retry(self, number: int, owner: str, *, error: str, delay: float, uncertain: bool | None = None,
                   count_failure: bool = True) -> None:
        """Try again after ``delay`` seconds; a create in flight goes back to ``queued``."""
        values: dict[str, Any] = {"last_error": error, "next_attempt": self.clock() + max(0.0, delay)}
        entry = self.get(number)
        if entry.state == "sending":
            values["state"] = "queued"
        if uncertain is not None:
            values["uncertain"] = int(uncertain)
        if count_failure:
            values["failures"] = entry.failures + 1
        self._update(number, owner, **values)

    def mark_failed(self, number: int, owner: str, reason: str, *, uncertain: bool | None = None) -> None:
        """The helpdesk refused the report for good; kept with ``reason``, retryable by the user."""
        values: dict[str, Any] = {"state": "failed", "failed_reason": reason, "last_error": reason}
        if uncertain is not None:
            values["uncertain"] = int(uncertain)
        self._update(number, owner, **values)

    def mark_part(self, number: int, owner: str, seq: int, state: str, reason: str = "", size: int | None = None,
                  noted: bool | None = None) -> None:
        """Record how a file fared (and renew the lease: the sender is making progress)."""
        if state not in PART_STATES:
            raise ValueError(state)
        with self._write(durable=False) as conn:
            held = conn.execute("SELECT 1 FROM entries WHERE id = ? AND owner = ?", (number, owner)).fetchone()
            if not held:
                raise OutboxError(f"{incident_label(number)}: another sender took over this report")
            conn.execute("UPDATE parts SET state = ?, reason = ?, size = coalesce(?, size), "
                         "noted = coalesce(?, noted) WHERE entry_id = ? AND seq = ?",
                         (state, mask_credentials(reason), size, None if noted is None else int(noted), number, seq))
            now = self.clock()
            conn.execute("UPDATE entries SET updated = ?, failures = 0, last_error = '', lease_until = ? WHERE id = ?",
                         (now, now + LEASE_SECONDS, number))

    def mark_noted(self, number: int, owner: str, seqs: Sequence[int]) -> None:
        with self._write(durable=False) as conn:
            conn.executemany("UPDATE parts SET noted = 1 WHERE entry_id = ? AND seq = ?",
                             [(number, s) for s in seqs])
            conn.execute("UPDATE entries SET updated = ? WHERE id = ? AND owner = ?", (self.clock(), number, owner))

    # ------------------------------------------------------------------------------- user actions

    def retry(self, number: int) -> Entry:
        """Send a failed or waiting report again now (the user asked)."""
        entry = self.get(number)
        if entry.state == "sent" and not entry.has_work and not self.followups(number, ("failed",)):
            raise OutboxError(f"{entry.incident} was already sent (ticket {entry.ticket_id})")
        with self._write() as conn:
            conn.execute("UPDATE entries SET state = CASE WHEN state = 'failed' THEN "
                         "(CASE WHEN ticket_id != '' THEN 'sent' ELSE 'queued' END) ELSE state END, "
                         "failures = 0, next_attempt = 0, failed_reason = '', updated = ? WHERE id = ?",
                         (self.clock(), number))
            conn.execute("UPDATE parts SET state = 'pending', reason = '', noted = 0 "
                         "WHERE entry_id = ? AND state = 'failed'", (number,))
            conn.execute("UPDATE followups SET state = 'queued', reason = '' WHERE entry_id = ? AND state = 'failed'",
                         (number,))
            conn.execute("DELETE FROM problems")
        return self.get(number)

    def retry_all(self) -> int:
        """Every failed or waiting report is due now; returns how many were failed or waiting."""
        now = self.clock()
        with self._write() as conn:
            n = conn.execute("SELECT count(*) FROM entries WHERE state = 'failed' OR "
                             "(state IN ('queued', 'sending') AND next_attempt > ?)", (now,)).fetchone()[0]
            conn.execute("UPDATE entries SET state = CASE WHEN ticket_id != '' THEN 'sent' ELSE 'queued' END, "
                         "failed_reason = '' WHERE state = 'failed'")
            conn.execute("UPDATE entries SET failures = 0, next_attempt = 0, updated = ? "
                         "WHERE next_attempt > 0 OR failures > 0", (now,))
            conn.execute("UPDATE parts SET state = 'pending', reason = '', noted = 0 WHERE state = 'failed'")
            conn.execute("UPDATE followups SET state = 'queued', reason = '' WHERE state = 'failed'")
            conn.execute("DELETE FROM problems")
        return int(n)

    # ---------------------------------------------------------------------- comments and ratings

    def add_followup(self, number: int, kind: str, *, text: str = "", score: int | None = None,
                     attachments: Sequence[Attachment] = ()) -> FollowUp:
        """Save a comment (with files) or a satisfaction rating for a report's ticket; sent after the ticket
        exists, through the same durable path as the report."""
        entry = self.get(number)
        if kind not in ("comment", "rating"):
            raise ValueError(kind)
        if kind == "rating" and (score is None or not 1 <= score <= 5):
            raise OutboxError(f"a rating is 1 to 5, not {score}")
        if kind == "comment" and not text.strip() and not attachments:
            raise OutboxError("a comment needs words or files")
        if entry.state == "failed":
            raise OutboxError(f"{entry.incident} was not sent ({entry.failed_reason}); retry it first: "
                              f"deskline outbox retry {entry.incident}")
        written: list[Path] = []
        files = []
        try:
            for att in attachments:
                digest, path, new = store_blob(self.blobs, att.content)
                if new:
                    written.append(path)
                files.append([att.name, att.media_type, len(att.content), digest])
            sync_blob_folders(written)
        except OSError as exc:
            self._drop_blobs(written)
            raise self._error(exc, "cannot save the comment's files") from exc
        try:
            with self._write() as conn:
                cur = conn.execute("INSERT INTO followups (entry_id, kind, text, score, files, created, state) "
                                   "VALUES (?, ?, ?, ?, ?, ?, 'queued')",
                                   (number, kind, text, score, json.dumps(files), self.clock()))
                fid = int(cur.lastrowid or 0)
        except OutboxError:
            self._drop_blobs(written)
            raise
        return self.followup(fid)

    def _followup(self, row: Sequence[Any]) -> FollowUp:
        fid, number, kind, text, score, files, created, state, attempts, reason = row
        return FollowUp(fid, number, kind, text, score, tuple(tuple(f) for f in json.loads(files)), created, state,
                        attempts, reason)

    _FOLLOWUP_COLUMNS = "id, entry_id, kind, text, score, files, created, state, attempts, reason"

    def followup(self, fid: int) -> FollowUp:
        rows = self._read(f"SELECT {self._FOLLOWUP_COLUMNS} FROM followups WHERE id = ?", (fid,))
        if not rows:
            raise NoSuchEntry(f"no comment or rating {fid} in the outbox")
        return self._followup(rows[0])

    def followups(self, number: int, states: Sequence[str] = ()) -> list[FollowUp]:
        """A report's comments and ratings, oldest first (those in ``states``, or all)."""
        sql = f"SELECT {self._FOLLOWUP_COLUMNS} FROM followups WHERE entry_id = ?"
        args: list[Any] = [number]
        if states:
            sql += f" AND state IN ({', '.join('?' * len(states))})"
            args += list(states)
        return [self._followup(r) for r in self._read(sql + " ORDER BY id", args)]

    def read_followup_file(self, name: str, size: int, sha256: str) -> bytes:
        """A follow-up's file, checked against its hash (PartUnreadable if missing or damaged)."""
        part = Part(0, "file", name, "", size, sha256, False, "pending", "", False)
        return self.read_part(None, part)

    def mark_followup(self, fid: int, owner: str, state: str, reason: str = "") -> None:
        """Record how a comment or rating fared (the sender holds its report's lease)."""
        with self._write(durable=False) as conn:
            held = conn.execute("SELECT 1 FROM entries e JOIN followups f ON f.entry_id = e.id "
                                "WHERE f.id = ? AND e.owner = ?", (fid, owner)).fetchone()
            if not held:
                raise OutboxError("another sender took over this report")
            conn.execute("UPDATE followups SET state = ?, reason = ?, attempts = attempts + 1 WHERE id = ?",
                         (state, mask_credentials(reason), fid))

    # ----------------------------------------------------------------------------------- problems

    def record_problem(self, backend: str, setting: str, message: str, fingerprint: str,
                       paused_until: float) -> bool:
        """Record a settings problem for ``backend``; True when it is new (then tell the user, once)."""
        message = mask_credentials(message)
        with self._write(durable=False) as conn:
            row = conn.execute("SELECT setting, message, fingerprint FROM problems WHERE backend = ?",
                               (backend,)).fetchone()
            if row == (setting, message, fingerprint):
                conn.execute("UPDATE problems SET paused_until = ? WHERE backend = ?", (paused_until, backend))
                return False
            conn.execute("INSERT OR REPLACE INTO problems (backend, setting, message, fingerprint, since, "
                         "paused_until, shown) VALUES (?, ?, ?, ?, ?, ?, 0)",
                         (backend, setting, message, fingerprint, self.clock(), paused_until))
            return True

    def problems(self) -> list[Problem]:
        return [Problem(b, s, m, f, since, until, bool(shown)) for b, s, m, f, since, until, shown in
                self._read("SELECT backend, setting, message, fingerprint, since, paused_until, shown FROM problems")]

    def paused_backends(self, fingerprint: str) -> list[str]:
        """Backends paused by a recorded problem; problems recorded under other settings are forgotten."""
        now = self.clock()
        paused, stale = [], []
        for p in self.problems():
            if p.fingerprint != fingerprint:
                stale.append(p.backend)  # the settings changed since: try again
            elif p.paused_until > now:
                paused.append(p.backend)
        if stale:
            self.clear_problems(stale)
        return paused

    def clear_problems(self, backends: Sequence[str] = ()) -> None:
        with self._write(durable=False) as conn:
            if backends:
                conn.executemany("DELETE FROM problems WHERE backend = ?", [(b,) for b in backends])
            else:
                conn.execute("DELETE FROM problems")

    def mark_problems_shown(self) -> None:
        with self._write(durable=False) as conn:
            conn.execute("UPDATE problems SET shown = 1")

    # ------------------------------------------------------------------------------------ status

    def update_status(self, number: int, status: TicketStatus | None) -> list[Reply]:
        """Store the ticket's status (None: unchanged since the stored etag); returns replies new to us."""
        now = self.clock()
        with self._write(durable=False) as conn:
            if status is None:
                conn.execute("UPDATE entries SET status_checked = ? WHERE id = ?", (now, number))
                return []
            conn.execute("UPDATE entries SET status_state = ?, status_label = ?, status_updated = ?, "
                         "status_etag = ?, status_checked = ? WHERE id = ?",
                         (status.state, status.label, status.updated, status.etag, now, number))
            known = {r[0] for r in conn.execute("SELECT reply_id FROM replies WHERE entry_id = ?", (number,))}
            new = [r for r in status.replies if r.reply_id not in known]
            conn.executemany("INSERT INTO replies (entry_id, reply_id, author, created, text) VALUES (?, ?, ?, ?, ?)",
                             [(number, r.reply_id, r.author, r.created, r.text) for r in new])
        return new

    def replies(self, number: int, only_new: bool = False) -> list[Reply]:
        sql = "SELECT reply_id, author, created, text FROM replies WHERE entry_id = ?"
        if only_new:
            sql += " AND seen = 0"
        return [Reply(*r) for r in self._read(sql + " ORDER BY created, reply_id", (number,))]

    def mark_replies_seen(self, number: int) -> None:
        with self._write(durable=False) as conn:
            conn.execute("UPDATE replies SET seen = 1 WHERE entry_id = ?", (number,))

    def integrity(self) -> str:
        """SQLite's integrity_check: ``ok`` or the first problems found."""
        return "; ".join(r[0] for r in self._read("PRAGMA integrity_check"))
