"""A real OpenSSH ``sshd`` on loopback for tests, and client keys to log in with.

The server runs from a temporary folder with a key-only configuration (no passwords, no keyboard-
interactive, no PAM, ``StrictModes no`` because its files live under /tmp, ``MaxStartups`` raised for
fleet tests). As root, sshd wants its privilege-separation folder ``/run/sshd``; it runs inside a
private mount namespace with its own tmpfs on /run, so the host's /run is never touched::

    unshare -m sh -c 'mount -t tmpfs tmpfs /run && mkdir /run/sshd && exec /usr/sbin/sshd "$@"' \
        sshd -D -e -f CONFIG

In the same namespace, the account's ``~/.bashrc`` (root's, as tests run as root; bash reads it for
every command sshd runs) is covered by an empty file, so the machine's own (one that runs pyenv, say)
never slows down or corrupts what the tests run. A test that wants a chatty shell on purpose writes
into :attr:`Sshd.bashrc` (bash reads ~/.bashrc, not ``BASH_ENV``, for commands sshd runs); that
works where the account has a ~/.bashrc to cover (:attr:`Sshd.bashrc_covered`).

Use the ``sshd_factory`` fixture (re-exported by ``tests/agent/conftest.py``)::

    def test_something(sshd_factory, tmp_path):
        key = make_key(tmp_path / "engineer")
        server = sshd_factory(authorized_keys=[key.public_line])
        ... connect to server.host:server.port, trusting server.known_hosts_line ...

Every server a test starts is stopped in teardown. Tests using it are skipped, with the reason, when
not run as root or when sshd or unshare is missing (:func:`skip_reason`).
"""

from __future__ import annotations

import base64
import hashlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

SSHD = "/usr/sbin/sshd"
#: How long sshd may take to answer on its port after start (seconds).
START_DEADLINE = 10.0
# $0 is sshd, $1 the test's empty .bashrc, $2 the account's real one; the rest are sshd's arguments.
_WRAPPER = ('mount -t tmpfs -o mode=0755 tmpfs /run && mkdir -m 0755 /run/sshd '
            '&& { [ ! -f "$2" ] || mount --bind "$1" "$2"; } && shift 2 && exec "$0" "$@"')


def skip_reason() -> str | None:
    """Why a real sshd cannot run here (None when it can)."""
    if os.geteuid() != 0:
        return "needs root: sshd runs in a private mount namespace for its /run/sshd"
    if not Path(SSHD).is_file():
        return f"{SSHD} is missing (apt-get install openssh-server)"
    if shutil.which("unshare") is None:
        return "unshare is missing (util-linux)"
    return None


@dataclass(frozen=True)
class KeyPair:
    """An ed25519 key: the private key file (OpenSSH format, mode 0600) and its public line."""

    path: Path
    public_line: str

    @property
    def fingerprint(self) -> str:
        """``SHA256:...`` as ``ssh-keygen -l`` shows it."""
        return fingerprint_of(self.public_line)


def fingerprint_of(public_line: str) -> str:
    """The OpenSSH SHA-256 fingerprint of a public key line (``ssh-ed25519 AAAA... comment``)."""
    blob = base64.b64decode(public_line.split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def make_key(path: Path, comment: str = "deskline-test") -> KeyPair:
    """Generate an ed25519 key at ``path`` (and ``path.pub``)."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(private)
    line = f"{public.decode()} {comment}"
    path.with_name(path.name + ".pub").write_text(line + "\n")
    return KeyPair(path, line)


def _real_home() -> str:
    return pwd.getpwuid(os.geteuid()).pw_dir


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers(host: str, port: int) -> bool:
    """Whether something on host:port sends an SSH banner."""
    try:
        with socket.create_connection((host, port), timeout=0.5) as s:
            s.settimeout(0.5)
            return s.recv(4).startswith(b"SSH-")
    except OSError:
        return False


class Sshd:
    """One sshd process listening on ``host:port``, configured from ``folder``."""

    def __init__(self, folder: Path, *, authorized_keys: Sequence[str] = (), extra_config: Sequence[str] = (),
                 host: str = "127.0.0.1") -> None:
        self.folder = folder
        self.host = host
        self.port = 0
        folder.mkdir(parents=True, exist_ok=True)
        self.host_key = make_key(folder / "ssh_host_ed25519_key", comment="deskline-test-host")
        self.authorized_keys = folder / "authorized_keys"
        self.set_authorized_keys(authorized_keys)
        self.config = folder / "sshd_config"
        self.log = folder / "sshd.log"
        self.extra_config = list(extra_config)
        #: An empty file that sessions see as the account's ~/.bashrc.
        self.bashrc = folder / "bashrc"
        self.bashrc.write_text("")
        self._process: subprocess.Popen[bytes] | None = None

    # ------------------------------------------------------------------ what clients need to know

    @property
    def host_key_line(self) -> str:
        """The host's public key (``ssh-ed25519 AAAA...``)."""
        return " ".join(self.host_key.public_line.split()[:2])

    @property
    def fingerprint(self) -> str:
        return self.host_key.fingerprint

    @property
    def known_hosts_name(self) -> str:
        """The host as known_hosts names it: ``[127.0.0.1]:2222`` (plain host on port 22)."""
        return self.host if self.port == 22 else f"[{self.host}]:{self.port}"

    @property
    def known_hosts_line(self) -> str:
        return f"{self.known_hosts_name} {self.host_key_line}"

    def write_known_hosts(self, path: Path) -> Path:
        """Append this server's known_hosts line to ``path`` (created if missing)."""
        with path.open("a") as fh:
            fh.write(self.known_hosts_line + "\n")
        return path

    def set_authorized_keys(self, lines: Sequence[str]) -> None:
        """Replace the keys (with their options) that may log in; sshd reads the file at each login."""
        self.authorized_keys.write_text("".join(line + "\n" for line in lines))

    @property
    def bashrc_covered(self) -> bool:
        """Whether sessions read :attr:`bashrc` as ~/.bashrc (the account has one to cover)."""
        return Path(_real_home(), ".bashrc").is_file()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    # ------------------------------------------------------------------ life cycle

    def _write_config(self) -> None:
        lines = [
            f"ListenAddress {self.host}:{self.port}",
            f"HostKey {self.host_key.path}",
            f"AuthorizedKeysFile {self.authorized_keys}",
            "PidFile none",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            "PermitRootLogin prohibit-password",
            "StrictModes no",
            "MaxStartups 200:30:400",
            "MaxSessions 50",
            "LoginGraceTime 20",
            "PrintMotd no",
            "PrintLastLog no",
            "X11Forwarding no",
            "UseDNS no",
            "LogLevel VERBOSE",
            *self.extra_config,
        ]
        self.config.write_text("\n".join(lines) + "\n")

    def start(self) -> Sshd:
        """Start sshd on a free port and wait until it answers; raises RuntimeError with its log if not."""
        reason = skip_reason()
        if reason:
            raise RuntimeError(reason)
        for _attempt in range(3):  # a port found free may be taken before sshd binds it
            self.port = free_port()
            self._write_config()
            with self.log.open("ab") as log:
                self._process = subprocess.Popen(
                    ["unshare", "-m", "sh", "-c", _WRAPPER, SSHD, str(self.bashrc), _real_home() + "/.bashrc",
                     "-D", "-e", "-f", str(self.config)],
                    stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
                )
            deadline = time.monotonic() + START_DEADLINE
            while time.monotonic() < deadline:
                if self._process.poll() is not None:
                    break
                if _answers(self.host, self.port):
                    return self
                time.sleep(0.01)  # polling the port with a deadline, not synchronising on time
            self.stop()
            if "Address already in use" not in self.log_text():
                break
        raise RuntimeError(f"sshd did not start on {self.host}:{self.port}:\n{self.log_text()[-2000:]}")

    def stop(self) -> None:
        """Stop the listener (its process group); sessions end with their connections."""
        proc, self._process = self._process, None
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def __enter__(self) -> Sshd:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


SshdFactory = Callable[..., Sshd]


@pytest.fixture
def sshd_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshdFactory]:
    """Start real sshd servers on loopback: ``sshd_factory(authorized_keys=[...], extra_config=[...])``.

    Skips the test (with the reason) where sshd cannot run; stops every server at teardown.
    """
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    started: list[Sshd] = []

    def start(*, authorized_keys: Sequence[str] = (), extra_config: Sequence[str] = ()) -> Sshd:
        server = Sshd(tmp_path_factory.mktemp("sshd"), authorized_keys=authorized_keys, extra_config=extra_config)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()
