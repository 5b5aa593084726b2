"""``deskline-agent probe`` and ``probes`` on the machine itself answer what the agent answers over SSH.

One machine, set up as IT would: a user settings file (``[probes]``, ``[thresholds]``,
``report.pseudonymize``) and a policy file that locks ``probes.disabled``. The real agent serves with
those settings (``config_from_settings`` of ``desktop.config.load``, as ``serve`` does) and a real
paramiko client asks it; the local command runs as a process with the same files. Both answers are
compared: exactly where nothing varies between two runs, field by field where measurements do.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from agent import hostkey
from agent.audit import AuditLog
from agent.authkeys import AuthorizedKeysFile
from agent.consent import DenyAll, UnattendedPolicy
from agent.protocol import Exit
from agent.server import AgentServer, config_from_settings
from desktop import config as desktop_config
from tests.agent.sshd import make_key
from tests.agent.test_server import Agent, client
from tests.agent.test_server import run as ssh_run

ROOT = Path(__file__).resolve().parents[2]

SETTINGS = """\
[probes]
timeout = 20.0

[probes.processes]
top = 3
sample_seconds = 0.05

[thresholds]
# always below: every machine has a memory.pressure finding
memory_available_percent = 100.0

[report]
pseudonymize = true
"""
POLICY = """\
reason = "test policy"

[locked]
"probes.disabled" = ["printers", "users"]
"""


@dataclass
class Machine:
    agent: Agent
    settings: Path
    env: dict[str, str]

    def local(self, *args: str) -> tuple[int, str, str]:
        """``deskline-agent ARGS --config SETTINGS`` as a process: (exit status, stdout, stderr)."""
        done = subprocess.run([sys.executable, "-m", "agent.cli", *args, "--config", str(self.settings)],
                              capture_output=True, text=True, env=self.env, cwd=ROOT, timeout=120)
        return done.returncode, done.stdout, done.stderr

    def answer(self, *args: str) -> tuple[int, dict[str, Any]]:
        """The local answer document; it must be one line of compact JSON, as on the wire."""
        status, out, _ = self.local(*args)
        assert out.endswith("\n") and out.count("\n") == 1, f"not one JSON line: {out[:300]!r}"
        doc = json.loads(out)
        assert out == json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n"
        return status, doc

    def remote(self, command: str) -> tuple[int, dict[str, Any]]:
        with client(self.agent) as c:
            return ssh_run(c, command, timeout=60)


@pytest.fixture
def machine(tmp_path: Path) -> Iterator[Machine]:
    settings_path = tmp_path / "deskline.toml"
    settings_path.write_text(SETTINGS)
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    env = {**os.environ, "DESKLINE_POLICY": str(policy), "HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    env.pop("DESKLINE_CONFIG", None)
    # what run_serve does with --config: load the settings (the policy applies), configure the server
    settings = desktop_config.load(settings_path, environ=env)
    assert settings["probes.disabled"] == ["printers", "users"]
    server_config = replace(config_from_settings(settings, "127.0.0.1:0"), warm_up=False, command_timeout=60.0)
    folder = tmp_path / "agent"
    folder.mkdir(mode=0o700)
    alice = make_key(folder / "alice", "Alice Engineer (L2)")
    authorized = folder / "authorized_keys"
    authorized.write_text(alice.public_line + "\n")
    authorized.chmod(0o600)
    key, _ = hostkey.load_or_create(folder / "host_key")
    audit = AuditLog(folder / "audit.jsonl")
    server = AgentServer(server_config, key, AuthorizedKeysFile(authorized), audit,
                         UnattendedPolicy([alice.fingerprint], DenyAll()))
    host, port = server.start()
    line = hostkey.public_line(key)
    known = folder / "known_hosts"
    known.write_text(f"[{host}]:{port} {line}\n")
    try:
        yield Machine(Agent(server, host, port, line, known, folder / "audit.jsonl", {"alice": alice}, folder),
                      settings_path, env)
    finally:
        server.stop()
        audit.close()


def _shape(doc: dict[str, Any]) -> dict[str, Any]:
    """What two answers of the same machine share: everything but measurements, ids and times."""
    result = doc["result"]
    return {
        "envelope": {k: v for k, v in doc.items() if k != "result"},
        "host": result["host"],
        "collector": result["collector"],
        "redaction": result["redaction"]["pseudonymized"],
        "probes": {name: (p["status"], sorted(p["data"] or {})) for name, p in result["probes"].items()},
        "findings": sorted(f["id"] for f in result["findings"] if f["id"] == "memory.pressure"),
    }


def test_local_probe_answers_as_the_agent_with_the_settings_and_policy(machine: Machine) -> None:
    status, remote = machine.remote("probe memory processes")
    local_status, local = machine.answer("probe", "memory", "processes")
    assert status == local_status == 0, local.get("error")
    assert _shape(local) == _shape(remote)
    result = local["result"]
    # [report] pseudonymize, [thresholds] and [probes.processes] of the settings file all took effect
    assert result["redaction"]["pseudonymized"] is True and result["host"].startswith("<host-")
    assert "memory.pressure" in [f["id"] for f in result["findings"]]
    assert 0 < len(result["probes"]["processes"]["data"]["top_memory"]) <= 3


def test_a_probe_the_policy_disabled_is_refused_with_exit_4_as_over_ssh(machine: Machine) -> None:
    status, remote = machine.remote("probe cpu printers")
    local_status, local = machine.answer("probe", "cpu", "printers")
    assert local == remote and status == local_status == Exit.NOT_ALLOWED
    assert local["error"]["message"] == "probe 'printers' is disabled on this machine"
    _, _, err = machine.local("probe", "printers")
    assert err == "deskline-agent probe: probe 'printers' is disabled on this machine\n"


def test_without_names_it_answers_the_report_without_the_disabled_probes(machine: Machine) -> None:
    status, remote = machine.remote("report")
    local_status, local = machine.answer("probe")
    assert status == local_status == 0
    assert local["command"] == "report"
    assert list(local["result"]["probes"]) == list(remote["result"]["probes"])
    assert "printers" not in local["result"]["probes"] and "users" not in local["result"]["probes"]
    assert "memory" in local["result"]["probes"]


def test_bad_input_is_the_agents_refusal(machine: Machine) -> None:
    for words in (["gpu"], ["cpu", "ls;"]):
        status, remote = machine.remote(" ".join(["probe", *words]))
        local_status, local = machine.answer("probe", *words)
        assert local == remote and status == local_status == Exit.BAD_ARGUMENTS


def test_probes_lists_what_the_agent_lists_and_marks_the_disabled(machine: Machine) -> None:
    _, remote = machine.remote("probes")
    status, local = machine.answer("probes", "--json")
    assert status == 0 and local == remote
    status, out, err = machine.local("probes")
    assert status == 0 and err == ""
    names = [p["name"] for p in remote["result"]]
    assert out.splitlines() == [f"{n}  (disabled)" if n in ("printers", "users") else n for n in names]


def test_broken_settings_exit_2_with_the_reason(machine: Machine, tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[probes]\ntimeout = 'soon'\n")
    for command in ("probe", "probes"):
        done = subprocess.run([sys.executable, "-m", "agent.cli", command, "--config", str(broken)],
                              capture_output=True, text=True, env=machine.env, cwd=ROOT, timeout=120)
        assert done.returncode == 2 and done.stdout == ""
        assert done.stderr.startswith(f"deskline-agent {command}: {broken}:"), done.stderr
