"""The agentless payload: the engine as one script for ``python3 -I -``, run here by the system's Python."""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
from pathlib import Path

import pytest

from agent import payload
from agent.protocol import Exit

SYSTEM_PYTHON = "/usr/bin/python3"


def bare_venv(path: Path) -> None:
    """A Python without psutil (no system site-packages), as on a minimal server; skips without python3-venv."""
    done = subprocess.run([SYSTEM_PYTHON, "-m", "venv", "--without-pip", str(path)], capture_output=True, timeout=60)
    if done.returncode != 0:
        pytest.skip(f"cannot make a venv with {SYSTEM_PYTHON} (apt-get install python3-venv): {done.stderr[-200:]!r}")


def _version() -> tuple[int, int] | None:
    if not Path(SYSTEM_PYTHON).is_file():
        return None
    out = subprocess.run([SYSTEM_PYTHON, "-c", "import sys; print(*sys.version_info[:2])"], capture_output=True,
                         text=True, timeout=30).stdout.split()
    return (int(out[0]), int(out[1])) if out else None


pytestmark = pytest.mark.skipif((_version() or (0, 0)) < payload.MIN_PYTHON,
                                reason=f"needs {SYSTEM_PYTHON} 3.11 or newer (apt-get install python3)")


needs_psutil = pytest.mark.skipif(
    subprocess.run([SYSTEM_PYTHON, "-I", "-c", "import psutil"], capture_output=True).returncode != 0,
    reason=f"{SYSTEM_PYTHON} has no psutil (apt-get install python3-psutil)")


def run(tmp_path: Path, *command: str, arguments: dict[str, object] | None = None, python: str = SYSTEM_PYTHON,
        marker: str | None = None, config: Path | None = None) -> tuple[int, bytes, dict[str, object], str]:
    """Run the payload as the console does, in an empty folder with an empty HOME and TMPDIR (and the host's
    settings file ``config``, if given)."""
    marker = marker or payload.new_marker()
    work = tmp_path / "work"
    for sub in ("cwd", "home", "tmp"):
        (work / sub).mkdir(parents=True, exist_ok=True)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(work / "home"), "TMPDIR": str(work / "tmp")}
    if config is not None:
        env["DESKLINE_CONFIG"] = str(config)
    done = subprocess.run([python, "-I", "-", *command], input=payload.script(arguments, marker), capture_output=True,
                          env=env, cwd=work / "cwd", timeout=60)
    noise, answer = payload.split_answer(done.stdout, marker)
    assert answer.count(b"\n") == 1
    return done.returncode, noise, json.loads(answer), done.stderr.decode()


def test_ping_from_memory_leaves_no_files(tmp_path: Path) -> None:
    code, noise, doc, _ = run(tmp_path, "ping")
    assert code == 0 and noise == b""
    assert doc["ok"] is True and doc["result"]["agent"] == "deskline-agent"  # type: ignore[index]
    leftovers = [p for p in (tmp_path / "work").rglob("*") if p.is_file()]
    assert leftovers == []


def test_the_engine_is_not_installed_for_the_system_python() -> None:
    # What makes the other tests meaningful: the payload brings the engine, the host has none.
    done = subprocess.run([SYSTEM_PYTHON, "-I", "-c", "import desktop.diagnostics"], capture_output=True, timeout=30)
    assert done.returncode != 0


@needs_psutil
def test_probe_with_arguments(tmp_path: Path) -> None:
    code, _, doc, _ = run(tmp_path, "probe", "memory", "processes",
                          arguments={"processes.top": 1, "processes.sample_seconds": 0.05})
    assert code == 0
    report = doc["result"]
    assert report["format"] == "deskline-report" and report["collector"] == "agent"  # type: ignore[index]
    assert report["probes"]["memory"]["status"] == "ok"  # type: ignore[index]
    assert len(report["probes"]["processes"]["data"]["top_memory"]) == 1  # type: ignore[index]


@pytest.mark.parametrize(("command", "message"), [(("probe", "gpu"), "unknown probe 'gpu'"),
                                                  (("rm", "-rf"), "bad word '-rf'"), ((), "empty command")])
def test_bad_commands_are_refused(tmp_path: Path, command: tuple[str, ...], message: str) -> None:
    code, _, doc, _ = run(tmp_path, *command)
    assert code == Exit.BAD_ARGUMENTS == doc["exit"]
    assert message in doc["error"]["message"]  # type: ignore[index]


@pytest.mark.parametrize(("arguments", "message"), [
    ({"processes.top": {"nested": 1}}, "only simple values"),
    ({"processes.top": 101}, "argument 'processes.top' must be a whole number from 1 to 100, not 101"),
    ({"processes.top": 3, "disabled": "processes"},
     "argument 'disabled' is not accepted by probe processes (accepted: processes.top, processes.sample_seconds)"),
])
def test_bad_arguments_are_refused(tmp_path: Path, arguments: dict[str, object], message: str) -> None:
    code, _, doc, _ = run(tmp_path, "probe", "processes", arguments=arguments)
    assert code == Exit.BAD_ARGUMENTS == doc["exit"]
    assert message in doc["error"]["message"]  # type: ignore[index]


@needs_psutil
def test_the_network_destination_follows_the_hosts_settings(tmp_path: Path) -> None:
    """The bundled engine checks arguments as the agent does: the check host is refused unless the host's
    own settings (agent.remote_arguments) allow it."""
    config = tmp_path / "deskline.toml"
    config.write_text("", encoding="utf-8")
    with socket.create_server(("127.0.0.1", 0)) as sock:
        arguments: dict[str, object] = {"network.check_host": "127.0.0.1", "network.check_port": sock.getsockname()[1]}
        code, _, doc, _ = run(tmp_path, "probe", "network", arguments=arguments, config=config)
        assert code == Exit.BAD_ARGUMENTS
        assert "may be set remotely only where IT's settings allow it (agent.remote_arguments)" in \
            doc["error"]["message"]  # type: ignore[index]
        assert select.select([sock], [], [], 0)[0] == []
        config.write_text('[agent]\nremote_arguments = ["network.check_host", "network.check_port"]\n',
                          encoding="utf-8")
        code, _, doc, _ = run(tmp_path, "probe", "network", arguments=arguments, config=config)
        assert code == 0, doc.get("error")
        assert select.select([sock], [], [], 10)[0] == [sock], "the allowed check never connected"
        sock.accept()[0].close()


def test_python_without_psutil_disables_those_probes(tmp_path: Path) -> None:
    venv = tmp_path / "bare"
    bare_venv(venv)
    code, _, doc, stderr = run(tmp_path, "probe", "memory", python=str(venv / "bin" / "python3"))
    assert code == Exit.BAD_ARGUMENTS
    assert doc["error"]["message"] == ("probe 'memory' is disabled on this host: "  # type: ignore[index]
                                       "ModuleNotFoundError: No module named 'psutil'")
    assert "probe memory disabled" in stderr  # the registry's warning goes to stderr, never into the answer
    code, _, doc, _ = run(tmp_path, "ping", python=str(venv / "bin" / "python3"))
    assert code == 0


def test_too_old_python_gets_a_clear_refusal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(payload, "MIN_PYTHON", (99, 0))
    code, _, doc, _ = run(tmp_path, "ping")
    assert code == Exit.INTERNAL == doc["exit"]
    assert "the Deskline payload needs 99.0 or newer" in doc["error"]["message"]  # type: ignore[index]


def test_the_bundle_carries_the_engine_and_nothing_else() -> None:
    names = payload.module_names()
    assert {"desktop.diagnostics.report", "desktop.diagnostics.probes.cpu", "desktop.diagnostics.rules.storage",
            "agent.protocol", "agent.commands", "agent.dispatch"} <= set(names)
    assert all(n == "desktop" or n == "agent" or n.startswith(("desktop.diagnostics", "desktop.errors",
                                                                "desktop.config", "agent.")) for n in names)
    assert not {"agent.console", "agent.server", "desktop.diagnostics.render", "desktop.ui"} & set(names)
    size = len(payload.script())
    assert size < 300_000, f"the payload grew to {size} bytes"


def test_answer_is_found_after_shell_noise() -> None:
    marker = payload.new_marker()
    assert marker != payload.new_marker()
    stdout = b"Welcome!\n" + marker.encode() + b"\n{\"ok\": true}\n"
    assert payload.split_answer(stdout, marker) == (b"Welcome!\n", b"{\"ok\": true}\n")
    assert payload.split_answer(b"no marker here\n", marker) == (b"no marker here\n", b"")


def test_environment_variables_do_not_change_the_import_path(tmp_path: Path) -> None:
    # -I: PYTHONPATH and PYTHONSTARTUP are ignored, so nothing on the host can swap in other code.
    evil = tmp_path / "evil"
    (evil / "desktop").mkdir(parents=True)
    (evil / "desktop" / "__init__.py").write_text("raise SystemExit('evil desktop imported')\n")
    marker = payload.new_marker()
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(evil), "HOME": str(tmp_path)}
    done = subprocess.run([SYSTEM_PYTHON, "-I", "-", "ping"], input=payload.script(None, marker), capture_output=True,
                          env=env, cwd=evil, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(payload.split_answer(done.stdout, marker)[1])["ok"] is True
    assert os.environ.get("PYTHONPATH") != str(evil)


def test_arguments_that_look_like_placeholders_stay_data() -> None:
    script = payload.script({"x": "@BLOB@", "y": "@MARKER@ @TIMEOUT@"}).decode("utf-8")
    compile(script, "<payload>", "exec")  # still valid Python: nothing was substituted inside the arguments
    assert '"x": "@BLOB@"' in script
