"""The agent's command protocol: what an engineer may ask, and the one JSON document each answer is.

A command is the ``exec`` string of an SSH channel (``ssh -p 2222 engineer@host probe cpu``). It is
parsed here, strictly: plain words separated by spaces, from a small alphabet; probe names are
matched against the registry; nothing is ever passed to a shell. Grammar::

    ping
    probes
    probe NAME [NAME ...]      optional JSON object of arguments on stdin (at most MAX_STDIN bytes)
    report                     the full report, redacted as locally
    check                      the findings only
    logs SOURCE [--since DURATION]     SOURCE: journal | syslog | auto; DURATION like 30m, 6h, 2d

Every answer is one JSON document on stdout::

    {"protocol": 1, "command": "probe", "ok": true, "exit": 0, "result": {...}}
    {"protocol": 1, "command": "probe", "ok": false, "exit": 2,
     "error": {"code": "bad_arguments", "message": "unknown probe 'gpu'"}}

and the channel's exit status is ``exit`` (see :class:`Exit`).

Consent and tickets (the SSH agent, ``deskline-agent serve``): ``ping`` runs without consent (it only
says the agent is alive); the first other command of an SSH connection asks the user's consent,
naming the engineer (the comment of their key in authorized_keys, never the SSH user name, which the
client chooses), the key's fingerprint, the peer address and the ticket. The ticket travels in the SSH
user name, ``LOGIN+TICKET`` (``ssh -p 2222 alice+DL-000123@host probe cpu``, see :func:`parse_login`);
a user name without ``+`` carries no ticket, and LOGIN is only recorded. Environment requests are
refused, so nothing else can carry it. One grant covers every later command of the same engineer key
and ticket, over any connection, until it expires (then the next command asks again) or the user ends
it; a different key or ticket is asked again. A refusal or an ended grant holds for the rest of the
connection, and for that key and ticket on other connections for ``agent.server.DENIAL_COOLDOWN``
seconds. Without an answer within the agent's consent timeout, the answer is no.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

from desktop.errors import DesklineError

PROTOCOL_VERSION = 1
#: The longest command line accepted, in bytes.
MAX_COMMAND = 512
#: The most bytes of JSON arguments read from stdin.
MAX_STDIN = 64 * 1024
#: Words of a command: letters, digits and a few separators; nothing a shell would interpret.
#: (``\Z``, not ``$``: ``$`` would also match before a trailing newline.)
_WORD = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:=+-]{0,63}\Z")
_DURATION = re.compile(r"^([0-9]{1,6})([smhd])\Z")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
LOG_SOURCES = ("auto", "journal", "syslog")
#: A ticket reference in the SSH user name (``alice+DL-000123``).
_TICKET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}\Z")
COMMANDS = ("ping", "probes", "probe", "report", "check", "logs")


class Exit(IntEnum):
    """Exit status of a command (the SSH channel's exit status, and ``exit`` in the answer)."""

    OK = 0
    BAD_ARGUMENTS = 2
    CONSENT_REQUIRED = 3
    NOT_ALLOWED = 4
    TIMEOUT = 5
    INTERNAL = 70


ERROR_CODES = {
    Exit.BAD_ARGUMENTS: "bad_arguments",
    Exit.CONSENT_REQUIRED: "consent_required",
    Exit.NOT_ALLOWED: "not_allowed",
    Exit.TIMEOUT: "timeout",
    Exit.INTERNAL: "internal",
}


class ProtocolError(DesklineError):
    """A command that cannot be run as given; ``exit`` says which kind of refusal."""

    def __init__(self, message: str, exit_code: Exit = Exit.BAD_ARGUMENTS) -> None:
        super().__init__(message)
        self.exit = exit_code


@dataclass(frozen=True)
class Command:
    """A parsed command: its name and checked arguments."""

    name: str
    probes: tuple[str, ...] = ()
    source: str = ""
    since_seconds: int | None = None
    arguments: dict[str, Any] = field(default_factory=dict)

    @property
    def needs_stdin(self) -> bool:
        return self.name == "probe"


def parse_duration(text: str) -> int:
    """``30m`` -> 1800 seconds. Raises ProtocolError."""
    m = _DURATION.match(text)
    if not m:
        raise ProtocolError(f"bad duration {text!r}: use a number and s, m, h or d (for example 6h)")
    return int(m.group(1)) * _UNITS[m.group(2)]


def parse(line: str | bytes, known_probes: tuple[str, ...] | list[str]) -> Command:
    """Parse one command line; raises ProtocolError with a message fit to show the engineer."""
    if isinstance(line, bytes):
        if len(line) > MAX_COMMAND:
            raise ProtocolError(f"command longer than {MAX_COMMAND} bytes")
        try:
            line = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError("command is not UTF-8 text") from exc
    if len(line.encode("utf-8")) > MAX_COMMAND:
        raise ProtocolError(f"command longer than {MAX_COMMAND} bytes")
    words = line.split(" ")
    words = [w for w in words if w != ""]
    if not words:
        raise ProtocolError(f"empty command; one of: {', '.join(COMMANDS)}")
    for w in words:
        if not _WORD.match(w) and not (w.startswith("--") and _WORD.match(w[2:])):
            shown = w if w.isprintable() and len(w) <= 40 else repr(w[:40])
            raise ProtocolError(f"bad word {shown!r} in command: only letters, digits and _.:=+- are allowed")
    name, args = words[0], words[1:]
    if name not in COMMANDS:
        raise ProtocolError(f"unknown command {name!r}; one of: {', '.join(COMMANDS)}")
    if name in ("ping", "probes", "report", "check"):
        if args:
            raise ProtocolError(f"{name} takes no arguments")
        return Command(name)
    if name == "probe":
        if not args:
            raise ProtocolError("probe needs at least one probe name (see `probes`)")
        unknown = [a for a in args if a not in known_probes]
        if unknown:
            raise ProtocolError(f"unknown probe {unknown[0]!r} (known: {', '.join(known_probes)})")
        return Command(name, probes=tuple(dict.fromkeys(args)))
    # logs SOURCE [--since DURATION]
    if not args or args[0] not in LOG_SOURCES:
        raise ProtocolError(f"logs needs a source: one of {', '.join(LOG_SOURCES)}")
    source, rest = args[0], args[1:]
    since = None
    while rest:
        opt = rest.pop(0)
        if opt == "--since" and rest:
            since = parse_duration(rest.pop(0))
        else:
            raise ProtocolError(f"logs: unknown option {opt!r} (only --since DURATION)")
    if since is not None and since > 30 * 86400:
        raise ProtocolError("logs: --since may reach back at most 30d")
    return Command(name, source=source, since_seconds=since)


def render(command: Command) -> str:
    """The command line that :func:`parse` turns back into ``command`` (arguments go on stdin)."""
    if command.name == "probe":
        return " ".join(("probe", *command.probes))
    if command.name == "logs":
        if command.since_seconds is None:
            return f"logs {command.source}"
        unit = next(u for u in "dhms" if command.since_seconds % _UNITS[u] == 0)
        return f"logs {command.source} --since {command.since_seconds // _UNITS[unit]}{unit}"
    return command.name


def parse_login(username: str) -> tuple[str, str]:
    """The SSH user name as (login, ticket): ``alice+DL-000123`` -> ("alice", "DL-000123").

    No ``+``: no ticket. Raises ProtocolError when the part after ``+`` is not a ticket reference.
    """
    login, plus, ticket = username.partition("+")
    if not plus:
        return username, ""
    if not _TICKET.match(ticket):
        shown = ticket if ticket.isprintable() and len(ticket) <= 40 else repr(ticket[:40])
        raise ProtocolError(f"bad ticket {shown!r} in the SSH user name: use LOGIN+TICKET, the ticket made of "
                            "letters, digits and _.:- (at most 64)")
    return login, ticket


def parse_arguments(data: bytes) -> dict[str, Any]:
    """The JSON object of arguments a command read from stdin (empty input: no arguments).

    Only its shape is checked here: an object of simple values (strings, finite numbers, booleans, null),
    each key once. Which keys a command accepts, and their bounds, is the probes' declaration
    (:func:`agent.commands.check_arguments`).
    """
    if len(data) > MAX_STDIN:
        raise ProtocolError(f"arguments on stdin longer than {MAX_STDIN} bytes")
    if not data.strip():
        return {}
    try:
        value = json.loads(data, parse_constant=_no_constant, parse_float=_finite, object_pairs_hook=_unique_keys)
    except ProtocolError:
        raise
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ProtocolError(f"arguments on stdin are not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise ProtocolError("arguments on stdin must be a JSON object")
    for key, item in value.items():
        if not isinstance(item, str | int | float | bool) and item is not None:
            raise ProtocolError(f"argument {_shown_key(key)!r}: only simple values are allowed "
                                "(a string, a number or true/false)")
    return value


def _no_constant(name: str) -> Any:
    raise ProtocolError(f"arguments on stdin are not JSON: {name} is not a number JSON allows")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ProtocolError(f"arguments on stdin: {text[:40]} is too large a number")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for key, item in pairs:
        if key in value:
            raise ProtocolError(f"argument {_shown_key(key)!r} given twice")
        value[key] = item
    return value


def _shown_key(key: str) -> str:
    return key if key.isprintable() and len(key) <= 64 else repr(key[:64])


def answer(command: str, result: Any) -> dict[str, Any]:
    """The document of a successful command."""
    return {"protocol": PROTOCOL_VERSION, "command": command, "ok": True, "exit": int(Exit.OK), "result": result}


def refusal(command: str, exit_code: Exit, message: str) -> dict[str, Any]:
    """The document of a refused or failed command."""
    return {
        "protocol": PROTOCOL_VERSION,
        "command": command,
        "ok": False,
        "exit": int(exit_code),
        "error": {"code": ERROR_CODES.get(exit_code, "internal"), "message": message},
    }


def encode(document: dict[str, Any]) -> bytes:
    """One answer as the bytes written to the channel: compact JSON and a newline."""
    return (json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
