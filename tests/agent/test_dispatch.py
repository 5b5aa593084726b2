"""The forced-command dispatcher: SSH_ORIGINAL_COMMAND parsed strictly, arguments bounded, one answer."""

from __future__ import annotations

import io
import json
import os
import select
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent import dispatch
from agent.dispatch import NO_COMMAND, dispatch_main, execute_line, read_bounded
from agent.protocol import MAX_STDIN, Exit, ProtocolError

ROOT = Path(__file__).resolve().parents[2]


def run(command: str | None, stdin: bytes = b"") -> tuple[int, dict[str, object]]:
    environ = {} if command is None else {"SSH_ORIGINAL_COMMAND": command}
    out = io.BytesIO()
    code = dispatch_main(environ, io.BytesIO(stdin), out, timeout=0)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1, "exactly one JSON document, on one line"
    doc = json.loads(lines[0])
    assert doc["exit"] == code
    return code, doc


def test_ping() -> None:
    code, doc = run("ping")
    assert code == 0 and doc["ok"] is True and doc["result"]["agent"] == "deskline-agent"  # type: ignore[index]


@pytest.mark.parametrize("command", [None, "", "   "])
def test_no_command_is_refused(command: str | None) -> None:
    code, doc = run(command)
    assert code == Exit.BAD_ARGUMENTS
    assert doc["error"] == {"code": "bad_arguments", "message": NO_COMMAND}


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("bash", "unknown command 'bash'"),
        ("probe memory;id", "bad word"),
        ("probe $(id)", "bad word"),
        ("probe gpu", "unknown probe 'gpu'"),
        ("report now", "report takes no arguments"),
        ("logs journal --since 99d", "at most 30d"),
        ("probe " + "memory " * 100, "longer than"),
    ],
)
def test_bad_commands_are_refused(command: str, message: str) -> None:
    code, doc = run(command)
    assert code == Exit.BAD_ARGUMENTS
    assert doc["ok"] is False and message in doc["error"]["message"]  # type: ignore[index]


def test_arguments_on_stdin_reach_the_probe() -> None:
    code, doc = run("probe processes", json.dumps({"processes.top": 1, "processes.sample_seconds": 0.05}).encode())
    assert code == 0
    assert len(doc["result"]["probes"]["processes"]["data"]["top_memory"]) == 1  # type: ignore[index]


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        (b"[1, 2]", "must be a JSON object"),
        (b"{not json", "not JSON"),
        (b'{"processes.top": [1]}', "only simple values"),
        (b" " * (MAX_STDIN + 1), "longer than"),
        (b'{"processes.top": 101}', "argument 'processes.top' must be a whole number from 1 to 100, not 101"),
        (b'{"timeout": 60}', "argument 'timeout' is not accepted by probe processes (accepted: processes.top, "
                             "processes.sample_seconds)"),
        (b'{"network.check_host": "10.0.0.1"}', "argument 'network.check_host' is not accepted by probe processes"),
    ],
)
def test_bad_arguments_are_refused(stdin: bytes, message: str) -> None:
    code, doc = run("probe processes", stdin)
    assert code == Exit.BAD_ARGUMENTS
    assert message in doc["error"]["message"]  # type: ignore[index]


def test_commands_without_arguments_do_not_read_stdin() -> None:
    class Exploding(io.BytesIO):
        def read(self, *args: object) -> bytes:
            raise AssertionError("stdin read for a command that takes no arguments")

    out = io.BytesIO()
    assert dispatch_main({"SSH_ORIGINAL_COMMAND": "ping"}, Exploding(), out, timeout=0) == 0


def test_stdin_that_never_ends_is_cut_off() -> None:
    read_fd, write_fd = os.pipe()
    try:
        with os.fdopen(read_fd, "rb", buffering=0) as stream:
            os.write(write_fd, b'{"processes.top": 1}')  # and never closed
            start = time.monotonic()
            with pytest.raises(ProtocolError, match="no end of the arguments on stdin within 0.3 s"):
                read_bounded(stream, timeout=0.3)
            assert time.monotonic() - start < 3
    finally:
        os.close(write_fd)


def test_stdin_is_read_to_the_limit_only() -> None:
    read_fd, write_fd = os.pipe()
    with os.fdopen(read_fd, "rb", buffering=0) as stream:
        os.write(write_fd, b"x" * 2000)
        os.close(write_fd)
        assert read_bounded(stream, limit=100) == b"x" * 101  # one byte over: enough to see it is too long


def test_disabled_probes_are_reported_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    reason = "ModuleNotFoundError: No module named 'psutil'"
    monkeypatch.setattr(dispatch, "disabled_probes", lambda: {"cpu": reason})
    only = execute_line("probe cpu", lambda: b"")
    assert only["exit"] == Exit.BAD_ARGUMENTS
    assert only["error"]["message"] == f"probe 'cpu' is disabled on this host: {reason}"
    mixed = execute_line("probe cpu environment", lambda: b"")
    probes = mixed["result"]["probes"]
    assert probes["environment"]["status"] == "ok"
    assert probes["cpu"] == {"title": "Cpu", "status": "failed", "duration_ms": 0.0,
                             "error": f"disabled on this host: {reason}", "data": None}
    check = execute_line("check", lambda: b"")
    assert check["result"]["probes"]["cpu"] == "failed"
    assert list(check["result"]["probes"])[:3] == ["system", "cpu", "memory"]  # in report order


def _dispatcher(command: str, stdin: bytes, *extra: str, config: Path | None = None
                ) -> subprocess.CompletedProcess[bytes]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT), "SSH_ORIGINAL_COMMAND": command}
    if config is not None:
        env["DESKLINE_CONFIG"] = str(config)
    return subprocess.run([sys.executable, *extra], input=stdin, capture_output=True, env=env, timeout=60, cwd=ROOT)


def test_cli_dispatch_subcommand() -> None:
    done = _dispatcher("probe memory", b"", "-m", "agent.cli", "dispatch")
    doc = json.loads(done.stdout)
    assert done.returncode == 0 and doc["result"]["probes"]["memory"]["status"] == "ok"
    assert done.stdout.count(b"\n") == 1


def test_a_command_past_its_time_answers_timeout(tmp_path: Path) -> None:
    # the host's own settings make the probe slow: an engineer may not (processes.sample_seconds is at most 2)
    settings = tmp_path / "deskline.toml"
    settings.write_text("[probes.processes]\nsample_seconds = 4.5\n", encoding="utf-8")
    code = "import sys; from agent.dispatch import dispatch_main; sys.exit(dispatch_main(timeout=1))"
    start = time.monotonic()
    done = _dispatcher("probe processes", b"", "-c", code, config=settings)
    assert time.monotonic() - start < 4.5
    doc = json.loads(done.stdout)
    assert done.returncode == Exit.TIMEOUT == doc["exit"]
    assert doc["error"] == {"code": "timeout", "message": "probe did not finish within 1 s"}


def test_dispatcher_applies_this_hosts_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The forced command runs under the host's own settings: IT's disabled probes stay off."""
    settings = tmp_path / "deskline.toml"
    settings.write_text('[probes]\ndisabled = ["software"]\n', encoding="utf-8")
    monkeypatch.setenv("DESKLINE_CONFIG", str(settings))
    refused = execute_line("probe software", lambda: b"")
    assert refused["exit"] == 4 and "disabled" in refused["error"]["message"]
    settings.write_text("[probes]\ntimeout = 'soon'\n", encoding="utf-8")
    broken = execute_line("probe memory", lambda: b"")
    assert broken["exit"] == 70 and "settings are broken" in broken["error"]["message"]


def test_the_network_destination_follows_this_hosts_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Refused by default (exit 2, naming agent.remote_arguments); the host's own settings may allow it."""
    settings = tmp_path / "deskline.toml"
    settings.write_text("", encoding="utf-8")
    monkeypatch.setenv("DESKLINE_CONFIG", str(settings))
    with socket.create_server(("127.0.0.1", 0)) as sock:
        stdin = json.dumps({"network.check_host": "127.0.0.1", "network.check_port": sock.getsockname()[1]}).encode()
        code, doc = run("probe network", stdin)
        assert code == Exit.BAD_ARGUMENTS and doc["error"]["code"] == "bad_arguments"  # type: ignore[index]
        assert "argument 'network.check_host' of probe network may be set remotely only where IT's settings " \
               "allow it (agent.remote_arguments)" in doc["error"]["message"]  # type: ignore[index]
        assert select.select([sock], [], [], 0)[0] == []
        settings.write_text('[agent]\nremote_arguments = ["network.check_host", "network.check_port"]\n',
                            encoding="utf-8")
        code, doc = run("probe network", stdin)
        assert code == 0, doc.get("error")
        assert select.select([sock], [], [], 10)[0] == [sock], "the allowed check never connected"
        sock.accept()[0].close()


def test_a_settings_file_naming_no_probe_argument_is_broken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = tmp_path / "deskline.toml"
    settings.write_text('[agent]\nremote_arguments = ["everything"]\n', encoding="utf-8")
    monkeypatch.setenv("DESKLINE_CONFIG", str(settings))
    code, doc = run("probe memory")
    assert code == Exit.INTERNAL
    assert "agent.remote_arguments: 'everything' is not a probe argument" in doc["error"]["message"]  # type: ignore[index]


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=100) | st.dictionaries(
    st.sampled_from(["processes.top", "timeout", "disabled", "network.check_host", "environment.variables"])
    | st.text(max_size=10), st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    max_size=3).map(lambda d: json.dumps(d).encode()))
def test_any_stdin_runs_with_no_arguments_or_is_refused(stdin: bytes) -> None:
    """The dispatcher's whole path with a probe that accepts no argument: only an empty object (or nothing) runs."""
    document = execute_line("probe environment", lambda: stdin)
    try:
        no_arguments = not stdin.strip() or json.loads(stdin) == {}
    except ValueError:
        no_arguments = False
    assert document["exit"] == (0 if no_arguments else Exit.BAD_ARGUMENTS), document
