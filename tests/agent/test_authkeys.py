"""authorized_keys as sshd reads it: options, from= patterns, expiry-time, key types, malformed lines."""

from __future__ import annotations

import base64
import calendar
import logging
import os
import shutil
import struct
import subprocess
import time
from pathlib import Path

import pytest

from agent import authkeys
from agent.authkeys import AuthorizedKeysError, AuthorizedKeysFile, KeySet, address_allowed, parse, parse_line
from tests.agent.sshd import make_key

KEYGEN = shutil.which("ssh-keygen")


def _string(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def ed25519_line(comment: str = "Alice", seed: int = 1) -> str:
    blob = _string(b"ssh-ed25519") + _string(bytes([seed]) * 32)
    return f"ssh-ed25519 {base64.b64encode(blob).decode()} {comment}".rstrip()


def rsa_line(bits: int, comment: str = "rsa") -> str:
    modulus = (1 << (bits - 1)) | 1
    blob = _string(b"ssh-rsa") + _string(b"\x01\x00\x01") + _string(b"\x00" + modulus.to_bytes(bits // 8, "big"))
    return f"ssh-rsa {base64.b64encode(blob).decode()} {comment}"


@pytest.fixture
def generated(tmp_path: Path) -> dict[str, Path]:
    """Keys of each supported type made by ssh-keygen (the real tool), public files by type."""
    if KEYGEN is None:
        pytest.skip("ssh-keygen is not installed: apt-get install openssh-client")
    out = {}
    for kind, extra in (("ed25519", []), ("ecdsa", ["-b", "384"]), ("rsa", ["-b", "2048"])):
        path = tmp_path / f"id_{kind}"
        subprocess.run([KEYGEN, "-q", "-t", kind, *extra, "-N", "", "-C", f"{kind} engineer", "-f", str(path)],
                       check=True, timeout=60)
        out[kind] = path.with_name(path.name + ".pub")
    return out


def test_fingerprints_match_ssh_keygen(generated: dict[str, Path]) -> None:
    assert KEYGEN is not None
    for kind, pub in generated.items():
        [key] = parse(pub.read_text(), pub)
        shown = subprocess.run([KEYGEN, "-lf", str(pub)], capture_output=True, text=True, check=True,
                               timeout=10).stdout.split()
        assert key.fingerprint == shown[1], kind
        assert key.engineer == f"{kind} engineer"


def test_plain_line_and_comment() -> None:
    key = parse_line(ed25519_line("Alice Smith (L2) <alice@example.org>"))
    assert key is not None
    assert key.key_type == "ssh-ed25519" and key.comment == "Alice Smith (L2) <alice@example.org>"
    assert key.options == {} and key.expires is None and key.from_patterns == []
    assert parse_line("   ") is None and parse_line("# a comment") is None
    nameless = parse_line(ed25519_line(""))
    assert nameless is not None and nameless.engineer == nameless.fingerprint


def test_options_parsed_as_sshd_does() -> None:
    line = ('restrict,command="/usr/bin/deskline-dispatch --x \\"y z\\"",from="10.*,192.168.1.0/24,!10.0.0.66",'
            'no-pty,environment="A=1",environment="B=2",expiry-time="20991231Z",PermitOpen="host:22" '
            + ed25519_line("Bob"))
    key = parse_line(line)
    assert key is not None
    assert key.options["restrict"] is True and key.options["no-pty"] is True
    assert key.options["command"] == ['/usr/bin/deskline-dispatch --x "y z"']
    assert key.options["environment"] == ["A=1", "B=2"]
    assert key.options["permitopen"] == ["host:22"]  # option names are case-insensitive
    assert key.from_patterns == ["10.*,192.168.1.0/24,!10.0.0.66"]
    assert key.comment == "Bob"
    assert key.refusal("10.1.2.3") is None and key.refusal("192.168.1.7") is None
    assert key.refusal("10.0.0.66") == 'address 10.0.0.66 not allowed by from="10.*,192.168.1.0/24,!10.0.0.66"'
    with pytest.raises(AuthorizedKeysError, match="from= given twice"):
        parse_line('from="10.*",from="192.0.2.1" ' + ed25519_line())


@pytest.mark.parametrize(("patterns", "address", "allowed"), [
    ("127.0.0.1", "127.0.0.1", True),
    ("127.0.0.*", "127.0.0.9", True),
    ("127.0.0.?", "127.0.0.10", False),
    ("127.0.0.?", "127.0.0.1", True),
    ("10.0.0.0/8", "10.200.3.4", True),
    ("10.0.0.0/8", "11.0.0.1", False),
    ("10.0.0.0/8,!10.0.0.5", "10.0.0.5", False),
    ("!10.0.0.5,10.0.0.0/8", "10.0.0.5", False),
    ("!10.0.0.5", "10.0.0.6", False),  # a negation alone allows no one
    ("*", "203.0.113.9", True),
    ("*,!203.0.113.0/24", "203.0.113.9", False),
    ("2001:db8::/32", "2001:db8::1", True),
    ("2001:db8::/32", "10.0.0.1", False),
    ("10.0.0.0/8", "2001:db8::1", False),
    ("127.0.0.1", "::ffff:127.0.0.1", True),  # IPv4-mapped addresses match as IPv4
    ("*.example.org", "192.0.2.1", False),  # host names are never looked up (UseDNS no)
    ("192.0.2.1", "not an address", False),
])
def test_from_patterns(patterns: str, address: str, allowed: bool) -> None:
    assert address_allowed(patterns, address) is allowed


def test_expiry_formats(monkeypatch: pytest.MonkeyPatch) -> None:
    utc = calendar.timegm((2030, 1, 2, 0, 0, 0))
    assert authkeys.parse_expiry("20300102Z") == utc
    assert authkeys.parse_expiry("203001021230Z") == utc + 12 * 3600 + 30 * 60
    assert authkeys.parse_expiry("20300102123045z") == utc + 12 * 3600 + 30 * 60 + 45
    monkeypatch.setenv("TZ", "Europe/Moscow")  # UTC+3, no DST since 2014
    time.tzset()
    try:
        assert authkeys.parse_expiry("20300102") == utc - 3 * 3600  # local time without Z, as sshd
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    for bad in ("2030010212", "20301301", "20300230Z", "2030-01-02", "20300102 ", "203001021260"):
        with pytest.raises(AuthorizedKeysError):
            authkeys.parse_expiry(bad)


def test_expiry_is_enforced() -> None:
    key = parse_line('expiry-time="20300101Z" ' + ed25519_line())
    assert key is not None
    deadline = calendar.timegm((2030, 1, 1, 0, 0, 0))
    assert key.refusal("127.0.0.1", now=deadline - 1) is None
    why = key.refusal("127.0.0.1", now=deadline)
    assert why is not None and why.startswith("key expired at 2030-01-01 00:00:00 UTC")
    two = parse_line('expiry-time="20300101Z",expiry-time="20250101Z" ' + ed25519_line())
    assert two is not None and two.expires == calendar.timegm((2025, 1, 1, 0, 0, 0))  # the earliest, as sshd


def test_keyset_first_line_that_allows_wins() -> None:
    restricted = parse_line('from="10.0.0.0/8" ' + ed25519_line("office"))
    anywhere = parse_line(ed25519_line("anywhere"))
    other = parse_line(ed25519_line("other", seed=2))
    assert restricted and anywhere and other
    keys = KeySet([restricted, anywhere])
    found, why = keys.check(restricted.blob, "10.1.1.1")
    assert found is restricted and why == ""
    found, why = keys.check(restricted.blob, "192.0.2.1")
    assert found is anywhere
    found, why = KeySet([restricted]).check(restricted.blob, "192.0.2.1")
    assert found is None and "not allowed by from=" in why
    found, why = keys.check(other.blob, "10.1.1.1")
    assert found is None and why == "key not in authorized_keys"
    assert len(keys) == 2


@pytest.mark.allow_warning_logs
def test_malformed_lines_are_skipped_with_file_and_line(caplog: pytest.LogCaptureFixture) -> None:
    good = ed25519_line("good")
    blob = base64.b64decode(good.split()[1])
    text = "\n".join([
        "# comment",
        good,                                                     # 2 ok
        "ssh-ed25519 !!!notbase64!!! x",                          # 3
        "ssh-dss AAAAB3NzaC1kc3MAAACBAP== old",                   # 4
        'cert-authority ' + good,                                 # 5
        'bogus-option ' + good,                                   # 6
        'command=unquoted ' + good,                               # 7
        'from="10.0.0.0/33" ' + good,                             # 8
        'expiry-time="2030" ' + good,                             # 9
        'from="10.0.0.1 ' + good,                                 # 10 (no closing quote)
        rsa_line(1024),                                           # 11 too short
        "ssh-rsa " + base64.b64encode(blob).decode() + " liar",   # 12 type mismatch
        "ecdsa-sha2-nistp256",                                    # 13 no key
        "sk-ssh-ed25519@openssh.com AAAA x",                      # 14
        "no-pty," + good,                                         # 15 options end in a key, not a space
        rsa_line(2048, "rsa ok"),                                 # 16 ok
        "ssh-ed25519 " + base64.b64encode(blob + b"x").decode(),  # 17 trailing bytes
    ])
    with caplog.at_level(logging.WARNING, logger="deskline.agent"):
        keys = parse(text, "/etc/deskline/authorized_keys")
    assert [k.comment for k in keys] == ["good", "rsa ok"]
    assert keys[0].source == "/etc/deskline/authorized_keys:2"
    warned = {int(r.getMessage().split(":")[1]) for r in caplog.records}
    assert warned == set(range(3, 16)) | {17}
    messages = " ".join(r.getMessage() for r in caplog.records)
    for expected in ("not base64", "DSA keys are too weak", "cert-authority", "unknown option 'bogus-option'",
                     "double-quoted", "bad network", "bad expiry-time", "no closing quote",
                     "at least 2048", "not 'ssh-rsa'", "security-key", "trailing bytes"):
        assert expected in messages


@pytest.mark.allow_warning_logs
def test_file_is_reread_when_it_changes(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "authorized_keys"
    keys_file = AuthorizedKeysFile(path)
    with caplog.at_level(logging.WARNING, logger="deskline.agent"):
        assert len(keys_file.current()) == 0
    assert "every engineer will be refused" in caplog.text
    alice = make_key(tmp_path / "alice", "Alice")
    path.write_text(alice.public_line + "\n")
    path.chmod(0o600)
    first = keys_file.current()
    assert len(first) == 1 and keys_file.current() is first  # unchanged file: not parsed again
    bob = make_key(tmp_path / "bob", "Bob")
    path.write_text(alice.public_line + "\n" + bob.public_line + "\n")
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))
    assert len(keys_file.current()) == 2


@pytest.mark.allow_warning_logs
@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_a_file_others_may_write_is_not_trusted(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "authorized_keys"
    path.write_text(ed25519_line() + "\n")
    path.chmod(0o666)
    with caplog.at_level(logging.WARNING, logger="deskline.agent"):
        assert len(AuthorizedKeysFile(path).current()) == 0
    assert "writable by group or others" in caplog.text and "chmod go-w" in caplog.text
