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
* :func:`run_fleet` runs a request on many targets with bounded concurrency; every host ends as a
  :class:`HostResult` with a status, never as an exception that stops the others.
"""

from __future__ import annotations

import base64
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
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, Protocol

import paramiko

from agent import payload
from agent.inventory import Target
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

    def __init__(self, target: Target) -> None:
        self.target = target

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> NoReturn:
        raise HostKeyUnknown(unknown_key_message(self.target, key), fingerprint(key))


def trust_command(target: Target, key_fingerprint: str) -> str:
    host = f"[{target.host}]" if ":" in target.host else target.host
    where = host if target.port == 22 else f"{host}:{target.port}"
    return f"deskline-agent trust {where} --fingerprint {key_fingerprint}"


def unknown_key_message(target: Target, key: paramiko.PKey) -> str:
    fp = fingerprint(key)
    return (f"{target.name} ({target.address}): host key not known: {key.get_name()} {fp}. Compare this "
            f"fingerprint with the one the host shows (the agent prints it at start; on plain OpenSSH: "
            f"ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), then trust it on purpose with: "
            f"{trust_command(target, fp)}")


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
    """One SSH connection to ``target``; use as a context manager, then :meth:`exec`."""

    def __init__(self, target: Target, options: SshOptions) -> None:
        self.target = target
        self.options = options
        self.client: paramiko.SSHClient | None = None
        self._expired = False

    @property
    def user(self) -> str:
        """The SSH user name: the target's, the console's, or the local one; ``+TICKET`` in agent mode."""
        login = self.target.user or self.options.user or getpass.getuser()
        return f"{login}+{self.options.ticket}" if self.options.ticket else login

    def _where(self) -> str:
        """The host as messages name it: its name, and where we connect when the name does not say."""
        if self.target.host in self.target.name:
            return self.target.name
        return f"{self.target.name} ({self.user}@{self.target.address})"

    def __enter__(self) -> Connection:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            client.close()

    def _socket(self) -> socket.socket:
        t = self.options.timeouts
        try:
            sock = socket.create_connection((self.target.host, self.target.port), timeout=t.connect)
        except TimeoutError:
            raise Unreachable(f"{self._where()}: no answer within {t.connect:g} s (connect timeout)") from None
        except ConnectionRefusedError:
            raise Unreachable(f"{self._where()}: connection refused (nothing listens on port "
                              f"{self.target.port})") from None
        except socket.gaierror as exc:
            raise Unreachable(f"{self._where()}: cannot resolve {self.target.host}: {exc.strerror}") from None
        except OSError as exc:
            raise Unreachable(f"{self._where()}: cannot connect: {exc.strerror or exc}") from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # about 40 ms faster per round trip
        return sock

    def open(self) -> None:
        """Connect, check the host key and authenticate; raises a ConsoleError subclass."""
        t = self.options.timeouts
        client = paramiko.SSHClient()
        # the keys known for this target only (paramiko looks them up under this name), from the files
        # parsed once per run: parsing a fleet's known_hosts on every connection cost more than the rest
        name = self.target.host if self.target.port == 22 else f"[{self.target.host}]:{self.target.port}"
        known = known_host_keys(self.options.known_hosts_files()).lookup(name)
        if known:
            ours = client.get_host_keys()  # never written back
            for kind, key in known.items():
                ours.add(name, kind, key)
        client.set_missing_host_key_policy(_RefuseUnknownKey(self.target))
        key_files = [os.path.expanduser(k) for k in (
            (self.target.key_file,) if self.target.key_file else ()) + self.options.key_files]
        sock = self._socket()
        try:
            client.connect(
                hostname=self.target.host, port=self.target.port, username=self.user, sock=sock,
                # paramiko waits ``timeout`` for the key exchange and then carries on silently; the banner
                # deadline inside it must fire first to be reported as what it is.
                timeout=t.banner * 2, banner_timeout=t.banner, auth_timeout=t.auth, channel_timeout=t.channel,
                key_filename=key_files or None,  # type: ignore[arg-type]  # paramiko takes a list as well
                look_for_keys=self.options.look_for_keys,
                allow_agent=self.options.allow_agent, disabled_algorithms=WEAK_ALGORITHMS,
                # Password and keyboard-interactive never: the console is key-only.
                password=None, passphrase=None,
            )
        except ConsoleError:
            client.close()
            raise
        except paramiko.BadHostKeyException as exc:
            client.close()
            raise HostKeyChanged(
                f"{self._where()}: HOST KEY CHANGED: known_hosts has {fingerprint(exc.expected_key)}, the host "
                f"offers {exc.key.get_name()} {fingerprint(exc.key)}. This may be an attack or a reinstalled "
                f"host; find out which before removing the old key (ssh-keygen -R "
                f"'{self.target.known_hosts_name}')") from None
        except paramiko.AuthenticationException as exc:
            client.close()
            if "timeout" in str(exc).lower():
                raise Timeout(f"{self._where()}: authentication did not finish within {t.auth:g} s") from None
            raise AuthFailed(f"{self._where()}: authentication failed: {self._auth_hint(exc)}") from None
        except paramiko.SSHException as exc:
            client.close()
            text = str(exc)
            if "banner" in text.lower():
                raise Timeout(f"{self._where()}: no SSH banner within {t.banner:g} s ({text})") from None
            if "No authentication methods available" in text or "not a valid" in text.lower():
                raise AuthFailed(f"{self._where()}: no usable key: {text} (give one with -i KEY or load it "
                                 f"into ssh-agent)") from None
            if "No existing session" in text:  # the key exchange never finished
                raise Timeout(f"{self._where()}: no SSH handshake within {t.banner * 2:g} s") from None
            if "timeout" in text.lower() or "timed out" in text.lower():
                raise Timeout(f"{self._where()}: {text}") from None
            raise ConsoleError(f"{self._where()}: SSH failed: {text}") from None
        except TimeoutError:
            client.close()
            raise Timeout(f"{self._where()}: SSH handshake did not finish within {t.banner:g} s") from None
        except OSError as exc:
            client.close()
            raise Unreachable(f"{self._where()}: connection lost: {exc.strerror or exc}") from None
        self.client = client

    def _auth_hint(self, exc: paramiko.AuthenticationException) -> str:
        allowed = getattr(exc, "allowed_types", None)
        if allowed:
            return f"the host accepts {', '.join(allowed)}; none of our keys was accepted for {self.user}"
        return f"none of our keys was accepted for {self.user} ({exc or 'no reason given'})"

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
    with ThreadPoolExecutor(max_workers=min(parallel, len(targets)), thread_name_prefix="deskline-run") as pool:
        futures = {pool.submit(run_host, t, request, runner, options): i for i, t in enumerate(targets)}
        for count, future in enumerate(as_completed(futures), 1):
            result = future.result()
            results[futures[future]] = result
            if progress is not None:
                progress(result, count, len(targets))
    return [r for r in results if r is not None]


# ------------------------------------------------------------------------------------------ trust

def fetch_host_key(target: Target, timeouts: Timeouts | None = None) -> paramiko.PKey:
    """The host key ``target`` offers (key exchange only, no authentication)."""
    t = timeouts or Timeouts()
    conn = Connection(target, SshOptions(timeouts=t))
    sock = conn._socket()
    transport = paramiko.Transport(sock, disabled_algorithms=WEAK_ALGORITHMS)
    transport.banner_timeout = t.banner
    try:
        transport.start_client(timeout=t.banner)
        return transport.get_remote_server_key()
    except paramiko.SSHException as exc:
        raise ConsoleError(f"{target.name} ({target.address}): cannot read its host key: {exc}") from None
    finally:
        transport.close()


def trust(
    target: Target,
    known_hosts: Path,
    expected: str | None,
    confirm: Callable[[str], bool] | None = None,
    timeouts: Timeouts | None = None,
) -> str:
    """Add the host key ``target`` offers to ``known_hosts`` on purpose, and return its fingerprint.

    With ``expected`` (``SHA256:...``, from the host's owner) the key is added only if it matches; without
    it, ``confirm(message)`` must say yes after seeing the fingerprint. Raises HostKeyUnknown otherwise.
    """
    key = fetch_host_key(target, timeouts)
    fp = fingerprint(key)
    if expected is not None:
        if expected.strip() != fp:
            raise HostKeyUnknown(f"{target.name} ({target.address}) offers {key.get_name()} {fp}, not the "
                                 f"expected {expected.strip()}: not trusted", fp)
    elif confirm is None or not confirm(f"{target.address} offers {key.get_name()} {fp}"):
        raise HostKeyUnknown(f"{target.name} ({target.address}): {key.get_name()} {fp} not trusted "
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
    connect_timeout: float,
    timeout: float,
    fmt: str,
    output: str | None,
    progress: bool,
    attach: str | None = None,
    config: str | None = None,
) -> int:
    """``deskline-agent run``: 0 when every host answered ok, 1 when some did not, 2 on bad input."""
    import sys

    from agent import output as out
    from agent.inventory import gather
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
        options = SshOptions(
            user=user, key_files=tuple(identities), known_hosts=tuple(Path(p) for p in known_hosts),
            ticket=ticket, timeouts=Timeouts(connect=connect_timeout, command=timeout),
        )
        bar = out.ProgressBar(enabled=None if progress else False)
        results = run_fleet(chosen, request, runner, options, parallel=parallel, progress=bar)
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


def run_trust(target: str, fingerprint_text: str | None, known_hosts: str | None, connect_timeout: float) -> int:
    """``deskline-agent trust HOST[:PORT]``: add the host's key to known_hosts after checking its fingerprint."""
    import sys

    from agent.inventory import parse_target

    path = Path(known_hosts or "~/.ssh/known_hosts").expanduser()

    def ask(message: str) -> bool:
        if not sys.stdin.isatty():
            return False
        answer = input(f"{message}\nHave you checked this fingerprint with the host's owner? Trust it? [y/N] ")
        return answer.strip().lower() in ("y", "yes")

    try:
        fp = trust(parse_target(target), path, fingerprint_text, ask, Timeouts(connect=connect_timeout))
    except DesklineError as exc:
        print(f"deskline-agent trust: {exc}", file=sys.stderr)  # noqa: T201 - the CLI's error line
        return 2 if isinstance(exc, UsageError) else 1
    print(f"trusted {target}: {fp} (in {path})")  # noqa: T201 - the CLI's result line
    return 0
