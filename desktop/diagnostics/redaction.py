"""Redaction: secrets are masked, and (optionally) people and machines pseudonymized, before anyone sees a report.

One :class:`Redactor` serves one report. Everything that leaves the machine goes through it: the report
data (:meth:`Redactor.redact_data`) and every text attachment (:meth:`Redactor.redact_text`). It keeps a
list of :class:`Masking` records (what kind, where, which line, how often) that the report carries and
``deskline redact --explain`` prints. A masking never holds the secret, nor any part of it.

Secrets (always masked)
    Passwords and other secret values in ``key=value`` / ``key: value`` lines of configs, env files,
    INI, YAML, JSON, XML and logs (the key names a secret: password, passwd, pwd, secret, token,
    api_key, access_key, private_key, client_secret, auth, credentials, cookie, session_id, psk, ...);
    URL user-info (``scheme://user:pass@host``); ``Authorization`` headers (Basic, Bearer, Token, ...);
    ``Cookie``/``Set-Cookie`` values; the token formats of common providers (AWS key ids, GitHub,
    GitLab, Slack, Google, Stripe, OpenAI/Anthropic, SendGrid, npm, PyPI, Hugging Face, Vault, ...);
    JWTs; PEM and PuTTY private keys (whole block, also when cut off); Wi-Fi keys (NetworkManager,
    wpa_supplicant, ``netsh wlan show profile key=clear``, WLAN profile XML); connection strings
    (ADO.NET/ODBC/JDBC/libpq/Azure); passwords on command lines (``sshpass -p``, ``mysql -pX``,
    ``--password X``, ``curl -u user:pass``, ``smbclient -U user%pass``, ``openssl pass:X``, ...);
    crypt(3)/LDAP password hashes and NTLM hash pairs.

    The secret is replaced by one token, ``[REDACTED <kind>]``; everything around it stays, so an
    engineer still sees which setting was set: ``DB_PASSWORD=[REDACTED password]``,
    ``https://bob:[REDACTED url-credentials]@db.example.org/``, ``Authorization: Bearer [REDACTED
    bearer-token]``. A private key keeps its BEGIN and END lines around a single token.

    Values that cannot be secrets are kept: empty values, booleans and null words, placeholders
    (``********``, ``xxxx``, ``<hidden>``, ``[FILTERED]``), references to other variables (``$DB_PASS``,
    ``${X}``, ``%X%``, ``{{ vault_x }}``), and, for keys that are not passwords, file paths
    (``token_file``-like settings that hold a path). ``PWD``/``OLDPWD`` holding a directory are kept.
    Long hex or base64 runs are not masked on their own (file hashes, commit ids and UUIDs are not
    secrets); they are masked only where a secret key or a token format says so.

Pseudonyms (only with ``pseudonymize=True``)
    E-mail addresses become ``<email-N>``, the user names the caller names become ``<user-N>`` wherever
    they stand as a word (``/home/<user-1>/``), the host names it names (short or fully qualified) and
    every other name in their DNS domain become ``<host-N>``, the domain itself ``<domain-N>``.
    IP addresses keep their shape, so tools and schemas that expect an address still work and an
    engineer still sees which addresses share a network (as ``sos clean`` does): each IPv4 /24
    network gets its own /24 in 240.0.0.0/4 (reserved, never routed) and the host byte is kept
    (203.0.113.5 -> 240.0.0.5, 203.0.113.9 -> 240.0.0.9, 8.8.8.8 -> 240.0.1.8); each IPv6 /64 gets
    its own /64 in the documentation prefix 2001:db8::/32 and the interface part is numbered
    (it can embed a MAC). Addresses already in those two ranges are taken as pseudonyms and kept.
    Never pseudonymized: loopback, unspecified, multicast, broadcast and netmask-shaped addresses,
    and, unless ``keep_private_ips=False``, private ones (RFC 1918, 100.64/10, link-local, ULA).
    The same value always gets the same pseudonym within one Redactor (one report and its
    attachments); a new Redactor starts from 1. Caveats: four dotted numbers are an IPv4 address
    unless ``v``/``version`` stands right before them (a 4-part version such as ``2.0.1.3-1`` is
    pseudonymized); user names shorter than 3 characters and system accounts (root, admin, ...) are
    not pseudonymized (they would hit ordinary words and identify no one).

Speed: patterns are compiled once at import; a line is only examined by the rules whose trigger
words occur in it, so a 1 MB log takes tens of milliseconds and a whole report a few.
"""

from __future__ import annotations

import bisect
import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping
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
    "prompt ask auto default empty unset".split()
)
_PLACEHOLDER_RE = re.compile(
    r"\*+|[xX]{3,}|•+|\.{3}|…|<[^<>]*>|\[(?i:hidden|redacted|filtered|masked|secret|removed)\]"
    r"|\((?i:hidden|redacted|masked|not shown)\)"
    r"|\$\{?[A-Za-z_][A-Za-z0-9_.-]*\}?|\$\{[^}]*\}|%[A-Za-z_][A-Za-z0-9_]*%|%\([A-Za-z_]\w*\)[sd]"
    r"|\{\{.*\}\}|\{%.*%\}|@[A-Za-z_]\w*@"
)
_PATH_RE = re.compile(r"(?:~|[A-Za-z]:)?[/\\][\w .@+-]+(?:[/\\][\w .@+-]*)+|[A-Za-z][\w-]*:(?:/[\w.@+-]+){2,}")


def _trivial(value: str) -> bool:
    """True when a value under a secret key cannot be a secret (empty, yes/no, a placeholder, a $reference)."""
    v = value.strip()
    if not v or MARK_PREFIX in v:
        return True
    if v.lower() in _NON_SECRET_WORDS:
        return True
    return _PLACEHOLDER_RE.fullmatch(v) is not None


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
        spans: list[_Span] = []
        last = 0
        for m in pattern.finditer(line):
            if m.start() < last:
                continue  # inside a value already taken to the end of its line
            for span in decide(m, line):
                if span[0] >= last:
                    spans.append(span)
                    last = span[1]
        return _splice(line, spans, kinds) if spans else line

    return run


def _group(kind: str, *names: str, check: Callable[[str], bool] | None = None) -> _Decide:
    """Mask the named groups of a match (those that took part), all with one kind."""

    def decide(m: re.Match[str], line: str) -> Iterable[_Span]:
        out = []
        for name in names or ("v",):
            start, end = m.span(name)
            if start < 0 or start == end:
                continue
            value = m.group(name)
            if _MARK_RE.fullmatch(value) or (check is not None and not check(value)):
                continue
            out.append((start, end, kind))
        return out

    return decide


def _has_digit_and_letter(value: str) -> bool:
    return any(c.isdigit() for c in value) and any(c.isalpha() for c in value)


# ------------------------------------------------------------------------------------------ private keys

_SEP = r"(?:\r?\n|\\r?\\n|[ \t]+)"
_B64_LINE = r"[A-Za-z0-9+/=]+(?=\r?\n|\\r?\\n|[ \t]|$|-{4,5}|[\"',])"
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

def _token_rule(kind: str, pattern: str, triggers: Iterable[str], check: Callable[[str], bool] | None = None,
                group: str = "v", flags: int = 0) -> _Rule:
    body = pattern if "(?P<v>" in pattern else f"(?P<v>{pattern})"
    return _Rule(tuple(triggers), _apply(re.compile(body, flags), _group(kind, group, check=check)))


@dataclass(frozen=True)
class _Rule:
    """Runs on a line only when one of ``triggers`` (lower case) occurs in it; masks what it finds."""

    triggers: tuple[str, ...]
    run: Callable[[str, list[str]], str]


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
                r"\$(?:1|2[abxy]|5|6|7|y|gy|apr1|md5|sha1|argon2(?:id|i|d)|pbkdf2(?:-sha\d+)?|scrypt"
                r"|krb5(?:tgs|asrep|pa))\$(?P<v>[^\s:'\"]{8,})",
                ["$1$", "$2a$", "$2b$", "$2x$", "$2y$", "$5$", "$6$", "$7$", "$y$", "$gy$", "$apr1$", "$md5",
                 "$sha1$", "$argon2", "$pbkdf2", "$scrypt", "$krb5"]),
    _token_rule("password-hash",
                r"\{(?:SSHA|SHA|SSHA256|SSHA512|SHA256|SHA512|SMD5|MD5|CRYPT|PBKDF2[\w-]*|ARGON2)\}"
                r"(?P<v>[A-Za-z0-9+/=.$]{8,})",
                ["{ssha", "{sha", "{smd5", "{md5", "{crypt", "{pbkdf2", "{argon2"], flags=re.IGNORECASE),
    _token_rule("ntlm-hash", r"(?<![0-9a-fA-F]):(?P<v>[0-9a-fA-F]{32}:[0-9a-fA-F]{32}):::", [":::"]),
]


# ------------------------------------------------------------------------------------ URL user-info

_DB_SCHEMES = frozenset(
    "postgres postgresql mysql mariadb mongodb mongodb+srv redis rediss amqp amqps sqlserver mssql oracle "
    "db2 clickhouse cockroachdb couchdb influxdb neo4j cassandra memcached".split()
)
_URL_RE = re.compile(
    r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<user>[^\s:/?#@\"'<>\[\]]*):(?P<v>[^\s/?#\"'<>]*)@"
    r"(?=[\w\[.-])"
)


def _url_decide(m: re.Match[str], line: str) -> Iterable[_Span]:
    value = m.group("v")
    if not value or _trivial(value) or value.isdigit() and not m.group("user"):
        return ()
    scheme = m.group("scheme").lower().removeprefix("jdbc:")
    kind = "connection-string" if scheme in _DB_SCHEMES or "jdbc:" in line[max(0, m.start() - 5):m.start() + 5] \
        else "url-credentials"
    return ((m.start("v"), m.end("v"), kind),)


# ------------------------------------------------------------------------------- headers and cookies

_AUTHZ_RE = re.compile(
    r"(?<![\w-])(?:proxy-)?authorization[\"']?[ \t]*[:=][ \t]*[\"']?"
    r"(?:(?P<scheme>bearer|basic|token|digest|negotiate|ntlm|apikey|api-key|sso-key|aws4-hmac-sha256|hmac|otp|"
    r"key|splunk|gensign|jwt)[ \t]+)?(?P<v>" + _MARK + r"|[^\s\"',;]+)",
    re.IGNORECASE,
)
_SCHEME_KIND = {"bearer": "bearer-token", "token": "bearer-token", "jwt": "bearer-token", "basic": "basic-auth"}
_TO_END_SCHEMES = frozenset({"digest", "aws4-hmac-sha256", "hmac", "gensign"})


def _authz_decide(m: re.Match[str], line: str) -> Iterable[_Span]:
    if _MARK_RE.fullmatch(m.group("v")):
        return ()
    scheme = (m.group("scheme") or "").lower()
    start, end = m.span("v")
    if scheme in _TO_END_SCHEMES or not scheme:
        # parameters up to the end of the header value
        stop = len(line.rstrip())
        for q in ("\"", "'"):
            i = line.find(q, start)
            if i != -1:
                stop = min(stop, i)
        end = max(end, stop)
    return ((start, end, _SCHEME_KIND.get(scheme, "authorization")),)


_BEARER_RE = re.compile(r"(?<![\w-])bearer[ \t]+(?P<v>[A-Za-z0-9._~+/-]{16,}=*)", re.IGNORECASE)
_COOKIE_RE = re.compile(r"(?<![\w-])(?P<set>set-)?cookie2?[\"']?[ \t]*:[ \t]*(?P<q>[\"']?)(?P<rest>[^\r\n]*)",
                        re.IGNORECASE)
_COOKIE_PAIR_RE = re.compile(r"[ \t]*(?P<name>[^=;\s\"']+)[ \t]*=[ \t]*(?P<v>" + _MARK + r"|[^;\"'\r\n]*)")


def _cookie_decide(m: re.Match[str], line: str) -> Iterable[_Span]:
    rest = m.group("rest")
    base = m.start("rest")
    if m.group("q"):
        cut = rest.find(m.group("q"))
        rest = rest if cut == -1 else rest[:cut]
    out: list[_Span] = []
    if "=" not in rest:
        value = rest.rstrip()
        if value and not _trivial(value):
            out.append((base, base + len(value), "cookie"))
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
_CMDLINE_RULES: list[_Rule] = [
    _Rule(("sshpass",), _apply(re.compile(rf"\bsshpass[ \t]+(?:-[a-oq-zA-Z]\S*[ \t]+)*-p[ \t]*{_Q_VALUE}"),
                               _quoted_decide("password"))),
    _Rule(("mysql", "mariadb"), _apply(re.compile(
        r"\b(?:mysql|mysqldump|mysqladmin|mysqlimport|mysqlcheck|mysqlshow|mariadb(?:-dump|-admin)?)\b"
        rf"[^\r\n|;&]*?[ \t]-p(?=\S){_Q_VALUE}"), _quoted_decide("password"))),
    _Rule(("curl", "wget", "http"), _apply(re.compile(
        r"\b(?:curl|wget|https?|xh|httpie)\b[^\r\n|;&]*?(?<![\w-])(?:-u|--user|--proxy-user|-U)(?:[ \t]+|=)?"
        r"(?P<q>[\"']?)[^\s:\"']+:(?P<v>[^\s\"']+)(?P=q)"), _group("password"))),
    _Rule(("-u", "--user"), _apply(re.compile(
        r"\b(?:smbclient|smbmap|rpcclient|smbcacls|net|mount\.cifs|winexe|crackmapexec|nxc)\b[^\r\n|;&]*?"
        r"(?:-U|--user(?:name)?)(?:[ \t]+|=)?(?P<q>[\"']?)[^\s%\"']+%(?P<v>[^\s\"']+)(?P=q)"), _group("password"))),
    _Rule(("login",), _apply(re.compile(
        r"\b(?:docker|podman|helm|buildah|skopeo|nerdctl|oras)[ \t]+(?:registry[ \t]+)?login\b[^\r\n|;&]*?"
        rf"[ \t](?:-p|--password)[ \t]+{_Q_VALUE}"), _quoted_decide("password"))),
    _Rule(("-pass", "-pw", "-token", "-secret", "-api", "-access-key", "-secret-key", "-client-secret"), _apply(
        re.compile(rf"(?<![\w-])--?(?:[a-z0-9]+-)*{_FLAG_WORDS}[ \t]+(?![-<\[|>])(?!{_MARK}){_Q_VALUE}",
                   re.IGNORECASE),
        _quoted_decide("password", ("file:", "env:", "fd:", "stdin")))),
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
        r"\b(?:login|user)[ \t]+\S+[ \t]+password[ \t]+(?:(?P<q>[\"'])(?P<qv>[^\"'\r\n]*)(?P=q)|(?P<v>\S+))"),
        _group("password", "qv", "v"))),
    _Rule(("password",), _apply(re.compile(r"(?<![\w-])password[ \t]+(?P<q>[\"'])(?P<v>[^\"'\r\n]+)(?P=q)"),
                                _group("password"))),
    # one-word settings separated by blanks: redis.conf, slapd.conf, nslcd.conf, a .netrc line
    _Rule(("requirepass", "masterauth", "masterpass", "bindpw", "rootpw", "password"), _apply(re.compile(
        r"^[ \t]*(?:requirepass|masterauth|masterpass|bindpw|rootpw|password)[ \t]+(?P<v>[^\s\"']\S*)[ \t\r]*$"),
        _group("password"))),
    _Rule(("psk", "xauth", "eap"), _apply(re.compile(
        r"(?<![\w-])(?:PSK|XAUTH|EAP|NTLM)[ \t]+(?P<q>[\"'])(?P<v>[^\"'\r\n]+)(?P=q)"), _group("generic-secret"))),
]


# ------------------------------------------------------------------------------------------ key = value

_KEYWORDS = (
    r"pass(?:word|wd|wort|phrase|code)?s?|pwd|pw|secrets?|tokens?(?=[\"']?[ \t]*[:=](?![ \t]*\d+[ \t]*$))"
    r"|(?:api|access|private|auth|client|encryption|signing|master|account|shared[_-]?access|storage|app|license"
    r"|subscription|consumer|session|secret|pre[_-]?shared)[_-]?key|apikey|credentials?|authtok|auth|cookies?"
    r"|session[_-]?id|sessionid|psk|wep[_-]?key\d?|signature|sig|authorization|keymaterial"
)
_KV_RE = re.compile(
    rf"(?P<kw>{_KEYWORDS})(?P<kq>[\"']?)(?P<sep>[ \t]*(?:=>|:=|=(?!=)|:(?=[ \t\"'{{]|$))[ \t]*)"
    r"(?P<val>(?P<mark>" + _MARK + r")"
    r"|\"(?P<dq>(?:[^\"\\\r\n]|\\.)*)\""
    r"|'(?P<sq>[^'\r\n]*)'"
    r"|\{(?P<bq>[^}\r\n]*)\}"
    r"|(?P<raw>[^\s\"'<>,;&)}\]]+))?",
    re.IGNORECASE,
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
_WIFI_KEY_RE = re.compile(r"psk|wep|^wpa|keymaterial|wifi|wlan")


def _key_kind(key: str) -> str:
    """The masking kind a secret key implies (``key`` in lower case)."""
    if _WIFI_KEY_RE.search(key) and "preshared" not in key.replace("_", "").replace("-", ""):
        return "wifi-psk"
    if "aws" in key and "secret" in key:
        return "aws-secret-key"
    if "twilio" in key:
        return "twilio-token"
    if "cookie" in key:
        return "cookie"
    if "session" in key:
        return "session-id"
    if "private" in key and "key" in key:
        return "private-key"
    if "pass" in key or key.endswith(("pwd", "pw")):
        return "password"
    if "token" in key or key.endswith("authtok"):
        return "token"
    if re.search(r"api[_-]?key|apikey", key):
        return "api-key"
    if key.endswith(("authorization", "auth")):
        return "authorization"
    return "generic-secret"


def _key_start(line: str, kw_start: int) -> int:
    i = kw_start
    while i > 0 and line[i - 1] in _KEY_CHARS:
        i -= 1
    return i


def _kv_decide(m: re.Match[str], line: str) -> Iterable[_Span]:
    if m.group("val") is None or m.group("mark") is not None:
        return ()
    kw = m.group("kw").lower()
    kstart = _key_start(line, m.start("kw"))
    key = line[kstart:m.end("kw")].lower().lstrip("-$:/.")
    prefix = key[: len(key) - len(kw)]
    if kw.startswith("pass") and prefix.endswith(("by", "com", "over", "under")):
        return ()  # bypass, compass, ...
    if kw in ("auth", "sig") and prefix and not prefix.endswith(("_", "-", ".")):
        return ()  # oauth=..., xsig=...: not secret keys
    if kw == "sig" and prefix:
        return ()
    if kw == "passwd" and not prefix and m.group("sep").strip() == ":":
        return ()  # "passwd:" is the passwd program or the nsswitch database, never a secret key
    kind = _key_kind(key)
    # the value: quoted, braced, or bare
    for name in ("dq", "sq", "bq"):
        start, end = m.span(name)
        if start >= 0:
            value = m.group(name)
            break
    else:
        start, end = m.span("raw")
        value = m.group("raw")
        at_line_start = _LINE_START_RE.fullmatch(line, 0, kstart) is not None
        conn = _CONN_HINT_RE.search(line) is not None
        if conn:
            stop = line.find(";", end)
            end = len(line.rstrip()) if stop == -1 else stop
            if at_line_start and stop == -1 and _CONN_HINT_RE.search(line) and line.rstrip().endswith(("\"", "'")):
                end -= 1
            value = line[start:end]
        elif at_line_start:
            end = len(line.rstrip())
            value = line[start:end]
    if m.group("bq") is not None and value.startswith("{") and value.endswith("}"):
        return ()  # {{ template }}
    if _trivial(value):
        return ()
    if key.endswith("pwd") and not prefix.strip("_-.") and _looks_like_path(value):
        return ()  # PWD / OLDPWD: the working directory
    if kind != "password" and _looks_like_path(value):
        return ()  # token_file=/run/secrets/x: a path is not the secret
    before = line[:kstart].rstrip()
    if before.endswith(";") or (end < len(line) and line[end] == ";") or _CONN_HINT_RE.search(line):
        if kind in ("password", "generic-secret", "api-key", "token") or "account" in key or "shared" in key:
            kind = "connection-string"
    return ((start, end, kind),)


_XML_TAG_RE = re.compile(
    r"<(?P<tag>[\w:.-]*(?:password|passwd|pwd|secret|token|apikey|api_key|accesskey|privatekey|psk|keymaterial"
    r"|credentials?))(?:[ \t][^>]*)?>(?:[ \t]*<value>)?(?P<v>[^<\r\n]+)<",
    re.IGNORECASE,
)
_XML_ADD_RE = re.compile(
    r"\bkey=(?P<q>[\"'])(?P<key>[^\"']*(?:password|pwd|secret|token|apikey|api_key|connectionstring)[^\"']*)(?P=q)"
    r"[ \t]+value=(?P<q2>[\"'])(?P<v>[^\"'\r\n]*)(?P=q2)",
    re.IGNORECASE,
)


def _xml_decide(m: re.Match[str], line: str) -> Iterable[_Span]:
    value = m.group("v")
    if _trivial(value):
        return ()
    return ((m.start("v"), m.end("v"), _key_kind(m.group("tag").lower())),)


def _xml_add_decide(m: re.Match[str], line: str) -> Iterable[_Span]:
    value = m.group("v")
    if _trivial(value):
        return ()
    key = m.group("key").lower()
    if "connectionstring" in key:
        return ()  # the connection-string rule masks the password inside
    return ((m.start("v"), m.end("v"), _key_kind(key)),)


_KV_TRIGGERS = (
    "pass", "pwd", "pw", "secret", "token", "key", "credential", "auth", "cookie", "session", "psk", "wep", "sig",
)

#: All line rules, in order: specific formats first, so their kind wins over the generic key rule.
_LINE_RULES: list[_Rule] = [
    *_TOKEN_RULES,
    _Rule(("@",), _apply(_URL_RE, _url_decide)),
    _Rule(("authorization",), _apply(_AUTHZ_RE, _authz_decide)),
    _Rule(("bearer",), _apply(_BEARER_RE, _group("bearer-token"))),
    _Rule(("cookie",), _apply(_COOKIE_RE, _cookie_decide)),
    *_CMDLINE_RULES,
    _Rule(("<",), _apply(_XML_TAG_RE, _xml_decide)),
    _Rule(("key=",), _apply(_XML_ADD_RE, _xml_add_decide)),
    _Rule(_KV_TRIGGERS, _apply(_KV_RE, _kv_decide)),
]
_ALL_TRIGGERS = sorted({t for r in _LINE_RULES for t in r.triggers}, key=len, reverse=True)
_TRIGGER_RE = re.compile("|".join(re.escape(t) for t in _ALL_TRIGGERS))


# ----------------------------------------------------------------------------------------- dict keys

_SECRET_KEY_RE = re.compile(
    r"[\w .-]*?(?:pass(?:word|wd|wort|phrase|code)?s?|pwd|secrets?|token|(?:api|access|private|auth|client"
    r"|encryption|signing|master|account|shared[_-]?access|storage|app|license|subscription|consumer|session"
    r"|secret|pre[_-]?shared)[_-]?key|apikey|credentials?|authtok|auth|authorization|cookies?|set-cookie"
    r"|session[_-]?id|sessionid|psk|wep[_-]?key\d?|keymaterial)",
    re.IGNORECASE,
)


def _secret_key_kind(key: str) -> str | None:
    """The kind for a mapping key that names a secret, or None for an ordinary key."""
    if _SECRET_KEY_RE.fullmatch(key) is None:
        return None
    low = key.lower()
    if low.endswith(("bypass", "compass")):
        return None
    if low.endswith("auth") and len(low) > 4 and low[-5] not in "_-. ":
        return None  # oauth
    return _key_kind(low)


# ----------------------------------------------------------------------------------------- pseudonyms

_EMAIL = (
    r"(?<![\w.%+-])(?!git@)[A-Za-z0-9][A-Za-z0-9._%+-]*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+"
    r"(?!(?:service|socket|target|timer|mount|automount|slice|scope|path|device|swap)(?![\w-]))[A-Za-z]{2,63}"
    r"(?![\w-])"
)
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = rf"(?<![\w.]){_OCTET}(?:\.{_OCTET}){{3}}(?!\w|\.\d)"
_IPV6 = (
    r"(?<![\w:.])(?=[0-9A-Fa-f:.]*::|(?:[0-9A-Fa-f]{1,4}:){7})"
    r"(?:[0-9A-Fa-f]{0,4}:){2,7}(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f]{1,4})?(?![\w:]|\.\d)"
)
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
_PSEUDONYM_MARK_RE = re.compile(r"<(?:user|host|domain|email|ipv4)-\d+>")


def _is_netmask(value: int) -> bool:
    """True for 255.x.y.z values that are contiguous netmasks (/8 to /32)."""
    if value >> 24 != 255:
        return False
    inverted = ~value & 0xFFFFFFFF
    return inverted & (inverted + 1) == 0


class Redactor:
    """Masks secrets and (optionally) pseudonymizes identities in one report and its attachments.

    ``usernames`` and ``hostnames`` are values the caller knows (the current user, the host name);
    they are pseudonymized wherever they stand as a word, also inside paths. Use one Redactor per
    report so that the same value gets the same pseudonym everywhere in it.
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
        self._known_user: dict[str, str] = {}  # lower-case name -> key in _names["user"]
        self._known_host: dict[str, str] = {}  # lower-case short or full name -> key in _names["host"]
        self._domains: set[str] = set()
        for name in usernames:
            low = name.strip().lower()
            if len(low) >= 3 and not low.isdigit() and low not in _NOT_PERSONAL_USERS:
                self._known_user[low] = low
        for name in hostnames:
            self._add_host(name)
        self._pseudo_re = self._build_pseudonym_re() if pseudonymize else None

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
        """A redacted copy of JSON-like data: every string is redacted; a key that names a secret has its
        string values masked whole. Keys are kept (pseudonymized when enabled); ``where`` is the path of
        ``obj`` in the report and grows by ``.key`` and ``[index]`` for the maskings."""
        return self._walk(obj, where, None)

    # ----------------------------------------------------------------------------------------- walking

    def _walk(self, obj: Any, where: str, secret_kind: str | None) -> Any:
        if isinstance(obj, str):
            if secret_kind is not None and not _trivial(obj) and not (
                    secret_kind != "password" and _looks_like_path(obj)):
                self._record(where, [(secret_kind, None, 1)])
                return mark(secret_kind)
            return self.redact_text(obj, where)
        if isinstance(obj, Mapping):
            out: dict[Any, Any] = {}
            for key, value in obj.items():
                if isinstance(key, str):
                    new_key, found = self._process(key)
                    child = f"{where}.{new_key}" if where else new_key
                    self._record(child, found)
                    kind = secret_kind or _secret_key_kind(key)
                    if kind == "session-id" and not isinstance(value, str):
                        kind = secret_kind
                    if (key.lower() in ("pwd", "oldpwd") and isinstance(value, str) and _looks_like_path(value)):
                        kind = None
                    while new_key in out:
                        new_key += "'"
                else:
                    new_key, child, kind = key, f"{where}[{key}]", secret_kind
                out[new_key] = self._walk(value, child, kind)
            return out
        if isinstance(obj, list | tuple):
            items = [self._walk(v, f"{where}[{i}]", secret_kind) for i, v in enumerate(obj)]
            return items if isinstance(obj, list) else tuple(items)
        return obj

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
        if _TRIGGER_RE.search(low) is not None:
            if multiline:
                text = self._secrets_lines(text, low, found)
            else:
                kinds: list[str] = []
                text = self._secrets_line(text, low, kinds)
                for kind in dict.fromkeys(kinds):
                    found.append((kind, None, kinds.count(kind)))
        if self._pseudo_re is not None:
            text = self._pseudonyms(text, found)
        return text, found

    def _private_keys(self, text: str, multiline: bool, found: list[tuple[str, int | None, int]]) -> str:
        marks: list[int] = []

        def sub(m: re.Match[str]) -> str:
            body = m.group("body")
            sep_m = _FIRST_SEP_RE.match(body)
            sep = sep_m.group(0) if sep_m else "\n"
            if not body.strip() and not m.group("end"):
                return m.group(0)
            marks.append(m.start())
            end = m.group("end") or ""
            if end and _FIRST_SEP_RE.match(end) is None:
                end = sep + end
            return m.group("begin") + sep + mark("private-key") + end

        text = _PEM_RE.sub(sub, text)
        text = _PUTTY_RE.sub(sub, text)
        if marks:
            if multiline:
                token = mark("private-key")
                at = text.find(token)
                while at != -1:
                    found.append(("private-key", text.count("\n", 0, at) + 1, 1))
                    at = text.find(token, at + len(token))
            else:
                found.append(("private-key", None, len(marks)))
        return text

    @staticmethod
    def _secrets_line(line: str, low: str, kinds: list[str]) -> str:
        for rule in _LINE_RULES:
            for t in rule.triggers:
                if t in low:
                    line = rule.run(line, kinds)
                    break
        return line

    def _secrets_lines(self, text: str, low: str, found: list[tuple[str, int | None, int]]) -> str:
        lines = text.split("\n")
        low_lines = low.split("\n")
        if len(low_lines) != len(lines):  # lower() never adds newlines; be safe anyway
            low_lines = [ln.lower() for ln in lines]
        # the lines that hold a trigger word, found by one scan of the whole text
        offsets = [0]
        pos = 0
        for ln in low_lines[:-1]:
            pos += len(ln) + 1
            offsets.append(pos)
        candidates: list[int] = []
        last = -1
        for m in _TRIGGER_RE.finditer(low):
            i = bisect.bisect_right(offsets, m.start()) - 1
            if i != last:
                candidates.append(i)
                last = i
        changed = False
        for i in candidates:
            kinds: list[str] = []
            new = self._secrets_line(lines[i], low_lines[i], kinds)
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
        if len(short) < 2:
            return
        self._known_host[short] = short
        if domain:
            self._known_host[low] = short
            if domain.count(".") >= 1 and domain not in _GENERIC_DOMAINS:
                self._domains.add(domain)

    def _build_pseudonym_re(self) -> re.Pattern[str]:
        parts = [f"(?P<email>{_EMAIL})"]
        label = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)"
        if self._domains:
            doms = "|".join(re.escape(d) for d in sorted(self._domains, key=len, reverse=True))
            parts.append(rf"(?P<dhost>(?<![\w.-]){label}*(?:{doms})(?![\w-]|\.[A-Za-z0-9]))")
        names = sorted({*self._known_host, *self._known_user}, key=len, reverse=True)
        if names:
            alt = "|".join(re.escape(n) for n in names)
            parts.append(rf"(?P<known>(?<![\w<\[])(?<!REDACTED )(?:{alt})(?!\w|-\d+>))")
        parts.append(f"(?P<ipv4>{_IPV4})")
        parts.append(f"(?P<ipv6>{_IPV6})")
        return re.compile("|".join(parts), re.IGNORECASE)

    def _placeholder(self, kind: str, key: str) -> str:
        table = self._names[kind]
        if key not in table:
            table[key] = f"<{kind}-{len(table) + 1}>"
        return table[key]

    def _pseudonyms(self, text: str, found: list[tuple[str, int | None, int]]) -> str:
        assert self._pseudo_re is not None
        counts: dict[str, int] = {}

        def sub(m: re.Match[str]) -> str:
            group = m.lastgroup
            value = m.group(0)
            new: str | None
            if group == "email":
                kind, new = "email", self._placeholder("email", value.lower())
            elif group == "dhost":
                low = value.lower()
                short = self._known_host.get(low)
                if short is not None:
                    kind, new = "host", self._placeholder("host", short)
                elif low in self._domains:
                    kind, new = "domain", self._placeholder("domain", low)
                else:
                    kind, new = "host", self._placeholder("host", low)
            elif group == "known":
                low = value.lower()
                if low in self._known_host:
                    kind, new = "host", self._placeholder("host", self._known_host[low])
                else:
                    kind, new = "user", self._placeholder("user", low)
            elif group == "ipv4":
                if _VERSION_BEFORE_RE.search(text, max(0, m.start() - 12), m.start()):
                    return value
                kind, new = "ipv4", self._ipv4(value)
            else:
                kind, new = "ipv6", self._ipv6(value)
            if new is None or new == value:
                return value
            counts[kind] = counts.get(kind, 0) + 1
            return new

        text = self._pseudo_re.sub(sub, text)
        for kind, count in counts.items():
            found.append((f"pseudonym:{kind}", None, count))
        return text

    def _ipv4(self, value: str) -> str | None:
        addr = ipaddress.IPv4Address(value)
        if any(addr in net for net in _V4_KEEP_ALWAYS) or _is_netmask(int(addr)):
            return None
        if self.keep_private_ips and any(addr in net for net in _V4_PRIVATE):
            return None
        n = self._v4_nets.setdefault(int(addr) >> 8, len(self._v4_nets))
        if n >= _V4_PSEUDO_LIMIT:
            return self._overflow.setdefault(value, f"<ipv4-{len(self._overflow) + 1}>")
        return f"{240 + (n >> 16)}.{(n >> 8) & 255}.{n & 255}.{int(addr) & 255}"

    def _ipv6(self, value: str) -> str | None:
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
