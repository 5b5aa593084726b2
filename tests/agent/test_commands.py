"""agent.commands.execute: the one executor behind the server, the dispatcher and the payload."""

from __future__ import annotations

import json
import math
import re
import select
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.commands import accepted_arguments, check_arguments, execute
from agent.protocol import Exit, ProtocolError, parse
from agent.server import config_from_settings
from desktop import config
from desktop.diagnostics import registry, runner
from desktop.diagnostics.registry import PROBES
from desktop.errors import ConfigError
from tests.agent.test_server import Factory, client
from tests.agent.test_server import run as ssh_run

ROOT = Path(__file__).resolve().parents[2]


def test_disabled_probes_are_left_out_of_reports_and_refused_by_name() -> None:
    settings = {"disabled": ["software", "logs"]}
    doc = execute(parse("report", PROBES), probe_settings=settings)
    assert doc["ok"] is True
    assert "software" not in doc["result"]["probes"] and "cpu" in doc["result"]["probes"]
    refused = execute(parse("probe software", PROBES), probe_settings=settings)
    assert refused["exit"] == Exit.NOT_ALLOWED and "disabled" in refused["error"]["message"]
    logs = execute(parse("logs auto --since 1h", PROBES), probe_settings=settings)
    assert logs["exit"] == Exit.NOT_ALLOWED


def test_check_answers_findings_and_statuses() -> None:
    doc = execute(parse("check", PROBES), thresholds={"disk_free_percent_warning": 100.0,
                                                      "disk_free_percent_critical": 0.0})
    assert doc["ok"] is True
    assert any(f["id"] == "disk.almost_full" for f in doc["result"]["findings"])
    assert set(doc["result"]["probes"]) == set(PROBES)


# -- arguments on stdin: an allow-list declared by the probes ---------------------------------------------------

#: What an engineer may set, with its type and bounds, written out here independently of the probes'
#: declarations (the oracle of the tests below): (type, minimum, exclusive minimum, maximum, restricted).
EXPECTED = {
    "processes.top": ("integer", 1, False, 100, False),
    "processes.sample_seconds": ("number", 0, False, 2, False),
    "logs.window_hours": ("number", 0, True, 720, False),
    "logs.max_entries": ("integer", 1, False, 1000, False),
    "logs.max_bytes": ("integer", 1024, False, 1024 * 1024, False),
    "software.recent_days": ("number", 0, False, 365, False),
    "network.timeout": ("number", 0.1, False, 5, False),
    "network.check_host": ("string", None, False, None, True),
    "network.check_port": ("integer", 1, False, 65535, True),
}
#: Which probes declare each argument.
DECLARED_BY = {
    "processes.top": {"processes"}, "processes.sample_seconds": {"processes", "cpu"},
    "logs.window_hours": {"logs"}, "logs.max_entries": {"logs"}, "logs.max_bytes": {"logs"},
    "software.recent_days": {"software"}, "network.timeout": {"network"},
    "network.check_host": {"network"}, "network.check_port": {"network"},
}
#: Settings the probes (and the runner) read that no engineer may set, and why.
NOT_REMOTE = {
    "timeout": "the per-probe time limit: a longer one keeps a thread of the user's machine busy",
    "timeouts": "the same, per probe",
    "disabled": "IT's switch",
    "helpdesk_url": "a network destination, and the user's own helpdesk",
    "environment.variables": "which environment variables to read: secrets live there",
    "logs.source": "named by the logs command itself (logs journal), never by arguments",
}
RESTRICTED = ("network.check_host", "network.check_port")


def _probe(name: str) -> registry.ProbeInfo:
    return next(p for p in registry.probes() if p.name == name)


def _settings_read(module_file: str) -> set[str]:
    return set(re.findall(r'ctx\.setting\("([^"]+)"', Path(module_file).read_text(encoding="utf-8")))


def test_every_setting_a_probe_reads_is_declared_or_kept_local() -> None:
    """A new ``ctx.setting`` in a probe fails here until someone decides whether engineers may set it."""
    read: set[str] = set(_settings_read(runner.__file__))
    for probe in registry.probes():
        keys = _settings_read(probe.module.__file__)
        read |= keys
        declared = {a.key for a in probe.arguments}
        assert declared <= keys, f"{probe.name} declares arguments it never reads: {declared - keys}"
        assert keys <= declared | set(NOT_REMOTE), f"{probe.name} reads undecided settings: {keys - declared}"
    assert read == set(EXPECTED) | set(NOT_REMOTE) - {"disabled"}  # (the executor reads that one)


def test_declarations_match_the_expected_bounds_and_the_settings_schema() -> None:
    found: dict[str, set[str]] = {}
    for probe in registry.probes():
        for a in probe.arguments:
            found.setdefault(a.key, set()).add(probe.name)
            kind, low, exclusive, high, restricted = EXPECTED[a.key]
            assert (a.type, a.minimum, a.exclusive_minimum, a.maximum, a.restricted) == \
                (kind, low, exclusive, high, restricted), a.key
            # an engineer never reaches further than the machine's own settings file may
            schema = config.SCHEMA_BY_KEY[f"probes.{a.key}"]
            if schema.maximum is not None:
                assert a.maximum is not None and a.maximum <= schema.maximum, a.key
    assert found == DECLARED_BY
    # one key, one declaration: cpu and processes share the sampling interval
    assert _probe("cpu").arguments[0] == next(a for a in _probe("processes").arguments
                                              if a.key == "processes.sample_seconds")


def test_the_docs_table_lists_every_argument_as_declared() -> None:
    text = (ROOT / "docs" / "agent.md").read_text(encoding="utf-8")
    part = text[text.index("### Arguments on stdin"):text.index("### The answer document")]
    rows = {m.group(1): (set(re.findall(r"`([a-z]+)`", m.group(2))), m.group(3))
            for m in re.finditer(r"^\| `([a-z_.]+)` \| ([^|]+) \| ([^|]+) \|$", part, re.MULTILINE)}
    assert set(rows) == set(EXPECTED)
    for key, (probes, accepts) in rows.items():
        assert probes == DECLARED_BY[key], key
        argument = next(a for p in registry.probes() for a in p.arguments if a.key == key)
        words = accepts.strip().removeprefix("restricted: ")
        assert accepts.strip().startswith("restricted: ") == argument.restricted, key
        assert words.startswith(argument.accepts()), (key, argument.accepts())


def _probe_doc(names: str, arguments: dict[str, Any], remote: tuple[str, ...] = ()) -> dict[str, Any]:
    return execute(replace(parse(f"probe {names}", PROBES), arguments=arguments), remote_arguments=remote)


def test_accepted_arguments_take_effect() -> None:
    doc = _probe_doc("processes", {"processes.top": 3, "processes.sample_seconds": 0})
    assert doc["exit"] == 0, doc.get("error")
    data = doc["result"]["probes"]["processes"]["data"]
    assert data["total"] > 3, "the test needs more processes than it lists"
    assert 0 < len(data["top_memory"]) <= 3 and len(data["top_cpu"]) <= 3
    doc = _probe_doc("logs", {"logs.window_hours": 0.5, "logs.max_entries": 1, "logs.max_bytes": 1024})
    assert doc["exit"] == 0, doc.get("error")
    logs = doc["result"]["probes"]["logs"]
    if logs["status"] == "ok":  # (a container may have no log to read)
        assert logs["data"]["window_hours"] == 0.5 and len(logs["data"]["entries"]) <= 1


@pytest.mark.parametrize(
    ("names", "arguments", "message"),
    [
        ("processes", {"processes.top": 500}, "argument 'processes.top' must be a whole number from 1 to 100, not 500"),
        ("processes", {"processes.top": 0}, "argument 'processes.top' must be a whole number from 1 to 100, not 0"),
        ("processes", {"processes.top": True}, "must be a whole number from 1 to 100, not true"),
        ("processes", {"processes.top": 3.0}, "must be a whole number from 1 to 100, not 3.0"),
        ("processes", {"processes.top": "3"}, "must be a whole number from 1 to 100, not '3'"),
        ("processes", {"processes.top": None}, "must be a whole number from 1 to 100, not null"),
        ("processes", {"processes.sample_seconds": 4.5},
         "argument 'processes.sample_seconds' must be a number of seconds from 0 to 2, not 4.5"),
        ("processes", {"processes.sample_seconds": float("nan")}, "not nan"),
        ("logs", {"logs.window_hours": 0}, "must be a number of hours greater than 0 and at most 720, not 0"),
        ("logs", {"logs.max_entries": 10**400}, "not a number of 30 digits or more"),
        ("processes", {"timeout": 300},
         "argument 'timeout' is not accepted by probe processes (accepted: processes.top, processes.sample_seconds)"),
        ("processes", {"disabled": "processes"}, "argument 'disabled' is not accepted by probe processes"),
        ("network", {"helpdesk_url": "http://10.0.0.1/"},
         "argument 'helpdesk_url' is not accepted by probe network (accepted: network.timeout)"),
        ("environment", {"environment.variables": "AWS_SECRET_ACCESS_KEY"},
         "argument 'environment.variables' is not accepted by probe environment (accepted: none)"),
        ("memory", {"processes.top": 3}, "argument 'processes.top' is not accepted by probe memory (accepted: none)"),
        ("memory cpu", {"processes.top": 3},
         "argument 'processes.top' is not accepted by probes memory, cpu (accepted: processes.sample_seconds)"),
        ("network", {"network.check_host": "10.0.0.1"},
         "argument 'network.check_host' of probe network may be set remotely only where IT's settings allow it "
         "(agent.remote_arguments); accepted here: network.timeout"),
        ("network", {"network.check_port": 22}, "argument 'network.check_port' of probe network may be set remotely"),
    ],
)
def test_other_arguments_are_refused_naming_the_argument(names: str, arguments: dict[str, Any], message: str) -> None:
    doc = _probe_doc(names, arguments)
    assert doc["ok"] is False and doc["exit"] == Exit.BAD_ARGUMENTS
    assert doc["error"]["code"] == "bad_arguments" and message in doc["error"]["message"]


def test_report_and_check_take_no_arguments() -> None:
    for name in ("report", "check"):
        doc = execute(replace(parse(name, PROBES), arguments={"processes.top": 3}))
        assert doc["exit"] == Exit.BAD_ARGUMENTS
        assert doc["error"]["message"] == "argument 'processes.top' is not accepted by this command (accepted: none)"


@contextmanager
def listener() -> Iterator[socket.socket]:
    """A TCP port on loopback that counts who connects (the destination an engineer might aim at)."""
    with socket.create_server(("127.0.0.1", 0)) as sock:
        yield sock


def connected(sock: socket.socket, timeout: float) -> bool:
    ready, _, _ = select.select([sock], [], [], timeout)
    if ready:
        sock.accept()[0].close()
    return bool(ready)


def test_the_network_destination_needs_it_to_allow_it() -> None:
    with listener() as sock:
        port = sock.getsockname()[1]
        arguments = {"network.check_host": "127.0.0.1", "network.check_port": port}
        refused = _probe_doc("network", arguments)
        assert refused["exit"] == Exit.BAD_ARGUMENTS
        assert not connected(sock, 0), "a refused command reached the destination"
        only_host = _probe_doc("network", arguments, remote=("network.check_host",))
        assert only_host["exit"] == Exit.BAD_ARGUMENTS and "'network.check_port'" in only_host["error"]["message"]
        assert not connected(sock, 0)
        allowed = _probe_doc("network", arguments, remote=RESTRICTED)
        assert allowed["exit"] == 0, allowed.get("error")
        assert connected(sock, 10), "the allowed check never connected"
        checks = allowed["result"]["probes"]["network"]["data"]["checks"]
        assert [(c["role"], c["port"], c["tcp_ok"]) for c in checks if c["role"] == "check_host"] == \
            [("check_host", port, True)]


def test_probes_lists_each_probes_accepted_arguments() -> None:
    table = {p["name"]: p for p in execute(parse("probes", PROBES))["result"]}
    assert [a["name"] for a in table["processes"]["arguments"]] == ["processes.top", "processes.sample_seconds"]
    assert table["processes"]["arguments"][0] == {
        "name": "processes.top", "type": "integer", "unit": "", "doc": "How many processes to list by CPU and by "
        "memory", "accepts": "a whole number from 1 to 100", "restricted": False, "minimum": 1, "maximum": 100}
    assert table["logs"]["arguments"][0]["exclusiveMinimum"] == 0 and "minimum" not in table["logs"]["arguments"][0]
    assert [a["name"] for a in table["network"]["arguments"]] == ["network.timeout"]
    assert table["memory"]["arguments"] == []
    allowed = {p["name"]: p for p in execute(parse("probes", PROBES), remote_arguments=RESTRICTED)["result"]}
    network = {a["name"]: a for a in allowed["network"]["arguments"]}
    assert list(network) == ["network.timeout", *RESTRICTED]
    assert network["network.check_host"]["restricted"] is True and network["network.check_host"]["maxLength"] == 255
    listed = {a["name"] for p in allowed.values() for a in p["arguments"]}
    assert listed == set(EXPECTED)


# -- property-based: no argument object crashes the check, and nothing undeclared gets through --------------

_SCALARS = (st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=300))
#: Values at and around every bound, of every kind, so that most examples hold arguments that nearly pass.
_NEAR = st.sampled_from([0, 1, 2, 3, 100, 101, 720, 720.0001, 1000, 1001, 1023, 1024, 1048576, 1048577, 65535, 65536,
                         0.0, 0.09, 0.1, 0.5, 2.0, 2.01, 5, 5.001, 365, 366, -1, -0.0, 3.0, 1e-300, True, False,
                         None, "127.0.0.1", "https://intranet.example.org/health", "db:5432", "a b", "", "x" * 255,
                         "x" * 256, "\x00", "é", float("nan"), float("inf"), 10**40])
_VALUES = st.one_of(_NEAR, _NEAR, _NEAR, st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=3)
                                                      | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                                                      max_leaves=6))
_DECLARED = st.sampled_from(sorted(EXPECTED))
_KEYS = st.one_of(_DECLARED, _DECLARED, _DECLARED,
                  st.sampled_from(sorted([*NOT_REMOTE, "", "probes.processes.top", "processes.top ", "PROCESSES.TOP",
                                          "processes", "network.check_host\x00", "__class__"])),
                  st.text(max_size=30))
_PROBES = st.one_of(st.lists(st.sampled_from(PROBES), unique=True, max_size=5),
                    st.sampled_from([["network"], ["processes"], ["logs"], ["software"], ["cpu", "processes"],
                                     ["memory", "network"]]))
_REMOTE = st.lists(st.sampled_from([*RESTRICTED, "timeout", "processes.top", "network"]), max_size=3)


def oracle(names: list[str], arguments: dict[str, Any], remote: list[str]) -> bool:
    """Whether ``arguments`` should be accepted for ``probe NAMES``, from EXPECTED alone."""
    for key, value in arguments.items():
        if key not in EXPECTED or not DECLARED_BY[key] & set(names):
            return False
        kind, low, exclusive, high, restricted = EXPECTED[key]
        if restricted and key not in remote:
            return False
        if kind == "string":
            if not (isinstance(value, str) and 1 <= len(value) <= 255 and value.isprintable()
                    and not any(c.isspace() for c in value)):
                return False
            continue
        if isinstance(value, bool) or not isinstance(value, int if kind == "integer" else int | float):
            return False
        if isinstance(value, float) and not math.isfinite(value):
            return False
        if not ((value > low) if exclusive else (value >= low)) or value > high:
            return False
    return True


@settings(max_examples=1000, deadline=None)
@given(_PROBES, st.dictionaries(_KEYS, _VALUES, max_size=3), _REMOTE)
def test_check_arguments_accepts_exactly_what_is_declared(names: list[str], arguments: dict[str, Any],
                                                          remote: list[str]) -> None:
    probes = [_probe(n) for n in names]
    if not oracle(names, arguments, remote):
        with pytest.raises(ProtocolError) as refused:
            check_arguments(probes, arguments, remote)
        message = str(refused.value)
        assert refused.value.exit == Exit.BAD_ARGUMENTS
        assert message.startswith("argument ") and ("accepted" in message or "must be" in message), message
        return
    checked = check_arguments(probes, arguments, remote)
    assert checked == arguments
    assert set(checked) <= set(accepted_arguments(probes, remote))


@settings(max_examples=1500, deadline=None)
@given(_PROBES, _KEYS, _VALUES, _REMOTE)
def test_one_argument_is_accepted_exactly_when_declared(names: list[str], key: str, value: Any,
                                                        remote: list[str]) -> None:
    test_check_arguments_accepts_exactly_what_is_declared.hypothesis.inner_test(names, {key: value}, remote)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(_KEYS, _VALUES, max_size=3))
def test_execute_never_crashes_on_an_argument_object(arguments: dict[str, Any]) -> None:
    """The whole executor (a cheap probe that takes no arguments): either it runs, with no arguments, or
    it refuses with exit 2; never an internal error."""
    doc = execute(replace(parse("probe memory", PROBES), arguments=arguments))
    assert doc["exit"] == (0 if not arguments else Exit.BAD_ARGUMENTS), doc.get("error")


# -- the SSH agent: the same rules through the real server and a real paramiko client --------------------------


@pytest.fixture
def agents(tmp_path: Path) -> Iterator[Factory]:
    factory = Factory(tmp_path)
    yield factory
    factory.stop()


def test_the_ssh_agent_checks_arguments_with_its_settings(agents: Factory) -> None:
    plain = agents()
    with listener() as sock, client(plain) as c:
        port = sock.getsockname()[1]
        status, doc = ssh_run(c, "probe processes", stdin=b'{"processes.top": 3, "processes.sample_seconds": 0}')
        assert status == 0 and len(doc["result"]["probes"]["processes"]["data"]["top_memory"]) <= 3
        status, doc = ssh_run(c, "probe processes", stdin=b'{"processes.top": 3, "timeout": 300}')
        assert status == Exit.BAD_ARGUMENTS == doc["exit"] and doc["error"]["message"] == (
            "argument 'timeout' is not accepted by probe processes (accepted: processes.top, processes.sample_seconds)")
        stdin = json.dumps({"network.check_host": "127.0.0.1", "network.check_port": port}).encode()
        status, doc = ssh_run(c, "probe network", stdin=stdin)
        assert status == Exit.BAD_ARGUMENTS and "(agent.remote_arguments)" in doc["error"]["message"]
        assert not connected(sock, 0)
        status, doc = ssh_run(c, "probes")
        assert "network.check_host" not in {a["name"] for p in doc["result"] for a in p["arguments"]}
    assert [r["exit"] for r in plain.records("command")] == [0, 2, 2, 0]
    allowing = agents(remote_arguments=RESTRICTED)
    with listener() as sock, client(allowing) as c:
        stdin = json.dumps({"network.check_host": "127.0.0.1", "network.check_port": sock.getsockname()[1]}).encode()
        status, doc = ssh_run(c, "probe network", stdin=stdin)
        assert status == 0, doc.get("error")
        assert connected(sock, 10), "the allowed check never connected"
        status, doc = ssh_run(c, "probes")
        assert "network.check_host" in {a["name"] for p in doc["result"] for a in p["arguments"]}


def test_serve_takes_the_restricted_arguments_from_the_settings() -> None:
    assert config_from_settings(config.Settings()).remote_arguments == ()
    settings = config.parse('[agent]\nremote_arguments = ["network.check_host"]\n', "deskline.toml")
    assert config_from_settings(settings).remote_arguments == ("network.check_host",)
    with pytest.raises(ConfigError, match=r"deskline.toml:2: agent.remote_arguments: 'check_host' is not a probe"):
        config.parse('[agent]\nremote_arguments = ["check_host"]\n', "deskline.toml")


def test_logs_reads_the_source_the_command_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from desktop.diagnostics.probes import logs

    path = tmp_path / "syslog"
    stamp = (datetime.now(tz=UTC) - timedelta(minutes=5)).isoformat()
    path.write_text(f"{stamp} pc app[7]: disk failure\n", encoding="utf-8")
    monkeypatch.setattr(logs, "SYSLOG_FILES", (path,))
    monkeypatch.setattr(logs, "JOURNAL_DIRS", (tmp_path / "no-journal",))
    doc = execute(parse("logs syslog --since 1h", PROBES))
    assert doc["ok"] is True and doc["result"]["data"]["source"] == str(path)
    assert doc["result"]["data"]["total"] == 1
    # asked for the journal where there is none: the section says why, instead of answering from syslog
    journal = execute(parse("logs journal", PROBES))["result"]
    assert journal["status"] == "failed" and journal["data"] is None
    assert journal["error"].startswith("the journal cannot be read: no journal files")


def test_probes_answer_says_which_probes_it_switched_off() -> None:
    answer = execute(parse("probes", PROBES), probe_settings={"disabled": ["printers"]})
    table = {p["name"]: p for p in answer["result"]}
    assert set(table) == set(PROBES)  # a disabled probe is known, and refused by name as not allowed
    assert table["printers"]["disabled"] is True and table["memory"]["disabled"] is False
