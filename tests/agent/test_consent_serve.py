"""End to end: ``deskline-agent serve`` (a real process) asks the app's ConsentService; the stock ``ssh`` runs commands.

The engineer's connection is one multiplexed OpenSSH master (``ControlMaster``), so several commands run
in one session under one grant, as an engineer at a terminal would use it; revoking the grant in the app
refuses the next command on that same connection. Separate connections of the same key and ticket share
the grant too.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from agent import hostkey
from desktop.consent_service import ConsentAsk, ConsentService, Decision, Ledger
from tests.agent.sshd import KeyPair, make_key

ROOT = Path(__file__).resolve().parents[2]
SSH = shutil.which("ssh")
pytestmark = pytest.mark.skipif(SSH is None, reason="the OpenSSH client (ssh) is not installed: apt-get install "
                                "openssh-client")


def wait_until(condition: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@dataclass
class Setup:
    folder: Path
    sock: Path
    key: KeyPair
    known_hosts: Path
    port: int
    service: ConsentService
    decisions: list[Decision]
    asked: list[ConsentAsk]

    def ssh(self, *args: str, control: Path | None = None, master: bool = False,
            timeout: float = 30) -> subprocess.CompletedProcess[str]:
        assert SSH is not None
        options = ["-F", "/dev/null", "-p", str(self.port), "-i", str(self.key.path),
                   "-o", f"UserKnownHostsFile={self.known_hosts}", "-o", "GlobalKnownHostsFile=/dev/null",
                   "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
                   "-o", "ConnectTimeout=5"]
        if control is not None:
            options += ["-o", f"ControlPath={control}", "-o", f"ControlMaster={'yes' if master else 'no'}"]
        env = {k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK"}
        return subprocess.run([SSH, *options, "engineer+DL-000123@127.0.0.1", *args], capture_output=True,
                              text=True, stdin=subprocess.DEVNULL, timeout=timeout, env=env, check=False)


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    short = Path(tempfile.mkdtemp(prefix="dle-", dir="/tmp"))
    decisions: list[Decision] = []
    asked: list[ConsentAsk] = []

    def decide(ask: ConsentAsk) -> Decision:
        asked.append(ask)
        return decisions.pop(0) if decisions else Decision(False, reason="nothing scripted")

    service = ConsentService(short / "app" / "consent.sock", decide, ledger=Ledger(tmp_path / "ledger.jsonl"))
    service.start()
    key = make_key(tmp_path / "engineer", "Ann Engineer")
    (tmp_path / "authorized_keys").write_text(key.public_line + "\n")
    host_key, _ = hostkey.load_or_create(tmp_path / "host_key")
    (tmp_path / "deskline.toml").write_text("")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DESKLINE_CONSENT_SOCKET": str(service.socket_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent.cli", "serve", "--listen", "127.0.0.1:0", "--config",
         str(tmp_path / "deskline.toml"), "--authorized-keys", str(tmp_path / "authorized_keys"), "--host-key",
         str(tmp_path / "host_key"), "--audit-log", str(tmp_path / "audit.jsonl")],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, text=True)
    lines: list[str] = []
    stderr = proc.stderr
    assert stderr is not None
    reader = threading.Thread(target=lambda: lines.extend(iter(stderr.readline, "")), daemon=True)
    reader.start()
    try:
        found = wait_until(lambda: next((m for line in lines if (m := re.search(r"listening on 127\.0\.0\.1:(\d+)",
                                                                                       line))), None)
                           or proc.poll() is not None, what="the agent to listen")
        assert proc.poll() is None, "".join(lines)
        port = int(found.group(1))
        known = tmp_path / "known_hosts"
        known.write_text(f"[127.0.0.1]:{port} {hostkey.public_line(host_key)}\n")
        yield Setup(short, service.socket_path, key, known, port, service, decisions, asked)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        service.stop()
        shutil.rmtree(short, ignore_errors=True)


def events(setup: Setup, kind: str) -> list[dict[str, Any]]:
    return [e for e in setup.service.ledger.read() if e["event"] == kind]


def test_allow_then_revoke_mid_session(setup: Setup) -> None:
    setup.decisions.append(Decision(True, 600))
    control = setup.folder / "ctl"
    assert SSH is not None
    master = subprocess.Popen(
        [SSH, "-F", "/dev/null", "-p", str(setup.port), "-i", str(setup.key.path), "-o",
         f"UserKnownHostsFile={setup.known_hosts}", "-o", "GlobalKnownHostsFile=/dev/null", "-o",
         "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-o", "ConnectTimeout=5",
         "-o", f"ControlPath={control}", "-o", "ControlMaster=yes", "-N", "engineer+DL-000123@127.0.0.1"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        env={k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK"})
    try:
        wait_until(control.exists, what="the ssh master's control socket")
        r = setup.ssh("probe", "cpu", control=control)
        assert r.returncode == 0, r.stderr
        doc = json.loads(r.stdout)
        assert doc["ok"] is True and doc["command"] == "probe" and "cpu" in doc["result"]["probes"]
        ask = setup.asked[0]
        assert ask.engineer == "Ann Engineer" and ask.fingerprint == setup.key.fingerprint
        assert ask.ticket == "DL-000123" and ask.peer.startswith("127.0.0.1:")
        r = setup.ssh("ping", control=control)
        assert r.returncode == 0
        wait_until(lambda: events(setup, "session.command"), what="the ledger's command entry")
        assert events(setup, "session.command")[-1]["command"] == "probe cpu"
        grant = setup.service.active_grants()[0]
        assert setup.service.revoke(grant.id) is True
        r = setup.ssh("probe", "cpu", control=control)
        assert r.returncode == 3, r.stdout
        refused = json.loads(r.stdout)
        assert refused["error"]["code"] == "consent_required"
        assert "the user ended this session" in refused["error"]["message"]
        assert len(setup.asked) == 1  # the same connection is not asked again
    finally:
        master.terminate()
        master.wait(10)
    ended = wait_until(lambda: events(setup, "session.ended"), what="the session's end in the ledger")
    assert ended[0]["reason"].startswith("revoked")


def test_deny_is_exit_3_with_the_users_reason(setup: Setup) -> None:
    setup.decisions.append(Decision(False, reason="I am presenting"))
    r = setup.ssh("report")
    assert r.returncode == 3, r.stderr
    doc = json.loads(r.stdout)
    assert doc["ok"] is False and doc["error"]["code"] == "consent_required"
    assert "the user declined: I am presenting" in doc["error"]["message"]
    decision = events(setup, "consent.decision")[0]
    assert decision["allow"] is False and decision["engineer"] == "Ann Engineer"


def test_one_yes_covers_the_engineers_next_connections_until_end_now(setup: Setup) -> None:
    """Each ``ssh host command`` is a connection of its own (as each ``deskline-agent run``): the user is
    asked once for this key and ticket, the app shows one session whose ledger gets every command, and
    End now ends it for the next connection too (which is refused without a new question)."""
    setup.decisions.append(Decision(True))
    r = setup.ssh("check")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["command"] == "check"
    r = setup.ssh("probe", "memory")
    assert r.returncode == 0, r.stderr
    assert len(setup.asked) == 1
    wait_until(lambda: len(events(setup, "session.command")) == 2, what="both commands in the ledger")
    [grant] = setup.service.active_grants()
    assert grant.commands_run == 2 and not events(setup, "session.ended")
    assert setup.service.revoke(grant.id) is True
    r = setup.ssh("check")
    assert r.returncode == 3, r.stdout
    assert "the user ended this session" in json.loads(r.stdout)["error"]["message"]
    assert len(setup.asked) == 1  # End now holds for a while: no new dialog
    ended = wait_until(lambda: events(setup, "session.ended"), what="the session's end in the ledger")
    assert ended[0]["commands_run"] == 2 and ended[0]["reason"].startswith("revoked")
    assert setup.service.active_grants() == []
