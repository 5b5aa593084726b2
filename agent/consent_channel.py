"""The local consent channel: how the agent asks the signed-in user's desktop app, and hears "End now".

Who listens, who connects
-------------------------
The **desktop app listens** (``desktop.consent_service.ConsentService``, or the terminal responder
``deskline consent``); the **agent connects**, one connection per consent request, and keeps that
connection open for the whole session it was granted. The open connection *is* the session:

* the agent sends the request, the app answers with a decision on the same connection;
* if the engineer leaves (their SSH connection, or the command's channel, closes) before the user has
  answered, the agent *withdraws* the question: it sends ``consent.withdraw`` and closes the connection;
  the app closes the dialog and records the request as withdrawn. (An app older than this message
  takes any data before its decision for a hang-up and closes the dialog too.)
* after a yes the agent sends ``session.started``, one ``session.command`` per command run and
  ``session.ended``; the app shows the active-session banner and writes its ledger from them;
* the app's End now button sends ``consent.revoke``; the agent marks the grant revoked *before* it
  answers ``consent.revoked``, so once the app has the acknowledgement no further command runs;
* if the connection drops (the app quits or crashes, the user logs out), the agent treats the grant as
  revoked: without a listener there is no one who could press End now, so there is no consent either.

A session that IT's policy lets run **unattended** (``agent.unattended``, per engineer key) asks nobody:
the agent connects, sends one ``session.notify`` and closes, without reading anything back, so a slow
or absent app never holds up the command. The app records the notice in its ledger and shows it; it
sends nothing (an app older than this message refuses it as unknown, which the agent does not wait for).
An app that is not running cannot be told: the agent's audit log records whether the notice was
delivered.

Why this direction: the app belongs to one user and lives in that user's runtime folder, which the
agent (a system service, normally root) can reach and check; an agent that listened would have to
trust whatever local process connected to it first. Connecting per request also needs no reconnection
logic: if the app is not running, the request is simply refused.

Wire format
-----------
UTF-8 JSON objects, one per line (``\\n``), each at most :data:`MAX_LINE` bytes; every message carries
``"v": 1`` and a ``"type"``. Every field listed is required and no other field is allowed; strings are
printable (no control or bidi-format characters, so a name cannot repaint a terminal or a dialog) and
bounded. Anything else is refused and the connection is closed::

    agent -> app   {"v":1, "type":"consent.request", "id":"<16-64 of [A-Za-z0-9_-]>",
                    "engineer":"Ann Smith", "fingerprint":"SHA256:...", "peer":"192.0.2.7:50122",
                    "ticket":"DL-000123" or "",
                    "commands":["probes", "probe", "report", "check", "logs"],
                    "duration_seconds":1800, "timeout_seconds":60}
    app -> agent   {"v":1, "type":"consent.decision", "id":"<same id>", "allow":true,
                    "duration_seconds":900, "reason":""}      (duration: at most the one asked for)
    app -> agent   {"v":1, "type":"consent.error", "reason":"..."}   (request refused as malformed)
    agent -> app   {"v":1, "type":"consent.withdraw", "id":"<same id>", "reason":"the engineer left"}
                   (instead of waiting for the decision; the agent then closes the connection)
    agent -> app   {"v":1, "type":"session.started", "grant":"<id>", "expires":1735689600.0}
    agent -> app   {"v":1, "type":"session.command", "grant":"<id>", "command":"probe cpu",
                    "exit":0, "duration_ms":12.5, "time":1735689000.0}
    agent -> app   {"v":1, "type":"session.ended", "grant":"<id>", "reason":"expired"}
    app -> agent   {"v":1, "type":"consent.revoke", "grant":"<id>", "reason":"the user ended the session"}
    agent -> app   {"v":1, "type":"consent.revoked", "grant":"<id>"}
    agent -> app   {"v":1, "type":"session.notify", "id":"<new id>", "engineer":"Ann Smith",
                    "fingerprint":"SHA256:...", "peer":"192.0.2.7:50122", "ticket":"DL-000123" or "",
                    "commands":["probe", "report", ...], "expires":1735689600.0, "how":"policy:unattended"}
                   (alone on its connection; no answer)

The grant id is the request id. ``timeout_seconds`` tells the app how long the agent waits, so a
dialog can count down and close itself; a decision that arrives later is ignored (the agent has
already refused and closed the connection, and never sends ``session.started``).

Where the socket is, and who may use it
---------------------------------------
* Linux and other Unix: ``$XDG_RUNTIME_DIR/deskline/consent.sock``; without ``XDG_RUNTIME_DIR``,
  ``run/consent.sock`` in the user's data folder (platformdirs). The folder is made 0700 and the
  socket 0600, so the file system already keeps other users out.
* macOS: ``run/consent.sock`` in ``~/Library/Application Support/deskline``.
* Windows: a named pipe is **not implemented**. ``multiprocessing.connection`` can listen on
  ``AF_PIPE``, but its pipes get a default security descriptor that lets other accounts open them, and
  restricting that needs ``win32security``; until then the agent on Windows has no desktop gate and
  refuses (or uses IT's unattended policy).

The app checks the peer of every connection (``SO_PEERCRED`` on Linux, ``LOCAL_PEERCRED`` on macOS):
only root (the agent installed as a system service) or the app's own user (an agent started by the
user, and the tests) may ask. An agent running as a dedicated service account is accepted only when
the app is told that account's uid (``allowed_uids``), and it must be given a socket path it can reach:
the user's runtime folder is 0700. Running the agent as root is the supported default.

The agent checks the other direction: the process that accepted its connection must run as the uid
that owns the user's runtime folder (or the socket, for an explicit path). A user can therefore only
ever answer for their own session, and a symlink or a stale socket swapped in by someone else is
refused.

Which user is asked (agent as root)
-----------------------------------
:func:`locate_app_socket` lists ``/run/user/<uid>/deskline/consent.sock`` (only where the folder
``/run/user/<uid>`` is owned by that uid, and the path is a socket) plus, for users with a login
session, the data-folder fallback. It ranks them by systemd-logind's session files in
``/run/systemd/sessions``: a user with an active graphical session (x11, wayland, mir) first, then a
user with any active or online session, then the rest. The best-ranked user is asked; if two users tie
at the top (two people at one machine?), nobody is asked and the request is refused with that reason.
On macOS the console user (the owner of ``/dev/console``) is asked. An agent that does not run as root
asks the app of its own user.
"""

from __future__ import annotations

import errno
import json
import logging
import math
import os
import re
import secrets
import select
import socket
import stat
import struct
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.consent import ConsentGate, ConsentRequest, Denial, DenyAll, Grant
from desktop.errors import DesklineError

log = logging.getLogger("deskline.agent")

WIRE_VERSION = 1
#: The longest message accepted on the channel, in bytes, newline included.
MAX_LINE = 16 * 1024
#: At most this many commands listed in one request.
MAX_COMMANDS = 32
#: The longest grant the channel carries (one day); the user or policy may give less.
MAX_DURATION = 86400
SOCKET_FOLDER = "deskline"
SOCKET_NAME = "consent.sock"
#: How long the agent waits to connect to the app's socket.
CONNECT_TIMEOUT = 2.0
#: How long a single write on the channel may block before the peer counts as gone.
WRITE_TIMEOUT = 2.0
GRAPHICAL_SESSION_TYPES = frozenset({"x11", "wayland", "mir"})

_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_HOW = re.compile(r"^[a-z]+(:[a-z0-9_-]+)?$")
_FINGERPRINT = re.compile(r"^(SHA256:[A-Za-z0-9+/]{43}=?|MD5(:[0-9a-f]{2}){16})$")


class ConsentChannelError(DesklineError):
    """The local consent channel cannot be used (no socket, wrong owner, bad path); the message says which."""


class MessageError(ConsentChannelError):
    """A message on the consent channel is malformed: not JSON, too long, a wrong or missing field."""


class ConsentUnavailable(ConsentChannelError):
    """There is no desktop app to ask (not running, no user signed in, several users and none at the screen)."""


# ---------------------------------------------------------------------------------------- messages

def encode_message(message: Mapping[str, Any]) -> bytes:
    """One message as the bytes written to the socket: compact JSON and a newline."""
    data = (json.dumps({"v": WIRE_VERSION, **message}, ensure_ascii=False, separators=(",", ":")) + "\n")
    raw = data.encode("utf-8")
    if len(raw) > MAX_LINE:
        raise MessageError(f"{message.get('type', 'message')}: {len(raw)} bytes, more than {MAX_LINE}")
    return raw


def _text(msg: Mapping[str, Any], key: str, max_len: int, *, empty: bool = False,
          pattern: re.Pattern[str] | None = None) -> str:
    value = msg.get(key)
    if not isinstance(value, str):
        raise MessageError(f"{msg.get('type')}: field {key!r} must be text")
    if not value and not empty:
        raise MessageError(f"{msg.get('type')}: field {key!r} is empty")
    if len(value) > max_len:
        raise MessageError(f"{msg.get('type')}: field {key!r} longer than {max_len} characters")
    if not value.isprintable():
        raise MessageError(f"{msg.get('type')}: field {key!r} contains control or formatting characters")
    if pattern is not None and value and not pattern.match(value):
        raise MessageError(f"{msg.get('type')}: field {key!r} is not in the expected form")
    return value


def _integer(msg: Mapping[str, Any], key: str, low: int, high: int) -> int:
    value = msg.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise MessageError(f"{msg.get('type')}: field {key!r} must be a whole number from {low} to {high}")
    return value


def _number(msg: Mapping[str, Any], key: str, low: float, high: float) -> float:
    value = msg.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or not low <= value <= high:
        raise MessageError(f"{msg.get('type')}: field {key!r} must be a number from {low:g} to {high:g}")
    return float(value)


_FIELDS: dict[str, frozenset[str]] = {
    "consent.request": frozenset({"id", "engineer", "fingerprint", "peer", "ticket", "commands",
                                  "duration_seconds", "timeout_seconds"}),
    "consent.decision": frozenset({"id", "allow", "duration_seconds", "reason"}),
    "consent.error": frozenset({"reason"}),
    "consent.withdraw": frozenset({"id", "reason"}),
    "session.started": frozenset({"grant", "expires"}),
    "session.command": frozenset({"grant", "command", "exit", "duration_ms", "time"}),
    "session.ended": frozenset({"grant", "reason"}),
    "consent.revoke": frozenset({"grant", "reason"}),
    "consent.revoked": frozenset({"grant"}),
    "session.notify": frozenset({"id", "engineer", "fingerprint", "peer", "ticket", "commands", "expires", "how"}),
}
#: Which side may send which message (the receiving side refuses the others).
FROM_AGENT = frozenset({"consent.request", "consent.withdraw", "session.started", "session.command", "session.ended",
                        "consent.revoked", "session.notify"})
FROM_APP = frozenset({"consent.decision", "consent.error", "consent.revoke"})


def validate(message: Any, allowed: Iterable[str]) -> dict[str, Any]:
    """Check one decoded message strictly; returns it, or raises MessageError saying what is wrong."""
    if not isinstance(message, dict):
        raise MessageError("a message must be a JSON object")
    if message.get("v") != WIRE_VERSION:
        raise MessageError(f"unsupported channel version {message.get('v')!r} (this side speaks {WIRE_VERSION})")
    kind = message.get("type")
    if not isinstance(kind, str) or kind not in _FIELDS:
        shown = kind[:40] if isinstance(kind, str) else kind
        raise MessageError(f"unknown message type {shown!r}")
    if kind not in allowed:
        raise MessageError(f"message type {kind!r} is not expected from this side")
    fields = set(message) - {"v", "type"}
    missing, extra = _FIELDS[kind] - fields, fields - _FIELDS[kind]
    if missing:
        raise MessageError(f"{kind}: missing field(s) {', '.join(sorted(missing))}")
    if extra:
        raise MessageError(f"{kind}: unexpected field(s) {', '.join(sorted(str(e)[:40] for e in extra))}")
    if kind in ("consent.request", "session.notify"):
        _text(message, "id", 64, pattern=_ID)
        _text(message, "engineer", 128)
        _text(message, "fingerprint", 100, pattern=_FINGERPRINT)
        _text(message, "peer", 256)
        _text(message, "ticket", 64, empty=True)
        commands = message["commands"]
        if not isinstance(commands, list) or not 1 <= len(commands) <= MAX_COMMANDS:
            raise MessageError(f"{kind}: field 'commands' must be a list of 1 to {MAX_COMMANDS} commands")
        for i in range(len(commands)):
            _text({"type": kind, f"commands[{i}]": commands[i]}, f"commands[{i}]", 512)
    if kind == "consent.request":
        _integer(message, "duration_seconds", 1, MAX_DURATION)
        _integer(message, "timeout_seconds", 1, 3600)
    elif kind == "session.notify":
        _number(message, "expires", 0, 1e11)
        _text(message, "how", 64, pattern=_HOW)
    elif kind == "consent.decision":
        _text(message, "id", 64, pattern=_ID)
        if not isinstance(message["allow"], bool):
            raise MessageError(f"{kind}: field 'allow' must be true or false")
        _integer(message, "duration_seconds", 0, MAX_DURATION)
        _text(message, "reason", 500, empty=True)
    elif kind in ("consent.error", "session.ended", "consent.revoke"):
        _text(message, "reason", 500, empty=True)
    elif kind == "consent.withdraw":
        _text(message, "id", 64, pattern=_ID)
        _text(message, "reason", 500, empty=True)
    if "grant" in _FIELDS[kind]:
        _text(message, "grant", 64, pattern=_ID)
    if kind == "session.started":
        _number(message, "expires", 0, 1e11)
    elif kind == "session.command":
        _text(message, "command", 512)
        _integer(message, "exit", 0, 255)
        _number(message, "duration_ms", 0, 1e9)
        _number(message, "time", 0, 1e11)
    return message


def expect(message: Any, types: Iterable[str], grant: str) -> dict[str, Any]:
    """A session message: valid, of one of ``types``, and about ``grant``; else MessageError."""
    types = frozenset(types)
    checked = validate(message, types)
    if checked.get("grant") != grant:
        raise MessageError(f"{checked['type']} names another grant")
    return checked


class LineReader:
    """Bounded reads of newline-terminated messages from a stream socket, with deadlines.

    ``read`` returns the next decoded message (not yet validated), ``None`` at end of stream, and raises
    :class:`MessageError` for a line longer than ``max_line`` or one that is not JSON, and
    ``TimeoutError`` when the deadline (``time.monotonic()`` seconds) passes first.
    """

    def __init__(self, sock: socket.socket, max_line: int = MAX_LINE) -> None:
        self.sock = sock
        self.max_line = max_line
        self._buffer = bytearray()
        self._eof = False

    def read(self, deadline: float | None) -> Any:
        while True:
            newline = self._buffer.find(b"\n")
            if newline >= 0:
                if newline + 1 > self.max_line:
                    raise MessageError(f"message longer than {self.max_line} bytes")
                line = bytes(self._buffer[:newline])
                del self._buffer[:newline + 1]
                try:
                    return json.loads(line.decode("utf-8"))
                except (UnicodeDecodeError, ValueError) as exc:
                    raise MessageError(f"message is not JSON: {exc}") from exc
            if len(self._buffer) >= self.max_line:
                raise MessageError(f"message longer than {self.max_line} bytes")
            if self._eof:
                if self._buffer:
                    raise MessageError("connection closed in the middle of a message")
                return None
            wait = None if deadline is None else deadline - time.monotonic()
            if wait is not None and wait <= 0:
                raise TimeoutError("no message in time")
            readable, _, _ = select.select([self.sock], [], [], wait)
            if not readable:
                continue
            try:
                chunk = self.sock.recv(self.max_line + 1 - len(self._buffer), socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                continue
            except (ConnectionResetError, BrokenPipeError):
                chunk = b""
            if not chunk:
                self._eof = True
            self._buffer += chunk


def new_id() -> str:
    """A fresh request (and grant) id: 22 random URL-safe characters."""
    return secrets.token_urlsafe(16)


# ------------------------------------------------------------------------------- peer credentials

@dataclass(frozen=True)
class PeerCredentials:
    """The process at the other end of a Unix socket (``pid`` is 0 where the platform does not say)."""

    pid: int
    uid: int
    gid: int


def peer_credentials(sock: socket.socket) -> PeerCredentials | None:
    """Who is at the other end of ``sock``: Linux ``SO_PEERCRED``, macOS ``LOCAL_PEERCRED``; None elsewhere."""
    if sys.platform.startswith("linux"):
        so_peercred = getattr(socket, "SO_PEERCRED", 17)
        raw = sock.getsockopt(socket.SOL_SOCKET, so_peercred, struct.calcsize("3i"))
        pid, uid, gid = struct.unpack("3i", raw)
        return PeerCredentials(pid, uid, gid)
    if sys.platform == "darwin":  # pragma: no cover - not exercised on the Linux test machines
        # struct xucred { u_int cr_version; uid_t cr_uid; short cr_ngroups; gid_t cr_groups[16]; }
        sol_local, local_peercred = 0, 1
        raw = sock.getsockopt(sol_local, local_peercred, 76)
        _version, uid, _ngroups, gid = struct.unpack_from("IIh2xI", raw)
        return PeerCredentials(0, uid, gid)
    return None


# ------------------------------------------------------------------------------------ where it is

def app_socket_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where this user's app listens (see the module docstring)."""
    env = os.environ if environ is None else environ
    runtime = env.get("XDG_RUNTIME_DIR", "")
    if runtime and sys.platform not in ("darwin", "win32") and Path(runtime).is_dir():
        return Path(runtime) / SOCKET_FOLDER / SOCKET_NAME
    from platformdirs import user_data_path

    return user_data_path("deskline", appauthor=False) / "run" / SOCKET_NAME


@dataclass(frozen=True)
class AppSocket:
    """A located app socket and the uid whose app must be listening on it."""

    path: Path
    uid: int


def _sessions(sessions_dir: Path) -> dict[int, int]:
    """uid -> rank from systemd-logind's session files: 2 active graphical, 1 active or online, 0 other."""
    ranks: dict[int, int] = {}
    try:
        entries = list(sessions_dir.iterdir())
    except OSError:
        return ranks
    for entry in entries:
        if entry.name.endswith(".ref"):
            continue
        try:
            text = entry.read_text(encoding="utf-8", errors="replace")[:16384]
        except OSError:
            continue
        values = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
        try:
            uid = int(values.get("UID", ""))
        except ValueError:
            continue
        active = values.get("ACTIVE") == "1" or values.get("STATE") == "active"
        rank = 0
        if active and values.get("TYPE", "") in GRAPHICAL_SESSION_TYPES and values.get("CLASS", "user") == "user":
            rank = 2
        elif active or values.get("STATE") == "online":
            rank = 1
        ranks[uid] = max(rank, ranks.get(uid, 0))
    return ranks


def _is_socket(path: Path) -> os.stat_result | None:
    try:
        st = path.lstat()
    except OSError:
        return None
    return st if stat.S_ISSOCK(st.st_mode) else None


def locate_app_socket(
    *,
    runtime_root: Path = Path("/run/user"),
    sessions_dir: Path = Path("/run/systemd/sessions"),
    euid: int | None = None,
) -> AppSocket:
    """The socket of the app to ask, and its user (see the module docstring). Raises ConsentUnavailable."""
    me = os.geteuid() if euid is None else euid
    if me != 0:
        path = app_socket_path()
        if _is_socket(path) is None:
            raise ConsentUnavailable(f"the Deskline app is not running (no consent socket at {path})")
        return AppSocket(path, me)
    if sys.platform == "darwin":  # pragma: no cover - not exercised on the Linux test machines
        import pwd

        uid = os.stat("/dev/console").st_uid
        if uid == 0:
            raise ConsentUnavailable("no one is signed in at this Mac's screen")
        home = Path(pwd.getpwuid(uid).pw_dir)
        path = home / "Library" / "Application Support" / "deskline" / "run" / SOCKET_NAME
        if _is_socket(path) is None:
            raise ConsentUnavailable(f"the Deskline app of the signed-in user (uid {uid}) is not running")
        return AppSocket(path, uid)
    ranks = _sessions(sessions_dir)
    candidates: dict[int, Path] = {}
    try:
        folders = [f for f in runtime_root.iterdir() if f.name.isdigit()]
    except OSError:
        folders = []
    for folder in folders:
        uid = int(folder.name)
        try:
            owner = folder.lstat().st_uid
        except OSError:
            continue
        path = folder / SOCKET_FOLDER / SOCKET_NAME
        if owner == uid and _is_socket(path) is not None:
            candidates[uid] = path
    for uid in ranks:
        if uid not in candidates:
            fallback = _data_folder_socket(uid)
            if fallback is not None:
                candidates[uid] = fallback
    if not candidates:
        signed_in = sorted(u for u, r in ranks.items() if r > 0)
        who = f" (signed in: uid {', '.join(map(str, signed_in))})" if signed_in else ""
        raise ConsentUnavailable(f"no signed-in user is running the Deskline app{who}")
    best = max(ranks.get(uid, 0) for uid in candidates)
    top = sorted(uid for uid in candidates if ranks.get(uid, 0) == best)
    at_screen = [u for u, r in ranks.items() if r == 2]
    if at_screen and best < 2:
        raise ConsentUnavailable(
            f"the user at the screen (uid {', '.join(map(str, sorted(at_screen)))}) is not running the Deskline app")
    if len(top) > 1:
        raise ConsentUnavailable(
            f"several users run the Deskline app (uid {', '.join(map(str, top))}) and none is clearly at the screen")
    return AppSocket(candidates[top[0]], top[0])


def _data_folder_socket(uid: int) -> Path | None:
    """The data-folder fallback socket of a user who runs without XDG_RUNTIME_DIR (Linux: ~/.local/share)."""
    import pwd

    try:
        home = Path(pwd.getpwuid(uid).pw_dir)
    except KeyError:
        return None
    path = home / ".local" / "share" / "deskline" / "run" / SOCKET_NAME
    st = _is_socket(path)
    return path if st is not None and st.st_uid == uid else None


def connect(target: AppSocket, timeout: float = CONNECT_TIMEOUT) -> socket.socket:
    """A connection to the app at ``target``, after checking that its user is the one listening.

    Raises ConsentUnavailable (nothing listens: the app is not running) or ConsentChannelError.
    """
    st = _is_socket(target.path)
    if st is None:
        raise ConsentUnavailable(f"the Deskline app is not running (no consent socket at {target.path})")
    if st.st_uid != target.uid:
        raise ConsentChannelError(f"{target.path}: owned by uid {st.st_uid}, not by uid {target.uid}; not asking")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(timeout)
        try:
            sock.connect(str(target.path))
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            raise ConsentUnavailable(f"the Deskline app is not running (nothing answers at {target.path})") from exc
        except (TimeoutError, BlockingIOError) as exc:
            raise ConsentUnavailable(f"the Deskline app did not accept the connection at {target.path} "
                                     f"within {timeout:g} s") from exc
        except OSError as exc:
            raise ConsentChannelError(f"{target.path}: cannot connect: {exc.strerror or exc}") from exc
        creds = peer_credentials(sock)
        sock.settimeout(WRITE_TIMEOUT)
    except BaseException:
        sock.close()
        raise
    if creds is not None and creds.uid != target.uid:
        sock.close()
        raise ConsentChannelError(f"{target.path}: answered by uid {creds.uid}, not by its owner uid "
                                  f"{target.uid}; not asking")
    return sock


# -------------------------------------------------------------------------------- the agent's gate

class _Session:
    """One granted session: the open connection to the app, and whether it has ended."""

    def __init__(self, grant_id: str, sock: socket.socket, reader: LineReader, expires: float) -> None:
        self.grant_id = grant_id
        self.sock = sock
        self.reader = reader
        self.expires = expires
        self.revoked = threading.Event()
        self.why = ""
        self._send_lock = threading.Lock()
        self._closed = False

    def send(self, message: Mapping[str, Any]) -> bool:
        """Write one message; False (and the session revoked) when the app is gone."""
        with self._send_lock:
            if self._closed:
                return False
            try:
                self.sock.sendall(encode_message(message))
                return True
            except OSError as exc:
                self.end_locally(f"the connection to the desktop app failed ({exc.strerror or exc})")
                return False

    def end_locally(self, why: str) -> None:
        if not self.revoked.is_set():
            self.why = why
            self.revoked.set()

    def close(self) -> None:
        with self._send_lock:
            if self._closed:
                return
            self._closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already closed by the other side
        self.sock.close()


class _Pending:
    """A question on its way to the user, which :meth:`DesktopGate.withdraw` can take back."""

    def __init__(self, request_id: str) -> None:
        self.request_id = request_id
        self.lock = threading.Lock()
        self.sock: socket.socket | None = None  # set once connected and the request is sent
        self.withdrawn: str = ""  # why, once withdrawn
        self.settled = False  # the answer is in (or the ask gave up): too late to withdraw


class DesktopGate:
    """The :class:`agent.consent.ConsentGate` that asks the signed-in user's desktop app.

    ``socket_path`` names the app's socket explicitly (its owner must be the app's user); without it,
    :func:`locate_app_socket` finds the user. Beyond the gate protocol, the server tells the app what
    happens in a granted session with :meth:`command_ran` and :meth:`ended` (the ledger and the banner),
    and takes back a question the engineer no longer waits for with :meth:`withdraw`. A grant is also
    revoked when it expires: the session's connection is then closed.
    """

    def __init__(self, socket_path: str | os.PathLike[str] | None = None, *,
                 connect_timeout: float = CONNECT_TIMEOUT) -> None:
        self.socket_path = Path(socket_path) if socket_path is not None else None
        self.connect_timeout = connect_timeout
        self._sessions: dict[Grant, _Session] = {}
        self._pending: dict[int, _Pending] = {}  # id() of the ConsentRequest being asked about
        self._lock = threading.Lock()

    def _target(self) -> AppSocket:
        if self.socket_path is None:
            return locate_app_socket()
        st = _is_socket(self.socket_path)
        if st is None:
            raise ConsentUnavailable(f"the Deskline app is not running (no consent socket at {self.socket_path})")
        return AppSocket(self.socket_path, st.st_uid)

    def ask(self, request: ConsentRequest, timeout: float) -> Grant | Denial:
        """Ask the app; a Grant only on an explicit yes within ``timeout`` seconds, else a Denial saying why
        (``"withdrawn: ..."`` after :meth:`withdraw`)."""
        pending = _Pending(new_id())
        with self._lock:
            self._pending[id(request)] = pending
        try:
            return self._ask(request, timeout, pending)
        finally:
            with self._lock:
                if self._pending.get(id(request)) is pending:
                    del self._pending[id(request)]

    def withdraw(self, request: ConsentRequest, reason: str) -> bool:
        """Take back the question about ``request`` that :meth:`ask` is waiting on (the engineer left):
        the app is sent ``consent.withdraw`` and the connection is closed, so the dialog closes and
        ``ask`` returns a Denial at once. False when there is nothing to take back (no such question, or
        its answer is already in: a yes then comes back from ``ask`` as a Grant, for the caller to end)."""
        with self._lock:
            pending = self._pending.get(id(request))
        if pending is None:
            return False
        with pending.lock:
            if pending.settled or pending.withdrawn:
                return False
            pending.withdrawn = reason or "withdrawn"
            sock = pending.sock
            if sock is not None:
                try:
                    sock.sendall(encode_message({"type": "consent.withdraw", "id": pending.request_id,
                                                 "reason": reason[:500]}))
                except OSError as exc:
                    log.info("consent request %s: the withdrawal did not reach the app: %s", pending.request_id, exc)
                try:
                    sock.shutdown(socket.SHUT_RDWR)  # wakes ask() at once (end of stream)
                except OSError:
                    pass  # the app has closed its side already
        log.info("consent request %s withdrawn: %s", pending.request_id, reason)
        return True

    def _ask(self, request: ConsentRequest, timeout: float, pending: _Pending) -> Grant | Denial:
        deadline = time.monotonic() + timeout
        request_id = pending.request_id
        try:
            target = self._target()
            sock = connect(target, min(self.connect_timeout, max(timeout, 0.1)))
        except ConsentChannelError as exc:
            log.info("consent for %s (%s) from %s refused: %s", request.engineer, request.fingerprint,
                     request.peer, exc)
            return Denial(f"withdrawn: {pending.withdrawn}" if pending.withdrawn else str(exc))
        reader = LineReader(sock)
        try:
            message = encode_message({
                "type": "consent.request", "id": request_id, "engineer": request.engineer,
                "fingerprint": request.fingerprint, "peer": request.peer, "ticket": request.ticket,
                "commands": list(request.commands), "duration_seconds": int(request.duration_seconds),
                "timeout_seconds": max(1, math.ceil(timeout)),
            })
            with pending.lock:
                if pending.withdrawn:  # the engineer left while the app was being found: never ask
                    sock.close()
                    return Denial(f"withdrawn: {pending.withdrawn}")
                pending.sock = sock
                try:
                    sock.sendall(message)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the app refused before reading (too busy, not allowed): its reason may be waiting below
            raw = reader.read(deadline)
            with pending.lock:
                pending.settled = True
                withdrawn = pending.withdrawn
            if withdrawn:
                sock.close()
                return Denial(f"withdrawn: {withdrawn}")
            reply = None if raw is None else validate(raw, FROM_APP)
        except TimeoutError:
            sock.close()
            log.info("consent request %s: no answer from the desktop app within %g s", request_id, timeout)
            return Denial(f"the user did not answer within {timeout:g} seconds")
        except (MessageError, OSError) as exc:
            sock.close()
            with pending.lock:
                pending.settled = True
                why = pending.withdrawn
            if why:
                return Denial(f"withdrawn: {why}")
            if isinstance(exc, OSError):
                return Denial(f"the connection to the desktop app failed ({exc.strerror or exc})")
            log.warning("consent request %s: bad answer from the desktop app at %s: %s", request_id,
                        target.path, exc)
            return Denial(f"the desktop app's answer was malformed ({exc})")
        if reply is None:
            sock.close()
            return Denial("the desktop app closed the connection without answering")
        if reply["type"] == "consent.error":
            sock.close()
            return Denial(f"the desktop app refused the request: {reply['reason'] or 'no reason given'}")
        if reply["type"] != "consent.decision" or reply["id"] != request_id:
            sock.close()
            log.warning("consent request %s: the desktop app answered with %s for %s", request_id, reply["type"],
                        reply.get("id", reply.get("grant")))
            return Denial("the desktop app's answer was malformed (not the decision on this request)")
        if not reply["allow"]:
            sock.close()
            why = reply["reason"] or "no reason given"
            return Denial(f"the user declined: {why}", declined=True)
        duration = min(int(reply["duration_seconds"]), int(request.duration_seconds))
        if duration <= 0:
            sock.close()
            return Denial("the user allowed a session of zero seconds")
        expires = time.time() + duration
        grant = Grant(request, expires, "user", tuple(request.commands))
        session = _Session(request_id, sock, reader, expires)
        if not session.send({"type": "session.started", "grant": request_id, "expires": round(expires, 3)}):
            session.close()
            return Denial("the connection to the desktop app dropped right after the yes")
        with self._lock:
            self._sessions[grant] = session
        threading.Thread(target=self._watch, args=(grant, session), name=f"consent-{request_id[:8]}",
                         daemon=True).start()
        log.info("consent request %s: allowed by the user for %d s", request_id, duration)
        return grant

    def notify(self, grant: Grant) -> None:
        """Tell the app, without asking, that a session runs under IT's policy (``grant.how``): one
        ``session.notify`` on a connection of its own, closed at once; nothing is read back.

        Takes at most about ``connect_timeout`` plus :data:`WRITE_TIMEOUT` seconds (an app that does not
        accept or read); call it off any path that must not wait. Raises ConsentUnavailable (no app
        running) or ConsentChannelError (the notice could not be delivered).
        """
        request = grant.request
        message = encode_message({
            "type": "session.notify", "id": new_id(), "engineer": request.engineer,
            "fingerprint": request.fingerprint, "peer": request.peer, "ticket": request.ticket,
            "commands": list(grant.commands or request.commands)[:MAX_COMMANDS],
            "expires": round(grant.expires, 3), "how": grant.how,
        })
        target = self._target()
        sock = connect(target, self.connect_timeout)
        try:
            sock.sendall(message)
        except OSError as exc:
            raise ConsentChannelError(f"{target.path}: the notice could not be sent ({exc.strerror or exc})") from exc
        finally:
            sock.close()
        log.info("told the desktop app at %s of the unattended session of %s (%s)", target.path,
                 request.engineer, grant.how)

    def grant_id(self, grant: Grant) -> str:
        """The id the app knows this grant by ('' for a grant this gate did not make)."""
        with self._lock:
            session = self._sessions.get(grant)
        return session.grant_id if session else ""

    def revoked(self, grant: Grant) -> bool:
        """True once the app revoked the grant, its connection dropped, or it expired (or it is unknown here)."""
        with self._lock:
            session = self._sessions.get(grant)
        return session is None or session.revoked.is_set()

    def command_ran(self, grant: Grant, command: str, exit_code: int, duration_ms: float) -> None:
        """Tell the app that ``command`` ran under ``grant`` (for its ledger)."""
        with self._lock:
            session = self._sessions.get(grant)
        if session is None:
            return
        session.send({"type": "session.command", "grant": session.grant_id, "command": command[:512],
                      "exit": max(0, min(int(exit_code), 255)), "duration_ms": round(max(duration_ms, 0.0), 3),
                      "time": round(time.time(), 3)})

    def ended(self, grant: Grant, reason: str = "the engineer disconnected") -> None:
        """Tell the app that the session of ``grant`` is over, and close its connection."""
        with self._lock:
            session = self._sessions.pop(grant, None)
        if session is None:
            return
        session.send({"type": "session.ended", "grant": session.grant_id, "reason": reason[:500]})
        session.end_locally(reason)
        session.close()

    def close(self) -> None:
        """End every open session (the agent is stopping)."""
        with self._lock:
            grants = list(self._sessions)
        for grant in grants:
            self.ended(grant, "the agent stopped")

    def _watch(self, grant: Grant, session: _Session) -> None:
        """Read the app's messages for one session until revoke, drop, or expiry."""
        why = ""
        try:
            while not session.revoked.is_set():
                remaining = session.expires - time.time()
                if remaining <= 0:
                    why = "expired"
                    session.send({"type": "session.ended", "grant": session.grant_id, "reason": "expired"})
                    session.end_locally("the grant expired")
                    break
                try:
                    message = session.reader.read(time.monotonic() + min(remaining, 60.0))
                except TimeoutError:
                    continue
                if message is None:
                    session.end_locally("the desktop app closed the connection")
                    break
                message = expect(message, {"consent.revoke"}, session.grant_id)
                session.end_locally(f"revoked by the user: {message['reason'] or 'End now'}")
                session.send({"type": "consent.revoked", "grant": session.grant_id})
                why = "revoked"
                break
        except MessageError as exc:
            log.warning("consent session %s: bad message from the desktop app: %s", session.grant_id, exc)
            session.end_locally(f"the desktop app sent a malformed message ({exc})")
        except (OSError, ValueError) as exc:  # ValueError: select() on a socket ended() just closed
            if not session.revoked.is_set():
                session.end_locally(f"the connection to the desktop app failed ({exc})")
        finally:
            log.info("consent session %s over: %s", session.grant_id, session.why or why or "closed")
            with self._lock:
                if self._sessions.get(grant) is session:
                    del self._sessions[grant]  # an unknown grant counts as revoked
            session.close()


def default_gate() -> ConsentGate:
    """The gate of ``deskline-agent serve`` for keys no unattended policy covers: ask the user's app.

    ``DESKLINE_CONSENT_SOCKET`` in the agent's environment names the app's socket explicitly (its
    owner is then the user asked); otherwise :func:`locate_app_socket` finds the signed-in user at each
    request. On Windows, where the named pipe is not implemented yet, every request is refused.
    """
    if sys.platform == "win32":
        return DenyAll("asking the desktop app for consent is not available on Windows yet; "
                       "IT's unattended policy may allow listed keys")
    return DesktopGate(os.environ.get("DESKLINE_CONSENT_SOCKET") or None)


def is_connection_refused(exc: OSError) -> bool:
    """Whether ``exc`` means nothing listens on a Unix socket (a stale socket file)."""
    return exc.errno in (errno.ECONNREFUSED, errno.ENOENT)
