"""The command parser, by properties (hypothesis): it accepts exactly the grammar and nothing a shell reads.

The oracle here is written independently of agent.protocol: one regular expression per command form,
over the whole line.
"""

from __future__ import annotations

import json
import math
import re

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from agent import protocol
from agent.protocol import Command, Exit, ProtocolError, parse, parse_arguments, parse_login, render

PROBES = ("cpu", "memory", "disks", "network", "logs", "system")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
SHELL = ";|&$`<>(){}[]*?!~'\"\\#\n\r\t\x00 %^"

_W = r"[A-Za-z0-9][A-Za-z0-9_.:=+-]{0,63}"
_P = "(?:" + "|".join(PROBES) + ")"
GRAMMAR = re.compile(
    r"\A *(?:"
    r"(?:ping|probes|report|check)"
    rf"|probe(?: +{_P})+"
    r"|logs +(?:auto|journal|syslog)(?: +--since +[0-9]{1,6}[smhd])?"
    r") *\Z"
)


def oracle_accepts(line: str) -> bool:
    """What the grammar in agent.protocol's docstring allows (length and the 30-day cap aside)."""
    if len(line.encode("utf-8")) > protocol.MAX_COMMAND or not GRAMMAR.match(line):
        return False
    m = re.search(r"--since +([0-9]+)([smhd])", line)
    return not m or int(m.group(1)) * UNITS[m.group(2)] <= 30 * 86400


words = st.sampled_from(["ping", "probes", "probe", "report", "check", "logs", "auto", "journal", "syslog",
                         "--since", "5m", "2d", "30d", "31d", "999999s", "cpu", "memory", "gpu", "-rf", "--x",
                         "", "x;", "$(id)"])
lines = st.lists(words, max_size=6).map(" ".join)


@st.composite
def commands(draw: st.DrawFn) -> Command:
    """Valid commands, as Command values."""
    name = draw(st.sampled_from(protocol.COMMANDS))
    if name == "probe":
        names = draw(st.lists(st.sampled_from(PROBES), min_size=1, max_size=6, unique=True))
        return Command("probe", probes=tuple(names))
    if name == "logs":
        source = draw(st.sampled_from(protocol.LOG_SOURCES))
        since = draw(st.none() | st.builds(lambda n, u: n * UNITS[u], st.integers(0, 999999),
                                           st.sampled_from("smhd")).filter(lambda s: s <= 30 * 86400))
        return Command("logs", source=source, since_seconds=since)
    return Command(name)


@settings(max_examples=400)
@given(st.text(max_size=80) | st.binary(max_size=80) | lines)
@example("logs auto --since 5m\n")
@example("ping\n")
@example("probe cpu\x00")
@example(b"\xff")
@example("p" * 600)
def test_parse_raises_only_protocol_errors_and_accepts_exactly_the_grammar(line: str | bytes) -> None:
    error: ProtocolError | None = None
    try:
        command = parse(line, PROBES)
    except ProtocolError as exc:
        error = exc
    else:
        assert command.name in protocol.COMMANDS
    accepted = error is None
    if error is not None:
        assert error.exit == Exit.BAD_ARGUMENTS and str(error)
    if isinstance(line, bytes):
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            assert not accepted
            return
    else:
        text = line
    assert accepted == oracle_accepts(text), text


@settings(max_examples=300)
@given(commands(), st.integers(0, 3), st.integers(1, 3))
def test_valid_commands_round_trip(command: Command, lead: int, gap: int) -> None:
    line = render(command)
    assert oracle_accepts(line)
    assert parse(line, PROBES) == command
    spaced = " " * lead + line.replace(" ", " " * gap)  # runs of spaces separate words too
    assert parse(spaced, PROBES) == command
    assert parse(line.encode(), PROBES) == command


@settings(max_examples=400)
@given(lines, st.sampled_from(SHELL), st.integers(0, 40))
def test_shell_metacharacters_are_never_accepted(line: str, meta: str, where: int) -> None:
    if meta == " ":
        return  # the separator itself
    position = min(where, len(line))
    poisoned = line[:position] + meta + line[position:]
    with pytest.raises(ProtocolError):
        parse(poisoned, PROBES)


@given(st.text(alphabet=SHELL, min_size=1, max_size=5), commands())
def test_a_valid_command_with_anything_appended_is_refused(tail: str, command: Command) -> None:
    if not tail.strip(" "):
        return
    with pytest.raises(ProtocolError):
        parse(render(command) + tail, PROBES)


def test_parse_examples() -> None:
    assert parse("probe cpu memory cpu", PROBES) == Command("probe", probes=("cpu", "memory"))
    assert parse("logs journal --since 6h", PROBES) == Command("logs", source="journal", since_seconds=21600)
    with pytest.raises(ProtocolError, match="unknown probe 'gpu'"):
        parse("probe gpu", PROBES)
    with pytest.raises(ProtocolError, match="at most 30d"):
        parse("logs auto --since 31d", PROBES)
    with pytest.raises(ProtocolError, match="longer than 512"):
        parse(b"probe " + b"cpu " * 200, PROBES)


def test_render_uses_the_largest_whole_unit() -> None:
    assert render(Command("logs", source="auto", since_seconds=30 * 86400)) == "logs auto --since 30d"
    assert render(Command("logs", source="auto", since_seconds=999999)) == "logs auto --since 999999s"
    assert render(Command("logs", source="syslog", since_seconds=5400)) == "logs syslog --since 90m"
    assert render(Command("logs", source="auto")) == "logs auto"


@pytest.mark.parametrize(("username", "login", "ticket"), [
    ("alice", "alice", ""),
    ("alice+DL-000123", "alice", "DL-000123"),
    ("engineer+INC:42.a_b", "engineer", "INC:42.a_b"),
    ("+T1", "", "T1"),
])
def test_ticket_in_the_user_name(username: str, login: str, ticket: str) -> None:
    assert parse_login(username) == (login, ticket)


@given(st.text(max_size=70))
def test_tickets_are_plain_words(ticket: str) -> None:
    try:
        _, parsed = parse_login("alice+" + ticket)
    except ProtocolError:
        assert not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}", ticket)
    else:
        assert parsed == ticket and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}", ticket)


@given(st.binary(max_size=200))
def test_parse_arguments_raises_only_protocol_errors(data: bytes) -> None:
    try:
        value = parse_arguments(data)
    except ProtocolError:
        return
    assert isinstance(value, dict)


def test_parse_arguments_limits() -> None:
    assert parse_arguments(b"") == {} and parse_arguments(b" \n") == {}
    assert parse_arguments(b'{"top": 3}') == {"top": 3}
    with pytest.raises(ProtocolError, match="longer than"):
        parse_arguments(b" " * (protocol.MAX_STDIN + 1))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"processes.top": NaN}', "NaN is not a number JSON allows"),
        (b'{"processes.top": -Infinity}', "-Infinity is not a number JSON allows"),
        (b'{"logs.window_hours": 1e999}', "1e999 is too large a number"),
        (b'{"processes.top": 3, "processes.top": 500}', "argument 'processes.top' given twice"),
        (b'{"processes.top": [3]}', "argument 'processes.top': only simple values are allowed"),
        (b'{"network": {"check_host": "10.0.0.1"}}', "argument 'network': only simple values are allowed"),
        (b"[" * 50_000, "not JSON"),
        (b'"processes.top=3"', "must be a JSON object"),
    ],
)
def test_parse_arguments_refuses_what_json_should_not_carry(data: bytes, message: str) -> None:
    with pytest.raises(ProtocolError, match=re.escape(message)) as refused:
        parse_arguments(data)
    assert refused.value.exit == Exit.BAD_ARGUMENTS


_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                     lambda inner: st.lists(inner, max_size=3)
                     | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)


@given(st.dictionaries(st.text(max_size=20), _JSON, max_size=5) | _JSON)
def test_parse_arguments_of_any_json_is_an_object_of_simple_finite_values_or_a_refusal(value: object) -> None:
    data = json.dumps(value).encode()  # (NaN and Infinity as Python writes them)
    try:
        parsed = parse_arguments(data)
    except ProtocolError as exc:
        refused: ProtocolError | None = exc
    else:
        refused = None
    if refused is not None:
        assert refused.exit == Exit.BAD_ARGUMENTS
        return
    assert isinstance(value, dict) and parsed == value
    for item in parsed.values():
        assert item is None or isinstance(item, str | bool | int) or (isinstance(item, float) and math.isfinite(item))
