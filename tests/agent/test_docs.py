"""docs/agent.md against the code: exit codes, settings, fixed limits, audit events, channel messages,
example files, and every command line the page shows (parsed by the real argparse parsers, and the
remote commands of ``ssh`` lines by the protocol's own parser).

Nothing here starts a process or opens a socket: ``agent.cli.main`` builds its parser inside the function,
so the parser is captured by stopping ``main`` at its ``parse_args`` call.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import inspect
import io
import json
import re
import shlex
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from agent import attach, authkeys, bastion, cli, consent_channel, console, inventory, protocol, server
from desktop import cli as desktop_cli
from desktop import config
from desktop.diagnostics import registry
from desktop.errors import DesklineError

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "agent.md"
TEXT = PAGE.read_text(encoding="utf-8")

#: OpenSSH client options that take an argument (ssh(1) SYNOPSIS).
SSH_ARGUMENT_OPTIONS = set("BbcDEeFIiJLlmOoPpQRSWw")
#: Shell operators that end one command of a pipeline or list.
CONTROL = {"|", "||", "&&", ";", "&"}
REDIRECTS = {">", ">>", "<", "2>"}


# ------------------------------------------------------------------------------------- the page's parts

def section(title: str) -> str:
    """The text under the heading ``title`` (any level) up to the next heading of the same or a higher level."""
    lines = TEXT.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^(#+) (.*)$", line)
        if m and m.group(2).strip() == title:
            level = len(m.group(1))
            body = []
            for later in lines[i + 1:]:
                n = re.match(r"^(#+) ", later)
                if n and len(n.group(1)) <= level:
                    break
                body.append(later)
            return "\n".join(body)
    raise AssertionError(f"docs/agent.md has no heading {title!r}")


@dataclass(frozen=True)
class Block:
    info: str
    text: str
    line: int


def code_blocks() -> list[Block]:
    """Fenced code blocks, indented ones (inside list items) included, with their indentation removed."""
    text = TEXT
    blocks = []
    pattern = re.compile(r"^( *)```([^\n`]*)\n(.*?)^\1```[ \t]*$", re.MULTILINE | re.DOTALL)
    for m in pattern.finditer(text):
        indent = len(m.group(1))
        body = "\n".join(line[indent:] if line[:indent].strip() == "" else line
                         for line in m.group(3).splitlines())
        blocks.append(Block(m.group(2).strip(), body, text.count("\n", 0, m.start()) + 1))
    return blocks


def command_lines() -> list[tuple[str, int]]:
    """Every ``$ `` line of the page's plain code blocks, backslash continuations joined, with its page line."""
    out = []
    for block in code_blocks():
        if block.info not in ("", "sh", "console"):
            continue
        pending = ""
        for offset, line in enumerate(block.text.splitlines()):
            if pending:
                pending += " " + line.strip()
            elif line.startswith("$ "):
                pending = line[2:]
                start = block.line + 1 + offset
            else:
                continue
            if pending.endswith("\\"):
                pending = pending[:-1].rstrip()
                continue
            out.append((pending, start))
            pending = ""
    return out


def commands_of(line: str) -> list[list[str]]:
    """The simple commands of a shell line: split at pipes and lists, redirections and ``sudo``/``VAR=x`` dropped."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    words = list(lexer)
    simple: list[list[str]] = [[]]
    skip = False
    for word in words:
        if skip:
            skip = False
            continue
        if word in CONTROL:
            simple.append([])
        elif word in REDIRECTS:
            skip = True
        else:
            simple[-1].append(word)
    result = []
    for words_ in simple:
        while words_ and (words_[0] == "sudo" or re.fullmatch(r"[A-Z_][A-Z0-9_]*=.*", words_[0])):
            words_ = words_[1:]
        if words_:
            result.append(words_)
    return result


def examples(program: str) -> list[tuple[list[str], str, int]]:
    """(arguments, the whole line, page line) of every command of ``program`` in the page's ``$`` lines."""
    found = []
    for line, number in command_lines():
        for words in commands_of(line):
            if words[0] == program:
                found.append((words[1:], line, number))
    return found


def table_rows(text: str) -> list[list[str]]:
    """The cells of every Markdown table row in ``text`` (header and separator rows included)."""
    return [[c.strip() for c in line.strip().strip("|").split("|")] for line in text.splitlines()
            if line.strip().startswith("|")]


# ---------------------------------------------------------------------------------- the real parsers

class _Captured(Exception):
    def __init__(self, parser: argparse.ArgumentParser) -> None:
        super().__init__("parser captured")
        self.parser = parser


@pytest.fixture(scope="module")
def agent_parser() -> argparse.ArgumentParser:
    """``deskline-agent``'s parser, taken from ``agent.cli.main`` where it calls ``parse_args``."""

    def capture(self: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> argparse.Namespace:
        raise _Captured(self)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(argparse.ArgumentParser, "parse_args", capture)
        with pytest.raises(_Captured) as info:
            cli.main(["--help"])
    return info.value.parser


def subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def parse(parser: argparse.ArgumentParser, argv: list[str], where: str) -> argparse.Namespace:
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            return parser.parse_args(argv)
    except SystemExit:
        raise AssertionError(f"{where}: argparse refuses it: {err.getvalue().strip()}") from None


# ------------------------------------------------------------------------------------- the tests

def test_every_exit_code_is_in_the_table_with_its_number_and_code() -> None:
    rows = {}
    for cells in table_rows(section("Exit codes of a command")):
        if cells and cells[0].isdigit():
            code = cells[1].strip("`")
            rows[int(cells[0])] = (code, cells[2].strip("`"))
    expected = {int(e): (protocol.ERROR_CODES.get(e, "—"), e.name) for e in protocol.Exit}
    assert rows == expected


def test_the_agent_settings_table_matches_the_schema_and_the_default_file() -> None:
    rows = {}
    for cells in table_rows(section("The `[agent]` settings")):
        m = re.fullmatch(r"`agent\.([a-z_]+)`", cells[0])
        if m:
            rows[m.group(1)] = tomllib.loads(f"v = {cells[1].strip('`')}")["v"]
    schema = {s.key.removeprefix("agent."): s.default for s in config.SCHEMA if s.key.startswith("agent.")}
    assert rows == schema
    defaults = tomllib.loads((ROOT / "resources" / "deskline.toml").read_text(encoding="utf-8"))["agent"]
    assert rows == defaults


def _resolve(reference: str) -> Any:
    """``agent.protocol.MAX_STDIN``, ``agent.server.ServerConfig.stdin_timeout`` (a dataclass default) or
    ``agent.consent.UnattendedPolicy(duration_seconds)`` (a parameter's default)."""
    parameter = None
    m = re.fullmatch(r"(.+)\((\w+)\)", reference)
    if m:
        reference, parameter = m.group(1), m.group(2)
    parts = reference.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            value: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            value = getattr(value, name)
        break
    else:
        raise AssertionError(f"cannot import {reference}")
    if parameter is not None:
        return inspect.signature(value).parameters[parameter].default
    return value


def test_the_fixed_limits_are_the_codes() -> None:
    checked = 0
    for cells in table_rows(section("Limits")):
        m = re.fullmatch(r"`(agent\.[A-Za-z_.()]+)`", cells[-1])
        if not m:
            continue
        assert float(cells[1]) == float(_resolve(m.group(1))), f"limit {cells[0]!r}: {cells[1]} in the page"
        checked += 1
    assert checked >= 15
    # "max_sessions × max_channels (64 by default)"
    m = re.search(r"max_sessions × max_channels`\s*\((\d+) by default\)", TEXT)
    assert m is not None
    assert int(m.group(1)) == config.SCHEMA_BY_KEY["agent.max_sessions"].default * \
        config.SCHEMA_BY_KEY["agent.max_channels"].default


def test_the_protocol_version_and_the_channel_version() -> None:
    versions = {int(v) for v in re.findall(r'"protocol":\s*(\d+)', TEXT)}
    assert versions == {protocol.PROTOCOL_VERSION}
    assert f'`"protocol": {protocol.PROTOCOL_VERSION}` (`agent.protocol.PROTOCOL_VERSION`)' in section("Versions")
    assert {int(v) for v in re.findall(r'"v":\s*(\d+)', TEXT)} == {consent_channel.WIRE_VERSION}


def _audit_events() -> set[str]:
    events: set[str] = set()
    for path in (ROOT / "agent").glob("*.py"):
        events.update(re.findall(r"\baudit\(\s*\"([a-z_]+)\"", path.read_text(encoding="utf-8")))
    return events


def test_the_audit_table_lists_every_event_the_agent_writes() -> None:
    documented = {m.group(1) for cells in table_rows(section("The audit log"))
                  if (m := re.fullmatch(r"`([a-z_]+)`", cells[0]))}
    assert documented == _audit_events()


def _json_documents() -> Iterator[tuple[dict[str, Any], int]]:
    for block in code_blocks():
        if block.info != "json":
            continue
        try:
            yield json.loads(block.text), block.line
            continue
        except ValueError:
            pass
        for offset, line in enumerate(block.text.splitlines()):
            if line.strip():
                yield json.loads(line), block.line + 1 + offset


def test_every_json_example_is_a_valid_answer_record_or_channel_message() -> None:
    types, answers, records = set(), 0, 0
    events = _audit_events()
    for doc, line in _json_documents():
        where = f"docs/agent.md:{line}"
        if "v" in doc:
            consent_channel.validate(doc, consent_channel.FROM_AGENT | consent_channel.FROM_APP)
            types.add(doc["type"])
        elif "protocol" in doc:
            answers += 1
            assert doc["protocol"] == protocol.PROTOCOL_VERSION, where
            assert doc["command"] in (*protocol.COMMANDS, "", "unknown"), where
            assert doc["ok"] is (doc["exit"] == 0), where
            if doc["ok"]:
                assert "result" in doc and "error" not in doc, where
            else:
                assert doc["error"]["code"] == protocol.ERROR_CODES[protocol.Exit(doc["exit"])], where
        elif "event" in doc:
            records += 1
            assert doc["event"] in events, where
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", doc["time"]), where
        else:
            raise AssertionError(f"{where}: a JSON example of no known kind")
    assert types == consent_channel.FROM_AGENT | consent_channel.FROM_APP, "every channel message has an example"
    assert answers >= 4 and records >= 5


def test_one_line_answers_in_terminal_examples_are_answers() -> None:
    seen = 0
    for block in code_blocks():
        for line in block.text.splitlines():
            if not line.startswith('{"protocol"'):
                continue
            try:
                doc = json.loads(line)
            except ValueError:
                assert line.endswith("..."), f"a cut answer must end with '...': {line[:60]}"
                continue
            seen += 1
            assert doc["exit"] == 0 or doc["error"]["code"] == protocol.ERROR_CODES[protocol.Exit(doc["exit"])]
    assert seen >= 2


def test_authorized_keys_examples_parse_and_show_their_fingerprints() -> None:
    lines = [line for block in code_blocks() if block.info == "authorized_keys"
             for line in block.text.splitlines() if line.strip()]
    assert len(lines) >= 4
    for line in lines:
        key = authkeys.parse_line(line, "docs/agent.md")
        assert key is not None
        assert key.fingerprint in TEXT, f"the page should show the fingerprint of {key.comment!r}"


def test_toml_examples_are_valid_settings_or_policy() -> None:
    blocks = [b for b in code_blocks() if b.info == "toml"]
    assert blocks
    for block in blocks:
        if re.search(r"^\[(locked|defaults)\]", block.text, re.MULTILINE):
            policy = config.parse_policy(block.text, f"docs/agent.md:{block.line}")
            assert policy.defaults or policy.locked
        else:
            config.parse(block.text, f"docs/agent.md:{block.line}")


def test_inventory_examples_parse() -> None:
    for block in code_blocks():
        if block.info == "ini":
            inv = inventory.parse_ini(Path(f"docs/agent.md:{block.line}"), block.text)
        elif block.info == "yaml":
            inv = inventory.parse_yaml(Path(f"docs/agent.md:{block.line}"), block.text)
        else:
            continue
        assert inv.targets(default_port=console.AGENT_PORT)


def test_every_deskline_agent_example_parses_and_makes_sense(agent_parser: argparse.ArgumentParser) -> None:
    seen: set[str] = set()
    for argv, line, number in examples("deskline-agent"):
        where = f"docs/agent.md:{number}: {line}"
        args = parse(agent_parser, argv, where)
        seen.add(args.command)
        try:
            if args.command == "run":
                console.request_from(args.probe, args.report, args.check, args.ping, args.logs, args.since, args.arg)
                port = console.AGENT_PORT if args.mode == "agent" else inventory.DEFAULT_PORT
                for target in args.targets:
                    inventory.parse_target(target, default_port=port)
                if args.ticket is not None:
                    assert args.mode == "agent", where
                    protocol.parse_login(f"login+{args.ticket}")
                if args.attach is not None:
                    attach.check_ticket(args.attach)
            elif args.command == "serve":
                if args.listen:
                    server.parse_listen(args.listen)
                if args.via:
                    bastion.parse_via(args.via)
                assert all(fp.startswith("SHA256:") for fp in args.unattended), where
            elif args.command == "trust":
                inventory.parse_target(args.target)
                assert args.fingerprint is None or args.fingerprint.startswith("SHA256:"), where
            elif args.command == "probe":
                registry.select(list(args.names))
        except DesklineError as exc:
            raise AssertionError(f"{where}: {exc}") from None
    assert {"serve", "fingerprint", "run", "trust", "diff", "probe", "probes"} <= seen


def test_every_deskline_example_parses() -> None:
    parser = desktop_cli.build_parser()
    found = examples("deskline")
    assert found
    for argv, line, number in found:
        parse(parser, argv, f"docs/agent.md:{number}: {line}")


def _ssh_command(argv: list[str]) -> tuple[str, str]:
    """(destination, remote command) of an ``ssh`` command line."""
    i = 0
    while i < len(argv) and argv[i].startswith("-") and len(argv[i]) > 1:
        letters = argv[i][1:]
        for j, letter in enumerate(letters):
            if letter in SSH_ARGUMENT_OPTIONS:
                if j == len(letters) - 1:
                    i += 1  # the option's argument is the next word
                break
        i += 1
    assert i < len(argv), f"no destination in ssh {' '.join(argv)}"
    return argv[i], " ".join(argv[i + 1:])


def test_every_ssh_example_sends_a_valid_command() -> None:
    found = examples("ssh")
    assert len(found) >= 8
    for argv, line, number in found:
        where = f"docs/agent.md:{number}: {line}"
        destination, command = _ssh_command(argv)
        if "@" in destination:
            protocol.parse_login(destination.rsplit("@", 1)[0])
        if re.search(r"#\s*refused\s*$", line):
            if command:
                with pytest.raises(protocol.ProtocolError):
                    protocol.parse(command, registry.PROBES)
            continue
        assert command, f"{where}: no remote command (mark it '# refused' if that is the point)"
        try:
            parsed = protocol.parse(command, registry.PROBES)
        except protocol.ProtocolError as exc:
            raise AssertionError(f"{where}: {exc}") from None
        for words in commands_of(line):
            if words[0] == "echo" and len(words) == 2:  # JSON arguments piped in
                assert parsed.needs_stdin, where
                protocol.parse_arguments(words[1].encode("utf-8"))


def test_every_option_of_every_subcommand_is_documented(agent_parser: argparse.ArgumentParser) -> None:
    missing = []
    for name, sub in subparsers(agent_parser).items():
        if not re.search(rf"deskline-agent {name}\b", TEXT):
            missing.append(f"deskline-agent {name}")
        for action in sub._actions:
            for option in action.option_strings:
                if option.startswith("--") and option != "--help" and \
                        not re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", TEXT):
                    missing.append(f"deskline-agent {name} {option}")
    assert not missing


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = heading.strip().lower().replace("`", "")
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def test_links_inside_the_page_resolve() -> None:
    anchors = {_slug(m.group(1)) for m in re.finditer(r"^#+ (.*)$", TEXT, re.MULTILINE)}
    links = set(re.findall(r"\]\(#([^)]+)\)", TEXT))
    assert links
    assert links <= anchors, f"broken links: {sorted(links - anchors)}"


def test_no_paths_of_a_build_machine_and_the_readme_links_the_page() -> None:
    for bad in ("/work/", "/tmp/", "pytest-of-", ".venv"):
        assert bad not in TEXT
    assert "](docs/agent.md)" in (ROOT / "README.md").read_text(encoding="utf-8")
