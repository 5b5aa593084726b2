"""``deskline-agent serve``: the SSH server on the user's machine (paramiko's server interface).

What it allows, and nothing more:

* **Authentication**: public keys only, against IT's authorized_keys (:mod:`agent.authkeys`, honouring
  ``from=`` and ``expiry-time=``); ed25519, ecdsa, and RSA with SHA-2 signatures. Password and
  keyboard-interactive attempts are refused and audited; so are unknown, expired and out-of-place keys
  and OpenSSH certificates (paramiko does not validate them). After ``max_auth_tries`` refusals the
  connection is closed.
* **Channels**: ``session`` channels only, at most ``max_channels`` open per connection; each may make
  one ``exec`` request whose command is parsed by :func:`agent.protocol.parse` and answered by
  :func:`agent.commands.execute`. Refused and audited: pty, shell, subsystems (sftp), X11, agent
  forwarding, ``direct-tcpip`` and ``tcpip-forward``; environment requests are refused too (their
  names are noted in the command's audit record: many systems' ``ssh_config``, Debian's and Ubuntu's
  among them, has OpenSSH send ``LANG`` and ``LC_*``; OpenSSH's own default sends nothing).
* **Consent** (see :mod:`agent.protocol` for the rules): ``ping`` runs without; any other command
  needs a grant for the engineer's key and the ticket (:class:`Grants`, held by the server and shared
  by all connections of that key and ticket, each reuse audited): the first asks the
  :class:`~agent.consent.ConsentGate` in a worker thread, never inside a paramiko callback, with
  ``consent_timeout``, while other connections of the same key and ticket wait for that answer; the
  grant is checked (expiry, ``revoked()``) before every later command. The user's no, and End now,
  hold for :data:`DENIAL_COOLDOWN` seconds for that key and ticket. If the engineer leaves (the
  connection or the command's channel closes) before the answer, the question is withdrawn
  (the gate's ``withdraw``), nothing runs, and a yes that comes anyway is ended at once. A grant
  nobody was asked for (IT's unattended policy) is *notify only*: the gate's ``notify`` tells the
  user's app in a thread of its own, so the command never waits for it, and whether the notice was
  delivered is audited (``notify``).
* **Order on the wire**: a channel's command starts only after paramiko has sent its reply to the
  ``exec`` request (see ``_hook_replies``), so even an instant refusal cannot close the channel before
  the client has heard that its request was accepted.
* **Limits**: ``max_sessions`` connections at once, of which at most
  :data:`MAX_UNAUTHENTICATED_PER_ADDRESS` from one source address may be still in their handshake or
  authentication (more are closed at once and audited, a burst folded into one record a second with
  its count, so a flood cannot rotate the history out of the log; the counts include connections
  still in their handshake, not those whose client has already left); handshake and authentication within
  ``auth_deadline`` seconds, else the connection is dropped and audited; a channel that makes no
  ``exec`` request within ``request_timeout`` is closed; ``probe``'s JSON arguments are read from stdin
  up to :data:`agent.protocol.MAX_STDIN` bytes until EOF (no EOF and no bytes within ``stdin_timeout``:
  no arguments, so ``ssh host probe cpu`` typed in a terminal still answers; use ``ssh -n`` to skip
  the wait); each command runs in a worker with ``command_timeout`` (on expiry the answer is still one
  JSON document, exit 5, while the worker finishes in the background: probes have their own timeouts);
  an answer over ``max_output_bytes`` becomes a refusal (exit 4); a connection with no channel open
  for ``idle_timeout`` seconds is closed.
* **Algorithms**: CBC, 3DES, SHA-1 and MD5 are disabled through ``disabled_algorithms``; paramiko must
  be at least 3.4 (strict key exchange, the Terrapin fix), which :func:`check_paramiko` enforces.

Every connection, authentication, refusal, consent decision and command is written to the audit log
(:mod:`agent.audit`). If a record cannot be written, commands other than ``ping`` are refused until
one can: the agent never runs what it cannot account for.
"""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import logging
import math
import os
import secrets
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import paramiko
from paramiko.common import (
    AUTH_FAILED,
    AUTH_SUCCESSFUL,
    OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED,
    OPEN_FAILED_RESOURCE_SHORTAGE,
    OPEN_SUCCEEDED,
)

from agent import protocol
from agent.audit import AuditError, AuditLog
from agent.authkeys import AuthorizedKey, AuthorizedKeysFile, KeySet
from agent.authkeys import fingerprint as blob_fingerprint
from agent.consent import ConsentGate, ConsentRequest, Denial, DenyAll, Grant, UnattendedPolicy
from agent.protocol import Command, Exit, ProtocolError, refusal
from desktop import __version__
from desktop.errors import ConfigError, DesklineError

if TYPE_CHECKING:
    from desktop.config import Settings

log = logging.getLogger("deskline.agent")

#: Algorithms turned off: CBC modes and 3DES, SHA-1 and MD5 MACs, SHA-1 key exchange and signatures.
DISABLED_ALGORITHMS: dict[str, list[str]] = {
    "ciphers": ["aes128-cbc", "aes192-cbc", "aes256-cbc", "3des-cbc", "blowfish-cbc"],
    "macs": ["hmac-sha1", "hmac-sha1-96", "hmac-md5", "hmac-md5-96"],
    "kex": ["diffie-hellman-group1-sha1", "diffie-hellman-group14-sha1", "diffie-hellman-group-exchange-sha1"],
    "keys": ["ssh-rsa", "ssh-dss"],
    "pubkeys": ["ssh-rsa", "ssh-dss"],
}
#: The first paramiko with strict key exchange (CVE-2023-48795, "Terrapin").
MIN_PARAMIKO = (3, 4)
#: The most connections one source address may have still in their handshake or authentication (besides
#: ``max_sessions`` in all), as OpenSSH's PerSourceMaxStartups: half the default ``max_sessions``, so
#: connections from one machine that never log in (a flood, a scanner, a stuck client), each held up to
#: ``auth_deadline``, cannot take every slot, and engineers elsewhere still get in. Authenticated sessions
#: do not count: an engineer's quick commands one after another from one machine (a paramiko client's
#: socket lingers about 0.1 s after close) and several engineers behind one NAT must not be refused.
#: Connections forwarded by the bastion are exempt: they all carry the bastion's address.
MAX_UNAUTHENTICATED_PER_ADDRESS = 8
#: What a consent request asks for: every command but ``ping``, which needs none.
CONSENT_COMMANDS = tuple(c for c in protocol.COMMANDS if c != "ping")
#: How long the user's no (Deny, or End now) for one engineer key and ticket holds, in seconds: later
#: connections of that key and ticket are refused with it, without a new dialog, so an engineer cannot
#: flood the user's screen with questions; after it, the next command asks again.
DENIAL_COOLDOWN = 60.0
#: How often a command waiting for the user's answer checks whether its engineer is still there (seconds).
CONSENT_POLL = 0.05
#: How long the gate has to come back once a question is withdrawn (the engineer left), in seconds; a
#: yes that comes back later still is ended at once (:class:`_Question`).
WITHDRAW_GRACE = 2.0
#: What paramiko raises when the client or the transport is gone while we write to a channel.
_GONE = (OSError, EOFError, paramiko.SSHException)
#: Global requests that are harmless and not worth an audit record.
_QUIET_GLOBAL = frozenset({"keepalive@openssh.com", "no-more-sessions@openssh.com"})


class AgentServerError(DesklineError):
    """The server cannot start (address in use, unusable paramiko, ...); the message says which."""


def check_paramiko(version: str | None = None) -> None:
    """Refuse a paramiko without strict key exchange (older than 3.4)."""
    text = paramiko.__version__ if version is None else version
    try:
        parts = tuple(int(p) for p in text.split(".")[:2])
    except ValueError as exc:
        raise AgentServerError(f"cannot read the paramiko version {text!r}") from exc
    if parts < MIN_PARAMIKO:
        raise AgentServerError(f"paramiko {text} lacks strict key exchange (the Terrapin fix): "
                               f"install paramiko >= {MIN_PARAMIKO[0]}.{MIN_PARAMIKO[1]}")


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT`` for IPv6) -> (host, port); port 0 picks a free one."""
    host, sep, port_text = text.strip().rpartition(":")
    if not sep or not host:
        raise ConfigError(f"listen address {text!r}: use HOST:PORT, for example 127.0.0.1:2222")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        port = int(port_text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise ConfigError(f"listen address {text!r}: the port must be a number from 0 to 65535")
    return host, port


#: Where ``serve`` run as root (a system service, as IT deploys it) keeps its files when the flags and
#: settings name none. Linux and other Unix systems follow the Filesystem Hierarchy Standard: IT's list of
#: engineer keys is configuration (``/etc``; the agent never makes that folder, IT's tooling does), the
#: generated host key is the application's state (``/var/lib``: sshd's ``/etc/ssh`` keys are the
#: operating system's own), the audit log is a log (``/var/log``). macOS: configuration beside IT's
#: policy file in ``/Library/Application Support/Deskline`` (as :func:`desktop.config.default_policy_path`),
#: state in ``/var/db`` (the BSD ``/var/lib``, hier(7)), logs in ``/Library/Logs`` (Console shows it).
#: Windows has no system branch yet: a service there gets its account's data folder. Tests point
#: :data:`SYSTEM_ROOT` at a temporary folder instead of the real ``/``.
SYSTEM_PATHS: dict[str, dict[str, Path]] = {
    "posix": {"authorized_keys": Path("/etc/deskline/agent/authorized_keys"),
              "host_key": Path("/var/lib/deskline/agent/host_ed25519_key"),
              "audit_log": Path("/var/log/deskline/agent-audit.jsonl")},
    "darwin": {"authorized_keys": Path("/Library/Application Support/Deskline/agent/authorized_keys"),
               "host_key": Path("/var/db/deskline/agent/host_ed25519_key"),
               "audit_log": Path("/Library/Logs/Deskline/agent-audit.jsonl")},
}
SYSTEM_ROOT = Path("/")


def user_paths() -> dict[str, Path]:
    """The per-user defaults: ``agent/`` in the account's Deskline data folder (platformdirs)."""
    from platformdirs import user_data_path  # imported late: only needed without explicit paths

    base = user_data_path("deskline", appauthor=False) / "agent"
    return {"authorized_keys": base / "authorized_keys", "host_key": base / "host_ed25519_key",
            "audit_log": base / "audit.jsonl"}


def runs_as_system() -> bool:
    """Whether the agent runs as a system service: as root (effective uid 0) on a Unix system."""
    return sys.platform != "win32" and hasattr(os, "geteuid") and os.geteuid() == 0


PATH_NAMES = ("authorized_keys", "host_key", "audit_log")


def default_paths(names: Sequence[str] = PATH_NAMES) -> dict[str, Path]:
    """Where the agent keeps its files (those of ``names``) when the flags and settings name none.

    As root on Unix: the system folders of :data:`SYSTEM_PATHS`. Earlier versions gave root its own data
    folder (``/root/.local/share/deskline/agent``), so a host key or authorized_keys found there and not
    yet in its system place is still used, with a warning that says where to move it: a new host key
    would make every enrolled engineer's console refuse the machine, a new empty authorized_keys every
    engineer. The audit log simply starts in its new place. Otherwise (any other user, and Windows):
    the per-user data folder of :func:`user_paths`.
    """
    if not runs_as_system():
        return {name: path for name, path in user_paths().items() if name in names}
    table = SYSTEM_PATHS["darwin" if sys.platform == "darwin" else "posix"]
    paths = {name: SYSTEM_ROOT / table[name].relative_to(table[name].anchor) for name in names}
    legacy_paths = user_paths()
    for name in {"host_key", "authorized_keys"}.intersection(names):
        legacy = legacy_paths[name]
        if not paths[name].exists() and legacy.exists():
            log.warning("%s: found in root's own data folder; using it. Move it to %s (with sudo mv), "
                        "or name it in agent.%s", legacy, paths[name], name)
            paths[name] = legacy
    return paths


@dataclass(frozen=True)
class ServerConfig:
    """Limits and behaviour of the server; times in seconds, sizes in bytes."""

    host: str = "127.0.0.1"
    port: int = 2222
    command_timeout: float = 30.0
    max_output_bytes: int = 8 * 1024 * 1024
    max_sessions: int = 16
    #: Not a user setting: :data:`MAX_UNAUTHENTICATED_PER_ADDRESS` unless a caller (a test) says otherwise.
    max_unauthenticated_per_address: int = MAX_UNAUTHENTICATED_PER_ADDRESS
    max_channels: int = 4
    auth_deadline: float = 10.0
    max_auth_tries: int = 6
    consent_timeout: float = 60.0
    consent_duration: int = 1800
    #: Not a user setting: :data:`DENIAL_COOLDOWN` unless a caller (a test) says otherwise.
    denial_cooldown: float = DENIAL_COOLDOWN
    idle_timeout: float = 600.0
    request_timeout: float = 10.0
    stdin_timeout: float = 2.0
    #: None: the probes' and findings' own defaults (as ``deskline collect`` without a settings file).
    probe_settings: Mapping[str, Any] | None = None
    thresholds: Mapping[str, Any] | None = None
    pseudonymize: bool = False
    keep_private_ips: bool = True
    disabled_probes: tuple[str, ...] = ()
    #: Restricted probe arguments IT lets engineers set (``agent.remote_arguments``; see agent.commands).
    remote_arguments: tuple[str, ...] = ()
    #: Build one report at start and throw it away (:func:`agent.commands.warm_up`), so the first engineer's
    #: report costs what the later ones do. ``deskline-agent serve`` does; in-process servers (tests) need not.
    warm_up: bool = False


def config_from_settings(settings: Any, listen: str | None = None) -> ServerConfig:
    """The server's configuration from loaded Deskline settings (``[agent]``, ``[probes]``, ...)."""
    a = settings.section("agent")
    host, port = parse_listen(listen if listen is not None else a["listen"])
    return ServerConfig(
        host=host, port=port, command_timeout=a["command_timeout"], max_output_bytes=a["max_output_bytes"],
        max_sessions=a["max_sessions"], max_channels=a["max_channels"], auth_deadline=a["auth_deadline"],
        consent_timeout=a["consent_timeout"], consent_duration=int(a["consent_duration"]),
        idle_timeout=a["idle_timeout"], probe_settings=settings.probe_settings(),
        thresholds=settings.section("thresholds"),
        pseudonymize=settings["report.pseudonymize"], keep_private_ips=settings["report.keep_private_ips"],
        disabled_probes=tuple(settings["probes.disabled"]),
        remote_arguments=tuple(a["remote_arguments"]), warm_up=True,
    )


def _shown(raw: bytes, limit: int = 200) -> str:
    """A command as the audit log shows it: decoded, unprintable characters escaped, cut at ``limit``."""
    text = raw[: limit * 4].decode("utf-8", "replace")
    out = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return out if len(out) <= limit else out[:limit] + "..."


def _expiry(grant: Grant) -> str:
    """When a grant ends, as the audit log shows it (UTC, whole seconds)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(grant.expires))


def _command_name(text: str) -> str:
    first = text.split(" ", 1)[0] if text else ""
    return first if first in protocol.COMMANDS else "unknown"


GrantKey = tuple[str, str]  # (engineer key fingerprint, ticket)


class Grants:
    """Consent held by the agent per engineer key and ticket, shared by all its connections.

    A grant (the user's yes, or IT's unattended policy) covers every connection of the same key and
    ticket until it expires or is revoked (End now): ``deskline-agent run`` makes a connection per
    command, and one yes is meant for the engineer and the ticket, not for one TCP connection. A no from
    the user (and End now) holds for ``cooldown`` seconds. While one connection asks, the others of the
    same key and ticket wait for that answer instead of asking too. All methods are quick (a lock).
    """

    def __init__(self, cooldown: float) -> None:
        self.cooldown = cooldown
        self._lock = threading.Lock()
        self._grants: dict[GrantKey, tuple[Grant, str]] = {}  # the grant, the connection (session) that asked
        self._denials: dict[GrantKey, tuple[Denial, float]] = {}  # the no, until (time.monotonic())
        self._asking: dict[GrantKey, threading.Event] = {}
        self._waiting: dict[GrantKey, int] = {}

    def look(self, key: GrantKey) -> tuple[tuple[Grant, str] | None, tuple[Denial, float] | None,
                                           threading.Event | None, bool]:
        """What holds for ``key`` now: the grant and the session that asked for it, or None; a no in its
        cool-down and the seconds it still holds, or None; else the event of the question about ``key``,
        and whether it is this caller's to ask (True: a new question, to end with :meth:`asked`) or
        another connection's, to :meth:`wait` for."""
        with self._lock:
            entry = self._grants.get(key)
            denial = self._denied(key)
            if entry is not None or denial is not None:
                return entry, denial, None, False
            asking = self._asking.get(key)
            if asking is not None:
                return None, None, asking, False
            asking = self._asking[key] = threading.Event()
            return None, None, asking, True

    def asked(self, key: GrantKey, event: threading.Event, decision: Grant | Denial | None, session: str) -> None:
        """The question of ``event`` is over: keep a Grant, hold a declined Denial for the cool-down, and
        wake the connections waiting for it."""
        with self._lock:
            if isinstance(decision, Grant):
                self._grants[key] = (decision, session)
            elif isinstance(decision, Denial) and decision.declined:
                self._denials[key] = (decision, time.monotonic() + self.cooldown)
            if self._asking.get(key) is event:
                del self._asking[key]
        event.set()

    def wait(self, key: GrantKey, event: threading.Event, left: Callable[[], str]) -> str:
        """Wait for another connection's question to be answered; returns why this one stopped waiting
        ('' once answered)."""
        with self._lock:
            self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            while not event.wait(CONSENT_POLL):
                why = left()
                if why:
                    return why
            return ""
        finally:
            with self._lock:
                self._waiting[key] -= 1
                if not self._waiting[key]:
                    del self._waiting[key]

    def waiting(self, key: GrantKey) -> int:
        """How many connections wait for the answer to a question about ``key`` (for tests and logs)."""
        with self._lock:
            return self._waiting.get(key, 0)

    def drop(self, key: GrantKey, grant: Grant, *, revoked: bool = False) -> bool:
        """Forget ``grant`` (expired or revoked); True for the one caller that did, which tells the app.
        A revoked grant leaves the user's "no" behind for the cool-down."""
        with self._lock:
            entry = self._grants.get(key)
            if entry is None or entry[0] is not grant:
                return False
            del self._grants[key]
            if revoked:
                self._denials[key] = (Denial("the user ended this session", declined=True),
                                      time.monotonic() + self.cooldown)
            return True

    def denied(self, key: GrantKey) -> tuple[Denial, float] | None:
        """The user's no for ``key`` still in its cool-down, and the seconds it still holds."""
        with self._lock:
            return self._denied(key)

    def _denied(self, key: GrantKey) -> tuple[Denial, float] | None:
        now = time.monotonic()
        for stale in [k for k, (_d, until) in self._denials.items() if until <= now]:
            del self._denials[stale]
        entry = self._denials.get(key)
        return None if entry is None else (entry[0], entry[1] - now)

    def take_all(self) -> list[Grant]:
        """Every grant held (the agent is stopping), forgotten."""
        with self._lock:
            grants = [g for g, _s in self._grants.values()]
            self._grants.clear()
            return grants


class _Question:
    """One question to the consent gate, asked in a thread of its own so that the command can stop
    waiting (the engineer left, or no answer in time). A Grant that comes back after the command stopped
    waiting is handed to ``on_late``, which ends it: the app must not show a session nobody uses."""

    def __init__(self, gate: ConsentGate, request: ConsentRequest, timeout: float,
                 on_late: Callable[[Grant, str], None]) -> None:
        self.gate = gate
        self.request = request
        self.timeout = timeout
        self.on_late = on_late
        self.done = threading.Event()
        self._lock = threading.Lock()
        self._decision: Grant | Denial | None = None
        self._abandoned = ""

    def run(self) -> None:
        request = self.request
        try:
            decision = self.gate.ask(request, self.timeout)
        except Exception as exc:  # noqa: BLE001 - a broken gate is a no, never a crash
            log.warning("consent gate failed for %s (%s): %s", request.engineer, request.fingerprint, exc)
            decision = Denial(f"consent could not be asked ({type(exc).__name__}: {exc})")
        if not isinstance(decision, Grant | Denial):
            log.warning("consent gate answered %r, not a Grant or a Denial", type(decision).__name__)
            decision = Denial("the consent gate gave no usable answer")
        with self._lock:
            self._decision = decision
            late = self._abandoned
            self.done.set()
        if late and isinstance(decision, Grant):
            self.on_late(decision, late)

    def abandon(self, why: str) -> Grant | Denial | None:
        """Stop waiting; the decision if it is in already (the caller's to handle), else None (a Grant that
        comes later goes to ``on_late`` with ``why``)."""
        with self._lock:
            if self._decision is None:
                self._abandoned = why
            return self._decision


@dataclass
class _ChannelState:
    """One session channel: its request and what was refused on it."""

    chanid: int
    channel: paramiko.Channel | None = None
    command: bytes | None = None
    requested: threading.Event = field(default_factory=threading.Event)
    env_refused: list[str] = field(default_factory=list)


class _Connection(paramiko.ServerInterface):
    """One client connection: its transport, authentication state, channels and consent.

    The ``check_*`` callbacks run on paramiko's transport thread: they only look things up in memory,
    note what was asked and write audit lines; anything that waits (consent, commands, stdin) runs in
    this connection's own threads.
    """

    def __init__(self, server: AgentServer, sock: socket.socket, address: tuple[Any, ...]) -> None:
        self.server = server
        self.config = server.config
        self.sock = sock
        self.ip = str(address[0])
        try:
            if ipaddress.ip_address(self.ip.split("%", 1)[0]).version == 6:
                self.peer = f"[{self.ip}]:{address[1]}"
            else:
                self.peer = f"{self.ip}:{address[1]}"
        except ValueError:
            self.peer = f"{self.ip}:{address[1]}"
        self.id = secrets.token_hex(4)
        self.started = time.monotonic()
        self.keys: KeySet = server.keys.current()
        self.transport: paramiko.Transport | None = None
        self.thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._channels: dict[int, _ChannelState] = {}
        self._workers: list[threading.Thread] = []
        self._candidate: AuthorizedKey | None = None
        self._refused_keys: set[str] = set()
        self.failures = 0
        self.key: AuthorizedKey | None = None
        self.username = ""
        self.login = ""
        self.ticket = ""
        self.ticket_error = ""
        self._consent_lock = threading.Lock()
        self.grant: Grant | None = None
        self.denial: Denial | None = None
        self._closing = threading.Event()
        self._replies_hooked = False
        self._notifiers: list[threading.Thread] = []

    @property
    def gone(self) -> bool:
        """The client has left (the transport is closed): what remains is clean-up and the audit record."""
        transport = self.transport
        return transport is not None and not transport.is_active()

    @property
    def authenticating(self) -> bool:
        """Still in the handshake or authentication (asked of paramiko: ``self.key`` is set a moment later)."""
        transport = self.transport
        return transport is None or (transport.is_active() and not transport.is_authenticated())

    # -- audit
    def audit(self, event: str, **fields: Any) -> None:
        """One audit record about this connection (who, from where) plus ``fields``."""
        base: dict[str, Any] = {"session": self.id, "peer": self.peer}
        if self.key is not None:
            base.update(fingerprint=self.key.fingerprint, engineer=self.key.engineer, user=self.login or None)
        base.update(fields)
        self.server.audit(event, **base)

    # -- authentication (transport thread)
    def get_allowed_auths(self, username: str) -> str:
        return "publickey"

    def check_auth_none(self, username: str) -> int:
        return AUTH_FAILED

    def _refuse_auth(self, username: str, method: str, reason: str, fingerprint: str | None = None) -> int:
        self.failures += 1
        self.audit("auth", accepted=False, method=method, user=_shown(username.encode("utf-8", "replace"), 64),
                   fingerprint=fingerprint, reason=reason)
        return AUTH_FAILED

    def check_auth_password(self, username: str, password: Any) -> int:
        return self._refuse_auth(username, "password", "password authentication is not accepted: use a key")

    def check_auth_interactive(self, username: str, submethods: str) -> int:
        return self._refuse_auth(username, "keyboard-interactive",
                                 "keyboard-interactive authentication is not accepted: use a key")

    def check_auth_interactive_response(self, responses: Any) -> int:
        return AUTH_FAILED

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        blob = key.asbytes()
        fp = blob_fingerprint(blob)
        if getattr(key, "public_blob", None) is not None:
            return self._refuse_auth(username, "publickey", "OpenSSH certificates are not accepted", fp)
        found, why = self.keys.check(blob, self.ip)
        if found is None:
            if fp in self._refused_keys:  # the same key again (query, then signed attempt): one record
                self.failures += 1
                return AUTH_FAILED
            self._refused_keys.add(fp)
            return self._refuse_auth(username, "publickey", why, fp)
        self._candidate = found
        self.username = username
        return AUTH_SUCCESSFUL

    def _authenticated(self) -> None:
        assert self.transport is not None
        self.key = self._candidate
        self.username = self.transport.get_username() or self.username
        try:
            self.login, self.ticket = protocol.parse_login(self.username)
        except ProtocolError as exc:
            self.login, self.ticket_error = self.username.split("+", 1)[0], str(exc)
        self.audit("auth", accepted=True, method="publickey", ticket=self.ticket or None,
                   duration_ms=round((time.monotonic() - self.started) * 1000, 1))

    # -- channels and requests (transport thread)
    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind != "session":
            self.audit("request", refused=f"channel {kind}", reason="only session channels are accepted")
            return OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED
        with self._lock:
            # a channel the client has closed no longer counts, even before its worker has noticed
            open_now = sum(1 for s in self._channels.values() if s.channel is None or not s.channel.closed)
            if open_now >= self.config.max_channels:
                self.audit("request", refused="channel session",
                           reason=f"{self.config.max_channels} channels are already open on this connection")
                return OPEN_FAILED_RESOURCE_SHORTAGE
            self._channels[chanid] = _ChannelState(chanid)
        return OPEN_SUCCEEDED

    def check_channel_direct_tcpip_request(self, chanid: int, origin: tuple[str, int],
                                           destination: tuple[str, int]) -> int:
        self.audit("request", refused="direct-tcpip",
                   reason=f"port forwarding is not allowed (to {destination[0]}:{destination[1]})")
        return OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_port_forward_request(self, address: str, port: int) -> bool:
        self.audit("request", refused="tcpip-forward",
                   reason=f"port forwarding is not allowed (from {address}:{port})")
        return False

    def check_global_request(self, kind: str, msg: paramiko.Message) -> bool:
        if kind not in _QUIET_GLOBAL:
            self.audit("request", refused=f"global {_shown(kind.encode('utf-8', 'replace'), 64)}",
                       reason="global requests are not supported")
        return False

    def _bind(self, channel: paramiko.Channel) -> _ChannelState | None:
        """The state of ``channel``, holding the channel object from its first request on (callers hold
        ``_lock``): the channel cap can then see a channel the client closed before it was accepted."""
        state = self._channels.get(channel.get_id())
        if state is not None and state.channel is None:
            state.channel = channel
        return state

    def _refuse_request(self, channel: paramiko.Channel, what: str) -> bool:
        with self._lock:
            self._bind(channel)
        self.audit("request", refused=what, reason=f"{what.split(' ')[0]} is not allowed: only commands run here")
        return False

    def check_channel_pty_request(self, channel: paramiko.Channel, term: bytes, width: int, height: int,
                                  pixelwidth: int, pixelheight: int, modes: bytes) -> bool:
        return self._refuse_request(channel, "pty")

    def check_channel_shell_request(self, channel: paramiko.Channel) -> bool:
        return self._refuse_request(channel, "shell")

    def check_channel_subsystem_request(self, channel: paramiko.Channel, name: str) -> bool:
        return self._refuse_request(channel, f"subsystem {_shown(name.encode('utf-8', 'replace'), 64)}")

    def check_channel_x11_request(self, channel: paramiko.Channel, single_connection: bool, auth_protocol: str,
                                  auth_cookie: bytes, screen_number: int) -> bool:
        return self._refuse_request(channel, "x11")

    def check_channel_forward_agent_request(self, channel: paramiko.Channel) -> bool:
        return self._refuse_request(channel, "agent-forwarding")

    def check_channel_window_change_request(self, channel: paramiko.Channel, width: int, height: int,
                                            pixelwidth: int, pixelheight: int) -> bool:
        return False

    def check_channel_env_request(self, channel: paramiko.Channel, name: bytes, value: bytes) -> bool:
        with self._lock:
            state = self._bind(channel)
            if state is not None and len(state.env_refused) < 16:
                state.env_refused.append(_shown(name if isinstance(name, bytes) else str(name).encode(), 64))
        return False

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
        with self._lock:
            state = self._bind(channel)
            if state is None or state.command is not None:
                return False
            state.command = bytes(command)
        if not self._replies_hooked:
            state.requested.set()  # fallback (see _hook_replies): the reply may then trail a quick answer
        return True

    def _hook_replies(self, transport: paramiko.Transport) -> bool:
        """Start a channel's command only once paramiko has replied to its ``exec`` request.

        paramiko sends that reply (CHANNEL_SUCCESS) on the transport thread *after*
        ``check_channel_exec_request`` returns. A worker woken from inside the callback can have a quick
        answer ready (a refusal: bad command, consent denied or revoked) and send it, its exit status and
        CLOSE before the reply goes out; paramiko's client, still waiting for the reply, then sees the
        channel closed and raises "Channel closed" instead of reading the answer. So the worker is woken
        from a wrapper around paramiko's channel-request handler, after the reply has been sent.

        The handler table is paramiko's (``Transport._channel_handler_table``, unchanged since 1.x);
        this transport gets its own copy. Without it (a future paramiko), the worker is woken from the
        callback as before, and False is returned.
        """
        table: Any = getattr(transport, "_channel_handler_table", None)
        handler = table.get(paramiko.common.MSG_CHANNEL_REQUEST) if isinstance(table, dict) else None
        if not isinstance(table, dict) or not callable(handler):
            log.debug("paramiko has no channel handler table: commands may start before the exec reply")
            return False

        def handle_request(channel: paramiko.Channel, message: paramiko.Message) -> None:
            try:
                handler(channel, message)  # calls check_channel_*_request, then sends the reply
            finally:
                with self._lock:
                    state = self._channels.get(channel.get_id())
                if state is not None and state.command is not None:
                    state.requested.set()

        transport._channel_handler_table = {  # type: ignore[attr-defined]  # paramiko's own, see above
            **table, paramiko.common.MSG_CHANNEL_REQUEST: handle_request}
        return True

    # -- the connection's own thread
    def run(self) -> None:
        reason = "closed"
        try:
            reason = self._serve()
        except Exception:  # noqa: BLE001 - one broken connection must never stop the agent
            log.exception("connection %s from %s failed", self.id, self.peer)
            reason = "internal error (see the agent's log)"
        finally:
            self._close_transport()
            # a command waiting for the user's answer withdraws its question (at most CONSENT_POLL plus
            # WITHDRAW_GRACE): its consent record must come before this connection's disconnect record
            if self._consent_lock.acquire(timeout=WITHDRAW_GRACE + 2.0):
                self._consent_lock.release()
            for worker in list(self._workers):
                worker.join(timeout=1.0)
            with self._lock:
                notifiers = list(self._notifiers)
            for notifier in notifiers:  # bounded by the channel's connect and write timeouts
                notifier.join(timeout=5.0)
            # this connection's grant stays the agent's (Grants): it covers the engineer's next connection
            # of the same key and ticket until it expires or the user ends it; the app's session goes on
            self.audit("disconnect", reason=reason, duration_ms=round((time.monotonic() - self.started) * 1000, 1))
            self.server._release(self)

    def _serve(self) -> str:
        config = self.config
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        transport = paramiko.Transport(self.sock, disabled_algorithms=DISABLED_ALGORITHMS)
        transport.local_version = f"SSH-2.0-DesklineAgent_{__version__}"
        # paramiko's own timeouts are only a backstop: the loop below enforces (and audits) the deadline
        backstop = config.auth_deadline + 2.0
        transport.banner_timeout = transport.handshake_timeout = transport.auth_timeout = backstop
        transport.add_server_key(self.server.host_key)
        self._replies_hooked = self._hook_replies(transport)
        self.transport = transport
        transport.start_server(event=threading.Event(), server=self)
        deadline = self.started + config.auth_deadline
        last_active = time.monotonic()
        while True:
            if self._closing.is_set():
                return "the agent is stopping"
            channel = transport.accept(0.05)  # short: a client that left is noticed (and audited) at once
            now = time.monotonic()
            if self.key is None and transport.is_authenticated():
                self._authenticated()
            if channel is not None:
                self._start_channel(channel)
                last_active = now
                continue
            if not transport.is_active():
                exc = transport.get_exception()
                if self.key is None:
                    why = f"closed before authentication ({exc})" if exc else "closed before authentication"
                    return why
                return "closed by the client"
            if self.key is None:
                if self.failures >= config.max_auth_tries:
                    self.audit("refuse", reason=f"{self.failures} failed authentications: connection closed")
                    return "too many failed authentications"
                if now >= deadline:
                    stage = ("the protocol banner" if not transport.remote_version
                             else "the key exchange" if not transport.initial_kex_done else "authentication")
                    why = f"not authenticated within {config.auth_deadline:g} s (stalled in {stage})"
                    self.audit("refuse", reason=why)
                    return why
                continue
            with self._lock:
                busy = bool(self._channels)
            if busy:
                last_active = now
            elif now - last_active > config.idle_timeout:
                return f"idle for {config.idle_timeout:g} s"

    def _close_transport(self) -> None:
        if self.transport is not None:
            self.transport.close()
        try:
            self.sock.close()
        except OSError:
            pass

    def close(self) -> None:
        """End the connection (the agent is stopping); its thread then audits and releases it."""
        self._closing.set()
        if self.transport is not None:
            self.transport.close()  # wakes the connection thread's accept()

    def _start_channel(self, channel: paramiko.Channel) -> None:
        with self._lock:
            state = self._channels.get(channel.get_id())
            if state is None:
                channel.close()
                return
            state.channel = channel  # keep the reference: paramiko closes a channel nobody holds
        worker = threading.Thread(target=self._run_channel, args=(state,), daemon=True,
                                  name=f"deskline-agent-{self.id}-{state.chanid}")
        self._workers = [w for w in self._workers if w.is_alive()]
        self._workers.append(worker)
        worker.start()

    def _run_channel(self, state: _ChannelState) -> None:
        channel = state.channel
        assert channel is not None
        try:
            deadline = time.monotonic() + self.config.request_timeout
            while not state.requested.wait(0.1):
                if channel.closed or self._closing.is_set():
                    return
                if time.monotonic() >= deadline:
                    self.audit("request", refused="channel",
                               reason=f"no command requested within {self.config.request_timeout:g} s")
                    return
            self._answer(state, channel)
        except Exception:  # noqa: BLE001 - a failing channel must not take the connection down
            log.exception("connection %s: channel %d failed", self.id, state.chanid)
        finally:
            try:
                channel.close()
            except _GONE:
                log.debug("connection %s: channel %d was already gone", self.id, state.chanid)
            with self._lock:
                self._channels.pop(state.chanid, None)

    # -- one command
    def _answer(self, state: _ChannelState, channel: paramiko.Channel) -> None:
        raw = state.command or b""
        shown = _shown(raw)
        start = time.perf_counter()
        grant: Grant | None = None
        try:
            command = protocol.parse(raw, self.server.known_probes)
        except ProtocolError as exc:
            document = refusal(_command_name(shown), exc.exit, str(exc))
        else:
            document, grant = self._run(command, channel)
        data = protocol.encode(document)
        if len(data) > self.config.max_output_bytes:
            document = refusal(document.get("command", "unknown"), Exit.NOT_ALLOWED,
                               f"the answer has {len(data)} bytes, over the agent's output cap of "
                               f"{self.config.max_output_bytes} bytes: ask for fewer probes")
            data = protocol.encode(document)
        exit_code = int(document["exit"])
        sent, problem = 0, None
        channel.settimeout(self.config.command_timeout)
        try:
            channel.sendall(data)
            sent = len(data)
        except _GONE as exc:
            problem = f"answer not delivered: {exc or type(exc).__name__}"
        duration_ms = round((time.perf_counter() - start) * 1000, 1)
        error = document.get("error") or {}
        self.audit("command", command=shown, exit=exit_code, duration_ms=duration_ms, bytes_out=sent,
                   ticket=self.ticket or None, consent=grant.how if grant else None,
                   reason=problem or error.get("message"), env_refused=state.env_refused or None)
        if grant is not None:
            ran = getattr(self.server.gate, "command_ran", None)
            if callable(ran):
                ran(grant, shown, exit_code, duration_ms)
        if problem is None:
            try:
                channel.send_exit_status(exit_code)
            except _GONE:
                log.debug("connection %s: exit status not delivered", self.id)

    def _run(self, command: Command, channel: paramiko.Channel) -> tuple[dict[str, Any], Grant | None]:
        grant: Grant | None = None
        if command.name != "ping":
            if self.server.audit_failed:
                return refusal(command.name, Exit.INTERNAL, "the agent cannot write its audit log, so it runs "
                               "nothing but ping"), None
            if self.ticket_error:
                return refusal(command.name, Exit.BAD_ARGUMENTS, self.ticket_error), None
            decision = self._consent(command.name, channel)
            if isinstance(decision, Denial):
                return refusal(command.name, Exit.CONSENT_REQUIRED, f"consent required: {decision.reason}"), None
            grant = decision
        if command.needs_stdin:
            try:
                arguments = protocol.parse_arguments(self._read_stdin(channel))
            except ProtocolError as exc:
                return refusal(command.name, exc.exit, str(exc)), grant
            command = dataclasses.replace(command, arguments=arguments)
        return self._execute(command), grant

    def _read_stdin(self, channel: paramiko.Channel) -> bytes:
        """The JSON arguments on stdin: up to EOF, at most MAX_STDIN bytes (more is refused at once)."""
        data = bytearray()
        deadline = time.monotonic() + self.config.stdin_timeout
        while True:
            if len(data) > protocol.MAX_STDIN:
                raise ProtocolError(f"arguments on stdin longer than {protocol.MAX_STDIN} bytes")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                if data:
                    raise ProtocolError(f"stdin not closed within {self.config.stdin_timeout:g} s: "
                                        "end the JSON arguments with EOF")
                return b""  # nothing sent at all: no arguments (an interactive `ssh host probe cpu`)
            channel.settimeout(remaining)
            try:
                chunk = channel.recv(min(32768, protocol.MAX_STDIN + 1 - len(data)))
            except TimeoutError:
                continue
            if not chunk:
                return bytes(data)
            data += chunk

    def _execute(self, command: Command) -> dict[str, Any]:
        from agent import commands  # the engine: imported (and warmed) by AgentServer.start

        box: dict[str, dict[str, Any]] = {}
        done = threading.Event()
        config = self.config

        slots = self.server.command_slots
        if not slots.acquire(blocking=False):
            return refusal(command.name, Exit.NOT_ALLOWED, "too many commands are still running on this machine "
                           "(some outlived their timeout and are finishing); try again shortly")

        def work() -> None:
            try:
                box["answer"] = commands.execute(command, probe_settings=self.server.probe_settings,
                                                 thresholds=config.thresholds, pseudonymize=config.pseudonymize,
                                                 keep_private_ips=config.keep_private_ips,
                                                 remote_arguments=config.remote_arguments)
            except Exception:  # noqa: BLE001 - logged here; the engineer gets "failed without an answer"
                log.exception("command %s failed", command.name)
            finally:
                slots.release()
                done.set()

        threading.Thread(target=work, daemon=True, name=f"deskline-agent-{self.id}-{command.name}").start()
        if not done.wait(config.command_timeout):
            return refusal(command.name, Exit.TIMEOUT, f"{protocol.render(command)} did not finish within "
                           f"{config.command_timeout:g} s")
        return box.get("answer") or refusal(command.name, Exit.INTERNAL, f"{command.name} failed without an answer")

    # -- consent
    def _left(self, channel: paramiko.Channel) -> str:
        """Why nobody waits for this command's answer any more ('' while someone does)."""
        if self._closing.is_set():
            return "the agent is stopping"
        if self.gone:
            return "the engineer left"
        if channel.closed:
            return "the engineer closed the command's channel"
        return ""

    def _consent(self, name: str, channel: paramiko.Channel) -> Grant | Denial:
        """The consent for ``name`` on this connection: its grant (rechecked), the grant of its key and
        ticket held by the agent, the user's recent no, or a new question (see :class:`Grants`)."""
        with self._consent_lock:
            if self.denial is not None:
                return self.denial
            assert self.key is not None
            key: GrantKey = (self.key.fingerprint, self.ticket)
            grant = self.grant
            if grant is not None:
                now = time.time()
                if now >= grant.expires:
                    self.audit("consent", decision="expired", how=grant.how, ticket=self.ticket or None)
                    self.grant = None
                    if self.server.grants.drop(key, grant):
                        self._tell_ended(grant, "expired")
                elif self.server.gate.revoked(grant):
                    self.denial = Denial("the user ended this session")
                    self.audit("consent", decision="revoked", how=grant.how, ticket=self.ticket or None,
                               reason=self.denial.reason)
                    self.grant = None
                    if self.server.grants.drop(key, grant, revoked=True):
                        self._tell_ended(grant, "revoked")
                    return self.denial
                elif grant.allows(name, now):
                    return grant
                else:
                    return Denial(f"the consent given does not cover {name!r}")
            decision = self._find_or_ask(key, channel)
            if isinstance(decision, Grant) and not decision.allows(name):
                return Denial(f"the consent given does not cover {name!r}")
            return decision

    def _find_or_ask(self, key: GrantKey, channel: paramiko.Channel) -> Grant | Denial:
        """Reuse the grant of this key and ticket, repeat the user's recent no, wait for another
        connection's question, or ask; audited (``reused``, ``denied`` with ``cooldown_seconds``,
        ``granted``, ``denied``, ``withdrawn``)."""
        grants = self.server.grants
        ticket = self.ticket or None
        while True:
            why = self._left(channel)
            if why:
                self.audit("consent", decision="withdrawn", ticket=ticket, reason=why)
                return Denial(f"withdrawn: {why}")
            entry, denied, question, mine = grants.look(key)
            if entry is not None:
                grant, origin = entry
                revoked = self.server.gate.revoked(grant)
                if time.time() >= grant.expires or revoked:
                    if grants.drop(key, grant, revoked=revoked):
                        self._tell_ended(grant, "revoked" if revoked else "expired")
                    continue
                self.grant = grant
                self.audit("consent", decision="reused", how=grant.how, ticket=ticket, expires=_expiry(grant),
                           granted_in=origin)
                return grant
            if denied is not None:
                earlier, remaining = denied
                self.denial = Denial(f"{earlier.reason} (that answer holds for this key and ticket for another "
                                     f"{math.ceil(remaining)} s)")
                self.audit("consent", decision="denied", ticket=ticket, reason=earlier.reason,
                           cooldown_seconds=round(remaining, 1))
                return self.denial
            assert question is not None
            if not mine:
                grants.wait(key, question, lambda: self._left(channel))
                continue  # answered, or we left: look again
            decision: Grant | Denial | None = None
            try:
                decision, withdrawn = self._ask_user(channel)
                if withdrawn:
                    # not an answer: nothing is kept, and a later command on this connection asks again
                    self.audit("consent", decision="withdrawn", ticket=ticket, reason=withdrawn)
                    return decision
                if isinstance(decision, Grant):
                    self.grant = decision
                    self.audit("consent", decision="granted", how=decision.how, ticket=ticket,
                               expires=_expiry(decision), duration_seconds=round(decision.expires - time.time()))
                    if decision.how != "user":
                        self._notify(decision)  # nobody was asked (IT's unattended policy): tell the user
                    return decision
                self.denial = decision
                self.audit("consent", decision="denied", ticket=ticket, reason=decision.reason)
                return decision
            finally:
                grants.asked(key, question, decision, self.id)

    def _ask_user(self, channel: paramiko.Channel) -> tuple[Grant | Denial, str]:
        assert self.key is not None
        request = ConsentRequest(engineer=self.key.engineer, fingerprint=self.key.fingerprint, peer=self.peer,
                                 commands=CONSENT_COMMANDS, ticket=self.ticket,
                                 duration_seconds=self.config.consent_duration)
        return self._ask(request, channel)

    def _ask(self, request: ConsentRequest, channel: paramiko.Channel) -> tuple[Grant | Denial, str]:
        """Ask the gate, in a thread of its own, while watching the engineer: (the decision, '') or, when
        they left before the answer, (a Denial, why) after withdrawing the question. A yes that comes with
        or after their leaving is ended at once, and nothing runs under it."""
        timeout = self.config.consent_timeout
        question = _Question(self.server.gate, request, timeout, self._end_late)
        threading.Thread(target=question.run, daemon=True, name=f"deskline-consent-{self.id}").start()
        deadline = time.monotonic() + timeout + 1.0
        why = ""
        while not question.done.wait(CONSENT_POLL):
            why = self._left(channel)
            if why or time.monotonic() >= deadline:
                break
        if not why:
            decision = question.abandon(f"no answer within {timeout:g} s")
            if decision is None:
                return Denial(f"no answer within {timeout:g} s"), ""
            why = self._left(channel)
            if not why or not isinstance(decision, Grant):
                return decision, ""
            self._end_late(decision, f"withdrawn: {why}")  # a yes as the engineer left: nobody to use it
            return Denial(f"withdrawn: {why}"), why
        withdraw = getattr(self.server.gate, "withdraw", None)
        if callable(withdraw):
            try:
                withdraw(request, why)
            except Exception as exc:  # noqa: BLE001 - the gate's trouble; the question times out in the app
                log.warning("connection %s: withdrawing the consent question failed: %s", self.id, exc)
        question.done.wait(WITHDRAW_GRACE)
        decision = question.abandon(f"withdrawn: {why}")
        if isinstance(decision, Grant):
            self._end_late(decision, f"withdrawn: {why}")
        return Denial(f"withdrawn: {why}"), why

    def _end_late(self, grant: Grant, reason: str) -> None:
        """End a grant that came when nobody waited for it any more (the app is told the session ended)."""
        log.info("connection %s: a grant came after the engineer stopped waiting (%s); ending it", self.id, reason)
        self._tell_ended(grant, reason)

    def _notify(self, grant: Grant) -> None:
        """Tell the user's app of a session nobody was asked about, in a thread of its own: the command
        does not wait for the app (notify only); the outcome is audited as ``notify``."""
        notify = getattr(self.server.gate, "notify", None)
        if not callable(notify):
            self.audit("notify", delivered=False, how=grant.how, expires=_expiry(grant),
                       reason=f"the consent gate ({type(self.server.gate).__name__}) cannot notify the user")
            return

        def send() -> None:
            try:
                notify(grant)
            except (DesklineError, OSError) as exc:
                self.audit("notify", delivered=False, how=grant.how, expires=_expiry(grant), reason=str(exc))
            except Exception as exc:  # noqa: BLE001 - a broken notifier must not take the session down
                log.warning("connection %s: notifying the user failed: %s", self.id, exc)
                self.audit("notify", delivered=False, how=grant.how, expires=_expiry(grant),
                           reason=f"{type(exc).__name__}: {exc}")
            else:
                self.audit("notify", delivered=True, how=grant.how, expires=_expiry(grant))

        thread = threading.Thread(target=send, daemon=True, name=f"deskline-notify-{self.id}")
        with self._lock:
            self._notifiers.append(thread)
        thread.start()

    def _tell_ended(self, grant: Grant, reason: str) -> None:
        """Tell the gate (the user's app) that the session of ``grant`` is over."""
        ended = getattr(self.server.gate, "ended", None)
        if callable(ended):
            try:
                ended(grant, reason)
            except Exception as exc:  # noqa: BLE001 - telling the app is best effort; the grant is over here
                log.warning("connection %s: could not tell the consent gate the session ended: %s", self.id, exc)


class AgentServer:
    """The listening agent: one thread accepting, one per connection, one per channel.

    ``start()`` binds and returns the address (port 0 picks a free one); ``stop()`` closes every
    connection and waits for their threads.
    """

    def __init__(self, config: ServerConfig, host_key: paramiko.PKey, keys: AuthorizedKeysFile, audit: AuditLog,
                 gate: ConsentGate | None = None) -> None:
        check_paramiko()
        self.config = config
        self.host_key = host_key
        self.keys = keys
        self.audit_log = audit
        self.gate: ConsentGate = gate if gate is not None else DenyAll()
        #: Consent per engineer key and ticket, shared by the connections.
        self.grants = Grants(config.denial_cooldown)
        #: Every probe name (a disabled one is known, and refused as not allowed), and the ones IT left on.
        self.known_probes: tuple[str, ...] = ()
        self.enabled_probes: tuple[str, ...] = ()
        self.audit_failed = False
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._connections: set[_Connection] = set()
        # commands still running, timed-out ones included (a Python thread cannot be killed): capped, so
        # an engineer repeating a command that overruns cannot pile up threads without end
        self.command_slots = threading.BoundedSemaphore(max(1, config.max_sessions * config.max_channels))
        # refusals over max_sessions: at most one record a second, with the count of those folded into it,
        # so a flood of connections cannot rotate the real history out of the audit log
        self._refused_folded = 0
        self._refused_peers: set[str] = set()
        self._last_refusal = -1.0

    @property
    def address(self) -> tuple[str, int]:
        if self._listener is None:
            raise AgentServerError("the agent is not listening")
        host, port = self._listener.getsockname()[:2]
        return str(host), int(port)

    def audit(self, event: str, **fields: Any) -> None:
        try:
            self.audit_log.write(event, **fields)
        except AuditError as exc:
            if not self.audit_failed:
                log.error("%s; commands other than ping are refused until it can be written", exc)
            self.audit_failed = True
        else:
            self.audit_failed = False

    @property
    def probe_settings(self) -> dict[str, Any]:
        """The probes' settings with ``disabled`` holding every probe IT switched off (``[probes]`` and
        ``disabled_probes`` alike), so that asking for one is refused as not allowed, as the dispatcher does."""
        settings = dict(self.config.probe_settings or {})
        settings["disabled"] = sorted({*settings.get("disabled", ()), *self.config.disabled_probes})
        return settings

    def start(self) -> tuple[str, int]:
        """Load the probe table, bind, and start accepting; returns (host, port)."""
        from agent import commands  # imported now, not during the first engineer's command
        from desktop.diagnostics import registry

        disabled = set(self.config.disabled_probes)
        self.known_probes = tuple(p.name for p in registry.probes())
        self.enabled_probes = tuple(n for n in self.known_probes if n not in disabled)
        host, port = self.config.host, self.config.port
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        try:
            listener = socket.create_server((host, port), family=family, backlog=64)
        except OSError as exc:
            raise AgentServerError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
        listener.settimeout(0.25)
        self._listener = listener
        self.keys.current()
        self._thread = threading.Thread(target=self._accept_loop, name="deskline-agent-accept", daemon=True)
        self._thread.start()
        bound = self.address
        log.info("agent listening on %s:%d", *bound)
        self.audit("start", listen=f"{bound[0]}:{bound[1]}", version=__version__)
        if self.config.warm_up:
            config = self.config
            threading.Thread(
                target=lambda: commands.warm_up(self.enabled_probes, probe_settings=config.probe_settings,
                                                thresholds=config.thresholds, pseudonymize=config.pseudonymize,
                                                keep_private_ips=config.keep_private_ips),
                name="deskline-agent-warm-up", daemon=True).start()
        return bound

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stop.is_set():
            try:
                sock, address = self._listener.accept()
            except TimeoutError:
                continue
            except OSError as exc:
                if self._stop.is_set():
                    return
                log.warning("accepting a connection failed: %s", exc)
                time.sleep(0.05)  # EMFILE and friends: do not spin
                continue
            try:
                self._admit(sock, address)
            except Exception:  # noqa: BLE001 - one bad accept must not stop the agent accepting others
                log.exception("could not take the connection from %s", address[0])
                with contextlib.suppress(OSError):
                    sock.close()

    def _admit(self, sock: socket.socket, address: tuple[Any, ...], *, per_address: bool = True) -> None:
        """Take a connection, or close it at once (audited) when ``max_sessions`` are open, or
        ``max_unauthenticated_per_address`` from its address are not logged in yet (``per_address=False``:
        connections forwarded by the bastion, whose address is the bastion's for every engineer)."""
        ip = str(address[0])
        why = ""
        with self._lock:
            # a connection whose client has left no longer counts, even before its thread has released it:
            # an engineer's quick commands one after another must not run into their own leftovers
            live = [c for c in self._connections if not c.gone]
            count = len(live)
            if count >= self.config.max_sessions:
                why = f"{count} sessions already open (max_sessions)"
            elif per_address:
                here = sum(1 for c in live if c.ip == ip and c.authenticating)
                if here >= self.config.max_unauthenticated_per_address:
                    why = (f"{here} connections from {ip} are not authenticated yet "
                           "(max_unauthenticated_per_address)")
            if why:
                connection = None
            else:
                connection = _Connection(self, sock, address)
                self._connections.add(connection)
        if connection is None:
            try:
                sock.close()
            except OSError:
                pass
            now = time.monotonic()
            if now - self._last_refusal >= 1.0:
                self._flush_refusals()
                self._last_refusal = now
                self.audit("refuse", peer=f"{address[0]}:{address[1]}", reason=why)
            else:
                self._refused_folded += 1
                if len(self._refused_peers) < 20:
                    self._refused_peers.add(ip)
            return
        self._flush_refusals()
        connection.audit("connect")
        thread = threading.Thread(target=connection.run, name=f"deskline-agent-{connection.id}", daemon=True)
        connection.thread = thread
        thread.start()

    def _flush_refusals(self) -> None:
        """One record for the refusals folded since the last one (accept thread, or stop())."""
        if self._refused_folded:
            self.audit("refuse", peers=sorted(self._refused_peers), count=self._refused_folded,
                       reason=f"{self._refused_folded} more connections refused: max_sessions sessions were open, "
                              "or max_unauthenticated_per_address from their address were not authenticated yet")
            self._refused_folded = 0
            self._refused_peers.clear()

    def _release(self, connection: _Connection) -> None:
        with self._lock:
            self._connections.discard(connection)

    @property
    def sessions(self) -> int:
        """Connections open now (including those still in their handshake)."""
        with self._lock:
            return len(self._connections)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, end every connection, wait up to ``timeout`` seconds for their threads."""
        self._stop.set()
        if self._listener is not None:
            try:
                self._listener.shutdown(socket.SHUT_RDWR)  # wakes accept() at once (Linux)
            except OSError:
                pass  # other systems: accept() wakes within its 0.25 s timeout
        if self._thread is not None:
            self._thread.join(timeout)
        if self._listener is not None:
            self._listener.close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            connection.close()
        end = time.monotonic() + timeout
        for connection in connections:
            if connection.thread is not None:
                connection.thread.join(max(0.0, end - time.monotonic()))
        ended = getattr(self.gate, "ended", None)
        for grant in self.grants.take_all():  # the app's sessions end with the agent
            if callable(ended):
                try:
                    ended(grant, "the agent stopped")
                except Exception as exc:  # noqa: BLE001 - telling the app is best effort; the agent stops anyway
                    log.warning("could not tell the consent gate a session ended: %s", exc)
        self._flush_refusals()
        self.audit("stop")


# -- the command line's entry points (agent.cli only parses arguments and calls these)

def _say(text: str, *, out: bool = False) -> None:
    """One line for the person at the console: stderr, or stdout for the command's result."""
    stream = sys.stdout if out else sys.stderr
    stream.write(text + "\n")
    stream.flush()


def _chosen_paths(settings: Settings, **flags: str | None) -> dict[str, Path]:
    """Each file's path: its flag, else its ``agent.<name>`` setting, else :func:`default_paths` (asked
    only for the files neither names, so a file left in root's old folder is not warned about then)."""
    chosen = {name: value or settings[f"agent.{name}"] for name, value in flags.items()}
    missing = [name for name, value in chosen.items() if not value]
    defaults = default_paths(missing) if missing else {}
    return {name: Path(value) if value else defaults[name] for name, value in chosen.items()}


def run_fingerprint(*, host_key: str | None = None, config: str | None = None, public: bool = False) -> int:
    """``deskline-agent fingerprint``: print the host key's fingerprint (making the key if there is none)."""
    from agent import hostkey
    from desktop import config as desktop_config

    try:
        settings = desktop_config.load(config)
        path = _chosen_paths(settings, host_key=host_key)["host_key"]
        key, created = hostkey.load_or_create(path)
    except DesklineError as exc:
        _say(f"deskline-agent: {exc}")
        return 2
    if created:
        _say(f"deskline-agent: made a new host key in {path}")
    _say(hostkey.public_line(key) if public else hostkey.fingerprint(key), out=True)
    return 0


#: glibc malloc arenas for ``deskline-agent serve``. Every connection and every probe runs in a thread of its
#: own, and glibc gives threads up to 8 arenas per core; a report's freed memory then stays spread over
#: them. Two arenas: 59 -> 52 MB RSS after 60 commands in ``bench/agent.py``, at no measurable cost in speed.
MALLOC_ARENAS = 2
_M_ARENA_MAX = -8  # mallopt's parameter number in glibc's malloc.h


def limit_malloc_arenas(count: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas for this process (what ``MALLOC_ARENA_MAX`` does when set before start),
    unless ``MALLOC_ARENA_MAX`` is set already. Call it before the process starts threads; arenas made
    earlier stay. Returns whether the cap was applied: only on Linux with glibc."""
    import ctypes

    if not sys.platform.startswith("linux") or "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        if not os.confstr("CS_GNU_LIBC_VERSION"):  # musl and others have no arenas to cap
            return False
        return bool(ctypes.CDLL(None).mallopt(_M_ARENA_MAX, count))
    except (ValueError, OSError, AttributeError):
        return False


def warn_unmatched_unattended(fingerprints: Sequence[str], keys: KeySet, keys_path: Path | str,
                              origins: Mapping[str, str]) -> None:
    """Log a warning for each unattended fingerprint no key of ``keys`` has: it grants nothing (checked
    once, at start; ``origins`` says where a fingerprint was set, else it came from --unattended)."""
    import difflib

    known = {key.fingerprint: key.engineer for key in keys}
    for fp in dict.fromkeys(fingerprints):
        if fp not in known:
            close = difflib.get_close_matches(fp, known, n=1, cutoff=0.8)
            hint = f" (did you mean {close[0]}, {known[close[0]]}?)" if close else ""
            log.warning("unattended key %s (%s) matches no key in %s: it lets nobody run unattended%s",
                        fp, origins.get(fp, "--unattended"), keys_path, hint)


def run_serve(*, listen: str | None = None, authorized_keys: str | None = None, host_key: str | None = None,
              audit_log: str | None = None, config: str | None = None, unattended: Sequence[str] = (),
              gate_factory: Callable[[], ConsentGate] | None = None, ready: Callable[[AgentServer], None] | None = None,
              stop: threading.Event | None = None) -> int:
    """``deskline-agent serve``: run until SIGINT or SIGTERM (or ``stop``), then close every connection.

    Prints ``host key SHA256:...`` and ``listening on HOST:PORT`` to stderr once started. The consent
    gate is ``gate_factory()`` (default: no one to ask, so only IT's ``unattended`` keys run commands
    beyond ``ping``), wrapped in the unattended policy of ``agent.unattended`` plus ``unattended``.
    """
    from agent import hostkey
    from desktop import config as desktop_config

    # paramiko logs a client that just closes its socket ("Connection reset by peer") at ERROR; the
    # agent audits every disconnect itself, so only paramiko's warnings and worse are worth a log line
    logging.getLogger("paramiko.transport").setLevel(logging.CRITICAL)
    try:
        check_paramiko()
        settings = desktop_config.load(config)
        server_config = config_from_settings(settings, listen)
        paths = _chosen_paths(settings, host_key=host_key, authorized_keys=authorized_keys, audit_log=audit_log)
        key_path, keys_path, log_path = paths["host_key"], paths["authorized_keys"], paths["audit_log"]
        key, created = hostkey.load_or_create(key_path)
        audit = AuditLog(log_path, max_bytes=settings["agent.audit_max_bytes"], keep=settings["agent.audit_keep"])
    except DesklineError as exc:
        _say(f"deskline-agent: {exc}")
        return 2
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING, format="deskline-agent: %(levelname)s: %(name)s: %(message)s")
    # paramiko logs every hostile client's failure with a traceback; the audit log already records each
    logging.getLogger("paramiko").setLevel(logging.CRITICAL)
    fallback = gate_factory() if gate_factory is not None else DenyAll()
    fingerprints = [*settings["agent.unattended"], *unattended]
    gate: ConsentGate = UnattendedPolicy(fingerprints, fallback) if fingerprints else fallback
    keys = AuthorizedKeysFile(keys_path)
    origins = dict.fromkeys(settings["agent.unattended"], settings.sources.get("agent.unattended", "settings"))
    warn_unmatched_unattended(fingerprints, keys.current(), keys_path, origins)
    server = AgentServer(server_config, key, keys, audit, gate)
    finished = stop if stop is not None else threading.Event()
    previous: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, lambda *_: finished.set())
    try:
        try:
            host, port = server.start()
        except AgentServerError as exc:
            _say(f"deskline-agent: {exc}")
            return 2
        made = " (new)" if created else ""
        _say(f"deskline-agent: host key {hostkey.fingerprint(key)}{made} in {key_path}")
        _say(f"deskline-agent: {len(keys.current())} engineer key(s) from {keys_path}; audit log {log_path}")
        shown_host = f"[{host}]" if ":" in host else host
        _say(f"deskline-agent: listening on {shown_host}:{port}")
        if ready is not None:
            ready(server)
        while not finished.wait(0.5):
            pass
        _say("deskline-agent: stopping")
        server.stop()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        close = getattr(gate, "close", None) or getattr(fallback, "close", None)
        if callable(close):
            close()
        audit.close()
    return 0
