"""The engineer's console against real peers: OpenSSH's sshd on loopback (agentless: the forced-command
dispatcher and the payload to ``python3 -I -``) and the Deskline agent's own server.

Every sshd is started by the test in a temporary folder (tests/agent/sshd.py) and stopped in
teardown; the engineer's keys and known_hosts live in tmp_path; the console never reads the
machine's ~/.ssh (HOME points to tmp_path, no ssh-agent, no default keys).
"""

from __future__ import annotations

import io
import json
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from agent import console, output
from agent.cli import main
from agent.console import (
    Connection,
    HostResult,
    JumpHosts,
    PayloadRunner,
    ProtocolRunner,
    Request,
    SshOptions,
    Timeouts,
    run_fleet,
    run_host,
    trust,
)
from agent.inventory import Target, parse_jump
from agent.protocol import Exit
from tests.agent.sshd import KeyPair, Sshd, SshdFactory, fingerprint_of, free_port, make_key

ROOT = Path(__file__).resolve().parents[2]
SYSTEM_PYTHON = "/usr/bin/python3"


def bare_venv(path: Path) -> None:
    """A Python without psutil (no system site-packages), as on a minimal server; skips without python3-venv."""
    done = subprocess.run([SYSTEM_PYTHON, "-m", "venv", "--without-pip", str(path)], capture_output=True, timeout=60)
    if done.returncode != 0:
        pytest.skip(f"cannot make a venv with {SYSTEM_PYTHON} (apt-get install python3-venv): {done.stderr[-200:]!r}")


def _system_python(code: str) -> str | None:
    if not Path(SYSTEM_PYTHON).is_file():
        return None
    done = subprocess.run([SYSTEM_PYTHON, "-I", "-c", code], capture_output=True, text=True, timeout=30)
    return done.stdout.strip() if done.returncode == 0 else None


SYSTEM_VERSION = _system_python("import platform; print(platform.python_version())")
SYSTEM_HAS_PSUTIL = _system_python("import psutil") is not None
needs_system_python = pytest.mark.skipif(
    SYSTEM_VERSION is None or tuple(int(x) for x in SYSTEM_VERSION.split(".")[:2]) < (3, 11),
    reason=f"payload mode needs {SYSTEM_PYTHON} 3.11 or newer on the target (apt-get install python3)")
needs_system_psutil = pytest.mark.skipif(
    not SYSTEM_HAS_PSUTIL, reason=f"{SYSTEM_PYTHON} has no psutil (apt-get install python3-psutil)")


@pytest.fixture(autouse=True)
def _no_personal_ssh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The console must not see the machine's ~/.ssh or ssh-agent."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)


def dispatch_wrapper(folder: Path) -> Path:
    """What IT installs as the forced command: here, this checkout's dispatcher, with absolute paths."""
    script = folder / "deskline-dispatch"
    script.write_text(f"#!/bin/sh\nPYTHONPATH={ROOT} exec {sys.executable} -m agent.cli dispatch\n")
    script.chmod(0o755)
    return script


@dataclass
class Host:
    """One sshd and the engineer's keys for it: ``dispatch`` (forced command), ``shell`` (plain account)."""

    sshd: Sshd
    known_hosts: Path
    keys: dict[str, KeyPair]

    def target(self, name: str | None = None, host: str = "127.0.0.1") -> Target:
        return Target(name or f"root@{host}:{self.sshd.port}", host, self.sshd.port, "root")

    def options(self, key: str, **timeouts: float) -> SshOptions:
        t = {"connect": 3.0, "banner": 5.0, "auth": 5.0, "channel": 5.0, "command": 60.0, **timeouts}
        return SshOptions(key_files=(str(self.keys[key].path),), known_hosts=(self.known_hosts,),
                          user_known_hosts=False, look_for_keys=False, allow_agent=False, timeouts=Timeouts(**t))


def make_host(sshd_factory: SshdFactory, folder: Path, extra_config: tuple[str, ...] = ()) -> Host:
    folder.mkdir(parents=True, exist_ok=True)
    keys = {name: make_key(folder / name, f"{name} engineer") for name in
            ("dispatch", "shell", "sleeper", "broken", "stranger")}
    wrapper = dispatch_wrapper(folder)
    server = sshd_factory(authorized_keys=[
        f'restrict,command="{wrapper}" {keys["dispatch"].public_line}',
        keys["shell"].public_line,
        f'restrict,command="sleep 30" {keys["sleeper"].public_line}',
        f'restrict,command="/nonexistent/deskline-agent dispatch" {keys["broken"].public_line}',
    ], extra_config=extra_config)
    known = folder / "known_hosts"
    server.write_known_hosts(known)
    return Host(server, known, keys)


@pytest.fixture
def host(sshd_factory: SshdFactory, tmp_path: Path) -> Host:
    return make_host(sshd_factory, tmp_path / "h1")


# -- dispatch mode: plain OpenSSH with the forced-command dispatcher -------------------------------------------


def test_dispatch_mode_runs_a_probe(host: Host) -> None:
    result = run_host(host.target(), Request.make("probe memory"), ProtocolRunner("dispatch"), host.options("dispatch"))
    assert result.status == console.OK, result.error
    assert result.exit == 0 and result.mode == "dispatch"
    doc = result.document
    assert doc is not None and doc["command"] == "probe" and doc["protocol"] == 1
    report = doc["result"]
    assert report["collector"] == "agent" and list(report["probes"]) == ["memory"]
    assert report["probes"]["memory"]["status"] == "ok"
    assert report["probes"]["memory"]["data"]["total_bytes"] > 0
    assert "Accepted key ED25519 " + host.keys["dispatch"].fingerprint in host.sshd.log_text()


def test_dispatch_mode_sends_arguments_on_stdin(host: Host) -> None:
    request = Request.make("probe processes", {"processes.top": 2, "processes.sample_seconds": 0.05})
    result = run_host(host.target(), request, ProtocolRunner("dispatch"), host.options("dispatch"))
    assert result.ok, result.error
    data = result.document["result"]["probes"]["processes"]["data"]  # type: ignore[index]
    assert len(data["top_memory"]) == 2  # processes.top (the default is 10)


def test_dispatcher_never_reaches_a_shell(host: Host, tmp_path: Path) -> None:
    flag = tmp_path / "pwned"
    with Connection(host.target(), host.options("dispatch")) as conn:
        injected = conn.exec(f"probe memory; touch {flag}")
        unknown = conn.exec("id")
    for result, message in ((injected, "bad word"), (unknown, "unknown command 'id'")):
        doc = json.loads(result.stdout)
        assert result.exit_status == Exit.BAD_ARGUMENTS == doc["exit"]
        assert doc["ok"] is False and message in doc["error"]["message"]
    assert not flag.exists()


def test_stock_ssh_without_a_command_gets_a_refusal(host: Host) -> None:
    ssh = shutil.which("ssh")
    if ssh is None:
        pytest.skip("the OpenSSH client (ssh) is not installed: apt-get install openssh-client")
    done = subprocess.run(
        [ssh, "-F", "/dev/null", "-T", "-i", str(host.keys["dispatch"].path), "-o", "BatchMode=yes",
         "-o", "IdentitiesOnly=yes", "-o", f"UserKnownHostsFile={host.known_hosts}", "-o", "StrictHostKeyChecking=yes",
         "-p", str(host.sshd.port), "root@127.0.0.1"],
        stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    doc = json.loads(done.stdout)
    assert done.returncode == Exit.BAD_ARGUMENTS == doc["exit"]
    assert doc["error"]["message"].startswith("no command given")


def test_forced_command_that_is_missing_is_reported_with_its_exit_code(host: Host) -> None:
    result = run_host(host.target(), Request.make("ping"), ProtocolRunner("dispatch"), host.options("broken"))
    assert result.status == console.REFUSED
    assert result.exit == 127
    assert "no answer (exit 127)" in (result.error or "") and "nonexistent" in (result.error or "")


def test_command_timeout_ends_a_stuck_host(host: Host) -> None:
    start = time.monotonic()
    result = run_host(host.target(), Request.make("ping"), ProtocolRunner("dispatch"),
                      host.options("sleeper", command=1.0))
    assert result.status == console.TIMEOUT, result.error
    assert time.monotonic() - start < 10
    assert "no answer within" in (result.error or "")


# -- payload mode: the engine sent to python3 -I - through the account's shell ----------------------------------


@needs_system_python
@needs_system_psutil
def test_payload_mode_runs_on_the_hosts_own_python(host: Host) -> None:
    request = Request.make("probe memory processes", {"processes.top": 1, "processes.sample_seconds": 0.05})
    result = run_host(host.target(), request, PayloadRunner(SYSTEM_PYTHON), host.options("shell"))
    assert result.status == console.OK, result.error
    report = result.document["result"]  # type: ignore[index]
    assert report["app"]["python"] == SYSTEM_VERSION  # the host's python, not the console's
    assert report["probes"]["memory"]["status"] == "ok"
    assert len(report["probes"]["processes"]["data"]["top_memory"]) == 1


@needs_system_python
def test_payload_without_psutil_disables_those_probes_with_the_reason(host: Host, tmp_path: Path) -> None:
    venv = tmp_path / "bare-venv"  # a Python with no psutil, as on a minimal server
    bare_venv(venv)
    runner = PayloadRunner(str(venv / "bin" / "python3"))
    only = run_host(host.target(), Request.make("probe memory"), runner, host.options("shell"))
    assert only.status == console.FAILED and only.exit == Exit.BAD_ARGUMENTS
    assert ("probe 'memory' is disabled on this host: ModuleNotFoundError: No module named 'psutil'"
            in (only.error or ""))


@needs_system_python
def test_payload_without_psutil_runs_the_other_probes(host: Host, tmp_path: Path) -> None:
    venv = tmp_path / "bare-venv"
    bare_venv(venv)
    runner = PayloadRunner(str(venv / "bin" / "python3"))
    mixed = run_host(host.target(), Request.make("probe memory environment"), runner, host.options("shell"))
    assert mixed.ok, mixed.error
    probes = mixed.document["result"]["probes"]  # type: ignore[index]
    assert probes["environment"]["status"] == "ok"
    assert probes["memory"]["status"] == "failed"
    assert "No module named 'psutil'" in probes["memory"]["error"]
    # The table says so too.
    assert "memory: failed (disabled on this host" in output.key_figures(mixed)


@needs_system_python
def test_chatty_shell_does_not_corrupt_answers(host: Host) -> None:
    if not host.sshd.bashrc_covered:
        pytest.skip("the account has no ~/.bashrc for the test to cover with a chatty one")
    # What a ~/.bashrc that greets people does to every command sshd runs, forced commands included.
    host.sshd.bashrc.write_text("echo 'Welcome to the lab!'\necho '{\"not\": \"the answer\"}'\n")
    h = host
    with Connection(h.target(), h.options("shell")) as conn:
        assert conn.exec("true").stdout.startswith(b"Welcome to the lab!")  # the noise is real
    for runner, key in ((PayloadRunner(SYSTEM_PYTHON), "shell"), (ProtocolRunner("dispatch"), "dispatch")):
        result = run_host(h.target(), Request.make("ping"), runner, h.options(key))
        assert result.ok, result.error
        assert result.document["result"]["agent"] == "deskline-agent"  # type: ignore[index]


# -- host keys, authentication, reachability --------------------------------------------------------------------


def test_unknown_host_key_is_refused_with_its_fingerprint_then_trusted_on_purpose(host: Host, tmp_path: Path) -> None:
    known = tmp_path / "engineer_known_hosts"
    known.write_text("")
    options = SshOptions(key_files=(str(host.keys["dispatch"].path),), known_hosts=(known,), user_known_hosts=False,
                         look_for_keys=False, allow_agent=False)
    target = host.target()
    refused = run_host(target, Request.make("ping"), ProtocolRunner("dispatch"), options)
    assert refused.status == console.HOST_KEY_UNKNOWN
    fp = host.sshd.fingerprint
    assert f"ssh-ed25519 {fp}" in (refused.error or "")
    assert f"deskline-agent trust 127.0.0.1:{host.sshd.port} --fingerprint {fp}" in (refused.error or "")
    assert "Accepted key" not in host.sshd.log_text()  # refused before authenticating

    wrong = fingerprint_of(make_key(tmp_path / "other").public_line)
    with pytest.raises(console.HostKeyUnknown, match="not the expected"):
        trust(target, known, wrong)
    with pytest.raises(console.HostKeyUnknown, match="not trusted"):
        trust(target, known, None, confirm=lambda message: False)
    assert known.read_text() == ""

    assert trust(target, known, fp) == fp
    assert known.read_text() == f"{host.sshd.known_hosts_line}\n"
    assert trust(target, known, fp) == fp  # trusting again adds nothing
    assert known.read_text().count("\n") == 1
    trusted = run_host(target, Request.make("ping"), ProtocolRunner("dispatch"), options)
    assert trusted.ok, trusted.error


def test_trust_command_line(host: Host, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    known = tmp_path / "home" / ".ssh" / "known_hosts"  # HOME is tmp_path/home: the default file
    where = f"127.0.0.1:{host.sshd.port}"
    assert main(["trust", where]) == 1  # no fingerprint and no terminal to ask: not trusted
    assert "not trusted" in capsys.readouterr().err
    assert main(["trust", where, "--fingerprint", host.sshd.fingerprint]) == 0
    assert host.sshd.fingerprint in capsys.readouterr().out
    assert known.read_text() == f"{host.sshd.known_hosts_line}\n"
    assert (known.parent.stat().st_mode & 0o777) == 0o700


def test_changed_host_key_is_refused_loudly(host: Host, tmp_path: Path) -> None:
    impostor = make_key(tmp_path / "impostor")
    known = tmp_path / "changed_known_hosts"
    known.write_text(f"{host.sshd.known_hosts_name} {' '.join(impostor.public_line.split()[:2])}\n")
    options = SshOptions(key_files=(str(host.keys["dispatch"].path),), known_hosts=(known,), user_known_hosts=False,
                         look_for_keys=False, allow_agent=False)
    result = run_host(host.target(), Request.make("ping"), ProtocolRunner("dispatch"), options)
    assert result.status == console.HOST_KEY_CHANGED
    assert "HOST KEY CHANGED" in (result.error or "")
    assert impostor.fingerprint in (result.error or "") and host.sshd.fingerprint in (result.error or "")


def test_wrong_key_fails_authentication(host: Host) -> None:
    result = run_host(host.target(), Request.make("ping"), ProtocolRunner("dispatch"), host.options("stranger"))
    assert result.status == console.AUTH_FAILED
    assert "none of our keys was accepted for root" in (result.error or "")


def test_unreachable_port() -> None:
    target = Target("nobody-home", "127.0.0.1", free_port(), "root")
    result = run_host(target, Request.make("ping"), ProtocolRunner("dispatch"),
                      SshOptions(user_known_hosts=False, look_for_keys=False, allow_agent=False))
    assert result.status == console.UNREACHABLE
    assert "connection refused" in (result.error or "")


def test_silent_server_times_out_at_the_banner() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    thread = threading.Thread(target=lambda: accepted.append(listener.accept()[0]), daemon=True)
    thread.start()
    try:
        target = Target("silent", "127.0.0.1", listener.getsockname()[1], "root")
        start = time.monotonic()
        result = run_host(target, Request.make("ping"), ProtocolRunner("agent"),
                          SshOptions(user_known_hosts=False, look_for_keys=False, allow_agent=False,
                                     timeouts=Timeouts(banner=1.0)))
        assert result.status == console.TIMEOUT, result.error
        assert time.monotonic() - start < 5
    finally:
        listener.close()
        thread.join(5)
        for s in accepted:
            s.close()


def test_bad_requests_are_refused_before_connecting() -> None:
    with pytest.raises(console.UsageError, match="unknown probe 'gpu'"):
        Request.make("probe gpu")
    with pytest.raises(console.UsageError, match="bad word"):
        Request.make("probe memory;id")
    with pytest.raises(console.UsageError, match="takes no arguments"):
        Request.make("ping", {"x": 1})
    with pytest.raises(console.UsageError, match="absolute path"):
        PayloadRunner("python3")


# -- fleets -----------------------------------------------------------------------------------------------------


@pytest.fixture
def fleet(sshd_factory: SshdFactory, tmp_path: Path) -> tuple[list[Target], SshOptions, Path]:
    """Two sshds, one of them also under a second name, and a host that is down."""
    a = make_host(sshd_factory, tmp_path / "a")
    b_folder = tmp_path / "b"
    b_folder.mkdir()
    b = sshd_factory(authorized_keys=[f'restrict,command="{dispatch_wrapper(b_folder)}" '
                                      f'{a.keys["dispatch"].public_line}'])
    known = tmp_path / "fleet_known_hosts"
    known.write_text(a.known_hosts.read_text() + b.known_hosts_line + "\n"
                     + f"[localhost]:{a.sshd.port} {a.sshd.host_key_line}\n")
    down = free_port()
    targets = [a.target("alpha"), Target("bravo", "127.0.0.1", b.port, "root"),
               Target("down", "127.0.0.1", down, "root"), Target("alpha-by-name", "localhost", a.sshd.port, "root")]
    options = SshOptions(key_files=(str(a.keys["dispatch"].path),), known_hosts=(known,), user_known_hosts=False,
                         look_for_keys=False, allow_agent=False)
    return targets, options, known


def test_fleet_run_reports_each_host_and_never_stops_at_one(fleet: tuple[list[Target], SshOptions, Path]) -> None:
    targets, options, _ = fleet
    seen: list[tuple[str, int, int]] = []
    results = run_fleet(targets, Request.make("probe memory"), ProtocolRunner("dispatch"), options, parallel=3,
                        progress=lambda r, done, total: seen.append((r.target.name, done, total)))
    assert [r.target.name for r in results] == ["alpha", "bravo", "down", "alpha-by-name"]
    assert [r.status for r in results] == ["ok", "ok", "unreachable", "ok"]
    assert sorted(d for _, d, _ in seen) == [1, 2, 3, 4] and {t for _, _, t in seen} == {4}
    for r in results:
        if r.ok:
            assert r.document["result"]["probes"]["memory"]["status"] == "ok"  # type: ignore[index]

    table = output.to_table(results, width=160)
    lines = table.splitlines()
    assert lines[0].split() == ["HOST", "STATUS", "TIME", "DETAILS"]
    assert lines[1].startswith("alpha ") and " ok " in lines[1] and "memory: used" in lines[1]
    assert "down" in lines[3] and "unreachable" in lines[3] and "connection refused" in lines[3]
    assert lines[-1] == "4 hosts: 3 ok, 1 unreachable"

    records = [json.loads(line) for line in output.to_jsonl(results).splitlines()]
    assert [(r["host"], r["status"], r["ok"]) for r in records] == [
        ("alpha", "ok", True), ("bravo", "ok", True), ("down", "unreachable", False), ("alpha-by-name", "ok", True)]
    assert records[0]["answer"]["result"]["probes"]["memory"]["status"] == "ok"
    assert records[2]["answer"] is None and "connection refused" in records[2]["error"]
    assert all(r["duration_ms"] > 0 for r in records)

    page = output.to_html(results, "Deskline: probe memory")
    assert page.count('<section class="host"') == 4
    assert '<h3 id="host-0-probe-memory">' in page and "connection refused" in page
    assert "<script" not in page


def test_fleet_cli_exit_codes_and_output_file(fleet: tuple[list[Target], SshOptions, Path], tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    targets, options, known = fleet
    alpha, bravo, down = targets[0], targets[1], targets[2]
    inventory = tmp_path / "hosts.ini"
    inventory.write_text(f"[lab]\nalpha ansible_host=127.0.0.1 ansible_port={alpha.port}\n"
                         f"bravo ansible_host=127.0.0.1 ansible_port={bravo.port}\n"
                         f"[broken]\ndown ansible_host=127.0.0.1 ansible_port={down.port}\n"
                         "[all:vars]\nansible_user=root\n")
    common = ["--mode", "dispatch", "-i", options.key_files[0], "--known-hosts", str(known), "--ping",
              "--inventory", str(inventory), "--no-progress"]
    out_file = tmp_path / "run.jsonl"
    assert main(["run", *common, "--limit", "lab", "--format", "jsonl", "-o", str(out_file)]) == 0
    assert [json.loads(x)["host"] for x in out_file.read_text().splitlines()] == ["alpha", "bravo"]
    assert "2 hosts: 2 ok" in capsys.readouterr().err
    assert main(["run", *common]) == 1
    out = capsys.readouterr().out
    assert "3 hosts: 2 ok, 1 unreachable" in out
    assert main(["run", *common, "--limit", "nosuchgroup"]) == 2
    assert "--limit 'nosuchgroup' matches no group" in capsys.readouterr().err
    assert main(["run", "somehost", "--probe", "gpu"]) == 2
    assert "unknown probe 'gpu'" in capsys.readouterr().err


def test_progress_bar_only_draws_when_asked() -> None:
    stream = io.StringIO()
    bar = output.ProgressBar(stream=stream, enabled=True, width=10)
    t = Target("web01", "127.0.0.1")
    bar(HostResult(t, "agent", "unreachable", 1.0, error="web01: down"), 1, 2)
    assert "[#####.....] 1/2 hosts  1 not ok" in stream.getvalue()
    bar(HostResult(t, "agent", "ok", 1.0), 2, 2)
    assert "[##########] 2/2 hosts  1 not ok" in stream.getvalue()
    quiet = io.StringIO()
    output.ProgressBar(stream=quiet)(HostResult(t, "agent", "ok", 1.0), 1, 1)  # not a terminal: nothing drawn
    assert quiet.getvalue() == ""


# -- agent mode: the Deskline agent's own SSH server ------------------------------------------------------------


@dataclass
class RunningAgent:
    server: object
    port: int
    known_hosts: Path
    key: KeyPair
    bob: KeyPair
    audit: Path


@pytest.fixture
def deskline_agent(tmp_path: Path) -> Iterator[RunningAgent]:
    server_mod = pytest.importorskip("agent.server", reason="the agent's server (agent/server.py) is not there yet")
    from agent import hostkey
    from agent.audit import AuditLog
    from agent.authkeys import AuthorizedKeysFile
    from agent.consent import DenyAll, UnattendedPolicy

    folder = tmp_path / "agent"
    folder.mkdir()
    alice = make_key(folder / "alice", "Alice Engineer")
    bob = make_key(folder / "bob", "Bob Engineer")
    authorized = folder / "authorized_keys"
    authorized.write_text(f"{alice.public_line}\n{bob.public_line}\n")
    key, _ = hostkey.load_or_create(folder / "host_key")
    audit = AuditLog(folder / "audit.jsonl")
    gate = UnattendedPolicy([alice.fingerprint], DenyAll())  # alice runs unattended; anyone else: no consent
    server = server_mod.AgentServer(server_mod.ServerConfig(host="127.0.0.1", port=0, command_timeout=20.0),
                                    key, AuthorizedKeysFile(authorized), audit, gate)
    _, port = server.start()
    known = folder / "known_hosts"
    known.write_text(f"[127.0.0.1]:{port} {hostkey.public_line(key)}\n")
    try:
        yield RunningAgent(server, port, known, alice, bob, folder / "audit.jsonl")
    finally:
        server.stop()
        audit.close()


def _agent_options(agent: RunningAgent, key: KeyPair, ticket: str | None = None) -> SshOptions:
    return SshOptions(key_files=(str(key.path),), known_hosts=(agent.known_hosts,), user_known_hosts=False,
                      look_for_keys=False, allow_agent=False, ticket=ticket)


def test_agent_mode_probe_with_ticket(deskline_agent: RunningAgent) -> None:
    target = Target("laptop-anna", "127.0.0.1", deskline_agent.port, "engineer")
    result = run_host(target, Request.make("probe memory"), ProtocolRunner("agent"),
                      _agent_options(deskline_agent, deskline_agent.key, ticket="DL-000123"))
    assert result.ok, result.error
    assert result.document["result"]["probes"]["memory"]["status"] == "ok"  # type: ignore[index]
    records = [json.loads(line) for line in deskline_agent.audit.read_text().splitlines()]
    assert any("DL-000123" in json.dumps(r) for r in records)


def test_agent_mode_fleet_mixed_with_refusals(deskline_agent: RunningAgent, tmp_path: Path) -> None:
    other = make_key(tmp_path / "bob-elsewhere")
    good = Target("agent-ok", "127.0.0.1", deskline_agent.port, "engineer")
    results = run_fleet([good, Target("agent-down", "127.0.0.1", free_port(), "engineer")], Request.make("check"),
                        ProtocolRunner("agent"), _agent_options(deskline_agent, deskline_agent.key), parallel=2)
    assert [r.status for r in results] == ["ok", "unreachable"]
    assert "findings" in results[0].document["result"]  # type: ignore[index]
    stranger = run_host(good, Request.make("ping"), ProtocolRunner("agent"), _agent_options(deskline_agent, other))
    assert stranger.status == console.AUTH_FAILED


def test_agent_mode_consent_refusal_is_a_failed_host(deskline_agent: RunningAgent) -> None:
    target = Target("laptop-anna", "127.0.0.1", deskline_agent.port, "engineer")
    result = run_host(target, Request.make("probe memory"), ProtocolRunner("agent"),
                      _agent_options(deskline_agent, deskline_agent.bob))
    assert result.status == console.FAILED
    assert result.exit == Exit.CONSENT_REQUIRED
    assert "consent_required" in (result.error or "")
    assert "refused by host (3)" in output.to_table([result])


def test_agent_mode_command_line_to_an_html_page(deskline_agent: RunningAgent, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "run.html"
    common = ["-i", str(deskline_agent.key.path), "--known-hosts", str(deskline_agent.known_hosts), "--no-progress"]
    assert main(["run", f"engineer@127.0.0.1:{deskline_agent.port}", "--probe", "memory", "--ticket", "DL-7",
                 "--format", "html", "-o", str(page), *common]) == 0
    assert "1 host: 1 ok" in capsys.readouterr().err
    html = page.read_text()
    assert '<h3 id="host-0-probe-memory">' in html and "Deskline: probe memory on 1 hosts" in html
    assert main(["run", "127.0.0.1", "--ping", "--mode", "dispatch", "--ticket", "DL-7", *common]) == 2
    assert "--ticket is for agent mode" in capsys.readouterr().err


def test_attach_posts_the_results_to_the_ticket(deskline_agent: RunningAgent, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """--attach TICKET: the run's table as a comment and its JSON lines and HTML page as files, on the
    ticket of the engineer's helpdesk (here the local store of the settings given)."""
    from desktop.connectors.base import Submission
    from desktop.connectors.local import LocalStore

    store_dir = tmp_path / "store"
    settings = tmp_path / "deskline.toml"
    settings.write_text(f'[helpdesk]\nbackend = "local"\n[outbox]\npath = "{store_dir}"\n', encoding="utf-8")
    store = LocalStore(store_dir)
    ticket = store.create(Submission("0f0e", "Laptop is slow", "Since Monday."))
    common = ["-i", str(deskline_agent.key.path), "--known-hosts", str(deskline_agent.known_hosts), "--no-progress"]
    assert main(["run", f"engineer@127.0.0.1:{deskline_agent.port}", "--probe", "memory",
                 "--attach", ticket.ticket_id, "--config", str(settings), *common]) == 0
    assert f"results attached to ticket {ticket.ticket_id} (local)" in capsys.readouterr().err
    (comment,) = store.comments(ticket.ticket_id)
    assert comment.startswith("Remote diagnostics: deskline-agent run probe memory")
    assert "1 host: 1 ok" in comment
    names = [row[0] for row in store.conn.execute("SELECT name FROM local_files WHERE ticket_id = ?",
                                                  (ticket.ticket_id,))]
    assert sorted(n.rsplit(".", 1)[1] for n in names) == ["html", "jsonl"]
    # an unknown ticket: the run's own result stands, the attach failure is said and makes exit 1
    assert main(["run", f"engineer@127.0.0.1:{deskline_agent.port}", "--ping", "--attach", "DL-999999",
                 "--config", str(settings), *common]) == 1
    assert "were not attached to DL-999999: DL-999999 is not in the local store" in capsys.readouterr().err
    assert main(["run", "127.0.0.1", "--ping", "--attach", "no way!", *common]) == 2


def test_known_hosts_parsed_once_and_again_when_changed(tmp_path: Path) -> None:
    from agent import hostkey

    first, _ = hostkey.load_or_create(tmp_path / "k1")
    second, _ = hostkey.load_or_create(tmp_path / "k2")
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:2201 {hostkey.public_line(first)}\n")
    paths = [tmp_path / "missing", known]
    keys = console.known_host_keys(paths)
    assert console.known_host_keys(paths) is keys  # unchanged files: the same parsed keys
    assert keys.lookup("[127.0.0.1]:2201") is not None and keys.lookup("[127.0.0.1]:2202") is None
    with known.open("a") as fh:  # a host trusted since: read again
        fh.write(f"[127.0.0.1]:2202 {hostkey.public_line(second)}\n")
    again = console.known_host_keys(paths)
    assert again is not keys
    entry = again.lookup("[127.0.0.1]:2202")
    assert entry is not None and entry[second.get_name()] == second


# -- jump hosts: the agent behind a real OpenSSH bastion ---------------------------------------------------------


@dataclass
class JumpLab:
    """A Deskline agent on loopback and a real OpenSSH sshd as the bastion in front of it; the engineer's
    key (alice's) may log in to both, and ``known_hosts`` holds both host keys."""

    agent: RunningAgent
    bastion: Sshd
    known_hosts: Path

    @property
    def jump(self) -> str:
        return f"root@127.0.0.1:{self.bastion.port}"

    def target(self, name: str = "laptop-anna", port: int | None = None) -> Target:
        return Target(name, "127.0.0.1", self.agent.port if port is None else port, "engineer")

    def options(self, jump: str | None = None, **changes: object) -> SshOptions:
        base = SshOptions(key_files=(str(self.agent.key.path),), known_hosts=(self.known_hosts,),
                          user_known_hosts=False, look_for_keys=False, allow_agent=False,
                          jump=parse_jump(jump or self.jump))
        return replace(base, **changes)  # type: ignore[arg-type]

    def bastion_logins(self) -> int:
        return self.bastion.log_text().count(f"Accepted key ED25519 {self.agent.key.fingerprint}")


def make_jump_lab(agent: RunningAgent, sshd_factory: SshdFactory, folder: Path,
                  extra_config: tuple[str, ...] = (), authorized: bool = True) -> JumpLab:
    bastion = sshd_factory(authorized_keys=[agent.key.public_line] if authorized else [], extra_config=extra_config)
    folder.mkdir(parents=True, exist_ok=True)
    known = folder / "jump_known_hosts"
    known.write_text(agent.known_hosts.read_text() + bastion.known_hosts_line + "\n")
    return JumpLab(agent, bastion, known)


@pytest.fixture
def jump_lab(deskline_agent: RunningAgent, sshd_factory: SshdFactory, tmp_path: Path) -> JumpLab:
    return make_jump_lab(deskline_agent, sshd_factory, tmp_path)


def test_jump_reaches_the_agent_through_the_bastion(jump_lab: JumpLab) -> None:
    result = run_host(jump_lab.target(), Request.make("probe memory"), ProtocolRunner("agent"),
                      jump_lab.options(ticket="DL-42"))
    assert result.ok, result.error
    assert result.document["result"]["probes"]["memory"]["status"] == "ok"  # type: ignore[index]
    assert jump_lab.bastion_logins() == 1  # the engineer logged in to the bastion ...
    log_text = jump_lab.bastion.log_text()
    # ... and asked it for a connection to the agent, which the agent then served itself
    assert "DL-42" in jump_lab.agent.audit.read_text()
    assert "Starting session" not in log_text  # no shell or command ran on the bastion


def test_a_fleet_behind_one_bastion_shares_one_connection(jump_lab: JumpLab) -> None:
    pool = JumpHosts()
    targets = [jump_lab.target(f"pc-{i}") for i in range(6)]
    results = run_fleet(targets, Request.make("ping"), ProtocolRunner("agent"),
                        jump_lab.options(jump_hosts=pool), parallel=6)
    pool.close()
    assert [r.status for r in results] == ["ok"] * 6, [r.error for r in results]
    assert pool.connections == 1 and jump_lab.bastion_logins() == 1


def test_jump_connections_carry_several_channels_beyond_max_sessions(
        deskline_agent: RunningAgent, sshd_factory: SshdFactory, tmp_path: Path) -> None:
    """OpenSSH counts only sessions against MaxSessions, not direct-tcpip channels: with MaxSessions 1,
    7 channels held open at once ride on ceil(7 / 3) = 3 connections of 3 channels at most."""
    lab = make_jump_lab(deskline_agent, sshd_factory, tmp_path, extra_config=("Match all", "MaxSessions 1"))
    pool = JumpHosts(per_connection=3)
    options = lab.options(jump_hosts=pool)
    connections = [Connection(lab.target(f"pc-{i}"), options) for i in range(7)]
    try:
        for conn in connections:
            conn.open()
        for conn in connections:
            doc = json.loads(conn.exec("ping").stdout)
            assert doc["ok"] is True
        assert pool.connections == 3 and lab.bastion_logins() == 3
        links = {id(conn._slot.link): conn._slot.link for conn in connections if conn._slot is not None}
        assert sorted(link.users for link in links.values()) == [1, 3, 3]
    finally:
        for conn in connections:
            conn.close()
        pool.close()


def test_two_hops(deskline_agent: RunningAgent, sshd_factory: SshdFactory, tmp_path: Path) -> None:
    first = make_jump_lab(deskline_agent, sshd_factory, tmp_path / "first")
    second = make_jump_lab(deskline_agent, sshd_factory, tmp_path / "second")
    known = tmp_path / "known_hosts"
    known.write_text(first.known_hosts.read_text() + second.bastion.known_hosts_line + "\n")
    result = run_host(first.target(), Request.make("ping"), ProtocolRunner("agent"),
                      first.options(jump=f"{first.jump},{second.jump}", known_hosts=(known,)))
    assert result.ok, result.error
    assert first.bastion_logins() == 1 and second.bastion_logins() == 1


def test_unknown_bastion_key_names_the_hop_and_how_to_trust_it(jump_lab: JumpLab, tmp_path: Path) -> None:
    known = tmp_path / "only_the_agent"
    known.write_text(jump_lab.agent.known_hosts.read_text())
    pool = JumpHosts()
    targets = [jump_lab.target(f"pc-{i}") for i in range(3)]
    before = jump_lab.bastion.log_text().count("Connection from 127.0.0.1")  # sshd's start check made one
    results = run_fleet(targets, Request.make("ping"), ProtocolRunner("agent"),
                        jump_lab.options(known_hosts=(known,), jump_hosts=pool), parallel=1)
    pool.close()
    fp = jump_lab.bastion.fingerprint
    for target, result in zip(targets, results, strict=True):
        assert result.status == console.HOST_KEY_UNKNOWN
        assert (result.error or "").startswith(f"{target.name} (engineer@127.0.0.1:{jump_lab.agent.port}): jump "
                                               f"host {jump_lab.jump}: host key not known: ssh-ed25519 {fp}")
        assert f"deskline-agent trust 127.0.0.1:{jump_lab.bastion.port} --fingerprint {fp}" in (result.error or "")
    # the bastion was asked once for the whole run, not once per host
    assert jump_lab.bastion.log_text().count("Connection from 127.0.0.1") == before + 1
    assert pool.connections == 0
    # trusting it as the message says (port included: trust alone means the agent's 2222) lets the run through
    assert main(["trust", f"127.0.0.1:{jump_lab.bastion.port}", "--fingerprint", fp, "--known-hosts", str(known)]) == 0
    again = run_host(targets[0], Request.make("ping"), ProtocolRunner("agent"), jump_lab.options(known_hosts=(known,)))
    assert again.ok, again.error


def test_auth_failure_at_the_bastion(deskline_agent: RunningAgent, sshd_factory: SshdFactory, tmp_path: Path) -> None:
    lab = make_jump_lab(deskline_agent, sshd_factory, tmp_path, authorized=False)
    result = run_host(lab.target(), Request.make("ping"), ProtocolRunner("agent"), lab.options())
    assert result.status == console.AUTH_FAILED
    assert (result.error or "").startswith(f"laptop-anna (engineer@127.0.0.1:{lab.agent.port}): jump host "
                                           f"{lab.jump}: authentication failed: ")
    assert "accepted for root" in (result.error or "")


def test_bastion_that_forwards_nothing(deskline_agent: RunningAgent, sshd_factory: SshdFactory,
                                       tmp_path: Path) -> None:
    lab = make_jump_lab(deskline_agent, sshd_factory, tmp_path, extra_config=("AllowTcpForwarding no",))
    result = run_host(lab.target(), Request.make("ping"), ProtocolRunner("agent"), lab.options())
    assert result.status == console.REFUSED
    assert f"jump host {lab.jump} refused to forward to 127.0.0.1:{lab.agent.port}" in (result.error or "")
    assert "AllowTcpForwarding" in (result.error or "")
    assert lab.bastion_logins() == 1  # the login worked; the forward did not


def test_target_unreachable_from_the_bastion(jump_lab: JumpLab) -> None:
    nobody = free_port()
    results = run_fleet([jump_lab.target("gone", port=nobody), jump_lab.target()], Request.make("ping"),
                        ProtocolRunner("agent"), jump_lab.options(), parallel=2)
    assert [r.status for r in results] == [console.UNREACHABLE, console.OK], [r.error for r in results]
    assert results[0].error == (f"gone (engineer@127.0.0.1:{nobody}): jump host {jump_lab.jump} cannot reach "
                                f"127.0.0.1:{nobody} (connect failed: nothing listens there, or no route from the "
                                "jump host)")


def test_unknown_agent_key_behind_the_bastion_trusted_through_it(
        jump_lab: JumpLab, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The whole path on the command line: the refusal, ``trust --jump`` as it says, then ``run --jump``."""
    known = tmp_path / "only_the_bastion"
    known.write_text(jump_lab.bastion.known_hosts_line + "\n")
    key = str(jump_lab.agent.key.path)
    target = f"engineer@127.0.0.1:{jump_lab.agent.port}"
    common = ["-i", key, "--known-hosts", str(known), "--no-progress", "--format", "jsonl"]
    assert main(["run", target, "--ping", "--jump", jump_lab.jump, *common]) == 1
    (record,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert record["status"] == "host_key_unknown"
    command = record["error"].rsplit("trust it on purpose with: ", 1)[1]
    fp = fingerprint_of(jump_lab.agent.known_hosts.read_text().split(" ", 1)[1])
    assert command == (f"deskline-agent trust 127.0.0.1:{jump_lab.agent.port} --jump {jump_lab.jump} "
                       f"--fingerprint {fp}")
    argv = command.split()[1:] + ["-i", key, "--known-hosts", str(known)]
    assert main(argv) == 0
    assert f"trusted 127.0.0.1:{jump_lab.agent.port}: {fp}" in capsys.readouterr().out
    assert known.read_text().splitlines()[-1] == jump_lab.agent.known_hosts.read_text().strip()
    assert main(["run", target, "--ping", "--jump", jump_lab.jump, *common]) == 0
    (record,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert record["ok"] is True and record["answer"]["result"]["agent"] == "deskline-agent"


def test_jump_hosts_from_an_ansible_inventory_and_a_targets_file(
        jump_lab: JumpLab, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    port = jump_lab.agent.port
    inventory = tmp_path / "hosts.ini"
    inventory.write_text(
        "[behind]\n"
        f"pc-anna ansible_host=127.0.0.1 ansible_port={port}\n"
        f"pc-boris ansible_host=127.0.0.1 ansible_port={port} ansible_ssh_extra_args='-J nobody@127.0.0.1:1'\n"
        "[behind:vars]\n"
        f"ansible_ssh_common_args='-o StrictHostKeyChecking=yes -o ProxyJump=\"{jump_lab.jump}\"'\n"
        "[direct]\n"
        f"pc-direct ansible_host=127.0.0.1 ansible_port={port} ansible_ssh_common_args='-o ProxyJump=none'\n"
        "[all:vars]\nansible_user=engineer\n")
    targets_file = tmp_path / "targets.txt"
    targets_file.write_text(f"engineer@127.0.0.1:{port} jump={jump_lab.jump}  # behind the bastion\n")
    common = ["-i", str(jump_lab.agent.key.path), "--known-hosts", str(jump_lab.known_hosts), "--no-progress",
              "--format", "jsonl", "--ping"]
    # --jump names a bastion that does not exist: only targets that name no jump host of their own use it
    assert main(["run", "--inventory", str(inventory), "--targets", str(targets_file), "--jump",
                 f"root@127.0.0.1:{free_port()}", *common]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["host"], r["status"]) for r in records] == [
        (f"engineer@127.0.0.1:{port}", "ok"), ("pc-anna", "ok"), ("pc-boris", "ok"), ("pc-direct", "ok")]
    assert jump_lab.bastion_logins() == 1  # pc-anna, pc-boris (common args win) and the file's target shared it


def test_trust_without_a_port_takes_the_port_of_its_mode(capsys: pytest.CaptureFixture[str]) -> None:
    """``trust HOST`` means the agent's 2222 (as ``run`` in agent mode); ``--mode dispatch`` OpenSSH's 22.
    Nothing here is trusted: whatever answers (or not) on those ports, the message names the port tried."""
    assert main(["trust", "127.0.0.1", "--connect-timeout", "2"]) == 1
    assert re.search(r"port 2222\)|127\.0\.0\.1:2222\b", capsys.readouterr().err)
    assert main(["trust", "127.0.0.1", "--mode", "payload", "--connect-timeout", "2"]) == 1
    assert re.search(r"port 22\)|127\.0\.0\.1:22\b", capsys.readouterr().err)
    assert main(["trust", "127.0.0.1:2200", "--mode", "dispatch", "--jump", "bad;host"]) == 2
    assert "--jump: jump host: bad host name" in capsys.readouterr().err


def test_a_fleet_run_considers_full_collections_rarely_and_restores_the_collector() -> None:
    import gc

    before = gc.get_threshold()
    seen: list[tuple[int, int, int]] = []
    port = free_port()  # nothing listens: each host fails at once, and the run goes on
    targets = [Target(name=f"h{i}", host="127.0.0.1", port=port, user="x") for i in range(3)]
    results = console.run_fleet(targets, Request.make("ping"), ProtocolRunner("agent"), SshOptions(),
                                parallel=2, progress=lambda r, done, total: seen.append(gc.get_threshold()))
    assert [r.status for r in results] == [console.UNREACHABLE] * 3
    assert seen and all(t == (before[0], before[1], max(before[2], console.FLEET_GC_THRESHOLD2)) for t in seen)
    assert gc.get_threshold() == before
