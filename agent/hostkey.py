"""The agent's host key: made on first start (ed25519), kept readable by its owner only.

Engineers enrol a machine by its host key fingerprint (``SHA256:...``, as ``ssh-keygen -lf`` shows
it); ``deskline-agent fingerprint`` prints it and ``serve`` prints it once when it starts. The key is
written in OpenSSH's private key format, mode 0600, in a folder made 0700; an existing key whose file
group or others may read, or whose folder others may write, is refused (as sshd refuses a key that is
not private), and the message says the ``chmod`` that fixes it. A ``.pub`` file beside it holds the
public line for known_hosts.
"""

from __future__ import annotations

import logging
import os
import socket
import stat
from pathlib import Path

import paramiko
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from agent.authkeys import fingerprint as blob_fingerprint
from desktop.errors import DesklineError

log = logging.getLogger("deskline.agent")


class HostKeyError(DesklineError):
    """The host key cannot be made, read or trusted; the message names the file."""


def fingerprint(key: paramiko.PKey) -> str:
    """``SHA256:...`` of a key, as OpenSSH prints it."""
    return blob_fingerprint(key.asbytes())


def public_line(key: paramiko.PKey, comment: str = "") -> str:
    """The key as one known_hosts / authorized_keys style line: ``ssh-ed25519 AAAA... comment``."""
    line = f"{key.get_name()} {key.get_base64()}"
    return f"{line} {comment}" if comment else line


def generate_ed25519(path: str | os.PathLike[str], comment: str = "") -> paramiko.Ed25519Key:
    """Write a new ed25519 private key to ``path`` (mode 0600, must not exist) and its ``.pub`` beside it."""
    target = Path(path)
    private = ed25519.Ed25519PrivateKey.generate()
    data = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                 serialization.NoEncryption())
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, target)  # never replaces a key another start wrote meanwhile
        except FileExistsError:
            raise
        except OSError:
            if target.exists():
                raise FileExistsError(str(target)) from None
            os.replace(tmp, target)  # filesystems without hard links
    finally:
        tmp.unlink(missing_ok=True)
    key = paramiko.Ed25519Key.from_private_key_file(str(target))
    pub = target.with_name(target.name + ".pub")
    pub.write_text(public_line(key, comment) + "\n", encoding="utf-8")
    return key


def _check_folder(folder: Path) -> None:
    if os.name != "posix":
        return
    st = folder.stat()
    if st.st_mode & 0o022 and not st.st_mode & stat.S_ISVTX:
        raise HostKeyError(f"{folder}: folder of the host key is writable by group or others "
                           f"(mode {st.st_mode & 0o7777:04o}): chmod go-w {folder}")
    if st.st_uid not in (os.geteuid(), 0):
        raise HostKeyError(f"{folder}: folder of the host key belongs to another user (uid {st.st_uid})")


def _check_file(path: Path) -> None:
    if os.name != "posix":
        return
    st = path.lstat()
    if not stat.S_ISREG(st.st_mode):
        raise HostKeyError(f"{path}: host key is not a regular file")
    if st.st_mode & 0o077:
        raise HostKeyError(f"{path}: host key is readable by group or others (mode {st.st_mode & 0o7777:04o}): "
                           f"chmod 600 {path}")
    if st.st_uid != os.geteuid():
        raise HostKeyError(f"{path}: host key belongs to another user (uid {st.st_uid})")


def load(path: str | os.PathLike[str]) -> paramiko.Ed25519Key:
    """Read an existing host key, after checking that only its owner can read it."""
    target = Path(path)
    _check_folder(target.parent)
    _check_file(target)
    try:
        return paramiko.Ed25519Key.from_private_key_file(str(target))
    except (OSError, paramiko.SSHException, ValueError) as exc:
        raise HostKeyError(f"{target}: cannot read the host key: {exc}") from exc


def load_or_create(path: str | os.PathLike[str]) -> tuple[paramiko.Ed25519Key, bool]:
    """The host key at ``path``, made first if there is none; returns (key, whether it was just made)."""
    target = Path(path)
    try:
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise HostKeyError(f"{target.parent}: cannot make the host key's folder: {exc.strerror or exc}") from exc
    _check_folder(target.parent)
    if not target.exists():
        try:
            key = generate_ed25519(target, f"deskline-agent@{socket.gethostname()}")
        except FileExistsError:
            return load(target), False
        except OSError as exc:
            raise HostKeyError(f"{target}: cannot write the host key: {exc.strerror or exc}") from exc
        log.info("%s: new host key %s", target, fingerprint(key))
        return key, True
    return load(target), False
