"""The engineers' keys: an OpenSSH ``authorized_keys`` file, as IT's policy lists them.

Each line is ``[options] KEYTYPE BASE64 [COMMENT]`` as sshd(8) reads it. The comment names the engineer
(it is what the user is shown when asked for consent). Options are parsed the way sshd parses them;
two of them decide here:

``from="PATTERN,..."``
    The client's address must match a pattern: ``*`` and ``?`` wildcards against the address text,
    ``ADDRESS/BITS`` networks, ``!`` in front negates (a negated match refuses outright). Host-name
    patterns are compared with the address only, as sshd does with its default ``UseDNS no``.
``expiry-time="YYYYMMDD[HHMM[SS]][Z]"``
    The key is refused from that time on; local time unless the ``Z`` suffix says UTC.

``command=``, ``restrict``, ``no-pty`` and the rest are parsed and kept, but change nothing: the agent
never runs a shell, a pty or a forward anyway. ``cert-authority`` lines, security-key (``sk-``) and DSA
keys and RSA keys under 2048 bits are not supported and skipped. A malformed line is skipped with a
warning naming the file and line; the rest of the file still counts.

Key types: ssh-ed25519 first, ecdsa-sha2-nistp256/384/521, and ssh-rsa, whose signatures the agent
accepts only with SHA-2 (rsa-sha2-256/512; paramiko's server refuses SHA-1 ``ssh-rsa`` signatures).
"""

from __future__ import annotations

import base64
import binascii
import calendar
import hashlib
import ipaddress
import logging
import os
import re
import struct
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from desktop.errors import DesklineError

log = logging.getLogger("deskline.agent")

KEY_TYPES = ("ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521", "ssh-rsa")
#: Key types sshd knows that the agent does not accept (skipped with a warning naming the reason).
UNSUPPORTED_TYPES = {
    "ssh-dss": "DSA keys are too weak",
    "sk-ssh-ed25519@openssh.com": "security-key (FIDO) keys are not supported by the agent",
    "sk-ecdsa-sha2-nistp256@openssh.com": "security-key (FIDO) keys are not supported by the agent",
}
MIN_RSA_BITS = 2048
#: Options sshd(8) knows; flags take no value, the others take a quoted string.
FLAG_OPTIONS = frozenset({
    "agent-forwarding", "cert-authority", "no-agent-forwarding", "no-port-forwarding", "no-pty",
    "no-user-rc", "no-x11-forwarding", "port-forwarding", "pty", "no-touch-required", "verify-required",
    "restrict", "user-rc", "x11-forwarding",
})
VALUE_OPTIONS = frozenset({
    "command", "environment", "expiry-time", "from", "permitlisten", "permitopen", "principals", "tunnel",
})
#: Options that may appear more than once (their values are all kept); sshd refuses a line with two
#: ``from=``, ``command=`` or ``principals=``, and so does this parser.
MULTI_OPTIONS = frozenset({"environment", "expiry-time", "permitlisten", "permitopen"})
_EXPIRY = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?)?([Zz])?$")
_OPTION_NAME = re.compile(r"[A-Za-z0-9-]+")
MAX_LINE = 16 * 1024
MAX_FILE = 4 * 1024 * 1024


class AuthorizedKeysError(DesklineError):
    """One line of an authorized_keys file cannot be used; the message says why."""


def fingerprint(blob: bytes) -> str:
    """OpenSSH's SHA256 fingerprint of a public key blob: ``SHA256:`` and unpadded base64."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode("ascii").rstrip("=")


@dataclass(frozen=True)
class AuthorizedKey:
    """One usable line: the key, the engineer it names, and its options."""

    key_type: str
    blob: bytes
    comment: str
    options: dict[str, list[str] | bool] = field(default_factory=dict)
    source: str = ""  # FILE:LINE

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.blob)

    @property
    def engineer(self) -> str:
        """Who this key belongs to: the comment, or the fingerprint when the line has none."""
        return self.comment or self.fingerprint

    @property
    def from_patterns(self) -> list[str]:
        """The ``from=`` list of the line, as a one-item list (empty without ``from=``)."""
        value = self.options.get("from")
        return value if isinstance(value, list) else []

    @property
    def expires(self) -> float | None:
        """Epoch seconds from which the key is refused (the earliest, as sshd takes), or None."""
        value = self.options.get("expiry-time")
        return min(parse_expiry(v) for v in value) if isinstance(value, list) else None

    def refusal(self, address: str, now: float | None = None) -> str | None:
        """Why this line does not let a client from ``address`` in now, or None when it does."""
        expires = self.expires
        current = time.time() if now is None else now
        where = f" ({self.source})" if self.source else ""
        if expires is not None and current >= expires:
            when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(expires))
            return f"key expired at {when}{where}"
        for patterns in self.from_patterns:
            if not address_allowed(patterns, address):
                return f"address {address} not allowed by from=\"{patterns}\"{where}"
        return None


def parse_expiry(text: str) -> float:
    """``expiry-time`` to epoch seconds: ``YYYYMMDD[HHMM[SS]][Z]``, local time unless ``Z``."""
    m = _EXPIRY.match(text)
    if not m:
        raise AuthorizedKeysError(f"bad expiry-time {text!r}: use YYYYMMDD[HHMM[SS]][Z]")
    year, month, day, hour, minute, second, utc = m.groups()
    try:
        moment = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
    except ValueError as exc:
        raise AuthorizedKeysError(f"bad expiry-time {text!r}: {exc}") from exc
    if utc:
        return float(calendar.timegm(moment.timetuple()))
    return moment.timestamp()


def _wildcard(pattern: str, text: str) -> bool:
    """sshd's match_pattern: ``*`` any run, ``?`` one character, case-insensitive; nothing else special."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern.lower())
    return re.fullmatch(regex, text.lower(), re.DOTALL) is not None


def _check_patterns(patterns: str) -> None:
    for raw in patterns.split(","):
        pat = raw[1:] if raw.startswith("!") else raw
        if not pat:
            raise AuthorizedKeysError(f"empty pattern in from=\"{patterns}\"")
        if "/" in pat:
            try:
                ipaddress.ip_network(pat, strict=False)
            except ValueError as exc:
                raise AuthorizedKeysError(f"bad network {pat!r} in from=\"{patterns}\": {exc}") from exc


def address_allowed(patterns: str, address: str) -> bool:
    """Whether ``address`` passes a ``from=`` list: some pattern matches and no negated one does."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    text = str(ip)
    allowed = False
    for raw in patterns.split(","):
        negated = raw.startswith("!")
        pat = raw[1:] if negated else raw
        if "/" in pat:
            try:
                net = ipaddress.ip_network(pat, strict=False)
            except ValueError:
                return False  # as sshd: a broken list lets no one in
            hit = net.version == ip.version and ip in net
        else:
            hit = _wildcard(pat, text)
        if hit and negated:
            return False
        allowed = allowed or hit
    return allowed


def _parse_options(text: str) -> tuple[dict[str, list[str] | bool], str]:
    """Options at the start of ``text``; returns them and the rest of the line after the options field."""
    options: dict[str, list[str] | bool] = {}
    i, n = 0, len(text)
    while True:
        m = _OPTION_NAME.match(text, i)
        if not m:
            raise AuthorizedKeysError(f"bad option syntax near {text[i:i + 20]!r}")
        name = m.group(0).lower()
        i = m.end()
        if i < n and text[i] == "=":
            if name not in VALUE_OPTIONS:
                raise AuthorizedKeysError(f"unknown option {name!r}" if name not in FLAG_OPTIONS
                                          else f"option {name!r} takes no value")
            if i + 1 >= n or text[i + 1] != '"':
                raise AuthorizedKeysError(f"option {name}= needs a double-quoted value")
            i += 2
            value: list[str] = []
            while True:
                if i >= n:
                    raise AuthorizedKeysError(f"option {name}= has no closing quote")
                c = text[i]
                if c == "\\" and i + 1 < n and text[i + 1] == '"':
                    value.append('"')
                    i += 2
                    continue
                if c == '"':
                    i += 1
                    break
                value.append(c)
                i += 1
            v = "".join(value)
            existing = options.get(name)
            if isinstance(existing, list):
                if name not in MULTI_OPTIONS:
                    raise AuthorizedKeysError(f"option {name}= given twice (sshd refuses such a line too)")
                existing.append(v)
            else:
                options[name] = [v]
        else:
            if name in VALUE_OPTIONS:
                raise AuthorizedKeysError(f"option {name!r} needs a value ({name}=\"...\")")
            if name not in FLAG_OPTIONS:
                raise AuthorizedKeysError(f"unknown option {name!r}")
            options[name] = True
        if i < n and text[i] == ",":
            i += 1
            continue
        if i >= n or text[i] in " \t":
            return options, text[i:].lstrip(" \t")
        raise AuthorizedKeysError(f"bad option syntax near {text[i:i + 20]!r}")


def _read_string(blob: bytes, offset: int) -> tuple[bytes, int]:
    if offset + 4 > len(blob):
        raise AuthorizedKeysError("truncated key data")
    (length,) = struct.unpack(">I", blob[offset:offset + 4])
    end = offset + 4 + length
    if end > len(blob):
        raise AuthorizedKeysError("truncated key data")
    return blob[offset + 4:end], end


def _check_blob(key_type: str, blob: bytes) -> None:
    inner, offset = _read_string(blob, 0)
    if inner.decode("ascii", "replace") != key_type:
        raise AuthorizedKeysError(f"key data is a {inner.decode('ascii', 'replace')!r} key, not {key_type!r}")
    if key_type == "ssh-rsa":
        _exponent, offset = _read_string(blob, offset)
        modulus, offset = _read_string(blob, offset)
        bits = int.from_bytes(modulus, "big").bit_length()
        if bits < MIN_RSA_BITS:
            raise AuthorizedKeysError(f"RSA key of {bits} bits: at least {MIN_RSA_BITS} are required")
    elif key_type == "ssh-ed25519":
        point, offset = _read_string(blob, offset)
        if len(point) != 32:
            raise AuthorizedKeysError("ed25519 key data has the wrong length")
    else:
        curve, offset = _read_string(blob, offset)
        _point, offset = _read_string(blob, offset)
        if curve.decode("ascii", "replace") != key_type.rsplit("-", 1)[1]:
            raise AuthorizedKeysError("ecdsa key data names another curve")
    if offset != len(blob):
        raise AuthorizedKeysError("trailing bytes after the key data")


def _clean_comment(text: str) -> str:
    return "".join(c for c in text.strip() if c.isprintable())[:120]


def parse_line(line: str, source: str = "") -> AuthorizedKey | None:
    """One line: None for blank lines and comments; raises AuthorizedKeysError when malformed."""
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    if len(text) > MAX_LINE:
        raise AuthorizedKeysError(f"line longer than {MAX_LINE} characters")
    options: dict[str, list[str] | bool] = {}
    first = text.split(None, 1)[0]
    if first not in KEY_TYPES and first not in UNSUPPORTED_TYPES and not first.endswith("-cert-v01@openssh.com"):
        options, text = _parse_options(text)
    parts = text.split(None, 2)
    if len(parts) < 2:
        raise AuthorizedKeysError("no key after the options" if options else "not an authorized_keys line")
    key_type, data = parts[0], parts[1]
    comment = _clean_comment(parts[2]) if len(parts) > 2 else ""
    if key_type in UNSUPPORTED_TYPES:
        raise AuthorizedKeysError(f"{key_type}: {UNSUPPORTED_TYPES[key_type]}")
    if key_type not in KEY_TYPES:
        raise AuthorizedKeysError(f"unknown key type {key_type[:40]!r}")
    if "cert-authority" in options:
        raise AuthorizedKeysError("cert-authority lines are not supported (the agent takes plain keys only)")
    try:
        blob = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise AuthorizedKeysError("key data is not base64") from exc
    _check_blob(key_type, blob)
    expiry, sources = options.get("expiry-time"), options.get("from")
    for value in expiry if isinstance(expiry, list) else []:
        parse_expiry(value)
    for patterns in sources if isinstance(sources, list) else []:
        _check_patterns(patterns)
    return AuthorizedKey(key_type, blob, comment, options, source)


def parse(text: str, path: str | os.PathLike[str] = "<authorized_keys>") -> list[AuthorizedKey]:
    """Every usable line of ``text``; malformed lines are skipped with a warning naming file and line."""
    keys: list[AuthorizedKey] = []
    for number, line in enumerate(text.splitlines(), 1):
        where = f"{path}:{number}"
        try:
            key = parse_line(line, where)
        except AuthorizedKeysError as exc:
            log.warning("%s: line skipped: %s", where, exc)
            continue
        if key is not None:
            keys.append(key)
    return keys


class KeySet:
    """Keys by their blob, for lookups during authentication (no I/O)."""

    def __init__(self, keys: Iterable[AuthorizedKey] = ()) -> None:
        self._by_blob: dict[bytes, list[AuthorizedKey]] = {}
        for key in keys:
            self._by_blob.setdefault(key.blob, []).append(key)

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_blob.values())

    def __iter__(self) -> Iterator[AuthorizedKey]:
        for lines in self._by_blob.values():
            yield from lines

    def check(self, blob: bytes, address: str, now: float | None = None) -> tuple[AuthorizedKey | None, str]:
        """The first line for ``blob`` that lets ``address`` in, or None and the reason for refusal."""
        lines = self._by_blob.get(blob)
        if not lines:
            return None, "key not in authorized_keys"
        reasons = []
        for key in lines:
            why = key.refusal(address, now)
            if why is None:
                return key, ""
            reasons.append(why)
        return None, "; ".join(reasons)


class AuthorizedKeysFile:
    """The file, re-read when it changes (checked at each new connection, never during authentication).

    A missing file means no keys. A file that others may write (group or world) is refused as a
    whole, as sshd's StrictModes does: anyone could add a key to it.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._keys = KeySet()
        self._problem = ""

    def current(self) -> KeySet:
        """The keys as the file holds them now (re-parsed only when its size, time or inode changed)."""
        with self._lock:
            try:
                st = self.path.stat()
            except FileNotFoundError:
                if self._stamp != (0, 0, 0):
                    log.warning("%s: no authorized_keys file: every engineer will be refused", self.path)
                self._stamp, self._keys = (0, 0, 0), KeySet()
                return self._keys
            except OSError as exc:
                log.warning("%s: cannot read authorized_keys: %s", self.path, exc.strerror or exc)
                self._stamp, self._keys = None, KeySet()
                return self._keys
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
            if stamp == self._stamp:
                return self._keys
            self._stamp = stamp
            self._keys = KeySet(self._load(st))
            return self._keys

    def _load(self, st: os.stat_result) -> list[AuthorizedKey]:
        if os.name == "posix" and st.st_mode & 0o022:
            log.warning("%s: writable by group or others (mode %04o): no key in it is trusted; chmod go-w it",
                        self.path, st.st_mode & 0o7777)
            return []
        if st.st_size > MAX_FILE:
            log.warning("%s: larger than %d bytes: not read", self.path, MAX_FILE)
            return []
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            log.warning("%s: cannot read authorized_keys: %s", self.path, exc.strerror or exc)
            return []
        keys = parse(text, self.path)
        log.info("%s: %d engineer key(s)", self.path, len(keys))
        return keys
