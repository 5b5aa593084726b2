"""Reachability behind NAT: ``deskline-agent serve --via user@bastion[:port]``.

The agent keeps one outbound SSH connection (paramiko's client) to a stock OpenSSH bastion and asks it
for a remote port forward on the bastion's loopback (``tcpip-forward``, as ``ssh -R`` does). Each
connection an engineer makes to that port arrives as a ``forwarded-tcpip`` channel; the agent runs its
own SSH server over that channel exactly as over a TCP socket (a paramiko server Transport only needs
something with send, recv, settimeout and close). Engineers reach the agent with ``ProxyJump``::

    ssh -J engineer@bastion -p 2222 engineer@localhost probe cpu

so the engineer's session stays end-to-end encrypted with the agent and checked against the agent's
host key; the bastion only carries bytes.

* The bastion's host key is checked against a known_hosts file with paramiko's RejectPolicy: an
  unknown or changed key is refused (and retried with backoff, so fixing known_hosts heals the link).
* The agent logs in with its own host key by default: IT lists it on the bastion, ideally as
  ``restrict,port-forwarding,permitlisten="localhost:2222" ssh-ed25519 AAAA...``.
* Keepalives every ``keepalive`` seconds notice a dead link; the link is then rebuilt with exponential
  backoff and full jitter (``backoff_base * 2**attempt``, capped at ``backoff_cap``, times a random
  factor from 0.5 to 1), reset once a link has stayed up for a minute.
* ``GatewayPorts no`` on the bastion (OpenSSH's default) keeps the forwarded port on its loopback;
  the agent asks for ``localhost`` anyway.
* The peer address an engineer's connection shows in the agent's audit log (and which ``from=``
  options see) is the bastion-side origin of the forwarded connection, normally the bastion's loopback.
  Since that address is the same for every engineer, forwarded connections count only against
  ``max_sessions``, not against the per-address limit (``MAX_UNAUTHENTICATED_PER_ADDRESS``).
"""

from __future__ import annotations

import contextlib
import logging
import random
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import paramiko
from paramiko.pkey import UnknownKeyType

from desktop.errors import ConfigError, DesklineError

log = logging.getLogger("deskline.agent")

_VIA = re.compile(r"^(?P<user>[A-Za-z0-9._][A-Za-z0-9._-]{0,63})@(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]{1,253})"
                  r"(?::(?P<port>\d{1,5}))?$")


class BastionError(DesklineError):
    """The bastion link cannot be set up as asked (bad address, unreadable key or known_hosts)."""


@dataclass(frozen=True)
class Via:
    """``user@host[:port]`` of the bastion."""

    user: str
    host: str
    port: int = 22

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.user}@{host}:{self.port}"


def parse_via(text: str) -> Via:
    """``user@bastion[:port]`` (``user@[v6]:port`` for IPv6) -> Via. Raises ConfigError."""
    m = _VIA.match(text.strip())
    if not m:
        raise ConfigError(f"--via {text!r}: use USER@HOST or USER@HOST:PORT, for example deskline@bastion.example.org")
    port = int(m.group("port") or 22)
    if not 1 <= port <= 65535:
        raise ConfigError(f"--via {text!r}: the port must be a number from 1 to 65535")
    return Via(m.group("user"), m.group("host").strip("[]"), port)


class GuardedChannel:
    """A channel used as the socket of an SSH connection carried inside it, whose :meth:`close` can
    never overtake a :meth:`send`.

    paramiko's Channel checks that it is open and then sends outside its lock, so a write of the inner
    connection (its reader thread answering the peer) can reach the OpenSSH bastion after the close
    another thread sent. OpenSSH frees a channel once both sides have closed it and then drops the whole
    connection on data for it ("data packet referred to nonexistent channel"): every other session on
    that connection went with it (in about one console fleet run in four through a shared jump host).
    """

    def __init__(self, channel: paramiko.Channel) -> None:
        self.channel = channel
        self._send_lock = threading.Lock()
        self._closed = False

    def send(self, data: bytes) -> int:
        with self._send_lock:  # bounded: a wait for window ends at the channel's timeout (paramiko's 0.1 s)
            if self._closed:
                raise OSError("channel closed")
            return int(self.channel.send(data))

    def close(self) -> None:
        with self._send_lock:
            self._closed = True
            self.channel.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.channel, name)


class ChannelSocket(GuardedChannel):
    """A forwarded channel dressed as the accepted socket the agent's server expects.

    Socket options (TCP_NODELAY) mean nothing on a channel and are ignored; everything else is the
    channel's own (send, recv, settimeout, close, ...), with :class:`GuardedChannel`'s send and close.
    """

    def __init__(self, channel: paramiko.Channel, origin: tuple[str, int]) -> None:
        super().__init__(channel)
        self.origin = origin

    def setsockopt(self, *args: Any) -> None:
        """No-op: a channel has no TCP options (the link's own socket has TCP_NODELAY)."""

    def getpeername(self) -> tuple[str, int]:
        return self.origin


_TCP_QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)


class QuickAckSocket:
    """A TCP socket that acknowledges at once what it receives (Linux's TCP_QUICKACK, set again after
    every read, as the kernel drops it), for connections to an OpenSSH bastion.

    sshd turns Nagle's algorithm off (TCP_NODELAY) only when a session starts, never on a connection
    that carries only forwarded channels (the agent's link, an engineer's jump), so each small packet
    it forwards after the first waits for our ACK, which Linux delays by up to 40 ms: a ``ping``
    through a jump host took 45 ms instead of 3 ms on loopback, and through ``serve --via`` 125 ms."""

    def __init__(self, sock: socket.socket, option: int) -> None:
        self.sock = sock
        self.option = option

    def recv(self, size: int) -> bytes:
        data = self.sock.recv(size)
        with contextlib.suppress(OSError):  # the socket closed meanwhile: the next read says so
            self.sock.setsockopt(socket.IPPROTO_TCP, self.option, 1)
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sock, name)


def quick_ack(sock: socket.socket) -> socket.socket:
    """``sock`` wrapped in :class:`QuickAckSocket` where the system has TCP_QUICKACK, else itself."""
    # paramiko uses what a socket has; the wrapper passes everything but recv through
    return sock if _TCP_QUICKACK is None else cast(socket.socket, QuickAckSocket(sock, _TCP_QUICKACK))


Handler = Callable[[ChannelSocket, tuple[str, int]], None]


class BastionLink:
    """Keeps the outbound link and its remote port forward up; hands each forwarded channel to ``handle``.

    ``handle(sock, origin)`` is called on paramiko's transport thread and must not block (the agent's
    server only admits the connection and starts its thread). ``up`` is set while the forward is in place.
    """

    def __init__(self, via: Via, *, key: paramiko.PKey, known_hosts: str | Path, handle: Handler,
                 remote_port: int = 2222, remote_host: str = "localhost", connect_timeout: float = 10.0,
                 keepalive: float = 15.0, backoff_base: float = 1.0, backoff_cap: float = 60.0,
                 stable_after: float = 60.0) -> None:
        self.via = via
        self.key = key
        self.known_hosts = Path(known_hosts)
        self.handle = handle
        self.remote_port = remote_port
        self.remote_host = remote_host
        self.connect_timeout = connect_timeout
        self.keepalive = keepalive
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.stable_after = stable_after
        self.up = threading.Event()
        self.links = 0  #: how many times the forward was set up
        self.attempts = 0  #: how many times a link was tried
        self.last_error = ""
        self._stop = threading.Event()
        self._client: paramiko.SSHClient | None = None
        self._thread: threading.Thread | None = None
        self._random = random.Random()

    def start(self) -> None:
        if not self.known_hosts.is_file():
            raise BastionError(f"{self.known_hosts}: no known_hosts file to check the bastion {self.via.host} "
                               "against (add its key with `deskline-agent trust`)")
        self._thread = threading.Thread(target=self._run, name="deskline-agent-bastion", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        client = self._client
        if client is not None:
            client.close()
        if self._thread is not None:
            self._thread.join(timeout)
        self.up.clear()

    def delay(self, attempt: int) -> float:
        """Seconds to wait before reconnection ``attempt`` (0-based): capped exponential, with jitter."""
        return min(self.backoff_cap, self.backoff_base * 2 ** min(attempt, 30)) * self._random.uniform(0.5, 1.0)

    def _run(self) -> None:
        attempt = 0
        while not self._stop.is_set():
            began = time.monotonic()
            try:
                self._link()
            except (OSError, paramiko.SSHException, EOFError, BastionError) as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.warning("bastion %s: %s", self.via, exc or type(exc).__name__)
            finally:
                self.up.clear()
                client, self._client = self._client, None
                if client is not None:
                    client.close()
            if self._stop.is_set():
                return
            if time.monotonic() - began >= self.stable_after:
                attempt = 0
            wait = self.delay(attempt)
            attempt += 1
            log.info("bastion %s: reconnecting in %.1f s", self.via, wait)
            self._stop.wait(wait)

    def _link(self) -> None:
        """One link: connect, check the host key, log in, ask for the forward, then watch it until it drops."""
        self.attempts += 1
        sock = socket.create_connection((self.via.host, self.via.port), timeout=self.connect_timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client = paramiko.SSHClient()
        self._client = client
        try:
            client.get_host_keys().load(str(self.known_hosts))
        except OSError as exc:
            sock.close()
            raise BastionError(f"{self.known_hosts}: cannot read: {exc.strerror or exc}") from exc
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        try:
            client.connect(self.via.host, self.via.port, username=self.via.user, pkey=self.key, sock=quick_ack(sock),
                           timeout=self.connect_timeout, banner_timeout=self.connect_timeout,
                           auth_timeout=self.connect_timeout, channel_timeout=self.connect_timeout,
                           look_for_keys=False, allow_agent=False)
        except paramiko.BadHostKeyException as exc:
            raise BastionError(f"the bastion's host key changed ({exc}): refusing to connect") from exc
        except paramiko.SSHException as exc:
            if "not found in known_hosts" in str(exc):
                raise BastionError(f"the bastion's host key is not in {self.known_hosts}: {exc}") from exc
            raise
        transport = client.get_transport()
        if transport is None:
            raise paramiko.SSHException("no transport after connecting")
        transport.set_keepalive(max(1, int(self.keepalive)))
        # global_request() waits without a deadline: a bastion that never answers gets its link closed
        watchdog = threading.Timer(self.connect_timeout, transport.close)
        watchdog.start()
        try:
            port = transport.request_port_forward(self.remote_host, self.remote_port, handler=self._forwarded)
        finally:
            watchdog.cancel()
        self.links += 1
        self.last_error = ""
        self.up.set()
        log.info("bastion %s: engineers reach this agent at %s:%d on the bastion (link %d)",
                 self.via, self.remote_host, port, self.links)
        while not self._stop.wait(0.5):
            if not transport.is_active():
                failure = transport.get_exception()
                reason = f" ({failure or type(failure).__name__})" if failure is not None else ""
                raise EOFError(f"the link dropped{reason}")

    def _forwarded(self, channel: paramiko.Channel, origin: tuple[str, int], server: tuple[str, int]) -> None:
        try:
            self.handle(ChannelSocket(channel, (str(origin[0]), int(origin[1]))), (str(origin[0]), int(origin[1])))
        except Exception:  # noqa: BLE001 - one bad hand-over must not take the link (paramiko's thread) down
            log.exception("bastion %s: could not hand a forwarded connection to the agent", self.via)
            channel.close()


def load_key(path: str | Path) -> paramiko.PKey:
    """The private key in ``path`` to log in to the bastion with: any type paramiko reads (ed25519, ECDSA,
    RSA; OpenSSH or PEM format), without a passphrase (the agent runs unattended). Raises BastionError
    naming the file: unreadable, encrypted, or not a key paramiko can use."""
    try:
        return paramiko.PKey.from_path(Path(path))
    except OSError as exc:
        raise BastionError(f"--via-key {path}: cannot read: {exc.strerror or exc}") from None
    except (TypeError, paramiko.PasswordRequiredException) as exc:
        # cryptography says "Key is password-protected, but password was not provided" (or "... encrypted")
        if not re.search(r"encrypted|password", str(exc), re.IGNORECASE) and not isinstance(
                exc, paramiko.PasswordRequiredException):
            raise
        raise BastionError(f"--via-key {path}: the key is encrypted with a passphrase, and the agent runs "
                           f"unattended: give it a key without one (a copy: ssh-keygen -p -N '' -f COPY)") from None
    except UnknownKeyType as exc:
        raise BastionError(f"--via-key {path}: unsupported key type {getattr(exc, 'key_type', '')!s}: use an "
                           f"ed25519, ECDSA or RSA key") from None
    except (ValueError, paramiko.SSHException) as exc:
        raise BastionError(f"--via-key {path}: not a private key paramiko can read ({exc}): use an "
                           f"ed25519, ECDSA or RSA key in OpenSSH or PEM format") from None


def run_serve_via(via: str, *, remote_port: int = 2222, key_file: str | None = None,
                  known_hosts: str | None = None, **serve: Any) -> int:
    """``deskline-agent serve --via``: the agent's server (``agent.server.run_serve``) plus the bastion link.

    ``key_file`` is the key the agent logs in to the bastion with (default: the agent's host key; any type
    :func:`load_key` reads);
    ``known_hosts`` holds the bastion's host key (default: ``~/.ssh/known_hosts``).
    """
    from agent import server as agent_server

    try:
        target = parse_via(via)
        key = load_key(key_file) if key_file else None
    except (ConfigError, BastionError) as exc:
        agent_server._say(f"deskline-agent: {exc}")
        return 2
    known = Path(known_hosts) if known_hosts else Path.home() / ".ssh" / "known_hosts"
    if not known.is_file():
        agent_server._say(f"deskline-agent: {known}: no known_hosts file to check the bastion {target.host} against")
        return 2
    links: list[BastionLink] = []
    outer_ready = serve.pop("ready", None)

    def ready(srv: Any) -> None:
        link = BastionLink(target, key=key or srv.host_key, known_hosts=known, remote_port=remote_port,
                           handle=lambda sock, origin: srv._admit(sock, origin, per_address=False))
        link.start()
        links.append(link)
        agent_server._say(f"deskline-agent: linking to the bastion {target}; engineers use "
                          f"ssh -J USER@{target.host} -p {remote_port} ENGINEER@localhost")
        if outer_ready is not None:
            outer_ready(srv)

    try:
        return int(agent_server.run_serve(ready=ready, **serve))
    finally:
        for link in links:
            link.stop()
