"""The engineer's console: run one protocol command on one host or a fleet, over SSH.

Layers (as paramiko's own: Transport -> Channel -> SSHClient, and fabric's Connection):

* :class:`Connection` wraps ``paramiko.SSHClient`` for one target: host keys checked against
  known_hosts with a reject policy (an unknown key is refused with its fingerprint and the command to
  trust it on purpose; a changed key is refused louder), keys from ``-i`` or the ssh-agent and the
  default key files, TCP_NODELAY, and explicit deadlines on connect, banner and key exchange, auth,
  channel open and the command (a watchdog closes the connection when the command's time is up, so
  nothing can hang a fleet run).
* A runner sends a :class:`Request` the way a host understands it: :class:`ProtocolRunner` for the
  Deskline agent and for plain OpenSSH with the forced-command dispatcher (the same wire protocol:
  the command as the exec string, JSON arguments on stdin), :class:`PayloadRunner` for accounts with a
  shell (the engine as one script to ``python3 -I -``, see :mod:`agent.payload`).
* :class:`JumpHosts` reaches targets through jump hosts (``--jump``, as ``ssh -J``): a ``direct-tcpip``
  channel through an authenticated connection to the last hop is the target connection's socket, and
  the targets of a run that use the same hops share those connections.
* :func:`run_fleet` runs a request on many targets with bounded concurrency; every host ends as a
  :class:`HostResult` with a status, never as an exception that stops the others.
"""

from __future__ import annotations

import base64
import contextlib
import gc
import getpass
import hashlib
import json
import logging
import os
import re
import select
import shlex
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NoReturn, Protocol, cast

import paramiko
from paramiko.common import OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED, OPEN_FAILED_CONNECT_FAILED

from agent import payload
from agent.bastion import GuardedChannel, quick_ack
from agent.inventory import Target, hop_text, jump_text
from agent.protocol import PROTOCOL_VERSION, Command, ProtocolError, parse
from desktop.diagnostics.registry import PROBES
from desktop.errors import DesklineError, UsageError

log = logging.getLogger("deskline.agent")

DEFAULT_PYTHON = "/usr/bin/python3"
#: Where the Deskline agent listens unless told otherwise (``agent.listen``); OpenSSH's is 22.
AGENT_PORT = 2222
#: The largest answer read from a host (bytes); a full report is well under 1 MB.
MAX_OUTPUT = 32 * 1024 * 1024
#: How much of a host's stderr is kept for messages (bytes, the end of it).
MAX_STDERR = 16 * 1024
#: Algorithms the console never negotiates (CBC, 3DES, SHA-1, MD5), as the agent refuses them too.
WEAK_ALGORITHMS = {
    "ciphers": ["3des-cbc", "aes128-cbc", "aes192-cbc", "aes256-cbc", "blowfish-cbc", "cast128-cbc"],
    "macs": ["hmac-sha1", "hmac-sha1-96", "hmac-md5", "hmac-md5-96", "hmac-sha1-etm@openssh.com",
             "hmac-md5-etm@openssh.com"],
    "kex": ["diffie-hellman-group1-sha1", "diffie-hellman-group14-sha1", "diffie-hellman-group-exchange-sha1"],
    "pubkeys": ["ssh-rsa", "ssh-dss"],
    "keys": ["ssh-rsa", "ssh-dss"],
}

# Statuses of a host in a run.
OK = "ok"                        # answered, ok
FAILED = "failed"                # answered with a refusal (bad arguments, consent required, not allowed, ...)
REFUSED = "refused"              # ran nothing we could read: exec refused, or no answer and an exit code
UNREACHABLE = "unreachable"
HOST_KEY_UNKNOWN = "host_key_unknown"
HOST_KEY_CHANGED = "host_key_changed"
AUTH_FAILED = "auth_failed"
TIMEOUT = "timeout"
BAD_ANSWER = "bad_answer"
ERROR = "error"
STATUSES = (OK, FAILED, REFUSED, UNREACHABLE, HOST_KEY_UNKNOWN, HOST_KEY_CHANGED, AUTH_FAILED, TIMEOUT,
            BAD_ANSWER, ERROR)


class ConsoleError(DesklineError):
    """A host could not be asked or did not answer; ``status`` says how, the message names the host."""

    status = ERROR

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.exit = exit_code

    def for_host(self, name: str) -> ConsoleError:
        """A copy of this error, its message starting with ``name`` (each target behind a jump host
        that failed gets its own)."""
        other = type(self).__new__(type(self))
        other.__dict__.update(self.__dict__)
        other.args = (f"{name}: {self}",)
        return other


class Unreachable(ConsoleError):
    status = UNREACHABLE


class HostKeyUnknown(ConsoleError):
    status = HOST_KEY_UNKNOWN

    def __init__(self, message: str, fingerprint: str) -> None:
        super().__init__(message)
        self.fingerprint = fingerprint


class HostKeyChanged(ConsoleError):
    status = HOST_KEY_CHANGED


class AuthFailed(ConsoleError):
    status = AUTH_FAILED


class Timeout(ConsoleError):
    status = TIMEOUT


class Refused(ConsoleError):
    status = REFUSED


class BadAnswer(ConsoleError):
    status = BAD_ANSWER


def fingerprint(key: paramiko.PKey) -> str:
    """The key's SHA-256 fingerprint as OpenSSH shows it (``SHA256:...``)."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(key.asbytes()).digest()).decode("ascii").rstrip("=")


@dataclass(frozen=True)
class Timeouts:
    """Deadlines in seconds: TCP connect, SSH banner and key exchange, authentication, channel open,
    and the command (from exec to the end of its answer)."""

    connect: float = 5.0
    banner: float = 10.0
    auth: float = 10.0
    channel: float = 10.0
    command: float = 120.0


@dataclass(frozen=True)
class SshOptions:
    """How to reach hosts. ``user`` None: the target's user, else the local user name."""

    user: str | None = None
    key_files: tuple[str, ...] = ()
    known_hosts: tuple[Path, ...] = ()
    user_known_hosts: bool = True
    look_for_keys: bool = True
    allow_agent: bool = True
    #: Agent mode: the ticket the user's consent names, sent as ``LOGIN+TICKET`` in the user name.
    ticket: str | None = None
    timeouts: Timeouts = field(default_factory=Timeouts)
    max_output: int = MAX_OUTPUT
    #: Jump hosts (``--jump``) for targets that name none, first hop first; ``()`` connects directly.
    jump: tuple[Target, ...] = ()
    #: The run's shared jump connections; None: each connection opens (and closes) its own.
    jump_hosts: JumpHosts | None = field(default=None, compare=False, repr=False)

    def known_hosts_files(self) -> list[Path]:
        files = [Path("~/.ssh/known_hosts").expanduser()] if self.user_known_hosts else []
        return files + [p.expanduser() for p in self.known_hosts]


@dataclass(frozen=True)
class Request:
    """One protocol command to run everywhere: its line (``probe cpu memory``) and JSON arguments."""

    line: str
    command: Command
    arguments: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def make(cls, line: str, arguments: dict[str, Any] | None = None) -> Request:
        """Check ``line`` with the protocol's parser first; a bad command is a UsageError here, not N refusals."""
        try:
            command = parse(line, PROBES)
        except ProtocolError as exc:
            raise UsageError(f"command {line!r}: {exc}") from exc
        if arguments and not command.needs_stdin:
            raise UsageError(f"{command.name} takes no arguments")
        return cls(" ".join(line.split()), command, dict(arguments or {}))


@dataclass(frozen=True)
class ExecResult:
    """How a remote command ended: its exit status (-1 when the host sent none), stdout and stderr's end."""

    exit_status: int
    stdout: bytes
    stderr: bytes


class _RefuseUnknownKey(paramiko.RejectPolicy):
    """paramiko's reject policy, with a refusal that shows the key and how to trust it on purpose."""

    def __init__(self, target: Target, where: str | None = None, via: tuple[Target, ...] = ()) -> None:
        self.target = target
        self.where = where
        self.via = via

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> NoReturn:
        raise HostKeyUnknown(unknown_key_message(self.target, key, self.via, self.where), fingerprint(key))


def trust_command(target: Target, key_fingerprint: str, via: Sequence[Target] = ()) -> str:
    """The ``deskline-agent trust`` line for ``target`` (always with its port: ``trust`` defaults to the
    agent's 2222), through the jump hosts ``via`` if it is reached through them."""
    jump = f" --jump {jump_text(via)}" if via else ""
    return f"deskline-agent trust {target.address}{jump} --fingerprint {key_fingerprint}"


def unknown_key_message(target: Target, key: paramiko.PKey, via: Sequence[Target] = (), where: str | None = None
                        ) -> str:
    fp = fingerprint(key)
    return (f"{where or f'{target.name} ({target.address})'}: host key not known: {key.get_name()} {fp}. Compare "
            f"this fingerprint with the one the host shows (the agent prints it at start; on plain OpenSSH: "
            f"ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), then trust it on purpose with: "
            f"{trust_command(target, fp, via)}")


def tcp_connect(host: str, port: int, timeout: float, where: str) -> socket.socket:
    """A TCP connection with TCP_NODELAY; Unreachable (its message starting with ``where``) when it fails."""
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except TimeoutError:
        raise Unreachable(f"{where}: no answer within {timeout:g} s (connect timeout)") from None
    except ConnectionRefusedError:
        raise Unreachable(f"{where}: connection refused (nothing listens on port {port})") from None
    except socket.gaierror as exc:
        raise Unreachable(f"{where}: cannot resolve {host}: {exc.strerror}") from None
    except OSError as exc:
        raise Unreachable(f"{where}: cannot connect: {exc.strerror or exc}") from None
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # about 40 ms faster per round trip
    return sock


def _auth_hint(exc: paramiko.AuthenticationException, user: str) -> str:
    allowed = getattr(exc, "allowed_types", None)
    if allowed:
        return f"the host accepts {', '.join(allowed)}; none of our keys was accepted for {user}"
    return f"none of our keys was accepted for {user} ({exc or 'no reason given'})"


def ssh_connect(host: Target, user: str, sock: socket.socket | paramiko.Channel, options: SshOptions, where: str,
                key_files: Sequence[str], via: tuple[Target, ...] = ()) -> paramiko.SSHClient:
    """An SSH client session with ``host`` over ``sock`` (a TCP socket, or a channel through jump hosts
    ``via``): its host key checked against known_hosts with a reject policy, then key authentication as
    ``user``, within the deadlines of ``options``. Raises a ConsoleError whose message starts with ``where``."""
    t = options.timeouts
    client = paramiko.SSHClient()
    # the keys known for this host only (paramiko looks them up under this name), from the files
    # parsed once per run: parsing a fleet's known_hosts on every connection cost more than the rest
    name = host.known_hosts_name
    known = known_host_keys(options.known_hosts_files()).lookup(name)
    if known:
        ours = client.get_host_keys()  # never written back
        for kind, key in known.items():
            ours.add(name, kind, key)
    client.set_missing_host_key_policy(_RefuseUnknownKey(host, where, via))
    try:
        client.connect(
            hostname=host.host, port=host.port, username=user, sock=sock,
            # paramiko waits ``timeout`` for the key exchange and then carries on silently; the banner
            # deadline inside it must fire first to be reported as what it is.
            timeout=t.banner * 2, banner_timeout=t.banner, auth_timeout=t.auth, channel_timeout=t.channel,
            key_filename=list(key_files) or None,  # type: ignore[arg-type]  # paramiko takes a list as well
            look_for_keys=options.look_for_keys,
            allow_agent=options.allow_agent, disabled_algorithms=WEAK_ALGORITHMS,
            # Password and keyboard-interactive never: the console is key-only.
            password=None, passphrase=None,
        )
    except ConsoleError:
        client.close()
        raise
    except paramiko.BadHostKeyException as exc:
        client.close()
        raise HostKeyChanged(
            f"{where}: HOST KEY CHANGED: known_hosts has {fingerprint(exc.expected_key)}, the host "
            f"offers {exc.key.get_name()} {fingerprint(exc.key)}. This may be an attack or a reinstalled "
            f"host; find out which before removing the old key (ssh-keygen -R "
            f"'{host.known_hosts_name}')") from None
    except paramiko.AuthenticationException as exc:
        client.close()
        if "timeout" in str(exc).lower():
            raise Timeout(f"{where}: authentication did not finish within {t.auth:g} s") from None
        raise AuthFailed(f"{where}: authentication failed: {_auth_hint(exc, user)}") from None
    except paramiko.SSHException as exc:
        client.close()
        text = str(exc)
        if "banner" in text.lower():
            raise Timeout(f"{where}: no SSH banner within {t.banner:g} s ({text})") from None
        if "No authentication methods available" in text or "not a valid" in text.lower():
            raise AuthFailed(f"{where}: no usable key: {text} (give one with -i KEY or load it "
                             f"into ssh-agent)") from None
        if "No existing session" in text:  # the key exchange never finished
            raise Timeout(f"{where}: no SSH handshake within {t.banner * 2:g} s") from None
        if "timeout" in text.lower() or "timed out" in text.lower():
            raise Timeout(f"{where}: {text}") from None
        raise ConsoleError(f"{where}: SSH failed: {text}") from None
    except TimeoutError:
        client.close()
        raise Timeout(f"{where}: SSH handshake did not finish within {t.banner:g} s") from None
    except OSError as exc:
        client.close()
        raise Unreachable(f"{where}: connection lost: {exc.strerror or exc}") from None
    return client


_known_hosts_lock = threading.Lock()
_known_hosts_cache: dict[tuple[tuple[str, int, int], ...], paramiko.HostKeys] = {}


def known_host_keys(paths: Sequence[Path]) -> paramiko.HostKeys:
    """The host keys of the known_hosts ``paths`` that exist, in order (as ``ssh`` reads them), parsed once
    while the files stay unchanged (same size and modification time), and shared: callers only read it."""
    with _known_hosts_lock:
        stamps = []
        for path in paths:
            try:
                st = path.stat()
            except OSError:
                continue
            if path.is_file():
                stamps.append((str(path), st.st_mtime_ns, st.st_size))
        key = tuple(stamps)
        keys = _known_hosts_cache.get(key)
        if keys is None:
            keys = paramiko.HostKeys()
            for path_text, _, _ in stamps:
                try:
                    keys.load(path_text)
                except OSError as exc:
                    raise UsageError(f"{path_text}: cannot read known hosts: {exc.strerror or exc}") from exc
            _known_hosts_cache.clear()  # one run reads one set of files; older versions are of no use
            _known_hosts_cache[key] = keys
        return keys


class Connection:
    """One SSH connection to ``target``, directly or through its jump hosts; use as a context manager,
    then :meth:`exec`."""

    def __init__(self, target: Target, options: SshOptions) -> None:
        self.target = target
        self.options = options
        self.client: paramiko.SSHClient | None = None
        self._expired = False
        self._slot: JumpChannel | None = None
        self._own_jumps: JumpHosts | None = None

    @property
    def user(self) -> str:
        """The SSH user name: the target's, the console's, or the local one; ``+TICKET`` in agent mode."""
        login = self.target.user or self.options.user or getpass.getuser()
        return f"{login}+{self.options.ticket}" if self.options.ticket else login

    @property
    def jump(self) -> tuple[Target, ...]:
        """The jump hosts to go through, first hop first: the target's own, else the console's ``--jump``."""
        return self.target.jump if self.target.jump is not None else self.options.jump

    def _name(self) -> str:
        """The host as messages name it: its name, and where we connect when the name does not say."""
        if self.target.host in self.target.name:
            return self.target.name
        return f"{self.target.name} ({self.user}@{self.target.address})"

    def _where(self) -> str:
        """:meth:`_name`, and the jump hosts when there are some."""
        jump = self.jump
        return f"{self._name()} via {jump_text(jump)}" if jump else self._name()

    def __enter__(self) -> Connection:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            client.close()
        slot, self._slot = self._slot, None
        if slot is not None:
            slot.release()
        own, self._own_jumps = self._own_jumps, None
        if own is not None:
            own.close()

    def _socket(self) -> socket.socket | paramiko.Channel:
        """A TCP connection to the target, or a channel to it through its jump hosts (shared ones when
        ``options.jump_hosts`` is set, else this connection's own, closed with it)."""
        jump = self.jump
        if not jump:
            timeout = self.target.connect_timeout or self.options.timeouts.connect  # ssh config's ConnectTimeout
            return tcp_connect(self.target.host, self.target.port, timeout, self._where())
        pool = self.options.jump_hosts
        if pool is None:
            pool = self._own_jumps = JumpHosts()
        try:
            self._slot = pool.channel(jump, self.target.host, self.target.port, self.options)
        except ConsoleError as exc:
            self.close()
            raise exc.for_host(self._name()) from None
        return self._slot.channel

    def open(self) -> None:
        """Connect (through the jump hosts if any), check the host key and authenticate; raises a
        ConsoleError subclass."""
        # as ssh: the target's own key, then -i, then the ssh config's IdentityFile lines
        key_files = [os.path.expanduser(k) for k in (
            (self.target.key_file,) if self.target.key_file else ()) + self.options.key_files
            + self.target.identity_files]
        sock = self._socket()
        try:
            self.client = ssh_connect(self.target, self.user, sock, self.options, self._where(), key_files, self.jump)
        except BaseException:
            sock.close()
            self.close()
            raise

    def _expire(self) -> None:
        """The watchdog: the command's time is up; closing the transport unblocks every wait."""
        self._expired = True
        if self.client is not None:
            transport = self.client.get_transport()
            if transport is not None:
                transport.close()

    def exec(self, command: str, stdin: bytes = b"", timeout: float | None = None, what: str | None = None
             ) -> ExecResult:
        """Run ``command``, send ``stdin`` and close it, read stdout (capped) and stderr (its end) until the
        command ends; raises Timeout after ``timeout`` seconds (default: the command timeout). ``what``
        names the command in messages (default: the command itself)."""
        if self.client is None:
            raise ConsoleError(f"{self._where()}: not connected")
        transport = self.client.get_transport()
        if transport is None or not transport.is_active():
            raise Unreachable(f"{self._where()}: connection closed")
        t = self.options.timeouts
        timeout = t.command if timeout is None else timeout
        what = what or command
        watchdog = threading.Timer(timeout, self._expire)
        watchdog.daemon = True
        watchdog.start()
        deadline = time.monotonic() + timeout
        try:
            try:
                chan = transport.open_session(timeout=t.channel)
            except paramiko.ChannelException as exc:
                raise Refused(f"{self._where()}: the host refused a session channel: {exc.text}") from None
            except paramiko.SSHException as exc:
                if self._expired:
                    raise Timeout(f"{self._where()}: {what}: no answer within {timeout:g} s") from None
                raise Timeout(f"{self._where()}: no session channel within {t.channel:g} s: {exc}") from None
            try:
                return self._run(chan, command, stdin, deadline, what)
            finally:
                chan.close()
        except (paramiko.SSHException, OSError, EOFError) as exc:
            if self._expired:
                raise Timeout(f"{self._where()}: {what}: no answer within {timeout:g} s") from None
            raise ConsoleError(f"{self._where()}: {what}: connection failed: {exc}") from None
        finally:
            watchdog.cancel()

    def _run(self, chan: paramiko.Channel, command: str, stdin: bytes, deadline: float, what: str) -> ExecResult:
        try:
            chan.exec_command(command)
        except paramiko.SSHException:
            if self._expired:
                raise
            raise Refused(f"{self._where()}: the host refused to run {what!r} (exec request denied)") from None
        chan.settimeout(max(0.1, deadline - time.monotonic()))
        if stdin:
            chan.sendall(stdin)
        chan.shutdown_write()
        out = bytearray()
        err = bytearray()
        while True:
            while chan.recv_ready():
                out += chan.recv(65536)
                if len(out) > self.options.max_output:
                    raise BadAnswer(f"{self._where()}: {what}: answer larger than {self.options.max_output} bytes")
            while chan.recv_stderr_ready():
                err += chan.recv_stderr(65536)
                del err[:-MAX_STDERR]
            if (chan.eof_received or chan.closed) and not chan.recv_ready() and not chan.recv_stderr_ready():
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self._expired:
                raise Timeout(f"{self._where()}: {what}: no answer within the command timeout")
            select.select([chan], [], [], min(remaining, 1.0))
        status = chan.recv_exit_status()  # bounded: the watchdog closes the transport at the deadline
        if self._expired:
            raise Timeout(f"{self._where()}: {what}: no answer within the command timeout")
        return ExecResult(status, bytes(out), bytes(err))


# ------------------------------------------------------------------------------------------ jump hosts

#: How many targets at once share one connection to a jump host; more open another connection.
#: OpenSSH counts only session channels against ``MaxSessions`` (default 10), not the ``direct-tcpip``
#: channels a jump needs, but other servers and admins may cap channels per connection, and one
#: connection is one sshd process (one core) on the jump host and one paramiko thread here.
JUMP_CHANNELS = 10


def _chain_key(chain: Sequence[Target]) -> tuple[tuple[str, str, int], ...]:
    return tuple((hop.user or getpass.getuser(), hop.host, hop.port) for hop in chain)


class JumpChannel:
    """A ``direct-tcpip`` channel through a jump connection, used as the next connection's socket
    (:attr:`channel`, guarded by :class:`agent.bastion.GuardedChannel`); :meth:`release` closes it and
    frees its place on the jump connection."""

    def __init__(self, pool: JumpHosts, link: _JumpLink, channel: paramiko.Channel) -> None:
        self.pool = pool
        self.link = link
        self.channel = cast(paramiko.Channel, GuardedChannel(channel))
        self._released = False

    def release(self) -> None:
        with self.pool._lock:
            if self._released:
                return
            self._released = True
            self.link.users -= 1
        self.channel.close()


class _JumpLink:
    """One authenticated connection to the last hop of ``chain``; ``users`` counts the channels open or
    being opened through it, ``ready`` is set once it is connected or has failed (``error``)."""

    def __init__(self, chain: tuple[Target, ...]) -> None:
        self.chain = chain
        self.client: paramiko.SSHClient | None = None
        self.parent: JumpChannel | None = None  # the channel this connection runs in (second and later hops)
        self.users = 0
        self.ready = threading.Event()
        self.error: ConsoleError | None = None

    @property
    def where(self) -> str:
        return f"jump host {hop_text(self.chain[-1])}"

    def alive(self) -> bool:
        if not self.ready.is_set():
            return True  # still connecting: wait for it rather than open another
        transport = self.client.get_transport() if self.client is not None else None
        return self.error is None and transport is not None and transport.is_active()

    def close(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            client.close()
        parent, self.parent = self.parent, None
        if parent is not None:
            parent.release()


class JumpHosts:
    """The connections to jump hosts of one run, shared by every target that goes through the same hops
    (as ``ssh -J``, one hop or several): a fleet of 100 hosts behind one bastion logs in to it
    ceil(parallel / ``per_connection``) times, not 100 times.

    Each jump connection carries at most ``per_connection`` channels at once; the next target opens
    another connection. Each hop is checked as a target is: its host key against the same known_hosts
    with the reject policy, key authentication only (the same keys, the ssh-agent and the default key
    files; ``-i`` keys given for the target in an inventory are not offered to the hops), the same
    deadlines. A hop that cannot be reached or logged in to fails every target behind it for the rest
    of the run, with the same message, without trying again for each. Thread-safe; :meth:`close` at
    the end of the run.
    """

    def __init__(self, per_connection: int = JUMP_CHANNELS) -> None:
        if per_connection < 1:
            raise UsageError("a jump connection must carry at least one channel")
        self.per_connection = per_connection
        self.connections = 0  #: how many jump connections were opened
        self._lock = threading.Lock()
        self._links: dict[tuple[tuple[str, str, int], ...], list[_JumpLink]] = {}
        self._failed: dict[tuple[tuple[str, str, int], ...], ConsoleError] = {}
        self._all: list[_JumpLink] = []
        self._closed = False

    def channel(self, chain: tuple[Target, ...], host: str, port: int, options: SshOptions) -> JumpChannel:
        """A channel through the hops ``chain`` (first hop first) to ``host:port``, which the last hop
        connects to (and resolves). Raises a ConsoleError whose message starts with the hop that failed."""
        link = self._acquire(chain, options)
        try:
            channel = self._open(link, host, port, options)
        except BaseException:
            with self._lock:
                link.users -= 1
            raise
        return JumpChannel(self, link, channel)

    def _acquire(self, chain: tuple[Target, ...], options: SshOptions) -> _JumpLink:
        key = _chain_key(chain)
        with self._lock:
            if self._closed:
                raise ConsoleError(f"jump host {hop_text(chain[-1])}: the run's jump connections are closed")
            failed = self._failed.get(key)
            if failed is not None:
                raise failed
            links = self._links.setdefault(key, [])
            links[:] = [link for link in links if link.alive()]  # a connection that dropped is replaced
            found = next((link for link in links if link.users < self.per_connection), None)
            link = found or _JumpLink(chain)
            if found is None:
                links.append(link)
                self._all.append(link)
            link.users += 1
        if found is None:
            try:
                self._connect(link, options)
            except ConsoleError as exc:
                link.error = exc
                with self._lock:
                    self._failed[key] = exc
                    link.users -= 1
                raise
            finally:
                link.ready.set()
            return link
        t = options.timeouts
        deadline = len(chain) * (t.connect + 2 * t.banner + t.auth + t.channel) + 5
        if not link.ready.wait(deadline) or link.error is not None or link.client is None:
            with self._lock:
                link.users -= 1
            if link.error is not None:
                raise link.error
            raise Timeout(f"{link.where}: no connection within {deadline:g} s")
        return link

    def _connect(self, link: _JumpLink, options: SshOptions) -> None:
        hop, via = link.chain[-1], link.chain[:-1]
        if via:
            link.parent = self.channel(via, hop.host, hop.port, options)
            sock: socket.socket | paramiko.Channel = link.parent.channel
        else:
            sock = quick_ack(tcp_connect(hop.host, hop.port, options.timeouts.connect, link.where))
        try:
            link.client = ssh_connect(hop, hop.user or getpass.getuser(), sock, options, link.where,
                                      [os.path.expanduser(k) for k in options.key_files + hop.identity_files], via)
        except BaseException:
            sock.close()
            link.close()
            raise
        with self._lock:
            self.connections += 1
        log.debug("%s: connected (%d jump connection(s) in this run)", link.where, self.connections)

    def _open(self, link: _JumpLink, host: str, port: int, options: SshOptions) -> paramiko.Channel:
        t = options.timeouts
        dest = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        transport = link.client.get_transport() if link.client is not None else None
        if transport is None or not transport.is_active():
            raise Unreachable(f"{link.where}: the connection to it was lost")
        try:
            return transport.open_channel("direct-tcpip", (host, port), ("127.0.0.1", 0), timeout=t.channel)
        except paramiko.ChannelException as exc:
            if exc.code == OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED:
                raise Refused(f"{link.where} refused to forward to {dest} ({exc.text}): it allows this account no "
                              f"TCP forwarding there (sshd's AllowTcpForwarding or PermitOpen, or restrict or "
                              f"permitopen in its authorized_keys)") from None
            if exc.code == OPEN_FAILED_CONNECT_FAILED:
                # paramiko keeps only the code's name ("Connect failed"), not the jump host's reason
                raise Unreachable(f"{link.where} cannot reach {dest} (connect failed: nothing listens there, or "
                                  f"no route from the jump host)") from None
            raise Refused(f"{link.where} refused to forward to {dest}: {exc.text} (code {exc.code})") from None
        except paramiko.SSHException as exc:
            if "timeout" in str(exc).lower():
                raise Timeout(f"{link.where}: no answer about {dest} within {t.channel:g} s") from None
            raise Unreachable(f"{link.where}: the connection to it was lost: {exc}") from None
        except (OSError, EOFError) as exc:
            raise Unreachable(f"{link.where}: the connection to it was lost: {exc}") from None

    def close(self) -> None:
        """Close every jump connection (the channels through them end with them)."""
        with self._lock:
            self._closed = True
            links, self._all = self._all, []
            self._links.clear()
        for link in sorted(links, key=lambda x: -len(x.chain)):  # the inner connections first
            link.close()


# ------------------------------------------------------------------------------------------ runners

class Runner(Protocol):
    """Sends a request to a connected host the way that host understands it; returns the answer document."""

    mode: str

    def run(self, conn: Connection, request: Request) -> dict[str, Any]: ...


def _stderr_tail(stderr: bytes, limit: int = 300) -> str:
    text = stderr.decode("utf-8", "replace").strip()
    return ("…" + text[-limit:]) if len(text) > limit else text


class AnswerDocument(dict[str, Any]):
    """An answer document as parsed, with ``raw``: its JSON text as received when that is one line of
    UTF-8 (else None). ``--format jsonl`` writes ``raw`` instead of encoding the document again (a full
    report is about 90 KB: re-encoding a fleet's answers cost the console about 1 ms a host)."""

    raw: str | None = None


def read_answer(where: str, what: str, result: ExecResult, stdout: bytes | None = None) -> AnswerDocument:
    """The answer document in ``stdout``; Refused when there is none, BadAnswer when it is not one."""
    data = result.stdout if stdout is None else stdout
    lines = data.rstrip(b"\n").rsplit(b"\n", 1)
    if len(lines) == 2 and lines[1].startswith(b"{"):
        # The answer is one line; anything before it was printed by the account's shell (a chatty
        # ~/.bashrc runs even for forced commands) and is not ours.
        log.info("%s: %d bytes before the answer ignored", where, len(lines[0]))
        data = lines[1]
    if not data.strip():
        detail = _stderr_tail(result.stderr) or "nothing on stderr"
        code = "no exit status" if result.exit_status < 0 else f"exit {result.exit_status}"
        raise Refused(f"{where}: {what}: no answer ({code}): {detail}", result.exit_status)
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadAnswer(f"{where}: {what}: the answer is not JSON ({exc}); it starts "
                        f"{data[:80].decode('utf-8', 'replace')!r}", result.exit_status) from None
    if not isinstance(document, dict) or "ok" not in document or "exit" not in document:
        raise BadAnswer(f"{where}: {what}: the answer is not a Deskline answer document", result.exit_status)
    if document.get("protocol") != PROTOCOL_VERSION:
        raise BadAnswer(f"{where}: {what}: protocol version {document.get('protocol')!r} is not supported "
                        f"(this console speaks {PROTOCOL_VERSION})", result.exit_status)
    answer = AnswerDocument(document)
    try:
        text = bytes(data).strip().decode("utf-8")
    except UnicodeDecodeError:  # json.loads also reads UTF-16 and UTF-32: encode those again
        text = ""
    if text.startswith("{") and "\n" not in text and "\r" not in text:
        answer.raw = text
    return answer


class ProtocolRunner:
    """The Deskline protocol over an SSH exec channel: the Deskline agent (``mode="agent"``) or plain
    OpenSSH with the forced-command dispatcher (``mode="dispatch"``), which speak it alike."""

    def __init__(self, mode: str = "agent") -> None:
        self.mode = mode

    def run(self, conn: Connection, request: Request) -> dict[str, Any]:
        stdin = json.dumps(request.arguments).encode("utf-8") if request.arguments else b""
        result = conn.exec(request.line, stdin)
        return read_answer(conn._where(), request.line, result)


class PayloadRunner:
    """Agentless, for accounts with a shell: the engine as one script on stdin of ``python3 -I -``."""

    mode = "payload"

    def __init__(self, python: str = DEFAULT_PYTHON) -> None:
        if not python.startswith("/"):
            raise UsageError(f"--python must be an absolute path, not {python!r} (the account's PATH is not used)")
        self.python = python

    def command_line(self, conn: Connection, request: Request) -> str:
        """``/usr/bin/python3 -I - probe cpu``: every word is a checked protocol word, quoted anyway."""
        return shlex.join([conn.target.python or self.python, "-I", "-", *request.line.split()])

    def run(self, conn: Connection, request: Request) -> dict[str, Any]:
        marker = payload.new_marker()
        timeout = conn.options.timeouts.command
        script = payload.script(request.arguments, marker, timeout=max(1, int(timeout) - 1))
        result = conn.exec(self.command_line(conn, request), script, what=request.line)
        noise, answer = payload.split_answer(result.stdout, marker)
        if noise.strip():
            log.info("%s: the account's shell printed %d bytes before the answer (ignored)", conn._where(), len(noise))
        return read_answer(conn._where(), request.line, result, answer)


def make_runner(mode: str, python: str = DEFAULT_PYTHON) -> Runner:
    if mode in ("agent", "dispatch"):
        return ProtocolRunner(mode)
    if mode == "payload":
        return PayloadRunner(python)
    raise UsageError(f"unknown mode {mode!r}: agent, dispatch or payload")


# ------------------------------------------------------------------------------------------ fleets

@dataclass
class HostResult:
    """How one host ended: ``status`` (see :data:`STATUSES`), the answer document when there is one,
    the message when not ok, the exit code (the answer's, or the remote command's), wall time in ms."""

    target: Target
    mode: str
    status: str
    duration_ms: float
    document: dict[str, Any] | None = None
    error: str | None = None
    exit: int | None = None

    @property
    def ok(self) -> bool:
        return self.status == OK

    def json_line(self) -> str:
        """:meth:`to_json` as one line of JSON (and a newline), with the answer as received when it was
        one line (see :class:`AnswerDocument`): the same JSON, without encoding a large answer again."""
        data = self.to_json()
        raw = getattr(self.document, "raw", None)
        if raw is None:
            return json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n"
        data["answer"] = None
        head = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        assert head.endswith(',"answer":null}')
        return head[: -len("null}")] + raw + "}\n"

    def to_json(self) -> dict[str, Any]:
        """One line of ``--format jsonl``."""
        return {
            "host": self.target.name, "address": self.target.address, "mode": self.mode, "status": self.status,
            "ok": self.ok, "exit": self.exit, "duration_ms": round(self.duration_ms, 1), "error": self.error,
            "answer": self.document,
        }


def run_host(target: Target, request: Request, runner: Runner, options: SshOptions) -> HostResult:
    """Connect, run, close; every failure becomes the host's status, nothing is raised."""
    start = time.perf_counter()

    def done(status: str, document: dict[str, Any] | None = None, error: str | None = None,
             exit_code: int | None = None) -> HostResult:
        return HostResult(target, runner.mode, status, (time.perf_counter() - start) * 1000, document, error,
                          exit_code)

    try:
        with Connection(target, options) as conn:
            document = runner.run(conn, request)
    except ConsoleError as exc:
        log.info("%s", exc)
        return done(exc.status, error=str(exc), exit_code=exc.exit)
    except UsageError as exc:
        return done(ERROR, error=f"{target.name}: {exc}")
    except Exception as exc:  # noqa: BLE001 - one host's failure never aborts the fleet; logged as a bug
        log.exception("%s: unexpected failure", target.name)
        return done(ERROR, error=f"{target.name}: {type(exc).__name__}: {exc}")
    if document.get("ok"):
        return done(OK, document, exit_code=int(document.get("exit", 0)))
    err = document.get("error") or {}
    return done(FAILED, document, f"{target.name}: {err.get('code', 'refused')}: {err.get('message', '')}",
                int(document.get("exit", -1)))


ProgressCallback = Callable[[HostResult, int, int], None]


def run_fleet(
    targets: Sequence[Target],
    request: Request,
    runner: Runner,
    options: SshOptions,
    *,
    parallel: int = 10,
    progress: ProgressCallback | None = None,
) -> list[HostResult]:
    """Run ``request`` on every target, at most ``parallel`` at once; results in target order."""
    if parallel < 1:
        raise UsageError("--parallel must be at least 1")
    if not targets:
        return []
    results: list[HostResult | None] = [None] * len(targets)
    with _rare_full_collections(), \
            ThreadPoolExecutor(max_workers=min(parallel, len(targets)), thread_name_prefix="deskline-run") as pool:
        futures = {pool.submit(run_host, t, request, runner, options): i for i, t in enumerate(targets)}
        for count, future in enumerate(as_completed(futures), 1):
            result = future.result()
            results[futures[future]] = result
            if progress is not None:
                progress(result, count, len(targets))
    return [r for r in results if r is not None]


#: Young collections before the collector considers a full one, during a fleet run (Python's default: 10).
FLEET_GC_THRESHOLD2 = 100


@contextlib.contextmanager
def _rare_full_collections() -> Iterator[None]:
    """The answers a fleet run keeps (a full report is some 10,000 objects) make each full collection of
    the cyclic garbage collector cost more as the run goes: 2 or 3 of them took 180-280 ms of the
    console's 0.6-1.1 s for 100 reports. Considering a full collection ten times less often leaves one,
    while the young collections that free each connection's reference cycles run as before."""
    low, middle, high = gc.get_threshold()
    gc.set_threshold(low, middle, max(high, FLEET_GC_THRESHOLD2))
    try:
        yield
    finally:
        gc.set_threshold(low, middle, high)


# ------------------------------------------------------------------------------------------ trust

def fetch_host_key(target: Target, timeouts: Timeouts | None = None, options: SshOptions | None = None
                   ) -> paramiko.PKey:
    """The host key ``target`` offers (key exchange only, no authentication). ``options`` say how to
    reach it through jump hosts (``jump``; the hops are checked and logged in to as in a run), and its
    deadlines unless ``timeouts`` are given."""
    if options is None:
        options = SshOptions(timeouts=timeouts or Timeouts())
    elif timeouts is not None:
        options = replace(options, timeouts=timeouts)
    t = options.timeouts
    conn = Connection(target, options)
    try:
        sock = conn._socket()
        transport = paramiko.Transport(sock, disabled_algorithms=WEAK_ALGORITHMS)
        transport.banner_timeout = t.banner
        try:
            transport.start_client(timeout=t.banner)
            return transport.get_remote_server_key()
        except (paramiko.SSHException, EOFError, OSError) as exc:
            raise ConsoleError(f"{conn._where()} ({target.address}): cannot read its host key: {exc}") from None
        finally:
            transport.close()
    finally:
        conn.close()


def trust(
    target: Target,
    known_hosts: Path,
    expected: str | None,
    confirm: Callable[[str], bool] | None = None,
    timeouts: Timeouts | None = None,
    options: SshOptions | None = None,
) -> str:
    """Add the host key ``target`` offers to ``known_hosts`` on purpose, and return its fingerprint.

    With ``expected`` (``SHA256:...``, from the host's owner) the key is added only if it matches; without
    it, ``confirm(message)`` must say yes after seeing the fingerprint. Raises HostKeyUnknown otherwise.
    ``options`` say how to reach the host (jump hosts, keys for them, known_hosts to check them against).
    """
    key = fetch_host_key(target, timeouts, options)
    fp = fingerprint(key)
    jump = target.jump if target.jump is not None else (options.jump if options is not None else ())
    where = f"{target.name} ({target.address}{f' via {jump_text(jump)}' if jump else ''})"
    if expected is not None:
        if expected.strip() != fp:
            raise HostKeyUnknown(f"{where} offers {key.get_name()} {fp}, not the "
                                 f"expected {expected.strip()}: not trusted", fp)
    elif confirm is None or not confirm(f"{target.address} offers {key.get_name()} {fp}"):
        raise HostKeyUnknown(f"{where}: {key.get_name()} {fp} not trusted "
                             f"(give --fingerprint after checking it with the host's owner)", fp)
    known_hosts = known_hosts.expanduser()
    if not known_hosts.parent.exists():
        known_hosts.parent.mkdir(mode=0o700, parents=True)
    existing = paramiko.HostKeys(str(known_hosts)) if known_hosts.is_file() else paramiko.HostKeys()
    if existing.check(target.known_hosts_name, key):
        return fp
    line = f"{target.known_hosts_name} {key.get_name()} {key.get_base64()}\n"
    fd = os.open(known_hosts, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a") as fh:
        fh.write(line)
    log.info("trusted %s %s for %s in %s", key.get_name(), fp, target.known_hosts_name, known_hosts)
    return fp


# ------------------------------------------------------------------------------------------ the CLI

def request_from(probe: Sequence[str] | None, report: bool, check: bool, ping: bool, logs: str | None,
                 since: str | None, arguments: Sequence[str] = ()) -> Request:
    """The request a ``run`` command line asks for; ``arguments`` are ``KEY=VALUE`` (JSON values allowed)."""
    if probe:
        line = " ".join(("probe", *probe))
    elif report:
        line = "report"
    elif check:
        line = "check"
    elif ping:
        line = "ping"
    elif logs:
        line = f"logs {logs}" + (f" --since {since}" if since else "")
    else:
        raise UsageError("say what to run: --probe NAME..., --report, --check, --ping or --logs SOURCE")
    if since and not logs:
        raise UsageError("--since goes with --logs")
    parsed: dict[str, Any] = {}
    for item in arguments:
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise UsageError(f"--arg {item!r}: use KEY=VALUE")
        try:
            parsed[key] = json.loads(value)
        except ValueError:
            parsed[key] = value
    return Request.make(line, parsed)


def run_command(
    *,
    targets: Sequence[str],
    targets_files: Sequence[str],
    inventories: Sequence[str],
    limit: str | None,
    request: Request,
    mode: str,
    python: str,
    parallel: int,
    user: str | None,
    identities: Sequence[str],
    known_hosts: Sequence[str],
    ticket: str | None,
    connect_timeout: float | None,
    timeout: float,
    fmt: str,
    output: str | None,
    progress: bool,
    attach: str | None = None,
    config: str | None = None,
    jump: str | None = None,
    ssh_config: str | None = None,
) -> int:
    """``deskline-agent run``: 0 when every host answered ok, 1 when some did not, 2 on bad input.
    ``jump``: ``--jump`` (the jump hosts of targets that name none); ``ssh_config``: ``-F`` (an OpenSSH
    client config file, ``none``, or None for ~/.ssh/config if it exists); ``connect_timeout`` None: the
    ssh config's ConnectTimeout, else 5 s."""
    import sys

    from agent import output as out
    from agent.inventory import gather, parse_jump
    from agent.ssh_config import SshConfig
    from desktop.diagnostics.bundle import write_atomic

    try:
        chosen = gather(targets, targets_files=[Path(p) for p in targets_files],
                        inventories=[Path(p) for p in inventories], limit=limit,
                        default_port=AGENT_PORT if mode == "agent" else 22)
        if not chosen:
            raise UsageError("no targets: name hosts, or give --targets FILE or --inventory FILE")
        if ticket is not None:
            if mode != "agent":
                raise UsageError("--ticket is for agent mode (the agent asks the user's consent naming it)")
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}", ticket):
                raise UsageError(f"bad ticket {ticket!r}: letters, digits and _.:- only")
        for path in known_hosts:
            if not Path(path).expanduser().is_file():
                raise UsageError(f"{path}: no such known_hosts file")
        if attach is not None:
            from agent.attach import check_ticket

            check_ticket(attach)
        runner = make_runner(mode, python)
        hops = parse_jump(jump, "--jump: ") if jump else ()
        extra_known: list[Path] = []
        ssh = SshConfig.load(ssh_config)  # once per run
        if ssh is not None:
            chosen = [ssh.apply(t, mode=mode, user_given=user is not None, jump_given=jump is not None,
                                timeout_given=connect_timeout is not None) for t in chosen]
            hops = ssh.hops(hops)
            extra_known = ssh.known_hosts
        jumps = JumpHosts()
        options = SshOptions(
            user=user, key_files=tuple(identities),
            known_hosts=tuple(Path(p) for p in known_hosts) + tuple(extra_known), ticket=ticket,
            timeouts=Timeouts(connect=connect_timeout if connect_timeout is not None else Timeouts().connect,
                              command=timeout),
            jump=hops, jump_hosts=jumps,
        )
        bar = out.ProgressBar(enabled=None if progress else False)
        try:
            results = run_fleet(chosen, request, runner, options, parallel=parallel, progress=bar)
        finally:
            jumps.close()
        text = out.render_results(results, fmt, title=f"Deskline: {request.line} on {len(results)} hosts")
        if output:
            write_atomic(Path(output), text.encode("utf-8"))
            print(out.totals(results), file=sys.stderr)  # noqa: T201 - the CLI's own summary line
        else:
            sys.stdout.write(text)
    except DesklineError as exc:
        print(f"deskline-agent run: {exc}", file=sys.stderr)  # noqa: T201 - the CLI's error line
        return 2
    status = 0 if all(r.ok for r in results) else 1
    if attach is not None:
        from agent.attach import attach_results

        try:
            print(attach_results(results, attach, request.line, config), file=sys.stderr)  # noqa: T201
        except DesklineError as exc:
            print(f"deskline-agent run: the results were not attached to {attach}: {exc}",  # noqa: T201
                  file=sys.stderr)
            return 1
    return status


def run_trust(target: str, fingerprint_text: str | None, known_hosts: str | None, connect_timeout: float | None,
              mode: str = "agent", jump: str | None = None, identities: Sequence[str] = (),
              ssh_config: str | None = None) -> int:
    """``deskline-agent trust HOST[:PORT]``: add the host's key to known_hosts after checking its fingerprint.

    Without a port, ``mode`` says which: the agent's 2222 (``agent``, the default, as ``run``), else
    OpenSSH's 22. Through ``jump`` hosts (``--jump``), whose keys must be known already (in
    ~/.ssh/known_hosts or ``known_hosts``) and which are logged in to with ``identities``, the ssh-agent
    and the default keys. ``ssh_config`` as ``run``'s ``-F``: the host may be an alias of it."""
    import sys

    from agent.inventory import parse_jump, parse_target
    from agent.ssh_config import SshConfig

    path = Path(known_hosts or "~/.ssh/known_hosts").expanduser()

    def ask(message: str) -> bool:
        if not sys.stdin.isatty():
            return False
        answer = input(f"{message}\nHave you checked this fingerprint with the host's owner? Trust it? [y/N] ")
        return answer.strip().lower() in ("y", "yes")

    try:
        if mode not in ("agent", "dispatch", "payload"):
            raise UsageError(f"unknown mode {mode!r}: agent, dispatch or payload")
        host = parse_target(target, "target: ", AGENT_PORT if mode == "agent" else 22)
        hops = parse_jump(jump, "--jump: ") if jump else ()
        extra_known: list[Path] = []
        ssh = SshConfig.load(ssh_config)
        if ssh is not None:
            host = ssh.apply(host, mode=mode, jump_given=jump is not None,
                             timeout_given=connect_timeout is not None)
            hops = ssh.hops(hops)
            extra_known = [p for p in ssh.known_hosts if p != path]
        options = SshOptions(key_files=tuple(identities),
                             known_hosts=((path,) if path.is_file() else ()) + tuple(extra_known),
                             timeouts=Timeouts(connect=connect_timeout if connect_timeout is not None
                                               else Timeouts().connect),
                             jump=hops)
        fp = trust(host, path, fingerprint_text, ask, options=options)
    except DesklineError as exc:
        print(f"deskline-agent trust: {exc}", file=sys.stderr)  # noqa: T201 - the CLI's error line
        return 2 if isinstance(exc, UsageError) else 1
    print(f"trusted {host.address}: {fp} (in {path})")  # noqa: T201 - the CLI's result line
    return 0
