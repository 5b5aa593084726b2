"""Redaction: the corpus proves what is masked and what is kept; pseudonyms are consistent; nothing leaks.

The corpus lives in tests/fixtures/redaction/:

* ``secrets.jsonl``: one realistic log or config line per case, as JSON ``{"text", "secret", "kind", "keep"}``:
  the secret (or list of secrets) must be gone, ``kind`` recorded, and every ``keep`` text still there;
* ``keep.txt``: realistic lines that must come out byte-identical and record nothing;
* multi-line files (a log with private keys, YAML, .env, NetworkManager, wpa_supplicant, JSON, netsh, PuTTY)
  described in ``multiline.json``: secrets, kept text and the kinds with the lines they were masked on.

The tokens in the corpus are random strings in the providers' formats, not real credentials.
"""

from __future__ import annotations

import json
import random
import re
import string
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desktop.diagnostics import redaction
from desktop.diagnostics.redaction import Masking, Redactor

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "redaction"
SECRET_CASES: list[dict[str, Any]] = [
    json.loads(line) for line in (FIXTURES / "secrets.jsonl").read_text(encoding="utf-8").splitlines() if line
]
KEEP_LINES = (FIXTURES / "keep.txt").read_text(encoding="utf-8").splitlines()
MULTILINE: dict[str, dict[str, Any]] = json.loads((FIXTURES / "multiline.json").read_text(encoding="utf-8"))


def _secrets(case: dict[str, Any]) -> list[str]:
    return case["secret"] if isinstance(case["secret"], list) else [case["secret"]]


def _leaks(secret: str, original: str, redacted: str, width: int = 8) -> list[str]:
    """Fragments of ``secret`` (``width`` characters or more) that are in ``redacted`` but were not in
    ``original`` outside the secret (the key text around a secret may share letters with it)."""
    context = original.replace(secret, "\0")
    return [secret[i:i + width] for i in range(len(secret) - width + 1)
            if secret[i:i + width] in redacted and secret[i:i + width] not in context]


def _assert_no_secret_in_records(r: Redactor, secrets: list[str]) -> None:
    records = repr(r.maskings) + r.explain() + repr(r.summary())
    for s in secrets:
        assert s not in records
        assert not _leaks(s, "", records), "a masking record holds part of a secret"


# ------------------------------------------------------------------------------------------------ corpus

def test_corpus_is_big_enough() -> None:
    assert len(SECRET_CASES) >= 80
    assert len(KEEP_LINES) >= 60
    kinds = {c["kind"] for c in SECRET_CASES}
    for kind in ("password", "url-credentials", "bearer-token", "basic-auth", "aws-access-key", "aws-secret-key",
                 "github-token", "gitlab-token", "slack-token", "google-api-key", "stripe-key", "openai-key",
                 "sendgrid-key", "npm-token", "pypi-token", "jwt", "private-key", "wifi-psk", "cookie",
                 "connection-string", "generic-secret", "password-hash", "ntlm-hash"):
        assert kind in kinds, f"no corpus case for {kind}"


@pytest.mark.parametrize("case", SECRET_CASES, ids=[f"{i + 1}-{c['kind']}" for i, c in enumerate(SECRET_CASES)])
def test_secret_lines_are_masked(case: dict[str, Any]) -> None:
    r = Redactor()
    out = r.redact_text(case["text"], "attachments/corpus.txt")
    for secret in _secrets(case):
        assert secret not in out
        assert not _leaks(secret, case["text"], out), f"part of the secret survived: {out!r}"
    for keep in case["keep"]:
        assert keep in out, f"lost the text around the secret: {out!r}"
    kinds = {m.kind for m in r.maskings}
    assert case["kind"] in kinds, kinds
    assert all(m.where == "attachments/corpus.txt" and m.line is None and m.count >= 1 for m in r.maskings)
    assert f"[REDACTED {case['kind']}]" in out
    _assert_no_secret_in_records(r, _secrets(case))


@pytest.mark.parametrize("line", KEEP_LINES)
def test_ordinary_lines_are_kept(line: str) -> None:
    r = Redactor()
    assert r.redact_text(line, "attachments/keep.txt") == line
    assert r.maskings == []


def test_keep_corpus_as_one_text_is_unchanged() -> None:
    text = "\n".join(KEEP_LINES) + "\n"
    r = Redactor()
    assert r.redact_text(text, "attachments/keep.txt") == text
    assert r.maskings == [] and r.summary() == {} and r.explain() == ""


def test_secret_corpus_as_one_log_records_each_line() -> None:
    text = "\r\n".join(c["text"] for c in SECRET_CASES) + "\r\n"
    r = Redactor()
    out = r.redact_text(text, "attachments/all.log")
    assert out.count("\r\n") == text.count("\r\n"), "line ends changed"
    out_lines = out.split("\r\n")
    for i, case in enumerate(SECRET_CASES, 1):
        assert any(m.kind == case["kind"] and m.line == i for m in r.maskings), (i, case["kind"])
        for secret in _secrets(case):
            assert secret not in out_lines[i - 1]
    _assert_no_secret_in_records(r, [s for c in SECRET_CASES for s in _secrets(c)])


@pytest.mark.parametrize("name", sorted(MULTILINE))
def test_multiline_files(name: str) -> None:
    spec = MULTILINE[name]
    text = (FIXTURES / name).read_text(encoding="utf-8")
    r = Redactor()
    out = r.redact_text(text, f"attachments/{name}")
    for secret in spec["secrets"]:
        assert secret not in out
    for keep in spec["keep"]:
        assert keep in out
    lines: dict[str, list[int | None]] = {}
    for m in r.maskings:
        assert m.where == f"attachments/{name}"
        lines.setdefault(m.kind, []).append(m.line)
    assert lines == spec["kinds"]
    if "PRIVATE KEY" not in text and "Private-Lines" not in text:
        assert out.count("\n") == text.count("\n"), "only a private key's body may fold lines"
    if spec.get("json"):
        assert json.loads(out)["type"] == "service_account"  # still valid JSON
    _assert_no_secret_in_records(r, spec["secrets"])


def test_private_key_lines_collapse_and_later_lines_count_in_the_output() -> None:
    text = (FIXTURES / "pem_in_log.log").read_text(encoding="utf-8")
    out = Redactor().redact_text(text, "a")
    out_lines = out.splitlines()
    assert out_lines[3:6] == [
        "-----BEGIN RSA PRIVATE KEY-----", "[REDACTED private-key]", "-----END RSA PRIVATE KEY-----"]
    # a key cut off without its END line: everything base64 after BEGIN goes, the log around it stays
    text = ("start\n-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIGx0aGVyZS1pcy1ub3RoaW5nLWhlcmU\nAwEHoUQDQgAE\n"
            "2024-03-04 next line\n")
    r = Redactor()
    out = r.redact_text(text, "a")
    assert out == "start\n-----BEGIN EC PRIVATE KEY-----\n[REDACTED private-key]\n2024-03-04 next line\n"
    assert r.maskings == [Masking("private-key", "a", 3, 1)]


# ------------------------------------------------------------------------------------------ specific rules

@pytest.mark.parametrize(("text", "expected"), [
    ("DB_PASSWORD=[REDACTED password]", "DB_PASSWORD=[REDACTED password]"),
    ("password: ********", "password: ********"),
    ("password: <hidden>", "password: <hidden>"),
    ('"password": "[FILTERED]"', '"password": "[FILTERED]"'),
    ("PGPASSWORD=$DB_PASS", "PGPASSWORD=$DB_PASS"),
    ("set PASSWORD=%DB_PASS%", "set PASSWORD=%DB_PASS%"),
    ("password = yes", "password = yes"),
    ("token_file=/run/secrets/token", "token_file=/run/secrets/token"),
    ("api_token=/run/secrets/api", "api_token=/run/secrets/api"),  # a path names where the token is
    ("password=/run/secrets/pw", "password=[REDACTED password]"),  # but a password is masked anyway
    ("if password == expected:", "if password == expected:"),
    ("max_tokens: 4096", "max_tokens: 4096"),
    ("oauth=enabled", "oauth=enabled"),
    ("phase2-auth=mschapv2", "phase2-auth=mschapv2"),
    ("proxy_bypass=localhost", "proxy_bypass=localhost"),
    ("?sig=abc123def", "?sig=[REDACTED generic-secret]"),
    ("design sig=abc", "design sig=abc"),  # only a signed URL's sig= is a credential
    ("Authorization: Bearer x1", "Authorization: Bearer [REDACTED bearer-token]"),
    ("user: bob, password: hunter2", "user: bob, password: [REDACTED password]"),
    ("WWW-Authenticate: Basic realm=\"x\"", "WWW-Authenticate: Basic realm=\"x\""),
    ("mysql -u root -p mydb", "mysql -u root -p mydb"),  # -p then a blank: mysql asks for the password
    ("openssl rsa -in k.pem -passin file:/etc/k.pass", "openssl rsa -in k.pem -passin file:/etc/k.pass"),
    ("net user alice /domain", "net user alice /domain"),
])
def test_values_that_are_not_secrets(text: str, expected: str) -> None:
    assert Redactor().redact_text(text, "x") == expected


def test_key_kinds_spell_out_the_keyword_regex() -> None:
    # the quick endswith() test must accept exactly what the keyword regex accepts
    spec = re.compile(f"(?:{redaction._KEYWORDS})", re.IGNORECASE)
    assert all(spec.fullmatch(w) for w in redaction._KEY_SUFFIXES)
    for word in ("password", "PASSWD", "passphrase", "pwd", "secret", "tokens", "api-key", "ApiKey", "access_key",
                 "client-key", "credentials", "authtok", "cookie", "session_id", "psk", "wep-key3", "sig"):
        assert spec.fullmatch(word) and word.lower().endswith(redaction._KEY_SUFFIXES), word


def test_crlf_and_blanks_around_values_are_kept() -> None:
    text = "[db]\r\npassword = se cret \r\nuser = bob\r\n"
    r = Redactor()
    assert r.redact_text(text, "a.ini") == "[db]\r\npassword = [REDACTED password] \r\nuser = bob\r\n"
    assert r.maskings == [Masking("password", "a.ini", 2, 1)]


# ------------------------------------------------------------------------------------------- report data

def test_redact_data_masks_secret_keys_whole_and_walks_everything() -> None:
    data: dict[str, Any] = {
        "variables": {
            "DATABASE_URL": "postgres://app:pg-s3cret@db/app",
            "API_TOKEN": "plain-looking-value",
            "PWD": "/home/alice/src",
            "PASSWORD_SET": True,
            "password": "",
            "HOME": "/home/alice",
        },
        "services": [{"name": "web", "env": ["A=1", "SECRET_KEY=dj4ngo-k3y"]}],
        "credentials": {"user": "bob", "nested": ["x1-secret", 3]},
        "count": 3,
        "ratio": 0.5,
        "none": None,
        "pair": ("a", "session_token=abcdef123456"),
    }
    r = Redactor()
    out = r.redact_data(data, "probes.environment.data")
    assert out["variables"]["DATABASE_URL"] == "postgres://app:[REDACTED connection-string]@db/app"
    assert out["variables"]["API_TOKEN"] == "[REDACTED token]"
    assert out["variables"]["PWD"] == "/home/alice/src"
    assert out["variables"]["PASSWORD_SET"] is True and out["variables"]["password"] == ""
    assert out["services"][0]["env"] == ["A=1", "SECRET_KEY=[REDACTED generic-secret]"]
    assert out["credentials"] == {"user": "[REDACTED generic-secret]",
                                  "nested": ["[REDACTED generic-secret]", 3]}
    assert (out["count"], out["ratio"], out["none"]) == (3, 0.5, None)
    assert out["pair"] == ("a", "session_token=[REDACTED token]")
    assert data["variables"]["API_TOKEN"] == "plain-looking-value", "the input must not change"
    where = {(m.kind, m.where) for m in r.maskings}
    assert where == {
        ("connection-string", "probes.environment.data.variables.DATABASE_URL"),
        ("token", "probes.environment.data.variables.API_TOKEN"),
        ("generic-secret", "probes.environment.data.services[0].env[1]"),
        ("generic-secret", "probes.environment.data.credentials.user"),
        ("generic-secret", "probes.environment.data.credentials.nested[0]"),
        ("token", "probes.environment.data.pair[1]"),
    }
    assert all(m.line is None and m.count == 1 for m in r.maskings)
    _assert_no_secret_in_records(r, ["pg-s3cret", "plain-looking-value", "dj4ngo-k3y", "x1-secret", "abcdef123456"])


def test_redact_data_on_a_bare_string_and_multiline_values() -> None:
    r = Redactor()
    assert r.redact_data("password=abc", "host") == "password=[REDACTED password]"
    assert r.redact_data({"log": "ok\nuser=bob password=abc\n"}, "probes.logs") == {
        "log": "ok\nuser=bob password=[REDACTED password]\n"}
    assert r.maskings == [Masking("password", "host", None, 1), Masking("password", "probes.logs.log", 2, 1)]


def test_repeated_values_are_counted_at_each_place() -> None:
    r = Redactor()
    r.redact_data({"a": ["token=abcdef1", "token=abcdef1"], "b": "token=abcdef1"})
    assert [(m.where, m.count) for m in r.maskings] == [("a[0]", 1), ("a[1]", 1), ("b", 1)]
    assert r.summary() == {"token": 3}


def test_explain_lists_kind_place_line_count() -> None:
    r = Redactor()
    r.redact_text("a\npassword=x1\nsent token=abcdef1 password=y2\n", "attachments/a.log")
    r.redact_text("ghp_" + "A1b2" * 9, "probes.environment.data.variables.GH")
    assert r.explain() == (
        "password\tattachments/a.log:2\t1\n"
        "token\tattachments/a.log:3\t1\n"
        "password\tattachments/a.log:3\t1\n"
        "github-token\tprobes.environment.data.variables.GH\t1\n"
    )
    assert r.summary() == {"github-token": 1, "password": 2, "token": 1}


# ------------------------------------------------------------------------------------------- pseudonyms

def test_pseudonyms_are_consistent_across_text_and_data() -> None:
    r = Redactor(pseudonymize=True, usernames=["alice"], hostnames=["pc-042.corp.example"])
    log = ("Mar  3 10:15:01 pc-042 sshd[1234]: Failed password for invalid user admin from 203.0.113.5 port 22\n"
           "Accepted publickey for alice from 203.0.113.77; mail bob@example.com, Carol.Smith@Example.COM\n"
           "files in /home/alice/.config and C:\\Users\\Alice\\AppData, fileserver.corp.example, corp.example\n")
    out = r.redact_text(log, "attachments/auth.log")
    assert out == (
        "Mar  3 10:15:01 <host-1> sshd[1234]: Failed password for invalid user admin from 240.0.0.5 port 22\n"
        "Accepted publickey for <user-1> from 240.0.0.77; mail <email-1>, <email-2>\n"
        "files in /home/<user-1>/.config and C:\\Users\\<user-1>\\AppData, <host-2>, <domain-1>\n"
    )
    data = r.redact_data({"host": "PC-042.corp.example", "user": "alice", "peer": "203.0.113.5",
                          "by_user": {"mail": "BOB@example.com", "dns": "8.8.8.8"}}, "probes.users.data")
    assert data == {"host": "<host-1>", "user": "<user-1>", "peer": "240.0.0.5",
                    "by_user": {"mail": "<email-1>", "dns": "240.0.1.8"}}
    assert {m.where for m in r.maskings if m.where.startswith("probes")} == {
        "probes.users.data.host", "probes.users.data.user", "probes.users.data.peer",
        "probes.users.data.by_user.mail", "probes.users.data.by_user.dns"}
    records = repr(r.maskings) + r.explain()
    for original in ("alice", "Alice", "pc-042", "corp.example", "203.0.113", "bob@", "Carol", "8.8.8.8"):
        assert original not in records
    # a second report starts from 1 again, and knows nothing of the first one's values
    r2 = Redactor(pseudonymize=True)
    assert r2.redact_text("from 8.8.8.8 by carol@example.org", "x") == "from 240.0.0.8 by <email-1>"


def test_keys_are_kept_and_short_names_only_pseudonymized_as_whole_values() -> None:
    # a container's host name "vm" must not rename the field "vm" nor touch vm.swappiness, yet the value
    # that is the host name goes
    r = Redactor(pseudonymize=True, usernames=["al"], hostnames=["vm"])
    data = {"hostname": "vm", "vm": "kvm", "user": "al", "sysctl": "vm.swappiness = 60", "note": "al and vm"}
    assert r.redact_data(data, "probes.system.data") == {
        "hostname": "<host-1>", "vm": "kvm", "user": "<user-1>", "sysctl": "vm.swappiness = 60", "note": "al and vm"}
    assert r.redact_data("vm", "host") == "<host-1>"


def test_different_values_get_different_pseudonyms() -> None:
    r = Redactor(pseudonymize=True, usernames=["alice", "bob"], hostnames=["ws-1.corp.example", "ws-2"])
    out = r.redact_text("alice bob ws-1 ws-2 a@x.org b@x.org 198.51.100.1 198.51.100.2 192.0.2.1", "x")
    assert out == "<user-1> <user-2> <host-1> <host-2> <email-1> <email-2> 240.0.0.1 240.0.0.2 240.0.1.1"


def test_what_pseudonymization_keeps() -> None:
    r = Redactor(pseudonymize=True, usernames=["root", "al", "1000"])
    text = ("lo 127.0.0.1 ::1 any 0.0.0.0 :: mask 255.255.255.0 bcast 255.255.255.255 mdns 224.0.0.251 ff02::1 "
            "lan 192.168.1.23 10.0.0.5 172.16.4.1 100.64.0.7 169.254.1.1 fe80::5054:ff:fe12:3456 fd00::1 "
            "pseudonyms 240.0.0.5 2001:db8::1 version 1.2.3.4 v1.2.3.4 dpkg 1.2.5.1-2 jdk 17.0.21.1+2 "
            "mac 52:54:00:12:34:56 time 10:23:45 c++ std::vector a::b oid 1.3.6.1.4.1.311 "
            "units user@1000.service getty@tty1.service git@github.com:acme/app.git root al 1000")
    assert r.redact_text(text, "x") == text
    assert r.maskings == []


def test_private_addresses_with_keep_private_ips_off() -> None:
    r = Redactor(pseudonymize=True, keep_private_ips=False)
    out = r.redact_text("inet 192.168.1.23/24 brd 192.168.1.255 gw 192.168.1.1 dns 10.0.0.53 "
                        "fe80::5054:ff:fe12:3456 fe80::1 fd00::1 ::ffff:192.168.1.23", "x")
    # one /24 maps to one pseudonym /24 and keeps host bytes: the gateway stays .1, in the same network
    assert out == ("inet 240.0.0.23/24 brd 240.0.0.255 gw 240.0.0.1 dns 240.0.1.53 "
                   "2001:db8::1 2001:db8::2 2001:db8:0:1::1 ::ffff:240.0.0.23")


def test_pseudonymized_text_is_not_pseudonymized_again() -> None:
    # names that are also words of the placeholders and marks
    r = Redactor(pseudonymize=True, usernames=["email", "redacted", "password"], hostnames=["host"])
    text = "email host <user-1> <email-1> <host-1> [REDACTED password] 240.0.0.1 password"
    once = r.redact_text(text, "x")
    assert once == "<user-1> <host-1> <user-1> <email-1> <host-1> [REDACTED password] 240.0.0.1 <user-2>"
    assert r.redact_text(once, "y") == once
    assert [m.where for m in r.maskings] == ["x", "x"]


# ----------------------------------------------------------------------------------------- idempotence

def test_redacting_twice_changes_nothing_on_the_corpus() -> None:
    texts = [c["text"] for c in SECRET_CASES] + [(FIXTURES / n).read_text(encoding="utf-8") for n in MULTILINE]
    for pseudonymize in (False, True):
        first = Redactor(pseudonymize=pseudonymize, usernames=["alice"], hostnames=["pc-042.corp.example"])
        once = [first.redact_text(t, "x") for t in texts]
        before = first.maskings
        assert [first.redact_text(t, "x") for t in once] == once
        assert first.maskings == before
        fresh = Redactor(pseudonymize=pseudonymize, usernames=["alice"], hostnames=["pc-042.corp.example"])
        assert [fresh.redact_text(t, "x") for t in once] == once
        assert fresh.maskings == []


# ------------------------------------------------------------------------------------------- properties

_WORDS = st.sampled_from(
    "the a of to in is connection failed ok error user admin host 10.0.0.1 1.2.3 /usr/lib/x.so = : ; , "
    "\" ' [ ] { } ( ) # - -- key value session auth pass token id= name: @ :// Bearer Cookie: \n \t".split(" ")
    + [" ", "\n", "  "])
_FILLER = st.lists(_WORDS, max_size=25).map(" ".join)
_ALNUM = string.ascii_letters + string.digits


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(before=_FILLER, after=_FILLER, body=st.text(_ALNUM, min_size=36, max_size=40),
       prefix=st.sampled_from(["ghp_", "gho_", "ghs_", "github_pat_"]),
       sep=st.sampled_from([" ", "\n", "=", ": ", "\"", "'", "(", "token=", "https://", "\t"]))
def test_random_text_never_leaks_a_github_token(before: str, after: str, body: str, prefix: str, sep: str) -> None:
    token = prefix + body
    text = f"{before}{sep}{token} {after}"
    r = Redactor()
    out = r.redact_text(text, "x")
    assert token not in out
    assert body[:20] not in out
    assert any(m.kind == "github-token" for m in r.maskings)


# values that look like a file path are kept for keys that are not passwords (token_file-like settings)
_PASSWORD = st.text(_ALNUM + "!#%^*_+-./?~@:", min_size=6, max_size=24).filter(
    lambda p: any(c.isdigit() for c in p) and any(c.isalpha() for c in p) and not p.startswith(("/", "~")))
_KEYS = st.sampled_from(["password", "DB_PASSWORD", "passwd", "api_key", "client_secret", "auth_token",
                         "SECRET_KEY", "MYSQL_ROOT_PASSWORD", "psk", "access_token", "x-api-key"])


@settings(max_examples=300, deadline=None)
@given(before=_FILLER, after=_FILLER, key=_KEYS, password=_PASSWORD,
       form=st.sampled_from(["{k}={p}", "{k} = {p}", "{k}: {p}", '"{k}": "{p}"', "{k}='{p}'", "--{k}={p}",
                             "<{k}>{p}</{k}>", "export {k}={p}"]),
       newline=st.booleans())
def test_random_text_never_leaks_a_password(before: str, after: str, key: str, password: str, form: str,
                                            newline: bool) -> None:
    setting = form.format(k=key, p=password)
    text = f"{before}\n{setting}\n{after}" if newline else f"{before} {setting} {after}"
    r = Redactor()
    out = r.redact_text(text, "x")
    assert password not in out, out
    assert r.maskings


@settings(max_examples=300, deadline=None)
@given(text=st.lists(st.one_of(_WORDS, st.sampled_from([c["text"] for c in SECRET_CASES] + KEEP_LINES)),
                     max_size=12).map(" ".join),
       pseudonymize=st.booleans())
def test_redaction_is_idempotent(text: str, pseudonymize: bool) -> None:
    r = Redactor(pseudonymize=pseudonymize, usernames=["alice"], hostnames=["pc-042.corp.example"])
    once = r.redact_text(text, "x")
    before = list(r.maskings)
    assert r.redact_text(once, "x") == once
    assert r.maskings == before
    assert Redactor(pseudonymize=pseudonymize).redact_text(once, "y") == once


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=300))
def test_arbitrary_text_never_breaks_redaction(text: str) -> None:
    r = Redactor(pseudonymize=True, usernames=["alice"], hostnames=["pc-042.corp.example"])
    once = r.redact_text(text, "x")
    assert r.redact_text(once, "x") == once
    assert once.count("\n") == text.count("\n") or "PRIVATE KEY" in text or "Private-Lines" in text


# ------------------------------------------------------------------------------------------------ speed

def _big_log(size: int) -> str:
    rng = random.Random(7)
    secrets = [c["text"] for c in SECRET_CASES]
    lines: list[str] = []
    total = 0
    while total < size:
        line = rng.choice(secrets) if rng.random() < 0.01 else rng.choice(KEEP_LINES)
        lines.append(line)
        total += len(line) + 1
    return "\n".join(lines)


def _best_of(runs: int, fn: Any) -> float:
    best = float("inf")
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def test_a_one_megabyte_log_redacts_well_under_a_second() -> None:
    # the keep corpus is dense with trigger words (password, key, session, auth): a worst case, not a typical log
    log = _big_log(1_000_000)
    for pseudonymize in (False, True):
        seconds = _best_of(3, lambda p=pseudonymize: Redactor(pseudonymize=p, usernames=["alice"],
                                                             hostnames=["pc-042.corp.example"]).redact_text(log, "a"))
        assert seconds < 1.0, f"1 MB took {seconds:.2f} s (pseudonymize={pseudonymize})"


@pytest.mark.parametrize("text", [
    "password=" * 20_000,
    json.dumps([{"msg": line, "password": f"x{i}", "id": i} for i, line in enumerate(KEEP_LINES * 12)]),
    " ".join(["pass", "key", "token", "auth", "session", "cookie", "=", ":", "curl", "Bearer"] * 4_000),
    ":" * 200_000 + " " + "::" * 50_000,
    "x://a:b@" * 20_000,
    "-----BEGIN RSA PRIVATE KEY-----\n" * 5_000,
], ids=["repeated-key", "minified-json", "trigger-words", "colons", "userinfo", "pem-headers"])
def test_pathological_single_lines_take_linear_time(text: str) -> None:
    # one long line full of what the rules look for: each must stay linear (a quadratic rule takes minutes)
    seconds = _best_of(2, lambda: Redactor(pseudonymize=True, usernames=["alice"]).redact_text(text, "x"))
    assert seconds < 1.0, f"{len(text)} characters took {seconds:.2f} s"


def test_a_report_sized_document_redacts_in_milliseconds() -> None:
    rng = random.Random(3)
    doc = {
        "processes": [{"pid": i, "name": rng.choice(["firefox", "code", "python3"]), "user": "alice",
                       "cmdline": f"/usr/bin/python3 -m worker --id {i}", "rss_bytes": i * 4096} for i in range(400)],
        "packages": [{"name": f"lib{i}", "version": f"1.{i}.3-1", "arch": "amd64"} for i in range(1500)],
        "logs": [{"unit": "sshd.service", "message": rng.choice(KEEP_LINES)} for _ in range(800)],
        "variables": {f"VAR_{i}": f"/opt/app{i}/bin" for i in range(60)},
    }
    assert len(json.dumps(doc)) > 200_000
    for pseudonymize in (False, True):
        seconds = _best_of(3, lambda p=pseudonymize: Redactor(pseudonymize=p, usernames=["alice"]).redact_data(doc))
        assert seconds < 0.1, f"the report took {seconds * 1000:.0f} ms (pseudonymize={pseudonymize})"


def test_the_shared_memo_records_each_reports_own_maskings() -> None:
    data = {"env": ["TOKEN=ghp_" + "a" * 36, "LANG=C"], "note": "plain"}
    first, second = Redactor(), Redactor()
    assert first.redact_data(data) == second.redact_data(data)
    assert "ghp_" + "a" * 36 not in str(second.redact_data(data))
    # the second report found the token through the first one's memo, and still counts it as its own
    assert first.summary() == {"github-token": 1}
    assert second.summary() == {"github-token": 2}
    assert [m.where for m in second.maskings] == ["env[0]"]


def test_pseudonyms_never_come_from_another_reports_memo() -> None:
    line = "login by alice from bob-laptop"
    alice = Redactor(pseudonymize=True, usernames=["alice"]).redact_data({"line": line})["line"]
    plain = Redactor().redact_data({"line": line})["line"]
    bob = Redactor(pseudonymize=True, usernames=["bob"], hostnames=["bob-laptop"]).redact_data({"line": line})["line"]
    assert "alice" not in alice and "bob-laptop" in alice
    assert plain == line
    assert "alice" in bob and "bob-laptop" not in bob


def test_the_shared_memo_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redaction, "MEMO_MAX", 50)
    monkeypatch.setattr(redaction, "_SHARED_MEMO", {})
    r = Redactor()
    r.redact_data([f"name-{i}" for i in range(500)])
    assert 0 < len(redaction._SHARED_MEMO) <= 50
    assert r.redact_data(["name-7", "x" * 300]) == ["name-7", "x" * 300]  # longer texts are never memoized
    assert "x" * 300 not in redaction._SHARED_MEMO
