"""The console reads the engineer's OpenSSH client config (``~/.ssh/config`` or ``-F``): host aliases with
HostName, User, Port, IdentityFile and ProxyJump, against the real agent and a real sshd as the bastion."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.cli import main
from agent.inventory import Target, parse_target
from agent.ssh_config import SshConfig
from tests.agent import test_console
from tests.agent.sshd import SshdFactory
from tests.agent.test_console import RunningAgent, make_jump_lab

# test_console's fixtures, registered here under their own names: a real agent, and HOME in tmp_path
_agent_fixture = pytest.fixture(name="deskline_agent")(test_console.deskline_agent.__wrapped__)
_home_fixture = pytest.fixture(name="_no_personal_ssh", autouse=True)(test_console._no_personal_ssh.__wrapped__)


def home_ssh(tmp_path: Path) -> Path:
    """~/.ssh of the test's HOME (tmp_path/home, see test_console's autouse fixture)."""
    folder = tmp_path / "home" / ".ssh"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def write_config(tmp_path: Path, text: str) -> Path:
    path = home_ssh(tmp_path) / "config"
    path.write_text(text)
    return path


ERR: dict[str, str] = {}


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[dict[str, object]]]:
    """``deskline-agent run ... --format jsonl``: its exit code and lines (its stderr in ``ERR["text"]``)."""
    code = main(["run", *argv, "--format", "jsonl", "--no-progress"])
    captured = capsys.readouterr()
    ERR["text"] = captured.err
    return code, [json.loads(line) for line in captured.out.splitlines() if line.strip()]


# -- against the real agent ---------------------------------------------------------------------------------------


def test_alias_with_hostname_port_user_identity_reaches_the_agent(
        deskline_agent: RunningAgent, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--mode dispatch`` speaks the same protocol, and takes Port from the file (an sshd's port there)."""
    write_config(tmp_path, f"Host web1\n  HostName 127.0.0.1\n  Port {deskline_agent.port}\n  User ops\n"
                           f"  IdentityFile {deskline_agent.key.path}\n")
    code, lines = run_json(capsys, "web1", "--ping", "--mode", "dispatch",
                           "--known-hosts", str(deskline_agent.known_hosts))
    assert code == 0, lines
    assert lines[0]["host"] == "web1" and lines[0]["address"] == f"127.0.0.1:{deskline_agent.port}"
    assert lines[0]["status"] == "ok"
    assert '"ops' in deskline_agent.audit.read_text()  # the config's User logged in


def test_agent_mode_keeps_the_agent_port(
        deskline_agent: RunningAgent, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """In agent mode the file's Port (sshd's) is not used; the target's own port is, and the rest of the block."""
    write_config(tmp_path, f"Host web1\n  HostName 127.0.0.1\n  Port {deskline_agent.port}\n  User ops\n"
                           f"  IdentityFile {deskline_agent.key.path}\n")
    target = SshConfig.load(None).apply(parse_target("web1", default_port=2222), mode="agent")  # type: ignore[union-attr]
    assert (target.host, target.port, target.user) == ("127.0.0.1", 2222, "ops")
    code, lines = run_json(capsys, f"web1:{deskline_agent.port}", "--ping", "--ticket", "DL-7",
                           "--known-hosts", str(deskline_agent.known_hosts))
    assert code == 0, lines
    assert '"ops+DL-7"' in deskline_agent.audit.read_text() or (
        '"ops"' in deskline_agent.audit.read_text() and "DL-7" in deskline_agent.audit.read_text())


def test_proxyjump_from_the_config_through_a_real_sshd(
        deskline_agent: RunningAgent, sshd_factory: SshdFactory, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    lab = make_jump_lab(deskline_agent, sshd_factory, tmp_path / "lab")
    write_config(tmp_path, f"Host bastion\n  HostName 127.0.0.1\n  Port {lab.bastion.port}\n  User root\n"
                           f"  IdentityFile {deskline_agent.key.path}\n"
                           f"Host laptop-*\n  HostName 127.0.0.1\n  ProxyJump bastion\n"
                           f"  IdentityFile {deskline_agent.key.path}\n")
    code, lines = run_json(capsys, f"laptop-anna:{deskline_agent.port}", f"laptop-ben:{deskline_agent.port}",
                           "--ping", "--known-hosts", str(lab.known_hosts))
    assert code == 0, lines
    assert [line["status"] for line in lines] == ["ok", "ok"]
    assert lab.bastion_logins() == 1  # one shared jump connection, as with --jump
    # --jump on the command line wins over the file's ProxyJump: a hop that does not exist fails
    code, lines = run_json(capsys, f"laptop-anna:{deskline_agent.port}", "--ping", "--jump", "root@127.0.0.1:1",
                           "--known-hosts", str(lab.known_hosts))
    assert code == 1 and lines[0]["status"] == "unreachable"
    assert "127.0.0.1:1" in str(lines[0]["error"])


def test_trust_through_an_alias(deskline_agent: RunningAgent, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    write_config(tmp_path, f"Host pc\n  HostName 127.0.0.1\n  Port {deskline_agent.port}\n")
    known = tmp_path / "trusted"
    from agent.console import fingerprint
    from agent.hostkey import load_or_create

    key, _ = load_or_create(deskline_agent.known_hosts.parent / "host_key")
    fp = fingerprint(key)
    assert main(["trust", "pc", "--mode", "dispatch", "--fingerprint", fp, "--known-hosts", str(known)]) == 0
    assert known.read_text().startswith(f"[127.0.0.1]:{deskline_agent.port} ")


# -- precedence, refusals, -F -------------------------------------------------------------------------------------

CONFIG = """\
Host web1
  HostName 10.0.0.5
  User ops
  Port 2200
  IdentityFile {key}
  IdentityFile ~/.ssh/missing_key
  ConnectTimeout 7
  ProxyJump bastion
Host bastion
  HostName 10.0.0.1
  User jump
  Port 2022
Host *
  User fallback
  StrictHostKeyChecking no
  UserKnownHostsFile /dev/null {extra}
"""


@pytest.fixture
def config(tmp_path: Path) -> SshConfig:
    key = home_ssh(tmp_path) / "ops_ed25519"
    key.write_text("not read here")
    extra = home_ssh(tmp_path) / "team_known_hosts"
    extra.write_text("")
    path = write_config(tmp_path, CONFIG.format(key="~/.ssh/ops_ed25519", extra=extra))
    loaded = SshConfig.load(str(path))
    assert loaded is not None
    return loaded


def test_the_file_fills_in_what_the_target_does_not_say(config: SshConfig, tmp_path: Path) -> None:
    t = config.apply(parse_target("web1", default_port=22), mode="dispatch")
    assert (t.name, t.host, t.port, t.user, t.connect_timeout) == ("web1", "10.0.0.5", 2200, "ops", 7.0)
    assert t.identity_files == (str(home_ssh(tmp_path) / "ops_ed25519"),)  # missing files are skipped, as ssh
    assert t.jump is not None and [(h.user, h.host, h.port) for h in t.jump] == [("jump", "10.0.0.1", 2022)]
    # UserKnownHostsFile adds files that exist; /dev/null and StrictHostKeyChecking change nothing
    assert config.known_hosts == [home_ssh(tmp_path) / "team_known_hosts"]


def test_the_target_and_the_command_line_win(config: SshConfig) -> None:
    t = config.apply(parse_target("admin@web1:2201", default_port=22), mode="dispatch", timeout_given=True)
    assert (t.host, t.port, t.user, t.connect_timeout) == ("10.0.0.5", 2201, "admin", None)
    t = config.apply(parse_target("web1", default_port=22), mode="dispatch", user_given=True, jump_given=True)
    assert t.user is None and t.jump is None  # --user and --jump apply later, as ssh's -l and -J
    own = Target("web1", "web1", 22, jump=(), port_set=True)  # an inventory's ProxyJump=none, ansible_port 22
    t = config.apply(own, mode="dispatch")
    assert t.jump == () and t.port == 22
    t = config.apply(parse_target("other", default_port=2222), mode="agent")
    assert (t.host, t.port, t.user) == ("other", 2222, "fallback")  # Host *: User applies, no HostName


def test_agent_mode_ignores_port_but_hops_use_it(config: SshConfig) -> None:
    t = config.apply(parse_target("web1", default_port=2222), mode="agent")
    assert t.port == 2222 and t.jump is not None and t.jump[0].port == 2022


def test_proxycommand_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_config(tmp_path, "Host legacy\n  ProxyCommand nc -X connect %h %p\n")
    code, _ = run_json(capsys, "legacy", "--ping")
    assert code == 2
    assert "legacy: ProxyCommand is not supported" in ERR["text"]
    cfg = SshConfig.load(None)
    assert cfg is not None
    with pytest.raises(Exception, match="ProxyCommand is not supported"):
        cfg.apply(parse_target("legacy"), mode="dispatch")
    # an explicit jump for the target means the ProxyCommand would not be used: no refusal
    assert cfg.apply(parse_target("legacy"), mode="dispatch", jump_given=True).jump is None


@pytest.mark.allow_warning_logs
def test_match_exec_is_never_run(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    flag = tmp_path / "ran"
    write_config(tmp_path, f"Match exec \"touch {flag}\"\n  User evil\n  HostName 10.6.6.6\n"
                           "Host web1\n  HostName 10.0.0.5\n")
    cfg = SshConfig.load(None)
    assert cfg is not None
    t = cfg.apply(parse_target("web1"), mode="dispatch")
    assert (t.host, t.user) == ("10.0.0.5", None)
    assert not flag.exists()
    assert "Match exec block(s) at line(s) 1 ignored" in caplog.text


def test_f_none_reads_no_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_config(tmp_path, "Host web1\n  ProxyCommand nc %h %p\n")
    assert SshConfig.load("none") is None
    # with the file, web1 is refused (exit 2); with -F none it is just a name that does not resolve here
    assert run_json(capsys, "web1.invalid", "--ping", "-F", "none", "--connect-timeout", "2")[0] == 1
    other = tmp_path / "other_config"
    other.write_text("Host web1.invalid\n  ProxyCommand nc %h %p\n")
    assert run_json(capsys, "web1.invalid", "--ping", "-F", str(other))[0] == 2
    with pytest.raises(Exception, match="cannot read the ssh config"):
        SshConfig.load(str(tmp_path / "missing"))


def test_jump_hosts_given_by_alias_are_looked_up(tmp_path: Path) -> None:
    write_config(tmp_path, "Host inner\n  HostName 10.0.1.1\n  ProxyJump outer\n"
                           "Host outer\n  HostName 10.0.0.1\n  User jump\n  Port 2022\n"
                           "Host loop\n  ProxyJump loop\n")
    cfg = SshConfig.load(None)
    assert cfg is not None
    from agent.inventory import parse_jump

    hops = cfg.hops(parse_jump("inner,admin@outer:22"))
    assert [(h.user, h.host, h.port) for h in hops] == [
        ("jump", "10.0.0.1", 2022), (None, "10.0.1.1", 22), ("admin", "10.0.0.1", 22)]
    with pytest.raises(Exception, match="deeper than 8 hops"):
        cfg.hops(parse_jump("loop"))
