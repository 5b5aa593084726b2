"""The agent's SSH server against real peers: the stock OpenSSH ``ssh`` client and paramiko's client.

Each test starts the server in-process on 127.0.0.1 with a free port, a fresh ed25519 host key and
engineer keys in tmp_path, and stops it in teardown. Hostile input is refused, audited, and the
server keeps serving a well-behaved client afterwards.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paramiko
import pytest

from agent import hostkey, protocol
from agent import server as server_module
from agent.audit import AuditLog, read_records
from agent.authkeys import AuthorizedKeysFile
from agent.consent import ConsentGate, ConsentRequest, Denial, DenyAll, Grant, UnattendedPolicy
from agent.consent_channel import DesktopGate
from agent.server import (
    DISABLED_ALGORITHMS,
    MAX_UNAUTHENTICATED_PER_ADDRESS,
    AgentServer,
    AgentServerError,
    ServerConfig,
    _Connection,
    check_paramiko,
    config_from_settings,
    parse_listen,
)
from desktop import config as desktop_config
from desktop.consent_service import ConsentAsk, ConsentService, Decision, Ledger
from desktop.errors import ConfigError
from tests.agent.sshd import KeyPair, make_key

ROOT = Path(__file__).resolve().parents[2]
SSH = shutil.which("ssh")
needs_ssh = pytest.mark.skipif(SSH is None, reason="the OpenSSH client (ssh) is not installed: apt-get install "
                               "openssh-client")
DENY_REASON = "no one is signed in to approve remote diagnostics on this machine"
WEAK = ("cbc", "3des", "sha1", "md5", "ssh-rsa", "ssh-dss")


# -- helpers ------------------------------------------------------------------------------------------


def until(predicate: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout`` seconds."""
    end = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= end:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.01)


@dataclass
class Agent:
    """A running server and what a test needs to talk to it."""

    server: AgentServer
    host: str
    port: int
    host_key_line: str
    known_hosts: Path
    audit_path: Path
    keys: dict[str, KeyPair]
    folder: Path

    def records(self, event: str | None = None, **match: Any) -> list[dict[str, Any]]:
        """Audit records, oldest first, of ``event`` whose fields equal ``match``."""
        found = []
        for r in read_records(self.audit_path):
            if event is not None and r.get("event") != event:
                continue
            if all(r.get(k) == v for k, v in match.items()):
                found.append(r)
        return list(reversed(found))

    def wait_record(self, event: str, timeout: float = 5.0, **match: Any) -> dict[str, Any]:
        found: list[dict[str, Any]] = until(lambda: self.records(event, **match), timeout,
                                        f"an audit record {event} {match}")
        return found[-1]


class RecordingGate:
    """A ConsentGate test double: records requests, answers from a script, can revoke."""

    def __init__(self, answer: Callable[[ConsentRequest], Grant | Denial] | None = None) -> None:
        self.requests: list[ConsentRequest] = []
        self.revoked_grants: set[int] = set()
        self.ran: list[tuple[str, int]] = []
        self.ended_reasons: list[str] = []
        self._answer = answer or (lambda r: Grant(r, time.time() + 60, "user", tuple(r.commands)))

    def ask(self, request: ConsentRequest, timeout: float) -> Grant | Denial:
        self.requests.append(request)
        return self._answer(request)

    def revoked(self, grant: Grant) -> bool:
        return id(grant) in self.revoked_grants

    def command_ran(self, grant: Grant, command: str, exit_code: int, duration_ms: float) -> None:
        self.ran.append((command, exit_code))

    def ended(self, grant: Grant, reason: str = "") -> None:
        self.ended_reasons.append(reason)


@dataclass
class Factory:
    tmp_path: Path
    started: list[tuple[AgentServer, AuditLog]] = field(default_factory=list)

    def __call__(self, gate: ConsentGate | None = None, **overrides: Any) -> Agent:
        folder = self.tmp_path / f"agent{len(self.started)}"
        folder.mkdir(mode=0o700)
        keys = {
            "alice": make_key(folder / "alice", "Alice Engineer (L2)"),
            "bob": make_key(folder / "bob", "Bob Engineer"),
            "carol": make_key(folder / "carol", "Carol Expired"),
            "dave": make_key(folder / "dave", "Dave Elsewhere"),
            "mallory": make_key(folder / "mallory", "Mallory Unknown"),
        }
        lines = [
            "# IT policy: engineers of the service desk",
            keys["alice"].public_line,
            f'restrict,command="echo ignored" {keys["bob"].public_line}',
            f'expiry-time="20000101Z" {keys["carol"].public_line}',
            f'from="10.0.0.0/8,!127.0.0.1" {keys["dave"].public_line}',
        ]
        authorized = folder / "authorized_keys"
        authorized.write_text("\n".join(lines) + "\n")
        authorized.chmod(0o600)
        key, created = hostkey.load_or_create(folder / "host_key")
        assert created
        audit = AuditLog(folder / "audit.jsonl")
        settings: dict[str, Any] = {
            "host": "127.0.0.1", "port": 0, "auth_deadline": 5.0, "max_sessions": 4, "max_channels": 2,
            "command_timeout": 10.0, "consent_timeout": 2.0, "stdin_timeout": 2.0, "request_timeout": 5.0}
        settings.update(overrides)
        if gate is None:
            gate = UnattendedPolicy([keys["alice"].fingerprint], DenyAll())
        server = AgentServer(ServerConfig(**settings), key, AuthorizedKeysFile(authorized), audit, gate)
        host, port = server.start()
        self.started.append((server, audit))
        line = hostkey.public_line(key)
        known = folder / "known_hosts"
        known.write_text(f"[{host}]:{port} {line}\n")
        return Agent(server, host, port, line, known, folder / "audit.jsonl", keys, folder)

    def stop(self) -> None:
        for server, audit in self.started:
            server.stop()
            audit.close()


@pytest.fixture
def agent_factory(tmp_path: Path) -> Iterator[Factory]:
    factory = Factory(tmp_path)
    yield factory
    factory.stop()


@pytest.fixture
def agent(agent_factory: Factory) -> Agent:
    return agent_factory()


def pkey(pair: KeyPair) -> paramiko.PKey:
    return paramiko.Ed25519Key.from_private_key_file(str(pair.path))


def open_socket(agent: Agent, source: str | None = None) -> socket.socket:
    """A TCP connection to the agent, from ``source`` (another loopback address: 127.0.0.2) if given."""
    sock = socket.create_connection((agent.host, agent.port), timeout=5,
                                    source_address=(source, 0) if source else None)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def client(agent: Agent, key: paramiko.PKey | KeyPair | None = None, username: str = "engineer",
           source: str | None = None, **kwargs: Any) -> paramiko.SSHClient:
    """A paramiko client logged in to the agent, trusting its host key only (RejectPolicy)."""
    if key is None:
        key = agent.keys["alice"]
    c = paramiko.SSHClient()
    kind, data = agent.host_key_line.split()[:2]
    c.get_host_keys().add(f"[{agent.host}]:{agent.port}", kind,
                          paramiko.PKey.from_type_string(kind, base64.b64decode(data)))
    c.set_missing_host_key_policy(paramiko.RejectPolicy())
    try:
        c.connect(agent.host, agent.port, username=username, pkey=pkey(key) if isinstance(key, KeyPair) else key,
                  look_for_keys=False, allow_agent=False, timeout=5, banner_timeout=5, auth_timeout=5,
                  channel_timeout=5, sock=open_socket(agent, source), **kwargs)
    except BaseException:
        c.close()
        raise
    return c


def run(c: paramiko.SSHClient, command: str | bytes, stdin: bytes | None = None,
        timeout: float = 15.0) -> tuple[int, dict[str, Any]]:
    """Run one command; returns (channel exit status, the one JSON document it printed)."""
    transport = c.get_transport()
    assert transport is not None
    channel = transport.open_session(timeout=5)
    channel.settimeout(timeout)
    channel.exec_command(command)
    if stdin:
        channel.sendall(stdin)
    channel.shutdown_write()
    out = bytearray()
    while True:
        chunk = channel.recv(65536)
        if not chunk:
            break
        out += chunk
    assert channel.status_event.wait(timeout)
    status = channel.recv_exit_status()
    channel.close()
    text = out.decode()
    assert text.endswith("\n") and text.count("\n") == 1, f"not one JSON document: {text[:300]!r}"
    return status, json.loads(text)


def ping_ok(agent: Agent) -> None:
    """A well-behaved engineer can still use the agent."""
    with client(agent) as c:
        status, doc = run(c, "ping")
    assert status == 0 and doc["ok"] is True and doc["result"]["agent"] == "deskline-agent"


def ssh(agent: Agent, key: KeyPair, *args: str, user: str = "engineer",
        options: tuple[str, ...] = (), timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """The stock OpenSSH client, host key checked strictly against the agent's known_hosts line."""
    config = agent.folder / "ssh_config"
    if not config.exists():
        config.write_text("SendEnv LANG LC_*\n")  # as Debian's /etc/ssh/ssh_config does
    assert SSH is not None
    cmd = [SSH, "-F", str(config), "-p", str(agent.port), "-i", str(key.path),
           "-o", f"UserKnownHostsFile={agent.known_hosts}", "-o", "GlobalKnownHostsFile=/dev/null",
           "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
           "-o", "ConnectTimeout=5", *options, f"{user}@{agent.host}", *args]
    env = {k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK"}
    env["LANG"] = "C.UTF-8"
    return subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=timeout,
                          env=env, check=False)


def one_document(text: str) -> dict[str, Any]:
    assert text.endswith("\n") and text.count("\n") == 1, f"not one JSON document: {text[:300]!r}"
    doc: dict[str, Any] = json.loads(text)
    assert doc["protocol"] == protocol.PROTOCOL_VERSION
    return doc


# -- the stock OpenSSH client ---------------------------------------------------------------------------


@needs_ssh
def test_openssh_probe_cpu_and_ping(agent: Agent) -> None:
    alice = agent.keys["alice"]
    r = ssh(agent, alice, "probe", "cpu")
    assert r.returncode == 0, r.stderr
    probe_bytes = len(r.stdout.encode())
    doc = one_document(r.stdout)
    assert doc["ok"] is True and doc["exit"] == 0 and doc["command"] == "probe"
    assert doc["result"]["collector"] == "agent"
    cpu = doc["result"]["probes"]["cpu"]
    assert cpu["status"] == "ok" and cpu["data"]["logical_cores"] >= 1
    assert list(doc["result"]["probes"]) == ["cpu"]

    r = ssh(agent, alice, "ping")
    assert r.returncode == 0, r.stderr
    assert one_document(r.stdout)["result"]["agent"] == "deskline-agent"

    auth = agent.wait_record("auth", accepted=True)
    assert auth["fingerprint"] == alice.fingerprint and auth["engineer"] == "Alice Engineer (L2)"
    consent = agent.wait_record("consent")
    assert consent["decision"] == "granted" and consent["how"] == "policy:unattended"
    cmd = agent.wait_record("command", command="probe cpu")
    assert cmd["exit"] == 0 and cmd["bytes_out"] == probe_bytes
    assert cmd["duration_ms"] >= 0 and cmd["peer"].startswith("127.0.0.1:")
    assert cmd["env_refused"] == ["LANG"]  # SendEnv LANG is refused, and noted
    assert agent.records("command", command="ping")[0]["exit"] == 0
    assert len(agent.records("consent")) == 1  # ping asked nothing; the probe asked once per connection


@needs_ssh
def test_openssh_exit_status_matches_the_answer(agent: Agent) -> None:
    alice, bob = agent.keys["alice"], agent.keys["bob"]
    r = ssh(agent, alice, "probe", "gpu")
    assert r.returncode == 2
    doc = one_document(r.stdout)
    assert doc["exit"] == 2 and doc["error"]["code"] == "bad_arguments" and "gpu" in doc["error"]["message"]

    r = ssh(agent, bob, "probe", "memory")  # bob's key is listed, but nobody is there to say yes
    assert r.returncode == 3
    doc = one_document(r.stdout)
    assert doc["exit"] == 3 and doc["error"]["code"] == "consent_required"
    assert DENY_REASON in doc["error"]["message"]
    denied = agent.wait_record("consent", decision="denied")
    assert denied["fingerprint"] == bob.fingerprint and denied["reason"] == DENY_REASON

    r = ssh(agent, bob, "ping")  # ping needs no consent
    assert r.returncode == 0 and one_document(r.stdout)["ok"] is True


@needs_ssh
def test_openssh_ticket_travels_in_the_user_name(agent_factory: Factory) -> None:
    gate = RecordingGate()
    agent = agent_factory(gate=gate)
    r = ssh(agent, agent.keys["bob"], "probe", "memory", user="bob+DL-000123")
    assert r.returncode == 0, r.stderr
    [request] = gate.requests
    assert request.ticket == "DL-000123" and request.engineer == "Bob Engineer"
    assert request.fingerprint == agent.keys["bob"].fingerprint and request.peer.startswith("127.0.0.1:")
    assert "probe" in request.commands and "ping" not in request.commands
    assert agent.wait_record("auth", accepted=True)["ticket"] == "DL-000123"
    assert gate.ran == [("probe memory", 0)]
    assert gate.ended_reasons == []  # the grant outlives the connection: it covers the engineer's next one

    with client(agent, agent.keys["bob"], username="bob+DL 1;id") as c:  # ssh itself refuses such names
        status, doc = run(c, "probe memory")
        assert status == 2 and "bad ticket 'DL 1;id'" in doc["error"]["message"]
        assert run(c, "ping")[0] == 0
    assert len(gate.requests) == 1


@needs_ssh
def test_openssh_refusals(agent: Agent) -> None:
    alice = agent.keys["alice"]
    r = ssh(agent, alice)  # no command: pty and shell
    assert r.returncode != 0 and "shell request failed" in r.stderr
    agent.wait_record("request", refused="shell")

    r = ssh(agent, alice, "ping", options=("-tt",))  # a forced pty is refused, and ssh gives up
    assert r.returncode == 255 and "PTY allocation request failed" in r.stderr and r.stdout == ""
    agent.wait_record("request", refused="pty")

    r = ssh(agent, alice, options=("-N", "-o", "ExitOnForwardFailure=yes", "-R", "0:127.0.0.1:9"))
    assert r.returncode == 255 and "forwarding failed" in r.stderr
    agent.wait_record("request", refused="tcpip-forward")

    r = ssh(agent, alice, "ping", options=("-o", "Ciphers=aes128-cbc,3des-cbc"))
    assert r.returncode == 255 and "no matching cipher" in r.stderr
    r = ssh(agent, alice, "ping", options=("-o", "MACs=hmac-sha1,hmac-md5", "-o", "Ciphers=aes128-ctr"))
    assert r.returncode == 255 and "no matching MAC" in r.stderr
    r = ssh(agent, alice, "ping", options=("-o", "KexAlgorithms=diffie-hellman-group14-sha1"))
    assert r.returncode == 255 and "no matching key exchange" in r.stderr

    r = ssh(agent, agent.keys["mallory"], "ping")
    assert r.returncode == 255 and "Permission denied (publickey)" in r.stderr
    refused = agent.wait_record("auth", accepted=False, fingerprint=agent.keys["mallory"].fingerprint)
    assert refused["reason"] == "key not in authorized_keys"
    assert ssh(agent, alice, "ping").returncode == 0


# -- paramiko's client -----------------------------------------------------------------------------------


def test_paramiko_commands_with_arguments_on_stdin(agent: Agent) -> None:
    with client(agent) as c:
        transport = c.get_transport()
        assert transport is not None and transport.is_authenticated()
        assert getattr(transport, "agreed_on_strict_kex", False)  # the Terrapin fix is in force
        status, doc = run(c, "probe memory processes", stdin=b'{"processes.top": 3}')
        assert status == 0 and doc["result"]["probes"]["memory"]["status"] == "ok"
        assert len(doc["result"]["probes"]["processes"]["data"]["top_memory"]) <= 3
        status, doc = run(c, "probe memory", stdin=b"[1, 2]")
        assert status == 2 and "JSON object" in doc["error"]["message"]
        status, doc = run(c, "probe memory", stdin=b'{"x": {"nested": 1}}')
        assert status == 2 and "simple values" in doc["error"]["message"]
        status, doc = run(c, "probes")
        assert status == 0 and {p["name"] for p in doc["result"]} >= {"cpu", "memory"}
        status, doc = run(c, "check")
        assert status == 0 and "findings" in doc["result"]
    assert len(agent.records("consent")) == 1
    assert [r["exit"] for r in agent.records("command")] == [0, 2, 2, 0, 0]


@pytest.mark.parametrize("kind", ["ecdsa", "rsa"])
def test_other_key_types(agent_factory: Factory, kind: str) -> None:
    key: paramiko.PKey = (paramiko.ECDSAKey.generate() if kind == "ecdsa" else paramiko.RSAKey.generate(2048))
    agent = agent_factory()
    with (agent.folder / "authorized_keys").open("a") as f:
        f.write(f"{key.get_name()} {key.get_base64()} {kind} engineer\n")
    with client(agent, key) as c:
        assert run(c, "ping")[0] == 0
    assert agent.wait_record("auth", accepted=True)["engineer"] == f"{kind} engineer"


def test_rsa_with_sha1_signatures_is_refused(agent_factory: Factory) -> None:
    key = paramiko.RSAKey.generate(2048)
    agent = agent_factory()
    with (agent.folder / "authorized_keys").open("a") as f:
        f.write(f"ssh-rsa {key.get_base64()} rsa engineer\n")
    with pytest.raises(paramiko.SSHException):
        client(agent, key, disabled_algorithms={"pubkeys": ["rsa-sha2-512", "rsa-sha2-256"]})
    agent.wait_record("disconnect")
    assert not agent.records("auth", accepted=True)
    ping_ok(agent)


def test_weak_algorithms_are_off(agent: Agent) -> None:
    transport = paramiko.Transport(open_socket(agent), disabled_algorithms=DISABLED_ALGORITHMS)
    try:
        server_side = [transport.preferred_ciphers, transport.preferred_macs, transport.preferred_kex,
                       transport.preferred_keys, transport.preferred_pubkeys]
        for names in server_side:
            assert names and not [n for n in names if any(w in n for w in WEAK) and "sha2" not in n], names
    finally:
        transport.close()
    modern = ["aes128-ctr", "aes192-ctr", "aes256-ctr", "aes128-gcm@openssh.com", "aes256-gcm@openssh.com"]
    only_cbc = paramiko.Transport(open_socket(agent), disabled_algorithms={"ciphers": modern})
    try:
        with pytest.raises(paramiko.SSHException):
            only_cbc.start_client(timeout=5)
    finally:
        only_cbc.close()
    ping_ok(agent)


def test_paramiko_version_check() -> None:
    check_paramiko()
    check_paramiko("3.4.0")
    with pytest.raises(AgentServerError, match="Terrapin"):
        check_paramiko("3.3.1")


# -- hostile input ----------------------------------------------------------------------------------------


def _transport(agent: Agent) -> paramiko.Transport:
    t = paramiko.Transport(open_socket(agent))
    kind, data = agent.host_key_line.split()[:2]
    t.connect(hostkey=paramiko.PKey.from_type_string(kind, base64.b64decode(data)))
    return t


def test_password_and_keyboard_interactive_are_refused(agent: Agent) -> None:
    t = _transport(agent)
    try:
        with pytest.raises(paramiko.BadAuthenticationType) as info:
            t.auth_password("engineer", "hunter2")
        assert info.value.allowed_types == ["publickey"]
        with pytest.raises(paramiko.SSHException):
            t.auth_interactive("engineer", lambda title, instructions, prompts: ["hunter2"] * len(prompts))
    finally:
        t.close()
    pw = agent.wait_record("auth", method="password")
    assert pw["accepted"] is False and "password" in pw["reason"] and "hunter2" not in json.dumps(pw)
    assert agent.wait_record("auth", method="keyboard-interactive")["accepted"] is False
    ping_ok(agent)


@pytest.mark.parametrize(("name", "reason"), [
    ("mallory", "key not in authorized_keys"),
    ("carol", "key expired at 2000-01-01 00:00:00 UTC"),
    ("dave", 'address 127.0.0.1 not allowed by from="10.0.0.0/8,!127.0.0.1"'),
])
def test_refused_keys(agent: Agent, name: str, reason: str) -> None:
    with pytest.raises(paramiko.AuthenticationException):
        client(agent, agent.keys[name])
    record = agent.wait_record("auth", accepted=False, fingerprint=agent.keys[name].fingerprint)
    assert record["reason"].startswith(reason) and record["method"] == "publickey"
    ping_ok(agent)


def test_too_many_failed_authentications_close_the_connection(agent_factory: Factory) -> None:
    agent = agent_factory(max_auth_tries=3)
    t = _transport(agent)
    try:
        for _ in range(3):
            with pytest.raises(paramiko.SSHException):
                t.auth_password("engineer", "guess")
        until(lambda: not t.is_active(), what="the connection to close")
    finally:
        t.close()
    assert agent.wait_record("refuse")["reason"] == "3 failed authentications: connection closed"
    ping_ok(agent)


def test_channel_requests_other_than_exec_are_refused(agent: Agent) -> None:
    with client(agent) as c:
        transport = c.get_transport()
        assert transport is not None
        refusals: list[Callable[[paramiko.Channel], object]] = [
            lambda ch: ch.get_pty(),
            lambda ch: ch.invoke_shell(),
            lambda ch: ch.invoke_subsystem("sftp"),
            lambda ch: ch.request_x11(auth_protocol="MIT-MAGIC-COOKIE-1", auth_cookie="00" * 16),
        ]
        for refuse in refusals:
            channel = transport.open_session(timeout=5)
            with pytest.raises(paramiko.SSHException):
                refuse(channel)
            channel.close()
        channel = transport.open_session(timeout=5)
        channel.request_forward_agent(lambda ch: None)  # no reply is asked for: only the audit shows it
        channel.set_environment_variable("LC_SECRET", "x")
        channel.close()
        with pytest.raises(paramiko.ChannelException) as info:
            transport.open_channel("direct-tcpip", dest_addr=("127.0.0.1", agent.port),
                                   src_addr=("127.0.0.1", 40000), timeout=5)
        assert info.value.code == paramiko.common.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED
        with pytest.raises(paramiko.SSHException):
            transport.request_port_forward("127.0.0.1", 0)
        with pytest.raises(paramiko.ChannelException):
            transport.open_channel("x11", src_addr=("127.0.0.1", 6000), timeout=5)
        assert run(c, "ping")[0] == 0  # the same connection still serves commands
    refused = {r["refused"] for r in agent.records("request")}
    assert refused >= {"pty", "shell", "subsystem sftp", "x11", "agent-forwarding", "direct-tcpip",
                       "tcpip-forward", "channel x11"}


@pytest.mark.parametrize(("command", "message"), [
    ("rm -rf /", "bad word '-rf'"),
    ("probe gpu", "unknown probe 'gpu'"),
    ("ping; id", "bad word 'ping;'"),
    ("ping\n", "bad word"),
    ("probe $(id)", "bad word"),
    ("logs auto --since 5m\nid", "bad word"),
    ("", "empty command"),
    (b"\xff\xfe ping", "not UTF-8"),
    ("probe " + "cpu " * 200, "longer than 512 bytes"),
    ("sftp-server", "unknown command"),
])
def test_unknown_and_malformed_commands(agent: Agent, command: str | bytes, message: str) -> None:
    with client(agent) as c:
        status, doc = run(c, command)
        assert status == 2 and doc["exit"] == 2 and message in doc["error"]["message"]
        assert run(c, "ping")[0] == 0
    record = agent.wait_record("command", exit=2)
    assert len(record["command"]) <= 203 and "\n" not in record["command"]
    assert not agent.records("consent")  # refused before anyone was asked


def test_oversized_stdin_is_refused(agent: Agent) -> None:
    with client(agent) as c:
        big = b'{"a": "' + b"x" * protocol.MAX_STDIN + b'"}'
        status, doc = run(c, "probe memory", stdin=big)
        assert status == 2 and f"longer than {protocol.MAX_STDIN} bytes" in doc["error"]["message"]
        assert run(c, "probe memory", stdin=b"{}")[0] == 0
    assert agent.wait_record("command", exit=2)["command"] == "probe memory"


def test_stdin_left_open_without_data_means_no_arguments(agent_factory: Factory) -> None:
    agent = agent_factory(stdin_timeout=0.3)
    with client(agent) as c:
        transport = c.get_transport()
        assert transport is not None
        channel = transport.open_session(timeout=5)
        channel.settimeout(10)
        channel.exec_command("probe memory")  # stdin never closed, as a terminal would leave it
        assert channel.status_event.wait(10)
        assert channel.recv_exit_status() == 0
        channel = transport.open_session(timeout=5)
        channel.settimeout(10)
        channel.exec_command("probe memory")
        channel.sendall(b'{"a": 1')  # bytes without EOF: refused, not guessed
        assert channel.status_event.wait(10)
        assert channel.recv_exit_status() == 2


def test_too_many_channels_on_one_connection(agent: Agent) -> None:
    with client(agent) as c:
        transport = c.get_transport()
        assert transport is not None
        held = [transport.open_session(timeout=5) for _ in range(2)]
        with pytest.raises(paramiko.ChannelException) as info:
            transport.open_session(timeout=5)
        assert info.value.code == paramiko.common.OPEN_FAILED_RESOURCE_SHORTAGE
        record = agent.wait_record("request", refused="channel session")
        assert "2 channels are already open" in record["reason"]
        held[0].close()
        until(lambda: run_or_none(c), what="a channel slot to free up")
        held[1].close()
    ping_ok(agent)


def run_or_none(c: paramiko.SSHClient) -> bool:
    try:
        return run(c, "ping")[0] == 0
    except paramiko.ChannelException:
        return False


def test_more_connections_than_max_sessions(agent_factory: Factory) -> None:
    agent = agent_factory(max_sessions=3)
    release = threading.Event()
    outcomes: list[str] = []
    lock = threading.Lock()

    def engineer() -> None:
        try:
            c = client(agent)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            with lock:
                outcomes.append(f"refused: {type(exc).__name__}")
            return
        try:
            ok = run(c, "ping")[0] == 0
            with lock:
                outcomes.append("served" if ok else "failed")
            release.wait(20)
        finally:
            c.close()

    threads = [threading.Thread(target=engineer) for _ in range(12)]
    for t in threads:
        t.start()
    try:
        until(lambda: len(outcomes) == 12, 20, "all twelve engineers to be served or refused")
    finally:
        release.set()
        for t in threads:
            t.join(20)
    assert outcomes.count("served") == 3, outcomes
    assert all(o.startswith("refused") for o in outcomes if o != "served")
    until(lambda: agent.server.sessions == 0, what="the sessions to end")
    ping_ok(agent)
    refusals = agent.records("refuse")  # a burst is folded into few records, every refusal counted
    assert 1 <= len(refusals) < 9 and "3 sessions already open" in refusals[0]["reason"]
    assert sum(r.get("count", 1) for r in refusals) == 9
    assert all(r.get("peers", ["127.0.0.1"]) == ["127.0.0.1"] for r in refusals)


def stalled(agent: Agent, source: str = "127.0.0.1") -> socket.socket | None:
    """A connection that never logs in: the agent's banner read, nothing sent. None if the agent closed it."""
    sock = open_socket(agent, source)
    if not sock.recv(256).startswith(b"SSH-2.0-"):
        sock.close()
        return None
    return sock


def test_one_address_cannot_hold_every_slot_without_logging_in(agent_factory: Factory) -> None:
    agent = agent_factory(max_sessions=6, max_unauthenticated_per_address=2, auth_deadline=10.0)
    held = [stalled(agent) for _ in range(2)]  # 127.0.0.1 has its two connections stuck before login
    try:
        assert all(held)
        for _ in range(3):
            assert stalled(agent) is None  # closed at once: no banner, end of stream
        with pytest.raises((paramiko.SSHException, OSError, EOFError)):
            client(agent).close()  # a real client from there too, until one of the two leaves
        with client(agent, source="127.0.0.2") as other:  # another address still gets in
            assert run(other, "ping")[0] == 0
        refusals = agent.records("refuse")
        assert refusals[0]["reason"] == "2 connections from 127.0.0.1 are not authenticated yet " \
            "(max_unauthenticated_per_address)"
        assert refusals[0]["peer"].startswith("127.0.0.1:")
        assert sum(r.get("count", 1) for r in refusals) == 4
        assert all(r.get("peers", ["127.0.0.1"]) == ["127.0.0.1"] for r in refusals)
        sock = held.pop()
        assert sock is not None
        sock.close()
        until(lambda: agent.server.sessions == 1, what="the stalled connection to be released")
        # logged-in sessions from one address do not count: an engineer's several sessions all get in
        engineers = [client(agent) for _ in range(3)]
        try:
            assert all(run(c, "ping")[0] == 0 for c in engineers)
        finally:
            for c in engineers:
                c.close()
    finally:
        for s in held:
            if s is not None:
                s.close()
    assert {r["peer"].split(":")[0] for r in agent.records("connect")} == {"127.0.0.1", "127.0.0.2"}


def test_quick_commands_one_after_another_are_not_refused(agent_factory: Factory) -> None:
    # a paramiko client's socket lingers about 0.1 s after close (its transport thread's read timeout):
    # connections that are over, or logged in, must not count against the per-address limit
    agent = agent_factory(max_sessions=16, max_unauthenticated_per_address=1)
    for _ in range(30):
        with client(agent) as c:
            assert run(c, "ping")[0] == 0
    assert not agent.records("refuse")


def test_the_per_address_limit_is_a_constant_below_max_sessions() -> None:
    assert ServerConfig().max_unauthenticated_per_address == MAX_UNAUTHENTICATED_PER_ADDRESS
    assert 1 <= MAX_UNAUTHENTICATED_PER_ADDRESS < ServerConfig().max_sessions


@pytest.mark.parametrize(("send", "stage"), [
    (b"", "the protocol banner"),
    (b"SSH-2.0-stalled_1.0\r\n", "the key exchange"),
])
def test_a_client_that_stalls_mid_handshake_is_dropped(agent_factory: Factory, send: bytes, stage: str) -> None:
    agent = agent_factory(auth_deadline=1.0)
    sock = socket.create_connection((agent.host, agent.port), timeout=5)
    try:
        sock.sendall(send)
        start = time.monotonic()
        ping_ok(agent)  # others are served meanwhile
        received = b""
        sock.settimeout(5)
        while chunk := sock.recv(4096):
            received += chunk
        elapsed = time.monotonic() - start
    finally:
        sock.close()
    assert received.startswith(b"SSH-2.0-DesklineAgent_")
    assert elapsed < 3.0
    record = agent.wait_record("refuse")
    assert record["reason"] == f"not authenticated within 1 s (stalled in {stage})"
    ping_ok(agent)


def test_a_client_that_never_authenticates_is_dropped(agent_factory: Factory) -> None:
    agent = agent_factory(auth_deadline=1.0)
    t = _transport(agent)  # key exchange done, then nothing
    try:
        until(lambda: not t.is_active(), 4, "the agent to drop the connection")
    finally:
        t.close()
    assert "stalled in authentication" in agent.wait_record("refuse")["reason"]


# -- consent ----------------------------------------------------------------------------------------------


def test_consent_denied_holds_for_the_connection(agent: Agent) -> None:
    with client(agent, agent.keys["bob"]) as c:
        for command in ("probe memory", "report"):
            status, doc = run(c, command)
            assert status == 3 and doc["error"]["message"] == f"consent required: {DENY_REASON}"
        assert run(c, "ping")[0] == 0
    assert len(agent.records("consent")) == 1
    assert [r["exit"] for r in agent.records("command")] == [3, 3, 0]


def test_consent_is_asked_once_rechecked_and_revocable(agent_factory: Factory) -> None:
    gate = RecordingGate()
    agent = agent_factory(gate=gate)
    with client(agent, agent.keys["bob"]) as c:
        assert run(c, "probe memory")[0] == 0
        assert run(c, "probes")[0] == 0
        assert len(gate.requests) == 1
        grant = agent.server._connections and next(iter(agent.server._connections)).grant
        assert isinstance(grant, Grant)
        gate.revoked_grants.add(id(grant))
        status, doc = run(c, "probe memory")
        assert status == 3 and "ended this session" in doc["error"]["message"]
        assert run(c, "probes")[0] == 3  # ended for the rest of the connection
    assert len(gate.requests) == 1
    decisions = [r["decision"] for r in agent.records("consent")]
    assert decisions == ["granted", "revoked"]
    assert gate.ended_reasons == ["revoked"]


def test_a_quick_answer_never_overtakes_the_reply_to_exec(agent: Agent, monkeypatch: pytest.MonkeyPatch) -> None:
    """paramiko replies to an exec request (CHANNEL_SUCCESS) after check_channel_exec_request returns. A
    refusal is ready at once; had its worker started from inside the callback, its answer and CLOSE could
    go out before that reply, and paramiko's client then raises "Channel closed" instead of reading the
    answer (the command after a revocation failed so about once in eight full runs). Here the transport
    thread waits inside the callback until the worker has answered and closed the channel, if it can:
    the answer must still arrive whole, with its exit status."""
    answered = threading.Event()
    original_exec = _Connection.check_channel_exec_request
    original_run = _Connection._run_channel

    def slow_exec(self: _Connection, channel: paramiko.Channel, command: bytes) -> bool:
        ok = original_exec(self, channel, command)
        answered.wait(0.5)  # with the fix the worker cannot answer yet: this wait runs out
        return ok

    def run_channel(self: _Connection, state: Any) -> None:
        try:
            original_run(self, state)
        finally:
            answered.set()

    monkeypatch.setattr(_Connection, "check_channel_exec_request", slow_exec)
    monkeypatch.setattr(_Connection, "_run_channel", run_channel)
    with client(agent, agent.keys["bob"]) as c:  # bob's key is not unattended: consent is refused at once
        for command, exit_code in (("nonsense", 2), ("probe memory", 3), ("probes", 3)):
            answered.clear()
            status, doc = run(c, command)
            assert (status, doc["exit"]) == (exit_code, exit_code), doc


class HeldNotifier(DenyAll):
    """A fallback gate whose ``notify`` blocks until released, as an app that is slow to accept would."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.notified: list[Grant] = []

    def notify(self, grant: Grant) -> None:
        self.notified.append(grant)
        if not self.release.wait(10):
            raise OSError("never released")


def test_an_unattended_session_notifies_the_user_without_waiting(agent_factory: Factory) -> None:
    notifier = HeldNotifier()
    agent = agent_factory()
    agent.server.gate = UnattendedPolicy([agent.keys["alice"].fingerprint], notifier)
    try:
        with client(agent) as c:
            status, doc = run(c, "probe memory")  # answers while the notice is still held up
            assert status == 0 and doc["ok"] is True
            assert run(c, "probes")[0] == 0
        assert len(notifier.notified) == 1  # one notice per session, not per command
        grant = notifier.notified[0]
        assert grant.how == "policy:unattended" and grant.request.engineer == "Alice Engineer (L2)"
        assert not agent.records("notify")
    finally:
        notifier.release.set()
    record = agent.wait_record("notify")
    assert record["delivered"] is True and record["how"] == "policy:unattended"
    assert record["fingerprint"] == agent.keys["alice"].fingerprint


def test_an_unattended_session_with_no_app_to_tell_is_audited(agent: Agent) -> None:
    with client(agent) as c:  # alice: unattended, and no desktop app behind the policy
        assert run(c, "probe memory")[0] == 0
    record = agent.wait_record("notify")
    assert record["delivered"] is False
    assert record["reason"] == f"no desktop app to notify: {DENY_REASON}"
    assert [r["decision"] for r in agent.records("consent")] == ["granted"]


def test_the_users_app_records_an_unattended_session(agent_factory: Factory, tmp_path: Path) -> None:
    folder = Path(tempfile.mkdtemp(prefix="dln-", dir="/tmp"))  # AF_UNIX paths are short
    asked: list[ConsentAsk] = []
    service = ConsentService(folder / "run" / "consent.sock", lambda ask: asked.append(ask) or Decision(True),
                             ledger=Ledger(tmp_path / "ledger.jsonl"))
    service.start()
    try:
        agent = agent_factory()
        agent.server.gate = UnattendedPolicy([agent.keys["alice"].fingerprint], DesktopGate(service.socket_path))
        with client(agent, username="engineer+DL-000042") as c:
            assert run(c, "check")[0] == 0
        assert agent.wait_record("notify")["delivered"] is True
        notice = service.ledger.read()[0]
        assert notice["event"] == "session.notify" and notice["engineer"] == "Alice Engineer (L2)"
        assert notice["ticket"] == "DL-000042" and notice["fingerprint"] == agent.keys["alice"].fingerprint
        assert "check" in notice["commands"] and notice["peer"].startswith("127.0.0.1:")
        assert asked == []  # notify only
        with client(agent, agent.keys["bob"]) as c:  # any other key is still asked
            assert run(c, "ping")[0] == 0
            assert run(c, "probe memory")[0] == 0
        assert [a.engineer for a in asked] == ["Bob Engineer"]
    finally:
        service.stop()
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class App:
    """The user's real consent service on a short socket path; ``decide`` is scripted by the test."""

    service: ConsentService
    shown: threading.Event
    cancelled: threading.Event
    asked: list[ConsentAsk]

    def events(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.service.ledger.read() if e["event"] == kind]


@pytest.fixture
def user_app(tmp_path: Path) -> Iterator[Callable[[Callable[[ConsentAsk], Decision]], App]]:
    folders: list[Path] = []
    services: list[ConsentService] = []

    def start(answer: Callable[[ConsentAsk], Decision]) -> App:
        folder = Path(tempfile.mkdtemp(prefix="dln-", dir="/tmp"))  # AF_UNIX paths are short
        folders.append(folder)
        shown, cancelled, asked = threading.Event(), threading.Event(), []

        def decide(ask: ConsentAsk) -> Decision:
            asked.append(ask)
            shown.set()
            decision = answer(ask)
            if ask.cancelled.is_set():
                cancelled.set()
            return decision

        service = ConsentService(folder / "run" / "consent.sock", decide,
                                 ledger=Ledger(tmp_path / f"ledger{len(services)}.jsonl"))
        service.start()
        services.append(service)
        return App(service, shown, cancelled, asked)

    yield start
    for service in services:
        service.stop()
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


def wait_for_cancel(ask: ConsentAsk) -> Decision:
    """The user does not answer: the dialog stays until the agent stops waiting; then a yes comes too late."""
    ask.cancelled.wait(20)
    return Decision(True)


def session_events(agent: Agent, session: str) -> list[str]:
    return [r["event"] for r in agent.records() if r.get("session") == session]


def test_a_question_open_when_the_engineer_leaves_is_withdrawn(agent_factory: Factory, user_app: Any) -> None:
    app = user_app(wait_for_cancel)
    agent = agent_factory(gate=DesktopGate(app.service.socket_path), consent_timeout=30.0)
    c = client(agent, agent.keys["bob"])
    transport = c.get_transport()
    assert transport is not None
    transport.open_session(timeout=5).exec_command("probe memory")
    assert app.shown.wait(10)
    c.close()  # the engineer leaves while the user is being asked
    assert app.cancelled.wait(10), "the question stayed open in the app"
    disconnect = agent.wait_record("disconnect", timeout=10)
    consent = agent.records("consent")
    assert [r["decision"] for r in consent] == ["withdrawn"]
    assert consent[0]["reason"] == "the engineer left"
    assert session_events(agent, disconnect["session"])[2:] == ["consent", "command", "disconnect"]
    assert [r["exit"] for r in agent.records("command")] == [3]  # nothing ran
    decision = app.events("consent.decision")[0]
    assert decision["by"] == "agent" and decision["reason"] == "withdrawn by the agent: the engineer left"
    assert not app.events("session.started") and app.service.active_grants() == []


def test_a_yes_that_arrives_after_the_engineer_left_runs_nothing_and_ends(agent_factory: Factory) -> None:
    """A gate that cannot withdraw (or a yes racing the withdrawal): the grant it returns is ended at
    once, so the app does not show a session nobody uses, and nothing runs under it."""
    release = threading.Event()

    def late_yes(request: ConsentRequest) -> Grant | Denial:
        release.wait(20)
        return Grant(request, time.time() + 600, "user", tuple(request.commands))

    gate = RecordingGate(late_yes)
    agent = agent_factory(gate=gate, consent_timeout=30.0)
    c = client(agent, agent.keys["bob"])
    transport = c.get_transport()
    assert transport is not None
    transport.open_session(timeout=5).exec_command("probe memory")
    until(lambda: gate.requests, what="the question")
    connection = next(iter(agent.server._connections))
    c.close()
    until(lambda: connection.gone, what="the agent to see the engineer leave")
    release.set()  # the user says yes now
    disconnect = agent.wait_record("disconnect", timeout=10)
    until(lambda: gate.ended_reasons, what="the app to be told the session ended")
    assert gate.ended_reasons == ["withdrawn: the engineer left"] and gate.ran == []
    assert [r["decision"] for r in agent.records("consent")] == ["withdrawn"]
    assert session_events(agent, disconnect["session"])[2:] == ["consent", "command", "disconnect"]
    assert [r["exit"] for r in agent.records("command")] == [3]


def test_closing_the_channel_withdraws_its_question_and_the_connection_goes_on(agent_factory: Factory,
                                                                             user_app: Any) -> None:
    answers = iter([wait_for_cancel, lambda ask: Decision(True, 600)])
    app = user_app(lambda ask: next(answers)(ask))
    agent = agent_factory(gate=DesktopGate(app.service.socket_path), consent_timeout=30.0)
    with client(agent, agent.keys["bob"]) as c:
        transport = c.get_transport()
        assert transport is not None
        channel = transport.open_session(timeout=5)
        channel.exec_command("probe memory")
        assert app.shown.wait(10)
        channel.close()  # as an OpenSSH multiplexing client does when its user presses Ctrl-C
        assert app.cancelled.wait(10)
        agent.wait_record("consent", decision="withdrawn")
        assert run(c, "ping")[0] == 0
        assert run(c, "probes")[0] == 0  # asked again: a withdrawn question is no answer
    assert len(app.asked) == 2
    consent = agent.records("consent")
    assert [r["decision"] for r in consent] == ["withdrawn", "granted"]
    assert consent[0]["reason"] == "the engineer closed the command's channel"


def test_an_expired_grant_is_asked_again(agent_factory: Factory) -> None:
    gate = RecordingGate(lambda r: Grant(r, time.time() + 0.3, "user", tuple(r.commands)))
    agent = agent_factory(gate=gate)
    with client(agent, agent.keys["bob"]) as c:
        assert run(c, "probe memory")[0] == 0
        grant = next(iter(agent.server._connections)).grant
        assert grant is not None
        until(lambda: time.time() >= grant.expires, what="the grant to expire")
        assert run(c, "probe memory")[0] == 0
    assert len(gate.requests) == 2
    assert [r["decision"] for r in agent.records("consent")] == ["granted", "expired", "granted"]


def _iso(text: str) -> float:
    return time.mktime(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ")) - time.mktime(time.gmtime(0))


def test_serve_gives_unattended_grants_the_configured_consent_duration(tmp_path: Path) -> None:
    """``deskline-agent serve`` with ``agent.consent_duration = 120``: an unattended key's grant lasts 120 s
    (it lasted the policy's own 3600 s whatever the setting said), and the audit records say so."""
    alice = make_key(tmp_path / "alice", "Alice")
    keys = tmp_path / "authorized_keys"
    keys.write_text(alice.public_line + "\n")
    keys.chmod(0o600)
    settings = tmp_path / "deskline.toml"
    settings.write_text(f'[agent]\nunattended = ["{alice.fingerprint}"]\nconsent_duration = 120\n')
    servers: list[AgentServer] = []
    stop = threading.Event()
    codes: list[int] = []
    thread = threading.Thread(target=lambda: codes.append(server_module.run_serve(
        listen="127.0.0.1:0", authorized_keys=str(keys), host_key=str(tmp_path / "hk"),
        audit_log=str(tmp_path / "audit.jsonl"), config=str(settings), ready=servers.append, stop=stop)),
        daemon=True)
    thread.start()
    try:
        server = until(lambda: servers, timeout=30, what="serve to listen")[0]
        host, port = server.address
        line = hostkey.public_line(server.host_key)
        agent = Agent(server, host, port, line, tmp_path / "known_hosts", tmp_path / "audit.jsonl",
                      {"alice": alice}, tmp_path)
        with client(agent, alice) as c:
            assert run(c, "probes")[0] == 0
        granted = agent.wait_record("consent", decision="granted")
        assert granted["how"] == "policy:unattended" and granted["duration_seconds"] == 120
        assert abs(_iso(granted["expires"]) - (_iso(granted["time"][:19] + "Z") + 120)) <= 2
        notice = agent.wait_record("notify")  # no app to tell here; the record still says until when
        assert notice["delivered"] is False and notice["expires"] == granted["expires"]
    finally:
        stop.set()
        thread.join(30)
    assert codes == [0]


def only_connection(agent: Agent) -> _Connection:
    return until(lambda: next((c for c in agent.server._connections if c.key is not None), None),
                 what="a logged-in connection")


def test_one_yes_covers_later_connections_of_the_same_key_and_ticket(agent_factory: Factory) -> None:
    """``deskline-agent run`` opens a connection per command: the user's yes for this engineer's key and
    this ticket covers the next ones, audited as reused with the grant's expiry; another ticket or
    another key is asked again, and the app hears of one session."""
    gate = RecordingGate()
    # a paramiko client's socket lingers about 0.1 s after close: room for quick connections one after another
    agent = agent_factory(gate=gate, max_sessions=16)
    for _ in range(3):
        with client(agent, agent.keys["bob"], username="bob+DL-000001") as c:
            assert run(c, "probe memory")[0] == 0
    assert len(gate.requests) == 1
    consent = agent.records("consent")
    assert [r["decision"] for r in consent] == ["granted", "reused", "reused"]
    assert consent[1]["expires"] == consent[0]["expires"] == consent[2]["expires"]
    assert consent[1]["granted_in"] == consent[0]["session"] != consent[1]["session"]
    assert consent[1]["how"] == "user" and consent[1]["ticket"] == "DL-000001"
    assert gate.ran == [("probe memory", 0)] * 3 and gate.ended_reasons == []  # one session, still running
    with client(agent, agent.keys["bob"], username="bob+DL-000002") as c:  # another ticket
        assert run(c, "probe memory")[0] == 0
    with client(agent, agent.keys["bob"], username="bob") as c:  # no ticket is another ticket too
        assert run(c, "probe memory")[0] == 0
    with client(agent, agent.keys["alice"], username="alice+DL-000001") as c:  # another key
        assert run(c, "probe memory")[0] == 0
    assert [(r.fingerprint, r.ticket) for r in gate.requests] == [
        (agent.keys["bob"].fingerprint, "DL-000001"), (agent.keys["bob"].fingerprint, "DL-000002"),
        (agent.keys["bob"].fingerprint, ""), (agent.keys["alice"].fingerprint, "DL-000001")]
    agent.server.stop()
    assert sorted(gate.ended_reasons) == ["the agent stopped"] * 4  # the app hears each session end


def test_end_now_ends_the_grant_for_every_connection_then_a_cool_down(agent_factory: Factory) -> None:
    gate = RecordingGate()
    agent = agent_factory(gate=gate, denial_cooldown=1.0, max_sessions=16)
    with client(agent, agent.keys["bob"], username="bob+DL-000001") as first, \
            client(agent, agent.keys["bob"], username="bob+DL-000001") as second:
        assert run(first, "probe memory")[0] == 0
        assert run(second, "probes")[0] == 0
        grant = next(c.grant for c in agent.server._connections if c.grant is not None)
        assert all(c.grant is grant for c in agent.server._connections)
        gate.revoked_grants.add(id(grant))  # End now in the app
        for c in (first, second):
            status, doc = run(c, "probe memory")
            assert status == 3 and doc["error"]["message"] == "consent required: the user ended this session"
    assert gate.ended_reasons == ["revoked"]
    with client(agent, agent.keys["bob"], username="bob+DL-000001") as c:  # a new connection at once
        status, doc = run(c, "probes")
        assert status == 3 and "the user ended this session" in doc["error"]["message"]
        assert "holds for this key and ticket for another" in doc["error"]["message"]
    assert len(gate.requests) == 1  # the user is not asked again during the cool-down
    cooled = agent.records("consent", decision="denied")[-1]
    assert 0 < cooled["cooldown_seconds"] <= 1
    until(lambda: not agent.server.grants.denied((agent.keys["bob"].fingerprint, "DL-000001")),
          what="the cool-down to pass")
    with client(agent, agent.keys["bob"], username="bob+DL-000001") as c:
        assert run(c, "probes")[0] == 0
    assert len(gate.requests) == 2
    decisions = [r["decision"] for r in agent.records("consent")]
    assert decisions == ["granted", "reused", "revoked", "revoked", "denied", "granted"]


def test_a_users_no_holds_for_a_cool_down_other_refusals_do_not(agent_factory: Factory) -> None:
    answers = iter([Denial("the user declined: busy", declined=True), Denial("the user did not answer within 2 "
                    "seconds"), Denial("the user did not answer within 2 seconds")])
    gate = RecordingGate(lambda r: next(answers))
    agent = agent_factory(gate=gate, denial_cooldown=30.0, max_sessions=16)
    for _ in range(2):
        with client(agent, agent.keys["bob"], username="bob+DL-000001") as c:
            status, doc = run(c, "report")
            assert status == 3 and doc["error"]["message"].startswith("consent required: the user declined: busy")
    assert len(gate.requests) == 1  # no second dialog: an engineer cannot make the user's screen flash
    with client(agent, agent.keys["bob"], username="bob+DL-000002") as c:  # another ticket is asked
        assert run(c, "report")[0] == 3
    with client(agent, agent.keys["bob"], username="bob+DL-000002") as c:  # no answer is no "no": asked again
        assert run(c, "report")[0] == 3
    assert len(gate.requests) == 3


def test_connections_asking_at_once_share_one_question(agent_factory: Factory) -> None:
    release = threading.Event()

    def held(request: ConsentRequest) -> Grant | Denial:
        release.wait(20)
        return Grant(request, time.time() + 60, "user", tuple(request.commands))

    gate = RecordingGate(held)
    agent = agent_factory(gate=gate, consent_timeout=30.0)
    key = (agent.keys["bob"].fingerprint, "DL-000001")
    results: list[int] = []

    def engineer() -> None:
        with client(agent, agent.keys["bob"], username="bob+DL-000001") as c:
            results.append(run(c, "probe memory")[0])

    threads = [threading.Thread(target=engineer, daemon=True) for _ in range(2)]
    threads[0].start()
    until(lambda: gate.requests, what="the first question")
    threads[1].start()
    until(lambda: agent.server.grants.waiting(key) == 1, what="the second connection to wait for that answer")
    release.set()
    for t in threads:
        t.join(30)
    assert results == [0, 0] and len(gate.requests) == 1
    assert sorted(r["decision"] for r in agent.records("consent")) == ["granted", "reused"]


def test_no_answer_from_the_gate_is_a_no(agent_factory: Factory) -> None:
    unblock = threading.Event()

    def hang(request: ConsentRequest) -> Grant | Denial:
        unblock.wait(10)
        return Grant(request, time.time() + 60, "user")

    agent = agent_factory(gate=RecordingGate(hang), consent_timeout=0.3)
    try:
        with client(agent, agent.keys["bob"]) as c:
            status, doc = run(c, "probe memory")
        assert status == 3 and "no answer within 0.3 s" in doc["error"]["message"]
    finally:
        unblock.set()


@pytest.mark.allow_warning_logs
def test_a_broken_gate_is_a_no(agent_factory: Factory) -> None:
    def broken(request: ConsentRequest) -> Grant | Denial:
        raise OSError("socket gone")

    agent = agent_factory(gate=RecordingGate(broken))
    with client(agent, agent.keys["bob"]) as c:
        status, doc = run(c, "probe memory")
    assert status == 3 and "OSError: socket gone" in doc["error"]["message"]


# -- limits on commands -------------------------------------------------------------------------------------


def test_a_command_over_its_timeout_answers_exit_5(agent_factory: Factory) -> None:
    agent = agent_factory(command_timeout=0.05)
    with client(agent) as c:
        status, doc = run(c, "probe cpu")  # cpu samples for 0.2 s
        assert status == 5 and doc["exit"] == 5 and doc["error"]["code"] == "timeout"
        assert "probe cpu did not finish within 0.05 s" in doc["error"]["message"]
        assert run(c, "ping")[0] == 0
    assert agent.wait_record("command", command="probe cpu")["exit"] == 5


def test_an_answer_over_the_output_cap_is_refused(agent_factory: Factory) -> None:
    agent = agent_factory(max_output_bytes=4096)
    with client(agent) as c:
        status, doc = run(c, "probes")
        assert status == 4 and "output cap of 4096 bytes" in doc["error"]["message"]
    record = agent.wait_record("command", command="probes")
    assert record["exit"] == 4 and record["bytes_out"] < 4096


def test_disabled_probes_are_refused_as_not_allowed_and_left_out(agent_factory: Factory) -> None:
    # as the dispatcher and the payload answer: the engineer learns it is IT's choice, not a typo
    agent = agent_factory(disabled_probes=("processes",))
    with client(agent) as c:
        status, doc = run(c, "probe processes")
        assert status == 4 and doc["error"]["code"] == "not_allowed"
        assert "'processes' is disabled on this machine" in doc["error"]["message"]
        status, doc = run(c, "report")
    assert status == 0 and "processes" not in doc["result"]["probes"] and "memory" in doc["result"]["probes"]


@pytest.mark.allow_warning_logs
def test_commands_stop_when_the_audit_log_cannot_be_written(agent: Agent) -> None:
    agent.server.audit_log.close()  # every later write fails
    with client(agent) as c:
        assert run(c, "ping")[0] == 0
        status, doc = run(c, "probe memory")
    assert status == 70 and "audit log" in doc["error"]["message"]


# -- settings, host key, the command line ------------------------------------------------------------------


def test_listen_addresses() -> None:
    assert parse_listen("127.0.0.1:2222") == ("127.0.0.1", 2222)
    assert parse_listen("[::1]:0") == ("::1", 0)
    for bad in ("2222", "host:", "host:70000", ":22", "h:x"):
        with pytest.raises(ConfigError):
            parse_listen(bad)


def test_default_settings_are_safe() -> None:
    settings = desktop_config.Settings()
    config = config_from_settings(settings)
    assert (config.host, config.port) == ("127.0.0.1", 2222)  # loopback unless IT opens it
    assert config.max_sessions >= 1 and config.auth_deadline <= 30 and config.command_timeout <= 60
    assert settings["agent.unattended"] == []  # nobody runs commands without asking by default
    assert config.warm_up  # deskline-agent serve primes the report at start


def test_warm_up_primes_the_enabled_probes_without_waiting(agent_factory: Factory,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from desktop.diagnostics.probes import processes, software, users

    seen: dict[str, Any] = {}
    ran = {"processes": threading.Event(), "users": threading.Event()}
    real_processes, real_users = processes.collect, users.collect

    def spy_processes(ctx: Any) -> Any:
        seen["sample_seconds"] = ctx.setting("processes.sample_seconds", None)
        seen["thread"] = threading.current_thread().name
        try:
            return real_processes(ctx)
        finally:
            ran["processes"].set()

    def spy_users(ctx: Any) -> Any:
        try:
            return real_users(ctx)
        finally:
            ran["users"].set()

    def disabled(ctx: Any) -> Any:
        seen["software"] = True
        raise AssertionError("a disabled probe ran")

    monkeypatch.setattr(processes, "collect", spy_processes)
    monkeypatch.setattr(users, "collect", spy_users)
    monkeypatch.setattr(software, "collect", disabled)
    agent = agent_factory(warm_up=True, disabled_probes=("software",))
    assert all(e.wait(10) for e in ran.values()), "the warm-up did not run the enabled probes"
    assert seen["sample_seconds"] == 0.0 and "software" not in seen
    assert seen["thread"].startswith("probe-")  # the report's own runner, not a shortcut
    assert "software" in agent.server.known_probes and "software" not in agent.server.enabled_probes


@pytest.mark.allow_warning_logs
def test_a_failing_warm_up_is_logged_and_never_raised(monkeypatch: pytest.MonkeyPatch,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    from agent import commands
    from desktop.diagnostics import report

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise OSError("disk on fire")

    monkeypatch.setattr(report, "build", broken)
    took = commands.warm_up(["system"])
    assert took >= 0 and "warming up the report failed" in caplog.text and "disk on fire" in caplog.text


def test_host_key_is_private_and_stable(tmp_path: Path) -> None:
    path = tmp_path / "agent" / "host_key"
    key, created = hostkey.load_or_create(path)
    assert created and path.stat().st_mode & 0o777 == 0o600 and path.parent.stat().st_mode & 0o777 == 0o700
    again, created = hostkey.load_or_create(path)
    assert not created and hostkey.fingerprint(again) == hostkey.fingerprint(key)
    keygen = shutil.which("ssh-keygen")
    if keygen:
        out = subprocess.run([keygen, "-lf", str(path.with_name("host_key.pub"))], capture_output=True, text=True,
                             check=True, timeout=10).stdout
        assert out.split()[1] == hostkey.fingerprint(key)
    path.chmod(0o644)
    with pytest.raises(hostkey.HostKeyError, match="chmod 600"):
        hostkey.load_or_create(path)
    path.chmod(0o600)
    path.parent.chmod(0o777)
    with pytest.raises(hostkey.HostKeyError, match="chmod go-w"):
        hostkey.load_or_create(path)
    path.parent.chmod(0o700)


def _agent_cli(*args: str, **kwargs: Any) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "DESKLINE_CONFIG"}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.Popen([sys.executable, "-m", "agent.cli", *args], env=env, text=True, cwd=ROOT, **kwargs)


def test_fingerprint_command(tmp_path: Path) -> None:
    key_path = tmp_path / "hk"
    p = _agent_cli("fingerprint", "--host-key", str(key_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = p.communicate(timeout=30)
    assert p.returncode == 0, err
    assert out.strip() == hostkey.fingerprint(hostkey.load(key_path)) and "new host key" in err
    p = _agent_cli("fingerprint", "--host-key", str(key_path), "--public", stdout=subprocess.PIPE,
                   stderr=subprocess.PIPE)
    out, err = p.communicate(timeout=30)
    assert p.returncode == 0 and out.startswith("ssh-ed25519 ") and err == ""


@pytest.fixture
def system_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary ``/`` for the agent's system folders, a temporary home data folder (XDG_DATA_HOME) for
    the per-user ones, and an empty machine policy file, so nothing here reads or writes the real ones."""
    root = tmp_path / "root"
    root.mkdir()
    monkeypatch.setattr(server_module, "SYSTEM_ROOT", root)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "home"))
    (tmp_path / "policy.toml").write_text("")
    monkeypatch.setenv("DESKLINE_POLICY", str(tmp_path / "policy.toml"))
    monkeypatch.delenv("DESKLINE_CONFIG", raising=False)
    return root


@pytest.mark.skipif(sys.platform == "win32", reason="root is a Unix idea; Windows keeps per-user paths")
def test_default_paths_are_system_folders_as_root_and_per_user_otherwise(system_root: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert server_module.default_paths() == {
        "authorized_keys": system_root / "etc/deskline/agent/authorized_keys",
        "host_key": system_root / "var/lib/deskline/agent/host_ed25519_key",
        "audit_log": system_root / "var/log/deskline/agent-audit.jsonl"}
    assert not (system_root / "etc").exists()  # asking makes no folder
    monkeypatch.setattr(sys, "platform", "darwin")
    assert server_module.default_paths(["host_key", "audit_log"]) == {
        "host_key": system_root / "var/db/deskline/agent/host_ed25519_key",
        "audit_log": system_root / "Library/Logs/Deskline/agent-audit.jsonl"}
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    home = Path(os.environ["XDG_DATA_HOME"]) / "deskline" / "agent"
    assert server_module.default_paths() == {"authorized_keys": home / "authorized_keys",
                                             "host_key": home / "host_ed25519_key",
                                             "audit_log": home / "audit.jsonl"}


@pytest.mark.allow_warning_logs  # the missing authorized_keys file is logged, as it should be
def test_as_root_fingerprint_and_serve_use_the_system_folders(system_root: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """Root is faked with ``runs_as_system`` rather than os.geteuid: the host key checks compare the
    key's owner (this test's user) with the effective uid, and would rightly refuse a key root does
    not own."""
    monkeypatch.setattr(server_module, "runs_as_system", lambda: True)
    settings = tmp_path / "deskline.toml"
    settings.write_text("")
    key_path = system_root / "var/lib/deskline/agent/host_ed25519_key"
    assert server_module.run_fingerprint(config=str(settings)) == 0
    out, err = capsys.readouterr()
    assert f"made a new host key in {key_path}" in err
    assert out.strip() == hostkey.fingerprint(hostkey.load(key_path))
    assert key_path.stat().st_mode & 0o777 == 0o600 and key_path.parent.stat().st_mode & 0o777 == 0o700
    servers: list[AgentServer] = []
    stop = threading.Event()
    codes: list[int] = []
    thread = threading.Thread(target=lambda: codes.append(server_module.run_serve(
        listen="127.0.0.1:0", config=str(settings), ready=servers.append, stop=stop)), daemon=True)
    thread.start()
    try:
        server = until(lambda: servers, timeout=30, what="serve to listen")[0]
        assert hostkey.fingerprint(server.host_key) == out.strip()  # the same key, not a new one
    finally:
        stop.set()
        thread.join(30)
    assert codes == [0]
    err = capsys.readouterr().err
    log_path = system_root / "var/log/deskline/agent-audit.jsonl"
    assert f"0 engineer key(s) from {system_root / 'etc/deskline/agent/authorized_keys'}; audit log {log_path}" in err
    assert f"{out.strip()} in {key_path}" in err and "(new)" not in err
    assert log_path.stat().st_mode & 0o777 == 0o600 and log_path.parent.stat().st_mode & 0o777 == 0o700
    events = [r["event"] for r in reversed(list(read_records(log_path)))]
    assert events[0] == "start" and events[-1] == "stop"
    assert not (system_root / "etc").exists()  # IT's configuration folder: made by IT, never by the agent
    assert not (tmp_path / "home").exists()  # nothing in root's own data folder


def test_as_root_flags_and_settings_win_over_the_system_folders(system_root: Path, tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server_module, "runs_as_system", lambda: True)
    settings = tmp_path / "deskline.toml"
    settings.write_text(f'[agent]\nhost_key = "{tmp_path / "from-settings"}"\n')
    assert server_module.run_fingerprint(config=str(settings)) == 0
    assert (tmp_path / "from-settings").is_file()
    assert server_module.run_fingerprint(host_key=str(tmp_path / "from-flag"), config=str(settings)) == 0
    assert (tmp_path / "from-flag").is_file()
    assert list(system_root.iterdir()) == []


@pytest.mark.allow_warning_logs
@pytest.mark.skipif(sys.platform == "win32", reason="root is a Unix idea")
def test_as_root_a_key_left_in_roots_old_data_folder_is_kept_until_moved(system_root: Path,
                                                                        monkeypatch: pytest.MonkeyPatch,
                                                                        caplog: pytest.LogCaptureFixture) -> None:
    """Earlier versions put root's files in /root/.local/share/deskline/agent: a new host key there would
    make every enrolled console refuse the machine, so the old one is used, with a warning to move it."""
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    old = Path(os.environ["XDG_DATA_HOME"]) / "deskline" / "agent"
    old.mkdir(parents=True)
    (old / "host_ed25519_key").write_text("old key")
    (old / "audit.jsonl").write_text("")
    new_key = system_root / "var/lib/deskline/agent/host_ed25519_key"
    paths = server_module.default_paths()
    assert paths["host_key"] == old / "host_ed25519_key"
    assert paths["audit_log"] == system_root / "var/log/deskline/agent-audit.jsonl"  # a log just starts anew
    assert paths["authorized_keys"] == system_root / "etc/deskline/agent/authorized_keys"  # none in the old one
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warned) == 1 and f"Move it to {new_key}" in warned[0]
    caplog.clear()
    assert server_module.default_paths(["audit_log"])  # not asked for the host key: no warning
    assert not caplog.records
    new_key.parent.mkdir(parents=True)
    new_key.write_text("moved")
    assert server_module.default_paths()["host_key"] == new_key and not caplog.records


@needs_ssh
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serve_command_runs_until_signalled(tmp_path: Path, signum: int) -> None:
    alice = make_key(tmp_path / "alice", "Alice")
    keys = tmp_path / "authorized_keys"
    keys.write_text(alice.public_line + "\n")
    keys.chmod(0o600)
    settings = tmp_path / "deskline.toml"
    settings.write_text(f'[agent]\nunattended = ["{alice.fingerprint}"]\nmax_sessions = 2\n')
    p = _agent_cli("serve", "--listen", "127.0.0.1:0", "--authorized-keys", str(keys), "--host-key",
                   str(tmp_path / "hk"), "--audit-log", str(tmp_path / "audit.jsonl"), "--config", str(settings),
                   stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    try:
        assert p.stderr is not None
        lines: list[str] = []
        while not lines or "listening on" not in lines[-1]:
            line = p.stderr.readline()
            assert line, f"serve ended early: {lines}"
            lines.append(line)
        host_key = hostkey.load(tmp_path / "hk")
        assert f"host key {hostkey.fingerprint(host_key)} (new)" in lines[0]
        port = int(lines[-1].rsplit(":", 1)[1])
        known = tmp_path / "known_hosts"
        known.write_text(f"[127.0.0.1]:{port} {hostkey.public_line(host_key)}\n")
        agent = Agent(None, "127.0.0.1", port, hostkey.public_line(host_key), known,  # type: ignore[arg-type]
                      tmp_path / "audit.jsonl", {"alice": alice}, tmp_path)
        r = ssh(agent, alice, "probe", "memory")
        assert r.returncode == 0, r.stderr
        assert one_document(r.stdout)["result"]["probes"]["memory"]["status"] == "ok"
        p.send_signal(signum)
        assert p.wait(timeout=15) == 0
        assert "stopping" in p.stderr.read()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(5)
        if p.stderr:
            p.stderr.close()
    events = [r["event"] for r in reversed(list(read_records(tmp_path / "audit.jsonl")))]
    assert events[0] == "start" and events[-1] == "stop" and "command" in events
    assert (tmp_path / "audit.jsonl").stat().st_mode & 0o777 == 0o600


def test_serve_refuses_a_bad_listen_address(tmp_path: Path) -> None:
    p = _agent_cli("serve", "--listen", "nowhere", "--host-key", str(tmp_path / "hk"), "--audit-log",
                   str(tmp_path / "a.jsonl"), "--authorized-keys", str(tmp_path / "ak"), stderr=subprocess.PIPE,
                   stdout=subprocess.DEVNULL)
    _, err = p.communicate(timeout=30)
    assert p.returncode == 2 and "listen address 'nowhere'" in err


def test_serve_refuses_an_unattended_value_that_is_not_a_fingerprint(tmp_path: Path) -> None:
    """--unattended with a user name or a whole public key line is an argparse error (exit 2), the latter
    naming the key's fingerprint; the same in the settings file names file and line. Nothing starts."""
    alice = make_key(tmp_path / "alice", "Alice")
    common = ("--listen", "127.0.0.1:0", "--host-key", str(tmp_path / "hk"), "--audit-log",
              str(tmp_path / "a.jsonl"), "--authorized-keys", str(tmp_path / "ak"))
    for value, said in [("alice", "'alice' is not a key fingerprint"),
                        (alice.public_line, f"a public key line? its fingerprint is '{alice.fingerprint}'")]:
        p = _agent_cli("serve", *common, "--unattended", value, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
        _, err = p.communicate(timeout=30)
        assert p.returncode == 2 and "deskline-agent serve: error: argument --unattended: '" in err, err
        assert said in err.split("argument --unattended: ", 1)[1], err
    settings = tmp_path / "deskline.toml"
    settings.write_text(f'[agent]\nunattended = [\n  "{alice.fingerprint}",\n  "Alice",\n]\n')
    p = _agent_cli("serve", *common, "--config", str(settings), stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    _, err = p.communicate(timeout=30)
    assert p.returncode == 2 and f"{settings}:4: agent.unattended: 'Alice' is not a key fingerprint" in err, err
    assert "listening" not in err and not (tmp_path / "hk").exists()


@pytest.mark.allow_warning_logs
def test_serve_warns_once_of_unattended_keys_that_match_no_key(tmp_path: Path,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    """An unattended fingerprint no authorized_keys line has grants nothing: serve says so at start, once
    per fingerprint, naming where it was set, and the close one when it looks mistyped."""
    alice, bob, carol = (make_key(tmp_path / name, name.title()) for name in ("alice", "bob", "carol"))
    keys = tmp_path / "authorized_keys"
    keys.write_text(f"{alice.public_line}\n{bob.public_line}\n")
    keys.chmod(0o600)
    typo = bob.fingerprint[:20] + ("x" if bob.fingerprint[20] != "x" else "y") + bob.fingerprint[21:]
    settings = tmp_path / "deskline.toml"
    settings.write_text(f'[agent]\nunattended = ["{alice.fingerprint}", "{typo}"]\n')
    servers: list[AgentServer] = []
    stop = threading.Event()
    codes: list[int] = []
    thread = threading.Thread(target=lambda: codes.append(server_module.run_serve(
        listen="127.0.0.1:0", authorized_keys=str(keys), host_key=str(tmp_path / "hk"),
        audit_log=str(tmp_path / "audit.jsonl"), config=str(settings), ready=servers.append, stop=stop,
        unattended=[carol.fingerprint, carol.fingerprint, alice.fingerprint])), daemon=True)
    with caplog.at_level(logging.WARNING, logger="deskline.agent"):
        thread.start()
        try:
            until(lambda: servers, timeout=30, what="serve to listen")
        finally:
            stop.set()
            thread.join(30)
    assert codes == [0]
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert warnings == [
        f"unattended key {typo} ({settings}:2) matches no key in {keys}: it lets nobody run unattended "
        f"(did you mean {bob.fingerprint}, Bob?)",
        f"unattended key {carol.fingerprint} (--unattended) matches no key in {keys}: it lets nobody run "
        "unattended",
    ]


def test_commands_that_outlive_their_timeout_are_capped(agent_factory: Factory) -> None:
    """A timed-out command's thread still runs; while it does it holds its slot, so they cannot pile up."""
    agent = agent_factory(command_timeout=0.2, max_sessions=1, max_channels=1)  # one slot in all
    slow = json.dumps({"processes.sample_seconds": 1.5}).encode()
    with client(agent) as c:
        status, _ = run(c, "probe cpu", stdin=slow)
        assert status == 5  # answered as timed out; its thread samples on for about 1.3 s
        status, doc = run(c, "probe memory")
        assert status == 4 and "too many commands are still running" in doc["error"]["message"]
        deadline = time.monotonic() + 10
        while run(c, "probe memory")[0] != 0:
            assert time.monotonic() < deadline, "the slot was never given back"
            time.sleep(0.1)


_ARENAS_SCRIPT = """
import ctypes, os, sys, tempfile, threading
from agent.server import limit_malloc_arenas
applied = limit_malloc_arenas()
held, barrier = [], threading.Barrier(12)
def work():
    held.append([bytes(2000 + i) for i in range(200)])  # above pymalloc's 512 bytes: glibc's malloc
    barrier.wait()
threads = [threading.Thread(target=work) for _ in range(12)]
for t in threads: t.start()
for t in threads: t.join()
libc = ctypes.CDLL(None)
libc.fopen.restype = ctypes.c_void_p
with tempfile.NamedTemporaryFile(suffix=".xml") as out:
    fh = libc.fopen(out.name.encode(), b"w")
    libc.malloc_info(0, ctypes.c_void_p(fh))
    libc.fclose(ctypes.c_void_p(fh))
    heaps = open(out.name).read().count("<heap nr=")
print(applied, heaps)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux") or not os.confstr("CS_GNU_LIBC_VERSION"),
                    reason="malloc arenas are glibc's")
def test_serve_caps_malloc_arenas_unless_the_environment_does() -> None:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    capped = subprocess.run([sys.executable, "-c", _ARENAS_SCRIPT], env=env, capture_output=True, text=True,
                            check=True, cwd=Path(__file__).resolve().parents[2]).stdout.split()
    assert capped[0] == "True" and int(capped[1]) <= 2
    env["MALLOC_ARENA_MAX"] = "3"
    theirs = subprocess.run([sys.executable, "-c", _ARENAS_SCRIPT], env=env, capture_output=True, text=True,
                            check=True, cwd=Path(__file__).resolve().parents[2]).stdout.split()
    assert theirs[0] == "False" and int(theirs[1]) <= 3  # the administrator's own setting stands


def test_serve_applies_keep_private_ips_from_the_settings(agent_factory: Factory, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import UTC, datetime, timedelta

    from desktop.diagnostics.probes import logs

    (tmp_path / "deskline.toml").write_text("[report]\npseudonymize = true\nkeep_private_ips = false\n")
    config = config_from_settings(desktop_config.load(str(tmp_path / "deskline.toml")))
    assert config.pseudonymize and not config.keep_private_ips
    stamp = (datetime.now(tz=UTC) - timedelta(minutes=5)).isoformat()
    syslog = tmp_path / "syslog"
    syslog.write_text(f"{stamp} pc nfs[7]: error: server 10.20.30.40 not responding\n", encoding="utf-8")
    monkeypatch.setattr(logs, "SYSLOG_FILES", (syslog,))
    answers = {}
    for keep in (True, False):
        agent = agent_factory(pseudonymize=True, keep_private_ips=keep)
        with client(agent) as c:
            status, doc = run(c, "logs syslog")
        assert status == 0 and doc["result"]["data"]["total"] == 1
        answers[keep] = doc["result"]["data"]["entries"][0]["message"]
    assert "10.20.30.40" in answers[True]  # a private address is kept unless the settings say otherwise
    assert "10.20.30.40" not in answers[False] and "not responding" in answers[False]
