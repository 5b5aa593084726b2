"""Redaction: secrets are masked, and (optionally) people and machines pseudonymized, before anyone sees a report.

One :class:`Redactor` serves one report. Everything that leaves the machine goes through it: the report
data (:meth:`Redactor.redact_data`) and every text attachment (:meth:`Redactor.redact_text`). It keeps
:class:`Masking` records (what kind, where, which line, how often) that the report carries and
``deskline redact --explain`` prints; a record never holds the secret, nor any part of it.

Secrets (always masked)
    Values of secret settings in ``key=value`` / ``key: value`` / ``key => value`` text (env files, INI,
    YAML, JSON, properties, XML tags, logs, code): the key *ends* with a secret word (password, passwd,
    pwd, secret, token, api_key, access_key, private_key, client_secret, auth, credentials, cookie,
    session_id, psk, ...), so ``DB_PASSWORD`` is one and ``password_policy_days`` is not. URL user-info
    (``scheme://user:pass@host``); ``Authorization`` headers (Basic, Bearer, Token, Digest, ...);
    ``Cookie``/``Set-Cookie`` values (names kept); the token formats of common providers (AWS key ids,
    GitHub, GitLab, Slack, Google, Stripe, OpenAI, Anthropic, SendGrid, npm, PyPI, Hugging Face, Vault,
    Telegram, DigitalOcean, webhooks); JWTs; PEM and PuTTY private keys (the whole block, also when cut
    off); Wi-Fi keys (NetworkManager, wpa_supplicant, hostapd, ``netsh wlan show profile key=clear`` in
    English, Russian, German, French, Spanish, Italian; WLAN profile XML); connection strings (ADO.NET,
    ODBC, JDBC, libpq, Azure storage); passwords on command lines (``sshpass -p``, ``mysql -pX``,
    ``--password X``, ``curl -u user:pass``, ``smbclient -U user%pass``, ``docker login -p``,
    ``openssl pass:X``, ``ldapsearch -w``, ``net user``/``net use``, ``ConvertTo-SecureString``, ...);
    crypt(3), LDAP and Kerberos password hashes, NTLM hash pairs, network-gear and SNMP secrets.

    A secret is replaced by one token, ``[REDACTED <kind>]``, and everything around it stays, so an
    engineer still sees what was set: ``DB_PASSWORD=[REDACTED password]``,
    ``https://bob:[REDACTED url-credentials]@db.example.org/``, ``Authorization: Bearer [REDACTED
    bearer-token]``, ``alice:$6$[REDACTED password-hash]:19700:...``; a private key keeps its BEGIN and
    END lines around one token. Where a value runs: quoted values to their quote; the value of a
    setting that starts its line to the end of the line (a Wi-Fi passphrase or an INI password may hold
    blanks: better a comment masked too than a word of a password left); inside a connection string to
    the next ``;``; elsewhere to the next blank. A format-specific rule runs before the generic key
    rule, so ``GITHUB_TOKEN=ghp_...`` is recorded as ``github-token``; masks already in a line are
    never cut or masked again, so redacting twice changes nothing.

    Kept, because they cannot be secrets: empty values, yes/no/true/false/none, placeholders
    (``********``, ``xxxx``, ``<hidden>``, ``[FILTERED]``), references (``$DB_PASS``, ``${X}``, ``%X%``,
    ``{{ vault_x }}``), file paths under keys that are not passwords (``token_file``-like settings),
    ``PWD``/``OLDPWD`` holding a directory, ``passwd:`` lines of nsswitch.conf and of the passwd program,
    counts such as ``max_tokens: 4096``. Hex and base64 runs alone are not secrets (file hashes, commit
    ids, UUIDs, public keys, certificates): they are masked only where a key or a token format says so.

Pseudonyms (only with ``pseudonymize=True``)
    E-mail addresses become ``<email-N>``; the user names the caller passes ``<user-N>`` wherever they
    stand as a word, any case (``/home/<user-1>/``, ``C:\\Users\\<user-1>``); the host names it passes
    (short or fully qualified: one pseudonym) and every other name in their DNS domain ``<host-N>``, the
    domain itself ``<domain-N>``. IP addresses keep their shape, so what expects an address still
    works and an engineer still sees which addresses share a network (``sos clean`` does the same):
    each IPv4 /24 gets its own /24 in 240.0.0.0/4 (reserved, never routed) and keeps its host byte
    (203.0.113.5 -> 240.0.0.5, 203.0.113.9 -> 240.0.0.9, 8.8.8.8 -> 240.0.1.8; past 983,040 networks,
    ``<ipv4-N>``); each IPv6 /64 gets its own /64 in 2001:db8::/32 and its interface part is numbered
    (it can embed a MAC). Addresses already in those ranges are taken as pseudonyms and kept, so a real
    one there would share a pseudonym's spelling (neither range is used on real networks).
    Never pseudonymized: loopback, unspecified, multicast, broadcast and netmask-shaped addresses;
    private ones (RFC 1918, 100.64/10, link-local, ULA) unless ``keep_private_ips=False``; systemd unit
    instances (``user@1000.service``) and ``git@host`` remotes; MAC addresses. The same value gets the
    same pseudonym everywhere in one Redactor (the report and its attachments); a new Redactor starts
    from 1. Caveats: four dotted numbers are an IPv4 address unless ``v``/``version`` stands before them
    or a package revision (``1.2.5.1-2``, ``17.0.21.1+2``) follows; names shorter than 3 characters are
    pseudonymized only where they are a whole value (``hostname: vm``), not inside text
    (``vm.swappiness``); system accounts (root, admin, nobody, ...) are not pseudonymized; mapping keys
    are kept as they are (they are field and variable names; renaming them would break the document).

Speed: patterns are compiled once at import (about 20 ms). One scan of the lower-cased text with a trie
of trigger words finds the lines worth a closer look and which rules they need; the key rule starts
from separators, pseudonym candidates come from ``str.find``; short strings of report data are
memoized (they repeat). Every rule is linear in the length of a line, also on pathological input.
Measured on this machine: a 1 MB log dense with trigger words 0.13-0.19 s (0.16-0.23 s with
pseudonyms), 1 MB of dpkg/apt logs 0.05 s (0.07 s), the whole report (97 KB of probe data) 7 ms
(10 ms with pseudonyms).
"""

from __future__ import annotations

import base64
import bisect
import functools
import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["MARK_PREFIX", "Masking", "Redactor", "mark"]

#: Every masked secret reads ``[REDACTED <kind>]``.
MARK_PREFIX = "[REDACTED "
_MARK = r"\[REDACTED [a-z0-9:-]+\]"
_MARK_RE = re.compile(_MARK)


def mark(kind: str) -> str:
    """The token that replaces a secret of ``kind``."""
    return f"{MARK_PREFIX}{kind}]"


@dataclass(frozen=True)
class Masking:
    """One kind of masking at one place; never the secret itself.

    ``where`` is a path in the report (``probes.environment.data.variables.DATABASE_URL``) or an
    attachment (``attachments/app.log``). ``line`` is the 1-based line in the redacted text for
    secrets in multi-line text, and None for single-line values and for pseudonyms, which are counted
    over the whole text (a log can hold thousands of addresses). ``count`` is how many values were
    masked there.
    """

    kind: str
    where: str
    line: int | None
    count: int


# ------------------------------------------------------------------------------------------------ helpers

_Span = tuple[int, int, str]  # start, end, kind of one secret in a line
_Decide = Callable[[re.Match[str], str], Iterable[_Span]]

_NON_SECRET_WORDS = frozenset(
    "true false yes no on off none null nil undefined n/a na enabled disabled required optional "
    "prompt ask auto default empty unset value".split()
)
_PLACEHOLDER_RE = re.compile(
    r"\*+|[xX]{3,}|•+|\.{3}|…|<[^<>]*>|\[(?i:hidden|redacted|filtered|masked|secret|removed)\]"
    r"|\((?i:hidden|redacted|masked|not shown)\)"
    r"|\$\{?[A-Za-z_][A-Za-z0-9_.-]*\}?|\$\{[^}]*\}|\$\([^)]*\)|%[A-Za-z_][A-Za-z0-9_]*%|%\([A-Za-z_]\w*\)[sd]"
    r"|\{\{.*\}\}|\{%.*%\}|@[A-Za-z_]\w*@"
)
# a path of two or more parts (pseudonyms such as <user-1> may stand in it)
_PATH_RE = re.compile(
    r"(?:~|[A-Za-z]:)?(?:[/\\][\w.@+<>-][\w .@+<>-]*){2,}[/\\]?|[A-Za-z][\w-]*:(?:/[\w.@+<>-]+){2,}")


def _trivial(value: str) -> bool:
    """True when a value under a secret key cannot be a secret (empty, yes/no, a placeholder, a $reference,
    or nothing but masks and what may stand around them)."""
    if "[REDACTED" in value:
        # judged as before its parts were masked, so that redacting again changes nothing
        return all(_leftover(piece) for piece in _MARK_RE.split(value)) or _plain_trivial(_MARK_RE.sub("x", value))
    return _plain_trivial(value)


def _plain_trivial(value: str) -> bool:
    v = value.strip()
    return not v or v.lower() in _NON_SECRET_WORDS or _PLACEHOLDER_RE.fullmatch(v) is not None


# what may stay next to a mask: punctuation, the scheme before a masked hash ($6$, {SSHA}), PEM armour
_LEFTOVER_RE = re.compile(
    r"\$[\w-]+\$|\{[A-Za-z0-9-]+\}|(?:\\n|\\r|\s)*(?:-{4,5} ?(?:BEGIN|END) [A-Z0-9 ]+ ?-{4,5}(?:\\n|\\r|\s)*)+"
)


def _leftover(piece: str) -> bool:
    """True for the text between masks inside a value that needs no masking of its own."""
    p = piece.strip()
    return (not any(c.isalnum() for c in p) or "[REDACTED" in p or _LEFTOVER_RE.fullmatch(p) is not None
            or _plain_trivial(p))


def _looks_like_path(value: str) -> bool:
    return _PATH_RE.fullmatch(value.strip()) is not None


def _splice(line: str, spans: Iterable[_Span], kinds: list[str]) -> str:
    """Replace each (start, end) of ``line`` by the mark of its kind; spans are ordered and disjoint."""
    out: list[str] = []
    pos = 0
    for start, end, kind in spans:
        if start < pos or end <= start:
            continue
        out.append(line[pos:start])
        out.append(mark(kind))
        kinds.append(kind)
        pos = end
    if not out:
        return line
    out.append(line[pos:])
    return "".join(out)


def _apply(pattern: re.Pattern[str], decide: _Decide) -> Callable[[str, list[str]], str]:
    """A rule: for each match of ``pattern``, ``decide`` says which spans (with kinds) to mask."""

    def run(line: str, kinds: list[str]) -> str:
        return _commit(line, (span for m in pattern.finditer(line) for span in decide(m, line)), kinds)

    return run


def _commit(line: str, spans: Iterable[_Span], kinds: list[str]) -> str:
    """Mask ``spans`` of ``line`` in order, skipping any that overlaps an earlier one. Masks already in the
    line stay whole: a span around them is cut into the pieces between them, and pieces that hold
    nothing to hide (punctuation, a hash scheme such as ``$6$``) stay as they are."""
    taken: list[_Span] = []
    last = 0
    marks = [m.span() for m in _MARK_RE.finditer(line)] if "[REDACTED" in line else []
    ends = [e for _, e in marks]
    for start, end, kind in spans:
        if start < last:
            continue
        last = end
        inside = []
        i = bisect.bisect_right(ends, start)  # the first mark that ends after the span starts
        while i < len(marks) and marks[i][0] < end:
            inside.append(marks[i])
            i += 1
        if not inside:
            taken.append((start, end, kind))
            continue
        pos = start
        for s, e in [*inside, (end, end)]:
            a, b = pos, min(s, end)
            while a < b and line[a].isspace():
                a += 1
            while b > a and line[b - 1].isspace():
                b -= 1
            if a < b and not _leftover(line[a:b]):
                taken.append((a, b, kind))
            pos = max(pos, e)
    return _splice(line, taken, kinds) if taken else line


def _group(kind: str, *names: str, check: Callable[[str], bool] | None = None) -> _Decide:
    """Mask the named groups of a match (those that took part), all with one kind."""

    def decide(m: re.Match[str], line: str) -> Iterable[_Span]:
        out = []
        for name in names or ("v",):
            start, end = m.span(name)
            if start < 0 or start == end:
                continue
            value = m.group(name)
            if (check is not None and not check(value)) or _plain_trivial(value):
                continue
            out.append((start, end, kind))
        return out

    return decide


def _has_digit_and_letter(value: str) -> bool:
    return any(c.isdigit() for c in value) and any(c.isalpha() for c in value)


def _credential_like(value: str) -> bool:
    """A generated credential: letters and digits mixed, or long. Prose words are neither."""
    return _has_digit_and_letter(value) or len(value) >= 20


def _basic_credentials(value: str) -> bool:
    """Base64 of ``user:password``, as HTTP Basic sends it."""
    try:
        return b":" in base64.b64decode(value, validate=True)
    except ValueError:
        return False


# ------------------------------------------------------------------------------------------ private keys

_SEP = r"(?:\r?\n|(?:\\r)?\\n|[ \t]+)"  # a newline, an escaped one (JSON), or blanks
_B64_LINE = r"[A-Za-z0-9+/=]+(?=\r?\n|(?:\\r)?\\n|[ \t]|$|-{4,5}|[\"',])"
_PEM_HEADER = r"(?:Proc-Type|DEK-Info|Comment|Version|Hash|Charset):[^\r\n\\]*"
_PEM_RE = re.compile(
    rf"(?P<begin>-{{4,5}} ?BEGIN (?P<label>[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?) ?-{{4,5}})"
    rf"(?P<body>(?:{_SEP}(?:{_B64_LINE}|{_PEM_HEADER}|(?={_SEP})))*)"
    rf"(?P<end>{_SEP}?-{{4,5}} ?END (?P=label) ?-{{4,5}})?",
    re.MULTILINE,
)
_PUTTY_RE = re.compile(rf"(?P<begin>Private-Lines:[ \t]*\d+)(?P<body>(?:{_SEP}{_B64_LINE})+)", re.MULTILINE)
_FIRST_SEP_RE = re.compile(_SEP)


# ------------------------------------------------------------------------------------ provider tokens

@dataclass(frozen=True)
class _Rule:
    """Runs on a line only when one of ``triggers`` (lower case) occurs in it; masks what it finds."""

    triggers: tuple[str, ...]
    run: Callable[[str, list[str]], str]


def _token_rule(kind: str, pattern: str, triggers: Iterable[str], check: Callable[[str], bool] | None = None,
                flags: int = 0) -> _Rule:
    """A rule for one token format; the group ``v`` (or the whole pattern) is the secret."""
    body = pattern if "(?P<v>" in pattern else f"(?P<v>{pattern})"
    return _Rule(tuple(triggers), _apply(re.compile(body, flags), _group(kind, check=check)))


_NB = r"(?<![A-Za-z0-9])"  # not glued to a preceding letter or digit
_NBH = r"(?<![A-Za-z0-9_-])"

_TOKEN_RULES: list[_Rule] = [
    _token_rule("aws-access-key", rf"{_NB}(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{{16}}(?![A-Za-z0-9])",
                ["akia", "asia", "abia", "acca"], check=_has_digit_and_letter),
    _token_rule("github-token", rf"{_NB}(?:gh[pousr]_[A-Za-z0-9]{{30,}}|github_pat_[A-Za-z0-9_]{{30,}})",
                ["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"]),
    _token_rule("gitlab-token", rf"{_NBH}gl(?:pat|dt|rt|ptt|soat|cbt|ft|imt|oas)-[A-Za-z0-9_-]{{20,}}",
                ["glpat-", "gldt-", "glrt-", "glptt-", "glsoat-", "glcbt-", "glft-", "glimt-", "gloas-"]),
    _token_rule("slack-token", rf"{_NBH}(?:xox[abposre]-[A-Za-z0-9-]{{10,}}|xapp-\d-[A-Za-z0-9-]{{10,}})",
                ["xox", "xapp-"]),
    _token_rule("slack-webhook", r"hooks\.slack\.com/(?:services|workflows|triggers)/(?P<v>[A-Za-z0-9/_-]{10,})",
                ["hooks.slack.com"]),
    _token_rule("discord-webhook", r"discord(?:app)?\.com/api/webhooks/\d+/(?P<v>[A-Za-z0-9_-]{20,})",
                ["discord"]),
    _token_rule("google-api-key", rf"{_NBH}AIza[0-9A-Za-z_-]{{35}}", ["aiza"]),
    _token_rule("google-oauth-token", rf"{_NBH}(?:ya29\.[0-9A-Za-z_-]{{20,}}|GOCSPX-[0-9A-Za-z_-]{{20,}})",
                ["ya29.", "gocspx-"]),
    _token_rule("stripe-key", rf"{_NB}(?:(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{{10,}}|whsec_[A-Za-z0-9+/=]{{20,}})",
                ["sk_live_", "sk_test_", "rk_live_", "rk_test_", "whsec_"]),
    _token_rule("anthropic-key", rf"{_NBH}sk-ant-[A-Za-z0-9_-]{{20,}}", ["sk-ant-"]),
    _token_rule("openai-key", rf"{_NBH}sk-(?!ant-)(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{{20,}}", ["sk-"],
                check=_has_digit_and_letter),
    _token_rule("sendgrid-key", rf"{_NBH}SG\.[A-Za-z0-9_-]{{16,}}\.[A-Za-z0-9_-]{{16,}}", ["sg."]),
    _token_rule("npm-token", rf"{_NB}npm_[A-Za-z0-9]{{30,}}", ["npm_"]),
    _token_rule("pypi-token", rf"{_NBH}pypi-AgE[A-Za-z0-9_-]{{30,}}", ["pypi-age"]),
    _token_rule("huggingface-token", rf"{_NB}hf_[A-Za-z0-9]{{30,}}", ["hf_"], check=_has_digit_and_letter),
    _token_rule("digitalocean-token", rf"{_NB}do[opr]_v1_[a-f0-9]{{64}}", ["_v1_"]),
    _token_rule("vault-token", rf"{_NBH}hv[sbr]\.[A-Za-z0-9_-]{{20,}}", ["hvs.", "hvb.", "hvr."]),
    _token_rule("telegram-bot-token", r"(?<![\w:])\d{8,10}:AA[A-Za-z0-9_-]{33}", [":aa"]),
    _token_rule("jwt", rf"{_NBH}eyJ[A-Za-z0-9_-]{{8,}}\.[A-Za-z0-9_-]{{8,}}\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*){{0,2}}",
                ["eyj"]),
    # crypt(3) and LDAP password hashes: the scheme stays (it says which algorithm), the rest goes
    _token_rule("password-hash",
                r"\$(?:1|2[abxy]|5|6|7|y|gy|apr1|md5|sha1|argon2(?:id|i|d)|pbkdf2(?:-sha\d+)?|scrypt)"
                # up to the next field of /etc/shadow or htpasswd; a "$" and 16 hash characters must be in it
                r"\$(?P<v>(?=[^\s:'\"]*\$[./A-Za-z0-9+=]{16})[^\s:'\"]{8,})",
                ["$1$", "$2a$", "$2b$", "$2x$", "$2y$", "$5$", "$6$", "$7$", "$y$", "$gy$", "$apr1$", "$md5",
                 "$sha1$", "$argon2", "$pbkdf2", "$scrypt"]),
    # Kerberos hashes as hashcat prints them (AS-REP/TGS roasting): they hold ':' themselves
    _token_rule("password-hash", r"\$krb5(?:tgs|asrep|pa)\$(?P<v>[^\s'\"]{8,})", ["$krb5"]),
    _token_rule("password-hash",
                r"\{(?:SSHA|SHA|SSHA256|SSHA512|SHA256|SHA512|SMD5|MD5|CRYPT|PBKDF2[\w-]*|ARGON2)\}"
                r"(?P<v>[A-Za-z0-9+/=.$]{8,})",
                ["{ssha", "{sha", "{smd5", "{md5", "{crypt", "{pbkdf2", "{argon2"], flags=re.IGNORECASE),
    _token_rule("ntlm-hash", r":(?P<v>[0-9a-fA-F]{32}:[0-9a-fA-F]{32}):::", [":::"]),
]


# ------------------------------------------------------------------------------------ URL user-info

_DB_SCHEMES = frozenset(
    "postgres postgresql mysql mariadb mongodb mongodb+srv redis rediss amqp amqps sqlserver mssql oracle "
    "db2 clickhouse cockroachdb couchdb influxdb neo4j cassandra memcached".split()
)
_USERINFO_RE = re.compile(r"(?P<user>[^\s:/?#@\"'<>\[\]]*):(?P<v>[^\s/?#\"'<>]*)@(?=[\w\[.-])")
_SCHEME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-:")


def _url_run(line: str, kinds: list[str]) -> str:
    """``scheme://user:password@host``: found from each "://" (cheaper than a regex that starts at every letter)."""
    if "@" not in line:
        return line
    spans: list[_Span] = []
    at = line.find("://")
    while at != -1:
        m = _USERINFO_RE.match(line, at + 3)
        if m is not None:
            value = m.group("v")
            if value and not _trivial(value) and not (value.isdigit() and not m.group("user")):
                i = at
                while i > 0 and line[i - 1] in _SCHEME_CHARS:
                    i -= 1
                scheme = line[i:at].lower()
                db = scheme.removeprefix("jdbc:") in _DB_SCHEMES or scheme.startswith("jdbc:")
                spans.append((m.start("v"), m.end("v"), "connection-string" if db else "url-credentials"))
        at = line.find("://", at + 3)
    return _commit(line, spans, kinds) if spans else line


# ------------------------------------------------------------------------------- headers and cookies

_AUTHZ_RE = re.compile(
    r"(?<![\w-])(?:proxy-)?authorization[\"']?[ \t]*[:=][ \t]*(?P<q>[\"']?)"
    r"(?:(?P<scheme>[A-Za-z][\w-]*)[ \t]+)?(?P<v>" + _MARK + r"|[^\s\"',;]+)",  # [scheme] credentials
    re.IGNORECASE,
)
_SCHEME_KIND = {"bearer": "bearer-token", "token": "bearer-token", "jwt": "bearer-token", "basic": "basic-auth"}
_TO_END_SCHEMES = frozenset({"digest", "aws4-hmac-sha256", "hmac", "gensign"})
_KNOWN_SCHEMES = frozenset({*_SCHEME_KIND, *_TO_END_SCHEMES, "negotiate", "ntlm", "apikey", "api-key", "sso-key",
                            "sharedkey", "sharedkeylite", "ssws", "otp", "key", "splunk"})


def _authz_decide(m: re.Match[str], line: str) -> Iterable[_Span]:
    if _MARK_RE.fullmatch(m.group("v")):
        return ()
    scheme = (m.group("scheme") or "").lower()
    start, end = m.span("v")
    value = m.group("v")
    if scheme == "basic" and not _basic_credentials(value) and not _credential_like(value):
        return ()  # "fix Authorization: Basic parsing": prose
    if scheme not in _TO_END_SCHEMES and scheme != "basic" and not _credential_like(value):
        return ()  # "Authorization: headers aren't forwarded": prose, not a credential
    if scheme in _TO_END_SCHEMES:
        # parameters up to the end of the header value: its closing quote, or the end of the line
        stop = line.find(m.group("q"), start) if m.group("q") else -1
        end = max(end, len(line.rstrip()) if stop == -1 else stop)
    return ((start, end, _SCHEME_KIND.get(scheme, "authorization")),)


# RFC 6750 b64token; not a key: in "Bearer SOME_PASSWORD = x" the setting is for the key rule
_BEARER_RE = re.compile(r"(?<![\w-])bearer[ \t]+(?P<v>(?>[A-Za-z0-9._~+/-]{16,}=*))(?![ \t]*[=:]|\w)", re.IGNORECASE)
_COOKIE_RE = re.compile(r"(?<![\w-])(?P<set>set-)?cookie2?[\"']?[ \t]*:[ \t]*(?P<q>[\"']?)(?P<rest>[^\r\n]*)",
                        re.IGNORECASE)
# RFC 6265: a cookie value has no blanks, commas, semicolons or backslashes, and may be quoted
_COOKIE_PAIR_RE = re.compile(r"[ \t]*(?P<name>[^=;\s\"']+)[ \t]*=(?P<v>" + _MARK + r"|\"[^\"\r\n]*\"|[^;\s\",\\]*)")


def _cookie_decide(m: re.Match[str], line: str) -> Iterable[_Span]:
    rest = m.group("rest")
    base = m.start("rest")
    if m.group("q"):
        cut = rest.find(m.group("q"))
        if cut != -1 and rest[cut + 1:].lstrip().startswith(":"):
            return ()  # Cookie: "name": ... is JSON whose first key follows, not a cookie value
        rest = rest if cut == -1 else rest[:cut]
    out: list[_Span] = []
    if _COOKIE_PAIR_RE.match(rest) is None:
        value = rest.split(None, 1)[0] if rest.strip() else ""  # a bare cookie value is one word
        offset = rest.find(value)
        after = rest[offset + len(value):].lstrip()[:1]
        if value.endswith(":") or after in ("=", ":"):
            return out  # "Cookie: password: x": a key follows, for the key rule
        if value and not _trivial(value) and _credential_like(value):
            out.append((base + offset, base + offset + len(value), "cookie"))  # not "cookie: open cookie jar"
        return out
    pos = 0
    while pos < len(rest):
        pm = _COOKIE_PAIR_RE.match(rest, pos)
        if pm is None:
            nxt = rest.find(";", pos)
            if nxt == -1:
                break
            pos = nxt + 1
            continue
        value = pm.group("v").rstrip()
        if value and not _MARK_RE.fullmatch(value) and value.strip("\"'"):
            out.append((base + pm.start("v"), base + pm.start("v") + len(value), "cookie"))
        if m.group("set"):
            break  # Set-Cookie: only the first pair is the cookie; the rest are attributes
        nxt = rest.find(";", pm.end())
        if nxt == -1:
            break
        pos = nxt + 1
    return out


# ----------------------------------------------------------------------------------- command lines

_Q_VALUE = r"(?:\"(?P<dq>[^\"\r\n]*)\"|'(?P<sq>[^'\r\n]*)'|(?P<raw>[^\s\"']\S*))"


def _quoted_decide(kind: str, keep_prefixes: tuple[str, ...] = ()) -> _Decide:
    """Mask the value of a match built on :data:`_Q_VALUE` (inside its quotes when quoted)."""

    def decide(m: re.Match[str], line: str) -> Iterable[_Span]:
        for name in ("dq", "sq", "raw"):
            start, end = m.span(name)
            if start < 0:
                continue
            value = m.group(name)
            if not value or _trivial(value) or value.startswith(keep_prefixes):
                return ()
            return ((start, end, kind),)
        return ()

    return decide


_FLAG_WORDS = r"(?:password|passwd|passphrase|pass|pw|token|secret|api-?key|access-key|secret-key|client-secret)"
# --disabled-password, --ask-pass, --no-password: switches that take no value
_SWITCH_WORDS = r"(?:no|disabled?|ask|prompt|skip|null|empty|with|without|use|require|change|reset|allow|force|keep" \
    r"|show|print|read|save|store|remember|forget|expire)"
_CMDLINE_RULES: list[_Rule] = [
    _Rule(("sshpass",), _apply(re.compile(rf"\bsshpass[ \t]+(?:-[a-oq-zA-Z]\S*[ \t]+)*-p[ \t]*{_Q_VALUE}"),
                               _quoted_decide("password"))),
    _Rule(("mysql", "mariadb"), _apply(re.compile(
        r"\b(?:mysql|mysqldump|mysqladmin|mysqlimport|mysqlcheck|mysqlshow|mariadb(?:-dump|-admin)?)\b"
        rf"[^\r\n|;&]{{0,400}}?[ \t]-p(?=\S){_Q_VALUE}"), _quoted_decide("password"))),
    _Rule(("curl", "wget", "http ", "https ", "xh "), _apply(re.compile(
        r"\b(?:curl|wget|https?|xh|httpie)\b[^\r\n|;&]{0,400}?(?<![\w-])(?:-u|--user|--proxy-user|-U)(?:[ \t]+|=)?"
        r"(?:(?P<q>[\"'])[^:\"'\r\n]+:(?P<qv>[^\"'\r\n]+)(?P=q)|[^\s:\"']+:(?P<v>[^\s\"']+))"),
        _group("password", "qv", "v"))),
    _Rule(("smbclient", "smbmap", "rpcclient", "smbcacls", "net ", "mount.cifs", "winexe", "crackmapexec", "nxc"),
          _apply(re.compile(
        r"\b(?:smbclient|smbmap|rpcclient|smbcacls|net|mount\.cifs|winexe|crackmapexec|nxc)\b[^\r\n|;&]{0,400}?"
        r"(?:-U|--user(?:name)?)(?:[ \t]+|=)?(?P<q>[\"']?)[^\s%\"']+%(?P<v>[^\s\"']+)(?P=q)"),
          _group("password"))),
    _Rule(("login",), _apply(re.compile(
        r"\b(?:docker|podman|helm|buildah|skopeo|nerdctl|oras)[ \t]+(?:registry[ \t]+)?login\b[^\r\n|;&]{0,400}?"
        rf"[ \t](?:-p|--password)[ \t]+{_Q_VALUE}"), _quoted_decide("password"))),
    _Rule(("-pass", "-pw", "-token", "-secret", "-api", "-access-key", "-secret-key", "-client-secret"), _apply(
        re.compile(rf"(?<![\w-])--?(?!{_SWITCH_WORDS}-)(?:[a-z0-9]+-)*{_FLAG_WORDS}[ \t]+(?![-<\[|>])(?!{_MARK})"
                   + _Q_VALUE, re.IGNORECASE),
        _quoted_decide("password", ("file:", "env:", "fd:", "stdin")))),
    _Rule(("ldap",), _apply(re.compile(
        r"\bldap(?:search|modify|add|delete|passwd|whoami|compare|modrdn|exop|vi)\b[^\r\n|;&]{0,400}?[ \t]-w[ \t]+"
        + _Q_VALUE),
        _quoted_decide("password"))),
    # network gear: "enable secret 5 $1$...", "username admin password 7 0822455D0A16", SNMP communities
    _Rule(("password ", "secret "), _apply(re.compile(
        r"(?<![\w-])(?:password|secret)[ \t]+[0-9][ \t]+(?P<v>[^\s\"']+)"), _group("password"))),
    _Rule(("community",), _apply(re.compile(
        r"(?:\b(?:ro|rw)community6?[ \t]+|\bsnmp-server[ \t]+community[ \t]+|\bcommunity[ \t]*[:=][ \t]*)"
        r"(?P<v>[A-Za-z0-9][^\s\"'#]*)",
        re.IGNORECASE), _group("snmp-community"))),
    _Rule(("pass:",), _apply(re.compile(r"(?<![\w-])pass:(?P<v>[^\s\"']+)"), _group("password"))),
    _Rule(("net user", "net use"), _apply(re.compile(
        r"\bnet[ \t]+(?:user[ \t]+[^\s/]+|use[ \t]+(?:[A-Za-z*]:[ \t]+)?\\\\\S+)[ \t]+(?P<v>(?![/*])\S+)",
        re.IGNORECASE), _group("password"))),
    _Rule(("convertto-securestring",), _apply(re.compile(
        r"ConvertTo-SecureString[ \t]+(?:-String[ \t]+)?(?P<q>[\"'])(?P<v>[^\"'\r\n]*)(?P=q)", re.IGNORECASE),
        _group("password"))),
    _Rule(("pass ",), _apply(re.compile(r"(?:^|[\"'>][ \t]*)PASS[ \t]+(?P<v>[^\s\"']+)"), _group("password"))),
    _Rule(("key content", "содержимое ключа", "schlüsselinhalt", "contenu de la clé", "contenido de la clave",
           "contenuto chiave"), _apply(re.compile(
               r"(?:key content|содержимое ключа|schlüsselinhalt|contenu de la clé|contenido de la clave"
               r"|contenuto chiave)[ \t]*:[ \t]*(?P<v>\S(?:[^\r\n]*\S)?)", re.IGNORECASE), _group("wifi-psk"))),
    # .netrc / fetchmailrc: "machine h login bob password s3cret", "password 's3cret'"
    _Rule(("password",), _apply(re.compile(
        r"\blogin[ \t]+\S+[ \t]+password[ \t]+(?:(?P<q>[\"'])(?P<qv>[^\"'\r\n]*)(?P=q)|(?P<v>(?![=:])\S+))"),
        _group("password", "qv", "v"))),
    _Rule(("password",), _apply(re.compile(r"(?<![\w-])password[ \t]+(?P<q>[\"'])(?P<v>[^\"'\r\n]+)(?P=q)"),
                                _group("password"))),
    # one-word settings separated by blanks: redis.conf, slapd.conf, nslcd.conf, a .netrc line
    _Rule(("requirepass", "masterauth", "masterpass", "bindpw", "rootpw", "password"), _apply(re.compile(
        r"^[ \t]*(?:requirepass|masterauth|masterpass|bindpw|rootpw|password)[ \t]+(?P<v>[^\s\"'=:]\S*)[ \t\r]*$"),
        _group("password"))),
    _Rule(("psk", "xauth", "eap"), _apply(re.compile(
        r"(?<![\w-])(?:PSK|XAUTH|EAP|NTLM)[ \t]+(?P<q>[\"'])(?P<v>[^\"'\r\n]+)(?P=q)"), _group("generic-secret"))),
]


# ------------------------------------------------------------------------------------------ key = value

#: Words that make a key a secret key when the key ends with them (DB_PASSWORD, client_secret, x-api-key).
_KEYWORDS = (
    r"pass(?:word|wd|wort|phrase|code)?s?|pwd|pw|secrets?|tokens?"
    r"|(?:api|access|private|auth|client|encryption|signing|master|account|shared[_-]?access|storage|app|license"
    r"|subscription|consumer|session|secret|pre[_-]?shared)[_-]?key|apikey|credentials?|authtok|auth|cookies?"
    r"|session[_-]?id|sessionid|psk|wep[_-]?key\d?|signature|sig|keymaterial"
)


def _suffixes() -> tuple[str, ...]:
    """The words of :data:`_KEYWORDS` spelled out, longest first, for a quick ``str.endswith`` test
    (a test checks that both say the same)."""
    words = {"pass", "pwd", "pw", "secret", "secrets", "token", "tokens", "apikey", "credential",
             "credentials", "authtok", "auth", "cookie", "cookies", "sessionid", "session_id", "session-id", "psk",
             "signature", "sig", "keymaterial"}
    words |= {f"pass{w}{s}" for w in ("word", "wd", "wort", "phrase", "code") for s in ("", "s")}
    for p in ("api", "access", "private", "auth", "client", "encryption", "signing", "master", "account",
              "sharedaccess", "shared_access", "shared-access", "storage", "app", "license", "subscription", "consumer",
              "session", "secret", "preshared", "pre_shared", "pre-shared"):
        words |= {f"{p}key", f"{p}_key", f"{p}-key"}
    words |= {f"wep{sep}key{d}" for sep in ("", "_", "-") for d in ("", "0", "1", "2", "3")}
    return tuple(sorted(words, key=len, reverse=True))


_KEY_SUFFIXES = _suffixes()
# key=value, key: value (YAML wants a blank after the colon; "passwd:chauthtok" is no setting), key => value
_KV_SEP_RE = re.compile(r"=>|:=|=(?!=)|:(?=[ \t\"'{]|$)")
_KV_VALUE_RE = re.compile(
    r"[ \t]*(?:\"(?P<dq>(?:[^\"\\\r\n]|\\.)*)\""
    r"|'(?P<sq>[^'\r\n]*)'"
    r"|\{(?P<bq>[^}\r\n]*)\}"
    r"|(?P<raw>" + _MARK + r"|[^\s\"',;&)}\]]+))"
)
_KEY_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-$:/")
_LINE_START_RE = re.compile(
    r"[ \t]*(?:(?:export|set|setx|declare|local|readonly|typeset)[ \t]+(?:-\w+[ \t]+)*|[-#;*]+[ \t]*|//[ \t]*"
    r"|\$env:|<add[ \t]+key=)?[\"']?"
)
_CONN_HINT_RE = re.compile(
    r"(?:^|[;\"'\s])(?:server|data source|host|hostname|address|addr|database|initial catalog|uid|user id|userid"
    r"|user|username|dsn|driver|accountname|defaultendpointsprotocol|endpoint|provider|port)[ \t]*=[^;\r\n]*;"
    r"|\bjdbc:|\bdbname[ \t]*=|\bodbc\b",
    re.IGNORECASE,
)
_PHRASE_KEYWORDS = frozenset({"password", "passwords", "passphrase", "passwort", "psk"})
_PROSE_RE = re.compile(r"[a-z]\.[ \t]*$|, [a-z]")  # a sentence's full stop, a comma in a sentence
_CODE_VALUE_RE = re.compile(r"[A-Za-z_][\w.>-]*\(|<[A-Za-z/]")  # get_secret(item), <span class=...>
_NUMERIC_SECRETS = frozenset({"password", "wifi-psk", "connection-string"})  # a PIN-like password is one
_CLASS_NAME_RE = re.compile(r"(?:[A-Z][a-z0-9]+){3,}")  # PascalCase of three humps or more
_WIFI_KEY_RE = re.compile(r"psk|wep|^wpa|keymaterial|wifi|wlan")


_PASSWD_NOT_SECRET = frozenset(
    "files systemd sss ldap nis nisplus compat db winbind extrausers cache altfiles hesiod "
    "password authentication user unknown you the cannot failed unexpected unrecognized all".split()
)
_AUTH_PREFIXES = frozenset({"", "_", "basic_", "basic-", "proxy_", "proxy-", "http_", "http-", "x-", "x_"})
_AUTH_METHODS = frozenset(
    "pap chap mschap mschapv2 gtc md5 sha1 sha256 sha512 basic digest ntlm negotiate kerberos plain login password "
    "publickey oauth oauth2 bearer token tls ttls peap eap scram-sha-1 scram-sha-256 cram-md5 trust peer ident".split()
)


def _key_kind(key: str) -> str:
    """The masking kind a secret key implies (``key`` in lower case)."""
    if _WIFI_KEY_RE.search(key) and "preshared" not in key.replace("_", "").replace("-", ""):
        return "wifi-psk"
    if ("aws" in key and "secret" in key) or "secret_access_key" in key.replace("-", "_"):
        return "aws-secret-key"
    if "twilio" in key:
        return "twilio-token"
    if "cookie" in key:
        return "cookie"
    if "session" in key and "token" not in key:
        return "session-id"
    if "private" in key and "key" in key:
        return "private-key"
    if "pass" in key or key.endswith(("pwd", "pw", "authtok")):
        return "password"
    if "token" in key:
        return "token"
    if re.search(r"api[_-]?key|apikey", key):
        return "api-key"
    if key.endswith(("authorization", "auth")):
        return "authorization"
    return "generic-secret"


def _char_before(line: str, i: int) -> str:
    """The last character before ``i`` that is not a blank ('' at the start of the line)."""
    while i > 0 and line[i - 1] in " \t":
        i -= 1
    return line[i - 1:i]


def _key_start(line: str, kw_start: int) -> int:
    i = kw_start
    while i > 0 and line[i - 1] in _KEY_CHARS:
        i -= 1
    return i


def _kv_run(line: str, kinds: list[str]) -> str:
    """Secret keys and their values, found from each separator (cheaper than trying every keyword everywhere)."""
    spans: list[_Span] = []
    past = 0  # separators inside a value already looked at are no settings (and rescanning is quadratic)
    conn: bool | None = None  # does the line look like a connection string?
    for sm in _KV_SEP_RE.finditer(line):
        if sm.start() < past:
            continue
        kend = sm.start()
        while kend > 0 and line[kend - 1] in " \t":
            kend -= 1
        quote = line[kend - 1] if kend > 0 and line[kend - 1] in "\"'" else ""
        if quote:
            kend -= 1
        if not line[max(0, kend - 20):kend].lower().endswith(_KEY_SUFFIXES):
            continue  # the common case, decided without looking further
        kstart = _key_start(line, kend)
        if quote and line[kstart - 1:kstart] != quote:
            continue  # "cannot remove `/etc/passwd': Not a directory": a quoted name, no key
        quoted = bool(quote)
        found = _secret_key(line[kstart:kend], url_param=line[kstart - 1:kstart] in ("?", "&"))
        if found is None:
            continue
        vm = _KV_VALUE_RE.match(line, sm.end())
        if vm is None or (found[0].startswith("cookie") and sm.group(0) == ":" and not quoted):
            continue  # a Cookie: header (the cookie rule masks each value and keeps the names)
        past = vm.end()
        if conn is None:  # once per line: a long line holds many settings
            conn = _CONN_HINT_RE.search(line) is not None
        spans.extend(_kv_decide(line, kstart, kend, quoted, sm.group(0), vm, *found, conn))
    return _commit(line, spans, kinds) if spans else line


def _secret_key(key: str, *, url_param: bool = False, data: bool = False) -> tuple[str, str] | None:
    """(keyword, kind) when ``key`` names a secret (it ends with a secret word), else None.

    One judgement for settings in text, XML tags and keys of report data. ``url_param``: the key is a
    query parameter (only there ``sig=`` is a credential); ``data``: also ``Authorization``/``Set-Cookie``
    keys (in text the header rules handle those)."""
    low = key.lower().lstrip("-$:/.")
    kw = next((w for w in _KEY_SUFFIXES if low.endswith(w)), None)
    if kw is None:
        if data and low.endswith(("authorization", "set-cookie")):
            return low, _key_kind(low)
        return None
    prefix = low[: len(low) - len(kw)]
    if kw.startswith("pass") and prefix.endswith(("by", "com", "over", "under")):
        return None  # bypass, compass, ...
    if kw == "auth" and prefix not in _AUTH_PREFIXES:
        return None  # oauth=, phase2-auth=, smtp_auth=: a method, not a secret
    if kw in ("sig", "signature") and not (url_param or prefix in ("x-amz-", "x-goog-")):
        return None  # only the signature of a signed URL (Azure SAS, S3, GCS) is a credential
    return kw, _key_kind(low)


def _kv_decide(line: str, kstart: int, kend: int, quoted: bool, sep: str, vm: re.Match[str], kw: str,
               kind: str, conn: bool) -> Iterable[_Span]:
    key = line[kstart:kend].lower().lstrip("-$:/.")
    prefix = key[: len(key) - len(kw)]
    at_line_start = _LINE_START_RE.fullmatch(line, 0, kstart) is not None
    if sep == ":" and not quoted and not at_line_start and _CLASS_NAME_RE.fullmatch(line, kstart, kend):
        return ()  # "== 26 AddRepositoryLoginAndPassword: migrating": a class or step name in a log, no setting
    if sep == ":" and line[kstart:kend] in ("PASS", "XPASS"):
        return ()  # "PASS: test-name" in a test summary
    if key.startswith("pkcs11:"):
        return ()  # a PKCS#11 URI names a token, it does not hold one
    if kw == "passwd" and not prefix and sep == ":" and vm.group("raw") is not None:
        first = line[vm.start("raw"):].split(None, 1)[0].lower()
        if first in _PASSWD_NOT_SECRET or first.startswith("["):
            return ()  # "passwd: files systemd" (nsswitch.conf), "passwd: password updated successfully"
    # the value: quoted, braced, or bare
    for name in ("dq", "sq", "bq"):
        start, end = vm.span(name)
        if start >= 0:
            value = vm.group(name)
            break
    else:
        start, end = vm.span("raw")
        value = vm.group("raw")
        if value.startswith("[REDACTED"):
            return ()  # masked already, by a rule that knew better where the value ends
        if _CODE_VALUE_RE.match(line, start):
            return ()  # secret = secret_item_get_secret(item): code, the value is computed
        if sep == ":" and _PROSE_RE.match(line, end - 1) and value[:-1].isalpha():
            return ()  # "* signing-key: Updated."
        if sep == ":" and not at_line_start and kind not in _NUMERIC_SECRETS and not _credential_like(value):
            return ()  # "PrivateKey: these convert the": prose; in "user: bob, password: x" the password goes
        before = _char_before(line, kstart)
        if before == ";" or (before in ("\"", "'", "") and line.find(";", end) != -1 and conn):
            # a connection string: values run to the next ';' (they may hold blanks), or the closing quote
            stops = [i for i in (line.find(";", end), line.find(before, end) if before else -1) if i != -1]
            end = min(stops) if stops else len(line.rstrip())
            value = line[start:end]
        elif at_line_start:
            # a settings line: the value is the rest of it (a Wi-Fi key or INI password may hold blanks)
            rest_end = len(line.rstrip())
            if quoted and line[rest_end - 1:rest_end] == ",":
                rest_end -= 1  # "key": value, in JSON or a YAML flow
            if sep == ":" and not quoted and rest_end > end and (
                    kw not in _PHRASE_KEYWORDS or _PROSE_RE.search(line, start, rest_end)):
                # "auth: support pyparsing v3", "pwd: Jim Meyering", "sha256_password: more secure password
                # encryption than native.": a topic and prose, not a setting. A token or key has no blanks (it
                # is the first word, if that looks generated); a YAML passphrase may, so password and psk
                # settings take the whole line unless it reads as prose
                if not _credential_like(value):
                    return ()
            else:
                end = rest_end
                value = line[start:end]
    if vm.group("bq") is not None and value.startswith("{") and value.endswith("}"):
        return ()  # {{ template }}
    if _trivial(value) or (kw == "auth" and value.strip("\"' ").lower() in _AUTH_METHODS):
        return ()
    if value.strip().isdigit() and (kw.startswith("token") or kind not in _NUMERIC_SECRETS and len(value) <= 6):
        return ()  # max_tokens = 4096, tcp_syncookies=1: a count or a switch, not a secret
    if kind not in _NUMERIC_SECRETS and len(value.strip()) < 4:
        return ()  # accesskey="n" (HTML): too short to be a key or token
    if key in ("pwd", "oldpwd") and _looks_like_path(value):
        return ()  # PWD / OLDPWD: the working directory
    if kind != "password" and _looks_like_path(value):
        return ()  # token_file=/run/secrets/x: a path is not the secret
    if _char_before(line, kstart) == ";" or line[end:end + 1] == ";" or conn:
        if kind in ("password", "generic-secret", "api-key", "token") or "account" in key or "shared" in key:
            kind = "connection-string"
    return ((start, end, kind),)


_XML_TAG_RE = re.compile(r"<(?P<tag>[\w:.-]+)(?:[ \t][^>]*)?>(?:[ \t]*<value>)?(?P<v>[^<\r\n]+)(?=<)", re.IGNORECASE)
# .NET appSettings: <add key="SmtpPassword" value="..." />
_XML_ADD_RE = re.compile(r"\bkey=(?P<q>[\"'])(?P<key>[^\"']+)(?P=q)[ \t]+value=(?P<q2>[\"'])(?P<v>[^\"'\r\n]*)(?P=q2)",
                         re.IGNORECASE)


def _xml_decide(m: re.Match[str], line: str) -> Iterable[_Span]:
    found = _secret_key(m.group("tag"))
    value = m.group("v")
    if found is None or _trivial(value) or (found[1] != "password" and _looks_like_path(value)):
        return ()
    return ((m.start("v"), m.end("v"), found[1]),)


def _xml_add_decide(m: re.Match[str], line: str) -> Iterable[_Span]:
    found = _secret_key(m.group("key"))
    value = m.group("v")
    if found is None or _trivial(value) or (found[1] != "password" and _looks_like_path(value)):
        return ()
    return ((m.start("v"), m.end("v"), found[1]),)


_KV_TRIGGERS = (
    "pass", "pwd", "pw", "secret", "token", "key", "credential", "auth", "cookie", "session", "psk", "wep", "sig",
)

#: All line rules, in order: specific formats first, so their kind wins over the generic key rule.
_LINE_RULES: list[_Rule] = [
    *_TOKEN_RULES,
    _Rule(("://",), _url_run),
    _Rule(("authorization",), _apply(_AUTHZ_RE, _authz_decide)),
    _Rule(("bearer",), _apply(_BEARER_RE, _group("bearer-token", check=_has_digit_and_letter))),
    _Rule(("cookie",), _apply(_COOKIE_RE, _cookie_decide)),
    *_CMDLINE_RULES,
    _Rule(("<",), _apply(_XML_TAG_RE, _xml_decide)),
    _Rule(("key=",), _apply(_XML_ADD_RE, _xml_add_decide)),
    _Rule(_KV_TRIGGERS, _kv_run),
]


def _trie(words: Iterable[str]) -> str:
    """A regex matching any of ``words``, factored as a trie: sre then does one step per character and
    position instead of trying every word (3x faster on a 1 MB log); it matches the longest word."""
    root: dict[str, Any] = {}
    for word in words:
        node = root
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict[str, Any]) -> str:
        alts = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not alts:
            return ""
        if "" not in node:
            return alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return "(?:" + "|".join(alts) + ")?"

    return build(root)


_TRIGGERS = sorted({t for r in _LINE_RULES for t in r.triggers})
#: For each trigger, the rules to run when it occurs: those with a trigger that is a prefix of it (the trie
#: reports the longest trigger at each position; the shorter ones there are its prefixes).
_TRIGGER_BITS = {
    t: sum(1 << i for i, r in enumerate(_LINE_RULES) if any(t.startswith(u) for u in r.triggers)) for t in _TRIGGERS
}
# inside a look-ahead, so that every position is tried and triggers overlapping each other are all seen
_TRIGGER_RE = re.compile(f"(?=({_trie(_TRIGGERS)}))")


# ----------------------------------------------------------------------------------------- dict keys

@functools.lru_cache(maxsize=4096)
def _secret_key_kind(key: str) -> str | None:
    """The kind for a mapping key that names a secret, or None for an ordinary key (cached: a report's
    data repeats a few hundred key names thousands of times)."""
    found = _secret_key(key, data=True)
    return None if found is None else found[1]


# ----------------------------------------------------------------------------------------- pseudonyms

_EMAIL_LOCAL = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-")
_EMAIL_DOMAIN_RE = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+(?P<tld>[A-Za-z]{2,63})(?![\w-])")
#: user@1000.service, getty@tty1.service: systemd unit instances, not e-mail addresses
_UNIT_SUFFIXES = frozenset("service socket target timer mount automount slice scope path device swap".split())
_IPV4_RE = re.compile(r"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}(?!\w|\.\d)")
# where an IPv6 address may be: "::", or three colons between hex groups (then the run around it is checked)
_V6_GATE_RE = re.compile(r"::|:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:")
_V6_CHARS = frozenset("0123456789abcdefABCDEF:")
_V6_TAIL = _V6_CHARS | {"."}
_LABEL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.")
_PLACEHOLDER_TAIL_RE = re.compile(r"-\d+>")
_REVISION_AFTER_RE = re.compile(r"[-+~](?!(?:\d{1,3}\.){3}\d)[0-9A-Za-z]")  # but not a range 10.0.0.1-10.0.0.9
_VERSION_BEFORE_RE = re.compile(r"(?:\bv|\bver\.?|version)[ \t:=]*$", re.IGNORECASE)
_NOT_PERSONAL_USERS = frozenset(
    "root admin administrator user guest nobody daemon system localhost default test www-data".split()
)
_GENERIC_HOSTS = frozenset({"localhost", "localhost.localdomain", "localdomain", "ip6-localhost"})
_GENERIC_DOMAINS = frozenset({"localdomain", "local", "lan", "home", "internal", "home.arpa", "example"})
_V4_KEEP_ALWAYS = [ipaddress.ip_network(n) for n in ("0.0.0.0/8", "127.0.0.0/8", "224.0.0.0/4", "240.0.0.0/4")]
_V4_PRIVATE = [ipaddress.ip_network(n) for n in
               ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16")]
_V6_PSEUDO_NET = ipaddress.ip_network("2001:db8::/32")
_V6_PRIVATE = [ipaddress.ip_network(n) for n in ("fc00::/7", "fe80::/10")]
_V4_PSEUDO_LIMIT = 15 * 65536  # /24 networks between 240.0.0.0 and 254.255.255.0


def _wordish(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _is_netmask(value: int) -> bool:
    """True for 255.x.y.z values that are contiguous netmasks (/8 to /32)."""
    if value >> 24 != 255:
        return False
    inverted = ~value & 0xFFFFFFFF
    return inverted & (inverted + 1) == 0


#: Values redaction passes through untouched (strings are handled apart).
_SCALARS = (int, float, bool, type(None))


#: Strings up to this long are memoized (report data: names, versions, states); longer ones are text.
MEMO_TEXT_MAX = 256
#: Entries in a memo before it starts over (a few MB at most): a full report holds some 1,700 distinct short
#: strings, and most of them recur in the next.
MEMO_MAX = 20_000
_SHARED_MEMO: dict[str, tuple[str, Sequence[tuple[str, int | None, int]]]] = {}


class Redactor:
    """Masks secrets and (optionally) pseudonymizes identities in one report and its attachments.

    ``usernames`` and ``hostnames`` are values the caller knows (the current user, the host name);
    when ``pseudonymize`` is on they are replaced wherever they stand as a word, also inside paths
    (names under 3 characters only where they are a whole value). Use one Redactor per report, so that
    the same value gets the same pseudonym everywhere in it, attachments included.
    """

    def __init__(
        self,
        *,
        pseudonymize: bool = False,
        keep_private_ips: bool = True,
        usernames: Iterable[str] = (),
        hostnames: Iterable[str] = (),
    ) -> None:
        self.pseudonymize = pseudonymize
        self.keep_private_ips = keep_private_ips
        self._counts: dict[tuple[str, str, int | None], int] = {}
        self._names: dict[str, dict[str, str]] = {"user": {}, "host": {}, "domain": {}, "email": {}}
        self._v4_nets: dict[int, int] = {}
        self._v6_nets: dict[int, int] = {}
        self._v6_hosts: dict[int, int] = {}
        self._v6_next: dict[int, int] = {}
        self._overflow: dict[str, str] = {}
        self._ip_memo: dict[str, str | None] = {}
        # Without pseudonyms a string always redacts the same way, in any Redactor: a long-lived process
        # (the agent, the app) shares one memo across reports. Pseudonyms belong to one report.
        self._memo: dict[str, tuple[str, Sequence[tuple[str, int | None, int]]]] = (
            {} if pseudonymize else _SHARED_MEMO)
        self._key_kinds: dict[str, str | None] = {}
        self._known_user: set[str] = set()  # lower case
        self._known_host: dict[str, str] = {}  # lower-case short or full name -> short name, the pseudonym's key
        self._domains: set[str] = set()
        for name in usernames:
            low = name.strip().lower()
            if low and not low.isdigit() and low not in _NOT_PERSONAL_USERS:
                self._known_user.add(low)
        for name in hostnames:
            self._add_host(name)
        # names shorter than 3 letters would hit ordinary words ("vm" in vm.swappiness): only whole values
        self._in_text = sorted((n for n in (*self._known_user, *self._known_host) if len(n) >= 3), key=len,
                               reverse=True)

    # ------------------------------------------------------------------------------------------ public

    @property
    def maskings(self) -> list[Masking]:
        """Every masking so far, in the order first seen; never the secret."""
        return [Masking(kind, where, line, count) for (kind, where, line), count in self._counts.items()]

    def summary(self) -> dict[str, int]:
        """How many values were masked, by kind."""
        out: dict[str, int] = {}
        for (kind, _, _), count in self._counts.items():
            out[kind] = out.get(kind, 0) + count
        return dict(sorted(out.items()))

    def explain(self) -> str:
        """One line per masking: kind, where, line, count (what ``deskline redact --explain`` shows)."""
        lines = []
        for m in self.maskings:
            at = f"{m.where}:{m.line}" if m.line is not None else m.where
            lines.append(f"{m.kind}\t{at}\t{m.count}")
        return "\n".join(lines) + ("\n" if lines else "")

    def redact_text(self, text: str, where: str) -> str:
        """``text`` with secrets masked (and identities pseudonymized); maskings are recorded at ``where``."""
        out, found = self._process(text)
        self._record(where, found)
        return out

    def redact_data(self, obj: Any, where: str = "") -> Any:
        """A redacted copy of JSON-like data (dicts, lists, tuples, strings, numbers): every string is
        redacted, and the strings under a key that names a secret (``password``, ``API_TOKEN``,
        ``credentials``, ...) are masked whole, however they look. Keys are kept as they are: they are
        field and variable names, and renaming one would break the document's shape. ``where`` is the
        path of ``obj`` in the report; it grows by ``.key`` and ``[index]`` for the maskings."""
        return self._walk(obj, where, None)

    # ----------------------------------------------------------------------------------------- walking

    def _walk(self, obj: Any, where: str, secret_kind: str | None) -> Any:
        if isinstance(obj, str):
            if secret_kind is not None and not _trivial(obj) and not (
                    secret_kind != "password" and _looks_like_path(obj)):
                self._record(where, [(secret_kind, None, 1)])
                return mark(secret_kind)
            new, found = self._process_cached(obj)
            self._record(where, found)
            return new
        if isinstance(obj, Mapping):
            out: dict[Any, Any] = {}
            for key, value in obj.items():
                # keys are field and variable names and stay as they are, so the document keeps its shape
                # (a host called "vm" must not rename the field "vm")
                if not isinstance(key, str):
                    out[key] = self._walk(value, f"{where}[{key}]", secret_kind)
                    continue
                kind = secret_kind
                if kind is None:
                    kind = self._key_kinds.get(key, "?")
                    if kind == "?":
                        kind = self._key_kinds[key] = _secret_key_kind(key)
                if kind and key.lower() in ("pwd", "oldpwd") and isinstance(value, str) and _looks_like_path(value):
                    kind = None  # the working directory
                if not kind and type(value) is str:
                    # the common case, inlined: the path is only spelled out when something was masked
                    new, found = self._process_cached(value)
                    if found:
                        self._record(f"{where}.{key}" if where else key, found)
                    out[key] = new
                    continue
                out[key] = self._walk(value, f"{where}.{key}" if where else key, kind)
            return out
        if isinstance(obj, list | tuple):
            items = []
            for i, v in enumerate(obj):
                if secret_kind is None and type(v) is str:
                    new, found = self._process_cached(v)
                    if found:
                        self._record(f"{where}[{i}]", found)
                    items.append(new)
                elif type(v) in _SCALARS:
                    items.append(v)
                else:
                    items.append(self._walk(v, f"{where}[{i}]", secret_kind))
            return items if isinstance(obj, list) else tuple(items)
        return obj

    def _process_cached(self, text: str) -> tuple[str, Sequence[tuple[str, int | None, int]]]:
        """:meth:`_process` for the short strings of report data, which repeat a lot (keys, names, units),
        within a report and from one report to the next. Exact: the same string always redacts the same
        way within one Redactor, and without pseudonyms in every Redactor."""
        if len(text) > MEMO_TEXT_MAX:
            return self._process(text)
        memo = self._memo
        hit = memo.get(text)
        if hit is None:
            if len(memo) >= MEMO_MAX:
                memo.clear()  # a bound, not an LRU: refilling costs one report's worth of work
            new, found = self._process(text)
            hit = memo[text] = (new, tuple(found) if found else ())
        return hit

    def _record(self, where: str, found: Iterable[tuple[str, int | None, int]]) -> None:
        for kind, line, count in found:
            key = (kind, where, line)
            self._counts[key] = self._counts.get(key, 0) + count

    # -------------------------------------------------------------------------------------- processing

    def _process(self, text: str) -> tuple[str, list[tuple[str, int | None, int]]]:
        """Redact ``text``; return it and what was masked as (kind, line or None, count)."""
        found: list[tuple[str, int | None, int]] = []
        multiline = "\n" in text
        if "PRIVATE KEY" in text or "Private-Lines" in text:
            text = self._private_keys(text, multiline, found)
        low = text.lower()
        if multiline:
            text = self._secrets_lines(text, low, found)
        else:
            bits = 0
            for m in _TRIGGER_RE.finditer(low):
                bits |= _TRIGGER_BITS[m.group(1)]
            if bits:
                kinds: list[str] = []
                text = self._secrets_line(text, bits, kinds)
                for kind in dict.fromkeys(kinds):
                    found.append((kind, None, kinds.count(kind)))
        if self.pseudonymize:
            text = self._pseudonyms(text, found)
        return text, found

    def _private_keys(self, text: str, multiline: bool, found: list[tuple[str, int | None, int]]) -> str:
        """PEM and PuTTY private keys: the body of each becomes one mark between its BEGIN/END lines."""
        sentinel = "\0private-key\0"  # stands in for the mark until the lines are counted in the output
        count = 0

        def sub(m: re.Match[str]) -> str:
            nonlocal count
            body = m.group("body")
            if not body.strip():
                return m.group(0)  # a BEGIN line quoted in prose, or a key already masked
            sep_m = _FIRST_SEP_RE.match(body)
            sep = sep_m.group(0) if sep_m else "\n"
            end = m.groupdict().get("end") or ""
            if end and _FIRST_SEP_RE.match(end) is None:
                end = sep + end
            count += 1
            return m.group("begin") + sep + sentinel + end

        text = _PUTTY_RE.sub(sub, _PEM_RE.sub(sub, text))
        if not count:
            return text
        if not multiline:
            found.append(("private-key", None, count))
            return text.replace(sentinel, mark("private-key"))
        pieces = text.split(sentinel)
        line = 1
        for piece in pieces[:-1]:
            line += piece.count("\n")
            found.append(("private-key", line, 1))
        return mark("private-key").join(pieces)

    @staticmethod
    def _secrets_line(line: str, bits: int, kinds: list[str]) -> str:
        """Run the rules whose bits are set on ``line``, in the order of :data:`_LINE_RULES`."""
        while bits:
            low_bit = bits & -bits
            line = _LINE_RULES[low_bit.bit_length() - 1].run(line, kinds)
            bits ^= low_bit
        return line

    def _secrets_lines(self, text: str, low: str, found: list[tuple[str, int | None, int]]) -> str:
        # one scan of the whole (lower-cased) text finds the lines that hold trigger words, and which
        bits: dict[int, int] = {}
        line_no = 0
        next_line = low.find("\n")
        for m in _TRIGGER_RE.finditer(low):
            pos = m.start()
            if pos > next_line != -1:
                line_no += low.count("\n", next_line, pos)
                next_line = low.find("\n", pos)
            bits[line_no] = bits.get(line_no, 0) | _TRIGGER_BITS[m.group(1)]
        if not bits:
            return text
        lines = text.split("\n")
        changed = False
        for i, line_bits in bits.items():
            kinds: list[str] = []
            new = self._secrets_line(lines[i], line_bits, kinds)
            if kinds:
                lines[i] = new
                changed = True
                for kind in dict.fromkeys(kinds):
                    found.append((kind, i + 1, kinds.count(kind)))
        return "\n".join(lines) if changed else text

    # -------------------------------------------------------------------------------------- pseudonyms

    def _add_host(self, name: str) -> None:
        low = name.strip().strip(".").lower()
        if not low or low in _GENERIC_HOSTS:
            return
        try:
            ipaddress.ip_address(low)
            return
        except ValueError:
            pass
        short, _, domain = low.partition(".")
        self._known_host[short] = short
        if domain:
            self._known_host[low] = short
            if domain.count(".") >= 1 and domain not in _GENERIC_DOMAINS:
                self._domains.add(domain)

    def _placeholder(self, kind: str, key: str) -> str:
        table = self._names[kind]
        if key not in table:
            table[key] = f"<{kind}-{len(table) + 1}>"
        return table[key]

    def _pseudonyms(self, text: str, found: list[tuple[str, int | None, int]]) -> str:
        """Replace e-mail addresses, known names, hosts of known domains and IP addresses, in order of
        appearance. Candidates are found with str.find and cheap regexes (a regex of alternatives that
        starts with a look-behind tries every position: 5x slower on a 1 MB log)."""
        whole = text.strip().lower()
        if whole in self._known_user or whole in self._known_host:  # a value that is exactly a known name
            new = self._pseudonym("name", whole, 0, len(whole))
            if new is not None:
                found.append((f"pseudonym:{new[1:new.rindex('-')]}", None, 1))
                return text.replace(text.strip(), new)
        cands: list[tuple[int, int, str]] = []  # start, end, kind
        n = len(text)
        if "@" in text:
            at = text.find("@")
            while at != -1:
                start = at
                while start > 0 and text[start - 1] in _EMAIL_LOCAL:
                    start -= 1
                while start < at and not text[start].isalnum():
                    start += 1
                dm = _EMAIL_DOMAIN_RE.match(text, at + 1)
                if (start < at and dm is not None and dm.group("tld").lower() not in _UNIT_SUFFIXES
                        and text[start:at].lower() != "git"):
                    cands.append((start, dm.end(), "email"))
                at = text.find("@", at + 1)
        if self._in_text or self._domains:
            self._name_candidates(text, cands)
        for m in _IPV4_RE.finditer(text):
            start = m.start()
            if start == 0 or not (_wordish(text[start - 1]) or text[start - 1] == "."):
                cands.append((start, m.end(), "ipv4"))
        last = -1
        for m in _V6_GATE_RE.finditer(text):
            if m.start() < last:
                continue
            start, end = m.start(), m.end()
            while start > 0 and text[start - 1] in _V6_CHARS:
                start -= 1
            while end < n and text[end] in _V6_TAIL:
                end += 1
            last = end
            while end > start and text[end - 1] == ".":
                end -= 1
            if end - start > 45:
                continue  # longer than any address (a run of colons, an IB GID dump)
            if (start > 0 and (_wordish(text[start - 1]) or text[start - 1] == ".")) or (
                    end < n and _wordish(text[end])):
                continue  # std::vector, Foo::Bar
            cands.append((start, end, "ipv6"))
        if not cands:
            return text
        cands.sort(key=lambda c: (c[0], -c[1]))
        out: list[str] = []
        counts: dict[str, int] = {}
        pos = 0
        for start, end, kind in cands:
            if start < pos:
                continue
            new = self._pseudonym(kind, text, start, end)
            if new is None:
                continue
            out.append(text[pos:start])
            out.append(new)
            pos = end
            label = new[1:new.rindex("-")] if new.startswith("<") else kind
            counts[label] = counts.get(label, 0) + 1
        if not out:
            return text
        out.append(text[pos:])
        for kind, count in counts.items():
            found.append((f"pseudonym:{kind}", None, count))
        return "".join(out)

    def _name_candidates(self, text: str, cands: list[tuple[int, int, str]]) -> None:
        """Known user and host names (whole words, any case) and names in the known domains."""
        low = text.lower()
        aligned = len(low) == len(text)  # lower() can lengthen a few non-ASCII letters

        def positions(word: str) -> Iterable[int]:
            if aligned:
                i = low.find(word)
                while i != -1:
                    yield i
                    i = low.find(word, i + 1)
            else:
                yield from (m.start() for m in re.finditer(re.escape(word), text, re.IGNORECASE))

        n = len(text)
        for name in self._in_text:
            for start in positions(name):
                end = start + len(name)
                if start > 0 and (_wordish(text[start - 1]) or text[start - 1] in "<["):
                    continue
                if text[max(0, start - 9):start] == "REDACTED ":
                    continue  # a username that is also a masking kind
                if end < n and (_wordish(text[end]) or _PLACEHOLDER_TAIL_RE.match(text, end)):
                    continue
                cands.append((start, end, "name"))
        for domain in self._domains:
            for at in positions(domain):
                end = at + len(domain)
                if end < n and (_wordish(text[end]) or text[end] == "-" or (
                        text[end] == "." and end + 1 < n and text[end + 1].isalnum())):
                    continue
                start = at
                while start > 0 and text[start - 1] in _LABEL_CHARS:
                    start -= 1
                while start < at and text[start] in ".-":
                    start += 1
                if start > 0 and _wordish(text[start - 1]):
                    continue
                cands.append((start, end, "name"))

    def _pseudonym(self, kind: str, text: str, start: int, end: int) -> str | None:
        """The pseudonym for ``text[start:end]`` found as ``kind``, or None to keep it."""
        value = text[start:end]
        if kind == "email":
            return self._placeholder("email", value.lower())
        if kind == "name":
            low = value.lower()
            if low in self._known_user:
                return self._placeholder("user", low)
            if low in self._known_host:
                return self._placeholder("host", self._known_host[low])
            if low in self._domains:
                return self._placeholder("domain", low)
            return self._placeholder("host", low)
        if kind == "ipv4":
            if _VERSION_BEFORE_RE.search(text, max(0, start - 12), start) or _REVISION_AFTER_RE.match(text, end):
                return None  # "version 1.2.3.4", a package version "1.2.5.1-2", "17.0.21.1+2-1~deb12u1"
            return self._ipv4(value)
        return self._ipv6(value)

    def _ipv4(self, value: str) -> str | None:
        if value in self._ip_memo:
            return self._ip_memo[value]
        self._ip_memo[value] = result = self._ipv4_new(value)
        return result

    def _ipv4_new(self, value: str) -> str | None:
        try:
            addr = ipaddress.IPv4Address(value)
        except ValueError:
            return None  # 999.1.2.3, 01.02.03.04
        if any(addr in net for net in _V4_KEEP_ALWAYS) or _is_netmask(int(addr)):
            return None
        if self.keep_private_ips and any(addr in net for net in _V4_PRIVATE):
            return None
        n = self._v4_nets.setdefault(int(addr) >> 8, len(self._v4_nets))
        if n >= _V4_PSEUDO_LIMIT:
            return self._overflow.setdefault(value, f"<ipv4-{len(self._overflow) + 1}>")
        return f"{240 + (n >> 16)}.{(n >> 8) & 255}.{n & 255}.{int(addr) & 255}"

    def _ipv6(self, value: str) -> str | None:
        if value in self._ip_memo:
            return self._ip_memo[value]
        self._ip_memo[value] = result = self._ipv6_new(value)
        return result

    def _ipv6_new(self, value: str) -> str | None:
        try:
            addr = ipaddress.IPv6Address(value)
        except ValueError:
            return None  # a MAC address, a time, C++ a::b ...
        if sum(c in "0123456789abcdefABCDEF" for c in value) < 4 and not addr.is_loopback:
            return None
        if addr.ipv4_mapped is not None:
            v4 = self._ipv4(str(addr.ipv4_mapped))
            return None if v4 is None else f"::ffff:{v4}"
        if addr.is_loopback or addr.is_unspecified or addr.is_multicast or addr in _V6_PSEUDO_NET:
            return None
        if self.keep_private_ips and any(addr in net for net in _V6_PRIVATE):
            return None
        net = int(addr) >> 64
        n = self._v6_nets.setdefault(net, len(self._v6_nets))
        host = self._v6_hosts.get(int(addr))
        if host is None:
            host = self._v6_next.get(net, 0) + 1
            self._v6_next[net] = host
            self._v6_hosts[int(addr)] = host
        base = int(_V6_PSEUDO_NET.network_address)
        return str(ipaddress.IPv6Address(base | (n << 64) | host))
