"""The agent's audit log: one JSON object per line, appended, rotated; mode 0600, so only the account the
agent runs as (normally root) reads it. The user does not: the desktop app keeps and shows its own
consent ledger (:class:`desktop.consent_service.Ledger`).

The agent's start and stop, every connection, authentication (accepted and refused), refused request,
consent decision, unattended-session notice and command is one record::

    {"time": "2026-05-09T07:35:25.123Z", "event": "command", "session": "3f9a1c2e",
     "peer": "10.0.0.7:50412", "fingerprint": "SHA256:...", "engineer": "Alice (L2)",
     "command": "probe cpu", "exit": 0, "duration_ms": 212.4, "bytes_out": 1834}

Events: ``start`` (``listen``, ``version``) and ``stop``, ``connect``, ``refuse`` (a connection turned
away before SSH, e.g. too many sessions), ``auth`` (``accepted`` true/false, ``method``, ``reason``),
``request`` (a refused pty, shell, subsystem, forward, X11 or agent request, or a channel over the
cap), ``consent`` (``decision`` and its ``how``, ``reason``, ``expires``; the decisions are listed in
docs/agent.md), ``notify`` (an unattended session announced to the user's app: ``delivered``, ``how``,
``reason``), ``command`` and ``disconnect`` (``reason``, ``duration_ms``). Fields that do not apply
are left out; times are UTC with milliseconds.

Writing: the file is opened with O_APPEND and mode 0600, and each record is one ``write`` of one
whole line, so a crash never leaves half a record between two others. The kernel has the line as soon
as ``write`` returns (a killed agent loses nothing); a background flusher ``fsync``s at most once a
second, so a power cut loses at most the last second. When the next line would take the file past
``max_bytes`` it is renamed to ``.1`` (``.1`` to ``.2`` ...) and at most ``keep`` old files are kept.
One agent process writes one log; two processes sharing a file would rotate under each other.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from desktop.errors import DesklineError

log = logging.getLogger("deskline.agent")

DEFAULT_MAX_BYTES = 4 * 1024 * 1024
DEFAULT_KEEP = 5
_BLOCK = 64 * 1024


class AuditError(DesklineError):
    """The audit log cannot be opened or written; the message names the file."""


def now_iso(epoch: float | None = None) -> str:
    """UTC time with milliseconds: ``2026-05-09T07:35:25.123Z``."""
    t = time.time() if epoch is None else epoch
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}Z"


def rotated(path: Path, index: int) -> Path:
    """The ``index``-th older file (0 is the current one)."""
    return path if index == 0 else path.with_name(f"{path.name}.{index}")


class AuditLog:
    """Append-only JSON-lines audit log with size rotation. Thread-safe; one per process and file."""

    def __init__(self, path: str | os.PathLike[str], *, max_bytes: int = DEFAULT_MAX_BYTES,
                 keep: int = DEFAULT_KEEP, fsync_interval: float = 1.0) -> None:
        self.path = Path(path)
        self.max_bytes = max(1024, max_bytes)
        self.keep = max(0, keep)
        self.fsync_interval = fsync_interval
        self._lock = threading.Lock()
        self._dirty = threading.Event()
        self._closed = threading.Event()
        self._fd = -1
        self._size = 0
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise AuditError(f"{self.path.parent}: cannot make the audit log's folder: {exc.strerror or exc}") from exc
        self._open()
        self._flusher = threading.Thread(target=self._flush_loop, name="deskline-audit-fsync", daemon=True)
        self._flusher.start()

    def _open(self) -> None:
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
        except OSError as exc:
            raise AuditError(f"{self.path}: cannot open the audit log: {exc.strerror or exc}") from exc
        if os.name == "posix":
            os.fchmod(fd, 0o600)  # a file made by an older version or another umask
        self._fd = fd
        self._size = os.fstat(fd).st_size

    def write(self, event: str, **fields: Any) -> dict[str, Any]:
        """Append one record (fields that are None are left out) and return it."""
        record: dict[str, Any] = {"time": now_iso(), "event": event}
        record.update((k, v) for k, v in fields.items() if v is not None)
        line = (json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str) + "\n").encode("utf-8")
        with self._lock:
            if self._fd < 0:
                raise AuditError(f"{self.path}: audit log is closed")
            if self._size > 0 and self._size + len(line) > self.max_bytes:
                self._rotate()
            try:
                written = os.write(self._fd, line)
                while written < len(line):  # only on a full disk or a signal; keep the line whole if we can
                    written += os.write(self._fd, line[written:])
            except OSError as exc:
                raise AuditError(f"{self.path}: cannot write the audit log: {exc.strerror or exc}") from exc
            self._size += len(line)
        self._dirty.set()
        return record

    def _rotate(self) -> None:
        os.fsync(self._fd)
        os.close(self._fd)
        self._fd = -1
        try:
            if self.keep == 0:
                self.path.unlink(missing_ok=True)
            else:
                rotated(self.path, self.keep).unlink(missing_ok=True)
                for i in range(self.keep - 1, -1, -1):
                    src = rotated(self.path, i)
                    if src.exists():
                        os.replace(src, rotated(self.path, i + 1))
        except OSError as exc:
            log.warning("%s: audit log rotation failed, appending on: %s", self.path, exc.strerror or exc)
        self._open()

    def _flush_loop(self) -> None:
        while not self._closed.is_set():
            self._dirty.wait()
            if self._closed.is_set():
                return
            self._dirty.clear()
            self.flush()
            self._closed.wait(self.fsync_interval)

    def flush(self) -> None:
        """fsync what has been written."""
        with self._lock:
            if self._fd >= 0:
                try:
                    os.fsync(self._fd)
                except OSError as exc:
                    log.warning("%s: fsync of the audit log failed: %s", self.path, exc.strerror or exc)

    def close(self) -> None:
        """Flush and close; later writes raise AuditError."""
        self._closed.set()
        self._dirty.set()
        self._flusher.join(timeout=5)
        with self._lock:
            if self._fd >= 0:
                os.fsync(self._fd)
                os.close(self._fd)
                self._fd = -1

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _lines_backwards(path: Path) -> Iterator[bytes]:
    """The lines of a file, last first, read in blocks from the end."""
    try:
        f = path.open("rb")
    except FileNotFoundError:
        return
    with f:
        f.seek(0, os.SEEK_END)
        position = f.tell()
        rest = b""
        while position > 0:
            step = min(_BLOCK, position)
            position -= step
            f.seek(position)
            chunk = f.read(step) + rest
            lines = chunk.split(b"\n")
            rest = lines[0]
            for line in reversed(lines[1:]):
                if line:
                    yield line
        if rest:
            yield rest


def read_records(path: str | os.PathLike[str], keep: int = DEFAULT_KEEP) -> Iterator[dict[str, Any]]:
    """Every record, newest first, across the current file and its rotated ones (``.1`` ... ``.keep``).

    A line that is not a JSON object (a torn last line after a power cut) is skipped with a warning.
    """
    base = Path(path)
    for index in range(keep + 1):
        file = rotated(base, index)
        if index > 0 and not file.exists():
            break
        for line in _lines_backwards(file):
            try:
                record = json.loads(line)
            except (ValueError, UnicodeDecodeError):
                record = None
            if not isinstance(record, dict):
                log.warning("%s: skipped a line that is not an audit record: %r", file, line[:80])
                continue
            yield record
