"""The app's end of the consent channel: listen, ask the user, answer, keep the ledger. No Qt here.

:class:`ConsentService` listens on the user's consent socket (the wire protocol, the socket's place and
the peer checks are described in :mod:`agent.consent_channel`). For each request it calls ``decide``
in a worker thread of its own, so a question waiting for the user never holds up another agent's
request; the Qt dialog plugs in as ``decide`` (it must marshal to the GUI thread itself and close when
``ask.cancelled`` is set), and :class:`TerminalPrompt` is the ``decide`` of ``deskline consent`` for
machines without the desktop app.

Every request, decision, session start, command, end, revocation and refused message is written to the
:class:`Ledger` (append-only JSON lines in the user's data folder, read newest first) and passed to
``on_event`` (from a worker thread) so the app can show the active-session banner and its ledger page.
A question the agent withdrew (``consent.withdraw``: the engineer left before the user answered) is
cancelled (the dialog closes) and recorded as a ``consent.decision`` by ``"agent"`` whose reason starts
"withdrawn by the agent: ".

An agent that IT's policy lets run unattended asks nothing and sends one ``session.notify`` instead:
it becomes the event ``session.notify`` (engineer, fingerprint, peer, ticket, commands, expires, how,
peer_uid), recorded and passed to ``on_event`` like the others, for the app to show as a notice; no
answer is sent and ``decide`` is not called.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import select
import socket
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from agent.consent_channel import (
    FROM_AGENT,
    MAX_LINE,
    WRITE_TIMEOUT,
    ConsentChannelError,
    LineReader,
    MessageError,
    PeerCredentials,
    app_socket_path,
    encode_message,
    expect,
    is_connection_refused,
    peer_credentials,
    validate,
)
from agent.protocol import parse_duration
from desktop.errors import DesklineError

log = logging.getLogger("deskline.consent")

#: How long a connected agent has to send its request.
REQUEST_WAIT = 5.0
#: How long after a yes the agent has to confirm the session started.
START_WAIT = 5.0
#: How long past a grant's end the connection is kept for the agent's ``session.ended``.
END_GRACE = 30.0
#: The most agents served at once; more connections are refused (and recorded).
MAX_CLIENTS = 16
LEDGER_MAX_BYTES = 1024 * 1024
LEDGER_KEEP = 3
SESSION_FROM_AGENT = frozenset({"session.command", "session.ended", "consent.revoked"})


# ------------------------------------------------------------------------------------------- types

@dataclass
class ConsentAsk:
    """A validated request as ``decide`` sees it; ``cancelled`` is set when the agent stops waiting."""

    id: str
    engineer: str
    fingerprint: str
    peer: str
    ticket: str
    commands: tuple[str, ...]
    duration_seconds: int
    timeout_seconds: int
    peer_uid: int | None = None
    peer_pid: int | None = None
    received: float = field(default_factory=time.time)
    deadline: float = 0.0  # time.monotonic() after which the agent no longer waits
    cancelled: threading.Event = field(default_factory=threading.Event)

    def remaining(self) -> float:
        """Seconds left to answer (0 when the agent has stopped waiting)."""
        return 0.0 if self.cancelled.is_set() else max(0.0, self.deadline - time.monotonic())


@dataclass(frozen=True)
class Decision:
    """The user's answer; ``duration_seconds`` may shorten the session asked for (None: as asked)."""

    allow: bool
    duration_seconds: int | None = None
    reason: str = ""


@dataclass
class ActiveGrant:
    """A session the user allowed and the agent confirmed: what the banner shows."""

    id: str
    ask: ConsentAsk
    expires: float
    started: float
    duration_seconds: int
    commands_run: int = 0


Decide = Callable[[ConsentAsk], Decision]
OnEvent = Callable[[dict[str, Any]], None]


# ------------------------------------------------------------------------------------------- ledger

def default_ledger_path() -> Path:
    """The user's consent ledger: ``consent-ledger.jsonl`` in the user's data folder."""
    from platformdirs import user_data_path

    return user_data_path("deskline", appauthor=False) / "consent-ledger.jsonl"


class Ledger:
    """Append-only JSON lines, one per event, readable newest first; rotated at ``max_bytes``.

    Writes are one ``write`` of a whole line to a file opened with O_APPEND (mode 0600), so a crash
    leaves at most a torn last line, which :meth:`read` skips. ``keep`` older files are kept
    (``.1`` newest); the oldest is dropped.
    """

    def __init__(self, path: str | os.PathLike[str], max_bytes: int = LEDGER_MAX_BYTES,
                 keep: int = LEDGER_KEEP) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.keep = keep
        self._lock = threading.Lock()

    def append(self, event: Mapping[str, Any]) -> None:
        line = (json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
        with self._lock:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                with contextlib.suppress(FileNotFoundError):
                    if self.path.stat().st_size + len(line) > self.max_bytes:
                        self._rotate()
                fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    os.write(fd, line)
                finally:
                    os.close(fd)
            except OSError as exc:
                # the ledger is the user's record; losing a line is worth a warning, not a crash of the service
                log.warning("consent ledger %s: cannot write: %s", self.path, exc.strerror or exc)

    def _rotate(self) -> None:
        for n in range(self.keep, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{n}")
            newer = self.path.with_name(f"{self.path.name}.{n - 1}") if n > 1 else self.path
            if n == self.keep:
                older.unlink(missing_ok=True)
            if newer.exists():
                newer.replace(older)

    def files(self) -> list[Path]:
        """The ledger's files, newest first."""
        return [self.path] + [self.path.with_name(f"{self.path.name}.{n}") for n in range(1, self.keep + 1)]

    def read(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Events newest first (at most ``limit``); unreadable lines are skipped."""
        return list(self._iter(limit))

    def _iter(self, limit: int | None) -> Iterator[dict[str, Any]]:
        count = 0
        for path in self.files():
            try:
                lines = path.read_bytes().splitlines()
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise DesklineError(f"consent ledger {path}: cannot read: {exc.strerror or exc}") from exc
            for raw in reversed(lines):
                try:
                    event = json.loads(raw)
                except ValueError:
                    continue
                if isinstance(event, dict):
                    yield event
                    count += 1
                    if limit is not None and count >= limit:
                        return


# ------------------------------------------------------------------------------------------ service

class _Connection:
    """One agent's connection: serialized writes, a revoke acknowledgement."""

    def __init__(self, sock: socket.socket, creds: PeerCredentials | None) -> None:
        self.sock = sock
        self.creds = creds
        self.lock = threading.Lock()
        self.revoke_acknowledged = threading.Event()
        self.revoke_reason = ""

    def send(self, message: Mapping[str, Any]) -> bool:
        with self.lock:
            try:
                self.sock.sendall(encode_message(message))
                return True
            except OSError:
                return False

    def shutdown(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)


class ConsentService:
    """Listens on ``socket_path`` and answers agents' consent requests by calling ``decide``.

    ``decide`` is called from a worker thread, one per pending request; it returns a :class:`Decision`
    and should return soon after ``ask.cancelled`` is set (the agent gave up or hung up). A decide that
    raises counts as a no. ``on_event`` receives every ledger event (from worker threads).
    ``allowed_uids`` adds accounts (a dedicated agent service account) to root and this user.
    """

    def __init__(
        self,
        socket_path: str | os.PathLike[str] | None,
        decide: Decide,
        on_event: OnEvent | None = None,
        *,
        ledger: Ledger | None = None,
        allowed_uids: Iterable[int] = (),
        max_clients: int = MAX_CLIENTS,
        max_line: int = MAX_LINE,
        request_wait: float = REQUEST_WAIT,
        start_wait: float = START_WAIT,
    ) -> None:
        self.socket_path = Path(socket_path) if socket_path is not None else app_socket_path()
        self.decide = decide
        self.on_event = on_event
        self.ledger = ledger if ledger is not None else Ledger(default_ledger_path())
        self.allowed_uids = frozenset({0, os.geteuid(), *allowed_uids})
        self.max_clients = max_clients
        self.max_line = max_line
        self.request_wait = request_wait
        self.start_wait = start_wait
        self._listener: socket.socket | None = None
        self._inode: tuple[int, int] | None = None
        self._wake_r, self._wake_w = -1, -1
        self._accept_thread: threading.Thread | None = None
        self._threads: set[threading.Thread] = set()
        self._connections: set[_Connection] = set()
        self._active: dict[str, tuple[ActiveGrant, _Connection]] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    # ----------------------------------------------------------------------------- lifecycle

    def __enter__(self) -> ConsentService:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Make the folder (0700), take over a stale socket, bind (0600), listen. Raises ConsentChannelError."""
        path = self.socket_path
        _prepare_folder(path.parent)
        if path.exists() or path.is_symlink():
            st = path.lstat()
            if not stat.S_ISSOCK(st.st_mode):
                raise ConsentChannelError(f"{path}: exists and is not a socket; not replacing it")
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            probe.settimeout(1.0)
            try:
                probe.connect(str(path))
            except OSError as exc:
                if not is_connection_refused(exc):
                    raise ConsentChannelError(f"{path}: cannot check the old socket: {exc.strerror or exc}") from exc
                path.unlink(missing_ok=True)  # stale: its app is gone
            else:
                raise ConsentChannelError(f"{path}: another Deskline app already answers consent requests here")
            finally:
                probe.close()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(str(path))
            os.chmod(path, 0o600)  # the folder is 0700 already; this is the second lock
            listener.listen(self.max_clients)
        except OSError as exc:
            listener.close()
            raise ConsentChannelError(f"{path}: cannot listen: {exc.strerror or exc}") from exc
        st = path.lstat()
        self._inode = (st.st_dev, st.st_ino)
        self._listener = listener
        self._wake_r, self._wake_w = os.pipe()
        self._stopping.clear()
        self._accept_thread = threading.Thread(target=self._accept_loop, name="consent-accept", daemon=True)
        self._accept_thread.start()
        log.info("answering consent requests on %s", path)

    def stop(self, reason: str = "the Deskline app closed", timeout: float = 5.0) -> None:
        """Revoke every active grant, stop listening, remove the socket, end the workers."""
        if self._listener is None:
            return
        self._stopping.set()
        for grant_id in list(self._active):
            self.revoke(grant_id, reason, timeout=1.0)
        os.write(self._wake_w, b"x")
        if self._accept_thread is not None:
            self._accept_thread.join(timeout)
        self._listener.close()
        self._listener = None
        with contextlib.suppress(OSError):
            st = self.socket_path.lstat()
            if (st.st_dev, st.st_ino) == self._inode:
                self.socket_path.unlink()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            conn.shutdown()
        deadline = time.monotonic() + timeout
        for thread in list(self._threads):
            thread.join(max(0.0, deadline - time.monotonic()))
        os.close(self._wake_r)
        os.close(self._wake_w)

    # ---------------------------------------------------------------------------------- queries

    def active_grants(self) -> list[ActiveGrant]:
        """Sessions running now, oldest first."""
        with self._lock:
            return sorted((g for g, _ in self._active.values()), key=lambda g: g.started)

    def revoke(self, grant_id: str, reason: str = "the user ended the session", timeout: float = 2.0) -> bool:
        """End a grant now (End now). True once the agent acknowledged; the connection is closed either way.

        After a True return the agent has marked the grant revoked and runs no further command under it;
        on False (an agent that did not answer in ``timeout`` seconds) the closed connection revokes it.
        """
        with self._lock:
            entry = self._active.get(grant_id)
        if entry is None:
            return False
        grant, conn = entry
        conn.revoke_reason = reason
        self._record({"event": "consent.revoke", "grant": grant_id, "engineer": grant.ask.engineer,
                      "reason": reason})
        sent = conn.send({"type": "consent.revoke", "grant": grant_id, "reason": reason[:500]})
        acknowledged = sent and conn.revoke_acknowledged.wait(timeout)
        if not acknowledged:
            log.info("consent grant %s: the agent did not acknowledge the revocation; closing its connection",
                     grant_id)
        conn.shutdown()
        return acknowledged

    # -------------------------------------------------------------------------------- internals

    def _record(self, event: dict[str, Any]) -> None:
        event = {"time": round(time.time(), 3), **event}
        self.ledger.append(event)
        if self.on_event is not None:
            try:
                self.on_event(event)
            except Exception:  # noqa: BLE001 - a broken listener must not stop the consent service
                log.exception("consent event listener failed on %s", event.get("event"))

    def _refuse(self, conn: _Connection, reason: str, *, tell: bool = True) -> None:
        creds = conn.creds
        log.warning("consent channel: refused a connection (uid %s, pid %s): %s",
                    creds.uid if creds else "?", creds.pid if creds else "?", reason)
        self._record({"event": "channel.refused", "reason": reason,
                      "peer_uid": creds.uid if creds else None, "peer_pid": creds.pid if creds else None})
        if tell:
            conn.send({"type": "consent.error", "reason": reason[:500]})

    def _accept_loop(self) -> None:
        assert self._listener is not None
        listener = self._listener
        while not self._stopping.is_set():
            readable, _, _ = select.select([listener.fileno(), self._wake_r], [], [])
            if self._wake_r in readable:
                return
            try:
                sock, _ = listener.accept()
            except OSError as exc:
                log.info("consent socket %s: accept failed: %s", self.socket_path, exc.strerror or exc)
                continue
            sock.settimeout(WRITE_TIMEOUT)
            try:
                creds = peer_credentials(sock)
            except OSError:
                creds = None
            conn = _Connection(sock, creds)
            with self._lock:
                busy = len(self._connections) >= self.max_clients
                if not busy:
                    self._connections.add(conn)
            if busy:
                self._refuse(conn, f"more than {self.max_clients} agents connected at once")
                sock.close()
                continue
            thread = threading.Thread(target=self._serve, args=(conn,), name="consent-client", daemon=True)
            with self._lock:
                self._threads.add(thread)
            thread.start()

    def _serve(self, conn: _Connection) -> None:
        try:
            self._serve_one(conn)
        except Exception:  # noqa: BLE001 - one agent's failure must not take the service down
            log.exception("consent channel: serving a connection failed")
        finally:
            conn.shutdown()
            conn.sock.close()
            with self._lock:
                self._connections.discard(conn)
                self._threads.discard(threading.current_thread())

    def _serve_one(self, conn: _Connection) -> None:
        creds = conn.creds
        if creds is not None and creds.uid not in self.allowed_uids:
            self._refuse(conn, f"uid {creds.uid} may not ask for consent here", tell=False)
            return
        reader = LineReader(conn.sock, self.max_line)
        try:
            raw = reader.read(time.monotonic() + self.request_wait)
            if raw is None:
                return  # connected and left: a second app checking whether this one is alive
            message = validate(raw, {"consent.request", "session.notify"})
        except TimeoutError:
            self._refuse(conn, f"no request within {self.request_wait:g} s")
            return
        except MessageError as exc:
            self._refuse(conn, f"malformed request: {exc}")
            return
        except OSError as exc:
            log.info("consent channel: connection failed before a request: %s", exc)
            return
        if message["type"] == "session.notify":
            self._record({"event": "session.notify", "id": message["id"], "engineer": message["engineer"],
                          "fingerprint": message["fingerprint"], "peer": message["peer"],
                          "ticket": message["ticket"], "commands": list(message["commands"]),
                          "expires": round(message["expires"], 3), "how": message["how"],
                          "peer_uid": creds.uid if creds else None})
            return  # notify only: nothing to answer, and the agent has already hung up
        ask = ConsentAsk(
            id=message["id"], engineer=message["engineer"], fingerprint=message["fingerprint"],
            peer=message["peer"], ticket=message["ticket"], commands=tuple(message["commands"]),
            duration_seconds=message["duration_seconds"], timeout_seconds=message["timeout_seconds"],
            peer_uid=creds.uid if creds else None, peer_pid=creds.pid if creds else None,
        )
        ask.deadline = time.monotonic() + ask.timeout_seconds
        self._record({"event": "consent.request", "id": ask.id, "engineer": ask.engineer,
                      "fingerprint": ask.fingerprint, "peer": ask.peer, "ticket": ask.ticket,
                      "commands": list(ask.commands), "duration_seconds": ask.duration_seconds,
                      "timeout_seconds": ask.timeout_seconds, "peer_uid": ask.peer_uid})
        decision, by = self._ask_user(ask, conn, reader)
        duration = ask.duration_seconds if decision.duration_seconds is None else \
            max(0, min(int(decision.duration_seconds), ask.duration_seconds))
        allow = decision.allow and duration > 0 and by == "user"
        reason = "".join(c if c.isprintable() else " " for c in decision.reason)[:500]
        self._record({"event": "consent.decision", "id": ask.id, "engineer": ask.engineer, "allow": allow,
                      "duration_seconds": duration if allow else 0, "reason": reason, "by": by})
        if by == "agent":
            return  # the agent hung up or stopped waiting: nobody to answer
        if not conn.send({"type": "consent.decision", "id": ask.id, "allow": allow,
                          "duration_seconds": duration if allow else 0, "reason": reason}) or not allow:
            return
        self._session(ask, duration, conn, reader)

    def _ask_user(self, ask: ConsentAsk, conn: _Connection, reader: LineReader) -> tuple[Decision, str]:
        """Run ``decide`` in a worker while watching the agent; (decision, who decided). The agent speaking
        before the decision withdraws the question: ``consent.withdraw`` says why; anything else, or the end
        of the connection, is a hang-up."""
        result: list[Decision] = []
        wake_r, wake_w = os.pipe()

        def worker() -> None:
            try:
                result.append(self.decide(ask))
            except Exception:  # noqa: BLE001 - a failing dialog is a no, and the service goes on
                log.exception("consent: asking the user about request %s failed", ask.id)
            finally:
                os.close(wake_w)  # wakes the watcher below (end of file on wake_r)

        threading.Thread(target=worker, name=f"consent-decide-{ask.id[:8]}", daemon=True).start()
        try:
            while True:
                wait = ask.deadline - time.monotonic()
                if wait <= 0:
                    ask.cancelled.set()
                    return Decision(False, reason="no answer in time"), "agent"
                readable, _, _ = select.select([wake_r, conn.sock.fileno()], [], [], wait)
                if wake_r in readable:
                    if not result:
                        return Decision(False, reason="the question could not be shown"), "error"
                    decision = result[0]
                    if not isinstance(decision, Decision):
                        log.error("consent: decide returned %r, not a Decision", type(decision).__name__)
                        return Decision(False, reason="the question could not be shown"), "error"
                    return decision, "user"
                if conn.sock.fileno() in readable:
                    ask.cancelled.set()
                    why = self._withdrawal(ask, reader)
                    if why is not None:
                        return Decision(False, reason=f"withdrawn by the agent: {why}"), "agent"
                    # any other message before the decision is a broken agent: treated as a hang-up
                    return Decision(False, reason="the agent stopped waiting"), "agent"
        finally:
            os.close(wake_r)  # a worker still running (a dialog closing) then closes wake_w harmlessly

    def _withdrawal(self, ask: ConsentAsk, reader: LineReader) -> str | None:
        """The reason of the agent's ``consent.withdraw`` of ``ask``, if that is what it sent (None: not)."""
        try:
            raw = reader.read(time.monotonic() + 1.0)
            message = None if raw is None else validate(raw, {"consent.withdraw"})
        except (TimeoutError, MessageError, OSError) as exc:
            log.info("consent request %s: the agent spoke before the decision: %s", ask.id, exc)
            return None
        if message is None or message["id"] != ask.id:
            return None
        return str(message["reason"]) or "no reason given"

    def _session(self, ask: ConsentAsk, duration: int, conn: _Connection, reader: LineReader) -> None:
        try:
            raw = reader.read(time.monotonic() + self.start_wait)
            started = None if raw is None else validate(raw, FROM_AGENT)
        except TimeoutError:
            started = None
        except MessageError as exc:
            self._refuse(conn, f"malformed session message: {exc}", tell=False)
            return
        if started is None or started["type"] != "session.started" or started["grant"] != ask.id:
            self._record({"event": "session.not_started", "grant": ask.id, "engineer": ask.engineer,
                          "reason": "the agent did not confirm the session (it may have stopped waiting)"})
            return
        expires = min(started["expires"], time.time() + duration + 5)
        grant = ActiveGrant(ask.id, ask, expires, time.time(), duration)
        with self._lock:
            self._active[ask.id] = (grant, conn)
        self._record({"event": "session.started", "grant": ask.id, "engineer": ask.engineer,
                      "fingerprint": ask.fingerprint, "peer": ask.peer, "ticket": ask.ticket,
                      "commands": list(ask.commands), "expires": round(expires, 3)})
        ended = "the agent closed the connection"
        try:
            while True:
                try:
                    raw = reader.read(time.monotonic() + max(0.0, expires + END_GRACE - time.time()))
                except TimeoutError:
                    ended = "expired (the agent did not say so)"
                    break
                except OSError:
                    break
                if raw is None:
                    if conn.revoke_reason:
                        ended = f"revoked: {conn.revoke_reason}"
                    break
                message = expect(raw, SESSION_FROM_AGENT, ask.id)
                if message["type"] == "session.command":
                    grant.commands_run += 1
                    self._record({"event": "session.command", "grant": ask.id, "engineer": ask.engineer,
                                  "command": message["command"], "exit": message["exit"],
                                  "duration_ms": message["duration_ms"]})
                elif message["type"] == "session.ended":
                    ended = message["reason"] or "ended by the agent"
                    break
                else:  # consent.revoked
                    conn.revoke_acknowledged.set()
                    ended = f"revoked: {conn.revoke_reason or 'by the user'}"
                    break
        except MessageError as exc:
            self._refuse(conn, f"malformed session message: {exc}", tell=False)
            ended = "closed: the agent sent a malformed message"
        finally:
            with self._lock:
                self._active.pop(ask.id, None)
            self._record({"event": "session.ended", "grant": ask.id, "engineer": ask.engineer,
                          "reason": ended, "commands_run": grant.commands_run})


def _prepare_folder(folder: Path) -> None:
    """Make ``folder`` (0700), or check an existing one is this user's and closed to others."""
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        st = folder.lstat()
    except OSError as exc:
        raise ConsentChannelError(f"{folder}: cannot make the consent socket's folder: {exc.strerror or exc}") from exc
    if not stat.S_ISDIR(st.st_mode):
        raise ConsentChannelError(f"{folder}: is not a folder")
    if st.st_uid != os.geteuid():
        raise ConsentChannelError(f"{folder}: owned by uid {st.st_uid}, not by this user; not listening there")
    if st.st_mode & 0o077:
        os.chmod(folder, 0o700)


# ----------------------------------------------------------------------------- terminal responder

def duration_words(seconds: int) -> str:
    """``1800`` -> ``30 minutes``; ``5400`` -> ``1 hour 30 minutes``; ``45`` -> ``45 seconds``."""
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    hours, rest = divmod(seconds, 3600)
    minutes = round(rest / 60)
    if minutes == 60:
        hours, minutes = hours + 1, 0
    parts = []
    if hours:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    if minutes:
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    return " ".join(parts)


def question(ask: ConsentAsk) -> str:
    """The question put to the user, in one line."""
    ticket = f" — for ticket {ask.ticket}" if ask.ticket else ""
    return (f"Engineer {ask.engineer} (key {ask.fingerprint}) from {ask.peer} asks to run: "
            f"{', '.join(ask.commands)}{ticket} — for {duration_words(ask.duration_seconds)}.")


class TerminalPrompt:
    """``decide`` for a terminal: asks ``Allow? [y/N]`` and waits at most ``timeout`` seconds (no answer: no).

    Answers: ``y`` or ``yes`` allows for the time asked, ``y 10m`` allows for less; anything else,
    end of input or silence refuses. One question at a time: a second request waits its turn, within its
    own deadline.
    """

    def __init__(self, stdin: TextIO, stdout: TextIO, timeout: float = 60.0) -> None:
        self.stdin = stdin
        self.stdout = stdout
        self.timeout = timeout
        self._turn = threading.Lock()
        self.print_lock = threading.Lock()

    def say(self, text: str) -> None:
        with self.print_lock:
            self.stdout.write(text)
            self.stdout.flush()

    def __call__(self, ask: ConsentAsk) -> Decision:
        wait = min(self.timeout, ask.remaining())
        start = time.monotonic()
        if wait <= 0 or not self._turn.acquire(timeout=wait):
            return Decision(False, reason="another question was waiting on the terminal")
        try:
            wait -= time.monotonic() - start
            self.say(f"\n{question(ask)} Allow? [y/N] ")
            line = self._read_line(time.monotonic() + wait, ask.cancelled)
            if line is None:
                self.say(f"\nNo answer within {max(wait, 0):.0f} seconds: refused.\n")
                return Decision(False, reason="no answer on the terminal in time")
            words = line.strip().lower().split()
            if not words or words[0] not in ("y", "yes"):
                self.say("Refused.\n")
                return Decision(False, reason="declined on the terminal")
            duration = None
            if len(words) > 1:
                try:
                    duration = parse_duration(words[1])
                except DesklineError:
                    self.say(f"Not a duration: {words[1]!r} (use 10m or 1h). Refused.\n")
                    return Decision(False, reason="declined on the terminal")
            allowed = min(duration or ask.duration_seconds, ask.duration_seconds)
            self.say(f"Allowed for {duration_words(allowed)}.\n")
            return Decision(True, allowed)
        finally:
            self._turn.release()

    def _read_line(self, deadline: float, cancelled: threading.Event) -> str | None:
        """One line from stdin before ``deadline``; None on silence, cancellation or end of input."""
        fd = self.stdin.fileno()
        data = bytearray()
        while b"\n" not in data and len(data) < 1024:
            wait = deadline - time.monotonic()
            if wait <= 0 or cancelled.is_set():
                return None
            readable, _, _ = select.select([fd], [], [], min(wait, 0.5))
            if not readable:
                continue
            chunk = os.read(fd, 1024 - len(data))
            if not chunk:
                return None
            data += chunk
        return data.split(b"\n", 1)[0].decode("utf-8", errors="replace")


def _print_event(prompt: TerminalPrompt) -> OnEvent:
    def on_event(event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "session.started":
            until = time.strftime("%H:%M", time.localtime(event["expires"]))
            prompt.say(f"Session of {event['engineer']} started; it ends at {until} (Ctrl-C ends it now).\n")
        elif kind == "session.command":
            prompt.say(f"  {event['engineer']} ran: {event['command']} (exit {event['exit']}, "
                       f"{event['duration_ms']:.0f} ms)\n")
        elif kind == "session.ended":
            prompt.say(f"Session of {event['engineer']} ended: {event['reason']}.\n")
        elif kind == "session.notify":
            until = time.strftime("%H:%M", time.localtime(event["expires"]))
            ticket = f" for ticket {event['ticket']}" if event["ticket"] else ""
            prompt.say(f"Notice: {event['engineer']} (key {event['fingerprint']}) from {event['peer']} may run "
                       f"diagnostics{ticket} until {until} without asking, as IT's policy allows.\n")
        elif kind == "channel.refused":
            prompt.say(f"Refused a connection: {event['reason']}\n")
    return on_event


def run_terminal(socket_path: str | None, timeout: float, stdin: TextIO, stdout: TextIO,
                 stop: threading.Event | None = None, ledger: Ledger | None = None) -> int:
    """``deskline consent``: answer consent requests on the terminal until Ctrl-C (or ``stop``)."""
    prompt = TerminalPrompt(stdin, stdout, timeout)
    service = ConsentService(socket_path, prompt, _print_event(prompt), ledger=ledger)
    service.start()
    prompt.say(f"Answering remote diagnostics requests on {service.socket_path} "
               f"(unanswered after {timeout:g} s: refused). Ctrl-C to stop.\n")
    try:
        (stop or threading.Event()).wait()
    except KeyboardInterrupt:
        prompt.say("\nStopping; active sessions are ended.\n")
    finally:
        service.stop("the user stopped deskline consent")
    return 0


def cmd_consent(args: Any, out: TextIO, err: TextIO, stdin: TextIO) -> int:
    """Entry of ``deskline consent`` from desktop.cli."""
    if sys.platform == "win32":
        raise ConsentChannelError("deskline consent: the named pipe channel is not available on Windows yet")
    if args.timeout <= 0:
        raise ConsentChannelError("--timeout must be more than 0 seconds")
    return run_terminal(args.socket, args.timeout, stdin, out)
