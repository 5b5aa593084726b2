"""A fleet of agents, each in its own network namespace, and one console run against all of them.

Layout (all created by the test, deleted in teardown; the host's own namespace gets no address, no
route and no link)::

    console ns: c0 10.231.N.2 --+
    host1 ns:   h0 10.231.N.11 -+-- hub ns: bridge (no address)
    host2 ns:   h0 10.231.N.12 -+
    host3 ns:   h0 10.231.N.13 -+

Each veth pair is created directly inside its namespaces (``ip -n NS link add ... peer ... netns HUB``),
so not even a name appears in the host's namespace. One agent (``deskline-agent serve``) runs in each
host namespace; ``deskline-agent run`` runs in the console namespace; one host's agent is stopped first.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from agent import hostkey
from tests.agent.sshd import make_key

ROOT = Path(__file__).resolve().parents[2]
HOSTS = 3
PORT = 2222


def _skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "needs root to create network namespaces (ip netns)"
    if shutil.which("ip") is None:
        return "ip (iproute2) is not installed: apt-get install iproute2"
    probe = f"dlprobe{secrets.token_hex(3)}"
    r = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True, check=False)
    if r.returncode != 0:
        return f"ip netns add fails here: {r.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True, check=False)
    return None


def ip(*args: str) -> None:
    r = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=20, check=False)
    if r.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {r.stderr.strip()}")


def wait_until(condition: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


@dataclass
class Fleet:
    tag: str
    subnet: int
    namespaces: list[str] = field(default_factory=list)
    agents: list[subprocess.Popen[str]] = field(default_factory=list)
    logs: list[list[str]] = field(default_factory=list)

    def ns(self, name: str) -> str:
        return f"dl{self.tag}{name}"

    def address(self, index: int) -> str:
        return f"10.231.{self.subnet}.{11 + index}"

    def build(self) -> None:
        hub = self.ns("hub")
        for name in ["hub", "con", *[f"h{i}" for i in range(HOSTS)]]:
            ip("netns", "add", self.ns(name))
            self.namespaces.append(self.ns(name))
            ip("-n", self.ns(name), "link", "set", "lo", "up")
        ip("-n", hub, "link", "add", "br0", "type", "bridge")
        ip("-n", hub, "link", "set", "br0", "up")
        for i, (name, address) in enumerate([("con", f"10.231.{self.subnet}.2"),
                                             *[(f"h{n}", self.address(n)) for n in range(HOSTS)]]):
            inside = self.ns(name)
            ip("-n", inside, "link", "add", "eth0", "type", "veth", "peer", "name", f"p{i}", "netns", hub)
            ip("-n", inside, "addr", "add", f"{address}/24", "dev", "eth0")
            ip("-n", inside, "link", "set", "eth0", "up")
            ip("-n", hub, "link", "set", f"p{i}", "master", "br0")
            ip("-n", hub, "link", "set", f"p{i}", "up")

    def start_agent(self, index: int, folder: Path, fingerprint: str) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        proc = subprocess.Popen(
            ["ip", "netns", "exec", self.ns(f"h{index}"), sys.executable, "-m", "agent.cli", "serve",
             "--listen", f"{self.address(index)}:{PORT}", "--config", str(folder / "deskline.toml"),
             "--authorized-keys", str(folder / "authorized_keys"), "--host-key", str(folder / f"host{index}"),
             "--audit-log", str(folder / f"audit{index}.jsonl"), "--unattended", fingerprint],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
        lines: list[str] = []
        stderr = proc.stderr
        assert stderr is not None
        threading.Thread(target=lambda: lines.extend(iter(stderr.readline, "")), daemon=True).start()
        self.agents.append(proc)
        self.logs.append(lines)

    def wait_listening(self, index: int) -> None:
        wait_until(lambda: any("listening on" in line for line in self.logs[index]) or
                   self.agents[index].poll() is not None, what=f"agent {index} to listen")
        assert self.agents[index].poll() is None, "".join(self.logs[index])

    def teardown(self) -> None:
        for proc in self.agents:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.agents:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        for name in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)


@pytest.fixture
def fleet() -> Iterator[Fleet]:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    f = Fleet(secrets.token_hex(3), int.from_bytes(secrets.token_bytes(1), "big"))
    try:
        f.build()
        yield f
    finally:
        f.teardown()
        left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False).stdout
        assert f"dl{f.tag}" not in left, f"namespaces left behind: {left}"


def test_fleet_run_across_namespaces_with_one_host_down(fleet: Fleet, tmp_path: Path) -> None:
    engineer = make_key(tmp_path / "engineer", "Ann Engineer")
    (tmp_path / "authorized_keys").write_text(engineer.public_line + "\n")
    (tmp_path / "deskline.toml").write_text("")
    known = []
    for i in range(HOSTS):
        key, _ = hostkey.load_or_create(tmp_path / f"host{i}")
        known.append(f"[{fleet.address(i)}]:{PORT} {hostkey.public_line(key)}")
        fleet.start_agent(i, tmp_path, engineer.fingerprint)
    (tmp_path / "known_hosts").write_text("\n".join(known) + "\n")
    for i in range(HOSTS):
        fleet.wait_listening(i)
    fleet.agents[1].terminate()  # host 2 is down
    fleet.agents[1].wait(10)
    targets = [f"engineer@{fleet.address(i)}:{PORT}" for i in range(HOSTS)]
    r = subprocess.run(
        ["ip", "netns", "exec", fleet.ns("con"), sys.executable, "-m", "agent.cli", "run", *targets, "--report",
         "-i", str(engineer.path), "--known-hosts", str(tmp_path / "known_hosts"), "--format", "jsonl",
         "--no-progress", "--parallel", str(HOSTS), "--connect-timeout", "3"],
        capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False)
    assert r.returncode == 1, r.stderr  # some hosts failed
    lines = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
    by_address = {line["address"]: line for line in lines}
    assert len(by_address) == HOSTS
    for i in (0, 2):
        host = by_address[f"{fleet.address(i)}:{PORT}"]
        assert host["status"] == "ok", host["error"]
        report = host["answer"]["result"]
        assert report["collector"] == "agent" and len(report["probes"]) >= 10
        # each agent saw its own namespace: its own address and nothing of the host's
        assert re.search(re.escape(fleet.address(i)), json.dumps(report["probes"]["network"])), \
            "the report's network probe does not show the namespace's own address"
    down = by_address[f"{fleet.address(1)}:{PORT}"]
    assert down["status"] == "unreachable" and down["ok"] is False
    assert fleet.address(1) in down["error"]
